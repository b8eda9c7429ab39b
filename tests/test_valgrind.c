/*
 * valgrind memcheck over an integration run that ends with a clean
 * shutdown: no invalid access, no leak (make test-long).
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "world.h"

Test(long_valgrind, memcheck_finds_no_error_and_no_leak, .timeout = 600)
{
    world_up("[state]\nmax_creators = 50\n");
    char *dir = harness_tmpdir();
    const char *bin = getenv("ENGAGED_BIN");
    char wrapper[1024], log[1024], script[4096];
    snprintf(wrapper, sizeof wrapper, "%s/engaged-under-valgrind", dir);
    snprintf(log, sizeof log, "%s/valgrind.log", dir);
    snprintf(script, sizeof script,
             "#!/bin/sh\n"
             "exec valgrind --error-exitcode=99 --leak-check=full "
             "--show-leak-kinds=definite,indirect "
             "--errors-for-leak-kinds=definite,indirect "
             "--log-file=%s %s \"$@\"\n",
             log, bin ? bin : "build/engaged");
    cr_assert_eq(harness_write_file(wrapper, script, strlen(script)), 0);
    chmod(wrapper, 0755);
    setenv("ENGAGED_BIN", wrapper, 1);

    /* Every path: events of all kinds, refusals, evictions, alerts. */
    world_send_stream(1500, 200, 5, T0, 3 * DAY);
    world_send_raw(0, "x", "{nope", 5);
    world_send_raw(1, NULL, "{}", 2);
    int port = harness_free_port();
    char conf[8192];
    snprintf(conf, sizeof conf, "%s[http]\nlisten = 127.0.0.1:%d\n", W.config,
             port);
    harness_daemon *d = harness_daemon_start(conf);
    cr_assert_not_null(d);
    world_wait_caught_up(300000);
    world_assert_truth();
    /* The read API's paths, its errors included. */
    static const struct {
        const char *path;
        int status;
    } api[] = {
        {"/v1/campaigns", 200}, {"/v1/tiers", 200}, {"/v1/alerts?limit=5", 200},
        {"/v1/creators/nope", 404},
        {"/v1/campaigns/nope?days=3", 404}, {"/v1/campaigns/%FF", 400},
        {"/v1/campaigns?limit=0", 400}, {"/v1/nope", 404}, {"/metrics", 200},
    };
    for (size_t i = 0; i < sizeof api / sizeof api[0]; i++)
        cr_assert_eq(harness_http_get(port, api[i].path, NULL), api[i].status,
                     "%s", api[i].path);
    redisReply *k = redisCommand(harness_redis_ctx(W.redis), "KEYS eng:creator:*");
    cr_assert(k != NULL && k->type == REDIS_REPLY_ARRAY && k->elements > 0);
    char path[256];
    snprintf(path, sizeof path, "/v1/creators/%s", k->element[0]->str + 12);
    freeReplyObject(k);
    cr_assert_eq(harness_http_get(port, path, NULL), 200, "%s", path);
    cr_assert_eq(harness_daemon_signal(d, SIGTERM), 0);
    int status;
    cr_assert_eq(harness_daemon_wait(d, 120000, &status), 0);
    char *report = harness_read_file(log, NULL);
    cr_assert_not_null(report);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "exit status %d; valgrind says:\n%s", status, report);
    cr_assert(strstr(report, "ERROR SUMMARY: 0 errors") != NULL, "%s", report);
    free(report);
    harness_daemon_stop(d);
    harness_rmtree(dir);
    free(dir);
    world_down();
}

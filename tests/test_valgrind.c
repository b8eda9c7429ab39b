/*
 * valgrind memcheck over an integration run that ends with a clean
 * shutdown: no invalid access, no leak (make test-long).
 */
#include <criterion/criterion.h>
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
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    world_wait_caught_up(300000);
    world_assert_truth();
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

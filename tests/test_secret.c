#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "secret.h"
#include "world.h"

static char *dir;

static void setup(void)
{
    dir = harness_tmpdir();
    unsetenv("CREDENTIALS_DIRECTORY");
}

static void teardown(void)
{
    unsetenv("CREDENTIALS_DIRECTORY");
    harness_rmtree(dir);
    free(dir);
}

static char *file(const char *name, const char *text)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(harness_write_file(path, text, strlen(text)), 0);
    return path;
}

TestSuite(secret, .init = setup, .fini = teardown);

Test(secret, a_configured_file_wins_and_loses_its_newline)
{
    char out[SECRET_MAX], err[256];
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    file("redis-password", "from-credentials\n");
    const char *p = file("pw", "s3cret\n");
    cr_assert_eq(secret_read(p, "redis-password", out, sizeof out, err,
                             sizeof err), 1);
    cr_assert_str_eq(out, "s3cret");
}

Test(secret, the_credentials_directory_is_used_when_nothing_is_configured)
{
    char out[SECRET_MAX], err[256];
    file("kafka-sasl-password", "abc\r\n");
    cr_assert_eq(secret_read("", "kafka-sasl-password", out, sizeof out, err,
                             sizeof err), 0, "no CREDENTIALS_DIRECTORY yet");
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    cr_assert_eq(secret_read("", "kafka-sasl-password", out, sizeof out, err,
                             sizeof err), 1);
    cr_assert_str_eq(out, "abc");
    cr_assert_eq(secret_read("", "redis-password", out, sizeof out, err,
                             sizeof err), 0, "no such credential: no password");
}

Test(secret, an_empty_credential_means_no_password)
{
    char out[SECRET_MAX], err[256];
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    file("redis-password", "\n");
    cr_assert_eq(secret_read("", "redis-password", out, sizeof out, err,
                             sizeof err), 0);
}

Test(secret, an_unreadable_configured_file_is_an_error)
{
    char out[SECRET_MAX], err[256];
    cr_assert_eq(secret_read("/nonexistent/pw", "redis-password", out,
                             sizeof out, err, sizeof err), -1);
    cr_assert(strstr(err, "/nonexistent/pw") != NULL, "%s", err);
}

Test(secret, a_world_readable_config_holding_a_secret_is_flagged)
{
    char *p = file("e.conf", "[kafka]\nsasl.username = u\nsasl.password = hunter2\n");
    char err[4096] = "";
    config *cfg = config_load(p, err, sizeof err);
    cr_assert_not_null(cfg, "%s", err);
    char key[128];
    chmod(p, 0644);
    cr_assert(secret_config_exposed(cfg, key, sizeof key));
    cr_assert_str_eq(key, "sasl.password");
    chmod(p, 0640);
    cr_assert_not(secret_config_exposed(cfg, key, sizeof key));
    config_free(cfg);
}

Test(secret, a_password_file_key_is_not_handed_to_librdkafka)
{
    char *p = file("e.conf", "[kafka]\nsasl.password_file = /run/pw\n");
    char err[4096] = "";
    config *cfg = config_load(p, err, sizeof err);
    cr_assert_not_null(cfg, "%s", err);
    cr_assert_str_eq(cfg->kafka_sasl_password_file, "/run/pw");
    cr_assert_eq(cfg->nkafka_props, 0);
    config_free(cfg);
}

Test(secret, the_daemon_authenticates_to_redis_with_a_systemd_credential,
     .timeout = 120)
{
    world_up(NULL);
    redisReply *r = redisCommand(harness_redis_ctx(W.redis),
                                 "CONFIG SET requirepass s3cret");
    cr_assert(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    file("redis-password", "s3cret\n");
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    world_send(world_engagement("c1", T0, 0, 3));
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    world_wait_caught_up(60000);
    cr_assert_eq(world_hget_int("eng:creator:c1", "likes_1h"), 3);
    harness_daemon_stop(d);
    world_down();
}

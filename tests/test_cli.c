/* The command line of the real binary: --version, --help, --check-config,
 * errors at start. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static char *dir;

static void setup(void)
{
    dir = harness_tmpdir();
    cr_assert_not_null(dir);
}

static void teardown(void)
{
    harness_rmtree(dir);
    free(dir);
}

static const char *bin(void)
{
    const char *b = getenv("ENGAGED_BIN");
    return b ? b : "build/engaged";
}

/* Runs engaged with args; returns its exit status, output in *out. */
static int run(const char *args, char **out)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd %s && %s %s", dir, bin(), args);
    return harness_run(cmd, out);
}

static void write_conf(const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(harness_write_file(path, text, strlen(text)), 0);
}

TestSuite(cli, .init = setup, .fini = teardown);

Test(cli, version_prints_the_version)
{
    char *out = NULL;
    cr_assert_eq(run("--version", &out), 0);
    cr_assert(strncmp(out, "engaged ", 8) == 0, "%s", out);
    free(out);
}

Test(cli, help_describes_the_options)
{
    char *out = NULL;
    cr_assert_eq(run("--help", &out), 0);
    cr_assert(strstr(out, "--check-config") && strstr(out, "-c, --config"), "%s", out);
    free(out);
}

Test(cli, no_config_is_a_usage_error)
{
    char *out = NULL;
    cr_assert_eq(run("", &out), 2);
    cr_assert(strstr(out, "usage:") != NULL, "%s", out);
    free(out);
}

Test(cli, check_config_accepts_the_reference_config)
{
    char *out = NULL;
    const char *root = getenv("ENGAGED_ROOT");
    char args[1024];
    snprintf(args, sizeof args, "-c %s/config/engaged.conf --check-config",
             root ? root : ".");
    cr_assert_eq(run(args, &out), 0, "%s", out);
    cr_assert_str_eq(out, "configuration OK\n");
    free(out);
}

Test(cli, check_config_lists_every_error_with_file_and_line)
{
    write_conf("bad.conf", "[redis]\n"
                           "port = 99999\n"
                           "colour = blue\n"
                           "[metrics]\n"
                           "windows = 1h 90s\n");
    char *out = NULL;
    cr_assert_eq(run("-c bad.conf --check-config", &out), 1);
    cr_assert(strstr(out, "bad.conf:2: port must be an integer from 1 to 65535"),
              "%s", out);
    cr_assert(strstr(out, "bad.conf:3: unknown key \"colour\" in [redis]"), "%s", out);
    cr_assert(strstr(out, "bad.conf:5: window \"90s\" is not a whole number of minutes"),
              "%s", out);
    cr_assert_null(strstr(out, "configuration OK"));
    free(out);
}

Test(cli, librdkafka_refusing_a_kafka_key_names_its_line)
{
    write_conf("k.conf", "[kafka]\n"
                         "bootstrap.servers = 127.0.0.1:9\n"
                         "session.timeout.ms = 6000\n"
                         "no.such.property = 1\n");
    char *out = NULL;
    cr_assert_eq(run("-c k.conf --check-config", &out), 1);
    cr_assert(strstr(out, "k.conf:4: librdkafka: ") != NULL, "%s", out);
    cr_assert(strstr(out, "no.such.property") != NULL, "%s", out);
    free(out);
}

Test(cli, a_missing_file_is_reported)
{
    char *out = NULL;
    cr_assert_eq(run("-c nowhere.conf --check-config", &out), 1);
    cr_assert(strstr(out, "nowhere.conf: cannot open") != NULL, "%s", out);
    free(out);
}

Test(cli, a_bad_config_stops_the_daemon_at_start)
{
    write_conf("bad.conf", "[log]\nlevel = chatty\n");
    char *out = NULL;
    cr_assert_eq(run("-c bad.conf", &out), 1);
    cr_assert(strstr(out, "bad.conf:2: level must be one of") != NULL, "%s", out);
    free(out);
}

Test(cli, an_unreadable_alertmanager_ca_file_stops_the_daemon_at_start)
{
    /* Nothing listens on port 1: the sink is set up before anything is
     * reached, and its CA file is checked then. */
    write_conf("am.conf", "[kafka]\nbootstrap.servers = 127.0.0.1:1\n"
                          "[redis]\nport = 1\n[http]\nlisten =\n"
                          "[alertmanager]\nurl = https://127.0.0.1:1\n"
                          "ca_file = no-such-ca.pem\n");
    char *out = NULL;
    cr_assert_eq(run("-c am.conf", &out), 1);
    cr_assert(strstr(out, "[alertmanager] ca_file = \"no-such-ca.pem\": No "
                          "such file or directory") != NULL, "%s", out);
    free(out);
}

/*
 * Unit tests of config's [alertmanager] section (issue 18): defaults,
 * every key applied, and file:line errors.  A suite of its own beside
 * tests/test_config.c.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];
static char errbuf[4096];

static config *load(const char *text)
{
    snprintf(path, sizeof path, "/tmp/engaged-test-amconf-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    config *cfg = config_load(path, errbuf, sizeof errbuf);
    unlink(path);
    return cfg;
}

/* errbuf with the path replaced by "F". */
static const char *errors(void)
{
    static char out[4096];
    size_t n = strlen(path), j = 0;
    for (const char *p = errbuf; *p && j + 2 < sizeof out;) {
        if (strncmp(p, path, n) == 0) {
            out[j++] = 'F';
            p += n;
        } else {
            out[j++] = *p++;
        }
    }
    out[j] = '\0';
    return out;
}

Test(config_alertmanager, defaults_turn_the_sink_off)
{
    config *cfg = config_default(NULL);
    cr_assert_str_eq(cfg->am_url, "");
    cr_assert_eq(cfg->am_resend_interval_ms, 60000);
    cr_assert_eq(cfg->am_timeout_ms, 5000);
    cr_assert_eq(cfg->am_queue_max, 10000);
    cr_assert_str_eq(cfg->am_bearer_token_file, "");
    cr_assert_str_eq(cfg->am_basic_auth_user, "");
    cr_assert_str_eq(cfg->am_basic_auth_password_file, "");
    cr_assert_str_eq(cfg->am_generator_url, "");
    cr_assert_str_eq(cfg->am_ca_file, "");
    config_free(cfg);
}

Test(config_alertmanager, every_key_is_applied)
{
    config *cfg = load("[alertmanager]\n"
                       "url = http://a:9093, https://b:9093/am\n"
                       "resend_interval = 10s\n"
                       "timeout = 250ms\n"
                       "queue_max = 5\n"
                       "basic_auth_user = eng\n"
                       "basic_auth_password_file = /etc/engaged/am-pw\n"
                       "generator_url = https://engaged.example/\n"
                       "ca_file = /etc/engaged/am-ca.pem\n");
    cr_assert_not_null(cfg, "%s", errbuf);
    cr_assert_str_eq(cfg->am_ca_file, "/etc/engaged/am-ca.pem");
    cr_assert_str_eq(cfg->am_url, "http://a:9093, https://b:9093/am");
    cr_assert_eq(cfg->am_resend_interval_ms, 10000);
    cr_assert_eq(cfg->am_timeout_ms, 250);
    cr_assert_eq(cfg->am_queue_max, 5);
    cr_assert_str_eq(cfg->am_basic_auth_user, "eng");
    cr_assert_str_eq(cfg->am_basic_auth_password_file, "/etc/engaged/am-pw");
    cr_assert_str_eq(cfg->am_generator_url, "https://engaged.example/");
    config_free(cfg);
}

Test(config_alertmanager, bad_values_are_reported_with_their_line)
{
    config *cfg = load("[alertmanager]\n"
                       "url = http://ok:9093 ftp://x 127.0.0.1:9093\n"
                       "resend_interval = 500ms\n"
                       "timeout = 11m\n"
                       "queue_max = 0\n"
                       "bearer_token_file = /t\n"
                       "basic_auth_user = u\n"
                       "generator_url = engaged\n"
                       "password = x\n");
    cr_assert_null(cfg);
    cr_assert_str_eq(errors(),
        "F:2: url: \"ftp://x\" is not an http:// or https:// URL\n"
        "F:2: url: \"127.0.0.1:9093\" is not an http:// or https:// URL\n"
        "F:3: resend_interval must be at least 1s\n"
        "F:4: timeout must be from 1ms to 10m\n"
        "F:5: queue_max must be an integer from 1 to 10000000, got \"0\"\n"
        "F:6: bearer_token_file and basic_auth_user exclude each other\n"
        "F:7: basic_auth_user and basic_auth_password_file go together\n"
        "F:8: generator_url must be an http:// or https:// URL, got "
        "\"engaged\"\n"
        "F:9: unknown key \"password\" in [alertmanager]\n");
}

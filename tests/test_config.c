/*
 * Unit tests of config: defaults, the reference file, every kind of error
 * with its exact "file:line: message", and the special rules of [tiers],
 * [metrics] windows and [kafka] passthrough keys.
 *
 * Each test runs in a fresh temporary directory (Criterion forks one process
 * per test), so files are named "engaged.conf" and messages read exactly as
 * a user would see them.
 */
#include "config.h"
#include "log.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/engaged-test-config-XXXXXX";
static char start_dir[PATH_MAX];
static char files[16][64];
static size_t nfiles;

static void setup(void)
{
    cr_assert_not_null(getcwd(start_dir, sizeof start_dir));
    cr_assert_not_null(mkdtemp(tmpdir));
    cr_assert_eq(chdir(tmpdir), 0);
}

static void teardown(void)
{
    for (size_t i = 0; i < nfiles; i++)
        remove(files[i]);
    cr_assert_eq(chdir(start_dir), 0);
    rmdir(tmpdir);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Writes `text` to `name` in the test's directory. */
static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(name, "w");
    cr_assert_not_null(f, "cannot create %s: %s", name, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    if (nfiles < sizeof files / sizeof files[0])
        snprintf(files[nfiles++], sizeof files[0], "%s", name);
}

static char errbuf[4096];

/* Loads `text` as engaged.conf; errbuf holds the errors. */
static config *load(const char *text)
{
    write_file("engaged.conf", text);
    memset(errbuf, 'x', sizeof errbuf);
    return config_load("engaged.conf", errbuf, sizeof errbuf);
}

static config *load_ok(const char *text)
{
    config *cfg = load(text);
    cr_assert_not_null(cfg, "unexpected errors:\n%s", errbuf);
    cr_assert_str_eq(errbuf, "");
    return cfg;
}

static void expect_errors(const char *text, const char *expected)
{
    config *cfg = load(text);
    cr_assert_null(cfg, "loaded, expected:\n%s", expected);
    cr_assert_str_eq(errbuf, expected);
}

static void assert_same_config(const config *a, const config *b)
{
    cr_assert_str_eq(a->bootstrap_servers, b->bootstrap_servers);
    cr_assert_str_eq(a->group_id, b->group_id);
    cr_assert_eq(a->ntopics, b->ntopics);
    for (size_t i = 0; i < a->ntopics; i++)
        cr_assert_str_eq(a->topics[i], b->topics[i]);
    cr_assert_str_eq(a->alerts_topic, b->alerts_topic);
    cr_assert_str_eq(a->dlq_topic, b->dlq_topic);
    cr_assert_eq(a->max_event_bytes, b->max_event_bytes);
    cr_assert_eq(a->embedded_partitions, b->embedded_partitions);
    cr_assert_str_eq(a->embedded_bootstrap_file, b->embedded_bootstrap_file);
    cr_assert_eq(a->nkafka_props, b->nkafka_props);
    for (size_t i = 0; i < a->nkafka_props; i++) {
        cr_assert_str_eq(a->kafka_props[i].key, b->kafka_props[i].key);
        cr_assert_str_eq(a->kafka_props[i].value, b->kafka_props[i].value);
    }

    cr_assert_str_eq(a->redis_host, b->redis_host);
    cr_assert_eq(a->redis_port, b->redis_port);
    cr_assert_str_eq(a->redis_socket, b->redis_socket);
    cr_assert_eq(a->redis_db, b->redis_db);
    cr_assert_str_eq(a->redis_user, b->redis_user);
    cr_assert_str_eq(a->redis_password_file, b->redis_password_file);
    cr_assert_str_eq(a->redis_prefix, b->redis_prefix);
    cr_assert_eq(a->redis_timeout_ms, b->redis_timeout_ms);

    cr_assert_eq(a->hysteresis, b->hysteresis);
    cr_assert_eq(a->ntiers, b->ntiers);
    for (size_t i = 0; i < a->ntiers; i++) {
        cr_assert_str_eq(a->tiers[i].name, b->tiers[i].name);
        cr_assert_eq(a->tiers[i].min_followers, b->tiers[i].min_followers);
    }

    cr_assert_eq(a->nwindows, b->nwindows);
    for (size_t i = 0; i < a->nwindows; i++)
        cr_assert_eq(a->windows_ms[i], b->windows_ms[i]);
    cr_assert_eq(a->late_grace_ms, b->late_grace_ms);
    cr_assert_eq(a->max_future_ms, b->max_future_ms);

    cr_assert_eq(a->ndecay_tiers, b->ndecay_tiers);
    for (size_t i = 0; i < a->ndecay_tiers; i++)
        cr_assert_str_eq(a->decay_tiers[i], b->decay_tiers[i]);
    cr_assert_eq(a->decay_tier_mask, b->decay_tier_mask);
    cr_assert_eq(a->decay_current_ms, b->decay_current_ms);
    cr_assert_eq(a->decay_baseline_ms, b->decay_baseline_ms);
    cr_assert_eq(a->decay_ratio, b->decay_ratio);
    cr_assert_eq(a->decay_resolve_ratio, b->decay_resolve_ratio);
    cr_assert_eq(a->decay_critical_ratio, b->decay_critical_ratio);
    cr_assert_eq(a->decay_for_ms, b->decay_for_ms);
    cr_assert_eq(a->decay_min_baseline, b->decay_min_baseline);

    cr_assert_eq(a->conflict_window_ms, b->conflict_window_ms);
    cr_assert_eq(a->conflict_max_window_ms, b->conflict_max_window_ms);
    cr_assert_eq(a->nsectors, b->nsectors);
    for (size_t i = 0; i < a->nsectors; i++) {
        cr_assert_str_eq(a->sectors[i].name, b->sectors[i].name);
        cr_assert_eq(a->sectors[i].window_ms, b->sectors[i].window_ms);
    }
    cr_assert_eq(a->nbrands, b->nbrands);
    for (size_t i = 0; i < a->nbrands; i++) {
        cr_assert_str_eq(a->brands[i].name, b->brands[i].name);
        cr_assert_str_eq(a->brands[i].sector, b->brands[i].sector);
    }

    cr_assert_eq(a->alerts_stream_maxlen, b->alerts_stream_maxlen);
    cr_assert_str_eq(a->http_listen, b->http_listen);
    cr_assert_str_eq(a->http_host, b->http_host);
    cr_assert_eq(a->http_port, b->http_port);

    cr_assert_eq(a->checkpoint_interval_ms, b->checkpoint_interval_ms);
    cr_assert_eq(a->checkpoint_max_events, b->checkpoint_max_events);
    cr_assert_eq(a->log_level, b->log_level);
}

#define HOUR_MS INT64_C(3600000)

/* --- defaults and the reference file ------------------------------------ */

Test(config, defaults_are_the_documented_values)
{
    config *cfg = config_default("some.conf");
    cr_assert_not_null(cfg);
    cr_assert_str_eq(cfg->path, "some.conf");

    cr_assert_str_eq(cfg->bootstrap_servers, "127.0.0.1:9092");
    cr_assert_str_eq(cfg->group_id, "engaged");
    cr_assert_eq(cfg->ntopics, 1);
    cr_assert_str_eq(cfg->topics[0], "engagement.events");
    cr_assert_str_eq(cfg->alerts_topic, "engagement.alerts");
    cr_assert_str_eq(cfg->dlq_topic, "engagement.dlq");
    cr_assert_eq(cfg->max_event_bytes, 65536);
    cr_assert_eq(cfg->embedded_partitions, 4);
    cr_assert_str_eq(cfg->embedded_bootstrap_file, "");
    cr_assert_eq(cfg->nkafka_props, 0);

    cr_assert_str_eq(cfg->redis_host, "127.0.0.1");
    cr_assert_eq(cfg->redis_port, 6379);
    cr_assert_str_eq(cfg->redis_socket, "");
    cr_assert_eq(cfg->redis_db, 0);
    cr_assert_str_eq(cfg->redis_user, "");
    cr_assert_str_eq(cfg->redis_password_file, "");
    cr_assert_str_eq(cfg->redis_prefix, "eng:");
    cr_assert_eq(cfg->redis_timeout_ms, 2000);

    cr_assert_eq(cfg->hysteresis, 0.05);
    static const config_tier tiers[] = {
        {"nano", 0}, {"micro", 10000}, {"mid", 50000},
        {"macro", 500000}, {"mega", 1000000},
    };
    cr_assert_eq(cfg->ntiers, 5);
    for (size_t i = 0; i < 5; i++) {
        cr_assert_str_eq(cfg->tiers[i].name, tiers[i].name);
        cr_assert_eq(cfg->tiers[i].min_followers, tiers[i].min_followers);
    }

    cr_assert_eq(cfg->nwindows, 3);
    cr_assert_eq(cfg->windows_ms[0], HOUR_MS);
    cr_assert_eq(cfg->windows_ms[1], 24 * HOUR_MS);
    cr_assert_eq(cfg->windows_ms[2], 7 * 24 * HOUR_MS);
    cr_assert_eq(cfg->late_grace_ms, 5 * 60000);
    cr_assert_eq(cfg->max_future_ms, HOUR_MS);

    cr_assert_eq(cfg->ndecay_tiers, 1);
    cr_assert_str_eq(cfg->decay_tiers[0], "mega");
    cr_assert_eq(cfg->decay_tier_mask, 1u << 4);
    cr_assert_eq(cfg->decay_current_ms, 24 * HOUR_MS);
    cr_assert_eq(cfg->decay_baseline_ms, 28 * 24 * HOUR_MS);
    cr_assert_eq(cfg->decay_ratio, 0.5);
    cr_assert_eq(cfg->decay_resolve_ratio, 0.7);
    cr_assert_eq(cfg->decay_critical_ratio, 0.25);
    cr_assert_eq(cfg->decay_for_ms, 30 * 60000);
    cr_assert_eq(cfg->decay_min_baseline, 100);

    cr_assert_eq(cfg->conflict_window_ms, 90 * 24 * HOUR_MS);
    cr_assert_eq(cfg->conflict_max_window_ms, 90 * 24 * HOUR_MS);
    cr_assert_eq(cfg->nsectors, 0);
    cr_assert_eq(cfg->nbrands, 0);

    cr_assert_eq(cfg->alerts_stream_maxlen, 100000);
    cr_assert_str_eq(cfg->http_listen, "127.0.0.1:9187");
    cr_assert_str_eq(cfg->http_host, "127.0.0.1");
    cr_assert_eq(cfg->http_port, 9187);

    cr_assert_eq(cfg->checkpoint_interval_ms, 1000);
    cr_assert_eq(cfg->checkpoint_max_events, 100000);
    cr_assert_eq(cfg->log_level, LOG_LEVEL_INFO);
    config_free(cfg);
}

Test(config, default_without_path_has_null_path)
{
    config *cfg = config_default(NULL);
    cr_assert_not_null(cfg);
    cr_assert_null(cfg->path);
    config_free(cfg);
}

Test(config, empty_file_gives_the_defaults)
{
    config *cfg = load_ok("");
    config *def = config_default(NULL);
    cr_assert_str_eq(cfg->path, "engaged.conf");
    assert_same_config(cfg, def);
    config_free(cfg);
    config_free(def);
}

Test(config, reference_file_loads_and_equals_the_defaults)
{
    const char *root = getenv("ENGAGED_ROOT");
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/config/engaged.conf",
             root ? root : start_dir);
    config *cfg = config_load(path, errbuf, sizeof errbuf);
    cr_assert_not_null(cfg, "%s does not load:\n%s", path, errbuf);
    config *def = config_default(NULL);
    assert_same_config(cfg, def);
    config_free(cfg);
    config_free(def);
}

Test(config, every_key_set_is_applied)
{
    config *cfg = load_ok(
        "[kafka]\n"
        "bootstrap.servers = embedded\n"
        "group.id = g2\n"
        "topic = t1\n"
        "alerts.topic = a2\n"
        "dlq.topic = d2\n"
        "max_event_bytes = 1000\n"
        "embedded.partitions = 2\n"
        "embedded.bootstrap_file = /run/engaged/bootstrap\n"
        "[redis]\n"
        "host = redis.example\n"
        "port = 6380\n"
        "socket = /run/redis.sock\n"
        "db = 3\n"
        "user = engaged\n"
        "password_file = /etc/engaged/redis.pw\n"
        "prefix = x:\n"
        "timeout_ms = 500\n"
        "[tiers]\n"
        "hysteresis = 0\n"
        "[metrics]\n"
        "windows = 5m\n"
        "late_grace = 0\n"
        "max_future = 250ms\n"
        "[checkpoint]\n"
        "interval_ms = 10\n"
        "max_events = 1\n"
        "[log]\n"
        "level = debug\n");
    cr_assert_str_eq(cfg->bootstrap_servers, "embedded");
    cr_assert_str_eq(cfg->group_id, "g2");
    cr_assert_eq(cfg->ntopics, 1);
    cr_assert_str_eq(cfg->topics[0], "t1");
    cr_assert_str_eq(cfg->alerts_topic, "a2");
    cr_assert_str_eq(cfg->dlq_topic, "d2");
    cr_assert_eq(cfg->max_event_bytes, 1000);
    cr_assert_eq(cfg->embedded_partitions, 2);
    cr_assert_str_eq(cfg->embedded_bootstrap_file, "/run/engaged/bootstrap");
    cr_assert_str_eq(cfg->redis_host, "redis.example");
    cr_assert_eq(cfg->redis_port, 6380);
    cr_assert_str_eq(cfg->redis_socket, "/run/redis.sock");
    cr_assert_eq(cfg->redis_db, 3);
    cr_assert_str_eq(cfg->redis_user, "engaged");
    cr_assert_str_eq(cfg->redis_password_file, "/etc/engaged/redis.pw");
    cr_assert_str_eq(cfg->redis_prefix, "x:");
    cr_assert_eq(cfg->redis_timeout_ms, 500);
    cr_assert_eq(cfg->hysteresis, 0.0);
    cr_assert_eq(cfg->ntiers, 5, "hysteresis alone keeps the default tiers");
    cr_assert_eq(cfg->nwindows, 1);
    cr_assert_eq(cfg->windows_ms[0], 300000);
    cr_assert_eq(cfg->late_grace_ms, 0);
    cr_assert_eq(cfg->max_future_ms, 250);
    cr_assert_eq(cfg->checkpoint_interval_ms, 10);
    cr_assert_eq(cfg->checkpoint_max_events, 1);
    cr_assert_eq(cfg->log_level, LOG_LEVEL_DEBUG);
    config_free(cfg);
}

Test(config, later_value_of_a_key_wins)
{
    config *cfg = load_ok("[redis]\nport = 1\nport = 2\n");
    cr_assert_eq(cfg->redis_port, 2);
    config_free(cfg);
}

/* --- syntax -------------------------------------------------------------- */

Test(config, inline_comments_are_stripped)
{
    config *cfg = load_ok(
        "; a comment\n"
        "# another\n"
        "[redis]   ; section comment\n"
        "host = h1 ; the host\n"
        "socket =        ; unset\n"
        "password_file = /etc/a;b\n"   /* ';' not after a space: kept */
        "prefix = eng:\t; tab before\n");
    cr_assert_str_eq(cfg->redis_host, "h1");
    cr_assert_str_eq(cfg->redis_socket, "");
    cr_assert_str_eq(cfg->redis_password_file, "/etc/a;b");
    cr_assert_str_eq(cfg->redis_prefix, "eng:");
    config_free(cfg);
}

Test(config, indented_key_is_a_key_not_a_continuation)
{
    /* inih would append "  port = 7000" to host's value. */
    config *cfg = load_ok("[redis]\nhost = h1\n  port = 7000\n");
    cr_assert_str_eq(cfg->redis_host, "h1");
    cr_assert_eq(cfg->redis_port, 7000);
    config_free(cfg);
}

Test(config, crlf_lines_bom_and_spaced_section_names_are_accepted)
{
    config *cfg = load_ok("\xEF\xBB\xBF[ redis ]\r\nport = 7001\r\n");
    cr_assert_eq(cfg->redis_port, 7001);
    config_free(cfg);
}

Test(config, colon_separates_key_and_value_as_in_inih)
{
    config *cfg = load_ok("[kafka]\nbootstrap.servers: b1:9092,b2:9092\n");
    cr_assert_str_eq(cfg->bootstrap_servers, "b1:9092,b2:9092");
    config_free(cfg);
}

Test(config, line_without_equals_is_a_syntax_error)
{
    expect_errors("[redis]\nport 6379\n",
                  "engaged.conf:2: syntax error\n");
}

Test(config, unterminated_section_is_a_syntax_error)
{
    expect_errors("[redis\nport = 1\n",
                  "engaged.conf:1: syntax error\n"
                  "engaged.conf:2: key \"port\" is outside any section\n");
}

Test(config, text_after_a_section_header_is_a_syntax_error)
{
    expect_errors("[redis] port = 1\n", "engaged.conf:1: syntax error\n");
}

Test(config, every_syntax_error_is_reported)
{
    expect_errors("[redis]\nport\nhost\n= x\n",
                  "engaged.conf:2: syntax error\n"
                  "engaged.conf:3: syntax error\n"
                  "engaged.conf:4: syntax error: no key before '='\n");
}

Test(config, overlong_line_is_refused_not_split)
{
    char text[512];
    char path[300];
    memset(path, 'a', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    snprintf(text, sizeof text, "[redis]\nsocket = /%s\nport = 1\n", path);
    expect_errors(text, "engaged.conf:2: line is longer than 198 characters "
                  "(comments and surrounding spaces not counted)\n");
}

Test(config, long_comment_does_not_make_a_line_too_long)
{
    char text[512];
    char comment[300];
    memset(comment, 'c', sizeof comment - 1);
    comment[sizeof comment - 1] = '\0';
    snprintf(text, sizeof text, "[redis]\nport = 7002 ; %s\n", comment);
    config *cfg = load_ok(text);
    cr_assert_eq(cfg->redis_port, 7002);
    config_free(cfg);
}

/* --- unknown names ------------------------------------------------------- */

Test(config, unknown_key_reports_file_and_line)
{
    expect_errors("[redis]\nhost = h\n\nfoo = 1\n",
                  "engaged.conf:4: unknown key \"foo\" in [redis]\n");
}

Test(config, unknown_key_in_each_own_section)
{
    expect_errors("[metrics]\nwindow = 1h\n[checkpoint]\ninterval = 1\n"
                  "[log]\nlevle = info\n",
                  "engaged.conf:2: unknown key \"window\" in [metrics]\n"
                  "engaged.conf:4: unknown key \"interval\" in [checkpoint]\n"
                  "engaged.conf:6: unknown key \"levle\" in [log]\n");
}

Test(config, unknown_section_is_reported_once_at_its_header)
{
    expect_errors("[redis]\nport = 1\n[reddis]\nport = 2\nhost = h\n",
                  "engaged.conf:3: unknown section [reddis]: engaged reads "
                  "[kafka], [redis], [tiers], [metrics], [decay], [conflict], "
                  "[alerts], [http], [checkpoint], [state], [log], [campaigns], "
                  "[spike], [follower_jump], [alertmanager] and "
                  "[saturation]\n");
}

Test(config, key_before_any_section_is_refused)
{
    expect_errors("port = 1\n[redis]\n",
                  "engaged.conf:1: key \"port\" is outside any section\n");
}

/* --- integers and durations ---------------------------------------------- */

Test(config, non_integer_is_refused_with_its_range)
{
    expect_errors("[redis]\nhost = h\n\n\n\n\nport = abc\n",
                  "engaged.conf:7: port must be an integer from 1 to 65535, "
                  "got \"abc\"\n");
}

Test(config, integer_out_of_range_is_refused)
{
    expect_errors("[redis]\nport = 65536\ndb = -1\n[kafka]\n"
                  "embedded.partitions = 1025\nmax_event_bytes = 0\n"
                  "[checkpoint]\ninterval_ms = 9\nmax_events = 100000001\n",
                  "engaged.conf:2: port must be an integer from 1 to 65535, "
                  "got \"65536\"\n"
                  "engaged.conf:3: db must be an integer from 0 to 1000000, "
                  "got \"-1\"\n"
                  "engaged.conf:5: embedded.partitions must be an integer "
                  "from 1 to 1024, got \"1025\"\n"
                  "engaged.conf:6: max_event_bytes must be an integer from 1 "
                  "to 100000000, got \"0\"\n"
                  "engaged.conf:8: interval_ms must be an integer from 10 to "
                  "3600000, got \"9\"\n"
                  "engaged.conf:9: max_events must be an integer from 1 to "
                  "100000000, got \"100000001\"\n");
}

Test(config, integer_with_junk_sign_or_base_is_refused)
{
    expect_errors("[redis]\ntimeout_ms = 80x\ntimeout_ms = +80\n"
                  "timeout_ms = 0x10\ntimeout_ms = 1e3\n"
                  "timeout_ms = 99999999999999999999\n",
                  "engaged.conf:2: timeout_ms must be an integer from 1 to "
                  "3600000, got \"80x\"\n"
                  "engaged.conf:3: timeout_ms must be an integer from 1 to "
                  "3600000, got \"+80\"\n"
                  "engaged.conf:4: timeout_ms must be an integer from 1 to "
                  "3600000, got \"0x10\"\n"
                  "engaged.conf:5: timeout_ms must be an integer from 1 to "
                  "3600000, got \"1e3\"\n"
                  "engaged.conf:6: timeout_ms must be an integer from 1 to "
                  "3600000, got \"99999999999999999999\"\n");
}

Test(config, bad_duration_says_why)
{
    expect_errors("[metrics]\nlate_grace = 2w\nlate_grace = 5\n"
                  "max_future = soon\nmax_future = -1m\nmax_future = 1.5h\n"
                  "late_grace = 99999999999999999999ms\n"
                  "late_grace = 3651d\n",
                  "engaged.conf:2: late_grace must be a duration, got \"2w\": "
                  "unknown unit \"w\" (use ms, s, m, h or d)\n"
                  "engaged.conf:3: late_grace must be a duration, got \"5\": "
                  "missing unit (use ms, s, m, h or d)\n"
                  "engaged.conf:4: max_future must be a duration, got "
                  "\"soon\": it must start with a whole number\n"
                  "engaged.conf:5: max_future must be a duration, got "
                  "\"-1m\": it must start with a whole number\n"
                  "engaged.conf:6: max_future must be a duration, got "
                  "\"1.5h\": unknown unit \".5h\" (use ms, s, m, h or d)\n"
                  "engaged.conf:7: late_grace must be a duration, got "
                  "\"99999999999999999999ms\": too large\n"
                  "engaged.conf:8: late_grace must be at most 3650d, got "
                  "\"3651d\"\n");
}

Test(config, durations_take_every_unit)
{
    config *cfg = load_ok("[metrics]\nlate_grace = 1500ms\nmax_future = 2d\n");
    cr_assert_eq(cfg->late_grace_ms, 1500);
    cr_assert_eq(cfg->max_future_ms, 2 * 24 * HOUR_MS);
    config_free(cfg);
    cfg = load_ok("[metrics]\nlate_grace = 45s\nmax_future = 0\n");
    cr_assert_eq(cfg->late_grace_ms, 45000);
    cr_assert_eq(cfg->max_future_ms, 0);
    config_free(cfg);
}

/* --- [metrics] windows --------------------------------------------------- */

Test(config, windows_are_sorted_and_split_on_spaces_and_commas)
{
    config *cfg = load_ok("[metrics]\nwindows = 7d,1h  24h , 5m\n");
    cr_assert_eq(cfg->nwindows, 4);
    cr_assert_eq(cfg->windows_ms[0], 5 * 60000);
    cr_assert_eq(cfg->windows_ms[1], HOUR_MS);
    cr_assert_eq(cfg->windows_ms[2], 24 * HOUR_MS);
    cr_assert_eq(cfg->windows_ms[3], 7 * 24 * HOUR_MS);
    config_free(cfg);
}

Test(config, window_not_whole_minutes_is_refused)
{
    expect_errors("[metrics]\n\nwindows = 1h 90s\n",
                  "engaged.conf:3: window \"90s\" is not a whole number of "
                  "minutes\n");
}

Test(config, window_shorter_than_a_minute_is_refused)
{
    expect_errors("[metrics]\nwindows = 30s 0\n",
                  "engaged.conf:2: window \"30s\" is shorter than 1m\n"
                  "engaged.conf:2: window \"0\" is shorter than 1m\n");
}

Test(config, bad_window_duration_is_refused)
{
    expect_errors("[metrics]\nwindows = 1h 2x\n",
                  "engaged.conf:2: windows must be durations, got \"2x\": "
                  "unknown unit \"x\" (use ms, s, m, h or d)\n");
}

Test(config, duplicate_window_is_reported_at_the_windows_line)
{
    expect_errors("[metrics]\nlate_grace = 1m\nwindows = 1h 5m 60m\n",
                  "engaged.conf:3: window 1h is listed twice\n");
}

Test(config, empty_or_too_many_windows_are_refused)
{
    expect_errors("[metrics]\nwindows =\n"
                  "windows = 1m 2m 3m 4m 5m 6m 7m 8m 9m\n",
                  "engaged.conf:2: windows must list at least one duration\n"
                  "engaged.conf:3: windows lists more than 8 durations\n");
}

/* --- [tiers] ------------------------------------------------------------- */

Test(config, tiers_replace_the_defaults_and_are_sorted)
{
    config *cfg = load_ok("[tiers]\nbig = 1000\nsmall = 0\nmedium = 100\n");
    cr_assert_eq(cfg->ntiers, 3);
    cr_assert_str_eq(cfg->tiers[0].name, "small");
    cr_assert_eq(cfg->tiers[0].min_followers, 0);
    cr_assert_str_eq(cfg->tiers[1].name, "medium");
    cr_assert_eq(cfg->tiers[1].min_followers, 100);
    cr_assert_str_eq(cfg->tiers[2].name, "big");
    cr_assert_eq(cfg->tiers[2].min_followers, 1000);
    cr_assert_eq(config_tier_index(cfg, "mega"), -1);
    cr_assert_eq(cfg->hysteresis, 0.05);
    config_free(cfg);
}

Test(config, a_single_tier_at_zero_is_enough)
{
    config *cfg = load_ok("[tiers]\nall = 0\n");
    cr_assert_eq(cfg->ntiers, 1);
    cr_assert_str_eq(cfg->tiers[0].name, "all");
    config_free(cfg);
}

Test(config, tiers_without_zero_are_refused)
{
    expect_errors("[tiers]\nsmall = 10\nbig = 1000\n",
                  "engaged.conf: no tier has minimum 0: creators below the "
                  "lowest minimum (10) would have no tier\n");
}

Test(config, duplicate_tier_name_is_refused)
{
    expect_errors("[tiers]\nnano = 0\nmicro = 10\n\nmicro = 20\n",
                  "engaged.conf:5: tier \"micro\" is defined twice (first at "
                  "line 3)\n");
}

Test(config, two_tiers_with_one_minimum_are_refused)
{
    expect_errors("[tiers]\nnano = 0\nmid = 50\nalso_mid = 50\n",
                  "engaged.conf:4: tiers \"mid\" and \"also_mid\" both have "
                  "minimum 50\n");
}

Test(config, tier_names_are_checked)
{
    expect_errors("[tiers]\nnano = 0\nMicro = 10\n"
                  "abcdefghijklmnopqrstuvwxyz0123456 = 20\nunknown = 30\n",
                  "engaged.conf:3: tier name \"Micro\" must be 1 to 32 "
                  "characters of a-z, 0-9, '_' and '-'\n"
                  "engaged.conf:4: tier name "
                  "\"abcdefghijklmnopqrstuvwxyz0123456\" must be 1 to 32 "
                  "characters of a-z, 0-9, '_' and '-'\n"
                  "engaged.conf:5: tier name \"unknown\" is reserved for "
                  "creators whose follower count is not known\n");
}

Test(config, longest_tier_name_is_accepted)
{
    config *cfg = load_ok("[tiers]\nabcdefghijklmnopqrstuvwxyz_-0123 = 0\n");
    cr_assert_str_eq(cfg->tiers[0].name, "abcdefghijklmnopqrstuvwxyz_-0123");
    config_free(cfg);
}

Test(config, tier_minimum_must_be_a_count)
{
    /* A refused tier reports itself only: no "no tier has minimum 0". */
    expect_errors("[tiers]\nnano = -1\nmicro = lots\n",
                  "engaged.conf:2: tier \"nano\" must be a follower count of "
                  "0 or more, got \"-1\"\n"
                  "engaged.conf:3: tier \"micro\" must be a follower count of "
                  "0 or more, got \"lots\"\n");
}

Test(config, more_than_max_tiers_are_refused)
{
    char text[1024] = "[tiers]\n";
    for (int i = 0; i <= CONFIG_MAX_TIERS; i++) {
        char line[32];
        snprintf(line, sizeof line, "t%d = %d\n", i, i * 10);
        strcat(text, line);
    }
    expect_errors(text, "engaged.conf:18: more than 16 tiers\n");
}

Test(config, hysteresis_must_be_below_one)
{
    expect_errors("[tiers]\nhysteresis = 1\nhysteresis = -0.1\n"
                  "hysteresis = nan\nhysteresis = 0.5x\n",
                  "engaged.conf:2: hysteresis must be a number from 0 up to "
                  "but not including 1, got \"1\"\n"
                  "engaged.conf:3: hysteresis must be a number from 0 up to "
                  "but not including 1, got \"-0.1\"\n"
                  "engaged.conf:4: hysteresis must be a number from 0 up to "
                  "but not including 1, got \"nan\"\n"
                  "engaged.conf:5: hysteresis must be a number from 0 up to "
                  "but not including 1, got \"0.5x\"\n");
}

Test(config, tier_index_finds_tiers_by_name)
{
    config *cfg = config_default(NULL);
    cr_assert_eq(config_tier_index(cfg, "nano"), 0);
    cr_assert_eq(config_tier_index(cfg, "mega"), 4);
    cr_assert_eq(config_tier_index(cfg, "unknown"), -1);
    cr_assert_eq(config_tier_index(cfg, "Mega"), -1);
    cr_assert_eq(config_tier_index(NULL, "nano"), -1);
    config_free(cfg);
}

/* --- [kafka] ------------------------------------------------------------- */

Test(config, kafka_passthrough_keys_keep_their_lines)
{
    config *cfg = load_ok("[kafka]\n"
                          "security.protocol = SASL_SSL\n"
                          "group.id = g\n"
                          "sasl.mechanisms = PLAIN\n"
                          "[redis]\n"
                          "[kafka]\n"
                          "security.protocol = SSL ; the later one wins\n"
                          "ssl.ca.location =\n");
    cr_assert_str_eq(cfg->group_id, "g");
    cr_assert_eq(cfg->nkafka_props, 3);
    cr_assert_str_eq(cfg->kafka_props[0].key, "security.protocol");
    cr_assert_str_eq(cfg->kafka_props[0].value, "SSL");
    cr_assert_eq(cfg->kafka_props[0].line, 7);
    cr_assert_str_eq(cfg->kafka_props[1].key, "sasl.mechanisms");
    cr_assert_str_eq(cfg->kafka_props[1].value, "PLAIN");
    cr_assert_eq(cfg->kafka_props[1].line, 4);
    cr_assert_str_eq(cfg->kafka_props[2].key, "ssl.ca.location");
    cr_assert_str_eq(cfg->kafka_props[2].value, "");
    cr_assert_eq(cfg->kafka_props[2].line, 8);
    config_free(cfg);
}

Test(config, kafka_property_name_with_a_space_is_refused)
{
    /* A forgotten '=' before a host:port value splits at the ':'. */
    expect_errors("[kafka]\nbootstrap.servers 10.0.0.1:9092\n",
                  "engaged.conf:2: kafka property name \"bootstrap.servers "
                  "10.0.0.1\" may contain only letters, digits, '.', '_' and "
                  "'-'\n");
}

Test(config, topic_list_is_split_on_commas_and_trimmed)
{
    config *cfg = load_ok("[kafka]\ntopic =  a.b ,c-d,e_f  \n");
    cr_assert_eq(cfg->ntopics, 3);
    cr_assert_str_eq(cfg->topics[0], "a.b");
    cr_assert_str_eq(cfg->topics[1], "c-d");
    cr_assert_str_eq(cfg->topics[2], "e_f");
    config_free(cfg);
}

Test(config, bad_topic_lists_are_refused)
{
    expect_errors("[kafka]\ntopic = a,,b\ntopic =\ntopic = a b\n"
                  "topic = a, b, a\n",
                  "engaged.conf:2: topic has an empty name in \"a,,b\"\n"
                  "engaged.conf:3: topic must name at least one topic\n"
                  "engaged.conf:4: topic \"a b\" contains a space: separate "
                  "topics with commas\n"
                  "engaged.conf:5: topic \"a\" is listed twice\n");
}

Test(config, at_most_max_topics)
{
    char text[512] = "[kafka]\ntopic = ";
    for (int i = 0; i < CONFIG_MAX_TOPICS; i++) {
        char name[16];
        snprintf(name, sizeof name, "%st%d", i ? "," : "", i);
        strcat(text, name);
    }
    config *cfg = load_ok(text);
    cr_assert_eq(cfg->ntopics, CONFIG_MAX_TOPICS);
    cr_assert_str_eq(cfg->topics[CONFIG_MAX_TOPICS - 1], "t15");
    config_free(cfg);

    strcat(text, ",t16\n");
    expect_errors(text, "engaged.conf:2: topic lists more than 16 topics\n");
}

Test(config, required_kafka_strings_must_not_be_empty)
{
    expect_errors("[kafka]\nbootstrap.servers =\ngroup.id =\n"
                  "alerts.topic =\ndlq.topic = a b\n",
                  "engaged.conf:2: bootstrap.servers must not be empty\n"
                  "engaged.conf:3: group.id must not be empty\n"
                  "engaged.conf:4: alerts.topic must not be empty\n"
                  "engaged.conf:5: dlq.topic must not contain spaces, got "
                  "\"a b\"\n");
}

/* --- [redis] and [log] --------------------------------------------------- */

Test(config, password_in_the_file_is_refused)
{
    expect_errors("[redis]\npassword = hunter2\n",
                  "engaged.conf:2: password must not be in the config file: "
                  "use password_file\n");
}

Test(config, prefix_must_be_non_empty_without_spaces)
{
    expect_errors("[redis]\nprefix =\nprefix = a b\n",
                  "engaged.conf:2: prefix must not be empty\n"
                  "engaged.conf:3: prefix must not contain spaces, got "
                  "\"a b\"\n");
}

Test(config, empty_host_needs_a_socket)
{
    expect_errors("[redis]\n\nhost =\n",
                  "engaged.conf:3: host must not be empty unless socket is "
                  "set\n");
    config *cfg = load_ok("[redis]\nhost =\nsocket = /run/redis.sock\n");
    cr_assert_str_eq(cfg->redis_host, "");
    config_free(cfg);
}

Test(config, log_level_names)
{
    config *cfg = load_ok("[log]\nlevel = warning\n");
    cr_assert_eq(cfg->log_level, LOG_LEVEL_WARNING);
    config_free(cfg);
    expect_errors("[log]\nlevel = verbose\n",
                  "engaged.conf:2: level must be one of error, warning, "
                  "notice, info, debug, got \"verbose\"\n");
}

/* --- several errors, files ----------------------------------------------- */

Test(config, all_errors_are_reported_in_line_order)
{
    expect_errors("[metrics]\n"
                  "windows = 1h 1h\n"           /* validation pass */
                  "[redis]\n"
                  "port = 0\n"
                  "oops\n"                      /* syntax */
                  "[nope]\n"
                  "x = 1\n"
                  "[tiers]\n"
                  "micro = 10\n"                /* no tier 0: whole file */
                  "[log]\n"
                  "level = loud\n",
                  "engaged.conf: no tier has minimum 0: creators below the "
                  "lowest minimum (10) would have no tier\n"
                  "engaged.conf:2: window 1h is listed twice\n"
                  "engaged.conf:4: port must be an integer from 1 to 65535, "
                  "got \"0\"\n"
                  "engaged.conf:5: syntax error\n"
                  "engaged.conf:6: unknown section [nope]: engaged reads "
                  "[kafka], [redis], [tiers], [metrics], [decay], [conflict], "
                  "[alerts], [http], [checkpoint], [state], [log], [campaigns], "
                  "[spike], [follower_jump], [alertmanager] and "
                  "[saturation]\n"
                  "engaged.conf:11: level must be one of error, warning, "
                  "notice, info, debug, got \"loud\"\n");
}

Test(config, errors_that_do_not_fit_are_dropped_whole)
{
    write_file("engaged.conf", "[redis]\nfoo = 1\nbar = 2\n");
    char small[60];
    config *cfg = config_load("engaged.conf", small, sizeof small);
    cr_assert_null(cfg);
    cr_assert_str_eq(small,
                     "engaged.conf:2: unknown key \"foo\" in [redis]\n");
    cr_assert_null(config_load("engaged.conf", NULL, 0));
}

Test(config, missing_file_cannot_be_opened)
{
    config *cfg = config_load("absent.conf", errbuf, sizeof errbuf);
    cr_assert_null(cfg);
    cr_assert_str_eq(errbuf,
                     "absent.conf: cannot open: No such file or directory\n");
}

Test(config, directory_cannot_be_read)
{
    cr_assert_eq(mkdir("dir.conf", 0700), 0);
    config *cfg = config_load("dir.conf", errbuf, sizeof errbuf);
    rmdir("dir.conf");
    cr_assert_null(cfg);
    cr_assert_str_eq(errbuf, "dir.conf: cannot read: Is a directory\n");
}

/* --- [decay] ------------------------------------------------------------- */

#define DAY_MS (24 * HOUR_MS)

Test(config, every_decay_key_is_applied)
{
    config *cfg = load_ok("[decay]\n"
                          "tiers = macro, mega\n"
                          "current = 6h\n"
                          "baseline = 14d\n"
                          "ratio = 0.4\n"
                          "resolve_ratio = 1\n"
                          "critical_ratio = 0\n"
                          "for = 0\n"
                          "min_baseline = 0\n");
    cr_assert_eq(cfg->ndecay_tiers, 2);
    cr_assert_str_eq(cfg->decay_tiers[0], "macro");
    cr_assert_str_eq(cfg->decay_tiers[1], "mega");
    cr_assert_eq(cfg->decay_tier_mask, (1u << 3) | (1u << 4));
    cr_assert(config_decay_watches(cfg, 3));
    cr_assert(config_decay_watches(cfg, 4));
    cr_assert_not(config_decay_watches(cfg, 2));
    cr_assert_not(config_decay_watches(cfg, -1));
    cr_assert_not(config_decay_watches(cfg, 16));
    cr_assert_eq(cfg->decay_current_ms, 6 * HOUR_MS);
    cr_assert_eq(cfg->decay_baseline_ms, 14 * DAY_MS);
    cr_assert_eq(cfg->decay_ratio, 0.4);
    cr_assert_eq(cfg->decay_resolve_ratio, 1.0);
    cr_assert_eq(cfg->decay_critical_ratio, 0.0);
    cr_assert_eq(cfg->decay_for_ms, 0);
    cr_assert_eq(cfg->decay_min_baseline, 0);
    config_free(cfg);
}

Test(config, decay_tier_mask_follows_the_sorted_tiers)
{
    config *cfg = load_ok("[tiers]\nbig = 1000\nsmall = 0\n"
                          "[decay]\ntiers = big\n");
    cr_assert_eq(config_tier_index(cfg, "big"), 1);
    cr_assert_eq(cfg->decay_tier_mask, 1u << 1);
    config_free(cfg);
}

Test(config, empty_decay_tiers_turn_decay_off)
{
    config *cfg = load_ok("[decay]\ntiers =\n");
    cr_assert_eq(cfg->ndecay_tiers, 0);
    cr_assert_eq(cfg->decay_tier_mask, 0);
    for (int t = 0; t < 5; t++)
        cr_assert_not(config_decay_watches(cfg, t));
    config_free(cfg);
}

Test(config, default_decay_tier_without_a_mega_tier_watches_nothing)
{
    config *cfg = load_ok("[tiers]\nsmall = 0\nbig = 1000\n");
    cr_assert_eq(cfg->ndecay_tiers, 0);
    cr_assert_eq(cfg->decay_tier_mask, 0);
    config_free(cfg);
}

Test(config, decay_tiers_must_be_tiers)
{
    expect_errors("[tiers]\nsmall = 0\nbig = 1000\n[decay]\ntiers = mega\n",
                  "engaged.conf:5: tiers names \"mega\", which is not a tier "
                  "of [tiers]\n");
    expect_errors("[decay]\ntiers = mega Mega unknown\n",
                  "engaged.conf:2: tiers names \"Mega\", which is not a tier "
                  "of [tiers]\n"
                  "engaged.conf:2: tiers names \"unknown\", which is not a "
                  "tier of [tiers]\n");
    expect_errors("[decay]\ntiers = mega macro mega\n",
                  "engaged.conf:2: tiers lists \"mega\" twice\n");
}

Test(config, decay_windows_are_whole_minutes_and_baseline_is_longer)
{
    expect_errors("[decay]\ncurrent = 90s\nbaseline = 30s\ncurrent = 1x\n"
                  "baseline = 3651d\n",
                  "engaged.conf:2: current \"90s\" is not a whole number of "
                  "minutes\n"
                  "engaged.conf:3: baseline \"30s\" is shorter than 1m\n"
                  "engaged.conf:4: current must be a duration, got \"1x\": "
                  "unknown unit \"x\" (use ms, s, m, h or d)\n"
                  "engaged.conf:5: baseline must be at most 3650d, got "
                  "\"3651d\"\n");
    expect_errors("[decay]\ncurrent = 24h\n\nbaseline = 1d\n",
                  "engaged.conf:4: baseline (1d) must be longer than current "
                  "(1d): the baseline window includes the current one\n");
    /* Only current set: the error names its line. */
    expect_errors("[decay]\ncurrent = 30d\n",
                  "engaged.conf:2: baseline (28d) must be longer than current "
                  "(30d): the baseline window includes the current one\n");
}

Test(config, decay_ratios_are_ordered)
{
    expect_errors("[decay]\nratio = 0.5\nresolve_ratio = 0.4\n"
                  "critical_ratio = 0.6\n",
                  "engaged.conf:3: resolve_ratio (0.4) must be at least ratio "
                  "(0.5)\n"
                  "engaged.conf:4: critical_ratio (0.6) must be at most ratio "
                  "(0.5)\n");
    expect_errors("[decay]\nratio = 0.8\n",
                  "engaged.conf:2: resolve_ratio (0.7) must be at least ratio "
                  "(0.8)\n");
    expect_errors("[decay]\nratio = 1.5\nresolve_ratio = -0.1\n"
                  "critical_ratio = nan\n",
                  "engaged.conf:2: ratio must be a number from 0 to 1, got "
                  "\"1.5\"\n"
                  "engaged.conf:3: resolve_ratio must be a number from 0 to "
                  "1, got \"-0.1\"\n"
                  "engaged.conf:4: critical_ratio must be a number from 0 to "
                  "1, got \"nan\"\n");
}

Test(config, decay_for_and_min_baseline_are_checked)
{
    expect_errors("[decay]\nfor = soon\nmin_baseline = -1\n",
                  "engaged.conf:2: for must be a duration, got \"soon\": it "
                  "must start with a whole number\n"
                  "engaged.conf:3: min_baseline must be an integer from 0 to "
                  "1000000000000, got \"-1\"\n");
}

/* --- [conflict] ---------------------------------------------------------- */

Test(config, conflict_sectors_and_brands_are_normalised_and_sorted)
{
    config *cfg = load_ok("[conflict]\n"
                          "window = 30d\n"
                          "sector.Finance = 120d\n"
                          "sector.beverages = 0\n"
                          "brand.Pepsi = Beverages\n"
                          "brand. Coca-Cola  = beverages\n"
                          "brand.Big Bank = finance\n");
    cr_assert_eq(cfg->conflict_window_ms, 30 * DAY_MS);
    cr_assert_eq(cfg->conflict_max_window_ms, 120 * DAY_MS);
    cr_assert_eq(cfg->nsectors, 2);
    cr_assert_str_eq(cfg->sectors[0].name, "beverages");
    cr_assert_eq(cfg->sectors[0].window_ms, 0);
    cr_assert_str_eq(cfg->sectors[1].name, "finance");
    cr_assert_eq(cfg->sectors[1].window_ms, 120 * DAY_MS);
    cr_assert_eq(cfg->nbrands, 3);
    cr_assert_str_eq(cfg->brands[0].name, "big bank");
    cr_assert_str_eq(cfg->brands[0].sector, "finance");
    cr_assert_str_eq(cfg->brands[1].name, "coca-cola");
    cr_assert_str_eq(cfg->brands[2].name, "pepsi");
    cr_assert_str_eq(cfg->brands[2].sector, "beverages");

    cr_assert_eq(config_sector_window(cfg, "finance"), 120 * DAY_MS);
    cr_assert_eq(config_sector_window(cfg, "beverages"), 0);
    cr_assert_eq(config_sector_window(cfg, "cars"), 30 * DAY_MS);
    cr_assert_str_eq(config_brand_sector(cfg, "pepsi"), "beverages");
    cr_assert_str_eq(config_brand_sector(cfg, "big bank"), "finance");
    cr_assert_null(config_brand_sector(cfg, "Pepsi"),
                   "lookups take normalised names");
    cr_assert_null(config_brand_sector(cfg, "fanta"));
    config_free(cfg);
}

Test(config, later_sector_or_brand_wins)
{
    config *cfg = load_ok("[conflict]\nsector.cars = 10d\nbrand.vw = cars\n"
                          "sector.CARS = 20d\nbrand.VW = autos\n");
    cr_assert_eq(cfg->nsectors, 1);
    cr_assert_eq(cfg->sectors[0].window_ms, 20 * DAY_MS);
    cr_assert_eq(cfg->nbrands, 1);
    cr_assert_str_eq(cfg->brands[0].sector, "autos");
    config_free(cfg);
}

Test(config, conflict_window_zero_and_max_window)
{
    config *cfg = load_ok("[conflict]\nwindow = 0\nsector.finance = 7d\n");
    cr_assert_eq(cfg->conflict_window_ms, 0);
    cr_assert_eq(cfg->conflict_max_window_ms, 7 * DAY_MS);
    cr_assert_eq(config_sector_window(cfg, "anything"), 0);
    config_free(cfg);
}

Test(config, bad_conflict_keys_are_refused)
{
    expect_errors("[conflict]\n"
                  "sector. = 1d\n"
                  "sector.cars = soon\n"
                  "brand. = cars\n"
                  "brand.vw =\n"
                  "sector.cars = 3651d\n"
                  "window = 1w\n"
                  "color.red = 1\n",
                  "engaged.conf:2: \"sector.\" names no sector: write "
                  "sector.NAME = window\n"
                  "engaged.conf:3: sector.cars must be a duration, got "
                  "\"soon\": it must start with a whole number\n"
                  "engaged.conf:4: \"brand.\" names no brand: write "
                  "brand.NAME = sector\n"
                  "engaged.conf:5: brand.vw must name a sector\n"
                  "engaged.conf:6: sector.cars must be at most 3650d, got "
                  "\"3651d\"\n"
                  "engaged.conf:7: window must be a duration, got \"1w\": "
                  "unknown unit \"w\" (use ms, s, m, h or d)\n"
                  "engaged.conf:8: unknown key \"color.red\" in [conflict]\n");
}

Test(config, name_normalisation_trims_and_lowers_ascii)
{
    char out[32];
    cr_assert_eq(config_name_normalize("  Coca-Cola \t", out, sizeof out), 9);
    cr_assert_str_eq(out, "coca-cola");
    cr_assert_eq(config_name_normalize("\xc3\x89vian", out, sizeof out), 6);
    cr_assert_str_eq(out, "\xc3\x89vian", "non-ASCII bytes are kept");
    cr_assert_eq(config_name_normalize("   ", out, sizeof out), 0);
    cr_assert_str_eq(out, "");
    cr_assert_eq(config_name_normalize("ABCDEF", out, 4), 6);
    cr_assert_str_eq(out, "abc", "truncated as snprintf");
    char in_place[] = "  PePsi ";
    config_name_normalize(in_place, in_place, sizeof in_place);
    cr_assert_str_eq(in_place, "pepsi");
}

/* --- [alerts] and [http] ------------------------------------------------- */

Test(config, alerts_stream_maxlen_is_a_positive_count)
{
    config *cfg = load_ok("[alerts]\nstream_maxlen = 5\n");
    cr_assert_eq(cfg->alerts_stream_maxlen, 5);
    config_free(cfg);
    expect_errors("[alerts]\nstream_maxlen = 0\n",
                  "engaged.conf:2: stream_maxlen must be an integer from 1 "
                  "to 1000000000, got \"0\"\n");
}

Test(config, http_listen_takes_hosts_and_bracketed_ipv6)
{
    static const struct {
        const char *listen, *host;
        int port;
    } ok[] = {
        {"0.0.0.0:80", "0.0.0.0", 80},
        {"[::1]:65535", "::1", 65535},
        {"[::]:9187", "::", 9187},
        {"localhost:9187", "localhost", 9187},
        {":9187", "", 9187},
        {"127.0.0.1:0", "127.0.0.1", 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "[http]\nlisten = %s\n", ok[i].listen);
        config *cfg = load_ok(text);
        cr_assert_str_eq(cfg->http_listen, ok[i].listen);
        cr_assert_str_eq(cfg->http_host, ok[i].host);
        cr_assert_eq(cfg->http_port, ok[i].port);
        config_free(cfg);
    }
}

Test(config, empty_http_listen_disables_the_endpoint)
{
    config *cfg = load_ok("[http]\nlisten =\n");
    cr_assert_str_eq(cfg->http_listen, "");
    cr_assert_str_eq(cfg->http_host, "");
    cr_assert_eq(cfg->http_port, 0);
    config_free(cfg);
}

Test(config, bad_http_listen_is_refused)
{
    static const char *const bad[] = {
        "9187", "127.0.0.1", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:+80", "::1:9187", "[::1]9187", "[::1]:", "[127.0.0.1]:80",
        "[]:80", "host_name:80", "-x:80", "a b:80", "127.0.0.1:http",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128], want[256];
        snprintf(text, sizeof text, "[http]\nlisten = %s\n", bad[i]);
        snprintf(want, sizeof want, "engaged.conf:2: listen must be "
                 "HOST:PORT or [IPV6]:PORT with a port from 0 to 65535, or "
                 "empty to disable, got \"%s\"\n", bad[i]);
        expect_errors(text, want);
    }
}

Test(config, new_sections_are_known)
{
    expect_errors("[decay]\nnope = 1\n[conflict]\nnope = 1\n[alerts]\n"
                  "nope = 1\n[http]\nnope = 1\n",
                  "engaged.conf:2: unknown key \"nope\" in [decay]\n"
                  "engaged.conf:4: unknown key \"nope\" in [conflict]\n"
                  "engaged.conf:6: unknown key \"nope\" in [alerts]\n"
                  "engaged.conf:8: unknown key \"nope\" in [http]\n");
}

Test(config, signal_windows_and_multiples_are_checked)
{
    expect_errors("[spike]\n"
                  "window = 7d\n"
                  "baseline = 1d\n"
                  "ratio = 5\n"
                  "resolve_ratio = 6\n"
                  "critical_ratio = 0\n"
                  "[follower_jump]\n"
                  "window = 2d\n"
                  "min_increase = -1\n",
                  "engaged.conf:3: baseline (1d) must be longer than window "
                  "(7d): the baseline includes the window\n"
                  "engaged.conf:5: resolve_ratio (6) must be at most ratio "
                  "(5)\n"
                  "engaged.conf:6: critical_ratio must be a number above 0 "
                  "and at most 1000000, got \"0\"\n"
                  "engaged.conf:8: [follower_jump] window (2d) must be "
                  "shorter than [spike] baseline (1d), whose prediction its "
                  "alerts compare with\n"
                  "engaged.conf:9: min_increase must be a number above 0 and "
                  "at most 1000000, got \"-1\"\n");
}

Test(config, saturation_limits_name_tiers)
{
    expect_errors("[saturation]\n"
                  "limit.giant = 0.5\n"
                  "limit.mid = 1.5\n"
                  "limit. = 0.1\n",
                  "engaged.conf:2: limit.giant names no tier of [tiers]\n"
                  "engaged.conf:3: limit.mid must be a number from 0 to 1, "
                  "got \"1.5\"\n"
                  "engaged.conf:4: \"limit.\" names no tier: write "
                  "limit.TIER = share\n");
    write_file("engaged.conf", "[saturation]\nlimit = 0.3\nlimit.mid = 0.4\n");
    config *cfg = config_load("engaged.conf", errbuf, sizeof errbuf);
    cr_assert_not_null(cfg, "%s", errbuf);
    cr_assert_float_eq(cfg->saturation_limit_of[config_tier_index(cfg, "nano")],
                       0.3, 1e-12);
    cr_assert_float_eq(cfg->saturation_limit_of[config_tier_index(cfg, "mid")],
                       0.4, 1e-12);
    cr_assert_float_eq(cfg->saturation_limit_of[config_tier_index(cfg, "mega")],
                       0.35, 1e-12, "the default of mega");
    config_free(cfg);
}

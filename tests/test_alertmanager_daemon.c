/*
 * The Alertmanager sink through the real daemon (issue 18): the
 * generator's stories through engaged, a real Redis, the mock Kafka
 * cluster and a real Alertmanager, where the brand_conflict and
 * tier_change alerts must show up; then Alertmanager behind https (a
 * self-signed certificate) and basic auth: with ca_file and the password
 * the alert arrives; with a wrong password (401) or without ca_file (the
 * certificate not trusted) nothing does, it is counted, and the daemon
 * keeps consuming.  Suite alertmanager, beside tests/test_alertmanager.c.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amharness.h"
#include "harness.h"
#include "world.h"

static amharness *amd;

/* The active alert of Alertmanager named `alertname` for `creator`. */
static int has_alert(amharness *h, const char *alertname, const char *creator)
{
    json_t *all = amharness_alerts(h);
    size_t i;
    json_t *a;
    int found = 0;
    json_array_foreach(all, i, a) {
        json_t *l = json_object_get(a, "labels");
        const char *n = json_string_value(json_object_get(l, "alertname"));
        const char *c = json_string_value(json_object_get(l, "creator_id"));
        if (n && c && strcmp(n, alertname) == 0 && strcmp(c, creator) == 0)
            found = 1;
    }
    json_decref(all);
    return found;
}

static int conflict_and_tier_seen(void *arg)
{
    (void)arg;
    return has_alert(amd, "brand_conflict", "story-conflict") &&
           has_alert(amd, "tier_change", "story-rising");
}

Test(alertmanager, the_daemon_posts_its_alerts, .timeout = 240)
{
    amd = amharness_start();
    cr_assert_not_null(amd);
    char extra[512];
    snprintf(extra, sizeof extra,
             "[conflict]\nbrand.pepsi = beverages\n"
             "brand.coca-cola = beverages\n"
             "[alertmanager]\nurl = %s\n", amharness_url(amd));
    world_up(extra);
    const char *gen = harness_gen_path();
    cr_assert_not_null(gen);
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s -b %s -t " TOPIC " --stories -n 20000 "
             "-c 800 --days 30 --seed 42 --start 2026-10-01T00:00:00Z -q",
             gen, harness_kafka_bootstrap(W.kafka));
    cr_assert_eq(harness_run(cmd, &out), 0, "engaged-gen failed: %s", out);
    free(out);
    char conf[8192];
    snprintf(conf, sizeof conf,
             "%s[checkpoint]\ninterval_ms = 50\nmax_events = 2000\n"
             "[log]\nlevel = notice\n", W.config);
    harness_daemon *d = harness_daemon_start(conf);
    cr_assert_not_null(d);
    int rc = harness_wait(conflict_and_tier_seen, NULL, 90000);
    char *log = harness_daemon_log(d);
    cr_assert_eq(rc, 0, "the alerts did not reach Alertmanager; log:\n%s",
                 log);
    free(log);
    /* A clean stop, the sink's flush included. */
    world_daemon_stop_clean(d);
    world_down();
    amharness_free(amd);
}

/* --- https and basic auth ------------------------------------------------- */

static const amharness_opts tls_auth = {true, "eng", "s3cret pass"};

/* What the daemon of a TLS test runs with. */
typedef struct tls_run {
    harness_daemon *d;
    int http_port;      /* its /metrics */
    char *dir;          /* the password file's */
} tls_run;

/*
 * Alertmanager over https with basic auth; Redis and Kafka; one creator
 * whose follower count moves from nano to mega (a tier_change alert, and a
 * follower_jump); the daemon posting to Alertmanager with `password` and,
 * when with_ca, ca_file = the harness's certificate.
 */
static tls_run tls_up(const char *password, int with_ca)
{
    tls_run r = {0};
    amd = amharness_start_opts(&tls_auth);
    cr_assert_not_null(amd);
    r.dir = harness_tmpdir();
    cr_assert_not_null(r.dir);
    char pwfile[512];
    snprintf(pwfile, sizeof pwfile, "%s/am-password", r.dir);
    cr_assert_eq(harness_write_file(pwfile, password, strlen(password)), 0);
    char extra[2048];
    snprintf(extra, sizeof extra,
             "[alertmanager]\nurl = %s\nbasic_auth_user = eng\n"
             "basic_auth_password_file = %s\nca_file = %s\n",
             amharness_url(amd), pwfile,
             with_ca ? amharness_ca_file(amd) : "");
    world_up(extra);
    oracle_event a = world_engagement("alice", T0, 0, 5);
    a.followers = 7000;
    world_send(a);
    a = world_engagement("alice", T0 + MIN, 0, 5);
    a.followers = 2000000;
    world_send(a);
    r.http_port = harness_free_port();
    cr_assert_gt(r.http_port, 0);
    char listen[128];
    snprintf(listen, sizeof listen, "[http]\nlisten = 127.0.0.1:%d\n",
             r.http_port);
    r.d = world_daemon(listen);
    return r;
}

static void tls_down(tls_run *r)
{
    world_daemon_stop_clean(r->d);
    world_down();
    amharness_free(amd);
    amd = NULL;
    harness_rmtree(r->dir);
    free(r->dir);
}

/* A counter of the daemon's /metrics; -1 when it does not answer. */
static long long daemon_metric(int port, const char *name)
{
    char *text = NULL;
    long long v = -1;
    if (harness_http_get(port, "/metrics", &text) == 200 && text != NULL) {
        char key[128];
        snprintf(key, sizeof key, "\n%s ", name);
        const char *p = strstr(text, key);
        if (p != NULL)
            v = strtoll(p + strlen(key), NULL, 10);
    }
    free(text);
    return v;
}

struct counted {
    int port;
    const char *name;
};

static int counted_once(void *arg)
{
    struct counted *c = arg;
    return daemon_metric(c->port, c->name) >= 1;
}

static int tier_change_seen(void *arg)
{
    (void)arg;
    return has_alert(amd, "tier_change", "alice");
}

/* No alert at all in Alertmanager (read with the right credentials). */
static void assert_none_arrived(void)
{
    json_t *all = amharness_alerts(amd);
    cr_assert_not_null(all, "the harness reads Alertmanager");
    cr_assert_eq(json_array_size(all), 0);
    json_decref(all);
}

/* The daemon goes on: an event sent now reaches Redis. */
static void assert_still_consuming(void)
{
    oracle_event b = world_engagement("bob", T0 + 2 * MIN, 1, 3);
    b.followers = 20000;
    world_send(b);
    world_wait_caught_up(60000);
    cr_assert_eq(world_hget_int("eng:creator:bob", "comments_1h"), 3);
    world_assert_truth();
}

Test(alertmanager, the_daemon_posts_over_https_with_basic_auth,
     .timeout = 120)
{
    tls_run r = tls_up("s3cret pass\n", 1);
    int rc = harness_wait(tier_change_seen, NULL, 60000);
    char *log = harness_daemon_log(r.d);
    cr_assert_eq(rc, 0, "the alert did not reach Alertmanager; log:\n%s",
                 log);
    free(log);
    json_t *all = amharness_alerts(amd);
    json_t *a, *found = NULL;
    size_t i;
    json_array_foreach(all, i, a) {
        json_t *l = json_object_get(a, "labels");
        if (strcmp(json_string_value(json_object_get(l, "alertname")),
                   "tier_change") == 0)
            found = a;
    }
    cr_assert_not_null(found);
    json_t *l = json_object_get(found, "labels");
    cr_assert_str_eq(json_string_value(json_object_get(l, "creator_id")),
                     "alice");
    cr_assert_str_eq(json_string_value(json_object_get(l, "tier")), "mega");
    cr_assert_eq(strlen(json_string_value(json_object_get(l, "alert_id"))),
                 16);
    cr_assert_eq(amharness_time_ms(json_string_value(
                     json_object_get(found, "startsAt"))),
                 T0 + MIN);
    char gen[64];
    snprintf(gen, sizeof gen, "http://127.0.0.1:%d/metrics", r.http_port);
    cr_assert_str_eq(json_string_value(json_object_get(found,
                                                       "generatorURL")),
                     gen);
    json_decref(all);
    struct counted sent = {r.http_port, "engaged_alertmanager_sent_total"};
    cr_assert_eq(harness_wait(counted_once, &sent, 10000), 0);
    cr_assert_eq(daemon_metric(r.http_port,
                               "engaged_alertmanager_failed_total"), 0);
    cr_assert_eq(daemon_metric(r.http_port,
                               "engaged_alertmanager_dropped_total"), 0);
    tls_down(&r);
}

Test(alertmanager, a_wrong_password_delivers_nothing_and_consumption_goes_on,
     .timeout = 120)
{
    tls_run r = tls_up("not the password\n", 1);
    /* 401: the sink drops the batch (a 4xx would be refused again). */
    struct counted dropped = {r.http_port,
                              "engaged_alertmanager_dropped_total"};
    cr_assert_eq(harness_wait(counted_once, &dropped, 60000), 0);
    cr_assert_eq(harness_daemon_wait_log(r.d, "POST answered 401", 10000), 0);
    cr_assert_eq(daemon_metric(r.http_port,
                               "engaged_alertmanager_sent_total"), 0);
    assert_none_arrived();
    assert_still_consuming();
    tls_down(&r);
}

Test(alertmanager, an_untrusted_certificate_delivers_nothing,
     .timeout = 120)
{
    /* No ca_file: the system's store does not hold the self-signed
     * certificate, and the sink never turns verification off. */
    tls_run r = tls_up("s3cret pass\n", 0);
    struct counted failed = {r.http_port,
                             "engaged_alertmanager_failed_total"};
    cr_assert_eq(harness_wait(counted_once, &failed, 60000), 0);
    cr_assert_eq(harness_daemon_wait_log(r.d, "SSL peer certificate", 10000),
                 0);
    cr_assert_eq(daemon_metric(r.http_port,
                               "engaged_alertmanager_sent_total"), 0);
    cr_assert_eq(daemon_metric(r.http_port,
                               "engaged_alertmanager_dropped_total"), 0);
    cr_assert_geq(daemon_metric(r.http_port,
                                "engaged_alertmanager_queue_length"), 1);
    assert_none_arrived();
    assert_still_consuming();
    tls_down(&r);
}

/*
 * Integration tests of the Alertmanager sink (alertmanager.h, issue 18)
 * against a real Alertmanager (tests/amharness.h): alerts pushed are read
 * back from its API v2 with their labels and times, queued alerts arrive
 * after an outage, firing alerts are re-sent, a full queue drops the
 * oldest.
 */
#include "alert.h"
#include "alertmanager.h"
#include "amharness.h"
#include "buf.h"
#include "config.h"
#include "harness.h"
#include "metrics.h"
#include "now.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN INT64_C(60000)

static amharness *amh;
static metrics *m;
static alertmanager *sink;

static void setup(void)
{
    char err[256];
    m = metrics_new("test", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
}

static void teardown(void)
{
    alertmanager_free(sink);
    sink = NULL;
    amharness_free(amh);
    amh = NULL;
    metrics_free(m);
}

TestSuite(alertmanager, .init = setup, .fini = teardown, .timeout = 120);

/* The sink, posting to url with these settings. */
static alertmanager *start_sink(const char *url, int64_t resend_ms,
                                int64_t queue_max)
{
    config *cfg = config_default(NULL);
    cr_assert_not_null(cfg);
    free(cfg->am_url);
    cfg->am_url = strdup(url);
    cfg->am_resend_interval_ms = resend_ms;
    cfg->am_queue_max = queue_max;
    cfg->am_timeout_ms = 2000;
    char err[256];
    alertmanager *am = alertmanager_new(cfg, m, err, sizeof err);
    cr_assert_not_null(am, "%s", err);
    config_free(cfg);
    return am;
}

/* An engagement_decay alert of creator `creator`, as engaged writes it. */
static char *decay_json(const char *creator, uint64_t fp, alert_status st,
                        int64_t starts, int64_t ends)
{
    alert a;
    memset(&a, 0, sizeof a);
    a.kind = ALERT_ENGAGEMENT_DECAY;
    a.status = st;
    a.severity = ALERT_CRITICAL;
    a.fingerprint = fp;
    a.creator_id = creator;
    a.tier = "mega";
    a.starts_at = starts;
    a.ends_at = ends;
    a.decay.current_ms = 24 * 60 * MIN;
    a.decay.baseline_ms = 28 * 24 * 60 * MIN;
    a.decay.current = 180;
    a.decay.expected = 1000;
    a.decay.ratio = 0.18;
    buf b = BUF_INIT;
    cr_assert_eq(alert_json(&a, &b), 0);
    buf_append_byte(&b, 0);
    return b.data;
}

static char *tier_change_json(const char *creator, int64_t ts)
{
    alert a;
    alert_tier_change(&a, creator, "macro", "mega", 1020000, ts);
    a.tier = "mega";
    buf b = BUF_INIT;
    cr_assert_eq(alert_json(&a, &b), 0);
    buf_append_byte(&b, 0);
    return b.data;
}

static void push(char *json)
{
    cr_assert_eq(alertmanager_push(sink, json, strlen(json)), 0);
    free(json);
}

static char *id_of(uint64_t fp)
{
    static char id[ALERT_ID_LEN + 1];
    return alert_id_format(fp, id);
}

/* A counter or gauge of /metrics. */
static unsigned long long metric(const char *name)
{
    buf b = BUF_INIT;
    cr_assert_eq(metrics_render(m, &b), 0);
    buf_append_byte(&b, 0);
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(b.data, key);
    cr_assert_not_null(p, "%s not in /metrics", name);
    unsigned long long v = strtoull(p + strlen(key), NULL, 10);
    buf_free(&b);
    return v;
}

/* --- conditions polled ---------------------------------------------------- */

struct seen {
    const char *id;
    long long ends_at;   /* wait for this endsAt; 0: any; -1: gone */
    long long after;     /* or an endsAt later than this (when > 0) */
};

static int alert_seen(void *arg)
{
    struct seen *s = arg;
    json_t *a = amharness_find(amh, s->id);
    int ok;
    if (s->ends_at < 0) {
        ok = a == NULL;
    } else if (a == NULL) {
        ok = 0;
    } else {
        long long ends = amharness_time_ms(
            json_string_value(json_object_get(a, "endsAt")));
        ok = s->after > 0   ? ends > s->after
             : s->ends_at  ? ends == s->ends_at
                           : 1;
    }
    json_decref(a);
    return ok;
}

static void wait_alert(const char *id, long long ends_at, long long after,
                       int timeout_ms)
{
    struct seen s = {id, ends_at, after};
    cr_assert_eq(harness_wait(alert_seen, &s, timeout_ms), 0,
                 "alert %s (endsAt %lld, after %lld) not in Alertmanager",
                 id, ends_at, after);
}

/* Nothing queued or in flight: the last batch's answer was counted. */
static int drained(void *arg)
{
    (void)arg;
    return alertmanager_pending(sink) == 0;
}

static int sent_twice(void *arg)
{
    (void)arg;
    return metric("engaged_alertmanager_sent_total") >= 2;
}

static int failed_once(void *arg)
{
    (void)arg;
    return metric("engaged_alertmanager_failed_total") >= 1;
}

/* --- tests ---------------------------------------------------------------- */

Test(alertmanager, firing_then_resolved_show_with_labels_and_times)
{
    amh = amharness_start();
    cr_assert_not_null(amh);
    sink = start_sink(amharness_url(amh), 60000, 100);
    int64_t now = now_wall_ms() / 1000 * 1000;
    int64_t starts = now - 10 * MIN;
    uint64_t fp = 0x1111222233334444u;
    push(decay_json("c42", fp, ALERT_FIRING, starts, 0));
    wait_alert(id_of(fp), 0, 0, 10000);

    json_t *a = amharness_find(amh, id_of(fp));
    json_t *l = json_object_get(a, "labels");
    cr_assert_str_eq(json_string_value(json_object_get(l, "alertname")),
                     "engagement_decay");
    cr_assert_str_eq(json_string_value(json_object_get(l, "creator_id")),
                     "c42");
    cr_assert_str_eq(json_string_value(json_object_get(l, "tier")), "mega");
    cr_assert_str_eq(json_string_value(json_object_get(l, "severity")),
                     "critical");
    cr_assert_eq(json_object_size(l), 5);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(a, "annotations"), "summary")),
                     "c42 (mega): engagement over 24h is 18% of its 28d "
                     "baseline");
    cr_assert_eq(amharness_time_ms(
                     json_string_value(json_object_get(a, "startsAt"))),
                 starts);
    /* Firing: four resend intervals after it was posted. */
    long long ends = amharness_time_ms(
        json_string_value(json_object_get(a, "endsAt")));
    cr_assert(ends >= now + 4 * MIN && ends <= now_wall_ms() + 4 * MIN,
              "endsAt %lld, now %lld", ends, (long long)now);
    json_decref(a);

    /* Resolved, with an ends_at still ahead so that Alertmanager keeps
     * showing it: endsAt becomes exactly the alert's ends_at. */
    int64_t resolved_at = now + 30 * MIN;
    push(decay_json("c42", fp, ALERT_RESOLVED, starts, resolved_at));
    wait_alert(id_of(fp), resolved_at, 0, 10000);
    /* Resolved in the past: Alertmanager no longer lists it as active. */
    push(decay_json("c42", fp, ALERT_RESOLVED, starts, now - MIN));
    wait_alert(id_of(fp), -1, 0, 10000);
    cr_assert_eq(harness_wait(drained, NULL, 10000), 0);
    cr_assert_eq(metric("engaged_alertmanager_sent_total"), 3);
    cr_assert_eq(metric("engaged_alertmanager_failed_total"), 0);
    cr_assert_eq(metric("engaged_alertmanager_dropped_total"), 0);
    cr_assert_eq(metric("engaged_alertmanager_queue_length"), 0);
}

Test(alertmanager, queued_alerts_arrive_when_alertmanager_returns)
{
    amh = amharness_start();
    cr_assert_not_null(amh);
    sink = start_sink(amharness_url(amh), 60000, 100);
    cr_assert_eq(amharness_stop(amh), 0);
    int64_t now = now_wall_ms();
    push(tier_change_json("c1", now - MIN));
    cr_assert_eq(harness_wait(failed_once, NULL, 10000), 0);
    push(tier_change_json("c2", now - MIN));
    push(decay_json("c3", 0x3333u, ALERT_FIRING, now - MIN, 0));
    cr_assert_eq(alertmanager_pending(sink), 3);
    cr_assert_eq(amharness_restart(amh), 0);

    char id1[ALERT_ID_LEN + 1], id2[ALERT_ID_LEN + 1];
    alert_id_format(alert_tier_change_fingerprint("c1", 2, "macro", "mega",
                                                  now - MIN), id1);
    alert_id_format(alert_tier_change_fingerprint("c2", 2, "macro", "mega",
                                                  now - MIN), id2);
    wait_alert(id1, 0, 0, 40000);
    wait_alert(id2, 0, 0, 40000);
    wait_alert(id_of(0x3333u), 0, 0, 40000);
    cr_assert_eq(harness_wait(drained, NULL, 10000), 0);
    cr_assert_eq(metric("engaged_alertmanager_sent_total"), 3);
    cr_assert_geq(metric("engaged_alertmanager_failed_total"), 1);
    cr_assert_eq(metric("engaged_alertmanager_dropped_total"), 0);
    cr_assert_eq(alertmanager_pending(sink), 0);
}

Test(alertmanager, firing_alerts_are_resent_with_a_later_end)
{
    amh = amharness_start();
    cr_assert_not_null(amh);
    sink = start_sink(amharness_url(amh), 1000, 100);
    uint64_t fp = 0x5555u;
    push(decay_json("c5", fp, ALERT_FIRING, now_wall_ms() - MIN, 0));
    wait_alert(id_of(fp), 0, 0, 10000);
    json_t *a = amharness_find(amh, id_of(fp));
    long long first = amharness_time_ms(
        json_string_value(json_object_get(a, "endsAt")));
    json_decref(a);
    /* Re-sent every second: endsAt moves forward. */
    wait_alert(id_of(fp), 0, first, 10000);
    cr_assert_eq(harness_wait(sent_twice, NULL, 10000), 0,
                 "the re-send counted as sent");
    /* Once resolved, it is no longer re-sent: its endsAt stays. */
    int64_t resolved_at = now_wall_ms() + 30 * MIN;
    push(decay_json("c5", fp, ALERT_RESOLVED, now_wall_ms() - MIN,
                    resolved_at));
    wait_alert(id_of(fp), resolved_at, 0, 10000);
    /* Alertmanager may show the batch before its answer reached the sink
     * and was counted. */
    cr_assert_eq(harness_wait(drained, NULL, 10000), 0);
    unsigned long long sent = metric("engaged_alertmanager_sent_total");
    /* Two resend intervals without a resend (a condition cannot show an
     * absence: this one waits). */
    usleep(2500 * 1000);
    cr_assert_eq(metric("engaged_alertmanager_sent_total"), sent);
    wait_alert(id_of(fp), resolved_at, 0, 1000);
}

Test(alertmanager, a_full_queue_drops_the_oldest)
{
    /* Nothing listens there: every POST fails. */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", harness_free_port());
    sink = start_sink(url, 60000, 2);
    int64_t now = now_wall_ms();
    push(tier_change_json("c0", now));
    /* c0 is in the batch being retried; the queue takes two more. */
    cr_assert_eq(harness_wait(failed_once, NULL, 10000), 0);
    for (int i = 1; i <= 4; i++) {
        char c[8];
        snprintf(c, sizeof c, "c%d", i);
        push(tier_change_json(c, now));
    }
    cr_assert_eq(metric("engaged_alertmanager_dropped_total"), 2);
    cr_assert_eq(metric("engaged_alertmanager_queue_length"), 3);
    cr_assert_eq(alertmanager_pending(sink), 3);
    /* Stopping with nothing reachable: the three are dropped too. */
    alertmanager_stop(sink, 100);
    cr_assert_eq(metric("engaged_alertmanager_dropped_total"), 5);
    cr_assert_eq(metric("engaged_alertmanager_queue_length"), 0);
}

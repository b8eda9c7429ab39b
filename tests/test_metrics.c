/*
 * Tests of metrics: every family rendered, checked by the real Prometheus
 * parser (tests/promparse.py); label escaping; the histogram's buckets; the
 * partition table's capacity and removal; liveness and readiness; and
 * counters updated by one thread while another renders.
 */
#include "metrics.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "event.h"
#include "prom.h"

TestSuite(metrics);

static int64_t now_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static metrics *new_metrics(void)
{
    char err[256] = "";
    metrics *m = metrics_new("1.2.3-test", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    return m;
}

/* Renders m and parses it; the listing is owned by the caller. */
static char *scrape(const metrics *m, buf *text)
{
    buf_reset(text);
    cr_assert_eq(metrics_render(m, text), 0);
    char *listing = prom_parse(text->data, text->len);
    cr_assert_not_null(listing, "the parser refused:\n%.*s", (int)text->len,
                       text->data);
    return listing;
}

#define HAS(listing, line)                                                    \
    cr_assert(prom_has_line(listing, line), "missing line: %s\nin:\n%s", line, \
              listing)
#define HASNT(listing, line)                                                   \
    cr_assert(!prom_has_line(listing, line), "unexpected line: %s\nin:\n%s",   \
              line, listing)

Test(metrics, fresh_registry_exports_every_fixed_family_at_zero)
{
    metrics *m = new_metrics();
    buf text = BUF_INIT;
    char *l = scrape(m, &text);
    static const char *const types[] = {
        "TYPE engaged_events counter",
        "TYPE engaged_dlq_messages counter",
        "TYPE engaged_alerts counter",
        "TYPE engaged_conflict_checks_skipped counter",
        "TYPE engaged_checkpoints counter",
        "TYPE engaged_checkpoint_duration_seconds histogram",
        "TYPE engaged_consumer_lag gauge",
        "TYPE engaged_watermark_seconds gauge",
        "TYPE engaged_creators gauge",
        "TYPE engaged_state_bytes gauge",
        "TYPE engaged_redis_errors counter",
        "TYPE engaged_redis_reconnects counter",
        "TYPE engaged_kafka_errors counter",
        "TYPE engaged_build_info gauge",
        "TYPE engaged_up gauge",
        "TYPE engaged_start_time_seconds gauge",
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        HAS(l, types[i]);
    cr_assert_null(strstr(l, " unknown\n"), "an untyped family:\n%s", l);
    HAS(l, "engaged_events_total{result=\"ok\",type=\"engagement\"} 0");
    HAS(l, "engaged_events_total{result=\"refused\",type=\"followers\"} 0");
    HAS(l, "engaged_events_total{result=\"refused\",type=\"unknown\"} 0");
    HASNT(l, "engaged_events_total{result=\"ok\",type=\"unknown\"} 0");
    HAS(l, "engaged_dlq_messages_total{reason=\"key_mismatch\"} 0");
    HAS(l, "engaged_alerts_total{kind=\"tier_change\",status=\"resolved\"} 0");
    HAS(l, "engaged_checkpoints_total{result=\"fenced\"} 0");
    HAS(l, "engaged_checkpoint_duration_seconds_bucket{le=\"+Inf\"} 0");
    HAS(l, "engaged_checkpoint_duration_seconds_count{} 0");
    HAS(l, "engaged_build_info{version=\"1.2.3-test\"} 1");
    HAS(l, "engaged_up{} 1");
    HAS(l, "engaged_creators{} 0");
    cr_assert_null(strstr(l, "engaged_consumer_lag{"), "%s", l);
    /* Every family has its HELP line, right before its TYPE line. */
    for (const char *p = text.data; (p = strstr(p, "# TYPE ")) != NULL; p++) {
        cr_assert(p > text.data + 7, "TYPE without HELP");
        const char *q = p - 1;
        while (q > text.data && q[-1] != '\n')
            q--;
        cr_assert(strncmp(q, "# HELP ", 7) == 0, "no HELP before %.40s", p);
    }
    free(l);
    buf_free(&text);
    metrics_free(m);
}

Test(metrics, counters_count_what_they_are_told)
{
    metrics *m = new_metrics();
    for (int i = 0; i < 3; i++)
        metrics_event(m, EVENT_ENGAGEMENT, false);
    metrics_event(m, EVENT_POST, false);
    metrics_event(m, EVENT_POST, true);
    metrics_event(m, EVENT_FOLLOWERS, false);
    metrics_event(m, METRICS_EVENT_UNKNOWN, true);
    metrics_event(m, METRICS_EVENT_UNKNOWN, false); /* counted as refused */
    metrics_event(m, 42, true);                      /* out of range: unknown */
    metrics_dlq(m, EVENT_ERR_INVALID_JSON);
    metrics_dlq(m, EVENT_ERR_INVALID_JSON);
    metrics_dlq(m, EVENT_ERR_TOO_LATE);
    metrics_dlq(m, EVENT_OK);          /* ignored */
    metrics_dlq(m, EVENT_ERR_COUNT);   /* ignored */
    metrics_alert(m, METRICS_ALERT_ENGAGEMENT_DECAY, METRICS_ALERT_FIRING);
    metrics_alert(m, METRICS_ALERT_ENGAGEMENT_DECAY, METRICS_ALERT_RESOLVED);
    metrics_alert(m, METRICS_ALERT_BRAND_CONFLICT, METRICS_ALERT_FIRING);
    metrics_alert(m, METRICS_ALERT_TIER_CHANGE, METRICS_ALERT_FIRING);
    metrics_alert(m, METRICS_ALERT_TIER_CHANGE, METRICS_ALERT_FIRING);
    metrics_conflict_check_skipped(m);
    metrics_redis_error(m);
    metrics_redis_error(m);
    metrics_redis_reconnect(m);
    metrics_kafka_error(m);
    metrics_set_creators(m, 12345);
    metrics_set_state_bytes(m, 987654321);
    cr_assert_eq(metrics_events_total(m), 9);

    buf text = BUF_INIT;
    char *l = scrape(m, &text);
    HAS(l, "engaged_events_total{result=\"ok\",type=\"engagement\"} 3");
    HAS(l, "engaged_events_total{result=\"refused\",type=\"engagement\"} 0");
    HAS(l, "engaged_events_total{result=\"ok\",type=\"post\"} 1");
    HAS(l, "engaged_events_total{result=\"refused\",type=\"post\"} 1");
    HAS(l, "engaged_events_total{result=\"ok\",type=\"followers\"} 1");
    HAS(l, "engaged_events_total{result=\"refused\",type=\"unknown\"} 3");
    HAS(l, "engaged_dlq_messages_total{reason=\"invalid_json\"} 2");
    HAS(l, "engaged_dlq_messages_total{reason=\"invalid_event\"} 0");
    HAS(l, "engaged_dlq_messages_total{reason=\"too_large\"} 0");
    HAS(l, "engaged_dlq_messages_total{reason=\"too_late\"} 1");
    HAS(l, "engaged_dlq_messages_total{reason=\"key_mismatch\"} 0");
    HAS(l, "engaged_alerts_total{kind=\"engagement_decay\",status=\"firing\"} 1");
    HAS(l, "engaged_alerts_total{kind=\"engagement_decay\",status=\"resolved\"} 1");
    HAS(l, "engaged_alerts_total{kind=\"brand_conflict\",status=\"firing\"} 1");
    HAS(l, "engaged_alerts_total{kind=\"brand_conflict\",status=\"resolved\"} 0");
    HAS(l, "engaged_alerts_total{kind=\"tier_change\",status=\"firing\"} 2");
    HAS(l, "engaged_conflict_checks_skipped_total{} 1");
    HAS(l, "engaged_redis_errors_total{} 2");
    HAS(l, "engaged_redis_reconnects_total{} 1");
    HAS(l, "engaged_kafka_errors_total{} 1");
    HAS(l, "engaged_creators{} 12345");
    HAS(l, "engaged_state_bytes{} 987654321");
    free(l);
    buf_free(&text);
    metrics_free(m);
}

Test(metrics, checkpoint_histogram_buckets_are_cumulative)
{
    metrics *m = new_metrics();
    metrics_checkpoint(m, METRICS_CHECKPOINT_OK, 0.0005);
    metrics_checkpoint(m, METRICS_CHECKPOINT_OK, 0.001);  /* le is inclusive */
    metrics_checkpoint(m, METRICS_CHECKPOINT_OK, 0.003);
    metrics_checkpoint(m, METRICS_CHECKPOINT_ERROR, 0.2);
    metrics_checkpoint(m, METRICS_CHECKPOINT_FENCED, 30.0);
    metrics_checkpoint(m, METRICS_CHECKPOINT_OK, -1.0);   /* counts as 0 */
    buf text = BUF_INIT;
    char *l = scrape(m, &text);
    HAS(l, "engaged_checkpoints_total{result=\"ok\"} 4");
    HAS(l, "engaged_checkpoints_total{result=\"error\"} 1");
    HAS(l, "engaged_checkpoints_total{result=\"fenced\"} 1");
    HAS(l, "engaged_checkpoint_duration_seconds_bucket{le=\"0.001\"} 3");
    HAS(l, "engaged_checkpoint_duration_seconds_bucket{le=\"0.0025\"} 3");
    HAS(l, "engaged_checkpoint_duration_seconds_bucket{le=\"0.005\"} 4");
    HAS(l, "engaged_checkpoint_duration_seconds_bucket{le=\"0.1\"} 4");
    HAS(l, "engaged_checkpoint_duration_seconds_bucket{le=\"0.25\"} 5");
    HAS(l, "engaged_checkpoint_duration_seconds_bucket{le=\"10\"} 5");
    HAS(l, "engaged_checkpoint_duration_seconds_bucket{le=\"+Inf\"} 6");
    HAS(l, "engaged_checkpoint_duration_seconds_count{} 6");
    HAS(l, "engaged_checkpoint_duration_seconds_sum{} 30.2045");
    free(l);
    buf_free(&text);
    metrics_free(m);
}

Test(metrics, partitions_are_exported_until_removed)
{
    metrics *m = new_metrics();
    cr_assert_eq(metrics_partition_set(m, "engagement.events", 0, 5,
                                       INT64_C(1700000000123)), 0);
    cr_assert_eq(metrics_partition_set(m, "engagement.events", 1,
                                       METRICS_NO_LAG, INT64_C(1700000001000)),
                 0);
    cr_assert_eq(metrics_partition_set(m, "engagement.backfill", 0, 0,
                                       METRICS_NO_WATERMARK), 0);
    /* Setting again updates in place. */
    cr_assert_eq(metrics_partition_set(m, "engagement.events", 0, 7,
                                       INT64_C(1700000000500)), 0);
    buf text = BUF_INIT;
    char *l = scrape(m, &text);
    HAS(l, "engaged_consumer_lag{partition=\"0\",topic=\"engagement.events\"} 7");
    HAS(l, "engaged_watermark_seconds{partition=\"0\",topic=\"engagement.events\"} 1700000000.5");
    HASNT(l, "engaged_consumer_lag{partition=\"1\",topic=\"engagement.events\"} -1");
    cr_assert_null(strstr(l, "engaged_consumer_lag{partition=\"1\""), "%s", l);
    HAS(l, "engaged_watermark_seconds{partition=\"1\",topic=\"engagement.events\"} 1700000001");
    HAS(l, "engaged_consumer_lag{partition=\"0\",topic=\"engagement.backfill\"} 0");
    cr_assert_null(strstr(l, "engaged_watermark_seconds{partition=\"0\",topic=\"engagement.backfill\"}"),
                   "%s", l);
    free(l);

    metrics_partition_remove(m, "engagement.events", 0);
    metrics_partition_remove(m, "no.such.topic", 3); /* ignored */
    l = scrape(m, &text);
    cr_assert_null(strstr(l, "partition=\"0\",topic=\"engagement.events\""),
                   "%s", l);
    HAS(l, "engaged_watermark_seconds{partition=\"1\",topic=\"engagement.events\"} 1700000001");
    free(l);
    buf_free(&text);
    metrics_free(m);
}

Test(metrics, label_values_are_escaped)
{
    char err[256];
    metrics *m = metrics_new("v\"1\\2\n3", err, sizeof err);
    cr_assert_not_null(m);
    cr_assert_eq(metrics_partition_set(m, "we\"ird\\topic\nname", 2, 1, 0), 0);
    buf text = BUF_INIT;
    cr_assert_eq(metrics_render(m, &text), 0);
    buf_append_byte(&text, 0);
    cr_assert_not_null(strstr(text.data, "engaged_build_info{version=\"v\\\"1\\\\2\\n3\"} 1\n"),
                       "%s", text.data);
    text.len--;
    char *l = scrape(m, &text);
    HAS(l, "engaged_build_info{version=\"v\\\"1\\\\2\\n3\"} 1");
    HAS(l, "engaged_consumer_lag{partition=\"2\",topic=\"we\\\"ird\\\\topic\\nname\"} 1");
    HAS(l, "engaged_watermark_seconds{partition=\"2\",topic=\"we\\\"ird\\\\topic\\nname\"} 0");
    free(l);
    buf_free(&text);
    metrics_free(m);
}

Test(metrics, partition_table_has_a_fixed_capacity)
{
    metrics *m = new_metrics();
    char topic[32];
    for (int i = 0; i < METRICS_PARTITIONS_MAX; i++)
        cr_assert_eq(metrics_partition_set(m, "t", i, i, 0), 0);
    cr_assert_eq(metrics_partition_set(m, "t", METRICS_PARTITIONS_MAX, 0, 0), -1);
    cr_assert_eq(metrics_partition_set(m, "t", 17, 99, 0), 0, "update when full");
    metrics_partition_remove(m, "t", 5);
    snprintf(topic, sizeof topic, "other");
    cr_assert_eq(metrics_partition_set(m, topic, 0, 1, 0), 0);
    char longname[METRICS_TOPIC_MAX + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    cr_assert_eq(metrics_partition_set(m, longname, 0, 1, 0), -1);
    buf text = BUF_INIT;
    char *l = scrape(m, &text);
    HAS(l, "engaged_consumer_lag{partition=\"17\",topic=\"t\"} 99");
    HAS(l, "engaged_consumer_lag{partition=\"0\",topic=\"other\"} 1");
    cr_assert_null(strstr(l, "partition=\"5\",topic=\"t\""));
    free(l);
    buf_free(&text);
    metrics_free(m);
}

Test(metrics, start_time_is_the_wall_clock_at_creation)
{
    int64_t before = now_ms(CLOCK_REALTIME);
    metrics *m = new_metrics();
    int64_t after = now_ms(CLOCK_REALTIME);
    buf text = BUF_INIT;
    cr_assert_eq(metrics_render(m, &text), 0);
    buf_append_byte(&text, 0);
    const char *p = strstr(text.data, "\nengaged_start_time_seconds ");
    cr_assert_not_null(p);
    double t = strtod(p + strlen("\nengaged_start_time_seconds "), NULL);
    cr_assert(t * 1000 >= (double)before - 1 && t * 1000 <= (double)after + 1,
              "%f not in [%lld, %lld] ms", t, (long long)before,
              (long long)after);
    buf_free(&text);
    metrics_free(m);
}

Test(metrics, liveness_follows_the_heartbeat)
{
    metrics *m = new_metrics();
    int64_t now = now_ms(CLOCK_MONOTONIC);
    int64_t age;
    cr_assert(metrics_alive(m, now, &age), "alive from creation");
    cr_assert(age >= 0 && age < 1000);
    metrics_heartbeat(m, now - 10000);
    cr_assert(metrics_alive(m, now, &age));
    cr_assert_eq(age, 10000);
    metrics_heartbeat(m, now - 10001);
    cr_assert_not(metrics_alive(m, now, NULL));
    /* 3 x a 5 s watchdog interval: 15 s. */
    metrics_set_watchdog_interval(m, 5000);
    cr_assert(metrics_alive(m, now, NULL));
    metrics_heartbeat(m, now - 15001);
    cr_assert_not(metrics_alive(m, now, NULL));
    /* Shorter intervals keep the 10 s floor. */
    metrics_set_watchdog_interval(m, 1000);
    metrics_heartbeat(m, now - 9000);
    cr_assert(metrics_alive(m, now, NULL));
    metrics_set_watchdog_interval(m, 0);
    cr_assert(metrics_alive(m, now, NULL));
    metrics_free(m);
}

Test(metrics, readiness_is_what_the_loop_says)
{
    metrics *m = new_metrics();
    cr_assert_not(metrics_ready(m));
    metrics_set_ready(m, true);
    cr_assert(metrics_ready(m));
    metrics_set_ready(m, false);
    cr_assert_not(metrics_ready(m));
    metrics_free(m);
}

#define WRITES 200000

static void *writer(void *arg)
{
    metrics *m = arg;
    for (int i = 0; i < WRITES; i++) {
        metrics_event(m, EVENT_ENGAGEMENT, false);
        metrics_checkpoint(m, METRICS_CHECKPOINT_OK, 0.002);
        if (i % 100 == 0) {
            metrics_partition_set(m, "churn", i % 7, i, (int64_t)i * 1000);
            metrics_partition_remove(m, "churn", (i + 3) % 7);
        }
    }
    return NULL;
}

Test(metrics, rendering_while_the_main_thread_counts)
{
    metrics *m = new_metrics();
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, writer, m), 0);
    buf text = BUF_INIT;
    uint64_t last = 0;
    for (int i = 0; i < 200; i++) {
        buf_reset(&text);
        cr_assert_eq(metrics_render(m, &text), 0);
        buf_append_byte(&text, 0);
        const char *p = strstr(text.data,
                               "engaged_events_total{type=\"engagement\",result=\"ok\"} ");
        cr_assert_not_null(p);
        uint64_t v = strtoull(strchr(p, '}') + 2, NULL, 10);
        cr_assert(v >= last, "a counter went backwards: %llu < %llu",
                  (unsigned long long)v, (unsigned long long)last);
        last = v;
        /* +Inf and _count come from the same reads. */
        const char *inf = strstr(text.data, "le=\"+Inf\"} ");
        const char *cnt = strstr(text.data, "_seconds_count ");
        cr_assert(inf && cnt);
        cr_assert_eq(strtoull(inf + strlen("le=\"+Inf\"} "), NULL, 10),
                     strtoull(cnt + strlen("_seconds_count "), NULL, 10));
    }
    pthread_join(t, NULL);
    char *l = scrape(m, &text);
    char want[128];
    snprintf(want, sizeof want,
             "engaged_events_total{result=\"ok\",type=\"engagement\"} %d", WRITES);
    HAS(l, want);
    snprintf(want, sizeof want, "engaged_checkpoint_duration_seconds_count{} %d",
             WRITES);
    HAS(l, want);
    free(l);
    buf_free(&text);
    metrics_free(m);
}

/* Every series the Grafana dashboard queries is one engaged exports. */
Test(metrics, the_grafana_dashboard_queries_only_exported_series)
{
    const char *root = getenv("ENGAGED_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/config/grafana-dashboard.json",
             root ? root : ".");
    json_error_t jerr;
    json_t *dash = json_load_file(path, 0, &jerr);
    cr_assert_not_null(dash, "%s: %s", path, jerr.text);
    char err[256];
    metrics *m = metrics_new("test", err, sizeof err);
    buf out = BUF_INIT;
    cr_assert_eq(metrics_render(m, &out), 0);
    buf_append_byte(&out, 0);
    size_t i, checked = 0;
    json_t *panel;
    json_array_foreach(json_object_get(dash, "panels"), i, panel) {
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(panel, "targets"), k, t) {
            const char *expr = json_string_value(json_object_get(t, "expr"));
            cr_assert_not_null(expr);
            for (const char *p = strstr(expr, "engaged_"); p;
                 p = strstr(p + 1, "engaged_")) {
                size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
                char name[128], type[160];
                snprintf(name, sizeof name, "\n%.*s", (int)n, p);
                /* Per-partition series have no sample before partitions
                 * are assigned, but their family is always declared. */
                snprintf(type, sizeof type, "# TYPE %.*s ", (int)n, p);
                cr_assert(strstr(out.data, name) != NULL ||
                              strstr(out.data, type) != NULL,
                          "panel \"%s\" queries %s, which is not exported",
                          json_string_value(json_object_get(panel, "title")),
                          name + 1);
                checked++;
            }
        }
    }
    cr_assert_gt(checked, 15);
    buf_free(&out);
    metrics_free(m);
    json_decref(dash);
}

Test(metrics, the_tier_share_is_exported_as_set_and_replaced_whole)
{
    metrics *m = new_metrics();
    buf text = BUF_INIT;
    char *l = scrape(m, &text);
    HAS(l, "TYPE engaged_tier_creators gauge");
    HAS(l, "TYPE engaged_tier_followers gauge");
    HAS(l, "TYPE engaged_tier_engagements gauge");
    cr_assert_null(strstr(l, "engaged_tier_creators{"), "no sample yet:\n%s",
                   l);
    free(l);

    const char *tiers[3] = {"unknown", "micro", "mega"};
    const char *windows[2] = {"1h", "7d"};
    int64_t cells[3 * 4] = {4, 0, 12, 340,
                            2, 35000, -1, 9007199254740993,
                            0, 0, 0, 0};
    cr_assert_eq(metrics_set_tiers(m, tiers, 3, windows, 2, cells), 0);
    l = scrape(m, &text);
    HAS(l, "engaged_tier_creators{tier=\"unknown\"} 4");
    HAS(l, "engaged_tier_creators{tier=\"micro\"} 2");
    HAS(l, "engaged_tier_creators{tier=\"mega\"} 0");
    HAS(l, "engaged_tier_followers{tier=\"micro\"} 35000");
    HAS(l, "engaged_tier_followers{tier=\"unknown\"} 0");
    HAS(l, "engaged_tier_engagements{tier=\"unknown\",window=\"1h\"} 12");
    HAS(l, "engaged_tier_engagements{tier=\"unknown\",window=\"7d\"} 340");
    HAS(l, "engaged_tier_engagements{tier=\"micro\",window=\"1h\"} -1");
    HAS(l, "engaged_tier_engagements{tier=\"mega\",window=\"7d\"} 0");
    /* Beyond a double's 2^53 the parser rounds; the text is exact. */
    cr_assert_not_null(strstr(text.data, "engaged_tier_engagements{tier=\"micro\","
                                         "window=\"7d\"} 9007199254740993\n"));
    free(l);

    /* Replaced whole: fewer tiers, one window; the old rows are gone. */
    int64_t less[1 * 3] = {7, 70, 700};
    cr_assert_eq(metrics_set_tiers(m, tiers + 1, 1, windows + 1, 1, less), 0);
    l = scrape(m, &text);
    HAS(l, "engaged_tier_creators{tier=\"micro\"} 7");
    HAS(l, "engaged_tier_followers{tier=\"micro\"} 70");
    HAS(l, "engaged_tier_engagements{tier=\"micro\",window=\"7d\"} 700");
    cr_assert_null(strstr(l, "tier=\"unknown\""), "%s", l);
    cr_assert_null(strstr(l, "window=\"1h\""), "%s", l);
    free(l);

    /* Over the capacity: refused, nothing changes. */
    const char *many[METRICS_TIERS_MAX + 1];
    for (size_t i = 0; i <= METRICS_TIERS_MAX; i++)
        many[i] = "t";
    int64_t big[(METRICS_TIERS_MAX + 1) * 3] = {0};
    cr_assert_eq(metrics_set_tiers(m, many, METRICS_TIERS_MAX + 1, windows, 1,
                                   big), -1);
    const char *longname[1] = {"a_tier_name_of_thirty_three_bytes"};
    cr_assert_eq(metrics_set_tiers(m, longname, 1, windows, 1, big), -1);
    l = scrape(m, &text);
    HAS(l, "engaged_tier_creators{tier=\"micro\"} 7");
    free(l);
    buf_free(&text);
    metrics_free(m);
}

/*
 * Unit tests of amalert: alerts as alert_json() writes them, turned into
 * Alertmanager postable alerts, compared byte for byte.
 */
#include "alert.h"
#include "amalert.h"
#include "buf.h"

#include <criterion/criterion.h>
#include <string.h>

#define T0 INT64_C(1795163400000)   /* 2026-11-20T08:30:00Z */
#define MIN INT64_C(60000)

/* The JSON of *a, as engaged sends it; a static buffer. */
static const char *json_of(const alert *a)
{
    static buf b;
    buf_free(&b);
    cr_assert_eq(alert_json(a, &b), 0);
    buf_append_byte(&b, 0);
    return b.data;
}

static void decay(alert *a, alert_status status)
{
    memset(a, 0, sizeof *a);
    a->kind = ALERT_ENGAGEMENT_DECAY;
    a->status = status;
    a->severity = ALERT_CRITICAL;
    a->fingerprint = 0x9f3c2a7b1d4e8f60u;
    a->creator_id = "c42";
    a->tier = "mega";
    a->starts_at = T0;
    a->ends_at = T0 + 90 * MIN;
    a->decay.current_ms = 24 * 60 * MIN;
    a->decay.baseline_ms = 28 * 24 * 60 * MIN;
    a->decay.current = 180;
    a->decay.expected = 1000;
    a->decay.ratio = 0.18;
}

/* The postable of json at now with a 4m validity, as a string. */
static char *postable(const char *json, int64_t now, const char *gen)
{
    buf b = BUF_INIT;
    char err[256];
    cr_assert_eq(amalert_postable(json, strlen(json), now, 4 * MIN, gen, &b,
                                  err, sizeof err),
                 0, "%s", err);
    buf_append_byte(&b, 0);
    return b.data;
}

Test(amalert, firing_decay_ends_a_validity_after_now)
{
    alert a;
    decay(&a, ALERT_FIRING);
    char *got = postable(json_of(&a), T0 + 10 * MIN,
                         "http://127.0.0.1:9187/metrics");
    cr_assert_str_eq(got,
        "{\"labels\":{\"alertname\":\"engagement_decay\",\"creator_id\":"
        "\"c42\",\"tier\":\"mega\",\"severity\":\"critical\",\"alert_id\":"
        "\"9f3c2a7b1d4e8f60\"},\"annotations\":{\"summary\":\"c42 (mega): "
        "engagement over 24h is 18% of its 28d baseline\",\"details\":"
        "\"{\\\"current_window\\\":\\\"24h\\\",\\\"baseline_window\\\":"
        "\\\"28d\\\",\\\"current\\\":180,\\\"expected\\\":1000.0,"
        "\\\"ratio\\\":0.18}\"},\"startsAt\":\"2026-11-20T08:30:00Z\","
        "\"endsAt\":\"2026-11-20T08:44:00Z\",\"generatorURL\":"
        "\"http://127.0.0.1:9187/metrics\"}");
    free(got);
}

Test(amalert, resolved_decay_ends_at_its_ends_at)
{
    alert a;
    decay(&a, ALERT_RESOLVED);
    a.decay.current = 750;
    a.decay.ratio = 0.75;
    char *got = postable(json_of(&a), T0 + 999 * MIN, NULL);
    cr_assert_str_eq(got,
        "{\"labels\":{\"alertname\":\"engagement_decay\",\"creator_id\":"
        "\"c42\",\"tier\":\"mega\",\"severity\":\"critical\",\"alert_id\":"
        "\"9f3c2a7b1d4e8f60\"},\"annotations\":{\"summary\":\"c42 (mega): "
        "engagement over 24h is back to 75% of its 28d baseline\","
        "\"details\":\"{\\\"current_window\\\":\\\"24h\\\","
        "\\\"baseline_window\\\":\\\"28d\\\",\\\"current\\\":750,"
        "\\\"expected\\\":1000.0,\\\"ratio\\\":0.75}\"},\"startsAt\":"
        "\"2026-11-20T08:30:00Z\",\"endsAt\":\"2026-11-20T10:00:00Z\"}");
    free(got);
}

Test(amalert, an_alert_from_the_future_still_ends_after_it_starts)
{
    alert a;
    decay(&a, ALERT_FIRING);
    /* The wall clock 30 minutes behind event time (max_future). */
    char *got = postable(json_of(&a), T0 - 30 * MIN, "");
    cr_assert(strstr(got, "\"startsAt\":\"2026-11-20T08:30:00Z\","
                          "\"endsAt\":\"2026-11-20T08:34:00Z\"}") != NULL,
              "%s", got);
    free(got);
}

Test(amalert, brand_conflict_has_the_sector_label_and_is_one_shot)
{
    alert a;
    memset(&a, 0, sizeof a);
    a.kind = ALERT_BRAND_CONFLICT;
    a.status = ALERT_FIRING;
    a.severity = ALERT_WARNING;
    a.fingerprint = 0x0123456789abcdefu;
    a.creator_id = "c7";
    a.tier = "mid";
    a.starts_at = T0;
    a.conflict.sector = "beverages";
    a.conflict.brands[0] = "pepsi";
    a.conflict.brands[1] = "coca-cola";
    a.conflict.post_ids[0] = "p1";
    a.conflict.post_ids[1] = "p2";
    a.conflict.window_ms = 90 * 24 * 60 * MIN;
    a.conflict.apart_ms = 10 * 24 * 60 * MIN;
    const char *json = json_of(&a);
    char *got = postable(json, T0, "http://engaged.example/");
    cr_assert_str_eq(got,
        "{\"labels\":{\"alertname\":\"brand_conflict\",\"creator_id\":"
        "\"c7\",\"tier\":\"mid\",\"severity\":\"warning\",\"sector\":"
        "\"beverages\",\"alert_id\":\"0123456789abcdef\"},\"annotations\":"
        "{\"summary\":\"c7 (mid): sponsored posts for pepsi and coca-cola "
        "(beverages) 10d apart\",\"details\":\"{\\\"sector\\\":"
        "\\\"beverages\\\",\\\"brands\\\":[\\\"pepsi\\\",\\\"coca-cola\\\"],"
        "\\\"post_ids\\\":[\\\"p1\\\",\\\"p2\\\"],\\\"window\\\":\\\"90d\\\"}\"},"
        "\"startsAt\":\"2026-11-20T08:30:00Z\",\"endsAt\":"
        "\"2026-11-20T08:34:00Z\",\"generatorURL\":"
        "\"http://engaged.example/\"}");
    free(got);
    amalert_info info;
    char err[128];
    cr_assert_eq(amalert_info_read(json, strlen(json), &info, err, sizeof err),
                 0);
    cr_assert_str_eq(info.alert_id, "0123456789abcdef");
    cr_assert_not(info.resolved);
    cr_assert_not(info.resolves);
}

Test(amalert, tier_change_is_one_shot)
{
    alert a;
    alert_tier_change(&a, "c9", "macro", "mega", 1020000, T0);
    a.tier = "mega";
    const char *json = json_of(&a);
    amalert_info info;
    char err[128];
    cr_assert_eq(amalert_info_read(json, strlen(json), &info, err, sizeof err),
                 0);
    cr_assert_not(info.resolves);
    char *got = postable(json, T0, NULL);
    cr_assert(strncmp(got, "{\"labels\":{\"alertname\":\"tier_change\","
                           "\"creator_id\":\"c9\",", 46) == 0, "%s", got);
    free(got);
}

Test(amalert, decay_resolves)
{
    alert a;
    decay(&a, ALERT_RESOLVED);
    const char *json = json_of(&a);
    amalert_info info;
    char err[128];
    cr_assert_eq(amalert_info_read(json, strlen(json), &info, err, sizeof err),
                 0);
    cr_assert_str_eq(info.alert_id, "9f3c2a7b1d4e8f60");
    cr_assert(info.resolved);
    cr_assert(info.resolves);
}

Test(amalert, what_is_not_an_alert_is_refused)
{
    static const struct {
        const char *json, *err;
    } bad[] = {
        {"[1]", "the alert is not a JSON object: another type"},
        {"{", "the alert is not a JSON object: "},
        {"{\"kind\":\"tier_change\"}", "the alert has no alert_id"},
        {"{\"alert_id\":\"a\",\"kind\":\"k\",\"status\":\"resolved\","
         "\"starts_at\":\"2026-11-20T08:30:00Z\",\"labels\":{}}",
         "the alert has no ends_at"},
        {"{\"alert_id\":\"a\",\"kind\":\"k\",\"status\":\"odd\","
         "\"starts_at\":\"2026-11-20T08:30:00Z\",\"labels\":{}}",
         "the alert's status \"odd\" is neither firing nor resolved"},
        {"{\"alert_id\":\"a\",\"kind\":\"k\",\"status\":\"firing\","
         "\"starts_at\":\"2026-11-20T08:30:00Z\",\"labels\":[]}",
         "the alert has no labels"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf b = BUF_INIT;
        char err[256];
        cr_assert_eq(amalert_postable(bad[i].json, strlen(bad[i].json), T0,
                                      MIN, NULL, &b, err, sizeof err),
                     -1, "%s", bad[i].json);
        cr_assert(strncmp(err, bad[i].err, strlen(bad[i].err)) == 0,
                  "%s: %s", bad[i].json, err);
        cr_assert_eq(b.len, 0);
        buf_free(&b);
    }
}

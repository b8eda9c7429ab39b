/*
 * Unit tests of saturation: the sponsored_saturation state machine (the
 * limit exactly, min_posts, `for`, the resolve margin, severity, unknown
 * tiers), its alert and its persistent encoding.
 *
 * The default [saturation] settings: window 30d, min_posts 10, for 1d,
 * resolve_margin 0.05, limits nano 0.15 (limit), micro 0.15, mid 0.20,
 * macro 0.25, mega 0.35; the default tiers (mid is index 2).
 */
#include "saturation.h"

#include <criterion/criterion.h>
#include <string.h>

#define HOUR_MS INT64_C(3600000)
#define DAY_MS  INT64_C(86400000)
#define MID  2
#define MEGA 4

/* 2026-11-20T08:00:00Z. */
#define T0 INT64_C(1795161600000)

static config *cfg;
static saturation_state st;
static saturation_verdict v;

static void setup(void)
{
    cfg = config_default(NULL);
    cr_assert_not_null(cfg);
    memset(&st, 0, sizeof st);
}

static void teardown(void)
{
    config_free(cfg);
}

TestSuite(saturation, .init = setup, .fini = teardown);

static saturation_action eval(int64_t W, int tier, int64_t posts,
                              int64_t sponsored)
{
    saturation_input in = {W, tier, posts, sponsored};
    return saturation_evaluate(cfg, &st, &in, &v);
}

Test(saturation, above_the_limit_for_a_day_fires)
{
    /* mid, limit 20%: 4 of 20 is at the limit, not above. */
    cr_assert_eq(eval(T0, MID, 20, 4), SATURATION_NONE);
    cr_assert_eq(st.status, SATURATION_OK);
    cr_assert_eq(eval(T0 + 1, MID, 20, 5), SATURATION_NONE);
    cr_assert_eq(st.status, SATURATION_PENDING);
    cr_assert_eq(st.since, T0 + 1);
    cr_assert_eq(eval(T0 + DAY_MS, MID, 20, 5), SATURATION_NONE, "1d - 1ms");
    cr_assert_eq(eval(T0 + 1 + DAY_MS, MID, 20, 5), SATURATION_FIRE);
    cr_assert_eq(v.severity, ALERT_WARNING);
    cr_assert_eq(v.starts_at, T0 + 1 + DAY_MS);
    cr_assert_float_eq(v.share, 0.25, 1e-12);
    cr_assert_float_eq(v.limit, 0.20, 1e-12);
    cr_assert_eq(st.status, SATURATION_FIRING);
}

Test(saturation, back_under_the_limit_while_pending_is_nothing)
{
    cr_assert_eq(eval(T0, MID, 20, 6), SATURATION_NONE);
    cr_assert_eq(st.status, SATURATION_PENDING);
    cr_assert_eq(eval(T0 + HOUR_MS, MID, 21, 4), SATURATION_NONE);
    cr_assert_eq(st.status, SATURATION_OK);
    /* Pending again starts the day again. */
    cr_assert_eq(eval(T0 + 2 * HOUR_MS, MID, 22, 6), SATURATION_NONE);
    cr_assert_eq(st.since, T0 + 2 * HOUR_MS);
}

Test(saturation, min_posts_and_unknown_tiers_give_no_verdict)
{
    cr_assert_eq(eval(T0, MID, 9, 9), SATURATION_NONE);
    cr_assert_eq(st.status, SATURATION_OK, "9 posts: too few");
    cr_assert_eq(eval(T0, -1, 50, 50), SATURATION_NONE);
    cr_assert_eq(st.status, SATURATION_OK, "tier unknown");
    cfg->saturation_for_ms = 0;
    cr_assert_eq(eval(T0, MID, 10, 9), SATURATION_FIRE, "10 posts, no for");
    cr_assert_eq(v.severity, ALERT_CRITICAL, "90% is twice 20% and more");
}

Test(saturation, resolves_at_the_margin_below_the_limit)
{
    cfg->saturation_for_ms = 0;
    cr_assert_eq(eval(T0, MEGA, 20, 8), SATURATION_FIRE); /* 40% > 35% */
    /* 31% is under the limit but above limit - margin (30%). */
    cr_assert_eq(eval(T0 + DAY_MS, MEGA, 100, 31), SATURATION_NONE);
    cr_assert_eq(st.status, SATURATION_FIRING);
    cr_assert_eq(eval(T0 + 2 * DAY_MS, MEGA, 100, 30), SATURATION_RESOLVE);
    cr_assert_eq(v.starts_at, T0);
    cr_assert_eq(v.ends_at, T0 + 2 * DAY_MS);
    cr_assert_eq(v.severity, ALERT_WARNING);
    cr_assert_eq(st.status, SATURATION_OK);
}

Test(saturation, the_alert_lists_the_brands_and_keeps_its_id)
{
    cfg->saturation_for_ms = 0;
    cr_assert_eq(eval(T0, MID, 10, 5), SATURATION_FIRE);
    const char *brands[] = {"nike", "revolut"};
    alert a;
    saturation_alert(&v, cfg, "c3", brands, 2, &a);
    buf b = {0};
    cr_assert_eq(alert_json(&a, &b), 0);
    buf_append_byte(&b, 0);
    const char *want =
        "\"kind\":\"sponsored_saturation\",\"status\":\"firing\","
        "\"severity\":\"critical\",\"creator_id\":\"c3\",\"tier\":\"mid\","
        "\"starts_at\":\"2026-11-20T08:00:00Z\",\"ends_at\":null,"
        "\"summary\":\"c3 (mid): 50% of its posts over 30d are sponsored "
        "(limit 20%)\",\"labels\":{\"alertname\":\"sponsored_saturation\","
        "\"creator_id\":\"c3\",\"tier\":\"mid\",\"severity\":\"critical\"},"
        "\"details\":{\"window\":\"30d\",\"posts\":10,\"sponsored_posts\":5,"
        "\"share\":0.5,\"limit\":0.2,\"brands\":[\"nike\",\"revolut\"]}}";
    cr_assert(strstr(b.data, want) != NULL, "%s", b.data);
    uint64_t id = a.fingerprint;
    cr_assert_eq(id, alert_saturation_fingerprint("c3", 2, T0));
    cr_assert_eq(eval(T0 + DAY_MS, MID, 20, 2), SATURATION_RESOLVE);
    saturation_alert(&v, cfg, "c3", brands, 0, &a);
    cr_assert_eq(a.fingerprint, id);
    b.len = 0;
    cr_assert_eq(alert_json(&a, &b), 0);
    buf_append_byte(&b, 0);
    cr_assert(strstr(b.data, "\"summary\":\"c3 (mid): back to 10% of its "
                             "posts over 30d are sponsored (limit 20%)\"") !=
                  NULL, "%s", b.data);
    buf_free(&b);
}

Test(saturation, encoding_round_trips_and_refuses_garbage)
{
    saturation_state s = {SATURATION_PENDING, 0, -1, T0}, back;
    buf b = {0};
    saturation_encode(&s, &b);
    size_t pos = 0;
    cr_assert_eq(saturation_decode(&back, b.data, b.len, &pos), 0);
    cr_assert_eq(pos, b.len);
    cr_assert_eq(back.status, SATURATION_PENDING);
    cr_assert_eq(back.since, T0);
    cr_assert_eq(back.tier, -1);
    pos = 0;
    cr_assert_eq(saturation_decode(&back, b.data, b.len - 1, &pos), -1);
    b.data[1] = 9;
    pos = 0;
    cr_assert_eq(saturation_decode(&back, b.data, b.len, &pos), -1);
    buf_free(&b);
}

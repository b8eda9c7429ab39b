/*
 * Unit tests of jump: the follower_jump detector (the thresholds exactly,
 * the reach of the comparison, a lower count lowering the reference, the
 * history restarting after a jump, round numbers), its alert and its
 * persistent encoding.
 *
 * The default [follower_jump] settings: window 24h (buckets of 12h),
 * min_increase 0.2, min_followers 1000.
 */
#include "jump.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#define HOUR_MS INT64_C(3600000)

/* 2026-11-20T00:00:00Z: a 12h bucket boundary. */
#define T0 INT64_C(1795132800000)

static config *cfg;
static jump_state st;
static jump_verdict v;

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

TestSuite(jump, .init = setup, .fini = teardown);

static bool seen(int64_t ts, int64_t followers)
{
    jump_input in = {ts, followers, 40, 100.0};
    return jump_observe(cfg, &st, &in, &v);
}

Test(jump, the_first_count_never_jumps)
{
    cr_assert_not(seen(T0, 1000000));
}

Test(jump, both_thresholds_exactly)
{
    cr_assert_not(seen(T0, 10000));
    cr_assert_not(seen(T0 + HOUR_MS, 11999), "+19.99%");
    cr_assert(seen(T0 + 2 * HOUR_MS, 12000), "+20%, +2000");
    cr_assert_eq(v.from, 10000);
    cr_assert_eq(v.to, 12000);
    cr_assert_eq(v.ts, T0 + 2 * HOUR_MS);
    memset(&st, 0, sizeof st);
    /* +50% but only +500 followers. */
    cr_assert_not(seen(T0, 1000));
    cr_assert_not(seen(T0 + HOUR_MS, 1500));
    cr_assert(seen(T0 + 2 * HOUR_MS, 2000), "+1000 exactly");
}

Test(jump, a_count_is_compared_with_at_least_a_window_of_history)
{
    /* The reference at T0 + 12h - 1 (bucket 0) is still in reach at
     * T0 + 36h - 1 (bucket 2), 24h later: the comparison reaches back at
     * least the window. */
    cr_assert_not(seen(T0 + 12 * HOUR_MS - 1, 10000));
    cr_assert(seen(T0 + 36 * HOUR_MS - 1, 12000));
    /* A count at T0 is out of reach at T0 + 36h (bucket 3). */
    memset(&st, 0, sizeof st);
    cr_assert_not(seen(T0, 10000));
    cr_assert_not(seen(T0 + 36 * HOUR_MS, 20000));
}

Test(jump, the_lowest_count_is_the_reference_and_a_jump_restarts_it)
{
    cr_assert_not(seen(T0, 10000));
    cr_assert_not(seen(T0 + HOUR_MS, 9000));
    cr_assert(seen(T0 + 2 * HOUR_MS, 10800), "+20% over 9000");
    cr_assert_eq(v.from, 9000);
    /* From 10800 now: 12500 is +15.7%. */
    cr_assert_not(seen(T0 + 3 * HOUR_MS, 12500));
    cr_assert(seen(T0 + 4 * HOUR_MS, 12960), "+20% over 10800");
    cfg->jump_enabled = false;
    cr_assert_not(seen(T0 + 5 * HOUR_MS, 50000), "switched off");
}

Test(jump, round_numbers)
{
    cr_assert(jump_round(2000));
    cr_assert(jump_round(50000));
    cr_assert_not(jump_round(2500));
    cr_assert(jump_round(300));
    cr_assert_not(jump_round(250));
    cr_assert_not(jump_round(0));
}

Test(jump, the_alert_says_what_the_engagement_rate_did)
{
    cr_assert_not(seen(T0, 20000));
    jump_input in = {T0 + HOUR_MS, 30000, 40, 100.0};
    cr_assert(jump_observe(cfg, &st, &in, &v));
    alert a;
    jump_alert(&v, cfg, "c9", "micro", &a);
    buf b = {0};
    cr_assert_eq(alert_json(&a, &b), 0);
    buf_append_byte(&b, 0);
    const char *want =
        "\"kind\":\"follower_jump\",\"status\":\"firing\","
        "\"severity\":\"warning\",\"creator_id\":\"c9\",\"tier\":\"micro\","
        "\"starts_at\":\"2026-11-20T01:00:00Z\",\"ends_at\":null,"
        "\"summary\":\"c9 (micro): followers up 50% (+10000) to 30000 "
        "within 24h\",\"labels\":{\"alertname\":\"follower_jump\","
        "\"creator_id\":\"c9\",\"tier\":\"micro\",\"severity\":\"warning\"},"
        "\"details\":{\"window\":\"24h\",\"from\":20000,\"to\":30000,"
        "\"increase\":10000,\"increase_ratio\":0.5,\"round\":true,"
        "\"engagements\":40,\"expected_engagements\":100.0,"
        "\"er_before\":0.005,\"er_after\":0.001333}}";
    cr_assert(strstr(b.data, want) != NULL, "%s", b.data);
    cr_assert_eq(a.fingerprint,
                 alert_jump_fingerprint("c9", 2, 20000, 30000, T0 + HOUR_MS));
    buf_free(&b);
}

Test(jump, encoding_round_trips_and_refuses_garbage)
{
    cr_assert_not(seen(T0, 10000));
    cr_assert_not(seen(T0 + 13 * HOUR_MS, 10100));
    buf b = {0};
    jump_encode(&st, &b);
    jump_state back;
    size_t pos = 0;
    cr_assert_eq(jump_decode(&back, b.data, b.len, &pos), 0);
    cr_assert_eq(pos, b.len);
    cr_assert_eq(memcmp(&back, &st, sizeof st), 0);
    pos = 0;
    cr_assert_eq(jump_decode(&back, b.data, b.len - 1, &pos), -1);
    buf_free(&b);
}

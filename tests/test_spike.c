/*
 * Unit tests of spike: the engagement_spike detector (firing at exactly
 * ratio, severity, the volume, baseline and history guards, resolving
 * below resolve_ratio or when the creator goes quiet), its alert and its
 * persistent encoding.
 *
 * The default [spike] settings: window 1h, baseline 7d, ratio 5,
 * critical_ratio 10, resolve_ratio 2, min_engagements 50, min_baseline
 * 100.  expected = (baseline - current) x 1h / (7d - 1h) = older / 167,
 * so the helpers build the older part of the baseline as 167 x expected.
 */
#include "spike.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#define HOUR_MS INT64_C(3600000)
#define DAY_MS  INT64_C(86400000)
#define MICRO 1

/* 2026-11-20T08:00:00Z. */
#define T0 INT64_C(1795161600000)

static config *cfg;
static spike_state st;
static spike_verdict v;

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

TestSuite(spike, .init = setup, .fini = teardown);

/* Evaluates at W with `current` engagements (all likes) and an older part
 * of the baseline of `older`, the first event `age` before W. */
static spike_action eval_full(int64_t W, int64_t current, int64_t older,
                              int64_t age)
{
    spike_input in = {
        .W = W,
        .tier = MICRO,
        .current = current,
        .baseline = current + older,
        .first_event = W - age,
        .followers = 5000,
        .actions = {current, 0, 0, 0},
    };
    return spike_evaluate(cfg, &st, &in, &v);
}

static spike_action eval(int64_t W, int64_t current, int64_t older)
{
    return eval_full(W, current, older, 8 * DAY_MS);
}

Test(spike, fires_at_exactly_ratio_times_the_baseline)
{
    /* expected 20: 99 is 4.95x, 100 is 5x. */
    cr_assert_eq(eval(T0, 99, 167 * 20), SPIKE_NONE);
    cr_assert_eq(st.firing, 0);
    cr_assert_eq(eval(T0 + 1, 100, 167 * 20), SPIKE_FIRE);
    cr_assert_eq(v.severity, ALERT_WARNING);
    cr_assert_float_eq(v.multiple, 5.0, 1e-9);
    cr_assert_float_eq(v.expected, 20.0, 1e-9);
    cr_assert_eq(v.starts_at, T0 + 1);
    cr_assert_eq(st.firing, 1);
    /* Firing: more of it sends nothing. */
    cr_assert_eq(eval(T0 + 2, 300, 167 * 20), SPIKE_NONE);
}

Test(spike, critical_from_critical_ratio_and_kept_until_resolved)
{
    cr_assert_eq(eval(T0, 200, 167 * 20), SPIKE_FIRE);
    cr_assert_eq(v.severity, ALERT_CRITICAL, "10x is critical");
    cr_assert_eq(eval(T0 + HOUR_MS, 20, 167 * 20), SPIKE_RESOLVE);
    cr_assert_eq(v.severity, ALERT_CRITICAL, "the firing severity");
    cr_assert_eq(v.starts_at, T0);
    cr_assert_eq(v.ends_at, T0 + HOUR_MS);
    cr_assert_eq(st.firing, 0);
}

Test(spike, guards_volume_baseline_and_history)
{
    /* 49 engagements against 1 expected: 49x, but under min_engagements. */
    cr_assert_eq(eval(T0, 49, 167), SPIKE_NONE);
    /* An older part of 99 is under min_baseline. */
    cr_assert_eq(eval(T0, 100, 99), SPIKE_NONE);
    /* First event less than 7d before W. */
    cr_assert_eq(eval_full(T0, 100, 167, 7 * DAY_MS - 1), SPIKE_NONE);
    cr_assert_eq(eval_full(T0, 100, 167, 7 * DAY_MS), SPIKE_FIRE);
    memset(&st, 0, sizeof st);
    cr_assert_eq(eval(T0, 100, 100), SPIKE_FIRE, "min_baseline exactly");
    memset(&st, 0, sizeof st);
    cr_assert_eq(eval(T0, 50, 167), SPIKE_FIRE, "min_engagements exactly");
    memset(&st, 0, sizeof st);
    /* 1% of followers: 120 of 12000 fires, 119 does not. */
    spike_input in = {.W = T0, .tier = MICRO, .current = 119,
                      .baseline = 119 + 167, .first_event = T0 - 8 * DAY_MS,
                      .followers = 12000};
    cr_assert_eq(spike_evaluate(cfg, &st, &in, &v), SPIKE_NONE);
    in.current = 120;
    in.baseline = 120 + 167;
    cr_assert_eq(spike_evaluate(cfg, &st, &in, &v), SPIKE_FIRE);
    memset(&st, 0, sizeof st);
    in.followers = -1;
    cr_assert_eq(spike_evaluate(cfg, &st, &in, &v), SPIKE_NONE,
                 "followers unknown");
    cfg->spike_enabled = false;
    cr_assert_eq(eval(T0, 500, 167), SPIKE_NONE, "switched off");
}

Test(spike, resolves_under_resolve_ratio_or_when_quiet)
{
    cr_assert_eq(eval(T0, 100, 167 * 10), SPIKE_FIRE); /* 10x */
    cr_assert_eq(eval(T0 + 1, 20, 167 * 10), SPIKE_NONE, "2x is not < 2");
    cr_assert_eq(eval(T0 + 2, 19, 167 * 10), SPIKE_RESOLVE);
    cr_assert_eq(eval(T0 + 3, 100, 167 * 10), SPIKE_FIRE, "a new incident");
    cr_assert_eq(v.starts_at, T0 + 3);
    cr_assert_eq(eval(T0 + 4, 0, 0), SPIKE_RESOLVE, "quiet, no baseline");
}

Test(spike, the_alert_names_its_actions_and_keeps_its_id)
{
    spike_input in = {.W = T0, .tier = MICRO, .current = 120,
                      .baseline = 120 + 167 * 10, .first_event = T0 - 9 * DAY_MS,
                      .followers = 9000, .actions = {120, 0, 0, 0}};
    cr_assert_eq(spike_evaluate(cfg, &st, &in, &v), SPIKE_FIRE);
    alert a;
    spike_alert(&v, cfg, "c7", &a);
    buf b = {0};
    cr_assert_eq(alert_json(&a, &b), 0);
    buf_append_byte(&b, 0);
    const char *want =
        "\"kind\":\"engagement_spike\",\"status\":\"firing\","
        "\"severity\":\"critical\",\"creator_id\":\"c7\",\"tier\":\"micro\","
        "\"starts_at\":\"2026-11-20T08:00:00Z\",\"ends_at\":null,"
        "\"summary\":\"c7 (micro): engagement over 1h is 12.0x its 7d "
        "baseline\",\"labels\":{\"alertname\":\"engagement_spike\","
        "\"creator_id\":\"c7\",\"tier\":\"micro\",\"severity\":\"critical\"},"
        "\"details\":{\"window\":\"1h\",\"baseline_window\":\"7d\","
        "\"current\":120,\"expected\":10.0,\"multiple\":12.0,\"actions\":"
        "{\"likes\":120,\"comments\":0,\"shares\":0,\"saves\":0},"
        "\"likes_only\":true}}";
    cr_assert(strstr(b.data, want) != NULL, "%s", b.data);
    uint64_t id = a.fingerprint;
    cr_assert_eq(id, alert_spike_fingerprint("c7", 2, T0));
    in.W = T0 + HOUR_MS;
    in.current = 3;
    in.actions[0] = 1;
    in.actions[1] = 2;
    cr_assert_eq(spike_evaluate(cfg, &st, &in, &v), SPIKE_RESOLVE);
    spike_alert(&v, cfg, "c7", &a);
    cr_assert_eq(a.fingerprint, id, "one id for the incident");
    b.len = 0;
    cr_assert_eq(alert_json(&a, &b), 0);
    buf_append_byte(&b, 0);
    cr_assert(strstr(b.data, "\"status\":\"resolved\"") != NULL);
    cr_assert(strstr(b.data, "\"ends_at\":\"2026-11-20T09:00:00Z\"") != NULL);
    cr_assert(strstr(b.data, "\"likes_only\":false") != NULL, "%s", b.data);
    buf_free(&b);
}

Test(spike, encoding_round_trips_and_refuses_garbage)
{
    spike_state s = {1, ALERT_CRITICAL, 3, T0}, back;
    buf b = {0};
    spike_encode(&s, &b);
    size_t pos = 0;
    cr_assert_eq(spike_decode(&back, b.data, b.len, &pos), 0);
    cr_assert_eq(pos, b.len);
    cr_assert_eq(back.firing, 1);
    cr_assert_eq(back.severity, ALERT_CRITICAL);
    cr_assert_eq(back.tier, 3);
    cr_assert_eq(back.fired_at, T0);
    pos = 0;
    cr_assert_eq(spike_decode(&back, b.data, b.len - 1, &pos), -1);
    b.data[1] = 7;
    pos = 0;
    cr_assert_eq(spike_decode(&back, b.data, b.len, &pos), -1);
    b.len = 0;
    spike_state ok = {0};
    spike_encode(&ok, &b);
    cr_assert_eq(b.len, 2, "an ok state is 2 bytes");
    buf_free(&b);
}

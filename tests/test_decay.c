/*
 * Unit tests of decay: the engagement_decay state machine (pending, firing,
 * resolved; the `for` duration; the min_baseline and history guards;
 * critical against warning; a creator that stops entirely; leaving the
 * watched tiers), its evaluation times, and the persistent encoding.
 *
 * The default [decay] settings: current 24h, baseline 28d, ratio 0.5,
 * resolve_ratio 0.7, critical_ratio 0.25, for 30m, min_baseline 100, tier
 * mega (index 4 of the default tiers).  With those, expected =
 * (baseline - current) / 27, so the helpers below build the baseline from
 * the expected value wanted.
 */
#include "decay.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#define MIN_MS  INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS  INT64_C(86400000)
#define MEGA  4
#define MACRO 3

/* 2026-11-20T08:00:00Z, a bucket boundary of 24m buckets. */
#define T0 INT64_C(1795161600000)

static config *cfg;
static decay_state st;
static decay_verdict v;

static void setup(void)
{
    cfg = config_default(NULL);
    cr_assert_not_null(cfg);
    decay_init(&st);
}

static void teardown(void)
{
    config_free(cfg);
}

TestSuite(decay, .init = setup, .fini = teardown);

/*
 * Evaluates at W a creator of `tier` with `current` engagements and an
 * older part of the baseline that gives `expected`, whose history is long
 * enough.
 */
static decay_action eval_tier(int64_t W, int tier, int64_t current,
                              int64_t expected)
{
    decay_input in = {
        .W = W,
        .tier = tier,
        .current = current,
        .baseline = current + 27 * expected,
        .first_event = W - 29 * DAY_MS,
    };
    return decay_evaluate(cfg, &st, &in, &v);
}

static decay_action eval(int64_t W, int64_t current, int64_t expected)
{
    return eval_tier(W, MEGA, current, expected);
}

/* Brings st to firing at T0 + 30m with ratio `ratio_pct` percent. */
static void fire(int64_t ratio_pct)
{
    cr_assert_eq(eval(T0, ratio_pct * 10, 1000), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_PENDING);
    cr_assert_eq(eval(T0 + 30 * MIN_MS, ratio_pct * 10, 1000), DECAY_FIRE);
    cr_assert_eq(st.status, DECAY_FIRING);
}

/* --- the state machine --------------------------------------------------- */

Test(decay, a_fresh_state_is_ok_without_ratio)
{
    cr_assert_eq(st.status, DECAY_OK);
    cr_assert_str_eq(decay_state_name(&st), "ok");
    cr_assert(isnan(st.ratio));
    cr_assert_eq(decay_deadline(&st, cfg), INT64_MAX);
}

Test(decay, healthy_creator_stays_ok_and_records_its_ratio)
{
    cr_assert_eq(eval(T0, 800, 1000), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_OK);
    cr_assert_float_eq(st.ratio, 0.8, 1e-12);
    cr_assert_eq(v.action, DECAY_NONE);
    cr_assert_eq(v.current, 800);
    cr_assert_float_eq(v.expected, 1000.0, 1e-9);
}

Test(decay, expected_is_the_older_baseline_scaled_to_the_current_window)
{
    /* The example: 1830 against 10166.7, ratio 0.18. */
    decay_input in = {.W = T0, .tier = MEGA, .current = 1830,
                      .baseline = 1830 + 274501, .first_event = 0};
    decay_evaluate(cfg, &st, &in, &v);
    cr_assert_float_eq(v.expected, 274501.0 / 27.0, 1e-9);
    cr_assert_float_eq(v.ratio, 1830.0 / (274501.0 / 27.0), 1e-12);
}

Test(decay, low_ratio_is_pending_until_for_has_held)
{
    cr_assert_eq(eval(T0, 400, 1000), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_PENDING);
    cr_assert_str_eq(decay_state_name(&st), "pending");
    cr_assert_eq(st.pending_since, T0);
    cr_assert_eq(decay_deadline(&st, cfg), T0 + 30 * MIN_MS);

    cr_assert_eq(eval(T0 + 24 * MIN_MS, 400, 1000), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_PENDING);
    cr_assert_eq(st.pending_since, T0, "pending_since is not moved");

    cr_assert_eq(eval(T0 + 48 * MIN_MS, 400, 1000), DECAY_FIRE);
    cr_assert_eq(st.status, DECAY_FIRING);
    cr_assert_str_eq(decay_state_name(&st), "firing");
    cr_assert_eq(v.action, DECAY_FIRE);
    cr_assert_eq(v.severity, ALERT_WARNING);
    cr_assert_eq(v.starts_at, T0 + 48 * MIN_MS);
    cr_assert_eq(v.tier, MEGA);
    cr_assert_float_eq(v.ratio, 0.4, 1e-12);
    cr_assert_eq(decay_deadline(&st, cfg), INT64_MAX);
}

Test(decay, fires_exactly_when_for_has_elapsed)
{
    eval(T0, 400, 1000);
    cr_assert_eq(eval(T0 + 30 * MIN_MS - 1, 400, 1000), DECAY_NONE);
    cr_assert_eq(eval(T0 + 30 * MIN_MS, 400, 1000), DECAY_FIRE);
    cr_assert_eq(v.starts_at, T0 + 30 * MIN_MS);
}

Test(decay, for_zero_fires_at_the_first_low_evaluation)
{
    cfg->decay_for_ms = 0;
    cr_assert_eq(eval(T0, 400, 1000), DECAY_FIRE);
    cr_assert_eq(v.starts_at, T0);
}

Test(decay, pending_creator_that_recovers_goes_back_to_ok_silently)
{
    eval(T0, 400, 1000);
    cr_assert_eq(eval(T0 + 24 * MIN_MS, 500, 1000), DECAY_NONE,
                 "ratio == ratio threshold is not decaying");
    cr_assert_eq(st.status, DECAY_OK);
    cr_assert_eq(decay_deadline(&st, cfg), INT64_MAX);
    /* A new low period starts its own `for`. */
    eval(T0 + 48 * MIN_MS, 400, 1000);
    cr_assert_eq(st.pending_since, T0 + 48 * MIN_MS);
    cr_assert_eq(eval(T0 + 72 * MIN_MS, 400, 1000), DECAY_NONE);
    cr_assert_eq(eval(T0 + 96 * MIN_MS, 400, 1000), DECAY_FIRE);
}

Test(decay, critical_below_critical_ratio_else_warning)
{
    fire(24);
    cr_assert_eq(v.severity, ALERT_CRITICAL);

    decay_init(&st);
    fire(25);   /* exactly critical_ratio: not below it */
    cr_assert_eq(v.severity, ALERT_WARNING);
}

Test(decay, severity_is_kept_while_firing)
{
    fire(40);
    cr_assert_eq(eval(T0 + 54 * MIN_MS, 100, 1000), DECAY_NONE,
                 "no second alert while firing");
    cr_assert_eq(st.severity, ALERT_WARNING);
    cr_assert_eq(eval(T0 + 78 * MIN_MS, 900, 1000), DECAY_RESOLVE);
    cr_assert_eq(v.severity, ALERT_WARNING,
                 "the resolved message has the labels of the firing one");
}

Test(decay, firing_resolves_at_resolve_ratio_with_the_same_incident)
{
    fire(30);
    int64_t started = T0 + 30 * MIN_MS;
    uint64_t id = alert_decay_fingerprint("c42", 3, v.starts_at);

    /* Between ratio and resolve_ratio: still firing. */
    cr_assert_eq(eval(T0 + 54 * MIN_MS, 699, 1000), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_FIRING);

    cr_assert_eq(eval(T0 + 78 * MIN_MS, 700, 1000), DECAY_RESOLVE);
    cr_assert_eq(st.status, DECAY_OK);
    cr_assert_eq(v.starts_at, started);
    cr_assert_eq(v.ends_at, T0 + 78 * MIN_MS);
    cr_assert_eq(v.severity, ALERT_WARNING);
    cr_assert_eq(v.tier, MEGA);
    cr_assert_not(v.left_tiers);
    cr_assert_eq(alert_decay_fingerprint("c42", 3, v.starts_at), id);

    alert a;
    decay_alert(&v, cfg, "c42", &a);
    cr_assert_eq(a.kind, ALERT_ENGAGEMENT_DECAY);
    cr_assert_eq(a.status, ALERT_RESOLVED);
    cr_assert_eq(a.fingerprint, id);
    cr_assert_str_eq(a.tier, "mega");
    cr_assert_eq(a.starts_at, started);
    cr_assert_eq(a.ends_at, T0 + 78 * MIN_MS);
    cr_assert_eq(a.decay.current_ms, 24 * HOUR_MS);
    cr_assert_eq(a.decay.baseline_ms, 28 * DAY_MS);
    cr_assert_eq(a.decay.current, 700);
    cr_assert_float_eq(a.decay.ratio, 0.7, 1e-12);
}

Test(decay, a_later_incident_has_a_new_starts_at_and_id)
{
    fire(30);
    uint64_t first = alert_decay_fingerprint("c42", 3, v.starts_at);
    eval(T0 + 54 * MIN_MS, 800, 1000);
    cr_assert_eq(v.action, DECAY_RESOLVE);
    eval(T0 + 78 * MIN_MS, 300, 1000);
    cr_assert_eq(eval(T0 + 126 * MIN_MS, 300, 1000), DECAY_FIRE);
    cr_assert_eq(v.starts_at, T0 + 126 * MIN_MS);
    cr_assert_neq(alert_decay_fingerprint("c42", 3, v.starts_at), first);
}

/* --- guards -------------------------------------------------------------- */

Test(decay, no_verdict_while_expected_is_below_min_baseline)
{
    cr_assert_eq(eval(T0, 0, 99), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_OK);
    cr_assert_float_eq(st.ratio, 0.0, 1e-12, "the ratio is still recorded");
    cr_assert_eq(eval(T0, 0, 100), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_PENDING, "at min_baseline: a verdict");
}

Test(decay, no_verdict_keeps_a_pending_creator_pending)
{
    eval(T0, 400, 1000);
    cr_assert_eq(eval(T0 + 24 * MIN_MS, 40, 99), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_PENDING);
    cr_assert_eq(st.pending_since, T0);
    cr_assert_eq(eval(T0 + 48 * MIN_MS, 400, 1000), DECAY_FIRE);
}

Test(decay, no_verdict_while_history_is_shorter_than_the_baseline)
{
    decay_input in = {.W = T0, .tier = MEGA, .current = 0,
                      .baseline = 27000, .first_event = T0 - 28 * DAY_MS + 1};
    cr_assert_eq(decay_evaluate(cfg, &st, &in, &v), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_OK);
    in.first_event = INT64_MAX;     /* no event at all */
    cr_assert_eq(decay_evaluate(cfg, &st, &in, &v), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_OK);
    in.first_event = T0 - 28 * DAY_MS;  /* exactly W - baseline: enough */
    decay_evaluate(cfg, &st, &in, &v);
    cr_assert_eq(st.status, DECAY_PENDING);
}

Test(decay, expected_zero_gives_no_verdict_and_no_ratio)
{
    cfg->decay_min_baseline = 0;
    cr_assert_eq(eval(T0, 0, 0), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_OK);
    cr_assert(isnan(st.ratio));
    cr_assert(isnan(v.ratio));
}

Test(decay, baseline_below_current_counts_as_no_older_part)
{
    cfg->decay_min_baseline = 0;
    decay_input in = {.W = T0, .tier = MEGA, .current = 50, .baseline = 40,
                      .first_event = 0};
    cr_assert_eq(decay_evaluate(cfg, &st, &in, &v), DECAY_NONE);
    cr_assert_float_eq(v.expected, 0.0, 0.0);
    cr_assert_eq(st.status, DECAY_OK);
}

/* --- a creator that stops entirely ---------------------------------------- */

Test(decay, creator_that_stops_entirely_fires_critical_and_stays_firing)
{
    /* Its current drains to 0 while the baseline still holds its past. */
    cr_assert_eq(eval(T0, 0, 1000), DECAY_NONE);
    cr_assert_eq(eval(T0 + 24 * MIN_MS, 0, 1000), DECAY_NONE);
    cr_assert_eq(eval(T0 + 48 * MIN_MS, 0, 1000), DECAY_FIRE);
    cr_assert_eq(v.severity, ALERT_CRITICAL);
    cr_assert_float_eq(v.ratio, 0.0, 0.0);
    int64_t started = v.starts_at;

    /* Weeks later its baseline has drained below min_baseline: no verdict,
     * it stays firing, silently. */
    for (int64_t d = 1; d <= 30; d++)
        cr_assert_eq(eval(T0 + d * DAY_MS, 0, d < 20 ? 1000 - 50 * d : 0),
                     DECAY_NONE);
    cr_assert_eq(st.status, DECAY_FIRING);
    cr_assert_eq(st.fired_at, started);

    /* It comes back: once it has enough baseline again, it resolves. */
    cr_assert_eq(eval(T0 + 40 * DAY_MS, 2000, 1000), DECAY_RESOLVE);
    cr_assert_eq(v.starts_at, started);
}

/* --- watched tiers -------------------------------------------------------- */

Test(decay, firing_creator_leaving_the_watched_tiers_is_resolved)
{
    fire(30);
    int64_t started = v.starts_at;
    cr_assert_eq(eval_tier(T0 + 54 * MIN_MS, MACRO, 300, 1000),
                 DECAY_RESOLVE);
    cr_assert(v.left_tiers);
    cr_assert_eq(v.starts_at, started);
    cr_assert_eq(v.ends_at, T0 + 54 * MIN_MS);
    cr_assert_eq(v.tier, MEGA, "the tier it fired in");
    cr_assert_eq(st.status, DECAY_OK);
    cr_assert(isnan(st.ratio));

    alert a;
    decay_alert(&v, cfg, "c42", &a);
    cr_assert_str_eq(a.tier, "mega");
    cr_assert(a.decay.left_tiers);
    /* Not watched any more: no further alert, whatever the ratio. */
    cr_assert_eq(eval_tier(T0 + 78 * MIN_MS, MACRO, 0, 1000), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_OK);
}

Test(decay, unwatched_creators_are_ok_without_alert)
{
    eval(T0, 400, 1000);
    cr_assert_eq(st.status, DECAY_PENDING);
    cr_assert_eq(eval_tier(T0 + 24 * MIN_MS, MACRO, 0, 1000), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_OK);
    cr_assert_eq(eval_tier(T0 + 48 * MIN_MS, -1, 0, 1000), DECAY_NONE,
                 "unknown tier");
    cr_assert_eq(st.status, DECAY_OK);
    cfg->decay_tier_mask = 0;   /* decay off */
    cr_assert_eq(eval(T0 + 72 * MIN_MS, 0, 1000), DECAY_NONE);
    cr_assert_eq(st.status, DECAY_OK);
}

Test(decay, tier_no_longer_configured_names_unknown)
{
    fire(30);
    v.tier = 9;
    alert a;
    decay_alert(&v, cfg, "c42", &a);
    cr_assert_str_eq(a.tier, "unknown");
}

Test(decay, a_replay_decides_the_same_alerts)
{
    static const int64_t currents[] = {900, 400, 400, 300, 100, 650, 720,
                                       200, 200, 200};
    decay_verdict first[10], second[10];
    for (int run = 0; run < 2; run++) {
        decay_init(&st);
        for (int i = 0; i < 10; i++) {
            eval(T0 + i * 24 * MIN_MS, currents[i], 1000);
            (run ? second : first)[i] = v;
        }
    }
    int fired = 0;
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(first[i].action, second[i].action);
        cr_assert_eq(first[i].starts_at, second[i].starts_at);
        fired += first[i].action == DECAY_FIRE;
    }
    cr_assert_eq(fired, 2);
}

/* --- evaluation times ----------------------------------------------------- */

Test(decay, next_evaluation_is_the_next_bucket_boundary)
{
    const int64_t b = 24 * MIN_MS;  /* 24h / 60 */
    cr_assert_eq(decay_next_evaluation(cfg, 0), b);
    cr_assert_eq(decay_next_evaluation(cfg, b - 1), b);
    cr_assert_eq(decay_next_evaluation(cfg, b), 2 * b);
    cr_assert_eq(decay_next_evaluation(cfg, T0), T0 + b);
    cr_assert_eq(decay_next_evaluation(cfg, -1), 0);
    cr_assert_eq(decay_next_evaluation(cfg, -b), 0);
    cr_assert_eq(decay_next_evaluation(cfg, INT64_MAX - 5), INT64_MAX);
    cfg->decay_current_ms = HOUR_MS;
    cr_assert_eq(decay_next_evaluation(cfg, 61000), 120000);
}

Test(decay, deadline_is_pending_since_plus_for)
{
    eval(T0 + 7, 100, 1000);
    cr_assert_eq(decay_deadline(&st, cfg), T0 + 7 + 30 * MIN_MS);
    cfg->decay_for_ms = 0;
    cr_assert_eq(decay_deadline(&st, cfg), T0 + 7);
}

/* --- persistence ---------------------------------------------------------- */

static void assert_same_state(const decay_state *a, const decay_state *b)
{
    cr_assert_eq(a->status, b->status);
    cr_assert_eq(a->severity, b->severity);
    cr_assert_eq(a->tier, b->tier);
    cr_assert_eq(a->pending_since, b->pending_since);
    cr_assert_eq(a->fired_at, b->fired_at);
    if (isnan(a->ratio))
        cr_assert(isnan(b->ratio));
    else
        cr_assert_eq(a->ratio, b->ratio);
}

Test(decay, encode_decode_round_trips_every_status)
{
    decay_state states[4];
    decay_init(&states[0]);                 /* ok, no ratio */
    eval(T0, 400, 1000);
    states[1] = st;                         /* pending */
    eval(T0 + 30 * MIN_MS, 123, 1000);
    states[2] = st;                         /* firing, critical */
    states[3] = st;
    states[3].fired_at = -5;                /* negative varints */
    states[3].ratio = 1.0 / 3.0;

    buf b = BUF_INIT;
    buf_append_byte(&b, 0xEE);              /* something before */
    for (int i = 0; i < 4; i++)
        decay_encode(&states[i], &b);
    buf_append_byte(&b, 0xFF);              /* and after */
    cr_assert_not(buf_failed(&b));

    size_t pos = 1;
    for (int i = 0; i < 4; i++) {
        decay_state got;
        memset(&got, 0x5A, sizeof got);
        cr_assert_eq(decay_decode(&got, b.data, b.len, &pos), 0, "state %d",
                     i);
        assert_same_state(&states[i], &got);
    }
    cr_assert_eq(pos, b.len - 1);
    cr_assert_eq((uint8_t)b.data[pos], 0xFF);
    buf_free(&b);
}

Test(decay, decode_refuses_what_encode_cannot_write)
{
    buf b = BUF_INIT;
    decay_encode(&st, &b);
    decay_state got;
    size_t pos;
    /* Every truncation. */
    for (size_t n = 0; n < b.len; n++) {
        pos = 0;
        cr_assert_eq(decay_decode(&got, b.data, n, &pos), -1, "len %zu", n);
    }
    pos = 0;
    cr_assert_eq(decay_decode(&got, b.data, b.len, &pos), 0);

    b.data[0] = 2;          /* unknown version */
    pos = 0;
    cr_assert_eq(decay_decode(&got, b.data, b.len, &pos), -1);
    b.data[0] = 1;
    b.data[1] = 3;          /* unknown status */
    pos = 0;
    cr_assert_eq(decay_decode(&got, b.data, b.len, &pos), -1);
    b.data[1] = 0;
    b.data[2] = 3;          /* unknown severity */
    pos = 0;
    cr_assert_eq(decay_decode(&got, b.data, b.len, &pos), -1);
    buf_free(&b);
}

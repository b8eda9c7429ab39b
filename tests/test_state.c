#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "failalloc.h"
#include "detect.h"
#include "outbox.h"
#include "state.h"
#include "tier.h"
#include "timefmt.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
/* 2026-11-01T00:00:00Z, a whole number of 168-minute buckets? no matter */
#define T0 1793491200000LL

static config *cfg;
static state *st;
static int slot;

static void setup(void)
{
    cfg = config_default(NULL);
    cr_assert_not_null(cfg);
    char err[256];
    st = state_new(cfg, err, sizeof err);
    cr_assert_not_null(st, "%s", err);
    slot = state_partition_add(st, "t", 0, STATE_NO_WATERMARK);
    cr_assert_geq(slot, 0);
}

static void teardown(void)
{
    state_free(st);
    config_free(cfg);
}

static event eng(const char *id, int64_t ts, event_action a, int64_t count)
{
    event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = EVENT_ENGAGEMENT;
    ev.ts_ms = ts;
    ev.followers = -1;
    ev.action = a;
    ev.count = count;
    ev.creator_id_len = strlen(id);
    memcpy(ev.creator_id, id, ev.creator_id_len);
    return ev;
}

static state_creator *creator(const char *id)
{
    state_creator *c = state_creator_find(st, id, strlen(id));
    if (c == NULL)
        c = state_creator_new(st, slot, id, strlen(id));
    cr_assert_not_null(c);
    return c;
}

static event_error apply(const event *ev)
{
    char detail[256];
    state_creator *c = creator(ev->creator_id);
    return state_apply(st, slot, c, ev, detail, sizeof detail);
}

static int64_t value(const char *id, size_t w, int metric)
{
    int64_t v[STATE_METRICS];
    state_creator *c = state_creator_find(st, id, strlen(id));
    cr_assert_not_null(c);
    state_creator_values(st, c, w, v);
    return v[metric];
}

TestSuite(state, .init = setup, .fini = teardown);

Test(state, engagements_count_in_every_window)
{
    event a = eng("c1", T0, EVENT_LIKE, 3), b = eng("c1", T0 + 1, EVENT_SAVE, 2),
          v = eng("c1", T0 + 2, EVENT_VIEW, 100);
    cr_assert_eq(apply(&a), EVENT_OK);
    cr_assert_eq(apply(&b), EVENT_OK);
    cr_assert_eq(apply(&v), EVENT_OK);
    for (size_t w = 0; w < 3; w++) {
        cr_assert_eq(value("c1", w, STATE_LIKES), 3);
        cr_assert_eq(value("c1", w, STATE_SAVES), 2);
        cr_assert_eq(value("c1", w, STATE_VIEWS), 100);
        cr_assert_eq(value("c1", w, STATE_ENGAGEMENTS), 5, "views are not engagements");
    }
    cr_assert_eq(state_creator_last_event(creator("c1")), T0 + 2);
}

Test(state, posts_and_sponsored_posts)
{
    event p = eng("c1", T0, EVENT_LIKE, 1);
    p.type = EVENT_POST;
    p.sponsored = true;
    cr_assert_eq(apply(&p), EVENT_OK);
    p.sponsored = false;
    p.ts_ms++;
    cr_assert_eq(apply(&p), EVENT_OK);
    cr_assert_eq(value("c1", 0, STATE_POSTS), 2);
    cr_assert_eq(value("c1", 0, STATE_SPONSORED_POSTS), 1);
    cr_assert_eq(value("c1", 0, STATE_ENGAGEMENTS), 0);
}

Test(state, windows_roll_for_a_creator_with_no_new_event)
{
    event a = eng("quiet", T0, EVENT_LIKE, 4);
    cr_assert_eq(apply(&a), EVENT_OK);
    /* Another creator of the same partition moves the watermark on. */
    event b = eng("busy", T0 + 2 * HOUR, EVENT_LIKE, 1);
    cr_assert_eq(apply(&b), EVENT_OK);
    cr_assert_eq(value("quiet", 0, STATE_LIKES), 0, "left the 1h window");
    cr_assert_eq(value("quiet", 1, STATE_LIKES), 4, "still in 24h");
    cr_assert_eq(value("quiet", 2, STATE_LIKES), 4, "still in 7d");
    event c = eng("busy", T0 + 8 * DAY, EVENT_LIKE, 1);
    cr_assert_eq(apply(&c), EVENT_OK);
    cr_assert_eq(value("quiet", 2, STATE_LIKES), 0, "left the 7d window");
    cr_assert_neq(state_creator_wake(creator("quiet")), STATE_NO_WAKE,
                  "still in decay's 28d baseline");
    event d = eng("busy", T0 + 29 * DAY, EVENT_LIKE, 1);
    cr_assert_eq(apply(&d), EVENT_OK);
    cr_assert_eq(state_creator_wake(creator("quiet")), STATE_NO_WAKE,
                 "nothing left to expire");
}

Test(state, out_of_order_event_counts_in_its_bucket)
{
    event a = eng("c1", T0 + 3 * HOUR, EVENT_LIKE, 1);
    event late = eng("c1", T0 + 2 * HOUR + 30 * MIN, EVENT_LIKE, 5);
    event older = eng("c1", T0 + HOUR, EVENT_LIKE, 7);
    cr_assert_eq(apply(&a), EVENT_OK);
    cr_assert_eq(apply(&late), EVENT_OK);
    cr_assert_eq(apply(&older), EVENT_OK);
    cr_assert_eq(value("c1", 0, STATE_LIKES), 6, "the 2h-old one is outside 1h");
    cr_assert_eq(value("c1", 1, STATE_LIKES), 13);
}

Test(state, too_late_is_refused_without_moving_anything)
{
    event a = eng("c1", T0 + 60 * DAY, EVENT_LIKE, 1);
    cr_assert_eq(apply(&a), EVENT_OK);
    /* horizon = W - late_grace (5m) - the longest window: saturation's
     * 30d, longer than decay's 28d baseline and the 7d metric window */
    event edge = eng("c2", T0 + 30 * DAY - 5 * MIN, EVENT_LIKE, 1);
    event old = eng("c2", T0 + 30 * DAY - 5 * MIN - 1, EVENT_LIKE, 1);
    char detail[256] = "";
    state_creator *c2 = creator("c2");
    cr_assert_eq(state_apply(st, slot, c2, &edge, detail, sizeof detail), EVENT_OK);
    cr_assert_eq(state_apply(st, slot, c2, &old, detail, sizeof detail),
                 EVENT_ERR_TOO_LATE);
    cr_assert(strstr(detail, "older than the watermark") != NULL, "%s", detail);
    cr_assert_eq(state_partition_watermark(st, slot), T0 + 60 * DAY);
}

Test(state, latest_follower_count_by_event_time_sets_the_tier)
{
    event f = eng("c1", T0 + HOUR, EVENT_LIKE, 1);
    f.type = EVENT_FOLLOWERS;
    f.followers = 1200000;
    cr_assert_eq(apply(&f), EVENT_OK);
    cr_assert_eq(state_creator_tier(creator("c1")),
                 config_tier_index(cfg, "mega"));
    /* An older count arriving late does not win. */
    event old = f;
    old.ts_ms = T0;
    old.followers = 5000;
    cr_assert_eq(apply(&old), EVENT_OK);
    cr_assert_eq(state_creator_followers(creator("c1")), 1200000);
    /* A newer one within the hysteresis band keeps the tier. */
    event dip = f;
    dip.ts_ms = T0 + 2 * HOUR;
    dip.followers = 960000;
    cr_assert_eq(apply(&dip), EVENT_OK);
    cr_assert_eq(state_creator_tier(creator("c1")),
                 config_tier_index(cfg, "mega"));
    dip.ts_ms += 1;
    dip.followers = 940000;
    cr_assert_eq(apply(&dip), EVENT_OK);
    cr_assert_eq(state_creator_tier(creator("c1")),
                 config_tier_index(cfg, "macro"));
}

Test(state, no_follower_count_means_tier_unknown)
{
    event a = eng("c1", T0, EVENT_LIKE, 1);
    cr_assert_eq(apply(&a), EVENT_OK);
    cr_assert_eq(state_creator_tier(creator("c1")), TIER_UNKNOWN);
    cr_assert_eq(state_creator_followers(creator("c1")), -1);
}

Test(state, dirty_creators_remember_what_was_written)
{
    event a = eng("c1", T0, EVENT_LIKE, 2);
    a.followers = 20000;
    cr_assert_eq(apply(&a), EVENT_OK);
    cr_assert_eq(state_dirty_count(st), 1);
    int tier;
    int64_t fol;
    const int64_t *vals;
    cr_assert(!state_creator_written(st, creator("c1"), &tier, &fol, &vals),
              "never written yet");
    state_checkpoint_done(st);
    cr_assert_eq(state_dirty_count(st), 0);

    event b = eng("c1", T0 + 1, EVENT_LIKE, 5);
    b.followers = 60000;
    cr_assert_eq(apply(&b), EVENT_OK);
    cr_assert_eq(state_dirty_count(st), 1);
    cr_assert(state_creator_written(st, creator("c1"), &tier, &fol, &vals));
    cr_assert_eq(tier, config_tier_index(cfg, "micro"));
    cr_assert_eq(fol, 20000);
    cr_assert_eq(vals[STATE_LIKES], 2);
    cr_assert_eq(vals[STATE_ENGAGEMENTS], 2);
    cr_assert_eq(state_creator_tier(creator("c1")), config_tier_index(cfg, "mid"));
    cr_assert_eq(value("c1", 0, STATE_LIKES), 7);
}

/* A checkpoint that wrote one partition of two: its creators are written,
 * the other partition's stay dirty with what Redis held before. */
Test(state, a_checkpoint_of_some_partitions_leaves_the_others_dirty)
{
    int other = state_partition_add(st, "t", 1, STATE_NO_WATERMARK);
    cr_assert_geq(other, 0);
    cr_assert_neq(other, slot);
    event a = eng("in0", T0, EVENT_LIKE, 2);
    cr_assert_eq(apply(&a), EVENT_OK);
    char detail[256];
    state_creator *c1 = state_creator_new(st, other, "in1", 3);
    cr_assert_not_null(c1);
    event b = eng("in1", T0, EVENT_LIKE, 3);
    cr_assert_eq(state_apply(st, other, c1, &b, detail, sizeof detail),
                 EVENT_OK);
    state_checkpoint_done(st);
    cr_assert_eq(apply(&a), EVENT_OK);
    cr_assert_eq(state_apply(st, other, c1, &b, detail, sizeof detail),
                 EVENT_OK);
    cr_assert_eq(state_dirty_count(st), 2);

    bool done[2] = {false, false};
    done[slot] = true;
    state_checkpoint_done_slots(st, done, 2);
    cr_assert_eq(state_dirty_count(st), 1);
    cr_assert_eq(state_dirty_get(st, 0), c1);
    int tier;
    int64_t fol;
    const int64_t *vals;
    cr_assert(state_creator_written(st, c1, &tier, &fol, &vals));
    cr_assert_eq(vals[STATE_LIKES], 3, "what the last full checkpoint wrote");
    cr_assert_eq(value("in1", 0, STATE_LIKES), 6);
    cr_assert_eq(value("in0", 0, STATE_LIKES), 4);

    state_checkpoint_done_slots(st, NULL, 0);
    cr_assert_eq(state_dirty_count(st), 0);
}

Test(state, expiry_makes_a_creator_dirty)
{
    event a = eng("quiet", T0, EVENT_LIKE, 1);
    cr_assert_eq(apply(&a), EVENT_OK);
    event b = eng("busy", T0, EVENT_LIKE, 1);
    cr_assert_eq(apply(&b), EVENT_OK);
    state_checkpoint_done(st);
    event c = eng("busy", T0 + 2 * HOUR, EVENT_LIKE, 1);
    cr_assert_eq(apply(&c), EVENT_OK);
    cr_assert_eq(state_dirty_count(st), 2, "quiet rolled, busy got an event");
}

Test(state, encode_and_restore_round_trip)
{
    event a = eng("c1", T0, EVENT_COMMENT, 3);
    a.followers = 70000;
    event b = eng("c1", T0 + 3 * HOUR, EVENT_SHARE, 4);
    event p = eng("c1", T0 + 4 * HOUR, EVENT_LIKE, 1);
    p.type = EVENT_POST;
    p.sponsored = true;
    cr_assert_eq(apply(&a), EVENT_OK);
    cr_assert_eq(apply(&b), EVENT_OK);
    cr_assert_eq(apply(&p), EVENT_OK);
    state_creator *c = creator("c1");
    buf out = BUF_INIT;
    state_creator_encode(st, c, &out);
    int64_t before[3][STATE_METRICS];
    for (size_t w = 0; w < 3; w++)
        state_creator_values(st, c, w, before[w]);
    int64_t wake = state_creator_wake(c);

    /* A second instance, same partition and watermark. */
    char err[256];
    state *st2 = state_new(cfg, err, sizeof err);
    int s2 = state_partition_add(st2, "t", 0, state_partition_watermark(st, slot));
    state_creator *r;
    cr_assert_eq(state_creator_restore(st2, s2, "c1", 2, out.data, out.len, &r,
                                       err, sizeof err), BUF_DECODED, "%s", err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(state_dirty_count(st2), 0, "a restored creator is clean");
    cr_assert_eq(state_creator_followers(r), 70000);
    cr_assert_eq(state_creator_tier(r), config_tier_index(cfg, "mid"));
    cr_assert_eq(state_creator_wake(r), wake);
    cr_assert_eq(state_creator_last_event(r), T0 + 4 * HOUR);
    for (size_t w = 0; w < 3; w++) {
        int64_t after[STATE_METRICS];
        state_creator_values(st2, r, w, after);
        cr_assert_arr_eq(after, before[w], sizeof after);
    }
    /* A corrupt blob is refused, not half-loaded. */
    out.data[out.len - 1] ^= 0x55;
    out.len--;
    state_creator *bad;
    cr_assert_eq(state_creator_restore(st2, s2, "c2", 2, out.data, out.len,
                                       &bad, err, sizeof err), BUF_CORRUPT);
    cr_assert_null(bad);
    cr_assert_null(state_creator_find(st2, "c2", 2));
    buf_free(&out);
    state_free(st2);
}

Test(state, restored_creator_with_an_overdue_wake_rolls_at_once)
{
    event a = eng("c1", T0, EVENT_LIKE, 9);
    cr_assert_eq(apply(&a), EVENT_OK);
    buf out = BUF_INIT;
    state_creator_encode(st, creator("c1"), &out);
    char err[256];
    state *st2 = state_new(cfg, err, sizeof err);
    int s2 = state_partition_add(st2, "t", 0, T0 + 2 * HOUR);
    state_creator *r;
    state_creator_restore(st2, s2, "c1", 2, out.data, out.len, &r, err,
                          sizeof err);
    cr_assert_not_null(r);
    int64_t v[STATE_METRICS];
    state_creator_values(st2, r, 0, v);
    cr_assert_eq(v[STATE_LIKES], 0);
    state_creator_values(st2, r, 1, v);
    cr_assert_eq(v[STATE_LIKES], 9);
    cr_assert_eq(state_dirty_count(st2), 1, "the roll must be written");
    int tier;
    int64_t fol;
    const int64_t *vals;
    cr_assert(state_creator_written(st2, r, &tier, &fol, &vals));
    cr_assert_eq(vals[STATE_LIKES], 9, "written = what Redis holds");
    buf_free(&out);
    state_free(st2);
}

Test(state, dropping_a_partition_forgets_its_creators)
{
    int other = state_partition_add(st, "t", 1, STATE_NO_WATERMARK);
    event a = eng("c1", T0, EVENT_LIKE, 1);
    cr_assert_eq(apply(&a), EVENT_OK);
    state_creator *c2 = state_creator_new(st, other, "c2", 2);
    char detail[256];
    event b = eng("c2", T0, EVENT_LIKE, 1);
    cr_assert_eq(state_apply(st, other, c2, &b, detail, sizeof detail), EVENT_OK);
    cr_assert_eq(state_dirty_count(st), 2);
    state_partition_drop(st, slot);
    cr_assert_eq(state_dirty_count(st), 1);
    cr_assert_null(state_creator_find(st, "c1", 2));
    cr_assert_not_null(state_creator_find(st, "c2", 2));
    cr_assert_eq(state_creator_count(st), 1);
    cr_assert_eq(state_partition_find(st, "t", 0), -1);
    cr_assert_eq(state_partition_find(st, "t", 1), other);
}

Test(state, eviction_takes_the_least_recently_active_clean_creators)
{
    event a = eng("old", T0, EVENT_LIKE, 1);
    event b = eng("mid", T0 + 1, EVENT_LIKE, 1);
    event c = eng("new", T0 + 2, EVENT_LIKE, 1);
    cr_assert_eq(apply(&a), EVENT_OK);
    cr_assert_eq(apply(&b), EVENT_OK);
    cr_assert_eq(apply(&c), EVENT_OK);
    cr_assert_eq(state_evict(st, 1), 0, "all dirty: nothing may go");
    state_checkpoint_done(st);
    event again = eng("old", T0 + 3, EVENT_LIKE, 1);
    cr_assert_eq(apply(&again), EVENT_OK); /* old is active again, and dirty */
    cr_assert_eq(state_evict(st, 1), 2);
    cr_assert_not_null(state_creator_find(st, "old", 3), "dirty: kept");
    cr_assert_null(state_creator_find(st, "mid", 3));
    cr_assert_null(state_creator_find(st, "new", 3));
    cr_assert_eq(state_creator_count(st), 1);
}

Test(state, integers_format_like_printf)
{
    const int64_t v[] = {0, 7, -7, 10, 1793491200000LL, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char a[24], b[32];
        size_t n = buf_format_int(v[i], a);
        snprintf(b, sizeof b, "%lld", (long long)v[i]);
        cr_assert_str_eq(a, b);
        cr_assert_eq(n, strlen(b));
    }
}

/* --- out of memory ----------------------------------------------------------- */

/*
 * A state with history on one partition: c1 (a nano creator with likes and
 * a sponsored post for pepsi) and c2 (likes only, a day earlier).
 */
/* A state whose detection decides into *ob (the caller frees all three). */
static state *detected(outbox **ob, detect **det)
{
    char err[256];
    state *h = state_new(cfg, err, sizeof err);
    cr_assert_not_null(h, "%s", err);
    *ob = outbox_new();
    *det = detect_new(cfg, *ob, err, sizeof err);
    cr_assert(*ob && *det);
    state_hooks hooks = detect_hooks(*det);
    state_set_hooks(h, &hooks);
    return h;
}

static state *history(int *s, outbox **ob, detect **det)
{
    char err[256];
    state *h = detected(ob, det);
    *s = state_partition_add(h, "t", 0, STATE_NO_WATERMARK);
    state_creator *c1 = state_creator_new(h, *s, "c1", 2);
    state_creator *c2 = state_creator_new(h, *s, "c2", 2);
    cr_assert(c1 && c2);
    event f = eng("c1", T0, EVENT_LIKE, 1);
    f.type = EVENT_FOLLOWERS;
    f.followers = 5000;
    event l2 = eng("c2", T0 - DAY, EVENT_LIKE, 4);
    event l1 = eng("c1", T0 + MIN, EVENT_COMMENT, 2);
    event p = eng("c1", T0 + HOUR, EVENT_LIKE, 1);
    p.type = EVENT_POST;
    p.sponsored = true;
    strcpy(p.brand, "pepsi");
    strcpy(p.sector, "beverages");
    strcpy(p.post_id, "p1");
    const event *evs[] = {&l2, &f, &l1, &p};
    for (size_t i = 0; i < 4; i++) {
        state_creator *c = state_creator_find(h, evs[i]->creator_id, 2);
        cr_assert_eq(state_apply(h, *s, c, evs[i], err, sizeof err), EVENT_OK,
                     "%s", err);
    }
    state_checkpoint_done(h);
    outbox_done(*ob, NULL, 0);
    return h;
}

/*
 * Every allocation state_apply makes may fail: a sponsored post of a
 * competing brand that moves the creator to another tier and the
 * watermark two days on (windows roll, decay evaluates, a conflict and a
 * tier change are decided).  Each failure gives EVENT_ERR_NOMEM, never a
 * refusal; where the state copes on its own (a table that cannot grow), the
 * outcome is exactly that of a run without failure.
 */
Test(state, out_of_memory_while_applying_is_never_a_refusal)
{
    event x = eng("c1", T0 + 2 * DAY, EVENT_LIKE, 1);
    x.type = EVENT_POST;
    x.sponsored = true;
    x.followers = 2000000;
    strcpy(x.brand, "coca-cola");
    strcpy(x.sector, "beverages");
    strcpy(x.post_id, "p2");
    char detail[256];

    int s;
    outbox *rob, *ob;
    detect *rdet, *det;
    state *ref = history(&s, &rob, &rdet);
    cr_assert_eq(state_apply(ref, s, state_creator_find(ref, "c1", 2), &x,
                             detail, sizeof detail), EVENT_OK);
    cr_assert_eq(outbox_count(rob), 2, "a conflict and a tier change");

    uint64_t n, nomem = 0;
    for (n = 1; n < 100000; n++) {
        state *h = history(&s, &ob, &det);
        state_creator *c1 = state_creator_find(h, "c1", 2);
        failalloc_arm(n, false);
        event_error rc = state_apply(h, s, c1, &x, detail, sizeof detail);
        uint64_t failed = failalloc_failures();
        failalloc_disarm();
        cr_assert(rc == EVENT_OK || (rc == EVENT_ERR_NOMEM && failed > 0),
                  "allocation %" PRIu64 ": %s (%s)", n, event_error_name(rc),
                  detail);
        if (rc == EVENT_OK) {
            cr_assert_eq(outbox_count(ob), outbox_count(rob));
            for (size_t i = 0; i < outbox_count(ob); i++)
                cr_assert_str_eq(outbox_get(ob, i)->json,
                                 outbox_get(rob, i)->json);
            for (size_t w = 0; w < cfg->nwindows; w++)
                for (const char *const *id = (const char *const[]){"c1", "c2",
                                                                    NULL};
                     *id; id++) {
                    int64_t got[STATE_METRICS], want[STATE_METRICS];
                    state_creator_values(h, state_creator_find(h, *id, 2), w,
                                         got);
                    state_creator_values(ref, state_creator_find(ref, *id, 2),
                                         w, want);
                    cr_assert_arr_eq(got, want, sizeof got, "%s window %zu",
                                     *id, w);
                }
        } else {
            nomem++;
            cr_assert_str_eq(detail, "out of memory applying an event");
            /* What the engine does next: drop the partition, read it back. */
            state_partition_drop(h, s);
            cr_assert_null(state_creator_find(h, "c1", 2));
            cr_assert_eq(outbox_count(ob), 0, "its alerts went with it");
        }
        state_free(h);
        detect_free(det);
        outbox_free(ob);
        if (failed == 0)
            break;
    }
    cr_assert_lt(n, 100000);
    cr_assert_gt(nomem, 5, "only %" PRIu64 " allocations failed", nomem);
    state_free(ref);
    detect_free(rdet);
    outbox_free(rob);
}

/*
 * Restoring a creator: running out of memory is BUF_NOMEM, never
 * BUF_CORRUPT (which would start the creator afresh and lose its history).
 */
Test(state, out_of_memory_while_restoring_is_not_a_corrupt_blob)
{
    int s;
    outbox *ob;
    detect *det;
    state *h = history(&s, &ob, &det);
    buf blob = BUF_INIT;
    state_creator_encode(h, state_creator_find(h, "c1", 2), &blob);
    int64_t W = state_partition_watermark(h, s) + 2 * DAY;
    int64_t want[STATE_METRICS];
    char err[256];
    {
        state *r = state_new(cfg, err, sizeof err);
        int rs = state_partition_add(r, "t", 0, W);
        state_creator *c;
        cr_assert_eq(state_creator_restore(r, rs, "c1", 2, blob.data, blob.len,
                                           &c, err, sizeof err), BUF_DECODED);
        state_creator_values(r, c, 0, want);
        state_free(r);
    }
    uint64_t n, nomem = 0;
    for (n = 1; n < 10000; n++) {
        state *r = state_new(cfg, err, sizeof err);
        int rs = state_partition_add(r, "t", 0, W);
        state_creator *c;
        failalloc_arm(n, false);
        buf_decode_result rc = state_creator_restore(r, rs, "c1", 2, blob.data,
                                                     blob.len, &c, err,
                                                     sizeof err);
        uint64_t failed = failalloc_failures();
        failalloc_disarm();
        cr_assert_neq(rc, BUF_CORRUPT, "allocation %" PRIu64 ": %s", n, err);
        if (rc == BUF_DECODED) {
            int64_t got[STATE_METRICS];
            state_creator_values(r, c, 0, got);
            cr_assert_arr_eq(got, want, sizeof got);
        } else {
            cr_assert_null(c);
            nomem++;
        }
        state_free(r);
        if (failed == 0)
            break;
    }
    cr_assert_lt(n, 10000);
    cr_assert_gt(nomem, 0);
    buf_free(&blob);
    state_free(h);
    detect_free(det);
    outbox_free(ob);
}

#include "detect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "alert.h"
#include "conflict.h"
#include "decay.h"
#include "jump.h"
#include "saturation.h"
#include "spike.h"
#include "tier.h"

struct detect {
    const config *cfg;
    outbox *ob;
    conflict_result cres;
    uint64_t unchecked;      /* sponsored posts with no known sector */
};

detect *detect_new(const config *cfg, outbox *ob, char *errstr,
                   size_t errstr_size)
{
    detect *d = calloc(1, sizeof *d);
    if (d == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    d->cfg = cfg;
    d->ob = ob;
    return d;
}

void detect_free(detect *d)
{
    if (d == NULL)
        return;
    conflict_result_free(&d->cres);
    free(d);
}

uint64_t detect_conflicts_unchecked(const detect *d)
{
    return d->unchecked;
}

static const char *tier_name(const config *cfg, int tier)
{
    return tier >= 0 && (size_t)tier < cfg->ntiers ? cfg->tiers[tier].name
                                                   : "unknown";
}

static int emit(detect *d, const state *st, const state_creator *c,
                const alert *a)
{
    size_t len;
    const char *id = state_creator_id(st, c, &len);
    return outbox_add(d->ob, state_creator_slot(c), a, id, len);
}

/* --- engagement decay ------------------------------------------------------- */

/* Whether the decay detector has anything to decide for this creator. */
static bool decay_relevant(const detect *d, state_creator *c)
{
    return state_creator_decay(c)->status != DECAY_OK ||
           config_decay_watches(d->cfg, state_creator_tier(c));
}

/* The first evaluation boundary at or after t. */
static int64_t grid_ceil(const detect *d, int64_t t)
{
    return t == INT64_MIN ? t : decay_next_evaluation(d->cfg, t - 1);
}

/* Asks for an evaluation at the first boundary at or after t. */
static void decay_schedule(detect *d, state_creator *c, int64_t t)
{
    if (decay_relevant(d, c))
        state_creator_evaluate_at(c, grid_ceil(d, t));
}

/*
 * Evaluates the decay detector at the boundary W.  Evaluations happen when
 * something that feeds the verdict changed (an engagement, a bucket leaving
 * a decay window, a tier change), when a pending creator's `for` runs out,
 * and when its history becomes long enough: at every other boundary the
 * verdict would be the same, so skipping them changes nothing.
 */
static int decay_eval(detect *d, state *st, state_creator *c, int64_t W)
{
    const config *cfg = d->cfg;
    state_creator_evaluated(c);
    int64_t current, baseline;
    state_creator_decay_sums(st, c, &current, &baseline);
    int64_t first = state_creator_first_event(c);
    decay_input in = {W, state_creator_tier(c), current, baseline, first};
    decay_verdict v;
    decay_state ds = *state_creator_decay(c);
    decay_action act = decay_evaluate(cfg, &ds, &in, &v);
    if (state_creator_set_decay(st, c, &ds) < 0)
        return -1;
    /* No verdict yet for lack of history: come back when there is. */
    if (config_decay_watches(cfg, state_creator_tier(c)) && first != INT64_MAX &&
        first > W - cfg->decay_baseline_ms)
        decay_schedule(d, c, first + cfg->decay_baseline_ms);
    if (act == DECAY_NONE)
        return 0;
    size_t len;
    alert a;
    decay_alert(&v, cfg, state_creator_id(st, c, &len), &a);
    return emit(d, st, c, &a);
}

/* --- engagement spike -------------------------------------------------------- */

static int spike_eval(detect *d, state *st, state_creator *c, int64_t W)
{
    spike_input in = {.W = W, .tier = state_creator_tier(c),
                      .first_event = state_creator_first_event(c),
                      .followers = state_creator_followers(c)};
    state_creator_spike_sums(st, c, &in.current, &in.baseline, in.actions);
    spike_verdict v;
    spike_state ss = *state_creator_spike(c);
    spike_action act = spike_evaluate(d->cfg, &ss, &in, &v);
    if (state_creator_set_spike(st, c, &ss) < 0)
        return -1;
    if (act == SPIKE_NONE)
        return 0;
    size_t len;
    alert a;
    spike_alert(&v, d->cfg, state_creator_id(st, c, &len), &a);
    return emit(d, st, c, &a);
}

/* --- follower jump ------------------------------------------------------------ */

/* ev brought c a new follower count (ev->followers, at ev->ts_ms). */
static int jump_check(detect *d, const state *st, state_creator *c,
                      const event *ev)
{
    const config *cfg = d->cfg;
    jump_input in = {ev->ts_ms, ev->followers, 0, NAN};
    jump_verdict v;
    if (!jump_observe(cfg, state_creator_jump(c), &in, &v))
        return 0;
    /* The engagement figures of the alert, only for a jump: a count comes
     * with a third of the engagements. */
    int64_t cur, base, actions[4];
    state_creator_spike_sums(st, c, &cur, &base, actions);
    v.engagements = state_creator_jump_engagements(st, c);
    /* What the older part of [spike] baseline predicts for a window as
     * long as [follower_jump] window (validated shorter). */
    if (state_creator_first_event(c) <= ev->ts_ms - cfg->spike_baseline_ms)
        v.expected = (double)(base - v.engagements) *
                     (double)cfg->jump_window_ms /
                     (double)(cfg->spike_baseline_ms - cfg->jump_window_ms);
    size_t len;
    alert a;
    jump_alert(&v, cfg, state_creator_id(st, c, &len),
               tier_name(cfg, state_creator_tier(c)), &a);
    return emit(d, st, c, &a);
}

/* --- sponsored saturation ------------------------------------------------------ */

#define SATURATION_BRANDS 16

static int saturation_eval(detect *d, state *st, state_creator *c, int64_t W)
{
    const config *cfg = d->cfg;
    saturation_input in = {.W = W, .tier = state_creator_tier(c)};
    state_creator_posts(st, c, &in.posts, &in.sponsored);
    saturation_verdict v;
    saturation_state ss = *state_creator_saturation(c);
    saturation_action act = saturation_evaluate(cfg, &ss, &in, &v);
    if (state_creator_set_saturation(st, c, &ss) < 0)
        return -1;
    if (act == SATURATION_NONE)
        return 0;
    const char *brands[SATURATION_BRANDS];
    size_t nb = conflict_brands_since(state_creator_conflict_history(c),
                                      W - cfg->saturation_window_ms, brands,
                                      SATURATION_BRANDS);
    size_t len;
    alert a;
    saturation_alert(&v, cfg, state_creator_id(st, c, &len), brands, nb, &a);
    return emit(d, st, c, &a);
}

/* The state brought c up to date at its wake time W. */
static int on_woke(void *arg, state *st, state_creator *c, int64_t W,
                   bool decay_expired)
{
    detect *d = arg;
    /* A firing spike resolves as buckets leave its window: every wake of
     * a firing creator is one (the window holds the spike's buckets). */
    if (state_creator_spike(c)->firing && spike_eval(d, st, c, W) < 0)
        return -1;
    /* Pending (its `for`) or firing (its resolve) saturation, likewise. */
    if (state_creator_saturation(c)->status != SATURATION_OK &&
        saturation_eval(d, st, c, W) < 0)
        return -1;
    if (decay_expired)
        decay_schedule(d, c, W);
    int64_t deadline = decay_deadline(state_creator_decay(c), d->cfg);
    if (W >= state_creator_evaluation(c) ||
        (deadline != INT64_MAX && W >= grid_ceil(d, deadline)))
        return decay_eval(d, st, c, W);
    return 0;
}

/* --- events ------------------------------------------------------------------ */

static int check_conflicts(detect *d, state *st, state_creator *c,
                           const event *ev, int64_t W)
{
    conflict_post post = {ev->ts_ms, ev->brand, ev->sector, ev->post_id,
                          ev->campaign_id};
    conflict_history **h = state_creator_conflicts(c);
    size_t len;
    const char *id = state_creator_id(st, c, &len);
    size_t before = conflict_memory(*h);
    conflict_prune(d->cfg, h, W);
    conflict_outcome o = conflict_check(d->cfg, h, id, len, W, &post,
                                        &d->cres);
    state_account(st, before, conflict_memory(*h));
    if (o == CONFLICT_ERROR)
        return -1;
    if (o == CONFLICT_NO_SECTOR)
        d->unchecked++;
    if (o != CONFLICT_CHECKED)
        return 0;
    for (size_t i = 0; i < d->cres.nfound; i++) {
        alert a;
        conflict_alert(&d->cres.found[i], id,
                       tier_name(d->cfg, state_creator_tier(c)), &a);
        if (emit(d, st, c, &a) < 0)
            return -1;
    }
    return 0;
}

/* The state applied ev to c (watermark W); old_tier: c's tier before. */
static int on_applied(void *arg, state *st, state_creator *c, const event *ev,
                      int64_t W, int old_tier)
{
    detect *d = arg;
    int tier = state_creator_tier(c);
    if (tier != old_tier) {
        decay_schedule(d, c, W + 1);
        /* The first classification is no change. */
        if (old_tier != TIER_UNKNOWN) {
            size_t len;
            alert a;
            alert_tier_change(&a, state_creator_id(st, c, &len),
                              tier_name(d->cfg, old_tier),
                              tier_name(d->cfg, tier),
                              state_creator_followers(c), ev->ts_ms);
            if (emit(d, st, c, &a) < 0)
                return -1;
        }
    }
    if (ev->followers >= 0 && state_creator_followers_ts(c) == ev->ts_ms &&
        state_creator_followers(c) == ev->followers &&
        jump_check(d, st, c, ev) < 0)
        return -1;
    if (ev->type == EVENT_ENGAGEMENT && ev->action <= EVENT_SAVE) {
        decay_schedule(d, c, W + 1);
        if (spike_eval(d, st, c, W) < 0)
            return -1;
    }
    if (ev->type == EVENT_POST && ev->sponsored &&
        check_conflicts(d, st, c, ev, W) < 0)
        return -1;
    /* After the conflict check: the post is in the brand history. */
    if (ev->type == EVENT_POST && saturation_eval(d, st, c, W) < 0)
        return -1;
    return 0;
}

static void on_dropped(void *arg, int slot)
{
    detect *d = arg;
    outbox_drop(d->ob, slot);
}

state_hooks detect_hooks(detect *d)
{
    state_hooks h = {on_woke, on_applied, on_dropped, d};
    return h;
}

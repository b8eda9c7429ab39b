/*
 * jump: the follower_jump detector (issue 18).  Pure: event time and the
 * values are arguments; no clock, no global state; one owner per state.
 *
 * A creator's follower counts are kept as the lowest count of each of the
 * last three half-windows of event time ([follower_jump] window = w,
 * buckets of w / 2): the reference is the lowest count seen from the start
 * of the bucket before the previous one, which covers at least w and at
 * most 1.5 w before the new count.  A new count (the latest by event time:
 * the state ignores older ones) jumps when
 *     new - reference >= min_increase x reference   and
 *     new - reference >= min_followers,
 * and a creator's first count never jumps.  A jump raises one alert
 * (firing, no resolve: a jump is an event, not a condition), then the
 * history restarts from the new count, so that the next alert needs
 * another jump of its own.  The alert_id is the fingerprint of
 * (follower_jump, creator_id, from, to, ts): a replay gives the same.
 *
 * details: from, to, the increase and its share, whether it is a round
 * number (bought followers come in packs: a multiple of 1,000, or of 100
 * under 1,000), and what the engagement rate did: the engagements of the
 * window before the count against what the creator's [spike] baseline
 * predicts for a window as long, each over the follower count it went
 * with (er_before over from, er_after over to).
 */
#ifndef ENGAGED_JUMP_H
#define ENGAGED_JUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "buf.h"
#include "config.h"

#define JUMP_BUCKETS 3

/* A creator's follower history: a plain value embedded in the creator and
 * persisted in its blob.  Zero (bucket 0, no counts) is empty. */
typedef struct jump_state {
    int64_t bucket;                 /* of low[0]; meaningless when empty */
    int64_t low[JUMP_BUCKETS];      /* lowest count of bucket - i; 0 none */
} jump_state;

/* What the detector needs besides the count. */
typedef struct jump_input {
    int64_t ts;                     /* the new count's event time */
    int64_t followers;              /* the new count, >= 0 */
    int64_t engagements;            /* in [follower_jump] window at ts */
    double expected;                /* the baseline's prediction for a
                                       window as long; NaN unknown */
} jump_input;

/* A jump: the fields of its alert. */
typedef struct jump_verdict {
    int64_t from, to, ts;
    int64_t engagements;
    double expected;
} jump_verdict;

/*
 * Takes a new follower count into *s.  Returns true when it is a jump
 * (*out filled; the history restarts from the new count), false
 * otherwise.  With [follower_jump] enabled = false it only keeps the
 * history.
 */
bool jump_observe(const config *cfg, jump_state *s, const jump_input *in,
                  jump_verdict *out);

/* Whether an increase is a round number (see the top of this file). */
bool jump_round(int64_t increase);

/*
 * Fills *a with the alert of verdict v for creator_id whose tier is now
 * tier_name (both borrowed: they must outlive *a).
 */
void jump_alert(const jump_verdict *v, const config *cfg,
                const char *creator_id, const char *tier_name, alert *a);

/* Appends *s to out (a version byte and the counts kept). */
void jump_encode(const jump_state *s, buf *out);

/* Reads what jump_encode() wrote.  Returns 0, or -1 when corrupt. */
int jump_decode(jump_state *s, const char *data, size_t len, size_t *pos);

#endif

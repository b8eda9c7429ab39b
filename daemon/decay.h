/*
 * decay: the engagement_decay detector (issue 3, alert kind 1), one small
 * state machine per creator.  Pure: the watermark and the window values are
 * arguments; no clock, no global state; any thread, one owner per state.
 *
 * With W the partition's watermark, [decay] current = c and baseline = b:
 *   current   the creator's engagements in the current window at W
 *   baseline  the engagements in the baseline window at W, which includes
 *             the current one
 *   expected  (baseline - current) x c / (b - c): what the older part of
 *             the baseline predicts for a window of length c
 *   ratio     current / expected
 *
 *            ratio < ratio                     held for `for`
 *      ok ----------------------> pending ----------------------> firing
 *       ^  <---------------------    |                              |
 *       |    ratio >= ratio          |                              |
 *       +----------------------------+------------------------------+
 *         ratio >= resolve_ratio, or the creator left the watched tiers
 *         (sends `resolved`)
 *
 * - No verdict (nothing changes but the recorded ratio) while expected <
 *   min_baseline, while expected is 0, or while the creator's first event
 *   is later than W - baseline (not enough history).  A pending creator
 *   stays pending through such evaluations, with its original
 *   pending_since; a firing one stays firing.  In particular a creator that
 *   stops entirely fires (its current drains to 0, ratio 0, critical), and
 *   once its baseline has drained below min_baseline too it stays firing,
 *   silently, until it recovers (a later evaluation with enough baseline and
 *   ratio >= resolve_ratio) or leaves the watched tiers.
 * - Severity is decided when the alert fires (critical when ratio <
 *   critical_ratio, else warning) and kept until it resolves: Alertmanager
 *   identifies an alert by its labels, severity among them, so the
 *   resolved message must carry the labels of the firing one.  For the same
 *   reason the state remembers the tier the creator had when it fired.
 * - starts_at is the W at which the alert fired; the alert_id is the
 *   fingerprint of (engagement_decay, creator_id, starts_at), the same on
 *   the firing and the resolved message and again on a replay.
 *
 * Evaluation times are the caller's: each time W crosses a bucket boundary
 * of the current window (width c / 60, decay_next_evaluation()), for every
 * watched or firing creator, whether or not it had new events; a caller
 * may also evaluate at decay_deadline() so that `for` is honoured to the
 * millisecond (the window values only change at boundaries or on events).
 */
#ifndef ENGAGED_DECAY_H
#define ENGAGED_DECAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "buf.h"
#include "config.h"

enum decay_status {
    DECAY_OK = 0,
    DECAY_PENDING,
    DECAY_FIRING
};

typedef enum decay_action {
    DECAY_NONE = 0,     /* no message to send */
    DECAY_FIRE,         /* send a `firing` alert */
    DECAY_RESOLVE       /* send a `resolved` alert */
} decay_action;

/*
 * A creator's decay state: a plain value, embedded in the creator and
 * persisted in its blob (decay_encode).  Start from decay_init().
 */
typedef struct decay_state {
    uint8_t status;         /* enum decay_status */
    uint8_t severity;       /* alert_severity while firing, else 0 */
    int16_t tier;           /* tier index when it fired, -1 otherwise */
    int64_t pending_since;  /* W when it became pending (pending only) */
    int64_t fired_at;       /* W when it fired (firing only) */
    double ratio;           /* last ratio computed for a watched creator;
                               NaN when none (not watched, expected 0) */
} decay_state;

/* The values of one evaluation (see the top of this file). */
typedef struct decay_input {
    int64_t W;              /* the partition's watermark */
    int tier;               /* the creator's tier now, or TIER_UNKNOWN */
    int64_t current;        /* engagements in the current window at W */
    int64_t baseline;       /* engagements in the baseline window at W */
    int64_t first_event;    /* the creator's first event time; INT64_MAX
                               when it has none */
} decay_input;

/* What decay_evaluate() decided; the fields of the alert to send. */
typedef struct decay_verdict {
    decay_action action;
    alert_severity severity;    /* of the incident (FIRE and RESOLVE) */
    int tier;                   /* tier index when it fired */
    int64_t current;
    double expected;
    double ratio;               /* NaN when expected is 0 */
    int64_t starts_at;          /* the W at which it fired */
    int64_t ends_at;            /* RESOLVE: this W */
    bool left_tiers;            /* RESOLVE: the creator left the tiers */
} decay_verdict;

/* Sets *s to ok, no ratio. */
void decay_init(decay_state *s);

/* "ok", "pending", "firing" (the creator hash's decay_state).  Static. */
const char *decay_state_name(const decay_state *s);

/*
 * Evaluates creator state *s at in->W with the [decay] settings of cfg.
 * The creator is watched when config_decay_watches(cfg, in->tier).
 *   - Not watched: a firing creator resolves (left_tiers); any other
 *     becomes ok.  The ratio is NaN afterwards.
 *   - Watched: the state machine at the top of this file.
 * *out is always filled (action DECAY_NONE when there is nothing to send).
 * Returns out->action.
 */
decay_action decay_evaluate(const config *cfg, decay_state *s,
                            const decay_input *in, decay_verdict *out);

/*
 * The first bucket boundary of the current window strictly after W
 * (a multiple of [decay] current / 60); INT64_MAX when it would overflow.
 */
int64_t decay_next_evaluation(const config *cfg, int64_t W);

/*
 * The W at which a pending creator fires if its ratio stays low
 * (pending_since + for); INT64_MAX when not pending.
 */
int64_t decay_deadline(const decay_state *s, const config *cfg);

/*
 * Fills *a with the alert of a FIRE or RESOLVE verdict for `creator_id`
 * (NUL-terminated, borrowed, as is the tier name taken from cfg: both must
 * outlive *a).  The tier is the one the creator had when the alert fired,
 * so that the labels of the resolved message match the firing one ("unknown"
 * if that tier is no longer configured).
 */
void decay_alert(const decay_verdict *v, const config *cfg,
                 const char *creator_id, alert *a);

/*
 * Appends *s to out: a version byte (1), then status, severity, tier,
 * pending_since, fired_at (varints) and the ratio (8 bytes): 13 to 32
 * bytes.
 */
void decay_encode(const decay_state *s, buf *out);

/*
 * Reads a state written by decay_encode() from data[*pos..len) and advances
 * *pos past it.  Returns 0, or -1 when the bytes are not such a state (*s
 * and *pos are then unspecified).
 */
int decay_decode(decay_state *s, const char *data, size_t len, size_t *pos);

#endif

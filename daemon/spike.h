/*
 * spike: the engagement_spike detector (issue 18), one small state per
 * creator.  Pure: the watermark and the window values are arguments; no
 * clock, no global state; any thread, one owner per state.
 *
 * With W the partition's watermark, [spike] window = w and baseline = b:
 *   current   the creator's engagements in the window at W
 *   baseline  its engagements in the baseline window at W (which includes
 *             the current one)
 *   expected  (baseline - current) x w / (b - w): what the older part of
 *             the baseline predicts for a window of length w
 *   multiple  current / expected
 *
 *          multiple >= ratio, current >= min_engagements,
 *          current >= min_share x followers (known),
 *          baseline - current >= min_baseline, history >= b
 *      ok ------------------------------------------------> firing
 *       ^                                                     |
 *       +-----------------------------------------------------+
 *          multiple < resolve_ratio (current 0 included): resolved
 *
 * - Evaluated at every engagement of the creator (the only thing that
 *   raises current) and, while firing, each time a bucket leaves its
 *   windows (what lowers it).  No `for`: a spike is news when it happens.
 * - Severity, decided when it fires and kept until it resolves: critical
 *   when multiple >= critical_ratio, else warning.
 * - starts_at is the W at which it fired; alert_id the fingerprint of
 *   (engagement_spike, creator_id, starts_at), the same on the firing and
 *   the resolved message and again on a replay.
 * - details name the actions in the window (likes, comments, shares,
 *   saves) and whether the spike is likes only, with no comment: the
 *   signature of engagement pods and bought likes.
 */
#ifndef ENGAGED_SPIKE_H
#define ENGAGED_SPIKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "buf.h"
#include "config.h"

/*
 * A creator's spike state: a plain value embedded in the creator and
 * persisted in its blob (spike_encode).  Zero is ok.
 */
typedef struct spike_state {
    uint8_t firing;         /* 1 while firing */
    uint8_t severity;       /* alert_severity while firing */
    int16_t tier;           /* tier index when it fired */
    int64_t fired_at;       /* W when it fired (firing only) */
} spike_state;

/* The values of one evaluation. */
typedef struct spike_input {
    int64_t W;
    int tier;               /* the creator's tier now, or TIER_UNKNOWN */
    int64_t current;        /* engagements in [spike] window at W */
    int64_t baseline;       /* engagements in [spike] baseline at W */
    int64_t first_event;    /* the creator's first event; INT64_MAX none */
    int64_t followers;      /* -1 unknown */
    int64_t actions[4];     /* likes, comments, shares, saves in the window */
} spike_input;

typedef enum spike_action {
    SPIKE_NONE = 0,
    SPIKE_FIRE,
    SPIKE_RESOLVE
} spike_action;

/* What spike_evaluate() decided: the fields of the alert to send. */
typedef struct spike_verdict {
    spike_action action;
    alert_severity severity;
    int tier;               /* tier index when it fired */
    int64_t current;
    double expected;
    double multiple;        /* NaN when expected is 0 */
    int64_t actions[4];
    int64_t starts_at;
    int64_t ends_at;        /* RESOLVE: this W */
} spike_verdict;

/*
 * Evaluates *s at in->W with cfg's [spike] settings (the state machine at
 * the top of this file), updating *s.  *out is always filled.  Returns
 * out->action.
 */
spike_action spike_evaluate(const config *cfg, spike_state *s,
                            const spike_input *in, spike_verdict *out);

/*
 * Fills *a with the alert of a FIRE or RESOLVE verdict for creator_id
 * (borrowed, as is the tier name taken from cfg: both must outlive *a).
 */
void spike_alert(const spike_verdict *v, const config *cfg,
                 const char *creator_id, alert *a);

/* Appends *s to out: firing, severity, tier, fired_at (2 to 14 bytes). */
void spike_encode(const spike_state *s, buf *out);

/* Reads what spike_encode() wrote from data[*pos..len), advancing *pos.
 * Returns 0, or -1 when the bytes are not such a state. */
int spike_decode(spike_state *s, const char *data, size_t len, size_t *pos);

#endif

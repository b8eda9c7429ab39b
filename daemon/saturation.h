/*
 * saturation: the sponsored_saturation detector (issue 18), one small
 * state machine per creator.  Pure: the watermark and the window values
 * are arguments; no clock, no global state; one owner per state.
 *
 * With W the partition's watermark and [saturation] window = w:
 *   share  the creator's sponsored posts / its posts in the window at W
 *   limit  [saturation] limit.<tier> of its tier now (limit for a tier
 *          without its own)
 *
 *          share > limit, posts >= min_posts          held for `for`
 *      ok ----------------------------------> pending ----------> firing
 *       ^  <----------------------------------   |                  |
 *       |   share <= limit, or posts < min_posts |                  |
 *       +----------------------------------------+------------------+
 *              share <= limit - resolve_margin (sends `resolved`)
 *
 * - Evaluated at each post of the creator and, while pending or firing,
 *   at each of its wakes (a bucket leaving one of its windows): `for` is
 *   honoured at the first evaluation at or after pending_since + for.
 * - No verdict while the tier is unknown (nothing changes).
 * - Severity, decided when it fires and kept: critical from twice the
 *   limit, else warning.
 * - starts_at is the W at which it fired; alert_id the fingerprint of
 *   (sponsored_saturation, creator_id, starts_at).
 */
#ifndef ENGAGED_SATURATION_H
#define ENGAGED_SATURATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "buf.h"
#include "config.h"

enum saturation_status {
    SATURATION_OK = 0,
    SATURATION_PENDING,
    SATURATION_FIRING
};

/* A creator's state: a plain value embedded in the creator and persisted
 * in its blob.  Zero is ok. */
typedef struct saturation_state {
    uint8_t status;         /* enum saturation_status */
    uint8_t severity;       /* alert_severity while firing */
    int16_t tier;           /* tier index when it fired */
    int64_t since;          /* pending: since when; firing: fired at */
} saturation_state;

typedef struct saturation_input {
    int64_t W;
    int tier;               /* now, or TIER_UNKNOWN */
    int64_t posts;          /* in the window at W */
    int64_t sponsored;      /* sponsored posts among them */
} saturation_input;

typedef enum saturation_action {
    SATURATION_NONE = 0,
    SATURATION_FIRE,
    SATURATION_RESOLVE
} saturation_action;

typedef struct saturation_verdict {
    saturation_action action;
    alert_severity severity;
    int tier;               /* when it fired */
    int64_t posts, sponsored;
    double share, limit;
    int64_t starts_at, ends_at;
} saturation_verdict;

/*
 * Evaluates *s at in->W (the state machine at the top of this file).
 * *out is always filled.  Returns out->action.
 */
saturation_action saturation_evaluate(const config *cfg, saturation_state *s,
                                      const saturation_input *in,
                                      saturation_verdict *out);

/*
 * Fills *a with the alert of a FIRE or RESOLVE verdict for creator_id;
 * brands (nbrands of them, the brands of the window's sponsored posts) are
 * borrowed like creator_id and must outlive *a.
 */
void saturation_alert(const saturation_verdict *v, const config *cfg,
                      const char *creator_id, const char *const *brands,
                      size_t nbrands, alert *a);

/* Appends *s to out (2 bytes when ok). */
void saturation_encode(const saturation_state *s, buf *out);

/* Reads what saturation_encode() wrote.  Returns 0, or -1 when corrupt. */
int saturation_decode(saturation_state *s, const char *data, size_t len,
                      size_t *pos);

#endif

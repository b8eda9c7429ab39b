/*
 * amalert: one engaged alert (schemas/alert.schema.json, as alert_json()
 * writes it) as one Alertmanager API v2 postable alert (issue 18), the
 * object that POST /api/v2/alerts takes in its array:
 *
 *   {"labels":{"alertname":KIND,"creator_id":..,"tier":..,"severity":..,
 *              ["sector":..,]"alert_id":..},
 *    "annotations":{"summary":..,"details":"<details as compact JSON>"},
 *    "startsAt":STARTS_AT,"endsAt":..,["generatorURL":..]}
 *
 * The labels are the alert's own `labels` object (the same on the firing
 * and the resolved message of one incident) plus alert_id, so that two
 * incidents of one creator stay two alerts in Alertmanager.  endsAt is the
 * alert's ends_at when resolved; when firing it is a validity ahead of
 * the time the caller passes (later than startsAt in any case), so that
 * Alertmanager resolves the alert by itself if engaged stops re-sending
 * it.
 *
 * Kinds without a resolved message (brand_conflict, tier_change,
 * follower_jump) are "one-shot": amalert_info.resolves is false, and the
 * caller posts them once and lets them expire at endsAt.
 *
 * Pure: no clock, no global state; any thread.
 */
#ifndef ENGAGED_AMALERT_H
#define ENGAGED_AMALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define AMALERT_ID_MAX 64   /* alert_id bytes kept at most, without NUL */

/* What the sink needs to know of one alert. */
typedef struct amalert_info {
    char alert_id[AMALERT_ID_MAX + 1];
    bool resolved;      /* status "resolved" */
    bool resolves;      /* its kind sends a resolved message (not one-shot) */
} amalert_info;

/*
 * Reads the alert `json` (len bytes) into *info.  Returns 0, or -1 with
 * errstr when it is not an alert (not an object, no alert_id, kind, status,
 * starts_at or labels, or an alert_id longer than AMALERT_ID_MAX).
 */
int amalert_info_read(const char *json, size_t len, amalert_info *info,
                      char *errstr, size_t errstr_size);

/*
 * Appends the postable alert of `json` (len bytes) to out, as one compact
 * JSON object (no newline), in the key order shown at the top of this
 * file.  now_ms: the wall clock, Unix ms (the caller's; this module reads
 * none); a firing alert's endsAt is max(now_ms, its starts_at) +
 * validity_ms.  generator_url: the generatorURL, or NULL or "" for none.
 * Returns 0; -1 with errstr when json is not an alert (as
 * amalert_info_read()) or when out of memory (out unchanged then, unless
 * it failed).
 */
int amalert_postable(const char *json, size_t len, int64_t now_ms,
                     int64_t validity_ms, const char *generator_url,
                     buf *out, char *errstr, size_t errstr_size);

#endif

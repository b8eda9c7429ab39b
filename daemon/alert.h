/*
 * alert: the alert message engaged sends to Kafka and to the Redis stream
 * (issue 3, "The alert message"; schemas/alert.schema.json), and the
 * fingerprints that name an incident.  Pure: no clock, no global state;
 * every function may be called from any thread.
 *
 * An alert is built as a plain `alert` value (by decay_alert(),
 * conflict_alert() or alert_tier_change()), then written as one JSON object
 * with alert_json().  Alerts are rare, so the JSON goes through jansson for
 * correctness rather than speed.
 *
 * alert_id: 16 lower-case hex digits of a 64-bit fingerprint of what
 * identifies the incident, computed from event-time values only, so that a
 * replay decides the same ids:
 *   engagement_decay  kind, creator_id, starts_at (the W at which it fired)
 *   brand_conflict    kind, creator_id, sector, the two brands sorted
 *                     (byte order), starts_at of the episode's first alert
 *   tier_change       kind, creator_id, from, to, starts_at
 *   engagement_spike  kind, creator_id, starts_at (the W at which it fired)
 *   follower_jump     kind, creator_id, from, to (counts), starts_at
 *   sponsored_saturation  kind, creator_id, starts_at (when it fired)
 * The firing and the resolved message of one incident share the id.
 */
#ifndef ENGAGED_ALERT_H
#define ENGAGED_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"

#define ALERT_ID_LEN 16     /* hex digits, without the NUL */

typedef enum alert_kind {
    ALERT_ENGAGEMENT_DECAY = 0,
    ALERT_BRAND_CONFLICT,
    ALERT_TIER_CHANGE,
    ALERT_ENGAGEMENT_SPIKE,
    ALERT_FOLLOWER_JUMP,
    ALERT_SPONSORED_SATURATION,
    ALERT_KINDS
} alert_kind;

typedef enum alert_status {
    ALERT_FIRING = 0,
    ALERT_RESOLVED
} alert_status;

typedef enum alert_severity {
    ALERT_INFO = 0,
    ALERT_WARNING,
    ALERT_CRITICAL
} alert_severity;

/* details of an engagement_decay alert */
typedef struct alert_decay_details {
    int64_t current_ms;     /* [decay] current, written "24h" */
    int64_t baseline_ms;    /* [decay] baseline, written "28d" */
    int64_t current;        /* engagements in the current window */
    double expected;        /* written with 1 decimal */
    double ratio;           /* written with 2 decimals; NaN: null */
    bool left_tiers;        /* resolved because the creator left the
                               watched tiers (changes the summary only) */
} alert_decay_details;

/* details of a brand_conflict alert; index 0 is the earlier post */
typedef struct alert_conflict_details {
    const char *sector;
    const char *brands[2];
    const char *post_ids[2];
    const char *campaign_ids[2];    /* NULL or "" when unknown */
    int64_t window_ms;              /* the sector's exclusivity window */
    int64_t apart_ms;               /* |ts1 - ts0|, for the summary */
} alert_conflict_details;

/* details of a tier_change alert */
typedef struct alert_tier_change_details {
    const char *from, *to;
    int64_t followers;
} alert_tier_change_details;

/* details of an engagement_spike alert */
typedef struct alert_spike_details {
    int64_t window_ms;      /* [spike] window, written "1h" */
    int64_t baseline_ms;    /* [spike] baseline, written "7d" */
    int64_t current;        /* engagements in the window */
    double expected;        /* written with 1 decimal */
    double multiple;        /* written with 2 decimals; NaN: null */
    int64_t actions[4];     /* likes, comments, shares, saves */
} alert_spike_details;

/* details of a follower_jump alert */
typedef struct alert_jump_details {
    int64_t window_ms;      /* [follower_jump] window */
    int64_t from, to;       /* follower counts */
    bool round;             /* the increase is a round number */
    int64_t engagements;    /* in the window, at the jump */
    double expected;        /* the baseline's prediction; NaN unknown */
} alert_jump_details;

/* details of a sponsored_saturation alert */
typedef struct alert_saturation_details {
    int64_t window_ms;      /* [saturation] window */
    int64_t posts, sponsored;
    double share, limit;    /* written with 2 decimals */
    const char *const *brands;  /* of the window's sponsored posts */
    size_t nbrands;
} alert_saturation_details;

/*
 * One alert.  Strings are borrowed (NUL-terminated UTF-8, not owned): they
 * must stay valid until alert_json()/alert_summary() return.  Only the
 * details of `kind` are read.
 */
typedef struct alert {
    alert_kind kind;
    alert_status status;        /* brand_conflict, tier_change: firing */
    alert_severity severity;
    uint64_t fingerprint;       /* alert_id */
    const char *creator_id;
    const char *tier;           /* the creator's tier name ("unknown") */
    int64_t starts_at;          /* event time, ms */
    int64_t ends_at;            /* read only when resolved */
    alert_decay_details decay;
    alert_conflict_details conflict;
    alert_tier_change_details tier_change;
    alert_spike_details spike;
    alert_jump_details jump;
    alert_saturation_details saturation;
} alert;

/* "engagement_decay", "brand_conflict", "tier_change", "engagement_spike",
 * "follower_jump", "sponsored_saturation".  Static string. */
const char *alert_kind_name(alert_kind kind);
/* "firing", "resolved".  Static string. */
const char *alert_status_name(alert_status status);
/* "info", "warning", "critical".  Static string. */
const char *alert_severity_name(alert_severity severity);

/* --- fingerprints --------------------------------------------------------- */

/*
 * A 64-bit fingerprint built field by field: FNV-1a over each field with
 * its length in front (so "ab","c" and "a","bc" differ), finished with a
 * 64-bit mixer so that every input bit moves every hex digit.  Stable
 * across hosts, builds and versions: changing it changes every alert_id.
 *   h = ALERT_FP_INIT; h = alert_fp_str(h, ...); ...; alert_fp_finish(h)
 */
#define ALERT_FP_INIT HASH_FNV1A_INIT
uint64_t alert_fp_bytes(uint64_t h, const void *data, size_t len);
uint64_t alert_fp_str(uint64_t h, const char *s);   /* NUL-terminated */
uint64_t alert_fp_i64(uint64_t h, int64_t v);
uint64_t alert_fp_finish(uint64_t h);

/* The alert_id of each kind, as in the table at the top of this file. */
uint64_t alert_decay_fingerprint(const char *creator_id, size_t len,
                                 int64_t starts_at);
/* brand_a and brand_b in either order (they are sorted here). */
uint64_t alert_conflict_fingerprint(const char *creator_id, size_t len,
                                    const char *sector, const char *brand_a,
                                    const char *brand_b, int64_t starts_at);
uint64_t alert_tier_change_fingerprint(const char *creator_id, size_t len,
                                       const char *from, const char *to,
                                       int64_t starts_at);

uint64_t alert_spike_fingerprint(const char *creator_id, size_t len,
                                 int64_t starts_at);
uint64_t alert_jump_fingerprint(const char *creator_id, size_t len,
                                int64_t from, int64_t to, int64_t starts_at);
uint64_t alert_saturation_fingerprint(const char *creator_id, size_t len,
                                      int64_t starts_at);

/* Writes fp as 16 lower-case hex digits and a NUL into out.  Returns out. */
char *alert_id_format(uint64_t fp, char out[ALERT_ID_LEN + 1]);

/* --- building and writing ------------------------------------------------- */

/*
 * Fills *a with a tier_change alert (firing, info) of a creator whose tier
 * moved from `from` to `to` at event time `ts` with `followers` followers.
 * Strings are borrowed (see struct alert).
 */
void alert_tier_change(alert *a, const char *creator_id, const char *from,
                       const char *to, int64_t followers, int64_t ts);

/*
 * The one-line summary, as snprintf: writes at most `size` bytes (NUL
 * included) and returns the length the whole summary needs.
 *   engagement_decay  "c42 (mega): engagement over 24h is 18% of its 28d
 *                     baseline" (resolved: "... is back to 75% of ...";
 *                     left the tiers: "c42 (mega): no longer in a watched
 *                     tier, engagement decay resolved")
 *   brand_conflict    "c42 (mid): sponsored posts for pepsi and coca-cola
 *                     (beverages) 10d apart" (the gap in the largest whole
 *                     unit of d, h, m, s that fits, rounded down)
 *   tier_change       "c42: tier changed from macro to mega at 1020000
 *                     followers"
 *   engagement_spike  "c42 (micro): engagement over 1h is 7.5x its 7d
 *                     baseline" (resolved: "... is back to 1.2x ...")
 *   follower_jump     "c42 (micro): followers up 25% (+5000) to 25000
 *                     within 24h"
 *   sponsored_saturation  "c42 (mid): 45% of its posts over 30d are
 *                     sponsored (limit 20%)" (resolved: "... are back to
 *                     12% ...")
 */
int alert_summary(const alert *a, char *out, size_t size);

/*
 * Appends the alert as one compact JSON object (no newline) to out, keys in
 * the order of the example: alert_id, kind, status, severity,
 * creator_id, tier, starts_at, ends_at, summary, labels, details.
 * Returns 0, or -1 when out of memory (out is then failed or unchanged).
 */
int alert_json(const alert *a, buf *out);

#endif

/*
 * oracle: the ground truth for integration tests, computed the naive way
 * from the events a test sent: every event kept, every window summed from
 * scratch at the end.  Deliberately shares no code with the daemon's core
 * (no window, tier or state module), so that the two can disagree.
 */
#ifndef ENGAGED_TEST_ORACLE_H
#define ENGAGED_TEST_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#define ORACLE_ID_MAX 64

typedef struct oracle_event {
    char creator_id[ORACLE_ID_MAX];
    int partition;
    int type;            /* 0 engagement, 1 post, 2 followers */
    int64_t ts;
    int action;          /* 0 like .. 6 conversion */
    int64_t count;
    int64_t followers;   /* -1 absent */
    bool sponsored;
    /* Campaigns (issue 16): a post's id ("" for posts: "p<ts>"), or the
     * post an engagement is on ("" none); the event's campaign_id. */
    char post_id[ORACLE_ID_MAX];
    char campaign[ORACLE_ID_MAX];
} oracle_event;

typedef struct oracle oracle;

/*
 * windows: lengths in ms (sorted); late_grace in ms; horizon_window: the
 * longest window of all, decay's baseline included (events older than
 * W - late_grace - horizon_window are too_late); default tiers.
 */
oracle *oracle_new(const int64_t *windows, size_t nwindows, int64_t late_grace,
                   int64_t horizon_window);
void oracle_free(oracle *o);

/*
 * Records an event in the order its partition delivers it.  Returns true
 * when it is accepted, false when it is too_late.
 */
bool oracle_add(oracle *o, const oracle_event *ev);

/* Serialises an event as the JSON a producer sends.  Returns its length. */
size_t oracle_json(const oracle_event *ev, char *buf, size_t size);

/*
 * Compares every creator hash and every tier hash under `prefix` with the
 * truth.  Returns the number of mismatches, and describes the first ones
 * in `why` (for the assertion message).
 */
int oracle_check_redis(const oracle *o, redisContext *c, const char *prefix,
                       char *why, size_t why_size);

/*
 * Compares every campaign hash, day hash and creator set under `prefix`
 * with the truth, worked out from the events by the rules of issue 16
 * (post_memory and max_posts as engaged's defaults unless set with
 * oracle_set_campaigns).  Returns the number of mismatches (why as above).
 */
int oracle_check_campaigns(const oracle *o, redisContext *c,
                           const char *prefix, char *why, size_t why_size);

/* [campaigns] post_memory (ms) and max_posts, when not the defaults. */
void oracle_set_campaigns(oracle *o, int64_t post_memory, int max_posts);

/* Campaigns seen, and events that counted for one. */
size_t oracle_campaigns(const oracle *o);
size_t oracle_campaign_events(const oracle *o);

/*
 * The truth of one tier hash, worked out as oracle_check_redis() does:
 * tier 0 nano .. 4 mega, -1 unknown; its creators, the sum of their
 * follower counts, and their engagements over each window (one value per
 * window given to oracle_new, in its order).
 */
void oracle_tier(const oracle *o, int tier, int64_t *creators,
                 int64_t *followers, int64_t *engagements);

/*
 * One campaign's truth, for tests of what reads it (the page, the API).
 * oracle_campaign_count: a count of its hash as schemas/redis.md names it,
 * all tiers ("engagements", "creators", "reach", "posts", ...) or one
 * ("micro.clicks", "unknown.creators"), 0 for a tier without any.  Returns
 * 0 with *value, or -1 for an unknown campaign or field (ratios are not
 * fields here: divide the counts).
 */
int oracle_campaign_count(const oracle *o, const char *id, const char *field,
                          int64_t *value);

/*
 * A count of its UTC day `date` ("2026-11-01"), 0 for a day without event.
 * Returns 0, or -1 for an unknown campaign or field.
 */
int oracle_campaign_day(const oracle *o, const char *id, const char *date,
                        const char *field, int64_t *value);

/*
 * Its creators by the engagements they brought, most first, ties in
 * Redis's order (the greater id first, as schemas/api.openapi.yaml says):
 * the first `max` into ids[] and engagements[] (caller's arrays).  Returns
 * how many (0 for an unknown campaign).
 */
size_t oracle_campaign_top(const oracle *o, const char *id, size_t max,
                           char (*ids)[ORACLE_ID_MAX], int64_t *engagements);

/* Number of distinct creators seen. */
size_t oracle_creators(const oracle *o);

#endif

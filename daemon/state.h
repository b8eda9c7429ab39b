/*
 * state: the creators, their rolling windows and tiers, and the partitions'
 * watermarks.  The pure core of engaged: it never touches the network or a
 * clock.  Events go in (state_apply); the checkpoint reads the creators that
 * changed since the last checkpoint (the dirty list) with the values they
 * had when last written, so that per-tier sums can be kept in Redis by exact
 * deltas whatever the number of instances.
 *
 * Event time: a partition's watermark W is the largest ts seen on it.  When
 * W moves, every creator of that partition whose next bucket expiry (its
 * "wake") has come is brought up to date, whether or not it has new events.
 * Wakes are processed in order of their time, each at its own time, so the
 * outcome depends only on the events in the partition, never on batching or
 * checkpoint timing.
 *
 * Memory is a cache of Redis: a creator is created empty, or restored from
 * the blob a checkpoint wrote (state_creator_encode/restore).
 *
 * Not thread-safe: one owner thread (the main loop).
 */
#ifndef ENGAGED_STATE_H
#define ENGAGED_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "buf.h"
#include "config.h"
#include "event.h"

/* The metrics of a creator and of a tier, in the order of their fields. */
enum state_metric {
    STATE_LIKES = 0,
    STATE_COMMENTS,
    STATE_SHARES,
    STATE_SAVES,
    STATE_VIEWS,
    STATE_CLICKS,
    STATE_CONVERSIONS,
    STATE_ENGAGEMENTS,      /* likes + comments + shares + saves, derived */
    STATE_POSTS,
    STATE_SPONSORED_POSTS,
    STATE_METRICS
};

#define STATE_NO_WATERMARK INT64_MIN
#define STATE_NO_WAKE INT64_MAX

typedef struct state state;
typedef struct state_creator state_creator;

/* "likes", ..., "sponsored_posts".  Static string. */
const char *state_metric_name(int metric);

/*
 * A new, empty state for `cfg`'s tiers and windows.  The state keeps a
 * pointer to cfg: it must outlive the state or be replaced with
 * state_set_config().  Returns NULL with errstr when out of memory.
 */
state *state_new(const config *cfg, char *errstr, size_t errstr_size);

/* Frees the state and every creator. NULL is fine. */
void state_free(state *st);

/*
 * Swaps in a new configuration (reload).  Only tiers and hysteresis may
 * differ from the current one: windows, late_grace and the rest are kept
 * from the old config by the caller.  Creators move tier at their next
 * follower update.
 */
void state_set_config(state *st, const config *cfg);

/*
 * After a reload reordered the tiers (same names, new minimums): map[i] is
 * the new index of the tier that had index i.  Every creator keeps its
 * tier, under its new index, until its next follower update.
 */
void state_remap_tiers(state *st, const int *map, size_t n);

/* --- partitions ----------------------------------------------------------- */

/*
 * Takes ownership of a partition whose checkpointed watermark is
 * `watermark` (STATE_NO_WATERMARK for none).  Returns its slot (>= 0), used
 * by every other call, or -1 when out of memory.
 */
int state_partition_add(state *st, const char *topic, int32_t partition,
                        int64_t watermark);

/*
 * Forgets a partition and every creator of it, dirty ones included (they
 * belong to another instance now, or will be replayed).  The slot may be
 * reused by a later state_partition_add().
 */
void state_partition_drop(state *st, int slot);

/* The slot of topic/partition, or -1 when not held. */
int state_partition_find(const state *st, const char *topic,
                         int32_t partition);

int64_t state_partition_watermark(const state *st, int slot);
size_t state_partition_creators(const state *st, int slot);

/*
 * Moves the watermark of `slot` to W when W is larger, and brings every
 * creator whose wake is <= W up to date, in order of wake time.
 * Returns 0, or -1 when out of memory: a creator may then be half brought
 * up to date, and the partition's state must be dropped
 * (state_partition_drop) and read back from Redis.
 */
int state_partition_advance(state *st, int slot, int64_t W);

/* --- creators ------------------------------------------------------------- */

/* The creator with this id, or NULL when not in memory. */
state_creator *state_creator_find(const state *st, const char *id, size_t len);

/*
 * A new creator of partition `slot` with no history (not in Redis either).
 * Returns NULL when out of memory.
 */
state_creator *state_creator_new(state *st, int slot, const char *id,
                                 size_t len);

/*
 * Restores a creator of partition `slot` from a blob written by
 * state_creator_encode().  The creator is clean: its values are those the
 * blob's checkpoint wrote.  It is brought up to date with the partition's
 * watermark at once.
 * Returns BUF_DECODED with the creator in *out; BUF_CORRUPT with errstr when
 * the blob is not readable (nothing is kept); BUF_NOMEM with errstr when
 * memory ran out: the blob is fine, and the partition's state must be
 * dropped and read back (a creator may have been half brought up to date).
 */
buf_decode_result state_creator_restore(state *st, int slot, const char *id,
                                        size_t len, const void *blob,
                                        size_t blob_len, state_creator **out,
                                        char *errstr, size_t errstr_size);

/*
 * Applies a valid event of partition `slot` to creator `c` (which must
 * belong to that slot).  An event older than W - late_grace - the longest
 * window is refused with EVENT_ERR_TOO_LATE and a sentence in detail;
 * otherwise it moves the watermark (processing due wakes), and updates the
 * creator's windows, followers, tier and last event time.
 * Returns EVENT_OK or EVENT_ERR_TOO_LATE; EVENT_ERR_NOMEM when out of
 * memory, which is no fault of the event: the creator and the partition may
 * then be half updated, so the caller must drop the partition's state
 * (state_partition_drop) and read it back from Redis, without moving past
 * the event.
 */
event_error state_apply(state *st, int slot, state_creator *c,
                        const event *ev, char *detail, size_t detail_size);

const char *state_creator_id(const state *st, const state_creator *c,
                             size_t *len);
int state_creator_slot(const state_creator *c);
int state_creator_tier(const state_creator *c);           /* or TIER_UNKNOWN */
int64_t state_creator_followers(const state_creator *c);  /* -1 unknown */
int64_t state_creator_last_event(const state_creator *c);
int64_t state_creator_wake(const state_creator *c);       /* or STATE_NO_WAKE */

/*
 * The creator's STATE_METRICS values over window `w` (index into the
 * config's windows) at the partition's watermark.  Engagements included.
 */
void state_creator_values(const state *st, const state_creator *c, size_t w,
                          int64_t *values);

/*
 * What the last checkpoint wrote for a dirty creator: its tier, followers
 * and values (window-major, STATE_METRICS per window).
 * Returns false when the creator has never been written.
 */
bool state_creator_written(const state *st, const state_creator *c,
                           int *tier, int64_t *followers,
                           const int64_t **values);

/*
 * The creator's decay state name ("ok", "pending", "firing") and last ratio
 * (NaN when none), for its hash.
 */
const char *state_creator_decay_state(const state_creator *c);
/* The wake time the last checkpoint indexed for this dirty creator; false
 * when it was never written. */
bool state_creator_written_wake(const state_creator *c, int64_t *wake);

/* Whether the last checkpoint wrote a decay_ratio for this dirty creator. */
bool state_creator_written_ratio(const state_creator *c);
double state_creator_decay_ratio(const state_creator *c);

/* Appends the creator's persistent state to out (versioned binary). */
void state_creator_encode(const state *st, const state_creator *c, buf *out);

/* --- checkpoints ---------------------------------------------------------- */

/* The creators changed since the last state_checkpoint_done(). */
size_t state_dirty_count(const state *st);
state_creator *state_dirty_get(const state *st, size_t i);

/*
 * Records that the dirty creators and the alerts were written: the current
 * values become the written ones, the dirty list and the alerts empty.
 */
void state_checkpoint_done(state *st);

/*
 * The same for the creators and alerts of the partitions a checkpoint
 * wrote, when it left others out: done[slot] says which, for slots
 * 0..nslots-1 (a slot past nslots counts as not written).  The others stay
 * dirty, in order.  done NULL: every partition.
 */
void state_checkpoint_done_slots(state *st, const bool *done, size_t nslots);

/* --- alerts ---------------------------------------------------------------- */

/*
 * An alert decided since the last checkpoint (engagement_decay,
 * brand_conflict, tier_change), already formatted.  Alerts are decided on
 * event time only, so a replay decides the same ones with the same ids.
 */
typedef struct state_alert {
    int slot;                       /* partition it belongs to */
    alert_kind kind;
    alert_status status;
    alert_severity severity;
    char alert_id[ALERT_ID_LEN + 1];
    char *creator_id;               /* the Kafka key */
    size_t creator_len;
    char *json;                     /* schemas/alert.schema.json */
    size_t json_len;
    char *summary;                  /* one readable line */
    bool sent;                      /* produced to Kafka already */
} state_alert;

/* Alerts decided since the last state_checkpoint_done(), in order. */
size_t state_alert_count(const state *st);
const state_alert *state_alert_get(const state *st, size_t i);

/* Records that alert i was produced to Kafka. */
void state_alert_set_sent(state *st, size_t i);

/* Forgets the alerts (state_checkpoint_done() does it too). */
void state_alerts_clear(state *st);

/* Sponsored posts whose sector was unknown (no conflict check), so far. */
uint64_t state_conflicts_unchecked(const state *st);

/*
 * Evicts the least recently active clean creators (their state is in Redis
 * already) until at most max remain.  They are restored from Redis when an
 * event or a bucket expiry of theirs comes.  Returns how many went.
 */
size_t state_evict(state *st, size_t max);

/* Creators in memory, and bytes held for them (approximate). */
size_t state_creator_count(const state *st);
size_t state_memory(const state *st);

#endif

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
 * checkpoint timing.  The state decides no alert: it tells detection what
 * changed, when it changed (state_hooks, detect.h), and keeps in each
 * creator what the detectors remember (decay state, sponsored posts), so
 * that it is persisted with the creator.
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

#include "buf.h"
#include "campaign.h"
#include "config.h"
#include "conflict.h"
#include "decay.h"
#include "jump.h"
#include "saturation.h"
#include "spike.h"
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

/*
 * Detection's hooks (detect.h): the state calls them as it changes, so
 * that the detectors see each creator at the exact event time the change
 * happened, wakes included; it decides nothing itself.  Each returns 0, or
 * -1 when out of memory (the state reports EVENT_ERR_NOMEM).  A NULL hook
 * is skipped.
 *   woke     c was brought up to date at its wake time W: buckets left its
 *            windows (decay_expired: one left a window engagement decay
 *            reads), a decay evaluation it asked for came, or both
 *   applied  ev was applied to c at watermark W; old_tier is its tier
 *            before (the state reclassifies on a follower count)
 *   dropped  partition `slot`'s state was dropped
 */
typedef struct state_hooks {
    int (*woke)(void *arg, state *st, state_creator *c, int64_t W,
                bool decay_expired);
    int (*applied)(void *arg, state *st, state_creator *c, const event *ev,
                   int64_t W, int old_tier);
    void (*dropped)(void *arg, int slot);
    void *arg;
} state_hooks;

/* "likes", ..., "sponsored_posts".  Static string. */
const char *state_metric_name(int metric);

/*
 * A new, empty state for `cfg`'s tiers and windows.  The state keeps a
 * pointer to cfg: it must outlive the state (a reload changes it in place,
 * config_live.h).  Returns NULL with errstr when out of memory.
 */
state *state_new(const config *cfg, char *errstr, size_t errstr_size);

/* Frees the state and every creator. NULL is fine. */
void state_free(state *st);

/* Sets the hooks (copied; NULL: none). */
void state_set_hooks(state *st, const state_hooks *h);

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

/* --- what detection keeps in a creator (detect.h) ---------------------- */

/*
 * The creator's detector states (persisted with it): read-only views, at
 * rest when the creator has none; a detector evaluates a copy and stores
 * it back with the setter, which returns 0, or -1 when out of memory (the
 * state is then unchanged).  Main thread.
 */
const decay_state *state_creator_decay(const state_creator *c);
int state_creator_set_decay(state *st, state_creator *c, const decay_state *v);

/* Asks for the creator to be woken at watermark `at` for a decay
 * evaluation (the earliest request wins). */
void state_creator_evaluate_at(state_creator *c, int64_t at);

/* The evaluation asked for, INT64_MAX for none; and clearing it. */
int64_t state_creator_evaluation(const state_creator *c);
void state_creator_evaluated(state_creator *c);

/* Engagements in the windows engagement decay reads ([decay] current and
 * baseline) at the partition's watermark. */
void state_creator_decay_sums(const state *st, const state_creator *c,
                              int64_t *current, int64_t *baseline);

/* The smallest event ts applied to the creator, INT64_MAX for none. */
int64_t state_creator_first_event(const state_creator *c);

/* Engagements in the windows engagement_spike reads ([spike] window and
 * baseline) at the partition's watermark, and the likes, comments, shares
 * and saves of the window. */
void state_creator_spike_sums(const state *st, const state_creator *c,
                              int64_t *current, int64_t *baseline,
                              int64_t actions[4]);

/* Posts and sponsored posts in [saturation] window at the partition's
 * watermark. */
void state_creator_posts(const state *st, const state_creator *c,
                         int64_t *posts, int64_t *sponsored);

/* Engagements in [follower_jump] window at the partition's watermark. */
int64_t state_creator_jump_engagements(const state *st,
                                       const state_creator *c);

const spike_state *state_creator_spike(const state_creator *c);
int state_creator_set_spike(state *st, state_creator *c, const spike_state *v);
const saturation_state *state_creator_saturation(const state_creator *c);
int state_creator_set_saturation(state *st, state_creator *c,
                                 const saturation_state *v);

/* The creator's follower history (in every creator that has a count). */
jump_state *state_creator_jump(state_creator *c);

/* The creator's kept sponsored posts (for saturation's brands). */
const conflict_history *state_creator_conflict_history(const state_creator *c);

/* The ts of the event that gave the follower count (INT64_MIN none). */
int64_t state_creator_followers_ts(const state_creator *c);

/* The creator's sponsored posts (persisted with it; NULL when none). */
conflict_history **state_creator_conflicts(state_creator *c);

/* A creator's history grew from `before` bytes to `after` (memory
 * accounting). */
void state_account(state *st, size_t before, size_t after);

/* Appends the creator's persistent state to out (versioned binary). */
void state_creator_encode(const state *st, const state_creator *c, buf *out);

/* --- checkpoints ---------------------------------------------------------- */

/* The creators changed since the last state_checkpoint_done(). */
size_t state_dirty_count(const state *st);
state_creator *state_dirty_get(const state *st, size_t i);

/*
 * Records that the dirty creators were written: the current values become
 * the written ones, the dirty list empties.
 */
void state_checkpoint_done(state *st);

/*
 * The same for the creators of the partitions a checkpoint wrote, when it left others out: done[slot] says which, for slots
 * 0..nslots-1 (a slot past nslots counts as not written).  The others stay
 * dirty, in order.  done NULL: every partition.
 */
void state_checkpoint_done_slots(state *st, const bool *done, size_t nslots);

/*
 * Evicts the least recently active clean creators (their state is in Redis
 * already) until at most max remain.  They are restored from Redis when an
 * event or a bucket expiry of theirs comes.  Returns how many went.
 */
size_t state_evict(state *st, size_t max);

/*
 * The campaign deltas of the events applied since the last checkpoint
 * (campaign.h), by partition: the checkpoint writes them, and
 * state_checkpoint_done() and state_partition_drop() clear them.
 */
const campaign_ledger *state_campaigns(const state *st);

/* Creators in memory, and bytes held for them (approximate). */
size_t state_creator_count(const state *st);
size_t state_memory(const state *st);

#endif

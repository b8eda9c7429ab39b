/*
 * store: everything engaged reads back from Redis, on the main thread's
 * connection of its own (the checkpoint writes on another, checkpoint.h):
 *   - claiming partitions (it moves the partitions' fences, so that an
 *     instance that lost them can no longer write them), with their
 *     offsets, watermarks, indexed creators and shares of the tier hashes
 *     (rebuilt and written here when stale: the other write);
 *   - the creators of a partition whose wake time has come (the wake
 *     index), and every creator a partition holds (at claim);
 *   - creators' state blobs, for the events of a batch.
 * Keys are as schemas/redis.md describes them (keys.h).  A failure drops
 * the connection, and the next call connects again.
 *
 * Main thread only.
 */
#ifndef ENGAGED_STORE_H
#define ENGAGED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "share.h"

typedef struct store store;

/* A partition to claim, and what the claim read back. */
typedef struct store_claim {
    const char *topic;      /* in */
    int32_t partition;      /* in */
    uint64_t epoch;         /* out: our new epoch; seq starts at 0 */
    int64_t offset;         /* out: next offset, or -1 when none stored */
    int64_t watermark;      /* out: or STATE_NO_WATERMARK */
    int64_t indexed;        /* out: creators of it in the wake index */
    int64_t *share;         /* in: share_rows x share_cols cells (share.h);
                             * out: the partition's share of the tier
                             * hashes, unless share_stale */
    bool share_stale;       /* out: Redis holds no current share of it:
                             * store_share_rebuild() makes one */
} store_claim;

/* The creators of a partition with a wake time in (from, to]. */
typedef struct store_range {
    const char *topic;
    int32_t partition;
    int64_t from;           /* exclusive; INT64_MIN for no bound */
    int64_t to;             /* inclusive */
} store_range;

/*
 * A store for cfg's Redis (kept by pointer: it must outlive the store).
 * Does not connect yet.  Returns NULL with errstr when out of memory.
 */
store *store_new(const config *cfg, char *errstr, size_t errstr_size);

/* Closes the connection and frees.  NULL is fine. */
void store_free(store *s);

/* Connects when needed and PINGs.  Returns 0, or -1 with errstr. */
int store_ping(store *s, char *errstr, size_t errstr_size);

/*
 * Claims n partitions in one script: bumps each one's fence epoch (seq 0)
 * and reads back its offset, watermark, the size of its wake index and
 * its share of the tier hashes (read with sh's tiers and windows; stamped
 * with the new fence when current, all zeros for a partition never
 * claimed).
 * Returns 0 with claims[].out filled, or -1 with errstr (nothing is known
 * of what Redis did: claim again).
 */
int store_claim_parts(store *s, const share *sh, store_claim *claims,
                      size_t n, char *errstr, size_t errstr_size);

/*
 * Rebuilds the share of the tier hashes of a partition just claimed whose
 * share is stale (store_claim's share_stale: an engaged without shares
 * wrote it): the sum of the hashes of the n creators of its wake index
 * (store_claim's indexed), read by rank in slices with one pipelined HMGET
 * per creator, into cells (share_rows x share_cols of sh, zeroed first).
 * Then writes it as the partition's `tier_share` hash stamped with the
 * claim's fence ("epoch:0"), unless the fence moved since (another
 * instance claimed the partition: nothing is written).
 * Returns 0, or -1 with errstr (cells then partial: claim again).
 */
int store_share_rebuild(store *s, const share *sh, const char *topic,
                        int32_t partition, int64_t n, uint64_t epoch,
                        int64_t *cells, char *errstr, size_t errstr_size);

/*
 * For each of the n ranges, calls fn(arg, i, id, len) for every creator
 * of ranges[i]'s partition whose wake time is in the range (one pipelined
 * ZRANGEBYSCORE each).  id is valid during the call only.
 * Returns 0, or -1 with errstr (fn may have been called for some).
 */
int store_due(store *s, const store_range *ranges, size_t n,
              void (*fn)(void *arg, size_t i, const char *id, size_t len),
              void *arg, char *errstr, size_t errstr_size);

/*
 * Calls fn(arg, id, len) for every creator in the wake index of
 * topic/partition, which holds n of them (store_claim's indexed), read by
 * rank in slices.  Returns 0, or -1 with errstr.
 */
int store_index(store *s, const char *topic, int32_t partition, int64_t n,
                void (*fn)(void *arg, const char *id, size_t len), void *arg,
                char *errstr, size_t errstr_size);

/*
 * Reads the state blobs of n creators (ids[i], lens[i] bytes), pipelined
 * MGETs, and calls fn(arg, i, blob, len) for each in order, blob NULL
 * when Redis has none.  blob is valid during the call only.
 * Returns 0, or -1 with errstr (fn may have been called for some).
 */
int store_fetch(store *s, const char *const *ids, const size_t *lens,
                size_t n,
                void (*fn)(void *arg, size_t i, const char *blob, size_t len),
                void *arg, char *errstr, size_t errstr_size);

#endif

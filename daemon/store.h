/*
 * store: everything engaged reads back from Redis, on the main thread's
 * connection of its own (the checkpoint writes on another, checkpoint.h):
 *   - claiming partitions (the one write here: it moves the partitions'
 *     fences, so that an instance that lost them can no longer write
 *     them), with their offsets, watermarks and indexed creators;
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

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct store store;

/* A partition to claim, and what the claim read back. */
typedef struct store_claim {
    const char *topic;      /* in */
    int32_t partition;      /* in */
    uint64_t epoch;         /* out: our new epoch; seq starts at 0 */
    int64_t offset;         /* out: next offset, or -1 when none stored */
    int64_t watermark;      /* out: or STATE_NO_WATERMARK */
    int64_t indexed;        /* out: creators of it in the wake index */
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
 * and reads back its offset, watermark and the size of its wake index.
 * Returns 0 with claims[].out filled, or -1 with errstr (nothing is known
 * of what Redis did: claim again).
 */
int store_claim_parts(store *s, store_claim *claims, size_t n, char *errstr,
                      size_t errstr_size);

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

/*
 * checkpoint: everything engaged keeps in Redis (schemas/redis.md).
 *
 * A checkpoint is one MULTI/EXEC holding Lua scripts: chunks that write the
 * changed creators (their hash, their state blob, their wake time), then one
 * that moves the partitions' fences, offsets and watermarks and applies the
 * per-tier deltas.  Every script first checks each partition's fence
 * ("epoch:seq"): a stale owner is refused (FENCED) and a checkpoint that
 * was already applied, retried after a lost reply, is recognised (DUP), so
 * that nothing is ever written twice.
 *
 * Claiming a partition bumps its epoch and reads back its offset and
 * watermark in one script, so that an instance that lost the partition can
 * no longer write it.
 *
 * The payload is sent by a writer thread of the handle's own, on a Redis
 * connection of its own, so that the main thread goes on consuming while
 * Redis works (checkpoint_build and checkpoint_send, then checkpoint_wait).
 * At most one checkpoint is in flight.  Claims, due lists and fetches use
 * the main thread's connection.
 *
 * Every function: the main thread only (the writer is internal).
 */
#ifndef ENGAGED_CHECKPOINT_H
#define ENGAGED_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "state.h"

typedef struct checkpoint checkpoint;

/* A partition as the checkpoint sees it. */
typedef struct checkpoint_part {
    const char *topic;
    int32_t partition;
    int slot;               /* state slot */
    uint64_t epoch;         /* from the claim */
    uint64_t seq;           /* checkpoints written under this epoch */
    int64_t offset;         /* next offset to consume */
    int64_t watermark;      /* STATE_NO_WATERMARK for none */
    bool fenced;            /* out: another instance owns it now */
} checkpoint_part;

/* A claim's answer. */
typedef struct checkpoint_claim {
    const char *topic;      /* in */
    int32_t partition;      /* in */
    uint64_t epoch;         /* out: our new epoch; seq starts at 0 */
    int64_t offset;         /* out: next offset, or -1 when none stored */
    int64_t watermark;      /* out: or STATE_NO_WATERMARK */
    int64_t indexed;        /* out: creators of it in the wake index */
} checkpoint_claim;

typedef enum checkpoint_result {
    CHECKPOINT_OK = 0,      /* written (or found already written) */
    CHECKPOINT_FENCED,      /* nothing written: parts[].fenced say which */
    CHECKPOINT_ERROR,       /* Redis unreachable or failing: in doubt */
    CHECKPOINT_NOT_NEW,     /* nothing written: a creator written as new
                             * (no blob when it was made) has a blob */
    CHECKPOINT_PENDING      /* checkpoint_wait: no answer yet */
} checkpoint_result;

/*
 * A handle for cfg's Redis (not yet connected), and its writer thread.
 * cfg must outlive it.  Returns NULL with errstr when out of memory or
 * when the thread cannot start.  checkpoint_free() stops the writer,
 * waiting for a payload in flight (at most the Redis timeout).
 */
checkpoint *checkpoint_new(const config *cfg, char *errstr,
                           size_t errstr_size);
void checkpoint_free(checkpoint *ck);

/*
 * Connects (when not connected), authenticates and selects the db.
 * Returns 0, or -1 with errstr ("redis 127.0.0.1:6379: Connection refused").
 */
int checkpoint_connect(checkpoint *ck, char *errstr, size_t errstr_size);
bool checkpoint_connected(const checkpoint *ck);

/* PING. Returns 0, or -1 with errstr (and drops the connection). */
int checkpoint_ping(checkpoint *ck, char *errstr, size_t errstr_size);

/*
 * Claims n partitions for this instance: bumps each one's epoch and reads
 * its offset, watermark and index size.  Returns 0, or -1 with errstr.
 */
int checkpoint_claim_parts(checkpoint *ck, checkpoint_claim *claims, size_t n,
                           char *errstr, size_t errstr_size);

/*
 * Lists the creators of the given partitions whose wake time is in
 * (from[i], to[i]] (from[i] == INT64_MIN for no lower bound), calling
 * fn(arg, i, id, len) for each.  One round trip.
 * Returns 0, or -1 with errstr.
 */
int checkpoint_due(checkpoint *ck, const checkpoint_part *parts,
                   const int64_t *from, const int64_t *to, size_t n,
                   void (*fn)(void *arg, size_t i, const char *id, size_t len),
                   void *arg, char *errstr, size_t errstr_size);

/*
 * Lists the creators in the wake index of topic/partition (every creator
 * Redis holds a blob of, for that partition), calling fn(arg, id, len) for
 * each.  n: the index size from the claim; 0 or less reads nothing.  One
 * round trip, the index read in slices of 10,000.
 * Returns 0, or -1 with errstr.
 */
int checkpoint_index(checkpoint *ck, const char *topic, int32_t partition,
                     int64_t n, void (*fn)(void *arg, const char *id, size_t len),
                     void *arg, char *errstr, size_t errstr_size);
/*
 * Reads the state blobs of n creators, calling fn(arg, i, blob, len) for
 * each, blob NULL when Redis has none.  One round trip.
 * Returns 0, or -1 with errstr.
 */
int checkpoint_fetch(checkpoint *ck, const char *const *ids,
                     const size_t *lens, size_t n,
                     void (*fn)(void *arg, size_t i, const char *blob,
                                size_t len),
                     void *arg, char *errstr, size_t errstr_size);

/*
 * Builds the checkpoint of st's dirty creators and of parts (every
 * partition whose offset or creators changed) into a payload, to be handed
 * to the writer thread by checkpoint_send().  The payload holds copies: st
 * may change as soon as this returns.  When the last answer was
 * CHECKPOINT_ERROR, nothing is built: the payload kept from then is sent
 * again unchanged whatever the arguments, until it resolves (the outcome
 * of the first send is unknown, and only the same payload can be
 * recognised as a duplicate).  Building again before a send replaces the
 * payload.  The caller calls state_checkpoint_done() right after a new
 * payload was built and sent (the written snapshot is what the payload
 * writes), and bumps each part's seq on CHECKPOINT_OK.
 * Precondition: nothing in flight (checkpoint_busy() false).  Main thread.
 * Returns 0, or -1 with errstr when out of memory (nothing built).
 */
int checkpoint_build(checkpoint *ck, const state *st,
                     const checkpoint_part *parts, size_t nparts,
                     char *errstr, size_t errstr_size);

/*
 * Hands the payload last built (or kept in doubt) to the writer thread and
 * returns at once.  parts must be the ones given to checkpoint_build() and
 * stay as they are until checkpoint_wait() answers (it writes their
 * `fenced`).  Before a payload's first send, the writer checks that none
 * of its creators that had no blob when they were made (st's creators not
 * restored from Redis and never written) has one now; if one has, nothing
 * is written and the answer is CHECKPOINT_NOT_NEW: the caller reads those
 * partitions back and looks every unseen creator up from then on.
 * Precondition: a payload built, nothing in flight.  Main thread.
 */
void checkpoint_send(checkpoint *ck, checkpoint_part *parts, size_t nparts);

/* Bytes of RESP in the last payload built, and its creators.  Main thread. */
size_t checkpoint_payload_bytes(const checkpoint *ck);
size_t checkpoint_payload_creators(const checkpoint *ck);

/* True from checkpoint_send() until checkpoint_wait() gives its answer. */
bool checkpoint_busy(const checkpoint *ck);

/*
 * The answer to the checkpoint in flight, waiting at most timeout_ms (0:
 * just look; -1: until it comes).  CHECKPOINT_PENDING when it has not come.
 * parts, nparts: the ones given to checkpoint_send(); on CHECKPOINT_FENCED
 * their `fenced` say which.  answered_ms (may be NULL): the wall clock when
 * Redis answered.  On CHECKPOINT_ERROR, errstr says why.
 */
checkpoint_result checkpoint_wait(checkpoint *ck, int timeout_ms,
                                  checkpoint_part *parts, size_t nparts,
                                  int64_t *answered_ms, char *errstr,
                                  size_t errstr_size);

/* True while a payload is in flight or in doubt (see checkpoint_send). */
bool checkpoint_in_doubt(const checkpoint *ck);

/*
 * Writes ratio a/b as a plain decimal with ten significant digits and no
 * trailing zeros ("0.0123456789").  b > 0.  Returns buf.  Pure.
 */
char *checkpoint_format_ratio(int64_t a, int64_t b, char *buf, size_t size);

#endif

/*
 * checkpoint: the checkpoint's Redis transaction (payload.h builds its
 * bytes, schemas/redis.md says what it writes): sent by a writer thread of
 * the handle's own, on a Redis connection of its own (redisconn.h), so
 * that the main thread goes on consuming while Redis works
 * (checkpoint_build and checkpoint_send, then checkpoint_wait).  At most
 * one checkpoint is in flight; one whose outcome is unknown (its link
 * failed) is kept "in doubt" and sent again unchanged, which its fence
 * recognises as a duplicate if it was applied.  Reads from Redis are the
 * store's (store.h).
 *
 * Every function: the main thread only (the writer is internal).
 */
#ifndef ENGAGED_CHECKPOINT_H
#define ENGAGED_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "outbox.h"
#include "payload.h"
#include "state.h"

typedef struct checkpoint checkpoint;

typedef enum checkpoint_result {
    CHECKPOINT_OK = 0,      /* written (or found already written) */
    CHECKPOINT_FENCED,      /* nothing written: parts[].fenced say which */
    CHECKPOINT_ERROR,       /* Redis unreachable or failing: in doubt */
    CHECKPOINT_NOT_NEW,     /* nothing written: a creator written as new
                             * (no blob when it was made) has a blob */
    CHECKPOINT_PENDING      /* checkpoint_wait: no answer yet */
} checkpoint_result;

/*
 * A checkpoint handle for cfg's Redis (cfg kept by pointer), with its
 * writer thread started; it connects at the first send.
 * Returns NULL with errstr on failure.
 */
checkpoint *checkpoint_new(const config *cfg, char *errstr,
                           size_t errstr_size);

/* Stops the writer (after the send in hand, if any) and frees.  NULL is
 * fine. */
void checkpoint_free(checkpoint *ck);

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
int checkpoint_build(checkpoint *ck, const state *st, const outbox *ob,
                     const payload_part *parts, size_t nparts,
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
void checkpoint_send(checkpoint *ck, payload_part *parts, size_t nparts);

/* Bytes of RESP in the last payload built, and its creators.  Main thread. */
size_t checkpoint_payload_bytes(const checkpoint *ck);
size_t checkpoint_payload_creators(const checkpoint *ck);

/*
 * The payload last built (or kept in doubt), owned by the handle: for its
 * share deltas (payload_share_delta) once checkpoint_wait() answered
 * CHECKPOINT_OK, its parts[i] being the parts given to checkpoint_send().
 * Not while a send is in flight (the writer reads it).  Main thread.
 */
const payload *checkpoint_payload(const checkpoint *ck);

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
                                  payload_part *parts, size_t nparts,
                                  int64_t *answered_ms, char *errstr,
                                  size_t errstr_size);

/*
 * fn(arg) is called on the writer thread as each answer comes, once
 * checkpoint_wait() can take it: to wake a main thread that waits for
 * something else (source_wake).  fn must be safe on any thread and must
 * not call into ck; NULL for none.  Main thread.
 */
typedef void checkpoint_answered_fn(void *arg);
void checkpoint_on_answer(checkpoint *ck, checkpoint_answered_fn *fn,
                          void *arg);

/* True while a payload is in flight or in doubt (see checkpoint_send). */
bool checkpoint_in_doubt(const checkpoint *ck);

#endif

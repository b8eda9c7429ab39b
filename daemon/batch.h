/*
 * batch: the messages in hand, from Kafka to the state.  Up to BATCH_MAX
 * messages are polled from the source at once (batch_fill); each is
 * parsed once (event.h) and the creators they need are loaded from Redis
 * in one round trip for the whole batch, along with the creators whose
 * bucket expiry falls within it (batch_prepare); then each event is
 * applied to the state in offset order, and each refused message goes to
 * the dead-letter queue with its reason (batch_apply).
 *
 * Running out of memory is never a refusal: the partition concerned is
 * marked (partition.nomem) and its remaining messages are left, for the
 * loop to read the partition back from Redis (partitions_rewind).
 *
 * Main thread only.
 */
#ifndef ENGAGED_BATCH_H
#define ENGAGED_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "config.h"
#include "metrics.h"
#include "partitions.h"
#include "sink.h"
#include "source.h"
#include "state.h"
#include "store.h"

#define BATCH_MAX 1024  /* messages per batch */

typedef struct batch batch;

/*
 * Called for every message batch_apply() moves past (applied or refused),
 * with its partition's entry index.
 */
typedef void batch_applied_fn(void *arg, const rd_kafka_message_t *m,
                              int part);

/*
 * An empty batch.  Every pointer is borrowed and must outlive it.
 * Returns NULL with errstr when out of memory.
 */
batch *batch_new(const config *cfg, partitions *ps, state *st, store *db,
                 sink *snk, metrics *m, char *errstr, size_t errstr_size);

/* Destroys the messages in hand and frees.  NULL is fine. */
void batch_free(batch *b);

/* Messages in hand. */
size_t batch_size(const batch *b);

/*
 * Polls the source for up to timeout_ms, then takes what is already there
 * without waiting, up to BATCH_MAX messages.  Messages of partitions not
 * claimed or paused, and every message while `drop` (Redis unreachable),
 * are dropped: they are read again on resume.  Rebalance callbacks run
 * inside.
 */
void batch_fill(batch *b, source *src, int timeout_ms, bool drop);

/*
 * Parses the batch and loads from Redis every creator it needs.
 * Returns 0; or -1 with errstr, the batch kept for a retry: when Redis
 * failed, or memory ran out (then some partitions may be marked nomem).
 */
int batch_prepare(batch *b, int64_t now_wall_ms, char *errstr,
                  size_t errstr_size);

/*
 * Applies the prepared batch in order: each valid event to the state,
 * each refused message to the DLQ (waiting for room in the producer's
 * queue, never dropping one), and moves each partition's next_offset past
 * them, calling fn for each.  Messages read again after a pause, and those
 * of partitions forgotten or read back since they were polled, are
 * skipped.  Empties the batch.
 */
void batch_apply(batch *b, batch_applied_fn *fn, void *arg);

/* Destroys the messages in hand without applying them. */
void batch_clear(batch *b);

#endif

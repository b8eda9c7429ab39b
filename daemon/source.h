/*
 * source: engaged's Kafka consumer.  One consumer in group.id over the
 * configured topics, cooperative-sticky assignment, no automatic offset
 * store or commit: offsets live in Redis with the state they produced
 * (checkpoint.h), and are committed to Kafka afterwards only for lag tools.
 *
 * Rebalances are handed to the owner's callbacks, called from inside
 * source_poll():
 *   - assigned(arg, list): new partitions.  The owner claims them and calls
 *     source_assign() with their offsets, now or later (while Redis is
 *     unreachable, say).
 *   - revoked(arg, list): partitions leaving.  The owner checkpoints and
 *     forgets them; the source then unassigns them.
 *
 * Main thread only.  A thread of the source's own nudges librdkafka's
 * fetcher when the prefetch queue runs low (source.c says why).
 */
#ifndef ENGAGED_SOURCE_H
#define ENGAGED_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "config.h"

typedef struct source source;

typedef struct source_callbacks {
    void (*assigned)(void *arg, const rd_kafka_topic_partition_list_t *parts);
    void (*revoked)(void *arg, const rd_kafka_topic_partition_list_t *parts,
                    bool lost);
    void *arg;
} source_callbacks;

/*
 * Creates the consumer and subscribes.  cb is copied.
 * Returns NULL with errstr ("FILE:LINE: librdkafka: ...") on failure.
 */
source *source_new(const config *cfg, const char *bootstrap,
                   const source_callbacks *cb, char *errstr,
                   size_t errstr_size);

/*
 * The next message or event, or NULL after timeout_ms.  The caller owns the
 * message (rd_kafka_message_destroy) and must check its err.
 */
rd_kafka_message_t *source_poll(source *s, int timeout_ms);

/*
 * Starts consuming topic/partition at offset (RD_KAFKA_OFFSET_BEGINNING or
 * _END when none is known), not paused even if it was when last held.
 * Returns 0 or -1 with errstr.
 */
int source_assign(source *s, const char *topic, int32_t partition,
                  int64_t offset, char *errstr, size_t errstr_size);

/*
 * Stops (pause) or restarts (resume) fetching a partition.  Resuming first
 * seeks to `offset` when >= 0 or RD_KAFKA_OFFSET_BEGINNING, so that messages
 * fetched before the pause and dropped by the owner are read again.
 */
void source_pause(source *s, const char *topic, int32_t partition);
void source_resume(source *s, const char *topic, int32_t partition,
                   int64_t offset);

/*
 * Commits offsets (next offset to consume) to Kafka, asynchronously, for
 * lag tools only.
 */
void source_commit(source *s, const rd_kafka_topic_partition_list_t *offsets);

/*
 * Leaves the group: the revocation callbacks run on the calling thread (the
 * one that polls).  Waits at most session.timeout.ms, then logs a warning
 * and gives up leaving: librdkafka 2.0 can otherwise wait for ever.  Call
 * once, before source_free(), which closes it too if it was not.
 */
void source_close(source *s);
void source_free(source *s);

/*
 * Makes a source_poll() waiting on another thread return at once (NULL
 * when no message came), or the next one that would wait, if none waits
 * now.  For the checkpoint's writer: an answer is looked at when it comes,
 * not when the wait for messages ends.  Any thread, while s lives.
 */
void source_wake(source *s);

/*
 * How many times the fetcher was nudged: the prefetch queue fell below half
 * its cap after being above it.  Any thread.
 */
uint64_t source_nudges(const source *s);

/* Consumer lag of a partition from the last fetch, or -1 when unknown. */
int64_t source_lag(source *s, const char *topic, int32_t partition,
                   int64_t next_offset);

#endif

/*
 * sink: engaged's Kafka producer, for the dead-letter queue (and alerts).
 * Idempotent producer; a message whose delivery fails is kept and produced
 * again, so that a checkpoint only commits once everything before it is in
 * Kafka (sink_flush).  Nothing is dropped.
 *
 * Main thread only (delivery reports are served from sink_send and
 * sink_flush).
 */
#ifndef ENGAGED_SINK_H
#define ENGAGED_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "config.h"

typedef struct sink sink;

/* Returns NULL with errstr ("FILE:LINE: librdkafka: ...") on failure. */
sink *sink_new(const config *cfg, const char *bootstrap, char *errstr,
               size_t errstr_size);

/* Flushes what it can within 5 s, then frees.  NULL is fine. */
void sink_free(sink *s);

/*
 * Sends a refused message to the DLQ topic: its original key and value,
 * with the headers `error` (reason code), `detail` and `source`
 * ("topic:partition:offset").  The message is copied.  A value too
 * large for the producer or the broker goes as its first 64 KiB, with a
 * `truncated` header holding the original size.
 * Returns 0, or -1 with errstr when the producer refuses it outright (its
 * queue is full: flush and retry).
 */
int sink_dlq(sink *s, const rd_kafka_message_t *msg, const char *reason,
             const char *detail, char *errstr, size_t errstr_size);

/*
 * Sends `value` to `topic` with `key` (both copied).  For alerts.
 * Returns 0 or -1 with errstr.
 */
int sink_send(sink *s, const char *topic, const void *key, size_t keylen,
              const void *value, size_t len, char *errstr, size_t errstr_size);

/*
 * Waits up to timeout_ms until every message produced so far is delivered,
 * producing failed ones again.  Returns 0 when all are in Kafka, -1 with
 * errstr otherwise (nothing is lost: call again).
 */
int sink_flush(sink *s, int timeout_ms, char *errstr, size_t errstr_size);

/*
 * True once a failed delivery could not be kept for a retry (out of
 * memory): the message is gone, sink_flush() fails from then on, and the
 * caller must stop without checkpointing, so that a restart produces it
 * again from the last checkpoint.
 */
bool sink_lost(const sink *s);

#endif

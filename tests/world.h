/*
 * world: what an integration test needs around the daemon: a real
 * redis-server, a librdkafka mock cluster, the ground truth (oracle) of the
 * events sent, and waiting for the daemon to catch up.  Test main thread.
 */
#ifndef ENGAGED_TEST_WORLD_H
#define ENGAGED_TEST_WORLD_H

#include <stdint.h>

#include "harness.h"
#include "oracle.h"

#define TOPIC "engagement.events"
#define DLQ "engagement.dlq"
#define ALERTS "engagement.alerts"
#define ALERTS_B "engagement.alerts.b"  /* for a second daemon */
#define NPART 4
#define MIN INT64_C(60000)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 INT64_C(1793491200000) /* 2026-11-01T00:00:00Z */

typedef struct world {
    harness_redis *redis;
    harness_kafka *kafka;
    oracle *truth;
    int64_t produced[NPART];
    char config[4096];      /* base config, then extra_config */
} world;

extern world W;

/* Starts Redis and Kafka and writes W.config (extra_config appended). */
void world_up(const char *extra_config);
void world_down(void);

/* The partition the tests put a creator on. */
int world_partition_of(const char *id);

/* Produces a valid event and records it in the ground truth. */
void world_send(oracle_event ev);

/* Produces anything on a partition, outside the ground truth. */
void world_send_raw(int partition, const char *key, const char *value,
                    size_t len);

/* An engagement event value (followers -1). */
oracle_event world_engagement(const char *id, int64_t ts, int action,
                              int64_t count);

/* A deterministic mixed stream over `ncreators` creators of all tiers. */
void world_send_stream(int n, int ncreators, uint64_t seed, int64_t start,
                       int64_t span);

/* Nonzero when Redis's offsets cover every message produced so far. */
int world_caught_up(void *unused);

/* Flushes the producer and waits for world_caught_up (asserts). */
void world_wait_caught_up(int timeout_ms);

/* Sum of the offsets Redis holds for the topic. */
int64_t world_offsets_sum(void);

/* Asserts every creator and tier hash equals the ground truth. */
void world_assert_truth(void);

/* HGET as an integer, -1 when absent. */
int64_t world_hget_int(const char *key, const char *field);

#endif

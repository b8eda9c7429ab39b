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
#define NPART 4           /* partitions of world_up's topics */
#define WORLD_MAXPART 16  /* at most, with world_up_cluster */
#define MIN INT64_C(60000)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 INT64_C(1793491200000) /* 2026-11-01T00:00:00Z */

typedef struct world {
    harness_redis *redis;
    harness_kafka *kafka;
    oracle *truth;
    int64_t produced[WORLD_MAXPART];
    char config[4096];      /* base config, then extra_config */
    int nparts;             /* partitions of each topic: NPART by default */
    int nbrokers;
} world;

extern world W;

/* Starts Redis and Kafka and writes W.config (extra_config appended). */
void world_up(const char *extra_config);
void world_down(void);

/*
 * world_up with a mock cluster of `brokers` brokers (1..) and topics of
 * `partitions` partitions (1..WORLD_MAXPART): world_partition_of, the
 * offsets helpers and world_caught_up follow that count.
 */
void world_up_cluster(const char *extra_config, int brokers, int partitions);

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

/* Redis's offset for one partition of the topic (0 when none). */
int64_t world_offset_of(int partition);

/* HGET as an integer, -1 when absent. */
int64_t world_hget_int(const char *key, const char *field);

/*
 * A long deterministic stream produced in parts: world_stream_send sends the
 * next `count` events (fewer at the end) through world_send, so a test can
 * keep the mock cluster's per-partition log short by consuming between
 * parts.  Unlike world_send_stream, follower counts change rarely and only
 * for one creator in ten, so that tier changes (and their alerts) stay a
 * few hundred; every tier change the ground truth sees is recorded, as
 * engaged must alert it: a known tier changing to another.
 */
typedef struct world_tier_change {
    int creator;          /* the stream's creator number: "s<creator>" */
    int from, to;         /* 0 nano .. 4 mega */
    int64_t followers;
    int64_t ts;
} world_tier_change;

/*
 * A follower_jump engaged must alert (daemon/jump.h, default settings):
 * the new count is at least 20% and 1,000 above the lowest count seen
 * since the creator's last jump in the last three 12-hour buckets.
 */
typedef struct world_jump {
    int creator;
    int64_t from, to, ts;
} world_jump;

typedef struct world_stream {
    int n, ncreators, sent;
    uint64_t x;
    int64_t start, span;
    int64_t *followers, *followers_ts;  /* per creator, -1 / INT64_MIN */
    int *tier;                          /* per creator, -1 unknown */
    world_tier_change *changes;
    size_t nchanges, cap;
    /* per creator, the counts since its last jump (ground truth of jumps) */
    struct world_counts { int64_t *ts, *n; size_t len, cap; } *counts;
    world_jump *jumps;
    size_t njumps, jcap;
} world_stream;

void world_stream_init(world_stream *s, int n, int ncreators, uint64_t seed,
                       int64_t start, int64_t span);
/* Returns how many were sent (0 once all n were). */
int world_stream_send(world_stream *s, int count);
void world_stream_free(world_stream *s);

/*
 * librdkafka settings for quicker group changes than its defaults (10 s,
 * 3 s): a member that stops heartbeating is noticed after 3 s, a rebalance
 * after half a second.  For extra_config.
 */
#define WORLD_FAST_GROUP                                                      \
    "[kafka]\nsession.timeout.ms = 3000\nheartbeat.interval.ms = 500\n"

/* Starts a daemon on W.config plus `extra` (may be NULL); asserts. */
harness_daemon *world_daemon(const char *extra);

/*
 * Sends SIGTERM and asserts a clean exit (status 0: the final checkpoint
 * was written) within 30 s, then releases the handle.
 */
void world_daemon_stop_clean(harness_daemon *d);

/*
 * Nonzero when Redis has every produced event of the partitions whose bits
 * are set in *(const unsigned *)mask.  For harness_wait.
 */
int world_caught_up_on(void *mask);

/*
 * The partitions of TOPIC a daemon holds now, as a bit mask (bit p for
 * partition p), read from its log: "partition assigned" adds one;
 * "partition revoked", "partition lost" and "partition fenced" remove it.
 */
unsigned world_held(const harness_daemon *d);

/*
 * From a daemon's debug log: how many checkpoints were written, and how
 * many of them left some of the W.nparts partitions out (partial); the
 * most creators one of them wrote goes to *biggest when not NULL.
 */
int world_checkpoints_written(const harness_daemon *d, int *partial,
                              int *biggest);

/* The names of the tiers, "nano" .. "mega", by number. */
const char *world_tier_name(int tier);

#endif

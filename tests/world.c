#include "world.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

world W;

static const int64_t windows[] = {HOUR, DAY, 7 * DAY};

void world_up(const char *extra_config)
{
    memset(&W, 0, sizeof W);
    W.redis = harness_redis_start();
    cr_assert_not_null(W.redis);
    const char *topics[] = {TOPIC, DLQ, ALERTS, ALERTS_B};
    W.kafka = harness_kafka_start(1, NPART, topics, 4);
    cr_assert_not_null(W.kafka);
    W.truth = oracle_new(windows, 3, 5 * MIN, 28 * DAY);
    snprintf(W.config, sizeof W.config,
             "[kafka]\nbootstrap.servers = %s\nsession.timeout.ms = 6000\n"
             "[redis]\nport = %d\n"
             "[http]\nlisten =\n"
             "[metrics]\nmax_future = 3650d\n"
             "[checkpoint]\ninterval_ms = 100\n"
             "[log]\nlevel = debug\n%s",
             harness_kafka_bootstrap(W.kafka), harness_redis_port(W.redis),
             extra_config ? extra_config : "");
}

void world_down(void)
{
    oracle_free(W.truth);
    harness_kafka_stop(W.kafka);
    harness_redis_stop(W.redis);
}

int world_partition_of(const char *id)
{
    uint32_t h = 2166136261u;
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return (int)(h % NPART);
}

void world_send(oracle_event ev)
{
    char json[512];
    ev.partition = world_partition_of(ev.creator_id);
    size_t n = oracle_json(&ev, json, sizeof json);
    oracle_add(W.truth, &ev);
    cr_assert_eq(harness_kafka_produce(W.kafka, TOPIC, ev.partition,
                                       ev.creator_id, strlen(ev.creator_id),
                                       json, n),
                 0);
    W.produced[ev.partition]++;
}

void world_send_raw(int partition, const char *key, const char *value,
                    size_t len)
{
    cr_assert_eq(harness_kafka_produce(W.kafka, TOPIC, partition, key,
                                       key ? strlen(key) : 0, value, len),
                 0);
    W.produced[partition]++;
}

oracle_event world_engagement(const char *id, int64_t ts, int action,
                              int64_t count)
{
    oracle_event e;
    memset(&e, 0, sizeof e);
    snprintf(e.creator_id, sizeof e.creator_id, "%s", id);
    e.type = 0;
    e.ts = ts;
    e.action = action;
    e.count = count;
    e.followers = -1;
    return e;
}

void world_send_stream(int n, int ncreators, uint64_t seed, int64_t start,
                       int64_t span)
{
    static const int64_t base[] = {2000, 9800, 30000, 200000, 990000, 3000000};
    uint64_t x = seed * 2654435761u + 1;
    for (int i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t r = (uint32_t)(x >> 33);
        int c = (int)(r % (uint32_t)ncreators);
        if (r % 3 == 0)
            c = (int)(r % 7 % (uint32_t)ncreators); /* a few busy ones */
        char id[32];
        snprintf(id, sizeof id, "cr%d", c);
        /* Time moves forward with some arrivals up to 20 min late. */
        int64_t ts = start + span * i / n - (int64_t)(r % 1200) * 1000;
        oracle_event e = world_engagement(id, ts, (int)(r >> 3) % 7,
                                          1 + (int64_t)(r >> 7) % 5);
        uint32_t kind = (r >> 11) % 100;
        if (kind < 5) {
            e.type = 1;
            e.sponsored = (r >> 17) % 4 == 0;
        } else if (kind < 8) {
            e.type = 2;
        }
        if (e.type == 2 || kind % 3 == 0) {
            /* Follower counts wander around tier boundaries. */
            int64_t b = base[c % 6];
            e.followers = b - b / 10 + (int64_t)((r >> 13) % 1000) * b / 5000;
        }
        world_send(e);
    }
}

static int64_t offset_of(int p)
{
    char tp[64];
    snprintf(tp, sizeof tp, TOPIC ":%d", p);
    char *v = harness_redis_hget(W.redis, "eng:offsets:engaged", tp);
    int64_t o = v ? strtoll(v, NULL, 10) : 0;
    free(v);
    return o;
}

int world_caught_up(void *unused)
{
    (void)unused;
    for (int p = 0; p < NPART; p++)
        if (W.produced[p] != 0 && offset_of(p) != W.produced[p])
            return 0;
    return 1;
}

void world_wait_caught_up(int timeout_ms)
{
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    cr_assert_eq(harness_wait(world_caught_up, NULL, timeout_ms), 0,
                 "the daemon did not checkpoint every message in time");
}

int64_t world_offsets_sum(void)
{
    int64_t sum = 0;
    for (int p = 0; p < NPART; p++)
        sum += offset_of(p);
    return sum;
}

void world_assert_truth(void)
{
    char why[2048];
    int bad = oracle_check_redis(W.truth, harness_redis_ctx(W.redis), "eng:",
                                 why, sizeof why);
    cr_assert_eq(bad, 0, "%d values differ from the ground truth: %s", bad, why);
}

int64_t world_hget_int(const char *key, const char *field)
{
    char *v = harness_redis_hget(W.redis, key, field);
    int64_t x = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return x;
}

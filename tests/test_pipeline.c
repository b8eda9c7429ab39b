/*
 * Integration: the real daemon binary against a real redis-server and a
 * librdkafka mock cluster, checked against the oracle's ground truth.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "oracle.h"

#define TOPIC "engagement.events"
#define DLQ "engagement.dlq"
#define NPART 4
#define MIN INT64_C(60000)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 INT64_C(1793491200000) /* 2026-11-01T00:00:00Z */

static const int64_t windows[] = {HOUR, DAY, 7 * DAY};

typedef struct world {
    harness_redis *redis;
    harness_kafka *kafka;
    oracle *truth;
    int64_t produced[NPART];
    char config[2048];
} world;

static world W;

static void world_up(const char *extra_config)
{
    memset(&W, 0, sizeof W);
    W.redis = harness_redis_start();
    cr_assert_not_null(W.redis);
    const char *topics[] = {TOPIC, DLQ, "engagement.alerts"};
    W.kafka = harness_kafka_start(1, NPART, topics, 3);
    cr_assert_not_null(W.kafka);
    W.truth = oracle_new(windows, 3, 5 * MIN);
    snprintf(W.config, sizeof W.config,
             "[kafka]\nbootstrap.servers = %s\nsession.timeout.ms = 6000\n"
             "[redis]\nport = %d\n"
             "[metrics]\nmax_future = 3650d\n"
             "[checkpoint]\ninterval_ms = 100\n"
             "[log]\nlevel = debug\n%s",
             harness_kafka_bootstrap(W.kafka), harness_redis_port(W.redis),
             extra_config ? extra_config : "");
}

static void world_down(void)
{
    oracle_free(W.truth);
    harness_kafka_stop(W.kafka);
    harness_redis_stop(W.redis);
}

static int partition_of(const char *id)
{
    uint32_t h = 2166136261u;
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return (int)(h % NPART);
}

/* Produces a valid event and records it in the ground truth. */
static void send_event(oracle_event ev)
{
    char json[512];
    ev.partition = partition_of(ev.creator_id);
    size_t n = oracle_json(&ev, json, sizeof json);
    oracle_add(W.truth, &ev);
    cr_assert_eq(harness_kafka_produce(W.kafka, TOPIC, ev.partition,
                                       ev.creator_id, strlen(ev.creator_id),
                                       json, n),
                 0);
    W.produced[ev.partition]++;
}

/* Produces anything, outside the ground truth. */
static void send_raw(int partition, const char *key, const char *value,
                     size_t len)
{
    cr_assert_eq(harness_kafka_produce(W.kafka, TOPIC, partition, key,
                                       key ? strlen(key) : 0, value, len),
                 0);
    W.produced[partition]++;
}

static oracle_event engagement(const char *id, int64_t ts, int action,
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

/* A deterministic mixed stream over `ncreators` creators of all tiers. */
static void send_stream(int n, int ncreators, uint64_t seed, int64_t start,
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
        oracle_event e = engagement(id, ts, (int)(r >> 3) % 7,
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
        send_event(e);
    }
}

typedef struct done_arg {
    harness_redis *redis;
    const int64_t *want;
} done_arg;

/* True when Redis's offsets say every produced message was processed. */
static int caught_up(void *arg)
{
    const done_arg *d = arg;
    for (int p = 0; p < NPART; p++) {
        if (d->want[p] == 0)
            continue;
        char tp[64];
        snprintf(tp, sizeof tp, TOPIC ":%d", p);
        char *v = harness_redis_hget(d->redis, "eng:offsets:engaged", tp);
        int ok = v != NULL && strtoll(v, NULL, 10) == d->want[p];
        free(v);
        if (!ok)
            return 0;
    }
    return 1;
}

static void wait_caught_up(int timeout_ms)
{
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    done_arg d = {W.redis, W.produced};
    cr_assert_eq(harness_wait(caught_up, &d, timeout_ms), 0,
                 "the daemon did not checkpoint every message in time");
}

static void assert_truth(void)
{
    char why[2048];
    int bad = oracle_check_redis(W.truth, harness_redis_ctx(W.redis), "eng:",
                                 why, sizeof why);
    cr_assert_eq(bad, 0, "%d values differ from the ground truth: %s", bad, why);
}

static int64_t hget_int(const char *key, const char *field)
{
    char *v = harness_redis_hget(W.redis, key, field);
    int64_t x = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return x;
}

/* --- tests ---------------------------------------------------------------- */

Test(pipeline, creator_and_tier_hashes_match_the_ground_truth, .timeout = 120)
{
    world_up(NULL);
    send_stream(4000, 80, 1, T0, 10 * DAY);
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    wait_caught_up(60000);
    assert_truth();
    cr_assert_eq(oracle_creators(W.truth), 80);
    harness_daemon_stop(d);
    world_down();
}

Test(pipeline, windows_roll_for_creators_without_new_events, .timeout = 120)
{
    world_up(NULL);
    /* "quiet" and "busy" share a partition; only busy keeps posting. */
    char busy[32] = "busy0";
    for (int i = 1; partition_of(busy) != partition_of("quiet"); i++)
        snprintf(busy, sizeof busy, "busy%d", i);
    oracle_event q = engagement("quiet", T0, 0, 7);
    q.followers = 20000;
    send_event(q);
    send_event(engagement(busy, T0 + MIN, 0, 1));
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    wait_caught_up(60000);
    cr_assert_eq(hget_int("eng:creator:quiet", "likes_1h"), 7);
    cr_assert_eq(hget_int("eng:tier:micro", "likes_1h"), 7);

    /* Two hours later on the same partition: quiet's hour has passed. */
    send_event(engagement(busy, T0 + 2 * HOUR, 0, 1));
    wait_caught_up(60000);
    cr_assert_eq(hget_int("eng:creator:quiet", "likes_1h"), 0);
    cr_assert_eq(hget_int("eng:creator:quiet", "likes_24h"), 7);
    cr_assert_eq(hget_int("eng:tier:micro", "likes_1h"), 0);
    cr_assert_eq(hget_int("eng:tier:micro", "likes_24h"), 7);

    /* Eight days later even the week has passed. */
    send_event(engagement(busy, T0 + 8 * DAY, 0, 1));
    wait_caught_up(60000);
    cr_assert_eq(hget_int("eng:creator:quiet", "likes_7d"), 0);
    cr_assert_eq(hget_int("eng:tier:micro", "likes_7d"), 0);
    assert_truth();
    harness_daemon_stop(d);
    world_down();
}

static const char *header(const harness_msg *m, const char *name)
{
    const char *v = harness_msg_header(m, name);
    return v ? v : "(absent)";
}

Test(pipeline, refused_messages_go_to_the_dlq_with_reason_and_source,
     .timeout = 120)
{
    world_up("[kafka]\nmax_event_bytes = 1000\n");
    int p = partition_of("c1");
    send_event(engagement("c1", T0 + 10 * DAY, 0, 1));
    const char *bad_json = "{\"type\":";
    send_raw(p, "c1", bad_json, strlen(bad_json));
    const char *bad_count = "{\"type\":\"engagement\",\"creator_id\":\"c1\","
                            "\"ts\":1793491200000,\"action\":\"like\",\"count\":0}";
    send_raw(p, "c1", bad_count, strlen(bad_count));
    char big[2000];
    memset(big, ' ', sizeof big);
    memcpy(big, "{}", 2);
    send_raw(p, "c1", big, sizeof big);
    char late[256];
    snprintf(late, sizeof late,
             "{\"type\":\"engagement\",\"creator_id\":\"c1\",\"ts\":%" PRId64
             ",\"action\":\"like\"}", T0);
    send_raw(p, "c1", late, strlen(late));
    const char *other = "{\"type\":\"engagement\",\"creator_id\":\"c2\","
                        "\"ts\":1794355200000,\"action\":\"like\"}";
    send_raw(p, "c1", other, strlen(other));
    send_raw(p, NULL, other, strlen(other));
    send_event(engagement("c1", T0 + 10 * DAY + 1, 1, 2));

    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    wait_caught_up(60000);
    size_t n = 0;
    harness_msg *m = harness_kafka_consume(W.kafka, DLQ, 6, 30000, &n);
    cr_assert_eq(n, 6, "DLQ holds %zu messages", n);
    static const char *const reasons[] = {"invalid_json", "invalid_event",
                                          "too_large", "too_late",
                                          "key_mismatch", "key_mismatch"};
    /* DLQ messages are partitioned by their key: find each by its source. */
    const harness_msg *by_offset[6] = {0};
    for (size_t i = 0; i < n; i++) {
        const char *src = header(&m[i], "source");
        char want[64];
        for (size_t k = 0; k < 6; k++) {
            snprintf(want, sizeof want, TOPIC ":%d:%zu", p, k + 1);
            if (strcmp(src, want) == 0)
                by_offset[k] = &m[i];
        }
    }
    for (size_t k = 0; k < 6; k++) {
        cr_assert_not_null(by_offset[k], "no DLQ message from offset %zu", k + 1);
        cr_assert_str_eq(header(by_offset[k], "error"), reasons[k],
                         "offset %zu: %s", k + 1, header(by_offset[k], "detail"));
        cr_assert_gt(strlen(header(by_offset[k], "detail")), 10);
    }
    cr_assert(strstr(header(by_offset[1], "detail"), "count") != NULL,
              "%s", header(by_offset[1], "detail"));
    cr_assert_eq(by_offset[0]->len, strlen(bad_json));
    cr_assert(memcmp(by_offset[0]->value, bad_json, by_offset[0]->len) == 0,
              "the original value is kept");
    cr_assert_eq(by_offset[0]->keylen, 2);
    cr_assert(memcmp(by_offset[0]->key, "c1", 2) == 0, "the original key is kept");
    cr_assert_eq(by_offset[2]->len, sizeof big);
    cr_assert_null(by_offset[5]->key);
    harness_msgs_free(m, n);
    /* The valid events around them counted. */
    cr_assert_eq(hget_int("eng:creator:c1", "engagements_1h"), 3);
    cr_assert_eq(hget_int("eng:creator:c2", "likes_1h"), -1);
    assert_truth();
    harness_daemon_stop(d);
    world_down();
}

typedef struct some_arg {
    harness_redis *redis;
    int64_t at_least;
} some_arg;

static int some_progress(void *arg)
{
    const some_arg *s = arg;
    int64_t sum = 0;
    for (int p = 0; p < NPART; p++) {
        char tp[64];
        snprintf(tp, sizeof tp, TOPIC ":%d", p);
        char *v = harness_redis_hget(s->redis, "eng:offsets:engaged", tp);
        sum += v ? strtoll(v, NULL, 10) : 0;
        free(v);
    }
    return sum >= s->at_least;
}

Test(pipeline, kill_9_mid_stream_and_restart_is_exact, .timeout = 180)
{
    world_up("[checkpoint]\ninterval_ms = 20\nmax_events = 500\n");
    send_stream(30000, 400, 7, T0, 20 * DAY);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    for (int round = 1; round <= 2; round++) {
        harness_daemon *d = harness_daemon_start(W.config);
        cr_assert_not_null(d);
        some_arg s = {W.redis, 30000 * round / 3};
        cr_assert_eq(harness_wait(some_progress, &s, 60000), 0);
        cr_assert_eq(harness_daemon_signal(d, SIGKILL), 0);
        int status;
        cr_assert_eq(harness_daemon_wait(d, 10000, &status), 0);
        cr_assert(WIFSIGNALED(status));
        harness_daemon_stop(d);
    }
    cr_assert_eq(some_progress(&(some_arg){W.redis, 30000}), 0,
                 "killed before the end, as intended");
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    wait_caught_up(90000);
    assert_truth();
    harness_daemon_stop(d);
    world_down();
}

Test(pipeline, sigterm_writes_a_final_checkpoint_and_exits_0, .timeout = 120)
{
    /* No periodic checkpoint: only the one at SIGTERM can write. */
    world_up("[checkpoint]\ninterval_ms = 3600000\nmax_events = 100000000\n");
    send_stream(500, 20, 3, T0, DAY);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    cr_assert_eq(harness_daemon_wait_log(d, "applied_total=500 ", 60000), 0);
    cr_assert_null(harness_redis_hget(W.redis, "eng:offsets:engaged",
                                      TOPIC ":0"),
                   "nothing checkpointed before SIGTERM");
    cr_assert_eq(harness_daemon_signal(d, SIGTERM), 0);
    int status;
    cr_assert_eq(harness_daemon_wait(d, 30000, &status), 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "exit status %d", status);
    done_arg a = {W.redis, W.produced};
    cr_assert(caught_up(&a), "the final checkpoint holds every offset");
    assert_truth();
    char *log = harness_daemon_log(d);
    cr_assert(strstr(log, "stopped") != NULL);
    free(log);
    harness_daemon_stop(d);
    world_down();
}

Test(pipeline, redis_outage_pauses_and_resumes_with_nothing_lost,
     .timeout = 180)
{
    world_up(NULL);
    send_stream(2000, 50, 11, T0, 3 * DAY);
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    wait_caught_up(60000);
    cr_assert_eq(harness_redis_kill(W.redis), 0);
    send_stream(2000, 50, 12, T0 + 3 * DAY, 3 * DAY);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    cr_assert_eq(harness_daemon_wait_log(d, "consumption paused", 30000), 0);
    cr_assert_eq(harness_redis_restart(W.redis), 0);
    cr_assert_eq(harness_daemon_wait_log(d, "consumption resumed", 30000), 0);
    wait_caught_up(60000);
    assert_truth();
    harness_daemon_stop(d);
    world_down();
}

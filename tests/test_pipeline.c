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

#include "world.h"

/* --- tests ---------------------------------------------------------------- */

Test(pipeline, creator_and_tier_hashes_match_the_ground_truth, .timeout = 120)
{
    world_up(NULL);
    world_send_stream(4000, 80, 1, T0, 10 * DAY);
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    world_wait_caught_up(60000);
    world_assert_truth();
    cr_assert_eq(oracle_creators(W.truth), 80);
    harness_daemon_stop(d);
    world_down();
}

Test(pipeline, windows_roll_for_creators_without_new_events, .timeout = 120)
{
    world_up(NULL);
    /* "quiet" and "busy" share a partition; only busy keeps posting. */
    char busy[32] = "busy0";
    for (int i = 1; world_partition_of(busy) != world_partition_of("quiet"); i++)
        snprintf(busy, sizeof busy, "busy%d", i);
    oracle_event q = world_engagement("quiet", T0, 0, 7);
    q.followers = 20000;
    world_send(q);
    world_send(world_engagement(busy, T0 + MIN, 0, 1));
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    world_wait_caught_up(60000);
    cr_assert_eq(world_hget_int("eng:creator:quiet", "likes_1h"), 7);
    cr_assert_eq(world_hget_int("eng:tier:micro", "likes_1h"), 7);

    /* Two hours later on the same partition: quiet's hour has passed. */
    world_send(world_engagement(busy, T0 + 2 * HOUR, 0, 1));
    world_wait_caught_up(60000);
    /* -1: absent, as a creator's sum of 0 is. */
    cr_assert_eq(world_hget_int("eng:creator:quiet", "likes_1h"), -1);
    cr_assert_eq(world_hget_int("eng:creator:quiet", "likes_24h"), 7);
    cr_assert_eq(world_hget_int("eng:tier:micro", "likes_1h"), 0);
    cr_assert_eq(world_hget_int("eng:tier:micro", "likes_24h"), 7);

    /* Eight days later even the week has passed. */
    world_send(world_engagement(busy, T0 + 8 * DAY, 0, 1));
    world_wait_caught_up(60000);
    cr_assert_eq(world_hget_int("eng:creator:quiet", "likes_7d"), -1);
    cr_assert_eq(world_hget_int("eng:tier:micro", "likes_7d"), 0);
    world_assert_truth();
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
    int p = world_partition_of("c1");
    world_send(world_engagement("c1", T0 + 40 * DAY, 0, 1));
    const char *bad_json = "{\"type\":";
    world_send_raw(p, "c1", bad_json, strlen(bad_json));
    const char *bad_count = "{\"type\":\"engagement\",\"creator_id\":\"c1\","
                            "\"ts\":1793491200000,\"action\":\"like\",\"count\":0}";
    world_send_raw(p, "c1", bad_count, strlen(bad_count));
    char big[2000];
    memset(big, ' ', sizeof big);
    memcpy(big, "{}", 2);
    world_send_raw(p, "c1", big, sizeof big);
    char late[256];
    snprintf(late, sizeof late,
             "{\"type\":\"engagement\",\"creator_id\":\"c1\",\"ts\":%" PRId64
             ",\"action\":\"like\"}", T0);
    world_send_raw(p, "c1", late, strlen(late));
    const char *other = "{\"type\":\"engagement\",\"creator_id\":\"c2\","
                        "\"ts\":1796947200000,\"action\":\"like\"}";
    world_send_raw(p, "c1", other, strlen(other));
    world_send_raw(p, NULL, other, strlen(other));
    world_send(world_engagement("c1", T0 + 40 * DAY + 1, 1, 2));

    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    world_wait_caught_up(60000);
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
    cr_assert_eq(world_hget_int("eng:creator:c1", "engagements_1h"), 3);
    cr_assert_eq(world_hget_int("eng:creator:c2", "likes_1h"), -1);
    world_assert_truth();
    harness_daemon_stop(d);
    world_down();
}

static int progress_at_least(void *arg)
{
    return world_offsets_sum() >= *(const int64_t *)arg;
}

Test(pipeline, kill_9_mid_stream_and_restart_is_exact, .timeout = 180)
{
    world_up("[checkpoint]\ninterval_ms = 20\nmax_events = 500\n");
    world_send_stream(30000, 400, 7, T0, 20 * DAY);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    int64_t some = 0;
    for (int round = 1; round <= 2; round++) {
        harness_daemon *d = harness_daemon_start(W.config);
        cr_assert_not_null(d);
        /* Killed as soon as a checkpoint more is in: mid-stream, whatever
         * the daemon's speed. */
        some = world_offsets_sum() + 1;
        cr_assert_eq(harness_wait(progress_at_least, &some, 60000), 0);
        cr_assert_eq(harness_daemon_signal(d, SIGKILL), 0);
        int status;
        cr_assert_eq(harness_daemon_wait(d, 10000, &status), 0);
        cr_assert(WIFSIGNALED(status));
        harness_daemon_stop(d);
    }
    cr_assert_lt(world_offsets_sum(), 30000, "killed before the end, as intended");
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    world_wait_caught_up(90000);
    world_assert_truth();
    harness_daemon_stop(d);
    world_down();
}

static int wrote_a_partial_checkpoint(void *d)
{
    int partial;
    world_checkpoints_written(d, &partial, NULL);
    return partial > 0;
}

/* The same with checkpoints that write some partitions only: each
 * partition's creators and offset go together, so a kill between two of
 * them loses nothing and counts nothing twice. */
Test(pipeline, kill_9_between_partial_checkpoints_and_restart_is_exact,
     .timeout = 180)
{
    world_up("[checkpoint]\nmax_creators = 60\n[log]\nlevel = debug\n");
    world_send_stream(30000, 1200, 8, T0, 20 * DAY);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    /* Killed as soon as a partial checkpoint is in. */
    cr_assert_eq(harness_wait(wrote_a_partial_checkpoint, d, 60000), 0);
    cr_assert_eq(harness_daemon_signal(d, SIGKILL), 0);
    int status;
    cr_assert_eq(harness_daemon_wait(d, 10000, &status), 0);
    cr_assert(WIFSIGNALED(status));
    harness_daemon_stop(d);
    cr_assert_lt(world_offsets_sum(), 30000, "killed before the end");
    d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    world_wait_caught_up(90000);
    world_assert_truth();
    harness_daemon_stop(d);
    world_down();
}

Test(pipeline, sigterm_writes_a_final_checkpoint_and_exits_0, .timeout = 120)
{
    /* No periodic checkpoint: only the one at SIGTERM can write. */
    world_up("[checkpoint]\ninterval_ms = 3600000\nmax_events = 100000000\n");
    world_send_stream(500, 20, 3, T0, DAY);
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
    cr_assert(world_caught_up(NULL), "the final checkpoint holds every offset");
    world_assert_truth();
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
    world_send_stream(2000, 50, 11, T0, 3 * DAY);
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    world_wait_caught_up(60000);
    cr_assert_eq(harness_redis_kill(W.redis), 0);
    world_send_stream(2000, 50, 12, T0 + 3 * DAY, 3 * DAY);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    cr_assert_eq(harness_daemon_wait_log(d, "consumption paused", 30000), 0);
    cr_assert_eq(harness_redis_restart(W.redis), 0);
    cr_assert_eq(harness_daemon_wait_log(d, "consumption resumed", 30000), 0);
    world_wait_caught_up(60000);
    world_assert_truth();
    harness_daemon_stop(d);
    world_down();
}

static int64_t rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    int64_t kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %" SCNd64, &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

Test(pipeline, memory_levels_off_with_many_times_more_creators_than_the_cap,
     .timeout = 180)
{
    world_up("[state]\nmax_creators = 500\n");
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    int64_t rss[5];
    for (int wave = 0; wave < 5; wave++) {
        for (int i = 0; i < 10000; i++) {
            char id[32];
            snprintf(id, sizeof id, "w%d-%d", wave, i);
            oracle_event e = world_engagement(id, T0 + wave * HOUR + i * 100,
                                              i % 7, 1 + i % 3);
            e.followers = 1000 + i;
            world_send(e);
            world_send(world_engagement(id, T0 + wave * HOUR + i * 100 + 50,
                                        0, 1));
        }
        world_wait_caught_up(90000);
        rss[wave] = rss_kb(harness_daemon_pid(d));
    }
    /* The first wave warms up buffers (the batch, librdkafka's queues);
     * after it, 30,000 more creators held in memory would cost 40 MB.
     * AddressSanitizer keeps freed memory in quarantine: RSS means nothing
     * there, eviction and exactness still do. */
#ifndef __SANITIZE_ADDRESS__
    cr_assert_lt(rss[4] - rss[1], 8 * 1024,
                 "RSS grew from %" PRId64 " to %" PRId64 " kB", rss[1], rss[4]);
#else
    (void)rss;
#endif
    cr_assert_eq(harness_daemon_wait_log(d, "evicted creators=", 1000), 0);
    /* Evicted creators were read back to roll their windows: exact. */
    world_assert_truth();
    harness_daemon_stop(d);
    world_down();
}

/* The sum of `key=<n>` over the daemon's log lines holding `line`. */
static long log_sum(harness_daemon *d, const char *line, const char *key)
{
    char *log = harness_daemon_log(d);
    long sum = 0;
    size_t klen = strlen(key);
    for (char *p = log; (p = strstr(p, line)) != NULL; p++) {
        char *eol = strchr(p, '\n');
        char *k = strstr(p, key);
        if (k != NULL && (eol == NULL || k < eol) && k[klen] == '=')
            sum += strtol(k + klen + 1, NULL, 10);
    }
    free(log);
    return sum;
}

static void send_likes(const char *prefix, int n, int64_t ts)
{
    char id[32];
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%s%d", prefix, i);
        oracle_event ev = world_engagement(id, ts, 0, 1 + i);
        if (i % 2 == 0)
            ev.followers = 20000 + i;
        world_send(ev);
    }
}

Test(pipeline, unseen_creators_are_looked_up_only_when_redis_may_hold_them,
     .timeout = 120)
{
    world_up(NULL);
    send_likes("old", 10, T0);
    harness_daemon *d = world_daemon(NULL);
    world_wait_caught_up(60000);
    /* A first start: nothing in Redis, nothing to ask it. */
    cr_assert_eq(log_sum(d, "batch prepared", "made_new"), 10);
    cr_assert_eq(log_sum(d, "batch prepared", "looked_up"), 0);
    world_daemon_stop_clean(d);

    /* Started again: the claim lists the ten in Redis; ten more are new. */
    d = world_daemon(NULL);
    send_likes("old", 10, T0 + MIN);
    send_likes("new", 10, T0 + MIN);
    world_wait_caught_up(60000);
    world_assert_truth();
    cr_assert_eq(log_sum(d, "batch prepared", "looked_up"), 10);
    cr_assert_eq(log_sum(d, "batch prepared", "made_new"), 10);
    cr_assert_eq(world_hget_int("eng:creator:old3", "likes_1h"), 8);
    harness_daemon_stop(d);
    world_down();
}

Test(pipeline, a_creator_with_state_the_index_lacks_is_read_back_exactly,
     .timeout = 120)
{
    world_up(NULL);
    send_likes("c", 20, T0);
    harness_daemon *d = world_daemon(NULL);
    world_wait_caught_up(60000);
    world_daemon_stop_clean(d);

    /* As an older engaged left it: c7 has state but is not in the index
     * its partition's claim reads, so it will be taken as new. */
    char index[128];
    snprintf(index, sizeof index, "eng:wake:engaged:" TOPIC ":%d",
             world_partition_of("c7"));
    redisReply *r = redisCommand(harness_redis_ctx(W.redis), "ZREM %s c7",
                                 index);
    cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    freeReplyObject(r);

    d = world_daemon(NULL);
    send_likes("c", 20, T0 + MIN);
    world_wait_caught_up(60000);
    world_assert_truth();
    cr_assert_eq(world_hget_int("eng:creator:c7", "likes_1h"), 16);
    /* Refused before anything was written, read back, then looked up. */
    cr_assert_eq(harness_daemon_wait_log(
                     d, "checkpoint refused: 1 creator(s) taken as new "
                        "already have state in Redis", 1000), 0);
    /* Written again, it is back in the index. */
    r = redisCommand(harness_redis_ctx(W.redis), "ZSCORE %s c7", index);
    cr_assert(r != NULL && r->type == REDIS_REPLY_STRING, "c7 not indexed");
    freeReplyObject(r);
    harness_daemon_stop(d);
    world_down();
}

/*
 * Tests of the integration-test harness itself (suite "harness"): if these
 * fail, every integration test's failure is suspect.
 */
#include "harness.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 +
           (now.tv_nsec - since->tv_nsec) / 1000000;
}

static int never(void *arg)
{
    int *calls = arg;
    (*calls)++;
    return 0;
}

static int third_call(void *arg)
{
    int *calls = arg;
    return ++*calls >= 3;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Nonzero when nothing accepts connections on the port any more. */
static int port_closed(void *arg)
{
    int port = *(int *)arg;
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    int closed = !c || c->err;
    if (c)
        redisFree(c);
    return closed;
}

/* ------------------------------------------------------------------ */

Test(harness, wait_gives_up_at_the_deadline)
{
    int calls = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(harness_wait(never, &calls, 150), -1);
    long ms = elapsed_ms(&t0);
    cr_assert_geq(ms, 150);
    cr_assert_lt(ms, 1000);
    /* Polled about every 10 ms: neither spinning nor sleeping it out (a
     * loaded machine may stretch the naps, hence the loose lower bound). */
    cr_assert_geq(calls, 3);
    cr_assert_leq(calls, 40);
}

Test(harness, wait_returns_as_soon_as_the_condition_holds)
{
    int calls = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(harness_wait(third_call, &calls, 5000), 0);
    cr_assert_eq(calls, 3);
    cr_assert_lt(elapsed_ms(&t0), 500);
}

Test(harness, wait_checks_once_even_with_no_time)
{
    int calls = 0;
    cr_assert_eq(harness_wait(never, &calls, 0), -1);
    cr_assert_geq(calls, 1);
}

Test(harness, tmpdir_is_fresh_and_rmtree_removes_it)
{
    char *dir = harness_tmpdir();
    cr_assert_not_null(dir);
    cr_assert_eq(strncmp(dir, "/tmp/", 5), 0);
    char sub[512], file[600];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    cr_assert_eq(harness_run("true", NULL), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", sub);
    cr_assert_eq(harness_run(cmd, NULL), 0);
    snprintf(file, sizeof file, "%s/f.txt", sub);
    cr_assert_eq(harness_write_file(file, "hello\n", 6), 0);
    size_t len = 0;
    char *text = harness_read_file(file, &len);
    cr_assert_str_eq(text, "hello\n");
    cr_assert_eq(len, 6);
    free(text);
    cr_assert_eq(harness_rmtree(dir), 0);
    cr_assert(!exists(dir));
    free(dir);
}

Test(harness, run_captures_stdout_stderr_and_status)
{
    char *out = NULL;
    cr_assert_eq(harness_run("echo out; echo err >&2; exit 3", &out), 3);
    cr_assert_str_eq(out, "out\nerr\n");
    free(out);
    cr_assert_eq(harness_run("kill -TERM $$", NULL), 128 + SIGTERM);
    cr_assert_eq(harness_run("exit 0", &out), 0);
    cr_assert_str_eq(out, "");
    free(out);
}

Test(harness, free_port_is_bindable)
{
    int port = harness_free_port();
    cr_assert_gt(port, 0);
    cr_assert_lt(port, 65536);
}

/* ------------------------------------------------------------------ */
/* Redis                                                               */

Test(harness, redis_keeps_acknowledged_writes_across_a_kill, .timeout = 60)
{
    harness_redis *r = harness_redis_start();
    cr_assert_not_null(r);
    int port = harness_redis_port(r);
    cr_assert_gt(port, 0);

    redisContext *c = harness_redis_ctx(r);
    cr_assert_not_null(c);
    redisReply *rep = redisCommand(c, "PING");
    cr_assert_not_null(rep);
    cr_assert_str_eq(rep->str, "PONG");
    freeReplyObject(rep);
    rep = redisCommand(c, "HSET creator:c1 views 42 likes 7");
    cr_assert_not_null(rep);
    cr_assert_eq(rep->type, REDIS_REPLY_INTEGER);
    freeReplyObject(rep);

    char *v = harness_redis_hget(r, "creator:c1", "views");
    cr_assert_str_eq(v, "42");
    free(v);
    cr_assert_null(harness_redis_hget(r, "creator:c1", "shares"));
    cr_assert_null(harness_redis_hget(r, "creator:nobody", "views"));

    cr_assert_eq(harness_redis_kill(r), 0);
    cr_assert_eq(harness_redis_kill(r), -1);
    cr_assert_null(harness_redis_ctx(r));
    cr_assert_null(harness_redis_hget(r, "creator:c1", "views"));
    cr_assert(port_closed(&port));

    cr_assert_eq(harness_redis_restart(r), 0);
    cr_assert_eq(harness_redis_port(r), port);
    v = harness_redis_hget(r, "creator:c1", "likes");
    cr_assert_str_eq(v, "7", "the AOF was not reloaded");
    free(v);

    char *dir = strdup(harness_redis_dir(r));
    cr_assert(exists(dir));
    harness_redis_stop(r);
    cr_assert(port_closed(&port));
    cr_assert(!exists(dir));
    free(dir);
    harness_redis_stop(NULL);
}

Test(harness, redis_wait_field_sees_a_value_or_times_out, .timeout = 60)
{
    harness_redis *r = harness_redis_start();
    cr_assert_not_null(r);
    cr_assert_eq(harness_redis_wait_field(r, "h", "f", NULL, 50), -1);
    redisReply *rep = redisCommand(harness_redis_ctx(r), "HSET h f 1");
    cr_assert_not_null(rep);
    freeReplyObject(rep);
    cr_assert_eq(harness_redis_wait_field(r, "h", "f", "1", 1000), 0);
    cr_assert_eq(harness_redis_wait_field(r, "h", "f", NULL, 1000), 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(harness_redis_wait_field(r, "h", "f", "2", 100), -1);
    cr_assert_geq(elapsed_ms(&t0), 100);
    harness_redis_stop(r);
}

Test(harness, two_redis_servers_are_independent, .timeout = 60)
{
    harness_redis *a = harness_redis_start();
    harness_redis *b = harness_redis_start();
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_neq(harness_redis_port(a), harness_redis_port(b));
    redisReply *rep = redisCommand(harness_redis_ctx(a), "HSET k f a");
    freeReplyObject(rep);
    cr_assert_null(harness_redis_hget(b, "k", "f"));
    harness_redis_stop(a);
    harness_redis_stop(b);
}

/* Reaps any child; nonzero once one was reaped (its status in *arg). */
static int reaped_any(void *arg)
{
    return waitpid(-1, (int *)arg, WNOHANG) > 0;
}

/*
 * A test process that dies without cleaning up must not leave a
 * redis-server behind: the child here starts one and _exit()s (no atexit
 * handlers), so only PR_SET_PDEATHSIG can kill the server.  As a subreaper,
 * this process inherits the orphaned server and sees how it ended.
 */
Test(harness, redis_dies_with_a_crashed_test_process, .timeout = 60)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(p[0]);
        harness_redis *r = harness_redis_start();
        char line[600] = "";
        if (r)
            snprintf(line, sizeof line, "%d %s", harness_redis_port(r),
                     harness_redis_dir(r));
        ssize_t w = write(p[1], line, strlen(line));
        (void)w;
        _exit(r ? 0 : 1);
    }
    close(p[1]);
    char line[600] = "";
    ssize_t n = read(p[0], line, sizeof line - 1);
    close(p[0]);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert_gt(n, 0);
    line[n] = '\0';
    int port = atoi(line);
    const char *dir = strchr(line, ' ') + 1;
    st = 0;
    cr_assert_eq(harness_wait(reaped_any, &st, 5000), 0,
                 "redis-server outlived its test process");
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    cr_assert(port_closed(&port));
    harness_rmtree(dir);
}

/* Same, for a test that fails an assertion: exit() runs the at-exit
 * clean-up, which also removes the temporary directory. */
Test(harness, at_exit_cleanup_kills_and_removes, .timeout = 60)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(p[0]);
        harness_redis *r = harness_redis_start();
        char line[600] = "";
        if (r)
            snprintf(line, sizeof line, "%d %s", harness_redis_port(r),
                     harness_redis_dir(r));
        ssize_t w = write(p[1], line, strlen(line));
        (void)w;
        exit(r ? 0 : 1);
    }
    close(p[1]);
    char line[600] = "";
    ssize_t n = read(p[0], line, sizeof line - 1);
    close(p[0]);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert_gt(n, 0);
    line[n] = '\0';
    int port = atoi(line);
    const char *dir = strchr(line, ' ') + 1;
    cr_assert(port_closed(&port));
    if (!getenv("HARNESS_KEEP"))
        cr_assert(!exists(dir), "%s was left behind", dir);
}

/* ------------------------------------------------------------------ */
/* Kafka                                                               */

Test(harness, kafka_round_trips_keys_values_and_headers, .timeout = 60)
{
    const char *topics[] = {"engagement.events", "engagement.dlq"};
    harness_kafka *k = harness_kafka_start(3, 4, topics, 2);
    cr_assert_not_null(k);
    cr_assert_eq(harness_kafka_mock(k) == NULL, harness_kafka_real() != 0,
                 "a mock cluster only on the mock");
    cr_assert_neq(strstr(harness_kafka_bootstrap(k), "127.0.0.1:"), NULL);

    char key[32], val[64];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "c%d", i % 17);
        snprintf(val, sizeof val, "{\"i\":%d}", i);
        cr_assert_eq(harness_kafka_produce(k, "engagement.events",
                                           RD_KAFKA_PARTITION_UA, key,
                                           strlen(key), val, strlen(val)),
                     0);
    }
    cr_assert_eq(harness_kafka_flush(k, 10000), 0);

    size_t n = 0;
    harness_msg *m = harness_kafka_consume(k, "engagement.events", 100, 20000,
                                           &n);
    cr_assert_not_null(m);
    cr_assert_eq(n, 100);
    bool seen[100] = {false};
    int used[4] = {0};
    int32_t part_of_key[17];
    for (int i = 0; i < 17; i++)
        part_of_key[i] = -1;
    for (size_t j = 0; j < n; j++) {
        int i = -1;
        cr_assert_eq(sscanf(m[j].value, "{\"i\":%d}", &i), 1);
        cr_assert(i >= 0 && i < 100 && !seen[i]);
        seen[i] = true;
        cr_assert_eq(m[j].len, strlen(m[j].value));
        snprintf(key, sizeof key, "c%d", i % 17);
        cr_assert_str_eq(m[j].key, key);
        cr_assert_eq(m[j].keylen, strlen(key));
        cr_assert(m[j].partition >= 0 && m[j].partition < 4);
        used[m[j].partition]++;
        /* Same key, same partition. */
        if (part_of_key[i % 17] == -1)
            part_of_key[i % 17] = m[j].partition;
        cr_assert_eq(m[j].partition, part_of_key[i % 17]);
        /* Sorted by partition, then offset. */
        if (j > 0 && m[j].partition == m[j - 1].partition)
            cr_assert_gt(m[j].offset, m[j - 1].offset);
        cr_assert_eq(m[j].nheaders, 0);
        cr_assert_gt(m[j].timestamp, 0);
    }
    int partitions_used = 0;
    for (int p = 0; p < 4; p++)
        partitions_used += used[p] > 0;
    cr_assert_geq(partitions_used, 2);
    harness_msgs_free(m, n);

    const char *hdrs[] = {"error", "invalid_json", "detail", "line 1",
                          "empty", NULL};
    cr_assert_eq(harness_kafka_produce_headers(k, "engagement.dlq", 2, "c1",
                                               2, "{oops", 5, hdrs, 3),
                 0);
    cr_assert_eq(harness_kafka_produce(k, "engagement.dlq", 0, NULL, 0, NULL,
                                       0),
                 0);
    cr_assert_eq(harness_kafka_flush(k, 10000), 0);
    /* expect 0: everything there is now. */
    m = harness_kafka_consume(k, "engagement.dlq", 0, 20000, &n);
    cr_assert_not_null(m);
    cr_assert_eq(n, 2);
    cr_assert_eq(m[0].partition, 0);
    cr_assert_null(m[0].key);
    cr_assert_null(m[0].value);
    cr_assert_eq(m[0].len, 0);
    cr_assert_eq(m[1].partition, 2);
    cr_assert_eq(m[1].offset, 0);
    cr_assert_str_eq(m[1].key, "c1");
    cr_assert_str_eq(m[1].value, "{oops");
    cr_assert_eq(m[1].nheaders, 3);
    cr_assert_str_eq(m[1].hname[0], "error");
    cr_assert_str_eq(m[1].hvalue[0], "invalid_json");
    cr_assert_str_eq(m[1].hname[1], "detail");
    cr_assert_str_eq(m[1].hvalue[1], "line 1");
    cr_assert_str_eq(m[1].hname[2], "empty");
    cr_assert_null(m[1].hvalue[2]);
    cr_assert_str_eq(harness_msg_header(&m[1], "detail"), "line 1");
    cr_assert_null(harness_msg_header(&m[1], "nope"));
    harness_msgs_free(m, n);
    harness_kafka_stop(k);
}

Test(harness, kafka_consume_of_empty_new_and_missing_topics, .timeout = 60)
{
    const char *topics[] = {"empty"};
    harness_kafka *k = harness_kafka_start(1, 2, topics, 1);
    cr_assert_not_null(k);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t n = 99;
    harness_msg *m = harness_kafka_consume(k, "empty", 0, 10000, &n);
    cr_assert_not_null(m);
    cr_assert_eq(n, 0);
    cr_assert_lt(elapsed_ms(&t0), 5000);
    harness_msgs_free(m, n);
    /* Waiting for messages that never come returns what there is. */
    m = harness_kafka_consume(k, "empty", 1, 300, &n);
    cr_assert_not_null(m);
    cr_assert_eq(n, 0);
    harness_msgs_free(m, n);
    if (harness_kafka_real()) {
        /* The test broker creates no topic on its own (docs/kafka.md): a
         * topic nobody created cannot be read. */
        m = harness_kafka_consume(k, "missing", 0, 2000, &n);
        cr_assert_null(m);
        cr_assert_eq(n, 0);
        harness_kafka_stop(k);
        return;
    }
    /* A topic nobody created: the producer's metadata request creates it. */
    cr_assert_eq(harness_kafka_produce(k, "auto", RD_KAFKA_PARTITION_UA, "k",
                                       1, "v", 1),
                 0);
    cr_assert_eq(harness_kafka_flush(k, 10000), 0);
    m = harness_kafka_consume(k, "auto", 1, 10000, &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(m[0].value, "v");
    harness_msgs_free(m, n);
    /* The mock cluster creates any topic a client asks about: reading a
     * topic nobody wrote to finds it empty. */
    m = harness_kafka_consume(k, "missing", 0, 10000, &n);
    cr_assert_not_null(m);
    cr_assert_eq(n, 0);
    harness_msgs_free(m, n);
    harness_kafka_stop(k);
}

Test(harness, kafka_flush_reports_failed_deliveries, .timeout = 60)
{
    if (harness_kafka_real())
        cr_skip_test("needs the mock cluster");
    const char *topics[] = {"t"};
    harness_kafka *k = harness_kafka_start(1, 1, topics, 1);
    cr_assert_not_null(k);
    /* The next produce request fails with a non-retriable error
     * (ApiKey 0 is Produce). */
    rd_kafka_mock_push_request_errors(harness_kafka_mock(k), 0, 1,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    cr_assert_eq(harness_kafka_produce(k, "t", 0, "k", 1, "v", 1), 0);
    cr_assert_eq(harness_kafka_flush(k, 10000), -1);
    /* The failure was reported once; later deliveries start afresh. */
    cr_assert_eq(harness_kafka_produce(k, "t", 0, "k", 1, "v", 1), 0);
    cr_assert_eq(harness_kafka_flush(k, 10000), 0);
    harness_kafka_stop(k);
}

/* ------------------------------------------------------------------ */
/* The daemon (a stand-in script: these test the harness, not engaged) */

static const char fake_daemon[] =
    "#!/bin/sh\n"
    "echo \"args: $*\"\n"
    "trap 'echo got HUP' HUP\n"
    "trap 'echo got TERM; exit 0' TERM\n"
    "[ \"$1\" = --exit ] && { echo exiting; exit \"$2\"; }\n"
    "echo ready\n"
    "while :; do sleep 0.05; done\n";

/* Writes the stand-in into dir and points ENGAGED_BIN at it. */
static void use_fake_daemon(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fake-engaged", dir);
    cr_assert_eq(harness_write_file(path, fake_daemon, strlen(fake_daemon)),
                 0);
    cr_assert_eq(chmod(path, 0700), 0);
    cr_assert_eq(setenv("ENGAGED_BIN", path, 1), 0);
}

Test(harness, daemon_gets_its_config_and_signals, .timeout = 60)
{
    char *bindir = harness_tmpdir();
    cr_assert_not_null(bindir);
    use_fake_daemon(bindir);

    const char *extra[] = {"--foreground", NULL};
    harness_daemon *d = harness_daemon_start_args("[kafka]\nbrokers = x\n",
                                                  extra);
    cr_assert_not_null(d);
    cr_assert_gt(harness_daemon_pid(d), 0);
    cr_assert_eq(harness_daemon_wait_log(d, "ready", 10000), 0);

    char *conf = harness_read_file(harness_daemon_config_path(d), NULL);
    cr_assert_str_eq(conf, "[kafka]\nbrokers = x\n");
    free(conf);
    char want[600];
    snprintf(want, sizeof want, "args: -c %s --foreground\n",
             harness_daemon_config_path(d));
    char *log = harness_daemon_log(d);
    cr_assert_neq(strstr(log, want), NULL, "log: %s", log);
    free(log);

    /* Still running: waiting times out. */
    cr_assert_eq(harness_daemon_wait(d, 50, NULL), -1);
    cr_assert_eq(harness_daemon_signal(d, SIGHUP), 0);
    cr_assert_eq(harness_daemon_wait_log(d, "got HUP", 10000), 0);
    cr_assert_eq(harness_daemon_signal(d, SIGTERM), 0);
    int st = -1;
    cr_assert_eq(harness_daemon_wait(d, 10000, &st), 0);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), 0);
    cr_assert_eq(harness_daemon_wait_log(d, "got TERM", 1000), 0);
    /* Reaped: no signal to a pid that may be recycled. */
    cr_assert_eq(harness_daemon_signal(d, SIGTERM), -1);

    char *dir = strdup(harness_daemon_dir(d));
    harness_daemon_stop(d);
    if (!getenv("HARNESS_KEEP"))
        cr_assert(!exists(dir));
    free(dir);
    harness_daemon_stop(NULL);
    harness_rmtree(bindir);
    free(bindir);
}

Test(harness, daemon_exit_status_and_missing_log_line, .timeout = 60)
{
    char *bindir = harness_tmpdir();
    cr_assert_not_null(bindir);
    use_fake_daemon(bindir);

    const char *extra[] = {"--exit", "3", NULL};
    harness_daemon *d = harness_daemon_start_args(NULL, extra);
    cr_assert_not_null(d);
    cr_assert_null(harness_daemon_config_path(d));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* Gives up when the daemon exits, not at the deadline. */
    cr_assert_eq(harness_daemon_wait_log(d, "never logged", 30000), -1);
    cr_assert_lt(elapsed_ms(&t0), 10000);
    int st = -1;
    cr_assert_eq(harness_daemon_wait(d, 0, &st), 0);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), 3);
    char *log = harness_daemon_log(d);
    cr_assert_str_eq(log, "args: --exit 3\nexiting\n");
    free(log);
    harness_daemon_stop(d);
    harness_rmtree(bindir);
    free(bindir);
}

Test(harness, daemon_stop_terminates_a_running_daemon, .timeout = 60)
{
    char *bindir = harness_tmpdir();
    cr_assert_not_null(bindir);
    use_fake_daemon(bindir);
    harness_daemon *d = harness_daemon_start("");
    cr_assert_not_null(d);
    cr_assert_eq(harness_daemon_wait_log(d, "ready", 10000), 0);
    pid_t pid = harness_daemon_pid(d);
    harness_daemon_stop(d);
    cr_assert_eq(kill(pid, 0), -1);
    cr_assert_eq(errno, ESRCH);
    harness_rmtree(bindir);
    free(bindir);
}

Test(harness, daemon_start_fails_for_a_missing_binary)
{
    cr_assert_eq(setenv("ENGAGED_BIN", "/nonexistent/engaged", 1), 0);
    cr_assert_null(harness_daemon_start("x = 1\n"));
}

/* ------------------------------------------------------------------ */
/* Another client's messages: engaged-gen through the mock cluster      */

typedef struct keyed {
    const char *key;
    const char *value;
    size_t seq;     /* position in the stream, to keep per-key order */
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

Test(harness, consumes_what_another_client_produced, .timeout = 120)
{
    const char *gen = harness_gen_path();
    cr_assert_not_null(gen);
    const char *topics[] = {"engagement.events"};
    harness_kafka *k = harness_kafka_start(1, 4, topics, 1);
    cr_assert_not_null(k);
    char *dir = harness_tmpdir();
    cr_assert_not_null(dir);

    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "'%s' -q -b %s -n 5000 -c 50 --seed 3 --ndjson-out %s/truth",
             gen, harness_kafka_bootstrap(k), dir);
    cr_assert_eq(harness_run(cmd, &out), 0, "%s", out);
    cr_assert_neq(strstr(out, "produced 5000 events"), NULL, "%s", out);
    free(out);

    size_t n = 0;
    harness_msg *m = harness_kafka_consume(k, "engagement.events", 5000,
                                           30000, &n);
    cr_assert_not_null(m);
    cr_assert_eq(n, 5000);

    char path[600];
    snprintf(path, sizeof path, "%s/truth", dir);
    char *truth = harness_read_file(path, NULL);
    cr_assert_not_null(truth);
    keyed *want = calloc(n, sizeof *want), *got = calloc(n, sizeof *got);
    cr_assert(want && got);
    size_t lines = 0;
    for (char *line = strtok(truth, "\n"); line; line = strtok(NULL, "\n")) {
        cr_assert_lt(lines, n);
        char *tab = strchr(line, '\t');
        cr_assert_not_null(tab);
        *tab = '\0';
        want[lines] = (keyed){line, tab + 1, lines};
        lines++;
    }
    cr_assert_eq(lines, n);
    /* m is in partition, offset order: per key, the order of the log. */
    for (size_t i = 0; i < n; i++)
        got[i] = (keyed){m[i].key, m[i].value, i};
    qsort(want, n, sizeof *want, keyed_cmp);
    qsort(got, n, sizeof *got, keyed_cmp);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(got[i].key, want[i].key);
        cr_assert_str_eq(got[i].value, want[i].value,
                         "creator %s: events out of order or altered",
                         want[i].key);
    }
    free(want);
    free(got);
    free(truth);
    harness_msgs_free(m, n);
    harness_rmtree(dir);
    free(dir);
    harness_kafka_stop(k);
}

/*
 * Operations, seen from outside the real daemon: the sd_notify protocol on
 * our own NOTIFY_SOCKET, reload by SIGHUP, /metrics parsed by the real
 * Prometheus parser, /readyz.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prom.h"
#include "world.h"

/* --- a NOTIFY_SOCKET of our own -------------------------------------------- */

static int notify_fd = -1;
static char *notify_dir;

static void notify_listen(void)
{
    notify_dir = harness_tmpdir();
    cr_assert_not_null(notify_dir);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/notify", notify_dir);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(notify_fd, 0);
    cr_assert_eq(bind(notify_fd, (struct sockaddr *)&a, sizeof a), 0);
    setenv("NOTIFY_SOCKET", a.sun_path, 1);
}

static void notify_close(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    close(notify_fd);
    harness_rmtree(notify_dir);
    free(notify_dir);
}

/*
 * Reads datagrams until one holds `want` as a line, or timeout.  Counts the
 * WATCHDOG=1 messages seen on the way in *watchdogs (may be NULL).
 */
static int notify_expect(const char *want, int timeout_ms, int *watchdogs)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int left = timeout_ms - (int)((now.tv_sec - t0.tv_sec) * 1000 +
                                      (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return -1;
        struct pollfd p = {notify_fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0)
            continue;
        char msg[4096];
        ssize_t n = recv(notify_fd, msg, sizeof msg - 1, 0);
        if (n <= 0)
            continue;
        msg[n] = 0;
        for (char *line = strtok(msg, "\n"); line; line = strtok(NULL, "\n")) {
            if (watchdogs && strcmp(line, "WATCHDOG=1") == 0)
                (*watchdogs)++;
            if (strcmp(line, want) == 0)
                return 0;
        }
    }
}

static harness_daemon *start(const char *extra)
{
    char conf[8192];
    snprintf(conf, sizeof conf, "%s%s", W.config, extra ? extra : "");
    harness_daemon *d = harness_daemon_start(conf);
    cr_assert_not_null(d);
    return d;
}

Test(ops, sd_notify_ready_watchdog_reload_and_stopping, .timeout = 120)
{
    world_up(NULL);
    notify_listen();
    setenv("WATCHDOG_USEC", "400000", 1); /* a ping every 200 ms */
    harness_daemon *d = start(NULL);
    cr_assert_eq(notify_expect("READY=1", 30000, NULL), 0, "no READY=1");
    int dogs = 0;
    cr_assert_eq(notify_expect("never sent", 1500, &dogs), -1);
    cr_assert_geq(dogs, 3, "only %d WATCHDOG=1 in 1.5 s at a 200 ms interval",
                  dogs);
    cr_assert_eq(harness_daemon_signal(d, SIGHUP), 0);
    cr_assert_eq(notify_expect("RELOADING=1", 10000, NULL), 0);
    cr_assert_eq(notify_expect("READY=1", 10000, NULL), 0);
    cr_assert_eq(harness_daemon_signal(d, SIGTERM), 0);
    cr_assert_eq(notify_expect("STOPPING=1", 10000, NULL), 0);
    int status;
    cr_assert_eq(harness_daemon_wait(d, 30000, &status), 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    harness_daemon_stop(d);
    notify_close();
    world_down();
}

/* --- reload ------------------------------------------------------------------ */

static void rewrite_config(harness_daemon *d, const char *extra)
{
    char conf[8192];
    snprintf(conf, sizeof conf, "%s%s", W.config, extra);
    cr_assert_eq(harness_write_file(harness_daemon_config_path(d), conf,
                                    strlen(conf)),
                 0);
}

static char *hget(const char *key, const char *field)
{
    return harness_redis_hget(W.redis, key, field);
}

Test(ops, reload_applies_a_new_threshold_and_keeps_the_state, .timeout = 120)
{
    world_up(NULL);
    oracle_event a = world_engagement("alice", T0, 0, 5);
    a.followers = 7000;
    world_send(a);
    harness_daemon *d = start(NULL);
    world_wait_caught_up(60000);
    char *t = hget("eng:creator:alice", "tier");
    cr_assert_str_eq(t, "nano");
    free(t);

    /* micro now starts at 5,000; mid at 50,000 as before. */
    rewrite_config(d, "[tiers]\nhysteresis = 0.05\nnano = 0\nmicro = 5000\n"
                      "mid = 50000\nmacro = 500000\nmega = 1000000\n");
    cr_assert_eq(harness_daemon_signal(d, SIGHUP), 0);
    cr_assert_eq(harness_daemon_wait_log(d, "configuration reloaded", 10000), 0);
    /* Outside the oracle, whose tiers are the defaults. */
    world_send_raw(world_partition_of("alice"), "alice",
                   "{\"type\":\"engagement\",\"creator_id\":\"alice\",\"ts\":"
                   "1793491260000,\"action\":\"like\",\"followers\":7001}",
                   strlen("{\"type\":\"engagement\",\"creator_id\":\"alice\","
                          "\"ts\":1793491260000,\"action\":\"like\","
                          "\"followers\":7001}"));
    world_wait_caught_up(60000);
    t = hget("eng:creator:alice", "tier");
    cr_assert_str_eq(t, "micro", "the new minimum applies at once");
    free(t);
    cr_assert_eq(world_hget_int("eng:creator:alice", "likes_1h"), 6,
                 "the state before the reload is kept");
    cr_assert_eq(world_hget_int("eng:tier:micro", "creators"), 1);
    cr_assert_eq(world_hget_int("eng:tier:nano", "creators"), 0);
    cr_assert_eq(world_hget_int("eng:tier:micro", "likes_1h"), 6);
    char *log = harness_daemon_log(d);
    cr_assert_null(strstr(log, "restart"), "no restart-only key changed: %s", log);
    free(log);
    harness_daemon_stop(d);
    world_down();
}

Test(ops, a_broken_file_on_reload_keeps_the_running_configuration,
     .timeout = 120)
{
    world_up(NULL);
    harness_daemon *d = start(NULL);
    cr_assert_eq(harness_daemon_wait_log(d, "ready:", 30000), 0);
    rewrite_config(d, "[tiers]\nmicro = many\n[redis]\nport = 1\n");
    cr_assert_eq(harness_daemon_signal(d, SIGHUP), 0);
    cr_assert_eq(harness_daemon_wait_log(d, "reload refused", 10000), 0);
    char *log = harness_daemon_log(d);
    char want[1100];
    snprintf(want, sizeof want, "%s:", harness_daemon_config_path(d));
    cr_assert(strstr(log, want) != NULL, "the error names the file: %s", log);
    free(log);
    /* Still running, on the old configuration (Redis port and tiers). */
    oracle_event a = world_engagement("bob", T0, 1, 2);
    a.followers = 20000;
    world_send(a);
    world_wait_caught_up(60000);
    char *t = hget("eng:creator:bob", "tier");
    cr_assert_str_eq(t, "micro");
    free(t);
    int status;
    cr_assert_eq(harness_daemon_wait(d, 100, &status), -1, "still running");
    harness_daemon_stop(d);
    world_down();
}

/* --- /metrics and /readyz ------------------------------------------------------ */

typedef struct reply {
    int status;
    char *body;
} reply;

static reply http_get(int port, const char *path)
{
    reply r = {0, NULL};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return r;
    }
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return r;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    ssize_t k;
    while ((k = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)k;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    close(fd);
    buf[len] = 0;
    sscanf(buf, "HTTP/1.%*d %d", &r.status);
    char *body = strstr(buf, "\r\n\r\n");
    r.body = strdup(body ? body + 4 : "");
    free(buf);
    return r;
}

static int readyz_port;

static int readyz_is_200(void *arg)
{
    (void)arg;
    reply r = http_get(readyz_port, "/readyz");
    free(r.body);
    return r.status == 200;
}

static int creators_gauge_is_2(void *arg)
{
    (void)arg;
    reply r = http_get(readyz_port, "/metrics");
    int ok = r.body != NULL && strstr(r.body, "\nengaged_creators 2\n") != NULL;
    free(r.body);
    return ok;
}

Test(ops, metrics_count_what_was_sent_and_readyz_follows_redis,
     .timeout = 150)
{
    world_up(NULL);
    int port = harness_free_port();
    readyz_port = port;
    char extra[128];
    snprintf(extra, sizeof extra, "[http]\nlisten = 127.0.0.1:%d\n", port);
    /* Redis down at start: the daemon cannot be ready. */
    cr_assert_eq(harness_redis_kill(W.redis), 0);
    for (int i = 0; i < 30; i++)
        world_send(world_engagement("m1", T0 + i * MIN, i % 7, 2));
    oracle_event f = world_engagement("m2", T0, 0, 1);
    f.type = 2;
    f.followers = 40000;
    world_send(f);
    int p = world_partition_of("m1");
    world_send_raw(p, "m1", "{oops", 5);
    world_send_raw(p, NULL, "{}", 2);
    harness_daemon *d = start(extra);
    cr_assert_eq(harness_daemon_wait_log(d, "consumption paused", 30000), 0);
    reply r = http_get(port, "/readyz");
    cr_assert_eq(r.status, 503, "not ready while Redis is down");
    free(r.body);
    r = http_get(port, "/healthz");
    cr_assert_eq(r.status, 200, "alive all the same");
    free(r.body);

    cr_assert_eq(harness_redis_restart(W.redis), 0);
    cr_assert_eq(harness_wait(readyz_is_200, NULL, 30000), 0);
    world_wait_caught_up(60000);
    world_assert_truth();

    /* Gauges are refreshed every second: wait for this one. */
    cr_assert_eq(harness_wait(creators_gauge_is_2, NULL, 10000), 0);
    r = http_get(port, "/metrics");
    cr_assert_eq(r.status, 200);
    char *listing = prom_parse(r.body, strlen(r.body));
    cr_assert_not_null(listing, "the exposition does not parse: %s", r.body);
    static const char *const want[] = {
        "engaged_events_total{result=\"ok\",type=\"engagement\"} 30",
        "engaged_events_total{result=\"ok\",type=\"followers\"} 1",
        "engaged_events_total{result=\"refused\",type=\"unknown\"} 2",
        "engaged_dlq_messages_total{reason=\"invalid_json\"} 1",
        "engaged_dlq_messages_total{reason=\"invalid_event\"} 1",
        "engaged_dlq_messages_total{reason=\"too_late\"} 0",
        "engaged_creators{} 2",
        "engaged_build_info{version=\"" ENGAGED_VERSION "\"} 1",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(prom_has_line(listing, want[i]), "missing %s in\n%s", want[i],
                  listing);
    cr_assert(strstr(listing, "engaged_checkpoints_total{result=\"ok\"}") != NULL);
    cr_assert(strstr(listing, "engaged_redis_reconnects_total{} 1") != NULL ||
                  strstr(listing, "engaged_redis_reconnects_total{} 2") != NULL,
              "%s", listing);
    free(listing);
    free(r.body);
    harness_daemon_stop(d);
    world_down();
}

/* --- the fetch nudge ----------------------------------------------------------- */

static int nudge_port;

/* The value of a metric without labels, or -1 when it is not listed. */
static double metric_now(int port, const char *name)
{
    reply r = http_get(port, "/metrics");
    char needle[128];
    snprintf(needle, sizeof needle, "\n%s ", name);
    const char *at = r.body ? strstr(r.body, needle) : NULL;
    double v = at != NULL ? strtod(at + strlen(needle), NULL) : -1;
    free(r.body);
    return v;
}

static long long nudges_now(void)
{
    return (long long)metric_now(nudge_port, "engaged_kafka_fetch_nudges_total");
}

static int nudged(void *arg)
{
    (void)arg;
    return nudges_now() > 0;
}

/* librdkafka 2.0 stops fetching while its queue is over queued.min.messages
 * and looks again only on its idle second; a queue of 50 messages drains at
 * once, so the fetcher must be nudged, and every event still lands once. */
Test(ops, a_small_prefetch_queue_is_refilled_by_nudges, .timeout = 150)
{
    world_up(NULL);
    nudge_port = harness_free_port();
    world_send_stream(6000, 60, 11, T0, 5 * DAY);
    char extra[256];
    snprintf(extra, sizeof extra,
             "[http]\nlisten = 127.0.0.1:%d\n"
             "[kafka]\nqueued.min.messages = 50\n",
             nudge_port);
    harness_daemon *d = start(extra);
    world_wait_caught_up(90000);
    world_assert_truth();
    cr_assert_eq(harness_wait(nudged, NULL, 10000), 0,
                 "engaged_kafka_fetch_nudges_total stayed at %lld",
                 nudges_now());
    harness_daemon_stop(d);
    world_down();
}

/* A backlog over many creators, with checkpoint.max_creators at 1: past 2
 * dirty creators reading waits for the checkpoint in flight (the wait is
 * counted), and every event still lands once. */
Test(ops, checkpoint_max_creators_holds_reading_back_and_loses_nothing,
     .timeout = 150)
{
    world_up(NULL);
    int port = harness_free_port();
    world_send_stream(20000, 2000, 12, T0, 5 * DAY);
    char extra[256];
    snprintf(extra, sizeof extra,
             "[http]\nlisten = 127.0.0.1:%d\n"
             "[checkpoint]\nmax_creators = 1\n",
             port);
    harness_daemon *d = start(extra);
    world_wait_caught_up(90000);
    world_assert_truth();
    double waited =
        metric_now(port, "engaged_checkpoint_backpressure_seconds_total");
    cr_assert_gt(waited, 0.0,
                 "engaged_checkpoint_backpressure_seconds_total is %g", waited);
    harness_daemon_stop(d);
    world_down();
}

/* message.max.bytes in the file is meant for the producer, but lands in the
 * consumer too, whose fetch.max.bytes must not be smaller: the consumer
 * starts all the same. */
Test(ops, a_large_message_max_bytes_does_not_stop_the_consumer, .timeout = 120)
{
    world_up(NULL);
    world_send_stream(3000, 50, 13, T0, 5 * DAY);
    harness_daemon *d = start("[kafka]\nmessage.max.bytes = 2000000\n");
    world_wait_caught_up(60000);
    world_assert_truth();
    cr_assert_eq(harness_daemon_log_count(
                     d, "fetch.max.bytes raised to message.max.bytes "
                        "bytes=2000000"),
                 1);
    harness_daemon_stop(d);
    world_down();
}

/* A partition with no offset in Redis starts at a logical offset, which
 * librdkafka resolves with one query.  Resuming the partition after its
 * assignment made the answer outdated, and librdkafka 2.0 asked again only
 * 500 ms later: at every first start and every new partition.  librdkafka's
 * own debug lines say whether it had to. */
Test(ops, a_partition_without_offset_asks_for_its_start_once, .timeout = 120)
{
    world_up(NULL);
    world_send_stream(3000, 50, 15, T0, 5 * DAY);
    harness_daemon *d = start("[kafka]\ndebug = topic\n"
                              "[log]\nlevel = debug\n");
    world_wait_caught_up(60000);
    world_assert_truth();
    cr_assert_gt(harness_daemon_log_count(
                     d, "querying for logical offset BEGINNING"),
                 0, "librdkafka's topic debug lines are not in the log");
    cr_assert_eq(harness_daemon_log_count(d, "outdated offset response"), 0);
    harness_daemon_stop(d);
    world_down();
}

/* Both librdkafka clients, the consumer and the producer of the DLQ and
 * alerts, log through engaged's log: one format on stderr (sd-daemon
 * priority prefixes, which journald reads), each line naming its client.
 * librdkafka's own stderr format ("%7|...") would reach journald at the
 * default priority. */
Test(ops, the_producers_librdkafka_lines_go_through_the_log, .timeout = 60)
{
    world_up(NULL);
    world_send(world_engagement("p1", T0, 0, 1));
    world_send_raw(world_partition_of("p1"), "p1", "{oops", 5);
    harness_daemon *d = start("[kafka]\ndebug = msg\n[log]\nlevel = debug\n");
    world_wait_caught_up(30000);
    world_assert_truth();
    cr_assert_gt(harness_daemon_log_count(d, "client=rdkafka#producer"), 0,
                 "no producer line in the log");
    cr_assert_gt(harness_daemon_log_count(d, "client=rdkafka#consumer"), 0,
                 "no consumer line in the log");
    char *log = harness_daemon_log(d);
    cr_assert_not_null(log);
    cr_assert(log[0] != '%' && strstr(log, "\n%") == NULL,
              "a line in librdkafka's own format: %s",
              log[0] == '%' ? log : strstr(log, "\n%") + 1);
    free(log);
    harness_daemon_stop(d);
    world_down();
}

/* With checkpoint.max_creators below a backlog's changed creators, a
 * checkpoint writes some partitions only, in turn; the others follow in the
 * next ones, and the numbers end exact. */
Test(ops, checkpoint_max_creators_splits_a_backlog_by_partition,
     .timeout = 150)
{
    world_up(NULL);
    world_send_stream(20000, 2000, 14, T0, 5 * DAY);
    harness_daemon *d = start("[checkpoint]\nmax_creators = 200\n"
                              "[log]\nlevel = debug\n");
    world_wait_caught_up(90000);
    world_assert_truth();
    int partial, biggest;
    int full = world_checkpoints_written(d, &partial, &biggest) - partial;
    cr_assert_gt(partial, 0, "no checkpoint left a partition out "
                             "(%d full ones)", full);
    /* 2000 creators over the partitions: one partition's share, not all. */
    cr_assert_lt(biggest, 2000 * 3 / 4, "a checkpoint wrote %d creators",
                 biggest);
    harness_daemon_stop(d);
    world_down();
}

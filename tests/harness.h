/*
 * harness: real servers and a real daemon for integration tests.
 *
 * Starts redis-server on a free loopback port, a librdkafka mock Kafka
 * cluster inside the test process (or, with ENGAGED_TEST_BROKER=kafka, a
 * real Apache Kafka broker through tools/kafka.sh), and build/engaged
 * itself, and gives
 * tests the few operations they need on each.  Nothing here sleeps as
 * synchronisation: every wait polls a condition every 10 ms against a
 * monotonic deadline.
 *
 * Processes.  Every child the harness starts (redis-server, the daemon,
 * harness_run's shell) is forked with PR_SET_PDEATHSIG = SIGKILL, so it dies
 * with the test process even when an assertion aborts the test or the test
 * crashes.  The kernel sends that signal when the *thread* that forked exits,
 * so call the starting functions from the test's main thread.  The harness
 * also keeps a list of its live children and temporary directories, and an
 * atexit() handler kills and removes whatever a test left behind.
 *
 * Temporary directories are under /tmp.  With HARNESS_KEEP set in the
 * environment they are kept (and their paths printed on stderr) so that a
 * failing test's logs, configs and AOF files can be read afterwards.
 *
 * Errors.  Functions that can fail return -1 (or NULL) and print one line
 * starting with "harness: " on stderr saying what failed; tests assert on the
 * return value and the message explains it in the Criterion output.
 *
 * Threads.  A handle is used by one thread at a time; the functions are meant
 * for a Criterion test's main thread.
 */
#ifndef ENGAGED_HARNESS_H
#define ENGAGED_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* ------------------------------------------------------------------ */
/* Generic                                                             */
/* ------------------------------------------------------------------ */

/*
 * Calls cond(arg) every 10 ms until it returns nonzero or timeout_ms have
 * passed (monotonic clock).  cond is called at least once, and once more at
 * the deadline, so a condition that became true just in time is seen.
 * Returns 0 when cond returned nonzero, -1 on timeout.
 */
int harness_wait(int (*cond)(void *arg), void *arg, int timeout_ms);

/*
 * Creates a fresh directory /tmp/engaged-test.XXXXXX (mode 0700).
 * Returns its path, malloc'd and owned by the caller, or NULL.  The directory
 * is registered for removal at exit; harness_rmtree() removes it earlier.
 */
char *harness_tmpdir(void);

/*
 * Removes `path` and everything below it (no symlinks followed) and
 * forgets it from the at-exit list.  With HARNESS_KEEP set, only prints the
 * path and keeps it.  Does not free `path`.
 * Returns 0, or -1 when something could not be removed.
 */
int harness_rmtree(const char *path);

/*
 * Writes `len` bytes of `data` to `path` (created or truncated, mode 0600;
 * pass len = strlen for text).  Returns 0 or -1.
 */
int harness_write_file(const char *path, const void *data, size_t len);

/*
 * Reads the whole file `path`.  Returns a malloc'd NUL-terminated copy
 * (owned by the caller; *len, when len is not NULL, gets its length), or
 * NULL when it cannot be read.
 */
char *harness_read_file(const char *path, size_t *len);

/*
 * Finds a TCP port that is free on 127.0.0.1 now: binds port 0, reads the
 * port back and closes the socket.  Another process may take it before the
 * caller does; that race is accepted.  Returns the port, or -1.
 */
int harness_free_port(void);

/*
 * Runs `cmd` with /bin/sh -c, stdin from /dev/null, stdout and stderr
 * together into a buffer.  Blocks until the shell exits and its output is
 * closed (a background grandchild keeping the output open keeps this
 * waiting).
 *   output: when not NULL, gets the malloc'd NUL-terminated output (owned by
 *           the caller), or NULL on failure.
 * Returns the exit status (0-255), 128 + N when killed by signal N, or -1
 * when the shell could not be run.
 */
int harness_run(const char *cmd, char **output);

/*
 * Starts argv (PATH searched) as a child of the harness: stdin from
 * /dev/null, stdout and stderr to outfd, PR_SET_PDEATHSIG, and on the list
 * the at-exit handler kills.  For servers the harness has no starter of
 * its own for (tests/amharness.c's Alertmanager).
 * Returns the pid, or -1 with errno set when it could not be executed.
 */
pid_t harness_spawn(char *const argv[], int outfd);

/*
 * The event generator: $ENGAGED_GEN, else $ENGAGED_ROOT/build/engaged-gen
 * (make test sets ENGAGED_GEN to its own build's).  Returns the path (a
 * static buffer), or NULL with a line on stderr when it is not executable.
 */
const char *harness_gen_path(void);

/*
 * Reaps child pid (from harness_spawn) once it has exited, polling for up
 * to timeout_ms (0: look once).  Returns 0 with *status (when not NULL)
 * when it is gone, -1 while it runs.
 */
int harness_reap(pid_t pid, int timeout_ms, int *status);

/* SIGTERM, up to 10 s, then SIGKILL; reaped.  Returns 0 when it exited on
 * SIGTERM. */
int harness_terminate(pid_t pid, int *status);

/* ------------------------------------------------------------------ */
/* Redis                                                               */
/* ------------------------------------------------------------------ */

typedef struct harness_redis harness_redis;

/*
 * Starts redis-server (from PATH) on a free 127.0.0.1 port with its own
 * temporary directory as `dir`, appendonly yes, appendfsync always, save "",
 * and its log in that directory.  Waits (up to 10 s) until PING answers PONG.
 * When the server exits during start-up (its port was taken meanwhile) it
 * retries with another port, three times in all.
 * Returns the handle, to be released with harness_redis_stop(), or NULL with
 * the reason and the end of the server's log on stderr.
 */
harness_redis *harness_redis_start(void);

/* The server's TCP port on 127.0.0.1. */
int harness_redis_port(const harness_redis *r);

/* The server's directory (AOF, log); owned by the handle. */
const char *harness_redis_dir(const harness_redis *r);

/*
 * A hiredis client connected to the server, owned by the handle (do not
 * free it).  Reconnects when the previous connection broke (after a kill and
 * restart, for instance).  Returns NULL while the server is down.  The
 * pointer is invalidated by harness_redis_kill/restart/stop and by the next
 * harness_redis_ctx() call that had to reconnect.
 */
redisContext *harness_redis_ctx(harness_redis *r);

/*
 * HGET key field.  Returns the value as a malloc'd NUL-terminated string
 * (owned by the caller), or NULL when the key or field is absent, the value
 * is not a string, or the server cannot be reached.
 */
char *harness_redis_hget(harness_redis *r, const char *key,
                         const char *field);

/*
 * Polls HGET key field until it equals `value` (or, with value NULL, until
 * the field exists with any value), for up to timeout_ms.
 * Returns 0 when it does, -1 on timeout (the last value seen is printed on
 * stderr to help the failing test).
 */
int harness_redis_wait_field(harness_redis *r, const char *key,
                             const char *field, const char *value,
                             int timeout_ms);

/*
 * Kills the server with SIGKILL and reaps it, for fault tests: what was
 * acknowledged is in the AOF (appendfsync always), nothing else survives.
 * Returns 0, or -1 when it was not running.
 */
int harness_redis_kill(harness_redis *r);

/*
 * Starts the server again on the same port and directory, so the AOF is
 * reloaded, and waits for PING.  A server still running is first stopped
 * with SIGTERM.  Returns 0, or -1 (for instance when the port was taken
 * while the server was down).
 */
int harness_redis_restart(harness_redis *r);

/*
 * Stops the server (SIGTERM, up to 10 s, then SIGKILL), closes the client,
 * removes the directory and frees the handle.  r may be NULL.
 */
void harness_redis_stop(harness_redis *r);

/*
 * Sends `sig` to the running server, for fault tests: SIGSTOP makes a
 * Redis that accepts connections (the kernel completes them) and never
 * answers, SIGCONT lets it go on.  The handle's own client is dropped
 * first, so harness_redis_ctx() reconnects afterwards.
 * Returns 0, or -1 when the server is not running.
 */
int harness_redis_signal(harness_redis *r, int sig);

/*
 * Runs one command (printf-like, hiredis's redisCommand format) on the
 * handle's client and returns 0 when Redis answered anything but an error,
 * -1 otherwise (the error is printed).  For CONFIG SET, REPLICAOF ...
 */
int harness_redis_cmd(harness_redis *r, const char *fmt, ...);

/* ------------------------------------------------------------------ */
/* Kafka: librdkafka's mock cluster, or a real Apache Kafka            */
/* ------------------------------------------------------------------ */

/*
 * Limits of the mock cluster (librdkafka 2.0): each partition keeps only its
 * last 5 MiB (or 100000 batches); older batches are dropped and the log
 * start offset moves up, so a test that reads a topic from the beginning
 * must keep under that (about 30000 uncompressed 150-byte events per
 * partition).  CreateTopics is not supported: create topics here.
 *
 * The real broker (ENGAGED_TEST_BROKER=kafka in the environment, as make
 * test-kafka sets it): each harness_kafka_start() starts a single-node
 * Apache Kafka of its own (tools/kafka.sh start, 3 to 5 s) in a fresh
 * temporary directory, with ENGAGED_KAFKA_OWNER set to the test process so
 * that the broker dies with it.  That broker creates no topic on its own
 * (auto.create.topics.enable=false, docs/kafka.md): every topic a test or
 * the daemon uses must be one harness_kafka_start() created.
 */

typedef struct harness_kafka harness_kafka;

/*
 * Nonzero when the tests run on a real Apache Kafka (ENGAGED_TEST_BROKER is
 * "kafka"), zero on the mock cluster.  Tests that need the mock's fault
 * injection call it before starting anything and skip
 * (cr_skip_test("needs the mock cluster")).  Any thread.
 */
int harness_kafka_real(void);

/*
 * Sends the librdkafka log lines of a client the test makes to the test
 * process's client log (a file), instead of stderr; a harness failure shows
 * its last lines.  Every client the harness makes does so.
 */
void harness_kafka_quiet(rd_kafka_conf_t *conf);

/*
 * Starts a Kafka and creates each of the `ntopics` topics with `partitions`
 * partitions, then an idempotent producer on it owned by the handle.
 *   Mock: a cluster of `brokers` brokers (1..) listening on 127.0.0.1,
 *   topics of replication factor min(brokers, 3).  Other topics are
 *   auto-created, with 4 partitions, as soon as any client (even a
 *   consumer) asks for their metadata.
 *   Real broker: one node whatever `brokers` says, replication factor 1,
 *   topics created with the Admin API (max.message.bytes 17 MiB, so that
 *   the hostile suite's big messages fit) and waited for until every
 *   partition has a leader.  No other topic exists.
 * Returns the handle, to be released with harness_kafka_stop(), or NULL.
 */
harness_kafka *harness_kafka_start(int brokers, int partitions,
                                   const char *const *topics, size_t ntopics);

/* "127.0.0.1:PORT,..." for bootstrap.servers; owned by the handle. */
const char *harness_kafka_bootstrap(const harness_kafka *k);

/*
 * The mock cluster, for fault injection (rd_kafka_mock_broker_set_down,
 * rd_kafka_mock_push_request_errors, ...).  Owned by the handle.  NULL on
 * the real broker.
 */
rd_kafka_mock_cluster_t *harness_kafka_mock(harness_kafka *k);

/*
 * Takes every broker away at once, as a crash would.
 *   Real broker: SIGKILL (tools/kafka.sh kill), returning once the process
 *   is gone; clients see connections refused.
 *   Mock: rd_kafka_mock_broker_set_down on every broker.
 * Returns 0, or -1 (the reason printed).
 */
int harness_kafka_kill(harness_kafka *k);

/*
 * Brings the brokers back after harness_kafka_kill(), on the same address
 * with the same data (the real broker recovers its log directory: 3 to 4 s
 * after a SIGKILL), and returns once every partition has a leader again.
 * Returns 0, or -1 (the reason printed).
 */
int harness_kafka_restart(harness_kafka *k);

/*
 * Queues one message on the harness's idempotent producer.
 *   partition: a partition, or RD_KAFKA_PARTITION_UA to partition by key
 *              (librdkafka's default partitioner).
 *   key, value: copied; either may be NULL (with length 0).
 * Waits for queue space when the producer's queue is full.  Delivery is
 * asynchronous: harness_kafka_flush() tells whether it succeeded.
 * Returns 0, or -1 when the message could not be queued.
 */
int harness_kafka_produce(harness_kafka *k, const char *topic,
                          int32_t partition, const void *key, size_t keylen,
                          const void *value, size_t len);

/*
 * Same, with headers: `headers` holds 2 * nheaders strings, name then value
 * for each header (a NULL value makes a header without value).  Copied.
 */
int harness_kafka_produce_headers(harness_kafka *k, const char *topic,
                                  int32_t partition, const void *key,
                                  size_t keylen, const void *value, size_t len,
                                  const char *const *headers, size_t nheaders);

/*
 * Waits up to timeout_ms until every queued message was delivered or failed.
 * Returns 0 when all messages queued since the previous flush were delivered,
 * -1 on timeout or when any delivery failed (the first error is printed).
 */
int harness_kafka_flush(harness_kafka *k, int timeout_ms);

/* One consumed message: every pointer is malloc'd and NUL-terminated. */
typedef struct harness_msg {
    char *key;          /* NULL when the message has no key */
    size_t keylen;
    char *value;        /* NULL when the message has no value */
    size_t len;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;  /* ms, -1 when not available */
    size_t nheaders;
    char **hname;       /* nheaders names, in the message's order */
    char **hvalue;      /* nheaders values; NULL for a header without value */
} harness_msg;

/*
 * Reads `topic` from the beginning of all its partitions with a fresh
 * consumer (no consumer group, nothing committed), waiting up to timeout_ms
 * for the topic's metadata (the mock cluster creates a missing topic, so a
 * topic nobody wrote to reads as empty; the real broker has only the
 * topics harness_kafka_start created, and a missing one fails).
 *   expect > 0: reads until `expect` messages were read or the timeout.
 *   expect = 0: reads until the end of every partition (what is there now).
 *   n:          gets the number of messages returned.
 * Returns an array sorted by partition then offset, owned by the caller
 * (harness_msgs_free), never NULL unless the consumer could not be set up
 * (then *n is 0).  On timeout it returns what was read: compare *n with
 * expect.
 */
harness_msg *harness_kafka_consume(harness_kafka *k, const char *topic,
                                   size_t expect, int timeout_ms, size_t *n);

/*
 * The value of the first header called `name` in `m`, or NULL when there is
 * none (or it has no value).  Owned by m.
 */
const char *harness_msg_header(const harness_msg *m, const char *name);

/* Frees what harness_kafka_consume returned.  m may be NULL. */
void harness_msgs_free(harness_msg *m, size_t n);

/*
 * Purges the producer's queue, destroys the producer and the mock cluster
 * (clients connected to it see the brokers go away), or stops the real
 * broker (tools/kafka.sh stop) and removes its directory (kept with
 * HARNESS_KEEP), and frees the handle.  k may be NULL.
 */
void harness_kafka_stop(harness_kafka *k);

/* ------------------------------------------------------------------ */
/* The daemon under test                                                */
/* ------------------------------------------------------------------ */

typedef struct harness_daemon harness_daemon;

/*
 * Writes config_text to engaged.conf in a fresh temporary directory and
 * spawns $ENGAGED_BIN (default "build/engaged", relative to the current
 * directory) as `ENGAGED_BIN -c FILE`, stdin from /dev/null, stdout and
 * stderr appended to daemon.log in that directory.
 * Returns the handle, to be released with harness_daemon_stop(), or NULL
 * when the program could not be executed (the reason is on stderr).
 */
harness_daemon *harness_daemon_start(const char *config_text);

/*
 * Same, with extra_args (NULL-terminated, may be NULL) after "-c FILE".
 * With config_text NULL no file is written and no "-c FILE" is passed, for
 * runs like `engaged --version`.
 */
harness_daemon *harness_daemon_start_args(const char *config_text,
                                          const char *const *extra_args);

/* The daemon's process id. */
pid_t harness_daemon_pid(const harness_daemon *d);

/* The configuration file's path (NULL without one); owned by the handle. */
const char *harness_daemon_config_path(const harness_daemon *d);

/* The daemon's temporary directory; owned by the handle. */
const char *harness_daemon_dir(const harness_daemon *d);

/*
 * Sends `sig` to the daemon.  Returns 0, or -1 when it has already exited
 * (and was reaped by harness_daemon_wait) or kill() failed.
 */
int harness_daemon_signal(harness_daemon *d, int sig);

/*
 * Waits up to timeout_ms for the daemon to exit.  status, when not NULL,
 * gets the waitpid() status (use WIFEXITED/WEXITSTATUS).  Once it has
 * exited, later calls return 0 and the same status at once.
 * Returns 0 when it has exited, -1 on timeout.
 */
int harness_daemon_wait(harness_daemon *d, int timeout_ms, int *status);

/* The whole log so far, malloc'd and owned by the caller ("" when empty). */
char *harness_daemon_log(const harness_daemon *d);

/*
 * Polls the log until it contains `needle`, for up to timeout_ms.  Stops
 * early when the daemon exits without having logged it.
 * Returns 0 when found, -1 otherwise (the log is then printed on stderr).
 */
int harness_daemon_wait_log(harness_daemon *d, const char *needle,
                            int timeout_ms);

/*
 * How many times `needle` occurs in the daemon's log so far.
 */
int harness_daemon_log_count(const harness_daemon *d, const char *needle);

/*
 * Polls the log until `needle` occurs at least `count` times, for up to
 * timeout_ms.  Stops early when the daemon exits short of it.
 * Returns 0 when it does, -1 otherwise (the log's end is then printed).
 */
int harness_daemon_wait_log_count(harness_daemon *d, const char *needle,
                                  int count, int timeout_ms);

/*
 * GET http://127.0.0.1:port/path with HTTP/1.0.  Returns the status code
 * (200, 503, ...), or -1 when nothing answered.  body, when not NULL, gets
 * the malloc'd response body (owned by the caller), or NULL.
 */
int harness_http_get(int port, const char *path, char **body);

/*
 * Stops the daemon (SIGTERM, up to 10 s, then SIGKILL), removes its
 * directory and frees the handle.  d may be NULL.
 */
void harness_daemon_stop(harness_daemon *d);

#endif

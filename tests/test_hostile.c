/*
 * Integration: hostile input (issue 5, "Hostile input").  The whole corpus of
 * tests/corpus/hostile/ (see its README), plus the large cases generated
 * here, goes through the real daemon between valid events, several times
 * over.  Each hostile message must land in the DLQ once, with the reason of
 * its directory, its original key and value and a readable detail; the
 * valid events around it must count (oracle); a ts in 9999 must not move the
 * watermark; and the daemon must stay up with a flat RSS.
 *
 * Each round sends every hostile message after a valid event on the same
 * partition (the partitions turn from round to round), then a valid event
 * on each partition, waits for the daemon's checkpoint and reads the DLQ;
 * then the 4 MiB message alone (see BIG_BYTES), waits and reads the DLQ
 * again.
 *
 * Three settings differ from the other integration tests:
 *  - [kafka] max_event_bytes = 256 KiB instead of 64 KiB: nesting 100,000
 *    deep takes 200,000 bytes, so under the default it would be too_large
 *    and never reach the parser's depth limit.  The 4 MiB message is
 *    too_large either way.
 *  - [kafka] message.max.bytes = 8 MiB, so that the daemon's DLQ producer
 *    takes the 4 MiB message whole, and the test can compare its bytes
 *    (without it the DLQ gets a truncated copy: the test at the end).
 *  - [metrics] max_future = 1h (the default) instead of world_up's 3650d,
 *    so that 9999 is in the future; the valid events are therefore stamped
 *    with the real clock (a day ago), not T0.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "world.h"

#define ROUNDS 7
#define WARMUP_ROUNDS 3     /* RSS is measured from the end of these */
#define RSS_SLACK_KB (5 * 1024)
#define MAX_EVENT_BYTES 262144
/*
 * The issue asks for a 10 MB message.  librdkafka 2.0's mock cluster cannot
 * carry one: appending a batch drops the oldest batches of the partition
 * until it holds at most 5 MiB, and when that drops every older batch it
 * also moves the log start past the new one (rd_kafka_mock_msgset_new), so
 * a 10 MiB message is gone before anyone reads it (the daemon logs "offset
 * reset ... Offset out of range" and skips it).  A message survives when
 * it fits in 5 MiB with the batch before it; 4 MiB leaves room for the
 * small messages around it, on the input partition and on the DLQ's.  It
 * is too_large all the same, and beyond the 1,000,000 bytes of librdkafka's
 * default message.max.bytes, so it takes the paths a 10 MiB message would.
 */
#define BIG_BYTES (4 * 1024 * 1024)
#define DEFAULT_KEY "h1"

/* AddressSanitizer's quarantine keeps freed memory (up to 256 MB), so RSS
 * says nothing about leaks there; LeakSanitizer checks the daemon at exit
 * instead (a leak makes it exit 23, not 0). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* One hostile message and what the DLQ must say about it. */
typedef struct hostile {
    char name[160];         /* reason/file, for messages */
    char reason[32];        /* the expected `error` header */
    char *value;            /* NULL: a null value (tombstone) */
    size_t len;
    char *key;              /* NULL: no key */
    size_t keylen;
} hostile;

typedef struct corpus {
    hostile *h;
    size_t n, cap;
} corpus;

/* Where one copy of a hostile message went, and how often the DLQ has it. */
typedef struct sent {
    const hostile *h;
    int partition;
    int64_t offset;
    int seen;
} sent;

/* --- the corpus ----------------------------------------------------------- */

static char *root_path(const char *rel)
{
    const char *root = getenv("ENGAGED_ROOT");
    size_t n = strlen(root && *root ? root : ".") + strlen(rel) + 2;
    char *p = malloc(n);
    cr_assert_not_null(p);
    snprintf(p, n, "%s/%s", root && *root ? root : ".", rel);
    return p;
}

static hostile *corpus_add(corpus *c, const char *reason, const char *name)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->h = realloc(c->h, c->cap * sizeof *c->h);
        cr_assert_not_null(c->h);
    }
    hostile *h = &c->h[c->n++];
    memset(h, 0, sizeof *h);
    snprintf(h->reason, sizeof h->reason, "%s", reason);
    snprintf(h->name, sizeof h->name, "%s/%s", reason, name);
    return h;
}

static char *xmemdup(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    cr_assert_not_null(d);
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int not_hidden(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

static int is_bin(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".bin") == 0;
}

/* Every REASON/NAME.bin under tests/corpus/hostile, with its key. */
static void corpus_load(corpus *c)
{
    char *dir = root_path("tests/corpus/hostile");
    struct dirent **reasons;
    int nr = scandir(dir, &reasons, not_hidden, alphasort);
    cr_assert_gt(nr, 0, "cannot read %s", dir);
    for (int r = 0; r < nr; r++) {
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", dir, reasons[r]->d_name);
        struct dirent **files;
        int nf = scandir(sub, &files, is_bin, alphasort);
        for (int f = 0; f < nf; f++) {
            char path[1300], stem[1300];
            snprintf(path, sizeof path, "%s/%s", sub, files[f]->d_name);
            snprintf(stem, sizeof stem, "%.*s", (int)strlen(path) - 4, path);
            const char *base = files[f]->d_name;
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)strlen(base) - 4, base);
            hostile *h = corpus_add(c, reasons[r]->d_name, name);
            h->value = harness_read_file(path, &h->len);
            cr_assert_not_null(h->value, "cannot read %s", path);
            char side[1310];
            snprintf(side, sizeof side, "%s.key", stem);
            if (exists(side)) {
                h->key = harness_read_file(side, &h->keylen);
                cr_assert_not_null(h->key, "cannot read %s", side);
            } else {
                snprintf(side, sizeof side, "%s.nokey", stem);
                if (!exists(side)) {
                    h->key = xmemdup(DEFAULT_KEY, strlen(DEFAULT_KEY));
                    h->keylen = strlen(DEFAULT_KEY);
                }
            }
            free(files[f]);
        }
        if (nf > 0)
            free(files);
        free(reasons[r]);
    }
    free(reasons);
    free(dir);
    cr_assert_gt(c->n, 100, "only %zu files in the hostile corpus", c->n);
}

/* "prefix" + fill repeated + "suffix", exactly `total` bytes. */
static char *padded(const char *prefix, char fill, size_t total,
                    const char *suffix)
{
    size_t a = strlen(prefix), b = strlen(suffix);
    cr_assert_geq(total, a + b);
    char *v = malloc(total + 1);
    cr_assert_not_null(v);
    memcpy(v, prefix, a);
    memset(v + a, fill, total - a - b);
    memcpy(v + total - b, suffix, b);
    v[total] = '\0';
    return v;
}

static void add_generated(corpus *c, const char *reason, const char *name,
                          char *value, size_t len, const char *key,
                          size_t keylen)
{
    hostile *h = corpus_add(c, reason, name);
    h->value = value;
    h->len = len;
    h->key = key ? xmemdup(key, keylen) : NULL;
    h->keylen = keylen;
}

#define EV_HEAD "{\"type\":\"engagement\",\"creator_id\":\"h1\"," \
                "\"ts\":\"2026-01-01T00:00:00Z\",\"action\":\"like\""

/* An engagement of creator_id `id` (JSON text, inserted as is). */
static char *event_of(const char *id, size_t *len)
{
    size_t size = strlen(id) + 128;
    char *v = malloc(size);
    cr_assert_not_null(v);
    *len = (size_t)snprintf(v, size,
                            "{\"type\":\"engagement\",\"creator_id\":\"%s\","
                            "\"ts\":\"2026-01-01T00:00:00Z\","
                            "\"action\":\"like\"}",
                            id);
    cr_assert_lt(*len, size);
    return v;
}

/* The cases too big to keep in the repository. */
static void corpus_generate(corpus *c)
{
    size_t n = MAX_EVENT_BYTES + 1;
    add_generated(c, "too_large", "one_byte_over_max_event_bytes",
                  padded(EV_HEAD ",\"pad\":\"", 'x', n, "\"}"), n,
                  DEFAULT_KEY, 2);

    n = 2 * 100000;
    char *v = padded("", '[', n, "");
    memset(v + n / 2, ']', n / 2);
    add_generated(c, "invalid_json", "nesting_100000_deep", v, n, DEFAULT_KEY,
                  2);
    n = 100000;
    add_generated(c, "invalid_json", "nesting_100000_deep_unclosed",
                  padded("", '[', n, ""), n, DEFAULT_KEY, 2);

    /* {"a":{"a":...{"a":1}...}} at 10,000 levels: 60 KiB. */
    size_t depth = 10000;
    n = depth * 6 + 1;
    v = malloc(n + 1);
    cr_assert_not_null(v);
    for (size_t i = 0; i < depth; i++) {
        memcpy(v + 5 * i, "{\"a\":", 5);
        v[5 * depth + 1 + i] = '}';
    }
    v[5 * depth] = '1';
    v[n] = '\0';
    add_generated(c, "invalid_json", "objects_10000_deep", v, n, DEFAULT_KEY,
                  2);

    char *id = padded("", 'h', 10000, "");
    v = event_of(id, &n);
    add_generated(c, "invalid_event", "creator_id_of_10000_chars", v, n, id,
                  10000);
    free(id);

    /* 10,000 code points of 4 bytes: the byte limit and the character
     * limit disagree by a factor of 4 here. */
    id = malloc(40001);
    cr_assert_not_null(id);
    for (size_t i = 0; i < 10000; i++)
        memcpy(id + 4 * i, "\xf0\x9f\x98\x80", 4);
    id[40000] = '\0';
    v = event_of(id, &n);
    add_generated(c, "invalid_event", "creator_id_of_10000_emoji", v, n, id,
                  40000);
    free(id);

    /* 10,000 control characters, escaped (raw ones are invalid JSON). */
    id = malloc(60001);
    cr_assert_not_null(id);
    for (size_t i = 0; i < 10000; i++)
        memcpy(id + 6 * i, "\\u0001", 6);
    id[60000] = '\0';
    v = event_of(id, &n);
    add_generated(c, "invalid_event", "creator_id_of_10000_control_chars", v,
                  n, DEFAULT_KEY, 2);
    free(id);

    char *key = padded("", 'k', 10000, "");
    add_generated(c, "key_mismatch", "key_of_10000_bytes",
                  xmemdup(EV_HEAD "}", strlen(EV_HEAD "}")),
                  strlen(EV_HEAD "}"), key, 10000);
    free(key);

    add_generated(c, "invalid_json", "null_value_tombstone", NULL, 0,
                  DEFAULT_KEY, 2);
}

static void corpus_free(corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->h[i].value);
        free(c->h[i].key);
    }
    free(c->h);
}

/* --- sending -------------------------------------------------------------- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Valid events: creators v<N> on every partition, time moving on by 1 s. */
static char creators[NPART][3][16];
static int64_t next_ts;
static int64_t max_valid_ts[NPART];
static int nvalid;

static void pick_creators(void)
{
    int have[NPART] = {0};
    for (int i = 0, left = NPART * 3; left > 0; i++) {
        char id[16];
        snprintf(id, sizeof id, "v%d", i);
        int p = world_partition_of(id);
        if (have[p] < 3) {
            snprintf(creators[p][have[p]++], sizeof creators[p][0], "%s", id);
            left--;
        }
    }
}

static oracle_event valid_event(int p)
{
    const char *id = creators[p][nvalid % 3];
    oracle_event e = world_engagement(id, next_ts, nvalid % 7,
                                      1 + nvalid % 3);
    if (nvalid % 5 == 0)
        e.followers = 4000 + 250000 * (nvalid % 6);
    nvalid++;
    next_ts += 1000;
    if (e.ts > max_valid_ts[p])
        max_valid_ts[p] = e.ts;
    return e;
}

static void send_valid(int p)
{
    oracle_event e = valid_event(p);
    world_send(e);
    cr_assert_eq(world_partition_of(e.creator_id), p);
}

/* A valid event padded with spaces to exactly max_event_bytes: accepted. */
static void send_valid_at_the_limit(int p)
{
    oracle_event e = valid_event(p);
    e.partition = p;
    char *buf = malloc(MAX_EVENT_BYTES + 1);
    cr_assert_not_null(buf);
    size_t n = oracle_json(&e, buf, MAX_EVENT_BYTES + 1);
    cr_assert_lt(n, MAX_EVENT_BYTES);
    memset(buf + n, ' ', MAX_EVENT_BYTES - n);
    cr_assert(oracle_add(W.truth, &e));
    cr_assert_eq(harness_kafka_produce(W.kafka, TOPIC, p, e.creator_id,
                                       strlen(e.creator_id), buf,
                                       MAX_EVENT_BYTES),
                 0);
    W.produced[p]++;
    free(buf);
}

static void send_hostile(const hostile *h, int p, sent *s)
{
    s->h = h;
    s->partition = p;
    s->offset = W.produced[p];
    s->seen = 0;
    cr_assert_eq(harness_kafka_produce(W.kafka, TOPIC, p, h->key, h->keylen,
                                       h->value, h->len),
                 0, "%s", h->name);
    W.produced[p]++;
}

/*
 * The big message: beyond the harness producer's message.max.bytes
 * (1,000,000), so it goes through a producer of its own, after the
 * harness's producer has delivered what it holds (order on the partition).
 */
static void on_big_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                            void *opaque)
{
    (void)rk;
    *(rd_kafka_resp_err_t *)opaque = m->err;
}

static void send_big(const hostile *h, int p, sent *s)
{
    /* Whatever the harness's producer holds goes first, in order. */
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    char err[512];
    static rd_kafka_resp_err_t result;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    harness_kafka_quiet(conf);
    cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers",
                                   harness_kafka_bootstrap(W.kafka), err,
                                   sizeof err),
                 RD_KAFKA_CONF_OK, "%s", err);
    cr_assert_eq(rd_kafka_conf_set(conf, "message.max.bytes", "16777216", err,
                                   sizeof err),
                 RD_KAFKA_CONF_OK, "%s", err);
    /* A retried request must not append the message twice (idempotent,
     * as the harness's producer is). */
    cr_assert_eq(rd_kafka_conf_set(conf, "enable.idempotence", "true", err,
                                   sizeof err),
                 RD_KAFKA_CONF_OK, "%s", err);
    rd_kafka_conf_set_dr_msg_cb(conf, on_big_delivery);
    rd_kafka_conf_set_opaque(conf, &result);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert_not_null(rk, "%s", err);
    result = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    s->h = h;
    s->partition = p;
    s->offset = W.produced[p];
    s->seen = 0;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(p),
        RD_KAFKA_V_KEY(h->key, h->keylen), RD_KAFKA_V_VALUE(h->value, h->len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    cr_assert_eq(e, 0, "cannot produce %zu bytes: %s", h->len,
                 rd_kafka_err2str(e));
    rd_kafka_flush(rk, 30000);
    cr_assert_eq(result, 0, "%zu bytes not delivered: %s", h->len,
                 rd_kafka_err2str(result));
    rd_kafka_destroy(rk);
    W.produced[p]++;
}

/* --- checking ------------------------------------------------------------- */

static const char *header(const harness_msg *m, const char *name)
{
    const char *v = harness_msg_header(m, name);
    return v ? v : "(absent)";
}

/* A sentence a person can read: no byte below 0x20, no DEL. */
static bool readable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F)
            return false;
    return true;
}

/*
 * Reads the DLQ and matches its messages from [from[p], to[p]) on each
 * partition p with what was sent there: each sent message exactly once,
 * with its reason, key and value; nothing else from that range (a valid
 * event in the DLQ would show up here).
 */
static void check_dlq(sent *s, size_t n, const int64_t *from,
                      const int64_t *to)
{
    size_t nm = 0;
    harness_msg *m = harness_kafka_consume(W.kafka, DLQ, 0, 30000, &nm);
    cr_assert_not_null(m, "cannot read the DLQ");
    for (size_t i = 0; i < nm; i++) {
        int p;
        long long off;
        char topic[64];
        const char *src = header(&m[i], "source");
        cr_assert_eq(sscanf(src, "%63[^:]:%d:%lld", topic, &p, &off), 3,
                     "DLQ source header \"%s\"", src);
        cr_assert_str_eq(topic, TOPIC);
        cr_assert(p >= 0 && p < NPART, "%s", src);
        if (off < from[p] || off >= to[p])
            continue;
        size_t k = 0;
        while (k < n && !(s[k].partition == p && s[k].offset == off))
            k++;
        cr_assert_lt(k, n, "a valid event went to the DLQ: %s error=%s %s",
                     src, header(&m[i], "error"), header(&m[i], "detail"));
        const hostile *h = s[k].h;
        s[k].seen++;
        cr_expect_str_eq(header(&m[i], "error"), h->reason, "%s: %s",
                         h->name, header(&m[i], "detail"));
        const char *detail = header(&m[i], "detail");
        cr_expect(strlen(detail) > 10 && readable(detail),
                  "%s: detail \"%s\"", h->name, detail);
        cr_expect_eq(m[i].len, h->len, "%s: DLQ value of %zu bytes, sent %zu",
                     h->name, m[i].len, h->len);
        cr_expect(m[i].len != h->len || h->len == 0 ||
                      memcmp(m[i].value, h->value, h->len) == 0,
                  "%s: the DLQ's value differs from what was sent", h->name);
        if (h->key == NULL) {
            cr_expect_null(m[i].key, "%s: a key appeared", h->name);
        } else {
            cr_expect_eq(m[i].keylen, h->keylen, "%s: DLQ key of %zu bytes",
                         h->name, m[i].keylen);
            cr_expect(m[i].keylen != h->keylen || h->keylen == 0 ||
                          memcmp(m[i].key, h->key, h->keylen) == 0,
                      "%s: the DLQ's key differs", h->name);
        }
    }
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(s[k].seen, 1, "%s (%s:%d:%" PRId64 ") is %d times in "
                     "the DLQ", s[k].h->name, TOPIC, s[k].partition,
                     s[k].offset, s[k].seen);
    harness_msgs_free(m, nm);
}

static long rss_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    char *status = harness_read_file(path, NULL);
    cr_assert_not_null(status, "the daemon (pid %d) is gone", (int)pid);
    const char *line = strstr(status, "\nVmRSS:");
    cr_assert_not_null(line);
    long kb = strtol(line + 7, NULL, 10);
    free(status);
    return kb;
}

static void assert_alive(harness_daemon *d)
{
    int status = 0;
    cr_assert_eq(harness_daemon_wait(d, 0, &status), -1,
                 "the daemon exited (status %d)", status);
}

/* --- the test ------------------------------------------------------------- */

Test(hostile, every_hostile_message_lands_in_the_dlq_and_the_daemon_stays_flat,
     .timeout = 600)
{
    /* message.max.bytes: see a_message_the_dlq_producer_refuses_... */
    world_up("[kafka]\nmax_event_bytes = 262144\n"
             "message.max.bytes = 8388608\n"
             "[metrics]\nmax_future = 1h\n");
    corpus c = {0};
    corpus_load(&c);
    corpus_generate(&c);
    hostile big = {.value = padded(EV_HEAD ",\"pad\":\"", 'x', BIG_BYTES,
                                   "\"}"),
                   .len = BIG_BYTES,
                   .key = xmemdup(DEFAULT_KEY, 2),
                   .keylen = 2};
    snprintf(big.name, sizeof big.name, "too_large/message_of_4_MiB");
    snprintf(big.reason, sizeof big.reason, "too_large");

    pick_creators();
    next_ts = wall_ms() - DAY;
    sent *s = calloc(c.n, sizeof *s);
    cr_assert_not_null(s);
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    pid_t pid = harness_daemon_pid(d);
    long rss[ROUNDS];

    for (int round = 0; round < ROUNDS; round++) {
        int64_t from[NPART], to[NPART];
        memcpy(from, W.produced, sizeof from);
        /* Each hostile message after a valid event on its partition: the
         * partition's watermark is recent, so 1970 is too_late there. */
        for (size_t i = 0; i < c.n; i++) {
            int p = (int)((i + (size_t)round) % NPART);
            send_valid(p);
            send_hostile(&c.h[i], p, &s[i]);
            if (i % 40 == 0)
                send_valid_at_the_limit(p);
        }
        for (int p = 0; p < NPART; p++)
            send_valid(p);
        world_wait_caught_up(120000);
        memcpy(to, W.produced, sizeof to);
        check_dlq(s, c.n, from, to);

        int p = round % NPART;
        sent bs;
        memcpy(from, W.produced, sizeof from);
        send_big(&big, p, &bs);
        world_wait_caught_up(120000);
        memcpy(to, W.produced, sizeof to);
        check_dlq(&bs, 1, from, to);

        assert_alive(d);
        rss[round] = rss_kb(pid);
        fprintf(stderr, "hostile: round %d: %zu + 1 hostile messages, "
                "daemon RSS %ld kB\n", round + 1, c.n, rss[round]);
    }

    world_assert_truth();
    /* h1, the creator of the hostile events, never had a valid one. */
    cr_assert_null(harness_redis_hget(W.redis, "eng:creator:h1", "tier"),
                   "a hostile event of h1 was counted");
    /* The 9999 events did not move any watermark. */
    for (int p = 0; p < NPART; p++) {
        char field[64];
        snprintf(field, sizeof field, TOPIC ":%d", p);
        cr_assert_eq(world_hget_int("eng:watermarks:engaged", field),
                     max_valid_ts[p], "watermark of partition %d", p);
    }
    /* Rounds 2 and 3 grow RSS by about 11 MB once (12.5 MB -> 24 MB), then
     * it stays within 200 kB: glibc's mmap threshold rises to the size of
     * the largest block freed (4 MiB here), so from then on the big
     * message's copies come from the heap, which keeps them for reuse.
     * With MALLOC_MMAP_THRESHOLD_ fixed, round 1 is within 1 MB of the
     * last.  A leak of the DLQ copies would add over 4 MB a round. */
    const long base = rss[WARMUP_ROUNDS - 1], last = rss[ROUNDS - 1];
    if (UNDER_ASAN)
        fprintf(stderr, "hostile: RSS not checked under AddressSanitizer\n");
    else
        cr_assert_leq(last, base + RSS_SLACK_KB,
                      "RSS grew from %ld kB after round %d to %ld kB after "
                      "round %d", base, WARMUP_ROUNDS, last, ROUNDS);

    assert_alive(d);
    cr_assert_eq(harness_daemon_signal(d, SIGTERM), 0);
    int status;
    cr_assert_eq(harness_daemon_wait(d, 30000, &status), 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "exit status %d", status);
    harness_daemon_stop(d);
    free(s);
    free(big.value);
    free(big.key);
    corpus_free(&c);
    world_down();
}

/*
 * A too_large message longer than the DLQ
 * producer's message.max.bytes (librdkafka's default, 1,000,000 bytes;
 * Kafka brokers accept larger messages when a topic allows them) cannot be
 * produced to the DLQ: rd_kafka_producev() answers MSG_SIZE_TOO_LARGE at
 * once, and engine.c's send_dlq() retries it forever ("never drop").  The
 * daemon stops on that message: no checkpoint, no other partition, and
 * about 30,000 "cannot produce to engagement.dlq: Broker: Message size too
 * large" warnings a second in the log.  That was the bug; now the DLQ
 * gets the first 64 KiB of the value and a `truncated` header with its
 * size, and the daemon goes on.
 */
Test(hostile, a_message_the_dlq_producer_refuses_does_not_wedge_the_daemon,
     .timeout = 120)
{
    world_up("[metrics]\nmax_future = 1h\n");
    pick_creators();
    next_ts = wall_ms() - DAY;
    hostile big = {.value = padded(EV_HEAD ",\"pad\":\"", 'x', 2000000,
                                   "\"}"),
                   .len = 2000000,
                   .key = xmemdup(DEFAULT_KEY, 2),
                   .keylen = 2};
    snprintf(big.name, sizeof big.name, "too_large/message_of_2_MB");
    snprintf(big.reason, sizeof big.reason, "too_large");
    send_valid(0);
    sent bs;
    send_big(&big, 0, &bs);
    for (int p = 0; p < NPART; p++)
        send_valid(p);
    harness_daemon *d = harness_daemon_start(W.config);
    cr_assert_not_null(d);
    world_wait_caught_up(60000);
    world_assert_truth();
    assert_alive(d);

    size_t nm = 0;
    harness_msg *m = harness_kafka_consume(W.kafka, DLQ, 1, 30000, &nm);
    char want[64];
    snprintf(want, sizeof want, TOPIC ":0:%" PRId64, bs.offset);
    size_t found = 0;
    for (size_t i = 0; i < nm; i++)
        if (strcmp(header(&m[i], "source"), want) == 0) {
            found++;
            cr_expect_str_eq(header(&m[i], "error"), "too_large");
            cr_expect_str_eq(header(&m[i], "truncated"), "2000000");
            cr_expect_eq(m[i].len, 65536);
        }
    cr_assert_eq(found, 1, "%zu DLQ messages from %s", found, want);
    harness_msgs_free(m, nm);
    harness_daemon_stop(d);
    free(big.value);
    free(big.key);
    world_down();
}

/*
 * engaged-bench-parse: event_parse alone, on engaged-gen's stream, in
 * process: no Kafka, no Redis.  Times event_parse (the one-pass scanner,
 * with jansson for what it declines) against event_parse_slow (jansson
 * alone) and prints ns/event and events/s for each, the best of --rounds
 * passes over the same messages.
 *
 * The messages are engaged-gen's "key<TAB>json" lines, read from FILE, or
 * else produced by running `engaged-gen --stdout` found next to this
 * program.  Before timing, both paths are run over every message and must
 * agree; the count the scanner took alone is printed with the figures.
 *
 * `make bench-parse` builds it with make bench's optimised flags and runs it.
 */
#include "event.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The wall clock given to event_parse: 2027-01-01T00:00:00Z, after any ts
 * of engaged-gen's default stream (2026-11-01 plus --days). */
#define BENCH_NOW INT64_C(1798761600000)

/* Where one message's key and value are in messages.bytes. */
typedef struct message {
    size_t key_at, key_len, value_at, value_len;
} message;

/* The messages, their bytes one after the other in one buffer. */
typedef struct messages {
    char *bytes;
    size_t size, cap;
    message *at;
    size_t n, n_cap;
    size_t value_bytes;
} messages;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("engaged-bench-parse: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    p = realloc(p, c * elem);
    if (p == NULL)
        die("out of memory");
    *cap = c;
    return p;
}

static size_t append(messages *m, const char *s, size_t len)
{
    m->bytes = grow(m->bytes, &m->cap, m->size + len, 1);
    memcpy(m->bytes + m->size, s, len);
    m->size += len;
    return m->size - len;
}

/* Reads "key<TAB>json" lines from f, at most max of them. */
static void read_lines(FILE *f, size_t max, messages *m)
{
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    while (m->n < max && (got = getline(&line, &line_cap, f)) > 0) {
        size_t len = (size_t)got;
        if (line[len - 1] == '\n')
            len--;
        char *tab = memchr(line, '\t', len);
        if (tab == NULL)
            die("line %zu has no tab: not engaged-gen --stdout output",
                m->n + 1);
        m->at = grow(m->at, &m->n_cap, m->n + 1, sizeof *m->at);
        message *msg = &m->at[m->n++];
        msg->key_len = (size_t)(tab - line);
        msg->key_at = append(m, line, msg->key_len);
        msg->value_len = len - msg->key_len - 1;
        msg->value_at = append(m, tab + 1, msg->value_len);
        m->value_bytes += msg->value_len;
    }
    free(line);
}

typedef event_error (*parse_fn)(const void *, size_t, const void *, size_t,
                                const event_limits *, int64_t, event *,
                                char *, size_t);

static const event_limits limits = {.max_event_bytes = 65536,
                                    .max_future_ms = 3600000};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One pass over every message; returns its duration in ns. */
static double one_round(const messages *m, parse_fn parse, size_t *ok)
{
    static event ev;
    char detail[256];
    size_t good = 0;
    double t0 = now_ns();
    for (const message *msg = m->at; msg < m->at + m->n; msg++)
        good += parse(m->bytes + msg->value_at, msg->value_len,
                      m->bytes + msg->key_at, msg->key_len, &limits,
                      BENCH_NOW, &ev, detail, sizeof detail) == EVENT_OK;
    double t = now_ns() - t0;
    *ok = good;
    return t;
}

/* The best of `rounds` passes, in ns per message. */
static double best_ns(const messages *m, parse_fn parse, int rounds)
{
    double best = 0;
    for (int r = 0; r < rounds; r++) {
        size_t ok;
        double t = one_round(m, parse, &ok);
        if (ok != m->n)
            die("%zu of %zu messages refused", m->n - ok, m->n);
        if (r == 0 || t < best)
            best = t;
    }
    return best / (double)m->n;
}

static bool same_event(const event *a, const event *b)
{
    return a->type == b->type && a->ts_ms == b->ts_ms &&
           a->followers == b->followers && a->action == b->action &&
           a->count == b->count && a->sponsored == b->sponsored &&
           a->creator_id_len == b->creator_id_len &&
           strcmp(a->creator_id, b->creator_id) == 0 &&
           strcmp(a->post_id, b->post_id) == 0 &&
           strcmp(a->brand, b->brand) == 0 &&
           strcmp(a->sector, b->sector) == 0 &&
           strcmp(a->campaign_id, b->campaign_id) == 0 &&
           strcmp(a->event_id, b->event_id) == 0;
}

/* Both paths over every message: they must agree.  Returns how many the
 * scanner took alone. */
static size_t check_paths(const messages *m)
{
    static event a, b;
    char da[256], db[256];
    size_t taken = 0;
    for (size_t i = 0; i < m->n; i++) {
        const message *msg = &m->at[i];
        const char *v = m->bytes + msg->value_at;
        const char *k = m->bytes + msg->key_at;
        event_error ra = event_parse(v, msg->value_len, k, msg->key_len,
                                     &limits, BENCH_NOW, &a, da, sizeof da);
        event_error rb = event_parse_slow(v, msg->value_len, k, msg->key_len,
                                          &limits, BENCH_NOW, &b, db,
                                          sizeof db);
        if (ra != rb || (ra == EVENT_OK && !same_event(&a, &b)))
            die("message %zu: the paths disagree (%s, %s): %.*s", i + 1,
                event_error_name(ra), event_error_name(rb),
                (int)msg->value_len, v);
        if (rb != EVENT_OK)
            die("message %zu is refused (%s: %s): %.*s", i + 1,
                event_error_name(rb), db, (int)msg->value_len, v);
        taken += event_parse_fast(v, msg->value_len, &limits, BENCH_NOW, &a);
    }
    return taken;
}

static void usage(FILE *out)
{
    fprintf(out,
"Usage: engaged-bench-parse [-n EVENTS] [-r ROUNDS] [FILE]\n"
"Time event_parse (one-pass scanner, jansson for what it declines) against\n"
"jansson alone on engaged-gen's \"key<TAB>json\" lines from FILE, or from\n"
"`engaged-gen --stdout --seed 1 -n EVENTS` run from this program's\n"
"directory.  Prints ns/event and events/s, the best of ROUNDS passes.\n"
"\n"
"  -n, --events N   messages (default 200000)\n"
"  -r, --rounds N   timed passes per path (default 5)\n"
"  -h, --help       this help\n");
}

static unsigned long parse_count(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0 || v > 100000000)
        die("%s must be an integer from 1 to 100000000, not \"%s\"", what, s);
    return v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"events", required_argument, NULL, 'n'},
        {"rounds", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    size_t events = 200000;
    int rounds = 5;
    int c;
    while ((c = getopt_long(argc, argv, "n:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': events = parse_count(optarg, "--events"); break;
        case 'r': rounds = (int)parse_count(optarg, "--rounds"); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind > 1) {
        usage(stderr);
        return 2;
    }

    messages m = {0};
    if (optind < argc) {
        FILE *f = fopen(argv[optind], "r");
        if (f == NULL)
            die("cannot open %s: %s", argv[optind], strerror(errno));
        read_lines(f, events, &m);
        fclose(f);
    } else {
        /* engaged-gen sits next to this program in the build directory. */
        const char *slash = strrchr(argv[0], '/');
        int dir_len = slash ? (int)(slash - argv[0] + 1) : 0;
        char cmd[4096];
        snprintf(cmd, sizeof cmd,
                 "'%.*sengaged-gen' --stdout --quiet --seed 1 -n %zu",
                 dir_len, argv[0], events);
        FILE *p = popen(cmd, "r");
        if (p == NULL)
            die("cannot run %s: %s", cmd, strerror(errno));
        read_lines(p, events, &m);
        if (pclose(p) != 0)
            die("%s failed", cmd);
    }
    if (m.n == 0)
        die("no messages");

    size_t taken = check_paths(&m);
    double fast = best_ns(&m, event_parse, rounds);
    double slow = best_ns(&m, event_parse_slow, rounds);
    printf("%zu messages (%.0f bytes on average), best of %d passes\n", m.n,
           (double)m.value_bytes / (double)m.n, rounds);
    printf("  %-34s %8.1f ns/event %12.0f events/s\n",
           "event_parse (scanner + fallback)", fast, 1e9 / fast);
    printf("  %-34s %8.1f ns/event %12.0f events/s\n",
           "event_parse_slow (jansson only)", slow, 1e9 / slow);
    printf("  speed-up x%.1f; the scanner took %zu of %zu messages alone\n",
           slow / fast, taken, m.n);
    free(m.bytes);
    free(m.at);
    return 0;
}

/*
 * Scale-out: several engaged processes in one consumer group over the mock
 * cluster, partitions moving between them (SIGKILL, SIGTERM, a restart,
 * SIGSTOP past the session timeout, a newcomer, a Redis outage in the
 * middle of a rebalance), and every Redis hash and the alert stream
 * compared with the ground truth at the end.
 *
 * Which instance holds what is read from the daemons' own logs
 * ("partition assigned/revoked/lost/fenced", world_held), so every wait is
 * on a condition.  The suite `long_scaleout` holds the test that streams a
 * few hundred thousand events (about a minute); `scaleout` the short ones.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "prom.h"
#include "world.h"

#define ALL(n) ((1u << (n)) - 1)

/* The live members of a group and what they must hold together. */
typedef struct group {
    harness_daemon *d[4];
    size_t n;
    unsigned want;          /* the union of what they hold */
    bool each_some;         /* and every member holds something */
} group;

/* Nonzero when the members hold `want` between them, no partition twice. */
static int group_settled(void *arg)
{
    const group *g = arg;
    unsigned all = 0;
    for (size_t i = 0; i < g->n; i++) {
        unsigned h = world_held(g->d[i]);
        if ((all & h) != 0 || (g->each_some && h == 0))
            return 0;
        all |= h;
    }
    return all == g->want;
}

static void wait_settled(group g, int timeout_ms, const char *what)
{
    int rc = harness_wait(group_settled, &g, timeout_ms);
    if (rc != 0)
        for (size_t i = 0; i < g.n; i++)
            fprintf(stderr, "member %zu holds %#x\n", i, world_held(g.d[i]));
    cr_assert_eq(rc, 0, "the group did not settle in time: %s", what);
}

/* Sum of the events produced on the partitions of `mask`. */
static int64_t produced_on(unsigned mask)
{
    int64_t n = 0;
    for (int p = 0; p < W.nparts; p++)
        if (mask & (1u << p))
            n += W.produced[p];
    return n;
}

typedef struct backlog {
    int64_t max;
} backlog;

/* Nonzero when no partition has more than max events not checkpointed. */
static int backlog_below(void *arg)
{
    const backlog *b = arg;
    for (int p = 0; p < W.nparts; p++)
        if (W.produced[p] - world_offset_of(p) > b->max)
            return 0;
    return 1;
}

/* Events of the partitions of `mask` that Redis has. */
static int64_t checkpointed_on(unsigned mask)
{
    int64_t n = 0;
    for (int p = 0; p < W.nparts; p++)
        if (mask & (1u << p))
            n += world_offset_of(p);
    return n;
}

/* Nonzero once Redis has some event of the partitions in *mask. */
static int progress_on(void *arg)
{
    return checkpointed_on(*(const unsigned *)arg) > 0;
}

/* Matches a follower_jump alert with the ground truth's jumps. */
static void match_jump(const world_stream *s, bool *matched, json_t *a,
                       const char *text)
{
    json_t *d = json_object_get(a, "details");
    const char *who = json_string_value(json_object_get(a, "creator_id"));
    int c = -1;
    cr_assert(who && sscanf(who, "s%d", &c) == 1, "%s", text);
    int64_t from = json_integer_value(json_object_get(d, "from"));
    int64_t to = json_integer_value(json_object_get(d, "to"));
    for (size_t k = 0; k < s->njumps; k++)
        if (!matched[k] && s->jumps[k].creator == c &&
            s->jumps[k].from == from && s->jumps[k].to == to) {
            matched[k] = true;
            return;
        }
    cr_assert(false, "a jump the ground truth does not have (or twice): %s",
              text);
}

/*
 * The Redis stream <prefix>alerts holds exactly the tier changes and the
 * follower jumps the ground truth saw: each once, none missing, nothing
 * else.
 */
static void assert_tier_alerts(const world_stream *s)
{
    redisReply *r = redisCommand(harness_redis_ctx(W.redis),
                                 "XRANGE eng:alerts - +");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY);
    bool *matched = calloc(s->nchanges + 1, sizeof *matched);
    bool *jumped = calloc(s->njumps + 1, sizeof *jumped);
    size_t njumps = 0;
    char (*ids)[32] = calloc(r->elements + 1, sizeof *ids);
    cr_assert(matched && ids);
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *fields = r->element[i]->element[1];
        cr_assert_eq(fields->elements, 2);
        json_t *a = json_loads(fields->element[1]->str, 0, NULL);
        cr_assert_not_null(a, "%s", fields->element[1]->str);
        const char *kind = json_string_value(json_object_get(a, "kind"));
        const char *status = json_string_value(json_object_get(a, "status"));
        const char *id = json_string_value(json_object_get(a, "alert_id"));
        cr_assert(kind && id, "%s", fields->element[1]->str);
        for (size_t k = 0; k < i; k++)
            cr_assert_str_neq(ids[k], id, "alert %s is in the stream twice",
                              id);
        snprintf(ids[i], sizeof ids[i], "%s", id);
        if (strcmp(kind, "follower_jump") == 0) {
            match_jump(s, jumped, a, fields->element[1]->str);
            njumps++;
            json_decref(a);
            continue;
        }
        const char *who = json_string_value(json_object_get(a, "creator_id"));
        json_t *d = json_object_get(a, "details");
        const char *from = json_string_value(json_object_get(d, "from"));
        const char *to = json_string_value(json_object_get(d, "to"));
        int64_t followers = json_integer_value(json_object_get(d, "followers"));
        cr_assert(kind && status && id && who && from && to,
                  "%s", fields->element[1]->str);
        cr_assert_str_eq(kind, "tier_change", "%s", fields->element[1]->str);
        cr_assert_str_eq(status, "firing");
        int c = -1;
        cr_assert_eq(sscanf(who, "s%d", &c), 1, "%s", who);
        bool found = false;
        for (size_t k = 0; k < s->nchanges && !found; k++) {
            const world_tier_change *t = &s->changes[k];
            if (!matched[k] && t->creator == c && t->followers == followers &&
                strcmp(world_tier_name(t->from), from) == 0 &&
                strcmp(world_tier_name(t->to), to) == 0)
                matched[k] = found = true;
        }
        cr_assert(found, "an alert the ground truth does not have (or a "
                         "second one for the same change): %s",
                  fields->element[1]->str);
        json_decref(a);
    }
    for (size_t k = 0; k < s->nchanges; k++)
        cr_assert(matched[k],
                  "no alert for s%d changing from %s to %s at %" PRId64
                  " followers (%zu of %zu alerts in the stream)",
                  s->changes[k].creator, world_tier_name(s->changes[k].from),
                  world_tier_name(s->changes[k].to), s->changes[k].followers,
                  r->elements, s->nchanges);
    cr_assert_eq(njumps, s->njumps, "follower jumps: %zu alerted, %zu in the "
                 "ground truth", njumps, s->njumps);
    cr_assert_eq(r->elements, s->nchanges + s->njumps);
    free(matched);
    free(jumped);
    free(ids);
    freeReplyObject(r);
}

/* --- the per-tier gauges (issue 18) ------------------------------------------ */

/* A daemon with /metrics on a port of its own; `extra` may be NULL. */
static harness_daemon *daemon_http(const char *extra, int *port)
{
    *port = harness_free_port();
    char conf[1024];
    snprintf(conf, sizeof conf, "%s[http]\nlisten = 127.0.0.1:%d\n",
             extra ? extra : "", *port);
    return world_daemon(conf);
}

#define GT 6          /* unknown, then nano .. mega: oracle tier t - 1 */
#define GC 5          /* creators, followers, engagements 1h 24h 7d */
static const char *const gtier[GT] = {"unknown", "nano", "micro", "mid",
                                      "macro", "mega"};
static const char *const gwindow[3] = {"1h", "24h", "7d"};

typedef struct tiers {
    int64_t v[GT][GC];
} tiers;

/* The family and labels of cell (t, c), as /metrics writes them. */
static void gauge_name(int t, int c, char *out, size_t size)
{
    if (c == 0)
        snprintf(out, size, "engaged_tier_creators{tier=\"%s\"}", gtier[t]);
    else if (c == 1)
        snprintf(out, size, "engaged_tier_followers{tier=\"%s\"}", gtier[t]);
    else
        snprintf(out, size,
                 "engaged_tier_engagements{tier=\"%s\",window=\"%s\"}",
                 gtier[t], gwindow[c - 2]);
}

/* A tier_share or tier hash field of cell (t, c) (tier_share: "<tier>."). */
static void field_name(int c, char *out, size_t size)
{
    snprintf(out, size, "%s%s", c == 0 ? "creators" : c == 1 ? "followers"
                                                             : "engagements_",
             c >= 2 ? gwindow[c - 2] : "");
}

/*
 * Adds one instance's gauges, scraped from /metrics, to *sum; the text is
 * kept in *body (malloc'd) when body is not NULL.  Returns -1 when the
 * instance did not answer or a gauge is missing.
 */
static int scrape_tiers(int port, tiers *sum, char **body)
{
    char *text = NULL;
    if (harness_http_get(port, "/metrics", &text) != 200 || text == NULL) {
        free(text);
        return -1;
    }
    int rc = 0;
    for (int t = 0; t < GT && rc == 0; t++)
        for (int c = 0; c < GC && rc == 0; c++) {
            char needle[160];
            needle[0] = '\n';
            gauge_name(t, c, needle + 1, sizeof needle - 2);
            strcat(needle, " ");
            const char *at = strstr(text, needle);
            if (at == NULL)
                rc = -1;
            else
                sum->v[t][c] += strtoll(at + strlen(needle), NULL, 10);
        }
    if (body != NULL)
        *body = text;
    else
        free(text);
    return rc;
}

/* HGET as an integer, 0 when absent. */
static int64_t hget_or_0(const char *key, const char *field)
{
    char *v = harness_redis_hget(W.redis, key, field);
    int64_t x = v ? strtoll(v, NULL, 10) : 0;
    free(v);
    return x;
}

/* The tier hashes in Redis. */
static void redis_tiers(tiers *r)
{
    for (int t = 0; t < GT; t++)
        for (int c = 0; c < GC; c++) {
            char key[64], f[64];
            snprintf(key, sizeof key, "eng:tier:%s", gtier[t]);
            field_name(c, f, sizeof f);
            r->v[t][c] = hget_or_0(key, f);
        }
}

/* The ground truth's tier hashes. */
static void truth_tiers(tiers *o)
{
    for (int t = 0; t < GT; t++)
        oracle_tier(W.truth, t - 1, &o->v[t][0], &o->v[t][1], &o->v[t][2]);
}

typedef struct members {
    const int *ports;
    size_t n;
    bool truth;           /* the ground truth too: everything checkpointed */
} members;

/* Nonzero when the members' gauges add up to the Redis tier hashes (and,
 * with truth, to the ground truth). */
static int tiers_add_up(void *arg)
{
    const members *m = arg;
    tiers sum, r, o;
    memset(&sum, 0, sizeof sum);
    for (size_t i = 0; i < m->n; i++)
        if (scrape_tiers(m->ports[i], &sum, NULL) < 0)
            return 0;
    redis_tiers(&r);
    if (memcmp(&sum, &r, sizeof sum) != 0)
        return 0;
    if (!m->truth)
        return 1;
    truth_tiers(&o);
    return memcmp(&sum, &o, sizeof sum) == 0;
}

/*
 * Asserts that `sum by (tier)` of the members' per-tier gauges is each
 * tier hash in Redis (and, with truth, the ground truth), waiting for the
 * last checkpoints' answers to reach the gauges; that each member's
 * exposition parses; and that the partitions' shares in Redis add up to
 * the tier hashes too.
 */
static void assert_tier_gauges(const int *ports, size_t n, bool truth)
{
    members m = {ports, n, truth};
    int rc = harness_wait(tiers_add_up, &m, 30000);
    tiers sum, r, o, shares;
    memset(&sum, 0, sizeof sum);
    for (size_t i = 0; i < n; i++) {
        char *text = NULL;
        cr_assert_eq(scrape_tiers(ports[i], &sum, &text), 0,
                     "member %zu: no tier gauges:\n%s", i, text);
        char *listing = prom_parse(text, strlen(text));
        cr_assert_not_null(listing, "member %zu's exposition does not parse", i);
        /* The parser reads what the text says. */
        char line[200], name[160];
        gauge_name(2, 1, name, sizeof name);
        const char *at = strstr(text, name);
        cr_assert_not_null(at);
        snprintf(line, sizeof line, "%.*s", (int)strcspn(at, "\n"), at);
        cr_assert(prom_has_line(listing, line), "%s not in\n%s", line,
                  listing);
        free(listing);
        free(text);
    }
    redis_tiers(&r);
    truth_tiers(&o);
    memset(&shares, 0, sizeof shares);
    for (int p = 0; p < W.nparts; p++)
        for (int t = 0; t < GT; t++)
            for (int c = 0; c < GC; c++) {
                char key[96], f[64], tf[96];
                snprintf(key, sizeof key,
                         "eng:tier_share:engaged:" TOPIC ":%d", p);
                field_name(c, f, sizeof f);
                snprintf(tf, sizeof tf, "%s.%s", gtier[t], f);
                shares.v[t][c] += hget_or_0(key, tf);
            }
    for (int t = 0; t < GT; t++)
        for (int c = 0; c < GC; c++) {
            char name[160];
            gauge_name(t, c, name, sizeof name);
            cr_assert_eq(sum.v[t][c], r.v[t][c],
                         "sum of %s over %zu instances: %" PRId64
                         ", the tier hash in Redis: %" PRId64
                         " (waited: %d)", name, n, sum.v[t][c], r.v[t][c], rc);
            cr_assert_eq(shares.v[t][c], r.v[t][c],
                         "%s: the partitions' shares in Redis add up to %" PRId64
                         ", the tier hash is %" PRId64, name, shares.v[t][c],
                         r.v[t][c]);
            if (truth)
                cr_assert_eq(sum.v[t][c], o.v[t][c],
                             "sum of %s: %" PRId64 ", the ground truth: %" PRId64,
                             name, sum.v[t][c], o.v[t][c]);
        }
    cr_assert_eq(rc, 0);
}

/* --- three instances, a few hundred thousand events ------------------------ */

#define SCALE_EVENTS 300000
#define SCALE_PART 20000
/* The ground truth knows tier changes and follower jumps; decay, spike and
 * saturation (a few busy creators post thousands of times, a quarter of
 * them sponsored) are left to their unit suites and the stories test. */
#define SCALE_CONFIG                                                          \
    "[log]\nlevel = notice\n[decay]\ntiers =\n"                               \
    "[spike]\nenabled = false\n[saturation]\nenabled = false\n"               \
    "[checkpoint]\ninterval_ms = 300\n"

Test(long_scaleout, three_instances_with_kill_term_and_restart_are_exact,
     .timeout = 600)
{
    world_up_cluster(SCALE_CONFIG, 1, 8);
    int pa, pb, pc;
    harness_daemon *a = daemon_http(NULL, &pa), *b = daemon_http(NULL, &pb),
                   *c = daemon_http(NULL, &pc);
    wait_settled((group){{a, b, c}, 3, ALL(8), true}, 60000,
                 "three instances share the 8 partitions");

    world_stream s;
    world_stream_init(&s, SCALE_EVENTS, 2000, 5, T0, 20 * DAY);
    int64_t in_flight_at_kill = -1, written_at_kill = -1;
    unsigned a_held = 0;
    int sent = 0, n;
    while ((n = world_stream_send(&s, SCALE_PART)) > 0) {
        sent += n;
        cr_assert_eq(harness_kafka_flush(W.kafka, 30000), 0);
        if (sent == 2 * SCALE_PART) {
            /* Once a has checkpointed some of its events, it is frozen, so
             * that the next part is surely in flight when it is killed,
             * however fast it is. */
            a_held = world_held(a);
            cr_assert_neq(a_held, 0);
            cr_assert_eq(harness_wait(progress_on, &a_held, 60000), 0);
            cr_assert_eq(harness_daemon_signal(a, SIGSTOP), 0);
        }
        if (sent == 3 * SCALE_PART) {
            /* Kill -9 in mid-stream: with a part not yet read. */
            cr_assert_eq(harness_daemon_signal(a, SIGKILL), 0);
            written_at_kill = checkpointed_on(a_held);
            in_flight_at_kill = produced_on(a_held) - written_at_kill;
            cr_assert_gt(in_flight_at_kill, 0, "a was killed in mid-stream");
            int status;
            cr_assert_eq(harness_daemon_wait(a, 10000, &status), 0);
            cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
            harness_daemon_stop(a);
            a = NULL;
            /* After the session timeout, b and c take a's partitions. */
            wait_settled((group){{b, c}, 2, ALL(8), true}, 60000,
                         "b and c take over the killed instance's partitions");
        } else if (sent == 7 * SCALE_PART) {
            /* b leaves cleanly: c alone takes everything. */
            world_daemon_stop_clean(b);
            b = NULL;
            wait_settled((group){{c}, 1, ALL(8), true}, 60000,
                         "c takes b's partitions after its SIGTERM");
        } else if (sent == 10 * SCALE_PART) {
            /* a comes back and gets some of c's partitions. */
            a = daemon_http(NULL, &pa);
            wait_settled((group){{a, c}, 2, ALL(8), true}, 60000,
                         "the restarted instance gets partitions back");
        }
        /* The mock keeps about 5 MiB per partition: stay well under. */
        backlog bl = {12000};
        cr_assert_eq(harness_wait(backlog_below, &bl, 120000), 0,
                     "the group does not keep up");
    }
    cr_assert_eq(sent, SCALE_EVENTS);
    world_wait_caught_up(180000);
    cr_log_info("%d events, %zu creators, the killed instance had written "
                "%" PRId64 " of its events and had %" PRId64 " more to go, "
                "%zu tier changes",
                sent, oracle_creators(W.truth), written_at_kill,
                in_flight_at_kill, s.nchanges);
    world_assert_truth();
    /* After the kill, the clean leave and the return: the gauges of the
     * two left add up to every tier (issue 18). */
    assert_tier_gauges((int[]){pa, pc}, 2, true);
    assert_tier_alerts(&s);
    cr_assert_gt(s.nchanges, 50, "the stream changes tiers often enough");
    world_daemon_stop_clean(a);
    world_daemon_stop_clean(c);
    world_stream_free(&s);
    world_down();
}

/* --- fencing --------------------------------------------------------------- */

/* Checkpoints only when it must: on revocation, loss or stop. */
#define LAZY "[checkpoint]\ninterval_ms = 3600000\nmax_events = 100000000\n"

Test(scaleout, a_frozen_instance_is_fenced_and_drops_its_state,
     .timeout = 240)
{
    world_up_cluster(WORLD_FAST_GROUP, 1, 4);
    int pa, pb;
    harness_daemon *a = daemon_http(LAZY, &pa);
    wait_settled((group){{a}, 1, ALL(4), true}, 30000, "a alone");
    harness_daemon *b = daemon_http(NULL, &pb);
    wait_settled((group){{a, b}, 2, ALL(4), true}, 60000, "a and b");
    unsigned a_held = world_held(a), b_held = world_held(b);

    world_stream s;
    world_stream_init(&s, 100000, 120, 11, T0, 10 * DAY);
    world_stream_send(&s, 4000);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    /* b checkpoints its partitions; a only keeps them in memory. */
    cr_assert_eq(harness_wait(world_caught_up_on, &b_held, 60000), 0);
    char needle[128];
    snprintf(needle, sizeof needle, "applied_total=%" PRId64 " ",
             produced_on(a_held));
    cr_assert_eq(harness_daemon_wait_log(a, needle, 60000), 0);
    for (int p = 0; p < 4; p++)
        if (a_held & (1u << p))
            cr_assert_eq(world_offset_of(p), 0,
                         "a wrote nothing for partition %d yet", p);

    /* Frozen past the session timeout: b takes over and goes on. */
    cr_assert_eq(harness_daemon_signal(a, SIGSTOP), 0);
    wait_settled((group){{b}, 1, ALL(4), true}, 60000,
                 "b takes the frozen instance's partitions");
    world_stream_send(&s, 4000);
    world_wait_caught_up(60000);
    world_assert_truth();
    /* b's per-tier gauges: every tier, whole (issue 18). */
    assert_tier_gauges((int[]){pb}, 1, true);

    /* Resumed, a tries to write what it held: refused. */
    cr_assert_eq(harness_daemon_signal(a, SIGCONT), 0);
    cr_assert_eq(harness_daemon_wait_log(a, "partition fenced", 60000), 0);
    for (int p = 0; p < 4; p++)
        if (a_held & (1u << p)) {
            snprintf(needle, sizeof needle,
                     "dropping its state partition=" TOPIC ":%d", p);
            cr_assert_eq(harness_daemon_wait_log(a, needle, 10000), 0);
        }
    cr_assert(world_caught_up(NULL), "the stale write moved no offset");
    world_assert_truth();

    /* a rejoins with what it reads back from Redis; both go on exactly. */
    wait_settled((group){{a, b}, 2, ALL(4), true}, 60000,
                 "a gets partitions again after rejoining");
    world_stream_send(&s, 4000);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    /* a writes nothing before it stops: its gauges stay at the shares its
     * claim read back, b's follow its checkpoints, and together they are
     * what Redis holds, not what a has in memory. */
    b_held = world_held(b);
    cr_assert_eq(harness_wait(world_caught_up_on, &b_held, 60000), 0);
    assert_tier_gauges((int[]){pa, pb}, 2, false);
    /* Its final checkpoint makes its partitions current. */
    world_daemon_stop_clean(a);
    wait_settled((group){{b}, 1, ALL(4), true}, 60000, "b alone again");
    world_wait_caught_up(60000);
    world_assert_truth();
    assert_tier_gauges((int[]){pb}, 1, true);
    /* The fenced instance's alerts were dropped with its state. */
    cr_assert_gt(s.nchanges, 0);
    assert_tier_alerts(&s);
    world_daemon_stop_clean(b);
    world_stream_free(&s);
    world_down();
}

/*
 * A checkpoint refused for one of its partitions wrote nothing for the
 * others either, though the daemon counted it as written when it sent it:
 * those others are read back from Redis (claimed again, from their stored
 * offset) and go on; the fenced one is dropped.  The new owner of
 * partition 0 is a claim written into Redis by hand.
 */
Test(scaleout, a_partly_fenced_checkpoint_reads_the_other_partitions_back,
     .timeout = 180)
{
    world_up_cluster(WORLD_FAST_GROUP, 1, 4);
    harness_daemon *a = world_daemon(NULL);
    wait_settled((group){{a}, 1, ALL(4), true}, 30000, "a alone");
    world_stream s;
    world_stream_init(&s, 100000, 120, 13, T0, 10 * DAY);
    world_stream_send(&s, 3000);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    world_wait_caught_up(60000);
    world_assert_truth();

    redisReply *r = redisCommand(harness_redis_ctx(W.redis),
                                 "HSET eng:fence:engaged " TOPIC ":0 1000:0");
    cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    world_stream_send(&s, 3000);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    cr_assert_eq(harness_daemon_wait_log(
                     a, "dropping its state partition=" TOPIC ":0", 60000),
                 0);
    char needle[160];
    for (int p = 1; p < 4; p++) {
        snprintf(needle, sizeof needle,
                 "reading this partition back from Redis partition=" TOPIC ":%d", p);
        cr_assert_eq(harness_daemon_wait_log(a, needle, 10000), 0);
    }
    /* Claimed again and current: their checkpoints are accepted again. */
    unsigned others = ALL(4) & ~1u;
    cr_assert_eq(harness_wait(world_caught_up_on, &others, 60000), 0,
                 "the partitions read back are written again");

    /* A new instance claims partition 0 again: everything exact. */
    world_daemon_stop_clean(a);
    harness_daemon *b = world_daemon(NULL);
    world_wait_caught_up(60000);
    world_assert_truth();
    world_daemon_stop_clean(b);
    world_stream_free(&s);
    world_down();
}

/* --- shares an older engaged left behind ------------------------------------ */

static void redis_do(const char *cmd)
{
    redisReply *r = redisCommand(harness_redis_ctx(W.redis), cmd);
    cr_assert(r != NULL && r->type != REDIS_REPLY_ERROR, "%s", cmd);
    freeReplyObject(r);
}

/*
 * Partitions written by an engaged without per-partition shares (as it
 * leaves them: no tier_share hash, or one whose stamp no checkpoint moved
 * since): the claim rebuilds each one from its creators' hashes, and the
 * gauges and the shares are exact, and stay so as checkpoints move them.
 */
Test(scaleout, stale_shares_are_rebuilt_from_the_creators_at_claim,
     .timeout = 180)
{
    world_up_cluster(WORLD_FAST_GROUP, 1, 4);
    int pa, pb;
    harness_daemon *a = daemon_http(NULL, &pa);
    wait_settled((group){{a}, 1, ALL(4), true}, 30000, "a alone");
    world_stream s;
    world_stream_init(&s, 100000, 150, 17, T0, 10 * DAY);
    world_stream_send(&s, 3000);
    world_wait_caught_up(60000);
    assert_tier_gauges((int[]){pa}, 1, true);
    world_daemon_stop_clean(a);

    redis_do("DEL eng:tier_share:engaged:" TOPIC ":0 "
             "eng:tier_share:engaged:" TOPIC ":1");
    /* Epochs start at 1: no claim ever stamped "0:0".  The count it holds
     * is wrong, as a share nobody moved for a while would be. */
    redis_do("HSET eng:tier_share:engaged:" TOPIC ":2 fence 0:0");
    redis_do("HINCRBY eng:tier_share:engaged:" TOPIC ":2 nano.creators 1000");
    harness_daemon *b = daemon_http(NULL, &pb);
    wait_settled((group){{b}, 1, ALL(4), true}, 30000, "b alone");
    for (int p = 0; p < 3; p++) {
        char needle[160];
        snprintf(needle, sizeof needle, "from its creators partition=" TOPIC
                 ":%d ", p);
        cr_assert_eq(harness_daemon_wait_log(b, needle, 10000), 0, "%s",
                     needle);
    }
    cr_assert_eq(harness_daemon_log_count(b, "rebuilding the partition's "
                                             "share"), 3,
                 "partition 3's share was current");
    assert_tier_gauges((int[]){pb}, 1, true);
    world_stream_send(&s, 3000);
    world_wait_caught_up(60000);
    world_assert_truth();
    assert_tier_gauges((int[]){pb}, 1, true);
    world_daemon_stop_clean(b);
    world_stream_free(&s);
    world_down();
}

/* --- revocation ------------------------------------------------------------ */

Test(scaleout, revoked_partitions_are_checkpointed_before_release,
     .timeout = 180)
{
    world_up_cluster(WORLD_FAST_GROUP, 1, 4);
    harness_daemon *a = world_daemon(LAZY);
    wait_settled((group){{a}, 1, ALL(4), true}, 30000, "a alone");
    world_stream s;
    world_stream_init(&s, 100000, 60, 3, T0, 5 * DAY);
    world_stream_send(&s, 2000);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    cr_assert_eq(harness_daemon_wait_log(a, "applied_total=2000 ", 60000), 0);
    cr_assert_eq(world_offsets_sum(), 0, "a has checkpointed nothing yet");

    /* A second instance: a revokes some partitions to it. */
    harness_daemon *b = world_daemon(NULL);
    wait_settled((group){{a, b}, 2, ALL(4), true}, 60000, "a and b");
    unsigned b_held = world_held(b);
    for (int p = 0; p < 4; p++) {
        if (!(b_held & (1u << p)))
            continue;
        char needle[160];
        snprintf(needle, sizeof needle, "partition revoked partition=" TOPIC
                 ":%d", p);
        cr_assert_eq(harness_daemon_log_count(a, needle), 1, "%s", needle);
        /* b's claim read from Redis the offset a had reached. */
        snprintf(needle, sizeof needle,
                 "partition assigned partition=" TOPIC ":%d offset=%" PRId64
                 " ", p, W.produced[p]);
        cr_assert_eq(harness_daemon_log_count(b, needle), 1,
                     "b's claim did not find a's offset: no \"%s\"", needle);
    }
    cr_assert_eq(harness_daemon_log_count(b, "batch applied"), 0,
                 "b read none of a's events again");
    cr_assert(world_caught_up(NULL));
    world_assert_truth();

    /* Stopping a revokes the rest to b, checkpointed the same way. */
    world_stream_send(&s, 2000);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    world_daemon_stop_clean(a);
    wait_settled((group){{b}, 1, ALL(4), true}, 60000, "b alone");
    world_wait_caught_up(60000);
    world_assert_truth();
    cr_assert_gt(s.nchanges, 0);
    assert_tier_alerts(&s);
    world_daemon_stop_clean(b);
    world_stream_free(&s);
    world_down();
}

/* --- a partition that leaves and comes back during a Redis outage --------- */

/*
 * a's last checkpoint before the outage is in doubt; meanwhile b joins
 * (a revokes half its partitions) and leaves again, and Redis is back just
 * before a gets those partitions back and claims them (a new epoch) but
 * after a's last retry, so a claims them before it resends the payload in
 * doubt.  That payload carries the partitions' old epoch: it is refused for
 * them, which is right, but it must not cost a its new claim of them.
 */
Test(scaleout, a_partition_reclaimed_during_an_outage_is_not_fenced_by_itself,
     .timeout = 180)
{
    world_up_cluster(WORLD_FAST_GROUP, 1, 4);
    harness_daemon *a = world_daemon(NULL);
    wait_settled((group){{a}, 1, ALL(4), true}, 30000, "a alone");
    world_stream s;
    world_stream_init(&s, 100000, 100, 13, T0, 5 * DAY);
    world_stream_send(&s, 2000);
    world_wait_caught_up(60000);

    cr_assert_eq(harness_redis_kill(W.redis), 0);
    world_stream_send(&s, 2000);
    cr_assert_eq(harness_kafka_flush(W.kafka, 10000), 0);
    cr_assert_eq(harness_daemon_wait_log(a, "consumption paused", 30000), 0);
    harness_daemon *b = world_daemon(NULL);
    cr_assert_eq(harness_daemon_wait_log(a, "partition revoked", 60000), 0);
    /* a's retries are 5 s apart now: right after one, Redis comes back and
     * b leaves, so the rebalance reaches a before its next retry. */
    cr_assert_eq(harness_daemon_wait_log(a, "retry_in_ms=5000", 30000), 0);
    int retries = harness_daemon_log_count(a, "still failing");
    cr_assert_eq(harness_daemon_wait_log_count(a, "still failing", retries + 1,
                                               10000), 0);
    cr_assert_eq(harness_redis_restart(W.redis), 0);
    cr_assert_eq(harness_daemon_signal(b, SIGTERM), 0);
    cr_assert_eq(harness_daemon_wait(b, 30000, NULL), 0);
    harness_daemon_stop(b);

    wait_settled((group){{a}, 1, ALL(4), true}, 30000,
                 "a holds every partition again");
    cr_assert_eq(harness_daemon_wait_log(a, "consumption resumed", 30000), 0);
    cr_assert_eq(harness_daemon_log_count(a, "partition fenced"), 0,
                 "nobody else claimed a partition since a did");
    cr_assert_eq(world_held(a), ALL(4));
    world_stream_send(&s, 2000);
    world_wait_caught_up(60000);
    world_assert_truth();
    world_daemon_stop_clean(a);
    world_stream_free(&s);
    world_down();
}

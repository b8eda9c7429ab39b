#include "world.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

world W;

static const int64_t windows[] = {HOUR, DAY, 7 * DAY};

void world_up(const char *extra_config)
{
    world_up_cluster(extra_config, 1, NPART);
}

void world_up_cluster(const char *extra_config, int brokers, int partitions)
{
    cr_assert(partitions >= 1 && partitions <= WORLD_MAXPART);
    memset(&W, 0, sizeof W);
    W.nparts = partitions;
    W.nbrokers = brokers;
    W.redis = harness_redis_start();
    cr_assert_not_null(W.redis);
    const char *topics[] = {TOPIC, DLQ, ALERTS, ALERTS_B};
    W.kafka = harness_kafka_start(brokers, partitions, topics, 4);
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
    return (int)(h % (uint32_t)(W.nparts > 0 ? W.nparts : NPART));
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

static void tag_campaign(oracle_event *e, int creator, uint32_t bits, int i);

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
        tag_campaign(&e, c, (uint32_t)(x >> 13), i);
        world_send(e);
    }
}

int64_t world_offset_of(int p)
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
    for (int p = 0; p < W.nparts; p++)
        if (W.produced[p] != 0 && world_offset_of(p) != W.produced[p])
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
    for (int p = 0; p < W.nparts; p++)
        sum += world_offset_of(p);
    return sum;
}

void world_assert_truth(void)
{
    char why[2048];
    int bad = oracle_check_redis(W.truth, harness_redis_ctx(W.redis), "eng:",
                                 why, sizeof why);
    cr_assert_eq(bad, 0, "%d values differ from the ground truth: %s", bad, why);
    bad = oracle_check_campaigns(W.truth, harness_redis_ctx(W.redis), "eng:",
                                 why, sizeof why);
    cr_assert_eq(bad, 0, "%d campaign values differ from the ground truth: %s",
                 bad, why);
}

/*
 * Campaigns in the streams: two posts in three belong to one of four
 * campaigns (ids with a ':'), a quarter of the engagements are on the
 * creator's latest post (platforms send post_id only), and one in sixteen
 * names a campaign itself.  Deterministic from `bits`.
 */
static char (*last_post)[ORACLE_ID_MAX];
static size_t nlast_post;

static void tag_campaign(oracle_event *e, int creator, uint32_t bits, int i)
{
    if ((size_t)creator >= nlast_post) {
        size_t n = (size_t)creator + 64;
        last_post = realloc(last_post, n * sizeof *last_post);
        cr_assert_not_null(last_post);
        memset(last_post + nlast_post, 0,
               (n - nlast_post) * sizeof *last_post);
        nlast_post = n;
    }
    if (e->type == 1) {
        snprintf(e->post_id, sizeof e->post_id, "p%d-%d", i, creator);
        if (bits % 3 != 0)
            snprintf(e->campaign, sizeof e->campaign, "camp:%u",
                     (bits >> 8) % 4);
        snprintf(last_post[creator], sizeof last_post[0], "%s", e->post_id);
    } else if (e->type == 0) {
        if (bits % 4 == 0 && last_post[creator][0])
            snprintf(e->post_id, sizeof e->post_id, "%s", last_post[creator]);
        else if (bits % 16 == 1)
            snprintf(e->campaign, sizeof e->campaign, "camp:direct");
    }
}

int64_t world_hget_int(const char *key, const char *field)
{
    char *v = harness_redis_hget(W.redis, key, field);
    int64_t x = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return x;
}

/* --- a long stream, in parts ------------------------------------------- */

static const char *const tier_names[] = {"nano", "micro", "mid", "macro",
                                         "mega"};
static const int64_t tier_mins[] = {0, 10000, 50000, 500000, 1000000};

const char *world_tier_name(int tier)
{
    return tier >= 0 && tier < 5 ? tier_names[tier] : "unknown";
}

/* The tier rule of the README (hysteresis 0.05), restated once more. */
static int tier_of(int cur, int64_t f)
{
    int raw = 0;
    for (int t = 0; t < 5; t++)
        if (f >= tier_mins[t])
            raw = t;
    if (cur < 0 || raw >= cur)
        return raw;
    int t = cur;
    while (t > 0 && (double)f < (double)tier_mins[t] * 0.95)
        t--;
    return t;
}

void world_stream_init(world_stream *s, int n, int ncreators, uint64_t seed,
                       int64_t start, int64_t span)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->ncreators = ncreators;
    s->x = seed * 2654435761u + 7;
    s->start = start;
    s->span = span;
    s->followers = malloc((size_t)ncreators * sizeof *s->followers);
    s->followers_ts = malloc((size_t)ncreators * sizeof *s->followers_ts);
    s->tier = malloc((size_t)ncreators * sizeof *s->tier);
    s->counts = calloc((size_t)ncreators, sizeof *s->counts);
    cr_assert(s->followers && s->followers_ts && s->tier && s->counts);
    for (int c = 0; c < ncreators; c++) {
        s->followers[c] = -1;
        s->followers_ts[c] = INT64_MIN;
        s->tier[c] = -1;
    }
}

/* The jump rule of daemon/jump.h, over the list of every count kept. */
static void track_jumps(world_stream *s, int c, const oracle_event *e)
{
    const int64_t half = 12 * INT64_C(3600000);
    struct world_counts *h = &s->counts[c];
    int64_t b = e->ts / half; /* event times are after 1970 here */
    int64_t low = -1;
    for (size_t i = 0; i < h->len; i++)
        if (h->ts[i] / half > b - 3 && (low < 0 || h->n[i] < low))
            low = h->n[i];
    int64_t inc = e->followers - low;
    if (low >= 0 && inc >= 1000 && (double)inc >= 0.2 * (double)low) {
        if (s->njumps == s->jcap) {
            s->jcap = s->jcap ? 2 * s->jcap : 64;
            s->jumps = realloc(s->jumps, s->jcap * sizeof *s->jumps);
            cr_assert_not_null(s->jumps);
        }
        s->jumps[s->njumps++] = (world_jump){c, low, e->followers, e->ts};
        h->len = 0;
    }
    if (h->len == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 8;
        h->ts = realloc(h->ts, h->cap * sizeof *h->ts);
        h->n = realloc(h->n, h->cap * sizeof *h->n);
        cr_assert(h->ts && h->n);
    }
    h->ts[h->len] = e->ts;
    h->n[h->len++] = e->followers;
}

static void track_followers(world_stream *s, int c, const oracle_event *e)
{
    if (e->followers < 0 || e->ts < s->followers_ts[c])
        return;
    track_jumps(s, c, e);
    s->followers[c] = e->followers;
    s->followers_ts[c] = e->ts;
    int old = s->tier[c];
    s->tier[c] = tier_of(old, e->followers);
    if (old < 0 || old == s->tier[c])
        return;
    if (s->nchanges == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->changes = realloc(s->changes, s->cap * sizeof *s->changes);
        cr_assert_not_null(s->changes);
    }
    s->changes[s->nchanges++] = (world_tier_change){
        c, old, s->tier[c], e->followers, e->ts};
}

int world_stream_send(world_stream *s, int count)
{
    static const int64_t base[] = {2000, 9800, 30000, 200000, 990000,
                                   3000000};
    int sent = 0;
    for (; sent < count && s->sent < s->n; sent++, s->sent++) {
        s->x = s->x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t r = (uint32_t)(s->x >> 33);
        uint32_t r2 = (uint32_t)(s->x >> 7);
        int c = (int)(r2 % (uint32_t)s->ncreators);
        if (r % 5 == 0)
            c = (int)(r % 7 % (uint32_t)s->ncreators); /* a few busy ones */
        char id[32];
        snprintf(id, sizeof id, "s%d", c);
        /* Time moves forward with some arrivals up to 20 min late. */
        int64_t ts = s->start + s->span * s->sent / s->n -
                     (int64_t)(r % 1200) * 1000;
        oracle_event e = world_engagement(id, ts, (int)(r >> 3) % 7,
                                          1 + (int64_t)(r >> 7) % 5);
        uint32_t kind = (r >> 11) % 100;
        if (kind < 5) {
            e.type = 1;
            e.sponsored = (r >> 17) % 4 == 0;
        } else if (kind < 8) {
            e.type = 2;
        }
        if (e.type == 2 || kind % 20 == 10) {
            int64_t b = base[c % 6];
            if (c % 10 == 0) /* wanders 10 % around a boundary */
                e.followers = b - b / 10 +
                              (int64_t)((r >> 13) % 1000) * b / 5000;
            else             /* stays within 1 %: one tier for good */
                e.followers = b - b / 100 +
                              (int64_t)((r >> 13) % 1000) * b / 50000;
        }
        track_followers(s, c, &e);
        tag_campaign(&e, c, (uint32_t)(s->x >> 17), s->sent);
        world_send(e);
    }
    return sent;
}

void world_stream_free(world_stream *s)
{
    free(s->followers);
    free(s->followers_ts);
    free(s->tier);
    free(s->changes);
    for (int c = 0; c < s->ncreators; c++) {
        free(s->counts[c].ts);
        free(s->counts[c].n);
    }
    free(s->counts);
    free(s->jumps);
    memset(s, 0, sizeof *s);
}

/* --- daemons ------------------------------------------------------------- */

harness_daemon *world_daemon(const char *extra)
{
    char conf[8192];
    snprintf(conf, sizeof conf, "%s%s", W.config, extra ? extra : "");
    harness_daemon *d = harness_daemon_start(conf);
    cr_assert_not_null(d);
    return d;
}

void world_daemon_stop_clean(harness_daemon *d)
{
    cr_assert_eq(harness_daemon_signal(d, SIGTERM), 0);
    int status = 0;
    cr_assert_eq(harness_daemon_wait(d, 30000, &status), 0,
                 "no exit 30 s after SIGTERM");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "exit status %d after SIGTERM", status);
    harness_daemon_stop(d);
}

int world_caught_up_on(void *mask)
{
    unsigned m = *(const unsigned *)mask;
    for (int p = 0; p < W.nparts; p++)
        if ((m & (1u << p)) && world_offset_of(p) != W.produced[p])
            return 0;
    return 1;
}

/* --- what a daemon holds, from its log ----------------------------------- */

unsigned world_held(const harness_daemon *d)
{
    char *log = harness_daemon_log(d);
    unsigned held = 0;
    const char *tp = "partition=" TOPIC ":";
    for (char *line = log; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = 0;
        const char *at = strstr(line, tp);
        if (at) {
            int p = atoi(at + strlen(tp));
            if (p >= 0 && p < WORLD_MAXPART) {
                if (strstr(line, "partition assigned "))
                    held |= 1u << p;
                else if (strstr(line, "partition revoked ") ||
                         strstr(line, "partition lost ") ||
                         strstr(line, "partition fenced"))
                    held &= ~(1u << p);
            }
        }
        line = end ? end + 1 : NULL;
    }
    free(log);
    return held;
}

int world_checkpoints_written(const harness_daemon *d, int *partial,
                              int *biggest)
{
    char *log = harness_daemon_log(d);
    int n = 0;
    *partial = 0;
    if (biggest != NULL)
        *biggest = 0;
    const char *needle = "checkpoint written partitions=";
    for (const char *at = log ? strstr(log, needle) : NULL; at != NULL;
         at = strstr(at + 1, needle)) {
        int parts = 0, creators = 0;
        if (sscanf(at + strlen(needle), "%d creators=%d", &parts,
                   &creators) != 2)
            continue;
        n++;
        if (parts < W.nparts)
            (*partial)++;
        if (biggest != NULL && creators > *biggest)
            *biggest = creators;
    }
    free(log);
    return n;
}

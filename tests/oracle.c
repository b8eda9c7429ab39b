#include "oracle.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXP 64
#define NT 5

static const char *const tier_name[NT] = {"nano", "micro", "mid", "macro",
                                          "mega"};
static const int64_t tier_min[NT] = {0, 10000, 50000, 500000, 1000000};
static const char *const metric[10] = {
    "likes", "comments", "shares", "saves", "views", "clicks",
    "conversions", "engagements", "posts", "sponsored_posts"};

typedef struct ocreator {
    char id[ORACLE_ID_MAX];
    int partition;
    int64_t followers, followers_ts, last_ts;
    int tier;            /* -1 unknown */
    oracle_event *ev;
    size_t n, cap;
} ocreator;

struct oracle {
    int64_t windows[8];
    size_t nwin;
    int64_t grace;
    int64_t horizon_window;
    int64_t wm[MAXP];
    bool has_wm[MAXP];
    ocreator *c;
    size_t n, cap;
};

oracle *oracle_new(const int64_t *windows, size_t nwindows, int64_t late_grace,
                   int64_t horizon_window)
{
    oracle *o = calloc(1, sizeof *o);
    o->horizon_window = horizon_window;
    memcpy(o->windows, windows, nwindows * sizeof *windows);
    o->nwin = nwindows;
    o->grace = late_grace;
    return o;
}

void oracle_free(oracle *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->n; i++)
        free(o->c[i].ev);
    free(o->c);
    free(o);
}

size_t oracle_creators(const oracle *o)
{
    return o->n;
}

static ocreator *find(oracle *o, const char *id)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->c[i].id, id) == 0)
            return &o->c[i];
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->c = realloc(o->c, o->cap * sizeof *o->c);
    }
    ocreator *c = &o->c[o->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    c->followers = -1;
    c->followers_ts = INT64_MIN;
    c->last_ts = INT64_MIN;
    c->tier = -1;
    return c;
}

/* The tier rule, restated from the issue. */
static int classify(int cur, int64_t f)
{
    int raw = 0;
    for (int t = 0; t < NT; t++)
        if (f >= tier_min[t])
            raw = t;
    if (cur < 0 || raw >= cur)
        return raw;
    int t = cur;
    while (t > 0 && (double)f < (double)tier_min[t] * 0.95)
        t--;
    return t;
}

bool oracle_add(oracle *o, const oracle_event *ev)
{
    int p = ev->partition;
    if (o->has_wm[p] && ev->ts < o->wm[p] - o->grace - o->horizon_window)
        return false;
    if (!o->has_wm[p] || ev->ts > o->wm[p])
        o->wm[p] = ev->ts;
    o->has_wm[p] = true;
    ocreator *c = find(o, ev->creator_id);
    c->partition = p;
    if (ev->followers >= 0 && ev->ts >= c->followers_ts) {
        c->followers = ev->followers;
        c->followers_ts = ev->ts;
        c->tier = classify(c->tier, c->followers);
    }
    if (ev->ts > c->last_ts)
        c->last_ts = ev->ts;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->ev = realloc(c->ev, c->cap * sizeof *c->ev);
    }
    c->ev[c->n++] = *ev;
    return true;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

/* The creator's metrics over window w at its partition's watermark. */
static void values(const oracle *o, const ocreator *c, size_t w, int64_t *v)
{
    memset(v, 0, 10 * sizeof *v);
    int64_t b = o->windows[w] / 60;
    int64_t cur = floordiv(o->wm[c->partition], b);
    for (size_t i = 0; i < c->n; i++) {
        const oracle_event *e = &c->ev[i];
        if (floordiv(e->ts, b) <= cur - 60)
            continue;
        if (e->type == 0) {
            v[e->action] += e->count;
            if (e->action <= 3)
                v[7] += e->count;
        } else if (e->type == 1) {
            v[8]++;
            if (e->sponsored)
                v[9]++;
        }
    }
}

static void label(int64_t ms, char *buf, size_t size)
{
    const int64_t day = 86400000, hour = 3600000;
    if (ms % day == 0 && ms / day >= 2)
        snprintf(buf, size, "%" PRId64 "d", ms / day);
    else if (ms % hour == 0)
        snprintf(buf, size, "%" PRId64 "h", ms / hour);
    else
        snprintf(buf, size, "%" PRId64 "m", ms / 60000);
}

size_t oracle_json(const oracle_event *e, char *buf, size_t size)
{
    static const char *const act[7] = {"like", "comment", "share", "save",
                                       "view", "click", "conversion"};
    int n;
    if (e->type == 0)
        n = snprintf(buf, size,
                     "{\"type\":\"engagement\",\"creator_id\":\"%s\",\"ts\":%"
                     PRId64 ",\"action\":\"%s\",\"count\":%" PRId64,
                     e->creator_id, e->ts, act[e->action], e->count);
    else if (e->type == 1)
        n = snprintf(buf, size,
                     "{\"type\":\"post\",\"creator_id\":\"%s\",\"ts\":%" PRId64
                     ",\"post_id\":\"p%" PRId64 "\",\"sponsored\":%s%s",
                     e->creator_id, e->ts, e->ts,
                     e->sponsored ? "true" : "false",
                     e->sponsored ? ",\"brand\":\"acme\"" : "");
    else
        n = snprintf(buf, size,
                     "{\"type\":\"followers\",\"creator_id\":\"%s\",\"ts\":%"
                     PRId64, e->creator_id, e->ts);
    if (e->followers >= 0)
        n += snprintf(buf + n, size - (size_t)n, ",\"followers\":%" PRId64,
                      e->followers);
    n += snprintf(buf + n, size - (size_t)n, "}");
    return (size_t)n;
}

typedef struct mismatch {
    int count;
    char *why;
    size_t size, used;
} mismatch;

static void report(mismatch *m, const char *key, const char *field,
                   const char *want, const char *got)
{
    m->count++;
    if (m->count > 5 || m->used >= m->size)
        return;
    int n = snprintf(m->why + m->used, m->size - m->used,
                     "%s %s: want %s, got %s; ", key, field, want,
                     got ? got : "(absent)");
    if (n > 0)
        m->used += (size_t)n;
}

static void expect(mismatch *m, redisContext *rc, const char *key,
                   const char *field, const char *want)
{
    redisReply *r = redisCommand(rc, "HGET %s %s", key, field);
    const char *got = r && r->type == REDIS_REPLY_STRING ? r->str : NULL;
    if (want == NULL ? got != NULL : got == NULL || strcmp(want, got) != 0)
        report(m, key, field, want ? want : "(absent)", got);
    freeReplyObject(r);
}

static void expect_int(mismatch *m, redisContext *rc, const char *key,
                       const char *field, int64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRId64, v);
    expect(m, rc, key, field, s);
}

/* er is compared as a number: within 1e-9 relative. */
static void expect_ratio(mismatch *m, redisContext *rc, const char *key,
                         const char *field, int64_t a, int64_t b)
{
    redisReply *r = redisCommand(rc, "HGET %s %s", key, field);
    const char *got = r && r->type == REDIS_REPLY_STRING ? r->str : NULL;
    if (b <= 0) {
        if (got != NULL)
            report(m, key, field, "(absent)", got);
    } else {
        double want = (double)a / (double)b;
        char w[64];
        snprintf(w, sizeof w, "%.12g", want);
        if (got == NULL || strchr(got, 'e') != NULL ||
            fabs(strtod(got, NULL) - want) > 1e-9 * fmax(want, 1e-12))
            report(m, key, field, w, got);
    }
    freeReplyObject(r);
}

int oracle_check_redis(const oracle *o, redisContext *rc, const char *prefix,
                       char *why, size_t why_size)
{
    mismatch m = {0, why, why_size, 0};
    why[0] = 0;
    int64_t tier[NT + 1][2 + 8 * 10];
    memset(tier, 0, sizeof tier);
    for (size_t i = 0; i < o->n; i++) {
        const ocreator *c = &o->c[i];
        char key[256], f[64];
        snprintf(key, sizeof key, "%screator:%s", prefix, c->id);
        expect(&m, rc, key, "tier", c->tier < 0 ? "unknown" : tier_name[c->tier]);
        if (c->followers >= 0)
            expect_int(&m, rc, key, "followers", c->followers);
        else
            expect(&m, rc, key, "followers", NULL);
        expect_int(&m, rc, key, "last_event_ms", c->last_ts);
        int64_t *t = tier[c->tier + 1];
        t[0]++;
        t[1] += c->followers > 0 ? c->followers : 0;
        for (size_t w = 0; w < o->nwin; w++) {
            int64_t v[10];
            char lw[24];
            values(o, c, w, v);
            label(o->windows[w], lw, sizeof lw);
            for (int k = 0; k < 10; k++) {
                snprintf(f, sizeof f, "%s_%s", metric[k], lw);
                expect_int(&m, rc, key, f, v[k]);
                t[2 + w * 10 + k] += v[k];
            }
            snprintf(f, sizeof f, "er_%s", lw);
            expect_ratio(&m, rc, key, f, v[7], c->followers);
        }
    }
    for (int t = 0; t <= NT; t++) {
        char key[256], f[64];
        snprintf(key, sizeof key, "%stier:%s", prefix,
                 t == 0 ? "unknown" : tier_name[t - 1]);
        const int64_t *row = tier[t];
        if (row[0] == 0) {
            /* A tier nobody is in now: absent, or all zero. */
            redisReply *r = redisCommand(rc, "HGET %s creators", key);
            if (r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "0") != 0)
                report(&m, key, "creators", "0", r->str);
            freeReplyObject(r);
            continue;
        }
        expect_int(&m, rc, key, "creators", row[0]);
        expect_int(&m, rc, key, "followers", row[1]);
        for (size_t w = 0; w < o->nwin; w++) {
            char lw[24];
            label(o->windows[w], lw, sizeof lw);
            for (int k = 0; k < 10; k++) {
                snprintf(f, sizeof f, "%s_%s", metric[k], lw);
                expect_int(&m, rc, key, f, row[2 + w * 10 + k]);
            }
            snprintf(f, sizeof f, "er_%s", lw);
            expect_ratio(&m, rc, key, f, row[2 + w * 10 + 7], row[1]);
        }
    }
    return m.count;
}

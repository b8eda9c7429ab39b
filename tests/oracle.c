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

/* A campaign post a creator remembers. */
typedef struct opost {
    char id[ORACLE_ID_MAX];
    char campaign[ORACLE_ID_MAX];
    int64_t ts;
} opost;

typedef struct ocreator {
    char id[ORACLE_ID_MAX];
    int partition;
    int64_t followers, followers_ts, last_ts;
    int tier;            /* -1 unknown */
    oracle_event *ev;
    size_t n, cap;
    opost *posts;
    size_t nposts, capposts;
} ocreator;

/* Campaign fields, in the order of schemas/redis.md. */
#define NCM 10
static const char *const cmetric[NCM] = {
    "posts", "sponsored_posts", "likes", "comments", "shares", "saves",
    "views", "clicks", "conversions", "engagements"};

typedef struct oday {
    int64_t day;
    int64_t sum[NCM];
} oday;

typedef struct omember {
    char id[ORACLE_ID_MAX];
    int64_t engagements;
} omember;

typedef struct ocamp {
    char id[ORACLE_ID_MAX];
    int64_t sum[NT + 1][NCM];        /* row 0: unknown */
    int64_t creators[NT + 1], reach[NT + 1];
    int64_t first, last;
    omember *m;
    size_t nm, capm;
    oday *d;
    size_t nd, capd;
} ocamp;

struct oracle {
    int64_t windows[8];
    size_t nwin;
    int64_t grace;
    int64_t horizon_window;
    int64_t wm[MAXP];
    bool has_wm[MAXP];
    ocreator *c;
    size_t n, cap;
    int64_t post_memory;
    int max_posts;
    ocamp *camps;
    size_t ncamps, capcamps;
    size_t campaign_events;
};

oracle *oracle_new(const int64_t *windows, size_t nwindows, int64_t late_grace,
                   int64_t horizon_window)
{
    oracle *o = calloc(1, sizeof *o);
    o->horizon_window = horizon_window;
    memcpy(o->windows, windows, nwindows * sizeof *windows);
    o->nwin = nwindows;
    o->grace = late_grace;
    o->post_memory = 30 * INT64_C(86400000);
    o->max_posts = 32;
    return o;
}

void oracle_set_campaigns(oracle *o, int64_t post_memory, int max_posts)
{
    o->post_memory = post_memory;
    o->max_posts = max_posts;
}

size_t oracle_campaigns(const oracle *o)
{
    return o->ncamps;
}

size_t oracle_campaign_events(const oracle *o)
{
    return o->campaign_events;
}

void oracle_free(oracle *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->n; i++) {
        free(o->c[i].ev);
        free(o->c[i].posts);
    }
    free(o->c);
    for (size_t i = 0; i < o->ncamps; i++) {
        free(o->camps[i].m);
        free(o->camps[i].d);
    }
    free(o->camps);
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

/* --- campaigns, by the rules of issue 16 ----------------------------------- */

static bool blank(const char *s)
{
    while (*s == ' ')
        s++;
    return *s == 0;
}

/* The id a post event's post has (oracle_json writes the same). */
static void post_id_of(const oracle_event *e, char *out)
{
    if (e->post_id[0])
        snprintf(out, ORACLE_ID_MAX, "%s", e->post_id);
    else
        snprintf(out, ORACLE_ID_MAX, "p%" PRId64, e->ts);
}

static ocamp *camp(oracle *o, const char *id)
{
    for (size_t i = 0; i < o->ncamps; i++)
        if (strcmp(o->camps[i].id, id) == 0)
            return &o->camps[i];
    if (o->ncamps == o->capcamps) {
        o->capcamps = o->capcamps ? o->capcamps * 2 : 8;
        o->camps = realloc(o->camps, o->capcamps * sizeof *o->camps);
    }
    ocamp *k = &o->camps[o->ncamps++];
    memset(k, 0, sizeof *k);
    snprintf(k->id, sizeof k->id, "%s", id);
    k->first = INT64_MAX;
    k->last = INT64_MIN;
    return k;
}

static int64_t floordiv(int64_t a, int64_t b);

/* ev of c counts for campaign id. */
static void count(oracle *o, const ocreator *c, const char *id,
                  const oracle_event *ev)
{
    ocamp *k = camp(o, id);
    int row = c->tier + 1;
    omember *m = NULL;
    for (size_t i = 0; i < k->nm; i++)
        if (strcmp(k->m[i].id, c->id) == 0)
            m = &k->m[i];
    if (m == NULL) {
        /* It joins, with the followers and tier it has now. */
        if (k->nm == k->capm) {
            k->capm = k->capm ? k->capm * 2 : 8;
            k->m = realloc(k->m, k->capm * sizeof *k->m);
        }
        m = &k->m[k->nm++];
        memset(m, 0, sizeof *m);
        snprintf(m->id, sizeof m->id, "%s", c->id);
        k->creators[row]++;
        k->reach[row] += c->followers > 0 ? c->followers : 0;
    }
    int64_t add[NCM] = {0};
    if (ev->type == 1) {
        add[0] = 1;
        add[1] = ev->sponsored;
    } else {
        add[2 + ev->action] = ev->count;
        if (ev->action <= 3) {
            add[9] = ev->count;
            m->engagements += ev->count;
        }
    }
    int64_t day = floordiv(ev->ts, 86400000);
    oday *d = NULL;
    for (size_t i = 0; i < k->nd; i++)
        if (k->d[i].day == day)
            d = &k->d[i];
    if (d == NULL) {
        if (k->nd == k->capd) {
            k->capd = k->capd ? k->capd * 2 : 8;
            k->d = realloc(k->d, k->capd * sizeof *k->d);
        }
        d = &k->d[k->nd++];
        memset(d, 0, sizeof *d);
        d->day = day;
    }
    for (int f = 0; f < NCM; f++) {
        k->sum[row][f] += add[f];
        d->sum[f] += add[f];
    }
    if (ev->ts < k->first)
        k->first = ev->ts;
    if (ev->ts > k->last)
        k->last = ev->ts;
    o->campaign_events++;
}

static void forget_post(ocreator *c, size_t i)
{
    memmove(&c->posts[i], &c->posts[i + 1],
            (c->nposts - i - 1) * sizeof c->posts[0]);
    c->nposts--;
}

/* After ev of c was applied with its partition's watermark at W. */
static void campaigns_add(oracle *o, ocreator *c, const oracle_event *ev,
                          int64_t W)
{
    if (ev->type == 2)
        return;
    char id[ORACLE_ID_MAX] = "";
    if (!blank(ev->campaign)) {
        snprintf(id, sizeof id, "%s", ev->campaign);
    } else if (ev->type == 0 && ev->post_id[0]) {
        for (size_t i = 0; i < c->nposts; i++)
            if (strcmp(c->posts[i].id, ev->post_id) == 0 &&
                c->posts[i].ts + o->post_memory >= W)
                snprintf(id, sizeof id, "%s", c->posts[i].campaign);
    }
    if (!id[0])
        return;
    count(o, c, id, ev);
    if (ev->type != 1 || o->max_posts == 0)
        return;
    char pid[ORACLE_ID_MAX];
    post_id_of(ev, pid);
    for (size_t i = 0; i < c->nposts; i++)
        if (strcmp(c->posts[i].id, pid) == 0) {
            forget_post(c, i);
            break;
        }
    for (size_t i = c->nposts; i-- > 0;)
        if (c->posts[i].ts + o->post_memory < W)
            forget_post(c, i);
    if (c->nposts == c->capposts) {
        c->capposts = c->capposts ? c->capposts * 2 : 8;
        c->posts = realloc(c->posts, c->capposts * sizeof *c->posts);
    }
    opost *p = &c->posts[c->nposts++];
    snprintf(p->id, sizeof p->id, "%s", pid);
    snprintf(p->campaign, sizeof p->campaign, "%s", id);
    p->ts = ev->ts;
    while (c->nposts > (size_t)o->max_posts) {
        size_t oldest = 0;
        for (size_t i = 1; i < c->nposts; i++)
            if (c->posts[i].ts < c->posts[oldest].ts)
                oldest = i;
        forget_post(c, oldest);
    }
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
    campaigns_add(o, c, ev, o->wm[p]);
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
    char pid[ORACLE_ID_MAX];
    if (e->type == 0)
        n = snprintf(buf, size,
                     "{\"type\":\"engagement\",\"creator_id\":\"%s\",\"ts\":%"
                     PRId64 ",\"action\":\"%s\",\"count\":%" PRId64,
                     e->creator_id, e->ts, act[e->action], e->count);
    else if (e->type == 1) {
        post_id_of(e, pid);
        n = snprintf(buf, size,
                     "{\"type\":\"post\",\"creator_id\":\"%s\",\"ts\":%" PRId64
                     ",\"post_id\":\"%s\",\"sponsored\":%s%s",
                     e->creator_id, e->ts, pid,
                     e->sponsored ? "true" : "false",
                     e->sponsored ? ",\"brand\":\"acme\"" : "");
    }
    else
        n = snprintf(buf, size,
                     "{\"type\":\"followers\",\"creator_id\":\"%s\",\"ts\":%"
                     PRId64, e->creator_id, e->ts);
    if (e->followers >= 0)
        n += snprintf(buf + n, size - (size_t)n, ",\"followers\":%" PRId64,
                      e->followers);
    if (e->type == 0 && e->post_id[0])
        n += snprintf(buf + n, size - (size_t)n, ",\"post_id\":\"%s\"",
                      e->post_id);
    if (e->type != 2 && e->campaign[0])
        n += snprintf(buf + n, size - (size_t)n, ",\"campaign_id\":\"%s\"",
                      e->campaign);
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

/* A hash as HGETALL returned it (NULL, or an error reply, for a failed
 * read: reported once by fetch()). */
static const char *field_of(const redisReply *h, const char *field)
{
    if (h == NULL || h->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(h->element[i]->str, field) == 0)
            return h->element[i + 1]->type == REDIS_REPLY_STRING
                       ? h->element[i + 1]->str
                       : NULL;
    return NULL;
}

/* A reply that is not a hash: one mismatch, named. */
static void check_hash(mismatch *m, const char *key, const redisReply *h)
{
    if (h == NULL)
        report(m, key, "HGETALL", "a hash", "no reply (connection lost)");
    else if (h->type != REDIS_REPLY_ARRAY)
        report(m, key, "HGETALL", "a hash",
               h->type == REDIS_REPLY_ERROR ? h->str : "another type");
}

/* The next reply of a pipeline; NULL when the connection failed. */
static redisReply *next_reply(redisContext *rc)
{
    void *r = NULL;
    return redisGetReply(rc, &r) == REDIS_OK ? r : NULL;
}

/* key's hash, read once (one round trip); the caller frees it. */
static redisReply *fetch(mismatch *m, redisContext *rc, const char *key)
{
    redisReply *h = redisCommand(rc, "HGETALL %s", key);
    check_hash(m, key, h);
    return h;
}

static void expect(mismatch *m, const redisReply *h, const char *key,
                   const char *field, const char *want)
{
    const char *got = field_of(h, field);
    if (want == NULL ? got != NULL : got == NULL || strcmp(want, got) != 0)
        report(m, key, field, want ? want : "(absent)", got);
}

static void expect_int(mismatch *m, const redisReply *h, const char *key,
                       const char *field, int64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRId64, v);
    expect(m, h, key, field, s);
}

/* er is compared as a number: within 1e-9 relative. */
static void expect_ratio(mismatch *m, const redisReply *h, const char *key,
                         const char *field, int64_t a, int64_t b)
{
    const char *got = field_of(h, field);
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
}

/* A count: its value, or absent (or "0") when it is 0. */
static void expect_count(mismatch *m, const redisReply *h, const char *key,
                         const char *field, int64_t v)
{
    if (v != 0) {
        expect_int(m, h, key, field, v);
        return;
    }
    const char *got = field_of(h, field);
    if (got != NULL && strcmp(got, "0") != 0)
        report(m, key, field, "0 or absent", got);
}

/* One creator's hash against the truth; its tier's sums grow by it. */
static void check_creator(const oracle *o, const ocreator *c,
                          const redisReply *h, const char *key, mismatch *m,
                          int64_t *t)
{
    char f[64];
    check_hash(m, key, h);
    expect(m, h, key, "tier", c->tier < 0 ? "unknown" : tier_name[c->tier]);
    if (c->followers >= 0)
        expect_int(m, h, key, "followers", c->followers);
    else
        expect(m, h, key, "followers", NULL);
    expect_int(m, h, key, "last_event_ms", c->last_ts);
    t[0]++;
    t[1] += c->followers > 0 ? c->followers : 0;
    for (size_t w = 0; w < o->nwin; w++) {
        int64_t v[10];
        char lw[24];
        values(o, c, w, v);
        label(o->windows[w], lw, sizeof lw);
        for (int k = 0; k < 10; k++) {
            snprintf(f, sizeof f, "%s_%s", metric[k], lw);
            /* A creator's sum of 0 is not stored. */
            if (v[k] == 0)
                expect(m, h, key, f, NULL);
            else
                expect_int(m, h, key, f, v[k]);
            t[2 + w * 10 + k] += v[k];
        }
        snprintf(f, sizeof f, "er_%s", lw);
        expect_ratio(m, h, key, f, v[7], c->followers);
    }
}

int oracle_check_redis(const oracle *o, redisContext *rc, const char *prefix,
                       char *why, size_t why_size)
{
    mismatch m = {0, why, why_size, 0};
    why[0] = 0;
    int64_t tier[NT + 1][2 + 8 * 10];
    memset(tier, 0, sizeof tier);
    /* The creators' hashes, HGETALL pipelined a chunk at a time: tens of
     * thousands of creators are read in seconds. */
    enum { CHUNK = 512 };
    for (size_t i0 = 0; i0 < o->n; i0 += CHUNK) {
        size_t n = o->n - i0 < CHUNK ? o->n - i0 : CHUNK;
        for (size_t i = i0; i < i0 + n; i++)
            redisAppendCommand(rc, "HGETALL %screator:%s", prefix, o->c[i].id);
        for (size_t i = i0; i < i0 + n; i++) {
            const ocreator *c = &o->c[i];
            char key[256];
            snprintf(key, sizeof key, "%screator:%s", prefix, c->id);
            redisReply *r = next_reply(rc);
            check_creator(o, c, r, key, &m, tier[c->tier + 1]);
            freeReplyObject(r);
        }
    }
    for (int t = 0; t <= NT; t++) {
        char key[256], f[64];
        snprintf(key, sizeof key, "%stier:%s", prefix,
                 t == 0 ? "unknown" : tier_name[t - 1]);
        const int64_t *row = tier[t];
        redisReply *h = fetch(&m, rc, key);
        if (row[0] == 0) {
            /* A tier nobody is in now: absent, or all zero. */
            expect_count(&m, h, key, "creators", 0);
            freeReplyObject(h);
            continue;
        }
        expect_int(&m, h, key, "creators", row[0]);
        expect_int(&m, h, key, "followers", row[1]);
        for (size_t w = 0; w < o->nwin; w++) {
            char lw[24];
            label(o->windows[w], lw, sizeof lw);
            for (int k = 0; k < 10; k++) {
                snprintf(f, sizeof f, "%s_%s", metric[k], lw);
                expect_int(&m, h, key, f, row[2 + w * 10 + k]);
            }
            snprintf(f, sizeof f, "er_%s", lw);
            expect_ratio(&m, h, key, f, row[2 + w * 10 + 7], row[1]);
        }
        freeReplyObject(h);
    }
    return m.count;
}

void oracle_tier(const oracle *o, int tier, int64_t *creators,
                 int64_t *followers, int64_t *engagements)
{
    *creators = 0;
    *followers = 0;
    memset(engagements, 0, o->nwin * sizeof *engagements);
    for (size_t i = 0; i < o->n; i++) {
        const ocreator *c = &o->c[i];
        if (c->tier != tier)
            continue;
        (*creators)++;
        *followers += c->followers > 0 ? c->followers : 0;
        for (size_t w = 0; w < o->nwin; w++) {
            int64_t v[10];
            values(o, c, w, v);
            engagements[w] += v[7];
        }
    }
}

/* A ZSCORE reply r against v. */
static void check_score(mismatch *m, const redisReply *r, const char *key,
                        const char *member, int64_t v)
{
    char want[32];
    snprintf(want, sizeof want, "%" PRId64, v);
    if (!r || r->type != REDIS_REPLY_STRING || strtod(r->str, NULL) != (double)v)
        report(m, key, member, want,
               r && r->type == REDIS_REPLY_STRING ? r->str : NULL);
}

static void expect_score(mismatch *m, redisContext *rc, const char *key,
                         const char *member, int64_t v)
{
    redisReply *r = redisCommand(rc, "ZSCORE %s %s", key, member);
    check_score(m, r, key, member, v);
    freeReplyObject(r);
}

/* Each member's score in a campaign's creators, pipelined. */
static void expect_members(mismatch *m, redisContext *rc, const char *key,
                           const ocamp *k)
{
    enum { CHUNK = 512 };
    for (size_t j0 = 0; j0 < k->nm; j0 += CHUNK) {
        size_t n = k->nm - j0 < CHUNK ? k->nm - j0 : CHUNK;
        for (size_t j = j0; j < j0 + n; j++)
            redisAppendCommand(rc, "ZSCORE %s %s", key, k->m[j].id);
        for (size_t j = j0; j < j0 + n; j++) {
            redisReply *r = next_reply(rc);
            check_score(m, r, key, k->m[j].id, k->m[j].engagements);
            freeReplyObject(r);
        }
    }
}

/* YYYY-MM-DD of a day since the epoch (proleptic Gregorian, H. Hinnant's
 * days-to-civil). */
static void date_of(int64_t z, char *out, size_t size)
{
    z += 719468;
    int64_t era = floordiv(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t mo = mp < 10 ? mp + 3 : mp - 9;
    snprintf(out, size, "%04" PRId64 "-%02" PRId64 "-%02" PRId64,
             y + (mo <= 2), mo, d);
}

int oracle_check_campaigns(const oracle *o, redisContext *rc,
                           const char *prefix, char *why, size_t why_size)
{
    mismatch m = {0, why, why_size, 0};
    why[0] = 0;
    for (size_t i = 0; i < o->ncamps; i++) {
        const ocamp *k = &o->camps[i];
        char key[512], f[96];
        snprintf(key, sizeof key, "%scampaign:%s", prefix, k->id);
        redisReply *h = fetch(&m, rc, key);
        int64_t tot[NCM] = {0}, creators = 0, reach = 0;
        for (int t = 0; t <= NT; t++) {
            const char *tn = t == 0 ? "unknown" : tier_name[t - 1];
            for (int x = 0; x < NCM; x++) {
                tot[x] += k->sum[t][x];
                snprintf(f, sizeof f, "%s.%s", tn, cmetric[x]);
                expect_count(&m, h, key, f, k->sum[t][x]);
            }
            creators += k->creators[t];
            reach += k->reach[t];
            snprintf(f, sizeof f, "%s.creators", tn);
            expect_count(&m, h, key, f, k->creators[t]);
            snprintf(f, sizeof f, "%s.reach", tn);
            expect_count(&m, h, key, f, k->reach[t]);
            snprintf(f, sizeof f, "%s.er", tn);
            expect_ratio(&m, h, key, f, k->sum[t][9], k->reach[t]);
            snprintf(f, sizeof f, "%s.conversion_rate", tn);
            expect_ratio(&m, h, key, f, k->sum[t][8], k->sum[t][7]);
        }
        for (int x = 0; x < NCM; x++)
            expect_count(&m, h, key, cmetric[x], tot[x]);
        expect_count(&m, h, key, "creators", creators);
        expect_count(&m, h, key, "reach", reach);
        expect_ratio(&m, h, key, "er", tot[9], reach);
        expect_ratio(&m, h, key, "conversion_rate", tot[8], tot[7]);
        expect_int(&m, h, key, "first_ms", k->first);
        expect_int(&m, h, key, "last_ms", k->last);
        freeReplyObject(h);
        for (size_t j = 0; j < k->nd; j++) {
            char date[64], dkey[512];
            date_of(k->d[j].day, date, sizeof date);
            snprintf(dkey, sizeof dkey, "%scampaign_day:%s:%s", prefix, k->id,
                     date);
            redisReply *dh = fetch(&m, rc, dkey);
            for (int x = 0; x < NCM; x++)
                expect_count(&m, dh, dkey, cmetric[x], k->d[j].sum[x]);
            freeReplyObject(dh);
        }
        char zkey[512];
        snprintf(zkey, sizeof zkey, "%scampaign_creators:%s", prefix, k->id);
        redisReply *r = redisCommand(rc, "ZCARD %s", zkey);
        if (!r || r->type != REDIS_REPLY_INTEGER ||
            r->integer != (long long)k->nm) {
            char want[24], got[24];
            snprintf(want, sizeof want, "%zu", k->nm);
            snprintf(got, sizeof got, "%lld", r ? r->integer : -1LL);
            report(&m, zkey, "ZCARD", want, got);
        }
        freeReplyObject(r);
        expect_members(&m, rc, zkey, k);
        snprintf(zkey, sizeof zkey, "%scampaigns", prefix);
        expect_score(&m, rc, zkey, k->id, k->last);
    }
    return m.count;
}

/* --- one campaign's truth, for readers of it (the page) ------------------- */

static const ocamp *camp_find(const oracle *o, const char *id)
{
    for (size_t i = 0; i < o->ncamps; i++)
        if (strcmp(o->camps[i].id, id) == 0)
            return &o->camps[i];
    return NULL;
}

int oracle_campaign_count(const oracle *o, const char *id, const char *field,
                          int64_t *value)
{
    const ocamp *k = camp_find(o, id);
    if (k == NULL)
        return -1;
    int lo = 0, hi = NT;      /* the rows summed: all, or one tier's */
    const char *dot = strchr(field, '.');
    if (dot != NULL) {
        size_t n = (size_t)(dot - field);
        if (n == 7 && strncmp(field, "unknown", 7) == 0)
            lo = hi = 0;
        else {
            lo = -1;
            for (int t = 0; t < NT; t++)
                if (strlen(tier_name[t]) == n &&
                    strncmp(field, tier_name[t], n) == 0)
                    lo = hi = t + 1;
            if (lo < 0)
                return -1;
        }
        field = dot + 1;
    }
    int64_t v = 0;
    for (int t = lo; t <= hi; t++) {
        if (strcmp(field, "creators") == 0)
            v += k->creators[t];
        else if (strcmp(field, "reach") == 0)
            v += k->reach[t];
        else {
            int x = 0;
            while (x < NCM && strcmp(cmetric[x], field) != 0)
                x++;
            if (x == NCM)
                return -1;
            v += k->sum[t][x];
        }
    }
    *value = v;
    return 0;
}

int oracle_campaign_day(const oracle *o, const char *id, const char *date,
                        const char *field, int64_t *value)
{
    const ocamp *k = camp_find(o, id);
    int x = 0;
    while (x < NCM && strcmp(cmetric[x], field) != 0)
        x++;
    if (k == NULL || x == NCM)
        return -1;
    *value = 0;   /* a day without event is a day of zeros */
    for (size_t j = 0; j < k->nd; j++) {
        char d[64];
        date_of(k->d[j].day, d, sizeof d);
        if (strcmp(d, date) == 0)
            *value = k->d[j].sum[x];
    }
    return 0;
}

/* Most engagements first, ties as ZREVRANGE has them: the greater id
 * (byte order) first. */
static int member_cmp(const void *a, const void *b)
{
    const omember *x = a, *y = b;
    if (x->engagements != y->engagements)
        return x->engagements > y->engagements ? -1 : 1;
    return strcmp(y->id, x->id);
}

size_t oracle_campaign_top(const oracle *o, const char *id, size_t max,
                           char (*ids)[ORACLE_ID_MAX], int64_t *engagements)
{
    const ocamp *k = camp_find(o, id);
    if (k == NULL || k->nm == 0)
        return 0;
    omember *m = malloc(k->nm * sizeof *m);
    if (m == NULL)
        return 0;
    memcpy(m, k->m, k->nm * sizeof *m);
    qsort(m, k->nm, sizeof *m, member_cmp);
    size_t n = k->nm < max ? k->nm : max;
    for (size_t i = 0; i < n; i++) {
        snprintf(ids[i], ORACLE_ID_MAX, "%s", m[i].id);
        engagements[i] = m[i].engagements;
    }
    free(m);
    return n;
}

#include "campaign.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define POSTS_VERSION 1

static const char *const metric_names[CAMPAIGN_METRICS] = {
    "posts", "sponsored_posts", "likes", "comments", "shares", "saves",
    "views", "clicks", "conversions", "engagements",
};

const char *campaign_metric_name(int metric)
{
    return metric >= 0 && metric < CAMPAIGN_METRICS ? metric_names[metric]
                                                    : "unknown";
}

/* A campaign_id that is empty or only spaces is none. */
static bool is_none(const char *s)
{
    for (; *s; s++)
        if (*s != ' ')
            return false;
    return true;
}

/* --- a creator's campaign posts -------------------------------------------- */

/* tag: the post id's hash, compared before the id itself: an engagement
 * on a post of no campaign is checked against every post remembered. */
typedef struct cpost {
    int64_t ts;
    char *post;
    char *campaign;
    uint32_t tag;
} cpost;

static uint32_t tag_of(const char *post)
{
    return (uint32_t)hash_id(post, strlen(post));
}

struct campaign_posts {
    size_t n, cap;
    size_t bytes;            /* the strings' */
    cpost p[];
};

static bool forgotten(const cpost *p, int64_t W, int64_t memory)
{
    /* Saturated: a post near INT64_MAX is never forgotten by overflow. */
    return p->ts <= INT64_MAX - memory && p->ts + memory < W;
}

bool campaign_of(const campaign_posts *h, const event *ev, int64_t W,
                 int64_t post_memory, char out[EVENT_ID_MAX + 1])
{
    if (ev->type == EVENT_FOLLOWERS)
        return false;
    if (!is_none(ev->campaign_id)) {
        strcpy(out, ev->campaign_id);
        return true;
    }
    if (ev->type != EVENT_ENGAGEMENT || h == NULL || ev->post_id[0] == 0)
        return false;
    uint32_t tag = tag_of(ev->post_id);
    for (size_t i = 0; i < h->n; i++)
        if (h->p[i].tag == tag && strcmp(h->p[i].post, ev->post_id) == 0) {
            if (forgotten(&h->p[i], W, post_memory))
                return false;
            strcpy(out, h->p[i].campaign);
            return true;
        }
    return false;
}

static void drop_post(campaign_posts *h, size_t i)
{
    h->bytes -= strlen(h->p[i].post) + strlen(h->p[i].campaign) + 2;
    free(h->p[i].post);
    free(h->p[i].campaign);
    memmove(&h->p[i], &h->p[i + 1], (h->n - i - 1) * sizeof h->p[0]);
    h->n--;
}

int campaign_remember(campaign_posts **hp, const event *ev,
                      const char *campaign, int64_t W, int64_t post_memory,
                      size_t max_posts)
{
    campaign_posts *h = *hp;
    char *post = strdup(ev->post_id), *camp = strdup(campaign);
    if (post == NULL || camp == NULL)
        goto oom;
    if (h == NULL || h->n == h->cap) {
        size_t cap = h ? h->cap * 2 : 4;
        campaign_posts *n = realloc(h, sizeof *n + cap * sizeof n->p[0]);
        if (n == NULL)
            goto oom;
        if (h == NULL) {
            n->n = 0;
            n->bytes = 0;
        }
        n->cap = cap;
        h = *hp = n;
    }
    uint32_t tag = tag_of(post);
    for (size_t i = 0; i < h->n; i++)
        if (h->p[i].tag == tag && strcmp(h->p[i].post, post) == 0) {
            drop_post(h, i);
            break;
        }
    for (size_t i = h->n; i-- > 0;)
        if (forgotten(&h->p[i], W, post_memory))
            drop_post(h, i);
    h->p[h->n++] = (cpost){ev->ts_ms, post, camp, tag};
    h->bytes += strlen(post) + strlen(camp) + 2;
    while (h->n > max_posts) {
        size_t oldest = 0;
        for (size_t i = 1; i < h->n; i++)
            if (h->p[i].ts < h->p[oldest].ts)
                oldest = i;
        drop_post(h, oldest);
    }
    return 0;
oom:
    free(post);
    free(camp);
    return -1;
}

size_t campaign_posts_count(const campaign_posts *h)
{
    return h ? h->n : 0;
}

size_t campaign_posts_memory(const campaign_posts *h)
{
    return h ? sizeof *h + h->cap * sizeof h->p[0] + h->bytes : 0;
}

void campaign_posts_free(campaign_posts *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->p[i].post);
        free(h->p[i].campaign);
    }
    free(h);
}

static void append_str(buf *out, const char *s)
{
    size_t n = strlen(s);
    buf_append_uvarint(out, n);
    buf_append(out, s, n);
}

void campaign_posts_encode(const campaign_posts *h, buf *out)
{
    buf_append_byte(out, POSTS_VERSION);
    buf_append_uvarint(out, campaign_posts_count(h));
    for (size_t i = 0; h != NULL && i < h->n; i++) {
        buf_append_varint(out, h->p[i].ts);
        append_str(out, h->p[i].post);
        append_str(out, h->p[i].campaign);
    }
}

static buf_decode_result read_str(const char *data, size_t len, size_t *pos,
                                  char **out)
{
    uint64_t n;
    if (buf_read_uvarint(data, len, pos, &n) < 0 || n > len - *pos ||
        n > EVENT_ID_MAX || memchr(data + *pos, 0, (size_t)n) != NULL)
        return BUF_CORRUPT;
    *out = strndup(data + *pos, (size_t)n);
    if (*out == NULL)
        return BUF_NOMEM;
    *pos += (size_t)n;
    return BUF_DECODED;
}

buf_decode_result campaign_posts_decode(campaign_posts **hp, const char *data,
                                        size_t len, size_t *pos)
{
    *hp = NULL;
    uint64_t n;
    if (*pos >= len || (uint8_t)data[*pos] != POSTS_VERSION)
        return BUF_CORRUPT;
    (*pos)++;
    if (buf_read_uvarint(data, len, pos, &n) < 0 || n > len - *pos)
        return BUF_CORRUPT;
    if (n == 0)
        return BUF_DECODED;
    campaign_posts *h = malloc(sizeof *h + (size_t)n * sizeof h->p[0]);
    if (h == NULL)
        return BUF_NOMEM;
    h->n = 0;
    h->cap = (size_t)n;
    h->bytes = 0;
    buf_decode_result rc = BUF_DECODED;
    for (uint64_t i = 0; i < n && rc == BUF_DECODED; i++) {
        cpost p = {0, NULL, NULL, 0};
        if (buf_read_varint(data, len, pos, &p.ts) < 0)
            rc = BUF_CORRUPT;
        if (rc == BUF_DECODED)
            rc = read_str(data, len, pos, &p.post);
        if (rc == BUF_DECODED)
            rc = read_str(data, len, pos, &p.campaign);
        if (rc != BUF_DECODED) {
            free(p.post);
            free(p.campaign);
            break;
        }
        p.tag = tag_of(p.post);
        h->p[h->n++] = p;
        h->bytes += strlen(p.post) + strlen(p.campaign) + 2;
    }
    if (rc != BUF_DECODED) {
        campaign_posts_free(h);
        return rc;
    }
    *hp = h;
    return BUF_DECODED;
}

/* --- the ledger -------------------------------------------------------------- */

/*
 * One table of rows with an index: rows in an array, found by a key of
 * bytes through open addressing.  The rows' strings are owned by the
 * table (in keys).
 */
typedef struct table {
    void *rows;
    size_t size;             /* of a row */
    size_t n, cap;
    char **keys;             /* the key of row i, with its length */
    size_t *klen;
    uint32_t *index;         /* row + 1; 0 empty */
    size_t nindex;
} table;

struct campaign_ledger {
    table sums, members, brands;
    buf key;
};

struct campaign_merge {
    table tiers, days;
    buf key;
};

static void table_init(table *t, size_t size)
{
    memset(t, 0, sizeof *t);
    t->size = size;
}

static void table_clear(table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->keys[i]);
    t->n = 0;
    if (t->index != NULL)
        memset(t->index, 0, t->nindex * sizeof *t->index);
}

static void table_free(table *t)
{
    table_clear(t);
    free(t->rows);
    free(t->keys);
    free(t->klen);
    free(t->index);
}

static void *row(const table *t, size_t i)
{
    return (char *)t->rows + i * t->size;
}

static void reindex(table *t)
{
    memset(t->index, 0, t->nindex * sizeof *t->index);
    for (size_t i = 0; i < t->n; i++) {
        size_t h = hash_id(t->keys[i], t->klen[i]) & (t->nindex - 1);
        while (t->index[h])
            h = (h + 1) & (t->nindex - 1);
        t->index[h] = (uint32_t)i + 1;
    }
}

/*
 * The row of key (len bytes), made zeroed when new (*made true).  Returns
 * NULL when out of memory.  The key's copy stays in t->keys[i]: a row's
 * strings point into it.
 */
static void *table_get(table *t, const char *key, size_t len, bool *made)
{
    *made = false;
    if (t->nindex > 0) {
        size_t h = hash_id(key, len) & (t->nindex - 1);
        while (t->index[h]) {
            size_t i = t->index[h] - 1;
            if (t->klen[i] == len && memcmp(t->keys[i], key, len) == 0)
                return row(t, i);
            h = (h + 1) & (t->nindex - 1);
        }
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        void *r = realloc(t->rows, cap * t->size);
        if (r)
            t->rows = r;
        char **k = realloc(t->keys, cap * sizeof *k);
        if (k)
            t->keys = k;
        size_t *kl = realloc(t->klen, cap * sizeof *kl);
        if (kl)
            t->klen = kl;
        uint32_t *ix = calloc(cap * 2, sizeof *ix);
        if (!r || !k || !kl || !ix) {
            free(ix);
            return NULL;
        }
        free(t->index);
        t->index = ix;
        t->nindex = cap * 2;
        t->cap = cap;
        reindex(t);
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, key, len);
    copy[len] = 0;
    size_t i = t->n++;
    t->keys[i] = copy;
    t->klen[i] = len;
    memset(row(t, i), 0, t->size);
    size_t h = hash_id(key, len) & (t->nindex - 1);
    while (t->index[h])
        h = (h + 1) & (t->nindex - 1);
    t->index[h] = (uint32_t)i + 1;
    *made = true;
    return row(t, i);
}

/* Keeps the rows for which keep(row) is true, in order. */
static void table_filter(table *t, bool (*keep)(const void *row,
                                                const void *arg),
                         const void *arg)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (!keep(row(t, i), arg)) {
            free(t->keys[i]);
            continue;
        }
        if (k != i) {
            memcpy(row(t, k), row(t, i), t->size);
            t->keys[k] = t->keys[i];
            t->klen[k] = t->klen[i];
        }
        k++;
    }
    t->n = k;
    if (t->index != NULL)
        reindex(t);
}

/*
 * Keys: the slot, then each part with its length in front, so that no two
 * different tuples make one key whatever their bytes.  The parts' copies
 * sit NUL-separated after a header the rows point into: key_part() gives
 * where part k starts.
 */
static void key_begin(buf *k, int slot, char kind)
{
    buf_reset(k);
    buf_append_byte(k, (uint8_t)kind);
    buf_append_uvarint(k, (uint64_t)slot);
}

static void key_str(buf *k, const char *s, size_t n)
{
    buf_append_uvarint(k, n);
    buf_append(k, s, n);
    buf_append_byte(k, 0);
}

/* Part `which` (0-based) of a key made by key_begin and key_str. */
static const char *key_part(const char *key, int which)
{
    size_t pos = 1;
    uint64_t v;
    buf_read_uvarint(key, SIZE_MAX, &pos, &v); /* the slot */
    for (;;) {
        buf_read_uvarint(key, SIZE_MAX, &pos, &v);
        if (which-- == 0)
            return key + pos;
        pos += (size_t)v + 1;
    }
}

campaign_ledger *campaign_ledger_new(void)
{
    campaign_ledger *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    table_init(&l->sums, sizeof(campaign_sums));
    table_init(&l->members, sizeof(campaign_member));
    table_init(&l->brands, sizeof(campaign_brand));
    return l;
}

void campaign_ledger_free(campaign_ledger *l)
{
    if (l == NULL)
        return;
    table_free(&l->sums);
    table_free(&l->members);
    table_free(&l->brands);
    buf_free(&l->key);
    free(l);
}

/* Floor division: the UTC day of a ts, before 1970 too. */
static int64_t day_of(int64_t ts)
{
    int64_t d = ts / 86400000;
    return ts % 86400000 < 0 ? d - 1 : d;
}

static void add_event(int64_t *v, const event *ev)
{
    if (ev->type == EVENT_POST) {
        v[CAMPAIGN_POSTS]++;
        if (ev->sponsored)
            v[CAMPAIGN_SPONSORED_POSTS]++;
        return;
    }
    /* event_action and the engagement metrics share their order. */
    v[CAMPAIGN_LIKES + ev->action] += ev->count;
    if (ev->action <= EVENT_SAVE)
        v[CAMPAIGN_ENGAGEMENTS] += ev->count;
}

/* The row of (campaign, tier, day) of `kind` in t, made when new. */
static campaign_sums *sums_row(table *t, buf *key, char kind, int slot,
                               const char *campaign, size_t clen, int tier,
                               int64_t day)
{
    bool made;
    key_begin(key, slot, kind);
    key_str(key, campaign, clen);
    buf_append_varint(key, tier);
    buf_append_varint(key, day);
    if (buf_failed(key))
        return NULL;
    campaign_sums *r = table_get(t, key->data, key->len, &made);
    if (r != NULL && made) {
        r->campaign = key_part(t->keys[t->n - 1], 0);
        r->slot = slot;
        r->tier = tier;
        r->day = day;
        r->first_ms = INT64_MAX;
        r->last_ms = INT64_MIN;
    }
    return r;
}

int campaign_ledger_add(campaign_ledger *l, int slot, const char *campaign,
                        const char *creator, size_t len, int tier,
                        int64_t followers, const event *ev)
{
    size_t clen = strlen(campaign);
    bool made;
    /* campaign x tier x day: one row, one lookup; the checkpoint's merge
     * makes the tier and the day sums. */
    campaign_sums *t = sums_row(&l->sums, &l->key, 'r', slot, campaign, clen,
                                tier, day_of(ev->ts_ms));
    if (t == NULL)
        return -1;
    add_event(t->v, ev);
    if (ev->ts_ms < t->first_ms)
        t->first_ms = ev->ts_ms;
    if (ev->ts_ms > t->last_ms)
        t->last_ms = ev->ts_ms;
    /* campaign x creator */
    key_begin(&l->key, slot, 'm');
    key_str(&l->key, campaign, clen);
    key_str(&l->key, creator, len);
    if (buf_failed(&l->key))
        return -1;
    campaign_member *m = table_get(&l->members, l->key.data, l->key.len,
                                   &made);
    if (m == NULL)
        return -1;
    if (made) {
        const char *k = l->members.keys[l->members.n - 1];
        m->campaign = key_part(k, 0);
        m->creator = key_part(k, 1);
        m->creator_len = len;
        m->slot = slot;
        m->tier = tier;
        m->followers = followers;
    }
    if (ev->type == EVENT_ENGAGEMENT && ev->action <= EVENT_SAVE)
        m->engagements += ev->count;
    return 0;
}

static int brand_row(campaign_ledger *l, int slot, const char *creator,
                     size_t len, const char *brand, const char *sector,
                     int64_t ts, bool count)
{
    bool made;
    key_begin(&l->key, slot, 'b');
    key_str(&l->key, creator, len);
    key_str(&l->key, brand, strlen(brand));
    key_str(&l->key, sector, strlen(sector));
    if (buf_failed(&l->key))
        return -1;
    campaign_brand *b = table_get(&l->brands, l->key.data, l->key.len, &made);
    if (b == NULL)
        return -1;
    if (made) {
        const char *k = l->brands.keys[l->brands.n - 1];
        b->creator = key_part(k, 0);
        b->creator_len = len;
        b->brand = key_part(k, 1);
        b->sector = key_part(k, 2);
        b->slot = slot;
        b->last_ms = INT64_MIN;
    }
    b->posts += count;
    if (ts > b->last_ms)
        b->last_ms = ts;
    return 0;
}

int campaign_ledger_brand(campaign_ledger *l, int slot, const char *creator,
                          size_t len, const char *brand, const char *sector,
                          int64_t ts)
{
    if (brand[0] && brand_row(l, slot, creator, len, brand, "", ts, true) < 0)
        return -1;
    if (sector[0] && brand_row(l, slot, creator, len, "", sector, ts, false) < 0)
        return -1;
    return 0;
}

size_t campaign_ledger_sums(const campaign_ledger *l) { return l->sums.n; }
size_t campaign_ledger_members(const campaign_ledger *l) { return l->members.n; }
size_t campaign_ledger_brands(const campaign_ledger *l) { return l->brands.n; }

const campaign_sums *campaign_ledger_sum(const campaign_ledger *l, size_t i)
{
    return i < l->sums.n ? row(&l->sums, i) : NULL;
}

const campaign_member *campaign_ledger_member(const campaign_ledger *l,
                                              size_t i)
{
    return i < l->members.n ? row(&l->members, i) : NULL;
}

const campaign_brand *campaign_ledger_brand_row(const campaign_ledger *l,
                                                size_t i)
{
    return i < l->brands.n ? row(&l->brands, i) : NULL;
}

/* Every row type begins with its slot at a different offset: */
struct keep_arg {
    const bool *done;
    size_t nslots;
    int drop;                /* drop this slot instead; -1 */
    size_t off;              /* offsetof the row's slot */
};

static bool keep_row(const void *r, const void *arg)
{
    const struct keep_arg *a = arg;
    int slot = *(const int *)((const char *)r + a->off);
    if (a->drop >= 0)
        return slot != a->drop;
    bool written = a->done == NULL ||
                   (slot >= 0 && (size_t)slot < a->nslots && a->done[slot]);
    return !written;
}

static void filter_all(campaign_ledger *l, struct keep_arg a)
{
    a.off = offsetof(campaign_sums, slot);
    table_filter(&l->sums, keep_row, &a);
    a.off = offsetof(campaign_member, slot);
    table_filter(&l->members, keep_row, &a);
    a.off = offsetof(campaign_brand, slot);
    table_filter(&l->brands, keep_row, &a);
}

void campaign_ledger_done(campaign_ledger *l, const bool *done, size_t nslots)
{
    if (done == NULL) {
        table_clear(&l->sums);
        table_clear(&l->members);
        table_clear(&l->brands);
        return;
    }
    filter_all(l, (struct keep_arg){done, nslots, -1, 0});
}

void campaign_ledger_drop(campaign_ledger *l, int slot)
{
    filter_all(l, (struct keep_arg){NULL, 0, slot, 0});
}

static size_t table_memory(const table *t)
{
    size_t m = t->cap * (t->size + sizeof *t->keys + sizeof *t->klen) +
               t->nindex * sizeof *t->index;
    for (size_t i = 0; i < t->n; i++)
        m += t->klen[i] + 1;
    return m;
}

size_t campaign_ledger_memory(const campaign_ledger *l)
{
    return table_memory(&l->sums) + table_memory(&l->members) +
           table_memory(&l->brands);
}

/* --- the merge --------------------------------------------------------------- */

campaign_merge *campaign_merge_new(void)
{
    campaign_merge *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    table_init(&m->tiers, sizeof(campaign_sums));
    table_init(&m->days, sizeof(campaign_sums));
    return m;
}

void campaign_merge_free(campaign_merge *m)
{
    if (m == NULL)
        return;
    table_free(&m->tiers);
    table_free(&m->days);
    buf_free(&m->key);
    free(m);
}

static void add_sums(campaign_sums *to, const campaign_sums *r)
{
    for (int k = 0; k < CAMPAIGN_METRICS; k++)
        to->v[k] += r->v[k];
    if (r->first_ms < to->first_ms)
        to->first_ms = r->first_ms;
    if (r->last_ms > to->last_ms)
        to->last_ms = r->last_ms;
}

int campaign_merge_ledger(campaign_merge *m, const campaign_ledger *l,
                          bool (*take)(int slot, const void *arg),
                          const void *arg)
{
    table_clear(&m->tiers);
    table_clear(&m->days);
    for (size_t i = 0; i < l->sums.n; i++) {
        const campaign_sums *r = row(&l->sums, i);
        if (!take(r->slot, arg))
            continue;
        size_t clen = strlen(r->campaign);
        campaign_sums *t = sums_row(&m->tiers, &m->key, 't', -1, r->campaign,
                                    clen, r->tier, -1);
        campaign_sums *d = t == NULL ? NULL
                                     : sums_row(&m->days, &m->key, 'd', -1,
                                                r->campaign, clen, -2, r->day);
        if (d == NULL) {
            table_clear(&m->tiers);
            table_clear(&m->days);
            return -1;
        }
        add_sums(t, r);
        add_sums(d, r);
    }
    return 0;
}

size_t campaign_merge_tiers(const campaign_merge *m) { return m->tiers.n; }
size_t campaign_merge_days(const campaign_merge *m) { return m->days.n; }

const campaign_sums *campaign_merge_tier(const campaign_merge *m, size_t i)
{
    return i < m->tiers.n ? row(&m->tiers, i) : NULL;
}

const campaign_sums *campaign_merge_day(const campaign_merge *m, size_t i)
{
    return i < m->days.n ? row(&m->days, i) : NULL;
}

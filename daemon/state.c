#include "state.h"
#include "hash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "conflict.h"
#include "decay.h"
#include "tier.h"
#include "timefmt.h"
#include "window.h"

#define NBUCKETS 60          /* buckets per window: width = window / 60 */
#define NOT_IN_HEAP UINT32_MAX
#define BLOB_MAGIC 'E'
#define BLOB_VERSION 4          /* 3: no spike, no follower history;
                                 * 2: no campaign posts either; read */

/*
 * The detectors' states that are at rest for almost every creator (decay
 * outside the watched tiers, spike and saturation while ok): one block,
 * allocated when one of them leaves its rest and freed when all are back,
 * instead of 64 bytes in every creator (issue 18's memory cost).
 */
typedef struct signals {
    decay_state decay;
    spike_state spike;
    saturation_state sat;
} signals;

static const signals at_rest = {.decay = {.status = DECAY_OK, .tier = -1,
                                          .ratio = NAN}};

static bool decay_at_rest(const decay_state *d)
{
    return d->status == DECAY_OK && isnan(d->ratio);
}

static bool at_rest_all(const signals *s)
{
    return decay_at_rest(&s->decay) && !s->spike.firing &&
           s->sat.status == SATURATION_OK;
}

/* Window kinds: every metric, or only engagements (decay's own windows). */
#define WK_FULL 0
#define WK_ENG 1
#define WK_POSTS 2               /* posts and sponsored_posts: saturation's */

/* What the last checkpoint wrote for a creator; kept only while dirty. */
typedef struct written {
    int tier;
    bool existed;
    bool had_ratio;          /* decay_ratio was written */
    int64_t wake;            /* the wake time the index holds */
    int64_t followers;
    int64_t values[];        /* exported windows x STATE_METRICS */
} written;

struct state_creator {
    state_creator *hnext;    /* hash chain */
    state_creator *lru_prev, *lru_next; /* most recently active first */
    uint64_t hash;
    int64_t wake;            /* earliest W at which a bucket expires */
    int64_t followers;       /* -1 unknown */
    int64_t followers_ts;    /* ts of the event that gave `followers` */
    int64_t first_ts, last_ts;
    written *written;        /* non-NULL exactly while dirty */
    conflict_history *conflicts; /* sponsored posts; NULL for none */
    campaign_posts *cposts;  /* campaign posts remembered; NULL for none */
    int64_t decay_eval_at;   /* next decay evaluation, or INT64_MAX */
    signals *sig;            /* detector states; NULL: all at rest */
    jump_state jump;
    uint32_t heap_pos;
    int32_t slot;
    int16_t tier;
    uint8_t persisted;       /* 1: a checkpoint has written it; 2: restored
                              * from Redis, not written since */
    uint8_t pad;
    uint32_t id_len;
    /* followed by: window win[nwindows]; int64_t sums[nsums] (per window,
     * from soff[w]: STATE_METRICS, or one for a WK_ENG window);
     * char id[id_len + 1] */
};

typedef struct part {
    char *topic;
    int32_t partition;
    bool used;
    int64_t watermark;
    state_creator **heap;    /* min-heap on wake */
    uint32_t heap_n, heap_cap;
    size_t ncreators;
} part;

struct state {
    const config *cfg;
    size_t nwin;             /* windows held per creator */
    size_t nexp;             /* the first nexp are the exported ones */
    window_spec spec[CONFIG_MAX_WINDOWS + 5];
    uint8_t wkind[CONFIG_MAX_WINDOWS + 5];
    size_t soff[CONFIG_MAX_WINDOWS + 5]; /* window w's sums in a creator's */
    size_t nsums;
    size_t wcur, wbase;      /* decay's current and baseline windows */
    size_t wspike, wspikebase; /* [spike] window and baseline */
    size_t wjump;            /* [follower_jump] window */
    size_t wposts;           /* [saturation] window */
    int64_t horizon_ms;      /* late_grace + longest window */
    state_hooks hooks;       /* detection (detect.h) */
    campaign_ledger *ledger; /* campaign deltas since the last checkpoint */
    size_t creator_size;     /* bytes of a creator before its id */
    state_creator **table;
    size_t table_size, ncreators;
    part *parts;
    size_t nparts;
    state_creator **dirty;
    size_t ndirty, dirty_cap;
    state_creator *lru_head, *lru_tail;
    size_t memory;
};

static const char *const metric_names[STATE_METRICS] = {
    "likes", "comments", "shares", "saves", "views", "clicks",
    "conversions", "engagements", "posts", "sponsored_posts",
};

const char *state_metric_name(int metric)
{
    return metric >= 0 && metric < STATE_METRICS ? metric_names[metric] : "?";
}

/* --- layout helpers ------------------------------------------------------- */

static window *wins(const state_creator *c)
{
    return (window *)(uintptr_t)(c + 1);
}

static int64_t *sums(const state *st, const state_creator *c)
{
    return (int64_t *)(uintptr_t)(wins(c) + st->nwin);
}

static char *idp(const state *st, const state_creator *c)
{
    return (char *)(uintptr_t)(sums(st, c) + st->nsums);
}

/* Window w's sums.  A full window keeps STATE_METRICS of them; one of
 * decay's own (WK_ENG) keeps its engagements alone, in one slot; one of
 * saturation's (WK_POSTS) its posts and sponsored posts, in two. */
static int64_t *wsums(const state *st, const state_creator *c, size_t w)
{
    return sums(st, c) + st->soff[w];
}

/*
 * The window functions index sums by metric: a one-slot window lends them
 * a full-size copy (its cells are all STATE_ENGAGEMENTS), and takes the
 * slot back with sums_close().
 */
typedef struct sums_view {
    int64_t *slot;
    uint8_t kind;
    int64_t all[STATE_METRICS];
} sums_view;

static int64_t *sums_open(const state *st, const state_creator *c, size_t w,
                          sums_view *v)
{
    int64_t *s = wsums(st, c, w);
    v->slot = NULL;
    v->kind = st->wkind[w];
    if (v->kind == WK_FULL)
        return s;
    memset(v->all, 0, sizeof v->all);
    if (v->kind == WK_ENG) {
        v->all[STATE_ENGAGEMENTS] = s[0];
    } else {
        v->all[STATE_POSTS] = s[0];
        v->all[STATE_SPONSORED_POSTS] = s[1];
    }
    v->slot = s;
    return v->all;
}

static void sums_close(sums_view *v)
{
    if (v->slot == NULL)
        return;
    if (v->kind == WK_ENG) {
        v->slot[0] = v->all[STATE_ENGAGEMENTS];
    } else {
        v->slot[0] = v->all[STATE_POSTS];
        v->slot[1] = v->all[STATE_SPONSORED_POSTS];
    }
}

/* Slots of sums a window of kind `kind` keeps. */
static size_t kind_slots(uint8_t kind)
{
    return kind == WK_ENG ? 1 : kind == WK_POSTS ? 2 : STATE_METRICS;
}

/* Whether a window of kind `kind` counts `metric`. */
static bool kind_counts(uint8_t kind, unsigned metric)
{
    if (kind == WK_ENG)
        return metric == STATE_ENGAGEMENTS;
    if (kind == WK_POSTS)
        return metric == STATE_POSTS || metric == STATE_SPONSORED_POSTS;
    return metric != STATE_ENGAGEMENTS;
}


/* --- state ---------------------------------------------------------------- */

/* The window holding `ms` of kind `kind`, added when missing. */
static size_t window_for(state *st, int64_t ms, uint8_t kind)
{
    for (size_t w = 0; w < st->nwin; w++)
        if (st->spec[w].width_ms == ms / NBUCKETS &&
            (st->wkind[w] == WK_FULL || st->wkind[w] == kind))
            return w;
    st->spec[st->nwin].width_ms = ms / NBUCKETS;
    st->spec[st->nwin].nbuckets = NBUCKETS;
    st->wkind[st->nwin] = kind;
    return st->nwin++;
}

static void apply_config(state *st, const config *cfg)
{
    st->cfg = cfg;
    st->nwin = st->nexp = cfg->nwindows;
    for (size_t i = 0; i < st->nwin; i++) {
        st->spec[i].width_ms = cfg->windows_ms[i] / NBUCKETS;
        st->spec[i].nbuckets = NBUCKETS;
        st->wkind[i] = WK_FULL;
    }
    /* Decay's windows share an exported window of the same length, else
     * get one of their own that counts engagements only. */
    st->wcur = window_for(st, cfg->decay_current_ms, WK_ENG);
    st->wbase = window_for(st, cfg->decay_baseline_ms, WK_ENG);
    /* The spike's window keeps every metric: its alert names the actions
     * that carried it. */
    st->wspike = window_for(st, cfg->spike_window_ms, WK_FULL);
    st->wspikebase = window_for(st, cfg->spike_baseline_ms, WK_ENG);
    st->wjump = window_for(st, cfg->jump_window_ms, WK_ENG);
    st->wposts = window_for(st, cfg->saturation_window_ms, WK_POSTS);
    st->horizon_ms = cfg->late_grace_ms + config_longest_window(cfg);
}

state *state_new(const config *cfg, char *errstr, size_t errstr_size)
{
    state *st = calloc(1, sizeof *st);
    if (st == NULL)
        goto oom;
    apply_config(st, cfg);
    for (size_t w = 0; w < st->nwin; w++) {
        st->soff[w] = st->nsums;
        st->nsums += kind_slots(st->wkind[w]);
    }
    st->creator_size = sizeof(state_creator) + st->nwin * sizeof(window) +
                       st->nsums * sizeof(int64_t);
    st->table_size = 1024;
    st->table = calloc(st->table_size, sizeof *st->table);
    st->ledger = campaign_ledger_new();
    if (st->table == NULL || st->ledger == NULL)
        goto oom;
    return st;
oom:
    snprintf(errstr, errstr_size, "out of memory creating the state");
    state_free(st);
    return NULL;
}

void state_remap_tiers(state *st, const int *map, size_t n)
{
    for (size_t i = 0; i < st->table_size; i++)
        for (state_creator *c = st->table[i]; c != NULL; c = c->hnext) {
            if (c->tier >= 0 && (size_t)c->tier < n)
                c->tier = (int16_t)map[c->tier];
            if (c->written != NULL && c->written->tier >= 0 &&
                (size_t)c->written->tier < n)
                c->written->tier = map[c->written->tier];
            int16_t *tiers[3] = {NULL, NULL, NULL};
            if (c->sig != NULL) {
                tiers[0] = &c->sig->decay.tier;
                tiers[1] = &c->sig->spike.tier;
                tiers[2] = &c->sig->sat.tier;
            }
            for (int k = 0; k < 3 && tiers[k] != NULL; k++)
                if (*tiers[k] >= 0 && (size_t)*tiers[k] < n)
                    *tiers[k] = (int16_t)map[*tiers[k]];
        }
}

/* --- recency, for eviction --------------------------------------------- */

static void lru_unlink(state *st, state_creator *c)
{
    if (c->lru_prev)
        c->lru_prev->lru_next = c->lru_next;
    else if (st->lru_head == c)
        st->lru_head = c->lru_next;
    if (c->lru_next)
        c->lru_next->lru_prev = c->lru_prev;
    else if (st->lru_tail == c)
        st->lru_tail = c->lru_prev;
    c->lru_prev = c->lru_next = NULL;
}

static void lru_front(state *st, state_creator *c)
{
    if (st->lru_head == c)
        return;
    lru_unlink(st, c);
    c->lru_next = st->lru_head;
    if (st->lru_head)
        st->lru_head->lru_prev = c;
    st->lru_head = c;
    if (st->lru_tail == NULL)
        st->lru_tail = c;
}

static void creator_free(state *st, state_creator *c)
{
    lru_unlink(st, c);
    st->memory -= conflict_memory(c->conflicts);
    conflict_free(c->conflicts);
    st->memory -= campaign_posts_memory(c->cposts);
    campaign_posts_free(c->cposts);
    if (c->sig != NULL)
        st->memory -= sizeof *c->sig;
    free(c->sig);
    for (size_t w = 0; w < st->nwin; w++) {
        st->memory -= window_memory(&wins(c)[w]);
        window_free(&wins(c)[w]);
    }
    free(c->written);
    st->memory -= st->creator_size + c->id_len + 1;
    free(c);
}

void state_free(state *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; st->table != NULL && i < st->table_size; i++) {
        state_creator *c = st->table[i];
        while (c != NULL) {
            state_creator *next = c->hnext;
            creator_free(st, c);
            c = next;
        }
    }
    for (size_t i = 0; i < st->nparts; i++) {
        free(st->parts[i].topic);
        free(st->parts[i].heap);
    }
    free(st->parts);
    free(st->table);
    free(st->dirty);
    campaign_ledger_free(st->ledger);
    free(st);
}

/* --- the wake heap -------------------------------------------------------- */

static void heap_set(part *p, uint32_t i, state_creator *c)
{
    p->heap[i] = c;
    c->heap_pos = i;
}

static void heap_up(part *p, uint32_t i)
{
    state_creator *c = p->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (p->heap[parent]->wake <= c->wake)
            break;
        heap_set(p, i, p->heap[parent]);
        i = parent;
    }
    heap_set(p, i, c);
}

static void heap_down(part *p, uint32_t i)
{
    state_creator *c = p->heap[i];
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t mw = c->wake;
        if (l < p->heap_n && p->heap[l]->wake < mw) {
            m = l;
            mw = p->heap[l]->wake;
        }
        if (r < p->heap_n && p->heap[r]->wake < mw)
            m = r;
        if (m == i)
            break;
        heap_set(p, i, p->heap[m]);
        i = m;
    }
    heap_set(p, i, c);
}

static void heap_remove(part *p, state_creator *c)
{
    uint32_t i = c->heap_pos;
    c->heap_pos = NOT_IN_HEAP;
    p->heap_n--;
    if (i == p->heap_n)
        return;
    heap_set(p, i, p->heap[p->heap_n]);
    heap_up(p, i);
    heap_down(p, p->heap[i]->heap_pos);
}

/* The first decay evaluation time (a bucket boundary of the current
 * window) at or after t. */
static int64_t grid_ceil(const state *st, int64_t t)
{
    return t == INT64_MIN ? t : decay_next_evaluation(st->cfg, t - 1);
}

/* Recomputes the creator's wake and its place in its partition's heap. */
static int update_wake(state *st, state_creator *c)
{
    part *p = &st->parts[c->slot];
    int64_t wake = c->decay_eval_at;
    for (size_t w = 0; w < st->nwin; w++) {
        int64_t e = window_next_expiry(&wins(c)[w], &st->spec[w]);
        if (e < wake)
            wake = e;
    }
    int64_t deadline = decay_deadline(state_creator_decay(c), st->cfg);
    if (deadline != INT64_MAX && grid_ceil(st, deadline) < wake)
        wake = grid_ceil(st, deadline);
    int64_t was = c->wake;
    c->wake = wake;
    if (wake == STATE_NO_WAKE) {
        if (c->heap_pos != NOT_IN_HEAP)
            heap_remove(p, c);
        return 0;
    }
    if (c->heap_pos == NOT_IN_HEAP) {
        if (p->heap_n == p->heap_cap) {
            uint32_t cap = p->heap_cap ? p->heap_cap * 2 : 64;
            state_creator **h = realloc(p->heap, cap * sizeof *h);
            if (h == NULL)
                return -1;
            p->heap = h;
            p->heap_cap = cap;
        }
        heap_set(p, p->heap_n++, c);
        heap_up(p, c->heap_pos);
    } else if (wake < was) {
        heap_up(p, c->heap_pos);
    } else if (wake > was) {
        heap_down(p, c->heap_pos);
    } /* the same wake (most events): the heap is already right */
    return 0;
}

/* --- dirty tracking ------------------------------------------------------- */

static void current_values(const state *st, const state_creator *c, size_t w,
                           int64_t *v)
{
    const int64_t *s = wsums(st, c, w);
    memcpy(v, s, STATE_METRICS * sizeof *v);
    v[STATE_ENGAGEMENTS] = s[STATE_LIKES] + s[STATE_COMMENTS] +
                           s[STATE_SHARES] + s[STATE_SAVES];
}

/* Called before any change to a creator: remembers what Redis holds. */
static int touch(state *st, state_creator *c)
{
    if (c->written != NULL)
        return 0;
    if (st->ndirty == st->dirty_cap) {
        size_t cap = st->dirty_cap ? st->dirty_cap * 2 : 1024;
        state_creator **d = realloc(st->dirty, cap * sizeof *d);
        if (d == NULL)
            return -1;
        st->dirty = d;
        st->dirty_cap = cap;
    }
    written *wr = malloc(sizeof *wr +
                         st->nexp * STATE_METRICS * sizeof(int64_t));
    if (wr == NULL)
        return -1;
    wr->tier = c->tier;
    wr->existed = c->persisted != 0;
    wr->had_ratio = !isnan(state_creator_decay(c)->ratio);
    /* A restored creator's index entry is rewritten once whatever its wake:
     * an older engaged left creators without a wake out of the index. */
    wr->wake = c->persisted == 2 ? INT64_MIN : c->wake;
    wr->followers = c->followers;
    for (size_t w = 0; w < st->nexp; w++)
        current_values(st, c, w, wr->values + w * STATE_METRICS);
    c->written = wr;
    st->dirty[st->ndirty++] = c;
    return 0;
}

size_t state_dirty_count(const state *st)
{
    return st->ndirty;
}

state_creator *state_dirty_get(const state *st, size_t i)
{
    return i < st->ndirty ? st->dirty[i] : NULL;
}

static bool slot_written(const bool *done, size_t nslots, int slot)
{
    return done == NULL ||
           (slot >= 0 && (size_t)slot < nslots && done[slot]);
}

void state_checkpoint_done_slots(state *st, const bool *done,
                                 size_t nslots)
{
    size_t k = 0;
    for (size_t i = 0; i < st->ndirty; i++) {
        state_creator *c = st->dirty[i];
        if (!slot_written(done, nslots, c->slot)) {
            st->dirty[k++] = c;
            continue;
        }
        free(c->written);
        c->written = NULL;
        c->persisted = 1;
    }
    st->ndirty = k;
    campaign_ledger_done(st->ledger, done, nslots);
    if (st->ndirty == 0 && st->dirty_cap > 65536) {
        free(st->dirty);
        st->dirty = NULL;
        st->dirty_cap = 0;
    }
}

void state_checkpoint_done(state *st)
{
    state_checkpoint_done_slots(st, NULL, 0);
}

bool state_creator_written(const state *st, const state_creator *c,
                           int *tier, int64_t *followers,
                           const int64_t **values)
{
    (void)st;
    if (c->written == NULL || !c->written->existed)
        return false;
    *tier = c->written->tier;
    *followers = c->written->followers;
    *values = c->written->values;
    return true;
}

/* --- partitions ----------------------------------------------------------- */

int state_partition_find(const state *st, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < st->nparts; i++)
        if (st->parts[i].used && st->parts[i].partition == partition &&
            strcmp(st->parts[i].topic, topic) == 0)
            return (int)i;
    return -1;
}

int state_partition_add(state *st, const char *topic, int32_t partition,
                        int64_t watermark)
{
    size_t slot = 0;
    while (slot < st->nparts && st->parts[slot].used)
        slot++;
    if (slot == st->nparts) {
        part *p = realloc(st->parts, (st->nparts + 1) * sizeof *p);
        if (p == NULL)
            return -1;
        st->parts = p;
        st->nparts++;
    }
    part *p = &st->parts[slot];
    memset(p, 0, sizeof *p);
    p->topic = strdup(topic);
    if (p->topic == NULL)
        return -1;
    p->partition = partition;
    p->watermark = watermark;
    p->used = true;
    return (int)slot;
}

static void unlink_creator(state *st, state_creator *c)
{
    state_creator **pp = &st->table[c->hash & (st->table_size - 1)];
    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    st->ncreators--;
}

void state_partition_drop(state *st, int slot)
{
    part *p = &st->parts[slot];
    /* Dirty creators of this slot leave the dirty list first. */
    size_t k = 0;
    for (size_t i = 0; i < st->ndirty; i++)
        if (st->dirty[i]->slot != slot)
            st->dirty[k++] = st->dirty[i];
    st->ndirty = k;
    campaign_ledger_drop(st->ledger, slot);
    if (st->hooks.dropped != NULL)
        st->hooks.dropped(st->hooks.arg, slot);
    for (size_t i = 0; i < st->table_size; i++) {
        state_creator **pp = &st->table[i];
        while (*pp != NULL) {
            state_creator *c = *pp;
            if (c->slot == slot) {
                *pp = c->hnext;
                st->ncreators--;
                creator_free(st, c);
            } else {
                pp = &c->hnext;
            }
        }
    }
    free(p->topic);
    free(p->heap);
    memset(p, 0, sizeof *p);
}

int64_t state_partition_watermark(const state *st, int slot)
{
    return st->parts[slot].watermark;
}

/* --- names ------------------------------------------------------------------ */

static const char *tier_name(const state *st, int tier)
{
    return tier >= 0 && (size_t)tier < st->cfg->ntiers ? st->cfg->tiers[tier].name
                                                       : "unknown";
}

/* --- what detection reads and asks for (detect.h) ----------------------- */

void state_creator_posts(const state *st, const state_creator *c,
                         int64_t *posts, int64_t *sponsored)
{
    const int64_t *s = wsums(st, c, st->wposts);
    bool full = st->wkind[st->wposts] == WK_FULL;
    *posts = full ? s[STATE_POSTS] : s[0];
    *sponsored = full ? s[STATE_SPONSORED_POSTS] : s[1];
}

static int64_t engagements(const state *st, const state_creator *c, size_t w)
{
    const int64_t *s = wsums(st, c, w);
    return st->wkind[w] == WK_ENG ? s[0]
                                  : s[STATE_LIKES] + s[STATE_COMMENTS] +
                                        s[STATE_SHARES] + s[STATE_SAVES];
}

void state_set_hooks(state *st, const state_hooks *h)
{
    memset(&st->hooks, 0, sizeof st->hooks);
    if (h != NULL)
        st->hooks = *h;
}

const decay_state *state_creator_decay(const state_creator *c)
{
    return c->sig != NULL ? &c->sig->decay : &at_rest.decay;
}

/* c's block, made at rest when missing; NULL when out of memory. */
static signals *signals_of(state *st, state_creator *c)
{
    if (c->sig == NULL) {
        c->sig = malloc(sizeof *c->sig);
        if (c->sig == NULL)
            return NULL;
        *c->sig = at_rest;
        st->memory += sizeof *c->sig;
    }
    return c->sig;
}

static void signals_settle(state *st, state_creator *c)
{
    if (c->sig != NULL && at_rest_all(c->sig)) {
        free(c->sig);
        c->sig = NULL;
        st->memory -= sizeof *c->sig;
    }
}

int state_creator_set_decay(state *st, state_creator *c, const decay_state *v)
{
    if (c->sig == NULL && decay_at_rest(v))
        return 0;
    signals *s = signals_of(st, c);
    if (s == NULL)
        return -1;
    s->decay = *v;
    signals_settle(st, c);
    return 0;
}

int state_creator_set_spike(state *st, state_creator *c, const spike_state *v)
{
    if (c->sig == NULL && !v->firing)
        return 0;
    signals *s = signals_of(st, c);
    if (s == NULL)
        return -1;
    s->spike = *v;
    signals_settle(st, c);
    return 0;
}

int state_creator_set_saturation(state *st, state_creator *c,
                                 const saturation_state *v)
{
    if (c->sig == NULL && v->status == SATURATION_OK)
        return 0;
    signals *s = signals_of(st, c);
    if (s == NULL)
        return -1;
    s->sat = *v;
    signals_settle(st, c);
    return 0;
}

void state_creator_evaluate_at(state_creator *c, int64_t at)
{
    if (at < c->decay_eval_at)
        c->decay_eval_at = at;
}

int64_t state_creator_evaluation(const state_creator *c)
{
    return c->decay_eval_at;
}

void state_creator_evaluated(state_creator *c)
{
    c->decay_eval_at = INT64_MAX;
}

void state_creator_decay_sums(const state *st, const state_creator *c,
                              int64_t *current, int64_t *baseline)
{
    *current = engagements(st, c, st->wcur);
    *baseline = engagements(st, c, st->wbase);
}

void state_creator_spike_sums(const state *st, const state_creator *c,
                              int64_t *current, int64_t *baseline,
                              int64_t actions[4])
{
    const int64_t *s = wsums(st, c, st->wspike);
    *current = engagements(st, c, st->wspike);
    *baseline = engagements(st, c, st->wspikebase);
    for (int i = 0; i < 4; i++)
        actions[i] = s[STATE_LIKES + i];
}

int64_t state_creator_jump_engagements(const state *st,
                                       const state_creator *c)
{
    return engagements(st, c, st->wjump);
}

const spike_state *state_creator_spike(const state_creator *c)
{
    return c->sig != NULL ? &c->sig->spike : &at_rest.spike;
}

jump_state *state_creator_jump(state_creator *c)
{
    return &c->jump;
}

const saturation_state *state_creator_saturation(const state_creator *c)
{
    return c->sig != NULL ? &c->sig->sat : &at_rest.sat;
}

const conflict_history *state_creator_conflict_history(const state_creator *c)
{
    return c->conflicts;
}

int64_t state_creator_followers_ts(const state_creator *c)
{
    return c->followers_ts;
}

int64_t state_creator_first_event(const state_creator *c)
{
    return c->first_ts;
}

conflict_history **state_creator_conflicts(state_creator *c)
{
    return &c->conflicts;
}

void state_account(state *st, size_t before, size_t after)
{
    st->memory += after;
    st->memory -= before;
}

/* Expires the creator's buckets at watermark W, then evaluates decay when
 * due.  Returns -1 out of memory. */
static int bring_up_to_date(state *st, state_creator *c, int64_t W)
{
    if (touch(st, c) < 0)
        return -1;
    bool decay_expired = false;
    for (size_t w = 0; w < st->nwin; w++) {
        sums_view v;
        int expired = window_expire(&wins(c)[w], &st->spec[w], W,
                                    sums_open(st, c, w, &v));
        sums_close(&v);
        decay_expired |= expired && (w == st->wcur || w == st->wbase);
    }
    if (st->hooks.woke != NULL &&
        st->hooks.woke(st->hooks.arg, st, c, W, decay_expired) < 0)
        return -1;
    return update_wake(st, c);
}

/*
 * Moves the watermark of `slot` to W when W is larger, and brings every
 * creator whose wake is <= W up to date, in order of wake time.
 * Returns 0, or -1 when out of memory: a creator may then be half brought
 * up to date, and the partition's state must be dropped and read back.
 */
static int partition_advance(state *st, int slot, int64_t W)
{
    part *p = &st->parts[slot];
    if (p->watermark == STATE_NO_WATERMARK || W > p->watermark)
        p->watermark = W;
    /* Each creator is expired at its own wake time, earliest first, so that
     * what happens at a bucket boundary never depends on how far one event
     * moved the watermark (the decay detector relies on this). */
    while (p->heap_n > 0 && p->heap[0]->wake <= p->watermark) {
        state_creator *c = p->heap[0];
        /* Out of memory midway leaves this creator half brought up to
         * date (its decay state may have moved without its alert): the
         * caller must drop the partition's state, not go on. */
        if (bring_up_to_date(st, c, c->wake) < 0)
            return -1;
    }
    return 0;
}

/* --- creators ------------------------------------------------------------- */

state_creator *state_creator_find(const state *st, const char *id, size_t len)
{
    uint64_t h = hash_id(id, len);
    for (state_creator *c = st->table[h & (st->table_size - 1)]; c != NULL;
         c = c->hnext)
        if (c->hash == h && c->id_len == len &&
            memcmp(idp(st, c), id, len) == 0)
            return c;
    return NULL;
}

static void grow_table(state *st)
{
    size_t size = st->table_size * 2;
    state_creator **t = calloc(size, sizeof *t);
    if (t == NULL)
        return; /* keep the old table: longer chains, still correct */
    for (size_t i = 0; i < st->table_size; i++) {
        state_creator *c = st->table[i];
        while (c != NULL) {
            state_creator *next = c->hnext;
            c->hnext = t[c->hash & (size - 1)];
            t[c->hash & (size - 1)] = c;
            c = next;
        }
    }
    free(st->table);
    st->table = t;
    st->table_size = size;
}

state_creator *state_creator_new(state *st, int slot, const char *id,
                                 size_t len)
{
    size_t size = st->creator_size + len + 1;
    state_creator *c = calloc(1, size);
    if (c == NULL)
        return NULL;
    c->hash = hash_id(id, len);
    c->wake = STATE_NO_WAKE;
    c->followers = -1;
    c->followers_ts = INT64_MIN;
    c->first_ts = INT64_MAX;
    c->last_ts = INT64_MIN;
    c->heap_pos = NOT_IN_HEAP;
    c->slot = slot;
    c->tier = TIER_UNKNOWN;
    c->decay_eval_at = INT64_MAX;
    c->id_len = (uint32_t)len;
    memcpy(idp(st, c), id, len);
    if (st->ncreators >= st->table_size)
        grow_table(st);
    c->hnext = st->table[c->hash & (st->table_size - 1)];
    st->table[c->hash & (st->table_size - 1)] = c;
    st->ncreators++;
    st->parts[slot].ncreators++;
    st->memory += size;
    lru_front(st, c);
    return c;
}

static void remove_creator(state *st, state_creator *c)
{
    if (c->heap_pos != NOT_IN_HEAP)
        heap_remove(&st->parts[c->slot], c);
    unlink_creator(st, c);
    st->parts[c->slot].ncreators--;
    creator_free(st, c);
}

size_t state_evict(state *st, size_t max)
{
    size_t n = 0;
    state_creator *c = st->lru_tail;
    while (c != NULL && st->ncreators > max) {
        state_creator *prev = c->lru_prev;
        /* Only what Redis holds already may go. */
        if (c->written == NULL) {
            remove_creator(st, c);
            n++;
        }
        c = prev;
    }
    return n;
}

const char *state_creator_id(const state *st, const state_creator *c,
                             size_t *len)
{
    if (len != NULL)
        *len = c->id_len;
    return idp(st, c);
}

int state_creator_slot(const state_creator *c) { return c->slot; }
int state_creator_tier(const state_creator *c) { return c->tier; }
int64_t state_creator_followers(const state_creator *c) { return c->followers; }
int64_t state_creator_last_event(const state_creator *c) { return c->last_ts; }
int64_t state_creator_wake(const state_creator *c) { return c->wake; }

bool state_creator_written_wake(const state_creator *c, int64_t *wake)
{
    if (c->written == NULL || !c->written->existed)
        return false;
    *wake = c->written->wake;
    return true;
}

bool state_creator_written_ratio(const state_creator *c)
{
    return c->written != NULL && c->written->existed && c->written->had_ratio;
}

const char *state_creator_decay_state(const state_creator *c)
{
    return decay_state_name(state_creator_decay(c));
}

double state_creator_decay_ratio(const state_creator *c)
{
    return state_creator_decay(c)->ratio;
}

void state_creator_values(const state *st, const state_creator *c, size_t w,
                          int64_t *values)
{
    current_values(st, c, w, values);
}

size_t state_creator_count(const state *st)
{
    return st->ncreators;
}

size_t state_memory(const state *st)
{
    return st->memory + st->table_size * sizeof(state_creator *) +
           campaign_ledger_memory(st->ledger);
}

const campaign_ledger *state_campaigns(const state *st)
{
    return st->ledger;
}

/* --- events ------------------------------------------------------------------ */

/*
 * What ev brings its campaign (campaign.h), into the ledger, and, for a
 * post of a campaign, the post remembered; a sponsored post with a brand
 * goes to the creator's brand history.  Returns -1 out of memory.
 */
static int count_campaigns(state *st, state_creator *c, const event *ev,
                           int64_t W)
{
    const config *cfg = st->cfg;
    char camp[EVENT_ID_MAX + 1];
    if (!cfg->campaigns_enabled)
        return 0;
    if (campaign_of(c->cposts, ev, W, cfg->campaign_post_memory_ms, camp)) {
        if (campaign_ledger_add(st->ledger, c->slot, camp, idp(st, c),
                                c->id_len, c->tier, c->followers, ev) < 0)
            return -1;
        if (ev->type == EVENT_POST && ev->post_id[0] != 0 &&
            cfg->campaign_max_posts > 0) {
            size_t before = campaign_posts_memory(c->cposts);
            if (campaign_remember(&c->cposts, ev, camp, W,
                                  cfg->campaign_post_memory_ms,
                                  (size_t)cfg->campaign_max_posts) < 0)
                return -1;
            st->memory += campaign_posts_memory(c->cposts);
            st->memory -= before;
        }
    }
    if (ev->type == EVENT_POST && ev->sponsored && ev->brand[0] != 0) {
        char brand[EVENT_ID_MAX + 1], sector[EVENT_ID_MAX + 1];
        config_name_normalize(ev->brand, brand, sizeof brand);
        const char *sec = ev->sector[0] ? ev->sector
                                        : config_brand_sector(cfg, brand);
        config_name_normalize(sec ? sec : "", sector, sizeof sector);
        if (brand[0] != 0 &&
            campaign_ledger_brand(st->ledger, c->slot, idp(st, c), c->id_len,
                                  brand, sector, ev->ts_ms) < 0)
            return -1;
    }
    return 0;
}

event_error state_apply(state *st, int slot, state_creator *c,
                        const event *ev, char *detail, size_t detail_size)
{
    part *p = &st->parts[slot];
    if (p->watermark != STATE_NO_WATERMARK &&
        ev->ts_ms < p->watermark - st->horizon_ms) {
        char ts[40], wm[40], grace[24], longest[24];
        snprintf(detail, detail_size,
                 "ts %s is older than the watermark %s minus late_grace %s "
                 "and the longest window %s: it can no longer count",
                 timefmt_format_rfc3339(ev->ts_ms, ts, sizeof ts),
                 timefmt_format_rfc3339(p->watermark, wm, sizeof wm),
                 timefmt_format_duration(st->cfg->late_grace_ms, grace,
                                         sizeof grace),
                 timefmt_format_window(st->horizon_ms - st->cfg->late_grace_ms,
                                       longest, sizeof longest));
        return EVENT_ERR_TOO_LATE;
    }
    if ((p->watermark == STATE_NO_WATERMARK || ev->ts_ms > p->watermark) &&
        partition_advance(st, slot, ev->ts_ms) < 0)
        goto oom;
    if (touch(st, c) < 0)
        goto oom;
    lru_front(st, c);
    int64_t W = p->watermark;
    if (ev->ts_ms < c->first_ts)
        c->first_ts = ev->ts_ms;
    if (ev->ts_ms > c->last_ts)
        c->last_ts = ev->ts_ms;
    /* The latest follower count by event time wins, so that replays and
     * out-of-order arrivals agree. */
    int old_tier = c->tier;
    if (ev->followers >= 0 && ev->ts_ms >= c->followers_ts) {
        c->followers = ev->followers;
        c->followers_ts = ev->ts_ms;
        c->tier = (int16_t)tier_classify(st->cfg->tiers, st->cfg->ntiers,
                                         st->cfg->hysteresis, c->tier,
                                         c->followers);
    }

    unsigned metric[2];
    int64_t count = 1;
    size_t nm = 0;
    bool engagement = false;
    switch (ev->type) {
    case EVENT_ENGAGEMENT:
        /* event_action and the first seven metrics share their order. */
        metric[nm++] = (unsigned)ev->action;
        count = ev->count;
        engagement = ev->action <= EVENT_SAVE;
        break;
    case EVENT_POST:
        metric[nm++] = STATE_POSTS;
        if (ev->sponsored)
            metric[nm++] = STATE_SPONSORED_POSTS;
        break;
    case EVENT_FOLLOWERS:
        break;
    }
    for (size_t w = 0; w < st->nwin; w++) {
        if (st->wkind[w] == WK_ENG && !engagement)
            continue; /* it counts engagements only */
        if (st->wkind[w] == WK_POSTS && ev->type != EVENT_POST)
            continue; /* posts only */
        window *win = &wins(c)[w];
        sums_view v;
        int64_t *s = sums_open(st, c, w, &v);
        size_t before = window_memory(win);
        window_add_result rc = WINDOW_OUTSIDE;
        if (st->wkind[w] == WK_ENG) {
            rc = window_add(win, &st->spec[w], W, ev->ts_ms,
                            STATE_ENGAGEMENTS, count, s);
        } else {
            for (size_t i = 0; i < nm && rc != WINDOW_NOMEM; i++)
                rc = window_add(win, &st->spec[w], W, ev->ts_ms, metric[i],
                                count, s);
        }
        sums_close(&v);
        st->memory += window_memory(win) - before;
        if (rc == WINDOW_NOMEM)
            goto oom;
    }
    if (count_campaigns(st, c, ev, W) < 0)
        goto oom;
    if (st->hooks.applied != NULL &&
        st->hooks.applied(st->hooks.arg, st, c, ev, W, old_tier) < 0)
        goto oom;
    if (update_wake(st, c) < 0)
        goto oom;
    return EVENT_OK;
oom:
    snprintf(detail, detail_size, "out of memory applying an event");
    return EVENT_ERR_NOMEM;
}

/* --- the persistent blob --------------------------------------------------- */
/*
 * Version 4, integers as varints (zigzag for signed):
 *   'E' 4 followers followers_ts first_ts last_ts decay_eval_at
 *   tier_len tier_name nwindows
 *   per window: width_ms kind (0 every metric, 1 engagements only, 2 posts
 *   and sponsored posts) ncells,
 *   per cell: bucket (first absolute, then the delta from the previous),
 *   metric (one byte), count
 *   then decay_encode(), conflict_encode(), campaign_posts_encode()
 *   (from version 3), spike_encode(), jump_encode() and
 *   saturation_encode() (from version 4).
 * Windows are matched by width and kind on restore: one no longer
 * configured is dropped, a new one starts empty.
 */

void state_creator_encode(const state *st, const state_creator *c, buf *out)
{
    buf_append_byte(out, BLOB_MAGIC);
    buf_append_byte(out, BLOB_VERSION);
    buf_append_varint(out, c->followers);
    buf_append_varint(out, c->followers_ts);
    buf_append_varint(out, c->first_ts);
    buf_append_varint(out, c->last_ts);
    buf_append_varint(out, c->decay_eval_at);
    const char *tier = c->tier == TIER_UNKNOWN ? "" : tier_name(st, c->tier);
    buf_append_uvarint(out, strlen(tier));
    buf_append_str(out, tier);
    buf_append_uvarint(out, st->nwin);
    for (size_t w = 0; w < st->nwin; w++) {
        const window *win = &wins(c)[w];
        buf_append_uvarint(out, (uint64_t)st->spec[w].width_ms);
        buf_append_byte(out, st->wkind[w]);
        buf_append_uvarint(out, win->n);
        int64_t prev = 0;
        for (uint32_t i = 0; i < win->n; i++) {
            int64_t b = window_cell_bucket(&win->cells[i]);
            buf_append_varint(out, b - prev);
            prev = b;
            buf_append_byte(out, (uint8_t)window_cell_metric(&win->cells[i]));
            buf_append_varint(out, win->cells[i].count);
        }
    }
    decay_encode(state_creator_decay(c), out);
    conflict_encode(c->conflicts, out);
    campaign_posts_encode(c->cposts, out);
    spike_encode(state_creator_spike(c), out);
    jump_encode(&c->jump, out);
    saturation_encode(state_creator_saturation(c), out);
}

static buf_decode_result decode(state *st, state_creator *c, const char *d,
                                size_t len, char *errstr, size_t errstr_size)
{
    size_t pos = 2;
    buf_decode_result rc = BUF_CORRUPT;
    uint64_t tlen, nwin;
    if (len < 2 || d[0] != BLOB_MAGIC || d[1] < 2 || d[1] > BLOB_VERSION) {
        snprintf(errstr, errstr_size, "unknown state format (version %d)",
                 len >= 2 ? d[1] : -1);
        return BUF_CORRUPT;
    }
    if (buf_read_varint(d, len, &pos, &c->followers) < 0 ||
        buf_read_varint(d, len, &pos, &c->followers_ts) < 0 ||
        buf_read_varint(d, len, &pos, &c->first_ts) < 0 ||
        buf_read_varint(d, len, &pos, &c->last_ts) < 0 ||
        buf_read_varint(d, len, &pos, &c->decay_eval_at) < 0 ||
        buf_read_uvarint(d, len, &pos, &tlen) < 0 || tlen > len - pos)
        goto corrupt;
    char tier[CONFIG_TIER_NAME_MAX + 1] = "";
    if (tlen > CONFIG_TIER_NAME_MAX)
        goto corrupt;
    memcpy(tier, d + pos, tlen);
    tier[tlen] = 0;
    pos += tlen;
    c->tier = TIER_UNKNOWN;
    if (tlen > 0) {
        int t = config_tier_index(st->cfg, tier);
        c->tier = (int16_t)t;
        /* A tier no longer configured: classify afresh, silently. */
        if (t < 0 && c->followers >= 0)
            c->tier = (int16_t)tier_classify(st->cfg->tiers, st->cfg->ntiers,
                                             st->cfg->hysteresis, TIER_UNKNOWN,
                                             c->followers);
    }
    if (buf_read_uvarint(d, len, &pos, &nwin) < 0)
        goto corrupt;
    for (uint64_t k = 0; k < nwin; k++) {
        uint64_t width, ncells;
        if (buf_read_uvarint(d, len, &pos, &width) < 0 || pos >= len)
            goto corrupt;
        uint8_t kind = (uint8_t)d[pos++];
        if (buf_read_uvarint(d, len, &pos, &ncells) < 0)
            goto corrupt;
        window *win = NULL;
        for (size_t w = 0; w < st->nwin; w++)
            if ((uint64_t)st->spec[w].width_ms == width && st->wkind[w] == kind)
                win = &wins(c)[w];
        int64_t b = 0;
        for (uint64_t i = 0; i < ncells; i++) {
            int64_t delta, count;
            if (buf_read_varint(d, len, &pos, &delta) < 0 || pos >= len)
                goto corrupt;
            unsigned metric = (uint8_t)d[pos++];
            if (buf_read_varint(d, len, &pos, &count) < 0 ||
                metric >= STATE_METRICS ||
                kind > WK_POSTS || !kind_counts(kind, metric))
                goto corrupt;
            b += delta;
            if (win != NULL &&
                (rc = window_restore_cell(win, b, metric, count)) != BUF_DECODED)
                goto fail;
        }
    }
    signals sig = at_rest;
    if (decay_decode(&sig.decay, d, len, &pos) < 0)
        goto corrupt;
    if ((rc = conflict_decode(&c->conflicts, d, len, &pos)) != BUF_DECODED)
        goto fail;
    if (d[1] >= 3 &&
        (rc = campaign_posts_decode(&c->cposts, d, len, &pos)) != BUF_DECODED)
        goto fail;
    if (d[1] >= 4 && (spike_decode(&sig.spike, d, len, &pos) < 0 ||
                      jump_decode(&c->jump, d, len, &pos) < 0 ||
                      saturation_decode(&sig.sat, d, len, &pos) < 0))
        goto corrupt;
    if (pos == len && !at_rest_all(&sig)) {
        if (signals_of(st, c) == NULL) {
            rc = BUF_NOMEM;
            goto fail;
        }
        *c->sig = sig;
    }
    if (pos != len)
        goto corrupt;
    return BUF_DECODED;
corrupt:
    rc = BUF_CORRUPT;
fail:
    if (rc == BUF_NOMEM)
        snprintf(errstr, errstr_size, "out of memory restoring a creator");
    else
        snprintf(errstr, errstr_size, "corrupt state blob at byte %zu of %zu",
                 pos, len);
    return rc;
}

buf_decode_result state_creator_restore(state *st, int slot, const char *id,
                                        size_t len, const void *blob,
                                        size_t blob_len, state_creator **out,
                                        char *errstr, size_t errstr_size)
{
    *out = NULL;
    state_creator *c = state_creator_new(st, slot, id, len);
    if (c == NULL) {
        snprintf(errstr, errstr_size, "out of memory restoring a creator");
        return BUF_NOMEM;
    }
    buf_decode_result rc = decode(st, c, blob, blob_len, errstr, errstr_size);
    if (rc != BUF_DECODED) {
        remove_creator(st, c);
        return rc;
    }
    for (size_t w = 0; w < st->nwin; w++) {
        sums_view v;
        window_sums(&wins(c)[w], sums_open(st, c, w, &v), STATE_METRICS);
        sums_close(&v);
        st->memory += window_memory(&wins(c)[w]);
    }
    c->persisted = 2;
    st->memory += conflict_memory(c->conflicts);
    st->memory += campaign_posts_memory(c->cposts);
    if (update_wake(st, c) < 0) {
        remove_creator(st, c);
        snprintf(errstr, errstr_size, "out of memory restoring a creator");
        return BUF_NOMEM;
    }
    /* Buckets that expired while it was not in memory leave now. */
    if (partition_advance(st, slot, st->parts[slot].watermark) < 0) {
        snprintf(errstr, errstr_size, "out of memory restoring a creator");
        return BUF_NOMEM;
    }
    *out = c;
    return BUF_DECODED;
}

/*
 * conflict: the brand_conflict detector.  See conflict.h for the contract,
 * the episode rule and the bounds; issue 3 ("Alert kinds", 2) for the
 * requirement.
 *
 * A history is one allocation whose records are exactly the bytes of the
 * blob (conflict_encode), so that memory is the encoded size and a restore
 * is a copy:
 *   post     varint ts, then brand, sector, post_id, campaign_id, each
 *            NUL-terminated (brand and sector normalised; campaign_id may
 *            be empty), sorted by ts, ties in arrival order
 *   episode  sector, brand_lo, brand_hi (NUL-terminated, lo < hi), varints
 *            first and last (the span of its posts' ts)
 * Each operation parses the records into views (at most 64 posts and 16
 * episodes), works on the views, then writes a new block.  Sponsored posts
 * are rare next to engagement events, so the copy costs nothing that shows.
 */
#include "conflict.h"
#include "sat.h"

#include "event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFLICT_BLOB_VERSION 1

struct conflict_history {
    uint32_t len;           /* bytes of data */
    uint16_t nposts, nepisodes;
    char data[];
};

struct post_view {
    int64_t ts;
    const char *brand, *sector, *post_id, *campaign;
};

struct episode_view {
    const char *sector, *lo, *hi;
    int64_t first, last;
};

/* Room for the kept records plus what one post may add. */
#define MAX_POST_VIEWS    (CONFLICT_MAX_POSTS + 1)
#define MAX_EPISODE_VIEWS (CONFLICT_MAX_EPISODES + CONFLICT_MAX_FOUND)

struct views {
    struct post_view posts[MAX_POST_VIEWS];
    size_t nposts;
    struct episode_view eps[MAX_EPISODE_VIEWS];
    size_t neps;
};

const char *conflict_outcome_name(conflict_outcome outcome)
{
    switch (outcome) {
    case CONFLICT_CHECKED:
        return "checked";
    case CONFLICT_NO_SECTOR:
        return "no_sector";
    case CONFLICT_EXEMPT:
        return "exempt";
    case CONFLICT_DUPLICATE:
        return "duplicate";
    case CONFLICT_ERROR:
        break;
    }
    return "error";
}

/* ------------------------------------------------------------------------
 * Arithmetic on event times, saturated: corrupt blobs must not make it
 * undefined behaviour.
 */

static uint64_t abs_diff(int64_t a, int64_t b)
{
    return a > b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/*
 * Posts older than this are dropped: an event older than W - late_grace -
 * the longest window is refused as too late, so no post that can still
 * arrive is within the largest exclusivity window of them
 * (config_longest_window() is the state's too-late horizon).
 */
static int64_t cutoff(const config *cfg, int64_t W)
{
    int64_t c = sat_sub(W, cfg->late_grace_ms);
    c = sat_sub(c, config_longest_window(cfg));
    return sat_sub(c, cfg->conflict_max_window_ms);
}

/* ------------------------------------------------------------------------
 * Records
 */

/* A NUL-terminated string of at most EVENT_ID_MAX bytes at data[*pos]. */
static const char *read_str(const char *data, size_t len, size_t *pos,
                            bool nonempty)
{
    if (*pos >= len)
        return NULL;
    const char *s = data + *pos;
    const char *nul = memchr(s, '\0', len - *pos);
    if (!nul || (size_t)(nul - s) > EVENT_ID_MAX || (nonempty && nul == s))
        return NULL;
    *pos += (size_t)(nul - s) + 1;
    return s;
}

/*
 * Parses nposts posts then neps episodes filling all of data[0..len) into
 * v.  Checks everything decode must refuse.  Returns 0 or -1.
 */
static int parse(const char *data, size_t len, size_t nposts, size_t neps,
                 struct views *v)
{
    size_t pos = 0;
    if (nposts > CONFLICT_MAX_POSTS || neps > CONFLICT_MAX_EPISODES)
        return -1;
    for (size_t i = 0; i < nposts; i++) {
        struct post_view *p = &v->posts[i];
        if (buf_read_varint(data, len, &pos, &p->ts) < 0 ||
            !(p->brand = read_str(data, len, &pos, true)) ||
            !(p->sector = read_str(data, len, &pos, true)) ||
            !(p->post_id = read_str(data, len, &pos, false)) ||
            !(p->campaign = read_str(data, len, &pos, false)))
            return -1;
        if (i > 0 && p->ts < v->posts[i - 1].ts)
            return -1;
    }
    for (size_t i = 0; i < neps; i++) {
        struct episode_view *e = &v->eps[i];
        if (!(e->sector = read_str(data, len, &pos, true)) ||
            !(e->lo = read_str(data, len, &pos, true)) ||
            !(e->hi = read_str(data, len, &pos, true)) ||
            strcmp(e->lo, e->hi) >= 0 ||
            buf_read_varint(data, len, &pos, &e->first) < 0 ||
            buf_read_varint(data, len, &pos, &e->last) < 0 ||
            e->first > e->last)
            return -1;
    }
    if (pos != len)
        return -1;
    v->nposts = nposts;
    v->neps = neps;
    return 0;
}

static void views_of(const conflict_history *h, struct views *v)
{
    v->nposts = v->neps = 0;
    /* A history in memory was written by build() or checked by decode. */
    if (h)
        (void)parse(h->data, h->len, h->nposts, h->nepisodes, v);
}

static size_t varint_size(int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 1;
    while (u >= 0x80) {
        u >>= 7;
        n++;
    }
    return n;
}

static size_t post_size(const struct post_view *p)
{
    return varint_size(p->ts) + strlen(p->brand) + strlen(p->sector) +
           strlen(p->post_id) + strlen(p->campaign) + 4;
}

static void append_str(buf *b, const char *s)
{
    buf_append(b, s, strlen(s) + 1);
}

/*
 * Writes the views into a new history: *out is the new history, or NULL
 * when the views are empty.  Returns 0, or -1 when out of memory.
 */
static int build(const struct views *v, conflict_history **out)
{
    *out = NULL;
    if (v->nposts == 0 && v->neps == 0)
        return 0;
    buf b = BUF_INIT;
    for (size_t i = 0; i < v->nposts; i++) {
        const struct post_view *p = &v->posts[i];
        buf_append_varint(&b, p->ts);
        append_str(&b, p->brand);
        append_str(&b, p->sector);
        append_str(&b, p->post_id);
        append_str(&b, p->campaign);
    }
    for (size_t i = 0; i < v->neps; i++) {
        const struct episode_view *e = &v->eps[i];
        append_str(&b, e->sector);
        append_str(&b, e->lo);
        append_str(&b, e->hi);
        buf_append_varint(&b, e->first);
        buf_append_varint(&b, e->last);
    }
    conflict_history *h = NULL;
    if (!buf_failed(&b))
        h = malloc(sizeof *h + b.len);
    if (h) {
        h->len = (uint32_t)b.len;
        h->nposts = (uint16_t)v->nposts;
        h->nepisodes = (uint16_t)v->neps;
        memcpy(h->data, b.data, b.len);
    }
    buf_free(&b);
    if (!h)
        return -1;
    *out = h;
    return 0;
}

/* Drops from v what watermark W no longer needs.  Returns true if any. */
static bool prune_views(const config *cfg, struct views *v, int64_t W)
{
    int64_t c = cutoff(cfg, W);
    size_t n = 0, before = v->nposts + v->neps;
    for (size_t i = 0; i < v->nposts; i++)
        if (v->posts[i].ts >= c)
            v->posts[n++] = v->posts[i];
    v->nposts = n;
    n = 0;
    for (size_t i = 0; i < v->neps; i++)
        if (sat_add(v->eps[i].last, cfg->conflict_max_window_ms) >= c)
            v->eps[n++] = v->eps[i];
    v->neps = n;
    return v->nposts + v->neps != before;
}

/* ------------------------------------------------------------------------
 * Checking a post
 */

/* Strings of one found conflict, as offsets into result->text. */
enum { S_SECTOR, S_BRAND0, S_BRAND1, S_POST0, S_POST1, S_CAMP0, S_CAMP1,
       NSTRINGS };

static size_t keep_str(conflict_result *r, const char *s)
{
    size_t off = r->text.len;
    buf_append(&r->text, s, strlen(s) + 1);
    return off;
}

static bool in_episode(const struct episode_view *e, int64_t w, int64_t ts)
{
    return ts >= sat_sub(e->first, w) && ts <= sat_add(e->last, w);
}

/*
 * The conflicts of post n (views: n not among v->posts yet) with the posts
 * of brand v->posts[first].brand, which conflicts with n.  Updates the
 * episodes; when the conflict is new, appends it to r (offsets in off).
 */
static void check_brand(struct views *v, const struct post_view *n,
                        int64_t w, size_t first, bool *done,
                        const char *creator_id, size_t creator_len,
                        conflict_result *r, size_t (*off)[NSTRINGS])
{
    const char *other = v->posts[first].brand;
    size_t nearest = first;
    uint64_t best = abs_diff(v->posts[first].ts, n->ts);
    int64_t lo_ts = n->ts, hi_ts = n->ts;
    for (size_t j = first; j < v->nposts; j++) {
        const struct post_view *p = &v->posts[j];
        if (strcmp(p->brand, other) != 0 || strcmp(p->sector, n->sector) != 0)
            continue;
        done[j] = true;
        uint64_t d = abs_diff(p->ts, n->ts);
        if (d > (uint64_t)w)
            continue;
        /* Strictly nearer only: on a tie the earlier post (lower j). */
        if (d < best) {
            best = d;
            nearest = j;
        }
        lo_ts = min64(lo_ts, p->ts);
        hi_ts = max64(hi_ts, p->ts);
    }

    const char *lo = n->brand, *hi = other;
    if (strcmp(lo, hi) > 0) {
        lo = other;
        hi = n->brand;
    }
    for (size_t k = 0; k < v->neps; k++) {
        struct episode_view *e = &v->eps[k];
        if (strcmp(e->sector, n->sector) != 0 || strcmp(e->lo, lo) != 0 ||
            strcmp(e->hi, hi) != 0)
            continue;
        bool joins = in_episode(e, w, n->ts);
        for (size_t j = first; !joins && j < v->nposts; j++) {
            const struct post_view *p = &v->posts[j];
            joins = strcmp(p->brand, other) == 0 &&
                    strcmp(p->sector, n->sector) == 0 &&
                    abs_diff(p->ts, n->ts) <= (uint64_t)w &&
                    in_episode(e, w, p->ts);
        }
        if (joins) {
            e->first = min64(e->first, lo_ts);
            e->last = max64(e->last, hi_ts);
            return;
        }
    }

    /* A new episode, reported once. */
    const struct post_view *p = &v->posts[nearest];
    const struct post_view *a = p, *b = n;
    if (n->ts < p->ts) {
        a = n;
        b = p;
    }
    struct episode_view *e = &v->eps[v->neps++];
    *e = (struct episode_view){n->sector, lo, hi, lo_ts, hi_ts};

    conflict_found *f = &r->found[r->nfound];
    size_t *o = off[r->nfound];
    r->nfound++;
    memset(f, 0, sizeof *f);
    o[S_SECTOR] = keep_str(r, n->sector);
    o[S_BRAND0] = keep_str(r, a->brand);
    o[S_BRAND1] = keep_str(r, b->brand);
    o[S_POST0] = keep_str(r, a->post_id);
    o[S_POST1] = keep_str(r, b->post_id);
    o[S_CAMP0] = keep_str(r, a->campaign);
    o[S_CAMP1] = keep_str(r, b->campaign);
    f->ts[0] = a->ts;
    f->ts[1] = b->ts;
    f->window_ms = w;
    f->starts_at = b->ts;
    f->fingerprint = alert_conflict_fingerprint(creator_id, creator_len,
                                                n->sector, n->brand, other,
                                                b->ts);
}

/* Drops episodes, oldest `last` first, down to the cap. */
static void cap_episodes(struct views *v)
{
    while (v->neps > CONFLICT_MAX_EPISODES) {
        size_t oldest = 0;
        for (size_t k = 1; k < v->neps; k++)
            if (v->eps[k].last < v->eps[oldest].last)
                oldest = k;
        memmove(&v->eps[oldest], &v->eps[oldest + 1],
                (v->neps - oldest - 1) * sizeof v->eps[0]);
        v->neps--;
    }
}

/* Inserts n in ts order (after equal ts), then drops the oldest posts down
 * to the caps. */
static void insert_post(struct views *v, const struct post_view *n)
{
    size_t at = v->nposts;
    while (at > 0 && v->posts[at - 1].ts > n->ts)
        at--;
    memmove(&v->posts[at + 1], &v->posts[at],
            (v->nposts - at) * sizeof v->posts[0]);
    v->posts[at] = *n;
    v->nposts++;
    size_t bytes = 0;
    for (size_t i = 0; i < v->nposts; i++)
        bytes += post_size(&v->posts[i]);
    size_t drop = 0;
    while (v->nposts - drop > CONFLICT_MAX_POSTS ||
           (bytes > CONFLICT_MAX_BYTES && v->nposts - drop > 1)) {
        bytes -= post_size(&v->posts[drop]);
        drop++;
    }
    memmove(&v->posts[0], &v->posts[drop],
            (v->nposts - drop) * sizeof v->posts[0]);
    v->nposts -= drop;
}

conflict_outcome conflict_check(const config *cfg, conflict_history **h,
                                const char *creator_id, size_t creator_len,
                                int64_t W, const conflict_post *post,
                                conflict_result *result)
{
    result->nfound = 0;
    buf_reset(&result->text);

    char brand[EVENT_ID_MAX + 1], sector[EVENT_ID_MAX + 1] = "";
    config_name_normalize(post->brand ? post->brand : "", brand, sizeof brand);
    if (post->sector)
        config_name_normalize(post->sector, sector, sizeof sector);
    if (sector[0] == '\0' && brand[0] != '\0') {
        const char *s = config_brand_sector(cfg, brand);
        if (s)
            snprintf(sector, sizeof sector, "%s", s);
    }

    struct views v;     /* about 7 KiB of stack */
    views_of(*h, &v);
    bool changed = prune_views(cfg, &v, W);

    conflict_outcome outcome = CONFLICT_CHECKED;
    int64_t w = 0;
    if (brand[0] == '\0' || sector[0] == '\0')
        outcome = CONFLICT_NO_SECTOR;
    else if ((w = config_sector_window(cfg, sector)) <= 0)
        outcome = CONFLICT_EXEMPT;
    /* Events hold at most EVENT_ID_MAX bytes per string; the bound keeps
     * every record readable back whatever the caller passes. */
    char post_id[EVENT_ID_MAX + 1], campaign[EVENT_ID_MAX + 1];
    snprintf(post_id, sizeof post_id, "%s", post->post_id ? post->post_id : "");
    snprintf(campaign, sizeof campaign, "%s",
             post->campaign_id ? post->campaign_id : "");
    for (size_t i = 0; outcome == CONFLICT_CHECKED && post_id[0] &&
                       i < v.nposts; i++)
        if (strcmp(v.posts[i].post_id, post_id) == 0 &&
            strcmp(v.posts[i].brand, brand) == 0)
            outcome = CONFLICT_DUPLICATE;

    size_t off[CONFLICT_MAX_FOUND][NSTRINGS];
    if (outcome == CONFLICT_CHECKED) {
        struct post_view n = {post->ts, brand, sector, post_id, campaign};
        bool done[MAX_POST_VIEWS] = {false};
        for (size_t i = 0; i < v.nposts; i++) {
            const struct post_view *p = &v.posts[i];
            if (done[i] || strcmp(p->sector, sector) != 0 ||
                strcmp(p->brand, brand) == 0 ||
                abs_diff(p->ts, n.ts) > (uint64_t)w)
                continue;
            check_brand(&v, &n, w, i, done, creator_id, creator_len, result,
                        off);
        }
        cap_episodes(&v);
        insert_post(&v, &n);
        changed = true;
    }

    if (changed) {
        conflict_history *nh;
        if (build(&v, &nh) < 0 || buf_failed(&result->text)) {
            conflict_free(nh);
            result->nfound = 0;
            return CONFLICT_ERROR;
        }
        conflict_free(*h);
        *h = nh;
    }
    for (size_t i = 0; i < result->nfound; i++) {
        conflict_found *f = &result->found[i];
        const char *t = result->text.data;
        f->sector = t + off[i][S_SECTOR];
        f->brands[0] = t + off[i][S_BRAND0];
        f->brands[1] = t + off[i][S_BRAND1];
        f->post_ids[0] = t + off[i][S_POST0];
        f->post_ids[1] = t + off[i][S_POST1];
        f->campaign_ids[0] = t + off[i][S_CAMP0];
        f->campaign_ids[1] = t + off[i][S_CAMP1];
    }
    return outcome;
}

int conflict_prune(const config *cfg, conflict_history **h, int64_t W)
{
    if (!*h)
        return 0;
    struct views v;
    views_of(*h, &v);
    if (!prune_views(cfg, &v, W))
        return 0;
    conflict_history *nh;
    if (build(&v, &nh) < 0)
        return -1;
    conflict_free(*h);
    *h = nh;
    return 0;
}

void conflict_free(conflict_history *h)
{
    free(h);
}

size_t conflict_brands_since(const conflict_history *h, int64_t since,
                             const char **out, size_t max)
{
    struct views v;
    views_of(h, &v);
    size_t n = 0;
    /* Newest first, each brand once. */
    for (size_t i = v.nposts; i-- > 0 && n < max;) {
        if (v.posts[i].ts < since)
            break;
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(out[k], v.posts[i].brand) == 0;
        if (!seen)
            out[n++] = v.posts[i].brand;
    }
    return n;
}

size_t conflict_posts(const conflict_history *h)
{
    return h ? h->nposts : 0;
}

size_t conflict_episodes(const conflict_history *h)
{
    return h ? h->nepisodes : 0;
}

size_t conflict_memory(const conflict_history *h)
{
    return h ? sizeof *h + h->len : 0;
}

void conflict_result_free(conflict_result *r)
{
    if (!r)
        return;
    buf_free(&r->text);
    r->nfound = 0;
}

/* ------------------------------------------------------------------------
 * Persistence and alerts
 */

void conflict_encode(const conflict_history *h, buf *out)
{
    buf_append_byte(out, CONFLICT_BLOB_VERSION);
    buf_append_uvarint(out, h ? h->nposts : 0);
    buf_append_uvarint(out, h ? h->nepisodes : 0);
    buf_append_uvarint(out, h ? h->len : 0);
    if (h)
        buf_append(out, h->data, h->len);
}

buf_decode_result conflict_decode(conflict_history **h, const char *data,
                                  size_t len, size_t *pos)
{
    *h = NULL;
    uint64_t nposts, neps, n;
    if (*pos >= len || (uint8_t)data[*pos] != CONFLICT_BLOB_VERSION)
        return BUF_CORRUPT;
    (*pos)++;
    if (buf_read_uvarint(data, len, pos, &nposts) < 0 ||
        buf_read_uvarint(data, len, pos, &neps) < 0 ||
        buf_read_uvarint(data, len, pos, &n) < 0 || n > len - *pos ||
        nposts > CONFLICT_MAX_POSTS || neps > CONFLICT_MAX_EPISODES)
        return BUF_CORRUPT;
    const char *rec = data + *pos;
    if (nposts == 0 && neps == 0) {
        if (n != 0)
            return BUF_CORRUPT;
        return BUF_DECODED;
    }
    struct views v;
    if (parse(rec, (size_t)n, (size_t)nposts, (size_t)neps, &v) < 0)
        return BUF_CORRUPT;
    conflict_history *nh = malloc(sizeof *nh + (size_t)n);
    if (!nh)
        return BUF_NOMEM;
    nh->len = (uint32_t)n;
    nh->nposts = (uint16_t)nposts;
    nh->nepisodes = (uint16_t)neps;
    memcpy(nh->data, rec, (size_t)n);
    *pos += (size_t)n;
    *h = nh;
    return BUF_DECODED;
}

void conflict_alert(const conflict_found *f, const char *creator_id,
                    const char *tier, alert *a)
{
    memset(a, 0, sizeof *a);
    a->kind = ALERT_BRAND_CONFLICT;
    a->status = ALERT_FIRING;
    a->severity = ALERT_WARNING;
    a->fingerprint = f->fingerprint;
    a->creator_id = creator_id;
    a->tier = tier;
    a->starts_at = f->starts_at;
    a->ends_at = f->starts_at;
    a->conflict.sector = f->sector;
    for (int i = 0; i < 2; i++) {
        a->conflict.brands[i] = f->brands[i];
        a->conflict.post_ids[i] = f->post_ids[i];
        a->conflict.campaign_ids[i] = f->campaign_ids[i];
    }
    a->conflict.window_ms = f->window_ms;
    a->conflict.apart_ms = f->ts[1] - f->ts[0];
}

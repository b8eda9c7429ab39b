#include "window.h"

#include <stdlib.h>
#include <string.h>

/* Buckets are biased so that keys sort as unsigned integers even for
 * timestamps before 1970 (RFC 3339 allows year 0000). */
#define BUCKET_BIAS ((int64_t)1 << 42)

static uint64_t make_key(int64_t bucket, unsigned metric)
{
    return ((uint64_t)(bucket + BUCKET_BIAS) << 4) | (metric & 15u);
}

int64_t window_cell_bucket(const window_cell *c)
{
    return (int64_t)(c->key >> 4) - BUCKET_BIAS;
}

unsigned window_cell_metric(const window_cell *c)
{
    return (unsigned)(c->key & 15u);
}

int64_t window_bucket(const window_spec *spec, int64_t ts)
{
    int64_t q = ts / spec->width_ms;
    if (ts % spec->width_ms < 0)
        q--;
    return q;
}

void window_free(window *w)
{
    free(w->cells);
    w->cells = NULL;
    w->n = w->cap = 0;
}

static int reserve(window *w, uint32_t need)
{
    if (need <= w->cap)
        return 0;
    uint32_t cap = w->cap ? w->cap * 2 : 2;
    while (cap < need)
        cap *= 2;
    window_cell *c = realloc(w->cells, cap * sizeof *c);
    if (c == NULL)
        return -1;
    w->cells = c;
    w->cap = cap;
    return 0;
}

window_add_result window_add(window *w, const window_spec *spec, int64_t W,
                             int64_t ts, unsigned metric, int64_t count,
                             int64_t *sums)
{
    int64_t b = window_bucket(spec, ts);
    if (b <= window_bucket(spec, W) - spec->nbuckets)
        return WINDOW_OUTSIDE;
    uint64_t key = make_key(b, metric);
    /* Events mostly arrive in order: search from the newest cell back. */
    uint32_t i = w->n;
    while (i > 0 && w->cells[i - 1].key > key)
        i--;
    if (i > 0 && w->cells[i - 1].key == key) {
        w->cells[i - 1].count += count;
    } else {
        if (reserve(w, w->n + 1) < 0)
            return WINDOW_NOMEM;
        memmove(&w->cells[i + 1], &w->cells[i],
                (w->n - i) * sizeof w->cells[0]);
        w->cells[i].key = key;
        w->cells[i].count = count;
        w->n++;
    }
    sums[metric] += count;
    return WINDOW_ADDED;
}

int window_expire(window *w, const window_spec *spec, int64_t W, int64_t *sums)
{
    int64_t oldest_kept = window_bucket(spec, W) - spec->nbuckets + 1;
    uint64_t limit = make_key(oldest_kept, 0);
    uint32_t k = 0;
    while (k < w->n && w->cells[k].key < limit) {
        sums[window_cell_metric(&w->cells[k])] -= w->cells[k].count;
        k++;
    }
    if (k == 0)
        return 0;
    memmove(w->cells, &w->cells[k], (w->n - k) * sizeof w->cells[0]);
    w->n -= k;
    if (w->n == 0) {
        window_free(w);
    } else if (w->cap > 16 && w->n < w->cap / 4) {
        window_cell *c = realloc(w->cells, (w->cap / 2) * sizeof *c);
        if (c != NULL) {
            w->cells = c;
            w->cap /= 2;
        }
    }
    return 1;
}

int64_t window_next_expiry(const window *w, const window_spec *spec)
{
    if (w->n == 0)
        return WINDOW_NO_EXPIRY;
    int64_t b = window_cell_bucket(&w->cells[0]);
    return (b + spec->nbuckets) * spec->width_ms;
}

void window_sums(const window *w, int64_t *sums, unsigned nmetrics)
{
    memset(sums, 0, nmetrics * sizeof *sums);
    for (uint32_t i = 0; i < w->n; i++) {
        unsigned m = window_cell_metric(&w->cells[i]);
        if (m < nmetrics)
            sums[m] += w->cells[i].count;
    }
}

buf_decode_result window_restore_cell(window *w, int64_t bucket,
                                      unsigned metric, int64_t count)
{
    uint64_t key = make_key(bucket, metric);
    if (metric >= WINDOW_MAX_METRICS ||
        (w->n > 0 && w->cells[w->n - 1].key >= key))
        return BUF_CORRUPT;
    if (reserve(w, w->n + 1) < 0)
        return BUF_NOMEM;
    w->cells[w->n].key = key;
    w->cells[w->n].count = count;
    w->n++;
    return BUF_DECODED;
}

size_t window_memory(const window *w)
{
    return (size_t)w->cap * sizeof(window_cell);
}

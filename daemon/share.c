#include "share.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

typedef struct held {
    char *topic;
    int32_t partition;
    int64_t *cells;
} held;

struct share {
    size_t nrows, ncols, nwindows;
    char tier[SHARE_MAX_ROWS][CONFIG_TIER_NAME_MAX + 1];
    char window[CONFIG_MAX_WINDOWS][24];
    held *parts;
    size_t nparts, cap;
};

share *share_new(const config *cfg, char *errstr, size_t errstr_size)
{
    share *sh = calloc(1, sizeof *sh);
    if (sh == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    sh->nrows = cfg->ntiers + 1;
    sh->nwindows = cfg->nwindows;
    sh->ncols = SHARE_COL_ENGAGEMENTS + cfg->nwindows;
    snprintf(sh->tier[0], sizeof sh->tier[0], "unknown");
    for (size_t t = 0; t < cfg->ntiers; t++)
        snprintf(sh->tier[t + 1], sizeof sh->tier[t + 1], "%s",
                 cfg->tiers[t].name);
    for (size_t w = 0; w < cfg->nwindows; w++)
        timefmt_format_window(cfg->windows_ms[w], sh->window[w],
                              sizeof sh->window[w]);
    return sh;
}

void share_free(share *sh)
{
    if (sh == NULL)
        return;
    for (size_t i = 0; i < sh->nparts; i++) {
        free(sh->parts[i].topic);
        free(sh->parts[i].cells);
    }
    free(sh->parts);
    free(sh);
}

size_t share_rows(const share *sh)
{
    return sh->nrows;
}

size_t share_cols(const share *sh)
{
    return sh->ncols;
}

const char *share_tier(const share *sh, size_t r)
{
    return sh->tier[r];
}

int share_row(const share *sh, const char *name, size_t len)
{
    for (size_t r = 0; r < sh->nrows; r++)
        if (strlen(sh->tier[r]) == len && memcmp(sh->tier[r], name, len) == 0)
            return (int)r;
    return -1;
}

const char *share_window(const share *sh, size_t w)
{
    return sh->window[w];
}

void share_field(const share *sh, size_t r, size_t c, buf *out)
{
    buf_reset(out);
    buf_append_str(out, sh->tier[r]);
    if (c == SHARE_COL_CREATORS) {
        buf_append_str(out, ".creators");
    } else if (c == SHARE_COL_FOLLOWERS) {
        buf_append_str(out, ".followers");
    } else {
        buf_append_str(out, ".engagements_");
        buf_append_str(out, sh->window[c - SHARE_COL_ENGAGEMENTS]);
    }
}

/* The column named `name` (len bytes) after the tier's ".", or -1. */
static int column_of(const share *sh, const char *name, size_t len)
{
    static const char eng[] = "engagements_";
    if (len == 8 && memcmp(name, "creators", 8) == 0)
        return SHARE_COL_CREATORS;
    if (len == 9 && memcmp(name, "followers", 9) == 0)
        return SHARE_COL_FOLLOWERS;
    size_t n = sizeof eng - 1;
    if (len <= n || memcmp(name, eng, n) != 0)
        return -1;
    for (size_t w = 0; w < sh->nwindows; w++)
        if (strlen(sh->window[w]) == len - n &&
            memcmp(sh->window[w], name + n, len - n) == 0)
            return SHARE_COL_ENGAGEMENTS + (int)w;
    return -1;
}

int share_parse(const share *sh, const char *field, size_t flen,
                const char *value, size_t vlen, int64_t *cells)
{
    /* Tier names have no "." (config.c): the first one ends the tier. */
    const char *dot = memchr(field, '.', flen);
    if (dot == NULL)
        return 0;
    int r = share_row(sh, field, (size_t)(dot - field));
    int c = column_of(sh, dot + 1, flen - (size_t)(dot - field) - 1);
    if (r < 0 || c < 0)
        return 0;
    char s[24];
    if (vlen == 0 || vlen >= sizeof s)
        return -1;
    memcpy(s, value, vlen);
    s[vlen] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != 0)
        return -1;
    cells[(size_t)r * sh->ncols + (size_t)c] = v;
    return 0;
}

void share_count(const share *sh, int64_t *cells, const char *tier,
                 size_t len, int64_t followers, const int64_t *engagements)
{
    int r = share_row(sh, tier, len);
    if (r < 0)
        return;
    int64_t *row = cells + (size_t)r * sh->ncols;
    row[SHARE_COL_CREATORS]++;
    row[SHARE_COL_FOLLOWERS] += followers > 0 ? followers : 0;
    for (size_t w = 0; w < sh->nwindows; w++)
        row[SHARE_COL_ENGAGEMENTS + w] += engagements[w];
}

static held *find(const share *sh, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < sh->nparts; i++)
        if (sh->parts[i].partition == partition &&
            strcmp(sh->parts[i].topic, topic) == 0)
            return &sh->parts[i];
    return NULL;
}

int share_set(share *sh, const char *topic, int32_t partition,
              const int64_t *cells)
{
    size_t size = sh->nrows * sh->ncols * sizeof *cells;
    held *h = find(sh, topic, partition);
    if (h != NULL) {
        memcpy(h->cells, cells, size);
        return 0;
    }
    if (sh->nparts == sh->cap) {
        size_t cap = sh->cap ? sh->cap * 2 : 16;
        held *p = realloc(sh->parts, cap * sizeof *p);
        if (p == NULL)
            return -1;
        sh->parts = p;
        sh->cap = cap;
    }
    h = &sh->parts[sh->nparts];
    h->topic = strdup(topic);
    h->cells = malloc(size);
    if (h->topic == NULL || h->cells == NULL) {
        free(h->topic);
        free(h->cells);
        return -1;
    }
    h->partition = partition;
    memcpy(h->cells, cells, size);
    sh->nparts++;
    return 0;
}

bool share_add(share *sh, const char *topic, int32_t partition,
               const char *const *tiers, size_t nrows, const int64_t *cells)
{
    held *h = find(sh, topic, partition);
    if (h == NULL)
        return false;
    for (size_t i = 0; i < nrows; i++) {
        int r = share_row(sh, tiers[i], strlen(tiers[i]));
        if (r < 0)
            continue;
        int64_t *row = h->cells + (size_t)r * sh->ncols;
        for (size_t c = 0; c < sh->ncols; c++)
            row[c] += cells[i * sh->ncols + c];
    }
    return true;
}

void share_drop(share *sh, const char *topic, int32_t partition)
{
    held *h = find(sh, topic, partition);
    if (h == NULL)
        return;
    free(h->topic);
    free(h->cells);
    *h = sh->parts[--sh->nparts];
}

size_t share_partitions(const share *sh)
{
    return sh->nparts;
}

const int64_t *share_get(const share *sh, const char *topic,
                         int32_t partition)
{
    const held *h = find(sh, topic, partition);
    return h != NULL ? h->cells : NULL;
}

void share_sum(const share *sh, int64_t *out)
{
    size_t n = sh->nrows * sh->ncols;
    memset(out, 0, n * sizeof *out);
    for (size_t i = 0; i < sh->nparts; i++)
        for (size_t k = 0; k < n; k++)
            out[k] += sh->parts[i].cells[k];
}

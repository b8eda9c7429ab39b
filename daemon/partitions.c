#include "partitions.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct partitions {
    const config *cfg;
    source *src;
    store *db;
    state *st;
    metrics *m;
    partitions_entry *parts;
    size_t n;
    uint64_t gen;            /* the last claim's generation */
    /* The creators Redis may hold a blob of: the wake indexes of the
     * partitions claimed, and every creator made since.  An unseen creator
     * it has never been told of is made at once, without asking Redis;
     * the checkpoint that first writes it checks that it was right. */
    bloom *known;
    /* This instance's share of the tier hashes: every claimed partition's
     * (share.h), for the per-tier gauges of /metrics. */
    share *sh;
    int64_t *sum;            /* share_rows x share_cols, for publishing */
};

partitions *partitions_new(const config *cfg, source *src, store *db,
                           state *st, metrics *m, char *errstr,
                           size_t errstr_size)
{
    partitions *ps = calloc(1, sizeof *ps);
    if (ps == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    ps->cfg = cfg;
    ps->src = src;
    ps->db = db;
    ps->st = st;
    ps->m = m;
    if ((ps->sh = share_new(cfg, errstr, errstr_size)) == NULL ||
        (ps->sum = calloc(share_rows(ps->sh) * share_cols(ps->sh),
                          sizeof *ps->sum)) == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        partitions_free(ps);
        return NULL;
    }
    return ps;
}

void partitions_free(partitions *ps)
{
    if (ps == NULL)
        return;
    for (size_t i = 0; i < ps->n; i++)
        free(ps->parts[i].topic);
    free(ps->parts);
    bloom_free(ps->known);
    share_free(ps->sh);
    free(ps->sum);
    free(ps);
}

void partitions_share_publish(partitions *ps)
{
    const char *tiers[SHARE_MAX_ROWS], *windows[CONFIG_MAX_WINDOWS];
    size_t nrows = share_rows(ps->sh);
    size_t nw = share_cols(ps->sh) - SHARE_COL_ENGAGEMENTS;
    for (size_t r = 0; r < nrows; r++)
        tiers[r] = share_tier(ps->sh, r);
    for (size_t w = 0; w < nw; w++)
        windows[w] = share_window(ps->sh, w);
    share_sum(ps->sh, ps->sum);
    metrics_set_tiers(ps->m, tiers, nrows, windows, nw, ps->sum);
}

void partitions_share_commit(partitions *ps, size_t k,
                             const char *const *tiers, size_t nrows,
                             const int64_t *cells)
{
    partitions_entry *p = &ps->parts[k];
    if (p->used && p->claimed)
        share_add(ps->sh, p->topic, p->partition, tiers, nrows, cells);
}

/* A partition leaves: its share leaves the gauges. */
static void drop_share(partitions *ps, const partitions_entry *p)
{
    if (share_get(ps->sh, p->topic, p->partition) == NULL)
        return;
    share_drop(ps->sh, p->topic, p->partition);
    partitions_share_publish(ps);
}

size_t partitions_count(const partitions *ps)
{
    return ps->n;
}

partitions_entry *partitions_at(partitions *ps, size_t k)
{
    return &ps->parts[k];
}

bloom *partitions_known(partitions *ps)
{
    return ps->known;
}

int partitions_find(const partitions *ps, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->parts[i].used && ps->parts[i].partition == partition &&
            strcmp(ps->parts[i].topic, topic) == 0)
            return (int)i;
    return -1;
}

/* Where a partition without an offset in Redis starts. */
static int64_t start_offset(const partitions *ps)
{
    const config *cfg = ps->cfg;
    for (size_t i = 0; i < cfg->nkafka_props; i++)
        if (strcmp(cfg->kafka_props[i].key, "auto.offset.reset") == 0 &&
            (strcmp(cfg->kafka_props[i].value, "latest") == 0 ||
             strcmp(cfg->kafka_props[i].value, "largest") == 0 ||
             strcmp(cfg->kafka_props[i].value, "end") == 0))
            return RD_KAFKA_OFFSET_END;
    return RD_KAFKA_OFFSET_BEGINNING;
}

int partitions_assigned(partitions *ps, const rd_kafka_topic_partition_list_t *l)
{
    int rc = 0;
    for (int i = 0; i < l->cnt; i++) {
        if (partitions_find(ps, l->elems[i].topic, l->elems[i].partition) >= 0)
            continue;
        size_t k = 0;
        while (k < ps->n && ps->parts[k].used)
            k++;
        if (k == ps->n) {
            partitions_entry *p = realloc(ps->parts, (ps->n + 1) * sizeof *p);
            if (p == NULL) {
                rc = -1;
                continue;
            }
            ps->parts = p;
            ps->n++;
        }
        partitions_entry *p = &ps->parts[k];
        memset(p, 0, sizeof *p);
        p->topic = strdup(l->elems[i].topic);
        p->partition = l->elems[i].partition;
        p->used = p->topic != NULL;
        if (!p->used)
            rc = -1;
    }
    return rc;
}

bool partitions_pending(const partitions *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->parts[i].used && !ps->parts[i].claimed)
            return true;
    return false;
}

static void on_indexed(void *arg, const char *id, size_t len)
{
    bloom_add(arg, id, len);
}

/*
 * Tells the filter which creators Redis holds for the partitions just
 * claimed (made the first time, sized for them and max_creators more).
 * A partition whose index cannot be read is looked up in full instead.
 * Returns -1 only when out of memory.
 */
static int learn_known(partitions *ps, const store_claim *claims, size_t n)
{
    if (ps->known == NULL) {
        size_t expected = (size_t)ps->cfg->max_creators;
        for (size_t j = 0; j < n; j++)
            expected += claims[j].indexed > 0 ? (size_t)claims[j].indexed : 0;
        if ((ps->known = bloom_new(expected)) == NULL)
            return -1;
        log_info("filter of known creators bits=%zu bytes=%zu",
                 bloom_bits(ps->known), bloom_bytes(ps->known));
    }
    for (size_t j = 0; j < n; j++) {
        char err[512];
        if (claims[j].indexed <= 0 ||
            store_index(ps->db, claims[j].topic, claims[j].partition,
                        claims[j].indexed, on_indexed, ps->known, err,
                        sizeof err) == 0)
            continue;
        int k = partitions_find(ps, claims[j].topic, claims[j].partition);
        if (k >= 0)
            ps->parts[k].lookup_all = true;
        log_warning("could not read the creators Redis holds; looking each "
                    "one up partition=%s:%d error=\"%s\"", claims[j].topic,
                    (int)claims[j].partition, err);
    }
    return 0;
}

int partitions_claim(partitions *ps, bool paused, char *errstr,
                     size_t errstr_size)
{
    size_t n = 0;
    for (size_t i = 0; i < ps->n; i++)
        n += ps->parts[i].used && !ps->parts[i].claimed;
    if (n == 0)
        return 0;
    size_t ncells = share_rows(ps->sh) * share_cols(ps->sh);
    store_claim *claims = calloc(n, sizeof *claims);
    int *idx = calloc(n, sizeof *idx);
    int64_t *cells = calloc(n * ncells, sizeof *cells);
    if (claims == NULL || idx == NULL || cells == NULL) {
        free(claims);
        free(idx);
        free(cells);
        snprintf(errstr, errstr_size, "out of memory claiming partitions");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < ps->n; i++)
        if (ps->parts[i].used && !ps->parts[i].claimed) {
            claims[k].topic = ps->parts[i].topic;
            claims[k].partition = ps->parts[i].partition;
            claims[k].share = cells + k * ncells;
            idx[k++] = (int)i;
        }
    int rc = store_claim_parts(ps->db, ps->sh, claims, n, errstr,
                               errstr_size);
    if (rc == 0 && learn_known(ps, claims, n) < 0) {
        snprintf(errstr, errstr_size,
                 "out of memory for the filter of known creators");
        rc = -1;
    }
    /* A share an engaged without shares left behind is rebuilt from the
     * partition's creators before the partition is read: nobody writes
     * them meanwhile (issue 18, the per-tier gauges). */
    for (size_t j = 0; rc == 0 && j < n; j++) {
        if (!claims[j].share_stale)
            continue;
        log_notice("rebuilding the partition's share of the tier hashes "
                   "from its creators partition=%s:%d creators=%" PRId64,
                   claims[j].topic, (int)claims[j].partition,
                   claims[j].indexed);
        rc = store_share_rebuild(ps->db, ps->sh, claims[j].topic,
                                 claims[j].partition, claims[j].indexed,
                                 claims[j].epoch, claims[j].share, errstr,
                                 errstr_size);
    }
    if (rc < 0) {
        free(claims);
        free(idx);
        free(cells);
        return -1;
    }
    for (size_t j = 0; j < n; j++) {
        partitions_entry *p = &ps->parts[idx[j]];
        char err[512];
        if (share_set(ps->sh, p->topic, p->partition, claims[j].share) < 0) {
            log_error("out of memory adding a partition");
            continue;
        }
        int slot = state_partition_add(ps->st, p->topic, p->partition,
                                       claims[j].watermark);
        if (slot < 0) {
            /* Stays pending: claimed again at the next turn. */
            log_error("out of memory adding a partition");
            share_drop(ps->sh, p->topic, p->partition);
            continue;
        }
        p->slot = slot;
        p->gen = ++ps->gen;
        p->epoch = claims[j].epoch;
        p->seq = 0;
        p->written_offset = claims[j].offset;
        p->next_offset = claims[j].offset >= 0 ? claims[j].offset
                                               : start_offset(ps);
        p->due_from = INT64_MIN;
        p->nonresident = claims[j].indexed > 0;
        if (p->assigned) {
            /* Claimed again while assigned (read back after a refused
             * checkpoint): from the offset Redis holds. */
            source_resume(ps->src, p->topic, p->partition, p->next_offset);
        } else if (source_assign(ps->src, p->topic, p->partition,
                                 p->next_offset, err, sizeof err) < 0) {
            log_error("%s", err);
            state_partition_drop(ps->st, slot);
            share_drop(ps->sh, p->topic, p->partition);
            continue;
        }
        p->assigned = true;
        p->claimed = true;
        p->paused = false;
        char wm[40] = "none";
        if (claims[j].watermark != STATE_NO_WATERMARK)
            snprintf(wm, sizeof wm, "%" PRId64, claims[j].watermark);
        log_notice("partition assigned partition=%s:%d offset=%s%" PRId64
                   " watermark=%s epoch=%" PRIu64 " indexed=%" PRId64,
                   p->topic, (int)p->partition,
                   claims[j].offset >= 0 ? "" : "none, starting at ",
                   p->next_offset, wm, p->epoch, claims[j].indexed);
        if (paused) {
            source_pause(ps->src, p->topic, p->partition);
            p->paused = true;
        }
    }
    free(claims);
    free(idx);
    free(cells);
    partitions_share_publish(ps);
    return 0;
}

void partitions_pause_all(partitions *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        partitions_entry *p = &ps->parts[i];
        if (p->used && p->claimed && !p->paused) {
            source_pause(ps->src, p->topic, p->partition);
            p->paused = true;
        }
    }
}

void partitions_resume_all(partitions *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        partitions_entry *p = &ps->parts[i];
        if (p->used && p->claimed && p->paused) {
            /* Seek back: messages fetched while paused were dropped. */
            source_resume(ps->src, p->topic, p->partition, p->next_offset);
            p->paused = false;
        }
    }
}

void partitions_forget(partitions *ps, size_t k)
{
    partitions_entry *p = &ps->parts[k];
    if (p->claimed)
        state_partition_drop(ps->st, p->slot);
    metrics_partition_remove(ps->m, p->topic, p->partition);
    drop_share(ps, p);
    free(p->topic);
    memset(p, 0, sizeof *p);
}

void partitions_rewind(partitions *ps, size_t k, const char *why)
{
    partitions_entry *p = &ps->parts[k];
    log_notice("%s; reading this partition back from Redis partition=%s:%d",
               why, p->topic, (int)p->partition);
    state_partition_drop(ps->st, p->slot);
    drop_share(ps, p);
    if (!p->paused)
        source_pause(ps->src, p->topic, p->partition);
    p->paused = true;
    p->claimed = false;
}

void partitions_fenced(partitions *ps, size_t k)
{
    partitions_entry *p = &ps->parts[k];
    log_warning("partition fenced: another instance owns it now; dropping "
                "its state partition=%s:%d", p->topic, (int)p->partition);
    metrics_partition_remove(ps->m, p->topic, p->partition);
    state_partition_drop(ps->st, p->slot);
    drop_share(ps, p);
    source_pause(ps->src, p->topic, p->partition);
    /* Claimed again only if Kafka assigns it to us again. */
    free(p->topic);
    memset(p, 0, sizeof *p);
}

void partitions_nonresident(partitions *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        ps->parts[i].nonresident = true;
}

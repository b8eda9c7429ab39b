#include "batch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "buf.h"
#include "event.h"
#include "hash.h"
#include "log.h"

/* One message of the batch in hand. */
typedef struct bitem {
    rd_kafka_message_t *msg;
    int part;                /* entry index in the partitions */
    uint64_t gen;            /* and the claim it was read under */
    event_error err;
    event ev;                /* an event is ~3 KiB parsed */
    state_creator *c;        /* the event's creator when prepare found it in
                              * memory (nothing frees one before apply) */
    char detail[256];
} bitem;

/* Creators to read from Redis for a batch. */
typedef struct fetchlist {
    size_t n, cap;
    size_t *off, *len;       /* into ids */
    int *slot;
    bool *for_event;         /* create it when Redis has none */
    buf ids;
    uint32_t *set;           /* open addressing over the entries, +1 */
    size_t set_size;
} fetchlist;

struct batch {
    const config *cfg;
    partitions *ps;
    state *st;
    store *db;
    sink *snk;
    metrics *m;
    bitem *items;
    size_t n;
    fetchlist fl;
    bool nomem;              /* memory ran out in a callback */
};

batch *batch_new(const config *cfg, partitions *ps, state *st, store *db,
                 sink *snk, metrics *m, char *errstr, size_t errstr_size)
{
    batch *b = calloc(1, sizeof *b);
    if (b != NULL)
        b->items = calloc(BATCH_MAX, sizeof *b->items);
    if (b == NULL || b->items == NULL) {
        free(b);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    b->cfg = cfg;
    b->ps = ps;
    b->st = st;
    b->db = db;
    b->snk = snk;
    b->m = m;
    return b;
}

void batch_clear(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        rd_kafka_message_destroy(b->items[i].msg);
    b->n = 0;
}

void batch_free(batch *b)
{
    if (b == NULL)
        return;
    batch_clear(b);
    free(b->items);
    free(b->fl.off);
    free(b->fl.len);
    free(b->fl.slot);
    free(b->fl.for_event);
    free(b->fl.set);
    buf_free(&b->fl.ids);
    free(b);
}

size_t batch_size(const batch *b)
{
    return b->n;
}

/* The item's partition while the item may still be applied, else NULL. */
static partitions_entry *live_part(batch *b, const bitem *it)
{
    partitions_entry *p = partitions_at(b->ps, (size_t)it->part);
    if (!p->used || !p->claimed || p->gen != it->gen || p->nomem)
        return NULL;
    return p;
}

void batch_fill(batch *b, source *src, int timeout_ms, bool drop)
{
    rd_kafka_message_t *m = source_poll(src, timeout_ms);
    while (m != NULL) {
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                metrics_kafka_error(b->m);
                log_limited("kafka-consume", LOG_LEVEL_WARNING,
                            "Kafka consume error error=\"%s\"",
                            rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        } else {
            int k = m->rkt ? partitions_find(b->ps, rd_kafka_topic_name(m->rkt),
                                             m->partition)
                           : -1;
            partitions_entry *p = k >= 0 ? partitions_at(b->ps, (size_t)k) : NULL;
            if (p == NULL || !p->claimed || p->paused || drop) {
                /* Not ours any more, or paused: read again on resume. */
                rd_kafka_message_destroy(m);
            } else {
                bitem *it = &b->items[b->n++];
                it->msg = m;
                it->part = k;
                it->gen = p->gen;
                it->err = EVENT_OK;
                it->c = NULL;
                if (b->n == BATCH_MAX)
                    break;
            }
        }
        m = source_poll(src, 0);
    }
}

/* --- loading creators ------------------------------------------------------- */

static void fetch_reset(fetchlist *f)
{
    f->n = 0;
    buf_reset(&f->ids);
    if (f->set != NULL)
        memset(f->set, 0, f->set_size * sizeof *f->set);
}

/* Adds an id to the fetch list unless it is there already.  Returns -1
 * when out of memory. */
static int fetch_add(fetchlist *f, const char *id, size_t len, int slot,
                     bool for_event)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 1024;
        size_t *off = realloc(f->off, cap * sizeof *off);
        if (off)
            f->off = off;
        size_t *ln = realloc(f->len, cap * sizeof *ln);
        if (ln)
            f->len = ln;
        int *sl = realloc(f->slot, cap * sizeof *sl);
        if (sl)
            f->slot = sl;
        bool *fe = realloc(f->for_event, cap * sizeof *fe);
        if (fe)
            f->for_event = fe;
        uint32_t *set = calloc(cap * 2, sizeof *set);
        if (!off || !ln || !sl || !fe || !set) {
            free(set);
            return -1;
        }
        free(f->set);
        f->set = set;
        f->set_size = cap * 2;
        f->cap = cap;
        for (size_t i = 0; i < f->n; i++) {
            size_t h = hash_id(f->ids.data + f->off[i], f->len[i]) &
                       (f->set_size - 1);
            while (f->set[h])
                h = (h + 1) & (f->set_size - 1);
            f->set[h] = (uint32_t)i + 1;
        }
    }
    size_t h = hash_id(id, len) & (f->set_size - 1);
    while (f->set[h]) {
        size_t j = f->set[h] - 1;
        if (f->len[j] == len && memcmp(f->ids.data + f->off[j], id, len) == 0) {
            f->for_event[j] |= for_event;
            return 0;
        }
        h = (h + 1) & (f->set_size - 1);
    }
    f->off[f->n] = f->ids.len;
    f->len[f->n] = len;
    f->slot[f->n] = slot;
    f->for_event[f->n] = for_event;
    buf_append(&f->ids, id, len);
    if (buf_failed(&f->ids))
        return -1;
    f->set[h] = (uint32_t)f->n + 1;
    f->n++;
    return 0;
}

typedef struct due_ctx {
    batch *b;
    const int *part_of;      /* range i -> partition entry */
} due_ctx;

static void on_due(void *arg, size_t i, const char *id, size_t len)
{
    due_ctx *d = arg;
    batch *b = d->b;
    if (state_creator_find(b->st, id, len) != NULL)
        return;
    if (fetch_add(&b->fl, id, len,
                  partitions_at(b->ps, (size_t)d->part_of[i])->slot,
                  false) < 0)
        b->nomem = true;
}

/* Memory ran out while partition `slot`'s state changed. */
static void nomem_slot(batch *b, int slot)
{
    for (size_t k = 0; k < partitions_count(b->ps); k++) {
        partitions_entry *p = partitions_at(b->ps, k);
        if (p->used && p->claimed && p->slot == slot)
            p->nomem = true;
    }
    b->nomem = true;
}

static void on_blob(void *arg, size_t i, const char *blob, size_t len)
{
    batch *b = arg;
    fetchlist *f = &b->fl;
    const char *id = f->ids.data + f->off[i];
    if (state_creator_find(b->st, id, f->len[i]) != NULL)
        return;
    if (blob != NULL) {
        char err[256];
        state_creator *c;
        bloom_add(partitions_known(b->ps), id, f->len[i]);
        buf_decode_result r = state_creator_restore(
            b->st, f->slot[i], id, f->len[i], blob, len, &c, err, sizeof err);
        if (r == BUF_DECODED)
            return;
        if (r == BUF_NOMEM) {
            /* Not the blob's fault: never start it afresh for that. */
            nomem_slot(b, f->slot[i]);
            return;
        }
        log_error("creator state unreadable, starting it afresh creator=%.*s "
                  "error=\"%s\"",
                  (int)f->len[i], id, err);
    }
    if ((blob != NULL || f->for_event[i]) &&
        state_creator_new(b->st, f->slot[i], id, f->len[i]) == NULL)
        nomem_slot(b, f->slot[i]);
}

int batch_prepare(batch *b, int64_t now_wall_ms, char *errstr,
                  size_t errstr_size)
{
    event_limits lim = {b->cfg->max_event_bytes, b->cfg->max_future_ms};
    size_t nparts = partitions_count(b->ps);
    bloom *known = partitions_known(b->ps);
    int64_t *batch_max = calloc(nparts ? nparts : 1, sizeof *batch_max);
    store_range *q = calloc(nparts ? nparts : 1, sizeof *q);
    int *part_of = calloc(nparts ? nparts : 1, sizeof *part_of);
    const char **ids = NULL;
    int rc = 0;
    size_t made_new = 0, nq = 0;
    b->nomem = batch_max == NULL || q == NULL || part_of == NULL;
    for (size_t p = 0; !b->nomem && p < nparts; p++)
        batch_max[p] = INT64_MIN;
    fetch_reset(&b->fl);
    for (size_t i = 0; !b->nomem && i < b->n; i++) {
        bitem *it = &b->items[i];
        partitions_entry *ep = live_part(b, it);
        if (ep == NULL)
            continue;
        rd_kafka_message_t *m = it->msg;
        it->err = event_parse(m->payload, m->len, m->key, m->key_len, &lim,
                              now_wall_ms, &it->ev, it->detail,
                              sizeof it->detail);
        if (it->err == EVENT_ERR_NOMEM) {
            b->nomem = true; /* parsed again when memory allows */
            break;
        }
        if (it->err != EVENT_OK)
            continue;
        if (it->ev.ts_ms > batch_max[it->part])
            batch_max[it->part] = it->ev.ts_ms;
        const char *id = it->ev.creator_id;
        size_t len = it->ev.creator_id_len;
        it->c = state_creator_find(b->st, id, len);
        if (it->c != NULL)
            continue;
        if (!ep->lookup_all && !bloom_maybe(known, id, len)) {
            /* Never in Redis as far as we know: no round trip, which would
             * wait behind the checkpoint Redis is running. */
            if (state_creator_new(b->st, ep->slot, id, len) == NULL) {
                b->nomem = true;
            } else {
                bloom_add(known, id, len);
                made_new++;
            }
        } else if (fetch_add(&b->fl, id, len, ep->slot, true) < 0) {
            b->nomem = true;
        }
    }
    /* Creators not in memory whose buckets expire before the batch's end. */
    for (size_t p = 0; !b->nomem && p < nparts; p++) {
        partitions_entry *ep = partitions_at(b->ps, p);
        if (!ep->used || !ep->claimed || !ep->nonresident)
            continue;
        int64_t W = state_partition_watermark(b->st, ep->slot);
        int64_t end = batch_max[p] > W ? batch_max[p] : W;
        if (end == STATE_NO_WATERMARK || end <= ep->due_from)
            continue;
        q[nq].topic = ep->topic;
        q[nq].partition = ep->partition;
        q[nq].from = ep->due_from;
        q[nq].to = end;
        part_of[nq++] = (int)p;
    }
    due_ctx d = {b, part_of};
    if (!b->nomem && nq > 0 &&
        store_due(b->db, q, nq, on_due, &d, errstr, errstr_size) < 0)
        rc = -1;
    if (made_new > 0 || b->fl.n > 0)
        log_debug("batch prepared made_new=%zu looked_up=%zu", made_new,
                  b->fl.n);
    if (rc == 0 && !b->nomem && b->fl.n > 0) {
        ids = malloc(b->fl.n * sizeof *ids);
        if (ids == NULL) {
            b->nomem = true;
        } else {
            for (size_t i = 0; i < b->fl.n; i++)
                ids[i] = b->fl.ids.data + b->fl.off[i];
            if (store_fetch(b->db, ids, b->fl.len, b->fl.n, on_blob, b, errstr,
                            errstr_size) < 0)
                rc = -1;
        }
    }
    if (rc == 0 && b->nomem) {
        snprintf(errstr, errstr_size, "out of memory preparing a batch");
        rc = -1;
    }
    if (rc == 0)
        for (size_t k = 0; k < nq; k++)
            partitions_at(b->ps, (size_t)part_of[k])->due_from = q[k].to;
    free(ids);
    free(q);
    free(part_of);
    free(batch_max);
    return rc;
}

/* --- applying ------------------------------------------------------------------ */

static void send_dlq(batch *b, bitem *it, event_error err)
{
    char msg[512];
    metrics_dlq(b->m, err);
    while (sink_dlq(b->snk, it->msg, event_error_name(err), it->detail, msg,
                    sizeof msg) < 0) {
        /* The producer's queue is full: wait for room, never drop. */
        log_limited("dlq-produce", LOG_LEVEL_WARNING, "%s", msg);
        sink_flush(b->snk, 100, msg, sizeof msg);
    }
}

void batch_apply(batch *b, batch_applied_fn *fn, void *arg)
{
    for (size_t i = 0; i < b->n; i++) {
        bitem *it = &b->items[i];
        partitions_entry *p = live_part(b, it);
        rd_kafka_message_t *m = it->msg;
        /* Gone, or read again after a pause: already applied. */
        if (p == NULL || (p->next_offset >= 0 && m->offset < p->next_offset))
            goto next;
        event_error err = it->err;
        if (err == EVENT_OK) {
            state_creator *c = it->c != NULL
                                   ? it->c
                                   : state_creator_find(b->st,
                                                        it->ev.creator_id,
                                                        it->ev.creator_id_len);
            err = c == NULL ? EVENT_ERR_NOMEM
                            : state_apply(b->st, state_creator_slot(c), c,
                                          &it->ev, it->detail,
                                          sizeof it->detail);
        }
        if (err == EVENT_ERR_NOMEM) {
            /* Neither refused nor skipped: the partition stops here, and
             * its state is read back and this event applied again. */
            p->nomem = true;
            goto next;
        }
        int type = err == EVENT_OK || err == EVENT_ERR_TOO_LATE
                       ? (int)it->ev.type
                       : -1;
        metrics_event(b->m, type, err != EVENT_OK);
        if (err != EVENT_OK)
            send_dlq(b, it, err);
        p->next_offset = m->offset + 1;
        fn(arg, m, it->part);
    next:
        rd_kafka_message_destroy(m);
    }
    b->n = 0;
}

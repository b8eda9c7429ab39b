#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "buf.h"
#include "bloom.h"
#include "hash.h"
#include "checkpoint.h"
#include "config_live.h"
#include "embedded.h"
#include "event.h"
#include "kafkaconf.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "pacing.h"
#include "now.h"
#include "sink.h"
#include "source.h"
#include "state.h"
#include "store.h"

#define BATCH_MAX 1024  /* messages per batch; an event is ~3 KiB parsed */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define STATS_EVERY_MS 60000
#define FLUSH_TIMEOUT_MS 5000
#define GAUGES_EVERY_MS 1000
#define STATUS_EVERY_MS 5000

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

/* A partition this instance was assigned. */
typedef struct epart {
    bool used;
    bool claimed;            /* claimed in Redis and assigned in Kafka */
    bool paused;
    char *topic;
    int32_t partition;
    int slot;                /* state slot once claimed */
    uint64_t epoch, seq;
    int64_t next_offset;     /* next to process; or RD_KAFKA_OFFSET_* */
    int64_t written_offset;  /* what Redis holds */
    int64_t due_from;        /* creators due up to here were loaded */
    bool nonresident;        /* Redis may hold creators not in memory */
    bool assigned;           /* assigned in Kafka (claimed or not) */
    /* Look every unseen creator up in Redis, whatever `known` says: a
     * creator taken as new had state after all (CHECKPOINT_NOT_NEW).
     * Kept until the partition is revoked or lost. */
    bool lookup_all;
    /* Memory ran out while its state changed: its state is to be dropped
     * and read back from Redis (recover_nomem), its offset left where the
     * failed event is. */
    bool nomem;
} epart;

/* A message's Kafka timestamp, and its partition (index into parts). */
typedef struct stamp {
    int64_t ts;
    int part;
} stamp;

/* One message of the batch in hand. */
typedef struct bitem {
    rd_kafka_message_t *msg;
    int part;                /* index into parts, -1 to skip */
    event_error err;
    event ev;
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

struct engine {
    config *cfg;
    metrics *m;              /* shared with the HTTP thread; not owned */
    embedded *emb;
    source *src;
    sink *snk;
    checkpoint *ck;
    store *db;               /* Redis reads, on a connection of its own */
    state *st;
    /* The creators Redis may hold a blob of: the wake indexes of the
     * partitions claimed, and every creator made since.  An unseen creator
     * it has never been told of is made at once, without asking Redis;
     * the checkpoint that first writes it checks that it was right. */
    bloom *known;
    epart *parts;
    size_t nparts;
    bitem *batch;
    size_t nbatch;
    fetchlist fl;
    /* checkpoint pacing */
    int64_t next_ckpt_ms;
    int64_t events_since_ckpt;
    int64_t first_pending_ms;    /* when the first of those was applied */
    int64_t first_pending_lag;   /* and how long after it was produced */
    double ck_ms_avg;            /* recent checkpoints' send-to-answer time */
    payload_part *ck_parts;   /* the payload's partitions, kept in doubt */
    size_t nck_parts;
    /* Redis health */
    bool blocked;
    int64_t blocked_since_ms, retry_at_ms;
    int backoff_ms;
    bool pending_claims;
    int64_t next_stats_ms;
    uint64_t applied_total;      /* messages processed, refused included */
    uint64_t checkpoints;
    /* systemd and monitoring */
    bool joined;                 /* the group gave us an assignment */
    bool ready_sent;
    int64_t watchdog_ms, next_watchdog_ms;
    int64_t next_gauges_ms, next_status_ms;
    uint64_t status_events;      /* events total at the last STATUS= */
    int64_t status_at_ms;
    uint64_t unchecked_seen;     /* conflict checks skipped, counted */
    /* Kafka timestamps of the messages since the last checkpoint, for the
     * event-to-checkpoint latency. */
    stamp *produced_at;
    size_t nproduced_at, produced_at_cap;
    /* ... and those of the checkpoint in flight (or in doubt). */
    stamp *inflight_at;
    size_t ninflight_at, inflight_at_cap;
    /* A checkpoint that leaves partitions out (checkpoint.max_creators):
     * ck_done[slot] for the state slots it writes; ck_next: the parts
     * index the next one starts from. */
    bool ck_partial;
    bool *ck_done;
    size_t nck_done;
    size_t ck_next;
    int64_t ck_sent_wall_ms;     /* when its build began: its duration
                                  * counts the build, the wait for its
                                  * alerts and Redis */
    bool nomem;                  /* some part's nomem is set */
    bool fatal;                  /* stop with exit code 1 */
};

/* --- small helpers ---------------------------------------------------------- */


void engine_stop(void)
{
    stop_requested = 1;
}

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_requested = 1;
    else
        engine_stop();
}

void engine_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static int find_part(const engine *e, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < e->nparts; i++)
        if (e->parts[i].used && e->parts[i].partition == partition &&
            strcmp(e->parts[i].topic, topic) == 0)
            return (int)i;
    return -1;
}

static int64_t start_offset(const engine *e)
{
    for (size_t i = 0; i < e->cfg->nkafka_props; i++)
        if (strcmp(e->cfg->kafka_props[i].key, "auto.offset.reset") == 0 &&
            (strcmp(e->cfg->kafka_props[i].value, "latest") == 0 ||
             strcmp(e->cfg->kafka_props[i].value, "largest") == 0 ||
             strcmp(e->cfg->kafka_props[i].value, "end") == 0))
            return RD_KAFKA_OFFSET_END;
    return RD_KAFKA_OFFSET_BEGINNING;
}

/* --- Redis health ----------------------------------------------------------- */

static void pause_all(engine *e)
{
    for (size_t i = 0; i < e->nparts; i++)
        if (e->parts[i].used && e->parts[i].claimed && !e->parts[i].paused) {
            source_pause(e->src, e->parts[i].topic, e->parts[i].partition);
            e->parts[i].paused = true;
        }
}

static void resume_all(engine *e)
{
    for (size_t i = 0; i < e->nparts; i++)
        if (e->parts[i].used && e->parts[i].claimed && e->parts[i].paused) {
            /* Seek back: messages fetched while paused were dropped. */
            source_resume(e->src, e->parts[i].topic, e->parts[i].partition,
                          e->parts[i].next_offset);
            e->parts[i].paused = false;
        }
}

/* Redis (or the DLQ) failed: stop consuming and retry with backoff. */
static void block(engine *e, const char *why)
{
    int64_t now = now_mono_ms();
    if (strncmp(why, "redis", 5) == 0)
        metrics_redis_error(e->m);
    if (!e->blocked) {
        log_error("%s; consumption paused, retrying with backoff", why);
        e->blocked = true;
        e->blocked_since_ms = now;
        e->backoff_ms = BACKOFF_MIN_MS;
        pause_all(e);
    } else {
        log_debug("still failing: %s retry_in_ms=%d", why, e->backoff_ms);
        e->backoff_ms = e->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                           : e->backoff_ms * 2;
    }
    e->retry_at_ms = now + e->backoff_ms;
}

static void unblock(engine *e)
{
    if (!e->blocked)
        return;
    log_notice("Redis answers again after %.1f s; consumption resumed",
               (double)(now_mono_ms() - e->blocked_since_ms) / 1000.0);
    metrics_redis_reconnect(e->m);
    e->blocked = false;
    resume_all(e);
}

/* --- partitions ------------------------------------------------------------- */

static void drop_batch_items(engine *e, int part)
{
    for (size_t i = 0; i < e->nbatch; i++)
        if (e->batch[i].part == part) {
            e->batch[i].part = -1;
        }
}

static void forget_part(engine *e, int i)
{
    epart *p = &e->parts[i];
    if (p->claimed)
        state_partition_drop(e->st, p->slot);
    metrics_partition_remove(e->m, p->topic, p->partition);
    drop_batch_items(e, i);
    free(p->topic);
    memset(p, 0, sizeof *p);
}

static void on_indexed(void *arg, const char *id, size_t len)
{
    bloom_add(arg, id, len);
}

/*
 * Tells `known` which creators Redis holds for the partitions just
 * claimed (made the first time, sized for them and max_creators more).
 * A partition whose index cannot be read is looked up in full instead.
 * Returns -1 only when out of memory.
 */
static int learn_known(engine *e, const store_claim *claims, size_t n)
{
    if (e->known == NULL) {
        size_t expected = (size_t)e->cfg->max_creators;
        for (size_t j = 0; j < n; j++)
            expected += claims[j].indexed > 0 ? (size_t)claims[j].indexed : 0;
        if ((e->known = bloom_new(expected)) == NULL)
            return -1;
        log_info("filter of known creators bits=%zu bytes=%zu",
                 bloom_bits(e->known), bloom_bytes(e->known));
    }
    for (size_t j = 0; j < n; j++) {
        char err[512];
        if (claims[j].indexed <= 0 ||
            store_index(e->db, claims[j].topic, claims[j].partition,
                        claims[j].indexed, on_indexed, e->known, err,
                        sizeof err) == 0)
            continue;
        int k = find_part(e, claims[j].topic, claims[j].partition);
        if (k >= 0)
            e->parts[k].lookup_all = true;
        log_warning("could not read the creators Redis holds; looking each "
                    "one up partition=%s:%d error=\"%s\"", claims[j].topic,
                    (int)claims[j].partition, err);
    }
    return 0;
}

/* Claims every assigned partition not yet claimed, and assigns it. */
static int claim_pending(engine *e)
{
    size_t n = 0;
    for (size_t i = 0; i < e->nparts; i++)
        n += e->parts[i].used && !e->parts[i].claimed;
    if (n == 0) {
        e->pending_claims = false;
        return 0;
    }
    store_claim *claims = calloc(n, sizeof *claims);
    int *idx = calloc(n, sizeof *idx);
    if (claims == NULL || idx == NULL) {
        free(claims);
        free(idx);
        block(e, "out of memory claiming partitions");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < e->nparts; i++)
        if (e->parts[i].used && !e->parts[i].claimed) {
            claims[k].topic = e->parts[i].topic;
            claims[k].partition = e->parts[i].partition;
            idx[k++] = (int)i;
        }
    char err[512];
    int rc = store_claim_parts(e->db, claims, n, err, sizeof err);
    if (rc == 0 && learn_known(e, claims, n) < 0) {
        log_error("out of memory for the filter of known creators");
        rc = -1;
    }
    if (rc < 0) {
        block(e, err);
    } else {
        for (size_t j = 0; j < n; j++) {
            epart *p = &e->parts[idx[j]];
            int slot = state_partition_add(e->st, p->topic, p->partition,
                                           claims[j].watermark);
            if (slot < 0) {
                log_error("out of memory adding a partition");
                rc = -1;
                continue;
            }
            p->slot = slot;
            p->epoch = claims[j].epoch;
            p->seq = 0;
            p->written_offset = claims[j].offset;
            p->next_offset = claims[j].offset >= 0 ? claims[j].offset
                                                   : start_offset(e);
            p->due_from = INT64_MIN;
            p->nonresident = claims[j].indexed > 0;
            if (p->assigned) {
                /* Claimed again while assigned (read back after a refused
                 * checkpoint): from the offset Redis holds. */
                source_resume(e->src, p->topic, p->partition, p->next_offset);
            } else if (source_assign(e->src, p->topic, p->partition,
                                     p->next_offset, err, sizeof err) < 0) {
                log_error("%s", err);
                state_partition_drop(e->st, slot);
                rc = -1;
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
            if (e->blocked) {
                source_pause(e->src, p->topic, p->partition);
                p->paused = true;
            }
        }
        e->pending_claims = rc < 0;
    }
    free(claims);
    free(idx);
    return rc;
}

static void on_assigned(void *arg, const rd_kafka_topic_partition_list_t *l)
{
    engine *e = arg;
    e->joined = true;
    for (int i = 0; i < l->cnt; i++) {
        if (find_part(e, l->elems[i].topic, l->elems[i].partition) >= 0)
            continue;
        size_t k = 0;
        while (k < e->nparts && e->parts[k].used)
            k++;
        if (k == e->nparts) {
            epart *p = realloc(e->parts, (e->nparts + 1) * sizeof *p);
            if (p == NULL) {
                /* An assigned partition nobody consumes would stall until
                 * the next rebalance: stop, and let the supervisor restart
                 * us (nothing is lost, the offsets are in Redis). */
                log_error("out of memory tracking a partition; stopping");
                e->fatal = true;
                continue;
            }
            e->parts = p;
            e->nparts++;
        }
        memset(&e->parts[k], 0, sizeof e->parts[k]);
        e->parts[k].topic = strdup(l->elems[i].topic);
        e->parts[k].partition = l->elems[i].partition;
        e->parts[k].used = e->parts[k].topic != NULL;
        if (!e->parts[k].used) {
            log_error("out of memory tracking a partition; stopping");
            e->fatal = true;
        }
    }
    e->pending_claims = true;
    claim_pending(e);
}

static int do_checkpoint(engine *e, bool force);
static int collect(engine *e, int wait_ms);

static void on_revoked(void *arg, const rd_kafka_topic_partition_list_t *l,
                       bool lost)
{
    engine *e = arg;
    /* Write what we hold for them before letting go (a lost assignment is
     * checkpointed too: if another instance claimed them meanwhile, the
     * fence refuses our write and nothing is harmed). */
    if (!e->blocked)
        do_checkpoint(e, true);
    for (int i = 0; i < l->cnt; i++) {
        int k = find_part(e, l->elems[i].topic, l->elems[i].partition);
        if (k < 0)
            continue;
        log_notice("partition %s partition=%s:%d", lost ? "lost" : "revoked",
                   l->elems[i].topic, (int)l->elems[i].partition);
        forget_part(e, k);
    }
}

/* --- the batch -------------------------------------------------------------- */

static void fetch_reset(fetchlist *f)
{
    f->n = 0;
    buf_reset(&f->ids);
    if (f->set != NULL)
        memset(f->set, 0, f->set_size * sizeof *f->set);
}


/* Adds an id to the fetch list unless it is there already. */
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
    engine *e;
    const int *part_of;      /* query i -> parts index */
    int failed;
} due_ctx;

static void on_due(void *arg, size_t i, const char *id, size_t len)
{
    due_ctx *d = arg;
    engine *e = d->e;
    if (state_creator_find(e->st, id, len) != NULL)
        return;
    if (fetch_add(&e->fl, id, len, e->parts[d->part_of[i]].slot, false) < 0)
        d->failed = 1;
}

/* Memory ran out while partition `slot`'s state changed. */
static void nomem_slot(engine *e, int slot)
{
    for (size_t k = 0; k < e->nparts; k++)
        if (e->parts[k].used && e->parts[k].claimed && e->parts[k].slot == slot)
            e->parts[k].nomem = true;
    e->nomem = true;
}

static void on_blob(void *arg, size_t i, const char *blob, size_t len)
{
    engine *e = arg;
    fetchlist *f = &e->fl;
    const char *id = f->ids.data + f->off[i];
    if (state_creator_find(e->st, id, f->len[i]) != NULL)
        return;
    if (blob != NULL) {
        char err[256];
        state_creator *c;
        bloom_add(e->known, id, f->len[i]);
        buf_decode_result r = state_creator_restore(
            e->st, f->slot[i], id, f->len[i], blob, len, &c, err, sizeof err);
        if (r == BUF_DECODED)
            return;
        if (r == BUF_NOMEM) {
            /* Not the blob's fault: never start it afresh for that. */
            nomem_slot(e, f->slot[i]);
            return;
        }
        log_error("creator state unreadable, starting it afresh creator=%.*s "
                  "error=\"%s\"",
                  (int)f->len[i], id, err);
    }
    if ((blob != NULL || f->for_event[i]) &&
        state_creator_new(e->st, f->slot[i], id, f->len[i]) == NULL)
        nomem_slot(e, f->slot[i]);
}

/*
 * Parses the batch and loads from Redis every creator it needs: those of
 * its events that are not in memory, and those of its partitions whose
 * wake time comes before the batch's last event.  Returns -1 when Redis
 * failed (the batch is kept for a retry).
 */
static int prepare(engine *e)
{
    event_limits lim = {e->cfg->max_event_bytes, e->cfg->max_future_ms};
    int64_t now = now_wall_ms();
    int64_t *batch_max = calloc(e->nparts ? e->nparts : 1, sizeof *batch_max);
    if (batch_max == NULL) {
        block(e, "out of memory preparing a batch");
        return -1;
    }
    for (size_t p = 0; p < e->nparts; p++)
        batch_max[p] = INT64_MIN;
    fetch_reset(&e->fl);
    int rc = 0;
    size_t made_new = 0;
    for (size_t i = 0; i < e->nbatch; i++) {
        bitem *it = &e->batch[i];
        if (it->part < 0)
            continue;
        rd_kafka_message_t *m = it->msg;
        it->err = event_parse(m->payload, m->len, m->key, m->key_len, &lim,
                              now, &it->ev, it->detail, sizeof it->detail);
        if (it->err == EVENT_ERR_NOMEM) {
            rc = -1; /* parsed again when memory allows */
            continue;
        }
        if (it->err != EVENT_OK)
            continue;
        if (it->ev.ts_ms > batch_max[it->part])
            batch_max[it->part] = it->ev.ts_ms;
        const char *id = it->ev.creator_id;
        size_t len = it->ev.creator_id_len;
        it->c = state_creator_find(e->st, id, len);
        if (it->c != NULL)
            continue;
        epart *ep = &e->parts[it->part];
        if (!ep->lookup_all && !bloom_maybe(e->known, id, len)) {
            /* Never in Redis as far as we know: no round trip, which would
             * wait behind the checkpoint Redis is running. */
            if (state_creator_new(e->st, ep->slot, id, len) == NULL) {
                rc = -1;
            } else {
                bloom_add(e->known, id, len);
                made_new++;
            }
        } else if (fetch_add(&e->fl, id, len, ep->slot, true) < 0) {
            rc = -1;
        }
    }
    /* Creators not in memory whose buckets expire before the batch's end. */
    size_t nq = 0;
    store_range *q = calloc(e->nparts ? e->nparts : 1, sizeof *q);
    int *part_of = calloc(e->nparts ? e->nparts : 1, sizeof *part_of);
    if (!q || !part_of)
        rc = -1;
    if (rc < 0)
        block(e, "out of memory preparing a batch");
    for (size_t p = 0; rc == 0 && p < e->nparts; p++) {
        epart *ep = &e->parts[p];
        if (!ep->used || !ep->claimed || !ep->nonresident)
            continue;
        int64_t W = state_partition_watermark(e->st, ep->slot);
        int64_t end = batch_max[p] > W ? batch_max[p] : W;
        if (end == STATE_NO_WATERMARK || end <= ep->due_from)
            continue;
        q[nq].topic = ep->topic;
        q[nq].partition = ep->partition;
        q[nq].from = ep->due_from;
        q[nq].to = end;
        part_of[nq++] = (int)p;
    }
    char err[512];
    due_ctx d = {e, part_of, 0};
    if (rc == 0 && nq > 0 &&
        store_due(e->db, q, nq, on_due, &d, err, sizeof err) < 0) {
        block(e, err);
        rc = -1;
    }
    if (rc == 0 && d.failed) {
        block(e, "out of memory preparing a batch");
        rc = -1;
    }
    if (made_new > 0 || e->fl.n > 0)
        log_debug("batch prepared made_new=%zu looked_up=%zu", made_new,
                  e->fl.n);
    if (rc == 0 && e->fl.n > 0) {
        const char **ids = malloc(e->fl.n * sizeof *ids);
        if (ids == NULL) {
            block(e, "out of memory preparing a batch");
            rc = -1;
        } else {
            for (size_t i = 0; i < e->fl.n; i++)
                ids[i] = e->fl.ids.data + e->fl.off[i];
            if (store_fetch(e->db, ids, e->fl.len, e->fl.n, on_blob, e, err,
                            sizeof err) < 0) {
                block(e, err);
                rc = -1;
            }
            free(ids);
        }
    }
    if (rc == 0 && e->nomem)
        rc = -1; /* recover_nomem reads the partitions back */
    if (rc == 0)
        for (size_t k = 0; k < nq; k++)
            e->parts[part_of[k]].due_from = q[k].to;
    free(q);
    free(part_of);
    free(batch_max);
    return rc;
}

static void send_dlq(engine *e, bitem *it, event_error err, const char *detail)
{
    char msg[512];
    metrics_dlq(e->m, err);
    while (sink_dlq(e->snk, it->msg, event_error_name(err), detail, msg,
                    sizeof msg) < 0) {
        /* The producer's queue is full: wait for room, never drop. */
        log_limited("dlq-produce", LOG_LEVEL_WARNING, "%s", msg);
        sink_flush(e->snk, 100, msg, sizeof msg);
    }
}

static void note_produce_time(engine *e, const rd_kafka_message_t *m,
                              int part)
{
    int64_t ts = rd_kafka_message_timestamp(m, NULL);
    if (ts < 0)
        return;
    if (e->nproduced_at == e->produced_at_cap) {
        size_t cap = e->produced_at_cap ? e->produced_at_cap * 2 : 4096;
        stamp *p = realloc(e->produced_at, cap * sizeof *p);
        if (p == NULL)
            return; /* a latency sample lost, nothing else */
        e->produced_at = p;
        e->produced_at_cap = cap;
    }
    e->produced_at[e->nproduced_at++] = (stamp){ts, part};
}

static void apply(engine *e)
{
    for (size_t i = 0; i < e->nbatch; i++) {
        bitem *it = &e->batch[i];
        if (it->part >= 0) {
            epart *p = &e->parts[it->part];
            rd_kafka_message_t *m = it->msg;
            /* Read again after a pause: already applied. */
            if (p->next_offset >= 0 && m->offset < p->next_offset)
                goto next;
            event_error err = it->err;
            if (err == EVENT_OK) {
                state_creator *c = it->c != NULL
                                       ? it->c
                                       : state_creator_find(
                                             e->st, it->ev.creator_id,
                                             it->ev.creator_id_len);
                err = c == NULL ? EVENT_ERR_NOMEM
                                : state_apply(e->st, state_creator_slot(c), c,
                                              &it->ev, it->detail,
                                              sizeof it->detail);
            }
            if (err == EVENT_ERR_NOMEM) {
                /* Neither refused nor skipped: the partition stops here,
                 * and its state is read back and this event applied again
                 * (recover_nomem). */
                p->nomem = true;
                e->nomem = true;
                drop_batch_items(e, it->part);
                goto next;
            }
            int type = err == EVENT_OK || err == EVENT_ERR_TOO_LATE
                           ? (int)it->ev.type
                           : -1;
            metrics_event(e->m, type, err != EVENT_OK);
            if (err != EVENT_OK)
                send_dlq(e, it, err, it->detail);
            p->next_offset = m->offset + 1;
            if (e->events_since_ckpt++ == 0) {
                e->first_pending_ms = now_mono_ms();
                int64_t ts = rd_kafka_message_timestamp(m, NULL);
                e->first_pending_lag = ts >= 0 ? now_wall_ms() - ts : 0;
            }
            note_produce_time(e, m, it->part);
            e->applied_total++;
        }
    next:
        rd_kafka_message_destroy(it->msg);
    }
    log_debug("batch applied applied_total=%" PRIu64 " batch=%zu",
              e->applied_total, e->nbatch);
    e->nbatch = 0;
}

static void fill(engine *e, int timeout_ms)
{
    rd_kafka_message_t *m = source_poll(e->src, timeout_ms);
    while (m != NULL) {
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                metrics_kafka_error(e->m);
                log_limited("kafka-consume", LOG_LEVEL_WARNING,
                            "Kafka consume error error=\"%s\"",
                            rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        } else {
            int k = m->rkt ? find_part(e, rd_kafka_topic_name(m->rkt),
                                       m->partition)
                           : -1;
            if (k < 0 || !e->parts[k].claimed || e->parts[k].paused ||
                e->blocked) {
                /* Not ours any more, or paused: read again on resume. */
                rd_kafka_message_destroy(m);
            } else {
                bitem *it = &e->batch[e->nbatch++];
                it->msg = m;
                it->part = k;
                it->err = EVENT_OK;
                it->c = NULL;
                if (e->nbatch == BATCH_MAX)
                    break;
            }
        }
        m = source_poll(e->src, 0);
    }
}

/* --- checkpoints ------------------------------------------------------------ */

static void free_ck_parts(engine *e)
{
    for (size_t i = 0; i < e->nck_parts; i++)
        free((char *)(uintptr_t)e->ck_parts[i].topic);
    free(e->ck_parts);
    e->ck_parts = NULL;
    e->nck_parts = 0;
}

/*
 * With more than checkpoint.max_creators dirty, a checkpoint writes the
 * creators of some partitions only: in turn from where the last one
 * stopped, until they reach that many (one partition at least).  Partitions
 * with no dirty creator always go (their offsets cost nothing).  The others
 * wait for the next checkpoint, which is due at once.  Sets ck_partial and
 * ck_done, and keeps in ck_parts the partitions written.  Returns -1 out of
 * memory.
 */
static int select_ck_parts(engine *e)
{
    e->ck_partial = false;
    size_t ndirty = state_dirty_count(e->st);
    if ((int64_t)ndirty <= e->cfg->checkpoint_max_creators || e->nparts == 0)
        return 0;
    size_t nslots = 0;
    for (size_t i = 0; i < e->nck_parts; i++)
        if ((size_t)e->ck_parts[i].slot + 1 > nslots)
            nslots = (size_t)e->ck_parts[i].slot + 1;
    size_t *per = calloc(nslots ? nslots : 1, sizeof *per);
    bool *done = calloc(nslots ? nslots : 1, sizeof *done);
    int *slots = calloc(e->nparts, sizeof *slots);
    if (per == NULL || done == NULL || slots == NULL) {
        free(per);
        free(done);
        free(slots);
        return -1;
    }
    for (size_t i = 0; i < ndirty; i++) {
        int slot = state_creator_slot(state_dirty_get(e->st, i));
        if (slot >= 0 && (size_t)slot < nslots)
            per[slot]++;
    }
    for (size_t k = 0; k < e->nparts; k++)
        slots[k] = e->parts[k].used && e->parts[k].claimed ? e->parts[k].slot
                                                           : -1;
    size_t next = pacing_select(slots, e->nparts, per, nslots, e->ck_next,
                                e->cfg->checkpoint_max_creators, done);
    free(slots);
    size_t kept = 0;
    for (size_t i = 0; i < e->nck_parts; i++) {
        payload_part *c = &e->ck_parts[i];
        if (done[c->slot])
            e->ck_parts[kept++] = *c;
        else
            free((char *)(uintptr_t)c->topic);
    }
    e->ck_partial = kept < e->nck_parts;
    e->nck_parts = kept;
    e->ck_next = next;
    free(per);
    free(e->ck_done);
    e->ck_done = done;
    e->nck_done = nslots;
    return 0;
}

static int build_ck_parts(engine *e, bool *changed, bool all)
{
    free_ck_parts(e);
    e->ck_parts = calloc(e->nparts ? e->nparts : 1, sizeof *e->ck_parts);
    if (e->ck_parts == NULL)
        return -1;
    *changed = state_dirty_count(e->st) > 0 || state_alert_count(e->st) > 0;
    for (size_t i = 0; i < e->nparts; i++) {
        epart *p = &e->parts[i];
        if (!p->used || !p->claimed)
            continue;
        payload_part *c = &e->ck_parts[e->nck_parts];
        c->topic = strdup(p->topic);
        if (c->topic == NULL)
            return -1;
        e->nck_parts++;
        c->partition = p->partition;
        c->slot = p->slot;
        c->epoch = p->epoch;
        c->seq = p->seq;
        c->offset = p->next_offset >= 0 ? p->next_offset : -1;
        c->watermark = state_partition_watermark(e->st, p->slot);
        if (c->offset >= 0 && c->offset != p->written_offset)
            *changed = true;
    }
    if (all) {
        e->ck_partial = false;
        return 0;
    }
    return select_ck_parts(e);
}

/*
 * After a checkpoint is built: its creators count as written, and the
 * Kafka timestamps of its events wait for its answer.  A partial one
 * leaves the other partitions' creators dirty and their events pending.
 */
static void ck_built(engine *e)
{
    if (!e->ck_partial) {
        state_checkpoint_done(e->st);
        e->events_since_ckpt = 0;
        stamp *t = e->inflight_at;
        size_t cap = e->inflight_at_cap;
        e->inflight_at = e->produced_at;
        e->inflight_at_cap = e->produced_at_cap;
        e->ninflight_at = e->nproduced_at;
        e->produced_at = t;
        e->produced_at_cap = cap;
        e->nproduced_at = 0;
        return;
    }
    state_checkpoint_done_slots(e->st, e->ck_done, e->nck_done);
    if (e->inflight_at_cap < e->nproduced_at) {
        stamp *t = realloc(e->inflight_at, e->nproduced_at * sizeof *t);
        if (t != NULL) {
            e->inflight_at = t;
            e->inflight_at_cap = e->nproduced_at;
        }
    }
    size_t kept = 0;
    e->ninflight_at = 0;
    for (size_t i = 0; i < e->nproduced_at; i++) {
        stamp st = e->produced_at[i];
        int slot = e->parts[st.part].slot;
        bool in = slot >= 0 && (size_t)slot < e->nck_done && e->ck_done[slot];
        if (!in)
            e->produced_at[kept++] = st;
        else if (e->ninflight_at < e->inflight_at_cap)
            e->inflight_at[e->ninflight_at++] = st;
        /* else: a latency sample lost, nothing else */
    }
    e->nproduced_at = kept;
    /* What is left is due at once (first_pending_ms is past). */
    e->events_since_ckpt = kept > 0 || state_dirty_count(e->st) > 0;
}

static void after_commit(engine *e, int64_t answered_ms)
{
    for (size_t i = 0; i < e->ninflight_at; i++)
        metrics_event_latency(e->m, answered_ms - e->inflight_at[i].ts, 1);
    e->ninflight_at = 0;
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new((int)e->nck_parts);
    for (size_t i = 0; i < e->nck_parts; i++) {
        payload_part *c = &e->ck_parts[i];
        int k = find_part(e, c->topic, c->partition);
        if (k < 0 || !e->parts[k].claimed || e->parts[k].epoch != c->epoch)
            continue;
        e->parts[k].seq = c->seq + 1;
        if (c->offset >= 0) {
            e->parts[k].written_offset = c->offset;
            rd_kafka_topic_partition_list_add(l, c->topic, c->partition)
                ->offset = c->offset;
        }
    }
    source_commit(e->src, l);
    rd_kafka_topic_partition_list_destroy(l);
    free_ck_parts(e);
    e->checkpoints++;
    /* Bounded memory: whoever goes now is read back from Redis when an
     * event or a bucket expiry of theirs comes.  Only now, with nothing in
     * flight: every clean creator's state is in Redis. */
    if (e->cfg->max_creators > 0 &&
        state_creator_count(e->st) > (size_t)e->cfg->max_creators) {
        size_t n = state_evict(e->st, (size_t)e->cfg->max_creators);
        if (n > 0) {
            for (size_t i = 0; i < e->nparts; i++)
                e->parts[i].nonresident = true;
            log_debug("evicted creators=%zu remaining=%zu", n,
                      state_creator_count(e->st));
        }
    }
}

/*
 * A partition whose state in memory is ahead of Redis by a checkpoint that
 * was refused: forget that state and claim the partition again, which reads
 * back its offset and watermark; its creators are read back as they come.
 */
static void rewind_part(engine *e, int k, const char *why)
{
    epart *p = &e->parts[k];
    log_notice("%s; reading this partition back from Redis partition=%s:%d",
               why, p->topic, (int)p->partition);
    state_partition_drop(e->st, p->slot);
    drop_batch_items(e, k);
    if (!p->paused)
        source_pause(e->src, p->topic, p->partition);
    p->paused = true;
    p->claimed = false;
    e->pending_claims = true;
}

/*
 * Memory ran out while some partitions' state changed (state_apply,
 * state_creator_restore): their state may be half updated, so it is
 * dropped and read back from Redis, and the event that failed is applied
 * again from there; nothing is refused or skipped (issue 15).  Reading
 * then waits with backoff, as for a Redis failure, so that memory has a
 * chance to come back.  stopping: no backoff, the final checkpoint
 * follows.
 */
static void recover_nomem(engine *e, bool stopping)
{
    if (!e->nomem)
        return;
    e->nomem = false;
    /* Claiming a partition again while a checkpoint that holds it travels
     * would fence the whole checkpoint: take its answer first. */
    if (checkpoint_busy(e->ck))
        collect(e, -1);
    for (size_t k = 0; k < e->nparts; k++) {
        epart *p = &e->parts[k];
        if (!p->used || !p->nomem)
            continue;
        p->nomem = false;
        if (p->claimed)
            rewind_part(e, (int)k, "out of memory applying an event");
    }
    if (!stopping)
        block(e, "out of memory applying an event");
}

/*
 * Fenced: another instance owns some of the checkpoint's partitions now.
 * Nothing of the checkpoint was written, so the others are read back too.
 */
static void on_fenced(engine *e)
{
    for (size_t i = 0; i < e->nck_parts; i++) {
        payload_part *c = &e->ck_parts[i];
        int k = find_part(e, c->topic, c->partition);
        if (k < 0 || !e->parts[k].claimed)
            continue;
        if (e->parts[k].epoch != c->epoch) {
            /* A payload left in doubt by an outage, refused because we
             * claimed the partition again since (it was revoked and came
             * back): the old state went with the revocation, the new claim
             * is ours to keep. */
            if (c->fenced)
                log_notice("stale checkpoint refused for a partition claimed "
                           "again since; keeping the new claim "
                           "partition=%s:%d", c->topic, (int)c->partition);
            continue;
        }
        if (!c->fenced) {
            rewind_part(e, k, "checkpoint refused because another partition was "
                           "fenced");
            continue;
        }
        log_warning("partition fenced: another instance owns it now; "
                    "dropping its state partition=%s:%d", c->topic,
                    (int)c->partition);
        metrics_partition_remove(e->m, e->parts[k].topic,
                                 e->parts[k].partition);
        state_partition_drop(e->st, e->parts[k].slot);
        drop_batch_items(e, k);
        source_pause(e->src, e->parts[k].topic, e->parts[k].partition);
        /* Reclaimed only if Kafka assigns it to us again. */
        free(e->parts[k].topic);
        memset(&e->parts[k], 0, sizeof e->parts[k]);
    }
    e->ninflight_at = 0;
    free_ck_parts(e);
}

/*
 * A creator made without asking Redis had state there after all: the topic
 * gained partitions (its creators moved), or an older engaged wrote it
 * before the index listed every creator.  Nothing was written; the
 * checkpoint's partitions are read back, looking every unseen creator up
 * from now on.
 */
static void on_not_new(engine *e, const char *why)
{
    log_warning("checkpoint refused: %s; reading its partitions back and "
                "looking every unseen creator of theirs up from now on",
                why);
    for (size_t i = 0; i < e->nck_parts; i++) {
        payload_part *c = &e->ck_parts[i];
        int k = find_part(e, c->topic, c->partition);
        if (k < 0 || !e->parts[k].claimed || e->parts[k].epoch != c->epoch)
            continue;
        e->parts[k].lookup_all = true;
        rewind_part(e, k, "checkpoint refused because a creator taken as new "
                       "had state");
    }
    e->ninflight_at = 0;
    free_ck_parts(e);
}

/*
 * The answer to the checkpoint in flight, waiting up to wait_ms (-1: until
 * it comes).  Returns 1 while it has not come, 0 when written (or when
 * nothing is in flight), -1 when it failed (blocked) or was fenced.
 */
static int collect(engine *e, int wait_ms)
{
    if (!checkpoint_busy(e->ck))
        return 0;
    char err[512];
    int64_t at;
    checkpoint_result r = checkpoint_wait(e->ck, wait_ms, e->ck_parts,
                                          e->nck_parts, &at, err, sizeof err);
    if (r == CHECKPOINT_PENDING)
        return 1;
    double secs = (double)(at - e->ck_sent_wall_ms) / 1000.0;
    metrics_checkpoint(e->m,
                       r == CHECKPOINT_OK       ? METRICS_CHECKPOINT_OK
                       : r == CHECKPOINT_FENCED ? METRICS_CHECKPOINT_FENCED
                       : r == CHECKPOINT_NOT_NEW ? METRICS_CHECKPOINT_NOT_NEW
                                                 : METRICS_CHECKPOINT_ERROR,
                       secs < 0 ? 0 : secs);
    if (r == CHECKPOINT_OK) {
        e->ck_ms_avg = pacing_average(e->ck_ms_avg, secs * 1000);
        log_debug("checkpoint written partitions=%zu creators=%zu bytes=%zu "
                  "ms=%.1f",
                  e->nck_parts, checkpoint_payload_creators(e->ck),
                  checkpoint_payload_bytes(e->ck), secs * 1000);
        after_commit(e, at);
        return 0;
    }
    if (r == CHECKPOINT_ERROR) {
        block(e, err);
        return -1;
    }
    if (r == CHECKPOINT_NOT_NEW)
        on_not_new(e, err);
    else
        on_fenced(e);
    return -1;
}

/*
 * Produces to the alerts topic every alert decided since the last
 * checkpoint and not sent yet, and logs each as one line.  The checkpoint
 * that records them in the Redis stream waits for their delivery: at least
 * once on Kafka, exactly once in Redis, the same alert_id on both.
 */
static int send_alerts(engine *e, char *err, size_t err_size)
{
    uint64_t unchecked = state_conflicts_unchecked(e->st);
    for (; e->unchecked_seen < unchecked; e->unchecked_seen++)
        metrics_conflict_check_skipped(e->m);
    for (size_t i = 0; i < state_alert_count(e->st); i++) {
        const state_alert *a = state_alert_get(e->st, i);
        if (a->sent)
            continue;
        if (sink_send(e->snk, e->cfg->alerts_topic, a->creator_id,
                      a->creator_len, a->json, a->json_len, err,
                      err_size) < 0)
            return -1;
        state_alert_set_sent(e->st, i);
        metrics_alert(e->m, (metrics_alert_kind)a->kind,
                      a->status == ALERT_RESOLVED ? METRICS_ALERT_RESOLVED
                                                  : METRICS_ALERT_FIRING);
        log_notice("alert %s %s %s: %s alert_id=%s",
                   alert_status_name(a->status), alert_kind_name(a->kind),
                   alert_severity_name(a->severity), a->summary, a->alert_id);
    }
    return 0;
}

/* When the next checkpoint is due (monotonic ms; pacing.h says how). */
static int64_t checkpoint_due_ms(const engine *e)
{
    return pacing_due_ms(e->next_ckpt_ms, e->events_since_ckpt,
                         e->first_pending_ms, e->first_pending_lag,
                         e->cfg->checkpoint_interval_ms, e->ck_ms_avg);
}

/*
 * Starts a checkpoint when something changed (or resends the one in
 * doubt), after collecting the answer to the one in flight.  A checkpoint
 * is built on this thread and written by the checkpoint's writer thread
 * while consumption goes on; the state counts as written as soon as it is
 * built (state_checkpoint_done), and a refusal reads the partitions back
 * from Redis (on_fenced).  sync: wait for the answer (revocation, stop,
 * recovery).  Returns 0 when nothing failed (with sync: Redis is up to
 * date), -1 otherwise.
 */
static int do_checkpoint(engine *e, bool sync)
{
    int c = collect(e, sync ? -1 : 0);
    if (c > 0)
        return 0; /* the next one waits for this answer */
    if (c < 0)
        return -1;
    char err[512];
    e->next_ckpt_ms = now_mono_ms() + e->cfg->checkpoint_interval_ms;
    bool resend = checkpoint_in_doubt(e->ck);
    if (!resend) {
        bool changed;
        if (build_ck_parts(e, &changed, sync) < 0) {
            block(e, "out of memory building a checkpoint");
            return -1;
        }
        if (!changed) {
            free_ck_parts(e);
            e->events_since_ckpt = 0;
            return 0;
        }
        if (send_alerts(e, err, sizeof err) < 0) {
            block(e, err);
            return -1;
        }
    }
    /* Built while the alerts just produced travel to the broker. */
    e->ck_sent_wall_ms = now_wall_ms();
    if (checkpoint_build(e->ck, e->st, e->ck_parts, e->nck_parts, err,
                         sizeof err) < 0) {
        block(e, err);
        return -1;
    }
    /* The DLQ messages and alerts before these offsets must be in Kafka
     * before Redis records the offsets. */
    if (!resend && sink_flush(e->snk, FLUSH_TIMEOUT_MS, err, sizeof err) < 0) {
        char why[600];
        snprintf(why, sizeof why, "DLQ or alerts not delivered: %s", err);
        block(e, why);
        return -1;
    }
    checkpoint_send(e->ck, e->ck_parts, e->nck_parts);
    if (!resend)
        ck_built(e);
    return sync ? collect(e, -1) : 0;
}

/* --- reload ----------------------------------------------------------------- */

/*
 * SIGHUP: parse the file into a new configuration, check it, then take
 * what may change live (config_live.h) into the running one.  A broken
 * file changes nothing.
 */
static void reload(engine *e)
{
    notify_reloading();
    char err[8192] = "";
    config *n = config_load(e->cfg->path, err, sizeof err);
    if (n != NULL && kafkaconf_check(n, err, sizeof err) < 0) {
        config_free(n);
        n = NULL;
    }
    if (n == NULL) {
        for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
            log_error("reload refused, the running configuration is kept: %s",
                      line);
        notify_ready();
        return;
    }
    int map[CONFIG_MAX_TIERS];
    size_t ntiers;
    if (config_live_apply(e->cfg, n, map, &ntiers))
        state_remap_tiers(e->st, map, ntiers);
    log_set_level(e->cfg->log_level);
    config_free(n);
    log_notice("configuration reloaded config=%s", e->cfg->path);
    notify_ready();
}

/* --- the loop --------------------------------------------------------------- */

static void log_stats(engine *e)
{
    log_info("stats events=%" PRIu64 " creators=%zu memory_bytes=%zu "
             "checkpoints=%" PRIu64,
             metrics_events_total(e->m), state_creator_count(e->st),
             state_memory(e->st), e->checkpoints);
}

/* Gauges for /metrics, and the STATUS= line systemd shows. */
static void publish(engine *e, int64_t now)
{
    if (now >= e->next_gauges_ms) {
        e->next_gauges_ms = now + GAUGES_EVERY_MS;
        int64_t lag = 0;
        for (size_t i = 0; i < e->nparts; i++) {
            epart *p = &e->parts[i];
            if (!p->used || !p->claimed)
                continue;
            int64_t l = source_lag(e->src, p->topic, p->partition,
                                   p->next_offset);
            if (l > 0)
                lag += l;
            metrics_partition_set(e->m, p->topic, p->partition,
                                  l >= 0 ? l : METRICS_NO_LAG,
                                  state_partition_watermark(e->st, p->slot));
        }
        metrics_set_creators(e->m, (int64_t)state_creator_count(e->st));
        metrics_set_state_bytes(e->m, (int64_t)state_memory(e->st));
        metrics_set_kafka_nudges(e->m, source_nudges(e->src));
        if (now >= e->next_status_ms) {
            uint64_t total = metrics_events_total(e->m);
            double rate = e->status_at_ms
                              ? (double)(total - e->status_events) * 1000.0 /
                                    (double)(now - e->status_at_ms)
                              : 0;
            notify_status("%s events/s=%.0f lag=%" PRId64 " creators=%zu",
                          e->blocked ? "Redis unreachable, paused;" : "running;",
                          rate, lag, state_creator_count(e->st));
            e->status_events = total;
            e->status_at_ms = now;
            e->next_status_ms = now + STATUS_EVERY_MS;
        }
    }
}

/* Liveness for the watchdog and /healthz; readiness for READY=1 and
 * /readyz: joined the group, Redis answering, every partition claimed. */
static void heartbeat(engine *e, int64_t now)
{
    metrics_heartbeat(e->m, now);
    if (e->watchdog_ms > 0 && now >= e->next_watchdog_ms) {
        notify_watchdog();
        e->next_watchdog_ms = now + e->watchdog_ms;
    }
    bool ready = e->joined && !e->blocked && !e->pending_claims;
    metrics_set_ready(e->m, ready);
    if (ready && !e->ready_sent) {
        notify_ready();
        e->ready_sent = true;
        log_notice("ready: joined group %s, Redis answering",
                   e->cfg->group_id);
    }
}

static void try_recover(engine *e)
{
    char err[512];
    if (store_ping(e->db, err, sizeof err) < 0) {
        block(e, err);
        return;
    }
    if (checkpoint_in_doubt(e->ck) || e->nck_parts > 0) {
        if (do_checkpoint(e, true) < 0)
            return;
    }
    unblock(e);
}

/*
 * Backpressure.  While a checkpoint is in flight, the creators changed
 * meanwhile make the next one; in a backlog they grow with the time Redis
 * takes, and the payload with them (38 MB for 42,000 creators in the
 * bench).  A checkpoint writes checkpoint.max_creators of them at most,
 * when the partitions allow (select_ck_parts); past twice that many dirty
 * (a few busy partitions, or Redis slower than reading), reading waits for
 * the answer, 100 ms at a time, so that signals and the watchdog are
 * served (a Redis that does not answer ends in the writer's timeout and
 * blocks).  Returns true while holding back.
 */
static bool hold_back(engine *e)
{
    if (!checkpoint_busy(e->ck) ||
        (int64_t)state_dirty_count(e->st) <
            2 * e->cfg->checkpoint_max_creators)
        return false;
    int64_t t0 = now_mono_ms();
    collect(e, 100);
    metrics_checkpoint_backpressure(e->m, now_mono_ms() - t0);
    return true;
}

int engine_run(engine *e)
{
    e->next_ckpt_ms = now_mono_ms() + e->cfg->checkpoint_interval_ms;
    e->next_stats_ms = now_mono_ms() + STATS_EVERY_MS;
    char err[512];
    if (store_ping(e->db, err, sizeof err) < 0)
        block(e, err);
    while (!stop_requested && !e->fatal) {
        int64_t now = now_mono_ms();
        heartbeat(e, now);
        publish(e, now);
        if (reload_requested) {
            reload_requested = 0;
            reload(e);
        }
        if (now >= e->next_stats_ms) {
            log_stats(e);
            e->next_stats_ms = now + STATS_EVERY_MS;
        }
        if (e->blocked) {
            if (now >= e->retry_at_ms)
                try_recover(e);
            if (e->blocked) {
                /* Serve rebalances; messages are dropped, read again later. */
                fill(e, 100);
                continue;
            }
        }
        if (e->pending_claims && claim_pending(e) < 0)
            continue;
        if (checkpoint_busy(e->ck) && collect(e, 0) < 0)
            continue;
        if (hold_back(e))
            continue;
        if (e->nbatch == 0) {
            int64_t wait = checkpoint_due_ms(e) - now;
            /* A checkpoint due while the last one is still in flight: look
             * for its answer every few ms rather than spin. */
            if (wait < 2 && checkpoint_busy(e->ck))
                wait = 2;
            fill(e, wait < 0 ? 0 : wait > 100 ? 100 : (int)wait);
        }
        if (e->nbatch > 0) {
            if (prepare(e) < 0) {
                recover_nomem(e, false);
                continue; /* blocked; the batch is kept */
            }
            apply(e);
            recover_nomem(e, false);
        }
        if (e->events_since_ckpt >= e->cfg->checkpoint_max_events ||
            (int64_t)state_dirty_count(e->st) >=
                e->cfg->checkpoint_max_creators ||
            now_mono_ms() >= checkpoint_due_ms(e))
            do_checkpoint(e, false);
    }
    notify_stopping();
    log_notice("stopping: finishing the batch in hand and checkpointing");
    int rc = 0;
    if (e->nbatch > 0 && !e->blocked && prepare(e) == 0)
        apply(e);
    recover_nomem(e, true);
    /* The final checkpoint gets a few tries before giving up. */
    for (int i = 0; i < 3; i++) {
        heartbeat(e, now_mono_ms());
        if (do_checkpoint(e, true) == 0 && !checkpoint_in_doubt(e->ck)) {
            rc = 0;
            break;
        }
        rc = 1;
    }
    if (rc != 0)
        log_error("final checkpoint failed; the next start replays from the "
                  "last one, nothing is lost");
    for (size_t i = 0; i < e->nbatch; i++)
        rd_kafka_message_destroy(e->batch[i].msg);
    e->nbatch = 0;
    /* Revocations during close checkpoint again: nothing left to write. */
    e->blocked = e->blocked || rc != 0;
    source_close(e->src);
    log_stats(e);
    log_notice("stopped");
    return e->fatal ? 1 : rc;
}

/* --- construction ----------------------------------------------------------- */

engine *engine_new(config *cfg, metrics *m, char *errstr, size_t errstr_size)
{
    engine *e = calloc(1, sizeof *e);
    if (e == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        config_free(cfg);
        return NULL;
    }
    e->cfg = cfg;
    e->m = m;
    e->watchdog_ms = notify_watchdog_interval_ms();
    e->batch = calloc(BATCH_MAX, sizeof *e->batch);
    if (e->batch == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    const char *bootstrap = cfg->bootstrap_servers;
    if (strcmp(bootstrap, "embedded") == 0) {
        e->emb = embedded_start(cfg, errstr, errstr_size);
        if (e->emb == NULL)
            goto fail;
        bootstrap = embedded_bootstraps(e->emb);
    }
    if ((e->st = state_new(cfg, errstr, errstr_size)) == NULL ||
        (e->ck = checkpoint_new(cfg, errstr, errstr_size)) == NULL ||
        (e->db = store_new(cfg, errstr, errstr_size)) == NULL ||
        (e->snk = sink_new(cfg, bootstrap, errstr, errstr_size)) == NULL)
        goto fail;
    source_callbacks cb = {on_assigned, on_revoked, e};
    if ((e->src = source_new(cfg, bootstrap, &cb, errstr, errstr_size)) ==
        NULL)
        goto fail;
    return e;
fail:
    engine_free(e);
    return NULL;
}

void engine_free(engine *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->nbatch; i++)
        rd_kafka_message_destroy(e->batch[i].msg);
    source_free(e->src);
    sink_free(e->snk);
    checkpoint_free(e->ck);
    store_free(e->db);
    state_free(e->st);
    bloom_free(e->known);
    for (size_t i = 0; i < e->nparts; i++)
        free(e->parts[i].topic);
    free(e->parts);
    free(e->batch);
    free(e->produced_at);
    free(e->inflight_at);
    free(e->ck_done);
    free_ck_parts(e);
    free(e->fl.off);
    free(e->fl.len);
    free(e->fl.slot);
    free(e->fl.for_event);
    free(e->fl.set);
    buf_free(&e->fl.ids);
    embedded_stop(e->emb);
    config_free(e->cfg);
    free(e);
}

#include "engine.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "alertmanager.h"
#include "batch.h"
#include "checkpoint.h"
#include "config_live.h"
#include "detect.h"
#include "embedded.h"
#include "kafkaconf.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "outbox.h"
#include "now.h"
#include "pacing.h"
#include "partitions.h"
#include "sink.h"
#include "source.h"
#include "state.h"
#include "status.h"
#include "store.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define STATS_EVERY_MS 60000
#define FLUSH_TIMEOUT_MS 5000
#define AM_FLUSH_MS 5000         /* Alertmanager, at stop */

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

/* A message's Kafka timestamp, and its partition (entry index). */
typedef struct stamp {
    int64_t ts;
    int part;
} stamp;

struct engine {
    config *cfg;
    metrics *m;              /* shared with the HTTP thread; not owned */
    embedded *emb;
    source *src;
    sink *snk;
    checkpoint *ck;
    store *db;               /* Redis reads, on a connection of its own */
    state *st;
    outbox *ob;              /* alerts decided, on their way out */
    detect *det;             /* decides them, through the state's hooks */
    partitions *ps;
    batch *b;
    status *stat;
    alertmanager *am;        /* the Alertmanager sink; NULL when off */
    /* checkpoint pacing */
    int64_t next_ckpt_ms;
    int64_t events_since_ckpt;
    int64_t first_pending_ms;    /* when the first of those was applied */
    int64_t first_pending_lag;   /* and how long after it was produced */
    bool idle;                   /* the last wait for messages found none */
    engine_reload_fn on_reload;  /* and its argument: engine_on_reload() */
    void *on_reload_arg;
    double ck_ms_avg;            /* recent checkpoints' send-to-answer time */
    payload_part *ck_parts;      /* the payload's partitions, kept in doubt */
    size_t nck_parts;
    /* Redis health */
    bool blocked;
    int64_t blocked_since_ms, retry_at_ms;
    int backoff_ms;
    int64_t next_stats_ms;
    uint64_t applied_total;      /* messages processed, refused included */
    uint64_t checkpoints;
    bool joined;                 /* the group gave us an assignment */
    bool fatal;                  /* stop with exit code 1 */
    uint64_t unchecked_seen;     /* conflict checks skipped, counted */
    /* Kafka timestamps of the messages since the last checkpoint, for the
     * event-to-checkpoint latency. */
    stamp *produced_at;
    size_t nproduced_at, produced_at_cap;
    /* ... and those of the checkpoint in flight (or in doubt). */
    stamp *inflight_at;
    size_t ninflight_at, inflight_at_cap;
    /* A checkpoint that leaves partitions out (checkpoint.max_creators):
     * ck_done[slot] for the state slots it writes; ck_next: the partition
     * the next one starts from. */
    bool ck_partial;
    bool *ck_done;
    size_t nck_done;
    size_t ck_next;
    int64_t ck_sent_wall_ms;     /* when its build began: its duration
                                  * counts the build, the wait for its
                                  * alerts and Redis */
};

/* --- signals ------------------------------------------------------------------ */

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

/* --- Redis health ----------------------------------------------------------- */

/* Redis (or the DLQ, or memory) failed: stop consuming and retry with
 * backoff. */
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
        partitions_pause_all(e->ps);
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
    partitions_resume_all(e->ps);
}

/* --- partitions ------------------------------------------------------------- */

/* Claims what waits for its claim; blocks when Redis failed. */
static int claim(engine *e)
{
    char err[512];
    if (partitions_claim(e->ps, e->blocked, err, sizeof err) < 0) {
        block(e, err);
        return -1;
    }
    return 0;
}

static void on_assigned(void *arg, const rd_kafka_topic_partition_list_t *l)
{
    engine *e = arg;
    e->joined = true;
    if (partitions_assigned(e->ps, l) < 0) {
        /* An assigned partition nobody consumes would stall until the next
         * rebalance: stop, and let the supervisor restart us (nothing is
         * lost, the offsets are in Redis). */
        log_error("out of memory tracking a partition; stopping");
        e->fatal = true;
    }
    claim(e);
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
        int k = partitions_find(e->ps, l->elems[i].topic,
                                l->elems[i].partition);
        if (k < 0)
            continue;
        log_notice("partition %s partition=%s:%d", lost ? "lost" : "revoked",
                   l->elems[i].topic, (int)l->elems[i].partition);
        partitions_forget(e->ps, (size_t)k);
    }
}

/* --- the batch -------------------------------------------------------------- */

/* Pacing and latency: one message moved past (batch_applied_fn). */
static void on_applied(void *arg, const rd_kafka_message_t *m, int part)
{
    engine *e = arg;
    int64_t ts = rd_kafka_message_timestamp(m, NULL);
    if (e->events_since_ckpt++ == 0) {
        e->first_pending_ms = now_mono_ms();
        e->first_pending_lag = ts >= 0 ? now_wall_ms() - ts : 0;
    }
    e->applied_total++;
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

/*
 * Memory ran out while some partitions' state changed (batch.h): their
 * state may be half updated, so it is dropped and read back from Redis,
 * and the event that failed is applied again from there; nothing is
 * refused or skipped (issue 15).  Reading then waits with backoff, as for
 * a Redis failure, so that memory has a chance to come back.  stopping:
 * no backoff, the final checkpoint follows.  Returns whether any was.
 */
static bool recover_nomem(engine *e, bool stopping)
{
    bool any = false;
    for (size_t k = 0; k < partitions_count(e->ps); k++) {
        partitions_entry *p = partitions_at(e->ps, k);
        any |= p->used && p->nomem;
    }
    if (!any)
        return false;
    /* Claiming a partition again while a checkpoint that holds it travels
     * would fence the whole checkpoint: take its answer first. */
    if (checkpoint_busy(e->ck))
        collect(e, -1);
    for (size_t k = 0; k < partitions_count(e->ps); k++) {
        partitions_entry *p = partitions_at(e->ps, k);
        if (!p->used || !p->nomem)
            continue;
        p->nomem = false;
        if (p->claimed)
            partitions_rewind(e->ps, k, "out of memory applying an event");
    }
    if (!stopping)
        block(e, "out of memory applying an event");
    return true;
}

/* Prepares and applies the batch in hand.  Returns -1 when it is kept
 * (blocked). */
static int process(engine *e, bool stopping)
{
    char err[512];
    if (batch_prepare(e->b, now_wall_ms(), err, sizeof err) < 0) {
        if (!recover_nomem(e, stopping) && !stopping)
            block(e, err);
        return -1;
    }
    size_t n = batch_size(e->b);
    batch_apply(e->b, on_applied, e);
    log_debug("batch applied applied_total=%" PRIu64 " batch=%zu",
              e->applied_total, n);
    recover_nomem(e, stopping);
    return 0;
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
    if ((int64_t)ndirty <= e->cfg->checkpoint_max_creators || partitions_count(e->ps) == 0)
        return 0;
    size_t nslots = 0;
    for (size_t i = 0; i < e->nck_parts; i++)
        if ((size_t)e->ck_parts[i].slot + 1 > nslots)
            nslots = (size_t)e->ck_parts[i].slot + 1;
    size_t *per = calloc(nslots ? nslots : 1, sizeof *per);
    bool *done = calloc(nslots ? nslots : 1, sizeof *done);
    int *slots = calloc(partitions_count(e->ps), sizeof *slots);
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
    for (size_t k = 0; k < partitions_count(e->ps); k++) {
        const partitions_entry *p = partitions_at(e->ps, k);
        slots[k] = p->used && p->claimed ? p->slot : -1;
    }
    size_t next = pacing_select(slots, partitions_count(e->ps), per, nslots, e->ck_next,
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
    e->ck_parts = calloc(partitions_count(e->ps) ? partitions_count(e->ps) : 1, sizeof *e->ck_parts);
    if (e->ck_parts == NULL)
        return -1;
    *changed = state_dirty_count(e->st) > 0 || outbox_count(e->ob) > 0;
    for (size_t i = 0; i < partitions_count(e->ps); i++) {
        partitions_entry *p = partitions_at(e->ps, i);
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
        outbox_done(e->ob, NULL, 0);
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
    outbox_done(e->ob, e->ck_done, e->nck_done);
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
        int slot = partitions_at(e->ps, (size_t)st.part)->slot;
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
    const payload *pl = checkpoint_payload(e->ck);
    for (size_t i = 0; i < e->nck_parts; i++) {
        payload_part *c = &e->ck_parts[i];
        int k = partitions_find(e->ps, c->topic, c->partition);
        partitions_entry *p = k >= 0 ? partitions_at(e->ps, (size_t)k) : NULL;
        if (p == NULL || !p->claimed || p->epoch != c->epoch)
            continue;
        p->seq = c->seq + 1;
        /* Issue 18: the per-tier gauges move with what Redis committed,
         * under the claim this share was read with (a partition claimed
         * again since read its share back with this checkpoint in it). */
        partitions_share_commit(e->ps, (size_t)k, payload_share_tiers(pl),
                                payload_share_rows(pl),
                                payload_share_delta(pl, i));
        if (c->offset >= 0) {
            p->written_offset = c->offset;
            rd_kafka_topic_partition_list_add(l, c->topic, c->partition)
                ->offset = c->offset;
        }
    }
    partitions_share_publish(e->ps);
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
            partitions_nonresident(e->ps);
            log_debug("evicted creators=%zu remaining=%zu", n,
                      state_creator_count(e->st));
        }
    }
}

/*
 * Fenced: another instance owns some of the checkpoint's partitions now.
 * Nothing of the checkpoint was written, so the others are read back too.
 */
static void on_fenced(engine *e)
{
    for (size_t i = 0; i < e->nck_parts; i++) {
        payload_part *c = &e->ck_parts[i];
        int k = partitions_find(e->ps, c->topic, c->partition);
        partitions_entry *p = k >= 0 ? partitions_at(e->ps, (size_t)k) : NULL;
        if (p == NULL || !p->claimed)
            continue;
        if (p->epoch != c->epoch) {
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
            partitions_rewind(e->ps, (size_t)k,
                              "checkpoint refused because another partition "
                              "was fenced");
            continue;
        }
        partitions_fenced(e->ps, (size_t)k);
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
        int k = partitions_find(e->ps, c->topic, c->partition);
        partitions_entry *p = k >= 0 ? partitions_at(e->ps, (size_t)k) : NULL;
        if (p == NULL || !p->claimed || p->epoch != c->epoch)
            continue;
        p->lookup_all = true;
        partitions_rewind(e->ps, (size_t)k,
                          "checkpoint refused because a creator taken as new "
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
    uint64_t unchecked = detect_conflicts_unchecked(e->det);
    for (; e->unchecked_seen < unchecked; e->unchecked_seen++)
        metrics_conflict_check_skipped(e->m);
    for (size_t i = 0; i < outbox_count(e->ob); i++) {
        const outbox_alert *a = outbox_get(e->ob, i);
        if (a->sent)
            continue;
        if (sink_send(e->snk, e->cfg->alerts_topic, a->creator_id,
                      a->creator_len, a->json, a->json_len, err,
                      err_size) < 0)
            return -1;
        outbox_set_sent(e->ob, i);
        /* Issue 18: the same alert to Alertmanager, queued for the sink's
         * thread; never waits, never fails the checkpoint. */
        if (e->am != NULL)
            alertmanager_push(e->am, a->json, a->json_len);
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
                         e->cfg->checkpoint_interval_ms, e->ck_ms_avg,
                         e->idle);
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
    if (checkpoint_build(e->ck, e->st, e->ob, e->ck_parts, e->nck_parts, err,
                         sizeof err) < 0) {
        block(e, err);
        return -1;
    }
    /* The DLQ messages and alerts before these offsets must be in Kafka
     * before Redis records the offsets. */
    if (!resend && sink_flush(e->snk, FLUSH_TIMEOUT_MS, err, sizeof err) < 0) {
        if (sink_lost(e->snk) && !e->fatal) {
            log_error("%s; stopping without a checkpoint, the next start "
                      "produces it again", err);
            e->fatal = true;
        }
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
    if (e->on_reload != NULL)
        e->on_reload(e->on_reload_arg, e->cfg);
    log_notice("configuration reloaded config=%s", e->cfg->path);
    notify_ready();
}

void engine_on_reload(engine *e, engine_reload_fn fn, void *arg)
{
    e->on_reload = fn;
    e->on_reload_arg = arg;
}

/* --- the loop --------------------------------------------------------------- */

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
 * takes, and the payload with them.  A checkpoint writes
 * checkpoint.max_creators of them at most, when the partitions allow
 * (select_ck_parts); past twice that many dirty (a few busy partitions, or
 * Redis slower than reading), reading waits for the answer, 100 ms at a
 * time, so that signals and the watchdog are served (a Redis that does not
 * answer ends in the writer's timeout and blocks).  Returns true while
 * holding back.
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
        status_tick(e->stat, now, e->joined, e->blocked,
                    partitions_pending(e->ps));
        if (reload_requested) {
            reload_requested = 0;
            reload(e);
        }
        if (now >= e->next_stats_ms) {
            status_log_stats(e->stat, e->checkpoints);
            e->next_stats_ms = now + STATS_EVERY_MS;
        }
        if (e->blocked) {
            if (now >= e->retry_at_ms)
                try_recover(e);
            if (e->blocked) {
                /* Serve rebalances; messages are dropped, read again later. */
                batch_fill(e->b, e->src, 100, true);
                continue;
            }
        }
        if (partitions_pending(e->ps) && claim(e) < 0)
            continue;
        if (checkpoint_busy(e->ck) && collect(e, 0) < 0)
            continue;
        if (hold_back(e))
            continue;
        if (batch_size(e->b) == 0) {
            int wait = pacing_wait_ms(checkpoint_due_ms(e), now,
                                      e->events_since_ckpt,
                                      e->first_pending_lag,
                                      e->cfg->checkpoint_interval_ms, e->idle);
            /* A checkpoint due while the last one is still in flight: wait
             * for its answer (the writer ends the wait, wake_source) rather
             * than spin. */
            if (wait < 2 && checkpoint_busy(e->ck))
                wait = 2;
            batch_fill(e->b, e->src, wait, false);
            e->idle = batch_size(e->b) == 0;
        }
        if (batch_size(e->b) > 0 && process(e, false) < 0)
            continue; /* blocked; the batch is kept */
        if (e->events_since_ckpt >= e->cfg->checkpoint_max_events ||
            (int64_t)state_dirty_count(e->st) >=
                e->cfg->checkpoint_max_creators ||
            now_mono_ms() >= checkpoint_due_ms(e))
            do_checkpoint(e, false);
    }
    notify_stopping();
    log_notice("stopping: finishing the batch in hand and checkpointing");
    int rc = 0;
    if (batch_size(e->b) > 0 && !e->blocked)
        process(e, true);
    /* The final checkpoint gets a few tries before giving up. */
    for (int i = 0; i < 3; i++) {
        status_tick(e->stat, now_mono_ms(), e->joined, e->blocked,
                    partitions_pending(e->ps));
        if (do_checkpoint(e, true) == 0 && !checkpoint_in_doubt(e->ck)) {
            rc = 0;
            break;
        }
        rc = 1;
    }
    if (rc != 0)
        log_error("final checkpoint failed; the next start replays from the "
                  "last one, nothing is lost");
    batch_clear(e->b);
    /* Revocations during close checkpoint again: nothing left to write. */
    e->blocked = e->blocked || rc != 0;
    source_close(e->src);
    /* The alerts of the final checkpoint get a bounded time to reach
     * Alertmanager; what is left is counted as dropped. */
    alertmanager_stop(e->am, AM_FLUSH_MS);
    status_log_stats(e->stat, e->checkpoints);
    log_notice("stopped");
    return e->fatal ? 1 : rc;
}

/* --- construction ----------------------------------------------------------- */

/* The writer has an answer: a wait for messages ends, so that it is taken
 * (and the next checkpoint started) at once. */
static void wake_source(void *arg)
{
    source_wake(arg);
}

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
    const char *bootstrap = cfg->bootstrap_servers;
    if (strcmp(bootstrap, "embedded") == 0) {
        e->emb = embedded_start(cfg, errstr, errstr_size);
        if (e->emb == NULL)
            goto fail;
        bootstrap = embedded_bootstraps(e->emb);
    }
    if ((e->ob = outbox_new()) == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if ((e->st = state_new(cfg, errstr, errstr_size)) == NULL ||
        (e->det = detect_new(cfg, e->ob, errstr, errstr_size)) == NULL ||
        (e->ck = checkpoint_new(cfg, errstr, errstr_size)) == NULL ||
        (e->db = store_new(cfg, errstr, errstr_size)) == NULL ||
        (e->snk = sink_new(cfg, bootstrap, errstr, errstr_size)) == NULL)
        goto fail;
    state_hooks hooks = detect_hooks(e->det);
    state_set_hooks(e->st, &hooks);
    source_callbacks cb = {on_assigned, on_revoked, e};
    if ((e->src = source_new(cfg, bootstrap, &cb, errstr, errstr_size)) ==
            NULL ||
        (e->ps = partitions_new(cfg, e->src, e->db, e->st, m, errstr,
                                errstr_size)) == NULL ||
        (e->b = batch_new(cfg, e->ps, e->st, e->db, e->snk, m, errstr,
                          errstr_size)) == NULL ||
        (e->stat = status_new(cfg, m, e->ps, e->st, e->src, errstr,
                              errstr_size)) == NULL)
        goto fail;
    checkpoint_on_answer(e->ck, wake_source, e->src);
    if (cfg->am_url[0] != '\0' &&
        (e->am = alertmanager_new(cfg, m, errstr, errstr_size)) == NULL)
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
    alertmanager_free(e->am);
    batch_free(e->b);
    if (e->ck != NULL)
        checkpoint_on_answer(e->ck, NULL, NULL); /* the source goes first */
    source_free(e->src);
    sink_free(e->snk);
    checkpoint_free(e->ck);
    store_free(e->db);
    partitions_free(e->ps);
    status_free(e->stat);
    state_free(e->st);
    detect_free(e->det);
    outbox_free(e->ob);
    free(e->produced_at);
    free(e->inflight_at);
    free(e->ck_done);
    free_ck_parts(e);
    embedded_stop(e->emb);
    config_free(e->cfg);
    free(e);
}

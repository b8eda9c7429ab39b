#include "source.h"
#include "now.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafkaconf.h"
#include "log.h"

/*
 * The fetch nudge.  librdkafka before 2.1 stops fetching once the consumer
 * queue holds queued.min.messages or queued.max.messages.kbytes, and its
 * broker thread looks again only when something else wakes it, or after
 * its idle second: a consumer faster than the broker's fetches drains the
 * queue and then waits for up to a second (docs/performance.md says how
 * much that cost).  2.1 has fetch.queue.backoff.ms for this;
 * 2.0.2, Debian 12's, does not.  So when source_poll() sees the queue fall
 * below half its cap, a thread of ours asks the leaders of the assigned
 * partitions for their end offsets (one ListOffsets per leader): the
 * request wakes each broker thread, which then decides to fetch again.
 */
struct source {
    rd_kafka_t *rk;
    source_callbacks cb;
    bool closed;
    int close_ms;             /* how long a close may take */

    rd_kafka_queue_t *cq;     /* the consumer queue, for its length */
    size_t cap_msgs;          /* queued.min.messages */
    size_t cap_bytes;         /* queued.max.messages.kbytes, in bytes */
    size_t low_water;         /* nudge when the queue falls below this */
    bool filled;              /* at or above low_water since the last nudge */
    unsigned polls;           /* messages since low_water was last computed */
    uint64_t bytes;           /* their payload bytes */

    pthread_t nudger;         /* below: guarded by mu */
    bool nudger_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool nudge_due, quit;
    atomic_uint_fast64_t nudges;
};

static void *nudger_main(void *arg)
{
    source *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->nudge_due && !s->quit)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->quit)
            break;
        pthread_mutex_unlock(&s->mu);
        rd_kafka_topic_partition_list_t *parts = NULL;
        if (rd_kafka_assignment(s->rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            parts->cnt > 0) {
            /* As a timestamp, OFFSET_END asks for the end offset. */
            for (int i = 0; i < parts->cnt; i++)
                parts->elems[i].offset = RD_KAFKA_OFFSET_END;
            /* Past a second the broker thread has woken by itself. */
            rd_kafka_offsets_for_times(s->rk, parts, 1000);
            atomic_fetch_add_explicit(&s->nudges, 1, memory_order_relaxed);
        }
        if (parts != NULL)
            rd_kafka_topic_partition_list_destroy(parts);
        pthread_mutex_lock(&s->mu);
        s->nudge_due = false;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void nudger_stop(source *s)
{
    if (!s->nudger_started)
        return;
    pthread_mutex_lock(&s->mu);
    s->quit = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->nudger, NULL);
    s->nudger_started = false;
}

/* Reads a numeric setting of conf, or returns dflt. */
static size_t conf_size(rd_kafka_conf_t *conf, const char *name, size_t dflt)
{
    char v[64];
    size_t n = sizeof v;
    if (rd_kafka_conf_get(conf, name, v, &n) != RD_KAFKA_CONF_OK)
        return dflt;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    return end != v && *end == '\0' ? (size_t)x : dflt;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    source *s = opaque;
    switch (err) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        /* The owner assigns through source_assign() once it has claimed
         * the partitions in Redis.  An empty assignment (a new member that
         * gets nothing yet, or the "cooperative assign after revoke") must
         * be answered all the same: the group waits for that call before
         * it rebalances again. */
        s->cb.assigned(s->cb.arg, parts);
        if (parts->cnt == 0) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e != NULL) {
                log_warning("Kafka assign failed error=\"%s\"",
                            rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
        }
        break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS: {
        bool lost = rd_kafka_assignment_lost(rk);
        s->cb.revoked(s->cb.arg, parts, lost);
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
        if (e != NULL) {
            log_warning("Kafka unassign failed error=\"%s\"",
                        rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        break;
    }
    default:
        log_error("Kafka rebalance error error=\"%s\"", rd_kafka_err2str(err));
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
        if (e != NULL)
            rd_kafka_error_destroy(e);
        break;
    }
}

source *source_new(const config *cfg, const char *bootstrap,
                   const source_callbacks *cb, char *errstr,
                   size_t errstr_size)
{
    source *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->cb = *cb;
    static const char *const defaults[] = {
        "auto.offset.reset", "earliest",
        "session.timeout.ms", "10000",
        "max.poll.interval.ms", "300000",
        /* librdkafka prefetches up to 100,000 messages and 64 MB by
         * default, and keeps whole decompressed batches alive while any of
         * their messages is queued.  With the fetch nudge below, a small
         * queue keeps the loop fed as well, and its messages are still in
         * the CPU's caches when they are parsed: faster and smaller
         * (docs/performance.md).  2 MB is well under a second of events,
         * refilled in one fetch round trip. */
        "queued.min.messages", "10000",
        "queued.max.messages.kbytes", "2048",
        /* That cap is checked before a fetch, and one fetch brings up to
         * fetch.max.bytes more, counted compressed: librdkafka's defaults
         * (1 MB per partition, 50 MB in all) queued tens of thousands of
         * messages, a large part of the peak memory.  A partition's share
         * must still hold a whole producer batch: a broker cuts the slice
         * at max.partition.fetch.bytes, and the consumer drops the cut
         * batch at its end (only the first partition of a response comes
         * whole).  On Apache Kafka, with 160 KB zstd batches and 64 KB a
         * partition, each fetch brought one batch: the broker spent twice
         * the CPU serving them and engaged waited for the round trips
         * (docs/kafka.md).  1 MB a fetch, 256 KB a partition.  librdkafka
         * wants fetch.max.bytes >= message.max.bytes: see source_new(). */
        "fetch.max.bytes", "1048576",
        "max.partition.fetch.bytes", "262144",
        "message.max.bytes", "262144",
        /* An idle fetch returns at once when data arrives on a real broker;
         * the mock waits it out, so keep it short for latency. */
        "fetch.wait.max.ms", "100",
        NULL,
    };
    /* Offsets live in Redis: these must not be overridden. */
    const char *const forced[] = {
        "group.id", cfg->group_id,
        "partition.assignment.strategy", "cooperative-sticky",
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        NULL,
    };
    rd_kafka_conf_t *conf = kafkaconf_new(cfg, bootstrap, defaults, forced,
                                          errstr, errstr_size);
    if (conf == NULL) {
        free(s);
        return NULL;
    }
    /* message.max.bytes set in the file for the producer applies here
     * too: fetch.max.bytes follows it rather than refuse to start. */
    size_t maxmsg = conf_size(conf, "message.max.bytes", 262144);
    if (conf_size(conf, "fetch.max.bytes", 1048576) < maxmsg) {
        char v[32];
        snprintf(v, sizeof v, "%zu", maxmsg);
        char err[256];
        if (rd_kafka_conf_set(conf, "fetch.max.bytes", v, err, sizeof err) ==
            RD_KAFKA_CONF_OK)
            log_info("Kafka consumer fetch.max.bytes raised to "
                     "message.max.bytes bytes=%zu", maxmsg);
    }
    s->cap_msgs = conf_size(conf, "queued.min.messages", 100000);
    s->cap_bytes = conf_size(conf, "queued.max.messages.kbytes", 16384) * 1024;
    s->low_water = s->cap_msgs / 2;
    s->close_ms = (int)conf_size(conf, "session.timeout.ms", 10000);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, s);
    char err[512];
    s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (s->rk == NULL) {
        snprintf(errstr, errstr_size, "Kafka consumer: %s", err);
        free(s);
        return NULL;
    }
    rd_kafka_poll_set_consumer(s->rk);
    rd_kafka_topic_partition_list_t *topics =
        rd_kafka_topic_partition_list_new((int)cfg->ntopics);
    for (size_t i = 0; i < cfg->ntopics; i++)
        rd_kafka_topic_partition_list_add(topics, cfg->topics[i],
                                          RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(s->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        snprintf(errstr, errstr_size, "Kafka subscribe: %s",
                 rd_kafka_err2str(e));
        rd_kafka_destroy(s->rk);
        free(s);
        return NULL;
    }
    s->cq = rd_kafka_queue_get_consumer(s->rk);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (s->cq != NULL &&
        pthread_create(&s->nudger, NULL, nudger_main, s) == 0)
        s->nudger_started = true;
    else
        log_warning("Kafka fetch nudge off: no thread for it");
    return s;
}

/* Every so many messages, and whenever the queue is empty: the queue's
 * cap in messages, the smaller of the count and of the bytes at the mean
 * message size seen, and half of it as the low-water mark. */
#define NUDGE_EVERY 256

static void check_queue(source *s)
{
    if (s->polls >= NUDGE_EVERY * 16) {
        size_t mean = (size_t)(s->bytes / s->polls) + 1;
        size_t cap = s->cap_bytes / mean;
        s->low_water = (cap < s->cap_msgs ? cap : s->cap_msgs) / 2;
        s->polls = 0;
        s->bytes = 0;
    }
    size_t len = (size_t)rd_kafka_queue_length(s->cq);
    if (len >= s->low_water) {
        s->filled = true;
        return;
    }
    if (!s->filled)
        return;
    s->filled = false;
    pthread_mutex_lock(&s->mu);
    if (!s->nudge_due) {
        s->nudge_due = true;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

rd_kafka_message_t *source_poll(source *s, int timeout_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, timeout_ms);
    if (!s->nudger_started)
        return m;
    if (m != NULL) {
        s->polls++;
        s->bytes += m->len;
        if (s->polls % NUDGE_EVERY != 0)
            return m;
    }
    check_queue(s);
    return m;
}

void source_wake(source *s)
{
    if (s->cq != NULL)
        rd_kafka_queue_yield(s->cq);
}

uint64_t source_nudges(const source *s)
{
    return atomic_load_explicit(&s->nudges, memory_order_relaxed);
}

int source_assign(source *s, const char *topic, int32_t partition,
                  int64_t offset, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    /* A partition paused while we held it before (Redis was down when it
     * was lost) stays paused in librdkafka across the new assignment:
     * clear that, the owner pauses again if it still has to.  Before the
     * assignment, not after: a resume moves the partition's op version on,
     * which makes the answer to the assignment's query for a logical start
     * offset (no offset in Redis yet) outdated, and librdkafka 2.0 asks
     * again only 500 ms later.  Unknown to librdkafka yet: nothing to do. */
    rd_kafka_resume_partitions(s->rk, l);
    rd_kafka_error_t *e = rd_kafka_incremental_assign(s->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e != NULL) {
        snprintf(errstr, errstr_size, "Kafka assign %s:%d: %s", topic,
                 (int)partition, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    return 0;
}

void source_pause(source *s, const char *topic, int32_t partition)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition);
    rd_kafka_pause_partitions(s->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

void source_resume(source *s, const char *topic, int32_t partition,
                   int64_t offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    if (offset >= 0 || offset == RD_KAFKA_OFFSET_BEGINNING) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(s->rk, l, 5000);
        if (e != NULL) {
            log_warning("Kafka seek failed partition=%s:%d offset=%lld "
                        "error=\"%s\"",
                        topic, (int)partition, (long long)offset,
                        rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    }
    rd_kafka_resume_partitions(s->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

void source_commit(source *s, const rd_kafka_topic_partition_list_t *offsets)
{
    if (offsets->cnt > 0)
        rd_kafka_commit(s->rk, offsets, 1);
}


/*
 * librdkafka 2.0's rd_kafka_consumer_close() can wait for ever: a stop that
 * comes while the group rebalances and every broker goes away leaves it
 * waiting for a commit no coordinator can take (reproduced by
 * faults::two_instances_stopped_as_every_broker_goes_away).  So the close
 * runs in librdkafka's background, its rebalance events served here,
 * for at most session.timeout.ms: by then the group has dropped this
 * member anyway.
 */
void source_close(source *s)
{
    if (s->closed)
        return;
    s->closed = true;
    nudger_stop(s);
    rd_kafka_queue_t *q = rd_kafka_queue_new(s->rk);
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(s->rk, q);
    if (e != NULL) {
        log_warning("Kafka consumer close failed error=\"%s\"",
                    rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else {
        int64_t deadline = now_mono_ms() + s->close_ms;
        while (!rd_kafka_consumer_closed(s->rk)) {
            int64_t left = deadline - now_mono_ms();
            if (left <= 0) {
                log_warning("Kafka consumer did not leave the group in "
                            "time; stopping without it, the group drops this "
                            "member at its session timeout timeout_ms=%d",
                            s->close_ms);
                break;
            }
            rd_kafka_event_t *ev =
                rd_kafka_queue_poll(q, left < 100 ? (int)left : 100);
            if (ev == NULL)
                continue;
            /* Messages still queued are dropped: the final checkpoint is
             * written, and the next owner reads them again. */
            if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                rebalance_cb(s->rk, rd_kafka_event_error(ev),
                             rd_kafka_event_topic_partition_list(ev), s);
            else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_ERROR)
                log_warning("Kafka: %s error=%s",
                            rd_kafka_event_error_string(ev),
                            rd_kafka_err2name(rd_kafka_event_error(ev)));
            rd_kafka_event_destroy(ev);
        }
    }
    rd_kafka_queue_destroy(q);
}

void source_free(source *s)
{
    if (s == NULL)
        return;
    source_close(s);
    if (s->cq != NULL)
        rd_kafka_queue_destroy(s->cq);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    /* Closed above: destroy must not try again. */
    rd_kafka_destroy_flags(s->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    free(s);
}

int64_t source_lag(source *s, const char *topic, int32_t partition,
                   int64_t next_offset)
{
    int64_t lo, hi;
    if (rd_kafka_get_watermark_offsets(s->rk, topic, partition, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0)
        return -1;
    if (next_offset < lo)
        next_offset = lo;
    return hi > next_offset ? hi - next_offset : 0;
}

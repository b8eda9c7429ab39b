#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafkaconf.h"
#include "log.h"

struct source {
    rd_kafka_t *rk;
    source_callbacks cb;
    bool closed;
};

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

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk;
    /* librdkafka's levels are syslog levels, as are ours. */
    log_write(level < 3 ? 3 : level, "librdkafka: %s facility=%s", buf, fac);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    log_warning("Kafka: %s error=%s", reason,
                rd_kafka_err2name((rd_kafka_resp_err_t)err));
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
        /* librdkafka prefetches up to 64 MB by default; a few MB keep the
         * loop fed and memory per creator honest. */
        "queued.max.messages.kbytes", "16384",
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
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
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
    return s;
}

rd_kafka_message_t *source_poll(source *s, int timeout_ms)
{
    return rd_kafka_consumer_poll(s->rk, timeout_ms);
}

int source_assign(source *s, const char *topic, int32_t partition,
                  int64_t offset, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    rd_kafka_error_t *e = rd_kafka_incremental_assign(s->rk, l);
    /* A partition paused while we held it before (Redis was down when it
     * was lost) stays paused in librdkafka across the new assignment:
     * clear that, the owner pauses again if it still has to. */
    if (e == NULL)
        rd_kafka_resume_partitions(s->rk, l);
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

void source_close(source *s)
{
    if (s->closed)
        return;
    s->closed = true;
    rd_kafka_consumer_close(s->rk);
}

void source_free(source *s)
{
    if (s == NULL)
        return;
    source_close(s);
    rd_kafka_destroy(s->rk);
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

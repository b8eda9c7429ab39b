#include "sink.h"
#include "now.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafkaconf.h"
#include "log.h"

/* A DLQ message too large for the producer or the broker goes with this
 * much of its value, and a `truncated` header giving the original size:
 * refusing it forever would stop the partition (and the daemon). */
#define DLQ_TRUNCATE 65536

/* A message whose delivery failed, waiting to be produced again. */
typedef struct retry {
    struct retry *next;
    char *topic;
    void *key, *value;
    size_t keylen, len;
    rd_kafka_headers_t *headers;
} retry;

struct sink {
    rd_kafka_t *rk;
    rd_kafka_topic_t *warm[2]; /* the alerts and DLQ topics, held from the
                                * start so that their metadata is known
                                * before the first checkpoint waits on them */
    char *dlq_topic;
    retry *retries;
    uint64_t delivered, failures;
    bool lost;               /* a failed delivery could not be kept */
    char last_error[256];
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    sink *s = opaque;
    if (m->err == 0) {
        s->delivered++;
        return;
    }
    s->failures++;
    snprintf(s->last_error, sizeof s->last_error, "%s: %s",
             rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    retry *r = calloc(1, sizeof *r);
    rd_kafka_headers_t *h = NULL;
    if (r != NULL)
        r->topic = strdup(rd_kafka_topic_name(m->rkt));
    if (r != NULL && m->key_len)
        r->key = malloc(m->key_len);
    if (r != NULL && m->len)
        r->value = malloc(m->len);
    if (r == NULL || r->topic == NULL || (m->key_len && r->key == NULL) ||
        (m->len && r->value == NULL)) {
        /* The message is gone with the report: sink_flush fails from now
         * on, so that no checkpoint moves past it (sink_lost). */
        log_error("out of memory keeping a failed Kafka delivery");
        s->lost = true;
        if (r) {
            free(r->topic);
            free(r->key);
            free(r->value);
            free(r);
        }
        return;
    }
    if (m->key_len)
        memcpy(r->key, m->key, m->key_len);
    if (m->len)
        memcpy(r->value, m->payload, m->len);
    r->keylen = m->key_len;
    r->len = m->len;
    if (rd_kafka_message_headers(m, &h) == 0 && h != NULL)
        r->headers = rd_kafka_headers_copy(h);
    if (m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && r->len > DLQ_TRUNCATE) {
        /* The broker will never take it whole. */
        char size[32];
        snprintf(size, sizeof size, "%zu", r->len);
        if (r->headers == NULL)
            r->headers = rd_kafka_headers_new(1);
        rd_kafka_header_add(r->headers, "truncated", -1, size, -1);
        r->len = DLQ_TRUNCATE;
    }
    r->next = s->retries;
    s->retries = r;
}

sink *sink_new(const config *cfg, const char *bootstrap, char *errstr,
               size_t errstr_size)
{
    sink *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    static const char *const defaults[] = {
        "linger.ms", "5",
        "message.timeout.ms", "30000",
        /* A checkpoint waits for its alerts' delivery.  With Nagle, a
         * ProduceRequest written right behind another waits for the
         * broker's delayed ACK, every checkpoint (docs/performance.md). */
        "socket.nagle.disable", "true",
        NULL,
    };
    /* Exactly-once DLQ and at-least-once alerts rest on these. */
    static const char *const forced[] = {
        "enable.idempotence", "true",
        "acks", "all",
        NULL,
    };
    rd_kafka_conf_t *conf = kafkaconf_new(cfg, bootstrap, defaults, forced,
                                          errstr, errstr_size);
    if (conf == NULL) {
        free(s);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, s);
    char err[512];
    s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (s->rk == NULL) {
        snprintf(errstr, errstr_size, "Kafka producer: %s", err);
        free(s);
        return NULL;
    }
    s->dlq_topic = strdup(cfg->dlq_topic);
    if (s->dlq_topic == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        sink_free(s);
        return NULL;
    }
    /* A topic's first message waited for its metadata: 0.3 to 0.8 s of
     * the first checkpoint, the main thread blocked.  Asked for now, while
     * the group is being joined.  Failure costs only that wait. */
    s->warm[0] = rd_kafka_topic_new(s->rk, cfg->alerts_topic, NULL);
    s->warm[1] = rd_kafka_topic_new(s->rk, cfg->dlq_topic, NULL);
    return s;
}

static rd_kafka_resp_err_t produce(sink *s, const char *topic,
                                   const void *key, size_t keylen,
                                   const void *value, size_t len,
                                   rd_kafka_headers_t *headers, char *errstr,
                                   size_t errstr_size)
{
    /* On success librdkafka owns `headers`. */
    rd_kafka_resp_err_t err = rd_kafka_producev(
        s->rk, RD_KAFKA_V_TOPIC(topic),
        RD_KAFKA_V_KEY((void *)(uintptr_t)key, keylen),
        RD_KAFKA_V_VALUE((void *)(uintptr_t)value, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    if (err)
        snprintf(errstr, errstr_size, "cannot produce to %s: %s", topic,
                 rd_kafka_err2str(err));
    return err;
}

int sink_dlq(sink *s, const rd_kafka_message_t *msg, const char *reason,
             const char *detail, char *errstr, size_t errstr_size)
{
    char source[512];
    snprintf(source, sizeof source, "%s:%d:%lld", rd_kafka_topic_name(msg->rkt),
             (int)msg->partition, (long long)msg->offset);
    rd_kafka_headers_t *h = rd_kafka_headers_new(3);
    rd_kafka_header_add(h, "error", -1, reason, -1);
    rd_kafka_header_add(h, "detail", -1, detail, -1);
    rd_kafka_header_add(h, "source", -1, source, -1);
    rd_kafka_resp_err_t err = produce(s, s->dlq_topic, msg->key, msg->key_len,
                                      msg->payload, msg->len, h, errstr,
                                      errstr_size);
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && msg->len > DLQ_TRUNCATE) {
        char size[32];
        snprintf(size, sizeof size, "%zu", msg->len);
        rd_kafka_header_add(h, "truncated", -1, size, -1);
        err = produce(s, s->dlq_topic, msg->key, msg->key_len, msg->payload,
                      DLQ_TRUNCATE, h, errstr, errstr_size);
    }
    if (err) {
        rd_kafka_headers_destroy(h);
        return -1;
    }
    return 0;
}

int sink_send(sink *s, const char *topic, const void *key, size_t keylen,
              const void *value, size_t len, char *errstr, size_t errstr_size)
{
    return produce(s, topic, key, keylen, value, len, NULL, errstr,
                   errstr_size) ? -1 : 0;
}


/* Produces the failed messages again; keeps those the queue refuses. */
static void resend(sink *s)
{
    retry *r = s->retries, *keep = NULL;
    s->retries = NULL;
    while (r != NULL) {
        retry *next = r->next;
        char err[256];
        if (produce(s, r->topic, r->key, r->keylen, r->value, r->len,
                    r->headers, err, sizeof err) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            r->headers = NULL; /* now librdkafka's */
            free(r->topic);
            free(r->key);
            free(r->value);
            free(r);
        } else {
            r->next = keep;
            keep = r;
        }
        r = next;
    }
    s->retries = keep;
}

bool sink_lost(const sink *s)
{
    return s->lost;
}

int sink_flush(sink *s, int timeout_ms, char *errstr, size_t errstr_size)
{
    if (s->lost) {
        snprintf(errstr, errstr_size, "a failed Kafka delivery could not be "
                 "kept for a retry (out of memory)");
        return -1;
    }
    int64_t deadline = now_mono_ms() + timeout_ms;
    for (;;) {
        if (s->retries != NULL)
            resend(s);
        int64_t left = deadline - now_mono_ms();
        if (left < 0)
            left = 0;
        rd_kafka_flush(s->rk, (int)(left > 100 ? 100 : left));
        if (s->retries == NULL && rd_kafka_outq_len(s->rk) == 0)
            return 0;
        if (now_mono_ms() >= deadline)
            break;
    }
    snprintf(errstr, errstr_size,
             "%d Kafka messages not yet delivered (last error: %s)",
             rd_kafka_outq_len(s->rk) + (s->retries != NULL),
             s->last_error[0] ? s->last_error : "none");
    return -1;
}

void sink_free(sink *s)
{
    if (s == NULL)
        return;
    if (s->rk != NULL) {
        char err[256];
        if (sink_flush(s, 5000, err, sizeof err) < 0)
            log_error("undelivered Kafka messages at exit: %s", err);
        for (size_t i = 0; i < sizeof s->warm / sizeof *s->warm; i++)
            if (s->warm[i] != NULL)
                rd_kafka_topic_destroy(s->warm[i]);
        rd_kafka_destroy(s->rk);
    }
    while (s->retries != NULL) {
        retry *r = s->retries;
        s->retries = r->next;
        if (r->headers)
            rd_kafka_headers_destroy(r->headers);
        free(r->topic);
        free(r->key);
        free(r->value);
        free(r);
    }
    free(s->dlq_topic);
    free(s);
}

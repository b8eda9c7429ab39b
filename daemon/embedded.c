#include "embedded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "log.h"

struct embedded {
    rd_kafka_t *rk;                 /* required by the mock cluster */
    rd_kafka_mock_cluster_t *mock;
    char *file;                     /* bootstrap file we wrote, or NULL */
};

static int create_topic(embedded *e, const char *topic, int partitions,
                        char *errstr, size_t errstr_size)
{
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(e->mock, topic, partitions, 1);
    if (err) {
        snprintf(errstr, errstr_size, "embedded Kafka: cannot create %s: %s",
                 topic, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

embedded *embedded_start(const config *cfg, char *errstr, size_t errstr_size)
{
    embedded *e = calloc(1, sizeof *e);
    if (e == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256];
    /* A quiet handle: it only anchors the cluster. */
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    e->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (e->rk == NULL) {
        snprintf(errstr, errstr_size, "embedded Kafka: %s", err);
        free(e);
        return NULL;
    }
    e->mock = rd_kafka_mock_cluster_new(e->rk, 1);
    if (e->mock == NULL) {
        snprintf(errstr, errstr_size, "embedded Kafka: cannot start");
        embedded_stop(e);
        return NULL;
    }
    for (size_t i = 0; i < cfg->ntopics; i++)
        if (create_topic(e, cfg->topics[i], cfg->embedded_partitions, errstr,
                         errstr_size) < 0)
            goto fail;
    if (create_topic(e, cfg->dlq_topic, cfg->embedded_partitions, errstr,
                     errstr_size) < 0 ||
        create_topic(e, cfg->alerts_topic, cfg->embedded_partitions, errstr,
                     errstr_size) < 0)
        goto fail;
    const char *addr = embedded_bootstraps(e);
    log_notice("embedded Kafka at %s partitions=%d", addr,
               cfg->embedded_partitions);
    if (cfg->embedded_bootstrap_file[0]) {
        /* Write then rename, so that a reader never sees half an address. */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", cfg->embedded_bootstrap_file);
        FILE *f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%s\n", addr) < 0 || fclose(f) != 0 ||
            rename(tmp, cfg->embedded_bootstrap_file) != 0) {
            snprintf(errstr, errstr_size, "cannot write %s: %m",
                     cfg->embedded_bootstrap_file);
            goto fail;
        }
        e->file = strdup(cfg->embedded_bootstrap_file);
    }
    return e;
fail:
    embedded_stop(e);
    return NULL;
}

const char *embedded_bootstraps(const embedded *e)
{
    return rd_kafka_mock_cluster_bootstraps(e->mock);
}

void embedded_stop(embedded *e)
{
    if (e == NULL)
        return;
    if (e->file != NULL) {
        unlink(e->file);
        free(e->file);
    }
    if (e->mock != NULL)
        rd_kafka_mock_cluster_destroy(e->mock);
    if (e->rk != NULL)
        rd_kafka_destroy(e->rk);
    free(e);
}

#include "kafkaconf.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "secret.h"

static int set_pairs(rd_kafka_conf_t *conf, const char *const *kv,
                     char *errstr, size_t errstr_size)
{
    char err[512];
    for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2)
        if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], err, sizeof err) !=
            RD_KAFKA_CONF_OK) {
            snprintf(errstr, errstr_size, "librdkafka: %s", err);
            return -1;
        }
    return 0;
}

static int set_file_props(const config *cfg, rd_kafka_conf_t *conf,
                          char *errstr, size_t errstr_size)
{
    int bad = 0;
    size_t used = strlen(errstr);
    for (size_t i = 0; i < cfg->nkafka_props; i++) {
        const config_kafka_prop *p = &cfg->kafka_props[i];
        char err[512];
        if (rd_kafka_conf_set(conf, p->key, p->value, err, sizeof err) ==
            RD_KAFKA_CONF_OK)
            continue;
        bad++;
        if (used < errstr_size) {
            int n = snprintf(errstr + used, errstr_size - used,
                             "%s:%d: librdkafka: %s\n", cfg->path, p->line,
                             err);
            if (n > 0)
                used += (size_t)n;
        }
    }
    return bad;
}

/* sasl.password from sasl.password_file or the kafka-sasl-password
 * credential, never from the configuration file itself. */
static int set_sasl_password(const config *cfg, rd_kafka_conf_t *conf,
                             char *errstr, size_t errstr_size)
{
    char pw[SECRET_MAX], err[512];
    secret_result has = secret_read(cfg->kafka_sasl_password_file,
                                    "kafka-sasl-password", pw, sizeof pw,
                                    errstr, errstr_size);
    if (has == SECRET_ERROR)
        return -1;
    if (has == SECRET_NONE)
        return 0;
    int rc = 0;
    if (rd_kafka_conf_set(conf, "sasl.password", pw, err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "librdkafka: sasl.password: %s", err);
        rc = -1;
    }
    memset(pw, 0, sizeof pw);
    return rc;
}

/* librdkafka's own lines, through engaged's log: same format, same
 * levels (librdkafka's are syslog levels, as are ours), the client named. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    log_write(level < 3 ? 3 : level, "librdkafka: %s facility=%s client=%s",
              buf, fac, rd_kafka_name(rk));
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    log_warning("Kafka: %s error=%s client=%s", reason,
                rd_kafka_err2name((rd_kafka_resp_err_t)err),
                rd_kafka_name(rk));
}

rd_kafka_conf_t *kafkaconf_new(const config *cfg, const char *bootstrap,
                               const char *const *defaults,
                               const char *const *forced, char *errstr,
                               size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *boot[] = {"bootstrap.servers", bootstrap, NULL};
    errstr[0] = 0;
    if (set_pairs(conf, boot, errstr, errstr_size) < 0 ||
        set_pairs(conf, defaults, errstr, errstr_size) < 0 ||
        set_file_props(cfg, conf, errstr, errstr_size) > 0 ||
        set_pairs(conf, forced, errstr, errstr_size) < 0 ||
        set_sasl_password(cfg, conf, errstr, errstr_size) < 0) {
        size_t n = strlen(errstr);
        if (n > 0 && errstr[n - 1] == '\n')
            errstr[n - 1] = 0;
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    return conf;
}

int kafkaconf_check(const config *cfg, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int bad = set_file_props(cfg, conf, errstr, errstr_size);
    rd_kafka_conf_destroy(conf);
    return bad > 0 ? -1 : 0;
}

/*
 * kafkaconf: librdkafka configuration shared by the consumer (source) and
 * the producer (sink): the bootstrap address and the [kafka] keys engaged
 * does not own, each refusal reported as "FILE:LINE: librdkafka: ...".
 * Main thread.
 */
#ifndef ENGAGED_KAFKACONF_H
#define ENGAGED_KAFKACONF_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "config.h"

/*
 * A new rd_kafka_conf_t with bootstrap.servers = bootstrap, engaged's own
 * `defaults` (NULL-terminated key/value pairs, applied first so that the
 * file may override them), then the file's pass-through keys, then
 * `forced` (NULL-terminated pairs engaged's guarantees depend on).
 * librdkafka's log lines and errors go to engaged's log (log.h), with the
 * client's name.  Returns NULL with errstr (one line per refused key) on
 * failure.
 */
rd_kafka_conf_t *kafkaconf_new(const config *cfg, const char *bootstrap,
                               const char *const *defaults,
                               const char *const *forced, char *errstr,
                               size_t errstr_size);

/*
 * Checks the file's pass-through keys against librdkafka without creating
 * a client (for --check-config).  Appends "FILE:LINE: librdkafka: ..."
 * lines to errbuf.  Returns the number of refused keys.
 */
int kafkaconf_check(const config *cfg, char *errbuf, size_t errbuf_size);

#endif

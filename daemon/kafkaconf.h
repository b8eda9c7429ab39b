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
 * a client (for --check-config and reload).  Returns 0 when librdkafka
 * takes every key, else -1 with one "FILE:LINE: librdkafka: ..." line per
 * refused key appended to errstr.
 */
int kafkaconf_check(const config *cfg, char *errstr, size_t errstr_size);

#endif

/*
 * embedded: the in-process Kafka-protocol broker behind
 * `bootstrap.servers = embedded` (librdkafka's mock cluster).  It creates
 * the configured topics, logs its address and writes it to
 * embedded.bootstrap_file when set, so that kcat or the generator can
 * produce to it.  Each partition keeps about 5 MiB or 100k batches and drops
 * older data past that: for demos and tests, not production.
 *
 * Main thread only; the cluster runs its own threads.
 */
#ifndef ENGAGED_EMBEDDED_H
#define ENGAGED_EMBEDDED_H

#include <stddef.h>

#include "config.h"

typedef struct embedded embedded;

/* Starts the broker.  Returns NULL with errstr on failure. */
embedded *embedded_start(const config *cfg, char *errstr, size_t errstr_size);

/* "127.0.0.1:PORT", owned by the broker. */
const char *embedded_bootstraps(const embedded *e);

/* Stops the broker and removes the bootstrap file it wrote. NULL is fine. */
void embedded_stop(embedded *e);

#endif

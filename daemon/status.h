/*
 * status: what engaged says about itself while it runs.  Once a second
 * the gauges of /metrics (lag and watermark per partition, creators,
 * state bytes, fetch nudges); every 5 s the STATUS= line systemd shows;
 * the watchdog keep-alive and the heartbeat /healthz reads; readiness
 * (READY=1 and /readyz: joined the group, Redis answering, every
 * partition claimed); a stats line in the log every minute.
 *
 * Main thread only.
 */
#ifndef ENGAGED_STATUS_H
#define ENGAGED_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "partitions.h"
#include "source.h"
#include "state.h"

typedef struct status status;

/*
 * Every pointer is borrowed and must outlive the status.  The watchdog
 * interval comes from systemd's environment (notify.h).  Returns NULL
 * with errstr when out of memory.
 */
status *status_new(const config *cfg, metrics *m, partitions *ps, state *st,
                   source *src, char *errstr, size_t errstr_size);
void status_free(status *s);

/*
 * Called at every turn of the loop, now_ms the monotonic clock: does what
 * is due.  joined: the group gave us an assignment; blocked: Redis is
 * unreachable; pending: some partition waits for its claim.
 */
void status_tick(status *s, int64_t now_ms, bool joined, bool blocked,
                 bool pending);

/* Logs the stats line (events, creators, memory, checkpoints) now. */
void status_log_stats(status *s, uint64_t checkpoints);

#endif

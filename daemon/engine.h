/*
 * engine: the main loop.  Polls Kafka in batches, parses each message once,
 * loads the creators it needs from Redis in one round trip per batch,
 * applies the events to the state, sends refused messages to the DLQ, and
 * checkpoints every checkpoint.interval_ms (or max_events) in one Redis
 * transaction with the offsets.  While Redis is unreachable it pauses
 * consumption, retries with backoff and resumes with nothing lost or
 * counted twice.
 *
 * Main thread only.  Signals only set flags (engine_signal).
 */
#ifndef ENGAGED_ENGINE_H
#define ENGAGED_ENGINE_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"

typedef struct engine engine;

/*
 * Starts the embedded broker when configured, the Kafka clients and the
 * Redis handle (Redis need not be up yet).  Takes ownership of cfg; m (the
 * counters /metrics serves) must outlive the engine.
 * Returns NULL with errstr on failure (cfg is freed).
 */
engine *engine_new(config *cfg, metrics *m, char *errstr, size_t errstr_size);

/*
 * Runs until SIGTERM or SIGINT, then finishes the batch in hand, writes a
 * final checkpoint and leaves the consumer group.
 * Returns the process exit code: 0, or 1 when the final checkpoint failed
 * (nothing is lost: the next start replays from the last checkpoint).
 */
int engine_run(engine *e);

void engine_free(engine *e);

/*
 * Asks every engine_run() of the process to stop, as SIGTERM does.
 * Async-signal-safe; any thread.
 */
void engine_stop(void);

/* Installs the signal handlers (SIGTERM, SIGINT, SIGHUP, SIGPIPE). */
void engine_install_signals(void);

#endif

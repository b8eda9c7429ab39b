/*
 * engine: the loop that ties the stages together, and its pacing.
 *
 *   source (Kafka) -> batch (parse, load creators) -> state (creators,
 *   windows, tiers) -> detect (alerts, into the outbox) -> checkpoint
 *   (one Redis transaction with the offsets) and sink (alerts, DLQ)
 *
 * Each turn: serve signals (stop, reload), status and liveness; claim the
 * partitions assigned (partitions.h); poll a batch, prepare it and apply
 * it (batch.h); and when a checkpoint is due (pacing.h) produce the new
 * alerts, build the checkpoint while they travel, wait for them to be in
 * Kafka, and hand the checkpoint to its writer thread (checkpoint.h).  A
 * refused checkpoint reads its partitions back from Redis; while Redis is
 * unreachable consumption pauses and retries with backoff; running out of
 * memory reads the partitions concerned back, and nothing is lost or
 * counted twice.
 *
 * Main thread only.  Signals only set flags (engine_install_signals).
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
 * fn(arg, cfg) runs on engine_run()'s thread after each reload that took
 * effect, with the running configuration (valid during the call only):
 * how the HTTP server learns new tiers.  One hook; fn NULL removes it.
 */
typedef void (*engine_reload_fn)(void *arg, const config *cfg);
void engine_on_reload(engine *e, engine_reload_fn fn, void *arg);

/*
 * Asks every engine_run() of the process to stop, as SIGTERM does.
 * Async-signal-safe; any thread.
 */
void engine_stop(void);

/* Installs the signal handlers (SIGTERM, SIGINT, SIGHUP, SIGPIPE). */
void engine_install_signals(void);

#endif

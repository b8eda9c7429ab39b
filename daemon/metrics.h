/*
 * metrics: engaged's counters and gauges, rendered in the Prometheus text
 * exposition format 0.0.4 for GET /metrics (http.h), plus the liveness and
 * readiness state behind /healthz and /readyz.
 *
 * The families are fixed; only the per-partition gauges have a label set
 * that changes at run time:
 *   engaged_events_total{type,result}        counter  type engagement, post,
 *                                                     followers, unknown
 *                                                     (unparseable); result
 *                                                     ok or refused (DLQ)
 *   engaged_dlq_messages_total{reason}       counter  invalid_json,
 *                                                     invalid_event, too_large,
 *                                                     too_late, key_mismatch
 *   engaged_alerts_total{kind,status}        counter  engagement_decay,
 *                                                     brand_conflict,
 *                                                     tier_change x firing,
 *                                                     resolved
 *   engaged_conflict_checks_skipped_total    counter  sponsored posts with no
 *                                                     known sector
 *   engaged_checkpoints_total{result}        counter  ok, error, fenced,
 *                                                     not_new
 *   engaged_checkpoint_duration_seconds      histogram  build, the wait for
 *                                                     its alerts, Redis
 *   engaged_event_checkpoint_latency_seconds histogram  produce time to the
 *                                                     checkpoint's answer
 *   engaged_checkpoint_backpressure_seconds_total counter  reading held back
 *                                                     behind a checkpoint
 *   engaged_consumer_lag{topic,partition}    gauge    messages
 *   engaged_watermark_seconds{topic,partition} gauge  event time, Unix seconds
 *   engaged_creators                         gauge    creators in memory
 *   engaged_tier_creators{tier}              gauge    this instance's share
 *   engaged_tier_followers{tier}             gauge    of each tier hash
 *   engaged_tier_engagements{tier,window}    gauge    (metrics_set_tiers)
 *   engaged_state_bytes                      gauge    memory held by the state
 *   engaged_redis_errors_total               counter
 *   engaged_redis_reconnects_total           counter
 *   engaged_kafka_errors_total               counter
 *   engaged_kafka_fetch_nudges_total         counter  prefetch queue ran low
 *   engaged_build_info{version}              gauge    always 1
 *   engaged_up                               gauge    always 1
 *   engaged_start_time_seconds               gauge    Unix seconds
 *
 * Threads.  One writer, the main thread, calls every update function; the
 * HTTP thread calls metrics_render(), metrics_alive() and metrics_ready().
 * Counters and gauges are C11 atomics updated with relaxed ordering: an
 * update is one atomic add or store, no lock, so the hot path (one
 * metrics_event() per message) costs next to nothing.  The partition table
 * alone is guarded by a mutex, taken by metrics_partition_set()/_remove()
 * and by the renderer (the main thread updates it once a second, status.h,
 * not per event); so is the tier table, set at claims, revocations and
 * committed checkpoints.
 * A scrape is not a snapshot: counters read while the main thread runs can
 * be from slightly different instants, which Prometheus tolerates.  The
 * histogram's +Inf bucket and _count are computed from the same reads, so
 * they always agree.
 */
#ifndef ENGAGED_METRICS_H
#define ENGAGED_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct metrics metrics;

/* Capacity of the per-partition table (metrics_partition_set()). */
#define METRICS_PARTITIONS_MAX 1024

/* Kafka allows topic names of up to 249 characters. */
#define METRICS_TOPIC_MAX 249

/* Capacity of the tier table (metrics_set_tiers()): the tiers and
 * "unknown", the windows, the bytes of a name. */
#define METRICS_TIERS_MAX 17
#define METRICS_WINDOWS_MAX 8
#define METRICS_NAME_MAX 32

/* metrics_event() type for a message that could not be parsed. */
#define METRICS_EVENT_UNKNOWN (-1)

/* metrics_partition_set(): the gauge is unknown and not exported. */
#define METRICS_NO_LAG (-1)
#define METRICS_NO_WATERMARK INT64_MIN   /* same as STATE_NO_WATERMARK */

typedef enum metrics_alert_kind {
    METRICS_ALERT_ENGAGEMENT_DECAY = 0,
    METRICS_ALERT_BRAND_CONFLICT,
    METRICS_ALERT_TIER_CHANGE,
    METRICS_ALERT_ENGAGEMENT_SPIKE,
    METRICS_ALERT_FOLLOWER_JUMP,
    METRICS_ALERT_SPONSORED_SATURATION,
    METRICS_ALERT_KIND_COUNT
} metrics_alert_kind;

typedef enum metrics_alert_status {
    METRICS_ALERT_FIRING = 0,
    METRICS_ALERT_RESOLVED,
    METRICS_ALERT_STATUS_COUNT
} metrics_alert_status;

typedef enum metrics_checkpoint_result {
    METRICS_CHECKPOINT_OK = 0,
    METRICS_CHECKPOINT_ERROR,
    METRICS_CHECKPOINT_FENCED,
    METRICS_CHECKPOINT_NOT_NEW,
    METRICS_CHECKPOINT_RESULT_COUNT
} metrics_checkpoint_result;

/*
 * Creates the registry, all counters at zero, not ready, heartbeat "now".
 *   version: exported as engaged_build_info{version=...}; copied.
 * Reads the wall clock once (engaged_start_time_seconds) and the monotonic
 * clock once (so that /healthz answers 200 during start-up, before the
 * first metrics_heartbeat()).
 * Returns a registry owned by the caller (metrics_free()), or NULL with
 * errstr when out of memory.  Main thread.
 */
metrics *metrics_new(const char *version, char *errstr, size_t errstr_size);

/* Frees the registry; NULL is fine.  Only once no thread can read it any
 * more (after http_stop()).  Main thread. */
void metrics_free(metrics *m);

/* --- updates: main thread ------------------------------------------------- */

/*
 * One consumed message.
 *   type:    an event_type (EVENT_ENGAGEMENT, EVENT_POST, EVENT_FOLLOWERS), or
 *            METRICS_EVENT_UNKNOWN (any other value counts as unknown) for a
 *            message whose type is not known because it did not parse.
 *   refused: true when the message went to the dead-letter topic.  An
 *            unknown message is always counted as refused.
 */
void metrics_event(metrics *m, int type, bool refused);

/* One dead-letter message; reason is an event_error other than EVENT_OK
 * (other values are ignored). */
void metrics_dlq(metrics *m, int reason);

/* One alert emitted. Out-of-range values are ignored. */
void metrics_alert(metrics *m, metrics_alert_kind kind,
                   metrics_alert_status status);

/* A sponsored post whose sector is unknown: no brand-conflict check. */
void metrics_conflict_check_skipped(metrics *m);

/*
 * One checkpoint attempt and how long it took (seconds, from the monotonic
 * clock; negative counts as 0).  Every result is observed in the histogram.
 */
void metrics_checkpoint(metrics *m, metrics_checkpoint_result result,
                        double seconds);

/*
 * Records n events whose produce time was `ms` milliseconds before the
 * commit of the checkpoint that holds them
 * (engaged_event_checkpoint_latency_seconds).  Main thread.
 */
void metrics_event_latency(metrics *m, int64_t ms, uint64_t n);

/*
 * Sets the gauges of one partition, adding it to the table when new.
 *   topic:        copied; at most METRICS_TOPIC_MAX bytes.
 *   lag:          messages behind the high watermark, or METRICS_NO_LAG.
 *   watermark_ms: the partition's event-time watermark in ms since the
 *                 epoch, or METRICS_NO_WATERMARK.
 * An unknown value is not exported (no sample rather than a fake 0).
 * Returns 0, or -1 when the topic is too long or the table is full (the
 * partition is then not exported).
 */
int metrics_partition_set(metrics *m, const char *topic, int32_t partition,
                          int64_t lag, int64_t watermark_ms);

/* Removes a partition (revoked, lost, fenced); unknown ones are ignored. */
void metrics_partition_remove(metrics *m, const char *topic,
                              int32_t partition);

/*
 * Sets this instance's share of the tier hashes (share.h), as of the last
 * committed checkpoint of each partition it holds, so that `sum by (tier)`
 * over the instances of a group is each `<prefix>tier:<tier>` hash:
 *   engaged_tier_creators{tier}, engaged_tier_followers{tier},
 *   engaged_tier_engagements{tier,window}.
 * ntiers rows, row r for tier tiers[r], each of 2 + nwindows cells:
 * creators, followers, then the engagements over window windows[w] (named
 * as the hashes name it: "24h").  Names and cells are copied; before the
 * first call the families have no sample.
 * Returns 0, or -1 when a count or a name is over the table's capacity
 * (nothing changes).  Main thread.
 */
int metrics_set_tiers(metrics *m, const char *const *tiers, size_t ntiers,
                      const char *const *windows, size_t nwindows,
                      const int64_t *cells);

/* Creators held in memory, and the state's memory in bytes. */
void metrics_set_creators(metrics *m, int64_t creators);
void metrics_set_state_bytes(metrics *m, int64_t bytes);

/* A failed Redis command or connection; a successful reconnection. */
void metrics_redis_error(metrics *m);
void metrics_redis_reconnect(metrics *m);

/* A Kafka error reported by librdkafka (consume or producer errors). */
void metrics_kafka_error(metrics *m);
/* Adds ms to the time consumption waited for a checkpoint in flight. */
void metrics_checkpoint_backpressure(metrics *m, int64_t ms);
/* Sets the count of fetch nudges (source_nudges()). */
void metrics_set_kafka_nudges(metrics *m, uint64_t n);

/* The Alertmanager sink (alertmanager.h), from its thread: alerts
 * accepted, a POST failed, alerts dropped, alerts waiting.  Any thread. */
void metrics_am_sent(metrics *m, uint64_t alerts);
void metrics_am_failed(metrics *m);
void metrics_am_dropped(metrics *m, uint64_t alerts);
void metrics_am_set_queue(metrics *m, int64_t alerts);

/* Routes of the read API (api.h's api_route values, in order), and
 * METRICS_API_NONE for a /v1 request refused before it had one (401, 404,
 * 405, 414, a parameter). */
#define METRICS_API_ROUTES 5
#define METRICS_API_NONE METRICS_API_ROUTES
/*
 * One answer of the read API: its route (0..METRICS_API_ROUTES-1 or
 * METRICS_API_NONE), HTTP status and time taken.  Any thread (the HTTP
 * server's).
 */
void metrics_api_request(metrics *m, int route, unsigned status,
                         int64_t duration_us);

/*
 * Readiness for /readyz: true once partitions are assigned (claimed) and
 * Redis answers; set it false again while Redis is unreachable or no
 * partition is held.
 */
void metrics_set_ready(metrics *m, bool ready);

/*
 * The main loop is alive at `mono_ms` (CLOCK_MONOTONIC, milliseconds).
 * Call once per loop iteration, where the watchdog is fed.
 */
void metrics_heartbeat(metrics *m, int64_t mono_ms);

/*
 * The systemd watchdog interval (notify_watchdog_interval_ms(), 0 when
 * disabled).  /healthz fails once the last heartbeat is older than
 * max(10 s, 3 x interval).  Default: 10 s.
 */
void metrics_set_watchdog_interval(metrics *m, int64_t interval_ms);

/* --- reads: any thread ---------------------------------------------------- */

/* The value given to metrics_set_ready(). */
bool metrics_ready(const metrics *m);

/*
 * Whether the last heartbeat is recent at `now_mono_ms`.  *age_ms (may be
 * NULL) gets its age.
 */
bool metrics_alive(const metrics *m, int64_t now_mono_ms, int64_t *age_ms);

/* Messages counted by metrics_event(), all types and results: for a rate in
 * the STATUS line. */
uint64_t metrics_events_total(const metrics *m);

/*
 * Appends the whole exposition (HELP and TYPE lines, then the samples) to
 * out.  Returns 0, or -1 when out of memory (buf_failed(out)).
 */
int metrics_render(const metrics *m, buf *out);

#endif

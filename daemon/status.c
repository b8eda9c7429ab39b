#include "status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "notify.h"

#define GAUGES_EVERY_MS 1000
#define STATUS_EVERY_MS 5000

struct status {
    const config *cfg;
    metrics *m;
    partitions *ps;
    state *st;
    source *src;
    bool ready_sent;
    int64_t watchdog_ms, next_watchdog_ms;
    int64_t next_gauges_ms, next_status_ms;
    uint64_t status_events;      /* events total at the last STATUS= */
    int64_t status_at_ms;
};

status *status_new(const config *cfg, metrics *m, partitions *ps, state *st,
                   source *src, char *errstr, size_t errstr_size)
{
    status *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    s->m = m;
    s->ps = ps;
    s->st = st;
    s->src = src;
    s->watchdog_ms = notify_watchdog_interval_ms();
    return s;
}

void status_free(status *s)
{
    free(s);
}

void status_log_stats(status *s, uint64_t checkpoints)
{
    log_info("stats events=%" PRIu64 " creators=%zu memory_bytes=%zu "
             "checkpoints=%" PRIu64,
             metrics_events_total(s->m), state_creator_count(s->st),
             state_memory(s->st), checkpoints);
}

/* Gauges for /metrics, and the STATUS= line systemd shows. */
static void publish(status *s, int64_t now, bool blocked)
{
    if (now < s->next_gauges_ms)
        return;
    s->next_gauges_ms = now + GAUGES_EVERY_MS;
    int64_t lag = 0;
    for (size_t i = 0; i < partitions_count(s->ps); i++) {
        partitions_entry *p = partitions_at(s->ps, i);
        if (!p->used || !p->claimed)
            continue;
        int64_t l = source_lag(s->src, p->topic, p->partition, p->next_offset);
        if (l > 0)
            lag += l;
        metrics_partition_set(s->m, p->topic, p->partition,
                              l >= 0 ? l : METRICS_NO_LAG,
                              state_partition_watermark(s->st, p->slot));
    }
    metrics_set_creators(s->m, (int64_t)state_creator_count(s->st));
    metrics_set_state_bytes(s->m, (int64_t)state_memory(s->st));
    metrics_set_kafka_nudges(s->m, source_nudges(s->src));
    if (now >= s->next_status_ms) {
        uint64_t total = metrics_events_total(s->m);
        double rate = s->status_at_ms
                          ? (double)(total - s->status_events) * 1000.0 /
                                (double)(now - s->status_at_ms)
                          : 0;
        notify_status("%s events/s=%.0f lag=%" PRId64 " creators=%zu",
                      blocked ? "Redis unreachable, paused;" : "running;",
                      rate, lag, state_creator_count(s->st));
        s->status_events = total;
        s->status_at_ms = now;
        s->next_status_ms = now + STATUS_EVERY_MS;
    }
}

/* Liveness for the watchdog and /healthz; readiness for READY=1 and
 * /readyz. */
static void heartbeat(status *s, int64_t now, bool ready)
{
    metrics_heartbeat(s->m, now);
    if (s->watchdog_ms > 0 && now >= s->next_watchdog_ms) {
        notify_watchdog();
        s->next_watchdog_ms = now + s->watchdog_ms;
    }
    metrics_set_ready(s->m, ready);
    if (ready && !s->ready_sent) {
        notify_ready();
        s->ready_sent = true;
        log_notice("ready: joined group %s, Redis answering",
                   s->cfg->group_id);
    }
}

void status_tick(status *s, int64_t now_ms, bool joined, bool blocked,
                 bool pending)
{
    heartbeat(s, now_ms, joined && !blocked && !pending);
    publish(s, now_ms, blocked);
}

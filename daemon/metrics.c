#include "metrics.h"
#include "now.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"

/* The label tables below follow event.h's enums. */
_Static_assert(EVENT_ENGAGEMENT == 0 && EVENT_POST == 1 && EVENT_FOLLOWERS == 2,
               "event_type order changed: update type_names");
_Static_assert(EVENT_ERR_INVALID_JSON == 1 && EVENT_ERR_KEY_MISMATCH == 5 &&
                   EVENT_ERR_COUNT == 6,
               "event_error changed: update reason_names");

#define NTYPES 4            /* the three event types, then unknown */
#define TYPE_UNKNOWN 3

static const char *const type_names[NTYPES] = {"engagement", "post",
                                               "followers", "unknown"};
static const char *const reason_names[EVENT_ERR_COUNT] = {
    NULL, "invalid_json", "invalid_event", "too_large", "too_late",
    "key_mismatch"};
static const char *const kind_names[METRICS_ALERT_KIND_COUNT] = {
    "engagement_decay", "brand_conflict", "tier_change", "engagement_spike",
    "follower_jump", "sponsored_saturation"};
static const char *const status_names[METRICS_ALERT_STATUS_COUNT] = {
    "firing", "resolved"};
static const char *const ckpt_names[METRICS_CHECKPOINT_RESULT_COUNT] = {
    "ok", "error", "fenced", "not_new"};

/* Checkpoint duration buckets: upper bounds in ns, and as written in `le`. */
#define NBUCKETS 13
static const uint64_t bucket_ns[NBUCKETS] = {
    1000000,   2500000,   5000000,    10000000,   25000000,
    50000000,  100000000, 250000000,  500000000,  1000000000,
    2500000000, 5000000000, 10000000000};
static const char *const bucket_le[NBUCKETS] = {
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25",  "0.5",    "1",     "2.5",  "5",     "10"};

/* Event-to-checkpoint latency buckets: produce time (the Kafka message
 * timestamp) to the commit of the checkpoint that holds the event. */
#define NLAT 16
static const uint64_t lat_ns[NLAT] = {
    50000000,   100000000,  250000000,  500000000,  750000000,
    1000000000, 1100000000, 1250000000, 1500000000, 2000000000,
    3000000000, 5000000000, 10000000000, 30000000000, 60000000000,
    300000000000};
static const char *const lat_le[NLAT] = {
    "0.05", "0.1", "0.25", "0.5", "0.75", "1", "1.1", "1.25", "1.5", "2",
    "3",    "5",   "10",   "30",  "60",   "300"};

#define HEALTH_TIMEOUT_MIN_MS 10000

typedef struct pslot {
    bool used;
    int32_t partition;
    int64_t lag;
    int64_t watermark_ms;
    char topic[METRICS_TOPIC_MAX + 1];
} pslot;

/* Separate allocation so that the renderer, which gets a const metrics *,
 * can still take the lock. */
typedef struct ptable {
    pthread_mutex_t lock;
    size_t hi;               /* 1 + the highest slot in use */
    pslot slots[METRICS_PARTITIONS_MAX];
} ptable;

/* This instance's share of the tier hashes (metrics_set_tiers). */
typedef struct ttable {
    pthread_mutex_t lock;
    size_t ntiers, nwindows;          /* ntiers 0: never set */
    char tier[METRICS_TIERS_MAX][METRICS_NAME_MAX + 1];
    char window[METRICS_WINDOWS_MAX][METRICS_NAME_MAX + 1];
    int64_t cells[METRICS_TIERS_MAX * (2 + METRICS_WINDOWS_MAX)];
} ttable;

#define API_STATUSES 8

struct metrics {
    char *version;
    double start_time;       /* Unix seconds */
    atomic_uint_fast64_t events[NTYPES][2];
    atomic_uint_fast64_t dlq[EVENT_ERR_COUNT];
    atomic_uint_fast64_t alerts[METRICS_ALERT_KIND_COUNT]
                               [METRICS_ALERT_STATUS_COUNT];
    atomic_uint_fast64_t conflict_skipped;
    atomic_uint_fast64_t checkpoints[METRICS_CHECKPOINT_RESULT_COUNT];
    /* Per bucket, not cumulative (summed when rendering); the last one is
     * above the largest bound. */
    atomic_uint_fast64_t ckpt_bucket[NBUCKETS + 1];
    atomic_uint_fast64_t ckpt_sum_ns;
    atomic_uint_fast64_t lat_bucket[NLAT + 1];
    atomic_uint_fast64_t lat_sum_ns;
    atomic_int_fast64_t creators;
    atomic_int_fast64_t state_bytes;
    atomic_uint_fast64_t redis_errors;
    atomic_uint_fast64_t redis_reconnects;
    atomic_uint_fast64_t kafka_errors;
    atomic_uint_fast64_t kafka_nudges;
    atomic_uint_fast64_t backpressure_ms;
    /* the Alertmanager sink (alertmanager.h) */
    atomic_uint_fast64_t am_sent, am_failed, am_dropped;
    atomic_int_fast64_t am_queue;
    /* the read API: answers by route and status, and their time */
    atomic_uint_fast64_t api_answers[METRICS_API_ROUTES + 1][API_STATUSES];
    atomic_uint_fast64_t api_us[METRICS_API_ROUTES + 1];
    atomic_bool ready;
    atomic_int_fast64_t heartbeat_ms;
    atomic_int_fast64_t health_timeout_ms;
    ptable *parts;
    ttable *tiers;
};

#define INC(counter) atomic_fetch_add_explicit(&(counter), 1, memory_order_relaxed)
#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

metrics *metrics_new(const char *version, char *errstr, size_t errstr_size)
{
    metrics *m = calloc(1, sizeof *m);
    if (m != NULL) {
        m->version = strdup(version);
        m->parts = calloc(1, sizeof *m->parts);
        m->tiers = calloc(1, sizeof *m->tiers);
    }
    if (m == NULL || m->version == NULL || m->parts == NULL ||
        m->tiers == NULL) {
        snprintf(errstr, errstr_size, "out of memory creating the metrics");
        metrics_free(m);
        return NULL;
    }
    pthread_mutex_init(&m->parts->lock, NULL);
    pthread_mutex_init(&m->tiers->lock, NULL);
    m->start_time = (double)now_wall_ms() / 1000.0;
    /* calloc's zero bytes are zero atomics on every platform engaged builds
     * on; the values that are not zero are stored explicitly. */
    STORE(m->heartbeat_ms, now_mono_ms());
    STORE(m->health_timeout_ms, HEALTH_TIMEOUT_MIN_MS);
    STORE(m->ready, false);
    return m;
}

void metrics_free(metrics *m)
{
    if (m == NULL)
        return;
    if (m->parts != NULL && m->tiers != NULL) {
        /* Both exist once metrics_new() got past its allocations: only
         * then were the locks made. */
        pthread_mutex_destroy(&m->parts->lock);
        pthread_mutex_destroy(&m->tiers->lock);
    }
    free(m->parts);
    free(m->tiers);
    free(m->version);
    free(m);
}

/* --- updates ---------------------------------------------------------------- */

void metrics_event(metrics *m, int type, bool refused)
{
    if (type < 0 || type >= TYPE_UNKNOWN) {
        type = TYPE_UNKNOWN;
        refused = true;
    }
    INC(m->events[type][refused ? 1 : 0]);
}

void metrics_dlq(metrics *m, int reason)
{
    if (reason > EVENT_OK && reason < EVENT_ERR_COUNT)
        INC(m->dlq[reason]);
}

void metrics_alert(metrics *m, metrics_alert_kind kind,
                   metrics_alert_status status)
{
    if ((int)kind >= 0 && kind < METRICS_ALERT_KIND_COUNT &&
        (int)status >= 0 && status < METRICS_ALERT_STATUS_COUNT)
        INC(m->alerts[kind][status]);
}

void metrics_conflict_check_skipped(metrics *m)
{
    INC(m->conflict_skipped);
}

/* Adds n observations of ns to a histogram of per-bucket counts. */
static void observe(atomic_uint_fast64_t *buckets, const uint64_t *bounds,
                    size_t nbounds, atomic_uint_fast64_t *sum_ns, uint64_t ns,
                    uint64_t n)
{
    size_t b = 0;
    while (b < nbounds && ns > bounds[b])
        b++;
    atomic_fetch_add_explicit(&buckets[b], n, memory_order_relaxed);
    atomic_fetch_add_explicit(sum_ns, ns * n, memory_order_relaxed);
}

void metrics_checkpoint(metrics *m, metrics_checkpoint_result result,
                        double seconds)
{
    if ((int)result < 0 || result >= METRICS_CHECKPOINT_RESULT_COUNT)
        return;
    INC(m->checkpoints[result]);
    /* NaN and negatives count as 0; anything beyond 100 years is capped so
     * that the conversion cannot overflow. */
    uint64_t ns = 0;
    if (seconds > 0)
        ns = seconds < 3.15e9 ? (uint64_t)llround(seconds * 1e9)
                              : UINT64_C(3150000000000000000);
    observe(m->ckpt_bucket, bucket_ns, NBUCKETS, &m->ckpt_sum_ns, ns, 1);
}

void metrics_event_latency(metrics *m, int64_t ms, uint64_t n)
{
    uint64_t ns = ms > 0 ? (uint64_t)ms * 1000000 : 0;
    observe(m->lat_bucket, lat_ns, NLAT, &m->lat_sum_ns, ns, n);
}

static pslot *find_slot(ptable *t, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < t->hi; i++)
        if (t->slots[i].used && t->slots[i].partition == partition &&
            strcmp(t->slots[i].topic, topic) == 0)
            return &t->slots[i];
    return NULL;
}

int metrics_partition_set(metrics *m, const char *topic, int32_t partition,
                          int64_t lag, int64_t watermark_ms)
{
    if (strlen(topic) > METRICS_TOPIC_MAX)
        return -1;
    ptable *t = m->parts;
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    pslot *s = find_slot(t, topic, partition);
    if (s == NULL) {
        for (size_t i = 0; i < METRICS_PARTITIONS_MAX; i++)
            if (!t->slots[i].used) {
                s = &t->slots[i];
                if (i + 1 > t->hi)
                    t->hi = i + 1;
                break;
            }
        if (s != NULL) {
            s->used = true;
            s->partition = partition;
            snprintf(s->topic, sizeof s->topic, "%s", topic);
        }
    }
    if (s != NULL) {
        s->lag = lag;
        s->watermark_ms = watermark_ms;
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void metrics_partition_remove(metrics *m, const char *topic,
                              int32_t partition)
{
    ptable *t = m->parts;
    pthread_mutex_lock(&t->lock);
    pslot *s = find_slot(t, topic, partition);
    if (s != NULL) {
        memset(s, 0, sizeof *s);
        while (t->hi > 0 && !t->slots[t->hi - 1].used)
            t->hi--;
    }
    pthread_mutex_unlock(&t->lock);
}

int metrics_set_tiers(metrics *m, const char *const *tiers, size_t ntiers,
                      const char *const *windows, size_t nwindows,
                      const int64_t *cells)
{
    if (ntiers > METRICS_TIERS_MAX || nwindows > METRICS_WINDOWS_MAX)
        return -1;
    for (size_t r = 0; r < ntiers; r++)
        if (strlen(tiers[r]) > METRICS_NAME_MAX)
            return -1;
    for (size_t w = 0; w < nwindows; w++)
        if (strlen(windows[w]) > METRICS_NAME_MAX)
            return -1;
    ttable *t = m->tiers;
    pthread_mutex_lock(&t->lock);
    t->ntiers = ntiers;
    t->nwindows = nwindows;
    for (size_t r = 0; r < ntiers; r++)
        snprintf(t->tier[r], sizeof t->tier[r], "%s", tiers[r]);
    for (size_t w = 0; w < nwindows; w++)
        snprintf(t->window[w], sizeof t->window[w], "%s", windows[w]);
    memcpy(t->cells, cells, ntiers * (2 + nwindows) * sizeof *cells);
    pthread_mutex_unlock(&t->lock);
    return 0;
}

void metrics_set_creators(metrics *m, int64_t creators)
{
    STORE(m->creators, creators);
}

void metrics_set_state_bytes(metrics *m, int64_t bytes)
{
    STORE(m->state_bytes, bytes);
}

void metrics_redis_error(metrics *m)
{
    INC(m->redis_errors);
}

void metrics_redis_reconnect(metrics *m)
{
    INC(m->redis_reconnects);
}

void metrics_kafka_error(metrics *m)
{
    INC(m->kafka_errors);
}

void metrics_checkpoint_backpressure(metrics *m, int64_t ms)
{
    if (ms > 0)
        atomic_fetch_add_explicit(&m->backpressure_ms, (uint64_t)ms,
                                  memory_order_relaxed);
}

void metrics_am_sent(metrics *m, uint64_t alerts)
{
    atomic_fetch_add_explicit(&m->am_sent, alerts, memory_order_relaxed);
}

/* The statuses the read API answers, in the order of api_answers. */
static const unsigned api_statuses[API_STATUSES] = {200, 400, 401, 404,
                                                    405, 414, 500, 503};
static const char *const api_route_names[METRICS_API_ROUTES + 1] = {
    "campaigns", "campaign", "creator", "tiers", "alerts", "none"};

void metrics_api_request(metrics *m, int route, unsigned status,
                         int64_t duration_us)
{
    if (route < 0 || route > METRICS_API_NONE)
        route = METRICS_API_NONE;
    for (size_t i = 0; i < API_STATUSES; i++) {
        if (api_statuses[i] == status) {
            INC(m->api_answers[route][i]);
            break;
        }
    }
    atomic_fetch_add_explicit(&m->api_us[route],
                              (uint64_t)(duration_us > 0 ? duration_us : 0),
                              memory_order_relaxed);
}

void metrics_am_failed(metrics *m)
{
    INC(m->am_failed);
}

void metrics_am_dropped(metrics *m, uint64_t alerts)
{
    atomic_fetch_add_explicit(&m->am_dropped, alerts, memory_order_relaxed);
}

void metrics_am_set_queue(metrics *m, int64_t alerts)
{
    STORE(m->am_queue, alerts);
}

void metrics_set_kafka_nudges(metrics *m, uint64_t n)
{
    STORE(m->kafka_nudges, n);
}

void metrics_set_ready(metrics *m, bool ready)
{
    STORE(m->ready, ready);
}

void metrics_heartbeat(metrics *m, int64_t mono_ms)
{
    STORE(m->heartbeat_ms, mono_ms);
}

void metrics_set_watchdog_interval(metrics *m, int64_t interval_ms)
{
    int64_t t = interval_ms > 0 && interval_ms < INT64_MAX / 3 ? 3 * interval_ms
                                                               : 0;
    STORE(m->health_timeout_ms, t > HEALTH_TIMEOUT_MIN_MS ? t
                                                          : HEALTH_TIMEOUT_MIN_MS);
}

/* --- reads ------------------------------------------------------------------ */

bool metrics_ready(const metrics *m)
{
    return LOAD(m->ready);
}

bool metrics_alive(const metrics *m, int64_t now_mono_ms, int64_t *age_ms)
{
    int64_t age = now_mono_ms - LOAD(m->heartbeat_ms);
    if (age_ms != NULL)
        *age_ms = age;
    return age <= LOAD(m->health_timeout_ms);
}

uint64_t metrics_events_total(const metrics *m)
{
    uint64_t n = 0;
    for (int t = 0; t < NTYPES; t++)
        n += LOAD(m->events[t][0]) + LOAD(m->events[t][1]);
    return n;
}

/* --- rendering -------------------------------------------------------------- */

static void family(buf *b, const char *name, const char *type,
                   const char *help)
{
    buf_append_str(b, "# HELP ");
    buf_append_str(b, name);
    buf_append_byte(b, ' ');
    buf_append_str(b, help);
    buf_append_str(b, "\n# TYPE ");
    buf_append_str(b, name);
    buf_append_byte(b, ' ');
    buf_append_str(b, type);
    buf_append_byte(b, '\n');
}

/* A label value, quoted, with \ " and newline escaped as the format says. */
static void label_value(buf *b, const char *v)
{
    buf_append_byte(b, '"');
    for (; *v; v++) {
        if (*v == '\\')
            buf_append_str(b, "\\\\");
        else if (*v == '"')
            buf_append_str(b, "\\\"");
        else if (*v == '\n')
            buf_append_str(b, "\\n");
        else
            buf_append_byte(b, (uint8_t)*v);
    }
    buf_append_byte(b, '"');
}

/* name{l1="v1",l2="v2"} with constant values (no escaping needed); l2 may be
 * NULL, and so may l1 (no braces). */
static void sample_name(buf *b, const char *name, const char *l1,
                        const char *v1, const char *l2, const char *v2)
{
    buf_append_str(b, name);
    if (l1 == NULL)
        return;
    buf_append_byte(b, '{');
    buf_append_str(b, l1);
    buf_append_byte(b, '=');
    label_value(b, v1);
    if (l2 != NULL) {
        buf_append_byte(b, ',');
        buf_append_str(b, l2);
        buf_append_byte(b, '=');
        label_value(b, v2);
    }
    buf_append_byte(b, '}');
}

static void value_u64(buf *b, uint64_t v)
{
    char s[32];
    int n = snprintf(s, sizeof s, " %" PRIu64 "\n", v);
    buf_append(b, s, (size_t)n);
}

static void value_i64(buf *b, int64_t v)
{
    buf_append_byte(b, ' ');
    buf_append_int(b, v);
    buf_append_byte(b, '\n');
}

static void value_double(buf *b, const char *fmt, double v)
{
    char s[64];
    int n = snprintf(s, sizeof s, fmt, v);
    buf_append_byte(b, ' ');
    buf_append(b, s, (size_t)n);
    buf_append_byte(b, '\n');
}

static void render_partitions(const metrics *m, buf *b)
{
    ptable *t = m->parts;
    char part[16];
    pthread_mutex_lock(&t->lock);
    family(b, "engaged_consumer_lag", "gauge",
           "Messages between the consumer's position and the partition's "
           "high watermark.");
    for (size_t i = 0; i < t->hi; i++) {
        const pslot *s = &t->slots[i];
        if (!s->used || s->lag < 0)
            continue;
        snprintf(part, sizeof part, "%" PRId32, s->partition);
        buf_append_str(b, "engaged_consumer_lag{topic=");
        label_value(b, s->topic);
        buf_append_str(b, ",partition=");
        label_value(b, part);
        buf_append_byte(b, '}');
        value_i64(b, s->lag);
    }
    family(b, "engaged_watermark_seconds", "gauge",
           "Event-time watermark of the partition (newest event time "
           "applied), in Unix seconds.");
    for (size_t i = 0; i < t->hi; i++) {
        const pslot *s = &t->slots[i];
        if (!s->used || s->watermark_ms == METRICS_NO_WATERMARK)
            continue;
        snprintf(part, sizeof part, "%" PRId32, s->partition);
        buf_append_str(b, "engaged_watermark_seconds{topic=");
        label_value(b, s->topic);
        buf_append_str(b, ",partition=");
        label_value(b, part);
        buf_append_byte(b, '}');
        value_double(b, "%.3f", (double)s->watermark_ms / 1000.0);
    }
    pthread_mutex_unlock(&t->lock);
}

static void render_tiers(const metrics *m, buf *b)
{
    /* The families are declared before the first metrics_set_tiers(), with
     * no sample, as the per-partition ones are. */
    ttable *t = m->tiers;
    pthread_mutex_lock(&t->lock);
    size_t ncols = 2 + t->nwindows;
    family(b, "engaged_tier_creators", "gauge",
           "This instance's share of the tier's creators: those of the "
           "partitions it holds, as of their last committed checkpoint "
           "(sum by tier over the instances: the tier hash's creators).");
    for (size_t r = 0; r < t->ntiers; r++) {
        sample_name(b, "engaged_tier_creators", "tier", t->tier[r], NULL,
                    NULL);
        value_i64(b, t->cells[r * ncols]);
    }
    family(b, "engaged_tier_followers", "gauge",
           "This instance's share of the sum of the tier's follower counts "
           "(as engaged_tier_creators).");
    for (size_t r = 0; r < t->ntiers; r++) {
        sample_name(b, "engaged_tier_followers", "tier", t->tier[r], NULL,
                    NULL);
        value_i64(b, t->cells[r * ncols + 1]);
    }
    family(b, "engaged_tier_engagements", "gauge",
           "This instance's share of the tier's engagements over the window "
           "(as engaged_tier_creators).");
    for (size_t r = 0; r < t->ntiers; r++)
        for (size_t w = 0; w < t->nwindows; w++) {
            sample_name(b, "engaged_tier_engagements", "tier", t->tier[r],
                        "window", t->window[w]);
            value_i64(b, t->cells[r * ncols + 2 + w]);
        }
    pthread_mutex_unlock(&t->lock);
}

static void render_histogram(buf *b, const char *name, const char *help,
                             const atomic_uint_fast64_t *buckets,
                             const char *const *le, size_t nbounds,
                             const atomic_uint_fast64_t *sum_ns)
{
    char sample[128];
    family(b, name, "histogram", help);
    snprintf(sample, sizeof sample, "%s_bucket", name);
    uint64_t cum = 0;
    for (size_t i = 0; i <= nbounds; i++) {
        cum += LOAD(buckets[i]);
        sample_name(b, sample, "le", i < nbounds ? le[i] : "+Inf", NULL, NULL);
        value_u64(b, cum);
    }
    buf_append_str(b, name);
    buf_append_str(b, "_sum");
    value_double(b, "%.9f", (double)LOAD(*sum_ns) / 1e9);
    buf_append_str(b, name);
    buf_append_str(b, "_count");
    value_u64(b, cum);
}

int metrics_render(const metrics *m, buf *b)
{
    family(b, "engaged_events_total", "counter",
           "Messages consumed, by event type and result (refused: sent to "
           "the dead-letter topic; unknown: the message did not parse).");
    for (int t = 0; t < NTYPES; t++)
        for (int r = 0; r < 2; r++) {
            if (t == TYPE_UNKNOWN && r == 0)
                continue; /* never happens: not exported */
            sample_name(b, "engaged_events_total", "type", type_names[t],
                        "result", r ? "refused" : "ok");
            value_u64(b, LOAD(m->events[t][r]));
        }

    family(b, "engaged_dlq_messages_total", "counter",
           "Messages sent to the dead-letter topic, by reason.");
    for (int r = EVENT_OK + 1; r < EVENT_ERR_COUNT; r++) {
        sample_name(b, "engaged_dlq_messages_total", "reason", reason_names[r],
                    NULL, NULL);
        value_u64(b, LOAD(m->dlq[r]));
    }

    family(b, "engaged_alerts_total", "counter",
           "Alerts emitted, by kind and status.");
    for (int k = 0; k < METRICS_ALERT_KIND_COUNT; k++)
        for (int s = 0; s < METRICS_ALERT_STATUS_COUNT; s++) {
            sample_name(b, "engaged_alerts_total", "kind", kind_names[k],
                        "status", status_names[s]);
            value_u64(b, LOAD(m->alerts[k][s]));
        }

    family(b, "engaged_conflict_checks_skipped_total", "counter",
           "Sponsored posts not checked for brand conflicts because their "
           "sector is unknown.");
    sample_name(b, "engaged_conflict_checks_skipped_total", NULL, NULL, NULL,
                NULL);
    value_u64(b, LOAD(m->conflict_skipped));

    family(b, "engaged_checkpoints_total", "counter",
           "Checkpoint attempts, by result (fenced: another instance owns a "
           "partition; not_new: a creator taken as new has state in Redis, "
           "its partitions are read back).");
    for (int r = 0; r < METRICS_CHECKPOINT_RESULT_COUNT; r++) {
        sample_name(b, "engaged_checkpoints_total", "result", ckpt_names[r],
                    NULL, NULL);
        value_u64(b, LOAD(m->checkpoints[r]));
    }

    render_histogram(b, "engaged_checkpoint_duration_seconds",
                     "Duration of checkpoint attempts, from the start of "
                     "the build to Redis's answer (the build, the wait for "
                     "their alerts in Kafka, the transaction).",
                     m->ckpt_bucket,
                     bucket_le, NBUCKETS, &m->ckpt_sum_ns);
    render_histogram(b, "engaged_event_checkpoint_latency_seconds",
                     "From an event's produce time (its Kafka timestamp) to "
                     "the commit of the checkpoint that holds it.",
                     m->lat_bucket, lat_le, NLAT, &m->lat_sum_ns);

    render_partitions(m, b);

    family(b, "engaged_creators", "gauge", "Creators held in memory.");
    buf_append_str(b, "engaged_creators");
    value_i64(b, LOAD(m->creators));
    family(b, "engaged_state_bytes", "gauge",
           "Memory held by the creators' state, in bytes.");
    buf_append_str(b, "engaged_state_bytes");
    value_i64(b, LOAD(m->state_bytes));
    render_tiers(m, b);

    family(b, "engaged_redis_errors_total", "counter",
           "Failed Redis commands and connections.");
    buf_append_str(b, "engaged_redis_errors_total");
    value_u64(b, LOAD(m->redis_errors));
    family(b, "engaged_redis_reconnects_total", "counter",
           "Successful reconnections to Redis.");
    buf_append_str(b, "engaged_redis_reconnects_total");
    value_u64(b, LOAD(m->redis_reconnects));
    family(b, "engaged_kafka_errors_total", "counter",
           "Errors reported by the Kafka client.");
    buf_append_str(b, "engaged_kafka_errors_total");
    value_u64(b, LOAD(m->kafka_errors));
    family(b, "engaged_checkpoint_backpressure_seconds_total", "counter",
           "Time reading waited for the checkpoint in flight, with more "
           "than twice checkpoint.max_creators changed creators pending.");
    buf_append_str(b, "engaged_checkpoint_backpressure_seconds_total");
    value_double(b, "%.3f", (double)LOAD(m->backpressure_ms) / 1000.0);
    family(b, "engaged_kafka_fetch_nudges_total", "counter",
           "Times the Kafka prefetch queue ran low and the fetcher was "
           "woken.");
    buf_append_str(b, "engaged_kafka_fetch_nudges_total");
    value_u64(b, LOAD(m->kafka_nudges));
    family(b, "engaged_alertmanager_sent_total", "counter",
           "Alerts Alertmanager accepted, re-sent firing alerts included.");
    buf_append_str(b, "engaged_alertmanager_sent_total");
    value_u64(b, LOAD(m->am_sent));
    family(b, "engaged_alertmanager_failed_total", "counter",
           "POSTs to Alertmanager that failed (every URL), each retried "
           "unless Alertmanager refused the alerts.");
    buf_append_str(b, "engaged_alertmanager_failed_total");
    value_u64(b, LOAD(m->am_failed));
    family(b, "engaged_alertmanager_dropped_total", "counter",
           "Alerts never posted: the queue was full, Alertmanager refused "
           "them, or the stop came first.");
    buf_append_str(b, "engaged_alertmanager_dropped_total");
    value_u64(b, LOAD(m->am_dropped));
    family(b, "engaged_alertmanager_queue_length", "gauge",
           "Alerts waiting to be posted to Alertmanager.");
    buf_append_str(b, "engaged_alertmanager_queue_length");
    value_u64(b, (uint64_t)LOAD(m->am_queue));
    family(b, "engaged_api_requests_total", "counter",
           "Answers of the read API (/v1) by route (none: refused before "
           "routing) and HTTP status.");
    for (size_t r = 0; r <= METRICS_API_ROUTES; r++) {
        for (size_t i = 0; i < API_STATUSES; i++) {
            uint64_t n = LOAD(m->api_answers[r][i]);
            if (n == 0)
                continue;
            char code[8];
            snprintf(code, sizeof code, "%u", api_statuses[i]);
            sample_name(b, "engaged_api_requests_total", "route",
                        api_route_names[r], "code", code);
            value_u64(b, n);
        }
    }
    family(b, "engaged_api_request_seconds_total", "counter",
           "Time the read API spent answering, by route.");
    for (size_t r = 0; r <= METRICS_API_ROUTES; r++) {
        sample_name(b, "engaged_api_request_seconds_total", "route",
                    api_route_names[r], NULL, NULL);
        value_double(b, "%.6f", (double)LOAD(m->api_us[r]) / 1e6);
    }

    family(b, "engaged_build_info", "gauge",
           "Always 1; the version is in the label.");
    sample_name(b, "engaged_build_info", "version", m->version, NULL, NULL);
    value_u64(b, 1);
    family(b, "engaged_up", "gauge", "Always 1 while the daemon answers.");
    buf_append_str(b, "engaged_up");
    value_u64(b, 1);
    family(b, "engaged_start_time_seconds", "gauge",
           "When the daemon started, in Unix seconds.");
    buf_append_str(b, "engaged_start_time_seconds");
    value_double(b, "%.3f", m->start_time);

    return buf_failed(b) ? -1 : 0;
}

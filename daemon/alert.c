/*
 * alert: the alert message and its fingerprints.  See alert.h for the
 * contract and schemas/alert.schema.json for the message.
 */
#include "alert.h"
#include "hash.h"

#include "timefmt.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[ALERT_KINDS] = {
    "engagement_decay", "brand_conflict", "tier_change", "engagement_spike",
    "follower_jump", "sponsored_saturation",
};

const char *alert_kind_name(alert_kind kind)
{
    return (unsigned)kind < ALERT_KINDS ? kind_names[kind] : "unknown";
}

const char *alert_status_name(alert_status status)
{
    return status == ALERT_RESOLVED ? "resolved" : "firing";
}

const char *alert_severity_name(alert_severity severity)
{
    switch (severity) {
    case ALERT_INFO:
        return "info";
    case ALERT_WARNING:
        return "warning";
    case ALERT_CRITICAL:
        return "critical";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------
 * Fingerprints
 */


/* Fixed little-endian bytes, so that the fingerprint is the same on every
 * host whatever its byte order. */
static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return hash_fnv1a(h, b, sizeof b);
}

uint64_t alert_fp_bytes(uint64_t h, const void *data, size_t len)
{
    /* The length first: field boundaries are part of the identity. */
    h = fnv_u64(h, (uint64_t)len);
    return hash_fnv1a(h, data, len);
}

uint64_t alert_fp_str(uint64_t h, const char *s)
{
    return alert_fp_bytes(h, s, strlen(s));
}

uint64_t alert_fp_i64(uint64_t h, int64_t v)
{
    return fnv_u64(h, (uint64_t)v);
}

uint64_t alert_fp_finish(uint64_t h)
{
    /* FNV-1a barely moves the high bits for the last bytes hashed; a
     * murmur3-style finaliser spreads them over all 16 hex digits. */
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

static uint64_t fp_start(alert_kind kind, const char *creator_id, size_t len)
{
    uint64_t h = alert_fp_str(ALERT_FP_INIT, alert_kind_name(kind));
    return alert_fp_bytes(h, creator_id, len);
}

uint64_t alert_decay_fingerprint(const char *creator_id, size_t len,
                                 int64_t starts_at)
{
    uint64_t h = fp_start(ALERT_ENGAGEMENT_DECAY, creator_id, len);
    return alert_fp_finish(alert_fp_i64(h, starts_at));
}

uint64_t alert_conflict_fingerprint(const char *creator_id, size_t len,
                                    const char *sector, const char *brand_a,
                                    const char *brand_b, int64_t starts_at)
{
    /* The pair is unordered: {pepsi, coca-cola} is {coca-cola, pepsi}. */
    if (strcmp(brand_a, brand_b) > 0) {
        const char *t = brand_a;
        brand_a = brand_b;
        brand_b = t;
    }
    uint64_t h = fp_start(ALERT_BRAND_CONFLICT, creator_id, len);
    h = alert_fp_str(h, sector);
    h = alert_fp_str(h, brand_a);
    h = alert_fp_str(h, brand_b);
    return alert_fp_finish(alert_fp_i64(h, starts_at));
}

uint64_t alert_tier_change_fingerprint(const char *creator_id, size_t len,
                                       const char *from, const char *to,
                                       int64_t starts_at)
{
    uint64_t h = fp_start(ALERT_TIER_CHANGE, creator_id, len);
    h = alert_fp_str(h, from);
    h = alert_fp_str(h, to);
    return alert_fp_finish(alert_fp_i64(h, starts_at));
}

uint64_t alert_spike_fingerprint(const char *creator_id, size_t len,
                                 int64_t starts_at)
{
    uint64_t h = fp_start(ALERT_ENGAGEMENT_SPIKE, creator_id, len);
    return alert_fp_finish(alert_fp_i64(h, starts_at));
}

uint64_t alert_jump_fingerprint(const char *creator_id, size_t len,
                                int64_t from, int64_t to, int64_t starts_at)
{
    uint64_t h = fp_start(ALERT_FOLLOWER_JUMP, creator_id, len);
    h = alert_fp_i64(h, from);
    h = alert_fp_i64(h, to);
    return alert_fp_finish(alert_fp_i64(h, starts_at));
}

uint64_t alert_saturation_fingerprint(const char *creator_id, size_t len,
                                      int64_t starts_at)
{
    uint64_t h = fp_start(ALERT_SPONSORED_SATURATION, creator_id, len);
    return alert_fp_finish(alert_fp_i64(h, starts_at));
}

char *alert_id_format(uint64_t fp, char out[ALERT_ID_LEN + 1])
{
    snprintf(out, ALERT_ID_LEN + 1, "%016" PRIx64, fp);
    return out;
}

void alert_tier_change(alert *a, const char *creator_id, const char *from,
                       const char *to, int64_t followers, int64_t ts)
{
    memset(a, 0, sizeof *a);
    a->kind = ALERT_TIER_CHANGE;
    a->status = ALERT_FIRING;
    a->severity = ALERT_INFO;
    a->fingerprint = alert_tier_change_fingerprint(
        creator_id, strlen(creator_id), from, to, ts);
    a->creator_id = creator_id;
    a->tier = to;
    a->starts_at = ts;
    a->ends_at = ts;
    a->tier_change.from = from;
    a->tier_change.to = to;
    a->tier_change.followers = followers;
}

/* ------------------------------------------------------------------------
 * Summary
 */

/* "10d", "5h", "30m", "12s": the largest unit that fits, rounded down. */
static void format_gap(int64_t ms, char *out, size_t size)
{
    static const struct { const char *suffix; int64_t ms; } units[] = {
        {"d", INT64_C(86400000)}, {"h", INT64_C(3600000)},
        {"m", INT64_C(60000)}, {"s", INT64_C(1000)},
    };
    if (ms < 0)
        ms = ms == INT64_MIN ? INT64_MAX : -ms;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms >= units[i].ms) {
            snprintf(out, size, "%" PRId64 "%s", ms / units[i].ms,
                     units[i].suffix);
            return;
        }
    }
    snprintf(out, size, "0s");
}

static const char *or_unknown(const char *s)
{
    return s && *s ? s : "unknown";
}

int alert_summary(const alert *a, char *out, size_t size)
{
    const char *who = a->creator_id ? a->creator_id : "";
    switch (a->kind) {
    case ALERT_ENGAGEMENT_DECAY: {
        const alert_decay_details *d = &a->decay;
        char cur[24], base[24];
        timefmt_format_window(d->current_ms, cur, sizeof cur);
        timefmt_format_window(d->baseline_ms, base, sizeof base);
        if (a->status == ALERT_RESOLVED && d->left_tiers)
            return snprintf(out, size, "%s (%s): no longer in a watched "
                            "tier, engagement decay resolved", who,
                            or_unknown(a->tier));
        double pct = isfinite(d->ratio) ? round(d->ratio * 100.0) : 0.0;
        return snprintf(out, size, "%s (%s): engagement over %s is %s%.0f%% "
                        "of its %s baseline", who, or_unknown(a->tier), cur,
                        a->status == ALERT_RESOLVED ? "back to " : "", pct,
                        base);
    }
    case ALERT_BRAND_CONFLICT: {
        const alert_conflict_details *c = &a->conflict;
        char gap[32];
        format_gap(c->apart_ms, gap, sizeof gap);
        return snprintf(out, size, "%s (%s): sponsored posts for %s and %s "
                        "(%s) %s apart", who, or_unknown(a->tier),
                        or_unknown(c->brands[0]), or_unknown(c->brands[1]),
                        or_unknown(c->sector), gap);
    }
    case ALERT_TIER_CHANGE:
        return snprintf(out, size, "%s: tier changed from %s to %s at %" PRId64
                        " followers", who, or_unknown(a->tier_change.from),
                        or_unknown(a->tier_change.to),
                        a->tier_change.followers);
    case ALERT_ENGAGEMENT_SPIKE: {
        const alert_spike_details *d = &a->spike;
        char win[24], base[24];
        timefmt_format_window(d->window_ms, win, sizeof win);
        timefmt_format_window(d->baseline_ms, base, sizeof base);
        double x = isfinite(d->multiple) ? round(d->multiple * 10.0) / 10.0
                                         : 0.0;
        return snprintf(out, size, "%s (%s): engagement over %s is %s%.1fx "
                        "its %s baseline", who, or_unknown(a->tier), win,
                        a->status == ALERT_RESOLVED ? "back to " : "", x,
                        base);
    }
    case ALERT_FOLLOWER_JUMP: {
        const alert_jump_details *j = &a->jump;
        char win[24];
        timefmt_format_window(j->window_ms, win, sizeof win);
        double pct = j->from > 0 ? floor(100.0 * (double)(j->to - j->from) /
                                         (double)j->from)
                                 : 0.0;
        return snprintf(out, size, "%s (%s): followers up %.0f%% (+%" PRId64
                        ") to %" PRId64 " within %s", who,
                        or_unknown(a->tier), pct, j->to - j->from, j->to,
                        win);
    }
    case ALERT_SPONSORED_SATURATION: {
        const alert_saturation_details *d = &a->saturation;
        char win[24];
        timefmt_format_window(d->window_ms, win, sizeof win);
        return snprintf(out, size, "%s (%s): %s%.0f%% of its posts over %s "
                        "are sponsored (limit %.0f%%)", who,
                        or_unknown(a->tier),
                        a->status == ALERT_RESOLVED ? "back to " : "",
                        floor(d->share * 100.0), win,
                        round(d->limit * 100.0));
    }
    case ALERT_KINDS:
        break;
    }
    return snprintf(out, size, "%s: alert", who);
}

/* ------------------------------------------------------------------------
 * JSON
 */

/*
 * Builds objects key by key; the first failure (out of memory, a string
 * that is not UTF-8) sticks, so that one check at the end covers them all.
 */
struct builder {
    bool failed;
};

/* Sets obj[key] = v, taking v.  Out of memory (obj or v NULL, or the set
 * failing) marks the builder failed; json_object_set_new releases v then,
 * so nothing leaks. */
static void put(struct builder *b, json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        b->failed = true;
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *pair(struct builder *b, const char *x, const char *y)
{
    json_t *arr = json_array();
    if (!arr || json_array_append_new(arr, str_or_null(x)) != 0 ||
        json_array_append_new(arr, str_or_null(y)) != 0)
        b->failed = true;
    return arr;
}

static json_t *time_string(int64_t ms)
{
    char t[32];
    return json_string(timefmt_format_rfc3339(ms, t, sizeof t));
}

/* x rounded to `decimals` places; NaN and infinities are null. */
static json_t *rounded(double x, int decimals)
{
    if (!isfinite(x))
        return json_null();
    double scale = decimals == 1 ? 10.0 : 100.0;
    double r = round(x * scale) / scale;
    return json_real(r == 0.0 ? 0.0 : r);   /* no "-0.0" */
}

/* A rate to 6 decimals (0.012345); NaN and infinities are null. */
static json_t *rounded6(double x)
{
    if (!isfinite(x))
        return json_null();
    double r = round(x * 1e6) / 1e6;
    return json_real(r == 0.0 ? 0.0 : r);
}

static json_t *details(struct builder *b, const alert *a)
{
    json_t *d = json_object();
    char w[24];
    switch (a->kind) {
    case ALERT_ENGAGEMENT_DECAY:
        put(b, d, "current_window",
            json_string(timefmt_format_window(a->decay.current_ms, w,
                                              sizeof w)));
        put(b, d, "baseline_window",
            json_string(timefmt_format_window(a->decay.baseline_ms, w,
                                              sizeof w)));
        put(b, d, "current", json_integer(a->decay.current));
        put(b, d, "expected", rounded(a->decay.expected, 1));
        put(b, d, "ratio", rounded(a->decay.ratio, 2));
        break;
    case ALERT_BRAND_CONFLICT: {
        const alert_conflict_details *c = &a->conflict;
        put(b, d, "sector", json_string(or_unknown(c->sector)));
        put(b, d, "brands", pair(b, c->brands[0], c->brands[1]));
        put(b, d, "post_ids", pair(b, c->post_ids[0], c->post_ids[1]));
        put(b, d, "window",
            json_string(timefmt_format_duration(c->window_ms, w, sizeof w)));
        bool known = (c->campaign_ids[0] && *c->campaign_ids[0]) ||
                     (c->campaign_ids[1] && *c->campaign_ids[1]);
        if (known)
            put(b, d, "campaign_ids",
                pair(b, c->campaign_ids[0], c->campaign_ids[1]));
        break;
    }
    case ALERT_TIER_CHANGE:
        put(b, d, "from", json_string(or_unknown(a->tier_change.from)));
        put(b, d, "to", json_string(or_unknown(a->tier_change.to)));
        put(b, d, "followers", json_integer(a->tier_change.followers));
        break;
    case ALERT_ENGAGEMENT_SPIKE: {
        const alert_spike_details *sp = &a->spike;
        static const char *const names[4] = {"likes", "comments", "shares",
                                             "saves"};
        put(b, d, "window",
            json_string(timefmt_format_window(sp->window_ms, w, sizeof w)));
        put(b, d, "baseline_window",
            json_string(timefmt_format_window(sp->baseline_ms, w, sizeof w)));
        put(b, d, "current", json_integer(sp->current));
        put(b, d, "expected", rounded(sp->expected, 1));
        put(b, d, "multiple", rounded(sp->multiple, 2));
        json_t *acts = json_object();
        for (int i = 0; i < 4; i++)
            put(b, acts, names[i], json_integer(sp->actions[i]));
        put(b, d, "actions", acts);
        put(b, d, "likes_only",
            json_boolean(sp->actions[0] > 0 && sp->actions[1] == 0 &&
                         sp->actions[2] == 0 && sp->actions[3] == 0));
        break;
    }
    case ALERT_FOLLOWER_JUMP: {
        const alert_jump_details *j = &a->jump;
        put(b, d, "window",
            json_string(timefmt_format_window(j->window_ms, w, sizeof w)));
        put(b, d, "from", json_integer(j->from));
        put(b, d, "to", json_integer(j->to));
        put(b, d, "increase", json_integer(j->to - j->from));
        put(b, d, "increase_ratio",
            rounded(j->from > 0 ? (double)(j->to - j->from) / (double)j->from
                                : NAN, 2));
        put(b, d, "round", json_boolean(j->round));
        put(b, d, "engagements", json_integer(j->engagements));
        put(b, d, "expected_engagements", rounded(j->expected, 1));
        put(b, d, "er_before",
            rounded6(j->from > 0 ? j->expected / (double)j->from : NAN));
        put(b, d, "er_after",
            rounded6(j->to > 0 ? (double)j->engagements / (double)j->to
                               : NAN));
        break;
    }
    case ALERT_SPONSORED_SATURATION: {
        const alert_saturation_details *sd = &a->saturation;
        put(b, d, "window",
            json_string(timefmt_format_window(sd->window_ms, w, sizeof w)));
        put(b, d, "posts", json_integer(sd->posts));
        put(b, d, "sponsored_posts", json_integer(sd->sponsored));
        put(b, d, "share", rounded(sd->share, 2));
        put(b, d, "limit", rounded(sd->limit, 2));
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < sd->nbrands; i++)
            if (json_array_append_new(arr, json_string(sd->brands[i])) != 0)
                b->failed = true;
        put(b, d, "brands", arr);
        break;
    }
    case ALERT_KINDS:
        b->failed = true;
        break;
    }
    return d;
}

int alert_json(const alert *a, buf *out)
{
    struct builder b = {false};
    char id[ALERT_ID_LEN + 1];
    const char *kind = alert_kind_name(a->kind);
    const char *severity = alert_severity_name(a->severity);
    const char *tier = or_unknown(a->tier);
    const char *creator = a->creator_id ? a->creator_id : "";

    int n = alert_summary(a, NULL, 0);
    char *summary = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!summary)
        return -1;
    alert_summary(a, summary, (size_t)n + 1);

    json_t *o = json_object();
    put(&b, o, "alert_id", json_string(alert_id_format(a->fingerprint, id)));
    put(&b, o, "kind", json_string(kind));
    put(&b, o, "status", json_string(alert_status_name(a->status)));
    put(&b, o, "severity", json_string(severity));
    put(&b, o, "creator_id", json_string(creator));
    put(&b, o, "tier", json_string(tier));
    put(&b, o, "starts_at", time_string(a->starts_at));
    put(&b, o, "ends_at", a->status == ALERT_RESOLVED
                              ? time_string(a->ends_at) : json_null());
    put(&b, o, "summary", json_string(summary));
    free(summary);

    /* What Alertmanager groups and routes on; the same on the firing and
     * the resolved message of an incident, or it would not match them. */
    json_t *labels = json_object();
    put(&b, labels, "alertname", json_string(kind));
    put(&b, labels, "creator_id", json_string(creator));
    put(&b, labels, "tier", json_string(tier));
    put(&b, labels, "severity", json_string(severity));
    if (a->kind == ALERT_BRAND_CONFLICT)
        put(&b, labels, "sector", json_string(or_unknown(a->conflict.sector)));
    put(&b, o, "labels", labels);
    put(&b, o, "details", details(&b, a));

    int rc = -1;
    if (!b.failed) {
        /* 15 significant digits print the rounded expected and ratio
         * exactly ("10166.7", not "10166.700000000001"). */
        char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                       JSON_REAL_PRECISION(15));
        if (text) {
            size_t before = out->len;
            buf_append_str(out, text);
            free(text);
            if (!buf_failed(out))
                rc = 0;
            else
                out->len = before;
        }
    }
    json_decref(o);
    return rc;
}

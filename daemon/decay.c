/*
 * decay: the engagement_decay state machine.  See decay.h for the contract
 * and issue 3 ("Alert kinds", 1) for the requirement.
 */
#include "decay.h"
#include "sat.h"

#include <math.h>
#include <string.h>

#define DECAY_BLOB_VERSION 1

void decay_init(decay_state *s)
{
    memset(s, 0, sizeof *s);
    s->status = DECAY_OK;
    s->tier = -1;
    s->ratio = NAN;
}

const char *decay_state_name(const decay_state *s)
{
    switch (s->status) {
    case DECAY_PENDING:
        return "pending";
    case DECAY_FIRING:
        return "firing";
    default:
        return "ok";
    }
}

static void back_to_ok(decay_state *s)
{
    s->status = DECAY_OK;
    s->severity = 0;
    s->tier = -1;
    s->pending_since = 0;
    s->fired_at = 0;
}

/* Fills the verdict of the incident *s is firing, ended at W. */
static void resolve(decay_state *s, int64_t W, decay_verdict *out)
{
    out->action = DECAY_RESOLVE;
    out->severity = (alert_severity)s->severity;
    out->tier = s->tier;
    out->starts_at = s->fired_at;
    out->ends_at = W;
}

decay_action decay_evaluate(const config *cfg, decay_state *s,
                            const decay_input *in, decay_verdict *out)
{
    const int64_t W = in->W;
    int64_t current = in->current > 0 ? in->current : 0;
    /* The baseline window includes the current one; with buckets of
     * different widths the approximations can make it hold a little less,
     * never a negative older part. */
    int64_t older = in->baseline - current;
    if (older < 0)
        older = 0;
    double scale = (double)cfg->decay_current_ms /
                   (double)(cfg->decay_baseline_ms - cfg->decay_current_ms);
    double expected = (double)older * scale;
    double ratio = expected > 0.0 ? (double)current / expected : NAN;

    memset(out, 0, sizeof *out);
    out->action = DECAY_NONE;
    out->tier = -1;
    out->current = current;
    out->expected = expected;
    out->ratio = ratio;

    if (!config_decay_watches(cfg, in->tier)) {
        /* Issue 3: "A firing creator that leaves the watched tiers is
         * resolved too."  A pending one just forgets. */
        if (s->status == DECAY_FIRING) {
            resolve(s, W, out);
            out->left_tiers = true;
        }
        back_to_ok(s);
        s->ratio = NAN;
        return out->action;
    }

    s->ratio = ratio;
    /* No verdict: not enough history, or too little to compare with. */
    if (in->first_event == INT64_MAX ||
        in->first_event > sat_sub(W, cfg->decay_baseline_ms) ||
        !(expected > 0.0) || expected < (double)cfg->decay_min_baseline)
        return DECAY_NONE;

    switch (s->status) {
    case DECAY_OK:
        if (!(ratio < cfg->decay_ratio))
            return DECAY_NONE;
        s->status = DECAY_PENDING;
        s->pending_since = W;
        /* With for = 0 it fires at once. */
        /* fall through */
    case DECAY_PENDING:
        if (!(ratio < cfg->decay_ratio)) {
            back_to_ok(s);
            return DECAY_NONE;
        }
        if (sat_sub(W, s->pending_since) < cfg->decay_for_ms)
            return DECAY_NONE;
        s->status = DECAY_FIRING;
        s->severity = ratio < cfg->decay_critical_ratio ? ALERT_CRITICAL
                                                         : ALERT_WARNING;
        s->tier = (int16_t)in->tier;
        s->fired_at = W;
        s->pending_since = 0;
        out->action = DECAY_FIRE;
        out->severity = (alert_severity)s->severity;
        out->tier = s->tier;
        out->starts_at = W;
        return DECAY_FIRE;
    case DECAY_FIRING:
        /* Between ratio and resolve_ratio it keeps firing: the hysteresis
         * that stops a creator hovering at the threshold from flapping. */
        if (!(ratio >= cfg->decay_resolve_ratio))
            return DECAY_NONE;
        resolve(s, W, out);
        back_to_ok(s);
        return DECAY_RESOLVE;
    default:
        return DECAY_NONE;
    }
}

int64_t decay_next_evaluation(const config *cfg, int64_t W)
{
    int64_t width = cfg->decay_current_ms / 60;
    if (width <= 0)
        width = 1;
    /* Floor division, right for negative W too. */
    int64_t q = W / width;
    if (W % width != 0 && W < 0)
        q--;
    if (q >= INT64_MAX / width - 1)
        return INT64_MAX;
    return (q + 1) * width;
}

int64_t decay_deadline(const decay_state *s, const config *cfg)
{
    if (s->status != DECAY_PENDING)
        return INT64_MAX;
    return sat_add(s->pending_since, cfg->decay_for_ms);
}

void decay_alert(const decay_verdict *v, const config *cfg,
                 const char *creator_id, alert *a)
{
    memset(a, 0, sizeof *a);
    a->kind = ALERT_ENGAGEMENT_DECAY;
    a->status = v->action == DECAY_RESOLVE ? ALERT_RESOLVED : ALERT_FIRING;
    a->severity = v->severity;
    a->fingerprint = alert_decay_fingerprint(creator_id, strlen(creator_id),
                                             v->starts_at);
    a->creator_id = creator_id;
    a->tier = v->tier >= 0 && (size_t)v->tier < cfg->ntiers
                  ? cfg->tiers[v->tier].name : "unknown";
    a->starts_at = v->starts_at;
    a->ends_at = v->ends_at;
    a->decay.current_ms = cfg->decay_current_ms;
    a->decay.baseline_ms = cfg->decay_baseline_ms;
    a->decay.current = v->current;
    a->decay.expected = v->expected;
    a->decay.ratio = v->ratio;
    a->decay.left_tiers = v->left_tiers;
}

/* ------------------------------------------------------------------------
 * Persistence
 */

void decay_encode(const decay_state *s, buf *out)
{
    buf_append_byte(out, DECAY_BLOB_VERSION);
    buf_append_byte(out, s->status);
    buf_append_byte(out, s->severity);
    buf_append_varint(out, s->tier);
    buf_append_varint(out, s->pending_since);
    buf_append_varint(out, s->fired_at);
    uint64_t bits;
    memcpy(&bits, &s->ratio, sizeof bits);
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(bits >> (8 * i));
    buf_append(out, b, sizeof b);
}

int decay_decode(decay_state *s, const char *data, size_t len, size_t *pos)
{
    if (*pos + 3 > len || (uint8_t)data[*pos] != DECAY_BLOB_VERSION)
        return -1;
    uint8_t status = (uint8_t)data[*pos + 1];
    uint8_t severity = (uint8_t)data[*pos + 2];
    *pos += 3;
    if (status > DECAY_FIRING || severity > ALERT_CRITICAL)
        return -1;
    int64_t tier, pending_since, fired_at;
    if (buf_read_varint(data, len, pos, &tier) < 0 ||
        buf_read_varint(data, len, pos, &pending_since) < 0 ||
        buf_read_varint(data, len, pos, &fired_at) < 0 || tier < -1 ||
        tier >= CONFIG_MAX_TIERS || *pos + 8 > len)
        return -1;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits |= (uint64_t)(uint8_t)data[*pos + (size_t)i] << (8 * i);
    *pos += 8;
    s->status = status;
    s->severity = severity;
    s->tier = (int16_t)tier;
    s->pending_since = pending_since;
    s->fired_at = fired_at;
    memcpy(&s->ratio, &bits, sizeof bits);
    return 0;
}

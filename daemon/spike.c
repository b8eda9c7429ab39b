#include "spike.h"

#include <math.h>
#include <string.h>

static double expected_of(const config *cfg, const spike_input *in)
{
    int64_t older = in->baseline - in->current;
    if (older <= 0)
        return 0.0;
    return (double)older * (double)cfg->spike_window_ms /
           (double)(cfg->spike_baseline_ms - cfg->spike_window_ms);
}

spike_action spike_evaluate(const config *cfg, spike_state *s,
                            const spike_input *in, spike_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->current = in->current;
    out->expected = expected_of(cfg, in);
    out->multiple = out->expected > 0 ? (double)in->current / out->expected
                                      : NAN;
    memcpy(out->actions, in->actions, sizeof out->actions);
    if (s->firing) {
        /* Resolved once back under resolve_ratio; a creator that went
         * quiet (current 0) too, whatever its baseline. */
        bool back = in->current == 0 ||
                    (out->expected > 0 &&
                     out->multiple < cfg->spike_resolve_ratio);
        if (!back)
            return SPIKE_NONE;
        out->action = SPIKE_RESOLVE;
        out->severity = (alert_severity)s->severity;
        out->tier = s->tier;
        out->starts_at = s->fired_at;
        out->ends_at = in->W;
        memset(s, 0, sizeof *s);
        return out->action;
    }
    if (!cfg->spike_enabled || in->first_event == INT64_MAX ||
        in->first_event > in->W - cfg->spike_baseline_ms ||
        in->current < cfg->spike_min_engagements || in->followers < 0 ||
        (double)in->current < cfg->spike_min_share * (double)in->followers ||
        in->baseline - in->current < cfg->spike_min_baseline ||
        !(out->expected > 0) || out->multiple < cfg->spike_ratio)
        return SPIKE_NONE;
    s->firing = 1;
    s->severity = out->multiple >= cfg->spike_critical_ratio
                      ? ALERT_CRITICAL : ALERT_WARNING;
    s->tier = (int16_t)in->tier;
    s->fired_at = in->W;
    out->action = SPIKE_FIRE;
    out->severity = (alert_severity)s->severity;
    out->tier = in->tier;
    out->starts_at = in->W;
    return out->action;
}

void spike_alert(const spike_verdict *v, const config *cfg,
                 const char *creator_id, alert *a)
{
    memset(a, 0, sizeof *a);
    a->kind = ALERT_ENGAGEMENT_SPIKE;
    a->status = v->action == SPIKE_RESOLVE ? ALERT_RESOLVED : ALERT_FIRING;
    a->severity = v->severity;
    a->fingerprint = alert_spike_fingerprint(creator_id, strlen(creator_id),
                                             v->starts_at);
    a->creator_id = creator_id;
    a->tier = v->tier >= 0 && (size_t)v->tier < cfg->ntiers
                  ? cfg->tiers[v->tier].name : "unknown";
    a->starts_at = v->starts_at;
    a->ends_at = v->ends_at;
    a->spike.window_ms = cfg->spike_window_ms;
    a->spike.baseline_ms = cfg->spike_baseline_ms;
    a->spike.current = v->current;
    a->spike.expected = v->expected;
    a->spike.multiple = v->multiple;
    memcpy(a->spike.actions, v->actions, sizeof a->spike.actions);
}

#define SPIKE_BLOB_VERSION 1

void spike_encode(const spike_state *s, buf *out)
{
    buf_append_byte(out, SPIKE_BLOB_VERSION);
    buf_append_byte(out, s->firing);
    if (!s->firing)
        return;
    buf_append_byte(out, s->severity);
    buf_append_varint(out, s->tier);
    buf_append_varint(out, s->fired_at);
}

int spike_decode(spike_state *s, const char *data, size_t len, size_t *pos)
{
    memset(s, 0, sizeof *s);
    if (*pos + 2 > len || (uint8_t)data[*pos] != SPIKE_BLOB_VERSION ||
        (uint8_t)data[*pos + 1] > 1)
        return -1;
    s->firing = (uint8_t)data[*pos + 1];
    *pos += 2;
    if (!s->firing)
        return 0;
    int64_t tier, at;
    if (*pos >= len || (uint8_t)data[*pos] < ALERT_WARNING ||
        (uint8_t)data[*pos] > ALERT_CRITICAL)
        return -1;
    s->severity = (uint8_t)data[(*pos)++];
    if (buf_read_varint(data, len, pos, &tier) < 0 ||
        buf_read_varint(data, len, pos, &at) < 0 || tier < -1 ||
        tier >= CONFIG_MAX_TIERS)
        return -1;
    s->tier = (int16_t)tier;
    s->fired_at = at;
    return 0;
}

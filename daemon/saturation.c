#include "saturation.h"

#include <math.h>
#include <string.h>

saturation_action saturation_evaluate(const config *cfg, saturation_state *s,
                                      const saturation_input *in,
                                      saturation_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->posts = in->posts;
    out->sponsored = in->sponsored;
    out->share = in->posts > 0 ? (double)in->sponsored / (double)in->posts
                               : 0.0;
    if (in->tier < 0 || (size_t)in->tier >= cfg->ntiers)
        return SATURATION_NONE;
    double limit = cfg->saturation_limit_of[in->tier];
    out->limit = limit;
    switch (s->status) {
    case SATURATION_FIRING:
        if (out->share > limit - cfg->saturation_resolve_margin)
            return SATURATION_NONE;
        out->action = SATURATION_RESOLVE;
        out->severity = (alert_severity)s->severity;
        out->tier = s->tier;
        out->starts_at = s->since;
        out->ends_at = in->W;
        memset(s, 0, sizeof *s);
        return out->action;
    case SATURATION_PENDING:
        if (!cfg->saturation_enabled || out->share <= limit ||
            in->posts < cfg->saturation_min_posts) {
            memset(s, 0, sizeof *s);
            return SATURATION_NONE;
        }
        if (in->W - s->since < cfg->saturation_for_ms)
            return SATURATION_NONE;
        break;
    default:
        if (!cfg->saturation_enabled || out->share <= limit ||
            in->posts < cfg->saturation_min_posts)
            return SATURATION_NONE;
        s->status = SATURATION_PENDING;
        s->since = in->W;
        if (cfg->saturation_for_ms > 0)
            return SATURATION_NONE;
        break;
    }
    s->status = SATURATION_FIRING;
    s->severity = out->share >= 2 * limit ? ALERT_CRITICAL : ALERT_WARNING;
    s->tier = (int16_t)in->tier;
    s->since = in->W;
    out->action = SATURATION_FIRE;
    out->severity = (alert_severity)s->severity;
    out->tier = in->tier;
    out->starts_at = in->W;
    return out->action;
}

void saturation_alert(const saturation_verdict *v, const config *cfg,
                      const char *creator_id, const char *const *brands,
                      size_t nbrands, alert *a)
{
    memset(a, 0, sizeof *a);
    a->kind = ALERT_SPONSORED_SATURATION;
    a->status = v->action == SATURATION_RESOLVE ? ALERT_RESOLVED
                                                : ALERT_FIRING;
    a->severity = v->severity;
    a->fingerprint = alert_saturation_fingerprint(
        creator_id, strlen(creator_id), v->starts_at);
    a->creator_id = creator_id;
    a->tier = v->tier >= 0 && (size_t)v->tier < cfg->ntiers
                  ? cfg->tiers[v->tier].name : "unknown";
    a->starts_at = v->starts_at;
    a->ends_at = v->ends_at;
    a->saturation.window_ms = cfg->saturation_window_ms;
    a->saturation.posts = v->posts;
    a->saturation.sponsored = v->sponsored;
    a->saturation.share = v->share;
    a->saturation.limit = v->limit;
    a->saturation.brands = brands;
    a->saturation.nbrands = nbrands;
}

#define SATURATION_BLOB_VERSION 1

void saturation_encode(const saturation_state *s, buf *out)
{
    buf_append_byte(out, SATURATION_BLOB_VERSION);
    buf_append_byte(out, s->status);
    if (s->status == SATURATION_OK)
        return;
    buf_append_byte(out, s->severity);
    buf_append_varint(out, s->tier);
    buf_append_varint(out, s->since);
}

int saturation_decode(saturation_state *s, const char *data, size_t len,
                      size_t *pos)
{
    memset(s, 0, sizeof *s);
    if (*pos + 2 > len || (uint8_t)data[*pos] != SATURATION_BLOB_VERSION ||
        (uint8_t)data[*pos + 1] > SATURATION_FIRING)
        return -1;
    s->status = (uint8_t)data[*pos + 1];
    *pos += 2;
    if (s->status == SATURATION_OK)
        return 0;
    int64_t tier;
    if (*pos >= len || (uint8_t)data[*pos] > ALERT_CRITICAL)
        return -1;
    s->severity = (uint8_t)data[(*pos)++];
    if (buf_read_varint(data, len, pos, &tier) < 0 ||
        buf_read_varint(data, len, pos, &s->since) < 0 || tier < -1 ||
        tier >= CONFIG_MAX_TIERS)
        return -1;
    s->tier = (int16_t)tier;
    return 0;
}

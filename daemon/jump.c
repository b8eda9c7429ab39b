#include "jump.h"

#include <math.h>
#include <string.h>

/* Floor division, before 1970 too. */
static int64_t bucket_of(int64_t ts, int64_t width)
{
    int64_t b = ts / width;
    return ts % width < 0 ? b - 1 : b;
}

static bool empty(const jump_state *s)
{
    for (int i = 0; i < JUMP_BUCKETS; i++)
        if (s->low[i] != 0)
            return false;
    return true;
}

/* Counts are stored + 1, so that 0 means none and a count of 0 is kept. */
static void keep(jump_state *s, int64_t b, int64_t followers)
{
    if (empty(s) || b >= s->bucket + JUMP_BUCKETS) {
        memset(s, 0, sizeof *s);
        s->bucket = b;
    } else if (b > s->bucket) {
        int64_t shift = b - s->bucket;
        for (int i = JUMP_BUCKETS - 1; i >= 0; i--)
            s->low[i] = i >= shift ? s->low[i - shift] : 0;
        s->bucket = b;
    }
    /* b < s->bucket cannot happen (counts come in event-time order); it
     * lands in the newest bucket rather than be lost. */
    if (s->low[0] == 0 || followers + 1 < s->low[0])
        s->low[0] = followers + 1;
}

bool jump_observe(const config *cfg, jump_state *s, const jump_input *in,
                  jump_verdict *out)
{
    int64_t width = cfg->jump_window_ms / 2;
    int64_t b = bucket_of(in->ts, width);
    /* The reference: the lowest count of the buckets still in reach. */
    int64_t ref = -1;
    if (!empty(s))
        for (int i = 0; i < JUMP_BUCKETS; i++) {
            int64_t at = s->bucket - i;
            if (s->low[i] != 0 && at > b - JUMP_BUCKETS &&
                (ref < 0 || s->low[i] - 1 < ref))
                ref = s->low[i] - 1;
        }
    bool jumped = false;
    if (cfg->jump_enabled && ref >= 0 && in->followers > ref) {
        int64_t inc = in->followers - ref;
        jumped = inc >= cfg->jump_min_followers &&
                 (double)inc >= cfg->jump_min_increase * (double)ref;
    }
    if (jumped) {
        out->from = ref;
        out->to = in->followers;
        out->ts = in->ts;
        out->engagements = in->engagements;
        out->expected = in->expected;
        memset(s, 0, sizeof *s);
    }
    keep(s, b, in->followers);
    return jumped;
}

bool jump_round(int64_t increase)
{
    return increase > 0 &&
           (increase >= 1000 ? increase % 1000 == 0 : increase % 100 == 0);
}

void jump_alert(const jump_verdict *v, const config *cfg,
                const char *creator_id, const char *tier_name, alert *a)
{
    memset(a, 0, sizeof *a);
    a->kind = ALERT_FOLLOWER_JUMP;
    a->status = ALERT_FIRING;
    a->severity = ALERT_WARNING;
    a->fingerprint = alert_jump_fingerprint(creator_id, strlen(creator_id),
                                            v->from, v->to, v->ts);
    a->creator_id = creator_id;
    a->tier = tier_name;
    a->starts_at = v->ts;
    a->ends_at = v->ts;
    a->jump.window_ms = cfg->jump_window_ms;
    a->jump.from = v->from;
    a->jump.to = v->to;
    a->jump.round = jump_round(v->to - v->from);
    a->jump.engagements = v->engagements;
    a->jump.expected = v->expected;
}

#define JUMP_BLOB_VERSION 1

void jump_encode(const jump_state *s, buf *out)
{
    buf_append_byte(out, JUMP_BLOB_VERSION);
    if (empty(s)) {
        buf_append_byte(out, 0);
        return;
    }
    buf_append_byte(out, 1);
    buf_append_varint(out, s->bucket);
    for (int i = 0; i < JUMP_BUCKETS; i++)
        buf_append_varint(out, s->low[i]);
}

int jump_decode(jump_state *s, const char *data, size_t len, size_t *pos)
{
    memset(s, 0, sizeof *s);
    if (*pos + 2 > len || (uint8_t)data[*pos] != JUMP_BLOB_VERSION ||
        (uint8_t)data[*pos + 1] > 1)
        return -1;
    bool some = data[*pos + 1] == 1;
    *pos += 2;
    if (!some)
        return 0;
    if (buf_read_varint(data, len, pos, &s->bucket) < 0)
        return -1;
    for (int i = 0; i < JUMP_BUCKETS; i++)
        if (buf_read_varint(data, len, pos, &s->low[i]) < 0 || s->low[i] < 0)
            return -1;
    return 0;
}

#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "buf.h"
#include "keys.h"
#include "redisconn.h"
#include "resp.h"
#include "share.h"
#include "state.h"

#define KEYS_PER_MGET 1000
#define IDS_PER_ZRANGE 10000

/* ARGV: prefix group (topic:partition)... -> per partition
 * {epoch, offset or '', watermark or '', creators in the wake index,
 *  its tier_share hash (HGETALL) or nil when stale}.
 * A partition's share of the tier hashes (share.h) is current when its
 * stamp is the fence the claim found: it is stamped with the new one.  A
 * partition never claimed nor written starts from nothing.  Any other
 * (an engaged without shares wrote the partition) is stale: left alone,
 * rebuilt by the claimer (lua_share_rebuilt). */
static const char lua_claim[] =
    "local p, g = ARGV[1], ARGV[2]\n"
    "local out = {}\n"
    "for i = 3, #ARGV do\n"
    "  local tp = ARGV[i]\n"
    "  local cur = redis.call('HGET', p .. 'fence:' .. g, tp)\n"
    "  local epoch = 0\n"
    "  if cur then epoch = tonumber(string.match(cur, '^(%d+):')) or 0 end\n"
    "  epoch = epoch + 1\n"
    "  local now = string.format('%d:0', epoch)\n"
    "  redis.call('HSET', p .. 'fence:' .. g, tp, now)\n"
    "  local offset = redis.call('HGET', p .. 'offsets:' .. g, tp)\n"
    "  local sk = p .. 'tier_share:' .. g .. ':' .. tp\n"
    "  local share = false\n"
    "  if not cur and not offset then redis.call('DEL', sk) end\n"
    "  if (not cur and not offset) or\n"
    "     (cur and redis.call('HGET', sk, 'fence') == cur) then\n"
    "    redis.call('HSET', sk, 'fence', now)\n"
    "    share = redis.call('HGETALL', sk)\n"
    "  end\n"
    "  out[#out + 1] = {string.format('%d', epoch), offset or '',\n"
    "    redis.call('HGET', p .. 'watermarks:' .. g, tp) or '',\n"
    "    redis.call('ZCARD', p .. 'wake:' .. g .. ':' .. tp), share}\n"
    "end\n"
    "return out\n";

/* ARGV: prefix group topic:partition fence field value ... -> 1 when the
 * rebuilt share is written, 0 when the partition's fence moved since the
 * claim (another instance claimed it: its share is that one's to build). */
static const char lua_share_rebuilt[] =
    "local p, g, tp, f = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "if redis.call('HGET', p .. 'fence:' .. g, tp) ~= f then return 0 end\n"
    "local sk = p .. 'tier_share:' .. g .. ':' .. tp\n"
    "redis.call('DEL', sk)\n"
    "redis.call('HSET', sk, 'fence', f, unpack(ARGV, 5))\n"
    "return 1\n";

struct store {
    const config *cfg;
    redisContext *ctx;
    buf tmp, resp;
};

store *store_new(const config *cfg, char *errstr, size_t errstr_size)
{
    store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    return s;
}

void store_free(store *s)
{
    if (s == NULL)
        return;
    redisconn_close(&s->ctx);
    buf_free(&s->tmp);
    buf_free(&s->resp);
    free(s);
}

static int fail(store *s, redisReply *r, const char *what, char *errstr,
                size_t errstr_size)
{
    return redisconn_fail(s->cfg, &s->ctx, r, what, errstr, errstr_size);
}

/* Queues c on the connection. */
static int append(store *s, const resp_cmd *c)
{
    if (resp_failed(c))
        return -1;
    buf_reset(&s->resp);
    resp_encode(c, &s->resp);
    if (buf_failed(&s->resp))
        return -1;
    return redisAppendFormattedCommand(s->ctx, s->resp.data, s->resp.len) ==
                   REDIS_OK
               ? 0
               : -1;
}

int store_ping(store *s, char *errstr, size_t errstr_size)
{
    if (redisconn_connect(s->cfg, &s->ctx, errstr, errstr_size) < 0)
        return -1;
    redisReply *r = redisCommand(s->ctx, "PING");
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return fail(s, r, "PING", errstr, errstr_size);
    freeReplyObject(r);
    return 0;
}

static int parse_i64(const redisReply *r, int64_t *v)
{
    if (r->type == REDIS_REPLY_INTEGER) {
        *v = r->integer;
        return 0;
    }
    if (r->type != REDIS_REPLY_STRING || r->len == 0)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(r->str, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

/* Reads a tier_share hash's HGETALL into cells (zeroed first). */
static int parse_share(const share *sh, const redisReply *r, int64_t *cells)
{
    memset(cells, 0, share_rows(sh) * share_cols(sh) * sizeof *cells);
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
        return -1;
    for (size_t k = 0; k < r->elements; k += 2) {
        const redisReply *f = r->element[k], *v = r->element[k + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            share_parse(sh, f->str, f->len, v->str, v->len, cells) < 0)
            return -1;
    }
    return 0;
}

int store_claim_parts(store *s, const share *sh, store_claim *claims,
                      size_t n, char *errstr, size_t errstr_size)
{
    if (redisconn_connect(s->cfg, &s->ctx, errstr, errstr_size) < 0)
        return -1;
    resp_cmd c = RESP_CMD_INIT;
    resp_str(&c, "EVAL");
    resp_str(&c, lua_claim);
    resp_str(&c, "0");
    resp_str(&c, s->cfg->redis_prefix);
    resp_str(&c, s->cfg->group_id);
    for (size_t i = 0; i < n; i++) {
        keys_partition(&s->tmp, claims[i].topic, claims[i].partition);
        resp_arg(&c, s->tmp.data, s->tmp.len);
    }
    int rc = append(s, &c);
    resp_free(&c);
    redisReply *r = NULL;
    if (rc < 0 || redisGetReply(s->ctx, (void **)&r) != REDIS_OK || r == NULL)
        return fail(s, NULL, "claim", errstr, errstr_size);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n)
        return fail(s, r, "claim", errstr, errstr_size);
    for (size_t i = 0; i < n; i++) {
        redisReply *e = r->element[i];
        int64_t epoch;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 5 ||
            parse_i64(e->element[0], &epoch) < 0 ||
            parse_i64(e->element[3], &claims[i].indexed) < 0)
            return fail(s, r, "claim", errstr, errstr_size);
        /* A share that does not read is rebuilt like a stale one. */
        claims[i].share_stale =
            e->element[4]->type == REDIS_REPLY_NIL ||
            parse_share(sh, e->element[4], claims[i].share) < 0;
        claims[i].epoch = (uint64_t)epoch;
        if (parse_i64(e->element[1], &claims[i].offset) < 0)
            claims[i].offset = -1;
        if (parse_i64(e->element[2], &claims[i].watermark) < 0)
            claims[i].watermark = STATE_NO_WATERMARK;
    }
    freeReplyObject(r);
    return 0;
}

int store_due(store *s, const store_range *ranges, size_t n,
              void (*fn)(void *arg, size_t i, const char *id, size_t len),
              void *arg, char *errstr, size_t errstr_size)
{
    if (n == 0)
        return 0;
    if (redisconn_connect(s->cfg, &s->ctx, errstr, errstr_size) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char lo[32], hi[32];
        if (ranges[i].from == INT64_MIN)
            snprintf(lo, sizeof lo, "-inf");
        else
            snprintf(lo, sizeof lo, "(%" PRId64, ranges[i].from);
        snprintf(hi, sizeof hi, "%" PRId64, ranges[i].to);
        keys_wake(&s->tmp, s->cfg, ranges[i].topic, ranges[i].partition);
        if (redisAppendCommand(s->ctx, "ZRANGEBYSCORE %b %s %s", s->tmp.data,
                               s->tmp.len, lo, hi) != REDIS_OK)
            return fail(s, NULL, "ZRANGEBYSCORE", errstr, errstr_size);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(s->ctx, (void **)&r) != REDIS_OK || r == NULL)
            return fail(s, NULL, "ZRANGEBYSCORE", errstr, errstr_size);
        if (r->type != REDIS_REPLY_ARRAY)
            return fail(s, r, "ZRANGEBYSCORE", errstr, errstr_size);
        for (size_t k = 0; k < r->elements; k++)
            fn(arg, i, r->element[k]->str, r->element[k]->len);
        freeReplyObject(r);
    }
    return 0;
}

int store_index(store *s, const char *topic, int32_t partition, int64_t n,
                void (*fn)(void *arg, const char *id, size_t len), void *arg,
                char *errstr, size_t errstr_size)
{
    if (n <= 0)
        return 0;
    if (redisconn_connect(s->cfg, &s->ctx, errstr, errstr_size) < 0)
        return -1;
    keys_wake(&s->tmp, s->cfg, topic, partition);
    /* By rank, in slices: each is O(log n + slice) for Redis, and none
     * holds it for long.  Nobody else writes the index of a partition we
     * have just claimed, so the ranks stay put. */
    int64_t nslices = (n + IDS_PER_ZRANGE - 1) / IDS_PER_ZRANGE;
    for (int64_t k = 0; k < nslices; k++) {
        int64_t lo = k * IDS_PER_ZRANGE;
        int64_t hi = k + 1 == nslices ? -1 : lo + IDS_PER_ZRANGE - 1;
        if (redisAppendCommand(s->ctx, "ZRANGE %b %lld %lld", s->tmp.data,
                               s->tmp.len, (long long)lo,
                               (long long)hi) != REDIS_OK)
            return fail(s, NULL, "ZRANGE", errstr, errstr_size);
    }
    for (int64_t k = 0; k < nslices; k++) {
        redisReply *r = NULL;
        if (redisGetReply(s->ctx, (void **)&r) != REDIS_OK || r == NULL)
            return fail(s, NULL, "ZRANGE", errstr, errstr_size);
        if (r->type != REDIS_REPLY_ARRAY)
            return fail(s, r, "ZRANGE", errstr, errstr_size);
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->type == REDIS_REPLY_STRING)
                fn(arg, r->element[i]->str, r->element[i]->len);
        freeReplyObject(r);
    }
    return 0;
}

int store_fetch(store *s, const char *const *ids, const size_t *lens,
                size_t n,
                void (*fn)(void *arg, size_t i, const char *blob, size_t len),
                void *arg, char *errstr, size_t errstr_size)
{
    if (n == 0)
        return 0;
    if (redisconn_connect(s->cfg, &s->ctx, errstr, errstr_size) < 0)
        return -1;
    size_t sent = 0;
    resp_cmd c = RESP_CMD_INIT;
    while (sent < n) {
        size_t k = n - sent < KEYS_PER_MGET ? n - sent : KEYS_PER_MGET;
        resp_reset(&c);
        resp_str(&c, "MGET");
        for (size_t i = sent; i < sent + k; i++) {
            keys_state(&s->tmp, s->cfg, ids[i], lens[i]);
            resp_arg(&c, s->tmp.data, s->tmp.len);
        }
        if (append(s, &c) < 0) {
            resp_free(&c);
            return fail(s, NULL, "MGET", errstr, errstr_size);
        }
        sent += k;
    }
    resp_free(&c);
    size_t got = 0;
    while (got < n) {
        redisReply *r = NULL;
        if (redisGetReply(s->ctx, (void **)&r) != REDIS_OK || r == NULL)
            return fail(s, NULL, "MGET", errstr, errstr_size);
        if (r->type != REDIS_REPLY_ARRAY || got + r->elements > n)
            return fail(s, r, "MGET", errstr, errstr_size);
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *e = r->element[i];
            if (e->type == REDIS_REPLY_STRING)
                fn(arg, got + i, e->str, e->len);
            else
                fn(arg, got + i, NULL, 0);
        }
        got += r->elements;
        freeReplyObject(r);
    }
    return 0;
}

/* Sums the creator hashes of one HMGET reply each (tier, followers, then
 * engagements per window) into cells. */
static int rebuild_slice(store *s, const share *sh, const redisReply *ids,
                         int64_t *cells, char *errstr, size_t errstr_size)
{
    size_t nw = share_cols(sh) - SHARE_COL_ENGAGEMENTS;
    size_t sent = 0;
    for (size_t i = 0; i < ids->elements; i++) {
        const redisReply *id = ids->element[i];
        if (id->type != REDIS_REPLY_STRING)
            continue;
        resp_cmd c = RESP_CMD_INIT;
        resp_str(&c, "HMGET");
        keys_creator(&s->tmp, s->cfg, id->str, id->len);
        resp_arg(&c, s->tmp.data, s->tmp.len);
        resp_str(&c, "tier");
        resp_str(&c, "followers");
        for (size_t w = 0; w < nw; w++) {
            buf_reset(&s->tmp);
            buf_append_str(&s->tmp, "engagements_");
            buf_append_str(&s->tmp, share_window(sh, w));
            resp_arg(&c, s->tmp.data, s->tmp.len);
        }
        int rc = buf_failed(&s->tmp) ? -1 : append(s, &c);
        resp_free(&c);
        if (rc < 0)
            return fail(s, NULL, "HMGET", errstr, errstr_size);
        sent++;
    }
    int64_t eng[CONFIG_MAX_WINDOWS];
    for (size_t i = 0; i < sent; i++) {
        redisReply *r = NULL;
        if (redisGetReply(s->ctx, (void **)&r) != REDIS_OK || r == NULL)
            return fail(s, NULL, "HMGET", errstr, errstr_size);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 + nw)
            return fail(s, r, "HMGET", errstr, errstr_size);
        const redisReply *t = r->element[0];
        int64_t followers;
        if (parse_i64(r->element[1], &followers) < 0)
            followers = -1;
        for (size_t w = 0; w < nw; w++)
            if (parse_i64(r->element[2 + w], &eng[w]) < 0)
                eng[w] = 0;
        /* A creator listed without a hash has never been counted. */
        if (t->type == REDIS_REPLY_STRING)
            share_count(sh, cells, t->str, t->len, followers, eng);
        freeReplyObject(r);
    }
    return 0;
}

int store_share_rebuild(store *s, const share *sh, const char *topic,
                        int32_t partition, int64_t n, uint64_t epoch,
                        int64_t *cells, char *errstr, size_t errstr_size)
{
    size_t ncells = share_rows(sh) * share_cols(sh);
    memset(cells, 0, ncells * sizeof *cells);
    if (redisconn_connect(s->cfg, &s->ctx, errstr, errstr_size) < 0)
        return -1;
    /* By rank, in slices, as store_index(): nobody else writes the index
     * or the creators of a partition we have just claimed. */
    buf key = BUF_INIT;
    keys_wake(&key, s->cfg, topic, partition);
    for (int64_t lo = 0; lo < n; lo += IDS_PER_ZRANGE) {
        int64_t hi = lo + IDS_PER_ZRANGE >= n ? -1 : lo + IDS_PER_ZRANGE - 1;
        redisReply *r = redisCommand(s->ctx, "ZRANGE %b %lld %lld", key.data,
                                     key.len, (long long)lo, (long long)hi);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            buf_free(&key);
            return fail(s, r, "ZRANGE", errstr, errstr_size);
        }
        int rc = rebuild_slice(s, sh, r, cells, errstr, errstr_size);
        freeReplyObject(r);
        if (rc < 0) {
            buf_free(&key);
            return -1;
        }
    }
    buf_free(&key);
    /* Written under the claim's fence, every field, zeros included. */
    char fence[48];
    snprintf(fence, sizeof fence, "%" PRIu64 ":0", epoch);
    resp_cmd c = RESP_CMD_INIT;
    resp_str(&c, "EVAL");
    resp_str(&c, lua_share_rebuilt);
    resp_str(&c, "0");
    resp_str(&c, s->cfg->redis_prefix);
    resp_str(&c, s->cfg->group_id);
    keys_partition(&s->tmp, topic, partition);
    resp_arg(&c, s->tmp.data, s->tmp.len);
    resp_str(&c, fence);
    for (size_t k = 0; k < ncells; k++) {
        share_field(sh, k / share_cols(sh), k % share_cols(sh), &s->tmp);
        resp_arg(&c, s->tmp.data, s->tmp.len);
        resp_int(&c, cells[k]);
    }
    int rc = buf_failed(&s->tmp) ? -1 : append(s, &c);
    resp_free(&c);
    redisReply *r = NULL;
    if (rc < 0 || redisGetReply(s->ctx, (void **)&r) != REDIS_OK || r == NULL)
        return fail(s, NULL, "share rebuild", errstr, errstr_size);
    if (r->type != REDIS_REPLY_INTEGER)
        return fail(s, r, "share rebuild", errstr, errstr_size);
    freeReplyObject(r);
    return 0;
}

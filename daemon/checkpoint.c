#include "checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

#include <hiredis/hiredis.h>
#include <hiredis/sds.h>

#include "buf.h"
#include "log.h"
#include "secret.h"
#include "tier.h"
#include "timefmt.h"

#define CREATORS_PER_SCRIPT 500
#define KEYS_PER_MGET 1000
#define KEYS_PER_EXISTS 1000
#define IDS_PER_ZRANGE 10000

/*
 * The scripts.  Keys are built from the prefix in ARGV[1] and the group in
 * ARGV[2]; schemas/redis.md documents each one.  Numbers that must stay
 * exact (offsets, counts) travel as strings and are never turned into Lua
 * numbers, which are doubles.
 */
#define LUA_FENCE_CHECK                                                      \
    "local p, g = ARGV[1], ARGV[2]\n"                                        \
    "local fence = p .. 'fence:' .. g\n"                                     \
    "local np = tonumber(ARGV[3])\n"                                         \
    "local i = 4\n"                                                          \
    "local dup, fenced = false, {}\n"                                        \
    "for k = 1, np do\n"                                                     \
    "  local cur = redis.call('HGET', fence, ARGV[i]) or ''\n"               \
    "  if cur == ARGV[i + 2] then dup = true\n"                              \
    "  elseif cur ~= ARGV[i + 1] then fenced[#fenced + 1] = ARGV[i] end\n"   \
    "  i = i + PARTARGS\n"                                                   \
    "end\n"                                                                  \
    "if dup then return {'DUP'} end\n"                                       \
    "if #fenced > 0 then table.insert(fenced, 1, 'FENCED') return fenced end\n"

static const char lua_claim[] =
    "local p, g = ARGV[1], ARGV[2]\n"
    "local out = {}\n"
    "for i = 3, #ARGV do\n"
    "  local tp = ARGV[i]\n"
    "  local cur = redis.call('HGET', p .. 'fence:' .. g, tp)\n"
    "  local epoch = 0\n"
    "  if cur then epoch = tonumber(string.match(cur, '^(%d+):')) or 0 end\n"
    "  epoch = epoch + 1\n"
    "  redis.call('HSET', p .. 'fence:' .. g, tp, string.format('%d:0', epoch))\n"
    "  out[#out + 1] = {string.format('%d', epoch),\n"
    "    redis.call('HGET', p .. 'offsets:' .. g, tp) or '',\n"
    "    redis.call('HGET', p .. 'watermarks:' .. g, tp) or '',\n"
    "    redis.call('ZCARD', p .. 'wake:' .. g .. ':' .. tp)}\n"
    "end\n"
    "return out\n";

/* ARGV: p g np (tp expect new)*np.  The fence check alone, sent with the
 * pre-check so that a stale owner hears FENCED rather than NOT_NEW. */
static const char lua_fence[] =
    "local PARTARGS = 3\n" LUA_FENCE_CHECK "return {'OK'}\n";

/* ARGV: p g np (tp expect new)*np
 *       then per creator: id tp wake blob nfields ndel field value ...
 *       deleted_field ...; wake is '+inf' for none, '=' for unchanged.
 *       Every creator with a blob stays in its partition's index, so that
 *       a claim can learn which creators Redis holds. */
static const char lua_creators[] =
    "local PARTARGS = 3\n" LUA_FENCE_CHECK
    "while i <= #ARGV do\n"
    "  local id, tp, wake, blob = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]\n"
    "  local nf, nd = tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])\n"
    "  i = i + 6\n"
    "  local key = p .. 'creator:' .. id\n"
    "  redis.call('HSET', key, unpack(ARGV, i, i + 2 * nf - 1))\n"
    "  i = i + 2 * nf\n"
    "  if nd > 0 then redis.call('HDEL', key, unpack(ARGV, i, i + nd - 1)) end\n"
    "  i = i + nd\n"
    "  redis.call('SET', p .. 'state:' .. id, blob)\n"
    "  local wk = p .. 'wake:' .. g .. ':' .. tp\n"
    "  if wake ~= '=' then redis.call('ZADD', wk, wake, id) end\n"
    "end\n"
    "return {'OK'}\n";

/* ARGV: p g np (tp expect new offset watermark)*np nw window_labels*nw
 *       ntiers then per tier: name nfields field delta ...
 *       maxlen nalerts alert_json ... */
static const char lua_finish[] =
    "local PARTARGS = 5\n" LUA_FENCE_CHECK
    "local function ratio(a, b)\n"
    "  local x = a / b\n"
    "  if x == 0 then return '0' end\n"
    "  local d = 9 - math.floor(math.log10(math.abs(x)))\n"
    "  if d < 0 then d = 0 elseif d > 20 then d = 20 end\n"
    "  local s = string.format('%.' .. d .. 'f', x)\n"
    "  if string.find(s, '.', 1, true) then\n"
    "    s = (string.gsub(s, '0+$', '')) s = (string.gsub(s, '%.$', '')) end\n"
    "  return s\n"
    "end\n"
    "i = 4\n"
    "for k = 1, np do\n"
    "  local tp = ARGV[i]\n"
    "  redis.call('HSET', fence, tp, ARGV[i + 2])\n"
    "  if ARGV[i + 3] ~= '' then\n"
    "    redis.call('HSET', p .. 'offsets:' .. g, tp, ARGV[i + 3]) end\n"
    "  if ARGV[i + 4] ~= '' then\n"
    "    redis.call('HSET', p .. 'watermarks:' .. g, tp, ARGV[i + 4]) end\n"
    "  i = i + PARTARGS\n"
    "end\n"
    "local nw = tonumber(ARGV[i]) i = i + 1\n"
    "local wl = {}\n"
    "for k = 1, nw do wl[k] = ARGV[i] i = i + 1 end\n"
    "local nt = tonumber(ARGV[i]) i = i + 1\n"
    "for t = 1, nt do\n"
    "  local key = p .. 'tier:' .. ARGV[i]\n"
    "  local nf = tonumber(ARGV[i + 1])\n"
    "  i = i + 2\n"
    "  for f = 1, nf do\n"
    "    redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1]) i = i + 2\n"
    "  end\n"
    "  local fol = tonumber(redis.call('HGET', key, 'followers') or '0')\n"
    "  for k = 1, nw do\n"
    "    if fol > 0 then\n"
    "      local e = tonumber(redis.call('HGET', key, 'engagements_' .. wl[k]) or '0')\n"
    "      redis.call('HSET', key, 'er_' .. wl[k], ratio(e, fol))\n"
    "    else redis.call('HDEL', key, 'er_' .. wl[k]) end\n"
    "  end\n"
    "end\n"
    "local maxlen = ARGV[i]\n"
    "local na = tonumber(ARGV[i + 1]) i = i + 2\n"
    "for k = 1, na do\n"
    "  redis.call('XADD', p .. 'alerts', 'MAXLEN', '~', maxlen, '*', 'alert', ARGV[i])\n"
    "  i = i + 1\n"
    "end\n"
    "return {'OK'}\n";

/* One Redis command under construction: its arguments back to back. */
typedef struct cmd {
    buf data;
    size_t *lens;
    size_t n, cap;
} cmd;

struct checkpoint {
    const config *cfg;
    redisContext *ctx;       /* the main thread's: claims, due, fetches */
    char wlabel[CONFIG_MAX_WINDOWS][24];
    /* Field names, made once: "<metric>_<window>" and "er_<window>". */
    char fname[CONFIG_MAX_WINDOWS][STATE_METRICS][48];
    char ername[CONFIG_MAX_WINDOWS][32];
    /* The payload: the RESP bytes of the last checkpoint built, and how
     * many commands they hold.  Kept unchanged while in doubt. */
    buf payload;
    size_t npayload;
    size_t ncreators;        /* creators the payload writes */
    bool in_doubt;
    /* EXISTS of the state keys of the payload's creators that Redis had no
     * blob for when they were made (new, or taken as new without asking).
     * Sent before the payload's first send: a creator that has a blob
     * after all (partitions added to the topic, data from an older
     * engaged) refuses the checkpoint (CHECKPOINT_NOT_NEW), nothing
     * written.  Not before a resend: the first send may have written them. */
    buf precheck;
    size_t nprecheck;
    cmd exists;              /* the EXISTS being built */
    bool precheck_due;
    long long not_new;       /* the answer: keys found, when > 0 */
    redisReply *pre_fenced;  /* or the fence check's FENCED reply */
    cmd scratch;             /* the command being built */
    buf tmp, resp;
    /* The writer thread sends the payload on a connection of its own.  The
     * main thread hands it over (job), the writer answers (done); in
     * between, only the writer touches wctx, payload and the answer. */
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool job, done, quit;
    redisContext *wctx;
    redisReply *answer;      /* EXEC's reply, or NULL with werr */
    char werr[512];
    int64_t answered_ms;     /* wall clock when the answer came */
};

/* --- commands ------------------------------------------------------------- */

static void cmd_reset(cmd *c)
{
    buf_reset(&c->data);
    c->n = 0;
}

static void cmd_arg(cmd *c, const void *p, size_t len)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        size_t *l = realloc(c->lens, cap * sizeof *l);
        if (l == NULL) {
            c->data.failed = true;
            return;
        }
        c->lens = l;
        c->cap = cap;
    }
    buf_append(&c->data, p, len);
    c->lens[c->n++] = len;
}

static void cmd_str(cmd *c, const char *s)
{
    cmd_arg(c, s, strlen(s));
}

static void cmd_int(cmd *c, int64_t v)
{
    char tmp[24];
    cmd_arg(c, tmp, buf_format_int(v, tmp));
}

/* Appends c to out as one RESP command ("*n\r\n" then "$len\r\narg\r\n"). */
static void cmd_resp(const cmd *c, buf *out)
{
    char num[24];
    buf_append_byte(out, '*');
    buf_append(out, num, buf_format_int((int64_t)c->n, num));
    buf_append(out, "\r\n", 2);
    size_t off = 0;
    for (size_t i = 0; i < c->n; i++) {
        buf_append_byte(out, '$');
        buf_append(out, num, buf_format_int((int64_t)c->lens[i], num));
        buf_append(out, "\r\n", 2);
        buf_append(out, c->data.data + off, c->lens[i]);
        buf_append(out, "\r\n", 2);
        off += c->lens[i];
    }
}

/* Queues c on the main thread's connection. */
static int cmd_append(checkpoint *ck, const cmd *c)
{
    if (c->data.failed)
        return -1;
    buf_reset(&ck->resp);
    cmd_resp(c, &ck->resp);
    if (buf_failed(&ck->resp))
        return -1;
    return redisAppendFormattedCommand(ck->ctx, ck->resp.data, ck->resp.len) ==
                   REDIS_OK
               ? 0
               : -1;
}

/* Ends the command in ck->scratch: into the payload. */
static void emit(checkpoint *ck)
{
    if (ck->scratch.data.failed)
        ck->payload.failed = true;
    cmd_resp(&ck->scratch, &ck->payload);
    ck->npayload++;
    cmd_reset(&ck->scratch);
}

/* --- connection ----------------------------------------------------------- */

static void *writer_main(void *arg);

checkpoint *checkpoint_new(const config *cfg, char *errstr, size_t errstr_size)
{
    checkpoint *ck = calloc(1, sizeof *ck);
    if (ck == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    ck->cfg = cfg;
    for (size_t w = 0; w < cfg->nwindows; w++) {
        timefmt_format_window(cfg->windows_ms[w], ck->wlabel[w],
                              sizeof ck->wlabel[w]);
        for (int m = 0; m < STATE_METRICS; m++)
            snprintf(ck->fname[w][m], sizeof ck->fname[w][m], "%s_%s",
                     state_metric_name(m), ck->wlabel[w]);
        snprintf(ck->ername[w], sizeof ck->ername[w], "er_%s", ck->wlabel[w]);
    }
    pthread_mutex_init(&ck->mu, NULL);
    pthread_cond_init(&ck->cv, NULL);
    int rc = pthread_create(&ck->writer, NULL, writer_main, ck);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "starting the checkpoint writer: %s",
                 strerror(rc));
        checkpoint_free(ck);
        return NULL;
    }
    ck->writer_started = true;
    return ck;
}

static void disconnect_ctx(redisContext **pc)
{
    if (*pc != NULL)
        redisFree(*pc);
    *pc = NULL;
}

void checkpoint_free(checkpoint *ck)
{
    if (ck == NULL)
        return;
    if (ck->writer_started) {
        pthread_mutex_lock(&ck->mu);
        ck->quit = true;
        pthread_cond_broadcast(&ck->cv);
        pthread_mutex_unlock(&ck->mu);
        pthread_join(ck->writer, NULL);
    }
    pthread_mutex_destroy(&ck->mu);
    pthread_cond_destroy(&ck->cv);
    disconnect_ctx(&ck->ctx);
    disconnect_ctx(&ck->wctx);
    if (ck->answer != NULL)
        freeReplyObject(ck->answer);
    if (ck->pre_fenced != NULL)
        freeReplyObject(ck->pre_fenced);
    buf_free(&ck->payload);
    buf_free(&ck->scratch.data);
    free(ck->scratch.lens);
    buf_free(&ck->precheck);
    buf_free(&ck->exists.data);
    free(ck->exists.lens);
    buf_free(&ck->tmp);
    buf_free(&ck->resp);
    free(ck);
}

size_t checkpoint_payload_bytes(const checkpoint *ck)
{
    return ck->payload.len;
}

size_t checkpoint_payload_creators(const checkpoint *ck)
{
    return ck->ncreators;
}

bool checkpoint_connected(const checkpoint *ck)
{
    return ck->ctx != NULL;
}

static const char *where(const checkpoint *ck, char *b, size_t size)
{
    if (ck->cfg->redis_socket[0])
        snprintf(b, size, "redis %s", ck->cfg->redis_socket);
    else
        snprintf(b, size, "redis %s:%d", ck->cfg->redis_host,
                 ck->cfg->redis_port);
    return b;
}

/* Fails with the context's or the reply's error, and drops the link. */
static int fail_on(const checkpoint *ck, redisContext **pc, redisReply *r,
                   const char *what, char *errstr, size_t errstr_size)
{
    char w[300];
    const char *why = r != NULL && r->type == REDIS_REPLY_ERROR ? r->str
                      : *pc != NULL && (*pc)->err               ? (*pc)->errstr
                                                  : "unexpected reply";
    snprintf(errstr, errstr_size, "%s: %s: %s", where(ck, w, sizeof w), what,
             why);
    if (r != NULL)
        freeReplyObject(r);
    disconnect_ctx(pc);
    return -1;
}

static int fail(checkpoint *ck, redisReply *r, const char *what, char *errstr,
                size_t errstr_size)
{
    return fail_on(ck, &ck->ctx, r, what, errstr, errstr_size);
}

/* Connects *pc when it is not, authenticates and selects the db. */
static int connect_ctx(const checkpoint *ck, redisContext **pc, char *errstr,
                       size_t errstr_size)
{
    if (*pc != NULL)
        return 0;
    const config *cfg = ck->cfg;
    struct timeval tv = {cfg->redis_timeout_ms / 1000,
                         (cfg->redis_timeout_ms % 1000) * 1000};
    if (cfg->redis_socket[0])
        *pc = redisConnectUnixWithTimeout(cfg->redis_socket, tv);
    else
        *pc = redisConnectWithTimeout(cfg->redis_host, cfg->redis_port, tv);
    if (*pc == NULL || (*pc)->err)
        return fail_on(ck, pc, NULL, "connect", errstr, errstr_size);
    redisSetTimeout(*pc, tv);
    redisEnableKeepAlive(*pc);
    redisReply *r;
    char pw[SECRET_MAX];
    int has = secret_read(cfg->redis_password_file, "redis-password", pw,
                          sizeof pw, errstr, errstr_size);
    if (has < 0) {
        disconnect_ctx(pc);
        return -1;
    }
    if (has > 0) {
        if (cfg->redis_user[0])
            r = redisCommand(*pc, "AUTH %s %s", cfg->redis_user, pw);
        else
            r = redisCommand(*pc, "AUTH %s", pw);
        memset(pw, 0, sizeof pw);
        if (r == NULL || r->type == REDIS_REPLY_ERROR)
            return fail_on(ck, pc, r, "AUTH", errstr, errstr_size);
        freeReplyObject(r);
    }
    r = redisCommand(*pc, "SELECT %d", cfg->redis_db);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return fail_on(ck, pc, r, "SELECT", errstr, errstr_size);
    freeReplyObject(r);
    return 0;
}

int checkpoint_connect(checkpoint *ck, char *errstr, size_t errstr_size)
{
    return connect_ctx(ck, &ck->ctx, errstr, errstr_size);
}

int checkpoint_ping(checkpoint *ck, char *errstr, size_t errstr_size)
{
    if (checkpoint_connect(ck, errstr, errstr_size) < 0)
        return -1;
    redisReply *r = redisCommand(ck->ctx, "PING");
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return fail(ck, r, "PING", errstr, errstr_size);
    freeReplyObject(r);
    return 0;
}

/* --- claims, due creators, fetches ---------------------------------------- */

static void tp_name(buf *b, const char *topic, int32_t partition)
{
    buf_reset(b);
    buf_append_str(b, topic);
    buf_append_byte(b, ':');
    buf_append_int(b, partition);
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

int checkpoint_claim_parts(checkpoint *ck, checkpoint_claim *claims, size_t n,
                           char *errstr, size_t errstr_size)
{
    if (checkpoint_connect(ck, errstr, errstr_size) < 0)
        return -1;
    cmd c = {BUF_INIT, NULL, 0, 0};
    cmd_str(&c, "EVAL");
    cmd_str(&c, lua_claim);
    cmd_str(&c, "0");
    cmd_str(&c, ck->cfg->redis_prefix);
    cmd_str(&c, ck->cfg->group_id);
    for (size_t i = 0; i < n; i++) {
        tp_name(&ck->tmp, claims[i].topic, claims[i].partition);
        cmd_arg(&c, ck->tmp.data, ck->tmp.len);
    }
    int rc = cmd_append(ck, &c);
    buf_free(&c.data);
    free(c.lens);
    redisReply *r = NULL;
    if (rc < 0 || redisGetReply(ck->ctx, (void **)&r) != REDIS_OK || r == NULL)
        return fail(ck, NULL, "claim", errstr, errstr_size);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n)
        return fail(ck, r, "claim", errstr, errstr_size);
    for (size_t i = 0; i < n; i++) {
        redisReply *e = r->element[i];
        int64_t epoch;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 4 ||
            parse_i64(e->element[0], &epoch) < 0 ||
            parse_i64(e->element[3], &claims[i].indexed) < 0)
            return fail(ck, r, "claim", errstr, errstr_size);
        claims[i].epoch = (uint64_t)epoch;
        if (parse_i64(e->element[1], &claims[i].offset) < 0)
            claims[i].offset = -1;
        if (parse_i64(e->element[2], &claims[i].watermark) < 0)
            claims[i].watermark = STATE_NO_WATERMARK;
    }
    freeReplyObject(r);
    return 0;
}

/* The wake index key of topic/partition, into ck->tmp. */
static void wake_key(checkpoint *ck, const char *topic, int32_t partition)
{
    buf_reset(&ck->tmp);
    buf_append_str(&ck->tmp, ck->cfg->redis_prefix);
    buf_append_str(&ck->tmp, "wake:");
    buf_append_str(&ck->tmp, ck->cfg->group_id);
    buf_append_byte(&ck->tmp, ':');
    buf_append_str(&ck->tmp, topic);
    buf_append_byte(&ck->tmp, ':');
    buf_append_int(&ck->tmp, partition);
}

int checkpoint_due(checkpoint *ck, const checkpoint_part *parts,
                   const int64_t *from, const int64_t *to, size_t n,
                   void (*fn)(void *arg, size_t i, const char *id, size_t len),
                   void *arg, char *errstr, size_t errstr_size)
{
    if (n == 0)
        return 0;
    if (checkpoint_connect(ck, errstr, errstr_size) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char lo[32], hi[32];
        if (from[i] == INT64_MIN)
            snprintf(lo, sizeof lo, "-inf");
        else
            snprintf(lo, sizeof lo, "(%" PRId64, from[i]);
        snprintf(hi, sizeof hi, "%" PRId64, to[i]);
        wake_key(ck, parts[i].topic, parts[i].partition);
        if (redisAppendCommand(ck->ctx, "ZRANGEBYSCORE %b %s %s",
                               ck->tmp.data, ck->tmp.len, lo, hi) != REDIS_OK)
            return fail(ck, NULL, "ZRANGEBYSCORE", errstr, errstr_size);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(ck->ctx, (void **)&r) != REDIS_OK || r == NULL)
            return fail(ck, NULL, "ZRANGEBYSCORE", errstr, errstr_size);
        if (r->type != REDIS_REPLY_ARRAY)
            return fail(ck, r, "ZRANGEBYSCORE", errstr, errstr_size);
        for (size_t k = 0; k < r->elements; k++)
            fn(arg, i, r->element[k]->str, r->element[k]->len);
        freeReplyObject(r);
    }
    return 0;
}

int checkpoint_index(checkpoint *ck, const char *topic, int32_t partition,
                     int64_t n, void (*fn)(void *arg, const char *id, size_t len),
                     void *arg, char *errstr, size_t errstr_size)
{
    if (n <= 0)
        return 0;
    if (checkpoint_connect(ck, errstr, errstr_size) < 0)
        return -1;
    wake_key(ck, topic, partition);
    /* By rank, in slices: each is O(log n + slice) for Redis, and none
     * holds it for long.  Nobody else writes the index of a partition we
     * have just claimed, so the ranks stay put. */
    int64_t nslices = (n + IDS_PER_ZRANGE - 1) / IDS_PER_ZRANGE;
    for (int64_t k = 0; k < nslices; k++) {
        int64_t lo = k * IDS_PER_ZRANGE;
        int64_t hi = k + 1 == nslices ? -1 : lo + IDS_PER_ZRANGE - 1;
        if (redisAppendCommand(ck->ctx, "ZRANGE %b %lld %lld", ck->tmp.data,
                               ck->tmp.len, (long long)lo,
                               (long long)hi) != REDIS_OK)
            return fail(ck, NULL, "ZRANGE", errstr, errstr_size);
    }
    for (int64_t k = 0; k < nslices; k++) {
        redisReply *r = NULL;
        if (redisGetReply(ck->ctx, (void **)&r) != REDIS_OK || r == NULL)
            return fail(ck, NULL, "ZRANGE", errstr, errstr_size);
        if (r->type != REDIS_REPLY_ARRAY)
            return fail(ck, r, "ZRANGE", errstr, errstr_size);
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->type == REDIS_REPLY_STRING)
                fn(arg, r->element[i]->str, r->element[i]->len);
        freeReplyObject(r);
    }
    return 0;
}

int checkpoint_fetch(checkpoint *ck, const char *const *ids,
                     const size_t *lens, size_t n,
                     void (*fn)(void *arg, size_t i, const char *blob,
                                size_t len),
                     void *arg, char *errstr, size_t errstr_size)
{
    if (n == 0)
        return 0;
    if (checkpoint_connect(ck, errstr, errstr_size) < 0)
        return -1;
    size_t sent = 0;
    cmd c = {BUF_INIT, NULL, 0, 0};
    while (sent < n) {
        size_t k = n - sent < KEYS_PER_MGET ? n - sent : KEYS_PER_MGET;
        cmd_reset(&c);
        cmd_str(&c, "MGET");
        for (size_t i = sent; i < sent + k; i++) {
            buf_reset(&ck->tmp);
            buf_append_str(&ck->tmp, ck->cfg->redis_prefix);
            buf_append_str(&ck->tmp, "state:");
            buf_append(&ck->tmp, ids[i], lens[i]);
            cmd_arg(&c, ck->tmp.data, ck->tmp.len);
        }
        if (cmd_append(ck, &c) < 0) {
            buf_free(&c.data);
            free(c.lens);
            return fail(ck, NULL, "MGET", errstr, errstr_size);
        }
        sent += k;
    }
    buf_free(&c.data);
    free(c.lens);
    size_t got = 0;
    while (got < n) {
        redisReply *r = NULL;
        if (redisGetReply(ck->ctx, (void **)&r) != REDIS_OK || r == NULL)
            return fail(ck, NULL, "MGET", errstr, errstr_size);
        if (r->type != REDIS_REPLY_ARRAY || got + r->elements > n)
            return fail(ck, r, "MGET", errstr, errstr_size);
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

/* --- the checkpoint ------------------------------------------------------- */

char *checkpoint_format_ratio(int64_t a, int64_t b, char *out, size_t size)
{
    double x = (double)a / (double)b;
    if (x == 0) {
        snprintf(out, size, "0");
        return out;
    }
    int d = 9 - (int)floor(log10(fabs(x)));
    if (d < 0)
        d = 0;
    if (d > 20)
        d = 20;
    snprintf(out, size, "%.*f", d, x);
    if (strchr(out, '.') != NULL) {
        size_t n = strlen(out);
        while (n > 0 && out[n - 1] == '0')
            out[--n] = 0;
        if (n > 0 && out[n - 1] == '.')
            out[--n] = 0;
    }
    return out;
}

static void fence_args(cmd *c, buf *tmp, const checkpoint_part *parts,
                       size_t nparts, bool with_position)
{
    cmd_int(c, (int64_t)nparts);
    for (size_t i = 0; i < nparts; i++) {
        const checkpoint_part *p = &parts[i];
        char f[48];
        tp_name(tmp, p->topic, p->partition);
        cmd_arg(c, tmp->data, tmp->len);
        snprintf(f, sizeof f, "%" PRIu64 ":%" PRIu64, p->epoch, p->seq);
        cmd_str(c, f);
        snprintf(f, sizeof f, "%" PRIu64 ":%" PRIu64, p->epoch, p->seq + 1);
        cmd_str(c, f);
        if (with_position) {
            if (p->offset < 0)
                cmd_str(c, "");
            else
                cmd_int(c, p->offset);
            if (p->watermark == STATE_NO_WATERMARK)
                cmd_str(c, "");
            else
                cmd_int(c, p->watermark);
        }
    }
}

static cmd *script_cmd(checkpoint *ck, const char *script,
                       const checkpoint_part *parts, size_t nparts,
                       bool with_position)
{
    cmd *c = &ck->scratch;
    cmd_reset(c);
    cmd_str(c, "EVAL");
    cmd_str(c, script);
    cmd_str(c, "0");
    cmd_str(c, ck->cfg->redis_prefix);
    cmd_str(c, ck->cfg->group_id);
    fence_args(c, &ck->tmp, parts, nparts, with_position);
    return c;
}

static const checkpoint_part *part_of(const checkpoint_part *parts,
                                      size_t nparts, int slot)
{
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].slot == slot)
            return &parts[i];
    return NULL;
}

/* Appends one creator's record to a creators script. */
static void creator_args(checkpoint *ck, cmd *c, const state *st,
                         const state_creator *cr, const checkpoint_part *p)
{
    const config *cfg = ck->cfg;
    size_t idlen;
    const char *id = state_creator_id(st, cr, &idlen);
    int tier = state_creator_tier(cr);
    int64_t followers = state_creator_followers(cr);
    int wtier;
    int64_t wfollowers;
    const int64_t *wvalues;
    bool was = state_creator_written(st, cr, &wtier, &wfollowers, &wvalues);

    cmd_arg(c, id, idlen);
    tp_name(&ck->tmp, p->topic, p->partition);
    cmd_arg(c, ck->tmp.data, ck->tmp.len);
    int64_t wake = state_creator_wake(cr), wwake;
    if (state_creator_written_wake(cr, &wwake) && wwake == wake)
        cmd_str(c, "="); /* the index has it already */
    else if (wake == STATE_NO_WAKE)
        cmd_str(c, "+inf");
    else
        cmd_int(c, wake);
    buf_reset(&ck->tmp);
    state_creator_encode(st, cr, &ck->tmp);
    cmd_arg(c, ck->tmp.data, ck->tmp.len);
    bool er = followers > 0;
    double ratio = state_creator_decay_ratio(cr);
    bool has_ratio = !isnan(ratio);
    /* Only what changed since the last write goes to Redis: a creator
     * touched by one event changes a handful of its 30-odd fields, and the
     * written values are exactly what Redis holds. */
    int64_t v[CONFIG_MAX_WINDOWS][STATE_METRICS];
    bool er_changed[CONFIG_MAX_WINDOWS];
    size_t nfields = 3 + (followers >= 0) + has_ratio;
    for (size_t w = 0; w < cfg->nwindows; w++) {
        state_creator_values(st, cr, w, v[w]);
        const int64_t *old = was ? wvalues + w * STATE_METRICS : NULL;
        for (int m = 0; m < STATE_METRICS; m++)
            nfields += old == NULL || old[m] != v[w][m];
        er_changed[w] = er && (old == NULL || wfollowers != followers ||
                               old[STATE_ENGAGEMENTS] != v[w][STATE_ENGAGEMENTS]);
        nfields += er_changed[w];
    }
    /* Fields that may have been written before and must go now. */
    bool del_er = was && wfollowers > 0 && !er;
    bool del_ratio = !has_ratio && state_creator_written_ratio(cr);
    cmd_int(c, (int64_t)nfields);
    cmd_int(c, (int64_t)((del_er ? cfg->nwindows : 0) + del_ratio));
    cmd_str(c, "tier");
    cmd_str(c, tier == TIER_UNKNOWN ? "unknown" : cfg->tiers[tier].name);
    if (followers >= 0) {
        cmd_str(c, "followers");
        cmd_int(c, followers);
    }
    cmd_str(c, "last_event_ms");
    cmd_int(c, state_creator_last_event(cr));
    cmd_str(c, "decay_state");
    cmd_str(c, state_creator_decay_state(cr));
    if (has_ratio) {
        char r[32];
        snprintf(r, sizeof r, "%.4f", ratio);
        cmd_str(c, "decay_ratio");
        cmd_str(c, r);
    }
    for (size_t w = 0; w < cfg->nwindows; w++) {
        const int64_t *old = was ? wvalues + w * STATE_METRICS : NULL;
        for (int m = 0; m < STATE_METRICS; m++) {
            if (old != NULL && old[m] == v[w][m])
                continue;
            cmd_str(c, ck->fname[w][m]);
            cmd_int(c, v[w][m]);
        }
        if (er_changed[w]) {
            char r[64];
            cmd_str(c, ck->ername[w]);
            cmd_str(c, checkpoint_format_ratio(v[w][STATE_ENGAGEMENTS],
                                               followers, r, sizeof r));
        }
    }
    for (size_t w = 0; del_er && w < cfg->nwindows; w++)
        cmd_str(c, ck->ername[w]);
    if (del_ratio)
        cmd_str(c, "decay_ratio");
}

static void precheck_emit(checkpoint *ck)
{
    if (ck->exists.data.failed)
        ck->precheck.failed = true;
    cmd_resp(&ck->exists, &ck->precheck);
    ck->nprecheck++;
    cmd_reset(&ck->exists);
}

/* Adds a creator Redis had no blob for to the pre-check. */
static void precheck_key(checkpoint *ck, const state *st,
                         const state_creator *cr)
{
    if (ck->exists.n == 0)
        cmd_str(&ck->exists, "EXISTS");
    size_t idlen;
    const char *id = state_creator_id(st, cr, &idlen);
    buf_reset(&ck->tmp);
    buf_append_str(&ck->tmp, ck->cfg->redis_prefix);
    buf_append_str(&ck->tmp, "state:");
    buf_append(&ck->tmp, id, idlen);
    cmd_arg(&ck->exists, ck->tmp.data, ck->tmp.len);
    if (ck->exists.n == KEYS_PER_EXISTS + 1)
        precheck_emit(ck);
}

/* Per-tier deltas: row t+1 for tier t, row 0 for unknown. */
static void tier_delta(int64_t *row, int sign, int64_t followers,
                       const int64_t *values, size_t nvalues)
{
    row[0] += sign;
    row[1] += sign * (followers > 0 ? followers : 0);
    for (size_t i = 0; i < nvalues; i++)
        row[2 + i] += sign * values[i];
}

static int build(checkpoint *ck, const state *st, const checkpoint_part *parts,
                 size_t nparts)
{
    const config *cfg = ck->cfg;
    size_t nvalues = cfg->nwindows * STATE_METRICS;
    size_t ncols = 2 + nvalues;
    size_t nrows = cfg->ntiers + 1;
    int64_t *delta = calloc(nrows * ncols, sizeof *delta);
    int64_t *cur = malloc(nvalues * sizeof *cur);
    if (delta == NULL || cur == NULL) {
        free(delta);
        free(cur);
        return -1;
    }
    buf_reset(&ck->payload);
    ck->npayload = 0;
    ck->ncreators = 0;
    buf_reset(&ck->precheck);
    ck->nprecheck = 0;
    cmd_reset(&ck->exists);
    cmd_reset(&ck->scratch);
    cmd_str(&ck->scratch, "MULTI");
    emit(ck);

    cmd *script = NULL;
    size_t in_script = 0;
    size_t ndirty = state_dirty_count(st);
    for (size_t i = 0; i < ndirty; i++) {
        const state_creator *cr = state_dirty_get(st, i);
        const checkpoint_part *p = part_of(parts, nparts,
                                           state_creator_slot(cr));
        if (p == NULL)
            continue; /* the caller forgot a partition: never write blind */
        if (script == NULL || in_script == CREATORS_PER_SCRIPT) {
            if (script != NULL)
                emit(ck);
            script = script_cmd(ck, lua_creators, parts, nparts, false);
            in_script = 0;
        }
        creator_args(ck, script, st, cr, p);
        in_script++;
        ck->ncreators++;

        int wtier;
        int64_t wfollowers;
        const int64_t *wvalues;
        if (state_creator_written(st, cr, &wtier, &wfollowers, &wvalues))
            tier_delta(delta + (size_t)(wtier + 1) * ncols, -1, wfollowers,
                       wvalues, nvalues);
        else
            precheck_key(ck, st, cr);
        for (size_t w = 0; w < cfg->nwindows; w++)
            state_creator_values(st, cr, w, cur + w * STATE_METRICS);
        tier_delta(delta + (size_t)(state_creator_tier(cr) + 1) * ncols, 1,
                   state_creator_followers(cr), cur, nvalues);
    }

    if (script != NULL)
        emit(ck);
    if (ck->exists.n > 1)
        precheck_emit(ck);
    if (ck->nprecheck > 0) {
        /* Last: the fence check (see lua_fence). */
        cmd_reset(&ck->exists);
        cmd_str(&ck->exists, "EVAL");
        cmd_str(&ck->exists, lua_fence);
        cmd_str(&ck->exists, "0");
        cmd_str(&ck->exists, cfg->redis_prefix);
        cmd_str(&ck->exists, cfg->group_id);
        fence_args(&ck->exists, &ck->tmp, parts, nparts, false);
        precheck_emit(ck);
    }
    cmd *fin = script_cmd(ck, lua_finish, parts, nparts, true);
    cmd_int(fin, (int64_t)cfg->nwindows);
    for (size_t w = 0; w < cfg->nwindows; w++)
        cmd_str(fin, ck->wlabel[w]);
    size_t ntiers = 0;
    for (size_t t = 0; t < nrows; t++)
        for (size_t k = 0; k < ncols; k++)
            if (delta[t * ncols + k] != 0) {
                ntiers++;
                break;
            }
    cmd_int(fin, (int64_t)ntiers);
    for (size_t t = 0; t < nrows; t++) {
        const int64_t *row = delta + t * ncols;
        bool touched = false;
        for (size_t k = 0; k < ncols; k++)
            touched |= row[k] != 0;
        if (!touched)
            continue;
        /* Every field, zeros included, so that a tier hash always has all
         * of them (HINCRBY by 0 creates a field at 0). */
        cmd_str(fin, t == 0 ? "unknown" : cfg->tiers[t - 1].name);
        cmd_int(fin, (int64_t)ncols);
        for (size_t k = 0; k < ncols; k++) {
            cmd_str(fin, k == 0   ? "creators"
                         : k == 1 ? "followers"
                                  : ck->fname[(k - 2) / STATE_METRICS]
                                             [(k - 2) % STATE_METRICS]);
            cmd_int(fin, row[k]);
        }
    }
    /* The alerts join the Redis stream in this same transaction: each
     * exactly once, whatever crashes and replays. */
    cmd_int(fin, cfg->alerts_stream_maxlen);
    size_t nalerts = 0;
    for (size_t i = 0; i < state_alert_count(st); i++)
        nalerts += part_of(parts, nparts, state_alert_get(st, i)->slot) != NULL;
    cmd_int(fin, (int64_t)nalerts);
    for (size_t i = 0; i < state_alert_count(st); i++) {
        const state_alert *a = state_alert_get(st, i);
        if (part_of(parts, nparts, a->slot) != NULL)
            cmd_arg(fin, a->json, a->json_len);
    }
    emit(ck);
    cmd_str(&ck->scratch, "EXEC");
    emit(ck);
    free(delta);
    free(cur);
    return buf_failed(&ck->payload) || buf_failed(&ck->precheck) ? -1 : 0;
}

/* --- the writer ------------------------------------------------------------- */

static bool reply_is(const redisReply *r, const char *word)
{
    const redisReply *e = r;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0)
        e = r->element[0];
    return (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) &&
           strcmp(e->str, word) == 0;
}

/*
 * Writer thread: sends the payload on its own connection and keeps EXEC's
 * reply (or the error) for the main thread.  Every reply before EXEC is
 * read so that the link stays in step; a command refused while queued makes
 * EXEC answer EXECABORT, and nothing is applied.
 */
/*
 * Sends len bytes of RESP on the link as they are, from the caller's
 * buffer: a payload is tens of MB, and redisAppendFormattedCommand would
 * copy it into hiredis' output buffer first, doubling the peak memory.
 * Only when hiredis has nothing of its own left to write, as after every
 * reply was read; otherwise it appends as usual.  The link's send timeout
 * applies.  Returns 0, or -1 with errstr (the link is then out of step and
 * must be dropped).  Writer thread.
 */
static int send_resp(redisContext *c, const char *data, size_t len,
                     char *errstr, size_t errstr_size)
{
    if (c->obuf != NULL && sdslen(c->obuf) > 0) {
        if (redisAppendFormattedCommand(c, data, len) == REDIS_OK)
            return 0;
        snprintf(errstr, errstr_size, "%s", c->errstr);
        return -1;
    }
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(errstr, errstr_size, "%s",
                     n == 0 || errno == EAGAIN || errno == EWOULDBLOCK
                         ? "write timed out"
                         : strerror(errno));
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static void write_payload(checkpoint *ck)
{
    char err[512];
    redisReply *exec = NULL;
    if (connect_ctx(ck, &ck->wctx, err, sizeof err) < 0)
        goto failed;
    if (ck->precheck_due && ck->nprecheck > 0) {
        if (redisAppendFormattedCommand(ck->wctx, ck->precheck.data,
                                        ck->precheck.len) != REDIS_OK) {
            fail_on(ck, &ck->wctx, NULL, "checkpoint EXISTS", err, sizeof err);
            goto failed;
        }
        long long found = 0;
        for (size_t i = 0; i < ck->nprecheck; i++) {
            bool fence = i + 1 == ck->nprecheck;
            redisReply *r = NULL;
            if (redisGetReply(ck->wctx, (void **)&r) != REDIS_OK || r == NULL) {
                fail_on(ck, &ck->wctx, NULL, "checkpoint pre-check", err,
                        sizeof err);
                goto failed;
            }
            if (fence ? r->type != REDIS_REPLY_ARRAY
                      : r->type != REDIS_REPLY_INTEGER) {
                fail_on(ck, &ck->wctx, r, "checkpoint pre-check", err,
                        sizeof err);
                goto failed;
            }
            if (fence && reply_is(r, "FENCED")) {
                ck->pre_fenced = r;
                ck->answer = NULL;
                return;
            }
            if (!fence)
                found += r->integer;
            freeReplyObject(r);
        }
        if (found > 0) {
            ck->not_new = found;
            ck->answer = NULL;
            return;
        }
    }
    ck->precheck_due = false;
    char why[256];
    if (send_resp(ck->wctx, ck->payload.data, ck->payload.len, why,
                  sizeof why) < 0) {
        char w[300];
        snprintf(err, sizeof err, "%.300s: checkpoint: %.150s",
                 where(ck, w, sizeof w), why);
        disconnect_ctx(&ck->wctx);
        goto failed;
    }
    for (size_t i = 0; i < ck->npayload; i++) {
        redisReply *r = NULL;
        if (redisGetReply(ck->wctx, (void **)&r) != REDIS_OK || r == NULL) {
            if (exec)
                freeReplyObject(exec);
            fail_on(ck, &ck->wctx, NULL, "checkpoint", err, sizeof err);
            goto failed;
        }
        if (i + 1 < ck->npayload) {
            if (r->type != REDIS_REPLY_STATUS)
                log_warning("checkpoint command refused error=\"%s\"",
                            r->type == REDIS_REPLY_ERROR ? r->str : "?");
            freeReplyObject(r);
        } else {
            exec = r;
        }
    }
    ck->answer = exec;
    return;
failed:
    ck->answer = NULL;
    snprintf(ck->werr, sizeof ck->werr, "%s", err);
}

static void *writer_main(void *arg)
{
    checkpoint *ck = arg;
    pthread_mutex_lock(&ck->mu);
    for (;;) {
        while (!ck->quit && !(ck->job && !ck->done))
            pthread_cond_wait(&ck->cv, &ck->mu);
        if (ck->quit)
            break;
        pthread_mutex_unlock(&ck->mu);
        write_payload(ck);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        pthread_mutex_lock(&ck->mu);
        ck->answered_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        ck->done = true;
        pthread_cond_broadcast(&ck->cv);
    }
    pthread_mutex_unlock(&ck->mu);
    return NULL;
}

/* --- the checkpoint, from the main thread ----------------------------------- */

/* Sets parts[].fenced from a FENCED reply's partition names. */
static void mark_fenced(checkpoint *ck, const redisReply *r,
                        checkpoint_part *parts, size_t nparts)
{
    for (size_t k = 1; k < r->elements; k++)
        for (size_t i = 0; i < nparts; i++) {
            tp_name(&ck->tmp, parts[i].topic, parts[i].partition);
            if (r->element[k]->len == ck->tmp.len &&
                memcmp(r->element[k]->str, ck->tmp.data, ck->tmp.len) == 0)
                parts[i].fenced = true;
        }
}

/* Reads the writer's answer; ck->answer is consumed. */
static checkpoint_result read_answer(checkpoint *ck, checkpoint_part *parts,
                                     size_t nparts, char *errstr,
                                     size_t errstr_size)
{
    redisReply *exec = ck->answer;
    ck->answer = NULL;
    char w[300];
    if (ck->pre_fenced != NULL) {
        mark_fenced(ck, ck->pre_fenced, parts, nparts);
        freeReplyObject(ck->pre_fenced);
        ck->pre_fenced = NULL;
        return CHECKPOINT_FENCED;
    }
    if (ck->not_new > 0) {
        snprintf(errstr, errstr_size,
                 "%lld creator(s) taken as new already have state in Redis",
                 ck->not_new);
        return CHECKPOINT_NOT_NEW;
    }
    if (exec == NULL) {
        snprintf(errstr, errstr_size, "%s", ck->werr);
        return CHECKPOINT_ERROR;
    }
    if (exec->type != REDIS_REPLY_ARRAY || exec->elements != ck->npayload - 2) {
        snprintf(errstr, errstr_size, "%s: checkpoint EXEC: %s",
                 where(ck, w, sizeof w),
                 exec->type == REDIS_REPLY_ERROR ? exec->str
                                                 : "unexpected reply");
        freeReplyObject(exec);
        return CHECKPOINT_ERROR;
    }
    for (size_t i = 0; i < exec->elements; i++)
        if (exec->element[i]->type == REDIS_REPLY_ERROR) {
            /* A script failed half-way (foreign data under our keys).  What
             * it wrote stays; say so loudly. */
            snprintf(errstr, errstr_size, "%s: checkpoint script: %s",
                     where(ck, w, sizeof w), exec->element[i]->str);
            freeReplyObject(exec);
            return CHECKPOINT_ERROR;
        }
    redisReply *fin = exec->element[exec->elements - 1];
    checkpoint_result res;
    if (reply_is(fin, "OK") || reply_is(fin, "DUP")) {
        if (reply_is(fin, "DUP"))
            log_notice("checkpoint was already applied before its reply was "
                       "lost; not applied twice");
        res = CHECKPOINT_OK;
    } else if (reply_is(fin, "FENCED")) {
        mark_fenced(ck, fin, parts, nparts);
        res = CHECKPOINT_FENCED;
    } else {
        snprintf(errstr, errstr_size, "%s: checkpoint reply: unexpected",
                 where(ck, w, sizeof w));
        res = CHECKPOINT_ERROR;
    }
    freeReplyObject(exec);
    return res;
}

int checkpoint_build(checkpoint *ck, const state *st,
                     const checkpoint_part *parts, size_t nparts,
                     char *errstr, size_t errstr_size)
{
    if (ck->in_doubt)
        return 0; /* the payload kept is sent again */
    if (build(ck, st, parts, nparts) < 0) {
        snprintf(errstr, errstr_size, "out of memory building a checkpoint");
        return -1;
    }
    ck->precheck_due = true;
    return 0;
}

void checkpoint_send(checkpoint *ck, checkpoint_part *parts, size_t nparts)
{
    for (size_t i = 0; i < nparts; i++)
        parts[i].fenced = false;
    ck->not_new = 0;
    /* Whatever happens now, the outcome is unknown until the answer. */
    ck->in_doubt = true;
    pthread_mutex_lock(&ck->mu);
    ck->job = true;
    ck->done = false;
    pthread_cond_broadcast(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
}

bool checkpoint_busy(const checkpoint *ck)
{
    return ck->job;
}

checkpoint_result checkpoint_wait(checkpoint *ck, int timeout_ms,
                                  checkpoint_part *parts, size_t nparts,
                                  int64_t *answered_ms, char *errstr,
                                  size_t errstr_size)
{
    if (!ck->job) {
        snprintf(errstr, errstr_size, "no checkpoint in flight");
        return CHECKPOINT_ERROR;
    }
    pthread_mutex_lock(&ck->mu);
    if (!ck->done && timeout_ms != 0) {
        if (timeout_ms < 0) {
            while (!ck->done)
                pthread_cond_wait(&ck->cv, &ck->mu);
        } else {
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_sec += timeout_ms / 1000;
            dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
            if (dl.tv_nsec >= 1000000000L) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000L;
            }
            while (!ck->done &&
                   pthread_cond_timedwait(&ck->cv, &ck->mu, &dl) == 0)
                ;
        }
    }
    bool done = ck->done;
    if (answered_ms != NULL)
        *answered_ms = ck->answered_ms;
    pthread_mutex_unlock(&ck->mu);
    if (!done)
        return CHECKPOINT_PENDING;
    ck->job = false;
    checkpoint_result res = read_answer(ck, parts, nparts, errstr,
                                        errstr_size);
    ck->in_doubt = res == CHECKPOINT_ERROR;
    return res;
}

bool checkpoint_in_doubt(const checkpoint *ck)
{
    return ck->in_doubt;
}

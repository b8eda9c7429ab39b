#include "payload.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "keys.h"
#include "resp.h"
#include "share.h"
#include "tally.h"
#include "tier.h"
#include "timefmt.h"

#define CREATORS_PER_SCRIPT 500
#define KEYS_PER_EXISTS 1000

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

/* ARGV: p g np (tp expect new)*np.  The fence check alone, sent with the
 * pre-check so that a stale owner hears FENCED rather than NOT_NEW. */
static const char lua_fence[] =
    "local PARTARGS = 3\n" LUA_FENCE_CHECK "return {'OK'}\n";

/* ARGV: p g np (tp expect new)*np
 *       nc, then per creator: key nfields ndel field value ... deleted ...
 *       then (state_key blob)*nc
 *       then nz, per wake index: key n (wake id)*n
 * Keys come whole from engaged.  A creator's hash takes a call of its own;
 * the blobs go in one MSET and the wake times in one ZADD per partition,
 * since each call from Lua costs about as much as the work it does (a
 * third of Redis's CPU per creator, measured: docs/performance.md).  A
 * creator whose wake time the index already has is not in the ZADDs.
 * Every creator with a blob stays in its partition's index, so that a
 * claim can learn which creators Redis holds. */
static const char lua_creators[] =
    "local PARTARGS = 3\n" LUA_FENCE_CHECK
    "local nc = tonumber(ARGV[i]) i = i + 1\n"
    "for c = 1, nc do\n"
    "  local key, nf, nd = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])\n"
    "  i = i + 3\n"
    "  redis.call('HSET', key, unpack(ARGV, i, i + 2 * nf - 1))\n"
    "  i = i + 2 * nf\n"
    "  if nd > 0 then redis.call('HDEL', key, unpack(ARGV, i, i + nd - 1)) end\n"
    "  i = i + nd\n"
    "end\n"
    "if nc > 0 then redis.call('MSET', unpack(ARGV, i, i + 2 * nc - 1)) end\n"
    "i = i + 2 * nc\n"
    "local nz = tonumber(ARGV[i]) i = i + 1\n"
    "for z = 1, nz do\n"
    "  local n = tonumber(ARGV[i + 1])\n"
    "  redis.call('ZADD', ARGV[i], unpack(ARGV, i + 2, i + 1 + 2 * n))\n"
    "  i = i + 2 + 2 * n\n"
    "end\n"
    "return {'OK'}\n";

/* a / b as payload_format_ratio() writes it. */
#define LUA_RATIO                                                            \
    "local function ratio(a, b)\n"                                           \
    "  local x = a / b\n"                                                    \
    "  if x == 0 then return '0' end\n"                                      \
    "  local d = 9 - math.floor(math.log10(math.abs(x)))\n"                  \
    "  if d < 0 then d = 0 elseif d > 20 then d = 20 end\n"                  \
    "  local s = string.format('%.' .. d .. 'f', x)\n"                       \
    "  if string.find(s, '.', 1, true) then\n"                               \
    "    s = (string.gsub(s, '0+$', '')) s = (string.gsub(s, '%.$', '')) end\n" \
    "  return s\n"                                                           \
    "end\n"

/* ARGV: p g np (tp expect new)*np retention_ms
 *       nt (campaign tier first_ms last_ms delta*10)*nt
 *       nd (campaign date delta*10)*nd
 *       nm (campaign creator tier followers engagements)*nm
 *       nb (creator brand sector posts last_ms)*nb
 * The deltas in the order of campaign.h's metrics; a creator joins a
 * campaign (creators, reach) when the campaign's creator set does not
 * hold it yet. */
static const char lua_campaigns[] =
    "local PARTARGS = 3\n" LUA_FENCE_CHECK LUA_RATIO
    "local M = {'posts', 'sponsored_posts', 'likes', 'comments', 'shares',\n"
    "  'saves', 'views', 'clicks', 'conversions', 'engagements'}\n"
    /* Deltas travel as strings and are summed here as Lua numbers: a
     * checkpoint's sums stay far below 2^53. */
    "local function int(x) return string.format('%.0f', x) end\n"
    "local function ratios(key, pre)\n"
    "  local v = redis.call('HMGET', key, pre .. 'engagements', pre .. 'reach',\n"
    "    pre .. 'conversions', pre .. 'clicks')\n"
    "  local e, r = tonumber(v[1] or '0'), tonumber(v[2] or '0')\n"
    "  local cv, cl = tonumber(v[3] or '0'), tonumber(v[4] or '0')\n"
    "  if r > 0 then redis.call('HSET', key, pre .. 'er', ratio(e, r))\n"
    "  else redis.call('HDEL', key, pre .. 'er') end\n"
    "  if cl > 0 then redis.call('HSET', key, pre .. 'conversion_rate',\n"
    "    ratio(cv, cl))\n"
    "  else redis.call('HDEL', key, pre .. 'conversion_rate') end\n"
    "end\n"
    "local function nxt() i = i + 1 return ARGV[i - 1] end\n"
    "local ret = tonumber(nxt())\n"
    /* Per campaign touched: its totals, first and last, the tiers whose
     * ratios may have moved. */
    "local order, camp, written = {}, {}, {}\n"
    "local function get(c)\n"
    "  local k = camp[c]\n"
    "  if not k then\n"
    "    k = {tot = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, tiers = {}, tierlist = {},\n"
    "      join = {}, creators = 0, reach = 0}\n"
    "    camp[c] = k order[#order + 1] = c\n"
    "  end\n"
    "  return k\n"
    "end\n"
    "local function tier(k, t)\n"
    "  if not k.tiers[t] then k.tiers[t] = true k.tierlist[#k.tierlist + 1] = t end\n"
    "end\n"
    "for r = 1, tonumber(nxt()) do\n"
    "  local c, t, first, last = nxt(), nxt(), tonumber(nxt()), tonumber(nxt())\n"
    "  local key, k = p .. 'campaign:' .. c, get(c)\n"
    "  for m = 1, 10 do\n"
    "    local d = nxt()\n"
    "    if d ~= '0' then\n"
    "      redis.call('HINCRBY', key, t .. '.' .. M[m], d)\n"
    "      k.tot[m] = k.tot[m] + tonumber(d)\n"
    "    end\n"
    "  end\n"
    "  if not k.first or first < k.first then k.first = first end\n"
    "  if not k.last or last > k.last then k.last = last end\n"
    "  tier(k, t)\n"
    "end\n"
    "for r = 1, tonumber(nxt()) do\n"
    "  local key = p .. 'campaign_day:' .. nxt() .. ':' .. nxt()\n"
    "  for m = 1, 10 do\n"
    "    local d = nxt()\n"
    "    if d ~= '0' then redis.call('HINCRBY', key, M[m], d) end\n"
    "  end\n"
    "  written[key] = true\n"
    "end\n"
    /* ZADD NX answers whether the creator joins now; the joins are
     * counted per campaign and tier and written once below. */
    "for r = 1, tonumber(nxt()) do\n"
    "  local c, x, t, fol, e = nxt(), nxt(), nxt(), tonumber(nxt()), nxt()\n"
    "  local zk, k = p .. 'campaign_creators:' .. c, get(c)\n"
    "  if redis.call('ZADD', zk, 'NX', e, x) == 1 then\n"
    "    local j = k.join[t]\n"
    "    if not j then j = {0, 0} k.join[t] = j tier(k, t) end\n"
    "    j[1] = j[1] + 1\n"
    "    if fol > 0 then j[2] = j[2] + fol end\n"
    "  elseif e ~= '0' then\n"
    "    redis.call('ZINCRBY', zk, e, x)\n"
    "  end\n"
    "  written[zk] = true\n"
    "end\n"
    "for _, c in ipairs(order) do\n"
    "  local key, k = p .. 'campaign:' .. c, camp[c]\n"
    "  for _, t in ipairs(k.tierlist) do\n"
    "    local j = k.join[t]\n"
    "    if j then\n"
    "      redis.call('HINCRBY', key, t .. '.creators', int(j[1]))\n"
    "      k.creators = k.creators + j[1]\n"
    "      if j[2] > 0 then\n"
    "        redis.call('HINCRBY', key, t .. '.reach', int(j[2]))\n"
    "        k.reach = k.reach + j[2]\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  for m = 1, 10 do\n"
    "    if k.tot[m] ~= 0 then redis.call('HINCRBY', key, M[m], int(k.tot[m])) end\n"
    "  end\n"
    "  if k.creators > 0 then redis.call('HINCRBY', key, 'creators', k.creators) end\n"
    "  if k.reach > 0 then redis.call('HINCRBY', key, 'reach', int(k.reach)) end\n"
    "  if k.first then\n"
    "    local v = redis.call('HMGET', key, 'first_ms', 'last_ms')\n"
    "    if not v[1] or k.first < tonumber(v[1]) then\n"
    "      redis.call('HSET', key, 'first_ms', int(k.first)) end\n"
    "    if not v[2] or k.last > tonumber(v[2]) then\n"
    "      redis.call('HSET', key, 'last_ms', int(k.last)) end\n"
    "    redis.call('ZADD', p .. 'campaigns', 'GT', int(k.last), c)\n"
    "  end\n"
    "  ratios(key, '')\n"
    "  for _, t in ipairs(k.tierlist) do ratios(key, t .. '.') end\n"
    "  written[key] = true\n"
    "end\n"
    "for r = 1, tonumber(nxt()) do\n"
    "  local x, b, s, n, last = nxt(), nxt(), nxt(), nxt(), nxt()\n"
    "  if b ~= '' then\n"
    "    local bk, pk = p .. 'creator_brands:' .. x, p .. 'creator_brand_posts:' .. x\n"
    "    redis.call('ZADD', bk, 'GT', last, b)\n"
    "    if n ~= '0' then redis.call('HINCRBY', pk, b, n) end\n"
    "    written[bk] = true written[pk] = true\n"
    "  end\n"
    "  if s ~= '' then\n"
    "    local sk = p .. 'creator_sectors:' .. x\n"
    "    redis.call('ZADD', sk, 'GT', last, s)\n"
    "    written[sk] = true\n"
    "  end\n"
    "end\n"
    "if ret > 0 then\n"
    "  for k in pairs(written) do redis.call('PEXPIRE', k, ret) end\n"
    "end\n"
    "return {'OK'}\n";

/* ARGV: p g np (tp expect new offset watermark)*np nw window_labels*nw
 *       ntiers then per tier: name nfields field delta ...
 *       then per partition (np): nfields field delta ... (its share)
 *       maxlen nalerts alert_json ...
 * A partition's share (`tier_share`, share.h) moves only when its stamp is
 * the fence this checkpoint expects: one an engaged without shares left
 * behind stays stale, and the next claim rebuilds it. */
static const char lua_finish[] =
    "local PARTARGS = 5\n" LUA_FENCE_CHECK LUA_RATIO
    "i = 4\n"
    "local tps, exp, new = {}, {}, {}\n"
    "for k = 1, np do\n"
    "  local tp = ARGV[i]\n"
    "  tps[k], exp[k], new[k] = tp, ARGV[i + 1], ARGV[i + 2]\n"
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
    "for k = 1, np do\n"
    "  local sk = p .. 'tier_share:' .. g .. ':' .. tps[k]\n"
    "  local nf = tonumber(ARGV[i]) i = i + 1\n"
    "  if redis.call('HGET', sk, 'fence') == exp[k] then\n"
    "    redis.call('HSET', sk, 'fence', new[k])\n"
    "    for f = 1, nf do\n"
    "      redis.call('HINCRBY', sk, ARGV[i], ARGV[i + 1]) i = i + 2\n"
    "    end\n"
    "  else i = i + 2 * nf end\n"
    "end\n"
    "local maxlen = ARGV[i]\n"
    "local na = tonumber(ARGV[i + 1]) i = i + 2\n"
    "for k = 1, na do\n"
    "  redis.call('XADD', p .. 'alerts', 'MAXLEN', '~', maxlen, '*', 'alert', ARGV[i])\n"
    "  i = i + 1\n"
    "end\n"
    "return {'OK'}\n";

/* A wake time for a creators script's ZADDs: part (index in the parts),
 * then seq keep the creators' order within a partition. */
typedef struct payload_wake {
    size_t part, seq;
    int64_t wake;            /* STATE_NO_WAKE: +inf */
    const char *id;          /* the state's, valid through the build */
    size_t idlen;
} payload_wake;

struct payload {
    const config *cfg;
    char wlabel[CONFIG_MAX_WINDOWS][24];
    /* Field names, made once: "<metric>_<window>" and "er_<window>". */
    char fname[CONFIG_MAX_WINDOWS][STATE_METRICS][48];
    char ername[CONFIG_MAX_WINDOWS][32];
    buf data;                /* the transaction */
    size_t ndata;            /* its commands */
    size_t ncreators;
    buf precheck;
    size_t nprecheck;
    resp_cmd exists;         /* the EXISTS being built */
    resp_cmd scratch;        /* the command being built */
    buf tmp;
    campaign_merge *merge;   /* the campaign sums of one checkpoint */
    /* The creators script being built: its blobs and wake times, which
     * follow its creators' records (lua_creators). */
    resp_cmd blobs;
    payload_wake *wakes;
    size_t nwakes, wakes_cap;
    /* The share deltas (share.h) of the last build: per part, share_rows
     * rows of share_cols, row 0 "unknown" then tier t at row t + 1, named
     * in tname as the tiers were at that build. */
    int64_t *share;
    size_t share_cap;        /* cells allocated */
    size_t share_rows, share_cols;
    char tname[CONFIG_MAX_TIERS + 1][CONFIG_TIER_NAME_MAX + 1];
    const char *tnames[CONFIG_MAX_TIERS + 1];
};

payload *payload_new(const config *cfg, char *errstr, size_t errstr_size)
{
    payload *pl = calloc(1, sizeof *pl);
    if (pl == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pl->cfg = cfg;
    pl->merge = campaign_merge_new();
    if (pl->merge == NULL) {
        free(pl);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    for (size_t w = 0; w < cfg->nwindows; w++) {
        timefmt_format_window(cfg->windows_ms[w], pl->wlabel[w],
                              sizeof pl->wlabel[w]);
        for (int m = 0; m < STATE_METRICS; m++)
            snprintf(pl->fname[w][m], sizeof pl->fname[w][m], "%s_%s",
                     state_metric_name(m), pl->wlabel[w]);
        snprintf(pl->ername[w], sizeof pl->ername[w], "er_%s", pl->wlabel[w]);
    }
    return pl;
}

void payload_free(payload *pl)
{
    if (pl == NULL)
        return;
    buf_free(&pl->data);
    buf_free(&pl->precheck);
    resp_free(&pl->exists);
    resp_free(&pl->scratch);
    buf_free(&pl->tmp);
    campaign_merge_free(pl->merge);
    resp_free(&pl->blobs);
    free(pl->wakes);
    free(pl->share);
    free(pl);
}

const char *payload_data(const payload *pl, size_t *len)
{
    *len = pl->data.len;
    return pl->data.data;
}

size_t payload_commands(const payload *pl)
{
    return pl->ndata;
}

const char *payload_precheck(const payload *pl, size_t *len)
{
    *len = pl->precheck.len;
    return pl->precheck.data;
}

size_t payload_precheck_commands(const payload *pl)
{
    return pl->nprecheck;
}

size_t payload_creators(const payload *pl)
{
    return pl->ncreators;
}

size_t payload_share_rows(const payload *pl)
{
    return pl->share_rows;
}

const char *const *payload_share_tiers(const payload *pl)
{
    return pl->tnames;
}

const int64_t *payload_share_delta(const payload *pl, size_t i)
{
    return pl->share + i * pl->share_rows * pl->share_cols;
}

/* Ends the command in pl->scratch: into the transaction. */
static void emit(payload *pl)
{
    if (resp_failed(&pl->scratch))
        pl->data.failed = true;
    resp_encode(&pl->scratch, &pl->data);
    pl->ndata++;
    resp_reset(&pl->scratch);
}

char *payload_format_ratio(int64_t a, int64_t b, char *out, size_t size)
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

static void fence_args(resp_cmd *c, buf *tmp, const payload_part *parts,
                       size_t nparts, bool with_position)
{
    resp_int(c, (int64_t)nparts);
    for (size_t i = 0; i < nparts; i++) {
        const payload_part *p = &parts[i];
        char f[48];
        keys_partition(tmp, p->topic, p->partition);
        resp_arg(c, tmp->data, tmp->len);
        snprintf(f, sizeof f, "%" PRIu64 ":%" PRIu64, p->epoch, p->seq);
        resp_str(c, f);
        snprintf(f, sizeof f, "%" PRIu64 ":%" PRIu64, p->epoch, p->seq + 1);
        resp_str(c, f);
        if (with_position) {
            if (p->offset < 0)
                resp_str(c, "");
            else
                resp_int(c, p->offset);
            if (p->watermark == STATE_NO_WATERMARK)
                resp_str(c, "");
            else
                resp_int(c, p->watermark);
        }
    }
}

static resp_cmd *script_cmd(payload *pl, const char *script,
                       const payload_part *parts, size_t nparts,
                       bool with_position)
{
    resp_cmd *c = &pl->scratch;
    resp_reset(c);
    resp_str(c, "EVAL");
    resp_str(c, script);
    resp_str(c, "0");
    resp_str(c, pl->cfg->redis_prefix);
    resp_str(c, pl->cfg->group_id);
    fence_args(c, &pl->tmp, parts, nparts, with_position);
    return c;
}

static const payload_part *part_of(const payload_part *parts,
                                      size_t nparts, int slot)
{
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].slot == slot)
            return &parts[i];
    return NULL;
}

/* Appends pl->tmp to c as an argument; a failure fails the payload. */
static void tmp_arg(payload *pl, resp_cmd *c)
{
    if (buf_failed(&pl->tmp))
        pl->data.failed = true;
    resp_arg(c, pl->tmp.data, pl->tmp.len);
}

/* Keeps a creator's wake time for its script's ZADDs. */
static void wake_add(payload *pl, size_t part, int64_t wake, const char *id,
                     size_t idlen)
{
    if (pl->nwakes == pl->wakes_cap) {
        size_t cap = pl->wakes_cap ? pl->wakes_cap * 2 : CREATORS_PER_SCRIPT;
        payload_wake *w = realloc(pl->wakes, cap * sizeof *w);
        if (w == NULL) {
            pl->data.failed = true;
            return;
        }
        pl->wakes = w;
        pl->wakes_cap = cap;
    }
    pl->wakes[pl->nwakes] = (payload_wake){part, pl->nwakes, wake, id, idlen};
    pl->nwakes++;
}

/*
 * Appends one creator's record to a creators script (c): its hash's key,
 * fields and deletions; its blob goes to pl->blobs and its wake time, when
 * the index does not have it yet, to pl->wakes.  part: p's index in the
 * parts.
 */
static void creator_args(payload *pl, resp_cmd *c, const state *st,
                         const state_creator *cr, size_t part)
{
    const config *cfg = pl->cfg;
    size_t idlen;
    const char *id = state_creator_id(st, cr, &idlen);
    int tier = state_creator_tier(cr);
    int64_t followers = state_creator_followers(cr);
    int wtier;
    int64_t wfollowers;
    const int64_t *wvalues;
    bool was = state_creator_written(st, cr, &wtier, &wfollowers, &wvalues);

    keys_creator(&pl->tmp, cfg, id, idlen);
    tmp_arg(pl, c);
    keys_state(&pl->tmp, cfg, id, idlen);
    tmp_arg(pl, &pl->blobs);
    buf_reset(&pl->tmp);
    state_creator_encode(st, cr, &pl->tmp);
    tmp_arg(pl, &pl->blobs);
    int64_t wake = state_creator_wake(cr), wwake;
    if (!state_creator_written_wake(cr, &wwake) || wwake != wake)
        wake_add(pl, part, wake, id, idlen);
    bool er = followers > 0;
    double ratio = state_creator_decay_ratio(cr);
    bool has_ratio = !isnan(ratio);
    /* Only what changed since the last write goes to Redis: a creator
     * touched by one event changes a handful of its 30-odd fields, and the
     * written values are exactly what Redis holds.  A sum that is 0 is not
     * stored (most of a creator's sums are 0 at any time: half its Redis
     * memory went to zeros): one that falls to 0 is deleted.  A creator
     * never written has no hash yet, so all its sums count as 0 there. */
    int64_t v[CONFIG_MAX_WINDOWS][STATE_METRICS];
    bool er_changed[CONFIG_MAX_WINDOWS];
    size_t nfields = 3 + (followers >= 0) + has_ratio, nzero = 0;
    for (size_t w = 0; w < cfg->nwindows; w++) {
        state_creator_values(st, cr, w, v[w]);
        const int64_t *old = was ? wvalues + w * STATE_METRICS : NULL;
        for (int m = 0; m < STATE_METRICS; m++) {
            if ((old != NULL ? old[m] : 0) == v[w][m])
                continue;
            if (v[w][m] == 0)
                nzero++;
            else
                nfields++;
        }
        er_changed[w] = er && (old == NULL || wfollowers != followers ||
                               old[STATE_ENGAGEMENTS] != v[w][STATE_ENGAGEMENTS]);
        nfields += er_changed[w];
    }
    /* Fields that may have been written before and must go now. */
    bool del_er = was && wfollowers > 0 && !er;
    bool del_ratio = !has_ratio && state_creator_written_ratio(cr);
    resp_int(c, (int64_t)nfields);
    resp_int(c, (int64_t)(nzero + (del_er ? cfg->nwindows : 0) + del_ratio));
    resp_str(c, "tier");
    resp_str(c, tier == TIER_UNKNOWN ? "unknown" : cfg->tiers[tier].name);
    if (followers >= 0) {
        resp_str(c, "followers");
        resp_int(c, followers);
    }
    resp_str(c, "last_event_ms");
    resp_int(c, state_creator_last_event(cr));
    resp_str(c, "decay_state");
    resp_str(c, state_creator_decay_state(cr));
    if (has_ratio) {
        char r[32];
        snprintf(r, sizeof r, "%.4f", ratio);
        resp_str(c, "decay_ratio");
        resp_str(c, r);
    }
    for (size_t w = 0; w < cfg->nwindows; w++) {
        const int64_t *old = was ? wvalues + w * STATE_METRICS : NULL;
        for (int m = 0; m < STATE_METRICS; m++) {
            if ((old != NULL ? old[m] : 0) == v[w][m] || v[w][m] == 0)
                continue;
            resp_str(c, pl->fname[w][m]);
            resp_int(c, v[w][m]);
        }
        if (er_changed[w]) {
            char r[64];
            resp_str(c, pl->ername[w]);
            resp_str(c, payload_format_ratio(v[w][STATE_ENGAGEMENTS],
                                               followers, r, sizeof r));
        }
    }
    for (size_t w = 0; nzero > 0 && w < cfg->nwindows; w++) {
        const int64_t *old = was ? wvalues + w * STATE_METRICS : NULL;
        for (int m = 0; old != NULL && m < STATE_METRICS; m++)
            if (old[m] != 0 && v[w][m] == 0)
                resp_str(c, pl->fname[w][m]);
    }
    for (size_t w = 0; del_er && w < cfg->nwindows; w++)
        resp_str(c, pl->ername[w]);
    if (del_ratio)
        resp_str(c, "decay_ratio");
}

/* st's dirty creators that belong to one of the parts (the caller may
 * leave partitions out: never write blind). */
static size_t count_creators(const state *st, const payload_part *parts,
                             size_t nparts)
{
    size_t n = 0;
    for (size_t i = 0; i < state_dirty_count(st); i++)
        n += part_of(parts, nparts,
                     state_creator_slot(state_dirty_get(st, i))) != NULL;
    return n;
}

static int wake_cmp(const void *a, const void *b)
{
    const payload_wake *x = a, *y = b;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Ends a creators script: its blobs (one MSET), then its wake times, one
 * ZADD per partition. */
static void creators_end(payload *pl, resp_cmd *c, const payload_part *parts)
{
    resp_append(c, &pl->blobs);
    qsort(pl->wakes, pl->nwakes, sizeof *pl->wakes, wake_cmp);
    size_t nz = 0;
    for (size_t k = 0; k < pl->nwakes; k++)
        nz += k == 0 || pl->wakes[k].part != pl->wakes[k - 1].part;
    resp_int(c, (int64_t)nz);
    for (size_t k = 0, end; k < pl->nwakes; k = end) {
        const payload_part *p = &parts[pl->wakes[k].part];
        for (end = k + 1;
             end < pl->nwakes && pl->wakes[end].part == pl->wakes[k].part;
             end++)
            ;
        keys_wake(&pl->tmp, pl->cfg, p->topic, p->partition);
        tmp_arg(pl, c);
        resp_int(c, (int64_t)(end - k));
        for (size_t j = k; j < end; j++) {
            const payload_wake *w = &pl->wakes[j];
            if (w->wake == STATE_NO_WAKE)
                resp_str(c, "+inf");
            else
                resp_int(c, w->wake);
            resp_arg(c, w->id, w->idlen);
        }
    }
}

static void precheck_emit(payload *pl)
{
    if (resp_failed(&pl->exists))
        pl->precheck.failed = true;
    resp_encode(&pl->exists, &pl->precheck);
    pl->nprecheck++;
    resp_reset(&pl->exists);
}

/* Adds a creator Redis had no blob for to the pre-check. */
static void precheck_key(payload *pl, const state *st,
                         const state_creator *cr)
{
    if (pl->exists.n == 0)
        resp_str(&pl->exists, "EXISTS");
    size_t idlen;
    const char *id = state_creator_id(st, cr, &idlen);
    keys_state(&pl->tmp, pl->cfg, id, idlen);
    resp_arg(&pl->exists, pl->tmp.data, pl->tmp.len);
    if (pl->exists.n == KEYS_PER_EXISTS + 1)
        precheck_emit(pl);
}

static const char *tier_of(const config *cfg, int tier)
{
    return tier >= 0 && (size_t)tier < cfg->ntiers ? cfg->tiers[tier].name
                                                   : "unknown";
}

struct parts_arg {
    const payload_part *parts;
    size_t nparts;
};

static bool take_part(int slot, const void *arg)
{
    const struct parts_arg *a = arg;
    return part_of(a->parts, a->nparts, slot) != NULL;
}

/*
 * The campaigns script (lua_campaigns) with the ledger's rows of `parts`
 * (the tier and day sums merged over them), into the transaction; nothing
 * when the ledger holds none.
 */
static void campaign_args(payload *pl, const state *st,
                          const payload_part *parts, size_t nparts)
{
    const config *cfg = pl->cfg;
    const campaign_ledger *l = state_campaigns(st);
    campaign_merge *mg = pl->merge;
    struct parts_arg pa = {parts, nparts};
    if (campaign_merge_ledger(mg, l, take_part, &pa) < 0) {
        pl->data.failed = true;
        return;
    }
    size_t nm = 0, nb = 0;
    for (size_t i = 0; i < campaign_ledger_members(l); i++)
        nm += part_of(parts, nparts, campaign_ledger_member(l, i)->slot) !=
              NULL;
    for (size_t i = 0; i < campaign_ledger_brands(l); i++)
        nb += part_of(parts, nparts, campaign_ledger_brand_row(l, i)->slot) !=
              NULL;
    size_t nt = campaign_merge_tiers(mg), nd = campaign_merge_days(mg);
    if (nt + nd + nm + nb == 0)
        return;
    resp_cmd *c = script_cmd(pl, lua_campaigns, parts, nparts, false);
    resp_int(c, cfg->campaign_retention_ms);
    resp_int(c, (int64_t)nt);
    for (size_t i = 0; i < nt; i++) {
        const campaign_sums *r = campaign_merge_tier(mg, i);
        resp_str(c, r->campaign);
        resp_str(c, tier_of(cfg, r->tier));
        resp_int(c, r->first_ms);
        resp_int(c, r->last_ms);
        for (int m = 0; m < CAMPAIGN_METRICS; m++)
            resp_int(c, r->v[m]);
    }
    resp_int(c, (int64_t)nd);
    for (size_t i = 0; i < nd; i++) {
        const campaign_sums *r = campaign_merge_day(mg, i);
        char date[40];
        timefmt_format_rfc3339(r->day * INT64_C(86400000), date, sizeof date);
        resp_str(c, r->campaign);
        resp_arg(c, date, 10); /* YYYY-MM-DD */
        for (int m = 0; m < CAMPAIGN_METRICS; m++)
            resp_int(c, r->v[m]);
    }
    resp_int(c, (int64_t)nm);
    for (size_t i = 0; i < campaign_ledger_members(l); i++) {
        const campaign_member *r = campaign_ledger_member(l, i);
        if (part_of(parts, nparts, r->slot) == NULL)
            continue;
        resp_str(c, r->campaign);
        resp_arg(c, r->creator, r->creator_len);
        resp_str(c, tier_of(cfg, r->tier));
        resp_int(c, r->followers);
        resp_int(c, r->engagements);
    }
    resp_int(c, (int64_t)nb);
    for (size_t i = 0; i < campaign_ledger_brands(l); i++) {
        const campaign_brand *r = campaign_ledger_brand_row(l, i);
        if (part_of(parts, nparts, r->slot) == NULL)
            continue;
        resp_arg(c, r->creator, r->creator_len);
        resp_str(c, r->brand);
        resp_str(c, r->sector);
        resp_int(c, r->posts);
        resp_int(c, r->last_ms);
    }
    emit(pl);
}

/*
 * The tally's row of a tier: row t + 1 for tier t, row 0 for "unknown"
 * (TIER_UNKNOWN is -1).
 */
static size_t tier_row(int tier)
{
    return (size_t)(tier + 1);
}

/*
 * The share deltas' table for nparts parts, zeroed, with the tiers named
 * as they are now.  Returns -1 when out of memory.
 */
static int share_reset(payload *pl, size_t nparts)
{
    const config *cfg = pl->cfg;
    pl->share_rows = cfg->ntiers + 1;
    pl->share_cols = SHARE_COL_ENGAGEMENTS + cfg->nwindows;
    size_t n = nparts * pl->share_rows * pl->share_cols;
    if (n > pl->share_cap) {
        int64_t *c = realloc(pl->share, n * sizeof *c);
        if (c == NULL)
            return -1;
        pl->share = c;
        pl->share_cap = n;
    }
    if (n > 0)
        memset(pl->share, 0, n * sizeof *pl->share);
    for (size_t r = 0; r < pl->share_rows; r++) {
        snprintf(pl->tname[r], sizeof pl->tname[r], "%s",
                 r == 0 ? "unknown" : cfg->tiers[r - 1].name);
        pl->tnames[r] = pl->tname[r];
    }
    return 0;
}

/* Adds sign times one creator (followers, window-major values) to part
 * i's share deltas, row `row`. */
static void share_delta(payload *pl, size_t i, size_t row, int sign,
                        int64_t followers, const int64_t *values)
{
    int64_t *r = pl->share + (i * pl->share_rows + row) * pl->share_cols;
    r[SHARE_COL_CREATORS] += sign;
    r[SHARE_COL_FOLLOWERS] += sign * (followers > 0 ? followers : 0);
    for (size_t w = 0; w + SHARE_COL_ENGAGEMENTS < pl->share_cols; w++)
        r[SHARE_COL_ENGAGEMENTS + w] +=
            sign * values[w * STATE_METRICS + STATE_ENGAGEMENTS];
}

/* Appends part i's share deltas to the finish script: the count of cells
 * not 0, then field and delta of each. */
static void share_args(payload *pl, resp_cmd *fin, size_t i)
{
    const int64_t *d = payload_share_delta(pl, i);
    size_t n = pl->share_rows * pl->share_cols, nz = 0;
    for (size_t k = 0; k < n; k++)
        nz += d[k] != 0;
    resp_int(fin, (int64_t)nz);
    for (size_t k = 0; k < n; k++) {
        if (d[k] == 0)
            continue;
        size_t r = k / pl->share_cols, c = k % pl->share_cols;
        buf_reset(&pl->tmp);
        buf_append_str(&pl->tmp, pl->tname[r]);
        buf_append_byte(&pl->tmp, '.');
        buf_append_str(&pl->tmp,
                       c == SHARE_COL_CREATORS    ? "creators"
                       : c == SHARE_COL_FOLLOWERS ? "followers"
                           : pl->fname[c - SHARE_COL_ENGAGEMENTS]
                                      [STATE_ENGAGEMENTS]);
        if (buf_failed(&pl->tmp))
            pl->data.failed = true;
        resp_arg(fin, pl->tmp.data, pl->tmp.len);
        resp_int(fin, d[k]);
    }
}

int payload_build(payload *pl, const state *st, const outbox *ob,
                  const payload_part *parts,
                  size_t nparts, char *errstr, size_t errstr_size)
{
    const config *cfg = pl->cfg;
    size_t nvalues = cfg->nwindows * STATE_METRICS;
    tally delta;
    int64_t *cur = malloc(nvalues * sizeof *cur);
    if (cur == NULL || share_reset(pl, nparts) < 0 ||
        tally_init(&delta, cfg->ntiers + 1, nvalues) < 0) {
        free(cur);
        snprintf(errstr, errstr_size, "out of memory building a checkpoint");
        return -1;
    }
    buf_reset(&pl->data);
    pl->ndata = 0;
    pl->ncreators = 0;
    buf_reset(&pl->precheck);
    pl->nprecheck = 0;
    resp_reset(&pl->exists);
    resp_reset(&pl->scratch);
    resp_str(&pl->scratch, "MULTI");
    emit(pl);

    resp_cmd *script = NULL;
    size_t total = count_creators(st, parts, nparts);
    for (size_t d = 0, i = 0; d < state_dirty_count(st); d++) {
        const state_creator *cr = state_dirty_get(st, d);
        const payload_part *p = part_of(parts, nparts, state_creator_slot(cr));
        if (p == NULL)
            continue;
        if (i % CREATORS_PER_SCRIPT == 0) {
            size_t left = total - i;
            script = script_cmd(pl, lua_creators, parts, nparts, false);
            resp_int(script, (int64_t)(left < CREATORS_PER_SCRIPT
                                           ? left
                                           : CREATORS_PER_SCRIPT));
            resp_reset(&pl->blobs);
            pl->nwakes = 0;
        }
        size_t pi = (size_t)(p - parts);
        creator_args(pl, script, st, cr, pi);

        int wtier;
        int64_t wfollowers;
        const int64_t *wvalues;
        /* The same deltas move the tier hashes and the partition's share
         * of them (share.h). */
        if (state_creator_written(st, cr, &wtier, &wfollowers, &wvalues)) {
            tally_add(&delta, tier_row(wtier), -1, wfollowers, wvalues);
            share_delta(pl, pi, tier_row(wtier), -1, wfollowers, wvalues);
        } else {
            precheck_key(pl, st, cr);
        }
        for (size_t w = 0; w < cfg->nwindows; w++)
            state_creator_values(st, cr, w, cur + w * STATE_METRICS);
        int64_t followers = state_creator_followers(cr);
        size_t row = tier_row(state_creator_tier(cr));
        tally_add(&delta, row, 1, followers, cur);
        share_delta(pl, pi, row, 1, followers, cur);
        if (++i % CREATORS_PER_SCRIPT == 0 || i == total) {
            creators_end(pl, script, parts);
            emit(pl);
        }
    }
    pl->ncreators = total;
    if (pl->exists.n > 1)
        precheck_emit(pl);
    if (pl->nprecheck > 0) {
        /* Last: the fence check (see lua_fence). */
        resp_reset(&pl->exists);
        resp_str(&pl->exists, "EVAL");
        resp_str(&pl->exists, lua_fence);
        resp_str(&pl->exists, "0");
        resp_str(&pl->exists, cfg->redis_prefix);
        resp_str(&pl->exists, cfg->group_id);
        fence_args(&pl->exists, &pl->tmp, parts, nparts, false);
        precheck_emit(pl);
    }
    campaign_args(pl, st, parts, nparts);
    resp_cmd *fin = script_cmd(pl, lua_finish, parts, nparts, true);
    resp_int(fin, (int64_t)cfg->nwindows);
    for (size_t w = 0; w < cfg->nwindows; w++)
        resp_str(fin, pl->wlabel[w]);
    size_t ntiers = 0;
    for (size_t t = 0; t < delta.nrows; t++)
        ntiers += tally_touched(&delta, t);
    resp_int(fin, (int64_t)ntiers);
    for (size_t t = 0; t < delta.nrows; t++) {
        if (!tally_touched(&delta, t))
            continue;
        const int64_t *row = tally_row(&delta, t);
        /* Every field, zeros included, so that a tier hash always has all
         * of them (HINCRBY by 0 creates a field at 0). */
        resp_str(fin, t == tier_row(TIER_UNKNOWN) ? "unknown"
                                                   : cfg->tiers[t - 1].name);
        resp_int(fin, (int64_t)delta.ncols);
        for (size_t k = 0; k < delta.ncols; k++) {
            size_t v = k - TALLY_COL_VALUES;
            resp_str(fin, k == TALLY_COL_CREATORS    ? "creators"
                          : k == TALLY_COL_FOLLOWERS ? "followers"
                                                     : pl->fname[v / STATE_METRICS]
                                                                [v % STATE_METRICS]);
            resp_int(fin, row[k]);
        }
    }
    for (size_t i = 0; i < nparts; i++)
        share_args(pl, fin, i);
    /* The alerts join the Redis stream in this same transaction: each
     * exactly once, whatever crashes and replays. */
    resp_int(fin, cfg->alerts_stream_maxlen);
    size_t nalerts = 0;
    for (size_t i = 0; i < outbox_count(ob); i++)
        nalerts += part_of(parts, nparts, outbox_get(ob, i)->slot) != NULL;
    resp_int(fin, (int64_t)nalerts);
    for (size_t i = 0; i < outbox_count(ob); i++) {
        const outbox_alert *a = outbox_get(ob, i);
        if (part_of(parts, nparts, a->slot) != NULL)
            resp_arg(fin, a->json, a->json_len);
    }
    emit(pl);
    resp_str(&pl->scratch, "EXEC");
    emit(pl);
    tally_free(&delta);
    free(cur);
    if (buf_failed(&pl->data) || buf_failed(&pl->precheck)) {
        snprintf(errstr, errstr_size, "out of memory building a checkpoint");
        return -1;
    }
    return 0;
}

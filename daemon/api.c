#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

#define MS_PER_DAY INT64_C(86400000)

/* The sums of a campaign (schemas/redis.md), in the answers' order. */
static const char *const sum_fields[] = {
    "posts", "sponsored_posts", "likes", "comments", "shares", "saves",
    "views", "clicks", "conversions", "engagements",
};
#define NSUMS (sizeof sum_fields / sizeof sum_fields[0])

/* A window's metrics (schemas/redis.md: <metric>_<window>). */
static const char *const window_fields[] = {
    "likes", "comments", "shares", "saves", "views", "clicks",
    "conversions", "engagements", "posts", "sponsored_posts",
};
#define NWINDOW_FIELDS (sizeof window_fields / sizeof window_fields[0])

void api_view_init(api_view *v, const config *cfg)
{
    memset(v, 0, sizeof *v);
    v->ntiers = cfg->ntiers;
    memcpy(v->tiers, cfg->tiers, cfg->ntiers * sizeof cfg->tiers[0]);
    v->nwindows = cfg->nwindows;
    memcpy(v->windows_ms, cfg->windows_ms,
           cfg->nwindows * sizeof cfg->windows_ms[0]);
}

bool api_is_api_path(const char *path)
{
    return strncmp(path, "/v1", 3) == 0 && (path[3] == 0 || path[3] == '/');
}

/* ------------------------------------------------------------------------
 * Requests
 */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long api_percent_decode(const char *s, size_t len, char *out,
                        size_t out_size)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int h = i + 1 < len ? hexval(s[i + 1]) : -1;
            int l = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (n + 1 >= out_size)
            return -1;
        out[n++] = c;
    }
    if (n >= out_size)
        return -1;
    out[n] = 0;
    return (long)n;
}

/* Parses a decimal parameter from 1 to max. */
static int int_arg(const char *name, const char *v, long max, long *out,
                   char *msg, size_t msg_size)
{
    size_t n = strlen(v);
    bool ok = n > 0 && n <= 7;
    for (size_t i = 0; ok && i < n; i++)
        ok = isdigit((unsigned char)v[i]);
    long x = ok ? strtol(v, NULL, 10) : 0;
    if (!ok || x < 1 || x > max) {
        snprintf(msg, msg_size,
                 "parameter \"%s\" must be an integer from 1 to %ld", name,
                 max);
        return -1;
    }
    *out = x;
    return 0;
}

/* Parses one part of a stream id: 1 to 20 digits that fit 64 bits. */
static bool id_part(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *out = x;
    return true;
}

/* Parses "MS-SEQ" or "MS" (MS-0). */
static bool stream_id(const char *s, uint64_t *ms, uint64_t *seq)
{
    const char *dash = strchr(s, '-');
    *seq = 0;
    if (dash == NULL)
        return id_part(s, strlen(s), ms);
    return id_part(s, (size_t)(dash - s), ms) &&
           id_part(dash + 1, strlen(dash + 1), seq);
}

char *api_after_id(const char *since, char *b, size_t size)
{
    uint64_t ms, seq;
    if (!stream_id(since, &ms, &seq))
        return NULL;
    if (seq == UINT64_MAX) {
        if (ms == UINT64_MAX)
            return NULL;
        ms++;
        seq = 0;
    } else {
        seq++;
    }
    snprintf(b, size, "%" PRIu64 "-%" PRIu64, ms, seq);
    return b;
}

/* The parameters each route takes, "" ended. */
static const char *const route_params[][3] = {
    [API_CAMPAIGNS] = {"limit", "", ""},
    [API_CAMPAIGN] = {"days", "top", ""},
    [API_CREATOR] = {"", "", ""},
    [API_TIERS] = {"", "", ""},
    [API_ALERTS] = {"since", "limit", ""},
};

static int parse_args(const api_arg *args, size_t nargs, api_request *req,
                      char *msg, size_t msg_size)
{
    const char *const *allowed = route_params[req->route];
    if (nargs > API_ARGS_MAX) {
        snprintf(msg, msg_size,
                 "too many query parameters (%zu; at most %d)", nargs,
                 API_ARGS_MAX);
        return 400;
    }
    bool seen[3] = {false, false, false};
    for (size_t i = 0; i < nargs; i++) {
        char key[32], val[64];
        long kn = api_percent_decode(args[i].key, strlen(args[i].key), key,
                                     sizeof key);
        int which = -1;
        for (int j = 0; kn > 0 && j < 3 && allowed[j][0]; j++)
            if (strcmp(key, allowed[j]) == 0)
                which = j;
        if (which < 0) {
            char names[64] = "";
            for (int j = 0; j < 3 && allowed[j][0]; j++) {
                strcat(names, j ? ", " : "");
                strcat(names, allowed[j]);
            }
            snprintf(msg, msg_size, "unknown query parameter%s%.*s%s (%s%s)",
                     kn > 0 ? " \"" : "", kn > 0 ? 24 : 0,
                     kn > 0 ? key : "", kn > 0 ? "\"" : "",
                     names[0] ? "this route takes: " : "this route takes none",
                     names);
            return 400;
        }
        if (seen[which]) {
            snprintf(msg, msg_size, "query parameter \"%s\" is repeated",
                     key);
            return 400;
        }
        seen[which] = true;
        const char *raw = args[i].value ? args[i].value : "";
        long vn = api_percent_decode(raw, strlen(raw), val, sizeof val);
        if (vn <= 0) {
            snprintf(msg, msg_size,
                     "query parameter \"%s\" is %s", key,
                     vn == 0 ? "empty" : "badly encoded or too long");
            return 400;
        }
        int rc = 0;
        if (strcmp(key, "limit") == 0)
            rc = int_arg(key, val, API_LIMIT_MAX, &req->limit, msg, msg_size);
        else if (strcmp(key, "days") == 0)
            rc = int_arg(key, val, API_DAYS_MAX, &req->days, msg, msg_size);
        else if (strcmp(key, "top") == 0)
            rc = int_arg(key, val, API_TOP_MAX, &req->top, msg, msg_size);
        else if (strcmp(key, "since") == 0) {
            uint64_t ms, seq;
            if (strlen(val) >= sizeof req->since || !stream_id(val, &ms, &seq)) {
                snprintf(msg, msg_size,
                         "parameter \"since\" must be a stream id, MS-SEQ "
                         "or MS (digits, each part at most 20)");
                return 400;
            }
            snprintf(req->since, sizeof req->since, "%s", val);
        }
        if (rc < 0)
            return 400;
    }
    return 0;
}

int api_parse(const char *path, const api_arg *args, size_t nargs,
              api_request *req, char *msg, size_t msg_size)
{
    memset(req, 0, sizeof *req);
    req->limit = API_CAMPAIGNS_LIMIT;
    req->days = API_DAYS;
    req->top = API_TOP;
    const char *rest = NULL;
    if (strcmp(path, "/v1/campaigns") == 0) {
        req->route = API_CAMPAIGNS;
    } else if (strncmp(path, "/v1/campaigns/", 14) == 0) {
        req->route = API_CAMPAIGN;
        rest = path + 14;
    } else if (strncmp(path, "/v1/creators/", 13) == 0) {
        req->route = API_CREATOR;
        rest = path + 13;
    } else if (strcmp(path, "/v1/tiers") == 0) {
        req->route = API_TIERS;
    } else if (strcmp(path, "/v1/alerts") == 0) {
        req->route = API_ALERTS;
        req->limit = API_ALERTS_LIMIT;
    } else {
        snprintf(msg, msg_size,
                 "no such route (the API has /v1/campaigns, "
                 "/v1/campaigns/{id}, /v1/creators/{id}, /v1/tiers and "
                 "/v1/alerts)");
        return 404;
    }
    if (rest != NULL) {
        /* One segment: an id with a "/" in it comes as %2F. */
        if (rest[0] == 0 || strchr(rest, '/') != NULL) {
            snprintf(msg, msg_size,
                     "no such route (an id is one path segment, "
                     "percent-encoded)");
            return 404;
        }
        long n = api_percent_decode(rest, strlen(rest), req->id,
                                    sizeof req->id);
        if (n < 0) {
            snprintf(msg, msg_size,
                     "the id is badly percent-encoded or longer than %d "
                     "characters",
                     EVENT_ID_MAX_CHARS);
            return 400;
        }
        req->id_len = (size_t)n;
        char detail[160];
        if (!event_check_id("id", req->id, req->id_len, detail,
                            sizeof detail)) {
            snprintf(msg, msg_size, "bad id: %s", detail);
            return 400;
        }
    }
    return parse_args(args, nargs, req, msg, msg_size);
}

const char *api_error_type(unsigned status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 414: return "uri_too_long";
    case 503: return "unavailable";
    default: return "internal";
    }
}

static int dump_to_buf(const char *s, size_t n, void *data)
{
    buf *b = data;
    buf_append(b, s, n);
    return buf_failed(b) ? -1 : 0;
}

/* Dumps v into out (reset first), compact, ratios with 10 significant
 * digits as Redis holds them; takes v over. */
static int dump(buf *out, json_t *v)
{
    buf_reset(out);
    if (v == NULL)
        return -1;
    int rc = json_dump_callback(v, dump_to_buf, out,
                                JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(v);
    if (rc == 0)
        buf_append_byte(out, '\n');
    if (rc < 0 || buf_failed(out)) {
        /* Never half an answer. */
        buf_reset(out);
        return -1;
    }
    return 0;
}

int api_error_body(buf *out, unsigned status, const char *msg)
{
    return dump(out, json_pack("{s:s,s:s,s:s}", "status", "error",
                               "errorType", api_error_type(status), "error",
                               msg));
}

int api_success_body(buf *out, json_t *data)
{
    if (data == NULL) {
        buf_reset(out);
        return -1;
    }
    /* "o" steals data even when json_pack fails. */
    return dump(out, json_pack("{s:s,s:o}", "status", "success", "data",
                               data));
}

/* ------------------------------------------------------------------------
 * Replies
 */

static bool is_array(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_ARRAY;
}

static bool is_str(const redisReply *r)
{
    return r != NULL &&
           (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/* The value of `field` in HGETALL's reply h, or NULL. */
static const redisReply *hash_get(const redisReply *h, const char *field)
{
    if (!is_array(h))
        return NULL;
    size_t n = strlen(field);
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const redisReply *k = h->element[i];
        if (is_str(k) && k->len == n && memcmp(k->str, field, n) == 0)
            return is_str(h->element[i + 1]) ? h->element[i + 1] : NULL;
    }
    return NULL;
}

/* A reply string as an integer; false when absent or not one. */
static bool reply_int(const redisReply *r, long long *out)
{
    if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
        *out = r->integer;
        return true;
    }
    if (!is_str(r) || r->len == 0 || r->len > 24)
        return false;
    char tmp[32];
    memcpy(tmp, r->str, r->len);
    tmp[r->len] = 0;
    char *end;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (errno != 0 || *end != 0)
        return false;
    *out = x;
    return true;
}

/* A score (ZRANGE ... WITHSCORES) as an integer. */
static bool reply_score(const redisReply *r, long long *out)
{
    if (!is_str(r) || r->len == 0 || r->len > 40)
        return false;
    char tmp[48];
    memcpy(tmp, r->str, r->len);
    tmp[r->len] = 0;
    char *end;
    double d = strtod(tmp, &end);
    if (*end != 0 || !isfinite(d) || d < -9e18 || d > 9e18)
        return false;
    *out = llround(d);
    return true;
}

static bool reply_real(const redisReply *r, double *out)
{
    if (!is_str(r) || r->len == 0 || r->len > 40)
        return false;
    char tmp[48];
    memcpy(tmp, r->str, r->len);
    tmp[r->len] = 0;
    char *end;
    double d = strtod(tmp, &end);
    if (*end != 0 || !isfinite(d))
        return false;
    *out = d;
    return true;
}

/* Sets o[k] = v, taking v over; false when v is NULL or out of memory. */
static bool put(json_t *o, const char *k, json_t *v)
{
    return v != NULL && json_object_set_new(o, k, v) == 0;
}

static bool push(json_t *a, json_t *v)
{
    return v != NULL && json_array_append_new(a, v) == 0;
}

/* o[k] = the integer field `field` of h (0 when absent). */
static bool put_count(json_t *o, const char *k, const redisReply *h,
                      const char *field)
{
    long long x = 0;
    reply_int(hash_get(h, field), &x);
    return put(o, k, json_integer(x));
}

/* o[k] = the ratio field `field` of h, or null when absent. */
static bool put_ratio(json_t *o, const char *k, const redisReply *h,
                      const char *field)
{
    double d;
    if (reply_real(hash_get(h, field), &d))
        return put(o, k, json_real(d));
    return put(o, k, json_null());
}

/* The sums (and conversion_rate) of h under tier prefix pre ("" or
 * "micro."), into o. */
static bool put_sums(json_t *o, const redisReply *h, const char *pre)
{
    char f[CONFIG_TIER_NAME_MAX + 40];
    bool ok = true;
    for (size_t i = 0; i < NSUMS; i++) {
        snprintf(f, sizeof f, "%s%s", pre, sum_fields[i]);
        ok = ok && put_count(o, sum_fields[i], h, f);
    }
    snprintf(f, sizeof f, "%sconversion_rate", pre);
    return ok && put_ratio(o, "conversion_rate", h, f);
}

/* The sums, creators, reach and er of h under pre. */
static bool put_figures(json_t *o, const redisReply *h, const char *pre)
{
    char f[CONFIG_TIER_NAME_MAX + 40];
    bool ok = put_sums(o, h, pre);
    snprintf(f, sizeof f, "%screators", pre);
    ok = ok && put_count(o, "creators", h, f);
    snprintf(f, sizeof f, "%sreach", pre);
    ok = ok && put_count(o, "reach", h, f);
    snprintf(f, sizeof f, "%ser", pre);
    return ok && put_ratio(o, "er", h, f);
}

static json_t *str_json(const redisReply *r)
{
    return json_stringn(r->str, r->len);
}

bool api_campaign_exists(const redisReply *hash)
{
    return hash_get(hash, "last_ms") != NULL;
}

/* first_ms and last_ms of a campaign (0 when absent). */
static void campaign_span(const redisReply *h, long long *first,
                          long long *last)
{
    *first = *last = 0;
    reply_int(hash_get(h, "first_ms"), first);
    reply_int(hash_get(h, "last_ms"), last);
    if (*first < 0)
        *first = 0;
    if (*last < *first)
        *last = *first;
}

json_t *api_campaigns(const redisReply *ids, const redisReply *const *hashes,
                      long long total)
{
    json_t *list = json_array();
    json_t *data = json_pack("{s:I,s:o}", "total", (json_int_t)total,
                             "campaigns", list);
    if (data == NULL)
        return NULL;
    bool ok = true;
    for (size_t i = 0; ok && is_array(ids) && i < ids->elements; i++) {
        const redisReply *id = ids->element[i], *h = hashes[i];
        if (!is_str(id) || !api_campaign_exists(h))
            continue;
        long long first, last;
        campaign_span(h, &first, &last);
        json_t *c = json_object();
        ok = c != NULL && put(c, "id", str_json(id)) &&
             put(c, "first_ms", json_integer(first)) &&
             put(c, "last_ms", json_integer(last)) && put_figures(c, h, "");
        ok = push(list, c) && ok;
    }
    if (!ok) {
        json_decref(data);
        return NULL;
    }
    return data;
}

static int64_t day_of(int64_t ms)
{
    return ms >= 0 ? ms / MS_PER_DAY : -((-ms + MS_PER_DAY - 1) / MS_PER_DAY);
}

size_t api_campaign_days(const api_request *req, int64_t first_ms,
                         int64_t last_ms, int64_t *first)
{
    int64_t d0 = day_of(first_ms), d1 = day_of(last_ms);
    if (d1 < d0)
        d1 = d0;
    int64_t start = d1 - (req->days - 1);
    if (start < d0)
        start = d0;
    *first = start;
    return (size_t)(d1 - start + 1);
}

char *api_day_name(int64_t day, char *b, size_t size)
{
    char t[40];
    timefmt_format_rfc3339(day * MS_PER_DAY, t, sizeof t);
    snprintf(b, size, "%.10s", t);
    return b;
}

/* Whether h has a field starting with "<tier>.". */
static bool has_tier(const redisReply *h, const char *tier)
{
    if (!is_array(h))
        return false;
    size_t n = strlen(tier);
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const redisReply *k = h->element[i];
        if (is_str(k) && k->len > n && k->str[n] == '.' &&
            memcmp(k->str, tier, n) == 0)
            return true;
    }
    return false;
}

static bool tier_entry(json_t *tiers, const redisReply *h, const char *name)
{
    char pre[CONFIG_TIER_NAME_MAX + 2];
    snprintf(pre, sizeof pre, "%s.", name);
    json_t *t = json_object();
    bool ok = t != NULL && put(t, "tier", json_string(name)) &&
              put_figures(t, h, pre);
    return push(tiers, t) && ok;
}

/* The tiers of a campaign: v's, "unknown" when present, then any other
 * tier name its fields carry (a tier no longer configured). */
static json_t *campaign_tiers(const api_view *v, const redisReply *h)
{
    json_t *tiers = json_array();
    bool ok = tiers != NULL;
    for (size_t i = 0; ok && i < v->ntiers; i++)
        ok = tier_entry(tiers, h, v->tiers[i].name);
    if (ok && has_tier(h, "unknown"))
        ok = tier_entry(tiers, h, "unknown");
    for (size_t i = 0; ok && is_array(h) && i + 1 < h->elements; i += 2) {
        const redisReply *k = h->element[i];
        const char *dot = is_str(k) ? memchr(k->str, '.', k->len) : NULL;
        if (dot == NULL || dot == k->str ||
            (size_t)(dot - k->str) > CONFIG_TIER_NAME_MAX)
            continue;
        char name[CONFIG_TIER_NAME_MAX + 1];
        size_t n = (size_t)(dot - k->str);
        memcpy(name, k->str, n);
        name[n] = 0;
        bool known = strcmp(name, "unknown") == 0;
        for (size_t j = 0; !known && j < v->ntiers; j++)
            known = strcmp(name, v->tiers[j].name) == 0;
        /* Listed already when an earlier field had it. */
        for (size_t j = 0; !known && j < json_array_size(tiers); j++)
            known = strcmp(name, json_string_value(json_object_get(
                                     json_array_get(tiers, j), "tier"))) == 0;
        if (!known)
            ok = tier_entry(tiers, h, name);
    }
    if (!ok) {
        json_decref(tiers);
        return NULL;
    }
    return tiers;
}

json_t *api_campaign(const api_view *v, const api_request *req,
                     const redisReply *hash, int64_t first_day,
                     const redisReply *const *days, size_t ndays,
                     const redisReply *top,
                     const redisReply *const *creators)
{
    long long first, last;
    campaign_span(hash, &first, &last);
    json_t *data = json_object(), *totals = json_object();
    bool ok = data != NULL && totals != NULL &&
              put(data, "id", json_stringn(req->id, req->id_len)) &&
              put(data, "first_ms", json_integer(first)) &&
              put(data, "last_ms", json_integer(last)) &&
              put_figures(totals, hash, "");
    ok = put(data, "totals", totals) && ok;
    ok = ok && put(data, "tiers", campaign_tiers(v, hash));
    json_t *dl = json_array();
    ok = put(data, "days", dl) && ok;
    for (size_t i = 0; ok && i < ndays; i++) {
        char name[16];
        json_t *d = json_object();
        ok = d != NULL &&
             put(d, "date", json_string(api_day_name(first_day + (int64_t)i,
                                                     name, sizeof name))) &&
             put_sums(d, days[i], "");
        ok = push(dl, d) && ok;
    }
    json_t *tl = json_array();
    ok = put(data, "top_creators", tl) && ok;
    for (size_t i = 0; ok && is_array(top) && i + 1 < top->elements; i += 2) {
        const redisReply *id = top->element[i];
        long long score = 0;
        if (!is_str(id))
            continue;
        reply_score(top->element[i + 1], &score);
        const redisReply *c = creators != NULL ? creators[i / 2] : NULL;
        const redisReply *tier = NULL, *fol = NULL;
        if (is_array(c) && c->elements == 2) {
            tier = is_str(c->element[0]) ? c->element[0] : NULL;
            fol = c->element[1];
        }
        long long followers;
        json_t *e = json_object();
        ok = e != NULL && put(e, "creator_id", str_json(id)) &&
             put(e, "engagements", json_integer(score)) &&
             put(e, "tier", tier ? str_json(tier) : json_null()) &&
             put(e, "followers", reply_int(fol, &followers)
                                     ? json_integer(followers)
                                     : json_null());
        ok = push(tl, e) && ok;
    }
    if (!ok) {
        json_decref(data);
        return NULL;
    }
    return data;
}

/* The windows of a creator's or a tier's hash h. */
static json_t *windows_json(const api_view *v, const redisReply *h)
{
    json_t *wl = json_array();
    bool ok = wl != NULL;
    for (size_t i = 0; ok && i < v->nwindows; i++) {
        char wn[24], f[64];
        timefmt_format_window(v->windows_ms[i], wn, sizeof wn);
        json_t *w = json_object();
        ok = w != NULL && put(w, "window", json_string(wn));
        for (size_t j = 0; ok && j < NWINDOW_FIELDS; j++) {
            snprintf(f, sizeof f, "%s_%s", window_fields[j], wn);
            ok = put_count(w, window_fields[j], h, f);
        }
        snprintf(f, sizeof f, "er_%s", wn);
        ok = ok && put_ratio(w, "er", h, f);
        ok = push(wl, w) && ok;
    }
    if (!ok) {
        json_decref(wl);
        return NULL;
    }
    return wl;
}

json_t *api_creator(const api_view *v, const api_request *req,
                    const redisReply *hash, const redisReply *brands,
                    const redisReply *brand_posts,
                    const redisReply *sectors, bool *found)
{
    *found = (is_array(hash) && hash->elements > 0) ||
             (is_array(brands) && brands->elements > 0) ||
             (is_array(sectors) && sectors->elements > 0);
    if (!*found)
        return NULL;
    const redisReply *tier = hash_get(hash, "tier");
    long long followers, last;
    bool has_followers = reply_int(hash_get(hash, "followers"), &followers);
    bool has_last = reply_int(hash_get(hash, "last_event_ms"), &last);
    json_t *data = json_object();
    bool ok = data != NULL &&
              put(data, "id", json_stringn(req->id, req->id_len)) &&
              put(data, "tier", tier ? str_json(tier) : json_string("unknown")) &&
              put(data, "followers",
                  has_followers ? json_integer(followers) : json_null()) &&
              put(data, "last_event_ms",
                  has_last ? json_integer(last) : json_null()) &&
              put(data, "windows", windows_json(v, hash));
    json_t *bl = json_array();
    ok = put(data, "brands", bl) && ok;
    for (size_t i = 0; ok && is_array(brands) && i + 1 < brands->elements;
         i += 2) {
        const redisReply *b = brands->element[i];
        long long ts = 0, posts = 0;
        if (!is_str(b) || b->len == 0)
            continue;
        reply_score(brands->element[i + 1], &ts);
        reply_int(hash_get(brand_posts, b->str), &posts);
        json_t *e = json_object();
        ok = e != NULL && put(e, "brand", str_json(b)) &&
             put(e, "posts", json_integer(posts)) &&
             put(e, "last_ms", json_integer(ts < 0 ? 0 : ts));
        ok = push(bl, e) && ok;
    }
    json_t *sl = json_array();
    ok = put(data, "sectors", sl) && ok;
    for (size_t i = 0; ok && is_array(sectors) && i + 1 < sectors->elements;
         i += 2) {
        const redisReply *s = sectors->element[i];
        long long ts = 0;
        if (!is_str(s) || s->len == 0)
            continue;
        reply_score(sectors->element[i + 1], &ts);
        json_t *e = json_object();
        ok = e != NULL && put(e, "sector", str_json(s)) &&
             put(e, "last_ms", json_integer(ts < 0 ? 0 : ts));
        ok = push(sl, e) && ok;
    }
    if (!ok) {
        json_decref(data);
        return NULL;
    }
    return data;
}

static bool tier_json(json_t *list, const api_view *v, const char *name,
                      const config_tier *t, const redisReply *h)
{
    json_t *e = json_object();
    bool ok = e != NULL && put(e, "tier", json_string(name)) &&
              put(e, "min_followers", t ? json_integer(t->min_followers)
                                        : json_null()) &&
              put_count(e, "creators", h, "creators") &&
              put_count(e, "followers", h, "followers") &&
              put(e, "windows", windows_json(v, h));
    return push(list, e) && ok;
}

json_t *api_tiers(const api_view *v, const redisReply *const *hashes)
{
    json_t *list = json_array();
    json_t *data = json_pack("{s:o}", "tiers", list);
    bool ok = data != NULL;
    for (size_t i = 0; ok && i < v->ntiers; i++)
        ok = tier_json(list, v, v->tiers[i].name, &v->tiers[i], hashes[i]);
    ok = ok && tier_json(list, v, "unknown", NULL, hashes[v->ntiers]);
    if (!ok) {
        json_decref(data);
        return NULL;
    }
    return data;
}

json_t *api_alerts(const api_request *req, const redisReply *entries,
                   bool newest_first)
{
    json_t *list = json_array();
    json_t *data = json_pack("{s:o}", "alerts", list);
    bool ok = data != NULL;
    const redisReply *last = NULL;
    size_t n = is_array(entries) ? entries->elements : 0;
    for (size_t k = 0; ok && k < n; k++) {
        const redisReply *e = entries->element[newest_first ? n - 1 - k : k];
        if (!is_array(e) || e->elements != 2 || !is_str(e->element[0]))
            continue;
        const redisReply *a = hash_get(e->element[1], "alert");
        if (a == NULL)
            continue;
        json_t *alert = json_loadb(a->str, a->len, 0, NULL);
        if (!json_is_object(alert)) {
            json_decref(alert);
            continue;
        }
        json_t *item = json_object();
        if (item == NULL)
            json_decref(alert);
        /* put() takes alert over, even when it fails. */
        if (item == NULL || !put(item, "alert", alert)) {
            json_decref(item);
            ok = false;
            break;
        }
        ok = put(item, "id", str_json(e->element[0]));
        ok = push(list, item) && ok;
        last = e->element[0];
    }
    json_t *last_id = last ? str_json(last)
                     : req->since[0] ? json_string(req->since)
                                     : json_null();
    ok = ok && put(data, "last_id", last_id);
    if (!ok) {
        json_decref(data);
        return NULL;
    }
    return data;
}

/*
 * api: the read API's pure core (issue 19; schemas/api.openapi.yaml is the
 * contract).  It turns a request's path and query into an api_request or
 * a JSON error, and Redis's replies into the JSON answers.  It never
 * touches the network: daemon/reader.c asks Redis and calls these, and
 * daemon/http.c serves the result.
 *
 * Replies are hiredis's redisReply values as Redis sent them (HGETALL's
 * field/value array, ZREVRANGE ... WITHSCORES, XRANGE entries); a reply
 * that is not of the expected shape counts as empty.
 *
 * Pure; any thread.
 */
#ifndef ENGAGED_API_H
#define ENGAGED_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "buf.h"
#include "config.h"
#include "event.h"

/* The longest request target (path and query) served: longer is 414. */
#define API_TARGET_MAX 4096
/* At most this many query parameters: more is 400. */
#define API_ARGS_MAX 16

/* Bounds of the query parameters (schemas/api.openapi.yaml). */
#define API_LIMIT_MAX 1000
#define API_CAMPAIGNS_LIMIT 50
#define API_ALERTS_LIMIT 100
#define API_DAYS_MAX 366
#define API_DAYS 31
#define API_TOP_MAX 100
#define API_TOP 20
/* Brands and sectors listed for a creator, the latest first. */
#define API_BRANDS_MAX 1000

typedef enum api_route {
    API_CAMPAIGNS = 0, /* GET /v1/campaigns */
    API_CAMPAIGN,      /* GET /v1/campaigns/{id} */
    API_CREATOR,       /* GET /v1/creators/{id} */
    API_TIERS,         /* GET /v1/tiers */
    API_ALERTS         /* GET /v1/alerts */
} api_route;

/* A query parameter as it came, still percent-encoded. */
typedef struct api_arg {
    const char *key;
    const char *value;  /* "" for "?key" and "?key=" */
} api_arg;

/* A request that api_parse() accepted. */
typedef struct api_request {
    api_route route;
    char id[EVENT_ID_MAX + 1];  /* decoded, for API_CAMPAIGN, API_CREATOR */
    size_t id_len;
    long limit;                 /* API_CAMPAIGNS, API_ALERTS */
    long days, top;             /* API_CAMPAIGN */
    char since[48];             /* API_ALERTS: a stream id, "" for none */
} api_request;

/* What the answers need of the configuration, copied at start so that a
 * reload (which edits the running config in place) never races a request.
 * Tiers smallest first; windows shortest first. */
typedef struct api_view {
    config_tier tiers[CONFIG_MAX_TIERS];
    size_t ntiers;
    int64_t windows_ms[CONFIG_MAX_WINDOWS];
    size_t nwindows;
} api_view;

/* Copies what the answers need of cfg into *v. */
void api_view_init(api_view *v, const config *cfg);

/* Whether path belongs to the API ("/v1" or under "/v1/"). */
bool api_is_api_path(const char *path);

/*
 * Parses a request of the API.
 *   path:  the request's path as it came (percent-encoded, no query).
 *   args:  its query parameters, nargs of them (at most API_ARGS_MAX are
 *          looked at: more is an error).
 *   req:   filled on success.
 *   msg:   on failure, the error sentence for the JSON body.
 * Returns 0, or the HTTP status: 400 (a parameter unknown, repeated, empty
 * or out of range, too many of them; an id that is badly encoded or breaks
 * the event rules) or 404 (no such route).
 */
int api_parse(const char *path, const api_arg *args, size_t nargs,
              api_request *req, char *msg, size_t msg_size);

/*
 * Decodes the percent-encoding of s (len bytes) into out (out_size bytes,
 * NUL-terminated), "+" left as it is.  Returns the decoded length, or -1
 * when a "%" is not followed by two hex digits, or the result (and its
 * NUL) does not fit.
 */
long api_percent_decode(const char *s, size_t len, char *out,
                        size_t out_size);

/* The errorType of an HTTP status ("bad_request" for 400, ...). */
const char *api_error_type(unsigned status);

/*
 * out = {"status":"error","errorType":...,"error":msg}.  out is reset
 * first.  Returns 0, or -1 when out of memory (out failed).
 */
int api_error_body(buf *out, unsigned status, const char *msg);

/*
 * out = {"status":"success","data":data}, compact; takes data over
 * (freed, even on failure).  Returns 0, or -1 when out of memory (data is
 * NULL counts as out of memory), out then empty: never half an answer.
 */
int api_success_body(buf *out, json_t *data);

/* ---- answers: each returns a new JSON value (the "data" member), or NULL
 * when out of memory. */

/*
 * /v1/campaigns.
 *   ids:    ZREVRANGE <prefix>campaigns 0 limit-1 (members).
 *   hashes: HGETALL <prefix>campaign:<id> for each, in the same order; a
 *           campaign whose hash is gone (expired) is left out.
 *   total:  ZCARD <prefix>campaigns.
 */
json_t *api_campaigns(const redisReply *ids, const redisReply *const *hashes,
                      long long total);

/*
 * The UTC days /v1/campaigns/{id} shows: *first, the epoch day of the
 * series' first day, and the number of days.  last_ms and first_ms are
 * the campaign's; the series ends with last_ms's day, holds at most
 * req->days days and starts no earlier than first_ms's day.
 */
size_t api_campaign_days(const api_request *req, int64_t first_ms,
                         int64_t last_ms, int64_t *first);

/* "YYYY-MM-DD" of epoch day `day` into b (11 bytes at least).  Returns b. */
char *api_day_name(int64_t day, char *b, size_t size);

/*
 * /v1/campaigns/{id}.
 *   hash:     HGETALL <prefix>campaign:<id> (not empty: the caller answers
 *             404 first).
 *   first_day, days, ndays: api_campaign_days() and HGETALL
 *             <prefix>campaign_day:<id>:<day> of each day.
 *   top:      ZREVRANGE <prefix>campaign_creators:<id> 0 top-1 WITHSCORES.
 *   creators: HMGET <prefix>creator:<c> tier followers of each of top's
 *             creators, in the same order.
 */
json_t *api_campaign(const api_view *v, const api_request *req,
                     const redisReply *hash, int64_t first_day,
                     const redisReply *const *days, size_t ndays,
                     const redisReply *top,
                     const redisReply *const *creators);

/* Whether a campaign's HGETALL says it exists (has last_ms). */
bool api_campaign_exists(const redisReply *hash);

/*
 * /v1/creators/{id}.
 *   hash:        HGETALL <prefix>creator:<id>.
 *   brands:      ZREVRANGE <prefix>creator_brands:<id> 0 API_BRANDS_MAX-1
 *                WITHSCORES.
 *   brand_posts: HGETALL <prefix>creator_brand_posts:<id>.
 *   sectors:     ZREVRANGE <prefix>creator_sectors:<id> 0
 *                API_BRANDS_MAX-1 WITHSCORES.
 * *found is false (and NULL returned) when the creator has neither a hash
 * nor a brand history: 404.
 */
json_t *api_creator(const api_view *v, const api_request *req,
                    const redisReply *hash, const redisReply *brands,
                    const redisReply *brand_posts,
                    const redisReply *sectors, bool *found);

/*
 * /v1/tiers.  hashes: HGETALL <prefix>tier:<name> of v's tiers in order,
 * then of "unknown" (v->ntiers + 1 replies).
 */
json_t *api_tiers(const api_view *v, const redisReply *const *hashes);

/*
 * /v1/alerts.
 *   entries:  XRANGE (with since) or XREVRANGE (without) of <prefix>alerts
 *             with COUNT limit; newest_first says which.
 * Entries whose `alert` field is not a JSON object are left out (engaged
 * never writes one).
 */
json_t *api_alerts(const api_request *req, const redisReply *entries,
                   bool newest_first);

/* The first stream id after `since` (a checked "MS-SEQ" or "MS", which
 * is MS-0): "5-3" gives "5-4", "5-18446744073709551615" gives "6-0"; into
 * b, for XRANGE's start.  Returns b, or NULL when since is the last id
 * there can be (nothing comes after it). */
char *api_after_id(const char *since, char *b, size_t size);

#endif

/*
 * api: the read API's pure core (daemon/api.h): requests in, JSON out of
 * Redis replies.  Replies are made by hiredis's own reader from RESP text,
 * as they come off the wire.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"

/* A reply parsed from RESP text (owned by the caller). */
static redisReply *resp(const char *text)
{
    redisReader *r = redisReaderCreate();
    cr_assert_not_null(r);
    cr_assert_eq(redisReaderFeed(r, text, strlen(text)), REDIS_OK);
    void *rep = NULL;
    cr_assert_eq(redisReaderGetReply(r, &rep), REDIS_OK);
    cr_assert_not_null(rep, "incomplete RESP: %s", text);
    redisReaderFree(r);
    return rep;
}

/* RESP of a flat array of bulk strings (NULL ends the list). */
static char *resp_array(const char *first, ...)
{
    static char out[8192];
    const char *items[128];
    size_t n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s != NULL && n < 128; s = va_arg(ap, const char *))
        items[n++] = s;
    va_end(ap);
    int len = snprintf(out, sizeof out, "*%zu\r\n", n);
    for (size_t i = 0; i < n; i++)
        len += snprintf(out + len, sizeof out - (size_t)len, "$%zu\r\n%s\r\n",
                        strlen(items[i]), items[i]);
    return out;
}

static int parse(const char *path, const char *k1, const char *v1,
                 api_request *req, char *msg)
{
    api_arg a[1] = {{k1, v1}};
    return api_parse(path, a, k1 ? 1 : 0, req, msg, 256);
}

Test(api, routes_and_defaults)
{
    api_request q;
    char msg[256];
    cr_assert_eq(parse("/v1/campaigns", NULL, NULL, &q, msg), 0);
    cr_assert_eq(q.route, API_CAMPAIGNS);
    cr_assert_eq(q.limit, 50);
    cr_assert_eq(parse("/v1/alerts", NULL, NULL, &q, msg), 0);
    cr_assert_eq(q.route, API_ALERTS);
    cr_assert_eq(q.limit, 100);
    cr_assert_str_empty(q.since);
    cr_assert_eq(parse("/v1/tiers", NULL, NULL, &q, msg), 0);
    cr_assert_eq(q.route, API_TIERS);
    cr_assert_eq(parse("/v1/campaigns/x%3A2026-01-01", "days", "7", &q, msg), 0);
    cr_assert_eq(q.route, API_CAMPAIGN);
    cr_assert_str_eq(q.id, "x:2026-01-01");
    cr_assert_eq(q.id_len, 12);
    cr_assert_eq(q.days, 7);
    cr_assert_eq(q.top, 20);
    /* "+" stays "+"; %2F is a "/" inside the one segment. */
    cr_assert_eq(parse("/v1/creators/a+b%2Fc", NULL, NULL, &q, msg), 0);
    cr_assert_eq(q.route, API_CREATOR);
    cr_assert_str_eq(q.id, "a+b/c");
    /* UTF-8 ids of 128 characters are fine. */
    char path[1200] = "/v1/creators/";
    for (int i = 0; i < 128; i++)
        strcat(path, "%C3%A9");
    cr_assert_eq(parse(path, NULL, NULL, &q, msg), 0, "%s", msg);
    cr_assert_eq(q.id_len, 256);
    cr_assert_eq(parse("/v1/alerts", "since", "1700000000000-3", &q, msg), 0);
    cr_assert_str_eq(q.since, "1700000000000-3");
}

Test(api, what_is_not_a_route_is_404)
{
    api_request q;
    char msg[256];
    const char *paths[] = {"/v1", "/v1/", "/v1/campaigns/", "/v1/campaigns/a/b",
                           "/v1/creators", "/v1/creators/", "/v1/tiers/x",
                           "/v1/alerts/", "/v1/CAMPAIGNS", "/v1/../etc/passwd",
                           "/v1/campaigns/../../x"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        cr_expect_eq(parse(paths[i], NULL, NULL, &q, msg), 404, "%s", paths[i]);
    cr_assert(api_is_api_path("/v1"));
    cr_assert(api_is_api_path("/v1/x"));
    cr_assert_not(api_is_api_path("/v10"));
    cr_assert_not(api_is_api_path("/"));
    cr_assert_not(api_is_api_path("/metrics"));
}

Test(api, bad_ids_and_parameters_are_400_with_a_reason)
{
    api_request q;
    char msg[256];
    struct {
        const char *path, *k, *v, *says;
    } cases[] = {
        {"/v1/campaigns/%", NULL, NULL, "percent-encoded"},
        {"/v1/campaigns/%4", NULL, NULL, "percent-encoded"},
        {"/v1/campaigns/%G0", NULL, NULL, "percent-encoded"},
        {"/v1/campaigns/a%00b", NULL, NULL, "NUL"},
        {"/v1/campaigns/a%01b", NULL, NULL, "control character U+0001"},
        {"/v1/campaigns/a%7F", NULL, NULL, "control character U+007F"},
        {"/v1/campaigns/a%C2%85", NULL, NULL, "control character U+0085"},
        {"/v1/campaigns/%FF", NULL, NULL, "UTF-8"},
        {"/v1/campaigns/%C0%AF", NULL, NULL, "UTF-8"},
        {"/v1/campaigns/%ED%A0%80", NULL, NULL, "UTF-8"},
        {"/v1/campaigns", "limit", "0", "from 1 to 1000"},
        {"/v1/campaigns", "limit", "1001", "from 1 to 1000"},
        {"/v1/campaigns", "limit", "-1", "from 1 to 1000"},
        {"/v1/campaigns", "limit", "1e3", "from 1 to 1000"},
        {"/v1/campaigns", "limit", "99999999999999999999", "from 1 to 1000"},
        {"/v1/campaigns", "limit", "", "empty"},
        {"/v1/campaigns", "limit", "%zz", "badly encoded"},
        {"/v1/campaigns", "days", "3", "unknown query parameter \"days\""},
        {"/v1/campaigns/x", "days", "367", "from 1 to 366"},
        {"/v1/campaigns/x", "top", "101", "from 1 to 100"},
        {"/v1/tiers", "limit", "3", "takes none"},
        {"/v1/creators/c", "x", "1", "unknown"},
        {"/v1/alerts", "since", "abc", "stream id"},
        {"/v1/alerts", "since", "1-2-3", "stream id"},
        {"/v1/alerts", "since", "18446744073709551616", "stream id"},
        {"/v1/alerts", "since", "-1", "stream id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msg[0] = 0;
        cr_expect_eq(parse(cases[i].path, cases[i].k, cases[i].v, &q, msg), 400,
                     "%s ?%s=%s", cases[i].path, cases[i].k, cases[i].v);
        cr_expect(strstr(msg, cases[i].says) != NULL, "%s ?%s=%s: \"%s\"",
                  cases[i].path, cases[i].k, cases[i].v, msg);
    }
    /* 129 characters. */
    char path[400] = "/v1/creators/";
    for (int i = 0; i < 129; i++)
        strcat(path, "a");
    cr_assert_eq(parse(path, NULL, NULL, &q, msg), 400);
    cr_assert(strstr(msg, "129 characters") != NULL, "%s", msg);
    /* Far too long for the buffer. */
    char huge[3000] = "/v1/creators/";
    for (int i = 0; i < 700; i++)
        strcat(huge, "%41");
    cr_assert_eq(parse(huge, NULL, NULL, &q, msg), 400);
}

Test(api, repeated_and_too_many_parameters)
{
    api_request q;
    char msg[256];
    api_arg two[2] = {{"limit", "1"}, {"limit", "2"}};
    cr_assert_eq(api_parse("/v1/campaigns", two, 2, &q, msg, sizeof msg), 400);
    cr_assert(strstr(msg, "repeated") != NULL, "%s", msg);
    /* A parameter's name may itself be encoded. */
    api_arg enc[1] = {{"li%6Dit", "5"}};
    cr_assert_eq(api_parse("/v1/campaigns", enc, 1, &q, msg, sizeof msg), 0);
    cr_assert_eq(q.limit, 5);
    api_arg many[API_ARGS_MAX + 1];
    for (size_t i = 0; i < API_ARGS_MAX + 1; i++)
        many[i] = (api_arg){"limit", "1"};
    cr_assert_eq(api_parse("/v1/campaigns", many, API_ARGS_MAX + 1, &q, msg,
                           sizeof msg), 400);
    cr_assert(strstr(msg, "too many") != NULL, "%s", msg);
}

Test(api, percent_decoding)
{
    char out[8];
    cr_assert_eq(api_percent_decode("a%41%62", 7, out, sizeof out), 3);
    cr_assert_str_eq(out, "aAb");
    cr_assert_eq(api_percent_decode("a+b", 3, out, sizeof out), 3);
    cr_assert_str_eq(out, "a+b");
    cr_assert_eq(api_percent_decode("%", 1, out, sizeof out), -1);
    cr_assert_eq(api_percent_decode("%4", 2, out, sizeof out), -1);
    cr_assert_eq(api_percent_decode("%4g", 3, out, sizeof out), -1);
    cr_assert_eq(api_percent_decode("1234567", 7, out, sizeof out), 7);
    cr_assert_eq(api_percent_decode("12345678", 8, out, sizeof out), -1);
    cr_assert_eq(api_percent_decode("", 0, out, sizeof out), 0);
}

Test(api, the_id_after_a_stream_id)
{
    char b[64];
    cr_assert_str_eq(api_after_id("5-3", b, sizeof b), "5-4");
    cr_assert_str_eq(api_after_id("5", b, sizeof b), "5-1");
    cr_assert_str_eq(api_after_id("5-18446744073709551615", b, sizeof b), "6-0");
    cr_assert_null(api_after_id("18446744073709551615-18446744073709551615", b,
                                sizeof b));
}

Test(api, the_days_of_a_campaign)
{
    api_request q = {.days = 31};
    int64_t first;
    /* 2026-11-01T00:00:00Z is day 20758; 2026-11-03T23:59:59Z day 20760. */
    int64_t d0 = INT64_C(1793491200000);
    size_t n = api_campaign_days(&q, d0 + 5000, d0 + 3 * 86400000 - 1, &first);
    cr_assert_eq(n, 3);
    cr_assert_eq(first, 20758);
    char b[16];
    cr_assert_str_eq(api_day_name(first, b, sizeof b), "2026-11-01");
    cr_assert_str_eq(api_day_name(first + 2, b, sizeof b), "2026-11-03");
    q.days = 2;
    n = api_campaign_days(&q, d0, d0 + 10 * 86400000, &first);
    cr_assert_eq(n, 2);
    cr_assert_eq(first, 20767);
    q.days = 366;
    n = api_campaign_days(&q, d0, d0, &first);
    cr_assert_eq(n, 1);
    cr_assert_eq(first, 20758);
}

static json_t *parsed(json_t *data)
{
    cr_assert_not_null(data);
    buf b = BUF_INIT;
    cr_assert_eq(api_success_body(&b, data), 0);
    json_t *doc = json_loadb(b.data, b.len, 0, NULL);
    buf_free(&b);
    cr_assert_not_null(doc);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "status")), "success");
    return doc;
}

static long long jint(json_t *o, const char *path)
{
    json_t *v = json_object_get(o, path);
    cr_assert(json_is_integer(v), "%s is not an integer", path);
    return json_integer_value(v);
}

static config *test_config(void)
{
    char err[512];
    config *cfg = config_default(NULL);
    cr_assert_not_null(cfg, "%s", err);
    return cfg;
}

Test(api, a_campaign_from_its_hashes)
{
    config *cfg = test_config();
    api_view v;
    api_view_init(&v, cfg);
    config_free(cfg);
    api_request q = {.route = API_CAMPAIGN, .id = "x:1", .id_len = 3,
                     .days = 31, .top = 20};
    redisReply *h = resp(resp_array(
        "creators", "2", "reach", "30000", "posts", "3", "likes", "10",
        "comments", "5", "engagements", "15", "er", "0.0005", "clicks", "4",
        "conversions", "1", "conversion_rate", "0.25", "first_ms",
        "1793491200000", "last_ms", "1793577600001", "micro.creators", "1",
        "micro.reach", "20000", "micro.engagements", "12", "micro.er",
        "0.0006", "nano.engagements", "3", "gone.posts", "7",
        "unknown.posts", "1", NULL));
    redisReply *d1 = resp(resp_array("posts", "2", "likes", "4", NULL));
    redisReply *d2 = resp("*0\r\n");
    redisReply *top = resp(resp_array("c1", "12", "c:2", "3", NULL));
    redisReply *c1 = resp(resp_array("micro", "20000", NULL));
    redisReply *c2 = resp("*2\r\n$-1\r\n$-1\r\n");
    const redisReply *days[] = {d1, d2};
    const redisReply *creators[] = {c1, c2};
    cr_assert(api_campaign_exists(h));
    json_t *doc = parsed(api_campaign(&v, &q, h, 20758, days, 2, top, creators));
    json_t *data = json_object_get(doc, "data");
    cr_assert_str_eq(json_string_value(json_object_get(data, "id")), "x:1");
    cr_assert_eq(jint(data, "first_ms"), 1793491200000);
    cr_assert_eq(jint(data, "last_ms"), 1793577600001);
    json_t *t = json_object_get(data, "totals");
    cr_assert_eq(jint(t, "creators"), 2);
    cr_assert_eq(jint(t, "reach"), 30000);
    cr_assert_eq(jint(t, "engagements"), 15);
    cr_assert_eq(jint(t, "shares"), 0);   /* absent: 0 */
    cr_assert_float_eq(json_real_value(json_object_get(t, "er")), 0.0005, 1e-12);
    cr_assert_float_eq(json_real_value(json_object_get(t, "conversion_rate")),
                       0.25, 1e-12);
    /* Configured tiers in order, then unknown, then a tier no longer
     * configured. */
    json_t *tiers = json_object_get(data, "tiers");
    const char *want[] = {"nano", "micro", "mid", "macro", "mega", "unknown",
                          "gone"};
    cr_assert_eq(json_array_size(tiers), 7);
    for (size_t i = 0; i < 7; i++)
        cr_assert_str_eq(json_string_value(json_object_get(
                             json_array_get(tiers, i), "tier")), want[i]);
    json_t *micro = json_array_get(tiers, 1);
    cr_assert_eq(jint(micro, "engagements"), 12);
    cr_assert_eq(jint(micro, "reach"), 20000);
    cr_assert(json_is_null(json_object_get(micro, "conversion_rate")));
    cr_assert(json_is_null(json_object_get(json_array_get(tiers, 2), "er")));
    cr_assert_eq(jint(json_array_get(tiers, 6), "posts"), 7);
    json_t *dl = json_object_get(data, "days");
    cr_assert_eq(json_array_size(dl), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(dl, 0), "date")),
                     "2026-11-01");
    cr_assert_eq(jint(json_array_get(dl, 0), "likes"), 4);
    cr_assert_eq(jint(json_array_get(dl, 1), "likes"), 0);
    json_t *tl = json_object_get(data, "top_creators");
    cr_assert_eq(json_array_size(tl), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tl, 0),
                                                       "creator_id")), "c1");
    cr_assert_eq(jint(json_array_get(tl, 0), "engagements"), 12);
    cr_assert_eq(jint(json_array_get(tl, 0), "followers"), 20000);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tl, 0),
                                                       "tier")), "micro");
    cr_assert(json_is_null(json_object_get(json_array_get(tl, 1), "tier")));
    cr_assert(json_is_null(json_object_get(json_array_get(tl, 1), "followers")));
    json_decref(doc);
    freeReplyObject(h);
    freeReplyObject(d1);
    freeReplyObject(d2);
    freeReplyObject(top);
    freeReplyObject(c1);
    freeReplyObject(c2);
}

Test(api, a_creator_and_its_brand_history)
{
    config *cfg = test_config();
    api_view v;
    api_view_init(&v, cfg);
    config_free(cfg);
    api_request q = {.route = API_CREATOR, .id = "c1", .id_len = 2};
    redisReply *h = resp(resp_array("tier", "micro", "followers", "20000",
                                    "last_event_ms", "99", "likes_1h", "3",
                                    "engagements_24h", "8", "er_24h", "0.0004",
                                    NULL));
    redisReply *brands = resp(resp_array("pepsi", "300", "nike", "100", NULL));
    redisReply *posts = resp(resp_array("nike", "2", "pepsi", "5", NULL));
    redisReply *sectors = resp(resp_array("beverages", "300", NULL));
    bool found;
    json_t *doc = parsed(api_creator(&v, &q, h, brands, posts, sectors, &found));
    cr_assert(found);
    json_t *data = json_object_get(doc, "data");
    cr_assert_str_eq(json_string_value(json_object_get(data, "tier")), "micro");
    cr_assert_eq(jint(data, "followers"), 20000);
    json_t *w = json_object_get(data, "windows");
    cr_assert_eq(json_array_size(w), 3);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(w, 0), "window")), "1h");
    cr_assert_eq(jint(json_array_get(w, 0), "likes"), 3);
    cr_assert(json_is_null(json_object_get(json_array_get(w, 0), "er")));
    cr_assert_eq(jint(json_array_get(w, 1), "engagements"), 8);
    cr_assert_float_eq(json_real_value(json_object_get(json_array_get(w, 1), "er")),
                       0.0004, 1e-12);
    json_t *bl = json_object_get(data, "brands");
    cr_assert_eq(json_array_size(bl), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(bl, 0), "brand")), "pepsi");
    cr_assert_eq(jint(json_array_get(bl, 0), "posts"), 5);
    cr_assert_eq(jint(json_array_get(bl, 0), "last_ms"), 300);
    cr_assert_eq(jint(json_array_get(bl, 1), "posts"), 2);
    cr_assert_eq(json_array_size(json_object_get(data, "sectors")), 1);
    json_decref(doc);
    /* Nothing at all: 404. */
    redisReply *empty = resp("*0\r\n");
    cr_assert_null(api_creator(&v, &q, empty, empty, empty, empty, &found));
    cr_assert_not(found);
    /* A brand history without a hash (its state expired): found, unknown
     * tier, null followers. */
    doc = parsed(api_creator(&v, &q, empty, brands, posts, empty, &found));
    data = json_object_get(doc, "data");
    cr_assert_str_eq(json_string_value(json_object_get(data, "tier")), "unknown");
    cr_assert(json_is_null(json_object_get(data, "followers")));
    cr_assert(json_is_null(json_object_get(data, "last_event_ms")));
    json_decref(doc);
    freeReplyObject(empty);
    freeReplyObject(h);
    freeReplyObject(brands);
    freeReplyObject(posts);
    freeReplyObject(sectors);
}

Test(api, alerts_oldest_first_and_paging)
{
    api_request q = {.route = API_ALERTS, .limit = 100};
    /* XREVRANGE: newest first. */
    redisReply *e = resp("*3\r\n"
                         "*2\r\n$3\r\n9-0\r\n*2\r\n$5\r\nalert\r\n$7\r\n{\"n\":9}\r\n"
                         "*2\r\n$3\r\n8-0\r\n*2\r\n$5\r\nalert\r\n$4\r\nnope\r\n"
                         "*2\r\n$3\r\n7-1\r\n*2\r\n$5\r\nalert\r\n$7\r\n{\"n\":7}\r\n");
    json_t *doc = parsed(api_alerts(&q, e, true));
    json_t *data = json_object_get(doc, "data");
    json_t *al = json_object_get(data, "alerts");
    cr_assert_eq(json_array_size(al), 2);   /* "nope" is not JSON: left out */
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(al, 0), "id")), "7-1");
    cr_assert_eq(jint(json_object_get(json_array_get(al, 0), "alert"), "n"), 7);
    cr_assert_str_eq(json_string_value(json_object_get(data, "last_id")), "9-0");
    json_decref(doc);
    freeReplyObject(e);
    /* Nothing after since: last_id is since. */
    strcpy(q.since, "9-0");
    redisReply *none = resp("*0\r\n");
    doc = parsed(api_alerts(&q, none, false));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "data"),
                                                       "last_id")), "9-0");
    json_decref(doc);
    q.since[0] = 0;
    doc = parsed(api_alerts(&q, none, true));
    cr_assert(json_is_null(json_object_get(json_object_get(doc, "data"), "last_id")));
    json_decref(doc);
    freeReplyObject(none);
}

Test(api, error_bodies)
{
    buf b = BUF_INIT;
    cr_assert_eq(api_error_body(&b, 404, "no \"x\""), 0);
    json_t *doc = json_loadb(b.data, b.len, 0, NULL);
    cr_assert_not_null(doc);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "status")), "error");
    cr_assert_str_eq(json_string_value(json_object_get(doc, "errorType")), "not_found");
    cr_assert_str_eq(json_string_value(json_object_get(doc, "error")), "no \"x\"");
    json_decref(doc);
    buf_free(&b);
    cr_assert_str_eq(api_error_type(400), "bad_request");
    cr_assert_str_eq(api_error_type(401), "unauthorized");
    cr_assert_str_eq(api_error_type(405), "method_not_allowed");
    cr_assert_str_eq(api_error_type(414), "uri_too_long");
    cr_assert_str_eq(api_error_type(503), "unavailable");
    cr_assert_str_eq(api_error_type(500), "internal");
}

/* jansson's allocations, failing from the nth on (n < 0: never). */
static long fail_from = -1, allocations;

static void *failing_malloc(size_t size)
{
    if (fail_from >= 0 && allocations++ >= fail_from)
        return NULL;
    return malloc(size);
}

Test(api, out_of_memory_anywhere_in_an_answer_is_reported_not_a_partial_answer)
{
    json_set_alloc_funcs(failing_malloc, free);
    config *cfg = test_config();
    api_view v;
    api_view_init(&v, cfg);
    config_free(cfg);
    api_request q = {.route = API_CAMPAIGN, .id = "x", .id_len = 1, .days = 31,
                     .top = 20};
    redisReply *h = resp(resp_array("creators", "2", "reach", "30000",
                                    "engagements", "15", "er", "0.0005",
                                    "last_ms", "1793577600001",
                                    "micro.engagements", "12", NULL));
    redisReply *d1 = resp(resp_array("posts", "2", NULL));
    redisReply *top = resp(resp_array("c1", "12", NULL));
    redisReply *c1 = resp(resp_array("micro", "20000", NULL));
    const redisReply *days[] = {d1};
    const redisReply *creators[] = {c1};
    /* Fail the 0th, 1st, ... allocation until the answer needs no more:
     * each time, no answer at all (never a partial one), and nothing
     * leaked (the sanitized run's LeakSanitizer). */
    bool done = false;
    long n;
    for (n = 0; !done && n < 100000; n++) {
        fail_from = n;
        allocations = 0;
        buf b = BUF_INIT;
        int rc = api_success_body(&b, api_campaign(&v, &q, h, 20758, days, 1,
                                                   top, creators));
        if (rc == 0) {
            /* Only once every allocation it needs succeeded. */
            cr_assert_lt(allocations, n + 1);
            done = true;
        } else {
            cr_assert_eq(b.len, 0);
        }
        buf_free(&b);
    }
    cr_assert(done && n > 50, "done %d after %ld failures", done, n);
    fail_from = -1;
    freeReplyObject(h);
    freeReplyObject(d1);
    freeReplyObject(top);
    freeReplyObject(c1);
}

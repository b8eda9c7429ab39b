/*
 * Integration: the read API (/v1, issue 19) of a running daemon over a real
 * Redis and the mock Kafka cluster.  The expected figures are worked out by
 * hand from the events sent, in the comments next to them; every answer is
 * validated against schemas/api.openapi.yaml by python3-jsonschema
 * (tests/apischema.py).
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "world.h"

/* One HTTP exchange. */
typedef struct answer {
    int status;         /* -1: nothing answered */
    char *head;         /* status line and headers */
    char *body;
} answer;

static void answer_free(answer *a)
{
    free(a->head);
    free(a->body);
    memset(a, 0, sizeof *a);
}

/* Sends `request` (a whole HTTP/1.0 request) to 127.0.0.1:port. */
static answer http_raw(int port, const char *request, size_t len)
{
    answer a = {.status = -1};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_neq(fd, -1);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return a;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, request + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;     /* the server may answer and close early */
        off += (size_t)w;
    }
    size_t cap = 65536, n = 0;
    char *resp = malloc(cap);
    cr_assert_not_null(resp);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            resp = realloc(resp, cap);
            cr_assert_not_null(resp);
        }
        ssize_t r = recv(fd, resp + n, cap - n - 1, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    resp[n] = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &a.status) != 1)
        a.status = -1;
    char *sep = strstr(resp, "\r\n\r\n");
    a.body = strdup(sep ? sep + 4 : "");
    if (sep)
        *sep = 0;
    a.head = strdup(resp);
    free(resp);
    return a;
}

static answer http_req(int port, const char *method, const char *target,
                       const char *headers)
{
    size_t len = strlen(target) + (headers ? strlen(headers) : 0) + 128;
    char *req = malloc(len);
    cr_assert_not_null(req);
    int n = snprintf(req, len, "%s %s HTTP/1.0\r\nHost: localhost\r\n%s\r\n",
                     method, target, headers ? headers : "");
    answer a = http_raw(port, req, (size_t)n);
    free(req);
    return a;
}

static answer get(int port, const char *target)
{
    return http_req(port, "GET", target, NULL);
}

/* The answers to validate, as (component, file) pairs. */
static struct {
    char dir[256];
    int n;
    char args[16384];
} V;

/* Keeps body for schema validation against `component`. */
static void keep(const char *component, const char *body)
{
    if (V.dir[0] == 0) {
        char *d = harness_tmpdir();
        cr_assert_not_null(d);
        snprintf(V.dir, sizeof V.dir, "%s", d);
        free(d);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%d.json", V.dir, V.n++);
    cr_assert_eq(harness_write_file(path, body, strlen(body)), 0);
    size_t used = strlen(V.args);
    snprintf(V.args + used, sizeof V.args - used, " %s '%s'", component, path);
}

/* Validates every kept answer; asserts they all match. */
static void validate_kept(void)
{
    const char *root = getenv("ENGAGED_ROOT");
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "/usr/bin/python3 '%s/tests/apischema.py' '%s/schemas'%s",
                       root && *root ? root : ".", root && *root ? root : ".",
                       V.args) > 0);
    char *out = NULL;
    int rc = harness_run(cmd, &out);
    cr_assert_eq(rc, 0, "answers not valid against schemas/api.openapi.yaml "
                        "(%d answers):\n%s", V.n, out ? out : "");
    free(out);
    free(cmd);
    harness_rmtree(V.dir);
    memset(&V, 0, sizeof V);
}

/* The answer's JSON; asserts it parses and has the status wanted. */
static json_t *json_of(const answer *a, int status, const char *what)
{
    cr_assert_eq(a->status, status, "%s: status %d, expected %d; body %s",
                 what, a->status, status, a->body);
    cr_assert(strstr(a->head, "Content-Type: application/json") != NULL,
              "%s: %s", what, a->head);
    json_error_t e;
    json_t *doc = json_loads(a->body, 0, &e);
    cr_assert_not_null(doc, "%s: not JSON (%s): %s", what, e.text, a->body);
    return doc;
}

static json_t *data_of(const answer *a, const char *what, const char *component)
{
    json_t *doc = json_of(a, 200, what);
    keep(component, a->body);
    json_t *data = json_incref(json_object_get(doc, "data"));
    json_decref(doc);
    cr_assert_not_null(data, "%s: no data", what);
    return data;
}

static long long jget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_integer(v), "%s is not an integer in %s", k,
              json_dumps(o, JSON_COMPACT));
    return json_integer_value(v);
}

static const char *sget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_string(v), "%s is not a string", k);
    return json_string_value(v);
}

static double rget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_number(v), "%s is not a number", k);
    return json_number_value(v);
}

static json_t *tier_of(json_t *tiers, const char *name)
{
    for (size_t i = 0; i < json_array_size(tiers); i++)
        if (strcmp(sget(json_array_get(tiers, i), "tier"), name) == 0)
            return json_array_get(tiers, i);
    cr_assert_fail("no tier %s", name);
    return NULL;
}

static void send_event(const char *creator, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void send_event(const char *creator, const char *fmt, ...)
{
    char body[1024], json[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    int n = snprintf(json, sizeof json, "{\"creator_id\":\"%s\",%s}", creator,
                     body);
    world_send_raw(world_partition_of(creator), creator, json, (size_t)n);
}

#define TS(ms) (T0 + (ms))

/* The stream of the route test: two campaigns, three creators, one tier
 * change (the one alert). */
static void send_story(void)
{
    const char *eng = "\"type\":\"engagement\"";
    /* c1: 20000 followers (micro); c2: 600000 (macro); c3 unknown. */
    send_event("c1", "\"type\":\"followers\",\"ts\":%" PRId64 ",\"followers\":20000", T0);
    send_event("c2", "\"type\":\"followers\",\"ts\":%" PRId64 ",\"followers\":600000", T0);
    /* c1's sponsored post p1 for spring:sale (pepsi, beverages), day 1. */
    send_event("c1", "\"type\":\"post\",\"ts\":%" PRId64 ",\"post_id\":\"p1\","
               "\"campaign_id\":\"spring:sale\",\"sponsored\":true,"
               "\"brand\":\"Pepsi\",\"sector\":\"beverages\"", TS(HOUR));
    /* 3 likes on p1, day 1, micro. */
    send_event("c1", "%s,\"ts\":%" PRId64 ",\"action\":\"like\",\"count\":3,"
               "\"post_id\":\"p1\"", eng, TS(2 * HOUR));
    /* c2's post p2 for spring:sale, not sponsored, day 1, macro. */
    send_event("c2", "\"type\":\"post\",\"ts\":%" PRId64 ",\"post_id\":\"p2\","
               "\"campaign_id\":\"spring:sale\",\"sponsored\":false", TS(3 * HOUR));
    /* c3 (unknown tier): 2 shares naming campaign "other", day 1. */
    send_event("c3", "%s,\"ts\":%" PRId64 ",\"action\":\"share\",\"count\":2,"
               "\"campaign_id\":\"other\"", eng, TS(4 * HOUR));
    /* Day 2: 4 clicks and 1 conversion naming spring:sale (c1, micro);
     * 10 comments on p2 (c2, macro). */
    send_event("c1", "%s,\"ts\":%" PRId64 ",\"action\":\"click\",\"count\":4,"
               "\"campaign_id\":\"spring:sale\"", eng, TS(DAY + HOUR));
    send_event("c1", "%s,\"ts\":%" PRId64 ",\"action\":\"conversion\","
               "\"campaign_id\":\"spring:sale\"", eng, TS(DAY + 2 * HOUR));
    send_event("c2", "%s,\"ts\":%" PRId64 ",\"action\":\"comment\",\"count\":10,"
               "\"post_id\":\"p2\"", eng, TS(DAY + 3 * HOUR));
    /* c1 moves to mid: a tier_change alert; its campaign reach stays. */
    send_event("c1", "\"type\":\"followers\",\"ts\":%" PRId64 ",\"followers\":60000",
               TS(DAY + 5 * HOUR));
}

static harness_daemon *daemon_with_http(int *port, const char *extra)
{
    *port = harness_free_port();
    char conf[1024];
    snprintf(conf, sizeof conf, "[http]\nlisten = 127.0.0.1:%d\n%s", *port,
             extra ? extra : "");
    return world_daemon(conf);
}

static int tier_change_in_stream(void *unused)
{
    (void)unused;
    redisReply *r = redisCommand(harness_redis_ctx(W.redis), "XLEN eng:alerts");
    int ok = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer >= 1;
    if (r)
        freeReplyObject(r);
    return ok;
}

Test(readapi, routes_answer_what_the_events_made, .timeout = 120)
{
    world_up(NULL);
    send_story();
    int port;
    harness_daemon *d = daemon_with_http(&port, NULL);
    world_wait_caught_up(60000);
    cr_assert_eq(harness_wait(tier_change_in_stream, NULL, 30000), 0);

    /* /v1/campaigns: spring:sale was active last. */
    answer a = get(port, "/v1/campaigns");
    json_t *data = data_of(&a, "campaigns", "CampaignListAnswer");
    cr_assert_eq(jget(data, "total"), 2);
    json_t *list = json_object_get(data, "campaigns");
    cr_assert_eq(json_array_size(list), 2);
    json_t *s = json_array_get(list, 0);
    cr_assert_str_eq(sget(s, "id"), "spring:sale");
    cr_assert_str_eq(sget(json_array_get(list, 1), "id"), "other");
    cr_assert_eq(jget(s, "creators"), 2);
    cr_assert_eq(jget(s, "reach"), 620000);          /* 20000 + 600000 */
    cr_assert_eq(jget(s, "engagements"), 13);        /* 3 likes + 10 comments */
    cr_assert_eq(jget(s, "first_ms"), TS(HOUR));
    cr_assert_eq(jget(s, "last_ms"), TS(DAY + 3 * HOUR));
    json_decref(data);
    answer_free(&a);
    a = get(port, "/v1/campaigns?limit=1");
    data = data_of(&a, "campaigns?limit=1", "CampaignListAnswer");
    cr_assert_eq(json_array_size(json_object_get(data, "campaigns")), 1);
    cr_assert_eq(jget(data, "total"), 2);
    json_decref(data);
    answer_free(&a);

    /* /v1/campaigns/spring%3Asale */
    a = get(port, "/v1/campaigns/spring%3Asale");
    data = data_of(&a, "spring:sale", "CampaignAnswer");
    cr_assert_str_eq(sget(data, "id"), "spring:sale");
    json_t *t = json_object_get(data, "totals");
    cr_assert_eq(jget(t, "creators"), 2);
    cr_assert_eq(jget(t, "reach"), 620000);
    cr_assert_eq(jget(t, "posts"), 2);
    cr_assert_eq(jget(t, "sponsored_posts"), 1);
    cr_assert_eq(jget(t, "likes"), 3);
    cr_assert_eq(jget(t, "comments"), 10);
    cr_assert_eq(jget(t, "shares"), 0);
    cr_assert_eq(jget(t, "clicks"), 4);
    cr_assert_eq(jget(t, "conversions"), 1);
    cr_assert_eq(jget(t, "engagements"), 13);
    cr_assert_float_eq(rget(t, "er"), 13.0 / 620000, 1e-12);
    cr_assert_float_eq(rget(t, "conversion_rate"), 0.25, 1e-12);
    json_t *tiers = json_object_get(data, "tiers");
    /* The five configured tiers; no figure under unknown. */
    cr_assert_eq(json_array_size(tiers), 5);
    cr_assert_str_eq(sget(json_array_get(tiers, 0), "tier"), "nano");
    json_t *micro = tier_of(tiers, "micro"), *macro = tier_of(tiers, "macro");
    cr_assert_eq(jget(micro, "creators"), 1);
    cr_assert_eq(jget(micro, "reach"), 20000);
    cr_assert_eq(jget(micro, "posts"), 1);
    cr_assert_eq(jget(micro, "sponsored_posts"), 1);
    cr_assert_eq(jget(micro, "likes"), 3);
    cr_assert_eq(jget(micro, "engagements"), 3);
    cr_assert_eq(jget(micro, "clicks"), 4);
    cr_assert_eq(jget(micro, "conversions"), 1);
    cr_assert_float_eq(rget(micro, "er"), 3.0 / 20000, 1e-12);
    cr_assert_eq(jget(macro, "creators"), 1);
    cr_assert_eq(jget(macro, "reach"), 600000);
    cr_assert_eq(jget(macro, "posts"), 1);
    cr_assert_eq(jget(macro, "comments"), 10);
    cr_assert_eq(jget(macro, "engagements"), 10);
    cr_assert(json_is_null(json_object_get(macro, "conversion_rate")));
    cr_assert_eq(jget(tier_of(tiers, "mid"), "engagements"), 0);
    cr_assert(json_is_null(json_object_get(tier_of(tiers, "mid"), "er")));
    json_t *days = json_object_get(data, "days");
    cr_assert_eq(json_array_size(days), 2);
    json_t *d1 = json_array_get(days, 0), *d2 = json_array_get(days, 1);
    cr_assert_str_eq(sget(d1, "date"), "2026-11-01");
    cr_assert_eq(jget(d1, "posts"), 2);
    cr_assert_eq(jget(d1, "likes"), 3);
    cr_assert_eq(jget(d1, "clicks"), 0);
    cr_assert_str_eq(sget(d2, "date"), "2026-11-02");
    cr_assert_eq(jget(d2, "posts"), 0);
    cr_assert_eq(jget(d2, "comments"), 10);
    cr_assert_eq(jget(d2, "clicks"), 4);
    cr_assert_eq(jget(d2, "conversions"), 1);
    cr_assert_eq(jget(d2, "engagements"), 10);
    json_t *top = json_object_get(data, "top_creators");
    cr_assert_eq(json_array_size(top), 2);
    cr_assert_str_eq(sget(json_array_get(top, 0), "creator_id"), "c2");
    cr_assert_eq(jget(json_array_get(top, 0), "engagements"), 10);
    cr_assert_str_eq(sget(json_array_get(top, 0), "tier"), "macro");
    cr_assert_eq(jget(json_array_get(top, 0), "followers"), 600000);
    cr_assert_str_eq(sget(json_array_get(top, 1), "creator_id"), "c1");
    cr_assert_eq(jget(json_array_get(top, 1), "engagements"), 3);
    cr_assert_str_eq(sget(json_array_get(top, 1), "tier"), "mid");   /* now */
    json_decref(data);
    answer_free(&a);
    /* days=1, top=1 */
    a = get(port, "/v1/campaigns/spring%3asale?days=1&top=1");
    data = data_of(&a, "spring:sale?days=1", "CampaignAnswer");
    cr_assert_eq(json_array_size(json_object_get(data, "days")), 1);
    cr_assert_str_eq(sget(json_array_get(json_object_get(data, "days"), 0), "date"),
                     "2026-11-02");
    cr_assert_eq(json_array_size(json_object_get(data, "top_creators")), 1);
    json_decref(data);
    answer_free(&a);
    /* other: under unknown, no reach. */
    a = get(port, "/v1/campaigns/other");
    data = data_of(&a, "other", "CampaignAnswer");
    t = json_object_get(data, "totals");
    cr_assert_eq(jget(t, "creators"), 1);
    cr_assert_eq(jget(t, "reach"), 0);
    cr_assert_eq(jget(t, "shares"), 2);
    cr_assert(json_is_null(json_object_get(t, "er")));
    json_t *unknown = tier_of(json_object_get(data, "tiers"), "unknown");
    cr_assert_eq(jget(unknown, "shares"), 2);
    cr_assert_eq(jget(unknown, "creators"), 1);
    json_decref(data);
    answer_free(&a);

    /* /v1/creators/c1 */
    a = get(port, "/v1/creators/c1");
    data = data_of(&a, "c1", "CreatorAnswer");
    cr_assert_str_eq(sget(data, "tier"), "mid");
    cr_assert_eq(jget(data, "followers"), 60000);
    cr_assert_eq(jget(data, "last_event_ms"), TS(DAY + 5 * HOUR));
    json_t *brands = json_object_get(data, "brands");
    cr_assert_eq(json_array_size(brands), 1);
    cr_assert_str_eq(sget(json_array_get(brands, 0), "brand"), "pepsi");
    cr_assert_eq(jget(json_array_get(brands, 0), "posts"), 1);
    cr_assert_eq(jget(json_array_get(brands, 0), "last_ms"), TS(HOUR));
    json_t *sectors = json_object_get(data, "sectors");
    cr_assert_eq(json_array_size(sectors), 1);
    cr_assert_str_eq(sget(json_array_get(sectors, 0), "sector"), "beverages");
    /* Each window as the creator hash holds it. */
    json_t *wins = json_object_get(data, "windows");
    cr_assert_eq(json_array_size(wins), 3);
    const char *wn[] = {"1h", "24h", "7d"};
    for (size_t i = 0; i < 3; i++) {
        json_t *w = json_array_get(wins, i);
        cr_assert_str_eq(sget(w, "window"), wn[i]);
        char f[32];
        snprintf(f, sizeof f, "engagements_%s", wn[i]);
        int64_t want = world_hget_int("eng:creator:c1", f);
        cr_assert_eq(jget(w, "engagements"), want < 0 ? 0 : want, "%s", f);
        snprintf(f, sizeof f, "clicks_%s", wn[i]);
        want = world_hget_int("eng:creator:c1", f);
        cr_assert_eq(jget(w, "clicks"), want < 0 ? 0 : want, "%s", f);
    }
    /* The 7d window holds all of c1's engagement: 3 likes (clicks and
     * conversions are not engagements). */
    cr_assert_eq(jget(json_array_get(wins, 2), "engagements"), 3);
    cr_assert_eq(jget(json_array_get(wins, 2), "clicks"), 4);
    json_decref(data);
    answer_free(&a);
    /* c3: no follower count, no brand. */
    a = get(port, "/v1/creators/c3");
    data = data_of(&a, "c3", "CreatorAnswer");
    cr_assert_str_eq(sget(data, "tier"), "unknown");
    cr_assert(json_is_null(json_object_get(data, "followers")));
    cr_assert_eq(json_array_size(json_object_get(data, "brands")), 0);
    json_decref(data);
    answer_free(&a);

    /* /v1/tiers: creators and followers by tier now. */
    a = get(port, "/v1/tiers");
    data = data_of(&a, "tiers", "TiersAnswer");
    tiers = json_object_get(data, "tiers");
    cr_assert_eq(json_array_size(tiers), 6);
    cr_assert_str_eq(sget(json_array_get(tiers, 5), "tier"), "unknown");
    cr_assert(json_is_null(json_object_get(json_array_get(tiers, 5), "min_followers")));
    cr_assert_eq(jget(tier_of(tiers, "mid"), "min_followers"), 50000);
    cr_assert_eq(jget(tier_of(tiers, "mid"), "creators"), 1);
    cr_assert_eq(jget(tier_of(tiers, "mid"), "followers"), 60000);
    cr_assert_eq(jget(tier_of(tiers, "micro"), "creators"), 0);
    cr_assert_eq(jget(tier_of(tiers, "macro"), "followers"), 600000);
    cr_assert_eq(jget(tier_of(tiers, "unknown"), "creators"), 1);
    json_t *w7 = json_array_get(json_object_get(tier_of(tiers, "macro"), "windows"), 2);
    int64_t want = world_hget_int("eng:tier:macro", "engagements_7d");
    cr_assert_eq(jget(w7, "engagements"), want < 0 ? 0 : want);
    cr_assert_eq(jget(w7, "engagements"), 10);
    json_decref(data);
    answer_free(&a);

    /* /v1/alerts: c1's move from 20000 to 60000 followers is a tier change
     * and a follower jump (+200%, +40000), oldest first; then nothing after
     * the last, and the second after the first. */
    a = get(port, "/v1/alerts");
    data = data_of(&a, "alerts", "AlertsAnswer");
    json_t *al = json_object_get(data, "alerts");
    cr_assert_eq(json_array_size(al), 2, "%s", a.body);
    bool kinds[2] = {false, false};
    for (size_t i = 0; i < 2; i++) {
        json_t *alert = json_object_get(json_array_get(al, i), "alert");
        cr_assert_str_eq(sget(alert, "creator_id"), "c1");
        kinds[0] |= strcmp(sget(alert, "kind"), "tier_change") == 0;
        kinds[1] |= strcmp(sget(alert, "kind"), "follower_jump") == 0;
    }
    cr_assert(kinds[0] && kinds[1], "%s", a.body);
    char since[64], first_id[64];
    snprintf(since, sizeof since, "%s", sget(data, "last_id"));
    snprintf(first_id, sizeof first_id, "%s", sget(json_array_get(al, 0), "id"));
    cr_assert_str_eq(since, sget(json_array_get(al, 1), "id"));
    json_decref(data);
    answer_free(&a);
    char target[128];
    snprintf(target, sizeof target, "/v1/alerts?since=%s&limit=5", since);
    a = get(port, target);
    data = data_of(&a, "alerts?since", "AlertsAnswer");
    cr_assert_eq(json_array_size(json_object_get(data, "alerts")), 0);
    cr_assert_str_eq(sget(data, "last_id"), since);
    json_decref(data);
    answer_free(&a);
    snprintf(target, sizeof target, "/v1/alerts?since=%s", first_id);
    a = get(port, target);
    data = data_of(&a, "alerts?since=first", "AlertsAnswer");
    cr_assert_eq(json_array_size(json_object_get(data, "alerts")), 1);
    cr_assert_str_eq(sget(data, "last_id"), since);
    json_decref(data);
    answer_free(&a);
    /* limit=1 without since: the newest. */
    a = get(port, "/v1/alerts?limit=1");
    data = data_of(&a, "alerts?limit=1", "AlertsAnswer");
    cr_assert_eq(json_array_size(json_object_get(data, "alerts")), 1);
    cr_assert_str_eq(sget(data, "last_id"), since);
    json_decref(data);
    answer_free(&a);
    a = get(port, "/v1/alerts?since=0");
    data = data_of(&a, "alerts?since=0", "AlertsAnswer");
    cr_assert_eq(json_array_size(json_object_get(data, "alerts")), 2);
    json_decref(data);
    answer_free(&a);

    /* HEAD: the status without a body. */
    a = http_req(port, "HEAD", "/v1/tiers", NULL);
    cr_assert_eq(a.status, 200);
    cr_assert_str_empty(a.body);
    answer_free(&a);

    /* /metrics counted every answer above by route and status. */
    char *metrics = NULL;
    cr_assert_eq(harness_http_get(port, "/metrics", &metrics), 200);
    const char *counted[] = {
        "engaged_api_requests_total{route=\"campaigns\",code=\"200\"} 2\n",
        "engaged_api_requests_total{route=\"campaign\",code=\"200\"} 3\n",
        "engaged_api_requests_total{route=\"creator\",code=\"200\"} 2\n",
        "engaged_api_requests_total{route=\"tiers\",code=\"200\"} 2\n",
        "engaged_api_requests_total{route=\"alerts\",code=\"200\"} 5\n",
    };
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++)
        cr_expect(strstr(metrics, counted[i]) != NULL, "no %s", counted[i]);
    cr_expect(strstr(metrics, "engaged_api_requests_total{route=\"none\"") == NULL,
              "a refusal counted");
    free(metrics);

    validate_kept();
    harness_daemon_stop(d);
    world_down();
}

/* An error answer: status, JSON body of the Error schema, errorType. */
static void expect_error(int port, const char *method, const char *target,
                         const char *headers, int status, const char *type)
{
    answer a = http_req(port, method, target, headers);
    char what[160];
    snprintf(what, sizeof what, "%s %.100s", method, target);
    json_t *doc = json_of(&a, status, what);
    cr_expect_str_eq(sget(doc, "status"), "error");
    cr_expect_str_eq(sget(doc, "errorType"), type, "%s", what);
    keep("Error", a.body);
    json_decref(doc);
    answer_free(&a);
}

static char *repeat(const char *s, int n, const char *prefix)
{
    size_t len = strlen(prefix) + strlen(s) * (size_t)n + 1;
    char *out = malloc(len);
    cr_assert_not_null(out);
    strcpy(out, prefix);
    for (int i = 0; i < n; i++)
        strcat(out, s);
    return out;
}

Test(readapi, errors_are_json_and_hostile_requests_do_no_harm, .timeout = 120)
{
    world_up(NULL);
    send_story();
    int port;
    harness_daemon *d = daemon_with_http(&port, NULL);
    world_wait_caught_up(60000);

    expect_error(port, "GET", "/v1/campaigns/nope", NULL, 404, "not_found");
    expect_error(port, "GET", "/v1/creators/nope", NULL, 404, "not_found");
    expect_error(port, "GET", "/v1/nope", NULL, 404, "not_found");
    expect_error(port, "GET", "/v1", NULL, 404, "not_found");
    expect_error(port, "GET", "/v1/campaigns/", NULL, 404, "not_found");
    expect_error(port, "GET", "/v1/campaigns/a/b", NULL, 404, "not_found");
    expect_error(port, "GET", "/v1/../../etc/passwd", NULL, 404, "not_found");
    /* Traversal inside an id is only an id: no such campaign. */
    expect_error(port, "GET", "/v1/campaigns/..%2F..%2Fetc%2Fpasswd", NULL, 404,
                 "not_found");
    expect_error(port, "GET", "/v1/campaigns?limit=0", NULL, 400, "bad_request");
    expect_error(port, "GET", "/v1/campaigns?limit=abc", NULL, 400, "bad_request");
    expect_error(port, "GET", "/v1/campaigns?limit=%FF", NULL, 400, "bad_request");
    expect_error(port, "GET", "/v1/campaigns?limit=1&limit=1", NULL, 400,
                 "bad_request");
    expect_error(port, "GET", "/v1/campaigns?nope=1", NULL, 400, "bad_request");
    expect_error(port, "GET", "/v1/campaigns?limit", NULL, 400, "bad_request");
    expect_error(port, "GET", "/v1/campaigns/spring%3Asale?days=0", NULL, 400,
                 "bad_request");
    expect_error(port, "GET", "/v1/alerts?since=1-2-3", NULL, 400, "bad_request");
    expect_error(port, "GET", "/v1/campaigns/%", NULL, 400, "bad_request");
    expect_error(port, "GET", "/v1/campaigns/%00", NULL, 400, "bad_request");
    expect_error(port, "GET", "/v1/campaigns/a%0Ab", NULL, 400, "bad_request");
    expect_error(port, "GET", "/v1/creators/%C0%80", NULL, 400, "bad_request");
    expect_error(port, "GET", "/v1/creators/%ED%A0%80", NULL, 400, "bad_request");
    expect_error(port, "POST", "/v1/campaigns", NULL, 405, "method_not_allowed");
    expect_error(port, "DELETE", "/v1/creators/c1", NULL, 405,
                 "method_not_allowed");
    /* Huge ids: over 128 characters is 400; a target over 4096 bytes 414. */
    char *id = repeat("a", 129, "/v1/creators/");
    expect_error(port, "GET", id, NULL, 400, "bad_request");
    free(id);
    id = repeat("%41", 1400, "/v1/creators/");
    expect_error(port, "GET", id, NULL, 414, "uri_too_long");
    free(id);
    /* Query floods: many parameters, or long ones. */
    char *flood = repeat("&limit=1", 17, "/v1/campaigns?x=1");
    expect_error(port, "GET", flood, NULL, 400, "bad_request");
    free(flood);
    flood = repeat("&a=1", 1500, "/v1/campaigns?x=1");
    expect_error(port, "GET", flood, NULL, 414, "uri_too_long");
    free(flood);
    validate_kept();

    char *big = repeat("a", 40000, "/v1/creators/");
    expect_error(port, "GET", big, NULL, 414, "uri_too_long");
    free(big);
    validate_kept();
    /* Beyond what the server keeps for one request (128 KiB of request
     * line and headers): libmicrohttpd refuses it with a 4xx of its own, or
     * closes the connection while the client still sends (the reset can
     * beat its answer); either way nothing more happens. */
    big = repeat("a", 300000, "/v1/creators/");
    answer a = get(port, big);
    cr_expect(a.status == -1 || (a.status >= 400 && a.status < 500),
              "huge target: %d", a.status);
    answer_free(&a);
    free(big);
    char *hdrs = repeat("X-Flood: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                        5000, "");
    a = http_req(port, "GET", "/v1/tiers", hdrs);
    cr_expect(a.status == -1 || (a.status >= 400 && a.status < 500),
              "header flood: %d", a.status);
    answer_free(&a);
    free(hdrs);
    /* Not HTTP at all. */
    a = http_raw(port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15);
    cr_expect(a.status == -1 || (a.status >= 400 && a.status < 500),
              "garbage: %d", a.status);
    answer_free(&a);
    /* Outside the API: nothing but 404, whatever the path. */
    const char *outside[] = {"/../../etc/passwd", "/etc/passwd", "/index.php",
                             "/v2/campaigns", "/metrics/../v1/tiers", "/%2e%2e/"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        a = get(port, outside[i]);
        cr_expect_eq(a.status, 404, "%s: %d", outside[i], a.status);
        answer_free(&a);
    }

    /* Still serving, and still alive. */
    a = get(port, "/v1/tiers");
    cr_assert_eq(a.status, 200);
    answer_free(&a);
    cr_assert_eq(harness_http_get(port, "/healthz", NULL), 200);
    cr_assert_eq(kill(harness_daemon_pid(d), 0), 0);
    harness_daemon_stop(d);
    world_down();
}

static int64_t min_followers_of(int port, const char *tier)
{
    answer a = get(port, "/v1/tiers");
    json_t *data = data_of(&a, "tiers", "TiersAnswer");
    int64_t v = jget(tier_of(json_object_get(data, "tiers"), tier),
                     "min_followers");
    json_decref(data);
    answer_free(&a);
    return v;
}

/* [tiers] changes live on SIGHUP: /v1/tiers shows the new minimums. */
Test(readapi, a_reload_moves_the_tier_minimums_it_shows, .timeout = 120)
{
    world_up(NULL);
    send_story();
    int port;
    harness_daemon *d = daemon_with_http(&port, NULL);
    world_wait_caught_up(60000);
    cr_assert_eq(min_followers_of(port, "micro"), 10000);
    char conf[8192];
    snprintf(conf, sizeof conf,
             "%s[http]\nlisten = 127.0.0.1:%d\n"
             "[tiers]\nhysteresis = 0.05\nnano = 0\nmicro = 5000\n"
             "mid = 60000\nmacro = 500000\nmega = 1000000\n",
             W.config, port);
    cr_assert_eq(harness_write_file(harness_daemon_config_path(d), conf,
                                    strlen(conf)), 0);
    cr_assert_eq(harness_daemon_signal(d, SIGHUP), 0);
    cr_assert_eq(harness_daemon_wait_log(d, "configuration reloaded", 10000),
                 0);
    cr_assert_eq(min_followers_of(port, "micro"), 5000);
    cr_assert_eq(min_followers_of(port, "mid"), 60000);
    cr_assert_eq(min_followers_of(port, "nano"), 0);
    validate_kept();
    harness_daemon_stop(d);
    world_down();
}

Test(readapi, a_token_guards_v1_and_only_v1, .timeout = 120)
{
    world_up(NULL);
    send_story();
    char *dir = harness_tmpdir();
    char path[512], extra[700];
    snprintf(path, sizeof path, "%s/token", dir);
    const char *token = "s3cret-t0ken";
    cr_assert_eq(harness_write_file(path, "s3cret-t0ken\n", 13), 0);
    snprintf(extra, sizeof extra, "token_file = %s\n", path);
    int port;
    harness_daemon *d = daemon_with_http(&port, extra);
    world_wait_caught_up(60000);

    expect_error(port, "GET", "/v1/tiers", NULL, 401, "unauthorized");
    expect_error(port, "GET", "/v1/tiers", "Authorization: Bearer wrong\r\n", 401,
                 "unauthorized");
    expect_error(port, "GET", "/v1/tiers", "Authorization: Bearer s3cret-t0ke\r\n",
                 401, "unauthorized");
    expect_error(port, "GET", "/v1/tiers",
                 "Authorization: Bearer s3cret-t0ken2\r\n", 401, "unauthorized");
    expect_error(port, "GET", "/v1/tiers", "Authorization: Basic czNjcmV0\r\n", 401,
                 "unauthorized");
    /* Even a bad request is refused before it is looked at. */
    expect_error(port, "GET", "/v1/campaigns?limit=0", NULL, 401, "unauthorized");
    validate_kept();
    answer a = http_req(port, "GET", "/v1/tiers", NULL);
    cr_assert(strstr(a.head, "WWW-Authenticate: Bearer") != NULL, "%s", a.head);
    answer_free(&a);
    char hdr[128];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
    a = http_req(port, "GET", "/v1/campaigns/spring%3Asale", hdr);
    json_t *data = data_of(&a, "with the token", "CampaignAnswer");
    cr_assert_eq(jget(json_object_get(data, "totals"), "engagements"), 13);
    json_decref(data);
    answer_free(&a);
    validate_kept();
    /* The monitoring routes never ask for it. */
    cr_assert_eq(harness_http_get(port, "/metrics", NULL), 200);
    cr_assert_eq(harness_http_get(port, "/healthz", NULL), 200);
    cr_assert_eq(harness_http_get(port, "/readyz", NULL), 200);
    harness_daemon_stop(d);
    harness_rmtree(dir);
    free(dir);
    world_down();
}

static int api_answers(void *port)
{
    answer a = get(*(int *)port, "/v1/tiers");
    int ok = a.status == 200;
    answer_free(&a);
    return ok;
}

Test(readapi, redis_down_is_503_and_back_is_200, .timeout = 120)
{
    world_up(NULL);
    send_story();
    int port;
    harness_daemon *d = daemon_with_http(&port, NULL);
    world_wait_caught_up(60000);
    cr_assert_eq(api_answers(&port), 1);
    cr_assert_eq(harness_redis_kill(W.redis), 0);
    expect_error(port, "GET", "/v1/tiers", NULL, 503, "unavailable");
    expect_error(port, "GET", "/v1/campaigns/spring%3Asale", NULL, 503,
                 "unavailable");
    answer a = get(port, "/v1/campaigns");
    cr_assert_eq(a.status, 503);
    cr_assert(strstr(a.body, "redis 127.0.0.1:") != NULL, "%s", a.body);
    answer_free(&a);
    validate_kept();
    /* /metrics does not depend on Redis. */
    cr_assert_eq(harness_http_get(port, "/metrics", NULL), 200);
    cr_assert_eq(harness_redis_restart(W.redis), 0);
    cr_assert_eq(harness_wait(api_answers, &port, 30000), 0);
    a = get(port, "/v1/campaigns/spring%3Asale");
    json_t *data = data_of(&a, "after the restart", "CampaignAnswer");
    cr_assert_eq(jget(json_object_get(data, "totals"), "engagements"), 13);
    json_decref(data);
    answer_free(&a);
    validate_kept();
    harness_daemon_stop(d);
    world_down();
}

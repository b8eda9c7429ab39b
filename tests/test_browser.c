/*
 * Integration: the campaign page (daemon/page/) in a real headless Chromium
 * (tests/browser.py) against the real daemon, a real Redis and the mock
 * Kafka cluster.  What the page rendered, text as a reader sees it, is
 * compared with the hashes in Redis and with the ground truth (oracle.c),
 * which world_assert_truth() has first held equal to Redis; one campaign's
 * figures are also worked out by hand in the comments.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "page.h"
#include "world.h"

TestSuite(browser, .timeout = 240);

#define DASH "\xe2\x80\x93"   /* U+2013: the page's "no value" */

/* --- the daemon's HTTP port ------------------------------------------------ */

/*
 * The port `pid` listens on at 127.0.0.1 ([http] listen = 127.0.0.1:0):
 * its sockets' inodes from /proc/PID/fd, matched with the listening
 * sockets of /proc/PID/net/tcp.  0 while there is none.
 */
static int listening_port(pid_t pid)
{
    char path[64];
    unsigned long inodes[256];
    size_t n = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        char link[400], target[64];
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = 0;
        if (sscanf(target, "socket:[%lu]", &inodes[n]) == 1)
            n++;
    }
    closedir(d);
    snprintf(path, sizeof path, "/proc/%d/net/tcp", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[512];
    int port = 0;
    while (port == 0 && fgets(line, sizeof line, f)) {
        unsigned addr, lport, st;
        unsigned long inode;
        if (sscanf(line, " %*d: %x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*d %*d %lu",
                   &addr, &lport, &st, &inode) != 4)
            continue;
        if (st != 0x0A || addr != 0x0100007F)   /* LISTEN on 127.0.0.1 */
            continue;
        for (size_t i = 0; i < n; i++)
            if (inodes[i] == inode)
                port = (int)lport;
    }
    fclose(f);
    return port;
}

static int http_port;

static int http_is_up(void *arg)
{
    http_port = listening_port(harness_daemon_pid(arg));
    return http_port > 0 && harness_http_get(http_port, "/healthz", NULL) > 0;
}

/*
 * A daemon serving the page on a port of its choosing (http_port), with
 * `http` (may be NULL) added to its [http] section.
 */
static harness_daemon *start_daemon(const char *http)
{
    char extra[1024];
    snprintf(extra, sizeof extra, "[http]\nlisten = 127.0.0.1:0\n%s",
             http ? http : "");
    harness_daemon *d = world_daemon(extra);
    cr_assert_eq(harness_wait(http_is_up, d, 30000), 0,
                 "the daemon serves no HTTP on 127.0.0.1");
    static const char *const files[] = {"/", "/index.html", "/app.js",
                                        "/app.css"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *body = NULL;
        int status = harness_http_get(http_port, files[i], &body);
        const page_asset *a = page_find(files[i]);
        cr_assert_eq(status, 200, "GET %s answered %d: the HTTP server must "
                     "serve page_find()'s files (daemon/page.h)", files[i],
                     status);
        cr_assert(body && strlen(body) == a->len &&
                  memcmp(body, a->data, a->len) == 0,
                  "GET %s: not the embedded file", files[i]);
        free(body);
    }
    return d;
}

/* --- the browser ------------------------------------------------------------- */

/* `s` percent-encoded as encodeURIComponent does (unreserved kept). */
static void url_encode(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        cr_assert_lt(o + 4, size);
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-_.!~*'()", *p))
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, size - o, "%%%02X", *p);
    }
    out[o] = 0;
}

/*
 * Runs tests/browser.py on the daemon's page with `args` (shell words,
 * already quoted) and returns its JSON, asserting it ran.  The URL's
 * fragment selects `campaign` (NULL: the page's default).
 */
static json_t *browse(const char *campaign, const char *args)
{
    const char *root = getenv("ENGAGED_ROOT");
    const char *python = getenv("ENGAGED_PYTHON");
    char frag[512] = "", cmd[4096];
    if (campaign != NULL) {
        char enc[400];
        url_encode(campaign, enc, sizeof enc);
        snprintf(frag, sizeof frag, "#campaign=%s", enc);
    }
    char *dir = harness_tmpdir();
    cr_assert_not_null(dir);
    snprintf(cmd, sizeof cmd,
             "'%s' '%s/tests/browser.py' 'http://127.0.0.1:%d/%s' "
             "--timeout 30 %s >'%s/page.json' 2>'%s/browser.log'",
             python && *python ? python : "/usr/bin/python3",
             root && *root ? root : ".", http_port, frag, args ? args : "",
             dir, dir);
    int rc = harness_run(cmd, NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/browser.log", dir);
    char *log = harness_read_file(path, NULL);
    cr_assert_eq(rc, 0, "%s: exit status %d: %s", cmd, rc, log ? log : "");
    free(log);
    snprintf(path, sizeof path, "%s/page.json", dir);
    json_error_t err;
    json_t *page = json_load_file(path, 0, &err);
    cr_assert_not_null(page, "browser.py's output: %s", err.text);
    harness_rmtree(dir);
    free(dir);
    /* Served under the policy the page is written for (docs/page.md),
     * which Chromium enforced: */
    json_t *headers = json_object_get(json_object_get(page, "document"),
                                      "headers");
    const char *csp = json_string_value(
        json_object_get(headers, "content-security-policy"));
    cr_assert(csp && strstr(csp, "default-src 'none'") &&
                  strstr(csp, "script-src 'self'") &&
                  strstr(csp, "style-src 'self'") &&
                  strstr(csp, "connect-src 'self'"),
              "the page's Content-Security-Policy: %s", csp ? csp : "none");
    /* and it caused no exception and no violation. */
    json_t *errors = json_object_get(page, "errors");
    cr_assert(json_is_array(errors));
    if (json_array_size(errors) > 0) {
        char *s = json_dumps(errors, 0);
        cr_assert_fail("the page logged errors: %s", s);
        free(s);
    }
    return page;
}

/* Whether the string member `key` of `obj` is `want`. */
static bool str_is(json_t *obj, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v != NULL && strcmp(v, want) == 0;
}

/*
 * The hook whose data-testid is `testid` and whose data-* attributes
 * include k1 = v1 and k2 = v2 (NULL keys are not checked), or NULL.
 */
static json_t *hook(json_t *page, const char *testid, const char *k1,
                    const char *v1, const char *k2, const char *v2)
{
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(page, "hooks"), i, h) {
        json_t *data = json_object_get(h, "data");
        if (str_is(h, "testid", testid) && (!k1 || str_is(data, k1, v1)) &&
            (!k2 || str_is(data, k2, v2)))
            return h;
    }
    return NULL;
}

static const char *text(json_t *h)
{
    return json_string_value(json_object_get(h, "text"));
}

static int visible(json_t *h)
{
    return json_is_true(json_object_get(h, "visible"));
}

static size_t count_hooks(json_t *page, const char *testid)
{
    size_t i, n = 0;
    json_t *h;
    json_array_foreach(json_object_get(page, "hooks"), i, h)
        n += strcmp(json_string_value(json_object_get(h, "testid")),
                    testid) == 0;
    return n;
}

/* --- what the page must show ------------------------------------------------- */

/* 1234567 as "1,234,567", the page's format. */
static void thousands(int64_t v, char *out, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%" PRId64, v < 0 ? -v : v);
    size_t o = 0;
    if (v < 0)
        out[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = 0;
    cr_assert_lt(o, size);
}

/* The page shows count `want` as `got`. */
static void expect_count(const char *got, int64_t want, const char *what)
{
    char s[40];
    thousands(want, s, sizeof s);
    cr_expect(got && strcmp(got, s) == 0, "%s: the page shows \"%s\", "
              "expected %s", what, got ? got : "(nothing)", s);
}

/*
 * The page shows num / den as a percentage with two decimals, or the dash
 * when den is 0.  The last digit may differ by one from C's rounding of
 * the same double (JavaScript rounds ties up).
 */
static void expect_ratio(const char *got, int64_t num, int64_t den,
                         const char *what)
{
    if (den == 0) {
        cr_expect(got && strcmp(got, DASH) == 0,
                  "%s: \"%s\", expected the dash (no divisor)", what, got);
        return;
    }
    double want = 100.0 * (double)num / (double)den, v = -1;
    char pct[8] = "";
    int ok = got && sscanf(got, "%lf%7s", &v, pct) == 2 &&
             strcmp(pct, "%") == 0 && strchr(got, '.') &&
             strlen(strchr(got, '.')) == 4;  /* ".dd%" */
    cr_expect(ok && fabs(v - want) <= 0.005 + 1e-9,
              "%s: the page shows \"%s\", expected %.4f%%", what,
              got ? got : "(nothing)", want);
}

static const char *const tiers[] = {"nano", "micro", "mid", "macro", "mega",
                                    "unknown"};
static const char *const counts[] = {"creators", "reach", "posts",
                                     "engagements", "clicks", "conversions"};

/*
 * A count of campaign `id`, from Redis (its hash; an absent field is 0),
 * after checking it equals the oracle's.
 */
static int64_t truth(const char *id, const char *field)
{
    char key[300];
    snprintf(key, sizeof key, "eng:campaign:%s", id);
    int64_t r = world_hget_int(key, field), o = -1;
    if (r < 0)
        r = 0;
    cr_assert_eq(oracle_campaign_count(W.truth, id, field, &o), 0,
                 "the oracle has no %s for %s", field, id);
    cr_assert_eq(r, o, "%s %s: Redis %" PRId64 ", oracle %" PRId64, key,
                 field, r, o);
    return r;
}

/*
 * Every figure the page rendered for campaign `id` equals Redis's and the
 * oracle's: totals, the tier table, the days of the chart, the top
 * creators; and the alerts it lists are the stream's.
 */
static void expect_campaign(json_t *page, const char *id)
{
    cr_assert_str_eq(json_string_value(json_object_get(page, "state")),
                     "ready");
    cr_assert_str_eq(json_string_value(json_object_get(page, "campaign")), id);
    json_t *title = hook(page, "campaign-id", NULL, NULL, NULL, NULL);
    cr_assert(title && visible(title));
    cr_expect_str_eq(text(title), id, "the title is the id, as text");

    char what[400], f[64];
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        snprintf(what, sizeof what, "%s: total %s", id, counts[c]);
        expect_count(text(hook(page, "total", "field", counts[c], NULL, NULL)),
                     truth(id, counts[c]), what);
    }
    snprintf(what, sizeof what, "%s: total ER", id);
    expect_ratio(text(hook(page, "total", "field", "er", NULL, NULL)),
                 truth(id, "engagements"), truth(id, "reach"), what);
    snprintf(what, sizeof what, "%s: total conversion rate", id);
    expect_ratio(text(hook(page, "total", "field", "conversion_rate", NULL,
                           NULL)),
                 truth(id, "conversions"), truth(id, "clicks"), what);

    for (size_t t = 0; t < sizeof tiers / sizeof tiers[0]; t++) {
        const char *tn = tiers[t];
        snprintf(f, sizeof f, "%s.creators", tn);
        bool shown = hook(page, "tier-cell", "tier", tn, "field",
                          "engagements") != NULL;
        if (strcmp(tn, "unknown") == 0) {
            /* Listed when the campaign has figures under it. */
            cr_expect_eq(shown, truth(id, f) > 0, "%s: unknown tier shown: %d",
                         id, shown);
            if (!shown)
                continue;
        }
        cr_assert(shown, "%s: no row for tier %s", id, tn);
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            snprintf(f, sizeof f, "%s.%s", tn, counts[c]);
            snprintf(what, sizeof what, "%s: %s", id, f);
            expect_count(text(hook(page, "tier-cell", "tier", tn, "field",
                                   counts[c])),
                         truth(id, f), what);
        }
        int64_t eng, reach, conv, clicks;
        snprintf(f, sizeof f, "%s.engagements", tn);
        eng = truth(id, f);
        snprintf(f, sizeof f, "%s.reach", tn);
        reach = truth(id, f);
        snprintf(f, sizeof f, "%s.conversions", tn);
        conv = truth(id, f);
        snprintf(f, sizeof f, "%s.clicks", tn);
        clicks = truth(id, f);
        snprintf(what, sizeof what, "%s: %s ER", id, tn);
        expect_ratio(text(hook(page, "tier-cell", "tier", tn, "field", "er")),
                     eng, reach, what);
        snprintf(what, sizeof what, "%s: %s conversion rate", id, tn);
        expect_ratio(text(hook(page, "tier-cell", "tier", tn, "field",
                               "conversion_rate")),
                     conv, clicks, what);
    }

    /* The chart: one bar per day, each day's figures as in its hash. */
    size_t i, days = 0;
    json_t *h;
    int64_t chart_sum = 0;
    json_array_foreach(json_object_get(page, "hooks"), i, h) {
        if (strcmp(json_string_value(json_object_get(h, "testid")),
                   "chart-day"))
            continue;
        json_t *data = json_object_get(h, "data");
        const char *date = json_string_value(json_object_get(data, "date"));
        char key[400];
        snprintf(key, sizeof key, "eng:campaign_day:%s:%s", id, date);
        static const char *const dayf[] = {"engagements", "conversions"};
        for (size_t x = 0; x < 2; x++) {
            int64_t r = world_hget_int(key, dayf[x]), o = -1;
            if (r < 0)
                r = 0;
            cr_assert_eq(oracle_campaign_day(W.truth, id, date, dayf[x], &o),
                         0);
            cr_expect_eq(r, o, "%s %s: Redis %" PRId64 ", oracle %" PRId64,
                         key, dayf[x], r, o);
            const char *shown =
                json_string_value(json_object_get(data, dayf[x]));
            cr_expect(shown && strtoll(shown, NULL, 10) == r,
                      "%s: the chart's %s %s, Redis %" PRId64, key, dayf[x],
                      shown, r);
        }
        chart_sum += world_hget_int(key, "engagements") > 0
                         ? world_hget_int(key, "engagements")
                         : 0;
        days++;
    }
    cr_expect_gt(days, 0, "%s: no day in the chart", id);
    cr_expect_leq(days, 31);
    /* When the campaign lasted at most 31 days, the chart holds them all. */
    char key[300];
    snprintf(key, sizeof key, "eng:campaign:%s", id);
    int64_t first = world_hget_int(key, "first_ms"),
            last = world_hget_int(key, "last_ms");
    if (last / DAY - first / DAY < 31) {
        cr_expect_eq((int64_t)days, last / DAY - first / DAY + 1,
                     "%s: %zu days in the chart", id, days);
        cr_expect_eq(chart_sum, truth(id, "engagements"),
                     "%s: the chart's days sum to %" PRId64, id, chart_sum);
    }

    /* The top creators, most engagements first, ties the greater id first. */
    char ids[20][ORACLE_ID_MAX];
    int64_t eng[20];
    size_t n = oracle_campaign_top(W.truth, id, 20, ids, eng);
    cr_assert_gt(n, 0);
    cr_expect_eq(count_hooks(page, "top-creator"), n, "%s: %zu top rows", id,
                 count_hooks(page, "top-creator"));
    for (size_t r = 0; r < n; r++) {
        char rank[24], zkey[300];
        snprintf(rank, sizeof rank, "%zu", r + 1);
        snprintf(zkey, sizeof zkey, "eng:campaign_creators:%s", id);
        redisReply *z = redisCommand(harness_redis_ctx(W.redis), "ZSCORE %s %s",
                                     zkey, ids[r]);
        cr_assert(z && z->type == REDIS_REPLY_STRING);
        cr_expect_eq(strtoll(z->str, NULL, 10), eng[r], "%s %s", zkey, ids[r]);
        freeReplyObject(z);
        const char *who = text(hook(page, "top-cell", "rank", rank, "field",
                                    "creator_id"));
        cr_expect(who && strcmp(who, ids[r]) == 0,
                  "%s: top creator %s is \"%s\", expected %s", id, rank, who,
                  ids[r]);
        snprintf(what, sizeof what, "%s: top creator %s's engagements", id,
                 rank);
        expect_count(text(hook(page, "top-cell", "rank", rank, "field",
                               "engagements")),
                     eng[r], what);
    }

    /* Alerts: at most 20, each one of the stream's, this campaign's first. */
    redisReply *x = redisCommand(harness_redis_ctx(W.redis),
                                 "XREVRANGE eng:alerts + - COUNT 200");
    cr_assert(x && x->type == REDIS_REPLY_ARRAY);
    size_t shown = count_hooks(page, "alert");
    cr_expect_eq(shown, x->elements < 20 ? x->elements : 20,
                 "%zu alerts shown of %zu", shown, x->elements);
    bool others = false;
    json_array_foreach(json_object_get(page, "hooks"), i, h) {
        if (strcmp(json_string_value(json_object_get(h, "testid")), "alert"))
            continue;
        json_t *data = json_object_get(h, "data");
        const char *aid = json_string_value(json_object_get(data, "alertId"));
        bool related = strcmp(json_string_value(json_object_get(data,
                                                                "related")),
                              "yes") == 0;
        cr_expect(!(related && others), "a campaign's alert after others");
        others |= !related;
        bool found = false;
        for (size_t e = 0; e < x->elements && !found; e++) {
            redisReply *fv = x->element[e]->element[1];
            for (size_t k = 0; k + 1 < fv->elements; k += 2)
                if (strcmp(fv->element[k]->str, "alert") == 0) {
                    json_t *a = json_loads(fv->element[k + 1]->str, 0, NULL);
                    found = a && aid && str_is(a, "alert_id", aid);
                    if (found && related) {
                        const char *who = json_string_value(
                            json_object_get(a, "creator_id"));
                        bool top = false;
                        for (size_t r = 0; r < n; r++)
                            top |= strcmp(ids[r], who) == 0;
                        cr_expect(top || strstr(fv->element[k + 1]->str, id),
                                  "alert %s marked as %s's", aid, id);
                    }
                    json_decref(a);
                }
        }
        cr_expect(found, "alert %s is not among the stream's latest", aid);
    }
    freeReplyObject(x);
}

/* --- the events ---------------------------------------------------------------- */

/* A campaign id a page must show as text, never as markup. */
#define HOSTILE "q4:<img src=x onerror=alert(1)> & co"
#define DAY_A (T0 + 21 * DAY)   /* after the mixed stream's 20 days */
#define DAY_B (T0 + 22 * DAY)

static void send_one(const char *creator, int type, int64_t ts, int action,
                 int64_t count, int64_t followers, const char *post,
                 const char *campaign, bool sponsored)
{
    oracle_event e = world_engagement(creator, ts, action, count);
    e.type = type;
    e.followers = followers;
    e.sponsored = sponsored;
    snprintf(e.post_id, sizeof e.post_id, "%s", post ? post : "");
    snprintf(e.campaign, sizeof e.campaign, "%s", campaign ? campaign : "");
    world_send(e);
}

/*
 * Campaign HOSTILE, by hand:
 *   h1: 20,000 followers (micro); its sponsored post p-h1 for the campaign;
 *       on it 1,200 likes and 34 comments (day A), 500 clicks and 25
 *       conversions (day B).
 *   h2: 2,500,000 followers (mega); its post p-h2 for the campaign; on it
 *       56,789 shares, 1,000 saves and 1,000,000 views (day B).
 *   h3: followers unknown; 7 likes naming the campaign (day A).
 * Totals: 3 creators, reach 2,520,000, 2 posts, 59,030 engagements (1,207
 * likes + 34 + 56,789 + 1,000), ER 2.34%, 500 clicks, 25 conversions, 5.00%.
 */
static void send_hostile_campaign(void)
{
    send_one("h1", 2, DAY_A, 0, 0, 20000, NULL, NULL, false);
    send_one("h2", 2, DAY_A, 0, 0, 2500000, NULL, NULL, false);
    send_one("h1", 1, DAY_A + HOUR, 0, 0, -1, "p-h1", HOSTILE, true);
    send_one("h2", 1, DAY_A + 4 * HOUR, 0, 0, -1, "p-h2", HOSTILE, false);
    send_one("h1", 0, DAY_A + 2 * HOUR, 0, 1200, -1, "p-h1", NULL, false);
    send_one("h1", 0, DAY_A + 3 * HOUR, 1, 34, -1, "p-h1", NULL, false);
    send_one("h3", 0, DAY_A + 5 * HOUR, 0, 7, -1, NULL, HOSTILE, false);
    send_one("h1", 0, DAY_B + HOUR, 5, 500, -1, "p-h1", NULL, false);
    send_one("h1", 0, DAY_B + 2 * HOUR, 6, 25, -1, "p-h1", NULL, false);
    send_one("h2", 0, DAY_B + 3 * HOUR, 2, 56789, -1, "p-h2", NULL, false);
    send_one("h2", 0, DAY_B + 4 * HOUR, 3, 1000, -1, "p-h2", NULL, false);
    send_one("h2", 0, DAY_B + 5 * HOUR, 4, 1000000, -1, "p-h2", NULL, false);
}

static void expect_hostile_by_hand(json_t *page)
{
    static const struct {
        const char *testid, *tier, *field, *want;
    } cells[] = {
        {"total", NULL, "creators", "3"},
        {"total", NULL, "reach", "2,520,000"},
        {"total", NULL, "posts", "2"},
        {"total", NULL, "engagements", "59,030"},
        {"total", NULL, "er", "2.34%"},          /* 59,030 / 2,520,000 */
        {"total", NULL, "clicks", "500"},
        {"total", NULL, "conversions", "25"},
        {"total", NULL, "conversion_rate", "5.00%"},
        {"tier-cell", "micro", "reach", "20,000"},
        {"tier-cell", "micro", "engagements", "1,234"},
        {"tier-cell", "micro", "er", "6.17%"},   /* 1,234 / 20,000 */
        {"tier-cell", "micro", "conversion_rate", "5.00%"},
        {"tier-cell", "mega", "reach", "2,500,000"},
        {"tier-cell", "mega", "engagements", "57,789"},
        {"tier-cell", "mega", "er", "2.31%"},    /* 57,789 / 2,500,000 */
        {"tier-cell", "mega", "clicks", "0"},
        {"tier-cell", "mega", "conversion_rate", DASH},
        {"tier-cell", "unknown", "creators", "1"},
        {"tier-cell", "unknown", "reach", "0"},
        {"tier-cell", "unknown", "engagements", "7"},
        {"tier-cell", "unknown", "er", DASH},
        {"tier-cell", "nano", "creators", "0"},
        {"top-cell", "1", "creator_id", "h2"},
        {"top-cell", "1", "engagements", "57,789"},
        {"top-cell", "2", "creator_id", "h1"},
        {"top-cell", "2", "engagements", "1,234"},
        {"top-cell", "3", "creator_id", "h3"},
        {"top-cell", "3", "engagements", "7"},
    };
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        const char *key = strcmp(cells[i].testid, "tier-cell") == 0 ? "tier"
                          : strcmp(cells[i].testid, "top-cell") == 0 ? "rank"
                                                                     : NULL;
        json_t *h = hook(page, cells[i].testid, "field", cells[i].field, key,
                         cells[i].tier);
        cr_expect(h && visible(h), "%s %s %s not shown", cells[i].testid,
                  cells[i].tier ? cells[i].tier : "", cells[i].field);
        cr_expect(h && strcmp(text(h), cells[i].want) == 0,
                  "%s %s %s: \"%s\", worked out by hand: %s", cells[i].testid,
                  cells[i].tier ? cells[i].tier : "", cells[i].field,
                  h ? text(h) : "", cells[i].want);
    }
    /* Two days: A (1,200 + 34 + 7 engagements) and B (56,789 + 1,000). */
    cr_expect_eq(count_hooks(page, "chart-day"), 2);
    json_t *b = hook(page, "chart-day", "engagements", "57789", NULL, NULL);
    cr_expect(b != NULL, "no day of 57,789 engagements in the chart");
    cr_expect(hook(page, "chart-day", "engagements", "1241", NULL, NULL),
              "no day of 1,241 engagements in the chart");
}

static void expect_list(json_t *page)
{
    /* The list: every campaign, the most recently active first. */
    redisReply *z = redisCommand(harness_redis_ctx(W.redis),
                                 "ZREVRANGE eng:campaigns 0 -1 WITHSCORES");
    cr_assert(z && z->type == REDIS_REPLY_ARRAY);
    size_t n = z->elements / 2, i, k = 0;
    cr_expect_eq(count_hooks(page, "campaign-item"), n < 50 ? n : 50);
    json_t *h;
    json_array_foreach(json_object_get(page, "hooks"), i, h) {
        if (strcmp(json_string_value(json_object_get(h, "testid")),
                   "campaign-item"))
            continue;
        const char *shown = json_string_value(
            json_object_get(json_object_get(h, "data"), "campaign"));
        cr_assert_lt(k, n);
        /* Ties of last_ms may come in either order: compare the scores. */
        char key[300];
        snprintf(key, sizeof key, "eng:campaign:%s", shown);
        cr_expect_eq(world_hget_int(key, "last_ms"),
                     strtoll(z->element[2 * k + 1]->str, NULL, 10),
                     "campaign %zu of the list is %s", k + 1, shown);
        k++;
    }
    freeReplyObject(z);
}

Test(browser, the_page_shows_each_campaign_as_redis_and_the_truth_hold_it)
{
    world_up(NULL);
    /* Campaigns camp:0 .. camp:3 and camp:direct over 20 days. */
    world_send_stream(4000, 80, 19, T0, 20 * DAY);
    send_hostile_campaign();
    harness_daemon *d = start_daemon(NULL);
    world_wait_caught_up(90000);
    world_assert_truth();
    cr_assert_geq(oracle_campaigns(W.truth), 3);

    /* No fragment: the most recently active campaign, HOSTILE. */
    json_t *page = browse(NULL, NULL);
    expect_campaign(page, HOSTILE);
    expect_hostile_by_hand(page);
    expect_list(page);
    json_t *b = hook(page, "banner-notready", NULL, NULL, NULL, NULL);
    cr_expect(b && !visible(b), "not-ready banner shown: %s", text(b));
    b = hook(page, "banner-stale", NULL, NULL, NULL, NULL);
    cr_expect(b && !visible(b), "stale banner shown: %s", text(b));
    b = hook(page, "banner-error", NULL, NULL, NULL, NULL);
    cr_expect(b && !visible(b), "error banner shown: %s", text(b));
    json_decref(page);

    /* Selected by the fragment, percent-encoded: two of the stream's. */
    static const char *const picks[] = {"camp:1", "camp:direct", HOSTILE};
    for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
        page = browse(picks[i], NULL);
        expect_campaign(page, picks[i]);
        json_decref(page);
    }

    world_daemon_stop_clean(d);
    world_down();
}

/*
 * The banners: "not ready" while Redis is down from the start (nothing to
 * show), then, with data shown once, STALE after three refreshes failed
 * because Redis went away, the last figures still on the page.
 */
Test(browser, the_page_says_when_engaged_is_not_ready_and_when_it_is_stale)
{
    world_up(NULL);
    cr_assert_eq(harness_redis_kill(W.redis), 0);
    harness_daemon *d = start_daemon(NULL);
    json_t *page = browse(NULL, "--state error --renders 0");
    json_t *b = hook(page, "banner-notready", NULL, NULL, NULL, NULL);
    cr_expect(b && visible(b) && strstr(text(b), "not ready"),
              "no not-ready banner: %s", b ? text(b) : "");
    b = hook(page, "banner-error", NULL, NULL, NULL, NULL);
    cr_expect(b && visible(b), "no error banner");
    cr_expect_eq(json_integer_value(json_object_get(page, "renders")), 0);
    json_decref(page);

    cr_assert_eq(harness_redis_restart(W.redis), 0);
    send_hostile_campaign();
    world_wait_caught_up(60000);
    world_assert_truth();
    char then[256];
    snprintf(then, sizeof then,
             "--then 'redis-cli -p %d shutdown nosave' "
             "--until 'document.body.dataset.stale === \"yes\"'",
             harness_redis_port(W.redis));
    page = browse(NULL, then);
    b = hook(page, "banner-stale", NULL, NULL, NULL, NULL);
    cr_expect(b && visible(b) && strncmp(text(b), "STALE", 5) == 0,
              "no stale banner: %s", b ? text(b) : "");
    b = hook(page, "banner-error", NULL, NULL, NULL, NULL);
    cr_expect(b && visible(b), "no error banner");
    /* The figures of the last good refresh stay. */
    cr_expect_geq(json_integer_value(json_object_get(page, "renders")), 1);
    b = hook(page, "total", "field", "engagements", NULL, NULL);
    cr_expect(b && visible(b) && strcmp(text(b), "59,030") == 0,
              "engagements: %s", b ? text(b) : "");
    json_decref(page);

    cr_assert_eq(harness_redis_restart(W.redis), 0);
    world_daemon_stop_clean(d);
    world_down();
}

/*
 * With [http] token_file, the page asks for the token, says when one is
 * refused, and with the right one shows the campaign (every request then
 * carries it: the API answers nothing without).
 */
Test(browser, the_page_asks_for_the_token_and_sends_it)
{
    world_up(NULL);
    char *dir = harness_tmpdir();
    cr_assert_not_null(dir);
    char path[512], http[600];
    snprintf(path, sizeof path, "%s/token", dir);
    cr_assert_eq(harness_write_file(path, "s3cret-t0ken\n", 13), 0);
    snprintf(http, sizeof http, "token_file = %s\n", path);
    send_hostile_campaign();
    harness_daemon *d = start_daemon(http);
    world_wait_caught_up(60000);
    world_assert_truth();
    cr_assert_eq(harness_http_get(http_port, "/v1/tiers", NULL), 401,
                 "the API answers without the token");

    json_t *page = browse(NULL, "--token wrong --state auth --renders 0 "
                                "--until 'document.getElementById("
                                "\"auth-msg\").textContent !== \"\"'");
    json_t *form = hook(page, "auth", NULL, NULL, NULL, NULL);
    cr_expect(form && visible(form) && strstr(text(form), "refused"),
              "no refusal: %s", form ? text(form) : "");
    cr_expect_eq(json_integer_value(json_object_get(page, "renders")), 0);
    char *all = json_dumps(page, 0);
    cr_expect_null(strstr(all, "59,030"), "figures shown without the token");
    free(all);
    json_decref(page);

    page = browse(NULL, "--token s3cret-t0ken");
    expect_campaign(page, HOSTILE);
    expect_hostile_by_hand(page);
    form = hook(page, "auth", NULL, NULL, NULL, NULL);
    cr_expect(form && !visible(form), "the token form stays");
    json_decref(page);

    world_daemon_stop_clean(d);
    world_down();
    harness_rmtree(dir);
    free(dir);
}

/*
 * Alerts end to end: the generator's three stories (a mega-influencer whose
 * engagement collapses and recovers, two beverage brands ten days apart, a
 * macro creator crossing a million followers) through the real daemon,
 * a real Redis and the mock Kafka cluster.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "world.h"

#define STORY_CONFIG                                                          \
    "[conflict]\nbrand.pepsi = beverages\nbrand.coca-cola = beverages\n"

/* Runs the generator with the stories; returns how many events it sent. */
static int64_t produce_stories(void)
{
    const char *gen = harness_gen_path();
    cr_assert_not_null(gen);
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s -b %s -t " TOPIC " --stories -n 20000 "
             "-c 800 --days 30 --seed 42 --start 2026-10-01T00:00:00Z -q",
             gen, harness_kafka_bootstrap(W.kafka));
    cr_assert_eq(harness_run(cmd, &out), 0, "engaged-gen failed: %s", out);
    long long n = 0;
    const char *p = strstr(out, "produced ");
    cr_assert(p && sscanf(p, "produced %lld", &n) == 1, "%s", out);
    free(out);
    return n;
}

typedef struct progress {
    const char *key;       /* the offsets hash */
    int64_t want;
} progress;

static int64_t offsets_sum(const char *key)
{
    redisReply *r = redisCommand(harness_redis_ctx(W.redis), "HVALS %s", key);
    int64_t sum = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        sum += strtoll(r->element[i]->str, NULL, 10);
    freeReplyObject(r);
    return sum;
}

static int reached(void *arg)
{
    const progress *p = arg;
    return offsets_sum(p->key) >= p->want;
}

/* The alerts of the Redis stream <prefix>alerts, as JSON strings. */
static size_t stream_alerts(const char *prefix, char ***out)
{
    redisReply *r = redisCommand(harness_redis_ctx(W.redis), "XRANGE %salerts - +",
                                 prefix);
    cr_assert(r && r->type == REDIS_REPLY_ARRAY);
    *out = calloc(r->elements + 1, sizeof **out);
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *fields = r->element[i]->element[1];
        cr_assert_eq(fields->elements, 2);
        cr_assert_str_eq(fields->element[0]->str, "alert");
        (*out)[i] = strdup(fields->element[1]->str);
    }
    size_t n = r->elements;
    freeReplyObject(r);
    return n;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Validates every alert with python3-jsonschema against the schema. */
static void assert_schema_valid(char **alerts, size_t n)
{
    char *dir = harness_tmpdir();
    char path[1024];
    snprintf(path, sizeof path, "%s/alerts.ndjson", dir);
    FILE *f = fopen(path, "w");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", alerts[i]);
    fclose(f);
    const char *root = getenv("ENGAGED_ROOT");
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 - '%s/schemas/alert.schema.json' '%s' <<'EOF'\n"
             "import json, sys\n"
             "from jsonschema import Draft202012Validator\n"
             "schema = json.load(open(sys.argv[1]))\n"
             "v = Draft202012Validator(schema)\n"
             "bad = 0\n"
             "for line in open(sys.argv[2]):\n"
             "    for e in v.iter_errors(json.loads(line)):\n"
             "        print(e.message, '|', line.strip()); bad += 1\n"
             "print('validated', sum(1 for _ in open(sys.argv[2])))\n"
             "sys.exit(1 if bad else 0)\n"
             "EOF",
             root ? root : ".", path);
    int rc = harness_run(cmd, &out);
    cr_assert_eq(rc, 0, "alerts not valid against the schema: %s", out);
    free(out);
    harness_rmtree(dir);
    free(dir);
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The one alert of kind/status for creator, or NULL (asserts unique). */
static json_t *find(char **alerts, size_t n, const char *kind,
                    const char *status, const char *creator)
{
    json_t *found = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_loads(alerts[i], 0, NULL);
        cr_assert_not_null(a);
        if (strcmp(jstr(a, "kind"), kind) == 0 &&
            strcmp(jstr(a, "status"), status) == 0 &&
            strcmp(jstr(a, "creator_id"), creator) == 0) {
            cr_assert_null(found, "two %s %s alerts for %s", kind, status,
                           creator);
            found = a;
        } else {
            json_decref(a);
        }
    }
    return found;
}

static harness_daemon *start(const char *group, const char *prefix,
                             const char *alerts_topic)
{
    char conf[8192];
    snprintf(conf, sizeof conf,
             "%s" STORY_CONFIG "[kafka]\ngroup.id = %s\nalerts.topic = %s\n"
             "[redis]\nprefix = %s\n[checkpoint]\ninterval_ms = 50\n"
             "max_events = 2000\n[log]\nlevel = notice\n",
             W.config, group, alerts_topic, prefix);
    harness_daemon *d = harness_daemon_start(conf);
    cr_assert_not_null(d);
    return d;
}

Test(alerts, the_six_stories_alert_once_each_and_a_crash_changes_nothing,
     .timeout = 240)
{
    world_up(NULL);
    int64_t n = produce_stories();
    cr_assert_gt(n, 20000);

    /* An uninterrupted run. */
    harness_daemon *a = start("g1", "a:", ALERTS);
    progress pa = {"a:offsets:g1", n};
    cr_assert_eq(harness_wait(reached, &pa, 90000), 0, "run a did not finish");
    harness_daemon_stop(a);

    char **alerts;
    size_t na = stream_alerts("a:", &alerts);
    cr_assert_eq(na, 8, "want decay firing+resolved, conflict, tier change, "
                        "spike firing+resolved, follower jump, saturation; "
                        "got %zu", na);
    assert_schema_valid(alerts, na);

    json_t *fire = find(alerts, na, "engagement_decay", "firing", "story-mega");
    json_t *res = find(alerts, na, "engagement_decay", "resolved", "story-mega");
    cr_assert(fire && res);
    cr_assert_str_eq(jstr(fire, "severity"), "critical");
    cr_assert_str_eq(jstr(fire, "tier"), "mega");
    cr_assert_str_eq(jstr(res, "alert_id"), jstr(fire, "alert_id"),
                     "firing and resolved share their alert_id");
    cr_assert_str_eq(jstr(res, "starts_at"), jstr(fire, "starts_at"));
    cr_assert(json_is_null(json_object_get(fire, "ends_at")));
    cr_assert(json_is_string(json_object_get(res, "ends_at")));
    double ratio = json_number_value(
        json_object_get(json_object_get(fire, "details"), "ratio"));
    cr_assert_lt(ratio, 0.25);

    json_t *conflict = find(alerts, na, "brand_conflict", "firing",
                            "story-conflict");
    cr_assert_not_null(conflict);
    json_t *details = json_object_get(conflict, "details");
    cr_assert_str_eq(jstr(details, "sector"), "beverages");
    json_t *brands = json_object_get(details, "brands");
    cr_assert_str_eq(json_string_value(json_array_get(brands, 0)), "pepsi",
                     "the earlier post's brand first");
    cr_assert_str_eq(json_string_value(json_array_get(brands, 1)), "coca-cola");

    json_t *tier = find(alerts, na, "tier_change", "firing", "story-rising");
    cr_assert_not_null(tier);
    details = json_object_get(tier, "details");
    cr_assert_str_eq(jstr(details, "from"), "macro");
    cr_assert_str_eq(jstr(details, "to"), "mega");
    cr_assert_geq(json_integer_value(json_object_get(details, "followers")),
                  1000000);
    json_decref(fire);
    json_decref(res);
    json_decref(conflict);
    json_decref(tier);

    /* story-spike (tools/gen.c): 20,000 followers, about 3.2 engagements
     * an hour, then an hour of likes of 150 each from day 20 15:00 (here
     * 2026-10-21T15:00Z): the second like takes the hour to 300 (over 1%
     * of its followers), 90-odd times the prediction: critical, likes
     * only, resolved within two hours of the burst's end. */
    fire = find(alerts, na, "engagement_spike", "firing", "story-spike");
    res = find(alerts, na, "engagement_spike", "resolved", "story-spike");
    cr_assert(fire && res);
    cr_assert_str_eq(jstr(fire, "severity"), "critical");
    cr_assert_str_eq(jstr(fire, "tier"), "micro");
    cr_assert_str_eq(jstr(res, "alert_id"), jstr(fire, "alert_id"));
    cr_assert(strncmp(jstr(fire, "starts_at"), "2026-10-21T15:", 14) == 0,
              "%s", jstr(fire, "starts_at"));
    cr_assert(strncmp(jstr(res, "ends_at"), "2026-10-21T16:", 14) == 0 ||
                  strncmp(jstr(res, "ends_at"), "2026-10-21T17:", 14) == 0,
              "%s", jstr(res, "ends_at"));
    details = json_object_get(fire, "details");
    cr_assert(json_is_true(json_object_get(details, "likes_only")));
    cr_assert_eq(json_integer_value(json_object_get(details, "current")) % 150,
                 0, "the burst's likes alone: 300 or more, whole likes");
    cr_assert_geq(json_number_value(json_object_get(details, "multiple")), 10);

    /* story-jump: +10,000 followers at day 12 09:00 (2026-10-13T09:00Z)
     * from a flat 30,000: one alert, a round number. */
    json_t *jump = find(alerts, na, "follower_jump", "firing", "story-jump");
    cr_assert_not_null(jump);
    cr_assert_str_eq(jstr(jump, "starts_at"), "2026-10-13T09:00:00Z");
    details = json_object_get(jump, "details");
    int64_t from = json_integer_value(json_object_get(details, "from"));
    int64_t to = json_integer_value(json_object_get(details, "to"));
    cr_assert_eq(from, 30000);
    cr_assert_eq(to, 40000);
    cr_assert(json_is_true(json_object_get(details, "round")));
    cr_assert_str_eq(jstr(jump, "tier"), "micro");
    json_decref(fire);
    json_decref(res);
    json_decref(jump);

    /* story-saturated: 60,000 followers (mid, limit 20%), two posts a day,
     * all sponsored from day 14 (2026-10-15) to day 22: the share passes
     * 20% at day 17.5, and fires a day later at its first evaluation:
     * 2026-10-19, warning; brands of four sectors, no conflict. */
    json_t *sat = find(alerts, na, "sponsored_saturation", "firing",
                       "story-saturated");
    cr_assert_not_null(sat);
    cr_assert_str_eq(jstr(sat, "severity"), "warning");
    cr_assert_str_eq(jstr(sat, "tier"), "mid");
    cr_assert(strncmp(jstr(sat, "starts_at"), "2026-10-19T", 11) == 0,
              "%s", jstr(sat, "starts_at"));
    details = json_object_get(sat, "details");
    int64_t posts = json_integer_value(json_object_get(details, "posts"));
    int64_t spons = json_integer_value(
        json_object_get(details, "sponsored_posts"));
    cr_assert(spons * 5 > posts, "%lld of %lld posts is over 20%%",
              (long long)spons, (long long)posts);
    cr_assert(spons * 5 < posts * 2, "under 40%%: a warning");
    cr_assert_eq(json_array_size(json_object_get(details, "brands")), 4);
    json_decref(sat);

    /* The creator's hash carries its decay state. */
    char *st = harness_redis_hget(W.redis, "a:creator:story-mega", "decay_state");
    cr_assert_str_eq(st, "ok", "resolved by the end");
    free(st);
    char *ratio_s = harness_redis_hget(W.redis, "a:creator:story-mega",
                                       "decay_ratio");
    cr_assert_not_null(ratio_s);
    cr_assert_geq(strtod(ratio_s, NULL), 0.7);
    free(ratio_s);

    /* Kafka has every one of them too (at least once): the whole topic,
     * read to its end (engaged delivered them before Redis recorded them,
     * and has stopped). */
    size_t nk = 0;
    harness_msg *k = harness_kafka_consume(W.kafka, ALERTS, 0, 30000, &nk);
    cr_assert_geq(nk, na);
    for (size_t i = 0; i < na; i++) {
        bool seen = false;
        for (size_t j = 0; j < nk && !seen; j++)
            seen = k[j].len == strlen(alerts[i]) &&
                   memcmp(k[j].value, alerts[i], k[j].len) == 0;
        cr_assert(seen, "alert not on Kafka: %s", alerts[i]);
    }
    harness_msgs_free(k, nk);

    /* The same stream again, killed twice with SIGKILL on the way. */
    for (int round = 1; round <= 2; round++) {
        harness_daemon *b = start("g2", "b:", ALERTS_B);
        progress pb = {"b:offsets:g2", n * round / 3};
        cr_assert_eq(harness_wait(reached, &pb, 90000), 0);
        cr_assert_eq(harness_daemon_signal(b, SIGKILL), 0);
        int status;
        cr_assert_eq(harness_daemon_wait(b, 10000, &status), 0);
        harness_daemon_stop(b);
    }
    harness_daemon *b = start("g2", "b:", ALERTS_B);
    progress pb = {"b:offsets:g2", n};
    cr_assert_eq(harness_wait(reached, &pb, 90000), 0, "run b did not finish");
    harness_daemon_stop(b);

    char **again;
    size_t nb = stream_alerts("b:", &again);
    cr_assert_eq(nb, na, "no alert lost or doubled in the Redis stream");
    qsort(alerts, na, sizeof *alerts, cmp_str);
    qsort(again, nb, sizeof *again, cmp_str);
    for (size_t i = 0; i < na; i++)
        cr_assert_str_eq(again[i], alerts[i],
                         "the replay decided the same alert, same id");
    /* At least once: a crash between an alert's delivery and its
     * checkpoint delivers it again, so the first nb messages need not hold
     * every alert; read the topic to its end. */
    k = harness_kafka_consume(W.kafka, ALERTS_B, 0, 30000, &nk);
    cr_assert_geq(nk, nb);
    for (size_t i = 0; i < nb; i++) {
        bool seen = false;
        for (size_t j = 0; j < nk && !seen; j++)
            seen = k[j].len == strlen(again[i]) &&
                   memcmp(k[j].value, again[i], k[j].len) == 0;
        cr_assert(seen, "alert lost on Kafka after the crashes: %s", again[i]);
    }
    harness_msgs_free(k, nk);
    free_strings(alerts, na);
    free_strings(again, nb);
    world_down();
}

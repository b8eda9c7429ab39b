/*
 * Unit tests of alert: fingerprints (stable and distinct), the summary, the
 * JSON message of every kind parsed back field by field, and samples of
 * every kind validated against schemas/alert.schema.json with the real
 * python3-jsonschema (as tests/test_event.c does for the event schema).
 */
#include "alert.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY_MS INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)
/* 2026-11-20T08:30:00Z, the issue's example. */
#define T_EX INT64_C(1795163400000)

TestSuite(alert);

/* --- names and fingerprints ------------------------------------------------ */

Test(alert, names_are_those_of_the_message)
{
    cr_assert_str_eq(alert_kind_name(ALERT_ENGAGEMENT_DECAY),
                     "engagement_decay");
    cr_assert_str_eq(alert_kind_name(ALERT_BRAND_CONFLICT), "brand_conflict");
    cr_assert_str_eq(alert_kind_name(ALERT_TIER_CHANGE), "tier_change");
    cr_assert_str_eq(alert_status_name(ALERT_FIRING), "firing");
    cr_assert_str_eq(alert_status_name(ALERT_RESOLVED), "resolved");
    cr_assert_str_eq(alert_severity_name(ALERT_INFO), "info");
    cr_assert_str_eq(alert_severity_name(ALERT_WARNING), "warning");
    cr_assert_str_eq(alert_severity_name(ALERT_CRITICAL), "critical");
}

Test(alert, fingerprints_are_stable_across_builds)
{
    /* Golden values, checked against an independent Python rendering of
     * the algorithm: a change here changes every alert_id in the field,
     * which breaks deduplication across an upgrade. */
    char id[ALERT_ID_LEN + 1];
    alert_id_format(alert_decay_fingerprint("c42", 3, T_EX), id);
    cr_assert_str_eq(id, "e4c7740b887fda59");
    alert_id_format(alert_conflict_fingerprint("c42", 3, "beverages", "pepsi",
                                               "coca-cola", T_EX), id);
    cr_assert_str_eq(id, "f48e4f826b57fcce");
    alert_id_format(alert_tier_change_fingerprint("c42", 3, "macro", "mega",
                                                  T_EX), id);
    cr_assert_str_eq(id, "67005b1bc951e053");
}

Test(alert, fingerprints_are_distinct)
{
    uint64_t d = alert_decay_fingerprint("c42", 3, T_EX);
    cr_assert_eq(d, alert_decay_fingerprint("c42", 3, T_EX), "deterministic");
    cr_assert_neq(d, alert_decay_fingerprint("c43", 3, T_EX));
    cr_assert_neq(d, alert_decay_fingerprint("c42", 3, T_EX + 1));
    cr_assert_eq(d, alert_decay_fingerprint("c42x", 3, T_EX),
                 "only len bytes of the id count");
    /* The kind is part of it. */
    cr_assert_neq(alert_tier_change_fingerprint("c42", 3, "a", "b", T_EX),
                  alert_conflict_fingerprint("c42", 3, "a", "b", "", T_EX));
    /* Field boundaries are part of it. */
    uint64_t ab_c = alert_fp_str(alert_fp_str(ALERT_FP_INIT, "ab"), "c");
    uint64_t a_bc = alert_fp_str(alert_fp_str(ALERT_FP_INIT, "a"), "bc");
    cr_assert_neq(alert_fp_finish(ab_c), alert_fp_finish(a_bc));
    cr_assert_neq(alert_tier_change_fingerprint("c42", 3, "ab", "c", T_EX),
                  alert_tier_change_fingerprint("c42", 3, "a", "bc", T_EX));
    /* Many nearby inputs, no collision and every digit used. */
    enum { N = 2000 };
    static uint64_t seen[N];
    unsigned digits = 0;
    for (int i = 0; i < N; i++) {
        seen[i] = alert_decay_fingerprint("c42", 3, T_EX + (int64_t)i * 1440000);
        for (int j = 0; j < i; j++)
            cr_assert_neq(seen[i], seen[j]);
        char id[ALERT_ID_LEN + 1];
        alert_id_format(seen[i], id);
        digits |= 1u << (id[0] <= '9' ? id[0] - '0' : id[0] - 'a' + 10);
    }
    cr_assert_eq(digits, 0xFFFFu, "the first hex digit takes every value");
}

Test(alert, alert_id_is_16_lower_case_hex_digits)
{
    char id[ALERT_ID_LEN + 1];
    cr_assert_str_eq(alert_id_format(1, id), "0000000000000001");
    cr_assert_str_eq(alert_id_format(UINT64_C(0x9F3C2A7B1D4E8F60), id),
                     "9f3c2a7b1d4e8f60");
    cr_assert_str_eq(alert_id_format(UINT64_MAX, id), "ffffffffffffffff");
}

/* --- samples ---------------------------------------------------------------- */

static alert decay_firing(void)
{
    alert a = {
        .kind = ALERT_ENGAGEMENT_DECAY,
        .status = ALERT_FIRING,
        .severity = ALERT_CRITICAL,
        .fingerprint = alert_decay_fingerprint("c42", 3, T_EX),
        .creator_id = "c42",
        .tier = "mega",
        .starts_at = T_EX,
        .ends_at = 0,
        .decay = {.current_ms = 24 * HOUR_MS, .baseline_ms = 28 * DAY_MS,
                  .current = 1830, .expected = 274501.0 / 27.0,
                  .ratio = 1830.0 / (274501.0 / 27.0)},
    };
    return a;
}

static alert decay_resolved(void)
{
    alert a = decay_firing();
    a.status = ALERT_RESOLVED;
    a.ends_at = T_EX + DAY_MS + 90000;
    a.decay.current = 7500;
    a.decay.expected = 10000.04;
    a.decay.ratio = 0.74999;
    return a;
}

static alert decay_left_tiers(void)
{
    alert a = decay_resolved();
    a.decay.current = 0;
    a.decay.expected = 0;
    a.decay.ratio = NAN;
    a.decay.left_tiers = true;
    return a;
}

static alert conflict_sample(bool campaigns)
{
    alert a = {
        .kind = ALERT_BRAND_CONFLICT,
        .status = ALERT_FIRING,
        .severity = ALERT_WARNING,
        .fingerprint = alert_conflict_fingerprint("c42", 3, "beverages",
                                                  "pepsi", "coca-cola",
                                                  T_EX),
        .creator_id = "c42",
        .tier = "mid",
        .starts_at = T_EX,
        .conflict = {
            .sector = "beverages",
            .brands = {"pepsi", "coca-cola"},
            .post_ids = {"p1", "p2"},
            .campaign_ids = {campaigns ? "k1" : "", NULL},
            .window_ms = 90 * DAY_MS,
            .apart_ms = 10 * DAY_MS + 5 * HOUR_MS,
        },
    };
    return a;
}

static alert tier_sample(void)
{
    alert a;
    alert_tier_change(&a, "c42", "macro", "mega", 1020000, T_EX + 250);
    return a;
}

/* Writes a as JSON and parses it back; the caller decrefs. */
static json_t *round_trip(const alert *a, char **text)
{
    buf b = BUF_INIT;
    cr_assert_eq(alert_json(a, &b), 0);
    buf_append_byte(&b, 0);
    cr_assert_not(buf_failed(&b));
    json_error_t err;
    json_t *o = json_loads(b.data, JSON_REJECT_DUPLICATES, &err);
    cr_assert_not_null(o, "%s: %s", b.data, err.text);
    if (text)
        *text = strdup(b.data);
    buf_free(&b);
    return o;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

/* The keys of o, in order, joined with spaces. */
static void assert_keys(json_t *o, const char *want)
{
    char got[512] = "";
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (got[0])
            strcat(got, " ");
        strcat(got, key);
    }
    cr_assert_str_eq(got, want);
}

#define TOP_KEYS "alert_id kind status severity creator_id tier starts_at " \
                 "ends_at summary labels details"

Test(alert, decay_firing_message_is_the_issue_example)
{
    alert a = decay_firing();
    char *text;
    json_t *o = round_trip(&a, &text);
    assert_keys(o, TOP_KEYS);
    char id[ALERT_ID_LEN + 1];
    cr_assert_str_eq(str(o, "alert_id"), alert_id_format(a.fingerprint, id));
    cr_assert_str_eq(str(o, "kind"), "engagement_decay");
    cr_assert_str_eq(str(o, "status"), "firing");
    cr_assert_str_eq(str(o, "severity"), "critical");
    cr_assert_str_eq(str(o, "creator_id"), "c42");
    cr_assert_str_eq(str(o, "tier"), "mega");
    cr_assert_str_eq(str(o, "starts_at"), "2026-11-20T08:30:00Z");
    cr_assert(json_is_null(json_object_get(o, "ends_at")));
    cr_assert_str_eq(str(o, "summary"),
                     "c42 (mega): engagement over 24h is 18% of its 28d "
                     "baseline");
    json_t *labels = json_object_get(o, "labels");
    assert_keys(labels, "alertname creator_id tier severity");
    cr_assert_str_eq(str(labels, "alertname"), "engagement_decay");
    cr_assert_str_eq(str(labels, "creator_id"), "c42");
    cr_assert_str_eq(str(labels, "tier"), "mega");
    cr_assert_str_eq(str(labels, "severity"), "critical");
    json_t *d = json_object_get(o, "details");
    assert_keys(d, "current_window baseline_window current expected ratio");
    cr_assert_str_eq(str(d, "current_window"), "24h");
    cr_assert_str_eq(str(d, "baseline_window"), "28d");
    cr_assert_eq(json_integer_value(json_object_get(d, "current")), 1830);
    cr_assert_eq(json_real_value(json_object_get(d, "expected")), 10166.7);
    cr_assert_eq(json_real_value(json_object_get(d, "ratio")), 0.18);
    /* Written short, as in the issue. */
    cr_assert(strstr(text, "\"expected\":10166.7,\"ratio\":0.18}") != NULL,
              "%s", text);
    cr_assert(strstr(text, "\"ends_at\":null") != NULL);
    cr_assert_eq(strchr(text, '\n'), NULL, "one line");
    free(text);
    json_decref(o);
}

Test(alert, decay_resolved_message_has_ends_at_and_the_same_id)
{
    alert f = decay_firing(), a = decay_resolved();
    json_t *fo = round_trip(&f, NULL), *o = round_trip(&a, NULL);
    cr_assert_str_eq(str(o, "status"), "resolved");
    cr_assert_str_eq(str(o, "alert_id"), str(fo, "alert_id"));
    cr_assert_str_eq(str(o, "starts_at"), "2026-11-20T08:30:00Z");
    cr_assert_str_eq(str(o, "ends_at"), "2026-11-21T08:31:30Z");
    cr_assert(json_equal(json_object_get(o, "labels"),
                         json_object_get(fo, "labels")));
    cr_assert_str_eq(str(o, "summary"),
                     "c42 (mega): engagement over 24h is back to 75% of its "
                     "28d baseline");
    json_t *d = json_object_get(o, "details");
    cr_assert_eq(json_real_value(json_object_get(d, "expected")), 10000.0);
    cr_assert_eq(json_real_value(json_object_get(d, "ratio")), 0.75);
    json_decref(fo);
    json_decref(o);
}

Test(alert, decay_resolved_by_leaving_the_tiers_says_so)
{
    alert a = decay_left_tiers();
    json_t *o = round_trip(&a, NULL);
    cr_assert_str_eq(str(o, "summary"),
                     "c42 (mega): no longer in a watched tier, engagement "
                     "decay resolved");
    json_t *d = json_object_get(o, "details");
    cr_assert(json_is_null(json_object_get(d, "ratio")));
    cr_assert_eq(json_real_value(json_object_get(d, "expected")), 0.0);
    json_decref(o);
}

Test(alert, brand_conflict_message)
{
    alert a = conflict_sample(true);
    json_t *o = round_trip(&a, NULL);
    assert_keys(o, TOP_KEYS);
    cr_assert_str_eq(str(o, "kind"), "brand_conflict");
    cr_assert_str_eq(str(o, "status"), "firing");
    cr_assert_str_eq(str(o, "severity"), "warning");
    cr_assert_str_eq(str(o, "tier"), "mid");
    cr_assert_str_eq(str(o, "starts_at"), "2026-11-20T08:30:00Z");
    cr_assert(json_is_null(json_object_get(o, "ends_at")));
    cr_assert_str_eq(str(o, "summary"),
                     "c42 (mid): sponsored posts for pepsi and coca-cola "
                     "(beverages) 10d apart");
    json_t *labels = json_object_get(o, "labels");
    assert_keys(labels, "alertname creator_id tier severity sector");
    cr_assert_str_eq(str(labels, "alertname"), "brand_conflict");
    cr_assert_str_eq(str(labels, "sector"), "beverages");
    json_t *d = json_object_get(o, "details");
    assert_keys(d, "sector brands post_ids window campaign_ids");
    cr_assert_str_eq(str(d, "sector"), "beverages");
    json_t *brands = json_object_get(d, "brands");
    cr_assert_eq(json_array_size(brands), 2);
    cr_assert_str_eq(json_string_value(json_array_get(brands, 0)), "pepsi");
    cr_assert_str_eq(json_string_value(json_array_get(brands, 1)),
                     "coca-cola");
    json_t *posts = json_object_get(d, "post_ids");
    cr_assert_str_eq(json_string_value(json_array_get(posts, 0)), "p1");
    cr_assert_str_eq(json_string_value(json_array_get(posts, 1)), "p2");
    cr_assert_str_eq(str(d, "window"), "90d");
    json_t *camps = json_object_get(d, "campaign_ids");
    cr_assert_eq(json_array_size(camps), 2);
    cr_assert_str_eq(json_string_value(json_array_get(camps, 0)), "k1");
    cr_assert(json_is_null(json_array_get(camps, 1)));
    json_decref(o);
}

Test(alert, brand_conflict_without_campaigns_has_no_campaign_ids)
{
    alert a = conflict_sample(false);
    json_t *o = round_trip(&a, NULL);
    assert_keys(json_object_get(o, "details"),
                "sector brands post_ids window");
    json_decref(o);
}

Test(alert, tier_change_message)
{
    alert a = tier_sample();
    json_t *o = round_trip(&a, NULL);
    assert_keys(o, TOP_KEYS);
    cr_assert_str_eq(str(o, "kind"), "tier_change");
    cr_assert_str_eq(str(o, "status"), "firing");
    cr_assert_str_eq(str(o, "severity"), "info");
    cr_assert_str_eq(str(o, "tier"), "mega");
    cr_assert_str_eq(str(o, "starts_at"), "2026-11-20T08:30:00.250Z");
    cr_assert(json_is_null(json_object_get(o, "ends_at")));
    cr_assert_str_eq(str(o, "summary"),
                     "c42: tier changed from macro to mega at 1020000 "
                     "followers");
    char id[ALERT_ID_LEN + 1];
    alert_id_format(alert_tier_change_fingerprint("c42", 3, "macro", "mega",
                                                  T_EX + 250), id);
    cr_assert_str_eq(str(o, "alert_id"), id);
    json_t *labels = json_object_get(o, "labels");
    cr_assert_str_eq(str(labels, "tier"), "mega");
    cr_assert_str_eq(str(labels, "severity"), "info");
    json_t *d = json_object_get(o, "details");
    assert_keys(d, "from to followers");
    cr_assert_str_eq(str(d, "from"), "macro");
    cr_assert_str_eq(str(d, "to"), "mega");
    cr_assert_eq(json_integer_value(json_object_get(d, "followers")),
                 1020000);
    json_decref(o);
}

Test(alert, strings_are_escaped)
{
    alert a = tier_sample();
    a.creator_id = "c\"4\\2\xc3\xa9";
    json_t *o = round_trip(&a, NULL);
    cr_assert_str_eq(str(o, "creator_id"), "c\"4\\2\xc3\xa9");
    cr_assert_str_eq(str(json_object_get(o, "labels"), "creator_id"),
                     "c\"4\\2\xc3\xa9");
    json_decref(o);
}

Test(alert, invalid_utf8_is_refused)
{
    alert a = tier_sample();
    a.creator_id = "c\xff";
    buf b = BUF_INIT;
    cr_assert_eq(alert_json(&a, &b), -1);
    cr_assert_eq(b.len, 0);
    buf_free(&b);
}

Test(alert, json_is_appended_to_the_buffer)
{
    alert a = tier_sample();
    buf b = BUF_INIT;
    buf_append_str(&b, "x=");
    cr_assert_eq(alert_json(&a, &b), 0);
    cr_assert(b.len > 2 && memcmp(b.data, "x={\"alert_id\":", 14) == 0);
    buf_free(&b);
}

Test(alert, summary_is_truncated_as_snprintf)
{
    alert a = tier_sample();
    char small[8];
    int n = alert_summary(&a, small, sizeof small);
    cr_assert_eq(n, (int)strlen("c42: tier changed from macro to mega at "
                                "1020000 followers"));
    cr_assert_str_eq(small, "c42: ti");
    cr_assert_eq(alert_summary(&a, NULL, 0), n);
}

Test(alert, conflict_summary_gap_uses_the_largest_unit)
{
    alert a = conflict_sample(false);
    char s[256];
    static const struct { int64_t ms; const char *gap; } cases[] = {
        {0, "0s"}, {999, "0s"}, {59000, "59s"}, {61000, "1m"},
        {2 * HOUR_MS, "2h"}, {DAY_MS - 1, "23h"}, {90 * DAY_MS, "90d"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        a.conflict.apart_ms = cases[i].ms;
        alert_summary(&a, s, sizeof s);
        char want[256];
        snprintf(want, sizeof want, "c42 (mid): sponsored posts for pepsi and "
                 "coca-cola (beverages) %s apart", cases[i].gap);
        cr_assert_str_eq(s, want);
    }
}

/* --- the schema -------------------------------------------------------------- */

static char *root_file(const char *rel)
{
    const char *root = getenv("ENGAGED_ROOT");
    size_t n = strlen(root && *root ? root : ".") + strlen(rel) + 2;
    char *p = malloc(n);
    cr_assert_not_null(p);
    snprintf(p, n, "%s/%s", root && *root ? root : ".", rel);
    return p;
}

/*
 * Validates each line of `docs` (one JSON document per line) against the
 * alert schema with python3-jsonschema (draft 2020-12, the schema itself
 * checked against the metaschema first); valid[i] says whether line i
 * validates, and why[i] why not.
 */
static char why[16][512];

static void schema_validate(const char *docs, int n, bool *valid)
{
    char path[] = "/tmp/engaged-test-alerts-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fputs(docs, f);
    fclose(f);

    char *schema = root_file("schemas/alert.schema.json");
    cr_assert_eq(strchr(schema, '\''), NULL);
    char *cmd = NULL;
    size_t cmd_len = 0;
    FILE *c = open_memstream(&cmd, &cmd_len);
    cr_assert_not_null(c);
    fprintf(c, "/usr/bin/python3 - '%s' '%s' <<'EOF'\n"
               "import json, sys\n"
               "import jsonschema\n"
               "with open(sys.argv[1], encoding='utf-8') as f:\n"
               "    schema = json.load(f)\n"
               "jsonschema.Draft202012Validator.check_schema(schema)\n"
               "v = jsonschema.Draft202012Validator(schema)\n"
               "with open(sys.argv[2], encoding='utf-8') as f:\n"
               "    for line in f:\n"
               "        doc = json.loads(line)\n"
               "        errs = [e.message for e in v.iter_errors(doc)]\n"
               "        print('valid' if not errs else 'invalid: ' + "
               "'; '.join(errs)[:300])\n"
               "EOF\n", schema, path);
    fclose(c);
    free(schema);

    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run python3");
    char line[512];
    int i = 0;
    while (fgets(line, sizeof line, p) != NULL) {
        cr_assert(i < n && n <= 16, "python3 printed more lines than documents");
        valid[i] = strcmp(line, "valid\n") == 0;
        snprintf(why[i], sizeof why[i], "%s", line);
        i++;
    }
    int status = pclose(p);
    unlink(path);
    free(cmd);
    cr_assert_eq(status, 0, "python3 jsonschema failed (status %d): is "
                            "python3-jsonschema installed?", status);
    cr_assert_eq(i, n, "python3 answered for %d of %d documents", i, n);
}

static void append_line(buf *b, const alert *a)
{
    cr_assert_eq(alert_json(a, b), 0);
    buf_append_byte(b, '\n');
}

Test(alert, every_kind_validates_against_the_schema)
{
    alert samples[] = {
        decay_firing(), decay_resolved(), decay_left_tiers(),
        conflict_sample(true), conflict_sample(false), tier_sample(),
    };
    samples[1].severity = ALERT_WARNING;
    int n = (int)(sizeof samples / sizeof samples[0]);
    buf b = BUF_INIT;
    for (int i = 0; i < n; i++)
        append_line(&b, &samples[i]);
    buf_append_byte(&b, 0);
    bool valid[16];
    schema_validate(b.data, n, valid);
    for (int i = 0; i < n; i++)
        cr_expect(valid[i], "sample %d does not validate: %s", i, why[i]);
    buf_free(&b);
}

Test(alert, the_schema_refuses_malformed_alerts)
{
    /* Each is a valid alert with one thing wrong. */
    static const char *const bad[] = {
        /* resolved without ends_at */
        "{\"alert_id\":\"9f3c2a7b1d4e8f60\",\"kind\":\"engagement_decay\","
        "\"status\":\"resolved\",\"severity\":\"critical\",\"creator_id\":"
        "\"c42\",\"tier\":\"mega\",\"starts_at\":\"2026-11-20T08:30:00Z\","
        "\"ends_at\":null,\"summary\":\"s\",\"labels\":{\"alertname\":"
        "\"engagement_decay\",\"creator_id\":\"c42\",\"tier\":\"mega\","
        "\"severity\":\"critical\"},\"details\":{\"current_window\":\"24h\","
        "\"baseline_window\":\"28d\",\"current\":1,\"expected\":2.0,"
        "\"ratio\":0.5}}",
        /* firing with an ends_at */
        "{\"alert_id\":\"9f3c2a7b1d4e8f60\",\"kind\":\"engagement_decay\","
        "\"status\":\"firing\",\"severity\":\"critical\",\"creator_id\":"
        "\"c42\",\"tier\":\"mega\",\"starts_at\":\"2026-11-20T08:30:00Z\","
        "\"ends_at\":\"2026-11-20T09:30:00Z\",\"summary\":\"s\",\"labels\":"
        "{\"alertname\":\"engagement_decay\",\"creator_id\":\"c42\","
        "\"tier\":\"mega\",\"severity\":\"critical\"},\"details\":"
        "{\"current_window\":\"24h\",\"baseline_window\":\"28d\","
        "\"current\":1,\"expected\":2.0,\"ratio\":0.5}}",
        /* short alert_id */
        "{\"alert_id\":\"9f3c\",\"kind\":\"tier_change\",\"status\":"
        "\"firing\",\"severity\":\"info\",\"creator_id\":\"c42\",\"tier\":"
        "\"mega\",\"starts_at\":\"2026-11-20T08:30:00Z\",\"ends_at\":null,"
        "\"summary\":\"s\",\"labels\":{\"alertname\":\"tier_change\","
        "\"creator_id\":\"c42\",\"tier\":\"mega\",\"severity\":\"info\"},"
        "\"details\":{\"from\":\"macro\",\"to\":\"mega\",\"followers\":5}}",
        /* a brand conflict cannot be resolved */
        "{\"alert_id\":\"9f3c2a7b1d4e8f60\",\"kind\":\"brand_conflict\","
        "\"status\":\"resolved\",\"severity\":\"warning\",\"creator_id\":"
        "\"c42\",\"tier\":\"mid\",\"starts_at\":\"2026-11-20T08:30:00Z\","
        "\"ends_at\":\"2026-11-20T08:30:00Z\",\"summary\":\"s\",\"labels\":"
        "{\"alertname\":\"brand_conflict\",\"creator_id\":\"c42\",\"tier\":"
        "\"mid\",\"severity\":\"warning\",\"sector\":\"beverages\"},"
        "\"details\":{\"sector\":\"beverages\",\"brands\":[\"a\",\"b\"],"
        "\"post_ids\":[\"p1\",\"p2\"],\"window\":\"90d\"}}",
        /* a brand conflict without labels.sector */
        "{\"alert_id\":\"9f3c2a7b1d4e8f60\",\"kind\":\"brand_conflict\","
        "\"status\":\"firing\",\"severity\":\"warning\",\"creator_id\":"
        "\"c42\",\"tier\":\"mid\",\"starts_at\":\"2026-11-20T08:30:00Z\","
        "\"ends_at\":null,\"summary\":\"s\",\"labels\":{\"alertname\":"
        "\"brand_conflict\",\"creator_id\":\"c42\",\"tier\":\"mid\","
        "\"severity\":\"warning\"},\"details\":{\"sector\":\"beverages\","
        "\"brands\":[\"a\",\"b\"],\"post_ids\":[\"p1\",\"p2\"],"
        "\"window\":\"90d\"}}",
        /* labels.severity differing from severity */
        "{\"alert_id\":\"9f3c2a7b1d4e8f60\",\"kind\":\"tier_change\","
        "\"status\":\"firing\",\"severity\":\"info\",\"creator_id\":\"c42\","
        "\"tier\":\"mega\",\"starts_at\":\"2026-11-20T08:30:00Z\","
        "\"ends_at\":null,\"summary\":\"s\",\"labels\":{\"alertname\":"
        "\"tier_change\",\"creator_id\":\"c42\",\"tier\":\"mega\","
        "\"severity\":\"warning\"},\"details\":{\"from\":\"macro\",\"to\":"
        "\"mega\",\"followers\":5}}",
        /* a decay alert missing its ratio */
        "{\"alert_id\":\"9f3c2a7b1d4e8f60\",\"kind\":\"engagement_decay\","
        "\"status\":\"firing\",\"severity\":\"warning\",\"creator_id\":"
        "\"c42\",\"tier\":\"mega\",\"starts_at\":\"2026-11-20T08:30:00Z\","
        "\"ends_at\":null,\"summary\":\"s\",\"labels\":{\"alertname\":"
        "\"engagement_decay\",\"creator_id\":\"c42\",\"tier\":\"mega\","
        "\"severity\":\"warning\"},\"details\":{\"current_window\":\"24h\","
        "\"baseline_window\":\"28d\",\"current\":1,\"expected\":2.0}}",
        /* a time that is not UTC */
        "{\"alert_id\":\"9f3c2a7b1d4e8f60\",\"kind\":\"tier_change\","
        "\"status\":\"firing\",\"severity\":\"info\",\"creator_id\":\"c42\","
        "\"tier\":\"mega\",\"starts_at\":\"2026-11-20T08:30:00+01:00\","
        "\"ends_at\":null,\"summary\":\"s\",\"labels\":{\"alertname\":"
        "\"tier_change\",\"creator_id\":\"c42\",\"tier\":\"mega\","
        "\"severity\":\"info\"},\"details\":{\"from\":\"macro\",\"to\":"
        "\"mega\",\"followers\":5}}",
    };
    int n = (int)(sizeof bad / sizeof bad[0]);
    buf b = BUF_INIT;
    for (int i = 0; i < n; i++) {
        buf_append_str(&b, bad[i]);
        buf_append_byte(&b, '\n');
    }
    buf_append_byte(&b, 0);
    bool valid[16];
    schema_validate(b.data, n, valid);
    for (int i = 0; i < n; i++)
        cr_expect_not(valid[i], "malformed alert %d validates", i);
    buf_free(&b);
}

#include "event.h"

#include "timefmt.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The injected wall clock: 2026-11-01T12:00:00Z. */
#define NOW INT64_C(1793534400000)
/* 2026-11-01T10:00:00Z, the ts of the examples. */
#define T10 INT64_C(1793527200000)

static const event_limits limits = {.max_event_bytes = 65536,
                                    .max_future_ms = 3600000};

/* Static: an event is about 3 KiB, and each test runs in its own process. */
static event ev;
static char detail[1024];

static event_error parse_len(const char *json, size_t len, const char *key)
{
    /* Poison so that a default the parser forgets to set shows up. */
    memset(&ev, 0xA5, sizeof ev);
    strcpy(detail, "(unset)");
    return event_parse(json, len, key, key ? strlen(key) : 0, &limits, NOW,
                       &ev, detail, sizeof detail);
}

/* Parses json with the key "c42", the creator_id of nearly every case. */
static event_error parse(const char *json)
{
    return parse_len(json, strlen(json), "c42");
}

static void expect_ok(const char *json)
{
    event_error rc = parse(json);
    cr_assert_eq(rc, EVENT_OK, "%s\n-> %s: %s", json, event_error_name(rc),
                 detail);
}

static void expect_error(const char *json, event_error want,
                         const char *detail_part)
{
    event_error rc = parse(json);
    cr_expect_eq(rc, want, "%s\n-> %s (%s), want %s", json,
                 event_error_name(rc), detail, event_error_name(want));
    if (detail_part != NULL)
        cr_expect(strstr(detail, detail_part) != NULL,
                  "%s\n-> detail \"%s\" lacks \"%s\"", json, detail,
                  detail_part);
}

#define ENG "\"type\":\"engagement\",\"creator_id\":\"c42\"," \
            "\"ts\":\"2026-11-01T10:00:00Z\",\"action\":\"like\""
#define POST "\"type\":\"post\",\"creator_id\":\"c42\"," \
             "\"ts\":\"2026-11-01T09:00:00.250+01:00\",\"post_id\":\"p7\""
#define FOL "\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":0," \
            "\"followers\":5"

Test(event, engagement_example_is_parsed)
{
    expect_ok("{\"type\":\"engagement\",\"creator_id\":\"c42\","
              "\"ts\":\"2026-11-01T10:00:00Z\",\"action\":\"like\","
              "\"count\":3,\"post_id\":\"p7\",\"campaign_id\":\"k1\","
              "\"followers\":1200000}");
    cr_expect_eq(ev.type, EVENT_ENGAGEMENT);
    cr_expect_str_eq(ev.creator_id, "c42");
    cr_expect_eq(ev.creator_id_len, 3);
    cr_expect_eq(ev.ts_ms, T10);
    cr_expect_eq(ev.action, EVENT_LIKE);
    cr_expect_eq(ev.count, 3);
    cr_expect_str_eq(ev.post_id, "p7");
    cr_expect_str_eq(ev.campaign_id, "k1");
    cr_expect_eq(ev.followers, 1200000);
    cr_expect_eq(ev.sponsored, false);
    cr_expect_str_eq(ev.brand, "");
    cr_expect_str_eq(ev.sector, "");
    cr_expect_str_eq(ev.event_id, "");
}

Test(event, post_example_is_parsed)
{
    expect_ok("{\"type\":\"post\",\"creator_id\":\"c42\","
              "\"ts\":\"2026-11-01T09:00:00.250+01:00\",\"post_id\":\"p7\","
              "\"sponsored\":true,\"brand\":\"Pepsi\","
              "\"sector\":\"beverages\",\"campaign_id\":\"k1\"}");
    cr_expect_eq(ev.type, EVENT_POST);
    cr_expect_eq(ev.ts_ms, T10 - 7200000 + 250);
    cr_expect_str_eq(ev.post_id, "p7");
    cr_expect_eq(ev.sponsored, true);
    cr_expect_str_eq(ev.brand, "Pepsi");
    cr_expect_str_eq(ev.sector, "beverages");
    cr_expect_str_eq(ev.campaign_id, "k1");
    cr_expect_eq(ev.followers, -1);
    cr_expect_eq(ev.count, 0);
    cr_expect_eq(ev.action, EVENT_LIKE);
}

Test(event, followers_example_is_parsed)
{
    expect_ok("{\"type\":\"followers\",\"creator_id\":\"c42\","
              "\"ts\":1793527200000,\"followers\":1250000}");
    cr_expect_eq(ev.type, EVENT_FOLLOWERS);
    cr_expect_eq(ev.ts_ms, T10);
    cr_expect_eq(ev.followers, 1250000);
    cr_expect_eq(ev.count, 0);
    cr_expect_eq(ev.sponsored, false);
    cr_expect_str_eq(ev.post_id, "");
    cr_expect_str_eq(ev.campaign_id, "");
}

Test(event, count_defaults_to_one)
{
    expect_ok("{" ENG "}");
    cr_expect_eq(ev.count, 1);
    cr_expect_eq(ev.followers, -1);
    cr_expect_str_eq(ev.post_id, "");
}

Test(event, sponsored_defaults_to_false)
{
    expect_ok("{" POST "}");
    cr_expect_eq(ev.sponsored, false);
    cr_expect_str_eq(ev.brand, "");
    expect_ok("{" POST ",\"sponsored\":false,\"brand\":\"   \"}");
    cr_expect_eq(ev.sponsored, false);
    cr_expect_str_eq(ev.brand, "");
}

Test(event, optional_fields_are_copied)
{
    expect_ok("{" ENG ",\"event_id\":\"e-1\",\"campaign_id\":\"k9\","
              "\"post_id\":\"p3\",\"followers\":0}");
    cr_expect_str_eq(ev.event_id, "e-1");
    cr_expect_str_eq(ev.campaign_id, "k9");
    cr_expect_str_eq(ev.post_id, "p3");
    cr_expect_eq(ev.followers, 0);
    expect_ok("{" POST ",\"sector\":\"food\",\"brand\":\"Acme\","
              "\"event_id\":\"e-2\",\"followers\":1000000000000}");
    cr_expect_str_eq(ev.sector, "food");
    cr_expect_str_eq(ev.brand, "Acme");
    cr_expect_str_eq(ev.event_id, "e-2");
    cr_expect_eq(ev.followers, INT64_C(1000000000000));
}

Test(event, empty_optional_strings_are_the_same_as_absent)
{
    expect_ok("{" ENG ",\"post_id\":\"\",\"campaign_id\":\"\"}");
    cr_expect_str_eq(ev.post_id, "");
    cr_expect_str_eq(ev.campaign_id, "");
}

Test(event, brand_is_stored_without_surrounding_spaces)
{
    expect_ok("{" POST ",\"sponsored\":true,\"brand\":\"  Pepsi Max \"}");
    cr_expect_str_eq(ev.brand, "Pepsi Max");
    /* Only U+0020 is trimmed; a no-break space is a character. */
    expect_ok("{" POST ",\"sponsored\":true,\"brand\":\"\\u00a0\"}");
    cr_expect_str_eq(ev.brand, "\xc2\xa0");
}

Test(event, every_action_is_recognised)
{
    static const char *const names[] = {"like", "comment", "share", "save",
                                        "view", "click", "conversion"};
    char json[256];
    for (int a = 0; a < EVENT_ACTION_COUNT; a++) {
        snprintf(json, sizeof json,
                 "{\"type\":\"engagement\",\"creator_id\":\"c42\",\"ts\":0,"
                 "\"action\":\"%s\"}", names[a]);
        expect_ok(json);
        cr_expect_eq((int)ev.action, a, "%s", names[a]);
        cr_expect_str_eq(event_action_name(ev.action), names[a]);
    }
}

Test(event, names_of_codes_types_and_actions)
{
    cr_expect_str_eq(event_error_name(EVENT_OK), "ok");
    cr_expect_str_eq(event_error_name(EVENT_ERR_INVALID_JSON), "invalid_json");
    cr_expect_str_eq(event_error_name(EVENT_ERR_INVALID_EVENT),
                     "invalid_event");
    cr_expect_str_eq(event_error_name(EVENT_ERR_TOO_LARGE), "too_large");
    cr_expect_str_eq(event_error_name(EVENT_ERR_TOO_LATE), "too_late");
    cr_expect_str_eq(event_error_name(EVENT_ERR_KEY_MISMATCH),
                     "key_mismatch");
    cr_expect_str_eq(event_error_name(EVENT_ERR_COUNT), "unknown");
    cr_expect_str_eq(event_type_name(EVENT_ENGAGEMENT), "engagement");
    cr_expect_str_eq(event_type_name(EVENT_POST), "post");
    cr_expect_str_eq(event_type_name(EVENT_FOLLOWERS), "followers");
    cr_expect_str_eq(event_action_name(EVENT_CONVERSION), "conversion");
    cr_expect_str_eq(event_action_name(EVENT_ACTION_COUNT), "unknown");
}

Test(event, unknown_fields_are_ignored)
{
    expect_ok("{" ENG ",\"extra\":{\"deep\":[1,2,{\"x\":null}]},"
              "\"score\":1.5,\"tags\":null,\"Type\":\"nonsense\"}");
    cr_expect_eq(ev.type, EVENT_ENGAGEMENT);
}

Test(event, fields_of_other_types_are_ignored)
{
    expect_ok("{" FOL ",\"action\":\"bogus\",\"count\":0,"
              "\"sponsored\":\"yes\",\"brand\":7}");
    cr_expect_eq(ev.count, 0);
    cr_expect_eq(ev.sponsored, false);
    cr_expect_str_eq(ev.brand, "");
    expect_ok("{" ENG ",\"sponsored\":true,\"sector\":[]}");
    cr_expect_eq(ev.sponsored, false);
}

/* Each field that must be a string, with each JSON kind that is not. */
Test(event, every_string_field_refuses_every_other_type)
{
    static const struct {
        const char *prefix, *field;
    } fields[] = {
        {"\"type\":\"engagement\",\"ts\":0,\"action\":\"like\"", "creator_id"},
        {ENG, "event_id"},
        {ENG, "campaign_id"},
        {ENG, "post_id"},
        {"\"type\":\"post\",\"creator_id\":\"c42\",\"ts\":0", "post_id"},
        {POST, "brand"},
        {POST, "sector"},
    };
    static const char *const wrong[] = {"null", "7", "1.5", "true", "false",
                                        "[]", "{}", "[\"a\"]"};
    char json[512], want[64];
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
            snprintf(json, sizeof json, "{%s,\"%s\":%s}", fields[f].prefix,
                     fields[f].field, wrong[w]);
            snprintf(want, sizeof want, "field \"%s\" must be a string, not",
                     fields[f].field);
            expect_error(json, EVENT_ERR_INVALID_EVENT, want);
        }
}

Test(event, every_other_field_refuses_every_wrong_type)
{
    static const struct {
        const char *prefix, *field, *want;
        const char *const wrong[8];
    } fields[] = {
        {"\"creator_id\":\"c42\",\"ts\":0,\"followers\":1", "type",
         "field \"type\" must be one of engagement, post, followers",
         {"null", "1", "true", "[]", "{}", "\"Engagement\"", "\"like\"",
          "\"\""}},
        {"\"type\":\"engagement\",\"creator_id\":\"c42\",\"action\":\"like\"",
         "ts", "field \"ts\"",
         {"null", "true", "[]", "{}", "1.5", "-1", "\"\"", "\"yesterday\""}},
        {"\"type\":\"engagement\",\"creator_id\":\"c42\",\"ts\":0", "action",
         "field \"action\" must be one of like, comment",
         {"null", "1", "true", "[\"like\"]", "{}", "\"Like\"", "\"love\"",
          "\"\""}},
        {ENG, "count", "field \"count\" must be an integer from 1 to 1000000000",
         {"null", "\"3\"", "true", "[3]", "{}", "3.0", "2.5", "1e3"}},
        {ENG, "followers",
         "field \"followers\" must be an integer from 0 to 1000000000000",
         {"null", "\"5\"", "false", "[5]", "{}", "5.0", "-1",
          "1000000000001"}},
        {POST, "sponsored", "field \"sponsored\" must be true or false",
         {"null", "1", "0", "\"true\"", "[]", "{}", "1.0", "\"\""}},
    };
    char json[512];
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        for (size_t w = 0; w < 8; w++) {
            snprintf(json, sizeof json, "{%s,\"%s\":%s}", fields[f].prefix,
                     fields[f].field, fields[f].wrong[w]);
            expect_error(json, EVENT_ERR_INVALID_EVENT, fields[f].want);
        }
}

Test(event, missing_required_fields_are_named)
{
    expect_error("{\"creator_id\":\"c42\",\"ts\":0}", EVENT_ERR_INVALID_EVENT,
                 "field \"type\" is required");
    expect_error("{\"type\":\"followers\",\"ts\":0,\"followers\":1}",
                 EVENT_ERR_INVALID_EVENT, "field \"creator_id\" is required");
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c42\","
                 "\"followers\":1}",
                 EVENT_ERR_INVALID_EVENT, "field \"ts\" is required");
    expect_error("{\"type\":\"engagement\",\"creator_id\":\"c42\",\"ts\":0}",
                 EVENT_ERR_INVALID_EVENT, "field \"action\" is required");
    expect_error("{\"type\":\"post\",\"creator_id\":\"c42\",\"ts\":0}",
                 EVENT_ERR_INVALID_EVENT, "field \"post_id\" is required");
    expect_error("{\"type\":\"post\",\"creator_id\":\"c42\",\"ts\":0,"
                 "\"post_id\":\"\"}",
                 EVENT_ERR_INVALID_EVENT, "field \"post_id\" is required");
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":0}",
                 EVENT_ERR_INVALID_EVENT, "field \"followers\" is required");
    expect_error("{" ENG ",\"creator_id\":\"\"}", EVENT_ERR_INVALID_JSON,
                 "duplicate");
    expect_error("{\"type\":\"engagement\",\"creator_id\":\"\",\"ts\":0,"
                 "\"action\":\"like\"}",
                 EVENT_ERR_INVALID_EVENT,
                 "field \"creator_id\" must not be empty");
}

Test(event, sponsored_posts_need_a_brand)
{
    const char *want = "field \"brand\" is required and must not be blank "
                       "when \"sponsored\" is true";
    expect_error("{" POST ",\"sponsored\":true}", EVENT_ERR_INVALID_EVENT,
                 want);
    expect_error("{" POST ",\"sponsored\":true,\"brand\":\"\"}",
                 EVENT_ERR_INVALID_EVENT, want);
    expect_error("{" POST ",\"sponsored\":true,\"brand\":\"    \"}",
                 EVENT_ERR_INVALID_EVENT, want);
}

Test(event, count_range_is_one_to_a_billion)
{
    expect_ok("{" ENG ",\"count\":1}");
    cr_expect_eq(ev.count, 1);
    expect_ok("{" ENG ",\"count\":1000000000}");
    cr_expect_eq(ev.count, 1000000000);
    const char *want = "field \"count\" must be an integer from 1 to "
                       "1000000000";
    expect_error("{" ENG ",\"count\":0}", EVENT_ERR_INVALID_EVENT, want);
    expect_error("{" ENG ",\"count\":-3}", EVENT_ERR_INVALID_EVENT, want);
    expect_error("{" ENG ",\"count\":1000000001}", EVENT_ERR_INVALID_EVENT,
                 want);
    expect_error("{" ENG ",\"count\":9223372036854775807}",
                 EVENT_ERR_INVALID_EVENT, want);
    expect_error("{" ENG ",\"count\":-9223372036854775808}",
                 EVENT_ERR_INVALID_EVENT, want);
}

Test(event, reals_are_refused_where_integers_are_expected)
{
    expect_error("{" ENG ",\"count\":3.0}", EVENT_ERR_INVALID_EVENT,
                 "field \"count\" must be an integer");
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":0,"
                 "\"followers\":1e3}",
                 EVENT_ERR_INVALID_EVENT, "field \"followers\" must be an integer");
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c42\","
                 "\"ts\":1793527200000.0,\"followers\":1}",
                 EVENT_ERR_INVALID_EVENT, "field \"ts\"");
}

Test(event, ts_takes_rfc3339_or_epoch_milliseconds)
{
    expect_ok("{" FOL "}");
    cr_expect_eq(ev.ts_ms, 0);
    expect_ok("{\"type\":\"followers\",\"creator_id\":\"c42\","
              "\"ts\":\"2026-11-01t04:30:00.5-05:30\",\"followers\":1}");
    cr_expect_eq(ev.ts_ms, T10 + 500);
    expect_ok("{\"type\":\"followers\",\"creator_id\":\"c42\","
              "\"ts\":\"1970-01-01T00:00:00Z\",\"followers\":1}");
    cr_expect_eq(ev.ts_ms, 0);
}

Test(event, bad_ts_strings_are_refused)
{
    static const char *const bad[] = {
        "2026-02-29T10:00:00Z", "2026-13-01T10:00:00Z",
        "2026-11-01T24:00:00Z", "2026-11-01T10:00:60Z",
        "2026-11-01T10:00:00",  "2026-11-01T10:00:00Z junk",
        "1793527200000",        "2026-11-01 10:00:00Z",
        "2026-11-01T10:00:00Z\\n",
    };
    char json[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(json, sizeof json,
                 "{\"type\":\"followers\",\"creator_id\":\"c42\","
                 "\"ts\":\"%s\",\"followers\":1}", bad[i]);
        expect_error(json, EVENT_ERR_INVALID_EVENT,
                     "field \"ts\" is not an RFC 3339 time with a zone nor "
                     "epoch milliseconds");
    }
}

Test(event, ts_before_the_epoch_is_refused)
{
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c42\","
                 "\"ts\":\"1969-12-31T23:59:59Z\",\"followers\":1}",
                 EVENT_ERR_INVALID_EVENT, "before 1970-01-01T00:00:00Z");
    /* After the epoch in UTC but written as year 1969: refused as the
     * schema refuses it. */
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c42\","
                 "\"ts\":\"1969-12-31T23:00:00-05:00\",\"followers\":1}",
                 EVENT_ERR_INVALID_EVENT, "before 1970-01-01T00:00:00Z");
    /* The case the schema cannot see. */
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c42\","
                 "\"ts\":\"1970-01-01T00:30:00+01:00\",\"followers\":1}",
                 EVENT_ERR_INVALID_EVENT, "before 1970-01-01T00:00:00Z");
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c42\","
                 "\"ts\":-1,\"followers\":1}",
                 EVENT_ERR_INVALID_EVENT,
                 "field \"ts\" must be epoch milliseconds from 0 to "
                 "253402300799999");
}

Test(event, ts_at_most_max_future_ahead_of_now)
{
    char json[256];
    /* now + 1h exactly: accepted. */
    snprintf(json, sizeof json,
             "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":%lld,"
             "\"followers\":1}", (long long)(NOW + 3600000));
    expect_ok(json);
    expect_ok("{\"type\":\"followers\",\"creator_id\":\"c42\","
              "\"ts\":\"2026-11-01T13:00:00Z\",\"followers\":1}");
    /* One millisecond more: refused. */
    snprintf(json, sizeof json,
             "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":%lld,"
             "\"followers\":1}", (long long)(NOW + 3600001));
    expect_error(json, EVENT_ERR_INVALID_EVENT,
                 "ts 2026-11-01T13:00:00.001Z is more than 1h ahead of the "
                 "wall clock");
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c42\","
                 "\"ts\":\"9999-01-01T00:00:00Z\",\"followers\":1}",
                 EVENT_ERR_INVALID_EVENT,
                 "ts 9999-01-01T00:00:00Z is more than 1h ahead of the wall "
                 "clock");
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c42\","
                 "\"ts\":253402300800000,\"followers\":1}",
                 EVENT_ERR_INVALID_EVENT, "epoch milliseconds from 0 to");
}

Test(event, max_future_zero_refuses_any_future_ts)
{
    const event_limits strict = {.max_event_bytes = 1024, .max_future_ms = 0};
    char json[256];
    int n = snprintf(json, sizeof json,
                     "{\"type\":\"followers\",\"creator_id\":\"c42\","
                     "\"ts\":%lld,\"followers\":1}", (long long)NOW);
    cr_expect_eq(event_parse(json, (size_t)n, "c42", 3, &strict, NOW, &ev,
                             detail, sizeof detail),
                 EVENT_OK, "%s", detail);
    n = snprintf(json, sizeof json,
                 "{\"type\":\"followers\",\"creator_id\":\"c42\","
                 "\"ts\":%lld,\"followers\":1}", (long long)NOW + 1);
    cr_expect_eq(event_parse(json, (size_t)n, "c42", 3, &strict, NOW, &ev,
                             detail, sizeof detail),
                 EVENT_ERR_INVALID_EVENT);
    cr_expect(strstr(detail, "more than 0s ahead") != NULL, "%s", detail);
}

/* A valid event padded with spaces to exactly `size` bytes. */
static char *padded_event(size_t size)
{
    const char *body = "{" ENG "}";
    size_t n = strlen(body);
    cr_assert(size >= n);
    char *buf = malloc(size + 1);
    cr_assert_not_null(buf);
    memcpy(buf, body, n - 1);
    memset(buf + n - 1, ' ', size - n);
    buf[size - 1] = '}';
    buf[size] = '\0';
    return buf;
}

Test(event, too_large_boundary_is_max_event_bytes)
{
    char *at_max = padded_event(65536);
    cr_expect_eq(parse(at_max), EVENT_OK, "%s", detail);
    free(at_max);
    char *over = padded_event(65537);
    cr_expect_eq(parse(over), EVENT_ERR_TOO_LARGE);
    cr_expect_str_eq(detail,
                     "message of 65537 bytes exceeds max_event_bytes 65536");
    free(over);
}

Test(event, too_large_is_decided_before_parsing)
{
    static char junk[70000];
    memset(junk, 0xFF, sizeof junk);
    cr_expect_eq(parse_len(junk, sizeof junk, NULL), EVENT_ERR_TOO_LARGE);
    cr_expect_str_eq(detail,
                     "message of 70000 bytes exceeds max_event_bytes 65536");
}

Test(event, key_must_be_the_creator_id)
{
    const char *json = "{" ENG "}";
    cr_expect_eq(parse_len(json, strlen(json), "c42"), EVENT_OK);
    cr_expect_eq(parse_len(json, strlen(json), NULL), EVENT_ERR_KEY_MISMATCH);
    cr_expect_str_eq(detail, "message has no key; it must be the creator_id");
    cr_expect_eq(parse_len(json, strlen(json), "c41"), EVENT_ERR_KEY_MISMATCH);
    cr_expect_str_eq(detail, "message key \"c41\" is not the creator_id "
                             "\"c42\"");
    cr_expect_eq(parse_len(json, strlen(json), "c4"), EVENT_ERR_KEY_MISMATCH);
    cr_expect_eq(parse_len(json, strlen(json), "C42"), EVENT_ERR_KEY_MISMATCH);
    cr_expect_eq(parse_len(json, strlen(json), ""), EVENT_ERR_KEY_MISMATCH);
    cr_expect_str_eq(detail, "message key \"\" is not the creator_id \"c42\"");
    /* Bytes count, including a trailing NUL. */
    cr_expect_eq(event_parse(json, strlen(json), "c42", 4, &limits, NOW, &ev,
                             detail, sizeof detail),
                 EVENT_ERR_KEY_MISMATCH);
    cr_expect_str_eq(detail, "message key \"c42\\x00\" is not the creator_id "
                             "\"c42\"");
}

Test(event, key_mismatch_detail_escapes_and_truncates_the_key)
{
    const char *json = "{" ENG "}";
    cr_expect_eq(parse_len(json, strlen(json), "c\x01\"\\\xff"),
                 EVENT_ERR_KEY_MISMATCH);
    cr_expect_str_eq(detail, "message key \"c\\x01\\\"\\\\\\xff\" is not the "
                             "creator_id \"c42\"");
    char key[201];
    memset(key, 'k', 200);
    key[200] = '\0';
    cr_expect_eq(parse_len(json, strlen(json), key), EVENT_ERR_KEY_MISMATCH);
    cr_expect(strstr(detail, "kkk...\" is not the creator_id") != NULL, "%s",
              detail);
    cr_expect(strlen(detail) < 150, "%s", detail);
}

Test(event, key_is_checked_only_for_otherwise_valid_events)
{
    const char *json = "{\"type\":\"engagement\",\"creator_id\":\"c42\"}";
    cr_expect_eq(parse_len(json, strlen(json), NULL), EVENT_ERR_INVALID_EVENT);
    cr_expect_eq(parse_len("{", 1, "nope"), EVENT_ERR_INVALID_JSON);
}

Test(event, non_ascii_creator_id_is_compared_by_bytes)
{
    const char *json = "{\"type\":\"followers\",\"creator_id\":\"Zo\\u00eb\","
                       "\"ts\":0,\"followers\":1}";
    cr_expect_eq(parse_len(json, strlen(json), "Zo\xc3\xab"), EVENT_OK, "%s",
                 detail);
    cr_expect_eq(ev.creator_id_len, 4);
    cr_expect_eq(parse_len(json, strlen(json), "Zoe"), EVENT_ERR_KEY_MISMATCH);
}

Test(event, invalid_json_detail_has_the_position)
{
    expect_error("{\"type\": nope}", EVENT_ERR_INVALID_JSON, "line 1 column ");
    expect_error("{\"a\":1,\n\"b\":}", EVENT_ERR_INVALID_JSON, "line 2 column ");
    expect_error("", EVENT_ERR_INVALID_JSON, "line 1 column ");
    expect_error("{" ENG "} {}", EVENT_ERR_INVALID_JSON, NULL);
    cr_expect_eq(event_parse(NULL, 0, "c42", 3, &limits, NOW, &ev, detail,
                             sizeof detail),
                 EVENT_ERR_INVALID_JSON);
}

Test(event, invalid_json_detail_escapes_raw_input_bytes)
{
    expect_error("{\"a\":\x01\xff}", EVENT_ERR_INVALID_JSON, NULL);
    for (const char *p = detail; *p; p++)
        cr_expect((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7F,
                  "raw byte 0x%02x in \"%s\"", (unsigned char)*p, detail);
}

Test(event, top_level_non_objects_are_invalid_events)
{
    expect_error("[]", EVENT_ERR_INVALID_EVENT,
                 "event must be a JSON object, not an array");
    expect_error("[{" ENG "}]", EVENT_ERR_INVALID_EVENT,
                 "event must be a JSON object");
    expect_error("42", EVENT_ERR_INVALID_EVENT,
                 "event must be a JSON object, not an integer");
    expect_error("\"c42\"", EVENT_ERR_INVALID_EVENT,
                 "event must be a JSON object, not a string");
    expect_error("null", EVENT_ERR_INVALID_EVENT,
                 "event must be a JSON object, not null");
}

Test(event, nul_bytes_are_invalid_json)
{
    static const char raw[] = "{\"type\":\"followers\",\"creator_id\":\"c\0"
                              "42\",\"ts\":0,\"followers\":1}";
    cr_expect_eq(parse_len(raw, sizeof raw - 1, "c"), EVENT_ERR_INVALID_JSON);
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c\\u000042\","
                 "\"ts\":0,\"followers\":1}",
                 EVENT_ERR_INVALID_JSON, NULL);
    /* A NUL after a complete object is trailing garbage, not ignored. */
    static const char after[] = "{" FOL "}\0";
    cr_expect_eq(parse_len(after, sizeof after - 1, "c42"),
                 EVENT_ERR_INVALID_JSON);
}

Test(event, invalid_utf8_is_invalid_json)
{
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c\xff\","
                 "\"ts\":0,\"followers\":1}",
                 EVENT_ERR_INVALID_JSON, NULL);
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c\xc0\xaf\","
                 "\"ts\":0,\"followers\":1}",
                 EVENT_ERR_INVALID_JSON, NULL);
    expect_error("{\"type\":\"followers\",\"creator_id\":\"\xed\xa0\x80\","
                 "\"ts\":0,\"followers\":1}",
                 EVENT_ERR_INVALID_JSON, NULL);
    expect_error("{\"type\":\"followers\",\"creator_id\":\"c\\ud800\","
                 "\"ts\":0,\"followers\":1}",
                 EVENT_ERR_INVALID_JSON, NULL);
}

Test(event, duplicate_keys_are_invalid_json)
{
    expect_error("{" FOL ",\"followers\":6}", EVENT_ERR_INVALID_JSON,
                 "duplicate object key");
    expect_error("{" FOL ",\"x\":{\"a\":1,\"a\":2}}", EVENT_ERR_INVALID_JSON,
                 "duplicate object key");
}

/* 100000 opening brackets, then as many closing ones. */
static char *deep(const char *open, const char *close, size_t depth)
{
    size_t no = strlen(open), nc = strlen(close);
    char *buf = malloc(depth * (no + nc) + 64);
    cr_assert_not_null(buf);
    char *p = buf;
    for (size_t i = 0; i < depth; i++, p += no)
        memcpy(p, open, no);
    for (size_t i = 0; i < depth; i++, p += nc)
        memcpy(p, close, nc);
    *p = '\0';
    return buf;
}

Test(event, nesting_100000_deep_is_invalid_json_without_crashing)
{
    const event_limits big = {.max_event_bytes = 10000000,
                              .max_future_ms = 3600000};
    char *arrays = deep("[", "]", 100000);
    cr_expect_eq(event_parse(arrays, strlen(arrays), "c42", 3, &big, NOW, &ev,
                             detail, sizeof detail),
                 EVENT_ERR_INVALID_JSON);
    cr_expect(strstr(detail, "depth") != NULL, "%s", detail);
    free(arrays);
    char *objects = deep("{\"a\":", "}", 100000);
    cr_expect_eq(event_parse(objects, strlen(objects), "c42", 3, &big, NOW,
                             &ev, detail, sizeof detail),
                 EVENT_ERR_INVALID_JSON);
    free(objects);
}

Test(event, numbers_jansson_cannot_hold_are_invalid_json)
{
    expect_error("{" ENG ",\"count\":18446744073709551616}",
                 EVENT_ERR_INVALID_JSON, "too big integer");
    expect_error("{" ENG ",\"count\":9223372036854775808}",
                 EVENT_ERR_INVALID_JSON, "too big integer");
    expect_error("{" ENG ",\"count\":-9223372036854775809}",
                 EVENT_ERR_INVALID_JSON, "too big negative integer");
    expect_error("{" ENG ",\"count\":1e400}", EVENT_ERR_INVALID_JSON,
                 "real number overflow");
    /* Even in a field nobody reads. */
    expect_error("{" ENG ",\"x\":18446744073709551616}",
                 EVENT_ERR_INVALID_JSON, NULL);
}

Test(event, nan_and_infinity_are_invalid_json)
{
    expect_error("{" ENG ",\"count\":NaN}", EVENT_ERR_INVALID_JSON, NULL);
    expect_error("{" ENG ",\"count\":Infinity}", EVENT_ERR_INVALID_JSON, NULL);
    expect_error("{" ENG ",\"count\":-Infinity}", EVENT_ERR_INVALID_JSON,
                 NULL);
}

static void expect_creator_id(const char *id, event_error want,
                              const char *detail_part)
{
    size_t n = strlen(id) + 128;
    char *json = malloc(n);
    cr_assert_not_null(json);
    snprintf(json, n,
             "{\"type\":\"followers\",\"creator_id\":\"%s\",\"ts\":0,"
             "\"followers\":1}", id);
    event_error rc = parse_len(json, strlen(json), NULL);
    /* No key: an otherwise valid event then reads key_mismatch. */
    if (want == EVENT_OK)
        want = EVENT_ERR_KEY_MISMATCH;
    cr_expect_eq(rc, want, "creator_id %.40s...: %s (%s)", id,
                 event_error_name(rc), detail);
    if (detail_part != NULL)
        cr_expect(strstr(detail, detail_part) != NULL, "detail \"%s\"",
                  detail);
    free(json);
}

static char *repeat(const char *unit, size_t times)
{
    size_t n = strlen(unit);
    char *s = malloc(n * times + 1);
    cr_assert_not_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * n, unit, n);
    s[n * times] = '\0';
    return s;
}

Test(event, creator_id_is_at_most_128_characters)
{
    char *s = repeat("c", 128);
    expect_creator_id(s, EVENT_OK, NULL);
    cr_expect_eq(ev.creator_id_len, 128);
    free(s);
    s = repeat("c", 129);
    expect_creator_id(s, EVENT_ERR_INVALID_EVENT,
                      "field \"creator_id\" has 129 characters; at most 128 "
                      "are allowed");
    free(s);
    s = repeat("c", 10000);
    expect_creator_id(s, EVENT_ERR_INVALID_EVENT,
                      "field \"creator_id\" has 10000 characters");
    free(s);
}

Test(event, creator_id_length_counts_characters_not_bytes)
{
    /* U+1F600, four bytes in UTF-8: 128 of them fill EVENT_ID_MAX. */
    char *s = repeat("\xf0\x9f\x98\x80", 128);
    expect_creator_id(s, EVENT_OK, NULL);
    cr_expect_eq(ev.creator_id_len, EVENT_ID_MAX);
    cr_expect_str_eq(ev.creator_id, s);
    free(s);
    s = repeat("\\ud83d\\ude00", 129);
    expect_creator_id(s, EVENT_ERR_INVALID_EVENT, "129 characters");
    free(s);
    s = repeat("\xc3\xa9", 128);
    expect_creator_id(s, EVENT_OK, NULL);
    cr_expect_eq(ev.creator_id_len, 256);
    free(s);
}

Test(event, creator_id_with_a_control_character_is_refused)
{
    expect_creator_id("c\\u000142", EVENT_ERR_INVALID_EVENT,
                      "field \"creator_id\" contains the control character "
                      "U+0001 at character 2");
    expect_creator_id("c42\\n", EVENT_ERR_INVALID_EVENT, "U+000A");
    expect_creator_id("c\\t42", EVENT_ERR_INVALID_EVENT, "U+0009");
    expect_creator_id("c\\u001f", EVENT_ERR_INVALID_EVENT, "U+001F");
    expect_creator_id("c\x7f", EVENT_ERR_INVALID_EVENT, "U+007F");
    expect_creator_id("c\\u0080", EVENT_ERR_INVALID_EVENT, "U+0080");
    expect_creator_id("c\xc2\x85", EVENT_ERR_INVALID_EVENT, "U+0085");
    expect_creator_id("\xc3\xa9\\u009f", EVENT_ERR_INVALID_EVENT,
                      "U+009F at character 2");
    /* Just outside the ranges. */
    expect_creator_id("c \\u007e\\u00a0", EVENT_OK, NULL);
}

Test(event, other_strings_follow_the_same_text_rule)
{
    char *s = repeat("p", 129);
    char json[512];
    snprintf(json, sizeof json, "{" ENG ",\"post_id\":\"%s\"}", s);
    expect_error(json, EVENT_ERR_INVALID_EVENT,
                 "field \"post_id\" has 129 characters");
    free(s);
    expect_error("{" ENG ",\"campaign_id\":\"k\\r\"}", EVENT_ERR_INVALID_EVENT,
                 "field \"campaign_id\" contains the control character "
                 "U+000D");
    expect_error("{" POST ",\"brand\":\"\\u0085Pepsi\"}",
                 EVENT_ERR_INVALID_EVENT, "field \"brand\" contains");
    expect_error("{" ENG ",\"event_id\":\"\\u007f\"}", EVENT_ERR_INVALID_EVENT,
                 "field \"event_id\" contains");
    expect_error("{" POST ",\"sector\":\"a\\u0000b\"}", EVENT_ERR_INVALID_JSON,
                 NULL);
}

Test(event, payload_need_not_be_nul_terminated)
{
    const char *json = "{" FOL "}garbage";
    cr_expect_eq(parse_len(json, strlen(json) - 7, "c42"), EVENT_OK, "%s",
                 detail);
}

Test(event, detail_may_be_absent_or_short)
{
    const char *json = "{" ENG ",\"count\":0}";
    cr_expect_eq(event_parse(json, strlen(json), "c42", 3, &limits, NOW, &ev,
                             NULL, 0),
                 EVENT_ERR_INVALID_EVENT);
    char small[8];
    cr_expect_eq(event_parse(json, strlen(json), "c42", 3, &limits, NOW, &ev,
                             small, sizeof small),
                 EVENT_ERR_INVALID_EVENT);
    cr_expect_str_eq(small, "field \"");
}

/* ---- The corpus, against the schema and against event_parse. ---- */

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    cr_assert_not_null(p);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* rel under $ENGAGED_ROOT, or under the current directory. */
static char *root_file(const char *rel)
{
    const char *root = getenv("ENGAGED_ROOT");
    return path_join(root && *root ? root : ".", rel);
}

static char *corpus_dir(const char *rel)
{
    char *base = root_file("tests/corpus/events");
    char *dir = path_join(base, rel);
    free(base);
    return dir;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int is_json_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static int is_subdir_name(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* The *.json files of dir, sorted; the count is returned. */
static int list_json(const char *dir, char ***paths)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, is_json_file, alphasort);
    cr_assert(n >= 0, "cannot read %s (set ENGAGED_ROOT)", dir);
    *paths = calloc((size_t)n + 1, sizeof **paths);
    cr_assert_not_null(*paths);
    for (int i = 0; i < n; i++) {
        (*paths)[i] = path_join(dir, ents[i]->d_name);
        free(ents[i]);
    }
    free(ents);
    return n;
}

static void free_list(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

/* Appends s to the shell command in f, single-quoted. */
static void shell_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

/*
 * Validates every file against the schema with python3-jsonschema (draft
 * 2020-12); valid[i] is set to whether paths[i] validates.  The schema is
 * itself checked against the metaschema first.
 */
static void schema_validate(char **paths, int n, bool *valid)
{
    char *cmd = NULL;
    size_t cmd_len = 0;
    FILE *f = open_memstream(&cmd, &cmd_len);
    cr_assert_not_null(f);
    char *schema = root_file("schemas/event.schema.json");
    /* Debian's interpreter: make deps installs python3-jsonschema for it. */
    fputs("/usr/bin/python3 - ", f);
    shell_quote(f, schema);
    for (int i = 0; i < n; i++) {
        fputc(' ', f);
        shell_quote(f, paths[i]);
    }
    fputs(" <<'EOF'\n"
          "import json, sys\n"
          "import jsonschema\n"
          "with open(sys.argv[1], encoding='utf-8') as f:\n"
          "    schema = json.load(f)\n"
          "jsonschema.Draft202012Validator.check_schema(schema)\n"
          "v = jsonschema.Draft202012Validator(schema)\n"
          "for path in sys.argv[2:]:\n"
          "    with open(path, encoding='utf-8') as f:\n"
          "        doc = json.load(f)\n"
          "    print('valid' if v.is_valid(doc) else 'invalid')\n"
          "EOF\n",
          f);
    fclose(f);
    free(schema);

    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run python3");
    char line[64];
    int i = 0;
    while (fgets(line, sizeof line, p) != NULL) {
        cr_assert(i < n, "python3 printed more lines than files");
        valid[i++] = strcmp(line, "valid\n") == 0;
    }
    int status = pclose(p);
    free(cmd);
    cr_assert_eq(status, 0, "python3 jsonschema failed (status %d): is "
                            "python3-jsonschema installed?", status);
    cr_assert_eq(i, n, "python3 answered for %d of %d files", i, n);
}

/* The corpus is checked with a clock after its latest ts. */
static event_error parse_file(const char *path, const char *key,
                              size_t key_len)
{
    size_t len;
    char *buf = slurp(path, &len);
    event_error rc = event_parse(buf, len, key, key_len, &limits, NOW, &ev,
                                 detail, sizeof detail);
    free(buf);
    return rc;
}

Test(event, valid_corpus_passes_the_schema_and_the_parser)
{
    char *dir = corpus_dir("valid");
    char **paths;
    int n = list_json(dir, &paths);
    cr_assert(n > 0, "no files in %s", dir);
    bool *valid = calloc((size_t)n, sizeof *valid);
    cr_assert_not_null(valid);
    schema_validate(paths, n, valid);
    for (int i = 0; i < n; i++) {
        cr_expect(valid[i], "%s does not validate against the schema",
                  paths[i]);
        /* Without a key, a valid event is a key mismatch; with its
         * creator_id as the key, it is ok. */
        event_error rc = parse_file(paths[i], NULL, 0);
        cr_expect_eq(rc, EVENT_ERR_KEY_MISMATCH, "%s: %s (%s)", paths[i],
                     event_error_name(rc), detail);
        if (rc != EVENT_ERR_KEY_MISMATCH)
            continue;
        char key[EVENT_ID_MAX + 1];
        size_t key_len = ev.creator_id_len;
        memcpy(key, ev.creator_id, key_len);
        rc = parse_file(paths[i], key, key_len);
        cr_expect_eq(rc, EVENT_OK, "%s: %s (%s)", paths[i],
                     event_error_name(rc), detail);
    }
    free(valid);
    free_list(paths, n);
    free(dir);
}

Test(event, invalid_event_corpus_fails_the_schema)
{
    char *dir = corpus_dir("invalid/invalid_event");
    char **paths;
    int n = list_json(dir, &paths);
    cr_assert(n > 0, "no files in %s", dir);
    bool *valid = calloc((size_t)n, sizeof *valid);
    cr_assert_not_null(valid);
    schema_validate(paths, n, valid);
    for (int i = 0; i < n; i++)
        cr_expect(!valid[i], "%s validates against the schema", paths[i]);
    free(valid);
    free_list(paths, n);
    free(dir);
}

Test(event, invalid_corpus_fails_the_parser_for_its_directory_reason)
{
    char *dir = corpus_dir("invalid");
    struct dirent **ents;
    int nd = scandir(dir, &ents, is_subdir_name, alphasort);
    cr_assert(nd > 0, "no reason directories in %s", dir);
    int total = 0;
    for (int d = 0; d < nd; d++) {
        const char *reason = ents[d]->d_name;
        char *sub = path_join(dir, reason);
        struct stat st;
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            char **paths;
            int n = list_json(sub, &paths);
            for (int i = 0; i < n; i++) {
                event_error rc = parse_file(paths[i], NULL, 0);
                cr_expect_str_eq(event_error_name(rc), reason, "%s: %s",
                                 paths[i], detail);
            }
            total += n;
            free_list(paths, n);
        }
        free(sub);
        free(ents[d]);
    }
    free(ents);
    free(dir);
    cr_expect(total > 0);
}

#include "event.h"
#include "failalloc.h"

#include "timefmt.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdint.h>
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

/* ---- The one-pass scanner against the jansson path. ----
 *
 * event_parse scans the common message in one pass and hands anything else
 * to jansson; event_parse_slow is jansson alone.  For every input both must
 * give the same code, the same detail and, when the event was read (ok and
 * key_mismatch), the same fields. */

/* What one path made of a message. */
typedef struct outcome {
    event_error rc;
    event ev;
    char detail[512];
} outcome;

static outcome fast_out, slow_out;

static void run_both(const void *msg, size_t len, const void *key,
                     size_t key_len)
{
    memset(&fast_out, 0xA5, sizeof fast_out);
    memset(&slow_out, 0x5A, sizeof slow_out);
    strcpy(fast_out.detail, "(unset)");
    strcpy(slow_out.detail, "(unset)");
    fast_out.rc = event_parse(msg, len, key, key_len, &limits, NOW,
                              &fast_out.ev, fast_out.detail,
                              sizeof fast_out.detail);
    slow_out.rc = event_parse_slow(msg, len, key, key_len, &limits, NOW,
                                   &slow_out.ev, slow_out.detail,
                                   sizeof slow_out.detail);
}

/* The input, printable, for assertion messages. */
static const char *shown(const void *msg, size_t len)
{
    static char buf[1200];
    size_t o = 0;
    const unsigned char *s = msg;
    for (size_t i = 0; i < len && o + 8 < sizeof buf; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '\\')
            buf[o++] = (char)s[i];
        else
            o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", s[i]);
    }
    buf[o] = '\0';
    return buf;
}

/* Asserts that both paths agree on msg; returns the common code. */
static event_error expect_same(const void *msg, size_t len, const void *key,
                               size_t key_len)
{
    run_both(msg, len, key, key_len);
    const char *in = shown(msg, len);
    cr_assert_eq(fast_out.rc, slow_out.rc, "%s\n-> fast %s (%s), slow %s (%s)",
                 in, event_error_name(fast_out.rc), fast_out.detail,
                 event_error_name(slow_out.rc), slow_out.detail);
    cr_assert_str_eq(fast_out.detail, slow_out.detail, "%s", in);
    if (fast_out.rc != EVENT_OK && fast_out.rc != EVENT_ERR_KEY_MISMATCH)
        return fast_out.rc;
    const event *a = &fast_out.ev, *b = &slow_out.ev;
    cr_assert_eq(a->type, b->type, "%s: type", in);
    cr_assert_eq(a->ts_ms, b->ts_ms, "%s: ts_ms", in);
    cr_assert_eq(a->followers, b->followers, "%s: followers", in);
    cr_assert_eq(a->action, b->action, "%s: action", in);
    cr_assert_eq(a->count, b->count, "%s: count", in);
    cr_assert_eq(a->sponsored, b->sponsored, "%s: sponsored", in);
    cr_assert_eq(a->creator_id_len, b->creator_id_len, "%s: creator_id_len",
                 in);
    cr_assert_str_eq(a->creator_id, b->creator_id, "%s: creator_id", in);
    cr_assert_str_eq(a->post_id, b->post_id, "%s: post_id", in);
    cr_assert_str_eq(a->brand, b->brand, "%s: brand", in);
    cr_assert_str_eq(a->sector, b->sector, "%s: sector", in);
    cr_assert_str_eq(a->campaign_id, b->campaign_id, "%s: campaign_id", in);
    cr_assert_str_eq(a->event_id, b->event_id, "%s: event_id", in);
    return fast_out.rc;
}

/* With no key, with a wrong one, and with the creator_id when the event was
 * read. */
static void expect_same_any_key(const void *msg, size_t len)
{
    if (expect_same(msg, len, NULL, 0) == EVENT_ERR_KEY_MISMATCH) {
        char key[EVENT_ID_MAX + 1];
        size_t key_len = slow_out.ev.creator_id_len;
        memcpy(key, slow_out.ev.creator_id, key_len);
        cr_assert_eq(expect_same(msg, len, key, key_len), EVENT_OK, "%s",
                     shown(msg, len));
    }
    expect_same(msg, len, "h1", 2);
}

/* Every file under dir, recursively; keys (NAME.key) are used as such. */
static size_t agree_on_tree(const char *dir)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, is_subdir_name, alphasort);
    cr_assert(n >= 0, "cannot read %s (set ENGAGED_ROOT)", dir);
    size_t files = 0;
    for (int i = 0; i < n; i++) {
        char *p = path_join(dir, ents[i]->d_name);
        struct stat st;
        cr_assert_eq(stat(p, &st), 0, "%s", p);
        size_t nl = strlen(p);
        if (S_ISDIR(st.st_mode)) {
            files += agree_on_tree(p);
        } else if (!(nl > 4 && strcmp(p + nl - 4, ".key") == 0)) {
            size_t len;
            char *msg = slurp(p, &len);
            expect_same_any_key(msg, len);
            /* A .bin's key, when it has one. */
            if (nl > 4 && strcmp(p + nl - 4, ".bin") == 0) {
                strcpy(p + nl - 4, ".key");
                if (stat(p, &st) == 0) {
                    size_t key_len;
                    char *key = slurp(p, &key_len);
                    expect_same(msg, len, key, key_len);
                    free(key);
                }
            }
            free(msg);
            files++;
        }
        free(p);
        free(ents[i]);
    }
    free(ents);
    return files;
}

Test(event, fast_path_and_jansson_agree_on_every_corpus_file)
{
    static const char *const dirs[] = {"tests/corpus", "tests/fuzz/corpus/event"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char *dir = root_file(dirs[i]);
        cr_expect_gt(agree_on_tree(dir), 10, "%s", dir);
        free(dir);
    }
}

#define F3 "\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":0"

/* Inputs at the scanner's edges: what it must decline, what it may take. */
Test(event, fast_path_and_jansson_agree_on_edge_cases)
{
    static const char *const cases[] = {
        "{" FOL "}", " \t\r\n{" FOL "} \n\t\r", "{" FOL "}\f", "\f{" FOL "}",
        "{" FOL "}x", "{" FOL "}}", "{" FOL ",}", "{," FOL "}", "{}", "{ }",
        "[]", "\"x\"", "1", "null", "", " ", "{" FOL "", "{" F3 ",\"followers\"",
        "{" F3 ",\"followers\":", "{" F3 ",\"followers\":1",
        "{" F3 ",\"followers\":1 ", "{" F3 ",\"followers\":01}",
        "{" F3 ",\"followers\":-0}", "{" F3 ",\"followers\":-}",
        "{" F3 ",\"followers\":1.}", "{" F3 ",\"followers\":1.0}",
        "{" F3 ",\"followers\":1e0}", "{" F3 ",\"followers\":1E0}",
        "{" F3 ",\"followers\":+1}", "{" F3 ",\"followers\":1x}",
        "{" F3 ",\"followers\":1\"\"}", "{" F3 ",\"followers\":1 2}",
        "{" F3 ",\"followers\":999999999999}",
        "{" F3 ",\"followers\":1000000000000}",
        "{" F3 ",\"followers\":1000000000001}",
        "{" F3 ",\"followers\":999999999999999999}",
        "{" F3 ",\"followers\":1000000000000000000}",
        "{" F3 ",\"followers\":9223372036854775807}",
        "{" F3 ",\"followers\":9223372036854775808}",
        "{" F3 ",\"followers\":-9223372036854775808}",
        "{" F3 ",\"followers\":-9223372036854775809}",
        "{" F3 ",\"followers\":1,\"x\":-999999999999999999}",
        "{" F3 ",\"followers\":1,\"x\":-9223372036854775809}",
        "{" F3 ",\"followers\":1,\"x\":true}",
        "{" F3 ",\"followers\":1,\"x\":truex}",
        "{" F3 ",\"followers\":1,\"x\":tru}", "{" F3 ",\"followers\":1,\"x\":True}",
        "{" F3 ",\"followers\":1,\"x\":nul}", "{" F3 ",\"followers\":1,\"x\":NaN}",
        "{" F3 ",\"followers\":1,\"x\":false,\"y\":null}",
        "{" F3 ",\"followers\":1,\"x\":[]}", "{" F3 ",\"followers\":1,\"x\":{}}",
        "{" F3 ",\"followers\":1,\"x\":1,\"x\":1}",
        "{" F3 ",\"followers\":1,\"x\":1,\"y\":1,\"x\":1}",
        "{" F3 ",\"followers\":1,\"ts\":0}", "{" F3 ",\"followers\":1,\"Ts\":0}",
        "{" F3 ",\"followers\":1,\"t\\u0073\":0}",
        "{" F3 ",\"followers\":1,\"\":0}",
        "{" F3 ",\"followers\":1,\"\":0,\"\":1}",
        "{" F3 ",\"followers\":1,\"\x7f\":0}",
        "{" F3 ",\"followers\":1,\"\xc3\xa9\":0,\"\xc3\xa9\":1}",
        "{" F3 ",\"followers\":1,\"\xc3\":0}",
        "{" F3 ",\"followers\":1,\"a\tb\":0}",
        "{" F3 ",\"followers\":1,\"x\":\"\x7f\xc2\x85\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\\u0000\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xed\x9f\xbf\xee\x80\x80\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xed\xa0\x80\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xe0\x9f\xbf\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xe0\xa0\x80\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xf0\x8f\xbf\xbf\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xf0\x90\x80\x80\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xf4\x8f\xbf\xbf\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xf4\x90\x80\x80\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xf5\x80\x80\x80\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xc1\xbf\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xc2\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\xe2\x82\"}",
        "{" F3 ",\"followers\":1,\"x\":\"\x80\"}",
        "{\"type\":\"followers\",\"creator_id\":\"c\x7f\",\"ts\":0,\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"c\xc2\x9f\",\"ts\":0,\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"c\xc2\xa0\",\"ts\":0,\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"\",\"ts\":0,\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":-0,\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":253402300799999,"
        "\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":\"1970-01-01T00:30:00+01:00\","
        "\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":\"1969-12-31T23:00:00-05:00\","
        "\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":\"2026-11-01T13:00:00Z\","
        "\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":\"2026-11-01T13:00:00.001Z\","
        "\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":null,\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":true,\"followers\":1}",
        "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":0,\"followers\":null}",
        "{\"type\":\"followers\",\"creator_id\":\"c42\",\"ts\":0}",
        "{\"type\":\"Followers\",\"creator_id\":\"c42\",\"ts\":0,\"followers\":1}",
        "{\"type\":null,\"creator_id\":\"c42\",\"ts\":0,\"followers\":1}",
        "{" ENG ",\"count\":0}", "{" ENG ",\"count\":1000000000}",
        "{" ENG ",\"count\":1000000001}", "{" ENG ",\"count\":true}",
        "{" ENG ",\"post_id\":null}", "{" ENG ",\"post_id\":\"\"}",
        "{" ENG ",\"event_id\":\"e\",\"campaign_id\":\"k\"}",
        "{" ENG ",\"event_id\":1}", "{" ENG ",\"campaign_id\":\"\x7f\"}",
        "{" ENG ",\"sponsored\":7,\"brand\":null,\"sector\":1}",
        "{\"type\":\"engagement\",\"creator_id\":\"c42\",\"ts\":0,\"action\":\"Like\"}",
        "{\"type\":\"engagement\",\"creator_id\":\"c42\",\"ts\":0,\"action\":null}",
        "{\"type\":\"engagement\",\"creator_id\":\"c42\",\"ts\":0}",
        "{" POST "}", "{" POST ",\"sponsored\":true}",
        "{" POST ",\"sponsored\":true,\"brand\":\"  \"}",
        "{" POST ",\"sponsored\":true,\"brand\":\" P \"}",
        "{" POST ",\"sponsored\":false,\"brand\":\"  \"}",
        "{" POST ",\"sponsored\":null}", "{" POST ",\"sponsored\":1}",
        "{" POST ",\"sector\":\"s\",\"brand\":\"b\"}",
        "{" POST ",\"sector\":\"\xc2\x80\"}",
        "{\"type\":\"post\",\"creator_id\":\"c42\",\"ts\":0,\"post_id\":\"\"}",
        "{\"type\":\"post\",\"creator_id\":\"c42\",\"ts\":0,\"post_id\":1}",
        "{" FOL ",\"action\":\"bogus\",\"count\":0,\"post_id\":\"\x7f\"}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_same_any_key(cases[i], strlen(cases[i]));
    /* A NUL byte: raw, after the object, and a payload of NULL. */
    static const char nul_in[] = "{" F3 ",\"followers\":1,\"x\":\"a\0b\"}";
    static const char nul_after[] = "{" FOL "}\0";
    static const char nul_key[] = "{" F3 ",\"followers\":1,\"a\0\":1}";
    expect_same_any_key(nul_in, sizeof nul_in - 1);
    expect_same_any_key(nul_after, sizeof nul_after - 1);
    expect_same_any_key(nul_key, sizeof nul_key - 1);
    expect_same_any_key(NULL, 0);
}

/* Lengths at the text rule's limits, in bytes and in code points. */
Test(event, fast_path_and_jansson_agree_on_string_lengths)
{
    static const char *const units[] = {"c", "\xc3\xa9", "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80", "\x7f"};
    static const size_t counts[] = {1, 127, 128, 129, 200};
    static const char *const fields[] = {"creator_id", "post_id", "event_id",
                                         "x"};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
            for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
                char *s = repeat(units[u], counts[c]);
                size_t n = strlen(s) + 256;
                char *json = malloc(n);
                cr_assert_not_null(json);
                if (f == 0)
                    snprintf(json, n, "{\"type\":\"followers\",\"creator_id\":"
                                      "\"%s\",\"ts\":0,\"followers\":1}", s);
                else
                    snprintf(json, n, "{" ENG ",\"%s\":\"%s\"}", fields[f], s);
                expect_same_any_key(json, strlen(json));
                free(json);
                free(s);
            }
}

/* The scanner tracks 16 unknown keys for duplicates and declines past
 * them; a duplicate is found wherever it is. */
Test(event, fast_path_and_jansson_agree_on_many_keys)
{
    static const size_t counts[] = {1, 15, 16, 17, 40};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
        for (size_t dup = 0; dup <= counts[c]; dup++) {
            char json[2048];
            size_t n = (size_t)snprintf(json, sizeof json, "{" FOL);
            for (size_t i = 0; i < counts[c]; i++)
                n += (size_t)snprintf(json + n, sizeof json - n,
                                      ",\"k%zu\":%zu", i, i);
            /* dup == counts[c]: no duplicate; else k<dup> again. */
            if (dup < counts[c])
                n += (size_t)snprintf(json + n, sizeof json - n,
                                      ",\"k%zu\":0", dup);
            snprintf(json + n, sizeof json - n, "}");
            expect_same_any_key(json, strlen(json));
        }
}

/* ---- Generated events and their mutations. ---- */

static uint64_t rng_state;

/* splitmix64: deterministic, so that a failure replays. */
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static size_t below(size_t n)
{
    return (size_t)(rnd() % n);
}

static bool chance(unsigned percent)
{
    return below(100) < percent;
}

/* A message under construction. */
typedef struct msg_buf {
    char s[8192];
    size_t n;
} msg_buf;

static void put(msg_buf *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(msg_buf *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(m->s + m->n, sizeof m->s - m->n, fmt, ap);
    va_end(ap);
    cr_assert(k >= 0 && (size_t)k < sizeof m->s - m->n);
    m->n += (size_t)k;
}

/* Optional JSON white space, as a sloppy producer might write it. */
static void ws(msg_buf *m, bool sloppy)
{
    static const char spaces[] = " \t\n\r";
    while (sloppy && chance(30))
        put(m, "%c", spaces[below(4)]);
}

/* A string without escapes that keeps the text rule: ASCII, Latin-1,
 * emoji, at most 128 code points, sometimes exactly. */
static void text(msg_buf *m, const char *prefix, bool nonempty)
{
    static const char *const units[] = {"a", "Z", "0", "-", " ", "\xc3\xa9",
                                        "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                        "\xc2\xa0", "\xef\xbf\xbd"};
    size_t chars = strlen(prefix);
    put(m, "\"%s", prefix);
    size_t want = chance(5) ? EVENT_ID_MAX_CHARS : below(12);
    if (!nonempty && chance(10))
        want = 0;
    for (; chars < want; chars++)
        put(m, "%s", units[below(chance(70) ? 3 : sizeof units / sizeof units[0])]);
    if (chars == 0 && nonempty)
        put(m, "x");
    put(m, "\"");
}

/* A ts of the last 30 days or the next hour: epoch ms, or RFC 3339 with
 * Z, z, an offset, and 0 to 9 fraction digits. */
static void ts_value(msg_buf *m)
{
    int64_t ms = NOW - (int64_t)below(30 * 86400000u) +
                 (chance(5) ? (int64_t)below(3600001) : 0);
    if (chance(25)) {
        put(m, "%lld", (long long)ms);
        return;
    }
    int64_t offset_min = chance(50) ? 0 : (int64_t)below(2 * 23 * 60 + 1) - 23 * 60;
    char when[32];
    timefmt_format_rfc3339(ms - ms % 1000 + offset_min * 60000, when,
                           sizeof when);
    when[19] = '\0'; /* YYYY-MM-DDTHH:MM:SS */
    if (chance(5))
        when[10] = 't';
    put(m, "\"%s", when);
    int digits = chance(50) ? 0 : (int)below(10);
    if (digits > 0) {
        char frac[16];
        snprintf(frac, sizeof frac, "%03d%06d", (int)(ms % 1000),
                 (int)below(1000000));
        put(m, ".%.*s", digits, frac);
    }
    if (offset_min == 0 && chance(80))
        put(m, "%s\"", chance(90) ? "Z" : "z");
    else
        put(m, "%c%02d:%02d\"", offset_min < 0 ? '-' : '+',
            (int)(llabs(offset_min) / 60), (int)(llabs(offset_min) % 60));
}

/* One "key":value pair per entry, written in a shuffled order. */
typedef struct pair {
    char key[32];
    msg_buf value;
} pair;

/*
 * A valid event of any type, as tools/gen.c and sloppier producers write
 * them: every field the type needs, some it may have, some of other types
 * and unknown ones, with scalar values only and no escape, so that the
 * scanner must take it.  The creator_id goes to key.
 */
static void gen_valid(msg_buf *out, char *key, size_t *key_len)
{
    static pair pairs[32];
    size_t np = 0;
    static const char *const types[] = {"engagement", "post", "followers"};
    static const char *const actions[] = {"like", "comment", "share", "save",
                                          "view", "click", "conversion"};
    size_t type = below(100) < 80 ? 0 : chance(70) ? 1 : 2;

#define PAIR(k) (snprintf(pairs[np].key, sizeof pairs[np].key, "%s", k), \
                 pairs[np].value.n = 0, &pairs[np++].value)
    put(PAIR("type"), "\"%s\"", types[type]);
    msg_buf *id = PAIR("creator_id");
    if (chance(80)) {
        put(id, "\"c%u\"", (unsigned)below(100000));
    } else {
        text(id, "", true);
    }
    /* The key is the creator_id's bytes, between the quotes. */
    *key_len = id->n - 2;
    memcpy(key, id->s + 1, *key_len);
    ts_value(PAIR("ts"));
    if (chance(20))
        text(PAIR("event_id"), "e-", false);
    if (chance(15))
        text(PAIR("campaign_id"), "k", false);
    if (type == 2 || chance(30))
        put(PAIR("followers"), "%lld",
            chance(5) ? (long long)EVENT_FOLLOWERS_MAX
                      : (long long)below(2000000));
    if (type == 0) {
        put(PAIR("action"), "\"%s\"", actions[below(7)]);
        if (chance(70))
            put(PAIR("count"), "%lld",
                chance(5) ? (long long)EVENT_COUNT_MAX
                          : (long long)(1 + below(500)));
        if (chance(30))
            text(PAIR("post_id"), "p", false);
    } else if (type == 1) {
        text(PAIR("post_id"), "p", true);
        bool sponsored = chance(30);
        if (sponsored || chance(50))
            put(PAIR("sponsored"), "%s", sponsored ? "true" : "false");
        if (sponsored || chance(20)) {
            msg_buf *b = PAIR("brand");
            put(b, "\"%s%s%s\"", chance(20) ? "  " : "",
                chance(50) ? "Pepsi" : "Coca-Cola", chance(20) ? " " : "");
        }
        if (chance(40))
            text(PAIR("sector"), "", false);
    }
    /* Fields of other types, ignored whatever they hold. */
    if (type != 0 && chance(10))
        put(PAIR("action"), "%s", chance(50) ? "\"bogus\"" : "7");
    if (type != 0 && chance(10))
        put(PAIR("count"), "%s", chance(50) ? "0" : "null");
    if (type != 1 && chance(10))
        put(PAIR("sponsored"), "%s", chance(50) ? "\"yes\"" : "null");
    if (type != 1 && chance(10))
        put(PAIR("brand"), "%s", chance(50) ? "\"\x7f\"" : "false");
    /* Unknown fields, scalars only. */
    size_t unknown = chance(70) ? 0 : below(6);
    for (size_t i = 0; i < unknown; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s%zu", chance(80) ? "x" : "\xc3\xa9", i);
        msg_buf *v = PAIR(name);
        switch (below(6)) {
        case 0: put(v, "%lld", (long long)below(1000000000) - 500000000); break;
        case 1: put(v, "\"a\x7f\xc2\x85\""); break;
        case 2: text(v, "", false); break;
        case 3: put(v, "true"); break;
        case 4: put(v, "false"); break;
        default: put(v, "null"); break;
        }
    }
#undef PAIR

    /* gen.c's order most of the time, shuffled otherwise. */
    if (chance(30))
        for (size_t i = np - 1; i > 0; i--) {
            size_t j = below(i + 1);
            pair t = pairs[i];
            pairs[i] = pairs[j];
            pairs[j] = t;
        }
    bool sloppy = chance(20);
    out->n = 0;
    ws(out, sloppy);
    put(out, "{");
    for (size_t i = 0; i < np; i++) {
        ws(out, sloppy);
        put(out, "%s\"%s\"", i ? "," : "", pairs[i].key);
        ws(out, sloppy);
        put(out, ":");
        ws(out, sloppy);
        put(out, "%.*s", (int)pairs[i].value.n, pairs[i].value.s);
        ws(out, sloppy);
    }
    put(out, "}");
    ws(out, sloppy);
}

/* Replaces m->s[at, at + del) by ins (len bytes). */
static void splice(msg_buf *m, size_t at, size_t del, const char *ins,
                   size_t len)
{
    if (at > m->n)
        at = m->n;
    if (del > m->n - at)
        del = m->n - at;
    if (m->n - del + len > sizeof m->s)
        return;
    memmove(m->s + at + len, m->s + at + del, m->n - at - del);
    memcpy(m->s + at, ins, len);
    m->n = m->n - del + len;
}

/* Bytes and snippets that sit on the edges of the scanner's rules. */
static const char *const snippets[] = {
    "\"", "\\", "{", "}", "[", "]", ",", ":", " ", "\t", "\n", "\r", "\f",
    "\x7f", "\xc2", "\x80", "\xc2\x85", "\xc2\xa0", "\xff", "\xed\xa0\x80",
    "\xf4\x90\x80\x80", "\xe0\x80\x80", "\xc0\xaf", "\xf0\x9f\x98\x80", "e",
    ".", "-", "0", "00", "-0", "1e3", ".5", "E", "+", "\\u0000", "\\n",
    "\\u00e9", "\\ud83d\\ude00", "\\ud800", "\\\"", "\\/", "\\u007f", "null",
    "true", "false", "nul", "[]", "{}", "[1,{\"a\":2}]", "{\"a\":1,\"a\":2}",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "-9223372036854775809", "18446744073709551616", "999999999999999999",
    "1000000000000000000", "1000000000", "1000000001", "1000000000000",
    "1000000000001", "253402300799999", "253402300800000", "1e400", "NaN",
    "Infinity", ",\"type\":\"post\"", ",\"x\":1", ",\"x\":1,\"x\":2",
    ",\"creator_id\":\"c1\"", ",\"ts\":0", ",\"followers\":5", ",\"count\":2",
    ",\"sponsored\":true", ",\"brand\":\" \"", ",\"post_id\":\"\"",
    "\"9999-12-31T23:59:59.999Z\"", "\"1970-01-01T00:30:00+01:00\"",
    "\"2026-11-01T13:00:00.001Z\"", "\"2026-02-29T00:00:00Z\"",
};

/* One random edit of a message. */
static void mutate(msg_buf *m)
{
    size_t at = m->n ? below(m->n + 1) : 0;
    char byte;
    switch (below(9)) {
    case 0: /* flip a bit */
        if (m->n)
            m->s[below(m->n)] ^= (char)(1u << below(8));
        break;
    case 1: /* any byte, replaced or inserted */
        byte = (char)below(256);
        splice(m, at, chance(50), &byte, 1);
        break;
    case 2: /* delete a few bytes */
        splice(m, at, 1 + below(chance(80) ? 1 : 8), "", 0);
        break;
    case 3: /* truncate */
        m->n = at;
        break;
    case 4: case 5: { /* insert or overwrite a snippet */
        const char *s = snippets[below(sizeof snippets / sizeof snippets[0])];
        splice(m, at, chance(30) ? below(4) : 0, s, strlen(s));
        break;
    }
    case 6: { /* a number replaced: after a ':' that starts one */
        for (size_t i = at; i + 1 < m->n; i++)
            if (m->s[i] == ':' && (m->s[i + 1] == '-' ||
                                   (m->s[i + 1] >= '0' && m->s[i + 1] <= '9'))) {
                size_t j = i + 1;
                while (j < m->n && m->s[j] != ',' && m->s[j] != '}')
                    j++;
                const char *s = snippets[below(sizeof snippets /
                                               sizeof snippets[0])];
                splice(m, i + 1, j - i - 1, s, strlen(s));
                break;
            }
        break;
    }
    case 7: { /* a pair duplicated: from a ',' or '{' to the next ',' */
        const char *p = memchr(m->s + at, ',', m->n - at);
        if (p == NULL)
            break;
        size_t from = (size_t)(p - m->s);
        const char *q = memchr(p + 1, ',', m->n - from - 1);
        size_t to = q ? (size_t)(q - m->s) : m->n - 1;
        char copy[1024];
        size_t len = to - from;
        if (len > sizeof copy)
            break;
        memcpy(copy, m->s + from, len);
        splice(m, to, 0, copy, len);
        break;
    }
    default: { /* many unknown keys first, maybe one of them twice */
        size_t n = 10 + below(12), dup = below(n + 4);
        char extra[512];
        size_t len = 0;
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(extra + len, sizeof extra - len,
                                    "\"u%zu\":%zu,", i == dup ? 0 : i, i);
        const char *brace = memchr(m->s, '{', m->n);
        if (brace != NULL)
            splice(m, (size_t)(brace - m->s) + 1, 0, extra, len);
        break;
    }
    }
}

Test(event, fast_path_takes_every_generated_event_as_jansson_does)
{
    static msg_buf m;
    char key[EVENT_ID_MAX + 1];
    size_t key_len;
    rng_state = 1;
    for (int i = 0; i < 5000; i++) {
        gen_valid(&m, key, &key_len);
        event fast;
        cr_assert(event_parse_fast(m.s, m.n, &limits, NOW, &fast),
                  "the scanner declines %s", shown(m.s, m.n));
        cr_assert_eq(expect_same(m.s, m.n, key, key_len), EVENT_OK, "%s: %s",
                     shown(m.s, m.n), slow_out.detail);
        cr_assert_str_eq(fast.creator_id, slow_out.ev.creator_id);
        expect_same(m.s, m.n, NULL, 0);
    }
}

Test(event, fast_path_and_jansson_agree_on_mutated_events)
{
    static msg_buf m;
    char key[EVENT_ID_MAX + 1];
    size_t key_len;
    size_t taken = 0, read = 0, total = 20000;
    rng_state = 2;
    for (size_t i = 0; i < total; i++) {
        gen_valid(&m, key, &key_len);
        for (size_t k = 1 + below(3); k > 0; k--)
            mutate(&m);
        event fast;
        bool took = event_parse_fast(m.s, m.n, &limits, NOW, &fast);
        event_error rc = expect_same(m.s, m.n, key, key_len);
        /* What the scanner takes, jansson reads as an event. */
        if (took)
            cr_assert(rc == EVENT_OK || rc == EVENT_ERR_KEY_MISMATCH,
                      "%s", shown(m.s, m.n));
        taken += took;
        read += rc == EVENT_OK || rc == EVENT_ERR_KEY_MISMATCH;
    }
    /* About 7% of the mutants are still events; those without an escape,
     * a real or a nested value (most of them) are the scanner's to take. */
    cr_expect_gt(read, total / 20, "only %zu of %zu mutants are events", read,
                 total);
    cr_expect_gt(taken, read * 3 / 4,
                 "the scanner took %zu of the %zu mutants jansson read",
                 taken, read);
}

/* --- out of memory ----------------------------------------------------------- */

/*
 * jansson running out of memory is no fault of the message: every
 * allocation failure while parsing gives EVENT_ERR_NOMEM (or, where
 * jansson copes, the same result as without it), never a DLQ reason.
 */
Test(event, out_of_memory_in_jansson_is_not_invalid_json)
{
    /* An escape sends it to jansson, which allocates for every value. */
    const char *json =
        "{\"type\":\"post\",\"creator_id\":\"c42\",\"ts\":\"2026-11-01T10:00:00Z\","
        "\"post_id\":\"p\\u00e91\",\"brand\":\"Acme\",\"sponsored\":true}";
    cr_assert_eq(parse(json), EVENT_OK, "%s", detail);
    event want = ev;
    uint64_t n, nomem = 0;
    for (n = 1; n < 10000; n++) {
        failalloc_arm(n, false);
        event_error rc = parse(json);
        uint64_t failed = failalloc_failures();
        failalloc_disarm();
        if (failed == 0) {
            cr_assert_eq(rc, EVENT_OK);
            break;
        }
        cr_assert(rc == EVENT_ERR_NOMEM || rc == EVENT_OK,
                  "allocation %" PRIu64 " failed: %s (%s)", n,
                  event_error_name(rc), detail);
        if (rc == EVENT_OK)
            cr_assert_str_eq(ev.post_id, want.post_id);
        nomem += rc == EVENT_ERR_NOMEM;
    }
    cr_assert_lt(n, 10000);
    cr_assert_gt(nomem, 0, "no allocation failure was seen as one");
    cr_assert_str_eq(event_error_name(EVENT_ERR_NOMEM), "out_of_memory");
}

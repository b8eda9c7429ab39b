#include "timefmt.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* 2026-11-01T10:00:00Z, checked against `date -u -d @1793527200`. */
#define T_2026_11_01_10H INT64_C(1793527200000)

static int parse(const char *s, int64_t *ms)
{
    return timefmt_parse_rfc3339(s, strlen(s), ms);
}

static void expect_instant(const char *s, int64_t want)
{
    int64_t ms = 0;
    cr_assert_eq(parse(s, &ms), 0, "\"%s\" should parse", s);
    cr_expect_eq(ms, want, "\"%s\": got %lld, want %lld", s, (long long)ms,
                 (long long)want);
}

static void expect_refused(const char *s)
{
    int64_t ms = 12345;
    cr_expect_eq(parse(s, &ms), -1, "\"%s\" should be refused", s);
}

Test(timefmt, utc_zone_gives_the_instant)
{
    expect_instant("2026-11-01T10:00:00Z", T_2026_11_01_10H);
}

Test(timefmt, positive_and_negative_offsets_give_the_same_instant)
{
    expect_instant("2026-11-01T11:00:00+01:00", T_2026_11_01_10H);
    expect_instant("2026-11-01T04:30:00-05:30", T_2026_11_01_10H);
    expect_instant("2026-11-01T10:00:00+00:00", T_2026_11_01_10H);
    expect_instant("2026-11-01T10:00:00-00:00", T_2026_11_01_10H);
    expect_instant("2026-11-02T09:59:00+23:59", T_2026_11_01_10H);
    /* The offset crosses a day, a month and a year boundary. */
    expect_instant("2026-12-31T20:00:00-05:00", INT64_C(1798765200000));
    expect_instant("2027-01-01T01:00:00Z", INT64_C(1798765200000));
}

Test(timefmt, lower_case_t_and_z_are_accepted)
{
    expect_instant("2026-11-01t10:00:00z", T_2026_11_01_10H);
    expect_instant("2026-11-01t10:00:00Z", T_2026_11_01_10H);
}

Test(timefmt, fractions_of_any_length_are_truncated_to_milliseconds)
{
    expect_instant("2026-11-01T10:00:00.2Z", T_2026_11_01_10H + 200);
    expect_instant("2026-11-01T10:00:00.25Z", T_2026_11_01_10H + 250);
    expect_instant("2026-11-01T10:00:00.250Z", T_2026_11_01_10H + 250);
    expect_instant("2026-11-01T10:00:00.2509Z", T_2026_11_01_10H + 250);
    expect_instant("2026-11-01T10:00:00.99999Z", T_2026_11_01_10H + 999);
    expect_instant("2026-11-01T10:00:00.123456Z", T_2026_11_01_10H + 123);
    expect_instant("2026-11-01T10:00:00.1234567Z", T_2026_11_01_10H + 123);
    expect_instant("2026-11-01T10:00:00.12345678Z", T_2026_11_01_10H + 123);
    expect_instant("2026-11-01T10:00:00.999999999Z", T_2026_11_01_10H + 999);
    expect_instant("2026-11-01T10:00:00.0012345678901234Z",
                   T_2026_11_01_10H + 1);
    expect_instant("2026-11-01T09:00:00.250+01:00",
                   T_2026_11_01_10H - 7200000 + 250);
}

Test(timefmt, leap_days_follow_the_gregorian_rules)
{
    expect_instant("2024-02-29T00:00:00Z", INT64_C(1709164800000));
    expect_instant("2000-02-29T00:00:00Z", INT64_C(951782400000));
    expect_instant("2400-02-29T00:00:00Z", INT64_C(13574563200000));
    expect_refused("2026-02-29T00:00:00Z");
    expect_refused("1900-02-29T00:00:00Z");
    expect_refused("2100-02-29T00:00:00Z");
    expect_refused("2024-02-30T00:00:00Z");
}

Test(timefmt, each_month_has_its_own_last_day)
{
    static const int last[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    char s[32];
    for (int m = 1; m <= 12; m++) {
        int64_t ms;
        snprintf(s, sizeof s, "2026-%02d-%02dT00:00:00Z", m, last[m - 1]);
        cr_expect_eq(parse(s, &ms), 0, "%s should parse", s);
        snprintf(s, sizeof s, "2026-%02d-%02dT00:00:00Z", m, last[m - 1] + 1);
        expect_refused(s);
    }
    expect_refused("2026-01-00T00:00:00Z");
}

Test(timefmt, out_of_range_fields_are_refused)
{
    expect_refused("2026-13-01T10:00:00Z");
    expect_refused("2026-00-01T10:00:00Z");
    expect_refused("2026-11-01T24:00:00Z");
    expect_refused("2026-11-01T10:60:00Z");
    expect_refused("2016-12-31T23:59:60Z"); /* leap seconds are not kept */
    expect_refused("2026-11-01T10:00:00+24:00");
    expect_refused("2026-11-01T10:00:00+01:60");
}

Test(timefmt, malformed_times_are_refused)
{
    expect_refused("");
    expect_refused("2026-11-01");
    expect_refused("2026-11-01T10:00:00");        /* no zone */
    expect_refused("2026-11-01T10:00:00.250");    /* no zone */
    expect_refused("2026-11-01T10:00:00Zjunk");   /* garbage after */
    expect_refused("2026-11-01T10:00:00Z ");
    expect_refused("2026-11-01T10:00:00+01:00x");
    expect_refused("2026-11-01 10:00:00Z");       /* space for T */
    expect_refused("2026-11-01T10:00Z");          /* no seconds */
    expect_refused("2026-11-01T10:00:00.Z");      /* empty fraction */
    expect_refused("2026-11-01T10:00:00,5Z");
    expect_refused("2026-11-01T10:00:00+0100");
    expect_refused("2026-11-01T10:00:00+01");
    expect_refused("2026-11-01T10:00:00UTC");
    expect_refused("26-11-01T10:00:00Z");
    expect_refused("+2026-11-01T10:00:00Z");
    expect_refused("2026-1-01T10:00:00Z");
    expect_refused("2026-11-01T1:00:00Z");
    expect_refused("2026-11-01T10:00:0aZ");
    expect_refused("2026/11/01T10:00:00Z");
}

Test(timefmt, length_is_respected_without_a_terminating_nul)
{
    const char *s = "2026-11-01T10:00:00Zjunk";
    int64_t ms;
    cr_assert_eq(timefmt_parse_rfc3339(s, 20, &ms), 0);
    cr_expect_eq(ms, T_2026_11_01_10H);
    cr_expect_eq(timefmt_parse_rfc3339(s, 19, &ms), -1);
    cr_expect_eq(timefmt_parse_rfc3339(NULL, 0, &ms), -1);
}

Test(timefmt, epoch_boundaries)
{
    expect_instant("1970-01-01T00:00:00Z", 0);
    expect_instant("1970-01-01T00:00:00.001Z", 1);
    expect_instant("1969-12-31T23:59:59.999Z", -1);
    expect_instant("1970-01-01T01:00:00+01:00", 0);
    expect_instant("1970-01-01T00:30:00+01:00", -1800000);
    expect_instant("0000-01-01T00:00:00Z", INT64_C(-62167219200000));
    expect_instant("9999-12-31T23:59:59.999Z", INT64_C(253402300799999));
    expect_instant("9999-12-31T23:59:59-23:59", INT64_C(253402387139000));
}

static const char *fmt(int64_t ms)
{
    static char buf[32];
    return timefmt_format_rfc3339(ms, buf, sizeof buf);
}

Test(timefmt, format_writes_utc_with_milliseconds_only_when_needed)
{
    cr_expect_str_eq(fmt(T_2026_11_01_10H), "2026-11-01T10:00:00Z");
    cr_expect_str_eq(fmt(T_2026_11_01_10H + 250), "2026-11-01T10:00:00.250Z");
    cr_expect_str_eq(fmt(T_2026_11_01_10H + 7), "2026-11-01T10:00:00.007Z");
    cr_expect_str_eq(fmt(0), "1970-01-01T00:00:00Z");
    cr_expect_str_eq(fmt(-1), "1969-12-31T23:59:59.999Z");
    cr_expect_str_eq(fmt(INT64_C(1709164800000)), "2024-02-29T00:00:00Z");
    cr_expect_str_eq(fmt(INT64_C(-62167219200000)), "0000-01-01T00:00:00Z");
    cr_expect_str_eq(fmt(INT64_C(253402300799999)),
                     "9999-12-31T23:59:59.999Z");
}

Test(timefmt, format_survives_the_int64_extremes)
{
    cr_expect_str_eq(fmt(INT64_MAX), "292278994-08-17T07:12:55.807Z");
    cr_expect_str_eq(fmt(INT64_MIN), "-292275055-05-16T16:47:04.192Z");
}

Test(timefmt, format_then_parse_round_trips)
{
    /* A fixed LCG walk over years 0000-9999, plus every day of 2023-2025. */
    uint64_t x = 42;
    const int64_t lo = INT64_C(-62167219200000);
    const int64_t span = INT64_C(253402300799999) - lo + 1;
    for (int i = 0; i < 200000; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        int64_t ms = lo + (int64_t)((x >> 11) % (uint64_t)span);
        const char *s = fmt(ms);
        int64_t back;
        cr_assert_eq(parse(s, &back), 0, "%s does not parse", s);
        cr_assert_eq(back, ms, "%s: %lld != %lld", s, (long long)back,
                     (long long)ms);
    }
    for (int64_t ms = INT64_C(1672531200000); ms < INT64_C(1767225600000);
         ms += 86400000) {
        int64_t back;
        cr_assert_eq(parse(fmt(ms), &back), 0);
        cr_assert_eq(back, ms);
    }
}

static int64_t duration(const char *s)
{
    int64_t ms = -1;
    char err[128] = "";
    cr_assert_eq(timefmt_parse_duration(s, &ms, err, sizeof err), 0,
                 "\"%s\" should parse: %s", s, err);
    return ms;
}

static void expect_duration_error(const char *s, const char *want)
{
    int64_t ms = 777;
    char err[160] = "";
    cr_expect_eq(timefmt_parse_duration(s, &ms, err, sizeof err), -1,
                 "\"%s\" should be refused", s);
    cr_expect_eq(ms, 777, "*ms must be left alone on failure");
    cr_expect(strstr(err, want) != NULL, "\"%s\": error \"%s\" lacks \"%s\"",
              s ? s : "(null)", err, want);
}

Test(timefmt, durations_take_every_suffix)
{
    cr_expect_eq(duration("250ms"), 250);
    cr_expect_eq(duration("30s"), 30000);
    cr_expect_eq(duration("5m"), 300000);
    cr_expect_eq(duration("2h"), 7200000);
    cr_expect_eq(duration("90d"), INT64_C(7776000000));
    cr_expect_eq(duration("0"), 0);
    cr_expect_eq(duration("0ms"), 0);
    cr_expect_eq(duration("0d"), 0);
    cr_expect_eq(duration("007s"), 7000);
}

Test(timefmt, durations_refuse_bad_input_with_a_reason)
{
    expect_duration_error("2w",
                          "unknown unit \"w\" in \"2w\": use ms, s, m, h or d");
    expect_duration_error("5", "missing unit in \"5\"");
    expect_duration_error("", "empty duration");
    expect_duration_error(NULL, "empty duration");
    expect_duration_error("-5m", "non-negative integer");
    expect_duration_error("m", "non-negative integer");
    expect_duration_error(" 5m", "non-negative integer");
    expect_duration_error("5 m", "unknown unit \" m\"");
    expect_duration_error("5M", "unknown unit \"M\"");
    expect_duration_error("5ms ", "unknown unit \"ms \"");
    expect_duration_error("1.5h", "unknown unit \".5h\"");
}

Test(timefmt, durations_refuse_overflow)
{
    cr_expect_eq(duration("9223372036854775807ms"), INT64_MAX);
    cr_expect_eq(duration("106751991167d"), INT64_C(9223372036828800000));
    expect_duration_error("9223372036854775808ms", "too large");
    expect_duration_error("106751991168d", "too large");
    expect_duration_error("9223372036854775807s", "too large");
    expect_duration_error("99999999999999999999999999s", "too large");
}

Test(timefmt, durations_accept_a_null_errstr)
{
    int64_t ms;
    cr_expect_eq(timefmt_parse_duration("2w", &ms, NULL, 0), -1);
}

static const char *fdur(int64_t ms)
{
    static char buf[24];
    return timefmt_format_duration(ms, buf, sizeof buf);
}

Test(timefmt, format_duration_picks_the_largest_exact_unit)
{
    cr_expect_str_eq(fdur(0), "0s");
    cr_expect_str_eq(fdur(1), "1ms");
    cr_expect_str_eq(fdur(1500), "1500ms");
    cr_expect_str_eq(fdur(1000), "1s");
    cr_expect_str_eq(fdur(90000), "90s");
    cr_expect_str_eq(fdur(60000), "1m");
    cr_expect_str_eq(fdur(5400000), "90m");
    cr_expect_str_eq(fdur(3600000), "1h");
    cr_expect_str_eq(fdur(INT64_C(90000000)), "25h");
    cr_expect_str_eq(fdur(INT64_C(604800000)), "7d");
    cr_expect_str_eq(fdur(INT64_C(7776000000)), "90d");
    cr_expect_str_eq(fdur(INT64_MAX), "9223372036854775807ms");
}

Test(timefmt, format_duration_round_trips_through_parse)
{
    static const int64_t cases[] = {0, 1, 999, 1000, 61000, 3600000,
                                    86400000, INT64_C(90061001), INT64_MAX};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(duration(fdur(cases[i])), cases[i], "%s", fdur(cases[i]));
}

Test(timefmt, window_labels_name_fields_as_configured)
{
    char b[24];
    cr_assert_str_eq(timefmt_format_window(3600000, b, sizeof b), "1h");
    cr_assert_str_eq(timefmt_format_window(86400000, b, sizeof b), "24h");
    cr_assert_str_eq(timefmt_format_window(2 * 86400000LL, b, sizeof b), "2d");
    cr_assert_str_eq(timefmt_format_window(7 * 86400000LL, b, sizeof b), "7d");
    cr_assert_str_eq(timefmt_format_window(36 * 3600000LL, b, sizeof b), "36h");
    cr_assert_str_eq(timefmt_format_window(90 * 60000, b, sizeof b), "90m");
}

#include "timefmt.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MS_PER_SECOND INT64_C(1000)
#define MS_PER_MINUTE (60 * MS_PER_SECOND)
#define MS_PER_HOUR (60 * MS_PER_MINUTE)
#define MS_PER_DAY (24 * MS_PER_HOUR)

/*
 * Days from 1970-01-01 to the proleptic Gregorian date y-m-d.  The year is
 * counted from March so that the leap day, when there is one, is the last
 * day of the counted year; 400-year eras then all have 146097 days.  Plain
 * integer arithmetic so that the result never depends on TZ or on the libc
 * (timegm is not in C11, mktime reads the local zone).
 */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    if (m <= 2)
        y--;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_era = y - era * 400;                 /* 0..399 */
    int64_t month_from_march = (m + 9) % 12;             /* March = 0 */
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 -
                         year_of_era / 100 + day_of_year; /* 0..146096 */
    return era * 146097 + day_of_era - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;            /* 0..146096 */
    int64_t year_of_era = (day_of_era - day_of_era / 1460 +
                           day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era -
                          (365 * year_of_era + year_of_era / 4 -
                           year_of_era / 100);           /* 0..365 */
    int64_t month_from_march = (5 * day_of_year + 2) / 153;
    *d = (int)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    *m = (int)(month_from_march < 10 ? month_from_march + 3
                                     : month_from_march - 9);
    *y = year_of_era + era * 400 + (*m <= 2);
}

static bool is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* Reads exactly n decimal digits at s; -1 when one of them is not a digit. */
static int read_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int timefmt_parse_rfc3339(const char *s, size_t len, int64_t *ms)
{
    /* The shortest form is "YYYY-MM-DDTHH:MM:SSZ", 20 bytes. */
    if (s == NULL || len < 20)
        return -1;
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    int year = read_digits(s, 4);
    int month = read_digits(s + 5, 2);
    int day = read_digits(s + 8, 2);
    int hour = read_digits(s + 11, 2);
    int minute = read_digits(s + 14, 2);
    int second = read_digits(s + 17, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, month) || hour < 0 || hour > 23 ||
        minute < 0 || minute > 59 || second < 0 || second > 59)
        return -1;

    size_t i = 19;
    int64_t millis = 0;
    if (s[i] == '.') {
        i++;
        size_t first = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            /* Digits past the third are read and dropped: truncation. */
            if (i - first < 3)
                millis = millis * 10 + (s[i] - '0');
            i++;
        }
        if (i == first)
            return -1;
        for (size_t n = i - first; n < 3; n++)
            millis *= 10;
    }
    if (i >= len)
        return -1;

    int64_t offset_ms = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        if (len - i < 6 || s[i + 3] != ':')
            return -1;
        int oh = read_digits(s + i + 1, 2);
        int om = read_digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset_ms = oh * MS_PER_HOUR + om * MS_PER_MINUTE;
        if (s[i] == '-')
            offset_ms = -offset_ms;
        i += 6;
    } else {
        return -1;
    }
    if (i != len)
        return -1;

    /* The local time minus its offset from UTC is the UTC instant. */
    *ms = days_from_civil(year, month, day) * MS_PER_DAY +
          hour * MS_PER_HOUR + minute * MS_PER_MINUTE +
          second * MS_PER_SECOND + millis - offset_ms;
    return 0;
}

char *timefmt_format_rfc3339(int64_t ms, char *buf, size_t size)
{
    /* Floor division without forming days * MS_PER_DAY, which could
     * overflow near INT64_MIN. */
    int64_t days = ms / MS_PER_DAY;
    int64_t rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    int64_t year;
    int month, day;
    civil_from_days(days, &year, &month, &day);
    int hour = (int)(rem / MS_PER_HOUR);
    int minute = (int)(rem / MS_PER_MINUTE % 60);
    int second = (int)(rem / MS_PER_SECOND % 60);
    int millis = (int)(rem % MS_PER_SECOND);
    if (millis != 0)
        snprintf(buf, size, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 year, month, day, hour, minute, second, millis);
    else
        snprintf(buf, size, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ",
                 year, month, day, hour, minute, second);
    return buf;
}

static const struct {
    const char *suffix;
    int64_t ms;
} duration_units[] = {
    /* Largest first: timefmt_format_duration takes the first exact one. */
    {"d", MS_PER_DAY},    {"h", MS_PER_HOUR}, {"m", MS_PER_MINUTE},
    {"s", MS_PER_SECOND}, {"ms", 1},
};

#define N_DURATION_UNITS (sizeof duration_units / sizeof duration_units[0])

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    if (errstr == NULL || errstr_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

timefmt_duration_result timefmt_duration(const char *s, int64_t *ms,
                                         const char **unit)
{
    *unit = s;
    if (s == NULL || *s == '\0')
        return TIMEFMT_DURATION_EMPTY;
    const char *p = s;
    int64_t value = 0;
    bool overflow = false;
    while (*p >= '0' && *p <= '9') {
        int digit = *p - '0';
        if (value > (INT64_MAX - digit) / 10)
            overflow = true;
        else
            value = value * 10 + digit;
        p++;
    }
    *unit = p;
    if (p == s)
        return TIMEFMT_DURATION_NOT_A_NUMBER;
    if (*p == '\0') {
        /* Zero needs no unit: it is zero in all of them. */
        if (!overflow && value == 0) {
            *ms = 0;
            return TIMEFMT_DURATION_OK;
        }
        return overflow ? TIMEFMT_DURATION_TOO_LARGE : TIMEFMT_DURATION_NO_UNIT;
    }
    for (size_t u = 0; u < N_DURATION_UNITS; u++) {
        if (strcmp(p, duration_units[u].suffix) != 0)
            continue;
        if (overflow || value > INT64_MAX / duration_units[u].ms)
            return TIMEFMT_DURATION_TOO_LARGE;
        *ms = value * duration_units[u].ms;
        return TIMEFMT_DURATION_OK;
    }
    return TIMEFMT_DURATION_BAD_UNIT;
}

int timefmt_parse_duration(const char *s, int64_t *ms, char *errstr,
                           size_t errstr_size)
{
    const char *unit;
    switch (timefmt_duration(s, ms, &unit)) {
    case TIMEFMT_DURATION_OK:
        return 0;
    case TIMEFMT_DURATION_EMPTY:
        set_err(errstr, errstr_size,
                "empty duration: use an integer followed by ms, s, m, h or d "
                "(\"90d\", \"5m\")");
        break;
    case TIMEFMT_DURATION_NOT_A_NUMBER:
        set_err(errstr, errstr_size,
                "duration \"%s\" must start with a non-negative integer, "
                "then one of ms, s, m, h or d", s);
        break;
    case TIMEFMT_DURATION_NO_UNIT:
        set_err(errstr, errstr_size,
                "missing unit in \"%s\": use ms, s, m, h or d", s);
        break;
    case TIMEFMT_DURATION_TOO_LARGE:
        set_err(errstr, errstr_size,
                "duration \"%s\" is too large (at most %" PRId64 "ms)", s,
                INT64_MAX);
        break;
    case TIMEFMT_DURATION_BAD_UNIT:
        set_err(errstr, errstr_size,
                "unknown unit \"%s\" in \"%s\": use ms, s, m, h or d", unit,
                s);
        break;
    }
    return -1;
}

char *timefmt_format_duration(int64_t ms, char *buf, size_t size)
{
    if (ms == 0) {
        snprintf(buf, size, "0s");
        return buf;
    }
    for (size_t u = 0; u < N_DURATION_UNITS; u++) {
        if (ms % duration_units[u].ms == 0) {
            snprintf(buf, size, "%" PRId64 "%s", ms / duration_units[u].ms,
                     duration_units[u].suffix);
            break;
        }
    }
    return buf;
}

char *timefmt_format_window(int64_t ms, char *buf, size_t size)
{
    const int64_t day = 86400000, hour = 3600000;
    if (ms > 0 && ms % day == 0 && ms / day >= 2)
        snprintf(buf, size, "%lldd", (long long)(ms / day));
    else if (ms > 0 && ms % hour == 0)
        snprintf(buf, size, "%lldh", (long long)(ms / hour));
    else
        timefmt_format_duration(ms, buf, size);
    return buf;
}

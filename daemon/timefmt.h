/*
 * timefmt: the time formats of engaged's inputs and outputs.  Pure: no clock,
 * no global state; every function may be called from any thread.
 *
 * Times are int64 milliseconds since the Unix epoch, UTC.
 */
#ifndef ENGAGED_TIMEFMT_H
#define ENGAGED_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses an RFC 3339 date-time with a zone ("2026-11-01T10:00:00Z",
 * "2026-11-01T09:00:00.250+01:00"; 't' and 'z' accepted in lower case, any
 * number of fraction digits, truncated to milliseconds).  Field ranges are
 * checked (month 1-12, day within the month, leap years, hour 0-23, minute
 * 0-59, second 0-59, offset at most 23:59).  Years 0000-9999.
 * `s` is `len` bytes, not necessarily NUL-terminated.
 * Returns 0 and stores the instant in *ms, or -1 when `s` is not such a time.
 */
int timefmt_parse_rfc3339(const char *s, size_t len, int64_t *ms);

/*
 * Formats `ms` as "YYYY-MM-DDTHH:MM:SSZ", or with ".mmm" before the Z when
 * ms is not a whole second.  buf must hold at least 32 bytes.
 * Returns buf.
 */
char *timefmt_format_rfc3339(int64_t ms, char *buf, size_t size);

/* What reading a duration came to (timefmt_duration). */
typedef enum timefmt_duration_result {
    TIMEFMT_DURATION_OK = 0,
    TIMEFMT_DURATION_EMPTY,        /* NULL or "" */
    TIMEFMT_DURATION_NOT_A_NUMBER, /* it does not start with a digit */
    TIMEFMT_DURATION_NO_UNIT,      /* digits only, not 0 */
    TIMEFMT_DURATION_BAD_UNIT,     /* *unit is not ms, s, m, h or d */
    TIMEFMT_DURATION_TOO_LARGE     /* over INT64_MAX milliseconds */
} timefmt_duration_result;

/*
 * The one duration grammar engaged reads: a non-negative integer followed
 * by one of the suffixes ms, s, m, h, d ("90d", "5m", "250ms"); a bare "0"
 * is zero.  Stores milliseconds in *ms on TIMEFMT_DURATION_OK (else leaves
 * it); *unit points at what follows the digits, for messages.  Callers
 * word their own messages (the configuration's name the key and line).
 */
timefmt_duration_result timefmt_duration(const char *s, int64_t *ms,
                                         const char **unit);

/*
 * Parses a duration (timefmt_duration's grammar).
 * Returns 0 and stores milliseconds in *ms, or -1 with a readable reason in
 * errstr ("unknown unit \"w\" in \"2w\": use ms, s, m, h or d").
 */
int timefmt_parse_duration(const char *s, int64_t *ms, char *errstr,
                           size_t errstr_size);

/*
 * Formats a duration with the largest unit that divides it exactly
 * ("7d", "90m", "1500ms", "0s").  buf must hold at least 24 bytes.
 * Returns buf.
 */
char *timefmt_format_duration(int64_t ms, char *buf, size_t size);

/*
 * Formats a window length the way engaged names fields after it: whole days
 * of 2 or more as "Nd", else whole hours as "Nh", else minutes, seconds or
 * milliseconds ("1h", "24h", "7d", "90m", "36h").  So the default windows
 * 1h 24h 7d give likes_1h, likes_24h and likes_7d.  buf must hold at least
 * 24 bytes.  Returns buf.
 */
char *timefmt_format_window(int64_t ms, char *buf, size_t size);

#endif

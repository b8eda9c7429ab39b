/*
 * log: one line per log event on stderr, prefixed with the sd-daemon
 * priority ("<3>" error ... "<7>" debug) so that journald keeps the level,
 * followed by the message and key=value fields.
 *
 * Thread-safety: log_write(), log_vwrite() and log_limited() may be called
 * from any thread; each line is written with a single write(2).
 * log_set_level() is called by the main thread only (start-up and reload);
 * log_set_clock() only before any other thread logs (tests).
 */
#ifndef ENGAGED_LOG_H
#define ENGAGED_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level {
    LOG_LEVEL_ERROR = 3,
    LOG_LEVEL_WARNING = 4,
    LOG_LEVEL_NOTICE = 5,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7
};

/* log_limited() writes at most one line per key per this interval. */
#define LOG_LIMIT_INTERVAL_MS 10000

/* Distinct keys log_limited() tracks; keys beyond are not rate-limited. */
#define LOG_LIMIT_KEYS 128

/* Sets the most verbose level written.  Main thread. */
void log_set_level(int level);

/*
 * Parses "error", "warning", "notice", "info" or "debug".
 * Returns the level, or -1 for anything else.  Pure.
 */
int log_level_parse(const char *name);

/*
 * Writes one line at `level` when the level is enabled.  fmt is printf-like;
 * by convention the message comes first, then " key=value" fields.
 * Newlines in the formatted text are replaced by spaces so that one call is
 * always one journal entry.  Lines longer than 2 KiB are truncated.
 */
void log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* log_write() with a va_list (for library log callbacks).  Any thread. */
void log_vwrite(int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Rate-limited log_write(), for an error that can repeat in a tight loop
 * (Redis down, a broker unreachable, a scraper sending garbage).
 *   key:   names the repeated error, usually a constant string per call
 *          site ("redis-connect"); compared by content, at most 63 bytes
 *          significant.  Do not put per-event values (creator ids) in it:
 *          only LOG_LIMIT_KEYS distinct keys are tracked, and lines for keys
 *          beyond that are written without limit.
 *   level, fmt: as log_write().
 * The first line of a key is written; further lines of the same key within
 * LOG_LIMIT_INTERVAL_MS of the last written one are counted and dropped.
 * The next line written for the key then ends with " suppressed=K", K being
 * the number dropped since the previous written line.  Lines at a disabled
 * level are neither written nor counted.
 * Any thread (a mutex guards the key table; the line is formatted and
 * written outside it).
 */
void log_limited(const char *key, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Replaces the monotonic clock log_limited() reads (milliseconds); NULL
 * restores CLOCK_MONOTONIC.  For tests, which need exact intervals.  Call
 * before any other thread logs.
 */
void log_set_clock(int64_t (*now_ms)(void));

#define log_error(...)   log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...)  log_write(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...)    log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)   log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif

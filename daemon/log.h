/*
 * log: one line per log event on stderr, prefixed with the sd-daemon
 * priority ("<3>" error ... "<7>" debug) so that journald keeps the level,
 * followed by the message and key=value fields.
 *
 * Thread-safety: log_write() may be called from any thread; each line is
 * written with a single write(2).  log_set_level() is called by the main
 * thread only (start-up and reload).
 */
#ifndef ENGAGED_LOG_H
#define ENGAGED_LOG_H

enum log_level {
    LOG_LEVEL_ERROR = 3,
    LOG_LEVEL_WARNING = 4,
    LOG_LEVEL_NOTICE = 5,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7
};

/* Sets the most verbose level written.  Main thread. */
void log_set_level(int level);

/* Current level. Any thread. */
int log_get_level(void);

/*
 * Parses "error", "warning", "notice", "info" or "debug".
 * Returns the level, or -1 for anything else.  Pure.
 */
int log_level_parse(const char *name);

/*
 * Writes one line at `level` when the level is enabled.  fmt is printf-like;
 * by convention the message comes first, then " key=value" fields.
 * Newlines in the formatted text are replaced by spaces so that one call is
 * always one journal entry.
 */
void log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...)   log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...)  log_write(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...)    log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)   log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif

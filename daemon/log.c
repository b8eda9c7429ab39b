#include "log.h"
#include "now.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int current_level = LOG_LEVEL_INFO;

void log_set_level(int level)
{
    atomic_store(&current_level, level);
}

int log_level_parse(const char *name)
{
    static const struct { const char *name; int level; } names[] = {
        {"error", LOG_LEVEL_ERROR},   {"warning", LOG_LEVEL_WARNING},
        {"notice", LOG_LEVEL_NOTICE}, {"info", LOG_LEVEL_INFO},
        {"debug", LOG_LEVEL_DEBUG},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0)
            return names[i].level;
    return -1;
}

/* Formats and writes one line; `suffix` (may be NULL) goes at its end. */
__attribute__((format(printf, 3, 0)))
static void emit(int level, const char *suffix, const char *fmt, va_list ap)
{
    char line[2048];
    int n = snprintf(line, sizeof line, "<%d>", level);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    if (suffix != NULL) {
        /* The count must survive truncation: it overwrites the message's
         * tail rather than being cut off. */
        size_t sl = strlen(suffix);
        if (len + sl > sizeof line - 2)
            len = sizeof line - 2 - sl;
        memcpy(line + len, suffix, sl);
        len += sl;
    }
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    /* One write per line so that lines from several threads never mix. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void log_vwrite(int level, const char *fmt, va_list ap)
{
    if (level > atomic_load(&current_level))
        return;
    emit(level, NULL, fmt, ap);
}

void log_write(int level, const char *fmt, ...)
{
    if (level > atomic_load(&current_level))
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, NULL, fmt, ap);
    va_end(ap);
}

/* --- rate limiting ---------------------------------------------------------- */

#define KEY_MAX 63

typedef struct limit_entry {
    bool used;
    char key[KEY_MAX + 1];
    int64_t last_ms;         /* when a line of this key was last written */
    uint64_t suppressed;     /* dropped since then */
} limit_entry;

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static limit_entry limits[LOG_LIMIT_KEYS];
static int64_t (*clock_fn)(void);

static int64_t mono_ms(void)
{
    if (clock_fn != NULL)
        return clock_fn();
    return now_mono_ms();
}

void log_set_clock(int64_t (*now_ms)(void))
{
    clock_fn = now_ms;
}

/*
 * Decides whether a line for `key` is written now.  Returns false when it
 * is dropped (and counted); true when it is written, with *suppressed the
 * count to report.
 */
static bool limit_admit(const char *key, uint64_t *suppressed)
{
    int64_t now = mono_ms();
    *suppressed = 0;
    pthread_mutex_lock(&limit_lock);
    limit_entry *e = NULL, *free_slot = NULL;
    for (size_t i = 0; i < LOG_LIMIT_KEYS; i++) {
        if (!limits[i].used) {
            if (free_slot == NULL)
                free_slot = &limits[i];
        } else if (strncmp(limits[i].key, key, KEY_MAX) == 0) {
            e = &limits[i];
            break;
        }
    }
    bool admit = true;
    if (e != NULL) {
        if (now - e->last_ms < LOG_LIMIT_INTERVAL_MS) {
            e->suppressed++;
            admit = false;
        } else {
            *suppressed = e->suppressed;
            e->suppressed = 0;
            e->last_ms = now;
        }
    } else if (free_slot != NULL) {
        free_slot->used = true;
        snprintf(free_slot->key, sizeof free_slot->key, "%s", key);
        free_slot->last_ms = now;
        free_slot->suppressed = 0;
    }
    /* A full table writes every line: losing errors is worse than noise. */
    pthread_mutex_unlock(&limit_lock);
    return admit;
}

void log_limited(const char *key, int level, const char *fmt, ...)
{
    if (level > atomic_load(&current_level))
        return;
    uint64_t suppressed;
    if (!limit_admit(key, &suppressed))
        return;
    char suffix[40];
    if (suppressed > 0)
        snprintf(suffix, sizeof suffix, " suppressed=%" PRIu64, suppressed);
    va_list ap;
    va_start(ap, fmt);
    emit(level, suppressed > 0 ? suffix : NULL, fmt, ap);
    va_end(ap);
}

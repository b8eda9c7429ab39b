#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static atomic_int current_level = LOG_LEVEL_INFO;

void log_set_level(int level)
{
    atomic_store(&current_level, level);
}

int log_get_level(void)
{
    return atomic_load(&current_level);
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

void log_write(int level, const char *fmt, ...)
{
    if (level > atomic_load(&current_level))
        return;
    char line[2048];
    int n = snprintf(line, sizeof line, "<%d>", level);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    /* One write per line so that lines from several threads never mix. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

#include "notify.h"
#include "now.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

/* sd_notify() answers >0 sent, 0 no socket, <0 -errno. */
static int send_state(const char *state)
{
    int r = sd_notify(0, state);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

int notify_ready(void)
{
    return send_state("READY=1");
}

int notify_reloading(void)
{
    uint64_t usec = now_mono_us();
    char msg[64];
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, usec);
    return send_state(msg);
}

int notify_stopping(void)
{
    return send_state("STOPPING=1");
}

int notify_status(const char *fmt, ...)
{
    char msg[1024 + sizeof "STATUS="] = "STATUS=";
    size_t off = sizeof "STATUS=" - 1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg + off, sizeof msg - off, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    for (char *p = msg + off; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return send_state(msg);
}

int notify_watchdog(void)
{
    return send_state("WATCHDOG=1");
}

int64_t notify_watchdog_interval_ms(void)
{
    uint64_t usec = 0;
    /* 0 (not for us), <0 (malformed variables): no watchdog either way. */
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return 0;
    int64_t ms = (int64_t)(usec / 2000u);
    return ms > 0 ? ms : 1;
}

/*
 * notify: the systemd service notification protocol (sd_notify(3)), for a
 * Type=notify unit with WatchdogSec=.
 *
 * Built on libsystemd's sd_notify() and sd_watchdog_enabled(), which handle
 * NOTIFY_SOCKET in all its forms (a path, or "@name" for an abstract
 * socket), WATCHDOG_USEC and WATCHDOG_PID.  The environment is left as it
 * is, so a child process could see it; engaged starts none.
 *
 * Without NOTIFY_SOCKET (not started by systemd, or by a Type=simple unit)
 * every function is a no-op that succeeds.
 *
 * Return values: 0 when the message was sent or there is nowhere to send
 * it, -1 when sending failed (errno set); a failure is worth a log line but
 * never fatal.
 *
 * Thread-safety: any thread (each call opens its own socket); engaged
 * calls them from the main thread only.
 */
#ifndef ENGAGED_NOTIFY_H
#define ENGAGED_NOTIFY_H

#include <stdint.h>

/*
 * "READY=1": start-up is complete (the consumer joined its group and Redis
 * answers), or a reload is complete.
 */
int notify_ready(void);

/*
 * "RELOADING=1\nMONOTONIC_USEC=N", N being CLOCK_MONOTONIC in microseconds
 * (systemd 253 and later expect it with Type=notify-reload; older ones
 * ignore it).  Follow with notify_ready() once the reload is done, whether
 * or not the new configuration was accepted.
 */
int notify_reloading(void);

/* "STOPPING=1": shutdown has begun. */
int notify_stopping(void);

/*
 * "STATUS=<text>": the one-line status `systemctl status` shows.  fmt is
 * printf-like; newlines in the result are replaced by spaces (a newline
 * would start another assignment).  At most 1 KiB is sent.
 */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "WATCHDOG=1": the main loop is alive.  Send every
 * notify_watchdog_interval_ms(). */
int notify_watchdog(void);

/*
 * How often to call notify_watchdog(), in milliseconds: half of
 * WATCHDOG_USEC (rounded down, at least 1), or 0 when the watchdog is not
 * enabled for this process (no WATCHDOG_USEC, or WATCHDOG_PID names
 * another process).  Reads the environment on each call; call it once at
 * start-up.
 */
int64_t notify_watchdog_interval_ms(void);

#endif

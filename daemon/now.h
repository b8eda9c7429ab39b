/*
 * now: the clocks the shell reads.  The monotonic clock paces periodic work
 * (checkpoints, re-sends, timeouts, liveness); the wall clock only stamps
 * logs and bounds how far in the future an event may claim to be.  Event
 * time never comes from here (it comes from the events), and the pure core
 * never calls these: its callers pass time in.
 *
 * Any thread.
 */
#ifndef ENGAGED_NOW_H
#define ENGAGED_NOW_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds (an arbitrary origin). */
int64_t now_mono_ms(void);

/* CLOCK_MONOTONIC in microseconds (sd_notify's MONOTONIC_USEC). */
uint64_t now_mono_us(void);

/* CLOCK_REALTIME in milliseconds since the Unix epoch. */
int64_t now_wall_ms(void);

#endif

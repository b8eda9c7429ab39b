/*
 * sat: int64 arithmetic clamped to the type's range.  Event times and
 * durations are far from the limits in practice; these keep a corrupt blob
 * or a hostile input from being undefined behaviour.  Pure; any thread.
 */
#ifndef ENGAGED_SAT_H
#define ENGAGED_SAT_H

#include <stdint.h>

/* a + b, clamped to [INT64_MIN, INT64_MAX]. */
int64_t sat_add(int64_t a, int64_t b);

/* a - b, clamped to [INT64_MIN, INT64_MAX]. */
int64_t sat_sub(int64_t a, int64_t b);

#endif

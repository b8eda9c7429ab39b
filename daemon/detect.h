/*
 * detect: where alerts are decided.  The state (state.h) tells it, through
 * its hooks, when an event was applied to a creator and when a creator was
 * brought up to date at its wake time; detect runs the detectors on what
 * changed and keeps their alerts in the outbox (outbox.h):
 *   engagement_decay  decay.h, evaluated at the bucket boundaries of the
 *                     current window and at `for` deadlines, which it asks
 *                     the state to wake the creator for
 *   brand_conflict    conflict.h, on every sponsored post
 *   tier_change       when the state reclassified a known tier
 *   engagement_spike  spike.h, at each engagement and, while firing, at
 *                     each wake (buckets leaving its window)
 *   follower_jump     jump.h, at each new follower count
 * Pure: event time only, no clock, no I/O; a replay decides the same
 * alerts with the same ids.
 *
 * Main thread (the state's owner).
 */
#ifndef ENGAGED_DETECT_H
#define ENGAGED_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "outbox.h"
#include "state.h"

typedef struct detect detect;

/*
 * Detection for cfg (kept by pointer: a reload changes it in place),
 * deciding into ob (borrowed).  Returns NULL with errstr when out of
 * memory.
 */
detect *detect_new(const config *cfg, outbox *ob, char *errstr,
                   size_t errstr_size);
void detect_free(detect *d);

/* The hooks that connect it to a state (state_set_hooks). */
state_hooks detect_hooks(detect *d);

/* Sponsored posts whose sector was unknown (no conflict check), so far. */
uint64_t detect_conflicts_unchecked(const detect *d);

#endif

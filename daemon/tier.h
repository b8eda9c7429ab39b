/*
 * tier: the influence pyramid.  Classifies a follower count into a tier with
 * hysteresis, so that a creator hovering at a boundary does not flap.  Pure.
 */
#ifndef ENGAGED_TIER_H
#define ENGAGED_TIER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define TIER_UNKNOWN (-1)   /* no follower count known yet */

/*
 * Returns the tier (index into `tiers`, sorted by ascending minimum, the
 * first with minimum 0) of a creator now in tier `current` (TIER_UNKNOWN
 * for none) whose latest follower count is `followers` (>= 0):
 *   - the highest tier whose minimum <= followers, when that is not below
 *     `current` (moving up, or first classification);
 *   - otherwise the highest tier k <= current whose minimum x (1 -
 *     hysteresis) <= followers: moving down needs followers < minimum x
 *     (1 - hysteresis) of the tier being left.
 * Any thread.
 */
int tier_classify(const config_tier *tiers, size_t ntiers, double hysteresis,
                  int current, int64_t followers);

#endif

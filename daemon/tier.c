#include "tier.h"

int tier_classify(const config_tier *tiers, size_t ntiers, double hysteresis,
                  int current, int64_t followers)
{
    int raw = 0;
    for (size_t i = 0; i < ntiers; i++)
        if (tiers[i].min_followers <= followers)
            raw = (int)i;
    if (current == TIER_UNKNOWN || raw >= current)
        return raw;
    for (int k = current; k > 0; k--) {
        /* Compare in double: minimum x (1 - h) need not be an integer. */
        double floor_k = (double)tiers[k].min_followers * (1.0 - hysteresis);
        if ((double)followers >= floor_k)
            return k;
    }
    return 0;
}

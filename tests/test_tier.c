#include <criterion/criterion.h>

#include "tier.h"

static const config_tier T[] = {
    {"nano", 0}, {"micro", 10000}, {"mid", 50000},
    {"macro", 500000}, {"mega", 1000000},
};
#define N 5
#define H 0.05

Test(tier, first_classification_is_the_highest_reached)
{
    cr_assert_eq(tier_classify(T, N, H, TIER_UNKNOWN, 0), 0);
    cr_assert_eq(tier_classify(T, N, H, TIER_UNKNOWN, 9999), 0);
    cr_assert_eq(tier_classify(T, N, H, TIER_UNKNOWN, 10000), 1);
    cr_assert_eq(tier_classify(T, N, H, TIER_UNKNOWN, 999999), 3);
    cr_assert_eq(tier_classify(T, N, H, TIER_UNKNOWN, 1000000), 4);
    cr_assert_eq(tier_classify(T, N, H, TIER_UNKNOWN, 50000000), 4);
}

Test(tier, moving_up_needs_only_the_minimum)
{
    cr_assert_eq(tier_classify(T, N, H, 3, 1000000), 4);
    cr_assert_eq(tier_classify(T, N, H, 0, 600000), 3);
}

Test(tier, moving_down_needs_the_hysteresis_margin)
{
    /* mega at 1,000,000 x 0.95 = 950,000 */
    cr_assert_eq(tier_classify(T, N, H, 4, 999999), 4);
    cr_assert_eq(tier_classify(T, N, H, 4, 950000), 4);
    cr_assert_eq(tier_classify(T, N, H, 4, 949999), 3);
}

Test(tier, a_big_drop_lands_in_the_right_lower_tier)
{
    cr_assert_eq(tier_classify(T, N, H, 4, 9000), 0);
    /* micro's own band keeps 9,600 in micro: 10,000 x 0.95 = 9,500 */
    cr_assert_eq(tier_classify(T, N, H, 4, 9600), 1);
    cr_assert_eq(tier_classify(T, N, H, 2, 9499), 0);
}

Test(tier, a_creator_hovering_at_a_boundary_does_not_flap)
{
    int t = tier_classify(T, N, H, TIER_UNKNOWN, 1000500);
    const int64_t walk[] = {999000, 1001000, 960000, 1000000, 955000};
    for (size_t i = 0; i < sizeof walk / sizeof walk[0]; i++) {
        t = tier_classify(T, N, H, t, walk[i]);
        cr_assert_eq(t, 4, "step %zu: %lld", i, (long long)walk[i]);
    }
}

Test(tier, zero_hysteresis_moves_down_at_the_minimum)
{
    cr_assert_eq(tier_classify(T, N, 0, 4, 999999), 3);
    cr_assert_eq(tier_classify(T, N, 0, 4, 1000000), 4);
}

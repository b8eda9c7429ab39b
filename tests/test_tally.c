/* tally: exact per-tier deltas. */
#include <criterion/criterion.h>

#include "tally.h"

Test(tally, a_creator_moving_tier_leaves_one_row_for_the_other)
{
    tally t;
    cr_assert_eq(tally_init(&t, 3, 2), 0);
    int64_t was[2] = {10, 4}, now[2] = {13, 4};
    tally_add(&t, 1, -1, 9000, was);   /* written in row 1 */
    tally_add(&t, 2, 1, 12000, now);   /* now in row 2 */
    const int64_t *r1 = tally_row(&t, 1), *r2 = tally_row(&t, 2);
    int64_t w1[] = {-1, -9000, -10, -4}, w2[] = {1, 12000, 13, 4};
    cr_assert_arr_eq(r1, w1, sizeof w1);
    cr_assert_arr_eq(r2, w2, sizeof w2);
    cr_assert_not(tally_touched(&t, 0));
    cr_assert(tally_touched(&t, 1));
    tally_free(&t);
}

Test(tally, unknown_followers_count_as_none_and_a_rewrite_nets_zero)
{
    tally t;
    cr_assert_eq(tally_init(&t, 1, 1), 0);
    int64_t v[1] = {5};
    tally_add(&t, 0, -1, -1, v);
    tally_add(&t, 0, 1, -1, v);
    cr_assert_not(tally_touched(&t, 0));
    tally_add(&t, 0, 1, -1, v);
    int64_t want[] = {1, 0, 5};
    cr_assert_arr_eq(tally_row(&t, 0), want, sizeof want);
    tally_free(&t);
}

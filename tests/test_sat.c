/* sat: clamped arithmetic. */
#include <criterion/criterion.h>

#include "sat.h"

Test(sat, sums_and_differences_clamp_at_the_limits)
{
    cr_assert_eq(sat_add(2, 3), 5);
    cr_assert_eq(sat_add(INT64_MAX, 1), INT64_MAX);
    cr_assert_eq(sat_add(INT64_MIN, -1), INT64_MIN);
    cr_assert_eq(sat_add(INT64_MIN, INT64_MAX), -1);
    cr_assert_eq(sat_sub(2, 3), -1);
    cr_assert_eq(sat_sub(INT64_MIN, 1), INT64_MIN);
    cr_assert_eq(sat_sub(INT64_MAX, -1), INT64_MAX);
    cr_assert_eq(sat_sub(0, INT64_MIN), INT64_MAX);
}

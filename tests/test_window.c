#include <criterion/criterion.h>

#include "window.h"

/* 1h window: 60 buckets of 1 min. */
static const window_spec H = {60000, 60};
#define MIN 60000LL
#define T0 (1000000LL * MIN)   /* an instant on a bucket boundary */

Test(window, sums_follow_adds_by_metric)
{
    window w = WINDOW_INIT;
    int64_t s[WINDOW_MAX_METRICS] = {0};
    cr_assert_eq(window_add(&w, &H, T0, T0, 0, 3, s), 1);
    cr_assert_eq(window_add(&w, &H, T0 + 5, T0 + 5, 0, 2, s), 1);
    cr_assert_eq(window_add(&w, &H, T0 + 6, T0 + 6, 4, 7, s), 1);
    cr_assert_eq(s[0], 5);
    cr_assert_eq(s[4], 7);
    cr_assert_eq(w.n, 2, "same bucket and metric share one cell");
    window_free(&w);
}

Test(window, expired_buckets_leave_the_sum)
{
    window w = WINDOW_INIT;
    int64_t s[WINDOW_MAX_METRICS] = {0};
    window_add(&w, &H, T0, T0, 1, 10, s);            /* bucket b */
    window_add(&w, &H, T0 + 30 * MIN, T0 + 30 * MIN, 1, 1, s);
    /* Bucket b is in the window while floor(W/1min) - 60 < b. */
    cr_assert_eq(window_next_expiry(&w, &H), T0 + 60 * MIN);
    cr_assert_eq(window_expire(&w, &H, T0 + 60 * MIN - 1, s), 0);
    cr_assert_eq(s[1], 11);
    cr_assert_eq(window_expire(&w, &H, T0 + 60 * MIN, s), 1);
    cr_assert_eq(s[1], 1);
    cr_assert_eq(window_next_expiry(&w, &H), T0 + 90 * MIN);
    cr_assert_eq(window_expire(&w, &H, T0 + 200 * MIN, s), 1);
    cr_assert_eq(s[1], 0);
    cr_assert_eq(w.n, 0);
    cr_assert_eq(window_next_expiry(&w, &H), WINDOW_NO_EXPIRY);
    window_free(&w);
}

Test(window, out_of_order_event_lands_in_its_own_bucket)
{
    window w = WINDOW_INIT;
    int64_t s[WINDOW_MAX_METRICS] = {0};
    window_add(&w, &H, T0 + 50 * MIN, T0 + 50 * MIN, 0, 1, s);
    window_add(&w, &H, T0 + 50 * MIN, T0 + 10 * MIN, 0, 4, s); /* late */
    window_add(&w, &H, T0 + 50 * MIN, T0 + 30 * MIN, 0, 2, s);
    cr_assert_eq(s[0], 7);
    cr_assert_eq(window_cell_bucket(&w.cells[0]), T0 / MIN + 10);
    cr_assert_eq(window_cell_bucket(&w.cells[1]), T0 / MIN + 30);
    cr_assert_eq(window_cell_bucket(&w.cells[2]), T0 / MIN + 50);
    /* The late one expires first, 60 buckets after its own. */
    cr_assert_eq(window_next_expiry(&w, &H), T0 + 70 * MIN);
    window_expire(&w, &H, T0 + 70 * MIN, s);
    cr_assert_eq(s[0], 3);
    window_free(&w);
}

Test(window, event_already_out_of_the_window_is_ignored)
{
    window w = WINDOW_INIT;
    int64_t s[WINDOW_MAX_METRICS] = {0};
    int64_t W = T0 + 100 * MIN;
    cr_assert_eq(window_add(&w, &H, W, W - 60 * MIN, 0, 1, s), 0);
    cr_assert_eq(window_add(&w, &H, W, W - 59 * MIN, 0, 1, s), 1);
    cr_assert_eq(s[0], 1);
    window_free(&w);
}

Test(window, negative_timestamps_use_floor_buckets)
{
    cr_assert_eq(window_bucket(&H, -1), -1);
    cr_assert_eq(window_bucket(&H, -MIN), -1);
    cr_assert_eq(window_bucket(&H, -MIN - 1), -2);
    window w = WINDOW_INIT;
    int64_t s[WINDOW_MAX_METRICS] = {0};
    window_add(&w, &H, 0, -1, 2, 1, s);
    window_add(&w, &H, 0, 0, 2, 1, s);
    cr_assert_eq(w.n, 2);
    cr_assert_eq(window_cell_bucket(&w.cells[0]), -1);
    window_free(&w);
}

Test(window, restore_rebuilds_cells_and_refuses_disorder)
{
    window w = WINDOW_INIT;
    int64_t s[WINDOW_MAX_METRICS];
    cr_assert_eq(window_restore_cell(&w, 5, 0, 2), 0);
    cr_assert_eq(window_restore_cell(&w, 5, 3, 4), 0);
    cr_assert_eq(window_restore_cell(&w, 6, 0, 1), 0);
    cr_assert_eq(window_restore_cell(&w, 6, 0, 1), -1);
    cr_assert_eq(window_restore_cell(&w, 4, 1, 1), -1);
    window_sums(&w, s, WINDOW_MAX_METRICS);
    cr_assert_eq(s[0], 3);
    cr_assert_eq(s[3], 4);
    window_free(&w);
}

Test(window, many_buckets_stay_bounded)
{
    window w = WINDOW_INIT;
    int64_t s[WINDOW_MAX_METRICS] = {0};
    for (int64_t t = 0; t < 1000 * MIN; t += MIN / 2) {
        window_add(&w, &H, T0 + t, T0 + t, 0, 1, s);
        window_expire(&w, &H, T0 + t, s);
    }
    cr_assert_eq(w.n, 60);
    cr_assert_eq(s[0], 120);
    cr_assert_leq(w.cap, 128);
    window_free(&w);
}

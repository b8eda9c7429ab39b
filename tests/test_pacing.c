/* pacing: checkpoint due times and the partitions a split checkpoint takes. */
#include <criterion/criterion.h>

#include "pacing.h"

Test(pacing, without_pending_events_the_interval_rules)
{
    cr_assert_eq(pacing_due_ms(5000, 0, 100, 50, 1000, 30.0, false), 5000);
}

Test(pacing, the_first_pending_event_is_in_redis_an_interval_after_it_was_produced)
{
    /* Applied at 4000, produced 200 ms before; checkpoints take 30 ms:
     * due at 4000 + 1000 - 30 - 200. */
    cr_assert_eq(pacing_due_ms(9000, 3, 4000, 200, 1000, 30.0, false), 4770);
    /* Never later than the interval after the last checkpoint. */
    cr_assert_eq(pacing_due_ms(4500, 3, 4000, 200, 1000, 30.0, false), 4500);
}

Test(pacing, an_event_read_late_counts_from_when_it_was_read)
{
    /* Produced 5 s before it was read (a backlog): no rush. */
    cr_assert_eq(pacing_due_ms(9000, 1, 4000, 5000, 1000, 30.0, false), 4970);
    /* A producer clock ahead of ours (negative lag) does not delay it. */
    cr_assert_eq(pacing_due_ms(9000, 1, 4000, -300, 1000, 0.0, false), 5000);
}

Test(pacing, a_backlog_read_to_its_end_is_due_soon_after_the_last_checkpoint)
{
    /* The last checkpoint started at 8000 (next 9000); an event read at
     * 8100, produced 5 s before; nothing more comes: due at 8000 + 100,
     * not 8100 + 1000 - 30. */
    cr_assert_eq(pacing_due_ms(9000, 1, 8100, 5000, 1000, 30.0, true), 8100);
    /* Idle matters only for a backlog: a live event keeps its time. */
    cr_assert_eq(pacing_due_ms(9000, 1, 8100, 200, 1000, 30.0, true), 8870);
    /* An earlier due time stays. */
    cr_assert_eq(pacing_due_ms(9000, 1, 7000, 5000, 1000, 30.0, true), 7970);
    /* And without pending events idle changes nothing. */
    cr_assert_eq(pacing_due_ms(9000, 0, 8100, 5000, 1000, 30.0, true), 9000);
}

Test(pacing, a_backlog_waits_briefly_for_messages_until_it_is_idle)
{
    /* Due at 9000, now 8000: 100 ms at most. */
    cr_assert_eq(pacing_wait_ms(9000, 8000, 0, 0, 1000, false), 100);
    cr_assert_eq(pacing_wait_ms(8040, 8000, 0, 0, 1000, false), 40);
    cr_assert_eq(pacing_wait_ms(7000, 8000, 5, 0, 1000, false), 0);
    /* Events read 5 s late pending: 10 ms, to tell the backlog's end. */
    cr_assert_eq(pacing_wait_ms(9000, 8000, 5, 5000, 1000, false), 10);
    cr_assert_eq(pacing_wait_ms(8004, 8000, 5, 5000, 1000, false), 4);
    /* Once a wait found nothing, or with live events, the usual 100 ms. */
    cr_assert_eq(pacing_wait_ms(9000, 8000, 5, 5000, 1000, true), 100);
    cr_assert_eq(pacing_wait_ms(9000, 8000, 5, 300, 1000, false), 100);
}

Test(pacing, average_of_checkpoint_durations)
{
    cr_assert_float_eq(pacing_average(0, 40.0), 40.0, 1e-9);
    cr_assert_float_eq(pacing_average(40.0, 90.0), 50.0, 1e-9);
}

Test(pacing, a_small_checkpoint_takes_every_partition)
{
    int slots[] = {0, 1, 2};
    size_t dirty[] = {3, 4, 5};
    bool done[3] = {false};
    cr_assert_eq(pacing_select(slots, 3, dirty, 3, 0, 100, done), 0);
    cr_assert(done[0] && done[1] && done[2]);
}

Test(pacing, a_big_checkpoint_takes_partitions_in_turn_up_to_the_limit)
{
    /* Limit 10: 6 from slot 0, then 5 would make 11 (left out), 0 dirty in
     * slot 2 always goes, 4 from slot 3 make 10. */
    int slots[] = {0, 1, 2, 3};
    size_t dirty[] = {6, 5, 0, 4};
    bool done[4] = {false};
    size_t next = pacing_select(slots, 4, dirty, 4, 0, 10, done);
    cr_assert(done[0] && !done[1] && done[2] && done[3]);
    cr_assert_eq(next, 1, "the next one starts at the first left out");
    /* From there: 5 then 0 then 4 = 9, then 6 would pass 10. */
    bool again[4] = {false};
    next = pacing_select(slots, 4, dirty, 4, next, 10, again);
    cr_assert(!again[0] && again[1] && again[2] && again[3]);
    cr_assert_eq(next, 0);
}

Test(pacing, one_partition_goes_even_over_the_limit)
{
    int slots[] = {0, 1};
    size_t dirty[] = {50, 7};
    bool done[2] = {false};
    size_t next = pacing_select(slots, 2, dirty, 2, 0, 10, done);
    cr_assert(done[0] && !done[1]);
    cr_assert_eq(next, 1);
}

Test(pacing, unclaimed_partitions_are_skipped)
{
    int slots[] = {-1, 0, 5};
    size_t dirty[] = {3};
    bool done[1] = {false};
    cr_assert_eq(pacing_select(slots, 3, dirty, 1, 0, 10, done), 2);
    cr_assert(done[0]);
}

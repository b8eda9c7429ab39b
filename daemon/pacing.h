/*
 * pacing: when the next checkpoint is due, and which partitions a
 * checkpoint too big for checkpoint.max_creators writes first.  Pure
 * arithmetic on times and counts the loop passes in (monotonic
 * milliseconds): no clock, no I/O; any thread.
 */
#ifndef ENGAGED_PACING_H
#define ENGAGED_PACING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * When the next checkpoint is due (monotonic ms).
 *   next_ms        interval_ms after the last checkpoint
 *   pending        events applied since the last checkpoint
 *   first_ms       when the first of them was applied
 *   first_lag_ms   how long after it was produced it was applied
 *   interval_ms    checkpoint.interval_ms
 *   ck_ms          the time recent checkpoints took (pacing_average)
 *   idle           the last wait for messages found none
 * Without pending events: next_ms.  With some: sooner when needed, so
 * that the first of them is in Redis about interval_ms after it was
 * produced (the time checkpoints take is subtracted).  An event read late
 * already (a backlog, first_lag_ms >= interval_ms) counts from when it was
 * read: rushing would only make checkpoints smaller and more numerous
 * while more of the backlog comes.  Once none comes (idle), waiting gains
 * nothing: such events are due a tenth of interval_ms after the last
 * checkpoint started (next_ms - interval_ms), which keeps checkpoints to
 * ten per interval at most (a backlog's checkpoints take longer than that:
 * the last one starts as soon as the one before it is answered).
 */
int64_t pacing_due_ms(int64_t next_ms, int64_t pending, int64_t first_ms,
                      int64_t first_lag_ms, int64_t interval_ms,
                      double ck_ms, bool idle);

/*
 * How long the loop may wait for messages (ms, 0 to PACING_WAIT_MAX_MS)
 * when the next checkpoint is due at due_ms, now now_ms: until then, and
 * PACING_WAIT_MAX_MS at most so that signals and the watchdog are served.
 * In a backlog (pending events read late, first_lag_ms >= interval_ms)
 * not idle yet, PACING_PROBE_MS at most: its end is told by a wait that
 * finds nothing, and makes its last checkpoint due (pacing_due_ms); a
 * fetch from a broker that has more comes back well within that.
 */
#define PACING_WAIT_MAX_MS 100
#define PACING_PROBE_MS 10
int pacing_wait_ms(int64_t due_ms, int64_t now_ms, int64_t pending,
                   int64_t first_lag_ms, int64_t interval_ms, bool idle);

/*
 * The recent checkpoints' duration, an exponential average: the first
 * sample as it is, then 80% of the average and 20% of the new sample.
 * avg_ms 0 means no sample yet.
 */
double pacing_average(double avg_ms, double sample_ms);

/*
 * With more than `max` creators dirty, a checkpoint writes the creators of
 * some partitions only: in turn from `start` (an index into the
 * partitions), until they reach `max` (one partition at least).
 * Partitions with no dirty creator always go (their offsets cost nothing).
 *   slots[k]   the state slot of partition k, or -1 when it is not claimed
 *              (skipped); nparts partitions
 *   dirty[s]   the dirty creators of slot s, for s < nslots (a slot past
 *              nslots is skipped)
 *   done[s]    set for the slots written (the caller zeroes it; nslots)
 * Returns the partition the next checkpoint starts from: the first one
 * left out, so that none waits for ever behind smaller ones.
 */
size_t pacing_select(const int *slots, size_t nparts, const size_t *dirty,
                     size_t nslots, size_t start, int64_t max, bool *done);

#endif

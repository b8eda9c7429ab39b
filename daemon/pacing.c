#include "pacing.h"

int64_t pacing_due_ms(int64_t next_ms, int64_t pending, int64_t first_ms,
                      int64_t first_lag_ms, int64_t interval_ms, double ck_ms,
                      bool idle)
{
    int64_t due = next_ms;
    if (pending > 0) {
        int64_t lag = first_lag_ms;
        int64_t by = first_ms + interval_ms - (int64_t)ck_ms -
                     (lag > 0 && lag < interval_ms ? lag : 0);
        if (idle && lag >= interval_ms) {
            int64_t soon = next_ms - interval_ms + interval_ms / 10;
            if (soon < by)
                by = soon;
        }
        if (by < due)
            due = by;
    }
    return due;
}

int pacing_wait_ms(int64_t due_ms, int64_t now_ms, int64_t pending,
                   int64_t first_lag_ms, int64_t interval_ms, bool idle)
{
    int64_t max = PACING_WAIT_MAX_MS;
    if (pending > 0 && first_lag_ms >= interval_ms && !idle)
        max = PACING_PROBE_MS;
    int64_t wait = due_ms - now_ms;
    return wait < 0 ? 0 : wait > max ? (int)max : (int)wait;
}

double pacing_average(double avg_ms, double sample_ms)
{
    return avg_ms == 0 ? sample_ms : 0.8 * avg_ms + 0.2 * sample_ms;
}

size_t pacing_select(const int *slots, size_t nparts, const size_t *dirty,
                     size_t nslots, size_t start, int64_t max, bool *done)
{
    size_t taken = 0, next = start;
    bool skipped = false;
    for (size_t n = 0; n < nparts; n++) {
        size_t k = (start + n) % nparts;
        int slot = slots[k];
        if (slot < 0 || (size_t)slot >= nslots)
            continue;
        size_t d = dirty[slot];
        if (d > 0 && taken > 0 && (int64_t)(taken + d) > max) {
            if (!skipped)
                next = k;
            skipped = true;
            continue;
        }
        done[slot] = true;
        if (d > 0) {
            taken += d;
            if (!skipped)
                next = (k + 1) % nparts;
        }
    }
    return next;
}

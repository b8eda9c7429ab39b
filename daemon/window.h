/*
 * window: one rolling window of per-metric sums over event time, held in
 * buckets of a fixed width.  Pure: event time and the watermark are
 * arguments; nothing here reads a clock.
 *
 * With width b and n buckets, bucket i holds the events with
 * floor(ts / b) == i, and the window at watermark W is made of the buckets
 * i with floor(W / b) - n < i <= floor(W / b): the last n buckets, the
 * current partial one included.  As W crosses a bucket boundary the oldest
 * bucket leaves the sums ("expires").  engaged uses n = 60, so the window
 * (W - w, W] is approximated to within one bucket of w/60 (schemas/redis.md).
 *
 * Storage is sparse: only non-empty (bucket, metric) cells are kept, in an
 * array sorted by bucket, so a creator with a handful of events costs a
 * handful of 16-byte cells, and a busy one at most n x metrics cells.
 *
 * A window is a plain struct embedded in its owner, but its fields are
 * private to window.c.  Not thread-safe: one owner thread.
 */
#ifndef ENGAGED_WINDOW_H
#define ENGAGED_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define WINDOW_MAX_METRICS 16   /* metric ids 0..15 */
#define WINDOW_NO_EXPIRY INT64_MAX

typedef struct window_spec {
    int64_t width_ms;           /* bucket width, > 0 */
    int64_t nbuckets;           /* buckets in the window, > 0 */
} window_spec;

typedef struct window_cell {
    uint64_t key;               /* (bucket + bias) << 4 | metric */
    int64_t count;
} window_cell;

typedef struct window {
    window_cell *cells;
    uint32_t n, cap;
} window;

/* An empty window.  No allocation until the first add. */
#define WINDOW_INIT {NULL, 0, 0}

/* Releases the cells; the window is empty and reusable afterwards. */
void window_free(window *w);

/* What window_add() did. */
typedef enum window_add_result {
    WINDOW_NOMEM = -1,          /* out of memory: nothing changed */
    WINDOW_OUTSIDE = 0,         /* the event's bucket is out of the window */
    WINDOW_ADDED = 1            /* the window changed */
} window_add_result;

/*
 * Adds `count` of `metric` (< WINDOW_MAX_METRICS) at event time `ts`, with
 * the watermark at `W` (ts <= W expected).  An event whose bucket is
 * already out of the window at W is ignored.
 * sums[metric] is kept equal to the window's total of that metric.
 */
window_add_result window_add(window *w, const window_spec *spec, int64_t W, int64_t ts,
               unsigned metric, int64_t count, int64_t *sums);

/*
 * Removes the buckets that are out of the window at watermark W and
 * subtracts them from sums.  Returns 1 when something expired, else 0.
 */
int window_expire(window *w, const window_spec *spec, int64_t W, int64_t *sums);

/*
 * The smallest watermark at which the oldest bucket leaves the window, or
 * WINDOW_NO_EXPIRY when the window is empty.
 */
int64_t window_next_expiry(const window *w, const window_spec *spec);

/* Recomputes sums[0..nmetrics) from the cells (after a restore). */
void window_sums(const window *w, int64_t *sums, unsigned nmetrics);

/* Bucket index of `ts` (floor division, correct for negative ts). */
int64_t window_bucket(const window_spec *spec, int64_t ts);

/* Bucket and metric of a cell. */
int64_t window_cell_bucket(const window_cell *c);
unsigned window_cell_metric(const window_cell *c);

/*
 * Appends a cell read back from a checkpoint.  Cells must come in strictly
 * increasing (bucket, metric) order.  Returns BUF_DECODED, BUF_CORRUPT when
 * out of order or the metric is out of range, BUF_NOMEM when out of memory
 * (nothing changed).
 */
buf_decode_result window_restore_cell(window *w, int64_t bucket, unsigned metric,
                        int64_t count);

/* Bytes allocated for cells, for memory accounting. */
size_t window_memory(const window *w);

#endif

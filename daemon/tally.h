/*
 * tally: the exact deltas a checkpoint adds to the per-tier hashes.  Each
 * changed creator takes away what Redis holds for it (its written tier,
 * followers and values) and adds what it holds now, so that the tier sums
 * stay exact whatever the number of instances writing them.  Pure; one
 * owner per tally.
 *
 * A row per tier, a column each for creators, followers and every value.
 */
#ifndef ENGAGED_TALLY_H
#define ENGAGED_TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tally {
    int64_t *cells;          /* nrows x ncols */
    size_t nrows, ncols;     /* ncols = 2 + values */
} tally;

#define TALLY_COL_CREATORS 0
#define TALLY_COL_FOLLOWERS 1
#define TALLY_COL_VALUES 2   /* the first value's column */

/* A tally of zeros.  Returns 0, or -1 when out of memory. */
int tally_init(tally *t, size_t nrows, size_t nvalues);
void tally_free(tally *t);

/*
 * Adds sign (+1 or -1) times one creator with `followers` (counted when
 * > 0: unknown is -1) and its values to row `row`.
 */
void tally_add(tally *t, size_t row, int sign, int64_t followers,
               const int64_t *values);

/* Row `row`'s ncols deltas. */
const int64_t *tally_row(const tally *t, size_t row);

/* Whether any delta of the row is not 0. */
bool tally_touched(const tally *t, size_t row);

#endif

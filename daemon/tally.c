#include "tally.h"

#include <stdlib.h>

int tally_init(tally *t, size_t nrows, size_t nvalues)
{
    t->nrows = nrows;
    t->ncols = TALLY_COL_VALUES + nvalues;
    t->cells = calloc(nrows * t->ncols, sizeof *t->cells);
    return t->cells == NULL ? -1 : 0;
}

void tally_free(tally *t)
{
    free(t->cells);
    t->cells = NULL;
}

void tally_add(tally *t, size_t row, int sign, int64_t followers,
               const int64_t *values)
{
    int64_t *r = t->cells + row * t->ncols;
    r[TALLY_COL_CREATORS] += sign;
    r[TALLY_COL_FOLLOWERS] += sign * (followers > 0 ? followers : 0);
    for (size_t i = TALLY_COL_VALUES; i < t->ncols; i++)
        r[i] += sign * values[i - TALLY_COL_VALUES];
}

const int64_t *tally_row(const tally *t, size_t row)
{
    return t->cells + row * t->ncols;
}

bool tally_touched(const tally *t, size_t row)
{
    const int64_t *r = tally_row(t, row);
    for (size_t k = 0; k < t->ncols; k++)
        if (r[k] != 0)
            return true;
    return false;
}

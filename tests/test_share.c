/* share: this instance's share of the tier hashes, per partition held. */
#include <criterion/criterion.h>
#include <string.h>

#include "share.h"

static config *cfg;
static share *sh;

static void setup(void)
{
    cfg = config_default(NULL);
    char err[256];
    sh = share_new(cfg, err, sizeof err);
    cr_assert_not_null(sh, "%s", err);
}

static void teardown(void)
{
    share_free(sh);
    config_free(cfg);
}

TestSuite(share, .init = setup, .fini = teardown);

/* The default tiers and windows: unknown, nano .. mega; 1h 24h 7d. */
#define ROWS 6
#define COLS 5

static size_t at(size_t r, size_t c)
{
    return r * COLS + c;
}

Test(share, rows_are_unknown_then_the_tiers_and_columns_the_windows)
{
    cr_assert_eq(share_rows(sh), ROWS);
    cr_assert_eq(share_cols(sh), COLS);
    cr_assert_str_eq(share_tier(sh, 0), "unknown");
    cr_assert_str_eq(share_tier(sh, 2), "micro");
    cr_assert_str_eq(share_tier(sh, 5), "mega");
    cr_assert_eq(share_row(sh, "macro", 5), 4);
    cr_assert_eq(share_row(sh, "macrox", 5), 4, "len bytes of the name only");
    cr_assert_eq(share_row(sh, "giga", 4), -1);
    cr_assert_str_eq(share_window(sh, 2), "7d");
    buf b = BUF_INIT;
    share_field(sh, 0, SHARE_COL_CREATORS, &b);
    buf_append_byte(&b, 0);
    cr_assert_str_eq(b.data, "unknown.creators");
    share_field(sh, 3, SHARE_COL_FOLLOWERS, &b);
    buf_append_byte(&b, 0);
    cr_assert_str_eq(b.data, "mid.followers");
    share_field(sh, 5, SHARE_COL_ENGAGEMENTS + 1, &b);
    buf_append_byte(&b, 0);
    cr_assert_str_eq(b.data, "mega.engagements_24h");
    buf_free(&b);
}

static int parse(int64_t *cells, const char *f, const char *v)
{
    return share_parse(sh, f, strlen(f), v, strlen(v), cells);
}

Test(share, a_hash_reads_back_field_by_field_skipping_what_is_not_ours)
{
    int64_t cells[ROWS * COLS] = {0};
    cr_assert_eq(parse(cells, "micro.creators", "12"), 0);
    cr_assert_eq(parse(cells, "micro.followers", "250000"), 0);
    cr_assert_eq(parse(cells, "unknown.engagements_1h", "-3"), 0);
    cr_assert_eq(parse(cells, "mega.engagements_7d", "9007199254740993"), 0);
    /* The stamp, a tier and a window not configured, a field of no column. */
    cr_assert_eq(parse(cells, "fence", "3:14"), 0);
    cr_assert_eq(parse(cells, "giga.creators", "5"), 0);
    cr_assert_eq(parse(cells, "nano.engagements_30d", "5"), 0);
    cr_assert_eq(parse(cells, "nano.likes_1h", "5"), 0);
    cr_assert_eq(parse(cells, "nano.engagements_", "5"), 0);
    /* Ours, but not a number. */
    cr_assert_eq(parse(cells, "nano.creators", "5x"), -1);
    cr_assert_eq(parse(cells, "nano.creators", ""), -1);
    cr_assert_eq(parse(cells, "nano.creators", "99999999999999999999999"), -1);
    int64_t want[ROWS * COLS] = {0};
    want[at(2, SHARE_COL_CREATORS)] = 12;
    want[at(2, SHARE_COL_FOLLOWERS)] = 250000;
    want[at(0, SHARE_COL_ENGAGEMENTS)] = -3;
    want[at(5, SHARE_COL_ENGAGEMENTS + 2)] = INT64_C(9007199254740993);
    cr_assert_arr_eq(cells, want, sizeof want);
}

Test(share, a_rebuild_counts_creators_as_their_hashes_read)
{
    int64_t cells[ROWS * COLS] = {0};
    int64_t e1[3] = {1, 20, 300}, e2[3] = {0, 5, 7}, e3[3] = {2, 2, 2};
    share_count(sh, cells, "micro", 5, 20000, e1);
    share_count(sh, cells, "micro", 5, 30000, e2);
    share_count(sh, cells, "unknown", 7, -1, e3);
    share_count(sh, cells, "old_tier", 8, 70000, e1);
    int64_t want[ROWS * COLS] = {0};
    int64_t micro[COLS] = {2, 50000, 1, 25, 307};
    int64_t unknown[COLS] = {1, 0, 2, 2, 2};
    memcpy(&want[at(2, 0)], micro, sizeof micro);
    memcpy(&want[at(0, 0)], unknown, sizeof unknown);
    cr_assert_arr_eq(cells, want, sizeof want);
}

Test(share, partitions_come_add_their_deltas_by_tier_name_and_go)
{
    int64_t a[ROWS * COLS] = {0}, b[ROWS * COLS] = {0};
    a[at(2, SHARE_COL_CREATORS)] = 10;
    a[at(2, SHARE_COL_FOLLOWERS)] = 150000;
    b[at(2, SHARE_COL_CREATORS)] = 4;
    b[at(5, SHARE_COL_ENGAGEMENTS + 1)] = 900;
    cr_assert_eq(share_set(sh, "events", 0, a), 0);
    cr_assert_eq(share_set(sh, "events", 1, b), 0);
    cr_assert_eq(share_partitions(sh), 2);

    /* A checkpoint's deltas in another tier order (a reload reordered
     * them): one creator moves from micro to mega on partition 1. */
    const char *tiers[3] = {"mega", "micro", "tier_gone"};
    int64_t d[3 * COLS] = {1, 1200000, 5, 60, 700,
                           -1, -20000, 0, -30, -40,
                           9, 9, 9, 9, 9};
    cr_assert(share_add(sh, "events", 1, tiers, 3, d));
    cr_assert_not(share_add(sh, "events", 7, tiers, 3, d), "not held");
    cr_assert_not(share_add(sh, "other", 1, tiers, 3, d), "not held");

    int64_t sum[ROWS * COLS];
    share_sum(sh, sum);
    int64_t want[ROWS * COLS] = {0};
    int64_t micro[COLS] = {13, 130000, 0, -30, -40};
    int64_t mega[COLS] = {1, 1200000, 5, 960, 700};
    memcpy(&want[at(2, 0)], micro, sizeof micro);
    memcpy(&want[at(5, 0)], mega, sizeof mega);
    cr_assert_arr_eq(sum, want, sizeof want);

    /* Set again (read back from Redis): replaced, not added. */
    cr_assert_eq(share_set(sh, "events", 0, b), 0);
    cr_assert_eq(share_partitions(sh), 2);
    cr_assert_eq(share_get(sh, "events", 0)[at(2, SHARE_COL_CREATORS)], 4);

    /* Revoked: its share leaves the sum. */
    share_drop(sh, "events", 0);
    share_drop(sh, "events", 0);
    cr_assert_eq(share_partitions(sh), 1);
    cr_assert_null(share_get(sh, "events", 0));
    share_sum(sh, sum);
    cr_assert_eq(sum[at(2, SHARE_COL_CREATORS)], 3);
    cr_assert_eq(sum[at(5, SHARE_COL_ENGAGEMENTS + 1)], 960);
    share_drop(sh, "events", 1);
    share_sum(sh, sum);
    int64_t zero[ROWS * COLS] = {0};
    cr_assert_arr_eq(sum, zero, sizeof zero);
}

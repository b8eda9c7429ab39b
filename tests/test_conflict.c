/*
 * Unit tests of conflict: the brand_conflict detector (window edges,
 * exactly-at-window, out-of-order arrival, per-sector windows, 0 disables,
 * catalogue lookup, the same brand twice is no conflict, one alert per pair,
 * case- and space-insensitive names), its bounds, and the persistent
 * encoding.
 *
 * Each test runs in its own process (Criterion), so the history and the
 * config are file-level variables set up afresh.
 */
#include "conflict.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN_MS INT64_C(60000)
#define DAY_MS INT64_C(86400000)
/* 2026-11-01T00:00:00Z */
#define T0 INT64_C(1793491200000)

static config *cfg;
static conflict_history *h;
static conflict_result r;
static int64_t W;

static void setup(void)
{
    cfg = config_default(NULL);
    cr_assert_not_null(cfg);
    h = NULL;
    W = 0;
}

static void teardown(void)
{
    conflict_free(h);
    conflict_result_free(&r);
    config_free(cfg);
}

TestSuite(conflict, .init = setup, .fini = teardown);

/* Replaces cfg with the defaults plus `text` (an engaged.conf). */
static void use_config(const char *text)
{
    char path[] = "/tmp/engaged-test-conflict-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    char err[1024];
    config *c = config_load(path, err, sizeof err);
    unlink(path);
    cr_assert_not_null(c, "%s", err);
    config_free(cfg);
    cfg = c;
}

/* A sponsored post of creator c42; W follows the largest ts, as the
 * partition's watermark does. */
static conflict_outcome post4(int64_t ts, const char *brand,
                              const char *sector, const char *post_id,
                              const char *campaign_id)
{
    if (ts > W)
        W = ts;
    conflict_post p = {ts, brand, sector, post_id, campaign_id};
    return conflict_check(cfg, &h, "c42", 3, W, &p, &r);
}

static conflict_outcome post(int64_t ts, const char *brand,
                             const char *sector, const char *post_id)
{
    return post4(ts, brand, sector, post_id, "");
}

/* Posts and expects `n` conflicts. */
static void expect_found(int64_t ts, const char *brand, const char *sector,
                         const char *post_id, size_t n)
{
    conflict_outcome o = post(ts, brand, sector, post_id);
    cr_assert_eq(o, CONFLICT_CHECKED, "%s", conflict_outcome_name(o));
    cr_assert_eq(r.nfound, n, "post %s: %zu conflicts, want %zu", post_id,
                 r.nfound, n);
}

/* --- what conflicts -------------------------------------------------------- */

Test(conflict, no_sponsored_posts_cost_nothing)
{
    cr_assert_null(h);
    cr_assert_eq(conflict_memory(h), 0);
    cr_assert_eq(conflict_posts(h), 0);
    cr_assert_eq(conflict_episodes(h), 0);
    cr_assert_eq(conflict_prune(cfg, &h, T0), 0);
    cr_assert_null(h);
}

Test(conflict, two_brands_of_a_sector_within_the_window_conflict)
{
    cr_assert_eq(post4(T0, "pepsi", "beverages", "p1", "k1"),
                 CONFLICT_CHECKED);
    cr_assert_eq(r.nfound, 0);
    cr_assert_eq(conflict_posts(h), 1);
    cr_assert_eq(post4(T0 + 10 * DAY_MS, "coca-cola", "beverages", "p2",
                       "k2"), CONFLICT_CHECKED);
    cr_assert_eq(r.nfound, 1);
    const conflict_found *f = &r.found[0];
    cr_assert_str_eq(f->sector, "beverages");
    cr_assert_str_eq(f->brands[0], "pepsi");
    cr_assert_str_eq(f->brands[1], "coca-cola");
    cr_assert_str_eq(f->post_ids[0], "p1");
    cr_assert_str_eq(f->post_ids[1], "p2");
    cr_assert_str_eq(f->campaign_ids[0], "k1");
    cr_assert_str_eq(f->campaign_ids[1], "k2");
    cr_assert_eq(f->ts[0], T0);
    cr_assert_eq(f->ts[1], T0 + 10 * DAY_MS);
    cr_assert_eq(f->window_ms, 90 * DAY_MS);
    cr_assert_eq(f->starts_at, T0 + 10 * DAY_MS);
    cr_assert_eq(f->fingerprint,
                 alert_conflict_fingerprint("c42", 3, "beverages",
                                            "coca-cola", "pepsi",
                                            T0 + 10 * DAY_MS));
    cr_assert_eq(conflict_posts(h), 2);
    cr_assert_eq(conflict_episodes(h), 1);
}

Test(conflict, the_same_brand_twice_is_no_conflict)
{
    expect_found(T0, "pepsi", "beverages", "p1", 0);
    expect_found(T0 + DAY_MS, "pepsi", "beverages", "p2", 0);
    expect_found(T0 + 2 * DAY_MS, " PePsi ", "Beverages", "p3", 0);
    cr_assert_eq(conflict_posts(h), 3);
}

Test(conflict, brands_of_different_sectors_do_not_conflict)
{
    expect_found(T0, "pepsi", "beverages", "p1", 0);
    expect_found(T0 + DAY_MS, "visa", "finance", "p2", 0);
}

Test(conflict, window_edges_are_inclusive)
{
    expect_found(T0, "pepsi", "beverages", "p1", 0);
    expect_found(T0 + 90 * DAY_MS + 1, "coca-cola", "beverages", "p2", 0);
    /* Exactly the window apart: a conflict (p1 with p3), as is p2 one
     * millisecond away. */
    expect_found(T0 + 90 * DAY_MS, "fanta", "beverages", "p3", 2);
    cr_assert_str_eq(r.found[0].post_ids[0], "p1");
    cr_assert_str_eq(r.found[0].post_ids[1], "p3");
    cr_assert_eq(r.found[0].ts[1] - r.found[0].ts[0], 90 * DAY_MS);
    cr_assert_str_eq(r.found[1].post_ids[0], "p3");
    cr_assert_str_eq(r.found[1].post_ids[1], "p2");
}

Test(conflict, out_of_order_arrival_conflicts_with_a_later_post)
{
    expect_found(T0 + 10 * DAY_MS, "coca-cola", "beverages", "p2", 0);
    /* The earlier post arrives second: it still conflicts, and the alert
     * names the earlier post first. */
    expect_found(T0, "pepsi", "beverages", "p1", 1);
    const conflict_found *f = &r.found[0];
    cr_assert_str_eq(f->brands[0], "pepsi");
    cr_assert_str_eq(f->brands[1], "coca-cola");
    cr_assert_str_eq(f->post_ids[0], "p1");
    cr_assert_str_eq(f->post_ids[1], "p2");
    cr_assert_eq(f->starts_at, T0 + 10 * DAY_MS);
}

Test(conflict, posts_at_the_same_time_name_the_kept_one_first)
{
    expect_found(T0, "pepsi", "beverages", "p1", 0);
    expect_found(T0, "coca-cola", "beverages", "p2", 1);
    cr_assert_str_eq(r.found[0].brands[0], "pepsi");
    cr_assert_str_eq(r.found[0].post_ids[1], "p2");
}

Test(conflict, sectors_have_their_own_windows)
{
    use_config("[conflict]\nsector.finance = 120d\n");
    expect_found(T0, "visa", "finance", "p1", 0);
    expect_found(T0 + 100 * DAY_MS, "mastercard", "finance", "p2", 1);
    cr_assert_eq(r.found[0].window_ms, 120 * DAY_MS);
    /* The default window elsewhere. */
    expect_found(T0, "pepsi", "beverages", "p3", 0);
    expect_found(T0 + 100 * DAY_MS, "coca-cola", "beverages", "p4", 0);
}

Test(conflict, zero_window_disables_a_sector)
{
    use_config("[conflict]\nsector.beverages = 0\n");
    cr_assert_eq(post(T0, "pepsi", "beverages", "p1"), CONFLICT_EXEMPT);
    cr_assert_eq(post(T0 + 1, "coca-cola", "beverages", "p2"),
                 CONFLICT_EXEMPT);
    cr_assert_eq(r.nfound, 0);
    cr_assert_null(h, "exempt posts are not kept");
    expect_found(T0, "visa", "finance", "p3", 0);
    expect_found(T0 + 1, "amex", "finance", "p4", 1);
}

Test(conflict, zero_default_window_disables_sectors_without_their_own)
{
    use_config("[conflict]\nwindow = 0\nsector.finance = 1d\n");
    cr_assert_eq(post(T0, "pepsi", "beverages", "p1"), CONFLICT_EXEMPT);
    expect_found(T0, "visa", "finance", "p3", 0);
    expect_found(T0 + DAY_MS, "amex", "finance", "p4", 1);
}

Test(conflict, catalogue_gives_the_sector_of_posts_without_one)
{
    use_config("[conflict]\nbrand.pepsi = beverages\n"
               "brand.Coca-Cola = Beverages\n");
    expect_found(T0, "Pepsi", "", "p1", 0);
    expect_found(T0 + DAY_MS, " coca-cola", NULL, "p2", 1);
    cr_assert_str_eq(r.found[0].sector, "beverages");
    /* The event's own sector wins over the catalogue. */
    expect_found(T0 + 2 * DAY_MS, "coca-cola", "snacks", "p3", 0);
    /* And a sector from the event meets one from the catalogue. */
    expect_found(T0 + 3 * DAY_MS, "fanta", "beverages", "p4", 2);
}

Test(conflict, no_sector_known_is_not_checked_nor_kept)
{
    cr_assert_eq(post(T0, "pepsi", "", "p1"), CONFLICT_NO_SECTOR);
    cr_assert_eq(post(T0 + 1, "coca-cola", "   ", "p2"), CONFLICT_NO_SECTOR);
    cr_assert_eq(r.nfound, 0);
    cr_assert_null(h);
    cr_assert_str_eq(conflict_outcome_name(CONFLICT_NO_SECTOR), "no_sector");
}

Test(conflict, brands_and_sectors_ignore_case_and_surrounding_spaces)
{
    expect_found(T0, "  Coca-Cola ", "BEVERAGES ", "p1", 0);
    expect_found(T0 + DAY_MS, "coca-cola", "beverages", "p2", 0);
    expect_found(T0 + 2 * DAY_MS, "PEPSI", " Beverages", "p3", 1);
    cr_assert_str_eq(r.found[0].brands[0], "coca-cola");
    cr_assert_str_eq(r.found[0].brands[1], "pepsi");
    cr_assert_str_eq(r.found[0].sector, "beverages");
}

Test(conflict, a_post_conflicts_with_every_other_brand_once)
{
    expect_found(T0, "pepsi", "beverages", "p1", 0);
    expect_found(T0 + DAY_MS, "coca-cola", "beverages", "p2", 1);
    expect_found(T0 + 2 * DAY_MS, "fanta", "beverages", "p3", 2);
    /* In the order of the kept posts. */
    cr_assert_str_eq(r.found[0].brands[0], "pepsi");
    cr_assert_str_eq(r.found[0].brands[1], "fanta");
    cr_assert_str_eq(r.found[1].brands[0], "coca-cola");
    cr_assert_str_eq(r.found[1].brands[1], "fanta");
    cr_assert_neq(r.found[0].fingerprint, r.found[1].fingerprint);
}

Test(conflict, the_nearest_post_of_the_other_brand_is_reported)
{
    expect_found(T0, "coca-cola", "beverages", "p1", 0);
    expect_found(T0 + 5 * DAY_MS, "coca-cola", "beverages", "p2", 0);
    expect_found(T0 + 20 * DAY_MS, "coca-cola", "beverages", "p3", 0);
    expect_found(T0 + 8 * DAY_MS, "pepsi", "beverages", "p4", 1);
    cr_assert_str_eq(r.found[0].post_ids[0], "p2");
    cr_assert_str_eq(r.found[0].post_ids[1], "p4");
}

/* --- one alert per pair ---------------------------------------------------- */

Test(conflict, one_alert_per_pair_within_a_window)
{
    expect_found(T0, "pepsi", "beverages", "p1", 0);
    expect_found(T0 + DAY_MS, "coca-cola", "beverages", "p2", 1);
    uint64_t id = r.found[0].fingerprint;
    /* The same pair again and again, both orders, out of order too. */
    expect_found(T0 + 2 * DAY_MS, "pepsi", "beverages", "p3", 0);
    expect_found(T0 + 3 * DAY_MS, "coca-cola", "beverages", "p4", 0);
    expect_found(T0 - 30 * DAY_MS, "coca-cola", "beverages", "p5", 0);
    /* Up to a window past the episode's last post (p4 at T0 + 3d). */
    expect_found(T0 + 93 * DAY_MS, "pepsi", "beverages", "p6", 0);
    cr_assert_eq(conflict_episodes(h), 1);

    /* Another pair in the same sector is another alert. */
    expect_found(T0 + 94 * DAY_MS, "fanta", "beverages", "p7", 1);
    cr_assert_str_eq(r.found[0].brands[0], "pepsi");
    cr_assert_neq(r.found[0].fingerprint, id);
}

Test(conflict, a_new_episode_much_later_alerts_again)
{
    expect_found(T0, "pepsi", "beverages", "p1", 0);
    expect_found(T0 + DAY_MS, "coca-cola", "beverages", "p2", 1);
    uint64_t first = r.found[0].fingerprint;
    /* Long after: more than a window past the episode. */
    expect_found(T0 + 200 * DAY_MS, "coca-cola", "beverages", "p3", 0);
    expect_found(T0 + 201 * DAY_MS, "pepsi", "beverages", "p4", 1);
    cr_assert_eq(r.found[0].starts_at, T0 + 201 * DAY_MS);
    cr_assert_neq(r.found[0].fingerprint, first);
    cr_assert_eq(r.found[0].fingerprint,
                 alert_conflict_fingerprint("c42", 3, "beverages", "pepsi",
                                            "coca-cola", T0 + 201 * DAY_MS));
}

Test(conflict, episode_widens_with_each_conflict_it_takes_in)
{
    /* Alternating every 60 days: each conflict is within the episode's
     * reach, which keeps moving on. */
    const char *brands[] = {"pepsi", "coca-cola"};
    size_t alerts = 0;
    for (int i = 0; i < 8; i++) {
        char id[8];
        snprintf(id, sizeof id, "p%d", i);
        cr_assert_eq(post(T0 + i * 60 * DAY_MS, brands[i % 2], "beverages",
                          id), CONFLICT_CHECKED);
        alerts += r.nfound;
    }
    cr_assert_eq(alerts, 1);
}

Test(conflict, a_replay_decides_the_same_alerts)
{
    static const struct { int64_t day; const char *brand; } posts[] = {
        {0, "pepsi"}, {3, "coca-cola"}, {1, "fanta"}, {150, "pepsi"},
        {160, "fanta"}, {400, "coca-cola"}, {401, "pepsi"}, {2, "pepsi"},
    };
    uint64_t ids[2][16];
    size_t n[2] = {0, 0};
    for (int run = 0; run < 2; run++) {
        conflict_free(h);
        h = NULL;
        W = 0;
        for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++) {
            char id[8];
            snprintf(id, sizeof id, "p%zu", i);
            post(T0 + posts[i].day * DAY_MS, posts[i].brand, "beverages", id);
            for (size_t k = 0; k < r.nfound; k++)
                ids[run][n[run]++] = r.found[k].fingerprint;
        }
    }
    cr_assert_eq(n[0], n[1]);
    cr_assert(n[0] >= 4);
    for (size_t i = 0; i < n[0]; i++)
        cr_assert_eq(ids[0][i], ids[1][i]);
}

Test(conflict, a_resent_post_is_a_duplicate)
{
    expect_found(T0, "pepsi", "beverages", "p1", 0);
    expect_found(T0 + DAY_MS, "coca-cola", "beverages", "p2", 1);
    cr_assert_eq(post(T0 + DAY_MS, "Coca-Cola", "beverages", "p2"),
                 CONFLICT_DUPLICATE);
    cr_assert_eq(r.nfound, 0);
    cr_assert_eq(conflict_posts(h), 2);
}

/* --- bounds ---------------------------------------------------------------- */

Test(conflict, posts_are_pruned_past_every_possible_window)
{
    /* Kept while a post that may still arrive could conflict: late_grace
     * 5m + the longest window (the saturation window, 30d) + 90d. */
    const int64_t keep = 5 * MIN_MS + 30 * DAY_MS + 90 * DAY_MS;
    expect_found(T0, "pepsi", "beverages", "p1", 0);
    cr_assert_eq(conflict_prune(cfg, &h, T0 + keep), 0);
    cr_assert_eq(conflict_posts(h), 1);
    cr_assert_eq(conflict_prune(cfg, &h, T0 + keep + 1), 0);
    cr_assert_null(h);
}

Test(conflict, episodes_are_pruned_once_out_of_reach)
{
    const int64_t keep = 5 * MIN_MS + 30 * DAY_MS + 90 * DAY_MS;
    expect_found(T0, "pepsi", "beverages", "p1", 0);
    expect_found(T0 + DAY_MS, "coca-cola", "beverages", "p2", 1);
    /* Posts go first; the episode stays a window longer. */
    cr_assert_eq(conflict_prune(cfg, &h, T0 + DAY_MS + keep + 1), 0);
    cr_assert_eq(conflict_posts(h), 0);
    cr_assert_eq(conflict_episodes(h), 1);
    cr_assert_eq(conflict_prune(cfg, &h, T0 + DAY_MS + keep + 90 * DAY_MS),
                 0);
    cr_assert_eq(conflict_episodes(h), 1);
    cr_assert_eq(conflict_prune(cfg, &h,
                                T0 + DAY_MS + keep + 90 * DAY_MS + 1), 0);
    cr_assert_null(h);
}

Test(conflict, at_most_64_posts_are_kept_the_most_recent)
{
    for (int i = 0; i < 70; i++) {
        char id[8];
        snprintf(id, sizeof id, "p%d", i);
        expect_found(T0 + i * 3600000, "pepsi", "beverages", id, 0);
    }
    cr_assert_eq(conflict_posts(h), CONFLICT_MAX_POSTS);
    /* Within the window of p0..p6 only; p0..p5 were dropped. */
    expect_found(T0 - 90 * DAY_MS + 6 * 3600000, "coca-cola", "beverages",
                 "x", 1);
    cr_assert_str_eq(r.found[0].post_ids[1], "p6");
    cr_assert_eq(conflict_posts(h), CONFLICT_MAX_POSTS);
}

Test(conflict, kept_posts_are_bounded_in_bytes)
{
    char id[400];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    for (int i = 0; i < 30; i++) {
        id[0] = (char)('a' + i % 26);
        id[1] = (char)('a' + i / 26);
        expect_found(T0 + i, "pepsi", "beverages", id, 0);
    }
    cr_assert(conflict_posts(h) < 12, "%zu posts", conflict_posts(h));
    cr_assert(conflict_memory(h) <= CONFLICT_MAX_BYTES + 64,
              "%zu bytes", conflict_memory(h));
}

Test(conflict, episodes_are_capped)
{
    char brand[8], id[8];
    for (int i = 0; i < 12; i++) {
        snprintf(brand, sizeof brand, "b%d", i);
        snprintf(id, sizeof id, "p%d", i);
        post(T0 + i, brand, "beverages", id);
        cr_assert_eq(r.nfound, (size_t)i);
        cr_assert(conflict_episodes(h) <= CONFLICT_MAX_EPISODES);
    }
    cr_assert_eq(conflict_episodes(h), CONFLICT_MAX_EPISODES);
}

Test(conflict, typical_histories_are_small)
{
    char id[16], camp[16];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "post-%d", 1000 + i);
        snprintf(camp, sizeof camp, "cmp-%d", 10 + i);
        post4(T0 + i * DAY_MS, i % 2 ? "pepsi" : "coca-cola", "beverages",
              id, camp);
    }
    cr_assert(conflict_memory(h) < 1024, "%zu bytes", conflict_memory(h));
}

Test(conflict, result_strings_outlive_the_history)
{
    expect_found(T0, "pepsi", "beverages", "p1", 0);
    expect_found(T0 + DAY_MS, "coca-cola", "beverages", "p2", 1);
    conflict_free(h);
    h = NULL;
    cr_assert_str_eq(r.found[0].brands[0], "pepsi");
    cr_assert_str_eq(r.found[0].post_ids[1], "p2");
    cr_assert_str_eq(r.found[0].campaign_ids[0], "");
}

/* --- persistence ----------------------------------------------------------- */

static void encode(const conflict_history *hist, buf *b)
{
    buf_reset(b);
    conflict_encode(hist, b);
    cr_assert_not(buf_failed(b));
}

Test(conflict, empty_history_encodes_to_four_bytes)
{
    buf b = BUF_INIT;
    encode(NULL, &b);
    cr_assert_eq(b.len, 4);
    conflict_history *got = (conflict_history *)1;
    size_t pos = 0;
    cr_assert_eq(conflict_decode(&got, b.data, b.len, &pos), 0);
    cr_assert_null(got);
    cr_assert_eq(pos, 4);
    buf_free(&b);
}

Test(conflict, encode_decode_round_trips_and_keeps_deciding_the_same)
{
    post4(T0, "pepsi", "beverages", "p1", "k1");
    post4(T0 + DAY_MS, "coca-cola", "beverages", "p2", "");
    post4(T0 + 2 * DAY_MS, "visa", "finance", "p3", "k3");
    cr_assert_eq(conflict_posts(h), 3);
    cr_assert_eq(conflict_episodes(h), 1);

    buf b = BUF_INIT, again = BUF_INIT;
    encode(h, &b);
    buf_append_byte(&b, 0x42);      /* what follows in the blob */
    conflict_history *got = NULL;
    size_t pos = 0;
    cr_assert_eq(conflict_decode(&got, b.data, b.len, &pos), 0);
    cr_assert_eq(pos, b.len - 1);
    cr_assert_eq(conflict_posts(got), 3);
    cr_assert_eq(conflict_episodes(got), 1);
    cr_assert_eq(conflict_memory(got), conflict_memory(h));
    encode(got, &again);
    cr_assert_eq(again.len, b.len - 1);
    cr_assert(memcmp(again.data, b.data, again.len) == 0);

    /* The restored history still knows the episode. */
    conflict_free(h);
    h = got;
    expect_found(T0 + 3 * DAY_MS, "pepsi", "beverages", "p4", 0);
    expect_found(T0 + 4 * DAY_MS, "fanta", "beverages", "p5", 2);
    buf_free(&b);
    buf_free(&again);
}

Test(conflict, decode_refuses_corrupt_histories)
{
    post(T0, "pepsi", "beverages", "p1");
    post(T0 + DAY_MS, "coca-cola", "beverages", "p2");
    buf b = BUF_INIT;
    encode(h, &b);
    conflict_history *got;
    size_t pos;
    for (size_t n = 0; n < b.len; n++) {
        pos = 0;
        cr_assert_eq(conflict_decode(&got, b.data, n, &pos), -1, "len %zu",
                     n);
        cr_assert_null(got);
    }
    b.data[0] = 9;      /* version */
    pos = 0;
    cr_assert_eq(conflict_decode(&got, b.data, b.len, &pos), -1);
    b.data[0] = 1;
    b.data[1] = 70;     /* more posts than the cap */
    pos = 0;
    cr_assert_eq(conflict_decode(&got, b.data, b.len, &pos), -1);
    b.data[1] = 1;      /* fewer posts than written */
    pos = 0;
    cr_assert_eq(conflict_decode(&got, b.data, b.len, &pos), -1);
    buf_free(&b);

    /* Posts out of ts order. */
    buf bad = BUF_INIT;
    buf_append_byte(&bad, 1);
    buf_append_uvarint(&bad, 2);
    buf_append_uvarint(&bad, 0);
    buf rec = BUF_INIT;
    buf_append_varint(&rec, 10);
    buf_append(&rec, "a\0s\0p\0\0", 7);
    buf_append_varint(&rec, 5);
    buf_append(&rec, "b\0s\0q\0\0", 7);
    buf_append_uvarint(&bad, rec.len);
    buf_append(&bad, rec.data, rec.len);
    pos = 0;
    cr_assert_eq(conflict_decode(&got, bad.data, bad.len, &pos), -1);
    buf_free(&rec);
    buf_free(&bad);
}

/* --- alerts ---------------------------------------------------------------- */

Test(conflict, fingerprints_ignore_pair_order_but_not_the_rest)
{
    uint64_t a = alert_conflict_fingerprint("c42", 3, "beverages", "pepsi",
                                            "coca-cola", T0);
    cr_assert_eq(a, alert_conflict_fingerprint("c42", 3, "beverages",
                                               "coca-cola", "pepsi", T0));
    cr_assert_neq(a, alert_conflict_fingerprint("c43", 3, "beverages",
                                                "pepsi", "coca-cola", T0));
    cr_assert_neq(a, alert_conflict_fingerprint("c42", 3, "snacks", "pepsi",
                                                "coca-cola", T0));
    cr_assert_neq(a, alert_conflict_fingerprint("c42", 3, "beverages",
                                                "pepsi", "fanta", T0));
    cr_assert_neq(a, alert_conflict_fingerprint("c42", 3, "beverages",
                                                "pepsi", "coca-cola",
                                                T0 + 1));
}

Test(conflict, conflict_alert_fills_the_message)
{
    post4(T0, "pepsi", "beverages", "p1", "k1");
    post4(T0 + 10 * DAY_MS, "coca-cola", "beverages", "p2", "");
    cr_assert_eq(r.nfound, 1);
    alert a;
    conflict_alert(&r.found[0], "c42", "mid", &a);
    cr_assert_eq(a.kind, ALERT_BRAND_CONFLICT);
    cr_assert_eq(a.status, ALERT_FIRING);
    cr_assert_eq(a.severity, ALERT_WARNING);
    cr_assert_eq(a.fingerprint, r.found[0].fingerprint);
    cr_assert_str_eq(a.creator_id, "c42");
    cr_assert_str_eq(a.tier, "mid");
    cr_assert_eq(a.starts_at, T0 + 10 * DAY_MS);
    cr_assert_str_eq(a.conflict.sector, "beverages");
    cr_assert_str_eq(a.conflict.brands[0], "pepsi");
    cr_assert_str_eq(a.conflict.post_ids[1], "p2");
    cr_assert_str_eq(a.conflict.campaign_ids[0], "k1");
    cr_assert_eq(a.conflict.window_ms, 90 * DAY_MS);
    cr_assert_eq(a.conflict.apart_ms, 10 * DAY_MS);
}

Test(conflict, posts_without_post_id_are_kept_and_never_duplicates)
{
    expect_found(T0, "pepsi", "beverages", "", 0);
    expect_found(T0 + 1, "pepsi", "beverages", "", 0);
    cr_assert_eq(conflict_posts(h), 2);
    expect_found(T0 + 2, "coca-cola", "beverages", "p3", 1);
    cr_assert_str_eq(r.found[0].post_ids[0], "");
}

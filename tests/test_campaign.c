/* campaign: attribution to campaigns, and the ledger a checkpoint writes. */
#include <criterion/criterion.h>
#include <string.h>

#include "campaign.h"

#define H INT64_C(3600000)
#define D (24 * H)
#define T0 INT64_C(1793491200000) /* 2026-11-01T00:00:00Z, day 20758 */

static event ev_of(event_type type, int64_t ts, const char *post,
                   const char *campaign)
{
    event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.ts_ms = ts;
    e.followers = -1;
    e.count = type == EVENT_ENGAGEMENT ? 1 : 0;
    strcpy(e.creator_id, "c1");
    e.creator_id_len = 2;
    strcpy(e.post_id, post);
    strcpy(e.campaign_id, campaign);
    return e;
}

Test(campaign, engagement_counts_for_its_post_campaign_and_its_own_wins)
{
    campaign_posts *h = NULL;
    event p = ev_of(EVENT_POST, T0, "p1", "summer");
    cr_assert_eq(campaign_remember(&h, &p, "summer", T0, 30 * D, 8), 0);
    char c[EVENT_ID_MAX + 1];
    event e = ev_of(EVENT_ENGAGEMENT, T0 + H, "p1", "");
    cr_assert(campaign_of(h, &e, T0 + H, 30 * D, c));
    cr_assert_str_eq(c, "summer");
    event own = ev_of(EVENT_ENGAGEMENT, T0 + H, "p1", "winter");
    cr_assert(campaign_of(h, &own, T0 + H, 30 * D, c));
    cr_assert_str_eq(c, "winter");
    event unknown = ev_of(EVENT_ENGAGEMENT, T0 + H, "p9", "");
    cr_assert_not(campaign_of(h, &unknown, T0 + H, 30 * D, c));
    event spaces = ev_of(EVENT_ENGAGEMENT, T0 + H, "p9", "   ");
    cr_assert_not(campaign_of(h, &spaces, T0 + H, 30 * D, c),
                  "spaces only is no campaign");
    event f = ev_of(EVENT_FOLLOWERS, T0 + H, "p1", "summer");
    cr_assert_not(campaign_of(h, &f, T0 + H, 30 * D, c));
    campaign_posts_free(h);
}

Test(campaign, a_post_is_forgotten_past_its_memory_and_past_the_cap)
{
    campaign_posts *h = NULL;
    char c[EVENT_ID_MAX + 1];
    event p1 = ev_of(EVENT_POST, T0, "p1", "a");
    event p2 = ev_of(EVENT_POST, T0 + D, "p2", "b");
    event p3 = ev_of(EVENT_POST, T0 + 2 * D, "p3", "c");
    cr_assert_eq(campaign_remember(&h, &p1, "a", T0, 10 * D, 2), 0);
    cr_assert_eq(campaign_remember(&h, &p3, "c", T0 + 2 * D, 10 * D, 2), 0);
    /* A third, older than p3 but newer than p1: p1, the oldest, goes. */
    cr_assert_eq(campaign_remember(&h, &p2, "b", T0 + 2 * D, 10 * D, 2), 0);
    cr_assert_eq(campaign_posts_count(h), 2);
    event e1 = ev_of(EVENT_ENGAGEMENT, T0 + 3 * D, "p1", "");
    cr_assert_not(campaign_of(h, &e1, T0 + 3 * D, 10 * D, c));
    event e2 = ev_of(EVENT_ENGAGEMENT, T0 + 3 * D, "p2", "");
    cr_assert(campaign_of(h, &e2, T0 + 3 * D, 10 * D, c));
    cr_assert_str_eq(c, "b");
    /* p2's memory ends at T0 + 11 D, inclusive. */
    cr_assert(campaign_of(h, &e2, T0 + 11 * D, 10 * D, c));
    cr_assert_not(campaign_of(h, &e2, T0 + 11 * D + 1, 10 * D, c));
    campaign_posts_free(h);
}

Test(campaign, posts_survive_a_round_trip_through_the_blob)
{
    campaign_posts *h = NULL, *back = NULL;
    event p1 = ev_of(EVENT_POST, T0, "p:1", "x:2026-01-01");
    cr_assert_eq(campaign_remember(&h, &p1, "x:2026-01-01", T0, D, 4), 0);
    buf b = BUF_INIT;
    campaign_posts_encode(h, &b);
    size_t pos = 0;
    cr_assert_eq(campaign_posts_decode(&back, b.data, b.len, &pos),
                 BUF_DECODED);
    cr_assert_eq(pos, b.len);
    char c[EVENT_ID_MAX + 1];
    event e = ev_of(EVENT_ENGAGEMENT, T0, "p:1", "");
    cr_assert(campaign_of(back, &e, T0, D, c));
    cr_assert_str_eq(c, "x:2026-01-01");
    pos = 0;
    campaign_posts *cut = NULL;
    cr_assert_eq(campaign_posts_decode(&cut, b.data, b.len - 1, &pos),
                 BUF_CORRUPT);
    cr_assert_null(cut);
    buf_free(&b);
    campaign_posts_free(h);
    campaign_posts_free(back);
}

static bool take_all(int slot, const void *arg)
{
    (void)slot;
    (void)arg;
    return true;
}

static bool take_slot0(int slot, const void *arg)
{
    (void)arg;
    return slot == 0;
}

Test(campaign, the_ledger_sums_by_tier_day_and_creator)
{
    campaign_ledger *l = campaign_ledger_new();
    event post = ev_of(EVENT_POST, T0 + H, "p1", "s");
    post.sponsored = true;
    event like = ev_of(EVENT_ENGAGEMENT, T0 + 2 * H, "p1", "");
    like.count = 5;
    event click = ev_of(EVENT_ENGAGEMENT, T0 + D + H, "p1", "");
    click.action = EVENT_CLICK;
    click.count = 2;
    cr_assert_eq(campaign_ledger_add(l, 0, "s", "c1", 2, 1, 9000, &post), 0);
    cr_assert_eq(campaign_ledger_add(l, 0, "s", "c1", 2, 2, 12000, &like), 0);
    cr_assert_eq(campaign_ledger_add(l, 0, "s", "c1", 2, 2, 12000, &click), 0);
    cr_assert_eq(campaign_ledger_sums(l), 3,
                 "(tier 1, day 0), (tier 2, day 0), (tier 2, day 1)");
    const campaign_sums *r = campaign_ledger_sum(l, 2);
    cr_assert_eq(r->tier, 2);
    cr_assert_eq(r->day, 20759);
    cr_assert_eq(r->v[CAMPAIGN_CLICKS], 2);
    cr_assert_eq(r->v[CAMPAIGN_LIKES], 0);
    /* The same campaign and tier in another partition. */
    event like2 = like;
    like2.count = 3;
    cr_assert_eq(campaign_ledger_add(l, 1, "s", "c9", 2, 2, 500, &like2), 0);
    campaign_merge *mg = campaign_merge_new();
    cr_assert_eq(campaign_merge_ledger(mg, l, take_all, NULL), 0);
    cr_assert_eq(campaign_merge_tiers(mg), 2, "tier 1, then tier 2");
    const campaign_sums *t2 = campaign_merge_tier(mg, 1);
    cr_assert_eq(t2->tier, 2);
    cr_assert_eq(t2->v[CAMPAIGN_LIKES], 8, "5 in partition 0, 3 in 1");
    cr_assert_eq(t2->v[CAMPAIGN_ENGAGEMENTS], 8);
    cr_assert_eq(t2->v[CAMPAIGN_CLICKS], 2);
    cr_assert_eq(t2->first_ms, T0 + 2 * H);
    cr_assert_eq(t2->last_ms, T0 + D + H);
    cr_assert_eq(campaign_merge_tier(mg, 0)->v[CAMPAIGN_SPONSORED_POSTS], 1);
    cr_assert_eq(campaign_merge_days(mg), 2);
    cr_assert_eq(campaign_merge_day(mg, 0)->day, 20758);
    cr_assert_eq(campaign_merge_day(mg, 0)->v[CAMPAIGN_POSTS], 1);
    cr_assert_eq(campaign_merge_day(mg, 0)->v[CAMPAIGN_LIKES], 8);
    cr_assert_eq(campaign_merge_day(mg, 1)->v[CAMPAIGN_CLICKS], 2);
    /* Partition 0 only: the next merge replaces the first. */
    cr_assert_eq(campaign_merge_ledger(mg, l, take_slot0, NULL), 0);
    cr_assert_eq(campaign_merge_tier(mg, 1)->v[CAMPAIGN_LIKES], 5);
    cr_assert_eq(campaign_merge_days(mg), 2);
    campaign_merge_free(mg);
    cr_assert_eq(campaign_ledger_members(l), 2);
    const campaign_member *m = campaign_ledger_member(l, 0);
    cr_assert_eq(m->engagements, 5);
    cr_assert_eq(m->tier, 1, "the tier at its first counting event");
    cr_assert_eq(m->followers, 9000);
    cr_assert_str_eq(m->campaign, "s");
    cr_assert_eq(memcmp(m->creator, "c1", 2), 0);
    campaign_ledger_free(l);
}

Test(campaign, ids_that_look_alike_stay_apart)
{
    campaign_ledger *l = campaign_ledger_new();
    event e = ev_of(EVENT_ENGAGEMENT, T0, "", "");
    /* ("a:b", "c") and ("a", "b:c") must be two members. */
    cr_assert_eq(campaign_ledger_add(l, 0, "a:b", "c", 1, 0, 1, &e), 0);
    cr_assert_eq(campaign_ledger_add(l, 0, "a", "b:c", 3, 0, 1, &e), 0);
    cr_assert_eq(campaign_ledger_members(l), 2);
    campaign_ledger_free(l);
}

Test(campaign, the_ledger_leaves_with_its_checkpoint_or_its_partition)
{
    campaign_ledger *l = campaign_ledger_new();
    event e = ev_of(EVENT_ENGAGEMENT, T0, "", "");
    campaign_ledger_add(l, 0, "a", "c1", 2, 0, 1, &e);
    campaign_ledger_add(l, 1, "a", "c2", 2, 0, 1, &e);
    campaign_ledger_add(l, 2, "b", "c3", 2, 0, 1, &e);
    cr_assert_eq(campaign_ledger_brand(l, 1, "c2", 2, "pepsi", "beverages",
                                       T0), 0);
    cr_assert_eq(campaign_ledger_brands(l), 2, "a brand row, a sector row");
    bool done[2] = {true, false};
    campaign_ledger_done(l, done, 2);
    cr_assert_eq(campaign_ledger_members(l), 2);
    cr_assert_eq(campaign_ledger_member(l, 0)->slot, 1);
    campaign_ledger_drop(l, 1);
    cr_assert_eq(campaign_ledger_members(l), 1);
    cr_assert_eq(campaign_ledger_member(l, 0)->slot, 2);
    cr_assert_eq(campaign_ledger_brands(l), 0);
    /* Rows found again after the compaction. */
    campaign_ledger_add(l, 2, "b", "c3", 2, 0, 1, &e);
    cr_assert_eq(campaign_ledger_members(l), 1);
    campaign_ledger_done(l, NULL, 0);
    cr_assert_eq(campaign_ledger_sums(l), 0);
    campaign_ledger_free(l);
}

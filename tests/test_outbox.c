/* outbox: alerts kept until a checkpoint writes their partition. */
#include <criterion/criterion.h>
#include <string.h>

#include "outbox.h"

static void add(outbox *ob, int slot, const char *creator, int64_t ts)
{
    alert a;
    alert_tier_change(&a, creator, "micro", "mid", 60000, ts);
    cr_assert_eq(outbox_add(ob, slot, &a, creator, strlen(creator)), 0);
}

Test(outbox, alerts_leave_with_the_checkpoint_of_their_partition)
{
    outbox *ob = outbox_new();
    add(ob, 0, "a", 1000);
    add(ob, 1, "b", 2000);
    add(ob, 0, "c", 3000);
    cr_assert_eq(outbox_count(ob), 3);
    const outbox_alert *b = outbox_get(ob, 1);
    cr_assert_eq(b->slot, 1);
    cr_assert_eq(b->creator_len, 1);
    cr_assert_str_eq(b->creator_id, "b");
    cr_assert(strstr(b->json, "\"kind\":\"tier_change\"") != NULL, "%s",
              b->json);
    cr_assert_eq(strlen(b->alert_id), 16);
    outbox_set_sent(ob, 1);
    cr_assert(outbox_get(ob, 1)->sent);
    /* A partial checkpoint of slot 0: b stays, still sent. */
    bool done[2] = {true, false};
    outbox_done(ob, done, 2);
    cr_assert_eq(outbox_count(ob), 1);
    cr_assert_str_eq(outbox_get(ob, 0)->creator_id, "b");
    cr_assert(outbox_get(ob, 0)->sent);
    outbox_done(ob, NULL, 0);
    cr_assert_eq(outbox_count(ob), 0);
    outbox_free(ob);
}

Test(outbox, a_dropped_partition_takes_its_alerts)
{
    outbox *ob = outbox_new();
    add(ob, 2, "a", 1000);
    add(ob, 3, "b", 2000);
    add(ob, 2, "c", 3000);
    outbox_drop(ob, 2);
    cr_assert_eq(outbox_count(ob), 1);
    cr_assert_str_eq(outbox_get(ob, 0)->creator_id, "b");
    cr_assert_null(outbox_get(ob, 1));
    outbox_free(ob);
}

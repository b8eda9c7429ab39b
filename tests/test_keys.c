/* keys: Redis key names built on the C side. */
#include <criterion/criterion.h>
#include <string.h>

#include "keys.h"

Test(keys, partitions_wake_indexes_shares_state_blobs_and_creator_hashes)
{
    config *cfg = config_default(NULL);
    buf b = BUF_INIT;
    keys_partition(&b, "events", 7);
    cr_assert_eq(b.len, 8);
    cr_assert_eq(memcmp(b.data, "events:7", 8), 0);
    keys_wake(&b, cfg, "events", 7);
    const char *w = "eng:wake:engaged:events:7";
    cr_assert_eq(b.len, strlen(w));
    cr_assert_eq(memcmp(b.data, w, b.len), 0);
    keys_share(&b, cfg, "events", 7);
    const char *sh = "eng:tier_share:engaged:events:7";
    cr_assert_eq(b.len, strlen(sh));
    cr_assert_eq(memcmp(b.data, sh, b.len), 0);
    keys_state(&b, cfg, "a:b", 3);
    cr_assert_eq(b.len, strlen("eng:state:a:b"));
    cr_assert_eq(memcmp(b.data, "eng:state:a:b", b.len), 0);
    keys_creator(&b, cfg, "a:b", 3);
    cr_assert_eq(b.len, strlen("eng:creator:a:b"));
    cr_assert_eq(memcmp(b.data, "eng:creator:a:b", b.len), 0);
    buf_free(&b);
    config_free(cfg);
}

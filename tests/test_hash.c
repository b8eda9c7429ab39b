/* hash: FNV-1a, as its published test vectors give it. */
#include <criterion/criterion.h>
#include <string.h>

#include "hash.h"

Test(hash, fnv1a_matches_the_reference_vectors)
{
    /* FNV-1a 64 of "" is the offset basis; of "a", 0xaf63dc4c8601ec8c;
     * of "foobar", 0x85944171f73967e8 (the FNV reference test suite). */
    cr_assert_eq(hash_fnv1a(HASH_FNV1A_INIT, "", 0),
                 UINT64_C(0xcbf29ce484222325));
    cr_assert_eq(hash_fnv1a(HASH_FNV1A_INIT, "a", 1),
                 UINT64_C(0xaf63dc4c8601ec8c));
    cr_assert_eq(hash_fnv1a(HASH_FNV1A_INIT, "foobar", 6),
                 UINT64_C(0x85944171f73967e8));
    /* Continuing is hashing the concatenation. */
    cr_assert_eq(hash_fnv1a(hash_fnv1a(HASH_FNV1A_INIT, "foo", 3), "bar", 3),
                 UINT64_C(0x85944171f73967e8));
}

Test(hash, ids_differing_at_the_end_spread_over_the_high_bits)
{
    uint64_t a = hash_id("c00017", 6), b = hash_id("c00018", 6);
    cr_assert_neq(a >> 48, b >> 48);
    cr_assert_eq(hash_id("c00017", 6), a, "deterministic");
}

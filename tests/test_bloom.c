#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "bloom.h"

static size_t id_of(char *out, size_t size, const char *prefix, int i)
{
    return (size_t)snprintf(out, size, "%s%07d", prefix, i);
}

Test(bloom, every_id_added_is_found)
{
    bloom *b = bloom_new(100000);
    cr_assert_not_null(b);
    char id[32];
    for (int i = 0; i < 100000; i++)
        bloom_add(b, id, id_of(id, sizeof id, "creator-", i));
    for (int i = 0; i < 100000; i++)
        cr_assert(bloom_maybe(b, id, id_of(id, sizeof id, "creator-", i)),
                  "creator-%07d added but not found", i);
    cr_assert_eq(bloom_count(b), 100000);
    bloom_free(b);
}

Test(bloom, an_empty_filter_finds_nothing)
{
    bloom *b = bloom_new(0);
    char id[32];
    for (int i = 0; i < 10000; i++)
        cr_assert_not(bloom_maybe(b, id, id_of(id, sizeof id, "c", i)));
    cr_assert_not(bloom_maybe(b, "", 0));
    bloom_free(b);
}

Test(bloom, ids_that_differ_in_one_byte_or_length_are_told_apart)
{
    bloom *b = bloom_new(10);
    bloom_add(b, "alice", 5);
    cr_assert(bloom_maybe(b, "alice", 5));
    cr_assert_not(bloom_maybe(b, "alicf", 5));
    cr_assert_not(bloom_maybe(b, "alic", 4));
    cr_assert_not(bloom_maybe(b, "alice\0", 6));
    bloom_free(b);
}

/* The rate the header promises, measured on ids never added. */
static double fp_rate(size_t expected, int added)
{
    bloom *b = bloom_new(expected);
    char id[32];
    for (int i = 0; i < added; i++)
        bloom_add(b, id, id_of(id, sizeof id, "in-", i));
    int fp = 0, probes = 200000;
    for (int i = 0; i < probes; i++)
        fp += bloom_maybe(b, id, id_of(id, sizeof id, "out-", i));
    bloom_free(b);
    return (double)fp / probes;
}

Test(bloom, false_positives_stay_rare_at_the_design_load)
{
    /* 2^21 bits for 100k ids: about 21 bits each. */
    double at_load = fp_rate(100000, 100000);
    cr_assert_lt(at_load, 0.002, "%.4f", at_load);
    /* Four times over the design load it degrades, but keeps filtering. */
    double over = fp_rate(100000, 400000);
    cr_assert_gt(over, at_load);
    cr_assert_lt(over, 0.2, "%.4f", over);
}

Test(bloom, sizes_are_powers_of_two_from_a_megabit)
{
    bloom *b = bloom_new(1);
    cr_assert_eq(bloom_bits(b), (size_t)1 << 20);
    cr_assert_eq(bloom_bytes(b), (size_t)1 << 17);
    bloom_free(b);
    b = bloom_new(1000000); /* 16M bits */
    cr_assert_eq(bloom_bits(b), (size_t)1 << 24);
    bloom_free(b);
    b = bloom_new(((size_t)1 << 20) + 1); /* just over 2^24 bits */
    cr_assert_eq(bloom_bits(b), (size_t)1 << 25);
    bloom_free(b);
}

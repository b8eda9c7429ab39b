/*
 * bloom: a standard Bloom filter with k = 4 probes made from one 64-bit
 * hash by double hashing (Kirsch and Mitzenmacher): probe i is
 * h1 + i * h2, with h2 odd so that the probes cover the power-of-two table.
 */
#include "bloom.h"
#include "hash.h"

#include <stdlib.h>

#define PROBES 4
#define MIN_LOG2 20

struct bloom {
    uint64_t *words;
    uint64_t mask;           /* bits - 1 */
    size_t count;
};


bloom *bloom_new(size_t expected)
{
    unsigned lg = MIN_LOG2;
    while (lg < 40 && ((uint64_t)1 << lg) < (uint64_t)expected * 16)
        lg++;
    bloom *b = malloc(sizeof *b);
    if (b == NULL)
        return NULL;
    uint64_t bits = (uint64_t)1 << lg;
    b->words = calloc((size_t)(bits / 64), sizeof *b->words);
    if (b->words == NULL) {
        free(b);
        return NULL;
    }
    b->mask = bits - 1;
    b->count = 0;
    return b;
}

void bloom_free(bloom *b)
{
    if (b == NULL)
        return;
    free(b->words);
    free(b);
}

void bloom_add(bloom *b, const char *id, size_t len)
{
    if (b == NULL)
        return;
    uint64_t h = hash_id(id, len);
    uint64_t h1 = h & 0xffffffffu, h2 = (h >> 32) | 1;
    for (uint64_t i = 0; i < PROBES; i++) {
        uint64_t bit = (h1 + i * h2) & b->mask;
        b->words[bit >> 6] |= (uint64_t)1 << (bit & 63);
    }
    b->count++;
}

bool bloom_maybe(const bloom *b, const char *id, size_t len)
{
    if (b == NULL)
        return true;
    uint64_t h = hash_id(id, len);
    uint64_t h1 = h & 0xffffffffu, h2 = (h >> 32) | 1;
    for (uint64_t i = 0; i < PROBES; i++) {
        uint64_t bit = (h1 + i * h2) & b->mask;
        if (!(b->words[bit >> 6] & ((uint64_t)1 << (bit & 63))))
            return false;
    }
    return true;
}

size_t bloom_count(const bloom *b)
{
    return b->count;
}

size_t bloom_bits(const bloom *b)
{
    return (size_t)(b->mask + 1);
}

size_t bloom_bytes(const bloom *b)
{
    return (size_t)((b->mask + 1) / 8);
}

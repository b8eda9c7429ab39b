/*
 * bloom: a Bloom filter of creator ids, "whose state Redis may hold".
 *
 * The engine asks it before looking a creator up in Redis: an id it has
 * never been given is surely not in Redis (as far as this filter was told),
 * so the lookup is skipped; an id it may have been given costs a lookup,
 * which a false positive only makes unnecessary.  It never forgets, so it
 * never gives a false negative for what it was told.
 *
 * Pure: no clock, no I/O.  Not thread-safe; one owner (the main thread).
 */
#ifndef ENGAGED_BLOOM_H
#define ENGAGED_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bloom bloom;

/*
 * A filter sized for `expected` ids at about 16 bits each (a false positive
 * rate near 0.2% at that load, rising past it: 2% at twice, 15% at four
 * times), rounded up to a power of two and to at least 2^20 bits.
 * Returns NULL when out of memory.  Free with bloom_free().
 */
bloom *bloom_new(size_t expected);
void bloom_free(bloom *b);

/* Adds an id (len bytes, need not be NUL-terminated).  b NULL: no-op. */
void bloom_add(bloom *b, const char *id, size_t len);

/* False: id was surely never added.  True: it may have been (always, for
 * b NULL: no filter knows nothing). */
bool bloom_maybe(const bloom *b, const char *id, size_t len);

/* Ids added (with repeats); the filter's size in bits and in bytes. */
size_t bloom_count(const bloom *b);
size_t bloom_bits(const bloom *b);
size_t bloom_bytes(const bloom *b);

#endif

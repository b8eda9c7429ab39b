/*
 * hash: the one 64-bit hash engaged uses, FNV-1a, for in-memory tables
 * (creators, the fetch list), the Bloom filter of known creators and the
 * fingerprints that name alerts.  Pure; any thread.
 */
#ifndef ENGAGED_HASH_H
#define ENGAGED_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_INIT UINT64_C(0xcbf29ce484222325)  /* FNV-1a offset basis */

/* FNV-1a of len bytes, continuing from h (HASH_FNV1A_INIT to start). */
uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len);

/*
 * An id's hash for tables and filters: FNV-1a, then the splitmix64
 * finaliser, because FNV alone mixes its high bits poorly for short ids
 * that differ only at the end ("c00017", "c00018") and tables index by
 * the low bits while the filter uses the high ones too.
 */
uint64_t hash_id(const void *id, size_t len);

#endif

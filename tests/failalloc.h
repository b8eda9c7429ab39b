/*
 * failalloc: allocation failures injected on demand, for the tests that
 * show an internal failure is never taken for bad input (issue 15).
 *
 * The test binary is linked with -Wl,--wrap for malloc, calloc, realloc,
 * strdup and strndup, so every call engaged's own objects (and the tests)
 * make goes through here; libraries' internal calls do not, except
 * jansson's in event_parse (event.c gives jansson an allocator of its own,
 * which calls malloc).  The counters are
 * thread-local: arming one thread never fails another's allocations (the
 * checkpoint's writer, librdkafka's threads).
 */
#ifndef ENGAGED_TEST_FAILALLOC_H
#define ENGAGED_TEST_FAILALLOC_H

#include <stdbool.h>
#include <stdint.h>

/*
 * From now on, on the calling thread: the nth allocation (1 is the next
 * one) fails, and with `sticky` every one after it too.  nth 0 disarms.
 * Resets the counters.
 */
void failalloc_arm(uint64_t nth, bool sticky);

/*
 * From now on, on the calling thread: each allocation fails with
 * probability 1/one_in (a deterministic sequence from `seed`), until
 * max_failures have failed.  Resets the counters.
 */
void failalloc_random(uint64_t seed, uint32_t one_in, uint64_t max_failures);

/* Disarms the calling thread's failures. */
void failalloc_disarm(void);

/* Allocations made on this thread since failalloc_arm(), failed ones
 * included. */
uint64_t failalloc_calls(void);

/* Allocations that failed on this thread since failalloc_arm(). */
uint64_t failalloc_failures(void);

#endif

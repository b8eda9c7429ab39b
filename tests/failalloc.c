/* failalloc: see failalloc.h. */
#include "failalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>


void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static _Thread_local uint64_t nth, calls, failures;
static _Thread_local bool sticky;
static _Thread_local uint64_t rnd, max_random;
static _Thread_local uint32_t one_in;

void failalloc_arm(uint64_t n, bool s)
{
    nth = n;
    sticky = s;
    one_in = 0;
    calls = failures = 0;
}

void failalloc_random(uint64_t seed, uint32_t n, uint64_t max)
{
    nth = 0;
    rnd = seed | 1;
    one_in = n;
    max_random = max;
    calls = failures = 0;
}

void failalloc_disarm(void)
{
    nth = 0;
    one_in = 0;
}

uint64_t failalloc_calls(void)
{
    return calls;
}

uint64_t failalloc_failures(void)
{
    return failures;
}

static bool fails(void)
{
    if (one_in > 0) {
        calls++;
        rnd ^= rnd << 13;
        rnd ^= rnd >> 7;
        rnd ^= rnd << 17;
        if (failures < max_random && rnd % one_in == 0) {
            failures++;
            return true;
        }
        return false;
    }
    if (nth == 0)
        return false;
    calls++;
    if (calls == nth || (sticky && calls > nth)) {
        failures++;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t size)
{
    return fails() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return fails() ? NULL : __real_realloc(p, size);
}

char *__wrap_strdup(const char *s)
{
    return fails() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fails() ? NULL : __real_strndup(s, n);
}

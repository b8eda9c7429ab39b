/*
 * Tests of log: the line format and log_limited()'s rate limiting, with an
 * injected clock so that intervals are exact, and from several threads.
 * stderr is redirected to a temporary file for each test (Criterion runs
 * each test in its own process).
 */
#include "log.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out_path[64];
static int saved_stderr = -1;
static int64_t fake_now;

static int64_t fake_clock(void)
{
    return __atomic_load_n(&fake_now, __ATOMIC_RELAXED);
}

static void setup(void)
{
    snprintf(out_path, sizeof out_path, "/tmp/engaged-test-log-XXXXXX");
    int fd = mkstemp(out_path);
    cr_assert(fd >= 0);
    saved_stderr = dup(STDERR_FILENO);
    cr_assert_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    fake_now = 1000000;
    log_set_clock(fake_clock);
    log_set_level(LOG_LEVEL_INFO);
}

static void teardown(void)
{
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    unlink(out_path);
    log_set_clock(NULL);
}

TestSuite(log, .init = setup, .fini = teardown, .timeout = 30);

/* Everything logged so far (static buffer). */
static const char *logged(void)
{
    static char text[1 << 16];
    FILE *f = fopen(out_path, "r");
    cr_assert_not_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return text;
}

Test(log, lines_carry_the_priority_and_stay_on_one_line)
{
    log_error("redis down error=\"%s\"", "connection refused");
    log_info("two\nlines");
    log_debug("not at info");
    cr_assert_str_eq(logged(), "<3>redis down error=\"connection refused\"\n"
                               "<6>two lines\n");
}

Test(log, a_repeated_error_is_written_once_per_interval)
{
    log_limited("redis", LOG_LEVEL_ERROR, "Redis unreachable attempt=%d", 1);
    fake_now += 1000;
    log_limited("redis", LOG_LEVEL_ERROR, "Redis unreachable attempt=%d", 2);
    log_limited("redis", LOG_LEVEL_ERROR, "Redis unreachable attempt=%d", 3);
    fake_now += LOG_LIMIT_INTERVAL_MS - 1001;
    log_limited("redis", LOG_LEVEL_ERROR, "Redis unreachable attempt=%d", 4);
    fake_now += 1; /* LOG_LIMIT_INTERVAL_MS after the first line */
    log_limited("redis", LOG_LEVEL_ERROR, "Redis unreachable attempt=%d", 5);
    fake_now += 500;
    log_limited("redis", LOG_LEVEL_ERROR, "Redis unreachable attempt=%d", 6);
    fake_now += LOG_LIMIT_INTERVAL_MS;
    log_limited("redis", LOG_LEVEL_ERROR, "Redis unreachable attempt=%d", 7);
    fake_now += LOG_LIMIT_INTERVAL_MS;
    log_limited("redis", LOG_LEVEL_ERROR, "Redis unreachable attempt=%d", 8);
    cr_assert_str_eq(logged(),
                     "<3>Redis unreachable attempt=1\n"
                     "<3>Redis unreachable attempt=5 suppressed=3\n"
                     "<3>Redis unreachable attempt=7 suppressed=1\n"
                     "<3>Redis unreachable attempt=8\n");
}

Test(log, keys_are_limited_independently)
{
    log_limited("a", LOG_LEVEL_WARNING, "first a");
    log_limited("b", LOG_LEVEL_WARNING, "first b");
    log_limited("a", LOG_LEVEL_WARNING, "second a");
    fake_now += LOG_LIMIT_INTERVAL_MS;
    log_limited("b", LOG_LEVEL_WARNING, "third b");
    cr_assert_str_eq(logged(), "<4>first a\n<4>first b\n<4>third b\n");
}

Test(log, disabled_levels_are_neither_written_nor_counted)
{
    log_set_level(LOG_LEVEL_WARNING);
    log_limited("k", LOG_LEVEL_INFO, "hidden");
    log_limited("k", LOG_LEVEL_WARNING, "shown");
    log_limited("k", LOG_LEVEL_INFO, "hidden");
    fake_now += LOG_LIMIT_INTERVAL_MS;
    log_limited("k", LOG_LEVEL_WARNING, "shown again");
    cr_assert_str_eq(logged(), "<4>shown\n<4>shown again\n");
}

Test(log, the_count_survives_truncation)
{
    char big[4000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    log_limited("big", LOG_LEVEL_ERROR, "%s", big);
    log_limited("big", LOG_LEVEL_ERROR, "%s", big);
    fake_now += LOG_LIMIT_INTERVAL_MS;
    log_limited("big", LOG_LEVEL_ERROR, "%s", big);
    const char *text = logged();
    const char *second = strchr(text, '\n') + 1;
    size_t len = strlen(second);
    cr_assert_eq(len, 2047, "length %zu", len);
    cr_assert(strcmp(second + len - strlen(" suppressed=1\n"),
                     " suppressed=1\n") == 0, "%s", second + len - 40);
}

Test(log, a_full_key_table_writes_every_line)
{
    char key[32];
    for (int i = 0; i < LOG_LIMIT_KEYS; i++) {
        snprintf(key, sizeof key, "key%d", i);
        log_limited(key, LOG_LEVEL_ERROR, "k");
    }
    log_limited("one too many", LOG_LEVEL_ERROR, "extra");
    log_limited("one too many", LOG_LEVEL_ERROR, "extra");
    log_limited("key0", LOG_LEVEL_ERROR, "limited");
    const char *text = logged();
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, LOG_LIMIT_KEYS + 2);
    cr_assert_null(strstr(text, "limited"));
}

#define THREADS 4
#define CALLS 5000

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < CALLS; i++)
        log_limited("shared", LOG_LEVEL_ERROR, "Kafka broker down");
    return NULL;
}

Test(log, threads_share_one_count)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    fake_now += LOG_LIMIT_INTERVAL_MS;
    log_limited("shared", LOG_LEVEL_ERROR, "Kafka broker down");
    char want[128];
    snprintf(want, sizeof want,
             "<3>Kafka broker down\n<3>Kafka broker down suppressed=%d\n",
             THREADS * CALLS - 1);
    cr_assert_str_eq(logged(), want);
}

__attribute__((format(printf, 2, 3)))
static void via_vwrite(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}

Test(log, vwrite_is_write_with_a_va_list)
{
    via_vwrite(LOG_LEVEL_NOTICE, "from a library: %s code=%d", "oops", 7);
    via_vwrite(LOG_LEVEL_DEBUG, "hidden");
    cr_assert_str_eq(logged(), "<5>from a library: oops code=7\n");
}

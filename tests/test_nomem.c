/*
 * Integration: the engine runs in this process, against a real
 * redis-server and a librdkafka mock cluster, with allocation failures
 * injected into its thread (failalloc.h).  Running out of memory is never
 * bad input (issue 15): no event goes to the DLQ or is skipped for it, and
 * Redis ends equal to the ground truth.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <unistd.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "engine.h"
#include "failalloc.h"
#include "metrics.h"
#include "world.h"

typedef struct run {
    char path[512];
    metrics *m;
    atomic_bool done;
    uint64_t seed;
    uint32_t one_in;
    uint64_t max_failures;
    /* results */
    uint64_t failures;
    int restarts;
    int rc;
} run;

/*
 * Runs engines one after another, as a supervisor restarts a daemon that
 * stopped itself, with failures injected into each, until told to stop.
 */
static void *engine_thread(void *arg)
{
    run *r = arg;
    for (;;) {
        char err[1024];
        config *cfg = config_load(r->path, err, sizeof err);
        if (cfg == NULL) {
            fprintf(stderr, "%s\n", err);
            r->rc = -1;
            return NULL;
        }
        engine *e = engine_new(cfg, r->m, err, sizeof err);
        if (e == NULL) {
            fprintf(stderr, "%s\n", err);
            r->rc = -1;
            return NULL;
        }
        failalloc_random(r->seed + (uint64_t)r->restarts, r->one_in,
                         r->max_failures - r->failures);
        r->rc = engine_run(e);
        r->failures += failalloc_failures();
        failalloc_disarm();
        engine_free(e);
        if (atomic_load(&r->done))
            return NULL;
        r->restarts++;
    }
}

/* The value of one sample of the /metrics text, -1 when absent. */
static int64_t sample(const metrics *m, const char *name)
{
    buf out = BUF_INIT;
    cr_assert_eq(metrics_render(m, &out), 0);
    buf_append_byte(&out, 0);
    const char *at = strstr(out.data, name);
    int64_t v = -1;
    if (at != NULL)
        v = strtoll(at + strlen(name) + 1, NULL, 10);
    buf_free(&out);
    return v;
}

Test(nomem, allocation_failures_lose_no_event_and_refuse_none, .timeout = 240)
{
    world_up("[checkpoint]\ninterval_ms = 200\n");
    world_send_stream(6000, 150, 11, T0, 20 * DAY);
    /* Three messages that are refused for what they are. */
    const char *bad = "{\"type\":";
    for (int p = 0; p < 3; p++)
        world_send_raw(p, "x", bad, strlen(bad));
    world_send_stream(3000, 150, 12, T0 + 20 * DAY, 5 * DAY);

    run r;
    memset(&r, 0, sizeof r);
    char *dir = harness_tmpdir();
    snprintf(r.path, sizeof r.path, "%s/engaged.conf", dir);
    cr_assert_eq(harness_write_file(r.path, W.config, strlen(W.config)), 0);
    char err[256];
    r.m = metrics_new("test", err, sizeof err);
    cr_assert_not_null(r.m, "%s", err);
    r.seed = 0x9e3779b97f4a7c15u;
    r.one_in = 2000;
    r.max_failures = 40;
    /* The engine logs to this process's stderr: into a file instead, named
     * in the messages below, so that the test output stays the results. */
    char logpath[600];
    snprintf(logpath, sizeof logpath, "%s/engine.log", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(logpath, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    cr_assert(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, engine_thread, &r), 0);
    world_wait_caught_up(180000);
    atomic_store(&r.done, true);
    engine_stop();
    pthread_join(t, NULL);
    dup2(saved, 2);
    close(saved);
    cr_log_info("the engine's log: %s (kept with HARNESS_KEEP=1)", logpath);

    cr_assert_eq(r.rc, 0, "the last engine's final checkpoint failed (%s)",
                 logpath);
    cr_assert_geq(r.failures, 10, "only %" PRIu64 " allocations failed",
                  r.failures);
    world_assert_truth();
    /* The DLQ is at least once: a partition read back from Redis refuses
     * its bad messages again.  Only they are refused. */
    cr_assert_geq(sample(r.m, "engaged_dlq_messages_total{reason=\"invalid_json\"}"),
                  3);
    cr_assert_eq(sample(r.m, "engaged_dlq_messages_total{reason=\"invalid_event\"}"),
                 0);
    cr_assert_eq(sample(r.m, "engaged_dlq_messages_total{reason=\"too_late\"}"), 0);
    cr_log_info("allocation failures=%" PRIu64 " restarts=%d", r.failures,
                r.restarts);
    metrics_free(r.m);
    free(dir);
    world_down();
}

/*
 * The Alertmanager sink through the real daemon (issue 18): the
 * generator's stories through engaged, a real Redis, the mock Kafka
 * cluster and a real Alertmanager, where the brand_conflict and
 * tier_change alerts must show up.  Suite alertmanager, beside
 * tests/test_alertmanager.c.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amharness.h"
#include "world.h"

static amharness *amd;

/* The active alert of Alertmanager named `alertname` for `creator`. */
static int has_alert(amharness *h, const char *alertname, const char *creator)
{
    json_t *all = amharness_alerts(h);
    size_t i;
    json_t *a;
    int found = 0;
    json_array_foreach(all, i, a) {
        json_t *l = json_object_get(a, "labels");
        const char *n = json_string_value(json_object_get(l, "alertname"));
        const char *c = json_string_value(json_object_get(l, "creator_id"));
        if (n && c && strcmp(n, alertname) == 0 && strcmp(c, creator) == 0)
            found = 1;
    }
    json_decref(all);
    return found;
}

static int conflict_and_tier_seen(void *arg)
{
    (void)arg;
    return has_alert(amd, "brand_conflict", "story-conflict") &&
           has_alert(amd, "tier_change", "story-rising");
}

Test(alertmanager, the_daemon_posts_its_alerts, .timeout = 240)
{
    amd = amharness_start();
    cr_assert_not_null(amd);
    char extra[512];
    snprintf(extra, sizeof extra,
             "[conflict]\nbrand.pepsi = beverages\n"
             "brand.coca-cola = beverages\n"
             "[alertmanager]\nurl = %s\n", amharness_url(amd));
    world_up(extra);
    const char *root = getenv("ENGAGED_ROOT");
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s/build/engaged-gen -b %s -t " TOPIC " --stories -n 20000 "
             "-c 800 --days 30 --seed 42 --start 2026-10-01T00:00:00Z -q",
             root ? root : ".", harness_kafka_bootstrap(W.kafka));
    cr_assert_eq(harness_run(cmd, &out), 0, "engaged-gen failed: %s", out);
    free(out);
    char conf[8192];
    snprintf(conf, sizeof conf,
             "%s[checkpoint]\ninterval_ms = 50\nmax_events = 2000\n"
             "[log]\nlevel = notice\n", W.config);
    harness_daemon *d = harness_daemon_start(conf);
    cr_assert_not_null(d);
    int rc = harness_wait(conflict_and_tier_seen, NULL, 90000);
    char *log = harness_daemon_log(d);
    cr_assert_eq(rc, 0, "the alerts did not reach Alertmanager; log:\n%s",
                 log);
    free(log);
    /* A clean stop, the sink's flush included. */
    world_daemon_stop_clean(d);
    world_down();
    amharness_free(amd);
}

/* config_live: what a reload takes into the running configuration. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_live.h"

static config *load(const char *text)
{
    char path[] = "/tmp/engaged-test-live-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char err[4096] = "";
    config *c = config_load(path, err, sizeof err);
    unlink(path);
    cr_assert_not_null(c, "%s", err);
    return c;
}

Test(config_live, live_keys_change_and_restart_keys_stay)
{
    config *run = load("[kafka]\nbootstrap.servers = a:9092\n"
                       "[decay]\nratio = 0.5\nfor = 1h\n"
                       "[checkpoint]\ninterval_ms = 1000\n"
                       "[metrics]\nwindows = 1h, 24h\n");
    config *next = load("[kafka]\nbootstrap.servers = b:9092\n"
                        "[decay]\nratio = 0.25\nfor = 2h\n"
                        "[checkpoint]\ninterval_ms = 250\n"
                        "[metrics]\nwindows = 1h\n");
    int map[CONFIG_MAX_TIERS];
    size_t n;
    cr_assert(config_live_apply(run, next, map, &n));
    cr_assert_float_eq(run->decay_ratio, 0.25, 1e-12);
    cr_assert_eq(run->decay_for_ms, 2 * 3600 * 1000);
    cr_assert_eq(run->checkpoint_interval_ms, 250);
    /* Restart only: kept. */
    cr_assert_str_eq(run->bootstrap_servers, "a:9092");
    cr_assert_eq(run->nwindows, 2);
    /* The same default tiers, in the same order. */
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(map[i], (int)i);
    config_free(next);
    config_free(run);
}

Test(config_live, the_alertmanager_ca_file_waits_for_a_restart)
{
    config *run = load("[alertmanager]\nca_file = /a.pem\n");
    config *next = load("[alertmanager]\nca_file = /b.pem\n");
    int map[CONFIG_MAX_TIERS];
    size_t n;
    cr_assert(config_live_apply(run, next, map, &n));
    cr_assert_str_eq(run->am_ca_file, "/a.pem");
    config_free(next);
    config_free(run);
}

Test(config_live, tiers_moved_are_mapped_by_name)
{
    config *run = load("[tiers]\nsmall = 0\nbig = 1000\n");
    config *next = load("[tiers]\nsmall = 0\nbig = 5000\n");
    int map[CONFIG_MAX_TIERS];
    size_t n;
    cr_assert(config_live_apply(run, next, map, &n));
    cr_assert_eq(n, 2);
    int big = config_tier_index(run, "big");
    cr_assert_geq(big, 0);
    cr_assert_eq(run->tiers[big].min_followers, 5000);
    cr_assert_eq(map[config_tier_index(next, "big")], big);
    config_free(next);
    config_free(run);
}

Test(config_live, a_new_set_of_tier_names_keeps_the_running_tiers)
{
    config *run = load("[tiers]\nsmall = 0\nbig = 1000\n");
    config *next = load("[tiers]\nsmall = 0\nhuge = 1000\n");
    int map[CONFIG_MAX_TIERS];
    size_t n;
    cr_assert_not(config_live_apply(run, next, map, &n));
    cr_assert_geq(config_tier_index(run, "big"), 0);
    cr_assert_lt(config_tier_index(run, "huge"), 0);
    config_free(next);
    config_free(run);
}

Test(config_live, the_catalogues_move_and_the_old_ones_go_with_next)
{
    config *run = load("[conflict]\nbrand.pepsi = beverages\n");
    config *next = load("[conflict]\nbrand.nike = sportswear\nbrand.adidas = sportswear\n");
    int map[CONFIG_MAX_TIERS];
    size_t n;
    config_live_apply(run, next, map, &n);
    cr_assert_eq(run->nbrands, 2);
    cr_assert_eq(next->nbrands, 1);
    config_free(next);
    config_free(run);
}

Test(config_live, campaigns_switch_off_live_and_a_bad_switch_is_refused)
{
    config *run = load("[log]\nlevel = info\n");
    cr_assert(run->campaigns_enabled, "on by default");
    config *next = load("[campaigns]\nenabled = off\nretention = 0\n");
    cr_assert_not(next->campaigns_enabled);
    int map[CONFIG_MAX_TIERS];
    size_t n;
    config_live_apply(run, next, map, &n);
    cr_assert_not(run->campaigns_enabled);
    cr_assert_eq(run->campaign_retention_ms, 0);
    config_free(next);
    config_free(run);

    char path[] = "/tmp/engaged-test-live-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "[campaigns]\nenabled = maybe\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char err[512] = "";
    cr_assert_null(config_load(path, err, sizeof err));
    char want[600];
    snprintf(want, sizeof want,
             "%s:2: enabled must be true or false, got \"maybe\"\n", path);
    cr_assert_str_eq(err, want);
    unlink(path);
}

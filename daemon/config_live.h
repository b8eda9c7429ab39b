/*
 * config_live: what a reload (SIGHUP) may change while engaged runs, in one
 * place.  The loop loads and checks the file into a new config (config.h,
 * kafkaconf_check), then hands both here; a file that does not load
 * changes nothing.
 *
 * Live: tier minimums and order (same names), hysteresis, the tiers decay
 * watches, every [decay] threshold but its windows, the conflict windows
 * and the brand and sector catalogues, the alert stream's length,
 * max_future, checkpoint pacing and sizes, max_creators, [campaigns] and
 * the log level.
 * Everything else (Kafka, Redis, windows, late_grace, decay's windows, the
 * HTTP listener, the set of tier names) needs a restart: its change is
 * logged as a warning and the running value kept.
 *
 * Main thread.
 */
#ifndef ENGAGED_CONFIG_LIVE_H
#define ENGAGED_CONFIG_LIVE_H

#include <stdbool.h>

#include "config.h"

/*
 * Takes into `running` what may change live from `next`, and logs one
 * warning per key that changed but needs a restart.  The catalogues move:
 * `next` gets the old ones, freed with it (config_free(next) afterwards).
 * When the tier names are the same (in any order), tier_map[i] is the new
 * index of the tier that had index i in `running`, for the
 * `old_ntiers` (filled) tiers, and it returns true: the state must remap
 * its creators' tiers (state_remap_tiers).  When the set of names changed,
 * the running tiers are kept and it returns false.
 */
bool config_live_apply(config *running, config *next,
                       int tier_map[CONFIG_MAX_TIERS], size_t *old_ntiers);

#endif

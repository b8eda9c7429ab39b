#include "config_live.h"

#include <string.h>

#include "log.h"

static bool str_differs(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") != 0;
}

/* Logs, for each key that cannot change while running, that it did. */
static void restart_only(const config *old, const config *n)
{
    struct {
        const char *key;
        bool differs;
    } keys[] = {
        {"[kafka] bootstrap.servers", str_differs(old->bootstrap_servers, n->bootstrap_servers)},
        {"[kafka] group.id", str_differs(old->group_id, n->group_id)},
        {"[kafka] topic", old->ntopics != n->ntopics},
        {"[kafka] alerts.topic", str_differs(old->alerts_topic, n->alerts_topic)},
        {"[kafka] dlq.topic", str_differs(old->dlq_topic, n->dlq_topic)},
        {"[kafka] max_event_bytes", old->max_event_bytes != n->max_event_bytes},
        {"[kafka] embedded.partitions", old->embedded_partitions != n->embedded_partitions},
        {"[kafka] librdkafka properties", old->nkafka_props != n->nkafka_props},
        {"[redis] host", str_differs(old->redis_host, n->redis_host)},
        {"[redis] port", old->redis_port != n->redis_port},
        {"[redis] socket", str_differs(old->redis_socket, n->redis_socket)},
        {"[redis] db", old->redis_db != n->redis_db},
        {"[redis] user", str_differs(old->redis_user, n->redis_user)},
        {"[redis] password_file", str_differs(old->redis_password_file, n->redis_password_file)},
        {"[redis] prefix", str_differs(old->redis_prefix, n->redis_prefix)},
        {"[redis] timeout_ms", old->redis_timeout_ms != n->redis_timeout_ms},
        {"[metrics] windows", old->nwindows != n->nwindows ||
             memcmp(old->windows_ms, n->windows_ms, n->nwindows * sizeof n->windows_ms[0]) != 0},
        {"[metrics] late_grace", old->late_grace_ms != n->late_grace_ms},
        {"[decay] current", old->decay_current_ms != n->decay_current_ms},
        {"[decay] baseline", old->decay_baseline_ms != n->decay_baseline_ms},
        {"[spike] window", old->spike_window_ms != n->spike_window_ms},
        {"[spike] baseline", old->spike_baseline_ms != n->spike_baseline_ms},
        {"[follower_jump] window", old->jump_window_ms != n->jump_window_ms},
        {"[saturation] window", old->saturation_window_ms != n->saturation_window_ms},
        {"[alertmanager] url", str_differs(old->am_url, n->am_url)},
        {"[alertmanager] resend_interval", old->am_resend_interval_ms != n->am_resend_interval_ms},
        {"[alertmanager] timeout", old->am_timeout_ms != n->am_timeout_ms},
        {"[alertmanager] queue_max", old->am_queue_max != n->am_queue_max},
        {"[alertmanager] credentials",
             str_differs(old->am_bearer_token_file, n->am_bearer_token_file) ||
             str_differs(old->am_basic_auth_user, n->am_basic_auth_user) ||
             str_differs(old->am_basic_auth_password_file, n->am_basic_auth_password_file)},
        {"[alertmanager] generator_url", str_differs(old->am_generator_url, n->am_generator_url)},
        {"[alertmanager] ca_file", str_differs(old->am_ca_file, n->am_ca_file)},
        {"[http] listen", str_differs(old->http_listen, n->http_listen)},
        {"[http] token_file", str_differs(old->http_token_file, n->http_token_file)},
    };
    for (size_t i = 0; i < old->ntopics && i < n->ntopics; i++)
        keys[2].differs |= str_differs(old->topics[i], n->topics[i]);
    for (size_t i = 0; i < old->nkafka_props && i < n->nkafka_props; i++)
        keys[7].differs |= str_differs(old->kafka_props[i].key, n->kafka_props[i].key) ||
                           str_differs(old->kafka_props[i].value, n->kafka_props[i].value);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].differs)
            log_warning("reload: %s changed; it takes effect only after a "
                        "restart, the running value is kept", keys[i].key);
}

/* Whether both configs name the same tiers (in any order). */
static bool same_tier_names(const config *a, const config *b)
{
    if (a->ntiers != b->ntiers)
        return false;
    for (size_t i = 0; i < a->ntiers; i++)
        if (config_tier_index(b, a->tiers[i].name) < 0)
            return false;
    return true;
}

bool config_live_apply(config *c, config *n, int tier_map[CONFIG_MAX_TIERS],
                       size_t *old_ntiers)
{
    bool remap = false;
    *old_ntiers = c->ntiers;
    restart_only(c, n);
    if (same_tier_names(c, n)) {
        remap = true;
        for (size_t i = 0; i < c->ntiers; i++)
            tier_map[i] = config_tier_index(n, c->tiers[i].name);
        memcpy(c->tiers, n->tiers, sizeof c->tiers);
        c->hysteresis = n->hysteresis;
        memcpy(c->decay_tiers, n->decay_tiers, sizeof c->decay_tiers);
        c->ndecay_tiers = n->ndecay_tiers;
        c->decay_tier_mask = n->decay_tier_mask;
        memcpy(c->saturation_limits, n->saturation_limits,
               sizeof c->saturation_limits);
        c->nsaturation_limits = n->nsaturation_limits;
        c->saturation_limit = n->saturation_limit;
        memcpy(c->saturation_limit_of, n->saturation_limit_of,
               sizeof c->saturation_limit_of);
    } else {
        log_warning("reload: the set of tier names changed; renaming, adding "
                    "or removing tiers takes effect only after a restart, the "
                    "running tiers are kept");
    }
    c->decay_ratio = n->decay_ratio;
    c->decay_resolve_ratio = n->decay_resolve_ratio;
    c->decay_critical_ratio = n->decay_critical_ratio;
    c->decay_for_ms = n->decay_for_ms;
    c->decay_min_baseline = n->decay_min_baseline;
    c->conflict_window_ms = n->conflict_window_ms;
    c->conflict_max_window_ms = n->conflict_max_window_ms;
    /* Swap the catalogues: n frees the old ones. */
    config_sector *sectors = c->sectors;
    size_t nsectors = c->nsectors;
    config_brand *brands = c->brands;
    size_t nbrands = c->nbrands;
    c->sectors = n->sectors;
    c->nsectors = n->nsectors;
    c->brands = n->brands;
    c->nbrands = n->nbrands;
    n->sectors = sectors;
    n->nsectors = nsectors;
    n->brands = brands;
    n->nbrands = nbrands;
    c->alerts_stream_maxlen = n->alerts_stream_maxlen;
    c->max_future_ms = n->max_future_ms;
    c->checkpoint_interval_ms = n->checkpoint_interval_ms;
    c->checkpoint_max_events = n->checkpoint_max_events;
    c->checkpoint_max_creators = n->checkpoint_max_creators;
    c->max_creators = n->max_creators;
    c->campaigns_enabled = n->campaigns_enabled;
    c->campaign_post_memory_ms = n->campaign_post_memory_ms;
    c->campaign_max_posts = n->campaign_max_posts;
    c->campaign_retention_ms = n->campaign_retention_ms;
    c->spike_enabled = n->spike_enabled;
    c->spike_ratio = n->spike_ratio;
    c->spike_critical_ratio = n->spike_critical_ratio;
    c->spike_resolve_ratio = n->spike_resolve_ratio;
    c->spike_min_engagements = n->spike_min_engagements;
    c->spike_min_baseline = n->spike_min_baseline;
    c->spike_min_share = n->spike_min_share;
    c->jump_enabled = n->jump_enabled;
    c->jump_min_increase = n->jump_min_increase;
    c->jump_min_followers = n->jump_min_followers;
    c->saturation_enabled = n->saturation_enabled;
    c->saturation_min_posts = n->saturation_min_posts;
    c->saturation_for_ms = n->saturation_for_ms;
    c->saturation_resolve_margin = n->saturation_resolve_margin;
    c->log_level = n->log_level;
    return remap;
}

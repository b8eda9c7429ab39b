/*
 * config: engaged's configuration file (INI, parsed with libinih).
 *
 * Defaults are one const struct copied first; the file is applied over it;
 * a separate validation pass checks the whole (statsite's config.c).  Every
 * error names the file and line: "engaged.conf:12: unknown key \"foo\" in
 * [redis]".  config/engaged.conf documents every key with its default.
 *
 * A config is immutable once loaded: reload builds a new one and swaps the
 * pointer (main thread only).  Loading may be done from any thread; the
 * value may be read from any thread while the owner keeps it alive.
 */
#ifndef ENGAGED_CONFIG_H
#define ENGAGED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_TIERS   16
#define CONFIG_MAX_WINDOWS 8
#define CONFIG_MAX_TOPICS  16
#define CONFIG_TIER_NAME_MAX 32

typedef struct config_tier {
    char name[CONFIG_TIER_NAME_MAX + 1];
    int64_t min_followers;
} config_tier;

/* [saturation] limit.<tier>: the built-in ones (line 0), then the file's. */
typedef struct config_sat_limit {
    char tier[CONFIG_TIER_NAME_MAX + 1];
    double limit;
    int line;                       /* 0: a default */
} config_sat_limit;

/*
 * A [kafka] key engaged does not own, handed to librdkafka verbatim.  In the
 * order of first appearance; a repeated key keeps its place and takes the
 * later value and line.
 */
typedef struct config_kafka_prop {
    char *key;
    char *value;
    int line;           /* where it was set, for librdkafka's refusal */
} config_kafka_prop;

/* [conflict] sector.<name> = window.  Names are normalised (trimmed, ASCII
 * lower case: config_name_normalize()). */
typedef struct config_sector {
    char *name;
    int64_t window_ms;  /* 0: no conflict check in this sector */
    int line;           /* where it was set; 0 for none */
} config_sector;

/* [conflict] brand.<name> = sector: the catalogue.  Both normalised. */
typedef struct config_brand {
    char *name;
    char *sector;
    int line;
} config_brand;

typedef struct config {
    char *path;                     /* the file it was read from; NULL
                                       for config_default(NULL) */

    /* [kafka] */
    char *bootstrap_servers;        /* "embedded" starts the mock cluster */
    char *group_id;
    char *topics[CONFIG_MAX_TOPICS];
    size_t ntopics;
    char *alerts_topic;
    char *dlq_topic;
    size_t max_event_bytes;
    int embedded_partitions;
    char *embedded_bootstrap_file;  /* "" when unset */
    config_kafka_prop *kafka_props;
    size_t nkafka_props;
    char *kafka_sasl_password_file; /* sasl.password_file; "" when unset */

    /* [redis] */
    char *redis_host;
    int redis_port;
    char *redis_socket;             /* "" when unset */
    int redis_db;
    char *redis_user;               /* "" when unset */
    char *redis_password_file;      /* "" when unset */
    char *redis_prefix;
    int redis_timeout_ms;

    /* [tiers]: sorted by min_followers ascending; the first has min 0. */
    double hysteresis;
    config_tier tiers[CONFIG_MAX_TIERS];
    size_t ntiers;

    /* [metrics]: windows sorted ascending, each a whole number of minutes. */
    int64_t windows_ms[CONFIG_MAX_WINDOWS];
    size_t nwindows;
    int64_t late_grace_ms;
    int64_t max_future_ms;

    /* [decay] engagement decay (issue 3).  current and baseline are whole
     * minutes (60 buckets each), baseline > current; critical_ratio <=
     * ratio <= resolve_ratio, all in [0, 1]. */
    char decay_tiers[CONFIG_MAX_TIERS][CONFIG_TIER_NAME_MAX + 1];
    size_t ndecay_tiers;            /* the watched tiers' names, each one of
                                       tiers[]; 0: decay off */
    uint32_t decay_tier_mask;       /* bit i: tiers[i] is watched */
    int64_t decay_current_ms;
    int64_t decay_baseline_ms;
    double decay_ratio;
    double decay_resolve_ratio;
    double decay_critical_ratio;
    int64_t decay_for_ms;
    int64_t decay_min_baseline;

    /* [conflict] brand conflicts.  sectors and brands sorted by name, no
     * two with one name. */
    int64_t conflict_window_ms;     /* sectors without their own; 0: none */
    config_sector *sectors;
    size_t nsectors;
    config_brand *brands;
    size_t nbrands;
    int64_t conflict_max_window_ms; /* the largest of window and sectors' */

    /* [alerts] */
    int64_t alerts_stream_maxlen;   /* XADD MAXLEN ~ of <prefix>alerts */

    /* [alertmanager] the Alertmanager sink (issue 18, alertmanager.h).
     * am_url: one or more base URLs (http:// or https://) separated by
     * spaces or commas, as written; "" turns the sink off.  Credentials
     * are read from their files when the sink starts (secret.h), and so is
     * am_ca_file (the CAs that verify https URLs, instead of the system's);
     * am_basic_auth_password_file is set exactly when am_basic_auth_user
     * is, and not with am_bearer_token_file. */
    char *am_url;
    int64_t am_resend_interval_ms;  /* > 0 */
    int64_t am_timeout_ms;          /* one POST, > 0 */
    int64_t am_queue_max;           /* alerts waiting, >= 1 */
    char *am_bearer_token_file;     /* "" when unset */
    char *am_basic_auth_user;       /* "" when unset */
    char *am_basic_auth_password_file; /* "" when unset */
    char *am_generator_url;         /* "" : http://<[http] listen>/ */
    char *am_ca_file;               /* PEM CAs for https; "": system store */

    /* [http] Prometheus endpoint: disabled exactly when http_listen is
     * "".  http_host and http_port are its parts, for callers that want
     * them: host an IPv4 address, an IPv6 address without its brackets,
     * a host name, or "" (every IPv4 address; also when disabled); port
     * 0-65535, 0 meaning a free port the server picks (tests). */
    char *http_listen;              /* as written, for http_start() */
    char *http_host;
    int http_port;
    /* The read API's bearer token: this file, else the credential
     * http-token (secret.h); none: no token asked. */
    char *http_token_file;          /* "" when unset */

    /* [checkpoint] */
    int64_t checkpoint_interval_ms;
    int64_t checkpoint_max_events;
    int64_t checkpoint_max_creators;  /* changed creators one checkpoint
                                         writes, about; past twice as many,
                                         reading waits for the one in flight */

    /* [state] creators held in memory at most; 0: no cap */
    int64_t max_creators;

    /* [campaigns] (issue 16): how long after its ts, and how many of them,
     * a creator remembers its campaign posts for the engagement that
     * names only their post_id; how long campaign and brand-history keys
     * live after their last write (0: for ever). */
    bool campaigns_enabled;         /* false: no campaign or brand history */
    int64_t campaign_post_memory_ms;
    int64_t campaign_max_posts;
    int64_t campaign_retention_ms;

    /* [spike] engagement_spike (issue 18).  window and baseline whole
     * minutes, baseline > window; resolve_ratio <= ratio <=
     * critical_ratio, all > 0. */
    bool spike_enabled;
    int64_t spike_window_ms;
    int64_t spike_baseline_ms;
    double spike_ratio;
    double spike_critical_ratio;
    double spike_resolve_ratio;
    int64_t spike_min_engagements;  /* in the window */
    int64_t spike_min_baseline;     /* in the baseline, outside the window */
    double spike_min_share;         /* current >= this x followers, [0, 1] */

    /* [follower_jump] follower_jump (issue 18).  window whole minutes,
     * shorter than [spike] baseline (whose prediction the details use). */
    bool jump_enabled;
    int64_t jump_window_ms;
    double jump_min_increase;       /* > 0: 0.2 is +20% */
    int64_t jump_min_followers;     /* the smallest increase, >= 1 */

    /* [saturation] sponsored_saturation (issue 18).  window whole minutes;
     * limits and resolve_margin in [0, 1]. */
    bool saturation_enabled;
    int64_t saturation_window_ms;
    int64_t saturation_min_posts;   /* >= 1 */
    int64_t saturation_for_ms;
    double saturation_resolve_margin;
    double saturation_limit;        /* tiers without a limit.<tier> */
    config_sat_limit saturation_limits[CONFIG_MAX_TIERS + 4];
    size_t nsaturation_limits;
    double saturation_limit_of[CONFIG_MAX_TIERS];   /* derived, by tier */

    /* [log] */
    int log_level;                  /* LOG_LEVEL_* */
} config;

/*
 * Reads and validates `path`.
 * On success returns a new config owned by the caller (config_free()).
 * On failure returns NULL and writes into errstr one line per error, each
 * "FILE:LINE: message\n" (line 0 errors, such as an unreadable file or a
 * missing required tier, use "FILE: message\n").  errstr is always
 * NUL-terminated; errors past its size are dropped.
 * All errors of the file are reported, sorted by line (line 0 first).  FILE
 * is `path` as given.  Lines inih cannot parse read "FILE:LINE: syntax
 * error".  A line may hold at most 198 characters once its comment and
 * surrounding spaces are removed (inih's INI_MAX_LINE); indentation never
 * makes a continuation line.  errstr may be NULL when errstr_size is 0.
 * Any thread (no global state).
 */
config *config_load(const char *path, char *errstr, size_t errstr_size);

/*
 * The defaults alone, as if from an empty file named `path` (may be NULL:
 * cfg->path is then NULL).  Returns NULL only when out of memory.  Owned by
 * the caller.  Any thread.
 */
config *config_default(const char *path);

/* Frees a config from config_load()/config_default(); NULL is fine. */
void config_free(config *cfg);

/*
 * Returns the index of the tier called `name`, or -1.  Pure.
 */
int config_tier_index(const config *cfg, const char *name);

/*
 * Whether [decay] watches tier index `tier` (false for TIER_UNKNOWN and
 * out-of-range indexes).  Pure.
 */
bool config_decay_watches(const config *cfg, int tier);

/*
 * The longest window the state keeps for a creator: the [metrics] windows,
 * [decay] baseline, [spike] baseline and [saturation] window.  An event
 * older than W - late_grace - this can count nowhere (too late).
 */
int64_t config_longest_window(const config *cfg);

/*
 * The exclusivity window of `sector` (normalised): its sector.<name> when
 * set, else [conflict] window.  0 means no conflict check.  Pure.
 */
int64_t config_sector_window(const config *cfg, const char *sector);

/*
 * The sector of `brand` (normalised) in the catalogue, or NULL.  The string
 * belongs to cfg.  Pure.
 */
const char *config_brand_sector(const config *cfg, const char *brand);

/*
 * Normalises a sector or brand name for comparison: leading and trailing
 * white space removed, ASCII letters lower-cased (other bytes, UTF-8
 * included, are kept as they are).  Writes at most size bytes, NUL
 * included, into dst (truncating); returns the length of the normalised
 * name, as snprintf would.  dst may be src.  Pure.
 */
size_t config_name_normalize(const char *src, char *dst, size_t size);

#endif

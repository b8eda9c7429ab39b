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

    /* [checkpoint] */
    int64_t checkpoint_interval_ms;
    int64_t checkpoint_max_events;

    /* [log] */
    int log_level;                  /* LOG_LEVEL_* */
} config;

/*
 * Reads and validates `path`.
 * On success returns a new config owned by the caller (config_free()).
 * On failure returns NULL and writes into errbuf one line per error, each
 * "FILE:LINE: message\n" (line 0 errors, such as an unreadable file or a
 * missing required tier, use "FILE: message\n").  errbuf is always
 * NUL-terminated; errors past its size are dropped.
 * All errors of the file are reported, sorted by line (line 0 first).  FILE
 * is `path` as given.  Lines inih cannot parse read "FILE:LINE: syntax
 * error".  A line may hold at most 198 characters once its comment and
 * surrounding spaces are removed (inih's INI_MAX_LINE); indentation never
 * makes a continuation line.  errbuf may be NULL when errbuf_size is 0.
 * Any thread (no global state).
 */
config *config_load(const char *path, char *errbuf, size_t errbuf_size);

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

#endif

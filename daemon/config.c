/*
 * config: engaged's configuration file.  See config.h for the contract and
 * config/engaged.conf for every key with its default.
 *
 * Three steps, as statsite's config.c does them: the defaults (one const
 * struct) are deep-copied, the file is applied over them key by key, then a
 * validation pass checks what no single key can check alone (sorted and
 * unique windows and tiers, a tier at 0, host or socket).
 *
 * libinih does the key = value splitting, but it reads the file through
 * read_line() below, which hands it one cleaned line per physical line:
 *  - Debian builds inih without INI_HANDLER_LINENO, so the handler has no
 *    line number; read_line() counts lines itself and the handler reads the
 *    count from the shared context (inih calls the handler for a line before
 *    it reads the next one).
 *  - inih returns only the first syntax error; read_line() recognises the
 *    lines inih would refuse, reports each of them, and hands inih a blank
 *    line instead, so that every error in the file is reported at once.
 *  - inih treats an indented line as the continuation of the previous value
 *    (INI_ALLOW_MULTILINE), which would turn "  port = 1" into part of the
 *    previous key's value; read_line() strips leading space, so indentation
 *    is only cosmetic.
 *  - inih's line buffer is INI_MAX_LINE (200) bytes and it silently splits
 *    longer lines; read_line() drops comments first and reports a line that
 *    is still too long instead of letting it be split.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getline(), the GNU strerror_r() */
#endif

#include "config.h"
#include "timefmt.h"

#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Sections and keys
 */

enum section_id {
    SEC_NONE = -2,      /* before the first [section] */
    SEC_UNKNOWN = -1,   /* inside a section engaged does not know */
    SEC_KAFKA = 0,
    SEC_REDIS,
    SEC_TIERS,
    SEC_METRICS,
    SEC_DECAY,
    SEC_CONFLICT,
    SEC_ALERTS,
    SEC_HTTP,
    SEC_CHECKPOINT,
    SEC_STATE,
    SEC_LOG,
    SEC_CAMPAIGNS,
    SEC_SPIKE,
    SEC_JUMP,
    SEC_ALERTMANAGER,
    SEC_SATURATION,
    NSECTIONS
};

static const char *const section_names[NSECTIONS] = {
    "kafka", "redis", "tiers", "metrics", "decay", "conflict", "alerts",
    "http", "checkpoint", "state", "log", "campaigns", "spike",
    "follower_jump", "alertmanager", "saturation",
};

enum key_kind {
    KIND_STRING,    /* char *, copied */
    KIND_INT,       /* int, in [min, max] */
    KIND_SIZE,      /* size_t, in [min, max] */
    KIND_I64,       /* int64_t, in [min, max] */
    KIND_DURATION,  /* int64_t milliseconds */
    KIND_FRACTION,  /* double in [0, 1) */
    KIND_RATIO,     /* double in [0, 1] */
    KIND_WINDOW,    /* int64_t milliseconds, whole minutes, >= 1m */
    KIND_TIER_LIST, /* decay_tiers[] and ndecay_tiers */
    KIND_LISTEN,    /* http_listen, http_host, http_port */
    KIND_TOPICS,    /* topics[] and ntopics */
    KIND_WINDOWS,   /* windows_ms[] and nwindows */
    KIND_LEVEL,     /* log level name */
    KIND_BOOL,      /* bool: true, false, yes, no, on, off, 1, 0 */
    KIND_FACTOR,    /* double > 0, at most 1000000 */
};

#define STR_NONEMPTY 1  /* KIND_STRING: "" is refused */
#define STR_NOSPACE  2  /* KIND_STRING: no white space */

struct key_desc {
    int section;
    const char *name;
    enum key_kind kind;
    size_t off;             /* of the field in struct config */
    int64_t min, max;       /* integer kinds */
    int flags;              /* STR_* */
};

#define MS_MINUTE INT64_C(60000)
#define MS_HOUR   INT64_C(3600000)
#define MS_DAY    INT64_C(86400000)

/*
 * Longest duration (window, late_grace, max_future): ten years.  Far above
 * any sensible value, and low enough that event times (up to EVENT_TS_MAX)
 * plus or minus a few durations never overflow int64.
 */
#define DURATION_MAX_DAYS 3650
#define DURATION_MAX (DURATION_MAX_DAYS * MS_DAY)

#define F(field) offsetof(config, field)

static const struct key_desc keys[] = {
    {SEC_KAFKA, "bootstrap.servers", KIND_STRING, F(bootstrap_servers), 0, 0,
     STR_NONEMPTY},
    {SEC_KAFKA, "group.id", KIND_STRING, F(group_id), 0, 0, STR_NONEMPTY},
    {SEC_KAFKA, "topic", KIND_TOPICS, 0, 0, 0, 0},
    {SEC_KAFKA, "alerts.topic", KIND_STRING, F(alerts_topic), 0, 0,
     STR_NONEMPTY | STR_NOSPACE},
    {SEC_KAFKA, "dlq.topic", KIND_STRING, F(dlq_topic), 0, 0,
     STR_NONEMPTY | STR_NOSPACE},
    {SEC_KAFKA, "max_event_bytes", KIND_SIZE, F(max_event_bytes), 1,
     100000000, 0},
    {SEC_KAFKA, "embedded.partitions", KIND_INT, F(embedded_partitions), 1,
     1024, 0},
    {SEC_KAFKA, "embedded.bootstrap_file", KIND_STRING,
     F(embedded_bootstrap_file), 0, 0, 0},
    /* Read by engaged and handed to librdkafka as sasl.password. */
    {SEC_KAFKA, "sasl.password_file", KIND_STRING,
     F(kafka_sasl_password_file), 0, 0, 0},

    {SEC_REDIS, "host", KIND_STRING, F(redis_host), 0, 0, STR_NOSPACE},
    {SEC_REDIS, "port", KIND_INT, F(redis_port), 1, 65535, 0},
    {SEC_REDIS, "socket", KIND_STRING, F(redis_socket), 0, 0, 0},
    {SEC_REDIS, "db", KIND_INT, F(redis_db), 0, 1000000, 0},
    {SEC_REDIS, "user", KIND_STRING, F(redis_user), 0, 0, 0},
    {SEC_REDIS, "password_file", KIND_STRING, F(redis_password_file), 0, 0,
     0},
    {SEC_REDIS, "prefix", KIND_STRING, F(redis_prefix), 0, 0,
     STR_NONEMPTY | STR_NOSPACE},
    {SEC_REDIS, "timeout_ms", KIND_INT, F(redis_timeout_ms), 1, 3600000, 0},

    {SEC_TIERS, "hysteresis", KIND_FRACTION, F(hysteresis), 0, 0, 0},

    {SEC_METRICS, "windows", KIND_WINDOWS, 0, 0, 0, 0},
    {SEC_METRICS, "late_grace", KIND_DURATION, F(late_grace_ms), 0,
     DURATION_MAX, 0},
    {SEC_METRICS, "max_future", KIND_DURATION, F(max_future_ms), 0,
     DURATION_MAX, 0},

    {SEC_DECAY, "tiers", KIND_TIER_LIST, 0, 0, 0, 0},
    {SEC_DECAY, "current", KIND_WINDOW, F(decay_current_ms), 0, 0, 0},
    {SEC_DECAY, "baseline", KIND_WINDOW, F(decay_baseline_ms), 0, 0, 0},
    {SEC_DECAY, "ratio", KIND_RATIO, F(decay_ratio), 0, 0, 0},
    {SEC_DECAY, "resolve_ratio", KIND_RATIO, F(decay_resolve_ratio), 0, 0,
     0},
    {SEC_DECAY, "critical_ratio", KIND_RATIO, F(decay_critical_ratio), 0, 0,
     0},
    {SEC_DECAY, "for", KIND_DURATION, F(decay_for_ms), 0, DURATION_MAX, 0},
    {SEC_DECAY, "min_baseline", KIND_I64, F(decay_min_baseline), 0,
     INT64_C(1000000000000), 0},

    /* sector.<name> and brand.<name> are handled by on_key(). */
    {SEC_CONFLICT, "window", KIND_DURATION, F(conflict_window_ms), 0,
     DURATION_MAX, 0},

    {SEC_ALERTS, "stream_maxlen", KIND_I64, F(alerts_stream_maxlen), 1,
     1000000000, 0},

    {SEC_HTTP, "listen", KIND_LISTEN, 0, 0, 0, 0},
    {SEC_HTTP, "token_file", KIND_STRING, F(http_token_file), 0, 0, 0},

    {SEC_CHECKPOINT, "interval_ms", KIND_I64, F(checkpoint_interval_ms), 10,
     3600000, 0},
    {SEC_STATE, "max_creators", KIND_I64, F(max_creators), 0, 1000000000, 0},
    {SEC_CHECKPOINT, "max_events", KIND_I64, F(checkpoint_max_events), 1,
     100000000, 0},
    {SEC_CHECKPOINT, "max_creators", KIND_I64, F(checkpoint_max_creators), 1,
     100000000, 0},

    {SEC_LOG, "level", KIND_LEVEL, F(log_level), 0, 0, 0},

    {SEC_CAMPAIGNS, "enabled", KIND_BOOL, F(campaigns_enabled), 0, 0, 0},
    {SEC_CAMPAIGNS, "post_memory", KIND_DURATION, F(campaign_post_memory_ms),
     0, DURATION_MAX, 0},
    {SEC_CAMPAIGNS, "max_posts", KIND_I64, F(campaign_max_posts), 0, 10000,
     0},
    {SEC_CAMPAIGNS, "retention", KIND_DURATION, F(campaign_retention_ms), 0,
     DURATION_MAX, 0},

    {SEC_SPIKE, "enabled", KIND_BOOL, F(spike_enabled), 0, 0, 0},
    {SEC_SPIKE, "window", KIND_WINDOW, F(spike_window_ms), 0, 0, 0},
    {SEC_SPIKE, "baseline", KIND_WINDOW, F(spike_baseline_ms), 0, 0, 0},
    {SEC_SPIKE, "ratio", KIND_FACTOR, F(spike_ratio), 0, 0, 0},
    {SEC_SPIKE, "critical_ratio", KIND_FACTOR, F(spike_critical_ratio), 0, 0,
     0},
    {SEC_SPIKE, "resolve_ratio", KIND_FACTOR, F(spike_resolve_ratio), 0, 0,
     0},
    {SEC_SPIKE, "min_engagements", KIND_I64, F(spike_min_engagements), 1,
     INT64_C(1000000000000), 0},
    {SEC_SPIKE, "min_baseline", KIND_I64, F(spike_min_baseline), 0,
     INT64_C(1000000000000), 0},
    {SEC_SPIKE, "min_share", KIND_RATIO, F(spike_min_share), 0, 0, 0},

    {SEC_JUMP, "enabled", KIND_BOOL, F(jump_enabled), 0, 0, 0},
    {SEC_JUMP, "window", KIND_WINDOW, F(jump_window_ms), 0, 0, 0},
    {SEC_JUMP, "min_increase", KIND_FACTOR, F(jump_min_increase), 0, 0, 0},
    {SEC_JUMP, "min_followers", KIND_I64, F(jump_min_followers), 1,
     INT64_C(1000000000000), 0},

    /* limit.<tier> is handled by on_key(). */
    {SEC_SATURATION, "enabled", KIND_BOOL, F(saturation_enabled), 0, 0, 0},
    {SEC_SATURATION, "window", KIND_WINDOW, F(saturation_window_ms), 0, 0, 0},
    {SEC_SATURATION, "min_posts", KIND_I64, F(saturation_min_posts), 1,
     1000000, 0},
    {SEC_SATURATION, "for", KIND_DURATION, F(saturation_for_ms), 0,
     DURATION_MAX, 0},
    {SEC_SATURATION, "resolve_margin", KIND_RATIO,
     F(saturation_resolve_margin), 0, 0, 0},
    {SEC_SATURATION, "limit", KIND_RATIO, F(saturation_limit), 0, 0, 0},

    /* [alertmanager] (issue 18); validate_alertmanager() checks the whole. */
    {SEC_ALERTMANAGER, "url", KIND_STRING, F(am_url), 0, 0, 0},
    {SEC_ALERTMANAGER, "resend_interval", KIND_DURATION,
     F(am_resend_interval_ms), 1, DURATION_MAX, 0},
    {SEC_ALERTMANAGER, "timeout", KIND_DURATION, F(am_timeout_ms), 1,
     DURATION_MAX, 0},
    {SEC_ALERTMANAGER, "queue_max", KIND_I64, F(am_queue_max), 1, 10000000,
     0},
    {SEC_ALERTMANAGER, "bearer_token_file", KIND_STRING,
     F(am_bearer_token_file), 0, 0, 0},
    {SEC_ALERTMANAGER, "basic_auth_user", KIND_STRING, F(am_basic_auth_user),
     0, 0, 0},
    {SEC_ALERTMANAGER, "basic_auth_password_file", KIND_STRING,
     F(am_basic_auth_password_file), 0, 0, 0},
    {SEC_ALERTMANAGER, "generator_url", KIND_STRING, F(am_generator_url), 0,
     0, STR_NOSPACE},
    {SEC_ALERTMANAGER, "ca_file", KIND_STRING, F(am_ca_file), 0, 0, 0},
};

#undef F

#define NKEYS (sizeof keys / sizeof keys[0])

/*
 * The documented defaults; config/engaged.conf spells out the same values
 * (tests/test_config.c checks that they agree).  String literals here are
 * never written to: config_default() copies every string.
 */
static const config defaults = {
    .bootstrap_servers = "127.0.0.1:9092",
    .group_id = "engaged",
    .topics = {"engagement.events"},
    .ntopics = 1,
    .alerts_topic = "engagement.alerts",
    .dlq_topic = "engagement.dlq",
    .max_event_bytes = 65536,
    .embedded_partitions = 4,
    .embedded_bootstrap_file = "",

    .redis_host = "127.0.0.1",
    .redis_port = 6379,
    .redis_socket = "",
    .redis_db = 0,
    .redis_user = "",
    .redis_password_file = "",
    .kafka_sasl_password_file = "",
    .redis_prefix = "eng:",
    .redis_timeout_ms = 2000,

    .hysteresis = 0.05,
    .tiers = {
        {"nano", 0},
        {"micro", 10000},
        {"mid", 50000},
        {"macro", 500000},
        {"mega", 1000000},
    },
    .ntiers = 5,

    .windows_ms = {MS_HOUR, 24 * MS_HOUR, 7 * MS_DAY},
    .nwindows = 3,
    .late_grace_ms = 5 * MS_MINUTE,
    .max_future_ms = MS_HOUR,

    .decay_tiers = {"mega"},
    .ndecay_tiers = 1,
    .decay_current_ms = 24 * MS_HOUR,
    .decay_baseline_ms = 28 * MS_DAY,
    .decay_ratio = 0.5,
    .decay_resolve_ratio = 0.7,
    .decay_critical_ratio = 0.25,
    .decay_for_ms = 30 * MS_MINUTE,
    .decay_min_baseline = 100,

    .conflict_window_ms = 90 * MS_DAY,
    .conflict_max_window_ms = 90 * MS_DAY,

    .alerts_stream_maxlen = 100000,

    .http_listen = "127.0.0.1:9187",
    .http_token_file = "",
    .http_host = "127.0.0.1",
    .http_port = 9187,

    .checkpoint_interval_ms = 1000,
    .checkpoint_max_events = 100000,
    .checkpoint_max_creators = 20000,
    .max_creators = 1000000,

    .log_level = LOG_LEVEL_INFO,

    .campaigns_enabled = true,
    .campaign_post_memory_ms = 30 * MS_DAY,
    .campaign_max_posts = 32,
    .campaign_retention_ms = 180 * MS_DAY,

    .spike_enabled = true,
    .spike_window_ms = MS_HOUR,
    .spike_baseline_ms = 7 * MS_DAY,
    .spike_ratio = 5.0,
    .spike_critical_ratio = 10.0,
    .spike_resolve_ratio = 2.0,
    .spike_min_engagements = 50,
    .spike_min_baseline = 100,
    .spike_min_share = 0.01,

    .jump_enabled = true,
    .jump_window_ms = 24 * MS_HOUR,
    .jump_min_increase = 0.2,
    .jump_min_followers = 1000,

    /* Lefty's share of sponsored posts over three months, the top of each
     * tier's range: mega 20-35%, macro 15-25%, mid 10-20%, micro 5-15%;
     * nano, unpublished, as micro. */
    .saturation_enabled = true,
    .saturation_window_ms = 30 * MS_DAY,
    .saturation_min_posts = 10,
    .saturation_for_ms = MS_DAY,
    .saturation_resolve_margin = 0.05,
    .saturation_limit = 0.15,
    .saturation_limits = {{"micro", 0.15, 0}, {"mid", 0.20, 0},
                          {"macro", 0.25, 0}, {"mega", 0.35, 0}},
    .nsaturation_limits = 4,

    .am_url = "",
    .am_resend_interval_ms = MS_MINUTE,
    .am_timeout_ms = 5000,
    .am_queue_max = 10000,
    .am_bearer_token_file = "",
    .am_basic_auth_user = "",
    .am_basic_auth_password_file = "",
    .am_generator_url = "",
    .am_ca_file = "",
};

static char **string_field(config *cfg, const struct key_desc *k)
{
    return (char **)(void *)((char *)cfg + k->off);
}

static const char *string_value(const config *cfg, const struct key_desc *k)
{
    return *(char *const *)(const void *)((const char *)cfg + k->off);
}

/* ------------------------------------------------------------------------
 * Loading context: everything one config_load() call needs, so that loads
 * on several threads never share state.
 */

struct load_error {
    int line;           /* 0 for errors about the whole file */
    size_t seq;         /* order of detection, to keep the sort stable */
    char *msg;
};

struct load {
    const char *path;
    config *cfg;

    FILE *file;
    char *buf;          /* getline() buffer */
    size_t bufcap;
    int lineno;         /* physical line last handed to inih */
    int read_errno;     /* set when reading failed */
    int section;        /* enum section_id of the current section */

    int key_line[NKEYS];                /* where each key was last set */
    bool file_tiers;                    /* [tiers] replaced the defaults */
    int tier_line[CONFIG_MAX_TIERS];    /* parallel to cfg->tiers */
    int tier_errors;                    /* tier keys that were refused */

    struct load_error *errs;
    size_t nerrs, caperrs;
    bool oom;
};

static void add_error(struct load *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(struct load *ld, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        ld->oom = true;
        return;
    }
    char *msg = malloc((size_t)n + 1);
    if (!msg) {
        ld->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);

    if (ld->nerrs == ld->caperrs) {
        size_t cap = ld->caperrs ? 2 * ld->caperrs : 8;
        struct load_error *e = realloc(ld->errs, cap * sizeof *e);
        if (!e) {
            free(msg);
            ld->oom = true;
            return;
        }
        ld->errs = e;
        ld->caperrs = cap;
    }
    ld->errs[ld->nerrs] = (struct load_error){line, ld->nerrs, msg};
    ld->nerrs++;
}

static int compare_errors(const void *a, const void *b)
{
    const struct load_error *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Writes the errors, in line order, as whole "FILE:LINE: message\n" lines;
 * the first line that does not fit and all after it are dropped.
 */
static void write_errors(struct load *ld, char *errstr, size_t errstr_size)
{
    if (!errstr || errstr_size == 0)
        return;
    errstr[0] = '\0';
    qsort(ld->errs, ld->nerrs, sizeof ld->errs[0], compare_errors);
    size_t used = 0;
    for (size_t i = 0; i <= ld->nerrs; i++) {
        char head[32] = "";
        const char *msg;
        if (i < ld->nerrs) {
            msg = ld->errs[i].msg;
            if (ld->errs[i].line > 0)
                snprintf(head, sizeof head, ":%d", ld->errs[i].line);
        } else if (ld->oom) {
            msg = "out of memory";
        } else {
            break;
        }
        int n = snprintf(errstr + used, errstr_size - used, "%s%s: %s\n",
                         ld->path, head, msg);
        if (n < 0 || (size_t)n >= errstr_size - used) {
            errstr[used] = '\0';
            return;
        }
        used += (size_t)n;
    }
}

static void free_errors(struct load *ld)
{
    for (size_t i = 0; i < ld->nerrs; i++)
        free(ld->errs[i].msg);
    free(ld->errs);
    ld->errs = NULL;
    ld->nerrs = ld->caperrs = 0;
}

/* ------------------------------------------------------------------------
 * Values
 */

/* Strict base-10 integer: optional '-', digits, nothing else. */
static int parse_int(const char *s, int64_t *out)
{
    const char *p = s[0] == '-' ? s + 1 : s;
    if (!isdigit((unsigned char)*p))
        return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

/*
 * Reads a duration (timefmt_duration's grammar) in the configuration's
 * words.  Returns 0, or -1 with the reason in why.
 */
static int parse_duration(const char *s, int64_t *ms, char *why,
                          size_t why_size)
{
    const char *unit;
    switch (timefmt_duration(s, ms, &unit)) {
    case TIMEFMT_DURATION_OK:
        return 0;
    case TIMEFMT_DURATION_EMPTY:
    case TIMEFMT_DURATION_NOT_A_NUMBER:
        snprintf(why, why_size, "it must start with a whole number");
        break;
    case TIMEFMT_DURATION_NO_UNIT:
        snprintf(why, why_size, "missing unit (use ms, s, m, h or d)");
        break;
    case TIMEFMT_DURATION_TOO_LARGE:
        snprintf(why, why_size, "too large");
        break;
    case TIMEFMT_DURATION_BAD_UNIT:
        snprintf(why, why_size, "unknown unit \"%s\" (use ms, s, m, h or d)",
                 unit);
        break;
    }
    return -1;
}

static bool has_space(const char *s)
{
    for (; *s; s++)
        if (isspace((unsigned char)*s))
            return true;
    return false;
}

static void free_topics(char **topics, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(topics[i]);
}

/* "a, b,c": comma-separated, spaces around names trimmed. */
static int set_topics(struct load *ld, const char *value)
{
    char *topics[CONFIG_MAX_TOPICS];
    size_t n = 0;
    const char *p = value;
    int rc = 0;
    if (value[strspn(value, " \t")] == '\0') {
        add_error(ld, ld->lineno, "topic must name at least one topic");
        return -1;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *b = p, *e = end;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        int len = (int)(e - b);
        if (len == 0) {
            add_error(ld, ld->lineno, "topic has an empty name in \"%s\"",
                      value);
            rc = -1;
            break;
        }
        if (n == CONFIG_MAX_TOPICS) {
            add_error(ld, ld->lineno, "topic lists more than %d topics",
                      CONFIG_MAX_TOPICS);
            rc = -1;
            break;
        }
        char *name = strndup(b, (size_t)len);
        if (!name) {
            ld->oom = true;
            rc = -1;
            break;
        }
        topics[n++] = name;
        if (has_space(name)) {
            add_error(ld, ld->lineno,
                      "topic \"%s\" contains a space: separate topics with "
                      "commas", name);
            rc = -1;
        }
        for (size_t i = 0; i + 1 < n; i++) {
            if (strcmp(topics[i], name) == 0) {
                add_error(ld, ld->lineno, "topic \"%s\" is listed twice",
                          name);
                rc = -1;
                break;
            }
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (rc < 0) {
        free_topics(topics, n);
        return -1;
    }
    config *cfg = ld->cfg;
    free_topics(cfg->topics, cfg->ntopics);
    memcpy(cfg->topics, topics, n * sizeof topics[0]);
    cfg->ntopics = n;
    return 0;
}

/* "1h 24h, 7d": durations separated by spaces and/or commas. */
static int set_windows(struct load *ld, const char *value)
{
    int64_t windows[CONFIG_MAX_WINDOWS];
    size_t n = 0;
    int rc = 0;
    const char *p = value;
    for (;;) {
        p += strspn(p, ", \t");
        if (*p == '\0')
            break;
        size_t len = strcspn(p, ", \t");
        char tok[64];
        if (len >= sizeof tok) {
            add_error(ld, ld->lineno, "window \"%.*s...\" is too long",
                      20, p);
            return -1;
        }
        memcpy(tok, p, len);
        tok[len] = '\0';
        p += len;
        if (n == CONFIG_MAX_WINDOWS) {
            add_error(ld, ld->lineno, "windows lists more than %d durations",
                      CONFIG_MAX_WINDOWS);
            rc = -1;
            break;
        }
        char why[96];
        int64_t ms;
        if (parse_duration(tok, &ms, why, sizeof why) < 0) {
            add_error(ld, ld->lineno,
                      "windows must be durations, got \"%s\": %s", tok, why);
            rc = -1;
        } else if (ms < MS_MINUTE) {
            add_error(ld, ld->lineno, "window \"%s\" is shorter than 1m", tok);
            rc = -1;
        } else if (ms > DURATION_MAX) {
            add_error(ld, ld->lineno, "window \"%s\" is longer than %dd", tok,
                      DURATION_MAX_DAYS);
            rc = -1;
        } else if (ms % MS_MINUTE != 0) {
            /* Each window has 60 buckets, each a whole number of seconds. */
            add_error(ld, ld->lineno,
                      "window \"%s\" is not a whole number of minutes", tok);
            rc = -1;
        } else {
            windows[n++] = ms;
        }
    }
    if (rc < 0)
        return -1;
    if (n == 0) {
        add_error(ld, ld->lineno, "windows must list at least one duration");
        return -1;
    }
    memcpy(ld->cfg->windows_ms, windows, n * sizeof windows[0]);
    ld->cfg->nwindows = n;
    return 0;
}

/* "mega macro" or "mega, macro": tier names; "" watches none. */
static int set_tier_list(struct load *ld, const char *value)
{
    config *cfg = ld->cfg;
    char names[CONFIG_MAX_TIERS][CONFIG_TIER_NAME_MAX + 1];
    size_t n = 0;
    int rc = 0;
    for (const char *p = value;;) {
        p += strspn(p, ", \t");
        if (*p == '\0')
            break;
        size_t len = strcspn(p, ", \t");
        const char *tok = p;
        p += len;
        if (len > CONFIG_TIER_NAME_MAX) {
            add_error(ld, ld->lineno, "tiers names \"%.*s\", which is not "
                      "a tier of [tiers]", (int)len, tok);
            rc = -1;
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup = dup || (strlen(names[i]) == len &&
                          memcmp(names[i], tok, len) == 0);
        if (dup) {
            add_error(ld, ld->lineno, "tiers lists \"%.*s\" twice", (int)len,
                      tok);
            rc = -1;
            continue;
        }
        if (n == CONFIG_MAX_TIERS) {
            add_error(ld, ld->lineno, "tiers lists more than %d tiers",
                      CONFIG_MAX_TIERS);
            return -1;
        }
        memcpy(names[n], tok, len);
        names[n][len] = '\0';
        n++;
    }
    if (rc < 0)
        return -1;
    memcpy(cfg->decay_tiers, names, n * sizeof names[0]);
    cfg->ndecay_tiers = n;
    return 0;
}

/* One window of [decay]: a duration of whole minutes, at least 1m. */
static int set_window(struct load *ld, const struct key_desc *k,
                      const char *value, int64_t *out)
{
    char why[96];
    int64_t ms;
    if (parse_duration(value, &ms, why, sizeof why) < 0) {
        add_error(ld, ld->lineno, "%s must be a duration, got \"%s\": %s",
                  k->name, value, why);
        return -1;
    }
    if (ms < MS_MINUTE) {
        add_error(ld, ld->lineno, "%s \"%s\" is shorter than 1m", k->name,
                  value);
        return -1;
    }
    if (ms > DURATION_MAX) {
        add_error(ld, ld->lineno, "%s must be at most %dd, got \"%s\"",
                  k->name, DURATION_MAX_DAYS, value);
        return -1;
    }
    if (ms % MS_MINUTE != 0) {
        /* 60 buckets of whole seconds, as the [metrics] windows. */
        add_error(ld, ld->lineno, "%s \"%s\" is not a whole number of "
                  "minutes", k->name, value);
        return -1;
    }
    *out = ms;
    return 0;
}

/* Strict port number 0-65535 (0: the server picks a free one). */
static bool parse_port(const char *s, int *port)
{
    int64_t v;
    if (s[0] == '-' || parse_int(s, &v) < 0 || v > 65535)
        return false;
    *port = (int)v;
    return true;
}

/* A host name as getaddrinfo() takes it: letters, digits, '-' and '.'. */
static bool valid_host_name(const char *s)
{
    if (*s == '-' || *s == '.')
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
            return false;
    return true;
}

/*
 * "127.0.0.1:9187", "[::1]:9187", "localhost:9187", ":9187" (every IPv4
 * address), or "" (disabled): what http_start() takes.
 */
static int set_listen(struct load *ld, const char *value)
{
    config *cfg = ld->cfg;
    char host[256];
    int port = 0;
    bool ok = false;
    if (value[0] == '\0') {
        host[0] = '\0';
        ok = true;
    } else if (value[0] == '[') {
        const char *close = strchr(value, ']');
        size_t len = close ? (size_t)(close - value - 1) : 0;
        struct in6_addr a6;
        if (close && close[1] == ':' && len > 0 && len < sizeof host) {
            memcpy(host, value + 1, len);
            host[len] = '\0';
            ok = inet_pton(AF_INET6, host, &a6) == 1 &&
                 parse_port(close + 2, &port);
        }
    } else {
        const char *colon = strrchr(value, ':');
        size_t len = colon ? (size_t)(colon - value) : 0;
        if (colon && len < sizeof host) {
            memcpy(host, value, len);
            host[len] = '\0';
            ok = valid_host_name(host) && parse_port(colon + 1, &port);
        }
    }
    if (!ok) {
        add_error(ld, ld->lineno, "listen must be HOST:PORT or [IPV6]:PORT "
                  "with a port from 0 to 65535, or empty to disable, got "
                  "\"%s\"", value);
        return -1;
    }
    char *l = strdup(value), *h = strdup(host);
    if (!l || !h) {
        free(l);
        free(h);
        ld->oom = true;
        return -1;
    }
    free(cfg->http_listen);
    free(cfg->http_host);
    cfg->http_listen = l;
    cfg->http_host = h;
    cfg->http_port = port;
    return 0;
}

static void int_range_error(struct load *ld, const struct key_desc *k,
                            const char *value)
{
    add_error(ld, ld->lineno, "%s must be an integer from %lld to %lld, "
              "got \"%s\"", k->name, (long long)k->min, (long long)k->max,
              value);
}

/* Applies one of engaged's own keys.  Returns 0, or -1 after add_error(). */
static int set_value(struct load *ld, const struct key_desc *k,
                     const char *value)
{
    config *cfg = ld->cfg;
    char *base = (char *)cfg + k->off;
    int64_t v;
    char why[96];

    switch (k->kind) {
    case KIND_STRING: {
        if ((k->flags & STR_NONEMPTY) && value[0] == '\0') {
            add_error(ld, ld->lineno, "%s must not be empty", k->name);
            return -1;
        }
        if ((k->flags & STR_NOSPACE) && has_space(value)) {
            add_error(ld, ld->lineno, "%s must not contain spaces, got \"%s\"",
                      k->name, value);
            return -1;
        }
        char *copy = strdup(value);
        if (!copy) {
            ld->oom = true;
            return -1;
        }
        char **slot = string_field(cfg, k);
        free(*slot);
        *slot = copy;
        return 0;
    }
    case KIND_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < 4; i++) {
            if (strcmp(value, yes[i]) == 0 || strcmp(value, no[i]) == 0) {
                *(bool *)(void *)base = strcmp(value, yes[i]) == 0;
                return 0;
            }
        }
        add_error(ld, ld->lineno, "%s must be true or false, got \"%s\"",
                  k->name, value);
        return -1;
    }
    case KIND_INT:
    case KIND_SIZE:
    case KIND_I64:
        if (parse_int(value, &v) < 0 || v < k->min || v > k->max) {
            int_range_error(ld, k, value);
            return -1;
        }
        if (k->kind == KIND_INT)
            *(int *)(void *)base = (int)v;
        else if (k->kind == KIND_SIZE)
            *(size_t *)(void *)base = (size_t)v;
        else
            *(int64_t *)(void *)base = v;
        return 0;
    case KIND_DURATION:
        if (parse_duration(value, &v, why, sizeof why) < 0) {
            add_error(ld, ld->lineno, "%s must be a duration, got \"%s\": %s",
                      k->name, value, why);
            return -1;
        }
        if (v > k->max) {
            add_error(ld, ld->lineno, "%s must be at most %dd, got \"%s\"",
                      k->name, DURATION_MAX_DAYS, value);
            return -1;
        }
        *(int64_t *)(void *)base = v;
        return 0;
    case KIND_FRACTION: {
        char *end;
        errno = 0;
        double d = strtod(value, &end);
        /* Written so that NaN fails too. */
        if (!(isdigit((unsigned char)value[0]) || value[0] == '.') ||
            *end != '\0' || errno != 0 || !(d >= 0.0 && d < 1.0)) {
            add_error(ld, ld->lineno, "%s must be a number from 0 up to but "
                      "not including 1, got \"%s\"", k->name, value);
            return -1;
        }
        *(double *)(void *)base = d;
        return 0;
    }
    case KIND_FACTOR: {
        char *end;
        errno = 0;
        double d = strtod(value, &end);
        if (!(isdigit((unsigned char)value[0]) || value[0] == '.') ||
            *end != '\0' || errno != 0 || !(d > 0.0 && d <= 1000000.0)) {
            add_error(ld, ld->lineno, "%s must be a number above 0 and at "
                      "most 1000000, got \"%s\"", k->name, value);
            return -1;
        }
        *(double *)(void *)base = d;
        return 0;
    }
    case KIND_RATIO: {
        char *end;
        errno = 0;
        double d = strtod(value, &end);
        if (!(isdigit((unsigned char)value[0]) || value[0] == '.') ||
            *end != '\0' || errno != 0 || !(d >= 0.0 && d <= 1.0)) {
            add_error(ld, ld->lineno, "%s must be a number from 0 to 1, got "
                      "\"%s\"", k->name, value);
            return -1;
        }
        *(double *)(void *)base = d;
        return 0;
    }
    case KIND_WINDOW:
        return set_window(ld, k, value, (int64_t *)(void *)base);
    case KIND_TIER_LIST:
        return set_tier_list(ld, value);
    case KIND_LISTEN:
        return set_listen(ld, value);
    case KIND_TOPICS:
        return set_topics(ld, value);
    case KIND_WINDOWS:
        return set_windows(ld, value);
    case KIND_LEVEL: {
        int level = log_level_parse(value);
        if (level < 0) {
            add_error(ld, ld->lineno, "%s must be one of error, warning, "
                      "notice, info, debug, got \"%s\"", k->name, value);
            return -1;
        }
        *(int *)(void *)base = level;
        return 0;
    }
    }
    return -1;
}

static bool valid_tier_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > CONFIG_TIER_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return false;
    return true;
}

/* A [tiers] key other than hysteresis: "name = minimum followers". */
static void set_tier(struct load *ld, const char *name, const char *value)
{
    config *cfg = ld->cfg;
    /* The file's tiers replace the defaults: otherwise "mega" could never
     * be removed. */
    if (!ld->file_tiers) {
        ld->file_tiers = true;
        cfg->ntiers = 0;
    }
    int64_t min;
    if (!valid_tier_name(name)) {
        add_error(ld, ld->lineno, "tier name \"%s\" must be 1 to %d "
                  "characters of a-z, 0-9, '_' and '-'", name,
                  CONFIG_TIER_NAME_MAX);
    } else if (strcmp(name, "unknown") == 0) {
        add_error(ld, ld->lineno, "tier name \"unknown\" is reserved for "
                  "creators whose follower count is not known");
    } else if (config_tier_index(cfg, name) >= 0) {
        add_error(ld, ld->lineno, "tier \"%s\" is defined twice (first at "
                  "line %d)", name,
                  ld->tier_line[config_tier_index(cfg, name)]);
    } else if (parse_int(value, &min) < 0 || min < 0) {
        add_error(ld, ld->lineno, "tier \"%s\" must be a follower count of 0 "
                  "or more, got \"%s\"", name, value);
    } else if (cfg->ntiers == CONFIG_MAX_TIERS) {
        add_error(ld, ld->lineno, "more than %d tiers", CONFIG_MAX_TIERS);
    } else {
        config_tier *t = &cfg->tiers[cfg->ntiers];
        memset(t, 0, sizeof *t);
        memcpy(t->name, name, strlen(name) + 1);
        t->min_followers = min;
        ld->tier_line[cfg->ntiers] = ld->lineno;
        cfg->ntiers++;
        return;
    }
    ld->tier_errors++;
}

static bool valid_kafka_property(const char *name)
{
    if (!*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

/* A [kafka] key engaged does not own, for librdkafka; the last one wins. */
static void set_kafka_prop(struct load *ld, const char *name,
                           const char *value)
{
    config *cfg = ld->cfg;
    if (!valid_kafka_property(name)) {
        add_error(ld, ld->lineno, "kafka property name \"%s\" may contain "
                  "only letters, digits, '.', '_' and '-'", name);
        return;
    }
    char *v = strdup(value);
    if (!v) {
        ld->oom = true;
        return;
    }
    for (size_t i = 0; i < cfg->nkafka_props; i++) {
        config_kafka_prop *p = &cfg->kafka_props[i];
        if (strcmp(p->key, name) == 0) {
            free(p->value);
            p->value = v;
            p->line = ld->lineno;
            return;
        }
    }
    char *k = strdup(name);
    size_t size = (cfg->nkafka_props + 1) * sizeof(config_kafka_prop);
    config_kafka_prop *props = realloc(cfg->kafka_props, size);
    if (!k || !props) {
        free(k);
        free(v);
        if (props)
            cfg->kafka_props = props;
        ld->oom = true;
        return;
    }
    cfg->kafka_props = props;
    props[cfg->nkafka_props++] = (config_kafka_prop){k, v, ld->lineno};
}

/* A normalised copy of a sector or brand name, or NULL (ld->oom). */
static char *normalized_copy(struct load *ld, const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        ld->oom = true;
    else
        config_name_normalize(copy, copy, strlen(copy) + 1);
    return copy;
}

/* [conflict] "sector.<name> = window": appended; duplicates are resolved
 * (the later wins) by validate_conflict(). */
static void set_sector(struct load *ld, const char *key, const char *value)
{
    config *cfg = ld->cfg;
    char why[96];
    int64_t ms;
    char *name = normalized_copy(ld, key + strlen("sector."));
    if (!name)
        return;
    if (name[0] == '\0') {
        add_error(ld, ld->lineno, "\"%s\" names no sector: write "
                  "sector.NAME = window", key);
    } else if (parse_duration(value, &ms, why, sizeof why) < 0) {
        add_error(ld, ld->lineno, "%s must be a duration, got \"%s\": %s",
                  key, value, why);
    } else if (ms > DURATION_MAX) {
        add_error(ld, ld->lineno, "%s must be at most %dd, got \"%s\"", key,
                  DURATION_MAX_DAYS, value);
    } else {
        config_sector *v = realloc(cfg->sectors,
                                   (cfg->nsectors + 1) * sizeof *v);
        if (!v) {
            ld->oom = true;
        } else {
            cfg->sectors = v;
            v[cfg->nsectors++] = (config_sector){name, ms, ld->lineno};
            return;
        }
    }
    free(name);
}

/* [saturation] "limit.<tier> = share": a later line for a tier wins. */
static void set_sat_limit(struct load *ld, const char *key, const char *value)
{
    config *cfg = ld->cfg;
    const char *tier = key + strlen("limit.");
    char *end;
    errno = 0;
    double d = strtod(value, &end);
    if (tier[0] == '\0' || strlen(tier) > CONFIG_TIER_NAME_MAX) {
        add_error(ld, ld->lineno, "\"%s\" names no tier: write "
                  "limit.TIER = share", key);
        return;
    }
    if (!(isdigit((unsigned char)value[0]) || value[0] == '.') ||
        *end != '\0' || errno != 0 || !(d >= 0.0 && d <= 1.0)) {
        add_error(ld, ld->lineno, "%s must be a number from 0 to 1, got "
                  "\"%s\"", key, value);
        return;
    }
    size_t i = 0;
    while (i < cfg->nsaturation_limits &&
           strcmp(cfg->saturation_limits[i].tier, tier) != 0)
        i++;
    if (i == sizeof cfg->saturation_limits / sizeof cfg->saturation_limits[0]) {
        add_error(ld, ld->lineno, "too many limit.<tier> keys (at most %d "
                  "tiers)", CONFIG_MAX_TIERS);
        return;
    }
    config_sat_limit *l = &cfg->saturation_limits[i];
    snprintf(l->tier, sizeof l->tier, "%s", tier);
    l->limit = d;
    l->line = ld->lineno;
    if (i == cfg->nsaturation_limits)
        cfg->nsaturation_limits++;
}

/* [conflict] "brand.<name> = sector": the catalogue, as set_sector(). */
static void set_brand(struct load *ld, const char *key, const char *value)
{
    config *cfg = ld->cfg;
    char *name = normalized_copy(ld, key + strlen("brand."));
    char *sector = normalized_copy(ld, value);
    if (!name || !sector) {
        /* oom reported */
    } else if (name[0] == '\0') {
        add_error(ld, ld->lineno, "\"%s\" names no brand: write "
                  "brand.NAME = sector", key);
    } else if (sector[0] == '\0') {
        add_error(ld, ld->lineno, "%s must name a sector", key);
    } else {
        config_brand *v = realloc(cfg->brands, (cfg->nbrands + 1) * sizeof *v);
        if (!v) {
            ld->oom = true;
        } else {
            cfg->brands = v;
            v[cfg->nbrands++] = (config_brand){name, sector, ld->lineno};
            return;
        }
    }
    free(name);
    free(sector);
}

/* The inih handler.  Always returns 1: errors are collected in ld. */
static int on_key(void *user, const char *section, const char *name,
                  const char *value)
{
    struct load *ld = user;
    (void)section;  /* ld->section, set by read_line(), is not truncated */

    if (ld->section == SEC_NONE) {
        add_error(ld, ld->lineno, "key \"%s\" is outside any section", name);
        return 1;
    }
    if (ld->section == SEC_UNKNOWN)
        return 1;   /* the section header was reported */
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].section == ld->section &&
            strcmp(keys[i].name, name) == 0) {
            if (set_value(ld, &keys[i], value) == 0)
                ld->key_line[i] = ld->lineno;
            return 1;
        }
    }
    if (ld->section == SEC_KAFKA)
        set_kafka_prop(ld, name, value);
    else if (ld->section == SEC_CONFLICT && strncmp(name, "sector.", 7) == 0)
        set_sector(ld, name, value);
    else if (ld->section == SEC_CONFLICT && strncmp(name, "brand.", 6) == 0)
        set_brand(ld, name, value);
    else if (ld->section == SEC_TIERS)
        set_tier(ld, name, value);
    else if (ld->section == SEC_SATURATION && strncmp(name, "limit.", 6) == 0)
        set_sat_limit(ld, name, value);
    else if (ld->section == SEC_REDIS && strcmp(name, "password") == 0)
        add_error(ld, ld->lineno, "password must not be in the config file: "
                  "use password_file");
    else
        add_error(ld, ld->lineno, "unknown key \"%s\" in [%s]", name,
                  section_names[ld->section]);
    return 1;
}

/* ------------------------------------------------------------------------
 * Lines
 */

/*
 * First char of `chars` or start of an inline comment (';' after white
 * space) in s, or its NUL: the same scan inih does, so that the lines this
 * file refuses are exactly those inih would refuse.
 */
static char *find_chars_or_comment(char *s, const char *chars)
{
    bool was_space = false;
    while (*s && !(chars && strchr(chars, *s)) && !(was_space && *s == ';')) {
        was_space = isspace((unsigned char)*s);
        s++;
    }
    return s;
}

static char *lskip(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

static void rstrip(char *s, char *end)
{
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
}

static int section_lookup(const char *name)
{
    for (int i = 0; i < NSECTIONS; i++)
        if (strcmp(section_names[i], name) == 0)
            return i;
    return SEC_UNKNOWN;
}

/*
 * Cleans physical line `s` (len bytes, NUL-terminated) in place into what
 * inih should see; NULL for a blank line (also after reporting an error).
 */
static char *clean_line(struct load *ld, char *s, size_t len)
{
    if (memchr(s, '\0', len)) {
        add_error(ld, ld->lineno, "line contains a NUL byte");
        return NULL;
    }
    if (ld->lineno == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;     /* UTF-8 byte order mark */
    s = lskip(s);
    rstrip(s, s + strlen(s));
    if (*s == '\0' || *s == ';' || *s == '#')
        return NULL;

    if (*s == '[') {
        char *end = find_chars_or_comment(s + 1, "]");
        if (*end != ']') {
            add_error(ld, ld->lineno, "syntax error");
            return NULL;
        }
        /* inih ignores text after the ']'; it is more likely a mistake. */
        char *rest = lskip(end + 1);
        if (*rest && *rest != ';') {
            add_error(ld, ld->lineno, "syntax error");
            return NULL;
        }
        *end = '\0';
        char *name = lskip(s + 1);
        rstrip(name, end);
        ld->section = section_lookup(name);
        if (ld->section == SEC_UNKNOWN) {
            char known[256] = "";
            for (int i = 0; i < NSECTIONS; i++) {
                size_t used = strlen(known);
                snprintf(known + used, sizeof known - used, "%s[%s]",
                         i == 0 ? "" : i + 1 < NSECTIONS ? ", " : " and ",
                         section_names[i]);
            }
            add_error(ld, ld->lineno, "unknown section [%s]: engaged reads %s",
                      name, known);
        }
        /* Rebuild it trimmed: "[ redis ]" is [redis]. */
        memmove(s + 1, name, strlen(name) + 1);
        strcat(s, "]");
        return s;
    }

    char *sep = find_chars_or_comment(s, "=:");
    if (*sep != '=' && *sep != ':') {
        add_error(ld, ld->lineno, "syntax error");
        return NULL;
    }
    if (sep == s) {
        add_error(ld, ld->lineno, "syntax error: no key before '%c'", *sep);
        return NULL;
    }
    char *comment = find_chars_or_comment(sep + 1, NULL);
    *comment = '\0';
    rstrip(s, comment);
    return s;
}

/*
 * The ini_reader: one physical line per call, cleaned (see the comment at
 * the top of this file), so that inih's line count equals ld->lineno.
 */
static char *read_line(char *str, int num, void *stream)
{
    struct load *ld = stream;
    errno = 0;
    ssize_t n = getline(&ld->buf, &ld->bufcap, ld->file);
    if (n < 0) {
        if (ferror(ld->file))
            ld->read_errno = errno ? errno : EIO;
        return NULL;
    }
    ld->lineno++;
    const char *line = clean_line(ld, ld->buf, (size_t)n);
    if (!line)
        line = "";
    size_t len = strlen(line);
    if (num < 2 || len > (size_t)num - 2) {
        add_error(ld, ld->lineno, "line is longer than %d characters "
                  "(comments and surrounding spaces not counted)", num - 2);
        line = "";
        len = 0;
    }
    memcpy(str, line, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    return str;
}

/* ------------------------------------------------------------------------
 * Validation of the whole
 */

struct tier_at {
    config_tier tier;
    int line;
};

static int compare_tiers(const void *a, const void *b)
{
    const struct tier_at *x = a, *y = b;
    if (x->tier.min_followers != y->tier.min_followers)
        return x->tier.min_followers < y->tier.min_followers ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The line where key `name` of `section` was last set, or 0. */
static int key_line(const struct load *ld, int section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].section == section && strcmp(keys[i].name, name) == 0)
            return ld->key_line[i];
    return 0;
}

/* The line of the first of two keys that was set, or 0. */
static int either_line(const struct load *ld, int section, const char *a,
                       const char *b)
{
    int line = key_line(ld, section, a);
    return line ? line : key_line(ld, section, b);
}

static void validate_tiers(struct load *ld)
{
    config *cfg = ld->cfg;
    struct tier_at sorted[CONFIG_MAX_TIERS];
    for (size_t i = 0; i < cfg->ntiers; i++)
        sorted[i] = (struct tier_at){cfg->tiers[i], ld->tier_line[i]};
    qsort(sorted, cfg->ntiers, sizeof sorted[0], compare_tiers);
    for (size_t i = 0; i < cfg->ntiers; i++) {
        cfg->tiers[i] = sorted[i].tier;
        ld->tier_line[i] = sorted[i].line;
    }

    /* A refused tier key was reported already; what remains may well be
     * missing its tier 0 only because of it. */
    if (ld->tier_errors > 0)
        return;
    if (cfg->ntiers == 0 || cfg->tiers[0].min_followers != 0)
        add_error(ld, 0, "no tier has minimum 0: creators below the lowest "
                  "minimum (%lld) would have no tier",
                  cfg->ntiers ? (long long)cfg->tiers[0].min_followers : 0LL);
    for (size_t i = 1; i < cfg->ntiers; i++) {
        if (sorted[i].tier.min_followers != sorted[i - 1].tier.min_followers)
            continue;
        add_error(ld, sorted[i].line, "tiers \"%s\" and \"%s\" both have "
                  "minimum %lld", sorted[i - 1].tier.name, sorted[i].tier.name,
                  (long long)sorted[i].tier.min_followers);
    }
}

static void validate_decay(struct load *ld)
{
    config *cfg = ld->cfg;
    if (cfg->decay_baseline_ms <= cfg->decay_current_ms) {
        char b[32], c[32];
        timefmt_format_duration(cfg->decay_baseline_ms, b, sizeof b);
        timefmt_format_duration(cfg->decay_current_ms, c, sizeof c);
        add_error(ld, either_line(ld, SEC_DECAY, "baseline", "current"),
                  "baseline (%s) must be longer than current (%s): the "
                  "baseline window includes the current one", b, c);
    }
    if (cfg->decay_resolve_ratio < cfg->decay_ratio)
        add_error(ld, either_line(ld, SEC_DECAY, "resolve_ratio", "ratio"),
                  "resolve_ratio (%g) must be at least ratio (%g)",
                  cfg->decay_resolve_ratio, cfg->decay_ratio);
    if (cfg->decay_critical_ratio > cfg->decay_ratio)
        add_error(ld, either_line(ld, SEC_DECAY, "critical_ratio", "ratio"),
                  "critical_ratio (%g) must be at most ratio (%g)",
                  cfg->decay_critical_ratio, cfg->decay_ratio);

    /* The default "mega" quietly watches nothing when [tiers] has no mega;
     * a name the user wrote must exist.  After a refused tier key the name
     * may well be that tier: it was reported already. */
    int line = key_line(ld, SEC_DECAY, "tiers");
    if (line == 0 || ld->tier_errors > 0)
        return;
    for (size_t i = 0; i < cfg->ndecay_tiers; i++)
        if (config_tier_index(cfg, cfg->decay_tiers[i]) < 0)
            add_error(ld, line, "tiers names \"%s\", which is not a tier of "
                      "[tiers]", cfg->decay_tiers[i]);
}

static void validate_signals(struct load *ld)
{
    config *cfg = ld->cfg;
    char a[32], b[32];
    if (cfg->spike_baseline_ms <= cfg->spike_window_ms) {
        timefmt_format_duration(cfg->spike_baseline_ms, a, sizeof a);
        timefmt_format_duration(cfg->spike_window_ms, b, sizeof b);
        add_error(ld, either_line(ld, SEC_SPIKE, "baseline", "window"),
                  "baseline (%s) must be longer than window (%s): the "
                  "baseline includes the window", a, b);
    }
    if (cfg->spike_resolve_ratio > cfg->spike_ratio)
        add_error(ld, either_line(ld, SEC_SPIKE, "resolve_ratio", "ratio"),
                  "resolve_ratio (%g) must be at most ratio (%g)",
                  cfg->spike_resolve_ratio, cfg->spike_ratio);
    if (cfg->spike_critical_ratio < cfg->spike_ratio)
        add_error(ld, either_line(ld, SEC_SPIKE, "critical_ratio", "ratio"),
                  "critical_ratio (%g) must be at least ratio (%g)",
                  cfg->spike_critical_ratio, cfg->spike_ratio);
    /* A tier the file names must exist (the built-in limits name tiers a
     * file's [tiers] may not have: they are then unused). */
    if (ld->tier_errors == 0)
        for (size_t i = 0; i < cfg->nsaturation_limits; i++)
            if (cfg->saturation_limits[i].line > 0 &&
                config_tier_index(cfg, cfg->saturation_limits[i].tier) < 0)
                add_error(ld, cfg->saturation_limits[i].line,
                          "limit.%s names no tier of [tiers]",
                          cfg->saturation_limits[i].tier);
    if (cfg->jump_window_ms >= cfg->spike_baseline_ms) {
        timefmt_format_duration(cfg->jump_window_ms, a, sizeof a);
        timefmt_format_duration(cfg->spike_baseline_ms, b, sizeof b);
        int line = key_line(ld, SEC_JUMP, "window");
        add_error(ld, line ? line : key_line(ld, SEC_SPIKE, "baseline"),
                  "[follower_jump] window (%s) must be shorter than [spike] "
                  "baseline (%s), whose prediction its alerts compare with",
                  a, b);
    }
}

static int compare_sectors(const void *a, const void *b)
{
    const config_sector *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int compare_brands(const void *a, const void *b)
{
    const config_brand *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/*
 * What follows from the keys once they are all read: the watched tiers'
 * mask (dropping names not in [tiers]: an error was reported if the user
 * wrote them), the catalogue sorted for bsearch with the later of two
 * equal names kept, and the largest exclusivity window.
 */
static void derive(config *cfg)
{
    size_t n = 0;
    uint32_t mask = 0;
    for (size_t i = 0; i < cfg->ndecay_tiers; i++) {
        int t = config_tier_index(cfg, cfg->decay_tiers[i]);
        if (t < 0)
            continue;
        memmove(cfg->decay_tiers[n++], cfg->decay_tiers[i],
                sizeof cfg->decay_tiers[0]);
        mask |= UINT32_C(1) << t;
    }
    cfg->ndecay_tiers = n;
    cfg->decay_tier_mask = mask;

    for (size_t t = 0; t < CONFIG_MAX_TIERS; t++)
        cfg->saturation_limit_of[t] = cfg->saturation_limit;
    for (size_t i = 0; i < cfg->nsaturation_limits; i++) {
        int t = config_tier_index(cfg, cfg->saturation_limits[i].tier);
        if (t >= 0)
            cfg->saturation_limit_of[t] = cfg->saturation_limits[i].limit;
    }

    if (cfg->nsectors > 1)
        qsort(cfg->sectors, cfg->nsectors, sizeof cfg->sectors[0],
              compare_sectors);
    n = 0;
    for (size_t i = 0; i < cfg->nsectors; i++) {
        if (i + 1 < cfg->nsectors &&
            strcmp(cfg->sectors[i].name, cfg->sectors[i + 1].name) == 0) {
            free(cfg->sectors[i].name);
            continue;
        }
        cfg->sectors[n++] = cfg->sectors[i];
    }
    cfg->nsectors = n;

    if (cfg->nbrands > 1)
        qsort(cfg->brands, cfg->nbrands, sizeof cfg->brands[0],
              compare_brands);
    n = 0;
    for (size_t i = 0; i < cfg->nbrands; i++) {
        if (i + 1 < cfg->nbrands &&
            strcmp(cfg->brands[i].name, cfg->brands[i + 1].name) == 0) {
            free(cfg->brands[i].name);
            free(cfg->brands[i].sector);
            continue;
        }
        cfg->brands[n++] = cfg->brands[i];
    }
    cfg->nbrands = n;

    int64_t max = cfg->conflict_window_ms;
    for (size_t i = 0; i < cfg->nsectors; i++)
        if (cfg->sectors[i].window_ms > max)
            max = cfg->sectors[i].window_ms;
    cfg->conflict_max_window_ms = max;
}

/* ------------------------------------------------------------------------
 * [alertmanager] (issue 18): the keys are in keys[] and defaults; this
 * checks them together.
 */

/* Whether url[0..len) is an http:// or https:// URL with a host. */
static bool am_valid_url(const char *url, size_t len)
{
    size_t skip = len >= 7 && strncmp(url, "http://", 7) == 0     ? 7
                  : len >= 8 && strncmp(url, "https://", 8) == 0 ? 8
                                                                  : 0;
    return skip > 0 && len > skip && url[skip] != '/';
}

static void validate_alertmanager(struct load *ld)
{
    const config *cfg = ld->cfg;
    int line = key_line(ld, SEC_ALERTMANAGER, "url");
    /* One or more URLs, separated by spaces or commas. */
    for (const char *p = cfg->am_url; *p;) {
        size_t sep = strspn(p, " \t,");
        p += sep;
        size_t len = strcspn(p, " \t,");
        if (len == 0)
            break;
        if (!am_valid_url(p, len))
            add_error(ld, line, "url: \"%.*s\" is not an http:// or "
                      "https:// URL", (int)len, p);
        p += len;
    }
    if (cfg->am_generator_url[0] != '\0' &&
        !am_valid_url(cfg->am_generator_url, strlen(cfg->am_generator_url)))
        add_error(ld, key_line(ld, SEC_ALERTMANAGER, "generator_url"),
                  "generator_url must be an http:// or https:// URL, got "
                  "\"%s\"", cfg->am_generator_url);
    if (cfg->am_resend_interval_ms < 1000)
        add_error(ld, key_line(ld, SEC_ALERTMANAGER, "resend_interval"),
                  "resend_interval must be at least 1s");
    if (cfg->am_timeout_ms < 1 || cfg->am_timeout_ms > 10 * MS_MINUTE)
        add_error(ld, key_line(ld, SEC_ALERTMANAGER, "timeout"),
                  "timeout must be from 1ms to 10m");
    bool user = cfg->am_basic_auth_user[0] != '\0';
    bool pass = cfg->am_basic_auth_password_file[0] != '\0';
    if (user != pass)
        add_error(ld, either_line(ld, SEC_ALERTMANAGER, "basic_auth_user",
                                  "basic_auth_password_file"),
                  "basic_auth_user and basic_auth_password_file go together");
    if (cfg->am_bearer_token_file[0] != '\0' && (user || pass))
        add_error(ld, key_line(ld, SEC_ALERTMANAGER, "bearer_token_file"),
                  "bearer_token_file and basic_auth_user exclude each other");
}

static void validate(struct load *ld)
{
    config *cfg = ld->cfg;

    validate_tiers(ld);
    validate_decay(ld);
    validate_signals(ld);
    derive(cfg);

    qsort(cfg->windows_ms, cfg->nwindows, sizeof cfg->windows_ms[0],
          compare_i64);
    for (size_t i = 1; i < cfg->nwindows; i++) {
        if (cfg->windows_ms[i] != cfg->windows_ms[i - 1])
            continue;
        char d[32];
        timefmt_format_duration(cfg->windows_ms[i], d, sizeof d);
        add_error(ld, key_line(ld, SEC_METRICS, "windows"),
                  "window %s is listed twice", d);
        /* One report per value, however many times it repeats. */
        while (i + 1 < cfg->nwindows &&
               cfg->windows_ms[i + 1] == cfg->windows_ms[i])
            i++;
    }

    if (cfg->redis_host[0] == '\0' && cfg->redis_socket[0] == '\0')
        add_error(ld, key_line(ld, SEC_REDIS, "host"),
                  "host must not be empty unless socket is set");
    validate_alertmanager(ld);
}

/* ------------------------------------------------------------------------
 * Public functions
 */

config *config_default(const char *path)
{
    config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return NULL;
    *cfg = defaults;
    /* Every pointer now aliases the defaults: clear them before copying so
     * that config_free() after a failed copy frees only copies. */
    cfg->path = NULL;
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].kind == KIND_STRING)
            *string_field(cfg, &keys[i]) = NULL;
    for (size_t i = 0; i < cfg->ntopics; i++)
        cfg->topics[i] = NULL;
    cfg->kafka_props = NULL;
    cfg->nkafka_props = 0;
    cfg->sectors = NULL;
    cfg->nsectors = 0;
    cfg->brands = NULL;
    cfg->nbrands = 0;
    cfg->http_listen = NULL;
    cfg->http_host = NULL;

    bool ok = true;
    if (path)
        ok = (cfg->path = strdup(path)) != NULL;
    for (size_t i = 0; ok && i < NKEYS; i++) {
        if (keys[i].kind != KIND_STRING)
            continue;
        const char *src = string_value(&defaults, &keys[i]);
        ok = (*string_field(cfg, &keys[i]) = strdup(src)) != NULL;
    }
    for (size_t i = 0; ok && i < cfg->ntopics; i++)
        ok = (cfg->topics[i] = strdup(defaults.topics[i])) != NULL;
    ok = ok && (cfg->http_listen = strdup(defaults.http_listen)) != NULL;
    ok = ok && (cfg->http_host = strdup(defaults.http_host)) != NULL;
    if (ok)
        derive(cfg);
    if (!ok) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

config *config_load(const char *path, char *errstr, size_t errstr_size)
{
    struct load ld = {.path = path ? path : "(null)", .section = SEC_NONE};
    if (errstr && errstr_size > 0)
        errstr[0] = '\0';

    if (!path) {
        add_error(&ld, 0, "cannot open: no file name");
        goto fail;
    }
    ld.cfg = config_default(path);
    if (!ld.cfg) {
        ld.oom = true;
        goto fail;
    }
    ld.file = fopen(path, "r");
    if (!ld.file) {
        char msg[128];
        add_error(&ld, 0, "cannot open: %s",
                  strerror_r(errno, msg, sizeof msg));
        goto fail;
    }

    int rc = ini_parse_stream(read_line, &ld, on_key, &ld);
    if (ld.read_errno) {
        char msg[128];
        add_error(&ld, 0, "cannot read: %s",
                  strerror_r(ld.read_errno, msg, sizeof msg));
    }
    /* read_line() hands inih only lines it accepts, so this is a safety
     * net: report what inih saw unless that line is reported already. */
    if (rc != 0) {
        bool known = false;
        for (size_t i = 0; i < ld.nerrs; i++)
            known = known || ld.errs[i].line == rc;
        if (rc < 0 || !known)
            add_error(&ld, rc > 0 ? rc : 0, "syntax error");
    }
    fclose(ld.file);
    free(ld.buf);

    validate(&ld);
    if (ld.nerrs > 0 || ld.oom)
        goto fail;
    free_errors(&ld);
    return ld.cfg;

fail:
    write_errors(&ld, errstr, errstr_size);
    free_errors(&ld);
    config_free(ld.cfg);
    return NULL;
}

void config_free(config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].kind == KIND_STRING)
            free(*string_field(cfg, &keys[i]));
    free_topics(cfg->topics, cfg->ntopics);
    for (size_t i = 0; i < cfg->nkafka_props; i++) {
        free(cfg->kafka_props[i].key);
        free(cfg->kafka_props[i].value);
    }
    free(cfg->kafka_props);
    for (size_t i = 0; i < cfg->nsectors; i++)
        free(cfg->sectors[i].name);
    free(cfg->sectors);
    for (size_t i = 0; i < cfg->nbrands; i++) {
        free(cfg->brands[i].name);
        free(cfg->brands[i].sector);
    }
    free(cfg->brands);
    free(cfg->http_listen);
    free(cfg->http_host);
    free(cfg);
}

int config_tier_index(const config *cfg, const char *name)
{
    if (!cfg || !name)
        return -1;
    for (size_t i = 0; i < cfg->ntiers; i++)
        if (strcmp(cfg->tiers[i].name, name) == 0)
            return (int)i;
    return -1;
}

int64_t config_longest_window(const config *cfg)
{
    int64_t longest = cfg->nwindows ? cfg->windows_ms[cfg->nwindows - 1] : 0;
    const int64_t others[] = {cfg->decay_baseline_ms, cfg->spike_baseline_ms,
                              cfg->saturation_window_ms};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (others[i] > longest)
            longest = others[i];
    return longest;
}

bool config_decay_watches(const config *cfg, int tier)
{
    return cfg && tier >= 0 && (size_t)tier < cfg->ntiers &&
           (cfg->decay_tier_mask & (UINT32_C(1) << tier)) != 0;
}

static int compare_sector_key(const void *key, const void *elem)
{
    return strcmp(key, ((const config_sector *)elem)->name);
}

static int compare_brand_key(const void *key, const void *elem)
{
    return strcmp(key, ((const config_brand *)elem)->name);
}

int64_t config_sector_window(const config *cfg, const char *sector)
{
    const config_sector *s = NULL;
    if (cfg->nsectors > 0)
        s = bsearch(sector, cfg->sectors, cfg->nsectors,
                    sizeof cfg->sectors[0], compare_sector_key);
    return s ? s->window_ms : cfg->conflict_window_ms;
}

const char *config_brand_sector(const config *cfg, const char *brand)
{
    const config_brand *b = NULL;
    if (cfg->nbrands > 0)
        b = bsearch(brand, cfg->brands, cfg->nbrands, sizeof cfg->brands[0],
                    compare_brand_key);
    return b ? b->sector : NULL;
}

size_t config_name_normalize(const char *src, char *dst, size_t size)
{
    while (*src && isspace((unsigned char)*src))
        src++;
    size_t len = strlen(src);
    while (len > 0 && isspace((unsigned char)src[len - 1]))
        len--;
    /* Byte by byte, front to back: safe when dst is src (dst never gets
     * ahead of src). */
    size_t n = size > 0 ? (len < size - 1 ? len : size - 1) : 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (size > 0)
        dst[n] = '\0';
    return len;
}

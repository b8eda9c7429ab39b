/*
 * engaged-gen: a synthetic, deterministic stream of engagement events.
 *
 * Writes JSON events (schemas/event.schema.json), one per Kafka message
 * keyed by creator_id, to a topic through an idempotent librdkafka producer,
 * or as "key<TAB>json" lines to stdout.  The same --seed always gives the
 * same events in the same order; only delivery timing varies.
 *
 * The stream looks like a real one where the daemon cares:
 *   - creators' activity is Zipf-distributed, and the most followed creators
 *     tend to be the most active;
 *   - follower counts span every tier (mostly nano, a handful of mega) and
 *     drift through "followers" events;
 *   - about 5% posts (a fifth of them sponsored, by brands that compete
 *     within sectors), 1% followers updates, the rest engagements with a
 *     skewed action mix;
 *   - event time advances through --days, in order per creator except for a
 *     few events jittered up to a minute back (late arrivals);
 *   - ts is an RFC 3339 string (Z or an offset, with or without
 *     milliseconds) or epoch milliseconds.
 *
 * With --stories, three scripted creators are woven into that stream, one
 * per alert kind of issue 3 (see "Stories" below), and each background
 * creator keeps to one brand and to its tier, so that only the stories
 * raise brand conflicts and tier changes.
 *
 * The hot path formats with snprintf into a stack buffer: no JSON library,
 * no allocation per event.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define MS_DAY 86400000LL
#define BOOTSTRAP_FILE_WAIT_MS 10000
#define JITTER_PROBABILITY 0.02
#define JITTER_MAX_MS 60000
#define RECENT_POSTS 3

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

typedef struct gen_options {
    const char *brokers;
    const char *bootstrap_file;
    const char *topic;
    uint64_t events;
    uint32_t creators;
    uint64_t seed;
    double zipf;
    int64_t start_ms;
    double days;
    double rate;            /* events per second, 0 = as fast as possible */
    bool to_stdout;
    const char *ndjson_out;
    const char *props[64];  /* -X name=value, in order */
    size_t nprops;
    bool quiet;
    bool stories;           /* weave in the scripted creators */
    double campaign_posts;  /* share of unsponsored posts in a campaign */
} gen_options;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    /* The first signal stops producing; a second one stops waiting for
     * deliveries too. */
    stop_requested = stop_requested + 1;
}

static void usage(FILE *out)
{
    fprintf(out,
"Usage: engaged-gen [OPTION]...\n"
"Produce a deterministic synthetic stream of engagement events (JSON, key =\n"
"creator_id) to Kafka, or print them.\n"
"\n"
"Output:\n"
"  -b, --brokers HOST:PORT   bootstrap servers\n"
"      --bootstrap-file FILE read the bootstrap servers from FILE, waiting\n"
"                            up to 10 s for it to exist and be non-empty\n"
"  -t, --topic NAME          topic (default engagement.events)\n"
"  -X, --property NAME=VALUE librdkafka producer property (repeatable)\n"
"      --stdout              print \"key<TAB>json\" lines, do not produce\n"
"      --ndjson-out FILE     also write every event, as those lines, to FILE\n"
"\n"
"Stream:\n"
"  -n, --events N            number of events (default 100000)\n"
"  -c, --creators N          number of creators c0..c{N-1} (default 10000)\n"
"      --seed N              random seed; same seed, same stream (default 1)\n"
"      --zipf S              Zipf exponent of creator activity (default 1.1)\n"
"      --start TS            first event time, RFC 3339 or epoch ms\n"
"                            (default 2026-11-01T00:00:00Z)\n"
"      --days D              event time span in days (default 7)\n"
"      --rate R              at most R events per second (default: no limit)\n"
"      --campaign-posts F    the share of unsponsored posts that belong to a\n"
"                            campaign too (gifted, affiliate), 0 to 1\n"
"                            (default 0: only sponsored posts, a fifth)\n"
"      --stories             also play six scripted creators, one per\n"
"                            alert kind: story-mega (engagement decay),\n"
"                            story-conflict (Pepsi, then Coca-Cola),\n"
"                            story-rising (macro to mega), story-spike (an\n"
"                            hour of likes), story-jump (+10,000\n"
"                            followers), story-saturated (sponsored\n"
"                            posts only for 8 days); -n counts the\n"
"                            other events, and each other creator keeps\n"
"                            to one brand and one tier.  Meant for\n"
"                            --days 30 or more\n"
"\n"
"  -q, --quiet               no progress on stderr\n"
"  -h, --help                this help\n"
"\n"
"Exit status: 0 when every event was delivered (or written), 1 when any\n"
"delivery failed or the run was interrupted, 2 on a usage error.\n");
}

static int parse_u64(const char *opt, const char *s, uint64_t max,
                     uint64_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s))
        goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    fprintf(stderr, "engaged-gen: %s: \"%s\" is not an integer from 0 to "
            "%" PRIu64 "\n", opt, s, max);
    return -1;
}

static int parse_positive(const char *opt, const char *s, double max,
                          double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v > 0) || v > max) {
        fprintf(stderr, "engaged-gen: %s: \"%s\" is not a number above 0 "
                "and at most %g\n", opt, s, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic:
 * 400-year eras of 146097 days, years starting in March). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return 0;
}

/*
 * Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)"
 * (a bare date is midnight UTC) or epoch milliseconds.
 */
static int parse_time(const char *s, int64_t *ms)
{
    const char *p = s;
    if (*p && strspn(p + (*p == '-'), "0123456789") ==
                  strlen(p + (*p == '-')) && strlen(p) < 19) {
        *ms = strtoll(s, NULL, 10);
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
        *p++ != '-' || digits(&p, 2, &d))
        return -1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
        return -1;
    int64_t offset_min = 0;
    if (*p) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return -1;
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
            *p++ != ':' || digits(&p, 2, &sec) || h > 23 || mi > 59 ||
            sec > 59)
            return -1;
        if (*p == '.') {
            p++;
            int n = 0;
            for (; isdigit((unsigned char)*p); p++, n++)
                if (n < 3)
                    frac = frac * 10 + (*p - '0');
            if (n == 0)
                return -1;
            for (; n < 3; n++)
                frac *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
                oh > 23 || om > 59)
                return -1;
            offset_min = sign * (oh * 60 + om);
        } else {
            return -1;
        }
        if (*p)
            return -1;
    }
    *ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
            offset_min * 60) * 1000) + frac;
    return 0;
}

static char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/*
 * Writes ms as RFC 3339 into buf (at least 32 bytes): in UTC with "Z", or
 * as local time at offset_min minutes east with "+HH:MM"/"-HH:MM"; with
 * ".mmm" when with_ms.  Returns the length.
 */
static int format_rfc3339(int64_t ms, int offset_min, bool with_ms, char *buf)
{
    int64_t local = ms + (int64_t)offset_min * 60000;
    int64_t days = local >= 0 ? local / MS_DAY
                              : -((-local + MS_DAY - 1) / MS_DAY);
    int64_t rem = local - days * MS_DAY;
    int y, mo, d;
    civil_from_days(days, &y, &mo, &d);
    int secs = (int)(rem / 1000), msec = (int)(rem % 1000);
    char *p = buf;
    p = put2(p, y / 100);
    p = put2(p, y % 100);
    *p++ = '-';
    p = put2(p, mo);
    *p++ = '-';
    p = put2(p, d);
    *p++ = 'T';
    p = put2(p, secs / 3600);
    *p++ = ':';
    p = put2(p, secs / 60 % 60);
    *p++ = ':';
    p = put2(p, secs % 60);
    if (with_ms) {
        *p++ = '.';
        *p++ = (char)('0' + msec / 100);
        p = put2(p, msec % 100);
    }
    if (offset_min == 0) {
        *p++ = 'Z';
    } else {
        int a = offset_min < 0 ? -offset_min : offset_min;
        *p++ = offset_min < 0 ? '-' : '+';
        p = put2(p, a / 60);
        *p++ = ':';
        p = put2(p, a % 60);
    }
    *p = '\0';
    return (int)(p - buf);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Randomness: splitmix64, small, fast and the same on every platform   */
/* ------------------------------------------------------------------ */

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n). */
static uint64_t rng_below(rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Log-uniform in [lo, hi). */
static double rng_logu(rng *r, double lo, double hi)
{
    return lo * exp(rng_unit(r) * log(hi / lo));
}

static double rng_normal(rng *r)
{
    double u = 1.0 - rng_unit(r), v = rng_unit(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* ------------------------------------------------------------------ */
/* The world: creators, brands                                          */
/* ------------------------------------------------------------------ */

typedef struct brand {
    const char *name;
    const char *sector;
} brand;

/* Competitors share a sector: that is what conflict detection looks for. */
static const brand brands[] = {
    {"pepsi", "beverages"},    {"coca-cola", "beverages"},
    {"red-bull", "beverages"}, {"monster", "beverages"},
    {"revolut", "finance"},    {"n26", "finance"},
    {"klarna", "finance"},     {"paypal", "finance"},
    {"zara", "fashion"},       {"h-and-m", "fashion"},
    {"shein", "fashion"},      {"uniqlo", "fashion"},
    {"nike", "sportswear"},    {"adidas", "sportswear"},
    {"puma", "sportswear"},    {"samsung", "electronics"},
    {"apple", "electronics"},  {"xiaomi", "electronics"},
};
#define NBRANDS (sizeof brands / sizeof brands[0])
#define CAMPAIGNS_PER_BRAND 3

/* "coca-cola" -> "Coca-Cola": the same brand as it is often written. */
static void brand_display(const char *slug, char *out, size_t size)
{
    size_t i = 0;
    for (bool word = true; slug[i] && i + 1 < size; i++) {
        out[i] = word ? (char)toupper((unsigned char)slug[i]) : slug[i];
        word = slug[i] == '-';
    }
    out[i] = '\0';
}

typedef struct creator {
    int64_t followers;
    int64_t recent_post[RECENT_POSTS];   /* post numbers, newest first */
    uint8_t nposts;                      /* valid entries in recent_* */
    uint32_t posts_all, sponsored;       /* posts so far, sponsored ones */
} creator;

typedef struct world {
    creator *creators;
    uint32_t ncreators;
    double *cdf;            /* Zipf CDF over activity ranks */
    uint32_t *by_rank;      /* activity rank -> creator index */
    int64_t next_post;
} world;

/*
 * Follower counts over the tiers: nano (< 10k) the majority, micro
 * (10k-50k), mid (50k-500k), macro (500k-1M), a handful of mega (>= 1M,
 * Pareto-tailed).  With 5 creators or more, each tier has at least one.
 */
static int64_t draw_followers(rng *r, int forced_tier)
{
    double u = forced_tier >= 0 ? 0 : rng_unit(r);
    int tier = forced_tier >= 0 ? forced_tier
               : u < 0.72       ? 0
               : u < 0.92       ? 1
               : u < 0.99       ? 2
               : u < 0.999      ? 3
                                : 4;
    switch (tier) {
    case 0: return (int64_t)rng_logu(r, 200, 10000);
    case 1: return (int64_t)rng_logu(r, 10000, 50000);
    case 2: return (int64_t)rng_logu(r, 50000, 500000);
    case 3: return (int64_t)rng_logu(r, 500000, 1000000);
    default: {
        double f = 1e6 / pow(1.0 - rng_unit(r), 1.0 / 1.3);
        return (int64_t)(f > 3e8 ? 3e8 : f);
    }
    }
}

typedef struct rank_key {
    double key;
    uint32_t creator;
} rank_key;

static int rank_key_cmp(const void *a, const void *b)
{
    const rank_key *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->creator < y->creator ? -1 : x->creator > y->creator;
}

static int world_init(world *w, const gen_options *o, rng *r)
{
    memset(w, 0, sizeof *w);
    w->ncreators = o->creators;
    w->creators = calloc(o->creators, sizeof *w->creators);
    w->cdf = malloc(o->creators * sizeof *w->cdf);
    w->by_rank = malloc(o->creators * sizeof *w->by_rank);
    rank_key *keys = malloc(o->creators * sizeof *keys);
    if (!w->creators || !w->cdf || !w->by_rank || !keys) {
        free(keys);
        return -1;
    }
    for (uint32_t i = 0; i < o->creators; i++) {
        creator *c = &w->creators[i];
        c->followers = draw_followers(r, o->creators >= 5 && i < 5
                                             ? (int)(4 - i) : -1);
        /* More followers, more activity, but loosely. */
        keys[i].key = log10((double)c->followers + 1) + 0.6 * rng_normal(r);
        keys[i].creator = i;
    }
    qsort(keys, o->creators, sizeof *keys, rank_key_cmp);
    double sum = 0;
    for (uint32_t k = 0; k < o->creators; k++) {
        w->by_rank[k] = keys[k].creator;
        sum += pow((double)k + 1, -o->zipf);
        w->cdf[k] = sum;
    }
    free(keys);
    return 0;
}

static void world_free(world *w)
{
    free(w->creators);
    free(w->cdf);
    free(w->by_rank);
}

/* A creator drawn by Zipf activity: binary search in the CDF. */
static uint32_t pick_creator(const world *w, rng *r)
{
    double u = rng_unit(r) * w->cdf[w->ncreators - 1];
    uint32_t lo = 0, hi = w->ncreators - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (w->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return w->by_rank[lo];
}

/* ------------------------------------------------------------------ */
/* Events                                                               */
/* ------------------------------------------------------------------ */

typedef enum kind { KIND_ENGAGEMENT, KIND_POST, KIND_FOLLOWERS } kind;

/* Views >> likes > comments > shares, saves > clicks > conversions. */
static const struct {
    const char *name;
    double cumulative;
} actions[] = {
    {"view", 0.700},  {"like", 0.880},  {"comment", 0.930},
    {"share", 0.955}, {"save", 0.980},  {"click", 0.995},
    {"conversion", 1.0},
};

static int64_t draw_count(rng *r, size_t action)
{
    double u = rng_unit(r);
    if (action == 0) /* views come in bursts */
        return u < 0.75 ? 1 : (int64_t)rng_logu(r, 2, 5000);
    if (action == 1)
        return u < 0.92 ? 1 : 2 + (int64_t)rng_below(r, 9);
    return u < 0.97 ? 1 : 2 + (int64_t)rng_below(r, 3);
}

/* "ts":... as RFC 3339 (mostly) or epoch ms.  Returns the length. */
static int format_ts(rng *r, int64_t ms, char *buf)
{
    static const int offsets[] = {60, 120, -300, 330, -480, 540, -180};
    double u = rng_unit(r);
    if (u < 0.10)
        return snprintf(buf, 32, "%" PRId64, ms);
    buf[0] = '"';
    int n;
    if (u < 0.20)
        n = format_rfc3339(ms, offsets[rng_below(r, 7)], true, buf + 1);
    else if (u < 0.55)
        n = format_rfc3339(ms, 0, true, buf + 1);
    else /* whole seconds: the event time is truncated */
        n = format_rfc3339(ms - ((ms % 1000) + 1000) % 1000, 0, false,
                           buf + 1);
    buf[n + 1] = '"';
    buf[n + 2] = '\0';
    return n + 2;
}

typedef struct gen_stats {
    uint64_t events, posts, followers;
} gen_stats;

/*
 * Engagement near the published rates per post (HypeAuditor 2026,
 * Instagram, engagements per post over followers): nano 1.8%, micro 0.5%,
 * mid 0.4%, macro 0.35%, mega 0.3%.  draw_count() alone brings a post
 * about 6.06 engagements: 20 events per post (posts are 5% of them), 94%
 * of them engagement events, 90% of those on a post, each worth 0.358
 * engagements on average (likes 18% x 1.40, comments, shares and saves
 * 10% x 1.06).  Every count (views, clicks and conversions too, so that
 * the funnel keeps its shape) is scaled by rate x followers / 6.06 and
 * rounded at random to an integer, at least 1 (creators under about 340
 * followers engage more than their rate); see scale_count().
 */
#define ENGAGEMENTS_PER_POST 6.06

static double count_scale(int64_t followers)
{
    double rate = followers < 10000     ? 0.018
                  : followers < 50000   ? 0.005
                  : followers < 500000  ? 0.004
                  : followers < 1000000 ? 0.0035
                                        : 0.003;
    return rate * (double)followers / ENGAGEMENTS_PER_POST;
}

/*
 * Scaled, a count of several likes drawn as "2 to 10" would become a lump
 * of thousands for a big creator: one event its followers' engagement
 * arrives in.  Real streams deliver that engagement as many small events
 * or steady deltas, so above a scale of 1 the count is the scaled mean of
 * its action, within +-25%; views keep their bursts.
 */
static const double mean_count[7] = {0, 1.40, 1.06, 1.06, 1.06, 1.06, 1.06};

static int64_t scale_count(rng *r, size_t action, int64_t count, double scale)
{
    double x = (double)count * scale;
    if (scale > 1 && action > 0)
        x = mean_count[action] * scale * (0.75 + 0.5 * rng_unit(r));
    int64_t n = (int64_t)x;
    if (rng_unit(r) < x - (double)n)
        n++;
    return n < 1 ? 1 : n;
}

/*
 * The one brand background creator ci promotes with --stories: a hash of
 * its index, so it needs no state and no draw from the stream's rng.
 */
static size_t creator_brand(uint32_t ci)
{
    rng h = {0x5EED0B4A4D5ULL ^ ((uint64_t)ci << 20)};
    return (size_t)rng_below(&h, NBRANDS);
}

/*
 * next, kept inside the default tier (nano 0, micro 10k, mid 50k, macro
 * 500k, mega 1M) of now.  With --stories a background creator stays in
 * its tier: its drift would otherwise cross 10 to 20 tier boundaries in
 * the demo's 30 days (and flap, with the daemon's 5% hysteresis), and
 * their tier_change alerts would bury story-rising's.
 */
static double keep_tier(int64_t now, double next)
{
    static const double tier_min[] = {0, 10000, 50000, 500000, 1000000};
    int t = 4;
    while (t > 0 && (double)now < tier_min[t])
        t--;
    if (next < tier_min[t])
        return tier_min[t];
    if (t < 4 && next >= tier_min[t + 1])
        return tier_min[t + 1] - 1;
    return next;
}

/*
 * Generates event number i of n into key/json.  Returns the JSON length,
 * and in *ontime the time the event would have had without its late
 * jitter (where the stories are merged in).  Everything random comes from
 * r, so the stream depends only on the seed.
 */
static int make_event(world *w, rng *r, const gen_options *o, uint64_t i,
                      char *key, int *keylen, char *json, size_t size,
                      gen_stats *st, int64_t *ontime)
{
    uint32_t ci = pick_creator(w, r);
    creator *c = &w->creators[ci];
    *keylen = snprintf(key, 16, "c%" PRIu32, ci);

    /* Time advances uniformly through the span; a few events are late. */
    double span = o->days * (double)MS_DAY;
    double slot = o->events ? span / (double)o->events : 0;
    int64_t ts = o->start_ms + (int64_t)(slot * (double)i +
                                         rng_unit(r) * slot);
    *ontime = ts;
    if (rng_unit(r) < JITTER_PROBABILITY) {
        ts -= (int64_t)rng_below(r, JITTER_MAX_MS);
        if (ts < o->start_ms)
            ts = o->start_ms;
    }
    char tsbuf[40];
    format_ts(r, ts, tsbuf);

    double u = rng_unit(r);
    kind k = u < 0.05 ? KIND_POST : u < 0.06 ? KIND_FOLLOWERS
                                             : KIND_ENGAGEMENT;
    int n;
    if (k == KIND_POST) {
        st->posts++;
        int64_t post = w->next_post++;
        int campaign = -1;
        for (int j = RECENT_POSTS - 1; j > 0; j--)
            c->recent_post[j] = c->recent_post[j - 1];
        if (c->nposts < RECENT_POSTS)
            c->nposts++;
        if (rng_unit(r) < 0.20) {
            size_t b = (size_t)rng_below(r, NBRANDS);
            /* With the demo's catalogue and 90d window, creators drawing
             * brands at random would raise hundreds of brand conflicts and
             * drown story-conflict's.  The draw above still happens, so
             * that the rest of the stream is the same with and without
             * --stories. */
            if (o->stories)
                b = creator_brand(ci);
            campaign = (int)(b * CAMPAIGNS_PER_BRAND +
                             rng_below(r, CAMPAIGNS_PER_BRAND));
            char name[32];
            /* Some producers write "Coca-Cola", some "coca-cola". */
            if (rng_unit(r) < 0.2)
                brand_display(brands[b].name, name, sizeof name);
            else
                snprintf(name, sizeof name, "%s", brands[b].name);
            bool catalogue = rng_unit(r) < 0.1;
            /* With --stories a background creator keeps its sponsored
             * posts to 10% of its posts, under every tier's saturation
             * limit, or hundreds of sponsored_saturation alerts (a fifth
             * of the posts are sponsored, above micro's 15%) would drown
             * story-saturated's.  The draws above still happen. */
            if (o->stories &&
                (uint64_t)(c->sponsored + 1) * 10 > (uint64_t)c->posts_all + 1) {
                campaign = -1;
                n = snprintf(json, size,
                             "{\"type\":\"post\",\"creator_id\":\"%s\","
                             "\"ts\":%s,\"post_id\":\"p%" PRId64 "\"}",
                             key, tsbuf, post);
            } else if (catalogue) /* sector left to the catalogue */
                n = snprintf(json, size,
                             "{\"type\":\"post\",\"creator_id\":\"%s\","
                             "\"ts\":%s,\"post_id\":\"p%" PRId64 "\","
                             "\"sponsored\":true,\"brand\":\"%s\","
                             "\"campaign_id\":\"k%d\"}",
                             key, tsbuf, post, name, campaign);
            else
                n = snprintf(json, size,
                             "{\"type\":\"post\",\"creator_id\":\"%s\","
                             "\"ts\":%s,\"post_id\":\"p%" PRId64 "\","
                             "\"sponsored\":true,\"brand\":\"%s\","
                             "\"sector\":\"%s\",\"campaign_id\":\"k%d\"}",
                             key, tsbuf, post, name, brands[b].sector,
                             campaign);
        } else if (o->campaign_posts > 0 &&
                   rng_unit(r) < o->campaign_posts) {
            /* An unsponsored campaign post.  The draw happens only with
             * the option, so that the default stream stays as it was. */
            size_t b = o->stories ? creator_brand(ci)
                                  : (size_t)rng_below(r, NBRANDS);
            campaign = (int)(b * CAMPAIGNS_PER_BRAND +
                             rng_below(r, CAMPAIGNS_PER_BRAND));
            n = snprintf(json, size,
                         "{\"type\":\"post\",\"creator_id\":\"%s\","
                         "\"ts\":%s,\"post_id\":\"p%" PRId64 "\","
                         "\"campaign_id\":\"k%d\"}",
                         key, tsbuf, post, campaign);
        } else if (rng_unit(r) < 0.5) { /* "sponsored" defaults to false */
            n = snprintf(json, size,
                         "{\"type\":\"post\",\"creator_id\":\"%s\","
                         "\"ts\":%s,\"post_id\":\"p%" PRId64 "\"}",
                         key, tsbuf, post);
        } else {
            n = snprintf(json, size,
                         "{\"type\":\"post\",\"creator_id\":\"%s\","
                         "\"ts\":%s,\"post_id\":\"p%" PRId64 "\","
                         "\"sponsored\":false}",
                         key, tsbuf, post);
        }
        c->recent_post[0] = post;
        c->posts_all++;
        if (strstr(json, "\"sponsored\":true") != NULL)
            c->sponsored++;
    } else if (k == KIND_FOLLOWERS) {
        st->followers++;
        double f = (double)c->followers * (1.0 + 0.002 + 0.02 * rng_normal(r));
        if (o->stories)
            f = keep_tier(c->followers, f);
        c->followers = f < 1 ? 1 : (int64_t)f;
        n = snprintf(json, size,
                     "{\"type\":\"followers\",\"creator_id\":\"%s\","
                     "\"ts\":%s,\"followers\":%" PRId64 "}",
                     key, tsbuf, c->followers);
    } else {
        double a = rng_unit(r);
        size_t ai = 0;
        while (a >= actions[ai].cumulative && ai + 1 < 7)
            ai++;
        int64_t count = scale_count(r, ai, draw_count(r, ai),
                                    count_scale(c->followers));
        n = snprintf(json, size,
                     "{\"type\":\"engagement\",\"creator_id\":\"%s\","
                     "\"ts\":%s,\"action\":\"%s\",\"count\":%" PRId64,
                     key, tsbuf, actions[ai].name, count);
        /* Mostly on one of the creator's latest posts, newest likeliest. */
        if (c->nposts > 0 && rng_unit(r) < 0.9) {
            uint64_t j = rng_below(r, (uint64_t)c->nposts * 2) / 2;
            if (rng_unit(r) < 0.5)
                j = 0;
            /* The post_id only, as platforms deliver engagement: engaged
             * finds the post's campaign itself. */
            n += snprintf(json + n, size - (size_t)n,
                          ",\"post_id\":\"p%" PRId64 "\"", c->recent_post[j]);
        }
        if (rng_unit(r) < 0.30)
            n += snprintf(json + n, size - (size_t)n,
                          ",\"followers\":%" PRId64, c->followers);
        json[n++] = '}';
        json[n] = '\0';
    }
    st->events++;
    return n;
}

/* ------------------------------------------------------------------ */
/* Stories (--stories)                                                  */
/* ------------------------------------------------------------------ */

/*
 * Six scripted creators, woven into the background stream in event-time
 * order, so that `make demo` (--days 30, the daemon's defaults, a
 * catalogue with brand.pepsi = brand.coca-cola = beverages) shows each
 * alert kind fire once.  Each plays on a grid of
 * ticks of its own, at most one event per tick at a random time inside the
 * tick (so its events are in order), from its own rng: a story does not
 * depend on -n or --creators.  Every story's first event is at --start
 * exactly, and every story plays until the end of the span, so the
 * watermark of its partition keeps moving through it (the background, at
 * the demo's 200,000 events over 30 days and 4 partitions, adds an event
 * every minute or so to each partition as well, never 20 minutes apart in
 * the seeds tried).
 *
 * Times are in days from --start.  With --days under 30 they are all
 * scaled by days/30 and the decay story cannot fire: its baseline needs 28
 * days of history.  With more than 30 days they stay where they are.
 *
 * story-mega: 2,500,000 followers (mega, watched for decay), a post a day
 * and a tick every 10 minutes: 139 ticks a day that are neither a post nor
 * a followers update, 78% of them an engagement (like, comment, share or
 * save) of count 5 to 10, the rest views, which the decay does not count.
 * That is 139 x 0.78 x 7.5 = 813 engagements a day.  From day 26.5 to day
 * 28.5 only 10% of the ticks are engagements, of count 1 to 5: 139 x 0.10
 * x 3 = 42 a day, 5% of the steady rate.  With the defaults (current 24h,
 * baseline 28d, ratio 0.5, critical 0.25, resolve 0.7, for 30m,
 * min_baseline 100), expected = engagements in (W-28d, W-24h] x 24h/27d:
 *   day 28     the first verdict: until then the creator's first event
 *              (day 0) is later than W - 28d.  current = 42 (the last 24h
 *              are all collapsed), expected = (26.5 x 813 + 0.5 x 42) / 27
 *              = 799, ratio 0.05: pending, and once 30 minutes have
 *              passed (at the next 24-minute evaluation, 00:48, unless the
 *              daemon also evaluates at the deadline) firing, critical.
 *              The collapse starts a day and a half before the first
 *              verdict on purpose: a 24h window that slides into a
 *              collapse passes from 0.5 to 0.25 in about 6 hours, so an
 *              alert that first sees it mid-slide fires as a warning.
 *   day 28.5   engagement back to the steady rate.
 *   day 29.15  current = 0.65 x 813 + 0.35 x 42 = 543, expected =
 *              (25.35 x 813 + 1.65 x 42) / 27 = 766, ratio 0.71: resolved,
 *              about 20 hours before the end of a 30-day span (between
 *              day 29.1 and 29.2 with the seeds tried: noise).
 * Day-to-day noise in the steady rate is about 2%; tests/test_gen.c
 * checks these numbers on the events themselves.
 *
 * story-conflict: 80,000 followers (mid), ordinary posts and engagement
 * (about 45 engagements a day), a sponsored post for "Pepsi" with sector
 * "beverages" at day 5 14:00 and one for "Coca-Cola" without a sector
 * (the catalogue has it) at day 15 14:00: a brand_conflict in beverages,
 * 10 days apart, well inside the 90d window.
 *
 * story-rising: 900,000 followers at day 0 (macro), 5,000 more a day
 * through a followers update every 6 hours, so it reaches 1,000,000 at day
 * 20: tier_change macro -> mega.  It engages about 40 times a day, under
 * min_baseline, so once mega it gets no decay verdict at all.
 *
 * story-spike: 20,000 followers (micro), a tick every 15 minutes, 40% of
 * them an engagement of count 1 to 3 (about 77 a day, 3.2 an hour: at most
 * 12 in any hour, under min_engagements).  For the hour from day 20 15:00
 * every tick is a like of count 150 and nothing else (an engagement pod):
 * the second one takes the 1h window to 300, over 1% of its followers,
 * some 90 times what its 7d baseline predicts: engagement_spike, critical,
 * likes only; resolved once the burst has left the 1h window (the burst
 * then sits in the baseline, and 3 an hour is under twice its prediction).
 *
 * story-jump: 30,000 followers (micro), restated every 6 hours, a tick
 * every 20 minutes, about 43 engagements a day.  At day 12 09:00 its count
 * jumps by 10,000 (a round number) to 40,000, +33%, while engagement stays
 * as it was: follower_jump, one alert, and no tier change (micro reaches
 * 50,000).
 *
 * story-saturated: 60,000 followers (mid, saturation limit 20%), a post
 * every 12 hours, about 45 engagements a day.  From day 14 to day 22 every
 * post is sponsored, for Nike, Revolut, Zara and Samsung in turn (four
 * sectors: no brand conflict).  The 30d window's share passes 20% at day
 * 17.5 (7 of 35 posts is exactly 20%, the next sponsored post is above):
 * pending, and a day later, at its first evaluation (a post or a wake),
 * sponsored_saturation, warning (critical would take 40%).  No resolve
 * within 30 days: its 16 sponsored posts stay in the window.
 *
 * With the default --start 2026-11-01T00:00:00Z and --days 30:
 *   2026-11-01T00:00Z  all six start
 *   2026-11-06T14:00Z  story-conflict: Pepsi (beverages)
 *   2026-11-13T09:00Z  story-jump: +10,000 followers -> follower_jump
 *   2026-11-16T14:00Z  story-conflict: Coca-Cola -> brand_conflict
 *   2026-11-21T00:xxZ  story-rising: 1,000,000 followers -> tier_change
 *   2026-11-19T~12Z    story-saturated: sponsored_saturation
 *   2026-11-21T15:xxZ  story-spike: 150 likes a tick for an hour ->
 *                      engagement_spike firing, then resolved
 *   2026-11-27T12:00Z  story-mega: engagement collapses
 *   2026-11-29T00:48Z  story-mega: engagement_decay firing, critical
 *   2026-11-29T12:00Z  story-mega: engagement recovers
 *   2026-11-30T03:00Z  story-mega: engagement_decay resolved (+-1h)
 *   2026-12-01T00:00Z  end of the span
 */

#define STORY_SPAN_DAYS 30.0
#define STORY_MEGA_COLLAPSE_DAY 26.5
#define STORY_MEGA_RECOVER_DAY 28.5
#define STORY_PEPSI_DAY (5 + 14 / 24.0)
#define STORY_COKE_DAY (15 + 14 / 24.0)
#define STORY_RISING_FROM 900000
#define STORY_RISING_TO 1000000
#define STORY_RISING_CROSS_DAY 20.0
#define STORY_SPIKE_DAY (20 + 15 / 24.0)
#define STORY_JUMP_DAY (12 + 9 / 24.0)
#define STORY_JUMP_FROM 30000
#define STORY_JUMP_BY 10000
#define STORY_SAT_FROM_DAY 14.0
#define STORY_SAT_TO_DAY 22.0

typedef enum story_kind {
    STORY_MEGA,
    STORY_CONFLICT,
    STORY_RISING,
    STORY_SPIKE,
    STORY_JUMP,
    STORY_SATURATED,
    NSTORIES
} story_kind;

typedef struct story {
    story_kind kind;
    const char *key;
    rng r;
    int64_t step_ms;        /* one tick, at most one event, per step */
    int64_t tick;           /* the next tick to play */
    int64_t followers;
    int posts;              /* posts so far; the latest is number posts */
    const char *campaign;   /* the latest post's campaign, NULL if none */
    bool ready;             /* json holds the next event, at ts */
    kind what;              /* its type */
    int64_t ts;
    int keylen, len;
    char json[512];
} story;

typedef struct stories {
    story s[NSTORIES];
    int64_t start_ms, end_ms;           /* the span, end excluded */
    int64_t collapse_ms, recover_ms;    /* story-mega */
    int64_t pepsi_ms, coke_ms;          /* story-conflict */
    double rising_per_day;              /* story-rising's growth */
    int64_t spike_ms;                   /* story-spike's burst */
    int64_t jump_ms;                    /* story-jump's jump */
    int64_t sat_from_ms, sat_to_ms;     /* story-saturated's sponsoring */
    int64_t crossed_ms;                 /* its first 1,000,000, or -1 */
    double scale;                       /* min(1, days / 30) */
} stories;

static int64_t story_day(const stories *ss, double day)
{
    return ss->start_ms + (int64_t)llround(day * ss->scale * (double)MS_DAY);
}

static int story_followers(story *s, const char *ts, char *json, size_t size)
{
    s->what = KIND_FOLLOWERS;
    return snprintf(json, size,
                    "{\"type\":\"followers\",\"creator_id\":\"%s\","
                    "\"ts\":%s,\"followers\":%" PRId64 "}",
                    s->key, ts, s->followers);
}

/* A new post: sponsored when brand_name is given, with sector when given. */
static int story_post(story *s, const char *ts, const char *brand_name,
                      const char *sector, const char *campaign, char *json,
                      size_t size)
{
    s->what = KIND_POST;
    s->posts++;
    s->campaign = campaign;
    int n = snprintf(json, size,
                     "{\"type\":\"post\",\"creator_id\":\"%s\",\"ts\":%s,"
                     "\"post_id\":\"%s-p%d\",\"sponsored\":%s",
                     s->key, ts, s->key, s->posts,
                     brand_name ? "true" : "false");
    if (brand_name)
        n += snprintf(json + n, size - (size_t)n, ",\"brand\":\"%s\"",
                      brand_name);
    if (sector)
        n += snprintf(json + n, size - (size_t)n, ",\"sector\":\"%s\"",
                      sector);
    if (campaign)
        n += snprintf(json + n, size - (size_t)n, ",\"campaign_id\":\"%s\"",
                      campaign);
    n += snprintf(json + n, size - (size_t)n, "}");
    return n;
}

/* An engagement on the latest post; action NULL draws one of the four
 * that the decay counts (likes, comments, shares, saves). */
static int story_engagement(story *s, const char *ts, const char *action,
                            int64_t count, char *json, size_t size)
{
    s->what = KIND_ENGAGEMENT;
    if (!action) {
        double a = rng_unit(&s->r);
        action = a < 0.6 ? "like" : a < 0.8 ? "comment"
                 : a < 0.9 ? "share" : "save";
    }
    int n = snprintf(json, size,
                     "{\"type\":\"engagement\",\"creator_id\":\"%s\","
                     "\"ts\":%s,\"action\":\"%s\",\"count\":%" PRId64,
                     s->key, ts, action, count);
    if (s->posts > 0)
        n += snprintf(json + n, size - (size_t)n,
                      ",\"post_id\":\"%s-p%d\"", s->key, s->posts);
    if (s->campaign)
        n += snprintf(json + n, size - (size_t)n, ",\"campaign_id\":\"%s\"",
                      s->campaign);
    if (rng_unit(&s->r) < 0.3)
        n += snprintf(json + n, size - (size_t)n, ",\"followers\":%" PRId64,
                      s->followers);
    n += snprintf(json + n, size - (size_t)n, "}");
    return n;
}

/*
 * Plays tick k of story s, which covers [t0, t0 + step), into s->json.
 * *ts is the event's time, drawn in the tick; a tick that holds a scripted
 * moment moves it there.  Returns the JSON length, 0 for no event.
 */
static int story_tick(stories *ss, story *s, int64_t k, int64_t t0,
                      int64_t *ts)
{
    char tsbuf[40];
    rng *r = &s->r;
    int64_t t1 = t0 + s->step_ms;
    const char *pepsi = NULL, *coke = NULL;
    if (s->kind == STORY_CONFLICT && ss->pepsi_ms >= t0 && ss->pepsi_ms < t1)
        *ts = ss->pepsi_ms, pepsi = "Pepsi";
    if (s->kind == STORY_CONFLICT && ss->coke_ms >= t0 && ss->coke_ms < t1)
        *ts = ss->coke_ms, coke = "Coca-Cola";
    format_ts(r, *ts, tsbuf);
    char *json = s->json;
    size_t size = sizeof s->json;
    double u;

    switch (s->kind) {
    case STORY_MEGA: {
        /* 144 ticks a day; the collapse is judged by the tick's start. */
        bool low = t0 >= ss->collapse_ms && t0 < ss->recover_ms;
        if (k % 36 == 0) {
            if (k > 0)
                s->followers += low ? -(int64_t)rng_below(r, 2000)
                                    : 300 + (int64_t)rng_below(r, 900);
            return story_followers(s, tsbuf, json, size);
        }
        if (k % 144 == 57)
            return story_post(s, tsbuf, NULL, NULL, NULL, json, size);
        u = rng_unit(r);
        if (!low && u < 0.78)
            return story_engagement(s, tsbuf, NULL,
                                    5 + (int64_t)rng_below(r, 6), json, size);
        if (low && u < 0.10)
            return story_engagement(s, tsbuf, NULL,
                                    1 + (int64_t)rng_below(r, 5), json, size);
        if (!low || u < 0.35)
            return story_engagement(s, tsbuf, "view",
                                    (int64_t)rng_logu(r, 20, 2000), json,
                                    size);
        return 0;
    }
    case STORY_CONFLICT:
        /* 48 ticks a day. */
        if (pepsi)
            return story_post(s, tsbuf, pepsi, "beverages", "k-story-pepsi",
                              json, size);
        if (coke) /* no sector: the daemon's catalogue knows coca-cola */
            return story_post(s, tsbuf, coke, NULL, "k-story-coca-cola",
                              json, size);
        if (k % 48 == 0) {
            if (k > 0)
                s->followers += (int64_t)rng_below(r, 300) - 100;
            return story_followers(s, tsbuf, json, size);
        }
        if (k % 96 == 21)
            return story_post(s, tsbuf, NULL, NULL, NULL, json, size);
        u = rng_unit(r);
        if (u < 0.45)
            return story_engagement(s, tsbuf, NULL,
                                    1 + (int64_t)rng_below(r, 3), json, size);
        if (u < 0.75)
            return story_engagement(s, tsbuf, "view",
                                    (int64_t)rng_logu(r, 5, 500), json, size);
        return 0;
    case STORY_RISING:
        /* 72 ticks a day.  Followers grow by rising_per_day / 4 (at least
         * 1,250) every 6 hours with under 200 of noise: strictly up. */
        if (k % 18 == 0) {
            s->followers = STORY_RISING_FROM +
                           (int64_t)(ss->rising_per_day *
                                     (double)(t0 - ss->start_ms) /
                                     (double)MS_DAY) +
                           (k > 0 ? (int64_t)rng_below(r, 200) : 0);
            if (s->followers >= STORY_RISING_TO && ss->crossed_ms < 0)
                ss->crossed_ms = *ts;
            return story_followers(s, tsbuf, json, size);
        }
        if (k % 72 == 40)
            return story_post(s, tsbuf, NULL, NULL, NULL, json, size);
        u = rng_unit(r);
        if (u < 0.40)
            return story_engagement(s, tsbuf, NULL,
                                    1 + (int64_t)rng_below(r, 2), json, size);
        if (u < 0.70)
            return story_engagement(s, tsbuf, "view",
                                    (int64_t)rng_logu(r, 5, 1000), json,
                                    size);
        return 0;
    case STORY_SPIKE: {
        /* 96 ticks a day. */
        bool burst = t0 >= ss->spike_ms && t0 < ss->spike_ms + MS_DAY / 24;
        if (burst)
            return story_engagement(s, tsbuf, "like", 150, json, size);
        if (k % 96 == 0) {
            if (k > 0)
                s->followers += (int64_t)rng_below(r, 60);
            return story_followers(s, tsbuf, json, size);
        }
        if (k % 96 == 30)
            return story_post(s, tsbuf, NULL, NULL, NULL, json, size);
        u = rng_unit(r);
        if (u < 0.40)
            return story_engagement(s, tsbuf, NULL,
                                    1 + (int64_t)rng_below(r, 3), json, size);
        if (u < 0.70)
            return story_engagement(s, tsbuf, "view",
                                    (int64_t)rng_logu(r, 5, 500), json, size);
        return 0;
    }
    case STORY_JUMP:
        /* 72 ticks a day; the jump is the followers update of its tick. */
        if (ss->jump_ms >= t0 && ss->jump_ms < t1) {
            *ts = ss->jump_ms;
            format_ts(r, *ts, tsbuf);
            s->followers += STORY_JUMP_BY;
            return story_followers(s, tsbuf, json, size);
        }
        if (k % 18 == 0) /* flat: the jump alone moves it */
            return story_followers(s, tsbuf, json, size);
        if (k % 72 == 50)
            return story_post(s, tsbuf, NULL, NULL, NULL, json, size);
        u = rng_unit(r);
        if (u < 0.40)
            return story_engagement(s, tsbuf, NULL,
                                    1 + (int64_t)rng_below(r, 2), json, size);
        if (u < 0.70)
            return story_engagement(s, tsbuf, "view",
                                    (int64_t)rng_logu(r, 5, 800), json, size);
        return 0;
    case STORY_SATURATED:
        /* 48 ticks a day; a post every 24 ticks. */
        if (k % 48 == 0)
            return story_followers(s, tsbuf, json, size);
        if (k % 24 == 5) {
            static const char *const sb[][2] = {
                {"Nike", "sportswear"}, {"Revolut", "finance"},
                {"Zara", "fashion"}, {"Samsung", "electronics"}};
            if (t0 >= ss->sat_from_ms && t0 < ss->sat_to_ms) {
                int i = s->posts % 4;
                return story_post(s, tsbuf, sb[i][0], sb[i][1], NULL, json,
                                  size);
            }
            return story_post(s, tsbuf, NULL, NULL, NULL, json, size);
        }
        u = rng_unit(r);
        if (u < 0.45)
            return story_engagement(s, tsbuf, NULL,
                                    1 + (int64_t)rng_below(r, 3), json, size);
        if (u < 0.75)
            return story_engagement(s, tsbuf, "view",
                                    (int64_t)rng_logu(r, 5, 500), json, size);
        return 0;
    default:
        return 0;
    }
}

/* Prepares story s's next event; s->ready is false once it is over. */
static void story_advance(stories *ss, story *s)
{
    s->ready = false;
    for (;;) {
        int64_t t0 = ss->start_ms + s->tick * s->step_ms;
        if (t0 >= ss->end_ms)
            return;
        int64_t k = s->tick++;
        /* The first event is at the start exactly: the decay's history
         * guard counts from a creator's first event. */
        int64_t ts = k == 0 ? t0
                            : t0 + (int64_t)rng_below(&s->r,
                                                      (uint64_t)s->step_ms);
        if (ts >= ss->end_ms)
            ts = ss->end_ms - 1;
        int len = story_tick(ss, s, k, t0, &ts);
        if (len > 0) {
            s->ready = true;
            s->ts = ts;
            s->len = len;
            return;
        }
    }
}

static void stories_init(stories *ss, const gen_options *o)
{
    static const struct {
        const char *key;
        int64_t step_ms;
        int64_t followers;
    } cast[NSTORIES] = {
        [STORY_MEGA] = {"story-mega", 10 * 60000, 2500000},
        [STORY_CONFLICT] = {"story-conflict", 30 * 60000, 80000},
        [STORY_RISING] = {"story-rising", 20 * 60000, STORY_RISING_FROM},
        [STORY_SPIKE] = {"story-spike", 15 * 60000, 20000},
        [STORY_JUMP] = {"story-jump", 20 * 60000, STORY_JUMP_FROM},
        [STORY_SATURATED] = {"story-saturated", 30 * 60000, 60000},
    };
    memset(ss, 0, sizeof *ss);
    ss->start_ms = o->start_ms;
    ss->end_ms = o->start_ms + (int64_t)(o->days * (double)MS_DAY);
    ss->scale = o->days < STORY_SPAN_DAYS ? o->days / STORY_SPAN_DAYS : 1.0;
    ss->collapse_ms = story_day(ss, STORY_MEGA_COLLAPSE_DAY);
    ss->recover_ms = story_day(ss, STORY_MEGA_RECOVER_DAY);
    ss->pepsi_ms = story_day(ss, STORY_PEPSI_DAY);
    ss->coke_ms = story_day(ss, STORY_COKE_DAY);
    ss->spike_ms = story_day(ss, STORY_SPIKE_DAY);
    ss->jump_ms = story_day(ss, STORY_JUMP_DAY);
    ss->sat_from_ms = story_day(ss, STORY_SAT_FROM_DAY);
    ss->sat_to_ms = story_day(ss, STORY_SAT_TO_DAY);
    ss->rising_per_day = (double)(STORY_RISING_TO - STORY_RISING_FROM) /
                         (STORY_RISING_CROSS_DAY * ss->scale);
    ss->crossed_ms = -1;
    for (int i = 0; i < NSTORIES; i++) {
        story *s = &ss->s[i];
        s->kind = (story_kind)i;
        s->key = cast[i].key;
        s->keylen = (int)strlen(s->key);
        s->step_ms = cast[i].step_ms;
        s->followers = cast[i].followers;
        /* Seeded apart from the background's rng, which stays untouched. */
        s->r.state = o->seed ^ (0xA24BAED4963EE407ULL * (uint64_t)(i + 1));
        story_advance(ss, s);
    }
}

/* The story whose next event comes first, or NULL when all are over. */
static story *stories_next(stories *ss)
{
    story *best = NULL;
    for (int i = 0; i < NSTORIES; i++)
        if (ss->s[i].ready && (!best || ss->s[i].ts < best->ts))
            best = &ss->s[i];
    return best;
}

/* One line per story on stderr: what happens when. */
static void stories_report(const stories *ss, const gen_options *o)
{
    char a[40], b[40], c[40];
    format_rfc3339(ss->collapse_ms, 0, false, a);
    format_rfc3339(ss->recover_ms, 0, false, b);
    format_rfc3339(ss->start_ms + 28 * MS_DAY, 0, false, c);
    fprintf(stderr, "story: story-mega engagement collapses at %s, recovers "
            "at %s", a, b);
    if (o->days >= STORY_SPAN_DAYS)
        fprintf(stderr, " (first decay verdict at %s)", c);
    fputc('\n', stderr);
    format_rfc3339(ss->pepsi_ms, 0, false, a);
    format_rfc3339(ss->coke_ms, 0, false, b);
    fprintf(stderr, "story: story-conflict sponsors Pepsi (beverages) at %s "
            "and Coca-Cola (no sector) at %s\n", a, b);
    if (ss->crossed_ms >= 0) {
        format_rfc3339(ss->crossed_ms, 0, false, a);
        fprintf(stderr, "story: story-rising reaches %d followers at %s\n",
                STORY_RISING_TO, a);
    } else {
        fprintf(stderr, "story: story-rising has not reached %d followers\n",
                STORY_RISING_TO);
    }
    format_rfc3339(ss->spike_ms, 0, false, a);
    format_rfc3339(ss->jump_ms, 0, false, b);
    fprintf(stderr, "story: story-spike gets an hour of likes from %s; "
            "story-jump gains %d followers at %s\n", a, STORY_JUMP_BY, b);
    format_rfc3339(ss->sat_from_ms, 0, false, a);
    format_rfc3339(ss->sat_to_ms, 0, false, b);
    fprintf(stderr, "story: story-saturated posts only sponsored posts from "
            "%s to %s\n", a, b);
    if (o->days < STORY_SPAN_DAYS)
        fprintf(stderr, "story: with --days under %.0f the times are scaled "
                "down and the decay (28d baseline) gives no verdict\n",
                STORY_SPAN_DAYS);
}

/* ------------------------------------------------------------------ */
/* Output                                                               */
/* ------------------------------------------------------------------ */

typedef struct producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    uint64_t failed;
    volatile sig_atomic_t fatal;
} producer;

/* Only failures are reported (delivery.report.only.error). */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    (void)rk;
    producer *p = opaque;
    if (!m->err)
        return;
    if (p->failed++ == 0)
        fprintf(stderr, "engaged-gen: delivery failed: %s\n",
                rd_kafka_err2str(m->err));
}

static void on_error(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque)
{
    producer *p = opaque;
    char fatal[512];
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        fprintf(stderr, "engaged-gen: fatal Kafka error: %s\n", fatal);
        p->fatal = 1;
        return;
    }
    fprintf(stderr, "engaged-gen: kafka: %s\n", reason);
}

/* Reads the bootstrap servers from `path`, waiting for it to appear. */
static char *read_bootstrap_file(const char *path)
{
    double deadline = mono_s() + BOOTSTRAP_FILE_WAIT_MS / 1000.0;
    for (;;) {
        FILE *f = fopen(path, "r");
        int open_errno = errno;
        bool opened = f != NULL;
        if (f) {
            char line[1024];
            bool got = fgets(line, sizeof line, f) != NULL;
            fclose(f);
            if (got) {
                line[strcspn(line, " \t\r\n")] = '\0';
                if (*line)
                    return strdup(line);
            }
        }
        if (mono_s() >= deadline) {
            fprintf(stderr, "engaged-gen: %s: no bootstrap servers after %d "
                    "s (%s)\n", path, BOOTSTRAP_FILE_WAIT_MS / 1000,
                    opened ? "empty" : strerror(open_errno));
            return NULL;
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int producer_open(producer *p, const gen_options *o,
                         const char *brokers)
{
    char errstr[512];
    memset(p, 0, sizeof *p);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* Throughput first: big batches, a short linger, a deep queue. */
    const char *defaults[][2] = {
        {"bootstrap.servers", brokers},
        {"enable.idempotence", "true"},
        {"linger.ms", "5"},
        /* Compressed batches also let the mock cluster, which keeps only
         * the last 5 MiB of each partition, hold ~6x more events. */
        {"compression.codec", "zstd"},
        {"batch.num.messages", "100000"},
        {"batch.size", "4000000"},
        {"queue.buffering.max.messages", "2000000"},
        {"queue.buffering.max.kbytes", "1048576"},
        {"message.timeout.ms", "30000"},
        {"delivery.report.only.error", "true"},
    };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (rd_kafka_conf_set(conf, defaults[i][0], defaults[i][1], errstr,
                              sizeof errstr) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "engaged-gen: %s\n", errstr);
            rd_kafka_conf_destroy(conf);
            return -1;
        }
    for (size_t i = 0; i < o->nprops; i++) {
        char name[256];
        const char *eq = strchr(o->props[i], '=');
        if (!eq || eq == o->props[i] ||
            (size_t)(eq - o->props[i]) >= sizeof name) {
            fprintf(stderr, "engaged-gen: -X %s: expected NAME=VALUE\n",
                    o->props[i]);
            rd_kafka_conf_destroy(conf);
            return -1;
        }
        memcpy(name, o->props[i], (size_t)(eq - o->props[i]));
        name[eq - o->props[i]] = '\0';
        if (rd_kafka_conf_set(conf, name, eq + 1, errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            fprintf(stderr, "engaged-gen: -X %s: %s\n", o->props[i], errstr);
            rd_kafka_conf_destroy(conf);
            return -1;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!p->rk) {
        fprintf(stderr, "engaged-gen: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    p->rkt = rd_kafka_topic_new(p->rk, o->topic, NULL);
    if (!p->rkt) {
        fprintf(stderr, "engaged-gen: topic %s: %s\n", o->topic,
                rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(p->rk);
        return -1;
    }
    return 0;
}

/* Queues one message, waiting for queue space. Returns 0 or -1. */
static int producer_send(producer *p, const char *key, int keylen,
                         char *json, int len)
{
    for (;;) {
        if (rd_kafka_produce(p->rkt, RD_KAFKA_PARTITION_UA,
                             RD_KAFKA_MSG_F_COPY, json, (size_t)len, key,
                             (size_t)keylen, NULL) == 0)
            return 0;
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || p->fatal ||
            stop_requested) {
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                fprintf(stderr, "engaged-gen: produce: %s\n",
                        rd_kafka_err2str(err));
            return -1;
        }
        rd_kafka_poll(p->rk, 5);
    }
}

/* Waits for every outstanding delivery.  Returns 0, -1 when some never
 * finished (they then count as failed). */
static int producer_drain(producer *p, bool quiet)
{
    double last = mono_s();
    while (rd_kafka_outq_len(p->rk) > 0 && !p->fatal) {
        rd_kafka_flush(p->rk, 1000);
        if (!quiet && mono_s() - last >= 1.0 && rd_kafka_outq_len(p->rk)) {
            fprintf(stderr, "engaged-gen: waiting for %d deliveries\n",
                    rd_kafka_outq_len(p->rk));
            last = mono_s();
        }
        if (stop_requested > 1)
            break;
    }
    int left = rd_kafka_outq_len(p->rk);
    if (left > 0) {
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE |
                                  RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(p->rk, 1000);
    }
    return left > 0 ? -1 : 0;
}

static void producer_close(producer *p)
{
    rd_kafka_topic_destroy(p->rkt);
    rd_kafka_destroy(p->rk);
}

/* Where events go, and the pacing and progress of the run. */
typedef struct output {
    const gen_options *o;
    producer *p;            /* NULL with --stdout */
    FILE *ndjson;           /* NULL without --ndjson-out */
    uint64_t sent;          /* events written or queued */
    uint64_t background;    /* of which background events */
    double t0, last_report;
} output;

/* Writes or queues one event, then paces and reports.  Returns 0, or -1
 * when the producer refused it or failed. */
static int output_event(output *out, const char *key, int keylen,
                        char *json, int len)
{
    const gen_options *o = out->o;
    if (out->ndjson) {
        fwrite(key, 1, (size_t)keylen, out->ndjson);
        putc('\t', out->ndjson);
        fwrite(json, 1, (size_t)len, out->ndjson);
        putc('\n', out->ndjson);
    }
    uint64_t i = out->sent;
    if (out->p) {
        if (producer_send(out->p, key, keylen, json, len))
            return -1;
        out->sent++;
        if ((i & 1023) == 0)
            rd_kafka_poll(out->p->rk, 0);
        if (out->p->fatal)
            return -1;
    } else {
        fwrite(key, 1, (size_t)keylen, stdout);
        putchar('\t');
        fwrite(json, 1, (size_t)len, stdout);
        putchar('\n');
        out->sent++;
    }
    if (o->rate > 0) {
        /* Paced from the start, so pauses do not accumulate drift. */
        double ahead = out->t0 + (double)(i + 1) / o->rate - mono_s();
        if (ahead > 0.001) {
            if (out->p) {
                rd_kafka_poll(out->p->rk, (int)(ahead * 1000));
            } else {
                fflush(stdout);
                time_t whole = (time_t)ahead;
                struct timespec ts = {
                    whole, (long)((ahead - (double)whole) * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
    }
    if (((i & 4095) == 0 || o->rate > 0) && !o->quiet) {
        double now = mono_s();
        if (now - out->last_report >= 1.0) {
            fprintf(stderr, "engaged-gen: %" PRIu64 "/%" PRIu64
                    " events, %.0f events/s\n", out->background, o->events,
                    (double)(i + 1) / (now - out->t0));
            out->last_report = now;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */

enum {
    OPT_BOOTSTRAP_FILE = 256,
    OPT_SEED,
    OPT_ZIPF,
    OPT_START,
    OPT_DAYS,
    OPT_RATE,
    OPT_STDOUT,
    OPT_NDJSON_OUT,
    OPT_STORIES,
    OPT_CAMPAIGN_POSTS,
};

static int parse_args(int argc, char **argv, gen_options *o)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"bootstrap-file", required_argument, NULL, OPT_BOOTSTRAP_FILE},
        {"topic", required_argument, NULL, 't'},
        {"property", required_argument, NULL, 'X'},
        {"events", required_argument, NULL, 'n'},
        {"creators", required_argument, NULL, 'c'},
        {"seed", required_argument, NULL, OPT_SEED},
        {"zipf", required_argument, NULL, OPT_ZIPF},
        {"start", required_argument, NULL, OPT_START},
        {"days", required_argument, NULL, OPT_DAYS},
        {"rate", required_argument, NULL, OPT_RATE},
        {"stdout", no_argument, NULL, OPT_STDOUT},
        {"ndjson-out", required_argument, NULL, OPT_NDJSON_OUT},
        {"stories", no_argument, NULL, OPT_STORIES},
        {"campaign-posts", required_argument, NULL, OPT_CAMPAIGN_POSTS},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    uint64_t v;
    while ((ch = getopt_long(argc, argv, "b:t:X:n:c:qh", longopts, NULL)) !=
           -1) {
        switch (ch) {
        case 'b': o->brokers = optarg; break;
        case OPT_BOOTSTRAP_FILE: o->bootstrap_file = optarg; break;
        case 't': o->topic = optarg; break;
        case 'X':
            if (o->nprops == sizeof o->props / sizeof o->props[0]) {
                fprintf(stderr, "engaged-gen: too many -X\n");
                return -1;
            }
            o->props[o->nprops++] = optarg;
            break;
        case 'n':
            if (parse_u64("--events", optarg, UINT64_C(1) << 40, &o->events))
                return -1;
            break;
        case 'c':
            if (parse_u64("--creators", optarg, 100000000, &v))
                return -1;
            if (v == 0) {
                fprintf(stderr, "engaged-gen: --creators must be at least "
                        "1\n");
                return -1;
            }
            o->creators = (uint32_t)v;
            break;
        case OPT_SEED:
            if (parse_u64("--seed", optarg, UINT64_MAX, &o->seed))
                return -1;
            break;
        case OPT_ZIPF:
            if (parse_positive("--zipf", optarg, 10, &o->zipf))
                return -1;
            break;
        case OPT_START:
            if (parse_time(optarg, &o->start_ms)) {
                fprintf(stderr, "engaged-gen: --start: \"%s\" is neither an "
                        "RFC 3339 time (2026-11-01T00:00:00Z) nor epoch "
                        "milliseconds\n", optarg);
                return -1;
            }
            break;
        case OPT_DAYS:
            if (parse_positive("--days", optarg, 3650, &o->days))
                return -1;
            break;
        case OPT_RATE:
            if (parse_positive("--rate", optarg, 1e9, &o->rate))
                return -1;
            break;
        case OPT_CAMPAIGN_POSTS:
            if (parse_positive("--campaign-posts", optarg, 1, &o->campaign_posts))
                return -1;
            break;
        case OPT_STDOUT: o->to_stdout = true; break;
        case OPT_NDJSON_OUT: o->ndjson_out = optarg; break;
        case OPT_STORIES: o->stories = true; break;
        case 'q': o->quiet = true; break;
        case 'h': usage(stdout); exit(0);
        default:
            fprintf(stderr, "Try 'engaged-gen --help'.\n");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "engaged-gen: unexpected argument \"%s\"; try "
                "--help\n", argv[optind]);
        return -1;
    }
    if (!o->to_stdout && !o->brokers && !o->bootstrap_file) {
        fprintf(stderr, "engaged-gen: give --brokers, --bootstrap-file or "
                "--stdout; try --help\n");
        return -1;
    }
    if (o->brokers && o->bootstrap_file) {
        fprintf(stderr, "engaged-gen: --brokers and --bootstrap-file are "
                "exclusive\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    gen_options o = {
        .topic = "engagement.events",
        .events = 100000,
        .creators = 10000,
        .seed = 1,
        .zipf = 1.1,
        .start_ms = 1793491200000LL, /* 2026-11-01T00:00:00Z */
        .days = 7,
    };
    if (parse_args(argc, argv, &o))
        return 2;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    FILE *ndjson = NULL;
    if (o.ndjson_out) {
        ndjson = fopen(o.ndjson_out, "w");
        if (!ndjson) {
            fprintf(stderr, "engaged-gen: %s: %s\n", o.ndjson_out,
                    strerror(errno));
            return 1;
        }
        setvbuf(ndjson, NULL, _IOFBF, 1 << 20);
    }
    if (o.to_stdout)
        setvbuf(stdout, NULL, _IOFBF, 1 << 20);

    producer p;
    bool kafka = !o.to_stdout;
    if (kafka) {
        char *brokers = o.bootstrap_file
                            ? read_bootstrap_file(o.bootstrap_file)
                            : strdup(o.brokers);
        int rc = brokers ? producer_open(&p, &o, brokers) : -1;
        free(brokers);
        if (rc) {
            if (ndjson)
                fclose(ndjson);
            return 1;
        }
    }

    rng r = {o.seed};
    world w;
    if (world_init(&w, &o, &r)) {
        fprintf(stderr, "engaged-gen: out of memory for %" PRIu32
                " creators\n", o.creators);
        return 1;
    }

    stories ss;
    memset(&ss, 0, sizeof ss);
    if (o.stories)
        stories_init(&ss, &o);

    gen_stats st = {0, 0, 0};
    int status = 0;
    output out = {.o = &o, .p = kafka ? &p : NULL, .ndjson = ndjson};
    out.t0 = out.last_report = mono_s();
    double t0 = out.t0;
    for (uint64_t i = 0; !stop_requested; i++) {
        char key[16], json[1024];
        int keylen = 0, len = 0;
        int64_t ontime = INT64_MAX;
        if (i < o.events)
            len = make_event(&w, &r, &o, i, key, &keylen, json, sizeof json,
                             &st, &ontime);
        /* Story events due by this background event go first; after the
         * last one, the rest of the stories. */
        story *s;
        while (o.stories && !stop_requested && (s = stories_next(&ss)) &&
               s->ts <= ontime) {
            if (output_event(&out, s->key, s->keylen, s->json, s->len)) {
                status = 1;
                break;
            }
            st.posts += s->what == KIND_POST;
            st.followers += s->what == KIND_FOLLOWERS;
            story_advance(&ss, s);
        }
        if (status || i >= o.events || stop_requested)
            break;
        if (output_event(&out, key, keylen, json, len)) {
            status = 1;
            break;
        }
        out.background++;
    }
    if (stop_requested) {
        fprintf(stderr, "engaged-gen: interrupted after %" PRIu64
                " events\n", out.sent);
        status = 1;
    }

    uint64_t delivered = out.sent;
    if (kafka) {
        if (producer_drain(&p, o.quiet)) {
            fprintf(stderr, "engaged-gen: some deliveries never finished\n");
            status = 1;
        }
        /* Purged messages were reported as failed deliveries. */
        delivered = p.failed > out.sent ? 0 : out.sent - p.failed;
        if (p.failed) {
            fprintf(stderr, "engaged-gen: %" PRIu64 " of %" PRIu64
                    " deliveries failed\n", p.failed, out.sent);
            status = 1;
        }
        if (p.fatal)
            status = 1;
        producer_close(&p);
    } else if (fflush(stdout) == EOF || ferror(stdout)) {
        fprintf(stderr, "engaged-gen: stdout: %s\n", strerror(errno));
        status = 1;
    }
    if (ndjson && (fclose(ndjson) == EOF)) {
        fprintf(stderr, "engaged-gen: %s: %s\n", o.ndjson_out,
                strerror(errno));
        status = 1;
    }
    double secs = mono_s() - t0;
    fprintf(stderr, "%s %" PRIu64 " events (%" PRIu64 " posts, %" PRIu64
            " followers updates) in %.2f s\n", kafka ? "produced" : "wrote",
            delivered, st.posts, st.followers, secs);
    if (o.stories && !o.quiet) {
        fprintf(stderr, "story: %" PRIu64 " of those events are the "
                "stories'\n", out.sent - out.background);
        stories_report(&ss, &o);
    }
    world_free(&w);
    return status;
}

/*
 * payload: the bytes of a checkpoint, read back as Redis would read them
 * (a RESP parser of the test's own) and checked against values worked out
 * by hand from the events applied.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "state.h"

#define T0 INT64_C(1793491200000) /* 2026-11-01T00:00:00Z */

typedef struct command {
    size_t argc;
    char **argv;
    size_t *lens;
} command;

/* Parses n RESP commands ("*N\r\n" then N "$L\r\n...\r\n"). */
static command *parse(const char *p, size_t len, size_t n)
{
    command *cmds = calloc(n, sizeof *cmds);
    const char *end = p + len;
    for (size_t i = 0; i < n; i++) {
        cr_assert(p < end && *p == '*', "command %zu", i);
        char *e;
        cmds[i].argc = strtoul(p + 1, &e, 10);
        cr_assert_eq(memcmp(e, "\r\n", 2), 0);
        p = e + 2;
        cmds[i].argv = calloc(cmds[i].argc, sizeof *cmds[i].argv);
        cmds[i].lens = calloc(cmds[i].argc, sizeof *cmds[i].lens);
        for (size_t k = 0; k < cmds[i].argc; k++) {
            cr_assert_eq(*p, '$');
            size_t l = strtoul(p + 1, &e, 10);
            cr_assert_eq(memcmp(e, "\r\n", 2), 0);
            p = e + 2;
            cmds[i].argv[k] = malloc(l + 1); /* blobs hold NULs */
            memcpy(cmds[i].argv[k], p, l);
            cmds[i].argv[k][l] = 0;
            cmds[i].lens[k] = l;
            p += l;
            cr_assert_eq(memcmp(p, "\r\n", 2), 0);
            p += 2;
        }
    }
    cr_assert_eq(p, end, "%td bytes left after %zu commands", end - p, n);
    return cmds;
}

static void free_cmds(command *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < c[i].argc; k++)
            free(c[i].argv[k]);
        free(c[i].argv);
        free(c[i].lens);
    }
    free(c);
}

/* The index of the argument equal to s at or after `from`, or -1. */
static long find(const command *c, size_t from, const char *s)
{
    for (size_t k = from; k < c->argc; k++)
        if (strcmp(c->argv[k], s) == 0)
            return (long)k;
    return -1;
}

/* The value after field `f` among a creator's fields from `from`. */
static const char *field(const command *c, size_t from, const char *f)
{
    long k = find(c, from, f);
    cr_assert_geq(k, 0, "no field %s", f);
    return c->argv[k + 1];
}

static config *cfg;
static state *st;
static outbox *ob;
static int slot;

/* Applies one event to creator id of partition slot sl. */
static void apply_in(int sl, const char *id, event_type type, event_action a,
                     int64_t count, int64_t followers, int64_t ts)
{
    event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.action = a;
    ev.count = count;
    ev.followers = followers;
    ev.ts_ms = ts;
    ev.creator_id_len = strlen(id);
    memcpy(ev.creator_id, id, ev.creator_id_len);
    state_creator *c = state_creator_find(st, id, strlen(id));
    if (c == NULL)
        c = state_creator_new(st, sl, id, strlen(id));
    char detail[256];
    cr_assert_eq(state_apply(st, sl, c, &ev, detail, sizeof detail),
                 EVENT_OK, "%s", detail);
}

static void apply(const char *id, event_type type, event_action a,
                  int64_t count, int64_t followers, int64_t ts)
{
    apply_in(slot, id, type, a, count, followers, ts);
}

static void setup(void)
{
    cfg = config_default(NULL);
    char err[256];
    st = state_new(cfg, err, sizeof err);
    ob = outbox_new();
    slot = state_partition_add(st, "events", 3, STATE_NO_WATERMARK);
}

static void teardown(void)
{
    state_free(st);
    outbox_free(ob);
    config_free(cfg);
}

TestSuite(payload, .init = setup, .fini = teardown);

/* Builds pl's payload for one partition and parses its commands (*n). */
static command *build(payload *pl, const payload_part *part, size_t *n)
{
    char err[256];
    cr_assert_eq(payload_build(pl, st, ob, part, 1, err, sizeof err), 0,
                 "%s", err);
    size_t len;
    *n = payload_commands(pl);
    const char *data = payload_data(pl, &len);
    return parse(data, len, *n);
}

Test(payload, new_creators_their_tiers_and_offsets)
{
    apply("a", EVENT_FOLLOWERS, EVENT_LIKE, 0, 20000, T0);
    apply("a", EVENT_ENGAGEMENT, EVENT_LIKE, 3, -1, T0 + 1000);
    apply("b", EVENT_ENGAGEMENT, EVENT_COMMENT, 2, -1, T0 + 2000);
    payload_part part = {"events", 3, slot, 7, 2, 100, T0 + 2000, false};
    char err[256];
    payload *pl = payload_new(cfg, err, sizeof err);
    cr_assert_eq(payload_build(pl, st, ob, &part, 1, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(payload_creators(pl), 2);

    size_t len, n = payload_commands(pl);
    const char *data = payload_data(pl, &len);
    cr_assert_eq(n, 4, "MULTI, the creators, the finish, EXEC");
    command *c = parse(data, len, n);
    cr_assert_str_eq(c[0].argv[0], "MULTI");
    cr_assert_str_eq(c[3].argv[0], "EXEC");

    /* The creators: EVAL script 0 prefix group np tp expect new ... */
    command *cr = &c[1];
    cr_assert_str_eq(cr->argv[0], "EVAL");
    cr_assert_str_eq(cr->argv[3], "eng:");
    cr_assert_str_eq(cr->argv[4], "engaged");
    cr_assert_str_eq(cr->argv[5], "1");
    cr_assert_str_eq(cr->argv[6], "events:3");
    cr_assert_str_eq(cr->argv[7], "7:2");
    cr_assert_str_eq(cr->argv[8], "7:3");
    cr_assert_str_eq(cr->argv[9], "2", "two creators");
    cr_assert_str_eq(cr->argv[10], "eng:creator:a");
    cr_assert_str_eq(field(cr, 13, "tier"), "micro");
    cr_assert_str_eq(field(cr, 13, "followers"), "20000");
    cr_assert_str_eq(field(cr, 13, "likes_1h"), "3");
    cr_assert_str_eq(field(cr, 13, "engagements_7d"), "3");
    /* er = 3 / 20000 */
    cr_assert_str_eq(field(cr, 13, "er_24h"), "0.00015");
    long b = find(cr, 13, "eng:creator:b");
    cr_assert_gt(b, 0);
    cr_assert_str_eq(field(cr, (size_t)b, "tier"), "unknown");
    cr_assert_str_eq(field(cr, (size_t)b, "comments_24h"), "2");
    cr_assert_lt(find(cr, (size_t)b, "er_24h"), 0, "no followers, no er");

    /* The finish: fences with offset and watermark, windows, tier deltas. */
    command *fin = &c[2];
    cr_assert_str_eq(fin->argv[6], "events:3");
    cr_assert_str_eq(fin->argv[9], "100");
    char wm[32];
    snprintf(wm, sizeof wm, "%lld", (long long)(T0 + 2000));
    cr_assert_str_eq(fin->argv[10], wm);
    cr_assert_str_eq(fin->argv[11], "3");
    cr_assert_str_eq(fin->argv[12], "1h");
    cr_assert_str_eq(fin->argv[15], "2", "two tiers touched");
    long micro = find(fin, 16, "micro"), unknown = find(fin, 16, "unknown");
    cr_assert(micro > 0 && unknown > 0);
    cr_assert_str_eq(fin->argv[micro + 1], "32", "2 + 3 windows x 10 values");
    cr_assert_str_eq(field(fin, (size_t)micro, "creators"), "1");
    cr_assert_str_eq(field(fin, (size_t)micro, "followers"), "20000");
    cr_assert_str_eq(field(fin, (size_t)micro, "likes_7d"), "3");
    cr_assert_str_eq(field(fin, (size_t)unknown, "creators"), "1");
    cr_assert_str_eq(field(fin, (size_t)unknown, "followers"), "0");
    cr_assert_str_eq(field(fin, (size_t)unknown, "engagements_1h"), "2");
    /* No alerts. */
    cr_assert_str_eq(fin->argv[fin->argc - 1], "0");
    free_cmds(c, n);

    /* Both were made without a blob: the pre-check asks, then fences. */
    cr_assert_eq(payload_precheck_commands(pl), 2);
    const char *pre = payload_precheck(pl, &len);
    command *p = parse(pre, len, 2);
    cr_assert_str_eq(p[0].argv[0], "EXISTS");
    cr_assert_eq(p[0].argc, 3);
    cr_assert_str_eq(p[0].argv[1], "eng:state:a");
    cr_assert_str_eq(p[1].argv[0], "EVAL");
    free_cmds(p, 2);
    payload_free(pl);
}

Test(payload, a_written_creator_sends_what_changed_and_its_delta)
{
    apply("a", EVENT_FOLLOWERS, EVENT_LIKE, 0, 20000, T0);
    apply("a", EVENT_ENGAGEMENT, EVENT_LIKE, 3, -1, T0 + 1000);
    state_checkpoint_done(st);
    apply("a", EVENT_ENGAGEMENT, EVENT_SHARE, 4, -1, T0 + 5000);
    payload_part part = {"events", 3, slot, 7, 3, 120, T0 + 5000, false};
    char err[256];
    payload *pl = payload_new(cfg, err, sizeof err);
    size_t n;
    command *c = build(pl, &part, &n);
    command *cr = &c[1];
    cr_assert_str_eq(field(cr, 13, "shares_1h"), "4");
    cr_assert_str_eq(field(cr, 13, "engagements_1h"), "7");
    cr_assert_lt(find(cr, 13, "likes_1h"), 0, "unchanged: not sent");
    cr_assert_str_eq(field(cr, 13, "followers"), "20000");
    command *fin = &c[2];
    long micro = find(fin, 16, "micro");
    cr_assert_gt(micro, 0);
    cr_assert_str_eq(field(fin, (size_t)micro, "creators"), "0");
    cr_assert_str_eq(field(fin, (size_t)micro, "followers"), "0");
    cr_assert_str_eq(field(fin, (size_t)micro, "shares_24h"), "4");
    cr_assert_str_eq(field(fin, (size_t)micro, "engagements_24h"), "4");
    cr_assert_str_eq(field(fin, (size_t)micro, "likes_24h"), "0");
    cr_assert_eq(payload_precheck_commands(pl), 0, "it was written before");
    free_cmds(c, n);
    payload_free(pl);
}

/* One creator's record in a creators script, from its hash's key at
 * argv[at]: nfields (field value) pairs, then ndel deleted fields. */
typedef struct record {
    size_t nf, nd;
    char **pairs, **dels;
} record;

static record record_at(const command *c, long at)
{
    cr_assert_geq(at, 0);
    record r;
    r.nf = strtoul(c->argv[at + 1], NULL, 10);
    r.nd = strtoul(c->argv[at + 2], NULL, 10);
    r.pairs = &c->argv[at + 3];
    r.dels = r.pairs + 2 * r.nf;
    cr_assert_leq((size_t)at + 3 + 2 * r.nf + r.nd, c->argc);
    return r;
}

static const char *pair(const record *r, const char *f)
{
    for (size_t i = 0; i < r->nf; i++)
        if (strcmp(r->pairs[2 * i], f) == 0)
            return r->pairs[2 * i + 1];
    return NULL;
}

static bool deleted(const record *r, const char *f)
{
    for (size_t i = 0; i < r->nd; i++)
        if (strcmp(r->dels[i], f) == 0)
            return true;
    return false;
}

Test(payload, sums_that_are_zero_are_not_stored)
{
    /* a: 3 likes and 2 clicks at T0, 20,000 followers. */
    apply("a", EVENT_FOLLOWERS, EVENT_LIKE, 0, 20000, T0);
    apply("a", EVENT_ENGAGEMENT, EVENT_LIKE, 3, -1, T0 + 1000);
    apply("a", EVENT_ENGAGEMENT, EVENT_CLICK, 2, -1, T0 + 2000);
    payload_part part = {"events", 3, slot, 7, 2, 100, T0 + 2000, false};
    char err[256];
    payload *pl = payload_new(cfg, err, sizeof err);
    size_t n;
    command *c = build(pl, &part, &n);
    record r = record_at(&c[1], 10);
    /* tier, followers, last_event_ms, decay_state; likes, clicks and
     * engagements in each of the 3 windows; er per window. */
    cr_assert_eq(r.nf, 4 + 3 * 3 + 3, "fields sent: %zu", r.nf);
    cr_assert_eq(r.nd, 0, "never written: nothing to delete");
    cr_assert_str_eq(pair(&r, "likes_1h"), "3");
    cr_assert_str_eq(pair(&r, "clicks_7d"), "2");
    cr_assert_null(pair(&r, "views_1h"), "a sum of 0 is not sent");
    cr_assert_null(pair(&r, "comments_7d"));
    cr_assert_str_eq(pair(&r, "er_1h"), "0.00015");
    free_cmds(c, n);
    state_checkpoint_done(st);

    /* b's event 2 h later moves the watermark: a's 1 h window empties. */
    apply("b", EVENT_ENGAGEMENT, EVENT_SHARE, 1, -1, T0 + 2 * 3600000);
    payload_part later = {"events", 3, slot, 7, 3, 101, T0 + 2 * 3600000,
                          false};
    c = build(pl, &later, &n);
    r = record_at(&c[1], find(&c[1], 10, "eng:creator:a"));
    cr_assert_eq(r.nd, 3, "likes_1h, clicks_1h, engagements_1h: %zu", r.nd);
    cr_assert(deleted(&r, "likes_1h") && deleted(&r, "clicks_1h") &&
              deleted(&r, "engagements_1h"));
    cr_assert_null(pair(&r, "likes_1h"));
    cr_assert_null(pair(&r, "likes_24h"), "unchanged: not sent");
    cr_assert_str_eq(pair(&r, "er_1h"), "0", "er stays while followers do");
    record rb = record_at(&c[1], find(&c[1], 10, "eng:creator:b"));
    cr_assert_eq(rb.nd, 0);
    cr_assert_str_eq(pair(&rb, "shares_1h"), "1");
    cr_assert_null(pair(&rb, "likes_1h"));
    free_cmds(c, n);
    payload_free(pl);
}

Test(payload, ratios_as_the_hashes_write_them)
{
    char b[64];
    cr_assert_str_eq(payload_format_ratio(0, 7, b, sizeof b), "0");
    cr_assert_str_eq(payload_format_ratio(1, 4, b, sizeof b), "0.25");
    cr_assert_str_eq(payload_format_ratio(1, 3, b, sizeof b), "0.3333333333");
    cr_assert_str_eq(payload_format_ratio(200, 100, b, sizeof b), "2");
    cr_assert_str_eq(payload_format_ratio(3, 20000, b, sizeof b), "0.00015");
}

/* The share deltas of one part's table: row r (0 unknown, 1 nano, 2 micro,
 * ...), column c (creators, followers, engagements 1h, 24h, 7d). */
static int64_t share_cell(const payload *pl, size_t part, size_t r, size_t c)
{
    return payload_share_delta(pl, part)[r * 5 + c];
}

Test(payload, each_partition_gets_its_own_share_of_the_tier_deltas)
{
    int other = state_partition_add(st, "events", 5, STATE_NO_WATERMARK);
    cr_assert_geq(other, 0);
    /* a (slot) is micro and gets written; b (other) is new and unknown. */
    apply("a", EVENT_FOLLOWERS, EVENT_LIKE, 0, 20000, T0);
    apply("a", EVENT_ENGAGEMENT, EVENT_LIKE, 3, -1, T0 + 1000);
    state_checkpoint_done(st);
    /* a moves to mid and gets 4 shares; b on the other partition. */
    apply("a", EVENT_FOLLOWERS, EVENT_LIKE, 0, 60000, T0 + 2000);
    apply("a", EVENT_ENGAGEMENT, EVENT_SHARE, 4, -1, T0 + 3000);
    event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = EVENT_ENGAGEMENT;
    ev.action = EVENT_COMMENT;
    ev.count = 2;
    ev.followers = -1;
    ev.ts_ms = T0 + 4000;
    ev.creator_id_len = 1;
    ev.creator_id[0] = 'b';
    state_creator *b = state_creator_new(st, other, "b", 1);
    char detail[256];
    cr_assert_eq(state_apply(st, other, b, &ev, detail, sizeof detail),
                 EVENT_OK);

    payload_part parts[2] = {{"events", 3, slot, 7, 3, 120, T0 + 3000, false},
                             {"events", 5, other, 2, 0, 9, T0 + 4000, false}};
    char err[256];
    payload *pl = payload_new(cfg, err, sizeof err);
    cr_assert_eq(payload_build(pl, st, ob, parts, 2, err, sizeof err), 0);
    cr_assert_eq(payload_share_rows(pl), 6);
    cr_assert_str_eq(payload_share_tiers(pl)[0], "unknown");
    cr_assert_str_eq(payload_share_tiers(pl)[2], "micro");
    cr_assert_str_eq(payload_share_tiers(pl)[3], "mid");
    /* Part 0: a leaves micro (1, 20000, 3 engagements) and joins mid
     * (1, 60000, 7 engagements in every window). */
    int64_t micro[5] = {-1, -20000, -3, -3, -3}, mid[5] = {1, 60000, 7, 7, 7};
    for (size_t c = 0; c < 5; c++) {
        cr_assert_eq(share_cell(pl, 0, 2, c), micro[c], "micro column %zu", c);
        cr_assert_eq(share_cell(pl, 0, 3, c), mid[c], "mid column %zu", c);
        cr_assert_eq(share_cell(pl, 0, 0, c), 0, "nothing unknown on part 0");
        /* Part 1: b, unknown, 2 comments. */
        cr_assert_eq(share_cell(pl, 1, 0, c), c == 0 ? 1 : c == 1 ? 0 : 2);
        cr_assert_eq(share_cell(pl, 1, 2, c), 0);
        cr_assert_eq(share_cell(pl, 1, 3, c), 0);
    }

    /* In the finish script, after the tier hashes' deltas: part 0's
     * cells that are not 0 (10), then part 1's (4), each field and delta. */
    size_t len, n = payload_commands(pl);
    const char *data = payload_data(pl, &len);
    command *c = parse(data, len, n);
    command *fin = &c[n - 2];
    long p0 = find(fin, 16, "micro.creators");
    cr_assert_gt(p0, 0);
    cr_assert_str_eq(fin->argv[p0 - 1], "10");
    cr_assert_str_eq(field(fin, (size_t)p0 - 1, "micro.creators"), "-1");
    cr_assert_str_eq(field(fin, (size_t)p0 - 1, "micro.followers"), "-20000");
    cr_assert_str_eq(field(fin, (size_t)p0 - 1, "micro.engagements_7d"), "-3");
    cr_assert_str_eq(field(fin, (size_t)p0 - 1, "mid.followers"), "60000");
    cr_assert_str_eq(field(fin, (size_t)p0 - 1, "mid.engagements_1h"), "7");
    long p1 = (long)p0 + 20;
    cr_assert_str_eq(fin->argv[p1], "4");
    cr_assert_str_eq(fin->argv[p1 + 1], "unknown.creators");
    cr_assert_str_eq(fin->argv[p1 + 2], "1");
    cr_assert_str_eq(fin->argv[p1 + 7], "unknown.engagements_7d");
    cr_assert_str_eq(fin->argv[p1 + 8], "2");
    /* Then the alerts: maxlen and none. */
    cr_assert_str_eq(fin->argv[p1 + 10], "0");
    cr_assert_eq(fin->argc, (size_t)p1 + 11);
    free_cmds(c, n);
    payload_free(pl);
}

/* The score a creators script's ZADD gives creator id: its wake time. */
static void expect_wake(const command *c, long at, const char *id)
{
    const state_creator *cr = state_creator_find(st, id, strlen(id));
    cr_assert_not_null(cr);
    char w[32];
    if (state_creator_wake(cr) == STATE_NO_WAKE)
        snprintf(w, sizeof w, "+inf");
    else
        snprintf(w, sizeof w, "%lld", (long long)state_creator_wake(cr));
    cr_assert_str_eq(c->argv[at], w, "%s's wake", id);
    cr_assert_str_eq(c->argv[at + 1], id);
}

/* The blob a creators script's MSET gives creator id: its encoding. */
static void expect_blob(const command *c, long at, const char *id)
{
    const state_creator *cr = state_creator_find(st, id, strlen(id));
    buf b = BUF_INIT;
    state_creator_encode(st, cr, &b);
    char key[64];
    snprintf(key, sizeof key, "eng:state:%s", id);
    cr_assert_str_eq(c->argv[at], key);
    cr_assert_eq(c->lens[at + 1], b.len, "%s's blob", id);
    cr_assert_eq(memcmp(c->argv[at + 1], b.data, b.len), 0, "%s's blob", id);
    buf_free(&b);
}

Test(payload, blobs_in_one_mset_and_wakes_in_one_zadd_per_partition)
{
    int other = state_partition_add(st, "events", 5, STATE_NO_WATERMARK);
    apply("a", EVENT_ENGAGEMENT, EVENT_LIKE, 3, -1, T0);
    apply_in(other, "b", EVENT_ENGAGEMENT, EVENT_LIKE, 1, -1, T0 + 1000);
    apply("c", EVENT_ENGAGEMENT, EVENT_SHARE, 2, -1, T0 + 2000);
    payload_part parts[2] = {{"events", 3, slot, 7, 3, 120, T0 + 2000, false},
                             {"events", 5, other, 2, 0, 9, T0 + 1000, false}};
    char err[256];
    payload *pl = payload_new(cfg, err, sizeof err);
    cr_assert_eq(payload_build(pl, st, ob, parts, 2, err, sizeof err), 0);
    size_t len, n = payload_commands(pl);
    const char *data = payload_data(pl, &len);
    command *c = parse(data, len, n);
    cr_assert_eq(n, 4, "MULTI, the creators, the finish, EXEC");
    command *cr = &c[1];
    /* After the fences (2 parts x 3): the count, then the records. */
    cr_assert_str_eq(cr->argv[12], "3");
    long ka = find(cr, 13, "eng:creator:a"), kb = find(cr, 13, "eng:creator:b"),
         kc = find(cr, 13, "eng:creator:c");
    cr_assert(ka == 13 && kb > ka && kc > kb, "records in the dirty order");
    record rc = record_at(cr, kc);
    long m = kc + 3 + 2 * (long)rc.nf + (long)rc.nd;
    /* One MSET's pairs, in the records' order. */
    expect_blob(cr, m, "a");
    expect_blob(cr, m + 2, "b");
    expect_blob(cr, m + 4, "c");
    /* Two ZADDs: events:3 (a then c), events:5 (b). */
    long z = m + 6;
    cr_assert_str_eq(cr->argv[z], "2");
    cr_assert_str_eq(cr->argv[z + 1], "eng:wake:engaged:events:3");
    cr_assert_str_eq(cr->argv[z + 2], "2");
    expect_wake(cr, z + 3, "a");
    expect_wake(cr, z + 5, "c");
    cr_assert_str_eq(cr->argv[z + 7], "eng:wake:engaged:events:5");
    cr_assert_str_eq(cr->argv[z + 8], "1");
    expect_wake(cr, z + 9, "b");
    cr_assert_eq(cr->argc, (size_t)z + 11);
    free_cmds(c, n);
    state_checkpoint_done(st);

    /* a again, in a bucket that expires later than its first: its wake,
     * the first bucket's expiry, is the one the index has. */
    apply("a", EVENT_ENGAGEMENT, EVENT_LIKE, 1, -1, T0 + 5 * 60000);
    parts[0].seq++;
    cr_assert_eq(payload_build(pl, st, ob, parts, 1, err, sizeof err), 0);
    n = payload_commands(pl);
    data = payload_data(pl, &len);
    c = parse(data, len, n);
    cr = &c[1];
    cr_assert_str_eq(cr->argv[9], "1");
    cr_assert_str_eq(cr->argv[10], "eng:creator:a");
    record ra = record_at(cr, 10);
    m = 10 + 3 + 2 * (long)ra.nf + (long)ra.nd;
    expect_blob(cr, m, "a");
    cr_assert_str_eq(cr->argv[m + 2], "0", "no ZADD: the wake is unchanged");
    cr_assert_eq(cr->argc, (size_t)m + 3);
    free_cmds(c, n);
    payload_free(pl);
}

Test(payload, creators_go_500_to_a_script)
{
    char id[16];
    for (int i = 0; i < 501; i++) {
        snprintf(id, sizeof id, "c%d", i);
        apply(id, EVENT_ENGAGEMENT, EVENT_VIEW, 1, -1, T0 + i);
    }
    payload_part part = {"events", 3, slot, 7, 2, 501, T0 + 500, false};
    char err[256];
    payload *pl = payload_new(cfg, err, sizeof err);
    size_t n;
    command *c = build(pl, &part, &n);
    cr_assert_eq(n, 5, "MULTI, 2 creators scripts, the finish, EXEC");
    cr_assert_eq(payload_creators(pl), 501);
    cr_assert_str_eq(c[1].argv[9], "500");
    cr_assert_str_eq(c[2].argv[9], "1");
    cr_assert_str_eq(c[2].argv[10], "eng:creator:c500");
    /* Each script's ZADD holds its own creators. */
    long z1 = find(&c[1], 10, "eng:wake:engaged:events:3");
    cr_assert_str_eq(c[1].argv[z1 + 1], "500");
    cr_assert_eq(c[1].argc, (size_t)z1 + 2 + 1000);
    long z2 = find(&c[2], 10, "eng:wake:engaged:events:3");
    cr_assert_str_eq(c[2].argv[z2 + 1], "1");
    expect_wake(&c[2], z2 + 2, "c500");
    free_cmds(c, n);
    payload_free(pl);
}

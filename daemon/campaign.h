/*
 * campaign: what a creator's events bring its campaigns (issue 16).  Pure:
 * event time and the watermark are arguments; no clock, no I/O; one owner.
 *
 * Attribution.  A post event with a campaign_id makes its post part of
 * that campaign.  An engagement event counts for campaign C when it
 * carries campaign_id C, or, carrying none, when its post_id is a post of
 * the same creator remembered for C (the event's own campaign_id wins).  A
 * creator remembers its campaign posts for post_memory of event time after
 * the post's ts (forgotten once the partition's watermark is past it) and
 * at most max_posts of them, the oldest by ts forgotten first.  Followers
 * events never count.  A campaign_id of spaces only is none.
 *
 * The ledger.  Between two checkpoints, every counting event adds to the
 * ledger of its partition (its state slot): per campaign, tier and UTC
 * day, and per campaign and creator (the engagements it
 * brought, and its tier and followers at its first counting event since
 * the last checkpoint: whether the creator joins the campaign then, Redis
 * decides, as it knows every creator that joined).  Sponsored posts with a
 * brand add to the creator's brand history.  The checkpoint writes the
 * ledger of the partitions it covers, in its transaction, and clears it
 * (campaign_ledger_done); a partition read back drops its ledger
 * (campaign_ledger_drop).
 */
#ifndef ENGAGED_CAMPAIGN_H
#define ENGAGED_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"

/* The sums a campaign keeps, in the order of their fields. */
enum campaign_metric {
    CAMPAIGN_POSTS = 0,
    CAMPAIGN_SPONSORED_POSTS,
    CAMPAIGN_LIKES,
    CAMPAIGN_COMMENTS,
    CAMPAIGN_SHARES,
    CAMPAIGN_SAVES,
    CAMPAIGN_VIEWS,
    CAMPAIGN_CLICKS,
    CAMPAIGN_CONVERSIONS,
    CAMPAIGN_ENGAGEMENTS,   /* likes + comments + shares + saves */
    CAMPAIGN_METRICS
};

/* "posts", ..., "engagements".  Static string. */
const char *campaign_metric_name(int metric);

/* --- a creator's campaign posts -------------------------------------------- */

typedef struct campaign_posts campaign_posts;

/*
 * The campaign event `ev` counts for, into out (NUL-terminated, at most
 * EVENT_ID_MAX bytes), or false when none: its own campaign_id, else its
 * post's (a post remembered in *h).  W: the partition's watermark with ev
 * applied; posts forgotten at W do not count.  Followers events: none.
 */
bool campaign_of(const campaign_posts *h, const event *ev, int64_t W,
                 int64_t post_memory, char out[EVENT_ID_MAX + 1]);

/*
 * Remembers post event `ev` for campaign `campaign` (its post_id must not
 * be empty), forgetting posts past post_memory at W and, past max_posts,
 * the oldest.  A post_id remembered already takes the new campaign and ts.
 * *h may be NULL (none yet) and is replaced.  Returns 0, or -1 when out of
 * memory (*h unchanged).
 */
int campaign_remember(campaign_posts **h, const event *ev,
                      const char *campaign, int64_t W, int64_t post_memory,
                      size_t max_posts);

/* Posts remembered (0 for NULL), and bytes held (for memory accounting). */
size_t campaign_posts_count(const campaign_posts *h);
size_t campaign_posts_memory(const campaign_posts *h);
void campaign_posts_free(campaign_posts *h);

/* Appends the posts to out (a version byte, a count, then the posts). */
void campaign_posts_encode(const campaign_posts *h, buf *out);

/* Reads posts written by campaign_posts_encode() from data[*pos..len). */
buf_decode_result campaign_posts_decode(campaign_posts **h, const char *data,
                                        size_t len, size_t *pos);

/* --- the ledger -------------------------------------------------------------- */

typedef struct campaign_ledger campaign_ledger;

/*
 * A campaign's sums: in the ledger, of one partition (slot), tier and UTC
 * day; merged (campaign_merge), of one tier or of one day over the
 * partitions a checkpoint writes (slot -1, and day -1 or tier -2 for what
 * the merge summed over).
 */
typedef struct campaign_sums {
    const char *campaign;
    int slot;
    int tier;                       /* -1 unknown */
    int64_t day;                    /* days since the epoch */
    int64_t v[CAMPAIGN_METRICS];
    int64_t first_ms, last_ms;      /* smallest and largest ts */
} campaign_sums;

/* A creator in a campaign since the last checkpoint. */
typedef struct campaign_member {
    const char *campaign;
    const char *creator;
    size_t creator_len;
    int slot;
    int64_t engagements;            /* brought since the last checkpoint */
    int tier;                       /* at its first counting event since */
    int64_t followers;              /* then; -1 unknown */
} campaign_member;

/* A brand or sector a creator promoted since the last checkpoint. */
typedef struct campaign_brand {
    const char *creator;
    size_t creator_len;
    int slot;
    const char *brand;              /* normalized; "" for a sector row */
    const char *sector;             /* normalized; "" for a brand row */
    int64_t posts;                  /* sponsored posts (brand rows) */
    int64_t last_ms;                /* the latest post's ts */
} campaign_brand;

campaign_ledger *campaign_ledger_new(void);
void campaign_ledger_free(campaign_ledger *l);

/*
 * Adds event ev of creator (creator, len) in partition `slot`, counting
 * for `campaign` under `tier` with `followers` (-1 unknown).
 * Returns 0, or -1 when out of memory (the ledger may hold part of it: the
 * caller drops the partition's ledger with its state).
 */
int campaign_ledger_add(campaign_ledger *l, int slot, const char *campaign,
                        const char *creator, size_t len, int tier,
                        int64_t followers, const event *ev);

/*
 * Adds a sponsored post of brand (and sector, "" when unknown), both
 * normalized, to the creator's brand history.  Returns 0 or -1 (as
 * above).
 */
int campaign_ledger_brand(campaign_ledger *l, int slot, const char *creator,
                          size_t len, const char *brand, const char *sector,
                          int64_t ts);

/* The rows, for the checkpoint.  Pointers valid until the ledger changes. */
size_t campaign_ledger_sums(const campaign_ledger *l);
const campaign_sums *campaign_ledger_sum(const campaign_ledger *l, size_t i);
size_t campaign_ledger_members(const campaign_ledger *l);
const campaign_member *campaign_ledger_member(const campaign_ledger *l,
                                              size_t i);
size_t campaign_ledger_brands(const campaign_ledger *l);
const campaign_brand *campaign_ledger_brand_row(const campaign_ledger *l,
                                                size_t i);

/* The rows of slots with done[slot] were written (done NULL: all). */
void campaign_ledger_done(campaign_ledger *l, const bool *done,
                          size_t nslots);

/* A partition's state was dropped: its rows go too. */
void campaign_ledger_drop(campaign_ledger *l, int slot);

/* Bytes held (for memory accounting). */
size_t campaign_ledger_memory(const campaign_ledger *l);

/* --- the ledger merged for one checkpoint --------------------------------- */

/*
 * A checkpoint writes one delta per campaign and tier and per campaign and
 * day, whatever the number of partitions it covers (issue 16: never one
 * per partition or per event).  A merge is scratch space the payload owns
 * and reuses; its rows' strings are its own.
 */
typedef struct campaign_merge campaign_merge;

campaign_merge *campaign_merge_new(void);
void campaign_merge_free(campaign_merge *m);

/*
 * Replaces what m holds with the sums of the ledger's rows whose slot
 * take(slot, arg) accepts: by campaign and tier (day -1; first_ms and
 * last_ms over the rows), and by campaign and day (tier -2), each in the
 * order the ledger first saw it.  Returns 0, or -1 when out of memory (m
 * then holds nothing).
 */
int campaign_merge_ledger(campaign_merge *m, const campaign_ledger *l,
                          bool (*take)(int slot, const void *arg),
                          const void *arg);

/* The merged rows.  Pointers valid until the next merge. */
size_t campaign_merge_tiers(const campaign_merge *m);
const campaign_sums *campaign_merge_tier(const campaign_merge *m, size_t i);
size_t campaign_merge_days(const campaign_merge *m);
const campaign_sums *campaign_merge_day(const campaign_merge *m, size_t i);

#endif

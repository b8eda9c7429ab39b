/*
 * conflict: the brand_conflict detector (issue 3, alert kind 2).  Pure: the
 * watermark is an argument; no clock, no global state; any thread, one
 * owner per history.
 *
 * A creator's sponsored posts are kept in its conflict_history.  A new
 * sponsored post for brand B in sector S (the event's sector, else the
 * catalogue's brand.<B>) conflicts with each kept post of the same creator
 * for another brand C of S whose ts is at most S's exclusivity window w
 * away, before or after (|dt| <= w: events arrive out of order).  w is
 * [conflict] sector.<S> when set, else [conflict] window; 0 turns the check
 * off for that sector.  Brands and sectors compare after trimming and ASCII
 * lower-casing (config_name_normalize()), and alerts carry them in that
 * form.  The same brand twice is never a conflict.
 *
 * One alert per creator, sector and unordered pair of brands within a
 * window.  Precisely: the alerts of a pair {B, C} in sector S form
 * episodes.  An episode remembers `first` and `last`, the earliest and the
 * latest ts of the posts of its conflicts, and it covers the event times
 * [first - w, last + w].  When a post of B conflicts with posts of C:
 *   - if the new post, or one of the posts of C it conflicts with, lies in
 *     an episode of (S, {B, C}) already kept, the conflict joins it: no
 *     alert, and the episode widens to take in these posts;
 *   - otherwise it opens a new episode and is reported once, against the
 *     nearest conflicting post of C (the earlier on a tie).
 * So a creator alternating pepsi and coca-cola every week raises one alert,
 * and the same pair again long after (more than w after the last post of
 * the episode) raises a new one, with a new alert_id.  Which conflicts
 * join which episode depends on the order the posts arrive in, and only on
 * it: a replay decides the same alerts.
 *
 * The conflict's starts_at is the later ts of its two posts, which is also
 * the episode's start; alert_id = fingerprint(brand_conflict, creator_id,
 * S, {B, C} sorted, starts_at).
 *
 * Bounds.  Posts are kept while a post that may still arrive could conflict
 * with them: a post older than W - late_grace - the longest window is
 * refused as too late, so a kept post is dropped once its ts is below
 * W - late_grace - longest window - the largest exclusivity window
 * ([conflict] window or any sector.<S>), and an episode once its last + the
 * largest exclusivity window is.  "The longest window" is the longest of
 * the [metrics] windows and [decay] baseline, so that this holds whether or
 * not the state's too-late horizon counts the decay baseline.  At most CONFLICT_MAX_POSTS posts are kept, and at most
 * CONFLICT_MAX_BYTES bytes of them: past either, the oldest posts by ts are
 * dropped (so a very prolific sponsor can miss a conflict with a post more
 * than 64 sponsored posts back).  At most CONFLICT_MAX_EPISODES episodes,
 * past which the one with the oldest `last` is dropped (its pair may then
 * alert again).  Posts with no known sector, or in a sector whose window is
 * 0, are not kept.
 *
 * Memory: a creator without sponsored posts has a NULL history and costs
 * nothing.  A history is one allocation holding its records packed as in
 * the blob: a post costs its four strings plus about 6 bytes (35 to 40
 * bytes for typical ids), so 64 typical posts take about 2.5 KiB.
 */
#ifndef ENGAGED_CONFLICT_H
#define ENGAGED_CONFLICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "buf.h"
#include "config.h"

#define CONFLICT_MAX_POSTS    64
#define CONFLICT_MAX_BYTES    4096  /* of post records */
#define CONFLICT_MAX_EPISODES 16
/* A post conflicts with at most one post per other kept brand. */
#define CONFLICT_MAX_FOUND    CONFLICT_MAX_POSTS

/* A creator's sponsored posts and alerted episodes; NULL when none. */
typedef struct conflict_history conflict_history;

/* A sponsored post, as the event gives it.  Strings NUL-terminated. */
typedef struct conflict_post {
    int64_t ts;
    const char *brand;          /* not blank */
    const char *sector;         /* "" or NULL when the event has none */
    const char *post_id;
    const char *campaign_id;    /* "" or NULL when the event has none */
} conflict_post;

/* One conflict to alert on.  Index 0 is the earlier post (on equal ts, the
 * one kept before). */
typedef struct conflict_found {
    const char *sector;             /* normalised */
    const char *brands[2];          /* normalised */
    const char *post_ids[2];
    const char *campaign_ids[2];    /* "" when unknown */
    int64_t ts[2];
    int64_t window_ms;              /* the sector's exclusivity window */
    int64_t starts_at;              /* ts[1] */
    uint64_t fingerprint;           /* the alert_id */
} conflict_found;

/*
 * The conflicts of one post.  The caller owns it and may reuse it for every
 * call (each call starts it afresh); conflict_result_free() releases the
 * memory its strings take.  The strings of found[] belong to it and stay
 * valid until the next conflict_check() with it or conflict_result_free().
 */
typedef struct conflict_result {
    size_t nfound;
    conflict_found found[CONFLICT_MAX_FOUND];
    buf text;                       /* private: the strings of found[] */
} conflict_result;

typedef enum conflict_outcome {
    CONFLICT_ERROR = -1,        /* out of memory: nothing changed */
    CONFLICT_CHECKED = 0,       /* checked and kept; result->nfound alerts */
    CONFLICT_NO_SECTOR,         /* no sector known (event or catalogue):
                                   not checked, not kept */
    CONFLICT_EXEMPT,            /* the sector's window is 0: not checked,
                                   not kept */
    CONFLICT_DUPLICATE          /* a post with this post_id and brand is
                                   kept already (a re-sent event): ignored */
} conflict_outcome;

/* "checked", "no_sector", "exempt", "duplicate", "error".  Static. */
const char *conflict_outcome_name(conflict_outcome outcome);

/*
 * Checks sponsored post `post` of creator `creator_id` (creator_len bytes,
 * for the fingerprints) against its history *h, then keeps it there.
 *   cfg:    [conflict], the catalogue, late_grace and the [metrics] windows.
 *   h:      the creator's history, NULL when empty; replaced (and freed) as
 *           the history changes, may become NULL again.
 *   W:      the partition's watermark, once the post's event is applied.
 *   result: emptied, then filled with the conflicts to alert on.
 * Returns the outcome; on CONFLICT_ERROR *h and result are unchanged but
 * for result->nfound = 0.  The history is pruned (see the top of this
 * file) whatever the outcome.
 */
conflict_outcome conflict_check(const config *cfg, conflict_history **h,
                                const char *creator_id, size_t creator_len,
                                int64_t W, const conflict_post *post,
                                conflict_result *result);

/*
 * Drops what watermark W no longer needs (see "Bounds" above); frees the
 * history and sets *h to NULL when nothing is left.  Returns 0, or -1 when
 * out of memory (*h unchanged, still valid).
 */
int conflict_prune(const config *cfg, conflict_history **h, int64_t W);

/* Frees a history; NULL is fine. */
void conflict_free(conflict_history *h);

/* Kept posts and episodes; 0 for NULL. */
size_t conflict_posts(const conflict_history *h);

/*
 * The distinct brands of the kept posts with ts >= since, newest first, at
 * most max, into out (pointers into h: valid until h changes).  Kept posts
 * are those with a known sector.  Returns how many.
 */
size_t conflict_brands_since(const conflict_history *h, int64_t since,
                             const char **out, size_t max);
size_t conflict_episodes(const conflict_history *h);

/* Bytes allocated for the history (0 for NULL), for memory accounting. */
size_t conflict_memory(const conflict_history *h);

/* Releases the strings of a result (it stays usable).  NULL is fine. */
void conflict_result_free(conflict_result *r);

/*
 * Appends the history to out: a version byte (1), the numbers of posts and
 * episodes and the byte length of the records (uvarints), then the records.
 * A NULL history is 4 bytes.
 */
void conflict_encode(const conflict_history *h, buf *out);

/*
 * Reads a history written by conflict_encode() from data[*pos..len) into
 * *h (NULL when it is empty) and advances *pos past it.  Returns
 * BUF_DECODED; BUF_CORRUPT when the bytes are not such a history, BUF_NOMEM
 * when memory runs out (*h is then NULL and *pos unspecified).  *h must not
 * hold a history on entry.
 */
buf_decode_result conflict_decode(conflict_history **h, const char *data, size_t len,
                    size_t *pos);

/*
 * Fills *a with the brand_conflict alert of *f for `creator_id`, whose tier
 * name is `tier` (both borrowed, as are f's strings: all must outlive *a).
 */
void conflict_alert(const conflict_found *f, const char *creator_id,
                    const char *tier, alert *a);

#endif

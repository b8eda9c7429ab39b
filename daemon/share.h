/*
 * share: this instance's share of the tier hashes (issue 18), for the
 * per-tier gauges of /metrics.  For every partition it holds, the part of
 * each tier's creators, followers and windowed engagements that the
 * partition's creators make up, as of the partition's last committed
 * checkpoint.  Summed over every instance of a group, at a quiet moment,
 * that is each `<prefix>tier:<tier>` hash exactly, whatever moved where:
 *   - Redis keeps each partition's share in `<prefix>tier_share:<group>:<tp>`
 *     (schemas/redis.md), moved by the same exact deltas as the tier hashes
 *     in the same checkpoint transaction (payload.h), and stamped with the
 *     partition's fence value, so that a share a checkpoint did not move
 *     (an engaged without shares wrote the partition) is known to be stale;
 *   - a claim reads the share back (store.h), or rebuilds a stale one from
 *     the partition's creator hashes;
 *   - a committed checkpoint adds its deltas (payload_share_delta), a
 *     partition revoked, lost, fenced or read back leaves with its share.
 * Windowed engagements roll with the creators' wakes, which the checkpoint
 * writes as deltas like any other change: the share rolls with the tier
 * hashes, never apart.
 *
 * A share is a table of rows, one per tier (row 0 "unknown", then the
 * configured tiers in the order they had when the share was made; a
 * reload may reorder tiers, never rename them), of columns: creators,
 * followers, then engagements over each configured window.  Rows are
 * matched by name wherever they cross a module.
 *
 * Pure: no I/O, no clock.  One owner thread (the main loop).
 */
#ifndef ENGAGED_SHARE_H
#define ENGAGED_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"

#define SHARE_COL_CREATORS 0
#define SHARE_COL_FOLLOWERS 1
#define SHARE_COL_ENGAGEMENTS 2     /* window 0's column; one per window */

/* Rows at most: the configured tiers and "unknown". */
#define SHARE_MAX_ROWS (CONFIG_MAX_TIERS + 1)
/* Columns at most. */
#define SHARE_MAX_COLS (SHARE_COL_ENGAGEMENTS + CONFIG_MAX_WINDOWS)

typedef struct share share;

/*
 * An empty share (no partition held) for cfg's tiers and windows, whose
 * names it copies: cfg may change afterwards.  Returns NULL with errstr
 * when out of memory.
 */
share *share_new(const config *cfg, char *errstr, size_t errstr_size);

/* Frees the share; NULL is fine. */
void share_free(share *sh);

/* Rows (tiers, "unknown" included) and columns of every table. */
size_t share_rows(const share *sh);
size_t share_cols(const share *sh);

/* Row r's tier name ("unknown" for row 0); static while sh lives. */
const char *share_tier(const share *sh, size_t r);

/* The row of tier `name` (len bytes), or -1 when it is not configured. */
int share_row(const share *sh, const char *name, size_t len);

/* Window w's label as the hashes name it ("1h", "24h", "7d"). */
const char *share_window(const share *sh, size_t w);

/*
 * out = the field of row r, column c in a `tier_share` hash:
 * "<tier>.creators", "<tier>.followers" or "<tier>.engagements_<window>".
 * out is reset first.
 */
void share_field(const share *sh, size_t r, size_t c, buf *out);

/*
 * Reads one field of a `tier_share` hash into cells (share_rows x
 * share_cols): a field of a tier or window not configured, or any other
 * field (the stamp), is skipped.  Returns 0, or -1 when the field is one
 * of ours and its value is not a decimal integer (cells unchanged).
 */
int share_parse(const share *sh, const char *field, size_t flen,
                const char *value, size_t vlen, int64_t *cells);

/*
 * Adds to cells (share_rows x share_cols) one creator as its hash reads:
 * its tier (`tier`, len bytes: a tier not configured is skipped, as the
 * gauges skip it), its followers (counted when > 0: -1 is unknown) and
 * its engagements over each window (share_cols - 2 values).  For
 * rebuilding a stale share.
 */
void share_count(const share *sh, int64_t *cells, const char *tier,
                 size_t len, int64_t followers, const int64_t *engagements);

/*
 * Holds topic/partition with `cells` (copied) as its share, replacing
 * what it held for it.  Returns 0, or -1 when out of memory (the
 * partition is then not held).
 */
int share_set(share *sh, const char *topic, int32_t partition,
              const int64_t *cells);

/*
 * Adds a committed checkpoint's deltas to a held partition's share: nrows
 * rows, row r of tier tiers[r] (matched by name; a tier not configured is
 * skipped), each of share_cols() columns.  A partition not held is left
 * alone.  Returns whether it was held.
 */
bool share_add(share *sh, const char *topic, int32_t partition,
               const char *const *tiers, size_t nrows, const int64_t *cells);

/* Forgets a partition's share; one not held is ignored. */
void share_drop(share *sh, const char *topic, int32_t partition);

/* Partitions held. */
size_t share_partitions(const share *sh);

/* The held partition's cells, or NULL when not held; valid until the next
 * call that changes sh. */
const int64_t *share_get(const share *sh, const char *topic,
                         int32_t partition);

/* out (share_rows x share_cols) = the sum over every partition held. */
void share_sum(const share *sh, int64_t *out);

#endif

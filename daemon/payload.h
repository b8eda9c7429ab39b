/*
 * payload: the bytes of one checkpoint, built from the state on the main
 * thread (checkpoint.h sends them).  Pure: no I/O, no clock; one owner.
 *
 * A checkpoint is one MULTI/EXEC holding Lua scripts (schemas/redis.md):
 * chunks that write the changed creators (their hash, their state blob,
 * their wake time), then one that moves the partitions' fences, offsets
 * and watermarks, applies the per-tier deltas (tally.h) to the tier hashes
 * and to each partition's share of them (share.h), and adds the alerts to
 * the Redis stream.  Every script first checks each partition's
 * fence ("epoch:seq"): a stale owner is refused (FENCED) and a checkpoint
 * that was already applied, retried after a lost reply, is recognised
 * (DUP), so that nothing is ever written twice.
 *
 * Beside it, a pre-check: EXISTS of the state keys of the creators made
 * without a blob in Redis (new, or taken as new without asking), then the
 * fence check alone.  Sent before the payload's first send: a creator that
 * has a blob after all (partitions added to the topic, data from an older
 * engaged) refuses the checkpoint, nothing written.
 */
#ifndef ENGAGED_PAYLOAD_H
#define ENGAGED_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "outbox.h"
#include "state.h"

typedef struct payload payload;

/* A partition a checkpoint writes. */
typedef struct payload_part {
    const char *topic;
    int32_t partition;
    int slot;               /* state slot */
    uint64_t epoch;         /* from the claim */
    uint64_t seq;           /* checkpoints written under this epoch */
    int64_t offset;         /* next offset to consume; -1 for none */
    int64_t watermark;      /* STATE_NO_WATERMARK for none */
    bool fenced;            /* out (checkpoint_wait): another instance owns
                             * it now */
} payload_part;

/* A payload for cfg (kept by pointer).  NULL with errstr when out of
 * memory. */
payload *payload_new(const config *cfg, char *errstr, size_t errstr_size);
void payload_free(payload *pl);

/*
 * Builds the checkpoint of st's dirty creators and ob's alerts that belong
 * to `parts` (others are left out, never written blind) and of the parts'
 * offsets and watermarks, replacing what the payload held.
 * Returns 0, or -1 with errstr when out of memory.
 */
int payload_build(payload *pl, const state *st, const outbox *ob,
                  const payload_part *parts,
                  size_t nparts, char *errstr, size_t errstr_size);

/* The transaction's RESP bytes (MULTI ... EXEC) and its commands. */
const char *payload_data(const payload *pl, size_t *len);
size_t payload_commands(const payload *pl);

/* The pre-check's RESP bytes and commands (0: no pre-check); its last
 * command is the fence check, whose reply is an array. */
const char *payload_precheck(const payload *pl, size_t *len);
size_t payload_precheck_commands(const payload *pl);

/* Creators the payload writes. */
size_t payload_creators(const payload *pl);

/*
 * The deltas the last payload_build() adds to each partition's share of
 * the tier hashes (share.h; the `tier_share` hashes it writes), for the
 * caller to add to its own once the checkpoint is committed.
 * payload_share_rows() rows, named payload_share_tiers()[r] ("unknown",
 * then the tiers as they were at that build: a reload may reorder them
 * since), of share.h's columns (creators, followers, engagements over
 * each window); payload_share_delta(pl, i) is parts[i]'s table.  Valid,
 * and owned by the payload, until its next build.  Main thread.
 */
size_t payload_share_rows(const payload *pl);
const char *const *payload_share_tiers(const payload *pl);
const int64_t *payload_share_delta(const payload *pl, size_t i);

/*
 * a / b as the creator and tier hashes write ratios (b != 0): "0", else
 * ten significant digits at most (at most 20 decimals), without trailing
 * zeros or a trailing point.  Returns out.
 */
char *payload_format_ratio(int64_t a, int64_t b, char *out, size_t size);

#endif

/*
 * partitions: the Kafka partitions this instance was assigned, and its
 * ownership of them.  A partition assigned by the group is claimed in
 * Redis (store_claim_parts: its fence epoch moves, its offset and
 * watermark are read back), given a state slot, then assigned in Kafka
 * from that offset; it is paused and resumed with Redis's health, read
 * back from Redis when a checkpoint was refused or memory ran out
 * (partitions_rewind), and forgotten when revoked, lost or fenced.
 *
 * It keeps this instance's share of the tier hashes (share.h), the
 * partitions' own, for the per-tier gauges of /metrics.
 *
 * It also keeps the filter of the creators Redis holds a state blob of
 * (bloom.h), learnt from the wake indexes of the partitions claimed: a
 * creator it was never told of is made at once without asking Redis.
 *
 * Main thread only.
 */
#ifndef ENGAGED_PARTITIONS_H
#define ENGAGED_PARTITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "bloom.h"
#include "config.h"
#include "metrics.h"
#include "share.h"
#include "source.h"
#include "state.h"
#include "store.h"

/* One partition, as the loop and the batch read it.  Written by this
 * module, and by the loop for the offsets it moves. */
typedef struct partitions_entry {
    bool used;               /* the table entry holds a partitions_entry */
    bool claimed;            /* claimed in Redis and assigned in Kafka */
    bool paused;
    bool assigned;           /* assigned in Kafka (claimed or not) */
    char *topic;
    int32_t partition;
    int slot;                /* state slot once claimed */
    uint64_t gen;            /* which claim: a batch item read under an
                              * older one is not applied */
    uint64_t epoch, seq;     /* the fence: claim epoch, checkpoints since */
    int64_t next_offset;     /* next to process; or RD_KAFKA_OFFSET_* */
    int64_t written_offset;  /* what Redis holds */
    int64_t due_from;        /* creators due up to here were loaded */
    bool nonresident;        /* Redis may hold creators not in memory */
    /* Look every unseen creator up in Redis, whatever the filter says: a
     * creator taken as new had state after all (CHECKPOINT_NOT_NEW).
     * Kept until the partition is revoked or lost. */
    bool lookup_all;
    /* Memory ran out while its state changed: to be read back from Redis
     * (partitions_rewind), its offset left where the failed event is. */
    bool nomem;
} partitions_entry;

typedef struct partitions partitions;

/*
 * An empty table.  cfg, src, db, st and m are borrowed and must outlive
 * it.  Returns NULL with errstr when out of memory.
 */
partitions *partitions_new(const config *cfg, source *src, store *db,
                           state *st, metrics *m, char *errstr,
                           size_t errstr_size);

/* Frees the table and the filter.  NULL is fine. */
void partitions_free(partitions *ps);

/* Entries in the table (some may be unused), and entry k. */
size_t partitions_count(const partitions *ps);
partitions_entry *partitions_at(partitions *ps, size_t k);

/* The entry of topic/partition, or -1. */
int partitions_find(const partitions *ps, const char *topic,
                    int32_t partition);

/* The filter of known creators; NULL until the first claim. */
bloom *partitions_known(partitions *ps);

/*
 * A rebalance assigned these partitions: each new one gets an entry, to be
 * claimed.  Returns 0, or -1 when out of memory (an entry is missing: the
 * caller must stop, as a partition nobody consumes would stall).
 */
int partitions_assigned(partitions *ps,
                        const rd_kafka_topic_partition_list_t *l);

/* Whether some entry waits for its claim. */
bool partitions_pending(const partitions *ps);

/*
 * Claims every entry not yet claimed, in one round trip, learns its
 * creators into the filter, gives it a state slot and assigns it in Kafka
 * from the offset Redis holds (or the start, per auto.offset.reset); with
 * `paused`, pauses it at once.  An entry that cannot be added (out of
 * memory, refused by Kafka) is logged and stays pending.  Returns 0; or -1
 * with errstr when Redis failed or memory ran out before any claim (every
 * entry stays pending: claim again later).
 */
int partitions_claim(partitions *ps, bool paused, char *errstr,
                     size_t errstr_size);

/* Pauses every claimed partition (Redis unreachable). */
void partitions_pause_all(partitions *ps);

/* Resumes every paused claimed partition from its next offset: messages
 * fetched while paused were dropped. */
void partitions_resume_all(partitions *ps);

/* Forgets entry k (revoked or lost) and its state. */
void partitions_forget(partitions *ps, size_t k);

/*
 * Entry k's state is ahead of Redis or half updated: drops it, pauses the
 * partition and leaves it to be claimed again, which reads back its offset
 * and watermark; its creators are read back as they come.  Logs `why`.
 */
void partitions_rewind(partitions *ps, size_t k, const char *why);

/*
 * Entry k was fenced (another instance claimed it): drops its state and
 * forgets it, paused; it is claimed again only if Kafka assigns it to us
 * again.
 */
void partitions_fenced(partitions *ps, size_t k);

/* Marks every partition as possibly holding creators not in memory
 * (after an eviction). */
void partitions_nonresident(partitions *ps);

/*
 * This instance's share of the tier hashes (share.h), for the per-tier
 * gauges of /metrics: a claim reads each partition's from Redis (or
 * rebuilds it, when an engaged without shares left it stale), and a
 * partition forgotten, read back or fenced leaves with its share, which
 * updates the gauges.  partitions_share_commit() adds a committed
 * checkpoint's deltas for entry k (payload_share_delta: nrows rows, row r
 * for tier tiers[r]); call it only for a checkpoint written under the
 * entry's current claim (its epoch), then partitions_share_publish() once,
 * which sets the gauges to the sum of the shares held.
 */
void partitions_share_commit(partitions *ps, size_t k,
                             const char *const *tiers, size_t nrows,
                             const int64_t *cells);
void partitions_share_publish(partitions *ps);

#endif

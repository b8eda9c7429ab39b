/*
 * outbox: the alerts decided since the last checkpoint, on their way out.
 * The loop produces each to the alerts topic once (outbox_set_sent), and
 * the checkpoint that records their partitions' offsets adds them to the
 * Redis stream in the same transaction (payload.h), after which they
 * leave (outbox_done): at least once on Kafka, exactly once in Redis, the
 * same alert_id on both.  Alerts are decided on event time only
 * (detect.h), so a replay decides the same ones with the same ids.
 *
 * Not thread-safe: the main thread.
 */
#ifndef ENGAGED_OUTBOX_H
#define ENGAGED_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "alert.h"

typedef struct outbox outbox;

/* One alert, formatted. */
typedef struct outbox_alert {
    int slot;                       /* the state slot of its partition */
    alert_kind kind;
    alert_status status;
    alert_severity severity;
    char alert_id[ALERT_ID_LEN + 1];
    char *creator_id;               /* the Kafka key */
    size_t creator_len;
    char *json;                     /* schemas/alert.schema.json */
    size_t json_len;
    char *summary;                  /* one readable line */
    bool sent;                      /* produced to Kafka already */
} outbox_alert;

/* An empty outbox, or NULL when out of memory. */
outbox *outbox_new(void);
void outbox_free(outbox *ob);

/*
 * Formats *a (its JSON and summary) and keeps it for partition `slot`.
 * creator_id (len bytes) is copied.  Returns 0, or -1 when out of memory
 * (nothing kept).
 */
int outbox_add(outbox *ob, int slot, const alert *a, const char *creator_id,
               size_t len);

/* The alerts kept, in the order they were decided. */
size_t outbox_count(const outbox *ob);
const outbox_alert *outbox_get(const outbox *ob, size_t i);

/* Records that alert i was produced to Kafka. */
void outbox_set_sent(outbox *ob, size_t i);

/*
 * A checkpoint wrote the alerts of the slots with done[slot] (slots
 * 0..nslots-1; done NULL: every slot): they leave, the others stay in
 * order.
 */
void outbox_done(outbox *ob, const bool *done, size_t nslots);

/* A partition's state was dropped: its alerts go too (a replay decides
 * them again). */
void outbox_drop(outbox *ob, int slot);

#endif

/*
 * event: parsing and validation of one engagement event, the JSON object in
 * one Kafka message (schemas/event.schema.json).  Pure: the wall clock is an
 * argument; every function may be called from any thread.
 *
 * An event is parsed in one pass over its bytes when it is a flat object of
 * strings without escapes, integers, booleans and nulls, as producers send
 * them, its fields copied into the fixed-size `event` value.  Any other
 * message goes through jansson (json_loadb, the document freed before
 * returning), which decides it exactly as the one pass would have: the two
 * paths give the same result for every input.
 */
#ifndef ENGAGED_EVENT_H
#define ENGAGED_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Strings (creator_id, post_id, brand, sector, campaign_id, event_id) hold at
 * most EVENT_ID_MAX_CHARS characters, counted as Unicode code points as the
 * schema's maxLength counts them, and no control character (C0 U+0000-U+001F,
 * DEL U+007F, C1 U+0080-U+009F).  128 code points of up to 4 UTF-8 bytes
 * each take at most EVENT_ID_MAX bytes, the size of the buffers below.
 */
#define EVENT_ID_MAX_CHARS 128
#define EVENT_ID_MAX (4 * EVENT_ID_MAX_CHARS) /* bytes, without the NUL */

#define EVENT_COUNT_MAX INT64_C(1000000000)       /* engagement count */
#define EVENT_FOLLOWERS_MAX INT64_C(1000000000000) /* followers */
/* 9999-12-31T23:59:59.999Z, the last instant RFC 3339 can write. */
#define EVENT_TS_MAX INT64_C(253402300799999)

typedef enum event_type {
    EVENT_ENGAGEMENT = 0,
    EVENT_POST,
    EVENT_FOLLOWERS
} event_type;

/* Engagement actions, in the order of the schema's enum. */
typedef enum event_action {
    EVENT_LIKE = 0,
    EVENT_COMMENT,
    EVENT_SHARE,
    EVENT_SAVE,
    EVENT_VIEW,
    EVENT_CLICK,
    EVENT_CONVERSION,
    EVENT_ACTION_COUNT
} event_action;

/*
 * Why a message was refused; the DLQ's `error` header.  EVENT_ERR_NOMEM is
 * not a refusal: memory ran out, which is no fault of the message, and the
 * caller must neither refuse it nor move past it (it is never a DLQ reason).
 */
typedef enum event_error {
    EVENT_ERR_NOMEM = -1,
    EVENT_OK = 0,
    EVENT_ERR_INVALID_JSON,
    EVENT_ERR_INVALID_EVENT,
    EVENT_ERR_TOO_LARGE,
    EVENT_ERR_TOO_LATE,
    EVENT_ERR_KEY_MISMATCH,
    EVENT_ERR_COUNT
} event_error;

/*
 * One valid event.  Every string is NUL-terminated valid UTF-8 without
 * control characters.  Fields that belong to another type hold their
 * defaults (action EVENT_LIKE, count 0, sponsored false, strings "").
 */
typedef struct event {
    event_type type;
    int64_t ts_ms;           /* event time, ms since the epoch, 0..EVENT_TS_MAX */
    int64_t followers;       /* 0..1e12, or -1 when the event carries none */
    event_action action;     /* engagement only */
    int64_t count;           /* engagement only, 1..1e9 (default 1); 0 else */
    bool sponsored;          /* post only, default false */
    size_t creator_id_len;   /* bytes, 1..EVENT_ID_MAX */
    char creator_id[EVENT_ID_MAX + 1];
    /* Optional strings, "" when absent (an empty string counts as absent).
     * brand is stored without leading and trailing spaces. */
    char post_id[EVENT_ID_MAX + 1];
    char brand[EVENT_ID_MAX + 1];
    char sector[EVENT_ID_MAX + 1];
    char campaign_id[EVENT_ID_MAX + 1];
    char event_id[EVENT_ID_MAX + 1];
} event;

typedef struct event_limits {
    size_t max_event_bytes;  /* messages longer than this: too_large */
    int64_t max_future_ms;   /* ts more than this after now_ms: invalid_event */
} event_limits;

/*
 * Parses and validates one message.
 *   payload, len: the message value (need not be NUL-terminated; may be NULL
 *                 when len is 0).
 *   key, key_len: the message key; NULL when the message has none.
 *   limits:       size and clock limits (max_future_ms >= 0).
 *   now_ms:       the wall clock, only for the max_future check.
 *   ev:           filled on success; unspecified on failure.
 *   detail:       on failure, a readable sentence naming the field and the
 *                 rule, for the DLQ's `detail` header ("field \"count\"
 *                 must be an integer from 1 to 1000000000"); truncated to
 *                 detail_size bytes; may be NULL when detail_size is 0.
 * Checks, in order:
 *   too_large      len > limits->max_event_bytes, before any parsing.
 *   invalid_json   not RFC 8259 JSON: syntax, not UTF-8, a NUL byte (even
 *                  as \u0000), a duplicate key, nesting deeper than
 *                  jansson's JSON_PARSER_MAX_DEPTH, a number jansson cannot
 *                  hold (an integer beyond int64, a real beyond double),
 *                  NaN or Infinity.
 *   invalid_event  valid JSON but not an event as schemas/event.schema.json
 *                  describes it: a top level that is not an object, a field
 *                  missing, of the wrong type (JSON null included: a field
 *                  that is null is of the wrong type, not absent), out of
 *                  range, a real where an integer is expected (count 3.0);
 *                  or, beyond what the schema can say, ts more than
 *                  limits->max_future_ms after now_ms, or a string ts
 *                  whose instant is outside 0..EVENT_TS_MAX (possible only
 *                  on 1970-01-01 with a positive offset, such as
 *                  1970-01-01T00:30:00+01:00, or on 9999-12-31 with a
 *                  negative one).
 *                  Fields that belong to other event types, and unknown
 *                  fields, are ignored.
 *   key_mismatch   the event is otherwise valid but the key is NULL or its
 *                  bytes differ from creator_id's.
 * too_late is decided later, by the state, which knows the watermark.
 * Nothing is allocated but jansson's document, freed before returning; the
 * detail is formatted only on failure.
 * Returns EVENT_OK, the reason code, or EVENT_ERR_NOMEM when jansson ran out
 * of memory (the message is not at fault: parse it again later).
 */
event_error event_parse(const void *payload, size_t len, const void *key,
                        size_t key_len, const event_limits *limits,
                        int64_t now_ms, event *ev, char *detail,
                        size_t detail_size);

/*
 * For tests, fuzzing and benchmarks only; the daemon calls event_parse.
 *
 * event_parse_slow: event_parse through jansson alone, without the one-pass
 * scanner.  Same parameters, same contract, and the same return value, *ev
 * and detail for every input: tests compare it with event_parse.
 */
event_error event_parse_slow(const void *payload, size_t len, const void *key,
                             size_t key_len, const event_limits *limits,
                             int64_t now_ms, event *ev, char *detail,
                             size_t detail_size);

/*
 * For tests only: the one-pass scanner alone.  Returns true when it takes
 * the message, with *ev filled as event_parse fills it (event_parse then
 * returns EVENT_OK or EVENT_ERR_KEY_MISMATCH, by the key, not looked at
 * here); false when it declines, leaving *ev unspecified, and event_parse
 * hands the message to jansson.  Allocates nothing.
 */
bool event_parse_fast(const void *payload, size_t len,
                      const event_limits *limits, int64_t now_ms, event *ev);

/*
 * Whether the len bytes at s (NUL bytes included, which fail) make an id
 * as events carry them: well-formed UTF-8, 1 to EVENT_ID_MAX_CHARS code
 * points, no control character.  For ids that come from elsewhere than an
 * event (the read API's paths).  On failure, a sentence naming `name`
 * goes to detail (truncated to detail_size; may be NULL when 0).  Pure;
 * any thread.
 */
bool event_check_id(const char *name, const char *s, size_t len,
                    char *detail, size_t detail_size);

/* "invalid_json", "invalid_event", ...; "ok" for EVENT_OK, "out_of_memory"
 * for EVENT_ERR_NOMEM.  Static string. */
const char *event_error_name(event_error err);

/* "like", "comment", ... Static string. */
const char *event_action_name(event_action action);

/* "engagement", "post", "followers".  Static string. */
const char *event_type_name(event_type type);

#endif

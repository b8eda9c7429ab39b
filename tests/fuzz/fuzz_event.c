/*
 * libFuzzer target for event_parse (issue 5, "Fuzzing").  `make fuzz` builds
 * it with -fsanitize=fuzzer,address,undefined; tests/test_fuzz_replay.c
 * replays its seed corpus (tests/fuzz/corpus/event/) in the plain build.
 *
 * Input: the message value, optionally followed by 0xFF and the message key.
 * 0xFF never occurs in UTF-8, so a plain JSON file is a seed as it is (a
 * message without key), and the fuzzer finds keys by inserting the byte.
 * A message without key that is otherwise valid is a key_mismatch; it is
 * parsed again with its creator_id as key, which must then be accepted, so
 * the accepting path and its invariants are fuzzed as well.
 *
 * The clock and the limits are fixed: the outcome is a function of the input.
 *
 * Every parse is done twice, by event_parse (the one-pass scanner, which
 * hands what it declines to jansson) and by event_parse_slow (jansson
 * alone): the code, the detail and, when the event was read, every field
 * must be the same.  What the scanner alone takes (event_parse_fast) must be
 * an event for jansson too, with the same fields.
 */
#include "event.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-11-01T12:00:00Z */
#define FUZZ_NOW INT64_C(1793534400000)

/* Invariant broken: abort, so that libFuzzer keeps the input as a crash.
 * tests/test_fuzz_replay.c includes this file with its own CHECK. */
#ifndef CHECK
#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond))                                                        \
            abort();                                                        \
    } while (0)
#endif

static void check_string(const char *s)
{
    size_t n = strnlen(s, EVENT_ID_MAX + 1);
    CHECK(n <= EVENT_ID_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        CHECK(c >= 0x20 && c != 0x7F);
        /* C1 controls U+0080..U+009F are C2 80..C2 9F. */
        CHECK(!(c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] <= 0x9F));
    }
}

static void check_event(const event *ev)
{
    CHECK((unsigned)ev->type <= EVENT_FOLLOWERS);
    CHECK(ev->ts_ms >= 0 && ev->ts_ms <= FUZZ_NOW + 3600000);
    CHECK(ev->followers >= -1 && ev->followers <= EVENT_FOLLOWERS_MAX);
    CHECK(ev->creator_id_len >= 1 && ev->creator_id_len <= EVENT_ID_MAX);
    CHECK(strlen(ev->creator_id) == ev->creator_id_len);
    check_string(ev->creator_id);
    check_string(ev->post_id);
    check_string(ev->brand);
    check_string(ev->sector);
    check_string(ev->campaign_id);
    check_string(ev->event_id);
    if (ev->type == EVENT_ENGAGEMENT) {
        CHECK((unsigned)ev->action < EVENT_ACTION_COUNT);
        CHECK(ev->count >= 1 && ev->count <= EVENT_COUNT_MAX);
    } else {
        CHECK(ev->count == 0);
    }
    if (ev->type == EVENT_POST)
        CHECK(ev->post_id[0] != '\0');
    if (ev->type == EVENT_FOLLOWERS)
        CHECK(ev->followers >= 0);
    if (ev->sponsored)
        CHECK(ev->brand[0] != '\0');
}

/* Field by field: the bytes after a string's NUL are not the event's. */
static void check_same_event(const event *a, const event *b)
{
    CHECK(a->type == b->type);
    CHECK(a->ts_ms == b->ts_ms);
    CHECK(a->followers == b->followers);
    CHECK(a->action == b->action);
    CHECK(a->count == b->count);
    CHECK(a->sponsored == b->sponsored);
    CHECK(a->creator_id_len == b->creator_id_len);
    CHECK(strcmp(a->creator_id, b->creator_id) == 0);
    CHECK(strcmp(a->post_id, b->post_id) == 0);
    CHECK(strcmp(a->brand, b->brand) == 0);
    CHECK(strcmp(a->sector, b->sector) == 0);
    CHECK(strcmp(a->campaign_id, b->campaign_id) == 0);
    CHECK(strcmp(a->event_id, b->event_id) == 0);
}

/* One parse; the detail must be a terminated, non-empty sentence, and the
 * jansson path alone must say the same. */
static event_error parse(const uint8_t *value, size_t len, const void *key,
                         size_t key_len, size_t detail_size, event *ev)
{
    static const event_limits limits = {.max_event_bytes = 65536,
                                        .max_future_ms = 3600000};
    char detail[512];
    memset(detail, 0xA5, sizeof detail);
    event_error rc = event_parse(value, len, key, key_len, &limits, FUZZ_NOW,
                                 ev, detail_size ? detail : NULL,
                                 detail_size);
    CHECK((unsigned)rc < EVENT_ERR_COUNT && rc != EVENT_ERR_TOO_LATE);
    CHECK(strcmp(event_error_name(rc), "unknown") != 0);
    if (detail_size > 0 && rc != EVENT_OK) {
        CHECK(memchr(detail, '\0', detail_size) != NULL);
        CHECK(detail_size == 1 || detail[0] != '\0');
    }
    /* Nothing is written past detail_size. */
    for (size_t i = detail_size; i < sizeof detail; i++)
        CHECK((unsigned char)detail[i] == 0xA5);
    if (rc == EVENT_OK)
        check_event(ev);

    static event slow, fast;
    char slow_detail[512];
    memset(slow_detail, 0xA5, sizeof slow_detail);
    event_error slow_rc = event_parse_slow(value, len, key, key_len, &limits,
                                           FUZZ_NOW, &slow,
                                           detail_size ? slow_detail : NULL,
                                           detail_size);
    CHECK(slow_rc == rc);
    CHECK(memcmp(slow_detail, detail, sizeof detail) == 0);
    bool read = rc == EVENT_OK || rc == EVENT_ERR_KEY_MISMATCH;
    if (read)
        check_same_event(ev, &slow);
    if (event_parse_fast(value, len, &limits, FUZZ_NOW, &fast)) {
        CHECK(read);
        check_same_event(&fast, &slow);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static event ev;
    /* The detail buffer's size varies with the input, down to none. */
    static const size_t detail_sizes[] = {512, 48, 1, 0};
    size_t detail_size = detail_sizes[size % 4];

    const uint8_t *sep = size ? memchr(data, 0xFF, size) : NULL;
    if (sep != NULL) {
        size_t vlen = (size_t)(sep - data);
        parse(data, vlen, sep + 1, size - vlen - 1, detail_size, &ev);
        return 0;
    }
    /* A copy of exactly `size` bytes, so that ASan sees any over-read. */
    uint8_t *value = malloc(size ? size : 1);
    if (value == NULL)
        return 0;
    memcpy(value, data, size);
    event_error rc = parse(value, size, NULL, 0, detail_size, &ev);
    if (rc == EVENT_ERR_KEY_MISMATCH) {
        char key[EVENT_ID_MAX];
        size_t key_len = ev.creator_id_len;
        memcpy(key, ev.creator_id, key_len);
        CHECK(parse(value, size, key, key_len, detail_size, &ev) == EVENT_OK);
        CHECK(ev.creator_id_len == key_len &&
              memcmp(ev.creator_id, key, key_len) == 0);
    }
    free(value);
    return 0;
}

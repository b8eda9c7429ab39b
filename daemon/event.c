#include "event.h"

#include "timefmt.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[] = {
    [EVENT_ENGAGEMENT] = "engagement",
    [EVENT_POST] = "post",
    [EVENT_FOLLOWERS] = "followers",
};

#define N_TYPES (sizeof type_names / sizeof type_names[0])

static const char *const action_names[EVENT_ACTION_COUNT] = {
    [EVENT_LIKE] = "like",   [EVENT_COMMENT] = "comment",
    [EVENT_SHARE] = "share", [EVENT_SAVE] = "save",
    [EVENT_VIEW] = "view",   [EVENT_CLICK] = "click",
    [EVENT_CONVERSION] = "conversion",
};

static const char *const error_names[EVENT_ERR_COUNT] = {
    [EVENT_OK] = "ok",
    [EVENT_ERR_INVALID_JSON] = "invalid_json",
    [EVENT_ERR_INVALID_EVENT] = "invalid_event",
    [EVENT_ERR_TOO_LARGE] = "too_large",
    [EVENT_ERR_TOO_LATE] = "too_late",
    [EVENT_ERR_KEY_MISMATCH] = "key_mismatch",
};

const char *event_error_name(event_error err)
{
    if ((unsigned)err >= EVENT_ERR_COUNT)
        return "unknown";
    return error_names[err];
}

const char *event_action_name(event_action action)
{
    if ((unsigned)action >= EVENT_ACTION_COUNT)
        return "unknown";
    return action_names[action];
}

const char *event_type_name(event_type type)
{
    if ((unsigned)type >= N_TYPES)
        return "unknown";
    return type_names[type];
}

/* Where event_parse writes its failure sentence. */
typedef struct detail_buf {
    char *buf;
    size_t size;
} detail_buf;

static void fail(detail_buf *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(detail_buf *d, const char *fmt, ...)
{
    if (d->buf == NULL || d->size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->buf, d->size, fmt, ap);
    va_end(ap);
}

/* "a string", "null", ... for "must be X, not Y" sentences. */
static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

/* True when the string value v (of len bytes) equals the C string lit. */
static bool string_is(const char *v, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && memcmp(v, lit, n) == 0;
}

/*
 * Checks the text rule of every string field: at most EVENT_ID_MAX_CHARS code
 * points, no C0, DEL or C1 control character.  jansson has already checked
 * that s is valid UTF-8 without NUL, so code points are the bytes that are
 * not continuation bytes, and C1 characters are the two-byte sequences
 * C2 80 .. C2 9F.
 */
static int check_text(const char *name, const char *s, size_t len,
                      detail_buf *d)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) == 0x80)
            continue;
        chars++;
        /* U+0080..U+009F are C2 80..C2 9F: the code point is the 2nd byte. */
        unsigned cp = c;
        if (c == 0xC2 && i + 1 < len)
            cp = (unsigned char)s[i + 1];
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            fail(d,
                 "field \"%s\" contains the control character U+%04X at "
                 "character %zu; control characters are not allowed",
                 name, cp, chars);
            return -1;
        }
    }
    if (chars > EVENT_ID_MAX_CHARS || len > EVENT_ID_MAX) {
        fail(d,
             "field \"%s\" has %zu characters; at most %d are allowed", name,
             chars, EVENT_ID_MAX_CHARS);
        return -1;
    }
    return 0;
}

/*
 * Copies the string value v of field `name` into dst (EVENT_ID_MAX + 1
 * bytes).  Returns its length in bytes, or -1 with the detail set when it is
 * not a string (null included) or breaks the text rule.
 */
static long copy_value(const json_t *v, const char *name, char *dst,
                       detail_buf *d)
{
    if (!json_is_string(v)) {
        fail(d, "field \"%s\" must be a string, not %s", name, json_kind(v));
        return -1;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (check_text(name, s, len, d) != 0)
        return -1;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return (long)len;
}

/* copy_value for the optional field `name` of obj; "" and 0 when absent. */
static long copy_string(json_t *obj, const char *name, char *dst,
                        detail_buf *d)
{
    json_t *v = json_object_get(obj, name);
    if (v == NULL) {
        dst[0] = '\0';
        return 0;
    }
    return copy_value(v, name, dst, d);
}

/*
 * Reads the optional integer field `name` into *out, leaving *out alone when
 * absent.  A real (3.0 included) is refused: counts and followers are
 * integers on the wire, and a real there means a broken producer.
 * Returns 1 when present, 0 when absent, -1 with the detail set.
 */
static int get_integer(json_t *obj, const char *name, int64_t min,
                       int64_t max, int64_t *out, detail_buf *d)
{
    json_t *v = json_object_get(obj, name);
    if (v == NULL)
        return 0;
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n >= min && n <= max) {
            *out = (int64_t)n;
            return 1;
        }
    }
    fail(d, "field \"%s\" must be an integer from %" PRId64 " to %" PRId64,
         name, min, max);
    return -1;
}

/* Parses `ts`: an RFC 3339 string with a zone, or epoch milliseconds. */
static int get_ts(json_t *obj, int64_t now_ms, int64_t max_future_ms,
                  int64_t *ts, detail_buf *d)
{
    json_t *v = json_object_get(obj, "ts");
    if (v == NULL) {
        fail(d, "field \"ts\" is required");
        return -1;
    }
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0 || n > EVENT_TS_MAX) {
            fail(d,
                 "field \"ts\" must be epoch milliseconds from 0 to "
                 "%" PRId64 ", or an RFC 3339 time with a zone",
                 EVENT_TS_MAX);
            return -1;
        }
        *ts = (int64_t)n;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (timefmt_parse_rfc3339(s, len, ts) != 0) {
            fail(d, "field \"ts\" is not an RFC 3339 time with a zone nor "
                    "epoch milliseconds");
            return -1;
        }
        /* The schema can only see the year; the instant is checked too
         * because an offset can move a 1970-01-01 time before the epoch. */
        if (s[0] < '1' || (s[0] == '1' && (s[1] < '9' ||
                                           (s[1] == '9' && s[2] < '7'))) ||
            *ts < 0 || *ts > EVENT_TS_MAX) {
            fail(d, "field \"ts\" is %.*s, before 1970-01-01T00:00:00Z or "
                    "after 9999-12-31T23:59:59.999Z", (int)len, s);
            return -1;
        }
    } else {
        fail(d,
             "field \"ts\" must be an RFC 3339 time with a zone or epoch "
             "milliseconds, not %s",
             json_kind(v));
        return -1;
    }
    /* Written so that it cannot overflow whatever now_ms is. */
    if (*ts > now_ms && (uint64_t)*ts - (uint64_t)now_ms >
                            (uint64_t)(max_future_ms < 0 ? 0 : max_future_ms)) {
        char when[32], ahead[24];
        fail(d, "ts %s is more than %s ahead of the wall clock",
             timefmt_format_rfc3339(*ts, when, sizeof when),
             timefmt_format_duration(max_future_ms, ahead, sizeof ahead));
        return -1;
    }
    return 0;
}

static int parse_engagement(json_t *obj, event *ev, detail_buf *d)
{
    json_t *v = json_object_get(obj, "action");
    if (v == NULL) {
        fail(d, "field \"action\" is required for engagement events");
        return -1;
    }
    int action = -1;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        for (int a = 0; a < EVENT_ACTION_COUNT; a++)
            if (string_is(s, len, action_names[a])) {
                action = a;
                break;
            }
    }
    if (action < 0) {
        fail(d, "field \"action\" must be one of like, comment, share, save, "
                "view, click, conversion");
        return -1;
    }
    ev->action = (event_action)action;
    ev->count = 1;
    if (get_integer(obj, "count", 1, EVENT_COUNT_MAX, &ev->count, d) < 0)
        return -1;
    if (copy_string(obj, "post_id", ev->post_id, d) < 0)
        return -1;
    return 0;
}

static int parse_post(json_t *obj, event *ev, detail_buf *d)
{
    long n = copy_string(obj, "post_id", ev->post_id, d);
    if (n < 0)
        return -1;
    if (n == 0) {
        fail(d, "field \"post_id\" is required for post events and must not "
                "be empty");
        return -1;
    }
    json_t *v = json_object_get(obj, "sponsored");
    if (v != NULL) {
        if (!json_is_boolean(v)) {
            fail(d, "field \"sponsored\" must be true or false, not %s",
                 json_kind(v));
            return -1;
        }
        ev->sponsored = json_is_true(v);
    }
    if (copy_string(obj, "sector", ev->sector, d) < 0)
        return -1;
    n = copy_string(obj, "brand", ev->brand, d);
    if (n < 0)
        return -1;
    /* Brands are compared by the conflict detector: " Pepsi" is "Pepsi".
     * Only U+0020 is trimmed; other ASCII white space is a control
     * character, refused above. */
    size_t start = 0, end = (size_t)n;
    while (start < end && ev->brand[start] == ' ')
        start++;
    while (end > start && ev->brand[end - 1] == ' ')
        end--;
    if (start > 0)
        memmove(ev->brand, ev->brand + start, end - start);
    ev->brand[end - start] = '\0';
    if (ev->sponsored && end == start) {
        fail(d, "field \"brand\" is required and must not be blank when "
                "\"sponsored\" is true");
        return -1;
    }
    return 0;
}

/*
 * Writes the bytes s for a sentence: printable ASCII as is, every other byte
 * as \xNN, and with `quoted` '"' and '\\' escaped too.  At most 64 bytes of
 * a quoted string are shown, then "...".  out is always terminated.
 */
static void escape_bytes(const unsigned char *s, size_t len, bool quoted,
                         char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    size_t shown = quoted && len > 64 ? 64 : len;
    size_t i = 0;
    for (; i < shown && o + 5 < size; i++) {
        unsigned char c = s[i];
        if (quoted && (c == '"' || c == '\\')) {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c >= 0x20 && c < 0x7F) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0xF];
        }
    }
    if (i < len && o + 4 <= size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Length in bytes of the first max_chars code points of the UTF-8 s. */
static int utf8_prefix(const char *s, size_t len, size_t max_chars)
{
    size_t chars = 0, i = 0;
    for (; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == max_chars)
            break;
    return (int)i;
}

static event_error check_key(const event *ev, const void *key, size_t key_len,
                             detail_buf *d)
{
    if (key == NULL) {
        fail(d, "message has no key; it must be the creator_id");
        return EVENT_ERR_KEY_MISMATCH;
    }
    if (key_len == ev->creator_id_len &&
        memcmp(key, ev->creator_id, key_len) == 0)
        return EVENT_OK;
    char shown[64 * 4 + 4];
    escape_bytes(key, key_len, true, shown, sizeof shown);
    int id_len = utf8_prefix(ev->creator_id, ev->creator_id_len, 64);
    fail(d, "message key \"%s\" is not the creator_id \"%.*s%s\"", shown,
         id_len, ev->creator_id,
         (size_t)id_len < ev->creator_id_len ? "..." : "");
    return EVENT_ERR_KEY_MISMATCH;
}

/* Validates the fields of the top-level object into ev. */
static int parse_object(json_t *obj, const event_limits *limits,
                        int64_t now_ms, event *ev, detail_buf *d)
{
    if (!json_is_object(obj)) {
        fail(d, "event must be a JSON object, not %s", json_kind(obj));
        return -1;
    }

    json_t *v = json_object_get(obj, "type");
    if (v == NULL) {
        fail(d, "field \"type\" is required");
        return -1;
    }
    int type = -1;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        for (size_t t = 0; t < N_TYPES; t++)
            if (string_is(s, len, type_names[t])) {
                type = (int)t;
                break;
            }
    }
    if (type < 0) {
        fail(d, "field \"type\" must be one of engagement, post, followers");
        return -1;
    }
    ev->type = (event_type)type;
    ev->followers = -1;
    ev->action = EVENT_LIKE;
    ev->count = 0;
    ev->sponsored = false;
    ev->post_id[0] = ev->brand[0] = ev->sector[0] = '\0';

    v = json_object_get(obj, "creator_id");
    if (v == NULL) {
        fail(d, "field \"creator_id\" is required");
        return -1;
    }
    long n = copy_value(v, "creator_id", ev->creator_id, d);
    if (n < 0)
        return -1;
    if (n == 0) {
        fail(d, "field \"creator_id\" must not be empty");
        return -1;
    }
    ev->creator_id_len = (size_t)n;

    if (get_ts(obj, now_ms, limits->max_future_ms, &ev->ts_ms, d) != 0)
        return -1;
    if (copy_string(obj, "event_id", ev->event_id, d) < 0 ||
        copy_string(obj, "campaign_id", ev->campaign_id, d) < 0)
        return -1;
    int has_followers = get_integer(obj, "followers", 0, EVENT_FOLLOWERS_MAX,
                                    &ev->followers, d);
    if (has_followers < 0)
        return -1;

    switch (ev->type) {
    case EVENT_ENGAGEMENT:
        return parse_engagement(obj, ev, d);
    case EVENT_POST:
        return parse_post(obj, ev, d);
    case EVENT_FOLLOWERS:
        if (!has_followers) {
            fail(d, "field \"followers\" is required for followers events");
            return -1;
        }
        return 0;
    }
    return 0;
}

event_error event_parse(const void *payload, size_t len, const void *key,
                        size_t key_len, const event_limits *limits,
                        int64_t now_ms, event *ev, char *detail,
                        size_t detail_size)
{
    detail_buf d = {detail, detail_size};
    if (len > limits->max_event_bytes) {
        fail(&d, "message of %zu bytes exceeds max_event_bytes %zu", len,
             limits->max_event_bytes);
        return EVENT_ERR_TOO_LARGE;
    }
    if (payload == NULL)
        payload = "";

    /* JSON_DECODE_ANY so that a valid non-object ("3", "[]") is reported as
     * what it is, a valid JSON value that is not an event.  No
     * JSON_ALLOW_NUL: a NUL byte in a string would end it in our copies. */
    json_error_t jerr;
    json_t *root = json_loadb(payload, len,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (root == NULL) {
        /* jansson's "near '...'" quotes the input, which may hold any byte. */
        char text[4 * JSON_ERROR_TEXT_LENGTH + 4];
        escape_bytes((const unsigned char *)jerr.text, strlen(jerr.text),
                     false, text, sizeof text);
        fail(&d, "line %d column %d: %s", jerr.line, jerr.column, text);
        return EVENT_ERR_INVALID_JSON;
    }
    int rc = parse_object(root, limits, now_ms, ev, &d);
    json_decref(root);
    if (rc != 0)
        return EVENT_ERR_INVALID_EVENT;
    return check_key(ev, key, key_len, &d);
}

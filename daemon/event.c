#include "event.h"

#include "timefmt.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
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
    if (err == EVENT_ERR_NOMEM)
        return "out_of_memory";
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
 * The rules that both parsers (jansson's below, the scanner further down)
 * apply to a ts, a brand and a name, written once so that they cannot drift.
 */

/* For a string ts s (at least 20 bytes, timefmt_parse_rfc3339 accepted it
 * as the instant ts): the schema can only see the year; the instant is
 * checked too because an offset can move a 1970-01-01 time before the
 * epoch. */
static bool ts_string_in_range(const char *s, int64_t ts)
{
    return !(s[0] < '1' ||
             (s[0] == '1' && (s[1] < '9' || (s[1] == '9' && s[2] < '7'))) ||
             ts < 0 || ts > EVENT_TS_MAX);
}

/* Whether ts is more than max_future_ms after now_ms.  Written so that it
 * cannot overflow whatever now_ms is. */
static bool ts_too_far_ahead(int64_t ts, int64_t now_ms, int64_t max_future_ms)
{
    return ts > now_ms && (uint64_t)ts - (uint64_t)now_ms >
                              (uint64_t)(max_future_ms < 0 ? 0 : max_future_ms);
}

/*
 * Brands are compared by the conflict detector: " Pepsi" is "Pepsi".  Only
 * U+0020 is trimmed; other ASCII white space is a control character, refused
 * before.  brand holds n bytes and room for the NUL; returns the trimmed
 * length.
 */
static size_t trim_brand(char *brand, size_t n)
{
    size_t start = 0, end = n;
    while (start < end && brand[start] == ' ')
        start++;
    while (end > start && brand[end - 1] == ' ')
        end--;
    if (start > 0)
        memmove(brand, brand + start, end - start);
    brand[end - start] = '\0';
    return end - start;
}

/* The index of the string value v (len bytes) in names[0..n), or -1. */
static int lookup_name(const char *v, size_t len, const char *const *names,
                       int n)
{
    for (int i = 0; i < n; i++)
        if (string_is(v, len, names[i]))
            return i;
    return -1;
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
        if (!ts_string_in_range(s, *ts)) {
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
    if (ts_too_far_ahead(*ts, now_ms, max_future_ms)) {
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
    if (json_is_string(v))
        action = lookup_name(json_string_value(v), json_string_length(v),
                             action_names, EVENT_ACTION_COUNT);
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
    if (trim_brand(ev->brand, (size_t)n) == 0 && ev->sponsored) {
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
    if (json_is_string(v))
        type = lookup_name(json_string_value(v), json_string_length(v),
                           type_names, (int)N_TYPES);
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

/*
 * Running out of memory is no fault of the message, but jansson 2.14's
 * lexer reports a failed allocation as a syntax error ("string or '}'
 * expected"), which would send a valid event to the DLQ.  Its allocations
 * go through json_alloc, which notes a failure on the parsing thread.
 */
static _Thread_local bool json_nomem;
static pthread_once_t json_once = PTHREAD_ONCE_INIT;

static void *json_alloc(size_t size)
{
    void *p = malloc(size);
    if (p == NULL)
        json_nomem = true;
    return p;
}

static void json_free(void *p)
{
    free(p);
}

static void json_init(void)
{
    json_set_alloc_funcs(json_alloc, json_free);
}

/*
 * The jansson path: json_loadb, then the fields, then the key.  It decides
 * every message the scanner below declines, and gives every failure its
 * detail.
 */
static event_error parse_jansson(const void *payload, size_t len,
                                 const void *key, size_t key_len,
                                 const event_limits *limits, int64_t now_ms,
                                 event *ev, detail_buf *d)
{
    /* JSON_DECODE_ANY so that a valid non-object ("3", "[]") is reported as
     * what it is, a valid JSON value that is not an event.  No
     * JSON_ALLOW_NUL: a NUL byte in a string would end it in our copies. */
    json_error_t jerr;
    pthread_once(&json_once, json_init);
    json_nomem = false;
    json_t *root = json_loadb(payload, len,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (root == NULL) {
        if (json_nomem)
            return EVENT_ERR_NOMEM;
        /* jansson's "near '...'" quotes the input, which may hold any byte. */
        char text[4 * JSON_ERROR_TEXT_LENGTH + 4];
        escape_bytes((const unsigned char *)jerr.text, strlen(jerr.text),
                     false, text, sizeof text);
        fail(d, "line %d column %d: %s", jerr.line, jerr.column, text);
        return EVENT_ERR_INVALID_JSON;
    }
    int rc = parse_object(root, limits, now_ms, ev, d);
    json_decref(root);
    /* A document jansson finished despite a failed allocation may lack
     * what the message holds. */
    if (json_nomem)
        return EVENT_ERR_NOMEM;
    if (rc != 0)
        return EVENT_ERR_INVALID_EVENT;
    return check_key(ev, key, key_len, d);
}

/* ---- The one-pass scanner ---------------------------------------------
 *
 * jansson's DOM (json_loadb, the lookups, json_decref) was the largest part
 * of the daemon's CPU (docs/performance.md).  Nearly every message is a
 * flat object of short strings without escapes and small integers, which
 * one pass over the bytes can check and copy without allocating.
 *
 * The scanner takes a message only when the jansson path would take it too,
 * with the same event: it accepts a subset of JSON whose decoding is the
 * bytes themselves, and then applies parse_object's rules to the values it
 * found.  On anything else (an escape, a real, a nested value, a syntax or
 * range error, a rule the event breaks, more keys than it tracks) it
 * declines, and the jansson path runs on the same bytes and says why, as it
 * always did.  The scanner never fails a message by itself.  The event and
 * fuzz_replay suites and `make fuzz` check that both paths agree.
 */

/* The fields parse_object reads; the bit (1 << f) marks f as seen. */
typedef enum fast_field {
    F_TYPE, F_CREATOR_ID, F_TS, F_ACTION, F_COUNT, F_POST_ID, F_SPONSORED,
    F_BRAND, F_SECTOR, F_CAMPAIGN_ID, F_EVENT_ID, F_FOLLOWERS, F_N
} fast_field;

typedef enum fast_kind {
    FAST_STRING, FAST_INTEGER, FAST_TRUE, FAST_FALSE, FAST_NULL
} fast_kind;

/* The value of one field, as the scan found it. */
typedef struct fast_value {
    fast_kind kind;
    bool text_ok;   /* string: keeps check_text's rule */
    size_t len;     /* string: its length in bytes */
    const char *s;  /* string: its bytes in the payload, which are its value
                       since it has no escape */
    int64_t n;      /* integer */
} fast_value;

/* What one scan found: only the values whose bit is in `seen` are set, so
 * that nothing needs clearing first. */
typedef struct fast_fields {
    unsigned seen;
    fast_value v[F_N];
} fast_fields;

/* Unknown keys are compared pairwise for duplicates: past this many the
 * scanner declines rather than grow quadratic. */
#define FAST_MAX_UNKNOWN 16
/* 18 decimal digits always fit in int64_t: longer integers are declined,
 * and jansson decides whether they overflow. */
#define FAST_MAX_DIGITS 18

/* The field named by the key k (len bytes), or -1 for an unknown key. */
static int fast_field_of(const char *k, size_t len)
{
#define KEY_IS(lit) (memcmp(k, lit, sizeof lit - 1) == 0)
    switch (len) {
    case 2: return KEY_IS("ts") ? F_TS : -1;
    case 4: return KEY_IS("type") ? F_TYPE : -1;
    case 5: return KEY_IS("count") ? F_COUNT : KEY_IS("brand") ? F_BRAND : -1;
    case 6:
        return KEY_IS("action") ? F_ACTION : KEY_IS("sector") ? F_SECTOR : -1;
    case 7: return KEY_IS("post_id") ? F_POST_ID : -1;
    case 8: return KEY_IS("event_id") ? F_EVENT_ID : -1;
    case 9:
        return KEY_IS("sponsored")   ? F_SPONSORED
               : KEY_IS("followers") ? F_FOLLOWERS
                                     : -1;
    case 10: return KEY_IS("creator_id") ? F_CREATOR_ID : -1;
    case 11: return KEY_IS("campaign_id") ? F_CAMPAIGN_ID : -1;
    }
    return -1;
#undef KEY_IS
}

/* JSON's white space, the only bytes jansson skips between tokens. */
static bool fast_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const unsigned char *fast_skip_ws(const unsigned char *p,
                                         const unsigned char *end)
{
    while (p < end && fast_is_ws(*p))
        p++;
    return p;
}

/*
 * The length of the UTF-8 sequence at p (whose first byte is >= 0x80), or 0
 * when it is not well-formed: a stray continuation byte, an overlong form, a
 * surrogate, a code point past U+10FFFF or a sequence cut by the end.
 * These are the sequences jansson's utf8_check_first and utf8_check_full
 * refuse (RFC 3629, table 3-7 of Unicode).
 */
static size_t fast_utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates U+D800..U+DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

bool event_check_id(const char *name, const char *s, size_t len,
                    char *detail, size_t detail_size)
{
    detail_buf d = {detail, detail_size};
    if (len == 0) {
        fail(&d, "%s is empty", name);
        return false;
    }
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        if (*p == 0) {
            fail(&d, "%s contains a NUL byte", name);
            return false;
        }
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t n = fast_utf8_len(p, end);
        if (n == 0) {
            fail(&d, "%s is not valid UTF-8 (byte %zu)", name,
                 (size_t)(p - (const unsigned char *)s) + 1);
            return false;
        }
        p += n;
    }
    return check_text(name, s, len, &d) == 0;
}

/*
 * Scans a string from p, just after its opening quote.  Returns the address
 * of its closing quote, or NULL to decline: an escape (its value would not
 * be its bytes), a byte below 0x20 (jansson refuses it), bad UTF-8, or the
 * end of the input.  *text_ok tells whether check_text would accept it.
 */
static const unsigned char *fast_string(const unsigned char *p,
                                        const unsigned char *end,
                                        bool *text_ok)
{
    const unsigned char *start = p;
    size_t chars = 0;
    bool control = false;
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            if (c == '"') {
                *text_ok = !control && chars <= EVENT_ID_MAX_CHARS &&
                           (size_t)(p - start) <= EVENT_ID_MAX;
                return p;
            }
            if (c == '\\' || c < 0x20)
                return NULL;
            control |= c == 0x7F;
            p++;
        } else {
            size_t n = fast_utf8_len(p, end);
            if (n == 0)
                return NULL;
            /* C1 controls U+0080..U+009F are C2 80..C2 9F. */
            control |= c == 0xC2 && p[1] <= 0x9F;
            p += n;
        }
        chars++;
    }
    return NULL;
}

/*
 * Scans an integer from p as jansson's lexer reads one, -?(0|[1-9][0-9]*)
 * and not followed by '.', 'e' or 'E' (a real).  Returns the address after
 * it, or NULL to decline, also beyond FAST_MAX_DIGITS digits.  "-0" is 0,
 * as strtoll makes it.
 */
static const unsigned char *fast_integer(const unsigned char *p,
                                         const unsigned char *end, int64_t *n)
{
    bool negative = *p == '-';
    if (negative)
        p++;
    if (p == end || *p < '0' || *p > '9')
        return NULL;
    const unsigned char *first = p;
    int64_t v = 0;
    if (*p == '0') {
        p++;
    } else {
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            if (p - first == FAST_MAX_DIGITS)
                return NULL;
            v = v * 10 + (*p - '0');
        }
    }
    /* "01": jansson refuses the leading zero; "1." and "1e3": reals. */
    if (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' ||
                    *p == 'E'))
        return NULL;
    *n = negative ? -v : v;
    return p;
}

/* True when the len bytes at p start with the keyword lit. */
#define FAST_WORD(p, len, lit)                                               \
    ((len) >= sizeof lit - 1 && memcmp(p, lit, sizeof lit - 1) == 0)

/*
 * The syntax half: scans payload as one object of strings, integers, true,
 * false and null, with white space around, into *ff.  Returns 0, or -1 to
 * decline, which it does for anything it does not read exactly as jansson
 * would, duplicate keys included (jansson refuses them anywhere in the
 * object, unknown keys too).
 */
static int fast_scan(const unsigned char *p, const unsigned char *end,
                     fast_fields *ff)
{
    const unsigned char *unknown[FAST_MAX_UNKNOWN];
    size_t unknown_len[FAST_MAX_UNKNOWN];
    int n_unknown = 0;
    fast_value scratch;
    ff->seen = 0;

    p = fast_skip_ws(p, end);
    if (p == end || *p != '{')
        return -1;
    p = fast_skip_ws(p + 1, end);
    for (;;) {
        /* An empty object, a trailing comma, a key that is not a string:
         * all declined ({} lacks "type" anyway). */
        if (p == end || *p != '"')
            return -1;
        const unsigned char *k = p + 1;
        bool unused;
        p = fast_string(k, end, &unused);
        if (p == NULL)
            return -1;
        size_t klen = (size_t)(p - k);
        p++;

        fast_value *v = &scratch;
        int f = fast_field_of((const char *)k, klen);
        if (f >= 0) {
            if (ff->seen & (1u << f))
                return -1;
            ff->seen |= 1u << f;
            v = &ff->v[f];
        } else {
            /* Unknown keys are never known ones: compare among them only. */
            for (int i = 0; i < n_unknown; i++)
                if (unknown_len[i] == klen && memcmp(unknown[i], k, klen) == 0)
                    return -1;
            if (n_unknown == FAST_MAX_UNKNOWN)
                return -1;
            unknown[n_unknown] = k;
            unknown_len[n_unknown++] = klen;
        }

        p = fast_skip_ws(p, end);
        if (p == end || *p != ':')
            return -1;
        p = fast_skip_ws(p + 1, end);
        if (p == end)
            return -1;
        size_t left = (size_t)(end - p);
        if (*p == '"') {
            const unsigned char *q = fast_string(p + 1, end, &v->text_ok);
            if (q == NULL)
                return -1;
            v->kind = FAST_STRING;
            v->s = (const char *)(p + 1);
            v->len = (size_t)(q - (p + 1));
            p = q + 1;
        } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
            p = fast_integer(p, end, &v->n);
            if (p == NULL)
                return -1;
            v->kind = FAST_INTEGER;
        } else if (FAST_WORD(p, left, "true")) {
            v->kind = FAST_TRUE;
            p += 4;
        } else if (FAST_WORD(p, left, "false")) {
            v->kind = FAST_FALSE;
            p += 5;
        } else if (FAST_WORD(p, left, "null")) {
            v->kind = FAST_NULL;
            p += 4;
        } else {
            /* Objects, arrays, NaN, syntax errors. */
            return -1;
        }

        /* Only white space, ',' or '}' may follow a value: "truex", "1x"
         * and "\"a\"\"b\"" are jansson's errors, declined here. */
        p = fast_skip_ws(p, end);
        if (p == end)
            return -1;
        if (*p == '}')
            break;
        if (*p != ',')
            return -1;
        p = fast_skip_ws(p + 1, end);
    }
    /* Only white space may follow the object: jansson checks for the end. */
    return fast_skip_ws(p + 1, end) == end ? 0 : -1;
}

/* The value of field f, or NULL when the object has none (json_object_get). */
static const fast_value *fast_get(const fast_fields *ff, fast_field f)
{
    return ff->seen & (1u << f) ? &ff->v[f] : NULL;
}

/* copy_value and copy_string for scanned values: "" when v is NULL; -1
 * (decline) where they would fail. */
static long fast_copy(const fast_value *v, char *dst)
{
    if (v == NULL) {
        dst[0] = '\0';
        return 0;
    }
    if (v->kind != FAST_STRING || !v->text_ok)
        return -1;
    memcpy(dst, v->s, v->len);
    dst[v->len] = '\0';
    return (long)v->len;
}

/* get_integer for scanned values. */
static int fast_get_integer(const fast_value *v, int64_t min, int64_t max,
                            int64_t *out)
{
    if (v == NULL)
        return 0;
    if (v->kind != FAST_INTEGER || v->n < min || v->n > max)
        return -1;
    *out = v->n;
    return 1;
}

/*
 * The rules half: parse_object, parse_engagement, parse_post and get_ts
 * step by step on the scanned values, declining (-1) wherever they fail.
 */
static int fast_event(const fast_fields *ff, const event_limits *limits,
                      int64_t now_ms, event *ev)
{
    const fast_value *v = fast_get(ff, F_TYPE);
    if (v == NULL || v->kind != FAST_STRING)
        return -1;
    int type = lookup_name(v->s, v->len, type_names, (int)N_TYPES);
    if (type < 0)
        return -1;
    ev->type = (event_type)type;
    ev->followers = -1;
    ev->action = EVENT_LIKE;
    ev->count = 0;
    ev->sponsored = false;
    ev->post_id[0] = ev->brand[0] = ev->sector[0] = '\0';

    v = fast_get(ff, F_CREATOR_ID);
    long n = v == NULL ? -1 : fast_copy(v, ev->creator_id);
    if (n <= 0)
        return -1;
    ev->creator_id_len = (size_t)n;

    v = fast_get(ff, F_TS);
    if (v == NULL)
        return -1;
    if (v->kind == FAST_INTEGER) {
        if (v->n < 0 || v->n > EVENT_TS_MAX)
            return -1;
        ev->ts_ms = v->n;
    } else if (v->kind == FAST_STRING) {
        if (timefmt_parse_rfc3339(v->s, v->len, &ev->ts_ms) != 0 ||
            !ts_string_in_range(v->s, ev->ts_ms))
            return -1;
    } else {
        return -1;
    }
    if (ts_too_far_ahead(ev->ts_ms, now_ms, limits->max_future_ms))
        return -1;

    if (fast_copy(fast_get(ff, F_EVENT_ID), ev->event_id) < 0 ||
        fast_copy(fast_get(ff, F_CAMPAIGN_ID), ev->campaign_id) < 0)
        return -1;
    int has_followers = fast_get_integer(fast_get(ff, F_FOLLOWERS), 0,
                                         EVENT_FOLLOWERS_MAX, &ev->followers);
    if (has_followers < 0)
        return -1;

    switch (ev->type) {
    case EVENT_ENGAGEMENT: {
        v = fast_get(ff, F_ACTION);
        if (v == NULL || v->kind != FAST_STRING)
            return -1;
        int action = lookup_name(v->s, v->len, action_names,
                                 EVENT_ACTION_COUNT);
        if (action < 0)
            return -1;
        ev->action = (event_action)action;
        ev->count = 1;
        if (fast_get_integer(fast_get(ff, F_COUNT), 1, EVENT_COUNT_MAX,
                             &ev->count) < 0 ||
            fast_copy(fast_get(ff, F_POST_ID), ev->post_id) < 0)
            return -1;
        return 0;
    }
    case EVENT_POST:
        if (fast_copy(fast_get(ff, F_POST_ID), ev->post_id) <= 0)
            return -1;
        v = fast_get(ff, F_SPONSORED);
        if (v != NULL) {
            if (v->kind != FAST_TRUE && v->kind != FAST_FALSE)
                return -1;
            ev->sponsored = v->kind == FAST_TRUE;
        }
        if (fast_copy(fast_get(ff, F_SECTOR), ev->sector) < 0)
            return -1;
        n = fast_copy(fast_get(ff, F_BRAND), ev->brand);
        if (n < 0 || (trim_brand(ev->brand, (size_t)n) == 0 && ev->sponsored))
            return -1;
        return 0;
    case EVENT_FOLLOWERS:
        return has_followers ? 0 : -1;
    }
    return -1;
}

/* The scanner: 0 with *ev filled as parse_object fills it, or -1 when it
 * declines.  Allocates nothing. */
static int parse_fast(const void *payload, size_t len,
                      const event_limits *limits, int64_t now_ms, event *ev)
{
    fast_fields ff;
    const unsigned char *p = payload;
    if (fast_scan(p, p + len, &ff) != 0)
        return -1;
    return fast_event(&ff, limits, now_ms, ev);
}

/* The first check of event_parse, before any parsing. */
static bool too_large(size_t len, const event_limits *limits, detail_buf *d)
{
    if (len <= limits->max_event_bytes)
        return false;
    fail(d, "message of %zu bytes exceeds max_event_bytes %zu", len,
         limits->max_event_bytes);
    return true;
}

event_error event_parse(const void *payload, size_t len, const void *key,
                        size_t key_len, const event_limits *limits,
                        int64_t now_ms, event *ev, char *detail,
                        size_t detail_size)
{
    detail_buf d = {detail, detail_size};
    if (too_large(len, limits, &d))
        return EVENT_ERR_TOO_LARGE;
    if (payload == NULL)
        payload = "";
    if (parse_fast(payload, len, limits, now_ms, ev) == 0)
        return check_key(ev, key, key_len, &d);
    return parse_jansson(payload, len, key, key_len, limits, now_ms, ev, &d);
}

event_error event_parse_slow(const void *payload, size_t len, const void *key,
                             size_t key_len, const event_limits *limits,
                             int64_t now_ms, event *ev, char *detail,
                             size_t detail_size)
{
    detail_buf d = {detail, detail_size};
    if (too_large(len, limits, &d))
        return EVENT_ERR_TOO_LARGE;
    if (payload == NULL)
        payload = "";
    return parse_jansson(payload, len, key, key_len, limits, now_ms, ev, &d);
}

bool event_parse_fast(const void *payload, size_t len,
                      const event_limits *limits, int64_t now_ms, event *ev)
{
    if (len > limits->max_event_bytes)
        return false;
    if (payload == NULL)
        payload = "";
    return parse_fast(payload, len, limits, now_ms, ev) == 0;
}

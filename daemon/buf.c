#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_free(buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

void buf_reset(buf *b)
{
    b->len = 0;
    b->failed = false;
}

static bool grow(buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (d == NULL) {
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void buf_append(buf *b, const void *data, size_t len)
{
    if (len == 0 || !grow(b, len))
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

char *buf_extend(buf *b, size_t len)
{
    if (!grow(b, len))
        return NULL;
    char *p = b->data + b->len;
    b->len += len;
    return p;
}

void buf_append_str(buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_append_byte(buf *b, uint8_t c)
{
    if (!grow(b, 1))
        return;
    b->data[b->len++] = (char)c;
}

void buf_append_uvarint(buf *b, uint64_t v)
{
    if (!grow(b, 10))
        return;
    while (v >= 0x80) {
        b->data[b->len++] = (char)((v & 0x7f) | 0x80);
        v >>= 7;
    }
    b->data[b->len++] = (char)v;
}

void buf_append_varint(buf *b, int64_t v)
{
    buf_append_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

size_t buf_format_int(int64_t v, char out[24])
{
    /* By hand: this runs for every number of every checkpoint. */
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    size_t len = 0;
    if (v < 0)
        out[len++] = '-';
    while (n > 0)
        out[len++] = tmp[--n];
    out[len] = 0;
    return len;
}

void buf_append_int(buf *b, int64_t v)
{
    char tmp[24];
    buf_append(b, tmp, buf_format_int(v, tmp));
}

bool buf_failed(const buf *b)
{
    return b->failed;
}

int buf_read_uvarint(const char *data, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return -1;
        uint8_t c = (uint8_t)data[(*pos)++];
        r |= (uint64_t)(c & 0x7f) << shift;
        if ((c & 0x80) == 0) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

int buf_read_varint(const char *data, size_t len, size_t *pos, int64_t *v)
{
    uint64_t u;
    if (buf_read_uvarint(data, len, pos, &u) < 0)
        return -1;
    *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

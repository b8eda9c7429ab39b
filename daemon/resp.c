#include "resp.h"

#include <stdlib.h>
#include <string.h>

void resp_free(resp_cmd *c)
{
    buf_free(&c->data);
    free(c->lens);
    c->lens = NULL;
    c->n = c->cap = 0;
}

void resp_reset(resp_cmd *c)
{
    buf_reset(&c->data);
    c->n = 0;
}

/* Room for `more` lengths; false (c failed) when out of memory. */
static bool reserve(resp_cmd *c, size_t more)
{
    if (c->n + more <= c->cap)
        return true;
    size_t cap = c->cap ? c->cap : 64;
    while (cap < c->n + more)
        cap *= 2;
    size_t *l = realloc(c->lens, cap * sizeof *l);
    if (l == NULL) {
        c->data.failed = true;
        return false;
    }
    c->lens = l;
    c->cap = cap;
    return true;
}

void resp_arg(resp_cmd *c, const void *p, size_t len)
{
    if (!reserve(c, 1))
        return;
    buf_append(&c->data, p, len);
    c->lens[c->n++] = len;
}

void resp_append(resp_cmd *c, const resp_cmd *src)
{
    if (buf_failed(&src->data)) {
        c->data.failed = true;
        return;
    }
    if (!reserve(c, src->n))
        return;
    buf_append(&c->data, src->data.data, src->data.len);
    if (src->n > 0)
        memcpy(c->lens + c->n, src->lens, src->n * sizeof *src->lens);
    c->n += src->n;
}

void resp_str(resp_cmd *c, const char *s)
{
    resp_arg(c, s, strlen(s));
}

void resp_int(resp_cmd *c, int64_t v)
{
    char tmp[24];
    resp_arg(c, tmp, buf_format_int(v, tmp));
}

bool resp_failed(const resp_cmd *c)
{
    return buf_failed(&c->data);
}

/* Decimal digits of v. */
static size_t digits(size_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Writes "<mark><v>\r\n" at p; returns the end. */
static char *header(char *p, char mark, size_t v)
{
    char num[24];
    size_t n = buf_format_int((int64_t)v, num);
    *p++ = mark;
    memcpy(p, num, n);
    p += n;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

void resp_encode(const resp_cmd *c, buf *out)
{
    /* A command that lost an argument is not encoded: its lengths would
     * run past its bytes. */
    if (buf_failed(&c->data)) {
        out->failed = true;
        return;
    }
    /* Sized first, then written in place: a checkpoint's scripts have
     * tens of thousands of arguments. */
    size_t total = 3 + digits(c->n);
    for (size_t i = 0; i < c->n; i++)
        total += 5 + digits(c->lens[i]) + c->lens[i];
    char *p = buf_extend(out, total);
    if (p == NULL)
        return;
    p = header(p, '*', c->n);
    const char *a = c->data.data;
    for (size_t i = 0; i < c->n; i++) {
        p = header(p, '$', c->lens[i]);
        memcpy(p, a, c->lens[i]);
        p += c->lens[i];
        a += c->lens[i];
        *p++ = '\r';
        *p++ = '\n';
    }
}

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

void resp_arg(resp_cmd *c, const void *p, size_t len)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        size_t *l = realloc(c->lens, cap * sizeof *l);
        if (l == NULL) {
            c->data.failed = true;
            return;
        }
        c->lens = l;
        c->cap = cap;
    }
    buf_append(&c->data, p, len);
    c->lens[c->n++] = len;
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

void resp_encode(const resp_cmd *c, buf *out)
{
    char num[24];
    buf_append_byte(out, '*');
    buf_append(out, num, buf_format_int((int64_t)c->n, num));
    buf_append(out, "\r\n", 2);
    size_t off = 0;
    for (size_t i = 0; i < c->n; i++) {
        buf_append_byte(out, '$');
        buf_append(out, num, buf_format_int((int64_t)c->lens[i], num));
        buf_append(out, "\r\n", 2);
        buf_append(out, c->data.data + off, c->lens[i]);
        buf_append(out, "\r\n", 2);
        off += c->lens[i];
    }
}

#include "outbox.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct outbox {
    outbox_alert *alerts;
    size_t n, cap;
    buf scratch;
};

outbox *outbox_new(void)
{
    return calloc(1, sizeof(outbox));
}

static void alert_free(outbox_alert *a)
{
    free(a->creator_id);
    free(a->json);
    free(a->summary);
}

void outbox_free(outbox *ob)
{
    if (ob == NULL)
        return;
    for (size_t i = 0; i < ob->n; i++)
        alert_free(&ob->alerts[i]);
    free(ob->alerts);
    buf_free(&ob->scratch);
    free(ob);
}

int outbox_add(outbox *ob, int slot, const alert *a, const char *creator_id,
               size_t len)
{
    if (ob->n == ob->cap) {
        size_t cap = ob->cap ? ob->cap * 2 : 16;
        outbox_alert *n = realloc(ob->alerts, cap * sizeof *n);
        if (n == NULL)
            return -1;
        ob->alerts = n;
        ob->cap = cap;
    }
    char summary[512];
    alert_summary(a, summary, sizeof summary);
    buf_reset(&ob->scratch);
    if (alert_json(a, &ob->scratch) < 0 || buf_failed(&ob->scratch))
        return -1;
    outbox_alert *q = &ob->alerts[ob->n];
    memset(q, 0, sizeof *q);
    q->slot = slot;
    q->kind = a->kind;
    q->status = a->status;
    q->severity = a->severity;
    q->creator_len = len;
    q->creator_id = strndup(creator_id, len);
    q->json = strndup(ob->scratch.data, ob->scratch.len);
    q->json_len = ob->scratch.len;
    q->summary = strdup(summary);
    if (!q->creator_id || !q->json || !q->summary) {
        alert_free(q);
        return -1;
    }
    alert_id_format(a->fingerprint, q->alert_id);
    ob->n++;
    return 0;
}

size_t outbox_count(const outbox *ob)
{
    return ob->n;
}

const outbox_alert *outbox_get(const outbox *ob, size_t i)
{
    return i < ob->n ? &ob->alerts[i] : NULL;
}

void outbox_set_sent(outbox *ob, size_t i)
{
    if (i < ob->n)
        ob->alerts[i].sent = true;
}

void outbox_done(outbox *ob, const bool *done, size_t nslots)
{
    size_t k = 0;
    for (size_t i = 0; i < ob->n; i++) {
        outbox_alert *a = &ob->alerts[i];
        int s = a->slot;
        bool written = done == NULL ||
                       (s >= 0 && (size_t)s < nslots && done[s]);
        if (written)
            alert_free(a);
        else
            ob->alerts[k++] = *a;
    }
    ob->n = k;
}

void outbox_drop(outbox *ob, int slot)
{
    size_t k = 0;
    for (size_t i = 0; i < ob->n; i++) {
        if (ob->alerts[i].slot == slot)
            alert_free(&ob->alerts[i]);
        else
            ob->alerts[k++] = ob->alerts[i];
    }
    ob->n = k;
}

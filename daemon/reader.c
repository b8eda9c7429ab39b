#include "reader.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "redisconn.h"

struct reader {
    config *cfg;              /* a private copy of [redis] only */
    api_view view;
    pthread_mutex_t lock;     /* guards idle, nidle */
    redisContext *idle[READER_POOL];
    size_t nidle;
};

/* Copies the [redis] strings of src into dst (a config_default()). */
static int copy_redis(config *dst, const config *src)
{
    struct {
        char **to;
        const char *from;
    } s[] = {
        {&dst->redis_host, src->redis_host},
        {&dst->redis_socket, src->redis_socket},
        {&dst->redis_user, src->redis_user},
        {&dst->redis_password_file, src->redis_password_file},
        {&dst->redis_prefix, src->redis_prefix},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        char *c = strdup(s[i].from ? s[i].from : "");
        if (c == NULL)
            return -1;
        free(*s[i].to);
        *s[i].to = c;
    }
    dst->redis_port = src->redis_port;
    dst->redis_db = src->redis_db;
    dst->redis_timeout_ms = src->redis_timeout_ms;
    return 0;
}

reader *reader_new(const config *cfg, char *errstr, size_t errstr_size)
{
    reader *r = calloc(1, sizeof *r);
    if (r != NULL)
        r->cfg = config_default(NULL);
    if (r == NULL || r->cfg == NULL || copy_redis(r->cfg, cfg) < 0) {
        if (r != NULL)
            config_free(r->cfg);
        free(r);
        snprintf(errstr, errstr_size, "out of memory making the API reader");
        return NULL;
    }
    api_view_init(&r->view, cfg);
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

void reader_reconfigure(reader *r, const config *cfg)
{
    pthread_mutex_lock(&r->lock);
    api_view_init(&r->view, cfg);
    pthread_mutex_unlock(&r->lock);
}

void reader_free(reader *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nidle; i++)
        redisFree(r->idle[i]);
    pthread_mutex_destroy(&r->lock);
    config_free(r->cfg);
    free(r);
}

/* An idle connection, or a new one; NULL with errstr. */
static redisContext *take(reader *r, char *errstr, size_t errstr_size)
{
    redisContext *c = NULL;
    pthread_mutex_lock(&r->lock);
    if (r->nidle > 0)
        c = r->idle[--r->nidle];
    pthread_mutex_unlock(&r->lock);
    if (c == NULL && redisconn_connect(r->cfg, &c, errstr, errstr_size) < 0)
        return NULL;
    return c;
}

/* Gives c back, or closes it when it failed or the pool is full. */
static void give(reader *r, redisContext *c)
{
    if (c == NULL)
        return;
    if (c->err == 0) {
        pthread_mutex_lock(&r->lock);
        if (r->nidle < READER_POOL) {
            r->idle[r->nidle++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&r->lock);
    }
    if (c != NULL)
        redisFree(c);
}

/* out = <prefix><kind><id>[<suffix>], reset first. */
static void key(buf *out, const reader *r, const char *kind, const char *id,
                size_t id_len, const char *suffix)
{
    buf_reset(out);
    buf_append_str(out, r->cfg->redis_prefix);
    buf_append_str(out, kind);
    buf_append(out, id, id_len);
    if (suffix != NULL)
        buf_append_str(out, suffix);
}

/* One request's Redis exchange: commands appended, then their replies
 * read back in order. */
typedef struct exchange {
    reader *r;
    api_view view;        /* the reader's, copied at the start */
    redisContext *c;
    size_t sent;          /* commands appended, replies not yet read */
    bool failed;          /* out of memory appending */
    char errstr[512];
} exchange;

/* Appends a command of argc arguments (argv[i] of lens[i] bytes; lens
 * NULL: strings). */
static void cmd(exchange *x, int argc, const char **argv, const size_t *lens)
{
    size_t l[8];
    if (lens == NULL) {
        for (int i = 0; i < argc && i < 8; i++)
            l[i] = strlen(argv[i]);
        lens = l;
    }
    if (redisAppendCommandArgv(x->c, argc, argv, lens) != REDIS_OK)
        x->failed = true;
    else
        x->sent++;
}

/* A command whose first key is b (binary) and the rest strings. */
static void cmd_key(exchange *x, const char *name, const buf *b, int nrest,
                    const char *const *rest)
{
    const char *argv[8] = {name, b->data ? b->data : ""};
    size_t lens[8] = {strlen(name), b->len};
    for (int i = 0; i < nrest && i < 6; i++) {
        argv[2 + i] = rest[i];
        lens[2 + i] = strlen(rest[i]);
    }
    cmd(x, 2 + nrest, argv, lens);
}

/*
 * Reads the next reply.  Returns it (owned by the caller), or NULL when the
 * link failed or Redis answered an error (errstr set, the connection
 * dropped; the replies still owed are abandoned with it).
 */
static redisReply *next(exchange *x, const char *what)
{
    void *rep = NULL;
    if (x->c == NULL)
        return NULL;
    if (redisGetReply(x->c, &rep) != REDIS_OK || rep == NULL ||
        ((redisReply *)rep)->type == REDIS_REPLY_ERROR) {
        redisconn_fail(x->r->cfg, &x->c, rep, what, x->errstr,
                       sizeof x->errstr);
        return NULL;
    }
    x->sent--;
    return rep;
}

/*
 * Reads the replies of a MULTI, n queued commands and EXEC.  Returns the
 * EXEC reply (n elements; owned by the caller), or NULL (errstr set).
 */
static redisReply *transaction(exchange *x, size_t n, const char *what)
{
    for (size_t i = 0; i < n + 1; i++) {
        redisReply *q = next(x, what);
        if (q == NULL)
            return NULL;
        freeReplyObject(q);
    }
    redisReply *e = next(x, what);
    if (e != NULL && (e->type != REDIS_REPLY_ARRAY || e->elements != n)) {
        redisconn_fail(x->r->cfg, &x->c, e, what, x->errstr,
                       sizeof x->errstr);
        return NULL;
    }
    return e;
}

static void multi(exchange *x)
{
    const char *a[] = {"MULTI"};
    cmd(x, 1, a, NULL);
}

static void exec_(exchange *x)
{
    const char *a[] = {"EXEC"};
    cmd(x, 1, a, NULL);
}

/* ---- the routes: each fills out and returns the status, or returns 0
 * when Redis failed (x->errstr) and 1 when out of memory. */

static unsigned campaigns(exchange *x, const api_request *req, buf *out)
{
    reader *r = x->r;
    buf k = BUF_INIT;
    char stop[24];
    snprintf(stop, sizeof stop, "%ld", req->limit - 1);
    key(&k, r, "campaigns", "", 0, NULL);
    multi(x);
    cmd_key(x, "ZREVRANGE", &k, 2, (const char *[]){"0", stop});
    cmd_key(x, "ZCARD", &k, 0, NULL);
    exec_(x);
    redisReply *first = x->failed ? NULL : transaction(x, 2, "ZREVRANGE");
    if (first == NULL) {
        buf_free(&k);
        return x->failed ? 1 : 0;
    }
    const redisReply *ids = first->element[0];
    long long total = first->element[1]->type == REDIS_REPLY_INTEGER
                          ? first->element[1]->integer
                          : 0;
    size_t n = ids->type == REDIS_REPLY_ARRAY ? ids->elements : 0;
    redisReply *hashes = NULL;
    unsigned status = 1;
    const redisReply **hv = calloc(n + 1, sizeof *hv);
    if (hv == NULL)
        goto done;
    if (n > 0) {
        multi(x);
        for (size_t i = 0; i < n; i++) {
            const redisReply *id = ids->element[i];
            key(&k, r, "campaign:", id->str ? id->str : "",
                id->str ? id->len : 0, NULL);
            cmd_key(x, "HGETALL", &k, 0, NULL);
        }
        exec_(x);
        hashes = x->failed || buf_failed(&k) ? NULL
                                             : transaction(x, n, "HGETALL");
        if (hashes == NULL) {
            status = x->failed || buf_failed(&k) ? 1 : 0;
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            hv[i] = hashes->element[i];
    }
    status = api_success_body(out, api_campaigns(ids, hv, total)) == 0 ? 200
                                                                        : 1;
done:
    free(hv);
    if (hashes != NULL)
        freeReplyObject(hashes);
    freeReplyObject(first);
    buf_free(&k);
    return status;
}

static unsigned campaign(exchange *x, const api_request *req, buf *out)
{
    reader *r = x->r;
    buf k = BUF_INIT;
    unsigned status = 1;
    redisReply *head = NULL, *snap = NULL;
    const redisReply **dv = NULL, **cv = NULL;
    /* Which days to read depends on the campaign's span: read it, then
     * read everything in one transaction, the hash again included.  Should
     * a checkpoint move last_ms to another day in between, the series
     * ends a day early, until the next refresh. */
    key(&k, r, "campaign:", req->id, req->id_len, NULL);
    const char *a[] = {"last_ms", "first_ms"};
    cmd_key(x, "HMGET", &k, 2, a);
    if (x->failed || (head = next(x, "HMGET")) == NULL) {
        status = x->failed ? 1 : 0;
        goto done;
    }
    long long last = 0, first = 0;
    if (head->type != REDIS_REPLY_ARRAY || head->elements != 2 ||
        head->element[0]->type != REDIS_REPLY_STRING) {
        char msg[200];
        snprintf(msg, sizeof msg, "no campaign with this id");
        status = api_error_body(out, 404, msg) == 0 ? 404 : 1;
        goto done;
    }
    last = strtoll(head->element[0]->str, NULL, 10);
    if (head->element[1]->type == REDIS_REPLY_STRING)
        first = strtoll(head->element[1]->str, NULL, 10);
    int64_t day0;
    size_t ndays = api_campaign_days(req, first, last, &day0);
    char stop[24];
    snprintf(stop, sizeof stop, "%ld", req->top - 1);
    multi(x);
    cmd_key(x, "HGETALL", &k, 0, NULL);
    for (size_t i = 0; i < ndays; i++) {
        char day[16], suffix[20];
        api_day_name(day0 + (int64_t)i, day, sizeof day);
        snprintf(suffix, sizeof suffix, ":%s", day);
        key(&k, r, "campaign_day:", req->id, req->id_len, suffix);
        cmd_key(x, "HGETALL", &k, 0, NULL);
    }
    key(&k, r, "campaign_creators:", req->id, req->id_len, NULL);
    cmd_key(x, "ZREVRANGE", &k, 3, (const char *[]){"0", stop, "WITHSCORES"});
    exec_(x);
    if (x->failed || buf_failed(&k) ||
        (snap = transaction(x, ndays + 2, "HGETALL")) == NULL) {
        status = x->failed || buf_failed(&k) ? 1 : 0;
        goto done;
    }
    const redisReply *hash = snap->element[0];
    if (!api_campaign_exists(hash)) {
        /* Expired between the two reads. */
        status = api_error_body(out, 404, "no campaign with this id") == 0
                     ? 404
                     : 1;
        goto done;
    }
    const redisReply *top = snap->element[ndays + 1];
    size_t ntop = top->type == REDIS_REPLY_ARRAY ? top->elements / 2 : 0;
    dv = calloc(ndays + 1, sizeof *dv);
    cv = calloc(ntop + 1, sizeof *cv);
    if (dv == NULL || cv == NULL)
        goto done;
    for (size_t i = 0; i < ndays; i++)
        dv[i] = snap->element[1 + i];
    redisReply **creators = NULL;
    if (ntop > 0) {
        creators = calloc(ntop, sizeof *creators);
        if (creators == NULL)
            goto done;
        for (size_t i = 0; i < ntop; i++) {
            const redisReply *id = top->element[2 * i];
            key(&k, r, "creator:", id->str ? id->str : "",
                id->str ? id->len : 0, NULL);
            cmd_key(x, "HMGET", &k, 2, (const char *[]){"tier", "followers"});
        }
        bool ok = !x->failed && !buf_failed(&k);
        for (size_t i = 0; ok && i < ntop; i++)
            ok = (creators[i] = next(x, "HMGET")) != NULL;
        for (size_t i = 0; ok && i < ntop; i++)
            cv[i] = creators[i];
        if (ok)
            status = api_success_body(out, api_campaign(&x->view, req, hash,
                                                        day0, dv, ndays, top,
                                                        cv)) == 0
                         ? 200
                         : 1;
        else
            status = x->failed || buf_failed(&k) ? 1 : 0;
        for (size_t i = 0; i < ntop; i++)
            if (creators[i] != NULL)
                freeReplyObject(creators[i]);
        free(creators);
    } else {
        status = api_success_body(out, api_campaign(&x->view, req, hash, day0,
                                                    dv, ndays, top, cv)) == 0
                     ? 200
                     : 1;
    }
done:
    free(dv);
    free(cv);
    if (snap != NULL)
        freeReplyObject(snap);
    if (head != NULL)
        freeReplyObject(head);
    buf_free(&k);
    return status;
}

static unsigned creator(exchange *x, const api_request *req, buf *out)
{
    reader *r = x->r;
    buf k = BUF_INIT;
    char stop[24];
    snprintf(stop, sizeof stop, "%d", API_BRANDS_MAX - 1);
    multi(x);
    key(&k, r, "creator:", req->id, req->id_len, NULL);
    cmd_key(x, "HGETALL", &k, 0, NULL);
    key(&k, r, "creator_brands:", req->id, req->id_len, NULL);
    cmd_key(x, "ZREVRANGE", &k, 3, (const char *[]){"0", stop, "WITHSCORES"});
    key(&k, r, "creator_brand_posts:", req->id, req->id_len, NULL);
    cmd_key(x, "HGETALL", &k, 0, NULL);
    key(&k, r, "creator_sectors:", req->id, req->id_len, NULL);
    cmd_key(x, "ZREVRANGE", &k, 3, (const char *[]){"0", stop, "WITHSCORES"});
    exec_(x);
    bool oom = x->failed || buf_failed(&k);
    buf_free(&k);
    redisReply *snap = oom ? NULL : transaction(x, 4, "HGETALL");
    if (snap == NULL)
        return oom ? 1 : 0;
    bool found;
    json_t *data = api_creator(&x->view, req, snap->element[0],
                               snap->element[1], snap->element[2],
                               snap->element[3], &found);
    unsigned status;
    if (!found)
        status = api_error_body(out, 404, "no creator with this id") == 0
                     ? 404
                     : 1;
    else
        status = api_success_body(out, data) == 0 ? 200 : 1;
    freeReplyObject(snap);
    return status;
}

static unsigned tiers(exchange *x, buf *out)
{
    reader *r = x->r;
    const api_view *v = &x->view;
    buf k = BUF_INIT;
    multi(x);
    for (size_t i = 0; i <= v->ntiers; i++) {
        const char *name = i < v->ntiers ? v->tiers[i].name : "unknown";
        key(&k, r, "tier:", name, strlen(name), NULL);
        cmd_key(x, "HGETALL", &k, 0, NULL);
    }
    exec_(x);
    bool oom = x->failed || buf_failed(&k);
    buf_free(&k);
    redisReply *snap = oom ? NULL : transaction(x, v->ntiers + 1, "HGETALL");
    if (snap == NULL)
        return oom ? 1 : 0;
    const redisReply *hv[CONFIG_MAX_TIERS + 1];
    for (size_t i = 0; i <= v->ntiers; i++)
        hv[i] = snap->element[i];
    unsigned status = api_success_body(out, api_tiers(v, hv)) == 0 ? 200 : 1;
    freeReplyObject(snap);
    return status;
}

static unsigned alerts(exchange *x, const api_request *req, buf *out)
{
    buf k = BUF_INIT;
    char count[24], after[64];
    snprintf(count, sizeof count, "%ld", req->limit);
    key(&k, x->r, "alerts", "", 0, NULL);
    bool newest_first = req->since[0] == 0;
    if (newest_first) {
        cmd_key(x, "XREVRANGE", &k, 4,
                (const char *[]){"+", "-", "COUNT", count});
    } else if (api_after_id(req->since, after, sizeof after) != NULL) {
        cmd_key(x, "XRANGE", &k, 4,
                (const char *[]){after, "+", "COUNT", count});
    } else {
        /* Nothing can come after the last id there is. */
        buf_free(&k);
        return api_success_body(out, api_alerts(req, NULL, false)) == 0 ? 200
                                                                        : 1;
    }
    bool oom = x->failed || buf_failed(&k);
    buf_free(&k);
    redisReply *e = oom ? NULL : next(x, "XRANGE");
    if (e == NULL)
        return oom ? 1 : 0;
    unsigned status =
        api_success_body(out, api_alerts(req, e, newest_first)) == 0 ? 200 : 1;
    freeReplyObject(e);
    return status;
}

unsigned reader_answer(reader *r, const api_request *req, buf *out)
{
    exchange x = {.r = r};
    pthread_mutex_lock(&r->lock);
    x.view = r->view;
    pthread_mutex_unlock(&r->lock);
    x.c = take(r, x.errstr, sizeof x.errstr);
    unsigned status = 0;
    if (x.c != NULL) {
        switch (req->route) {
        case API_CAMPAIGNS: status = campaigns(&x, req, out); break;
        case API_CAMPAIGN: status = campaign(&x, req, out); break;
        case API_CREATOR: status = creator(&x, req, out); break;
        case API_TIERS: status = tiers(&x, out); break;
        case API_ALERTS: status = alerts(&x, req, out); break;
        }
    }
    /* Replies still owed (a route that stopped early) make the link
     * unusable for the next request. */
    if (x.c != NULL && x.sent > 0)
        redisconn_close(&x.c);
    give(r, x.c);
    if (status == 0) {
        log_limited("api-redis", LOG_LEVEL_WARNING, "read API: %s", x.errstr);
        return api_error_body(out, 503, x.errstr) == 0 ? 503 : 500;
    }
    if (status == 1) {
        api_error_body(out, 500, "out of memory");
        return 500;
    }
    return status;
}

#include "checkpoint.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

#include <hiredis/hiredis.h>
#include <hiredis/sds.h>

#include "buf.h"
#include "keys.h"
#include "log.h"
#include "now.h"
#include "redisconn.h"

struct checkpoint {
    const config *cfg;
    /* The payload last built; kept unchanged while in doubt. */
    payload *pl;
    bool in_doubt;
    bool precheck_due;       /* its pre-check goes before its first send */
    long long not_new;       /* the pre-check's answer: keys found, > 0 */
    redisReply *pre_fenced;  /* or the fence check's FENCED reply */
    buf tmp;
    /* The writer thread sends the payload on a connection of its own.  The
     * main thread hands it over (job), the writer answers (done); in
     * between, only the writer touches wctx, the payload and the answer. */
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool job, done, quit;
    redisContext *wctx;
    redisReply *answer;      /* EXEC's reply, or NULL with werr */
    char werr[512];
    int64_t answered_ms;     /* wall clock when the answer came */
    checkpoint_answered_fn *on_answer;   /* and its argument; under mu */
    void *on_answer_arg;
};

static void *writer_main(void *arg);

checkpoint *checkpoint_new(const config *cfg, char *errstr, size_t errstr_size)
{
    checkpoint *ck = calloc(1, sizeof *ck);
    if (ck == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    ck->cfg = cfg;
    if ((ck->pl = payload_new(cfg, errstr, errstr_size)) == NULL) {
        free(ck);
        return NULL;
    }
    pthread_mutex_init(&ck->mu, NULL);
    pthread_cond_init(&ck->cv, NULL);
    int rc = pthread_create(&ck->writer, NULL, writer_main, ck);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "starting the checkpoint writer: %s",
                 strerror(rc));
        checkpoint_free(ck);
        return NULL;
    }
    ck->writer_started = true;
    return ck;
}

void checkpoint_free(checkpoint *ck)
{
    if (ck == NULL)
        return;
    if (ck->writer_started) {
        pthread_mutex_lock(&ck->mu);
        ck->quit = true;
        pthread_cond_broadcast(&ck->cv);
        pthread_mutex_unlock(&ck->mu);
        pthread_join(ck->writer, NULL);
    }
    pthread_mutex_destroy(&ck->mu);
    pthread_cond_destroy(&ck->cv);
    redisconn_close(&ck->wctx);
    if (ck->answer != NULL)
        freeReplyObject(ck->answer);
    if (ck->pre_fenced != NULL)
        freeReplyObject(ck->pre_fenced);
    payload_free(ck->pl);
    buf_free(&ck->tmp);
    free(ck);
}

size_t checkpoint_payload_bytes(const checkpoint *ck)
{
    size_t len;
    payload_data(ck->pl, &len);
    return len;
}

size_t checkpoint_payload_creators(const checkpoint *ck)
{
    return payload_creators(ck->pl);
}

const payload *checkpoint_payload(const checkpoint *ck)
{
    return ck->pl;
}

/* --- the writer ------------------------------------------------------------- */

static bool reply_is(const redisReply *r, const char *word)
{
    const redisReply *e = r;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0)
        e = r->element[0];
    return (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) &&
           strcmp(e->str, word) == 0;
}

/*
 * Writer thread: sends the payload on its own connection and keeps EXEC's
 * reply (or the error) for the main thread.  Every reply before EXEC is
 * read so that the link stays in step; a command refused while queued makes
 * EXEC answer EXECABORT, and nothing is applied.
 */
/*
 * Sends len bytes of RESP on the link as they are, from the caller's
 * buffer: a payload is tens of MB, and redisAppendFormattedCommand would
 * copy it into hiredis' output buffer first, doubling the peak memory.
 * Only when hiredis has nothing of its own left to write, as after every
 * reply was read; otherwise it appends as usual.  The link's send timeout
 * applies.  Returns 0, or -1 with errstr (the link is then out of step and
 * must be dropped).  Writer thread.
 */
static int send_resp(redisContext *c, const char *data, size_t len,
                     char *errstr, size_t errstr_size)
{
    if (c->obuf != NULL && sdslen(c->obuf) > 0) {
        if (redisAppendFormattedCommand(c, data, len) == REDIS_OK)
            return 0;
        snprintf(errstr, errstr_size, "%s", c->errstr);
        return -1;
    }
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(errstr, errstr_size, "%s",
                     n == 0 || errno == EAGAIN || errno == EWOULDBLOCK
                         ? "write timed out"
                         : strerror(errno));
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static void write_payload(checkpoint *ck)
{
    char err[512];
    redisReply *exec = NULL;
    if (redisconn_connect(ck->cfg, &ck->wctx, err, sizeof err) < 0)
        goto failed;
    size_t len, npre = payload_precheck_commands(ck->pl);
    const char *pre = payload_precheck(ck->pl, &len);
    if (ck->precheck_due && npre > 0) {
        if (redisAppendFormattedCommand(ck->wctx, pre, len) != REDIS_OK) {
            redisconn_fail(ck->cfg, &ck->wctx, NULL, "checkpoint EXISTS", err, sizeof err);
            goto failed;
        }
        long long found = 0;
        for (size_t i = 0; i < npre; i++) {
            bool fence = i + 1 == npre;
            redisReply *r = NULL;
            if (redisGetReply(ck->wctx, (void **)&r) != REDIS_OK || r == NULL) {
                redisconn_fail(ck->cfg, &ck->wctx, NULL, "checkpoint pre-check", err,
                        sizeof err);
                goto failed;
            }
            if (fence ? r->type != REDIS_REPLY_ARRAY
                      : r->type != REDIS_REPLY_INTEGER) {
                redisconn_fail(ck->cfg, &ck->wctx, r, "checkpoint pre-check", err,
                        sizeof err);
                goto failed;
            }
            if (fence && reply_is(r, "FENCED")) {
                ck->pre_fenced = r;
                ck->answer = NULL;
                return;
            }
            if (!fence)
                found += r->integer;
            freeReplyObject(r);
        }
        if (found > 0) {
            ck->not_new = found;
            ck->answer = NULL;
            return;
        }
    }
    ck->precheck_due = false;
    char why[256];
    size_t ncmds = payload_commands(ck->pl);
    const char *data = payload_data(ck->pl, &len);
    if (send_resp(ck->wctx, data, len, why,
                  sizeof why) < 0) {
        char w[300];
        snprintf(err, sizeof err, "%.300s: checkpoint: %.150s",
                 redisconn_where(ck->cfg, w, sizeof w), why);
        redisconn_close(&ck->wctx);
        goto failed;
    }
    for (size_t i = 0; i < ncmds; i++) {
        redisReply *r = NULL;
        if (redisGetReply(ck->wctx, (void **)&r) != REDIS_OK || r == NULL) {
            if (exec)
                freeReplyObject(exec);
            redisconn_fail(ck->cfg, &ck->wctx, NULL, "checkpoint", err, sizeof err);
            goto failed;
        }
        if (i + 1 < ncmds) {
            if (r->type != REDIS_REPLY_STATUS)
                log_warning("checkpoint command refused error=\"%s\"",
                            r->type == REDIS_REPLY_ERROR ? r->str : "?");
            freeReplyObject(r);
        } else {
            exec = r;
        }
    }
    ck->answer = exec;
    return;
failed:
    ck->answer = NULL;
    snprintf(ck->werr, sizeof ck->werr, "%s", err);
}

void checkpoint_on_answer(checkpoint *ck, checkpoint_answered_fn *fn,
                          void *arg)
{
    pthread_mutex_lock(&ck->mu);
    ck->on_answer = fn;
    ck->on_answer_arg = arg;
    pthread_mutex_unlock(&ck->mu);
}

static void *writer_main(void *arg)
{
    checkpoint *ck = arg;
    pthread_mutex_lock(&ck->mu);
    for (;;) {
        while (!ck->quit && !(ck->job && !ck->done))
            pthread_cond_wait(&ck->cv, &ck->mu);
        if (ck->quit)
            break;
        pthread_mutex_unlock(&ck->mu);
        write_payload(ck);
        int64_t at = now_wall_ms();
        pthread_mutex_lock(&ck->mu);
        ck->answered_ms = at;
        ck->done = true;
        pthread_cond_broadcast(&ck->cv);
        if (ck->on_answer != NULL)
            ck->on_answer(ck->on_answer_arg);
    }
    pthread_mutex_unlock(&ck->mu);
    return NULL;
}

/* --- the checkpoint, from the main thread ----------------------------------- */

/* Sets parts[].fenced from a FENCED reply's partition names. */
static void mark_fenced(checkpoint *ck, const redisReply *r,
                        payload_part *parts, size_t nparts)
{
    for (size_t k = 1; k < r->elements; k++)
        for (size_t i = 0; i < nparts; i++) {
            keys_partition(&ck->tmp, parts[i].topic, parts[i].partition);
            if (r->element[k]->len == ck->tmp.len &&
                memcmp(r->element[k]->str, ck->tmp.data, ck->tmp.len) == 0)
                parts[i].fenced = true;
        }
}

/* Reads the writer's answer; ck->answer is consumed. */
static checkpoint_result read_answer(checkpoint *ck, payload_part *parts,
                                     size_t nparts, char *errstr,
                                     size_t errstr_size)
{
    redisReply *exec = ck->answer;
    ck->answer = NULL;
    char w[300];
    if (ck->pre_fenced != NULL) {
        mark_fenced(ck, ck->pre_fenced, parts, nparts);
        freeReplyObject(ck->pre_fenced);
        ck->pre_fenced = NULL;
        return CHECKPOINT_FENCED;
    }
    if (ck->not_new > 0) {
        snprintf(errstr, errstr_size,
                 "%lld creator(s) taken as new already have state in Redis",
                 ck->not_new);
        return CHECKPOINT_NOT_NEW;
    }
    if (exec == NULL) {
        snprintf(errstr, errstr_size, "%s", ck->werr);
        return CHECKPOINT_ERROR;
    }
    if (exec->type != REDIS_REPLY_ARRAY || exec->elements != payload_commands(ck->pl) - 2) {
        snprintf(errstr, errstr_size, "%s: checkpoint EXEC: %s",
                 redisconn_where(ck->cfg, w, sizeof w),
                 exec->type == REDIS_REPLY_ERROR ? exec->str
                                                 : "unexpected reply");
        freeReplyObject(exec);
        return CHECKPOINT_ERROR;
    }
    for (size_t i = 0; i < exec->elements; i++)
        if (exec->element[i]->type == REDIS_REPLY_ERROR) {
            /* A script failed half-way (foreign data under our keys).  What
             * it wrote stays; say so loudly. */
            snprintf(errstr, errstr_size, "%s: checkpoint script: %s",
                     redisconn_where(ck->cfg, w, sizeof w), exec->element[i]->str);
            freeReplyObject(exec);
            return CHECKPOINT_ERROR;
        }
    redisReply *fin = exec->element[exec->elements - 1];
    checkpoint_result res;
    if (reply_is(fin, "OK") || reply_is(fin, "DUP")) {
        if (reply_is(fin, "DUP"))
            log_notice("checkpoint was already applied before its reply was "
                       "lost; not applied twice");
        res = CHECKPOINT_OK;
    } else if (reply_is(fin, "FENCED")) {
        mark_fenced(ck, fin, parts, nparts);
        res = CHECKPOINT_FENCED;
    } else {
        snprintf(errstr, errstr_size, "%s: checkpoint reply: unexpected",
                 redisconn_where(ck->cfg, w, sizeof w));
        res = CHECKPOINT_ERROR;
    }
    freeReplyObject(exec);
    return res;
}

int checkpoint_build(checkpoint *ck, const state *st, const outbox *ob,
                     const payload_part *parts, size_t nparts,
                     char *errstr, size_t errstr_size)
{
    if (ck->in_doubt)
        return 0; /* the payload kept is sent again */
    if (payload_build(ck->pl, st, ob, parts, nparts, errstr, errstr_size) < 0)
        return -1;
    ck->precheck_due = true;
    return 0;
}

void checkpoint_send(checkpoint *ck, payload_part *parts, size_t nparts)
{
    for (size_t i = 0; i < nparts; i++)
        parts[i].fenced = false;
    ck->not_new = 0;
    /* Whatever happens now, the outcome is unknown until the answer. */
    ck->in_doubt = true;
    pthread_mutex_lock(&ck->mu);
    ck->job = true;
    ck->done = false;
    pthread_cond_broadcast(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
}

bool checkpoint_busy(const checkpoint *ck)
{
    return ck->job;
}

checkpoint_result checkpoint_wait(checkpoint *ck, int timeout_ms,
                                  payload_part *parts, size_t nparts,
                                  int64_t *answered_ms, char *errstr,
                                  size_t errstr_size)
{
    if (!ck->job) {
        snprintf(errstr, errstr_size, "no checkpoint in flight");
        return CHECKPOINT_ERROR;
    }
    pthread_mutex_lock(&ck->mu);
    if (!ck->done && timeout_ms != 0) {
        if (timeout_ms < 0) {
            while (!ck->done)
                pthread_cond_wait(&ck->cv, &ck->mu);
        } else {
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_sec += timeout_ms / 1000;
            dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
            if (dl.tv_nsec >= 1000000000L) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000L;
            }
            while (!ck->done &&
                   pthread_cond_timedwait(&ck->cv, &ck->mu, &dl) == 0)
                ;
        }
    }
    bool done = ck->done;
    if (answered_ms != NULL)
        *answered_ms = ck->answered_ms;
    pthread_mutex_unlock(&ck->mu);
    if (!done)
        return CHECKPOINT_PENDING;
    ck->job = false;
    checkpoint_result res = read_answer(ck, parts, nparts, errstr,
                                        errstr_size);
    ck->in_doubt = res == CHECKPOINT_ERROR;
    return res;
}

bool checkpoint_in_doubt(const checkpoint *ck)
{
    return ck->in_doubt;
}

#include "redisconn.h"

#include <stdio.h>
#include <string.h>

#include "secret.h"

const char *redisconn_where(const config *cfg, char *b, size_t size)
{
    if (cfg->redis_socket[0])
        snprintf(b, size, "redis %s", cfg->redis_socket);
    else
        snprintf(b, size, "redis %s:%d", cfg->redis_host, cfg->redis_port);
    return b;
}

void redisconn_close(redisContext **pc)
{
    if (*pc != NULL)
        redisFree(*pc);
    *pc = NULL;
}

int redisconn_fail(const config *cfg, redisContext **pc, redisReply *r,
                   const char *what, char *errstr, size_t errstr_size)
{
    char w[300];
    const char *why = r != NULL && r->type == REDIS_REPLY_ERROR ? r->str
                      : *pc != NULL && (*pc)->err               ? (*pc)->errstr
                                                  : "unexpected reply";
    snprintf(errstr, errstr_size, "%s: %s: %s",
             redisconn_where(cfg, w, sizeof w), what, why);
    if (r != NULL)
        freeReplyObject(r);
    redisconn_close(pc);
    return -1;
}

int redisconn_connect(const config *cfg, redisContext **pc, char *errstr,
                      size_t errstr_size)
{
    if (*pc != NULL)
        return 0;
    struct timeval tv = {cfg->redis_timeout_ms / 1000,
                         (cfg->redis_timeout_ms % 1000) * 1000};
    if (cfg->redis_socket[0])
        *pc = redisConnectUnixWithTimeout(cfg->redis_socket, tv);
    else
        *pc = redisConnectWithTimeout(cfg->redis_host, cfg->redis_port, tv);
    if (*pc == NULL || (*pc)->err)
        return redisconn_fail(cfg, pc, NULL, "connect", errstr, errstr_size);
    redisSetTimeout(*pc, tv);
    redisEnableKeepAlive(*pc);
    redisReply *r;
    char pw[SECRET_MAX];
    secret_result has = secret_read(cfg->redis_password_file, "redis-password",
                                    pw, sizeof pw, errstr, errstr_size);
    if (has == SECRET_ERROR) {
        redisconn_close(pc);
        return -1;
    }
    if (has == SECRET_FOUND) {
        if (cfg->redis_user[0])
            r = redisCommand(*pc, "AUTH %s %s", cfg->redis_user, pw);
        else
            r = redisCommand(*pc, "AUTH %s", pw);
        memset(pw, 0, sizeof pw);
        if (r == NULL || r->type == REDIS_REPLY_ERROR)
            return redisconn_fail(cfg, pc, r, "AUTH", errstr, errstr_size);
        freeReplyObject(r);
    }
    r = redisCommand(*pc, "SELECT %d", cfg->redis_db);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return redisconn_fail(cfg, pc, r, "SELECT", errstr, errstr_size);
    freeReplyObject(r);
    return 0;
}

/*
 * redisconn: a connection to engaged's Redis ([redis] in the config):
 * connect with the timeouts, authenticate (the password from a file or a
 * systemd credential, secret.h), select the db; and one way to report a
 * failure, naming the server, that drops the link so that the next call
 * connects afresh.  Shared by the reads (store.h) and the checkpoint's
 * writer (checkpoint.h), each on a connection of its own.
 *
 * Any thread, one thread per connection.
 */
#ifndef ENGAGED_REDISCONN_H
#define ENGAGED_REDISCONN_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "config.h"

/*
 * Connects *pc when it is NULL (does nothing otherwise): connect and
 * command timeouts of [redis] timeout_ms, TCP keepalive, AUTH, SELECT.
 * Returns 0, or -1 with errstr ("redis HOST:PORT: connect: ...") and *pc
 * NULL.
 */
int redisconn_connect(const config *cfg, redisContext **pc, char *errstr,
                      size_t errstr_size);

/*
 * Reports a failure of `what` on *pc: the reply's error when r is an error
 * reply, else the link's, else "unexpected reply", as "redis HOST:PORT:
 * WHAT: WHY" in errstr.  Frees r (may be NULL), drops the link (*pc NULL).
 * Returns -1, for `return redisconn_fail(...)`.
 */
int redisconn_fail(const config *cfg, redisContext **pc, redisReply *r,
                   const char *what, char *errstr, size_t errstr_size);

/* "redis HOST:PORT" or "redis SOCKET", into b.  Returns b. */
const char *redisconn_where(const config *cfg, char *b, size_t size);

/* Closes *pc when open; *pc is NULL afterwards. */
void redisconn_close(redisContext **pc);

#endif

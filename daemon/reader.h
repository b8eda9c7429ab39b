/*
 * reader: the read API's I/O shell (issue 19).  It asks Redis what a
 * request of daemon/api.h needs, over connections of its own (never the
 * checkpoint's or the state loader's), and has api.c write the answer.
 *
 * Each answer reads one consistent snapshot where it matters: the keys of
 * one campaign, creator or set of tiers are read inside one MULTI/EXEC, so
 * no checkpoint lands halfway through them.
 *
 * Connections: at most READER_POOL idle ones are kept, guarded by a mutex;
 * a request takes one (or connects) and gives it back when it is healthy.
 * A connection that failed is closed: the next request connects afresh.
 * Connect and command timeouts are [redis] timeout_ms.
 *
 * Threads: reader_answer() from any number of threads at once (the HTTP
 * server's); reader_new() and reader_free() from one thread, with no
 * answer running.
 */
#ifndef ENGAGED_READER_H
#define ENGAGED_READER_H

#include <stddef.h>

#include "api.h"
#include "buf.h"
#include "config.h"

#define READER_POOL 4

typedef struct reader reader;

/*
 * Makes a reader for cfg's Redis ([redis]: address, credentials, db,
 * prefix, timeout), tiers and windows, all copied: cfg may change or go
 * afterwards.  Connects nothing yet.  Returns the reader, owned by the
 * caller (reader_free()), or NULL with errstr when out of memory.
 */
reader *reader_new(const config *cfg, char *errstr, size_t errstr_size);

/*
 * Takes the tiers and windows of cfg (a reloaded configuration) for the
 * answers that start afterwards; an answer under way keeps the ones it
 * started with.  Any thread.
 */
void reader_reconfigure(reader *r, const config *cfg);

/* Closes the connections and frees r.  NULL is fine. */
void reader_free(reader *r);

/*
 * Answers the parsed request req: out (reset first) gets the JSON body.
 * Returns the HTTP status: 200; 404 (no such campaign or creator); 503
 * when Redis cannot be reached or fails (the body says which server and
 * why; logged at warning, rate-limited); 500 when out of memory (out may
 * then be empty: the caller closes the connection).
 */
unsigned reader_answer(reader *r, const api_request *req, buf *out);

#endif

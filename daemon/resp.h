/*
 * resp: Redis commands built as RESP bytes, argument by argument, so that
 * a checkpoint or a read of thousands of keys is assembled without a
 * format string and sent (or pipelined) as it is.  Pure; not thread-safe:
 * one owner per command.
 *
 * Allocation failures are sticky, as in buf.h: resp_failed() after a
 * sequence of calls says whether the command is whole.
 */
#ifndef ENGAGED_RESP_H
#define ENGAGED_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* One command under construction: its arguments back to back. */
typedef struct resp_cmd {
    buf data;
    size_t *lens;
    size_t n, cap;
} resp_cmd;

#define RESP_CMD_INIT {BUF_INIT, NULL, 0, 0}

/* Releases the command's memory; it is empty and reusable afterwards. */
void resp_free(resp_cmd *c);

/* Empties the command, keeping its memory; clears the failure. */
void resp_reset(resp_cmd *c);

/* Appends an argument of len bytes (copied). */
void resp_arg(resp_cmd *c, const void *p, size_t len);

/* Appends a NUL-terminated string argument. */
void resp_str(resp_cmd *c, const char *s);

/* Appends an integer argument, in decimal. */
void resp_int(resp_cmd *c, int64_t v);

/* Appends every argument of src to c, in order (src unchanged); a failed
 * src fails c. */
void resp_append(resp_cmd *c, const resp_cmd *src);

/* Whether an allocation failed since the last reset. */
bool resp_failed(const resp_cmd *c);

/* Appends the command to out as RESP ("*n\r\n" then "$len\r\narg\r\n"),
 * with one allocation at most.  A failed command (resp_failed) fails out
 * and appends nothing. */
void resp_encode(const resp_cmd *c, buf *out);

#endif

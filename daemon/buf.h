/*
 * buf: a growable byte buffer, for building checkpoint payloads and state
 * blobs.  Not thread-safe; one owner.
 *
 * Allocation failures are sticky: after one, every append is a no-op and
 * buf_failed() says so, so that a long sequence of appends needs one check.
 */
#ifndef ENGAGED_BUF_H
#define ENGAGED_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    char *data;
    size_t len, cap;
    bool failed;
} buf;

#define BUF_INIT {NULL, 0, 0, false}

void buf_free(buf *b);
/* Empties the buffer, keeping its memory; clears the failure flag. */
void buf_reset(buf *b);
void buf_append(buf *b, const void *data, size_t len);
void buf_append_str(buf *b, const char *s);
void buf_append_byte(buf *b, uint8_t c);
/* Unsigned LEB128 varint. */
void buf_append_uvarint(buf *b, uint64_t v);
/* Zigzag-encoded signed varint. */
void buf_append_varint(buf *b, int64_t v);
/* Decimal text of v. */
void buf_append_int(buf *b, int64_t v);

/* Makes room for len more bytes at the end and counts them in: returns
 * where to write them, or NULL once an allocation failed (sticky). */
char *buf_extend(buf *b, size_t len);

/* Writes the decimal text of v and a NUL into out; returns its length. */
size_t buf_format_int(int64_t v, char out[24]);
bool buf_failed(const buf *b);

/*
 * What reading a persisted blob back (a creator's state, a window's cells,
 * a conflict history) came to.  Out of memory is kept apart from corrupt
 * bytes: a corrupt blob is the blob's fault and is dropped, running out of
 * memory is not and must lose nothing.
 */
typedef enum buf_decode_result {
    BUF_DECODED = 0,
    BUF_CORRUPT = -1,
    BUF_NOMEM = -2
} buf_decode_result;

/*
 * Reading varints back: *pos is advanced past the value.
 * Returns 0, or -1 when the input ends early or the value overflows.
 */
int buf_read_uvarint(const char *data, size_t len, size_t *pos, uint64_t *v);
int buf_read_varint(const char *data, size_t len, size_t *pos, int64_t *v);

#endif

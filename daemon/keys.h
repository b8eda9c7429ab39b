/*
 * keys: the names of engaged's Redis keys and fields that the C side
 * builds (schemas/redis.md is the reference; the checkpoint's Lua scripts
 * build the rest from the same parts).  Pure; any thread.
 */
#ifndef ENGAGED_KEYS_H
#define ENGAGED_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"

/* out = "TOPIC:PARTITION", the field that names a partition in the fence,
 * offsets and watermarks hashes.  out is reset first. */
void keys_partition(buf *out, const char *topic, int32_t partition);

/* out = "<prefix>wake:<group>:TOPIC:PARTITION", a partition's wake index. */
void keys_wake(buf *out, const config *cfg, const char *topic,
               int32_t partition);

/* out = "<prefix>tier_share:<group>:TOPIC:PARTITION", a partition's share
 * of the tier hashes (share.h). */
void keys_share(buf *out, const config *cfg, const char *topic,
                int32_t partition);

/* out = "<prefix>creator:<id>", a creator's hash. */
void keys_creator(buf *out, const config *cfg, const char *id, size_t len);

/* out = "<prefix>state:<id>", a creator's state blob. */
void keys_state(buf *out, const config *cfg, const char *id, size_t len);

#endif

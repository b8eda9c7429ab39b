#include "keys.h"

void keys_partition(buf *out, const char *topic, int32_t partition)
{
    buf_reset(out);
    buf_append_str(out, topic);
    buf_append_byte(out, ':');
    buf_append_int(out, partition);
}

void keys_wake(buf *out, const config *cfg, const char *topic,
               int32_t partition)
{
    buf_reset(out);
    buf_append_str(out, cfg->redis_prefix);
    buf_append_str(out, "wake:");
    buf_append_str(out, cfg->group_id);
    buf_append_byte(out, ':');
    buf_append_str(out, topic);
    buf_append_byte(out, ':');
    buf_append_int(out, partition);
}

void keys_share(buf *out, const config *cfg, const char *topic,
                int32_t partition)
{
    buf_reset(out);
    buf_append_str(out, cfg->redis_prefix);
    buf_append_str(out, "tier_share:");
    buf_append_str(out, cfg->group_id);
    buf_append_byte(out, ':');
    buf_append_str(out, topic);
    buf_append_byte(out, ':');
    buf_append_int(out, partition);
}

void keys_creator(buf *out, const config *cfg, const char *id, size_t len)
{
    buf_reset(out);
    buf_append_str(out, cfg->redis_prefix);
    buf_append_str(out, "creator:");
    buf_append(out, id, len);
}

void keys_state(buf *out, const config *cfg, const char *id, size_t len)
{
    buf_reset(out);
    buf_append_str(out, cfg->redis_prefix);
    buf_append_str(out, "state:");
    buf_append(out, id, len);
}

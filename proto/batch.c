#include "batch.h"

#include <string.h>

static uint32_t s_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void s_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

ob_error_t ob_batch_decode(ob_batch_t *batch, const uint8_t *data, size_t len)
{
    if (len < OB_BATCH_HEADER_LEN)
        return OB_ERR_SHORT;
    if (data[0] != OB_BATCH_VERSION)
        return OB_ERR_BAD_VERSION;
    uint32_t count = s_get_u32(data + 1);
    /* Before anything is walked: a count the bytes cannot hold costs
       nothing to refuse. */
    if (count == 0 || count > (len - OB_BATCH_HEADER_LEN) / OB_BATCH_ENTRY_LEN)
        return OB_ERR_TOO_LARGE;
    size_t at = OB_BATCH_HEADER_LEN;
    for (uint32_t i = 0; i < count; i++) {
        if (len - at < OB_BATCH_ENTRY_LEN)
            return OB_ERR_SHORT;
        uint32_t n = s_get_u32(data + at);
        at += OB_BATCH_ENTRY_LEN;
        if (len - at < n)
            return OB_ERR_SHORT;
        at += n;
    }
    if (at != len)
        return OB_ERR_TRAILING;
    *batch = (ob_batch_t){.data = data, .len = len, .count = count};
    return OB_OK;
}

int ob_batch_next(const ob_batch_t *batch, size_t *offset, ob_batch_entry_t *entry)
{
    size_t at = *offset ? *offset : OB_BATCH_HEADER_LEN;
    if (at >= batch->len || batch->len - at < OB_BATCH_ENTRY_LEN)
        return -1;
    uint32_t n = s_get_u32(batch->data + at);
    if (batch->len - at - OB_BATCH_ENTRY_LEN < n)
        return -1; /* not a decoded batch: never read past it */
    entry->data = batch->data + at + OB_BATCH_ENTRY_LEN;
    entry->len = n;
    *offset = at + OB_BATCH_ENTRY_LEN + n;
    return 0;
}

int ob_batch_entry(const ob_batch_t *batch, uint32_t index, ob_batch_entry_t *entry)
{
    if (index >= batch->count)
        return -1;
    size_t offset = 0;
    for (uint32_t i = 0; i <= index; i++)
        if (ob_batch_next(batch, &offset, entry) != 0)
            return -1;
    return 0;
}

size_t ob_batch_encoded_len(uint32_t count, size_t bytes)
{
    size_t head = OB_BATCH_HEADER_LEN + (size_t)count * OB_BATCH_ENTRY_LEN;
    return bytes > SIZE_MAX - head ? SIZE_MAX : head + bytes;
}

void ob_batch_put_header(uint8_t *buf, uint32_t count)
{
    buf[0] = OB_BATCH_VERSION;
    s_put_u32(buf + 1, count);
}

void ob_batch_put_entry(uint8_t *buf, size_t *offset, const uint8_t *data, uint32_t len)
{
    s_put_u32(buf + *offset, len);
    if (len)
        memcpy(buf + *offset + OB_BATCH_ENTRY_LEN, data, len);
    *offset += OB_BATCH_ENTRY_LEN + len;
}

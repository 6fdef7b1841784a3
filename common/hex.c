#include "hex.h"

#include <string.h>

static const char s_digits[] = "0123456789abcdef";

void ob_hex_encode(const uint8_t *data, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = s_digits[data[i] >> 4];
        out[2 * i + 1] = s_digits[data[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

static int s_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long ob_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap)
{
    if (hex_len % 2 != 0 || hex_len / 2 > cap)
        return -1;
    for (size_t i = 0; i < hex_len / 2; i++) {
        int hi = s_nibble(hex[2 * i]);
        int lo = s_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return (long)(hex_len / 2);
}

int ob_hex_decode_exact(const char *hex, uint8_t *out, size_t len)
{
    size_t hex_len = strlen(hex);
    if (hex_len != 2 * len)
        return -1;
    return ob_hex_decode(hex, hex_len, out, len) == (long)len ? 0 : -1;
}

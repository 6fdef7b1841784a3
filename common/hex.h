/*  Lowercase hex, the form of every key, digest and signature in JSON,
    config and key files (SPEC §2). */
#ifndef OB_HEX_H
#define OB_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex digits and a NUL to `out` (2*len+1 bytes). */
void ob_hex_encode(const uint8_t *data, size_t len, char *out);

/* Decodes exactly `hex_len` digits (either case) into `out`. Returns the
   byte count, or -1 if `hex_len` is odd, a character is not a hex digit, or
   the result would not fit in `cap`. */
long ob_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap);

/* Decodes a NUL-terminated string that must hold exactly `len` bytes.
   Returns 0 or -1. */
int ob_hex_decode_exact(const char *hex, uint8_t *out, size_t len);

#endif

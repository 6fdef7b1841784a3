/*  A handle to payload bytes in the node's shared-memory arena (SPEC §4):
    messages between actors carry this, never the bytes. The generation
    makes a stale handle detectable; the digest lets whoever relies on the
    bytes re-check them at the point of use. */
#ifndef OB_HANDLE_H
#define OB_HANDLE_H

#include <stdint.h>

#define OB_HANDLE_LEN 44 /* slot ‖ generation ‖ len ‖ digest */

typedef struct {
    uint32_t slot;
    uint32_t generation;
    uint32_t len;
    uint8_t digest[32];
} ob_handle_t;

#endif

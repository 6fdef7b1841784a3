/*  The built-in application's batch (proto/PROTOCOL.md, "Batches"): the
    payload of a chunk that carries several submitted payloads.

        version(u8) = 1 ‖ count(u32) ‖ count × ( length(u32) ‖ bytes )

    Big-endian, like every other encoding here. The decoder is strict and
    bounded: an unknown version, a count of 0, a count that the bytes
    cannot hold, an entry that runs past the end, or bytes after the last
    entry are refused with their SPEC §2 error name, and nothing is read
    past `len`. One codec, fuzzed (tests/fuzz/fuzz_batch.c), for the node
    that builds a batch, the nodes that verify it and the client that
    checks its inclusion. */
#ifndef OB_BATCH_H
#define OB_BATCH_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define OB_BATCH_VERSION    1
#define OB_BATCH_HEADER_LEN 5 /* version, count */
#define OB_BATCH_ENTRY_LEN  4 /* each entry's length, before its bytes */

/* A decoded batch: a view into the bytes it was decoded from. */
typedef struct {
    const uint8_t *data;
    size_t len;
    uint32_t count;
} ob_batch_t;

/* One entry, a view into the batch's bytes. */
typedef struct {
    const uint8_t *data;
    uint32_t len;
} ob_batch_entry_t;

/* Checks every entry of `data` (len bytes): OB_OK with `batch` filled, or
   OB_ERR_SHORT (truncated: a header, a length or an entry's bytes past the
   end), OB_ERR_BAD_VERSION, OB_ERR_TOO_LARGE (a count of 0, or more
   entries than the bytes can hold) or OB_ERR_TRAILING. */
ob_error_t ob_batch_decode(ob_batch_t *batch, const uint8_t *data, size_t len);

/* Walks a decoded batch: `*offset` starts at 0; 0 with the next entry, or
   -1 after the last. */
int ob_batch_next(const ob_batch_t *batch, size_t *offset, ob_batch_entry_t *entry);

/* Entry `index` of a decoded batch: 0, or -1 if there is no such entry. */
int ob_batch_entry(const ob_batch_t *batch, uint32_t index, ob_batch_entry_t *entry);

/* The bytes a batch of `count` entries of `bytes` bytes in all takes;
   SIZE_MAX if that overflows. */
size_t ob_batch_encoded_len(uint32_t count, size_t bytes);

/* Writing a batch into `buf` (at least its encoded length): the header,
   then each entry at `*offset` (which starts at OB_BATCH_HEADER_LEN).
   Bounds are the caller's: these only write. */
void ob_batch_put_header(uint8_t *buf, uint32_t count);
void ob_batch_put_entry(uint8_t *buf, size_t *offset, const uint8_t *data, uint32_t len);

#endif

/*  Shared helpers of the libFuzzer targets: the checks every target makes
    (error names, round trips) and the fixed epoch table used by the
    decoders that need one. Header-only, so that each target is one
    translation unit plus the codec sources. */
#ifndef OB_FUZZ_COMMON_H
#define OB_FUZZ_COMMON_H

#include "error.h"
#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Aborts with the failed condition: libFuzzer records the input as a crash. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FUZZ_BIT(code) (1u << (unsigned)(code))

/* The decoding errors each decoder may return (SPEC §2, stage "decoding"). */
#define FUZZ_ERRS_FIXED (FUZZ_BIT(OB_ERR_SHORT) | FUZZ_BIT(OB_ERR_TRAILING))
#define FUZZ_ERRS_CERT                                                                             \
    (FUZZ_ERRS_FIXED | FUZZ_BIT(OB_ERR_CERT_TOO_MANY) | FUZZ_BIT(OB_ERR_CERT_ORDER) |              \
     FUZZ_BIT(OB_ERR_CERT_INDEX))
#define FUZZ_ERRS_LOCK (FUZZ_ERRS_CERT | FUZZ_BIT(OB_ERR_UNKNOWN_EPOCH))
#define FUZZ_ERRS_NODE                                                                             \
    (FUZZ_ERRS_LOCK | FUZZ_BIT(OB_ERR_BAD_FLAG) | FUZZ_BIT(OB_ERR_PARENT_ON_GENESIS) |             \
     FUZZ_BIT(OB_ERR_PARENT_MISSING))
#define FUZZ_ERRS_FETCH   (FUZZ_ERRS_FIXED | FUZZ_BIT(OB_ERR_FETCH_COUNT))
#define FUZZ_ERRS_FETCHED (FUZZ_ERRS_LOCK | FUZZ_BIT(OB_ERR_BAD_FLAG))
#define FUZZ_ERRS_PEER                                                                             \
    (FUZZ_ERRS_NODE | FUZZ_ERRS_FETCH | FUZZ_BIT(OB_ERR_TOO_LARGE) |                               \
     FUZZ_BIT(OB_ERR_UNKNOWN_TYPE) | FUZZ_BIT(OB_ERR_BAD_VERSION))

/* A decoder's result must be OB_OK or one of `allowed`, and must have a
   real SPEC name (never "invalid"). */
static inline void fuzz_check_result(ob_error_t rc, unsigned allowed)
{
    const char *name = ob_error_name(rc);
    FUZZ_CHECK(name != NULL);
    FUZZ_CHECK(strcmp(name, "invalid") != 0);
    FUZZ_CHECK(ob_error_from_name(name) == (int)rc);
    if (rc != OB_OK) {
        FUZZ_CHECK((unsigned)rc < 32);
        FUZZ_CHECK((allowed & FUZZ_BIT(rc)) != 0);
    }
}

/* Exact byte equality of a re-encoding with the bytes it was decoded from. */
static inline void fuzz_check_same(const uint8_t *got, size_t got_len, const uint8_t *want,
                                   size_t want_len)
{
    FUZZ_CHECK(got_len == want_len);
    FUZZ_CHECK(want_len == 0 || memcmp(got, want, want_len) == 0);
}

/* A heap copy of exactly `len` bytes (at least one byte allocated), so
   that ASan catches any read past the end of a view. */
static inline uint8_t *fuzz_dup(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    FUZZ_CHECK(copy != NULL);
    if (len > 0)
        memcpy(copy, data, len);
    return copy;
}

/* The bytes followed by one extra byte: a valid encoding plus anything
   must decode as "trailing". */
static inline uint8_t *fuzz_dup_plus_one(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len + 1);
    FUZZ_CHECK(copy != NULL);
    if (len > 0)
        memcpy(copy, data, len);
    copy[len] = 0;
    return copy;
}

/* A peer message's first frame, type ‖ version ‖ body, in an allocation
   of exactly its size. */
static inline uint8_t *fuzz_peer_frame(uint8_t type, const uint8_t *body, size_t len)
{
    uint8_t *frame = malloc(len + 2);
    FUZZ_CHECK(frame != NULL);
    frame[0] = type;
    frame[1] = OB_PEER_VERSION;
    if (len > 0)
        memcpy(frame + 2, body, len);
    return frame;
}

/* The next record of an input of records, kind(u8) ‖ length(u16 BE) ‖
   bytes, from *at (which it moves on): a short last record takes what is
   left, a kind with no length after it has no bytes. false at the end. */
static inline bool fuzz_next_record(const uint8_t *data, size_t size, size_t *at, uint8_t *kind,
                                    const uint8_t **bytes, size_t *len)
{
    if (*at >= size)
        return false;
    *kind = data[(*at)++];
    size_t left = size - *at;
    if (left >= 2) {
        size_t want = (size_t)data[*at] << 8 | data[*at + 1];
        *at += 2;
        left -= 2;
        *len = want < left ? want : left;
    } else {
        *at = size;
        *len = 0;
    }
    *bytes = data + *at;
    *at += *len;
    return true;
}

/* The fixed epoch table of the fuzzers: epochs 7 and 8 have 4 validators
   (those of the conformance vectors), epoch 1 has 10, any other is
   unknown. */
static inline bool fuzz_epoch_size(const void *ctx, uint64_t epoch, uint16_t *validator_count)
{
    (void)ctx;
    switch (epoch) {
    case 7:
    case 8:
        *validator_count = 4;
        return true;
    case 1:
        *validator_count = 10;
        return true;
    default:
        return false;
    }
}

static inline const ob_epoch_lookup_t *fuzz_epochs(void)
{
    static const ob_epoch_lookup_t epochs = {fuzz_epoch_size, NULL};
    return &epochs;
}

/* Defines `static int NAME(const uint8_t *data, size_t size, T *out)`: the
   checks every fixed-size item shares. The length alone decides the
   result; what decodes re-encodes to the same bytes; an encoder one byte
   short fails. Returns 1 when the item decoded, for more checks. */
#define FUZZ_FIXED_SIZE(NAME, T, DECODE, ENCODE, LEN)                                              \
    static int NAME(const uint8_t *data, size_t size, T *out)                                      \
    {                                                                                              \
        ob_error_t rc = DECODE(out, data, size);                                                   \
        fuzz_check_result(rc, FUZZ_ERRS_FIXED);                                                    \
        FUZZ_CHECK(rc == (size < (LEN) ? OB_ERR_SHORT : size > (LEN) ? OB_ERR_TRAILING : OB_OK));  \
        if (rc != OB_OK)                                                                           \
            return 0;                                                                              \
        uint8_t buf[(LEN)];                                                                        \
        size_t written = 0;                                                                        \
        FUZZ_CHECK(ENCODE(out, buf, sizeof buf, &written) == 0);                                   \
        fuzz_check_same(buf, written, data, size);                                                 \
        FUZZ_CHECK(ENCODE(out, buf, sizeof buf - 1, &written) == -1);                              \
        return 1;                                                                                  \
    }

#endif

/*  obcast-txapp's pure logic: the example application of SPEC §5, whose
    payloads are batches of signed transactions. A sequencer's application
    builds a batch when net asks for a payload; every validator's checks
    every signature in it before its node acks the chunk.

        batch       = version(u8 = 1) ‖ count(u32) ‖ count × transaction
        transaction = sender(32: BIP340 x-only key) ‖ nonce(u64) ‖ amount(u64)
                      ‖ memo_len(u16) ‖ memo ‖ signature(64)

    Integers are big-endian. The signature is BIP340 over
    TaggedHash("obcast-txapp/tx", sender ‖ nonce ‖ amount ‖ memo_len ‖ memo).
    Decoding is as strict as SPEC §2: exact lengths, no trailing bytes,
    1 to OB_TXAPP_TXS_MAX transactions, memos of at most OB_TXAPP_MEMO_MAX
    bytes, and nothing read past the input. */
#ifndef OB_TXAPP_H
#define OB_TXAPP_H

#include "crypto.h"
#include "why.h"

#include <stddef.h>
#include <stdint.h>

#define OB_TXAPP_VERSION    1
#define OB_TXAPP_HEADER_LEN 5   /* version ‖ count */
#define OB_TXAPP_MEMO_MAX   128 /* keeps the signed message within OB_TAGGED_MAX_MSG */
#define OB_TXAPP_TX_MIN     (32 + 8 + 8 + 2 + 64)
#define OB_TXAPP_TX_MAX     (OB_TXAPP_TX_MIN + OB_TXAPP_MEMO_MAX)
#define OB_TXAPP_TXS_MAX    8192
#define OB_TXAPP_TAG        "obcast-txapp/tx"

typedef enum {
    OB_TXAPP_OK = 0,
    OB_TXAPP_SHORT,         /* the input ends inside the batch */
    OB_TXAPP_TRAILING,      /* bytes after the last transaction */
    OB_TXAPP_BAD_VERSION,   /* not version 1 */
    OB_TXAPP_EMPTY,         /* no transaction */
    OB_TXAPP_TOO_MANY,      /* more than OB_TXAPP_TXS_MAX */
    OB_TXAPP_MEMO_TOO_LONG, /* over OB_TXAPP_MEMO_MAX */
    OB_TXAPP_BAD_KEY,       /* a sender that is no curve point */
    OB_TXAPP_BAD_SIGNATURE, /* a signature that does not verify */
} ob_txapp_result_t;

/* "ok", "short", "trailing", "bad_version", "empty", "too_many",
   "memo_too_long", "bad_key", "bad_signature"; "unknown" otherwise. */
const char *ob_txapp_result_name(ob_txapp_result_t result);

typedef struct _ob_txapp_t ob_txapp_t;

/* `sender_count` generated senders (1 to 1024). With a seed, their keys
   and signatures are the same on every run (for tests); NULL draws fresh
   keys from the kernel. */
ob_txapp_t *ob_txapp_new(uint32_t sender_count, const uint8_t *seed, ob_why_t *why);
void ob_txapp_destroy(ob_txapp_t **self_p);

/* A batch of `count` (1 to OB_TXAPP_TXS_MAX) transactions, the senders
   taking turns, each with its next nonce. If `bad` is below `count`, that
   transaction's signature is spoiled, so the batch must be rejected.
   *out is malloc'd for the caller. 0 or -1. */
int ob_txapp_build(ob_txapp_t *self, uint32_t count, uint32_t bad, uint8_t **out, size_t *out_len);

/* Checks a batch: its form, then every signature. The transaction count
   goes to *count (may be NULL) when the form is right. */
ob_txapp_result_t ob_txapp_verify(ob_txapp_t *self, const uint8_t *data, size_t len,
                                  uint32_t *count);

#endif

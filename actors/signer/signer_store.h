/*  The signer's durable record (SPEC §3, §4): every node it signed and every
    (sequencer, height) it acked, so that S1 and S2 hold across any crash.
    Always synchronous=FULL in production, and exclusively locked: one
    process owns this record, and it is never restored from a backup. */
#ifndef OB_SIGNER_STORE_H
#define OB_SIGNER_STORE_H

#include "db.h"
#include "why.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _ob_signer_store_t ob_signer_store_t;

ob_signer_store_t *ob_signer_store_open(const char *path, ob_db_sync_t sync, ob_why_t *why);
void ob_signer_store_destroy(ob_signer_store_t **self_p);

int ob_signer_store_begin(ob_signer_store_t *self);
int ob_signer_store_commit(ob_signer_store_t *self);
/* ob_db_commit_deferred and ob_db_sync (common/db.h). */
int ob_signer_store_commit_deferred(ob_signer_store_t *self, bool *sync_due);
int ob_signer_store_sync(ob_signer_store_t *self);

/* The node signed at `height`: 1 and a malloc'd copy in *node, 0 if none,
   -1 on a database error. */
int ob_signer_store_signed_at(ob_signer_store_t *self, uint64_t height, uint8_t **node,
                              size_t *len);
/* The highest node signed: 1, 0 if none, -1 on error. */
int ob_signer_store_last_signed(ob_signer_store_t *self, uint8_t **node, size_t *len);
int ob_signer_store_record_signed(ob_signer_store_t *self, uint64_t height,
                                  const uint8_t payload[32], const uint8_t *node, size_t len);

/* The payload acked at (sequencer, height) in any epoch: 1 and the digest,
   0 if none, -1 on error. */
int ob_signer_store_acked_at(ob_signer_store_t *self, const uint8_t sequencer[32], uint64_t height,
                             uint8_t payload[32]);

/* The whole record: the payload (S2), and the epoch and signature of the
   last ack signed on it. */
typedef struct {
    uint8_t payload[32];
    uint64_t epoch;
    bool has_signature;
    uint8_t signature[64];
} ob_ack_record_t;
int ob_signer_store_ack_record(ob_signer_store_t *self, const uint8_t sequencer[32],
                               uint64_t height, ob_ack_record_t *record);

/* Records an ack on `payload` in `epoch` with its signature (NULL: none
   kept). A record on another payload is left as it is (S2). */
int ob_signer_store_record_ack(ob_signer_store_t *self, const uint8_t sequencer[32],
                               uint64_t height, const uint8_t payload[32], uint64_t epoch,
                               const uint8_t signature[64]);

/* Counts, for inspection and tests. */
int64_t ob_signer_store_signed_count(ob_signer_store_t *self);
int64_t ob_signer_store_acked_count(ob_signer_store_t *self);

#endif

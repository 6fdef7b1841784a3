/*  The signer actor's pure handler (SPEC §3, §4), in the manner of Core
    Lightning's libhsmd: the only holder of the node's key, behind a narrow
    request API that checks every request against what may be asked.

    Signing module: signs the node's own chunks (never two chunks at one
    height, S1; a re-asked height gets the identical node back) and acks
    (never two payloads at one sequencer and height in any epoch, S2). The
    record of each is written in the batch's transaction, and the shell
    sends nothing of the batch before that commits.

    Aggregation module: partial acks in memory, checked against the tips
    and epoch the journal publishes, counted once per (sequencer, height,
    epoch, validator); a quorum on one payload becomes a certificate.

    No sockets, no clock: messages in, messages out. */
#ifndef OB_SIGNER_H
#define OB_SIGNER_H

#include "crypto.h"
#include "db.h"
#include "node_env.h"
#include "outbox.h"
#include "why.h"

#include <stdint.h>

typedef struct _ob_signer_t ob_signer_t;

typedef struct {
    ob_node_env_t env;
    ob_keypair_t key; /* copied; the only copy of the secret in the node */
    const char *db_path;
    ob_db_sync_t sync;       /* FULL, except in the simulator */
    const uint8_t *aux_seed; /* non-NULL only in the simulator (see ob_crypto_set_aux_seed) */
} ob_signer_config_t;

typedef struct {
    uint64_t nodes_signed, nodes_reissued, acks_signed, certificates;
    uint64_t nodes_sent;              /* signed nodes handed to net with their payload slot */
    uint64_t own_acks;                /* acks on its own nodes, signed with the node */
    uint64_t acks_resent;             /* a stored ack sent again: same epoch, same signature */
    uint64_t refused[OB_ERROR_COUNT]; /* sign requests refused, by reason */
    /* Parent certificates of sign_node: byte-identical to one this signer
       assembled (no crypto), or verified signature by signature. */
    uint64_t parent_certs_own, parent_certs_verified;
    uint64_t acks_dropped[OB_ERROR_COUNT];
    uint64_t partials;              /* (sequencer, height, epoch) entries held now */
    uint64_t acks_deferred;         /* acks above the height bound held now */
    uint64_t acks_deferred_counted; /* of those, counted once the tip came within reach */
    uint64_t acks_late;      /* own chunks' acks after the certificate, unverified (ack_late) */
    uint64_t sign_acks_held; /* sign_ack requests that waited for the journal's epoch */
} ob_signer_stats_t;

/* Opens the record (exclusively) and recovers from it. */
ob_signer_t *ob_signer_new(const ob_signer_config_t *config, ob_why_t *why);
void ob_signer_destroy(ob_signer_t **self_p);

/* What the signer sends once it has recovered: it asks the journal for
   the current epoch and tips. */
void ob_signer_start(ob_signer_t *self, ob_outbox_t *out);

/* One batch: begin, handle each message, commit. A commit that fails
   (returns -1) means the batch's outbox must be discarded and the actor
   restarted: nothing it produced may leave. */
int ob_signer_begin(ob_signer_t *self);
void ob_signer_handle(ob_signer_t *self, ob_party_t from, const ob_imsg_t *msg, ob_outbox_t *out);
int ob_signer_commit(ob_signer_t *self);
/* The commit without waiting for the disk, and the sync that makes it
   durable: the shell holds the batch's messages (the signatures) until
   the sync returned (SPEC §4: no signature leaves before its record is
   durable). ob_signer_sync touches only the database's WAL. */
int ob_signer_commit_deferred(ob_signer_t *self, bool *sync_due);
int ob_signer_sync(ob_signer_t *self);

const ob_signer_stats_t *ob_signer_stats(const ob_signer_t *self);

#endif

/*  The stateless checks of SPEC §3 that need only keys and bytes: the
    sequencer's signature on a node, its parent certificate, an ack's
    signature, a lock's certificate, and a payload against its digest.
    Rules that need state (tips, set membership of the current epoch, the
    peer that sent it) live with the actors. */
#ifndef OB_VERIFY_H
#define OB_VERIFY_H

#include "cert.h"
#include "epochs.h"
#include "signing.h"

/* The chunk a node's parent certificate is over: same sequencer, height-1,
   the parent's digest. The node must have a parent. */
ob_chunk_t ob_node_parent_chunk(const ob_node_t *node);

/* Checks the sequencer signature and, above height 0, the parent
   certificate against the validators of the parent's epoch (parents are
   exempt from epoch bounds, §3). `sequencer` is the parsed key of
   node->chunk.sequencer, or NULL to parse it here.
   Errors: bad_signature, unknown_epoch, and those of ob_cert_verify. */
ob_error_t ob_node_verify(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_epochs_t *epochs,
                          const ob_pubkey_t *sequencer, const ob_node_t *node);

/* Errors: unknown_epoch, unknown_validator (index not in the epoch),
   bad_signature. */
ob_error_t ob_ack_verify(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_epochs_t *epochs,
                         const ob_ack_t *ack);

/* Errors: unknown_epoch, and those of ob_cert_verify. */
ob_error_t ob_lock_verify(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_epochs_t *epochs,
                          const ob_lock_t *lock);

/* SHA-256(payload) against the chunk's digest. Error: payload_mismatch. */
ob_error_t ob_payload_verify(ob_crypto_t *crypto, const ob_chunk_t *chunk, const uint8_t *payload,
                             size_t len);

#endif

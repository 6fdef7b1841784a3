/*  The signer's checks of each request (SPEC §4), kept apart from its I/O
    as Core Lightning keeps libhsmd.c (what may be signed) apart from
    hsmd.c (sockets and storage): each function takes the request, the
    signer's view and what its record answered, and returns OB_OK or the
    error name of the refusal. No database, no key, no outbox here; the
    handler (signer.c) reads the record, calls these, and only then signs.

    A node is signed only
    - for the signer's own key (`peer_mismatch`),
    - as the re-ask of a signed height, answered with the recorded node
      (another payload there: `chunk_mismatch`, S1), or at the next height
      over the last signed node (`height_too_low`, `parent_missing`), while
      the key is a sequencer of the current epoch (`unknown_sequencer`),
    - with a parent certificate that covers its own chunk at h-1, with the
      digest it signed there, in a known epoch (`unknown_epoch`), checked
      against that epoch's validator set (`below_quorum`, `cert_*`,
      `bad_signature`), unless it is byte-identical to one the signer
      assembled itself for that chunk and epoch (no crypto then).
    An ack is signed only by a validator of its epoch (`unknown_validator`)
    and for an epoch within the bounds of the signer's current view
    (`ack_epoch_bounds`, also while the signer knows no epoch yet). */
#ifndef OB_SIGNER_CHECKS_H
#define OB_SIGNER_CHECKS_H

#include "cert.h"
#include "epochs.h"
#include "params.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the signer knows when it judges a request. */
typedef struct {
    const uint8_t *self_key; /* 32 bytes */
    const ob_epochs_t *epochs;
    const ob_params_t *params;
    bool epoch_known;
    uint64_t epoch;
} ob_sign_view_t;

/* A certificate the signer assembled on its own chain: its chunk, epoch
   and encoded Certificate bytes. */
typedef struct {
    ob_chunk_t chunk;
    uint64_t epoch;
    size_t len;
    uint8_t bytes[2 + 66 * 64]; /* count and up to 64 entries; larger are not kept */
} ob_own_cert_t;

/* sign_node, the chain: `at` is the node recorded at the chunk's height,
   `last` the highest recorded (each NULL if none). OB_OK with *reissue:
   answer with `at`; OB_OK without: a new node at the next height. */
ob_error_t ob_sign_check_node(const ob_sign_view_t *view, const ob_chunk_t *chunk,
                              const ob_node_t *at, const ob_node_t *last, bool *reissue);

/* sign_node, the parent of a node over `last` (the signer's node at h-1):
   `cert` (`len` bytes, as in a Node) in `parent_epoch`. `own` lists the
   certificates the signer assembled (`own_count` of them). On OB_OK,
   `parent` is filled (its cert views `cert`) and *own_match tells whether
   it was taken without verifying. */
ob_error_t ob_sign_check_parent(ob_crypto_t *crypto, const ob_namespace_t *ns,
                                const ob_sign_view_t *view, const ob_node_t *last,
                                uint64_t parent_epoch, const uint8_t *cert, size_t len,
                                const ob_own_cert_t *own, size_t own_count, ob_parent_t *parent,
                                bool *own_match);

/* sign_ack: *index is the signer's index in `epoch`'s validators. */
ob_error_t ob_sign_check_ack(const ob_sign_view_t *view, uint64_t epoch, uint16_t *index);

#endif

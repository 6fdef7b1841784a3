/*  Certificates (SPEC §1, §3): assembling one from a quorum of acks, and
    verifying one against its epoch's validator set. */
#ifndef OB_CERT_H
#define OB_CERT_H

#include "crypto.h"
#include "keyset.h"
#include "signing.h"

#include "../proto/wire.h"

/* Bytes a certificate of `count` signers needs in an assembly buffer. */
#define OB_CERT_ENTRIES_LEN(count) (OB_CERT_ENTRY_LEN * (size_t)(count))

/* Assembles a certificate from `count` acks, which must all be for one
   chunk and one epoch and come from distinct validators of an epoch of
   `validator_count`. The entries are written ascending by index into
   `entries` (at least OB_CERT_ENTRIES_LEN(count) bytes, given as `cap`), and
   `out` views them. The acks' signatures are not checked here: only acks
   that passed ob_ack_verify should reach this.
   Errors: below_quorum, chunk_mismatch (acks disagree on chunk or epoch),
   cert_order (a validator twice), cert_index (an index out of range),
   too_large (the buffer is too small). */
ob_error_t ob_cert_assemble(const ob_ack_t *acks, size_t count, uint16_t validator_count,
                            uint8_t *entries, size_t cap, ob_cert_t *out);

/* Verifies that `cert` holds a quorum of `validators`' valid acks on
   (`chunk`, `epoch`). Checks count, then order and range, then every
   signature. Errors: below_quorum, cert_order, cert_index, bad_signature. */
ob_error_t ob_cert_verify(ob_crypto_t *crypto, const ob_namespace_t *ns,
                          const ob_keyset_t *validators, const ob_chunk_t *chunk, uint64_t epoch,
                          const ob_cert_t *cert);

#endif

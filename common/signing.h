/*  What obcast signs (SPEC §2): a sequencer signs TaggedHash(namespace ‖
    "_CHUNK", Chunk); a validator acks with TaggedHash(namespace ‖ "_ACK",
    Chunk ‖ epoch). The namespace keeps signatures of one cluster useless in
    another; the two tags keep a chunk signature from passing as an ack. */
#ifndef OB_SIGNING_H
#define OB_SIGNING_H

#include "crypto.h"
#include "why.h"

#include "../proto/wire.h"

#include <stdbool.h>

#define OB_NAMESPACE_MAX 64

/* A namespace with both of its tag hashes computed once. */
typedef struct {
    uint8_t bytes[OB_NAMESPACE_MAX];
    size_t len;
    uint8_t chunk_tag[32]; /* SHA256(namespace ‖ "_CHUNK") */
    uint8_t ack_tag[32];   /* SHA256(namespace ‖ "_ACK") */
} ob_namespace_t;

/* Fails unless 1 <= len <= 64. */
int ob_namespace_init(ob_namespace_t *self, ob_crypto_t *crypto, const void *bytes, size_t len,
                      ob_why_t *why);

/* The 32 bytes a sequencer signs for `chunk`. */
void ob_chunk_signing_digest(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_chunk_t *chunk,
                             uint8_t digest[32]);
/* The 32 bytes a validator signs to ack `chunk` in `epoch`. */
void ob_ack_signing_digest(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_chunk_t *chunk,
                           uint64_t epoch, uint8_t digest[32]);

/* `aux` as in ob_schnorr_sign: NULL for fresh randomness. */
int ob_chunk_sign(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_keypair_t *sequencer,
                  const ob_chunk_t *chunk, const uint8_t *aux, uint8_t signature[64]);
bool ob_chunk_signature_valid(ob_crypto_t *crypto, const ob_namespace_t *ns,
                              const ob_pubkey_t *sequencer, const ob_chunk_t *chunk,
                              const uint8_t signature[64]);

int ob_ack_sign(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_keypair_t *validator,
                const ob_chunk_t *chunk, uint64_t epoch, const uint8_t *aux, uint8_t signature[64]);
bool ob_ack_signature_valid(ob_crypto_t *crypto, const ob_namespace_t *ns,
                            const ob_pubkey_t *validator, const ob_chunk_t *chunk, uint64_t epoch,
                            const uint8_t signature[64]);

#endif

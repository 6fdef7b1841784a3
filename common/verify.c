#include "verify.h"

#include <assert.h>
#include <string.h>

ob_chunk_t ob_node_parent_chunk(const ob_node_t *node)
{
    assert(node->has_parent && node->chunk.height > 0);
    ob_chunk_t parent;
    memcpy(parent.sequencer, node->chunk.sequencer, OB_KEY_LEN);
    parent.height = node->chunk.height - 1;
    memcpy(parent.payload, node->parent.digest, OB_DIGEST_LEN);
    return parent;
}

ob_error_t ob_node_verify(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_epochs_t *epochs,
                          const ob_pubkey_t *sequencer, const ob_node_t *node)
{
    ob_pubkey_t parsed;
    if (!sequencer) {
        /* Bytes that are no key cannot have signed anything. */
        if (ob_pubkey_parse(crypto, node->chunk.sequencer, &parsed) != 0)
            return OB_ERR_BAD_SIGNATURE;
        sequencer = &parsed;
    }
    assert(memcmp(sequencer->bytes, node->chunk.sequencer, OB_KEY_LEN) == 0);
    if (node->has_parent != (node->chunk.height > 0))
        return node->has_parent ? OB_ERR_PARENT_ON_GENESIS : OB_ERR_PARENT_MISSING;
    if (!ob_chunk_signature_valid(crypto, ns, sequencer, &node->chunk, node->signature))
        return OB_ERR_BAD_SIGNATURE;
    if (!node->has_parent)
        return OB_OK;
    const ob_keyset_t *validators = ob_epochs_validators(epochs, node->parent.epoch);
    if (!validators)
        return OB_ERR_UNKNOWN_EPOCH;
    ob_chunk_t parent = ob_node_parent_chunk(node);
    return ob_cert_verify(crypto, ns, validators, &parent, node->parent.epoch, &node->parent.cert);
}

ob_error_t ob_ack_verify(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_epochs_t *epochs,
                         const ob_ack_t *ack)
{
    const ob_keyset_t *validators = ob_epochs_validators(epochs, ack->epoch);
    if (!validators)
        return OB_ERR_UNKNOWN_EPOCH;
    const ob_pubkey_t *key = ob_keyset_key(validators, ack->index);
    if (!key)
        return OB_ERR_UNKNOWN_VALIDATOR;
    if (!ob_ack_signature_valid(crypto, ns, key, &ack->chunk, ack->epoch, ack->signature))
        return OB_ERR_BAD_SIGNATURE;
    return OB_OK;
}

ob_error_t ob_lock_verify(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_epochs_t *epochs,
                          const ob_lock_t *lock)
{
    const ob_keyset_t *validators = ob_epochs_validators(epochs, lock->epoch);
    if (!validators)
        return OB_ERR_UNKNOWN_EPOCH;
    return ob_cert_verify(crypto, ns, validators, &lock->chunk, lock->epoch, &lock->cert);
}

ob_error_t ob_payload_verify(ob_crypto_t *crypto, const ob_chunk_t *chunk, const uint8_t *payload,
                             size_t len)
{
    uint8_t digest[OB_DIGEST_LEN];
    ob_sha256(crypto, payload, len, digest);
    return memcmp(digest, chunk->payload, OB_DIGEST_LEN) == 0 ? OB_OK : OB_ERR_PAYLOAD_MISMATCH;
}

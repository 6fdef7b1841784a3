#include "signer_checks.h"

#include "verify.h"

#include <string.h>

ob_error_t ob_sign_check_node(const ob_sign_view_t *view, const ob_chunk_t *chunk,
                              const ob_node_t *at, const ob_node_t *last, bool *reissue)
{
    *reissue = false;
    if (memcmp(chunk->sequencer, view->self_key, 32) != 0)
        return OB_ERR_PEER_MISMATCH;
    /* S1: a height signed before gets the identical node, or nothing. */
    if (at) {
        if (memcmp(at->chunk.payload, chunk->payload, 32) != 0)
            return OB_ERR_CHUNK_MISMATCH;
        *reissue = true;
        return OB_OK;
    }
    const ob_keyset_t *sequencers =
        view->epoch_known ? ob_epochs_sequencers(view->epochs, view->epoch) : NULL;
    if (!sequencers || !ob_keyset_contains(sequencers, chunk->sequencer))
        return OB_ERR_UNKNOWN_SEQUENCER;
    /* The chain continues only from what this signer signed: height 0 on
       an empty record, else the next height over the last signed. */
    if (chunk->height == 0)
        return last ? OB_ERR_HEIGHT_TOO_LOW : OB_OK;
    if (!last || last->chunk.height + 1 != chunk->height)
        return last && last->chunk.height >= chunk->height ? OB_ERR_HEIGHT_TOO_LOW
                                                           : OB_ERR_PARENT_MISSING;
    return OB_OK;
}

ob_error_t ob_sign_check_parent(ob_crypto_t *crypto, const ob_namespace_t *ns,
                                const ob_sign_view_t *view, const ob_node_t *last,
                                uint64_t parent_epoch, const uint8_t *cert, size_t len,
                                const ob_own_cert_t *own, size_t own_count, ob_parent_t *parent,
                                bool *own_match)
{
    *own_match = false;
    const ob_keyset_t *validators = ob_epochs_validators(view->epochs, parent_epoch);
    if (!validators)
        return OB_ERR_UNKNOWN_EPOCH;
    memset(parent, 0, sizeof *parent);
    /* The parent's digest is not asked for: it is what was signed at h-1. */
    memcpy(parent->digest, last->chunk.payload, 32);
    parent->epoch = parent_epoch;
    ob_error_t rc = ob_cert_decode(&parent->cert, cert, len, ob_keyset_size(validators));
    if (rc != OB_OK)
        return rc;
    if (parent->cert.count < ob_keyset_quorum(validators))
        return OB_ERR_BELOW_QUORUM;
    for (size_t i = 0; i < own_count; i++) {
        const ob_own_cert_t *o = &own[i];
        if (o->epoch == parent_epoch && o->len == len && memcmp(o->bytes, cert, len) == 0 &&
            o->chunk.height == last->chunk.height &&
            memcmp(o->chunk.sequencer, last->chunk.sequencer, 32) == 0 &&
            memcmp(o->chunk.payload, last->chunk.payload, 32) == 0) {
            *own_match = true;
            return OB_OK;
        }
    }
    /* Verified over the signer's own chunk at h-1: a certificate of any
       other chunk, or of this one in another epoch, fails here. */
    return ob_cert_verify(crypto, ns, validators, &last->chunk, parent_epoch, &parent->cert);
}

ob_error_t ob_sign_check_ack(const ob_sign_view_t *view, uint64_t epoch, uint16_t *index)
{
    if (!view->epoch_known)
        return OB_ERR_ACK_EPOCH_BOUNDS;
    if (epoch + view->params->epoch_bounds_lo < view->epoch ||
        epoch > view->epoch + view->params->epoch_bounds_hi)
        return OB_ERR_ACK_EPOCH_BOUNDS;
    const ob_keyset_t *validators = ob_epochs_validators(view->epochs, epoch);
    if (!validators || !ob_keyset_index_of(validators, view->self_key, index))
        return OB_ERR_UNKNOWN_VALIDATOR;
    return OB_OK;
}

#include "cert.h"

#include <stdlib.h>
#include <string.h>

static int s_compare_entries(const void *a, const void *b)
{
    /* Big-endian u16 first: byte order is index order. */
    return memcmp(a, b, 2);
}

static bool s_same_chunk(const ob_chunk_t *a, const ob_chunk_t *b)
{
    return memcmp(a->sequencer, b->sequencer, OB_KEY_LEN) == 0 && a->height == b->height &&
           memcmp(a->payload, b->payload, OB_DIGEST_LEN) == 0;
}

ob_error_t ob_cert_assemble(const ob_ack_t *acks, size_t count, uint16_t validator_count,
                            uint8_t *entries, size_t cap, ob_cert_t *out)
{
    if (validator_count == 0 || count < ob_quorum(validator_count))
        return OB_ERR_BELOW_QUORUM;
    if (count > validator_count)
        return OB_ERR_CERT_TOO_MANY;
    if (cap < OB_CERT_ENTRIES_LEN(count))
        return OB_ERR_TOO_LARGE;
    for (size_t i = 0; i < count; i++) {
        if (!s_same_chunk(&acks[i].chunk, &acks[0].chunk) || acks[i].epoch != acks[0].epoch)
            return OB_ERR_CHUNK_MISMATCH;
        ob_cert_entry_write(entries + i * OB_CERT_ENTRY_LEN, acks[i].index, acks[i].signature);
    }
    qsort(entries, count, OB_CERT_ENTRY_LEN, s_compare_entries);
    out->count = (uint16_t)count;
    out->entries = entries;
    return ob_cert_check_indices(out, validator_count);
}

ob_error_t ob_cert_verify(ob_crypto_t *crypto, const ob_namespace_t *ns,
                          const ob_keyset_t *validators, const ob_chunk_t *chunk, uint64_t epoch,
                          const ob_cert_t *cert)
{
    uint16_t n = ob_keyset_size(validators);
    if (cert->count < ob_quorum(n))
        return OB_ERR_BELOW_QUORUM;
    if (cert->count > n)
        return OB_ERR_CERT_TOO_MANY;
    ob_error_t rc = ob_cert_check_indices(cert, n);
    if (rc != OB_OK)
        return rc;
    /* Every signer signs the same 32 bytes: hash once. */
    uint8_t digest[32];
    ob_ack_signing_digest(crypto, ns, chunk, epoch, digest);
    for (uint16_t i = 0; i < cert->count; i++) {
        const ob_pubkey_t *key = ob_keyset_key(validators, ob_cert_signer(cert, i));
        if (!ob_schnorr_verify(crypto, key, digest, sizeof digest, ob_cert_signature(cert, i)))
            return OB_ERR_BAD_SIGNATURE;
    }
    return OB_OK;
}

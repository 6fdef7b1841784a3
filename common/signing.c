#include "signing.h"

#include <assert.h>
#include <string.h>

static void s_tag(ob_crypto_t *crypto, const ob_namespace_t *ns, const char *suffix,
                  uint8_t out[32])
{
    uint8_t tag[OB_NAMESPACE_MAX + 8];
    size_t suffix_len = strlen(suffix);
    assert(suffix_len <= 8);
    memcpy(tag, ns->bytes, ns->len);
    memcpy(tag + ns->len, suffix, suffix_len);
    ob_tag_hash(crypto, tag, ns->len + suffix_len, out);
}

int ob_namespace_init(ob_namespace_t *self, ob_crypto_t *crypto, const void *bytes, size_t len,
                      ob_why_t *why)
{
    if (len < 1 || len > OB_NAMESPACE_MAX)
        return ob_why(why, "namespace is %zu bytes; it must be 1 to %d", len, OB_NAMESPACE_MAX);
    memset(self, 0, sizeof *self);
    memcpy(self->bytes, bytes, len);
    self->len = len;
    s_tag(crypto, self, "_CHUNK", self->chunk_tag);
    s_tag(crypto, self, "_ACK", self->ack_tag);
    return 0;
}

void ob_chunk_signing_digest(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_chunk_t *chunk,
                             uint8_t digest[32])
{
    uint8_t m[OB_CHUNK_LEN];
    size_t len = 0;
    int rc = ob_chunk_encode(chunk, m, sizeof m, &len);
    rc |= ob_tagged_hash(crypto, ns->chunk_tag, m, len, digest);
    assert(rc == 0);
    (void)rc;
}

void ob_ack_signing_digest(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_chunk_t *chunk,
                           uint64_t epoch, uint8_t digest[32])
{
    uint8_t m[OB_CHUNK_LEN + 8];
    size_t len = 0;
    int rc = ob_chunk_encode(chunk, m, sizeof m, &len);
    for (int i = 0; i < 8; i++)
        m[OB_CHUNK_LEN + i] = (uint8_t)(epoch >> (56 - 8 * i));
    rc |= ob_tagged_hash(crypto, ns->ack_tag, m, sizeof m, digest);
    assert(rc == 0);
    (void)rc;
}

int ob_chunk_sign(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_keypair_t *sequencer,
                  const ob_chunk_t *chunk, const uint8_t *aux, uint8_t signature[64])
{
    uint8_t digest[32];
    ob_chunk_signing_digest(crypto, ns, chunk, digest);
    return ob_schnorr_sign(crypto, sequencer, digest, sizeof digest, aux, signature);
}

bool ob_chunk_signature_valid(ob_crypto_t *crypto, const ob_namespace_t *ns,
                              const ob_pubkey_t *sequencer, const ob_chunk_t *chunk,
                              const uint8_t signature[64])
{
    uint8_t digest[32];
    ob_chunk_signing_digest(crypto, ns, chunk, digest);
    return ob_schnorr_verify(crypto, sequencer, digest, sizeof digest, signature);
}

int ob_ack_sign(ob_crypto_t *crypto, const ob_namespace_t *ns, const ob_keypair_t *validator,
                const ob_chunk_t *chunk, uint64_t epoch, const uint8_t *aux, uint8_t signature[64])
{
    uint8_t digest[32];
    ob_ack_signing_digest(crypto, ns, chunk, epoch, digest);
    return ob_schnorr_sign(crypto, validator, digest, sizeof digest, aux, signature);
}

bool ob_ack_signature_valid(ob_crypto_t *crypto, const ob_namespace_t *ns,
                            const ob_pubkey_t *validator, const ob_chunk_t *chunk, uint64_t epoch,
                            const uint8_t signature[64])
{
    uint8_t digest[32];
    ob_ack_signing_digest(crypto, ns, chunk, epoch, digest);
    return ob_schnorr_verify(crypto, validator, digest, sizeof digest, signature);
}

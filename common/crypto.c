#include "crypto.h"

#include <secp256k1_schnorrsig.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct _ob_crypto_t {
    secp256k1_context *secp;
    EVP_MD *sha256; /* fetched once: a fetch per hash costs a lock and a lookup */
    EVP_MD_CTX *md; /* reused for every hash */
    bool aux_seeded;
    uint8_t aux_seed[32];
};

int ob_random_bytes(void *out, size_t len)
{
    uint8_t *p = out;
    while (len > 0) {
        ssize_t got = getrandom(p, len, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += got;
        len -= (size_t)got;
    }
    return 0;
}

ob_crypto_t *ob_crypto_new(void)
{
    ob_crypto_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    uint8_t seed[32];
    self->secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    self->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    self->md = EVP_MD_CTX_new();
    if (!self->secp || !self->sha256 || !self->md || ob_random_bytes(seed, sizeof seed) != 0 ||
        !secp256k1_context_randomize(self->secp, seed)) {
        ob_crypto_destroy(&self);
        return NULL;
    }
    OPENSSL_cleanse(seed, sizeof seed);
    return self;
}

void ob_crypto_destroy(ob_crypto_t **self_p)
{
    assert(self_p);
    ob_crypto_t *self = *self_p;
    if (!self)
        return;
    if (self->secp)
        secp256k1_context_destroy(self->secp);
    EVP_MD_free(self->sha256);
    EVP_MD_CTX_free(self->md);
    free(self);
    *self_p = NULL;
}

/* Hashes up to three pieces; EVP failures here mean a broken library, not
   bad input, so they are programmer-level faults. */
static void s_sha256_parts(ob_crypto_t *self, const void *a, size_t a_len, const void *b,
                           size_t b_len, const void *c, size_t c_len, uint8_t out[32])
{
    unsigned int out_len = 0;
    int ok = EVP_DigestInit_ex2(self->md, self->sha256, NULL) &&
             EVP_DigestUpdate(self->md, a, a_len) &&
             (b_len == 0 || EVP_DigestUpdate(self->md, b, b_len)) &&
             (c_len == 0 || EVP_DigestUpdate(self->md, c, c_len)) &&
             EVP_DigestFinal_ex(self->md, out, &out_len);
    assert(ok && out_len == 32);
    (void)ok;
}

void ob_sha256(ob_crypto_t *self, const void *data, size_t len, uint8_t out[32])
{
    s_sha256_parts(self, data, len, NULL, 0, NULL, 0, out);
}

void ob_tag_hash(ob_crypto_t *self, const void *tag, size_t tag_len, uint8_t tag_hash[32])
{
    ob_sha256(self, tag, tag_len, tag_hash);
}

int ob_tagged_hash(ob_crypto_t *self, const uint8_t tag_hash[32], const void *m, size_t m_len,
                   uint8_t out[32])
{
    if (m_len > OB_TAGGED_MAX_MSG)
        return -1;
    s_sha256_parts(self, tag_hash, 32, tag_hash, 32, m, m_len, out);
    return 0;
}

void ob_crypto_set_aux_seed(ob_crypto_t *self, const uint8_t seed[32])
{
    memcpy(self->aux_seed, seed, 32);
    self->aux_seeded = true;
}

int ob_pubkey_parse(ob_crypto_t *self, const uint8_t bytes[32], ob_pubkey_t *out)
{
    if (!secp256k1_xonly_pubkey_parse(self->secp, &out->parsed, bytes))
        return -1;
    memcpy(out->bytes, bytes, 32);
    return 0;
}

int ob_keypair_from_secret(ob_crypto_t *self, const uint8_t secret[OB_SECRET_LEN],
                           ob_keypair_t *out)
{
    if (!secp256k1_keypair_create(self->secp, &out->pair, secret))
        return -1;
    int parity = 0;
    if (!secp256k1_keypair_xonly_pub(self->secp, &out->pub.parsed, &parity, &out->pair) ||
        !secp256k1_xonly_pubkey_serialize(self->secp, out->pub.bytes, &out->pub.parsed)) {
        ob_keypair_wipe(out);
        return -1;
    }
    return 0;
}

int ob_keypair_generate(ob_crypto_t *self, ob_keypair_t *out, uint8_t secret[OB_SECRET_LEN])
{
    /* A random 32 bytes fails to be a valid secret with probability ~2^-128;
       the bound only keeps the loop finite. */
    for (int attempt = 0; attempt < 16; attempt++) {
        if (ob_random_bytes(secret, OB_SECRET_LEN) != 0)
            return -1;
        if (ob_keypair_from_secret(self, secret, out) == 0)
            return 0;
    }
    return -1;
}

void ob_keypair_secret(ob_crypto_t *self, const ob_keypair_t *pair, uint8_t secret[OB_SECRET_LEN])
{
    int ok = secp256k1_keypair_sec(self->secp, secret, &pair->pair);
    assert(ok);
    (void)ok;
}

void ob_keypair_wipe(ob_keypair_t *pair)
{
    OPENSSL_cleanse(pair, sizeof *pair);
}

int ob_schnorr_sign(ob_crypto_t *self, const ob_keypair_t *pair, const uint8_t *msg, size_t msg_len,
                    const uint8_t *aux, uint8_t signature[64])
{
    uint8_t fresh[OB_AUX_LEN];
    if (!aux) {
        if (self->aux_seeded)
            s_sha256_parts(self, self->aux_seed, 32, msg, msg_len, NULL, 0, fresh);
        else if (ob_random_bytes(fresh, sizeof fresh) != 0)
            return -1;
        aux = fresh;
    }
    secp256k1_schnorrsig_extraparams extra = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
    extra.ndata = (unsigned char *)aux;
    return secp256k1_schnorrsig_sign_custom(self->secp, signature, msg, msg_len, &pair->pair,
                                            &extra)
               ? 0
               : -1;
}

bool ob_schnorr_verify(ob_crypto_t *self, const ob_pubkey_t *pub, const uint8_t *msg,
                       size_t msg_len, const uint8_t signature[64])
{
    return secp256k1_schnorrsig_verify(self->secp, signature, msg, msg_len, &pub->parsed) == 1;
}

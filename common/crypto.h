/*  SHA-256, BIP340 tagged hashes, and Schnorr keys, signing and verifying.

    An ob_crypto_t is a context in the libsecp256k1 manner: it holds a
    randomized secp256k1 context and a reusable SHA-256 state, so nothing is
    allocated per message. A context is not thread-safe; give each thread
    its own. Schnorr itself is libsecp256k1's, never ours. */
#ifndef OB_CRYPTO_H
#define OB_CRYPTO_H

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OB_SECRET_LEN 32
#define OB_AUX_LEN    32
/* The longest message ob_tagged_hash takes; obcast's longest is Chunk ‖ epoch. */
#define OB_TAGGED_MAX_MSG 256

typedef struct _ob_crypto_t ob_crypto_t;

/* A public key checked to be on the curve, with its 32 x-only bytes. */
typedef struct {
    secp256k1_xonly_pubkey parsed;
    uint8_t bytes[32];
} ob_pubkey_t;

/* A signing key. Holds secret material: wipe it with ob_keypair_wipe. */
typedef struct {
    secp256k1_keypair pair;
    ob_pubkey_t pub;
} ob_keypair_t;

/* Creates a context, randomized from the kernel's entropy. NULL if the
   entropy source or an allocation fails. */
ob_crypto_t *ob_crypto_new(void);
void ob_crypto_destroy(ob_crypto_t **self_p);

/* Makes signing with aux NULL deterministic: aux = SHA256(seed ‖ msg). For
   the simulator, whose runs must repeat exactly; BIP340 stays secure, since
   aux only adds to the nonce derived from key and message. Never in
   production. */
void ob_crypto_set_aux_seed(ob_crypto_t *self, const uint8_t seed[32]);

/* Fills `out` from the kernel's entropy (getrandom). Returns 0 or -1. */
int ob_random_bytes(void *out, size_t len);

void ob_sha256(ob_crypto_t *self, const void *data, size_t len, uint8_t out[32]);

/* SHA256(tag) for a tag of any length: the prefix of ob_tagged_hash. */
void ob_tag_hash(ob_crypto_t *self, const void *tag, size_t tag_len, uint8_t tag_hash[32]);

/* SHA256(tag_hash ‖ tag_hash ‖ m): BIP340's TaggedHash with the tag already
   hashed. Returns -1 if m is longer than OB_TAGGED_MAX_MSG. */
int ob_tagged_hash(ob_crypto_t *self, const uint8_t tag_hash[32], const void *m, size_t m_len,
                   uint8_t out[32]);

/* Parses 32 x-only bytes. Returns -1 if they are not a point's x. */
int ob_pubkey_parse(ob_crypto_t *self, const uint8_t bytes[32], ob_pubkey_t *out);

/* Derives the pair of a secret key. Returns -1 if the secret is zero or not
   below the curve order. */
int ob_keypair_from_secret(ob_crypto_t *self, const uint8_t secret[OB_SECRET_LEN],
                           ob_keypair_t *out);

/* Makes a fresh key from the kernel's entropy; writes its secret too. */
int ob_keypair_generate(ob_crypto_t *self, ob_keypair_t *out, uint8_t secret[OB_SECRET_LEN]);

/* Copies the 32 secret bytes out of a pair. */
void ob_keypair_secret(ob_crypto_t *self, const ob_keypair_t *pair, uint8_t secret[OB_SECRET_LEN]);

void ob_keypair_wipe(ob_keypair_t *pair);

/* BIP340 sign of `msg`. `aux` is the auxiliary randomness; NULL draws 32
   fresh bytes, which is what production wants. Returns 0 or -1. */
int ob_schnorr_sign(ob_crypto_t *self, const ob_keypair_t *pair, const uint8_t *msg, size_t msg_len,
                    const uint8_t *aux, uint8_t signature[64]);

bool ob_schnorr_verify(ob_crypto_t *self, const ob_pubkey_t *pub, const uint8_t *msg,
                       size_t msg_len, const uint8_t signature[64]);

#endif

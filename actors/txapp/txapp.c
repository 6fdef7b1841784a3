#include "txapp.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SENDERS_MAX 1024

typedef struct {
    ob_keypair_t key;
    uint64_t nonce; /* the next one */
} s_sender_t;

struct _ob_txapp_t {
    ob_crypto_t *crypto;
    uint8_t tag_hash[32]; /* SHA256(OB_TXAPP_TAG) */
    s_sender_t *senders;
    uint32_t sender_count, next_sender;
};

const char *ob_txapp_result_name(ob_txapp_result_t result)
{
    switch (result) {
    case OB_TXAPP_OK:
        return "ok";
    case OB_TXAPP_SHORT:
        return "short";
    case OB_TXAPP_TRAILING:
        return "trailing";
    case OB_TXAPP_BAD_VERSION:
        return "bad_version";
    case OB_TXAPP_EMPTY:
        return "empty";
    case OB_TXAPP_TOO_MANY:
        return "too_many";
    case OB_TXAPP_MEMO_TOO_LONG:
        return "memo_too_long";
    case OB_TXAPP_BAD_KEY:
        return "bad_key";
    case OB_TXAPP_BAD_SIGNATURE:
        return "bad_signature";
    }
    return "unknown";
}

ob_txapp_t *ob_txapp_new(uint32_t sender_count, const uint8_t *seed, ob_why_t *why)
{
    if (sender_count == 0 || sender_count > S_SENDERS_MAX) {
        ob_why(why, "txapp: %u senders; 1 to %d", sender_count, S_SENDERS_MAX);
        return NULL;
    }
    ob_txapp_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_why(why, "txapp: out of memory");
        return NULL;
    }
    self->crypto = ob_crypto_new();
    self->senders = calloc(sender_count, sizeof *self->senders);
    if (!self->crypto || !self->senders) {
        ob_why(why, "txapp: out of memory or entropy");
        ob_txapp_destroy(&self);
        return NULL;
    }
    self->sender_count = sender_count;
    ob_tag_hash(self->crypto, OB_TXAPP_TAG, strlen(OB_TXAPP_TAG), self->tag_hash);
    if (seed)
        ob_crypto_set_aux_seed(self->crypto, seed);
    for (uint32_t i = 0; i < sender_count; i++) {
        uint8_t secret[OB_SECRET_LEN];
        int rc;
        if (seed) {
            uint8_t material[32 + 4];
            memcpy(material, seed, 32);
            for (int b = 0; b < 4; b++)
                material[32 + b] = (uint8_t)(i >> (24 - 8 * b));
            ob_sha256(self->crypto, material, sizeof material, secret);
            rc = ob_keypair_from_secret(self->crypto, secret, &self->senders[i].key);
        } else {
            rc = ob_keypair_generate(self->crypto, &self->senders[i].key, secret);
        }
        memset(secret, 0, sizeof secret);
        if (rc != 0) {
            ob_why(why, "txapp: cannot make sender key %u", i);
            ob_txapp_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void ob_txapp_destroy(ob_txapp_t **self_p)
{
    assert(self_p);
    ob_txapp_t *self = *self_p;
    if (!self)
        return;
    if (self->senders)
        for (uint32_t i = 0; i < self->sender_count; i++)
            ob_keypair_wipe(&self->senders[i].key);
    free(self->senders);
    ob_crypto_destroy(&self->crypto);
    free(self);
    *self_p = NULL;
}

static void s_put(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t s_get(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* The 32 bytes a sender signs: the tagged hash of the transaction up to
   its signature. */
static int s_signing_hash(ob_txapp_t *self, const uint8_t *tx, size_t unsigned_len,
                          uint8_t hash[32])
{
    return ob_tagged_hash(self->crypto, self->tag_hash, tx, unsigned_len, hash);
}

int ob_txapp_build(ob_txapp_t *self, uint32_t count, uint32_t bad, uint8_t **out, size_t *out_len)
{
    if (count == 0 || count > OB_TXAPP_TXS_MAX)
        return -1;
    uint8_t *batch = malloc(OB_TXAPP_HEADER_LEN + (size_t)count * OB_TXAPP_TX_MAX);
    if (!batch)
        return -1;
    batch[0] = OB_TXAPP_VERSION;
    s_put(batch + 1, count, 4);
    size_t at = OB_TXAPP_HEADER_LEN;
    for (uint32_t t = 0; t < count; t++) {
        uint32_t who = self->next_sender;
        self->next_sender = (self->next_sender + 1) % self->sender_count;
        s_sender_t *sender = &self->senders[who];
        uint64_t nonce = sender->nonce++;
        char memo[OB_TXAPP_MEMO_MAX + 1];
        int memo_len = snprintf(memo, sizeof memo, "payment %llu of sender %u",
                                (unsigned long long)nonce, who);
        if (memo_len < 0 || memo_len > OB_TXAPP_MEMO_MAX)
            memo_len = 0;
        uint8_t *tx = batch + at;
        memcpy(tx, sender->key.pub.bytes, 32);
        s_put(tx + 32, nonce, 8);
        s_put(tx + 40, (nonce * 7919 + who) % 1000000 + 1, 8);
        s_put(tx + 48, (uint64_t)memo_len, 2);
        memcpy(tx + 50, memo, (size_t)memo_len);
        size_t unsigned_len = 50 + (size_t)memo_len;
        uint8_t hash[32];
        if (s_signing_hash(self, tx, unsigned_len, hash) != 0 ||
            ob_schnorr_sign(self->crypto, &sender->key, hash, 32, NULL, tx + unsigned_len) != 0) {
            free(batch);
            return -1;
        }
        if (t == bad)
            tx[unsigned_len + 63] ^= 0x01; /* s changes: the signature no longer verifies */
        at += unsigned_len + 64;
    }
    *out = batch;
    *out_len = at;
    return 0;
}

ob_txapp_result_t ob_txapp_verify(ob_txapp_t *self, const uint8_t *data, size_t len,
                                  uint32_t *count_out)
{
    if (len < OB_TXAPP_HEADER_LEN)
        return OB_TXAPP_SHORT;
    if (data[0] != OB_TXAPP_VERSION)
        return OB_TXAPP_BAD_VERSION;
    uint64_t count = s_get(data + 1, 4);
    if (count == 0)
        return OB_TXAPP_EMPTY;
    if (count > OB_TXAPP_TXS_MAX)
        return OB_TXAPP_TOO_MANY;
    size_t left = len - OB_TXAPP_HEADER_LEN;
    if (left / OB_TXAPP_TX_MIN < count)
        return OB_TXAPP_SHORT; /* before any work: the input cannot hold them */
    /* The form first, all of it: no signature work on a malformed batch. */
    size_t at = OB_TXAPP_HEADER_LEN;
    for (uint64_t t = 0; t < count; t++) {
        if (len - at < OB_TXAPP_TX_MIN)
            return OB_TXAPP_SHORT;
        size_t memo_len = (size_t)s_get(data + at + 48, 2);
        if (memo_len > OB_TXAPP_MEMO_MAX)
            return OB_TXAPP_MEMO_TOO_LONG;
        if (len - at < OB_TXAPP_TX_MIN + memo_len)
            return OB_TXAPP_SHORT;
        at += OB_TXAPP_TX_MIN + memo_len;
    }
    if (at != len)
        return OB_TXAPP_TRAILING;
    if (count_out)
        *count_out = (uint32_t)count;
    at = OB_TXAPP_HEADER_LEN;
    for (uint64_t t = 0; t < count; t++) {
        const uint8_t *tx = data + at;
        size_t unsigned_len = 50 + (size_t)s_get(tx + 48, 2);
        ob_pubkey_t sender;
        if (ob_pubkey_parse(self->crypto, tx, &sender) != 0)
            return OB_TXAPP_BAD_KEY;
        uint8_t hash[32];
        if (s_signing_hash(self, tx, unsigned_len, hash) != 0 ||
            !ob_schnorr_verify(self->crypto, &sender, hash, 32, tx + unsigned_len))
            return OB_TXAPP_BAD_SIGNATURE;
        at += unsigned_len + 64;
    }
    return OB_TXAPP_OK;
}

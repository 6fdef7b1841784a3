/*  A set of public keys sorted ascending by their 32 bytes: an epoch's
    validator set (where the position is the validator index of SPEC §1) or
    its sequencer set. Keys are parsed once here, so verifying against a
    member never parses again. */
#ifndef OB_KEYSET_H
#define OB_KEYSET_H

#include "crypto.h"
#include "why.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _ob_keyset_t ob_keyset_t;

/* f = floor((n-1)/3), the faults an n-validator epoch tolerates. n >= 1. */
uint16_t ob_max_faults(uint16_t n);
/* q = n - f. So n = 4 gives 3, and n = 10 gives 7. n >= 1. */
uint16_t ob_quorum(uint16_t n);

/* Builds a set from `count` keys in any order. Fails, with the reason, on an
   empty set, more than 65535 keys, a duplicate, or bytes that are not a
   valid x-only key. */
ob_keyset_t *ob_keyset_new(ob_crypto_t *crypto, const uint8_t (*keys)[32], size_t count,
                           ob_why_t *why);
void ob_keyset_destroy(ob_keyset_t **self_p);

uint16_t ob_keyset_size(const ob_keyset_t *self);
uint16_t ob_keyset_quorum(const ob_keyset_t *self);

/* The key at `index` in sorted order, or NULL if index >= size. */
const ob_pubkey_t *ob_keyset_key(const ob_keyset_t *self, uint16_t index);

/* Finds a key's index by binary search. */
bool ob_keyset_index_of(const ob_keyset_t *self, const uint8_t key[32], uint16_t *index);
bool ob_keyset_contains(const ob_keyset_t *self, const uint8_t key[32]);

#endif

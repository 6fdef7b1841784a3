#include "keyset.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/wire.h"

struct _ob_keyset_t {
    uint16_t size;
    ob_pubkey_t keys[]; /* ascending by bytes */
};

uint16_t ob_max_faults(uint16_t n)
{
    assert(n >= 1);
    return (uint16_t)((n - 1) / 3);
}

uint16_t ob_quorum(uint16_t n)
{
    assert(n >= 1);
    return (uint16_t)(n - ob_max_faults(n));
}

static int s_compare_keys(const void *a, const void *b)
{
    return memcmp(((const ob_pubkey_t *)a)->bytes, ((const ob_pubkey_t *)b)->bytes, 32);
}

ob_keyset_t *ob_keyset_new(ob_crypto_t *crypto, const uint8_t (*keys)[32], size_t count,
                           ob_why_t *why)
{
    if (count == 0) {
        ob_why(why, "key set is empty");
        return NULL;
    }
    if (count > OB_MAX_VALIDATORS) {
        ob_why(why, "key set has %zu keys, more than %u", count, OB_MAX_VALIDATORS);
        return NULL;
    }
    ob_keyset_t *self = calloc(1, sizeof *self + count * sizeof(ob_pubkey_t));
    if (!self) {
        ob_why(why, "out of memory for %zu keys", count);
        return NULL;
    }
    self->size = (uint16_t)count;
    for (size_t i = 0; i < count; i++) {
        if (ob_pubkey_parse(crypto, keys[i], &self->keys[i]) != 0) {
            ob_why(why, "key %zu is not a valid x-only public key", i);
            ob_keyset_destroy(&self);
            return NULL;
        }
    }
    qsort(self->keys, count, sizeof(ob_pubkey_t), s_compare_keys);
    for (size_t i = 1; i < count; i++) {
        if (memcmp(self->keys[i - 1].bytes, self->keys[i].bytes, 32) == 0) {
            ob_why(why, "key set lists a key twice");
            ob_keyset_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void ob_keyset_destroy(ob_keyset_t **self_p)
{
    assert(self_p);
    free(*self_p);
    *self_p = NULL;
}

uint16_t ob_keyset_size(const ob_keyset_t *self)
{
    return self->size;
}

uint16_t ob_keyset_quorum(const ob_keyset_t *self)
{
    return ob_quorum(self->size);
}

const ob_pubkey_t *ob_keyset_key(const ob_keyset_t *self, uint16_t index)
{
    return index < self->size ? &self->keys[index] : NULL;
}

bool ob_keyset_index_of(const ob_keyset_t *self, const uint8_t key[32], uint16_t *index)
{
    size_t lo = 0, hi = self->size;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(self->keys[mid].bytes, key, 32);
        if (c == 0) {
            *index = (uint16_t)mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool ob_keyset_contains(const ob_keyset_t *self, const uint8_t key[32])
{
    uint16_t unused;
    return ob_keyset_index_of(self, key, &unused);
}

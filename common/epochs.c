#include "epochs.h"

#include <assert.h>
#include <stdlib.h>

typedef struct {
    uint64_t epoch;
    ob_keyset_t *validators;
    ob_keyset_t *sequencers;
} s_epoch_t;

struct _ob_epochs_t {
    s_epoch_t *items; /* ascending by epoch */
    size_t count;
    size_t cap;
};

ob_epochs_t *ob_epochs_new(void)
{
    return calloc(1, sizeof(ob_epochs_t));
}

void ob_epochs_destroy(ob_epochs_t **self_p)
{
    assert(self_p);
    ob_epochs_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        ob_keyset_destroy(&self->items[i].validators);
        ob_keyset_destroy(&self->items[i].sequencers);
    }
    free(self->items);
    free(self);
    *self_p = NULL;
}

int ob_epochs_add(ob_epochs_t *self, uint64_t epoch, ob_keyset_t **validators,
                  ob_keyset_t **sequencers, ob_why_t *why)
{
    assert(validators && *validators && sequencers && *sequencers);
    if (self->count > 0 && epoch <= self->items[self->count - 1].epoch)
        return ob_why(why, "epoch %llu is not above the latest epoch %llu",
                      (unsigned long long)epoch,
                      (unsigned long long)self->items[self->count - 1].epoch);
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        s_epoch_t *items = realloc(self->items, cap * sizeof *items);
        if (!items)
            return ob_why(why, "out of memory adding epoch %llu", (unsigned long long)epoch);
        self->items = items;
        self->cap = cap;
    }
    self->items[self->count++] = (s_epoch_t){epoch, *validators, *sequencers};
    *validators = NULL;
    *sequencers = NULL;
    return 0;
}

uint64_t ob_epochs_first(const ob_epochs_t *self)
{
    return self->count ? self->items[0].epoch : 0;
}

size_t ob_epochs_count(const ob_epochs_t *self)
{
    return self->count;
}

uint64_t ob_epochs_latest(const ob_epochs_t *self)
{
    assert(self->count > 0);
    return self->items[self->count - 1].epoch;
}

static const s_epoch_t *s_find(const ob_epochs_t *self, uint64_t epoch)
{
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->items[mid].epoch == epoch)
            return &self->items[mid];
        if (self->items[mid].epoch < epoch)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool ob_epochs_known(const ob_epochs_t *self, uint64_t epoch)
{
    return s_find(self, epoch) != NULL;
}

const ob_keyset_t *ob_epochs_validators(const ob_epochs_t *self, uint64_t epoch)
{
    const s_epoch_t *e = s_find(self, epoch);
    return e ? e->validators : NULL;
}

const ob_keyset_t *ob_epochs_sequencers(const ob_epochs_t *self, uint64_t epoch)
{
    const s_epoch_t *e = s_find(self, epoch);
    return e ? e->sequencers : NULL;
}

static bool s_size_of(const void *ctx, uint64_t epoch, uint16_t *validator_count)
{
    const s_epoch_t *e = s_find(ctx, epoch);
    if (!e)
        return false;
    *validator_count = ob_keyset_size(e->validators);
    return true;
}

ob_epoch_lookup_t ob_epochs_lookup(const ob_epochs_t *self)
{
    return (ob_epoch_lookup_t){s_size_of, self};
}

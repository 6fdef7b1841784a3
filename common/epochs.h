/*  Every epoch's validator and sequencer sets (SPEC §1, §6). Epochs are only
    appended, in increasing order, and every epoch stays known: a parent
    certificate from an old epoch must still verify. */
#ifndef OB_EPOCHS_H
#define OB_EPOCHS_H

#include "keyset.h"
#include "why.h"

#include "../proto/wire.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct _ob_epochs_t ob_epochs_t;

ob_epochs_t *ob_epochs_new(void);
void ob_epochs_destroy(ob_epochs_t **self_p);

/* Appends an epoch. It must be greater than every epoch already held.
   On success the sets now belong to the table and the caller's pointers are
   nulled; on failure they stay with the caller. */
int ob_epochs_add(ob_epochs_t *self, uint64_t epoch, ob_keyset_t **validators,
                  ob_keyset_t **sequencers, ob_why_t *why);

size_t ob_epochs_count(const ob_epochs_t *self);
/* The highest epoch held. The table must not be empty. */
uint64_t ob_epochs_latest(const ob_epochs_t *self);
/* The lowest epoch: where a node that never had one starts. 0 if empty. */
uint64_t ob_epochs_first(const ob_epochs_t *self);
bool ob_epochs_known(const ob_epochs_t *self, uint64_t epoch);

/* NULL for an unknown epoch. */
const ob_keyset_t *ob_epochs_validators(const ob_epochs_t *self, uint64_t epoch);
const ob_keyset_t *ob_epochs_sequencers(const ob_epochs_t *self, uint64_t epoch);

/* The bound that certificate decoding takes (SPEC §2). */
ob_epoch_lookup_t ob_epochs_lookup(const ob_epochs_t *self);

#endif

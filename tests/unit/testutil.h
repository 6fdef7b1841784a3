/*  Helpers shared by the unit suites: hex literals, a world built from the
    conformance vectors, and a seeded PRNG for round-trip tests. */
#ifndef TU_TESTUTIL_H
#define TU_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cert.h"
#include "crypto.h"
#include "epochs.h"
#include "imsg.h"
#include "outbox.h"
#include "signing.h"
#include "verify.h"
#include "wire.h"

#include "vectors.h"

/* Decodes a hex literal of the vectors; a bad literal fails the test. */
size_t tu_hex(const char *hex, uint8_t *out, size_t cap);
/* The same, into a fresh buffer (at least 1 byte) that the caller frees. */
uint8_t *tu_hex_alloc(const char *hex, size_t *len);

/* Everything the vectors need: a context, the namespace, the validators'
   key pairs in index order, and the epochs. Epoch 8 is added with epoch
   7's sets when asked, as one unverifiable case requires. */
typedef struct {
    ob_crypto_t *crypto;
    ob_namespace_t ns;
    ob_keypair_t keys[4];
    ob_epochs_t *epochs;
    ob_epoch_lookup_t lookup;
} tu_world_t;

tu_world_t *tu_world_new(int with_epoch_8);
void tu_world_destroy(tu_world_t **self_p);

/* One node among four, for the suites that play it: four key pairs derived
   from "<label>-<k>", the namespace `label`, and two epochs over them, epoch 1
   with every key a validator and a sequencer, epoch 2 without key 0 among
   its sequencers. Key 0 is "this node". */
typedef struct {
    ob_crypto_t *crypto;
    ob_namespace_t ns;
    ob_keypair_t keys[4];
    ob_epochs_t *epochs;
} tu_four_t;

void tu_four_init(tu_four_t *self, const char *label);
/* Destroys the epochs and the context, wipes the keys. */
void tu_four_fini(tu_four_t *self);
/* Key `sequencer`'s chunk at `height` over the bytes of `payload`. */
ob_chunk_t tu_four_chunk(const tu_four_t *self, int sequencer, uint64_t height,
                         const char *payload);
/* Key k's index among the validators of `epoch` (fails unless it is one). */
uint16_t tu_four_index(const tu_four_t *self, int k, uint64_t epoch);

/* Builds a key set from hex keys. */
ob_keyset_t *tu_keyset(ob_crypto_t *crypto, const char *const *hex_keys, size_t count);

/* A small deterministic PRNG (splitmix64). */
typedef struct {
    uint64_t state;
} tu_rng_t;

uint64_t tu_rng_next(tu_rng_t *rng);
void tu_rng_fill(tu_rng_t *rng, void *out, size_t len);
uint64_t tu_rng_below(tu_rng_t *rng, uint64_t bound);

/* An epoch lookup that knows every epoch, with a fixed validator count. */
ob_epoch_lookup_t tu_lookup_fixed(const uint16_t *validator_count);

/* The party that sends `msg` to `to` in a node, for a test that plays
   it: the first sender proto/imsg.csv allows (a state request: the actor
   it names). */
ob_party_t tu_sender(ob_party_t to, const ob_imsg_t *msg);

/* How many messages of `type` the outbox holds for actor `to`. */
size_t tu_sent(const ob_outbox_t *out, ob_actor_t to, ob_imsg_type_t type);
/* The one message of `type` for `to` (fails unless there is exactly one),
   decoded, and its envelope if `envelope`; its blobs view the outbox, so
   they last until it is cleared. */
ob_imsg_t tu_the(const ob_outbox_t *out, ob_actor_t to, ob_imsg_type_t type,
                 const ob_envelope_t **envelope);

/* `msg` through the imsg codec, as it travels between processes: the
   decoded copy, whose blobs view *frame (the caller frees *frame). */
ob_imsg_t tu_through_codec(const ob_imsg_t *msg, uint8_t **frame);

/* A new folder under /tmp named after `label` (fails the test if it cannot
   be made); tu_remove_dir removes it with the files in it (a database and
   SQLite's -wal and -shm beside it). */
void tu_temp_dir(char *out, size_t cap, const char *label);
void tu_remove_dir(const char *path);

#endif

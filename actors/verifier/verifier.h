/*  The verifier actor's pure handler (SPEC §3, §4): it decodes what peers
    sent and runs every stateless check — P against the sequencer or the
    validator index, set membership in the current epoch, signatures,
    parent certificates (against the parent's own epoch, exempt from
    bounds) and the payload digest. It holds nothing durable; several may
    run side by side. Signatures already verified are remembered in a
    bounded cache keyed by (epoch, chunk, index, signature), never by the
    chunk alone. */
#ifndef OB_VERIFIER_H
#define OB_VERIFIER_H

#include "node_env.h"
#include "outbox.h"
#include "why.h"

#include <stdint.h>

typedef struct _ob_verifier_t ob_verifier_t;

typedef struct {
    uint64_t nodes_passed, acks_passed;
    uint64_t dropped[OB_ERROR_COUNT];
    uint64_t cache_hits, cache_misses;
} ob_verifier_stats_t;

/* `cache_entries` bounds the signature cache (0 disables it). */
ob_verifier_t *ob_verifier_new(const ob_node_env_t *env, uint32_t cache_entries, ob_why_t *why);
void ob_verifier_destroy(ob_verifier_t **self_p);

/* Several verifiers share one arena: each holds slots under its own owner
   id, so that a restarted instance reclaims only what its predecessor
   held. Instance 0 is OB_ACTOR_VERIFIER. */
uint16_t ob_verifier_arena_owner(uint32_t instance);
void ob_verifier_set_instance(ob_verifier_t *self, uint32_t instance);

void ob_verifier_start(ob_verifier_t *self, ob_outbox_t *out);
void ob_verifier_handle(ob_verifier_t *self, ob_party_t from, const ob_imsg_t *msg,
                        ob_outbox_t *out);

const ob_verifier_stats_t *ob_verifier_stats(const ob_verifier_t *self);

#endif

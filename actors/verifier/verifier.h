/*  The verifier actor's pure handler (SPEC §3, §4): it decodes what peers
    sent and runs every stateless check — P against the sequencer or the
    validator index, set membership in the current epoch, signatures,
    parent certificates (against the parent's own epoch, exempt from
    bounds) and the payload digest. It holds nothing durable; several may
    run side by side. Signatures already verified are remembered in a
    bounded cache keyed by (epoch, chunk, index, signature), never by the
    chunk alone.

    It also verifies less (SPEC §3, §9 "no verification that a certificate
    already made unnecessary"): an ack on a chunk the signer said is
    certified (quorum_reached) is dropped unverified; and, with a hold
    time set, acks below quorum are held unverified until enough are
    pending to make one, or until the hold time passes (liveness never
    waits for a quorum). Net routes every peer message of one chunk to one
    instance, so the acks of a chunk meet here. */
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
    uint64_t signature_checks;       /* signatures actually verified (cache misses included) */
    uint64_t acks_after_certificate; /* dropped unverified: their chunk was certified */
    uint64_t acks_late_forwarded;    /* of those, own chunks' passed on as ack_late */
    uint64_t acks_held;              /* held until a quorum was pending */
    uint64_t held_at_quorum;         /* holds verified because a quorum was pending */
    uint64_t held_timeouts;          /* holds verified below quorum, the hold time past */
    uint64_t held_evicted;           /* holds verified early: the hold table was full */
    uint64_t own_acks_cached;        /* own acks the signer made, cached without a check */
    uint64_t hold_ms;                /* the hold time now (2x the usual time to a certificate) */
    /* Fetched from peers (SPEC §3 Receiving, §8), by outcome: [OB_OK] passed
       to the journal, else dropped by that error */
    uint64_t fetched[OB_ERROR_COUNT];
    /* block_peer sent to net (SPEC §3 Blocking), and by what the peer
       sent: a node or an ack whose own signature fails, a Fetched whose
       certificate fails */
    uint64_t blocks_asked, blocks_node, blocks_ack, blocks_fetched;
} ob_verifier_stats_t;

/* `cache_entries` bounds the signature cache (0 disables it). */
ob_verifier_t *ob_verifier_new(const ob_node_env_t *env, uint32_t cache_entries, ob_why_t *why);
void ob_verifier_destroy(ob_verifier_t **self_p);

/* Several verifiers share one arena: each holds slots under its own owner
   id, so that a restarted instance reclaims only what its predecessor
   held. Instance 0 is OB_ACTOR_VERIFIER. */
uint16_t ob_verifier_arena_owner(uint32_t instance);
void ob_verifier_set_instance(ob_verifier_t *self, uint32_t instance);

/* Holding acks below quorum: at most `max_ms` (0, the default, verifies
   every ack at once). The hold time is twice the usual time from a
   chunk's first ack to its quorum_reached, within [2, max_ms] ms. An ack
   that comes once a quorum has passed here is held too, for the
   quorum_reached that drops it. */
void ob_verifier_set_hold(ob_verifier_t *self, uint64_t max_ms);

void ob_verifier_start(ob_verifier_t *self, ob_outbox_t *out);
/* `now_ms`: CLOCK_MONOTONIC ms (the shell's), for the hold time only. */
void ob_verifier_handle(ob_verifier_t *self, uint64_t now_ms, ob_party_t from, const ob_imsg_t *msg,
                        ob_outbox_t *out);
/* Verifies the holds whose time is up. */
void ob_verifier_tick(ob_verifier_t *self, uint64_t now_ms, ob_outbox_t *out);
/* When the oldest hold's time is up; UINT64_MAX if nothing is held. */
uint64_t ob_verifier_next_deadline(const ob_verifier_t *self);

const ob_verifier_stats_t *ob_verifier_stats(const ob_verifier_t *self);

#endif

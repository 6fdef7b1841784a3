#include "verifier.h"

#include "cert.h"
#include "log.h"
#include "metrics.h"
#include "verify.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Acks held below quorum: per chunk, and chunks at once (so at most
   S_HOLD_GROUPS x S_HOLD_PER_GROUP acks). A full table verifies its
   oldest hold at once to make room; nothing held is ever thrown away. */
#define S_HOLD_GROUPS    256
#define S_HOLD_PER_GROUP 16
/* Certified (sequencer, height, epoch) remembered, direct-mapped: one
   forgotten early only costs the verification of its late acks. */
#define S_CERTIFIED 4096

typedef struct {
    ob_ack_t ack;
    uint8_t peer[32];
} s_held_t;

/* The acks of one chunk in one epoch that this instance has seen. */
typedef struct {
    bool used;
    ob_chunk_t chunk;
    uint64_t epoch;
    uint64_t since; /* ms: the oldest ack held now came */
    uint64_t first; /* ms: the first ack of the chunk came (for the hold time) */
    uint64_t order; /* creation order: the oldest is evicted first */
    uint16_t held_count;
    s_held_t held[S_HOLD_PER_GROUP];
    uint16_t passed_count; /* distinct validators whose acks passed */
    uint16_t passed[S_HOLD_PER_GROUP];
} s_group_t;

typedef struct {
    bool used;
    uint8_t sequencer[32];
    uint64_t height, epoch;
} s_certified_t;

struct _ob_verifier_t {
    ob_node_env_t env;
    ob_crypto_t *crypto;
    bool epoch_known; /* nothing passes until the journal says which epoch is current */
    uint64_t epoch;
    uint8_t (*cache)[32]; /* direct-mapped: digest of (epoch, chunk, index, signature) */
    uint32_t cache_entries;
    uint16_t owner;       /* in the arena */
    uint64_t hold_max_ms; /* 0: acks are verified at once */
    uint64_t usual_ms;    /* moving average, first held ack to quorum */
    s_group_t *groups;
    uint64_t group_order;
    s_certified_t *certified;
    ob_verifier_stats_t stats;
};

ob_verifier_t *ob_verifier_new(const ob_node_env_t *env, uint32_t cache_entries, ob_why_t *why)
{
    ob_verifier_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_why(why, "verifier: out of memory");
        return NULL;
    }
    self->env = *env;
    self->owner = OB_ACTOR_VERIFIER;
    self->crypto = ob_crypto_new();
    self->cache_entries = cache_entries;
    if (cache_entries)
        self->cache = calloc(cache_entries, 32);
    self->groups = calloc(S_HOLD_GROUPS, sizeof *self->groups);
    self->certified = calloc(S_CERTIFIED, sizeof *self->certified);
    if (!self->crypto || (cache_entries && !self->cache) || !self->groups || !self->certified) {
        ob_why(why, "verifier: out of memory or entropy");
        ob_verifier_destroy(&self);
    }
    return self;
}

void ob_verifier_destroy(ob_verifier_t **self_p)
{
    assert(self_p);
    ob_verifier_t *self = *self_p;
    if (!self)
        return;
    ob_crypto_destroy(&self->crypto);
    free(self->cache);
    free(self->groups);
    free(self->certified);
    free(self);
    *self_p = NULL;
}

uint16_t ob_verifier_arena_owner(uint32_t instance)
{
    return ob_actor_arena_owner(OB_ACTOR_VERIFIER, instance);
}

void ob_verifier_set_instance(ob_verifier_t *self, uint32_t instance)
{
    self->owner = ob_verifier_arena_owner(instance);
}

void ob_verifier_set_hold(ob_verifier_t *self, uint64_t max_ms)
{
    self->hold_max_ms = max_ms;
}

void ob_verifier_start(ob_verifier_t *self, ob_outbox_t *out)
{
    ob_outbox_state_request(out, OB_ACTOR_VERIFIER);
    (void)self;
}

/* --- the signature cache ----------------------------------------------- */

/* What a cached signature was checked as: an ack's (and a certificate's
   entries), or a sequencer's on its chunk. The kind is hashed into the key,
   so the two can never stand for each other. */
enum { S_KIND_ACK = 0, S_KIND_NODE = 1 };

static void s_cache_key(ob_verifier_t *self, uint8_t kind, uint64_t epoch, const ob_chunk_t *chunk,
                        uint16_t index, const uint8_t signature[64], uint8_t key[32])
{
    uint8_t m[1 + 8 + OB_CHUNK_LEN + 2 + 64];
    m[0] = kind;
    for (int i = 0; i < 8; i++)
        m[1 + i] = (uint8_t)(epoch >> (56 - 8 * i));
    size_t len;
    ob_chunk_encode(chunk, m + 9, OB_CHUNK_LEN, &len);
    m[9 + OB_CHUNK_LEN] = (uint8_t)(index >> 8);
    m[9 + OB_CHUNK_LEN + 1] = (uint8_t)index;
    memcpy(m + 9 + OB_CHUNK_LEN + 2, signature, 64);
    ob_sha256(self->crypto, m, sizeof m, key);
}

static uint8_t *s_cache_slot(ob_verifier_t *self, const uint8_t key[32])
{
    uint32_t h =
        (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24;
    return self->cache[h % self->cache_entries];
}

/* A signature through the cache: true if it was verified before, or
   verifies now (and is remembered). */
static bool s_signature_ok(ob_verifier_t *self, uint8_t kind, const ob_pubkey_t *key,
                           const ob_chunk_t *chunk, uint64_t epoch, uint16_t index,
                           const uint8_t signature[64])
{
    uint8_t cache_key[32];
    uint8_t *slot = NULL;
    if (self->cache) {
        s_cache_key(self, kind, epoch, chunk, index, signature, cache_key);
        slot = s_cache_slot(self, cache_key);
        if (memcmp(slot, cache_key, 32) == 0) {
            self->stats.cache_hits++;
            return true;
        }
        self->stats.cache_misses++;
    }
    self->stats.signature_checks++;
    bool valid =
        kind == S_KIND_NODE
            ? ob_chunk_signature_valid(self->crypto, self->env.ns, key, chunk, signature)
            : ob_ack_signature_valid(self->crypto, self->env.ns, key, chunk, epoch, signature);
    if (!valid)
        return false;
    if (slot)
        memcpy(slot, cache_key, 32);
    return true;
}

/* One validator's ack signature, through the cache. */
static bool s_ack_signature_ok(ob_verifier_t *self, const ob_keyset_t *validators,
                               const ob_chunk_t *chunk, uint64_t epoch, uint16_t index,
                               const uint8_t signature[64])
{
    const ob_pubkey_t *key = ob_keyset_key(validators, index);
    return key && s_signature_ok(self, S_KIND_ACK, key, chunk, epoch, index, signature);
}

/* The parent certificate, signature by signature through the cache. */
static ob_error_t s_parent_ok(ob_verifier_t *self, const ob_node_t *node)
{
    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, node->parent.epoch);
    if (!validators)
        return OB_ERR_UNKNOWN_EPOCH;
    const ob_cert_t *cert = &node->parent.cert;
    uint16_t n = ob_keyset_size(validators);
    if (cert->count < ob_quorum(n))
        return OB_ERR_BELOW_QUORUM;
    ob_error_t rc = ob_cert_check_indices(cert, n);
    if (rc != OB_OK)
        return rc;
    ob_chunk_t parent = ob_node_parent_chunk(node);
    for (uint16_t i = 0; i < cert->count; i++) {
        uint16_t index = ob_cert_signer(cert, i);
        if (!s_ack_signature_ok(self, validators, &parent, node->parent.epoch, index,
                                ob_cert_signature(cert, i)))
            return OB_ERR_BAD_SIGNATURE;
    }
    return OB_OK;
}

/* --- peer messages ----------------------------------------------------- */

static void s_drop(ob_verifier_t *self, ob_error_t why, const uint8_t peer[32], ob_outbox_t *out)
{
    self->stats.dropped[why]++;
    ob_debug("verifier: dropped a message: %s", ob_error_name(why));
    ob_outbox_dropped(out, OB_ACTOR_VERIFIER, why, peer);
}

/* Asks net to block `peer`, which proved itself byzantine over its own
   link (SPEC §3 Blocking); `count` is the stat of what it sent. */
static void s_block(ob_verifier_t *self, const uint8_t peer[32], ob_error_t why, uint64_t *count,
                    ob_outbox_t *out)
{
    ob_imsg_t block = {.type = OB_IMSG_BLOCK_PEER};
    memcpy(block.u.block_peer.peer, peer, 32);
    block.u.block_peer.error = (uint16_t)why;
    if (ob_outbox_to_actor(out, OB_ACTOR_NET, &block) == 0) {
        self->stats.blocks_asked++;
        (*count)++;
    }
}

/* `*signed_by_peer` is set when the node's own signature failed: the
   peer is its sequencer (checked first), so it signed what fails. A
   failing parent certificate is others' signatures, and blocks no one. */
static ob_error_t s_check_node(ob_verifier_t *self, const ob_imsg_peer_node_t *in, ob_node_t *node,
                               bool *signed_by_peer)
{
    ob_epoch_lookup_t lookup = ob_epochs_lookup(self->env.epochs);
    ob_error_t rc = ob_node_decode(node, in->node.data, in->node.len, &lookup);
    if (rc != OB_OK)
        return rc;
    if (memcmp(node->chunk.sequencer, in->peer, 32) != 0)
        return OB_ERR_PEER_MISMATCH;
    if (!self->epoch_known)
        return OB_ERR_UNKNOWN_EPOCH;
    const ob_keyset_t *sequencers = ob_epochs_sequencers(self->env.epochs, self->epoch);
    uint16_t index;
    if (!sequencers || !ob_keyset_index_of(sequencers, node->chunk.sequencer, &index))
        return OB_ERR_UNKNOWN_SEQUENCER;
    /* Cached too: a duplicate of a node (a rebroadcast, or a byzantine
       sequencer's flood) costs no signature check. */
    if (!s_signature_ok(self, S_KIND_NODE, ob_keyset_key(sequencers, index), &node->chunk, 0, 0,
                        node->signature)) {
        *signed_by_peer = true;
        return OB_ERR_BAD_SIGNATURE;
    }
    if (node->has_parent && (rc = s_parent_ok(self, node)) != OB_OK)
        return rc;
    /* The handle's digest (net hashed the bytes as they entered) must be
       the chunk's. The bytes are not hashed again here: the verifier
       does not rely on them; the journal, which stores them, hashes its
       own copy at that point of use (SPEC §4), so a slot changed in
       between is caught there. Two hashes per payload at a node, not
       three. */
    if (memcmp(in->payload.digest, node->chunk.payload, 32) != 0 ||
        in->payload.len > self->env.params.max_payload)
        return OB_ERR_PAYLOAD_MISMATCH;
    return OB_OK;
}

static void s_on_peer_node(ob_verifier_t *self, const ob_imsg_peer_node_t *in, ob_outbox_t *out)
{
    ob_node_t node;
    /* The slot is ours while we check it, and the journal's once it passes. */
    if (ob_arena_take(self->env.arena, &in->payload, self->owner) != 0) {
        s_drop(self, OB_ERR_PAYLOAD_MISMATCH, in->peer, out);
        return;
    }
    bool signed_by_peer = false;
    ob_error_t rc = s_check_node(self, in, &node, &signed_by_peer);
    if (rc != OB_OK) {
        ob_arena_release(self->env.arena, &in->payload, self->owner);
        s_drop(self, rc, in->peer, out);
        if (signed_by_peer)
            s_block(self, in->peer, rc, &self->stats.blocks_node, out);
        return;
    }
    self->stats.nodes_passed++;
    ob_stage(OB_STAGE_VERIFIED, node.chunk.sequencer, node.chunk.height);
    ob_imsg_t msg = {.type = OB_IMSG_NODE_VERIFIED};
    memcpy(msg.u.node_verified.peer, in->peer, 32);
    msg.u.node_verified.node = in->node;
    msg.u.node_verified.payload = in->payload;
    if (ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg) != 0)
        ob_arena_release(self->env.arena, &in->payload, self->owner);
}

/* Every check of an ack but its signature: cheap, done before an ack is
   held. */
static ob_error_t s_precheck_ack(ob_verifier_t *self, const ob_imsg_peer_ack_t *in, ob_ack_t *ack)
{
    ob_error_t rc = ob_ack_decode(ack, in->ack.data, in->ack.len);
    if (rc != OB_OK)
        return rc;
    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, ack->epoch);
    if (!validators)
        return OB_ERR_UNKNOWN_EPOCH;
    const ob_pubkey_t *key = ob_keyset_key(validators, ack->index);
    if (!key)
        return OB_ERR_UNKNOWN_VALIDATOR;
    if (memcmp(key->bytes, in->peer, 32) != 0)
        return OB_ERR_PEER_MISMATCH;
    return OB_OK;
}

/* Verifies a prechecked ack and passes it on, or drops it. True if it
   passed. The precheck made `peer` the validator at the ack's index, so
   a signature that fails is its own: it is blocked, whenever a held ack
   is verified. */
static bool s_verify_ack(ob_verifier_t *self, const ob_ack_t *ack, const uint8_t peer[32],
                         ob_outbox_t *out)
{
    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, ack->epoch);
    if (!s_ack_signature_ok(self, validators, &ack->chunk, ack->epoch, ack->index,
                            ack->signature)) {
        s_drop(self, OB_ERR_BAD_SIGNATURE, peer, out);
        s_block(self, peer, OB_ERR_BAD_SIGNATURE, &self->stats.blocks_ack, out);
        return false;
    }
    self->stats.acks_passed++;
    uint8_t bytes[OB_ACK_LEN];
    size_t written = 0;
    ob_ack_encode(ack, bytes, sizeof bytes, &written);
    ob_imsg_t msg = {.type = OB_IMSG_ACK_VERIFIED};
    msg.u.ack_verified.ack = (ob_blob_t){bytes, (uint32_t)written};
    ob_outbox_to_actor(out, OB_ACTOR_SIGNER, &msg);
    return true;
}

/* --- Fetched (SPEC §3 Receiving) ---------------------------------------- */

/* The certificate is the proof, not the sender: the Lock's own epoch, not
   the current one, names the sequencers and validators. */
static ob_error_t s_check_fetched(ob_verifier_t *self, const ob_imsg_peer_fetched_t *in,
                                  ob_lock_t *lock)
{
    ob_epoch_lookup_t lookup = ob_epochs_lookup(self->env.epochs);
    ob_error_t rc = ob_lock_decode(lock, in->lock.data, in->lock.len, &lookup);
    if (rc != OB_OK)
        return rc;
    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, lock->epoch);
    const ob_keyset_t *sequencers = ob_epochs_sequencers(self->env.epochs, lock->epoch);
    if (!validators || !sequencers)
        return OB_ERR_UNKNOWN_EPOCH;
    if (!ob_keyset_contains(sequencers, lock->chunk.sequencer))
        return OB_ERR_UNKNOWN_SEQUENCER;
    const ob_cert_t *cert = &lock->cert;
    uint16_t n = ob_keyset_size(validators);
    if (cert->count < ob_quorum(n))
        return OB_ERR_BELOW_QUORUM;
    /* Strictly increasing indices below n: distinct validators, so the
       count above is a count of validators. */
    if ((rc = ob_cert_check_indices(cert, n)) != OB_OK)
        return rc;
    for (uint16_t i = 0; i < cert->count; i++)
        if (!s_ack_signature_ok(self, validators, &lock->chunk, lock->epoch,
                                ob_cert_signer(cert, i), ob_cert_signature(cert, i)))
            return OB_ERR_BAD_SIGNATURE;
    /* As for a node: the digest net computed as the bytes entered; the
       journal hashes its own copy before it stores them. */
    if (in->has_payload && (memcmp(in->payload.digest, lock->chunk.payload, 32) != 0 ||
                            in->payload.len > self->env.params.max_payload))
        return OB_ERR_PAYLOAD_MISMATCH;
    return OB_OK;
}

/* Only a certificate that fails proves its sender byzantine: P sent it
   over its own link, and a Lock is checkable by anyone. A wrong payload
   may be P's corrupted storage, and decoding errors or an unknown epoch
   may be our own manifest's age (SPEC §3 Blocking). */
static bool s_blocks(ob_error_t why)
{
    return why == OB_ERR_BAD_SIGNATURE || why == OB_ERR_BELOW_QUORUM;
}

static void s_on_peer_fetched(ob_verifier_t *self, const ob_imsg_peer_fetched_t *in,
                              ob_outbox_t *out)
{
    if (in->has_payload && ob_arena_take(self->env.arena, &in->payload, self->owner) != 0) {
        self->stats.fetched[OB_ERR_PAYLOAD_MISMATCH]++;
        s_drop(self, OB_ERR_PAYLOAD_MISMATCH, in->peer, out);
        return;
    }
    ob_lock_t lock;
    ob_error_t rc = s_check_fetched(self, in, &lock);
    self->stats.fetched[rc]++;
    if (rc != OB_OK) {
        if (in->has_payload)
            ob_arena_release(self->env.arena, &in->payload, self->owner);
        s_drop(self, rc, in->peer, out);
        if (s_blocks(rc))
            s_block(self, in->peer, rc, &self->stats.blocks_fetched, out);
        return;
    }
    ob_imsg_t msg = {.type = OB_IMSG_FETCHED_VERIFIED};
    memcpy(msg.u.fetched_verified.peer, in->peer, 32);
    msg.u.fetched_verified.lock = in->lock;
    msg.u.fetched_verified.has_payload = in->has_payload;
    if (in->has_payload)
        msg.u.fetched_verified.payload = in->payload;
    if (ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg) != 0 && in->has_payload)
        ob_arena_release(self->env.arena, &in->payload, self->owner);
}

/* --- certified chunks ---------------------------------------------------- */

static s_certified_t *s_certified_slot(ob_verifier_t *self, const uint8_t sequencer[32],
                                       uint64_t height, uint64_t epoch)
{
    uint32_t h = ob_outbox_route(sequencer, height) ^ (uint32_t)(epoch * 2654435761u);
    return &self->certified[h % S_CERTIFIED];
}

static bool s_is_certified(ob_verifier_t *self, const ob_ack_t *ack)
{
    const s_certified_t *c =
        s_certified_slot(self, ack->chunk.sequencer, ack->chunk.height, ack->epoch);
    return c->used && c->height == ack->chunk.height && c->epoch == ack->epoch &&
           memcmp(c->sequencer, ack->chunk.sequencer, 32) == 0;
}

/* An ack after its chunk's certificate: not verified. A repeat of one on
   an own chunk lets the signer emit the certificate again (the journal
   may have lost it). */
static void s_after_certificate(ob_verifier_t *self, const ob_ack_t *ack, const uint8_t peer[32],
                                ob_outbox_t *out)
{
    self->stats.acks_after_certificate++;
    if (memcmp(ack->chunk.sequencer, self->env.self_key, 32) != 0)
        return;
    uint8_t bytes[OB_ACK_LEN];
    size_t written = 0;
    ob_ack_encode(ack, bytes, sizeof bytes, &written);
    ob_imsg_t msg = {.type = OB_IMSG_ACK_LATE};
    memcpy(msg.u.ack_late.peer, peer, 32);
    msg.u.ack_late.ack = (ob_blob_t){bytes, (uint32_t)written};
    if (ob_outbox_to_actor(out, OB_ACTOR_SIGNER, &msg) == 0)
        self->stats.acks_late_forwarded++;
}

/* --- holding acks below quorum ----------------------------------------- */

static s_group_t *s_group_find(ob_verifier_t *self, const ob_chunk_t *chunk, uint64_t epoch)
{
    for (size_t i = 0; i < S_HOLD_GROUPS; i++) {
        s_group_t *g = &self->groups[i];
        if (g->used && g->epoch == epoch && g->chunk.height == chunk->height &&
            memcmp(g->chunk.sequencer, chunk->sequencer, 32) == 0 &&
            memcmp(g->chunk.payload, chunk->payload, 32) == 0)
            return g;
    }
    return NULL;
}

static bool s_group_passed(const s_group_t *g, uint16_t index)
{
    for (uint16_t i = 0; i < g->passed_count; i++)
        if (g->passed[i] == index)
            return true;
    return false;
}

static void s_group_count_passed(s_group_t *g, uint16_t index)
{
    /* Past the cap a validator is not counted: the group holds less
       eagerly then, never wrongly. */
    if (!s_group_passed(g, index) && g->passed_count < S_HOLD_PER_GROUP)
        g->passed[g->passed_count++] = index;
}

/* Verifies what the group holds: the good pass on, the bad are dropped. */
static void s_group_verify(ob_verifier_t *self, s_group_t *g, ob_outbox_t *out)
{
    for (uint16_t i = 0; i < g->held_count; i++)
        if (s_verify_ack(self, &g->held[i].ack, g->held[i].peer, out))
            s_group_count_passed(g, g->held[i].ack.index);
    g->held_count = 0;
}

/* The group of the ack's chunk, made if new; the oldest group is verified
   and reused when the table is full. */
static s_group_t *s_group(ob_verifier_t *self, const ob_ack_t *ack, uint64_t now, ob_outbox_t *out)
{
    s_group_t *g = s_group_find(self, &ack->chunk, ack->epoch);
    if (g)
        return g;
    s_group_t *oldest = NULL;
    for (size_t i = 0; i < S_HOLD_GROUPS && !g; i++) {
        s_group_t *c = &self->groups[i];
        if (!c->used)
            g = c;
        else if (!oldest || c->order < oldest->order)
            oldest = c;
    }
    if (!g) {
        g = oldest;
        if (g->held_count)
            self->stats.held_evicted++;
        s_group_verify(self, g, out);
    }
    memset(g, 0, sizeof *g);
    g->used = true;
    g->chunk = ack->chunk;
    g->epoch = ack->epoch;
    g->first = now;
    g->order = ++self->group_order;
    return g;
}

/* Validators counted already without a check here: this node's own ack,
   signed by its signer and never sent through the network (§3). */
static uint16_t s_own_counted(ob_verifier_t *self, const ob_keyset_t *validators, uint16_t index)
{
    uint16_t own;
    return ob_keyset_index_of(validators, self->env.self_key, &own) && own != index;
}

/* The shortest hold: the clock is in ms, and a quorum_reached takes a
   round trip through the signer. */
#define S_HOLD_MIN_MS 2

static uint64_t s_hold_ms(const ob_verifier_t *self)
{
    uint64_t ms = 2 * self->usual_ms;
    if (ms < S_HOLD_MIN_MS)
        ms = S_HOLD_MIN_MS;
    return ms < self->hold_max_ms ? ms : self->hold_max_ms;
}

static void s_on_peer_ack(ob_verifier_t *self, uint64_t now, const ob_imsg_peer_ack_t *in,
                          ob_outbox_t *out)
{
    ob_ack_t ack;
    ob_error_t rc = s_precheck_ack(self, in, &ack);
    if (rc != OB_OK) {
        s_drop(self, rc, in->peer, out);
        return;
    }
    if (s_is_certified(self, &ack)) {
        s_after_certificate(self, &ack, in->peer, out);
        return;
    }
    if (!self->hold_max_ms) {
        s_verify_ack(self, &ack, in->peer, out);
        return;
    }
    s_group_t *g = s_group(self, &ack, now, out);
    if (s_group_passed(g, ack.index)) {
        /* A repeat of one that passed: through the cache, and on to the
           signer, which emits a certificate again on repeats. */
        s_verify_ack(self, &ack, in->peer, out);
        return;
    }
    uint16_t at = 0;
    while (at < g->held_count && g->held[at].ack.index != ack.index)
        at++;
    if (at == S_HOLD_PER_GROUP) { /* full: what is held goes now */
        s_group_verify(self, g, out);
        at = 0;
    }
    if (at == g->held_count) {
        if (g->held_count == 0)
            g->since = now;
        g->held_count++;
        self->stats.acks_held++;
    }
    g->held[at].ack = ack; /* a repeat replaces the one held */
    memcpy(g->held[at].peer, in->peer, 32);

    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, ack.epoch);
    uint16_t counted = g->passed_count + s_own_counted(self, validators, ack.index);
    uint16_t q = ob_quorum(ob_keyset_size(validators));
    /* A quorum already passed: its certificate is on its way, and this
       one waits for the quorum_reached that drops it (or the hold time). */
    if (counted < q && g->held_count + counted >= q) {
        self->stats.held_at_quorum++;
        s_group_verify(self, g, out);
    }
}

/* The signer's own ack (trusted: the only one who sends ack_own, and the
   holder of the key), into the cache as if verified; only one of this
   node's key. */
static void s_on_ack_own(ob_verifier_t *self, const ob_imsg_ack_own_t *in)
{
    ob_ack_t ack;
    if (!self->cache || ob_ack_decode(&ack, in->ack.data, in->ack.len) != OB_OK)
        return;
    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, ack.epoch);
    const ob_pubkey_t *key = validators ? ob_keyset_key(validators, ack.index) : NULL;
    if (!key || memcmp(key->bytes, self->env.self_key, 32) != 0)
        return;
    uint8_t cache_key[32];
    s_cache_key(self, S_KIND_ACK, ack.epoch, &ack.chunk, ack.index, ack.signature, cache_key);
    memcpy(s_cache_slot(self, cache_key), cache_key, 32);
    self->stats.own_acks_cached++;
}

static void s_on_quorum_reached(ob_verifier_t *self, uint64_t now,
                                const ob_imsg_quorum_reached_t *in, ob_outbox_t *out)
{
    s_certified_t *c = s_certified_slot(self, in->sequencer, in->height, in->epoch);
    c->used = true;
    memcpy(c->sequencer, in->sequencer, 32);
    c->height = in->height;
    c->epoch = in->epoch;
    /* What is still held on it came before the certificate and is not
       needed for it: dropped unverified like the acks that come later. */
    for (size_t i = 0; i < S_HOLD_GROUPS; i++) {
        s_group_t *g = &self->groups[i];
        if (!g->used || g->epoch != in->epoch || g->chunk.height != in->height ||
            memcmp(g->chunk.sequencer, in->sequencer, 32) != 0)
            continue;
        for (uint16_t k = 0; k < g->held_count; k++)
            s_after_certificate(self, &g->held[k].ack, g->held[k].peer, out);
        /* The usual time from a chunk's first ack to its certificate:
           the hold time is twice it. */
        uint64_t took = now >= g->first ? now - g->first : 0;
        self->usual_ms = (7 * self->usual_ms + took + 4) / 8;
        g->used = false;
    }
}

void ob_verifier_tick(ob_verifier_t *self, uint64_t now, ob_outbox_t *out)
{
    uint64_t hold = s_hold_ms(self);
    for (size_t i = 0; i < S_HOLD_GROUPS; i++) {
        s_group_t *g = &self->groups[i];
        if (g->used && g->held_count && now >= g->since + hold) {
            self->stats.held_timeouts++;
            s_group_verify(self, g, out);
        }
    }
}

uint64_t ob_verifier_next_deadline(const ob_verifier_t *self)
{
    uint64_t next = UINT64_MAX, hold = s_hold_ms(self);
    for (size_t i = 0; i < S_HOLD_GROUPS; i++) {
        const s_group_t *g = &self->groups[i];
        if (g->used && g->held_count && g->since + hold < next)
            next = g->since + hold;
    }
    return next;
}

const ob_verifier_stats_t *ob_verifier_stats(const ob_verifier_t *self)
{
    ((ob_verifier_t *)self)->stats.hold_ms = self->hold_max_ms ? s_hold_ms(self) : 0;
    return &self->stats;
}

void ob_verifier_handle(ob_verifier_t *self, uint64_t now_ms, ob_party_t from, const ob_imsg_t *msg,
                        ob_outbox_t *out)
{
    ob_verifier_input_t in;
    if (ob_verifier_input(msg->type, from, &in) != 0) {
        /* Not the verifier's, or not from that sender (proto/imsg.csv). */
        s_drop(self, OB_ERR_UNKNOWN_TYPE, NULL, out);
        ob_warn("verifier: dropped %s from %s", ob_imsg_name(msg->type), ob_party_name(from));
        return;
    }
    switch (in) {
    case OB_VERIFIER_IN_PEER_NODE:
        s_on_peer_node(self, &msg->u.peer_node, out);
        return;
    case OB_VERIFIER_IN_PEER_ACK:
        s_on_peer_ack(self, now_ms, &msg->u.peer_ack, out);
        return;
    case OB_VERIFIER_IN_QUORUM_REACHED:
        s_on_quorum_reached(self, now_ms, &msg->u.quorum_reached, out);
        return;
    case OB_VERIFIER_IN_ACK_OWN:
        s_on_ack_own(self, &msg->u.ack_own);
        return;
    case OB_VERIFIER_IN_QUORUM_RESET:
        /* A new signer holds no certificate: every late ack counts again
           until it says otherwise. */
        memset(self->certified, 0, S_CERTIFIED * sizeof *self->certified);
        return;
    case OB_VERIFIER_IN_EPOCH_CHANGED:
        if (!ob_epochs_known(self->env.epochs, msg->u.epoch_changed.epoch))
            return; /* not in the manifest: the journal never sends one */
        if (!self->epoch_known || msg->u.epoch_changed.epoch > self->epoch) {
            self->epoch = msg->u.epoch_changed.epoch;
            self->epoch_known = true;
        }
        return;
    case OB_VERIFIER_IN_TIP_CHANGED:
        return; /* the verifier needs no tips */
    case OB_VERIFIER_IN_PEER_FETCHED:
        s_on_peer_fetched(self, &msg->u.peer_fetched, out);
        return;
    }
}

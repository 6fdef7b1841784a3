#include "verifier.h"

#include "cert.h"
#include "log.h"
#include "verify.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct _ob_verifier_t {
    ob_node_env_t env;
    ob_crypto_t *crypto;
    bool epoch_known; /* nothing passes until the journal says which epoch is current */
    uint64_t epoch;
    uint8_t (*cache)[32]; /* direct-mapped: digest of (epoch, chunk, index, signature) */
    uint32_t cache_entries;
    uint16_t owner; /* in the arena */
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
    if (!self->crypto || (cache_entries && !self->cache)) {
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
    free(self);
    *self_p = NULL;
}

const ob_verifier_stats_t *ob_verifier_stats(const ob_verifier_t *self)
{
    return &self->stats;
}

uint16_t ob_verifier_arena_owner(uint32_t instance)
{
    /* Above every actor id, below nothing the arena reserves. */
    return instance == 0 ? OB_ACTOR_VERIFIER : (uint16_t)(32 + instance);
}

void ob_verifier_set_instance(ob_verifier_t *self, uint32_t instance)
{
    self->owner = ob_verifier_arena_owner(instance);
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

static ob_error_t s_check_node(ob_verifier_t *self, const ob_imsg_peer_node_t *in, ob_node_t *node)
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
                        node->signature))
        return OB_ERR_BAD_SIGNATURE;
    if (node->has_parent && (rc = s_parent_ok(self, node)) != OB_OK)
        return rc;
    /* The bytes themselves, at the point of use: the handle's digest must
       be the chunk's, and the arena's bytes must still hash to it. */
    if (memcmp(in->payload.digest, node->chunk.payload, 32) != 0 ||
        in->payload.len > self->env.params.max_payload)
        return OB_ERR_PAYLOAD_MISMATCH;
    if (ob_arena_check(self->env.arena, self->crypto, &in->payload) != 0)
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
    ob_error_t rc = s_check_node(self, in, &node);
    if (rc != OB_OK) {
        ob_arena_release(self->env.arena, &in->payload, self->owner);
        s_drop(self, rc, in->peer, out);
        return;
    }
    self->stats.nodes_passed++;
    ob_imsg_t msg = {.type = OB_IMSG_NODE_VERIFIED};
    msg.u.node_verified.node = in->node;
    msg.u.node_verified.payload = in->payload;
    if (ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg) != 0)
        ob_arena_release(self->env.arena, &in->payload, self->owner);
}

static ob_error_t s_check_ack(ob_verifier_t *self, const ob_imsg_peer_ack_t *in, ob_ack_t *ack)
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
    if (!s_ack_signature_ok(self, validators, &ack->chunk, ack->epoch, ack->index, ack->signature))
        return OB_ERR_BAD_SIGNATURE;
    return OB_OK;
}

static void s_on_peer_ack(ob_verifier_t *self, const ob_imsg_peer_ack_t *in, ob_outbox_t *out)
{
    ob_ack_t ack;
    ob_error_t rc = s_check_ack(self, in, &ack);
    if (rc != OB_OK) {
        s_drop(self, rc, in->peer, out);
        return;
    }
    self->stats.acks_passed++;
    ob_imsg_t msg = {.type = OB_IMSG_ACK_VERIFIED};
    msg.u.ack_verified.ack = in->ack;
    ob_outbox_to_actor(out, OB_ACTOR_SIGNER, &msg);
}

void ob_verifier_handle(ob_verifier_t *self, const ob_imsg_t *msg, ob_outbox_t *out)
{
    switch (msg->type) {
    case OB_IMSG_PEER_NODE:
        s_on_peer_node(self, &msg->u.peer_node, out);
        return;
    case OB_IMSG_PEER_ACK:
        s_on_peer_ack(self, &msg->u.peer_ack, out);
        return;
    case OB_IMSG_EPOCH_CHANGED:
        if (!ob_epochs_known(self->env.epochs, msg->u.epoch_changed.epoch))
            return; /* not in the manifest: the journal never sends one */
        if (!self->epoch_known || msg->u.epoch_changed.epoch > self->epoch) {
            self->epoch = msg->u.epoch_changed.epoch;
            self->epoch_known = true;
        }
        return;
    case OB_IMSG_TIP_CHANGED:
        return; /* the verifier needs no tips */
    case OB_IMSG_NODE_VERIFIED:
    case OB_IMSG_ACK_VERIFIED:
    case OB_IMSG_DROPPED:
    case OB_IMSG_STATE_REQUEST:
    case OB_IMSG_APP_PROPOSE:
    case OB_IMSG_APP_VERIFY:
    case OB_IMSG_REPORT_TIP:
    case OB_IMSG_REPORT_LOCK:
    case OB_IMSG_REPORT_EVIDENCE:
    case OB_IMSG_BROADCAST_NODE:
    case OB_IMSG_APP_PAYLOAD:
    case OB_IMSG_APP_VERDICT:
    case OB_IMSG_LOCK_DELIVERED:
    case OB_IMSG_LOCK_QUERY:
    case OB_IMSG_APP_ATTACHED:
    case OB_IMSG_SIGN_NODE:
    case OB_IMSG_SIGN_ACK:
    case OB_IMSG_LAST_SIGNED_REQUEST:
    case OB_IMSG_NODE_SIGNED:
    case OB_IMSG_SIGN_REFUSED:
    case OB_IMSG_LAST_SIGNED:
    case OB_IMSG_CERTIFIED:
    case OB_IMSG_ACK_SEEN:
    case OB_IMSG_SEND_NODE:
    case OB_IMSG_SET_EPOCH:
    case OB_IMSG_SEND_ACK:
    /* outside the node: net's application and submit sockets only */
    case OB_IMSG_APP_ATTACH:
    case OB_IMSG_APP_ASK_PAYLOAD:
    case OB_IMSG_APP_GIVE_PAYLOAD:
    case OB_IMSG_APP_ASK_VERDICT:
    case OB_IMSG_APP_GIVE_VERDICT:
    case OB_IMSG_APP_TIP:
    case OB_IMSG_APP_LOCK:
    case OB_IMSG_APP_LOCK_RECEIVED:
    case OB_IMSG_APP_EVIDENCE:
    case OB_IMSG_SUBMIT:
    case OB_IMSG_SUBMIT_QUEUED:
    case OB_IMSG_SUBMIT_REFUSED:
    case OB_IMSG_SUBMIT_ASSIGNED:
    case OB_IMSG_SUBMIT_LOCKED:
    case OB_IMSG_SUBMITTED:
    case OB_IMSG_CLIENT_FOLLOW:
    case OB_IMSG_CLIENT_ANSWER:
    case OB_IMSG_SUBMIT_FOLLOW:
        break;
    }
    ob_warn("verifier: ignoring message %s", ob_imsg_name(msg->type));
}

#include "net.h"

#include "log.h"
#include "metrics.h"
#include "submit.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Payload slots referred to by the outbox, freed once it is sent. Bounded
   by the outbox: a batch refers to at most this many. */
#define S_MAX_HELD 1024
/* Submitted payloads followed to their Lock, unless configured. */
#define S_TRACK_DEFAULT 1024
/* Own chunks that no payload of this net explains (a net before a restart
   handed them), remembered this many at most, for this many heights. */
#define S_UNCLAIMED         8
#define S_UNCLAIMED_HEIGHTS 64

/* A payload waiting in the submit queue, with the client to tell. */
typedef struct {
    uint8_t *data;
    size_t len;
    bool has_client;
    ob_client_id_t client;
    uint64_t tag;
} s_submission_t;

/* A submitted payload handed to the journal at `height`: the client hears
   when this node's chunk there carries `digest`, and when it locks. */
typedef struct {
    bool used;
    bool assigned; /* submit_assigned sent */
    uint64_t seq;  /* insertion order: the oldest goes first when full */
    ob_client_id_t client;
    uint64_t tag;
    uint64_t height;
    uint8_t digest[32];
} s_tracked_t;

/* An own chunk below anything this net handed, that no followed payload
   claims: the previous net (before a restart) handed it, and its client,
   which may not have heard "assigned", will submit it again. */
typedef struct {
    bool used;
    uint64_t height;
    uint8_t digest[32];
} s_unclaimed_t;

struct _ob_net_t {
    ob_node_env_t env;
    ob_crypto_t *crypto;
    bool epoch_known;
    uint64_t epoch;

    /* the application: the built-in one, or an external one, attached
       (bound to the credentials of its connection) or not */
    ob_net_application_t application;
    bool app_attached;
    char app_who[OB_NET_WHO_MAX];
    bool refused_logged;  /* "refused under builtin", once */
    bool app_clock;       /* app_seen_ms is a time of the shell's clock */
    uint64_t app_seen_ms; /* its last app_attach */

    s_submission_t *queue; /* ring of submitted payloads */
    uint32_t queue_max, queue_head, queue_count;
    /* The journal asked for a payload and nobody has handed one yet. */
    bool propose_pending;
    uint64_t propose_epoch, propose_height;
    /* The built-in application's last payload handed to the journal, kept
       until this node's chunk at its height shows it (or shows that it is
       lost): a proposal lost in a crash is served again. */
    bool has_handed;
    s_submission_t handed;
    uint64_t handed_height;
    uint8_t handed_digest[32];

    s_tracked_t *tracked;
    uint32_t track_max, track_count;
    uint64_t track_seq;

    /* the lowest height this net handed a payload for, and the highest of
       its own chain seen */
    bool has_passed;
    uint64_t lowest_passed;
    bool has_own_top;
    uint64_t own_top;
    s_unclaimed_t unclaimed[S_UNCLAIMED];
    uint32_t unclaimed_count, unclaimed_next;

    /* payload bytes copied out of the arena for app_ask_verdict */
    uint8_t *scratch;
    size_t scratch_cap;

    ob_handle_t held[S_MAX_HELD];
    ob_net_release_fn *release; /* how a held slot goes back; NULL: to the arena */
    void *release_ctx;
    size_t held_count;
    ob_net_stats_t stats;
};

ob_net_t *ob_net_new(const ob_net_config_t *config, ob_why_t *why)
{
    ob_net_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_why(why, "net: out of memory");
        return NULL;
    }
    self->env = config->env;
    self->application = config->application;
    if (config->app_attached) {
        if (config->application != OB_NET_APP_EXTERNAL || !config->app_who ||
            strlen(config->app_who) >= sizeof self->app_who) {
            free(self);
            ob_why(why, "net: only an external application, with credentials, is attached");
            return NULL;
        }
        self->app_attached = true;
        snprintf(self->app_who, sizeof self->app_who, "%s", config->app_who);
    }
    self->queue_max = config->submit_queue_max ? config->submit_queue_max : 1;
    self->track_max = config->submit_track_max ? config->submit_track_max : S_TRACK_DEFAULT;
    self->crypto = ob_crypto_new();
    self->queue = calloc(self->queue_max, sizeof *self->queue);
    self->tracked = calloc(self->track_max, sizeof *self->tracked);
    if (!self->crypto || !self->queue || !self->tracked) {
        ob_why(why, "net: out of memory or entropy");
        ob_net_destroy(&self);
    }
    return self;
}

void ob_net_destroy(ob_net_t **self_p)
{
    assert(self_p);
    ob_net_t *self = *self_p;
    if (!self)
        return;
    if (self->queue)
        for (uint32_t i = 0; i < self->queue_count; i++)
            free(self->queue[(self->queue_head + i) % self->queue_max].data);
    free(self->queue);
    free(self->handed.data);
    free(self->tracked);
    free(self->scratch);
    ob_crypto_destroy(&self->crypto);
    free(self);
    *self_p = NULL;
}

const ob_net_stats_t *ob_net_stats(const ob_net_t *self)
{
    return &self->stats;
}

void ob_net_start(ob_net_t *self, ob_outbox_t *out)
{
    ob_outbox_state_request(out, OB_ACTOR_NET);
    (void)self;
}

static void s_drop(ob_net_t *self, ob_error_t why, const uint8_t peer[32], ob_outbox_t *out)
{
    self->stats.dropped[why]++;
    ob_outbox_dropped(out, OB_ACTOR_NET, why, peer);
}

/* Keeps a slot until the outbox that refers to it has been sent. */
static void s_hold(ob_net_t *self, const ob_handle_t *handle)
{
    if (self->held_count == S_MAX_HELD) {
        /* Cannot track it: better to free now than to leak the slot. */
        ob_arena_release(self->env.arena, handle, OB_ACTOR_NET);
        return;
    }
    self->held[self->held_count++] = *handle;
}

void ob_net_flushed(ob_net_t *self)
{
    for (size_t i = 0; i < self->held_count; i++) {
        if (self->release)
            self->release(self->release_ctx, &self->held[i]);
        else
            ob_arena_release(self->env.arena, &self->held[i], OB_ACTOR_NET);
    }
    self->held_count = 0;
}

void ob_net_set_release(ob_net_t *self, ob_net_release_fn *release, void *ctx)
{
    self->release = release;
    self->release_ctx = ctx;
}

/* --- from peers -------------------------------------------------------- */

void ob_net_on_peer(ob_net_t *self, const uint8_t peer[32], const ob_frame_t *frames,
                    size_t frame_count, ob_outbox_t *out)
{
    /* The decoder the fuzzer runs (proto/wire.c): the verifier decodes
       the body again for its checks, from the bytes passed on. */
    /* First what no message between actors could carry, unread. */
    if (frame_count > 0 && frames[0].len > 2 + (size_t)OB_IMSG_BLOB_MAX) {
        s_drop(self, OB_ERR_TOO_LARGE, peer, out);
        return;
    }
    ob_peer_msg_t decoded;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(self->env.epochs);
    ob_error_t rc =
        ob_peer_msg_decode(&decoded, frames, frame_count, &lookup, self->env.params.max_payload);
    if (rc != OB_OK) {
        s_drop(self, rc, peer, out);
        return;
    }
    ob_blob_t body = {frames[0].data + 2, (uint32_t)(frames[0].len - 2)};
    ob_imsg_t msg;
    if (decoded.type == OB_PEER_TYPE_ACK) {
        self->stats.peer_acks_in++;
        msg.type = OB_IMSG_PEER_ACK;
        memcpy(msg.u.peer_ack.peer, peer, 32);
        msg.u.peer_ack.ack = body;
        if (memcmp(decoded.u.ack.chunk.sequencer, self->env.self_key, 32) == 0)
            ob_stage(OB_STAGE_ACK_RECEIVED, decoded.u.ack.chunk.sequencer,
                     decoded.u.ack.chunk.height);
        /* By chunk: its acks meet in one verifier instance, which can
           hold them until a quorum is pending (SPEC §3). */
        ob_outbox_to_verifier(
            out, ob_outbox_route(decoded.u.ack.chunk.sequencer, decoded.u.ack.chunk.height), &msg);
        return;
    }
    const ob_frame_t *payload = &decoded.u.node.payload;
    self->stats.peer_nodes_in++;
    msg.type = OB_IMSG_PEER_NODE;
    memcpy(msg.u.peer_node.peer, peer, 32);
    msg.u.peer_node.node = body;
    /* A full arena refuses rather than overwrites; the sequencer will
       rebroadcast, and the shell stops reading while it is full. */
    if (ob_arena_put(self->env.arena, self->crypto, OB_ACTOR_NET, payload->data,
                     (uint32_t)payload->len, &msg.u.peer_node.payload) != 0) {
        self->stats.arena_full++;
        return;
    }
    const ob_chunk_t *chunk = &decoded.u.node.node.chunk;
    ob_stage(OB_STAGE_RECEIVED, chunk->sequencer, chunk->height);
    if (ob_outbox_to_verifier(out, ob_outbox_route(chunk->sequencer, chunk->height), &msg) != 0)
        ob_arena_release(self->env.arena, &msg.u.peer_node.payload, OB_ACTOR_NET);
}

/* --- to peers ---------------------------------------------------------- */

static void s_send_frame(ob_net_t *self, const uint8_t peer[32], const uint8_t *frame, size_t len,
                         const ob_handle_t *payload, ob_outbox_t *out)
{
    if (memcmp(peer, self->env.self_key, 32) == 0)
        return; /* never through the network to itself (§3) */
    if (ob_outbox_to_peer(out, peer, frame, len, payload) == 0)
        self->stats.peer_out++;
}

/* The first frame of a peer Node message, by the encoder of proto/wire.c;
   NULL (and nothing sent) for a node that does not decode: the journal
   and signer made it, so that is a bug elsewhere, logged. The caller
   frees it. */
static uint8_t *s_node_frame(ob_net_t *self, const ob_blob_t *bytes, size_t *len)
{
    ob_node_t node;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(self->env.epochs);
    ob_error_t rc = ob_node_decode(&node, bytes->data, bytes->len, &lookup);
    if (rc != OB_OK) {
        ob_warn("net: a node to send does not decode (%s): not sent", ob_error_name(rc));
        return NULL;
    }
    size_t cap = 2 + ob_node_encoded_len(&node);
    uint8_t *frame = malloc(cap);
    if (frame && ob_peer_node_frame_encode(&node, frame, cap, len) != 0) {
        free(frame);
        frame = NULL;
    }
    return frame;
}

static void s_on_broadcast(ob_net_t *self, const ob_imsg_broadcast_node_t *in, ob_outbox_t *out)
{
    if (ob_arena_take(self->env.arena, &in->payload, OB_ACTOR_NET) != 0)
        return;
    s_hold(self, &in->payload);
    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, in->epoch);
    if (!validators)
        return;
    size_t len = 0;
    uint8_t *frame = s_node_frame(self, &in->node, &len);
    if (!frame)
        return;
    for (uint16_t i = 0; i < ob_keyset_size(validators); i++)
        s_send_frame(self, ob_keyset_key(validators, i)->bytes, frame, len, &in->payload, out);
    ob_chunk_t sent;
    if (ob_chunk_decode(&sent, frame + 2, OB_CHUNK_LEN) == OB_OK)
        ob_stage(OB_STAGE_SENT, sent.sequencer, sent.height);
    free(frame);
}

static void s_on_send_node(ob_net_t *self, const ob_imsg_send_node_t *in, ob_outbox_t *out)
{
    if (ob_arena_take(self->env.arena, &in->payload, OB_ACTOR_NET) != 0)
        return;
    s_hold(self, &in->payload);
    size_t len = 0;
    uint8_t *frame = s_node_frame(self, &in->node, &len);
    if (!frame)
        return;
    s_send_frame(self, in->peer, frame, len, &in->payload, out);
    free(frame);
}

static void s_on_send_ack(ob_net_t *self, const ob_imsg_send_ack_t *in, ob_outbox_t *out)
{
    ob_ack_t ack;
    if (ob_ack_decode(&ack, in->ack.data, in->ack.len) != OB_OK)
        return;
    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, ack.epoch);
    if (!validators)
        return;
    uint8_t frame[2 + OB_ACK_LEN];
    size_t written = 0;
    if (ob_peer_ack_frame_encode(&ack, frame, sizeof frame, &written) != 0)
        return;
    /* Every validator of the ack's epoch, and the sequencer. */
    bool sequencer_is_validator = ob_keyset_contains(validators, ack.chunk.sequencer);
    for (uint16_t i = 0; i < ob_keyset_size(validators); i++)
        s_send_frame(self, ob_keyset_key(validators, i)->bytes, frame, written, NULL, out);
    if (!sequencer_is_validator)
        s_send_frame(self, ack.chunk.sequencer, frame, written, NULL, out);
}

/* --- the application: handing payloads to the journal ------------------- */

/* Puts `data` in the arena for the journal as the payload at `height`; the
   digest goes to `digest` (may be NULL). */
static int s_pass_payload(ob_net_t *self, uint64_t height, const uint8_t *data, size_t len,
                          uint8_t *digest, ob_outbox_t *out)
{
    if (len > self->env.params.max_payload)
        return -1;
    ob_imsg_t msg = {.type = OB_IMSG_APP_PAYLOAD};
    msg.u.app_payload.height = height;
    if (ob_arena_put(self->env.arena, self->crypto, OB_ACTOR_NET, data, (uint32_t)len,
                     &msg.u.app_payload.payload) != 0) {
        self->stats.arena_full++;
        return -1;
    }
    if (ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg) != 0) {
        ob_arena_release(self->env.arena, &msg.u.app_payload.payload, OB_ACTOR_NET);
        return -1;
    }
    if (digest)
        memcpy(digest, msg.u.app_payload.payload.digest, 32);
    if (!self->has_passed || height < self->lowest_passed)
        self->lowest_passed = height;
    self->has_passed = true;
    self->stats.proposals_answered++;
    return 0;
}

/* --- following submitted payloads to their Lock ----------------------- */

static void s_track_remove(ob_net_t *self, s_tracked_t *entry)
{
    entry->used = false;
    self->track_count--;
}

static bool s_same_client(const ob_client_id_t *a, const ob_client_id_t *b)
{
    return a->len == b->len && memcmp(a->id, b->id, a->len) == 0;
}

/* The followed entry of (client, tag), if any. */
static s_tracked_t *s_tracked_find(ob_net_t *self, const ob_client_id_t *client, uint64_t tag)
{
    if (self->track_count == 0)
        return NULL;
    for (uint32_t i = 0; i < self->track_max; i++) {
        s_tracked_t *e = &self->tracked[i];
        if (e->used && e->tag == tag && s_same_client(&e->client, client))
            return e;
    }
    return NULL;
}

static s_tracked_t *s_track(ob_net_t *self, const ob_client_id_t *client, uint64_t tag,
                            uint64_t height, const uint8_t digest[32])
{
    s_tracked_t *slot = NULL, *oldest = NULL;
    for (uint32_t i = 0; i < self->track_max && !slot; i++) {
        s_tracked_t *e = &self->tracked[i];
        if (!e->used)
            slot = e;
        else if (!oldest || e->seq < oldest->seq)
            oldest = e;
    }
    if (!slot) {
        /* Full: the oldest is forgotten; its client asks again (submit_follow)
           or waits in vain. */
        slot = oldest;
        s_track_remove(self, slot);
        self->stats.track_evicted++;
    }
    *slot = (s_tracked_t){
        .used = true, .seq = self->track_seq++, .client = *client, .tag = tag, .height = height};
    memcpy(slot->digest, digest, 32);
    self->track_count++;
    return slot;
}

static void s_send_assigned(ob_net_t *self, s_tracked_t *e, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_SUBMIT_ASSIGNED};
    msg.u.submit_assigned.tag = e->tag;
    memcpy(msg.u.submit_assigned.sequencer, self->env.self_key, 32);
    msg.u.submit_assigned.height = e->height;
    memcpy(msg.u.submit_assigned.payload, e->digest, 32);
    if (ob_outbox_to_client(out, &e->client, &msg) == 0) {
        e->assigned = true;
        self->stats.submit_assigned++;
    }
}

/* --- own chunks a restart left unclaimed -------------------------------- */

static void s_unclaimed_remove(ob_net_t *self, s_unclaimed_t *u)
{
    u->used = false;
    self->unclaimed_count--;
}

/* Remembers an own chunk that nothing here explains: none of this net's
   followed payloads claims it, and it is below every height this net
   handed a payload for (or net has handed none yet), so a net before a
   restart proposed it. An external application's chunks are its own. */
static void s_unclaimed_note(ob_net_t *self, const ob_chunk_t *chunk, bool claimed)
{
    if (!self->has_own_top || chunk->height > self->own_top)
        self->own_top = chunk->height;
    self->has_own_top = true;
    s_unclaimed_t *same = NULL;
    for (uint32_t i = 0; i < S_UNCLAIMED; i++) {
        s_unclaimed_t *u = &self->unclaimed[i];
        if (!u->used)
            continue;
        if (u->height + S_UNCLAIMED_HEIGHTS < self->own_top)
            s_unclaimed_remove(self, u); /* too old to be waited for still */
        else if (u->height == chunk->height && memcmp(u->digest, chunk->payload, 32) == 0)
            same = u;
    }
    if (same || claimed || self->application == OB_NET_APP_EXTERNAL ||
        (self->has_passed && chunk->height >= self->lowest_passed) ||
        chunk->height + S_UNCLAIMED_HEIGHTS < self->own_top)
        return;
    s_unclaimed_t *slot = &self->unclaimed[self->unclaimed_next];
    self->unclaimed_next = (self->unclaimed_next + 1) % S_UNCLAIMED;
    if (slot->used)
        s_unclaimed_remove(self, slot);
    *slot = (s_unclaimed_t){.used = true, .height = chunk->height};
    memcpy(slot->digest, chunk->payload, 32);
    self->unclaimed_count++;
}

/* --- the handed payload ------------------------------------------------ */

static void s_handed_forget(ob_net_t *self, bool lost)
{
    if (!self->has_handed)
        return;
    free(self->handed.data);
    self->handed.data = NULL;
    self->has_handed = false;
    if (lost)
        self->stats.handed_lost++;
}

/* Its height went to another payload: it goes back to the front of the
   queue, to be proposed again (dropped only if the queue is full). */
static void s_handed_requeue(ob_net_t *self)
{
    if (self->queue_count == self->queue_max) {
        s_handed_forget(self, true);
        return;
    }
    self->queue_head = (self->queue_head + self->queue_max - 1) % self->queue_max;
    self->queue[self->queue_head] = self->handed;
    self->queue_count++;
    self->handed.data = NULL;
    self->has_handed = false;
    self->stats.requeued++;
}

/* The built-in application proposes at `height`: the handed payload again
   if the journal asks for its height once more (the proposal was lost),
   else the oldest submitted payload; nothing while the queue is empty. */
static void s_default_propose(ob_net_t *self, uint64_t height, ob_outbox_t *out)
{
    if (self->has_handed) {
        if (self->handed_height == height) {
            if (s_pass_payload(self, height, self->handed.data, self->handed.len, NULL, out) == 0) {
                self->stats.reserved++;
                self->propose_pending = false;
            }
            return;
        }
        if (height > self->handed_height)
            s_handed_forget(self, true); /* its height passed without it being seen */
        else
            s_handed_requeue(self); /* the journal went back: serve it again */
    }
    if (self->queue_count == 0)
        return; /* propose_pending stays: the next submit answers */
    s_submission_t *next = &self->queue[self->queue_head];
    uint8_t digest[32];
    if (s_pass_payload(self, height, next->data, next->len, digest, out) != 0)
        return; /* try again when the journal re-asks */
    self->handed = *next;
    next->data = NULL;
    self->has_handed = true;
    self->handed_height = height;
    memcpy(self->handed_digest, digest, 32);
    self->queue_head = (self->queue_head + 1) % self->queue_max;
    self->queue_count--;
    self->propose_pending = false;
    if (self->handed.has_client)
        s_track(self, &self->handed.client, self->handed.tag, height, digest);
}

/* The built-in application answers a proposal it owes, if it can. */
static void s_serve_pending(ob_net_t *self, ob_outbox_t *out)
{
    if (self->propose_pending && self->application == OB_NET_APP_BUILTIN)
        s_default_propose(self, self->propose_height, out);
}

/* This node's own chunk is `chunk` (signed and sent, a Tip, or a Lock):
   the handed payload and the followed ones at its height learn their
   fate; one nothing here explains is remembered (s_unclaimed_note). */
static void s_own_chunk_seen(ob_net_t *self, const ob_chunk_t *chunk, ob_outbox_t *out)
{
    if (memcmp(chunk->sequencer, self->env.self_key, 32) != 0)
        return;
    bool claimed = false;
    for (uint32_t i = 0; i < self->track_max && self->track_count > 0 && !claimed; i++) {
        const s_tracked_t *e = &self->tracked[i];
        claimed =
            e->used && e->height == chunk->height && memcmp(e->digest, chunk->payload, 32) == 0;
    }
    s_unclaimed_note(self, chunk, claimed);
    if (self->has_handed) {
        if (chunk->height == self->handed_height) {
            if (memcmp(chunk->payload, self->handed_digest, 32) == 0)
                s_handed_forget(self, false);
            else {
                s_handed_requeue(self);
                s_serve_pending(self, out);
            }
        } else if (chunk->height > self->handed_height) {
            s_handed_forget(self, true);
        }
    }
    if (self->track_count == 0)
        return;
    for (uint32_t i = 0; i < self->track_max; i++) {
        s_tracked_t *e = &self->tracked[i];
        if (!e->used || e->height != chunk->height)
            continue;
        if (memcmp(e->digest, chunk->payload, 32) != 0) {
            s_track_remove(self, e); /* its height carries another payload */
            self->stats.track_lost++;
        } else if (!e->assigned) {
            s_send_assigned(self, e, out);
        }
    }
}

/* A Lock on this node's own chunk: its clients get it, and are forgotten. */
static void s_own_lock(ob_net_t *self, const ob_lock_t *lock, const ob_blob_t *bytes,
                       ob_outbox_t *out)
{
    s_own_chunk_seen(self, &lock->chunk, out);
    if (self->track_count == 0 || memcmp(lock->chunk.sequencer, self->env.self_key, 32) != 0)
        return;
    for (uint32_t i = 0; i < self->track_max; i++) {
        s_tracked_t *e = &self->tracked[i];
        if (!e->used || e->height != lock->chunk.height ||
            memcmp(e->digest, lock->chunk.payload, 32) != 0)
            continue;
        ob_imsg_t msg = {.type = OB_IMSG_SUBMIT_LOCKED};
        msg.u.submit_locked.tag = e->tag;
        msg.u.submit_locked.lock = *bytes;
        if (ob_outbox_to_client(out, &e->client, &msg) == 0)
            self->stats.submit_locked++;
        s_track_remove(self, e);
    }
}

/* --- the journal's requests, for whichever application speaks --------- */

static void s_ask_payload(ob_net_t *self, ob_outbox_t *out)
{
    ob_imsg_t ask = {.type = OB_IMSG_APP_ASK_PAYLOAD};
    ask.u.app_ask_payload.epoch = self->propose_epoch;
    ask.u.app_ask_payload.height = self->propose_height;
    ob_outbox_to_app(out, &ask);
}

static void s_on_app_propose(ob_net_t *self, const ob_imsg_app_propose_t *in, ob_outbox_t *out)
{
    self->propose_pending = true;
    self->propose_epoch = in->epoch;
    self->propose_height = in->height;
    if (self->application == OB_NET_APP_BUILTIN)
        s_default_propose(self, in->height, out);
    else if (self->app_attached)
        s_ask_payload(self, out);
    /* else: an external application that is not attached proposes nothing;
       the one that attaches is asked (s_attach) */
}

void ob_net_app_verdict(ob_net_t *self, const ob_chunk_t *chunk, bool valid, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_APP_VERDICT};
    msg.u.app_verdict.chunk = *chunk;
    msg.u.app_verdict.valid = valid;
    ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg);
    (void)self;
}

/* The attached application gets the bytes themselves: it maps no arena.
   They are copied out first and the copy hashed, so what it is asked
   about is what the digest names; a stale or changed slot means no ask
   (the sequencer's rebroadcast brings the node back). */
static void s_ask_verdict(ob_net_t *self, const ob_imsg_app_verify_t *in, ob_outbox_t *out)
{
    const uint8_t *bytes = ob_arena_get(self->env.arena, &in->payload);
    size_t len = in->payload.len;
    if (!bytes) {
        self->stats.app_asks_stale++;
        return;
    }
    if (len > self->scratch_cap) {
        uint8_t *grown = realloc(self->scratch, len);
        if (!grown)
            return;
        self->scratch = grown;
        self->scratch_cap = len;
    }
    if (len)
        memcpy(self->scratch, bytes, len);
    uint8_t digest[32];
    ob_sha256(self->crypto, self->scratch, len, digest);
    if (memcmp(digest, in->payload.digest, 32) != 0) {
        self->stats.app_asks_stale++;
        return;
    }
    if (memcmp(digest, in->chunk.payload, 32) != 0) {
        ob_net_app_verdict(self, &in->chunk, false, out); /* not the chunk's payload */
        return;
    }
    ob_imsg_t ask = {.type = OB_IMSG_APP_ASK_VERDICT};
    ask.u.app_ask_verdict.chunk = in->chunk;
    ask.u.app_ask_verdict.data = (ob_blob_t){self->scratch, (uint32_t)len};
    ob_outbox_to_app(out, &ask);
}

static void s_on_app_verify(ob_net_t *self, const ob_imsg_t *msg, ob_outbox_t *out)
{
    const ob_imsg_app_verify_t *in = &msg->u.app_verify;
    if (ob_arena_take(self->env.arena, &in->payload, OB_ACTOR_NET) != 0)
        return; /* stale: the sequencer's rebroadcast brings it back */
    s_hold(self, &in->payload);
    if (self->application == OB_NET_APP_EXTERNAL) {
        /* Absent, it gives no verdict: its absence never overrules it
           (SPEC §5). The journal asks again once one attaches. */
        if (self->app_attached)
            s_ask_verdict(self, in, out);
        else
            self->stats.app_verdicts_owed++;
        return;
    }
    /* The built-in application: valid iff the bytes hash to the digest. */
    bool valid = memcmp(in->payload.digest, in->chunk.payload, 32) == 0 &&
                 ob_arena_check(self->env.arena, self->crypto, &in->payload) == 0;
    ob_net_app_verdict(self, &in->chunk, valid, out);
}

void ob_net_lock_delivered(ob_net_t *self, const ob_chunk_t *chunk, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_LOCK_DELIVERED};
    msg.u.lock_delivered.chunk = *chunk;
    ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg);
    (void)self;
}

static void s_on_report_tip(ob_net_t *self, const ob_imsg_report_tip_t *in, ob_outbox_t *out)
{
    self->stats.reports_tip++;
    if (self->app_attached) {
        ob_imsg_t tip = {.type = OB_IMSG_APP_TIP};
        tip.u.app_tip.chunk = in->chunk;
        ob_outbox_to_app(out, &tip);
    }
    s_own_chunk_seen(self, &in->chunk, out);
}

static void s_on_report_lock(ob_net_t *self, const ob_imsg_report_lock_t *in, ob_outbox_t *out)
{
    self->stats.reports_lock++;
    ob_lock_t lock;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(self->env.epochs);
    bool decoded = ob_lock_decode(&lock, in->lock.data, in->lock.len, &lookup) == OB_OK;
    if (self->application == OB_NET_APP_EXTERNAL) {
        /* Delivered once it confirms; the journal redelivers till then. */
        if (self->app_attached) {
            ob_imsg_t report = {.type = OB_IMSG_APP_LOCK};
            report.u.app_lock.lock = in->lock;
            ob_outbox_to_app(out, &report);
        }
    } else if (decoded) {
        /* The built-in application has nobody to confirm for it: a Lock is
           delivered once net has it. */
        ob_net_lock_delivered(self, &lock.chunk, out);
    }
    if (decoded)
        s_own_lock(self, &lock, &in->lock, out);
}

static void s_on_report_evidence(ob_net_t *self, const ob_imsg_report_evidence_t *in,
                                 ob_outbox_t *out)
{
    self->stats.reports_evidence++;
    if (!self->app_attached)
        return;
    ob_imsg_t report = {.type = OB_IMSG_APP_EVIDENCE};
    report.u.app_evidence.kind = in->kind;
    report.u.app_evidence.first = in->first;
    report.u.app_evidence.second = in->second;
    ob_outbox_to_app(out, &report);
}

/* A node the journal sends for this node as sequencer: its own chunk at
   that height is signed and goes out. */
static void s_on_own_broadcast(ob_net_t *self, const ob_imsg_broadcast_node_t *in, ob_outbox_t *out)
{
    ob_chunk_t chunk;
    if (in->node.len >= OB_CHUNK_LEN &&
        ob_chunk_decode(&chunk, in->node.data, OB_CHUNK_LEN) == OB_OK)
        s_own_chunk_seen(self, &chunk, out);
}

void ob_net_handle(ob_net_t *self, ob_party_t from, const ob_imsg_t *msg, ob_outbox_t *out)
{
    ob_net_input_t in;
    if (ob_net_input(msg->type, from, &in) != 0) {
        /* Not net's, or not from that sender (proto/imsg.csv). */
        s_drop(self, OB_ERR_UNKNOWN_TYPE, NULL, out);
        ob_warn("net: dropped %s from %s", ob_imsg_name(msg->type), ob_party_name(from));
        return;
    }
    switch (in) {
    case OB_NET_IN_BROADCAST_NODE:
        s_on_own_broadcast(self, &msg->u.broadcast_node, out);
        s_on_broadcast(self, &msg->u.broadcast_node, out);
        return;
    case OB_NET_IN_SEND_ACK:
        s_on_send_ack(self, &msg->u.send_ack, out);
        return;
    case OB_NET_IN_SEND_NODE:
        s_on_send_node(self, &msg->u.send_node, out);
        return;
    case OB_NET_IN_APP_PROPOSE:
        s_on_app_propose(self, &msg->u.app_propose, out);
        return;
    case OB_NET_IN_APP_VERIFY:
        s_on_app_verify(self, msg, out);
        return;
    case OB_NET_IN_REPORT_TIP:
        s_on_report_tip(self, &msg->u.report_tip, out);
        return;
    case OB_NET_IN_REPORT_LOCK:
        s_on_report_lock(self, &msg->u.report_lock, out);
        return;
    case OB_NET_IN_REPORT_EVIDENCE:
        s_on_report_evidence(self, &msg->u.report_evidence, out);
        return;
    case OB_NET_IN_EPOCH_CHANGED:
        self->epoch = msg->u.epoch_changed.epoch;
        self->epoch_known = true;
        return;
    case OB_NET_IN_TIP_CHANGED:
        return;
    }
}

/* --- the application socket -------------------------------------------- */

bool ob_net_app_attached(const ob_net_t *self)
{
    return self->app_attached;
}

ob_net_application_t ob_net_application(const ob_net_t *self)
{
    return self->application;
}

const char *ob_net_application_name(ob_net_application_t application)
{
    switch (application) {
    case OB_NET_APP_BUILTIN:
        return "builtin";
    case OB_NET_APP_EXTERNAL:
        return "external";
    }
    return "?";
}

bool ob_net_app_is(const ob_net_t *self, const char *who)
{
    return self->app_attached && who && strcmp(who, self->app_who) == 0;
}

int ob_net_app_payload(ob_net_t *self, uint64_t height, const uint8_t *data, size_t len,
                       ob_outbox_t *out)
{
    if (s_pass_payload(self, height, data, len, NULL, out) != 0)
        return -1;
    if (self->propose_pending && height == self->propose_height)
        self->propose_pending = false;
    return 0;
}

static void s_app_drop(ob_net_t *self, ob_error_t why, ob_outbox_t *out)
{
    self->stats.app_dropped++;
    s_drop(self, why, NULL, out);
}

/* An app_attach from the attached application (its heartbeat), or from
   `who` while none is attached. */
static void s_attach(ob_net_t *self, uint64_t now_ms, const char *who, ob_outbox_t *out)
{
    self->app_seen_ms = now_ms;
    self->app_clock = true;
    if (self->app_attached)
        return;
    self->app_attached = true;
    snprintf(self->app_who, sizeof self->app_who, "%s", who);
    self->stats.app_attaches++;
    ob_info("net: an application attached (%s)", who);
    /* The journal asks again for the verdicts it is owed, at once. */
    ob_imsg_t attached = {.type = OB_IMSG_APP_ATTACHED};
    ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &attached);
    if (self->propose_pending)
        s_ask_payload(self, out); /* it proposes now */
}

void ob_net_on_app(ob_net_t *self, uint64_t now_ms, const char *who, const uint8_t *frame,
                   size_t len, ob_outbox_t *out)
{
    if (self->application == OB_NET_APP_BUILTIN) {
        self->stats.app_dropped++;
        self->stats.app_refused++;
        if (!self->refused_logged)
            ob_warn("net: a frame on the application socket refused: node/application is "
                    "builtin (set it to external for an application to attach)");
        self->refused_logged = true;
        return;
    }
    bool known = who && who[0] && strlen(who) < sizeof self->app_who;
    if (!known || (self->app_attached && strcmp(who, self->app_who) != 0)) {
        /* Another connection, while one is attached: it neither answers
           in its place nor takes over (SPEC §4). */
        self->stats.app_dropped++;
        self->stats.app_foreign++;
        return;
    }
    ob_imsg_t msg;
    ob_error_t rc = ob_imsg_decode(&msg, frame, len);
    if (rc != OB_OK) {
        s_app_drop(self, rc, out);
        return;
    }
    ob_app_to_net_t in;
    if (ob_app_to_net(msg.type, &in) != 0) {
        /* internal, or net's own words: not an application's to send */
        s_app_drop(self, OB_ERR_UNKNOWN_TYPE, out);
        return;
    }
    if (in != OB_APP_TO_NET_APP_ATTACH && !self->app_attached) {
        /* Nobody is attached; attach first. */
        self->stats.app_dropped++;
        self->stats.app_when_detached++;
        return;
    }
    switch (in) {
    case OB_APP_TO_NET_APP_ATTACH:
        self->stats.app_in++;
        s_attach(self, now_ms, who, out);
        return;
    case OB_APP_TO_NET_APP_GIVE_PAYLOAD: {
        const ob_imsg_app_give_payload_t *give = &msg.u.app_give_payload;
        if (give->data.len > self->env.params.max_payload) {
            s_app_drop(self, OB_ERR_TOO_LARGE, out);
            return;
        }
        self->stats.app_in++;
        ob_net_app_payload(self, give->height, give->data.data, give->data.len, out);
        return;
    }
    case OB_APP_TO_NET_APP_GIVE_VERDICT:
        self->stats.app_in++;
        ob_net_app_verdict(self, &msg.u.app_give_verdict.chunk, msg.u.app_give_verdict.valid, out);
        return;
    case OB_APP_TO_NET_APP_LOCK_RECEIVED:
        self->stats.app_in++;
        ob_net_lock_delivered(self, &msg.u.app_lock_received.chunk, out);
        return;
    }
}

/* What it owed waits for the next application (SPEC §5): under external
   nothing speaks in its place. */
static void s_detach(ob_net_t *self)
{
    self->app_attached = false;
    self->app_who[0] = 0;
    self->stats.app_detaches++;
}

void ob_net_tick(ob_net_t *self, uint64_t now_ms, ob_outbox_t *out)
{
    if (!self->app_attached)
        return;
    if (!self->app_clock) {
        /* Attached from the start: its silence counts from the first tick. */
        self->app_clock = true;
        self->app_seen_ms = now_ms;
        return;
    }
    if (now_ms <= self->app_seen_ms || now_ms - self->app_seen_ms <= OB_NET_APP_SILENCE_MS)
        return;
    ob_warn("net: the application (%s) was silent for %llu ms and is detached; no proposals "
            "or verdicts until one attaches",
            self->app_who, (unsigned long long)(now_ms - self->app_seen_ms));
    s_detach(self);
    (void)out;
}

void ob_net_app_closed(ob_net_t *self)
{
    if (!self->app_attached)
        return;
    ob_info("net: the application (%s) closed its connection and is detached", self->app_who);
    s_detach(self);
}

/* --- the submit socket -------------------------------------------------- */

static void s_refuse(ob_net_t *self, const ob_client_id_t *client, uint64_t tag,
                     ob_submit_refusal_t reason, ob_outbox_t *out)
{
    self->stats.submit_refused++;
    self->stats.refused_by[(unsigned)reason < 8 ? (unsigned)reason : 0]++;
    ob_imsg_t msg = {.type = OB_IMSG_SUBMIT_REFUSED};
    msg.u.submit_refused.tag = tag;
    msg.u.submit_refused.reason = (uint8_t)reason;
    ob_outbox_to_client(out, client, &msg);
}

static bool s_is_sequencer(const ob_net_t *self)
{
    /* Until the journal has said which epoch is current (just after a
       start), the manifest's first and latest epochs decide: refusing a
       sequencer's clients for that moment would only make them retry. */
    uint64_t epoch = self->epoch;
    if (!self->epoch_known) {
        const ob_keyset_t *first =
            ob_epochs_sequencers(self->env.epochs, ob_epochs_first(self->env.epochs));
        if (first && ob_keyset_contains(first, self->env.self_key))
            return true;
        epoch = ob_epochs_latest(self->env.epochs);
    }
    const ob_keyset_t *sequencers = ob_epochs_sequencers(self->env.epochs, epoch);
    return sequencers && ob_keyset_contains(sequencers, self->env.self_key);
}

/* Copies a payload to the back of the queue. */
static int s_enqueue(ob_net_t *self, const uint8_t *data, size_t len, const ob_client_id_t *client,
                     uint64_t tag)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    if (len)
        memcpy(copy, data, len);
    s_submission_t *slot = &self->queue[(self->queue_head + self->queue_count) % self->queue_max];
    *slot = (s_submission_t){.data = copy, .len = len, .tag = tag};
    if (client) {
        slot->has_client = true;
        slot->client = *client;
    }
    self->queue_count++;
    self->stats.submitted++;
    self->stats.submit_bytes_queued += len;
    return 0;
}

/* The tag of a frame that says it is a submit but did not decode: its
   answer can still name it. 0 if there is none. */
static uint64_t s_salvage_tag(const uint8_t *frame, size_t len)
{
    if (len < OB_IMSG_HEADER_LEN + 8 || frame[0] != (OB_IMSG_SUBMIT >> 8) ||
        frame[1] != (OB_IMSG_SUBMIT & 0xff))
        return 0;
    uint64_t tag = 0;
    for (int i = 0; i < 8; i++)
        tag = tag << 8 | frame[OB_IMSG_HEADER_LEN + i];
    return tag;
}

/* The queued payload of (client, tag), if any. */
static bool s_queued_has(const ob_net_t *self, const ob_client_id_t *client, uint64_t tag)
{
    for (uint32_t i = 0; i < self->queue_count; i++) {
        const s_submission_t *q = &self->queue[(self->queue_head + i) % self->queue_max];
        if (q->has_client && q->tag == tag && s_same_client(&q->client, client))
            return true;
    }
    return false;
}

/* A new submit whose bytes an unclaimed own chunk carries: the net before
   a restart proposed it, and the client, which did not hear "assigned",
   sent it again. It is that chunk's (queued and assigned at once, and the
   journal asked for a Lock it may hold), not proposed twice. */
static bool s_submit_claims(ob_net_t *self, const ob_client_id_t *client,
                            const ob_imsg_submit_t *in, ob_outbox_t *out)
{
    if (self->unclaimed_count == 0)
        return false;
    uint8_t digest[32];
    ob_sha256(self->crypto, in->data.data, in->data.len, digest);
    s_unclaimed_t *found = NULL;
    for (uint32_t i = 0; i < S_UNCLAIMED && !found; i++)
        if (self->unclaimed[i].used && memcmp(self->unclaimed[i].digest, digest, 32) == 0)
            found = &self->unclaimed[i];
    if (!found)
        return false;
    self->stats.submit_claimed++;
    ob_imsg_t queued = {.type = OB_IMSG_SUBMIT_QUEUED};
    queued.u.submit_queued.tag = in->tag;
    ob_outbox_to_client(out, client, &queued);
    s_tracked_t *e = s_track(self, client, in->tag, found->height, digest);
    s_send_assigned(self, e, out);
    ob_imsg_t query = {.type = OB_IMSG_LOCK_QUERY};
    query.u.lock_query.height = found->height;
    ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &query);
    s_unclaimed_remove(self, found);
    return true;
}

/* A submit of a payload net holds already (the client heard nothing and
   sent it again): it is told again where it stands, and not queued twice.
   false if (client, tag) is new. */
static bool s_submit_again(ob_net_t *self, const ob_client_id_t *client, uint64_t tag,
                           ob_outbox_t *out)
{
    s_tracked_t *e = s_tracked_find(self, client, tag);
    bool handed = self->has_handed && self->handed.has_client && self->handed.tag == tag &&
                  s_same_client(&self->handed.client, client);
    if (!e && !handed && !s_queued_has(self, client, tag))
        return false;
    self->stats.submit_again++;
    ob_imsg_t queued = {.type = OB_IMSG_SUBMIT_QUEUED};
    queued.u.submit_queued.tag = tag;
    ob_outbox_to_client(out, client, &queued);
    if (e && e->assigned)
        s_send_assigned(self, e, out);
    return true;
}

/* The client heard its payload assigned at `height` and no Lock since: net
   follows it (again: a restart may have lost it) and asks the journal for
   a Lock it may hold already. */
static void s_on_follow(ob_net_t *self, const ob_client_id_t *client,
                        const ob_imsg_submit_follow_t *in, ob_outbox_t *out)
{
    self->stats.submit_follow++;
    s_tracked_t *e = s_tracked_find(self, client, in->tag);
    if (!e)
        e = s_track(self, client, in->tag, in->height, in->payload);
    e->height = in->height;
    memcpy(e->digest, in->payload, 32);
    e->assigned = true; /* the client knows */
    for (uint32_t i = 0; i < S_UNCLAIMED && self->unclaimed_count > 0; i++) {
        s_unclaimed_t *u = &self->unclaimed[i];
        if (u->used && u->height == in->height && memcmp(u->digest, in->payload, 32) == 0)
            s_unclaimed_remove(self, u); /* claimed by its client */
    }
    ob_imsg_t query = {.type = OB_IMSG_LOCK_QUERY};
    query.u.lock_query.height = in->height;
    ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &query);
}

void ob_net_on_client(ob_net_t *self, const ob_client_id_t *client, const uint8_t *frame,
                      size_t len, ob_outbox_t *out)
{
    self->stats.clients_in++;
    if (client->len == 0 || client->len > OB_CLIENT_ID_MAX) {
        self->stats.client_unanswerable++;
        return;
    }
    ob_imsg_t msg;
    ob_error_t rc = ob_imsg_decode(&msg, frame, len);
    if (rc == OB_OK && msg.type == OB_IMSG_SUBMIT_FOLLOW) {
        s_on_follow(self, client, &msg.u.submit_follow, out);
        return;
    }
    if (rc != OB_OK || msg.type != OB_IMSG_SUBMIT) {
        s_drop(self, rc != OB_OK ? rc : OB_ERR_UNKNOWN_TYPE, NULL, out);
        s_refuse(self, client, s_salvage_tag(frame, len),
                 rc == OB_ERR_TOO_LARGE ? OB_SUBMIT_TOO_LARGE : OB_SUBMIT_MALFORMED, out);
        return;
    }
    const ob_imsg_submit_t *in = &msg.u.submit;
    if (s_submit_again(self, client, in->tag, out))
        return;
    if (self->application == OB_NET_APP_EXTERNAL) {
        s_refuse(self, client, in->tag, OB_SUBMIT_APP_ATTACHED, out);
        return;
    }
    if (!s_is_sequencer(self)) {
        s_refuse(self, client, in->tag, OB_SUBMIT_NOT_SEQUENCER, out);
        return;
    }
    if (in->data.len > self->env.params.max_payload) {
        s_refuse(self, client, in->tag, OB_SUBMIT_TOO_LARGE, out);
        return;
    }
    if (s_submit_claims(self, client, in, out))
        return;
    if (self->queue_count == self->queue_max) {
        s_refuse(self, client, in->tag, OB_SUBMIT_QUEUE_FULL, out);
        return;
    }
    /* The answer first: a payload the client never hears of is not queued
       (it would be proposed behind its back). */
    ob_imsg_t queued = {.type = OB_IMSG_SUBMIT_QUEUED};
    queued.u.submit_queued.tag = in->tag;
    if (ob_outbox_to_client(out, client, &queued) != 0)
        return;
    if (s_enqueue(self, in->data.data, in->data.len, client, in->tag) != 0) {
        /* Out of memory after "queued": the client waits in vain, as for
           a payload a crash loses. */
        self->stats.submit_refused++;
        return;
    }
    s_serve_pending(self, out);
}

int ob_net_submit(ob_net_t *self, const uint8_t *data, size_t len, ob_outbox_t *out)
{
    if (self->application == OB_NET_APP_EXTERNAL || len > self->env.params.max_payload ||
        self->queue_count == self->queue_max || s_enqueue(self, data, len, NULL, 0) != 0) {
        self->stats.submit_refused++;
        return -1;
    }
    s_serve_pending(self, out);
    return 0;
}

/*  net, the peer transport (SPEC §4): peer frames in, decoded by the
    fuzzed decoder and their payload moved into the arena for the
    verifier; nodes and acks out to the peers the protocol names; and the
    dispatch of what the other actors send net. The application and
    submit sockets are net_app.c. */
#include "net_internal.h"

#include "log.h"
#include "metrics.h"
#include "submit.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    self->crypto = ob_crypto_new();
    if (!self->crypto) {
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

void ob_net_drop(ob_net_t *self, ob_error_t why, const uint8_t peer[32], ob_outbox_t *out)
{
    self->stats.dropped[why]++;
    ob_outbox_dropped(out, OB_ACTOR_NET, why, peer);
}

void ob_net_hold(ob_net_t *self, const ob_handle_t *handle)
{
    if (self->held_count == OB_NET_MAX_HELD) {
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

static void s_on_peer_ack(ob_net_t *self, const uint8_t peer[32], const ob_ack_t *ack,
                          const ob_blob_t *body, ob_outbox_t *out)
{
    self->stats.peer_acks_in++;
    ob_imsg_t msg;
    msg.type = OB_IMSG_PEER_ACK;
    memcpy(msg.u.peer_ack.peer, peer, 32);
    msg.u.peer_ack.ack = *body;
    if (memcmp(ack->chunk.sequencer, self->env.self_key, 32) == 0)
        ob_stage(OB_STAGE_ACK_RECEIVED, ack->chunk.sequencer, ack->chunk.height);
    /* By chunk: its acks meet in one verifier instance, which can
       hold them until a quorum is pending (SPEC §3). */
    ob_outbox_to_verifier(out, ob_outbox_route(ack->chunk.sequencer, ack->chunk.height), &msg);
}

static void s_on_peer_node(ob_net_t *self, const uint8_t peer[32], const ob_chunk_t *chunk,
                           const ob_frame_t *payload, const ob_blob_t *body, ob_outbox_t *out)
{
    self->stats.peer_nodes_in++;
    ob_imsg_t msg;
    msg.type = OB_IMSG_PEER_NODE;
    memcpy(msg.u.peer_node.peer, peer, 32);
    msg.u.peer_node.node = *body;
    /* A full arena refuses rather than overwrites; the sequencer will
       rebroadcast, and the shell stops reading while it is full. */
    if (ob_arena_put(self->env.arena, self->crypto, OB_ACTOR_NET, payload->data,
                     (uint32_t)payload->len, &msg.u.peer_node.payload) != 0) {
        self->stats.arena_full++;
        return;
    }
    ob_stage(OB_STAGE_RECEIVED, chunk->sequencer, chunk->height);
    if (ob_outbox_to_verifier(out, ob_outbox_route(chunk->sequencer, chunk->height), &msg) != 0)
        ob_arena_release(self->env.arena, &msg.u.peer_node.payload, OB_ACTOR_NET);
}

void ob_net_on_peer(ob_net_t *self, const uint8_t peer[32], const ob_frame_t *frames,
                    size_t frame_count, ob_outbox_t *out)
{
    /* The decoder the fuzzer runs (proto/wire.c): the verifier decodes
       the body again for its checks, from the bytes passed on. */
    /* First what no message between actors could carry, unread. */
    if (frame_count > 0 && frames[0].len > 2 + (size_t)OB_IMSG_BLOB_MAX) {
        ob_net_drop(self, OB_ERR_TOO_LARGE, peer, out);
        return;
    }
    ob_peer_msg_t decoded;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(self->env.epochs);
    ob_error_t rc =
        ob_peer_msg_decode(&decoded, frames, frame_count, &lookup, self->env.params.max_payload);
    if (rc != OB_OK) {
        ob_net_drop(self, rc, peer, out);
        return;
    }
    ob_blob_t body = {frames[0].data + 2, (uint32_t)(frames[0].len - 2)};
    switch (decoded.type) {
    case OB_PEER_TYPE_ACK:
        s_on_peer_ack(self, peer, &decoded.u.ack, &body, out);
        return;
    case OB_PEER_TYPE_NODE:
        s_on_peer_node(self, peer, &decoded.u.node.node.chunk, &decoded.u.node.payload, &body, out);
        return;
    /* Nobody answers or receives these yet (issue 11, later steps). They
       decoded, so no SPEC error name fits them (unknown_type would be
       false): counted, not reported as drops, passed to nobody. */
    case OB_PEER_TYPE_FETCH:
        self->stats.peer_fetch_in++;
        return;
    case OB_PEER_TYPE_FETCHED:
        self->stats.peer_fetched_in++;
        return;
    }
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
    ob_net_hold(self, &in->payload);
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
    ob_net_hold(self, &in->payload);
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

/* --- dispatch ---------------------------------------------------------- */

void ob_net_handle(ob_net_t *self, ob_party_t from, const ob_imsg_t *msg, ob_outbox_t *out)
{
    ob_net_input_t in;
    if (ob_net_input(msg->type, from, &in) != 0) {
        /* Not net's, or not from that sender (proto/imsg.csv). */
        ob_net_drop(self, OB_ERR_UNKNOWN_TYPE, NULL, out);
        ob_warn("net: dropped %s from %s", ob_imsg_name(msg->type), ob_party_name(from));
        return;
    }
    switch (in) {
    case OB_NET_IN_BROADCAST_NODE:
        s_on_broadcast(self, &msg->u.broadcast_node, out);
        return;
    case OB_NET_IN_SEND_ACK:
        s_on_send_ack(self, &msg->u.send_ack, out);
        return;
    case OB_NET_IN_SEND_NODE:
        s_on_send_node(self, &msg->u.send_node, out);
        return;
    case OB_NET_IN_APP_PROPOSE:
        ob_net_on_app_propose(self, &msg->u.app_propose, out);
        return;
    case OB_NET_IN_APP_VERIFY:
        ob_net_on_app_verify(self, &msg->u.app_verify, out);
        return;
    case OB_NET_IN_REPORT_TIP:
        ob_net_on_report_tip(self, &msg->u.report_tip, out);
        return;
    case OB_NET_IN_REPORT_LOCK:
        ob_net_on_report_lock(self, &msg->u.report_lock, out);
        return;
    case OB_NET_IN_REPORT_EVIDENCE:
        ob_net_on_report_evidence(self, &msg->u.report_evidence, out);
        return;
    case OB_NET_IN_CLIENT_ANSWER:
        ob_net_on_client_answer(self, &msg->u.client_answer, out);
        return;
    case OB_NET_IN_EPOCH_CHANGED:
        self->epoch = msg->u.epoch_changed.epoch;
        self->epoch_known = true;
        return;
    case OB_NET_IN_TIP_CHANGED:
        return;
    case OB_NET_IN_SEND_FETCHED:
        /* FETCH-BASE: answering is the helper's (issue 11) */
        if (msg->u.send_fetched.has_payload &&
            ob_arena_take(self->env.arena, &msg->u.send_fetched.payload, OB_ACTOR_NET) == 0)
            ob_net_hold(self, &msg->u.send_fetched.payload);
        return;
    case OB_NET_IN_SEND_FETCH:
    case OB_NET_IN_BLOCK_PEER:
        return; /* FETCH-BASE */
    }
}

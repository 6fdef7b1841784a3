#include "net.h"

#include "log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Payload slots referred to by the outbox, freed once it is sent. Bounded
   by the outbox: a batch refers to at most this many. */
#define S_MAX_HELD 1024

typedef struct {
    uint8_t *data;
    size_t len;
} s_submission_t;

struct _ob_net_t {
    ob_node_env_t env;
    ob_crypto_t *crypto;
    bool app_attached;
    uint64_t epoch;

    s_submission_t *queue; /* ring of submitted payloads */
    uint32_t queue_max, queue_head, queue_count;
    bool propose_pending; /* the journal asked and the queue was empty */
    uint64_t propose_height;

    ob_handle_t held[S_MAX_HELD];
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
    self->app_attached = config->app_attached;
    self->queue_max = config->submit_queue_max ? config->submit_queue_max : 1;
    self->crypto = ob_crypto_new();
    self->queue = calloc(self->queue_max, sizeof *self->queue);
    if (!self->crypto || !self->queue) {
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
    for (size_t i = 0; i < self->held_count; i++)
        ob_arena_release(self->env.arena, &self->held[i], OB_ACTOR_NET);
    self->held_count = 0;
}

/* --- from peers -------------------------------------------------------- */

void ob_net_on_peer(ob_net_t *self, const uint8_t peer[32], const ob_frame_t *frames,
                    size_t frame_count, ob_outbox_t *out)
{
    if (frame_count == 0 || frames[0].len < 2) {
        s_drop(self, OB_ERR_SHORT, peer, out);
        return;
    }
    uint8_t type = frames[0].data[0];
    if (type != OB_PEER_TYPE_NODE && type != OB_PEER_TYPE_ACK) {
        s_drop(self, OB_ERR_UNKNOWN_TYPE, peer, out);
        return;
    }
    if (frames[0].data[1] != OB_PEER_VERSION) {
        s_drop(self, OB_ERR_BAD_VERSION, peer, out);
        return;
    }
    ob_blob_t body = {frames[0].data + 2, (uint32_t)(frames[0].len - 2)};
    if (frames[0].len - 2 > OB_IMSG_BLOB_MAX) {
        s_drop(self, OB_ERR_TOO_LARGE, peer, out);
        return;
    }
    ob_imsg_t msg;
    if (type == OB_PEER_TYPE_ACK) {
        if (frame_count != 1) {
            s_drop(self, OB_ERR_TRAILING, peer, out);
            return;
        }
        self->stats.peer_acks_in++;
        msg.type = OB_IMSG_PEER_ACK;
        memcpy(msg.u.peer_ack.peer, peer, 32);
        msg.u.peer_ack.ack = body;
        ob_outbox_to_actor(out, OB_ACTOR_VERIFIER, &msg);
        return;
    }
    if (frame_count != 2) {
        s_drop(self, frame_count < 2 ? OB_ERR_SHORT : OB_ERR_TRAILING, peer, out);
        return;
    }
    if (frames[1].len > self->env.params.max_payload) {
        s_drop(self, OB_ERR_TOO_LARGE, peer, out);
        return;
    }
    self->stats.peer_nodes_in++;
    msg.type = OB_IMSG_PEER_NODE;
    memcpy(msg.u.peer_node.peer, peer, 32);
    msg.u.peer_node.node = body;
    /* A full arena refuses rather than overwrites; the sequencer will
       rebroadcast, and the shell stops reading while it is full. */
    if (ob_arena_put(self->env.arena, self->crypto, OB_ACTOR_NET, frames[1].data,
                     (uint32_t)frames[1].len, &msg.u.peer_node.payload) != 0) {
        self->stats.arena_full++;
        return;
    }
    if (ob_outbox_to_actor(out, OB_ACTOR_VERIFIER, &msg) != 0)
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

static void s_on_broadcast(ob_net_t *self, const ob_imsg_broadcast_node_t *in, ob_outbox_t *out)
{
    if (ob_arena_take(self->env.arena, &in->payload, OB_ACTOR_NET) != 0)
        return;
    s_hold(self, &in->payload);
    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, in->epoch);
    if (!validators)
        return;
    size_t len = 2 + (size_t)in->node.len;
    uint8_t *frame = malloc(len);
    if (!frame)
        return;
    frame[0] = OB_PEER_TYPE_NODE;
    frame[1] = OB_PEER_VERSION;
    memcpy(frame + 2, in->node.data, in->node.len);
    for (uint16_t i = 0; i < ob_keyset_size(validators); i++)
        s_send_frame(self, ob_keyset_key(validators, i)->bytes, frame, len, &in->payload, out);
    free(frame);
}

static void s_on_send_node(ob_net_t *self, const ob_imsg_send_node_t *in, ob_outbox_t *out)
{
    if (ob_arena_take(self->env.arena, &in->payload, OB_ACTOR_NET) != 0)
        return;
    s_hold(self, &in->payload);
    size_t len = 2 + (size_t)in->node.len;
    uint8_t *frame = malloc(len);
    if (!frame)
        return;
    frame[0] = OB_PEER_TYPE_NODE;
    frame[1] = OB_PEER_VERSION;
    memcpy(frame + 2, in->node.data, in->node.len);
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

/* --- the application --------------------------------------------------- */

static int s_pass_payload(ob_net_t *self, uint64_t height, const uint8_t *data, size_t len,
                          ob_outbox_t *out)
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
    self->stats.proposals_answered++;
    return 0;
}

/* The built-in application proposes the oldest submitted payload. */
static void s_default_propose(ob_net_t *self, uint64_t height, ob_outbox_t *out)
{
    if (self->queue_count == 0) {
        self->propose_pending = true;
        self->propose_height = height;
        return;
    }
    s_submission_t *next = &self->queue[self->queue_head];
    if (s_pass_payload(self, height, next->data, next->len, out) != 0)
        return; /* try again when the journal re-asks */
    free(next->data);
    next->data = NULL;
    self->queue_head = (self->queue_head + 1) % self->queue_max;
    self->queue_count--;
    self->propose_pending = false;
}

int ob_net_submit(ob_net_t *self, const uint8_t *data, size_t len, ob_outbox_t *out)
{
    if (len > self->env.params.max_payload || self->queue_count == self->queue_max) {
        self->stats.submit_refused++;
        return -1;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        self->stats.submit_refused++;
        return -1;
    }
    if (len)
        memcpy(copy, data, len);
    self->queue[(self->queue_head + self->queue_count) % self->queue_max] =
        (s_submission_t){copy, len};
    self->queue_count++;
    self->stats.submitted++;
    if (self->propose_pending && !self->app_attached)
        s_default_propose(self, self->propose_height, out);
    return 0;
}

int ob_net_app_payload(ob_net_t *self, uint64_t height, const uint8_t *data, size_t len,
                       ob_outbox_t *out)
{
    return s_pass_payload(self, height, data, len, out);
}

void ob_net_app_verdict(ob_net_t *self, const ob_chunk_t *chunk, bool valid, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_APP_VERDICT};
    msg.u.app_verdict.chunk = *chunk;
    msg.u.app_verdict.valid = valid;
    ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg);
    (void)self;
}

static void s_on_app_verify(ob_net_t *self, const ob_imsg_t *msg, ob_outbox_t *out)
{
    const ob_imsg_app_verify_t *in = &msg->u.app_verify;
    if (ob_arena_take(self->env.arena, &in->payload, OB_ACTOR_NET) != 0)
        return; /* stale: the sequencer's rebroadcast brings it back */
    s_hold(self, &in->payload);
    if (self->app_attached) {
        ob_outbox_to_app(out, msg);
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

static void s_on_report(ob_net_t *self, const ob_imsg_t *msg, ob_outbox_t *out)
{
    if (msg->type == OB_IMSG_REPORT_TIP)
        self->stats.reports_tip++;
    else if (msg->type == OB_IMSG_REPORT_LOCK)
        self->stats.reports_lock++;
    else
        self->stats.reports_evidence++;
    if (self->app_attached) {
        ob_outbox_to_app(out, msg);
        return;
    }
    /* The built-in application has nobody to confirm for it: a Lock is
       delivered once net has it. */
    ob_lock_t lock;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(self->env.epochs);
    if (msg->type == OB_IMSG_REPORT_LOCK &&
        ob_lock_decode(&lock, msg->u.report_lock.lock.data, msg->u.report_lock.lock.len, &lookup) ==
            OB_OK)
        ob_net_lock_delivered(self, &lock.chunk, out);
}

void ob_net_handle(ob_net_t *self, const ob_imsg_t *msg, ob_outbox_t *out)
{
    switch (msg->type) {
    case OB_IMSG_BROADCAST_NODE:
        s_on_broadcast(self, &msg->u.broadcast_node, out);
        return;
    case OB_IMSG_SEND_ACK:
        s_on_send_ack(self, &msg->u.send_ack, out);
        return;
    case OB_IMSG_SEND_NODE:
        s_on_send_node(self, &msg->u.send_node, out);
        return;
    case OB_IMSG_APP_PROPOSE:
        if (self->app_attached)
            ob_outbox_to_app(out, msg);
        else
            s_default_propose(self, msg->u.app_propose.height, out);
        return;
    case OB_IMSG_APP_VERIFY:
        s_on_app_verify(self, msg, out);
        return;
    case OB_IMSG_REPORT_TIP:
    case OB_IMSG_REPORT_LOCK:
    case OB_IMSG_REPORT_EVIDENCE:
        s_on_report(self, msg, out);
        return;
    case OB_IMSG_EPOCH_CHANGED:
        self->epoch = msg->u.epoch_changed.epoch;
        return;
    case OB_IMSG_TIP_CHANGED:
        return;
    case OB_IMSG_PEER_NODE:
    case OB_IMSG_PEER_ACK:
    case OB_IMSG_NODE_VERIFIED:
    case OB_IMSG_ACK_VERIFIED:
    case OB_IMSG_DROPPED:
    case OB_IMSG_STATE_REQUEST:
    case OB_IMSG_APP_PAYLOAD:
    case OB_IMSG_APP_VERDICT:
    case OB_IMSG_LOCK_DELIVERED:
    case OB_IMSG_SIGN_NODE:
    case OB_IMSG_SIGN_ACK:
    case OB_IMSG_LAST_SIGNED_REQUEST:
    case OB_IMSG_NODE_SIGNED:
    case OB_IMSG_SIGN_REFUSED:
    case OB_IMSG_LAST_SIGNED:
    case OB_IMSG_CERTIFIED:
    case OB_IMSG_ACK_SEEN:
    case OB_IMSG_SET_EPOCH:
        break;
    }
    ob_warn("net: ignoring message %s", ob_imsg_name(msg->type));
}

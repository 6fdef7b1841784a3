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
#include <time.h>

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
    self->client_index = ob_net_client_index_new();
    if (self->env.arena)
        self->fetch_slot_cap = ob_arena_slot_count(self->env.arena) / 4;
    if (self->fetch_slot_cap)
        self->fetch_slots = calloc(self->fetch_slot_cap, sizeof *self->fetch_slots);
    if (!self->crypto || !self->client_index || (self->fetch_slot_cap && !self->fetch_slots)) {
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
    free(self->fetch_slots);
    zhashx_destroy(&self->client_index);
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

/* --- Fetching: the clock, peers' budgets and blocks, the arena quota ---- */

void ob_net_set_clock(ob_net_t *self, uint64_t (*now_ms)(void *ctx), void *ctx)
{
    self->clock = now_ms;
    self->clock_ctx = ctx;
}

void ob_net_set_on_block(ob_net_t *self, ob_net_block_fn *on_block, void *ctx)
{
    self->on_block = on_block;
    self->on_block_ctx = ctx;
}

static uint64_t s_now(ob_net_t *self)
{
    if (self->clock)
        return self->clock(self->clock_ctx);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A budget per second as the buckets count it: the config allows up to
   2^63 bytes, and thousandths of that would not fit; past this it is
   unlimited in practice (petabytes per second). Twice it still fits, so a
   refill onto a bucket never wraps. */
#define S_RATE_MAX (UINT64_MAX / 2000)

static uint64_t s_rate(uint64_t per_second)
{
    return per_second < S_RATE_MAX ? per_second : S_RATE_MAX;
}

static ob_net_peer_state_t *s_peer_find(ob_net_t *self, const uint8_t peer[32])
{
    for (size_t i = 0; i < OB_NET_PEER_STATES; i++)
        if (self->peer_states[i].used && memcmp(self->peer_states[i].key, peer, 32) == 0)
            return &self->peer_states[i];
    return NULL;
}

/* The peer's state, made with a full budget if new. A full table forgets
   the longest idle peer that is not blocked; if every one is blocked,
   the block that ends first (a table of blocked peers larger than the
   manifest is a bug elsewhere, not a peer's doing: peers are keys of the
   manifest, authenticated). */
static ob_net_peer_state_t *s_peer_state(ob_net_t *self, const uint8_t peer[32], uint64_t now)
{
    ob_net_peer_state_t *state = s_peer_find(self, peer);
    if (state) {
        state->last_seen_ms = now;
        return state;
    }
    ob_net_peer_state_t *idle = NULL, *blocked = NULL;
    for (size_t i = 0; i < OB_NET_PEER_STATES && !state; i++) {
        ob_net_peer_state_t *c = &self->peer_states[i];
        if (!c->used)
            state = c;
        else if (now >= c->blocked_until_ms) {
            if (!idle || c->last_seen_ms < idle->last_seen_ms)
                idle = c;
        } else if (!blocked || c->blocked_until_ms < blocked->blocked_until_ms)
            blocked = c;
    }
    if (!state)
        state = idle ? idle : blocked;
    memset(state, 0, sizeof *state);
    state->used = true;
    memcpy(state->key, peer, 32);
    state->refilled_ms = now;
    state->message_tokens = s_rate(self->env.params.fetch_budget) * 1000;
    state->byte_tokens = s_rate(self->env.params.fetch_budget_bytes) * 1000;
    state->last_seen_ms = now;
    return state;
}

static bool s_blocked(ob_net_t *self, const uint8_t peer[32], uint64_t now)
{
    if (now >= self->blocks_end_ms)
        return false;
    const ob_net_peer_state_t *state = s_peer_find(self, peer);
    return state && now < state->blocked_until_ms;
}

bool ob_net_peer_blocked(ob_net_t *self, const uint8_t peer[32], ob_error_t *reason,
                         uint64_t *until_ms)
{
    uint64_t now = s_now(self);
    if (!s_blocked(self, peer, now))
        return false;
    const ob_net_peer_state_t *state = s_peer_find(self, peer);
    if (reason)
        *reason = state->block_reason;
    if (until_ms)
        *until_ms = state->blocked_until_ms;
    return true;
}

static void s_refill(const ob_net_t *self, ob_net_peer_state_t *state, uint64_t now)
{
    if (now <= state->refilled_ms)
        return;
    /* A second refills the whole budget: capping the time, and the rate
       (s_rate), keeps the sums below 2^64 for any budget a config holds. */
    uint64_t elapsed = now - state->refilled_ms;
    if (elapsed > 1000)
        elapsed = 1000;
    uint64_t messages = s_rate(self->env.params.fetch_budget);
    uint64_t bytes = s_rate(self->env.params.fetch_budget_bytes);
    state->message_tokens += elapsed * messages;
    state->byte_tokens += elapsed * bytes;
    uint64_t message_cap = messages * 1000, byte_cap = bytes * 1000;
    if (state->message_tokens > message_cap)
        state->message_tokens = message_cap;
    if (state->byte_tokens > byte_cap)
        state->byte_tokens = byte_cap;
    state->refilled_ms = now;
}

/* Charges one Fetched of `bytes` payload bytes to the peer's budget: false
   (nothing charged) if either budget cannot pay it. An answer to a Fetch
   whose answers were paid when it went to the journal pays its bytes
   only. */
static bool s_charge(ob_net_t *self, const uint8_t peer[32], uint64_t bytes, uint64_t now)
{
    ob_net_peer_state_t *state = s_peer_state(self, peer, now);
    s_refill(self, state, now);
    bool prepaid = state->answers_prepaid > 0;
    if ((!prepaid && state->message_tokens < 1000) || state->byte_tokens / 1000 < bytes)
        return false;
    if (prepaid)
        state->answers_prepaid--;
    else
        state->message_tokens -= 1000;
    state->byte_tokens -= bytes * 1000;
    return true;
}

/* Pays, before the journal looks anything up, for the answers a Fetch of
   `count` heights can bring (one a height and the marker of a higher one),
   as far as the peer's message budget goes: the count the journal may
   answer, 0 if not even one answer can be paid. So a flood of Fetches
   costs the journal no more lookups than the budget pays answers for. */
static uint16_t s_prepay(ob_net_t *self, const uint8_t peer[32], uint16_t count, uint64_t now)
{
    ob_net_peer_state_t *state = s_peer_state(self, peer, now);
    s_refill(self, state, now);
    uint64_t affordable = state->message_tokens / 1000;
    if (affordable == 0)
        return 0;
    uint64_t paid = (uint64_t)count + 1 < affordable ? (uint64_t)count + 1 : affordable;
    state->message_tokens -= paid * 1000;
    /* Never more prepaid than a second's budget: answers the journal did
       not send (heights it lacks) are not owed for long. */
    uint64_t cap = self->env.params.fetch_budget;
    state->answers_prepaid =
        state->answers_prepaid + paid < cap ? state->answers_prepaid + paid : cap;
    return paid > count ? count : (uint16_t)(paid > 1 ? paid - 1 : 1);
}

/* Forgets the Fetching slots released since: a slot is live while the
   arena still holds it at the generation we saw. */
static void s_fetch_slots_prune(ob_net_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->fetch_slot_count; i++)
        if (ob_arena_get(self->env.arena, &self->fetch_slots[i]))
            self->fetch_slots[kept++] = self->fetch_slots[i];
    self->fetch_slot_count = kept;
}

size_t ob_net_fetch_slots(ob_net_t *self)
{
    s_fetch_slots_prune(self);
    return self->fetch_slot_count;
}

size_t ob_net_fetch_slot_quota(const ob_net_t *self)
{
    return self->fetch_slot_cap;
}

static bool s_fetch_slot_room(ob_net_t *self)
{
    if (self->fetch_slot_count == self->fetch_slot_cap)
        s_fetch_slots_prune(self);
    return self->fetch_slot_count < self->fetch_slot_cap;
}

static void s_fetch_slot_add(ob_net_t *self, const ob_handle_t *handle)
{
    if (self->fetch_slot_count < self->fetch_slot_cap)
        self->fetch_slots[self->fetch_slot_count++] = *handle;
}

/* --- Fetching: asks ------------------------------------------------------ */

/* Whether a Fetched of `lock` from `peer` answers an ask of ours: a height
   of its range, or, without payload, the highest height above it (how an
   answerer says how far the chain went, SPEC §3 Answering). An ask takes
   at most the count + 1 answers an honest peer sends: past them, the
   sender pays as for unasked ones, so an ask is no licence to flood. */
static bool s_asked(ob_net_t *self, const uint8_t peer[32], const ob_fetched_t *fetched,
                    uint64_t now)
{
    const ob_chunk_t *chunk = &fetched->lock.chunk;
    for (size_t i = 0; i < OB_NET_ASKS; i++) {
        ob_net_ask_t *ask = &self->asks[i];
        if (!ask->used || now >= ask->expires_ms || chunk->height < ask->height ||
            ask->answers > ask->count || memcmp(ask->peer, peer, 32) != 0 ||
            memcmp(ask->sequencer, chunk->sequencer, 32) != 0)
            continue;
        if (chunk->height - ask->height < ask->count || !fetched->has_payload) {
            ask->answers++;
            return true;
        }
    }
    return false;
}

static void s_remember_ask(ob_net_t *self, const ob_imsg_send_fetch_t *in, uint64_t now)
{
    ob_net_ask_t *slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < OB_NET_ASKS; i++) {
        ob_net_ask_t *c = &self->asks[i];
        bool same = c->used && c->height == in->height && c->count == in->count &&
                    memcmp(c->peer, in->peer, 32) == 0 &&
                    memcmp(c->sequencer, in->sequencer, 32) == 0;
        if (same || !c->used || now >= c->expires_ms) {
            slot = c;
            if (same)
                break;
        } else if (!oldest || c->expires_ms < oldest->expires_ms)
            oldest = c;
    }
    if (!slot) {
        slot = oldest;
        self->stats.asks_forgotten++;
    }
    slot->used = true;
    memcpy(slot->peer, in->peer, 32);
    memcpy(slot->sequencer, in->sequencer, 32);
    slot->height = in->height;
    slot->count = in->count;
    slot->answers = 0; /* asked again: a retry is answered in full again */
    slot->expires_ms = now + OB_NET_ASK_MS;
}

/* --- Fetching: from peers ------------------------------------------------ */

static void s_on_peer_fetch(ob_net_t *self, const uint8_t peer[32], const ob_fetch_t *fetch,
                            ob_outbox_t *out)
{
    self->stats.peer_fetch_in++;
    /* Not one answer could go: the journal need not look them up. */
    uint16_t count = s_prepay(self, peer, fetch->count, s_now(self));
    if (count == 0) {
        ob_net_drop(self, OB_ERR_OVER_BUDGET, peer, out);
        return;
    }
    if (count < fetch->count)
        self->stats.fetch_trimmed++;
    ob_imsg_t msg = {.type = OB_IMSG_PEER_FETCH};
    memcpy(msg.u.peer_fetch.peer, peer, 32);
    memcpy(msg.u.peer_fetch.sequencer, fetch->sequencer, 32);
    msg.u.peer_fetch.height = fetch->height;
    msg.u.peer_fetch.count = count;
    if (ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg) == 0)
        self->stats.fetch_passed++;
}

static void s_on_peer_fetched(ob_net_t *self, const uint8_t peer[32], const ob_fetched_t *fetched,
                              const ob_frame_t *payload, const ob_blob_t *body, ob_outbox_t *out)
{
    self->stats.peer_fetched_in++;
    uint64_t now = s_now(self);
    bool asked = s_asked(self, peer, fetched, now);
    if (fetched->has_payload && !s_fetch_slot_room(self)) {
        self->stats.fetch_quota_full++;
        ob_net_drop(self, OB_ERR_OVER_BUDGET, peer, out);
        return;
    }
    /* Unasked, the sender pays: a flood of them is dropped before any
       signature is checked (SPEC §3 Receiving). */
    if (!asked && !s_charge(self, peer, fetched->has_payload ? payload->len : 0, now)) {
        ob_net_drop(self, OB_ERR_OVER_BUDGET, peer, out);
        return;
    }
    ob_imsg_t msg = {.type = OB_IMSG_PEER_FETCHED};
    memcpy(msg.u.peer_fetched.peer, peer, 32);
    /* The body is flag ‖ lock: the Lock's bytes as they came. */
    msg.u.peer_fetched.lock = (ob_blob_t){body->data + 1, body->len - 1};
    msg.u.peer_fetched.has_payload = fetched->has_payload;
    msg.u.peer_fetched.asked = asked;
    if (fetched->has_payload) {
        if (ob_arena_put(self->env.arena, self->crypto, OB_ACTOR_NET, payload->data,
                         (uint32_t)payload->len, &msg.u.peer_fetched.payload) != 0) {
            self->stats.arena_full++;
            return;
        }
        s_fetch_slot_add(self, &msg.u.peer_fetched.payload);
    }
    const ob_chunk_t *chunk = &fetched->lock.chunk;
    if (ob_outbox_to_verifier(out, ob_outbox_route(chunk->sequencer, chunk->height), &msg) != 0) {
        if (fetched->has_payload)
            ob_arena_release(self->env.arena, &msg.u.peer_fetched.payload, OB_ACTOR_NET);
        return;
    }
    if (asked)
        self->stats.fetched_asked++;
    else
        self->stats.fetched_unasked++;
    if (fetched->has_payload)
        self->stats.fetched_bytes_in += payload->len;
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
    /* A blocked peer costs not even a decoding (SPEC §3 Blocking). */
    if (s_blocked(self, peer, s_now(self))) {
        ob_net_drop(self, OB_ERR_BLOCKED, peer, out);
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
    case OB_PEER_TYPE_FETCH:
        s_on_peer_fetch(self, peer, &decoded.u.fetch, out);
        return;
    case OB_PEER_TYPE_FETCHED:
        s_on_peer_fetched(self, peer, &decoded.u.fetched.fetched, &decoded.u.fetched.payload, &body,
                          out);
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

/* --- Fetching: to peers -------------------------------------------------- */

static void s_on_send_fetched(ob_net_t *self, const ob_imsg_send_fetched_t *in, ob_outbox_t *out)
{
    const ob_handle_t *payload = in->has_payload ? &in->payload : NULL;
    if (payload && ob_arena_take(self->env.arena, payload, OB_ACTOR_NET) != 0) {
        self->stats.answers_stale++;
        return;
    }
    uint64_t now = s_now(self);
    ob_error_t refused = OB_OK;
    /* The quota before the budget: an answer the arena refuses costs the
       peer nothing. */
    if (s_blocked(self, in->peer, now))
        refused = OB_ERR_BLOCKED;
    else if (payload && !s_fetch_slot_room(self)) {
        self->stats.fetch_quota_full++;
        refused = OB_ERR_OVER_BUDGET;
    } else if (!s_charge(self, in->peer, payload ? payload->len : 0, now))
        refused = OB_ERR_OVER_BUDGET;
    if (refused != OB_OK) {
        if (payload)
            ob_arena_release(self->env.arena, payload, OB_ACTOR_NET);
        ob_net_drop(self, refused, in->peer, out);
        return;
    }
    if (payload) {
        /* Held until the batch is sent, like a node's: the send is
           zero-copy from the slot. */
        s_fetch_slot_add(self, payload);
        ob_net_hold(self, payload);
    }
    ob_fetched_t fetched = {.has_payload = in->has_payload};
    ob_epoch_lookup_t lookup = ob_epochs_lookup(self->env.epochs);
    ob_error_t rc = ob_lock_decode(&fetched.lock, in->lock.data, in->lock.len, &lookup);
    if (rc != OB_OK) {
        ob_warn("net: a Lock to send does not decode (%s): not sent", ob_error_name(rc));
        return;
    }
    size_t cap = 2 + ob_fetched_encoded_len(&fetched), len = 0;
    uint8_t *frame = malloc(cap);
    if (frame && ob_peer_fetched_frame_encode(&fetched, frame, cap, &len) == 0) {
        uint64_t sent = self->stats.peer_out;
        s_send_frame(self, in->peer, frame, len, payload, out);
        if (self->stats.peer_out > sent) {
            self->stats.answers_sent++;
            self->stats.answers_bytes_out += payload ? payload->len : 0;
        }
    }
    free(frame);
}

static void s_on_send_fetch(ob_net_t *self, const ob_imsg_send_fetch_t *in, ob_outbox_t *out)
{
    ob_fetch_t fetch = {.height = in->height, .count = in->count};
    memcpy(fetch.sequencer, in->sequencer, 32);
    uint8_t frame[2 + OB_FETCH_LEN];
    size_t len = 0;
    if (ob_peer_fetch_frame_encode(&fetch, frame, sizeof frame, &len) != 0) {
        ob_warn("net: a Fetch of count %u cannot be sent", (unsigned)in->count);
        return;
    }
    uint64_t sent = self->stats.peer_out;
    s_send_frame(self, in->peer, frame, len, NULL, out);
    if (self->stats.peer_out == sent)
        return;
    self->stats.fetch_sent++;
    s_remember_ask(self, in, s_now(self));
}

static void s_on_block_peer(ob_net_t *self, const ob_imsg_block_peer_t *in)
{
    ob_error_t reason = in->error < OB_ERROR_COUNT ? (ob_error_t)in->error : OB_OK;
    if (reason == OB_OK || memcmp(in->peer, self->env.self_key, 32) == 0) {
        ob_warn("net: block_peer with error %u on %s: ignored", (unsigned)in->error,
                reason == OB_OK ? "no reason" : "this node");
        return;
    }
    uint64_t now = s_now(self);
    bool already = s_blocked(self, in->peer, now);
    ob_net_peer_state_t *state = s_peer_state(self, in->peer, now);
    state->blocked_until_ms = now + self->env.params.block_ms;
    state->block_reason = reason;
    if (state->blocked_until_ms > self->blocks_end_ms)
        self->blocks_end_ms = state->blocked_until_ms;
    self->stats.blocks[reason]++;
    if (already)
        return; /* extended, not started */
    if (self->on_block)
        self->on_block(self->on_block_ctx, in->peer, reason, state->blocked_until_ms);
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
        s_on_send_fetched(self, &msg->u.send_fetched, out);
        return;
    case OB_NET_IN_SEND_FETCH:
        s_on_send_fetch(self, &msg->u.send_fetch, out);
        return;
    case OB_NET_IN_BLOCK_PEER:
        s_on_block_peer(self, &msg->u.block_peer);
        return;
    case OB_NET_IN_FETCH_ANSWER:
        ob_net_on_fetch_answer(self, &msg->u.fetch_answer, out);
        return;
    case OB_NET_IN_SUBMITS_FORGOTTEN:
        ob_net_on_submits_forgotten(self, out);
        return;
    }
}

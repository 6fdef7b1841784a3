#include "outbox.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct _ob_outbox_t {
    ob_envelope_t *envelopes;
    size_t count, max_envelopes;
    uint8_t *bytes;
    size_t used, max_bytes;
    uint64_t overflows;
};

const char *ob_actor_name(ob_actor_t actor)
{
    switch (actor) {
    case OB_ACTOR_NET:
        return "net";
    case OB_ACTOR_VERIFIER:
        return "verifier";
    case OB_ACTOR_SIGNER:
        return "signer";
    case OB_ACTOR_JOURNAL:
        return "journal";
    }
    return "unknown";
}

ob_outbox_t *ob_outbox_new(size_t max_envelopes, size_t max_bytes)
{
    ob_outbox_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->envelopes = calloc(max_envelopes, sizeof *self->envelopes);
    self->bytes = malloc(max_bytes);
    self->max_envelopes = max_envelopes;
    self->max_bytes = max_bytes;
    if (!self->envelopes || !self->bytes)
        ob_outbox_destroy(&self);
    return self;
}

void ob_outbox_destroy(ob_outbox_t **self_p)
{
    assert(self_p);
    ob_outbox_t *self = *self_p;
    if (!self)
        return;
    free(self->envelopes);
    free(self->bytes);
    free(self);
    *self_p = NULL;
}

static ob_envelope_t *s_reserve(ob_outbox_t *self, size_t len)
{
    if (self->count == self->max_envelopes || self->max_bytes - self->used < len) {
        self->overflows++;
        return NULL;
    }
    ob_envelope_t *e = &self->envelopes[self->count];
    memset(e, 0, sizeof *e);
    e->offset = self->used;
    e->len = len;
    return e;
}

static int s_push_imsg(ob_outbox_t *self, ob_dest_kind_t kind, ob_actor_t to, const ob_imsg_t *msg)
{
    size_t len = ob_imsg_encoded_len(msg);
    ob_envelope_t *e = s_reserve(self, len);
    if (!e)
        return -1;
    size_t written = 0;
    if (ob_imsg_encode(msg, self->bytes + self->used, len, &written) != 0)
        return -1;
    assert(written == len);
    e->kind = kind;
    e->actor = to;
    self->used += len;
    self->count++;
    return 0;
}

int ob_outbox_to_actor(ob_outbox_t *self, ob_actor_t to, const ob_imsg_t *msg)
{
    return s_push_imsg(self, OB_DEST_ACTOR, to, msg);
}

int ob_outbox_to_app(ob_outbox_t *self, const ob_imsg_t *msg)
{
    return s_push_imsg(self, OB_DEST_APP, OB_ACTOR_NET, msg);
}

int ob_outbox_to_client(ob_outbox_t *self, const ob_client_id_t *client, const ob_imsg_t *msg)
{
    assert(client->len > 0 && client->len <= OB_CLIENT_ID_MAX);
    if (s_push_imsg(self, OB_DEST_CLIENT, OB_ACTOR_NET, msg) != 0)
        return -1;
    self->envelopes[self->count - 1].client = *client;
    return 0;
}

int ob_outbox_to_peer(ob_outbox_t *self, const uint8_t peer[32], const uint8_t *frame,
                      size_t frame_len, const ob_handle_t *payload)
{
    ob_envelope_t *e = s_reserve(self, frame_len);
    if (!e)
        return -1;
    e->kind = OB_DEST_PEER;
    memcpy(e->peer, peer, 32);
    if (payload) {
        e->has_payload = true;
        e->payload = *payload;
    }
    memcpy(self->bytes + self->used, frame, frame_len);
    self->used += frame_len;
    self->count++;
    return 0;
}

int ob_outbox_dropped(ob_outbox_t *self, ob_actor_t from, ob_error_t error, const uint8_t *peer)
{
    ob_imsg_t msg = {.type = OB_IMSG_DROPPED};
    msg.u.dropped.error = (uint16_t)error;
    msg.u.dropped.actor = (uint8_t)from;
    if (peer)
        memcpy(msg.u.dropped.peer, peer, 32);
    return ob_outbox_to_actor(self, OB_ACTOR_JOURNAL, &msg);
}

int ob_outbox_state_request(ob_outbox_t *self, ob_actor_t from)
{
    ob_imsg_t msg = {.type = OB_IMSG_STATE_REQUEST};
    msg.u.state_request.actor = (uint8_t)from;
    return ob_outbox_to_actor(self, OB_ACTOR_JOURNAL, &msg);
}

size_t ob_outbox_count(const ob_outbox_t *self)
{
    return self->count;
}

const ob_envelope_t *ob_outbox_at(const ob_outbox_t *self, size_t i)
{
    assert(i < self->count);
    return &self->envelopes[i];
}

const uint8_t *ob_outbox_bytes(const ob_outbox_t *self, const ob_envelope_t *envelope)
{
    return self->bytes + envelope->offset;
}

void ob_outbox_clear(ob_outbox_t *self)
{
    self->count = 0;
    self->used = 0;
}

uint64_t ob_outbox_overflows(const ob_outbox_t *self)
{
    return self->overflows;
}

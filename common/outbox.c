#include "outbox.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* What a batch leaves resident of the outbox's memory. The outbox can hold
   the largest batch (tens of MiB), but most batches are small: memory a
   large one touched past this is given back when it is cleared, so a burst
   (a flood of bad input, a catch-up) does not stay in the RSS for good. */
#define S_RESIDENT_BYTES (1u << 20)

/* The drops of one batch that later drops of the same kind add to. */
#define S_DROP_KINDS 16

typedef struct {
    ob_imsg_t msg;   /* its dropped fields, count included */
    size_t envelope; /* where it is encoded */
} s_drop_kind_t;

struct _ob_outbox_t {
    ob_envelope_t *envelopes;
    size_t count, max_envelopes;
    uint8_t *bytes;
    size_t used, max_bytes;
    uint64_t overflows;
    s_drop_kind_t drops[S_DROP_KINDS];
    size_t drop_kinds;
    size_t envelopes_size, bytes_size;   /* the mappings, whole pages */
    size_t touched_count, touched_bytes; /* the most used since the last give-back */
    uint64_t give_backs;
};

static size_t s_pages(size_t bytes)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (bytes + page - 1) / page * page;
}

/* Anonymous memory, resident only once written. */
static void *s_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Gives back the pages of [from, to) of a mapping of `size` bytes at
   `base`, keeping the first S_RESIDENT_BYTES. Their next use reads zeros,
   which nothing relies on: every envelope and byte is written before it
   is read. */
static void s_give_back(void *base, size_t size, size_t to)
{
    size_t from = s_pages(S_RESIDENT_BYTES);
    to = s_pages(to);
    if (to > size)
        to = size;
    if (to > from)
        madvise((uint8_t *)base + from, to - from, MADV_DONTNEED);
}

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

uint16_t ob_actor_arena_owner(ob_actor_t actor, uint32_t instance)
{
    /* Above every actor id, below nothing the arena reserves. */
    if (actor == OB_ACTOR_VERIFIER && instance > 0)
        return (uint16_t)(32 + instance);
    return (uint16_t)actor;
}

ob_outbox_t *ob_outbox_new(size_t max_envelopes, size_t max_bytes)
{
    ob_outbox_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->envelopes_size = s_pages(max_envelopes * sizeof *self->envelopes);
    self->bytes_size = s_pages(max_bytes);
    self->envelopes = s_map(self->envelopes_size);
    self->bytes = s_map(self->bytes_size);
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
    if (self->envelopes)
        munmap(self->envelopes, self->envelopes_size);
    if (self->bytes)
        munmap(self->bytes, self->bytes_size);
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
    const ob_handle_t *payload = kind == OB_DEST_ACTOR ? ob_imsg_payload(msg) : NULL;
    if (payload) {
        e->has_payload = true;
        e->payload = *payload;
    }
    self->used += len;
    self->count++;
    return 0;
}

int ob_outbox_to_actor(ob_outbox_t *self, ob_actor_t to, const ob_imsg_t *msg)
{
    return s_push_imsg(self, OB_DEST_ACTOR, to, msg);
}

int ob_outbox_to_verifier(ob_outbox_t *self, uint32_t route, const ob_imsg_t *msg)
{
    if (s_push_imsg(self, OB_DEST_ACTOR, OB_ACTOR_VERIFIER, msg) != 0)
        return -1;
    self->envelopes[self->count - 1].routed = true;
    self->envelopes[self->count - 1].route = route;
    return 0;
}

uint32_t ob_outbox_route(const uint8_t sequencer[32], uint64_t height)
{
    /* FNV-1a over the sequencer's first 8 bytes and the height: keys are
       uniform already, the height spreads one chain's chunks. */
    uint32_t h = 2166136261u;
    for (int i = 0; i < 8; i++)
        h = (h ^ sequencer[i]) * 16777619u;
    for (int i = 0; i < 8; i++)
        h = (h ^ (uint8_t)(height >> (8 * i))) * 16777619u;
    return h;
}

uint32_t ob_outbox_route_instance(uint32_t route, uint32_t instances)
{
    assert(instances >= 1);
    return route % instances;
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
    msg.u.dropped.count = 1;
    for (size_t i = 0; i < self->drop_kinds; i++) {
        s_drop_kind_t *kind = &self->drops[i];
        const ob_imsg_dropped_t *d = &kind->msg.u.dropped;
        if (d->error != msg.u.dropped.error || d->actor != msg.u.dropped.actor ||
            memcmp(d->peer, msg.u.dropped.peer, 32) != 0 || d->count == UINT32_MAX)
            continue;
        kind->msg.u.dropped.count++;
        /* The same fields, so the same length: encoded again in place. */
        const ob_envelope_t *e = &self->envelopes[kind->envelope];
        size_t written = 0;
        int rc = ob_imsg_encode(&kind->msg, self->bytes + e->offset, e->len, &written);
        assert(rc == 0 && written == e->len);
        (void)rc;
        return 0;
    }
    if (ob_outbox_to_actor(self, OB_ACTOR_JOURNAL, &msg) != 0)
        return -1;
    if (self->drop_kinds < S_DROP_KINDS)
        self->drops[self->drop_kinds++] = (s_drop_kind_t){msg, self->count - 1};
    return 0;
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
    if (self->count > self->touched_count)
        self->touched_count = self->count;
    if (self->used > self->touched_bytes)
        self->touched_bytes = self->used;
    size_t envelope_bytes = self->touched_count * sizeof *self->envelopes;
    if (envelope_bytes > S_RESIDENT_BYTES || self->touched_bytes > S_RESIDENT_BYTES) {
        s_give_back(self->envelopes, self->envelopes_size, envelope_bytes);
        s_give_back(self->bytes, self->bytes_size, self->touched_bytes);
        self->touched_count = 0;
        self->touched_bytes = 0;
        self->give_backs++;
    }
    self->count = 0;
    self->used = 0;
    self->drop_kinds = 0;
}

uint64_t ob_outbox_give_backs(const ob_outbox_t *self)
{
    return self->give_backs;
}

uint64_t ob_outbox_overflows(const ob_outbox_t *self)
{
    return self->overflows;
}

#include "builtin_app.h"

#include "batch.h"
#include "log.h"
#include "submit.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Submitted payloads followed to their Lock, unless configured. */
#define S_TRACK_DEFAULT 1024
/* Own chunks that no payload here explains (a journal before a restart
   proposed them), remembered this many at most, for this many heights,
   with the digests of at most this many of their entries. */
#define S_UNCLAIMED         8
#define S_UNCLAIMED_HEIGHTS 64
#define S_UNCLAIMED_ENTRIES 4096
/* The queue's bytes, unless configured. */
#define S_QUEUE_BYTES_DEFAULT (64u << 20)
/* The adaptive bound never goes below this (a proposal still carries at
   least one payload): a few segments, so that heavy loss costs a chunk a
   retransmission or two, while a batch still spreads its signatures over
   a few payloads. */
#define S_BATCH_FLOOR 4096u
/* A counting filter of the (client, tag) pairs held (queued, proposed or
   followed): a new pair, the common case, is known new without a scan;
   a count above 0 (held, or a collision) means a scan decides. */
#define S_FILTER_BITS 20

/* A payload waiting in the queue, with the client to tell. */
typedef struct {
    uint8_t *data;
    size_t len;
    bool has_client;
    ob_client_id_t client;
    uint64_t tag;
} s_submission_t;

/* A submitted payload proposed as entry `index` of the chunk at `height`:
   the client hears when this node's chunk there carries `digest`, and
   when it locks. */
typedef struct {
    bool used;
    bool assigned; /* submit_assigned sent */
    uint64_t seq;  /* insertion order: the oldest goes first when full */
    ob_client_id_t client;
    uint64_t tag;
    uint64_t height;
    uint32_t index;
    uint8_t digest[32];
} s_tracked_t;

/* An own chunk below anything proposed here, that no followed payload
   claims: a journal before a restart proposed it, and its clients, which
   may not have heard "assigned", will submit its entries again. */
typedef struct {
    bool used;
    uint64_t height;
    uint8_t digest[32];
    uint8_t (*entries)[32]; /* each entry's digest; claimed ones zeroed */
    uint32_t entry_count;
} s_unclaimed_t;

/* Answers are sent per client and batch: at most this many clients with
   answers pending, each list at most this long (a few hundred answers). */
#define S_PENDING_CLIENTS 64
#define S_PENDING_BYTES   (64 * 1024)

typedef struct {
    ob_client_id_t client;
    uint8_t *buf; /* S_PENDING_BYTES, allocated on first use */
    size_t len;   /* bytes used, the header included */
    uint32_t count;
} s_pending_t;

struct _ob_builtin_app_t {
    ob_node_env_t env;
    ob_crypto_t *crypto;
    uint32_t batch_bytes; /* 0: off */
    uint32_t batch_limit; /* the bound now: batch_bytes, or less while chunks certify slowly */
    uint32_t batch_slow_ms;
    /* The last fresh proposal, timed until its certificate. */
    bool timing;
    uint64_t timed_height, timed_at;
    uint32_t timed_len;
    uint8_t timed_digest[32];

    s_submission_t *queue; /* ring */
    uint32_t queue_max, queue_head, queue_count;
    size_t queue_bytes, queue_bytes_max;
    uint16_t *held; /* the counting filter, 2^S_FILTER_BITS counts */

    /* The last proposal, kept until this node's chunk at its height shows
       it (or shows that it is lost): a proposal lost in a crash is served
       again. */
    bool has_handed;
    s_submission_t *handed; /* queue_max entries */
    uint32_t handed_count;
    uint64_t handed_height;
    uint8_t handed_digest[32];

    s_tracked_t *tracked;
    uint32_t track_max, track_count;
    uint64_t track_seq;
    uint32_t *track_free; /* a stack of unused entries */
    uint32_t track_free_count;

    /* the lowest height proposed from here, and the highest own one seen */
    bool has_passed;
    uint64_t lowest_passed;
    bool has_own_top;
    uint64_t own_top;
    s_unclaimed_t unclaimed[S_UNCLAIMED];
    uint32_t unclaimed_count, unclaimed_next;

    uint8_t *answer; /* an encoded answer */
    size_t answer_cap;
    /* Answers of this batch, one list per client (a proto/batch.h list
       of encoded answers), sent by ob_builtin_app_flush as one message
       each: a chunk's assigned and locked answers, and a burst's queued
       ones, cost net one message per client, not one per payload. */
    s_pending_t pending[S_PENDING_CLIENTS];
    size_t pending_count;
    ob_builtin_app_stats_t stats;
};

static void s_flush_one(ob_builtin_app_t *self, s_pending_t *p, ob_outbox_t *out)
{
    if (p->count == 0)
        return;
    ob_batch_put_header(p->buf, p->count);
    ob_imsg_t msg = {.type = OB_IMSG_CLIENT_ANSWER};
    msg.u.client_answer.client = (ob_blob_t){p->client.id, p->client.len};
    msg.u.client_answer.answers = (ob_blob_t){p->buf, (uint32_t)p->len};
    if (ob_outbox_to_actor(out, OB_ACTOR_NET, &msg) != 0)
        self->stats.answers_lost += p->count;
    else
        self->stats.answer_messages++;
    p->count = 0;
    p->len = OB_BATCH_HEADER_LEN;
}

void ob_builtin_app_flush(ob_builtin_app_t *self, ob_outbox_t *out)
{
    for (size_t i = 0; i < self->pending_count; i++)
        s_flush_one(self, &self->pending[i], out);
    self->pending_count = 0;
}

static uint32_t s_key(const ob_client_id_t *client, uint64_t tag)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (uint8_t i = 0; i < client->len; i++)
        h = (h ^ client->id[i]) * 1099511628211ull;
    for (int i = 0; i < 8; i++)
        h = (h ^ (uint8_t)(tag >> (8 * i))) * 1099511628211ull;
    return (uint32_t)(h ^ h >> 32) & ((1u << S_FILTER_BITS) - 1);
}

/* Each place a (client, tag) is held counts once: the queue (the
   proposed batch included) and the followed table. */
static void s_held_add(ob_builtin_app_t *self, const ob_client_id_t *client, uint64_t tag)
{
    uint16_t *count = &self->held[s_key(client, tag)];
    assert(*count < UINT16_MAX); /* at most queue_max + track_max pairs */
    ++*count;
}

static void s_held_remove(ob_builtin_app_t *self, const ob_client_id_t *client, uint64_t tag)
{
    uint16_t *count = &self->held[s_key(client, tag)];
    assert(*count > 0);
    --*count;
}

ob_builtin_app_t *ob_builtin_app_new(const ob_builtin_app_config_t *config, ob_why_t *why)
{
    ob_builtin_app_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_why(why, "builtin application: out of memory");
        return NULL;
    }
    self->env = config->env;
    uint32_t max = config->env.params.max_payload;
    self->batch_bytes = config->batch_bytes < max ? config->batch_bytes : max;
    self->batch_limit = self->batch_bytes;
    self->batch_slow_ms = config->batch_slow_ms;
    self->queue_max = config->queue_max ? config->queue_max : 1;
    self->queue_bytes_max = config->queue_bytes ? config->queue_bytes : S_QUEUE_BYTES_DEFAULT;
    self->track_max = config->track_max ? config->track_max : S_TRACK_DEFAULT;
    self->crypto = ob_crypto_new();
    self->queue = calloc(self->queue_max, sizeof *self->queue);
    self->handed = calloc(self->queue_max, sizeof *self->handed);
    self->tracked = calloc(self->track_max, sizeof *self->tracked);
    self->track_free = calloc(self->track_max, sizeof *self->track_free);
    self->held = calloc((size_t)1 << S_FILTER_BITS, sizeof *self->held);
    if (!self->crypto || !self->queue || !self->handed || !self->tracked || !self->track_free ||
        !self->held) {
        ob_why(why, "builtin application: out of memory or entropy");
        ob_builtin_app_destroy(&self);
        return NULL;
    }
    for (uint32_t i = 0; i < self->track_max; i++)
        self->track_free[self->track_free_count++] = self->track_max - 1 - i;
    return self;
}

static void s_unclaimed_remove(ob_builtin_app_t *self, s_unclaimed_t *u)
{
    free(u->entries);
    u->entries = NULL;
    u->used = false;
    self->unclaimed_count--;
}

static void s_handed_forget(ob_builtin_app_t *self, bool lost)
{
    if (!self->has_handed)
        return;
    for (uint32_t i = 0; i < self->handed_count; i++) {
        if (self->handed[i].has_client)
            s_held_remove(self, &self->handed[i].client, self->handed[i].tag);
        free(self->handed[i].data);
    }
    self->handed_count = 0;
    self->has_handed = false;
    if (lost)
        self->stats.handed_lost++;
}

void ob_builtin_app_destroy(ob_builtin_app_t **self_p)
{
    assert(self_p);
    ob_builtin_app_t *self = *self_p;
    if (!self)
        return;
    if (self->queue)
        for (uint32_t i = 0; i < self->queue_count; i++)
            free(self->queue[(self->queue_head + i) % self->queue_max].data);
    if (self->handed && self->held)
        s_handed_forget(self, false);
    for (uint32_t i = 0; i < S_UNCLAIMED; i++)
        free(self->unclaimed[i].entries);
    free(self->queue);
    free(self->handed);
    free(self->tracked);
    free(self->track_free);
    free(self->held);
    free(self->answer);
    for (size_t i = 0; i < S_PENDING_CLIENTS; i++)
        free(self->pending[i].buf);
    ob_crypto_destroy(&self->crypto);
    free(self);
    *self_p = NULL;
}

const ob_builtin_app_stats_t *ob_builtin_app_stats(const ob_builtin_app_t *self)
{
    return &self->stats;
}

uint32_t ob_builtin_app_queued(const ob_builtin_app_t *self)
{
    return self->queue_count;
}

uint32_t ob_builtin_app_batch_bytes(const ob_builtin_app_t *self)
{
    return self->batch_bytes;
}

uint32_t ob_builtin_app_batch_limit(const ob_builtin_app_t *self)
{
    return self->batch_limit;
}

/* --- answers to clients, through net ----------------------------------- */

static int s_answer(ob_builtin_app_t *self, const ob_client_id_t *client, const ob_imsg_t *answer,
                    ob_outbox_t *out)
{
    size_t len = ob_imsg_encoded_len(answer), written = 0;
    if (len > self->answer_cap) {
        uint8_t *grown = realloc(self->answer, len);
        if (!grown) {
            self->stats.answers_lost++;
            return -1;
        }
        self->answer = grown;
        self->answer_cap = len;
    }
    if (ob_imsg_encode(answer, self->answer, self->answer_cap, &written) != 0) {
        self->stats.answers_lost++;
        return -1;
    }
    /* Into this batch's list for the client (ob_builtin_app_flush sends
       it); a full table or a full list goes out first. */
    s_pending_t *p = NULL;
    for (size_t i = 0; i < self->pending_count && !p; i++)
        if (self->pending[i].client.len == client->len &&
            memcmp(self->pending[i].client.id, client->id, client->len) == 0)
            p = &self->pending[i];
    if (!p) {
        if (self->pending_count == S_PENDING_CLIENTS)
            ob_builtin_app_flush(self, out);
        p = &self->pending[self->pending_count++];
        p->client = *client;
        p->count = 0;
        p->len = OB_BATCH_HEADER_LEN;
    }
    if (p->len + OB_BATCH_ENTRY_LEN + written > S_PENDING_BYTES)
        s_flush_one(self, p, out);
    if (!p->buf) {
        p->buf = malloc(S_PENDING_BYTES);
        if (!p->buf) {
            self->stats.answers_lost++;
            return -1;
        }
    }
    ob_batch_put_entry(p->buf, &p->len, self->answer, (uint32_t)written);
    p->count++;
    return 0;
}

static void s_queued(ob_builtin_app_t *self, const ob_client_id_t *client, uint64_t tag,
                     ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_SUBMIT_QUEUED};
    msg.u.submit_queued.tag = tag;
    s_answer(self, client, &msg, out);
}

static void s_refuse(ob_builtin_app_t *self, const ob_client_id_t *client, uint64_t tag,
                     ob_submit_refusal_t reason, ob_outbox_t *out)
{
    self->stats.submit_refused++;
    self->stats.refused_by[(unsigned)reason < 8 ? (unsigned)reason : 0]++;
    if (!client)
        return;
    ob_imsg_t msg = {.type = OB_IMSG_SUBMIT_REFUSED};
    msg.u.submit_refused.tag = tag;
    msg.u.submit_refused.reason = (uint8_t)reason;
    s_answer(self, client, &msg, out);
}

/* --- following submitted payloads to their Lock ----------------------- */

static bool s_same_client(const ob_client_id_t *a, const ob_client_id_t *b)
{
    return a->len == b->len && memcmp(a->id, b->id, a->len) == 0;
}

static void s_track_remove(ob_builtin_app_t *self, s_tracked_t *entry)
{
    entry->used = false;
    self->track_count--;
    s_held_remove(self, &entry->client, entry->tag);
    self->track_free[self->track_free_count++] = (uint32_t)(entry - self->tracked);
}

static s_tracked_t *s_tracked_find(ob_builtin_app_t *self, const ob_client_id_t *client,
                                   uint64_t tag)
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

static s_tracked_t *s_track(ob_builtin_app_t *self, const ob_client_id_t *client, uint64_t tag,
                            uint64_t height, uint32_t index, const uint8_t digest[32])
{
    if (self->track_free_count == 0) {
        /* Full: the oldest is forgotten; its client follows it again
           (submit_follow) or waits in vain. */
        s_tracked_t *oldest = &self->tracked[0]; /* track_max >= 1, every entry used */
        for (uint32_t i = 1; i < self->track_max; i++)
            if (self->tracked[i].seq < oldest->seq)
                oldest = &self->tracked[i];
        s_track_remove(self, oldest);
        self->stats.track_evicted++;
    }
    s_tracked_t *slot = &self->tracked[self->track_free[--self->track_free_count]];
    *slot = (s_tracked_t){.used = true,
                          .seq = self->track_seq++,
                          .client = *client,
                          .tag = tag,
                          .height = height,
                          .index = index};
    memcpy(slot->digest, digest, 32);
    self->track_count++;
    s_held_add(self, client, tag);
    return slot;
}

static void s_send_assigned(ob_builtin_app_t *self, s_tracked_t *e, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_SUBMIT_ASSIGNED};
    msg.u.submit_assigned.tag = e->tag;
    memcpy(msg.u.submit_assigned.sequencer, self->env.self_key, 32);
    msg.u.submit_assigned.height = e->height;
    msg.u.submit_assigned.index = e->index;
    memcpy(msg.u.submit_assigned.payload, e->digest, 32);
    if (s_answer(self, &e->client, &msg, out) == 0) {
        e->assigned = true;
        self->stats.submit_assigned++;
    }
}

/* --- own chunks a restart left unclaimed -------------------------------- */

/* The digests of a chunk's entries: of each entry of its batch, or of the
   payload itself with batching off. */
static void s_unclaimed_entries(ob_builtin_app_t *self, s_unclaimed_t *u, const ob_chunk_t *chunk,
                                const uint8_t *data, size_t len)
{
    ob_batch_t batch;
    if (self->batch_bytes == 0 || !data || ob_batch_decode(&batch, data, len) != OB_OK) {
        u->entries = malloc(32);
        if (u->entries) {
            memcpy(u->entries[0], chunk->payload, 32);
            u->entry_count = 1;
        }
        return;
    }
    uint32_t count = batch.count < S_UNCLAIMED_ENTRIES ? batch.count : S_UNCLAIMED_ENTRIES;
    u->entries = malloc((size_t)count * 32);
    if (!u->entries)
        return;
    size_t offset = 0;
    ob_batch_entry_t entry;
    while (u->entry_count < count && ob_batch_next(&batch, &offset, &entry) == 0)
        ob_sha256(self->crypto, entry.data, entry.len, u->entries[u->entry_count++]);
}

/* Remembers an own chunk that nothing here explains: no followed payload
   claims it, and it is below every height proposed from here (or none
   was yet), so a journal before a restart proposed it. */
static void s_unclaimed_note(ob_builtin_app_t *self, const ob_chunk_t *chunk, bool claimed,
                             const uint8_t *data, size_t len)
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
    if (same || claimed || (self->has_passed && chunk->height >= self->lowest_passed) ||
        chunk->height + S_UNCLAIMED_HEIGHTS < self->own_top)
        return;
    s_unclaimed_t *slot = &self->unclaimed[self->unclaimed_next];
    self->unclaimed_next = (self->unclaimed_next + 1) % S_UNCLAIMED;
    if (slot->used)
        s_unclaimed_remove(self, slot);
    *slot = (s_unclaimed_t){.used = true, .height = chunk->height};
    memcpy(slot->digest, chunk->payload, 32);
    s_unclaimed_entries(self, slot, chunk, data, len);
    self->unclaimed_count++;
}

/* A new submit whose bytes are an entry of an unclaimed own chunk: it is
   that chunk's (queued and assigned at once; the journal sends the Lock
   it may hold), not proposed twice. */
static bool s_submit_claims(ob_builtin_app_t *self, const ob_client_id_t *client, uint64_t tag,
                            const uint8_t *data, size_t len, uint64_t *lock_query, ob_outbox_t *out)
{
    if (self->unclaimed_count == 0 || !client)
        return false;
    uint8_t digest[32];
    ob_sha256(self->crypto, data, len, digest);
    static const uint8_t zero[32];
    for (uint32_t i = 0; i < S_UNCLAIMED; i++) {
        s_unclaimed_t *u = &self->unclaimed[i];
        for (uint32_t k = 0; u->used && k < u->entry_count; k++) {
            if (memcmp(u->entries[k], digest, 32) != 0 || memcmp(digest, zero, 32) == 0)
                continue;
            self->stats.submit_claimed++;
            s_queued(self, client, tag, out);
            s_tracked_t *e = s_track(self, client, tag, u->height, k, u->digest);
            s_send_assigned(self, e, out);
            *lock_query = u->height;
            memset(u->entries[k], 0, 32); /* claimed */
            return true;
        }
    }
    return false;
}

/* --- the submit queue --------------------------------------------------- */

static bool s_is_sequencer(const ob_builtin_app_t *self, uint64_t epoch)
{
    const ob_keyset_t *sequencers = ob_epochs_sequencers(self->env.epochs, epoch);
    return sequencers && ob_keyset_contains(sequencers, self->env.self_key);
}

/* The largest payload a proposal can carry: with batching on, one entry
   alone in a batch of max_payload. */
static size_t s_max_entry(const ob_builtin_app_t *self)
{
    size_t max = self->env.params.max_payload;
    if (self->batch_bytes == 0)
        return max;
    size_t overhead = OB_BATCH_HEADER_LEN + OB_BATCH_ENTRY_LEN;
    return max > overhead ? max - overhead : 0;
}

static bool s_queued_has(const ob_builtin_app_t *self, const ob_client_id_t *client, uint64_t tag)
{
    for (uint32_t i = 0; i < self->queue_count; i++) {
        const s_submission_t *q = &self->queue[(self->queue_head + i) % self->queue_max];
        if (q->has_client && q->tag == tag && s_same_client(&q->client, client))
            return true;
    }
    return false;
}

static bool s_handed_has(const ob_builtin_app_t *self, const ob_client_id_t *client, uint64_t tag)
{
    for (uint32_t i = 0; self->has_handed && i < self->handed_count; i++) {
        const s_submission_t *h = &self->handed[i];
        if (h->has_client && h->tag == tag && s_same_client(&h->client, client))
            return true;
    }
    return false;
}

/* A submit of a payload held already (the client heard nothing and sent
   it again): told again where it stands, not queued twice. */
static bool s_submit_again(ob_builtin_app_t *self, const ob_client_id_t *client, uint64_t tag,
                           ob_outbox_t *out)
{
    if (self->held[s_key(client, tag)] == 0)
        return false; /* new: the common case, without a scan */
    s_tracked_t *e = s_tracked_find(self, client, tag);
    if (!e && !s_handed_has(self, client, tag) && !s_queued_has(self, client, tag))
        return false;
    self->stats.submit_again++;
    s_queued(self, client, tag, out);
    if (e && e->assigned)
        s_send_assigned(self, e, out);
    return true;
}

int ob_builtin_app_submit(ob_builtin_app_t *self, uint64_t epoch, const ob_client_id_t *client,
                          uint64_t tag, const uint8_t *data, size_t len, uint64_t *lock_query,
                          ob_outbox_t *out)
{
    if (client && s_submit_again(self, client, tag, out))
        return 0;
    if (!s_is_sequencer(self, epoch)) {
        s_refuse(self, client, tag, OB_SUBMIT_NOT_SEQUENCER, out);
        return -1;
    }
    if (len > s_max_entry(self)) {
        s_refuse(self, client, tag, OB_SUBMIT_TOO_LARGE, out);
        return -1;
    }
    if (s_submit_claims(self, client, tag, data, len, lock_query, out))
        return 1;
    if (self->queue_count == self->queue_max || len > self->queue_bytes_max - self->queue_bytes) {
        s_refuse(self, client, tag, OB_SUBMIT_QUEUE_FULL, out);
        return -1;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        s_refuse(self, client, tag, OB_SUBMIT_QUEUE_FULL, out);
        return -1;
    }
    if (len)
        memcpy(copy, data, len);
    s_submission_t *slot = &self->queue[(self->queue_head + self->queue_count) % self->queue_max];
    *slot = (s_submission_t){.data = copy, .len = len, .tag = tag};
    if (client) {
        slot->has_client = true;
        slot->client = *client;
        s_held_add(self, client, tag);
        s_queued(self, client, tag, out);
    }
    self->queue_bytes += len;
    self->queue_count++;
    self->stats.submitted++;
    self->stats.submit_bytes_queued += len;
    return 0;
}

void ob_builtin_app_follow(ob_builtin_app_t *self, const ob_client_id_t *client, uint64_t tag,
                           uint64_t height, uint32_t index, const uint8_t digest[32])
{
    self->stats.submit_follow++;
    s_tracked_t *e = s_tracked_find(self, client, tag);
    if (!e)
        e = s_track(self, client, tag, height, index, digest);
    e->height = height;
    e->index = index;
    memcpy(e->digest, digest, 32);
    e->assigned = true; /* the client knows */
    for (uint32_t i = 0; i < S_UNCLAIMED && self->unclaimed_count > 0; i++) {
        s_unclaimed_t *u = &self->unclaimed[i];
        if (u->used && u->height == height && memcmp(u->digest, digest, 32) == 0 &&
            index < u->entry_count)
            memset(u->entries[index], 0, 32); /* claimed by its client */
    }
}

/* --- proposing ---------------------------------------------------------- */

/* What was handed goes back to the front of the queue, in its order, to
   be proposed again (what does not fit is given up). */
static void s_handed_requeue(ob_builtin_app_t *self)
{
    for (uint32_t i = self->handed_count; i-- > 0;) {
        s_submission_t *h = &self->handed[i];
        if (self->queue_count == self->queue_max) {
            if (h->has_client)
                s_held_remove(self, &h->client, h->tag);
            free(h->data);
            self->stats.handed_lost++;
        } else {
            self->queue_head = (self->queue_head + self->queue_max - 1) % self->queue_max;
            self->queue[self->queue_head] = *h;
            self->queue_count++;
            self->queue_bytes += h->len;
            self->stats.requeued++;
        }
        h->data = NULL;
    }
    self->handed_count = 0;
    self->has_handed = false;
}

/* The payload of the handed submissions, into a new slot. */
static int s_write_handed(ob_builtin_app_t *self, uint16_t owner, ob_handle_t *handle)
{
    size_t len = self->handed[0].len;
    if (self->batch_bytes) {
        len = OB_BATCH_HEADER_LEN;
        for (uint32_t i = 0; i < self->handed_count; i++)
            len += OB_BATCH_ENTRY_LEN + self->handed[i].len;
    }
    assert(len <= self->env.params.max_payload);
    uint8_t *slot = NULL;
    if (ob_arena_alloc(self->env.arena, owner, (uint32_t)len, &slot, handle) != 0)
        return -1;
    if (self->batch_bytes) {
        ob_batch_put_header(slot, self->handed_count);
        size_t at = OB_BATCH_HEADER_LEN;
        for (uint32_t i = 0; i < self->handed_count; i++)
            ob_batch_put_entry(slot, &at, self->handed[i].data, (uint32_t)self->handed[i].len);
    } else if (len) {
        memcpy(slot, self->handed[0].data, len);
    }
    if (ob_arena_seal(self->env.arena, self->crypto, handle) != 0) {
        ob_arena_release(self->env.arena, handle, owner);
        return -1;
    }
    return 0;
}

int ob_builtin_app_propose(ob_builtin_app_t *self, uint64_t height, uint64_t now, uint16_t owner,
                           ob_handle_t *handle)
{
    if (self->has_handed) {
        if (self->handed_height == height) {
            if (s_write_handed(self, owner, handle) != 0)
                return -1;
            self->stats.reserved++;
            return 0;
        }
        if (height > self->handed_height)
            s_handed_forget(self, true); /* its height passed without it being seen */
        else
            s_handed_requeue(self); /* the journal went back: propose it again */
    }
    if (self->queue_count == 0)
        return 1;
    /* Oldest first, up to the bound; always at least one. */
    size_t used = OB_BATCH_HEADER_LEN;
    uint32_t take = 0;
    while (take < self->queue_count) {
        const s_submission_t *q = &self->queue[(self->queue_head + take) % self->queue_max];
        size_t more = OB_BATCH_ENTRY_LEN + q->len;
        if (take > 0 && (self->batch_limit == 0 || used + more > self->batch_limit))
            break;
        used += more;
        take++;
    }
    for (uint32_t i = 0; i < take; i++) {
        s_submission_t *q = &self->queue[(self->queue_head + i) % self->queue_max];
        self->handed[i] = *q;
        q->data = NULL;
    }
    self->handed_count = take;
    if (s_write_handed(self, owner, handle) != 0) {
        /* No slot: back to the front, for the journal's next ask. */
        for (uint32_t i = 0; i < take; i++)
            self->queue[(self->queue_head + i) % self->queue_max] = self->handed[i];
        self->handed_count = 0;
        return -1;
    }
    for (uint32_t i = 0; i < take; i++)
        self->queue_bytes -= self->handed[i].len;
    self->queue_head = (self->queue_head + take) % self->queue_max;
    self->queue_count -= take;
    self->has_handed = true;
    self->handed_height = height;
    memcpy(self->handed_digest, handle->digest, 32);
    if (!self->has_passed || height < self->lowest_passed)
        self->lowest_passed = height;
    self->has_passed = true;
    self->stats.proposals++;
    self->stats.batched_entries += take;
    /* Timed from its first proposal only: served again after a crash, a
       payload's wait so far is part of its chunk's time. */
    self->timing = true;
    self->timed_height = height;
    self->timed_at = now;
    self->timed_len = handle->len;
    memcpy(self->timed_digest, handle->digest, 32);
    for (uint32_t i = 0; i < take; i++)
        if (self->handed[i].has_client)
            s_track(self, &self->handed[i].client, self->handed[i].tag, height, i, handle->digest);
    return 0;
}

void ob_builtin_app_certified(ob_builtin_app_t *self, const ob_chunk_t *chunk, uint64_t now)
{
    if (!self->timing || chunk->height != self->timed_height ||
        memcmp(chunk->sequencer, self->env.self_key, 32) != 0 ||
        memcmp(chunk->payload, self->timed_digest, 32) != 0)
        return;
    self->timing = false;
    uint64_t took = now > self->timed_at ? now - self->timed_at : 0;
    self->stats.batch_timed++;
    self->stats.batch_last_ms = took;
    if (self->batch_bytes == 0 || self->batch_slow_ms == 0)
        return;
    uint32_t floor = self->batch_bytes < S_BATCH_FLOOR ? self->batch_bytes : S_BATCH_FLOOR;
    if (took > self->batch_slow_ms) {
        /* Slow in proportion to its bytes: the TCP streams of a lossy
           link move a chunk at a rate, not in a round trip. CPU saturation
           stays far below batch_slow_ms (scripts/bench's p99 of proposal
           to certificate is under 300 ms in every configuration), so it
           never shrinks a bound, where more signatures per payload would
           slow chunks further still. */
        uint64_t want = (uint64_t)self->timed_len * self->batch_slow_ms / took;
        if (want < floor)
            want = floor;
        if (want < self->batch_limit) {
            self->batch_limit = (uint32_t)want;
            self->stats.batch_shrunk++;
        }
    } else if (took * 2 <= self->batch_slow_ms && self->batch_limit < self->batch_bytes &&
               (uint64_t)self->timed_len * 2 >= self->batch_limit) {
        /* Fast, and the bound (not an empty queue) made its size: a
           quarter more, at least S_BATCH_FLOOR. Slower than the shrink,
           as TCP's windows: under heavy loss a few chunks certify fast by
           luck, and doubling on each let the bound reach 256 KiB in six
           and the next chunk stall for seconds. */
        uint64_t step = self->batch_limit / 4 > floor ? self->batch_limit / 4 : floor;
        uint64_t grown = (uint64_t)self->batch_limit + step;
        self->batch_limit = grown < self->batch_bytes ? (uint32_t)grown : self->batch_bytes;
        self->stats.batch_grown++;
    }
    assert(self->batch_limit >= floor && self->batch_limit <= self->batch_bytes);
}

bool ob_builtin_app_verify(ob_builtin_app_t *self, const uint8_t *data, size_t len)
{
    ob_batch_t batch;
    bool valid = self->batch_bytes == 0 || ob_batch_decode(&batch, data, len) == OB_OK;
    if (valid)
        self->stats.verdicts_valid++;
    else
        self->stats.verdicts_invalid++;
    return valid;
}

/* --- own chunks and their Locks ---------------------------------------- */

void ob_builtin_app_own_chunk(ob_builtin_app_t *self, const ob_chunk_t *chunk, const uint8_t *data,
                              size_t len, ob_outbox_t *out)
{
    if (memcmp(chunk->sequencer, self->env.self_key, 32) != 0)
        return;
    bool claimed = false;
    for (uint32_t i = 0; i < self->track_max && self->track_count > 0 && !claimed; i++) {
        const s_tracked_t *e = &self->tracked[i];
        claimed =
            e->used && e->height == chunk->height && memcmp(e->digest, chunk->payload, 32) == 0;
    }
    s_unclaimed_note(self, chunk, claimed, data, len);
    if (self->has_handed) {
        if (chunk->height == self->handed_height) {
            if (memcmp(chunk->payload, self->handed_digest, 32) == 0)
                s_handed_forget(self, false);
            else
                s_handed_requeue(self); /* its height went to another payload */
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

void ob_builtin_app_lock(ob_builtin_app_t *self, const ob_lock_t *lock, const uint8_t *bytes,
                         size_t len, ob_outbox_t *out)
{
    if (memcmp(lock->chunk.sequencer, self->env.self_key, 32) != 0)
        return;
    ob_builtin_app_own_chunk(self, &lock->chunk, NULL, 0, out);
    for (uint32_t i = 0; i < self->track_max && self->track_count > 0; i++) {
        s_tracked_t *e = &self->tracked[i];
        if (!e->used || e->height != lock->chunk.height ||
            memcmp(e->digest, lock->chunk.payload, 32) != 0)
            continue;
        ob_imsg_t msg = {.type = OB_IMSG_SUBMIT_LOCKED};
        msg.u.submit_locked.tag = e->tag;
        msg.u.submit_locked.index = e->index;
        msg.u.submit_locked.lock = (ob_blob_t){bytes, (uint32_t)len};
        if (s_answer(self, &e->client, &msg, out) == 0)
            self->stats.submit_locked++;
        s_track_remove(self, e);
    }
}

/*  net's application and submit sockets (SPEC §5): forwarding only.
    An external application's frames are decoded strictly and bound to its
    connection's credentials; the journal's requests for it go out as
    app_* messages. A client's submit is decoded strictly, its bytes put in
    an arena slot and passed to the journal (`submitted`), whose built-in
    application answers (`client_answer`); net refuses only what it can
    judge alone: a frame that does not decode, a payload over max_payload,
    any submit while the application is external. */
#include "batch.h"
#include "net_internal.h"

#include "log.h"
#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the journal's requests, for whichever application speaks --------- */

static void s_ask_payload(ob_net_t *self, ob_outbox_t *out)
{
    ob_imsg_t ask = {.type = OB_IMSG_APP_ASK_PAYLOAD};
    ask.u.app_ask_payload.epoch = self->propose_epoch;
    ask.u.app_ask_payload.height = self->propose_height;
    ob_outbox_to_app(out, &ask);
}

void ob_net_on_app_propose(ob_net_t *self, const ob_imsg_app_propose_t *in, ob_outbox_t *out)
{
    if (self->application == OB_NET_APP_BUILTIN)
        return; /* the journal's built-in application proposes, not net */
    self->propose_pending = true;
    self->propose_epoch = in->epoch;
    self->propose_height = in->height;
    if (self->app_attached)
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
/* The bytes of a slot net holds, copied to self->scratch (the copy is what
   was hashed, so what goes out is what the digest names): 0, or -1 if the
   slot is stale, its bytes are not its digest's, or there is no memory. */
static int s_copy_checked(ob_net_t *self, const ob_handle_t *handle)
{
    const uint8_t *bytes = ob_arena_get(self->env.arena, handle);
    size_t len = handle->len;
    if (!bytes)
        return -1;
    if (len > self->scratch_cap) {
        uint8_t *grown = realloc(self->scratch, len);
        if (!grown)
            return -1;
        self->scratch = grown;
        self->scratch_cap = len;
    }
    if (len)
        memcpy(self->scratch, bytes, len);
    uint8_t digest[32];
    ob_sha256(self->crypto, self->scratch, len, digest);
    return memcmp(digest, handle->digest, 32) == 0 ? 0 : -1;
}

static void s_ask_verdict(ob_net_t *self, const ob_imsg_app_verify_t *in, ob_outbox_t *out)
{
    if (s_copy_checked(self, &in->payload) != 0) {
        self->stats.app_asks_stale++;
        return;
    }
    if (memcmp(in->payload.digest, in->chunk.payload, 32) != 0) {
        ob_net_app_verdict(self, &in->chunk, false, out); /* not the chunk's payload */
        return;
    }
    ob_imsg_t ask = {.type = OB_IMSG_APP_ASK_VERDICT};
    ask.u.app_ask_verdict.chunk = in->chunk;
    ask.u.app_ask_verdict.data = (ob_blob_t){self->scratch, in->payload.len};
    ob_outbox_to_app(out, &ask);
}

void ob_net_on_app_verify(ob_net_t *self, const ob_imsg_app_verify_t *in, ob_outbox_t *out)
{
    if (ob_arena_take(self->env.arena, &in->payload, OB_ACTOR_NET) != 0)
        return; /* stale: the sequencer's rebroadcast brings it back */
    ob_net_hold(self, &in->payload);
    if (self->application == OB_NET_APP_EXTERNAL) {
        /* Absent, it gives no verdict: its absence never overrules it
           (SPEC §5). The journal asks again once one attaches. */
        if (self->app_attached)
            s_ask_verdict(self, in, out);
        else
            self->stats.app_verdicts_owed++;
        return;
    }
    /* The built-in application verifies in the journal: nothing to ask. */
}

void ob_net_lock_delivered(ob_net_t *self, const ob_chunk_t *chunk, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_LOCK_DELIVERED};
    msg.u.lock_delivered.chunk = *chunk;
    ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg);
    (void)self;
}

void ob_net_on_report_tip(ob_net_t *self, const ob_imsg_report_tip_t *in, ob_outbox_t *out)
{
    self->stats.reports_tip++;
    if (self->app_attached) {
        ob_imsg_t tip = {.type = OB_IMSG_APP_TIP};
        tip.u.app_tip.chunk = in->chunk;
        ob_outbox_to_app(out, &tip);
    }
}

/* Delivered once the application confirms; the journal redelivers till
   then. (The built-in application has its Locks in the journal.) */
void ob_net_on_report_lock(ob_net_t *self, const ob_imsg_report_lock_t *in, ob_outbox_t *out)
{
    self->stats.reports_lock++;
    if (self->app_attached) {
        ob_imsg_t report = {.type = OB_IMSG_APP_LOCK};
        report.u.app_lock.lock = in->lock;
        ob_outbox_to_app(out, &report);
    }
}

void ob_net_on_report_evidence(ob_net_t *self, const ob_imsg_report_evidence_t *in,
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

/* --- fetch on request (SPEC §3 Asking, "on request") -------------------

   net keeps no state per request: fetch_request names the asker (origin,
   and a client's routing id) and the journal's fetch_answer names it back,
   so the journal's table of requests followed is the only bound needed. */

static bool s_header_is(const uint8_t *frame, size_t len, ob_imsg_type_t type)
{
    return len >= 2 && frame[0] == (type >> 8) && frame[1] == (type & 0xff);
}

/* The tag of a frame whose header says `type` but that did not decode:
   its answer can still name it. false if there is none to read. */
static bool s_salvage_tag(const uint8_t *frame, size_t len, ob_imsg_type_t type, uint64_t *tag)
{
    *tag = 0;
    if (len < OB_IMSG_HEADER_LEN + 8 || !s_header_is(frame, len, type))
        return false;
    for (int i = 0; i < 8; i++)
        *tag = *tag << 8 | frame[OB_IMSG_HEADER_LEN + i];
    return true;
}

static bool s_status_known(uint8_t status)
{
    switch ((ob_fetch_status_t)status) {
    case OB_FETCH_FOUND:
    case OB_FETCH_NOT_FOUND:
    case OB_FETCH_BUSY:
    case OB_FETCH_MALFORMED:
        return true;
    }
    return false;
}

/* Tells the asker `reason`: a client (`client` set) or the application. */
static void s_fetch_failed(ob_net_t *self, const ob_client_id_t *client, uint64_t tag,
                           ob_fetch_status_t reason, ob_outbox_t *out)
{
    ob_imsg_t msg;
    int rc;
    if (client) {
        msg = (ob_imsg_t){.type = OB_IMSG_FETCH_FAILED};
        msg.u.fetch_failed.tag = tag;
        msg.u.fetch_failed.reason = (uint8_t)reason;
        rc = ob_outbox_to_client(out, client, &msg);
    } else {
        msg = (ob_imsg_t){.type = OB_IMSG_APP_FETCH_FAILED};
        msg.u.app_fetch_failed.tag = tag;
        msg.u.app_fetch_failed.reason = (uint8_t)reason;
        rc = ob_outbox_to_app(out, &msg);
    }
    if (rc != 0) {
        self->stats.fetch_undeliverable++;
        return;
    }
    self->stats.fetch_failed_sent[reason]++;
}

/* A request, to the journal; an outbox too full to take it is the node
   being busy, and the asker hears so (it asks again). */
static void s_fetch_request(ob_net_t *self, const ob_client_id_t *client, uint64_t tag,
                            const uint8_t sequencer[32], uint64_t height, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_FETCH_REQUEST};
    ob_imsg_fetch_request_t *request = &msg.u.fetch_request;
    request->origin = client ? OB_NET_FETCH_FROM_CLIENT : OB_NET_FETCH_FROM_APP;
    if (client)
        request->client = (ob_blob_t){client->id, client->len};
    request->tag = tag;
    memcpy(request->sequencer, sequencer, 32);
    request->height = height;
    if (ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg) != 0) {
        s_fetch_failed(self, client, tag, OB_FETCH_BUSY, out);
        return;
    }
    if (client)
        self->stats.fetch_requests_client++;
    else
        self->stats.fetch_requests_app++;
}

/* A malformed fetch (or app_fetch: `type`) from the asker: answered
   malformed if its tag can be read, else only counted. */
static void s_fetch_malformed(ob_net_t *self, const ob_client_id_t *client, ob_imsg_type_t type,
                              const uint8_t *frame, size_t len, ob_error_t why, ob_outbox_t *out)
{
    ob_net_drop(self, why, NULL, out);
    uint64_t tag;
    if (!s_salvage_tag(frame, len, type, &tag)) {
        self->stats.fetch_unanswerable++;
        return;
    }
    self->stats.fetch_malformed++;
    s_fetch_failed(self, client, tag, OB_FETCH_MALFORMED, out);
}

/* The bytes of a found answer, checked (s_copy_checked) and against the
   Lock: -1 if anything is off, which the asker hears as busy. */
static int s_found_bytes(ob_net_t *self, const ob_imsg_fetch_answer_t *in)
{
    if (!in->has_payload || s_copy_checked(self, &in->payload) != 0)
        return -1;
    ob_lock_t lock;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(self->env.epochs);
    if (ob_lock_decode(&lock, in->lock.data, in->lock.len, &lookup) != OB_OK)
        return -1;
    return memcmp(lock.chunk.payload, in->payload.digest, 32) == 0 ? 0 : -1;
}

static void s_fetch_found(ob_net_t *self, const ob_client_id_t *client,
                          const ob_imsg_fetch_answer_t *in, ob_outbox_t *out)
{
    ob_blob_t data = {self->scratch, in->payload.len};
    ob_imsg_t msg;
    int rc;
    if (client) {
        msg = (ob_imsg_t){.type = OB_IMSG_FETCH_FOUND};
        msg.u.fetch_found.tag = in->tag;
        msg.u.fetch_found.lock = in->lock;
        msg.u.fetch_found.data = data;
        rc = ob_outbox_to_client(out, client, &msg);
    } else {
        msg = (ob_imsg_t){.type = OB_IMSG_APP_FETCH_FOUND};
        msg.u.app_fetch_found.tag = in->tag;
        msg.u.app_fetch_found.lock = in->lock;
        msg.u.app_fetch_found.data = data;
        rc = ob_outbox_to_app(out, &msg);
    }
    if (rc != 0) {
        self->stats.fetch_undeliverable++;
        return;
    }
    self->stats.fetch_found_sent++;
}

/* The outbox copies the bytes it encodes, so the slot goes back at once,
   whatever became of the answer. */
void ob_net_on_fetch_answer(ob_net_t *self, const ob_imsg_fetch_answer_t *in, ob_outbox_t *out)
{
    bool held = in->has_payload && ob_arena_take(self->env.arena, &in->payload, OB_ACTOR_NET) == 0;
    ob_client_id_t client = {.len = (uint8_t)in->client.len};
    bool to_client = in->origin == OB_NET_FETCH_FROM_CLIENT;
    if (to_client && in->client.len >= 1 && in->client.len <= OB_CLIENT_ID_MAX)
        memcpy(client.id, in->client.data, client.len);
    else if (to_client || in->origin != OB_NET_FETCH_FROM_APP || !self->app_attached) {
        /* No such asker (the application went, or the journal erred). */
        self->stats.fetch_undeliverable++;
        if (held)
            ob_arena_release(self->env.arena, &in->payload, OB_ACTOR_NET);
        return;
    }
    const ob_client_id_t *asker = to_client ? &client : NULL;
    if (in->status == OB_FETCH_FOUND && held && s_found_bytes(self, in) == 0)
        s_fetch_found(self, asker, in, out);
    else if (in->status == OB_FETCH_FOUND || !s_status_known(in->status)) {
        /* A stale slot, or an answer that does not hold together: the
           asker asks again. */
        self->stats.fetch_answers_broken++;
        s_fetch_failed(self, asker, in->tag, OB_FETCH_BUSY, out);
    } else
        s_fetch_failed(self, asker, in->tag, (ob_fetch_status_t)in->status, out);
    if (held)
        ob_arena_release(self->env.arena, &in->payload, OB_ACTOR_NET);
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
    if (self->propose_pending && height == self->propose_height)
        self->propose_pending = false;
    return 0;
}

static void s_app_drop(ob_net_t *self, ob_error_t why, ob_outbox_t *out)
{
    self->stats.app_dropped++;
    ob_net_drop(self, why, NULL, out);
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
    if (rc != OB_OK && self->app_attached && s_header_is(frame, len, OB_IMSG_APP_FETCH)) {
        self->stats.app_dropped++;
        s_fetch_malformed(self, NULL, OB_IMSG_APP_FETCH, frame, len, rc, out);
        return;
    }
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
    case OB_APP_TO_NET_APP_FETCH:
        self->stats.app_in++;
        s_fetch_request(self, NULL, msg.u.app_fetch.tag, msg.u.app_fetch.sequencer,
                        msg.u.app_fetch.height, out);
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

/* The clients heard from. The key is a whole ob_client_id_t, zero-padded
   past its length, so that hashing and comparing all of it is exact. */
static size_t s_client_hash(const void *key)
{
    const uint8_t *bytes = key;
    size_t hash = 14695981039346656037ull; /* FNV-1a */
    for (size_t i = 0; i < sizeof(ob_client_id_t); i++)
        hash = (hash ^ bytes[i]) * 1099511628211ull;
    return hash;
}

static int s_client_compare(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(ob_client_id_t));
}

zhashx_t *ob_net_client_index_new(void)
{
    zhashx_t *index = zhashx_new();
    if (!index)
        return NULL;
    /* Keys and values point into the net's own table: nothing to copy or free. */
    zhashx_set_key_hasher(index, s_client_hash);
    zhashx_set_key_comparator(index, s_client_compare);
    zhashx_set_key_duplicator(index, NULL);
    zhashx_set_key_destructor(index, NULL);
    return index;
}

static void s_note_client(ob_net_t *self, const ob_client_id_t *client)
{
    ob_client_id_t key;
    memset(&key, 0, sizeof key);
    key.len = client->len;
    memcpy(key.id, client->id, client->len);
    if (zhashx_lookup(self->client_index, &key))
        return;
    ob_client_id_t *slot = &self->clients[self->client_next];
    if (self->client_count == OB_NET_CLIENTS)
        zhashx_delete(self->client_index, slot); /* the one noted longest ago */
    else
        self->client_count++;
    *slot = key;
    self->client_next = (self->client_next + 1) % OB_NET_CLIENTS;
    if (zhashx_insert(self->client_index, slot, slot) != 0) {
        /* Out of memory: this client is told nothing, and waits for its own silence. */
        memset(slot, 0, sizeof *slot);
    }
    self->stats.clients_known = zhashx_size(self->client_index);
}

/* The journal restarted and its built-in application forgot every
   payload it held: each client heard from sends again now, not after
   its silence (proto/SPEC.md §5.3). */
void ob_net_on_submits_forgotten(ob_net_t *self, ob_outbox_t *out)
{
    self->stats.journal_starts++;
    ob_imsg_t msg = {.type = OB_IMSG_SUBMIT_FORGOTTEN};
    for (size_t i = 0; i < self->client_count; i++) {
        const ob_client_id_t *client = &self->clients[i];
        if (client->len == 0 || !zhashx_lookup(self->client_index, client))
            continue;
        if (ob_outbox_to_client(out, client, &msg) == 0)
            self->stats.clients_told++;
    }
}

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

static void s_on_follow(ob_net_t *self, const ob_client_id_t *client,
                        const ob_imsg_submit_follow_t *in, ob_outbox_t *out)
{
    self->stats.submit_follow++;
    if (self->application == OB_NET_APP_EXTERNAL)
        return; /* nothing was assigned here: no answer */
    ob_imsg_t msg = {.type = OB_IMSG_CLIENT_FOLLOW};
    msg.u.client_follow.client = (ob_blob_t){client->id, client->len};
    msg.u.client_follow.tag = in->tag;
    msg.u.client_follow.height = in->height;
    msg.u.client_follow.index = in->index;
    memcpy(msg.u.client_follow.payload, in->payload, 32);
    ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg);
}

void ob_net_on_client(ob_net_t *self, const ob_client_id_t *client, const uint8_t *frame,
                      size_t len, ob_outbox_t *out)
{
    self->stats.clients_in++;
    if (client->len == 0 || client->len > OB_CLIENT_ID_MAX) {
        self->stats.client_unanswerable++;
        return;
    }
    s_note_client(self, client);
    ob_imsg_t msg;
    ob_error_t rc = ob_imsg_decode(&msg, frame, len);
    if (rc == OB_OK && msg.type == OB_IMSG_SUBMIT_FOLLOW) {
        s_on_follow(self, client, &msg.u.submit_follow, out);
        return;
    }
    if (rc == OB_OK && msg.type == OB_IMSG_FETCH) {
        s_fetch_request(self, client, msg.u.fetch.tag, msg.u.fetch.sequencer, msg.u.fetch.height,
                        out);
        return;
    }
    uint64_t tag;
    if (rc != OB_OK && s_header_is(frame, len, OB_IMSG_FETCH)) {
        s_fetch_malformed(self, client, OB_IMSG_FETCH, frame, len, rc, out);
        return;
    }
    if (rc != OB_OK || msg.type != OB_IMSG_SUBMIT) {
        ob_net_drop(self, rc != OB_OK ? rc : OB_ERR_UNKNOWN_TYPE, NULL, out);
        s_salvage_tag(frame, len, OB_IMSG_SUBMIT, &tag);
        s_refuse(self, client, tag,
                 rc == OB_ERR_TOO_LARGE ? OB_SUBMIT_TOO_LARGE : OB_SUBMIT_MALFORMED, out);
        return;
    }
    const ob_imsg_submit_t *in = &msg.u.submit;
    if (self->application == OB_NET_APP_EXTERNAL) {
        s_refuse(self, client, in->tag, OB_SUBMIT_APP_ATTACHED, out);
        return;
    }
    if (in->data.len > self->env.params.max_payload) {
        s_refuse(self, client, in->tag, OB_SUBMIT_TOO_LARGE, out);
        return;
    }
    ob_imsg_t pass = {.type = OB_IMSG_SUBMITTED};
    pass.u.submitted.client = (ob_blob_t){client->id, client->len};
    pass.u.submitted.tag = in->tag;
    if (ob_arena_put(self->env.arena, self->crypto, OB_ACTOR_NET, in->data.data, in->data.len,
                     &pass.u.submitted.payload) != 0) {
        /* No slot: the node is busy; the client hears so and retries. */
        self->stats.arena_full++;
        s_refuse(self, client, in->tag, OB_SUBMIT_QUEUE_FULL, out);
        return;
    }
    if (ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &pass) != 0) {
        ob_arena_release(self->env.arena, &pass.u.submitted.payload, OB_ACTOR_NET);
        s_refuse(self, client, in->tag, OB_SUBMIT_QUEUE_FULL, out);
        return;
    }
    self->stats.submitted++;
}

/* The built-in application's answer for a client: only the answers a
   client may hear, decoded strictly; anything else is dropped (it is the
   journal's bug, never sent to a client). */
void ob_net_on_client_answer(ob_net_t *self, const ob_imsg_client_answer_t *in, ob_outbox_t *out)
{
    if (in->client.len == 0 || in->client.len > OB_CLIENT_ID_MAX) {
        ob_net_drop(self, OB_ERR_TOO_LARGE, NULL, out);
        return;
    }
    ob_batch_t list;
    ob_error_t rc = ob_batch_decode(&list, in->answers.data, in->answers.len);
    if (rc != OB_OK) {
        ob_net_drop(self, rc, NULL, out);
        return;
    }
    ob_client_id_t client = {.len = (uint8_t)in->client.len};
    memcpy(client.id, in->client.data, client.len);
    size_t offset = 0;
    ob_batch_entry_t entry;
    while (ob_batch_next(&list, &offset, &entry) == 0) {
        ob_imsg_t answer;
        rc = ob_imsg_decode(&answer, entry.data, entry.len);
        if (rc != OB_OK) {
            ob_net_drop(self, rc, NULL, out);
            continue;
        }
        if (answer.type != OB_IMSG_SUBMIT_QUEUED && answer.type != OB_IMSG_SUBMIT_REFUSED &&
            answer.type != OB_IMSG_SUBMIT_ASSIGNED && answer.type != OB_IMSG_SUBMIT_LOCKED) {
            ob_net_drop(self, OB_ERR_UNKNOWN_TYPE, NULL, out);
            continue;
        }
        if (ob_outbox_to_client(out, &client, &answer) != 0)
            continue;
        if (answer.type == OB_IMSG_SUBMIT_ASSIGNED)
            self->stats.submit_assigned++;
        else if (answer.type == OB_IMSG_SUBMIT_LOCKED)
            self->stats.submit_locked++;
        else if (answer.type == OB_IMSG_SUBMIT_REFUSED)
            self->stats.submit_refused++;
    }
}

#include "obcast_client.h"

#include "imsg.h"
#include "batch.h"
#include "submit.h"
#include "wire.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_OUTSTANDING 1024
/* A payload resent without an answer waits twice as long each time, up to
   this many times resend_ms. */
#define S_BACKOFF_MAX 16
#define S_ROUTING_ID  16
/* The longest Lock: a full certificate. */
#define S_MAX_LOCK (OB_CHUNK_LEN + 8 + 2 + (size_t)OB_MAX_VALIDATORS * OB_CERT_ENTRY_LEN)
/* The largest answer: a fetch_found of such a Lock and the largest blob
   a message may carry (the client knows no manifest's max_payload). */
#define S_MAX_ANSWER (OB_IMSG_HEADER_LEN + 8 + 4 + S_MAX_LOCK + 4 + (size_t)OB_IMSG_BLOB_MAX)

typedef enum {
    S_SENT,
    S_QUEUED,
    S_ASSIGNED,
    S_FETCHING, /* not a payload: a fetch of (sequencer, height), unanswered */
} s_state_t;

/* A payload submitted and not yet locked or refused, or a fetch not yet
   answered. A payload's bytes are kept until it is assigned: until then a
   restart of the node's net may lose it, and it is submitted again. */
typedef struct {
    bool used;
    s_state_t state;
    uint64_t tag;
    uint8_t digest[32];
    /* S_ASSIGNED: entry `index` of the chunk at `height`; S_FETCHING: the
       height asked, of `sequencer` */
    uint64_t height;
    uint32_t index;
    uint8_t sequencer[32];
    uint8_t chunk_digest[32]; /* S_ASSIGNED: the chunk's payload (its batch) */
    uint8_t *data;            /* until S_ASSIGNED */
    size_t len;
    int64_t heard_ms;   /* the last answer about it, or its last (re)send */
    int64_t silence_ms; /* how long a silence before it is sent again */
} s_pending_t;

struct _obcast_client_t {
    zsock_t *sock;
    char *endpoint;
    uint64_t next_tag;
    uint8_t routing_id[S_ROUTING_ID];
    s_pending_t *pending;
    uint32_t max_outstanding, outstanding;
    int64_t resend_ms;   /* 0: never */
    int64_t next_due_ms; /* no resend is due before; INT64_MAX: none */
    /* The last payload assigned or locked, and when: the node's queue and
       chain go in order, so the payloads behind it are waiting their turn,
       not lost. */
    int64_t moved_ms;
    uint64_t moved_tag;
    zmq_msg_t last; /* the last answer: a Lock event views into it */
    bool has_last;
    obcast_client_stats_t stats;
    char error[OBCAST_CLIENT_ERROR_LEN];
};

static void s_error(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_error(char *out, size_t len, const char *fmt, ...)
{
    if (!out || len == 0)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(out, len, fmt, args);
    va_end(args);
}

static void s_hex(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

static int s_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int written = 0;
    return EVP_Digest(data, len, out, &written, EVP_sha256(), NULL) == 1 && written == 32 ? 0 : -1;
}

static bool s_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

const char *obcast_client_event_name(obcast_client_event_kind_t kind)
{
    switch (kind) {
    case OBCAST_EVENT_QUEUED:
        return "queued";
    case OBCAST_EVENT_REFUSED:
        return "refused";
    case OBCAST_EVENT_ASSIGNED:
        return "assigned";
    case OBCAST_EVENT_LOCKED:
        return "locked";
    case OBCAST_EVENT_ERROR:
        return "error";
    case OBCAST_EVENT_FETCHED:
        return "fetched";
    case OBCAST_EVENT_FETCH_FAILED:
        return "fetch_failed";
    }
    return "unknown";
}

/* CURVE client options for tcp://: the node's key and this client's
   certificate. */
static int s_curve(zsock_t *sock, const char *endpoint, const obcast_client_options_t *options,
                   char *error, size_t error_len)
{
    const char *server_key = options ? options->server_key : NULL;
    if (!server_key || strlen(server_key) != 40) {
        s_error(error, error_len,
                "%s: a tcp endpoint needs the node's CURVE public key (40 Z85 characters)",
                endpoint);
        return -1;
    }
    uint8_t decoded[32];
    if (!zmq_z85_decode(decoded, server_key)) {
        s_error(error, error_len, "%s: the node's CURVE key is not Z85: '%s'", endpoint,
                server_key);
        return -1;
    }
    zcert_t *loaded = NULL;
    zcert_t *cert = options->cert;
    if (!cert && options->cert_file) {
        loaded = zcert_load(options->cert_file);
        if (!loaded) {
            s_error(error, error_len, "%s: cannot load the CURVE certificate %s (and its _secret)",
                    endpoint, options->cert_file);
            return -1;
        }
        cert = loaded;
    }
    if (!cert) {
        s_error(error, error_len, "%s: a tcp endpoint needs this client's CURVE certificate",
                endpoint);
        return -1;
    }
    zcert_apply(cert, sock);
    zsock_set_curve_serverkey(sock, server_key);
    zcert_destroy(&loaded);
    return 0;
}

obcast_client_t *obcast_client_new(const char *endpoint, const obcast_client_options_t *options,
                                   char *error, size_t error_len)
{
    if (!endpoint || !*endpoint) {
        s_error(error, error_len, "no endpoint given");
        return NULL;
    }
    bool tcp = s_starts(endpoint, "tcp://");
    if (!tcp && !s_starts(endpoint, "ipc://") && !s_starts(endpoint, "inproc://")) {
        s_error(error, error_len, "%s: not an ipc://, tcp:// or inproc:// endpoint", endpoint);
        return NULL;
    }
    obcast_client_t *self = calloc(1, sizeof *self);
    if (!self) {
        s_error(error, error_len, "%s: out of memory", endpoint);
        return NULL;
    }
    self->max_outstanding =
        options && options->max_outstanding ? options->max_outstanding : S_DEFAULT_OUTSTANDING;
    int32_t resend = options ? options->resend_ms : 0;
    self->resend_ms = resend < 0 ? 0 : resend == 0 ? OBCAST_CLIENT_RESEND_MS : resend;
    self->next_due_ms = INT64_MAX;
    self->pending = calloc(self->max_outstanding, sizeof *self->pending);
    self->endpoint = strdup(endpoint);
    self->sock = zsock_new(ZMQ_DEALER);
    self->next_tag = 1;
    if (!self->pending || !self->endpoint || !self->sock) {
        s_error(error, error_len, "%s: out of memory, or no ZeroMQ socket", endpoint);
        obcast_client_destroy(&self);
        return NULL;
    }
    zsock_set_maxmsgsize(self->sock, (int64_t)S_MAX_ANSWER);
    /* One routing id for the life of the client, so that net's ROUTER
       names it the same across reconnects and knows a payload sent again
       by (routing id, tag). A first byte of 0 is libzmq's own. */
    if (RAND_bytes(self->routing_id, S_ROUTING_ID) != 1) {
        s_error(error, error_len, "%s: no entropy for a routing id", endpoint);
        obcast_client_destroy(&self);
        return NULL;
    }
    if (self->routing_id[0] == 0)
        self->routing_id[0] = 1;
    if (zmq_setsockopt(zsock_resolve(self->sock), ZMQ_ROUTING_ID, self->routing_id, S_ROUTING_ID) !=
        0) {
        s_error(error, error_len, "%s: cannot set the routing id: %s", endpoint,
                zmq_strerror(zmq_errno()));
        obcast_client_destroy(&self);
        return NULL;
    }
    if (tcp && s_curve(self->sock, endpoint, options, error, error_len) != 0) {
        obcast_client_destroy(&self);
        return NULL;
    }
    if (zsock_connect(self->sock, "%s", endpoint) != 0) {
        s_error(error, error_len, "%s: cannot connect: %s", endpoint, zmq_strerror(zmq_errno()));
        obcast_client_destroy(&self);
        return NULL;
    }
    return self;
}

void obcast_client_destroy(obcast_client_t **self_p)
{
    assert(self_p);
    obcast_client_t *self = *self_p;
    if (!self)
        return;
    if (self->has_last)
        zmq_msg_close(&self->last);
    zsock_destroy(&self->sock);
    if (self->pending)
        for (uint32_t i = 0; i < self->max_outstanding; i++)
            free(self->pending[i].data);
    free(self->pending);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

static s_pending_t *s_find(obcast_client_t *self, uint64_t tag)
{
    if (self->outstanding == 0)
        return NULL;
    for (uint32_t i = 0; i < self->max_outstanding; i++)
        if (self->pending[i].used && self->pending[i].tag == tag)
            return &self->pending[i];
    return NULL;
}

static void s_drop_data(s_pending_t *p)
{
    free(p->data);
    p->data = NULL;
    p->len = 0;
}

static void s_remove(obcast_client_t *self, s_pending_t *p)
{
    s_drop_data(p);
    p->used = false;
    self->outstanding--;
}

/* An answer about `p`: its silence starts again. `news` (it moved on):
   the wait before a resend is back to resend_ms too. */
static void s_heard(obcast_client_t *self, s_pending_t *p, bool news)
{
    p->heard_ms = zclock_mono();
    if (!news)
        return;
    p->silence_ms = self->resend_ms;
    if (self->resend_ms && p->heard_ms + p->silence_ms < self->next_due_ms)
        self->next_due_ms = p->heard_ms + p->silence_ms; /* sooner than a backed-off wait */
}

/* `p` was assigned or locked. */
static void s_moved(obcast_client_t *self, const s_pending_t *p)
{
    self->moved_ms = zclock_mono();
    self->moved_tag = p->tag;
}

/* Sends one message; 0, or -1 with the reason in self->error. */
static int s_send_msg(obcast_client_t *self, const ob_imsg_t *msg)
{
    size_t frame_len = ob_imsg_encoded_len(msg), written = 0;
    zmq_msg_t frame;
    if (zmq_msg_init_size(&frame, frame_len) != 0) {
        s_error(self->error, sizeof self->error, "%s: out of memory", self->endpoint);
        return -1;
    }
    if (ob_imsg_encode(msg, zmq_msg_data(&frame), frame_len, &written) != 0 ||
        written != frame_len) {
        zmq_msg_close(&frame);
        s_error(self->error, sizeof self->error, "%s: cannot encode %s", self->endpoint,
                ob_imsg_name(msg->type));
        return -1;
    }
    if (zmq_msg_send(&frame, zsock_resolve(self->sock), ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&frame);
        s_error(self->error, sizeof self->error, "%s: cannot send: %s", self->endpoint,
                e == EAGAIN ? "the send queue is full (is the node up?)" : zmq_strerror(e));
        return -1;
    }
    return 0;
}

static int s_send_submit(obcast_client_t *self, const s_pending_t *p)
{
    ob_imsg_t msg = {.type = OB_IMSG_SUBMIT};
    msg.u.submit.tag = p->tag;
    msg.u.submit.data = (ob_blob_t){p->data, (uint32_t)p->len};
    return s_send_msg(self, &msg);
}

/* A free entry of the table, or NULL (with the reason) if it is full. */
static s_pending_t *s_free_slot(obcast_client_t *self)
{
    if (self->outstanding == self->max_outstanding) {
        s_error(self->error, sizeof self->error,
                "%s: %u payloads and fetches outstanding already; wait for answers", self->endpoint,
                self->max_outstanding);
        return NULL;
    }
    for (uint32_t i = 0; i < self->max_outstanding; i++)
        if (!self->pending[i].used)
            return &self->pending[i];
    assert(false); /* outstanding counts the entries used */
    return NULL;
}

/* Takes `slot` for `tag`, the next one. */
static void s_occupy(obcast_client_t *self, s_pending_t *slot, uint64_t *tag_out)
{
    s_heard(self, slot, true);
    slot->used = true;
    self->outstanding++;
    if (tag_out)
        *tag_out = slot->tag;
    self->next_tag++;
}

int obcast_client_submit(obcast_client_t *self, const void *data, size_t len, uint64_t *tag_out)
{
    s_pending_t *slot = s_free_slot(self);
    if (!slot)
        return -1;
    if (len > OB_IMSG_BLOB_MAX) {
        s_error(self->error, sizeof self->error, "%s: a payload of %zu bytes is too large to send",
                self->endpoint, len);
        return -1;
    }
    *slot = (s_pending_t){.tag = self->next_tag, .state = S_SENT, .len = len};
    if (s_sha256(data, len, slot->digest) != 0) {
        s_error(self->error, sizeof self->error, "%s: SHA-256 failed", self->endpoint);
        return -1;
    }
    slot->data = malloc(len ? len : 1);
    if (!slot->data) {
        s_error(self->error, sizeof self->error, "%s: out of memory", self->endpoint);
        return -1;
    }
    if (len)
        memcpy(slot->data, data, len);
    if (s_send_submit(self, slot) != 0) {
        s_drop_data(slot);
        return -1;
    }
    self->stats.submitted++;
    s_occupy(self, slot, tag_out);
    return 0;
}

static int s_send_fetch(obcast_client_t *self, const s_pending_t *p)
{
    ob_imsg_t msg = {.type = OB_IMSG_FETCH};
    msg.u.fetch.tag = p->tag;
    memcpy(msg.u.fetch.sequencer, p->sequencer, 32);
    msg.u.fetch.height = p->height;
    return s_send_msg(self, &msg);
}

int obcast_client_fetch(obcast_client_t *self, const uint8_t sequencer[32], uint64_t height,
                        uint64_t *tag_out)
{
    s_pending_t *slot = s_free_slot(self);
    if (!slot)
        return -1;
    *slot = (s_pending_t){.tag = self->next_tag, .state = S_FETCHING, .height = height};
    memcpy(slot->sequencer, sequencer, 32);
    if (s_send_fetch(self, slot) != 0)
        return -1;
    self->stats.fetches++;
    s_occupy(self, slot, tag_out);
    return 0;
}

/* --- answers --------------------------------------------------------------- */

static int s_event_error(obcast_client_event_t *event, uint64_t tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_event_error(obcast_client_event_t *event, uint64_t tag, const char *fmt, ...)
{
    event->kind = OBCAST_EVENT_ERROR;
    event->tag = tag;
    va_list args;
    va_start(args, fmt);
    vsnprintf(event->error, sizeof event->error, fmt, args);
    va_end(args);
    return 1;
}

/* A Lock's certificate is checked for its form here, not its signatures:
   the client knows no validator set. Any epoch, up to the most signers a
   certificate may have. */
static bool s_any_epoch(const void *ctx, uint64_t epoch, uint16_t *validator_count)
{
    (void)ctx;
    (void)epoch;
    *validator_count = OB_MAX_VALIDATORS;
    return true;
}

static void s_set_chunk(obcast_client_event_t *event, const ob_chunk_t *chunk)
{
    memcpy(event->sequencer, chunk->sequencer, 32);
    s_hex(chunk->sequencer, 32, event->sequencer_hex);
    event->height = chunk->height;
    memcpy(event->digest, chunk->payload, 32);
}

/* A fetch's answer. What the client can check without a manifest: the
   Lock's form, that it is for the (sequencer, height) asked, and that the
   bytes are its payload. Anything else is an ERROR, and the fetch stays
   outstanding (it is asked again). */
static int s_on_fetch_answer(obcast_client_t *self, s_pending_t *p, const ob_imsg_t *msg,
                             obcast_client_event_t *event)
{
    unsigned long long tag = (unsigned long long)p->tag;
    if (msg->type == OB_IMSG_FETCH_FAILED) {
        uint8_t reason = msg->u.fetch_failed.reason;
        if (reason == OB_FETCH_FOUND)
            return s_event_error(event, p->tag, "%s: tag %llu: fetch_failed, with the reason found",
                                 self->endpoint, tag);
        s_remove(self, p);
        event->kind = OBCAST_EVENT_FETCH_FAILED;
        event->reason = reason;
        event->reason_name = ob_fetch_status_name(reason);
        return 1;
    }
    const ob_imsg_fetch_found_t *in = &msg->u.fetch_found;
    ob_lock_t lock;
    ob_epoch_lookup_t any = {.size_of = s_any_epoch, .ctx = NULL};
    ob_error_t rc = ob_lock_decode(&lock, in->lock.data, in->lock.len, &any);
    if (rc != OB_OK)
        return s_event_error(event, p->tag, "%s: tag %llu: the Lock does not decode: %s",
                             self->endpoint, tag, ob_error_name(rc));
    if (memcmp(lock.chunk.sequencer, p->sequencer, 32) != 0 || lock.chunk.height != p->height) {
        char hex[65];
        s_hex(lock.chunk.sequencer, 32, hex);
        return s_event_error(event, p->tag,
                             "%s: tag %llu: the Lock is on sequencer %.16s... height %llu, not "
                             "the one asked",
                             self->endpoint, tag, hex, (unsigned long long)lock.chunk.height);
    }
    uint8_t digest[32];
    if (s_sha256(in->data.data, in->data.len, digest) != 0 ||
        memcmp(digest, lock.chunk.payload, 32) != 0)
        return s_event_error(event, p->tag,
                             "%s: tag %llu: the %u bytes are not the Lock's payload (their "
                             "SHA-256 is another)",
                             self->endpoint, tag, (unsigned)in->data.len);
    s_remove(self, p);
    event->kind = OBCAST_EVENT_FETCHED;
    s_set_chunk(event, &lock.chunk);
    event->epoch = lock.epoch;
    event->signers = lock.cert.count;
    event->lock = in->lock.data;
    event->lock_len = in->lock.len;
    event->data = in->data.data;
    event->data_len = in->data.len;
    return 1;
}

static void s_on_forgotten(obcast_client_t *self); /* under "resending" */

static int s_on_answer(obcast_client_t *self, const ob_imsg_t *msg, obcast_client_event_t *event)
{
    uint64_t tag = 0;
    switch (msg->type) {
    case OB_IMSG_SUBMIT_FORGOTTEN:
        s_on_forgotten(self);
        return 0;
    case OB_IMSG_SUBMIT_QUEUED:
        tag = msg->u.submit_queued.tag;
        break;
    case OB_IMSG_SUBMIT_REFUSED:
        tag = msg->u.submit_refused.tag;
        break;
    case OB_IMSG_SUBMIT_ASSIGNED:
        tag = msg->u.submit_assigned.tag;
        break;
    case OB_IMSG_SUBMIT_LOCKED:
        tag = msg->u.submit_locked.tag;
        break;
    case OB_IMSG_FETCH_FOUND:
        tag = msg->u.fetch_found.tag;
        break;
    case OB_IMSG_FETCH_FAILED:
        tag = msg->u.fetch_failed.tag;
        break;
    case OB_IMSG_PEER_FETCH:
    case OB_IMSG_SEND_FETCHED:
    case OB_IMSG_PEER_FETCHED:
    case OB_IMSG_FETCHED_VERIFIED:
    case OB_IMSG_SEND_FETCH:
    case OB_IMSG_BLOCK_PEER:
    case OB_IMSG_PEER_NODE:
    case OB_IMSG_PEER_ACK:
    case OB_IMSG_NODE_VERIFIED:
    case OB_IMSG_ACK_VERIFIED:
    case OB_IMSG_DROPPED:
    case OB_IMSG_EPOCH_CHANGED:
    case OB_IMSG_TIP_CHANGED:
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
    case OB_IMSG_SET_EPOCH:
    case OB_IMSG_SEND_ACK:
    case OB_IMSG_QUORUM_REACHED:
    case OB_IMSG_QUORUM_RESET:
    case OB_IMSG_ACK_LATE:
    case OB_IMSG_ACK_OWN:
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
    case OB_IMSG_SUBMITTED:
    case OB_IMSG_CLIENT_FOLLOW:
    case OB_IMSG_CLIENT_ANSWER:
    case OB_IMSG_SUBMIT_FOLLOW:
    case OB_IMSG_FETCH_REQUEST:
    case OB_IMSG_FETCH_ANSWER:
    case OB_IMSG_SUBMITS_FORGOTTEN:
    case OB_IMSG_APP_FETCH:
    case OB_IMSG_APP_FETCH_FOUND:
    case OB_IMSG_APP_FETCH_FAILED:
    case OB_IMSG_FETCH:
        return s_event_error(event, 0, "%s: the node sent %s, not an answer to a client",
                             self->endpoint, ob_imsg_name(msg->type));
    }
    s_pending_t *p = s_find(self, tag);
    if (!p)
        return s_event_error(event, tag, "%s: %s for tag %llu, which is not outstanding",
                             self->endpoint, ob_imsg_name(msg->type), (unsigned long long)tag);
    bool about_fetch = msg->type == OB_IMSG_FETCH_FOUND || msg->type == OB_IMSG_FETCH_FAILED;
    if (about_fetch != (p->state == S_FETCHING))
        return s_event_error(event, tag, "%s: %s for tag %llu, which is %s", self->endpoint,
                             ob_imsg_name(msg->type), (unsigned long long)tag,
                             about_fetch ? "a payload, not a fetch" : "a fetch, not a payload");
    event->tag = tag;
    if (about_fetch)
        return s_on_fetch_answer(self, p, msg, event);
    if (msg->type == OB_IMSG_SUBMIT_QUEUED) {
        if (p->state != S_SENT) {
            s_heard(self, p, false); /* the answer to a resend: no news */
            return 0;
        }
        p->state = S_QUEUED;
        s_heard(self, p, true);
        event->kind = OBCAST_EVENT_QUEUED;
        return 1;
    }
    if (msg->type == OB_IMSG_SUBMIT_REFUSED) {
        s_remove(self, p);
        event->kind = OBCAST_EVENT_REFUSED;
        event->reason = msg->u.submit_refused.reason;
        event->reason_name = ob_submit_refusal_name(msg->u.submit_refused.reason);
        return 1;
    }
    if (msg->type == OB_IMSG_SUBMIT_ASSIGNED) {
        const ob_imsg_submit_assigned_t *in = &msg->u.submit_assigned;
        /* A chunk of its own carries the payload itself, as entry 0; a
           batch has another digest (obcast_client_check_inclusion). */
        if (memcmp(in->payload, p->digest, 32) == 0 && in->index != 0)
            return s_event_error(event, tag,
                                 "%s: tag %llu assigned as entry %u of a chunk that is its payload",
                                 self->endpoint, (unsigned long long)tag, (unsigned)in->index);
        if (p->state == S_ASSIGNED && p->height == in->height && p->index == in->index &&
            memcmp(p->chunk_digest, in->payload, 32) == 0 &&
            memcmp(p->sequencer, in->sequencer, 32) == 0) {
            s_heard(self, p, false); /* told again */
            return 0;
        }
        ob_chunk_t chunk = {.height = in->height};
        memcpy(chunk.sequencer, in->sequencer, 32);
        memcpy(chunk.payload, in->payload, 32);
        s_drop_data(p); /* signed and sent: only its Lock is awaited now */
        s_heard(self, p, true);
        s_moved(self, p);
        p->state = S_ASSIGNED;
        p->height = in->height;
        p->index = in->index;
        memcpy(p->sequencer, in->sequencer, 32);
        memcpy(p->chunk_digest, in->payload, 32);
        event->kind = OBCAST_EVENT_ASSIGNED;
        s_set_chunk(event, &chunk);
        event->index = in->index;
        return 1;
    }
    const ob_blob_t *bytes = &msg->u.submit_locked.lock;
    ob_lock_t lock;
    ob_epoch_lookup_t any = {.size_of = s_any_epoch, .ctx = NULL};
    ob_error_t rc = ob_lock_decode(&lock, bytes->data, bytes->len, &any);
    if (rc != OB_OK)
        return s_event_error(event, tag, "%s: tag %llu: the Lock does not decode: %s",
                             self->endpoint, (unsigned long long)tag, ob_error_name(rc));
    uint32_t index = msg->u.submit_locked.index;
    bool own = memcmp(lock.chunk.payload, p->digest, 32) == 0;
    if ((own && index != 0) ||
        (p->state == S_ASSIGNED && (lock.chunk.height != p->height || index != p->index ||
                                    memcmp(lock.chunk.payload, p->chunk_digest, 32) != 0 ||
                                    memcmp(lock.chunk.sequencer, p->sequencer, 32) != 0)))
        return s_event_error(event, tag, "%s: tag %llu: the Lock is on another chunk",
                             self->endpoint, (unsigned long long)tag);
    s_moved(self, p);
    s_remove(self, p);
    event->kind = OBCAST_EVENT_LOCKED;
    s_set_chunk(event, &lock.chunk);
    event->index = index;
    event->epoch = lock.epoch;
    event->signers = lock.cert.count;
    event->lock = bytes->data;
    event->lock_len = bytes->len;
    return 1;
}

/* One answer frame, as received: the bytes it takes in (a Lock event views
   into them) are tests/fuzz/fuzz_client.c's input. 1 with *event filled,
   0 if it brought no news. */
static int s_on_frame(obcast_client_t *self, const uint8_t *frame, size_t len,
                      obcast_client_event_t *event)
{
    ob_imsg_t msg;
    ob_error_t err = ob_imsg_decode(&msg, frame, len);
    if (err != OB_OK)
        return s_event_error(event, 0, "%s: an answer that does not decode: %s", self->endpoint,
                             ob_error_name(err));
    return s_on_answer(self, &msg, event);
}

/* --- resending ----------------------------------------------------------- */

/* Sends `p` again as it stands: a payload not yet assigned is submitted
   again (same tag, same bytes; net answers submit_queued again if it
   holds it, and queues it if a restart lost it), an assigned one asks net
   to follow it to its Lock, a fetch is asked again (same tag: the journal
   follows it once). 0, or -1 if it could not be sent. */
static int s_send_again(obcast_client_t *self, s_pending_t *p)
{
    int rc;
    if (p->state == S_ASSIGNED) {
        ob_imsg_t msg = {.type = OB_IMSG_SUBMIT_FOLLOW};
        msg.u.submit_follow.tag = p->tag;
        msg.u.submit_follow.height = p->height;
        msg.u.submit_follow.index = p->index;
        memcpy(msg.u.submit_follow.payload, p->chunk_digest, 32);
        rc = s_send_msg(self, &msg);
        if (rc == 0)
            self->stats.follows++;
    } else if (p->state == S_FETCHING) {
        rc = s_send_fetch(self, p);
        if (rc == 0)
            self->stats.fetch_resends++;
    } else {
        rc = s_send_submit(self, p);
        if (rc == 0)
            self->stats.resubmits++;
    }
    return rc;
}

/* The node's built-in application restarted and forgot everything this
   client had outstanding there: all of it goes again now, and each waits
   a first silence again, not the one it had backed off to. Nothing ahead
   of them is moving any more. */
static void s_on_forgotten(obcast_client_t *self)
{
    self->stats.forgotten++;
    int64_t now = zclock_mono();
    self->moved_ms = 0;
    for (uint32_t i = 0; i < self->max_outstanding; i++) {
        s_pending_t *p = &self->pending[i];
        if (!p->used)
            continue;
        s_send_again(self, p);
        p->heard_ms = now;
        p->silence_ms = self->resend_ms;
    }
    if (self->resend_ms && now + self->resend_ms < self->next_due_ms)
        self->next_due_ms = now + self->resend_ms;
}

/* Sends again what has heard nothing for its silence (s_send_again). Each resend
   doubles the silence it waits for next, up to S_BACKOFF_MAX times
   resend_ms; an answer with news sets it back. A queued or assigned
   payload submitted after one that moved less than resend_ms ago waits
   on: the queue ahead of it is moving (a deep queue is no silence).
   Returns when the next resend is due (INT64_MAX: none). */
static int64_t s_resend(obcast_client_t *self, int64_t now)
{
    if (self->resend_ms == 0 || self->outstanding == 0)
        return self->next_due_ms = INT64_MAX;
    if (now < self->next_due_ms)
        return self->next_due_ms;
    int64_t next = INT64_MAX;
    for (uint32_t i = 0; i < self->max_outstanding; i++) {
        s_pending_t *p = &self->pending[i];
        if (!p->used)
            continue;
        int64_t due = p->heard_ms + p->silence_ms;
        /* A fetch waits on nothing ahead of it. */
        bool behind = (p->state == S_QUEUED || p->state == S_ASSIGNED) && self->moved_ms &&
                      p->tag > self->moved_tag && now < self->moved_ms + self->resend_ms;
        if (now >= due && behind) {
            due = self->moved_ms + self->resend_ms;
        } else if (now >= due) {
            s_send_again(self, p);
            /* Sent or not (a full send queue), it waits another silence. */
            p->heard_ms = now;
            if (p->silence_ms < self->resend_ms * S_BACKOFF_MAX)
                p->silence_ms *= 2;
            due = p->heard_ms + p->silence_ms;
        }
        if (due < next)
            next = due;
    }
    return self->next_due_ms = next;
}

int obcast_client_resend_in(obcast_client_t *self)
{
    int64_t now = zclock_mono();
    int64_t due = s_resend(self, now);
    if (due == INT64_MAX)
        return -1;
    return due - now > INT_MAX ? INT_MAX : (int)(due - now);
}

/* Reads one answer. 1 with *event filled, 0 if there was none or it
   brought no news (an answer to a resend), -1 on a socket failure. */
static int s_receive(obcast_client_t *self, void *handle, obcast_client_event_t *event)
{
    zmq_msg_init(&self->last);
    if (zmq_msg_recv(&self->last, handle, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&self->last);
        if (e == EAGAIN)
            return 0;
        s_error(self->error, sizeof self->error, "%s: %s", self->endpoint,
                e == EINTR ? "interrupted" : zmq_strerror(e));
        return -1;
    }
    self->has_last = true;
    if (zmq_msg_more(&self->last)) {
        /* One frame per answer: drain and refuse the rest of this one. */
        zmq_msg_t rest;
        size_t frames = 1;
        do {
            zmq_msg_init(&rest);
            if (zmq_msg_recv(&rest, handle, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&rest);
                break;
            }
            frames++;
            int more = zmq_msg_more(&rest);
            zmq_msg_close(&rest);
            if (!more)
                break;
        } while (true);
        return s_event_error(event, 0, "%s: an answer of %zu frames; one was expected",
                             self->endpoint, frames);
    }
    return s_on_frame(self, zmq_msg_data(&self->last), zmq_msg_size(&self->last), event);
}

int obcast_client_next(obcast_client_t *self, int timeout_ms, obcast_client_event_t *event)
{
    void *handle = zsock_resolve(self->sock);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : zclock_mono() + timeout_ms;
    while (true) {
        memset(event, 0, sizeof *event);
        if (self->has_last) {
            zmq_msg_close(&self->last);
            self->has_last = false;
        }
        int64_t now = zclock_mono();
        int64_t until = s_resend(self, now);
        if (deadline < until)
            until = deadline;
        long wait = until == INT64_MAX      ? -1
                    : until <= now          ? 0
                    : until - now > INT_MAX ? INT_MAX
                                            : (long)(until - now);
        zmq_pollitem_t item = {.socket = handle, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&item, 1, wait);
        if (rc < 0) {
            s_error(self->error, sizeof self->error, "%s: %s", self->endpoint,
                    zmq_errno() == EINTR ? "interrupted" : zmq_strerror(zmq_errno()));
            return -1;
        }
        if (rc > 0 && (item.revents & ZMQ_POLLIN)) {
            int got = s_receive(self, handle, event);
            if (got != 0)
                return got;
            continue; /* nothing new: wait on, within the same timeout */
        }
        if (zclock_mono() >= deadline)
            return 0;
    }
}

size_t obcast_client_outstanding(const obcast_client_t *self)
{
    return self->outstanding;
}

int obcast_client_forget(obcast_client_t *self, uint64_t tag)
{
    s_pending_t *p = s_find(self, tag);
    if (!p) {
        s_error(self->error, sizeof self->error, "%s: tag %llu is not outstanding", self->endpoint,
                (unsigned long long)tag);
        return -1;
    }
    s_remove(self, p);
    return 0;
}

zsock_t *obcast_client_socket(obcast_client_t *self)
{
    return self->sock;
}

int obcast_client_fd(obcast_client_t *self)
{
    return (int)zsock_fd(self->sock);
}

const char *obcast_client_endpoint(const obcast_client_t *self)
{
    return self->endpoint;
}

const obcast_client_stats_t *obcast_client_stats(const obcast_client_t *self)
{
    return &self->stats;
}

const char *obcast_client_error(const obcast_client_t *self)
{
    return self->error;
}

/* --- inclusion ---------------------------------------------------------- */

static int s_fail(char *error, size_t error_len, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(char *error, size_t error_len, const char *format, ...)
{
    if (error && error_len) {
        va_list args;
        va_start(args, format);
        vsnprintf(error, error_len, format, args);
        va_end(args);
    }
    return -1;
}

int obcast_client_check_inclusion(const uint8_t *lock, size_t lock_len, const uint8_t *batch,
                                  size_t batch_len, uint32_t index, const void *data, size_t len,
                                  char *error, size_t error_len)
{
    ob_lock_t decoded;
    ob_epoch_lookup_t any = {.size_of = s_any_epoch, .ctx = NULL};
    ob_error_t rc = ob_lock_decode(&decoded, lock, lock_len, &any);
    if (rc != OB_OK)
        return s_fail(error, error_len, "the Lock does not decode: %s", ob_error_name(rc));
    uint8_t digest[32];
    if (s_sha256(batch, batch_len, digest) != 0)
        return s_fail(error, error_len, "no SHA-256");
    if (memcmp(digest, decoded.chunk.payload, 32) != 0)
        return s_fail(error, error_len, "the batch's bytes are not the Lock's payload");
    /* Batching off: the chunk's payload is the data itself. */
    if (index == 0 && len == batch_len && (len == 0 || memcmp(batch, data, len) == 0))
        return 0;
    ob_batch_t parsed;
    rc = ob_batch_decode(&parsed, batch, batch_len);
    if (rc != OB_OK)
        return s_fail(error, error_len, "the Lock's payload is no batch (%s) and not the data",
                      ob_error_name(rc));
    ob_batch_entry_t entry;
    if (ob_batch_entry(&parsed, index, &entry) != 0)
        return s_fail(error, error_len, "the batch has %u entries: no entry %u",
                      (unsigned)parsed.count, (unsigned)index);
    if (entry.len != len || (len && memcmp(entry.data, data, len) != 0))
        return s_fail(error, error_len, "entry %u of the batch is not the data", (unsigned)index);
    return 0;
}

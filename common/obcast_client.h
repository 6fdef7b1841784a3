/*  libobcast-client: hands payload bytes to an obcast node's submit socket
    (SPEC §5) and tells, asynchronously, what became of each one; and
    fetches any certified payload, with its Lock, through the node.

        obcast_client_t *client = obcast_client_new("ipc:///run/n0/submit", NULL, err, sizeof err);
        uint64_t tag;
        obcast_client_submit(client, data, len, &tag);
        obcast_client_event_t event;
        while (obcast_client_next(client, 30000, &event) == 1)
            ... QUEUED, then ASSIGNED (sequencer, height, index), then LOCKED (the Lock),
            ... or REFUSED (a reason) instead
        obcast_client_destroy(&client);

    The socket is a ZeroMQ DEALER (czmq zsock) connected to the node's
    submit endpoint; the node's net actor answers on its ROUTER. Each
    payload gets a tag, the client's own number for it, echoed in every
    answer (proto/imsg.csv, "the client submit socket").

    An event follows the life of a payload: QUEUED (the node's built-in
    application will propose it), ASSIGNED (it is entry `index` of the
    node's chunk at `height`, whose payload is a batch of submitted
    payloads, or the payload itself with batching off: signed and sent),
    LOCKED (its chunk is certified: the Lock, SPEC §2). A payload is outstanding from its submit
   until it is LOCKED or REFUSED, or the caller forgets it; the number outstanding is capped.

    Restarts of the node's net actor. net keeps its submit queue and the
    payloads it follows in memory, so the client keeps each payload's bytes
    until it is ASSIGNED, and sends again what hears nothing for
    `resend_ms` (2 s by default; the wait doubles with each resend up to
    16 times that, and news sets it back; a payload waits on while one
    submitted before it was assigned or locked within the last
    `resend_ms`: the node goes in order): a payload not yet assigned is
    submitted again (same tag, same bytes), an assigned one is followed
    again (submit_follow: net asks its journal for the Lock, and sends it
    at once if it is held). The socket keeps one random routing id for the
    client's life, so net knows a payload it holds by (routing id, tag):
    it answers "queued" again and does not queue it twice. Answers to
    resends that bring no news (queued again, assigned again at the same
    height) are not events. Resends happen inside obcast_client_next, so
    call it at least every obcast_client_resend_in ms.

    Delivery is at least once: a payload whose ASSIGNED answer was lost
    in the instant of a net crash (it was handed to the chain a moment
    before) is submitted again and may be certified twice, at two heights
    (net avoids it when it has seen that chunk by then); the client
    reports one Lock for it. The node also follows only so many payloads,
    so a caller waiting for LOCKED keeps a deadline.

    Fetching. obcast_client_fetch asks the node for the payload of any
    (sequencer, height) with its Lock: the node serves it from its journal
    or fetches it from its peers (SPEC §3, "Asking"). The answer is
    FETCHED (the Lock and the bytes) or FETCH_FAILED (not_found: neither
    the node nor any peer it asked has it; busy: the node follows as many
    requests as it can, ask later; malformed). The client checks what it
    can without the manifest: that the Lock decodes, that it is for the
    (sequencer, height) asked, and that SHA-256 of the bytes is its
    payload digest; an answer that fails is an ERROR event and the fetch
    stays outstanding. It cannot check the certificate's signatures, for
    it knows no validator set: a caller that must trust the bytes
    verifies the Lock against the cluster manifest, as `obcast fetch`
    does (common/verify.h, ob_lock_verify). A fetch unanswered for
    `resend_ms` is asked again, with the same tag and the same doubling
    waits as a submit; the node does not follow a request twice. Tags of
    fetches and payloads are one sequence, and a fetch counts as
    outstanding until it is answered.

    An answer that is malformed, of the wrong kind, or for no outstanding
    tag (a late duplicate of an answer, too), or that contradicts what was
    submitted (another chunk than it was assigned), is an ERROR event,
    never a crash. Not
    thread-safe: one thread per client. */
#ifndef OBCAST_CLIENT_H
#define OBCAST_CLIENT_H

#include <czmq.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OBCAST_CLIENT_VERSION "0.1.0"

/* Room for an error text that the library writes. */
#define OBCAST_CLIENT_ERROR_LEN 256

/* The default silence, in ms, after which a payload is sent again. */
#define OBCAST_CLIENT_RESEND_MS 2000

typedef struct _obcast_client_t obcast_client_t;

typedef struct {
    /* tcp:// only (the node requires CURVE there): the node's CURVE
       public key, 40 Z85 characters, and this client's certificate. */
    const char *server_key;
    zcert_t *cert;         /* borrowed; or else: */
    const char *cert_file; /* a zcert_save'd certificate: FILE and FILE_secret */
    /* Payloads outstanding at once; 0 means 1024. Each keeps a copy of its
       bytes until it is ASSIGNED. */
    uint32_t max_outstanding;
    /* ms without an answer about a payload before it is sent again; 0
       means OBCAST_CLIENT_RESEND_MS, a negative value never resends after
       a silence. What the node says it forgot (submit_forgotten: its
       built-in application restarted) is sent again at once all the same. */
    int32_t resend_ms;
} obcast_client_options_t;

typedef struct {
    uint64_t submitted;     /* payloads submitted (each counted once) */
    uint64_t resubmits;     /* submits sent again after a silence */
    uint64_t follows;       /* submit_follows sent for assigned payloads */
    uint64_t fetches;       /* fetches asked (each counted once) */
    uint64_t fetch_resends; /* fetches asked again after a silence */
    uint64_t forgotten;     /* submit_forgotten heard: all outstanding sent again at once */
} obcast_client_stats_t;

typedef enum {
    OBCAST_EVENT_QUEUED = 1,
    OBCAST_EVENT_REFUSED = 2,
    OBCAST_EVENT_ASSIGNED = 3,
    OBCAST_EVENT_LOCKED = 4,
    OBCAST_EVENT_ERROR = 5,
    OBCAST_EVENT_FETCHED = 6,
    OBCAST_EVENT_FETCH_FAILED = 7,
} obcast_client_event_kind_t;

typedef struct {
    obcast_client_event_kind_t kind;
    uint64_t tag; /* the payload's or the fetch's; 0 for an ERROR tied to none */
    /* REFUSED: the node's reason (proto/submit.h numbers) and its name:
       too_large, queue_full, not_sequencer, app_attached, malformed.
       FETCH_FAILED: an ob_fetch_status_t (proto/submit.h) and its name:
       not_found, busy, malformed ("unknown" for a number not listed) */
    int reason;
    const char *reason_name;
    /* ASSIGNED, LOCKED and FETCHED: the chunk, and the payload's place in
       it (index: not FETCHED) */
    uint8_t sequencer[32];
    char sequencer_hex[65];
    uint64_t height;
    uint32_t index;     /* entry of the chunk's batch (0 with batching off) */
    uint8_t digest[32]; /* the chunk's payload digest: its batch's, or the payload's */
    /* LOCKED and FETCHED: the certificate's epoch and signers, and the
       Lock's bytes, valid until the next call on this client */
    uint64_t epoch;
    uint16_t signers;
    const uint8_t *lock;
    size_t lock_len;
    /* FETCHED: the payload bytes (they hash to `digest`), valid until the
       next call on this client */
    const uint8_t *data;
    size_t data_len;
    /* ERROR: what was wrong */
    char error[OBCAST_CLIENT_ERROR_LEN];
} obcast_client_event_t;

/* Connects to `endpoint` (ipc://, tcp://; options may be NULL for ipc).
   NULL on error, with the reason in `error` (may be NULL). Connecting is
   asynchronous: a node that is not up yet is waited for. */
obcast_client_t *obcast_client_new(const char *endpoint, const obcast_client_options_t *options,
                                   char *error, size_t error_len);
void obcast_client_destroy(obcast_client_t **self_p);

/* Sends one payload; its tag goes to *tag_out (may be NULL). 0, or -1 if
   too many are outstanding, the payload is larger than any message may
   carry, or the send queue is full (obcast_client_error says which). */
int obcast_client_submit(obcast_client_t *self, const void *data, size_t len, uint64_t *tag_out);

/* Asks for the payload of (`sequencer`, `height`) and its Lock; the tag
   goes to *tag_out (may be NULL), and the answer is a FETCHED or a
   FETCH_FAILED event with it. 0, or -1 if too many are outstanding or the
   send queue is full (obcast_client_error says which). */
int obcast_client_fetch(obcast_client_t *self, const uint8_t sequencer[32], uint64_t height,
                        uint64_t *tag_out);

/* Waits up to `timeout_ms` (-1: for ever, 0: not at all) for the next
   answer, sending again meanwhile what has been silent too long. 1 with
   *event filled, 0 on timeout, -1 if interrupted (a signal) or the socket
   failed. */
int obcast_client_next(obcast_client_t *self, int timeout_ms, obcast_client_event_t *event);

/* For a poll loop: sends what is due again, and returns the ms until the
   next resend is due (-1 if none is outstanding or resends are off);
   wait no longer than that before calling obcast_client_next. */
int obcast_client_resend_in(obcast_client_t *self);

/* Whether `data` (len bytes) is entry `index` of the certified chunk of
   `lock` (a LOCKED event's Lock, SPEC §2): `batch` (batch_len bytes, the
   chunk's payload, fetched from any node that holds it) must hash to the
   Lock's payload digest, and its entry `index` (proto/PROTOCOL.md,
   "Batches") must be `data`; with batching off the payload is `data`
   itself, index 0. 0, or -1 with the reason in `error` (may be NULL). The
   certificate's signatures are not checked here: that needs the
   manifest's keys (obcast audit). */
int obcast_client_check_inclusion(const uint8_t *lock, size_t lock_len, const uint8_t *batch,
                                  size_t batch_len, uint32_t index, const void *data, size_t len,
                                  char *error, size_t error_len);

/* Counters since obcast_client_new. */
const obcast_client_stats_t *obcast_client_stats(const obcast_client_t *self);

/* Payloads submitted and neither LOCKED nor REFUSED nor forgotten, and
   fetches neither answered nor forgotten. */
size_t obcast_client_outstanding(const obcast_client_t *self);

/* Stops following `tag`, a payload's or a fetch's (answers for it become
   ERROR events). 0, or -1
   if it is not outstanding. */
int obcast_client_forget(obcast_client_t *self, uint64_t tag);

/* For a poll loop: the socket, or its ZMQ_FD. The descriptor is
   edge-triggered: once it is readable, call obcast_client_next with
   timeout 0 until it returns 0. */
zsock_t *obcast_client_socket(obcast_client_t *self);
int obcast_client_fd(obcast_client_t *self);

const char *obcast_client_endpoint(const obcast_client_t *self);
/* The reason the last call failed. */
const char *obcast_client_error(const obcast_client_t *self);
/* "queued", "refused", "assigned", "locked", "error", "fetched",
   "fetch_failed". */
const char *obcast_client_event_name(obcast_client_event_kind_t kind);

#ifdef __cplusplus
}
#endif

#endif

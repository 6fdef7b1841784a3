/*  The net actor's pure handler (SPEC §4, §5): the node's face to the
    world, transport only. It takes peer frames (already authenticated:
    `peer` is the sender's obcast key), decodes them (proto/wire.c, the
    fuzzed decoder), moves payload bytes into the arena and hands the rest
    to the verifier; it sends nodes and acks to the peers the protocol
    names (net.c). On the application and submit sockets (net_app.c) it
    forwards: an external application attached on the application socket
    hears the journal's requests and answers them; a client's submit goes
    to the journal, whose built-in application (actors/journal/
    builtin_app.h) queues, proposes and answers it. */
#ifndef OB_NET_H
#define OB_NET_H

#include "node_env.h"
#include "outbox.h"
#include "why.h"

#include <stdbool.h>
#include <stdint.h>

/* Clients of the submit socket heard from lately, told at once when the
   journal's built-in application restarts and forgets what they submitted
   (submit_forgotten). Past the bound the one noted longest ago gives way:
   a client forgotten here only waits for its own silence, as before. */
#define OB_NET_CLIENTS 1024

typedef struct _ob_net_t ob_net_t;

/* An attached application that sends no app_attach for longer than this
   is detached. Under `application = external` nothing takes its place:
   the node proposes nothing and gives no verdicts until one attaches. */
#define OB_NET_APP_SILENCE_MS 3000

/* Who the node's application is (SPEC §5, node/application). */
typedef enum {
    OB_NET_APP_BUILTIN = 0, /* proposals from the submit queue; a matching digest is valid */
    OB_NET_APP_EXTERNAL     /* only an application on the application socket speaks */
} ob_net_application_t;

/* The longest credentials an application is known by: a Z85 CURVE key on
   TCP, or libzmq's "Peer-Address" of an ipc connection
   ("localhost:UID:GID:PID", from SO_PEERCRED). */
#define OB_NET_WHO_MAX 128

typedef struct {
    ob_node_env_t env;
    ob_net_application_t application;
    /* external only: an application attached from the start, known by
       the credentials `app_who` (the simulator's) */
    bool app_attached;
    const char *app_who;
} ob_net_config_t;

typedef struct {
    uint64_t peer_nodes_in, peer_acks_in, peer_out;
    /* Fetching (SPEC §3, §8): Fetch and Fetched decoded from peers */
    uint64_t peer_fetch_in, peer_fetched_in;
    uint64_t fetch_passed;  /* Fetch requests passed to the journal */
    uint64_t fetch_trimmed; /* of those, with fewer heights than asked: the budget paid no more */
    uint64_t fetched_asked, fetched_unasked; /* Fetched passed to the verifier */
    uint64_t fetched_bytes_in;               /* their payload bytes */
    uint64_t fetch_sent, answers_sent;       /* Fetch and Fetched sent to peers */
    uint64_t answers_bytes_out;              /* payload bytes of the answers sent */
    uint64_t answers_stale;                  /* send_fetched whose slot was stale: not sent */
    uint64_t fetch_quota_full;               /* over_budget for the arena quota */
    uint64_t asks_forgotten;                 /* asks dropped unanswered: the table was full */
    uint64_t blocks[OB_ERROR_COUNT];         /* blocks started, by reason */
    uint64_t dropped[OB_ERROR_COUNT];
    uint64_t arena_full; /* peer messages refused for lack of a slot */
    uint64_t submitted, submit_refused, proposals_answered; /* passed to the journal */
    uint64_t reports_tip, reports_lock, reports_evidence;
    /* the application socket */
    uint64_t app_in;            /* frames accepted from the application */
    uint64_t app_dropped;       /* frames dropped: undecodable, wrong direction, detached */
    uint64_t app_attaches;      /* detached -> attached */
    uint64_t app_detaches;      /* attached -> detached after silence */
    uint64_t app_asks_stale;    /* verify requests whose slot went stale: not asked */
    uint64_t app_when_detached; /* answers from an application that is not attached */
    uint64_t app_foreign;       /* frames from another connection while one is attached */
    uint64_t app_refused;       /* frames on the application socket under `builtin` */
    uint64_t app_verdicts_owed; /* verify requests while no external application is attached */
    /* the submit socket */
    uint64_t clients_in;                     /* frames from submit-socket clients */
    uint64_t refused_by[8];                  /* refused by net, by ob_submit_refusal_t */
    uint64_t client_unanswerable;            /* no usable routing id: not even refused */
    uint64_t submit_assigned, submit_locked; /* the journal's answers sent */
    uint64_t submit_follow;                  /* submit_follow passed to the journal */
    uint64_t clients_known;  /* clients heard from lately (at most OB_NET_CLIENTS) */
    uint64_t clients_told;   /* submit_forgotten sent: one per client and journal restart */
    uint64_t journal_starts; /* submits_forgotten heard: each start of the built-in application */
    /* fetch on request (SPEC §3 Asking), from clients and the application */
    uint64_t fetch_requests_client, fetch_requests_app; /* passed to the journal */
    uint64_t fetch_malformed;                           /* did not decode: answered malformed */
    uint64_t fetch_unanswerable;   /* did not decode, and no tag to answer with */
    uint64_t fetch_found_sent;     /* fetch_found and app_fetch_found */
    uint64_t fetch_failed_sent[4]; /* fetch_failed and app_fetch_failed, by ob_fetch_status_t */
    uint64_t fetch_answers_broken; /* found, but a stale slot or bytes not the Lock's: busy sent */
    uint64_t
        fetch_undeliverable; /* answers with no asker: none attached, a bad id, a full outbox */
} ob_net_stats_t;

ob_net_t *ob_net_new(const ob_net_config_t *config, ob_why_t *why);
void ob_net_destroy(ob_net_t **self_p);

void ob_net_start(ob_net_t *self, ob_outbox_t *out);

/* A peer message of `frame_count` frames from the peer whose key is
   `peer`. Malformed framing is dropped and counted. */
void ob_net_on_peer(ob_net_t *self, const uint8_t peer[32], const ob_frame_t *frames,
                    size_t frame_count, ob_outbox_t *out);

/* A message from another actor of the node. */
void ob_net_handle(ob_net_t *self, ob_party_t from, const ob_imsg_t *msg, ob_outbox_t *out);

/* --- the application socket (proto/imsg.csv, "Outside the node") ------

   One frame from the application socket, decoded strictly, from the
   connection whose credentials are `who`: its CURVE key on TCP, its
   process credentials on ipc; never anything the sender writes (SPEC §4).
   An application sends app_attach (its heartbeat, at least every second),
   app_give_payload, app_give_verdict, app_lock_received and app_fetch
   (answered app_fetch_found or app_fetch_failed, as a client's fetch:
   see the submit socket below); anything else, or anything that does not
   decode, is dropped and counted.

   Under `external`, the first app_attach while none is attached attaches
   `who` (and the journal hears app_attached, to ask again what it is
   owed); until it detaches, frames of any other `who` are dropped and
   counted (app_foreign): nobody answers in its place or takes over.
   Answers while none is attached are dropped (app_when_detached). Under
   `builtin`, every frame is refused and counted (app_refused).

   While an application is attached, what net tells it is app_ask_payload,
   app_ask_verdict (with the payload bytes), app_tip, app_lock and
   app_evidence, as OB_DEST_APP envelopes for the shell to send to `who`'s
   connection. */
void ob_net_on_app(ob_net_t *self, uint64_t now_ms, const char *who, const uint8_t *frame,
                   size_t len, ob_outbox_t *out);

/* The clock: an application silent for more than OB_NET_APP_SILENCE_MS is
   detached; what it owed waits for the next one. The shell calls it every
   100 ms or so. */
void ob_net_tick(ob_net_t *self, uint64_t now_ms, ob_outbox_t *out);

bool ob_net_app_attached(const ob_net_t *self);
ob_net_application_t ob_net_application(const ob_net_t *self);
/* "builtin" or "external" */
const char *ob_net_application_name(ob_net_application_t application);

/* Whether `who` is the attached application: its connection is where
   OB_DEST_APP envelopes go. */
bool ob_net_app_is(const ob_net_t *self, const char *who);

/* The attached application's connection closed: it is detached now, not
   after its silence, so that its successor (a restarted process) can
   attach at once. */
void ob_net_app_closed(ob_net_t *self);

/* The application's answers, decoded already (ob_net_on_app calls these).
   ob_net_app_payload returns 0, or -1 if the payload is too large or finds
   no arena slot. */
int ob_net_app_payload(ob_net_t *self, uint64_t height, const uint8_t *data, size_t len,
                       ob_outbox_t *out);
void ob_net_app_verdict(ob_net_t *self, const ob_chunk_t *chunk, bool valid, ob_outbox_t *out);

/* The attached application has the Lock on `chunk`. */
void ob_net_lock_delivered(ob_net_t *self, const ob_chunk_t *chunk, ob_outbox_t *out);

/* Who asked for a fetch: fetch_request's and fetch_answer's `origin`
   (proto/imsg.csv). */
#define OB_NET_FETCH_FROM_CLIENT 0 /* a client of the submit socket; `client` its routing id */
#define OB_NET_FETCH_FROM_APP    1 /* the attached application */

/* --- the submit socket ------------------------------------------------

   One frame from a client of the submit socket (`client` is its ROUTER
   routing id), decoded strictly. A `submit` that does not decode is
   refused malformed (too_large for an oversized blob), one over
   max_payload too_large, any under `external` app_attached; otherwise its
   bytes go into an arena slot and to the journal (`submitted`), whose
   built-in application answers (client_answer: queued, refused, assigned,
   locked), and net sends the answer on. No slot: refused queue_full. A
   `submit_follow` goes to the journal (client_follow). Answers are
   OB_DEST_CLIENT envelopes.

   A `fetch` (or the application's app_fetch) goes to the journal as
   fetch_request, naming the asker; net keeps nothing of it. The journal's
   fetch_answer goes back to that asker: fetch_found (the Lock and the
   bytes, re-hashed against the slot's and the Lock's digest) or
   fetch_failed (its reason); a found answer whose bytes cannot be sent
   so is told busy, and the asker asks again. A fetch that does not
   decode is answered malformed if its tag can be read, else counted
   only. An answer for an application no longer attached is counted and
   dropped. */
void ob_net_on_client(ob_net_t *self, const ob_client_id_t *client, const uint8_t *frame,
                      size_t len, ob_outbox_t *out);

/* The shell has sent the outbox: payload slots it referred to are freed. */
void ob_net_flushed(ob_net_t *self);
/* How the slots net held for a batch go back once it is sent: the shell's
   zero-copy sends keep them until libzmq is done (actors/net/pins.h). */
typedef void(ob_net_release_fn)(void *ctx, const ob_handle_t *handle);
void ob_net_set_release(ob_net_t *self, ob_net_release_fn *release, void *ctx);

const ob_net_stats_t *ob_net_stats(const ob_net_t *self);

/* --- Fetching (SPEC §3) --------------------------------------------------

   Where budgets and blocks read the time: milliseconds of the clock that
   drives the handlers, CLOCK_MONOTONIC unless set (the simulator sets its
   virtual clock, the tests a fake one). */
void ob_net_set_clock(ob_net_t *self, uint64_t (*now_ms)(void *ctx), void *ctx);

/* Told when a block of `peer` starts (the shell publishes a "block"
   event): `reason` is the error the peer proved, `until_ms` of the clock
   above. */
typedef void(ob_net_block_fn)(void *ctx, const uint8_t peer[32], ob_error_t reason,
                              uint64_t until_ms);
void ob_net_set_on_block(ob_net_t *self, ob_net_block_fn *on_block, void *ctx);

/* Whether `peer` is blocked now, and if so why and until when. */
bool ob_net_peer_blocked(ob_net_t *self, const uint8_t peer[32], ob_error_t *reason,
                         uint64_t *until_ms);

/* Slots held for Fetching now (answers and fetched payloads still live),
   and the most there may be: a quarter of the arena. */
size_t ob_net_fetch_slots(ob_net_t *self);
size_t ob_net_fetch_slot_quota(const ob_net_t *self);

#endif

/*  net's state, shared by its two files: net.c (the peer transport, and
    the dispatch of the journal's messages) and net_app.c (the application
    and submit sockets: forwarding only; the built-in application is the
    journal's, actors/journal/builtin_app.h). Private to actors/net. */
#ifndef OB_NET_INTERNAL_H
#define OB_NET_INTERNAL_H

#include "net.h"

#include <czmq.h>

/* Payload slots referred to by the outbox, freed once it is sent. Bounded
   by the outbox: a batch refers to at most this many. */
#define OB_NET_MAX_HELD 1024

/* Peers whose budget or block net tracks: the manifest's nodes, with room
   to spare; past it the longest idle unblocked one is forgotten (its
   budget starts full again, which costs at most one second's budget). */
#define OB_NET_PEER_STATES 256
/* Fetch requests remembered, so that their answers are `asked`: a node has
   fetch_outstanding (8) out at once, so this only overflows under a
   journal that asks faster than its tunable; the oldest is forgotten. */
#define OB_NET_ASKS 64
/* How long an ask is remembered: the answers of a Fetch come at once, so a
   few seconds covers a slow link, while a late answer only costs budget. */
#define OB_NET_ASK_MS 3000

/* A peer's Fetching state (SPEC §3 Budgets, Blocking). Budgets are token
   buckets in thousandths, refilled from the clock up to one second's
   worth, so that a burst never exceeds the per-second budget. */
typedef struct {
    bool used;
    uint8_t key[32];
    uint64_t refilled_ms;
    uint64_t message_tokens, byte_tokens; /* thousandths of a message, of a byte */
    /* Answers paid for when the peer's Fetch went to the journal: what the
       journal sends back for it costs no message again (its bytes still do). */
    uint64_t answers_prepaid;
    uint64_t blocked_until_ms; /* blocked while now < this */
    ob_error_t block_reason;
    uint64_t last_seen_ms;
} ob_net_peer_state_t;

typedef struct {
    bool used;
    uint8_t peer[32];
    uint8_t sequencer[32];
    uint64_t height;
    uint16_t count;
    uint32_t answers; /* taken as asked: at most count + 1 (SPEC §3 Answering) */
    uint64_t expires_ms;
} ob_net_ask_t;

struct _ob_net_t {
    ob_node_env_t env;
    ob_crypto_t *crypto;
    bool epoch_known;
    uint64_t epoch;

    /* the application: the built-in one (in the journal), or an external
       one, attached (bound to the credentials of its connection) or not */
    ob_net_application_t application;
    bool app_attached;
    char app_who[OB_NET_WHO_MAX];
    bool refused_logged;  /* "refused under builtin", once */
    bool app_clock;       /* app_seen_ms is a time of the shell's clock */
    uint64_t app_seen_ms; /* its last app_attach */

    /* The journal asked an external application for a payload and none
       answered yet: the one that attaches is asked. */
    bool propose_pending;
    uint64_t propose_epoch, propose_height;

    /* payload bytes copied out of the arena for app_ask_verdict */
    uint8_t *scratch;
    size_t scratch_cap;

    uint64_t (*clock)(void *ctx); /* ms; NULL: CLOCK_MONOTONIC */
    void *clock_ctx;
    ob_net_peer_state_t peer_states[OB_NET_PEER_STATES];
    uint64_t blocks_end_ms; /* no peer is blocked from then on: the usual check is one compare */
    ob_net_ask_t asks[OB_NET_ASKS];
    /* Slots held for Fetching (answers sent, payloads fetched), checked
       live against the arena, at most a quarter of its slots (SPEC §3). */
    ob_handle_t *fetch_slots;
    size_t fetch_slot_count, fetch_slot_cap;
    ob_net_block_fn *on_block;
    void *on_block_ctx;

    /* the clients heard from: `clients` holds them, `client_index` maps a
       routing id (its whole zero-padded ob_client_id_t) to its slot, and
       `client_next` is the slot that gives way next */
    ob_client_id_t clients[OB_NET_CLIENTS];
    zhashx_t *client_index;
    size_t client_count, client_next;

    ob_handle_t held[OB_NET_MAX_HELD];
    size_t held_count;
    ob_net_release_fn *release; /* how a held slot goes back; NULL: to the arena */
    void *release_ctx;
    ob_net_stats_t stats;
};

/* Drops and counts a message (`peer` may be NULL). */
void ob_net_drop(ob_net_t *self, ob_error_t why, const uint8_t peer[32], ob_outbox_t *out);
/* Keeps a slot until the outbox that refers to it has been sent. */
void ob_net_hold(ob_net_t *self, const ob_handle_t *handle);

/* net_app.c: the journal's messages for the application and the clients. */
void ob_net_on_app_propose(ob_net_t *self, const ob_imsg_app_propose_t *in, ob_outbox_t *out);
void ob_net_on_app_verify(ob_net_t *self, const ob_imsg_app_verify_t *in, ob_outbox_t *out);
void ob_net_on_report_tip(ob_net_t *self, const ob_imsg_report_tip_t *in, ob_outbox_t *out);
void ob_net_on_report_lock(ob_net_t *self, const ob_imsg_report_lock_t *in, ob_outbox_t *out);
void ob_net_on_report_evidence(ob_net_t *self, const ob_imsg_report_evidence_t *in,
                               ob_outbox_t *out);
void ob_net_on_client_answer(ob_net_t *self, const ob_imsg_client_answer_t *in, ob_outbox_t *out);
void ob_net_on_fetch_answer(ob_net_t *self, const ob_imsg_fetch_answer_t *in, ob_outbox_t *out);
void ob_net_on_submits_forgotten(ob_net_t *self, ob_outbox_t *out);
/* The index of the clients heard from, and its end. */
zhashx_t *ob_net_client_index_new(void);

#endif

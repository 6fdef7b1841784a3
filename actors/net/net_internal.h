/*  net's state, shared by its two files: net.c (the peer transport, and
    the dispatch of the journal's messages) and net_app.c (the application
    and submit sockets: forwarding only; the built-in application is the
    journal's, actors/journal/builtin_app.h). Private to actors/net. */
#ifndef OB_NET_INTERNAL_H
#define OB_NET_INTERNAL_H

#include "net.h"

/* Payload slots referred to by the outbox, freed once it is sent. Bounded
   by the outbox: a batch refers to at most this many. */
#define OB_NET_MAX_HELD 1024

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

#endif

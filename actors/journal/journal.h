/*  The journal actor's pure handler (SPEC §3, §4). It owns the node's
    state in SQLite — tips, nodes, payloads, certificates, the current
    epoch, evidence — and drives the sequencer (propose and rebroadcast
    timers) and the reports to the application.

    Writes follow §4's order: a proposal's payload is committed before the
    signer is asked, the signed node is committed as tip before it is sent;
    a peer's node is committed as tip before the application verifies it;
    a certificate is committed before its Lock is reported. The shell
    commits each batch before it sends anything the batch produced.

    Inputs are messages and ticks of a clock in milliseconds; outputs are
    messages and the next deadline it wants a tick at. */
#ifndef OB_JOURNAL_H
#define OB_JOURNAL_H

#include "builtin_app.h"
#include "db.h"
#include "metrics.h"
#include "node_env.h"
#include "outbox.h"
#include "why.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct _ob_journal_t ob_journal_t;

typedef struct {
    ob_node_env_t env;
    const char *db_path;
    ob_db_sync_t sync;
    uint64_t initial_epoch; /* the epoch of a journal that has never had one */
    /* A microsecond clock for the latency metrics only, never for a
       protocol decision; NULL records none (the simulator). */
    uint64_t (*clock_us)(void);
    /* The built-in application (builtin_app.h) runs inside the journal:
       proposals from its queue, verdicts by digest and batch, answers to
       net's submit clients. false: an external application, reached
       through net (app_propose, app_verify; report_*). */
    bool builtin_app;
    uint32_t submit_queue_max, submit_track_max, batch_bytes, batch_slow_ms;
} ob_journal_config_t;

typedef struct {
    uint64_t nodes_accepted, nodes_duplicate, proposals, rebroadcasts, verify_requests;
    /* Duplicates of a tip: answered with an ack asked again without the
       application, and left unanswered by the rate limit (§3, step 4). */
    uint64_t reacks, duplicates_limited;
    uint64_t verdicts_valid, verdicts_invalid, acks_requested;
    uint64_t certificates, locks_reported, evidence;
    /* block_peer sent to net: a sequencer's own link brought a node that
       conflicts with one of its chain held here (SPEC §3 Blocking) */
    uint64_t blocks_asked;
    uint64_t certificates_known; /* the chain's last one again: no SQLite work */
    uint64_t payloads_pruned;    /* by retention */
    uint64_t durable_commits;    /* batches fsynced (all under FULL; proposals under NORMAL) */
    uint64_t lock_queries, lock_queries_answered; /* net's lock_query, and report_locks sent */
    /* Payload bytes written to and read back from SQLite (payload copies) */
    uint64_t payload_bytes_stored, payload_bytes_loaded;
    /* Fetching (SPEC §3): Fetch requests sent, by what they ask for, and
       resent unanswered to the next peer; Fetched sent to peers, with and
       without payload (pruned, or the arena too full to lend a slot), and
       payloads held that no longer hashed to their digest; Fetched taken
       from the verifier: new Locks, ones held already, ones on another
       payload than the certificate held (evidence), payloads stored, and
       payloads not stored as outside `retention`. */
    uint64_t fetch_asked_payload, fetch_asked_hole, fetch_asked_above, fetch_retries;
    uint64_t fetched_sent_payload, fetched_sent_bare, fetched_sent_corrupt;
    uint64_t fetched_new, fetched_duplicate, fetched_conflicting, fetched_payload_stored,
        fetched_outside_retention;
    uint64_t fetch_outstanding; /* requests out now */
    /* Fetch on request (SPEC §3 "on request": a client's or the
       application's): requests taken; answered found from the store, found
       by fetching, not found, busy; the same request again while followed
       (not followed twice); the Fetches sent for them (one height, one peer
       at a time, beside fetch_outstanding); and the requests followed now. */
    uint64_t fetch_requests, fetch_requests_local, fetch_requests_fetched, fetch_requests_not_found,
        fetch_requests_busy, fetch_requests_repeated;
    uint64_t fetch_asked_request;
    uint64_t fetch_requests_following;
    uint64_t dropped[OB_ERROR_COUNT]; /* by error name, from every actor */
    uint64_t sign_refused[OB_ERROR_COUNT];
    ob_histogram_t verify_latency;  /* application VERIFY: asked to answered */
    ob_histogram_t certify_latency; /* own chunk: sent to be signed to certified */
    uint64_t own_tip_height;
    bool has_own_tip, own_tip_certified;
} ob_journal_stats_t;

ob_journal_t *ob_journal_new(const ob_journal_config_t *config, ob_why_t *why);
void ob_journal_destroy(ob_journal_t **self_p);

/* After recovery: publish the epoch and tips to the other actors, and ask
   the signer for its last signed node (the sequencer's own tip is the
   higher of the two). */
void ob_journal_start(ob_journal_t *self, uint64_t now, ob_outbox_t *out);

int ob_journal_begin(ob_journal_t *self);
void ob_journal_handle(ob_journal_t *self, uint64_t now, ob_party_t from, const ob_imsg_t *msg,
                       ob_outbox_t *out);
void ob_journal_tick(ob_journal_t *self, uint64_t now, ob_outbox_t *out);
int ob_journal_commit(ob_journal_t *self);
/* The end of a batch, before its commit: the built-in application's
   proposal, if one is due, takes every submit of the batch, then its
   answers to clients go out, one message per client. A batch of the
   journal is not whole without it. */
void ob_journal_end_batch(ob_journal_t *self, ob_outbox_t *out);
/* The commit without waiting for the disk, and the sync that makes it
   durable (common/db.h): the shell runs the sync on its syncer thread
   (common/syncer.h) beside the next batch, and holds the batch's messages
   until it returned. ob_journal_sync touches only the database's WAL. */
int ob_journal_commit_deferred(ob_journal_t *self, bool *sync_due);
int ob_journal_sync(ob_journal_t *self);

/* When the journal next wants a tick; UINT64_MAX for never. */
uint64_t ob_journal_next_deadline(const ob_journal_t *self);

const ob_journal_stats_t *ob_journal_stats(const ob_journal_t *self);
/* With the built-in application: the reports (report_tip, report_lock,
   report_evidence) the batch since the last begin() made, which under an
   external one go to net, for the shell to publish as monitoring events
   once the batch has committed. NULL under an external application. */
ob_outbox_t *ob_journal_reports(ob_journal_t *self);

/* The built-in application, or NULL under an external one. */
const ob_builtin_app_t *ob_journal_builtin_app(const ob_journal_t *self);
uint64_t ob_journal_epoch(const ob_journal_t *self);

/* The tip held for `sequencer`: true with its height and payload. */
bool ob_journal_tip(const ob_journal_t *self, const uint8_t sequencer[32], uint64_t *height,
                    uint8_t payload[32]);

/* Every certificate held, as encoded Locks, in (sequencer, height) order. */
typedef void(ob_journal_lock_fn)(void *ctx, const uint8_t *lock, size_t len);
int ob_journal_each_lock(ob_journal_t *self, ob_journal_lock_fn *each, void *ctx);

#endif

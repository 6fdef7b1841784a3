/*  The built-in application (SPEC §5), a module of the journal: the submit
    queue, the proposals built from it, the verdict by digest and batch
    decoding, and the clients followed to their Lock. The journal calls it
    directly, so that with the built-in application nothing makes the trip
    journal -> net -> journal: net only carries a client's submit in
    (`submitted`, `client_follow`) and the answers out (`client_answer`).

    Batches (proto/batch.h, PROTOCOL.md "Batches"): with batching on, a
    proposal carries the queued payloads, oldest first, up to batch_bytes
    (at most max_payload, and always at least one), and a chunk's payload
    is a batch; a peer's chunk is valid only if its payload decodes as one.
    With batching off a chunk's payload is one submitted payload, and any
    payload is valid (the journal checked its digest). Every node of a
    cluster running the built-in application must agree on batching.

    Clients hear `submit_queued` or `submit_refused`, then, once this
    node's chunk at the height of their batch is signed and sent (or is a
    Tip), `submit_assigned(sequencer, height, index)`, and on its Lock
    `submit_locked(index, lock)`. A (client, tag) held already is answered
    where it stands, never queued twice; `client_follow` follows a payload
    again. The state is in memory only: a restart of the journal forgets
    the queue; the journal's start says so to net (submits_forgotten),
    which tells the clients, and libobcast-client resends (SPEC §5). A new submit whose
    bytes are an entry of an own chunk that no payload here explains (a
    journal before a restart proposed it) is that chunk's: assigned at
    once, not proposed twice. */
#ifndef OB_BUILTIN_APP_H
#define OB_BUILTIN_APP_H

#include "node_env.h"
#include "outbox.h"
#include "why.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct _ob_builtin_app_t ob_builtin_app_t;

typedef struct {
    ob_node_env_t env;
    uint32_t queue_max; /* payloads waiting to be proposed; 0: 1 */
    size_t queue_bytes; /* and their bytes at most; 0: 64 MiB */
    uint32_t track_max; /* submitted payloads followed to their Lock; 0: 1024 */
    uint32_t
        batch_bytes; /* 0: one payload per chunk; else a batch's bound, capped at max_payload */
    /* A batch whose chunk took longer than this from proposal to
       certificate shrinks the next ones' bound (ob_builtin_app_certified);
       0: the bound stays batch_bytes. */
    uint32_t batch_slow_ms;
} ob_builtin_app_config_t;

typedef struct {
    uint64_t submitted, submit_refused, proposals, batched_entries;
    uint64_t submit_bytes_queued; /* payload bytes copied into the queue */
    uint64_t refused_by[8];       /* by ob_submit_refusal_t */
    uint64_t submit_assigned, submit_locked;
    uint64_t track_evicted, track_lost;
    uint64_t submit_again, submit_follow, submit_claimed;
    uint64_t reserved, requeued, handed_lost;
    uint64_t verdicts_valid, verdicts_invalid;
    uint64_t answers_lost;              /* an answer the outbox had no room for */
    uint64_t answer_messages;           /* client_answer messages: one per client and batch */
    uint64_t batch_shrunk, batch_grown; /* changes of the adaptive bound */
    uint64_t batch_timed;               /* own proposals timed to their certificate */
    uint64_t batch_last_ms;             /* the last one's time from proposal to certificate */
} ob_builtin_app_stats_t;

ob_builtin_app_t *ob_builtin_app_new(const ob_builtin_app_config_t *config, ob_why_t *why);
void ob_builtin_app_destroy(ob_builtin_app_t **self_p);

/* A payload to queue, from `client` (its routing id; NULL: from inside
   the node, nobody to answer) with its tag, in `epoch`. Answers go to
   `out` as client_answer. Returns -1 if refused (not a sequencer of
   `epoch`, too large, or the queue is full), 0 if queued or held
   already, 1 if it is an own chunk's already and the journal should send
   the Lock it may hold at *lock_query (its own chain's height). */
int ob_builtin_app_submit(ob_builtin_app_t *self, uint64_t epoch, const ob_client_id_t *client,
                          uint64_t tag, const uint8_t *data, size_t len, uint64_t *lock_query,
                          ob_outbox_t *out);

/* A client's submit_follow: the payload is followed (again) as entry
   `index` of the own chunk at `height` carrying `digest`. The journal
   then sends the Lock it may hold at that height. */
void ob_builtin_app_follow(ob_builtin_app_t *self, const ob_client_id_t *client, uint64_t tag,
                           uint64_t height, uint32_t index, const uint8_t digest[32]);

/* The proposal at `height`: the payload (a batch, or one payload) is
   written into a new arena slot owned by `owner`, sealed, in *handle.
   0, 1 if there is nothing to propose (the queue is empty), -1 if the
   arena has no slot (the journal asks again at its timeout). Asked again
   for the same height (a proposal lost in a crash) it serves the same
   payload; a lower height puts what it handed back at the front. `now`
   (ms) times the proposal for the adaptive bound. */
int ob_builtin_app_propose(ob_builtin_app_t *self, uint64_t height, uint64_t now, uint16_t owner,
                           ob_handle_t *handle);

/* This node's own chunk `chunk` is certified, at `now` (ms). With
   batch_slow_ms set, its time since its proposal adapts the batch bound:
   a chunk slower than batch_slow_ms shrinks the bound in proportion
   (len x slow / took, at least 4 KiB), and one faster than half
   of it that filled at least half the bound grows it by a quarter (at
   least 4 KiB), up to batch_bytes. Under heavy loss a chain's big chunks certify in seconds
   (every lost segment of theirs waits out TCP's backoff, and a
   rebroadcast adds the whole chunk again), and small ones do not. */
void ob_builtin_app_certified(ob_builtin_app_t *self, const ob_chunk_t *chunk, uint64_t now);

/* Whether a chunk's payload bytes (their digest checked already) are
   valid: with batching on, iff they decode as a batch. */
/* Sends the answers this batch made, one client_answer per client (the
   journal calls it at the end of each batch, before its commit). */
void ob_builtin_app_flush(ob_builtin_app_t *self, ob_outbox_t *out);

bool ob_builtin_app_verify(ob_builtin_app_t *self, const uint8_t *data, size_t len);

/* This node's own chunk is `chunk` (signed and sent, or a Tip): its
   clients hear submit_assigned. `data` (may be NULL) are its payload
   bytes, for an own chunk that nothing here explains. */
void ob_builtin_app_own_chunk(ob_builtin_app_t *self, const ob_chunk_t *chunk, const uint8_t *data,
                              size_t len, ob_outbox_t *out);

/* A Lock (`bytes`, SPEC §2) on `lock`'s chunk: an own chunk's clients
   hear submit_locked and are forgotten. */
void ob_builtin_app_lock(ob_builtin_app_t *self, const ob_lock_t *lock, const uint8_t *bytes,
                         size_t len, ob_outbox_t *out);

/* Payloads waiting in the queue. */
uint32_t ob_builtin_app_queued(const ob_builtin_app_t *self);
/* The configured batch bound: 0 when batching is off. */
uint32_t ob_builtin_app_batch_bytes(const ob_builtin_app_t *self);
/* The bound the next proposal uses: batch_bytes, or less while chunks
   certify slowly; 0 when batching is off. */
uint32_t ob_builtin_app_batch_limit(const ob_builtin_app_t *self);

const ob_builtin_app_stats_t *ob_builtin_app_stats(const ob_builtin_app_t *self);

#endif

/*  The thin shell around an actor's pure handler (SPEC §4 "Rules of the
    house"): the node's internal sockets, and the batch loop that feeds a
    handler, commits, and only then sends what the batch produced.

    The same shell runs an actor as a process over ipc:// (the default)
    and as a thread of `obcast-node --inproc` over inproc://. Every actor
    binds one PULL socket per actor that may send it something
    (proto/imsg.csv), `<base>/<receiver>-from-<sender>` (a verifier is
    `verifier-<i>` on either side), so the socket a message came on names
    its sender; in a process, the connecting process must also be the one
    the supervisor started as that sender. A message of the wrong sender
    or the wrong process is dropped and counted. Each actor connects one
    PUSH to each pair it sends on. Peer messages reach the verifier
    instance their chunk routes to (ob_outbox_to_verifier), so that the
    acks of one chunk meet; other work is PUSHed round-robin over all
    instances; the journal's view (epoch, tips) and the signer's
    quorum_reset go to every instance.

    Sends never block: every socket has a high-water mark, and a message
    that does not fit is dropped and counted. The protocol recovers lost
    messages (rebroadcast, re-acks, re-asks); a blocked actor would not. */
#ifndef OB_SHELL_H
#define OB_SHELL_H

#include "arena.h"
#include "config.h"
#include "metrics.h"
#include "event.h"
#include "outbox.h"
#include "why.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* The environment variable naming an executable that obcast-node starts
   every actor through (`WRAPPER BINARY ARGS...`; valgrind for
   scripts/test-valgrind). Under it an actor's /proc/PID/exe is the
   wrapper's program, not obcast-<actor>: the shell then knows each sender
   by the binary its argv names (proto/PROTOCOL.md "Dispatch"). For tests
   and debugging only. */
#define OB_ACTOR_WRAPPER_ENV "OBCAST_ACTOR_WRAPPER"

/* How the node's actors reach each other. */
typedef struct {
    bool inproc;                     /* threads of one process */
    char base[PATH_MAX + 16];        /* "ipc://<runtime_dir>" or "inproc://obcast-<name>" */
    char events_base[PATH_MAX + 16]; /* "ipc://<runtime_dir>" in both modes: for outside readers */
    uint32_t verifiers;              /* instances */
} ob_shell_endpoints_t;

void ob_shell_endpoints_init(ob_shell_endpoints_t *self, const ob_node_config_t *config,
                             bool inproc);
/* The endpoint of one (sender, receiver) pair, which the receiver binds
   (instances count only for the verifier). */
int ob_shell_pair_endpoint(const ob_shell_endpoints_t *self, ob_party_t from,
                           uint32_t from_instance, ob_party_t to, uint32_t to_instance, char *out,
                           size_t cap);

/* Where `actor` publishes its events (a PUB socket): two frames each, a
   topic ("metrics") and one JSON object, every second. The supervisor's
   monitoring socket proxies them. */
int ob_shell_events_endpoint(const ob_shell_endpoints_t *self, ob_actor_t actor, uint32_t instance,
                             char *out, size_t cap);

/* What the shell counts. */
typedef struct {
    uint64_t batches, messages_in, messages_out;
    uint64_t undecodable;     /* frames that were no valid imsg: dropped */
    uint64_t wrong_sender;    /* messages their pair's sender may not send: dropped */
    uint64_t foreign_process; /* messages from a process that is not the pair's sender: dropped */
    uint64_t send_dropped;    /* sends refused by a full queue */
    uint64_t slots_sent;      /* arena slots marked sent to the actor a message went to */
    uint64_t commit_failures;
    uint64_t max_batch;
    uint64_t memory_trims;  /* seconds in which freed memory went back to the system */
    uint64_t syncs_asked;   /* commits whose messages waited for a sync */
    uint64_t syncs_inline;  /* of them, synced on the actor's own thread (nothing else waited) */
    uint64_t pipeline_full; /* batches that waited for a sync before they began */
    uint64_t max_pending;   /* most batches awaiting their sync at once */
} ob_shell_stats_t;

/* An actor's handler, behind function pointers: the shell knows nothing
   of what the actor does. Everything but handle may be NULL. */
typedef struct {
    int (*begin)(void *handler);
    /* `from`: the sender, known by the endpoint the message came on. */
    void (*handle)(void *handler, uint64_t now_ms, ob_party_t from, const ob_imsg_t *msg,
                   ob_outbox_t *out);
    void (*tick)(void *handler, uint64_t now_ms, ob_outbox_t *out);
    /* After the batch's messages and tick, before its commit: what the
       handler gathered over the batch (the journal's answers to clients). */
    void (*end_batch)(void *handler, ob_outbox_t *out);
    uint64_t (*next_deadline)(void *handler); /* ms; UINT64_MAX for none */
    int (*commit)(void *handler);
    /* Pipelined commits (both or neither): commit_deferred commits the
       batch without waiting for the disk (ob_db_commit_deferred) and says
       whether its messages must wait for a sync; sync makes every commit
       so far durable, on the shell's syncer thread, beside the handler's
       next batch (it may touch only what ob_db_sync touches), or on the
       actor's own thread when no sync is in flight and no input waits.
       The shell sends a batch's messages once the sync covering it (and
       every earlier batch's) returned, in batch order. */
    int (*commit_deferred)(void *handler, bool *sync_due);
    int (*sync)(void *handler);
    /* An envelope for outside the node (peer, application, client). */
    void (*send_external)(void *handler, const ob_envelope_t *envelope, const uint8_t *bytes);
    /* Each envelope, once sent (after its batch committed): a Lock
       reported to net is a Lock committed, for the monitoring socket. */
    void (*sent)(void *handler, const ob_envelope_t *envelope, const uint8_t *bytes);
    /* After a batch's envelopes are all sent. */
    void (*flushed)(void *handler);
    /* The actor's own figures, as members of the `metrics` event's object
       (SPEC §8); the shell adds its own. */
    void (*metrics)(void *handler, ob_json_t *json);
    /* One of the sockets added with ob_shell_watch is readable. */
    void (*readable)(void *handler, zsock_t *socket, uint64_t now_ms, ob_outbox_t *out);
} ob_shell_ops_t;

typedef struct _ob_shell_t ob_shell_t;

/* Binds `actor`'s PULL sockets and connects PUSHes to the others. `pipe`
   is the zactor pipe in --inproc mode (its "$TERM" ends the loop), NULL
   in a process (SIGINT and SIGTERM end it). */
ob_shell_t *ob_shell_new(const ob_shell_endpoints_t *endpoints, ob_actor_t actor, uint32_t instance,
                         zsock_t *pipe, ob_why_t *why);
void ob_shell_destroy(ob_shell_t **self_p);

/* Watches another socket: ops->readable is called when it has input, in
   the same batch as the internal messages that arrive with it. */
int ob_shell_watch(ob_shell_t *self, zsock_t *socket);

/* Pauses or resumes reading one watched socket (backpressure: net stops
   reading peers while the arena is full). */
void ob_shell_pause(ob_shell_t *self, zsock_t *socket, bool paused);

/* The node's payload arena: each slot a message to another actor hands
   over is marked sent to that actor once the message left
   (ob_arena_sent), so that a receiver's death costs its slots no longer
   than its restart. Without it (tests), nothing is marked. */
void ob_shell_set_arena(ob_shell_t *self, ob_arena_t *arena);

/* The outbox a handler writes into; start() messages go here too. */
ob_outbox_t *ob_shell_outbox(ob_shell_t *self);

/* Commits nothing, sends what the outbox holds: for the messages an
   actor's start() produced after recovery. */
void ob_shell_flush(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler);

/* Runs batches until told to stop. Returns 0 on a clean stop, -1 if a
   commit failed (the batch's messages were discarded: the actor must
   exit and be restarted, SPEC §4). */
int ob_shell_run(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler);

/* Publishes one event on the actor's events socket (SPEC §6): `topic`,
   then `json`, a whole JSON object. Never blocks; dropped if nobody keeps up. */
void ob_shell_publish(ob_shell_t *self, const char *topic, const char *json);

/* The same, built with jansson (event.h); takes the object. */
void ob_shell_publish_event(ob_shell_t *self, const char *topic, json_t **event_p);

/* Ends ob_shell_run after the batch in progress. */
void ob_shell_stop(ob_shell_t *self);

const ob_shell_stats_t *ob_shell_stats(const ob_shell_t *self);

/* CLOCK_MONOTONIC in milliseconds: one clock for all the node's processes. */
uint64_t ob_shell_now_ms(void);

/* The node's runtime folder: created with mode 0700 if missing; refused
   if it is not a folder, not ours, or open to others. */
int ob_shell_runtime_dir(const char *path, ob_why_t *why);

#endif

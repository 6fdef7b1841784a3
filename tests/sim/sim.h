/*  The deterministic simulator (issue 3): N nodes' real handlers wired
    through an in-memory network with a virtual clock and a seeded PRNG.
    Every message between actors and between nodes crosses through the real
    proto/ codecs; durable state is real SQLite, and a crash loses what was
    not committed. Invariants S1-S5 are checked as every event is processed;
    a violation stops the run with the seed and a trace. */
#ifndef SIM_H
#define SIM_H

#include "imsg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_NODES   16
#define SIM_MAX_EPOCHS  8
#define SIM_ARENA_SLOTS 256 /* payload slots of each node's arena */

typedef struct {
    uint64_t epoch;
    uint32_t validators; /* bitmask of node indices */
    uint32_t sequencers; /* bitmask of node indices */
} sim_epoch_t;

/* What the byzantine nodes do. */
typedef enum {
    SIM_LIAR_NONE, /* issue 9's driver: equivocation, forged and misplaced acks, garbage */
    /* Issue 11: answers each Fetch with Fetched of forged certificates (a bad
       signature, fewer than a quorum), wrong payloads, an unknown epoch and
       an unknown sequencer; floods unasked Fetched and Fetch far beyond
       fetch_budget. */
    SIM_LIAR_FETCH,
    /* Real certificates, wrong payloads only, answered and flooded: what
       corrupted storage looks like, which must never get a peer blocked. */
    SIM_LIAR_PAYLOADS,
} sim_liar_t;

typedef enum {
    SIM_SYNC_OFF,           /* nothing synced: the simulator's default */
    SIM_DURABILITY_POWER,   /* durability = "power": every commit synced */
    SIM_DURABILITY_PROCESS, /* durability = "process": the signer and proposals' payloads only */
} sim_durability_t;

typedef struct {
    uint64_t seed;
    int node_count;
    sim_epoch_t epochs[SIM_MAX_EPOCHS];
    int epoch_count;
    uint64_t latency_us, jitter_us; /* per peer link */
    double loss;                    /* probability a peer message is lost */
    uint32_t byzantine;             /* bitmask: nodes run the malicious driver */
    uint32_t app_rejects; /* bitmask: sequencers whose payloads from height 3 are rejected */
    uint32_t offline;     /* bitmask: nodes that start crashed */
    /* Random crashes: every `crash_every_us` on average, one random actor or
       (with 1 in 4 odds) a whole node crashes, at a random point of a batch,
       and restarts after 20-500 ms. 0 disables. */
    uint64_t crash_every_us;
    bool quiet;        /* no trace printing on success */
    sim_liar_t liar;   /* what the byzantine nodes do */
    uint64_t block_ms; /* the nodes' block_ms; 0: the default */
    /* The nodes (bitmask) that keep payload bytes only `retention` heights
       behind the certified tip; the others keep all. */
    uint32_t retention_nodes;
    uint64_t retention;
    /* What the nodes' databases sync (SPEC §4 `durability`): SIM_SYNC_OFF,
       the default, syncs nothing, for speed, and needs no power cut. */
    sim_durability_t durability;
    /* A whole node's crash is a power cut of its machine (tests/sim/
       powerloss.h): what its files had not synced is lost. Under
       SIM_DURABILITY_POWER every Lock it reported is still in its journal
       afterwards (checked at every cut, a violation otherwise). */
    bool power_loss;
} sim_config_t;

typedef struct sim sim_t;

/* A scenario's defaults: `n` nodes, all validators and sequencers of epoch
   1, links of 10 ms +- 1 ms. */
sim_config_t sim_config_default(uint64_t seed, int n);

sim_t *sim_new(const sim_config_t *config);
void sim_destroy(sim_t **self_p);

typedef bool(sim_until_fn)(sim_t *sim, void *ctx);

/* Runs until `until` says so (checked after each event) or virtual time
   reaches `deadline_ms`. Returns true if `until` was met, false on the
   deadline or on a violation. */
bool sim_run(sim_t *sim, uint64_t deadline_ms, sim_until_fn *until, void *ctx);

uint64_t sim_now_ms(const sim_t *sim);
uint64_t sim_seed(const sim_t *sim);
int sim_violations(const sim_t *sim);
/* The first violation's description, or "". */
const char *sim_violation(const sim_t *sim);
/* Prints the seed and the last events. */
void sim_print_trace(const sim_t *sim);
/* A digest of every event processed, for determinism. */
void sim_trace_hash(const sim_t *sim, uint8_t out[32]);
uint64_t sim_events(const sim_t *sim);

/* --- faults and operations --------------------------------------------- */

typedef enum {
    SIM_NET = 1,
    SIM_VERIFIER = 2,
    SIM_SIGNER = 3,
    SIM_JOURNAL = 4,
} sim_actor_t;

typedef enum {
    SIM_CRASH_BEFORE_COMMIT, /* the batch's writes and messages are lost */
    SIM_CRASH_AFTER_COMMIT,  /* committed, but nothing it produced was sent */
    SIM_CRASH_AFTER_SEND,
} sim_crash_point_t;

void sim_crash_actor(sim_t *sim, int node, sim_actor_t actor, uint64_t restart_after_ms);
void sim_crash_node(sim_t *sim, int node, uint64_t restart_after_ms);
/* Starts a node that was configured offline. */
void sim_start_node(sim_t *sim, int node);
/* Crashes `actor` of `node` at `point` of the next batch whose outbox holds
   a message of `imsg_type` (a proto/imsg.h type), then restarts it after
   `restart_after_ms`. One trigger at a time. */
void sim_crash_when(sim_t *sim, int node, sim_actor_t actor, int imsg_type, sim_crash_point_t point,
                    uint64_t restart_after_ms);
bool sim_trigger_fired(const sim_t *sim);
/* As sim_crash_when, but the whole node goes down at that point. */
void sim_crash_node_when(sim_t *sim, int node, sim_actor_t actor, int imsg_type,
                         sim_crash_point_t point, uint64_t restart_after_ms);

/* The application of `node` asks its net for the payload of
   `sequencer`'s chain at `height` (app_fetch, SPEC §3 "on request"), with
   `tag`; at most 8 asks per node. */
void sim_app_fetch(sim_t *sim, int node, int sequencer, uint64_t height, uint64_t tag);
/* What became of that ask: 1 found (the Lock is for what was asked and the
   bytes hash to its digest; anything else is a violation), 0 no answer
   yet, -1 failed, with the reason (ob_fetch_status_t) in `reason`. */
int sim_app_fetched(const sim_t *sim, int node, uint64_t tag, uint8_t *reason);

/* The application of `node` stops (or resumes) answering proposals. */
void sim_set_app_idle(sim_t *sim, int node, bool idle);

/* Keeps a copy of the node `sequencer` sends at `height`, when it does. */
void sim_capture(sim_t *sim, int sequencer, uint64_t height);
bool sim_captured(const sim_t *sim);
/* Delivers the captured node (with its payload) to `to`'s net, as if
   `sequencer` had just sent it. */
void sim_inject_captured(sim_t *sim, int to);

/* Cuts every link between nodes of different groups (group[i] per node). */
void sim_partition(sim_t *sim, const int *group);
void sim_heal(sim_t *sim);

/* Tells a node's journal to move to `epoch`. */
void sim_set_epoch(sim_t *sim, int node, uint64_t epoch);

/* Delivers `msg` to `to` of `node` as if `from` had sent it: the sender a
   shell knows by the endpoint (proto/PROTOCOL.md "Dispatch"), so a test
   can play a wrong one. */
void sim_send_internal(sim_t *sim, int node, sim_actor_t to, ob_party_t from, const ob_imsg_t *msg);
/* The node's public key. */
void sim_node_key(const sim_t *sim, int node, uint8_t out[32]);

/* --- what the reporters saw --------------------------------------------- */

/* The highest h such that `reporter` has Locks for every height 0..h of
   `sequencer`'s chain; -1 if it has none from 0. */
int64_t sim_contiguous_height(const sim_t *sim, int reporter, int sequencer);
/* The highest height `reporter` has a Lock for; -1 if none. */
int64_t sim_max_lock_height(const sim_t *sim, int reporter, int sequencer);
/* Whether `reporter` has a Lock at (sequencer, height). */
bool sim_has_lock(const sim_t *sim, int reporter, int sequencer, uint64_t height);
/* The epoch of the first Lock `reporter` got at (sequencer, height); 0 if none. */
uint64_t sim_lock_epoch(const sim_t *sim, int reporter, int sequencer, uint64_t height);
uint64_t sim_evidence_reports(const sim_t *sim, int reporter);
uint64_t sim_rebroadcasts(const sim_t *sim, int node);
uint64_t sim_drops(const sim_t *sim, int node, const char *error_name);
uint64_t sim_crashes(const sim_t *sim);
/* Power cuts (config.power_loss), and the Locks found in the journals
   after them. */
uint64_t sim_power_cuts(const sim_t *sim);
uint64_t sim_locks_after_cuts(const sim_t *sim);
/* The own tip height of a node's journal, -1 if none. */
int64_t sim_tip_height(const sim_t *sim, int node, int sequencer);
uint64_t sim_acks_sent(const sim_t *sim, int node);
/* Ack frames `node` sent on byzantine sequencers' chunks, and how many
   distinct signatures they carried (counted up to 64). */
uint64_t sim_byzantine_acks(const sim_t *sim, int node, size_t *distinct);
/* How many heights of [from, to] of `sequencer`'s chain `node`'s journal
   holds a certificate for together with its payload bytes, read from its
   SQLite file (what `obcast export` would find there). */
uint64_t sim_certified_payloads(const sim_t *sim, int node, int sequencer, uint64_t from,
                                uint64_t to);
/* Whether `node`'s net blocks `peer` now; if so, for what (an error name)
   and until when (virtual ms). */
bool sim_peer_blocked(const sim_t *sim, int node, int peer, const char **reason,
                      uint64_t *until_ms);
/* Blocks `node`'s net started or extended for `reason` (an error name). */
uint64_t sim_blocks(const sim_t *sim, int node, const char *reason);
/* The Fetched `node`'s net passed on to be verified, asked for and not. */
void sim_fetched_passed(const sim_t *sim, int node, uint64_t *asked, uint64_t *unasked);
/* What the byzantine `node` sent: Fetched answering a Fetch, Fetched
   unasked, and Fetch. */
void sim_liar_sent(const sim_t *sim, int node, uint64_t *answers, uint64_t *unasked,
                   uint64_t *fetches);
/* Payload slots held in a node's arena now. */
uint32_t sim_arena_in_use(const sim_t *sim, int node);

/* Every honest reporter (not byzantine, not in `except`) has contiguous
   Locks 0..height for every honest sequencer in `sequencers`. */
bool sim_all_reached(const sim_t *sim, uint32_t sequencers, uint32_t except, uint64_t height);

#endif

#include "journal.h"

#include "journal_store.h"
#include "log.h"
#include "submit.h"
#include "verify.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_TIPS 4096
#define S_NEVER    UINT64_MAX
/* Locks reported again per pass; the rest wait for the next pass. */
#define S_MAX_REDELIVER 256
/* What the application said of a tip. */
typedef enum {
    S_VERDICT_NONE,     /* not asked yet, or no answer (maybe lost, or no application) */
    S_VERDICT_VALID,    /* valid: a duplicate is acked again without asking */
    S_VERDICT_REJECTED, /* asked again at the duplicate rate, and on an attach */
} s_verdict_t;

typedef struct {
    uint8_t sequencer[32];
    uint64_t height;
    uint8_t payload[32];
    bool reported;            /* a Tip report went out for exactly this chunk */
    uint64_t verify_asked_us; /* metrics: when the application was asked */
    s_verdict_t verdict;
    /* A duplicate of this tip is answered no earlier (§3, validator step
       4: once per half rebroadcast timeout per sequencer and height). */
    uint64_t answer_after;
    /* The chain's last certificate this journal committed: every node
       carries its parent's, which is most often this one again. */
    bool has_cert;
    uint64_t cert_height;
    uint8_t cert_payload[32];
} s_tip_t;

/* --- fetching: what is missing, and what is asked (SPEC §3) ------------ */

/* Chains whose holes and missing payloads are tracked; further ones are
   learned only by the sequencer's own traffic. */
#define S_MAX_CHAINS 1024
/* Ranges kept per chain. A full table merges its two closest ranges: the
   merged one asks again for heights held between them, which costs
   duplicates, never a Lock. */
#define S_MAX_HOLES          16
#define S_MAX_PAYLOAD_RANGES 8
/* Requests out at once, whatever fetch_outstanding says. */
#define S_MAX_OUTSTANDING 64
/* A Fetch's count (SPEC §2: 1 to 64). */
#define S_FETCH_COUNT 64
/* An unanswered request is resent after fetch_retry_ms, then twice that,
   up to this many doublings. */
#define S_RETRY_DOUBLINGS 6

typedef struct {
    uint64_t from, to;
} s_range_t;

typedef struct {
    uint8_t sequencer[32];
    bool has_cert;
    uint64_t cert_high; /* the highest certified height held */
    /* Every height below it is a certificate held or a hole: the highest
       height known (a certificate, or a node this journal verified), + 1
       past a certified one. */
    uint64_t frontier;
    uint64_t grown_at;                /* when cert_high last grew, or the chain was first seen */
    uint64_t probe_at;                /* the next probe above it no earlier */
    size_t probe_turn;                /* its probes go to the peers in turn */
    s_range_t holes[S_MAX_HOLES + 1]; /* one more while adding */
    size_t hole_count;
    s_range_t payloads[S_MAX_PAYLOAD_RANGES + 1]; /* certified, bytes not held */
    size_t payload_count;
} s_chain_t;

typedef enum {
    S_FETCH_PAYLOAD, /* the bytes of certificates held without them */
    S_FETCH_HOLE,    /* Locks below the frontier */
    S_FETCH_ABOVE,   /* what lies above a chain that stopped growing here */
} s_fetch_kind_t;

typedef struct {
    s_fetch_kind_t kind;
    uint8_t sequencer[32];
    uint8_t peer[32];
    uint64_t from;
    uint16_t count;
    uint64_t deadline; /* resent (or, for a probe, given up) at */
    uint64_t backoff;
    bool progressed; /* its peer answered some of it */
} s_request_t;

/* --- fetching on request (SPEC §3 "on request") ----------------------- */

/* Requests followed at once; the (sequencer, height)s fetched for them are
   as many at most, since askers of one height share its fetch. Full: the
   asker hears busy. */
#define S_MAX_FOLLOWED 64
/* Epochs walked to tell a key that is no epoch's sequencer; a manifest
   wider than that is followed instead (no peer finds it: not found). */
#define S_MAX_EPOCH_WALK 1024

/* One asker: a client of the submit socket (origin 0, its routing id) or
   the attached application (origin 1), and what it asked for. */
typedef struct {
    uint8_t origin;
    ob_client_id_t client;
    uint64_t tag;
    uint8_t sequencer[32];
    uint64_t height;
} s_asker_t;

/* A height fetched for its askers: one peer asked at a time, each in turn
   once, the next after fetch_retry_ms or at once on a Fetched without the
   bytes. */
typedef struct {
    uint8_t sequencer[32];
    uint64_t height;
    uint8_t peer[32]; /* the one asked now */
    size_t first;     /* the turn starts at this peer */
    size_t tried;     /* peers asked, this one included */
    uint64_t deadline;
} s_follow_t;

/* Where the node's own sequencer stands between its tip and the next. */
typedef enum {
    S_PROPOSE_IDLE,
    S_PROPOSE_ASKED,   /* the application was asked for a payload */
    S_PROPOSE_SIGNING, /* the payload is committed; the signer was asked */
} s_propose_state_t;

struct _ob_journal_t {
    ob_node_env_t env;
    ob_crypto_t *crypto;
    ob_journal_store_t *store;
    ob_epoch_lookup_t lookup;
    bool failed; /* a database error in this batch: its commit must fail */

    uint64_t epoch;
    s_tip_t *tips;
    size_t tip_count;

    /* The sequencer. `recovered` waits for the signer's last signed node:
       until then the own tip may be behind what was signed. */
    bool recovered;
    s_propose_state_t propose_state;
    uint64_t propose_height;
    uint64_t propose_at;
    uint8_t propose_digest[32];
    bool own_certified;
    /* The built-in application's proposal waits for the end of the batch
       (ob_journal_end_batch), so that it takes every submit the batch
       brought: proposed at the first one, a chunk would carry that one
       alone and the rest would wait a whole round. */
    bool builtin_propose_due;
    uint64_t builtin_propose_now;
    uint64_t proposed_us; /* metrics: when propose_height was first sent to be signed */
    uint64_t proposed_us_height;
    uint64_t last_broadcast;  /* 0 after a start: rebroadcast at once */
    uint64_t last_redelivery; /* 0 after a start: re-report at once */
    bool broadcast_pending;

    /* Fetching: the chains' holes and missing payloads, the requests out,
       the next peer in turn, and when the fetcher wants a tick. */
    s_chain_t *chains;
    size_t chain_count;
    s_request_t requests[S_MAX_OUTSTANDING];
    size_t request_count;
    size_t peer_cursor;
    bool fetch_due;
    uint64_t fetch_due_at, fetch_wake;
    /* Fetching on request: the askers, the heights followed for them, the
       peer the next one starts at, and when the next ask is due. */
    s_asker_t askers[S_MAX_FOLLOWED];
    size_t asker_count;
    s_follow_t follows[S_MAX_FOLLOWED];
    size_t follow_count;
    size_t follow_turn;
    uint64_t follow_wake;

    uint64_t (*clock_us)(void); /* metrics only; NULL in the simulator */
    ob_builtin_app_t *app;      /* the built-in application; NULL: external */
    ob_outbox_t *reports;       /* with it: the batch's reports, for the monitoring events */
    ob_journal_stats_t stats;
};

/* --- small helpers ----------------------------------------------------- */

static s_tip_t *s_tip(ob_journal_t *self, const uint8_t sequencer[32])
{
    for (size_t i = 0; i < self->tip_count; i++)
        if (memcmp(self->tips[i].sequencer, sequencer, 32) == 0)
            return &self->tips[i];
    return NULL;
}

static s_tip_t *s_own_tip(ob_journal_t *self)
{
    return s_tip(self, self->env.self_key);
}

static bool s_is_self(const ob_journal_t *self, const uint8_t key[32])
{
    return memcmp(key, self->env.self_key, 32) == 0;
}

static bool s_is_validator(const ob_journal_t *self)
{
    const ob_keyset_t *v = ob_epochs_validators(self->env.epochs, self->epoch);
    return v && ob_keyset_contains(v, self->env.self_key);
}

static bool s_is_sequencer(const ob_journal_t *self)
{
    const ob_keyset_t *s = ob_epochs_sequencers(self->env.epochs, self->epoch);
    return s && ob_keyset_contains(s, self->env.self_key);
}

static void s_send(ob_journal_t *self, ob_actor_t to, const ob_imsg_t *msg, ob_outbox_t *out)
{
    if (ob_outbox_to_actor(out, to, msg) != 0)
        ob_warn("journal: outbox full; %s to %s lost (the protocol resends)",
                ob_imsg_name(msg->type), ob_actor_name(to));
    (void)self;
}

static void s_drop(ob_journal_t *self, ob_error_t why)
{
    self->stats.dropped[why]++;
    ob_debug("journal: dropped: %s", ob_error_name(why));
}

/* A report for the application (report_tip, report_lock,
   report_evidence): to net for an external one; the built-in one takes it
   here, and has a Lock at once (nobody confirms for it). */
static void s_to_app(ob_journal_t *self, const ob_imsg_t *msg, ob_outbox_t *out)
{
    if (!self->app) {
        s_send(self, OB_ACTOR_NET, msg, out);
        return;
    }
    /* Kept for the shell's monitoring events (best effort: a full record
       loses the event, never the report). */
    ob_outbox_to_actor(self->reports, OB_ACTOR_NET, msg);
    if (msg->type == OB_IMSG_REPORT_TIP) {
        ob_builtin_app_own_chunk(self->app, &msg->u.report_tip.chunk, NULL, 0, out);
    } else if (msg->type == OB_IMSG_REPORT_LOCK) {
        const ob_blob_t *bytes = &msg->u.report_lock.lock;
        ob_lock_t lock;
        if (ob_lock_decode(&lock, bytes->data, bytes->len, &self->lookup) != OB_OK)
            return;
        ob_builtin_app_lock(self->app, &lock, bytes->data, bytes->len, out);
        const ob_chunk_t *c = &lock.chunk;
        if (ob_journal_store_mark_delivered(self->store, c->sequencer, c->height, c->payload) != 0)
            self->failed = true;
    }
}

static void s_publish_tip(ob_journal_t *self, const s_tip_t *tip, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_TIP_CHANGED};
    memcpy(msg.u.tip_changed.chunk.sequencer, tip->sequencer, 32);
    msg.u.tip_changed.chunk.height = tip->height;
    memcpy(msg.u.tip_changed.chunk.payload, tip->payload, 32);
    s_send(self, OB_ACTOR_SIGNER, &msg, out);
}

static void s_publish_epoch(ob_journal_t *self, ob_actor_t to, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_EPOCH_CHANGED};
    msg.u.epoch_changed.epoch = self->epoch;
    s_send(self, to, &msg, out);
}

/* Records a new tip in memory; the caller has made it durable. */
static s_tip_t *s_set_tip(ob_journal_t *self, const ob_chunk_t *chunk)
{
    s_tip_t *tip = s_tip(self, chunk->sequencer);
    if (!tip) {
        if (self->tip_count == S_MAX_TIPS)
            return NULL;
        tip = &self->tips[self->tip_count++];
        memcpy(tip->sequencer, chunk->sequencer, 32);
    }
    tip->height = chunk->height;
    memcpy(tip->payload, chunk->payload, 32);
    tip->reported = false;
    tip->verdict = S_VERDICT_NONE;
    tip->answer_after = 0;
    if (s_is_self(self, chunk->sequencer)) {
        self->stats.has_own_tip = true;
        self->stats.own_tip_height = chunk->height;
    }
    return tip;
}

static void s_load_tip(void *ctx, const uint8_t sequencer[32], uint64_t height,
                       const uint8_t payload[32])
{
    ob_chunk_t chunk;
    memcpy(chunk.sequencer, sequencer, 32);
    chunk.height = height;
    memcpy(chunk.payload, payload, 32);
    s_set_tip(ctx, &chunk);
}

/* Puts stored payload bytes into the arena for another actor. */
static int s_payload_handle(ob_journal_t *self, const uint8_t digest[32], ob_handle_t *handle)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int found = ob_journal_store_payload(self->store, digest, &data, &len);
    if (found == 1)
        self->stats.payload_bytes_loaded += len;
    if (found < 0)
        self->failed = true;
    int rc = -1;
    if (found == 1)
        rc = ob_arena_put(self->env.arena, self->crypto, OB_ACTOR_JOURNAL, data, (uint32_t)len,
                          handle);
    free(data);
    return rc;
}

/* Copies a slot's bytes and hashes the copy against the handle's digest.
   net faces the world and may change a slot at any time, so only a
   private copy, checked after copying, is safe to commit. NULL if stale or
   changed; the caller frees the copy. */
static uint8_t *s_copy_checked(ob_journal_t *self, const ob_handle_t *handle)
{
    const uint8_t *bytes = ob_arena_get(self->env.arena, handle);
    if (!bytes)
        return NULL;
    uint8_t *copy = malloc(handle->len ? handle->len : 1);
    if (!copy)
        return NULL;
    memcpy(copy, bytes, handle->len);
    uint8_t digest[32];
    ob_sha256(self->crypto, copy, handle->len, digest);
    if (memcmp(digest, handle->digest, 32) != 0) {
        free(copy);
        return NULL;
    }
    return copy;
}

/* The certificate held for (sequencer, height) on `payload`, if any. */
static bool s_has_certificate(ob_journal_t *self, const uint8_t sequencer[32], uint64_t height,
                              const uint8_t payload[32], ob_lock_t *lock, uint8_t **bytes)
{
    size_t len = 0;
    uint8_t *held = NULL;
    int found = ob_journal_store_certificate(self->store, sequencer, height, &held, &len);
    if (found < 0)
        self->failed = true;
    if (found != 1)
        return false;
    ob_lock_t decoded;
    bool match = ob_lock_decode(&decoded, held, len, &self->lookup) == OB_OK &&
                 memcmp(decoded.chunk.payload, payload, 32) == 0;
    if (match && lock && bytes) {
        *lock = decoded;
        *bytes = held;
        return true;
    }
    free(held);
    return match;
}

/* The certificate held at (sequencer, height) if it is on another payload
   than `chunk`'s: 1 with a malloc'd copy of its Lock, 0 if there is none or
   it agrees. */
static int s_certified_other(ob_journal_t *self, const ob_chunk_t *chunk, uint8_t **cert,
                             size_t *len)
{
    int found =
        ob_journal_store_certificate(self->store, chunk->sequencer, chunk->height, cert, len);
    if (found < 0)
        self->failed = true;
    if (found != 1)
        return 0;
    ob_lock_t lock;
    if (ob_lock_decode(&lock, *cert, *len, &self->lookup) == OB_OK &&
        memcmp(lock.chunk.payload, chunk->payload, 32) != 0)
        return 1;
    free(*cert);
    *cert = NULL;
    return 0;
}

/* The signed node held at (sequencer, height) if it is on another payload
   than `chunk`'s: 1 with a malloc'd copy, 0 if there is none or it agrees. */
static int s_node_other(ob_journal_t *self, const ob_chunk_t *chunk, uint8_t **node, size_t *len)
{
    int found = ob_journal_store_node(self->store, chunk->sequencer, chunk->height, node, len);
    if (found < 0)
        self->failed = true;
    if (found != 1)
        return 0;
    ob_node_t held;
    if (ob_node_decode(&held, *node, *len, &self->lookup) == OB_OK &&
        memcmp(held.chunk.payload, chunk->payload, 32) != 0)
        return 1;
    free(*node);
    *node = NULL;
    return 0;
}

/* --- fetching: ranges of heights --------------------------------------- */

/* Adds from..to, keeping the ranges sorted and apart; beyond `max`, the
   two closest merge. */
static void s_ranges_add(s_range_t *ranges, size_t *count, size_t max, uint64_t from, uint64_t to)
{
    size_t n = *count, at = 0;
    while (at < n && ranges[at].to < from && ranges[at].to + 1 < from)
        at++;
    /* ranges[at..] end at or after from - 1: merge what touches. */
    size_t end = at;
    while (end < n && ranges[end].from <= to + 1 && to != UINT64_MAX) {
        if (ranges[end].from < from)
            from = ranges[end].from;
        if (ranges[end].to > to)
            to = ranges[end].to;
        end++;
    }
    if (to == UINT64_MAX)
        while (end < n) {
            if (ranges[end].from < from)
                from = ranges[end].from;
            end++;
        }
    size_t merged = end - at;
    if (merged == 0) {
        memmove(&ranges[at + 1], &ranges[at], (n - at) * sizeof *ranges);
        n++;
    } else if (merged > 1) {
        memmove(&ranges[at + 1], &ranges[end], (n - end) * sizeof *ranges);
        n -= merged - 1;
    }
    ranges[at] = (s_range_t){from, to};
    while (n > max) {
        size_t closest = 0;
        for (size_t i = 1; i + 1 < n; i++)
            if (ranges[i + 1].from - ranges[i].to < ranges[closest + 1].from - ranges[closest].to)
                closest = i;
        ranges[closest].to = ranges[closest + 1].to;
        memmove(&ranges[closest + 1], &ranges[closest + 2], (n - closest - 2) * sizeof *ranges);
        n--;
    }
    *count = n;
}

/* Takes `height` out; a range it splits stays whole when the table is
   full (a superset, asked again at the cost of duplicates). */
static void s_ranges_remove(s_range_t *ranges, size_t *count, size_t max, uint64_t height)
{
    size_t n = *count;
    for (size_t i = 0; i < n; i++) {
        s_range_t *r = &ranges[i];
        if (height < r->from || height > r->to)
            continue;
        if (r->from == r->to) {
            memmove(&ranges[i], &ranges[i + 1], (n - i - 1) * sizeof *ranges);
            *count = n - 1;
        } else if (height == r->from) {
            r->from++;
        } else if (height == r->to) {
            r->to--;
        } else if (n < max) {
            memmove(&ranges[i + 2], &ranges[i + 1], (n - i - 1) * sizeof *ranges);
            ranges[i + 1] = (s_range_t){height + 1, r->to};
            r->to = height - 1;
            *count = n + 1;
        }
        return;
    }
}

static bool s_ranges_overlap(const s_range_t *ranges, size_t count, uint64_t from, uint64_t to)
{
    for (size_t i = 0; i < count; i++)
        if (ranges[i].from <= to && from <= ranges[i].to)
            return true;
    return false;
}

/* Drops every height below `low`. */
static void s_ranges_trim_below(s_range_t *ranges, size_t *count, uint64_t low)
{
    size_t kept = 0;
    for (size_t i = 0; i < *count; i++) {
        if (ranges[i].to < low)
            continue;
        ranges[kept] = ranges[i];
        if (ranges[kept].from < low)
            ranges[kept].from = low;
        kept++;
    }
    *count = kept;
}

/* --- fetching: what the journal learns, it tells its fetcher ------------ */

static s_chain_t *s_chain(ob_journal_t *self, const uint8_t sequencer[32], uint64_t now)
{
    for (size_t i = 0; i < self->chain_count; i++)
        if (memcmp(self->chains[i].sequencer, sequencer, 32) == 0)
            return &self->chains[i];
    if (self->chain_count == S_MAX_CHAINS)
        return NULL;
    s_chain_t *chain = &self->chains[self->chain_count++];
    memset(chain, 0, sizeof *chain);
    memcpy(chain->sequencer, sequencer, 32);
    chain->grown_at = now;
    chain->probe_turn = self->chain_count; /* chains start their turns apart */
    return chain;
}

static bool s_within_retention(const ob_journal_t *self, const s_chain_t *chain, uint64_t height)
{
    uint64_t keep = self->env.params.retention;
    return keep == 0 || !chain || !chain->has_cert || height >= chain->cert_high ||
           chain->cert_high - height <= keep;
}

static void s_fetch_wake(ob_journal_t *self, uint64_t now)
{
    if (!self->fetch_due || now < self->fetch_due_at)
        self->fetch_due_at = now;
    self->fetch_due = true;
}

/* Heights frontier..to - 1 are known to exist and lack a certificate. */
static void s_fetch_holes_up_to(ob_journal_t *self, s_chain_t *chain, uint64_t to, uint64_t now)
{
    if (to > chain->frontier) {
        s_ranges_add(chain->holes, &chain->hole_count, S_MAX_HOLES, chain->frontier, to - 1);
        s_fetch_wake(self, now);
    }
}

/* A certificate at `height` is held (committed now, or found held). */
static void s_fetch_certified(ob_journal_t *self, const uint8_t sequencer[32], uint64_t height,
                              uint64_t now)
{
    s_chain_t *chain = s_chain(self, sequencer, now);
    if (!chain)
        return;
    if (!chain->has_cert || height > chain->cert_high) {
        chain->has_cert = true;
        chain->cert_high = height;
        chain->grown_at = now;
    }
    if (height >= chain->frontier) {
        s_fetch_holes_up_to(self, chain, height, now);
        chain->frontier = height + 1;
    } else {
        s_ranges_remove(chain->holes, &chain->hole_count, S_MAX_HOLES, height);
    }
}

/* A verified node at `height` is held: every height below it exists. */
static void s_fetch_node(ob_journal_t *self, const uint8_t sequencer[32], uint64_t height,
                         uint64_t now)
{
    s_chain_t *chain = s_chain(self, sequencer, now);
    if (!chain || height <= chain->frontier)
        return;
    s_fetch_holes_up_to(self, chain, height, now);
    chain->frontier = height;
}

static void s_fetch_payload_missing(ob_journal_t *self, const uint8_t sequencer[32],
                                    uint64_t height, uint64_t now)
{
    s_chain_t *chain = s_chain(self, sequencer, now);
    if (!chain || !s_within_retention(self, chain, height))
        return;
    s_ranges_add(chain->payloads, &chain->payload_count, S_MAX_PAYLOAD_RANGES, height, height);
    s_fetch_wake(self, now);
}

static void s_fetch_payload_held(ob_journal_t *self, const uint8_t sequencer[32], uint64_t height)
{
    s_chain_t *chain = s_chain(self, sequencer, 0);
    if (chain)
        s_ranges_remove(chain->payloads, &chain->payload_count, S_MAX_PAYLOAD_RANGES, height);
}

/* Recovery: the chains as the store holds them. */
static void s_load_span(void *ctx, const uint8_t sequencer[32], uint64_t lowest, uint64_t highest)
{
    ob_journal_t *self = ctx;
    s_chain_t *chain = s_chain(self, sequencer, 0);
    if (!chain)
        return;
    chain->has_cert = true;
    chain->cert_high = highest;
    chain->frontier = highest + 1;
    if (lowest > 0)
        s_ranges_add(chain->holes, &chain->hole_count, S_MAX_HOLES, 0, lowest - 1);
}

static void s_load_gap(void *ctx, const uint8_t sequencer[32], uint64_t from, uint64_t to)
{
    ob_journal_t *self = ctx;
    s_chain_t *chain = s_chain(self, sequencer, 0);
    if (chain && from <= to)
        s_ranges_add(chain->holes, &chain->hole_count, S_MAX_HOLES, from, to);
}

static void s_load_missing_payload(void *ctx, const uint8_t sequencer[32], uint64_t height,
                                   uint64_t unused)
{
    ob_journal_t *self = ctx;
    (void)unused;
    s_chain_t *chain = s_chain(self, sequencer, 0);
    if (chain)
        s_ranges_add(chain->payloads, &chain->payload_count, S_MAX_PAYLOAD_RANGES, height, height);
}

static int s_fetch_recover(ob_journal_t *self)
{
    if (ob_journal_store_certificate_spans(self->store, s_load_span, self) != 0 ||
        ob_journal_store_certificate_gaps(self->store, s_load_gap, self) != 0 ||
        ob_journal_store_certificates_without_payload(self->store, self->env.params.retention,
                                                      s_load_missing_payload, self) != 0)
        return -1;
    for (size_t i = 0; i < self->tip_count; i++)
        s_fetch_node(self, self->tips[i].sequencer, self->tips[i].height, 0);
    return 0;
}

/* --- lifecycle --------------------------------------------------------- */

ob_journal_t *ob_journal_new(const ob_journal_config_t *config, ob_why_t *why)
{
    ob_journal_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_why(why, "journal: out of memory");
        return NULL;
    }
    self->follow_wake = S_NEVER;
    self->env = config->env;
    self->clock_us = config->clock_us;
    self->lookup = ob_epochs_lookup(self->env.epochs);
    self->crypto = ob_crypto_new();
    self->tips = calloc(S_MAX_TIPS, sizeof *self->tips);
    self->chains = calloc(S_MAX_CHAINS, sizeof *self->chains);
    if (!self->crypto || !self->tips || !self->chains) {
        ob_why(why, "journal: out of memory or entropy");
        ob_journal_destroy(&self);
        return NULL;
    }
    if (config->builtin_app) {
        ob_builtin_app_config_t app = {.env = config->env,
                                       .queue_max = config->submit_queue_max,
                                       .track_max = config->submit_track_max,
                                       .batch_bytes = config->batch_bytes,
                                       .batch_slow_ms = config->batch_slow_ms};
        self->app = ob_builtin_app_new(&app, why);
        self->reports = ob_outbox_new(4096, 8u << 20);
        if (!self->app || !self->reports) {
            if (self->app && !self->reports)
                ob_why(why, "journal: out of memory");
            ob_journal_destroy(&self);
            return NULL;
        }
    }
    self->store = ob_journal_store_open(config->db_path, config->sync, why);
    if (!self->store) {
        ob_journal_destroy(&self);
        return NULL;
    }
    /* Recovery, before any message: the epoch, then the tips. */
    int has_epoch = ob_journal_store_epoch(self->store, &self->epoch);
    if (has_epoch < 0 || ob_journal_store_tips(self->store, s_load_tip, self) != 0 ||
        s_fetch_recover(self) != 0) {
        ob_why(why, "journal %s: cannot read its state", config->db_path);
        ob_journal_destroy(&self);
        return NULL;
    }
    if (has_epoch == 0 || self->epoch < config->initial_epoch)
        self->epoch = config->initial_epoch;
    if (!ob_epochs_known(self->env.epochs, self->epoch)) {
        ob_why(why, "journal %s: epoch %llu is not in the manifest", config->db_path,
               (unsigned long long)self->epoch);
        ob_journal_destroy(&self);
        return NULL;
    }
    s_tip_t *own = s_own_tip(self);
    if (own)
        self->own_certified =
            s_has_certificate(self, own->sequencer, own->height, own->payload, NULL, NULL);
    self->stats.own_tip_certified = self->own_certified;
    return self;
}

void ob_journal_destroy(ob_journal_t **self_p)
{
    assert(self_p);
    ob_journal_t *self = *self_p;
    if (!self)
        return;
    ob_journal_store_destroy(&self->store);
    ob_builtin_app_destroy(&self->app);
    ob_outbox_destroy(&self->reports);
    ob_crypto_destroy(&self->crypto);
    free(self->tips);
    free(self->chains);
    free(self);
    *self_p = NULL;
}

const ob_journal_stats_t *ob_journal_stats(const ob_journal_t *self)
{
    return &self->stats;
}

const ob_builtin_app_t *ob_journal_builtin_app(const ob_journal_t *self)
{
    return self->app;
}

uint64_t ob_journal_epoch(const ob_journal_t *self)
{
    return self->epoch;
}

bool ob_journal_tip(const ob_journal_t *self, const uint8_t sequencer[32], uint64_t *height,
                    uint8_t payload[32])
{
    for (size_t i = 0; i < self->tip_count; i++) {
        if (memcmp(self->tips[i].sequencer, sequencer, 32) == 0) {
            *height = self->tips[i].height;
            memcpy(payload, self->tips[i].payload, 32);
            return true;
        }
    }
    return false;
}

int ob_journal_each_lock(ob_journal_t *self, ob_journal_lock_fn *each, void *ctx)
{
    return ob_journal_store_each_certificate(self->store, each, ctx);
}

static void s_publish_state(ob_journal_t *self, ob_actor_t to, ob_outbox_t *out)
{
    s_publish_epoch(self, to, out);
    if (to == OB_ACTOR_SIGNER)
        for (size_t i = 0; i < self->tip_count; i++)
            s_publish_tip(self, &self->tips[i], out);
}

void ob_journal_start(ob_journal_t *self, uint64_t now, ob_outbox_t *out)
{
    s_publish_state(self, OB_ACTOR_SIGNER, out);
    s_publish_state(self, OB_ACTOR_VERIFIER, out);
    s_publish_state(self, OB_ACTOR_NET, out);
    ob_imsg_t ask = {.type = OB_IMSG_LAST_SIGNED_REQUEST};
    s_send(self, OB_ACTOR_SIGNER, &ask, out);
    if (self->app) {
        /* The built-in application's queue and the payloads it followed
           were the memory of the journal before this one: net tells the
           clients, which send again now rather than after their silence. */
        ob_imsg_t forgotten = {.type = OB_IMSG_SUBMITS_FORGOTTEN};
        s_send(self, OB_ACTOR_NET, &forgotten, out);
    }
    self->recovered = false;
    self->last_broadcast = 0;
    self->last_redelivery = 0;
    self->propose_state = S_PROPOSE_IDLE;
    /* What was fetched before is asked again; every chain's stall is
       timed from now. */
    self->request_count = 0;
    self->stats.fetch_outstanding = 0;
    for (size_t i = 0; i < self->chain_count; i++) {
        self->chains[i].grown_at = now;
        self->chains[i].probe_at = 0;
    }
    const ob_keyset_t *sequencers = ob_epochs_sequencers(self->env.epochs, self->epoch);
    uint16_t size = sequencers ? ob_keyset_size(sequencers) : 0;
    for (uint16_t i = 0; i < size; i++)
        if (!s_is_self(self, ob_keyset_key(sequencers, i)->bytes))
            s_chain(self, ob_keyset_key(sequencers, i)->bytes, now);
    self->fetch_wake = now;
}

ob_outbox_t *ob_journal_reports(ob_journal_t *self)
{
    return self->reports;
}

int ob_journal_begin(ob_journal_t *self)
{
    self->failed = false;
    if (self->reports)
        ob_outbox_clear(self->reports);
    return ob_journal_store_begin(self->store);
}

int ob_journal_commit(ob_journal_t *self)
{
    bool sync_due = false;
    if (ob_journal_commit_deferred(self, &sync_due) != 0)
        return -1;
    return sync_due ? ob_journal_sync(self) : 0;
}

int ob_journal_commit_deferred(ob_journal_t *self, bool *sync_due)
{
    *sync_due = false;
    if (self->failed)
        return -1;
    int rc = ob_journal_store_commit_deferred(self->store, sync_due);
    self->stats.durable_commits = ob_journal_store_durable_commits(self->store);
    return rc;
}

int ob_journal_sync(ob_journal_t *self)
{
    return ob_journal_store_sync(self->store);
}

/* --- certificates and evidence ---------------------------------------- */

static void s_evidence(ob_journal_t *self, const uint8_t sequencer[32], uint64_t height,
                       ob_evidence_kind_t kind, const uint8_t *first, size_t first_len,
                       const uint8_t *second, size_t second_len, ob_outbox_t *out)
{
    int rc = ob_journal_store_put_evidence(self->store, sequencer, height, kind, first, first_len,
                                           second, second_len);
    if (rc < 0) {
        self->failed = true;
        return;
    }
    if (rc == 0)
        return; /* known already */
    self->stats.evidence++;
    ob_warn("journal: evidence of equivocation by a sequencer at height %llu (kind %d)",
            (unsigned long long)height, (int)kind);
    ob_imsg_t msg = {.type = OB_IMSG_REPORT_EVIDENCE};
    msg.u.report_evidence.kind = (uint8_t)kind;
    msg.u.report_evidence.first = (ob_blob_t){first, (uint32_t)first_len};
    msg.u.report_evidence.second = (ob_blob_t){second, (uint32_t)second_len};
    s_to_app(self, &msg, out);
}

static void s_maybe_propose(ob_journal_t *self, uint64_t now, ob_outbox_t *out);

/* Retention: a new certificate at h lets the payload bytes of the
   sequencer's chain below h - retention go. One window of heights per
   certificate keeps the work flat in the length of the history; a node
   that catches up by more than the window leaves bytes behind, which
   cost disk, never safety. */
#define S_RETENTION_WINDOW 256

static void s_retain(ob_journal_t *self, const ob_chunk_t *chunk)
{
    uint64_t keep = self->env.params.retention;
    if (keep == 0 || chunk->height <= keep)
        return;
    uint64_t to = chunk->height - keep - 1;
    uint64_t from = to >= S_RETENTION_WINDOW ? to - S_RETENTION_WINDOW + 1 : 0;
    int pruned = ob_journal_store_prune_payloads(self->store, chunk->sequencer, from, to);
    if (pruned < 0)
        self->failed = true;
    else
        self->stats.payloads_pruned += (uint64_t)pruned;
}

/* A certificate for `lock->chunk`, formed here or learned from a parent:
   committed, then reported as a Lock if it is new (§3). */
static void s_on_certificate(ob_journal_t *self, uint64_t now, const ob_lock_t *lock,
                             ob_outbox_t *out)
{
    const ob_chunk_t *chunk = &lock->chunk;
    /* The one committed last on this chain, again (a node's parent that
       this node assembled itself): stored, reported and checked against
       the node at its height already, so nothing to read or write. */
    s_tip_t *known = s_tip(self, chunk->sequencer);
    if (known && known->has_cert && known->cert_height == chunk->height &&
        memcmp(known->cert_payload, chunk->payload, 32) == 0) {
        self->stats.certificates_known++;
        return;
    }
    size_t len = ob_lock_encoded_len(lock), written = 0;
    uint8_t *bytes = malloc(len);
    if (!bytes || ob_lock_encode(lock, bytes, len, &written) != 0) {
        free(bytes);
        self->failed = true;
        return;
    }
    /* A certificate on another payload than a signed node held at that
       height, or than a certificate held there, is evidence (§3). Against
       a node it is still a quorum's certificate, and held: the node is the
       equivocation, and every later check of it (a verdict, a duplicate)
       finds the certificate (s_conflict). Of two certificates, the first
       stays. */
    uint8_t *node = NULL;
    size_t node_len = 0;
    if (s_node_other(self, chunk, &node, &node_len) == 1)
        s_evidence(self, chunk->sequencer, chunk->height, OB_EVIDENCE_CERTIFIED_CONFLICT, node,
                   node_len, bytes, written, out);
    free(node);
    uint8_t *first = NULL;
    size_t first_len = 0;
    int has_cert = ob_journal_store_certificate(self->store, chunk->sequencer, chunk->height,
                                                &first, &first_len);
    if (has_cert < 0)
        self->failed = true;
    ob_lock_t first_lock;
    if (has_cert == 1 && ob_lock_decode(&first_lock, first, first_len, &self->lookup) == OB_OK &&
        memcmp(first_lock.chunk.payload, chunk->payload, 32) != 0) {
        s_evidence(self, chunk->sequencer, chunk->height, OB_EVIDENCE_CERTIFIED_CONFLICT, first,
                   first_len, bytes, written, out);
        free(first);
        free(bytes);
        return;
    }
    bool already = has_cert == 1;
    free(first);

    int rc = ob_journal_store_put_certificate(self->store, chunk->sequencer, chunk->height,
                                              chunk->payload, lock->epoch, bytes, written);
    if (rc >= 0) {
        s_fetch_certified(self, chunk->sequencer, chunk->height, now);
        if (self->app)
            ob_builtin_app_certified(self->app, chunk, now);
        /* The tip's bytes are held with it: the common case costs no
           lookup. */
        bool tip_bytes = known && known->height == chunk->height &&
                         memcmp(known->payload, chunk->payload, 32) == 0;
        int held =
            already || tip_bytes ? 1 : ob_journal_store_has_payload(self->store, chunk->payload);
        if (held < 0)
            self->failed = true;
        else if (held == 0)
            s_fetch_payload_missing(self, chunk->sequencer, chunk->height, now);
    }
    if (rc >= 0 && known && (!known->has_cert || chunk->height >= known->cert_height)) {
        known->has_cert = true;
        known->cert_height = chunk->height;
        memcpy(known->cert_payload, chunk->payload, 32);
    }
    if (rc < 0) {
        self->failed = true;
    } else if (!already) {
        s_retain(self, chunk);
        self->stats.certificates++;
        self->stats.locks_reported++;
        ob_imsg_t msg = {.type = OB_IMSG_REPORT_LOCK};
        msg.u.report_lock.lock = (ob_blob_t){bytes, (uint32_t)written};
        s_to_app(self, &msg, out);
    }
    free(bytes);

    s_tip_t *own = s_own_tip(self);
    if (own && s_is_self(self, chunk->sequencer) && own->height == chunk->height &&
        memcmp(own->payload, chunk->payload, 32) == 0 && !self->own_certified) {
        self->own_certified = true;
        self->stats.own_tip_certified = true;
        ob_stage(OB_STAGE_CERT_COMMITTED, chunk->sequencer, chunk->height);
        if (self->clock_us && self->proposed_us && self->proposed_us_height == chunk->height) {
            ob_histogram_record(&self->stats.certify_latency, self->clock_us() - self->proposed_us);
            self->proposed_us = 0;
        }
        s_maybe_propose(self, now, out);
    }
}

/* Reports again every Lock the application has not confirmed: a crash of
   any actor between commit and delivery loses no Lock. */
typedef struct {
    ob_journal_t *self;
    ob_outbox_t *out;
} s_redeliver_ctx_t;

static void s_redeliver_one(void *ctx, const uint8_t *lock, size_t len)
{
    s_redeliver_ctx_t *c = ctx;
    ob_imsg_t msg = {.type = OB_IMSG_REPORT_LOCK};
    msg.u.report_lock.lock = (ob_blob_t){lock, (uint32_t)len};
    s_to_app(c->self, &msg, c->out);
}

/* net follows a payload again (a client asked it to, after net restarted):
   the Lock of our own chunk at `height` goes to it once more if we hold
   one. Nothing is marked delivered: net's lock_delivered does that. */
static void s_on_lock_query(ob_journal_t *self, uint64_t height, ob_outbox_t *out)
{
    self->stats.lock_queries++;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int found = ob_journal_store_certificate(self->store, self->env.self_key, height, &bytes, &len);
    if (found < 0)
        self->failed = true;
    if (found == 1) {
        self->stats.lock_queries_answered++;
        ob_imsg_t msg = {.type = OB_IMSG_REPORT_LOCK};
        msg.u.report_lock.lock = (ob_blob_t){bytes, (uint32_t)len};
        s_to_app(self, &msg, out);
    }
    free(bytes);
}

static void s_redeliver(ob_journal_t *self, uint64_t now, ob_outbox_t *out)
{
    self->last_redelivery = now ? now : 1;
    s_redeliver_ctx_t ctx = {self, out};
    if (ob_journal_store_each_undelivered(self->store, S_MAX_REDELIVER, s_redeliver_one, &ctx) != 0)
        self->failed = true;
}

/* --- the validator path ----------------------------------------------- */

/* Two signed nodes of its own chain that conflict, the second sent by
   the sequencer itself over its link (`peer`): proof that it is
   byzantine, and net blocks it (SPEC §3 Blocking). One that another peer
   brought proves nothing of that peer: it did not sign it. */
static void s_block_equivocator(ob_journal_t *self, const uint8_t peer[32], const ob_chunk_t *chunk,
                                ob_outbox_t *out)
{
    if (memcmp(peer, chunk->sequencer, 32) != 0 || s_is_self(self, peer))
        return;
    ob_imsg_t block = {.type = OB_IMSG_BLOCK_PEER};
    memcpy(block.u.block_peer.peer, peer, 32);
    block.u.block_peer.error = OB_ERR_CHUNK_MISMATCH;
    if (ob_outbox_to_actor(out, OB_ACTOR_NET, &block) == 0)
        self->stats.blocks_asked++;
}

/* The one conflict check of every node, whatever its height against the
   tip: another signed node held at its (sequencer, height), or a
   certificate there on another payload. Either is evidence (§3), kept
   whichever of the two came first, and a node that conflicts is never
   made the tip, verified or acked. Only the first blocks its sender; a
   certificate against a signed chunk blocks no one, as whoever relays
   either of the two did not sign it. */
static bool s_conflict(ob_journal_t *self, const uint8_t peer[32], const ob_chunk_t *chunk,
                       const uint8_t *node, size_t node_len, ob_outbox_t *out)
{
    bool conflict = false;
    uint8_t *held = NULL;
    size_t held_len = 0;
    if (s_node_other(self, chunk, &held, &held_len) == 1) {
        s_evidence(self, chunk->sequencer, chunk->height, OB_EVIDENCE_CONFLICTING_NODES, held,
                   held_len, node, node_len, out);
        s_block_equivocator(self, peer, chunk, out);
        conflict = true;
    }
    free(held);
    uint8_t *cert = NULL;
    size_t cert_len = 0;
    if (s_certified_other(self, chunk, &cert, &cert_len) == 1) {
        s_evidence(self, chunk->sequencer, chunk->height, OB_EVIDENCE_CERTIFIED_CONFLICT, node,
                   node_len, cert, cert_len, out);
        conflict = true;
    }
    free(cert);
    return conflict;
}

static void s_on_verdict(ob_journal_t *self, const ob_imsg_app_verdict_t *in, ob_outbox_t *out);

/* The built-in application's verdict, here and now: the bytes hash to the
   chunk's digest (copied out first when they are decoded: net may change
   a slot at any time) and, with batching on, decode as a batch. */
/* `checked`: the journal's own copy of the slot's bytes, hashed against
   the chunk's digest where it was stored (s_on_node), or NULL (a
   duplicate asked again: copied and hashed here). The payload is hashed
   once at this point of use, not again for the verdict. */
static void s_builtin_verdict(ob_journal_t *self, const ob_chunk_t *chunk,
                              const ob_handle_t *handle, const uint8_t *checked, ob_outbox_t *out)
{
    ob_imsg_app_verdict_t verdict = {.chunk = *chunk};
    if (memcmp(handle->digest, chunk->payload, 32) == 0) {
        uint8_t *copy = checked ? NULL : s_copy_checked(self, handle);
        const uint8_t *bytes = checked ? checked : copy;
        verdict.valid =
            bytes &&
            ob_builtin_app_verify(self->app, ob_builtin_app_batch_bytes(self->app) ? bytes : NULL,
                                  ob_builtin_app_batch_bytes(self->app) ? handle->len : 0);
        free(copy);
    }
    ob_arena_release(self->env.arena, handle, OB_ACTOR_JOURNAL);
    s_on_verdict(self, &verdict, out);
}

static void s_ask_verify(ob_journal_t *self, const ob_chunk_t *chunk, const ob_handle_t *handle,
                         const uint8_t *checked, ob_outbox_t *out)
{
    if (self->app) {
        self->stats.verify_requests++;
        s_builtin_verdict(self, chunk, handle, checked, out);
        return;
    }
    ob_imsg_t msg = {.type = OB_IMSG_APP_VERIFY};
    msg.u.app_verify.chunk = *chunk;
    msg.u.app_verify.payload = *handle;
    self->stats.verify_requests++;
    s_tip_t *tip = s_tip(self, chunk->sequencer);
    if (tip && self->clock_us)
        tip->verify_asked_us = self->clock_us();
    if (ob_outbox_to_actor(out, OB_ACTOR_NET, &msg) != 0)
        ob_arena_release(self->env.arena, handle, OB_ACTOR_JOURNAL);
}

static void s_ask_ack(ob_journal_t *self, const ob_chunk_t *chunk, ob_outbox_t *out)
{
    if (!s_is_validator(self))
        return;
    ob_imsg_t ask = {.type = OB_IMSG_SIGN_ACK};
    ask.u.sign_ack.chunk = *chunk;
    ask.u.sign_ack.epoch = self->epoch;
    self->stats.acks_requested++;
    s_send(self, OB_ACTOR_SIGNER, &ask, out);
}

/* A duplicate of the tip (§3, validator step 4): the earlier ack may have
   been lost, so it is answered again, without new work where possible
   and at most once per half rebroadcast timeout. A tip the application
   found valid is acked again for the current epoch without asking it: the
   signer sends its stored ack when it signed one in this epoch (the same
   signature bytes), and signs for the new epoch otherwise. A rejected or
   unanswered one is put to the application again. `payload` is the
   duplicate's slot (released here unless handed on), or NULL to read the
   stored bytes. */
static void s_on_duplicate(ob_journal_t *self, uint64_t now, s_tip_t *tip,
                           const ob_handle_t *payload, ob_outbox_t *out)
{
    ob_chunk_t chunk;
    memcpy(chunk.sequencer, tip->sequencer, 32);
    chunk.height = tip->height;
    memcpy(chunk.payload, tip->payload, 32);
    bool limited = now < tip->answer_after;
    bool ask_app = !limited && tip->verdict != S_VERDICT_VALID;
    if (payload && !ask_app)
        ob_arena_release(self->env.arena, payload, OB_ACTOR_JOURNAL);
    if (limited) {
        self->stats.duplicates_limited++;
        return;
    }
    tip->answer_after = now + self->env.params.rebroadcast_timeout_ms / 2;
    if (!ask_app) {
        self->stats.reacks++;
        s_ask_ack(self, &chunk, out);
        return;
    }
    ob_handle_t stored;
    if (!payload) {
        if (s_payload_handle(self, tip->payload, &stored) != 0)
            return; /* arena full or bytes gone: the next duplicate asks */
        payload = &stored;
    }
    s_ask_verify(self, &chunk, payload, NULL, out);
}

/* An application attached: the verdicts still owed (a tip it rejected,
   or one asked while none was there) are asked at once, not at the next
   duplicate. */
static void s_on_app_attached(ob_journal_t *self, uint64_t now, ob_outbox_t *out)
{
    for (size_t i = 0; i < self->tip_count; i++) {
        s_tip_t *tip = &self->tips[i];
        if (tip->verdict == S_VERDICT_VALID)
            continue;
        tip->answer_after = 0;
        s_on_duplicate(self, now, tip, NULL, out);
    }
}

static void s_on_node(ob_journal_t *self, uint64_t now, const ob_imsg_node_verified_t *in,
                      ob_outbox_t *out)
{
    ob_arena_t *arena = self->env.arena;
    ob_node_t node;
    ob_error_t rc = ob_node_decode(&node, in->node.data, in->node.len, &self->lookup);
    if (rc != OB_OK || ob_arena_take(arena, &in->payload, OB_ACTOR_JOURNAL) != 0) {
        s_drop(self, rc != OB_OK ? rc : OB_ERR_PAYLOAD_MISMATCH);
        return;
    }
    const ob_chunk_t *chunk = &node.chunk;

    /* The parent certificate is a certificate for the parent chunk. */
    if (node.has_parent) {
        ob_lock_t parent = {.chunk = ob_node_parent_chunk(&node),
                            .epoch = node.parent.epoch,
                            .cert = node.parent.cert};
        s_on_certificate(self, now, &parent, out);
    }

    s_tip_t *tip = s_tip(self, chunk->sequencer);
    if (s_conflict(self, in->peer, chunk, in->node.data, in->node.len, out)) {
        ob_arena_release(arena, &in->payload, OB_ACTOR_JOURNAL);
        s_drop(self,
               tip && chunk->height < tip->height ? OB_ERR_HEIGHT_TOO_LOW : OB_ERR_CHUNK_MISMATCH);
        return;
    }
    if (tip && chunk->height <= tip->height) {
        bool same = chunk->height == tip->height && memcmp(chunk->payload, tip->payload, 32) == 0;
        if (same) {
            self->stats.nodes_duplicate++;
            s_on_duplicate(self, now, tip, &in->payload, out);
            return;
        }
        ob_arena_release(arena, &in->payload, OB_ACTOR_JOURNAL);
        s_drop(self, chunk->height < tip->height ? OB_ERR_HEIGHT_TOO_LOW : OB_ERR_CHUNK_MISMATCH);
        return;
    }

    /* A new tip: bytes re-checked at the point of use, then payload, node
       and tip committed together before anything depends on them. */
    uint8_t *bytes = memcmp(in->payload.digest, chunk->payload, 32) == 0
                         ? s_copy_checked(self, &in->payload)
                         : NULL;
    if (!bytes) {
        ob_arena_release(arena, &in->payload, OB_ACTOR_JOURNAL);
        s_drop(self, OB_ERR_PAYLOAD_MISMATCH);
        return;
    }
    int raised = -1;
    self->stats.payload_bytes_stored += in->payload.len;
    if (ob_journal_store_put_payload(self->store, chunk->payload, bytes, in->payload.len) != 0 ||
        ob_journal_store_put_node(self->store, chunk->sequencer, chunk->height, chunk->payload,
                                  in->node.data, in->node.len) != 0 ||
        (raised = ob_journal_store_raise_tip(self->store, chunk->sequencer, chunk->height,
                                             chunk->payload)) < 0) {
        free(bytes);
        self->failed = true;
        ob_arena_release(arena, &in->payload, OB_ACTOR_JOURNAL);
        return;
    }
    assert(raised == 1); /* memory and disk agree on the tip */
    s_tip_t *new_tip = s_set_tip(self, chunk);
    if (!new_tip) {
        free(bytes);
        ob_arena_release(arena, &in->payload, OB_ACTOR_JOURNAL);
        s_drop(self, OB_ERR_TOO_LARGE);
        return;
    }
    self->stats.nodes_accepted++;
    s_fetch_node(self, chunk->sequencer, chunk->height, now);
    ob_stage(OB_STAGE_TIP_COMMITTED, chunk->sequencer, chunk->height);
    s_publish_tip(self, new_tip, out);
    new_tip->answer_after = now + self->env.params.rebroadcast_timeout_ms / 2;
    s_ask_verify(self, chunk, &in->payload, bytes, out);
    free(bytes);
}

static void s_on_verdict(ob_journal_t *self, const ob_imsg_app_verdict_t *in, ob_outbox_t *out)
{
    const ob_chunk_t *chunk = &in->chunk;
    s_tip_t *tip = s_tip(self, chunk->sequencer);
    if (!tip || tip->height != chunk->height || memcmp(tip->payload, chunk->payload, 32) != 0) {
        s_drop(self, OB_ERR_NOT_TIP);
        return;
    }
    if (!s_is_self(self, chunk->sequencer))
        ob_stage(OB_STAGE_VERDICT, chunk->sequencer, chunk->height);
    if (tip->verify_asked_us && self->clock_us) {
        ob_histogram_record(&self->stats.verify_latency, self->clock_us() - tip->verify_asked_us);
        tip->verify_asked_us = 0;
    }
    /* A certificate on another payload came after the node (the evidence
       was kept then): the tip is an equivocation, never acked. */
    uint8_t *cert = NULL;
    size_t cert_len = 0;
    if (s_certified_other(self, chunk, &cert, &cert_len) == 1) {
        free(cert);
        s_drop(self, OB_ERR_CHUNK_MISMATCH);
        return;
    }
    if (!in->valid) {
        self->stats.verdicts_invalid++;
        tip->verdict = S_VERDICT_REJECTED;
        return;
    }
    self->stats.verdicts_valid++;
    tip->verdict = S_VERDICT_VALID;
    if (!tip->reported) {
        tip->reported = true;
        ob_imsg_t report = {.type = OB_IMSG_REPORT_TIP};
        report.u.report_tip.chunk = *chunk;
        s_to_app(self, &report, out);
    }
    s_ask_ack(self, chunk, out);
}

/* --- the sequencer path ----------------------------------------------- */

static void s_broadcast(ob_journal_t *self, uint64_t now, ob_outbox_t *out)
{
    s_tip_t *own = s_own_tip(self);
    if (!own)
        return;
    self->last_broadcast = now;
    uint8_t *node = NULL;
    size_t len = 0;
    int found = ob_journal_store_node(self->store, own->sequencer, own->height, &node, &len);
    if (found != 1) {
        if (found < 0)
            self->failed = true;
        return;
    }
    ob_handle_t handle;
    if (s_payload_handle(self, own->payload, &handle) != 0) {
        ob_warn("journal: cannot stage the own tip's payload; retrying at the next timeout");
        free(node);
        return;
    }
    if (self->app) {
        /* Signed and sent: its clients hear "assigned". */
        ob_chunk_t chunk = {.height = own->height};
        memcpy(chunk.sequencer, own->sequencer, 32);
        memcpy(chunk.payload, own->payload, 32);
        ob_builtin_app_own_chunk(self->app, &chunk, ob_arena_get(self->env.arena, &handle),
                                 handle.len, out);
    }
    ob_imsg_t msg = {.type = OB_IMSG_BROADCAST_NODE};
    msg.u.broadcast_node.epoch = self->epoch;
    msg.u.broadcast_node.node = (ob_blob_t){node, (uint32_t)len};
    msg.u.broadcast_node.payload = handle;
    if (ob_outbox_to_actor(out, OB_ACTOR_NET, &msg) != 0)
        ob_arena_release(self->env.arena, &handle, OB_ACTOR_JOURNAL);
    free(node);

    /* As a validator, it processes its own node as a peer's (§3): a
       rebroadcast is a duplicate of the own tip. */
    if (s_is_validator(self))
        s_on_duplicate(self, now, own, NULL, out);
}

/* Asks the signer to sign the proposal, handing it the slot of the
   committed payload (NULL: a re-ask, whose slot went with the first ask;
   the stored bytes are staged again, and without a slot the signer only
   signs and the node is broadcast from here on node_signed). */
static void s_ask_signature(ob_journal_t *self, const ob_handle_t *payload, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_SIGN_NODE};
    ob_handle_t staged;
    if (!payload && s_payload_handle(self, self->propose_digest, &staged) == 0)
        payload = &staged;
    if (payload)
        msg.u.sign_node.payload = *payload;
    if (self->clock_us &&
        (self->proposed_us == 0 || self->proposed_us_height != self->propose_height)) {
        self->proposed_us = self->clock_us();
        self->proposed_us_height = self->propose_height;
    }
    memcpy(msg.u.sign_node.chunk.sequencer, self->env.self_key, 32);
    msg.u.sign_node.chunk.height = self->propose_height;
    memcpy(msg.u.sign_node.chunk.payload, self->propose_digest, 32);
    ob_stage(OB_STAGE_PAYLOAD_COMMITTED, self->env.self_key, self->propose_height);
    uint8_t *lock_bytes = NULL;
    if (self->propose_height > 0) {
        s_tip_t *own = s_own_tip(self);
        ob_lock_t lock;
        if (!own || !s_has_certificate(self, own->sequencer, own->height, own->payload, &lock,
                                       &lock_bytes)) {
            self->propose_state = S_PROPOSE_IDLE;
            if (payload)
                ob_arena_release(self->env.arena, payload, OB_ACTOR_JOURNAL);
            return;
        }
        msg.u.sign_node.parent_epoch = lock.epoch;
        msg.u.sign_node.parent_cert =
            (ob_blob_t){lock_bytes + OB_CHUNK_LEN + 8, (uint32_t)ob_cert_encoded_len(&lock.cert)};
    }
    if (ob_outbox_to_actor(out, OB_ACTOR_SIGNER, &msg) != 0 && payload)
        ob_arena_release(self->env.arena, payload, OB_ACTOR_JOURNAL);
    free(lock_bytes);
}

static void s_propose_slot(ob_journal_t *self, uint64_t now, const ob_imsg_app_payload_t *in,
                           ob_outbox_t *out);

/* The built-in application answers the proposal asked, if its queue has
   anything: no message leaves the journal for it. */
static void s_builtin_propose(ob_journal_t *self, uint64_t now, ob_outbox_t *out)
{
    if (self->propose_state != S_PROPOSE_ASKED)
        return;
    ob_imsg_app_payload_t payload = {.height = self->propose_height};
    if (ob_builtin_app_propose(self->app, self->propose_height, now, OB_ACTOR_JOURNAL,
                               &payload.payload) == 0)
        s_propose_slot(self, now, &payload, out);
}

static void s_builtin_propose_at_batch_end(ob_journal_t *self, uint64_t now)
{
    self->builtin_propose_due = true;
    self->builtin_propose_now = now;
}

static void s_maybe_propose(ob_journal_t *self, uint64_t now, ob_outbox_t *out)
{
    if (!self->recovered || !s_is_sequencer(self))
        return;
    s_tip_t *own = s_own_tip(self);
    if (own && !self->own_certified)
        return; /* only on a certified tip (§3) */
    uint64_t next = own ? own->height + 1 : 0;
    bool waiting = self->propose_state != S_PROPOSE_IDLE && self->propose_height == next &&
                   now < self->propose_at + self->env.params.propose_timeout_ms;
    if (waiting)
        return;
    if (self->propose_state == S_PROPOSE_SIGNING && self->propose_height == next) {
        /* The signer did not answer in time (it may have restarted): ask
           again; a height it signed comes back identical. */
        self->propose_at = now;
        s_ask_signature(self, NULL, out);
        return;
    }
    self->propose_state = S_PROPOSE_ASKED;
    self->propose_height = next;
    self->propose_at = now;
    ob_stage(OB_STAGE_ASKED, self->env.self_key, next);
    ob_stage(OB_STAGE_NEXT_ASKED, self->env.self_key, next - 1); /* none at 0: never stamped */
    if (self->app) {
        s_builtin_propose_at_batch_end(self, now);
        return;
    }
    ob_imsg_t msg = {.type = OB_IMSG_APP_PROPOSE};
    msg.u.app_propose.epoch = self->epoch;
    msg.u.app_propose.height = next;
    s_send(self, OB_ACTOR_NET, &msg, out);
}

static void s_on_payload(ob_journal_t *self, uint64_t now, const ob_imsg_app_payload_t *in,
                         ob_outbox_t *out)
{
    if (ob_arena_take(self->env.arena, &in->payload, OB_ACTOR_JOURNAL) != 0) {
        s_drop(self, OB_ERR_PAYLOAD_MISMATCH);
        return;
    }
    s_propose_slot(self, now, in, out);
}

/* The payload for the proposal at in->height, in a slot the journal
   holds (released here). */
static void s_propose_slot(ob_journal_t *self, uint64_t now, const ob_imsg_app_payload_t *in,
                           ob_outbox_t *out)
{
    ob_arena_t *arena = self->env.arena;
    bool expected = self->propose_state == S_PROPOSE_ASKED && in->height == self->propose_height;
    uint8_t *bytes = expected && in->payload.len <= self->env.params.max_payload
                         ? s_copy_checked(self, &in->payload)
                         : NULL;
    if (!bytes) {
        ob_arena_release(arena, &in->payload, OB_ACTOR_JOURNAL);
        s_drop(self, expected ? OB_ERR_PAYLOAD_MISMATCH : OB_ERR_NOT_TIP);
        return;
    }
    /* Proposal step 1: the payload bytes are durable before the signer is
       asked, so a node it signs always has its payload here: durable
       against power loss too, whatever `durability` says (the signer's
       record is), and pinned against retention until the node is the own
       tip (the same bytes may be another chain's, pruned meanwhile). */
    self->stats.payload_bytes_stored += in->payload.len;
    int rc = ob_journal_store_put_payload(self->store, in->payload.digest, bytes, in->payload.len);
    if (rc == 0)
        rc = ob_journal_store_pin_proposal(self->store, in->height, in->payload.digest);
    ob_journal_store_want_durable(self->store);
    free(bytes);
    if (rc != 0) {
        ob_arena_release(arena, &in->payload, OB_ACTOR_JOURNAL);
        self->failed = true;
        return;
    }
    memcpy(self->propose_digest, in->payload.digest, 32);
    self->propose_state = S_PROPOSE_SIGNING;
    self->propose_at = now;
    self->stats.proposals++;
    /* The slot goes on to the signer, and with the signed node to net: the
       bytes leave from where they are, never read back from SQLite. */
    s_ask_signature(self, &in->payload, out);
}

/* Adopts a node the signer signed as the own tip (proposal step 4).
   `sent`: the signer handed it to net already, and acked it (node_signed);
   otherwise (the signer's last signed node after a restart, or a node
   signed without a slot) it is broadcast from here. */
static void s_adopt_signed(ob_journal_t *self, uint64_t now, const ob_blob_t *bytes, bool sent,
                           ob_outbox_t *out)
{
    ob_node_t node;
    if (ob_node_decode(&node, bytes->data, bytes->len, &self->lookup) != OB_OK ||
        !s_is_self(self, node.chunk.sequencer)) {
        ob_error("journal: the signer returned a node that is not ours");
        return;
    }
    s_tip_t *own = s_own_tip(self);
    if (own && node.chunk.height <= own->height)
        return; /* already the tip, or behind it */
    int found = ob_journal_store_has_payload(self->store, node.chunk.payload);
    if (found != 1) {
        /* Step 1 makes this unreachable; say so loudly if it is not. */
        ob_error("journal: a signed node at height %llu has no stored payload",
                 (unsigned long long)node.chunk.height);
        if (found < 0)
            self->failed = true;
        return;
    }
    if (node.has_parent) {
        ob_lock_t parent = {.chunk = ob_node_parent_chunk(&node),
                            .epoch = node.parent.epoch,
                            .cert = node.parent.cert};
        s_on_certificate(self, now, &parent, out);
    }
    /* Proposal step 4, with no sync of its own: the signer's record of the
       node is durable, and after a power loss the own tip is the higher of
       this record and the signer's last signed node (SPEC §4), whose
       payload step 1 made durable. So a certificate that comes next is not
       held behind a sync for this. */
    int raised = -1;
    if (ob_journal_store_put_node(self->store, node.chunk.sequencer, node.chunk.height,
                                  node.chunk.payload, bytes->data, bytes->len) != 0) {
        self->failed = true;
        return;
    }
    ob_journal_store_lazy(self->store);
    if ((raised = ob_journal_store_raise_tip(self->store, node.chunk.sequencer, node.chunk.height,
                                             node.chunk.payload)) < 0) {
        self->failed = true;
        return;
    }
    ob_journal_store_lazy(self->store);
    if (ob_journal_store_unpin_proposals(self->store, node.chunk.height) != 0) {
        self->failed = true;
        return;
    }
    ob_journal_store_lazy(self->store);
    s_tip_t *tip = s_set_tip(self, &node.chunk);
    if (!tip)
        return;
    /* The node's own application proposed it: valid without asking. */
    tip->verdict = S_VERDICT_VALID;
    tip->reported = true;
    ob_imsg_t report = {.type = OB_IMSG_REPORT_TIP};
    report.u.report_tip.chunk = node.chunk;
    s_send(self, OB_ACTOR_NET, &report, out);
    self->own_certified =
        s_has_certificate(self, tip->sequencer, tip->height, tip->payload, NULL, NULL);
    self->stats.own_tip_certified = self->own_certified;
    self->propose_state = S_PROPOSE_IDLE;
    s_publish_tip(self, tip, out);
    if (self->own_certified) {
        s_maybe_propose(self, now, out);
    } else if (sent) {
        self->last_broadcast = now; /* the rebroadcast timer starts at the send */
        tip->answer_after = now + self->env.params.rebroadcast_timeout_ms / 2;
    } else {
        s_broadcast(self, now, out);
    }
}

/* --- the built-in application's clients (through net) ------------------ */

static bool s_client_id(const ob_blob_t *blob, ob_client_id_t *client)
{
    if (blob->len == 0 || blob->len > OB_CLIENT_ID_MAX)
        return false;
    client->len = (uint8_t)blob->len;
    memcpy(client->id, blob->data, blob->len);
    return true;
}

static void s_on_submitted(ob_journal_t *self, uint64_t now, const ob_imsg_submitted_t *in,
                           ob_outbox_t *out)
{
    ob_client_id_t client;
    if (ob_arena_take(self->env.arena, &in->payload, OB_ACTOR_JOURNAL) != 0) {
        s_drop(self, OB_ERR_PAYLOAD_MISMATCH); /* stale: the client resends */
        return;
    }
    /* The queue copies the bytes; they are not hashed here: net, where
       they came from, could as well have sent others, and the batch they
       go into is hashed when it is sealed. */
    const uint8_t *bytes = ob_arena_get(self->env.arena, &in->payload);
    if (!self->app || !s_client_id(&in->client, &client) || !bytes) {
        ob_arena_release(self->env.arena, &in->payload, OB_ACTOR_JOURNAL);
        s_drop(self, self->app ? OB_ERR_PAYLOAD_MISMATCH : OB_ERR_UNKNOWN_TYPE);
        return;
    }
    uint64_t query = 0;
    int rc = ob_builtin_app_submit(self->app, self->epoch, &client, in->tag, bytes, in->payload.len,
                                   &query, out);
    ob_arena_release(self->env.arena, &in->payload, OB_ACTOR_JOURNAL);
    if (rc == 1)
        s_on_lock_query(self, query, out);
    else if (rc == 0)
        s_builtin_propose_at_batch_end(self, now); /* a proposal may be waiting for it */
}

static void s_on_client_follow(ob_journal_t *self, const ob_imsg_client_follow_t *in,
                               ob_outbox_t *out)
{
    ob_client_id_t client;
    if (!self->app || !s_client_id(&in->client, &client)) {
        s_drop(self, OB_ERR_UNKNOWN_TYPE);
        return;
    }
    ob_builtin_app_follow(self->app, &client, in->tag, in->height, in->index, in->payload);
    s_on_lock_query(self, in->height, out);
}

/* --- fetching: answering, receiving, asking (SPEC §3) ------------------ */

typedef struct {
    ob_journal_t *self;
    const uint8_t *peer;
    ob_outbox_t *out;
} s_serve_ctx_t;

/* Room in the arena for a slot served from the store: under 3/4 full,
   the rest kept for live traffic. */
static bool s_arena_room(const ob_journal_t *self)
{
    const ob_arena_t *arena = self->env.arena;
    return ob_arena_in_use(arena) < ob_arena_slot_count(arena) / 4 * 3;
}

/* One Fetched for the peer: the Lock, and its payload bytes in a slot when
   they are held, still hash to the Lock's digest, and the arena has room
   to spare for live traffic. */
static void s_send_fetched(ob_journal_t *self, const uint8_t peer[32], const uint8_t *lock,
                           size_t lock_len, const uint8_t *payload, size_t payload_len, bool held,
                           ob_outbox_t *out)
{
    ob_lock_t decoded;
    if (ob_lock_decode(&decoded, lock, lock_len, &self->lookup) != OB_OK)
        return; /* stored by this journal after decoding: unreachable */
    ob_imsg_t msg = {.type = OB_IMSG_SEND_FETCHED};
    memcpy(msg.u.send_fetched.peer, peer, 32);
    msg.u.send_fetched.lock = (ob_blob_t){lock, (uint32_t)lock_len};
    ob_arena_t *arena = self->env.arena;
    if (held && s_arena_room(self) && payload_len <= ob_arena_slot_size(arena) &&
        ob_arena_put(arena, self->crypto, OB_ACTOR_JOURNAL, payload, (uint32_t)payload_len,
                     &msg.u.send_fetched.payload) == 0) {
        self->stats.payload_bytes_loaded += payload_len;
        /* The slot's seal hashed the bytes as they were read back. */
        if (memcmp(msg.u.send_fetched.payload.digest, decoded.chunk.payload, 32) == 0) {
            msg.u.send_fetched.has_payload = true;
        } else {
            ob_arena_release(arena, &msg.u.send_fetched.payload, OB_ACTOR_JOURNAL);
            self->stats.fetched_sent_corrupt++;
            ob_error("journal: the payload held for height %llu does not hash to its digest; "
                     "served without it",
                     (unsigned long long)decoded.chunk.height);
        }
    }
    if (!msg.u.send_fetched.has_payload)
        msg.u.send_fetched.payload = (ob_handle_t){0};
    if (ob_outbox_to_actor(out, OB_ACTOR_NET, &msg) != 0) {
        if (msg.u.send_fetched.has_payload)
            ob_arena_release(arena, &msg.u.send_fetched.payload, OB_ACTOR_JOURNAL);
        ob_warn("journal: outbox full; a Fetched is lost (the asker retries)");
        return;
    }
    if (msg.u.send_fetched.has_payload)
        self->stats.fetched_sent_payload++;
    else
        self->stats.fetched_sent_bare++;
}

static void s_serve_row(void *ctx, uint64_t height, const uint8_t *lock, size_t lock_len,
                        const uint8_t *payload, size_t payload_len, bool held)
{
    s_serve_ctx_t *c = ctx;
    (void)height;
    s_send_fetched(c->self, c->peer, lock, lock_len, payload, payload_len, held, c->out);
}

/* A peer's Fetch: the certificates held in its range, ascending, then the
   highest one above it, bare, to tell how far the chain went. */
static void s_on_peer_fetch(ob_journal_t *self, const ob_imsg_peer_fetch_t *in, ob_outbox_t *out)
{
    if (in->count == 0 || in->count > S_FETCH_COUNT) {
        s_drop(self, OB_ERR_FETCH_COUNT);
        return;
    }
    if (in->height > INT64_MAX)
        return; /* no height that high is ever stored */
    uint64_t to = in->height + (in->count - 1u);
    if (to > INT64_MAX)
        to = INT64_MAX;
    s_serve_ctx_t ctx = {self, in->peer, out};
    if (ob_journal_store_certificate_range(self->store, in->sequencer, in->height, to, s_serve_row,
                                           &ctx) != 0) {
        self->failed = true;
        return;
    }
    uint8_t *lock = NULL;
    size_t len = 0;
    int found =
        ob_journal_store_highest_certificate_above(self->store, in->sequencer, to, &lock, &len);
    if (found < 0)
        self->failed = true;
    if (found == 1)
        s_send_fetched(self, in->peer, lock, len, NULL, 0, false, out);
    free(lock);
}

static void s_fetch_settle(ob_journal_t *self, uint64_t now);
static bool s_follow_fetched(ob_journal_t *self, uint64_t now, const ob_imsg_fetched_verified_t *in,
                             const ob_lock_t *lock, bool has_payload, bool agreed,
                             ob_outbox_t *out);

/* A Fetched that passed the verifier: a Lock learned, and its payload if
   lacking and within retention. It never moves a tip or asks for an ack. */
static void s_on_fetched(ob_journal_t *self, uint64_t now, const ob_imsg_fetched_verified_t *in,
                         ob_outbox_t *out)
{
    ob_arena_t *arena = self->env.arena;
    bool has_payload = in->has_payload && ob_arena_take(arena, &in->payload, OB_ACTOR_JOURNAL) == 0;
    ob_lock_t lock;
    ob_error_t rc = ob_lock_decode(&lock, in->lock.data, in->lock.len, &self->lookup);
    if (rc != OB_OK) {
        if (has_payload)
            ob_arena_release(arena, &in->payload, OB_ACTOR_JOURNAL);
        s_drop(self, rc);
        return;
    }
    const ob_chunk_t *chunk = &lock.chunk;
    s_chain_t *chain = s_chain(self, chunk->sequencer, now);
    bool keep_bytes = has_payload && s_within_retention(self, chain, chunk->height) &&
                      memcmp(in->payload.digest, chunk->payload, 32) == 0;
    int stored = keep_bytes ? ob_journal_store_has_payload(self->store, chunk->payload) : 1;
    if (stored < 0)
        self->failed = true;
    bool held =
        s_has_certificate(self, chunk->sequencer, chunk->height, chunk->payload, NULL, NULL);
    bool agreed = held; /* the Lock held there now is this one's */
    /* Held already, but a merged range may still count it missing. */
    if (held)
        s_fetch_certified(self, chunk->sequencer, chunk->height, now);
    if (held && stored != 0) {
        self->stats.fetched_duplicate++;
        if (keep_bytes && stored == 1)
            s_fetch_payload_held(self, chunk->sequencer, chunk->height);
    } else {
        if (!held)
            s_on_certificate(self, now, &lock, out);
        bool committed = held || s_has_certificate(self, chunk->sequencer, chunk->height,
                                                   chunk->payload, NULL, NULL);
        agreed = committed;
        if (!committed)
            self->stats.fetched_conflicting++; /* evidence, kept by s_on_certificate */
        else if (!held)
            self->stats.fetched_new++;
        uint8_t *bytes = committed && stored == 0 ? s_copy_checked(self, &in->payload) : NULL;
        if (bytes) {
            if (ob_journal_store_put_payload(self->store, chunk->payload, bytes, in->payload.len) !=
                0) {
                self->failed = true;
            } else {
                self->stats.fetched_payload_stored++;
                self->stats.payload_bytes_stored += in->payload.len;
                s_fetch_payload_held(self, chunk->sequencer, chunk->height);
            }
            free(bytes);
        }
    }
    if (has_payload && !s_within_retention(self, chain, chunk->height))
        self->stats.fetched_outside_retention++;
    if (!s_follow_fetched(self, now, in, &lock, has_payload, agreed, out) && has_payload)
        ob_arena_release(arena, &in->payload, OB_ACTOR_JOURNAL);
    /* Its request, if it answers one, has progressed; done ones free their
       place for the next. */
    for (size_t i = 0; i < self->request_count; i++) {
        s_request_t *r = &self->requests[i];
        if (memcmp(r->sequencer, chunk->sequencer, 32) == 0 && memcmp(r->peer, in->peer, 32) == 0 &&
            chunk->height >= r->from)
            r->progressed = true;
    }
    s_fetch_settle(self, now);
}

/* The peers asked in turn: the current epoch's validators, then its other
   sequencers, never this node. The `index`th of them, or NULL past the
   last. */
static const uint8_t *s_peer_at(const ob_journal_t *self, size_t index)
{
    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, self->epoch);
    const ob_keyset_t *sequencers = ob_epochs_sequencers(self->env.epochs, self->epoch);
    const ob_keyset_t *sets[2] = {validators, sequencers};
    for (int s = 0; s < 2; s++) {
        uint16_t size = sets[s] ? ob_keyset_size(sets[s]) : 0;
        for (uint16_t i = 0; i < size; i++) {
            const uint8_t *key = ob_keyset_key(sets[s], i)->bytes;
            if (s_is_self(self, key) ||
                (s == 1 && validators && ob_keyset_contains(validators, key)))
                continue;
            if (index-- == 0)
                return key;
        }
    }
    return NULL;
}

static size_t s_peer_count(const ob_journal_t *self)
{
    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, self->epoch);
    const ob_keyset_t *sequencers = ob_epochs_sequencers(self->env.epochs, self->epoch);
    size_t n = 0;
    uint16_t size = validators ? ob_keyset_size(validators) : 0;
    for (uint16_t i = 0; i < size; i++)
        n += !s_is_self(self, ob_keyset_key(validators, i)->bytes);
    size = sequencers ? ob_keyset_size(sequencers) : 0;
    for (uint16_t i = 0; i < size; i++) {
        const uint8_t *key = ob_keyset_key(sequencers, i)->bytes;
        n += !s_is_self(self, key) && !(validators && ob_keyset_contains(validators, key));
    }
    return n;
}

/* The next peer in the turn `cursor` keeps; `avoid` (the one just asked)
   is skipped when there is another. */
static bool s_next_peer_of(const ob_journal_t *self, size_t *cursor, const uint8_t *avoid,
                           uint8_t peer[32])
{
    size_t n = s_peer_count(self);
    if (n == 0)
        return false;
    const uint8_t *pick = s_peer_at(self, (*cursor)++ % n);
    if (avoid && n > 1 && memcmp(pick, avoid, 32) == 0)
        pick = s_peer_at(self, (*cursor)++ % n);
    memcpy(peer, pick, 32);
    return true;
}

/* The next peer in the journal's turn. */
static bool s_next_peer(ob_journal_t *self, const uint8_t *avoid, uint8_t peer[32])
{
    return s_next_peer_of(self, &self->peer_cursor, avoid, peer);
}

static void s_send_fetch(ob_journal_t *self, const s_request_t *r, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_SEND_FETCH};
    memcpy(msg.u.send_fetch.peer, r->peer, 32);
    memcpy(msg.u.send_fetch.sequencer, r->sequencer, 32);
    msg.u.send_fetch.height = r->from;
    msg.u.send_fetch.count = r->count;
    s_send(self, OB_ACTOR_NET, &msg, out);
}

static bool s_request_done(ob_journal_t *self, const s_request_t *r)
{
    if (r->kind == S_FETCH_ABOVE)
        return r->progressed;
    s_chain_t *chain = NULL;
    for (size_t i = 0; i < self->chain_count && !chain; i++)
        if (memcmp(self->chains[i].sequencer, r->sequencer, 32) == 0)
            chain = &self->chains[i];
    if (!chain)
        return true;
    uint64_t to = r->from + (r->count - 1u);
    return r->kind == S_FETCH_HOLE
               ? !s_ranges_overlap(chain->holes, chain->hole_count, r->from, to)
               : !s_ranges_overlap(chain->payloads, chain->payload_count, r->from, to);
}

/* Frees the requests that are done. */
static void s_fetch_settle(ob_journal_t *self, uint64_t now)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->request_count; i++) {
        if (s_request_done(self, &self->requests[i]))
            continue;
        self->requests[kept++] = self->requests[i];
    }
    if (kept != self->request_count)
        s_fetch_wake(self, now);
    self->request_count = kept;
    self->stats.fetch_outstanding = kept;
}

static uint64_t s_fetch_limit(const ob_journal_t *self)
{
    uint64_t limit = self->env.params.fetch_outstanding;
    return limit < S_MAX_OUTSTANDING ? limit : S_MAX_OUTSTANDING;
}

/* Asks for `kind` from `from`, up to `to` and at most a Fetch's count. */
static bool s_ask(ob_journal_t *self, uint64_t now, s_fetch_kind_t kind,
                  const uint8_t sequencer[32], uint64_t from, uint64_t to, size_t *turn,
                  ob_outbox_t *out)
{
    if (self->request_count >= s_fetch_limit(self))
        return false;
    s_request_t *r = &self->requests[self->request_count];
    memset(r, 0, sizeof *r);
    if (!s_next_peer_of(self, turn ? turn : &self->peer_cursor, NULL, r->peer))
        return false;
    r->kind = kind;
    memcpy(r->sequencer, sequencer, 32);
    r->from = from;
    r->count = to - from >= S_FETCH_COUNT - 1u ? S_FETCH_COUNT : (uint16_t)(to - from + 1);
    r->backoff = self->env.params.fetch_retry_ms ? self->env.params.fetch_retry_ms : 1;
    r->deadline = now + r->backoff;
    self->request_count++;
    self->stats.fetch_outstanding = self->request_count;
    if (kind == S_FETCH_PAYLOAD)
        self->stats.fetch_asked_payload++;
    else if (kind == S_FETCH_HOLE)
        self->stats.fetch_asked_hole++;
    else
        self->stats.fetch_asked_above++;
    s_send_fetch(self, r, out);
    return true;
}

/* The lowest height of `ranges` no request of `kind` covers yet, and the
   end of its uncovered run: false if every height is asked. */
static bool s_first_unasked(const ob_journal_t *self, s_fetch_kind_t kind,
                            const uint8_t sequencer[32], const s_range_t *ranges, size_t count,
                            uint64_t *from, uint64_t *to)
{
    for (size_t i = 0; i < count; i++) {
        uint64_t at = ranges[i].from;
        bool moved = true;
        /* Each pass moves past one request or stops: bounded by them. */
        for (size_t pass = 0; moved && pass <= self->request_count && at <= ranges[i].to; pass++) {
            moved = false;
            for (size_t k = 0; k < self->request_count; k++) {
                const s_request_t *r = &self->requests[k];
                uint64_t end = r->from + r->count; /* exclusive */
                if (r->kind == kind && memcmp(r->sequencer, sequencer, 32) == 0 && r->from <= at &&
                    at < end) {
                    at = end;
                    moved = true;
                }
            }
        }
        if (moved || at > ranges[i].to)
            continue;
        uint64_t end = ranges[i].to;
        for (size_t k = 0; k < self->request_count; k++) {
            const s_request_t *r = &self->requests[k];
            if (r->kind == kind && memcmp(r->sequencer, sequencer, 32) == 0 && r->from > at &&
                r->from - 1 < end)
                end = r->from - 1;
        }
        *from = at;
        *to = end;
        return true;
    }
    return false;
}

static bool s_probing(const ob_journal_t *self, const uint8_t sequencer[32])
{
    for (size_t k = 0; k < self->request_count; k++)
        if (self->requests[k].kind == S_FETCH_ABOVE &&
            memcmp(self->requests[k].sequencer, sequencer, 32) == 0)
            return true;
    return false;
}

/* The journal's fetching, at each tick: requests resent or given up,
   then new ones while there is room: payloads, holes, then what lies above
   each chain of the current epoch that stopped growing here. */
static void s_fetch_tick(ob_journal_t *self, uint64_t now, ob_outbox_t *out)
{
    s_fetch_settle(self, now);
    uint64_t wake = UINT64_MAX;
    uint64_t cap = (self->env.params.fetch_retry_ms ? self->env.params.fetch_retry_ms : 1)
                   << S_RETRY_DOUBLINGS;
    size_t kept = 0;
    for (size_t i = 0; i < self->request_count; i++) {
        s_request_t *r = &self->requests[i];
        if (now >= r->deadline) {
            /* A probe that nobody answered found nothing more; one that
               was answered in part leaves the rest to a new request. */
            if (r->kind == S_FETCH_ABOVE || r->progressed)
                continue;
            uint8_t last[32];
            memcpy(last, r->peer, 32);
            s_next_peer(self, last, r->peer);
            r->backoff = r->backoff * 2 > cap ? cap : r->backoff * 2;
            r->deadline = now + r->backoff;
            self->stats.fetch_retries++;
            s_send_fetch(self, r, out);
        }
        if (r->deadline < wake)
            wake = r->deadline;
        self->requests[kept++] = *r;
    }
    self->request_count = kept;

    for (size_t c = 0; c < self->chain_count; c++) {
        s_chain_t *chain = &self->chains[c];
        if (self->env.params.retention && chain->has_cert &&
            chain->cert_high > self->env.params.retention)
            s_ranges_trim_below(chain->payloads, &chain->payload_count,
                                chain->cert_high - self->env.params.retention);
    }
    for (int kind = S_FETCH_PAYLOAD; kind <= S_FETCH_HOLE; kind++) {
        for (size_t c = 0; c < self->chain_count; c++) {
            s_chain_t *chain = &self->chains[c];
            const s_range_t *ranges = kind == S_FETCH_HOLE ? chain->holes : chain->payloads;
            size_t count = kind == S_FETCH_HOLE ? chain->hole_count : chain->payload_count;
            uint64_t from, to;
            while (self->request_count < s_fetch_limit(self) &&
                   s_first_unasked(self, (s_fetch_kind_t)kind, chain->sequencer, ranges, count,
                                   &from, &to))
                if (!s_ask(self, now, (s_fetch_kind_t)kind, chain->sequencer, from, to, NULL, out))
                    break;
        }
    }

    const ob_keyset_t *sequencers = ob_epochs_sequencers(self->env.epochs, self->epoch);
    uint16_t size = sequencers ? ob_keyset_size(sequencers) : 0;
    uint64_t timeout = self->env.params.rebroadcast_timeout_ms;
    for (uint16_t i = 0; i < size; i++) {
        const uint8_t *key = ob_keyset_key(sequencers, i)->bytes;
        s_chain_t *chain = s_is_self(self, key) ? NULL : s_chain(self, key, now);
        if (!chain || s_probing(self, key))
            continue;
        uint64_t due = chain->grown_at + timeout;
        if (chain->probe_at > due)
            due = chain->probe_at;
        if (now >= due && self->request_count < s_fetch_limit(self) &&
            s_ask(self, now, S_FETCH_ABOVE, key, chain->has_cert ? chain->cert_high + 1 : 0,
                  UINT64_MAX, &chain->probe_turn, out))
            chain->probe_at = now + timeout;
        /* A probe due but not sent (no room, or no peer) waits for a
           request to end: a tick now would find the same. */
        else if (due > now && due < wake)
            wake = due;
    }
    for (size_t i = 0; i < self->request_count; i++)
        if (self->requests[i].deadline < wake)
            wake = self->requests[i].deadline;
    self->fetch_due = false;
    self->fetch_wake = wake;
    self->stats.fetch_outstanding = self->request_count;
}

/* --- fetching on request (SPEC §3 "on request") ------------------------ */

/* Whether `key` is a sequencer of some epoch of the manifest; a manifest
   whose epochs lie too far apart to walk counts as naming it. */
static bool s_any_sequencer(const ob_journal_t *self, const uint8_t key[32])
{
    const ob_epochs_t *epochs = self->env.epochs;
    if (ob_epochs_count(epochs) == 0)
        return false;
    uint64_t first = ob_epochs_first(epochs), span = ob_epochs_latest(epochs) - first;
    if (span >= S_MAX_EPOCH_WALK)
        return true;
    for (uint64_t i = 0; i <= span; i++) {
        const ob_keyset_t *sequencers = ob_epochs_sequencers(epochs, first + i);
        if (sequencers && ob_keyset_contains(sequencers, key))
            return true;
    }
    return false;
}

/* The asker a request names: false if its origin and routing id disagree
   (a client has one, the application none). */
static bool s_asker_of(const ob_imsg_fetch_request_t *in, s_asker_t *asker)
{
    memset(asker, 0, sizeof *asker);
    if (in->origin == 0) {
        if (!s_client_id(&in->client, &asker->client))
            return false;
    } else if (in->origin != 1 || in->client.len != 0) {
        return false;
    }
    asker->origin = in->origin;
    asker->tag = in->tag;
    memcpy(asker->sequencer, in->sequencer, 32);
    asker->height = in->height;
    return true;
}

/* One request: a client that resends after a silence sends the same. */
static bool s_same_asker(const s_asker_t *a, const s_asker_t *b)
{
    return a->origin == b->origin && a->tag == b->tag && a->client.len == b->client.len &&
           memcmp(a->client.id, b->client.id, a->client.len) == 0;
}

static bool s_asks_for(const s_asker_t *asker, const s_follow_t *follow)
{
    return asker->height == follow->height && memcmp(asker->sequencer, follow->sequencer, 32) == 0;
}

/* The answer to one asker. `payload` goes with a found one: a slot the
   journal holds, released here if the answer cannot go. */
static void s_answer(ob_journal_t *self, const s_asker_t *asker, ob_fetch_status_t status,
                     const ob_blob_t *lock, const ob_handle_t *payload, ob_outbox_t *out)
{
    ob_imsg_t msg = {.type = OB_IMSG_FETCH_ANSWER};
    ob_imsg_fetch_answer_t *answer = &msg.u.fetch_answer;
    answer->origin = asker->origin;
    answer->client = (ob_blob_t){asker->client.id, asker->client.len};
    answer->tag = asker->tag;
    answer->status = (uint8_t)status;
    if (payload) {
        answer->lock = *lock;
        answer->has_payload = true;
        answer->payload = *payload;
    }
    if (ob_outbox_to_actor(out, OB_ACTOR_NET, &msg) != 0) {
        if (payload)
            ob_arena_release(self->env.arena, payload, OB_ACTOR_JOURNAL);
        ob_warn("journal: outbox full; a fetch answer is lost (the asker resends)");
    }
    switch (status) {
    case OB_FETCH_FOUND:
    case OB_FETCH_MALFORMED:
        break;
    case OB_FETCH_NOT_FOUND:
        self->stats.fetch_requests_not_found++;
        break;
    case OB_FETCH_BUSY:
        self->stats.fetch_requests_busy++;
        break;
    }
}

/* Found, with `bytes` in a new slot: 1; busy for want of arena room: 0;
   -1, nothing answered, if the bytes do not hash to `digest`. */
static int s_answer_bytes(ob_journal_t *self, const s_asker_t *asker, const ob_blob_t *lock,
                          const uint8_t digest[32], const uint8_t *bytes, size_t len,
                          ob_outbox_t *out)
{
    ob_arena_t *arena = self->env.arena;
    ob_handle_t slot;
    if (!s_arena_room(self) || len > ob_arena_slot_size(arena) ||
        ob_arena_put(arena, self->crypto, OB_ACTOR_JOURNAL, bytes, (uint32_t)len, &slot) != 0) {
        s_answer(self, asker, OB_FETCH_BUSY, NULL, NULL, out);
        return 0;
    }
    /* The slot's seal hashed the bytes as they went in. */
    if (memcmp(slot.digest, digest, 32) != 0) {
        ob_arena_release(arena, &slot, OB_ACTOR_JOURNAL);
        return -1;
    }
    s_answer(self, asker, OB_FETCH_FOUND, lock, &slot, out);
    return 1;
}

/* The Lock of the asked height is held: answered at once if its bytes are
   too and still hash to its digest; false: they are to be fetched. */
static bool s_serve_local(ob_journal_t *self, const s_asker_t *asker, const uint8_t *lock,
                          size_t lock_len, ob_outbox_t *out)
{
    ob_lock_t decoded;
    if (ob_lock_decode(&decoded, lock, lock_len, &self->lookup) != OB_OK)
        return false; /* stored by this journal after decoding: unreachable */
    uint8_t *bytes = NULL;
    size_t len = 0;
    int found = ob_journal_store_payload(self->store, decoded.chunk.payload, &bytes, &len);
    if (found < 0)
        self->failed = true;
    if (found != 1)
        return false;
    self->stats.payload_bytes_loaded += len;
    ob_blob_t blob = {lock, (uint32_t)lock_len};
    int rc = s_answer_bytes(self, asker, &blob, decoded.chunk.payload, bytes, len, out);
    free(bytes);
    if (rc < 0) {
        ob_error("journal: the payload held for height %llu does not hash to its digest; "
                 "fetched from the peers instead",
                 (unsigned long long)decoded.chunk.height);
        return false;
    }
    if (rc == 1)
        self->stats.fetch_requests_local++;
    return true;
}

static s_follow_t *s_follow_find(ob_journal_t *self, const uint8_t sequencer[32], uint64_t height,
                                 size_t *index)
{
    for (size_t i = 0; i < self->follow_count; i++) {
        s_follow_t *f = &self->follows[i];
        if (f->height == height && memcmp(f->sequencer, sequencer, 32) == 0) {
            if (index)
                *index = i;
            return f;
        }
    }
    return NULL;
}

/* Asks the next peer of the height's turn for it, alone: false when every
   peer was asked once. These Fetches are not background requests: they
   take no place of fetch_outstanding, and wait for none. */
static bool s_follow_ask(ob_journal_t *self, uint64_t now, s_follow_t *f, ob_outbox_t *out)
{
    size_t peers = s_peer_count(self);
    if (f->tried >= peers)
        return false;
    memcpy(f->peer, s_peer_at(self, (f->first + f->tried) % peers), 32);
    f->tried++;
    f->deadline = now + (self->env.params.fetch_retry_ms ? self->env.params.fetch_retry_ms : 1);
    if (f->deadline < self->follow_wake)
        self->follow_wake = f->deadline;
    ob_imsg_t msg = {.type = OB_IMSG_SEND_FETCH};
    memcpy(msg.u.send_fetch.peer, f->peer, 32);
    memcpy(msg.u.send_fetch.sequencer, f->sequencer, 32);
    msg.u.send_fetch.height = f->height;
    msg.u.send_fetch.count = 1;
    self->stats.fetch_asked_request++;
    s_send(self, OB_ACTOR_NET, &msg, out);
    return true;
}

static void s_follow_remove(ob_journal_t *self, size_t index)
{
    memmove(&self->follows[index], &self->follows[index + 1],
            (self->follow_count - index - 1) * sizeof *self->follows);
    self->follow_count--;
    self->stats.fetch_requests_following = self->asker_count;
}

/* The height is given up (`status`, without bytes): its askers hear so. */
static void s_follow_end(ob_journal_t *self, size_t index, ob_fetch_status_t status,
                         ob_outbox_t *out)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->asker_count; i++) {
        if (s_asks_for(&self->askers[i], &self->follows[index])) {
            s_answer(self, &self->askers[i], status, NULL, NULL, out);
            continue;
        }
        self->askers[kept++] = self->askers[i];
    }
    self->asker_count = kept;
    s_follow_remove(self, index);
}

/* The bytes came, in `slot` (the journal holds it; its digest is the
   Lock's): the height's first asker has that slot, the others copies
   while the arena has room, busy otherwise. The store keeps the bytes
   only within retention (s_on_fetched); the askers have them anyway. */
static void s_follow_found(ob_journal_t *self, size_t index, const ob_blob_t *lock,
                           const ob_handle_t *slot, ob_outbox_t *out)
{
    const s_follow_t *f = &self->follows[index];
    size_t askers = 0;
    for (size_t i = 0; i < self->asker_count; i++)
        askers += s_asks_for(&self->askers[i], f);
    /* Copied before the slot goes: net may change a slot at any time, so
       the copies are hashed again as they are sealed. */
    uint8_t *copy = askers > 1 ? s_copy_checked(self, slot) : NULL;
    bool handed = false;
    size_t kept = 0;
    for (size_t i = 0; i < self->asker_count; i++) {
        const s_asker_t *a = &self->askers[i];
        if (!s_asks_for(a, f)) {
            self->askers[kept++] = *a;
            continue;
        }
        if (!handed) {
            handed = true;
            s_answer(self, a, OB_FETCH_FOUND, lock, slot, out);
            self->stats.fetch_requests_fetched++;
        } else if (!copy) {
            s_answer(self, a, OB_FETCH_BUSY, NULL, NULL, out);
        } else if (s_answer_bytes(self, a, lock, slot->digest, copy, slot->len, out) == 1) {
            self->stats.fetch_requests_fetched++;
        }
    }
    free(copy);
    self->asker_count = kept;
    s_follow_remove(self, index);
}

/* A Fetched that passed the verifier, for a height followed on request
   (`agreed`: its Lock is the one the journal holds there): with the
   bytes, its askers have them (true: the slot went to one of them); from
   the peer asked, without them, the next peer is asked at once. */
static bool s_follow_fetched(ob_journal_t *self, uint64_t now, const ob_imsg_fetched_verified_t *in,
                             const ob_lock_t *lock, bool has_payload, bool agreed, ob_outbox_t *out)
{
    size_t index = 0;
    s_follow_t *f = s_follow_find(self, lock->chunk.sequencer, lock->chunk.height, &index);
    if (!f)
        return false;
    if (has_payload && agreed && memcmp(in->payload.digest, lock->chunk.payload, 32) == 0) {
        s_follow_found(self, index, &in->lock, &in->payload, out);
        return true;
    }
    if (memcmp(in->peer, f->peer, 32) == 0 && !s_follow_ask(self, now, f, out))
        s_follow_end(self, index, OB_FETCH_NOT_FOUND, out);
    return false;
}

/* A client's or the application's request for the payload of (sequencer,
   height): from the store at once, or followed (shared by its askers)
   until a peer gives the bytes or every peer was asked. */
static void s_on_fetch_request(ob_journal_t *self, uint64_t now, const ob_imsg_fetch_request_t *in,
                               ob_outbox_t *out)
{
    s_asker_t asker;
    if (!s_asker_of(in, &asker)) {
        s_drop(self, OB_ERR_BAD_FLAG);
        return;
    }
    self->stats.fetch_requests++;
    for (size_t i = 0; i < self->asker_count; i++) {
        if (s_same_asker(&self->askers[i], &asker)) {
            self->stats.fetch_requests_repeated++;
            return;
        }
    }
    /* No height that high is ever stored. */
    if (in->height > INT64_MAX || !s_any_sequencer(self, in->sequencer)) {
        s_answer(self, &asker, OB_FETCH_NOT_FOUND, NULL, NULL, out);
        return;
    }
    uint8_t *lock = NULL;
    size_t len = 0;
    int found = ob_journal_store_certificate(self->store, in->sequencer, in->height, &lock, &len);
    if (found < 0) {
        self->failed = true;
        return;
    }
    bool served = found == 1 && s_serve_local(self, &asker, lock, len, out);
    free(lock);
    if (served)
        return;
    if (self->asker_count == S_MAX_FOLLOWED) {
        s_answer(self, &asker, OB_FETCH_BUSY, NULL, NULL, out);
        return;
    }
    if (!s_follow_find(self, in->sequencer, in->height, NULL)) {
        /* follow_count <= asker_count: there is room. */
        s_follow_t *f = &self->follows[self->follow_count];
        memset(f, 0, sizeof *f);
        memcpy(f->sequencer, in->sequencer, 32);
        f->height = in->height;
        f->first = self->follow_turn++;
        if (!s_follow_ask(self, now, f, out)) {
            s_answer(self, &asker, OB_FETCH_NOT_FOUND, NULL, NULL, out); /* no peer */
            return;
        }
        self->follow_count++;
    }
    self->askers[self->asker_count++] = asker;
    self->stats.fetch_requests_following = self->asker_count;
}

/* Heights whose peer stayed silent for fetch_retry_ms go to the next one,
   or are given up once every peer was asked. */
static void s_follow_tick(ob_journal_t *self, uint64_t now, ob_outbox_t *out)
{
    if (now < self->follow_wake)
        return;
    self->follow_wake = S_NEVER;
    size_t i = 0;
    while (i < self->follow_count) {
        s_follow_t *f = &self->follows[i];
        if (now >= f->deadline && !s_follow_ask(self, now, f, out)) {
            s_follow_end(self, i, OB_FETCH_NOT_FOUND, out);
            continue;
        }
        if (f->deadline < self->follow_wake)
            self->follow_wake = f->deadline;
        i++;
    }
}

/* --- dispatch ---------------------------------------------------------- */

void ob_journal_handle(ob_journal_t *self, uint64_t now, ob_party_t from, const ob_imsg_t *msg,
                       ob_outbox_t *out)
{
    ob_journal_input_t in;
    if (ob_journal_input(msg->type, from, &in) != 0) {
        /* Not the journal's, or not from that sender (proto/imsg.csv). */
        s_drop(self, OB_ERR_UNKNOWN_TYPE);
        ob_warn("journal: dropped %s from %s", ob_imsg_name(msg->type), ob_party_name(from));
        return;
    }
    switch (in) {
    case OB_JOURNAL_IN_NODE_VERIFIED:
        s_on_node(self, now, &msg->u.node_verified, out);
        return;
    case OB_JOURNAL_IN_APP_VERDICT:
        s_on_verdict(self, &msg->u.app_verdict, out);
        return;
    case OB_JOURNAL_IN_CERTIFIED: {
        ob_lock_t lock;
        ob_error_t rc = ob_lock_decode(&lock, msg->u.certified.lock.data, msg->u.certified.lock.len,
                                       &self->lookup);
        if (rc != OB_OK)
            s_drop(self, rc);
        else
            s_on_certificate(self, now, &lock, out);
        return;
    }
    case OB_JOURNAL_IN_APP_PAYLOAD:
        s_on_payload(self, now, &msg->u.app_payload, out);
        return;
    case OB_JOURNAL_IN_NODE_SIGNED:
        if (self->propose_state == S_PROPOSE_SIGNING)
            s_adopt_signed(self, now, &msg->u.node_signed.node, msg->u.node_signed.sent, out);
        return;
    case OB_JOURNAL_IN_LAST_SIGNED:
        if (msg->u.last_signed.node.len > 0)
            s_adopt_signed(self, now, &msg->u.last_signed.node, false, out);
        self->recovered = true;
        s_maybe_propose(self, now, out);
        return;
    case OB_JOURNAL_IN_SIGN_REFUSED: {
        ob_error_t why = msg->u.sign_refused.error < OB_ERROR_COUNT
                             ? (ob_error_t)msg->u.sign_refused.error
                             : OB_ERR_UNKNOWN_TYPE;
        self->stats.sign_refused[why]++;
        ob_warn("journal: the signer refused height %llu: %s",
                (unsigned long long)msg->u.sign_refused.chunk.height, ob_error_name(why));
        if (s_is_self(self, msg->u.sign_refused.chunk.sequencer) &&
            self->propose_state == S_PROPOSE_SIGNING) {
            /* Our view is behind the signer's record: take its last node. */
            self->propose_state = S_PROPOSE_IDLE;
            ob_imsg_t ask = {.type = OB_IMSG_LAST_SIGNED_REQUEST};
            s_send(self, OB_ACTOR_SIGNER, &ask, out);
        }
        return;
    }
    case OB_JOURNAL_IN_SET_EPOCH: {
        uint64_t epoch = msg->u.set_epoch.epoch;
        if (epoch <= self->epoch || !ob_epochs_known(self->env.epochs, epoch)) {
            ob_warn("journal: refusing epoch %llu (current %llu; epochs only grow and must be "
                    "in the manifest)",
                    (unsigned long long)epoch, (unsigned long long)self->epoch);
            return;
        }
        if (ob_journal_store_set_epoch(self->store, epoch) != 0) {
            self->failed = true;
            return;
        }
        self->epoch = epoch;
        s_publish_epoch(self, OB_ACTOR_SIGNER, out);
        s_publish_epoch(self, OB_ACTOR_VERIFIER, out);
        s_publish_epoch(self, OB_ACTOR_NET, out);
        self->last_broadcast = 0; /* the new epoch's validators need the tip */
        s_maybe_propose(self, now, out);
        return;
    }
    case OB_JOURNAL_IN_STATE_REQUEST:
        /* To its sender, known by its endpoint (only net, the verifiers and
           the signer may ask): never to the actor its `actor` field names. */
        s_publish_state(self, (ob_actor_t)from, out);
        if (from == OB_PARTY_SIGNER && !self->recovered) {
            ob_imsg_t ask = {.type = OB_IMSG_LAST_SIGNED_REQUEST};
            s_send(self, OB_ACTOR_SIGNER, &ask, out);
        }
        return;
    case OB_JOURNAL_IN_LOCK_DELIVERED: {
        const ob_chunk_t *c = &msg->u.lock_delivered.chunk;
        if (ob_journal_store_mark_delivered(self->store, c->sequencer, c->height, c->payload) != 0)
            self->failed = true;
        return;
    }
    case OB_JOURNAL_IN_LOCK_QUERY:
        s_on_lock_query(self, msg->u.lock_query.height, out);
        return;
    case OB_JOURNAL_IN_APP_ATTACHED:
        s_on_app_attached(self, now, out);
        return;
    case OB_JOURNAL_IN_SUBMITTED:
        s_on_submitted(self, now, &msg->u.submitted, out);
        return;
    case OB_JOURNAL_IN_CLIENT_FOLLOW:
        s_on_client_follow(self, &msg->u.client_follow, out);
        return;
    case OB_JOURNAL_IN_DROPPED:
        if (msg->u.dropped.error < OB_ERROR_COUNT)
            self->stats.dropped[msg->u.dropped.error] += msg->u.dropped.count;
        return;
    case OB_JOURNAL_IN_PEER_FETCH:
        s_on_peer_fetch(self, &msg->u.peer_fetch, out);
        return;
    case OB_JOURNAL_IN_FETCHED_VERIFIED:
        s_on_fetched(self, now, &msg->u.fetched_verified, out);
        return;
    case OB_JOURNAL_IN_FETCH_REQUEST:
        s_on_fetch_request(self, now, &msg->u.fetch_request, out);
        return;
    }
}

void ob_journal_end_batch(ob_journal_t *self, ob_outbox_t *out)
{
    if (self->builtin_propose_due) {
        self->builtin_propose_due = false;
        s_builtin_propose(self, self->builtin_propose_now, out);
    }
    if (self->app)
        ob_builtin_app_flush(self->app, out); /* the proposal's assigned answers too */
}

void ob_journal_tick(ob_journal_t *self, uint64_t now, ob_outbox_t *out)
{
    if (self->last_redelivery == 0 ||
        now >= self->last_redelivery + self->env.params.rebroadcast_timeout_ms)
        s_redeliver(self, now, out);
    s_tip_t *own = s_own_tip(self);
    if (self->recovered && own && !self->own_certified &&
        (self->last_broadcast == 0 ||
         now >= self->last_broadcast + self->env.params.rebroadcast_timeout_ms)) {
        if (self->last_broadcast != 0)
            self->stats.rebroadcasts++;
        s_broadcast(self, now, out);
    }
    s_maybe_propose(self, now, out);
    s_fetch_tick(self, now, out);
    s_follow_tick(self, now, out);
}

uint64_t ob_journal_next_deadline(const ob_journal_t *self)
{
    uint64_t next = self->last_redelivery + self->env.params.rebroadcast_timeout_ms;
    const s_tip_t *own = NULL;
    for (size_t i = 0; i < self->tip_count; i++)
        if (memcmp(self->tips[i].sequencer, self->env.self_key, 32) == 0)
            own = &self->tips[i];
    if (self->recovered && own && !self->own_certified &&
        self->last_broadcast + self->env.params.rebroadcast_timeout_ms < next)
        next = self->last_broadcast + self->env.params.rebroadcast_timeout_ms;
    if (self->recovered && self->propose_state != S_PROPOSE_IDLE) {
        uint64_t t = self->propose_at + self->env.params.propose_timeout_ms;
        if (t < next)
            next = t;
    }
    if (self->fetch_due && self->fetch_due_at < next)
        next = self->fetch_due_at;
    if (self->fetch_wake < next)
        next = self->fetch_wake;
    if (self->follow_wake < next)
        next = self->follow_wake;
    return next;
}

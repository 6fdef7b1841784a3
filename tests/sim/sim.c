#include "sim.h"

#include "powerloss.h"

#include "arena.h"
#include "cert.h"
#include "crypto.h"
#include "epochs.h"
#include "hex.h"
#include "imsg.h"
#include "journal.h"
#include "log.h"
#include "net.h"
#include "outbox.h"
#include "signer.h"
#include "verifier.h"
#include "verify.h"

#include <openssl/evp.h>
#include <sqlite3.h>

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- bounds ------------------------------------------------------------- */

#define S_INTERNAL_LATENCY_US 20
#define S_APP_LATENCY_US      200
#define S_MAX_BATCH           6
#define S_TRACE_LINES         48
#define S_ARENA_SLOTS         SIM_ARENA_SLOTS
#define S_ARENA_SLOT_SIZE     4096
#define S_SWEEP_US            1000000
#define S_LEASE_MS            3000
#define S_MAX_EVENTS          4000000 /* queue bound: a run that needs more is broken */

/* --- a deterministic PRNG ---------------------------------------------- */

static uint64_t s_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t s_below(uint64_t *state, uint64_t bound)
{
    return bound ? s_next(state) % bound : 0;
}

static double s_unit(uint64_t *state)
{
    return (double)(s_next(state) >> 11) / (double)(1ULL << 53);
}

/* --- events -------------------------------------------------------------- */

typedef enum {
    EV_WAKE,      /* an actor has messages in its inbox */
    EV_TICK,      /* a journal's deadline */
    EV_PEER,      /* a peer message arrives at a node's net */
    EV_APP,       /* the application answers a node's net */
    EV_RESTART,   /* a crashed actor comes back */
    EV_CHAOS,     /* the random crash injector */
    EV_BYZANTINE, /* the malicious driver acts */
    EV_SWEEP,     /* expire lost arena leases */
} s_event_kind_t;

typedef enum {
    APP_PAYLOAD,
    APP_VERDICT,
    APP_DELIVERED,
    APP_FETCH, /* the application asks for a payload (sim_app_fetch) */
} s_app_kind_t;

typedef struct {
    uint64_t at;  /* µs */
    uint64_t seq; /* tie-break: the order events were made */
    s_event_kind_t kind;
    int node;
    int actor;
    int from;
    uint64_t incarnation;
    int app_kind;
    uint64_t height;
    uint64_t tag; /* APP_FETCH */
    bool valid;
    ob_chunk_t chunk;
    uint8_t *frame;
    size_t frame_len;
    uint8_t *payload; /* NULL: no payload frame */
    size_t payload_len;
} s_event_t;

typedef struct {
    uint8_t *bytes;
    size_t len;
    ob_party_t from; /* as a shell knows it: by the endpoint it came on */
} s_msg_t;

typedef struct {
    s_msg_t *items;
    size_t head, count, cap;
} s_inbox_t;

/* --- reporters ------------------------------------------------------------ */

typedef struct {
    uint8_t *seen;   /* by height */
    uint64_t *epoch; /* of the first Lock at each height */
    size_t cap;
    int64_t max;
} s_chain_t;

typedef struct {
    s_chain_t chains[SIM_MAX_NODES]; /* by sequencer node index */
    uint64_t evidence, tips;
} s_reporter_t;

/* --- a byte-keyed map for the invariant checker ------------------------- */

typedef struct {
    uint8_t key[32];
    uint8_t value[32];
    bool used;
} s_entry_t;

typedef struct {
    s_entry_t *entries;
    size_t cap, count;
} s_map_t;

/* --- nodes ---------------------------------------------------------------- */

#define S_BYZ_SIGS 64
/* Copies of its node the byzantine sequencer floods one validator with per
   round (issue 9, defect 6: duplicates must not be re-signed). */
#define S_BYZ_FLOOD 20
/* The fetch liar (issue 11): Locks it keeps from the parents of the nodes
   it is sent, to forge from, and what it floods each honest node with per
   round (a round is 150-250 ms: some 1500 Fetched a second against a
   fetch_budget of 1024, and 300 Fetch of 64 heights each). */
#define S_LIAR_LOCKS       32
#define S_LIAR_LOCK_MAX    1280
#define S_LIAR_FLOOD       300
#define S_LIAR_FETCH_FLOOD 60
/* The payload liar's flood carries bytes on one in this many: all of
   them starve honest answers of the arena's fetch quota (see
   test_fetch_payload_liar). */
#define S_LIAR_PAYLOAD_EVERY 10

/* An application's fetch (sim_app_fetch) and what became of it. */
#define S_APP_FETCHES 8
typedef struct {
    uint64_t tag;
    int sequencer;
    uint64_t height;
    int outcome; /* as sim_app_fetched */
    uint8_t reason;
} s_app_fetch_t;

typedef struct {
    int index;
    ob_keypair_t key;
    bool byzantine;
    ob_arena_t *arena;
    ob_net_t *net;
    ob_verifier_t *verifier;
    ob_signer_t *signer;
    ob_journal_t *journal;
    bool up[5];
    uint64_t incarnation[5];
    bool wake_pending[5];
    s_inbox_t inbox[5];
    ob_outbox_t *outbox[5];
    int crash_armed[5]; /* -1 none, else a sim_crash_point_t for the next batch */
    uint64_t tick_at;
    uint64_t verifier_wake_at; /* µs: a wake for the verifier's held acks */
    char journal_path[256], signer_path[256];
    s_reporter_t reporter;
    uint64_t rebroadcasts_seen, acks_sent;
    /* Ack frames this node sent on a byzantine sequencer's chunks, and the
       distinct signatures among them (the first S_BYZ_SIGS). */
    uint64_t byz_acks;
    uint8_t byz_ack_sigs[S_BYZ_SIGS][64];
    size_t byz_ack_sig_count;
    int group;
    bool app_idle;
    s_app_fetch_t app_fetches[S_APP_FETCHES];
    size_t app_fetch_count;
    /* the byzantine driver's state */
    uint64_t byz_round;
    uint8_t seen_ack[OB_ACK_LEN + 2];
    bool has_seen_ack;
    ob_chunk_t seen_chunk;
    bool has_seen_chunk;
    /* the fetch liar's state */
    uint8_t liar_locks[S_LIAR_LOCKS][S_LIAR_LOCK_MAX];
    size_t liar_lock_len[S_LIAR_LOCKS];
    size_t liar_lock_count; /* kept ever; the newest at (count - 1) % S_LIAR_LOCKS */
    uint64_t liar_answers, liar_unasked, liar_fetches;
} s_node_t;

struct sim {
    sim_config_t config;
    uint64_t rng;
    uint64_t now; /* µs */
    uint64_t event_seq, events;
    s_event_t *heap;
    size_t heap_count, heap_cap;

    ob_crypto_t *crypto;
    ob_namespace_t ns;
    ob_epochs_t *epochs;
    ob_params_t params;
    uint8_t aux_seed[32];
    char dir[128];
    s_node_t nodes[SIM_MAX_NODES];
    bool partitioned;

    /* the invariant checker */
    s_map_t s1, s2, s3, verified_locks;
    int violations;
    char violation[512];
    EVP_MD_CTX *trace_hash;
    char trace[S_TRACE_LINES][160];
    size_t trace_next;

    /* a targeted crash */
    bool trigger_armed, trigger_fired, trigger_whole_node;
    int trigger_node, trigger_actor, trigger_type;
    sim_crash_point_t trigger_point;
    uint64_t trigger_restart_ms;
    uint64_t crashes;
    uint64_t power_cuts, locks_after_cuts;

    /* a captured node, for replays */
    bool capture_armed, capture_done;
    int capture_sequencer;
    uint64_t capture_height;
    uint8_t *capture_frame, *capture_payload;
    size_t capture_frame_len, capture_payload_len;
};

/* --- small utilities -------------------------------------------------------- */

static void s_trace(sim_t *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_trace(sim_t *sim, const char *fmt, ...)
{
    char *line = sim->trace[sim->trace_next++ % S_TRACE_LINES];
    int n = snprintf(line, 160, "%9.3f ms ", (double)sim->now / 1000.0);
    va_list args;
    va_start(args, fmt);
    vsnprintf(line + n, (size_t)(160 - n), fmt, args);
    va_end(args);
}

static void s_violation(sim_t *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_violation(sim_t *sim, const char *fmt, ...)
{
    if (sim->violations++ == 0) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(sim->violation, sizeof sim->violation, fmt, args);
        va_end(args);
        s_trace(sim, "VIOLATION %s", sim->violation);
    }
}

static void s_hash_event(sim_t *sim, const s_event_t *ev)
{
    uint8_t head[8 * 4];
    uint64_t fields[4] = {ev->at, (uint64_t)ev->kind, (uint64_t)ev->node, (uint64_t)ev->actor};
    for (int f = 0; f < 4; f++)
        for (int i = 0; i < 8; i++)
            head[f * 8 + i] = (uint8_t)(fields[f] >> (8 * i));
    EVP_DigestUpdate(sim->trace_hash, head, sizeof head);
    if (ev->frame_len)
        EVP_DigestUpdate(sim->trace_hash, ev->frame, ev->frame_len);
}

static void s_map_init(s_map_t *map)
{
    map->cap = 1024;
    map->count = 0;
    map->entries = calloc(map->cap, sizeof *map->entries);
    assert(map->entries);
}

static s_entry_t *s_map_slot(s_map_t *map, const uint8_t key[32])
{
    size_t i =
        ((size_t)key[0] | (size_t)key[1] << 8 | (size_t)key[2] << 16 | (size_t)key[3] << 24) &
        (map->cap - 1);
    while (map->entries[i].used && memcmp(map->entries[i].key, key, 32) != 0)
        i = (i + 1) & (map->cap - 1);
    return &map->entries[i];
}

/* Returns the value held for `key`, or stores `value` and returns NULL. */
static const uint8_t *s_map_put(s_map_t *map, const uint8_t key[32], const uint8_t value[32])
{
    s_entry_t *e = s_map_slot(map, key);
    if (e->used)
        return e->value;
    if ((map->count + 1) * 2 > map->cap) {
        s_map_t bigger = {calloc(map->cap * 2, sizeof(s_entry_t)), map->cap * 2, 0};
        assert(bigger.entries);
        for (size_t i = 0; i < map->cap; i++)
            if (map->entries[i].used)
                *s_map_slot(&bigger, map->entries[i].key) = map->entries[i], bigger.count++;
        free(map->entries);
        *map = bigger;
        e = s_map_slot(map, key);
    }
    e->used = true;
    memcpy(e->key, key, 32);
    memcpy(e->value, value, 32);
    map->count++;
    return NULL;
}

static void s_key(sim_t *sim, uint8_t out[32], const char *tag, const void *a, size_t a_len,
                  uint64_t x, uint64_t y)
{
    uint8_t buf[256];
    size_t tag_len = strlen(tag);
    assert(tag_len + a_len + 16 <= sizeof buf);
    memcpy(buf, tag, tag_len);
    memcpy(buf + tag_len, a, a_len);
    memcpy(buf + tag_len + a_len, &x, 8);
    memcpy(buf + tag_len + a_len + 8, &y, 8);
    ob_sha256(sim->crypto, buf, tag_len + a_len + 16, out);
}

static int s_node_of_key(const sim_t *sim, const uint8_t key[32])
{
    for (int i = 0; i < sim->config.node_count; i++)
        if (memcmp(sim->nodes[i].key.pub.bytes, key, 32) == 0)
            return i;
    return -1;
}

/* --- the event heap --------------------------------------------------------- */

static bool s_before(const s_event_t *a, const s_event_t *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static s_event_t *s_push(sim_t *sim, uint64_t at, s_event_kind_t kind, int node)
{
    if (sim->heap_count == sim->heap_cap) {
        assert(sim->heap_cap < S_MAX_EVENTS);
        sim->heap_cap = sim->heap_cap ? sim->heap_cap * 2 : 1024;
        sim->heap = realloc(sim->heap, sim->heap_cap * sizeof *sim->heap);
        assert(sim->heap);
    }
    size_t i = sim->heap_count++;
    s_event_t ev = {.at = at, .seq = sim->event_seq++, .kind = kind, .node = node};
    while (i > 0 && s_before(&ev, &sim->heap[(i - 1) / 2])) {
        sim->heap[i] = sim->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    sim->heap[i] = ev;
    /* The caller fills the rest through the returned pointer before the next
       push; sift-down below only moves events on pop. */
    return &sim->heap[i];
}

static s_event_t s_pop(sim_t *sim)
{
    assert(sim->heap_count > 0);
    s_event_t top = sim->heap[0];
    s_event_t last = sim->heap[--sim->heap_count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= sim->heap_count)
            break;
        if (child + 1 < sim->heap_count && s_before(&sim->heap[child + 1], &sim->heap[child]))
            child++;
        if (!s_before(&sim->heap[child], &last))
            break;
        sim->heap[i] = sim->heap[child];
        i = child;
    }
    if (sim->heap_count > 0)
        sim->heap[i] = last;
    return top;
}

static void s_event_free(s_event_t *ev)
{
    free(ev->frame);
    free(ev->payload);
    ev->frame = ev->payload = NULL;
}

/* --- inboxes ---------------------------------------------------------------- */

static void s_inbox_push(s_inbox_t *box, ob_party_t from, const uint8_t *bytes, size_t len)
{
    if (box->count == box->cap) {
        size_t cap = box->cap ? box->cap * 2 : 64;
        s_msg_t *items = calloc(cap, sizeof *items);
        assert(items);
        for (size_t i = 0; i < box->count; i++)
            items[i] = box->items[(box->head + i) % box->cap];
        free(box->items);
        box->items = items;
        box->head = 0;
        box->cap = cap;
    }
    s_msg_t *m = &box->items[(box->head + box->count++) % box->cap];
    m->bytes = malloc(len);
    assert(m->bytes);
    memcpy(m->bytes, bytes, len);
    m->len = len;
    m->from = from;
}

static bool s_inbox_pop(s_inbox_t *box, s_msg_t *out)
{
    if (box->count == 0)
        return false;
    *out = box->items[box->head];
    box->head = (box->head + 1) % box->cap;
    box->count--;
    return true;
}

static void s_inbox_clear(s_inbox_t *box)
{
    s_msg_t m;
    while (s_inbox_pop(box, &m))
        free(m.bytes);
}

/* --- actors: start, crash, restart ---------------------------------------- */

static ob_node_env_t s_env(sim_t *sim, s_node_t *node)
{
    ob_node_env_t env = {
        .ns = &sim->ns, .epochs = sim->epochs, .params = sim->params, .arena = node->arena};
    memcpy(env.self_key, node->key.pub.bytes, 32);
    if (sim->config.retention_nodes >> node->index & 1)
        env.params.retention = sim->config.retention;
    return env;
}

static void s_flush(sim_t *sim, s_node_t *node, int actor);

static uint64_t s_clock(void *ctx)
{
    return ((sim_t *)ctx)->now / 1000;
}

static ob_db_sync_t s_journal_sync(sim_durability_t durability)
{
    switch (durability) {
    case SIM_SYNC_OFF:
        return OB_DB_SYNC_OFF;
    case SIM_DURABILITY_POWER:
        return OB_DB_SYNC_FULL;
    case SIM_DURABILITY_PROCESS:
        return OB_DB_SYNC_NORMAL;
    }
    return OB_DB_SYNC_FULL;
}

static void s_actor_start(sim_t *sim, s_node_t *node, int actor)
{
    ob_why_t why = {{0}};
    ob_node_env_t env = s_env(sim, node);
    ob_outbox_t *out = node->outbox[actor];
    ob_outbox_clear(out);
    /* A restarted actor first takes back the slots its predecessor held. */
    ob_arena_reclaim(node->arena, (uint16_t)actor);
    switch ((sim_actor_t)actor) {
    case SIM_NET: {
        ob_net_config_t cfg = {.env = env,
                               .application = OB_NET_APP_EXTERNAL,
                               .app_attached = true,
                               .app_who = "sim-app"};
        node->net = ob_net_new(&cfg, &why);
        assert(node->net);
        ob_net_set_clock(node->net, s_clock, sim); /* budgets and blocks in virtual time */
        ob_net_start(node->net, out);
        break;
    }
    case SIM_VERIFIER:
        node->verifier = ob_verifier_new(&env, 4096, &why);
        assert(node->verifier);
        /* It holds acks below quorum as obcast-verifier does. */
        ob_verifier_set_hold(node->verifier, 50);
        ob_verifier_start(node->verifier, out);
        break;
    case SIM_SIGNER: {
        ob_signer_config_t cfg = {.env = env,
                                  .key = node->key,
                                  .db_path = node->signer_path,
                                  .sync = sim->config.durability == SIM_SYNC_OFF ? OB_DB_SYNC_OFF
                                                                                 : OB_DB_SYNC_FULL,
                                  .aux_seed = sim->aux_seed};
        node->signer = ob_signer_new(&cfg, &why);
        if (!node->signer)
            fprintf(stderr, "sim: signer of node %d: %s\n", node->index, why.text);
        assert(node->signer);
        ob_signer_start(node->signer, out);
        break;
    }
    case SIM_JOURNAL: {
        ob_journal_config_t cfg = {.env = env,
                                   .db_path = node->journal_path,
                                   .sync = s_journal_sync(sim->config.durability),
                                   .initial_epoch = sim->config.epochs[0].epoch};
        node->journal = ob_journal_new(&cfg, &why);
        if (!node->journal)
            fprintf(stderr, "sim: journal of node %d: %s\n", node->index, why.text);
        assert(node->journal);
        ob_journal_start(node->journal, sim->now / 1000, out);
        node->tick_at = 0;
        break;
    }
    }
    node->up[actor] = true;
    node->crash_armed[actor] = -1;
    s_trace(sim, "node %d %s starts", node->index, ob_actor_name((ob_actor_t)actor));
    s_flush(sim, node, actor);
}

static void s_actor_stop(sim_t *sim, s_node_t *node, int actor)
{
    switch ((sim_actor_t)actor) {
    case SIM_NET:
        ob_net_destroy(&node->net);
        break;
    case SIM_VERIFIER:
        ob_verifier_destroy(&node->verifier);
        break;
    case SIM_SIGNER:
        ob_signer_destroy(&node->signer); /* an open transaction rolls back */
        break;
    case SIM_JOURNAL:
        ob_journal_destroy(&node->journal);
        break;
    }
    node->up[actor] = false;
    node->incarnation[actor]++;
    node->wake_pending[actor] = false;
    s_inbox_clear(&node->inbox[actor]);
    ob_outbox_clear(node->outbox[actor]);
    (void)sim;
}

static void s_crash(sim_t *sim, s_node_t *node, int actor, uint64_t restart_after_ms)
{
    if (!node->up[actor])
        return;
    sim->crashes++;
    s_trace(sim, "node %d %s CRASHES", node->index, ob_actor_name((ob_actor_t)actor));
    s_actor_stop(sim, node, actor);
    s_event_t *ev = s_push(sim, sim->now + restart_after_ms * 1000, EV_RESTART, node->index);
    ev->actor = actor;
    ev->incarnation = node->incarnation[actor];
}

/* --- the invariant checker -------------------------------------------------- */

/* An honest node's ack on a byzantine sequencer's chunk: counted, and its
   signature kept if it is new. */
static void s_tally_byzantine_ack(sim_t *sim, s_node_t *from, const ob_ack_t *ack)
{
    bool of_byzantine = false;
    for (int i = 0; i < sim->config.node_count && !of_byzantine; i++)
        of_byzantine = sim->nodes[i].byzantine &&
                       memcmp(sim->nodes[i].key.pub.bytes, ack->chunk.sequencer, 32) == 0;
    if (!of_byzantine)
        return;
    from->byz_acks++;
    for (size_t i = 0; i < from->byz_ack_sig_count; i++)
        if (memcmp(from->byz_ack_sigs[i], ack->signature, 64) == 0)
            return;
    if (from->byz_ack_sig_count < S_BYZ_SIGS)
        memcpy(from->byz_ack_sigs[from->byz_ack_sig_count++], ack->signature, 64);
}

static void s_check_peer_frame(sim_t *sim, s_node_t *from, const uint8_t *frame, size_t len)
{
    if (from->byzantine || len < 2)
        return;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(sim->epochs);
    uint8_t key[32];
    if (frame[0] == OB_PEER_TYPE_NODE) {
        ob_node_t node;
        if (ob_node_decode(&node, frame + 2, len - 2, &lookup) != OB_OK) {
            s_violation(sim, "node %d sent a node that does not decode", from->index);
            return;
        }
        /* S1: one payload per (sequencer, height), ever. */
        s_key(sim, key, "S1", node.chunk.sequencer, 32, node.chunk.height, 0);
        const uint8_t *held = s_map_put(&sim->s1, key, node.chunk.payload);
        if (held && memcmp(held, node.chunk.payload, 32) != 0)
            s_violation(sim, "S1: node %d signed two payloads at height %llu", from->index,
                        (unsigned long long)node.chunk.height);
    } else if (frame[0] == OB_PEER_TYPE_ACK) {
        ob_ack_t ack;
        if (ob_ack_decode(&ack, frame + 2, len - 2) != OB_OK) {
            s_violation(sim, "node %d sent an ack that does not decode", from->index);
            return;
        }
        /* S2: one payload per (validator, sequencer, height), in any epoch. */
        uint8_t who[64];
        memcpy(who, from->key.pub.bytes, 32);
        memcpy(who + 32, ack.chunk.sequencer, 32);
        s_key(sim, key, "S2", who, 64, ack.chunk.height, 0);
        const uint8_t *held = s_map_put(&sim->s2, key, ack.chunk.payload);
        if (held && memcmp(held, ack.chunk.payload, 32) != 0)
            s_violation(sim, "S2: node %d acked two payloads at height %llu", from->index,
                        (unsigned long long)ack.chunk.height);
        s_tally_byzantine_ack(sim, from, &ack);
    }
}

/* S3 for a certificate that verified. */
static void s_check_certificate(sim_t *sim, const ob_lock_t *lock)
{
    uint8_t key[32];
    s_key(sim, key, "S3", lock->chunk.sequencer, 32, lock->chunk.height, lock->epoch);
    const uint8_t *held = s_map_put(&sim->s3, key, lock->chunk.payload);
    if (held && memcmp(held, lock->chunk.payload, 32) != 0)
        s_violation(sim, "S3: two certificates at height %llu of epoch %llu",
                    (unsigned long long)lock->chunk.height, (unsigned long long)lock->epoch);
}

/* Verifies a Lock as the spec says (a quorum of distinct validators of its
   epoch, each signature valid), remembering each signature verified: the
   Locks of one chunk at different nodes are subsets of the same acks. */
static bool s_lock_valid(sim_t *sim, const uint8_t *bytes, size_t len, ob_lock_t *lock)
{
    ob_epoch_lookup_t lookup = ob_epochs_lookup(sim->epochs);
    if (ob_lock_decode(lock, bytes, len, &lookup) != OB_OK)
        return false;
    const ob_keyset_t *validators = ob_epochs_validators(sim->epochs, lock->epoch);
    if (!validators || lock->cert.count < ob_keyset_quorum(validators))
        return false;
    for (uint16_t i = 0; i < lock->cert.count; i++) {
        uint16_t index = ob_cert_signer(&lock->cert, i);
        if (i > 0 && index <= ob_cert_signer(&lock->cert, (uint16_t)(i - 1)))
            return false;
        uint8_t m[OB_CHUNK_LEN + 2 + 64], key[32];
        size_t written;
        ob_chunk_encode(&lock->chunk, m, OB_CHUNK_LEN, &written);
        m[OB_CHUNK_LEN] = (uint8_t)(index >> 8);
        m[OB_CHUNK_LEN + 1] = (uint8_t)index;
        memcpy(m + OB_CHUNK_LEN + 2, ob_cert_signature(&lock->cert, i), 64);
        s_key(sim, key, "sig", m, sizeof m, lock->epoch, 0);
        if (s_map_slot(&sim->verified_locks, key)->used)
            continue;
        const ob_pubkey_t *pub = ob_keyset_key(validators, index);
        if (!pub || !ob_ack_signature_valid(sim->crypto, &sim->ns, pub, &lock->chunk, lock->epoch,
                                            ob_cert_signature(&lock->cert, i)))
            return false;
        s_map_put(&sim->verified_locks, key, key);
    }
    return true;
}

/* S5: a node a journal takes at h > 0 carries a valid certificate for h-1. */
static void s_check_accepted_node(sim_t *sim, s_node_t *at, const uint8_t *bytes, size_t len)
{
    ob_epoch_lookup_t lookup = ob_epochs_lookup(sim->epochs);
    ob_node_t node;
    if (ob_node_decode(&node, bytes, len, &lookup) != OB_OK) {
        s_violation(sim, "S5: node %d's journal got a node that does not decode", at->index);
        return;
    }
    if (!node.has_parent)
        return;
    ob_lock_t parent = {
        .chunk = ob_node_parent_chunk(&node), .epoch = node.parent.epoch, .cert = node.parent.cert};
    size_t lock_len = ob_lock_encoded_len(&parent), written;
    uint8_t *lock_bytes = malloc(lock_len);
    assert(lock_bytes);
    ob_lock_encode(&parent, lock_bytes, lock_len, &written);
    ob_lock_t decoded;
    if (!s_lock_valid(sim, lock_bytes, written, &decoded))
        s_violation(sim, "S5: node %d took height %llu whose parent certificate is invalid",
                    at->index, (unsigned long long)node.chunk.height);
    else
        s_check_certificate(sim, &decoded);
    free(lock_bytes);
}

/* --- the simulated application and reporter ---------------------------------- */

static void s_reporter_lock(sim_t *sim, s_node_t *node, const ob_blob_t *in)
{
    ob_lock_t lock;
    if (!s_lock_valid(sim, in->data, in->len, &lock)) {
        s_violation(sim, "S4: node %d reported a Lock that does not verify", node->index);
        return;
    }
    s_check_certificate(sim, &lock);
    int seq = s_node_of_key(sim, lock.chunk.sequencer);
    if (seq < 0)
        return;
    s_chain_t *chain = &node->reporter.chains[seq];
    uint64_t h = lock.chunk.height;
    if (h >= chain->cap) {
        size_t cap = chain->cap ? chain->cap : 256;
        while (cap <= h)
            cap *= 2;
        chain->seen = realloc(chain->seen, cap);
        chain->epoch = realloc(chain->epoch, cap * sizeof *chain->epoch);
        assert(chain->seen && chain->epoch);
        memset(chain->seen + chain->cap, 0, cap - chain->cap);
        memset(chain->epoch + chain->cap, 0, (cap - chain->cap) * sizeof *chain->epoch);
        chain->cap = cap;
    }
    if (!chain->seen[h])
        chain->epoch[h] = lock.epoch;
    chain->seen[h] = 1;
    if ((int64_t)h > chain->max)
        chain->max = (int64_t)h;
    /* The application has it: tell the journal. */
    s_event_t *ev = s_push(sim, sim->now + S_APP_LATENCY_US, EV_APP, node->index);
    ev->app_kind = APP_DELIVERED;
    ev->chunk = lock.chunk;
    ev->incarnation = node->incarnation[SIM_NET];
}

static bool s_app_rejects(const sim_t *sim, const uint8_t *payload, size_t len)
{
    (void)sim;
    return len > 0 && payload[0] == 0xBA;
}

/* The application's ask with `tag`; an answer to none is a violation. */
static s_app_fetch_t *s_app_fetch_of(sim_t *sim, s_node_t *node, uint64_t tag)
{
    for (size_t i = 0; i < node->app_fetch_count; i++)
        if (node->app_fetches[i].tag == tag)
            return &node->app_fetches[i];
    s_violation(sim, "node %d's net answered a fetch nobody asked (tag %llu)", node->index,
                (unsigned long long)tag);
    return NULL;
}

/* Found: the Lock must be for what was asked and the bytes its payload. */
static void s_app_fetch_found(sim_t *sim, s_node_t *node, const ob_imsg_app_fetch_found_t *in)
{
    s_app_fetch_t *ask = s_app_fetch_of(sim, node, in->tag);
    if (!ask)
        return;
    ob_lock_t lock;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(sim->epochs);
    uint8_t digest[32];
    ob_sha256(sim->crypto, in->data.data, in->data.len, digest);
    if (ob_lock_decode(&lock, in->lock.data, in->lock.len, &lookup) != OB_OK ||
        s_node_of_key(sim, lock.chunk.sequencer) != ask->sequencer ||
        lock.chunk.height != ask->height || memcmp(digest, lock.chunk.payload, 32) != 0) {
        s_violation(sim, "node %d's fetch %llu was answered with another Lock or other bytes",
                    node->index, (unsigned long long)in->tag);
        return;
    }
    ask->outcome = 1;
}

/* The application speaks the external protocol of net's application
   socket (proto/app.csv): what net sends it is
   decoded here, and its answers go back as frames through ob_net_on_app. */
static void s_app(sim_t *sim, s_node_t *node, const uint8_t *bytes, size_t len)
{
    ob_imsg_t msg;
    if (ob_imsg_decode(&msg, bytes, len) != OB_OK) {
        s_violation(sim, "node %d's net sent the application an undecodable message", node->index);
        return;
    }
    ob_net_to_app_t in;
    if (ob_net_to_app(msg.type, &in) != 0) {
        s_violation(sim, "node %d's net sent the application %s", node->index,
                    ob_imsg_name(msg.type));
        return;
    }
    switch (in) {
    case OB_NET_TO_APP_APP_ASK_PAYLOAD: {
        if (node->app_idle)
            return; /* an idle application has nothing to propose */
        s_event_t *ev = s_push(sim, sim->now + S_APP_LATENCY_US, EV_APP, node->index);
        ev->app_kind = APP_PAYLOAD;
        ev->height = msg.u.app_ask_payload.height;
        ev->incarnation = node->incarnation[SIM_NET];
        ev->payload_len = 64 + s_below(&sim->rng, 448);
        ev->payload = malloc(ev->payload_len);
        assert(ev->payload);
        for (size_t i = 0; i < ev->payload_len; i++)
            ev->payload[i] = (uint8_t)s_next(&sim->rng);
        ev->payload[0] = 0x01;
        if ((sim->config.app_rejects >> node->index & 1) && ev->height >= 3)
            ev->payload[0] = 0xBA;
        return;
    }
    case OB_NET_TO_APP_APP_ASK_VERDICT: {
        const ob_blob_t *data = &msg.u.app_ask_verdict.data;
        bool valid = ob_payload_verify(sim->crypto, &msg.u.app_ask_verdict.chunk, data->data,
                                       data->len) == OB_OK &&
                     !s_app_rejects(sim, data->data, data->len);
        s_event_t *ev = s_push(sim, sim->now + S_APP_LATENCY_US, EV_APP, node->index);
        ev->app_kind = APP_VERDICT;
        ev->chunk = msg.u.app_ask_verdict.chunk;
        ev->valid = valid;
        ev->incarnation = node->incarnation[SIM_NET];
        return;
    }
    case OB_NET_TO_APP_APP_LOCK:
        s_reporter_lock(sim, node, &msg.u.app_lock.lock);
        return;
    case OB_NET_TO_APP_APP_TIP:
        node->reporter.tips++;
        return;
    case OB_NET_TO_APP_APP_EVIDENCE:
        node->reporter.evidence++;
        s_trace(sim, "node %d reports evidence", node->index);
        return;
    case OB_NET_TO_APP_APP_FETCH_FOUND:
        s_app_fetch_found(sim, node, &msg.u.app_fetch_found);
        return;
    case OB_NET_TO_APP_APP_FETCH_FAILED: {
        s_app_fetch_t *ask = s_app_fetch_of(sim, node, msg.u.app_fetch_failed.tag);
        if (ask) {
            ask->outcome = -1;
            ask->reason = msg.u.app_fetch_failed.reason;
        }
        return;
    }
    }
}

/* The application's answer of `ev`, as the frame it sends net's
   application socket. */
static void s_app_answer(sim_t *sim, s_node_t *node, const s_event_t *ev)
{
    ob_imsg_t msg;
    if (ev->app_kind == APP_PAYLOAD) {
        msg.type = OB_IMSG_APP_GIVE_PAYLOAD;
        msg.u.app_give_payload.height = ev->height;
        msg.u.app_give_payload.data = (ob_blob_t){ev->payload, (uint32_t)ev->payload_len};
    } else if (ev->app_kind == APP_VERDICT) {
        msg.type = OB_IMSG_APP_GIVE_VERDICT;
        msg.u.app_give_verdict.chunk = ev->chunk;
        msg.u.app_give_verdict.valid = ev->valid;
    } else if (ev->app_kind == APP_FETCH) {
        msg.type = OB_IMSG_APP_FETCH;
        msg.u.app_fetch.tag = ev->tag;
        memcpy(msg.u.app_fetch.sequencer, ev->chunk.sequencer, 32);
        msg.u.app_fetch.height = ev->height;
    } else {
        msg.type = OB_IMSG_APP_LOCK_RECEIVED;
        msg.u.app_lock_received.chunk = ev->chunk;
    }
    size_t len = ob_imsg_encoded_len(&msg), written = 0;
    uint8_t *frame = malloc(len);
    assert(frame);
    if (ob_imsg_encode(&msg, frame, len, &written) != 0)
        s_violation(sim, "node %d's application could not encode its answer", node->index);
    else
        ob_net_on_app(node->net, sim->now / 1000, "sim-app", frame, written, node->outbox[SIM_NET]);
    free(frame);
}

/* --- moving messages -------------------------------------------------------------- */

static void s_deliver_actor(sim_t *sim, s_node_t *node, int actor, ob_party_t from,
                            const uint8_t *bytes, size_t len)
{
    if (!node->up[actor])
        return; /* a dead actor's messages are lost */
    if (actor == SIM_JOURNAL && len > OB_IMSG_HEADER_LEN) {
        ob_imsg_t msg;
        if (ob_imsg_decode(&msg, bytes, len) == OB_OK && msg.type == OB_IMSG_NODE_VERIFIED)
            s_check_accepted_node(sim, node, msg.u.node_verified.node.data,
                                  msg.u.node_verified.node.len);
    }
    s_inbox_push(&node->inbox[actor], from, bytes, len);
    if (!node->wake_pending[actor]) {
        node->wake_pending[actor] = true;
        s_event_t *ev = s_push(sim, sim->now + S_INTERNAL_LATENCY_US + s_below(&sim->rng, 30),
                               EV_WAKE, node->index);
        ev->actor = actor;
        ev->incarnation = node->incarnation[actor];
    }
}

static bool s_link_up(const sim_t *sim, int from, int to)
{
    return !sim->partitioned || sim->nodes[from].group == sim->nodes[to].group;
}

static void s_send_peer(sim_t *sim, s_node_t *from, const uint8_t peer[32], const uint8_t *frame,
                        size_t len, const uint8_t *payload, size_t payload_len)
{
    int to = s_node_of_key(sim, peer);
    if (to < 0 || to == from->index || !s_link_up(sim, from->index, to))
        return;
    if (s_unit(&sim->rng) < sim->config.loss)
        return;
    uint64_t jitter = sim->config.jitter_us ? s_below(&sim->rng, 2 * sim->config.jitter_us + 1) : 0;
    uint64_t latency = sim->config.latency_us + jitter - sim->config.jitter_us;
    s_event_t *ev = s_push(sim, sim->now + latency, EV_PEER, to);
    ev->from = from->index;
    ev->frame = malloc(len);
    assert(ev->frame);
    memcpy(ev->frame, frame, len);
    ev->frame_len = len;
    if (payload) {
        ev->payload = malloc(payload_len ? payload_len : 1);
        assert(ev->payload);
        memcpy(ev->payload, payload, payload_len);
        ev->payload_len = payload_len;
    }
}

static void s_schedule_tick(sim_t *sim, s_node_t *node)
{
    if (!node->up[SIM_JOURNAL])
        return;
    uint64_t deadline = ob_journal_next_deadline(node->journal);
    if (deadline == UINT64_MAX)
        return;
    uint64_t at = deadline * 1000;
    if (at < sim->now)
        at = sim->now;
    if (node->tick_at > sim->now && node->tick_at <= at)
        return; /* an earlier tick is already coming */
    node->tick_at = at;
    s_event_t *ev = s_push(sim, at, EV_TICK, node->index);
    ev->incarnation = node->incarnation[SIM_JOURNAL];
}

/* Sends everything an actor's outbox holds. */
static void s_flush(sim_t *sim, s_node_t *node, int actor)
{
    ob_outbox_t *out = node->outbox[actor];
    for (size_t i = 0; i < ob_outbox_count(out); i++) {
        const ob_envelope_t *e = ob_outbox_at(out, i);
        const uint8_t *bytes = ob_outbox_bytes(out, e);
        switch (e->kind) {
        case OB_DEST_ACTOR:
            s_deliver_actor(sim, node, (int)e->actor, (ob_party_t)actor, bytes, e->len);
            break;
        case OB_DEST_APP:
            s_app(sim, node, bytes, e->len);
            break;
        case OB_DEST_CLIENT:
            break; /* the simulator's application proposes; nobody submits */
        case OB_DEST_PEER: {
            s_check_peer_frame(sim, node, bytes, e->len);
            if (e->len >= 2 && bytes[0] == OB_PEER_TYPE_ACK)
                node->acks_sent++;
            const uint8_t *payload = NULL;
            if (e->has_payload) {
                payload = ob_arena_get(node->arena, &e->payload);
                if (!payload)
                    break; /* the slot went stale: the message is lost */
            }
            if (sim->capture_armed && node->index == sim->capture_sequencer && bytes[0] == 1 &&
                e->len >= 2 + OB_CHUNK_LEN && payload) {
                ob_chunk_t chunk;
                if (ob_chunk_decode(&chunk, bytes + 2, OB_CHUNK_LEN) == OB_OK &&
                    chunk.height == sim->capture_height) {
                    sim->capture_armed = false;
                    sim->capture_done = true;
                    sim->capture_frame = malloc(e->len);
                    sim->capture_payload = malloc(e->payload.len ? e->payload.len : 1);
                    assert(sim->capture_frame && sim->capture_payload);
                    memcpy(sim->capture_frame, bytes, e->len);
                    memcpy(sim->capture_payload, payload, e->payload.len);
                    sim->capture_frame_len = e->len;
                    sim->capture_payload_len = e->payload.len;
                }
            }
            s_send_peer(sim, node, e->peer, bytes, e->len, payload, e->payload.len);
            break;
        }
        }
    }
    ob_outbox_clear(out);
    if (actor == SIM_NET && node->up[SIM_NET])
        ob_net_flushed(node->net);
    if (node->up[SIM_JOURNAL])
        s_schedule_tick(sim, node);
}

/* --- batches ---------------------------------------------------------------- */

static int s_begin(s_node_t *node, int actor)
{
    if (actor == SIM_SIGNER)
        return ob_signer_begin(node->signer);
    if (actor == SIM_JOURNAL)
        return ob_journal_begin(node->journal);
    return 0;
}

static int s_commit(s_node_t *node, int actor)
{
    if (actor == SIM_SIGNER)
        return ob_signer_commit(node->signer);
    if (actor == SIM_JOURNAL) {
        /* as the shell does: the journal's batch ends before its commit */
        ob_journal_end_batch(node->journal, node->outbox[actor]);
        return ob_journal_commit(node->journal);
    }
    return 0;
}

static void s_handle(sim_t *sim, s_node_t *node, int actor, ob_party_t from, const ob_imsg_t *msg)
{
    ob_outbox_t *out = node->outbox[actor];
    switch ((sim_actor_t)actor) {
    case SIM_NET:
        ob_net_handle(node->net, from, msg, out);
        return;
    case SIM_VERIFIER:
        ob_verifier_handle(node->verifier, sim->now / 1000, from, msg, out);
        return;
    case SIM_SIGNER:
        ob_signer_handle(node->signer, from, msg, out);
        return;
    case SIM_JOURNAL:
        ob_journal_handle(node->journal, sim->now / 1000, from, msg, out);
        return;
    }
}

/* Where this batch crashes, if it does: an armed random crash, or the
   targeted trigger when the outbox holds its message type. */
static int s_crash_point(sim_t *sim, s_node_t *node, int actor)
{
    if (node->crash_armed[actor] >= 0)
        return node->crash_armed[actor];
    if (sim->trigger_armed && sim->trigger_node == node->index && sim->trigger_actor == actor) {
        ob_outbox_t *out = node->outbox[actor];
        for (size_t i = 0; i < ob_outbox_count(out); i++) {
            const ob_envelope_t *e = ob_outbox_at(out, i);
            if (e->kind == OB_DEST_PEER) {
                if (sim->trigger_type == OB_IMSG_BROADCAST_NODE &&
                    ob_outbox_bytes(out, e)[0] == OB_PEER_TYPE_NODE)
                    goto fire;
                if (sim->trigger_type == OB_IMSG_SEND_ACK &&
                    ob_outbox_bytes(out, e)[0] == OB_PEER_TYPE_ACK)
                    goto fire;
                continue;
            }
            const uint8_t *b = ob_outbox_bytes(out, e);
            if (e->len >= 2 && (int)((b[0] << 8) | b[1]) == sim->trigger_type)
                goto fire;
        }
    }
    return -1;
fire:
    sim->trigger_armed = false;
    sim->trigger_fired = true;
    s_trace(sim, "trigger fires at node %d %s", node->index, ob_actor_name((ob_actor_t)actor));
    return (int)sim->trigger_point;
}

static uint64_t s_restart_delay(sim_t *sim)
{
    return 20 + s_below(&sim->rng, 480);
}

/* Crashes the actor, or its whole node. */
static void s_crash_here(sim_t *sim, s_node_t *node, int actor, uint64_t restart, bool whole)
{
    node->crash_armed[actor] = -1;
    if (whole)
        sim_crash_node(sim, node->index, restart);
    else
        s_crash(sim, node, actor, restart);
}

/* Ends a batch: crash where asked, commit, send. */
static void s_end_batch(sim_t *sim, s_node_t *node, int actor)
{
    int point = s_crash_point(sim, node, actor);
    uint64_t restart = sim->trigger_fired && point >= 0 && sim->trigger_node == node->index &&
                               sim->trigger_actor == actor
                           ? sim->trigger_restart_ms
                           : s_restart_delay(sim);
    bool whole = point >= 0 && sim->trigger_fired && sim->trigger_whole_node &&
                 sim->trigger_node == node->index && sim->trigger_actor == actor;
    if (whole)
        sim->trigger_whole_node = false;
    if (point == SIM_CRASH_BEFORE_COMMIT) {
        s_crash_here(sim, node, actor, restart, whole);
        return;
    }
    if (s_commit(node, actor) != 0) {
        s_trace(sim, "node %d %s commit failed", node->index, ob_actor_name((ob_actor_t)actor));
        s_crash(sim, node, actor, restart);
        return;
    }
    if (point == SIM_CRASH_AFTER_COMMIT) {
        s_crash_here(sim, node, actor, restart, whole);
        return;
    }
    s_flush(sim, node, actor);
    if (point == SIM_CRASH_AFTER_SEND)
        s_crash_here(sim, node, actor, restart, whole);
}

static void s_run_batch(sim_t *sim, s_node_t *node, int actor, bool tick)
{
    if (s_begin(node, actor) != 0) {
        s_crash(sim, node, actor, s_restart_delay(sim));
        return;
    }
    size_t batch = 1 + s_below(&sim->rng, S_MAX_BATCH);
    s_msg_t m;
    for (size_t i = 0; i < batch && s_inbox_pop(&node->inbox[actor], &m); i++) {
        ob_imsg_t msg;
        ob_error_t rc = ob_imsg_decode(&msg, m.bytes, m.len);
        EVP_DigestUpdate(sim->trace_hash, m.bytes, m.len);
        if (rc != OB_OK)
            s_violation(sim, "node %d %s got an undecodable message: %s", node->index,
                        ob_actor_name((ob_actor_t)actor), ob_error_name(rc));
        else
            s_handle(sim, node, actor, m.from, &msg);
        free(m.bytes);
    }
    if (tick && actor == SIM_JOURNAL)
        ob_journal_tick(node->journal, sim->now / 1000, node->outbox[actor]);
    if (actor == SIM_VERIFIER)
        ob_verifier_tick(node->verifier, sim->now / 1000, node->outbox[actor]);
    s_end_batch(sim, node, actor);
    if (actor == SIM_VERIFIER && node->up[actor]) {
        /* Held acks are verified once their hold time is up, whether or
           not anything else wakes the verifier. */
        uint64_t due = ob_verifier_next_deadline(node->verifier);
        if (due != UINT64_MAX && due * 1000 != node->verifier_wake_at) {
            node->verifier_wake_at = due * 1000;
            s_event_t *ev =
                s_push(sim, due * 1000 > sim->now ? due * 1000 : sim->now, EV_WAKE, node->index);
            ev->actor = actor;
            ev->incarnation = node->incarnation[actor];
        }
    }
    if (node->up[actor] && node->inbox[actor].count > 0 && !node->wake_pending[actor]) {
        node->wake_pending[actor] = true;
        s_event_t *ev = s_push(sim, sim->now + S_INTERNAL_LATENCY_US, EV_WAKE, node->index);
        ev->actor = actor;
        ev->incarnation = node->incarnation[actor];
    }
}

/* --- the byzantine driver ------------------------------------------------------- */

static void s_byz_send(sim_t *sim, s_node_t *byz, int to, const uint8_t *frame, size_t len,
                       const uint8_t *payload, size_t payload_len)
{
    s_send_peer(sim, byz, sim->nodes[to].key.pub.bytes, frame, len, payload, payload_len);
}

static size_t s_byz_node_frame(sim_t *sim, s_node_t *byz, uint64_t height, const uint8_t *payload,
                               size_t payload_len, uint8_t *frame, size_t cap)
{
    ob_node_t node = {0};
    memcpy(node.chunk.sequencer, byz->key.pub.bytes, 32);
    node.chunk.height = height;
    ob_sha256(sim->crypto, payload, payload_len, node.chunk.payload);
    ob_chunk_sign(sim->crypto, &sim->ns, &byz->key, &node.chunk, NULL, node.signature);
    size_t written = 0;
    int rc = ob_peer_node_frame_encode(&node, frame, cap, &written);
    assert(rc == 0);
    (void)rc;
    return written;
}

static void s_byz_ack(sim_t *sim, s_node_t *byz, const ob_chunk_t *chunk, uint64_t epoch,
                      int index_as, bool forge, int to)
{
    const ob_keyset_t *validators = ob_epochs_validators(sim->epochs, sim->config.epochs[0].epoch);
    ob_ack_t ack = {.chunk = *chunk, .epoch = epoch};
    uint16_t own;
    ob_keyset_index_of(validators, byz->key.pub.bytes, &own);
    ack.index = index_as >= 0 ? (uint16_t)index_as : own;
    if (forge)
        for (int i = 0; i < 64; i++)
            ack.signature[i] = (uint8_t)s_next(&sim->rng);
    else
        ob_ack_sign(sim->crypto, &sim->ns, &byz->key, chunk, epoch, NULL, ack.signature);
    uint8_t frame[2 + OB_ACK_LEN];
    size_t written;
    ob_peer_ack_frame_encode(&ack, frame, sizeof frame, &written);
    s_byz_send(sim, byz, to, frame, written, NULL, 0);
}

static void s_byzantine_act(sim_t *sim, s_node_t *byz)
{
    int n = sim->config.node_count;
    uint64_t epoch = sim->config.epochs[0].epoch;
    byz->byz_round++;
    /* Equivocation at height 0: payload A to some, B to others, and both
       to the last honest node. */
    uint8_t a[40] = "byzantine payload A", b[40] = "byzantine payload B";
    uint8_t frame_a[256], frame_b[256];
    size_t len_a = s_byz_node_frame(sim, byz, 0, a, sizeof a, frame_a, sizeof frame_a);
    size_t len_b = s_byz_node_frame(sim, byz, 0, b, sizeof b, frame_b, sizeof frame_b);
    int last = -1;
    for (int i = 0; i < n; i++)
        if (!sim->nodes[i].byzantine)
            last = i;
    for (int i = 0; i < n; i++) {
        if (sim->nodes[i].byzantine)
            continue;
        if (i == last) {
            s_byz_send(sim, byz, i, frame_a, len_a, a, sizeof a);
            s_byz_send(sim, byz, i, frame_b, len_b, b, sizeof b);
        } else if (i % 2 == 0) {
            s_byz_send(sim, byz, i, frame_a, len_a, a, sizeof a);
        } else {
            s_byz_send(sim, byz, i, frame_b, len_b, b, sizeof b);
        }
    }
    /* A flood of copies of A on the first honest node that takes A. */
    for (int i = 0; i < n; i++) {
        if (sim->nodes[i].byzantine || i == last || i % 2 != 0)
            continue;
        for (int k = 0; k < S_BYZ_FLOOD; k++)
            s_byz_send(sim, byz, i, frame_a, len_a, a, sizeof a);
        break;
    }
    /* A payload that does not hash to its digest. */
    s_byz_send(sim, byz, (int)s_below(&sim->rng, (uint64_t)n), frame_a, len_a, b, sizeof b);

    int to = (int)s_below(&sim->rng, (uint64_t)n);
    if (sim->nodes[to].byzantine)
        return;
    if (byz->has_seen_chunk) {
        ob_chunk_t c = byz->seen_chunk;
        s_byz_ack(sim, byz, &c, epoch, -1, true, to);                           /* forged */
        s_byz_ack(sim, byz, &c, epoch, (int)((byz->index + 1) % n), false, to); /* wrong index */
        s_byz_ack(sim, byz, &c, epoch + 7, -1, false, to);                      /* unknown epoch */
        ob_chunk_t ahead = c;
        ahead.height += 10; /* out of height bounds */
        s_byz_ack(sim, byz, &ahead, epoch, -1, false, to);
        ob_chunk_t other = c;
        other.payload[0] ^= 0x5a; /* another payload */
        s_byz_ack(sim, byz, &other, epoch, -1, false, to);
        s_byz_ack(sim, byz, &c, epoch, -1, false, to); /* a real ack, again */
    }
    /* A forged ack on its own payload A at height 0, which no quorum
       certifies (the honest nodes split over A and B): the verifiers hold
       it with the honest acks on A and verify it with them, never after a
       certificate that would make its check unnecessary. */
    ob_chunk_t own_a = {.height = 0};
    memcpy(own_a.sequencer, byz->key.pub.bytes, 32);
    ob_sha256(sim->crypto, a, sizeof a, own_a.payload);
    s_byz_ack(sim, byz, &own_a, epoch, -1, true, to);
    if (byz->has_seen_ack) /* an honest validator's ack, replayed by us */
        s_byz_send(sim, byz, to, byz->seen_ack, sizeof byz->seen_ack, NULL, 0);
    /* Garbage. */
    uint8_t junk[200];
    size_t junk_len = 1 + s_below(&sim->rng, sizeof junk);
    for (size_t i = 0; i < junk_len; i++)
        junk[i] = (uint8_t)s_next(&sim->rng);
    if (s_below(&sim->rng, 2))
        junk[0] = (uint8_t)(1 + s_below(&sim->rng, 2)), junk[1] = 1;
    s_byz_send(sim, byz, to, junk, junk_len, s_below(&sim->rng, 2) ? junk : NULL, junk_len / 2);
}

static void s_byzantine_hears(sim_t *sim, s_node_t *byz, const s_event_t *ev)
{
    (void)sim;
    if (ev->frame_len == 2 + OB_ACK_LEN && ev->frame[0] == OB_PEER_TYPE_ACK) {
        memcpy(byz->seen_ack, ev->frame, sizeof byz->seen_ack);
        byz->has_seen_ack = true;
    } else if (ev->frame_len >= 2 + OB_CHUNK_LEN && ev->frame[0] == OB_PEER_TYPE_NODE) {
        if (ob_chunk_decode(&byz->seen_chunk, ev->frame + 2, OB_CHUNK_LEN) == OB_OK)
            byz->has_seen_chunk = true;
    }
}

/* --- the fetch liar ------------------------------------------------------------ */

static bool s_liar_lock(sim_t *sim, const s_node_t *byz, size_t slot, ob_lock_t *lock)
{
    ob_epoch_lookup_t lookup = ob_epochs_lookup(sim->epochs);
    return ob_lock_decode(lock, byz->liar_locks[slot], byz->liar_lock_len[slot], &lookup) == OB_OK;
}

/* The parent certificate of a node it was sent, kept as a Lock. */
static void s_liar_keep(sim_t *sim, s_node_t *byz, const uint8_t *frame, size_t len)
{
    ob_epoch_lookup_t lookup = ob_epochs_lookup(sim->epochs);
    ob_node_t node;
    if (ob_node_decode(&node, frame + 2, len - 2, &lookup) != OB_OK || !node.has_parent)
        return;
    ob_lock_t lock = {
        .chunk = ob_node_parent_chunk(&node), .epoch = node.parent.epoch, .cert = node.parent.cert};
    uint8_t bytes[S_LIAR_LOCK_MAX];
    size_t written = 0;
    if (ob_lock_encode(&lock, bytes, sizeof bytes, &written) != 0)
        return;
    size_t kept = byz->liar_lock_count < S_LIAR_LOCKS ? byz->liar_lock_count : S_LIAR_LOCKS;
    for (size_t i = 0; i < kept; i++)
        if (byz->liar_lock_len[i] == written && memcmp(byz->liar_locks[i], bytes, written) == 0)
            return; /* a rebroadcast */
    size_t slot = byz->liar_lock_count++ % S_LIAR_LOCKS;
    memcpy(byz->liar_locks[slot], bytes, written);
    byz->liar_lock_len[slot] = written;
}

/* A kept Lock for the Fetch: one it asks for if kept, else one of its
   sequencer, else the newest. */
static bool s_liar_pick(sim_t *sim, const s_node_t *byz, const ob_fetch_t *fetch, ob_lock_t *out)
{
    size_t kept = byz->liar_lock_count < S_LIAR_LOCKS ? byz->liar_lock_count : S_LIAR_LOCKS;
    if (kept == 0)
        return false;
    int best = -1, rank = 0;
    for (size_t i = 0; i < kept; i++) {
        ob_lock_t lock;
        if (!s_liar_lock(sim, byz, i, &lock) ||
            memcmp(lock.chunk.sequencer, fetch->sequencer, 32) != 0)
            continue;
        bool inside =
            lock.chunk.height >= fetch->height && lock.chunk.height - fetch->height < fetch->count;
        if ((inside ? 2 : 1) > rank)
            best = (int)i, rank = inside ? 2 : 1;
    }
    return s_liar_lock(sim, byz,
                       best >= 0 ? (size_t)best : (byz->liar_lock_count - 1) % S_LIAR_LOCKS, out);
}

static void s_liar_fetched(sim_t *sim, s_node_t *byz, int to, const ob_lock_t *lock, bool junk)
{
    ob_fetched_t fetched = {.has_payload = junk, .lock = *lock};
    uint8_t frame[2 + 1 + S_LIAR_LOCK_MAX], payload[64];
    size_t len = 0;
    if (ob_peer_fetched_frame_encode(&fetched, frame, sizeof frame, &len) != 0)
        return;
    /* Bytes that do not hash to the Lock's digest. */
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)s_next(&sim->rng);
    s_byz_send(sim, byz, to, frame, len, junk ? payload : NULL, sizeof payload);
}

/* Answers a Fetch with a wrong payload, a Lock of an epoch nobody has, one
   of a sequencer nobody knows, and then two certificates that fail at the
   asked height, one signature broken and one short of a quorum: what
   blocks it, sent last so that the others are judged before the block. */
static void s_liar_answer(sim_t *sim, s_node_t *byz, int to, const ob_fetch_t *fetch)
{
    ob_lock_t lock;
    if (!s_liar_pick(sim, byz, fetch, &lock))
        return;
    s_liar_fetched(sim, byz, to, &lock, true);
    byz->liar_answers++;
    if (sim->config.liar == SIM_LIAR_PAYLOADS)
        return;
    ob_lock_t other_epoch = lock;
    other_epoch.epoch += 1000;
    s_liar_fetched(sim, byz, to, &other_epoch, false);
    ob_lock_t nobody = lock;
    ob_sha256(sim->crypto, "nobody's chain", 14, nobody.chunk.sequencer);
    s_liar_fetched(sim, byz, to, &nobody, false);
    ob_lock_t forged = lock;
    forged.chunk.height = fetch->height;
    forged.chunk.payload[0] ^= 1;
    s_liar_fetched(sim, byz, to, &forged, false);
    const ob_keyset_t *validators = ob_epochs_validators(sim->epochs, lock.epoch);
    ob_lock_t few = forged;
    few.cert.count = (uint16_t)(ob_keyset_quorum(validators) - 1);
    s_liar_fetched(sim, byz, to, &few, false);
    byz->liar_answers += 4;
}

/* A round of floods on every honest node: kept Locks it did not ask for
   (with wrong payloads from the payload liar), and Fetch for ranges of
   their chains. */
static void s_liar_flood(sim_t *sim, s_node_t *byz)
{
    size_t kept = byz->liar_lock_count < S_LIAR_LOCKS ? byz->liar_lock_count : S_LIAR_LOCKS;
    if (kept == 0)
        return;
    for (int to = 0; to < sim->config.node_count; to++) {
        if (sim->nodes[to].byzantine)
            continue;
        for (int k = 0; k < S_LIAR_FLOOD; k++) {
            ob_lock_t lock;
            if (!s_liar_lock(sim, byz, (size_t)k % kept, &lock))
                continue;
            s_liar_fetched(sim, byz, to, &lock,
                           sim->config.liar == SIM_LIAR_PAYLOADS && k % S_LIAR_PAYLOAD_EVERY == 0);
            byz->liar_unasked++;
        }
        ob_lock_t newest;
        if (!s_liar_lock(sim, byz, (byz->liar_lock_count - 1) % S_LIAR_LOCKS, &newest))
            continue;
        for (int k = 0; k < S_LIAR_FETCH_FLOOD; k++) {
            int of = (int)s_below(&sim->rng, (uint64_t)sim->config.node_count);
            ob_fetch_t fetch = {.height = s_below(&sim->rng, newest.chunk.height + 1),
                                .count = OB_FETCH_MAX};
            memcpy(fetch.sequencer, sim->nodes[of].key.pub.bytes, 32);
            uint8_t frame[2 + OB_FETCH_LEN];
            size_t len = 0;
            if (ob_peer_fetch_frame_encode(&fetch, frame, sizeof frame, &len) != 0)
                continue;
            s_byz_send(sim, byz, to, frame, len, NULL, 0);
            byz->liar_fetches++;
        }
    }
}

static void s_liar_hears(sim_t *sim, s_node_t *byz, const s_event_t *ev)
{
    if (ev->frame_len < 2)
        return;
    if (ev->frame[0] == OB_PEER_TYPE_NODE) {
        s_liar_keep(sim, byz, ev->frame, ev->frame_len);
    } else if (ev->frame[0] == OB_PEER_TYPE_FETCH) {
        ob_fetch_t fetch;
        if (ob_fetch_decode(&fetch, ev->frame + 2, ev->frame_len - 2) == OB_OK)
            s_liar_answer(sim, byz, ev->from, &fetch);
    }
}

/* --- the loop --------------------------------------------------------------------- */

static void s_process(sim_t *sim, s_event_t *ev)
{
    s_node_t *node = ev->node >= 0 ? &sim->nodes[ev->node] : NULL;
    switch (ev->kind) {
    case EV_WAKE:
        if (!node->up[ev->actor] || ev->incarnation != node->incarnation[ev->actor])
            return;
        node->wake_pending[ev->actor] = false;
        s_run_batch(sim, node, ev->actor, false);
        return;
    case EV_TICK:
        if (!node->up[SIM_JOURNAL] || ev->incarnation != node->incarnation[SIM_JOURNAL] ||
            ev->at != node->tick_at)
            return;
        s_run_batch(sim, node, SIM_JOURNAL, true);
        return;
    case EV_PEER: {
        if (node->byzantine) {
            if (sim->config.liar == SIM_LIAR_NONE)
                s_byzantine_hears(sim, node, ev);
            else
                s_liar_hears(sim, node, ev);
            return;
        }
        if (!node->up[SIM_NET])
            return;
        ob_frame_t frames[2] = {{ev->frame, ev->frame_len}, {ev->payload, ev->payload_len}};
        ob_net_on_peer(node->net, sim->nodes[ev->from].key.pub.bytes, frames, ev->payload ? 2 : 1,
                       node->outbox[SIM_NET]);
        s_end_batch(sim, node, SIM_NET);
        return;
    }
    case EV_APP: {
        if (!node->up[SIM_NET] || ev->incarnation != node->incarnation[SIM_NET])
            return;
        s_app_answer(sim, node, ev);
        s_end_batch(sim, node, SIM_NET);
        return;
    }
    case EV_RESTART:
        if (node->up[ev->actor] || ev->incarnation != node->incarnation[ev->actor])
            return;
        if (ev->actor == SIM_NET && node->arena == NULL)
            return;
        s_actor_start(sim, node, ev->actor);
        return;
    case EV_CHAOS: {
        int target = (int)s_below(&sim->rng, (uint64_t)sim->config.node_count);
        s_node_t *victim = &sim->nodes[target];
        if (!victim->byzantine) {
            if (s_below(&sim->rng, 4) == 0) {
                sim_crash_node(sim, target, s_restart_delay(sim));
            } else {
                int actor = 1 + (int)s_below(&sim->rng, 4);
                int how = (int)s_below(&sim->rng, 4);
                if (how == 3)
                    s_crash(sim, victim, actor, s_restart_delay(sim));
                else if (victim->up[actor])
                    victim->crash_armed[actor] = how; /* at a point of its next batch */
            }
        }
        uint64_t gap =
            sim->config.crash_every_us / 2 + s_below(&sim->rng, sim->config.crash_every_us + 1);
        s_push(sim, sim->now + gap, EV_CHAOS, -1);
        return;
    }
    case EV_BYZANTINE:
        if (sim->config.liar == SIM_LIAR_NONE)
            s_byzantine_act(sim, node);
        else
            s_liar_flood(sim, node);
        s_push(sim, sim->now + 150000 + s_below(&sim->rng, 100000), EV_BYZANTINE, node->index);
        return;
    case EV_SWEEP:
        if (node->arena)
            ob_arena_expire(node->arena, sim->now / 1000, S_LEASE_MS);
        s_push(sim, sim->now + S_SWEEP_US, EV_SWEEP, node->index);
        return;
    }
}

bool sim_run(sim_t *sim, uint64_t deadline_ms, sim_until_fn *until, void *ctx)
{
    uint64_t deadline = deadline_ms * 1000;
    while (sim->heap_count > 0 && sim->violations == 0) {
        if (sim->heap[0].at > deadline)
            break;
        s_event_t ev = s_pop(sim);
        sim->now = ev.at;
        sim->events++;
        s_hash_event(sim, &ev);
        s_process(sim, &ev);
        s_event_free(&ev);
        if (until && until(sim, ctx))
            return sim->violations == 0;
    }
    if (sim->now < deadline && sim->violations == 0)
        sim->now = deadline;
    return false;
}

/* --- setup ---------------------------------------------------------------------- */

sim_config_t sim_config_default(uint64_t seed, int n)
{
    sim_config_t c = {.seed = seed, .node_count = n, .epoch_count = 1};
    c.epochs[0].epoch = 1;
    c.epochs[0].validators = (1u << n) - 1;
    c.epochs[0].sequencers = (1u << n) - 1;
    c.latency_us = 10000;
    c.jitter_us = 1000;
    return c;
}

static ob_keyset_t *s_set(sim_t *sim, uint32_t mask)
{
    uint8_t keys[SIM_MAX_NODES][32];
    size_t count = 0;
    for (int i = 0; i < sim->config.node_count; i++)
        if (mask >> i & 1)
            memcpy(keys[count++], sim->nodes[i].key.pub.bytes, 32);
    ob_why_t why;
    ob_keyset_t *set = ob_keyset_new(sim->crypto, (const uint8_t(*)[32])keys, count, &why);
    assert(set);
    return set;
}

static void s_node_boot(sim_t *sim, s_node_t *node)
{
    ob_why_t why;
    node->arena = ob_arena_new_heap(S_ARENA_SLOTS, S_ARENA_SLOT_SIZE, &why);
    assert(node->arena);
    ob_arena_set_clock(node->arena, s_clock, sim);
    for (int a = SIM_JOURNAL; a >= SIM_NET; a--)
        s_actor_start(sim, node, a);
}

sim_t *sim_new(const sim_config_t *config)
{
    assert(config->node_count > 0 && config->node_count <= SIM_MAX_NODES);
    sim_t *sim = calloc(1, sizeof *sim);
    assert(sim);
    sim->config = *config;
    sim->rng = config->seed;
    sim->crypto = ob_crypto_new();
    assert(sim->crypto);
    ob_namespace_init(&sim->ns, sim->crypto, "obcast-sim", 10, NULL);
    sim->params = OB_PARAMS_DEFAULT;
    sim->params.max_payload = S_ARENA_SLOT_SIZE;
    if (config->block_ms)
        sim->params.block_ms = config->block_ms;
    ob_sha256(sim->crypto, &config->seed, sizeof config->seed, sim->aux_seed);
    ob_crypto_set_aux_seed(sim->crypto, sim->aux_seed);
    sim->trace_hash = EVP_MD_CTX_new();
    EVP_DigestInit_ex(sim->trace_hash, EVP_sha256(), NULL);
    s_map_init(&sim->s1);
    s_map_init(&sim->s2);
    s_map_init(&sim->s3);
    s_map_init(&sim->verified_locks);
    if (config->power_loss) {
        assert(config->durability != SIM_SYNC_OFF); /* a cut would lose everything */
        int installed = ob_powerloss_install();
        assert(installed == 0);
        (void)installed;
    }
    snprintf(sim->dir, sizeof sim->dir, "%s/obcast-sim-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    char *made = mkdtemp(sim->dir);
    assert(made);
    (void)made;
    ob_log_set_level(OB_LOG_ERROR);

    for (int i = 0; i < config->node_count; i++) {
        s_node_t *node = &sim->nodes[i];
        node->index = i;
        uint8_t secret[32];
        char label[32];
        snprintf(label, sizeof label, "obcast-sim-key-%d", i);
        ob_sha256(sim->crypto, label, strlen(label), secret);
        int rc = ob_keypair_from_secret(sim->crypto, secret, &node->key);
        assert(rc == 0);
        (void)rc;
        node->byzantine = config->byzantine >> i & 1;
        snprintf(node->journal_path, sizeof node->journal_path, "%s/node%d-journal.db", sim->dir,
                 i);
        snprintf(node->signer_path, sizeof node->signer_path, "%s/node%d-signer.db", sim->dir, i);
        for (int a = 1; a <= 4; a++) {
            node->outbox[a] = ob_outbox_new(4096, 8u << 20);
            assert(node->outbox[a]);
            node->crash_armed[a] = -1;
        }
        for (int s = 0; s < SIM_MAX_NODES; s++)
            node->reporter.chains[s].max = -1;
    }
    sim->epochs = ob_epochs_new();
    for (int e = 0; e < config->epoch_count; e++) {
        ob_keyset_t *v = s_set(sim, config->epochs[e].validators);
        ob_keyset_t *s = s_set(sim, config->epochs[e].sequencers);
        int rc = ob_epochs_add(sim->epochs, config->epochs[e].epoch, &v, &s, NULL);
        assert(rc == 0);
        (void)rc;
    }
    for (int i = 0; i < config->node_count; i++) {
        s_node_t *node = &sim->nodes[i];
        if (node->byzantine)
            s_push(sim, 100000 + s_below(&sim->rng, 100000), EV_BYZANTINE, i);
        else if (!(config->offline >> i & 1))
            s_node_boot(sim, node);
        s_push(sim, S_SWEEP_US, EV_SWEEP, i);
    }
    if (config->crash_every_us)
        s_push(sim, config->crash_every_us, EV_CHAOS, -1);
    return sim;
}

void sim_destroy(sim_t **self_p)
{
    sim_t *sim = *self_p;
    if (!sim)
        return;
    for (int i = 0; i < sim->config.node_count; i++) {
        s_node_t *node = &sim->nodes[i];
        for (int a = 1; a <= 4; a++) {
            if (node->up[a])
                s_actor_stop(sim, node, a);
            s_inbox_clear(&node->inbox[a]);
            free(node->inbox[a].items);
            ob_outbox_destroy(&node->outbox[a]);
        }
        ob_arena_destroy(&node->arena);
        for (int s = 0; s < SIM_MAX_NODES; s++)
            free(node->reporter.chains[s].seen), free(node->reporter.chains[s].epoch);
        ob_keypair_wipe(&node->key);
    }
    while (sim->heap_count > 0) {
        s_event_t ev = s_pop(sim);
        s_event_free(&ev);
    }
    free(sim->heap);
    free(sim->capture_frame);
    free(sim->capture_payload);
    free(sim->s1.entries);
    free(sim->s2.entries);
    free(sim->s3.entries);
    free(sim->verified_locks.entries);
    ob_epochs_destroy(&sim->epochs);
    ob_crypto_destroy(&sim->crypto);
    EVP_MD_CTX_free(sim->trace_hash);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", sim->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "sim: could not remove %s\n", sim->dir);
    free(sim);
    *self_p = NULL;
}

/* After a power cut under durability = "power": every Lock the node
   reported is in its journal still (SPEC §4: the certificate commits, then
   the Lock is reported). Under "process" the journal may lose its latest
   commits (S1-S5 are what must hold), so there is nothing to count. */
static void s_check_locks_survived(sim_t *sim, s_node_t *node)
{
    if (sim->config.durability != SIM_DURABILITY_POWER)
        return;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(node->journal_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        s_violation(sim, "power cut of node %d: its journal does not open: %s", node->index,
                    db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return;
    }
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(
        db, "SELECT 1 FROM certificate WHERE sequencer = ?1 AND height = ?2 LIMIT 1", -1, &stmt,
        NULL);
    for (int s = 0; rc == SQLITE_OK && s < sim->config.node_count; s++) {
        const s_chain_t *chain = &node->reporter.chains[s];
        for (int64_t h = 0; h <= chain->max; h++) {
            if (!chain->seen[h])
                continue;
            sqlite3_reset(stmt);
            sqlite3_bind_blob(stmt, 1, sim->nodes[s].key.pub.bytes, 32, SQLITE_STATIC);
            sqlite3_bind_int64(stmt, 2, h);
            if (sqlite3_step(stmt) == SQLITE_ROW) {
                sim->locks_after_cuts++;
                continue;
            }
            s_violation(sim,
                        "power cut of node %d: the certificate of node %d height %lld, reported "
                        "as a Lock, is not in its journal any more",
                        node->index, s, (long long)h);
            break;
        }
    }
    if (rc != SQLITE_OK)
        s_violation(sim, "power cut of node %d: cannot read its journal: %s", node->index,
                    sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

/* --- operations ------------------------------------------------------------------ */

void sim_crash_actor(sim_t *sim, int node, sim_actor_t actor, uint64_t restart_after_ms)
{
    s_crash(sim, &sim->nodes[node], (int)actor, restart_after_ms);
}

void sim_crash_node(sim_t *sim, int index, uint64_t restart_after_ms)
{
    s_node_t *node = &sim->nodes[index];
    if (node->byzantine)
        return;
    s_trace(sim, "node %d CRASHES whole%s", index, sim->config.power_loss ? ", power cut" : "");
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s/node%d-", sim->dir, index);
    if (sim->config.power_loss)
        ob_powerloss_cut_begin(prefix);
    for (int a = 1; a <= 4; a++)
        s_crash(sim, node, a, restart_after_ms);
    if (sim->config.power_loss) {
        if (ob_powerloss_cut_end(prefix) != 0)
            s_violation(sim, "power cut of node %d: its files could not be put back (%s)", index,
                        strerror(errno));
        sim->power_cuts++;
        s_check_locks_survived(sim, node);
    }
    /* The supervisor makes a fresh arena when it restarts the node. */
    ob_arena_destroy(&node->arena);
    ob_why_t why;
    node->arena = ob_arena_new_heap(S_ARENA_SLOTS, S_ARENA_SLOT_SIZE, &why);
    assert(node->arena);
    ob_arena_set_clock(node->arena, s_clock, sim);
}

void sim_start_node(sim_t *sim, int index)
{
    s_node_t *node = &sim->nodes[index];
    if (!node->arena)
        s_node_boot(sim, node);
}

void sim_crash_when(sim_t *sim, int node, sim_actor_t actor, int imsg_type, sim_crash_point_t point,
                    uint64_t restart_after_ms)
{
    sim->trigger_armed = true;
    sim->trigger_fired = false;
    sim->trigger_node = node;
    sim->trigger_actor = (int)actor;
    sim->trigger_type = imsg_type;
    sim->trigger_point = point;
    sim->trigger_restart_ms = restart_after_ms;
}

void sim_crash_node_when(sim_t *sim, int node, sim_actor_t actor, int imsg_type,
                         sim_crash_point_t point, uint64_t restart_after_ms)
{
    sim_crash_when(sim, node, actor, imsg_type, point, restart_after_ms);
    sim->trigger_whole_node = true;
}

void sim_set_app_idle(sim_t *sim, int node, bool idle)
{
    sim->nodes[node].app_idle = idle;
}

void sim_capture(sim_t *sim, int sequencer, uint64_t height)
{
    sim->capture_armed = true;
    sim->capture_sequencer = sequencer;
    sim->capture_height = height;
}

bool sim_captured(const sim_t *sim)
{
    return sim->capture_done;
}

void sim_inject_captured(sim_t *sim, int to)
{
    assert(sim->capture_done);
    s_event_t *ev = s_push(sim, sim->now, EV_PEER, to);
    ev->from = sim->capture_sequencer;
    ev->frame = malloc(sim->capture_frame_len);
    ev->payload = malloc(sim->capture_payload_len ? sim->capture_payload_len : 1);
    assert(ev->frame && ev->payload);
    memcpy(ev->frame, sim->capture_frame, sim->capture_frame_len);
    memcpy(ev->payload, sim->capture_payload, sim->capture_payload_len);
    ev->frame_len = sim->capture_frame_len;
    ev->payload_len = sim->capture_payload_len;
}

uint64_t sim_lock_epoch(const sim_t *sim, int reporter, int sequencer, uint64_t height)
{
    const s_chain_t *chain = &sim->nodes[reporter].reporter.chains[sequencer];
    return height < chain->cap && chain->seen[height] ? chain->epoch[height] : 0;
}

bool sim_trigger_fired(const sim_t *sim)
{
    return sim->trigger_fired;
}

void sim_partition(sim_t *sim, const int *group)
{
    for (int i = 0; i < sim->config.node_count; i++)
        sim->nodes[i].group = group[i];
    sim->partitioned = true;
    s_trace(sim, "partition");
}

void sim_heal(sim_t *sim)
{
    sim->partitioned = false;
    s_trace(sim, "heal");
}

void sim_set_epoch(sim_t *sim, int index, uint64_t epoch)
{
    s_node_t *node = &sim->nodes[index];
    ob_imsg_t msg = {.type = OB_IMSG_SET_EPOCH};
    msg.u.set_epoch.epoch = epoch;
    uint8_t bytes[64];
    size_t written;
    ob_imsg_encode(&msg, bytes, sizeof bytes, &written);
    s_deliver_actor(sim, node, SIM_JOURNAL, OB_PARTY_OPERATOR, bytes, written);
}

void sim_send_internal(sim_t *sim, int index, sim_actor_t to, ob_party_t from, const ob_imsg_t *msg)
{
    size_t len = ob_imsg_encoded_len(msg), written = 0;
    uint8_t *bytes = malloc(len);
    assert(bytes);
    if (ob_imsg_encode(msg, bytes, len, &written) != 0)
        s_violation(sim, "a test's internal message does not encode");
    else
        s_deliver_actor(sim, &sim->nodes[index], (int)to, from, bytes, written);
    free(bytes);
}

void sim_node_key(const sim_t *sim, int index, uint8_t out[32])
{
    memcpy(out, sim->nodes[index].key.pub.bytes, 32);
}

/* --- queries ---------------------------------------------------------------------- */

uint64_t sim_seed(const sim_t *sim)
{
    return sim->config.seed;
}

uint64_t sim_now_ms(const sim_t *sim)
{
    return sim->now / 1000;
}

int sim_violations(const sim_t *sim)
{
    return sim->violations;
}

const char *sim_violation(const sim_t *sim)
{
    return sim->violation;
}

void sim_print_trace(const sim_t *sim)
{
    fprintf(stderr, "sim: seed %llu, %llu events, virtual time %.3f s\n",
            (unsigned long long)sim->config.seed, (unsigned long long)sim->events,
            (double)sim->now / 1e6);
    if (sim->violations)
        fprintf(stderr, "sim: VIOLATION: %s\n", sim->violation);
    fprintf(stderr, "sim: last events:\n");
    size_t start = sim->trace_next > S_TRACE_LINES ? sim->trace_next - S_TRACE_LINES : 0;
    for (size_t i = start; i < sim->trace_next; i++)
        fprintf(stderr, "  %s\n", sim->trace[i % S_TRACE_LINES]);
}

void sim_trace_hash(const sim_t *sim, uint8_t out[32])
{
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    unsigned int len = 0;
    EVP_MD_CTX_copy_ex(copy, sim->trace_hash);
    EVP_DigestFinal_ex(copy, out, &len);
    EVP_MD_CTX_free(copy);
}

uint64_t sim_events(const sim_t *sim)
{
    return sim->events;
}

int64_t sim_contiguous_height(const sim_t *sim, int reporter, int sequencer)
{
    const s_chain_t *chain = &sim->nodes[reporter].reporter.chains[sequencer];
    int64_t h = -1;
    while ((size_t)(h + 1) < chain->cap && chain->seen[h + 1])
        h++;
    return h;
}

int64_t sim_max_lock_height(const sim_t *sim, int reporter, int sequencer)
{
    return sim->nodes[reporter].reporter.chains[sequencer].max;
}

bool sim_has_lock(const sim_t *sim, int reporter, int sequencer, uint64_t height)
{
    const s_chain_t *chain = &sim->nodes[reporter].reporter.chains[sequencer];
    return height < chain->cap && chain->seen[height];
}

uint64_t sim_evidence_reports(const sim_t *sim, int reporter)
{
    return sim->nodes[reporter].reporter.evidence;
}

uint64_t sim_rebroadcasts(const sim_t *sim, int node)
{
    const s_node_t *n = &sim->nodes[node];
    return n->journal ? ob_journal_stats(n->journal)->rebroadcasts : 0;
}

uint64_t sim_drops(const sim_t *sim, int node, const char *error_name)
{
    const s_node_t *n = &sim->nodes[node];
    int code = ob_error_from_name(error_name);
    if (code < 0 || !n->journal)
        return 0;
    return ob_journal_stats(n->journal)->dropped[code];
}

uint64_t sim_power_cuts(const sim_t *sim)
{
    return sim->power_cuts;
}

uint64_t sim_locks_after_cuts(const sim_t *sim)
{
    return sim->locks_after_cuts;
}

uint64_t sim_crashes(const sim_t *sim)
{
    return sim->crashes;
}

int64_t sim_tip_height(const sim_t *sim, int node, int sequencer)
{
    const s_node_t *n = &sim->nodes[node];
    uint64_t height;
    uint8_t payload[32];
    if (!n->journal ||
        !ob_journal_tip(n->journal, sim->nodes[sequencer].key.pub.bytes, &height, payload))
        return -1;
    return (int64_t)height;
}

bool sim_peer_blocked(const sim_t *sim, int node, int peer, const char **reason, uint64_t *until_ms)
{
    const s_node_t *n = &sim->nodes[node];
    ob_error_t why = OB_OK;
    if (!n->net || !ob_net_peer_blocked(n->net, sim->nodes[peer].key.pub.bytes, &why, until_ms))
        return false;
    if (reason)
        *reason = ob_error_name(why);
    return true;
}

uint64_t sim_blocks(const sim_t *sim, int node, const char *reason)
{
    const s_node_t *n = &sim->nodes[node];
    int code = ob_error_from_name(reason);
    return code < 0 || !n->net ? 0 : ob_net_stats(n->net)->blocks[code];
}

void sim_fetched_passed(const sim_t *sim, int node, uint64_t *asked, uint64_t *unasked)
{
    const s_node_t *n = &sim->nodes[node];
    *asked = n->net ? ob_net_stats(n->net)->fetched_asked : 0;
    *unasked = n->net ? ob_net_stats(n->net)->fetched_unasked : 0;
}

void sim_liar_sent(const sim_t *sim, int node, uint64_t *answers, uint64_t *unasked,
                   uint64_t *fetches)
{
    const s_node_t *n = &sim->nodes[node];
    *answers = n->liar_answers;
    *unasked = n->liar_unasked;
    *fetches = n->liar_fetches;
}

void sim_app_fetch(sim_t *sim, int node, int sequencer, uint64_t height, uint64_t tag)
{
    s_node_t *n = &sim->nodes[node];
    assert(n->app_fetch_count < S_APP_FETCHES);
    n->app_fetches[n->app_fetch_count++] =
        (s_app_fetch_t){.tag = tag, .sequencer = sequencer, .height = height};
    s_event_t *ev = s_push(sim, sim->now + S_APP_LATENCY_US, EV_APP, node);
    ev->app_kind = APP_FETCH;
    ev->tag = tag;
    memcpy(ev->chunk.sequencer, sim->nodes[sequencer].key.pub.bytes, 32);
    ev->height = height;
    ev->incarnation = n->incarnation[SIM_NET];
}

int sim_app_fetched(const sim_t *sim, int node, uint64_t tag, uint8_t *reason)
{
    const s_node_t *n = &sim->nodes[node];
    for (size_t i = 0; i < n->app_fetch_count; i++) {
        if (n->app_fetches[i].tag != tag)
            continue;
        if (reason)
            *reason = n->app_fetches[i].reason;
        return n->app_fetches[i].outcome;
    }
    return 0;
}

uint32_t sim_arena_in_use(const sim_t *sim, int node)
{
    return sim->nodes[node].arena ? ob_arena_in_use(sim->nodes[node].arena) : 0;
}

uint64_t sim_acks_sent(const sim_t *sim, int node)
{
    return sim->nodes[node].acks_sent;
}

uint64_t sim_byzantine_acks(const sim_t *sim, int node, size_t *distinct)
{
    *distinct = sim->nodes[node].byz_ack_sig_count;
    return sim->nodes[node].byz_acks;
}

bool sim_all_reached(const sim_t *sim, uint32_t sequencers, uint32_t except, uint64_t height)
{
    for (int r = 0; r < sim->config.node_count; r++) {
        if (sim->nodes[r].byzantine || (except >> r & 1))
            continue;
        for (int s = 0; s < sim->config.node_count; s++) {
            if (!(sequencers >> s & 1) || sim->nodes[s].byzantine)
                continue;
            if (sim_contiguous_height(sim, r, s) < (int64_t)height)
                return false;
        }
    }
    return true;
}

uint64_t sim_certified_payloads(const sim_t *sim, int node, int sequencer, uint64_t from,
                                uint64_t to)
{
    uint8_t key[32];
    sim_node_key(sim, sequencer, key);
    sqlite3 *db = NULL;
    uint64_t held = 0;
    /* A reader beside the journal's own connection: WAL lets it see what
       was committed, never a half-written batch. */
    if (sqlite3_open_v2(sim->nodes[node].journal_path, &db, SQLITE_OPEN_READONLY, NULL) ==
        SQLITE_OK) {
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2(db,
                               "SELECT count(DISTINCT c.height) FROM certificate c JOIN payload p "
                               "ON p.digest = c.payload WHERE c.sequencer = ?1 AND c.height "
                               "BETWEEN ?2 AND ?3",
                               -1, &stmt, NULL) == SQLITE_OK) {
            sqlite3_bind_blob(stmt, 1, key, 32, SQLITE_STATIC);
            sqlite3_bind_int64(stmt, 2, (sqlite3_int64)from);
            sqlite3_bind_int64(stmt, 3, (sqlite3_int64)to);
            if (sqlite3_step(stmt) == SQLITE_ROW)
                held = (uint64_t)sqlite3_column_int64(stmt, 0);
        }
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return held;
}

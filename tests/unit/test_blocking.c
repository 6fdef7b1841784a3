/*  Blocking (SPEC §3 "Blocking", issue 11): a peer is blocked only for
    what it sent itself over its own link and can be proved byzantine
    for: an item signed by its own key whose signature fails, two
    conflicting nodes of its own chain, a Fetched whose certificate
    fails. An honest peer cannot be framed: an equivocation it relays, a
    payload that does not hash, a manifest of ours that lags, the ack
    bounds, or a bad signature of another's that it passes on never block
    it.

    One node, key 0 of tu_four (epoch 1: every key a validator and a
    sequencer), with its real net, verifier, signer and journal on real
    SQLite files: peer frames enter net as the shell gives them, and
    every message between the four goes through the imsg codec to its
    actor, until none is left. Net's block hook says who was blocked. */
#include "testutil.h"

#include "arena.h"
#include "journal.h"
#include "journal_store.h"
#include "log.h"
#include "net.h"
#include "outbox.h"
#include "signer.h"
#include "verifier.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F_SLOTS     64
#define F_SLOT_SIZE 4096
#define F_BLOCK_MS  5000
#define F_T0        100000
#define F_QUEUE     1024 /* messages between the actors in flight at once */
#define F_HOPS      64   /* a message and what it causes: at most this many deliveries */
#define F_NODE_MAX  (OB_GENESIS_NODE_LEN + 32 + 8 + 2 + 4 * OB_CERT_ENTRY_LEN)
#define F_LOCK_MAX  (OB_CHUNK_LEN + 8 + 2 + 4 * OB_CERT_ENTRY_LEN)
#define F_BLOCKS    16

/* This node's keys, and the peers the tests play. */
enum { SELF = 0, S = 1, Q = 2, P = 3 };

typedef struct {
    ob_party_t from;
    ob_actor_t to;
    uint8_t *bytes;
    size_t len;
} f_msg_t;

typedef struct {
    ob_party_t by; /* who asked net to block */
    uint8_t peer[32];
    ob_error_t why;
} f_block_t;

typedef struct {
    char dir[64], journal_path[128], signer_path[128];
    tu_four_t w;
    ob_params_t params;
    ob_arena_t *arena;
    ob_outbox_t *out;
    ob_net_t *net;
    ob_verifier_t *verifier;
    ob_signer_t *signer;
    ob_journal_t *journal;
    uint64_t now;
    f_msg_t queue[F_QUEUE];
    size_t queued;
    /* block_peer messages, as they went to net */
    f_block_t asked[F_BLOCKS];
    size_t asked_count;
    /* blocks net started (its hook), each for block_ms from the clock */
    f_block_t started[F_BLOCKS];
    size_t started_count;
} f_t;

static uint64_t s_net_clock(void *ctx)
{
    const f_t *f = ctx;
    return f->now;
}

static void s_on_block(void *ctx, const uint8_t peer[32], ob_error_t reason, uint64_t until_ms)
{
    f_t *f = ctx;
    assert_int_equal(until_ms, f->now + F_BLOCK_MS);
    assert_true(f->started_count < F_BLOCKS);
    f_block_t *b = &f->started[f->started_count++];
    b->by = OB_PARTY_NET;
    memcpy(b->peer, peer, 32);
    b->why = reason;
}

static const uint8_t *s_key(f_t *f, int k)
{
    return f->w.keys[k].pub.bytes;
}

/* --- moving messages between the four actors ------------------------- */

/* What the last handler put in the outbox, queued for its actors (peer,
   application and client envelopes go nowhere: no peer is real here). */
static void s_take(f_t *f, ob_party_t from)
{
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        if (e->kind != OB_DEST_ACTOR)
            continue;
        assert_true(f->queued < F_QUEUE);
        f_msg_t *m = &f->queue[f->queued++];
        m->from = from;
        m->to = e->actor;
        m->len = e->len;
        m->bytes = malloc(e->len);
        assert_non_null(m->bytes);
        memcpy(m->bytes, ob_outbox_bytes(f->out, e), e->len);
    }
    ob_outbox_clear(f->out);
}

static void s_note_block(f_t *f, ob_party_t from, const ob_imsg_t *msg)
{
    if (msg->type != OB_IMSG_BLOCK_PEER)
        return;
    assert_true(f->asked_count < F_BLOCKS);
    f_block_t *b = &f->asked[f->asked_count++];
    b->by = from;
    memcpy(b->peer, msg->u.block_peer.peer, 32);
    b->why = (ob_error_t)msg->u.block_peer.error;
}

static void s_deliver(f_t *f, const f_msg_t *m)
{
    ob_imsg_t msg;
    assert_int_equal(ob_imsg_decode(&msg, m->bytes, m->len), OB_OK);
    ob_outbox_clear(f->out);
    switch (m->to) {
    case OB_ACTOR_NET:
        s_note_block(f, m->from, &msg);
        ob_net_handle(f->net, m->from, &msg, f->out);
        ob_net_flushed(f->net);
        break;
    case OB_ACTOR_VERIFIER:
        ob_verifier_handle(f->verifier, f->now, m->from, &msg, f->out);
        break;
    case OB_ACTOR_SIGNER:
        assert_int_equal(ob_signer_begin(f->signer), 0);
        ob_signer_handle(f->signer, m->from, &msg, f->out);
        assert_int_equal(ob_signer_commit(f->signer), 0);
        break;
    case OB_ACTOR_JOURNAL:
        assert_int_equal(ob_journal_begin(f->journal), 0);
        ob_journal_handle(f->journal, f->now, m->from, &msg, f->out);
        ob_journal_end_batch(f->journal, f->out);
        assert_int_equal(ob_journal_commit(f->journal), 0);
        break;
    }
    s_take(f, (ob_party_t)m->to);
}

/* Delivers what is queued, and what that makes, until nothing is left. */
static void s_pump(f_t *f)
{
    for (int hop = 0; f->queued > 0; hop++) {
        assert_true(hop < F_HOPS);
        size_t count = f->queued;
        f_msg_t batch[F_QUEUE];
        memcpy(batch, f->queue, count * sizeof *batch);
        f->queued = 0;
        for (size_t i = 0; i < count; i++) {
            s_deliver(f, &batch[i]);
            free(batch[i].bytes);
        }
    }
}

/* One peer message as the shell hands it to net, and all it causes. */
static void s_from_peer(f_t *f, int peer, const ob_frame_t *frames, size_t count)
{
    ob_outbox_clear(f->out);
    ob_net_on_peer(f->net, s_key(f, peer), frames, count, f->out);
    ob_net_flushed(f->net);
    s_take(f, OB_PARTY_NET);
    s_pump(f);
}

static void s_tick_verifier(f_t *f)
{
    ob_outbox_clear(f->out);
    ob_verifier_tick(f->verifier, f->now, f->out);
    s_take(f, OB_PARTY_VERIFIER);
    s_pump(f);
}

/* --- the node --------------------------------------------------------- */

static int s_setup(void **state)
{
    f_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    ob_log_set_level(OB_LOG_ERROR);
    tu_temp_dir(f->dir, sizeof f->dir, "blocking");
    snprintf(f->journal_path, sizeof f->journal_path, "%s/journal.db", f->dir);
    snprintf(f->signer_path, sizeof f->signer_path, "%s/signer.db", f->dir);
    tu_four_init(&f->w, "blocking");
    f->params = OB_PARAMS_DEFAULT;
    f->params.max_payload = F_SLOT_SIZE;
    f->params.block_ms = F_BLOCK_MS;
    /* No epoch above the current one is in bounds: epoch 2 is known, so an
       ack of it fails the bounds, not the manifest. */
    f->params.epoch_bounds_hi = 0;
    ob_why_t why = {{0}};
    f->arena = ob_arena_new_heap(F_SLOTS, F_SLOT_SIZE, &why);
    assert_non_null(f->arena);
    f->out = ob_outbox_new(1024, 4u << 20);
    assert_non_null(f->out);
    f->now = F_T0;

    ob_node_env_t env = {
        .ns = &f->w.ns, .epochs = f->w.epochs, .params = f->params, .arena = f->arena};
    memcpy(env.self_key, s_key(f, SELF), 32);
    ob_net_config_t net_config = {.env = env};
    f->net = ob_net_new(&net_config, &why);
    assert_non_null(f->net);
    ob_net_set_clock(f->net, s_net_clock, f);
    ob_net_set_on_block(f->net, s_on_block, f);
    f->verifier = ob_verifier_new(&env, 1024, &why);
    assert_non_null(f->verifier);
    ob_signer_config_t signer_config = {
        .env = env, .key = f->w.keys[SELF], .db_path = f->signer_path, .sync = OB_DB_SYNC_NORMAL};
    f->signer = ob_signer_new(&signer_config, &why);
    if (!f->signer)
        fail_msg("signer: %s", why.text);
    ob_journal_config_t journal_config = {
        .env = env, .db_path = f->journal_path, .sync = OB_DB_SYNC_NORMAL, .initial_epoch = 1};
    f->journal = ob_journal_new(&journal_config, &why);
    if (!f->journal)
        fail_msg("journal: %s", why.text);

    /* Each starts and asks for the view; the journal's start gives it. */
    ob_outbox_clear(f->out);
    ob_net_start(f->net, f->out);
    s_take(f, OB_PARTY_NET);
    ob_verifier_start(f->verifier, f->out);
    s_take(f, OB_PARTY_VERIFIER);
    ob_signer_start(f->signer, f->out);
    s_take(f, OB_PARTY_SIGNER);
    assert_int_equal(ob_journal_begin(f->journal), 0);
    ob_journal_start(f->journal, f->now, f->out);
    assert_int_equal(ob_journal_commit(f->journal), 0);
    s_take(f, OB_PARTY_JOURNAL);
    s_pump(f);
    return 0;
}

static int s_teardown(void **state)
{
    f_t *f = *state;
    for (size_t i = 0; i < f->queued; i++)
        free(f->queue[i].bytes);
    ob_journal_destroy(&f->journal);
    ob_signer_destroy(&f->signer);
    ob_verifier_destroy(&f->verifier);
    ob_net_destroy(&f->net);
    ob_outbox_destroy(&f->out);
    ob_arena_destroy(&f->arena);
    tu_four_fini(&f->w);
    tu_remove_dir(f->dir);
    free(f);
    return 0;
}

/* --- what peers send --------------------------------------------------- */

static ob_chunk_t s_chunk(f_t *f, int sequencer, uint64_t height, const char *payload)
{
    return tu_four_chunk(&f->w, sequencer, height, payload);
}

static ob_ack_t s_ack(f_t *f, int validator, const ob_chunk_t *chunk, uint64_t epoch)
{
    ob_ack_t ack = {.chunk = *chunk, .epoch = epoch};
    /* An epoch the manifest lacks keeps epoch 1's index. */
    ack.index = tu_four_index(&f->w, validator, epoch <= 2 ? epoch : 1);
    assert_int_equal(ob_ack_sign(f->w.crypto, &f->w.ns, &f->w.keys[validator], chunk, epoch, NULL,
                                 ack.signature),
                     0);
    return ack;
}

/* A certificate of keys 1, 2 and 3 (a quorum of 4) on `chunk` in epoch 1;
   `forge` flips a byte of one signature. */
static ob_cert_t s_cert(f_t *f, const ob_chunk_t *chunk, bool forge,
                        uint8_t entries[4 * OB_CERT_ENTRY_LEN])
{
    ob_ack_t acks[3];
    for (int k = 0; k < 3; k++)
        acks[k] = s_ack(f, k + 1, chunk, 1);
    if (forge)
        acks[1].signature[9] ^= 0x10;
    ob_cert_t cert;
    assert_int_equal(ob_cert_assemble(acks, 3, 4, entries, 4 * OB_CERT_ENTRY_LEN, &cert), OB_OK);
    return cert;
}

/* `sequencer`'s node at `height` over `payload`, its parent (over
   `parent_payload`) certified, the certificate forged if `forge_parent`. */
static ob_node_t s_node(f_t *f, int sequencer, uint64_t height, const char *payload,
                        const char *parent_payload, bool forge_parent,
                        uint8_t entries[4 * OB_CERT_ENTRY_LEN])
{
    ob_node_t node = {.chunk = s_chunk(f, sequencer, height, payload)};
    if (height > 0) {
        ob_chunk_t parent = s_chunk(f, sequencer, height - 1, parent_payload);
        node.has_parent = true;
        memcpy(node.parent.digest, parent.payload, 32);
        node.parent.epoch = 1;
        node.parent.cert = s_cert(f, &parent, forge_parent, entries);
    }
    assert_int_equal(ob_chunk_sign(f->w.crypto, &f->w.ns, &f->w.keys[sequencer], &node.chunk, NULL,
                                   node.signature),
                     0);
    return node;
}

/* `node` sent by `peer`, with `bytes` as its payload frame. */
static void s_send_node(f_t *f, int peer, const ob_node_t *node, const char *bytes)
{
    uint8_t frame[2 + F_NODE_MAX];
    size_t len = 0;
    assert_int_equal(ob_peer_node_frame_encode(node, frame, sizeof frame, &len), 0);
    ob_frame_t frames[2] = {{frame, len}, {(const uint8_t *)bytes, strlen(bytes)}};
    s_from_peer(f, peer, frames, 2);
}

static void s_send_genesis(f_t *f, int peer, int sequencer, const char *payload)
{
    ob_node_t node = s_node(f, sequencer, 0, payload, NULL, false, NULL);
    s_send_node(f, peer, &node, payload);
}

static void s_send_ack(f_t *f, int peer, const ob_ack_t *ack)
{
    uint8_t frame[2 + OB_ACK_LEN];
    size_t len = 0;
    assert_int_equal(ob_peer_ack_frame_encode(ack, frame, sizeof frame, &len), 0);
    ob_frame_t frames[1] = {{frame, len}};
    s_from_peer(f, peer, frames, 1);
}

/* A Fetched from `peer` (unasked: within its budget) of the Lock on
   (`sequencer`, `height`, `certified`), with `bytes` as its payload. */
static void s_send_fetched(f_t *f, int peer, int sequencer, uint64_t height, const char *certified,
                           bool forge, const char *bytes)
{
    uint8_t entries[4 * OB_CERT_ENTRY_LEN];
    ob_fetched_t fetched = {.has_payload = bytes != NULL};
    fetched.lock.chunk = s_chunk(f, sequencer, height, certified);
    fetched.lock.epoch = 1;
    fetched.lock.cert = s_cert(f, &fetched.lock.chunk, forge, entries);
    uint8_t frame[2 + 1 + F_LOCK_MAX];
    size_t len = 0;
    assert_int_equal(ob_peer_fetched_frame_encode(&fetched, frame, sizeof frame, &len), 0);
    ob_frame_t frames[2] = {{frame, len}, {(const uint8_t *)bytes, bytes ? strlen(bytes) : 0}};
    s_from_peer(f, peer, frames, bytes ? 2 : 1);
}

/* --- what the node did -------------------------------------------------- */

/* Drops of `why`, by every actor (they all report to the journal). */
static uint64_t s_dropped(f_t *f, ob_error_t why)
{
    return ob_journal_stats(f->journal)->dropped[why];
}

static bool s_blocked(f_t *f, int peer)
{
    return ob_net_peer_blocked(f->net, s_key(f, peer), NULL, NULL);
}

/* Nobody asked for a block, and net blocks no one. */
static void s_assert_no_block(f_t *f)
{
    assert_int_equal(f->asked_count, 0);
    assert_int_equal(f->started_count, 0);
    for (int k = 1; k < 4; k++)
        assert_false(s_blocked(f, k));
}

/* Exactly one block was asked, by `by`, of `peer` for `why`; net blocks
   that peer alone. */
static void s_assert_one_block(f_t *f, ob_party_t by, int peer, ob_error_t why)
{
    assert_int_equal(f->asked_count, 1);
    assert_int_equal(f->asked[0].by, by);
    assert_memory_equal(f->asked[0].peer, s_key(f, peer), 32);
    assert_string_equal(ob_error_name(f->asked[0].why), ob_error_name(why));
    assert_int_equal(f->started_count, 1);
    assert_memory_equal(f->started[0].peer, s_key(f, peer), 32);
    assert_int_equal(f->started[0].why, why);
    ob_error_t reason = OB_OK;
    for (int k = 1; k < 4; k++)
        assert_int_equal(s_blocked(f, k), k == peer);
    assert_true(ob_net_peer_blocked(f->net, s_key(f, peer), &reason, NULL));
    assert_int_equal(reason, why);
}

/* Evidence rows of `kind` held against `sequencer`. */
static int64_t s_evidence(f_t *f, int sequencer, ob_evidence_kind_t kind)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int64_t n = -1;
    assert_int_equal(sqlite3_open_v2(f->journal_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM evidence WHERE sequencer = ? AND kind = ?", -1,
                           &stmt, NULL) == SQLITE_OK &&
        sqlite3_bind_blob(stmt, 1, s_key(f, sequencer), 32, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_int(stmt, 2, (int)kind) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

/* --- the tests --------------------------------------------------------- */

/* S equivocates at height 0. Q relays S's second node: it is dropped
   before any check of its signature (Q is not its sequencer), and Q,
   which signed nothing of it, is not blocked. Q's Fetched of a
   certificate on the second payload is evidence against S, kept, and
   blocks no one: the certificate verifies, and it is not S's own link.
   Only when S itself sends the second node is S blocked, by the journal,
   which alone holds the first. */
static void test_equivocation_blocks_only_its_sequencer(void **state)
{
    f_t *f = *state;
    s_send_genesis(f, S, S, "first");
    assert_int_equal(ob_journal_stats(f->journal)->nodes_accepted, 1);

    uint64_t checks = ob_verifier_stats(f->verifier)->signature_checks;
    s_send_genesis(f, Q, S, "second");
    assert_int_equal(s_dropped(f, OB_ERR_PEER_MISMATCH), 1);
    assert_int_equal(ob_verifier_stats(f->verifier)->signature_checks, checks);
    s_assert_no_block(f);

    s_send_fetched(f, Q, S, 0, "second", false, "second");
    assert_int_equal(s_evidence(f, S, OB_EVIDENCE_CERTIFIED_CONFLICT), 1);
    assert_int_equal(ob_journal_stats(f->journal)->evidence, 1);
    s_assert_no_block(f);

    s_send_genesis(f, S, S, "second");
    assert_int_equal(s_evidence(f, S, OB_EVIDENCE_CONFLICTING_NODES), 1);
    assert_int_equal(ob_journal_stats(f->journal)->evidence, 2);
    assert_int_equal(ob_journal_stats(f->journal)->blocks_asked, 1);
    s_assert_one_block(f, OB_PARTY_JOURNAL, S, OB_ERR_CHUNK_MISMATCH);

    /* Blocked: S's nodes are not read, and the block ends after block_ms. */
    s_send_genesis(f, S, S, "third");
    assert_int_equal(s_dropped(f, OB_ERR_BLOCKED), 1);
    f->now += F_BLOCK_MS;
    assert_false(s_blocked(f, S));
}

/* A sequencer's node that conflicts with a certificate held, not with a
   node: evidence, and no block, even from the sequencer's own link (the
   certificate is others' signatures). */
static void test_certificate_evidence_blocks_no_one(void **state)
{
    f_t *f = *state;
    s_send_fetched(f, Q, S, 0, "certified", false, "certified");
    assert_int_equal(ob_journal_stats(f->journal)->fetched_new, 1);
    s_send_genesis(f, S, S, "other");
    assert_int_equal(s_evidence(f, S, OB_EVIDENCE_CERTIFIED_CONFLICT), 1);
    assert_int_equal(s_evidence(f, S, OB_EVIDENCE_CONFLICTING_NODES), 0);
    assert_int_equal(ob_journal_stats(f->journal)->blocks_asked, 0);
    s_assert_no_block(f);
}

/* S's node with its own signature broken: from Q it is Q's relay and
   blocks nobody; from S it blocks S. A node of S whose own signature is
   good but whose parent certificate carries a bad signature blocks no
   one either: S did not sign the certificate. */
static void test_bad_node_signature(void **state)
{
    f_t *f = *state;
    ob_node_t node = s_node(f, S, 0, "zero", NULL, false, NULL);
    node.signature[17] ^= 0x01;
    s_send_node(f, Q, &node, "zero");
    assert_int_equal(s_dropped(f, OB_ERR_PEER_MISMATCH), 1);
    s_assert_no_block(f);

    uint8_t entries[4 * OB_CERT_ENTRY_LEN];
    ob_node_t child = s_node(f, S, 1, "one", "zero", true, entries);
    s_send_node(f, S, &child, "one");
    assert_int_equal(s_dropped(f, OB_ERR_BAD_SIGNATURE), 1);
    s_assert_no_block(f);

    s_send_node(f, S, &node, "zero");
    assert_int_equal(s_dropped(f, OB_ERR_BAD_SIGNATURE), 2);
    assert_int_equal(ob_verifier_stats(f->verifier)->blocks_node, 1);
    s_assert_one_block(f, OB_PARTY_VERIFIER, S, OB_ERR_BAD_SIGNATURE);
}

/* P's ack under its own index with a signature that fails blocks P; the
   same ack relayed by Q, and Q's own genuine acks, block nobody. */
static void test_bad_own_ack_blocks_its_sender(void **state)
{
    f_t *f = *state;
    s_send_genesis(f, S, S, "zero");
    ob_chunk_t chunk = s_chunk(f, S, 0, "zero");
    ob_ack_t bad = s_ack(f, P, &chunk, 1);
    bad.signature[40] ^= 0x02;

    s_send_ack(f, Q, &bad);
    assert_int_equal(s_dropped(f, OB_ERR_PEER_MISMATCH), 1);
    ob_ack_t good = s_ack(f, Q, &chunk, 1);
    s_send_ack(f, Q, &good);
    assert_int_equal(ob_verifier_stats(f->verifier)->acks_passed, 1);
    s_assert_no_block(f);

    s_send_ack(f, P, &bad);
    assert_int_equal(s_dropped(f, OB_ERR_BAD_SIGNATURE), 1);
    assert_int_equal(ob_verifier_stats(f->verifier)->blocks_ack, 1);
    s_assert_one_block(f, OB_PARTY_VERIFIER, P, OB_ERR_BAD_SIGNATURE);

    /* Its genuine ack is not heard now. */
    ob_ack_t genuine = s_ack(f, P, &chunk, 1);
    s_send_ack(f, P, &genuine);
    assert_int_equal(s_dropped(f, OB_ERR_BLOCKED), 1);
    assert_int_equal(ob_verifier_stats(f->verifier)->acks_passed, 1);
}

/* Acks held below a quorum are verified later, together: the one that
   fails blocks the peer that sent it, not the one whose ack came last
   or made the group's verification due. */
static void test_held_bad_ack_blocks_its_sender(void **state)
{
    f_t *f = *state;
    ob_verifier_set_hold(f->verifier, 50);
    s_send_genesis(f, S, S, "zero");
    ob_chunk_t chunk = s_chunk(f, S, 0, "zero");
    ob_ack_t bad = s_ack(f, P, &chunk, 1);
    bad.signature[3] ^= 0x40;
    s_send_ack(f, P, &bad);
    assert_int_equal(ob_verifier_stats(f->verifier)->acks_held, 1);
    s_assert_no_block(f);
    f->now += 50;
    s_tick_verifier(f);
    assert_int_equal(ob_verifier_stats(f->verifier)->held_timeouts, 1);
    s_assert_one_block(f, OB_PARTY_VERIFIER, P, OB_ERR_BAD_SIGNATURE);

    /* Held again, verified when another's ack makes a quorum pending:
       the block is P's again, none Q's. */
    f->now += F_BLOCK_MS;
    ob_chunk_t next = s_chunk(f, P, 0, "p-zero");
    ob_ack_t bad_next = s_ack(f, S, &next, 1);
    bad_next.signature[5] ^= 0x01;
    s_send_ack(f, S, &bad_next);
    assert_int_equal(f->asked_count, 1);
    ob_ack_t good = s_ack(f, Q, &next, 1);
    s_send_ack(f, Q, &good);
    assert_int_equal(ob_verifier_stats(f->verifier)->held_at_quorum, 1);
    assert_int_equal(f->asked_count, 2);
    assert_memory_equal(f->asked[1].peer, s_key(f, S), 32);
    assert_int_equal(ob_verifier_stats(f->verifier)->blocks_ack, 2);
    assert_true(s_blocked(f, S));
    assert_false(s_blocked(f, Q));
}

/* Payload bytes that do not hash to the digest, in a node from its own
   sequencer or in a Fetched whose certificate verifies: dropped as
   payload_mismatch, and never a block (the bytes may be the sender's
   corrupted storage, and no signature covers them). */
static void test_payload_mismatch_never_blocks(void **state)
{
    f_t *f = *state;
    ob_node_t node = s_node(f, S, 0, "zero", NULL, false, NULL);
    s_send_node(f, S, &node, "not zero");
    s_send_fetched(f, Q, P, 0, "certified", false, "not what was certified");
    assert_int_equal(s_dropped(f, OB_ERR_PAYLOAD_MISMATCH), 2);
    s_assert_no_block(f);
    /* Against that, the same Fetched with a forged certificate blocks Q. */
    s_send_fetched(f, Q, P, 0, "certified", true, "certified");
    s_assert_one_block(f, OB_PARTY_VERIFIER, Q, OB_ERR_BAD_SIGNATURE);
}

/* Items of an epoch this node's manifest does not hold yet, whatever
   their signatures: an ack (here with a signature that fails), a node
   whose parent is certified in it, a Fetched of its Lock. Dropped as
   unknown_epoch, and never a block: the age of our manifest is no proof
   against the sender. */
static void test_lagging_manifest_never_blocks(void **state)
{
    f_t *f = *state;
    ob_chunk_t chunk = s_chunk(f, S, 0, "zero");
    ob_ack_t ack = s_ack(f, P, &chunk, 9);
    ack.signature[0] ^= 0x01;
    s_send_ack(f, P, &ack);

    uint8_t entries[4 * OB_CERT_ENTRY_LEN];
    ob_node_t node = s_node(f, S, 1, "one", "zero", false, entries);
    node.parent.epoch = 9;
    s_send_node(f, S, &node, "one");

    ob_fetched_t fetched = {.has_payload = false};
    fetched.lock.chunk = chunk;
    fetched.lock.epoch = 9;
    fetched.lock.cert = s_cert(f, &chunk, true, entries);
    uint8_t frame[2 + 1 + F_LOCK_MAX];
    size_t len = 0;
    assert_int_equal(ob_peer_fetched_frame_encode(&fetched, frame, sizeof frame, &len), 0);
    ob_frame_t frames[1] = {{frame, len}};
    s_from_peer(f, Q, frames, 1);

    assert_int_equal(s_dropped(f, OB_ERR_UNKNOWN_EPOCH), 3);
    s_assert_no_block(f);
}

/* Genuine acks out of the bounds: of an epoch above the current one's
   bounds, and of a height far above the tip. The signer judges the
   bounds (slightly stale views only cost spam bounds, SPEC §4), and
   nothing it drops blocks anyone. */
static void test_ack_bounds_never_block(void **state)
{
    f_t *f = *state;
    s_send_genesis(f, S, S, "zero");
    ob_chunk_t chunk = s_chunk(f, S, 0, "zero");
    ob_ack_t later = s_ack(f, P, &chunk, 2);
    s_send_ack(f, P, &later);
    ob_chunk_t far = s_chunk(f, S, 50, "far");
    ob_ack_t high = s_ack(f, P, &far, 1);
    s_send_ack(f, P, &high);

    const ob_signer_stats_t *signer = ob_signer_stats(f->signer);
    assert_int_equal(signer->acks_dropped[OB_ERR_ACK_EPOCH_BOUNDS], 1);
    assert_int_equal(signer->acks_dropped[OB_ERR_ACK_HEIGHT_BOUNDS], 1);
    assert_int_equal(s_dropped(f, OB_ERR_ACK_EPOCH_BOUNDS), 1);
    assert_int_equal(s_dropped(f, OB_ERR_ACK_HEIGHT_BOUNDS), 1);
    s_assert_no_block(f);
}

#define F_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        F_TEST(test_equivocation_blocks_only_its_sequencer),
        F_TEST(test_certificate_evidence_blocks_no_one),
        F_TEST(test_bad_node_signature),
        F_TEST(test_bad_own_ack_blocks_its_sender),
        F_TEST(test_held_bad_ack_blocks_its_sender),
        F_TEST(test_payload_mismatch_never_blocks),
        F_TEST(test_lagging_manifest_never_blocks),
        F_TEST(test_ack_bounds_never_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

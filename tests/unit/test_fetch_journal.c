/*  The journal's share of Fetching (SPEC §3, issue 11): answering a peer's
    Fetch from SQLite, committing a Fetched the verifier passed, and asking
    peers for payloads, holes and what lies above a chain that stopped
    growing. The real handler on a real SQLite file, fed through the imsg
    codec with a clock the tests set; plus the store queries it rests on.

    The node is key 0 of tu_four (epoch 1: every key a validator and a
    sequencer). Its peers are keys 1, 2 and 3. */
#include "journal_fixture.h"

#include "hex.h"
#include "journal.h"
#include "journal_inspect.h"
#include "journal_store.h"
#include "log.h"
#include "outbox.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F_SLOTS     64
#define F_SLOT_SIZE 4096
#define F_T0        10000 /* the clock when the journal starts */
#define F_NODE_MAX  (OB_GENESIS_NODE_LEN + 32 + 8 + 2 + 4 * OB_CERT_ENTRY_LEN)

typedef tj_journal_t f_fixture_t;

static int s_setup(void **state)
{
    *state = tj_new("fetch-journal", F_SLOTS, F_SLOT_SIZE);
    return 0;
}

static int s_teardown(void **state)
{
    tj_destroy((tj_journal_t **)state);
    return 0;
}

static void s_open(f_fixture_t *f)
{
    tj_open(f, F_T0);
}

/* The messages of `type` for actor `to`, decoded into `msgs` (blobs view
   the outbox); how many there are. */
static size_t s_collect(f_fixture_t *f, ob_actor_t to, ob_imsg_type_t type, ob_imsg_t *msgs,
                        size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        if (e->kind != OB_DEST_ACTOR || e->actor != to)
            continue;
        ob_imsg_t msg;
        assert_int_equal(ob_imsg_decode(&msg, ob_outbox_bytes(f->out, e), e->len), OB_OK);
        if (msg.type != type)
            continue;
        if (n < cap && msgs)
            msgs[n] = msg;
        n++;
    }
    return n;
}

static size_t s_sent(f_fixture_t *f, ob_actor_t to, ob_imsg_type_t type)
{
    return s_collect(f, to, type, NULL, 0);
}

/* --- what the tests build ------------------------------------------------ */

/* A verified node of `sequencer` at `height` over "p<height>", its parent
   certified, its payload in a slot the verifier hands on. */
static void s_node_at(f_fixture_t *f, int sequencer, uint64_t height, uint64_t now)
{
    char p[32], q[32];
    ob_node_t node = {.chunk = tj_chunk(f, sequencer, height, tj_payload(height, p))};
    uint8_t entries[4 * OB_CERT_ENTRY_LEN];
    if (height > 0) {
        ob_chunk_t parent = tj_chunk(f, sequencer, height - 1, tj_payload(height - 1, q));
        node.has_parent = true;
        memcpy(node.parent.digest, parent.payload, 32);
        node.parent.epoch = 1;
        node.parent.cert = tj_cert(f, &parent, entries);
    }
    assert_int_equal(ob_chunk_sign(f->four.crypto, &f->four.ns, &f->four.keys[sequencer],
                                   &node.chunk, NULL, node.signature),
                     0);
    uint8_t bytes[F_NODE_MAX];
    size_t len = 0;
    assert_int_equal(ob_node_encode(&node, bytes, sizeof bytes, &len), 0);
    ob_imsg_t msg = {.type = OB_IMSG_NODE_VERIFIED};
    msg.u.node_verified.node = (ob_blob_t){bytes, (uint32_t)len};
    assert_int_equal(ob_arena_put(f->arena, f->four.crypto, OB_ACTOR_VERIFIER, p,
                                  (uint32_t)strlen(p), &msg.u.node_verified.payload),
                     0);
    tj_deliver(f, &msg, now);
}

/* Nodes 0..top of `sequencer`: certificates 0..top-1 with their bytes. */
static void s_chain_of_nodes(f_fixture_t *f, int sequencer, uint64_t top)
{
    for (uint64_t h = 0; h <= top; h++)
        s_node_at(f, sequencer, h, F_T0);
}

/* A Fetched the verifier passed, from `peer`, with `payload` in a slot
   (NULL: without payload). */
static void s_fetched_at(f_fixture_t *f, int peer, int sequencer, uint64_t height,
                         const char *certified, const char *payload, uint64_t now)
{
    uint8_t bytes[TJ_LOCK_MAX];
    size_t len = tj_lock(f, sequencer, height, certified, bytes);
    ob_imsg_t msg = {.type = OB_IMSG_FETCHED_VERIFIED};
    memcpy(msg.u.fetched_verified.peer, tj_key(f, peer), 32);
    msg.u.fetched_verified.lock = (ob_blob_t){bytes, (uint32_t)len};
    if (payload) {
        msg.u.fetched_verified.has_payload = true;
        assert_int_equal(ob_arena_put(f->arena, f->four.crypto, OB_ACTOR_VERIFIER, payload,
                                      (uint32_t)strlen(payload), &msg.u.fetched_verified.payload),
                         0);
    }
    tj_deliver(f, &msg, now);
}

static void s_fetched(f_fixture_t *f, int sequencer, uint64_t height, bool with_payload)
{
    char p[32];
    tj_payload(height, p);
    s_fetched_at(f, 1, sequencer, height, p, with_payload ? p : NULL, F_T0);
}

static void s_peer_fetch(f_fixture_t *f, int sequencer, uint64_t height, uint16_t count)
{
    ob_imsg_t msg = {.type = OB_IMSG_PEER_FETCH};
    memcpy(msg.u.peer_fetch.peer, tj_key(f, 2), 32);
    memcpy(msg.u.peer_fetch.sequencer, tj_key(f, sequencer), 32);
    msg.u.peer_fetch.height = height;
    msg.u.peer_fetch.count = count;
    tj_deliver(f, &msg, F_T0);
}

/* The certificates the journal's file holds, read beside it. */
static int64_t s_locks_held(f_fixture_t *f)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int64_t n = -1;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM certificate", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

/* `obcast export --data` of the journal's file, as one string. */
static char *s_export(f_fixture_t *f)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    ob_why_t why = {{0}};
    int rc = ob_journal_export(f->path, f->four.epochs, true, out, &why);
    fclose(out);
    if (rc != 0)
        fail_msg("export: %s", why.text);
    return text;
}

/* The Fetched sent: each one's height and whether its payload came, the
   slot's bytes checked against "p<height>" and released as net would. */
typedef struct {
    uint64_t height;
    bool has_payload;
} f_served_t;

static size_t s_served(f_fixture_t *f, f_served_t *served, size_t cap)
{
    ob_imsg_t msgs[80];
    size_t n = s_collect(f, OB_ACTOR_NET, OB_IMSG_SEND_FETCHED, msgs, 80);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        const ob_imsg_send_fetched_t *m = &msgs[i].u.send_fetched;
        assert_memory_equal(m->peer, tj_key(f, 2), 32);
        ob_lock_t lock;
        ob_epoch_lookup_t lookup = ob_epochs_lookup(f->four.epochs);
        assert_int_equal(ob_lock_decode(&lock, m->lock.data, m->lock.len, &lookup), OB_OK);
        served[i] = (f_served_t){lock.chunk.height, m->has_payload};
        if (!m->has_payload)
            continue;
        char p[32];
        tj_payload(lock.chunk.height, p);
        assert_memory_equal(m->payload.digest, lock.chunk.payload, 32);
        const uint8_t *bytes = ob_arena_get(f->arena, &m->payload);
        assert_non_null(bytes);
        assert_int_equal(m->payload.len, strlen(p));
        assert_memory_equal(bytes, p, strlen(p));
        assert_int_equal(ob_arena_take(f->arena, &m->payload, OB_ACTOR_NET), 0);
        assert_int_equal(ob_arena_release(f->arena, &m->payload, OB_ACTOR_NET), 0);
    }
    return n;
}

/* The Fetch requests sent: kind-agnostic (sequencer key number, from,
   count, peer key number). */
typedef struct {
    int sequencer, peer;
    uint64_t from;
    uint16_t count;
} f_asked_t;

static size_t s_asked(f_fixture_t *f, f_asked_t *asked, size_t cap)
{
    ob_imsg_t msgs[80];
    size_t n = s_collect(f, OB_ACTOR_NET, OB_IMSG_SEND_FETCH, msgs, 80);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        const ob_imsg_send_fetch_t *m = &msgs[i].u.send_fetch;
        asked[i] = (f_asked_t){tj_key_number(f, m->sequencer), tj_key_number(f, m->peer), m->height,
                               m->count};
        assert_true(asked[i].peer != 0); /* never itself */
        assert_true(m->count >= 1 && m->count <= 64);
    }
    return n;
}

static const f_asked_t *s_find(const f_asked_t *asked, size_t n, int sequencer, uint64_t from)
{
    for (size_t i = 0; i < n; i++)
        if (asked[i].sequencer == sequencer && asked[i].from == from)
            return &asked[i];
    return NULL;
}

/* ======================================================================= */
/* the store                                                                */
/* ======================================================================= */

typedef struct {
    uint64_t from[8], to[8];
    size_t n;
} f_spans_t;

static void s_span(void *ctx, const uint8_t sequencer[32], uint64_t from, uint64_t to)
{
    f_spans_t *s = ctx;
    (void)sequencer;
    assert_true(s->n < 8);
    s->from[s->n] = from;
    s->to[s->n++] = to;
}

typedef struct {
    uint64_t heights[8];
    bool held[8];
    size_t n;
} f_rows_t;

static void s_row(void *ctx, uint64_t height, const uint8_t *lock, size_t lock_len,
                  const uint8_t *payload, size_t payload_len, bool held)
{
    f_rows_t *r = ctx;
    assert_true(r->n < 8 && lock && lock_len > 0);
    assert_true(held == (payload != NULL) && (held || payload_len == 0));
    r->heights[r->n] = height;
    r->held[r->n++] = held;
}

/* Certificates at 0, 1, 5 and 9, a second one at 5, bytes for 1 only:
   the range query gives each height once, ascending, with its bytes;
   spans, gaps and the payloads missing are what recovery needs. */
static void test_store_queries_for_fetching(void **state)
{
    f_fixture_t *f = *state;
    ob_why_t why = {{0}};
    ob_journal_store_t *store = ob_journal_store_open(f->path, OB_DB_SYNC_NORMAL, &why);
    assert_non_null(store);
    assert_int_equal(ob_journal_store_begin(store), 0);
    uint64_t heights[] = {0, 1, 5, 9};
    for (size_t i = 0; i < 4; i++) {
        char p[32];
        uint8_t bytes[TJ_LOCK_MAX];
        size_t len = tj_lock(f, 1, heights[i], tj_payload(heights[i], p), bytes);
        ob_chunk_t c = tj_chunk(f, 1, heights[i], p);
        assert_int_equal(ob_journal_store_put_certificate(store, c.sequencer, c.height, c.payload,
                                                          1, bytes, len),
                         1);
        if (heights[i] == 1)
            assert_int_equal(
                ob_journal_store_put_payload(store, c.payload, (const uint8_t *)p, strlen(p)), 0);
        if (heights[i] == 5) {
            uint8_t other[TJ_LOCK_MAX];
            size_t other_len = tj_lock(f, 1, 5, "other", other);
            ob_chunk_t o = tj_chunk(f, 1, 5, "other");
            assert_int_equal(ob_journal_store_put_certificate(store, o.sequencer, 5, o.payload, 1,
                                                              other, other_len),
                             1);
        }
    }
    assert_int_equal(ob_journal_store_commit(store), 0);

    f_rows_t rows = {0};
    assert_int_equal(ob_journal_store_certificate_range(store, tj_key(f, 1), 1, 8, s_row, &rows),
                     0);
    assert_int_equal(rows.n, 2);
    assert_int_equal(rows.heights[0], 1);
    assert_true(rows.held[0]);
    assert_int_equal(rows.heights[1], 5);
    assert_false(rows.held[1]);

    uint8_t *lock = NULL;
    size_t len = 0;
    assert_int_equal(
        ob_journal_store_highest_certificate_above(store, tj_key(f, 1), 5, &lock, &len), 1);
    ob_lock_t decoded;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(f->four.epochs);
    assert_int_equal(ob_lock_decode(&decoded, lock, len, &lookup), OB_OK);
    assert_int_equal(decoded.chunk.height, 9);
    free(lock);
    assert_int_equal(
        ob_journal_store_highest_certificate_above(store, tj_key(f, 1), 9, &lock, &len), 0);

    f_spans_t spans = {0};
    assert_int_equal(ob_journal_store_certificate_spans(store, s_span, &spans), 0);
    assert_int_equal(spans.n, 1);
    assert_int_equal(spans.from[0], 0);
    assert_int_equal(spans.to[0], 9);
    f_spans_t gaps = {0};
    assert_int_equal(ob_journal_store_certificate_gaps(store, s_span, &gaps), 0);
    assert_int_equal(gaps.n, 2);
    assert_int_equal(gaps.from[0], 2);
    assert_int_equal(gaps.to[0], 4);
    assert_int_equal(gaps.from[1], 6);
    assert_int_equal(gaps.to[1], 8);
    /* Missing bytes: 0, 5 (twice: both certificates), 9; with retention 4
       only those within 4 of 9. */
    f_spans_t missing = {0};
    assert_int_equal(ob_journal_store_certificates_without_payload(store, 0, s_span, &missing), 0);
    assert_int_equal(missing.n, 4);
    assert_int_equal(missing.from[0], 0);
    assert_int_equal(missing.from[3], 9);
    f_spans_t recent = {0};
    assert_int_equal(ob_journal_store_certificates_without_payload(store, 4, s_span, &recent), 0);
    assert_int_equal(recent.n, 3);
    assert_int_equal(recent.from[0], 5);
    ob_journal_store_destroy(&store);
}

/* ======================================================================= */
/* answering                                                                */
/* ======================================================================= */

/* Nodes 0..4 give certificates 0..3 with bytes: a Fetch of exactly those
   gets all four, ascending, each with its bytes, and no marker. */
static void test_serve_range_fully_held(void **state)
{
    f_fixture_t *f = *state;
    s_open(f);
    s_chain_of_nodes(f, 1, 4);
    uint32_t in_use = ob_arena_in_use(f->arena);
    s_peer_fetch(f, 1, 0, 4);
    f_served_t served[8];
    assert_int_equal(s_served(f, served, 8), 4);
    for (uint64_t h = 0; h < 4; h++) {
        assert_int_equal(served[h].height, h);
        assert_true(served[h].has_payload);
    }
    assert_int_equal(ob_arena_in_use(f->arena), in_use);
    assert_int_equal(ob_journal_stats(f->journal)->fetched_sent_payload, 4);
    assert_int_equal(ob_journal_stats(f->journal)->fetched_sent_bare, 0);
    /* A range past them ends where the chain does, with no marker. */
    s_peer_fetch(f, 1, 2, 64);
    assert_int_equal(s_served(f, served, 8), 2);
    assert_int_equal(served[0].height, 2);
    assert_int_equal(served[1].height, 3);
}

/* A range holding part of the chain, then the highest above it, bare; a
   range above all of it gets nothing. */
static void test_serve_partly_held_with_the_highest_marker(void **state)
{
    f_fixture_t *f = *state;
    s_open(f);
    s_chain_of_nodes(f, 1, 4);
    tj_certified(f, 1, 9, F_T0); /* above a hole, without its bytes */
    s_peer_fetch(f, 1, 1, 2);
    f_served_t served[8];
    assert_int_equal(s_served(f, served, 8), 3);
    assert_int_equal(served[0].height, 1);
    assert_true(served[0].has_payload);
    assert_int_equal(served[1].height, 2);
    assert_true(served[1].has_payload);
    assert_int_equal(served[2].height, 9);
    assert_false(served[2].has_payload);
    /* Nothing held in 5..8: only the marker. */
    s_peer_fetch(f, 1, 5, 4);
    assert_int_equal(s_served(f, served, 8), 1);
    assert_int_equal(served[0].height, 9);
    s_peer_fetch(f, 1, 10, 64);
    assert_int_equal(ob_outbox_count(f->out), 0);
}

/* Nothing of that sequencer held: nothing at all. A count outside 1..64
   is refused by name. */
static void test_serve_nothing_held_and_the_count_bound(void **state)
{
    f_fixture_t *f = *state;
    s_open(f);
    s_chain_of_nodes(f, 1, 2);
    s_peer_fetch(f, 2, 0, 64);
    assert_int_equal(ob_outbox_count(f->out), 0);
    s_peer_fetch(f, 1, 0, 65);
    assert_int_equal(ob_outbox_count(f->out), 0);
    s_peer_fetch(f, 1, 0, 0);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(ob_journal_stats(f->journal)->dropped[OB_ERR_FETCH_COUNT], 2);
    /* A height beyond what SQLite stores: nothing, and no failure. */
    s_peer_fetch(f, 1, UINT64_MAX - 3, 64);
    assert_int_equal(ob_outbox_count(f->out), 0);
}

/* Under retention 2, the bytes of old heights are pruned: those go
   without payload, the recent ones with. */
static void test_serve_pruned_payload_goes_without(void **state)
{
    f_fixture_t *f = *state;
    f->params.retention = 2;
    s_open(f);
    s_chain_of_nodes(f, 1, 10); /* certificates 0..9 */
    assert_true(ob_journal_stats(f->journal)->payloads_pruned > 0);
    s_peer_fetch(f, 1, 0, 10);
    f_served_t served[16];
    assert_int_equal(s_served(f, served, 16), 10);
    for (uint64_t h = 0; h < 10; h++) {
        assert_int_equal(served[h].height, h);
        assert_int_equal(served[h].has_payload, h >= 7);
    }
}

/* Bytes held that no longer hash to the certificate's digest are never
   served: the Lock goes without them, and it is counted. */
static void test_serve_corrupt_payload_goes_without(void **state)
{
    f_fixture_t *f = *state;
    s_open(f);
    s_chain_of_nodes(f, 1, 2);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    ob_chunk_t c = tj_chunk(f, 1, 0, "p0");
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "UPDATE payload SET data = 'xx' WHERE digest = ?1", -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, c.payload, 32, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    uint32_t in_use = ob_arena_in_use(f->arena);
    s_peer_fetch(f, 1, 0, 2);
    f_served_t served[4];
    assert_int_equal(s_served(f, served, 4), 2);
    assert_false(served[0].has_payload);
    assert_true(served[1].has_payload);
    assert_int_equal(ob_journal_stats(f->journal)->fetched_sent_corrupt, 1);
    assert_int_equal(ob_arena_in_use(f->arena), in_use);
}

/* ======================================================================= */
/* receiving                                                                */
/* ======================================================================= */

/* A new Lock is committed and reported once, with its bytes; no tip moves
   and no ack is asked. The same again costs nothing. Every slot goes back. */
static void test_receive_new_lock_once(void **state)
{
    f_fixture_t *f = *state;
    s_open(f);
    s_fetched(f, 1, 5, true);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 1);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_ACK), 0);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_TIP_CHANGED), 0);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_APP_VERIFY), 0);
    uint64_t height;
    uint8_t payload[32];
    assert_false(ob_journal_tip(f->journal, tj_key(f, 1), &height, payload));
    assert_int_equal(s_locks_held(f), 1);
    const ob_journal_stats_t *st = ob_journal_stats(f->journal);
    assert_int_equal(st->fetched_new, 1);
    assert_int_equal(st->fetched_payload_stored, 1);
    assert_int_equal(st->acks_requested, 0);
    assert_int_equal(ob_arena_in_use(f->arena), 0);

    s_fetched(f, 1, 5, true);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(st->fetched_duplicate, 1);
    assert_int_equal(st->fetched_new, 1);
    assert_int_equal(st->fetched_payload_stored, 1);
    assert_int_equal(s_locks_held(f), 1);
    assert_int_equal(ob_arena_in_use(f->arena), 0);

    /* What was fetched is served like anything else, bytes and all, and
       exported as a certified chunk with its data. */
    s_peer_fetch(f, 1, 5, 1);
    f_served_t served[2];
    assert_int_equal(s_served(f, served, 2), 1);
    assert_true(served[0].has_payload);
    char *text = s_export(f);
    char hex[8], data[32], sequencer[65];
    ob_hex_encode((const uint8_t *)"p5", 2, hex);
    snprintf(data, sizeof data, "\"data\":\"%s\"", hex);
    ob_hex_encode(tj_key(f, 1), 32, sequencer);
    assert_non_null(strstr(text, sequencer));
    assert_non_null(strstr(text, "\"height\":5,"));
    assert_non_null(strstr(text, data));
    assert_null(strstr(text, "data_pruned"));
    free(text);
}

/* A Lock held without its bytes: a Fetched with them stores them (no new
   Lock reported); one without them changes nothing. */
static void test_receive_payload_for_a_held_lock(void **state)
{
    f_fixture_t *f = *state;
    s_open(f);
    tj_certified(f, 1, 3, F_T0);
    s_fetched(f, 1, 3, false);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(ob_journal_stats(f->journal)->fetched_duplicate, 1);
    s_fetched(f, 1, 3, true);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 0);
    assert_int_equal(ob_journal_stats(f->journal)->fetched_payload_stored, 1);
    assert_int_equal(ob_journal_stats(f->journal)->fetched_new, 0);
    s_peer_fetch(f, 1, 3, 1);
    f_served_t served[2];
    assert_int_equal(s_served(f, served, 2), 1);
    assert_true(served[0].has_payload);
}

/* A certificate on another payload than the one held at that height is
   evidence; the first stays, nothing is reported as a Lock, no bytes
   stored. */
static void test_receive_conflicting_lock_is_evidence(void **state)
{
    f_fixture_t *f = *state;
    s_open(f);
    tj_certified(f, 1, 3, F_T0);
    s_fetched_at(f, 1, 1, 3, "forked", "forked", F_T0);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_EVIDENCE), 1);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 0);
    const ob_journal_stats_t *st = ob_journal_stats(f->journal);
    assert_int_equal(st->evidence, 1);
    assert_int_equal(st->fetched_conflicting, 1);
    assert_int_equal(st->fetched_payload_stored, 0);
    assert_int_equal(s_locks_held(f), 1);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

/* Under retention 2 with the certified tip at 10, a fetched Lock at 3 is
   committed and reported, its bytes are not kept; one at 9 keeps them. */
static void test_receive_payload_outside_retention_not_stored(void **state)
{
    f_fixture_t *f = *state;
    f->params.retention = 2;
    s_open(f);
    tj_certified(f, 1, 10, F_T0);
    s_fetched(f, 1, 3, true);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 1);
    const ob_journal_stats_t *st = ob_journal_stats(f->journal);
    assert_int_equal(st->fetched_new, 1);
    assert_int_equal(st->fetched_outside_retention, 1);
    assert_int_equal(st->fetched_payload_stored, 0);
    s_fetched(f, 1, 9, true);
    assert_int_equal(st->fetched_payload_stored, 1);
    s_peer_fetch(f, 1, 3, 7);
    f_served_t served[8];
    assert_int_equal(s_served(f, served, 8), 3);
    assert_int_equal(served[0].height, 3);
    assert_false(served[0].has_payload);
    assert_int_equal(served[1].height, 9);
    assert_true(served[1].has_payload);
    assert_int_equal(served[2].height, 10); /* the marker */
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

/* ======================================================================= */
/* asking                                                                   */
/* ======================================================================= */

/* Nothing held at all: each other sequencer's chain is probed from 0 once
   it has not grown for a rebroadcast timeout, not before, each from the
   next peer in turn; and again a timeout later, from other peers. */
static void test_ask_probes_a_stalled_chain_after_the_timeout(void **state)
{
    f_fixture_t *f = *state;
    s_open(f);
    uint64_t timeout = f->params.rebroadcast_timeout_ms;
    tj_tick(f, F_T0 + timeout - 1);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    assert_true(ob_journal_next_deadline(f->journal) <= F_T0 + timeout);
    tj_tick(f, F_T0 + timeout);
    f_asked_t asked[8];
    assert_int_equal(s_asked(f, asked, 8), 3);
    int first_peer[4] = {0};
    bool peers_seen[4] = {false};
    for (int k = 1; k <= 3; k++) {
        const f_asked_t *a = s_find(asked, 3, k, 0);
        assert_non_null(a);
        assert_int_equal(a->count, 64);
        first_peer[k] = a->peer;
        peers_seen[a->peer] = true;
    }
    assert_true(peers_seen[1] && peers_seen[2] && peers_seen[3]); /* in turn */
    assert_int_equal(ob_journal_stats(f->journal)->fetch_asked_above, 3);
    /* Unanswered: not retried (nothing more was there), asked anew a
       timeout later, of the next peers. */
    tj_tick(f, F_T0 + timeout + f->params.fetch_retry_ms);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    tj_tick(f, F_T0 + 2 * timeout);
    assert_int_equal(s_asked(f, asked, 8), 3);
    for (int k = 1; k <= 3; k++) {
        const f_asked_t *a = s_find(asked, 3, k, 0);
        assert_non_null(a);
        assert_int_not_equal(a->peer, first_peer[k]);
    }
}

/* A chain certified to 5 here (nodes 0..6) that stops is probed from 6,
   a rebroadcast timeout after its last certificate, not before. */
static void test_ask_probe_starts_above_the_certified_height(void **state)
{
    f_fixture_t *f = *state;
    s_open(f);
    uint64_t timeout = f->params.rebroadcast_timeout_ms;
    s_chain_of_nodes(f, 1, 5);
    uint64_t last = F_T0 + 100;
    s_node_at(f, 1, 6, last); /* certificate 5 */
    tj_tick(f, F_T0 + timeout);
    f_asked_t asked[8];
    size_t n = s_asked(f, asked, 8);
    assert_null(s_find(asked, n, 1, 6));
    assert_non_null(s_find(asked, n, 2, 0)); /* the others, never grown */
    tj_tick(f, last + timeout);
    n = s_asked(f, asked, 8);
    assert_int_equal(n, 1);
    assert_non_null(s_find(asked, n, 1, 6));
    assert_int_equal(asked[0].count, 64);
}

/* A chain that grows (a node every half timeout) is never probed; the
   others are. A probe answered above the chain teaches it how far it
   went: the heights between become holes, asked as such. */
static void test_ask_live_chain_is_never_probed(void **state)
{
    f_fixture_t *f = *state;
    s_open(f);
    uint64_t timeout = f->params.rebroadcast_timeout_ms;
    size_t probes_of_1 = 0, probes_of_others = 0;
    for (uint64_t h = 0; h < 8; h++) {
        uint64_t now = F_T0 + h * timeout / 2;
        s_node_at(f, 1, h, now);
        tj_tick(f, now);
        f_asked_t asked[8];
        size_t n = s_asked(f, asked, 8);
        for (size_t i = 0; i < n; i++) {
            if (asked[i].sequencer == 1)
                probes_of_1++;
            else
                probes_of_others++;
        }
    }
    assert_int_equal(probes_of_1, 0);
    assert_true(probes_of_others >= 2);
    /* Key 2's chain: a probe's answer shows a certificate at 40. */
    s_fetched_at(f, 1, 2, 40, "p40", "p40", F_T0 + 4 * timeout);
    tj_tick(f, F_T0 + 4 * timeout);
    f_asked_t asked[8];
    size_t n = s_asked(f, asked, 8);
    const f_asked_t *hole = s_find(asked, n, 2, 0);
    assert_non_null(hole);
    assert_int_equal(hole->count, 40);
}

/* Certificates at 0, 1, 5 and 100 without their bytes: the holes go out
   as ranges (2..4, 6..69, 70..99), and the bytes of the four as ranges of
   their own. */
static void test_ask_holes_as_ranges_and_missing_payloads(void **state)
{
    f_fixture_t *f = *state;
    f->params.rebroadcast_timeout_ms = 100000; /* no probes meanwhile */
    s_open(f);
    uint64_t heights[] = {0, 1, 5, 100};
    for (size_t i = 0; i < 4; i++)
        tj_certified(f, 1, heights[i], F_T0);
    tj_tick(f, F_T0);
    f_asked_t asked[16];
    size_t n = s_asked(f, asked, 16);
    assert_int_equal(n, 6);
    const ob_journal_stats_t *st = ob_journal_stats(f->journal);
    assert_int_equal(st->fetch_asked_payload, 3);
    assert_int_equal(st->fetch_asked_hole, 3);
    assert_int_equal(st->fetch_outstanding, 6);
    /* payloads: 0..1, 5, 100; holes: 2..4, 6..69, 70..99 (duplicated
       `from` 5 and 100 are the payload ones). */
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(asked[i].sequencer, 1);
        uint64_t from = asked[i].from;
        uint16_t count = asked[i].count;
        found += (from == 0 && count == 2) + (from == 5 && count == 1) +
                 (from == 100 && count == 1) + (from == 2 && count == 3) +
                 (from == 6 && count == 64) + (from == 70 && count == 30);
    }
    assert_int_equal(found, 6);
    /* Answered, the hole 2..4 is done: its place goes to nothing new,
       and the payload of 5 is not asked again while out. */
    for (uint64_t h = 2; h <= 4; h++)
        s_fetched(f, 1, h, true);
    assert_int_equal(st->fetch_outstanding, 5);
    tj_tick(f, F_T0 + 1);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
}

/* Twenty holes (every odd height of 0..40) do not fit the table: the
   closest merge, so fewer ranges are asked, covering every hole; answered
   as a peer would (every height asked, held ones too), none is left. */
static void test_ask_holes_beyond_the_table_merge(void **state)
{
    f_fixture_t *f = *state;
    f->params.rebroadcast_timeout_ms = 100000; /* no probes meanwhile */
    f->params.fetch_outstanding = 64;
    s_open(f);
    for (uint64_t h = 0; h <= 40; h += 2)
        tj_certified(f, 1, h, F_T0);
    tj_tick(f, F_T0);
    f_asked_t asked[64];
    size_t n = s_asked(f, asked, 64);
    const ob_journal_stats_t *st = ob_journal_stats(f->journal);
    assert_true(st->fetch_asked_hole >= 1 && st->fetch_asked_hole <= 16);
    assert_true(st->fetch_asked_payload >= 1 && st->fetch_asked_payload <= 8);
    assert_int_equal(n, st->fetch_asked_hole + st->fetch_asked_payload);
    for (uint64_t h = 0; h <= 40; h++) {
        bool covered = false;
        for (size_t i = 0; i < n && !covered; i++)
            covered = asked[i].from <= h && h < asked[i].from + asked[i].count;
        assert_true(covered);
    }
    for (uint64_t h = 0; h <= 40; h++)
        s_fetched(f, 1, h, true);
    assert_int_equal(st->fetch_outstanding, 0);
    assert_int_equal(s_locks_held(f), 41);
    tj_tick(f, F_T0 + 1);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
}

/* At most fetch_outstanding out; an answer frees a place for the next. */
static void test_ask_at_most_fetch_outstanding(void **state)
{
    f_fixture_t *f = *state;
    f->params.rebroadcast_timeout_ms = 100000; /* no probes meanwhile */
    f->params.fetch_outstanding = 2;
    s_open(f);
    s_chain_of_nodes(f, 1, 1); /* bytes of 0 held */
    tj_certified(f, 1, 300, F_T0);
    tj_tick(f, F_T0);
    f_asked_t asked[8];
    assert_int_equal(s_asked(f, asked, 8), 2);
    assert_non_null(s_find(asked, 2, 1, 300)); /* its bytes */
    assert_non_null(s_find(asked, 2, 1, 1));   /* the hole from 1 */
    assert_int_equal(ob_journal_stats(f->journal)->fetch_outstanding, 2);
    tj_tick(f, F_T0 + 1);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    s_fetched_at(f, 2, 1, 300, "p300", "p300", F_T0 + 2);
    assert_int_equal(ob_journal_stats(f->journal)->fetch_outstanding, 1);
    tj_tick(f, F_T0 + 2);
    assert_int_equal(s_asked(f, asked, 8), 1);
    assert_int_equal(asked[0].from, 65); /* the hole's next range */
}

/* An unanswered request goes to another peer after fetch_retry_ms, then
   after twice that, and so on. */
static void test_ask_retry_to_another_peer_with_backoff(void **state)
{
    f_fixture_t *f = *state;
    f->params.rebroadcast_timeout_ms = 100000; /* no probes meanwhile */
    s_open(f);
    s_chain_of_nodes(f, 1, 1);
    tj_certified(f, 1, 3, F_T0); /* hole 1..2, and the bytes of 3 */
    tj_tick(f, F_T0);
    f_asked_t asked[8];
    assert_int_equal(s_asked(f, asked, 8), 2);
    const f_asked_t *hole = s_find(asked, 2, 1, 1);
    assert_non_null(hole);
    int peer = hole->peer;
    uint64_t retry = f->params.fetch_retry_ms;
    tj_tick(f, F_T0 + retry - 1);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    tj_tick(f, F_T0 + retry);
    assert_int_equal(s_asked(f, asked, 8), 2);
    hole = s_find(asked, 2, 1, 1);
    assert_non_null(hole);
    assert_int_not_equal(hole->peer, peer);
    assert_int_equal(hole->count, 2);
    peer = hole->peer;
    assert_int_equal(ob_journal_stats(f->journal)->fetch_retries, 2);
    /* Backed off: not at one more retry_ms, at two. */
    tj_tick(f, F_T0 + 2 * retry);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    tj_tick(f, F_T0 + 3 * retry);
    assert_int_equal(s_asked(f, asked, 8), 2);
    hole = s_find(asked, 2, 1, 1);
    assert_non_null(hole);
    assert_int_not_equal(hole->peer, peer);
    assert_int_equal(ob_journal_stats(f->journal)->fetch_retries, 4);
    /* Answered at last: done, nothing more for it. */
    s_fetched_at(f, hole->peer, 1, 1, "p1", "p1", F_T0 + 3 * retry);
    s_fetched_at(f, 3, 1, 2, "p2", "p2", F_T0 + 3 * retry);
    s_fetched_at(f, 3, 1, 3, "p3", "p3", F_T0 + 3 * retry);
    assert_int_equal(ob_journal_stats(f->journal)->fetch_outstanding, 0);
    tj_tick(f, F_T0 + 3 * retry + 1);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
}

/* What is missing is rebuilt from the store at start: a restarted journal
   asks for the same holes and bytes. */
static void test_ask_state_rebuilt_at_start(void **state)
{
    f_fixture_t *f = *state;
    f->params.rebroadcast_timeout_ms = 100000; /* no probes meanwhile */
    s_open(f);
    s_chain_of_nodes(f, 1, 1);
    tj_certified(f, 1, 10, F_T0);
    tj_certified(f, 1, 20, F_T0);
    s_open(f); /* closes and reopens */
    tj_tick(f, F_T0);
    f_asked_t asked[8];
    size_t n = s_asked(f, asked, 8);
    assert_int_equal(n, 4);
    const f_asked_t *a = s_find(asked, n, 1, 1);
    assert_non_null(a);
    assert_int_equal(a->count, 9); /* hole 1..9 */
    a = s_find(asked, n, 1, 11);
    assert_non_null(a);
    assert_int_equal(a->count, 9);                                          /* hole 11..19 */
    assert_int_equal(ob_journal_stats(f->journal)->fetch_asked_payload, 2); /* 10, 20 */
}

#define FJ_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FJ_TEST(test_store_queries_for_fetching),
        FJ_TEST(test_serve_range_fully_held),
        FJ_TEST(test_serve_partly_held_with_the_highest_marker),
        FJ_TEST(test_serve_nothing_held_and_the_count_bound),
        FJ_TEST(test_serve_pruned_payload_goes_without),
        FJ_TEST(test_serve_corrupt_payload_goes_without),
        FJ_TEST(test_receive_new_lock_once),
        FJ_TEST(test_receive_payload_for_a_held_lock),
        FJ_TEST(test_receive_conflicting_lock_is_evidence),
        FJ_TEST(test_receive_payload_outside_retention_not_stored),
        FJ_TEST(test_ask_probes_a_stalled_chain_after_the_timeout),
        FJ_TEST(test_ask_probe_starts_above_the_certified_height),
        FJ_TEST(test_ask_live_chain_is_never_probed),
        FJ_TEST(test_ask_holes_as_ranges_and_missing_payloads),
        FJ_TEST(test_ask_holes_beyond_the_table_merge),
        FJ_TEST(test_ask_at_most_fetch_outstanding),
        FJ_TEST(test_ask_retry_to_another_peer_with_backoff),
        FJ_TEST(test_ask_state_rebuilt_at_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

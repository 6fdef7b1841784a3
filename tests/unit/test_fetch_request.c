/*  The journal's fetch on request (SPEC §3 "Asking", "on request"): a
    client's or the application's fetch_request for the payload of one
    (sequencer, height), answered from the store, or followed: asked of
    the peers in turn, one at a time, until one gives the bytes or every
    peer was asked. The real handler on a real SQLite file, fed through the
    imsg codec with a clock the tests set. Also retention, which must
    prune fetched payloads like any others.

    The node is key 0 of tu_four (epoch 1: every key a validator and a
    sequencer); its peers are keys 1, 2 and 3. Background fetching is off
    (fetch_outstanding 0), so every Fetch sent here is one on request. */
#include "journal_fixture.h"

#include "log.h"
#include "outbox.h"
#include "submit.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_SLOTS 64
#define R_T0    50000
#define R_RETRY 100

static int r_setup(void **state)
{
    tj_journal_t *r = tj_new("fetch-request", R_SLOTS, 1024);
    r->params.fetch_outstanding = 0;
    r->params.fetch_retry_ms = R_RETRY;
    r->params.rebroadcast_timeout_ms = 1000000;
    *state = r;
    return 0;
}

static int r_teardown(void **state)
{
    tj_destroy((tj_journal_t **)state);
    return 0;
}

/* A Fetched from `peer` the verifier passed: the Lock on `certified` and
   `bytes` in a slot (NULL: none). */
static void r_fetched_on(tj_journal_t *r, int peer, int sequencer, uint64_t height,
                         const char *certified, const char *bytes, uint64_t now)
{
    uint8_t lock[TJ_LOCK_MAX];
    ob_imsg_t msg = {.type = OB_IMSG_FETCHED_VERIFIED};
    ob_imsg_fetched_verified_t *in = &msg.u.fetched_verified;
    memcpy(in->peer, tj_key(r, peer), 32);
    in->lock = (ob_blob_t){lock, (uint32_t)tj_lock(r, sequencer, height, certified, lock)};
    in->has_payload = bytes != NULL;
    if (bytes)
        assert_int_equal(ob_arena_put(r->arena, r->four.crypto, OB_ACTOR_VERIFIER, bytes,
                                      (uint32_t)strlen(bytes), &in->payload),
                         0);
    tj_deliver(r, &msg, now);
}

/* The same with the Lock on "p<height>". */
static void r_fetched(tj_journal_t *r, int peer, int sequencer, uint64_t height, const char *bytes,
                      uint64_t now)
{
    char p[32];
    r_fetched_on(r, peer, sequencer, height, tj_payload(height, p), bytes, now);
}

/* A fetch_request from a client (`client` its routing id) or, with a NULL
   one, from the application. */
static void r_request_raw(tj_journal_t *r, uint8_t origin, const char *client, uint64_t tag,
                          const uint8_t sequencer[32], uint64_t height, uint64_t now)
{
    ob_imsg_t msg = {.type = OB_IMSG_FETCH_REQUEST};
    ob_imsg_fetch_request_t *in = &msg.u.fetch_request;
    in->origin = origin;
    if (client)
        in->client = (ob_blob_t){(const uint8_t *)client, (uint32_t)strlen(client)};
    in->tag = tag;
    memcpy(in->sequencer, sequencer, 32);
    in->height = height;
    tj_deliver(r, &msg, now);
}

static void r_request(tj_journal_t *r, const char *client, uint64_t tag, int sequencer,
                      uint64_t height, uint64_t now)
{
    r_request_raw(r, client ? 0 : 1, client, tag, tj_key(r, sequencer), height, now);
}

/* The one Fetch sent: count 1 for `height` of `sequencer`; its peer. */
static int r_asked(tj_journal_t *r, int sequencer, uint64_t height)
{
    ob_imsg_t msg = tu_the(r->out, OB_ACTOR_NET, OB_IMSG_SEND_FETCH, NULL);
    const ob_imsg_send_fetch_t *ask = &msg.u.send_fetch;
    assert_int_equal(tj_key_number(r, ask->sequencer), sequencer);
    assert_int_equal(ask->height, height);
    assert_int_equal(ask->count, 1);
    int peer = tj_key_number(r, ask->peer);
    assert_int_not_equal(peer, 0);
    return peer;
}

/* The `index`th fetch_answer in the outbox, decoded (its blobs view the
   outbox). */
static ob_imsg_fetch_answer_t r_answer_at(tj_journal_t *r, size_t index)
{
    for (size_t i = 0; i < ob_outbox_count(r->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(r->out, i);
        ob_imsg_t msg;
        assert_int_equal(ob_imsg_decode(&msg, ob_outbox_bytes(r->out, e), e->len), OB_OK);
        if (e->kind == OB_DEST_ACTOR && e->actor == OB_ACTOR_NET &&
            msg.type == OB_IMSG_FETCH_ANSWER && index-- == 0)
            return msg.u.fetch_answer;
    }
    fail_msg("no fetch_answer at %zu", index);
    return (ob_imsg_fetch_answer_t){0};
}

/* A found answer for (sequencer, height) on "p<height>", as net takes it:
   the Lock decodes to that chunk, the slot holds exactly those bytes, and
   it is released. */
static void r_check_found(tj_journal_t *r, const ob_imsg_fetch_answer_t *a, int sequencer,
                          uint64_t height)
{
    char p[32];
    tj_payload(height, p);
    assert_int_equal(a->status, OB_FETCH_FOUND);
    ob_lock_t lock;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(r->four.epochs);
    assert_int_equal(ob_lock_decode(&lock, a->lock.data, a->lock.len, &lookup), OB_OK);
    assert_int_equal(tj_key_number(r, lock.chunk.sequencer), sequencer);
    assert_int_equal(lock.chunk.height, height);
    assert_true(a->has_payload);
    assert_memory_equal(a->payload.digest, lock.chunk.payload, 32);
    assert_int_equal(ob_arena_take(r->arena, &a->payload, OB_ACTOR_NET), 0);
    assert_int_equal(a->payload.len, strlen(p));
    assert_memory_equal(ob_arena_get(r->arena, &a->payload), p, strlen(p));
    assert_int_equal(ob_arena_release(r->arena, &a->payload, OB_ACTOR_NET), 0);
}

static void r_check_failed(const ob_imsg_fetch_answer_t *a, ob_fetch_status_t status)
{
    assert_int_equal(a->status, status);
    assert_int_equal(a->lock.len, 0);
    assert_false(a->has_payload);
}

static size_t r_answers(tj_journal_t *r)
{
    return tu_sent(r->out, OB_ACTOR_NET, OB_IMSG_FETCH_ANSWER);
}

static const ob_journal_stats_t *r_stats(tj_journal_t *r)
{
    return ob_journal_stats(r->journal);
}

/* Whether the journal's file holds the bytes of `payload`, read beside it. */
static bool r_bytes_held(tj_journal_t *r, const char *payload)
{
    uint8_t digest[32];
    ob_sha256(r->four.crypto, payload, strlen(payload), digest);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT 1 FROM payload WHERE digest = ?1", -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, digest, 32, SQLITE_STATIC);
    bool held = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return held;
}

/* ======================================================================= */

/* Lock and bytes held: a client and the application each have them at
   once, to their own origin, routing id and tag; no peer is asked. */
static void test_found_in_the_store(void **state)
{
    tj_journal_t *r = *state;
    tj_open(r, R_T0);
    r_fetched(r, 1, 1, 5, "p5", R_T0);
    assert_true(r_bytes_held(r, "p5"));

    r_request(r, "client-a", 7, 1, 5, R_T0);
    assert_int_equal(tu_sent(r->out, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    ob_imsg_fetch_answer_t a = r_answer_at(r, 0);
    assert_int_equal(a.origin, 0);
    assert_int_equal(a.client.len, strlen("client-a"));
    assert_memory_equal(a.client.data, "client-a", a.client.len);
    assert_int_equal(a.tag, 7);
    r_check_found(r, &a, 1, 5);

    r_request(r, NULL, 8, 1, 5, R_T0);
    a = r_answer_at(r, 0);
    assert_int_equal(a.origin, 1);
    assert_int_equal(a.client.len, 0);
    assert_int_equal(a.tag, 8);
    r_check_found(r, &a, 1, 5);

    assert_int_equal(r_stats(r)->fetch_requests, 2);
    assert_int_equal(r_stats(r)->fetch_requests_local, 2);
    assert_int_equal(r_stats(r)->fetch_requests_following, 0);
    assert_int_equal(ob_arena_in_use(r->arena), 0);
}

/* Retention 2, certified tip at 10: the Lock at 3 is held, its bytes are
   not. The first peer asked stays silent; after fetch_retry_ms, and not
   before, the next one is asked, and its bytes reach the client. They are
   not kept (outside retention): a second request is fetched again. */
static void test_pruned_payload_fetched_from_the_next_peer(void **state)
{
    tj_journal_t *r = *state;
    r->params.retention = 2;
    tj_open(r, R_T0);
    tj_certified(r, 1, 10, R_T0);
    r_fetched(r, 2, 1, 3, "p3", R_T0);
    assert_int_equal(r_stats(r)->fetched_outside_retention, 1);
    assert_false(r_bytes_held(r, "p3"));
    tj_tick(r, R_T0); /* background fetching settles: it is off */

    r_request(r, "c", 1, 1, 3, R_T0);
    assert_int_equal(r_answers(r), 0);
    int first = r_asked(r, 1, 3);
    assert_int_equal(r_stats(r)->fetch_requests_following, 1);
    assert_int_equal(ob_journal_next_deadline(r->journal), R_T0 + R_RETRY);

    tj_tick(r, R_T0 + R_RETRY - 1);
    assert_int_equal(tu_sent(r->out, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    assert_int_equal(r_answers(r), 0);
    tj_tick(r, R_T0 + R_RETRY);
    int second = r_asked(r, 1, 3);
    assert_int_not_equal(second, first);
    assert_int_equal(r_answers(r), 0);

    r_fetched(r, second, 1, 3, "p3", R_T0 + R_RETRY + 5);
    ob_imsg_fetch_answer_t a = r_answer_at(r, 0);
    assert_int_equal(a.tag, 1);
    r_check_found(r, &a, 1, 3);
    assert_int_equal(r_stats(r)->fetch_requests_fetched, 1);
    assert_int_equal(r_stats(r)->fetch_requests_following, 0);
    assert_false(r_bytes_held(r, "p3"));
    assert_int_equal(ob_arena_in_use(r->arena), 0);

    r_request(r, "c", 2, 1, 3, R_T0 + 1000);
    r_asked(r, 1, 3);
    assert_int_equal(r_answers(r), 0);
}

/* A Fetched without the bytes from the peer asked (it holds the Lock and
   pruned them) sends the request on at once; one from a peer not asked
   changes nothing. */
static void test_bare_fetched_moves_on_at_once(void **state)
{
    tj_journal_t *r = *state;
    tj_open(r, R_T0);
    tj_certified(r, 1, 4, R_T0);
    r_request(r, "c", 1, 1, 4, R_T0);
    int first = r_asked(r, 1, 4);
    int other = first == 3 ? 2 : 3;
    r_fetched(r, other, 1, 4, NULL, R_T0 + 1);
    assert_int_equal(tu_sent(r->out, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    r_fetched(r, first, 1, 4, NULL, R_T0 + 2);
    int second = r_asked(r, 1, 4);
    assert_int_not_equal(second, first);
    assert_int_equal(r_answers(r), 0);
    assert_int_equal(r_stats(r)->fetch_requests_following, 1);
}

/* Nobody has it: each peer is asked once, one retry apart, then the
   client hears not found; within peers x fetch_retry_ms. */
static void test_not_found_after_every_peer(void **state)
{
    tj_journal_t *r = *state;
    tj_open(r, R_T0);
    r_request(r, "c", 3, 2, 40, R_T0);
    bool asked[4] = {false};
    asked[r_asked(r, 2, 40)] = true;
    for (uint64_t turn = 1; turn < 3; turn++) {
        tj_tick(r, R_T0 + turn * R_RETRY);
        int peer = r_asked(r, 2, 40);
        assert_false(asked[peer]);
        asked[peer] = true;
        assert_int_equal(r_answers(r), 0);
    }
    tj_tick(r, R_T0 + 3 * R_RETRY);
    assert_int_equal(tu_sent(r->out, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    ob_imsg_fetch_answer_t a = r_answer_at(r, 0);
    assert_int_equal(a.tag, 3);
    r_check_failed(&a, OB_FETCH_NOT_FOUND);
    assert_int_equal(r_stats(r)->fetch_requests_not_found, 1);
    assert_int_equal(r_stats(r)->fetch_requests_following, 0);
    assert_int_equal(r_stats(r)->fetch_asked_request, 3);
    assert_true(ob_journal_next_deadline(r->journal) > R_T0 + 1000);
}

/* A key that is no epoch's sequencer, or a height beyond any stored: not
   found at once, no peer asked. */
static void test_unknown_sequencer_not_found_at_once(void **state)
{
    tj_journal_t *r = *state;
    tj_open(r, R_T0);
    uint8_t stranger[32];
    memset(stranger, 0xab, sizeof stranger);
    r_request_raw(r, 0, "c", 4, stranger, 1, R_T0);
    assert_int_equal(tu_sent(r->out, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    ob_imsg_fetch_answer_t a = r_answer_at(r, 0);
    r_check_failed(&a, OB_FETCH_NOT_FOUND);
    r_request(r, "c", 5, 1, UINT64_MAX, R_T0);
    assert_int_equal(tu_sent(r->out, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    a = r_answer_at(r, 0);
    r_check_failed(&a, OB_FETCH_NOT_FOUND);
    assert_int_equal(r_stats(r)->fetch_requests_not_found, 2);
    assert_int_equal(r_stats(r)->fetch_requests_following, 0);
}

/* 64 requests followed: the 65th hears busy at once, and a repeat of a
   followed one is still not followed twice. */
static void test_table_full_is_busy(void **state)
{
    tj_journal_t *r = *state;
    tj_open(r, R_T0);
    for (uint64_t i = 0; i < 64; i++) {
        r_request(r, "c", i, 1, 100 + i, R_T0);
        r_asked(r, 1, 100 + i);
    }
    assert_int_equal(r_stats(r)->fetch_requests_following, 64);
    r_request(r, "c", 64, 1, 200, R_T0);
    assert_int_equal(tu_sent(r->out, OB_ACTOR_NET, OB_IMSG_SEND_FETCH), 0);
    ob_imsg_fetch_answer_t a = r_answer_at(r, 0);
    assert_int_equal(a.tag, 64);
    r_check_failed(&a, OB_FETCH_BUSY);
    assert_int_equal(r_stats(r)->fetch_requests_busy, 1);
    r_request(r, "c", 10, 1, 110, R_T0);
    assert_int_equal(ob_outbox_count(r->out), 0);
    assert_int_equal(r_stats(r)->fetch_requests_repeated, 1);
    /* One answered frees its place. */
    r_fetched(r, 2, 1, 110, "p110", R_T0 + 1);
    assert_int_equal(r_answers(r), 1);
    ob_imsg_fetch_answer_t found = r_answer_at(r, 0);
    r_check_found(r, &found, 1, 110);
    r_request(r, "c", 65, 1, 201, R_T0 + 2);
    r_asked(r, 1, 201);
    assert_int_equal(r_stats(r)->fetch_requests_following, 64);
}

/* The same request again (a client resending after a silence) is not
   followed twice: no second Fetch, and one answer. */
static void test_repeated_request_followed_once(void **state)
{
    tj_journal_t *r = *state;
    tj_open(r, R_T0);
    r_request(r, "c", 9, 3, 2, R_T0);
    int peer = r_asked(r, 3, 2);
    r_request(r, "c", 9, 3, 2, R_T0 + 10);
    assert_int_equal(ob_outbox_count(r->out), 0);
    assert_int_equal(r_stats(r)->fetch_requests_repeated, 1);
    assert_int_equal(r_stats(r)->fetch_requests_following, 1);
    r_fetched(r, peer, 3, 2, "p2", R_T0 + 20);
    assert_int_equal(r_answers(r), 1);
    ob_imsg_fetch_answer_t a = r_answer_at(r, 0);
    r_check_found(r, &a, 3, 2);
    assert_int_equal(ob_arena_in_use(r->arena), 0);
}

/* A client and the application ask for one height: one Fetch for both,
   and each has the bytes in a slot of its own. */
static void test_two_askers_share_one_fetch(void **state)
{
    tj_journal_t *r = *state;
    tj_open(r, R_T0);
    r_request(r, "c", 1, 1, 7, R_T0);
    int peer = r_asked(r, 1, 7);
    r_request(r, NULL, 2, 1, 7, R_T0 + 1);
    assert_int_equal(ob_outbox_count(r->out), 0);
    assert_int_equal(r_stats(r)->fetch_requests_following, 2);
    r_fetched(r, peer, 1, 7, "p7", R_T0 + 2);
    assert_int_equal(r_answers(r), 2);
    ob_imsg_fetch_answer_t a = r_answer_at(r, 0), b = r_answer_at(r, 1);
    assert_true(a.origin != b.origin && a.tag != b.tag);
    assert_int_not_equal(a.payload.slot, b.payload.slot);
    r_check_found(r, &a, 1, 7);
    r_check_found(r, &b, 1, 7);
    assert_int_equal(r_stats(r)->fetch_requests_fetched, 2);
    assert_int_equal(r_stats(r)->fetch_requests_following, 0);
    assert_int_equal(ob_arena_in_use(r->arena), 0);
}

/* Bytes that are not the Lock's never answer found: the next peer is
   asked, nothing is stored, the slot goes back. */
static void test_wrong_bytes_never_found(void **state)
{
    tj_journal_t *r = *state;
    tj_open(r, R_T0);
    r_request(r, "c", 1, 1, 3, R_T0);
    int first = r_asked(r, 1, 3);
    r_fetched(r, first, 1, 3, "not p3", R_T0 + 1);
    assert_int_equal(r_answers(r), 0);
    assert_int_not_equal(r_asked(r, 1, 3), first);
    assert_false(r_bytes_held(r, "not p3"));
    assert_false(r_bytes_held(r, "p3"));
    assert_int_equal(ob_arena_in_use(r->arena), 0);
}

/* A Fetched on another payload than the Lock held (evidence) never
   answers found, bytes and all: the next peer is asked. */
static void test_conflicting_lock_never_found(void **state)
{
    tj_journal_t *r = *state;
    tj_open(r, R_T0);
    tj_certified(r, 1, 3, R_T0);
    r_request(r, "c", 1, 1, 3, R_T0);
    int first = r_asked(r, 1, 3);
    r_fetched_on(r, first, 1, 3, "forked", "forked", R_T0 + 1);
    assert_int_equal(tu_sent(r->out, OB_ACTOR_NET, OB_IMSG_REPORT_EVIDENCE), 1);
    assert_int_equal(r_answers(r), 0);
    assert_int_not_equal(r_asked(r, 1, 3), first);
    assert_int_equal(ob_journal_stats(r->journal)->fetched_conflicting, 1);
    assert_int_equal(ob_arena_in_use(r->arena), 0);
}

/* An origin and routing id that disagree, or an origin of nobody: dropped
   by name, never answered, never followed. */
static void test_malformed_asker_dropped(void **state)
{
    tj_journal_t *r = *state;
    tj_open(r, R_T0);
    char long_id[OB_CLIENT_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    r_request_raw(r, 0, NULL, 1, tj_key(r, 1), 1, R_T0);
    assert_int_equal(ob_outbox_count(r->out), 0);
    r_request_raw(r, 0, long_id, 1, tj_key(r, 1), 1, R_T0);
    assert_int_equal(ob_outbox_count(r->out), 0);
    r_request_raw(r, 1, "c", 1, tj_key(r, 1), 1, R_T0);
    assert_int_equal(ob_outbox_count(r->out), 0);
    r_request_raw(r, 2, NULL, 1, tj_key(r, 1), 1, R_T0);
    assert_int_equal(ob_outbox_count(r->out), 0);
    assert_int_equal(r_stats(r)->dropped[OB_ERR_BAD_FLAG], 4);
    assert_int_equal(r_stats(r)->fetch_requests, 0);
    assert_int_equal(r_stats(r)->fetch_requests_following, 0);
}

/* The arena 3/4 full: bytes held are not lent, the asker hears busy
   rather than wait. */
static void test_arena_full_is_busy(void **state)
{
    tj_journal_t *r = *state;
    tj_open(r, R_T0);
    r_fetched(r, 1, 1, 5, "p5", R_T0);
    ob_handle_t held[R_SLOTS / 4 * 3];
    for (size_t i = 0; i < R_SLOTS / 4 * 3; i++)
        assert_int_equal(ob_arena_put(r->arena, r->four.crypto, OB_ACTOR_NET, "x", 1, &held[i]), 0);
    r_request(r, "c", 1, 1, 5, R_T0);
    ob_imsg_fetch_answer_t a = r_answer_at(r, 0);
    r_check_failed(&a, OB_FETCH_BUSY);
    assert_int_equal(r_stats(r)->fetch_requests_local, 0);
    for (size_t i = 0; i < R_SLOTS / 4 * 3; i++)
        assert_int_equal(ob_arena_release(r->arena, &held[i], OB_ACTOR_NET), 0);
    r_request(r, "c", 2, 1, 5, R_T0);
    a = r_answer_at(r, 0);
    r_check_found(r, &a, 1, 5);
    assert_int_equal(ob_arena_in_use(r->arena), 0);
}

/* Retention prunes fetched payloads too (they have a certificate and no
   node): bytes fetched at 0 go once the certified tip is 3 above them;
   bytes another chain's certificate shares stay. */
static void test_retention_prunes_fetched_payloads(void **state)
{
    tj_journal_t *r = *state;
    r->params.retention = 2;
    tj_open(r, R_T0);
    r_fetched(r, 1, 1, 0, "p0", R_T0);
    r_fetched(r, 1, 2, 2, "p2", R_T0); /* sequencer 2's Lock at 2 on "p2" */
    r_fetched(r, 1, 1, 2, "p2", R_T0); /* the same bytes on sequencer 1's chain */
    assert_true(r_bytes_held(r, "p0"));
    tj_certified(r, 1, 1, R_T0);
    tj_certified(r, 1, 3, R_T0);
    assert_false(r_bytes_held(r, "p0"));
    assert_int_equal(r_stats(r)->payloads_pruned, 1);
    tj_certified(r, 1, 5, R_T0);
    assert_true(r_bytes_held(r, "p2")); /* sequencer 2's Lock still refers to them */
    assert_int_equal(r_stats(r)->payloads_pruned, 1);
}

#define R_TEST(name) cmocka_unit_test_setup_teardown(name, r_setup, r_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        R_TEST(test_found_in_the_store),
        R_TEST(test_pruned_payload_fetched_from_the_next_peer),
        R_TEST(test_bare_fetched_moves_on_at_once),
        R_TEST(test_not_found_after_every_peer),
        R_TEST(test_unknown_sequencer_not_found_at_once),
        R_TEST(test_table_full_is_busy),
        R_TEST(test_repeated_request_followed_once),
        R_TEST(test_two_askers_share_one_fetch),
        R_TEST(test_wrong_bytes_never_found),
        R_TEST(test_conflicting_lock_never_found),
        R_TEST(test_malformed_asker_dropped),
        R_TEST(test_arena_full_is_busy),
        R_TEST(test_retention_prunes_fetched_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  The built-in application (actors/journal/builtin_app.h) and its batch
    codec (proto/batch.h): batches built up to their bound, one payload per
    chunk with batching off, refusals, verdicts on good and bad batches,
    and the clients followed from submit to Lock, across lost proposals
    and restarts. Every answer is read back through the imsg codec, as net
    would.

    Node key 0 is "this node". Epoch 1 has every key as sequencer; epoch 2
    leaves key 0 out of its sequencers. */
#include "testutil.h"

#include "batch.h"
#include "builtin_app.h"
#include "log.h"
#include "outbox.h"
#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B_SLOTS     16
#define B_SLOT_SIZE 256
#define B_MAX       B_SLOT_SIZE /* the manifest's max_payload */

typedef struct {
    tu_four_t w; /* keys, namespace, epochs: key 0 is this node */
    ob_arena_t *arena;
    ob_outbox_t *out;
    ob_builtin_app_t *app;
    uint64_t query; /* the last lock query asked for */
    uint64_t now;   /* ms, for the proposals' times */
} b_fixture_t;

static int s_setup(void **state)
{
    b_fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    ob_log_set_level(OB_LOG_ERROR);
    tu_four_init(&f->w, "builtin-test");
    f->arena = ob_arena_new_heap(B_SLOTS, B_SLOT_SIZE, NULL);
    assert_non_null(f->arena);
    f->out = ob_outbox_new(256, 1u << 20);
    assert_non_null(f->out);
    return 0;
}

static int s_teardown(void **state)
{
    b_fixture_t *f = *state;
    ob_builtin_app_destroy(&f->app);
    ob_builtin_app_destroy(&f->app); /* safe twice */
    ob_outbox_destroy(&f->out);
    ob_arena_destroy(&f->arena);
    tu_four_fini(&f->w);
    free(f);
    return 0;
}

/* This node's environment: key 0, the test's epochs and arena. */
static ob_node_env_t s_env(b_fixture_t *f)
{
    ob_node_env_t env = {.ns = &f->w.ns, .epochs = f->w.epochs, .arena = f->arena};
    env.params = OB_PARAMS_DEFAULT;
    env.params.max_payload = B_MAX;
    memcpy(env.self_key, f->w.keys[0].pub.bytes, 32);
    return env;
}

static void s_open(b_fixture_t *f, uint32_t queue_max, uint32_t track_max, uint32_t batch_bytes)
{
    ob_builtin_app_destroy(&f->app);
    ob_builtin_app_config_t config = {
        .queue_max = queue_max, .track_max = track_max, .batch_bytes = batch_bytes};
    config.env = s_env(f);
    ob_why_t why = {{0}};
    f->app = ob_builtin_app_new(&config, &why);
    if (!f->app)
        fail_msg("builtin app: %s", why.text);
    ob_builtin_app_flush(f->app, f->out); /* the previous batch ended */
    ob_outbox_clear(f->out);
}

static const ob_builtin_app_stats_t *s_stats(b_fixture_t *f)
{
    return ob_builtin_app_stats(f->app);
}

static ob_client_id_t s_client(uint8_t n)
{
    ob_client_id_t id = {.len = 5, .id = {0, 0x6b, 0x8b, 0x45, n}};
    return id;
}

/* A client's submit in epoch 1 (the outbox emptied first). */
static int s_submit_in(b_fixture_t *f, uint64_t epoch, uint8_t client, uint64_t tag,
                       const void *data, size_t len)
{
    ob_client_id_t id = s_client(client);
    ob_builtin_app_flush(f->app, f->out); /* the previous batch ended */
    ob_outbox_clear(f->out);
    f->query = UINT64_MAX;
    return ob_builtin_app_submit(f->app, epoch, &id, tag, data, len, &f->query, f->out);
}

static int s_submit(b_fixture_t *f, uint8_t client, uint64_t tag, const char *data)
{
    return s_submit_in(f, 1, client, tag, data, strlen(data));
}

/* --- what came out ------------------------------------------------------ */

/* The answers in the outbox, after the batch's end (ob_builtin_app_flush:
   one client_answer per client, each a list), decoded and in order: the
   i-th answer, and whom it is for. */
typedef struct {
    ob_client_id_t client;
    ob_imsg_t answer;
} b_answer_t;

static size_t s_collect(b_fixture_t *f, b_answer_t *all, size_t cap)
{
    ob_builtin_app_flush(f->app, f->out);
    size_t n = 0;
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        ob_imsg_t msg;
        assert_int_equal(e->kind, OB_DEST_ACTOR);
        assert_int_equal(e->actor, OB_ACTOR_NET);
        assert_int_equal(ob_imsg_decode(&msg, ob_outbox_bytes(f->out, e), e->len), OB_OK);
        assert_int_equal(msg.type, OB_IMSG_CLIENT_ANSWER);
        ob_batch_t list;
        assert_int_equal(ob_batch_decode(&list, msg.u.client_answer.answers.data,
                                         msg.u.client_answer.answers.len),
                         OB_OK);
        size_t offset = 0;
        ob_batch_entry_t entry;
        while (ob_batch_next(&list, &offset, &entry) == 0) {
            assert_true(n < cap);
            all[n].client.len = (uint8_t)msg.u.client_answer.client.len;
            memcpy(all[n].client.id, msg.u.client_answer.client.data, all[n].client.len);
            assert_int_equal(ob_imsg_decode(&all[n].answer, entry.data, entry.len), OB_OK);
            n++;
        }
    }
    return n;
}

#define B_MAX_ANSWERS 64

static size_t s_answers(b_fixture_t *f)
{
    b_answer_t all[B_MAX_ANSWERS];
    return s_collect(f, all, B_MAX_ANSWERS);
}

static ob_imsg_t s_answer_at(b_fixture_t *f, size_t i, uint8_t client, ob_imsg_type_t type)
{
    b_answer_t all[B_MAX_ANSWERS];
    size_t n = s_collect(f, all, B_MAX_ANSWERS);
    assert_true(i < n);
    ob_client_id_t id = s_client(client);
    assert_int_equal(all[i].client.len, id.len);
    assert_memory_equal(all[i].client.id, id.id, id.len);
    assert_int_equal(all[i].answer.type, type);
    return all[i].answer;
}

/* The one answer to `client`, wherever it is among the answers (answers
   to different clients come in no promised order). */
static ob_imsg_t s_answer_for(b_fixture_t *f, uint8_t client, ob_imsg_type_t type)
{
    b_answer_t all[B_MAX_ANSWERS];
    size_t n = s_collect(f, all, B_MAX_ANSWERS);
    ob_client_id_t id = s_client(client);
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (all[i].client.len == id.len && memcmp(all[i].client.id, id.id, id.len) == 0) {
            assert_int_equal(found, SIZE_MAX);
            found = i;
        }
    }
    assert_int_not_equal(found, SIZE_MAX);
    return s_answer_at(f, found, client, type);
}

/* The only answer, to `client`. */
static ob_imsg_t s_answer(b_fixture_t *f, uint8_t client, ob_imsg_type_t type)
{
    assert_int_equal(s_answers(f), 1);
    return s_answer_at(f, 0, client, type);
}

static void s_assert_refused(b_fixture_t *f, int rc, uint8_t client, uint64_t tag,
                             ob_submit_refusal_t reason)
{
    assert_int_equal(rc, -1);
    ob_imsg_t msg = s_answer(f, client, OB_IMSG_SUBMIT_REFUSED);
    assert_int_equal(msg.u.submit_refused.tag, tag);
    assert_int_equal(msg.u.submit_refused.reason, reason);
}

static void s_assert_queued(b_fixture_t *f, int rc, uint8_t client, uint64_t tag)
{
    assert_int_equal(rc, 0);
    assert_int_equal(s_answer(f, client, OB_IMSG_SUBMIT_QUEUED).u.submit_queued.tag, tag);
}

/* The proposal at `height`, which must be the batch of `entries` (or,
   with batching off, the one payload entries[0]); its digest goes to
   `digest`. The slot is freed, as the journal would once it has stored
   the bytes. */
static void s_proposed(b_fixture_t *f, uint64_t height, const char *const *entries, size_t count,
                       uint8_t digest[32])
{
    ob_handle_t handle;
    assert_int_equal(ob_builtin_app_propose(f->app, height, f->now, OB_ACTOR_JOURNAL, &handle), 0);
    const uint8_t *bytes = ob_arena_get(f->arena, &handle);
    assert_non_null(bytes);
    assert_int_equal(ob_arena_check(f->arena, f->w.crypto, &handle), 0);
    if (ob_builtin_app_batch_bytes(f->app) == 0) {
        assert_int_equal(count, 1);
        assert_int_equal(handle.len, strlen(entries[0]));
        assert_memory_equal(bytes, entries[0], handle.len);
    } else {
        ob_batch_t batch;
        assert_int_equal(ob_batch_decode(&batch, bytes, handle.len), OB_OK);
        assert_int_equal(batch.count, count);
        for (uint32_t i = 0; i < count; i++) {
            ob_batch_entry_t entry;
            assert_int_equal(ob_batch_entry(&batch, i, &entry), 0);
            assert_int_equal(entry.len, strlen(entries[i]));
            assert_memory_equal(entry.data, entries[i], entry.len);
        }
        assert_true(ob_builtin_app_verify(f->app, bytes, handle.len));
    }
    if (digest)
        memcpy(digest, handle.digest, 32);
    assert_int_equal(ob_arena_release(f->arena, &handle, OB_ACTOR_JOURNAL), 0);
}

static void s_proposed_one(b_fixture_t *f, uint64_t height, const char *entry, uint8_t digest[32])
{
    s_proposed(f, height, &entry, 1, digest);
}

static void s_nothing_to_propose(b_fixture_t *f, uint64_t height)
{
    ob_handle_t handle;
    uint32_t in_use = ob_arena_in_use(f->arena);
    assert_int_equal(ob_builtin_app_propose(f->app, height, f->now, OB_ACTOR_JOURNAL, &handle), 1);
    assert_int_equal(ob_arena_in_use(f->arena), in_use);
}

static ob_chunk_t s_own_chunk(b_fixture_t *f, uint64_t height, const uint8_t digest[32])
{
    ob_chunk_t chunk = {.height = height};
    memcpy(chunk.sequencer, f->w.keys[0].pub.bytes, 32);
    memcpy(chunk.payload, digest, 32);
    return chunk;
}

static void s_own(b_fixture_t *f, const ob_chunk_t *chunk, const void *data, size_t len)
{
    ob_builtin_app_flush(f->app, f->out); /* the previous batch ended */
    ob_outbox_clear(f->out);
    ob_builtin_app_own_chunk(f->app, chunk, data, len, f->out);
}

/* A Lock on `chunk` in epoch 1 by validators 0, 1, 2 (encoding only: the
   verifier and signer checked the signatures). */
static size_t s_lock_bytes(const ob_chunk_t *chunk, uint8_t *out, size_t cap)
{
    uint8_t entries[3 * OB_CERT_ENTRY_LEN];
    uint8_t signature[64];
    for (uint16_t i = 0; i < 3; i++) {
        memset(signature, 0x40 + i, sizeof signature);
        ob_cert_entry_write(entries + OB_CERT_ENTRY_LEN * i, i, signature);
    }
    ob_lock_t lock = {.chunk = *chunk, .epoch = 1, .cert = {.count = 3, .entries = entries}};
    size_t written = 0;
    assert_int_equal(ob_lock_encode(&lock, out, cap, &written), 0);
    return written;
}

static void s_lock(b_fixture_t *f, const ob_chunk_t *chunk)
{
    uint8_t bytes[512];
    size_t len = s_lock_bytes(chunk, bytes, sizeof bytes);
    ob_lock_t lock = {.chunk = *chunk};
    ob_builtin_app_flush(f->app, f->out); /* the previous batch ended */
    ob_outbox_clear(f->out);
    ob_builtin_app_lock(f->app, &lock, bytes, len, f->out);
}

/* ======================================================================= */
/* the batch codec                                                          */
/* ======================================================================= */

static void test_batch_codec_round_trip(void **state)
{
    (void)state;
    const char *entries[3] = {"alpha", "", "gamma!"};
    uint8_t buf[64];
    size_t total = 11;
    size_t len = ob_batch_encoded_len(3, total);
    assert_int_equal(len, OB_BATCH_HEADER_LEN + 3 * OB_BATCH_ENTRY_LEN + total);
    ob_batch_put_header(buf, 3);
    size_t at = OB_BATCH_HEADER_LEN;
    for (int i = 0; i < 3; i++)
        ob_batch_put_entry(buf, &at, (const uint8_t *)entries[i], (uint32_t)strlen(entries[i]));
    assert_int_equal(at, len);
    ob_batch_t batch;
    assert_int_equal(ob_batch_decode(&batch, buf, len), OB_OK);
    assert_int_equal(batch.count, 3);
    size_t offset = 0;
    ob_batch_entry_t entry;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ob_batch_next(&batch, &offset, &entry), 0);
        assert_int_equal(entry.len, strlen(entries[i]));
        assert_memory_equal(entry.data, entries[i], entry.len);
    }
    assert_int_equal(ob_batch_next(&batch, &offset, &entry), -1);
    assert_int_equal(ob_batch_entry(&batch, 2, &entry), 0);
    assert_memory_equal(entry.data, "gamma!", 6);
    assert_int_equal(ob_batch_entry(&batch, 3, &entry), -1);
    assert_int_equal(ob_batch_encoded_len(UINT32_MAX, SIZE_MAX - 2), SIZE_MAX);
}

static void test_batch_codec_refusals(void **state)
{
    (void)state;
    ob_batch_t batch;
    /* empty: no bytes, a header alone, a count of 0 */
    assert_int_equal(ob_batch_decode(&batch, (const uint8_t *)"", 0), OB_ERR_SHORT);
    assert_int_equal(ob_batch_decode(&batch, (const uint8_t *)"\x01\x00\x00\x00", 4), OB_ERR_SHORT);
    assert_int_equal(ob_batch_decode(&batch, (const uint8_t *)"\x01\x00\x00\x00\x00", 5),
                     OB_ERR_TOO_LARGE);
    /* another version */
    assert_int_equal(
        ob_batch_decode(&batch, (const uint8_t *)"\x02\x00\x00\x00\x01\x00\x00\x00\x00", 9),
        OB_ERR_BAD_VERSION);
    /* a count the bytes cannot hold: refused before anything is walked */
    assert_int_equal(
        ob_batch_decode(&batch, (const uint8_t *)"\x01\xff\xff\xff\xff\x00\x00\x00\x00", 9),
        OB_ERR_TOO_LARGE);
    assert_int_equal(
        ob_batch_decode(&batch, (const uint8_t *)"\x01\x00\x00\x00\x02\x00\x00\x00\x00", 9),
        OB_ERR_TOO_LARGE);
    /* a length past the end, and a length cut short */
    assert_int_equal(ob_batch_decode(&batch,
                                     (const uint8_t *)"\x01\x00\x00\x00\x01\x00\x00\x00\x09"
                                                      "abc",
                                     12),
                     OB_ERR_SHORT);
    assert_int_equal(ob_batch_decode(&batch,
                                     (const uint8_t *)"\x01\x00\x00\x00\x02\x00\x00\x00\x02"
                                                      "ab\x00\x00",
                                     13),
                     OB_ERR_SHORT);
    assert_int_equal(ob_batch_decode(&batch,
                                     (const uint8_t *)"\x01\x00\x00\x00\x01\xff\xff\xff\xff"
                                                      "abc",
                                     12),
                     OB_ERR_SHORT);
    /* trailing bytes */
    assert_int_equal(ob_batch_decode(&batch,
                                     (const uint8_t *)"\x01\x00\x00\x00\x01\x00\x00\x00\x01"
                                                      "ab",
                                     11),
                     OB_ERR_TRAILING);
    /* the smallest batch: one empty entry */
    assert_int_equal(
        ob_batch_decode(&batch, (const uint8_t *)"\x01\x00\x00\x00\x01\x00\x00\x00\x00", 9), OB_OK);
    assert_int_equal(batch.count, 1);
}

/* ======================================================================= */
/* batches                                                                  */
/* ======================================================================= */

/* Oldest first, up to the bound, at least one; the rest wait for the next
   proposal. Every payload is entry `index` of its chunk. */
static void test_batches_up_to_the_bound(void **state)
{
    b_fixture_t *f = *state;
    /* header 5 + (4 + 10) * 3 = 47: three of ten bytes fit in 50, not four */
    s_open(f, 8, 0, 50);
    const char *p[5] = {"payload-00", "payload-01", "payload-02", "payload-03", "payload-04"};
    for (uint8_t i = 0; i < 5; i++)
        s_assert_queued(f, s_submit(f, i, 100 + i, p[i]), i, 100 + i);
    assert_int_equal(ob_builtin_app_queued(f->app), 5);
    uint8_t first[32], second[32];
    s_proposed(f, 0, p, 3, first);
    assert_int_equal(ob_builtin_app_queued(f->app), 2);

    ob_chunk_t chunk0 = s_own_chunk(f, 0, first);
    s_own(f, &chunk0, NULL, 0);
    assert_int_equal(s_answers(f), 3);
    for (uint8_t i = 0; i < 3; i++) {
        ob_imsg_t a = s_answer_at(f, i, i, OB_IMSG_SUBMIT_ASSIGNED);
        assert_int_equal(a.u.submit_assigned.tag, 100 + i);
        assert_int_equal(a.u.submit_assigned.height, 0);
        assert_int_equal(a.u.submit_assigned.index, i);
        assert_memory_equal(a.u.submit_assigned.payload, first, 32);
        assert_memory_equal(a.u.submit_assigned.sequencer, f->w.keys[0].pub.bytes, 32);
    }
    s_proposed(f, 1, p + 3, 2, second);
    s_nothing_to_propose(f, 2);

    s_lock(f, &chunk0);
    assert_int_equal(s_answers(f), 3);
    for (uint8_t i = 0; i < 3; i++) {
        ob_imsg_t l = s_answer_at(f, i, i, OB_IMSG_SUBMIT_LOCKED);
        assert_int_equal(l.u.submit_locked.tag, 100 + i);
        assert_int_equal(l.u.submit_locked.index, i);
    }
    /* Not assigned yet when its Lock comes: both answers, in order. */
    ob_chunk_t chunk1 = s_own_chunk(f, 1, second);
    s_lock(f, &chunk1);
    assert_int_equal(s_answers(f), 4);
    /* one message per client, each with its answers in order */
    assert_int_equal(ob_outbox_count(f->out), 2);
    assert_int_equal(s_answer_at(f, 0, 3, OB_IMSG_SUBMIT_ASSIGNED).u.submit_assigned.index, 0);
    assert_int_equal(s_answer_at(f, 1, 3, OB_IMSG_SUBMIT_LOCKED).u.submit_locked.index, 0);
    assert_int_equal(s_answer_at(f, 2, 4, OB_IMSG_SUBMIT_ASSIGNED).u.submit_assigned.index, 1);
    assert_int_equal(s_answer_at(f, 3, 4, OB_IMSG_SUBMIT_LOCKED).u.submit_locked.index, 1);
    s_lock(f, &chunk1); /* again: nobody left to tell */
    assert_int_equal(s_answers(f), 0);

    const ob_builtin_app_stats_t *stats = s_stats(f);
    assert_int_equal(stats->proposals, 2);
    assert_int_equal(stats->batched_entries, 5);
    assert_int_equal(stats->submit_assigned, 5);
    assert_int_equal(stats->submit_locked, 5);
}

/* One payload larger than the bound still goes, alone; one that cannot
   fit a batch of max_payload is refused; the bound is max_payload at
   most. */
static void test_batch_bound_edges(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 4, 0, 20);
    static char big[B_MAX + 1];
    memset(big, 'b', sizeof big - 1);
    size_t fits = B_MAX - OB_BATCH_HEADER_LEN - OB_BATCH_ENTRY_LEN;
    s_assert_refused(f, s_submit_in(f, 1, 1, 1, big, fits + 1), 1, 1, OB_SUBMIT_TOO_LARGE);
    s_assert_queued(f, s_submit_in(f, 1, 1, 2, big, fits), 1, 2);
    s_assert_queued(f, s_submit(f, 1, 3, "small"), 1, 3);
    ob_handle_t handle;
    assert_int_equal(ob_builtin_app_propose(f->app, 0, f->now, OB_ACTOR_JOURNAL, &handle), 0);
    assert_int_equal(handle.len, B_MAX); /* alone, over the bound of 20 */
    ob_arena_release(f->arena, &handle, OB_ACTOR_JOURNAL);
    ob_chunk_t chunk = s_own_chunk(f, 0, handle.digest);
    s_own(f, &chunk, NULL, 0);
    s_proposed_one(f, 1, "small", NULL);

    s_open(f, 4, 0, UINT32_MAX);
    assert_int_equal(ob_builtin_app_batch_bytes(f->app), B_MAX);
}

/* Batching off: one payload per chunk, the payload itself, and the
   largest payload is max_payload. */
static void test_batching_off_one_per_chunk(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 4, 0, 0);
    assert_int_equal(ob_builtin_app_batch_bytes(f->app), 0);
    s_assert_queued(f, s_submit(f, 1, 1, "one"), 1, 1);
    s_assert_queued(f, s_submit(f, 1, 2, "two"), 1, 2);
    static char big[B_MAX];
    memset(big, 'x', sizeof big);
    s_assert_queued(f, s_submit_in(f, 1, 2, 3, big, sizeof big), 2, 3);
    uint8_t digest[32], expect[32];
    s_proposed_one(f, 0, "one", digest);
    ob_sha256(f->w.crypto, "one", 3, expect);
    assert_memory_equal(digest, expect, 32);
    ob_chunk_t chunk = s_own_chunk(f, 0, digest);
    s_own(f, &chunk, NULL, 0);
    ob_imsg_t a = s_answer(f, 1, OB_IMSG_SUBMIT_ASSIGNED);
    assert_int_equal(a.u.submit_assigned.index, 0);
    assert_memory_equal(a.u.submit_assigned.payload, expect, 32);
    s_proposed_one(f, 1, "two", NULL);
    /* Any bytes are valid: the journal checked their digest. */
    assert_true(ob_builtin_app_verify(f->app, (const uint8_t *)"not a batch", 11));
}

static void test_verify_batches(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 4, 0, 100);
    uint8_t good[] = {1, 0, 0, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 0};
    assert_true(ob_builtin_app_verify(f->app, good, sizeof good));
    assert_false(ob_builtin_app_verify(f->app, good, sizeof good - 1)); /* truncated */
    good[4] = 3;                                                        /* count past the entries */
    assert_false(ob_builtin_app_verify(f->app, good, sizeof good));
    good[4] = 1; /* one entry, and bytes after it */
    assert_false(ob_builtin_app_verify(f->app, good, sizeof good));
    assert_false(ob_builtin_app_verify(f->app, (const uint8_t *)"raw payload", 11));
    assert_false(ob_builtin_app_verify(f->app, NULL, 0)); /* empty */
    assert_int_equal(s_stats(f)->verdicts_valid, 1);
    assert_int_equal(s_stats(f)->verdicts_invalid, 5);
}

/* ======================================================================= */
/* the queue and its clients                                                */
/* ======================================================================= */

static void test_submit_refusals(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 2, 0, 100);
    s_assert_refused(f, s_submit_in(f, 2, 1, 2, "not here", 8), 1, 2, OB_SUBMIT_NOT_SEQUENCER);
    s_assert_queued(f, s_submit(f, 2, 4, "first"), 2, 4);
    s_assert_queued(f, s_submit_in(f, 1, 2, 5, "", 0), 2, 5); /* nothing is a payload too */
    s_assert_refused(f, s_submit(f, 2, 6, "third"), 2, 6, OB_SUBMIT_QUEUE_FULL);
    assert_int_equal(ob_builtin_app_queued(f->app), 2);
    /* Proposing makes room. */
    const char *both[2] = {"first", ""};
    s_proposed(f, 0, both, 2, NULL);
    s_assert_queued(f, s_submit(f, 2, 6, "third"), 2, 6);

    /* From inside the node: nobody to answer. */
    ob_builtin_app_flush(f->app, f->out); /* the previous batch ended */
    ob_outbox_clear(f->out);
    uint64_t query = 0;
    assert_int_equal(
        ob_builtin_app_submit(f->app, 1, NULL, 0, (const uint8_t *)"inner", 5, &query, f->out), 0);
    assert_int_equal(
        ob_builtin_app_submit(f->app, 1, NULL, 0, (const uint8_t *)"full", 4, &query, f->out), -1);
    assert_int_equal(ob_outbox_count(f->out), 0);

    const ob_builtin_app_stats_t *stats = s_stats(f);
    assert_int_equal(stats->submitted, 4);
    assert_int_equal(stats->submit_refused, 3);
    assert_int_equal(stats->refused_by[OB_SUBMIT_NOT_SEQUENCER], 1);
    assert_int_equal(stats->refused_by[OB_SUBMIT_QUEUE_FULL], 2);
}

/* The queue is bounded in bytes too: a payload past the bound is refused
   queue_full, and proposing gives the bytes back. */
static void test_queue_bytes_bound(void **state)
{
    b_fixture_t *f = *state;
    ob_builtin_app_config_t config = {.queue_max = 8, .queue_bytes = 10, .batch_bytes = 100};
    config.env = s_env(f);
    ob_why_t why = {{0}};
    f->app = ob_builtin_app_new(&config, &why);
    assert_non_null(f->app);
    s_assert_queued(f, s_submit(f, 1, 1, "six b."), 1, 1);
    s_assert_refused(f, s_submit(f, 1, 2, "five!"), 1, 2, OB_SUBMIT_QUEUE_FULL);
    s_assert_queued(f, s_submit(f, 1, 3, "four"), 1, 3); /* exactly 10 */
    const char *both[2] = {"six b.", "four"};
    s_proposed(f, 0, both, 2, NULL);
    s_assert_queued(f, s_submit(f, 1, 2, "five!"), 1, 2);
}

/* No arena slot: nothing is lost; the next ask gets the same batch. */
static void test_propose_without_a_slot(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 4, 0, 100);
    s_submit(f, 1, 1, "waits");
    ob_handle_t hog[B_SLOTS];
    for (int i = 0; i < B_SLOTS; i++)
        assert_int_equal(ob_arena_put(f->arena, f->w.crypto, OB_ACTOR_NET, "x", 1, &hog[i]), 0);
    ob_handle_t handle;
    assert_int_equal(ob_builtin_app_propose(f->app, 0, f->now, OB_ACTOR_JOURNAL, &handle), -1);
    assert_int_equal(ob_builtin_app_queued(f->app), 1);
    for (int i = 0; i < B_SLOTS; i++)
        ob_arena_release(f->arena, &hog[i], OB_ACTOR_NET);
    s_proposed_one(f, 0, "waits", NULL);
}

/* One batch's answers cost net one message per client: ten submits of one
   client and one of another make two client_answers, with every answer
   in order; past the table of clients, the lists already made go out. */
static void test_answers_one_message_per_client(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 128, 0, 4096);
    ob_builtin_app_flush(f->app, f->out);
    ob_outbox_clear(f->out);
    ob_client_id_t one = s_client(1), two = s_client(2);
    uint64_t query;
    for (uint64_t tag = 0; tag < 10; tag++)
        assert_int_equal(
            ob_builtin_app_submit(f->app, 1, &one, tag, (const uint8_t *)"x", 1, &query, f->out),
            0);
    assert_int_equal(
        ob_builtin_app_submit(f->app, 1, &two, 99, (const uint8_t *)"y", 1, &query, f->out), 0);
    assert_int_equal(ob_outbox_count(f->out), 0); /* nothing before the batch ends */
    b_answer_t all[B_MAX_ANSWERS];
    assert_int_equal(s_collect(f, all, B_MAX_ANSWERS), 11);
    assert_int_equal(ob_outbox_count(f->out), 2);
    for (uint64_t tag = 0; tag < 10; tag++) {
        assert_int_equal(all[tag].answer.type, OB_IMSG_SUBMIT_QUEUED);
        assert_int_equal(all[tag].answer.u.submit_queued.tag, tag);
    }
    assert_int_equal(all[10].answer.u.submit_queued.tag, 99);
    assert_int_equal(s_stats(f)->answer_messages, 2);

    /* 70 clients in one batch: the table holds 64, so the first lists go
       out when the 65th client comes; nothing is lost */
    ob_outbox_clear(f->out);
    for (uint8_t c = 0; c < 70; c++) {
        ob_client_id_t id = s_client(c);
        assert_int_equal(ob_builtin_app_submit(f->app, 1, &id, 1000 + c, (const uint8_t *)"z", 1,
                                               &query, f->out),
                         0);
    }
    assert_int_equal(ob_outbox_count(f->out), 64);
    ob_builtin_app_flush(f->app, f->out);
    assert_int_equal(ob_outbox_count(f->out), 70);
    assert_int_equal(s_stats(f)->answers_lost, 0);
}

static void test_track_full_drops_oldest(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 4, 2, 100);
    const char *payloads[3] = {"batch a", "batch b", "batch c"};
    uint8_t digest[3][32];
    for (uint64_t i = 0; i < 3; i++) {
        s_submit(f, (uint8_t)i, 100 + i, payloads[i]);
        s_proposed_one(f, i, payloads[i], digest[i]);
        ob_chunk_t chunk = s_own_chunk(f, i, digest[i]);
        if (i < 2) /* seen, so that the next proposal is not a lost one */
            ob_builtin_app_own_chunk(f->app, &chunk, NULL, 0, f->out);
    }
    assert_int_equal(s_stats(f)->track_evicted, 1);
    ob_chunk_t zero = s_own_chunk(f, 0, digest[0]);
    s_lock(f, &zero);
    assert_int_equal(s_answers(f), 0); /* forgotten */
    ob_chunk_t two = s_own_chunk(f, 2, digest[2]);
    s_lock(f, &two);
    assert_int_equal(s_answers(f), 2);
    assert_int_equal(s_answer_at(f, 0, 2, OB_IMSG_SUBMIT_ASSIGNED).u.submit_assigned.tag, 102);
    assert_int_equal(s_answer_at(f, 1, 2, OB_IMSG_SUBMIT_LOCKED).u.submit_locked.tag, 102);
}

static void test_reserved_after_lost_proposal(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 4, 0, 14); /* one entry of 5 bytes a batch */
    s_submit(f, 1, 1, "first");
    s_submit(f, 1, 2, "secnd");
    uint8_t digest[32], again[32];
    s_proposed_one(f, 3, "first", digest);
    /* The journal crashed before the payload was durable: it asks for
       height 3 again, and gets the same batch, not the next one. */
    s_proposed_one(f, 3, "first", again);
    assert_memory_equal(digest, again, 32);
    assert_int_equal(s_stats(f)->reserved, 1);
    ob_chunk_t ours = s_own_chunk(f, 3, digest);
    s_own(f, &ours, NULL, 0);
    assert_int_equal(s_answer(f, 1, OB_IMSG_SUBMIT_ASSIGNED).u.submit_assigned.tag, 1);
    s_proposed_one(f, 4, "secnd", NULL);
    assert_int_equal(s_stats(f)->handed_lost, 0);
    /* A higher height without it ever seen: given up, not proposed twice. */
    s_nothing_to_propose(f, 5);
    assert_int_equal(s_stats(f)->handed_lost, 1);
}

/* The chunk at the batch's height carries another payload (signed before
   a crash): the whole batch goes back to the front of the queue, in its
   order. */
static void test_requeued_when_height_taken(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 4, 0, 100);
    s_submit(f, 1, 1, "mine");
    s_submit(f, 2, 2, "yours");
    const char *both[2] = {"mine", "yours"};
    s_proposed(f, 2, both, 2, NULL);
    s_submit(f, 3, 3, "later");
    uint8_t other[32];
    ob_sha256(f->w.crypto, "signed earlier", 14, other);
    ob_chunk_t taken = s_own_chunk(f, 2, other);
    s_own(f, &taken, NULL, 0);
    assert_int_equal(s_answers(f), 0);
    assert_int_equal(s_stats(f)->requeued, 2);
    assert_int_equal(s_stats(f)->track_lost, 2);
    const char *all[3] = {"mine", "yours", "later"};
    uint8_t digest[32];
    s_proposed(f, 3, all, 3, digest);
    ob_chunk_t ours = s_own_chunk(f, 3, digest);
    s_own(f, &ours, NULL, 0);
    assert_int_equal(s_answers(f), 3);
    ob_imsg_t a = s_answer_for(f, 2, OB_IMSG_SUBMIT_ASSIGNED);
    assert_int_equal(a.u.submit_assigned.height, 3);
    assert_int_equal(a.u.submit_assigned.index, 1);
}

/* A client that heard nothing sends the same submit again: answered where
   it stands, queued once, while it is queued, proposed and assigned. */
static void test_submit_again_not_queued_twice(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 4, 0, 100);
    s_assert_queued(f, s_submit(f, 3, 42, "say it twice"), 3, 42);
    s_assert_queued(f, s_submit(f, 3, 42, "say it twice"), 3, 42);
    s_assert_queued(f, s_submit(f, 4, 42, "someone else"), 4, 42); /* another client */
    assert_int_equal(s_stats(f)->submitted, 2);
    const char *both[2] = {"say it twice", "someone else"};
    uint8_t digest[32];
    s_proposed(f, 5, both, 2, digest);
    s_assert_queued(f, s_submit(f, 3, 42, "say it twice"), 3, 42); /* proposed */
    ob_chunk_t ours = s_own_chunk(f, 5, digest);
    s_own(f, &ours, NULL, 0);
    assert_int_equal(s_answers(f), 2);
    assert_int_equal(s_submit(f, 3, 42, "say it twice"), 0); /* assigned: told both again */
    assert_int_equal(s_answers(f), 2);
    s_answer_at(f, 0, 3, OB_IMSG_SUBMIT_QUEUED);
    ob_imsg_t a = s_answer_at(f, 1, 3, OB_IMSG_SUBMIT_ASSIGNED);
    assert_int_equal(a.u.submit_assigned.height, 5);
    assert_int_equal(a.u.submit_assigned.index, 0);
    s_nothing_to_propose(f, 6);
    assert_int_equal(s_stats(f)->submitted, 2);
    assert_int_equal(s_stats(f)->submit_again, 3);
}

/* A restarted journal hears client_follow for a payload it never saw:
   it follows it with its index, and the Lock's answer names it. */
static void test_follow_after_restart(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 4, 0, 100);
    uint8_t digest[32];
    ob_sha256(f->w.crypto, "a batch before the crash", 24, digest);
    ob_client_id_t id = s_client(3);
    ob_builtin_app_follow(f->app, &id, 7, 9, 4, digest);
    ob_builtin_app_follow(f->app, &id, 7, 9, 4, digest); /* again: one entry */
    ob_chunk_t ours = s_own_chunk(f, 9, digest);
    s_own(f, &ours, NULL, 0);
    assert_int_equal(s_answers(f), 0); /* it heard "assigned" already */
    s_lock(f, &ours);
    ob_imsg_t locked = s_answer(f, 3, OB_IMSG_SUBMIT_LOCKED);
    assert_int_equal(locked.u.submit_locked.tag, 7);
    assert_int_equal(locked.u.submit_locked.index, 4);
    s_lock(f, &ours);
    assert_int_equal(s_answers(f), 0);
    assert_int_equal(s_stats(f)->submit_follow, 2);
    assert_int_equal(s_stats(f)->submit_locked, 1);
}

/* Just after a restart, an own chunk the journal before proposed shows
   (its broadcast) before its clients heard "assigned": a resubmit of an
   entry's bytes is that entry's, not proposed again; once only. */
static void test_submit_claims_a_batch_a_restart_left(void **state)
{
    b_fixture_t *f = *state;
    s_open(f, 4, 0, 100);
    uint8_t batch[64];
    ob_batch_put_header(batch, 2);
    size_t len = OB_BATCH_HEADER_LEN;
    ob_batch_put_entry(batch, &len, (const uint8_t *)"in flight", 9);
    ob_batch_put_entry(batch, &len, (const uint8_t *)"also", 4);
    uint8_t digest[32];
    ob_sha256(f->w.crypto, batch, len, digest);
    ob_chunk_t inflight = s_own_chunk(f, 11, digest);
    s_own(f, &inflight, batch, len);
    assert_int_equal(s_answers(f), 0);

    assert_int_equal(s_submit(f, 3, 5, "also"), 1);
    assert_int_equal(f->query, 11); /* the journal sends the Lock it may hold */
    assert_int_equal(s_answers(f), 2);
    s_answer_at(f, 0, 3, OB_IMSG_SUBMIT_QUEUED);
    ob_imsg_t a = s_answer_at(f, 1, 3, OB_IMSG_SUBMIT_ASSIGNED);
    assert_int_equal(a.u.submit_assigned.height, 11);
    assert_int_equal(a.u.submit_assigned.index, 1);
    assert_memory_equal(a.u.submit_assigned.payload, digest, 32);
    assert_int_equal(s_stats(f)->submit_claimed, 1);
    assert_int_equal(ob_builtin_app_queued(f->app), 0);
    s_lock(f, &inflight);
    assert_int_equal(s_answer(f, 3, OB_IMSG_SUBMIT_LOCKED).u.submit_locked.index, 1);
    /* Claimed once: the same bytes again are a new payload. */
    s_assert_queued(f, s_submit(f, 3, 6, "also"), 3, 6);
    /* A chunk at or above what was proposed here is never claimed. */
    s_proposed_one(f, 12, "also", digest);
    ob_chunk_t mine = s_own_chunk(f, 12, digest);
    s_own(f, &mine, NULL, 0);
    s_assert_queued(f, s_submit(f, 3, 7, "also"), 3, 7);
    assert_int_equal(s_stats(f)->submit_claimed, 1);
}

/* ======================================================================= */
/* the adaptive batch bound                                                 */
/* ======================================================================= */

#define B_BIG_MAX   65536
#define B_ENTRY     1000
#define B_ENTRY_LEN (OB_BATCH_ENTRY_LEN + B_ENTRY)

/* A fresh app over an arena of B_BIG_MAX slots (max_payload B_BIG_MAX),
   batch_bytes and batch_slow_ms as given, with `count` payloads of
   B_ENTRY bytes queued. */
static void s_open_adaptive(b_fixture_t *f, uint32_t batch_bytes, uint32_t slow_ms, uint32_t count)
{
    ob_builtin_app_destroy(&f->app);
    ob_arena_destroy(&f->arena);
    f->arena = ob_arena_new_heap(4, B_BIG_MAX, NULL);
    assert_non_null(f->arena);
    ob_builtin_app_config_t config = {
        .queue_max = 1024, .track_max = 1024, .batch_bytes = batch_bytes, .batch_slow_ms = slow_ms};
    config.env = s_env(f);
    config.env.params.max_payload = B_BIG_MAX;
    ob_why_t why = {{0}};
    f->app = ob_builtin_app_new(&config, &why);
    if (!f->app)
        fail_msg("builtin app: %s", why.text);
    static uint8_t data[B_ENTRY];
    for (uint32_t i = 0; i < count; i++) {
        memset(data, (int)i, sizeof data);
        assert_int_equal(s_submit_in(f, 1, 1, i, data, sizeof data), 0);
    }
}

/* Proposes `height` at `now`: the batch must hold `entries` payloads.
   Its chunk is then this node's own (signed and sent); the digest goes
   to `digest`. */
static void s_propose_at(b_fixture_t *f, uint64_t height, uint64_t now, uint32_t entries,
                         uint8_t digest[32])
{
    ob_handle_t handle;
    assert_int_equal(ob_builtin_app_propose(f->app, height, now, OB_ACTOR_JOURNAL, &handle), 0);
    assert_int_equal(handle.len, OB_BATCH_HEADER_LEN + entries * B_ENTRY_LEN);
    memcpy(digest, handle.digest, 32);
    assert_int_equal(ob_arena_release(f->arena, &handle, OB_ACTOR_JOURNAL), 0);
    ob_chunk_t chunk = s_own_chunk(f, height, digest);
    s_own(f, &chunk, NULL, 0);
}

static void s_certified_at(b_fixture_t *f, uint64_t height, const uint8_t digest[32], uint64_t now)
{
    ob_chunk_t chunk = s_own_chunk(f, height, digest);
    ob_builtin_app_certified(f->app, &chunk, now);
}

/* A chunk slower than batch_slow_ms shrinks the bound in proportion to
   its bytes, never below 4 KiB; a fast one that filled the bound at least
   half grows it by a quarter (at least 4 KiB), up to batch_bytes; one in
   between, or fast but small (an empty queue made it so), changes
   nothing. */
static void test_batch_bound_adapts(void **state)
{
    b_fixture_t *f = *state;
    s_open_adaptive(f, B_BIG_MAX, 500, 600);
    assert_int_equal(ob_builtin_app_batch_limit(f->app), B_BIG_MAX);
    uint8_t d[32];
    const uint32_t full = (B_BIG_MAX - OB_BATCH_HEADER_LEN) / B_ENTRY_LEN; /* 65 */
    const uint32_t len0 = OB_BATCH_HEADER_LEN + full * B_ENTRY_LEN;
    uint64_t h = 0, now = 1000;
    s_propose_at(f, h, now, full, d);
    s_certified_at(f, h++, d, now += 2000); /* 2 s: four times too slow */
    assert_int_equal(ob_builtin_app_batch_limit(f->app), len0 * 500 / 2000);
    assert_int_equal(s_stats(f)->batch_shrunk, 1);

    uint32_t limit = ob_builtin_app_batch_limit(f->app);
    s_propose_at(f, h, now, (limit - OB_BATCH_HEADER_LEN) / B_ENTRY_LEN, d);
    s_certified_at(f, h++, d, now += 100); /* fast and full: grown by 4 KiB */
    assert_int_equal(ob_builtin_app_batch_limit(f->app), limit + 4096);
    assert_int_equal(s_stats(f)->batch_grown, 1);

    limit = ob_builtin_app_batch_limit(f->app);
    s_propose_at(f, h, now, (limit - OB_BATCH_HEADER_LEN) / B_ENTRY_LEN, d);
    s_certified_at(f, h++, d, now += 100000); /* 100 s: down to the floor, not below */
    assert_int_equal(ob_builtin_app_batch_limit(f->app), 4096);
    assert_int_equal(s_stats(f)->batch_shrunk, 2);

    const uint32_t four = (4096 - OB_BATCH_HEADER_LEN) / B_ENTRY_LEN; /* 4 */
    s_propose_at(f, h, now, four, d);
    s_certified_at(f, h++, d, now += 300); /* between half and all of slow: kept */
    assert_int_equal(ob_builtin_app_batch_limit(f->app), 4096);

    /* Fast chunks grow it back: by 4 KiB while that is more than a
       quarter, then by a quarter, and never past batch_bytes. */
    uint64_t grown = s_stats(f)->batch_grown;
    while ((limit = ob_builtin_app_batch_limit(f->app)) < B_BIG_MAX) {
        s_propose_at(f, h, now, (limit - OB_BATCH_HEADER_LEN) / B_ENTRY_LEN, d);
        s_certified_at(f, h++, d, now += 1);
        uint32_t step = limit / 4 > 4096 ? limit / 4 : 4096;
        uint32_t want = limit + step < B_BIG_MAX ? limit + step : B_BIG_MAX;
        assert_int_equal(ob_builtin_app_batch_limit(f->app), want);
        assert_int_equal(s_stats(f)->batch_grown, ++grown);
    }
    assert_true(grown >= 1 + 8); /* 4, 8, 12, 16 KiB, then a quarter at a time */
    s_propose_at(f, h, now, full, d);
    s_certified_at(f, h++, d, now += 1); /* at batch_bytes already */
    assert_int_equal(ob_builtin_app_batch_limit(f->app), B_BIG_MAX);
    assert_int_equal(s_stats(f)->batch_grown, grown);

    /* Slow, then fast but small: the queue, not the bound, made it small,
       so it proves nothing about the bound. */
    s_open_adaptive(f, B_BIG_MAX, 500, full + 5);
    s_propose_at(f, 0, 0, full, d);
    s_certified_at(f, 0, d, 1000);
    limit = ob_builtin_app_batch_limit(f->app);
    assert_int_equal(limit, len0 / 2);
    assert_true(5 * B_ENTRY_LEN * 2 < limit);
    s_propose_at(f, 1, 1000, 5, d);
    s_certified_at(f, 1, d, 1001);
    assert_int_equal(ob_builtin_app_batch_limit(f->app), limit);
    assert_int_equal(s_stats(f)->batch_grown, 0);
    assert_int_equal(s_stats(f)->batch_shrunk, 1);
}

/* Only the timed proposal's own certificate counts, once; a proposal
   served again after a crash keeps the time of its first. */
static void test_batch_bound_times_its_own_proposal(void **state)
{
    b_fixture_t *f = *state;
    s_open_adaptive(f, B_BIG_MAX, 500, 200);
    const uint32_t full = (B_BIG_MAX - OB_BATCH_HEADER_LEN) / B_ENTRY_LEN;
    uint8_t d[32], other[32];
    ob_handle_t handle;
    assert_int_equal(ob_builtin_app_propose(f->app, 0, 1000, OB_ACTOR_JOURNAL, &handle), 0);
    memcpy(d, handle.digest, 32);
    ob_arena_release(f->arena, &handle, OB_ACTOR_JOURNAL);
    /* the journal crashed before the payload was durable: asked again */
    assert_int_equal(ob_builtin_app_propose(f->app, 0, 1900, OB_ACTOR_JOURNAL, &handle), 0);
    assert_memory_equal(handle.digest, d, 32);
    ob_arena_release(f->arena, &handle, OB_ACTOR_JOURNAL);
    memset(other, 0x77, sizeof other);
    s_certified_at(f, 0, other, 5000); /* another payload at its height */
    s_certified_at(f, 1, d, 5000);     /* another height */
    ob_chunk_t theirs = s_own_chunk(f, 0, d);
    memcpy(theirs.sequencer, f->w.keys[1].pub.bytes, 32);
    ob_builtin_app_certified(f->app, &theirs, 5000); /* another chain */
    assert_int_equal(ob_builtin_app_batch_limit(f->app), B_BIG_MAX);
    assert_int_equal(s_stats(f)->batch_timed, 0);
    s_certified_at(f, 0, d, 2000); /* 1 s from the first ask, not 0.1 s */
    assert_int_equal(s_stats(f)->batch_timed, 1);
    assert_int_equal(s_stats(f)->batch_last_ms, 1000);
    uint32_t len0 = OB_BATCH_HEADER_LEN + full * B_ENTRY_LEN;
    assert_int_equal(ob_builtin_app_batch_limit(f->app), len0 / 2);
    s_certified_at(f, 0, d, 9000); /* counted once */
    assert_int_equal(ob_builtin_app_batch_limit(f->app), len0 / 2);
    assert_int_equal(s_stats(f)->batch_timed, 1);
    assert_int_equal(s_stats(f)->batch_shrunk, 1);
}

/* batch_slow_ms = 0 keeps the bound; batching off has none to adapt. */
static void test_batch_bound_fixed(void **state)
{
    b_fixture_t *f = *state;
    uint8_t d[32];
    s_open_adaptive(f, B_BIG_MAX, 0, 100);
    s_propose_at(f, 0, 0, (B_BIG_MAX - OB_BATCH_HEADER_LEN) / B_ENTRY_LEN, d);
    s_certified_at(f, 0, d, 60000);
    assert_int_equal(ob_builtin_app_batch_limit(f->app), B_BIG_MAX);
    assert_int_equal(s_stats(f)->batch_shrunk, 0);

    s_open_adaptive(f, 0, 500, 2);
    assert_int_equal(ob_builtin_app_batch_limit(f->app), 0);
    ob_handle_t handle;
    assert_int_equal(ob_builtin_app_propose(f->app, 0, 0, OB_ACTOR_JOURNAL, &handle), 0);
    assert_int_equal(handle.len, B_ENTRY); /* the payload itself */
    memcpy(d, handle.digest, 32);
    ob_arena_release(f->arena, &handle, OB_ACTOR_JOURNAL);
    s_certified_at(f, 0, d, 60000);
    assert_int_equal(ob_builtin_app_batch_limit(f->app), 0);
    assert_int_equal(s_stats(f)->batch_shrunk, 0);

    /* a batch_bytes under 4 KiB is its own floor */
    s_open_adaptive(f, 2048, 500, 10);
    s_propose_at(f, 0, 0, (2048 - OB_BATCH_HEADER_LEN) / B_ENTRY_LEN, d);
    s_certified_at(f, 0, d, 60000);
    assert_int_equal(ob_builtin_app_batch_limit(f->app), 2048);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_batch_codec_round_trip),
        T(test_batch_codec_refusals),
        T(test_batches_up_to_the_bound),
        T(test_batch_bound_edges),
        T(test_batching_off_one_per_chunk),
        T(test_verify_batches),
        T(test_submit_refusals),
        T(test_queue_bytes_bound),
        T(test_propose_without_a_slot),
        T(test_answers_one_message_per_client),
        T(test_track_full_drops_oldest),
        T(test_reserved_after_lost_proposal),
        T(test_requeued_when_height_taken),
        T(test_submit_again_not_queued_twice),
        T(test_follow_after_restart),
        T(test_submit_claims_a_batch_a_restart_left),
        T(test_batch_bound_adapts),
        T(test_batch_bound_times_its_own_proposal),
        T(test_batch_bound_fixed),
    };
#undef T
    return cmocka_run_group_tests_name("builtin_app", tests, NULL, NULL);
}

/*  net's application and submit sockets (SPEC §5; proto/imsg.csv,
    "Outside the node"): every frame goes in through the real imsg codec as
    the shell hands it over, and every answer is read back out of the
    outbox through the codec too.

    Node key 0 is "this node". Epoch 1 has every key as sequencer; epoch 2
    leaves key 0 out of its sequencers. */
#include "testutil.h"

#include "batch.h"

#include "log.h"
#include "net.h"
#include "outbox.h"
#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_SLOTS     64
#define N_SLOT_SIZE 4096
#define N_MAX       N_SLOT_SIZE /* the manifest's max_payload */

typedef struct {
    tu_four_t w; /* keys, namespace, epochs: key 0 is this node */
    ob_arena_t *arena;
    ob_outbox_t *out;
    ob_net_t *net;
} n_fixture_t;

static int s_setup(void **state)
{
    n_fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    ob_log_set_level(OB_LOG_ERROR);
    tu_four_init(&f->w, "net-app-test");
    f->arena = ob_arena_new_heap(N_SLOTS, N_SLOT_SIZE, NULL);
    assert_non_null(f->arena);
    f->out = ob_outbox_new(256, 1u << 20);
    assert_non_null(f->out);
    return 0;
}

static int s_teardown(void **state)
{
    n_fixture_t *f = *state;
    ob_net_destroy(&f->net);
    ob_outbox_destroy(&f->out);
    ob_arena_destroy(&f->arena);
    tu_four_fini(&f->w);
    free(f);
    return 0;
}

/* The credentials of the application's connection, and of another one. */
#define N_APP   "localhost:1000:1000:4242"
#define N_OTHER "localhost:1000:1000:4343"

/* attached: an external application attached from the start as N_APP;
   else the built-in application. */
static void s_open(n_fixture_t *f, bool attached)
{
    ob_net_config_t config = {.application = attached ? OB_NET_APP_EXTERNAL : OB_NET_APP_BUILTIN,
                              .app_attached = attached,
                              .app_who = N_APP};
    config.env.ns = &f->w.ns;
    config.env.epochs = f->w.epochs;
    config.env.params = OB_PARAMS_DEFAULT;
    config.env.params.max_payload = N_MAX;
    config.env.arena = f->arena;
    memcpy(config.env.self_key, f->w.keys[0].pub.bytes, 32);
    ob_why_t why = {{0}};
    f->net = ob_net_new(&config, &why);
    if (!f->net)
        fail_msg("net: %s", why.text);
    ob_outbox_clear(f->out);
}

/* application = external, none attached yet. */
static void s_open_external(n_fixture_t *f)
{
    ob_net_config_t config = {.application = OB_NET_APP_EXTERNAL};
    config.env.ns = &f->w.ns;
    config.env.epochs = f->w.epochs;
    config.env.params = OB_PARAMS_DEFAULT;
    config.env.params.max_payload = N_MAX;
    config.env.arena = f->arena;
    memcpy(config.env.self_key, f->w.keys[0].pub.bytes, 32);
    ob_why_t why = {{0}};
    f->net = ob_net_new(&config, &why);
    if (!f->net)
        fail_msg("net: %s", why.text);
    ob_outbox_clear(f->out);
}

static const ob_net_stats_t *s_stats(n_fixture_t *f)
{
    return ob_net_stats(f->net);
}

/* --- frames in ------------------------------------------------------------ */

static size_t s_encode(const ob_imsg_t *msg, uint8_t **frame)
{
    size_t len = ob_imsg_encoded_len(msg), written = 0;
    *frame = malloc(len);
    assert_non_null(*frame);
    assert_int_equal(ob_imsg_encode(msg, *frame, len, &written), 0);
    assert_int_equal(written, len);
    return len;
}

/* A message from another actor, through the codec. The outbox is emptied
   first, so afterwards it holds what this message made. */
static void s_internal(n_fixture_t *f, const ob_imsg_t *msg)
{
    uint8_t *frame = NULL;
    ob_imsg_t decoded = tu_through_codec(msg, &frame);
    ob_outbox_clear(f->out);
    ob_net_handle(f->net, tu_sender(OB_PARTY_NET, &decoded), &decoded, f->out);
    free(frame);
}

static void s_app_raw_from(n_fixture_t *f, const char *who, uint64_t now, const uint8_t *frame,
                           size_t len)
{
    ob_outbox_clear(f->out);
    ob_net_on_app(f->net, now, who, frame, len, f->out);
}

static void s_app_raw(n_fixture_t *f, uint64_t now, const uint8_t *frame, size_t len)
{
    s_app_raw_from(f, N_APP, now, frame, len);
}

static void s_app_from(n_fixture_t *f, const char *who, uint64_t now, const ob_imsg_t *msg)
{
    uint8_t *frame;
    size_t len = s_encode(msg, &frame);
    s_app_raw_from(f, who, now, frame, len);
    free(frame);
}

static void s_app(n_fixture_t *f, uint64_t now, const ob_imsg_t *msg)
{
    s_app_from(f, N_APP, now, msg);
}

static void s_attach_from(n_fixture_t *f, const char *who, uint64_t now)
{
    ob_imsg_t msg = {.type = OB_IMSG_APP_ATTACH};
    s_app_from(f, who, now, &msg);
}

static void s_attach(n_fixture_t *f, uint64_t now)
{
    s_attach_from(f, N_APP, now);
}

static void s_tick(n_fixture_t *f, uint64_t now)
{
    ob_outbox_clear(f->out);
    ob_net_tick(f->net, now, f->out);
}

static ob_client_id_t s_client(uint8_t n)
{
    ob_client_id_t id = {.len = 5, .id = {0, 0x6b, 0x8b, 0x45, n}};
    return id;
}

static void s_client_raw(n_fixture_t *f, uint8_t client, const uint8_t *frame, size_t len)
{
    ob_client_id_t id = s_client(client);
    ob_outbox_clear(f->out);
    ob_net_on_client(f->net, &id, frame, len, f->out);
}

static void s_submit(n_fixture_t *f, uint8_t client, uint64_t tag, const void *data, size_t len)
{
    ob_imsg_t msg = {.type = OB_IMSG_SUBMIT};
    msg.u.submit.tag = tag;
    msg.u.submit.data = (ob_blob_t){data, (uint32_t)len};
    uint8_t *frame;
    size_t frame_len = s_encode(&msg, &frame);
    s_client_raw(f, client, frame, frame_len);
    free(frame);
}

static void s_epoch(n_fixture_t *f, uint64_t epoch)
{
    ob_imsg_t msg = {.type = OB_IMSG_EPOCH_CHANGED};
    msg.u.epoch_changed.epoch = epoch;
    s_internal(f, &msg);
}

static void s_propose(n_fixture_t *f, uint64_t height)
{
    ob_imsg_t msg = {.type = OB_IMSG_APP_PROPOSE};
    msg.u.app_propose.epoch = 1;
    msg.u.app_propose.height = height;
    s_internal(f, &msg);
}

static ob_chunk_t s_chunk(n_fixture_t *f, int sequencer, uint64_t height, const void *payload,
                          size_t len)
{
    ob_chunk_t chunk;
    memcpy(chunk.sequencer, f->w.keys[sequencer].pub.bytes, 32);
    chunk.height = height;
    ob_sha256(f->w.crypto, payload, len, chunk.payload);
    return chunk;
}

static void s_report_tip(n_fixture_t *f, const ob_chunk_t *chunk)
{
    ob_imsg_t msg = {.type = OB_IMSG_REPORT_TIP};
    msg.u.report_tip.chunk = *chunk;
    s_internal(f, &msg);
}

/* A Lock on `chunk` in epoch 1 by validators 0, 1, 2. Net checks the
   encoding, not the signatures (the verifier and signer did). */
static size_t s_lock(const ob_chunk_t *chunk, uint8_t *out, size_t cap)
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

static void s_report_lock(n_fixture_t *f, const uint8_t *lock, size_t len)
{
    ob_imsg_t msg = {.type = OB_IMSG_REPORT_LOCK};
    msg.u.report_lock.lock = (ob_blob_t){lock, (uint32_t)len};
    s_internal(f, &msg);
}

/* --- what came out ---------------------------------------------------------- */

/* How many envelopes of `kind` hold a message of `type`. */
static size_t s_count(n_fixture_t *f, ob_dest_kind_t kind, ob_imsg_type_t type)
{
    size_t n = 0;
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        ob_imsg_t msg;
        if (e->kind != kind)
            continue;
        assert_int_equal(ob_imsg_decode(&msg, ob_outbox_bytes(f->out, e), e->len), OB_OK);
        if (msg.type == type)
            n++;
    }
    return n;
}

static size_t s_count_kind(n_fixture_t *f, ob_dest_kind_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < ob_outbox_count(f->out); i++)
        if (ob_outbox_at(f->out, i)->kind == kind)
            n++;
    return n;
}

/* The one envelope of `kind` holding `type`, decoded (its blobs view the
   outbox until it is cleared). */
static ob_imsg_t s_the(n_fixture_t *f, ob_dest_kind_t kind, ob_imsg_type_t type,
                       const ob_envelope_t **envelope)
{
    assert_int_equal(s_count(f, kind, type), 1);
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        ob_imsg_t msg;
        if (e->kind != kind)
            continue;
        assert_int_equal(ob_imsg_decode(&msg, ob_outbox_bytes(f->out, e), e->len), OB_OK);
        if (msg.type == type) {
            if (envelope)
                *envelope = e;
            return msg;
        }
    }
    fail();
    return (ob_imsg_t){0};
}

/* The answer to client `client`, which must be the only one. */
static ob_imsg_t s_answer(n_fixture_t *f, uint8_t client, ob_imsg_type_t type)
{
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 1);
    const ob_envelope_t *e = NULL;
    ob_imsg_t msg = s_the(f, OB_DEST_CLIENT, type, &e);
    ob_client_id_t id = s_client(client);
    assert_int_equal(e->client.len, id.len);
    assert_memory_equal(e->client.id, id.id, id.len);
    return msg;
}

/* The n-th envelope for a client, which must be `type` to `client`. */
static ob_imsg_t s_answer_nth(n_fixture_t *f, size_t n, uint8_t client, ob_imsg_type_t type)
{
    size_t seen = 0;
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        if (e->kind != OB_DEST_CLIENT || seen++ != n)
            continue;
        ob_imsg_t msg;
        assert_int_equal(ob_imsg_decode(&msg, ob_outbox_bytes(f->out, e), e->len), OB_OK);
        assert_int_equal(msg.type, type);
        ob_client_id_t id = s_client(client);
        assert_int_equal(e->client.len, id.len);
        assert_memory_equal(e->client.id, id.id, id.len);
        return msg;
    }
    fail_msg("no client envelope %zu", n);
    return (ob_imsg_t){0};
}

static void s_assert_refused(n_fixture_t *f, uint8_t client, uint64_t tag,
                             ob_submit_refusal_t reason)
{
    ob_imsg_t msg = s_answer(f, client, OB_IMSG_SUBMIT_REFUSED);
    assert_int_equal(msg.u.submit_refused.tag, tag);
    assert_int_equal(msg.u.submit_refused.reason, reason);
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_APP_PAYLOAD), 0);
}

/* The submit net passed the journal: the client, its tag and its bytes
   in a slot (which the journal takes and frees, as it would). */
static void s_passed(n_fixture_t *f, uint8_t client, uint64_t tag, const void *data, size_t len)
{
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);
    ob_imsg_t msg = s_the(f, OB_DEST_ACTOR, OB_IMSG_SUBMITTED, NULL);
    ob_client_id_t id = s_client(client);
    assert_int_equal(msg.u.submitted.client.len, id.len);
    assert_memory_equal(msg.u.submitted.client.data, id.id, id.len);
    assert_int_equal(msg.u.submitted.tag, tag);
    assert_int_equal(msg.u.submitted.payload.len, len);
    const uint8_t *bytes = ob_arena_get(f->arena, &msg.u.submitted.payload);
    assert_non_null(bytes);
    if (len)
        assert_memory_equal(bytes, data, len);
    assert_int_equal(ob_arena_take(f->arena, &msg.u.submitted.payload, OB_ACTOR_JOURNAL), 0);
    assert_int_equal(ob_arena_release(f->arena, &msg.u.submitted.payload, OB_ACTOR_JOURNAL), 0);
}

/* The payload net handed the journal: its height and bytes. */
static ob_imsg_t s_handed(n_fixture_t *f, uint64_t height, const void *data, size_t len)
{
    ob_imsg_t msg = s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_PAYLOAD, NULL);
    assert_int_equal(msg.u.app_payload.height, height);
    assert_int_equal(msg.u.app_payload.payload.len, len);
    const uint8_t *bytes = ob_arena_get(f->arena, &msg.u.app_payload.payload);
    assert_non_null(bytes);
    assert_memory_equal(bytes, data, len);
    /* The journal takes and frees it, as it would. */
    assert_int_equal(ob_arena_take(f->arena, &msg.u.app_payload.payload, OB_ACTOR_JOURNAL), 0);
    assert_int_equal(ob_arena_release(f->arena, &msg.u.app_payload.payload, OB_ACTOR_JOURNAL), 0);
    return msg;
}

/* A dropped message went to the journal with `why`, and net counted it. */
static void s_assert_dropped(n_fixture_t *f, ob_error_t why, uint64_t times)
{
    ob_imsg_t msg = s_the(f, OB_DEST_ACTOR, OB_IMSG_DROPPED, NULL);
    assert_int_equal(msg.u.dropped.error, why);
    assert_int_equal(msg.u.dropped.actor, OB_ACTOR_NET);
    assert_int_equal(s_stats(f)->dropped[why], times);
}

/* ======================================================================= */
/* the application socket                                                   */
/* ======================================================================= */

static void test_app_attach_asks_the_pending_proposal(void **state)
{
    n_fixture_t *f = *state;
    s_open_external(f);
    assert_false(ob_net_app_attached(f->net));
    s_propose(f, 0); /* nobody attached: nothing proposes */
    assert_int_equal(ob_outbox_count(f->out), 0);

    s_attach(f, 1000);
    assert_true(ob_net_app_attached(f->net));
    assert_int_equal(ob_outbox_count(f->out), 2);
    s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_ATTACHED, NULL); /* the journal re-asks at once */
    ob_imsg_t ask = s_the(f, OB_DEST_APP, OB_IMSG_APP_ASK_PAYLOAD, NULL);
    assert_int_equal(ask.u.app_ask_payload.epoch, 1);
    assert_int_equal(ask.u.app_ask_payload.height, 0);

    /* A heartbeat asks nothing again. */
    s_attach(f, 1500);
    assert_int_equal(ob_outbox_count(f->out), 0);

    ob_imsg_t give = {.type = OB_IMSG_APP_GIVE_PAYLOAD};
    give.u.app_give_payload.height = 0;
    give.u.app_give_payload.data = (ob_blob_t){(const uint8_t *)"batch zero", 10};
    s_app(f, 1600, &give);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t handed = s_handed(f, 0, "batch zero", 10);
    ob_chunk_t chunk = s_chunk(f, 0, 0, "batch zero", 10);
    assert_memory_equal(handed.u.app_payload.payload.digest, chunk.payload, 32);

    const ob_net_stats_t *stats = s_stats(f);
    assert_int_equal(stats->app_attaches, 1);
    assert_int_equal(stats->app_in, 3);
    assert_int_equal(stats->app_dropped, 0);
    assert_int_equal(stats->proposals_answered, 1);
}

static void test_app_propose_goes_to_the_app(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, true);
    s_propose(f, 7);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t ask = s_the(f, OB_DEST_APP, OB_IMSG_APP_ASK_PAYLOAD, NULL);
    assert_int_equal(ask.u.app_ask_payload.height, 7);
    assert_int_equal(s_count_kind(f, OB_DEST_ACTOR), 0);
}

static ob_handle_t s_stage(n_fixture_t *f, const void *data, size_t len)
{
    ob_handle_t handle;
    assert_int_equal(
        ob_arena_put(f->arena, f->w.crypto, OB_ACTOR_JOURNAL, data, (uint32_t)len, &handle), 0);
    return handle;
}

static void s_verify(n_fixture_t *f, const ob_chunk_t *chunk, const ob_handle_t *handle)
{
    ob_imsg_t msg = {.type = OB_IMSG_APP_VERIFY};
    msg.u.app_verify.chunk = *chunk;
    msg.u.app_verify.payload = *handle;
    s_internal(f, &msg);
}

static void test_app_ask_verdict_carries_the_bytes(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, true);
    ob_chunk_t chunk = s_chunk(f, 2, 4, "peer batch", 10);
    ob_handle_t handle = s_stage(f, "peer batch", 10);
    s_verify(f, &chunk, &handle);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t ask = s_the(f, OB_DEST_APP, OB_IMSG_APP_ASK_VERDICT, NULL);
    assert_memory_equal(&ask.u.app_ask_verdict.chunk, &chunk, sizeof chunk);
    assert_int_equal(ask.u.app_ask_verdict.data.len, 10);
    assert_memory_equal(ask.u.app_ask_verdict.data.data, "peer batch", 10);

    /* The slot is net's until the outbox is sent. */
    assert_int_equal(ob_arena_in_use(f->arena), 1);
    ob_net_flushed(f->net);
    assert_int_equal(ob_arena_in_use(f->arena), 0);

    /* An empty payload is asked about too. */
    ob_chunk_t empty = s_chunk(f, 2, 5, "", 0);
    ob_handle_t empty_handle = s_stage(f, "", 0);
    s_verify(f, &empty, &empty_handle);
    ask = s_the(f, OB_DEST_APP, OB_IMSG_APP_ASK_VERDICT, NULL);
    assert_int_equal(ask.u.app_ask_verdict.data.len, 0);

    /* The answer goes to the journal. */
    ob_imsg_t give = {.type = OB_IMSG_APP_GIVE_VERDICT};
    give.u.app_give_verdict.chunk = chunk;
    give.u.app_give_verdict.valid = true;
    s_app(f, 10, &give);
    ob_imsg_t verdict = s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_VERDICT, NULL);
    assert_memory_equal(&verdict.u.app_verdict.chunk, &chunk, sizeof chunk);
    assert_true(verdict.u.app_verdict.valid);
    give.u.app_give_verdict.valid = false;
    s_app(f, 10, &give);
    verdict = s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_VERDICT, NULL);
    assert_false(verdict.u.app_verdict.valid);
}

static void test_app_ask_verdict_not_on_stale_or_changed_bytes(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, true);
    ob_chunk_t chunk = s_chunk(f, 2, 4, "peer batch", 10);

    /* A stale handle: net cannot even take it. */
    ob_handle_t stale = s_stage(f, "peer batch", 10);
    assert_int_equal(ob_arena_release(f->arena, &stale, OB_ACTOR_JOURNAL), 0);
    s_verify(f, &chunk, &stale);
    assert_int_equal(ob_outbox_count(f->out), 0);

    /* Bytes changed behind the digest (net faces the world: SPEC §4). */
    ob_handle_t changed = s_stage(f, "peer batch", 10);
    uint8_t *bytes = (uint8_t *)ob_arena_get(f->arena, &changed);
    assert_non_null(bytes);
    bytes[0] ^= 1;
    s_verify(f, &chunk, &changed);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(s_stats(f)->app_asks_stale, 1);
    ob_net_flushed(f->net);
    assert_int_equal(ob_arena_in_use(f->arena), 0);

    /* Bytes that are not the chunk's payload: invalid, without asking. */
    ob_handle_t other = s_stage(f, "other batch", 11);
    s_verify(f, &chunk, &other);
    assert_int_equal(s_count_kind(f, OB_DEST_APP), 0);
    ob_imsg_t verdict = s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_VERDICT, NULL);
    assert_false(verdict.u.app_verdict.valid);
}

static void test_app_reports(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, true);
    ob_chunk_t chunk = s_chunk(f, 1, 3, "three", 5);
    s_report_tip(f, &chunk);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t tip = s_the(f, OB_DEST_APP, OB_IMSG_APP_TIP, NULL);
    assert_memory_equal(&tip.u.app_tip.chunk, &chunk, sizeof chunk);

    uint8_t lock[512];
    size_t lock_len = s_lock(&chunk, lock, sizeof lock);
    s_report_lock(f, lock, lock_len);
    assert_int_equal(ob_outbox_count(f->out), 1); /* the app confirms it, not net */
    ob_imsg_t report = s_the(f, OB_DEST_APP, OB_IMSG_APP_LOCK, NULL);
    assert_int_equal(report.u.app_lock.lock.len, lock_len);
    assert_memory_equal(report.u.app_lock.lock.data, lock, lock_len);

    ob_imsg_t received = {.type = OB_IMSG_APP_LOCK_RECEIVED};
    received.u.app_lock_received.chunk = chunk;
    s_app(f, 10, &received);
    ob_imsg_t delivered = s_the(f, OB_DEST_ACTOR, OB_IMSG_LOCK_DELIVERED, NULL);
    assert_memory_equal(&delivered.u.lock_delivered.chunk, &chunk, sizeof chunk);

    ob_imsg_t evidence = {.type = OB_IMSG_REPORT_EVIDENCE};
    evidence.u.report_evidence.kind = 2;
    evidence.u.report_evidence.first = (ob_blob_t){(const uint8_t *)"first", 5};
    evidence.u.report_evidence.second = (ob_blob_t){(const uint8_t *)"second!", 7};
    s_internal(f, &evidence);
    ob_imsg_t told = s_the(f, OB_DEST_APP, OB_IMSG_APP_EVIDENCE, NULL);
    assert_int_equal(told.u.app_evidence.kind, 2);
    assert_memory_equal(told.u.app_evidence.first.data, "first", 5);
    assert_int_equal(told.u.app_evidence.second.len, 7);

    const ob_net_stats_t *stats = s_stats(f);
    assert_int_equal(stats->reports_tip, 1);
    assert_int_equal(stats->reports_lock, 1);
    assert_int_equal(stats->reports_evidence, 1);
}

/* Under the built-in application (the journal's) net has nothing to
   report to and nobody to ask: reports and verify requests make nothing,
   and a verify request's slot is freed once the outbox is sent. */
static void test_builtin_reports(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    ob_chunk_t chunk = s_chunk(f, 1, 3, "three", 5);
    s_report_tip(f, &chunk);
    assert_int_equal(ob_outbox_count(f->out), 0);
    uint8_t lock[512];
    s_report_lock(f, lock, s_lock(&chunk, lock, sizeof lock));
    assert_int_equal(ob_outbox_count(f->out), 0);
    uint32_t in_use = ob_arena_in_use(f->arena);
    ob_handle_t good = s_stage(f, "three", 5);
    s_verify(f, &chunk, &good);
    assert_int_equal(ob_outbox_count(f->out), 0);
    ob_net_flushed(f->net);
    assert_int_equal(ob_arena_in_use(f->arena), in_use);
    s_propose(f, 4);
    assert_int_equal(ob_outbox_count(f->out), 0);
}

static void test_app_wrong_direction(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, true);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero", 4);
    ob_imsg_t wrong[8];
    memset(wrong, 0, sizeof wrong);
    wrong[0].type = OB_IMSG_APP_ASK_PAYLOAD; /* net's own words */
    wrong[1].type = OB_IMSG_APP_TIP;
    wrong[1].u.app_tip.chunk = chunk;
    wrong[2].type = OB_IMSG_APP_PAYLOAD; /* internal: the journal's */
    wrong[3].type = OB_IMSG_LOCK_DELIVERED;
    wrong[3].u.lock_delivered.chunk = chunk;
    wrong[4].type = OB_IMSG_SUBMIT; /* the submit socket's */
    wrong[5].type = OB_IMSG_SUBMIT_QUEUED;
    wrong[6].type = OB_IMSG_SET_EPOCH; /* the operator's */
    wrong[6].u.set_epoch.epoch = 9;
    wrong[7].type = OB_IMSG_APP_PROPOSE;
    for (size_t i = 0; i < 8; i++) {
        s_app(f, 10, &wrong[i]);
        assert_int_equal(ob_outbox_count(f->out), 1);
        s_assert_dropped(f, OB_ERR_UNKNOWN_TYPE, i + 1);
    }
    assert_int_equal(s_stats(f)->app_dropped, 8);
    assert_int_equal(s_stats(f)->app_in, 0);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

static void test_app_malformed(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, true);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero", 4);
    ob_imsg_t give = {.type = OB_IMSG_APP_GIVE_VERDICT};
    give.u.app_give_verdict.chunk = chunk;
    give.u.app_give_verdict.valid = true;
    uint8_t *frame;
    size_t len = s_encode(&give, &frame);

    s_app_raw(f, 10, frame, 0);
    s_assert_dropped(f, OB_ERR_SHORT, 1);
    s_app_raw(f, 10, frame, 2);
    s_assert_dropped(f, OB_ERR_SHORT, 2);
    s_app_raw(f, 10, frame, len - 1);
    s_assert_dropped(f, OB_ERR_SHORT, 3);

    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, frame, len);
    longer[len] = 0;
    s_app_raw(f, 10, longer, len + 1);
    s_assert_dropped(f, OB_ERR_TRAILING, 1);
    free(longer);

    frame[len - 1] = 2; /* a bool is 0 or 1 */
    s_app_raw(f, 10, frame, len);
    s_assert_dropped(f, OB_ERR_BAD_FLAG, 1);
    frame[len - 1] = 1;

    frame[2] = 2; /* version */
    s_app_raw(f, 10, frame, len);
    s_assert_dropped(f, OB_ERR_BAD_VERSION, 1);
    frame[2] = 1;

    frame[0] = 0x7f; /* a type number nobody defined */
    s_app_raw(f, 10, frame, len);
    s_assert_dropped(f, OB_ERR_UNKNOWN_TYPE, 1);
    free(frame);

    /* A blob length past the frame. */
    uint8_t give_payload[3 + 8 + 4] = {0, OB_IMSG_APP_GIVE_PAYLOAD, 1};
    give_payload[3 + 8 + 3] = 9;
    s_app_raw(f, 10, give_payload, sizeof give_payload);
    s_assert_dropped(f, OB_ERR_SHORT, 4);

    const ob_net_stats_t *stats = s_stats(f);
    assert_int_equal(stats->app_dropped, 8);
    assert_int_equal(stats->app_in, 0);
    assert_int_equal(stats->app_attaches, 0);
    assert_true(ob_net_app_attached(f->net));
}

static void test_app_payload_size(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, true);
    s_propose(f, 0);
    static uint8_t data[N_MAX + 1];
    memset(data, 0xa5, sizeof data);
    ob_imsg_t give = {.type = OB_IMSG_APP_GIVE_PAYLOAD};
    give.u.app_give_payload.height = 0;
    give.u.app_give_payload.data = (ob_blob_t){data, N_MAX + 1};
    s_app(f, 10, &give);
    assert_int_equal(ob_outbox_count(f->out), 1);
    s_assert_dropped(f, OB_ERR_TOO_LARGE, 1);
    assert_int_equal(ob_arena_in_use(f->arena), 0);

    give.u.app_give_payload.data.len = N_MAX; /* exactly max_payload is allowed */
    s_app(f, 10, &give);
    s_handed(f, 0, data, N_MAX);
    assert_int_equal(s_stats(f)->dropped[OB_ERR_TOO_LARGE], 1);
}

static void test_app_answers_dropped_when_detached(void **state)
{
    n_fixture_t *f = *state;
    s_open_external(f);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero", 4);
    ob_imsg_t msgs[3] = {{.type = OB_IMSG_APP_GIVE_PAYLOAD},
                         {.type = OB_IMSG_APP_GIVE_VERDICT},
                         {.type = OB_IMSG_APP_LOCK_RECEIVED}};
    msgs[0].u.app_give_payload.data = (ob_blob_t){(const uint8_t *)"late", 4};
    msgs[1].u.app_give_verdict.chunk = chunk;
    msgs[2].u.app_lock_received.chunk = chunk;
    for (int i = 0; i < 3; i++) {
        s_app(f, 10, &msgs[i]);
        assert_int_equal(ob_outbox_count(f->out), 0);
    }
    assert_int_equal(s_stats(f)->app_when_detached, 3);
    assert_int_equal(s_stats(f)->app_dropped, 3);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

static void test_app_heartbeat_expiry(void **state)
{
    n_fixture_t *f = *state;
    s_open_external(f);
    s_epoch(f, 1);
    s_submit(f, 1, 11, "queued one", 10); /* the application proposes, not the queue */
    s_assert_refused(f, 1, 11, OB_SUBMIT_APP_ATTACHED);

    s_attach(f, 1000);
    s_propose(f, 0);
    s_the(f, OB_DEST_APP, OB_IMSG_APP_ASK_PAYLOAD, NULL);
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_APP_PAYLOAD), 0);

    s_tick(f, 3999);
    s_tick(f, 4000); /* exactly 3000 ms of silence is not yet too long */
    assert_true(ob_net_app_attached(f->net));
    s_attach(f, 3900); /* a heartbeat resets the silence */
    s_tick(f, 6900);
    assert_true(ob_net_app_attached(f->net));
    assert_int_equal(ob_outbox_count(f->out), 0);

    /* Silent too long: detached, and nothing takes its place: the
       proposal it owed waits. */
    s_tick(f, 6901);
    assert_false(ob_net_app_attached(f->net));
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(s_stats(f)->app_detaches, 1);
    assert_int_equal(s_stats(f)->proposals_answered, 0);
    s_tick(f, 99999);
    assert_int_equal(ob_outbox_count(f->out), 0);

    /* It comes back, and is asked for what it owed. */
    s_attach(f, 100000);
    assert_true(ob_net_app_attached(f->net));
    assert_int_equal(s_stats(f)->app_attaches, 2);
    s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_ATTACHED, NULL);
    ob_imsg_t ask = s_the(f, OB_DEST_APP, OB_IMSG_APP_ASK_PAYLOAD, NULL);
    assert_int_equal(ask.u.app_ask_payload.height, 0);
}

static void test_app_attached_from_the_start_expires(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, true);
    s_tick(f, 50000); /* the first tick starts its clock */
    assert_true(ob_net_app_attached(f->net));
    s_tick(f, 53000);
    assert_true(ob_net_app_attached(f->net));
    s_tick(f, 53001);
    assert_false(ob_net_app_attached(f->net));
    s_propose(f, 0); /* nobody attached: nothing */
    assert_int_equal(ob_outbox_count(f->out), 0);
}

/* Peer frames go through the decoder the fuzzer runs (proto/wire.c): a
   Node whose body breaks §2 is dropped by net with its error name, not
   passed on. Types 3 and 4 are Fetch and Fetched (test_handlers'
   test_net_fetch_not_served_yet); 5, 6 and 9 are unknown. */
static void test_peer_frames_use_the_wire_decoder(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    ob_node_t node = {.chunk = s_chunk(f, 1, 0, "genesis", 7)};
    memset(node.signature, 0x5a, sizeof node.signature);
    uint8_t frame[2 + OB_GENESIS_NODE_LEN + 1];
    size_t len = 0;
    assert_int_equal(ob_peer_node_frame_encode(&node, frame, sizeof frame, &len), 0);
    ob_frame_t frames[2] = {{frame, len}, {(const uint8_t *)"genesis", 7}};
    const uint8_t *peer = f->w.keys[1].pub.bytes;

    ob_outbox_clear(f->out);
    ob_net_on_peer(f->net, peer, frames, 2, f->out);
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_PEER_NODE), 1);
    ob_outbox_clear(f->out);
    ob_net_flushed(f->net);

    struct {
        size_t at;
        uint8_t value;
        size_t len;
        ob_error_t expect;
    } bad[] = {{2 + OB_GENESIS_NODE_LEN - 1, 2, len, OB_ERR_BAD_FLAG},
               {2 + OB_GENESIS_NODE_LEN - 1, 1, len, OB_ERR_PARENT_ON_GENESIS},
               {0, 5, len, OB_ERR_UNKNOWN_TYPE},
               {0, 6, len, OB_ERR_UNKNOWN_TYPE},
               {0, 9, len, OB_ERR_UNKNOWN_TYPE},
               {2 + OB_GENESIS_NODE_LEN, 0, len + 1, OB_ERR_TRAILING}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t copy[sizeof frame];
        memcpy(copy, frame, len);
        copy[bad[i].at] = bad[i].value;
        ob_frame_t spoiled[2] = {{copy, bad[i].len}, frames[1]};
        uint64_t before = s_stats(f)->dropped[bad[i].expect];
        ob_outbox_clear(f->out);
        ob_net_on_peer(f->net, peer, spoiled, 2, f->out);
        assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_PEER_NODE), 0);
        assert_int_equal(s_stats(f)->dropped[bad[i].expect], before + 1);
    }
    assert_int_equal(ob_arena_in_use(f->arena), 1); /* the good one, the verifier's */
}

/* Issue 9: an application rejects a chunk, then detaches. Its absence
   never overrules it: no verdict at all until an application attaches
   and accepts. */
static void test_app_veto_outlives_detach(void **state)
{
    n_fixture_t *f = *state;
    s_open_external(f);
    s_attach(f, 1000);
    ob_chunk_t chunk = s_chunk(f, 2, 4, "peer batch", 10);
    ob_handle_t handle = s_stage(f, "peer batch", 10);
    s_verify(f, &chunk, &handle);
    s_the(f, OB_DEST_APP, OB_IMSG_APP_ASK_VERDICT, NULL);
    ob_net_flushed(f->net);
    ob_imsg_t give = {.type = OB_IMSG_APP_GIVE_VERDICT};
    give.u.app_give_verdict.chunk = chunk;
    give.u.app_give_verdict.valid = false;
    s_app(f, 1100, &give);
    ob_imsg_t verdict = s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_VERDICT, NULL);
    assert_false(verdict.u.app_verdict.valid);

    s_tick(f, 1200);
    s_tick(f, 5000); /* silent: detached */
    assert_false(ob_net_app_attached(f->net));
    /* The journal asks again, as it does while a verdict is owed. */
    for (int i = 0; i < 3; i++) {
        handle = s_stage(f, "peer batch", 10);
        s_verify(f, &chunk, &handle);
        assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_APP_VERDICT), 0);
        assert_int_equal(ob_outbox_count(f->out), 0);
        ob_net_flushed(f->net);
    }
    assert_int_equal(s_stats(f)->app_verdicts_owed, 3);
    assert_int_equal(ob_arena_in_use(f->arena), 0);

    /* An application attaches (another process: nobody holds the place
       now); the journal, told, asks again; it accepts. */
    s_attach_from(f, N_OTHER, 6000);
    s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_ATTACHED, NULL);
    handle = s_stage(f, "peer batch", 10);
    s_verify(f, &chunk, &handle);
    s_the(f, OB_DEST_APP, OB_IMSG_APP_ASK_VERDICT, NULL);
    give.u.app_give_verdict.valid = true;
    s_app_from(f, N_OTHER, 6100, &give);
    verdict = s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_VERDICT, NULL);
    assert_true(verdict.u.app_verdict.valid);
}

/* Issue 9: under external, a Lock is not delivered for an absent
   application (the journal redelivers until one confirms), and the
   submit queue never proposes. */
static void test_external_absent_delivers_nothing(void **state)
{
    n_fixture_t *f = *state;
    s_open_external(f);
    s_epoch(f, 1);
    ob_chunk_t chunk = s_chunk(f, 0, 0, "zero", 4);
    uint8_t lock[512];
    size_t lock_len = s_lock(&chunk, lock, sizeof lock);
    s_report_lock(f, lock, lock_len);
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_LOCK_DELIVERED), 0);
    assert_int_equal(s_count_kind(f, OB_DEST_APP), 0);
    s_submit(f, 1, 1, "x", 1);
    s_assert_refused(f, 1, 1, OB_SUBMIT_APP_ATTACHED);
    s_propose(f, 1);
    assert_int_equal(ob_outbox_count(f->out), 0);
}

/* Issue 9: the built-in application refuses an application that tries
   to attach; it goes on proposing from the queue and judging by digest. */
static void test_builtin_refuses_an_application(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    s_epoch(f, 1);
    s_attach(f, 1000);
    assert_false(ob_net_app_attached(f->net));
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(s_stats(f)->app_refused, 1);
    ob_chunk_t chunk = s_chunk(f, 2, 4, "peer batch", 10);
    ob_imsg_t give = {.type = OB_IMSG_APP_GIVE_VERDICT};
    give.u.app_give_verdict.chunk = chunk;
    give.u.app_give_verdict.valid = false;
    s_app(f, 1100, &give);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(s_stats(f)->app_refused, 2);
    /* Submits still go to the journal's built-in application. */
    s_submit(f, 1, 11, "queued one", 10);
    s_passed(f, 1, 11, "queued one", 10);
}

/* Issue 9 (defect 4): while an application is attached, another
   connection can neither take over nor answer in its place: its frames
   are dropped and counted. Once the first detaches, another may attach. */
static void test_app_takeover_refused(void **state)
{
    n_fixture_t *f = *state;
    s_open_external(f);
    s_attach(f, 1000);
    assert_true(ob_net_app_is(f->net, N_APP));
    s_propose(f, 0);
    s_the(f, OB_DEST_APP, OB_IMSG_APP_ASK_PAYLOAD, NULL);

    s_attach_from(f, N_OTHER, 1100);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_false(ob_net_app_is(f->net, N_OTHER));
    assert_true(ob_net_app_is(f->net, N_APP));
    ob_imsg_t give = {.type = OB_IMSG_APP_GIVE_PAYLOAD};
    give.u.app_give_payload.height = 0;
    give.u.app_give_payload.data = (ob_blob_t){(const uint8_t *)"injected", 8};
    s_app_from(f, N_OTHER, 1200, &give);
    assert_int_equal(ob_outbox_count(f->out), 0);
    ob_chunk_t chunk = s_chunk(f, 2, 4, "peer batch", 10);
    ob_imsg_t verdict = {.type = OB_IMSG_APP_GIVE_VERDICT};
    verdict.u.app_give_verdict.chunk = chunk;
    verdict.u.app_give_verdict.valid = true;
    s_app_from(f, N_OTHER, 1300, &verdict);
    assert_int_equal(ob_outbox_count(f->out), 0);
    s_app_from(f, "", 1300, &verdict); /* no credentials at all */
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(s_stats(f)->app_foreign, 4);
    assert_int_equal(ob_arena_in_use(f->arena), 0);

    /* The attached one's heartbeats keep it; its answer is taken. */
    s_attach(f, 3500);
    s_attach_from(f, N_OTHER, 3600);
    s_tick(f, 4500);
    assert_true(ob_net_app_is(f->net, N_APP));
    give.u.app_give_payload.data = (ob_blob_t){(const uint8_t *)"honest", 6};
    s_app(f, 4600, &give);
    s_handed(f, 0, "honest", 6);

    /* Detached by silence: now another may attach. */
    s_tick(f, 8000);
    assert_false(ob_net_app_attached(f->net));
    s_attach_from(f, N_OTHER, 8100);
    assert_true(ob_net_app_is(f->net, N_OTHER));
    s_app(f, 8200, &give); /* and the first is the stranger now */
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(s_stats(f)->app_foreign, 6);

    /* Its connection closes: detached at once, the next may attach. */
    ob_net_app_closed(f->net);
    assert_false(ob_net_app_attached(f->net));
    s_attach(f, 8300);
    assert_true(ob_net_app_is(f->net, N_APP));
}

/* ======================================================================= */
/* the submit socket                                                        */
/* ======================================================================= */

/* A submit goes to the journal: its bytes in an arena slot, the client's
   routing id and tag beside them. net answers nothing itself. */
static void test_submit_passed_to_the_journal(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    s_submit(f, 3, 42, "client payload", 14);
    s_passed(f, 3, 42, "client payload", 14);
    s_submit(f, 3, 43, "", 0); /* nothing is a payload too */
    s_passed(f, 3, 43, "", 0);
    static uint8_t big[N_MAX + 1];
    s_submit(f, 2, 4, big, N_MAX); /* exactly max_payload goes */
    s_passed(f, 2, 4, big, N_MAX);
    s_submit(f, 2, 3, big, sizeof big);
    s_assert_refused(f, 2, 3, OB_SUBMIT_TOO_LARGE);
    assert_int_equal(s_count_kind(f, OB_DEST_ACTOR), 0);

    /* No slot: refused queue_full, nothing passed. */
    ob_handle_t hog[N_SLOTS];
    size_t held = 0;
    while (held < N_SLOTS &&
           ob_arena_put(f->arena, f->w.crypto, OB_ACTOR_JOURNAL, "x", 1, &hog[held]) == 0)
        held++;
    s_submit(f, 2, 5, "no room", 7);
    s_assert_refused(f, 2, 5, OB_SUBMIT_QUEUE_FULL);
    assert_int_equal(s_count_kind(f, OB_DEST_ACTOR), 0);
    for (size_t i = 0; i < held; i++)
        ob_arena_release(f->arena, &hog[i], OB_ACTOR_JOURNAL);
    const ob_net_stats_t *stats = s_stats(f);
    assert_int_equal(stats->submitted, 3);
    assert_int_equal(stats->refused_by[OB_SUBMIT_TOO_LARGE], 1);
    assert_int_equal(stats->refused_by[OB_SUBMIT_QUEUE_FULL], 1);
    assert_int_equal(stats->arena_full, 1);

    /* A node whose application is external: refused, attached or not. */
    ob_net_destroy(&f->net);
    s_open_external(f);
    s_submit(f, 4, 7, "to the app", 10);
    s_assert_refused(f, 4, 7, OB_SUBMIT_APP_ATTACHED);
    s_attach(f, 10);
    s_submit(f, 4, 8, "to the app", 10);
    s_assert_refused(f, 4, 8, OB_SUBMIT_APP_ATTACHED);
    assert_int_equal(s_stats(f)->refused_by[OB_SUBMIT_APP_ATTACHED], 2);
}

/* submit_follow goes to the journal as client_follow, with its index. */
static void test_submit_follow_passed(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    uint8_t digest[32];
    memset(digest, 0xd1, sizeof digest);
    ob_imsg_t msg = {.type = OB_IMSG_SUBMIT_FOLLOW};
    msg.u.submit_follow.tag = 7;
    msg.u.submit_follow.height = 9;
    msg.u.submit_follow.index = 3;
    memcpy(msg.u.submit_follow.payload, digest, 32);
    uint8_t *frame;
    size_t len = s_encode(&msg, &frame);
    s_client_raw(f, 5, frame, len);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);
    ob_imsg_t follow = s_the(f, OB_DEST_ACTOR, OB_IMSG_CLIENT_FOLLOW, NULL);
    ob_client_id_t id = s_client(5);
    assert_int_equal(follow.u.client_follow.client.len, id.len);
    assert_memory_equal(follow.u.client_follow.client.data, id.id, id.len);
    assert_int_equal(follow.u.client_follow.tag, 7);
    assert_int_equal(follow.u.client_follow.height, 9);
    assert_int_equal(follow.u.client_follow.index, 3);
    assert_memory_equal(follow.u.client_follow.payload, digest, 32);
    /* The version before index is refused: it would lose the index. */
    frame[2] = 1;
    s_client_raw(f, 5, frame, len);
    s_assert_refused(f, 5, 0, OB_SUBMIT_MALFORMED);
    free(frame);
}

/* A client_answer of `count` answers, as the journal's list. */
static void s_client_answers(n_fixture_t *f, uint8_t client, const ob_imsg_t *answers, size_t count)
{
    uint8_t list[4096];
    size_t at = OB_BATCH_HEADER_LEN;
    for (size_t i = 0; i < count; i++) {
        uint8_t *bytes;
        size_t len = s_encode(&answers[i], &bytes);
        assert_true(at + OB_BATCH_ENTRY_LEN + len <= sizeof list);
        ob_batch_put_entry(list, &at, bytes, (uint32_t)len);
        free(bytes);
    }
    ob_batch_put_header(list, (uint32_t)count);
    ob_client_id_t id = s_client(client);
    ob_imsg_t msg = {.type = OB_IMSG_CLIENT_ANSWER};
    msg.u.client_answer.client = (ob_blob_t){id.id, id.len};
    msg.u.client_answer.answers = (ob_blob_t){list, (uint32_t)at};
    s_internal(f, &msg);
}

static void s_client_answer(n_fixture_t *f, uint8_t client, const ob_imsg_t *answer)
{
    s_client_answers(f, client, answer, 1);
}

/* The journal's answers reach their client as they are; anything else
   in a client_answer (not an answer, undecodable, no client) is dropped,
   never sent to a client. */
static void test_client_answers_forwarded(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    ob_imsg_t queued = {.type = OB_IMSG_SUBMIT_QUEUED};
    queued.u.submit_queued.tag = 11;
    s_client_answer(f, 2, &queued);
    assert_int_equal(s_answer(f, 2, OB_IMSG_SUBMIT_QUEUED).u.submit_queued.tag, 11);

    ob_imsg_t assigned = {.type = OB_IMSG_SUBMIT_ASSIGNED};
    assigned.u.submit_assigned.tag = 11;
    assigned.u.submit_assigned.height = 4;
    assigned.u.submit_assigned.index = 17;
    s_client_answer(f, 2, &assigned);
    ob_imsg_t got = s_answer(f, 2, OB_IMSG_SUBMIT_ASSIGNED);
    assert_int_equal(got.u.submit_assigned.height, 4);
    assert_int_equal(got.u.submit_assigned.index, 17);
    assert_int_equal(s_stats(f)->submit_assigned, 1);

    ob_imsg_t attach = {.type = OB_IMSG_APP_ATTACH};
    s_client_answer(f, 2, &attach);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);
    s_assert_dropped(f, OB_ERR_UNKNOWN_TYPE, 1);

    /* a list that is no list (truncated): nothing sent */
    ob_imsg_t msg = {.type = OB_IMSG_CLIENT_ANSWER};
    msg.u.client_answer.client = (ob_blob_t){(const uint8_t *)"c", 1};
    msg.u.client_answer.answers = (ob_blob_t){(const uint8_t *)"\1\0", 2};
    s_internal(f, &msg);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);
    s_assert_dropped(f, OB_ERR_SHORT, 1);
    /* no client: nothing sent */
    uint8_t list[64];
    size_t at = OB_BATCH_HEADER_LEN;
    uint8_t bytes[64];
    size_t len = 0;
    assert_int_equal(ob_imsg_encode(&queued, bytes, sizeof bytes, &len), 0);
    ob_batch_put_entry(list, &at, bytes, (uint32_t)len);
    ob_batch_put_header(list, 1);
    msg.u.client_answer.client = (ob_blob_t){bytes, 0};
    msg.u.client_answer.answers = (ob_blob_t){list, (uint32_t)at};
    s_internal(f, &msg);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);

    /* several answers in one message reach the client in order; a bad one
       among them is dropped alone */
    ob_imsg_t three[3] = {queued, attach, assigned};
    three[0].u.submit_queued.tag = 21;
    three[2].u.submit_assigned.tag = 22;
    s_client_answers(f, 3, three, 3);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 2);
    assert_int_equal(s_answer_nth(f, 0, 3, OB_IMSG_SUBMIT_QUEUED).u.submit_queued.tag, 21);
    assert_int_equal(s_answer_nth(f, 1, 3, OB_IMSG_SUBMIT_ASSIGNED).u.submit_assigned.tag, 22);
}

static void test_submit_malformed(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    s_epoch(f, 1);
    ob_imsg_t msg = {.type = OB_IMSG_SUBMIT};
    msg.u.submit.tag = 0x0102030405060708ULL;
    msg.u.submit.data = (ob_blob_t){(const uint8_t *)"payload", 7};
    uint8_t *frame;
    size_t len = s_encode(&msg, &frame);

    /* Cut short past its tag: refused, and the tag still named. */
    s_client_raw(f, 1, frame, len - 1);
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_DROPPED), 1);
    s_assert_refused(f, 1, 0x0102030405060708ULL, OB_SUBMIT_MALFORMED);
    /* Cut before its tag: tag 0. */
    s_client_raw(f, 1, frame, 5);
    s_assert_refused(f, 1, 0, OB_SUBMIT_MALFORMED);
    s_client_raw(f, 1, frame, 0);
    s_assert_refused(f, 1, 0, OB_SUBMIT_MALFORMED);
    frame[2] = 9; /* version */
    s_client_raw(f, 1, frame, len);
    s_assert_refused(f, 1, 0x0102030405060708ULL, OB_SUBMIT_MALFORMED);
    assert_int_equal(s_stats(f)->dropped[OB_ERR_BAD_VERSION], 1);
    free(frame);

    /* Something that is not a submit. */
    ob_imsg_t attach = {.type = OB_IMSG_APP_ATTACH};
    len = s_encode(&attach, &frame);
    s_client_raw(f, 1, frame, len);
    s_assert_refused(f, 1, 0, OB_SUBMIT_MALFORMED);
    assert_false(ob_net_app_attached(f->net));
    assert_int_equal(s_stats(f)->dropped[OB_ERR_UNKNOWN_TYPE], 1);
    free(frame);

    /* A blob over what any message may carry says so. */
    uint8_t huge[3 + 8 + 4] = {0, OB_IMSG_SUBMIT, 1,    0,    0,   0, 0, 0, 0, 0,
                               3, 0xff,           0xff, 0xff, 0xff};
    s_client_raw(f, 1, huge, sizeof huge);
    s_assert_refused(f, 1, 3, OB_SUBMIT_TOO_LARGE);

    /* A client the shell cannot name gets nothing at all. */
    ob_client_id_t nobody = {.len = 0};
    ob_outbox_clear(f->out);
    ob_net_on_client(f->net, &nobody, huge, sizeof huge, f->out);
    assert_int_equal(ob_outbox_count(f->out), 0);
    ob_client_id_t too_long = {.len = OB_CLIENT_ID_MAX + 1};
    ob_net_on_client(f->net, &too_long, huge, sizeof huge, f->out);
    assert_int_equal(ob_outbox_count(f->out), 0);

    const ob_net_stats_t *stats = s_stats(f);
    assert_int_equal(stats->refused_by[OB_SUBMIT_MALFORMED], 5);
    assert_int_equal(stats->client_unanswerable, 2);
    assert_int_equal(stats->submitted, 0);
}

/* ======================================================================= */
/* fetch on request: the submit socket's fetch, the application's          */
/* app_fetch, and the journal's fetch_answer back to the asker              */
/* ======================================================================= */

static void s_fetch(n_fixture_t *f, uint8_t client, uint64_t tag, int sequencer, uint64_t height)
{
    ob_imsg_t msg = {.type = OB_IMSG_FETCH};
    msg.u.fetch.tag = tag;
    memcpy(msg.u.fetch.sequencer, f->w.keys[sequencer].pub.bytes, 32);
    msg.u.fetch.height = height;
    uint8_t *frame;
    size_t len = s_encode(&msg, &frame);
    s_client_raw(f, client, frame, len);
    free(frame);
}

/* The fetch_request net passed the journal, and nothing else. */
static ob_imsg_fetch_request_t s_requested(n_fixture_t *f, uint8_t origin, uint64_t tag,
                                           int sequencer, uint64_t height)
{
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_fetch_request_t in =
        s_the(f, OB_DEST_ACTOR, OB_IMSG_FETCH_REQUEST, NULL).u.fetch_request;
    assert_int_equal(in.origin, origin);
    assert_int_equal(in.tag, tag);
    assert_memory_equal(in.sequencer, f->w.keys[sequencer].pub.bytes, 32);
    assert_int_equal(in.height, height);
    return in;
}

/* The journal's answer to a fetch of client `client` (origin client) or
   of the application (client 0), with `payload` as the journal holds it. */
static void s_fetch_answer(n_fixture_t *f, uint8_t client, uint64_t tag, uint8_t status,
                           const uint8_t *lock, size_t lock_len, const ob_handle_t *payload)
{
    ob_imsg_t msg = {.type = OB_IMSG_FETCH_ANSWER};
    ob_imsg_fetch_answer_t *in = &msg.u.fetch_answer;
    ob_client_id_t id = s_client(client);
    in->origin = client ? OB_NET_FETCH_FROM_CLIENT : OB_NET_FETCH_FROM_APP;
    if (client)
        in->client = (ob_blob_t){id.id, id.len};
    in->tag = tag;
    in->status = status;
    in->lock = (ob_blob_t){lock, (uint32_t)lock_len};
    in->has_payload = payload != NULL;
    if (payload)
        in->payload = *payload;
    s_internal(f, &msg);
}

static void s_assert_fetch_failed(n_fixture_t *f, uint8_t client, uint64_t tag,
                                  ob_fetch_status_t reason)
{
    ob_imsg_t msg = s_answer(f, client, OB_IMSG_FETCH_FAILED);
    assert_int_equal(msg.u.fetch_failed.tag, tag);
    assert_int_equal(msg.u.fetch_failed.reason, reason);
    assert_int_equal(ob_outbox_count(f->out), 1);
}

/* The Lock of key 2's height 9, whose payload is "fetched bytes". */
static size_t s_fetched_lock(n_fixture_t *f, uint8_t *lock, size_t cap)
{
    ob_chunk_t chunk = s_chunk(f, 2, 9, "fetched bytes", 13);
    return s_lock(&chunk, lock, cap);
}

static void test_fetch_passed_to_the_journal(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, true); /* served under any application: it is no submit */
    s_fetch(f, 4, 77, 2, 9);
    ob_imsg_fetch_request_t in = s_requested(f, OB_NET_FETCH_FROM_CLIENT, 77, 2, 9);
    ob_client_id_t id = s_client(4);
    assert_int_equal(in.client.len, id.len);
    assert_memory_equal(in.client.data, id.id, id.len);

    ob_imsg_t ask = {.type = OB_IMSG_APP_FETCH};
    ask.u.app_fetch.tag = 78;
    memcpy(ask.u.app_fetch.sequencer, f->w.keys[3].pub.bytes, 32);
    ask.u.app_fetch.height = UINT64_MAX;
    s_app(f, 10, &ask);
    in = s_requested(f, OB_NET_FETCH_FROM_APP, 78, 3, UINT64_MAX);
    assert_int_equal(in.client.len, 0);

    /* Another connection than the attached application asks nothing. */
    s_app_from(f, N_OTHER, 10, &ask);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(s_stats(f)->fetch_requests_client, 1);
    assert_int_equal(s_stats(f)->fetch_requests_app, 1);
}

static void test_fetch_answers_go_back_to_the_asker(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, true);
    uint8_t lock[512];
    size_t lock_len = s_fetched_lock(f, lock, sizeof lock);

    ob_handle_t slot = s_stage(f, "fetched bytes", 13);
    s_fetch_answer(f, 4, 77, OB_FETCH_FOUND, lock, lock_len, &slot);
    ob_imsg_t found = s_answer(f, 4, OB_IMSG_FETCH_FOUND);
    assert_int_equal(found.u.fetch_found.tag, 77);
    assert_int_equal(found.u.fetch_found.lock.len, lock_len);
    assert_memory_equal(found.u.fetch_found.lock.data, lock, lock_len);
    assert_int_equal(found.u.fetch_found.data.len, 13);
    assert_memory_equal(found.u.fetch_found.data.data, "fetched bytes", 13);
    /* The outbox holds a copy: the slot is free before the batch is sent. */
    assert_int_equal(ob_arena_in_use(f->arena), 0);

    s_fetch_answer(f, 4, 79, OB_FETCH_NOT_FOUND, NULL, 0, NULL);
    s_assert_fetch_failed(f, 4, 79, OB_FETCH_NOT_FOUND);
    s_fetch_answer(f, 5, 80, OB_FETCH_BUSY, NULL, 0, NULL);
    s_assert_fetch_failed(f, 5, 80, OB_FETCH_BUSY);

    /* The application's. */
    slot = s_stage(f, "fetched bytes", 13);
    s_fetch_answer(f, 0, 81, OB_FETCH_FOUND, lock, lock_len, &slot);
    assert_int_equal(ob_outbox_count(f->out), 1);
    found = s_the(f, OB_DEST_APP, OB_IMSG_APP_FETCH_FOUND, NULL);
    assert_int_equal(found.u.app_fetch_found.tag, 81);
    assert_memory_equal(found.u.app_fetch_found.lock.data, lock, lock_len);
    assert_memory_equal(found.u.app_fetch_found.data.data, "fetched bytes", 13);
    s_fetch_answer(f, 0, 82, OB_FETCH_NOT_FOUND, NULL, 0, NULL);
    ob_imsg_t failed = s_the(f, OB_DEST_APP, OB_IMSG_APP_FETCH_FAILED, NULL);
    assert_int_equal(failed.u.app_fetch_failed.tag, 82);
    assert_int_equal(failed.u.app_fetch_failed.reason, OB_FETCH_NOT_FOUND);

    /* The application went: its answer is dropped, and the slot freed. */
    ob_net_app_closed(f->net);
    slot = s_stage(f, "fetched bytes", 13);
    s_fetch_answer(f, 0, 83, OB_FETCH_FOUND, lock, lock_len, &slot);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(ob_arena_in_use(f->arena), 0);

    const ob_net_stats_t *stats = s_stats(f);
    assert_int_equal(stats->fetch_found_sent, 2);
    assert_int_equal(stats->fetch_failed_sent[OB_FETCH_NOT_FOUND], 2);
    assert_int_equal(stats->fetch_failed_sent[OB_FETCH_BUSY], 1);
    assert_int_equal(stats->fetch_undeliverable, 1);
}

/* An empty payload is a payload: found, with no bytes, before net ever
   needed a copy of any. */
static void test_fetch_found_empty(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "", 0);
    uint8_t lock[512];
    size_t lock_len = s_lock(&chunk, lock, sizeof lock);
    ob_handle_t slot = s_stage(f, "", 0);
    s_fetch_answer(f, 2, 5, OB_FETCH_FOUND, lock, lock_len, &slot);
    ob_imsg_t found = s_answer(f, 2, OB_IMSG_FETCH_FOUND);
    assert_int_equal(found.u.fetch_found.tag, 5);
    assert_int_equal(found.u.fetch_found.data.len, 0);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

/* A found answer that does not hold together reaches the asker as busy
   (it asks again), never as bytes; and whatever it was, the slot is freed. */
static void test_fetch_answer_broken(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    ob_handle_t stale = s_stage(f, "fetched bytes", 13);
    assert_int_equal(ob_arena_release(f->arena, &stale, OB_ACTOR_JOURNAL), 0);
    uint8_t lock[512];
    size_t lock_len = s_fetched_lock(f, lock, sizeof lock);
    s_fetch_answer(f, 1, 1, OB_FETCH_FOUND, lock, lock_len, &stale);
    s_assert_fetch_failed(f, 1, 1, OB_FETCH_BUSY);

    ob_handle_t changed = s_stage(f, "fetched bytes", 13);
    ((uint8_t *)ob_arena_get(f->arena, &changed))[0] ^= 1;
    s_fetch_answer(f, 1, 2, OB_FETCH_FOUND, lock, lock_len, &changed);
    s_assert_fetch_failed(f, 1, 2, OB_FETCH_BUSY);

    ob_handle_t other = s_stage(f, "other bytes", 11); /* not the Lock's payload */
    s_fetch_answer(f, 1, 3, OB_FETCH_FOUND, lock, lock_len, &other);
    s_assert_fetch_failed(f, 1, 3, OB_FETCH_BUSY);

    ob_handle_t slot = s_stage(f, "fetched bytes", 13);
    s_fetch_answer(f, 1, 4, OB_FETCH_FOUND, lock, lock_len - 1, &slot); /* no Lock */
    s_assert_fetch_failed(f, 1, 4, OB_FETCH_BUSY);
    s_fetch_answer(f, 1, 5, OB_FETCH_FOUND, lock, lock_len, NULL); /* no bytes */
    s_assert_fetch_failed(f, 1, 5, OB_FETCH_BUSY);
    s_fetch_answer(f, 1, 6, 9, NULL, 0, NULL); /* a status nobody knows */
    s_assert_fetch_failed(f, 1, 6, OB_FETCH_BUSY);
    assert_int_equal(s_stats(f)->fetch_answers_broken, 6);
    assert_int_equal(s_stats(f)->fetch_found_sent, 0);

    /* No asker to name: a routing id too long or empty, an unknown origin,
       the application under builtin. */
    ob_imsg_t msg = {.type = OB_IMSG_FETCH_ANSWER};
    uint8_t id[OB_CLIENT_ID_MAX + 1] = {1};
    msg.u.fetch_answer.status = OB_FETCH_NOT_FOUND;
    msg.u.fetch_answer.client = (ob_blob_t){id, sizeof id};
    s_internal(f, &msg);
    assert_int_equal(ob_outbox_count(f->out), 0);
    msg.u.fetch_answer.client.len = 0;
    s_internal(f, &msg);
    msg.u.fetch_answer.origin = 7;
    msg.u.fetch_answer.client.len = 5;
    slot = s_stage(f, "fetched bytes", 13);
    msg.u.fetch_answer.has_payload = true;
    msg.u.fetch_answer.payload = slot;
    s_internal(f, &msg);
    assert_int_equal(ob_outbox_count(f->out), 0);
    s_fetch_answer(f, 0, 7, OB_FETCH_NOT_FOUND, NULL, 0, NULL);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(s_stats(f)->fetch_undeliverable, 4);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

static void test_fetch_malformed(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, true);
    ob_imsg_t msg = {.type = OB_IMSG_FETCH};
    msg.u.fetch.tag = 0x0102030405060708ULL;
    uint8_t *frame;
    size_t len = s_encode(&msg, &frame);

    /* Cut short past its tag: answered malformed, the tag named. */
    s_client_raw(f, 1, frame, len - 1);
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_DROPPED), 1);
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_FETCH_REQUEST), 0);
    assert_int_equal(s_answer(f, 1, OB_IMSG_FETCH_FAILED).u.fetch_failed.tag,
                     0x0102030405060708ULL);
    s_client_raw(f, 1, frame, len + 0); /* whole again: passed */
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_FETCH_REQUEST), 1);
    frame[2] = 9; /* version */
    s_client_raw(f, 1, frame, len);
    assert_int_equal(s_answer(f, 1, OB_IMSG_FETCH_FAILED).u.fetch_failed.reason,
                     OB_FETCH_MALFORMED);
    assert_int_equal(s_stats(f)->dropped[OB_ERR_BAD_VERSION], 1);
    /* Cut before its tag: nobody to answer by tag; dropped and counted. */
    s_client_raw(f, 1, frame, 6);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_DROPPED), 1);

    /* The application's, the same. */
    msg.type = OB_IMSG_APP_FETCH;
    free(frame);
    len = s_encode(&msg, &frame);
    s_app_raw(f, 10, frame, len - 3);
    ob_imsg_t failed = s_the(f, OB_DEST_APP, OB_IMSG_APP_FETCH_FAILED, NULL);
    assert_int_equal(failed.u.app_fetch_failed.tag, 0x0102030405060708ULL);
    assert_int_equal(failed.u.app_fetch_failed.reason, OB_FETCH_MALFORMED);
    s_app_raw(f, 10, frame, 4);
    assert_int_equal(s_count_kind(f, OB_DEST_APP), 0);
    free(frame);

    const ob_net_stats_t *stats = s_stats(f);
    assert_int_equal(stats->fetch_malformed, 3);
    assert_int_equal(stats->fetch_unanswerable, 2);
    assert_int_equal(stats->fetch_failed_sent[OB_FETCH_MALFORMED], 3);
    assert_int_equal(stats->fetch_requests_client, 1);
    assert_int_equal(stats->submitted + stats->submit_refused, 0);
}

/* --- a journal restart: the clients are told ------------------------------ */

/* The journal's built-in application restarted: every client net heard
   from is told once (submit_forgotten), in the order first heard; a
   client heard twice is one client. */
static void test_forgotten_tells_each_client(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    ob_imsg_t forgotten = {.type = OB_IMSG_SUBMITS_FORGOTTEN};
    s_internal(f, &forgotten); /* nobody heard from yet: nobody told */
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(s_stats(f)->journal_starts, 1);

    s_submit(f, 7, 1, "a", 1);
    s_submit(f, 3, 2, "b", 1);
    s_submit(f, 7, 3, "c", 1);
    /* a client frame that does not decode still names its client */
    s_client_raw(f, 9, (const uint8_t *)"\x01", 1);
    /* one with no routing id cannot be answered, now or later */
    ob_client_id_t nobody = {.len = 0};
    ob_outbox_clear(f->out);
    ob_net_on_client(f->net, &nobody, (const uint8_t *)"\x01", 1, f->out);
    assert_int_equal(s_stats(f)->clients_known, 3);

    s_internal(f, &forgotten);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 3);
    assert_int_equal(s_count_kind(f, OB_DEST_ACTOR), 0);
    s_answer_nth(f, 0, 7, OB_IMSG_SUBMIT_FORGOTTEN);
    s_answer_nth(f, 1, 3, OB_IMSG_SUBMIT_FORGOTTEN);
    s_answer_nth(f, 2, 9, OB_IMSG_SUBMIT_FORGOTTEN);
    /* again at the next restart: clients are remembered, not used up */
    s_internal(f, &forgotten);
    assert_int_equal(s_count(f, OB_DEST_CLIENT, OB_IMSG_SUBMIT_FORGOTTEN), 3);
    const ob_net_stats_t *stats = s_stats(f);
    assert_int_equal(stats->journal_starts, 3);
    assert_int_equal(stats->clients_told, 6);
    assert_int_equal(stats->clients_known, 3);
}

/* Routing ids differ in length as well as bytes: a prefix is another
   client (the index compares whole ids). */
static void test_forgotten_clients_by_whole_id(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    ob_client_id_t longer = {.len = 6, .id = {0, 0x6b, 0x8b, 0x45, 1, 0}};
    ob_client_id_t shorter = s_client(1);
    ob_outbox_clear(f->out);
    ob_net_on_client(f->net, &longer, (const uint8_t *)"\x01", 1, f->out);
    ob_net_on_client(f->net, &shorter, (const uint8_t *)"\x01", 1, f->out);
    assert_int_equal(s_stats(f)->clients_known, 2);
    ob_imsg_t forgotten = {.type = OB_IMSG_SUBMITS_FORGOTTEN};
    s_internal(f, &forgotten);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 2);
    assert_int_equal(ob_outbox_at(f->out, 0)->client.len, 6);
    assert_int_equal(ob_outbox_at(f->out, 1)->client.len, 5);
}

/* At most OB_NET_CLIENTS are remembered: the one heard from first gives
   way to a new one (and waits for its own silence, as before), and comes
   back when it is heard again. */
static void test_forgotten_clients_bounded(void **state)
{
    n_fixture_t *f = *state;
    ob_outbox_destroy(&f->out);
    f->out = ob_outbox_new(2 * OB_NET_CLIENTS, 1u << 20);
    assert_non_null(f->out);
    s_open(f, false);
    ob_client_id_t id = {.len = 4};
    for (uint32_t i = 0; i <= OB_NET_CLIENTS; i++) { /* one past the bound */
        memcpy(id.id, &i, 4);
        ob_net_on_client(f->net, &id, (const uint8_t *)"\x01", 1, f->out);
    }
    assert_int_equal(s_stats(f)->clients_known, OB_NET_CLIENTS);
    ob_imsg_t forgotten = {.type = OB_IMSG_SUBMITS_FORGOTTEN};
    s_internal(f, &forgotten);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), OB_NET_CLIENTS);
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        uint32_t n;
        memcpy(&n, ob_outbox_at(f->out, i)->client.id, 4);
        assert_int_not_equal(n, 0); /* client 0 gave way */
    }
    /* client 0 is heard again: it takes the place of client 1 */
    uint32_t zero = 0;
    memcpy(id.id, &zero, 4);
    ob_net_on_client(f->net, &id, (const uint8_t *)"\x01", 1, f->out);
    s_internal(f, &forgotten);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), OB_NET_CLIENTS);
    bool zero_told = false;
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        uint32_t n;
        memcpy(&n, ob_outbox_at(f->out, i)->client.id, 4);
        assert_int_not_equal(n, 1);
        zero_told |= n == 0;
    }
    assert_true(zero_told);
    assert_int_equal(s_stats(f)->clients_known, OB_NET_CLIENTS);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_app_attach_asks_the_pending_proposal),
        T(test_app_propose_goes_to_the_app),
        T(test_app_ask_verdict_carries_the_bytes),
        T(test_app_ask_verdict_not_on_stale_or_changed_bytes),
        T(test_app_reports),
        T(test_builtin_reports),
        T(test_app_wrong_direction),
        T(test_app_malformed),
        T(test_app_payload_size),
        T(test_app_answers_dropped_when_detached),
        T(test_app_heartbeat_expiry),
        T(test_app_attached_from_the_start_expires),
        T(test_app_veto_outlives_detach),
        T(test_peer_frames_use_the_wire_decoder),
        T(test_external_absent_delivers_nothing),
        T(test_builtin_refuses_an_application),
        T(test_app_takeover_refused),
        T(test_submit_passed_to_the_journal),
        T(test_submit_follow_passed),
        T(test_client_answers_forwarded),
        T(test_submit_malformed),
        T(test_fetch_passed_to_the_journal),
        T(test_fetch_answers_go_back_to_the_asker),
        T(test_fetch_found_empty),
        T(test_fetch_answer_broken),
        T(test_fetch_malformed),
        T(test_forgotten_tells_each_client),
        T(test_forgotten_clients_by_whole_id),
        T(test_forgotten_clients_bounded),
    };
#undef T
    return cmocka_run_group_tests_name("net_app", tests, NULL, NULL);
}

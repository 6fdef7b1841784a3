/*  net's application and submit sockets (SPEC §5; proto/imsg.csv,
    "Outside the node"): every frame goes in through the real imsg codec as
    the shell hands it over, and every answer is read back out of the
    outbox through the codec too.

    Node key 0 is "this node". Epoch 1 has every key as sequencer; epoch 2
    leaves key 0 out of its sequencers. */
#include "testutil.h"

#include "log.h"
#include "net.h"
#include "outbox.h"
#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_KEYS      4
#define N_SLOTS     64
#define N_SLOT_SIZE 4096
#define N_MAX       N_SLOT_SIZE /* the manifest's max_payload */

typedef struct {
    ob_crypto_t *crypto;
    ob_namespace_t ns;
    ob_keypair_t keys[N_KEYS];
    ob_epochs_t *epochs;
    ob_arena_t *arena;
    ob_outbox_t *out;
    ob_net_t *net;
} n_fixture_t;

static ob_keyset_t *s_set(n_fixture_t *f, unsigned mask)
{
    uint8_t keys[N_KEYS][32];
    size_t count = 0;
    for (int k = 0; k < N_KEYS; k++)
        if (mask >> k & 1)
            memcpy(keys[count++], f->keys[k].pub.bytes, 32);
    ob_keyset_t *set = ob_keyset_new(f->crypto, (const uint8_t(*)[32])keys, count, NULL);
    assert_non_null(set);
    return set;
}

static int s_setup(void **state)
{
    n_fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    ob_log_set_level(OB_LOG_ERROR);
    f->crypto = ob_crypto_new();
    assert_non_null(f->crypto);
    assert_int_equal(ob_namespace_init(&f->ns, f->crypto, "net-app-test", 12, NULL), 0);
    for (int k = 0; k < N_KEYS; k++) {
        char label[32];
        uint8_t secret[32];
        snprintf(label, sizeof label, "net-app-test-%d", k);
        ob_sha256(f->crypto, label, strlen(label), secret);
        assert_int_equal(ob_keypair_from_secret(f->crypto, secret, &f->keys[k]), 0);
    }
    f->epochs = ob_epochs_new();
    assert_non_null(f->epochs);
    for (uint64_t epoch = 1; epoch <= 2; epoch++) {
        ob_keyset_t *v = s_set(f, 0x0f);
        ob_keyset_t *s = s_set(f, epoch == 1 ? 0x0f : 0x0e);
        assert_int_equal(ob_epochs_add(f->epochs, epoch, &v, &s, NULL), 0);
    }
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
    ob_epochs_destroy(&f->epochs);
    for (int k = 0; k < N_KEYS; k++)
        ob_keypair_wipe(&f->keys[k]);
    ob_crypto_destroy(&f->crypto);
    free(f);
    return 0;
}

/* The credentials of the application's connection, and of another one. */
#define N_APP   "localhost:1000:1000:4242"
#define N_OTHER "localhost:1000:1000:4343"

/* attached: an external application attached from the start as N_APP;
   else the built-in application. */
static void s_open_with(n_fixture_t *f, bool attached, uint32_t queue_max, uint32_t track_max)
{
    ob_net_config_t config = {.application = attached ? OB_NET_APP_EXTERNAL : OB_NET_APP_BUILTIN,
                              .app_attached = attached,
                              .app_who = N_APP,
                              .submit_queue_max = queue_max,
                              .submit_track_max = track_max};
    config.env.ns = &f->ns;
    config.env.epochs = f->epochs;
    config.env.params = OB_PARAMS_DEFAULT;
    config.env.params.max_payload = N_MAX;
    config.env.arena = f->arena;
    memcpy(config.env.self_key, f->keys[0].pub.bytes, 32);
    ob_why_t why = {{0}};
    f->net = ob_net_new(&config, &why);
    if (!f->net)
        fail_msg("net: %s", why.text);
    ob_outbox_clear(f->out);
}

static void s_open(n_fixture_t *f, bool attached)
{
    s_open_with(f, attached, 4, 0);
}

/* application = external, none attached yet. */
static void s_open_external(n_fixture_t *f)
{
    ob_net_config_t config = {.application = OB_NET_APP_EXTERNAL, .submit_queue_max = 4};
    config.env.ns = &f->ns;
    config.env.epochs = f->epochs;
    config.env.params = OB_PARAMS_DEFAULT;
    config.env.params.max_payload = N_MAX;
    config.env.arena = f->arena;
    memcpy(config.env.self_key, f->keys[0].pub.bytes, 32);
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
    uint8_t *frame;
    size_t len = s_encode(msg, &frame);
    ob_imsg_t decoded;
    assert_int_equal(ob_imsg_decode(&decoded, frame, len), OB_OK);
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
    memcpy(chunk.sequencer, f->keys[sequencer].pub.bytes, 32);
    chunk.height = height;
    ob_sha256(f->crypto, payload, len, chunk.payload);
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

static void s_assert_refused(n_fixture_t *f, uint8_t client, uint64_t tag,
                             ob_submit_refusal_t reason)
{
    ob_imsg_t msg = s_answer(f, client, OB_IMSG_SUBMIT_REFUSED);
    assert_int_equal(msg.u.submit_refused.tag, tag);
    assert_int_equal(msg.u.submit_refused.reason, reason);
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_APP_PAYLOAD), 0);
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
        ob_arena_put(f->arena, f->crypto, OB_ACTOR_JOURNAL, data, (uint32_t)len, &handle), 0);
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

static void test_builtin_reports(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    ob_chunk_t chunk = s_chunk(f, 1, 3, "three", 5);
    s_report_tip(f, &chunk);
    assert_int_equal(ob_outbox_count(f->out), 0);
    uint8_t lock[512];
    s_report_lock(f, lock, s_lock(&chunk, lock, sizeof lock));
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t delivered = s_the(f, OB_DEST_ACTOR, OB_IMSG_LOCK_DELIVERED, NULL);
    assert_memory_equal(&delivered.u.lock_delivered.chunk, &chunk, sizeof chunk);

    /* The built-in application verifies by digest. */
    ob_handle_t good = s_stage(f, "three", 5);
    s_verify(f, &chunk, &good);
    assert_true(s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_VERDICT, NULL).u.app_verdict.valid);
    ob_handle_t bad = s_stage(f, "thrice", 6);
    s_verify(f, &chunk, &bad);
    assert_false(s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_VERDICT, NULL).u.app_verdict.valid);
    assert_int_equal(s_count_kind(f, OB_DEST_APP), 0);
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
   passed on; Fetch (3), Fetched (4) and 9 are unknown types for now. */
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
    const uint8_t *peer = f->keys[1].pub.bytes;

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
               {0, 3, len, OB_ERR_UNKNOWN_TYPE},
               {0, 4, len, OB_ERR_UNKNOWN_TYPE},
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
    assert_int_equal(ob_net_submit(f->net, (const uint8_t *)"x", 1, f->out), -1);
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
    ob_handle_t handle = s_stage(f, "peer batch", 10);
    s_verify(f, &chunk, &handle);
    ob_imsg_t verdict = s_the(f, OB_DEST_ACTOR, OB_IMSG_APP_VERDICT, NULL);
    assert_true(verdict.u.app_verdict.valid);
    ob_net_flushed(f->net);
    s_submit(f, 1, 11, "queued one", 10);
    s_answer(f, 1, OB_IMSG_SUBMIT_QUEUED);
    s_propose(f, 0);
    s_handed(f, 0, "queued one", 10);
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

static void test_submit_queued_assigned_locked(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    s_epoch(f, 1);
    s_submit(f, 3, 42, "client batch", 12);
    ob_imsg_t queued = s_answer(f, 3, OB_IMSG_SUBMIT_QUEUED);
    assert_int_equal(queued.u.submit_queued.tag, 42);
    assert_int_equal(s_count_kind(f, OB_DEST_ACTOR), 0);

    s_propose(f, 5);
    s_handed(f, 5, "client batch", 12);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);

    /* Another sequencer's chunk at that height means nothing to it. */
    ob_chunk_t theirs = s_chunk(f, 1, 5, "client batch", 12);
    s_report_tip(f, &theirs);
    assert_int_equal(ob_outbox_count(f->out), 0);

    ob_chunk_t ours = s_chunk(f, 0, 5, "client batch", 12);
    s_report_tip(f, &ours);
    ob_imsg_t assigned = s_answer(f, 3, OB_IMSG_SUBMIT_ASSIGNED);
    assert_int_equal(assigned.u.submit_assigned.tag, 42);
    assert_memory_equal(assigned.u.submit_assigned.sequencer, f->keys[0].pub.bytes, 32);
    assert_int_equal(assigned.u.submit_assigned.height, 5);
    assert_memory_equal(assigned.u.submit_assigned.payload, ours.payload, 32);
    s_report_tip(f, &ours); /* once only */
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);

    uint8_t lock[512];
    size_t lock_len = s_lock(&ours, lock, sizeof lock);
    s_report_lock(f, lock, lock_len);
    ob_imsg_t locked = s_answer(f, 3, OB_IMSG_SUBMIT_LOCKED);
    assert_int_equal(locked.u.submit_locked.tag, 42);
    assert_int_equal(locked.u.submit_locked.lock.len, lock_len);
    assert_memory_equal(locked.u.submit_locked.lock.data, lock, lock_len);
    s_the(f, OB_DEST_ACTOR, OB_IMSG_LOCK_DELIVERED, NULL);

    s_report_lock(f, lock, lock_len); /* redelivered: forgotten already */
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);

    const ob_net_stats_t *stats = s_stats(f);
    assert_int_equal(stats->submitted, 1);
    assert_int_equal(stats->submit_assigned, 1);
    assert_int_equal(stats->submit_locked, 1);
    assert_int_equal(stats->submit_refused, 0);
}

/* The node the journal broadcasts shows the assignment even when this
   node validates nothing (and so reports no Tip of its own chunk). */
static void test_submit_assigned_on_broadcast(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    s_epoch(f, 1);
    s_propose(f, 0);
    s_submit(f, 1, 9, "sent at once", 12);
    assert_int_equal(s_count(f, OB_DEST_CLIENT, OB_IMSG_SUBMIT_QUEUED), 1);
    s_handed(f, 0, "sent at once", 12); /* the pending proposal took it */

    ob_node_t node = {.chunk = s_chunk(f, 0, 0, "sent at once", 12)};
    memset(node.signature, 0x11, sizeof node.signature);
    uint8_t bytes[OB_GENESIS_NODE_LEN];
    size_t len = 0;
    assert_int_equal(ob_node_encode(&node, bytes, sizeof bytes, &len), 0);
    ob_imsg_t msg = {.type = OB_IMSG_BROADCAST_NODE};
    msg.u.broadcast_node.epoch = 1;
    msg.u.broadcast_node.node = (ob_blob_t){bytes, (uint32_t)len};
    msg.u.broadcast_node.payload = s_stage(f, "sent at once", 12);
    s_internal(f, &msg);
    ob_imsg_t assigned = s_answer(f, 1, OB_IMSG_SUBMIT_ASSIGNED);
    assert_int_equal(assigned.u.submit_assigned.tag, 9);
    assert_int_equal(assigned.u.submit_assigned.height, 0);
    assert_int_equal(s_count_kind(f, OB_DEST_PEER), 3); /* and the node went out */
}

static void test_submit_refusals(void **state)
{
    n_fixture_t *f = *state;
    s_open_with(f, false, 2, 0);

    s_epoch(f, 2); /* key 0 is no sequencer of epoch 2 */
    s_submit(f, 1, 2, "not here", 8);
    s_assert_refused(f, 1, 2, OB_SUBMIT_NOT_SEQUENCER);
    s_epoch(f, 1);

    static uint8_t big[N_MAX + 1];
    s_submit(f, 2, 3, big, sizeof big);
    s_assert_refused(f, 2, 3, OB_SUBMIT_TOO_LARGE);
    s_submit(f, 2, 4, big, N_MAX); /* exactly max_payload fits */
    assert_int_equal(s_answer(f, 2, OB_IMSG_SUBMIT_QUEUED).u.submit_queued.tag, 4);
    s_submit(f, 2, 5, "", 0); /* so does nothing */
    assert_int_equal(s_answer(f, 2, OB_IMSG_SUBMIT_QUEUED).u.submit_queued.tag, 5);
    s_submit(f, 2, 6, "third", 5);
    s_assert_refused(f, 2, 6, OB_SUBMIT_QUEUE_FULL);

    const ob_net_stats_t *stats = s_stats(f);
    assert_int_equal(stats->submitted, 2);
    assert_int_equal(stats->submit_refused, 3);
    assert_int_equal(stats->refused_by[OB_SUBMIT_NOT_SEQUENCER], 1);
    assert_int_equal(stats->refused_by[OB_SUBMIT_TOO_LARGE], 1);
    assert_int_equal(stats->refused_by[OB_SUBMIT_QUEUE_FULL], 1);
    assert_int_equal(stats->clients_in, 5);

    /* A node whose application is external: its queue proposes nothing,
       attached or not. */
    ob_net_destroy(&f->net);
    s_open_external(f);
    s_epoch(f, 1);
    s_submit(f, 4, 7, "to the app", 10);
    s_assert_refused(f, 4, 7, OB_SUBMIT_APP_ATTACHED);
    s_attach(f, 10);
    s_submit(f, 4, 8, "to the app", 10);
    s_assert_refused(f, 4, 8, OB_SUBMIT_APP_ATTACHED);
    assert_int_equal(s_stats(f)->refused_by[OB_SUBMIT_APP_ATTACHED], 2);
}

/* Just after a start, before the journal has said which epoch is current,
   the manifest's first epoch decides: key 0 sequences in epoch 1, so its
   clients are served at once rather than refused. */
static void test_submit_before_epoch_known(void **state)
{
    n_fixture_t *f = *state;
    s_open_with(f, false, 2, 0);
    s_submit(f, 1, 1, "early", 5);
    assert_int_equal(s_answer(f, 1, OB_IMSG_SUBMIT_QUEUED).u.submit_queued.tag, 1);
    assert_int_equal(s_stats(f)->refused_by[OB_SUBMIT_NOT_SEQUENCER], 0);
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

static void test_submit_track_full_drops_oldest(void **state)
{
    n_fixture_t *f = *state;
    s_open_with(f, false, 4, 2);
    s_epoch(f, 1);
    const char *payloads[3] = {"batch a", "batch b", "batch c"};
    for (uint64_t i = 0; i < 3; i++) {
        s_submit(f, (uint8_t)i, 100 + i, payloads[i], 7);
        s_propose(f, i);
        s_handed(f, i, payloads[i], 7);
    }
    assert_int_equal(s_stats(f)->track_evicted, 1);
    uint8_t lock[512];
    for (uint64_t i = 0; i < 3; i++) {
        ob_chunk_t ours = s_chunk(f, 0, i, payloads[i], 7);
        s_report_lock(f, lock, s_lock(&ours, lock, sizeof lock));
        if (i == 0) {
            assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0); /* forgotten */
            continue;
        }
        /* Never assigned before: both notifications, in order. */
        assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 2);
        assert_int_equal(
            s_the(f, OB_DEST_CLIENT, OB_IMSG_SUBMIT_ASSIGNED, NULL).u.submit_assigned.tag, 100 + i);
        assert_int_equal(s_the(f, OB_DEST_CLIENT, OB_IMSG_SUBMIT_LOCKED, NULL).u.submit_locked.tag,
                         100 + i);
    }
}

static void test_submit_reserved_after_lost_proposal(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    s_epoch(f, 1);
    s_submit(f, 1, 1, "first", 5);
    s_submit(f, 1, 2, "second", 6);
    s_propose(f, 3);
    s_handed(f, 3, "first", 5);

    /* The journal crashed before it made the payload durable: it asks for
       height 3 again, and gets the same payload, not the next one. */
    s_propose(f, 3);
    s_handed(f, 3, "first", 5);
    assert_int_equal(s_stats(f)->reserved, 1);

    ob_chunk_t ours = s_chunk(f, 0, 3, "first", 5);
    s_report_tip(f, &ours);
    assert_int_equal(s_answer(f, 1, OB_IMSG_SUBMIT_ASSIGNED).u.submit_assigned.tag, 1);

    /* Shown: the next proposal takes the next payload. */
    s_propose(f, 4);
    s_handed(f, 4, "second", 6);
    assert_int_equal(s_stats(f)->handed_lost, 0);

    /* A higher height without "second" ever seen: given up, not
       proposed twice. */
    s_propose(f, 5);
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_APP_PAYLOAD), 0);
    assert_int_equal(s_stats(f)->handed_lost, 1);
}

static void test_submit_requeued_when_height_taken(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    s_epoch(f, 1);
    s_submit(f, 1, 1, "mine", 4);
    s_propose(f, 2);
    s_handed(f, 2, "mine", 4);

    /* The node at height 2 carries another payload (signed before a
       crash): "mine" is not in it, so it goes back to the queue. */
    ob_chunk_t other = s_chunk(f, 0, 2, "signed earlier", 14);
    s_report_tip(f, &other);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);
    assert_int_equal(s_stats(f)->requeued, 1);
    assert_int_equal(s_stats(f)->track_lost, 1);

    s_propose(f, 3);
    s_handed(f, 3, "mine", 4);
    ob_chunk_t ours = s_chunk(f, 0, 3, "mine", 4);
    s_report_tip(f, &ours);
    ob_imsg_t assigned = s_answer(f, 1, OB_IMSG_SUBMIT_ASSIGNED);
    assert_int_equal(assigned.u.submit_assigned.tag, 1);
    assert_int_equal(assigned.u.submit_assigned.height, 3);
}

/* --- resends: a net restart loses the queue and the followed table ------ */

static void s_follow(n_fixture_t *f, uint8_t client, uint64_t tag, uint64_t height,
                     const uint8_t digest[32])
{
    ob_imsg_t msg = {.type = OB_IMSG_SUBMIT_FOLLOW};
    msg.u.submit_follow.tag = tag;
    msg.u.submit_follow.height = height;
    memcpy(msg.u.submit_follow.payload, digest, 32);
    uint8_t *frame;
    size_t len = s_encode(&msg, &frame);
    s_client_raw(f, client, frame, len);
    free(frame);
}

/* The lock_query net sent the journal, which must be the only message to
   an actor. */
static void s_assert_lock_query(n_fixture_t *f, uint64_t height)
{
    assert_int_equal(s_count_kind(f, OB_DEST_ACTOR), 1);
    ob_imsg_t query = s_the(f, OB_DEST_ACTOR, OB_IMSG_LOCK_QUERY, NULL);
    assert_int_equal(query.u.lock_query.height, height);
}

/* A client that heard nothing sends the same submit again: net answers
   where it stands and queues nothing twice, while it is queued, handed
   and assigned. */
static void test_submit_again_not_queued_twice(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    s_epoch(f, 1);
    s_submit(f, 3, 42, "say it twice", 12);
    assert_int_equal(s_answer(f, 3, OB_IMSG_SUBMIT_QUEUED).u.submit_queued.tag, 42);
    s_submit(f, 3, 42, "say it twice", 12); /* queued */
    assert_int_equal(s_answer(f, 3, OB_IMSG_SUBMIT_QUEUED).u.submit_queued.tag, 42);
    assert_int_equal(s_count_kind(f, OB_DEST_ACTOR), 0);
    /* The same tag from another client is another payload. */
    s_submit(f, 4, 42, "someone else", 12);
    s_answer(f, 4, OB_IMSG_SUBMIT_QUEUED);
    assert_int_equal(s_stats(f)->submitted, 2);

    s_propose(f, 5);
    s_handed(f, 5, "say it twice", 12);
    s_submit(f, 3, 42, "say it twice", 12); /* handed, not yet assigned */
    s_answer(f, 3, OB_IMSG_SUBMIT_QUEUED);
    assert_int_equal(s_count_kind(f, OB_DEST_ACTOR), 0);

    ob_chunk_t ours = s_chunk(f, 0, 5, "say it twice", 12);
    s_report_tip(f, &ours);
    s_answer(f, 3, OB_IMSG_SUBMIT_ASSIGNED);
    s_submit(f, 3, 42, "say it twice", 12); /* assigned: told both again */
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 2);
    assert_int_equal(s_the(f, OB_DEST_CLIENT, OB_IMSG_SUBMIT_QUEUED, NULL).u.submit_queued.tag, 42);
    ob_imsg_t assigned = s_the(f, OB_DEST_CLIENT, OB_IMSG_SUBMIT_ASSIGNED, NULL);
    assert_int_equal(assigned.u.submit_assigned.tag, 42);
    assert_int_equal(assigned.u.submit_assigned.height, 5);

    /* The next proposal is the other client's payload: nothing twice. */
    s_propose(f, 6);
    s_handed(f, 6, "someone else", 12);
    s_propose(f, 7);
    assert_int_equal(s_count(f, OB_DEST_ACTOR, OB_IMSG_APP_PAYLOAD), 0);

    uint8_t lock[512];
    s_report_lock(f, lock, s_lock(&ours, lock, sizeof lock));
    assert_int_equal(s_answer(f, 3, OB_IMSG_SUBMIT_LOCKED).u.submit_locked.tag, 42);
    const ob_net_stats_t *stats = s_stats(f);
    assert_int_equal(stats->submitted, 2);
    assert_int_equal(stats->submit_again, 3);
    assert_int_equal(stats->submit_locked, 1);
}

/* A restarted net hears submit_follow for a payload it never saw: it
   follows it, asks the journal for the Lock, and sends submit_locked once
   (a second report of the same Lock finds nobody). */
static void test_submit_follow_after_restart(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    ob_chunk_t ours = s_chunk(f, 0, 9, "before the crash", 16);
    s_follow(f, 3, 7, 9, ours.payload);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0); /* no answer of its own */
    s_assert_lock_query(f, 9);
    s_follow(f, 3, 7, 9, ours.payload); /* asked again: one entry, asked again */
    s_assert_lock_query(f, 9);
    assert_int_equal(s_stats(f)->submit_follow, 2);

    /* Its Tip says nothing new: the client heard "assigned" already. */
    s_report_tip(f, &ours);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);

    /* The journal's answer, the Lock it held. */
    uint8_t lock[512];
    size_t lock_len = s_lock(&ours, lock, sizeof lock);
    s_report_lock(f, lock, lock_len);
    ob_imsg_t locked = s_answer(f, 3, OB_IMSG_SUBMIT_LOCKED);
    assert_int_equal(locked.u.submit_locked.tag, 7);
    assert_int_equal(locked.u.submit_locked.lock.len, lock_len);
    assert_memory_equal(locked.u.submit_locked.lock.data, lock, lock_len);
    s_the(f, OB_DEST_ACTOR, OB_IMSG_LOCK_DELIVERED, NULL);
    s_report_lock(f, lock, lock_len); /* the second answer: harmless */
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);
    assert_int_equal(s_stats(f)->submit_locked, 1);

    /* A follow for a height whose chunk carries another payload is
       dropped when that chunk shows. */
    ob_chunk_t claimed = s_chunk(f, 0, 10, "what the client thinks", 22);
    ob_chunk_t actual = s_chunk(f, 0, 10, "what was signed", 15);
    s_follow(f, 3, 8, 10, claimed.payload);
    s_assert_lock_query(f, 10);
    s_report_lock(f, lock, s_lock(&actual, lock, sizeof lock));
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);
    assert_int_equal(s_stats(f)->track_lost, 1);
}

/* Just after a restart, the chunk the net before handed shows (the
   journal's broadcast) before its client hears "assigned": the client's
   resubmit is that chunk's, not a second proposal. */
static void test_submit_claims_a_chunk_a_restart_left(void **state)
{
    n_fixture_t *f = *state;
    s_open(f, false);
    s_epoch(f, 1);
    ob_chunk_t inflight = s_chunk(f, 0, 11, "in flight", 9);
    s_report_tip(f, &inflight);
    assert_int_equal(ob_outbox_count(f->out), 0);

    s_submit(f, 3, 5, "in flight", 9);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 2);
    assert_int_equal(s_the(f, OB_DEST_CLIENT, OB_IMSG_SUBMIT_QUEUED, NULL).u.submit_queued.tag, 5);
    ob_imsg_t assigned = s_the(f, OB_DEST_CLIENT, OB_IMSG_SUBMIT_ASSIGNED, NULL);
    assert_int_equal(assigned.u.submit_assigned.tag, 5);
    assert_int_equal(assigned.u.submit_assigned.height, 11);
    assert_memory_equal(assigned.u.submit_assigned.payload, inflight.payload, 32);
    s_assert_lock_query(f, 11);
    assert_int_equal(s_stats(f)->submitted, 0);
    assert_int_equal(s_stats(f)->submit_claimed, 1);

    uint8_t lock[512];
    s_report_lock(f, lock, s_lock(&inflight, lock, sizeof lock));
    assert_int_equal(s_answer(f, 3, OB_IMSG_SUBMIT_LOCKED).u.submit_locked.tag, 5);

    /* Claimed once: the same bytes again are a new payload. */
    s_submit(f, 3, 6, "in flight", 9);
    s_answer(f, 3, OB_IMSG_SUBMIT_QUEUED);
    assert_int_equal(s_stats(f)->submitted, 1);

    /* A chunk at or above what this net handed is its own doing: never
       claimed by another submit of its bytes. */
    s_propose(f, 12);
    s_handed(f, 12, "in flight", 9);
    ob_chunk_t mine = s_chunk(f, 0, 12, "in flight", 9);
    s_report_tip(f, &mine);
    s_answer(f, 3, OB_IMSG_SUBMIT_ASSIGNED);
    s_report_lock(f, lock, s_lock(&mine, lock, sizeof lock));
    s_answer(f, 3, OB_IMSG_SUBMIT_LOCKED);
    s_report_tip(f, &mine);
    s_submit(f, 3, 7, "in flight", 9);
    s_answer(f, 3, OB_IMSG_SUBMIT_QUEUED);
    assert_int_equal(s_stats(f)->submitted, 2);
    assert_int_equal(s_stats(f)->submit_claimed, 1);
}

static void test_submit_inside_the_node(void **state)
{
    n_fixture_t *f = *state;
    s_open_with(f, false, 1, 0);
    s_propose(f, 0);
    assert_int_equal(ob_net_submit(f->net, (const uint8_t *)"inner", 5, f->out), 0);
    s_handed(f, 0, "inner", 5);
    assert_int_equal(s_count_kind(f, OB_DEST_CLIENT), 0);
    static uint8_t big[N_MAX + 1];
    assert_int_equal(ob_net_submit(f->net, big, sizeof big, f->out), -1);
    assert_int_equal(ob_net_submit(f->net, (const uint8_t *)"a", 1, f->out), 0);
    assert_int_equal(ob_net_submit(f->net, (const uint8_t *)"b", 1, f->out), -1); /* full */
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
        T(test_submit_queued_assigned_locked),
        T(test_submit_assigned_on_broadcast),
        T(test_submit_refusals),
        T(test_submit_before_epoch_known),
        T(test_submit_malformed),
        T(test_submit_track_full_drops_oldest),
        T(test_submit_reserved_after_lost_proposal),
        T(test_submit_requeued_when_height_taken),
        T(test_submit_inside_the_node),
        T(test_submit_again_not_queued_twice),
        T(test_submit_follow_after_restart),
        T(test_submit_claims_a_chunk_a_restart_left),
    };
#undef T
    return cmocka_run_group_tests_name("net_app", tests, NULL, NULL);
}

/*  The pure handlers against every way a message can be refused (SPEC §2
    error names, §3 rules): one test per reason, each driving the real
    verifier, signer, journal or net with real SQLite files in a fresh
    directory, and each asserting that exactly that reason's counter moved
    and that nothing that should have been held back was forwarded, acked,
    signed or committed. A few positive tests beside them show that the
    same inputs, made right, do pass: a drop test that passes only because
    nothing ever passes would prove nothing.

    Every message goes through the real imsg codec on its way in, as in the
    simulator and the real shells. */
#include "testutil.h"

#include "batch.h"

#include "journal.h"
#include "journal_store.h"
#include "log.h"
#include "net.h"
#include "outbox.h"
#include "signer.h"
#include "signer_store.h"
#include "verifier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define H_VALIDATORS 4
#define H_OUTSIDER   4 /* key number of a key in no set of any epoch */
#define H_KEYS       5
#define H_SLOTS      64
#define H_SLOT_SIZE  4096
#define H_NOW        1000 /* the journal's clock; no test ticks it */
#define H_NODE_MAX   (OB_GENESIS_NODE_LEN + 32 + 8 + 2 + H_VALIDATORS * OB_CERT_ENTRY_LEN)

/* Byte offsets in an encoded Node (SPEC §2). */
#define H_AT_HEIGHT    32
#define H_AT_SIGNATURE OB_CHUNK_LEN
#define H_AT_FLAG      (OB_CHUNK_LEN + OB_SIGNATURE_LEN)
#define H_AT_EPOCH     (H_AT_FLAG + 1 + 32)
#define H_AT_COUNT     (H_AT_EPOCH + 8)
#define H_AT_ENTRY(i)  (H_AT_COUNT + 2 + (i)*OB_CERT_ENTRY_LEN)
/* Byte offsets in an encoded Ack. */
#define H_ACK_AT_INDEX     (OB_CHUNK_LEN + 8)
#define H_ACK_AT_SIGNATURE (OB_CHUNK_LEN + 8 + 2)

/* Signer sets, as masks of key numbers. */
#define H_ALL   0x0fu
#define H_FIRST 0x07u /* keys 0, 1, 2: a quorum of four */

typedef struct {
    char dir[64];
    char signer_path[128];
    char journal_path[128];
    ob_crypto_t *crypto;
    ob_namespace_t ns;
    ob_keypair_t keys[H_KEYS];
    ob_epochs_t *epochs;
    ob_params_t params;
    ob_arena_t *arena;
    ob_outbox_t *out;
    ob_verifier_t *verifier;
    ob_signer_t *signer;
    ob_journal_t *journal;
    ob_net_t *net;
} h_fixture_t;

/* A node as the tests build it: its chunk and its encoding. */
typedef struct {
    ob_chunk_t chunk;
    uint8_t bytes[H_NODE_MAX];
    size_t len;
} h_node_t;

/* --- the world: keys, epochs, arena, a scratch directory ---------------- */

static ob_keyset_t *s_set(h_fixture_t *f, unsigned mask)
{
    uint8_t keys[H_KEYS][32];
    size_t count = 0;
    for (int k = 0; k < H_KEYS; k++)
        if (mask >> k & 1)
            memcpy(keys[count++], f->keys[k].pub.bytes, 32);
    ob_why_t why;
    ob_keyset_t *set = ob_keyset_new(f->crypto, (const uint8_t(*)[32])keys, count, &why);
    assert_non_null(set);
    return set;
}

/* Three epochs with the same four validators. Epoch 2 leaves key 3 out of
   its sequencers, so "not a sequencer of the current epoch" can be told
   from "not a sequencer of any epoch" (the outsider). */
static void s_add_epoch(h_fixture_t *f, uint64_t epoch, unsigned sequencers)
{
    ob_keyset_t *v = s_set(f, H_ALL);
    ob_keyset_t *s = s_set(f, sequencers);
    assert_int_equal(ob_epochs_add(f->epochs, epoch, &v, &s, NULL), 0);
}

static int s_setup(void **state)
{
    h_fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    tu_temp_dir(f->dir, sizeof f->dir, "handlers");
    snprintf(f->signer_path, sizeof f->signer_path, "%s/signer.db", f->dir);
    snprintf(f->journal_path, sizeof f->journal_path, "%s/journal.db", f->dir);
    *state = f;
    ob_log_set_level(OB_LOG_ERROR); /* the refusals below warn by design */

    f->crypto = ob_crypto_new();
    assert_non_null(f->crypto);
    assert_int_equal(ob_namespace_init(&f->ns, f->crypto, "handler-test", 12, NULL), 0);
    for (int k = 0; k < H_KEYS; k++) {
        char label[32];
        uint8_t secret[32];
        snprintf(label, sizeof label, "handler-test-%d", k);
        ob_sha256(f->crypto, label, strlen(label), secret);
        assert_int_equal(ob_keypair_from_secret(f->crypto, secret, &f->keys[k]), 0);
    }
    f->epochs = ob_epochs_new();
    assert_non_null(f->epochs);
    s_add_epoch(f, 1, H_ALL);
    s_add_epoch(f, 2, H_FIRST);
    s_add_epoch(f, 3, H_ALL);

    f->params = OB_PARAMS_DEFAULT;
    f->params.max_payload = H_SLOT_SIZE;
    ob_why_t why;
    f->arena = ob_arena_new_heap(H_SLOTS, H_SLOT_SIZE, &why);
    assert_non_null(f->arena);
    f->out = ob_outbox_new(256, 1u << 20);
    assert_non_null(f->out);
    return 0;
}

static int s_teardown(void **state)
{
    h_fixture_t *f = *state;
    ob_verifier_destroy(&f->verifier);
    ob_signer_destroy(&f->signer);
    ob_journal_destroy(&f->journal);
    ob_net_destroy(&f->net);
    ob_outbox_destroy(&f->out);
    ob_arena_destroy(&f->arena);
    ob_epochs_destroy(&f->epochs);
    for (int k = 0; k < H_KEYS; k++)
        ob_keypair_wipe(&f->keys[k]);
    ob_crypto_destroy(&f->crypto);
    tu_remove_dir(f->dir);
    free(f);
    return 0;
}

static ob_node_env_t s_env(h_fixture_t *f, int self)
{
    ob_node_env_t env = {.ns = &f->ns, .epochs = f->epochs, .params = f->params, .arena = f->arena};
    memcpy(env.self_key, f->keys[self].pub.bytes, 32);
    return env;
}

/* The validator index of key `k` (the same in every epoch here). */
static uint16_t s_index(h_fixture_t *f, int k)
{
    uint16_t index = 0;
    assert_true(
        ob_keyset_index_of(ob_epochs_validators(f->epochs, 1), f->keys[k].pub.bytes, &index));
    return index;
}

/* --- building what peers send, with the real signing and codecs -------- */

static ob_chunk_t s_chunk(h_fixture_t *f, int sequencer, uint64_t height, const char *payload)
{
    ob_chunk_t chunk;
    memcpy(chunk.sequencer, f->keys[sequencer].pub.bytes, 32);
    chunk.height = height;
    ob_sha256(f->crypto, payload, strlen(payload), chunk.payload);
    return chunk;
}

static ob_ack_t s_ack(h_fixture_t *f, int validator, const ob_chunk_t *chunk, uint64_t epoch)
{
    ob_ack_t ack = {.chunk = *chunk, .epoch = epoch, .index = s_index(f, validator)};
    assert_int_equal(
        ob_ack_sign(f->crypto, &f->ns, &f->keys[validator], chunk, epoch, NULL, ack.signature), 0);
    return ack;
}

static void s_ack_encode(const ob_ack_t *ack, uint8_t out[OB_ACK_LEN])
{
    size_t written = 0;
    assert_int_equal(ob_ack_encode(ack, out, OB_ACK_LEN, &written), 0);
    assert_int_equal(written, OB_ACK_LEN);
}

/* A certificate on (chunk, epoch) by the keys in `signers`, written into
   `entries` (room for all four). A quorum goes through ob_cert_assemble,
   as the signer makes it; fewer are laid out by hand, since assembly
   rightly refuses them. */
static ob_cert_t s_cert(h_fixture_t *f, const ob_chunk_t *chunk, uint64_t epoch, unsigned signers,
                        uint8_t entries[H_VALIDATORS * OB_CERT_ENTRY_LEN])
{
    ob_ack_t acks[H_VALIDATORS];
    size_t count = 0;
    for (int k = 0; k < H_VALIDATORS; k++)
        if (signers >> k & 1)
            acks[count++] = s_ack(f, k, chunk, epoch);
    ob_cert_t cert = {0};
    if (count >= ob_quorum(H_VALIDATORS)) {
        assert_int_equal(ob_cert_assemble(acks, count, H_VALIDATORS, entries,
                                          H_VALIDATORS * OB_CERT_ENTRY_LEN, &cert),
                         OB_OK);
        return cert;
    }
    /* Ascending by index, as on the wire. */
    uint16_t written = 0;
    for (uint16_t index = 0; index < H_VALIDATORS; index++)
        for (size_t i = 0; i < count; i++)
            if (acks[i].index == index)
                ob_cert_entry_write(entries + OB_CERT_ENTRY_LEN * written++, index,
                                    acks[i].signature);
    cert.count = written;
    cert.entries = entries;
    return cert;
}

/* A node of key `sequencer` at `height` over `payload`, signed. Above
   height 0 its parent is (sequencer, height-1, parent_payload), certified
   in `parent_epoch` by the keys in `signers`. */
static void s_node(h_fixture_t *f, h_node_t *out, int sequencer, uint64_t height,
                   const char *payload, const char *parent_payload, uint64_t parent_epoch,
                   unsigned signers)
{
    ob_node_t node = {.chunk = s_chunk(f, sequencer, height, payload)};
    uint8_t entries[H_VALIDATORS * OB_CERT_ENTRY_LEN];
    if (height > 0) {
        ob_chunk_t parent = s_chunk(f, sequencer, height - 1, parent_payload);
        node.has_parent = true;
        memcpy(node.parent.digest, parent.payload, 32);
        node.parent.epoch = parent_epoch;
        node.parent.cert = s_cert(f, &parent, parent_epoch, signers, entries);
    }
    assert_int_equal(
        ob_chunk_sign(f->crypto, &f->ns, &f->keys[sequencer], &node.chunk, NULL, node.signature),
        0);
    out->chunk = node.chunk;
    assert_int_equal(ob_node_encode(&node, out->bytes, sizeof out->bytes, &out->len), 0);
}

/* Payload bytes in the arena, as the actor `owner` would hand them on. */
static ob_handle_t s_stage(h_fixture_t *f, ob_actor_t owner, const char *payload)
{
    ob_handle_t handle;
    assert_int_equal(ob_arena_put(f->arena, f->crypto, (uint16_t)owner, payload,
                                  (uint32_t)strlen(payload), &handle),
                     0);
    return handle;
}

/* --- driving the handlers ------------------------------------------------ */

/* Hands `msg` to the actor `to` through the imsg codec, in a batch of its
   own (begin, handle, commit for the two with a database). The outbox is
   emptied first, so afterwards it holds exactly what this message made. */
static void s_deliver_at(h_fixture_t *f, ob_actor_t to, const ob_imsg_t *msg, uint64_t now);

static void s_deliver(h_fixture_t *f, ob_actor_t to, const ob_imsg_t *msg)
{
    s_deliver_at(f, to, msg, H_NOW);
}

static void s_deliver_at(h_fixture_t *f, ob_actor_t to, const ob_imsg_t *msg, uint64_t now)
{
    uint8_t *buf = NULL;
    ob_imsg_t decoded = tu_through_codec(msg, &buf);
    ob_outbox_clear(f->out);
    switch (to) {
    case OB_ACTOR_NET:
        ob_net_handle(f->net, tu_sender(OB_PARTY_NET, &decoded), &decoded, f->out);
        break;
    case OB_ACTOR_VERIFIER:
        ob_verifier_handle(f->verifier, now, tu_sender(OB_PARTY_VERIFIER, &decoded), &decoded,
                           f->out);
        break;
    case OB_ACTOR_SIGNER:
        assert_int_equal(ob_signer_begin(f->signer), 0);
        ob_signer_handle(f->signer, tu_sender(OB_PARTY_SIGNER, &decoded), &decoded, f->out);
        assert_int_equal(ob_signer_commit(f->signer), 0);
        break;
    case OB_ACTOR_JOURNAL:
        assert_int_equal(ob_journal_begin(f->journal), 0);
        ob_journal_handle(f->journal, now, tu_sender(OB_PARTY_JOURNAL, &decoded), &decoded, f->out);
        ob_journal_end_batch(f->journal, f->out);
        assert_int_equal(ob_journal_commit(f->journal), 0);
        break;
    }
    free(buf);
}

static void s_epoch(h_fixture_t *f, ob_actor_t to, uint64_t epoch)
{
    ob_imsg_t msg = {.type = OB_IMSG_EPOCH_CHANGED};
    msg.u.epoch_changed.epoch = epoch;
    s_deliver(f, to, &msg);
}

static size_t s_sent(h_fixture_t *f, ob_actor_t to, ob_imsg_type_t type)
{
    return tu_sent(f->out, to, type);
}

static ob_imsg_t s_the(h_fixture_t *f, ob_actor_t to, ob_imsg_type_t type)
{
    return tu_the(f->out, to, type, NULL);
}

/* Exactly one counter of `counters` is non-zero: `why`, at `times`. */
static void s_assert_only(const uint64_t counters[OB_ERROR_COUNT], ob_error_t why, uint64_t times)
{
    for (int e = 0; e < OB_ERROR_COUNT; e++) {
        uint64_t want = e == (int)why ? times : 0;
        if (counters[e] != want)
            fail_msg("counter %s is %llu, expected %llu", ob_error_name((ob_error_t)e),
                     (unsigned long long)counters[e], (unsigned long long)want);
    }
}

/* The outbox holds one thing only: the drop of `why` for the journal,
   naming `actor` and the peer (all zero when `peer` is negative). */
static void s_assert_drop_sent(h_fixture_t *f, ob_actor_t actor, ob_error_t why, int peer)
{
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t msg = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_DROPPED);
    assert_string_equal(ob_error_name((ob_error_t)msg.u.dropped.error), ob_error_name(why));
    assert_int_equal(msg.u.dropped.actor, actor);
    uint8_t none[32] = {0};
    assert_memory_equal(msg.u.dropped.peer, peer >= 0 ? f->keys[peer].pub.bytes : none, 32);
}

/* ======================================================================= */
/* verifier                                                                 */
/* ======================================================================= */

static void s_verifier_open(h_fixture_t *f)
{
    ob_node_env_t env = s_env(f, 0);
    ob_why_t why;
    f->verifier = ob_verifier_new(&env, 4096, &why);
    assert_non_null(f->verifier);
    s_epoch(f, OB_ACTOR_VERIFIER, 1);
    assert_int_equal(ob_outbox_count(f->out), 0);
}

/* `bytes` arrive from the peer with key number `peer`, their payload
   staged by net. */
static void s_peer_node(h_fixture_t *f, int peer, const uint8_t *bytes, size_t len,
                        const ob_handle_t *payload)
{
    ob_imsg_t msg = {.type = OB_IMSG_PEER_NODE};
    memcpy(msg.u.peer_node.peer, f->keys[peer].pub.bytes, 32);
    msg.u.peer_node.node = (ob_blob_t){bytes, (uint32_t)len};
    msg.u.peer_node.payload = *payload;
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
}

static void s_peer_node_with(h_fixture_t *f, int peer, const uint8_t *bytes, size_t len,
                             const char *payload)
{
    ob_handle_t handle = s_stage(f, OB_ACTOR_NET, payload);
    s_peer_node(f, peer, bytes, len, &handle);
}

static void s_peer_ack(h_fixture_t *f, int peer, const uint8_t *bytes, size_t len)
{
    ob_imsg_t msg = {.type = OB_IMSG_PEER_ACK};
    memcpy(msg.u.peer_ack.peer, f->keys[peer].pub.bytes, 32);
    msg.u.peer_ack.ack = (ob_blob_t){bytes, (uint32_t)len};
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
}

/* The verifier dropped the last message for `why` (its `times`-th drop,
   and no other reason ever), told the journal, passed nothing on, and
   freed every payload slot. */
static void s_assert_verifier_dropped(h_fixture_t *f, ob_error_t why, int peer, uint64_t times)
{
    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    s_assert_only(stats->dropped, why, times);
    s_assert_drop_sent(f, OB_ACTOR_VERIFIER, why, peer);
    assert_int_equal(stats->nodes_passed, 0);
    assert_int_equal(stats->acks_passed, 0);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

/* Dropped for `why`, as above, and `peer` blocked for it: what failed
   was signed by its own key, and it sent it (SPEC §3 Blocking). */
static void s_assert_verifier_blocked(h_fixture_t *f, ob_error_t why, int peer, uint64_t times)
{
    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    s_assert_only(stats->dropped, why, times);
    assert_int_equal(ob_outbox_count(f->out), 2);
    ob_imsg_t msg = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_DROPPED);
    assert_string_equal(ob_error_name((ob_error_t)msg.u.dropped.error), ob_error_name(why));
    assert_memory_equal(msg.u.dropped.peer, f->keys[peer].pub.bytes, 32);
    ob_imsg_t block = s_the(f, OB_ACTOR_NET, OB_IMSG_BLOCK_PEER);
    assert_int_equal(block.u.block_peer.error, why);
    assert_memory_equal(block.u.block_peer.peer, f->keys[peer].pub.bytes, 32);
    assert_int_equal(stats->nodes_passed, 0);
    assert_int_equal(stats->acks_passed, 0);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

/* A node of key 1 at height 1 over "one", parent "zero" certified by
   `signers` in epoch 1: the base of the parent certificate cases. */
static void s_child(h_fixture_t *f, h_node_t *node, unsigned signers)
{
    s_node(f, node, 1, 1, "one", "zero", 1, signers);
}

static void test_verifier_valid_node_and_ack_pass(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t genesis, child;
    s_node(f, &genesis, 1, 0, "zero", NULL, 0, 0);
    s_child(f, &child, H_FIRST);

    s_peer_node_with(f, 1, genesis.bytes, genesis.len, "zero");
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t msg = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_VERIFIED);
    assert_int_equal(msg.u.node_verified.node.len, genesis.len);
    assert_memory_equal(msg.u.node_verified.node.data, genesis.bytes, genesis.len);
    assert_memory_equal(msg.u.node_verified.payload.digest, genesis.chunk.payload, 32);

    s_peer_node_with(f, 1, child.bytes, child.len, "one");
    assert_int_equal(ob_outbox_count(f->out), 1);
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_VERIFIED), 1);

    uint8_t ack[OB_ACK_LEN];
    ob_ack_t a = s_ack(f, 2, &genesis.chunk, 1);
    s_ack_encode(&a, ack);
    s_peer_ack(f, 2, ack, sizeof ack);
    assert_int_equal(ob_outbox_count(f->out), 1);
    msg = s_the(f, OB_ACTOR_SIGNER, OB_IMSG_ACK_VERIFIED);
    assert_memory_equal(msg.u.ack_verified.ack.data, ack, OB_ACK_LEN);

    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    assert_int_equal(stats->nodes_passed, 2);
    assert_int_equal(stats->acks_passed, 1);
    s_assert_only(stats->dropped, OB_OK, 0);
    /* The two passed slots are the journal's to take now. */
    assert_int_equal(ob_arena_in_use(f->arena), 2);
}

/* A duplicate node costs no signature check the second time (issue 9,
   defect 6: a byzantine sequencer's duplicates): the sequencer signature
   is cached like an ack's, keyed by the chunk and the signature, so a
   changed signature on the same chunk is still checked and fails. */
static void test_verifier_duplicate_node_hits_the_cache(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    s_peer_node_with(f, 1, node.bytes, node.len, "zero");
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_VERIFIED), 1);
    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    assert_int_equal(stats->cache_hits, 0);
    s_peer_node_with(f, 1, node.bytes, node.len, "zero");
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_VERIFIED), 1);
    assert_int_equal(stats->cache_hits, 1);

    node.bytes[H_AT_SIGNATURE + 3] ^= 0x01;
    s_peer_node_with(f, 1, node.bytes, node.len, "zero");
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_VERIFIED), 0);
    assert_int_equal(stats->dropped[OB_ERR_BAD_SIGNATURE], 1);
    assert_int_equal(stats->cache_hits, 1);
}

static void test_verifier_peer_mismatch_node(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    /* Key 1's node, relayed by key 2: only a sequencer sends its nodes. */
    s_peer_node_with(f, 2, node.bytes, node.len, "zero");
    s_assert_verifier_dropped(f, OB_ERR_PEER_MISMATCH, 2, 1);
}

static void s_journal_open(h_fixture_t *f);
static void s_journal_node(h_fixture_t *f, const h_node_t *node, const char *payload);
static void s_assert_tip(h_fixture_t *f, const ob_chunk_t *chunk);

/* A flood of bad nodes in one batch costs the journal one message per
   (actor, error, peer), with the count, not one per drop; and the
   journal counts them all. */
static void test_verifier_drops_of_a_batch_are_one_message(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    ob_outbox_clear(f->out);
    const int relays[2] = {2, 3};
    const unsigned times[2] = {50, 10};
    for (int r = 0; r < 2; r++)
        for (unsigned i = 0; i < times[r]; i++) {
            ob_imsg_t msg = {.type = OB_IMSG_PEER_NODE};
            memcpy(msg.u.peer_node.peer, f->keys[relays[r]].pub.bytes, 32);
            msg.u.peer_node.node = (ob_blob_t){node.bytes, (uint32_t)node.len};
            msg.u.peer_node.payload = s_stage(f, OB_ACTOR_NET, "zero");
            ob_verifier_handle(f->verifier, H_NOW, OB_PARTY_NET, &msg, f->out);
        }
    s_assert_only(ob_verifier_stats(f->verifier)->dropped, OB_ERR_PEER_MISMATCH, 60);
    assert_int_equal(ob_outbox_count(f->out), 2);
    ob_imsg_t drops[2];
    for (size_t i = 0; i < 2; i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        assert_int_equal(ob_imsg_decode(&drops[i], ob_outbox_bytes(f->out, e), e->len), OB_OK);
        assert_int_equal(drops[i].type, OB_IMSG_DROPPED);
        assert_int_equal(drops[i].u.dropped.error, OB_ERR_PEER_MISMATCH);
        assert_memory_equal(drops[i].u.dropped.peer, f->keys[relays[i]].pub.bytes, 32);
        assert_int_equal(drops[i].u.dropped.count, times[i]);
    }
    /* The next batch starts its own counts. */
    ob_outbox_clear(f->out);
    assert_int_equal(
        ob_outbox_dropped(f->out, OB_ACTOR_VERIFIER, OB_ERR_PEER_MISMATCH, f->keys[2].pub.bytes),
        0);
    ob_imsg_t again;
    const ob_envelope_t *e = ob_outbox_at(f->out, 0);
    assert_int_equal(ob_imsg_decode(&again, ob_outbox_bytes(f->out, e), e->len), OB_OK);
    assert_int_equal(again.u.dropped.count, 1);

    s_journal_open(f);
    assert_int_equal(ob_journal_begin(f->journal), 0);
    for (size_t i = 0; i < 2; i++)
        ob_journal_handle(f->journal, H_NOW, OB_PARTY_VERIFIER, &drops[i], f->out);
    assert_int_equal(ob_journal_commit(f->journal), 0);
    assert_int_equal(ob_journal_stats(f->journal)->dropped[OB_ERR_PEER_MISMATCH], 60);
}

/* More kinds of drop in one batch than the outbox merges: each later one
   is a message of its own, and no count is lost or misplaced. */
static void test_outbox_drops_beyond_its_kinds(void **state)
{
    h_fixture_t *f = *state;
    ob_outbox_clear(f->out);
    uint8_t peers[40][32];
    for (int p = 0; p < 40; p++) {
        memset(peers[p], p + 1, 32);
        for (int k = 0; k <= p % 3; k++)
            assert_int_equal(ob_outbox_dropped(f->out, OB_ACTOR_NET, OB_ERR_TOO_LARGE, peers[p]),
                             0);
    }
    uint64_t total = 0;
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        ob_imsg_t msg;
        assert_int_equal(ob_imsg_decode(&msg, ob_outbox_bytes(f->out, e), e->len), OB_OK);
        int p = msg.u.dropped.peer[0] - 1;
        assert_true(p >= 0 && p < 40);
        /* The first 16 peers were merged; later ones come one by one. */
        assert_int_equal(msg.u.dropped.count, p < 16 ? (unsigned)(p % 3 + 1) : 1u);
        total += msg.u.dropped.count;
    }
    assert_int_equal(total, 40 / 3 * 6 + 1); /* 1 + 2 + 3 per three peers, then peer 39 */
}

/* A batch larger than what the outbox keeps resident gives its memory
   back when it is cleared (the RSS does not keep a burst's peak), and the
   outbox works as before afterwards. */
static void test_outbox_gives_back_a_large_batch(void **state)
{
    (void)state;
    ob_outbox_t *out = ob_outbox_new(65536, 8u << 20);
    assert_non_null(out);
    ob_imsg_t msg = {.type = OB_IMSG_SET_EPOCH};
    for (uint64_t i = 0; i < 40000; i++) {
        msg.u.set_epoch.epoch = i;
        assert_int_equal(ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg), 0);
    }
    /* The envelopes past the first MiB. */
    const ob_envelope_t *last = ob_outbox_at(out, 39999);
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *page_of = (uint8_t *)((uintptr_t)last & ~(uintptr_t)(page - 1));
    unsigned char resident = 0;
    assert_int_equal(mincore(page_of, (size_t)page, &resident), 0);
    assert_true(resident & 1);
    assert_int_equal(ob_outbox_give_backs(out), 0);
    ob_outbox_clear(out);
    assert_int_equal(ob_outbox_give_backs(out), 1);
    assert_int_equal(mincore(page_of, (size_t)page, &resident), 0);
    assert_false(resident & 1);
    /* A small batch keeps its memory. */
    assert_int_equal(ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg), 0);
    ob_outbox_clear(out);
    assert_int_equal(ob_outbox_give_backs(out), 1);
    /* And the memory given back serves again. */
    for (uint64_t i = 0; i < 40000; i++) {
        msg.u.set_epoch.epoch = i;
        assert_int_equal(ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg), 0);
    }
    for (size_t i = 0; i < 40000; i += 997) {
        const ob_envelope_t *e = ob_outbox_at(out, i);
        ob_imsg_t back;
        assert_int_equal(ob_imsg_decode(&back, ob_outbox_bytes(out, e), e->len), OB_OK);
        assert_int_equal(back.u.set_epoch.epoch, i);
        assert_int_equal(e->kind, OB_DEST_ACTOR);
        assert_int_equal(e->actor, OB_ACTOR_JOURNAL);
    }
    ob_outbox_destroy(&out);
    ob_outbox_destroy(&out);
    assert_null(out);
}

static void test_verifier_peer_mismatch_ack(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    ob_ack_t ack = s_ack(f, 1, &chunk, 1);
    uint8_t bytes[OB_ACK_LEN];
    s_ack_encode(&ack, bytes);
    /* Validator 1's ack, validly signed, from peer 2: index is not P. */
    s_peer_ack(f, 2, bytes, sizeof bytes);
    s_assert_verifier_dropped(f, OB_ERR_PEER_MISMATCH, 2, 1);
}

static void test_verifier_unknown_sequencer(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    /* A key in no epoch at all. */
    h_node_t outsider;
    s_node(f, &outsider, H_OUTSIDER, 0, "zero", NULL, 0, 0);
    s_peer_node_with(f, H_OUTSIDER, outsider.bytes, outsider.len, "zero");
    s_assert_verifier_dropped(f, OB_ERR_UNKNOWN_SEQUENCER, H_OUTSIDER, 1);

    /* Key 3 sequences in epoch 1 but not in epoch 2: once 2 is current,
       its node is refused. */
    h_node_t node;
    s_node(f, &node, 3, 0, "zero", NULL, 0, 0);
    s_epoch(f, OB_ACTOR_VERIFIER, 2);
    s_peer_node_with(f, 3, node.bytes, node.len, "zero");
    s_assert_verifier_dropped(f, OB_ERR_UNKNOWN_SEQUENCER, 3, 2);
}

static void test_verifier_unknown_sequencer_is_per_epoch(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    /* The control of the case above: key 3's node passes in epoch 1. */
    h_node_t node;
    s_node(f, &node, 3, 0, "zero", NULL, 0, 0);
    s_peer_node_with(f, 3, node.bytes, node.len, "zero");
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_VERIFIED), 1);
    s_assert_only(ob_verifier_stats(f->verifier)->dropped, OB_OK, 0);
}

static void test_verifier_unknown_validator(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    ob_ack_t ack = s_ack(f, 1, &chunk, 1);
    ack.index = H_VALIDATORS; /* n: one past the last validator */
    uint8_t bytes[OB_ACK_LEN];
    s_ack_encode(&ack, bytes);
    s_peer_ack(f, 1, bytes, sizeof bytes);
    s_assert_verifier_dropped(f, OB_ERR_UNKNOWN_VALIDATOR, 1, 1);

    ack.index = 0xffff;
    s_ack_encode(&ack, bytes);
    s_peer_ack(f, 1, bytes, sizeof bytes);
    s_assert_verifier_dropped(f, OB_ERR_UNKNOWN_VALIDATOR, 1, 2);
}

static void test_verifier_unknown_epoch_ack(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    ob_ack_t ack = s_ack(f, 1, &chunk, 99); /* signed for an epoch no manifest has */
    uint8_t bytes[OB_ACK_LEN];
    s_ack_encode(&ack, bytes);
    s_peer_ack(f, 1, bytes, sizeof bytes);
    s_assert_verifier_dropped(f, OB_ERR_UNKNOWN_EPOCH, 1, 1);
}

static void test_verifier_unknown_epoch_parent(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    /* A parent certified "in epoch 99": decoding cannot even bound its
       count, so this is a decode error. */
    h_node_t node;
    s_node(f, &node, 1, 1, "one", "zero", 99, H_FIRST);
    s_peer_node_with(f, 1, node.bytes, node.len, "one");
    s_assert_verifier_dropped(f, OB_ERR_UNKNOWN_EPOCH, 1, 1);
}

static void test_verifier_unknown_epoch_before_the_journal_says(void **state)
{
    h_fixture_t *f = *state;
    ob_node_env_t env = s_env(f, 0);
    f->verifier = ob_verifier_new(&env, 4096, NULL);
    assert_non_null(f->verifier);
    /* No EPOCH_CHANGED yet: without a current epoch no set membership can
       be checked, so nothing passes. */
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    s_peer_node_with(f, 1, node.bytes, node.len, "zero");
    s_assert_verifier_dropped(f, OB_ERR_UNKNOWN_EPOCH, 1, 1);
}

static void test_verifier_bad_signature_node(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    node.bytes[H_AT_SIGNATURE + 5] ^= 0x01;
    s_peer_node_with(f, 1, node.bytes, node.len, "zero");
    s_assert_verifier_blocked(f, OB_ERR_BAD_SIGNATURE, 1, 1);

    /* A valid signature, but by another key than the chunk's sequencer. */
    ob_node_t forged = {.chunk = s_chunk(f, 1, 0, "zero")};
    assert_int_equal(
        ob_chunk_sign(f->crypto, &f->ns, &f->keys[2], &forged.chunk, NULL, forged.signature), 0);
    assert_int_equal(ob_node_encode(&forged, node.bytes, sizeof node.bytes, &node.len), 0);
    s_peer_node_with(f, 1, node.bytes, node.len, "zero");
    s_assert_verifier_blocked(f, OB_ERR_BAD_SIGNATURE, 1, 2);
}

static void test_verifier_bad_signature_ack(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    ob_ack_t ack = s_ack(f, 2, &chunk, 1);
    uint8_t good[OB_ACK_LEN], bad[OB_ACK_LEN];
    s_ack_encode(&ack, good);
    memcpy(bad, good, sizeof bad);
    bad[H_ACK_AT_SIGNATURE + 7] ^= 0x80;

    s_peer_ack(f, 2, bad, sizeof bad);
    s_assert_verifier_blocked(f, OB_ERR_BAD_SIGNATURE, 2, 1);

    /* The good one passes and fills the cache; the bad one still fails,
       since the cache is keyed by the signature too, never by the chunk
       alone (§3). */
    s_peer_ack(f, 2, good, sizeof good);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_ACK_VERIFIED), 1);
    s_peer_ack(f, 2, bad, sizeof bad);
    assert_int_equal(ob_outbox_count(f->out), 2);
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_DROPPED), 1);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_BLOCK_PEER), 1);
    s_assert_only(ob_verifier_stats(f->verifier)->dropped, OB_ERR_BAD_SIGNATURE, 2);

    /* An ack signed for another epoch does not verify for this one. */
    ob_ack_t other = s_ack(f, 2, &chunk, 2);
    other.epoch = 1;
    s_ack_encode(&other, bad);
    s_peer_ack(f, 2, bad, sizeof bad);
    assert_int_equal(ob_outbox_count(f->out), 2);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_BLOCK_PEER), 1);
    s_assert_only(ob_verifier_stats(f->verifier)->dropped, OB_ERR_BAD_SIGNATURE, 3);
    assert_int_equal(ob_verifier_stats(f->verifier)->acks_passed, 1);
}

static void test_verifier_bad_signature_parent_cert(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_child(f, &node, H_FIRST);
    /* One signature of three in the parent certificate is wrong; the
       node's own signature is untouched. */
    node.bytes[H_AT_ENTRY(1) + 2 + 10] ^= 0x04;
    s_peer_node_with(f, 1, node.bytes, node.len, "one");
    s_assert_verifier_dropped(f, OB_ERR_BAD_SIGNATURE, 1, 1);
}

static void test_verifier_below_quorum(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_child(f, &node, 0x03u); /* two valid signers: q - 1 */
    s_peer_node_with(f, 1, node.bytes, node.len, "one");
    s_assert_verifier_dropped(f, OB_ERR_BELOW_QUORUM, 1, 1);
}

static void test_verifier_payload_mismatch(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);

    /* Other bytes than the chunk's digest names. */
    s_peer_node_with(f, 1, node.bytes, node.len, "not zero");
    s_assert_verifier_dropped(f, OB_ERR_PAYLOAD_MISMATCH, 1, 1);

    /* A stale handle: the slot's generation moved on. */
    ob_handle_t handle = s_stage(f, OB_ACTOR_NET, "zero");
    ob_handle_t stale = handle;
    stale.generation++;
    s_peer_node(f, 1, node.bytes, node.len, &stale);
    assert_int_equal(ob_arena_release(f->arena, &handle, OB_ACTOR_NET), 0);
    s_assert_verifier_dropped(f, OB_ERR_PAYLOAD_MISMATCH, 1, 2);
}

/* The right bytes, changed in the slot after net sealed them: the
   verifier relies on the handle's digest only, and the journal, which
   stores the bytes, hashes its own copy at that point of use (SPEC §4):
   the node is dropped there, never made a tip. */
static void test_journal_payload_changed_in_the_slot(void **state)
{
    h_fixture_t *f = *state;
    s_journal_open(f);
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    ob_imsg_t msg = {.type = OB_IMSG_NODE_VERIFIED};
    msg.u.node_verified.node = (ob_blob_t){node.bytes, (uint32_t)node.len};
    msg.u.node_verified.payload = s_stage(f, OB_ACTOR_VERIFIER, "zero");
    uint8_t *slot = (uint8_t *)ob_arena_get(f->arena, &msg.u.node_verified.payload);
    assert_non_null(slot);
    slot[0] ^= 0x20;
    s_deliver(f, OB_ACTOR_JOURNAL, &msg);
    assert_int_equal(ob_journal_stats(f->journal)->dropped[OB_ERR_PAYLOAD_MISMATCH], 1);
    uint64_t height = 0;
    uint8_t payload[32];
    assert_false(ob_journal_tip(f->journal, node.chunk.sequencer, &height, payload));
    assert_int_equal(ob_arena_in_use(f->arena), 0);
    /* the same node with its bytes intact is taken */
    s_journal_node(f, &node, "zero");
    s_assert_tip(f, &node.chunk);
}

/* --- decode errors arriving as peer_node ------------------------------- */

static void test_verifier_decode_short(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    s_peer_node_with(f, 1, node.bytes, node.len - 1, "zero");
    s_assert_verifier_dropped(f, OB_ERR_SHORT, 1, 1);

    s_child(f, &node, H_FIRST); /* cut inside the parent certificate */
    s_peer_node_with(f, 1, node.bytes, node.len - OB_CERT_ENTRY_LEN, "one");
    s_assert_verifier_dropped(f, OB_ERR_SHORT, 1, 2);

    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    ob_ack_t ack = s_ack(f, 1, &chunk, 1);
    uint8_t bytes[OB_ACK_LEN];
    s_ack_encode(&ack, bytes);
    s_peer_ack(f, 1, bytes, OB_ACK_LEN - 1);
    s_assert_verifier_dropped(f, OB_ERR_SHORT, 1, 3);
}

static void test_verifier_decode_trailing(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    node.bytes[node.len] = 0;
    s_peer_node_with(f, 1, node.bytes, node.len + 1, "zero");
    s_assert_verifier_dropped(f, OB_ERR_TRAILING, 1, 1);

    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    ob_ack_t ack = s_ack(f, 1, &chunk, 1);
    uint8_t bytes[OB_ACK_LEN + 1] = {0};
    s_ack_encode(&ack, bytes);
    s_peer_ack(f, 1, bytes, sizeof bytes);
    s_assert_verifier_dropped(f, OB_ERR_TRAILING, 1, 2);
}

static void test_verifier_decode_bad_flag(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    node.bytes[H_AT_FLAG] = 2;
    s_peer_node_with(f, 1, node.bytes, node.len, "zero");
    s_assert_verifier_dropped(f, OB_ERR_BAD_FLAG, 1, 1);
}

static void test_verifier_decode_parent_missing(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    /* A genesis layout (flag 0) that claims height 1. */
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    node.bytes[H_AT_HEIGHT + 7] = 1;
    s_peer_node_with(f, 1, node.bytes, node.len, "zero");
    s_assert_verifier_dropped(f, OB_ERR_PARENT_MISSING, 1, 1);
}

static void test_verifier_decode_parent_on_genesis(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    /* A node with a parent that claims height 0. */
    h_node_t node;
    s_child(f, &node, H_FIRST);
    node.bytes[H_AT_HEIGHT + 7] = 0;
    s_peer_node_with(f, 1, node.bytes, node.len, "one");
    s_assert_verifier_dropped(f, OB_ERR_PARENT_ON_GENESIS, 1, 1);
}

static void test_verifier_decode_cert_order(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_child(f, &node, H_FIRST);
    /* The second entry repeats the first one's index. */
    memcpy(node.bytes + H_AT_ENTRY(1), node.bytes + H_AT_ENTRY(0), 2);
    s_peer_node_with(f, 1, node.bytes, node.len, "one");
    s_assert_verifier_dropped(f, OB_ERR_CERT_ORDER, 1, 1);

    /* Descending. */
    s_child(f, &node, H_FIRST);
    uint8_t first[OB_CERT_ENTRY_LEN];
    memcpy(first, node.bytes + H_AT_ENTRY(0), OB_CERT_ENTRY_LEN);
    memcpy(node.bytes + H_AT_ENTRY(0), node.bytes + H_AT_ENTRY(1), OB_CERT_ENTRY_LEN);
    memcpy(node.bytes + H_AT_ENTRY(1), first, OB_CERT_ENTRY_LEN);
    s_peer_node_with(f, 1, node.bytes, node.len, "one");
    s_assert_verifier_dropped(f, OB_ERR_CERT_ORDER, 1, 2);
}

static void test_verifier_decode_cert_index(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_child(f, &node, H_FIRST);
    /* The last entry names validator n: still ascending, out of range. */
    node.bytes[H_AT_ENTRY(2)] = 0;
    node.bytes[H_AT_ENTRY(2) + 1] = H_VALIDATORS;
    s_peer_node_with(f, 1, node.bytes, node.len, "one");
    s_assert_verifier_dropped(f, OB_ERR_CERT_INDEX, 1, 1);
}

static void test_verifier_decode_cert_too_many(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    h_node_t node;
    s_child(f, &node, H_FIRST);
    /* A count of n + 1, in an epoch of n. */
    node.bytes[H_AT_COUNT] = 0;
    node.bytes[H_AT_COUNT + 1] = H_VALIDATORS + 1;
    s_peer_node_with(f, 1, node.bytes, node.len, "one");
    s_assert_verifier_dropped(f, OB_ERR_CERT_TOO_MANY, 1, 1);
}

/* --- verifying less (issue 10, item 5) ----------------------------------- */

static void s_peer_ack_of(h_fixture_t *f, int validator, const ob_chunk_t *chunk, bool bad)
{
    ob_ack_t ack = s_ack(f, validator, chunk, 1);
    uint8_t bytes[OB_ACK_LEN];
    s_ack_encode(&ack, bytes);
    if (bad)
        bytes[H_ACK_AT_SIGNATURE + 3] ^= 0x10;
    s_peer_ack(f, validator, bytes, sizeof bytes);
}

static void s_quorum_reached(h_fixture_t *f, const ob_chunk_t *chunk, uint64_t epoch)
{
    ob_imsg_t msg = {.type = OB_IMSG_QUORUM_REACHED};
    memcpy(msg.u.quorum_reached.sequencer, chunk->sequencer, 32);
    msg.u.quorum_reached.height = chunk->height;
    msg.u.quorum_reached.epoch = epoch;
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
}

/* The acks forwarded to the signer in the last delivery, by validator key
   number: a bitmask. */
static unsigned s_forwarded(h_fixture_t *f)
{
    unsigned mask = 0;
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        ob_imsg_t msg;
        assert_int_equal(ob_imsg_decode(&msg, ob_outbox_bytes(f->out, e), e->len), OB_OK);
        if (e->actor != OB_ACTOR_SIGNER || msg.type != OB_IMSG_ACK_VERIFIED)
            continue;
        ob_ack_t ack;
        assert_int_equal(
            ob_ack_decode(&ack, msg.u.ack_verified.ack.data, msg.u.ack_verified.ack.len), OB_OK);
        for (int k = 0; k < H_VALIDATORS; k++)
            if (s_index(f, k) == ack.index)
                mask |= 1u << k;
    }
    return mask;
}

static void test_verifier_ack_after_certificate_is_not_verified(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    s_peer_ack_of(f, 2, &chunk, false);
    assert_int_equal(s_forwarded(f), 1u << 2);
    assert_int_equal(stats->signature_checks, 1);

    /* Certified: the next ack on it costs no signature check, and goes
       nowhere (not a chunk of this node's own). */
    s_quorum_reached(f, &chunk, 1);
    s_peer_ack_of(f, 3, &chunk, false);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->signature_checks, 1);
    assert_int_equal(stats->acks_after_certificate, 1);
    assert_int_equal(stats->acks_passed, 1);
    /* Even a bad one: nothing is checked or counted on it. */
    s_peer_ack_of(f, 3, &chunk, true);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->acks_after_certificate, 2);
    /* Only that (sequencer, height, epoch): the next height is checked. */
    ob_chunk_t next = s_chunk(f, 1, 1, "one");
    s_peer_ack_of(f, 3, &next, false);
    assert_int_equal(s_forwarded(f), 1u << 3);
    assert_int_equal(stats->signature_checks, 2);
    /* The cheap checks still come first: P must be the validator. */
    ob_ack_t a = s_ack(f, 2, &chunk, 1);
    uint8_t bytes[OB_ACK_LEN];
    s_ack_encode(&a, bytes);
    s_peer_ack(f, 3, bytes, sizeof bytes);
    assert_int_equal(stats->dropped[OB_ERR_PEER_MISMATCH], 1);

    /* A restarted signer holds no certificate: every ack is checked again. */
    ob_imsg_t reset = {.type = OB_IMSG_QUORUM_RESET};
    s_deliver(f, OB_ACTOR_VERIFIER, &reset);
    s_peer_ack_of(f, 3, &chunk, false);
    assert_int_equal(s_forwarded(f), 1u << 3);
    assert_int_equal(stats->signature_checks, 3);
}

static void test_verifier_late_ack_on_own_chunk_goes_to_the_signer_unverified(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f); /* the node of key 0 */
    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    ob_chunk_t own = s_chunk(f, 0, 4, "four");
    s_quorum_reached(f, &own, 1);
    s_peer_ack_of(f, 3, &own, false);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t msg = s_the(f, OB_ACTOR_SIGNER, OB_IMSG_ACK_LATE);
    assert_memory_equal(msg.u.ack_late.peer, f->keys[3].pub.bytes, 32);
    ob_ack_t ack;
    assert_int_equal(ob_ack_decode(&ack, msg.u.ack_late.ack.data, msg.u.ack_late.ack.len), OB_OK);
    assert_int_equal(ack.index, s_index(f, 3));
    assert_int_equal(stats->signature_checks, 0);
    assert_int_equal(stats->acks_late_forwarded, 1);
}

static void test_verifier_holds_acks_until_a_quorum_is_pending(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f); /* key 0, a validator: its own ack counts without a check */
    ob_verifier_set_hold(f->verifier, 50);
    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");

    /* q = 3 of 4. One ack and the own one are short of it: held. */
    s_peer_ack_of(f, 1, &chunk, false);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->signature_checks, 0);
    assert_int_equal(stats->acks_held, 1);
    assert_true(ob_verifier_next_deadline(f->verifier) != UINT64_MAX);

    /* A second makes a quorum pending: both are verified; the bad one is
       dropped, the good one passes. */
    s_peer_ack_of(f, 2, &chunk, true);
    assert_int_equal(stats->signature_checks, 2);
    assert_int_equal(s_forwarded(f), 1u << 1);
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_DROPPED), 1);
    assert_int_equal(stats->dropped[OB_ERR_BAD_SIGNATURE], 1);
    assert_int_equal(stats->held_at_quorum, 1);
    assert_int_equal(ob_verifier_next_deadline(f->verifier), UINT64_MAX);

    /* Still short (1 passed and the own one): the next that completes it
       is verified at once. */
    s_peer_ack_of(f, 3, &chunk, false);
    assert_int_equal(s_forwarded(f), 1u << 3);
    assert_int_equal(stats->signature_checks, 3);
    assert_int_equal(stats->acks_passed, 2);
    /* A quorum has passed (2 and the own ack): one more is held for the
       quorum_reached on its way, which drops it unchecked. */
    s_peer_ack_of(f, 2, &chunk, false);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->signature_checks, 3);
    s_quorum_reached(f, &chunk, 1);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->acks_after_certificate, 1);
    assert_int_equal(stats->signature_checks, 3);

    /* A node outside the validator set counts no own ack: it holds q. */
    ob_verifier_destroy(&f->verifier);
    ob_node_env_t env = s_env(f, H_OUTSIDER);
    f->verifier = ob_verifier_new(&env, 4096, NULL);
    assert_non_null(f->verifier);
    ob_verifier_set_hold(f->verifier, 50);
    stats = ob_verifier_stats(f->verifier);
    s_epoch(f, OB_ACTOR_VERIFIER, 1);
    s_peer_ack_of(f, 1, &chunk, false);
    s_peer_ack_of(f, 2, &chunk, false);
    assert_int_equal(ob_outbox_count(f->out), 0);
    s_peer_ack_of(f, 3, &chunk, false);
    assert_int_equal(s_forwarded(f), 1u << 1 | 1u << 2 | 1u << 3);
    assert_int_equal(stats->signature_checks, 3);
}

static void test_verifier_held_acks_are_verified_after_the_hold_time(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    ob_verifier_set_hold(f->verifier, 50);
    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    s_peer_ack_of(f, 1, &chunk, false);
    assert_int_equal(ob_outbox_count(f->out), 0);
    uint64_t due = ob_verifier_next_deadline(f->verifier);
    assert_true(due > H_NOW && due <= H_NOW + 50);

    ob_outbox_clear(f->out);
    ob_verifier_tick(f->verifier, due - 1, f->out);
    assert_int_equal(ob_outbox_count(f->out), 0);
    /* No quorum ever came: the hold time verifies it anyway. */
    ob_verifier_tick(f->verifier, due, f->out);
    assert_int_equal(s_forwarded(f), 1u << 1);
    assert_int_equal(stats->held_timeouts, 1);
    assert_int_equal(stats->signature_checks, 1);
    assert_int_equal(ob_verifier_next_deadline(f->verifier), UINT64_MAX);

    /* A quorum_reached on a chunk with acks held drops them unverified. */
    ob_chunk_t other = s_chunk(f, 2, 0, "zero");
    s_peer_ack_of(f, 1, &other, false);
    s_quorum_reached(f, &other, 1);
    assert_int_equal(stats->acks_after_certificate, 1);
    assert_int_equal(ob_verifier_next_deadline(f->verifier), UINT64_MAX);
    ob_outbox_clear(f->out);
    ob_verifier_tick(f->verifier, H_NOW + 1000, f->out);
    assert_int_equal(ob_outbox_count(f->out), 0);
}

static void test_verifier_own_ack_spares_a_check_in_certificates(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f); /* the node of key 0 */
    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    h_node_t child;
    s_child(f, &child, H_FIRST); /* parent certified by keys 0, 1, 2 */
    ob_chunk_t parent = s_chunk(f, 1, 0, "zero");
    uint8_t bytes[OB_ACK_LEN];
    ob_imsg_t msg = {.type = OB_IMSG_ACK_OWN};
    msg.u.ack_own.ack = (ob_blob_t){bytes, OB_ACK_LEN};
    /* Another key's ack is never taken on the signer's word. */
    ob_ack_t other = s_ack(f, 1, &parent, 1);
    s_ack_encode(&other, bytes);
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
    assert_int_equal(stats->own_acks_cached, 0);
    /* The node's own ack, signed by its signer (the signature the
       certificate carries back): in the cache unchecked. */
    ob_ack_t own = s_ack(f, 0, &parent, 1);
    ob_node_t decoded;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(f->epochs);
    assert_int_equal(ob_node_decode(&decoded, child.bytes, child.len, &lookup), OB_OK);
    for (uint16_t i = 0; i < decoded.parent.cert.count; i++)
        if (ob_cert_signer(&decoded.parent.cert, i) == own.index)
            memcpy(own.signature, ob_cert_signature(&decoded.parent.cert, i), 64);
    s_ack_encode(&own, bytes);
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->own_acks_cached, 1);
    assert_int_equal(stats->signature_checks, 0);
    /* The child's node signature and keys 1 and 2 are checked; key 0's
       entry is the own ack: a cache hit. */
    s_peer_node_with(f, 1, child.bytes, child.len, "one");
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_VERIFIED), 1);
    assert_int_equal(stats->signature_checks, 3);
    assert_int_equal(stats->cache_hits, 1);
}

static void test_verifier_hold_table_is_bounded(void **state)
{
    h_fixture_t *f = *state;
    s_verifier_open(f);
    ob_verifier_set_hold(f->verifier, 50);
    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    /* More chunks with an ack held than the table takes: the oldest are
       verified to make room, none is lost. */
    for (uint64_t h = 0; h < 300; h++) {
        ob_chunk_t chunk = s_chunk(f, 1, h, "zero");
        s_peer_ack_of(f, 2, &chunk, false);
    }
    assert_int_equal(stats->acks_held, 300);
    assert_int_equal(stats->held_evicted, 300 - 256);
    assert_int_equal(stats->acks_passed, 300 - 256);
    ob_outbox_clear(f->out);
    ob_verifier_tick(f->verifier, H_NOW + 1000, f->out);
    assert_int_equal(stats->acks_passed, 300);
}

/* ======================================================================= */
/* signer: aggregation                                                      */
/* ======================================================================= */

/* Opens the signer of key `self` on the fixture's record. */
static void s_signer_open(h_fixture_t *f, int self)
{
    ob_signer_config_t config = {.env = s_env(f, self),
                                 .key = f->keys[self],
                                 .db_path = f->signer_path,
                                 .sync = OB_DB_SYNC_FULL};
    ob_why_t why = {{0}};
    f->signer = ob_signer_new(&config, &why);
    if (!f->signer)
        fail_msg("signer: %s", why.text);
}

static void s_ack_verified(h_fixture_t *f, const ob_ack_t *ack)
{
    uint8_t bytes[OB_ACK_LEN];
    s_ack_encode(ack, bytes);
    ob_imsg_t msg = {.type = OB_IMSG_ACK_VERIFIED};
    msg.u.ack_verified.ack = (ob_blob_t){bytes, OB_ACK_LEN};
    s_deliver(f, OB_ACTOR_SIGNER, &msg);
}

static void s_tip_changed(h_fixture_t *f, const ob_chunk_t *chunk)
{
    ob_imsg_t msg = {.type = OB_IMSG_TIP_CHANGED};
    msg.u.tip_changed.chunk = *chunk;
    s_deliver(f, OB_ACTOR_SIGNER, &msg);
}

/* The signer rejected the last ack for `why`, its `times`-th rejection
   and no other reason's; it told the journal and certified nothing. */
static void s_assert_ack_dropped(h_fixture_t *f, ob_error_t why, uint64_t times)
{
    const ob_signer_stats_t *stats = ob_signer_stats(f->signer);
    s_assert_only(stats->acks_dropped, why, times);
    s_assert_drop_sent(f, OB_ACTOR_SIGNER, why, -1);
    assert_int_equal(stats->certificates, 0);
}

/* An ack that is counted leaves nothing in the outbox (short of a quorum,
   and on a chunk not of the signer's own). */
static void s_assert_ack_counted(h_fixture_t *f, uint64_t partials)
{
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(ob_signer_stats(f->signer)->partials, partials);
}

static void test_signer_certifies_a_quorum_once(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    ob_ack_t a1 = s_ack(f, 1, &chunk, 1), a2 = s_ack(f, 2, &chunk, 1), a3 = s_ack(f, 3, &chunk, 1);

    s_ack_verified(f, &a1);
    s_assert_ack_counted(f, 1);
    /* The same validator again is counted once: were it counted twice,
       the next ack would make a false quorum. */
    s_ack_verified(f, &a1);
    s_assert_ack_counted(f, 1);
    s_ack_verified(f, &a2);
    s_assert_ack_counted(f, 1);
    assert_int_equal(ob_signer_stats(f->signer)->certificates, 0);

    s_ack_verified(f, &a3);
    /* The certificate, and the verifier that its acks meet in (by route)
       hears that later ones need no check. */
    assert_int_equal(ob_outbox_count(f->out), 2);
    ob_imsg_t reached = s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_QUORUM_REACHED);
    assert_memory_equal(reached.u.quorum_reached.sequencer, chunk.sequencer, 32);
    assert_int_equal(reached.u.quorum_reached.height, 0);
    assert_int_equal(reached.u.quorum_reached.epoch, 1);
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        if (e->actor == OB_ACTOR_VERIFIER) {
            assert_true(e->routed);
            assert_int_equal(e->route, ob_outbox_route(chunk.sequencer, 0));
        }
    }
    ob_imsg_t msg = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_CERTIFIED);
    ob_epoch_lookup_t lookup = ob_epochs_lookup(f->epochs);
    ob_lock_t lock;
    assert_int_equal(
        ob_lock_decode(&lock, msg.u.certified.lock.data, msg.u.certified.lock.len, &lookup), OB_OK);
    assert_int_equal(ob_lock_verify(f->crypto, &f->ns, f->epochs, &lock), OB_OK);
    assert_memory_equal(&lock.chunk, &chunk, sizeof chunk);
    assert_int_equal(lock.epoch, 1);
    assert_int_equal(lock.cert.count, 3);
    for (uint16_t i = 1; i < lock.cert.count; i++)
        assert_true(ob_cert_signer(&lock.cert, i) > ob_cert_signer(&lock.cert, i - 1));

    const ob_signer_stats_t *stats = ob_signer_stats(f->signer);
    assert_int_equal(stats->certificates, 1);
    s_assert_only(stats->acks_dropped, OB_OK, 0);
}

static void test_signer_late_ack_emits_again(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    ob_chunk_t own = s_chunk(f, 0, 0, "zero");
    ob_ack_t a1 = s_ack(f, 1, &own, 1), a2 = s_ack(f, 2, &own, 1), a3 = s_ack(f, 3, &own, 1);
    s_ack_verified(f, &a1);
    s_ack_verified(f, &a2);
    s_ack_verified(f, &a3);
    assert_int_equal(ob_signer_stats(f->signer)->certificates, 1);

    /* ack_late of validator 3 (counted): someone may lack the
       certificate: it is emitted again, nothing counted. */
    uint8_t bytes[OB_ACK_LEN];
    s_ack_encode(&a3, bytes);
    ob_imsg_t late = {.type = OB_IMSG_ACK_LATE};
    memcpy(late.u.ack_late.peer, f->keys[3].pub.bytes, 32);
    late.u.ack_late.ack = (ob_blob_t){bytes, OB_ACK_LEN};
    s_deliver(f, OB_ACTOR_SIGNER, &late);
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_CERTIFIED), 1);
    assert_int_equal(s_sent(f, OB_ACTOR_VERIFIER, OB_IMSG_QUORUM_REACHED), 0);
    assert_int_equal(ob_signer_stats(f->signer)->certificates, 1);
    assert_int_equal(ob_signer_stats(f->signer)->acks_late, 1);

    /* Its P must be the validator at its index. */
    memcpy(late.u.ack_late.peer, f->keys[2].pub.bytes, 32);
    s_deliver(f, OB_ACTOR_SIGNER, &late);
    assert_int_equal(ob_outbox_count(f->out), 1);
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_DROPPED), 1);
    assert_int_equal(ob_signer_stats(f->signer)->acks_late, 1);
}

static void test_signer_ack_epoch_bounds(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    ob_ack_t in1 = s_ack(f, 2, &chunk, 1), in3 = s_ack(f, 2, &chunk, 3);

    /* Before the journal names a current epoch there are no bounds to be
       within. */
    s_ack_verified(f, &in1);
    s_assert_ack_dropped(f, OB_ERR_ACK_EPOCH_BOUNDS, 1);

    /* Current 1, bounds [0, 2]: epoch 3 is above. */
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    s_ack_verified(f, &in3);
    s_assert_ack_dropped(f, OB_ERR_ACK_EPOCH_BOUNDS, 2);
    s_ack_verified(f, &in1);
    s_assert_ack_counted(f, 1);

    /* Current 3, bounds [2, 4]: epoch 1 is below (and its partial was
       pruned when the epoch moved). */
    s_epoch(f, OB_ACTOR_SIGNER, 3);
    assert_int_equal(ob_signer_stats(f->signer)->partials, 0);
    s_ack_verified(f, &in1);
    s_assert_ack_dropped(f, OB_ERR_ACK_EPOCH_BOUNDS, 3);
    s_ack_verified(f, &in3);
    s_assert_ack_counted(f, 1);
}

static void test_signer_ack_height_bounds(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);

    /* No tip: the tip counts as 0, so heights 0..2 are in bounds. */
    ob_chunk_t at3 = s_chunk(f, 1, 3, "three");
    ob_ack_t ack = s_ack(f, 2, &at3, 1);
    s_ack_verified(f, &ack);
    s_assert_ack_dropped(f, OB_ERR_ACK_HEIGHT_BOUNDS, 1);
    ob_chunk_t at2 = s_chunk(f, 1, 2, "two");
    ack = s_ack(f, 2, &at2, 1);
    s_ack_verified(f, &ack);
    s_assert_ack_counted(f, 1);

    /* Tip 5: 5..7 are in bounds, 8 is not. */
    ob_chunk_t tip = s_chunk(f, 1, 5, "five");
    s_tip_changed(f, &tip);
    ob_chunk_t at8 = s_chunk(f, 1, 8, "eight");
    ack = s_ack(f, 2, &at8, 1);
    s_ack_verified(f, &ack);
    s_assert_ack_dropped(f, OB_ERR_ACK_HEIGHT_BOUNDS, 2);
    ob_chunk_t at7 = s_chunk(f, 1, 7, "seven");
    ack = s_ack(f, 2, &at7, 1);
    s_ack_verified(f, &ack);
    s_assert_ack_counted(f, 1); /* the partial at 2 went with the new tip */
}

/* Acks the signer's view cannot judge yet are kept, the latest per
   (sequencer, epoch, validator), and counted once the view reaches them: a
   restarted signer hears acks before the journal tells it the epoch, and a
   lagging one hears them above its tip + height_bound. The last chunk of a
   chain is certified by nothing else. */
static void test_signer_defers_acks_until_in_reach(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    const ob_signer_stats_t *stats = ob_signer_stats(f->signer);
    ob_chunk_t last = s_chunk(f, 1, 9, "nine");
    ob_chunk_t lower = s_chunk(f, 1, 8, "eight");
    /* Before the epoch: dropped (and told), but kept. Validator 1's ack at
       8 gives way to its ack at 9. */
    ob_ack_t a8 = s_ack(f, 1, &lower, 1);
    s_ack_verified(f, &a8);
    s_assert_ack_dropped(f, OB_ERR_ACK_EPOCH_BOUNDS, 1);
    for (int v = 1; v <= 3; v++) {
        ob_ack_t ack = s_ack(f, v, &last, 1);
        s_ack_verified(f, &ack);
        s_assert_ack_dropped(f, OB_ERR_ACK_EPOCH_BOUNDS, 1 + (uint64_t)v);
    }
    assert_int_equal(stats->acks_deferred, 3);
    /* Not of the manifest's sequencers: not kept. */
    ob_chunk_t stranger = s_chunk(f, H_OUTSIDER, 9, "nine");
    ob_ack_t odd = s_ack(f, 2, &stranger, 1);
    s_ack_verified(f, &odd);
    assert_int_equal(stats->acks_deferred, 3);

    /* The epoch: no tip yet, so 9 is above 0 + 2, and waits. */
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->acks_deferred, 3);
    ob_chunk_t tip6 = s_chunk(f, 1, 6, "six");
    s_tip_changed(f, &tip6);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->acks_deferred, 3);

    /* Tip 7: 9 is within reach, and the three acks make the certificate. */
    ob_chunk_t tip7 = s_chunk(f, 1, 7, "seven");
    s_tip_changed(f, &tip7);
    ob_imsg_t msg = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_CERTIFIED);
    ob_epoch_lookup_t lookup = ob_epochs_lookup(f->epochs);
    ob_lock_t lock;
    assert_int_equal(
        ob_lock_decode(&lock, msg.u.certified.lock.data, msg.u.certified.lock.len, &lookup), OB_OK);
    assert_int_equal(ob_lock_verify(f->crypto, &f->ns, f->epochs, &lock), OB_OK);
    assert_memory_equal(&lock.chunk, &last, sizeof last);
    assert_int_equal(stats->certificates, 1);
    assert_int_equal(stats->acks_deferred, 0);
    assert_int_equal(stats->acks_deferred_counted, 3);

    /* Above the height bound, then below the tip when it jumps: forgotten,
       neither counted nor dropped again (the node above carries it). */
    ob_chunk_t at11 = s_chunk(f, 1, 11, "eleven");
    ob_ack_t above = s_ack(f, 2, &at11, 1);
    s_ack_verified(f, &above);
    assert_int_equal(stats->acks_dropped[OB_ERR_ACK_HEIGHT_BOUNDS], 1);
    assert_int_equal(stats->acks_deferred, 1);
    ob_chunk_t tip12 = s_chunk(f, 1, 12, "twelve");
    s_tip_changed(f, &tip12);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->acks_deferred, 0);
    assert_int_equal(stats->acks_deferred_counted, 3);
    assert_int_equal(stats->acks_dropped[OB_ERR_ACK_HEIGHT_BOUNDS], 1);
    assert_int_equal(stats->acks_dropped[OB_ERR_HEIGHT_TOO_LOW], 0);
}

static void test_signer_height_too_low(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    ob_chunk_t tip = s_chunk(f, 1, 5, "five");
    s_tip_changed(f, &tip);
    assert_int_equal(ob_outbox_count(f->out), 0);

    ob_chunk_t below = s_chunk(f, 1, 4, "four");
    ob_ack_t ack = s_ack(f, 2, &below, 1);
    s_ack_verified(f, &ack);
    s_assert_ack_dropped(f, OB_ERR_HEIGHT_TOO_LOW, 1);
    assert_int_equal(ob_signer_stats(f->signer)->partials, 0);

    /* At the tip itself, with its payload, is fine. */
    ack = s_ack(f, 2, &tip, 1);
    s_ack_verified(f, &ack);
    s_assert_ack_counted(f, 1);
}

static void test_signer_chunk_mismatch_ack(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    ob_chunk_t tip = s_chunk(f, 1, 5, "five");
    s_tip_changed(f, &tip);

    ob_chunk_t other = s_chunk(f, 1, 5, "another five");
    ob_ack_t ack = s_ack(f, 2, &other, 1);
    s_ack_verified(f, &ack);
    s_assert_ack_dropped(f, OB_ERR_CHUNK_MISMATCH, 1);
    assert_int_equal(ob_signer_stats(f->signer)->partials, 0);

    ack = s_ack(f, 2, &tip, 1);
    s_ack_verified(f, &ack);
    s_assert_ack_counted(f, 1);
}

static void test_signer_unknown_sequencer_ack(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);

    ob_chunk_t outsider = s_chunk(f, H_OUTSIDER, 0, "zero");
    ob_ack_t ack = s_ack(f, 2, &outsider, 1);
    s_ack_verified(f, &ack);
    s_assert_ack_dropped(f, OB_ERR_UNKNOWN_SEQUENCER, 1);

    /* Key 3 sequences in epoch 1, not in epoch 2: the ack's epoch rules. */
    ob_chunk_t of3 = s_chunk(f, 3, 0, "zero");
    ack = s_ack(f, 2, &of3, 2);
    s_ack_verified(f, &ack);
    s_assert_ack_dropped(f, OB_ERR_UNKNOWN_SEQUENCER, 2);
    ack = s_ack(f, 2, &of3, 1);
    s_ack_verified(f, &ack);
    s_assert_ack_counted(f, 1);
}

/* ======================================================================= */
/* signer: signing (S1, S2)                                                 */
/* ======================================================================= */

static void s_sign_node(h_fixture_t *f, const char *payload, uint64_t height)
{
    ob_imsg_t msg = {.type = OB_IMSG_SIGN_NODE};
    msg.u.sign_node.chunk = s_chunk(f, 0, height, payload);
    s_deliver(f, OB_ACTOR_SIGNER, &msg);
}

static void s_sign_ack(h_fixture_t *f, const ob_chunk_t *chunk, uint64_t epoch)
{
    ob_imsg_t msg = {.type = OB_IMSG_SIGN_ACK};
    msg.u.sign_ack.chunk = *chunk;
    msg.u.sign_ack.epoch = epoch;
    s_deliver(f, OB_ACTOR_SIGNER, &msg);
}

/* The signer answered with exactly one SIGN_REFUSED for `why`. */
static void s_assert_refused(h_fixture_t *f, ob_error_t why, uint64_t times)
{
    s_assert_only(ob_signer_stats(f->signer)->refused, why, times);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t msg = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_SIGN_REFUSED);
    assert_string_equal(ob_error_name((ob_error_t)msg.u.sign_refused.error), ob_error_name(why));
}

/* The signed node in the outbox, copied out. Beside it may be only the
   signer's own ack on it (signed with the node, SPEC §4) and what that
   ack completed: nothing else leaves on a sign_node. */
static size_t s_signed_node(h_fixture_t *f, uint8_t *out, size_t cap)
{
    size_t own_ack = s_sent(f, OB_ACTOR_NET, OB_IMSG_SEND_ACK);
    assert_true(own_ack <= 1);
    assert_int_equal(ob_outbox_count(f->out),
                     1 + own_ack * (1 + s_sent(f, OB_ACTOR_VERIFIER, OB_IMSG_ACK_OWN)) +
                         s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_CERTIFIED) +
                         s_sent(f, OB_ACTOR_VERIFIER, OB_IMSG_QUORUM_REACHED));
    ob_imsg_t msg = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_SIGNED);
    assert_true(msg.u.node_signed.node.len <= cap);
    memcpy(out, msg.u.node_signed.node.data, msg.u.node_signed.node.len);
    return msg.u.node_signed.node.len;
}

/* The ack in the outbox is for `chunk` in `epoch`, by the signer's key. */
static void s_assert_acked(h_fixture_t *f, const ob_chunk_t *chunk, uint64_t epoch)
{
    ob_imsg_t msg = s_the(f, OB_ACTOR_NET, OB_IMSG_SEND_ACK);
    ob_ack_t ack;
    assert_int_equal(ob_ack_decode(&ack, msg.u.send_ack.ack.data, msg.u.send_ack.ack.len), OB_OK);
    assert_memory_equal(&ack.chunk, chunk, sizeof *chunk);
    assert_int_equal(ack.epoch, epoch);
    assert_int_equal(ack.index, s_index(f, 0));
    assert_int_equal(ob_ack_verify(f->crypto, &f->ns, f->epochs, &ack), OB_OK);
}

static void test_signer_reissues_the_signed_node(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    uint8_t first[H_NODE_MAX], again[H_NODE_MAX];
    s_sign_node(f, "zero", 0);
    size_t first_len = s_signed_node(f, first, sizeof first);
    ob_epoch_lookup_t lookup = ob_epochs_lookup(f->epochs);
    ob_node_t node;
    assert_int_equal(ob_node_decode(&node, first, first_len, &lookup), OB_OK);
    assert_int_equal(ob_node_verify(f->crypto, &f->ns, f->epochs, NULL, &node), OB_OK);

    /* Signatures draw fresh randomness, so byte-identical means the
       recorded node, not a new signature over the same chunk. */
    s_sign_node(f, "zero", 0);
    size_t again_len = s_signed_node(f, again, sizeof again);
    assert_int_equal(again_len, first_len);
    assert_memory_equal(again, first, first_len);
    const ob_signer_stats_t *stats = ob_signer_stats(f->signer);
    assert_int_equal(stats->nodes_signed, 1);
    assert_int_equal(stats->nodes_reissued, 1);
    s_assert_only(stats->refused, OB_OK, 0);
}

/* Proposal steps 2 and 3 (SPEC §4): the signer hands the node it signed
   to net with the journal's payload slot, tells the journal it did, and
   signs its own ack on it in the same transaction; without a slot, or
   with one for other bytes, it only signs, and the journal broadcasts. */
static void test_signer_sends_its_node_with_the_payload_slot(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);

    ob_imsg_t req = {.type = OB_IMSG_SIGN_NODE};
    req.u.sign_node.chunk = s_chunk(f, 0, 0, "zero");
    req.u.sign_node.payload = s_stage(f, OB_ACTOR_JOURNAL, "zero");
    s_deliver(f, OB_ACTOR_SIGNER, &req);
    ob_imsg_t bc = s_the(f, OB_ACTOR_NET, OB_IMSG_BROADCAST_NODE);
    assert_memory_equal(&bc.u.broadcast_node.payload, &req.u.sign_node.payload,
                        sizeof(ob_handle_t));
    assert_int_equal(bc.u.broadcast_node.epoch, 1);
    ob_imsg_t done = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_SIGNED);
    assert_true(done.u.node_signed.sent);
    assert_int_equal(done.u.node_signed.node.len, bc.u.broadcast_node.node.len);
    assert_memory_equal(done.u.node_signed.node.data, bc.u.broadcast_node.node.data,
                        bc.u.broadcast_node.node.len);
    s_assert_acked(f, &req.u.sign_node.chunk, 1);
    assert_int_equal(ob_signer_stats(f->signer)->own_acks, 1);
    assert_int_equal(ob_signer_stats(f->signer)->acks_signed, 1);
    /* net holds the slot now: the signer passed it on, it did not keep it */
    assert_int_equal(ob_arena_take(f->arena, &bc.u.broadcast_node.payload, OB_ACTOR_NET), 0);
    assert_int_equal(ob_arena_release(f->arena, &bc.u.broadcast_node.payload, OB_ACTOR_NET), 0);

    /* A re-ask without a slot: the same node, not sent, the same ack */
    req.u.sign_node.payload = (ob_handle_t){0};
    s_deliver(f, OB_ACTOR_SIGNER, &req);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_BROADCAST_NODE), 0);
    done = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_SIGNED);
    assert_false(done.u.node_signed.sent);
    s_assert_acked(f, &req.u.sign_node.chunk, 1);
    assert_int_equal(ob_signer_stats(f->signer)->acks_resent, 1);

    /* A slot of other bytes is not passed on (nor kept) */
    ob_imsg_t next = {.type = OB_IMSG_SIGN_NODE};
    next.u.sign_node.chunk = s_chunk(f, 0, 0, "zero");
    next.u.sign_node.payload = s_stage(f, OB_ACTOR_JOURNAL, "not zero");
    s_deliver(f, OB_ACTOR_SIGNER, &next);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_BROADCAST_NODE), 0);
    assert_false(s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_SIGNED).u.node_signed.sent);
    assert_int_equal(ob_arena_release(f->arena, &next.u.sign_node.payload, OB_ACTOR_JOURNAL), 0);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

/* A refused sign_node gives its slot back to the arena. */
static void test_signer_refusal_frees_the_payload_slot(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    ob_imsg_t req = {.type = OB_IMSG_SIGN_NODE};
    req.u.sign_node.chunk = s_chunk(f, 0, 5, "five"); /* not the next height */
    req.u.sign_node.payload = s_stage(f, OB_ACTOR_JOURNAL, "five");
    s_deliver(f, OB_ACTOR_SIGNER, &req);
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_SIGN_REFUSED), 1);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

static void test_signer_chunk_mismatch_sign_node(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    uint8_t node[H_NODE_MAX];
    s_sign_node(f, "zero", 0);
    s_signed_node(f, node, sizeof node);
    /* S1: another payload at a signed height. */
    s_sign_node(f, "other zero", 0);
    s_assert_refused(f, OB_ERR_CHUNK_MISMATCH, 1);
    assert_int_equal(ob_signer_stats(f->signer)->nodes_signed, 1);
}

static void test_signer_chunk_mismatch_sign_ack(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    ob_chunk_t first = s_chunk(f, 1, 0, "zero"), second = s_chunk(f, 1, 0, "other zero");
    s_sign_ack(f, &first, 1);
    /* The ack to send, and the same to the verifier of its chunk, whose
       cache takes it as verified. */
    assert_int_equal(ob_outbox_count(f->out), 2);
    assert_int_equal(s_sent(f, OB_ACTOR_VERIFIER, OB_IMSG_ACK_OWN), 1);
    s_assert_acked(f, &first, 1);

    s_sign_ack(f, &second, 1);
    s_assert_refused(f, OB_ERR_CHUNK_MISMATCH, 1);

    /* S2 holds "in any epoch": a later epoch changes nothing, while the
       same payload may be acked again there. */
    s_epoch(f, OB_ACTOR_SIGNER, 2);
    s_sign_ack(f, &second, 2);
    s_assert_refused(f, OB_ERR_CHUNK_MISMATCH, 2);
    s_sign_ack(f, &first, 2);
    assert_int_equal(ob_outbox_count(f->out), 2);
    s_assert_acked(f, &first, 2);
    assert_int_equal(ob_signer_stats(f->signer)->acks_signed, 2);
}

static void test_signer_record_survives_restart(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    uint8_t before[H_NODE_MAX], after[H_NODE_MAX];
    s_sign_node(f, "zero", 0);
    size_t before_len = s_signed_node(f, before, sizeof before);
    ob_chunk_t acked = s_chunk(f, 1, 0, "zero"), other = s_chunk(f, 1, 0, "other zero");
    s_sign_ack(f, &acked, 1);
    s_assert_acked(f, &acked, 1);

    /* Committed by s_deliver; now a new process on the same file. */
    ob_signer_destroy(&f->signer);
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 2);

    s_sign_node(f, "zero", 0);
    size_t after_len = s_signed_node(f, after, sizeof after);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    s_sign_node(f, "other zero", 0);
    s_assert_refused(f, OB_ERR_CHUNK_MISMATCH, 1);
    s_sign_ack(f, &other, 2);
    s_assert_refused(f, OB_ERR_CHUNK_MISMATCH, 2);
    const ob_signer_stats_t *stats = ob_signer_stats(f->signer);
    assert_int_equal(stats->nodes_signed, 0);
    assert_int_equal(stats->nodes_reissued, 1);
    /* its own ack on the re-issued node, for the new epoch: the only one */
    assert_int_equal(stats->acks_signed, 1);
    assert_int_equal(stats->own_acks, 1);
}

static void test_signer_uncommitted_sign_leaves_no_record(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);

    /* One batch that signs a node and an ack, then dies before commit. */
    ob_chunk_t own = s_chunk(f, 0, 0, "zero"), peer = s_chunk(f, 1, 0, "zero");
    ob_imsg_t node_req = {.type = OB_IMSG_SIGN_NODE}, ack_req = {.type = OB_IMSG_SIGN_ACK};
    node_req.u.sign_node.chunk = own;
    ack_req.u.sign_ack.chunk = peer;
    ack_req.u.sign_ack.epoch = 1;
    ob_outbox_clear(f->out);
    assert_int_equal(ob_signer_begin(f->signer), 0);
    ob_signer_handle(f->signer, OB_PARTY_JOURNAL, &node_req, f->out);
    ob_signer_handle(f->signer, OB_PARTY_JOURNAL, &ack_req, f->out);
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_NODE_SIGNED), 1);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_SEND_ACK), 2); /* its own, and the peer's */
    ob_signer_destroy(&f->signer); /* the open transaction rolls back */

    ob_why_t why = {{0}};
    ob_signer_store_t *store = ob_signer_store_open(f->signer_path, OB_DB_SYNC_FULL, &why);
    if (!store)
        fail_msg("signer store: %s", why.text);
    assert_int_equal(ob_signer_store_signed_count(store), 0);
    assert_int_equal(ob_signer_store_acked_count(store), 0);
    ob_signer_store_destroy(&store);

    /* Nothing of it left the node, so other payloads are free to sign. */
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    uint8_t node[H_NODE_MAX];
    s_sign_node(f, "other zero", 0);
    s_signed_node(f, node, sizeof node);
    ob_chunk_t other = s_chunk(f, 1, 0, "other zero");
    s_sign_ack(f, &other, 1);
    s_assert_acked(f, &other, 1);
    const ob_signer_stats_t *stats = ob_signer_stats(f->signer);
    assert_int_equal(stats->nodes_signed, 1);
    assert_int_equal(stats->nodes_reissued, 0);
    s_assert_only(stats->refused, OB_OK, 0);
}

static void test_signer_peer_mismatch_sign_node(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    ob_imsg_t msg = {.type = OB_IMSG_SIGN_NODE};
    msg.u.sign_node.chunk = s_chunk(f, 1, 0, "zero"); /* key 1's chain */
    s_deliver(f, OB_ACTOR_SIGNER, &msg);
    s_assert_refused(f, OB_ERR_PEER_MISMATCH, 1);
    assert_int_equal(ob_signer_stats(f->signer)->nodes_signed, 0);

    ob_signer_destroy(&f->signer);
    ob_signer_store_t *store = ob_signer_store_open(f->signer_path, OB_DB_SYNC_FULL, NULL);
    assert_non_null(store);
    assert_int_equal(ob_signer_store_signed_count(store), 0);
    ob_signer_store_destroy(&store);
}

/* --- the signer's own checks of each request (issue 9, defect 8) -------- */

/* sign_node for key 0's chunk at `height` over `payload`, its parent
   certificate `cert` in `parent_epoch` (encoded as the journal sends it). */
static void s_sign_child(h_fixture_t *f, uint64_t height, const char *payload,
                         uint64_t parent_epoch, const ob_cert_t *cert)
{
    uint8_t bytes[2 + H_VALIDATORS * OB_CERT_ENTRY_LEN];
    size_t len = 0;
    assert_int_equal(ob_cert_encode(cert, bytes, sizeof bytes, &len), 0);
    ob_imsg_t msg = {.type = OB_IMSG_SIGN_NODE};
    msg.u.sign_node.chunk = s_chunk(f, 0, height, payload);
    msg.u.sign_node.parent_epoch = parent_epoch;
    msg.u.sign_node.parent_cert = (ob_blob_t){bytes, (uint32_t)len};
    s_deliver(f, OB_ACTOR_SIGNER, &msg);
}

/* A signer of key 0 in epoch 1 that signed its genesis over "zero". */
static void s_signer_with_genesis(h_fixture_t *f)
{
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    uint8_t node[H_NODE_MAX];
    s_sign_node(f, "zero", 0);
    s_signed_node(f, node, sizeof node);
}

/* The parent certificate is checked against the parent epoch's set before
   anything is signed: a signed height is re-issued forever, so a node
   signed over a bad parent would stop the chain for good. */
static void test_signer_checks_the_parent_certificate(void **state)
{
    h_fixture_t *f = *state;
    s_signer_with_genesis(f);
    ob_chunk_t zero = s_chunk(f, 0, 0, "zero");
    uint8_t entries[H_VALIDATORS * OB_CERT_ENTRY_LEN];

    /* One signature of the quorum spoiled. */
    ob_cert_t cert = s_cert(f, &zero, 1, H_FIRST, entries);
    entries[OB_CERT_ENTRY_LEN + 2 + 9] ^= 0x10;
    s_sign_child(f, 1, "one", 1, &cert);
    s_assert_refused(f, OB_ERR_BAD_SIGNATURE, 1);

    /* A valid certificate, of another digest at height 0 than the one
       this signer signed there. */
    ob_chunk_t other = s_chunk(f, 0, 0, "other zero");
    cert = s_cert(f, &other, 1, H_FIRST, entries);
    s_sign_child(f, 1, "one", 1, &cert);
    s_assert_refused(f, OB_ERR_BAD_SIGNATURE, 2);

    /* Of another height of its chain. */
    ob_chunk_t higher = s_chunk(f, 0, 1, "zero");
    cert = s_cert(f, &higher, 1, H_FIRST, entries);
    s_sign_child(f, 1, "one", 1, &cert);
    s_assert_refused(f, OB_ERR_BAD_SIGNATURE, 3);

    /* Signed for epoch 1, presented as epoch 3's (same validators). */
    cert = s_cert(f, &zero, 1, H_FIRST, entries);
    s_sign_child(f, 1, "one", 3, &cert);
    s_assert_refused(f, OB_ERR_BAD_SIGNATURE, 4);

    /* Short of a quorum, and of an epoch no manifest has. */
    cert = s_cert(f, &zero, 1, 0x03u, entries);
    s_sign_child(f, 1, "one", 1, &cert);
    assert_int_equal(ob_signer_stats(f->signer)->refused[OB_ERR_BELOW_QUORUM], 1);
    cert = s_cert(f, &zero, 1, H_FIRST, entries);
    s_sign_child(f, 1, "one", 99, &cert);
    assert_int_equal(ob_signer_stats(f->signer)->refused[OB_ERR_UNKNOWN_EPOCH], 1);
    const ob_signer_stats_t *stats = ob_signer_stats(f->signer);
    assert_int_equal(stats->nodes_signed, 1);

    /* The right one is verified (it is no certificate this signer
       assembled) and signed over. */
    s_sign_child(f, 1, "one", 1, &cert);
    uint8_t bytes[H_NODE_MAX];
    size_t len = s_signed_node(f, bytes, sizeof bytes);
    ob_epoch_lookup_t lookup = ob_epochs_lookup(f->epochs);
    ob_node_t node;
    assert_int_equal(ob_node_decode(&node, bytes, len, &lookup), OB_OK);
    assert_int_equal(ob_node_verify(f->crypto, &f->ns, f->epochs, NULL, &node), OB_OK);
    assert_int_equal(stats->nodes_signed, 2);
    assert_int_equal(stats->parent_certs_verified, 1);
    assert_int_equal(stats->parent_certs_own, 0);
}

/* The usual path: the parent certificate is the one this signer assembled
   from its peers' acks, byte for byte, so it is taken without verifying a
   signature again. */
static void test_signer_takes_its_own_certificate_without_crypto(void **state)
{
    h_fixture_t *f = *state;
    s_signer_with_genesis(f);
    ob_chunk_t zero = s_chunk(f, 0, 0, "zero");
    /* Its own ack came with the node: two more make the quorum. */
    for (int v = 1; v <= 2; v++) {
        ob_ack_t ack = s_ack(f, v, &zero, 1);
        s_ack_verified(f, &ack);
    }
    ob_imsg_t certified = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_CERTIFIED);
    ob_epoch_lookup_t lookup = ob_epochs_lookup(f->epochs);
    ob_lock_t lock;
    assert_int_equal(ob_lock_decode(&lock, certified.u.certified.lock.data,
                                    certified.u.certified.lock.len, &lookup),
                     OB_OK);
    uint8_t entries[H_VALIDATORS * OB_CERT_ENTRY_LEN];
    memcpy(entries, lock.cert.entries, OB_CERT_ENTRIES_LEN(lock.cert.count));
    ob_cert_t cert = {.count = lock.cert.count, .entries = entries};
    s_sign_child(f, 1, "one", 1, &cert);
    uint8_t bytes[H_NODE_MAX];
    s_signed_node(f, bytes, sizeof bytes);
    const ob_signer_stats_t *stats = ob_signer_stats(f->signer);
    assert_int_equal(stats->parent_certs_own, 1);
    assert_int_equal(stats->parent_certs_verified, 0);
    s_assert_only(stats->refused, OB_OK, 0);
}

/* A node only at the next height over what it signed, or as a re-ask of a
   signed height. */
static void test_signer_signs_only_the_next_height(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    ob_chunk_t zero = s_chunk(f, 0, 0, "zero");
    uint8_t entries[H_VALIDATORS * OB_CERT_ENTRY_LEN];
    ob_cert_t cert = s_cert(f, &zero, 1, H_FIRST, entries);
    /* Nothing signed yet: height 1 has no parent here. */
    s_sign_child(f, 1, "one", 1, &cert);
    s_assert_refused(f, OB_ERR_PARENT_MISSING, 1);
    uint8_t node[H_NODE_MAX];
    s_sign_node(f, "zero", 0);
    s_signed_node(f, node, sizeof node);
    /* A gap. */
    s_sign_child(f, 2, "two", 1, &cert);
    s_assert_refused(f, OB_ERR_PARENT_MISSING, 2);
    /* Not a sequencer of the current epoch: key 0 is one in every epoch
       here, so a signer whose epoch is unknown refuses. */
    ob_signer_destroy(&f->signer);
    s_signer_open(f, 0);
    s_sign_child(f, 1, "one", 1, &cert);
    s_assert_refused(f, OB_ERR_UNKNOWN_SEQUENCER, 1);
}

/* An ack only for an epoch within the bounds of the signer's view. */
static void test_signer_acks_only_within_its_epoch_bounds(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    s_epoch(f, OB_ACTOR_SIGNER, 2);
    /* [1, 3] around epoch 2: 3 is in, and so is 1; 4 and 0 are not. */
    ob_chunk_t far = s_chunk(f, 2, 0, "zero");
    s_sign_ack(f, &far, 5);
    s_assert_refused(f, OB_ERR_ACK_EPOCH_BOUNDS, 1);
    s_sign_ack(f, &chunk, 3);
    s_assert_acked(f, &chunk, 3);
    s_epoch(f, OB_ACTOR_SIGNER, 3);
    s_sign_ack(f, &chunk, 1);
    s_assert_refused(f, OB_ERR_ACK_EPOCH_BOUNDS, 2);
    assert_int_equal(ob_signer_stats(f->signer)->acks_signed, 1);
}

/* A restarted signer hears the journal's sign_ack requests (those sent to
   its predecessor, and the first after the restart) before the journal's
   epoch: they wait for it and are judged then, in the order asked, rather
   than refused, which would lose the acks for good. Bounded: past the
   bound they are refused as before. */
static void test_signer_holds_sign_acks_until_the_epoch(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    ob_chunk_t in_bounds = s_chunk(f, 1, 0, "zero");
    ob_chunk_t out_of_bounds = s_chunk(f, 2, 0, "zero");
    s_sign_ack(f, &in_bounds, 1);
    assert_int_equal(ob_outbox_count(f->out), 0);
    s_sign_ack(f, &out_of_bounds, 5);
    assert_int_equal(ob_outbox_count(f->out), 0);
    const ob_signer_stats_t *st = ob_signer_stats(f->signer);
    assert_int_equal(st->sign_acks_held, 2);
    assert_int_equal(st->acks_signed, 0);
    assert_int_equal(st->refused[OB_ERR_ACK_EPOCH_BOUNDS], 0);

    /* Epoch 2, bounds [1, 3]: the first is signed, the second refused. */
    s_epoch(f, OB_ACTOR_SIGNER, 2);
    s_assert_acked(f, &in_bounds, 1);
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_SIGN_REFUSED), 1);
    ob_imsg_t refused = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_SIGN_REFUSED);
    assert_int_equal(refused.u.sign_refused.error, OB_ERR_ACK_EPOCH_BOUNDS);
    assert_memory_equal(&refused.u.sign_refused.chunk, &out_of_bounds, sizeof out_of_bounds);
    assert_int_equal(st->acks_signed, 1);
    assert_int_equal(st->refused[OB_ERR_ACK_EPOCH_BOUNDS], 1);

    /* Nothing is held twice: a later epoch replays nothing. */
    s_epoch(f, OB_ACTOR_SIGNER, 3);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_SEND_ACK), 0);
    assert_int_equal(st->acks_signed, 1);
}

/* The requests held before the epoch are bounded: one past the bound is
   refused at once. */
static void test_signer_holds_a_bounded_number_of_sign_acks(void **state)
{
    h_fixture_t *f = *state;
    s_signer_open(f, 0);
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    uint64_t held = 0;
    for (size_t i = 0; i < 5000; i++) {
        s_sign_ack(f, &chunk, 1);
        if (ob_outbox_count(f->out) != 0)
            break;
        held++;
    }
    assert_true(held > 0 && held < 5000);
    assert_int_equal(ob_signer_stats(f->signer)->sign_acks_held, held);
    s_assert_refused(f, OB_ERR_ACK_EPOCH_BOUNDS, 1);
    /* All the held ones are the same request: one ack is signed, the
       others find its stored signature (more than this fixture's outbox
       holds, so the stats tell). */
    s_epoch(f, OB_ACTOR_SIGNER, 1);
    assert_int_equal(ob_signer_stats(f->signer)->acks_signed, 1);
    assert_int_equal(ob_signer_stats(f->signer)->acks_resent, held - 1);
}

/* ======================================================================= */
/* journal                                                                  */
/* ======================================================================= */

/* The journal of key 0, a validator; nodes come from key 1. It never hears
   from its signer, so its own sequencer stays quiet. */
static ob_journal_config_t s_journal_config(h_fixture_t *f)
{
    ob_journal_config_t config = {.env = s_env(f, 0),
                                  .db_path = f->journal_path,
                                  .sync = OB_DB_SYNC_NORMAL,
                                  .initial_epoch = 1};
    return config;
}

/* The journal of `config`, started: what its start sent is left in the
   outbox. */
static void s_journal_start_with(h_fixture_t *f, const ob_journal_config_t *config)
{
    ob_why_t why = {{0}};
    f->journal = ob_journal_new(config, &why);
    if (!f->journal)
        fail_msg("journal: %s", why.text);
    ob_outbox_clear(f->out);
    ob_journal_start(f->journal, H_NOW, f->out);
}

static void s_journal_open(h_fixture_t *f)
{
    ob_journal_config_t config = s_journal_config(f);
    s_journal_start_with(f, &config);
    ob_outbox_clear(f->out);
}

/* A node that passed the verifier, its payload handed on in the arena. */
static void s_journal_node(h_fixture_t *f, const h_node_t *node, const char *payload)
{
    ob_imsg_t msg = {.type = OB_IMSG_NODE_VERIFIED};
    msg.u.node_verified.node = (ob_blob_t){node->bytes, (uint32_t)node->len};
    msg.u.node_verified.payload = s_stage(f, OB_ACTOR_VERIFIER, payload);
    s_deliver(f, OB_ACTOR_JOURNAL, &msg);
}

static void s_verdict(h_fixture_t *f, const ob_chunk_t *chunk)
{
    ob_imsg_t msg = {.type = OB_IMSG_APP_VERDICT};
    msg.u.app_verdict.chunk = *chunk;
    msg.u.app_verdict.valid = true;
    s_deliver(f, OB_ACTOR_JOURNAL, &msg);
}

static void s_assert_tip(h_fixture_t *f, const ob_chunk_t *chunk)
{
    uint64_t height = 0;
    uint8_t payload[32];
    assert_true(ob_journal_tip(f->journal, chunk->sequencer, &height, payload));
    assert_int_equal(height, chunk->height);
    assert_memory_equal(payload, chunk->payload, 32);
}

/* A new tip: committed, published to the signer, sent for verification. */
static void s_assert_new_tip(h_fixture_t *f, const ob_chunk_t *chunk)
{
    s_assert_tip(f, chunk);
    ob_imsg_t tip = s_the(f, OB_ACTOR_SIGNER, OB_IMSG_TIP_CHANGED);
    assert_memory_equal(&tip.u.tip_changed.chunk, chunk, sizeof *chunk);
    ob_imsg_t verify = s_the(f, OB_ACTOR_NET, OB_IMSG_APP_VERIFY);
    assert_memory_equal(&verify.u.app_verify.chunk, chunk, sizeof *chunk);
}

static void s_count_lock(void *ctx, const uint8_t *lock, size_t len)
{
    (void)lock;
    (void)len;
    ++*(size_t *)ctx;
}

static size_t s_locks_held(h_fixture_t *f)
{
    size_t n = 0;
    assert_int_equal(ob_journal_each_lock(f->journal, s_count_lock, &n), 0);
    return n;
}

static void test_journal_height_too_low(void **state)
{
    h_fixture_t *f = *state;
    s_journal_open(f);
    h_node_t zero, one;
    s_node(f, &zero, 1, 0, "zero", NULL, 0, 0);
    s_node(f, &one, 1, 1, "one", "zero", 1, H_FIRST);
    s_journal_node(f, &zero, "zero");
    s_assert_new_tip(f, &zero.chunk);
    s_journal_node(f, &one, "one");
    s_assert_new_tip(f, &one.chunk);
    uint32_t in_use = ob_arena_in_use(f->arena);

    s_journal_node(f, &zero, "zero");
    const ob_journal_stats_t *stats = ob_journal_stats(f->journal);
    s_assert_only(stats->dropped, OB_ERR_HEIGHT_TOO_LOW, 1);
    assert_int_equal(ob_outbox_count(f->out), 0); /* not verified, not acked */
    assert_int_equal(stats->evidence, 0);         /* it is the node held there */
    assert_int_equal(stats->nodes_accepted, 2);
    assert_int_equal(stats->verify_requests, 2);
    assert_int_equal(ob_arena_in_use(f->arena), in_use); /* its slot was freed */
    s_assert_tip(f, &one.chunk);
}

static void test_journal_chunk_mismatch_records_evidence(void **state)
{
    h_fixture_t *f = *state;
    s_journal_open(f);
    h_node_t held, conflict;
    s_node(f, &held, 1, 0, "zero", NULL, 0, 0);
    s_node(f, &conflict, 1, 0, "other zero", NULL, 0, 0);
    s_journal_node(f, &held, "zero");
    s_assert_new_tip(f, &held.chunk);
    uint32_t in_use = ob_arena_in_use(f->arena);

    /* Two validly signed nodes at one height: the second is refused and
       both are kept as evidence, reported once. */
    s_journal_node(f, &conflict, "other zero");
    const ob_journal_stats_t *stats = ob_journal_stats(f->journal);
    s_assert_only(stats->dropped, OB_ERR_CHUNK_MISMATCH, 1);
    assert_int_equal(stats->evidence, 1);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t msg = s_the(f, OB_ACTOR_NET, OB_IMSG_REPORT_EVIDENCE);
    assert_int_equal(msg.u.report_evidence.kind, OB_EVIDENCE_CONFLICTING_NODES);
    assert_int_equal(msg.u.report_evidence.first.len, held.len);
    assert_memory_equal(msg.u.report_evidence.first.data, held.bytes, held.len);
    assert_int_equal(msg.u.report_evidence.second.len, conflict.len);
    assert_memory_equal(msg.u.report_evidence.second.data, conflict.bytes, conflict.len);
    assert_int_equal(ob_arena_in_use(f->arena), in_use);

    s_journal_node(f, &conflict, "other zero");
    s_assert_only(stats->dropped, OB_ERR_CHUNK_MISMATCH, 2);
    assert_int_equal(stats->evidence, 1);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->verify_requests, 1);
    s_assert_tip(f, &held.chunk);
}

static void test_journal_not_tip(void **state)
{
    h_fixture_t *f = *state;
    s_journal_open(f);
    h_node_t zero, one;
    s_node(f, &zero, 1, 0, "zero", NULL, 0, 0);
    s_node(f, &one, 1, 1, "one", "zero", 1, H_FIRST);
    s_journal_node(f, &zero, "zero");
    s_journal_node(f, &one, "one");

    /* The verdict on height 0 arrives after the tip moved to 1. */
    s_verdict(f, &zero.chunk);
    const ob_journal_stats_t *stats = ob_journal_stats(f->journal);
    s_assert_only(stats->dropped, OB_ERR_NOT_TIP, 1);
    assert_int_equal(ob_outbox_count(f->out), 0); /* no Tip report, no ack */

    /* At the tip's height, but not its payload. */
    ob_chunk_t other = s_chunk(f, 1, 1, "other one");
    s_verdict(f, &other);
    s_assert_only(stats->dropped, OB_ERR_NOT_TIP, 2);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->acks_requested, 0);

    /* The tip itself: reported and acked in the current epoch. */
    s_verdict(f, &one.chunk);
    assert_int_equal(ob_outbox_count(f->out), 2);
    ob_imsg_t report = s_the(f, OB_ACTOR_NET, OB_IMSG_REPORT_TIP);
    assert_memory_equal(&report.u.report_tip.chunk, &one.chunk, sizeof one.chunk);
    ob_imsg_t ask = s_the(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_ACK);
    assert_memory_equal(&ask.u.sign_ack.chunk, &one.chunk, sizeof one.chunk);
    assert_int_equal(ask.u.sign_ack.epoch, 1);
    s_assert_only(stats->dropped, OB_ERR_NOT_TIP, 2);
}

static void test_journal_parent_certificate_locked_once(void **state)
{
    h_fixture_t *f = *state;
    s_journal_open(f);
    h_node_t zero, one, one_again;
    s_node(f, &zero, 1, 0, "zero", NULL, 0, 0);
    s_node(f, &one, 1, 1, "one", "zero", 1, H_FIRST);
    /* The same chunk at 1, its parent certified by another quorum. */
    s_node(f, &one_again, 1, 1, "one", "zero", 1, H_ALL);
    s_journal_node(f, &zero, "zero");
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 0);

    s_journal_node(f, &one, "one");
    ob_imsg_t msg = s_the(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK);
    ob_epoch_lookup_t lookup = ob_epochs_lookup(f->epochs);
    ob_lock_t lock;
    assert_int_equal(
        ob_lock_decode(&lock, msg.u.report_lock.lock.data, msg.u.report_lock.lock.len, &lookup),
        OB_OK);
    assert_int_equal(ob_lock_verify(f->crypto, &f->ns, f->epochs, &lock), OB_OK);
    assert_memory_equal(&lock.chunk, &zero.chunk, sizeof zero.chunk);
    assert_int_equal(lock.epoch, 1);
    const ob_journal_stats_t *stats = ob_journal_stats(f->journal);
    assert_int_equal(stats->certificates, 1);
    assert_int_equal(stats->locks_reported, 1);
    assert_int_equal(s_locks_held(f), 1);

    /* The same parent again, as the same node and as another certificate:
       committed already, so no second Lock. */
    s_journal_node(f, &one, "one");
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 0);
    s_journal_node(f, &one_again, "one");
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 0);
    assert_int_equal(stats->certificates, 1);
    assert_int_equal(stats->locks_reported, 1);
    assert_int_equal(s_locks_held(f), 1);
    s_assert_only(stats->dropped, OB_OK, 0);

    /* Durable: a restarted journal holds it and reports it no more. */
    ob_journal_destroy(&f->journal);
    s_journal_open(f);
    assert_int_equal(s_locks_held(f), 1);
    s_journal_node(f, &one, "one");
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 0);
}

static void test_journal_duplicate_tip_verified_again(void **state)
{
    h_fixture_t *f = *state;
    s_journal_open(f);
    h_node_t zero;
    s_node(f, &zero, 1, 0, "zero", NULL, 0, 0);
    s_journal_node(f, &zero, "zero");
    s_assert_new_tip(f, &zero.chunk);

    /* No verdict yet: within half a rebroadcast timeout a duplicate is
       left alone (its slot freed), after it the application is asked
       again (the ask or its answer may have been lost). The tip did not
       move, so nothing is published. */
    uint32_t in_use = ob_arena_in_use(f->arena);
    s_journal_node(f, &zero, "zero");
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(ob_arena_in_use(f->arena), in_use);
    ob_imsg_t again = {.type = OB_IMSG_NODE_VERIFIED};
    again.u.node_verified.node = (ob_blob_t){zero.bytes, (uint32_t)zero.len};
    again.u.node_verified.payload = s_stage(f, OB_ACTOR_VERIFIER, "zero");
    s_deliver_at(f, OB_ACTOR_JOURNAL, &again, H_NOW + f->params.rebroadcast_timeout_ms / 2);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t msg = s_the(f, OB_ACTOR_NET, OB_IMSG_APP_VERIFY);
    assert_memory_equal(&msg.u.app_verify.chunk, &zero.chunk, sizeof zero.chunk);
    assert_memory_equal(msg.u.app_verify.payload.digest, zero.chunk.payload, 32);
    assert_non_null(ob_arena_get(f->arena, &msg.u.app_verify.payload));
    const ob_journal_stats_t *stats = ob_journal_stats(f->journal);
    assert_int_equal(stats->nodes_accepted, 1);
    assert_int_equal(stats->nodes_duplicate, 2);
    assert_int_equal(stats->duplicates_limited, 1);
    assert_int_equal(stats->verify_requests, 2);
    s_assert_only(stats->dropped, OB_OK, 0);
}

/* The signer formed a certificate on (chunk, epoch 1) by keys 0..2. */
static void s_certified_at(h_fixture_t *f, const ob_chunk_t *chunk, uint64_t now)
{
    uint8_t entries[H_VALIDATORS * OB_CERT_ENTRY_LEN];
    ob_lock_t lock = {.chunk = *chunk, .epoch = 1, .cert = s_cert(f, chunk, 1, H_FIRST, entries)};
    uint8_t bytes[OB_CHUNK_LEN + 8 + 2 + H_VALIDATORS * OB_CERT_ENTRY_LEN];
    size_t len = 0;
    assert_int_equal(ob_lock_encode(&lock, bytes, sizeof bytes, &len), 0);
    ob_imsg_t msg = {.type = OB_IMSG_CERTIFIED};
    msg.u.certified.lock = (ob_blob_t){bytes, (uint32_t)len};
    s_deliver_at(f, OB_ACTOR_JOURNAL, &msg, now);
}

static void s_certified(h_fixture_t *f, const ob_chunk_t *chunk)
{
    s_certified_at(f, chunk, H_NOW);
}

/* Under durability = power a certificate's commit is synced before its
   Lock is reported, as the tip's before its ack: a reported Lock survives
   a power cut (the simulator's power cuts lost some while it was lazy).
   Under "process" it costs no fsync: one lost comes back as a parent. */
static void s_certificate_syncs(h_fixture_t *f, ob_db_sync_t sync, uint64_t want_syncs)
{
    ob_journal_config_t config = {
        .env = s_env(f, 0), .db_path = f->journal_path, .sync = sync, .initial_epoch = 1};
    ob_why_t why = {{0}};
    f->journal = ob_journal_new(&config, &why);
    if (!f->journal)
        fail_msg("journal: %s", why.text);
    ob_journal_start(f->journal, H_NOW, f->out);
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    s_journal_node(f, &node, "zero");
    uint64_t before = ob_journal_stats(f->journal)->durable_commits;
    s_certified(f, &node.chunk);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 1);
    assert_int_equal(s_locks_held(f), 1);
    assert_int_equal(ob_journal_stats(f->journal)->durable_commits, before + want_syncs);
    ob_journal_destroy(&f->journal);
}

static void test_journal_certificate_synced_under_power(void **state)
{
    h_fixture_t *f = *state;
    s_certificate_syncs(f, OB_DB_SYNC_FULL, 1);
}

static void test_journal_certificate_lazy_under_process(void **state)
{
    h_fixture_t *f = *state;
    s_certificate_syncs(f, OB_DB_SYNC_NORMAL, 0);
}

/* How many REPORT_EVIDENCE of `kind` the outbox holds. */
static size_t s_evidence_sent(h_fixture_t *f, ob_evidence_kind_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        ob_imsg_t msg;
        if (e->kind == OB_DEST_ACTOR && e->actor == OB_ACTOR_NET &&
            ob_imsg_decode(&msg, ob_outbox_bytes(f->out, e), e->len) == OB_OK &&
            msg.type == OB_IMSG_REPORT_EVIDENCE && msg.u.report_evidence.kind == kind)
            n++;
    }
    return n;
}

/* A node's parent certificate that is the chain's last one committed here
   (the node's own aggregation formed it) costs no SQLite work and reports
   no second Lock; another certificate at that height is still evidence. */
static void test_journal_known_parent_certificate(void **state)
{
    h_fixture_t *f = *state;
    s_journal_open(f);
    const ob_journal_stats_t *stats = ob_journal_stats(f->journal);
    h_node_t zero, one;
    s_node(f, &zero, 1, 0, "zero", NULL, 0, 0);
    s_journal_node(f, &zero, "zero");
    s_certified(f, &zero.chunk);
    assert_int_equal(stats->certificates, 1);
    s_node(f, &one, 1, 1, "one", "zero", 1, H_FIRST);
    s_journal_node(f, &one, "one");
    s_assert_tip(f, &one.chunk);
    assert_int_equal(stats->certificates, 1);
    assert_int_equal(stats->certificates_known, 1);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 0);
    /* a certificate on another payload at height 0: evidence, not "known" */
    ob_chunk_t other = s_chunk(f, 1, 0, "other zero");
    s_certified(f, &other);
    assert_int_equal(s_evidence_sent(f, OB_EVIDENCE_CERTIFIED_CONFLICT), 1);
    assert_int_equal(stats->certificates_known, 1);
}

/* Issue 9, defect 7. A certificate held on (S, h, "one"), then a signed
   node (S, h, "other one"): whether h is above the tip, at it or below
   it, the node is evidence against the certificate, is dropped, and is
   neither made the tip nor sent for verification. */
static void test_journal_conflict_certificate_first(void **state)
{
    h_fixture_t *f = *state;
    s_journal_open(f);
    const ob_journal_stats_t *stats = ob_journal_stats(f->journal);
    h_node_t node, other;

    /* Above the tip: key 1's tip is at 0, the certificate at 1. */
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    s_journal_node(f, &node, "zero");
    ob_chunk_t one = s_chunk(f, 1, 1, "one");
    s_certified(f, &one);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 1);
    uint32_t in_use = ob_arena_in_use(f->arena);
    s_node(f, &other, 1, 1, "other one", "zero", 1, H_FIRST);
    s_journal_node(f, &other, "other one");
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_APP_VERIFY), 0);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_TIP_CHANGED), 0);
    assert_int_equal(s_evidence_sent(f, OB_EVIDENCE_CERTIFIED_CONFLICT), 1);
    assert_int_equal(stats->evidence, 1);
    s_assert_only(stats->dropped, OB_ERR_CHUNK_MISMATCH, 1);
    s_assert_tip(f, &node.chunk);
    assert_int_equal(ob_arena_in_use(f->arena), in_use);

    /* At the tip: key 2's tip is (2, 1, "one"), certified. */
    h_node_t two_zero, two_one;
    s_node(f, &two_zero, 2, 0, "zero", NULL, 0, 0);
    s_node(f, &two_one, 2, 1, "one", "zero", 1, H_FIRST);
    s_journal_node(f, &two_zero, "zero");
    s_journal_node(f, &two_one, "one");
    ob_chunk_t two_one_chunk = s_chunk(f, 2, 1, "one");
    s_certified(f, &two_one_chunk);
    s_node(f, &other, 2, 1, "other one", "zero", 1, H_FIRST);
    s_journal_node(f, &other, "other one");
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_APP_VERIFY), 0);
    assert_int_equal(s_evidence_sent(f, OB_EVIDENCE_CONFLICTING_NODES), 1);
    assert_int_equal(s_evidence_sent(f, OB_EVIDENCE_CERTIFIED_CONFLICT), 1);
    assert_int_equal(stats->evidence, 3);
    s_assert_only(stats->dropped, OB_ERR_CHUNK_MISMATCH, 2);
    s_assert_tip(f, &two_one.chunk);

    /* Below the tip: key 3's tip is at 2, whose parent certified 1. */
    h_node_t three[3];
    const char *payloads[3] = {"zero", "one", "two"};
    for (uint64_t h = 0; h < 3; h++) {
        s_node(f, &three[h], 3, h, payloads[h], h ? payloads[h - 1] : NULL, 1, H_FIRST);
        s_journal_node(f, &three[h], payloads[h]);
    }
    s_node(f, &other, 3, 1, "other one", "zero", 1, H_FIRST);
    s_journal_node(f, &other, "other one");
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_APP_VERIFY), 0);
    assert_int_equal(s_evidence_sent(f, OB_EVIDENCE_CONFLICTING_NODES), 1);
    assert_int_equal(s_evidence_sent(f, OB_EVIDENCE_CERTIFIED_CONFLICT), 1);
    assert_int_equal(stats->evidence, 5);
    assert_int_equal(stats->dropped[OB_ERR_HEIGHT_TOO_LOW], 1);
    s_assert_tip(f, &three[2].chunk);
    assert_int_equal(stats->acks_requested, 0);
}

/* The other order: the node (S, h, "other one") first, then a certificate
   on (S, h, "one"). The certificate is evidence against the node, and from
   then on the node is acked no more: not on a verdict that comes after, and
   not on a duplicate, at the tip or below it. */
static void test_journal_conflict_node_first(void **state)
{
    h_fixture_t *f = *state;
    s_journal_open(f);
    const ob_journal_stats_t *stats = ob_journal_stats(f->journal);
    h_node_t zero, other;

    /* The node above the tip becomes the tip and goes to the application;
       the certificate comes before the verdict. */
    s_node(f, &zero, 1, 0, "zero", NULL, 0, 0);
    s_journal_node(f, &zero, "zero");
    s_node(f, &other, 1, 1, "other one", "zero", 1, H_FIRST);
    s_journal_node(f, &other, "other one");
    s_assert_new_tip(f, &other.chunk);
    ob_chunk_t one = s_chunk(f, 1, 1, "one");
    s_certified(f, &one);
    assert_int_equal(s_evidence_sent(f, OB_EVIDENCE_CERTIFIED_CONFLICT), 1);
    assert_int_equal(stats->evidence, 1);
    s_verdict(f, &other.chunk);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_ACK), 0);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_TIP), 0);
    s_assert_only(stats->dropped, OB_ERR_CHUNK_MISMATCH, 1);
    /* A duplicate of it is neither verified nor acked again. */
    s_journal_node(f, &other, "other one");
    assert_int_equal(ob_outbox_count(f->out), 0);
    s_assert_only(stats->dropped, OB_ERR_CHUNK_MISMATCH, 2);

    /* At the tip, acked before the certificate came (nothing said no
       then); after it, not again. */
    h_node_t two_zero, two_other;
    s_node(f, &two_zero, 2, 0, "zero", NULL, 0, 0);
    s_node(f, &two_other, 2, 1, "other one", "zero", 1, H_FIRST);
    s_journal_node(f, &two_zero, "zero");
    s_journal_node(f, &two_other, "other one");
    s_verdict(f, &two_other.chunk);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_ACK), 1);
    ob_chunk_t two_one = s_chunk(f, 2, 1, "one");
    s_certified(f, &two_one);
    assert_int_equal(s_evidence_sent(f, OB_EVIDENCE_CERTIFIED_CONFLICT), 1);
    assert_int_equal(stats->evidence, 2);
    s_journal_node(f, &two_other, "other one");
    assert_int_equal(ob_outbox_count(f->out), 0);
    s_verdict(f, &two_other.chunk);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->acks_requested, 1);

    /* Below the tip: the node at 1, then a node at 2 whose parent
       certificate is on "one" at 1. */
    h_node_t three_zero, three_other, three_two;
    s_node(f, &three_zero, 3, 0, "zero", NULL, 0, 0);
    s_node(f, &three_other, 3, 1, "other one", "zero", 1, H_FIRST);
    s_node(f, &three_two, 3, 2, "two", "one", 1, H_FIRST);
    s_journal_node(f, &three_zero, "zero");
    s_journal_node(f, &three_other, "other one");
    s_journal_node(f, &three_two, "two");
    assert_int_equal(s_evidence_sent(f, OB_EVIDENCE_CERTIFIED_CONFLICT), 1);
    assert_int_equal(stats->evidence, 3);
    s_journal_node(f, &three_other, "other one");
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(stats->evidence, 3);
}

/* --- duplicates of a tip (issue 9, defect 6) ---------------------------- */

/* Plays the rest of node 0 around its journal: the signer (fed the
   journal's sign_ack, epoch and tip messages) and the application
   (answering every app_verify with `valid`). It records every ack that
   would leave, and the certificates the signer formed. */
#define H_MAX_ACKS 256

typedef struct {
    bool valid;
    size_t verifies;
    size_t acks;
    uint8_t signatures[H_MAX_ACKS][64];
    uint64_t epochs[H_MAX_ACKS];
    size_t certified;
    uint64_t certified_epoch;
} h_node0_t;

static void s_node0_signer_out(h_fixture_t *f, h_node0_t *n)
{
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        ob_imsg_t msg;
        if (e->kind != OB_DEST_ACTOR ||
            ob_imsg_decode(&msg, ob_outbox_bytes(f->out, e), e->len) != OB_OK)
            continue;
        if (msg.type == OB_IMSG_SEND_ACK) {
            ob_ack_t ack;
            assert_int_equal(ob_ack_decode(&ack, msg.u.send_ack.ack.data, msg.u.send_ack.ack.len),
                             OB_OK);
            assert_int_equal(ob_ack_verify(f->crypto, &f->ns, f->epochs, &ack), OB_OK);
            assert_true(n->acks < H_MAX_ACKS);
            memcpy(n->signatures[n->acks], ack.signature, 64);
            n->epochs[n->acks++] = ack.epoch;
        } else if (msg.type == OB_IMSG_CERTIFIED) {
            ob_epoch_lookup_t lookup = ob_epochs_lookup(f->epochs);
            ob_lock_t lock;
            assert_int_equal(
                ob_lock_decode(&lock, msg.u.certified.lock.data, msg.u.certified.lock.len, &lookup),
                OB_OK);
            assert_int_equal(ob_lock_verify(f->crypto, &f->ns, f->epochs, &lock), OB_OK);
            n->certified++;
            n->certified_epoch = lock.epoch;
        }
    }
}

/* Hands on what the journal's last batch produced, until nothing is left. */
static void s_node0_pump(h_fixture_t *f, h_node0_t *n, uint64_t now)
{
    for (int round = 0; round < 8; round++) {
        ob_imsg_t todo[32];
        size_t count = 0;
        for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
            const ob_envelope_t *e = ob_outbox_at(f->out, i);
            ob_imsg_t msg;
            if (e->kind != OB_DEST_ACTOR ||
                ob_imsg_decode(&msg, ob_outbox_bytes(f->out, e), e->len) != OB_OK)
                continue;
            bool to_signer = e->actor == OB_ACTOR_SIGNER &&
                             (msg.type == OB_IMSG_SIGN_ACK || msg.type == OB_IMSG_EPOCH_CHANGED ||
                              msg.type == OB_IMSG_TIP_CHANGED);
            if (to_signer || msg.type == OB_IMSG_APP_VERIFY) {
                assert_true(count < 32);
                todo[count++] = msg; /* these carry no blobs */
            }
        }
        if (count == 0)
            return;
        bool journal_again = false;
        for (size_t i = 0; i < count; i++) {
            if (todo[i].type != OB_IMSG_APP_VERIFY) {
                s_deliver(f, OB_ACTOR_SIGNER, &todo[i]);
                s_node0_signer_out(f, n);
                continue;
            }
            n->verifies++;
            assert_int_equal(
                ob_arena_release(f->arena, &todo[i].u.app_verify.payload, OB_ACTOR_JOURNAL), 0);
            ob_imsg_t verdict = {.type = OB_IMSG_APP_VERDICT};
            verdict.u.app_verdict.chunk = todo[i].u.app_verify.chunk;
            verdict.u.app_verdict.valid = n->valid;
            s_deliver_at(f, OB_ACTOR_JOURNAL, &verdict, now);
            journal_again = true;
            break; /* the journal's new output replaces the rest */
        }
        if (!journal_again)
            return;
    }
}

static void s_node0_node(h_fixture_t *f, h_node0_t *n, const h_node_t *node, const char *payload,
                         uint64_t now)
{
    ob_imsg_t msg = {.type = OB_IMSG_NODE_VERIFIED};
    msg.u.node_verified.node = (ob_blob_t){node->bytes, (uint32_t)node->len};
    msg.u.node_verified.payload = s_stage(f, OB_ACTOR_VERIFIER, payload);
    s_deliver_at(f, OB_ACTOR_JOURNAL, &msg, now);
    s_node0_pump(f, n, now);
}

/* Node 0's journal and signer, in epoch 1. */
static void s_node0_open(h_fixture_t *f)
{
    s_journal_open(f);
    s_signer_open(f, 0);
    s_epoch(f, OB_ACTOR_SIGNER, 1);
}

static size_t s_distinct_signatures(const h_node0_t *n, size_t from)
{
    size_t distinct = 0;
    for (size_t i = from; i < n->acks; i++) {
        bool seen = false;
        for (size_t j = from; j < i && !seen; j++)
            seen = memcmp(n->signatures[i], n->signatures[j], 64) == 0;
        distinct += !seen;
    }
    return distinct;
}

/* 200 duplicates of a tip from a byzantine sequencer, 10 ms apart: the
   honest validator sends its stored ack again (the same signature bytes),
   at most once per half rebroadcast timeout, and asks the application
   nothing more. After an epoch change a duplicate is signed for the new
   epoch, still without the application, and that ack forms a certificate. */
static void test_journal_duplicates_send_the_stored_ack(void **state)
{
    h_fixture_t *f = *state;
    s_node0_open(f);
    h_node0_t n = {.valid = true};
    h_node_t zero;
    s_node(f, &zero, 1, 0, "zero", NULL, 0, 0);
    uint64_t t = H_NOW;
    s_node0_node(f, &n, &zero, "zero", t);
    assert_int_equal(n.verifies, 1);
    assert_int_equal(n.acks, 1);

    uint32_t in_use = ob_arena_in_use(f->arena);
    for (int i = 0; i < 200; i++) {
        t += 10;
        s_node0_node(f, &n, &zero, "zero", t);
    }
    uint64_t half = f->params.rebroadcast_timeout_ms / 2;
    print_message("# 200 duplicates over %llu ms: %zu acks sent, %zu distinct signatures, "
                  "%zu verifies\n",
                  (unsigned long long)(t - H_NOW), n.acks, s_distinct_signatures(&n, 0),
                  n.verifies);
    assert_int_equal(s_distinct_signatures(&n, 0), 1);
    assert_true(n.acks >= 2); /* a lost ack is made good */
    assert_true(n.acks <= 1 + (t - H_NOW) / half);
    assert_int_equal(n.verifies, 1);
    assert_int_equal(ob_arena_in_use(f->arena), in_use); /* every duplicate's slot went back */

    /* Epoch 2: the journal tells the signer, and the next duplicate is
       signed for (chunk, 2) without asking the application. */
    ob_imsg_t epoch = {.type = OB_IMSG_SET_EPOCH};
    epoch.u.set_epoch.epoch = 2;
    t += half;
    s_deliver_at(f, OB_ACTOR_JOURNAL, &epoch, t);
    s_node0_pump(f, &n, t);
    size_t before = n.acks;
    s_node0_node(f, &n, &zero, "zero", t);
    assert_int_equal(n.verifies, 1);
    assert_int_equal(n.acks, before + 1);
    assert_int_equal(n.epochs[before], 2);
    assert_int_equal(s_distinct_signatures(&n, 0), 2);
    /* Two peers' acks in epoch 2 and the re-ack make a quorum. */
    for (int v = 1; v <= 2; v++) {
        ob_ack_t ack = s_ack(f, v, &zero.chunk, 2);
        s_ack_verified(f, &ack);
        s_node0_signer_out(f, &n);
    }
    assert_int_equal(n.certified, 1);
    assert_int_equal(n.certified_epoch, 2);
    /* And again in epoch 2: the stored epoch-2 ack. */
    t += half;
    s_node0_node(f, &n, &zero, "zero", t);
    assert_int_equal(n.acks, before + 2);
    assert_memory_equal(n.signatures[before + 1], n.signatures[before], 64);
}

/* A tip the application rejected is put to it again at the same rate, and
   at once when an application attaches. */
static void test_journal_rejected_tip_asked_again(void **state)
{
    h_fixture_t *f = *state;
    s_node0_open(f);
    h_node0_t n = {.valid = false};
    h_node_t zero;
    s_node(f, &zero, 2, 0, "zero", NULL, 0, 0);
    uint64_t t = H_NOW, half = f->params.rebroadcast_timeout_ms / 2;
    s_node0_node(f, &n, &zero, "zero", t);
    assert_int_equal(n.verifies, 1);
    for (int i = 0; i < 20; i++) {
        t += 10;
        s_node0_node(f, &n, &zero, "zero", t);
    }
    assert_int_equal(n.verifies, 1);
    t = H_NOW + half;
    s_node0_node(f, &n, &zero, "zero", t);
    assert_int_equal(n.verifies, 2);
    assert_int_equal(n.acks, 0);

    /* An application attaches: asked at once, rate or not; this one says
       valid, and the ack goes. */
    n.valid = true;
    ob_imsg_t attached = {.type = OB_IMSG_APP_ATTACHED};
    s_deliver_at(f, OB_ACTOR_JOURNAL, &attached, t + 1);
    s_node0_pump(f, &n, t + 1);
    assert_int_equal(n.verifies, 3);
    assert_int_equal(n.acks, 1);
    /* A tip with its verdict given is not asked again on an attach. */
    s_deliver_at(f, OB_ACTOR_JOURNAL, &attached, t + 2);
    s_node0_pump(f, &n, t + 2);
    assert_int_equal(n.verifies, 3);
}

/* The journal as the sequencer (key 0): recovered from an empty signer,
   so it asks the application for height 0. */
static void s_journal_sequencer(h_fixture_t *f)
{
    s_journal_open(f);
    ob_imsg_t last = {.type = OB_IMSG_LAST_SIGNED};
    s_deliver(f, OB_ACTOR_JOURNAL, &last);
    ob_imsg_t ask = s_the(f, OB_ACTOR_NET, OB_IMSG_APP_PROPOSE);
    assert_int_equal(ask.u.app_propose.height, 0);
}

static void s_app_payload(h_fixture_t *f, uint64_t height, const char *payload)
{
    ob_imsg_t msg = {.type = OB_IMSG_APP_PAYLOAD};
    msg.u.app_payload.height = height;
    msg.u.app_payload.payload = s_stage(f, OB_ACTOR_NET, payload);
    s_deliver(f, OB_ACTOR_JOURNAL, &msg);
}

static void s_node_signed(h_fixture_t *f, const h_node_t *node)
{
    ob_imsg_t msg = {.type = OB_IMSG_NODE_SIGNED};
    msg.u.node_signed.node = (ob_blob_t){node->bytes, (uint32_t)node->len};
    s_deliver(f, OB_ACTOR_JOURNAL, &msg);
}

/* --- the built-in application, inside the journal ------------------------ */

/* The journal of key 0 with the built-in application: batches of at most
   `batch_bytes` (0: off), a queue of 8. */
static void s_journal_builtin_open(h_fixture_t *f, uint32_t batch_bytes)
{
    ob_journal_config_t config = s_journal_config(f);
    config.builtin_app = true;
    config.submit_queue_max = 8;
    config.batch_bytes = batch_bytes;
    s_journal_start_with(f, &config);
    ob_outbox_clear(f->out);
}

/* A batch of the given entries (proto/batch.h) into `out`; its length. */
static size_t s_batch(const char *const *entries, uint32_t count, uint8_t *out, size_t cap)
{
    size_t total = 0;
    for (uint32_t i = 0; i < count; i++)
        total += strlen(entries[i]);
    size_t len = ob_batch_encoded_len(count, total);
    assert_true(len <= cap);
    ob_batch_put_header(out, count);
    size_t at = OB_BATCH_HEADER_LEN;
    for (uint32_t i = 0; i < count; i++)
        ob_batch_put_entry(out, &at, (const uint8_t *)entries[i], (uint32_t)strlen(entries[i]));
    assert_int_equal(at, len);
    return len;
}

/* A genesis node of key `sequencer` over raw payload bytes, signed. */
static void s_node_raw(h_fixture_t *f, h_node_t *out, int sequencer, const uint8_t *payload,
                       size_t len)
{
    ob_node_t node = {.chunk = {.height = 0}};
    memcpy(node.chunk.sequencer, f->keys[sequencer].pub.bytes, 32);
    ob_sha256(f->crypto, payload, len, node.chunk.payload);
    assert_int_equal(
        ob_chunk_sign(f->crypto, &f->ns, &f->keys[sequencer], &node.chunk, NULL, node.signature),
        0);
    out->chunk = node.chunk;
    assert_int_equal(ob_node_encode(&node, out->bytes, sizeof out->bytes, &out->len), 0);
}

static void s_journal_node_raw(h_fixture_t *f, const h_node_t *node, const uint8_t *payload,
                               size_t len)
{
    ob_imsg_t msg = {.type = OB_IMSG_NODE_VERIFIED};
    msg.u.node_verified.node = (ob_blob_t){node->bytes, (uint32_t)node->len};
    assert_int_equal(ob_arena_put(f->arena, f->crypto, OB_ACTOR_VERIFIER, payload, (uint32_t)len,
                                  &msg.u.node_verified.payload),
                     0);
    s_deliver(f, OB_ACTOR_JOURNAL, &msg);
}

/* The built-in application judges a peer's chunk in the journal: a
   payload that does not decode as a batch is a `false` verdict (no ack,
   no crash), a batch is acked; nothing goes to net to be verified. With
   batching off, any payload whose digest matches is valid. */
static void test_journal_builtin_verifies_batches(void **state)
{
    h_fixture_t *f = *state;
    s_journal_builtin_open(f, 4096);
    uint32_t in_use = ob_arena_in_use(f->arena);
    h_node_t raw;
    s_node(f, &raw, 1, 0, "not a batch", NULL, 0, 0);
    s_journal_node(f, &raw, "not a batch");
    s_assert_tip(f, &raw.chunk);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_APP_VERIFY), 0);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_ACK), 0);
    const ob_journal_stats_t *st = ob_journal_stats(f->journal);
    assert_int_equal(st->verdicts_invalid, 1);
    assert_int_equal(st->verdicts_valid, 0);
    /* A batch cut short, from key 3. */
    const char *entries[2] = {"first entry", "second"};
    uint8_t batch[64];
    size_t len = s_batch(entries, 2, batch, sizeof batch);
    h_node_t cut;
    s_node_raw(f, &cut, 3, batch, len - 1);
    s_journal_node_raw(f, &cut, batch, len - 1);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_ACK), 0);
    assert_int_equal(st->verdicts_invalid, 2);

    h_node_t good;
    s_node_raw(f, &good, 2, batch, len);
    s_journal_node_raw(f, &good, batch, len);
    ob_imsg_t ack = s_the(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_ACK);
    assert_memory_equal(&ack.u.sign_ack.chunk, &good.chunk, sizeof good.chunk);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_APP_VERIFY), 0);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_TIP), 0);
    assert_int_equal(st->verdicts_valid, 1);
    /* Every slot handed in was given back. */
    assert_int_equal(ob_arena_in_use(f->arena), in_use);

    /* Batching off: the same raw payload is valid. */
    ob_journal_destroy(&f->journal);
    snprintf(f->journal_path, sizeof f->journal_path, "%s/journal-off.db", f->dir);
    s_journal_builtin_open(f, 0);
    s_journal_node(f, &raw, "not a batch");
    s_the(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_ACK);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_APP_VERIFY), 0);
}

static void s_submitted(h_fixture_t *f, const char *client, uint64_t tag, const char *payload)
{
    ob_imsg_t msg = {.type = OB_IMSG_SUBMITTED};
    msg.u.submitted.client = (ob_blob_t){(const uint8_t *)client, (uint32_t)strlen(client)};
    msg.u.submitted.tag = tag;
    msg.u.submitted.payload = s_stage(f, OB_ACTOR_NET, payload);
    s_deliver(f, OB_ACTOR_JOURNAL, &msg);
}

/* The client_answers for net in the outbox: how many of `type`. */
static size_t s_client_answers(h_fixture_t *f, ob_imsg_type_t type, ob_imsg_t *last)
{
    size_t n = 0;
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        ob_imsg_t msg, answer;
        if (e->kind != OB_DEST_ACTOR || e->actor != OB_ACTOR_NET)
            continue;
        assert_int_equal(ob_imsg_decode(&msg, ob_outbox_bytes(f->out, e), e->len), OB_OK);
        if (msg.type != OB_IMSG_CLIENT_ANSWER)
            continue;
        ob_batch_t list;
        assert_int_equal(ob_batch_decode(&list, msg.u.client_answer.answers.data,
                                         msg.u.client_answer.answers.len),
                         OB_OK);
        size_t offset = 0;
        ob_batch_entry_t entry;
        while (ob_batch_next(&list, &offset, &entry) == 0) {
            assert_int_equal(ob_imsg_decode(&answer, entry.data, entry.len), OB_OK);
            if (answer.type == type) {
                n++;
                if (last)
                    *last = answer;
            }
        }
    }
    return n;
}

/* Proposing takes no message to net and back: the first submit answers
   the proposal the journal asked for at once; the next ones wait in the
   queue for the certificate and go together, as one batch. */
/* Each start of a journal with the built-in application tells net that
   the submits it held are forgotten (its queue lived in the memory of the
   journal before it); one without it says nothing of the kind. */
static void test_journal_start_says_submits_forgotten(void **state)
{
    h_fixture_t *f = *state;
    for (int builtin = 0; builtin < 2; builtin++) {
        ob_journal_config_t config = s_journal_config(f);
        config.builtin_app = builtin;
        config.submit_queue_max = 8;
        s_journal_start_with(f, &config);
        assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_SUBMITS_FORGOTTEN), builtin);
        assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_LAST_SIGNED_REQUEST), 1);
        ob_journal_destroy(&f->journal);
    }
}

/* Submits that reach the journal in one batch while a proposal is asked
   go into one chunk: the proposal waits for the batch's end. Made at the
   first of them, it carried that one alone, and the rest waited a whole
   round for the next (128 B clients: submit to Lock about two rounds). */
static void test_journal_builtin_proposal_takes_the_whole_batch(void **state)
{
    h_fixture_t *f = *state;
    s_journal_builtin_open(f, 4096);
    ob_imsg_t last = {.type = OB_IMSG_LAST_SIGNED};
    s_deliver(f, OB_ACTOR_JOURNAL, &last);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_NODE), 0); /* asked, none queued */

    const char *clients[3] = {"client-a", "client-b", "client-a"};
    const char *payloads[3] = {"one", "two", "three"};
    ob_imsg_t msgs[3];
    uint8_t *bufs[3];
    for (int i = 0; i < 3; i++) {
        ob_imsg_t msg = {.type = OB_IMSG_SUBMITTED};
        msg.u.submitted.client =
            (ob_blob_t){(const uint8_t *)clients[i], (uint32_t)strlen(clients[i])};
        msg.u.submitted.tag = 10 + (uint64_t)i;
        msg.u.submitted.payload = s_stage(f, OB_ACTOR_NET, payloads[i]);
        msgs[i] = tu_through_codec(&msg, &bufs[i]);
    }
    ob_outbox_clear(f->out);
    assert_int_equal(ob_journal_begin(f->journal), 0);
    for (int i = 0; i < 3; i++) {
        ob_journal_handle(f->journal, H_NOW, OB_PARTY_NET, &msgs[i], f->out);
        /* nothing is proposed while the batch still runs */
        assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_NODE), 0);
    }
    ob_journal_end_batch(f->journal, f->out);
    assert_int_equal(ob_journal_commit(f->journal), 0);
    for (int i = 0; i < 3; i++)
        free(bufs[i]);

    uint8_t batch[64];
    size_t len = s_batch(payloads, 3, batch, sizeof batch);
    uint8_t digest[32];
    ob_sha256(f->crypto, batch, len, digest);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_NODE), 1);
    ob_imsg_t sign = s_the(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_NODE);
    assert_int_equal(sign.u.sign_node.chunk.height, 0);
    assert_memory_equal(sign.u.sign_node.chunk.payload, digest, 32);
    /* each submit is answered, in one message per client */
    assert_int_equal(s_client_answers(f, OB_IMSG_SUBMIT_QUEUED, NULL), 3);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_CLIENT_ANSWER), 2);
    const ob_builtin_app_stats_t *app = ob_builtin_app_stats(ob_journal_builtin_app(f->journal));
    assert_int_equal(app->proposals, 1);
    assert_int_equal(app->batched_entries, 3);
}

static void test_journal_builtin_proposes_without_net(void **state)
{
    h_fixture_t *f = *state;
    s_journal_builtin_open(f, 4096);
    ob_imsg_t last = {.type = OB_IMSG_LAST_SIGNED};
    s_deliver(f, OB_ACTOR_JOURNAL, &last);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_APP_PROPOSE), 0);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_NODE), 0); /* nothing queued */

    s_submitted(f, "client-a", 1, "one");
    assert_int_equal(s_client_answers(f, OB_IMSG_SUBMIT_QUEUED, NULL), 1);
    const char *first[1] = {"one"};
    uint8_t batch[64];
    size_t len = s_batch(first, 1, batch, sizeof batch);
    h_node_t zero;
    s_node_raw(f, &zero, 0, batch, len);
    ob_imsg_t sign = s_the(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_NODE);
    assert_memory_equal(&sign.u.sign_node.chunk, &zero.chunk, sizeof zero.chunk);

    s_submitted(f, "client-b", 2, "two");
    assert_int_equal(s_client_answers(f, OB_IMSG_SUBMIT_QUEUED, NULL), 1);
    assert_int_equal(s_sent(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_NODE), 0);
    s_submitted(f, "client-b", 3, "three");
    s_submitted(f, "client-b", 3, "three"); /* resent: queued once */
    assert_int_equal(s_client_answers(f, OB_IMSG_SUBMIT_QUEUED, NULL), 1);

    s_node_signed(f, &zero);
    ob_imsg_t answer;
    assert_int_equal(s_client_answers(f, OB_IMSG_SUBMIT_ASSIGNED, &answer), 1);
    assert_int_equal(answer.u.submit_assigned.tag, 1);
    assert_int_equal(answer.u.submit_assigned.height, 0);
    assert_int_equal(answer.u.submit_assigned.index, 0);
    assert_memory_equal(answer.u.submit_assigned.payload, zero.chunk.payload, 32);
    s_the(f, OB_ACTOR_NET, OB_IMSG_BROADCAST_NODE);

    /* The journal's clock times the proposal to its certificate (the
       adaptive batch bound's measure): asked at H_NOW, certified 700 ms
       later. */
    s_certified_at(f, &zero.chunk, H_NOW + 700);
    const ob_builtin_app_stats_t *timed = ob_builtin_app_stats(ob_journal_builtin_app(f->journal));
    assert_int_equal(timed->batch_timed, 1);
    assert_int_equal(timed->batch_last_ms, 700);
    assert_int_equal(s_client_answers(f, OB_IMSG_SUBMIT_LOCKED, &answer), 1);
    assert_int_equal(answer.u.submit_locked.tag, 1);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 0);
    /* The report stays in the journal, for the monitoring events only. */
    ob_outbox_t *reports = ob_journal_reports(f->journal);
    assert_int_equal(ob_outbox_count(reports), 1);
    ob_imsg_t report;
    const ob_envelope_t *e = ob_outbox_at(reports, 0);
    assert_int_equal(ob_imsg_decode(&report, ob_outbox_bytes(reports, e), e->len), OB_OK);
    assert_int_equal(report.type, OB_IMSG_REPORT_LOCK);
    const char *next[2] = {"two", "three"};
    len = s_batch(next, 2, batch, sizeof batch);
    uint8_t digest[32];
    ob_sha256(f->crypto, batch, len, digest);
    sign = s_the(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_NODE);
    assert_int_equal(sign.u.sign_node.chunk.height, 1);
    assert_memory_equal(sign.u.sign_node.chunk.payload, digest, 32);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_APP_PROPOSE), 0);
    const ob_builtin_app_stats_t *app = ob_builtin_app_stats(ob_journal_builtin_app(f->journal));
    assert_int_equal(app->proposals, 2);
    assert_int_equal(app->batched_entries, 3);
    assert_int_equal(app->submit_again, 1);
    /* The Lock was the built-in application's at once: none redelivered. */
    assert_int_equal(ob_journal_stats(f->journal)->locks_reported, 1);
    assert_int_equal(ob_journal_begin(f->journal), 0); /* a batch begins: reports cleared */
    assert_int_equal(ob_outbox_count(reports), 0);
    assert_int_equal(ob_journal_commit(f->journal), 0);
}

/* Issue 9, defect 5. The proposal's payload is committed before the node
   that refers to it exists here. The same bytes are also another chain's
   (submitted twice), and a certificate of that chain lets retention prune
   them between the payload's commit and the own tip's record. The signed
   node must still find its payload, or the chain stops for good: the
   signer re-issues that node forever. */
static void test_journal_retention_keeps_a_pending_proposal(void **state)
{
    h_fixture_t *f = *state;
    f->params.retention = 1;
    s_journal_sequencer(f);
    h_node_t theirs[4];
    const char *payloads[4] = {"same bytes", "one", "two", "three"};
    s_node(f, &theirs[0], 1, 0, payloads[0], NULL, 0, 0);
    s_journal_node(f, &theirs[0], payloads[0]);

    /* The journal runs at durability = process (NORMAL): only the batch
       that commits the proposal's payload is fsynced (SPEC §4, proposal
       step 1), so a power loss cannot take the bytes of a node the
       signer's FULL record keeps. */
    const ob_journal_stats_t *stats = ob_journal_stats(f->journal);
    assert_int_equal(stats->durable_commits, 0);
    s_app_payload(f, 0, "same bytes");
    assert_int_equal(stats->durable_commits, 1);
    ob_imsg_t ask = s_the(f, OB_ACTOR_SIGNER, OB_IMSG_SIGN_NODE);
    ob_chunk_t own = s_chunk(f, 0, 0, "same bytes");
    assert_memory_equal(&ask.u.sign_node.chunk, &own, sizeof own);

    /* Key 1's chain grows; the certificate of its height 2 prunes the
       payloads of its height 0, which are the proposal's bytes too. */
    for (uint64_t h = 1; h < 4; h++) {
        s_node(f, &theirs[h], 1, h, payloads[h], payloads[h - 1], 1, H_FIRST);
        s_journal_node(f, &theirs[h], payloads[h]);
    }
    assert_int_equal(stats->certificates, 3);
    assert_int_equal(stats->durable_commits, 1); /* a peer's nodes: not fsynced */

    h_node_t signed_node;
    s_node(f, &signed_node, 0, 0, "same bytes", NULL, 0, 0);
    s_node_signed(f, &signed_node);
    s_assert_tip(f, &own);
    ob_imsg_t sent = s_the(f, OB_ACTOR_NET, OB_IMSG_BROADCAST_NODE);
    assert_int_equal(sent.u.broadcast_node.node.len, signed_node.len);
    assert_memory_equal(sent.u.broadcast_node.node.data, signed_node.bytes, signed_node.len);
    assert_int_equal(ob_arena_release(f->arena, &sent.u.broadcast_node.payload, OB_ACTOR_JOURNAL),
                     0);
    s_assert_only(stats->dropped, OB_OK, 0);

    /* Once the node is the tip, its own row keeps the bytes: the pin of the
       proposal is gone, and a later prune of key 1's range still spares
       them, as any payload a kept node refers to. */
    h_node_t four;
    s_node(f, &four, 1, 4, "four", "three", 1, H_FIRST);
    s_journal_node(f, &four, "four");
    ob_journal_destroy(&f->journal);
    ob_why_t why = {{0}};
    ob_journal_store_t *store = ob_journal_store_open(f->journal_path, OB_DB_SYNC_NORMAL, &why);
    if (!store)
        fail_msg("journal store: %s", why.text);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(ob_journal_store_payload(store, own.payload, &data, &len), 1);
    assert_int_equal(len, strlen("same bytes"));
    free(data);
    ob_chunk_t one = s_chunk(f, 1, 1, "one");
    assert_int_equal(ob_journal_store_payload(store, one.payload, &data, &len), 0);
    ob_journal_store_destroy(&store);
}

/* ======================================================================= */
/* net                                                                      */
/* ======================================================================= */

static void s_net_open(h_fixture_t *f)
{
    ob_net_config_t config = {.env = s_env(f, 0), .app_attached = false};
    ob_why_t why = {{0}};
    f->net = ob_net_new(&config, &why);
    if (!f->net)
        fail_msg("net: %s", why.text);
    ob_outbox_clear(f->out);
}

static void s_net_peer(h_fixture_t *f, int peer, const ob_frame_t *frames, size_t count)
{
    ob_outbox_clear(f->out);
    ob_net_on_peer(f->net, f->keys[peer].pub.bytes, frames, count, f->out);
}

/* Net dropped the last peer message for `why`, told the journal, handed
   nothing to the verifier and holds no payload slot. */
static void s_assert_net_dropped(h_fixture_t *f, ob_error_t why, int peer, uint64_t times)
{
    const ob_net_stats_t *stats = ob_net_stats(f->net);
    s_assert_only(stats->dropped, why, times);
    s_assert_drop_sent(f, OB_ACTOR_NET, why, peer);
    assert_int_equal(stats->peer_nodes_in, 0);
    assert_int_equal(stats->peer_acks_in, 0);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

/* type ‖ version ‖ a valid Ack. */
static void s_ack_frame(h_fixture_t *f, uint8_t frame[2 + OB_ACK_LEN])
{
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    ob_ack_t ack = s_ack(f, 1, &chunk, 1);
    size_t written = 0;
    assert_int_equal(ob_peer_ack_frame_encode(&ack, frame, 2 + OB_ACK_LEN, &written), 0);
}

/* type ‖ version ‖ a valid genesis Node of key 1 over "zero". */
static size_t s_node_frame(h_fixture_t *f, uint8_t *frame, size_t cap)
{
    h_node_t node;
    s_node(f, &node, 1, 0, "zero", NULL, 0, 0);
    assert_true(cap >= 2 + node.len);
    frame[0] = OB_PEER_TYPE_NODE;
    frame[1] = OB_PEER_VERSION;
    memcpy(frame + 2, node.bytes, node.len);
    return 2 + node.len;
}

/* The verifier instance (of 3) the only envelope in the outbox goes to. */
static uint32_t s_routed_instance(h_fixture_t *f)
{
    assert_int_equal(ob_outbox_count(f->out), 1);
    const ob_envelope_t *e = ob_outbox_at(f->out, 0);
    assert_int_equal(e->actor, OB_ACTOR_VERIFIER);
    assert_true(e->routed);
    return ob_outbox_route_instance(e->route, 3);
}

static void test_net_routes_a_chunk_to_one_verifier(void **state)
{
    h_fixture_t *f = *state;
    s_net_open(f);
    /* With verifiers = 3: every ack of one chunk, from every validator,
       and its node, reach one instance; chunks spread over all three. */
    unsigned used = 0;
    for (uint64_t h = 0; h < 24; h++) {
        ob_chunk_t chunk = s_chunk(f, 1, h, "zero");
        uint32_t first = UINT32_MAX;
        for (int v = 1; v < H_VALIDATORS; v++) {
            ob_ack_t ack = s_ack(f, v, &chunk, 1);
            uint8_t frame[2 + OB_ACK_LEN];
            size_t written = 0;
            assert_int_equal(ob_peer_ack_frame_encode(&ack, frame, sizeof frame, &written), 0);
            ob_frame_t one[1] = {{frame, written}};
            s_net_peer(f, v, one, 1);
            uint32_t at = s_routed_instance(f);
            if (first == UINT32_MAX)
                first = at;
            assert_int_equal(at, first);
        }
        used |= 1u << first;
        if (h == 0) {
            uint8_t node[2 + H_NODE_MAX];
            ob_frame_t two[2] = {{node, s_node_frame(f, node, sizeof node)},
                                 {(const uint8_t *)"zero", 4}};
            s_net_peer(f, 1, two, 2);
            assert_int_equal(s_routed_instance(f), first);
        }
    }
    assert_int_equal(used, 7u);
}

static void test_net_frames_pass(void **state)
{
    h_fixture_t *f = *state;
    s_net_open(f);
    uint8_t ack[2 + OB_ACK_LEN], node[2 + H_NODE_MAX];
    s_ack_frame(f, ack);
    ob_frame_t one[1] = {{ack, sizeof ack}};
    s_net_peer(f, 1, one, 1);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t msg = s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_ACK);
    assert_memory_equal(msg.u.peer_ack.peer, f->keys[1].pub.bytes, 32);
    assert_memory_equal(msg.u.peer_ack.ack.data, ack + 2, OB_ACK_LEN);

    /* A payload of exactly max_payload bytes is allowed. */
    static uint8_t payload[H_SLOT_SIZE];
    memset(payload, 0x5a, sizeof payload);
    ob_frame_t two[2] = {{node, s_node_frame(f, node, sizeof node)}, {payload, sizeof payload}};
    s_net_peer(f, 1, two, 2);
    assert_int_equal(ob_outbox_count(f->out), 1);
    msg = s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_NODE);
    assert_int_equal(msg.u.peer_node.payload.len, sizeof payload);
    assert_int_equal(ob_arena_check(f->arena, f->crypto, &msg.u.peer_node.payload), 0);

    const ob_net_stats_t *stats = ob_net_stats(f->net);
    assert_int_equal(stats->peer_acks_in, 1);
    assert_int_equal(stats->peer_nodes_in, 1);
    s_assert_only(stats->dropped, OB_OK, 0);
}

static void test_net_unknown_type(void **state)
{
    h_fixture_t *f = *state;
    s_net_open(f);
    uint8_t frame[2 + OB_ACK_LEN];
    s_ack_frame(f, frame);
    /* 3 and 4 are Fetch and Fetched (test_net_fetch_passed_on). */
    const uint8_t unknown[] = {5, 0, 9, 255};
    ob_frame_t one[1] = {{frame, sizeof frame}};
    for (size_t i = 0; i < sizeof unknown; i++) {
        frame[0] = unknown[i];
        s_net_peer(f, 2, one, 1);
        s_assert_net_dropped(f, OB_ERR_UNKNOWN_TYPE, 2, i + 1);
    }
}

/* A Fetch that decodes goes to the journal, a Fetched to the verifier
   (its payload in the arena); what does not decode is dropped with its
   name, as any peer message. The budgets, asks and blocks are
   test_fetch_net.c's. */
static void test_net_fetch_passed_on(void **state)
{
    h_fixture_t *f = *state;
    s_net_open(f);
    const ob_net_stats_t *stats = ob_net_stats(f->net);

    ob_fetch_t fetch = {.height = 3, .count = OB_FETCH_MAX};
    memcpy(fetch.sequencer, f->keys[1].pub.bytes, 32);
    uint8_t fetch_frame[2 + OB_FETCH_LEN];
    size_t len = 0;
    assert_int_equal(ob_peer_fetch_frame_encode(&fetch, fetch_frame, sizeof fetch_frame, &len), 0);
    ob_frame_t one[1] = {{fetch_frame, len}};
    s_net_peer(f, 2, one, 1);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t asked = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_PEER_FETCH);
    assert_memory_equal(asked.u.peer_fetch.peer, f->keys[2].pub.bytes, 32);
    assert_memory_equal(asked.u.peer_fetch.sequencer, f->keys[1].pub.bytes, 32);
    assert_int_equal(asked.u.peer_fetch.height, 3);
    assert_int_equal(asked.u.peer_fetch.count, OB_FETCH_MAX);
    assert_int_equal(stats->peer_fetch_in, 1);

    /* A Fetched of a Lock on key 1's genesis (a certificate of one ack:
       net does not judge quorums), with and without its payload. */
    ob_chunk_t chunk = s_chunk(f, 1, 0, "zero");
    ob_ack_t ack = s_ack(f, 2, &chunk, 1);
    uint8_t entry[OB_CERT_ENTRY_LEN];
    ob_cert_entry_write(entry, ack.index, ack.signature);
    ob_fetched_t fetched = {.has_payload = true,
                            .lock = {.chunk = chunk, .epoch = 1, .cert = {1, entry}}};
    uint8_t fetched_frame[512];
    assert_int_equal(
        ob_peer_fetched_frame_encode(&fetched, fetched_frame, sizeof fetched_frame, &len), 0);
    ob_frame_t two[2] = {{fetched_frame, len}, {(const uint8_t *)"zero", 4}};
    s_net_peer(f, 3, two, 2);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t got = s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_FETCHED);
    assert_true(got.u.peer_fetched.has_payload);
    assert_false(got.u.peer_fetched.asked);
    assert_int_equal(got.u.peer_fetched.lock.len, len - 3);
    assert_memory_equal(got.u.peer_fetched.payload.digest, chunk.payload, 32);
    assert_int_equal(ob_arena_in_use(f->arena), 1);
    assert_int_equal(ob_arena_release(f->arena, &got.u.peer_fetched.payload, OB_ACTOR_NET), 0);
    fetched_frame[2] = 0;
    s_net_peer(f, 3, two, 1);
    got = s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_FETCHED);
    assert_false(got.u.peer_fetched.has_payload);
    assert_int_equal(stats->peer_fetched_in, 2);
    assert_int_equal(stats->peer_nodes_in, 0);
    assert_int_equal(stats->peer_acks_in, 0);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
    s_assert_only(stats->dropped, OB_OK, 0);

    /* Spoilt: a count of 65, and a Fetched whose flag promises a payload
       frame that is not there. */
    fetch_frame[2 + OB_KEY_LEN + 9] = OB_FETCH_MAX + 1;
    s_net_peer(f, 2, one, 1);
    s_assert_drop_sent(f, OB_ACTOR_NET, OB_ERR_FETCH_COUNT, 2);
    fetched_frame[2] = 1;
    s_net_peer(f, 3, two, 1);
    s_assert_drop_sent(f, OB_ACTOR_NET, OB_ERR_SHORT, 3);
    assert_int_equal(stats->dropped[OB_ERR_FETCH_COUNT], 1);
    assert_int_equal(stats->dropped[OB_ERR_SHORT], 1);
    assert_int_equal(stats->peer_fetch_in, 1);
    assert_int_equal(stats->peer_fetched_in, 2);
}

static void test_net_bad_version(void **state)
{
    h_fixture_t *f = *state;
    s_net_open(f);
    uint8_t ack[2 + OB_ACK_LEN], node[2 + H_NODE_MAX];
    s_ack_frame(f, ack);
    ack[1] = 0;
    ob_frame_t one[1] = {{ack, sizeof ack}};
    s_net_peer(f, 2, one, 1);
    s_assert_net_dropped(f, OB_ERR_BAD_VERSION, 2, 1);

    size_t len = s_node_frame(f, node, sizeof node);
    node[1] = OB_PEER_VERSION + 1;
    ob_frame_t two[2] = {{node, len}, {(const uint8_t *)"zero", 4}};
    s_net_peer(f, 1, two, 2);
    s_assert_net_dropped(f, OB_ERR_BAD_VERSION, 1, 2);
}

static void test_net_short(void **state)
{
    h_fixture_t *f = *state;
    s_net_open(f);
    s_net_peer(f, 1, NULL, 0); /* no frame at all */
    s_assert_net_dropped(f, OB_ERR_SHORT, 1, 1);

    uint8_t header[1] = {OB_PEER_TYPE_ACK}; /* no room for the version */
    ob_frame_t one[1] = {{header, sizeof header}};
    s_net_peer(f, 1, one, 1);
    s_assert_net_dropped(f, OB_ERR_SHORT, 1, 2);

    uint8_t node[2 + H_NODE_MAX]; /* a Node without its payload frame */
    ob_frame_t alone[1] = {{node, s_node_frame(f, node, sizeof node)}};
    s_net_peer(f, 1, alone, 1);
    s_assert_net_dropped(f, OB_ERR_SHORT, 1, 3);
}

static void test_net_trailing(void **state)
{
    h_fixture_t *f = *state;
    s_net_open(f);
    uint8_t ack[2 + OB_ACK_LEN], node[2 + H_NODE_MAX];
    s_ack_frame(f, ack);
    ob_frame_t ack_plus[2] = {{ack, sizeof ack}, {(const uint8_t *)"x", 1}};
    s_net_peer(f, 1, ack_plus, 2);
    s_assert_net_dropped(f, OB_ERR_TRAILING, 1, 1);

    size_t len = s_node_frame(f, node, sizeof node);
    ob_frame_t node_plus[3] = {
        {node, len}, {(const uint8_t *)"zero", 4}, {(const uint8_t *)"x", 1}};
    s_net_peer(f, 1, node_plus, 3);
    s_assert_net_dropped(f, OB_ERR_TRAILING, 1, 2);
}

static void test_net_too_large(void **state)
{
    h_fixture_t *f = *state;
    s_net_open(f);
    uint8_t node[2 + H_NODE_MAX];
    size_t len = s_node_frame(f, node, sizeof node);
    static uint8_t payload[H_SLOT_SIZE + 1];
    ob_frame_t two[2] = {{node, len}, {payload, sizeof payload}}; /* max_payload + 1 */
    s_net_peer(f, 1, two, 2);
    s_assert_net_dropped(f, OB_ERR_TOO_LARGE, 1, 1);

    /* A first frame whose body no message between actors could carry. */
    size_t huge = 2 + (size_t)OB_IMSG_BLOB_MAX + 1;
    uint8_t *frame = calloc(1, huge);
    assert_non_null(frame);
    frame[0] = OB_PEER_TYPE_ACK;
    frame[1] = OB_PEER_VERSION;
    ob_frame_t one[1] = {{frame, huge}};
    s_net_peer(f, 1, one, 1);
    free(frame);
    s_assert_net_dropped(f, OB_ERR_TOO_LARGE, 1, 2);
}

/* --------------------------------------------------------------------- */

/* --- the journal as sequencer (key 0) ------------------------------------ */

/* The journal's own chain, heights 0..top, held as if it had signed them. */
static void s_own_chain(h_fixture_t *f, uint64_t top)
{
    char payload[32], parent[32];
    for (uint64_t h = 0; h <= top; h++) {
        h_node_t node;
        snprintf(payload, sizeof payload, "own %llu", (unsigned long long)h);
        snprintf(parent, sizeof parent, "own %llu", (unsigned long long)(h ? h - 1 : 0));
        s_node(f, &node, 0, h, payload, parent, 1, H_FIRST);
        s_journal_node(f, &node, payload);
    }
}

/* net follows a payload again (its client asked after net restarted) and
   asks for the Lock of the own chunk at its height: the journal sends the
   certificate it holds, nothing for a height without one, and marks
   nothing delivered (the redelivery still reports every Lock). */
static void test_journal_lock_query(void **state)
{
    h_fixture_t *f = *state;
    s_journal_open(f);
    s_own_chain(f, 3); /* the nodes at 1..3 carry the certificates of 0..2 */
    ob_imsg_t query = {.type = OB_IMSG_LOCK_QUERY};
    query.u.lock_query.height = 1;
    s_deliver(f, OB_ACTOR_JOURNAL, &query);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t msg = s_the(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK);
    ob_epoch_lookup_t lookup = ob_epochs_lookup(f->epochs);
    ob_lock_t lock;
    assert_int_equal(
        ob_lock_decode(&lock, msg.u.report_lock.lock.data, msg.u.report_lock.lock.len, &lookup),
        OB_OK);
    assert_int_equal(ob_lock_verify(f->crypto, &f->ns, f->epochs, &lock), OB_OK);
    ob_chunk_t one = s_chunk(f, 0, 1, "own 1");
    assert_memory_equal(&lock.chunk, &one, sizeof one);

    /* Asked again, answered again. */
    s_deliver(f, OB_ACTOR_JOURNAL, &query);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 1);
    /* The tip, not certified yet, and a height never reached: nothing. */
    query.u.lock_query.height = 3;
    s_deliver(f, OB_ACTOR_JOURNAL, &query);
    assert_int_equal(ob_outbox_count(f->out), 0);
    query.u.lock_query.height = 99;
    s_deliver(f, OB_ACTOR_JOURNAL, &query);
    assert_int_equal(ob_outbox_count(f->out), 0);
    const ob_journal_stats_t *stats = ob_journal_stats(f->journal);
    assert_int_equal(stats->lock_queries, 4);
    assert_int_equal(stats->lock_queries_answered, 2);
    s_assert_only(stats->dropped, OB_OK, 0);

    /* Another sequencer's chain is not asked about: key 1's certificate
       at 0 is not ours. */
    h_node_t zero, one_of_1;
    s_node(f, &zero, 1, 0, "zero", NULL, 0, 0);
    s_node(f, &one_of_1, 1, 1, "one", "zero", 1, H_FIRST);
    s_journal_node(f, &zero, "zero");
    s_journal_node(f, &one_of_1, "one");
    query.u.lock_query.height = 0;
    s_deliver(f, OB_ACTOR_JOURNAL, &query);
    msg = s_the(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK);
    assert_int_equal(
        ob_lock_decode(&lock, msg.u.report_lock.lock.data, msg.u.report_lock.lock.len, &lookup),
        OB_OK);
    assert_memory_equal(lock.chunk.sequencer, f->keys[0].pub.bytes, 32);

    /* Nothing was marked delivered: the first redelivery reports all four
       Locks held (own 0..2, and key 1's at 0). */
    assert_int_equal(ob_journal_begin(f->journal), 0);
    ob_outbox_clear(f->out);
    ob_journal_tick(f->journal, H_NOW, f->out);
    assert_int_equal(ob_journal_commit(f->journal), 0);
    assert_int_equal(s_sent(f, OB_ACTOR_NET, OB_IMSG_REPORT_LOCK), 4);
}

#define H_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_TEST(test_verifier_valid_node_and_ack_pass),
        H_TEST(test_verifier_duplicate_node_hits_the_cache),
        H_TEST(test_verifier_peer_mismatch_node),
        H_TEST(test_verifier_drops_of_a_batch_are_one_message),
        H_TEST(test_outbox_drops_beyond_its_kinds),
        cmocka_unit_test(test_outbox_gives_back_a_large_batch),
        H_TEST(test_verifier_peer_mismatch_ack),
        H_TEST(test_verifier_unknown_sequencer),
        H_TEST(test_verifier_unknown_sequencer_is_per_epoch),
        H_TEST(test_verifier_unknown_validator),
        H_TEST(test_verifier_unknown_epoch_ack),
        H_TEST(test_verifier_unknown_epoch_parent),
        H_TEST(test_verifier_unknown_epoch_before_the_journal_says),
        H_TEST(test_verifier_bad_signature_node),
        H_TEST(test_verifier_bad_signature_ack),
        H_TEST(test_verifier_bad_signature_parent_cert),
        H_TEST(test_verifier_below_quorum),
        H_TEST(test_verifier_payload_mismatch),
        H_TEST(test_journal_payload_changed_in_the_slot),
        H_TEST(test_journal_certificate_synced_under_power),
        H_TEST(test_journal_certificate_lazy_under_process),
        H_TEST(test_journal_known_parent_certificate),
        H_TEST(test_verifier_decode_short),
        H_TEST(test_verifier_decode_trailing),
        H_TEST(test_verifier_decode_bad_flag),
        H_TEST(test_verifier_decode_parent_missing),
        H_TEST(test_verifier_decode_parent_on_genesis),
        H_TEST(test_verifier_decode_cert_order),
        H_TEST(test_verifier_decode_cert_index),
        H_TEST(test_verifier_decode_cert_too_many),
        H_TEST(test_verifier_ack_after_certificate_is_not_verified),
        H_TEST(test_verifier_late_ack_on_own_chunk_goes_to_the_signer_unverified),
        H_TEST(test_verifier_holds_acks_until_a_quorum_is_pending),
        H_TEST(test_verifier_held_acks_are_verified_after_the_hold_time),
        H_TEST(test_verifier_own_ack_spares_a_check_in_certificates),
        H_TEST(test_verifier_hold_table_is_bounded),
        H_TEST(test_signer_certifies_a_quorum_once),
        H_TEST(test_signer_late_ack_emits_again),
        H_TEST(test_signer_ack_epoch_bounds),
        H_TEST(test_signer_ack_height_bounds),
        H_TEST(test_signer_defers_acks_until_in_reach),
        H_TEST(test_signer_height_too_low),
        H_TEST(test_signer_chunk_mismatch_ack),
        H_TEST(test_signer_unknown_sequencer_ack),
        H_TEST(test_signer_reissues_the_signed_node),
        H_TEST(test_signer_sends_its_node_with_the_payload_slot),
        H_TEST(test_signer_refusal_frees_the_payload_slot),
        H_TEST(test_signer_chunk_mismatch_sign_node),
        H_TEST(test_signer_chunk_mismatch_sign_ack),
        H_TEST(test_signer_record_survives_restart),
        H_TEST(test_signer_uncommitted_sign_leaves_no_record),
        H_TEST(test_signer_peer_mismatch_sign_node),
        H_TEST(test_signer_checks_the_parent_certificate),
        H_TEST(test_signer_takes_its_own_certificate_without_crypto),
        H_TEST(test_signer_signs_only_the_next_height),
        H_TEST(test_signer_acks_only_within_its_epoch_bounds),
        H_TEST(test_signer_holds_sign_acks_until_the_epoch),
        H_TEST(test_signer_holds_a_bounded_number_of_sign_acks),
        H_TEST(test_journal_builtin_verifies_batches),
        H_TEST(test_journal_builtin_proposes_without_net),
        H_TEST(test_journal_builtin_proposal_takes_the_whole_batch),
        H_TEST(test_journal_start_says_submits_forgotten),
        H_TEST(test_journal_height_too_low),
        H_TEST(test_journal_chunk_mismatch_records_evidence),
        H_TEST(test_journal_not_tip),
        H_TEST(test_journal_parent_certificate_locked_once),
        H_TEST(test_journal_duplicate_tip_verified_again),
        H_TEST(test_journal_lock_query),
        H_TEST(test_journal_retention_keeps_a_pending_proposal),
        H_TEST(test_journal_conflict_certificate_first),
        H_TEST(test_journal_conflict_node_first),
        H_TEST(test_journal_duplicates_send_the_stored_ack),
        H_TEST(test_journal_rejected_tip_asked_again),
        H_TEST(test_net_frames_pass),
        H_TEST(test_net_routes_a_chunk_to_one_verifier),
        H_TEST(test_net_unknown_type),
        H_TEST(test_net_fetch_passed_on),
        H_TEST(test_net_bad_version),
        H_TEST(test_net_short),
        H_TEST(test_net_trailing),
        H_TEST(test_net_too_large),
    };
    return cmocka_run_group_tests_name("handlers", tests, NULL, NULL);
}

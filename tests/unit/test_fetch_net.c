/*  Fetching, net's and the verifier's sides (SPEC §3 "Fetching"): a Fetch
    from a peer goes to the journal within the peer's budget; answers go
    out within the budgets and the arena quota; what net asked for is
    `asked`, what it did not pays the sender's budget; a blocked peer is
    heard no more until its block ends. The verifier checks a fetched
    Lock against its own epoch and asks net to block a peer whose
    certificate fails, and only then. Real keys and signatures, a fake
    clock. */
#include "testutil.h"

#include "arena.h"
#include "log.h"
#include "net.h"
#include "outbox.h"
#include "verifier.h"

#include <stdlib.h>
#include <string.h>

/* Small budgets, so that the tests reach them: per second. */
#define F_BUDGET       4
#define F_BUDGET_BYTES 1000
#define F_BLOCK_MS     5000
#define F_SLOTS        16 /* a quota of 4 */
#define F_SLOT_SIZE    256
#define F_NOW          100000

typedef struct {
    tu_four_t w;
    ob_params_t params;
    ob_arena_t *arena;
    ob_outbox_t *out;
    ob_net_t *net;
    ob_verifier_t *verifier;
    uint64_t now;
    /* what net's block hook heard */
    int blocks_heard;
    uint8_t blocked_peer[32];
    ob_error_t blocked_reason;
    uint64_t blocked_until;
} f_t;

static uint64_t s_clock(void *ctx)
{
    return ((f_t *)ctx)->now;
}

static void s_heard_block(void *ctx, const uint8_t peer[32], ob_error_t reason, uint64_t until_ms)
{
    f_t *f = ctx;
    f->blocks_heard++;
    memcpy(f->blocked_peer, peer, 32);
    f->blocked_reason = reason;
    f->blocked_until = until_ms;
}

static int s_setup(void **state)
{
    f_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    ob_log_set_level(OB_LOG_ERROR);
    tu_four_init(&f->w, "fetch-net");
    f->params = OB_PARAMS_DEFAULT;
    f->params.max_payload = F_SLOT_SIZE;
    f->params.fetch_budget = F_BUDGET;
    f->params.fetch_budget_bytes = F_BUDGET_BYTES;
    f->params.block_ms = F_BLOCK_MS;
    ob_why_t why = {{0}};
    f->arena = ob_arena_new_heap(F_SLOTS, F_SLOT_SIZE, &why);
    assert_non_null(f->arena);
    f->out = ob_outbox_new(256, 1u << 20);
    assert_non_null(f->out);
    f->now = F_NOW;

    ob_node_env_t env = {
        .ns = &f->w.ns, .epochs = f->w.epochs, .params = f->params, .arena = f->arena};
    memcpy(env.self_key, f->w.keys[0].pub.bytes, 32);
    ob_net_config_t config = {.env = env};
    f->net = ob_net_new(&config, &why);
    assert_non_null(f->net);
    ob_net_set_clock(f->net, s_clock, f);
    ob_net_set_on_block(f->net, s_heard_block, f);
    f->verifier = ob_verifier_new(&env, 1024, &why);
    assert_non_null(f->verifier);
    return 0;
}

static int s_teardown(void **state)
{
    f_t *f = *state;
    ob_net_destroy(&f->net);
    ob_verifier_destroy(&f->verifier);
    ob_outbox_destroy(&f->out);
    ob_arena_destroy(&f->arena);
    tu_four_fini(&f->w);
    free(f);
    return 0;
}

static const uint8_t *s_key(f_t *f, int k)
{
    return f->w.keys[k].pub.bytes;
}

/* --- delivering, and reading the outbox --------------------------------- */

/* Through the codec, as between processes; the outbox is emptied first. */
static void s_deliver(f_t *f, ob_actor_t to, const ob_imsg_t *msg)
{
    uint8_t *buf = NULL;
    ob_imsg_t decoded = tu_through_codec(msg, &buf);
    ob_outbox_clear(f->out);
    if (to == OB_ACTOR_NET)
        ob_net_handle(f->net, tu_sender(OB_PARTY_NET, &decoded), &decoded, f->out);
    else
        ob_verifier_handle(f->verifier, f->now, tu_sender(OB_PARTY_VERIFIER, &decoded), &decoded,
                           f->out);
    free(buf);
}

static void s_peer_sends(f_t *f, int peer, const ob_frame_t *frames, size_t count)
{
    ob_outbox_clear(f->out);
    ob_net_on_peer(f->net, s_key(f, peer), frames, count, f->out);
}

static size_t s_sent(f_t *f, ob_actor_t to, ob_imsg_type_t type)
{
    return tu_sent(f->out, to, type);
}

static ob_imsg_t s_the(f_t *f, ob_actor_t to, ob_imsg_type_t type, const ob_envelope_t **env)
{
    return tu_the(f->out, to, type, env);
}

/* The outbox holds only the drop of `why` by `actor`, naming `peer`. */
static void s_assert_dropped(f_t *f, ob_actor_t actor, ob_error_t why, int peer)
{
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t msg = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_DROPPED, NULL);
    assert_string_equal(ob_error_name((ob_error_t)msg.u.dropped.error), ob_error_name(why));
    assert_int_equal(msg.u.dropped.actor, actor);
    assert_memory_equal(msg.u.dropped.peer, s_key(f, peer), 32);
}

/* The outbox's peer frames to `peer`. */
static size_t s_to_peer(f_t *f, int peer)
{
    size_t n = 0;
    for (size_t i = 0; i < ob_outbox_count(f->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(f->out, i);
        n += e->kind == OB_DEST_PEER && memcmp(e->peer, s_key(f, peer), 32) == 0;
    }
    return n;
}

static const ob_envelope_t *s_the_peer_frame(f_t *f, int peer)
{
    assert_int_equal(ob_outbox_count(f->out), 1);
    assert_int_equal(s_to_peer(f, peer), 1);
    return ob_outbox_at(f->out, 0);
}

/* --- building Locks and Fetched with real signatures ------------------ */

static uint16_t s_index(f_t *f, int k, uint64_t epoch)
{
    return tu_four_index(&f->w, k, epoch);
}

static ob_chunk_t s_chunk(f_t *f, int sequencer, uint64_t height, const char *payload)
{
    return tu_four_chunk(&f->w, sequencer, height, payload);
}

typedef struct {
    uint8_t entries[4 * OB_CERT_ENTRY_LEN];
    uint8_t bytes[512];
    size_t len;
    ob_lock_t lock;
} f_lock_t;

/* A Lock on `chunk` in `epoch`, certified by the keys of `signers`, laid
   out by hand in index order (so that below a quorum can be made too). */
static void s_lock(f_t *f, f_lock_t *out, const ob_chunk_t *chunk, uint64_t epoch, unsigned signers)
{
    uint16_t count = 0;
    for (uint16_t index = 0; index < 4; index++)
        for (int k = 0; k < 4; k++) {
            if (!(signers >> k & 1) || s_index(f, k, epoch) != index)
                continue;
            uint8_t signature[64];
            assert_int_equal(
                ob_ack_sign(f->w.crypto, &f->w.ns, &f->w.keys[k], chunk, epoch, NULL, signature),
                0);
            ob_cert_entry_write(out->entries + OB_CERT_ENTRY_LEN * count++, index, signature);
        }
    out->lock = (ob_lock_t){.chunk = *chunk, .epoch = epoch, .cert = {count, out->entries}};
    assert_int_equal(ob_lock_encode(&out->lock, out->bytes, sizeof out->bytes, &out->len), 0);
}

typedef struct {
    uint8_t frame[520];
    size_t len;
    ob_frame_t frames[2];
    size_t count;
} f_fetched_t;

/* A Fetched of `lock` as a peer sends it, with `payload` as its second
   frame unless NULL. */
static void s_fetched(f_fetched_t *out, const f_lock_t *lock, const char *payload)
{
    ob_fetched_t fetched = {.has_payload = payload != NULL, .lock = lock->lock};
    assert_int_equal(
        ob_peer_fetched_frame_encode(&fetched, out->frame, sizeof out->frame, &out->len), 0);
    out->frames[0] = (ob_frame_t){out->frame, out->len};
    out->frames[1] = (ob_frame_t){(const uint8_t *)payload, payload ? strlen(payload) : 0};
    out->count = payload ? 2 : 1;
}

static ob_handle_t s_put(f_t *f, uint16_t owner, const void *bytes, size_t len)
{
    ob_handle_t handle;
    assert_int_equal(ob_arena_put(f->arena, f->w.crypto, owner, bytes, (uint32_t)len, &handle), 0);
    return handle;
}

/* The journal's answer to `peer`: a Lock of key 1 at `height` with
   `payload_len` payload bytes in a slot (none if 0). */
static ob_handle_t s_send_fetched(f_t *f, int peer, uint64_t height, size_t payload_len)
{
    uint8_t payload[F_SLOT_SIZE];
    memset(payload, (int)height, sizeof payload);
    ob_chunk_t chunk = s_chunk(f, 1, height, "answer");
    f_lock_t lock;
    s_lock(f, &lock, &chunk, 1, 0x0f);
    ob_imsg_t msg = {.type = OB_IMSG_SEND_FETCHED};
    memcpy(msg.u.send_fetched.peer, s_key(f, peer), 32);
    msg.u.send_fetched.lock = (ob_blob_t){lock.bytes, (uint32_t)lock.len};
    msg.u.send_fetched.has_payload = payload_len > 0;
    if (payload_len)
        msg.u.send_fetched.payload = s_put(f, OB_ACTOR_JOURNAL, payload, payload_len);
    s_deliver(f, OB_ACTOR_NET, &msg);
    return msg.u.send_fetched.payload;
}

static void s_fetch_frame(f_t *f, uint8_t frame[2 + OB_FETCH_LEN], int sequencer)
{
    ob_fetch_t fetch = {.height = 2, .count = 8};
    memcpy(fetch.sequencer, s_key(f, sequencer), 32);
    size_t len = 0;
    assert_int_equal(ob_peer_fetch_frame_encode(&fetch, frame, 2 + OB_FETCH_LEN, &len), 0);
}

static void s_assert_passed_to_journal(f_t *f, int peer)
{
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t msg = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_PEER_FETCH, NULL);
    assert_memory_equal(msg.u.peer_fetch.peer, s_key(f, peer), 32);
}

/* ======================================================================= */
/* net                                                                      */
/* ======================================================================= */

static void test_fetch_reaches_the_journal(void **state)
{
    f_t *f = *state;
    uint8_t frame[2 + OB_FETCH_LEN];
    s_fetch_frame(f, frame, 3);
    ob_frame_t one[1] = {{frame, sizeof frame}};
    s_peer_sends(f, 2, one, 1);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t msg = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_PEER_FETCH, NULL);
    assert_memory_equal(msg.u.peer_fetch.peer, s_key(f, 2), 32);
    assert_memory_equal(msg.u.peer_fetch.sequencer, s_key(f, 3), 32);
    assert_int_equal(msg.u.peer_fetch.height, 2);
    /* 8 heights asked, but the budget (4 a second) pays 4 answers: 3
       heights and the marker of a higher one. */
    assert_int_equal(msg.u.peer_fetch.count, F_BUDGET - 1);
    assert_int_equal(ob_net_stats(f->net)->fetch_passed, 1);
    assert_int_equal(ob_net_stats(f->net)->fetch_trimmed, 1);
}

/* A flood of Fetches costs the journal no more than the budget pays
   answers for: the first takes the second's budget, the others are
   dropped before any lookup; the answers to the first were paid with it,
   and one more is not. */
static void test_fetch_flood_is_paid_before_the_journal(void **state)
{
    f_t *f = *state;
    uint8_t frame[2 + OB_FETCH_LEN];
    s_fetch_frame(f, frame, 3);
    ob_frame_t one[1] = {{frame, sizeof frame}};
    s_peer_sends(f, 2, one, 1);
    s_assert_passed_to_journal(f, 2);
    for (int i = 0; i < 100; i++) {
        s_peer_sends(f, 2, one, 1);
        s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 2);
    }
    const ob_net_stats_t *stats = ob_net_stats(f->net);
    assert_int_equal(stats->fetch_passed, 1);
    assert_int_equal(stats->dropped[OB_ERR_OVER_BUDGET], 100);
    for (uint64_t h = 0; h < F_BUDGET; h++) {
        s_send_fetched(f, 2, 2 + h, 0);
        s_the_peer_frame(f, 2);
    }
    s_send_fetched(f, 2, 9, 0);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 2);
    assert_int_equal(stats->answers_sent, F_BUDGET);
    /* A second later, one more Fetch. */
    f->now += 1000;
    s_peer_sends(f, 2, one, 1);
    s_assert_passed_to_journal(f, 2);
    s_peer_sends(f, 2, one, 1);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 2);
    assert_int_equal(stats->fetch_passed, 2);
}

/* The (budget+1)th answer in a second is dropped and its slot freed at
   once; the budget is the peer's own, and refills with time. */
static void test_answers_budget(void **state)
{
    f_t *f = *state;
    const ob_net_stats_t *stats = ob_net_stats(f->net);
    for (uint64_t h = 0; h < F_BUDGET; h++) {
        ob_handle_t slot = s_send_fetched(f, 2, h, 10);
        const ob_envelope_t *e = s_the_peer_frame(f, 2);
        assert_true(e->has_payload);
        assert_int_equal(e->payload.slot, slot.slot);
        assert_int_equal(ob_outbox_bytes(f->out, e)[0], OB_PEER_TYPE_FETCHED);
        assert_int_equal(ob_arena_in_use(f->arena), 1); /* net holds it for the send */
        ob_net_flushed(f->net);
        assert_int_equal(ob_arena_in_use(f->arena), 0);
    }
    s_send_fetched(f, 2, 9, 10);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 2);
    assert_int_equal(ob_arena_in_use(f->arena), 0); /* released, not held for a flush */
    assert_int_equal(stats->dropped[OB_ERR_OVER_BUDGET], 1);
    assert_int_equal(stats->answers_sent, F_BUDGET);

    /* Without payload it costs a message all the same. */
    s_send_fetched(f, 2, 9, 0);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 2);

    /* Another peer's budget is whole. */
    s_send_fetched(f, 3, 9, 10);
    s_the_peer_frame(f, 3);
    ob_net_flushed(f->net);

    /* A quarter of a second: one message's worth. */
    f->now += 1000 / F_BUDGET;
    s_send_fetched(f, 2, 10, 0);
    s_the_peer_frame(f, 2);
    s_send_fetched(f, 2, 11, 0);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 2);

    /* A second: the whole budget, and no more. */
    f->now += 1000;
    for (uint64_t h = 0; h < F_BUDGET; h++) {
        s_send_fetched(f, 2, 20 + h, 0);
        s_the_peer_frame(f, 2);
    }
    s_send_fetched(f, 2, 30, 0);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 2);
    assert_int_equal(stats->answers_sent, 2 * F_BUDGET + 2);
    assert_int_equal(stats->dropped[OB_ERR_OVER_BUDGET], 4);
    ob_net_flushed(f->net);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

static void test_answers_bytes_budget(void **state)
{
    f_t *f = *state;
    /* Three of 256 bytes fit in 1000, a fourth does not. */
    for (uint64_t h = 0; h < 3; h++) {
        s_send_fetched(f, 2, h, F_SLOT_SIZE);
        s_the_peer_frame(f, 2);
        ob_net_flushed(f->net);
    }
    s_send_fetched(f, 2, 3, F_SLOT_SIZE);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 2);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
    /* What is left (232 bytes) still pays a smaller one. */
    s_send_fetched(f, 2, 4, 200);
    s_the_peer_frame(f, 2);
    ob_net_flushed(f->net);
    f->now += 1000;
    s_send_fetched(f, 2, 5, F_SLOT_SIZE);
    s_the_peer_frame(f, 2);
    ob_net_flushed(f->net);
    assert_int_equal(ob_net_stats(f->net)->answers_bytes_out, 4 * F_SLOT_SIZE + 200);
}

/* The largest byte budgets a config allows: no bucket wraps. This one's
   thousandths are 384 modulo 2^64, so a wrapped bucket could not pay
   one 256-byte answer. */
static void test_huge_bytes_budget(void **state)
{
    f_t *f = *state;
    ob_net_destroy(&f->net);
    ob_node_env_t env = {.ns = &f->w.ns, .epochs = f->w.epochs, .arena = f->arena};
    env.params = f->params;
    env.params.fetch_budget_bytes = 18446744073709552ull;
    ob_net_config_t config = {.env = env};
    ob_why_t why = {{0}};
    f->net = ob_net_new(&config, &why);
    assert_non_null(f->net);
    ob_net_set_clock(f->net, s_clock, f);
    for (int round = 0; round < 2; round++) {
        for (uint64_t h = 0; h < F_BUDGET; h++) {
            s_send_fetched(f, 2, h, F_SLOT_SIZE);
            s_the_peer_frame(f, 2);
            ob_net_flushed(f->net);
        }
        f->now += 1500;
    }
    assert_int_equal(ob_net_stats(f->net)->answers_sent, 2 * F_BUDGET);
}

/* Answers and fetched payloads together hold at most a quarter of the
   arena's slots; slots freed make room again. */
static void test_arena_quota(void **state)
{
    f_t *f = *state;
    const ob_net_stats_t *stats = ob_net_stats(f->net);
    size_t quota = ob_net_fetch_slot_quota(f->net);
    assert_int_equal(quota, F_SLOTS / 4);
    /* Three answers held for their send, to three peers (three budgets). */
    for (int peer = 1; peer <= 3; peer++) {
        s_send_fetched(f, peer, 1, 10);
        s_the_peer_frame(f, peer);
    }
    /* A fetched payload, passed to the verifier (its slot still live). */
    ob_chunk_t chunk = s_chunk(f, 2, 4, "four");
    f_lock_t lock;
    s_lock(f, &lock, &chunk, 1, 0x0f);
    f_fetched_t fetched;
    s_fetched(&fetched, &lock, "four");
    s_peer_sends(f, 3, fetched.frames, fetched.count);
    ob_imsg_t passed = s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_FETCHED, NULL);
    assert_int_equal(ob_net_fetch_slots(f->net), quota);
    assert_int_equal(ob_arena_in_use(f->arena), quota);

    /* Full: another answer, or another fetched payload, is over_budget. */
    s_send_fetched(f, 1, 2, 10);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 1);
    s_peer_sends(f, 2, fetched.frames, fetched.count);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 2);
    assert_int_equal(ob_arena_in_use(f->arena), quota);
    assert_int_equal(stats->fetch_quota_full, 2);
    /* Fetched without payload need no slot. */
    s_fetched(&fetched, &lock, NULL);
    s_peer_sends(f, 2, fetched.frames, fetched.count);
    s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_FETCHED, NULL);
    /* Nor does live traffic: a node's payload still finds a slot. */
    ob_node_t node = {.chunk = s_chunk(f, 2, 0, "node")};
    uint8_t node_frame[256];
    size_t len = 0;
    assert_int_equal(ob_peer_node_frame_encode(&node, node_frame, sizeof node_frame, &len), 0);
    ob_frame_t two[2] = {{node_frame, len}, {(const uint8_t *)"node", 4}};
    s_peer_sends(f, 2, two, 2);
    ob_imsg_t node_passed = s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_NODE, NULL);
    assert_int_equal(ob_arena_release(f->arena, &node_passed.u.peer_node.payload, OB_ACTOR_NET), 0);

    /* The sends are done and the verifier dropped its payload: room. */
    ob_net_flushed(f->net);
    assert_int_equal(ob_arena_release(f->arena, &passed.u.peer_fetched.payload, OB_ACTOR_NET), 0);
    assert_int_equal(ob_net_fetch_slots(f->net), 0);
    s_send_fetched(f, 1, 3, 10);
    s_the_peer_frame(f, 1);
    ob_net_flushed(f->net);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

/* What net asked P for is asked; the same from another peer, or after
   the ask's time, is not. Unasked ones pay the sender's budget and, once
   it is spent, are dropped before anyone verifies them. */
static void test_asked_and_unasked(void **state)
{
    f_t *f = *state;
    const ob_net_stats_t *stats = ob_net_stats(f->net);
    ob_imsg_t ask = {.type = OB_IMSG_SEND_FETCH};
    memcpy(ask.u.send_fetch.peer, s_key(f, 1), 32);
    memcpy(ask.u.send_fetch.sequencer, s_key(f, 2), 32);
    ask.u.send_fetch.height = 5;
    ask.u.send_fetch.count = 3;
    s_deliver(f, OB_ACTOR_NET, &ask);
    const ob_envelope_t *e = s_the_peer_frame(f, 1);
    ob_frame_t sent[1] = {{ob_outbox_bytes(f->out, e), e->len}};
    ob_peer_msg_t decoded;
    ob_epoch_lookup_t lookup = ob_epochs_lookup(f->w.epochs);
    assert_int_equal(ob_peer_msg_decode(&decoded, sent, 1, &lookup, F_SLOT_SIZE), OB_OK);
    assert_int_equal(decoded.type, OB_PEER_TYPE_FETCH);
    assert_memory_equal(decoded.u.fetch.sequencer, s_key(f, 2), 32);
    assert_int_equal(decoded.u.fetch.height, 5);
    assert_int_equal(decoded.u.fetch.count, 3);
    assert_int_equal(stats->fetch_sent, 1);

    /* (height, has payload, from peer, asked?) */
    const struct {
        uint64_t height;
        bool payload;
        int peer;
        bool asked;
    } cases[] = {
        {5, true, 1, true},   {7, true, 1, true}, {8, true, 1, false}, /* past the range */
        {9, false, 1, true},                                           /* how far it went */
        {4, false, 1, false},                                          /* below the range */
        {6, true, 3, false},                                           /* another peer */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ob_chunk_t chunk = s_chunk(f, 2, cases[i].height, "asked");
        f_lock_t lock;
        s_lock(f, &lock, &chunk, 1, 0x0f);
        f_fetched_t fetched;
        s_fetched(&fetched, &lock, cases[i].payload ? "asked" : NULL);
        s_peer_sends(f, cases[i].peer, fetched.frames, fetched.count);
        const ob_envelope_t *to_verifier = NULL;
        ob_imsg_t msg = s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_FETCHED, &to_verifier);
        assert_int_equal(ob_outbox_count(f->out), 1);
        if (msg.u.peer_fetched.asked != cases[i].asked)
            fail_msg("case %zu: asked is %d", i, msg.u.peer_fetched.asked);
        assert_true(to_verifier->routed);
        assert_int_equal(to_verifier->route, ob_outbox_route(s_key(f, 2), cases[i].height));
        assert_memory_equal(msg.u.peer_fetched.peer, s_key(f, cases[i].peer), 32);
        assert_int_equal(msg.u.peer_fetched.lock.len, lock.len);
        assert_memory_equal(msg.u.peer_fetched.lock.data, lock.bytes, lock.len);
        assert_int_equal(msg.u.peer_fetched.has_payload, cases[i].payload);
        if (cases[i].payload)
            assert_int_equal(ob_arena_release(f->arena, &msg.u.peer_fetched.payload, OB_ACTOR_NET),
                             0);
    }
    assert_int_equal(stats->fetched_asked, 3);
    assert_int_equal(stats->fetched_unasked, 3);

    /* Peer 1 has paid for two unasked ones: two more spend its budget
       (of sequencer 3: above the range without payload, sequencer 2's
       would answer the ask). */
    ob_chunk_t chunk = s_chunk(f, 3, 30, "unasked");
    f_lock_t lock;
    s_lock(f, &lock, &chunk, 1, 0x0f);
    f_fetched_t unasked;
    s_fetched(&unasked, &lock, NULL);
    for (int i = 0; i < F_BUDGET - 2; i++) {
        s_peer_sends(f, 1, unasked.frames, unasked.count);
        assert_int_equal(s_sent(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_FETCHED), 1);
    }
    s_fetched(&unasked, &lock, "unasked");
    s_peer_sends(f, 1, unasked.frames, unasked.count);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 1);
    assert_int_equal(ob_arena_in_use(f->arena), 0); /* no slot for it */
    assert_int_equal(stats->dropped[OB_ERR_OVER_BUDGET], 1);

    /* Asked ones are not charged: they pass with the budget spent. */
    chunk = s_chunk(f, 2, 6, "asked");
    s_lock(f, &lock, &chunk, 1, 0x0f);
    f_fetched_t answer;
    s_fetched(&answer, &lock, NULL);
    s_peer_sends(f, 1, answer.frames, answer.count);
    assert_true(s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_FETCHED, NULL).u.peer_fetched.asked);

    /* That was the ask's count + 1st answer (5, 7, 9 and this one):
       another in its range pays as unasked, and is refused. */
    s_peer_sends(f, 1, answer.frames, answer.count);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 1);
    /* Asked again, it is answered in full again. */
    s_deliver(f, OB_ACTOR_NET, &ask);
    for (int i = 0; i < 4; i++) {
        s_peer_sends(f, 1, answer.frames, answer.count);
        assert_true(s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_FETCHED, NULL).u.peer_fetched.asked);
    }
    s_peer_sends(f, 1, answer.frames, answer.count);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 1);

    /* The ask is forgotten after its time: the same answer is unasked
       now, and pays (a refilled budget). */
    f->now += 3000;
    s_peer_sends(f, 1, answer.frames, answer.count);
    assert_false(s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_FETCHED, NULL).u.peer_fetched.asked);
}

/* A blocked peer: its nodes, acks, Fetch and Fetched are dropped, answers
   to it are not sent, until block_ms has passed. Others are heard. */
static void test_block_peer(void **state)
{
    f_t *f = *state;
    const ob_net_stats_t *stats = ob_net_stats(f->net);

    ob_node_t node = {.chunk = s_chunk(f, 2, 0, "node")};
    uint8_t node_frame[256];
    size_t node_len = 0;
    assert_int_equal(ob_peer_node_frame_encode(&node, node_frame, sizeof node_frame, &node_len), 0);
    ob_ack_t ack = {.chunk = s_chunk(f, 1, 0, "acked"), .epoch = 1, .index = s_index(f, 2, 1)};
    uint8_t ack_frame[2 + OB_ACK_LEN];
    size_t ack_len = 0;
    assert_int_equal(ob_peer_ack_frame_encode(&ack, ack_frame, sizeof ack_frame, &ack_len), 0);
    uint8_t fetch_frame[2 + OB_FETCH_LEN];
    s_fetch_frame(f, fetch_frame, 1);
    ob_chunk_t chunk = s_chunk(f, 1, 3, "three");
    f_lock_t lock;
    s_lock(f, &lock, &chunk, 1, 0x0f);
    f_fetched_t fetched;
    s_fetched(&fetched, &lock, "three");
    struct {
        ob_frame_t frames[2];
        size_t count;
    } sends[] = {
        {{{node_frame, node_len}, {(const uint8_t *)"node", 4}}, 2},
        {{{ack_frame, ack_len}}, 1},
        {{{fetch_frame, sizeof fetch_frame}}, 1},
        {{fetched.frames[0], fetched.frames[1]}, 2},
    };

    ob_imsg_t block = {.type = OB_IMSG_BLOCK_PEER};
    memcpy(block.u.block_peer.peer, s_key(f, 2), 32);
    block.u.block_peer.error = OB_ERR_BAD_SIGNATURE;
    s_deliver(f, OB_ACTOR_NET, &block);
    assert_int_equal(ob_outbox_count(f->out), 0);
    assert_int_equal(f->blocks_heard, 1);
    assert_memory_equal(f->blocked_peer, s_key(f, 2), 32);
    assert_int_equal(f->blocked_reason, OB_ERR_BAD_SIGNATURE);
    assert_int_equal(f->blocked_until, F_NOW + F_BLOCK_MS);
    assert_int_equal(stats->blocks[OB_ERR_BAD_SIGNATURE], 1);
    ob_error_t reason = OB_OK;
    uint64_t until = 0;
    assert_true(ob_net_peer_blocked(f->net, s_key(f, 2), &reason, &until));
    assert_int_equal(reason, OB_ERR_BAD_SIGNATURE);
    assert_int_equal(until, F_NOW + F_BLOCK_MS);
    assert_false(ob_net_peer_blocked(f->net, s_key(f, 3), NULL, NULL));

    f->now += F_BLOCK_MS - 1;
    for (size_t i = 0; i < sizeof sends / sizeof sends[0]; i++) {
        s_peer_sends(f, 2, sends[i].frames, sends[i].count);
        s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_BLOCKED, 2);
    }
    assert_int_equal(stats->dropped[OB_ERR_BLOCKED], 4);
    assert_int_equal(stats->peer_nodes_in + stats->peer_acks_in + stats->peer_fetch_in +
                         stats->peer_fetched_in,
                     0);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
    s_send_fetched(f, 2, 1, 10);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_BLOCKED, 2);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
    /* Peer 3 sends the same and is heard. */
    s_peer_sends(f, 3, sends[2].frames, sends[2].count);
    s_assert_passed_to_journal(f, 3);

    /* A repeat while blocked extends the block, and is no new event. */
    block.u.block_peer.error = OB_ERR_BELOW_QUORUM;
    s_deliver(f, OB_ACTOR_NET, &block);
    assert_int_equal(f->blocks_heard, 1);
    assert_int_equal(stats->blocks[OB_ERR_BELOW_QUORUM], 1);
    f->now += F_BLOCK_MS - 1;
    s_peer_sends(f, 2, sends[2].frames, sends[2].count);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_BLOCKED, 2);

    /* Over: everything it sends is heard again. */
    f->now += 1;
    assert_false(ob_net_peer_blocked(f->net, s_key(f, 2), NULL, NULL));
    s_peer_sends(f, 2, sends[0].frames, sends[0].count);
    ob_imsg_t node_passed = s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_NODE, NULL);
    assert_int_equal(ob_arena_release(f->arena, &node_passed.u.peer_node.payload, OB_ACTOR_NET), 0);
    s_peer_sends(f, 2, sends[1].frames, sends[1].count);
    assert_int_equal(s_sent(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_ACK), 1);
    s_peer_sends(f, 2, sends[2].frames, sends[2].count);
    s_assert_passed_to_journal(f, 2);
    s_peer_sends(f, 2, sends[3].frames, sends[3].count);
    ob_imsg_t fetched_passed = s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_FETCHED, NULL);
    assert_int_equal(
        ob_arena_release(f->arena, &fetched_passed.u.peer_fetched.payload, OB_ACTOR_NET), 0);
    assert_int_equal(stats->dropped[OB_ERR_BLOCKED], 6);

    /* No reason, or this node itself: not a block. */
    block.u.block_peer.error = OB_OK;
    s_deliver(f, OB_ACTOR_NET, &block);
    block.u.block_peer.error = 999;
    s_deliver(f, OB_ACTOR_NET, &block);
    memcpy(block.u.block_peer.peer, s_key(f, 0), 32);
    block.u.block_peer.error = OB_ERR_BAD_SIGNATURE;
    s_deliver(f, OB_ACTOR_NET, &block);
    assert_int_equal(f->blocks_heard, 1);
    assert_false(ob_net_peer_blocked(f->net, s_key(f, 2), NULL, NULL));
    assert_false(ob_net_peer_blocked(f->net, s_key(f, 0), NULL, NULL));
}

/* A Fetch when not one answer could be sent is dropped before the
   journal looks anything up. */
static void test_fetch_over_budget(void **state)
{
    f_t *f = *state;
    for (uint64_t h = 0; h < F_BUDGET; h++) {
        s_send_fetched(f, 2, h, 0);
        s_the_peer_frame(f, 2);
    }
    uint8_t frame[2 + OB_FETCH_LEN];
    s_fetch_frame(f, frame, 1);
    ob_frame_t one[1] = {{frame, sizeof frame}};
    s_peer_sends(f, 2, one, 1);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_OVER_BUDGET, 2);
    assert_int_equal(ob_net_stats(f->net)->fetch_passed, 0);
    f->now += 1000 / F_BUDGET;
    s_peer_sends(f, 2, one, 1);
    s_assert_passed_to_journal(f, 2);
}

/* ======================================================================= */
/* verifier                                                                 */
/* ======================================================================= */

/* net's peer_fetched of `lock` from `peer`, with `payload` in a slot net
   holds (none if NULL). */
static ob_imsg_t s_peer_fetched(f_t *f, int peer, const f_lock_t *lock, const char *payload)
{
    ob_imsg_t msg = {.type = OB_IMSG_PEER_FETCHED};
    memcpy(msg.u.peer_fetched.peer, s_key(f, peer), 32);
    msg.u.peer_fetched.lock = (ob_blob_t){lock->bytes, (uint32_t)lock->len};
    msg.u.peer_fetched.has_payload = payload != NULL;
    if (payload)
        msg.u.peer_fetched.payload = s_put(f, OB_ACTOR_NET, payload, strlen(payload));
    return msg;
}

/* The verifier dropped it for `why`, asked a block of `peer` only if
   `blocks`, and holds no slot. */
static void s_assert_verifier_dropped(f_t *f, ob_error_t why, int peer, bool blocks)
{
    assert_int_equal(ob_verifier_stats(f->verifier)->fetched[why], 1);
    assert_int_equal(s_sent(f, OB_ACTOR_JOURNAL, OB_IMSG_FETCHED_VERIFIED), 0);
    ob_imsg_t drop = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_DROPPED, NULL);
    assert_string_equal(ob_error_name((ob_error_t)drop.u.dropped.error), ob_error_name(why));
    assert_int_equal(drop.u.dropped.actor, OB_ACTOR_VERIFIER);
    if (blocks) {
        assert_int_equal(ob_outbox_count(f->out), 2);
        ob_imsg_t block = s_the(f, OB_ACTOR_NET, OB_IMSG_BLOCK_PEER, NULL);
        assert_memory_equal(block.u.block_peer.peer, s_key(f, peer), 32);
        assert_int_equal(block.u.block_peer.error, why);
    } else {
        assert_int_equal(ob_outbox_count(f->out), 1);
    }
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

static void test_verifier_passes_a_valid_fetched(void **state)
{
    f_t *f = *state;
    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    ob_chunk_t chunk = s_chunk(f, 1, 3, "three");
    f_lock_t lock;
    s_lock(f, &lock, &chunk, 1, 0x0e); /* three of four: a quorum */
    ob_imsg_t msg = s_peer_fetched(f, 2, &lock, "three");
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
    assert_int_equal(ob_outbox_count(f->out), 1);
    ob_imsg_t passed = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_FETCHED_VERIFIED, NULL);
    assert_memory_equal(passed.u.fetched_verified.peer, s_key(f, 2), 32);
    assert_int_equal(passed.u.fetched_verified.lock.len, lock.len);
    assert_memory_equal(passed.u.fetched_verified.lock.data, lock.bytes, lock.len);
    assert_true(passed.u.fetched_verified.has_payload);
    assert_int_equal(passed.u.fetched_verified.payload.slot, msg.u.peer_fetched.payload.slot);
    /* The verifier holds it now: the journal takes it from its owner. */
    assert_int_equal(ob_arena_release(f->arena, &msg.u.peer_fetched.payload, OB_ACTOR_NET), -1);
    assert_int_equal(ob_arena_take(f->arena, &passed.u.fetched_verified.payload, OB_ACTOR_JOURNAL),
                     0);
    assert_int_equal(
        ob_arena_release(f->arena, &passed.u.fetched_verified.payload, OB_ACTOR_JOURNAL), 0);
    assert_int_equal(stats->fetched[OB_OK], 1);
    assert_int_equal(stats->signature_checks, 3);

    /* Again, and without payload: the cache answers, no signature is
       checked twice. */
    msg = s_peer_fetched(f, 3, &lock, NULL);
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
    passed = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_FETCHED_VERIFIED, NULL);
    assert_false(passed.u.fetched_verified.has_payload);
    assert_int_equal(stats->signature_checks, 3);
    assert_int_equal(stats->cache_hits, 3);
    assert_int_equal(stats->fetched[OB_OK], 2);
    assert_int_equal(stats->blocks_asked, 0);
    assert_int_equal(ob_arena_in_use(f->arena), 0);
}

/* A Lock of key 1 at height 3 over "three" in epoch 1, certified by
   `signers` (its last signature spoilt if `forge`), from `peer`. */
static void s_fetched_to_verifier(f_t *f, int peer, unsigned signers, bool forge,
                                  const char *payload)
{
    ob_chunk_t chunk = s_chunk(f, 1, 3, "three");
    f_lock_t lock;
    s_lock(f, &lock, &chunk, 1, signers);
    if (forge)
        lock.bytes[lock.len - 1] ^= 1;
    ob_imsg_t msg = s_peer_fetched(f, peer, &lock, payload);
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
}

static void test_verifier_forged_signature_blocks(void **state)
{
    f_t *f = *state;
    s_fetched_to_verifier(f, 2, 0x0f, true, "three");
    s_assert_verifier_dropped(f, OB_ERR_BAD_SIGNATURE, 2, true);
    assert_int_equal(ob_verifier_stats(f->verifier)->blocks_asked, 1);
}

static void test_verifier_below_quorum_blocks(void **state)
{
    f_t *f = *state;
    s_fetched_to_verifier(f, 3, 0x03, false, "three"); /* two of four */
    s_assert_verifier_dropped(f, OB_ERR_BELOW_QUORUM, 3, true);
    assert_int_equal(ob_verifier_stats(f->verifier)->signature_checks, 0);
}

static void test_verifier_payload_mismatch_does_not_block(void **state)
{
    f_t *f = *state;
    s_fetched_to_verifier(f, 2, 0x0f, false, "not three");
    s_assert_verifier_dropped(f, OB_ERR_PAYLOAD_MISMATCH, 2, false);
    assert_int_equal(ob_verifier_stats(f->verifier)->blocks_asked, 0);
}

/* Key 0 sequences in epoch 1, not in epoch 2: the Lock's own epoch
   decides, whatever the current one. */
static void test_verifier_unknown_sequencer(void **state)
{
    f_t *f = *state;
    ob_chunk_t chunk = s_chunk(f, 0, 3, "three");
    f_lock_t lock;
    s_lock(f, &lock, &chunk, 2, 0x0f);
    ob_imsg_t msg = s_peer_fetched(f, 2, &lock, "three");
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
    s_assert_verifier_dropped(f, OB_ERR_UNKNOWN_SEQUENCER, 2, false);

    s_lock(f, &lock, &chunk, 1, 0x0f);
    msg = s_peer_fetched(f, 2, &lock, "three");
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
    ob_imsg_t passed = s_the(f, OB_ACTOR_JOURNAL, OB_IMSG_FETCHED_VERIFIED, NULL);
    assert_int_equal(
        ob_arena_release(f->arena, &passed.u.fetched_verified.payload, ob_verifier_arena_owner(0)),
        0);
}

/* Decoding errors, an unknown epoch and a stale slot: dropped by name,
   never a block, the slot released. */
static void test_verifier_undecodable_does_not_block(void **state)
{
    f_t *f = *state;
    const ob_verifier_stats_t *stats = ob_verifier_stats(f->verifier);
    ob_chunk_t chunk = s_chunk(f, 1, 3, "three");
    f_lock_t lock;
    s_lock(f, &lock, &chunk, 1, 0x0f);

    f_lock_t cut = lock;
    cut.len -= 1;
    ob_imsg_t msg = s_peer_fetched(f, 2, &cut, "three");
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
    s_assert_verifier_dropped(f, OB_ERR_SHORT, 2, false);

    f_lock_t later = lock;
    later.bytes[OB_CHUNK_LEN + 7] = 9; /* epoch 9: not in the manifest */
    msg = s_peer_fetched(f, 2, &later, "three");
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
    s_assert_verifier_dropped(f, OB_ERR_UNKNOWN_EPOCH, 2, false);

    msg = s_peer_fetched(f, 2, &lock, "three");
    assert_int_equal(ob_arena_release(f->arena, &msg.u.peer_fetched.payload, OB_ACTOR_NET), 0);
    s_deliver(f, OB_ACTOR_VERIFIER, &msg);
    s_assert_verifier_dropped(f, OB_ERR_PAYLOAD_MISMATCH, 2, false);
    assert_int_equal(stats->blocks_asked, 0);
    assert_int_equal(stats->signature_checks, 0);
}

/* End to end through net: the verifier's block_peer, delivered to net,
   blocks the sender of the forged certificate. */
static void test_forged_fetched_blocks_its_sender(void **state)
{
    f_t *f = *state;
    ob_chunk_t chunk = s_chunk(f, 1, 3, "three");
    f_lock_t lock;
    s_lock(f, &lock, &chunk, 1, 0x0f);
    lock.lock.cert.count = 2; /* cut to below a quorum, on the wire */
    assert_int_equal(ob_lock_encode(&lock.lock, lock.bytes, sizeof lock.bytes, &lock.len), 0);
    f_fetched_t fetched;
    s_fetched(&fetched, &lock, "three");
    s_peer_sends(f, 3, fetched.frames, fetched.count);
    /* Its blobs view the outbox: s_deliver encodes it before clearing. */
    ob_imsg_t to_verifier = s_the(f, OB_ACTOR_VERIFIER, OB_IMSG_PEER_FETCHED, NULL);
    s_deliver(f, OB_ACTOR_VERIFIER, &to_verifier);
    s_assert_verifier_dropped(f, OB_ERR_BELOW_QUORUM, 3, true);
    ob_imsg_t block = s_the(f, OB_ACTOR_NET, OB_IMSG_BLOCK_PEER, NULL);
    s_deliver(f, OB_ACTOR_NET, &block);
    assert_true(ob_net_peer_blocked(f->net, s_key(f, 3), NULL, NULL));
    s_peer_sends(f, 3, fetched.frames, fetched.count);
    s_assert_dropped(f, OB_ACTOR_NET, OB_ERR_BLOCKED, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define F_TEST(t) cmocka_unit_test_setup_teardown(t, s_setup, s_teardown)
        F_TEST(test_fetch_reaches_the_journal),
        F_TEST(test_fetch_flood_is_paid_before_the_journal),
        F_TEST(test_answers_budget),
        F_TEST(test_answers_bytes_budget),
        F_TEST(test_huge_bytes_budget),
        F_TEST(test_arena_quota),
        F_TEST(test_asked_and_unasked),
        F_TEST(test_block_peer),
        F_TEST(test_fetch_over_budget),
        F_TEST(test_verifier_passes_a_valid_fetched),
        F_TEST(test_verifier_forged_signature_blocks),
        F_TEST(test_verifier_below_quorum_blocks),
        F_TEST(test_verifier_payload_mismatch_does_not_block),
        F_TEST(test_verifier_unknown_sequencer),
        F_TEST(test_verifier_undecodable_does_not_block),
        F_TEST(test_forged_fetched_blocks_its_sender),
#undef F_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

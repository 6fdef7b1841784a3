/*  The codec of SPEC §2: every vector byte for byte, every invalid vector
    with its error name, strictness beyond the vectors, and round trips over
    random values. */
#include "testutil.h"

#include "hex.h"

#include <stdlib.h>
#include <string.h>

static tu_world_t *s_world;

static int s_setup(void **state)
{
    (void)state;
    s_world = tu_world_new(0);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    tu_world_destroy(&s_world);
    return 0;
}

static void s_assert_hex_equal(const uint8_t *bytes, size_t len, const char *hex)
{
    char *text = malloc(2 * len + 1);
    assert_non_null(text);
    ob_hex_encode(bytes, len, text);
    assert_string_equal(text, hex);
    free(text);
}

static void test_error_names_unique_and_reversible(void **state)
{
    (void)state;
    for (int a = 0; a < OB_ERROR_COUNT; a++) {
        const char *name = ob_error_name((ob_error_t)a);
        assert_string_not_equal(name, "invalid");
        assert_int_equal(ob_error_from_name(name), a);
        for (int b = a + 1; b < OB_ERROR_COUNT; b++)
            assert_string_not_equal(name, ob_error_name((ob_error_t)b));
    }
    assert_string_equal(ob_error_name((ob_error_t)OB_ERROR_COUNT), "invalid");
    assert_int_equal(ob_error_from_name("no_such_error"), -1);
    /* Every name the spec lists exists. */
    static const char *spec_names[] = {"short",
                                       "trailing",
                                       "bad_flag",
                                       "parent_on_genesis",
                                       "parent_missing",
                                       "cert_too_many",
                                       "cert_order",
                                       "cert_index",
                                       "unknown_epoch",
                                       "too_large",
                                       "unknown_type",
                                       "bad_version",
                                       "below_quorum",
                                       "bad_signature",
                                       "payload_mismatch",
                                       "peer_mismatch",
                                       "unknown_sequencer",
                                       "unknown_validator",
                                       "height_too_low",
                                       "chunk_mismatch",
                                       "ack_epoch_bounds",
                                       "ack_height_bounds",
                                       "not_tip",
                                       "fetch_count",
                                       "over_budget",
                                       "blocked"};
    for (size_t i = 0; i < sizeof spec_names / sizeof *spec_names; i++)
        assert_true(ob_error_from_name(spec_names[i]) > 0);
}

static void test_chunk_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < tv_chunk_count; i++) {
        uint8_t bytes[OB_CHUNK_LEN];
        assert_int_equal(tu_hex(tv_chunks[i].encoding, bytes, sizeof bytes), OB_CHUNK_LEN);
        ob_chunk_t chunk;
        assert_int_equal(ob_chunk_decode(&chunk, bytes, sizeof bytes), OB_OK);
        assert_memory_equal(chunk.sequencer, s_world->keys[tv_chunks[i].sequencer_index].pub.bytes,
                            32);
        assert_int_equal(chunk.height, tv_chunks[i].height);
        uint8_t digest[32];
        tu_hex(tv_payloads[i].digest, digest, sizeof digest);
        assert_memory_equal(chunk.payload, digest, 32);

        uint8_t out[OB_CHUNK_LEN];
        size_t written = 0;
        assert_int_equal(ob_chunk_encode(&chunk, out, sizeof out, &written), 0);
        s_assert_hex_equal(out, written, tv_chunks[i].encoding);
    }
}

static void test_ack_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < tv_ack_count; i++) {
        uint8_t bytes[OB_ACK_LEN];
        assert_int_equal(tu_hex(tv_acks[i].encoding, bytes, sizeof bytes), OB_ACK_LEN);
        ob_ack_t ack;
        assert_int_equal(ob_ack_decode(&ack, bytes, sizeof bytes), OB_OK);
        assert_int_equal(ack.epoch, tv_acks[i].epoch);
        assert_int_equal(ack.index, tv_acks[i].signer);
        assert_int_equal(ack.chunk.height, tv_acks[i].chunk_height);
        uint8_t out[OB_ACK_LEN];
        size_t written = 0;
        assert_int_equal(ob_ack_encode(&ack, out, sizeof out, &written), 0);
        s_assert_hex_equal(out, written, tv_acks[i].encoding);
    }
}

static void test_certificate_vector(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = tu_hex_alloc(tv_certificate.encoding, &len);
    ob_cert_t cert;
    assert_int_equal(ob_cert_decode(&cert, bytes, len, 4), OB_OK);
    assert_int_equal(cert.count, 3);
    assert_int_equal(ob_cert_signer(&cert, 0), 0);
    assert_int_equal(ob_cert_signer(&cert, 1), 1);
    assert_int_equal(ob_cert_signer(&cert, 2), 3);
    assert_int_equal(ob_cert_encoded_len(&cert), len);
    uint8_t out[512];
    size_t written = 0;
    assert_int_equal(ob_cert_encode(&cert, out, sizeof out, &written), 0);
    s_assert_hex_equal(out, written, tv_certificate.encoding);
    free(bytes);
}

static void test_node_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < tv_node_count; i++) {
        size_t len;
        uint8_t *bytes = tu_hex_alloc(tv_nodes[i].encoding, &len);
        ob_node_t node;
        assert_int_equal(ob_node_decode(&node, bytes, len, &s_world->lookup), OB_OK);
        assert_int_equal(node.chunk.height, tv_nodes[i].height);
        assert_int_equal(node.has_parent, tv_nodes[i].height > 0);
        uint8_t sig[64];
        tu_hex(tv_chunks[i].signature, sig, sizeof sig);
        assert_memory_equal(node.signature, sig, 64);
        if (node.has_parent) {
            assert_int_equal(node.parent.epoch, tv_certificate.epoch);
            uint8_t cert_bytes[512], out[512];
            size_t cert_len = tu_hex(tv_certificate.encoding, cert_bytes, sizeof cert_bytes);
            size_t written = 0;
            assert_int_equal(ob_cert_encode(&node.parent.cert, out, sizeof out, &written), 0);
            assert_int_equal(written, cert_len);
            assert_memory_equal(out, cert_bytes, cert_len);
        }
        assert_int_equal(ob_node_encoded_len(&node), len);
        uint8_t *out = malloc(len);
        size_t written = 0;
        assert_int_equal(ob_node_encode(&node, out, len, &written), 0);
        s_assert_hex_equal(out, written, tv_nodes[i].encoding);
        free(out);
        free(bytes);
    }
}

static void test_lock_vector(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = tu_hex_alloc(tv_lock.encoding, &len);
    ob_lock_t lock;
    assert_int_equal(ob_lock_decode(&lock, bytes, len, &s_world->lookup), OB_OK);
    assert_int_equal(lock.epoch, tv_lock.epoch);
    assert_int_equal(lock.chunk.height, tv_lock.chunk_height);
    assert_int_equal(lock.cert.count, 3);
    uint8_t out[512];
    size_t written = 0;
    assert_int_equal(ob_lock_encode(&lock, out, sizeof out, &written), 0);
    s_assert_hex_equal(out, written, tv_lock.encoding);
    free(bytes);
}

static void test_proposal_layout(void **state)
{
    (void)state;
    /* No vector: a Proposal is Chunk ‖ signature, so the chunk vectors
       and their signatures fix it. */
    for (size_t i = 0; i < tv_chunk_count; i++) {
        uint8_t expect[OB_PROPOSAL_LEN];
        tu_hex(tv_chunks[i].encoding, expect, OB_CHUNK_LEN);
        tu_hex(tv_chunks[i].signature, expect + OB_CHUNK_LEN, 64);
        ob_proposal_t proposal;
        assert_int_equal(ob_proposal_decode(&proposal, expect, sizeof expect), OB_OK);
        uint8_t out[OB_PROPOSAL_LEN];
        size_t written = 0;
        assert_int_equal(ob_proposal_encode(&proposal, out, sizeof out, &written), 0);
        assert_int_equal(written, OB_PROPOSAL_LEN);
        assert_memory_equal(out, expect, sizeof expect);
        assert_int_equal(ob_proposal_decode(&proposal, expect, sizeof expect - 1), OB_ERR_SHORT);
        uint8_t longer[OB_PROPOSAL_LEN + 1] = {0};
        memcpy(longer, expect, sizeof expect);
        assert_int_equal(ob_proposal_decode(&proposal, longer, sizeof longer), OB_ERR_TRAILING);
    }
}

/* The frames of a vector message, each in its own buffer for the caller
   to free. */
static void s_frames_from_hex(const char *const *hex, size_t count, uint8_t **buffers,
                              ob_frame_t *frames)
{
    for (size_t f = 0; f < count; f++) {
        size_t len;
        buffers[f] = tu_hex_alloc(hex[f], &len);
        frames[f] = (ob_frame_t){buffers[f], len};
    }
}

/* A vector message's frames, decoded; it must decode. */
static void s_decode_vector(const char *what, const char *const *hex, size_t count,
                            uint8_t **buffers, ob_frame_t *frames, ob_peer_msg_t *msg)
{
    s_frames_from_hex(hex, count, buffers, frames);
    ob_error_t rc = ob_peer_msg_decode(msg, frames, count, &s_world->lookup, 1 << 20);
    if (rc != OB_OK)
        fail_msg("vector \"%s\": %s", what, ob_error_name(rc));
}

static void test_peer_message_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < tv_peer_message_count; i++) {
        const tv_peer_message_t *m = &tv_peer_messages[i];
        uint8_t *buffers[2] = {NULL, NULL};
        ob_frame_t frames[2];
        ob_peer_msg_t msg;
        s_decode_vector(m->what, m->frames, m->frame_count, buffers, frames, &msg);
        uint8_t out[1024];
        size_t written = 0;
        if (msg.type == OB_PEER_TYPE_NODE) {
            assert_int_equal(m->frame_count, 2);
            assert_int_equal(ob_peer_node_frame_encode(&msg.u.node.node, out, sizeof out, &written),
                             0);
            assert_int_equal(msg.u.node.payload.len, frames[1].len);
            assert_int_equal(ob_payload_verify(s_world->crypto, &msg.u.node.node.chunk,
                                               msg.u.node.payload.data, msg.u.node.payload.len),
                             OB_OK);
        } else {
            assert_int_equal(msg.type, OB_PEER_TYPE_ACK);
            assert_int_equal(ob_peer_ack_frame_encode(&msg.u.ack, out, sizeof out, &written), 0);
        }
        s_assert_hex_equal(out, written, m->frames[0]);

        /* The same message with the payload frame over the limit. */
        if (msg.type == OB_PEER_TYPE_NODE)
            assert_int_equal(
                ob_peer_msg_decode(&msg, frames, 2, &s_world->lookup, frames[1].len - 1),
                OB_ERR_TOO_LARGE);
        free(buffers[0]);
        free(buffers[1]);
    }
}

static ob_error_t s_decode_as(const char *type, const uint8_t *bytes, size_t len,
                              const ob_epoch_lookup_t *lookup)
{
    if (strcmp(type, "node") == 0 || strcmp(type, "node_with_payload") == 0) {
        ob_node_t node;
        return ob_node_decode(&node, bytes, len, lookup);
    }
    if (strcmp(type, "certificate") == 0) {
        ob_cert_t cert;
        return ob_cert_decode(&cert, bytes, len, 4);
    }
    if (strcmp(type, "ack") == 0) {
        ob_ack_t ack;
        return ob_ack_decode(&ack, bytes, len);
    }
    if (strcmp(type, "lock") == 0) {
        ob_lock_t lock;
        return ob_lock_decode(&lock, bytes, len, lookup);
    }
    if (strcmp(type, "fetch") == 0) {
        ob_fetch_t fetch;
        return ob_fetch_decode(&fetch, bytes, len);
    }
    if (strcmp(type, "fetched") == 0) {
        ob_fetched_t fetched;
        return ob_fetched_decode(&fetched, bytes, len, lookup);
    }
    if (strcmp(type, "peer_message") == 0) {
        ob_peer_msg_t msg;
        ob_frame_t frame = {bytes, len};
        return ob_peer_msg_decode(&msg, &frame, 1, lookup, 1 << 20);
    }
    fail_msg("vector type %s has no decoder", type);
    return OB_OK;
}

/* Each case of an `invalid` table fails with its error name. */
static void s_check_invalid(const char *file, const tv_bad_t *cases, size_t count)
{
    assert_true(count > 0);
    for (size_t i = 0; i < count; i++) {
        const tv_bad_t *bad = &cases[i];
        size_t len;
        uint8_t *bytes = tu_hex_alloc(bad->encoding, &len);
        ob_error_t rc = s_decode_as(bad->type, bytes, len, &s_world->lookup);
        if (strcmp(ob_error_name(rc), bad->error) != 0)
            fail_msg("%s invalid %s \"%s\": got %s, want %s", file, bad->type, bad->why,
                     ob_error_name(rc), bad->error);
        free(bytes);
    }
}

static void test_invalid_vectors(void **state)
{
    (void)state;
    s_check_invalid("obcast-vectors", tv_invalid, tv_invalid_count);
}

static void test_unverifiable_vectors_decode(void **state)
{
    (void)state;
    /* They decode cleanly; test_cert checks that they fail verification.
       Epoch 8 of one case needs a lookup that knows it. */
    tu_world_t *world8 = tu_world_new(1);
    for (size_t i = 0; i < tv_unverifiable_count; i++) {
        size_t len;
        uint8_t *bytes = tu_hex_alloc(tv_unverifiable[i].encoding, &len);
        assert_int_equal(s_decode_as(tv_unverifiable[i].type, bytes, len, &world8->lookup), OB_OK);
        free(bytes);
    }
    tu_world_destroy(&world8);
}

/* Every proper prefix of a valid encoding is `short` (or, for a node cut
   inside its parent, still short); every one-byte extension is `trailing`. */
static void s_check_prefixes_and_extensions(const char *type, const char *hex)
{
    size_t len;
    uint8_t *bytes = tu_hex_alloc(hex, &len);
    for (size_t cut = 0; cut < len; cut++) {
        /* A fresh allocation of exactly `cut` bytes lets ASan catch any
           read past the input. */
        uint8_t *prefix = malloc(cut ? cut : 1);
        memcpy(prefix, bytes, cut);
        ob_error_t rc = s_decode_as(type, prefix, cut, &s_world->lookup);
        if (rc != OB_ERR_SHORT)
            fail_msg("%s cut to %zu of %zu bytes: got %s, want short", type, cut, len,
                     ob_error_name(rc));
        free(prefix);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, bytes, len);
    longer[len] = 0;
    assert_int_equal(s_decode_as(type, longer, len + 1, &s_world->lookup), OB_ERR_TRAILING);
    free(longer);
    free(bytes);
}

static void test_truncations_and_extensions(void **state)
{
    (void)state;
    for (size_t i = 0; i < tv_node_count; i++)
        s_check_prefixes_and_extensions("node", tv_nodes[i].encoding);
    for (size_t i = 0; i < tv_ack_count; i++)
        s_check_prefixes_and_extensions("ack", tv_acks[i].encoding);
    s_check_prefixes_and_extensions("lock", tv_lock.encoding);
    s_check_prefixes_and_extensions("certificate", tv_certificate.encoding);
}

static void test_certificate_bounds(void **state)
{
    (void)state;
    /* A count far above n is rejected before the entries are looked at:
       two bytes of input are enough, nothing else is read. */
    uint8_t huge[2] = {0xff, 0xff};
    ob_cert_t cert;
    assert_int_equal(ob_cert_decode(&cert, huge, sizeof huge, 4), OB_ERR_CERT_TOO_MANY);
    assert_int_equal(ob_cert_decode(&cert, huge, 1, 4), OB_ERR_SHORT);
    /* count = n is fine; an empty certificate decodes (verification then
       rejects it below quorum). */
    uint8_t empty[2] = {0, 0};
    assert_int_equal(ob_cert_decode(&cert, empty, sizeof empty, 4), OB_OK);
    assert_int_equal(cert.count, 0);
    /* An index equal to n is out of range; n-1 is the last good one. */
    uint8_t one[2 + OB_CERT_ENTRY_LEN] = {0, 1, 0, 4};
    assert_int_equal(ob_cert_decode(&cert, one, sizeof one, 4), OB_ERR_CERT_INDEX);
    one[3] = 3;
    assert_int_equal(ob_cert_decode(&cert, one, sizeof one, 4), OB_OK);
    /* A validator count of zero admits nothing. */
    assert_int_equal(ob_cert_decode(&cert, one, sizeof one, 0), OB_ERR_CERT_TOO_MANY);
    /* The largest index a u16 holds is fine when n is the largest count. */
    one[2] = 0xff;
    one[3] = 0xfe;
    assert_int_equal(ob_cert_decode(&cert, one, sizeof one, OB_MAX_VALIDATORS), OB_OK);
}

static void test_unknown_epoch_in_lock(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = tu_hex_alloc(tv_lock.encoding, &len);
    bytes[OB_CHUNK_LEN + 7] = 9; /* epoch 7 -> 9 */
    ob_lock_t lock;
    assert_int_equal(ob_lock_decode(&lock, bytes, len, &s_world->lookup), OB_ERR_UNKNOWN_EPOCH);
    free(bytes);
}

static void test_peer_message_framing(void **state)
{
    (void)state;
    const tv_peer_message_t *node_msg = &tv_peer_messages[0];
    const tv_peer_message_t *ack_msg = &tv_peer_messages[1];
    uint8_t *nb[2] = {NULL, NULL}, *ab[2] = {NULL, NULL};
    ob_frame_t nf[3], af[2];
    s_frames_from_hex(node_msg->frames, node_msg->frame_count, nb, nf);
    s_frames_from_hex(ack_msg->frames, ack_msg->frame_count, ab, af);
    ob_peer_msg_t msg;
    const ob_epoch_lookup_t *lookup = &s_world->lookup;

    assert_int_equal(ob_peer_msg_decode(&msg, nf, 0, lookup, 1 << 20), OB_ERR_SHORT);
    /* A node without its payload frame, and with one frame too many. */
    assert_int_equal(ob_peer_msg_decode(&msg, nf, 1, lookup, 1 << 20), OB_ERR_SHORT);
    nf[2] = nf[1];
    assert_int_equal(ob_peer_msg_decode(&msg, nf, 3, lookup, 1 << 20), OB_ERR_TRAILING);
    /* An ack with a second frame. */
    af[1] = nf[1];
    assert_int_equal(ob_peer_msg_decode(&msg, af, 2, lookup, 1 << 20), OB_ERR_TRAILING);
    /* Headers too short to hold type and version. */
    ob_frame_t tiny = {ab[0], 1};
    assert_int_equal(ob_peer_msg_decode(&msg, &tiny, 1, lookup, 1 << 20), OB_ERR_SHORT);
    /* A header with no body. */
    ob_frame_t header_only = {ab[0], 2};
    assert_int_equal(ob_peer_msg_decode(&msg, &header_only, 1, lookup, 1 << 20), OB_ERR_SHORT);
    /* An empty payload is a payload (max_payload 0 allows only that). */
    ob_frame_t empty_payload[2] = {nf[0], {nb[1], 0}};
    assert_int_equal(ob_peer_msg_decode(&msg, empty_payload, 2, lookup, 0), OB_OK);
    /* Type 0 and 255 are unknown whatever follows. */
    uint8_t odd[2] = {0, 1};
    ob_frame_t odd_frame = {odd, 2};
    assert_int_equal(ob_peer_msg_decode(&msg, &odd_frame, 1, lookup, 1 << 20), OB_ERR_UNKNOWN_TYPE);
    odd[0] = 255;
    assert_int_equal(ob_peer_msg_decode(&msg, &odd_frame, 1, lookup, 1 << 20), OB_ERR_UNKNOWN_TYPE);
    /* Version 0 is as wrong as version 2. */
    ab[0][1] = 0;
    assert_int_equal(ob_peer_msg_decode(&msg, af, 1, lookup, 1 << 20), OB_ERR_BAD_VERSION);
    free(nb[0]);
    free(nb[1]);
    free(ab[0]);
}

static void test_encoders_respect_capacity(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = tu_hex_alloc(tv_nodes[1].encoding, &len);
    ob_node_t node;
    assert_int_equal(ob_node_decode(&node, bytes, len, &s_world->lookup), OB_OK);
    uint8_t *out = malloc(len + 16);
    for (size_t cap = 0; cap < len; cap++) {
        memset(out, 0xa5, len + 16);
        size_t written = 12345;
        assert_int_equal(ob_node_encode(&node, out, cap, &written), -1);
        assert_int_equal(written, 12345);
        for (size_t i = cap; i < len + 16; i++)
            assert_int_equal(out[i], 0xa5);
    }
    /* A node whose flag disagrees with its height cannot be encoded. */
    size_t written;
    node.has_parent = false;
    assert_int_equal(ob_node_encode(&node, out, len + 16, &written), -1);
    node.has_parent = true;
    node.chunk.height = 0;
    assert_int_equal(ob_node_encode(&node, out, len + 16, &written), -1);

    ob_ack_t ack = {0};
    uint8_t small[OB_ACK_LEN];
    assert_int_equal(ob_ack_encode(&ack, small, OB_ACK_LEN - 1, &written), -1);
    assert_int_equal(ob_peer_ack_frame_encode(&ack, small, OB_ACK_LEN, &written), -1);
    ob_chunk_t chunk = {0};
    assert_int_equal(ob_chunk_encode(&chunk, small, OB_CHUNK_LEN - 1, &written), -1);
    ob_proposal_t proposal = {0};
    assert_int_equal(ob_proposal_encode(&proposal, small, OB_PROPOSAL_LEN - 1, &written), -1);
    free(out);
    free(bytes);
}

/* --- random round trips -------------------------------------------------- */

static void s_random_chunk(tu_rng_t *rng, ob_chunk_t *chunk)
{
    tu_rng_fill(rng, chunk->sequencer, sizeof chunk->sequencer);
    tu_rng_fill(rng, chunk->payload, sizeof chunk->payload);
    /* Mix small heights, huge ones and the extremes. */
    switch (tu_rng_below(rng, 4)) {
    case 0:
        chunk->height = 0;
        break;
    case 1:
        chunk->height = UINT64_MAX;
        break;
    case 2:
        chunk->height = tu_rng_below(rng, 1000);
        break;
    default:
        chunk->height = tu_rng_next(rng);
    }
}

/* A random valid certificate for an epoch of n validators, in `entries`. */
static void s_random_cert(tu_rng_t *rng, uint16_t n, uint8_t *entries, ob_cert_t *cert)
{
    uint16_t count = 0;
    for (uint16_t index = 0; index < n; index++) {
        if (tu_rng_below(rng, 2)) {
            uint8_t sig[64];
            tu_rng_fill(rng, sig, sizeof sig);
            ob_cert_entry_write(entries + (size_t)count * OB_CERT_ENTRY_LEN, index, sig);
            count++;
        }
    }
    cert->count = count;
    cert->entries = entries;
}

#define S_ROUNDS 2000

/* Random Fetch and Fetched on `chunk`'s sequencer and height, through
   their encoders and decoders (test_random_round_trips' rounds). */
static void s_fetch_round_trip(tu_rng_t *rng, const ob_chunk_t *chunk, uint16_t n, uint8_t *entries,
                               uint8_t *buf, size_t cap)
{
    ob_epoch_lookup_t lookup = tu_lookup_fixed(&n);
    size_t written;
    ob_fetch_t fetch = {.height = chunk->height,
                        .count = (uint16_t)(1 + tu_rng_below(rng, OB_FETCH_MAX))},
               fetch2;
    memcpy(fetch.sequencer, chunk->sequencer, OB_KEY_LEN);
    assert_int_equal(ob_fetch_encode(&fetch, buf, cap, &written), 0);
    assert_int_equal(written, OB_FETCH_LEN);
    assert_int_equal(ob_fetch_decode(&fetch2, buf, written), OB_OK);
    assert_memory_equal(&fetch, &fetch2, sizeof fetch);

    ob_fetched_t fetched = {.has_payload = tu_rng_below(rng, 2)}, fetched2;
    fetched.lock.chunk = *chunk;
    fetched.lock.epoch = tu_rng_next(rng);
    s_random_cert(rng, n, entries, &fetched.lock.cert);
    assert_int_equal(ob_peer_fetched_frame_encode(&fetched, buf, cap, &written), 0);
    assert_int_equal(written, 2 + ob_fetched_encoded_len(&fetched));
    assert_int_equal(ob_fetched_decode(&fetched2, buf + 2, written - 2, &lookup), OB_OK);
    assert_int_equal(fetched.has_payload, fetched2.has_payload);
    assert_memory_equal(&fetched.lock.chunk, &fetched2.lock.chunk, sizeof *chunk);
    assert_int_equal(fetched.lock.epoch, fetched2.lock.epoch);
    assert_int_equal(fetched.lock.cert.count, fetched2.lock.cert.count);
    assert_memory_equal(fetched.lock.cert.entries, fetched2.lock.cert.entries,
                        (size_t)fetched.lock.cert.count * OB_CERT_ENTRY_LEN);
    ob_frame_t frames[2] = {{buf, written}, {entries, tu_rng_below(rng, 100)}};
    ob_peer_msg_t msg;
    assert_int_equal(
        ob_peer_msg_decode(&msg, frames, fetched.has_payload ? 2 : 1, &lookup, 1 << 20), OB_OK);
    assert_int_equal(msg.type, OB_PEER_TYPE_FETCHED);
}

static void test_random_round_trips(void **state)
{
    (void)state;
    tu_rng_t rng = {20261126};
    static uint8_t entries[OB_CERT_ENTRY_LEN * 200];
    static uint8_t buf[OB_CERT_ENTRY_LEN * 200 + 512];
    for (int round = 0; round < S_ROUNDS; round++) {
        uint16_t n = (uint16_t)(1 + tu_rng_below(&rng, 200));
        ob_epoch_lookup_t lookup = tu_lookup_fixed(&n);
        size_t written;

        ob_chunk_t chunk, chunk2;
        s_random_chunk(&rng, &chunk);
        assert_int_equal(ob_chunk_encode(&chunk, buf, sizeof buf, &written), 0);
        assert_int_equal(ob_chunk_decode(&chunk2, buf, written), OB_OK);
        assert_memory_equal(&chunk, &chunk2, sizeof chunk);

        ob_ack_t ack = {0}, ack2;
        ack.chunk = chunk;
        ack.epoch = tu_rng_next(&rng);
        ack.index = (uint16_t)tu_rng_next(&rng);
        tu_rng_fill(&rng, ack.signature, sizeof ack.signature);
        assert_int_equal(ob_ack_encode(&ack, buf, sizeof buf, &written), 0);
        assert_int_equal(written, OB_ACK_LEN);
        assert_int_equal(ob_ack_decode(&ack2, buf, written), OB_OK);
        assert_memory_equal(&ack, &ack2, sizeof ack);

        ob_node_t node = {0}, node2;
        node.chunk = chunk;
        tu_rng_fill(&rng, node.signature, sizeof node.signature);
        node.has_parent = chunk.height > 0;
        if (node.has_parent) {
            tu_rng_fill(&rng, node.parent.digest, sizeof node.parent.digest);
            node.parent.epoch = tu_rng_next(&rng);
            s_random_cert(&rng, n, entries, &node.parent.cert);
        }
        assert_int_equal(ob_node_encode(&node, buf, sizeof buf, &written), 0);
        assert_int_equal(written, ob_node_encoded_len(&node));
        assert_int_equal(ob_node_decode(&node2, buf, written, &lookup), OB_OK);
        assert_memory_equal(&node.chunk, &node2.chunk, sizeof node.chunk);
        assert_memory_equal(node.signature, node2.signature, 64);
        assert_int_equal(node.has_parent, node2.has_parent);
        if (node.has_parent) {
            assert_memory_equal(node.parent.digest, node2.parent.digest, 32);
            assert_int_equal(node.parent.epoch, node2.parent.epoch);
            assert_int_equal(node.parent.cert.count, node2.parent.cert.count);
            assert_memory_equal(node.parent.cert.entries, node2.parent.cert.entries,
                                (size_t)node.parent.cert.count * OB_CERT_ENTRY_LEN);
        }

        ob_lock_t lock = {0}, lock2;
        lock.chunk = chunk;
        lock.epoch = tu_rng_next(&rng);
        s_random_cert(&rng, n, entries, &lock.cert);
        assert_int_equal(ob_lock_encode(&lock, buf, sizeof buf, &written), 0);
        assert_int_equal(written, ob_lock_encoded_len(&lock));
        assert_int_equal(ob_lock_decode(&lock2, buf, written, &lookup), OB_OK);
        assert_int_equal(lock.epoch, lock2.epoch);
        assert_int_equal(lock.cert.count, lock2.cert.count);
        uint8_t again[OB_CERT_ENTRY_LEN * 200 + 512];
        size_t written2;
        assert_int_equal(ob_lock_encode(&lock2, again, sizeof again, &written2), 0);
        assert_int_equal(written, written2);
        assert_memory_equal(buf, again, written);

        ob_proposal_t proposal = {0}, proposal2;
        proposal.chunk = chunk;
        tu_rng_fill(&rng, proposal.signature, sizeof proposal.signature);
        assert_int_equal(ob_proposal_encode(&proposal, buf, sizeof buf, &written), 0);
        assert_int_equal(ob_proposal_decode(&proposal2, buf, written), OB_OK);
        assert_memory_equal(&proposal, &proposal2, sizeof proposal);

        s_fetch_round_trip(&rng, &chunk, n, entries, buf, sizeof buf);
    }
}

/* Random bytes never crash a decoder, and whatever decodes re-encodes to
   the same bytes: strict decoding means one encoding per value. */
static void test_random_garbage_is_canonical_or_rejected(void **state)
{
    (void)state;
    tu_rng_t rng = {7};
    uint16_t n = 4;
    ob_epoch_lookup_t lookup = tu_lookup_fixed(&n);
    uint8_t in[600], out[700];
    int accepted = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)tu_rng_below(&rng, sizeof in);
        tu_rng_fill(&rng, in, len);
        /* Half the rounds shape the bytes into a plausible node (genesis,
           or a parent with k ordered signers) and then maybe spoil one byte,
           so that the strict checks are reached, not just `short`. */
        if (tu_rng_below(&rng, 2)) {
            uint16_t k = (uint16_t)tu_rng_below(&rng, 5);
            bool genesis = tu_rng_below(&rng, 2);
            len = genesis ? OB_GENESIS_NODE_LEN
                          : OB_GENESIS_NODE_LEN + 32 + 8 + 2 + (size_t)k * OB_CERT_ENTRY_LEN;
            tu_rng_fill(&rng, in, len);
            memset(in + 32, 0, 8);
            in[39] = genesis ? 0 : 1;
            in[OB_GENESIS_NODE_LEN - 1] = genesis ? 0 : 1;
            if (!genesis) {
                uint8_t *cert = in + OB_GENESIS_NODE_LEN + 40;
                cert[0] = 0;
                cert[1] = (uint8_t)k;
                for (uint16_t i = 0; i < k; i++) {
                    cert[2 + i * OB_CERT_ENTRY_LEN] = 0;
                    cert[3 + i * OB_CERT_ENTRY_LEN] = (uint8_t)i;
                }
            }
            if (tu_rng_below(&rng, 2))
                in[tu_rng_below(&rng, len)] ^= (uint8_t)(1 + tu_rng_below(&rng, 255));
        }
        ob_node_t node;
        size_t written;
        if (ob_node_decode(&node, in, len, &lookup) == OB_OK) {
            accepted++;
            assert_int_equal(ob_node_encode(&node, out, sizeof out, &written), 0);
            assert_int_equal(written, len);
            assert_memory_equal(in, out, len);
        }
        ob_lock_t lock;
        if (ob_lock_decode(&lock, in, len, &lookup) == OB_OK) {
            assert_int_equal(ob_lock_encode(&lock, out, sizeof out, &written), 0);
            assert_int_equal(written, len);
            assert_memory_equal(in, out, len);
        }
    }
    assert_true(accepted > 0);
}

/* --- Fetch and Fetched (obcast-fetch-vectors.json) ----------------------- */

/* The vectors' Lock (obcast-vectors.json), decoded; `bytes` must outlive it. */
static ob_lock_t s_vector_lock(uint8_t **bytes, size_t *len)
{
    *bytes = tu_hex_alloc(tv_lock.encoding, len);
    ob_lock_t lock;
    assert_int_equal(ob_lock_decode(&lock, *bytes, *len, &s_world->lookup), OB_OK);
    return lock;
}

static void test_fetch_vectors_share_the_world(void **state)
{
    (void)state;
    /* Same keys, namespace and Lock as obcast-vectors.json, and the same
       limit as the codec. */
    assert_string_equal(tv_fetch_namespace, tv_namespace);
    assert_int_equal(tv_fetch_limit, OB_FETCH_MAX);
    assert_true(tv_fetch_message_count > 0);
}

static void s_check_fetch_message(const tv_fetch_message_t *m, const ob_peer_msg_t *msg,
                                  const ob_frame_t *frames)
{
    assert_int_equal(m->frame_count, 1);
    uint8_t sequencer[OB_KEY_LEN];
    assert_int_equal(tu_hex(m->sequencer, sequencer, sizeof sequencer), OB_KEY_LEN);
    assert_memory_equal(msg->u.fetch.sequencer, sequencer, OB_KEY_LEN);
    assert_int_equal(msg->u.fetch.height, m->height);
    assert_int_equal(msg->u.fetch.count, m->count);

    /* Built from the fields alone, not from the decoded bytes. */
    ob_fetch_t fetch = {.height = m->height, .count = (uint16_t)m->count};
    memcpy(fetch.sequencer, sequencer, OB_KEY_LEN);
    uint8_t out[2 + OB_FETCH_LEN];
    size_t written = 0;
    assert_int_equal(ob_peer_fetch_frame_encode(&fetch, out, sizeof out, &written), 0);
    s_assert_hex_equal(out, written, m->frames[0]);
    assert_int_equal(ob_peer_fetch_frame_encode(&fetch, out, sizeof out - 1, &written), -1);
    assert_int_equal(ob_fetch_decode(&fetch, frames[0].data + 2, frames[0].len - 2), OB_OK);
}

static void s_check_fetched_message(const tv_fetch_message_t *m, ob_peer_msg_t *msg,
                                    const ob_frame_t *frames)
{
    const ob_fetched_t *fetched = &msg->u.fetched.fetched;
    assert_int_equal(fetched->has_payload, m->has_payload == 1);
    assert_int_equal(m->frame_count, fetched->has_payload ? 2 : 1);

    /* The Lock inside is the vectors' Lock, byte for byte. */
    uint8_t lock_bytes[512];
    size_t lock_len = 0;
    assert_int_equal(ob_lock_encode(&fetched->lock, lock_bytes, sizeof lock_bytes, &lock_len), 0);
    s_assert_hex_equal(lock_bytes, lock_len, tv_lock.encoding);
    assert_int_equal(ob_lock_verify(s_world->crypto, &s_world->ns, s_world->epochs, &fetched->lock),
                     OB_OK);

    /* Built from the vectors' Lock and the flag, not from the decoded bytes. */
    uint8_t *vector_bytes;
    size_t vector_len;
    ob_fetched_t built = {.has_payload = m->has_payload == 1,
                          .lock = s_vector_lock(&vector_bytes, &vector_len)};
    uint8_t out[1024];
    size_t written = 0;
    assert_int_equal(ob_fetched_encoded_len(&built), frames[0].len - 2);
    assert_int_equal(ob_peer_fetched_frame_encode(&built, out, sizeof out, &written), 0);
    s_assert_hex_equal(out, written, m->frames[0]);
    assert_int_equal(ob_peer_fetched_frame_encode(&built, out, written - 1, &written), -1);
    free(vector_bytes);

    if (!fetched->has_payload) {
        assert_null(msg->u.fetched.payload.data);
        assert_int_equal(msg->u.fetched.payload.len, 0);
        return;
    }
    assert_ptr_equal(msg->u.fetched.payload.data, frames[1].data);
    assert_int_equal(msg->u.fetched.payload.len, frames[1].len);
    assert_int_equal(ob_payload_verify(s_world->crypto, &fetched->lock.chunk,
                                       msg->u.fetched.payload.data, msg->u.fetched.payload.len),
                     OB_OK);
    /* The payload bound is inclusive. */
    ob_peer_msg_t again;
    assert_int_equal(ob_peer_msg_decode(&again, frames, 2, &s_world->lookup, frames[1].len), OB_OK);
    assert_int_equal(ob_peer_msg_decode(&again, frames, 2, &s_world->lookup, frames[1].len - 1),
                     OB_ERR_TOO_LARGE);
}

static void test_fetch_message_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < tv_fetch_message_count; i++) {
        const tv_fetch_message_t *m = &tv_fetch_messages[i];
        uint8_t *buffers[2] = {NULL, NULL};
        ob_frame_t frames[2];
        ob_peer_msg_t msg;
        s_decode_vector(m->what, m->frames, m->frame_count, buffers, frames, &msg);
        assert_int_equal(msg.type, m->type);
        if (m->type == OB_PEER_TYPE_FETCH)
            s_check_fetch_message(m, &msg, frames);
        else if (m->type == OB_PEER_TYPE_FETCHED)
            s_check_fetched_message(m, &msg, frames);
        else
            fail_msg("fetch vector \"%s\" of type %d", m->what, m->type);
        free(buffers[0]);
        free(buffers[1]);
    }
}

static void test_fetch_invalid_vectors(void **state)
{
    (void)state;
    s_check_invalid("obcast-fetch-vectors", tv_fetch_invalid, tv_fetch_invalid_count);
}

/* What the receiver of a Fetched checks once it decodes (SPEC §3,
   Fetching, "Receiving"): the Lock against its epoch's validator set,
   then the payload frame against the Lock's digest. */
static ob_error_t s_verify_fetched(const tu_world_t *world, const ob_peer_msg_t *msg)
{
    const ob_fetched_t *fetched = &msg->u.fetched.fetched;
    ob_error_t rc = ob_lock_verify(world->crypto, &world->ns, world->epochs, &fetched->lock);
    if (rc != OB_OK || !fetched->has_payload)
        return rc;
    return ob_payload_verify(world->crypto, &fetched->lock.chunk, msg->u.fetched.payload.data,
                             msg->u.fetched.payload.len);
}

static void test_fetch_unverifiable_vectors(void **state)
{
    (void)state;
    assert_true(tv_fetch_unverifiable_count > 0);
    for (size_t i = 0; i < tv_fetch_unverifiable_count; i++) {
        const tv_bad_t *bad = &tv_fetch_unverifiable[i];
        assert_string_equal(bad->type, "fetched");
        size_t len, payload_len = 0;
        uint8_t *bytes = tu_hex_alloc(bad->encoding, &len);
        uint8_t *payload = bad->payload_hex ? tu_hex_alloc(bad->payload_hex, &payload_len) : NULL;
        ob_frame_t frames[2] = {{bytes, len}, {payload, payload_len}};
        ob_peer_msg_t msg;
        ob_error_t rc =
            ob_peer_msg_decode(&msg, frames, payload ? 2 : 1, &s_world->lookup, 1 << 20);
        if (rc != OB_OK)
            fail_msg("fetch unverifiable \"%s\" does not decode: %s", bad->why, ob_error_name(rc));
        assert_int_equal(msg.type, OB_PEER_TYPE_FETCHED);
        assert_int_equal(msg.u.fetched.fetched.has_payload, payload != NULL);
        rc = s_verify_fetched(s_world, &msg);
        if (strcmp(ob_error_name(rc), bad->error) != 0)
            fail_msg("fetch unverifiable \"%s\": got %s, want %s", bad->why, ob_error_name(rc),
                     bad->error);
        /* A payload that fails fails on its own: the Lock around it is good. */
        if (rc == OB_ERR_PAYLOAD_MISMATCH)
            assert_int_equal(ob_lock_verify(s_world->crypto, &s_world->ns, s_world->epochs,
                                            &msg.u.fetched.fetched.lock),
                             OB_OK);
        free(payload);
        free(bytes);
    }
}

/* Beyond the vectors: a Fetched around obcast-vectors.json's Lock that is
   signed for epoch 7 but says epoch 8 decodes (epoch 8 is known, with the
   same validators) and fails as bad_signature. */
static void test_fetched_bad_signature(void **state)
{
    (void)state;
    tu_world_t *world8 = tu_world_new(1);
    const tv_bad_t *lock8 = NULL;
    for (size_t i = 0; i < tv_unverifiable_count; i++)
        if (strcmp(tv_unverifiable[i].type, "lock") == 0 &&
            strcmp(tv_unverifiable[i].error, "bad_signature") == 0)
            lock8 = &tv_unverifiable[i];
    assert_non_null(lock8);
    size_t len;
    uint8_t *lock_bytes = tu_hex_alloc(lock8->encoding, &len);
    uint8_t *frame = malloc(3 + len);
    frame[0] = OB_PEER_TYPE_FETCHED;
    frame[1] = OB_PEER_VERSION;
    frame[2] = 0;
    memcpy(frame + 3, lock_bytes, len);
    ob_frame_t one = {frame, 3 + len};
    ob_peer_msg_t msg;
    assert_int_equal(ob_peer_msg_decode(&msg, &one, 1, &world8->lookup, 1 << 20), OB_OK);
    assert_int_equal(s_verify_fetched(world8, &msg), OB_ERR_BAD_SIGNATURE);
    /* Unknown to a world without epoch 8. */
    assert_int_equal(ob_peer_msg_decode(&msg, &one, 1, &s_world->lookup, 1 << 20),
                     OB_ERR_UNKNOWN_EPOCH);
    free(frame);
    free(lock_bytes);
    tu_world_destroy(&world8);
}

/* A Fetch frame for `count` (any u16, even one the encoder refuses). */
static void s_fetch_frame(uint8_t frame[2 + OB_FETCH_LEN], uint64_t height, uint16_t count)
{
    frame[0] = OB_PEER_TYPE_FETCH;
    frame[1] = OB_PEER_VERSION;
    memcpy(frame + 2, s_world->keys[0].pub.bytes, OB_KEY_LEN);
    for (int i = 0; i < 8; i++)
        frame[2 + OB_KEY_LEN + i] = (uint8_t)(height >> (56 - 8 * i));
    frame[2 + OB_KEY_LEN + 8] = (uint8_t)(count >> 8);
    frame[2 + OB_KEY_LEN + 9] = (uint8_t)count;
}

static void test_fetch_count_bounds(void **state)
{
    (void)state;
    const struct {
        uint16_t count;
        ob_error_t expect;
    } cases[] = {{0, OB_ERR_FETCH_COUNT},
                 {1, OB_OK},
                 {2, OB_OK},
                 {OB_FETCH_MAX - 1, OB_OK},
                 {OB_FETCH_MAX, OB_OK},
                 {OB_FETCH_MAX + 1, OB_ERR_FETCH_COUNT},
                 {256, OB_ERR_FETCH_COUNT},
                 {UINT16_MAX, OB_ERR_FETCH_COUNT}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t frame[2 + OB_FETCH_LEN];
        s_fetch_frame(frame, UINT64_MAX, cases[i].count);
        ob_frame_t one = {frame, sizeof frame};
        ob_peer_msg_t msg;
        assert_int_equal(ob_peer_msg_decode(&msg, &one, 1, &s_world->lookup, 1 << 20),
                         cases[i].expect);
        ob_fetch_t fetch = {.height = UINT64_MAX, .count = cases[i].count};
        memcpy(fetch.sequencer, s_world->keys[0].pub.bytes, OB_KEY_LEN);
        uint8_t out[2 + OB_FETCH_LEN];
        size_t written = 0;
        int encoded = ob_peer_fetch_frame_encode(&fetch, out, sizeof out, &written);
        /* The encoder accepts exactly what the decoder does. */
        assert_int_equal(encoded, cases[i].expect == OB_OK ? 0 : -1);
        if (cases[i].expect != OB_OK)
            continue;
        assert_int_equal(msg.u.fetch.count, cases[i].count);
        assert_int_equal(msg.u.fetch.height, UINT64_MAX);
        assert_int_equal(written, sizeof frame);
        assert_memory_equal(out, frame, sizeof frame);
    }
}

static void test_fetch_strictness(void **state)
{
    (void)state;
    uint8_t frame[2 + OB_FETCH_LEN + 1];
    s_fetch_frame(frame, 0, 2);
    frame[sizeof frame - 1] = 0;
    const ob_epoch_lookup_t *lookup = &s_world->lookup;
    ob_peer_msg_t msg;
    ob_frame_t frames[2] = {{frame, 2 + OB_FETCH_LEN}, {frame, 1}};
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 1, lookup, 1 << 20), OB_OK);
    /* A second frame, even an empty one, is one too many. */
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 2, lookup, 1 << 20), OB_ERR_TRAILING);
    frames[1].len = 0;
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 2, lookup, 1 << 20), OB_ERR_TRAILING);
    /* The count is judged before what follows it: count 0 with a byte
       after it is fetch_count. */
    frames[0].len = sizeof frame;
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 1, lookup, 1 << 20), OB_ERR_TRAILING);
    s_fetch_frame(frame, 0, 0);
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 1, lookup, 1 << 20), OB_ERR_FETCH_COUNT);
    /* Versions other than 1. */
    s_fetch_frame(frame, 0, 2);
    frames[0].len = 2 + OB_FETCH_LEN;
    frame[1] = 2;
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 1, lookup, 1 << 20), OB_ERR_BAD_VERSION);
    frame[1] = 0;
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 1, lookup, 1 << 20), OB_ERR_BAD_VERSION);

    /* Every cut of the body is short, one byte more is trailing. */
    char hex[2 * OB_FETCH_LEN + 1];
    s_fetch_frame(frame, 12345, OB_FETCH_MAX);
    ob_hex_encode(frame + 2, OB_FETCH_LEN, hex);
    s_check_prefixes_and_extensions("fetch", hex);

    /* The encoders never write past `cap`. */
    ob_fetch_t fetch = {.height = 1, .count = 1};
    uint8_t out[2 + OB_FETCH_LEN + 8];
    for (size_t cap = 0; cap < 2 + OB_FETCH_LEN; cap++) {
        memset(out, 0xa5, sizeof out);
        size_t written = 12345;
        assert_int_equal(ob_peer_fetch_frame_encode(&fetch, out, cap, &written), -1);
        assert_int_equal(written, 12345);
        for (size_t i = cap; i < sizeof out; i++)
            assert_int_equal(out[i], 0xa5);
    }
    size_t written;
    assert_int_equal(ob_fetch_encode(&fetch, out, OB_FETCH_LEN - 1, &written), -1);
}

/* The frames of the vectors' Fetched with payload: its first frame (flag
   1) and its payload; the caller frees buffers[0] and buffers[1]. */
static void s_fetched_vector(uint8_t **buffers, ob_frame_t *frames)
{
    for (size_t i = 0; i < tv_fetch_message_count; i++) {
        const tv_fetch_message_t *m = &tv_fetch_messages[i];
        if (m->type == OB_PEER_TYPE_FETCHED && m->has_payload == 1) {
            s_frames_from_hex(m->frames, m->frame_count, buffers, frames);
            return;
        }
    }
    fail_msg("no Fetched vector with a payload");
}

static void test_fetched_strictness(void **state)
{
    (void)state;
    uint8_t *buffers[2] = {NULL, NULL};
    ob_frame_t frames[3];
    s_fetched_vector(buffers, frames);
    frames[2] = frames[1];
    const ob_epoch_lookup_t *lookup = &s_world->lookup;
    ob_peer_msg_t msg;
    uint8_t *flag = &buffers[0][2];

    assert_int_equal(ob_peer_msg_decode(&msg, frames, 2, lookup, 1 << 20), OB_OK);
    /* Flag 1: the payload frame is missing, or there is one frame too many. */
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 1, lookup, 1 << 20), OB_ERR_SHORT);
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 3, lookup, 1 << 20), OB_ERR_TRAILING);
    /* An empty payload is a payload; max_payload 0 allows only that. */
    ob_frame_t empty[2] = {frames[0], {buffers[1], 0}};
    assert_int_equal(ob_peer_msg_decode(&msg, empty, 2, lookup, 0), OB_OK);
    assert_int_equal(msg.u.fetched.payload.len, 0);
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 2, lookup, 0), OB_ERR_TOO_LARGE);
    /* Flag 0: one frame, and any second one is trailing. */
    *flag = 0;
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 1, lookup, 1 << 20), OB_OK);
    assert_false(msg.u.fetched.fetched.has_payload);
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 2, lookup, 1 << 20), OB_ERR_TRAILING);
    assert_int_equal(ob_peer_msg_decode(&msg, empty, 2, lookup, 1 << 20), OB_ERR_TRAILING);
    /* Flags other than 0 and 1, whatever the frames. */
    const uint8_t bad_flags[] = {2, 3, 0x80, 0xff};
    for (size_t i = 0; i < sizeof bad_flags; i++) {
        *flag = bad_flags[i];
        assert_int_equal(ob_peer_msg_decode(&msg, frames, 1, lookup, 1 << 20), OB_ERR_BAD_FLAG);
        assert_int_equal(ob_peer_msg_decode(&msg, frames, 2, lookup, 1 << 20), OB_ERR_BAD_FLAG);
    }
    /* The body is decoded before the frames are counted: a bad Lock is
       named as such even without its payload frame. */
    *flag = 1;
    ob_frame_t cut = {frames[0].data, frames[0].len - 1};
    assert_int_equal(ob_peer_msg_decode(&msg, &cut, 1, lookup, 1 << 20), OB_ERR_SHORT);
    ob_frame_t header_and_flag = {frames[0].data, 3};
    assert_int_equal(ob_peer_msg_decode(&msg, &header_and_flag, 1, lookup, 1 << 20), OB_ERR_SHORT);
    /* A certificate count above the epoch's n is rejected unread. */
    size_t count_at = 2 + 1 + OB_CHUNK_LEN + 8;
    buffers[0][count_at] = 0xff;
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 2, lookup, 1 << 20), OB_ERR_CERT_TOO_MANY);
    buffers[0][count_at] = 0;
    /* Version 2. */
    buffers[0][1] = 2;
    assert_int_equal(ob_peer_msg_decode(&msg, frames, 2, lookup, 1 << 20), OB_ERR_BAD_VERSION);
    buffers[0][1] = OB_PEER_VERSION;

    /* Every cut of the body is short, one byte more is trailing (flag 0
       and 1 alike: the body does not know about frames). */
    char *hex = malloc(2 * (frames[0].len - 2) + 1);
    for (uint8_t f = 0; f <= 1; f++) {
        *flag = f;
        ob_hex_encode(frames[0].data + 2, frames[0].len - 2, hex);
        s_check_prefixes_and_extensions("fetched", hex);
    }
    free(hex);

    /* The encoders never write past `cap`. */
    ob_fetched_t fetched;
    assert_int_equal(ob_fetched_decode(&fetched, frames[0].data + 2, frames[0].len - 2, lookup),
                     OB_OK);
    size_t need = frames[0].len;
    uint8_t *out = malloc(need + 16);
    for (size_t cap = 0; cap < need; cap++) {
        memset(out, 0xa5, need + 16);
        size_t written = 12345;
        assert_int_equal(ob_peer_fetched_frame_encode(&fetched, out, cap, &written), -1);
        assert_int_equal(written, 12345);
        for (size_t i = cap; i < need + 16; i++)
            assert_int_equal(out[i], 0xa5);
    }
    free(out);
    free(buffers[0]);
    free(buffers[1]);
}

/* Random bytes under the Fetch and Fetched headers never crash the
   decoder, and whatever decodes re-encodes to the same bytes. */
static void test_fetch_random_garbage(void **state)
{
    (void)state;
    tu_rng_t rng = {11};
    uint16_t n = 4;
    ob_epoch_lookup_t lookup = tu_lookup_fixed(&n);
    uint8_t in[600], out[700] = {0};
    int fetches = 0, fetcheds = 0;
    for (int round = 0; round < 20000; round++) {
        bool is_fetch = tu_rng_below(&rng, 2);
        size_t len;
        if (is_fetch) {
            /* About the right length, with a count near the bounds. */
            len = 2 + OB_FETCH_LEN - 1 + (size_t)tu_rng_below(&rng, 3);
            tu_rng_fill(&rng, in, len);
            in[2 + OB_KEY_LEN + 8] = 0;
            in[2 + OB_KEY_LEN + 9] = (uint8_t)tu_rng_below(&rng, 70);
        } else {
            /* A flag near 0/1 and a Lock of k ordered signers, maybe spoilt. */
            uint16_t k = (uint16_t)tu_rng_below(&rng, 5);
            len = 2 + 1 + OB_CHUNK_LEN + 8 + 2 + (size_t)k * OB_CERT_ENTRY_LEN;
            tu_rng_fill(&rng, in, len);
            in[2] = (uint8_t)tu_rng_below(&rng, 3);
            memset(in + 3 + OB_CHUNK_LEN, 0, 8);
            uint8_t *cert = in + 3 + OB_CHUNK_LEN + 8;
            cert[0] = 0;
            cert[1] = (uint8_t)k;
            for (uint16_t i = 0; i < k; i++) {
                cert[2 + i * OB_CERT_ENTRY_LEN] = 0;
                cert[3 + i * OB_CERT_ENTRY_LEN] = (uint8_t)i;
            }
            if (tu_rng_below(&rng, 2))
                in[2 + tu_rng_below(&rng, len - 2)] ^= (uint8_t)(1 + tu_rng_below(&rng, 255));
            if (tu_rng_below(&rng, 4) == 0)
                len = (size_t)tu_rng_below(&rng, len);
        }
        in[0] = is_fetch ? OB_PEER_TYPE_FETCH : OB_PEER_TYPE_FETCHED;
        in[1] = OB_PEER_VERSION;
        size_t frame_count = 1 + (size_t)tu_rng_below(&rng, 2);
        ob_frame_t frames[2] = {{in, len}, {out, tu_rng_below(&rng, 10)}};
        ob_peer_msg_t msg;
        if (ob_peer_msg_decode(&msg, frames, frame_count, &lookup, 1 << 20) != OB_OK)
            continue;
        size_t written = 0;
        uint8_t again[700];
        if (msg.type == OB_PEER_TYPE_FETCH) {
            fetches++;
            assert_int_equal(frame_count, 1);
            assert_int_equal(
                ob_peer_fetch_frame_encode(&msg.u.fetch, again, sizeof again, &written), 0);
        } else {
            fetcheds++;
            assert_int_equal(msg.type, OB_PEER_TYPE_FETCHED);
            assert_int_equal(frame_count, msg.u.fetched.fetched.has_payload ? 2 : 1);
            assert_int_equal(
                ob_peer_fetched_frame_encode(&msg.u.fetched.fetched, again, sizeof again, &written),
                0);
        }
        assert_int_equal(written, len);
        assert_memory_equal(again, in, len);
    }
    assert_true(fetches > 0);
    assert_true(fetcheds > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_names_unique_and_reversible),
        cmocka_unit_test(test_chunk_vectors),
        cmocka_unit_test(test_ack_vectors),
        cmocka_unit_test(test_certificate_vector),
        cmocka_unit_test(test_node_vectors),
        cmocka_unit_test(test_lock_vector),
        cmocka_unit_test(test_proposal_layout),
        cmocka_unit_test(test_peer_message_vectors),
        cmocka_unit_test(test_invalid_vectors),
        cmocka_unit_test(test_unverifiable_vectors_decode),
        cmocka_unit_test(test_truncations_and_extensions),
        cmocka_unit_test(test_certificate_bounds),
        cmocka_unit_test(test_unknown_epoch_in_lock),
        cmocka_unit_test(test_peer_message_framing),
        cmocka_unit_test(test_encoders_respect_capacity),
        cmocka_unit_test(test_random_round_trips),
        cmocka_unit_test(test_random_garbage_is_canonical_or_rejected),
        cmocka_unit_test(test_fetch_vectors_share_the_world),
        cmocka_unit_test(test_fetch_message_vectors),
        cmocka_unit_test(test_fetch_invalid_vectors),
        cmocka_unit_test(test_fetch_unverifiable_vectors),
        cmocka_unit_test(test_fetched_bad_signature),
        cmocka_unit_test(test_fetch_count_bounds),
        cmocka_unit_test(test_fetch_strictness),
        cmocka_unit_test(test_fetched_strictness),
        cmocka_unit_test(test_fetch_random_garbage),
    };
    return cmocka_run_group_tests_name("wire", tests, s_setup, s_teardown);
}

/*  Certificates, nodes, acks and locks against keys: the `unverifiable`
    vectors, certificate edge cases, assembly, and mutation tests (flipping
    any byte of a valid node, ack or lock makes decoding or verification
    fail). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tu_world_t *s_world;

static int s_setup(void **state)
{
    (void)state;
    s_world = tu_world_new(1); /* epochs 7 and 8, same sets */
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    tu_world_destroy(&s_world);
    return 0;
}

static const ob_keyset_t *s_validators(void)
{
    return ob_epochs_validators(s_world->epochs, 7);
}

static void s_vector_chunk(size_t i, ob_chunk_t *chunk)
{
    uint8_t bytes[OB_CHUNK_LEN];
    tu_hex(tv_chunks[i].encoding, bytes, sizeof bytes);
    assert_int_equal(ob_chunk_decode(chunk, bytes, sizeof bytes), OB_OK);
}

static void s_vector_acks(ob_ack_t *acks)
{
    for (size_t i = 0; i < tv_ack_count; i++) {
        uint8_t bytes[OB_ACK_LEN];
        tu_hex(tv_acks[i].encoding, bytes, sizeof bytes);
        assert_int_equal(ob_ack_decode(&acks[i], bytes, sizeof bytes), OB_OK);
    }
}

/* Verifies a whole item as the verifier would: decode, then every check. */
static ob_error_t s_check(const char *type, const uint8_t *bytes, size_t len,
                          const uint8_t *payload, size_t payload_len)
{
    ob_crypto_t *c = s_world->crypto;
    const ob_namespace_t *ns = &s_world->ns;
    ob_error_t rc;
    if (strncmp(type, "node", 4) == 0) {
        ob_node_t node;
        if ((rc = ob_node_decode(&node, bytes, len, &s_world->lookup)) != OB_OK)
            return rc;
        if ((rc = ob_node_verify(c, ns, s_world->epochs, NULL, &node)) != OB_OK)
            return rc;
        return payload ? ob_payload_verify(c, &node.chunk, payload, payload_len) : OB_OK;
    }
    if (strcmp(type, "ack") == 0) {
        ob_ack_t ack;
        if ((rc = ob_ack_decode(&ack, bytes, len)) != OB_OK)
            return rc;
        return ob_ack_verify(c, ns, s_world->epochs, &ack);
    }
    if (strcmp(type, "lock") == 0) {
        ob_lock_t lock;
        if ((rc = ob_lock_decode(&lock, bytes, len, &s_world->lookup)) != OB_OK)
            return rc;
        return ob_lock_verify(c, ns, s_world->epochs, &lock);
    }
    fail_msg("no check for type %s", type);
    return OB_OK;
}

static void test_valid_vectors_verify(void **state)
{
    (void)state;
    for (size_t i = 0; i < tv_node_count; i++) {
        size_t len;
        uint8_t *bytes = tu_hex_alloc(tv_nodes[i].encoding, &len);
        const char *data = tv_payloads[i].data_utf8;
        assert_int_equal(s_check("node", bytes, len, (const uint8_t *)data, strlen(data)), OB_OK);
        free(bytes);
    }
    for (size_t i = 0; i < tv_ack_count; i++) {
        size_t len;
        uint8_t *bytes = tu_hex_alloc(tv_acks[i].encoding, &len);
        assert_int_equal(s_check("ack", bytes, len, NULL, 0), OB_OK);
        free(bytes);
    }
    size_t len;
    uint8_t *bytes = tu_hex_alloc(tv_lock.encoding, &len);
    assert_int_equal(s_check("lock", bytes, len, NULL, 0), OB_OK);
    free(bytes);

    /* The certificate on its own, against the chunk it certifies. */
    bytes = tu_hex_alloc(tv_certificate.encoding, &len);
    ob_cert_t cert;
    assert_int_equal(ob_cert_decode(&cert, bytes, len, 4), OB_OK);
    ob_chunk_t chunk;
    s_vector_chunk(0, &chunk);
    assert_int_equal(
        ob_cert_verify(s_world->crypto, &s_world->ns, s_validators(), &chunk, 7, &cert), OB_OK);
    free(bytes);
}

static void test_unverifiable_vectors(void **state)
{
    (void)state;
    assert_true(tv_unverifiable_count > 0);
    for (size_t i = 0; i < tv_unverifiable_count; i++) {
        const tv_bad_t *bad = &tv_unverifiable[i];
        size_t len, payload_len = 0;
        uint8_t *bytes = tu_hex_alloc(bad->encoding, &len);
        uint8_t *payload = bad->payload_hex ? tu_hex_alloc(bad->payload_hex, &payload_len) : NULL;
        ob_error_t rc = s_check(bad->type, bytes, len, payload, payload_len);
        if (strcmp(ob_error_name(rc), bad->error) != 0)
            fail_msg("unverifiable %s \"%s\": got %s, want %s", bad->type, bad->why,
                     ob_error_name(rc), bad->error);
        free(payload);
        free(bytes);
    }
}

static void test_assembly_reproduces_the_vector(void **state)
{
    (void)state;
    ob_ack_t acks[3];
    s_vector_acks(acks);
    /* Whatever order the acks arrive in, the certificate is the same. */
    const int orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}};
    for (size_t o = 0; o < 4; o++) {
        ob_ack_t shuffled[3];
        for (int i = 0; i < 3; i++)
            shuffled[i] = acks[orders[o][i]];
        uint8_t entries[OB_CERT_ENTRIES_LEN(3)];
        ob_cert_t cert;
        assert_int_equal(ob_cert_assemble(shuffled, 3, 4, entries, sizeof entries, &cert), OB_OK);
        uint8_t out[512], expect[512];
        size_t written, expect_len = tu_hex(tv_certificate.encoding, expect, sizeof expect);
        assert_int_equal(ob_cert_encode(&cert, out, sizeof out, &written), 0);
        assert_int_equal(written, expect_len);
        assert_memory_equal(out, expect, expect_len);
    }
}

static void test_assembly_rejects_bad_sets(void **state)
{
    (void)state;
    ob_ack_t acks[4];
    s_vector_acks(acks);
    uint8_t entries[OB_CERT_ENTRIES_LEN(4)];
    ob_cert_t cert;
    /* Below quorum. */
    assert_int_equal(ob_cert_assemble(acks, 2, 4, entries, sizeof entries, &cert),
                     OB_ERR_BELOW_QUORUM);
    assert_int_equal(ob_cert_assemble(acks, 0, 4, entries, sizeof entries, &cert),
                     OB_ERR_BELOW_QUORUM);
    /* A validator twice. */
    ob_ack_t dup[3] = {acks[0], acks[1], acks[1]};
    assert_int_equal(ob_cert_assemble(dup, 3, 4, entries, sizeof entries, &cert),
                     OB_ERR_CERT_ORDER);
    /* An index beyond the epoch. */
    ob_ack_t out_of_range[3] = {acks[0], acks[1], acks[2]};
    out_of_range[2].index = 4;
    assert_int_equal(ob_cert_assemble(out_of_range, 3, 4, entries, sizeof entries, &cert),
                     OB_ERR_CERT_INDEX);
    /* Acks on different chunks or epochs never mix. */
    ob_ack_t mixed[3] = {acks[0], acks[1], acks[2]};
    mixed[1].chunk.payload[0] ^= 1;
    assert_int_equal(ob_cert_assemble(mixed, 3, 4, entries, sizeof entries, &cert),
                     OB_ERR_CHUNK_MISMATCH);
    mixed[1] = acks[1];
    mixed[2].epoch = 8;
    assert_int_equal(ob_cert_assemble(mixed, 3, 4, entries, sizeof entries, &cert),
                     OB_ERR_CHUNK_MISMATCH);
    /* More acks than validators, and a buffer too small. */
    ob_ack_t five[5] = {acks[0], acks[1], acks[2], acks[0], acks[1]};
    assert_int_equal(ob_cert_assemble(five, 5, 4, entries, sizeof entries, &cert),
                     OB_ERR_CERT_TOO_MANY);
    assert_int_equal(ob_cert_assemble(acks, 3, 4, entries, OB_CERT_ENTRIES_LEN(3) - 1, &cert),
                     OB_ERR_TOO_LARGE);
}

/* Builds a certificate over `chunk` from the given signers, signing with
   the vector keys under `ns` for `sign_epoch`. */
static void s_make_cert(const ob_namespace_t *ns, const ob_chunk_t *chunk, uint64_t sign_epoch,
                        const uint16_t *signers, size_t count, uint8_t *entries, ob_cert_t *cert)
{
    for (size_t i = 0; i < count; i++) {
        uint8_t sig[64];
        assert_int_equal(ob_ack_sign(s_world->crypto, ns, &s_world->keys[signers[i]], chunk,
                                     sign_epoch, NULL, sig),
                         0);
        ob_cert_entry_write(entries + i * OB_CERT_ENTRY_LEN, signers[i], sig);
    }
    cert->count = (uint16_t)count;
    cert->entries = entries;
}

static ob_error_t s_verify_cert(const ob_chunk_t *chunk, uint64_t epoch, const ob_cert_t *cert)
{
    return ob_cert_verify(s_world->crypto, &s_world->ns, s_validators(), chunk, epoch, cert);
}

static void test_certificate_edge_cases(void **state)
{
    (void)state;
    ob_chunk_t chunk;
    s_vector_chunk(0, &chunk);
    uint8_t entries[OB_CERT_ENTRIES_LEN(4)];
    ob_cert_t cert;

    /* All four signers, and every quorum of three, verify. */
    const uint16_t all[4] = {0, 1, 2, 3};
    s_make_cert(&s_world->ns, &chunk, 7, all, 4, entries, &cert);
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_OK);
    const uint16_t quorums[4][3] = {{0, 1, 2}, {0, 1, 3}, {0, 2, 3}, {1, 2, 3}};
    for (int i = 0; i < 4; i++) {
        s_make_cert(&s_world->ns, &chunk, 7, quorums[i], 3, entries, &cert);
        assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_OK);
    }

    /* Below quorum: two signers, one, none. */
    s_make_cert(&s_world->ns, &chunk, 7, all, 2, entries, &cert);
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_BELOW_QUORUM);
    cert.count = 0;
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_BELOW_QUORUM);

    /* The same signer twice is no quorum. */
    const uint16_t dup[3] = {0, 1, 1};
    s_make_cert(&s_world->ns, &chunk, 7, dup, 3, entries, &cert);
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_CERT_ORDER);
    /* Descending order. */
    const uint16_t desc[3] = {3, 1, 0};
    s_make_cert(&s_world->ns, &chunk, 7, desc, 3, entries, &cert);
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_CERT_ORDER);

    /* Index out of range: a real signature put at index 4. */
    s_make_cert(&s_world->ns, &chunk, 7, quorums[0], 3, entries, &cert);
    ob_cert_entry_write(entries + 2 * OB_CERT_ENTRY_LEN, 4, ob_cert_signature(&cert, 2));
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_CERT_INDEX);

    /* Signatures from another epoch. */
    s_make_cert(&s_world->ns, &chunk, 6, quorums[0], 3, entries, &cert);
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_BAD_SIGNATURE);

    /* Another namespace. */
    ob_namespace_t other;
    assert_int_equal(ob_namespace_init(&other, s_world->crypto, "obcast-other", 12, NULL), 0);
    s_make_cert(&other, &chunk, 7, quorums[0], 3, entries, &cert);
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_BAD_SIGNATURE);

    /* Another chunk: other payload, other height, other sequencer. */
    ob_chunk_t other_chunk = chunk;
    other_chunk.payload[5] ^= 0x10;
    s_make_cert(&s_world->ns, &other_chunk, 7, quorums[0], 3, entries, &cert);
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_BAD_SIGNATURE);
    other_chunk = chunk;
    other_chunk.height = 1;
    s_make_cert(&s_world->ns, &other_chunk, 7, quorums[0], 3, entries, &cert);
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_BAD_SIGNATURE);
    other_chunk = chunk;
    memcpy(other_chunk.sequencer, s_world->keys[0].pub.bytes, 32);
    s_make_cert(&s_world->ns, &other_chunk, 7, quorums[0], 3, entries, &cert);
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_BAD_SIGNATURE);

    /* One bad signature among good ones spoils the certificate. */
    s_make_cert(&s_world->ns, &chunk, 7, all, 4, entries, &cert);
    entries[3 * OB_CERT_ENTRY_LEN + 2 + 10] ^= 1;
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_BAD_SIGNATURE);

    /* A valid signature under the wrong index. */
    s_make_cert(&s_world->ns, &chunk, 7, quorums[0], 3, entries, &cert);
    ob_cert_entry_write(entries + 2 * OB_CERT_ENTRY_LEN, 3, ob_cert_signature(&cert, 2));
    assert_int_equal(s_verify_cert(&chunk, 7, &cert), OB_ERR_BAD_SIGNATURE);
}

static void test_ack_and_lock_rules(void **state)
{
    (void)state;
    ob_ack_t acks[3];
    s_vector_acks(acks);
    ob_ack_t ack = acks[0];
    ack.epoch = 99;
    assert_int_equal(ob_ack_verify(s_world->crypto, &s_world->ns, s_world->epochs, &ack),
                     OB_ERR_UNKNOWN_EPOCH);
    ack = acks[0];
    ack.index = 4;
    assert_int_equal(ob_ack_verify(s_world->crypto, &s_world->ns, s_world->epochs, &ack),
                     OB_ERR_UNKNOWN_VALIDATOR);
    /* An ack from epoch 7 replayed as epoch 8 (same validators). */
    ack = acks[0];
    ack.epoch = 8;
    assert_int_equal(ob_ack_verify(s_world->crypto, &s_world->ns, s_world->epochs, &ack),
                     OB_ERR_BAD_SIGNATURE);

    size_t len;
    uint8_t *bytes = tu_hex_alloc(tv_lock.encoding, &len);
    ob_lock_t lock;
    assert_int_equal(ob_lock_decode(&lock, bytes, len, &s_world->lookup), OB_OK);
    lock.epoch = 99;
    assert_int_equal(ob_lock_verify(s_world->crypto, &s_world->ns, s_world->epochs, &lock),
                     OB_ERR_UNKNOWN_EPOCH);
    free(bytes);
}

static void test_node_parent_rules(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = tu_hex_alloc(tv_nodes[1].encoding, &len);
    ob_node_t node;
    assert_int_equal(ob_node_decode(&node, bytes, len, &s_world->lookup), OB_OK);
    ob_chunk_t parent = ob_node_parent_chunk(&node);
    assert_int_equal(parent.height, 0);
    ob_chunk_t chunk0;
    s_vector_chunk(0, &chunk0);
    assert_memory_equal(&parent, &chunk0, sizeof parent);

    /* The verifier hands the parsed sequencer key in; the result is the same. */
    uint16_t seq_index;
    assert_true(ob_keyset_index_of(s_validators(), node.chunk.sequencer, &seq_index));
    assert_int_equal(ob_node_verify(s_world->crypto, &s_world->ns, s_world->epochs,
                                    ob_keyset_key(s_validators(), seq_index), &node),
                     OB_OK);
    /* A parent epoch nobody knows. */
    node.parent.epoch = 99;
    assert_int_equal(ob_node_verify(s_world->crypto, &s_world->ns, s_world->epochs, NULL, &node),
                     OB_ERR_UNKNOWN_EPOCH);
    /* A parent certificate verified in a known but wrong epoch. */
    node.parent.epoch = 8;
    assert_int_equal(ob_node_verify(s_world->crypto, &s_world->ns, s_world->epochs, NULL, &node),
                     OB_ERR_BAD_SIGNATURE);
    /* Sequencer bytes that are no key at all. */
    memset(node.chunk.sequencer, 0, 32);
    assert_int_equal(ob_node_verify(s_world->crypto, &s_world->ns, s_world->epochs, NULL, &node),
                     OB_ERR_BAD_SIGNATURE);
    free(bytes);
}

/* Flipping any byte, by each of three masks, makes decoding or
   verification fail. */
static void s_mutate_everywhere(const char *type, const char *hex, const char *payload)
{
    size_t len;
    uint8_t *bytes = tu_hex_alloc(hex, &len);
    const uint8_t masks[] = {0x01, 0x80, 0xff};
    int counts[OB_ERROR_COUNT] = {0};
    for (size_t at = 0; at < len; at++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            bytes[at] ^= masks[m];
            ob_error_t rc =
                s_check(type, bytes, len, (const uint8_t *)payload, payload ? strlen(payload) : 0);
            if (rc == OB_OK)
                fail_msg("%s with byte %zu ^ 0x%02x still verifies", type, at, masks[m]);
            counts[rc]++;
            bytes[at] ^= masks[m];
        }
    }
    assert_int_equal(
        s_check(type, bytes, len, (const uint8_t *)payload, payload ? strlen(payload) : 0), OB_OK);
    print_message("# %s: %zu mutations rejected:", type, len * sizeof masks);
    for (int e = 1; e < OB_ERROR_COUNT; e++)
        if (counts[e])
            print_message(" %s=%d", ob_error_name((ob_error_t)e), counts[e]);
    print_message("\n");
    free(bytes);
}

static void test_mutations_of_nodes(void **state)
{
    (void)state;
    for (size_t i = 0; i < tv_node_count; i++)
        s_mutate_everywhere("node", tv_nodes[i].encoding, tv_payloads[i].data_utf8);
}

static void test_mutations_of_acks(void **state)
{
    (void)state;
    for (size_t i = 0; i < tv_ack_count; i++)
        s_mutate_everywhere("ack", tv_acks[i].encoding, NULL);
}

static void test_mutations_of_lock(void **state)
{
    (void)state;
    s_mutate_everywhere("lock", tv_lock.encoding, NULL);
}

static void test_payload_mutations(void **state)
{
    (void)state;
    ob_chunk_t chunk;
    s_vector_chunk(0, &chunk);
    char data[64];
    snprintf(data, sizeof data, "%s", tv_payloads[0].data_utf8);
    size_t len = strlen(data);
    assert_int_equal(ob_payload_verify(s_world->crypto, &chunk, (uint8_t *)data, len), OB_OK);
    for (size_t at = 0; at < len; at++) {
        data[at] ^= 1;
        assert_int_equal(ob_payload_verify(s_world->crypto, &chunk, (uint8_t *)data, len),
                         OB_ERR_PAYLOAD_MISMATCH);
        data[at] ^= 1;
    }
    assert_int_equal(ob_payload_verify(s_world->crypto, &chunk, (uint8_t *)data, len - 1),
                     OB_ERR_PAYLOAD_MISMATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_vectors_verify),
        cmocka_unit_test(test_unverifiable_vectors),
        cmocka_unit_test(test_assembly_reproduces_the_vector),
        cmocka_unit_test(test_assembly_rejects_bad_sets),
        cmocka_unit_test(test_certificate_edge_cases),
        cmocka_unit_test(test_ack_and_lock_rules),
        cmocka_unit_test(test_node_parent_rules),
        cmocka_unit_test(test_mutations_of_nodes),
        cmocka_unit_test(test_mutations_of_acks),
        cmocka_unit_test(test_mutations_of_lock),
        cmocka_unit_test(test_payload_mutations),
    };
    return cmocka_run_group_tests_name("cert", tests, s_setup, s_teardown);
}

/*  SHA-256, tagged hashes and BIP340 through libsecp256k1: all 19 rows of
    the BIP340 test vectors for verify and for sign, the obcast signing
    digests and signatures of the vectors, and the key edge cases. */
#include "testutil.h"

#include "hex.h"

#include <string.h>

static void test_sha256_known_answers(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    assert_non_null(crypto);
    uint8_t digest[32], expect[32];
    ob_sha256(crypto, "", 0, digest);
    tu_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", expect, 32);
    assert_memory_equal(digest, expect, 32);
    ob_sha256(crypto, "abc", 3, digest);
    tu_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", expect, 32);
    assert_memory_equal(digest, expect, 32);
    /* The vectors' payload digests. */
    for (size_t i = 0; i < tv_payload_count; i++) {
        ob_sha256(crypto, tv_payloads[i].data_utf8, strlen(tv_payloads[i].data_utf8), digest);
        tu_hex(tv_payloads[i].digest, expect, 32);
        assert_memory_equal(digest, expect, 32);
    }
    ob_crypto_destroy(&crypto);
    assert_null(crypto);
    ob_crypto_destroy(&crypto); /* twice is safe */
}

static void test_tagged_hash_matches_bip340_definition(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    /* TaggedHash(tag, m) = SHA256(SHA256(tag) ‖ SHA256(tag) ‖ m), computed
       here the long way. */
    const char *tag = "obcast-vectors_ACK";
    uint8_t tag_hash[32], concat[64 + 5], expect[32], got[32];
    ob_sha256(crypto, tag, strlen(tag), tag_hash);
    memcpy(concat, tag_hash, 32);
    memcpy(concat + 32, tag_hash, 32);
    memcpy(concat + 64, "hello", 5);
    ob_sha256(crypto, concat, sizeof concat, expect);
    uint8_t prefix[32];
    ob_tag_hash(crypto, tag, strlen(tag), prefix);
    assert_int_equal(ob_tagged_hash(crypto, prefix, "hello", 5, got), 0);
    assert_memory_equal(got, expect, 32);
    /* Messages past the bound are refused rather than truncated. */
    static uint8_t big[OB_TAGGED_MAX_MSG + 1];
    assert_int_equal(ob_tagged_hash(crypto, prefix, big, sizeof big, got), -1);
    assert_int_equal(ob_tagged_hash(crypto, prefix, big, OB_TAGGED_MAX_MSG, got), 0);
    ob_crypto_destroy(&crypto);
}

static void test_bip340_verify_all_rows(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    assert_int_equal(tv_bip340_count, 19);
    int invalid_rows = 0;
    for (size_t i = 0; i < tv_bip340_count; i++) {
        const tv_bip340_t *row = &tv_bip340[i];
        uint8_t key[32], sig[64], msg[256];
        tu_hex(row->public_key, key, sizeof key);
        tu_hex(row->signature, sig, sizeof sig);
        size_t msg_len = tu_hex(row->message, msg, sizeof msg);
        ob_pubkey_t pub;
        bool valid = ob_pubkey_parse(crypto, key, &pub) == 0 &&
                     ob_schnorr_verify(crypto, &pub, msg, msg_len, sig);
        if (valid != row->valid)
            fail_msg("BIP340 row %d (%s): verify gave %d, want %d", row->index, row->comment, valid,
                     row->valid);
        invalid_rows += !row->valid;
    }
    assert_true(invalid_rows > 0); /* the set tests rejections too */
    ob_crypto_destroy(&crypto);
}

static void test_bip340_sign_rows(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    int signed_rows = 0;
    for (size_t i = 0; i < tv_bip340_count; i++) {
        const tv_bip340_t *row = &tv_bip340[i];
        if (!row->secret_key)
            continue;
        uint8_t secret[32], aux[32], msg[256], expect_sig[64], expect_pub[32], sig[64];
        tu_hex(row->secret_key, secret, sizeof secret);
        tu_hex(row->aux_rand, aux, sizeof aux);
        tu_hex(row->signature, expect_sig, sizeof expect_sig);
        tu_hex(row->public_key, expect_pub, sizeof expect_pub);
        size_t msg_len = tu_hex(row->message, msg, sizeof msg);
        ob_keypair_t pair;
        assert_int_equal(ob_keypair_from_secret(crypto, secret, &pair), 0);
        assert_memory_equal(pair.pub.bytes, expect_pub, 32);
        assert_int_equal(ob_schnorr_sign(crypto, &pair, msg, msg_len, aux, sig), 0);
        if (memcmp(sig, expect_sig, 64) != 0)
            fail_msg("BIP340 row %d: signature differs", row->index);
        uint8_t back[32];
        ob_keypair_secret(crypto, &pair, back);
        assert_memory_equal(back, secret, 32);
        ob_keypair_wipe(&pair);
        signed_rows++;
    }
    assert_true(signed_rows >= 4);
    ob_crypto_destroy(&crypto);
}

static void test_invalid_secrets_and_keys(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_keypair_t pair;
    uint8_t zero[32] = {0};
    assert_int_equal(ob_keypair_from_secret(crypto, zero, &pair), -1);
    /* The curve order itself, and all ones, are not secrets. */
    uint8_t order[32];
    tu_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", order, 32);
    assert_int_equal(ob_keypair_from_secret(crypto, order, &pair), -1);
    uint8_t ones[32];
    memset(ones, 0xff, sizeof ones);
    assert_int_equal(ob_keypair_from_secret(crypto, ones, &pair), -1);
    /* order - 1 is the largest valid secret. */
    order[31] = 0x40;
    assert_int_equal(ob_keypair_from_secret(crypto, order, &pair), 0);
    /* x = p (field size) is not a coordinate; x = 0 is not on the curve. */
    ob_pubkey_t pub;
    uint8_t p[32];
    tu_hex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f", p, 32);
    assert_int_equal(ob_pubkey_parse(crypto, p, &pub), -1);
    assert_int_equal(ob_pubkey_parse(crypto, zero, &pub), -1);
    ob_crypto_destroy(&crypto);
}

static void test_sign_with_fresh_randomness(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_keypair_t pair;
    uint8_t secret[32];
    assert_int_equal(ob_keypair_generate(crypto, &pair, secret), 0);
    uint8_t msg[32] = {1, 2, 3}, a[64], b[64];
    assert_int_equal(ob_schnorr_sign(crypto, &pair, msg, sizeof msg, NULL, a), 0);
    assert_int_equal(ob_schnorr_sign(crypto, &pair, msg, sizeof msg, NULL, b), 0);
    /* Fresh aux randomness: two valid, different signatures. */
    assert_memory_not_equal(a, b, 64);
    assert_true(ob_schnorr_verify(crypto, &pair.pub, msg, sizeof msg, a));
    assert_true(ob_schnorr_verify(crypto, &pair.pub, msg, sizeof msg, b));
    msg[0] ^= 1;
    assert_false(ob_schnorr_verify(crypto, &pair.pub, msg, sizeof msg, a));
    /* Two generated keys differ. */
    ob_keypair_t other;
    uint8_t other_secret[32];
    assert_int_equal(ob_keypair_generate(crypto, &other, other_secret), 0);
    assert_memory_not_equal(pair.pub.bytes, other.pub.bytes, 32);
    ob_crypto_destroy(&crypto);
}

static void test_obcast_signing_digests_and_signatures(void **state)
{
    (void)state;
    tu_world_t *world = tu_world_new(0);
    for (size_t i = 0; i < tv_chunk_count; i++) {
        const tv_chunk_t *tc = &tv_chunks[i];
        uint8_t bytes[OB_CHUNK_LEN], expect_digest[32], expect_sig[64], digest[32], sig[64];
        tu_hex(tc->encoding, bytes, sizeof bytes);
        tu_hex(tc->signed_digest, expect_digest, 32);
        tu_hex(tc->signature, expect_sig, 64);
        ob_chunk_t chunk;
        assert_int_equal(ob_chunk_decode(&chunk, bytes, sizeof bytes), OB_OK);
        ob_chunk_signing_digest(world->crypto, &world->ns, &chunk, digest);
        assert_memory_equal(digest, expect_digest, 32);
        uint8_t aux[32] = {0};
        const ob_keypair_t *seq = &world->keys[tc->sequencer_index];
        assert_int_equal(ob_chunk_sign(world->crypto, &world->ns, seq, &chunk, aux, sig), 0);
        assert_memory_equal(sig, expect_sig, 64);
        assert_true(
            ob_chunk_signature_valid(world->crypto, &world->ns, &seq->pub, &chunk, expect_sig));
        /* Another validator's key does not verify it. */
        assert_false(ob_chunk_signature_valid(world->crypto, &world->ns, &world->keys[0].pub,
                                              &chunk, expect_sig));
    }
    for (size_t i = 0; i < tv_ack_count; i++) {
        const tv_ack_t *ta = &tv_acks[i];
        uint8_t bytes[OB_ACK_LEN], expect_digest[32], digest[32], sig[64];
        tu_hex(ta->encoding, bytes, sizeof bytes);
        tu_hex(ta->signed_digest, expect_digest, 32);
        ob_ack_t ack;
        assert_int_equal(ob_ack_decode(&ack, bytes, sizeof bytes), OB_OK);
        ob_ack_signing_digest(world->crypto, &world->ns, &ack.chunk, ack.epoch, digest);
        assert_memory_equal(digest, expect_digest, 32);
        uint8_t aux[32] = {0};
        assert_int_equal(ob_ack_sign(world->crypto, &world->ns, &world->keys[ta->signer],
                                     &ack.chunk, ack.epoch, aux, sig),
                         0);
        assert_memory_equal(sig, ack.signature, 64);
        assert_true(ob_ack_signature_valid(world->crypto, &world->ns, &world->keys[ta->signer].pub,
                                           &ack.chunk, ack.epoch, sig));
        /* Domain separation: an ack signature is no chunk signature. */
        assert_false(ob_chunk_signature_valid(world->crypto, &world->ns,
                                              &world->keys[ta->signer].pub, &ack.chunk, sig));
    }
    tu_world_destroy(&world);
}

static void test_namespace_bounds(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_namespace_t ns;
    ob_why_t why;
    char long_ns[66];
    memset(long_ns, 'n', sizeof long_ns);
    assert_int_equal(ob_namespace_init(&ns, crypto, long_ns, 0, &why), -1);
    assert_non_null(strstr(why.text, "namespace is 0 bytes"));
    assert_int_equal(ob_namespace_init(&ns, crypto, long_ns, 65, &why), -1);
    assert_non_null(strstr(why.text, "65"));
    assert_int_equal(ob_namespace_init(&ns, crypto, long_ns, 64, NULL), 0);
    assert_int_equal(ob_namespace_init(&ns, crypto, long_ns, 1, NULL), 0);
    ob_crypto_destroy(&crypto);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_tagged_hash_matches_bip340_definition),
        cmocka_unit_test(test_bip340_verify_all_rows),
        cmocka_unit_test(test_bip340_sign_rows),
        cmocka_unit_test(test_invalid_secrets_and_keys),
        cmocka_unit_test(test_sign_with_fresh_randomness),
        cmocka_unit_test(test_obcast_signing_digests_and_signatures),
        cmocka_unit_test(test_namespace_bounds),
    };
    return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}

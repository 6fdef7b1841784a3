/*  Quorum arithmetic, key sets sorted by key with index lookup, and the
    append-only epoch table. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void test_quorum_arithmetic(void **state)
{
    (void)state;
    /* n, f, q as SPEC §1 defines them. */
    const uint16_t table[][3] = {{1, 0, 1},
                                 {2, 0, 2},
                                 {3, 0, 3},
                                 {4, 1, 3},
                                 {5, 1, 4},
                                 {6, 1, 5},
                                 {7, 2, 5},
                                 {10, 3, 7},
                                 {13, 4, 9},
                                 {100, 33, 67},
                                 {65535, 21844, 43691}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        assert_int_equal(ob_max_faults(table[i][0]), table[i][1]);
        assert_int_equal(ob_quorum(table[i][0]), table[i][2]);
    }
    /* Two quorums always share an honest validator: 2q - n > f. */
    for (uint32_t n = 1; n <= 1000; n++) {
        uint16_t q = ob_quorum((uint16_t)n), f = ob_max_faults((uint16_t)n);
        assert_true(2 * (int)q - (int)n > (int)f);
        assert_true(3 * (int)f < (int)n);
    }
}

static void test_sorted_with_index_lookup(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    /* The vector validators given in reverse order come out sorted, with
       the indices the vectors list. */
    const char *reversed[4];
    for (int i = 0; i < 4; i++)
        reversed[i] = tv_validators[3 - i].public_key;
    ob_keyset_t *set = tu_keyset(crypto, reversed, 4);
    assert_int_equal(ob_keyset_size(set), 4);
    assert_int_equal(ob_keyset_quorum(set), 3);
    for (uint16_t i = 0; i < 4; i++) {
        uint8_t key[32];
        tu_hex(tv_validators[i].public_key, key, 32);
        uint16_t index = 99;
        assert_true(ob_keyset_index_of(set, key, &index));
        assert_int_equal(index, tv_validators[i].index);
        assert_memory_equal(ob_keyset_key(set, i)->bytes, key, 32);
        assert_true(ob_keyset_contains(set, key));
        key[31] ^= 1;
        assert_false(ob_keyset_contains(set, key));
    }
    assert_null(ob_keyset_key(set, 4));
    assert_null(ob_keyset_key(set, 65535));
    ob_keyset_destroy(&set);
    assert_null(set);
    ob_keyset_destroy(&set);
    ob_crypto_destroy(&crypto);
}

static void test_large_random_set(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    enum { N = 300 };
    uint8_t(*keys)[32] = calloc(N, 32);
    for (int i = 0; i < N; i++) {
        ob_keypair_t pair;
        uint8_t secret[32];
        assert_int_equal(ob_keypair_generate(crypto, &pair, secret), 0);
        memcpy(keys[i], pair.pub.bytes, 32);
    }
    ob_keyset_t *set = ob_keyset_new(crypto, (const uint8_t(*)[32])keys, N, NULL);
    assert_non_null(set);
    for (uint16_t i = 1; i < N; i++)
        assert_true(memcmp(ob_keyset_key(set, i - 1)->bytes, ob_keyset_key(set, i)->bytes, 32) < 0);
    for (int i = 0; i < N; i++) {
        uint16_t index;
        assert_true(ob_keyset_index_of(set, keys[i], &index));
        assert_memory_equal(ob_keyset_key(set, index)->bytes, keys[i], 32);
    }
    ob_keyset_destroy(&set);
    free(keys);
    ob_crypto_destroy(&crypto);
}

static void test_rejected_sets(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_why_t why;
    uint8_t keys[3][32];
    for (int i = 0; i < 3; i++)
        tu_hex(tv_validators[i].public_key, keys[i], 32);
    assert_null(ob_keyset_new(crypto, (const uint8_t(*)[32])keys, 0, &why));
    assert_string_equal(why.text, "key set is empty");
    memcpy(keys[2], keys[0], 32);
    assert_null(ob_keyset_new(crypto, (const uint8_t(*)[32])keys, 3, &why));
    assert_non_null(strstr(why.text, "twice"));
    memset(keys[1], 0, 32); /* x = 0 is on no curve point */
    assert_null(ob_keyset_new(crypto, (const uint8_t(*)[32])keys, 2, &why));
    assert_non_null(strstr(why.text, "key 1 is not a valid"));
    assert_null(ob_keyset_new(crypto, (const uint8_t(*)[32])keys, 70000, &why));
    assert_non_null(strstr(why.text, "70000"));
    ob_crypto_destroy(&crypto);
}

static void test_epochs_append_only(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_epochs_t *epochs = ob_epochs_new();
    const char *vals[4] = {tv_validators[0].public_key, tv_validators[1].public_key,
                           tv_validators[2].public_key, tv_validators[3].public_key};
    ob_keyset_t *v = tu_keyset(crypto, vals, 4);
    ob_keyset_t *s = tu_keyset(crypto, vals + 2, 1);
    assert_int_equal(ob_epochs_add(epochs, 5, &v, &s, NULL), 0);
    assert_null(v);
    assert_null(s);
    assert_int_equal(ob_epochs_count(epochs), 1);
    assert_int_equal(ob_epochs_latest(epochs), 5);

    /* An epoch at or below the latest is refused; the sets stay with us. */
    ob_why_t why;
    for (uint64_t e = 0; e <= 5; e++) {
        v = tu_keyset(crypto, vals, 3);
        s = tu_keyset(crypto, vals, 1);
        assert_int_equal(ob_epochs_add(epochs, e, &v, &s, &why), -1);
        assert_non_null(v);
        assert_non_null(strstr(why.text, "not above the latest epoch 5"));
        ob_keyset_destroy(&v);
        ob_keyset_destroy(&s);
    }
    v = tu_keyset(crypto, vals, 3);
    s = tu_keyset(crypto, vals, 2);
    assert_int_equal(ob_epochs_add(epochs, UINT64_MAX, &v, &s, NULL), 0);
    assert_int_equal(ob_epochs_latest(epochs), UINT64_MAX);

    assert_int_equal(ob_keyset_size(ob_epochs_validators(epochs, 5)), 4);
    assert_int_equal(ob_keyset_size(ob_epochs_sequencers(epochs, 5)), 1);
    assert_int_equal(ob_keyset_size(ob_epochs_validators(epochs, UINT64_MAX)), 3);
    assert_null(ob_epochs_validators(epochs, 6));
    assert_null(ob_epochs_sequencers(epochs, 4));
    assert_true(ob_epochs_known(epochs, 5));
    assert_false(ob_epochs_known(epochs, 0));

    ob_epoch_lookup_t lookup = ob_epochs_lookup(epochs);
    uint16_t n = 0;
    assert_true(lookup.size_of(lookup.ctx, 5, &n));
    assert_int_equal(n, 4);
    assert_false(lookup.size_of(lookup.ctx, 7, &n));

    /* Many epochs: lookups stay right as the table grows. */
    for (uint64_t e = 0; e < 100; e++) {
        ob_epochs_t *many = ob_epochs_new();
        for (uint64_t k = 0; k <= e; k++) {
            v = tu_keyset(crypto, vals, 1 + k % 4);
            s = tu_keyset(crypto, vals, 1);
            assert_int_equal(ob_epochs_add(many, 10 * k, &v, &s, NULL), 0);
        }
        for (uint64_t k = 0; k <= e; k++) {
            assert_int_equal(ob_keyset_size(ob_epochs_validators(many, 10 * k)), 1 + k % 4);
            assert_null(ob_epochs_validators(many, 10 * k + 1));
        }
        ob_epochs_destroy(&many);
        if (e > 8)
            e += 9; /* keep the test quick while reaching larger tables */
    }
    ob_epochs_destroy(&epochs);
    assert_null(epochs);
    ob_epochs_destroy(&epochs);
    ob_crypto_destroy(&crypto);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quorum_arithmetic),  cmocka_unit_test(test_sorted_with_index_lookup),
        cmocka_unit_test(test_large_random_set),   cmocka_unit_test(test_rejected_sets),
        cmocka_unit_test(test_epochs_append_only),
    };
    return cmocka_run_group_tests_name("keyset", tests, NULL, NULL);
}

/*  obcast-txapp's batches (actors/txapp/txapp.h): a batch built verifies;
    every single-byte change to it, every cut, every extra byte and every
    count out of bounds is rejected, and never read past. */
#include "testutil.h"

#include "txapp.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t s_seed[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

static int s_setup(void **state)
{
    ob_txapp_t *app = ob_txapp_new(5, s_seed, NULL);
    *state = app;
    return app ? 0 : -1;
}

static int s_teardown(void **state)
{
    ob_txapp_t *app = *state;
    ob_txapp_destroy(&app);
    return 0;
}

/* A copy in a buffer of exactly `len` bytes, so that ASan catches any read
   past the input. */
static ob_txapp_result_t s_verify_exact(ob_txapp_t *app, const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, data, len);
    ob_txapp_result_t rc = ob_txapp_verify(app, copy, len, NULL);
    free(copy);
    return rc;
}

static void test_txapp_valid(void **state)
{
    ob_txapp_t *app = *state;
    uint32_t sizes[] = {1, 3, 7, 250};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *batch = NULL;
        size_t len = 0;
        assert_int_equal(ob_txapp_build(app, sizes[i], UINT32_MAX, &batch, &len), 0);
        uint32_t count = 0;
        assert_int_equal(ob_txapp_verify(app, batch, len, &count), OB_TXAPP_OK);
        assert_int_equal(count, sizes[i]);
        assert_int_equal(batch[0], OB_TXAPP_VERSION);
        free(batch);
    }
    /* Another instance, which holds none of the keys, agrees. */
    ob_txapp_t *other = ob_txapp_new(1, NULL, NULL);
    assert_non_null(other);
    uint8_t *batch = NULL;
    size_t len = 0;
    assert_int_equal(ob_txapp_build(app, 4, UINT32_MAX, &batch, &len), 0);
    assert_int_equal(ob_txapp_verify(other, batch, len, NULL), OB_TXAPP_OK);
    free(batch);
    ob_txapp_destroy(&other);
    assert_null(other);
}

static void test_txapp_seeded_is_repeatable(void **state)
{
    (void)state;
    ob_txapp_t *a = ob_txapp_new(3, s_seed, NULL);
    ob_txapp_t *b = ob_txapp_new(3, s_seed, NULL);
    assert_non_null(a);
    assert_non_null(b);
    uint8_t *x = NULL, *y = NULL;
    size_t x_len = 0, y_len = 0;
    assert_int_equal(ob_txapp_build(a, 6, UINT32_MAX, &x, &x_len), 0);
    assert_int_equal(ob_txapp_build(b, 6, UINT32_MAX, &y, &y_len), 0);
    assert_int_equal(x_len, y_len);
    assert_memory_equal(x, y, x_len);
    /* The next batch goes on with the next nonces: a different batch. */
    free(y);
    assert_int_equal(ob_txapp_build(b, 6, UINT32_MAX, &y, &y_len), 0);
    assert_true(x_len != y_len || memcmp(x, y, x_len) != 0);
    free(x);
    free(y);
    ob_txapp_destroy(&a);
    ob_txapp_destroy(&b);
}

static void test_txapp_every_byte_flip_rejected(void **state)
{
    ob_txapp_t *app = *state;
    uint8_t *batch = NULL;
    size_t len = 0;
    assert_int_equal(ob_txapp_build(app, 3, UINT32_MAX, &batch, &len), 0);
    const uint8_t masks[] = {0x01, 0x80, 0xff};
    size_t rejected[OB_TXAPP_BAD_SIGNATURE + 1] = {0};
    for (size_t at = 0; at < len; at++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            batch[at] ^= masks[m];
            ob_txapp_result_t rc = s_verify_exact(app, batch, len);
            if (rc == OB_TXAPP_OK)
                fail_msg("byte %zu ^ 0x%02x was accepted", at, masks[m]);
            rejected[rc]++;
            batch[at] ^= masks[m];
        }
    }
    assert_int_equal(s_verify_exact(app, batch, len), OB_TXAPP_OK);
    /* Each part of the form was hit: the header, the lengths, the keys
       and the signatures. */
    assert_true(rejected[OB_TXAPP_BAD_VERSION] == 3);
    assert_true(rejected[OB_TXAPP_BAD_SIGNATURE] > 0);
    assert_true(rejected[OB_TXAPP_SHORT] > 0);
    assert_true(rejected[OB_TXAPP_TOO_MANY] > 0);
    free(batch);
}

static void test_txapp_bad_signature(void **state)
{
    ob_txapp_t *app = *state;
    for (uint32_t bad = 0; bad < 4; bad++) {
        uint8_t *batch = NULL;
        size_t len = 0;
        assert_int_equal(ob_txapp_build(app, 4, bad, &batch, &len), 0);
        assert_int_equal(ob_txapp_verify(app, batch, len, NULL), OB_TXAPP_BAD_SIGNATURE);
        free(batch);
    }
}

static void test_txapp_truncated_and_trailing(void **state)
{
    ob_txapp_t *app = *state;
    uint8_t *batch = NULL;
    size_t len = 0;
    assert_int_equal(ob_txapp_build(app, 3, UINT32_MAX, &batch, &len), 0);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(s_verify_exact(app, batch, cut), OB_TXAPP_SHORT);
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, batch, len);
    longer[len] = 0;
    assert_int_equal(s_verify_exact(app, longer, len + 1), OB_TXAPP_TRAILING);
    free(longer);
    free(batch);
}

static void test_txapp_counts(void **state)
{
    ob_txapp_t *app = *state;
    uint8_t *batch = NULL;
    size_t len = 0;
    assert_int_equal(ob_txapp_build(app, 0, UINT32_MAX, &batch, &len), -1);
    assert_int_equal(ob_txapp_build(app, OB_TXAPP_TXS_MAX + 1, UINT32_MAX, &batch, &len), -1);

    uint8_t header[OB_TXAPP_HEADER_LEN] = {OB_TXAPP_VERSION, 0, 0, 0, 0};
    assert_int_equal(s_verify_exact(app, header, sizeof header), OB_TXAPP_EMPTY);
    header[4] = 1; /* one transaction, absent */
    assert_int_equal(s_verify_exact(app, header, sizeof header), OB_TXAPP_SHORT);
    uint32_t over = OB_TXAPP_TXS_MAX + 1;
    header[1] = (uint8_t)(over >> 24);
    header[2] = (uint8_t)(over >> 16);
    header[3] = (uint8_t)(over >> 8);
    header[4] = (uint8_t)over;
    assert_int_equal(s_verify_exact(app, header, sizeof header), OB_TXAPP_TOO_MANY);
    memset(header + 1, 0xff, 4);
    assert_int_equal(s_verify_exact(app, header, sizeof header), OB_TXAPP_TOO_MANY);

    /* The most a batch may hold, told by a count the input cannot back. */
    header[1] = (uint8_t)(OB_TXAPP_TXS_MAX >> 24);
    header[2] = (uint8_t)(OB_TXAPP_TXS_MAX >> 16);
    header[3] = (uint8_t)(OB_TXAPP_TXS_MAX >> 8);
    header[4] = (uint8_t)OB_TXAPP_TXS_MAX;
    assert_int_equal(s_verify_exact(app, header, sizeof header), OB_TXAPP_SHORT);

    /* One transaction whose memo claims more than a memo may be. */
    assert_int_equal(ob_txapp_build(app, 1, UINT32_MAX, &batch, &len), 0);
    uint8_t *big = calloc(1, len + 200);
    assert_non_null(big);
    memcpy(big, batch, len);
    big[OB_TXAPP_HEADER_LEN + 48] = 0;
    big[OB_TXAPP_HEADER_LEN + 49] = OB_TXAPP_MEMO_MAX + 1;
    assert_int_equal(s_verify_exact(app, big, OB_TXAPP_HEADER_LEN + OB_TXAPP_TX_MAX + 1),
                     OB_TXAPP_MEMO_TOO_LONG);
    free(big);

    /* A sender that is no curve point. */
    memset(batch + OB_TXAPP_HEADER_LEN, 0xff, 32);
    assert_int_equal(s_verify_exact(app, batch, len), OB_TXAPP_BAD_KEY);
    free(batch);

    assert_int_equal(s_verify_exact(app, (const uint8_t *)"", 0), OB_TXAPP_SHORT);
    assert_string_equal(ob_txapp_result_name(OB_TXAPP_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(ob_txapp_result_name((ob_txapp_result_t)99), "unknown");
    assert_null(ob_txapp_new(0, NULL, NULL));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_txapp_valid),
        T(test_txapp_seeded_is_repeatable),
        T(test_txapp_every_byte_flip_rejected),
        T(test_txapp_bad_signature),
        T(test_txapp_truncated_and_trailing),
        T(test_txapp_counts),
    };
#undef T
    return cmocka_run_group_tests_name("txapp", tests, NULL, NULL);
}

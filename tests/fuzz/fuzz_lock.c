/*  libFuzzer target: ob_lock_decode against a fixed epoch table, and the
    exact round trip through ob_lock_encode of anything it accepts.
    Signatures are not verified: that is too slow to fuzz. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ob_epoch_lookup_t *epochs = fuzz_epochs();
    ob_lock_t lock;
    ob_error_t rc = ob_lock_decode(&lock, data, size, epochs);
    fuzz_check_result(rc, FUZZ_ERRS_LOCK);
    if (rc != OB_OK)
        return 0;

    uint16_t n = 0;
    FUZZ_CHECK(epochs->size_of(epochs->ctx, lock.epoch, &n));
    FUZZ_CHECK(lock.cert.count <= n);
    for (uint16_t i = 0; i < lock.cert.count; i++)
        FUZZ_CHECK(ob_cert_signer(&lock.cert, i) < n);
    FUZZ_CHECK(lock.cert.count == 0 || lock.cert.entries == data + OB_CHUNK_LEN + 8 + 2);
    FUZZ_CHECK(ob_lock_encoded_len(&lock) == size);

    uint8_t *out = malloc(size);
    FUZZ_CHECK(out != NULL);
    size_t written = 0;
    FUZZ_CHECK(ob_lock_encode(&lock, out, size, &written) == 0);
    fuzz_check_same(out, written, data, size);
    free(out);

    uint8_t *small = malloc(size - 1);
    FUZZ_CHECK(small != NULL);
    FUZZ_CHECK(ob_lock_encode(&lock, small, size - 1, &written) == -1);
    free(small);

    /* Strictness: one byte fewer is short, one byte more is trailing. */
    ob_lock_t other;
    uint8_t *cut = fuzz_dup(data, size - 1);
    FUZZ_CHECK(ob_lock_decode(&other, cut, size - 1, epochs) == OB_ERR_SHORT);
    free(cut);
    uint8_t *longer = fuzz_dup_plus_one(data, size);
    FUZZ_CHECK(ob_lock_decode(&other, longer, size + 1, epochs) == OB_ERR_TRAILING);
    free(longer);
    return 0;
}

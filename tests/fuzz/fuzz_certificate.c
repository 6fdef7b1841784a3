/*  libFuzzer target: ob_cert_decode, and the exact round trip through
    ob_cert_encode of anything it accepts.

    The whole input is decoded against fixed validator counts (0, 1, 4, 100
    and the maximum); then, if it has two bytes or more, its first two bytes
    (big-endian) are the validator count for decoding the rest. */
#include "fuzz_common.h"

static void s_check(const uint8_t *data, size_t size, uint16_t n)
{
    ob_cert_t cert;
    ob_error_t rc = ob_cert_decode(&cert, data, size, n);
    fuzz_check_result(rc, FUZZ_ERRS_CERT);
    if (rc != OB_OK)
        return;

    FUZZ_CHECK(cert.count <= n);
    FUZZ_CHECK(ob_cert_encoded_len(&cert) == size);
    FUZZ_CHECK(cert.count == 0 || cert.entries == data + 2);
    for (uint16_t i = 0; i < cert.count; i++) {
        uint16_t signer = ob_cert_signer(&cert, i);
        FUZZ_CHECK(signer < n);
        FUZZ_CHECK(i == 0 || signer > ob_cert_signer(&cert, (uint16_t)(i - 1)));
        FUZZ_CHECK(ob_cert_signature(&cert, i) == data + 2 + (size_t)i * OB_CERT_ENTRY_LEN + 2);
    }

    uint8_t *out = malloc(size);
    FUZZ_CHECK(out != NULL);
    size_t written = 0;
    FUZZ_CHECK(ob_cert_encode(&cert, out, size, &written) == 0);
    fuzz_check_same(out, written, data, size);
    free(out);

    uint8_t *small = malloc(size - 1);
    FUZZ_CHECK(small != NULL);
    FUZZ_CHECK(ob_cert_encode(&cert, small, size - 1, &written) == -1);
    free(small);

    /* Strictness: one byte fewer is short, one byte more is trailing. */
    ob_cert_t other;
    uint8_t *cut = fuzz_dup(data, size - 1);
    FUZZ_CHECK(ob_cert_decode(&other, cut, size - 1, n) == OB_ERR_SHORT);
    free(cut);
    uint8_t *longer = fuzz_dup_plus_one(data, size);
    FUZZ_CHECK(ob_cert_decode(&other, longer, size + 1, n) == OB_ERR_TRAILING);
    free(longer);

    /* A larger validator set accepts whatever a smaller one does. */
    FUZZ_CHECK(ob_cert_decode(&other, data, size, OB_MAX_VALIDATORS) == OB_OK);
    FUZZ_CHECK(other.count == cert.count && other.entries == cert.entries);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t fixed[] = {0, 1, 4, 100, OB_MAX_VALIDATORS};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        s_check(data, size, fixed[i]);
    if (size >= 2)
        s_check(data + 2, size - 2, (uint16_t)((data[0] << 8) | data[1]));
    return 0;
}

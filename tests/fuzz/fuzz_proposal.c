/*  libFuzzer target: ob_proposal_decode, and the exact round trip through
    ob_proposal_encode of anything it accepts. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ob_proposal_t proposal;
    ob_error_t rc = ob_proposal_decode(&proposal, data, size);
    fuzz_check_result(rc, FUZZ_ERRS_FIXED);
    /* A fixed-size item: the length alone decides. */
    FUZZ_CHECK(rc == (size < OB_PROPOSAL_LEN   ? OB_ERR_SHORT
                      : size > OB_PROPOSAL_LEN ? OB_ERR_TRAILING
                                               : OB_OK));
    if (rc != OB_OK)
        return 0;

    uint8_t *out = malloc(size);
    FUZZ_CHECK(out != NULL);
    size_t written = 0;
    FUZZ_CHECK(ob_proposal_encode(&proposal, out, size, &written) == 0);
    fuzz_check_same(out, written, data, size);
    free(out);

    uint8_t *small = malloc(size - 1);
    FUZZ_CHECK(small != NULL);
    FUZZ_CHECK(ob_proposal_encode(&proposal, small, size - 1, &written) == -1);
    free(small);

    /* Its chunk is the first OB_CHUNK_LEN bytes. */
    ob_chunk_t chunk;
    FUZZ_CHECK(ob_chunk_decode(&chunk, data, OB_CHUNK_LEN) == OB_OK);
    FUZZ_CHECK(memcmp(&chunk, &proposal.chunk, sizeof chunk) == 0);
    return 0;
}

/*  libFuzzer target: ob_proposal_decode, and the exact round trip through
    ob_proposal_encode of anything it accepts. */
#include "fuzz_common.h"

FUZZ_FIXED_SIZE(s_proposal, ob_proposal_t, ob_proposal_decode, ob_proposal_encode, OB_PROPOSAL_LEN)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ob_proposal_t proposal;
    if (!s_proposal(data, size, &proposal))
        return 0;
    /* Its chunk is the first OB_CHUNK_LEN bytes. */
    ob_chunk_t chunk;
    FUZZ_CHECK(ob_chunk_decode(&chunk, data, OB_CHUNK_LEN) == OB_OK);
    FUZZ_CHECK(memcmp(&chunk, &proposal.chunk, sizeof chunk) == 0);
    return 0;
}

/*  libFuzzer target: ob_chunk_decode, and the exact round trip through
    ob_chunk_encode of anything it accepts. */
#include "fuzz_common.h"

FUZZ_FIXED_SIZE(s_chunk, ob_chunk_t, ob_chunk_decode, ob_chunk_encode, OB_CHUNK_LEN)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ob_chunk_t chunk;
    s_chunk(data, size, &chunk);
    return 0;
}

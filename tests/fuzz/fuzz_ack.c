/*  libFuzzer target: ob_ack_decode, and the exact round trip through
    ob_ack_encode and ob_peer_ack_frame_encode of anything it accepts. */
#include "fuzz_common.h"

FUZZ_FIXED_SIZE(s_ack, ob_ack_t, ob_ack_decode, ob_ack_encode, OB_ACK_LEN)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ob_ack_t ack;
    if (!s_ack(data, size, &ack))
        return 0;
    size_t written = 0;

    /* As a peer message: type ‖ version ‖ the same bytes. */
    uint8_t *frame = malloc(size + 2);
    FUZZ_CHECK(frame != NULL);
    FUZZ_CHECK(ob_peer_ack_frame_encode(&ack, frame, size + 1, &written) == -1);
    FUZZ_CHECK(ob_peer_ack_frame_encode(&ack, frame, size + 2, &written) == 0);
    FUZZ_CHECK(written == size + 2);
    FUZZ_CHECK(frame[0] == OB_PEER_TYPE_ACK && frame[1] == OB_PEER_VERSION);
    fuzz_check_same(frame + 2, written - 2, data, size);
    free(frame);
    return 0;
}

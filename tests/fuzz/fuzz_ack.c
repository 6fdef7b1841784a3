/*  libFuzzer target: ob_ack_decode, and the exact round trip through
    ob_ack_encode and ob_peer_ack_frame_encode of anything it accepts. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ob_ack_t ack;
    ob_error_t rc = ob_ack_decode(&ack, data, size);
    fuzz_check_result(rc, FUZZ_ERRS_FIXED);
    /* A fixed-size item: the length alone decides. */
    FUZZ_CHECK(rc == (size < OB_ACK_LEN   ? OB_ERR_SHORT
                      : size > OB_ACK_LEN ? OB_ERR_TRAILING
                                          : OB_OK));
    if (rc != OB_OK)
        return 0;

    uint8_t *out = malloc(size);
    FUZZ_CHECK(out != NULL);
    size_t written = 0;
    FUZZ_CHECK(ob_ack_encode(&ack, out, size, &written) == 0);
    fuzz_check_same(out, written, data, size);
    free(out);

    uint8_t *small = malloc(size - 1);
    FUZZ_CHECK(small != NULL);
    FUZZ_CHECK(ob_ack_encode(&ack, small, size - 1, &written) == -1);
    free(small);

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

/*  libFuzzer target: ob_fetch_decode, and the exact round trip through
    ob_fetch_encode and ob_peer_fetch_frame_encode of anything it accepts.
    The input is a Fetch body: sequencer ‖ height ‖ count. */
#include "fuzz_common.h"

/* What the body decoder must say, from the length and the count alone. */
static ob_error_t s_expected(const uint8_t *data, size_t size)
{
    if (size < OB_FETCH_LEN)
        return OB_ERR_SHORT;
    unsigned count = (unsigned)(data[OB_KEY_LEN + 8] << 8) | data[OB_KEY_LEN + 9];
    if (count < 1 || count > OB_FETCH_MAX)
        return OB_ERR_FETCH_COUNT;
    return size > OB_FETCH_LEN ? OB_ERR_TRAILING : OB_OK;
}

/* As a peer message: header ‖ body, alone and with a second frame. */
static void s_check_as_message(const uint8_t *data, size_t size, ob_error_t body_rc)
{
    uint8_t *frame = fuzz_peer_frame(OB_PEER_TYPE_FETCH, data, size);
    ob_frame_t frames[2] = {{frame, size + 2}, {frame, 0}};
    ob_peer_msg_t msg;
    ob_error_t rc = ob_peer_msg_decode(&msg, frames, 1, fuzz_epochs(), 0);
    fuzz_check_result(rc, FUZZ_ERRS_PEER);
    FUZZ_CHECK(rc == body_rc);
    if (rc == OB_OK)
        FUZZ_CHECK(msg.type == OB_PEER_TYPE_FETCH);
    /* A Fetch has one frame, whatever its body. */
    FUZZ_CHECK(ob_peer_msg_decode(&msg, frames, 2, fuzz_epochs(), 0) == OB_ERR_TRAILING);
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ob_fetch_t fetch;
    ob_error_t rc = ob_fetch_decode(&fetch, data, size);
    fuzz_check_result(rc, FUZZ_ERRS_FETCH);
    FUZZ_CHECK(rc == s_expected(data, size));
    s_check_as_message(data, size, rc);
    if (rc != OB_OK)
        return 0;
    FUZZ_CHECK(fetch.count >= 1 && fetch.count <= OB_FETCH_MAX);

    uint8_t buf[OB_FETCH_LEN];
    size_t written = 0;
    FUZZ_CHECK(ob_fetch_encode(&fetch, buf, sizeof buf, &written) == 0);
    fuzz_check_same(buf, written, data, size);
    FUZZ_CHECK(ob_fetch_encode(&fetch, buf, sizeof buf - 1, &written) == -1);

    uint8_t frame[2 + OB_FETCH_LEN];
    FUZZ_CHECK(ob_peer_fetch_frame_encode(&fetch, frame, sizeof frame - 1, &written) == -1);
    FUZZ_CHECK(ob_peer_fetch_frame_encode(&fetch, frame, sizeof frame, &written) == 0);
    FUZZ_CHECK(written == sizeof frame);
    FUZZ_CHECK(frame[0] == OB_PEER_TYPE_FETCH && frame[1] == OB_PEER_VERSION);
    fuzz_check_same(frame + 2, written - 2, data, size);

    /* Only counts the decoder accepts can be encoded. */
    ob_fetch_t other = fetch;
    other.count = 0;
    FUZZ_CHECK(ob_fetch_encode(&other, buf, sizeof buf, &written) == -1);
    other.count = OB_FETCH_MAX + 1;
    FUZZ_CHECK(ob_fetch_encode(&other, buf, sizeof buf, &written) == -1);
    return 0;
}

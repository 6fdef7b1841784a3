/*  libFuzzer target: ob_fetched_decode against a fixed epoch table, the
    exact round trip through ob_fetched_encode and
    ob_peer_fetched_frame_encode of anything it accepts, and the frame
    rules of ob_peer_msg_decode for a Fetched (the flag says whether a
    payload frame follows). Signatures and digests are not checked: that
    is verification, not decoding.

    Input layout (make_corpus.py writes its seeds the same way):

        selector(u8) ‖ Fetched body (flag ‖ Lock)

    The message has selector % 3 + 1 frames: the first is type ‖ version
    ‖ body, each other one a payload of selector / 3 bytes, against a
    max_payload of S_MAX_PAYLOAD. */
#include "fuzz_common.h"

#define S_MAX_PAYLOAD 64

static void s_check_body(const ob_fetched_t *fetched, const uint8_t *data, size_t size,
                         const ob_epoch_lookup_t *epochs)
{
    uint16_t n = 0;
    FUZZ_CHECK(data[0] == (fetched->has_payload ? 1 : 0));
    FUZZ_CHECK(epochs->size_of(epochs->ctx, fetched->lock.epoch, &n));
    FUZZ_CHECK(fetched->lock.cert.count <= n);
    for (uint16_t i = 0; i < fetched->lock.cert.count; i++)
        FUZZ_CHECK(ob_cert_signer(&fetched->lock.cert, i) < n);
    FUZZ_CHECK(ob_fetched_encoded_len(fetched) == size);

    uint8_t *out = malloc(size);
    FUZZ_CHECK(out != NULL);
    size_t written = 0;
    FUZZ_CHECK(ob_fetched_encode(fetched, out, size, &written) == 0);
    fuzz_check_same(out, written, data, size);
    FUZZ_CHECK(ob_fetched_encode(fetched, out, size - 1, &written) == -1);
    free(out);

    uint8_t *frame = malloc(size + 2);
    FUZZ_CHECK(frame != NULL);
    FUZZ_CHECK(ob_peer_fetched_frame_encode(fetched, frame, size + 1, &written) == -1);
    FUZZ_CHECK(ob_peer_fetched_frame_encode(fetched, frame, size + 2, &written) == 0);
    FUZZ_CHECK(written == size + 2);
    FUZZ_CHECK(frame[0] == OB_PEER_TYPE_FETCHED && frame[1] == OB_PEER_VERSION);
    fuzz_check_same(frame + 2, written - 2, data, size);
    free(frame);

    /* Strictness: one byte fewer is short, one byte more is trailing. */
    ob_fetched_t other;
    uint8_t *cut = fuzz_dup(data, size - 1);
    FUZZ_CHECK(ob_fetched_decode(&other, cut, size - 1, epochs) == OB_ERR_SHORT);
    free(cut);
    uint8_t *longer = fuzz_dup_plus_one(data, size);
    FUZZ_CHECK(ob_fetched_decode(&other, longer, size + 1, epochs) == OB_ERR_TRAILING);
    free(longer);
}

/* What ob_peer_msg_decode must say of `count` frames around a body whose
   own verdict is body_rc. */
static ob_error_t s_expected(ob_error_t body_rc, const ob_fetched_t *fetched, size_t count,
                             size_t payload_len)
{
    if (body_rc != OB_OK)
        return body_rc;
    size_t want = fetched->has_payload ? 2 : 1;
    if (count != want)
        return count < want ? OB_ERR_SHORT : OB_ERR_TRAILING;
    return fetched->has_payload && payload_len > S_MAX_PAYLOAD ? OB_ERR_TOO_LARGE : OB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t count = (size_t)data[0] % 3 + 1;
    size_t payload_len = (size_t)data[0] / 3;
    const uint8_t *body = data + 1;
    size_t body_len = size - 1;
    const ob_epoch_lookup_t *epochs = fuzz_epochs();

    uint8_t *copy = fuzz_dup(body, body_len);
    ob_fetched_t fetched;
    ob_error_t body_rc = ob_fetched_decode(&fetched, copy, body_len, epochs);
    fuzz_check_result(body_rc, FUZZ_ERRS_FETCHED);
    if (body_rc == OB_OK)
        s_check_body(&fetched, copy, body_len, epochs);
    free(copy);

    uint8_t *frame0 = fuzz_peer_frame(OB_PEER_TYPE_FETCHED, body, body_len);
    ob_frame_t frames[3] = {{frame0, body_len + 2}};
    uint8_t *payloads[3] = {NULL, NULL, NULL};
    /* The payload bytes are the body's own: only their length matters. */
    if (payload_len > body_len)
        payload_len = body_len;
    for (size_t i = 1; i < count; i++) {
        payloads[i] = fuzz_dup(body, payload_len);
        frames[i] = (ob_frame_t){payloads[i], payload_len};
    }
    ob_peer_msg_t msg;
    ob_error_t rc = ob_peer_msg_decode(&msg, frames, count, epochs, S_MAX_PAYLOAD);
    fuzz_check_result(rc, FUZZ_ERRS_PEER);
    FUZZ_CHECK(rc == s_expected(body_rc, &fetched, count, payload_len));
    if (rc == OB_OK) {
        FUZZ_CHECK(msg.type == OB_PEER_TYPE_FETCHED);
        FUZZ_CHECK(msg.u.fetched.fetched.has_payload == fetched.has_payload);
        if (fetched.has_payload) {
            FUZZ_CHECK(msg.u.fetched.payload.data == frames[1].data);
            FUZZ_CHECK(msg.u.fetched.payload.len == frames[1].len);
        } else {
            FUZZ_CHECK(msg.u.fetched.payload.data == NULL && msg.u.fetched.payload.len == 0);
        }
    }
    for (size_t i = 1; i < count; i++)
        free(payloads[i]);
    free(frame0);
    return 0;
}

/*  libFuzzer target: ob_peer_msg_decode against a fixed epoch table, and
    the exact round trip of the first frame through
    ob_peer_node_frame_encode, ob_peer_ack_frame_encode,
    ob_peer_fetch_frame_encode and ob_peer_fetched_frame_encode.

    Input layout (make_corpus.py writes its seeds the same way):

        selector(u8) ‖ (k-1) × length(u16, big-endian) ‖ frame bytes

    k = selector % 3 + 1 frames. Frame i < k-1 takes the next length_i bytes
    (fewer if the input runs out); the last frame takes the rest. Each frame
    is copied to its own allocation so that ASan sees a read past any frame.
*/
#include "fuzz_common.h"

#define MAX_FRAMES  3
#define MAX_PAYLOAD ((size_t)1 << 20)

/* The first frame re-encodes to itself, and fails into one byte less (an
   allocation of that size, so that ASan sees any write past it). */
#define S_CHECK_FIRST_FRAME(ENCODE, VALUE, FRAMES)                                                 \
    do {                                                                                           \
        size_t cap_ = (FRAMES)[0].len, written_ = 0;                                               \
        uint8_t *out_ = malloc(cap_);                                                              \
        FUZZ_CHECK(out_ != NULL);                                                                  \
        FUZZ_CHECK(ENCODE((VALUE), out_, cap_, &written_) == 0);                                   \
        fuzz_check_same(out_, written_, (FRAMES)[0].data, cap_);                                   \
        free(out_);                                                                                \
        uint8_t *small_ = malloc(cap_ - 1);                                                        \
        FUZZ_CHECK(small_ != NULL);                                                                \
        FUZZ_CHECK(ENCODE((VALUE), small_, cap_ - 1, &written_) == -1);                            \
        free(small_);                                                                              \
    } while (0)

/* The payload frame is the second frame, viewed, and its bound is
   inclusive. */
static void s_check_payload(const ob_frame_t *payload, const ob_frame_t *frames, size_t count,
                            const ob_epoch_lookup_t *epochs)
{
    FUZZ_CHECK(payload->data == frames[1].data);
    FUZZ_CHECK(payload->len == frames[1].len);
    ob_peer_msg_t again;
    size_t len = frames[1].len;
    FUZZ_CHECK(ob_peer_msg_decode(&again, frames, count, epochs, len) == OB_OK);
    if (len > 0)
        FUZZ_CHECK(ob_peer_msg_decode(&again, frames, count, epochs, len - 1) == OB_ERR_TOO_LARGE);
}

static void s_check_node(const ob_peer_msg_t *msg, const ob_frame_t *frames, size_t count,
                         const ob_epoch_lookup_t *epochs)
{
    FUZZ_CHECK(count == 2);
    S_CHECK_FIRST_FRAME(ob_peer_node_frame_encode, &msg->u.node.node, frames);
    s_check_payload(&msg->u.node.payload, frames, count, epochs);
}

static void s_check_ack(const ob_peer_msg_t *msg, const ob_frame_t *frames, size_t count)
{
    FUZZ_CHECK(count == 1);
    S_CHECK_FIRST_FRAME(ob_peer_ack_frame_encode, &msg->u.ack, frames);
}

static void s_check_fetch(const ob_peer_msg_t *msg, const ob_frame_t *frames, size_t count)
{
    FUZZ_CHECK(count == 1);
    FUZZ_CHECK(msg->u.fetch.count >= 1 && msg->u.fetch.count <= OB_FETCH_MAX);
    S_CHECK_FIRST_FRAME(ob_peer_fetch_frame_encode, &msg->u.fetch, frames);
}

static void s_check_fetched(const ob_peer_msg_t *msg, const ob_frame_t *frames, size_t count,
                            const ob_epoch_lookup_t *epochs)
{
    bool has_payload = msg->u.fetched.fetched.has_payload;
    FUZZ_CHECK(count == (has_payload ? 2u : 1u));
    S_CHECK_FIRST_FRAME(ob_peer_fetched_frame_encode, &msg->u.fetched.fetched, frames);
    if (has_payload)
        s_check_payload(&msg->u.fetched.payload, frames, count, epochs);
    else
        FUZZ_CHECK(msg->u.fetched.payload.data == NULL && msg->u.fetched.payload.len == 0);
}

/* What the body decoders say must be what the message decoder says, once
   the header and the frame count are right. */
static void s_check_consistent(ob_error_t rc, const ob_frame_t *frames, size_t count,
                               const ob_epoch_lookup_t *epochs)
{
    if (frames[0].len < 2) {
        FUZZ_CHECK(rc == OB_ERR_SHORT);
        return;
    }
    uint8_t type = frames[0].data[0];
    if (type != OB_PEER_TYPE_NODE && type != OB_PEER_TYPE_ACK && type != OB_PEER_TYPE_FETCH &&
        type != OB_PEER_TYPE_FETCHED) {
        FUZZ_CHECK(rc == OB_ERR_UNKNOWN_TYPE);
        return;
    }
    if (frames[0].data[1] != OB_PEER_VERSION) {
        FUZZ_CHECK(rc == OB_ERR_BAD_VERSION);
        return;
    }
    const uint8_t *body = frames[0].data + 2;
    size_t body_len = frames[0].len - 2;
    if (type == OB_PEER_TYPE_ACK && count == 1) {
        ob_ack_t ack;
        FUZZ_CHECK(rc == ob_ack_decode(&ack, body, body_len));
    } else if (type == OB_PEER_TYPE_NODE && count == 2 && frames[1].len <= MAX_PAYLOAD) {
        ob_node_t node;
        FUZZ_CHECK(rc == ob_node_decode(&node, body, body_len, epochs));
    } else if (type == OB_PEER_TYPE_FETCH && count == 1) {
        ob_fetch_t fetch;
        FUZZ_CHECK(rc == ob_fetch_decode(&fetch, body, body_len));
    } else if (type == OB_PEER_TYPE_FETCHED) {
        /* The body is judged before the frames are counted. */
        ob_fetched_t fetched;
        ob_error_t body_rc = ob_fetched_decode(&fetched, body, body_len, epochs);
        if (body_rc != OB_OK)
            FUZZ_CHECK(rc == body_rc);
        else if (count == (fetched.has_payload ? 2u : 1u) &&
                 (count == 1 || frames[1].len <= MAX_PAYLOAD))
            FUZZ_CHECK(rc == OB_OK);
        else
            FUZZ_CHECK(rc != OB_OK);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t count = (size_t)data[0] % MAX_FRAMES + 1;
    size_t header = 1 + 2 * (count - 1);
    if (size < header)
        return 0;

    ob_frame_t frames[MAX_FRAMES];
    uint8_t *copies[MAX_FRAMES];
    const uint8_t *at = data + header;
    size_t left = size - header;
    for (size_t i = 0; i < count; i++) {
        size_t len = left;
        if (i + 1 < count) {
            len = (size_t)((data[1 + 2 * i] << 8) | data[2 + 2 * i]);
            if (len > left)
                len = left;
        }
        copies[i] = fuzz_dup(at, len);
        frames[i].data = copies[i];
        frames[i].len = len;
        at += len;
        left -= len;
    }

    const ob_epoch_lookup_t *epochs = fuzz_epochs();
    ob_peer_msg_t msg;
    ob_error_t rc = ob_peer_msg_decode(&msg, frames, count, epochs, MAX_PAYLOAD);
    fuzz_check_result(rc, FUZZ_ERRS_PEER);
    s_check_consistent(rc, frames, count, epochs);
    if (rc == OB_OK) {
        switch (msg.type) {
        case OB_PEER_TYPE_NODE:
            s_check_node(&msg, frames, count, epochs);
            break;
        case OB_PEER_TYPE_ACK:
            s_check_ack(&msg, frames, count);
            break;
        case OB_PEER_TYPE_FETCH:
            s_check_fetch(&msg, frames, count);
            break;
        case OB_PEER_TYPE_FETCHED:
            s_check_fetched(&msg, frames, count, epochs);
            break;
        }
    }

    for (size_t i = 0; i < count; i++)
        free(copies[i]);
    return 0;
}

/*  libFuzzer target: ob_peer_msg_decode against a fixed epoch table, and
    the exact round trip of the first frame through
    ob_peer_node_frame_encode / ob_peer_ack_frame_encode.

    Input layout (make_corpus.py writes its seeds the same way):

        selector(u8) ‖ (k-1) × length(u16, big-endian) ‖ frame bytes

    k = selector % 3 + 1 frames. Frame i < k-1 takes the next length_i bytes
    (fewer if the input runs out); the last frame takes the rest. Each frame
    is copied to its own allocation so that ASan sees a read past any frame.
*/
#include "fuzz_common.h"

#define MAX_FRAMES  3
#define MAX_PAYLOAD ((size_t)1 << 20)

static void s_check_node(const ob_peer_msg_t *msg, const ob_frame_t *frames, size_t count,
                         const ob_epoch_lookup_t *epochs)
{
    FUZZ_CHECK(count == 2);
    FUZZ_CHECK(msg->u.node.payload.data == frames[1].data);
    FUZZ_CHECK(msg->u.node.payload.len == frames[1].len);

    size_t cap = frames[0].len;
    uint8_t *out = malloc(cap);
    FUZZ_CHECK(out != NULL);
    size_t written = 0;
    FUZZ_CHECK(ob_peer_node_frame_encode(&msg->u.node.node, out, cap, &written) == 0);
    fuzz_check_same(out, written, frames[0].data, frames[0].len);
    free(out);
    uint8_t *small = malloc(cap - 1);
    FUZZ_CHECK(small != NULL);
    FUZZ_CHECK(ob_peer_node_frame_encode(&msg->u.node.node, small, cap - 1, &written) == -1);
    free(small);

    /* The payload bound is inclusive. */
    ob_peer_msg_t again;
    size_t len = frames[1].len;
    FUZZ_CHECK(ob_peer_msg_decode(&again, frames, count, epochs, len) == OB_OK);
    if (len > 0)
        FUZZ_CHECK(ob_peer_msg_decode(&again, frames, count, epochs, len - 1) == OB_ERR_TOO_LARGE);
}

static void s_check_ack(const ob_peer_msg_t *msg, const ob_frame_t *frames, size_t count)
{
    FUZZ_CHECK(count == 1);
    size_t cap = frames[0].len;
    uint8_t *out = malloc(cap);
    FUZZ_CHECK(out != NULL);
    size_t written = 0;
    FUZZ_CHECK(ob_peer_ack_frame_encode(&msg->u.ack, out, cap, &written) == 0);
    fuzz_check_same(out, written, frames[0].data, frames[0].len);
    free(out);
    uint8_t *small = malloc(cap - 1);
    FUZZ_CHECK(small != NULL);
    FUZZ_CHECK(ob_peer_ack_frame_encode(&msg->u.ack, small, cap - 1, &written) == -1);
    free(small);
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
    if (type != OB_PEER_TYPE_NODE && type != OB_PEER_TYPE_ACK) {
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
        if (msg.type == OB_PEER_TYPE_NODE)
            s_check_node(&msg, frames, count, epochs);
        else if (msg.type == OB_PEER_TYPE_ACK)
            s_check_ack(&msg, frames, count);
        else
            FUZZ_CHECK(!"decoded a message of unknown type");
    }

    for (size_t i = 0; i < count; i++)
        free(copies[i]);
    return 0;
}

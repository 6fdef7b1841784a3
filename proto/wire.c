#include "wire.h"

#include <assert.h>
#include <string.h>

/* A bounded reader: every take checks the remaining length first, so no
   decoder can read past its input whatever the bytes say. */
typedef struct {
    const uint8_t *at;
    size_t left;
} s_reader_t;

static bool s_take(s_reader_t *r, void *out, size_t n)
{
    if (r->left < n)
        return false;
    memcpy(out, r->at, n);
    r->at += n;
    r->left -= n;
    return true;
}

static bool s_take_u16(s_reader_t *r, uint16_t *v)
{
    uint8_t b[2];
    if (!s_take(r, b, 2))
        return false;
    *v = (uint16_t)((b[0] << 8) | b[1]);
    return true;
}

static bool s_take_u64(s_reader_t *r, uint64_t *v)
{
    uint8_t b[8];
    if (!s_take(r, b, 8))
        return false;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = (x << 8) | b[i];
    *v = x;
    return true;
}

static uint16_t s_read_u16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void s_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void s_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* --- certificate entries ------------------------------------------------ */

uint16_t ob_cert_signer(const ob_cert_t *cert, uint16_t position)
{
    assert(position < cert->count);
    return s_read_u16(cert->entries + (size_t)position * OB_CERT_ENTRY_LEN);
}

const uint8_t *ob_cert_signature(const ob_cert_t *cert, uint16_t position)
{
    assert(position < cert->count);
    return cert->entries + (size_t)position * OB_CERT_ENTRY_LEN + 2;
}

size_t ob_cert_encoded_len(const ob_cert_t *cert)
{
    return 2 + (size_t)cert->count * OB_CERT_ENTRY_LEN;
}

ob_error_t ob_cert_check_indices(const ob_cert_t *cert, uint16_t validator_count)
{
    for (uint16_t i = 0; i < cert->count; i++) {
        uint16_t index = ob_cert_signer(cert, i);
        if (i > 0 && index <= ob_cert_signer(cert, (uint16_t)(i - 1)))
            return OB_ERR_CERT_ORDER;
        if (index >= validator_count)
            return OB_ERR_CERT_INDEX;
    }
    return OB_OK;
}

void ob_cert_entry_write(uint8_t entry[OB_CERT_ENTRY_LEN], uint16_t index,
                         const uint8_t signature[OB_SIGNATURE_LEN])
{
    s_put_u16(entry, index);
    memcpy(entry + 2, signature, OB_SIGNATURE_LEN);
}

/* --- encoders ----------------------------------------------------------- */

size_t ob_node_encoded_len(const ob_node_t *node)
{
    size_t len = OB_GENESIS_NODE_LEN;
    if (node->has_parent)
        len += OB_DIGEST_LEN + 8 + ob_cert_encoded_len(&node->parent.cert);
    return len;
}

size_t ob_lock_encoded_len(const ob_lock_t *lock)
{
    return OB_CHUNK_LEN + 8 + ob_cert_encoded_len(&lock->cert);
}

size_t ob_fetched_encoded_len(const ob_fetched_t *fetched)
{
    return 1 + ob_lock_encoded_len(&fetched->lock);
}

static void s_chunk_write(const ob_chunk_t *chunk, uint8_t *out)
{
    memcpy(out, chunk->sequencer, OB_KEY_LEN);
    s_put_u64(out + OB_KEY_LEN, chunk->height);
    memcpy(out + OB_KEY_LEN + 8, chunk->payload, OB_DIGEST_LEN);
}

static void s_cert_write(const ob_cert_t *cert, uint8_t *out)
{
    s_put_u16(out, cert->count);
    if (cert->count > 0)
        memcpy(out + 2, cert->entries, (size_t)cert->count * OB_CERT_ENTRY_LEN);
}

int ob_chunk_encode(const ob_chunk_t *chunk, uint8_t *out, size_t cap, size_t *written)
{
    if (cap < OB_CHUNK_LEN)
        return -1;
    s_chunk_write(chunk, out);
    *written = OB_CHUNK_LEN;
    return 0;
}

int ob_cert_encode(const ob_cert_t *cert, uint8_t *out, size_t cap, size_t *written)
{
    size_t len = ob_cert_encoded_len(cert);
    if (cap < len)
        return -1;
    s_cert_write(cert, out);
    *written = len;
    return 0;
}

int ob_node_encode(const ob_node_t *node, uint8_t *out, size_t cap, size_t *written)
{
    /* A node whose flag disagrees with its height has no valid encoding. */
    if (node->has_parent != (node->chunk.height > 0))
        return -1;
    size_t len = ob_node_encoded_len(node);
    if (cap < len)
        return -1;
    s_chunk_write(&node->chunk, out);
    memcpy(out + OB_CHUNK_LEN, node->signature, OB_SIGNATURE_LEN);
    out[OB_CHUNK_LEN + OB_SIGNATURE_LEN] = node->has_parent ? 1 : 0;
    if (node->has_parent) {
        uint8_t *p = out + OB_GENESIS_NODE_LEN;
        memcpy(p, node->parent.digest, OB_DIGEST_LEN);
        s_put_u64(p + OB_DIGEST_LEN, node->parent.epoch);
        s_cert_write(&node->parent.cert, p + OB_DIGEST_LEN + 8);
    }
    *written = len;
    return 0;
}

int ob_ack_encode(const ob_ack_t *ack, uint8_t *out, size_t cap, size_t *written)
{
    if (cap < OB_ACK_LEN)
        return -1;
    s_chunk_write(&ack->chunk, out);
    s_put_u64(out + OB_CHUNK_LEN, ack->epoch);
    s_put_u16(out + OB_CHUNK_LEN + 8, ack->index);
    memcpy(out + OB_CHUNK_LEN + 10, ack->signature, OB_SIGNATURE_LEN);
    *written = OB_ACK_LEN;
    return 0;
}

int ob_lock_encode(const ob_lock_t *lock, uint8_t *out, size_t cap, size_t *written)
{
    size_t len = ob_lock_encoded_len(lock);
    if (cap < len)
        return -1;
    s_chunk_write(&lock->chunk, out);
    s_put_u64(out + OB_CHUNK_LEN, lock->epoch);
    s_cert_write(&lock->cert, out + OB_CHUNK_LEN + 8);
    *written = len;
    return 0;
}

int ob_proposal_encode(const ob_proposal_t *proposal, uint8_t *out, size_t cap, size_t *written)
{
    if (cap < OB_PROPOSAL_LEN)
        return -1;
    s_chunk_write(&proposal->chunk, out);
    memcpy(out + OB_CHUNK_LEN, proposal->signature, OB_SIGNATURE_LEN);
    *written = OB_PROPOSAL_LEN;
    return 0;
}

int ob_fetch_encode(const ob_fetch_t *fetch, uint8_t *out, size_t cap, size_t *written)
{
    /* Only a count the decoder accepts has an encoding. */
    if (fetch->count < 1 || fetch->count > OB_FETCH_MAX || cap < OB_FETCH_LEN)
        return -1;
    memcpy(out, fetch->sequencer, OB_KEY_LEN);
    s_put_u64(out + OB_KEY_LEN, fetch->height);
    s_put_u16(out + OB_KEY_LEN + 8, fetch->count);
    *written = OB_FETCH_LEN;
    return 0;
}

int ob_fetched_encode(const ob_fetched_t *fetched, uint8_t *out, size_t cap, size_t *written)
{
    size_t len = ob_fetched_encoded_len(fetched);
    if (cap < len)
        return -1;
    out[0] = fetched->has_payload ? 1 : 0;
    size_t body = 0;
    if (ob_lock_encode(&fetched->lock, out + 1, cap - 1, &body) != 0)
        return -1;
    *written = 1 + body;
    return 0;
}

/* --- decoders ----------------------------------------------------------- */

static bool s_take_chunk(s_reader_t *r, ob_chunk_t *chunk)
{
    return s_take(r, chunk->sequencer, OB_KEY_LEN) && s_take_u64(r, &chunk->height) &&
           s_take(r, chunk->payload, OB_DIGEST_LEN);
}

/* Reads a certificate in place. The count is checked against the epoch's n
   before anything else, so a huge count costs nothing to reject. */
static ob_error_t s_take_cert(s_reader_t *r, ob_cert_t *cert, uint16_t validator_count)
{
    if (!s_take_u16(r, &cert->count))
        return OB_ERR_SHORT;
    if (cert->count > validator_count)
        return OB_ERR_CERT_TOO_MANY;
    size_t bytes = (size_t)cert->count * OB_CERT_ENTRY_LEN;
    if (r->left < bytes)
        return OB_ERR_SHORT;
    cert->entries = r->at;
    ob_error_t rc = ob_cert_check_indices(cert, validator_count);
    if (rc != OB_OK)
        return rc;
    r->at += bytes;
    r->left -= bytes;
    return OB_OK;
}

/* Reads epoch ‖ Certificate, the tail shared by Parent and Lock. */
static ob_error_t s_take_epoch_cert(s_reader_t *r, uint64_t *epoch, ob_cert_t *cert,
                                    const ob_epoch_lookup_t *epochs)
{
    if (!s_take_u64(r, epoch))
        return OB_ERR_SHORT;
    uint16_t n = 0;
    if (!epochs->size_of(epochs->ctx, *epoch, &n))
        return OB_ERR_UNKNOWN_EPOCH;
    return s_take_cert(r, cert, n);
}

static ob_error_t s_finish(const s_reader_t *r)
{
    return r->left == 0 ? OB_OK : OB_ERR_TRAILING;
}

ob_error_t ob_chunk_decode(ob_chunk_t *out, const uint8_t *data, size_t len)
{
    s_reader_t r = {data, len};
    if (!s_take_chunk(&r, out))
        return OB_ERR_SHORT;
    return s_finish(&r);
}

ob_error_t ob_cert_decode(ob_cert_t *out, const uint8_t *data, size_t len, uint16_t validator_count)
{
    s_reader_t r = {data, len};
    ob_error_t rc = s_take_cert(&r, out, validator_count);
    return rc != OB_OK ? rc : s_finish(&r);
}

ob_error_t ob_node_decode(ob_node_t *out, const uint8_t *data, size_t len,
                          const ob_epoch_lookup_t *epochs)
{
    s_reader_t r = {data, len};
    uint8_t flag;
    if (!s_take_chunk(&r, &out->chunk) || !s_take(&r, out->signature, OB_SIGNATURE_LEN) ||
        !s_take(&r, &flag, 1))
        return OB_ERR_SHORT;
    if (flag > 1)
        return OB_ERR_BAD_FLAG;
    out->has_parent = flag == 1;
    if (out->has_parent && out->chunk.height == 0)
        return OB_ERR_PARENT_ON_GENESIS;
    if (!out->has_parent && out->chunk.height > 0)
        return OB_ERR_PARENT_MISSING;
    if (out->has_parent) {
        if (!s_take(&r, out->parent.digest, OB_DIGEST_LEN))
            return OB_ERR_SHORT;
        ob_error_t rc = s_take_epoch_cert(&r, &out->parent.epoch, &out->parent.cert, epochs);
        if (rc != OB_OK)
            return rc;
    } else {
        memset(&out->parent, 0, sizeof out->parent);
    }
    return s_finish(&r);
}

ob_error_t ob_ack_decode(ob_ack_t *out, const uint8_t *data, size_t len)
{
    s_reader_t r = {data, len};
    if (!s_take_chunk(&r, &out->chunk) || !s_take_u64(&r, &out->epoch) ||
        !s_take_u16(&r, &out->index) || !s_take(&r, out->signature, OB_SIGNATURE_LEN))
        return OB_ERR_SHORT;
    return s_finish(&r);
}

ob_error_t ob_lock_decode(ob_lock_t *out, const uint8_t *data, size_t len,
                          const ob_epoch_lookup_t *epochs)
{
    s_reader_t r = {data, len};
    if (!s_take_chunk(&r, &out->chunk))
        return OB_ERR_SHORT;
    ob_error_t rc = s_take_epoch_cert(&r, &out->epoch, &out->cert, epochs);
    return rc != OB_OK ? rc : s_finish(&r);
}

ob_error_t ob_proposal_decode(ob_proposal_t *out, const uint8_t *data, size_t len)
{
    s_reader_t r = {data, len};
    if (!s_take_chunk(&r, &out->chunk) || !s_take(&r, out->signature, OB_SIGNATURE_LEN))
        return OB_ERR_SHORT;
    return s_finish(&r);
}

ob_error_t ob_fetch_decode(ob_fetch_t *out, const uint8_t *data, size_t len)
{
    s_reader_t r = {data, len};
    if (!s_take(&r, out->sequencer, OB_KEY_LEN) || !s_take_u64(&r, &out->height) ||
        !s_take_u16(&r, &out->count))
        return OB_ERR_SHORT;
    if (out->count < 1 || out->count > OB_FETCH_MAX)
        return OB_ERR_FETCH_COUNT;
    return s_finish(&r);
}

ob_error_t ob_fetched_decode(ob_fetched_t *out, const uint8_t *data, size_t len,
                             const ob_epoch_lookup_t *epochs)
{
    if (len < 1)
        return OB_ERR_SHORT;
    if (data[0] > 1)
        return OB_ERR_BAD_FLAG;
    out->has_payload = data[0] == 1;
    return ob_lock_decode(&out->lock, data + 1, len - 1, epochs);
}

/* --- peer messages ------------------------------------------------------ */

/* A message of one frame, or of a first frame and a payload frame: the
   frames that follow the first must be exactly those expected. */
static ob_error_t s_take_payload_frame(const ob_frame_t *frames, size_t frame_count,
                                       bool has_payload, size_t max_payload, ob_frame_t *payload)
{
    size_t expected = has_payload ? 2 : 1;
    if (frame_count < expected)
        return OB_ERR_SHORT;
    if (frame_count > expected)
        return OB_ERR_TRAILING;
    if (!has_payload) {
        *payload = (ob_frame_t){NULL, 0};
        return OB_OK;
    }
    if (frames[1].len > max_payload)
        return OB_ERR_TOO_LARGE;
    *payload = frames[1];
    return OB_OK;
}

ob_error_t ob_peer_msg_decode(ob_peer_msg_t *out, const ob_frame_t *frames, size_t frame_count,
                              const ob_epoch_lookup_t *epochs, size_t max_payload)
{
    if (frame_count == 0 || frames[0].len < 2)
        return OB_ERR_SHORT;
    const uint8_t *head = frames[0].data;
    /* Checked as a byte first: only a known type is stored in the enum. */
    if (head[0] != OB_PEER_TYPE_NODE && head[0] != OB_PEER_TYPE_ACK &&
        head[0] != OB_PEER_TYPE_FETCH && head[0] != OB_PEER_TYPE_FETCHED)
        return OB_ERR_UNKNOWN_TYPE;
    out->type = (ob_peer_type_t)head[0];
    if (head[1] != OB_PEER_VERSION)
        return OB_ERR_BAD_VERSION;
    const uint8_t *body = head + 2;
    size_t body_len = frames[0].len - 2;

    ob_error_t rc;
    switch (out->type) {
    case OB_PEER_TYPE_ACK:
        if (frame_count > 1)
            return OB_ERR_TRAILING;
        return ob_ack_decode(&out->u.ack, body, body_len);
    case OB_PEER_TYPE_FETCH:
        if (frame_count > 1)
            return OB_ERR_TRAILING;
        return ob_fetch_decode(&out->u.fetch, body, body_len);
    case OB_PEER_TYPE_FETCHED:
        rc = ob_fetched_decode(&out->u.fetched.fetched, body, body_len, epochs);
        if (rc != OB_OK)
            return rc;
        return s_take_payload_frame(frames, frame_count, out->u.fetched.fetched.has_payload,
                                    max_payload, &out->u.fetched.payload);
    case OB_PEER_TYPE_NODE:
        rc = ob_node_decode(&out->u.node.node, body, body_len, epochs);
        if (rc != OB_OK)
            return rc;
        return s_take_payload_frame(frames, frame_count, true, max_payload, &out->u.node.payload);
    }
    return OB_ERR_UNKNOWN_TYPE; /* not reached: the type was checked above */
}

/* Writes the header once `cap` is known to hold header and body. */
static int s_peer_frame(ob_peer_type_t type, size_t body_len, uint8_t *out, size_t cap)
{
    if (cap < 2 + body_len)
        return -1;
    out[0] = (uint8_t)type;
    out[1] = OB_PEER_VERSION;
    return 0;
}

static int s_peer_frame_done(int body_rc, const size_t *body, size_t *written)
{
    if (body_rc != 0)
        return -1;
    *written = 2 + *body;
    return 0;
}

int ob_peer_node_frame_encode(const ob_node_t *node, uint8_t *out, size_t cap, size_t *written)
{
    if (s_peer_frame(OB_PEER_TYPE_NODE, ob_node_encoded_len(node), out, cap) != 0)
        return -1;
    size_t body = 0;
    return s_peer_frame_done(ob_node_encode(node, out + 2, cap - 2, &body), &body, written);
}

int ob_peer_ack_frame_encode(const ob_ack_t *ack, uint8_t *out, size_t cap, size_t *written)
{
    if (s_peer_frame(OB_PEER_TYPE_ACK, OB_ACK_LEN, out, cap) != 0)
        return -1;
    size_t body = 0;
    return s_peer_frame_done(ob_ack_encode(ack, out + 2, cap - 2, &body), &body, written);
}

int ob_peer_fetch_frame_encode(const ob_fetch_t *fetch, uint8_t *out, size_t cap, size_t *written)
{
    if (s_peer_frame(OB_PEER_TYPE_FETCH, OB_FETCH_LEN, out, cap) != 0)
        return -1;
    size_t body = 0;
    return s_peer_frame_done(ob_fetch_encode(fetch, out + 2, cap - 2, &body), &body, written);
}

int ob_peer_fetched_frame_encode(const ob_fetched_t *fetched, uint8_t *out, size_t cap,
                                 size_t *written)
{
    if (s_peer_frame(OB_PEER_TYPE_FETCHED, ob_fetched_encoded_len(fetched), out, cap) != 0)
        return -1;
    size_t body = 0;
    return s_peer_frame_done(ob_fetched_encode(fetched, out + 2, cap - 2, &body), &body, written);
}

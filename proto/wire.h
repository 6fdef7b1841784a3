/*  The byte layouts of SPEC §2: Chunk, Certificate, Parent, Node, Ack, Lock,
    Proposal, Fetch, Fetched, and the peer message frames.

    Decoders are strict (exact lengths, no trailing bytes, flags 0 or 1,
    parent iff height > 0, certificate count bounded by its epoch's n,
    indices strictly increasing and below n). They never read past their
    input and never allocate: a decoded certificate is a view into the
    bytes it was decoded from, so those bytes must outlive it.

    Encoders write into a caller's buffer and fail cleanly when it is too
    small; `ob_*_encoded_len` says how much they need. */
#ifndef OB_WIRE_H
#define OB_WIRE_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OB_KEY_LEN          32
#define OB_DIGEST_LEN       32
#define OB_SIGNATURE_LEN    64
#define OB_CHUNK_LEN        72  /* sequencer ‖ height ‖ payload digest */
#define OB_CERT_ENTRY_LEN   66  /* index(u16) ‖ signature */
#define OB_ACK_LEN          146 /* Chunk ‖ epoch ‖ index ‖ signature */
#define OB_PROPOSAL_LEN     136 /* Chunk ‖ signature */
#define OB_GENESIS_NODE_LEN (OB_CHUNK_LEN + OB_SIGNATURE_LEN + 1)

/* A certificate's count is a u16, so no epoch can name more validators. */
#define OB_MAX_VALIDATORS 65535

/* Peer message header: type(u8) ‖ version(u8). */
#define OB_PEER_VERSION 1

/* The peer message types. An enum, so that a switch over a decoded
   message's type that misses one fails to compile (-Wswitch). */
typedef enum {
    OB_PEER_TYPE_NODE = 1,
    OB_PEER_TYPE_ACK = 2,
    OB_PEER_TYPE_FETCH = 3,
    OB_PEER_TYPE_FETCHED = 4,
} ob_peer_type_t;

/* A Fetch asks for at most this many heights (SPEC §2, else fetch_count). */
#define OB_FETCH_MAX 64
#define OB_FETCH_LEN (OB_KEY_LEN + 8 + 2) /* sequencer ‖ height ‖ count */

typedef struct {
    uint8_t sequencer[OB_KEY_LEN];
    uint64_t height;
    uint8_t payload[OB_DIGEST_LEN];
} ob_chunk_t;

/* A certificate as it is on the wire: `count` entries of index ‖ signature
   at `entries`, which points into encoded bytes owned by someone else. */
typedef struct {
    uint16_t count;
    const uint8_t *entries;
} ob_cert_t;

typedef struct {
    uint8_t digest[OB_DIGEST_LEN]; /* payload digest of the chunk at height-1 */
    uint64_t epoch;
    ob_cert_t cert;
} ob_parent_t;

typedef struct {
    ob_chunk_t chunk;
    uint8_t signature[OB_SIGNATURE_LEN];
    bool has_parent;
    ob_parent_t parent; /* meaningful only when has_parent */
} ob_node_t;

typedef struct {
    ob_chunk_t chunk;
    uint64_t epoch;
    uint16_t index;
    uint8_t signature[OB_SIGNATURE_LEN];
} ob_ack_t;

typedef struct {
    ob_chunk_t chunk;
    uint64_t epoch;
    ob_cert_t cert;
} ob_lock_t;

typedef struct {
    ob_chunk_t chunk;
    uint8_t signature[OB_SIGNATURE_LEN];
} ob_proposal_t;

/* A request for the sequencer's Locks at [height, height + count). The
   range may run past UINT64_MAX: the answerer has nothing there. */
typedef struct {
    uint8_t sequencer[OB_KEY_LEN];
    uint64_t height;
    uint16_t count; /* 1 to OB_FETCH_MAX */
} ob_fetch_t;

/* An answer to a Fetch: one Lock, and whether its payload follows as a
   second frame. */
typedef struct {
    bool has_payload;
    ob_lock_t lock;
} ob_fetched_t;

/* Tells a decoder how many validators an epoch has: the bound on any
   certificate of that epoch. Returns false for an unknown epoch. */
typedef bool(ob_epoch_size_fn)(const void *ctx, uint64_t epoch, uint16_t *validator_count);

typedef struct {
    ob_epoch_size_fn *size_of;
    const void *ctx;
} ob_epoch_lookup_t;

/* --- certificate entries ------------------------------------------------ */

uint16_t ob_cert_signer(const ob_cert_t *cert, uint16_t position);
const uint8_t *ob_cert_signature(const ob_cert_t *cert, uint16_t position);
size_t ob_cert_encoded_len(const ob_cert_t *cert);

/* The §2 rules on a certificate's signers: indices strictly increasing
   (cert_order) and below the epoch's n (cert_index). The decoder applies
   them; so must anyone holding a certificate that was not decoded. */
ob_error_t ob_cert_check_indices(const ob_cert_t *cert, uint16_t validator_count);

/* --- encoded sizes ------------------------------------------------------ */

size_t ob_node_encoded_len(const ob_node_t *node);
size_t ob_lock_encoded_len(const ob_lock_t *lock);
size_t ob_fetched_encoded_len(const ob_fetched_t *fetched);

/* --- encoders: 0 on success with *written set, -1 if `cap` is too small or
   the value cannot be encoded (a node whose parent flag disagrees with its
   height). Nothing past `cap` is ever written. */

int ob_chunk_encode(const ob_chunk_t *chunk, uint8_t *out, size_t cap, size_t *written);
int ob_cert_encode(const ob_cert_t *cert, uint8_t *out, size_t cap, size_t *written);
int ob_node_encode(const ob_node_t *node, uint8_t *out, size_t cap, size_t *written);
int ob_ack_encode(const ob_ack_t *ack, uint8_t *out, size_t cap, size_t *written);
int ob_lock_encode(const ob_lock_t *lock, uint8_t *out, size_t cap, size_t *written);
int ob_proposal_encode(const ob_proposal_t *proposal, uint8_t *out, size_t cap, size_t *written);
/* A Fetch whose count is outside 1..OB_FETCH_MAX cannot be encoded. */
int ob_fetch_encode(const ob_fetch_t *fetch, uint8_t *out, size_t cap, size_t *written);
int ob_fetched_encode(const ob_fetched_t *fetched, uint8_t *out, size_t cap, size_t *written);

/* Writes one certificate entry; for building certificates in place. */
void ob_cert_entry_write(uint8_t entry[OB_CERT_ENTRY_LEN], uint16_t index,
                         const uint8_t signature[OB_SIGNATURE_LEN]);

/* --- decoders: OB_OK, or the SPEC §2 error of the first thing wrong. On
   error *out is unspecified. */

ob_error_t ob_chunk_decode(ob_chunk_t *out, const uint8_t *data, size_t len);
ob_error_t ob_cert_decode(ob_cert_t *out, const uint8_t *data, size_t len,
                          uint16_t validator_count);
ob_error_t ob_node_decode(ob_node_t *out, const uint8_t *data, size_t len,
                          const ob_epoch_lookup_t *epochs);
ob_error_t ob_ack_decode(ob_ack_t *out, const uint8_t *data, size_t len);
ob_error_t ob_lock_decode(ob_lock_t *out, const uint8_t *data, size_t len,
                          const ob_epoch_lookup_t *epochs);
ob_error_t ob_proposal_decode(ob_proposal_t *out, const uint8_t *data, size_t len);
/* Errors: short, fetch_count, trailing. */
ob_error_t ob_fetch_decode(ob_fetch_t *out, const uint8_t *data, size_t len);
/* Errors: short, bad_flag, and those of ob_lock_decode. */
ob_error_t ob_fetched_decode(ob_fetched_t *out, const uint8_t *data, size_t len,
                             const ob_epoch_lookup_t *epochs);

/* --- peer messages ------------------------------------------------------ */

typedef struct {
    const uint8_t *data;
    size_t len;
} ob_frame_t;

typedef struct {
    ob_peer_type_t type;
    union {
        struct {
            ob_node_t node;
            ob_frame_t payload; /* view of the second frame */
        } node;
        ob_ack_t ack;
        ob_fetch_t fetch;
        struct {
            ob_fetched_t fetched;
            ob_frame_t payload; /* the second frame; {NULL, 0} without payload */
        } fetched;
    } u;
} ob_peer_msg_t;

/* Decodes a multipart peer message. A Node has exactly two frames, the
   second its payload of at most `max_payload` bytes; an Ack and a Fetch
   have one; a Fetched has two if its flag says a payload follows (at most
   `max_payload` bytes), else one. A missing frame is `short`, one too many
   `trailing`; the body is decoded before the frames are counted. */
ob_error_t ob_peer_msg_decode(ob_peer_msg_t *out, const ob_frame_t *frames, size_t frame_count,
                              const ob_epoch_lookup_t *epochs, size_t max_payload);

/* Writes the first frame of a peer message (header ‖ body). The payload of
   a Node travels as its own frame and is not written here. */
int ob_peer_node_frame_encode(const ob_node_t *node, uint8_t *out, size_t cap, size_t *written);
int ob_peer_ack_frame_encode(const ob_ack_t *ack, uint8_t *out, size_t cap, size_t *written);
int ob_peer_fetch_frame_encode(const ob_fetch_t *fetch, uint8_t *out, size_t cap, size_t *written);
/* The payload of a Fetched with has_payload travels as its own frame. */
int ob_peer_fetched_frame_encode(const ob_fetched_t *fetched, uint8_t *out, size_t cap,
                                 size_t *written);

#endif

/*  What a pure handler hands back: messages to other actors, to peers and
    to the application, held until the shell has committed the batch that
    made them (persist before send, SPEC §4). Bounded: a handler that would
    overflow it is told so and must drop, never block. */
#ifndef OB_OUTBOX_H
#define OB_OUTBOX_H

#include "imsg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The actors of a node. The numbers double as arena owner ids. */
typedef enum {
    OB_ACTOR_NET = 1,
    OB_ACTOR_VERIFIER = 2,
    OB_ACTOR_SIGNER = 3,
    OB_ACTOR_JOURNAL = 4,
} ob_actor_t;

#define OB_ACTOR_COUNT 4

const char *ob_actor_name(ob_actor_t actor);

/* The arena owner id of an actor's instance: the actor's number, and for
   verifier instances past the first one id each above every actor's. */
uint16_t ob_actor_arena_owner(ob_actor_t actor, uint32_t instance);

typedef enum {
    OB_DEST_ACTOR,  /* an imsg to another actor of this node */
    OB_DEST_PEER,   /* a peer message (frame 0, plus a payload frame if any) */
    OB_DEST_APP,    /* an imsg for the application */
    OB_DEST_CLIENT, /* an imsg for one client of the submit socket */
} ob_dest_kind_t;

/* A client of the submit socket, as the shell names it: the ZeroMQ
   routing id its ROUTER gave it (5 bytes unless the client set one; longer
   than OB_CLIENT_ID_MAX is not served). */
#define OB_CLIENT_ID_MAX 31
typedef struct {
    uint8_t len;
    uint8_t id[OB_CLIENT_ID_MAX];
} ob_client_id_t;

typedef struct {
    ob_dest_kind_t kind;
    ob_actor_t actor; /* OB_DEST_ACTOR */
    /* OB_DEST_ACTOR to the verifier: the instance is route % K, so that
       every message of one chunk meets in one instance; unrouted ones are
       shared round-robin. */
    bool routed;
    uint32_t route;
    uint8_t peer[32]; /* OB_DEST_PEER */
    /* OB_DEST_PEER: a second frame from the arena. OB_DEST_ACTOR: the
       slot the message hands over (ob_imsg_payload), marked sent to its
       receiver once it left (ob_arena_sent). */
    bool has_payload;
    ob_handle_t payload;
    ob_client_id_t client; /* OB_DEST_CLIENT */
    size_t offset;         /* the encoded bytes, in the outbox's buffer */
    size_t len;
} ob_envelope_t;

typedef struct _ob_outbox_t ob_outbox_t;

ob_outbox_t *ob_outbox_new(size_t max_envelopes, size_t max_bytes);
void ob_outbox_destroy(ob_outbox_t **self_p);

/* Encodes `msg` for another actor. -1 if the outbox is full. */
int ob_outbox_to_actor(ob_outbox_t *self, ob_actor_t to, const ob_imsg_t *msg);
/* Encodes `msg` for the verifier instance that `route` picks (see
   ob_outbox_route). */
int ob_outbox_to_verifier(ob_outbox_t *self, uint32_t route, const ob_imsg_t *msg);
/* The route of a chunk: every peer message and every note on one
   (sequencer, height) goes to the same verifier instance. */
uint32_t ob_outbox_route(const uint8_t sequencer[32], uint64_t height);
/* The instance of `route` among `instances` (at least 1). */
uint32_t ob_outbox_route_instance(uint32_t route, uint32_t instances);

/* Encodes `msg` for the application. */
int ob_outbox_to_app(ob_outbox_t *self, const ob_imsg_t *msg);
/* Encodes `msg` for one client of the submit socket. */
int ob_outbox_to_client(ob_outbox_t *self, const ob_client_id_t *client, const ob_imsg_t *msg);
/* Queues peer frame 0 (already encoded) for `peer`, with an optional
   payload frame. */
int ob_outbox_to_peer(ob_outbox_t *self, const uint8_t peer[32], const uint8_t *frame,
                      size_t frame_len, const ob_handle_t *payload);

/* Two messages every actor sends the journal: a drop to count by its error
   name (`peer` may be NULL), and the request for the current state that
   an actor makes once it has (re)started. Drops of one (actor, error,
   peer) between two clears are one message with their count. */
int ob_outbox_dropped(ob_outbox_t *self, ob_actor_t from, ob_error_t error, const uint8_t *peer);
int ob_outbox_state_request(ob_outbox_t *self, ob_actor_t from);

size_t ob_outbox_count(const ob_outbox_t *self);
const ob_envelope_t *ob_outbox_at(const ob_outbox_t *self, size_t i);
const uint8_t *ob_outbox_bytes(const ob_outbox_t *self, const ob_envelope_t *envelope);
/* Empties it (after sending, or when a crash loses it), giving back the
   memory a large batch touched. */
void ob_outbox_clear(ob_outbox_t *self);
/* Times a push was refused because the outbox was full. */
uint64_t ob_outbox_overflows(const ob_outbox_t *self);

/* Times a clear gave back the memory of a batch larger than what the
   outbox keeps resident (1 MiB of envelopes and 1 MiB of bytes). */
uint64_t ob_outbox_give_backs(const ob_outbox_t *self);

#endif

/*  Payload slots held by peer messages in flight (SPEC §4: "A slot is
    freed once nothing needs its bytes any more ... The slots held for
    sends to slow peers are capped").

    net sends a Node's payload to each peer straight from its arena slot:
    the ZeroMQ message points into the slot (zmq_msg_init_data) and libzmq
    calls back once it is done with it, from its I/O thread. The slot goes
    back to the arena when the last of those messages, and net's own hold
    for the batch, are done. A slot so held renews its lease (the
    supervisor frees a slot held longer than its lease as lost), and at
    most `cap` slots are held by messages at once: past that the bytes are
    copied into the message, as before. */
#ifndef OB_NET_PINS_H
#define OB_NET_PINS_H

#include "arena.h"
#include "why.h"

#include <zmq.h>

typedef struct _ob_pins_t ob_pins_t;

/* For the slots `owner` holds in `arena`; at most `cap` pinned at once. */
ob_pins_t *ob_pins_new(ob_arena_t *arena, uint16_t owner, uint32_t cap, ob_why_t *why);
/* Messages still in flight keep pointing into the arena: destroy only
   after their sockets are closed (libzmq has called back for each). */
void ob_pins_destroy(ob_pins_t **self_p);

/* A message of the slot's bytes, without a copy, that holds the slot
   until libzmq releases it. -1 (nothing made) if the handle is stale or
   `cap` slots are pinned already: the caller copies. The owner must hold
   the slot now, and end that hold with ob_pins_release. */
int ob_pins_msg(ob_pins_t *self, const ob_handle_t *handle, zmq_msg_t *msg);
/* The owner's hold ends: the slot goes back to the arena now, or when the
   last message pointing into it is done. */
void ob_pins_release(ob_pins_t *self, const ob_handle_t *handle);
/* Renews the lease of every slot messages still hold. */
void ob_pins_renew(ob_pins_t *self);
/* Slots messages hold at this moment. */
uint32_t ob_pins_pinned(const ob_pins_t *self);
/* Messages made without a copy, and those refused (stale, or the cap). */
uint64_t ob_pins_zero_copy(const ob_pins_t *self);
uint64_t ob_pins_refused(const ob_pins_t *self);

#endif

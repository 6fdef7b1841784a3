/*  The node's payload arena (SPEC §4): payload bytes live in fixed-size
    slots of one memory region that every actor maps, and messages between
    actors carry an ob_handle_t instead of the bytes.

    The whole layout (header, per-slot control table, slot data) lives in
    the caller's memory, so the same code serves a memfd or shm mapping
    shared by processes and plain heap memory in compact mode and in the
    simulator. Each slot's state changes only by compare-and-swap on one
    lock-free atomic word, so an actor killed at any instant leaves no lock
    behind: at worst slots stay claimed until ob_arena_reclaim or
    ob_arena_expire frees them.

    A slot goes FREE -> WRITING -> HELD -> FREE. Every return to FREE bumps
    the slot's generation, so a handle taken before is stale for good. A
    HELD slot whose handle its owner sent to another actor is SENT (still
    the sender's, readable, takeable) until the addressee takes it: a
    message lost with its dead addressee then costs no slot beyond the
    addressee's restart (ob_arena_reclaim).

    Owner ids are small positive integers naming actors; 0 means "none".
    An ob_arena_t is a process-local view of the region and may be used by
    several threads at once; each thread brings its own ob_crypto_t. */
#ifndef OB_ARENA_H
#define OB_ARENA_H

#include "crypto.h"
#include "why.h"

#include "../proto/handle.h"

#include <stddef.h>
#include <stdint.h>

typedef struct _ob_arena_t ob_arena_t;

/* Bytes a region of `slot_count` slots of `slot_size` bytes needs, or 0 if
   either is 0 or the size does not fit in size_t. */
size_t ob_arena_region_size(uint32_t slot_count, uint32_t slot_size);

/* Lays out a fresh arena in `region` (8-byte aligned, at least
   ob_arena_region_size bytes), every slot FREE. Only for a region nobody
   else is using yet. The caller keeps the region and unmaps it after
   ob_arena_destroy. */
ob_arena_t *ob_arena_format(void *region, size_t region_size, uint32_t slot_count,
                            uint32_t slot_size, ob_why_t *why);

/* Views a region that ob_arena_format laid out, in this or another
   process. Fails, with the reason, on a short or misaligned region, a wrong
   magic or layout version, or sizes that disagree. */
ob_arena_t *ob_arena_attach(void *region, size_t region_size, ob_why_t *why);

/* An arena in heap memory that the arena owns, for --inproc mode and the
   simulator. */
ob_arena_t *ob_arena_new_heap(uint32_t slot_count, uint32_t slot_size, ob_why_t *why);

/* Frees this view (and the heap region of ob_arena_new_heap). The slots are
   left as they are: other views of a shared region are unaffected. */
/* A fresh arena in shared memory (memfd_create, mode 0600), formatted; the
   descriptor goes to *fd_out for the actors, which map it with
   ob_arena_map_shared. It lives as long as some process holds the
   descriptor or a mapping: an actor's crash never takes it away. */
ob_arena_t *ob_arena_create_shared(uint32_t slot_count, uint32_t slot_size, int *fd_out,
                                   ob_why_t *why);
/* Maps an arena another process created, checking its header. */
ob_arena_t *ob_arena_map_shared(int fd, ob_why_t *why);

void ob_arena_destroy(ob_arena_t **self_p);

/* Where lease times come from: CLOCK_MONOTONIC milliseconds unless set
   (the simulator sets its virtual clock). CLOCK_MONOTONIC is one clock for
   every process of the machine, so leases compare across actors. */
void ob_arena_set_clock(ob_arena_t *self, uint64_t (*now_ms)(void *ctx), void *ctx);

uint32_t ob_arena_slot_size(const ob_arena_t *self);
uint32_t ob_arena_slot_count(const ob_arena_t *self);
/* Slots not FREE at the moment of the scan. */
uint32_t ob_arena_in_use(const ob_arena_t *self);

/* Payload bytes ob_arena_put copied in through this view: one copy each,
   counted for the payload-copies metric. */
uint64_t ob_arena_bytes_put(const ob_arena_t *self);

/* Bytes of slot memory this view gave back to the system at a seal: a
   slot's pages past its new contents, once a larger payload had left
   them behind. */
uint64_t ob_arena_bytes_trimmed(const ob_arena_t *self);

/* Claims a FREE slot for `owner` to write up to `len` bytes into `*data`.
   Fills the handle's slot, generation and len, zeroes its digest. Returns
   -1 if owner is 0, len > slot size, or no slot is FREE: that is
   backpressure, the caller stops reading; nothing is ever overwritten. */
int ob_arena_alloc(ob_arena_t *self, uint16_t owner, uint32_t len, uint8_t **data,
                   ob_handle_t *handle);

/* Seals the first handle->len bytes written after ob_arena_alloc (the
   caller may lower handle->len in between): records len and SHA-256, makes
   the slot HELD by the same owner, and fills handle->digest. -1 if the
   handle is stale, not WRITING, or its len exceeds the slot size. */
int ob_arena_seal(ob_arena_t *self, ob_crypto_t *crypto, ob_handle_t *handle);

/* ob_arena_alloc, copy, ob_arena_seal. */
int ob_arena_put(ob_arena_t *self, ob_crypto_t *crypto, uint16_t owner, const void *data,
                 uint32_t len, ob_handle_t *handle);

/* The bytes of a HELD slot, or NULL if the handle is stale (generation
   differs or slot not HELD), its slot is out of range, or its len is not
   the sealed len. The pointer is into shared memory: the bytes stay put
   only while someone holds the slot, and a writer outside this process can
   change them, so rely on them only through ob_arena_check. */
const uint8_t *ob_arena_get(const ob_arena_t *self, const ob_handle_t *handle);

/* Re-hashes the slot's bytes against handle->digest at the point of use.
   Returns 0, or -1 if the handle is stale (before or after hashing) or the
   bytes changed. The bytes can still change after it returns; a consumer
   that must not be fooled by that copies them first and hashes the copy. */
int ob_arena_check(const ob_arena_t *self, ob_crypto_t *crypto, const ob_handle_t *handle);

/* Moves a HELD slot to `new_owner` (not 0) and renews its lease: the
   receiving actor takes the handle when it accepts the message. -1 if
   stale. */
int ob_arena_take(ob_arena_t *self, const ob_handle_t *handle, uint16_t new_owner);

/* Frees a slot that `owner` holds: HELD, or WRITING to abandon an unsealed
   alloc. -1 if stale or another owner's. */
int ob_arena_release(ob_arena_t *self, const ob_handle_t *handle, uint16_t owner);

/* Marks a slot `owner` holds as sent to `addressee` (an owner id) in a
   message: the shell does it once the message has left. The slot stays
   the sender's (release, reclaim and expire treat it as HELD) until the
   addressee takes it. -1 if the handle is stale or not `owner`'s: then
   nothing changes. */
int ob_arena_sent(ob_arena_t *self, const ob_handle_t *handle, uint16_t owner, uint16_t addressee);

/* For a restarted actor: frees every slot, WRITING or HELD, that its dead
   predecessor with the same owner id held, and every slot sent to that id
   and not taken: the messages that carried them died with it. Only call
   it when no live actor uses that id. Returns how many. */
uint32_t ob_arena_reclaim(ob_arena_t *self, uint16_t owner);

/* Frees HELD slots whose lease (set by alloc and take) is more than
   max_age_ms before now_ms: messages lost with a crashed receiver. Slots
   still WRITING are left to ob_arena_reclaim. Returns how many. */
uint32_t ob_arena_expire(ob_arena_t *self, uint64_t now_ms, uint64_t max_age_ms);

#endif

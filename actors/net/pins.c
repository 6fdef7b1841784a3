#include "pins.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"

/* One per arena slot: a slot is held by one owner at a time, so by one
   handle. `refs` counts the owner's hold (1) plus each message in flight;
   0 when the slot is not pinned. The handle changes only while refs is 0,
   so a callback that holds a reference reads it safely. */
typedef struct {
    struct _ob_pins_t *pins;
    ob_handle_t handle;
    atomic_uint refs;
    bool owner_holds; /* the owner's reference is still among refs (owner's thread only) */
} s_pin_t;

struct _ob_pins_t {
    ob_arena_t *arena;
    uint16_t owner;
    uint32_t cap;
    uint32_t slots;
    s_pin_t *pins;
    atomic_uint pinned;
    uint64_t zero_copy, refused; /* the owner's thread only */
};

ob_pins_t *ob_pins_new(ob_arena_t *arena, uint16_t owner, uint32_t cap, ob_why_t *why)
{
    assert(arena && owner != 0);
    ob_pins_t *self = calloc(1, sizeof *self);
    uint32_t slots = ob_arena_slot_count(arena);
    if (!self || !(self->pins = calloc(slots ? slots : 1, sizeof *self->pins))) {
        free(self);
        ob_why(why, "out of memory");
        return NULL;
    }
    self->arena = arena;
    self->owner = owner;
    self->cap = cap;
    self->slots = slots;
    atomic_init(&self->pinned, 0);
    for (uint32_t i = 0; i < slots; i++) {
        self->pins[i].pins = self;
        atomic_init(&self->pins[i].refs, 0);
    }
    return self;
}

void ob_pins_destroy(ob_pins_t **self_p)
{
    assert(self_p);
    ob_pins_t *self = *self_p;
    if (!self)
        return;
    *self_p = NULL;
    /* libzmq frees the messages of closed sockets on its I/O thread, a
       little after zmq_close returns: wait for their callbacks. Should one
       never come, the table is left allocated rather than freed under a
       callback still due. */
    for (int ms = 0; ms < 2000 && atomic_load(&self->pinned) > 0; ms++)
        usleep(1000);
    if (atomic_load(&self->pinned) > 0) {
        ob_warn("net: %u payload slots still held by messages at exit", atomic_load(&self->pinned));
        return;
    }
    free(self->pins);
    free(self);
}

/* Drops one reference; the last one gives the slot back. Called from
   libzmq's I/O thread for a message, from the owner's for its hold. */
static void s_unref(s_pin_t *pin)
{
    /* The handle was written before the reference we drop was taken
       (ob_pins_msg). The acquire orders our read after that write by the
       C11 model itself; without it, on libzmq's I/O thread, only libzmq's
       own hand-over of the message did (ThreadSanitizer, which cannot see
       inside libzmq, reported the read as a race with that write). */
    (void)atomic_load_explicit(&pin->refs, memory_order_acquire);
    ob_handle_t handle = pin->handle; /* stable while we hold a reference */
    if (atomic_fetch_sub(&pin->refs, 1) == 1) {
        ob_arena_release(pin->pins->arena, &handle, pin->pins->owner);
        atomic_fetch_sub(&pin->pins->pinned, 1);
    }
}

static void s_message_done(void *data, void *hint)
{
    (void)data;
    s_unref(hint);
}

int ob_pins_msg(ob_pins_t *self, const ob_handle_t *handle, zmq_msg_t *msg)
{
    const uint8_t *bytes = ob_arena_get(self->arena, handle);
    if (!bytes || handle->slot >= self->slots) {
        self->refused++;
        return -1;
    }
    s_pin_t *pin = &self->pins[handle->slot];
    if (atomic_load(&pin->refs) == 0) {
        if (atomic_load(&self->pinned) >= self->cap) {
            self->refused++;
            return -1;
        }
        pin->handle = *handle;
        pin->owner_holds = true;
        atomic_fetch_add(&self->pinned, 1);
        atomic_store(&pin->refs, 1); /* the owner's hold */
    }
    assert(pin->handle.generation == handle->generation);
    atomic_fetch_add(&pin->refs, 1);
    if (zmq_msg_init_data(msg, (void *)bytes, handle->len, s_message_done, pin) != 0) {
        s_unref(pin);
        self->refused++;
        return -1;
    }
    self->zero_copy++;
    return 0;
}

void ob_pins_release(ob_pins_t *self, const ob_handle_t *handle)
{
    if (handle->slot < self->slots) {
        s_pin_t *pin = &self->pins[handle->slot];
        if (atomic_load(&pin->refs) > 0 && pin->handle.generation == handle->generation) {
            /* once: a handle named twice must not drop a message's reference */
            if (pin->owner_holds) {
                pin->owner_holds = false;
                s_unref(pin);
            }
            return;
        }
    }
    ob_arena_release(self->arena, handle, self->owner);
}

void ob_pins_renew(ob_pins_t *self)
{
    for (uint32_t i = 0; i < self->slots; i++) {
        s_pin_t *pin = &self->pins[i];
        if (atomic_load(&pin->refs) > 0) {
            ob_handle_t handle = pin->handle;
            /* the same owner takes it again: a fresh lease; a slot given
               back meanwhile has moved on and is left alone */
            ob_arena_take(self->arena, &handle, self->owner);
        }
    }
}

uint32_t ob_pins_pinned(const ob_pins_t *self)
{
    return atomic_load(&self->pinned);
}

uint64_t ob_pins_zero_copy(const ob_pins_t *self)
{
    return self->zero_copy;
}

uint64_t ob_pins_refused(const ob_pins_t *self)
{
    return self->refused;
}

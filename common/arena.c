#include "arena.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A lock emulating an atomic would live inside the shared region and stay
   taken by an actor killed while holding it; only lock-free words survive
   a crash. uint64_t is long or long long depending on the ABI. */
static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
static_assert(ATOMIC_LONG_LOCK_FREE == 2, "long atomics must be lock-free");
static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");

/* "OBARENA1": the layout below, version 1. Every process mapping a region
   runs this same build, so host byte order is fine. */
#define S_MAGIC   0x4f4241524e454131ULL
#define S_VERSION 2u
/* Header, control entries and data strides are whole cache lines, so two
   slots' control words never share a line. */
#define S_LINE 64u
/* A take racing another take on the same handle retries this often. */
#define S_CAS_TRIES 16

/* S_SENT is HELD by its owner, the sender, and on its way to `addressee`
   in a message: should the addressee die before it takes the slot, the
   message is lost, and the addressee's next instance frees the slot. */
enum { S_FREE = 0, S_WRITING = 1, S_HELD = 2, S_SENT = 3 };

typedef struct {
    uint64_t magic;
    uint32_t version;
    uint32_t slot_count;
    uint32_t slot_size;
    uint32_t reserved;
    uint64_t region_size;
    _Atomic uint32_t hint; /* where the next alloc starts probing */
} s_header_t;

/* `word` packs generation (bits 63-32), owner (31-16) and state (15-0) and
   changes only by CAS. The owner writes the other fields; they are atomic
   so that readers in other actors never race in the C sense. */
typedef struct {
    _Atomic uint64_t word;
    _Atomic uint64_t lease_ms;
    _Atomic uint32_t len;
    _Atomic uint32_t addressee; /* S_SENT: the owner id it is on its way to */
    uint8_t digest[32];
    /* Bytes of the slot's data that may be in memory (a page multiple):
       written only by whoever holds the slot WRITING. */
    _Atomic uint32_t resident;
    uint8_t pad[4];
} s_slot_t;

static_assert(sizeof(s_header_t) <= S_LINE, "header fits one line");
static_assert(sizeof(s_slot_t) == S_LINE, "a control entry is one line");

struct _ob_arena_t {
    /* Copied from the header once validated: the header sits in memory an
       untrusted writer can reach, so bounds checks never re-read it. */
    uint32_t slot_count;
    uint32_t slot_size;
    size_t stride;
    s_header_t *header;
    s_slot_t *slots;
    uint8_t *data;
    void *owned_region;  /* heap region to free, or NULL */
    void *mapped_region; /* shared mapping to unmap, or NULL */
    size_t mapped_size;
    _Atomic uint64_t bytes_put; /* payload bytes this view copied in (metrics) */
    size_t page;                /* the system's page size */
    _Atomic uint64_t trimmed;   /* bytes of slots given back to the system by this view */
    uint64_t (*now_ms)(void *ctx);
    void *clock_ctx;
};

static uint64_t s_pack(uint32_t generation, uint16_t owner, uint16_t state)
{
    return (uint64_t)generation << 32 | (uint64_t)owner << 16 | state;
}

static uint32_t s_generation(uint64_t word)
{
    return (uint32_t)(word >> 32);
}

static uint16_t s_owner(uint64_t word)
{
    return (uint16_t)(word >> 16);
}

static uint16_t s_state(uint64_t word)
{
    return (uint16_t)word;
}

/* The FREE word after `word`. The generation is a u32 and wraps after 2^32
   frees of one slot; a handle would have to outlive that many reuses of its
   slot to match again, which no message does. */
static uint64_t s_freed(uint64_t word)
{
    return s_pack(s_generation(word) + 1, 0, S_FREE);
}

static bool s_cas(s_slot_t *slot, uint64_t expected, uint64_t desired)
{
    return atomic_compare_exchange_strong_explicit(&slot->word, &expected, desired,
                                                   memory_order_acq_rel, memory_order_acquire);
}

static size_t s_round_line(size_t n)
{
    return (n + S_LINE - 1) / S_LINE * S_LINE;
}

static uint64_t s_monotonic_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint8_t *s_data(const ob_arena_t *self, uint32_t slot)
{
    return self->data + (size_t)slot * self->stride;
}

size_t ob_arena_region_size(uint32_t slot_count, uint32_t slot_size)
{
    if (slot_count == 0 || slot_size == 0)
        return 0;
    size_t stride = s_round_line(slot_size);
    size_t per_slot = S_LINE + stride;
    if (per_slot > (SIZE_MAX - S_LINE) / slot_count)
        return 0;
    return S_LINE + per_slot * slot_count;
}

static ob_arena_t *s_view(void *region, const s_header_t *header)
{
    ob_arena_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->slot_count = header->slot_count;
    self->slot_size = header->slot_size;
    self->stride = s_round_line(header->slot_size);
    self->header = region;
    self->slots = (s_slot_t *)((uint8_t *)region + S_LINE);
    self->data = (uint8_t *)region + S_LINE + (size_t)self->slot_count * S_LINE;
    self->now_ms = s_monotonic_ms;
    long page = sysconf(_SC_PAGESIZE);
    self->page = page > 0 ? (size_t)page : 4096;
    return self;
}

ob_arena_t *ob_arena_format(void *region, size_t region_size, uint32_t slot_count,
                            uint32_t slot_size, ob_why_t *why)
{
    size_t need = ob_arena_region_size(slot_count, slot_size);
    if (need == 0) {
        ob_why(why, "arena of %u slots of %u bytes: no slots, empty slots, or too large",
               slot_count, slot_size);
        return NULL;
    }
    if (!region || (uintptr_t)region % 8 != 0) {
        ob_why(why, "arena region is missing or not 8-byte aligned");
        return NULL;
    }
    if (region_size < need) {
        ob_why(why, "arena region of %zu bytes is shorter than the %zu that %u slots of %u need",
               region_size, need, slot_count, slot_size);
        return NULL;
    }
    s_header_t *header = region;
    /* Clear the magic first so that a half-formatted region never attaches. */
    header->magic = 0;
    header->version = S_VERSION;
    header->slot_count = slot_count;
    header->slot_size = slot_size;
    header->reserved = 0;
    header->region_size = need;
    atomic_init(&header->hint, 0);
    s_slot_t *slots = (s_slot_t *)((uint8_t *)region + S_LINE);
    for (uint32_t i = 0; i < slot_count; i++) {
        /* Generations start at 1 so that a zeroed handle matches nothing. */
        atomic_init(&slots[i].word, s_pack(1, 0, S_FREE));
        atomic_init(&slots[i].lease_ms, 0);
        atomic_init(&slots[i].len, 0);
        atomic_init(&slots[i].addressee, 0);
        memset(slots[i].digest, 0, sizeof slots[i].digest);
        atomic_init(&slots[i].resident, 0);
        memset(slots[i].pad, 0, sizeof slots[i].pad);
    }
    atomic_thread_fence(memory_order_release);
    header->magic = S_MAGIC;
    ob_arena_t *self = s_view(region, header);
    if (!self)
        ob_why(why, "out of memory for an arena view");
    return self;
}

ob_arena_t *ob_arena_attach(void *region, size_t region_size, ob_why_t *why)
{
    if (!region || (uintptr_t)region % 8 != 0) {
        ob_why(why, "arena region is missing or not 8-byte aligned");
        return NULL;
    }
    if (region_size < S_LINE) {
        ob_why(why, "arena region of %zu bytes is shorter than the %u-byte header", region_size,
               S_LINE);
        return NULL;
    }
    const s_header_t *header = region;
    if (header->magic != S_MAGIC) {
        ob_why(why, "arena region has no arena magic (found 0x%016llx)",
               (unsigned long long)header->magic);
        return NULL;
    }
    atomic_thread_fence(memory_order_acquire);
    if (header->version != S_VERSION) {
        ob_why(why, "arena layout version %u, this build reads version %u", header->version,
               S_VERSION);
        return NULL;
    }
    size_t need = ob_arena_region_size(header->slot_count, header->slot_size);
    if (need == 0 || header->region_size != need) {
        ob_why(why, "arena header lists %u slots of %u bytes in %llu bytes, which disagree",
               header->slot_count, header->slot_size, (unsigned long long)header->region_size);
        return NULL;
    }
    if (region_size < need) {
        ob_why(why, "arena region of %zu bytes is shorter than the %zu its header lists",
               region_size, need);
        return NULL;
    }
    ob_arena_t *self = s_view(region, header);
    if (!self) {
        ob_why(why, "out of memory for an arena view");
        return NULL;
    }
    for (uint32_t i = 0; i < self->slot_count; i++) {
        uint64_t word = atomic_load_explicit(&self->slots[i].word, memory_order_relaxed);
        if (s_state(word) > S_SENT) {
            ob_why(why, "arena slot %u has unknown state %u", i, s_state(word));
            ob_arena_destroy(&self);
            return NULL;
        }
    }
    return self;
}

ob_arena_t *ob_arena_new_heap(uint32_t slot_count, uint32_t slot_size, ob_why_t *why)
{
    size_t size = ob_arena_region_size(slot_count, slot_size);
    if (size == 0) {
        ob_why(why, "arena of %u slots of %u bytes: no slots, empty slots, or too large",
               slot_count, slot_size);
        return NULL;
    }
    /* Every part of the layout is whole lines, as aligned_alloc wants. */
    void *region = aligned_alloc(S_LINE, size);
    if (!region) {
        ob_why(why, "out of memory for an arena of %zu bytes", size);
        return NULL;
    }
    ob_arena_t *self = ob_arena_format(region, size, slot_count, slot_size, why);
    if (!self) {
        free(region);
        return NULL;
    }
    self->owned_region = region;
    return self;
}

void ob_arena_destroy(ob_arena_t **self_p)
{
    assert(self_p);
    ob_arena_t *self = *self_p;
    if (!self)
        return;
    free(self->owned_region);
    if (self->mapped_region)
        munmap(self->mapped_region, self->mapped_size);
    free(self);
    *self_p = NULL;
}

/* Maps `size` bytes of `fd` shared; NULL with a reason on failure. */
static void *s_map(int fd, size_t size, ob_why_t *why)
{
    void *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (region == MAP_FAILED) {
        ob_why(why, "arena: cannot map %zu bytes: %s", size, strerror(errno));
        return NULL;
    }
    return region;
}

ob_arena_t *ob_arena_create_shared(uint32_t slot_count, uint32_t slot_size, int *fd_out,
                                   ob_why_t *why)
{
    size_t size = ob_arena_region_size(slot_count, slot_size);
    if (size == 0) {
        ob_why(why, "arena of %u slots of %u bytes: no slots, empty slots, or too large",
               slot_count, slot_size);
        return NULL;
    }
    /* Anonymous memory named only by its descriptor: nothing in the file
       system to leak or to be opened by another user. Children inherit it. */
    int fd = memfd_create("obcast-arena", 0);
    if (fd < 0) {
        ob_why(why, "arena: memfd_create: %s", strerror(errno));
        return NULL;
    }
    if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)size) != 0) {
        ob_why(why, "arena: cannot size %zu bytes: %s", size, strerror(errno));
        close(fd);
        return NULL;
    }
    void *region = s_map(fd, size, why);
    ob_arena_t *self = region ? ob_arena_format(region, size, slot_count, slot_size, why) : NULL;
    if (!self) {
        if (region)
            munmap(region, size);
        close(fd);
        return NULL;
    }
    self->mapped_region = region;
    self->mapped_size = size;
    *fd_out = fd;
    return self;
}

ob_arena_t *ob_arena_map_shared(int fd, ob_why_t *why)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ob_why(why, "arena: descriptor %d: %s", fd, strerror(errno));
        return NULL;
    }
    if (st.st_size <= 0) {
        ob_why(why, "arena: descriptor %d is empty", fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    void *region = s_map(fd, size, why);
    ob_arena_t *self = region ? ob_arena_attach(region, size, why) : NULL;
    if (!self) {
        if (region)
            munmap(region, size);
        return NULL;
    }
    self->mapped_region = region;
    self->mapped_size = size;
    return self;
}

void ob_arena_set_clock(ob_arena_t *self, uint64_t (*now_ms)(void *ctx), void *ctx)
{
    assert(now_ms);
    self->now_ms = now_ms;
    self->clock_ctx = ctx;
}

uint32_t ob_arena_slot_size(const ob_arena_t *self)
{
    return self->slot_size;
}

uint32_t ob_arena_slot_count(const ob_arena_t *self)
{
    return self->slot_count;
}

uint32_t ob_arena_in_use(const ob_arena_t *self)
{
    uint32_t used = 0;
    for (uint32_t i = 0; i < self->slot_count; i++) {
        uint64_t word = atomic_load_explicit(&self->slots[i].word, memory_order_relaxed);
        if (s_state(word) != S_FREE)
            used++;
    }
    return used;
}

static size_t s_round_page(const ob_arena_t *self, size_t n)
{
    size_t rounded = (n + self->page - 1) / self->page * self->page;
    return rounded < self->stride ? rounded : self->stride;
}

/* A slot's pages past what its new contents need go back to the system
   once they are more than S_TRIM_SLACK: every slot in turn holds a large
   batch now and then, and without this each would keep its largest
   contents in memory for good (a node's PSS sat at 88 MiB, 51 of them
   arena, under scripts/soak-memory). Only the holder of a WRITING slot
   calls it, so nobody reads the bytes it drops. Shared memory gives its
   pages back with MADV_REMOVE, heap memory with MADV_DONTNEED; a refusal
   costs memory, never bytes. */
#define S_TRIM_SLACK (16u * 1024u)
static void s_trim(ob_arena_t *self, uint32_t slot_index, uint32_t len)
{
    s_slot_t *slot = &self->slots[slot_index];
    uint32_t resident = atomic_load_explicit(&slot->resident, memory_order_relaxed);
    uint32_t keep = (uint32_t)s_round_page(self, len);
    if (resident <= keep || resident - keep < S_TRIM_SLACK)
        return;
    /* data and the stride are line-aligned, not page-aligned: only whole
       pages past `keep` go. */
    uintptr_t base = (uintptr_t)s_data(self, slot_index);
    uintptr_t from = (base + keep + self->page - 1) / self->page * self->page;
    uintptr_t to = (base + resident) / self->page * self->page;
    if (from < to &&
        madvise((void *)from, to - from, self->mapped_region ? MADV_REMOVE : MADV_DONTNEED) == 0)
        atomic_fetch_add_explicit(&self->trimmed, to - from, memory_order_relaxed);
    atomic_store_explicit(&slot->resident, keep, memory_order_relaxed);
}

int ob_arena_alloc(ob_arena_t *self, uint16_t owner, uint32_t len, uint8_t **data,
                   ob_handle_t *handle)
{
    assert(data && handle);
    if (owner == 0 || len > self->slot_size)
        return -1;
    uint32_t start =
        atomic_fetch_add_explicit(&self->header->hint, 1, memory_order_relaxed) % self->slot_count;
    for (uint32_t probe = 0; probe < self->slot_count; probe++) {
        uint32_t i = (uint32_t)(((uint64_t)start + probe) % self->slot_count);
        s_slot_t *slot = &self->slots[i];
        uint64_t word = atomic_load_explicit(&slot->word, memory_order_relaxed);
        /* A lost race moves on rather than retrying, so the scan stays
           bounded by slot_count probes. */
        if (s_state(word) != S_FREE ||
            !s_cas(slot, word, s_pack(s_generation(word), owner, S_WRITING)))
            continue;
        atomic_store_explicit(&slot->len, len, memory_order_relaxed);
        atomic_store_explicit(&slot->lease_ms, self->now_ms(self->clock_ctx), memory_order_relaxed);
        /* What this writer may touch is in memory from now on. */
        uint32_t touched = (uint32_t)s_round_page(self, len);
        if (touched > atomic_load_explicit(&slot->resident, memory_order_relaxed))
            atomic_store_explicit(&slot->resident, touched, memory_order_relaxed);
        *data = s_data(self, i);
        handle->slot = i;
        handle->generation = s_generation(word);
        handle->len = len;
        memset(handle->digest, 0, sizeof handle->digest);
        return 0;
    }
    return -1;
}

int ob_arena_seal(ob_arena_t *self, ob_crypto_t *crypto, ob_handle_t *handle)
{
    if (handle->slot >= self->slot_count || handle->len > self->slot_size)
        return -1;
    s_slot_t *slot = &self->slots[handle->slot];
    uint64_t word = atomic_load_explicit(&slot->word, memory_order_acquire);
    if (s_generation(word) != handle->generation || s_state(word) != S_WRITING)
        return -1;
    s_trim(self, handle->slot, handle->len);
    ob_sha256(crypto, s_data(self, handle->slot), handle->len, handle->digest);
    memcpy(slot->digest, handle->digest, sizeof slot->digest);
    atomic_store_explicit(&slot->len, handle->len, memory_order_relaxed);
    /* Only reclaim can move a WRITING slot, and only once its writer is
       dead, so this fails only for a handle that was already stale. */
    return s_cas(slot, word, s_pack(s_generation(word), s_owner(word), S_HELD)) ? 0 : -1;
}

int ob_arena_put(ob_arena_t *self, ob_crypto_t *crypto, uint16_t owner, const void *data,
                 uint32_t len, ob_handle_t *handle)
{
    uint8_t *slot_data;
    if (ob_arena_alloc(self, owner, len, &slot_data, handle) != 0)
        return -1;
    if (len > 0)
        memcpy(slot_data, data, len);
    atomic_fetch_add_explicit(&self->bytes_put, len, memory_order_relaxed);
    return ob_arena_seal(self, crypto, handle);
}

/* Whether the handle names a slot that is HELD in its generation with its
   sealed len; `*word` gets the word seen. */
/* HELD, or HELD and on its way to another actor: readable, takeable. */
static bool s_holds(uint64_t word)
{
    return s_state(word) == S_HELD || s_state(word) == S_SENT;
}

static bool s_held(const ob_arena_t *self, const ob_handle_t *handle, uint64_t *word)
{
    if (handle->slot >= self->slot_count || handle->len > self->slot_size)
        return false;
    s_slot_t *slot = &self->slots[handle->slot];
    *word = atomic_load_explicit(&slot->word, memory_order_acquire);
    return s_generation(*word) == handle->generation && s_holds(*word) &&
           atomic_load_explicit(&slot->len, memory_order_relaxed) == handle->len;
}

const uint8_t *ob_arena_get(const ob_arena_t *self, const ob_handle_t *handle)
{
    uint64_t word;
    return s_held(self, handle, &word) ? s_data(self, handle->slot) : NULL;
}

int ob_arena_check(const ob_arena_t *self, ob_crypto_t *crypto, const ob_handle_t *handle)
{
    uint64_t before;
    if (!s_held(self, handle, &before))
        return -1;
    uint8_t digest[32];
    ob_sha256(crypto, s_data(self, handle->slot), handle->len, digest);
    /* The slot may have been freed and reused while we hashed; the fence
       keeps the byte reads before the second look at the word. A take in
       between changes only the owner, which is fine. */
    atomic_thread_fence(memory_order_acquire);
    uint64_t after = atomic_load_explicit(&self->slots[handle->slot].word, memory_order_relaxed);
    if (s_generation(after) != s_generation(before) || !s_holds(after))
        return -1;
    return memcmp(digest, handle->digest, sizeof digest) == 0 ? 0 : -1;
}

int ob_arena_take(ob_arena_t *self, const ob_handle_t *handle, uint16_t new_owner)
{
    if (new_owner == 0)
        return -1;
    for (int attempt = 0; attempt < S_CAS_TRIES; attempt++) {
        uint64_t word;
        if (!s_held(self, handle, &word))
            return -1;
        s_slot_t *slot = &self->slots[handle->slot];
        /* The lease goes first and the CAS publishes it, so expire never
           sees the new owner with the old lease. Should the slot be freed
           and reused in between, the stray store moves the new holder's
           lease by at most that instant; the CAS then fails. */
        atomic_store_explicit(&slot->lease_ms, self->now_ms(self->clock_ctx), memory_order_relaxed);
        if (s_cas(slot, word, s_pack(s_generation(word), new_owner, S_HELD)))
            return 0;
    }
    return -1;
}

int ob_arena_sent(ob_arena_t *self, const ob_handle_t *handle, uint16_t owner, uint16_t addressee)
{
    if (owner == 0 || addressee == 0 || handle->slot >= self->slot_count)
        return -1;
    s_slot_t *slot = &self->slots[handle->slot];
    uint64_t word = atomic_load_explicit(&slot->word, memory_order_acquire);
    if (s_generation(word) != handle->generation || s_owner(word) != owner || !s_holds(word))
        return -1;
    /* The addressee goes first and the CAS publishes it. Only the owner
       marks its slot; a take or expire in between fails the CAS, and the
       stray store is harmless: the addressee counts only in S_SENT. */
    atomic_store_explicit(&slot->addressee, addressee, memory_order_relaxed);
    return s_cas(slot, word, s_pack(s_generation(word), owner, S_SENT)) ? 0 : -1;
}

int ob_arena_release(ob_arena_t *self, const ob_handle_t *handle, uint16_t owner)
{
    if (owner == 0 || handle->slot >= self->slot_count)
        return -1;
    s_slot_t *slot = &self->slots[handle->slot];
    uint64_t word = atomic_load_explicit(&slot->word, memory_order_acquire);
    if (s_generation(word) != handle->generation || s_owner(word) != owner ||
        (!s_holds(word) && s_state(word) != S_WRITING))
        return -1;
    /* Only this owner frees or seals it; a concurrent take or expire makes
       the handle stale, and then failing is right. */
    return s_cas(slot, word, s_freed(word)) ? 0 : -1;
}

uint32_t ob_arena_reclaim(ob_arena_t *self, uint16_t owner)
{
    if (owner == 0)
        return 0;
    uint32_t freed = 0;
    for (uint32_t i = 0; i < self->slot_count; i++) {
        s_slot_t *slot = &self->slots[i];
        uint64_t word = atomic_load_explicit(&slot->word, memory_order_acquire);
        bool its = s_owner(word) == owner && (s_state(word) == S_WRITING || s_holds(word));
        /* Acquire on the word pairs with ob_arena_sent's CAS: the
           addressee read is the one that CAS published, or newer (and
           then the CAS below fails). */
        bool to_it = s_state(word) == S_SENT &&
                     atomic_load_explicit(&slot->addressee, memory_order_relaxed) == owner;
        if (!its && !to_it)
            continue;
        if (s_cas(slot, word, s_freed(word)))
            freed++;
    }
    return freed;
}

uint32_t ob_arena_expire(ob_arena_t *self, uint64_t now_ms, uint64_t max_age_ms)
{
    uint32_t freed = 0;
    for (uint32_t i = 0; i < self->slot_count; i++) {
        s_slot_t *slot = &self->slots[i];
        /* Acquire pairs with take's CAS: the lease read is at least as new
           as the owner in the word. */
        uint64_t word = atomic_load_explicit(&slot->word, memory_order_acquire);
        if (!s_holds(word))
            continue;
        uint64_t lease = atomic_load_explicit(&slot->lease_ms, memory_order_relaxed);
        if (lease > now_ms || now_ms - lease <= max_age_ms)
            continue;
        if (s_cas(slot, word, s_freed(word)))
            freed++;
    }
    return freed;
}

uint64_t ob_arena_bytes_trimmed(const ob_arena_t *self)
{
    return atomic_load_explicit(&((ob_arena_t *)self)->trimmed, memory_order_relaxed);
}

uint64_t ob_arena_bytes_put(const ob_arena_t *self)
{
    return atomic_load_explicit(&((ob_arena_t *)self)->bytes_put, memory_order_relaxed);
}

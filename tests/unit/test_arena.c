/*  The payload arena: round trips, stale handles, backpressure, tampering,
    reclaim and expiry, attach checks, two threads, and a second process
    that shares a memfd region and is killed while holding slots. */
#include "testutil.h"

#include "arena.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* A forked child still running when a test ends; teardown kills it. */
static pid_t s_child_pid;

static void s_pattern(uint32_t seed, uint8_t *out, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        out[i] = (uint8_t)(seed * 31u + i * 7u + 1u);
}

typedef struct {
    uint64_t now;
} s_fake_clock_t;

static uint64_t s_fake_now(void *ctx)
{
    return ((s_fake_clock_t *)ctx)->now;
}

static void test_round_trip(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_why_t why;
    ob_arena_t *arena = ob_arena_new_heap(4, 100, &why);
    assert_non_null(arena);
    assert_int_equal(ob_arena_slot_count(arena), 4);
    assert_int_equal(ob_arena_slot_size(arena), 100);
    assert_int_equal(ob_arena_in_use(arena), 0);
    /* Header line, then per slot a control line and 100 bytes rounded up. */
    assert_int_equal(ob_arena_region_size(4, 100), 64 + 4 * (64 + 128));
    assert_int_equal(ob_arena_region_size(0, 100), 0);
    assert_int_equal(ob_arena_region_size(4, 0), 0);
    assert_int_equal(ob_arena_region_size(UINT32_MAX, UINT32_MAX), 0);

    uint8_t payload[100];
    s_pattern(1, payload, sizeof payload);
    ob_handle_t handle;
    assert_int_equal(ob_arena_put(arena, crypto, 1, payload, 77, &handle), 0);
    assert_true(handle.slot < 4);
    assert_int_equal(handle.len, 77);
    uint8_t digest[32];
    ob_sha256(crypto, payload, 77, digest);
    assert_memory_equal(handle.digest, digest, 32);
    const uint8_t *bytes = ob_arena_get(arena, &handle);
    assert_non_null(bytes);
    assert_memory_equal(bytes, payload, 77);
    assert_int_equal(ob_arena_check(arena, crypto, &handle), 0);
    assert_int_equal(ob_arena_in_use(arena), 1);

    /* alloc for the most, write fewer, seal what was written. */
    uint8_t *data = NULL;
    ob_handle_t second;
    assert_int_equal(ob_arena_alloc(arena, 2, 100, &data, &second), 0);
    assert_int_not_equal(second.slot, handle.slot);
    assert_null(ob_arena_get(arena, &second)); /* not sealed yet */
    s_pattern(2, data, 40);
    second.len = 40;
    assert_int_equal(ob_arena_seal(arena, crypto, &second), 0);
    assert_int_equal(ob_arena_seal(arena, crypto, &second), -1); /* already HELD */
    ob_sha256(crypto, data, 40, digest);
    assert_memory_equal(second.digest, digest, 32);
    assert_int_equal(ob_arena_check(arena, crypto, &second), 0);

    /* An empty payload is a payload too. */
    ob_handle_t empty;
    assert_int_equal(ob_arena_put(arena, crypto, 3, NULL, 0, &empty), 0);
    assert_non_null(ob_arena_get(arena, &empty));
    assert_int_equal(ob_arena_check(arena, crypto, &empty), 0);

    assert_int_equal(ob_arena_in_use(arena), 3);
    assert_int_equal(ob_arena_release(arena, &handle, 1), 0);
    assert_int_equal(ob_arena_release(arena, &second, 2), 0);
    assert_int_equal(ob_arena_release(arena, &empty, 3), 0);
    assert_int_equal(ob_arena_in_use(arena), 0);

    ob_arena_destroy(&arena);
    assert_null(arena);
    ob_arena_destroy(&arena);
    ob_crypto_destroy(&crypto);
}

static void s_assert_stale(ob_arena_t *arena, ob_crypto_t *crypto, const ob_handle_t *handle,
                           uint16_t owner)
{
    assert_null(ob_arena_get(arena, handle));
    assert_int_equal(ob_arena_check(arena, crypto, handle), -1);
    assert_int_equal(ob_arena_take(arena, handle, 9), -1);
    assert_int_equal(ob_arena_release(arena, handle, owner), -1);
}

static void test_stale_handles(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_arena_t *arena = ob_arena_new_heap(1, 64, NULL);
    assert_non_null(arena);
    uint8_t payload[64];
    s_pattern(3, payload, sizeof payload);

    ob_handle_t old;
    assert_int_equal(ob_arena_put(arena, crypto, 1, payload, 64, &old), 0);
    assert_int_equal(ob_arena_release(arena, &old, 1), 0);
    s_assert_stale(arena, crypto, &old, 1);

    /* The one slot comes back in a new generation; the old handle stays
       stale although slot, len and bytes are identical. */
    ob_handle_t fresh;
    assert_int_equal(ob_arena_put(arena, crypto, 1, payload, 64, &fresh), 0);
    assert_int_equal(fresh.slot, old.slot);
    assert_int_not_equal(fresh.generation, old.generation);
    assert_memory_equal(fresh.digest, old.digest, 32);
    s_assert_stale(arena, crypto, &old, 1);
    assert_int_equal(ob_arena_check(arena, crypto, &fresh), 0);

    /* Forged generations, slots and lengths. */
    ob_handle_t forged = fresh;
    forged.generation = fresh.generation + 1;
    s_assert_stale(arena, crypto, &forged, 1);
    forged.generation = fresh.generation - 1;
    s_assert_stale(arena, crypto, &forged, 1);
    forged = fresh;
    forged.slot = 1;
    s_assert_stale(arena, crypto, &forged, 1);
    forged.slot = UINT32_MAX;
    s_assert_stale(arena, crypto, &forged, 1);
    forged = fresh;
    forged.len = 65;
    assert_null(ob_arena_get(arena, &forged));
    assert_int_equal(ob_arena_check(arena, crypto, &forged), -1);
    forged.len = 63; /* in range but not what was sealed */
    assert_null(ob_arena_get(arena, &forged));
    assert_int_equal(ob_arena_check(arena, crypto, &forged), -1);
    ob_handle_t zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    assert_null(ob_arena_get(arena, &zeroed));

    /* Only the holder releases; owner 0 is nobody. */
    assert_int_equal(ob_arena_release(arena, &fresh, 2), -1);
    assert_int_equal(ob_arena_release(arena, &fresh, 0), -1);
    assert_int_equal(ob_arena_take(arena, &fresh, 0), -1);
    assert_int_equal(ob_arena_take(arena, &fresh, 2), 0);
    assert_int_equal(ob_arena_release(arena, &fresh, 1), -1);
    assert_int_equal(ob_arena_check(arena, crypto, &fresh), 0); /* a take is not a free */
    assert_int_equal(ob_arena_release(arena, &fresh, 2), 0);
    s_assert_stale(arena, crypto, &fresh, 2);

    /* A WRITING slot is not readable, and its writer may abandon it. */
    uint8_t *data;
    ob_handle_t writing;
    assert_int_equal(ob_arena_alloc(arena, 4, 10, &data, &writing), 0);
    assert_null(ob_arena_get(arena, &writing));
    assert_int_equal(ob_arena_check(arena, crypto, &writing), -1);
    assert_int_equal(ob_arena_take(arena, &writing, 5), -1);
    assert_int_equal(ob_arena_release(arena, &writing, 5), -1);
    assert_int_equal(ob_arena_release(arena, &writing, 4), 0);
    assert_int_equal(ob_arena_seal(arena, crypto, &writing), -1);
    assert_int_equal(ob_arena_in_use(arena), 0);

    ob_arena_destroy(&arena);
    ob_crypto_destroy(&crypto);
}

static void test_full_arena_backpressure(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    enum { SLOTS = 3, SIZE = 32 };
    ob_arena_t *arena = ob_arena_new_heap(SLOTS, SIZE, NULL);
    assert_non_null(arena);
    uint8_t payloads[SLOTS][SIZE];
    ob_handle_t handles[SLOTS];
    for (uint32_t i = 0; i < SLOTS; i++) {
        s_pattern(10 + i, payloads[i], SIZE);
        assert_int_equal(ob_arena_put(arena, crypto, 1, payloads[i], SIZE, &handles[i]), 0);
    }
    assert_int_equal(ob_arena_in_use(arena), SLOTS);

    /* Full: every way in says no, many times over, and no held byte moves. */
    uint8_t other[SIZE];
    memset(other, 0xee, sizeof other);
    for (int round = 0; round < 100; round++) {
        ob_handle_t refused;
        uint8_t *data = NULL;
        assert_int_equal(ob_arena_put(arena, crypto, 2, other, SIZE, &refused), -1);
        assert_int_equal(ob_arena_alloc(arena, 2, 1, &data, &refused), -1);
        assert_null(data);
    }
    for (uint32_t i = 0; i < SLOTS; i++) {
        assert_memory_equal(ob_arena_get(arena, &handles[i]), payloads[i], SIZE);
        assert_int_equal(ob_arena_check(arena, crypto, &handles[i]), 0);
    }

    /* Freeing one makes room for exactly one. */
    assert_int_equal(ob_arena_release(arena, &handles[1], 1), 0);
    ob_handle_t again;
    assert_int_equal(ob_arena_put(arena, crypto, 2, other, SIZE, &again), 0);
    assert_int_equal(again.slot, handles[1].slot);
    assert_int_equal(ob_arena_put(arena, crypto, 2, other, SIZE, &again), -1);
    assert_int_equal(ob_arena_check(arena, crypto, &handles[0]), 0);
    assert_int_equal(ob_arena_check(arena, crypto, &handles[2]), 0);

    ob_arena_destroy(&arena);
    ob_crypto_destroy(&crypto);
}

static void test_oversized_refused(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_arena_t *arena = ob_arena_new_heap(2, 50, NULL);
    assert_non_null(arena);
    uint8_t payload[51];
    s_pattern(4, payload, sizeof payload);
    ob_handle_t handle;
    uint8_t *data;
    assert_int_equal(ob_arena_put(arena, crypto, 1, payload, 51, &handle), -1);
    assert_int_equal(ob_arena_alloc(arena, 1, 51, &data, &handle), -1);
    assert_int_equal(ob_arena_alloc(arena, 1, UINT32_MAX, &data, &handle), -1);
    assert_int_equal(ob_arena_alloc(arena, 0, 1, &data, &handle), -1); /* owner 0 */
    assert_int_equal(ob_arena_in_use(arena), 0);

    /* The stride is 64, but the slot holds the 50 bytes asked for. */
    assert_int_equal(ob_arena_put(arena, crypto, 1, payload, 50, &handle), 0);
    assert_int_equal(ob_arena_check(arena, crypto, &handle), 0);
    assert_int_equal(ob_arena_alloc(arena, 1, 50, &data, &handle), 0);
    handle.len = 51; /* raised past the slot between alloc and seal */
    assert_int_equal(ob_arena_seal(arena, crypto, &handle), -1);
    handle.len = 50;
    assert_int_equal(ob_arena_seal(arena, crypto, &handle), 0);

    ob_arena_destroy(&arena);
    ob_crypto_destroy(&crypto);
}

static void test_changed_bytes_detected(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_arena_t *arena = ob_arena_new_heap(2, 64, NULL);
    assert_non_null(arena);
    uint8_t payload[64];
    s_pattern(5, payload, sizeof payload);
    ob_handle_t handle;
    assert_int_equal(ob_arena_put(arena, crypto, 1, payload, 48, &handle), 0);

    /* net faces the world and can scribble on the slot after sealing: the
       point of use must notice, at any byte. */
    uint8_t *bytes = (uint8_t *)ob_arena_get(arena, &handle);
    assert_non_null(bytes);
    for (uint32_t i = 0; i < 48; i++) {
        bytes[i] ^= 0x01;
        assert_int_equal(ob_arena_check(arena, crypto, &handle), -1);
        bytes[i] ^= 0x01;
        assert_int_equal(ob_arena_check(arena, crypto, &handle), 0);
    }
    /* Bytes past the sealed length are not the payload. */
    bytes[48] ^= 0xff;
    assert_int_equal(ob_arena_check(arena, crypto, &handle), 0);

    /* A handle whose digest was altered fails the same way. */
    ob_handle_t altered = handle;
    altered.digest[31] ^= 0x80;
    assert_non_null(ob_arena_get(arena, &altered));
    assert_int_equal(ob_arena_check(arena, crypto, &altered), -1);

    ob_arena_destroy(&arena);
    ob_crypto_destroy(&crypto);
}

static void test_reclaim_dead_owner(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_arena_t *arena = ob_arena_new_heap(8, 32, NULL);
    assert_non_null(arena);
    enum { DEAD = 3, ALIVE = 4 };
    uint8_t payload[32];
    s_pattern(6, payload, sizeof payload);

    ob_handle_t dead[4], alive[2];
    assert_int_equal(ob_arena_put(arena, crypto, DEAD, payload, 32, &dead[0]), 0);
    assert_int_equal(ob_arena_put(arena, crypto, DEAD, payload, 20, &dead[1]), 0);
    uint8_t *data;
    assert_int_equal(ob_arena_alloc(arena, DEAD, 32, &data, &dead[2]), 0); /* WRITING */
    assert_int_equal(ob_arena_put(arena, crypto, ALIVE, payload, 10, &dead[3]), 0);
    assert_int_equal(ob_arena_take(arena, &dead[3], DEAD), 0); /* handed to the dead one */
    assert_int_equal(ob_arena_put(arena, crypto, ALIVE, payload, 32, &alive[0]), 0);
    assert_int_equal(ob_arena_put(arena, crypto, DEAD, payload, 16, &alive[1]), 0);
    assert_int_equal(ob_arena_take(arena, &alive[1], ALIVE), 0); /* passed on in time */
    assert_int_equal(ob_arena_in_use(arena), 6);

    assert_int_equal(ob_arena_reclaim(arena, 0), 0);
    assert_int_equal(ob_arena_reclaim(arena, 99), 0);
    assert_int_equal(ob_arena_reclaim(arena, DEAD), 4);
    assert_int_equal(ob_arena_in_use(arena), 2);
    assert_int_equal(ob_arena_reclaim(arena, DEAD), 0);

    for (int i = 0; i < 4; i++)
        s_assert_stale(arena, crypto, &dead[i], DEAD);
    assert_int_equal(ob_arena_seal(arena, crypto, &dead[2]), -1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ob_arena_check(arena, crypto, &alive[i]), 0);
        assert_memory_equal(ob_arena_get(arena, &alive[i]), payload, alive[i].len);
        assert_int_equal(ob_arena_release(arena, &alive[i], ALIVE), 0);
    }
    assert_int_equal(ob_arena_in_use(arena), 0);

    ob_arena_destroy(&arena);
    ob_crypto_destroy(&crypto);
}

static void test_expire_old_leases(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_arena_t *arena = ob_arena_new_heap(8, 16, NULL);
    assert_non_null(arena);
    s_fake_clock_t clock = {1000};
    ob_arena_set_clock(arena, s_fake_now, &clock);
    uint8_t payload[16];
    s_pattern(7, payload, sizeof payload);

    ob_handle_t a, b, c, d;
    uint8_t *data;
    assert_int_equal(ob_arena_put(arena, crypto, 1, payload, 16, &a), 0); /* lease 1000 */
    clock.now = 2000;
    assert_int_equal(ob_arena_put(arena, crypto, 1, payload, 16, &b), 0); /* lease 2000 */
    clock.now = 2500;
    assert_int_equal(ob_arena_alloc(arena, 1, 16, &data, &c), 0); /* WRITING */
    memcpy(data, payload, 16);
    clock.now = 3000;
    assert_int_equal(ob_arena_take(arena, &a, 2), 0); /* renewed to 3000 */
    clock.now = 5000;
    assert_int_equal(ob_arena_put(arena, crypto, 1, payload, 16, &d), 0); /* lease 5000 */

    /* Lease in the future (a clock behind the writer's) expires nothing. */
    assert_int_equal(ob_arena_expire(arena, 0, 0), 0);
    /* Only b is older than 2500 ms at 5000; c is WRITING, reclaim's job. */
    assert_int_equal(ob_arena_expire(arena, 5000, 2500), 1);
    assert_null(ob_arena_get(arena, &b));
    assert_non_null(ob_arena_get(arena, &a));
    assert_non_null(ob_arena_get(arena, &d));
    assert_int_equal(ob_arena_in_use(arena), 3);
    /* Exactly max_age old is not older than max_age. */
    assert_int_equal(ob_arena_expire(arena, 5500, 2500), 0);
    assert_int_equal(ob_arena_expire(arena, 5501, 2500), 1);
    assert_null(ob_arena_get(arena, &a));
    assert_int_equal(ob_arena_release(arena, &a, 2), -1);
    assert_int_equal(ob_arena_expire(arena, UINT64_MAX, 0), 1); /* d */
    assert_int_equal(ob_arena_in_use(arena), 1);
    assert_int_equal(ob_arena_seal(arena, crypto, &c), 0);
    assert_int_equal(ob_arena_release(arena, &c, 1), 0);

    /* The default clock is CLOCK_MONOTONIC: a fresh lease is not ancient. */
    ob_arena_t *real = ob_arena_new_heap(1, 16, NULL);
    assert_non_null(real);
    assert_int_equal(ob_arena_put(real, crypto, 1, payload, 16, &a), 0);
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    uint64_t now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    assert_int_equal(ob_arena_expire(real, now, 60000), 0);
    assert_int_equal(ob_arena_expire(real, now + 60001, 60000), 1);
    ob_arena_destroy(&real);

    ob_arena_destroy(&arena);
    ob_crypto_destroy(&crypto);
}

/* A slot sent to an actor that dies before taking it: the message died
   with it, and the actor's next instance frees the slot at once (not a
   lease later). Until then it is the sender's: readable, releasable,
   takeable; once taken it is the taker's alone. */
static void test_sent_and_lost_with_its_addressee(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_arena_t *arena = ob_arena_new_heap(8, 32, NULL);
    assert_non_null(arena);
    s_fake_clock_t clock = {1000};
    ob_arena_set_clock(arena, s_fake_now, &clock);
    enum { SENDER = 1, DEAD = 4, OTHER = 2 };
    uint8_t payload[32];
    s_pattern(9, payload, sizeof payload);

    ob_handle_t lost[2], taken, kept, elsewhere, stale;
    for (int i = 0; i < 2; i++)
        assert_int_equal(ob_arena_put(arena, crypto, SENDER, payload, 32, &lost[i]), 0);
    assert_int_equal(ob_arena_put(arena, crypto, SENDER, payload, 32, &taken), 0);
    assert_int_equal(ob_arena_put(arena, crypto, SENDER, payload, 32, &kept), 0);
    assert_int_equal(ob_arena_put(arena, crypto, SENDER, payload, 32, &elsewhere), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(ob_arena_sent(arena, &lost[i], SENDER, DEAD), 0);
    assert_int_equal(ob_arena_sent(arena, &taken, SENDER, DEAD), 0);
    assert_int_equal(ob_arena_sent(arena, &elsewhere, SENDER, OTHER), 0);

    /* Marks only by the owner, of a live handle, to somebody. */
    assert_int_equal(ob_arena_sent(arena, &kept, OTHER, DEAD), -1);
    assert_int_equal(ob_arena_sent(arena, &kept, SENDER, 0), -1);
    assert_int_equal(ob_arena_sent(arena, &kept, 0, DEAD), -1);
    stale = kept;
    stale.generation++;
    assert_int_equal(ob_arena_sent(arena, &stale, SENDER, DEAD), -1);
    stale = kept;
    stale.slot = 8;
    assert_int_equal(ob_arena_sent(arena, &stale, SENDER, DEAD), -1);

    /* On its way it reads and checks as before. */
    assert_int_equal(ob_arena_check(arena, crypto, &lost[0]), 0);
    assert_memory_equal(ob_arena_get(arena, &lost[0]), payload, 32);
    /* The addressee took one in time: that one is DEAD's own now. */
    assert_int_equal(ob_arena_take(arena, &taken, DEAD), 0);
    assert_int_equal(ob_arena_release(arena, &taken, SENDER), -1);
    /* ...and sent on, it is on its way again, to OTHER. */
    assert_int_equal(ob_arena_sent(arena, &taken, DEAD, OTHER), 0);
    assert_int_equal(ob_arena_in_use(arena), 5);

    /* DEAD's next instance: the two it never took go, and what it sent
       on (SENT by DEAD) goes as its own. */
    assert_int_equal(ob_arena_reclaim(arena, DEAD), 3);
    for (int i = 0; i < 2; i++)
        s_assert_stale(arena, crypto, &lost[i], SENDER);
    s_assert_stale(arena, crypto, &taken, OTHER);
    assert_int_equal(ob_arena_reclaim(arena, DEAD), 0);
    assert_int_equal(ob_arena_in_use(arena), 2);

    /* One on its way to a live actor is untouched; it takes it. */
    assert_int_equal(ob_arena_take(arena, &elsewhere, OTHER), 0);
    assert_int_equal(ob_arena_release(arena, &elsewhere, OTHER), 0);

    /* The sender may still release what it sent (the addressee refused
       it), and a lost message's slot also expires with its lease. */
    ob_handle_t refused, forgotten;
    assert_int_equal(ob_arena_put(arena, crypto, SENDER, payload, 16, &refused), 0);
    assert_int_equal(ob_arena_sent(arena, &refused, SENDER, OTHER), 0);
    assert_int_equal(ob_arena_release(arena, &refused, SENDER), 0);
    assert_int_equal(ob_arena_put(arena, crypto, SENDER, payload, 16, &forgotten), 0);
    assert_int_equal(ob_arena_sent(arena, &forgotten, SENDER, OTHER), 0);
    clock.now = 5000;
    assert_int_equal(ob_arena_expire(arena, 5000, 2000), 2); /* forgotten, kept */
    s_assert_stale(arena, crypto, &forgotten, SENDER);
    assert_int_equal(ob_arena_in_use(arena), 0);

    /* The sender's own death frees what it sent and nobody took, as
       before: its reclaim finds it by owner. */
    ob_handle_t orphan;
    assert_int_equal(ob_arena_put(arena, crypto, SENDER, payload, 16, &orphan), 0);
    assert_int_equal(ob_arena_sent(arena, &orphan, SENDER, OTHER), 0);
    assert_int_equal(ob_arena_reclaim(arena, SENDER), 1);
    s_assert_stale(arena, crypto, &orphan, OTHER);

    ob_arena_destroy(&arena);
    ob_crypto_destroy(&crypto);
}

/* A slot that held a large payload gives the pages past its next,
   smaller contents back at that one's seal (more than 16 KiB of them), in
   shared and in heap memory; the bytes it keeps and the next large
   payload read back whole. */
static void test_trim_after_a_large_payload(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    enum { SLOT = 256 * 1024 };
    static uint8_t large[SLOT], small[3000];
    s_pattern(11, large, sizeof large);
    s_pattern(12, small, sizeof small);
    for (int shared = 0; shared < 2; shared++) {
        ob_why_t why = {{0}};
        int fd = -1;
        ob_arena_t *arena =
            shared ? ob_arena_create_shared(1, SLOT, &fd, &why) : ob_arena_new_heap(1, SLOT, &why);
        if (!arena)
            fail_msg("%s", why.text);
        ob_handle_t h;
        assert_int_equal(ob_arena_put(arena, crypto, 1, large, SLOT, &h), 0);
        assert_int_equal(ob_arena_bytes_trimmed(arena), 0); /* nothing behind it */
        struct stat before, after;
        assert_true(!shared || fstat(fd, &before) == 0);
        assert_int_equal(ob_arena_release(arena, &h, 1), 0);
        assert_int_equal(ob_arena_put(arena, crypto, 1, small, sizeof small, &h), 0);
        uint64_t trimmed = ob_arena_bytes_trimmed(arena);
        assert_true(trimmed >= SLOT - 4096 - 2 * sizeof small && trimmed <= SLOT);
        if (shared) { /* the memfd holds that much less */
            assert_int_equal(fstat(fd, &after), 0);
            assert_true((uint64_t)(before.st_blocks - after.st_blocks) * 512 >= trimmed);
        }
        assert_int_equal(ob_arena_check(arena, crypto, &h), 0);
        assert_memory_equal(ob_arena_get(arena, &h), small, sizeof small);
        assert_int_equal(ob_arena_release(arena, &h, 1), 0);
        /* Less than 16 KiB behind: kept, no system call. */
        assert_int_equal(ob_arena_put(arena, crypto, 1, large, 8192 + sizeof small, &h), 0);
        assert_int_equal(ob_arena_release(arena, &h, 1), 0);
        assert_int_equal(ob_arena_put(arena, crypto, 1, small, sizeof small, &h), 0);
        assert_int_equal(ob_arena_bytes_trimmed(arena), trimmed);
        assert_int_equal(ob_arena_release(arena, &h, 1), 0);
        /* The large one again: the trimmed pages come back as it writes. */
        assert_int_equal(ob_arena_put(arena, crypto, 1, large, SLOT, &h), 0);
        assert_int_equal(ob_arena_check(arena, crypto, &h), 0);
        assert_memory_equal(ob_arena_get(arena, &h), large, SLOT);
        assert_int_equal(ob_arena_release(arena, &h, 1), 0);
        ob_arena_destroy(&arena);
        if (fd >= 0)
            close(fd);
    }
    ob_crypto_destroy(&crypto);
}

static void test_attach_and_refusals(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    ob_why_t why;
    size_t need = ob_arena_region_size(5, 40);
    size_t cap = need + 128; /* a mapping may be rounded up */
    uint8_t *region = aligned_alloc(64, cap);
    assert_non_null(region);

    ob_arena_t *first = ob_arena_format(region, cap, 5, 40, &why);
    assert_non_null(first);
    ob_arena_t *second = ob_arena_attach(region, cap, &why);
    assert_non_null(second);
    assert_int_equal(ob_arena_slot_count(second), 5);
    assert_int_equal(ob_arena_slot_size(second), 40);

    /* Two views of one region see one set of slots. */
    uint8_t payload[40];
    s_pattern(8, payload, sizeof payload);
    ob_handle_t handle;
    assert_int_equal(ob_arena_put(first, crypto, 1, payload, 40, &handle), 0);
    assert_int_equal(ob_arena_in_use(second), 1);
    assert_memory_equal(ob_arena_get(second, &handle), payload, 40);
    assert_int_equal(ob_arena_check(second, crypto, &handle), 0);
    assert_int_equal(ob_arena_take(second, &handle, 2), 0);
    ob_arena_destroy(&second); /* a view going away leaves the slots */
    assert_int_equal(ob_arena_check(first, crypto, &handle), 0);
    assert_int_equal(ob_arena_release(first, &handle, 2), 0);
    ob_arena_destroy(&first);
    second = ob_arena_attach(region, need, &why); /* exactly the size */
    assert_non_null(second);
    ob_arena_destroy(&second);

    /* Short, misaligned or missing regions. */
    assert_null(ob_arena_attach(region, 32, &why));
    assert_non_null(strstr(why.text, "shorter than the 64-byte header"));
    assert_null(ob_arena_attach(region, need - 1, &why));
    assert_non_null(strstr(why.text, "shorter than the"));
    assert_null(ob_arena_attach(region + 4, cap - 4, &why));
    assert_non_null(strstr(why.text, "aligned"));
    assert_null(ob_arena_attach(NULL, cap, &why));
    assert_non_null(strstr(why.text, "missing"));

    /* A damaged header. */
    uint8_t saved[64];
    memcpy(saved, region, 64);
    region[0] ^= 1; /* magic */
    assert_null(ob_arena_attach(region, cap, &why));
    assert_non_null(strstr(why.text, "no arena magic"));
    memcpy(region, saved, 64);
    region[8] ^= 1; /* version */
    assert_null(ob_arena_attach(region, cap, &why));
    assert_non_null(strstr(why.text, "layout version"));
    memcpy(region, saved, 64);
    region[12] ^= 1; /* slot count */
    assert_null(ob_arena_attach(region, cap, &why));
    assert_non_null(strstr(why.text, "disagree"));
    memcpy(region, saved, 64);
    region[16] = 0; /* slot size 40 -> 0 */
    assert_null(ob_arena_attach(region, cap, &why));
    assert_non_null(strstr(why.text, "disagree"));
    memcpy(region, saved, 64);
    region[64 + 64 * 2] = 7; /* slot 2's state (low bits of its word) */
    assert_null(ob_arena_attach(region, cap, &why));
    assert_non_null(strstr(why.text, "slot 2 has unknown state 7"));
    memcpy(region, saved, 64);

    /* Zeros and noise are not arenas. */
    memset(region, 0, cap);
    assert_null(ob_arena_attach(region, cap, &why));
    assert_non_null(strstr(why.text, "no arena magic"));
    tu_rng_t rng = {42};
    for (int round = 0; round < 100; round++) {
        tu_rng_fill(&rng, region, cap);
        assert_null(ob_arena_attach(region, cap, &why));
    }

    /* format and new_heap refuse what cannot be laid out. */
    assert_null(ob_arena_format(region, cap, 0, 40, &why));
    assert_non_null(strstr(why.text, "0 slots of 40 bytes"));
    assert_null(ob_arena_format(region, cap, 5, 0, &why));
    assert_non_null(strstr(why.text, "5 slots of 0 bytes"));
    assert_null(ob_arena_format(region, need - 1, 5, 40, &why));
    assert_non_null(strstr(why.text, "shorter than"));
    assert_null(ob_arena_format(region + 1, cap - 1, 1, 1, &why));
    assert_non_null(strstr(why.text, "aligned"));
    assert_null(ob_arena_new_heap(0, 10, &why));
    assert_non_null(strstr(why.text, "no slots"));
    assert_null(ob_arena_new_heap(UINT32_MAX, UINT32_MAX, &why));
    assert_non_null(strstr(why.text, "too large"));

    free(region);
    ob_crypto_destroy(&crypto);
}

enum { T_SLOTS = 5, T_SIZE = 64, T_HOLD = 3, T_OPS = 100000 };

typedef struct {
    ob_arena_t *arena;
    _Atomic uint16_t *claimed; /* per slot: who the test thinks holds it */
    uint16_t id;
    unsigned violations;
    unsigned stored;
    unsigned refused;
} s_worker_t;

/* Retires the oldest held handle the way a message's life ends: checked,
   taken by the next actor, released by it; every stale use after fails. */
static void s_retire(s_worker_t *w, ob_crypto_t *crypto, ob_handle_t *held, size_t *held_count)
{
    ob_handle_t handle = held[0];
    memmove(held, held + 1, (*held_count - 1) * sizeof *held);
    (*held_count)--;
    uint16_t next = (uint16_t)(w->id + 100);
    w->violations += ob_arena_check(w->arena, crypto, &handle) != 0;
    w->violations += ob_arena_take(w->arena, &handle, next) != 0;
    w->violations += ob_arena_release(w->arena, &handle, w->id) == 0;
    /* Unmark before the release: the other thread may reuse the slot the
       instant it is FREE. */
    w->violations += atomic_exchange(&w->claimed[handle.slot], 0) != w->id;
    w->violations += ob_arena_release(w->arena, &handle, next) != 0;
    w->violations += ob_arena_release(w->arena, &handle, next) == 0;
    w->violations += ob_arena_take(w->arena, &handle, w->id) == 0;
}

static void *s_worker(void *arg)
{
    s_worker_t *w = arg;
    ob_crypto_t *crypto = ob_crypto_new();
    if (!crypto) {
        w->violations++;
        return NULL;
    }
    tu_rng_t rng = {w->id};
    ob_handle_t held[T_HOLD];
    size_t held_count = 0;
    uint8_t payload[T_SIZE];
    for (uint32_t op = 0; op < T_OPS; op++) {
        if (held_count == T_HOLD || (held_count > 0 && tu_rng_below(&rng, 2) == 0)) {
            s_retire(w, crypto, held, &held_count);
            continue;
        }
        uint32_t len = 1 + (uint32_t)tu_rng_below(&rng, T_SIZE);
        s_pattern(op ^ ((uint32_t)w->id << 24), payload, len);
        ob_handle_t handle;
        int rc;
        if (op % 2) {
            rc = ob_arena_put(w->arena, crypto, w->id, payload, len, &handle);
        } else {
            uint8_t *data;
            rc = ob_arena_alloc(w->arena, w->id, T_SIZE, &data, &handle);
            if (rc == 0) {
                memcpy(data, payload, len);
                handle.len = len;
                rc = ob_arena_seal(w->arena, crypto, &handle);
                w->violations += rc != 0;
            }
        }
        if (rc != 0) {
            w->refused++;
            continue;
        }
        w->stored++;
        /* A slot handed out while someone else holds it shows up here. */
        w->violations += atomic_exchange(&w->claimed[handle.slot], w->id) != 0;
        const uint8_t *bytes = ob_arena_get(w->arena, &handle);
        w->violations += !bytes || memcmp(bytes, payload, len) != 0;
        held[held_count++] = handle;
    }
    while (held_count > 0)
        s_retire(w, crypto, held, &held_count);
    ob_crypto_destroy(&crypto);
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    ob_arena_t *arena = ob_arena_new_heap(T_SLOTS, T_SIZE, NULL);
    assert_non_null(arena);
    _Atomic uint16_t claimed[T_SLOTS];
    for (int i = 0; i < T_SLOTS; i++)
        atomic_init(&claimed[i], 0);
    s_worker_t workers[2];
    pthread_t threads[2];
    for (uint16_t i = 0; i < 2; i++) {
        workers[i] = (s_worker_t){.arena = arena, .claimed = claimed, .id = (uint16_t)(i + 1)};
        assert_int_equal(pthread_create(&threads[i], NULL, s_worker, &workers[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(workers[i].violations, 0);
        assert_true(workers[i].stored > T_OPS / 4);
    }
    assert_int_equal(ob_arena_in_use(arena), 0);
    for (int i = 0; i < T_SLOTS; i++)
        assert_int_equal(atomic_load(&claimed[i]), 0);
    ob_arena_destroy(&arena);
}

enum { P_SLOTS = 16, P_SIZE = 256, P_SENT = 6, P_KEPT = 3, P_CHILD = 7, P_PARENT = 2 };

static uint32_t s_child_len(uint32_t k)
{
    return 10 + k * 20;
}

static int s_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    for (int tries = 0; len > 0 && tries < 1000; tries++) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    return len == 0 ? 0 : -1;
}

static int s_read_all(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    for (int tries = 0; len > 0 && tries < 1000; tries++) {
        ssize_t n = read(fd, p, len);
        if (n == 0)
            return -1; /* the child went away early */
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    return len == 0 ? 0 : -1;
}

/* The child process: maps the memfd itself, attaches, puts P_SENT + P_KEPT
   payloads and claims one more slot it never seals, reports every handle,
   then waits to be killed. Only _exit, never cmocka, in here. */
static _Noreturn void s_child(int memfd, size_t size, int out, pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(10);
    void *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (region == MAP_FAILED)
        _exit(11);
    ob_arena_t *arena = ob_arena_attach(region, size, NULL);
    ob_crypto_t *crypto = ob_crypto_new();
    if (!arena || !crypto)
        _exit(12);
    uint8_t payload[P_SIZE];
    for (uint32_t k = 0; k < P_SENT + P_KEPT; k++) {
        ob_handle_t handle;
        s_pattern(k, payload, s_child_len(k));
        if (ob_arena_put(arena, crypto, P_CHILD, payload, s_child_len(k), &handle) != 0 ||
            s_write_all(out, &handle, sizeof handle) != 0)
            _exit(13);
    }
    uint8_t *data;
    ob_handle_t writing;
    if (ob_arena_alloc(arena, P_CHILD, P_SIZE, &data, &writing) != 0)
        _exit(14);
    memset(data, 0xab, P_SIZE);
    if (s_write_all(out, &writing, sizeof writing) != 0)
        _exit(15);
    sleep(60); /* SIGKILL comes long before */
    _exit(16);
}

/* The parent's half, free of cmocka asserts so that the child is always
   killed and reaped before any failure is reported. NULL or a problem. */
static const char *s_parent(ob_arena_t *arena, ob_crypto_t *crypto, int in,
                            ob_handle_t kept[P_KEPT + 1])
{
    uint8_t expected[P_SIZE];
    for (uint32_t k = 0; k < P_SENT; k++) {
        ob_handle_t handle;
        if (s_read_all(in, &handle, sizeof handle) != 0)
            return "the child sent too few handles";
        s_pattern(k, expected, s_child_len(k));
        const uint8_t *bytes = ob_arena_get(arena, &handle);
        if (!bytes || handle.len != s_child_len(k) || memcmp(bytes, expected, handle.len) != 0)
            return "a child's payload reads back wrong";
        if (ob_arena_check(arena, crypto, &handle) != 0)
            return "a child's payload fails its digest";
        /* The journal's part: take it, commit it, free it. */
        if (ob_arena_take(arena, &handle, P_PARENT) != 0 ||
            ob_arena_release(arena, &handle, P_PARENT) != 0)
            return "cannot take and release a child's slot";
    }
    for (uint32_t k = 0; k <= P_KEPT; k++)
        if (s_read_all(in, &kept[k], sizeof kept[k]) != 0)
            return "the child did not report its held slots";
    for (uint32_t k = 0; k < P_KEPT; k++)
        if (ob_arena_check(arena, crypto, &kept[k]) != 0)
            return "a held payload fails its digest";
    if (ob_arena_get(arena, &kept[P_KEPT]))
        return "an unsealed slot is readable";
    if (ob_arena_in_use(arena) != P_KEPT + 1)
        return "the child holds the wrong number of slots";
    return NULL;
}

static void test_second_process(void **state)
{
    (void)state;
    ob_crypto_t *crypto = ob_crypto_new();
    size_t size = ob_arena_region_size(P_SLOTS, P_SIZE);
    int memfd = memfd_create("obcast-arena-test", MFD_CLOEXEC);
    assert_true(memfd >= 0);
    assert_int_equal(ftruncate(memfd, (off_t)size), 0);
    void *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    assert_true(region != MAP_FAILED);
    ob_why_t why;
    ob_arena_t *arena = ob_arena_format(region, size, P_SLOTS, P_SIZE, &why);
    assert_non_null(arena);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);

    /* Buffered TAP lines would otherwise be printed twice. */
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        s_child(memfd, size, pipefd[1], parent);
    }
    s_child_pid = pid;
    close(pipefd[1]);

    ob_handle_t kept[P_KEPT + 1];
    const char *problem = s_parent(arena, crypto, pipefd[0], kept);
    /* Killed while holding slots, as a crashing actor would be. */
    kill(pid, SIGKILL);
    int status = 0;
    pid_t reaped = waitpid(pid, &status, 0);
    s_child_pid = 0;
    close(pipefd[0]);
    if (problem)
        fail_msg("%s (child status 0x%x)", problem, (unsigned)status);
    assert_int_equal(reaped, pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* The restarted actor reclaims what its predecessor held. */
    assert_int_equal(ob_arena_in_use(arena), P_KEPT + 1);
    assert_int_equal(ob_arena_reclaim(arena, P_CHILD), P_KEPT + 1);
    assert_int_equal(ob_arena_in_use(arena), 0);
    for (uint32_t k = 0; k <= P_KEPT; k++)
        s_assert_stale(arena, crypto, &kept[k], P_CHILD);
    /* And the region is fully usable again. */
    uint8_t payload[P_SIZE];
    s_pattern(99, payload, sizeof payload);
    for (uint32_t k = 0; k < P_SLOTS; k++)
        assert_int_equal(ob_arena_put(arena, crypto, P_PARENT, payload, P_SIZE, &kept[0]), 0);
    assert_int_equal(ob_arena_reclaim(arena, P_PARENT), P_SLOTS);

    ob_arena_destroy(&arena);
    assert_int_equal(munmap(region, size), 0);
    close(memfd);
    ob_crypto_destroy(&crypto);
}

/* Should a test fail between fork and reap, the child still goes. */
static int s_reap_child(void **state)
{
    (void)state;
    if (s_child_pid > 0) {
        kill(s_child_pid, SIGKILL);
        waitpid(s_child_pid, NULL, 0);
        s_child_pid = 0;
    }
    return 0;
}

/* The supervisor's way: a memfd arena, inherited by a child that maps it
   by descriptor and puts a payload the parent then reads and checks. */
static void test_shared_by_descriptor(void **state)
{
    (void)state;
    ob_why_t why;
    int fd = -1;
    ob_arena_t *arena = ob_arena_create_shared(8, 512, &fd, &why);
    assert_non_null(arena);
    assert_true(fd >= 0);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(pipefd[0]);
        ob_arena_t *mine = ob_arena_map_shared(fd, NULL);
        ob_crypto_t *crypto = ob_crypto_new();
        ob_handle_t handle;
        int rc = mine && crypto ? ob_arena_put(mine, crypto, 1, "from the child", 14, &handle) : -1;
        ssize_t n = rc == 0 ? write(pipefd[1], &handle, sizeof handle) : -1;
        _exit(n == (ssize_t)sizeof handle ? 0 : 1);
    }
    close(pipefd[1]);
    ob_handle_t handle;
    ssize_t n = read(pipefd[0], &handle, sizeof handle);
    close(pipefd[0]);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(n, (ssize_t)sizeof handle);
    ob_crypto_t *crypto = ob_crypto_new();
    const uint8_t *bytes = ob_arena_get(arena, &handle);
    assert_non_null(bytes);
    assert_memory_equal(bytes, "from the child", 14);
    assert_int_equal(ob_arena_check(arena, crypto, &handle), 0);
    assert_int_equal(ob_arena_release(arena, &handle, 1), 0);
    assert_int_equal(ob_arena_in_use(arena), 0);
    /* A descriptor that is no arena is refused with a reason. */
    int junk = memfd_create("junk", 0);
    assert_int_equal(ftruncate(junk, 4096), 0);
    assert_null(ob_arena_map_shared(junk, &why));
    assert_non_null(strstr(why.text, "arena"));
    close(junk);
    assert_null(ob_arena_map_shared(-1, &why));
    ob_crypto_destroy(&crypto);
    ob_arena_destroy(&arena);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_stale_handles),
        cmocka_unit_test(test_full_arena_backpressure),
        cmocka_unit_test(test_oversized_refused),
        cmocka_unit_test(test_changed_bytes_detected),
        cmocka_unit_test(test_reclaim_dead_owner),
        cmocka_unit_test(test_expire_old_leases),
        cmocka_unit_test(test_sent_and_lost_with_its_addressee),
        cmocka_unit_test(test_trim_after_a_large_payload),
        cmocka_unit_test(test_attach_and_refusals),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test_teardown(test_second_process, s_reap_child),
        cmocka_unit_test(test_shared_by_descriptor),
    };
    return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}

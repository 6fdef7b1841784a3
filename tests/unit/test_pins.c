/* actors/net/pins: peer sends straight from the arena slot. The slot stays
   held while a message points into it, goes back once the last message
   and net's own hold are done, keeps its lease while held, and at most
   `cap` slots are held by messages at once. */
#include "testutil.h"

#include "outbox.h"
#include "pins.h"

#include <czmq.h>
#include <string.h>

typedef struct {
    ob_arena_t *arena;
    ob_crypto_t *crypto;
    uint64_t clock_ms;
    zsock_t *out, *in;
} p_fixture_t;

static uint64_t s_clock(void *ctx)
{
    return ((p_fixture_t *)ctx)->clock_ms;
}

static int s_setup(void **state)
{
    p_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    ob_why_t why;
    f->arena = ob_arena_new_heap(8, 1024, &why);
    f->crypto = ob_crypto_new();
    assert_non_null(f->arena);
    assert_non_null(f->crypto);
    f->clock_ms = 1000;
    ob_arena_set_clock(f->arena, s_clock, f);
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://pins-%p", (void *)f);
    f->in = zsock_new(ZMQ_PAIR);
    assert_non_null(f->in);
    assert_int_equal(zsock_bind(f->in, "%s", ep), 0);
    f->out = zsock_new(ZMQ_PAIR);
    assert_non_null(f->in);
    assert_int_equal(zsock_connect(f->out, "%s", ep), 0);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    p_fixture_t *f = *state;
    zsock_destroy(&f->out);
    zsock_destroy(&f->in);
    ob_crypto_destroy(&f->crypto);
    ob_arena_destroy(&f->arena);
    free(f);
    return 0;
}

static ob_handle_t s_put(p_fixture_t *f, const char *text)
{
    ob_handle_t h;
    assert_int_equal(
        ob_arena_put(f->arena, f->crypto, OB_ACTOR_NET, text, (uint32_t)strlen(text), &h), 0);
    return h;
}

/* Receives one message and checks its bytes; closing it is libzmq's last
   use of the slot. */
static void s_receive(p_fixture_t *f, const char *want)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_int_equal(zmq_msg_recv(&msg, zsock_resolve(f->in), 0), (int)strlen(want));
    assert_memory_equal(zmq_msg_data(&msg), want, strlen(want));
    zmq_msg_close(&msg);
}

static void test_pins_hold_the_slot_until_the_last_message(void **state)
{
    p_fixture_t *f = *state;
    ob_why_t why;
    ob_pins_t *pins = ob_pins_new(f->arena, OB_ACTOR_NET, 4, &why);
    assert_non_null(pins);
    ob_handle_t h = s_put(f, "payload bytes");
    zmq_msg_t a, b;
    assert_int_equal(ob_pins_msg(pins, &h, &a), 0);
    assert_int_equal(ob_pins_msg(pins, &h, &b), 0);
    assert_ptr_equal(zmq_msg_data(&a), ob_arena_get(f->arena, &h)); /* no copy */
    assert_int_equal(zmq_msg_send(&a, zsock_resolve(f->out), 0), 13);
    assert_int_equal(zmq_msg_send(&b, zsock_resolve(f->out), 0), 13);
    assert_int_equal(ob_pins_pinned(pins), 1);

    /* net's hold ends (twice, as a handle named twice would): the slot
       stays while messages point into it */
    ob_pins_release(pins, &h);
    ob_pins_release(pins, &h);
    assert_int_equal(ob_arena_in_use(f->arena), 1);
    s_receive(f, "payload bytes");
    assert_int_equal(ob_arena_in_use(f->arena), 1);
    s_receive(f, "payload bytes");
    assert_int_equal(ob_arena_in_use(f->arena), 0);
    assert_int_equal(ob_pins_pinned(pins), 0);
    assert_int_equal(ob_pins_zero_copy(pins), 2);

    /* a slot never sent goes back at once */
    ob_handle_t unsent = s_put(f, "unsent");
    ob_pins_release(pins, &unsent);
    assert_int_equal(ob_arena_in_use(f->arena), 0);

    /* a stale handle makes no message */
    zmq_msg_t c;
    assert_int_equal(ob_pins_msg(pins, &unsent, &c), -1);
    assert_int_equal(ob_pins_refused(pins), 1);
    ob_pins_destroy(&pins);
    ob_pins_destroy(&pins);
    assert_null(pins);
}

static void test_pins_cap_and_lease(void **state)
{
    p_fixture_t *f = *state;
    ob_why_t why;
    ob_pins_t *pins = ob_pins_new(f->arena, OB_ACTOR_NET, 1, &why);
    assert_non_null(pins);
    ob_handle_t one = s_put(f, "one"), two = s_put(f, "two");
    zmq_msg_t a, b;
    assert_int_equal(ob_pins_msg(pins, &one, &a), 0);
    /* the cap: a second slot is refused, and the caller copies */
    assert_int_equal(ob_pins_msg(pins, &two, &b), -1);
    assert_int_equal(zmq_msg_send(&a, zsock_resolve(f->out), 0), 3);
    ob_pins_release(pins, &one);
    ob_pins_release(pins, &two);

    /* held by a message past the lease: renewed, so expiry leaves it */
    f->clock_ms += 20000;
    ob_pins_renew(pins);
    f->clock_ms += 20000;
    assert_int_equal(ob_arena_expire(f->arena, f->clock_ms, 30000), 0);
    assert_int_equal(ob_arena_in_use(f->arena), 1);
    s_receive(f, "one");
    assert_int_equal(ob_arena_in_use(f->arena), 0);
    ob_pins_destroy(&pins);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pins_hold_the_slot_until_the_last_message, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_pins_cap_and_lease, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("pins", tests, NULL, NULL);
}

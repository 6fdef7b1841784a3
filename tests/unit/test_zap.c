/*  common/zap.c: one CURVE allowlist per ZAP domain (SPEC §4). Real
    sockets over TCP on loopback (inproc has no handshake, so no security
    mechanism at all) in one process: a client key allowed in one
    domain completes the handshake there and nowhere else. */
#include "testutil.h"

#include "log.h"
#include "zap.h"

#include <czmq.h>
#include <string.h>

/* Connects `dealer` to `endpoint` and waits for libzmq's verdict on the
   handshake: true if it succeeded, false if the server refused it. */
static bool s_handshake(zsock_t *dealer, const char *endpoint)
{
    static int seq;
    char monitor_ep[64];
    snprintf(monitor_ep, sizeof monitor_ep, "inproc://test-zap-monitor-%d", seq++);
    assert_int_equal(zmq_socket_monitor(zsock_resolve(dealer), monitor_ep,
                                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL),
                     0);
    zsock_t *monitor = zsock_new_pair(monitor_ep);
    assert_non_null(monitor);
    zsock_set_rcvtimeo(monitor, 20000); /* a hang, not a refusal */
    assert_int_equal(zsock_connect(dealer, "%s", endpoint), 0);
    zmsg_t *event = zmsg_recv(monitor);
    assert_non_null(event);
    uint16_t code = 0;
    memcpy(&code, zframe_data(zmsg_first(event)), 2);
    zmsg_destroy(&event);
    zmq_socket_monitor(zsock_resolve(dealer), NULL, 0);
    zsock_destroy(&monitor);
    return code == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
}

/* Whether a DEALER with `client` gets a message through to a ROUTER of
   `domain` (CURVE server `server`), and the User-Id it arrived with. */
static bool s_through(zcert_t *server, const char *domain, zcert_t *client, char *user, size_t cap)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    assert_non_null(router);
    zsock_set_zap_domain(router, domain);
    zcert_apply(server, router);
    zsock_set_curve_server(router, 1);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    assert_non_null(dealer);
    zcert_apply(client, dealer);
    zsock_set_curve_serverkey(dealer, zcert_public_txt(server));
    zsock_set_linger(dealer, 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    bool admitted = s_handshake(dealer, endpoint);
    /* A DEALER that was refused may hold no pipe to its peer: a send then
       blocks until a reconnect makes one, which under load took longer
       than the test's whole timeout. */
    if (admitted)
        zstr_send(dealer, "hello");
    zsock_set_rcvtimeo(router, 20000);
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    bool got = admitted && zmq_msg_recv(&id, zsock_resolve(router), 0) >= 0 &&
               zmq_msg_recv(&body, zsock_resolve(router), 0) >= 0;
    if (got) {
        const char *u = zmq_msg_gets(&body, "User-Id");
        snprintf(user, cap, "%s", u ? u : "");
    }
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    return got;
}

static ob_zap_t *s_zap_new(void)
{
    ob_why_t why = {{0}};
    ob_zap_t *zap = ob_zap_new(&why);
    if (!zap)
        fail_msg("%s", why.text);
    return zap;
}

static void test_zap_one_list_per_domain(void **state)
{
    (void)state;
    ob_why_t why = {{0}};
    ob_zap_t *zap = s_zap_new();
    zcert_t *server = zcert_new(), *alice = zcert_new(), *bob = zcert_new();
    assert_int_equal(ob_zap_allow(zap, "peers", zcert_public_txt(alice), &why), 0);
    assert_int_equal(ob_zap_allow(zap, "peers", zcert_public_txt(alice), &why), 0); /* twice */
    assert_int_equal(ob_zap_allow(zap, "app", zcert_public_txt(bob), &why), 0);
    assert_int_equal(ob_zap_curve_domain(zap, "submit", &why), 0);

    char user[64] = "";
    assert_true(s_through(server, "peers", alice, user, sizeof user));
    assert_string_equal(user, zcert_public_txt(alice));
    assert_false(s_through(server, "peers", bob, user, sizeof user));
    assert_true(s_through(server, "app", bob, user, sizeof user));
    assert_false(s_through(server, "app", alice, user, sizeof user));
    assert_false(s_through(server, "submit", alice, user, sizeof user));
    assert_false(s_through(server, "nobody-made-me", alice, user, sizeof user));
    ob_zap_stats_t stats = ob_zap_stats(zap);
    assert_int_equal(stats.allowed, 2);
    assert_int_equal(stats.denied, 4);

    /* Bad keys are refused with a reason. */
    assert_int_equal(ob_zap_allow(zap, "peers", "not a key", &why), -1);
    assert_non_null(strstr(why.text, "not a Z85 CURVE key"));

    /* A second handle shares the handler but owns only its own domains
       (the supervisor's operator sockets beside net in --inproc mode). */
    ob_zap_t *second = s_zap_new();
    assert_int_equal(ob_zap_allow(second, "peers", zcert_public_txt(bob), &why), -1);
    assert_non_null(strstr(why.text, "another part of this process"));
    assert_int_equal(ob_zap_curve_domain(second, "app", &why), -1);
    assert_int_equal(ob_zap_allow(second, "operators", zcert_public_txt(bob), &why), 0);
    assert_true(s_through(server, "operators", bob, user, sizeof user));
    assert_false(s_through(server, "peers", bob, user, sizeof user));
    assert_false(s_through(server, "operators", alice, user, sizeof user));
    ob_zap_destroy(&second);
    /* Its domains went with it; the first handle's stay served. */
    assert_false(s_through(server, "operators", bob, user, sizeof user));
    assert_true(s_through(server, "peers", alice, user, sizeof user));
    /* Once dropped, a domain can be made again. */
    second = s_zap_new();
    assert_int_equal(ob_zap_curve_domain(second, "operators", &why), 0);
    ob_zap_destroy(&second);

    zcert_destroy(&server);
    zcert_destroy(&alice);
    zcert_destroy(&bob);
    ob_zap_destroy(&zap);
    ob_zap_destroy(&zap); /* safe twice */
}

/* A SIGTERM sets zsys_interrupted while the owner still runs (net drains
   its peers before it exits): the handler keeps judging handshakes, and
   answers its owner, until the owner destroys it. It used to end its loop
   at once, and its owner's next command waited forever. */
static void test_zap_outlives_an_interrupt(void **state)
{
    (void)state;
    ob_why_t why = {{0}};
    ob_zap_t *zap = s_zap_new();
    zcert_t *server = zcert_new(), *alice = zcert_new(), *bob = zcert_new();
    assert_int_equal(ob_zap_allow(zap, "peers", zcert_public_txt(alice), &why), 0);
    char user[64] = "";
    assert_true(s_through(server, "peers", alice, user, sizeof user));

    zsys_interrupted = 1;
    bool bob_through = s_through(server, "peers", bob, user, sizeof user);
    bool alice_through = s_through(server, "peers", alice, user, sizeof user);
    int allowed = ob_zap_allow(zap, "peers", zcert_public_txt(bob), &why);
    ob_zap_stats_t stats = ob_zap_stats(zap);
    zsys_interrupted = 0;

    assert_false(bob_through); /* refused by the handler, not admitted for want of one */
    assert_true(alice_through);
    assert_int_equal(allowed, 0);
    assert_int_equal(stats.allowed, 2);
    assert_int_equal(stats.denied, 1);
    zcert_destroy(&server);
    zcert_destroy(&alice);
    zcert_destroy(&bob);
    ob_zap_destroy(&zap);
}

/* A destroyed handler frees the ZAP endpoint before ob_zap_destroy
   returns: the next one (a restarted net actor in --inproc mode is one)
   binds at once. Closing a socket releases its inproc name only when
   libzmq's reaper gets to it; under load the next bind met the old name
   ("another is bound", seen in CI). */
static void test_zap_rebinds_at_once(void **state)
{
    (void)state;
    for (int i = 0; i < 300; i++) {
        ob_why_t why = {{0}};
        ob_zap_t *zap = ob_zap_new(&why);
        if (!zap)
            fail_msg("handler %d: %s", i, why.text);
        assert_int_equal(ob_zap_curve_domain(zap, "peers", &why), 0);
        ob_zap_destroy(&zap);
    }
}

/* A handler that is not obcast's (czmq's zauth binds the same endpoint)
   leaves none to start: a clear refusal, not a handle that admits all. */
static void test_zap_foreign_handler(void **state)
{
    (void)state;
    zsock_t *foreign = zsock_new(ZMQ_REP);
    assert_int_equal(zsock_bind(foreign, "inproc://zeromq.zap.01"), 0);
    ob_why_t why = {{0}};
    ob_zap_t *zap = ob_zap_new(&why);
    assert_null(zap);
    assert_non_null(strstr(why.text, "not obcast's"));
    zsock_unbind(foreign, "inproc://zeromq.zap.01");
    zsock_destroy(&foreign);
    zap = s_zap_new(); /* the endpoint is free again */
    ob_zap_destroy(&zap);
}

/* NULL connections (ipc) pass unless the domain has a CURVE list, and
   carry their address as User-Id: on ipc, SO_PEERCRED's uid:gid:pid. */
static void test_zap_null_mechanism(void **state)
{
    (void)state;
    ob_why_t why = {{0}};
    ob_zap_t *zap = ob_zap_new(&why);
    assert_non_null(zap);
    assert_int_equal(ob_zap_curve_domain(zap, "curve-only", &why), 0);
    const char *domains[2] = {"local", "curve-only"};
    for (int i = 0; i < 2; i++) {
        char endpoint[64];
        snprintf(endpoint, sizeof endpoint, "ipc:///tmp/obcast-test-zap-%d-%d", (int)getpid(), i);
        zsock_t *router = zsock_new(ZMQ_ROUTER);
        zsock_set_zap_domain(router, domains[i]);
        assert_int_equal(zsock_bind(router, "%s", endpoint), 0);
        zsock_t *dealer = zsock_new(ZMQ_DEALER);
        zsock_set_linger(dealer, 0);
        bool admitted = s_handshake(dealer, endpoint);
        if (admitted)
            zstr_send(dealer, "hello");
        zsock_set_rcvtimeo(router, 20000);
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        bool got = admitted && zmq_msg_recv(&id, zsock_resolve(router), 0) >= 0 &&
                   zmq_msg_recv(&body, zsock_resolve(router), 0) >= 0;
        if (i == 0) {
            assert_true(got);
            char expect[64];
            snprintf(expect, sizeof expect, ":%d", (int)getpid());
            const char *user = zmq_msg_gets(&body, "User-Id");
            assert_non_null(user);
            assert_non_null(strstr(user, expect));
        } else {
            assert_false(got);
        }
        zmq_msg_close(&id);
        zmq_msg_close(&body);
        zsock_destroy(&dealer);
        zsock_destroy(&router);
        unlink(endpoint + 6);
    }
    ob_zap_destroy(&zap);
}

/* With no ZAP handler in the process, libzmq admits every CURVE client of
   a socket that only names its domain: an allowlist would fail open. A
   socket under ob_zap_enforce refuses them instead. */
static void test_zap_enforced_without_handler(void **state)
{
    (void)state;
    zcert_t *server = zcert_new(), *client = zcert_new();
    for (int enforce = 0; enforce < 2; enforce++) {
        zsock_t *router = zsock_new(ZMQ_ROUTER);
        assert_non_null(router);
        ob_why_t why = {{0}};
        if (enforce)
            assert_int_equal(ob_zap_enforce(router, "peers", &why), 0);
        else
            zsock_set_zap_domain(router, "peers");
        zcert_apply(server, router);
        zsock_set_curve_server(router, 1);
        zsock_set_linger(router, 0);
        int port = zsock_bind(router, "tcp://127.0.0.1:*");
        assert_true(port > 0);
        zsock_t *dealer = zsock_new(ZMQ_DEALER);
        zcert_apply(client, dealer);
        zsock_set_curve_serverkey(dealer, zcert_public_txt(server));
        zsock_set_linger(dealer, 0);
        char endpoint[64];
        snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
        bool admitted = s_handshake(dealer, endpoint);
        if (enforce)
            assert_false(admitted);
        else
            assert_true(admitted); /* what enforcing guards against */
        zsock_destroy(&dealer);
        zsock_destroy(&router);
    }
    zcert_destroy(&server);
    zcert_destroy(&client);
}

int main(void)
{
    ob_log_set_level(OB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zap_one_list_per_domain),
        cmocka_unit_test(test_zap_null_mechanism),
        cmocka_unit_test(test_zap_outlives_an_interrupt),
        cmocka_unit_test(test_zap_rebinds_at_once),
        cmocka_unit_test(test_zap_foreign_handler),
        cmocka_unit_test(test_zap_enforced_without_handler),
    };
    return cmocka_run_group_tests_name("zap", tests, NULL, NULL);
}

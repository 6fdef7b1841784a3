/*  Directional dispatch (proto/PROTOCOL.md "Dispatch"): the tables
    gen_imsg.py makes from proto/imsg.csv's FROM and TO, and the shell that
    knows each message's sender by the endpoint it came on. A message its
    sender may not send, or one from a process that is not that sender, is
    dropped and counted, never handed to the handler. Real sockets: the
    shell's own, over inproc:// (and ipc:// for the process check). */
#include "testutil.h"

#include "log.h"
#include "shell.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- the generated tables ------------------------------------------------ */

static void test_wire_numbers_unchanged(void **state)
{
    (void)state;
    /* Moving the external messages to proto/app.csv kept every number. */
    assert_int_equal(OB_IMSG_PEER_NODE, 1);
    assert_int_equal(OB_IMSG_SIGN_NODE, 40);
    assert_int_equal(OB_IMSG_SET_EPOCH, 70);
    assert_int_equal(OB_IMSG_SEND_ACK, 60);
    assert_int_equal(OB_IMSG_APP_ATTACH, 100);
    assert_int_equal(OB_IMSG_APP_EVIDENCE, 108);
    assert_int_equal(OB_IMSG_SUBMIT, 110);
    assert_int_equal(OB_IMSG_SUBMIT_FOLLOW, 115);
    assert_int_equal(OB_IMSG_FETCH_REQUEST, 83);
    assert_int_equal(OB_IMSG_APP_FETCH, 109);
    assert_int_equal(OB_IMSG_FETCH_FAILED, 118);
    assert_int_equal(OB_IMSG_APP_FETCH_FAILED, 121);
}

static void test_signer_callers(void **state)
{
    (void)state;
    static const ob_imsg_type_t from_journal[] = {OB_IMSG_SIGN_NODE, OB_IMSG_SIGN_ACK,
                                                  OB_IMSG_LAST_SIGNED_REQUEST};
    for (size_t i = 0; i < sizeof from_journal / sizeof from_journal[0]; i++) {
        ob_imsg_type_t type = from_journal[i];
        for (int from = OB_PARTY_NET; from <= OB_PARTY_COUNT; from++) {
            ob_signer_input_t in;
            bool allowed = from == OB_PARTY_JOURNAL;
            assert_int_equal(ob_imsg_allowed((ob_party_t)from, OB_PARTY_SIGNER, type), allowed);
            assert_int_equal(ob_signer_input(type, (ob_party_t)from, &in), allowed ? 0 : -1);
        }
    }
    ob_signer_input_t in = OB_SIGNER_IN_SIGN_NODE;
    assert_int_equal(ob_signer_input(OB_IMSG_SIGN_NODE, OB_PARTY_JOURNAL, &in), 0);
    assert_int_equal(in, OB_SIGNER_IN_SIGN_NODE);
    assert_int_equal(ob_signer_input(OB_IMSG_ACK_VERIFIED, OB_PARTY_VERIFIER, &in), 0);
    assert_int_equal(in, OB_SIGNER_IN_ACK_VERIFIED);
    for (int from = OB_PARTY_NET; from <= OB_PARTY_COUNT; from++)
        if (from != OB_PARTY_VERIFIER)
            assert_int_equal(ob_signer_input(OB_IMSG_ACK_VERIFIED, (ob_party_t)from, &in), -1);
    /* Not the signer's at all, from anyone. */
    assert_int_equal(ob_signer_input(OB_IMSG_NODE_SIGNED, OB_PARTY_JOURNAL, &in), -1);
    assert_int_equal(ob_signer_input(OB_IMSG_SUBMIT, OB_PARTY_NET, &in), -1);
}

static void test_operator_and_journal(void **state)
{
    (void)state;
    ob_journal_input_t in;
    assert_int_equal(ob_journal_input(OB_IMSG_SET_EPOCH, OB_PARTY_OPERATOR, &in), 0);
    assert_int_equal(in, OB_JOURNAL_IN_SET_EPOCH);
    for (int from = OB_PARTY_NET; from < OB_PARTY_OPERATOR; from++)
        assert_int_equal(ob_journal_input(OB_IMSG_SET_EPOCH, (ob_party_t)from, &in), -1);
    /* The operator sends nothing else, and only to the journal. */
    for (int to = OB_PARTY_NET; to <= OB_PARTY_COUNT; to++)
        assert_int_equal(ob_imsg_pair(OB_PARTY_OPERATOR, (ob_party_t)to), to == OB_PARTY_JOURNAL);
    assert_int_equal(ob_journal_input(OB_IMSG_STATE_REQUEST, OB_PARTY_SIGNER, &in), 0);
    assert_int_equal(ob_journal_input(OB_IMSG_STATE_REQUEST, OB_PARTY_JOURNAL, &in), -1);
    assert_int_equal(ob_journal_input(OB_IMSG_NODE_VERIFIED, OB_PARTY_NET, &in), -1);
    ob_net_input_t net_in;
    assert_int_equal(ob_net_input(OB_IMSG_SEND_ACK, OB_PARTY_SIGNER, &net_in), 0);
    assert_int_equal(ob_net_input(OB_IMSG_SEND_ACK, OB_PARTY_JOURNAL, &net_in), -1);
    ob_verifier_input_t verifier_in;
    assert_int_equal(ob_verifier_input(OB_IMSG_PEER_NODE, OB_PARTY_NET, &verifier_in), 0);
    assert_int_equal(ob_verifier_input(OB_IMSG_PEER_NODE, OB_PARTY_SIGNER, &verifier_in), -1);
}

/* Every internal message has a sender and a receiver; a pair exists
   exactly where some message goes; no external message goes between
   actors, and each goes one way between net and the outside. */
static void test_tables_consistent(void **state)
{
    (void)state;
    bool pair[OB_PARTY_COUNT + 1][OB_PARTY_COUNT + 1] = {{false}};
    size_t internal = 0, external = 0;
    for (int type = 0; type < 65536; type++) {
        if (strcmp(ob_imsg_name((ob_imsg_type_t)type), "unknown") == 0)
            continue;
        size_t routes = 0;
        for (int from = OB_PARTY_NET; from <= OB_PARTY_COUNT; from++)
            for (int to = OB_PARTY_NET; to <= OB_PARTY_COUNT; to++)
                if (ob_imsg_allowed((ob_party_t)from, (ob_party_t)to, (ob_imsg_type_t)type)) {
                    routes++;
                    pair[from][to] = true;
                    assert_int_not_equal(to, OB_PARTY_OPERATOR);
                    assert_int_not_equal(from, to);
                }
        ob_app_to_net_t a;
        ob_client_to_net_t c;
        ob_net_to_app_t na;
        ob_net_to_client_t nc;
        int ways = (ob_app_to_net((ob_imsg_type_t)type, &a) == 0) +
                   (ob_client_to_net((ob_imsg_type_t)type, &c) == 0) +
                   (ob_net_to_app((ob_imsg_type_t)type, &na) == 0) +
                   (ob_net_to_client((ob_imsg_type_t)type, &nc) == 0);
        if (type < 100) {
            internal++;
            assert_true(routes >= 1);
            assert_int_equal(ways, 0);
        } else {
            external++;
            assert_int_equal(routes, 0);
            assert_int_equal(ways, 1);
        }
    }
    assert_int_equal(internal, 44);
    assert_int_equal(external, 22);
    for (int from = OB_PARTY_NET; from <= OB_PARTY_COUNT; from++)
        for (int to = OB_PARTY_NET; to <= OB_PARTY_COUNT; to++)
            assert_int_equal(ob_imsg_pair((ob_party_t)from, (ob_party_t)to), pair[from][to]);
    assert_string_equal(ob_party_name(OB_PARTY_OPERATOR), "operator");
    assert_string_equal(ob_party_name((ob_party_t)0), "unknown");
}

/* --- the shell ------------------------------------------------------------ */

#define D_MAX_SEEN 16

typedef struct {
    ob_shell_t *shell;
    size_t seen;
    ob_party_t from[D_MAX_SEEN];
    ob_imsg_type_t type[D_MAX_SEEN];
    size_t expect; /* messages in, handled or not, before it stops */
    uint64_t give_up;
} d_handler_t;

static void s_record(void *h, uint64_t now, ob_party_t from, const ob_imsg_t *msg, ob_outbox_t *out)
{
    (void)now;
    (void)out;
    d_handler_t *self = h;
    assert_true(self->seen < D_MAX_SEEN);
    self->from[self->seen] = from;
    self->type[self->seen] = msg->type;
    self->seen++;
}

/* Stops once every message sent came in (or, as a failure, much later). */
static void s_stop_when_done(void *h, uint64_t now, ob_outbox_t *out)
{
    (void)out;
    d_handler_t *self = h;
    if (ob_shell_stats(self->shell)->messages_in >= self->expect || now > self->give_up)
        ob_shell_stop(self->shell);
}

static void s_send(zsock_t *push, const ob_imsg_t *msg)
{
    uint8_t frame[256];
    size_t len = 0;
    assert_int_equal(ob_imsg_encode(msg, frame, sizeof frame, &len), 0);
    assert_true(zmq_send(zsock_resolve(push), frame, len, 0) >= 0);
}

static zsock_t *s_push(const ob_shell_endpoints_t *endpoints, ob_party_t from, uint32_t instance,
                       ob_party_t to)
{
    char ep[PATH_MAX + 64];
    assert_int_equal(ob_shell_pair_endpoint(endpoints, from, instance, to, 0, ep, sizeof ep), 0);
    zsock_t *push = zsock_new_push(ep);
    assert_non_null(push);
    return push;
}

/* What the shell told the journal it dropped: the drops' total count. */
static uint32_t s_drops_reported(zsock_t *journal, ob_error_t error)
{
    uint32_t total = 0;
    zsock_set_rcvtimeo(journal, 2000);
    for (;;) {
        zframe_t *frame = zframe_recv(journal);
        if (!frame)
            break;
        ob_imsg_t msg;
        assert_int_equal(ob_imsg_decode(&msg, zframe_data(frame), zframe_size(frame)), OB_OK);
        if (msg.type == OB_IMSG_DROPPED) {
            assert_int_equal(msg.u.dropped.actor, OB_ACTOR_SIGNER);
            if (msg.u.dropped.error == error)
                total += msg.u.dropped.count;
        }
        zframe_destroy(&frame);
        zsock_set_rcvtimeo(journal, 200);
    }
    return total;
}

static void s_endpoints(ob_shell_endpoints_t *endpoints, bool inproc, const char *base)
{
    memset(endpoints, 0, sizeof *endpoints);
    endpoints->inproc = inproc;
    endpoints->verifiers = 2;
    snprintf(endpoints->base, sizeof endpoints->base, "%s", base);
    snprintf(endpoints->events_base, sizeof endpoints->events_base, "%s", base);
}

/* sign_node from a verifier, an ack from the journal: each on a pair's
   own endpoint, but not a message that sender may send. The signer's
   shell drops them, counts them, tells the journal; sign_node from the
   journal, and the ack from a verifier, reach the handler with their
   senders. (net sends the signer nothing: it has no endpoint there.) */
static void test_shell_drops_wrong_sender(void **state)
{
    (void)state;
    ob_shell_endpoints_t endpoints;
    s_endpoints(&endpoints, true, "inproc://test-dispatch");
    char ep[PATH_MAX + 64];
    assert_int_equal(
        ob_shell_pair_endpoint(&endpoints, OB_PARTY_SIGNER, 0, OB_PARTY_JOURNAL, 0, ep, sizeof ep),
        0);
    assert_string_equal(ep, "inproc://test-dispatch/journal-from-signer");
    zsock_t *journal = zsock_new_pull(ep); /* binds: '@' is the default for PULL */
    assert_non_null(journal);
    ob_why_t why = {{0}};
    ob_shell_t *shell = ob_shell_new(&endpoints, OB_ACTOR_SIGNER, 0, NULL, &why);
    assert_non_null(shell);

    zsock_t *from_journal = s_push(&endpoints, OB_PARTY_JOURNAL, 0, OB_PARTY_SIGNER);
    zsock_t *from_verifier = s_push(&endpoints, OB_PARTY_VERIFIER, 1, OB_PARTY_SIGNER);

    ob_imsg_t sign = {.type = OB_IMSG_SIGN_NODE};
    sign.u.sign_node.chunk.height = 7;
    ob_imsg_t ack = {.type = OB_IMSG_ACK_VERIFIED};
    uint8_t ack_bytes[8] = {1, 2, 3};
    ack.u.ack_verified.ack = (ob_blob_t){ack_bytes, sizeof ack_bytes};
    s_send(from_verifier, &sign); /* a verifier may not ask for a signature */
    s_send(from_journal, &ack);   /* the journal verifies no acks */
    s_send(from_journal, &sign);
    s_send(from_verifier, &ack);

    d_handler_t h = {.shell = shell, .expect = 4, .give_up = ob_shell_now_ms() + 30000};
    ob_shell_ops_t ops = {.handle = s_record, .tick = s_stop_when_done};
    assert_int_equal(ob_shell_run(shell, &ops, &h), 0);

    const ob_shell_stats_t *stats = ob_shell_stats(shell);
    assert_int_equal(stats->messages_in, 4);
    assert_int_equal(stats->wrong_sender, 2);
    assert_int_equal(stats->undecodable, 0);
    assert_int_equal(stats->foreign_process, 0);
    assert_int_equal(h.seen, 2);
    bool signed_from_journal = false, ack_from_verifier = false;
    for (size_t i = 0; i < h.seen; i++) {
        if (h.type[i] == OB_IMSG_SIGN_NODE) {
            assert_int_equal(h.from[i], OB_PARTY_JOURNAL);
            signed_from_journal = true;
        } else {
            assert_int_equal(h.type[i], OB_IMSG_ACK_VERIFIED);
            assert_int_equal(h.from[i], OB_PARTY_VERIFIER);
            ack_from_verifier = true;
        }
    }
    assert_true(signed_from_journal && ack_from_verifier);
    assert_int_equal(s_drops_reported(journal, OB_ERR_UNKNOWN_TYPE), 2);

    zsock_destroy(&from_journal);
    zsock_destroy(&from_verifier);
    ob_shell_destroy(&shell);
    ob_shell_destroy(&shell); /* safe twice */
    zsock_destroy(&journal);
}

/* In a process, the right endpoint and the right type are not enough: this
   test process is no actor our supervisor started, so its well-formed
   sign_node on the journal's endpoint is dropped undecoded. */
static void test_shell_drops_foreign_process(void **state)
{
    (void)state;
    char dir[] = "/tmp/obcast-test-dispatch-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char base[PATH_MAX];
    snprintf(base, sizeof base, "ipc://%s", dir);
    ob_shell_endpoints_t endpoints;
    s_endpoints(&endpoints, false, base);
    ob_why_t why = {{0}};
    ob_shell_t *shell = ob_shell_new(&endpoints, OB_ACTOR_SIGNER, 0, NULL, &why);
    assert_non_null(shell);
    char ep[PATH_MAX + 64];
    assert_int_equal(
        ob_shell_pair_endpoint(&endpoints, OB_PARTY_SIGNER, 0, OB_PARTY_JOURNAL, 0, ep, sizeof ep),
        0);
    zsock_t *journal = zsock_new_pull(ep);
    assert_non_null(journal);
    zsock_t *stray = s_push(&endpoints, OB_PARTY_JOURNAL, 0, OB_PARTY_SIGNER);
    ob_imsg_t sign = {.type = OB_IMSG_SIGN_NODE};
    s_send(stray, &sign);
    s_send(stray, &sign);

    /* Only the pairs of proto/imsg.csv have an endpoint. */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/signer-from-journal", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/signer-from-net", dir);
    assert_int_not_equal(access(path, F_OK), 0);

    d_handler_t h = {.shell = shell, .expect = 2, .give_up = ob_shell_now_ms() + 30000};
    ob_shell_ops_t ops = {.handle = s_record, .tick = s_stop_when_done};
    assert_int_equal(ob_shell_run(shell, &ops, &h), 0);
    assert_int_equal(ob_shell_stats(shell)->messages_in, 2);
    assert_int_equal(ob_shell_stats(shell)->foreign_process, 2);
    assert_int_equal(h.seen, 0);
    assert_int_equal(s_drops_reported(journal, OB_ERR_PEER_MISMATCH), 2);

    zsock_destroy(&stray);
    ob_shell_destroy(&shell);
    zsock_destroy(&journal);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Each slot a message hands to another actor is marked sent to the
   instance it went to, once it left: if that instance dies before taking
   it, its successor's reclaim frees the slot at once, and the sender's
   arena is not full for a lease. A slot the sender kept is left alone. */
static void test_shell_marks_slots_sent(void **state)
{
    (void)state;
    ob_shell_endpoints_t endpoints;
    s_endpoints(&endpoints, true, "inproc://test-dispatch-sent");
    char ep[PATH_MAX + 64];
    assert_int_equal(
        ob_shell_pair_endpoint(&endpoints, OB_PARTY_NET, 0, OB_PARTY_JOURNAL, 0, ep, sizeof ep), 0);
    zsock_t *journal = zsock_new_pull(ep);
    assert_non_null(journal);
    zsock_t *verifier[2];
    for (uint32_t v = 0; v < 2; v++) {
        assert_int_equal(ob_shell_pair_endpoint(&endpoints, OB_PARTY_NET, 0, OB_PARTY_VERIFIER, v,
                                                ep, sizeof ep),
                         0);
        verifier[v] = zsock_new_pull(ep);
        assert_non_null(verifier[v]);
        zsock_set_rcvtimeo(verifier[v], 2000);
    }
    zsock_set_rcvtimeo(journal, 2000);
    ob_why_t why = {{0}};
    ob_shell_t *shell = ob_shell_new(&endpoints, OB_ACTOR_NET, 0, NULL, &why);
    assert_non_null(shell);
    ob_arena_t *arena = ob_arena_new_heap(4, 64, NULL);
    ob_crypto_t *crypto = ob_crypto_new();
    assert_non_null(arena);
    ob_shell_set_arena(shell, arena);

    ob_handle_t to_journal, to_verifier, kept;
    assert_int_equal(ob_arena_put(arena, crypto, OB_ACTOR_NET, "submitted", 9, &to_journal), 0);
    assert_int_equal(ob_arena_put(arena, crypto, OB_ACTOR_NET, "peer node", 9, &to_verifier), 0);
    assert_int_equal(ob_arena_put(arena, crypto, OB_ACTOR_NET, "kept", 4, &kept), 0);
    ob_outbox_t *out = ob_shell_outbox(shell);
    ob_imsg_t submitted = {.type = OB_IMSG_SUBMITTED};
    submitted.u.submitted.client = (ob_blob_t){(const uint8_t *)"c", 1};
    submitted.u.submitted.payload = to_journal;
    assert_int_equal(ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &submitted), 0);
    ob_imsg_t peer_node = {.type = OB_IMSG_PEER_NODE};
    peer_node.u.peer_node.node = (ob_blob_t){(const uint8_t *)"n", 1};
    peer_node.u.peer_node.payload = to_verifier;
    uint32_t route = 7, instance = ob_outbox_route_instance(route, 2);
    assert_int_equal(ob_outbox_to_verifier(out, route, &peer_node), 0);
    ob_imsg_t no_slot = {.type = OB_IMSG_EPOCH_CHANGED}; /* hands nothing over */
    assert_int_equal(ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &no_slot), 0);
    ob_shell_ops_t ops = {.handle = s_record};
    ob_shell_flush(shell, &ops, NULL);
    zframe_t *frame = zframe_recv(journal);
    assert_non_null(frame);
    zframe_destroy(&frame);
    frame = zframe_recv(verifier[instance]);
    assert_non_null(frame);
    zframe_destroy(&frame);
    assert_int_equal(ob_shell_stats(shell)->slots_sent, 2);

    /* On their way they are still net's to read. */
    assert_int_equal(ob_arena_check(arena, crypto, &to_journal), 0);
    /* The other verifier instance restarts: nothing of it. */
    assert_int_equal(ob_arena_reclaim(arena, ob_actor_arena_owner(OB_ACTOR_VERIFIER, 1 - instance)),
                     0);
    /* The journal died with its message; its successor frees the slot. */
    assert_int_equal(ob_arena_reclaim(arena, OB_ACTOR_JOURNAL), 1);
    assert_null(ob_arena_get(arena, &to_journal));
    /* The verifier took its one in time: it is the verifier's now. */
    uint16_t verifier_owner = ob_actor_arena_owner(OB_ACTOR_VERIFIER, instance);
    assert_int_equal(ob_arena_take(arena, &to_verifier, verifier_owner), 0);
    assert_int_equal(ob_arena_reclaim(arena, OB_ACTOR_NET), 1); /* kept */
    assert_int_equal(ob_arena_in_use(arena), 1);
    assert_int_equal(ob_arena_release(arena, &to_verifier, verifier_owner), 0);

    ob_shell_destroy(&shell);
    ob_arena_destroy(&arena);
    ob_crypto_destroy(&crypto);
    zsock_destroy(&journal);
    for (uint32_t v = 0; v < 2; v++)
        zsock_destroy(&verifier[v]);
}

int main(void)
{
    ob_log_set_level(OB_LOG_ERROR);
    zsys_init();
    zsys_set_linger(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_numbers_unchanged),
        cmocka_unit_test(test_signer_callers),
        cmocka_unit_test(test_operator_and_journal),
        cmocka_unit_test(test_tables_consistent),
        cmocka_unit_test(test_shell_drops_wrong_sender),
        cmocka_unit_test(test_shell_drops_foreign_process),
        cmocka_unit_test(test_shell_marks_slots_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

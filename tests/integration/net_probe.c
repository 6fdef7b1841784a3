/*  A test tool that stands for a hostile holder of some CURVE key: it
    connects a DEALER to one of a node's TCP sockets (peer port, app,
    submit) with the certificate it is given.

        net_probe MODE ENDPOINT SERVER_KEY CERT [ARG]

    CERT is a czmq certificate (its secret half beside it, CERT_secret).
    MODE:
      handshake     exit 0 if the CURVE handshake succeeds, 3 if the node
                    refuses it (ZAP), 4 if neither within 10 s
      big MIB       sends MIB MiB in frames of 64 MiB + 1 each, one per
                    message (each larger than any bound net sets, with
                    max_payload at most 64 MiB); exit 0
      parts MIB     sends one message of MIB frames of 1 MiB each; exit 0
      app SECONDS [accept|reject]
                    tries to attach as the application: app_attach every
                    200 ms; prints how many frames the node sent it
                    ("asks=N": asks for payloads and verdicts, reports);
                    with accept or reject, answers every app_ask_verdict
                    so ("verdicts=N")

    The flood modes hold one buffer: each frame is that same buffer, sent
    without a copy (zmq_msg_init_data). */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MIB (1u << 20)
#define S_BIG (64u * S_MIB + 1)

static int s_handshake(zsock_t *dealer, zsock_t *monitor)
{
    (void)dealer;
    zsock_set_rcvtimeo(monitor, 10000);
    while (true) {
        zmsg_t *event = zmsg_recv(monitor);
        if (!event)
            return 4;
        uint16_t code = 0;
        zframe_t *first = zmsg_first(event);
        if (first && zframe_size(first) >= 2)
            memcpy(&code, zframe_data(first), 2);
        zmsg_destroy(&event);
        if (code == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            return 0;
        if (code == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
            code == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
            code == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            return 3;
    }
}

static int s_send_shared(void *handle, uint8_t *buffer, size_t len, int flags)
{
    zmq_msg_t msg;
    zmq_msg_init_data(&msg, buffer, len, NULL, NULL); /* no copy, never freed */
    int rc = zmq_msg_send(&msg, handle, flags);
    if (rc < 0)
        zmq_msg_close(&msg);
    return rc;
}

/* On a context of its own (czmq's ends without waiting), whose
   termination waits until every frame is sent or the peer closed. */
static int s_flood(zcert_t *cert, const char *endpoint, const char *server, bool parts, long mib)
{
    static uint8_t buffer[S_BIG];
    memset(buffer, 0x01, sizeof buffer); /* a Node header, for what it is worth */
    void *ctx = zmq_ctx_new();
    void *handle = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 120000, hwm = 0;
    zmq_setsockopt(handle, ZMQ_CURVE_PUBLICKEY, zcert_public_key(cert), 32);
    zmq_setsockopt(handle, ZMQ_CURVE_SECRETKEY, zcert_secret_key(cert), 32);
    zmq_setsockopt(handle, ZMQ_CURVE_SERVERKEY, server, strlen(server));
    zmq_setsockopt(handle, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(handle, ZMQ_SNDHWM, &hwm, sizeof hwm); /* blocked by TCP, not dropped */
    /* libzmq drops what a socket closed before its handshake held: the
       flood starts once the node has admitted us. */
    zmq_socket_monitor(handle, "inproc://net-probe-flood", ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    void *monitor = zmq_socket(ctx, ZMQ_PAIR);
    int timeout = 10000;
    zmq_setsockopt(monitor, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_connect(monitor, "inproc://net-probe-flood");
    int rc = zmq_connect(handle, endpoint) == 0 ? 0 : 1;
    uint8_t event[64];
    if (rc == 0 && zmq_recv(monitor, event, sizeof event, 0) < 0) {
        fprintf(stderr, "net_probe: no handshake with %s\n", endpoint);
        rc = 1;
    }
    zmq_socket_monitor(handle, NULL, 0);
    zmq_close(monitor);
    long frames = parts ? mib : (mib + 63) / 64;
    for (long i = 0; rc == 0 && i < frames; i++) {
        int flags = parts && i + 1 < frames ? ZMQ_SNDMORE : 0;
        if (s_send_shared(handle, buffer, parts ? S_MIB : sizeof buffer, flags) < 0) {
            fprintf(stderr, "net_probe: send %ld: %s\n", i, zmq_strerror(zmq_errno()));
            rc = 1;
        }
    }
    zmq_close(handle);
    zmq_ctx_term(ctx);
    return rc;
}

/* The imsg header (proto/imsg.csv): type(u16) version(u8). */
static const uint8_t s_attach_frame[3] = {0x00, 100, 0x01}; /* app_attach */

/* app_ask_verdict (103) and app_give_verdict (104): header, chunk(72)... */
#define S_CHUNK_LEN 72

static int s_app(zsock_t *dealer, long seconds, const uint8_t *attach, size_t attach_len,
                 int verdict)
{
    void *handle = zsock_resolve(dealer);
    int64_t end = zclock_mono() + seconds * 1000;
    long asks = 0, verdicts = 0;
    /* SIGTERM (czmq's handler sets zsys_interrupted) ends the run early,
       so that a test can stop it without waiting out its seconds. */
    while (zclock_mono() < end && !zsys_interrupted) {
        zmq_send(handle, attach, attach_len, ZMQ_DONTWAIT);
        zpoller_t *poller = zpoller_new(dealer, NULL);
        zpoller_wait(poller, 200);
        zpoller_destroy(&poller);
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        while (zmq_msg_recv(&msg, handle, ZMQ_DONTWAIT) >= 0) {
            asks++;
            const uint8_t *in = zmq_msg_data(&msg);
            if (verdict >= 0 && zmq_msg_size(&msg) >= 3 + S_CHUNK_LEN && in[0] == 0 &&
                in[1] == 103) {
                uint8_t give[3 + S_CHUNK_LEN + 1] = {0, 104, 1};
                memcpy(give + 3, in + 3, S_CHUNK_LEN);
                give[3 + S_CHUNK_LEN] = (uint8_t)verdict;
                zmq_send(handle, give, sizeof give, ZMQ_DONTWAIT);
                verdicts++;
            }
            zmq_msg_close(&msg);
            zmq_msg_init(&msg);
        }
        zmq_msg_close(&msg);
    }
    printf("asks=%ld\n", asks);
    if (verdict >= 0)
        printf("verdicts=%ld\n", verdicts);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr,
                "usage: net_probe handshake|big|parts|app ENDPOINT SERVER_KEY CERT [ARG]\n");
        return 2;
    }
    const char *mode = argv[1];
    zcert_t *cert = zcert_load(argv[4]);
    if (!cert) {
        fprintf(stderr, "net_probe: cannot load the certificate %s\n", argv[4]);
        return 2;
    }
    long arg = argc > 5 ? strtol(argv[5], NULL, 10) : 0;
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zcert_apply(cert, dealer);
    zsock_set_curve_serverkey(dealer, argv[3]);
    zsock_set_linger(dealer, 0);
    zsock_set_sndhwm(dealer, 0); /* the flood is blocked by TCP, not dropped */
    char monitor_ep[64];
    snprintf(monitor_ep, sizeof monitor_ep, "inproc://net-probe-monitor");
    zmq_socket_monitor(zsock_resolve(dealer), monitor_ep,
                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    zsock_t *monitor = zsock_new_pair(monitor_ep);
    int rc = 2;
    if (zsock_connect(dealer, "%s", argv[2]) != 0) {
        fprintf(stderr, "net_probe: cannot connect to %s\n", argv[2]);
    } else if (strcmp(mode, "handshake") == 0) {
        rc = s_handshake(dealer, monitor);
    } else if (strcmp(mode, "big") == 0 || strcmp(mode, "parts") == 0) {
        rc = s_flood(cert, argv[2], argv[3], strcmp(mode, "parts") == 0, arg);
    } else if (strcmp(mode, "app") == 0) {
        int verdict = argc > 6 ? (strcmp(argv[6], "accept") == 0 ? 1 : 0) : -1;
        rc = s_app(dealer, arg, s_attach_frame, sizeof s_attach_frame, verdict);
    } else {
        fprintf(stderr, "net_probe: unknown mode %s\n", mode);
    }
    zmq_socket_monitor(zsock_resolve(dealer), NULL, 0);
    zsock_destroy(&monitor);
    zsock_destroy(&dealer);
    zcert_destroy(&cert);
    return rc;
}

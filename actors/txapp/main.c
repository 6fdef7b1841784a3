/*  obcast-txapp: an example application on a node's application socket
    (SPEC §5; proto/imsg.csv, "Outside the node").

    obcast-txapp --config NODE.zpl [--endpoint EP] [--batch N] [--rate R]
                 [--bad-every K] [--senders S]

    It connects a DEALER to the node's app endpoint, attaches (app_attach
    every 500 ms, the heartbeat), and then:
      - PROPOSE: app_ask_payload is answered with a fresh batch of N signed
        transactions (actors/txapp/txapp.h); with --bad-every K, every Kth
        batch carries one bad signature, so that the peers reject it;
      - VERIFY: app_ask_verdict is answered valid only if the bytes hash to
        the chunk's digest and every signature in the batch verifies;
      - app_lock is answered app_lock_received; app_tip and app_evidence
        are counted.
    With --rate R it proposes at most R batches a second (an ask that comes
    too soon is answered when its time comes). On SIGINT or SIGTERM it
    prints one stats line and exits 0. */
#include "args.h"
#include "config.h"
#include "imsg.h"
#include "log.h"
#include "txapp.h"

#include <czmq.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define s_usage_error(...) ob_args_usage_error(stderr, "obcast-txapp", __VA_ARGS__)

#ifndef OBCAST_VERSION
#error "OBCAST_VERSION comes from meson.build's project()"
#endif

#define S_EXIT_FAILED  1
#define S_EXIT_USAGE   2
#define S_HEARTBEAT_MS 500
#define S_MAX_ANSWER   (OB_IMSG_BLOB_MAX + 256)
#define S_HWM          1000

static const char *s_usage =
    "usage: obcast-txapp --config NODE.zpl [options]\n"
    "       obcast-txapp --endpoint EP [options]\n"
    "\n"
    "An example application: proposes batches of signed transactions and\n"
    "verifies every signature in its peers' batches.\n"
    "\n"
    "  --config NODE.zpl   the node's config: its app_endpoint (default\n"
    "                      ipc://<runtime_dir>/app) and, for tcp, its CURVE key\n"
    "  --endpoint EP       the application socket, instead of the config's\n"
    "  --server-key Z85    tcp only: the node's CURVE public key\n"
    "  --curve CERT        tcp only: this application's CURVE certificate\n"
    "  --batch N           transactions per batch (default 16, at most 8192)\n"
    "  --rate R            at most R batches a second (default 0: as asked)\n"
    "  --bad-every K       every Kth batch proposed carries a bad signature; its\n"
    "                      peers reject it, and since a signed height is never\n"
    "                      signed again (SPEC §3), this node's chain stops there\n"
    "  --senders S         generated senders (default 16, at most 1024)\n"
    "  --help, --version\n"
    "\n"
    "exit status: 0 stopped by SIGINT/SIGTERM, 1 failed, 2 bad usage\n";

typedef struct {
    uint64_t proposed, proposed_bad, verified, rejected, tips, locks, evidence, dropped;
    uint64_t txs_proposed, txs_verified;
} s_stats_t;

typedef struct {
    zsock_t *sock;
    ob_txapp_t *app;
    ob_crypto_t *crypto;
    uint32_t batch;
    uint32_t rate;
    uint64_t bad_every;
    uint64_t last_proposal_ms;
    bool ask_pending; /* an ask held back by --rate */
    uint64_t ask_height;
    s_stats_t stats;
} s_txapp_t;

static int s_send(s_txapp_t *self, const ob_imsg_t *msg)
{
    size_t len = ob_imsg_encoded_len(msg), written = 0;
    zmq_msg_t frame;
    if (zmq_msg_init_size(&frame, len) != 0)
        return -1;
    if (ob_imsg_encode(msg, zmq_msg_data(&frame), len, &written) != 0 ||
        zmq_msg_send(&frame, zsock_resolve(self->sock), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        self->stats.dropped++;
        return -1;
    }
    return 0;
}

static void s_attach(s_txapp_t *self)
{
    ob_imsg_t msg = {.type = OB_IMSG_APP_ATTACH};
    s_send(self, &msg);
}

static void s_propose(s_txapp_t *self, uint64_t height, uint64_t now)
{
    uint64_t number = self->stats.proposed + 1;
    bool bad = self->bad_every && number % self->bad_every == 0;
    uint8_t *batch = NULL;
    size_t len = 0;
    if (ob_txapp_build(self->app, self->batch, bad ? self->batch / 2 : UINT32_MAX, &batch, &len) !=
        0) {
        ob_error("txapp: cannot build a batch");
        return;
    }
    ob_imsg_t msg = {.type = OB_IMSG_APP_GIVE_PAYLOAD};
    msg.u.app_give_payload.height = height;
    msg.u.app_give_payload.data = (ob_blob_t){batch, (uint32_t)len};
    if (s_send(self, &msg) == 0) {
        self->stats.proposed++;
        self->stats.txs_proposed += self->batch;
        if (bad)
            self->stats.proposed_bad++;
        self->last_proposal_ms = now;
        ob_debug("txapp: proposed height %" PRIu64 " (%zu bytes%s)", height, len,
                 bad ? ", one bad signature" : "");
    }
    free(batch);
}

/* How long until the held-back ask may be answered: 0 now. */
static uint64_t s_rate_wait(const s_txapp_t *self, uint64_t now)
{
    if (self->rate == 0 || self->stats.proposed == 0)
        return 0;
    uint64_t gap = 1000 / self->rate;
    uint64_t due = self->last_proposal_ms + gap;
    return now >= due ? 0 : due - now;
}

static void s_on_ask_payload(s_txapp_t *self, const ob_imsg_app_ask_payload_t *in, uint64_t now)
{
    self->ask_pending = true;
    self->ask_height = in->height;
    if (s_rate_wait(self, now) == 0) {
        self->ask_pending = false;
        s_propose(self, in->height, now);
    }
}

static void s_on_ask_verdict(s_txapp_t *self, const ob_imsg_app_ask_verdict_t *in)
{
    const ob_chunk_t *chunk = &in->chunk;
    uint8_t digest[32];
    ob_sha256(self->crypto, in->data.data, in->data.len, digest);
    ob_txapp_result_t rc = OB_TXAPP_OK;
    uint32_t count = 0;
    bool valid = memcmp(digest, chunk->payload, 32) == 0;
    if (valid) {
        rc = ob_txapp_verify(self->app, in->data.data, in->data.len, &count);
        valid = rc == OB_TXAPP_OK;
    }
    if (valid) {
        self->stats.verified++;
        self->stats.txs_verified += count;
    } else {
        self->stats.rejected++;
        char seq[17];
        for (int i = 0; i < 8; i++)
            snprintf(seq + 2 * i, 3, "%02x", chunk->sequencer[i]);
        ob_warn("txapp: rejected the batch of %s... at height %" PRIu64 ": %s", seq, chunk->height,
                rc == OB_TXAPP_OK ? "digest mismatch" : ob_txapp_result_name(rc));
    }
    ob_imsg_t msg = {.type = OB_IMSG_APP_GIVE_VERDICT};
    msg.u.app_give_verdict.chunk = *chunk;
    msg.u.app_give_verdict.valid = valid;
    s_send(self, &msg);
}

static void s_on_lock(s_txapp_t *self, const ob_imsg_app_lock_t *in)
{
    ob_chunk_t chunk;
    if (in->lock.len < OB_CHUNK_LEN + 8 + 2 ||
        ob_chunk_decode(&chunk, in->lock.data, OB_CHUNK_LEN) != OB_OK) {
        self->stats.dropped++;
        return;
    }
    self->stats.locks++;
    ob_imsg_t msg = {.type = OB_IMSG_APP_LOCK_RECEIVED};
    msg.u.app_lock_received.chunk = chunk;
    s_send(self, &msg);
}

static void s_on_frame(s_txapp_t *self, const uint8_t *data, size_t len, uint64_t now)
{
    ob_imsg_t msg;
    ob_error_t rc = ob_imsg_decode(&msg, data, len);
    if (rc != OB_OK) {
        self->stats.dropped++;
        ob_warn("txapp: the node sent a frame that does not decode: %s", ob_error_name(rc));
        return;
    }
    ob_net_to_app_t in;
    if (ob_net_to_app(msg.type, &in) != 0) {
        self->stats.dropped++;
        ob_warn("txapp: the node sent %s, which is not for an application", ob_imsg_name(msg.type));
        return;
    }
    switch (in) {
    case OB_NET_TO_APP_APP_ASK_PAYLOAD:
        s_on_ask_payload(self, &msg.u.app_ask_payload, now);
        return;
    case OB_NET_TO_APP_APP_ASK_VERDICT:
        s_on_ask_verdict(self, &msg.u.app_ask_verdict);
        return;
    case OB_NET_TO_APP_APP_LOCK:
        s_on_lock(self, &msg.u.app_lock);
        return;
    case OB_NET_TO_APP_APP_TIP:
        self->stats.tips++;
        return;
    case OB_NET_TO_APP_APP_EVIDENCE:
        self->stats.evidence++;
        ob_warn("txapp: the node reports evidence of equivocation (kind %u)",
                msg.u.app_evidence.kind);
        return;
    case OB_NET_TO_APP_APP_FETCH_FOUND:
    case OB_NET_TO_APP_APP_FETCH_FAILED:
        /* obcast-txapp never sends app_fetch: an answer is to no request. */
        self->stats.dropped++;
        ob_warn("txapp: the node sent %s, but no fetch was asked", ob_imsg_name(msg.type));
        return;
    }
}

/* Reads everything waiting on the socket. */
static void s_drain(s_txapp_t *self, uint64_t now)
{
    void *handle = zsock_resolve(self->sock);
    while (!zsys_interrupted) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frame);
            return;
        }
        if (zmq_msg_more(&frame)) {
            /* One frame per message: drop this one whole. */
            self->stats.dropped++;
            while (zmq_msg_more(&frame)) {
                zmq_msg_close(&frame);
                zmq_msg_init(&frame);
                if (zmq_msg_recv(&frame, handle, ZMQ_DONTWAIT) < 0)
                    break;
            }
            zmq_msg_close(&frame);
            continue;
        }
        s_on_frame(self, zmq_msg_data(&frame), zmq_msg_size(&frame), now);
        zmq_msg_close(&frame);
    }
}

static void s_print_stats(const s_txapp_t *self)
{
    const s_stats_t *s = &self->stats;
    printf("obcast-txapp: proposed=%" PRIu64 " (bad %" PRIu64 ", %" PRIu64 " txs) verified=%" PRIu64
           " (%" PRIu64 " txs) rejected=%" PRIu64 " tips=%" PRIu64 " locks=%" PRIu64
           " evidence=%" PRIu64 " dropped=%" PRIu64 "\n",
           s->proposed, s->proposed_bad, s->txs_proposed, s->verified, s->txs_verified, s->rejected,
           s->tips, s->locks, s->evidence, s->dropped);
    fflush(stdout);
}

static zsock_t *s_connect(const char *endpoint, const char *server_key, const char *cert_file,
                          ob_why_t *why)
{
    bool tcp = strncmp(endpoint, "tcp://", 6) == 0;
    if (tcp && (strlen(server_key) != OB_Z85_KEY_LEN || !cert_file)) {
        ob_why(why,
               "%s: a tcp endpoint needs the node's CURVE key (--server-key or the manifest) "
               "and this application's certificate (--curve)",
               endpoint);
        return NULL;
    }
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (!sock) {
        ob_why(why, "%s: cannot make a socket", endpoint);
        return NULL;
    }
    zsock_set_sndhwm(sock, S_HWM);
    zsock_set_rcvhwm(sock, S_HWM);
    zsock_set_maxmsgsize(sock, (int64_t)S_MAX_ANSWER);
    zsock_set_linger(sock, 0);
    if (tcp) {
        zcert_t *cert = zcert_load(cert_file);
        if (!cert) {
            ob_why(why, "%s: cannot load the CURVE certificate %s", endpoint, cert_file);
            zsock_destroy(&sock);
            return NULL;
        }
        zcert_apply(cert, sock);
        zcert_destroy(&cert);
        zsock_set_curve_serverkey(sock, server_key);
    }
    if (zsock_connect(sock, "%s", endpoint) != 0) {
        ob_why(why, "%s: cannot connect: %s", endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
    }
    return sock;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"endpoint", required_argument, NULL, 'e'},
                                            {"server-key", required_argument, NULL, 'k'},
                                            {"curve", required_argument, NULL, 'C'},
                                            {"batch", required_argument, NULL, 'b'},
                                            {"rate", required_argument, NULL, 'r'},
                                            {"bad-every", required_argument, NULL, 'B'},
                                            {"senders", required_argument, NULL, 's'},
                                            {"help", no_argument, NULL, 'h'},
                                            {"version", no_argument, NULL, 'V'},
                                            {NULL, 0, NULL, 0}};
    const char *config = NULL, *cert_file = NULL;
    char endpoint[OB_ENDPOINT_MAX] = "";
    char server_key[OB_Z85_KEY_LEN + 1] = "";
    uint64_t batch = 16, rate = 0, bad_every = 0, senders = 16;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'e':
            if (snprintf(endpoint, sizeof endpoint, "%s", optarg) >= (int)sizeof endpoint)
                return s_usage_error("--endpoint is too long");
            break;
        case 'k':
            if (strlen(optarg) != OB_Z85_KEY_LEN)
                return s_usage_error("--server-key must be 40 Z85 characters");
            snprintf(server_key, sizeof server_key, "%s", optarg);
            break;
        case 'C':
            cert_file = optarg;
            break;
        case 'b':
            if (ob_args_u64(optarg, 1, OB_TXAPP_TXS_MAX, &batch) != 0)
                return s_usage_error("--batch must be 1 to %d, not '%s'", OB_TXAPP_TXS_MAX, optarg);
            break;
        case 'r':
            if (ob_args_u64(optarg, 0, 1000, &rate) != 0)
                return s_usage_error("--rate must be 0 to 1000, not '%s'", optarg);
            break;
        case 'B':
            if (ob_args_u64(optarg, 1, UINT32_MAX, &bad_every) != 0)
                return s_usage_error("--bad-every must be a positive number, not '%s'", optarg);
            break;
        case 's':
            if (ob_args_u64(optarg, 1, 1024, &senders) != 0)
                return s_usage_error("--senders must be 1 to 1024, not '%s'", optarg);
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 0;
        case 'V':
            printf("obcast-txapp %s\n", OBCAST_VERSION);
            return 0;
        default:
            return s_usage_error("unknown option");
        }
    }
    if (optind != argc)
        return s_usage_error("unexpected argument '%s'", argv[optind]);
    if (!config && !endpoint[0])
        return s_usage_error("give --config NODE.zpl or --endpoint EP");

    ob_log_set_ident("txapp");
    ob_why_t why = {{0}};
    if (config && ob_node_client_endpoint(config, "app", endpoint, server_key, &why) != 0) {
        fprintf(stderr, "obcast-txapp: %s\n", why.text);
        return S_EXIT_FAILED;
    }
    s_txapp_t self = {.batch = (uint32_t)batch, .rate = (uint32_t)rate, .bad_every = bad_every};
    self.app = ob_txapp_new((uint32_t)senders, NULL, &why);
    self.crypto = ob_crypto_new();
    if (!self.app || !self.crypto) {
        fprintf(stderr, "obcast-txapp: %s\n", self.app ? "no entropy" : why.text);
        ob_txapp_destroy(&self.app);
        ob_crypto_destroy(&self.crypto);
        return S_EXIT_FAILED;
    }
    self.sock = s_connect(endpoint, server_key, cert_file, &why);
    if (!self.sock) {
        fprintf(stderr, "obcast-txapp: %s\n", why.text);
        ob_txapp_destroy(&self.app);
        ob_crypto_destroy(&self.crypto);
        return S_EXIT_FAILED;
    }
    ob_info("txapp: attaching to %s (batches of %u, %u senders)", endpoint, self.batch,
            (unsigned)senders);

    zpoller_t *poller = zpoller_new(self.sock, NULL);
    uint64_t next_heartbeat = 0;
    while (!zsys_interrupted && poller) {
        uint64_t now = (uint64_t)zclock_mono();
        if (now >= next_heartbeat) {
            s_attach(&self);
            next_heartbeat = now + S_HEARTBEAT_MS;
        }
        if (self.ask_pending && s_rate_wait(&self, now) == 0) {
            self.ask_pending = false;
            s_propose(&self, self.ask_height, now);
        }
        uint64_t wait = next_heartbeat - now;
        if (self.ask_pending) {
            uint64_t due = s_rate_wait(&self, now);
            if (due < wait)
                wait = due;
        }
        void *which = zpoller_wait(poller, (int)wait);
        if (which == self.sock)
            s_drain(&self, (uint64_t)zclock_mono());
        else if (zpoller_terminated(poller))
            break;
    }
    s_print_stats(&self);
    zpoller_destroy(&poller);
    zsock_destroy(&self.sock);
    ob_txapp_destroy(&self.app);
    ob_crypto_destroy(&self.crypto);
    return 0;
}

/*  obcast-evil: a byzantine peer for tests (issue 9). Never installed.

    It is a real, authenticated member of the cluster: it holds one node's
    keys (its node config: key_file, curve_secret_file), binds that node's
    peer endpoint as a CURVE server (so the honest nodes' DEALERs reach it
    and it hears their nodes and acks) and reaches every honest node
    through a DEALER of its own, exactly as obcast-net does. Everything it
    sends is built with the project's own encoders and signers, so what the
    honest nodes reject they reject for the protocol's reasons, not for a
    codec of ours.

    Each --mode is one kind of misbehaviour, run for --seconds; at the end
    it prints one JSON line: what it sent, what it received (acks and nodes
    by sender), and what it saw of the honest nodes' behaviour (distinct
    ack signatures per (sequencer, height, validator), two payloads acked
    or signed at one height), so that a test asserts on honest behaviour.

    Its own chain survives between runs in a state file (default
    <data_dir>/evil.state): the last certified chunk with its certificate,
    and the tip it last proposed, so that the next run builds on it.

    Every loop, table and buffer here is bounded. */
#include "args.h"
#include "cert.h"
#include "config.h"
#include "crypto.h"
#include "epochs.h"
#include "hex.h"
#include "keyfile.h"
#include "keyset.h"
#include "log.h"
#include "signing.h"
#include "verify.h"

#include "../../proto/batch.h"
#include "../../proto/wire.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_PROGRAM         "obcast-evil"
#define S_MAX_PEERS       32
#define S_MAX_VALIDATORS  64
#define S_MAX_CANDIDATES  4    /* payloads proposed at one height (equivocation) */
#define S_OWN_PAYLOAD_MAX 256  /* our own chain's payloads stay small */
#define S_MAX_FRAMES_KEPT 4    /* frames of one received message that are looked at */
#define S_PUMP_MAX        4096 /* messages handled per pump */
#define S_ACK_TABLE_BITS  15
#define S_ACK_TABLE_SIZE  (1u << S_ACK_TABLE_BITS)
#define S_SIGS_KEPT       16 /* distinct signatures remembered per entry */
#define S_NODE_RING       4096
#define S_BIG_FRAME       (64u << 20) /* one oversized frame */
#define S_SEND_HWM        10000
#define S_CONNECT_WAIT_MS 10000
#define S_MIN_STALL_MS    1500 /* slow-reader: the shortest stall */
#define S_CERTIFY_WAIT_MS 15000
/* A state file line: a node frame or a certificate in hex, with room. */
#define S_STATE_LINE_MAX  20480
#define S_STATE_TOKEN_FMT "%20479s"

/* A node frame of ours: header ‖ Node with a parent of at most
   S_MAX_VALIDATORS entries. */
#define S_FRAME_MAX                                                                                \
    (2 + OB_CHUNK_LEN + OB_SIGNATURE_LEN + 1 + OB_DIGEST_LEN + 8 + 2 +                             \
     OB_CERT_ENTRIES_LEN(S_MAX_VALIDATORS))

typedef enum {
    S_MODE_EQUIVOCATE,
    S_MODE_CONFLICT_CERT,
    S_MODE_BAD_ACKS,
    S_MODE_DUP_TIPS,
    S_MODE_BAD_FRAMES,
    S_MODE_SLOW_READER,
    S_MODE_FLOOD,
    S_MODE_FETCH_FLOOD,
    S_MODE_FETCH_LIES,
    S_MODE_COUNT
} s_mode_t;

static const char *const s_mode_names[S_MODE_COUNT] = {
    [S_MODE_EQUIVOCATE] = "equivocate", [S_MODE_CONFLICT_CERT] = "conflict-cert",
    [S_MODE_BAD_ACKS] = "bad-acks",     [S_MODE_DUP_TIPS] = "dup-tips",
    [S_MODE_BAD_FRAMES] = "bad-frames", [S_MODE_SLOW_READER] = "slow-reader",
    [S_MODE_FLOOD] = "flood",           [S_MODE_FETCH_FLOOD] = "fetch-flood",
    [S_MODE_FETCH_LIES] = "fetch-lies",
};

/* The order of --mode all: the modes that only stress come first; those
   that get us blocked for block_ms (SPEC §3 "Blocking") come last:
   bad-acks (forged acks under our own index), conflict-cert and
   equivocate (a second node at a height to a node that holds our first)
   and fetch-lies (forged certificates). What we send while blocked is
   not heard: run them against nodes with a short block_ms, and wait it
   out between them. */
static const s_mode_t s_all_order[S_MODE_COUNT] = {
    S_MODE_DUP_TIPS,      S_MODE_BAD_FRAMES,  S_MODE_SLOW_READER,
    S_MODE_FLOOD,         S_MODE_FETCH_FLOOD, S_MODE_BAD_ACKS,
    S_MODE_CONFLICT_CERT, S_MODE_EQUIVOCATE,  S_MODE_FETCH_LIES,
};

typedef struct {
    char name[OB_NAME_MAX];
    uint8_t key[32];
    bool validator; /* of the current epoch */
    uint16_t index;
    zsock_t *dealer;
    zsock_t *monitor;
    bool connected;
    /* per mode */
    uint64_t sent, send_dropped, received, acks_in, nodes_in, own_acks_in;
    uint32_t max_distinct; /* most distinct ack signatures at one (sequencer, height) */
} s_peer_t;

/* One payload proposed at our tip height, with the acks it got. */
typedef struct {
    bool used;
    ob_chunk_t chunk;
    uint8_t payload[S_OWN_PAYLOAD_MAX];
    size_t payload_len;
    uint8_t frame[S_FRAME_MAX];
    size_t frame_len;
    ob_ack_t acks[S_MAX_VALIDATORS];
    bool have[S_MAX_VALIDATORS];
    uint16_t ack_count;
} s_candidate_t;

/* Our own chain. */
typedef struct {
    bool certified;
    ob_chunk_t cert_chunk;
    uint64_t cert_epoch;
    uint16_t cert_count;
    uint8_t cert_entries[OB_CERT_ENTRIES_LEN(S_MAX_VALIDATORS)];
    bool has_tip;
    uint64_t tip_height;
    s_candidate_t cand[S_MAX_CANDIDATES];
} s_chain_t;

/* What honest validators acked, per (sequencer, height, validator). */
typedef struct {
    bool used;
    uint8_t sequencer[32];
    uint64_t height;
    uint16_t index;
    uint8_t payload[32];
    bool conflict;
    uint32_t acks;
    uint8_t sig_count;
    bool sig_overflow;
    uint64_t sigs[S_SIGS_KEPT];
} s_ack_entry_t;

/* A Lock as we keep it: its certificate copied out of the frame it came in. */
typedef struct {
    ob_chunk_t chunk;
    uint64_t epoch;
    uint16_t count;
    uint8_t entries[OB_CERT_ENTRIES_LEN(S_MAX_VALIDATORS)];
} s_lock_t;

/* The last heights an honest sequencer sent us, to see it sign two. */
typedef struct {
    bool used;
    uint64_t height;
    uint8_t payload[32];
} s_node_slot_t;

typedef struct {
    uint8_t key[32];
    s_node_slot_t ring[S_NODE_RING];
    bool has_latest;
    ob_chunk_t latest;   /* the highest chunk it sent us */
    ob_ack_t latest_ack; /* an honest validator's ack we received on it */
    bool has_latest_ack;
    bool has_lock;
    s_lock_t lock; /* a real one: the parent certificate of its latest node */
} s_sequencer_t;

typedef struct {
    uint64_t nodes, acks, frames, dropped, proposals;
} s_sent_t;

typedef struct {
    uint64_t messages, nodes, acks, undecodable, unknown_sender, own_acks, own_acks_bad,
        certificates;
    uint64_t fetches; /* Fetch: answered only in fetch-lies */
    uint64_t fetched; /* Fetched: answers to fetch-flood's Fetch, counted */
    uint64_t ack_entries_untracked, conflicting_acks, conflicting_nodes;
} s_received_t;

/* What fetch-lies sent, by kind. */
typedef struct {
    uint64_t fetches_answered, payload_mismatch, below_quorum, own_key_signatures,
        flipped_signature, unasked;
} s_lies_t;

typedef struct {
    ob_node_config_t config;
    ob_manifest_t *manifest;
    ob_crypto_t *crypto;
    ob_keypair_t key;
    const ob_namespace_t *ns;
    const ob_epochs_t *epochs;
    uint64_t epoch;
    const ob_keyset_t *validators;
    uint16_t n, q;
    bool i_validate;
    uint16_t my_index;
    uint32_t max_payload;
    char state_path[PATH_MAX];

    zactor_t *auth;
    zcert_t *curve;
    zsock_t *router;
    zsock_t *router_monitor; /* libzmq's events of the router */
    int inbound;             /* honest DEALERs whose CURVE handshake with us succeeded */
    unsigned routers_made;
    s_peer_t peers[S_MAX_PEERS];
    size_t peer_count;

    s_chain_t chain;
    s_ack_entry_t *acks; /* S_ACK_TABLE_SIZE */
    s_sequencer_t seqs[S_MAX_PEERS];
    size_t seq_count;

    bool reading; /* slow-reader turns it off */
    bool lying;   /* fetch-lies: every Fetch is answered with forgeries */
    s_lies_t lies;
    s_sent_t sent;
    s_received_t received;
    char extra[8192]; /* the mode's own fields, JSON */
    size_t extra_len;
} s_evil_t;

static uint8_t *s_big; /* the one oversized buffer, sent zero-copy */

/* --- small things ------------------------------------------------------------ */

static uint64_t s_now(void)
{
    return (uint64_t)zclock_mono();
}

static void s_random(void *out, size_t len)
{
    if (ob_random_bytes(out, len) != 0)
        memset(out, 0x5a, len); /* only test traffic; entropy is not a safety matter here */
}

static uint64_t s_random_u64(void)
{
    uint64_t v;
    s_random(&v, sizeof v);
    return v;
}

static void s_hex(const uint8_t *data, size_t len, char *out)
{
    ob_hex_encode(data, len, out);
}

static void s_extra(s_evil_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_extra(s_evil_t *self, const char *fmt, ...)
{
    size_t room = sizeof self->extra - self->extra_len;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(self->extra + self->extra_len, room, fmt, ap);
    va_end(ap);
    if (w > 0)
        self->extra_len += (size_t)w < room ? (size_t)w : room - 1;
}

/* --- the state file: our chain between runs ------------------------------------ */

static int s_state_save(s_evil_t *self)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", self->state_path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        ob_error("state %s: cannot write: %s", tmp, strerror(errno));
        return -1;
    }
    static char hex[S_STATE_LINE_MAX];
    _Static_assert(2 * S_FRAME_MAX < S_STATE_LINE_MAX / 2 &&
                       2 * OB_CERT_ENTRIES_LEN(S_MAX_VALIDATORS) < S_STATE_LINE_MAX / 2,
                   "a state file line holds a node frame or a certificate in hex");
    fprintf(f, "obcast-evil-state 1\n");
    const s_chain_t *c = &self->chain;
    if (c->certified) {
        char digest[65];
        s_hex(c->cert_chunk.payload, 32, digest);
        s_hex(c->cert_entries, OB_CERT_ENTRIES_LEN(c->cert_count), hex);
        fprintf(f, "certified %" PRIu64 " %" PRIu64 " %s %u %s\n", c->cert_chunk.height,
                c->cert_epoch, digest, c->cert_count, c->cert_count ? hex : "-");
    }
    if (c->has_tip && c->cand[0].used) {
        const s_candidate_t *t = &c->cand[0];
        s_hex(t->frame, t->frame_len, hex);
        fprintf(f, "tip %s ", hex);
        s_hex(t->payload, t->payload_len, hex);
        fprintf(f, "%s\n", t->payload_len ? hex : "-");
    }
    int rc = 0;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, self->state_path) != 0)
        rc = -1;
    if (rc != 0)
        ob_error("state %s: cannot write: %s", self->state_path, strerror(errno));
    return rc;
}

static ob_epoch_lookup_t s_lookup(s_evil_t *self)
{
    return ob_epochs_lookup(self->epochs);
}

/* A strict reader: a state file that does not parse is an error naming
   the file and line, never guessed around. */
static int s_state_load(s_evil_t *self, ob_why_t *why)
{
    FILE *f = fopen(self->state_path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0; /* a first run: the chain starts at height 0 */
        return ob_why(why, "state %s: %s", self->state_path, strerror(errno));
    }
    /* a token is never longer than its line */
    static char line[S_STATE_LINE_MAX], a[S_STATE_LINE_MAX], b[S_STATE_LINE_MAX];
    int rc = 0, lineno = 0;
    s_chain_t *c = &self->chain;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') {
            rc = ob_why(why, "state %s: line %d: too long or unterminated", self->state_path,
                        lineno);
            break;
        }
        line[len - 1] = 0;
        uint64_t height, epoch;
        unsigned count;
        char digest[80];
        if (lineno == 1) {
            if (strcmp(line, "obcast-evil-state 1") != 0)
                rc = ob_why(why, "state %s: not an obcast-evil state file", self->state_path);
        } else if (sscanf(line, "certified %" SCNu64 " %" SCNu64 " %79s %u " S_STATE_TOKEN_FMT,
                          &height, &epoch, digest, &count, a) == 5) {
            c->cert_chunk = (ob_chunk_t){.height = height};
            memcpy(c->cert_chunk.sequencer, self->key.pub.bytes, 32);
            c->cert_epoch = epoch;
            if (count < 1 || count > S_MAX_VALIDATORS ||
                ob_hex_decode_exact(digest, c->cert_chunk.payload, 32) != 0 ||
                ob_hex_decode_exact(a, c->cert_entries, OB_CERT_ENTRIES_LEN(count)) != 0) {
                rc = ob_why(why, "state %s: line %d: bad certificate", self->state_path, lineno);
                break;
            }
            c->cert_count = (uint16_t)count;
            const ob_keyset_t *vs = ob_epochs_validators(self->epochs, epoch);
            ob_cert_t cert = {c->cert_count, c->cert_entries};
            if (!vs ||
                ob_cert_verify(self->crypto, self->ns, vs, &c->cert_chunk, epoch, &cert) != OB_OK) {
                rc = ob_why(why,
                            "state %s: line %d: the certificate does not verify against this "
                            "manifest (a state file of another cluster?)",
                            self->state_path, lineno);
                break;
            }
            c->certified = true;
        } else if (sscanf(line, "tip " S_STATE_TOKEN_FMT " " S_STATE_TOKEN_FMT, a, b) == 2) {
            s_candidate_t *t = &c->cand[0];
            long fl = ob_hex_decode(a, strlen(a), t->frame, sizeof t->frame);
            long pl = strcmp(b, "-") == 0
                          ? 0
                          : ob_hex_decode(b, strlen(b), t->payload, sizeof t->payload);
            ob_node_t node;
            ob_epoch_lookup_t lookup = s_lookup(self);
            if (fl < 3 || pl < 0 ||
                ob_node_decode(&node, t->frame + 2, (size_t)fl - 2, &lookup) != OB_OK ||
                memcmp(node.chunk.sequencer, self->key.pub.bytes, 32) != 0) {
                rc = ob_why(why, "state %s: line %d: bad tip node", self->state_path, lineno);
                break;
            }
            t->frame_len = (size_t)fl;
            t->payload_len = (size_t)pl;
            t->chunk = node.chunk;
            t->used = true;
            c->has_tip = true;
            c->tip_height = node.chunk.height;
        } else {
            rc = ob_why(why, "state %s: line %d: not understood", self->state_path, lineno);
        }
    }
    fclose(f);
    if (rc == 0 && lineno == 0)
        rc = ob_why(why, "state %s: empty", self->state_path);
    if (rc == 0 && c->has_tip && c->certified && c->tip_height < c->cert_chunk.height)
        c->has_tip = false;
    return rc;
}

/* --- sockets ------------------------------------------------------------------ */

/* zauth admits the CURVE keys of a folder of public certificates, and
   gives each message the User-Id of its sender's key (CURVE_ALLOW_ANY
   would leave it empty). The manifest's nodes, in a folder of our own:
   never the node's runtime_dir, which an obcast-node of the same config
   might use. obcast-net writes its own the same way. */
static int s_write_allowlist(s_evil_t *self, char *dir, size_t cap, ob_why_t *why)
{
    if (snprintf(dir, cap, "%s/evil-curve-allow", self->config.data_dir) >= (int)cap)
        return ob_why(why, "data_dir %s: path too long", self->config.data_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return ob_why(why, "%s: %s", dir, strerror(errno));
    for (size_t i = 0; i < ob_manifest_node_count(self->manifest); i++) {
        const ob_manifest_node_t *m = ob_manifest_node(self->manifest, i);
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s.cert", dir, m->name) >= (int)sizeof path)
            return ob_why(why, "%s: path too long", dir);
        FILE *f = fopen(path, "w");
        if (!f)
            return ob_why(why, "%s: %s", path, strerror(errno));
        fprintf(f, "metadata\n    name = \"%s\"\ncurve\n    public-key = \"%s\"\n", m->name,
                m->curve_key);
        if (fclose(f) != 0)
            return ob_why(why, "%s: %s", path, strerror(errno));
    }
    return 0;
}

static zsock_t *s_make_router(s_evil_t *self, bool slow, ob_why_t *why)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    if (!router) {
        ob_why(why, "cannot make the peer socket");
        return NULL;
    }
    zsock_set_zap_domain(router, "obcast-peers");
    zcert_apply(self->curve, router);
    zsock_set_curve_server(router, 1);
    zsock_set_linger(router, 0);
    zsock_set_sndhwm(router, S_SEND_HWM);
    if (slow) {
        /* As little as the kernel and libzmq allow between the honest
           senders and our never-called recv. */
        zsock_set_rcvhwm(router, 1);
        zsock_set_rcvbuf(router, 4096);
    } else {
        zsock_set_rcvhwm(router, S_SEND_HWM);
    }
    /* The honest nodes may still hold the port's last connection for a
       moment: a few tries, bounded. */
    for (int attempt = 0; attempt < 50; attempt++) {
        if (zsock_bind(router, "%s", self->config.peer_bind) >= 0)
            return router;
        zclock_sleep(100);
    }
    ob_why(why, "peer_bind %s: cannot bind: %s", self->config.peer_bind, zmq_strerror(zmq_errno()));
    zsock_destroy(&router);
    return NULL;
}

/* Our peer socket, and a monitor that counts the honest DEALERs
   connected to it. */
static int s_open_router(s_evil_t *self, bool slow, ob_why_t *why)
{
    if (self->router)
        zmq_socket_monitor(zsock_resolve(self->router), NULL, 0);
    zsock_destroy(&self->router_monitor);
    zsock_destroy(&self->router);
    self->inbound = 0;
    if (!(self->router = s_make_router(self, slow, why)))
        return -1;
    char ep[128];
    snprintf(ep, sizeof ep, "inproc://obcast-evil-router-monitor-%u", self->routers_made++);
    if (zmq_socket_monitor(zsock_resolve(self->router), ep,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0 ||
        !(self->router_monitor = zsock_new_pair(ep)))
        return ob_why(why, "cannot monitor the peer socket");
    return 0;
}

static int s_setup_sockets(s_evil_t *self, ob_why_t *why)
{
    char allow[PATH_MAX];
    if (s_write_allowlist(self, allow, sizeof allow, why) != 0)
        return -1;
    self->auth = zactor_new(zauth, NULL);
    if (!self->auth)
        return ob_why(why, "cannot start zauth");
    zstr_sendx(self->auth, "CURVE", allow, NULL);
    zsock_wait(self->auth);
    if (s_open_router(self, false, why) != 0)
        return -1;
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *p = &self->peers[i];
        const ob_manifest_node_t *m = ob_manifest_node_named(self->manifest, p->name);
        p->dealer = zsock_new(ZMQ_DEALER);
        if (!p->dealer)
            return ob_why(why, "cannot make a socket for peer %s", p->name);
        zcert_apply(self->curve, p->dealer);
        zsock_set_curve_serverkey(p->dealer, m->curve_key);
        zsock_set_sndhwm(p->dealer, S_SEND_HWM);
        zsock_set_linger(p->dealer, 0);
        zsock_set_immediate(p->dealer, 1);
        zsock_set_reconnect_ivl(p->dealer, 100);
        zsock_set_reconnect_ivl_max(p->dealer, 1000);
        char ep[128];
        snprintf(ep, sizeof ep, "inproc://obcast-evil-monitor-%zu", i);
        if (zmq_socket_monitor(zsock_resolve(p->dealer), ep,
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0)
            return ob_why(why, "cannot monitor the socket for peer %s", p->name);
        p->monitor = zsock_new_pair(ep);
        if (!p->monitor)
            return ob_why(why, "cannot monitor the socket for peer %s", p->name);
        if (zsock_connect(p->dealer, "%s", m->endpoint) != 0)
            return ob_why(why, "manifest %s: node %s: cannot connect to %s", self->config.manifest,
                          p->name, m->endpoint);
    }
    return 0;
}

static void s_teardown(s_evil_t *self)
{
    for (size_t i = 0; i < self->peer_count; i++) {
        if (self->peers[i].dealer)
            zmq_socket_monitor(zsock_resolve(self->peers[i].dealer), NULL, 0);
        zsock_destroy(&self->peers[i].monitor);
        zsock_destroy(&self->peers[i].dealer);
    }
    if (self->router)
        zmq_socket_monitor(zsock_resolve(self->router), NULL, 0);
    zsock_destroy(&self->router_monitor);
    zsock_destroy(&self->router);
    zactor_destroy(&self->auth);
    zcert_destroy(&self->curve);
}

/* --- sending --------------------------------------------------------------------- */

static bool s_send(s_evil_t *self, s_peer_t *p, const uint8_t *frame, size_t len,
                   const uint8_t *payload, size_t payload_len, bool has_payload)
{
    void *h = zsock_resolve(p->dealer);
    if (zmq_send(h, frame, len, ZMQ_DONTWAIT | (has_payload ? ZMQ_SNDMORE : 0)) < 0) {
        p->send_dropped++;
        self->sent.dropped++;
        return false;
    }
    if (has_payload)
        zmq_send(h, payload, payload_len, ZMQ_DONTWAIT);
    p->sent++;
    return true;
}

static void s_no_free(void *data, void *hint)
{
    (void)data;
    (void)hint;
}

/* A frame of `len` bytes of the shared buffer (a Node header, then
   zeros), without copying it. */
static bool s_send_big(s_evil_t *self, s_peer_t *p, size_t len, bool more)
{
    zmq_msg_t msg;
    zmq_msg_init_data(&msg, s_big, len, s_no_free, NULL);
    if (zmq_msg_send(&msg, zsock_resolve(p->dealer), ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) < 0) {
        zmq_msg_close(&msg);
        p->send_dropped++;
        self->sent.dropped++;
        return false;
    }
    p->sent++;
    return true;
}

static void s_send_ack_to(s_evil_t *self, s_peer_t *p, const ob_ack_t *ack)
{
    uint8_t frame[2 + OB_ACK_LEN];
    size_t written = 0;
    if (ob_peer_ack_frame_encode(ack, frame, sizeof frame, &written) != 0)
        return;
    if (s_send(self, p, frame, written, NULL, 0, false))
        self->sent.acks++;
}

static void s_send_ack_all(s_evil_t *self, const ob_ack_t *ack)
{
    for (size_t i = 0; i < self->peer_count; i++)
        s_send_ack_to(self, &self->peers[i], ack);
}

static void s_send_candidate(s_evil_t *self, s_peer_t *p, const s_candidate_t *c)
{
    if (s_send(self, p, c->frame, c->frame_len, c->payload, c->payload_len, true))
        self->sent.nodes++;
}

/* --- our own chain ----------------------------------------------------------------- */

static int s_sign_own_ack(s_evil_t *self, const ob_chunk_t *chunk, uint64_t epoch, uint16_t index,
                          ob_ack_t *ack)
{
    *ack = (ob_ack_t){.chunk = *chunk, .epoch = epoch, .index = index};
    return ob_ack_sign(self->crypto, self->ns, &self->key, chunk, epoch, NULL, ack->signature);
}

static void s_candidate_count(s_evil_t *self, s_candidate_t *c, const ob_ack_t *ack);

/* Signs and encodes our node at `height` with `payload` into `c` (its
   acks cleared), with `parent` unless height is 0. Changes nothing else.
   The payload takes the form the honest nodes' built-in application
   judges valid (proto/PROTOCOL.md, "Batches"): a batch of one entry when
   this node's config has batching on, as every node of a cluster must
   agree on it. Otherwise no honest node would ever ack our chain, and
   every mode that builds on a certified tip would only be skipped. */
static int s_encode_candidate(s_evil_t *self, s_candidate_t *c, uint64_t height,
                              const ob_parent_t *parent, const void *payload, size_t len)
{
    memset(c, 0, sizeof *c);
    bool batched = self->config.batch_bytes != 0;
    size_t room = sizeof c->payload - (batched ? OB_BATCH_HEADER_LEN + OB_BATCH_ENTRY_LEN : 0);
    if (len > room)
        len = room;
    if (batched) {
        size_t offset = OB_BATCH_HEADER_LEN;
        ob_batch_put_header(c->payload, 1);
        ob_batch_put_entry(c->payload, &offset, payload, (uint32_t)len);
        len = offset;
    } else {
        memcpy(c->payload, payload, len);
    }
    c->payload_len = len;
    ob_node_t node = {.chunk = {.height = height}};
    memcpy(node.chunk.sequencer, self->key.pub.bytes, 32);
    ob_sha256(self->crypto, c->payload, len, node.chunk.payload);
    if (height > 0) {
        node.has_parent = true;
        node.parent = *parent;
    }
    if (ob_chunk_sign(self->crypto, self->ns, &self->key, &node.chunk, NULL, node.signature) != 0 ||
        ob_peer_node_frame_encode(&node, c->frame, sizeof c->frame, &c->frame_len) != 0) {
        ob_error("cannot sign or encode our node at height %" PRIu64, height);
        return -1;
    }
    c->chunk = node.chunk;
    c->used = true;
    self->sent.proposals++;
    return 0;
}

/* A node of ours at the height above our certified tip (0 if none), with
   `payload`; it becomes candidate `slot` of that height. The candidates of
   a lower height are forgotten. */
static s_candidate_t *s_make_node(s_evil_t *self, int slot, const void *payload, size_t len)
{
    s_chain_t *ch = &self->chain;
    uint64_t height = ch->certified ? ch->cert_chunk.height + 1 : 0;
    if (!ch->has_tip || ch->tip_height != height) {
        for (int i = 0; i < S_MAX_CANDIDATES; i++)
            ch->cand[i].used = false;
        ch->has_tip = true;
        ch->tip_height = height;
    }
    s_candidate_t *c = &ch->cand[slot];
    ob_parent_t parent = {.epoch = ch->cert_epoch, .cert = {ch->cert_count, ch->cert_entries}};
    memcpy(parent.digest, ch->cert_chunk.payload, 32);
    if (s_encode_candidate(self, c, height, &parent, payload, len) != 0)
        return NULL;
    if (slot == 0)
        s_state_save(self);
    return c;
}

/* We are a validator too: our own ack on our node counts directly (SPEC
   §3), and goes to every other validator. */
static void s_own_ack_all(s_evil_t *self, s_candidate_t *c)
{
    if (!self->i_validate)
        return;
    if (!c->have[self->my_index]) {
        ob_ack_t own;
        if (s_sign_own_ack(self, &c->chunk, self->epoch, self->my_index, &own) != 0)
            return;
        s_candidate_count(self, c, &own);
    }
    s_send_ack_all(self, &c->acks[self->my_index]);
}

static void s_candidate_count(s_evil_t *self, s_candidate_t *c, const ob_ack_t *ack)
{
    if (ack->index >= S_MAX_VALIDATORS || ack->index >= self->n || c->have[ack->index])
        return;
    c->acks[ack->index] = *ack;
    c->have[ack->index] = true;
    c->ack_count++;
    s_chain_t *ch = &self->chain;
    if (c->ack_count < self->q || (ch->certified && ch->cert_chunk.height >= c->chunk.height))
        return;
    ob_ack_t quorum[S_MAX_VALIDATORS];
    size_t count = 0;
    for (uint16_t i = 0; i < self->n && i < S_MAX_VALIDATORS; i++)
        if (c->have[i])
            quorum[count++] = c->acks[i];
    ob_cert_t cert;
    if (ob_cert_assemble(quorum, count, self->n, ch->cert_entries, sizeof ch->cert_entries,
                         &cert) != OB_OK)
        return;
    ch->certified = true;
    ch->cert_chunk = c->chunk;
    ch->cert_epoch = self->epoch;
    ch->cert_count = cert.count;
    self->received.certificates++;
    /* The certified one is the tip from now on. */
    if (c != &ch->cand[0]) {
        s_candidate_t keep = *c;
        ch->cand[0] = keep;
    }
    for (int i = 1; i < S_MAX_CANDIDATES; i++)
        ch->cand[i].used = false;
    s_state_save(self);
}

static bool s_tip_certified(const s_evil_t *self)
{
    const s_chain_t *ch = &self->chain;
    return ch->certified && (!ch->has_tip || ch->tip_height <= ch->cert_chunk.height);
}

static void s_on_own_ack(s_evil_t *self, s_peer_t *from, const ob_ack_t *ack)
{
    self->received.own_acks++;
    from->own_acks_in++;
    const ob_pubkey_t *v = ack->epoch == self->epoch && ack->index < self->n
                               ? ob_keyset_key(self->validators, ack->index)
                               : NULL;
    if (!v || memcmp(v->bytes, from->key, 32) != 0 ||
        !ob_ack_signature_valid(self->crypto, self->ns, v, &ack->chunk, ack->epoch,
                                ack->signature)) {
        self->received.own_acks_bad++;
        return;
    }
    s_chain_t *ch = &self->chain;
    if (!ch->has_tip || ack->chunk.height != ch->tip_height)
        return;
    for (int i = 0; i < S_MAX_CANDIDATES; i++) {
        s_candidate_t *c = &ch->cand[i];
        if (c->used && memcmp(c->chunk.payload, ack->chunk.payload, 32) == 0) {
            s_candidate_count(self, c, ack);
            return;
        }
    }
}

/* --- what honest nodes send us ------------------------------------------------------ */

static s_ack_entry_t *s_ack_entry(s_evil_t *self, const ob_ack_t *ack, bool *fresh)
{
    uint64_t hash = ack->chunk.height * 0x9e3779b97f4a7c15ull ^ ack->index * 0x85ebca6bull;
    for (int i = 0; i < 8; i++)
        hash = hash * 131 + ack->chunk.sequencer[i];
    *fresh = false;
    for (uint32_t probe = 0; probe < 64; probe++) {
        s_ack_entry_t *e = &self->acks[(hash + probe) & (S_ACK_TABLE_SIZE - 1)];
        if (!e->used) {
            e->used = true;
            memcpy(e->sequencer, ack->chunk.sequencer, 32);
            e->height = ack->chunk.height;
            e->index = ack->index;
            memcpy(e->payload, ack->chunk.payload, 32);
            *fresh = true;
            return e;
        }
        if (e->height == ack->chunk.height && e->index == ack->index &&
            memcmp(e->sequencer, ack->chunk.sequencer, 32) == 0)
            return e;
    }
    return NULL;
}

/* Whether `from` really signed `ack`: what we count as honest behaviour
   must be the honest node's own signature. */
static bool s_ack_genuine(s_evil_t *self, const s_peer_t *from, const ob_ack_t *ack)
{
    const ob_keyset_t *vs = ob_epochs_validators(self->epochs, ack->epoch);
    const ob_pubkey_t *v = vs ? ob_keyset_key(vs, ack->index) : NULL;
    return v && memcmp(v->bytes, from->key, 32) == 0 &&
           ob_ack_signature_valid(self->crypto, self->ns, v, &ack->chunk, ack->epoch,
                                  ack->signature);
}

static void s_record_ack(s_evil_t *self, s_peer_t *from, const ob_ack_t *ack)
{
    bool fresh;
    s_ack_entry_t *e = s_ack_entry(self, ack, &fresh);
    if (!e) {
        self->received.ack_entries_untracked++;
        return;
    }
    uint64_t sig;
    memcpy(&sig, ack->signature, sizeof sig);
    bool known = false;
    for (uint8_t i = 0; i < e->sig_count && !known; i++)
        known = e->sigs[i] == sig;
    bool same_payload = memcmp(e->payload, ack->chunk.payload, 32) == 0;
    /* Every new signature is checked: what we report must be genuine. */
    if (!known && !s_ack_genuine(self, from, ack)) {
        if (fresh)
            e->used = false;
        return;
    }
    e->acks++;
    if (!same_payload && !e->conflict) {
        e->conflict = true;
        self->received.conflicting_acks++;
        char hex[65];
        s_hex(ack->chunk.sequencer, 32, hex);
        ob_warn("%s acked two payloads at sequencer %s height %" PRIu64 " (S2)", from->name, hex,
                ack->chunk.height);
    }
    if (known)
        return;
    if (e->sig_count < S_SIGS_KEPT)
        e->sigs[e->sig_count++] = sig;
    else
        e->sig_overflow = true;
    uint32_t distinct = e->sig_count + (e->sig_overflow ? 1 : 0);
    if (distinct > from->max_distinct)
        from->max_distinct = distinct;
}

static s_sequencer_t *s_sequencer(s_evil_t *self, const uint8_t key[32])
{
    for (size_t i = 0; i < self->seq_count; i++)
        if (memcmp(self->seqs[i].key, key, 32) == 0)
            return &self->seqs[i];
    if (self->seq_count == S_MAX_PEERS)
        return NULL;
    s_sequencer_t *s = &self->seqs[self->seq_count++];
    memset(s, 0, sizeof *s);
    memcpy(s->key, key, 32);
    return s;
}

static void s_on_node(s_evil_t *self, s_peer_t *from, const ob_node_t *node)
{
    self->received.nodes++;
    from->nodes_in++;
    if (memcmp(node->chunk.sequencer, from->key, 32) != 0)
        return;
    /* Only what the honest sequencer really signed counts. */
    ob_pubkey_t pub;
    if (ob_pubkey_parse(self->crypto, from->key, &pub) != 0 ||
        !ob_chunk_signature_valid(self->crypto, self->ns, &pub, &node->chunk, node->signature))
        return;
    s_sequencer_t *s = s_sequencer(self, from->key);
    if (!s)
        return;
    s_node_slot_t *slot = &s->ring[node->chunk.height % S_NODE_RING];
    if (slot->used && slot->height == node->chunk.height &&
        memcmp(slot->payload, node->chunk.payload, 32) != 0) {
        self->received.conflicting_nodes++;
        ob_warn("%s signed two payloads at height %" PRIu64 " (S1)", from->name,
                node->chunk.height);
    }
    slot->used = true;
    slot->height = node->chunk.height;
    memcpy(slot->payload, node->chunk.payload, 32);
    if (!s->has_latest || node->chunk.height >= s->latest.height) {
        s->latest = node->chunk;
        s->has_latest = true;
    }
    /* Its parent certificate is a real Lock of height - 1, to forge from:
       the honest sequencer checked it before it built on it. */
    if (node->has_parent && node->parent.cert.count <= S_MAX_VALIDATORS &&
        (!s->has_lock || node->chunk.height - 1 >= s->lock.chunk.height)) {
        s_lock_t *l = &s->lock;
        l->chunk = (ob_chunk_t){.height = node->chunk.height - 1};
        memcpy(l->chunk.sequencer, node->chunk.sequencer, 32);
        memcpy(l->chunk.payload, node->parent.digest, 32);
        l->epoch = node->parent.epoch;
        l->count = node->parent.cert.count;
        memcpy(l->entries, node->parent.cert.entries, OB_CERT_ENTRIES_LEN(l->count));
        s->has_lock = true;
    }
}

static void s_on_ack(s_evil_t *self, s_peer_t *from, const ob_ack_t *ack)
{
    self->received.acks++;
    from->acks_in++;
    if (memcmp(ack->chunk.sequencer, self->key.pub.bytes, 32) == 0)
        s_on_own_ack(self, from, ack);
    s_record_ack(self, from, ack);
    s_sequencer_t *s = s_sequencer(self, ack->chunk.sequencer);
    if (s && memcmp(ack->chunk.sequencer, self->key.pub.bytes, 32) != 0) {
        s->latest_ack = *ack;
        s->has_latest_ack = true;
        if (!s->has_latest || ack->chunk.height > s->latest.height) {
            s->latest = ack->chunk;
            s->has_latest = true;
        }
    }
}

static void s_answer_with_lies(s_evil_t *self, s_peer_t *to, const ob_fetch_t *fetch);

static void s_on_router(s_evil_t *self)
{
    zmq_msg_t parts[S_MAX_FRAMES_KEPT];
    size_t count = 0;
    void *h = zsock_resolve(self->router);
    bool more = true;
    /* The whole message is in libzmq's memory already: reading its last
       frames is bounded by what it received. Only the first few are kept. */
    while (more) {
        zmq_msg_t scratch;
        zmq_msg_init(&scratch);
        zmq_msg_t *m = count < S_MAX_FRAMES_KEPT ? &parts[count] : &scratch;
        if (m != &scratch)
            zmq_msg_init(m);
        if (zmq_msg_recv(m, h, ZMQ_DONTWAIT) < 0) {
            if (m != &scratch)
                zmq_msg_close(m);
            zmq_msg_close(&scratch);
            break;
        }
        more = zmq_msg_more(m);
        zmq_msg_close(&scratch);
        count++;
    }
    if (count == 0)
        return;
    self->received.messages++;
    /* parts[0] is the routing id; the sender is known by its CURVE key. */
    const char *user = count >= 2 ? zmq_msg_gets(&parts[1], "User-Id") : NULL;
    s_peer_t *from = NULL;
    for (size_t i = 0; user && i < self->peer_count && !from; i++) {
        const ob_manifest_node_t *m = ob_manifest_node_named(self->manifest, self->peers[i].name);
        if (m && streq(m->curve_key, user))
            from = &self->peers[i];
    }
    if (!from) {
        self->received.unknown_sender++;
    } else if (count >= 2 && count <= S_MAX_FRAMES_KEPT) {
        from->received++;
        ob_frame_t frames[S_MAX_FRAMES_KEPT];
        for (size_t i = 1; i < count; i++)
            frames[i - 1] = (ob_frame_t){zmq_msg_data(&parts[i]), zmq_msg_size(&parts[i])};
        ob_peer_msg_t msg;
        ob_epoch_lookup_t lookup = s_lookup(self);
        if (ob_peer_msg_decode(&msg, frames, count - 1, &lookup, self->max_payload) != OB_OK) {
            self->received.undecodable++;
        } else {
            switch (msg.type) {
            case OB_PEER_TYPE_NODE:
                s_on_node(self, from, &msg.u.node.node);
                break;
            case OB_PEER_TYPE_ACK:
                s_on_ack(self, from, &msg.u.ack);
                break;
            case OB_PEER_TYPE_FETCH:
                self->received.fetches++;
                if (self->lying)
                    s_answer_with_lies(self, from, &msg.u.fetch);
                break;
            case OB_PEER_TYPE_FETCHED:
                self->received.fetched++;
                break;
            }
        }
    } else {
        self->received.undecodable++;
    }
    for (size_t i = 0; i < count && i < S_MAX_FRAMES_KEPT; i++)
        zmq_msg_close(&parts[i]);
}

/* The next libzmq event of a monitor, 0 if none could be read. */
static uint16_t s_monitor_event(zsock_t *monitor)
{
    zmsg_t *msg = zmsg_recv(monitor);
    if (!msg)
        return 0;
    uint16_t event = 0;
    zframe_t *f = zmsg_first(msg);
    if (f && zframe_size(f) >= 2)
        memcpy(&event, zframe_data(f), 2);
    zmsg_destroy(&msg);
    return event;
}

static void s_on_monitor(s_peer_t *p)
{
    uint16_t event = s_monitor_event(p->monitor);
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        p->connected = true;
    else if (event == ZMQ_EVENT_DISCONNECTED)
        p->connected = false;
}

/* Handles what arrives for up to `ms`, and at most S_PUMP_MAX messages. */
static void s_pump(s_evil_t *self, int ms)
{
    zmq_pollitem_t items[S_MAX_PEERS + 2]; /* the monitors, the router's, the router */
    size_t count = 0;
    for (size_t i = 0; i < self->peer_count; i++)
        items[count++] = (zmq_pollitem_t){zsock_resolve(self->peers[i].monitor), 0, ZMQ_POLLIN, 0};
    items[count++] = (zmq_pollitem_t){zsock_resolve(self->router_monitor), 0, ZMQ_POLLIN, 0};
    if (self->reading)
        items[count++] = (zmq_pollitem_t){zsock_resolve(self->router), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(items, (int)count, ms) <= 0)
        return;
    for (size_t i = 0; i < self->peer_count; i++)
        if (items[i].revents & ZMQ_POLLIN)
            s_on_monitor(&self->peers[i]);
    if (items[self->peer_count].revents & ZMQ_POLLIN) {
        uint16_t event = s_monitor_event(self->router_monitor);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            self->inbound++;
        else if (event == ZMQ_EVENT_DISCONNECTED && self->inbound > 0)
            self->inbound--;
    }
    if (!self->reading)
        return;
    for (int handled = 0; handled < S_PUMP_MAX; handled++) {
        if (!(zsock_events(self->router) & ZMQ_POLLIN))
            break;
        s_on_router(self);
    }
}

static size_t s_connected(const s_evil_t *self)
{
    size_t up = 0;
    for (size_t i = 0; i < self->peer_count; i++)
        up += self->peers[i].connected;
    return up;
}

/* Until our DEALERs reach every honest node and every honest node's
   DEALER reaches us, or the wait ends. */
static void s_wait_links(s_evil_t *self, uint64_t deadline)
{
    while (s_now() < deadline) {
        if (s_connected(self) == self->peer_count && self->inbound >= (int)self->peer_count)
            return;
        s_pump(self, 20);
    }
}

/* Rebroadcasts our tip (every candidate, to whom `to` allows) with our
   own ack until it is certified or the deadline passes. */
static bool s_certify(s_evil_t *self, uint64_t deadline, uint32_t to_mask)
{
    uint64_t next = 0;
    while (!s_tip_certified(self) && s_now() < deadline) {
        if (s_now() >= next) {
            next = s_now() + 500;
            if (!self->chain.has_tip) {
                char payload[64];
                int len =
                    snprintf(payload, sizeof payload, "evil genesis %016" PRIx64, s_random_u64());
                if (!s_make_node(self, 0, payload, (size_t)len))
                    return false;
            }
            for (int c = 0; c < S_MAX_CANDIDATES; c++) {
                s_candidate_t *cand = &self->chain.cand[c];
                if (!cand->used)
                    continue;
                for (size_t i = 0; i < self->peer_count; i++)
                    if (to_mask & (1u << i))
                        s_send_candidate(self, &self->peers[i], cand);
                s_own_ack_all(self, cand);
            }
        }
        s_pump(self, 10);
    }
    return s_tip_certified(self);
}

/* A new node above the certified tip, to the peers in `to_mask`. */
static s_candidate_t *s_propose(s_evil_t *self, int slot, const char *what, uint32_t to_mask)
{
    char payload[128];
    int len = snprintf(payload, sizeof payload, "evil %s %016" PRIx64, what, s_random_u64());
    s_candidate_t *c = s_make_node(self, slot, payload, (size_t)len);
    if (!c)
        return NULL;
    for (size_t i = 0; i < self->peer_count; i++)
        if (to_mask & (1u << i))
            s_send_candidate(self, &self->peers[i], c);
    s_own_ack_all(self, c);
    return c;
}

static uint32_t s_all_mask(const s_evil_t *self)
{
    return self->peer_count >= 32 ? 0xffffffffu : (1u << self->peer_count) - 1;
}

/* Bring the chain to a certified tip before a mode builds on it. */
static bool s_ready(s_evil_t *self, uint64_t deadline)
{
    s_wait_links(self,
                 s_now() + S_CONNECT_WAIT_MS < deadline ? s_now() + S_CONNECT_WAIT_MS : deadline);
    bool ok = s_certify(self, deadline, s_all_mask(self));
    if (!ok)
        ob_warn("our chain's tip at height %" PRIu64 " did not certify in time",
                self->chain.tip_height);
    return ok;
}

static void s_run_until(s_evil_t *self, uint64_t end)
{
    while (s_now() < end)
        s_pump(self, 10);
}

static void s_hex_field(s_evil_t *self, const char *name, const uint8_t *data, size_t len)
{
    char hex[129];
    s_hex(data, len < 64 ? len : 64, hex);
    s_extra(self, ",\"%s\":\"%s\"", name, hex);
}

/* Acks that each peer sent us on our chunk (height, payload). */
static void s_acks_on(s_evil_t *self, const char *field, const ob_chunk_t *chunk)
{
    s_extra(self, ",\"%s\":{", field);
    for (size_t i = 0; i < self->peer_count; i++) {
        const s_peer_t *p = &self->peers[i];
        uint32_t acks = 0, distinct = 0;
        bool fresh;
        ob_ack_t probe = {.chunk = *chunk, .index = p->index};
        if (p->validator) {
            s_ack_entry_t *e = s_ack_entry(self, &probe, &fresh);
            if (e && fresh)
                e->used = false;
            else if (e && memcmp(e->payload, chunk->payload, 32) == 0) {
                acks = e->acks;
                distinct = e->sig_count + (e->sig_overflow ? 1 : 0);
            } else if (e && e->conflict) {
                acks = 1; /* it acked another payload first, and this one too */
                distinct = 1;
            }
        }
        s_extra(self, "%s\"%s\":{\"acks\":%u,\"distinct_signatures\":%u}", i ? "," : "", p->name,
                acks, distinct);
    }
    s_extra(self, "}");
}

/* --- the modes ---------------------------------------------------------------------- */

/* A mode that sends different honest nodes different things needs two
   of them, and a certified tip to build on; else it only listens. */
static bool s_can_equivocate(s_evil_t *self, uint64_t end)
{
    if (self->peer_count >= 2 && s_ready(self, end))
        return true;
    s_extra(self, ",\"skipped\":\"%s\"", self->peer_count < 2 ? "too few peers" : "chain stuck");
    s_run_until(self, end);
    return false;
}

/* Two payloads at one height: the first to the first honest node, the
   second to the second, both (first, then second) to the last. Then, if
   one of them certifies, the next height on it, so that a node holding
   the other one meets the certificate (evidence, SPEC §3). */
static void s_mode_equivocate(s_evil_t *self, uint64_t end)
{
    if (!s_can_equivocate(self, end))
        return;
    size_t last = self->peer_count - 1;
    uint32_t first_mask = 1u << 0 | 1u << last, second_mask = 1u << 1 | 1u << last;
    s_candidate_t *a = s_propose(self, 0, "equivocation first", first_mask);
    s_candidate_t *b = a ? s_propose(self, 1, "equivocation second", second_mask) : NULL;
    if (!a || !b)
        return;
    ob_chunk_t first = a->chunk, second = b->chunk;
    uint64_t height = first.height, next = s_now() + 1000;
    bool advanced = false;
    const char *which = "none";
    while (s_now() < end) {
        if (!advanced && s_tip_certified(self)) {
            which =
                memcmp(self->chain.cert_chunk.payload, first.payload, 32) == 0 ? "first" : "second";
            /* cand[0] is the certified one now */
            advanced = s_propose(self, 0, "after equivocation", s_all_mask(self)) != NULL;
            next = s_now() + 1000;
        } else if (s_now() >= next && !advanced) {
            next = s_now() + 1000;
            for (int c = 0; c < 2; c++) {
                s_candidate_t *cand = &self->chain.cand[c];
                uint32_t mask = c == 0 ? first_mask : second_mask;
                for (size_t i = 0; cand->used && i < self->peer_count; i++)
                    if (mask & (1u << i))
                        s_send_candidate(self, &self->peers[i], cand);
            }
        } else if (s_now() >= next) {
            next = s_now() + 1000;
            s_certify(self, s_now(), s_all_mask(self)); /* one rebroadcast of the new tip */
        }
        s_pump(self, 10);
    }
    s_extra(self, ",\"height\":%" PRIu64, height);
    s_hex_field(self, "first", first.payload, 32);
    s_hex_field(self, "second", second.payload, 32);
    s_extra(self, ",\"first_to\":\"%s\",\"second_to\":\"%s\",\"both_to\":\"%s\"",
            self->peers[0].name, self->peers[1].name, self->peers[last].name);
    s_extra(self, ",\"certified\":\"%s\",\"next_height_sent\":%s", which,
            advanced ? "true" : "false");
    s_acks_on(self, "acks_first", &first);
    s_acks_on(self, "acks_second", &second);
}

/* Our chunk at h certified by all honest nodes but the last, which never
   sees the node but learns the certificate from the others' acks. Then a
   conflicting node at h to everyone: at the tip of the first ones (two
   nodes and a certificate against it), above the tip of the last (a
   certificate held against it). Nobody may ack it; everyone should keep
   evidence. We stay at h afterwards, so that what the last node does
   with the conflicting node is seen on its own. */
static void s_mode_conflict_cert(s_evil_t *self, uint64_t end)
{
    if (!s_can_equivocate(self, end))
        return;
    size_t last = self->peer_count - 1;
    uint32_t some = s_all_mask(self) & ~(1u << last);
    uint64_t budget = end > s_now() ? (end - s_now()) / 2 : 0;
    if (!s_propose(self, 0, "to be certified", some))
        return;
    ob_chunk_t certified = self->chain.cand[0].chunk;
    bool ok = s_certify(self, s_now() + budget, some);
    /* The last node hears the others' acks and ours: time for it to
       assemble the certificate, behind whatever it still has queued. */
    uint64_t settle = s_now() + 2000 < end ? s_now() + 2000 : end;
    s_run_until(self, settle);
    ob_chunk_t conflicting = certified;
    /* The same height again with another payload, on the same parent:
       made aside, so that the certified node stays our tip. */
    s_candidate_t *made = calloc(1, sizeof *made);
    ob_node_t node;
    ob_epoch_lookup_t lookup = s_lookup(self);
    const s_candidate_t *tip = &self->chain.cand[0];
    char payload[128];
    int len = snprintf(payload, sizeof payload, "evil conflicting %016" PRIx64, s_random_u64());
    if (ok && made && tip->used && tip->chunk.height == certified.height &&
        ob_node_decode(&node, tip->frame + 2, tip->frame_len - 2, &lookup) == OB_OK &&
        s_encode_candidate(self, made, certified.height, &node.parent, payload, (size_t)len) == 0) {
        conflicting = made->chunk;
        uint64_t next = 0;
        while (s_now() < end) {
            if (s_now() >= next) { /* as a sequencer rebroadcasts */
                next = s_now() + 1000;
                for (size_t i = 0; i < self->peer_count; i++)
                    s_send_candidate(self, &self->peers[i], made);
            }
            s_pump(self, 10);
        }
    }
    free(made);
    s_run_until(self, end);
    s_extra(self, ",\"height\":%" PRIu64 ",\"certified_ok\":%s", certified.height,
            ok ? "true" : "false");
    s_hex_field(self, "certified", certified.payload, 32);
    s_hex_field(self, "conflicting", conflicting.payload, 32);
    s_extra(self, ",\"above_tip_peer\":\"%s\"", self->peers[last].name);
    s_acks_on(self, "acks_certified", &certified);
    s_acks_on(self, "acks_conflicting", &conflicting);
}

typedef struct {
    uint64_t forged_other, forged_own, replayed, own_dup, epoch_high, epoch_low, height_high,
        height_low, index_other, index_out;
} s_bad_acks_t;

/* Acks of every bad kind on the honest chains' chunks we heard of, a
   round every 20 ms. */
static void s_mode_bad_acks(s_evil_t *self, uint64_t end)
{
    s_wait_links(self, s_now() + S_CONNECT_WAIT_MS < end ? s_now() + S_CONNECT_WAIT_MS : end);
    s_bad_acks_t n = {0};
    uint64_t rounds = 0;
    /* The forged acks under our own index (a failing signature of our own
       key, which gets us blocked for block_ms, SPEC §3 Blocking) come in
       the last fifth only. */
    uint64_t start = s_now(), own_forge_from = start + (end - start) * 4 / 5;
    ob_ack_t acks[16];
    while (s_now() < end && rounds < 100000) {
        rounds++;
        if (self->i_validate && s_now() >= own_forge_from) {
            /* On a chunk nobody certifies: the next height of our own
               chain, which only we could propose, with a payload nobody
               signed. A verifier drops unverified every ack at a height
               whose certificate it has seen, whatever the payload (SPEC
               §3, verify less), and an honest chain certifies its next
               height within the hold time: forged there, the ack would
               prove nothing. */
            ob_ack_t forged = {.epoch = self->epoch, .index = self->my_index};
            memcpy(forged.chunk.sequencer, self->key.pub.bytes, 32);
            forged.chunk.height = self->chain.has_tip ? self->chain.tip_height + 1 : 0;
            s_random(forged.chunk.payload, 32);
            s_random(forged.signature, 64);
            s_send_ack_all(self, &forged);
            n.forged_own++;
        }
        for (size_t s = 0; s < self->seq_count; s++) {
            s_sequencer_t *seq = &self->seqs[s];
            if (!seq->has_latest || memcmp(seq->key, self->key.pub.bytes, 32) == 0)
                continue;
            const ob_chunk_t chunk = seq->latest;
            size_t count = 0;
            /* forged: another validator's index, a random signature */
            uint16_t other = self->peers[rounds % self->peer_count].index;
            acks[count] = (ob_ack_t){.chunk = chunk, .epoch = self->epoch, .index = other};
            s_random(acks[count++].signature, 64);
            n.forged_other++;
            /* replayed: an honest validator's genuine ack, sent by us */
            if (seq->has_latest_ack) {
                acks[count++] = seq->latest_ack;
                n.replayed++;
            }
            if (self->i_validate &&
                s_sign_own_ack(self, &chunk, self->epoch, self->my_index, &acks[count]) == 0) {
                /* our own genuine ack, twice (counted once) */
                acks[count + 1] = acks[count];
                count += 2;
                n.own_dup += 2;
                /* wrong signer indices on a genuine signature */
                for (int k = 0; k < 3; k++) {
                    acks[count] = acks[count - 1];
                    acks[count++].index = k == 0 ? other : k == 1 ? self->n : UINT16_MAX;
                }
                n.index_other++;
                n.index_out += 2;
                /* out of epoch, signed for real */
                const uint64_t epochs[3] = {self->epoch + 2, self->epoch + 1000,
                                            self->epoch > 1 ? self->epoch - 2 : 0};
                for (int e = 0; e < 3; e++)
                    if (s_sign_own_ack(self, &chunk, epochs[e], self->my_index, &acks[count]) ==
                        0) {
                        count++;
                        e < 2 ? n.epoch_high++ : n.epoch_low++;
                    }
                /* out of height, on payloads nobody signed */
                ob_chunk_t far = chunk;
                far.height = chunk.height + 50 + (rounds % 1000);
                s_random(far.payload, 32);
                if (s_sign_own_ack(self, &far, self->epoch, self->my_index, &acks[count]) == 0) {
                    count++;
                    n.height_high++;
                }
                if (chunk.height >= 20) {
                    far.height = chunk.height - 20;
                    if (s_sign_own_ack(self, &far, self->epoch, self->my_index, &acks[count]) ==
                        0) {
                        count++;
                        n.height_low++;
                    }
                }
            }
            for (size_t i = 0; i < self->peer_count; i++)
                for (size_t k = 0; k < count; k++)
                    s_send_ack_to(self, &self->peers[i], &acks[k]);
        }
        uint64_t pause_until = s_now() + 20;
        while (s_now() < pause_until && s_now() < end)
            s_pump(self, 5);
    }
    s_extra(self,
            ",\"bad_acks\":{\"rounds\":%" PRIu64 ",\"forged_other_index\":%" PRIu64
            ",\"forged_own_index\":%" PRIu64 ",\"replayed\":%" PRIu64 ",\"own_duplicates\":%" PRIu64
            ",\"epoch_above\":%" PRIu64 ",\"epoch_below\":%" PRIu64 ",\"height_above\":%" PRIu64
            ",\"height_below\":%" PRIu64 ",\"index_of_another\":%" PRIu64
            ",\"index_out_of_range\":%" PRIu64 "}",
            rounds, n.forged_other, n.forged_own, n.replayed, n.own_dup, n.epoch_high, n.epoch_low,
            n.height_high, n.height_low, n.index_other, n.index_out);
}

#define S_DUP_MAX 3000 /* copies of the tip per honest node */

/* One valid new tip, then the same node again thousands of times. */
static void s_mode_dup_tips(s_evil_t *self, uint64_t end)
{
    if (!s_ready(self, end)) {
        s_extra(self, ",\"skipped\":\"chain stuck\"");
        s_run_until(self, end);
        return;
    }
    s_candidate_t *c = s_propose(self, 0, "duplicated tip", s_all_mask(self));
    if (!c)
        return;
    s_candidate_t tip = *c;
    uint64_t copies = 0, start = s_now();
    uint64_t span = end > start ? end - start : 1;
    while (s_now() < end) {
        /* Spread over the mode, as fast as the budget allows. */
        uint64_t due = (s_now() - start + 1) * S_DUP_MAX / span;
        while (copies < due && copies < S_DUP_MAX) {
            for (size_t i = 0; i < self->peer_count; i++)
                s_send_candidate(self, &self->peers[i], &tip);
            copies++;
        }
        s_pump(self, 2);
    }
    s_extra(self, ",\"height\":%" PRIu64 ",\"copies_per_peer\":%" PRIu64, tip.chunk.height, copies);
    s_hex_field(self, "payload", tip.chunk.payload, 32);
    s_acks_on(self, "acks_on_tip", &tip.chunk);
}

typedef struct {
    uint64_t oversized, truncated, garbage, many_frames, unknown_type, bad_version, empty;
} s_bad_frames_t;

#define S_OVERSIZED_ROUNDS 3 /* at the start, a quarter and half way */

/* Each honest node gets, a few times a mode, the three oversized ones:
   a first frame of 64 MiB, a node whose payload is one byte over
   max_payload, and a 2 MiB node frame; and all along truncated,
   garbage and empty frames, messages of many frames, and frames of
   unknown types and versions. */
static void s_mode_bad_frames(s_evil_t *self, uint64_t end)
{
    s_wait_links(self, s_now() + S_CONNECT_WAIT_MS < end ? s_now() + S_CONNECT_WAIT_MS : end);
    s_bad_frames_t n = {0};
    const s_candidate_t *tip = self->chain.has_tip ? &self->chain.cand[0] : NULL;
    static uint8_t buf[8192];
    /* 3 and 4 are Fetch and Fetched: known types, so not sent here. */
    static const uint8_t types[] = {0, 5, 6, 7, 9, 42, 128, 255};
    static const uint8_t versions[] = {0, 2, 255};
    uint64_t rounds = 0, big_rounds = 0, start = s_now(), span = end > start ? end - start : 1;
    size_t over_payload =
        self->max_payload + 1u <= S_BIG_FRAME ? self->max_payload + 1u : S_BIG_FRAME;
    while (s_now() < end && rounds < 20000) {
        rounds++;
        bool big = big_rounds < S_OVERSIZED_ROUNDS && s_now() >= start + big_rounds * span / 4;
        big_rounds += big;
        for (size_t i = 0; i < self->peer_count; i++) {
            s_peer_t *p = &self->peers[i];
            void *h = zsock_resolve(p->dealer);
            if (big) {
                s_send_big(self, p, S_BIG_FRAME, false);
                if (tip && zmq_send(h, tip->frame, tip->frame_len, ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0)
                    s_send_big(self, p, over_payload, false);
                if (s_send_big(self, p, 2u << 20, true))
                    zmq_send(h, "x", 1, ZMQ_DONTWAIT);
                n.oversized += 3;
            }
            /* truncated: our node or an ack cut short */
            if (tip && tip->frame_len > 3) {
                size_t cut = 1 + (size_t)(s_random_u64() % (tip->frame_len - 1));
                s_send(self, p, tip->frame, cut, tip->payload, tip->payload_len, true);
                n.truncated++;
            }
            uint8_t ackf[2 + OB_ACK_LEN];
            ob_ack_t fake = {.epoch = self->epoch, .index = self->my_index};
            size_t w = 0;
            if (ob_peer_ack_frame_encode(&fake, ackf, sizeof ackf, &w) == 0) {
                s_send(self, p, ackf, 2 + (s_random_u64() % (OB_ACK_LEN - 1)), NULL, 0, false);
                n.truncated++;
            }
            /* garbage, with and without a plausible header */
            size_t len = 1 + (size_t)(s_random_u64() % sizeof buf);
            s_random(buf, len);
            s_send(self, p, buf, len, NULL, 0, false);
            buf[0] = (uint8_t)(1 + s_random_u64() % 2);
            buf[1] = OB_PEER_VERSION;
            s_send(self, p, buf, len, buf, len, true);
            n.garbage += 2;
            /* empty frames */
            s_send(self, p, buf, 0, NULL, 0, false);
            s_send(self, p, buf, 0, buf, 0, true);
            n.empty += 2;
            /* many frames: 3, 50, and now and then 500 */
            size_t frames = rounds % 20 == 0 ? 500 : rounds % 2 ? 3 : 50;
            bool sent = true;
            for (size_t f = 0; f < frames && sent; f++)
                sent = zmq_send(h, buf, 1 + f % 64,
                                ZMQ_DONTWAIT | (f + 1 < frames ? ZMQ_SNDMORE : 0)) >= 0;
            n.many_frames++;
            /* unknown types and versions on otherwise fine frames */
            if (tip) {
                memcpy(buf, tip->frame, tip->frame_len);
                buf[0] = types[rounds % sizeof types];
                s_send(self, p, buf, tip->frame_len, tip->payload, tip->payload_len, true);
                n.unknown_type++;
                buf[0] = OB_PEER_TYPE_NODE;
                buf[1] = versions[rounds % sizeof versions];
                s_send(self, p, buf, tip->frame_len, tip->payload, tip->payload_len, true);
                n.bad_version++;
            }
        }
        s_pump(self, 2);
    }
    s_extra(self,
            ",\"bad_frames\":{\"rounds\":%" PRIu64 ",\"oversized\":%" PRIu64
            ",\"truncated\":%" PRIu64 ",\"garbage\":%" PRIu64 ",\"empty\":%" PRIu64
            ",\"many_frames\":%" PRIu64 ",\"unknown_type\":%" PRIu64 ",\"bad_version\":%" PRIu64
            "}",
            rounds, n.oversized, n.truncated, n.garbage, n.empty, n.many_frames, n.unknown_type,
            n.bad_version);
}

/* We stop reading: a router with the smallest queues, never read, so
   that what the honest nodes send us backs up in their own queues. Our
   tip is rebroadcast all along, so that they keep acking it to us. */
static void s_mode_slow_reader(s_evil_t *self, uint64_t end)
{
    ob_why_t why = {{0}};
    s_ready(self, s_now() + S_CERTIFY_WAIT_MS < end ? s_now() + S_CERTIFY_WAIT_MS : end);
    uint64_t before = self->received.messages;
    if (s_open_router(self, true, &why) != 0) {
        ob_error("%s", why.text);
        return;
    }
    self->reading = false;
    uint64_t stalled_from = s_now(), next = 0;
    /* However long the wait for certified chains took on a loaded
       machine, the stall itself lasts long enough to fill the honest
       nodes' queues towards us. */
    if (end < stalled_from + S_MIN_STALL_MS)
        end = stalled_from + S_MIN_STALL_MS;
    s_candidate_t *tip = self->chain.has_tip ? &self->chain.cand[0] : NULL;
    while (s_now() < end) {
        if (tip && s_now() >= next) {
            next = s_now() + 200;
            for (size_t i = 0; i < self->peer_count; i++)
                s_send_candidate(self, &self->peers[i], tip);
        }
        s_pump(self, 20);
    }
    uint64_t stalled = s_now() - stalled_from;
    /* Read again: first what queued up in the slow router, bounded. */
    self->reading = true;
    for (int i = 0; i < 100; i++)
        s_pump(self, 0);
    uint64_t drained = self->received.messages - before;
    if (s_open_router(self, false, &why) != 0)
        ob_error("%s", why.text);
    else /* the honest nodes connect again: the next mode needs them */
        s_wait_links(self, s_now() + S_CONNECT_WAIT_MS);
    s_extra(self, ",\"stalled_ms\":%" PRIu64 ",\"drained\":%" PRIu64, stalled, drained);
}

#define S_FLOOD_MAX_PER_SECOND 3000
#define S_FLOOD_PAYLOAD_MAX    (64u << 10)

/* Nodes signed by us for heights far above anything real, each with a
   parent certificate that only looks valid (honest indices, random
   signatures) in the current epoch and in epochs nobody knows. The
   payload of a height is always the same, so that nothing here is two
   nodes at one height. */
static void s_mode_flood(s_evil_t *self, uint64_t end)
{
    s_wait_links(self, s_now() + S_CONNECT_WAIT_MS < end ? s_now() + S_CONNECT_WAIT_MS : end);
    static uint8_t payload[S_FLOOD_PAYLOAD_MAX];
    uint8_t frame[S_FRAME_MAX];
    uint8_t entries[OB_CERT_ENTRIES_LEN(S_MAX_VALIDATORS)];
    uint64_t sent = 0, start = s_now(), by_epoch[4] = {0};
    uint64_t base = (1ull << 40) + ((s_random_u64() % 1024) << 20);
    const uint64_t epochs[4] = {self->epoch, self->epoch + 1, self->epoch + 1000, 1ull << 40};
    uint16_t entry_count = 0;
    for (uint16_t v = 0; v < self->n && v < S_MAX_VALIDATORS && entry_count < self->q; v++) {
        if (self->i_validate && v == self->my_index)
            continue; /* never a failing signature of our own key */
        uint8_t sig[64];
        s_random(sig, sizeof sig);
        ob_cert_entry_write(entries + OB_CERT_ENTRY_LEN * entry_count, v, sig);
        entry_count++;
    }
    while (s_now() < end) {
        uint64_t due = (s_now() - start + 1) * S_FLOOD_MAX_PER_SECOND / 1000;
        while (sent < due && s_now() < end) {
            uint64_t height = base + sent;
            /* mostly small, one in 64 of 64 KiB */
            size_t len = height % 64 == 0 ? S_FLOOD_PAYLOAD_MAX : 64 + (size_t)(height % 16) * 256;
            if (len > self->max_payload)
                len = self->max_payload;
            memset(payload, (int)(height & 0xff), len);
            memcpy(payload, &height, sizeof height);
            ob_node_t node = {.chunk = {.height = height}, .has_parent = true};
            memcpy(node.chunk.sequencer, self->key.pub.bytes, 32);
            ob_sha256(self->crypto, payload, len, node.chunk.payload);
            s_random(node.parent.digest, 32);
            node.parent.epoch = epochs[sent % 4];
            node.parent.cert = (ob_cert_t){entry_count, entries};
            size_t flen = 0;
            if (ob_chunk_sign(self->crypto, self->ns, &self->key, &node.chunk, NULL,
                              node.signature) != 0 ||
                ob_peer_node_frame_encode(&node, frame, sizeof frame, &flen) != 0)
                break;
            for (size_t i = 0; i < self->peer_count; i++)
                if (s_send(self, &self->peers[i], frame, flen, payload, len, true))
                    self->sent.nodes++;
            by_epoch[sent % 4]++;
            sent++;
        }
        s_pump(self, 1);
    }
    s_extra(self,
            ",\"flood\":{\"nodes\":%" PRIu64 ",\"first_height\":%" PRIu64
            ",\"parent_epochs\":{\"%" PRIu64 "\":%" PRIu64 ",\"%" PRIu64 "\":%" PRIu64 ",\"%" PRIu64
            "\":%" PRIu64 ",\"%" PRIu64 "\":%" PRIu64 "}}",
            sent, base, epochs[0], by_epoch[0], epochs[1], by_epoch[1], epochs[2], by_epoch[2],
            epochs[3], by_epoch[3]);
}

/* --- Fetching: floods and lies ---------------------------------------------------------- */

/* A Fetched frame of `lock`, with `payload` as its second frame if given. */
static bool s_send_fetched(s_evil_t *self, s_peer_t *p, const s_lock_t *lock,
                           const uint8_t *payload, size_t payload_len, bool has_payload)
{
    static uint8_t frame[2 + 1 + OB_CHUNK_LEN + 8 + 2 + OB_CERT_ENTRIES_LEN(S_MAX_VALIDATORS)];
    ob_fetched_t fetched = {
        .has_payload = has_payload,
        .lock = {.chunk = lock->chunk, .epoch = lock->epoch, .cert = {lock->count, lock->entries}}};
    size_t len = 0;
    if (ob_peer_fetched_frame_encode(&fetched, frame, sizeof frame, &len) != 0)
        return false;
    return s_send(self, p, frame, len, payload, payload_len, has_payload);
}

static void s_send_fetch(s_evil_t *self, s_peer_t *p, const uint8_t sequencer[32], uint64_t height,
                         uint16_t count)
{
    ob_fetch_t fetch = {.height = height, .count = count};
    memcpy(fetch.sequencer, sequencer, 32);
    uint8_t frame[2 + OB_FETCH_LEN];
    size_t len = 0;
    if (ob_peer_fetch_frame_encode(&fetch, frame, sizeof frame, &len) == 0)
        s_send(self, p, frame, len, NULL, 0, false);
}

/* A real Lock we hold: the latest of `sequencer` if we know one (NULL:
   any), else any other; our own chain's certificate counts. */
static const s_lock_t *s_real_lock(s_evil_t *self, const uint8_t *sequencer, uint64_t pick)
{
    static s_lock_t own;
    const s_lock_t *found[S_MAX_PEERS + 1];
    size_t count = 0;
    for (size_t i = 0; i < self->seq_count; i++) {
        const s_sequencer_t *s = &self->seqs[i];
        if (!s->has_lock)
            continue;
        if (sequencer && memcmp(s->key, sequencer, 32) == 0)
            return &s->lock;
        found[count++] = &s->lock;
    }
    const s_chain_t *ch = &self->chain;
    if (ch->certified) {
        own = (s_lock_t){.chunk = ch->cert_chunk, .epoch = ch->cert_epoch, .count = ch->cert_count};
        memcpy(own.entries, ch->cert_entries, OB_CERT_ENTRIES_LEN(own.count));
        if (sequencer && memcmp(self->key.pub.bytes, sequencer, 32) == 0)
            return &own;
        found[count++] = &own;
    }
    return count ? found[pick % count] : NULL;
}

/* Our certified chunk's payload, when we still have it: the one real
   Lock we can send with its bytes. */
static const s_candidate_t *s_own_certified_payload(const s_evil_t *self)
{
    const s_chain_t *ch = &self->chain;
    const s_candidate_t *c = &ch->cand[0];
    return ch->certified && c->used && c->chunk.height == ch->cert_chunk.height &&
                   memcmp(c->chunk.payload, ch->cert_chunk.payload, 32) == 0
               ? c
               : NULL;
}

#define S_FETCH_FLOOD_PER_SECOND   3000 /* Fetch per honest node */
#define S_FETCHED_FLOOD_PER_SECOND 1500 /* unasked Fetched per honest node */

/* Fetch of 64 heights of every chain we heard of, far faster than any
   budget, and unasked Fetched of real Locks (so that nothing here is a
   forgery that blocks: a flood alone must not, SPEC §3 Blocking). */
static void s_mode_fetch_flood(s_evil_t *self, uint64_t end)
{
    s_wait_links(self, s_now() + S_CONNECT_WAIT_MS < end ? s_now() + S_CONNECT_WAIT_MS : end);
    uint64_t fetches = 0, fetched = 0, fetched_with_payload = 0, start = s_now();
    while (s_now() < end) {
        uint64_t elapsed = s_now() - start + 1;
        uint64_t fetch_due = elapsed * S_FETCH_FLOOD_PER_SECOND / 1000;
        uint64_t fetched_due = elapsed * S_FETCHED_FLOOD_PER_SECOND / 1000;
        while (fetches < fetch_due && s_now() < end) {
            /* a chain we heard of (the honest ones hold it), from a height
               they hold, else an honest node's own chain from 0 */
            const uint8_t *sequencer = self->peers[fetches % self->peer_count].key;
            uint64_t height = 0;
            if (self->seq_count) {
                const s_sequencer_t *s = &self->seqs[fetches % self->seq_count];
                sequencer = s->key;
                height = s->has_latest ? s_random_u64() % (s->latest.height + 1) : 0;
            }
            for (size_t i = 0; i < self->peer_count; i++)
                s_send_fetch(self, &self->peers[i], sequencer, height, OB_FETCH_MAX);
            fetches++;
        }
        while (fetched < fetched_due && s_now() < end) {
            const s_candidate_t *own = s_own_certified_payload(self);
            const s_lock_t *lock = fetched % 4 == 0 && own
                                       ? s_real_lock(self, self->key.pub.bytes, 0)
                                       : s_real_lock(self, NULL, fetched);
            if (!lock)
                break;
            bool with_payload = own && memcmp(lock->chunk.sequencer, self->key.pub.bytes, 32) == 0;
            for (size_t i = 0; i < self->peer_count; i++)
                s_send_fetched(self, &self->peers[i], lock, with_payload ? own->payload : NULL,
                               with_payload ? own->payload_len : 0, with_payload);
            fetched++;
            fetched_with_payload += with_payload;
        }
        s_pump(self, 1);
    }
    s_extra(self,
            ",\"fetch_flood\":{\"fetch\":%" PRIu64 ",\"range\":%d,\"unasked_fetched\":%" PRIu64
            ",\"unasked_with_payload\":%" PRIu64 ",\"answers\":%" PRIu64 "}",
            fetches, OB_FETCH_MAX, fetched, fetched_with_payload, self->received.fetched);
}

/* A certificate of `count` entries, indices 0 up, on `chunk`, every one
   signed by our own key: ours is genuine, the others' are not. */
static void s_forge_lock(s_evil_t *self, s_lock_t *lock, const ob_chunk_t *chunk, uint16_t count)
{
    *lock = (s_lock_t){.chunk = *chunk, .epoch = self->epoch, .count = count};
    for (uint16_t v = 0; v < count; v++) {
        uint8_t sig[OB_SIGNATURE_LEN];
        if (ob_ack_sign(self->crypto, self->ns, &self->key, chunk, self->epoch, NULL, sig) != 0)
            s_random(sig, sizeof sig);
        ob_cert_entry_write(lock->entries + OB_CERT_ENTRY_LEN * v, v, sig);
    }
}

/* One of each lie about `sequencer` at `height`, to `to`: a real Lock
   with bytes that are not its payload; a certificate below quorum and one
   signed all by our key, each on a fresh chunk with its true payload; a
   real certificate with one signature's byte flipped. The one that
   cannot block comes first: once one of the others is verified, the rest
   is dropped as `blocked`. */
static void s_lie(s_evil_t *self, s_peer_t *to, const uint8_t sequencer[32], uint64_t height,
                  uint64_t span)
{
    uint8_t junk[64];
    s_random(junk, sizeof junk);
    const s_lock_t *real = s_real_lock(self, sequencer, s_random_u64());
    if (real && s_send_fetched(self, to, real, junk, sizeof junk, true))
        self->lies.payload_mismatch++;
    ob_chunk_t chunk = {.height = height};
    memcpy(chunk.sequencer, sequencer, 32);
    ob_sha256(self->crypto, junk, sizeof junk, chunk.payload);
    static s_lock_t forged;
    s_forge_lock(self, &forged, &chunk, self->q > 1 ? self->q - 1 : 1);
    if (s_send_fetched(self, to, &forged, junk, sizeof junk, true))
        self->lies.below_quorum++;
    if (span > 1)
        chunk.height = height + 1;
    s_forge_lock(self, &forged, &chunk, self->q);
    if (s_send_fetched(self, to, &forged, junk, sizeof junk, true))
        self->lies.own_key_signatures++;
    if (real && real->count > 0) {
        forged = *real;
        forged.entries[2 + (s_random_u64() % OB_SIGNATURE_LEN)] ^= 0x01;
        if (s_send_fetched(self, to, &forged, NULL, 0, false))
            self->lies.flipped_signature++;
    }
}

static void s_answer_with_lies(s_evil_t *self, s_peer_t *to, const ob_fetch_t *fetch)
{
    self->lies.fetches_answered++;
    s_lie(self, to, fetch->sequencer, fetch->height, fetch->count);
}

/* Every Fetch an honest node sends us is answered with lies (s_lie); and
   unasked: for the first third, real Locks with wrong bytes (which never
   block), then each lie, a round every 100 ms, within the budget of
   unasked Fetched (fetch_budget). */
static void s_mode_fetch_lies(s_evil_t *self, uint64_t end)
{
    s_wait_links(self, s_now() + S_CONNECT_WAIT_MS < end ? s_now() + S_CONNECT_WAIT_MS : end);
    self->lying = true;
    uint64_t start = s_now(), forge_from = start + (end - start) / 3, next = 0, rounds = 0;
    while (s_now() < end) {
        if (s_now() >= next) {
            next = s_now() + 100;
            rounds++;
            for (size_t i = 0; i < self->peer_count; i++) {
                s_peer_t *p = &self->peers[i];
                if (s_now() < forge_from) {
                    uint8_t junk[64];
                    s_random(junk, sizeof junk);
                    for (size_t k = 0; k < self->seq_count + 1; k++) {
                        const s_lock_t *real = s_real_lock(self, NULL, rounds + k);
                        if (real && s_send_fetched(self, p, real, junk, sizeof junk, true)) {
                            self->lies.payload_mismatch++;
                            self->lies.unasked++;
                        }
                    }
                    continue;
                }
                /* far above anything real: a chunk nobody holds */
                const uint8_t *sequencer =
                    self->seq_count ? self->seqs[rounds % self->seq_count].key : p->key;
                s_lie(self, p, sequencer, (1ull << 40) + rounds * 2, 2);
                self->lies.unasked += 4;
            }
        }
        s_pump(self, 5);
    }
    self->lying = false;
    const s_lies_t *n = &self->lies;
    s_extra(self,
            ",\"fetch_lies\":{\"fetches_answered\":%" PRIu64 ",\"payload_mismatch\":%" PRIu64
            ",\"below_quorum\":%" PRIu64 ",\"own_key_signatures\":%" PRIu64
            ",\"flipped_signature\":%" PRIu64 ",\"unasked\":%" PRIu64 "}",
            n->fetches_answered, n->payload_mismatch, n->below_quorum, n->own_key_signatures,
            n->flipped_signature, n->unasked);
}

/* --- one mode, and its summary ---------------------------------------------------------- */

static void s_reset_stats(s_evil_t *self)
{
    memset(&self->sent, 0, sizeof self->sent);
    memset(&self->received, 0, sizeof self->received);
    memset(self->acks, 0, sizeof(s_ack_entry_t) * S_ACK_TABLE_SIZE);
    memset(&self->lies, 0, sizeof self->lies);
    self->extra_len = 0;
    self->extra[0] = 0;
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *p = &self->peers[i];
        p->sent = p->send_dropped = p->received = p->acks_in = p->nodes_in = p->own_acks_in = 0;
        p->max_distinct = 0;
    }
}

static void s_summary(s_evil_t *self, s_mode_t mode, uint64_t ms)
{
    const s_sent_t *s = &self->sent;
    const s_received_t *r = &self->received;
    const s_chain_t *ch = &self->chain;
    printf("{\"mode\":\"%s\",\"node\":\"%s\",\"ms\":%" PRIu64 ",\"connected\":%zu,\"inbound\":%d",
           s_mode_names[mode], self->config.name, ms, s_connected(self), self->inbound);
    printf(",\"sent\":{\"nodes\":%" PRIu64 ",\"acks\":%" PRIu64 ",\"proposals\":%" PRIu64
           ",\"dropped\":%" PRIu64 "}",
           s->nodes, s->acks, s->proposals, s->dropped);
    printf(",\"received\":{\"messages\":%" PRIu64 ",\"nodes\":%" PRIu64 ",\"acks\":%" PRIu64
           ",\"own_chain_acks\":%" PRIu64 ",\"own_chain_acks_bad\":%" PRIu64
           ",\"undecodable\":%" PRIu64 ",\"unknown_sender\":%" PRIu64 ",\"untracked\":%" PRIu64
           ",\"fetches\":%" PRIu64 ",\"fetched\":%" PRIu64 "}",
           r->messages, r->nodes, r->acks, r->own_acks, r->own_acks_bad, r->undecodable,
           r->unknown_sender, r->ack_entries_untracked, r->fetches, r->fetched);
    /* A distinct-signature count of S_SIGS_KEPT + 1 means "more than
       S_SIGS_KEPT": only so many are remembered per entry. */
    printf(",\"signatures_remembered\":%d", S_SIGS_KEPT);
    printf(",\"conflicting_acks\":%" PRIu64 ",\"conflicting_nodes\":%" PRIu64, r->conflicting_acks,
           r->conflicting_nodes);
    printf(",\"peers\":{");
    for (size_t i = 0; i < self->peer_count; i++) {
        const s_peer_t *p = &self->peers[i];
        printf("%s\"%s\":{\"sent\":%" PRIu64 ",\"send_dropped\":%" PRIu64 ",\"received\":%" PRIu64
               ",\"acks\":%" PRIu64 ",\"nodes\":%" PRIu64 ",\"acks_on_our_chain\":%" PRIu64
               ",\"max_distinct_ack_signatures\":%u}",
               i ? "," : "", p->name, p->sent, p->send_dropped, p->received, p->acks_in,
               p->nodes_in, p->own_acks_in, p->max_distinct);
    }
    printf("}");
    printf(",\"chain\":{\"certified\":");
    if (ch->certified)
        printf("%" PRIu64, ch->cert_chunk.height);
    else
        printf("null");
    printf(",\"tip\":");
    if (ch->has_tip)
        printf("%" PRIu64, ch->tip_height);
    else
        printf("null");
    printf(",\"certificates\":%" PRIu64 "}%s}\n", r->certificates, self->extra);
    fflush(stdout);
}

static void s_run_mode(s_evil_t *self, s_mode_t mode, uint64_t seconds)
{
    s_reset_stats(self);
    uint64_t start = s_now(), end = start + seconds * 1000;
    ob_info("mode %s for %" PRIu64 " s", s_mode_names[mode], seconds);
    static void (*const run[S_MODE_COUNT])(s_evil_t *, uint64_t) = {
        [S_MODE_EQUIVOCATE] = s_mode_equivocate, [S_MODE_CONFLICT_CERT] = s_mode_conflict_cert,
        [S_MODE_BAD_ACKS] = s_mode_bad_acks,     [S_MODE_DUP_TIPS] = s_mode_dup_tips,
        [S_MODE_BAD_FRAMES] = s_mode_bad_frames, [S_MODE_SLOW_READER] = s_mode_slow_reader,
        [S_MODE_FLOOD] = s_mode_flood,           [S_MODE_FETCH_FLOOD] = s_mode_fetch_flood,
        [S_MODE_FETCH_LIES] = s_mode_fetch_lies,
    };
    run[mode](self, end);
    s_summary(self, mode, s_now() - start);
}

/* --- setup ------------------------------------------------------------------------------ */

static int s_load(s_evil_t *self, const char *config_path, const char *state_path, ob_why_t *why)
{
    if (ob_node_config_load(config_path, &self->config, why) != 0)
        return -1;
    if (!(self->crypto = ob_crypto_new()))
        return ob_why(why, "no entropy for a crypto context");
    if (!(self->manifest = ob_manifest_load(self->crypto, self->config.manifest, why)))
        return -1;
    const ob_manifest_node_t *me = ob_manifest_node_named(self->manifest, self->config.name);
    if (!me)
        return ob_why(why, "manifest %s: no node named '%s' (config %s)", self->config.manifest,
                      self->config.name, config_path);
    if (ob_keyfile_load(self->crypto, self->config.key_file, &self->key, why) != 0)
        return -1;
    if (memcmp(self->key.pub.bytes, me->key, 32) != 0)
        return ob_why(why, "key_file %s: not the key the manifest %s lists for node '%s'",
                      self->config.key_file, self->config.manifest, me->name);
    zcert_t *curve = zcert_load(self->config.curve_secret_file);
    if (!curve || streq(zcert_secret_txt(curve), "0000000000000000000000000000000000000000")) {
        zcert_destroy(&curve);
        return ob_why(why, "curve_secret_file %s: not a CURVE secret certificate",
                      self->config.curve_secret_file);
    }
    if (!streq(zcert_public_txt(curve), me->curve_key)) {
        zcert_destroy(&curve);
        return ob_why(why, "curve_secret_file %s: not the curve_key the manifest lists for '%s'",
                      self->config.curve_secret_file, me->name);
    }
    self->curve = curve;
    self->ns = ob_manifest_namespace(self->manifest);
    self->epochs = ob_manifest_epochs(self->manifest);
    self->epoch = ob_epochs_first(self->epochs);
    self->validators = ob_epochs_validators(self->epochs, self->epoch);
    self->n = ob_keyset_size(self->validators);
    self->q = ob_keyset_quorum(self->validators);
    self->max_payload = ob_manifest_max_payload(self->manifest);
    if (self->n > S_MAX_VALIDATORS)
        return ob_why(why, "manifest %s: epoch %" PRIu64 " has %u validators; %s takes at most %d",
                      self->config.manifest, self->epoch, self->n, S_PROGRAM, S_MAX_VALIDATORS);
    self->i_validate = ob_keyset_index_of(self->validators, self->key.pub.bytes, &self->my_index);
    if (!ob_keyset_contains(ob_epochs_sequencers(self->epochs, self->epoch), self->key.pub.bytes))
        ob_warn("node %s is no sequencer of epoch %" PRIu64 ": honest nodes will refuse its nodes",
                me->name, self->epoch);
    for (size_t i = 0; i < ob_manifest_node_count(self->manifest); i++) {
        const ob_manifest_node_t *m = ob_manifest_node(self->manifest, i);
        if (m == me)
            continue;
        if (self->peer_count == S_MAX_PEERS)
            return ob_why(why, "manifest %s: more than %d peers", self->config.manifest,
                          S_MAX_PEERS);
        s_peer_t *p = &self->peers[self->peer_count++];
        snprintf(p->name, sizeof p->name, "%s", m->name);
        memcpy(p->key, m->key, 32);
        p->validator = ob_keyset_index_of(self->validators, m->key, &p->index);
    }
    if (state_path)
        snprintf(self->state_path, sizeof self->state_path, "%s", state_path);
    else if (snprintf(self->state_path, sizeof self->state_path, "%s/evil.state",
                      self->config.data_dir) >= (int)sizeof self->state_path)
        return ob_why(why, "data_dir %s: path too long", self->config.data_dir);
    if (mkdir(self->config.data_dir, 0700) != 0 && errno != EEXIST)
        return ob_why(why, "data_dir %s: %s", self->config.data_dir, strerror(errno));
    if (!(self->acks = calloc(S_ACK_TABLE_SIZE, sizeof *self->acks)))
        return ob_why(why, "out of memory");
    return s_state_load(self, why);
}

static const char *s_usage =
    "usage: obcast-evil --config NODE.zpl --mode MODE [--seconds S] [--state FILE]\n"
    "A byzantine peer for tests: it takes the place of the node of NODE.zpl, with\n"
    "its keys, and misbehaves in one way per mode; at the end of each mode it\n"
    "prints one JSON line of what it sent and what the honest nodes did.\n"
    "  --config NODE.zpl  the node config whose keys and peer endpoint it takes\n"
    "  --mode MODE        equivocate | conflict-cert | bad-acks | dup-tips |\n"
    "                     bad-frames | slow-reader | flood | fetch-flood |\n"
    "                     fetch-lies | all (each in turn, fetch-lies last)\n"
    "  --seconds S        how long each mode runs (default 5, 1 to 3600)\n"
    "  --state FILE       our chain between runs (default <data_dir>/evil.state)\n"
    "  --verbose          log at info level on stderr\n"
    "  --help, --version\n"
    "exit status: 0 ok, 1 failed (config, keys, sockets), 2 bad usage\n";

#define s_usage_error(...) ob_args_usage_error(stderr, S_PROGRAM, __VA_ARGS__)

int main(int argc, char **argv)
{
    const char *config_path = NULL, *mode_name = NULL, *state_path = NULL;
    uint64_t seconds = 5;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (streq(a, "--help")) {
            fputs(s_usage, stdout);
            return OB_EXIT_OK;
        } else if (streq(a, "--version")) {
            printf("%s 0.1.0\n", S_PROGRAM);
            return OB_EXIT_OK;
        } else if (streq(a, "--verbose")) {
            verbose = true;
        } else if (streq(a, "--config") || streq(a, "--mode") || streq(a, "--seconds") ||
                   streq(a, "--state")) {
            if (!has_value)
                return s_usage_error("%s needs a value", a);
            const char *v = argv[++i];
            if (streq(a, "--config"))
                config_path = v;
            else if (streq(a, "--mode"))
                mode_name = v;
            else if (streq(a, "--state"))
                state_path = v;
            else if (ob_args_u64(v, 1, 3600, &seconds) != 0)
                return s_usage_error("--seconds: '%s' is not a whole number from 1 to 3600", v);
        } else {
            return s_usage_error("unknown argument '%s'", a);
        }
    }
    if (!config_path || !*config_path)
        return s_usage_error("give --config NODE.zpl");
    if (!mode_name)
        return s_usage_error("give --mode (equivocate, conflict-cert, bad-acks, dup-tips, "
                             "bad-frames, slow-reader, flood, fetch-flood, fetch-lies or all)");
    int mode = -1;
    for (int m = 0; m < S_MODE_COUNT; m++)
        if (streq(mode_name, s_mode_names[m]))
            mode = m;
    if (mode < 0 && !streq(mode_name, "all"))
        return s_usage_error("--mode: no mode '%s' (equivocate, conflict-cert, bad-acks, "
                             "dup-tips, bad-frames, slow-reader, flood, fetch-flood, "
                             "fetch-lies or all)",
                             mode_name);
    if (state_path && !*state_path)
        return s_usage_error("--state needs a file name");

    ob_log_set_ident(S_PROGRAM);
    ob_log_set_level(verbose ? OB_LOG_INFO : OB_LOG_WARN);
    s_evil_t *self = calloc(1, sizeof *self);
    if (!self) {
        fprintf(stderr, "%s: out of memory\n", S_PROGRAM);
        return OB_EXIT_FAILED;
    }
    self->reading = true;
    ob_why_t why = {{0}};
    int status = OB_EXIT_OK;
    /* SIGTERM and SIGINT end us at once, as the tests expect */
    zsys_handler_set(NULL);
    zsys_init();
    if (s_load(self, config_path, state_path, &why) != 0 || s_setup_sockets(self, &why) != 0) {
        fprintf(stderr, "%s: %s\n", S_PROGRAM, why.text);
        status = OB_EXIT_FAILED;
    } else if (!(s_big = calloc(1, S_BIG_FRAME))) {
        fprintf(stderr, "%s: out of memory\n", S_PROGRAM);
        status = OB_EXIT_FAILED;
    } else {
        s_big[0] = OB_PEER_TYPE_NODE;
        s_big[1] = OB_PEER_VERSION;
        for (int m = 0; m < S_MODE_COUNT; m++)
            if (mode < 0 || m == 0)
                s_run_mode(self, mode < 0 ? s_all_order[m] : (s_mode_t)mode, seconds);
    }
    s_teardown(self);
    /* libzmq's I/O threads may still read the oversized buffer of a
       message being sent: they end before it is freed. */
    zsys_shutdown();
    ob_keypair_wipe(&self->key);
    ob_manifest_destroy(&self->manifest);
    ob_crypto_destroy(&self->crypto);
    free(self->acks);
    free(self);
    free(s_big);
    return status;
}

/*  obcast-net: the net actor's shell (SPEC §4, §5), the node's face to the
    world.

    Peers: a ROUTER at peer_bind is a CURVE server; our ZAP handler
    (common/zap.c) admits there exactly the CURVE keys the manifest lists,
    and the User-Id of each message (its sender's CURVE key) maps to the
    sender's obcast key, the "peer P" of SPEC §3. We reach each peer
    through a DEALER of our own, a CURVE client that knows the peer's
    server key. Every socket has a high-water mark and every send is
    non-blocking: a slow or dead peer loses only its own messages, which
    rebroadcast recovers.

    Application and submit sockets: ROUTERs at app_endpoint and
    submit_endpoint (ipc in the 0700 runtime folder by default; on TCP,
    CURVE servers admitting only app_keys and client_keys, each its own
    ZAP domain). The application is known by its connection's
    credentials: its CURVE key on TCP, libzmq's Peer-Address on ipc
    ("localhost:UID:GID:PID", SO_PEERCRED); answers go to the routing id
    of the connection that attached with them.

    Every external socket bounds each frame it reads (ZMQ_MAXMSGSIZE, SPEC
    §2): a larger frame closes its connection before it is read. */
#include "actor.h"
#include "hex.h"
#include "log.h"
#include "net.h"
#include "pins.h"
#include "shell.h"
#include "submit.h"
#include "zap.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define S_MAX_PEERS 256
/* What libzmq may queue for all peers together, in each direction. Its
   high-water marks count messages, not bytes: a peer's queue is bounded at
   this share over the largest message, so a peer that stops reading, or a
   flood while the full arena pauses reading, costs at most this much
   memory, or S_PEER_HWM_MIN of the largest messages per link where that is
   more (SPEC §4: what is held for slow peers is capped). Counting bytes
   exactly needs sends that reference arena slots (issue 10). */
#define S_PEER_QUEUE_BYTES (64u << 20)
#define S_PEER_HWM_MIN     32
#define S_PEER_HWM_MAX     10000
#define S_LOCAL_HWM        10000
#define S_MAX_FRAMES       3
#define S_ARENA_MARGIN     8 /* free slots below which net stops reading peers */
/* Bytes of an application or client frame around its payload: the imsg
   header, a tag or height, blob lengths. */
#define S_LOCAL_ENVELOPE 1024
/* A CURVE MESSAGE command: "\x07MESSAGE", nonce(8), flags(1), MAC(16). */
#define S_CURVE_OVERHEAD 64
/* What the kernel may buffer for a connection beside whole messages. */
#define S_GUARD_SLACK (8u << 20)

typedef struct {
    char name[OB_NAME_MAX];
    uint8_t key[32];
    char curve_key[OB_Z85_KEY_LEN + 1];
    char endpoint[OB_ENDPOINT_MAX];
    zsock_t *dealer;
    zsock_t *monitor; /* libzmq's events of the dealer */
    /* A second link for what carries no payload (acks, Fetch, a Lock
       alone): behind a 100 KB payload on a link that moves 35 KB/s (30%
       loss), an ack waited seconds, and every chain's certificate with it. */
    zsock_t *small;
    zsock_t *small_monitor;
    int small_fd;
    bool small_connected;
    bool connected;
    bool retry_logged;   /* "unreachable" once per outage, not per retry */
    uint64_t down_since; /* ms; when it was last seen not connected */
    uint64_t sent, send_dropped, received;
    int fd; /* the link's TCP connection, from the monitor; -1 */
    /* The last message with a payload sent on the link, by a hash of its
       first frame: a rebroadcast repeats it byte for byte. */
    uint64_t last_payload_msg;
    uint64_t copies_held_back; /* repeats not sent: the last copy was still queued */
    /* Messages sent by the peer's other link, their own one in loss
       recovery (s_pick_link), and Fetched answers not sent while the
       payload link recovered: the asker asks again. */
    uint64_t sent_other_link, fetched_deferred;
    /* s_link_recovering's answers, for S_LINK_STATE_MS: one TCP_INFO per
       link and a few ms, not per message. Index 0 the payload link. */
    bool recovering[2];
    uint64_t recovering_at[2];
} s_peer_t;

/* The guard of one TCP ROUTER against a message that never ends.
   ZMQ_MAXMSGSIZE bounds each frame, but libzmq keeps every frame of a
   multipart message in the pipe until its last arrives, and hands none
   of them over before: one message of 1,024 frames of 1 MiB is 1 GiB in
   our memory. So each accepted connection (its fd, from libzmq's monitor)
   is watched: the bytes TCP received on it (TCP_INFO) less the bytes of
   the messages it delivered (ZMQ_SRCFD) are what libzmq and the kernel
   hold for it; past `limit`, with nothing delivered from it since the
   last check (a connection inside an unfinished message can deliver
   nothing; an honest one with a backlog of whole messages does, as net
   reads), the connection is shut down and libzmq, finding it closed,
   drops the partial message (a peer's DEALER simply reconnects).
   Checked every S_GUARD_MS. */
/* glibc's struct tcp_info stops at tcpi_total_retrans; Linux's goes on
   (linux/tcp.h, which clashes with glibc's header) with these. */
typedef struct {
    struct tcp_info glibc;
    uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
} s_tcp_info_t;
_Static_assert(sizeof(struct tcp_info) == 104,
               "glibc's struct tcp_info is Linux's first 104 bytes");

#define S_GUARD_CONNS 1024
#define S_GUARD_MS    10
typedef struct {
    bool used;
    int fd;
    uint64_t accepted_ms;
    uint64_t delivered;
    uint64_t delivered_checked; /* `delivered` at the last check */
} s_conn_t;

/* What one heartbeat PING takes on the wire under CURVE (a 7-byte
   command in a MESSAGE: 42 bytes), rounded up. */
#define S_PING_BYTES 64

typedef struct {
    const char *what;
    zsock_t *monitor;
    uint64_t limit;
    /* The peers' DEALERs PING this often (0: not at all): bytes TCP
       receives that no message delivers. */
    uint64_t heartbeat_ms;
    s_conn_t conns[S_GUARD_CONNS];
    uint64_t cut, untracked;
} s_guard_t;

typedef struct {
    const ob_actor_args_t *args;
    ob_net_t *net;
    ob_shell_t *shell;
    ob_arena_t *arena;
    ob_pins_t *pins; /* slots held by payload messages in flight */
    uint64_t next_renew_ms;
    ob_zap_t *zap;
    zcert_t *cert;
    zsock_t *router; /* peers in */
    zsock_t *app;
    int app_fd; /* the attached application's connection; -1 */
    zsock_t *submit;
    s_peer_t peers[S_MAX_PEERS];
    size_t peer_count;
    uint8_t app_id[256]; /* the routing id of the attached application's connection */
    size_t app_id_len;
    uint64_t oversized_limit_peer, oversized_limit_local; /* ZMQ_MAXMSGSIZE */
    int peer_hwm;        /* messages queued per peer link, each way */
    int small_hwm;       /* on the links for messages without a payload */
    s_guard_t guards[3]; /* peer, app, submit (TCP only) */
    uint64_t next_guard_ms;
    bool peers_paused;
    bool submit_paused;
    uint64_t unknown_sender, malformed_frames;
    uint64_t rto_capped, rto_uncapped;   /* peer connections, by s_cap_rto's outcome */
    uint64_t rto_floored, rto_unfloored; /* ...and by its peer_rto_min_ms outcome */
    bool rto_refused_logged;
    /* Payload bytes through our sockets: each a copy (metrics) */
    uint64_t peer_payload_bytes_in, peer_payload_bytes_out, local_bytes_in, local_bytes_out;
} s_net_shell_t;

/* --- setup ---------------------------------------------------------------- */

/* ZAP domains: one allowlist each (SPEC §4). */
#define S_DOMAIN_PEERS  "obcast-peers"
#define S_DOMAIN_APP    "obcast-app"
#define S_DOMAIN_SUBMIT "obcast-submit"

/* The peer port admits exactly the manifest's node CURVE keys; a TCP
   application or submit socket its own folder of keys. */
static int s_allow(s_net_shell_t *self, ob_why_t *why)
{
    const ob_manifest_t *manifest = self->args->manifest;
    const ob_node_config_t *config = self->args->config;
    if (ob_zap_curve_domain(self->zap, S_DOMAIN_PEERS, why) != 0)
        return -1;
    for (size_t i = 0; i < ob_manifest_node_count(manifest); i++)
        if (ob_zap_allow(self->zap, S_DOMAIN_PEERS, ob_manifest_node(manifest, i)->curve_key,
                         why) != 0)
            return -1;
    struct {
        const char *endpoint, *domain, *what, *folder;
    } locals[] = {{config->app_endpoint, S_DOMAIN_APP, "app_keys", config->app_keys},
                  {config->submit_endpoint, S_DOMAIN_SUBMIT, "client_keys", config->client_keys}};
    for (size_t i = 0; i < 2; i++) {
        if (strncmp(locals[i].endpoint, "tcp://", 6) != 0)
            continue;
        size_t count = 0;
        if (!locals[i].folder[0])
            return ob_why(why, "%s: a TCP endpoint needs %s", locals[i].endpoint, locals[i].what);
        if (ob_zap_allow_folder(self->zap, locals[i].domain, locals[i].what, locals[i].folder,
                                &count, why) != 0)
            return -1;
        ob_info("net: %zu %s allowed from %s", count, i == 0 ? "application keys" : "client keys",
                locals[i].folder);
    }
    return 0;
}

/* The application or submit socket. ipc:// lives in the 0700 runtime
   folder; a TCP one is a CURVE server whose clients the ZAP handler
   checks against `domain`'s allowlist (SPEC §4). */
static zsock_t *s_bind_local(s_net_shell_t *self, const char *what, const char *endpoint,
                             const char *domain, ob_why_t *why)
{
    bool tcp = strncmp(endpoint, "tcp://", 6) == 0;
    if (!tcp && strncmp(endpoint, "ipc://", 6) != 0 && strncmp(endpoint, "inproc://", 9) != 0) {
        ob_why(why, "%s %s: only ipc:// and tcp:// (with CURVE) are served", what, endpoint);
        return NULL;
    }
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    if (!sock) {
        ob_why(why, "%s: cannot make a socket", what);
        return NULL;
    }
    if (tcp) {
        if (ob_zap_enforce(sock, domain, why) != 0) {
            zsock_destroy(&sock);
            return NULL;
        }
        zcert_apply(self->cert, sock);
        zsock_set_curve_server(sock, 1);
    }
    zsock_set_maxmsgsize(sock, (int)self->oversized_limit_local);
    zsock_set_sndhwm(sock, S_LOCAL_HWM);
    zsock_set_rcvhwm(sock, S_LOCAL_HWM);
    zsock_set_linger(sock, 0);
    if (zsock_bind(sock, "%s", endpoint) < 0) {
        ob_why(why, "%s %s: cannot bind: %s", what, endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
    }
    return sock;
}

static int s_guard_start(s_net_shell_t *self, s_guard_t *guard, zsock_t *sock, const char *what,
                         uint64_t limit, ob_why_t *why)
{
    /* Two sockets may not share an inproc name: refuse one cut short. */
    char endpoint[OB_NAME_MAX + 64];
    if (snprintf(endpoint, sizeof endpoint, "inproc://obcast-net-guard-%s-%s",
                 self->args->config->name, what) >= (int)sizeof endpoint)
        return ob_why(why, "%s: monitor endpoint name too long", what);
    guard->what = what;
    guard->limit = limit;
    if (zmq_socket_monitor(zsock_resolve(sock), endpoint,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0 ||
        !(guard->monitor = zsock_new_pair(endpoint)))
        return ob_why(why, "%s: cannot watch its connections", what);
    return ob_shell_watch(self->shell, guard->monitor);
}

static s_conn_t *s_guard_conn(s_guard_t *guard, int fd)
{
    for (size_t i = 0; i < S_GUARD_CONNS; i++)
        if (guard->conns[i].used && guard->conns[i].fd == fd)
            return &guard->conns[i];
    return NULL;
}

/* One event of libzmq's monitor; returns its code (0 if unreadable) and
   the connection's fd in *fd_out. */
static uint16_t s_guard_on_event(s_guard_t *guard, int *fd_out)
{
    uint16_t result = 0;
    *fd_out = -1;
    zmsg_t *event = zmsg_recv(guard->monitor);
    zframe_t *first = event ? zmsg_first(event) : NULL;
    if (first && zframe_size(first) >= 6) {
        uint16_t code;
        int32_t fd;
        memcpy(&code, zframe_data(first), 2);
        memcpy(&fd, zframe_data(first) + 2, 4);
        result = code;
        *fd_out = fd;
        s_conn_t *conn = s_guard_conn(guard, fd);
        if (code == ZMQ_EVENT_ACCEPTED) {
            for (size_t i = 0; i < S_GUARD_CONNS && !conn; i++)
                if (!guard->conns[i].used)
                    conn = &guard->conns[i];
            if (conn)
                *conn = (s_conn_t){.used = true, .fd = fd, .accepted_ms = ob_shell_now_ms()};
            else
                guard->untracked++;
        } else if (conn) {
            conn->used = false;
        }
    }
    zmsg_destroy(&event);
    return result;
}

/* A message of `bytes` (all its frames, ZMTP and CURVE framing counted)
   came out of connection `fd`. */
static void s_guard_delivered(s_guard_t *guard, int fd, uint64_t bytes)
{
    s_conn_t *conn = guard->monitor ? s_guard_conn(guard, fd) : NULL;
    if (conn)
        conn->delivered += bytes;
}

static void s_guard_check(s_guard_t *guard, uint64_t now)
{
    for (size_t i = 0; guard->monitor && i < S_GUARD_CONNS; i++) {
        s_conn_t *conn = &guard->conns[i];
        s_tcp_info_t info;
        socklen_t len = sizeof info;
        if (!conn->used)
            continue;
        bool progressed = conn->delivered != conn->delivered_checked;
        conn->delivered_checked = conn->delivered;
        if (progressed || getsockopt(conn->fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
            len < sizeof info) /* a kernel before 4.1 */
            continue;
        /* The PINGs since it was accepted (at 500 ms, 11 MB a day; the
           peer's setting taken to be ours): unaccounted, they would cut a
           link that carried nothing else for a day and a half. */
        uint64_t pings = guard->heartbeat_ms && now > conn->accepted_ms
                             ? (now - conn->accepted_ms) / guard->heartbeat_ms + 1
                             : 0;
        uint64_t accounted = conn->delivered + pings * S_PING_BYTES;
        if (info.bytes_received <= accounted || info.bytes_received - accounted <= guard->limit)
            continue;
        ob_warn("net: %s: a connection holds %llu bytes of a message not yet whole (more than "
                "%llu): cut",
                guard->what, (unsigned long long)(info.bytes_received - conn->delivered),
                (unsigned long long)guard->limit);
        shutdown(conn->fd, SHUT_RDWR);
        conn->used = false;
        guard->cut++;
    }
}

/* ZMQ_MAXMSGSIZE (SPEC §2): on the peer port the larger of the largest
   Node frame and max_payload. n is at most the manifest's node count, in
   every epoch it can name. Locally, a payload and the imsg around it. */
static void s_limits(s_net_shell_t *self, const ob_node_env_t *env)
{
    uint64_t n = ob_manifest_node_count(self->args->manifest);
    uint64_t node = 2 + OB_GENESIS_NODE_LEN + OB_DIGEST_LEN + 8 + 2 + OB_CERT_ENTRY_LEN * n;
    uint64_t payload = env->params.max_payload;
    /* libzmq checks the ZMTP frame as it arrives: under CURVE that is the
       MESSAGE command around the frame (33 bytes more), not the frame. */
    self->oversized_limit_peer = (node > payload ? node : payload) + S_CURVE_OVERHEAD;
    self->oversized_limit_local = payload + S_LOCAL_ENVELOPE + S_CURVE_OVERHEAD;
    uint64_t peers = n > 1 ? n - 1 : 1;
    uint64_t hwm = S_PEER_QUEUE_BYTES / peers / (node + payload + S_CURVE_OVERHEAD);
    self->peer_hwm = (int)(hwm < S_PEER_HWM_MIN   ? S_PEER_HWM_MIN
                           : hwm > S_PEER_HWM_MAX ? S_PEER_HWM_MAX
                                                  : hwm);
    /* An eighth of the budget for messages without a payload: a Lock
       alone is at most a node's size. */
    hwm = S_PEER_QUEUE_BYTES / 8 / peers / (node + S_CURVE_OVERHEAD);
    self->small_hwm = (int)(hwm < S_PEER_HWM_MIN   ? S_PEER_HWM_MIN
                            : hwm > S_PEER_HWM_MAX ? S_PEER_HWM_MAX
                                                   : hwm);
}

/* Dead links are dropped and remade (issue 12). TCP alone never drops a
   link whose peer went silent: what was sent into a partition is
   retransmitted with a backoff that doubles (`ss` showed rto:13056
   backoff:6), so a healed link stayed dead for up to that long: 6.4 s
   after every heal of scripts/soak-net. The backoff is capped now
   (s_cap_rto), and the small link's DEALER PINGs the peer: a link that
   hears nothing back for the timeout is closed and remade (with the
   payload link), and the TTL in its PINGs has the peer's ROUTER close
   its end too. A connect whose SYN went into the partition is abandoned
   after peer_connect_timeout_ms rather than the kernel's two minutes of
   SYN retries, and attempts come at least every peer_reconnect_max_ms.
   The CURVE handshake is bounded alike: a link cut in mid-handshake would
   wait libzmq's 30 s. TCP keepalive is the backstop when heartbeats are
   off. */
static void s_link_liveness(s_net_shell_t *self, zsock_t *sock, bool dealer, bool heartbeat)
{
    const ob_node_config_t *config = self->args->config;
    int timeout = (int)config->peer_heartbeat_timeout_ms;
    zsock_set_tcp_keepalive(sock, 1);
    zsock_set_tcp_keepalive_idle(sock, timeout >= 2000 ? timeout / 1000 : 1);
    zsock_set_tcp_keepalive_intvl(sock, 1);
    zsock_set_tcp_keepalive_cnt(sock, 3);
    /* Twice the timeout: a handshake slowed by loss must still finish. */
    zsock_set_handshake_ivl(sock, 2 * timeout);
    if (!dealer)
        return;
    if (heartbeat && config->peer_heartbeat_ms > 0) {
        zsock_set_heartbeat_ivl(sock, (int)config->peer_heartbeat_ms);
        zsock_set_heartbeat_timeout(sock, timeout);
        /* ZMTP carries the TTL in deciseconds, at most 6553.5 s. */
        zsock_set_heartbeat_ttl(sock, timeout < 6553500 ? timeout : 6553500);
    }
    zsock_set_connect_timeout(sock, (int)config->peer_connect_timeout_ms);
    zsock_set_reconnect_ivl(sock, OB_PEER_RECONNECT_MS);
    zsock_set_reconnect_ivl_max(sock, (int)config->peer_reconnect_max_ms);
}

/* One of the two DEALERs to peer `p` (the manifest's node `index`), a
   CURVE client that knows its server key, watched by a monitor. */
static int s_peer_socket(s_net_shell_t *self, s_peer_t *p, size_t index, zsock_t **sock,
                         zsock_t **monitor, int hwm, ob_why_t *why)
{
    *sock = zsock_new(ZMQ_DEALER);
    if (!*sock)
        return ob_why(why, "cannot make a socket for peer %s", p->name);
    zcert_apply(self->cert, *sock);
    zsock_set_curve_serverkey(*sock, p->curve_key);
    zsock_set_sndhwm(*sock, hwm);
    zsock_set_linger(*sock, 0);
    /* Nothing queues for a peer that is not connected: what it misses,
       rebroadcast brings; a backlog would only arrive stale. */
    zsock_set_immediate(*sock, 1);
    s_link_liveness(self, *sock, true, sock == &p->small);
    char monitor_ep[128];
    snprintf(monitor_ep, sizeof monitor_ep, "inproc://obcast-net-monitor-%s-%zu%s",
             self->args->config->name, index, sock == &p->small ? "-small" : "");
    if (zmq_socket_monitor(
            zsock_resolve(*sock), monitor_ep,
            ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0) {
        *monitor = zsock_new_pair(monitor_ep);
        if (*monitor && ob_shell_watch(self->shell, *monitor) != 0)
            return ob_why(why, "peer %s: cannot watch its connection's events", p->name);
    }
    return 0;
}

static int s_setup_peers(s_net_shell_t *self, const ob_manifest_node_t *me, ob_why_t *why)
{
    const ob_manifest_t *manifest = self->args->manifest;
    const ob_node_config_t *config = self->args->config;
    self->zap = ob_zap_new(why);
    if (!self->zap || s_allow(self, why) != 0)
        return -1;

    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router)
        return ob_why(why, "cannot make the peer socket");
    if (ob_zap_enforce(self->router, S_DOMAIN_PEERS, why) != 0)
        return -1;
    zcert_apply(self->cert, self->router);
    zsock_set_curve_server(self->router, 1);
    zsock_set_maxmsgsize(self->router, (int)self->oversized_limit_peer);
    zsock_set_rcvhwm(self->router, self->peer_hwm);
    zsock_set_sndhwm(self->router, self->peer_hwm);
    zsock_set_linger(self->router, 0);
    s_link_liveness(self, self->router, false, false);
    if (zsock_bind(self->router, "%s", config->peer_bind) < 0)
        return ob_why(why, "peer_bind %s: cannot bind: %s", config->peer_bind,
                      zmq_strerror(zmq_errno()));

    for (size_t i = 0; i < ob_manifest_node_count(manifest); i++) {
        const ob_manifest_node_t *n = ob_manifest_node(manifest, i);
        if (n == me)
            continue;
        if (self->peer_count == S_MAX_PEERS)
            return ob_why(why, "manifest %s: more than %d peers", config->manifest, S_MAX_PEERS);
        s_peer_t *p = &self->peers[self->peer_count++];
        snprintf(p->name, sizeof p->name, "%s", n->name);
        memcpy(p->key, n->key, 32);
        snprintf(p->curve_key, sizeof p->curve_key, "%s", n->curve_key);
        snprintf(p->endpoint, sizeof p->endpoint, "%s", n->endpoint);
        p->down_since = ob_shell_now_ms();
        p->fd = -1;
        p->small_fd = -1;
        if (s_peer_socket(self, p, i, &p->dealer, &p->monitor, self->peer_hwm, why) != 0 ||
            s_peer_socket(self, p, i, &p->small, &p->small_monitor, self->small_hwm, why) != 0)
            return -1;
        if (zsock_connect(p->dealer, "%s", n->endpoint) != 0 ||
            zsock_connect(p->small, "%s", n->endpoint) != 0)
            return ob_why(why, "manifest %s: node %s: cannot connect to endpoint %s: %s",
                          config->manifest, n->name, n->endpoint, zmq_strerror(zmq_errno()));
    }
    return 0;
}

/* --- peers in and out ------------------------------------------------------- */

static s_peer_t *s_peer_by_key(s_net_shell_t *self, const uint8_t key[32])
{
    for (size_t i = 0; i < self->peer_count; i++)
        if (memcmp(self->peers[i].key, key, 32) == 0)
            return &self->peers[i];
    return NULL;
}

static s_peer_t *s_peer_by_curve(s_net_shell_t *self, const char *z85)
{
    for (size_t i = 0; i < self->peer_count; i++)
        if (streq(self->peers[i].curve_key, z85))
            return &self->peers[i];
    return NULL;
}

/* Reads one multipart message: up to `max` frames kept, the rest dropped.
   Returns the number of frames read in total, 0 if none. If `guard`, the
   message's bytes are counted for the connection they came from. */
static size_t s_recv_parts_guarded(zsock_t *sock, zmq_msg_t *parts, size_t max, s_guard_t *guard)
{
    void *handle = zsock_resolve(sock);
    size_t count = 0;
    bool more = true;
    uint64_t bytes = 0;
    int fd = -1;
    while (more) {
        zmq_msg_t scratch;
        zmq_msg_init(&scratch);
        zmq_msg_t *m = &scratch;
        if (count < max) {
            m = &parts[count];
            zmq_msg_init(m);
        }
        if (zmq_msg_recv(m, handle, ZMQ_DONTWAIT) < 0) {
            if (m != &scratch)
                zmq_msg_close(m);
            zmq_msg_close(&scratch);
            break;
        }
        more = zmq_msg_more(m);
        bytes += zmq_msg_size(m) + S_CURVE_OVERHEAD;
        if (fd < 0)
            fd = zmq_msg_get(m, ZMQ_SRCFD);
        zmq_msg_close(&scratch);
        count++;
    }
    if (guard && count > 0)
        s_guard_delivered(guard, fd, bytes);
    return count;
}

static size_t s_recv_parts(zsock_t *sock, zmq_msg_t *parts, size_t max)
{
    return s_recv_parts_guarded(sock, parts, max, NULL);
}

static void s_close_parts(zmq_msg_t *parts, size_t count, size_t max)
{
    for (size_t i = 0; i < count && i < max; i++)
        zmq_msg_close(&parts[i]);
}

static void s_on_peer_message(s_net_shell_t *self, uint64_t now, ob_outbox_t *out)
{
    (void)now;
    zmq_msg_t parts[S_MAX_FRAMES + 1];
    size_t count = s_recv_parts_guarded(self->router, parts, S_MAX_FRAMES + 1, &self->guards[0]);
    if (count == 0)
        return;
    /* parts[0] is the routing id; the sender is known by its CURVE key. */
    const char *user = count >= 2 ? zmq_msg_gets(&parts[1], "User-Id") : NULL;
    s_peer_t *peer = user ? s_peer_by_curve(self, user) : NULL;
    if (!peer) {
        self->unknown_sender++;
        ob_debug("net: a message from an unknown CURVE key %s dropped", user ? user : "(none)");
    } else if (count > S_MAX_FRAMES) {
        peer->received++;
        self->malformed_frames++;
        ob_net_on_peer(self->net, peer->key, NULL, 0, out); /* counted as short */
    } else {
        peer->received++;
        ob_frame_t frames[S_MAX_FRAMES];
        for (size_t i = 1; i < count; i++)
            frames[i - 1] = (ob_frame_t){zmq_msg_data(&parts[i]), zmq_msg_size(&parts[i])};
        if (count == 3)
            self->peer_payload_bytes_in += frames[1].len;
        ob_net_on_peer(self->net, peer->key, frames, count - 1, out);
    }
    s_close_parts(parts, count, S_MAX_FRAMES + 1);
}

/* Linux 6.15's TCP_RTO_MAX_MS (linux/tcp.h, which clashes with glibc's
   header), from 1000 to 120000. */
#define S_TCP_RTO_MAX_MS 44
/* ...and TCP_RTO_MIN_US, from 5000 to 200000 (rounded up to jiffies). */
#define S_TCP_RTO_MIN_US 45

/* The retransmission backoff of a peer connection stops at
   peer_rto_max_ms (issue 12). Heartbeats drop a link that stays silent,
   but under heavy loss a live link's backoff is the stall: at 30% loss
   each way a retransmission and its ACK both arrive about half the time,
   so six losses in a row (one in fifty) waited 12.6 s, and a chain went
   41.9 s without a Lock in a minute of it. Capped, a lost segment is
   sent again at least every second, as rebroadcast would. On an older
   kernel the option is refused and the backoff is TCP's. `fd` comes from
   libzmq's monitor and may be closed since: a failure costs nothing. */
static void s_cap_rto(s_net_shell_t *self, int fd)
{
    if (fd < 0)
        return;
    /* The first retransmission comes after the RTO TCP measured, but never
       sooner than this floor: the kernel's 200 ms made each loss that fast
       retransmit could not mend cost 200 ms and more. A link at 10% loss
       moved 3.9 MB/s with it and 68.7 MB/s with 10 ms (scripts/soak-net's
       namespaces, one TCP stream); on a long path the measured RTT is
       above the floor anyway. */
    int floor_us = (int)self->args->config->peer_rto_min_ms * 1000;
    if (floor_us > 0) {
        if (setsockopt(fd, IPPROTO_TCP, S_TCP_RTO_MIN_US, &floor_us, sizeof floor_us) == 0)
            self->rto_floored++;
        else
            self->rto_unfloored++;
    }
    int ms = (int)self->args->config->peer_rto_max_ms;
    if (ms == 0)
        return;
    if (setsockopt(fd, IPPROTO_TCP, S_TCP_RTO_MAX_MS, &ms, sizeof ms) == 0) {
        self->rto_capped++;
        return;
    }
    self->rto_uncapped++;
    if (errno == ENOPROTOOPT && !self->rto_refused_logged) {
        ob_info("net: this kernel has no TCP_RTO_MAX_MS (Linux 6.15): peer links back off as "
                "TCP does");
        self->rto_refused_logged = true;
    }
}

static void s_on_monitor(s_net_shell_t *self, zsock_t *sock)
{
    s_peer_t *peer = NULL;
    bool small = false;
    for (size_t i = 0; i < self->peer_count && !peer; i++)
        if (self->peers[i].monitor == sock || self->peers[i].small_monitor == sock) {
            peer = &self->peers[i];
            small = peer->small_monitor == sock;
        }
    zmq_msg_t parts[2];
    size_t count = s_recv_parts(sock, parts, 2);
    if (count < 1 || !peer) {
        s_close_parts(parts, count, 2);
        return;
    }
    uint16_t event = 0;
    int32_t fd = -1;
    if (zmq_msg_size(&parts[0]) >= 6) {
        memcpy(&event, zmq_msg_data(&parts[0]), 2);
        memcpy(&fd, (const uint8_t *)zmq_msg_data(&parts[0]) + 2, 4);
    }
    int *link_fd = small ? &peer->small_fd : &peer->fd;
    if (event == ZMQ_EVENT_CONNECTED) {
        s_cap_rto(self, fd);
        *link_fd = fd;
    } else if (event == ZMQ_EVENT_DISCONNECTED && fd == *link_fd)
        *link_fd = -1;
    if (small) {
        /* The small link's heartbeat is the peer's: the payload link's
           PINGs would queue behind its payloads, and time out on a link
           that is slow, not dead. So a small link that died takes the
           payload link down with it, to be remade too. The payload link
           otherwise speaks for the peer. */
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            peer->small_connected = true;
        else if (event != ZMQ_EVENT_CONNECTED)
            peer->small_connected = false;
        if (event == ZMQ_EVENT_DISCONNECTED && peer->fd >= 0)
            shutdown(peer->fd, SHUT_RDWR);
        s_close_parts(parts, count, 2);
        return;
    }
    /* libzmq's own events of the link, as `peer` events (SPEC §6). */
    const char *what = event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED ? "connected"
                       : event == ZMQ_EVENT_DISCONNECTED      ? "disconnected"
                       : event == ZMQ_EVENT_CONNECTED         ? "tcp_connected"
                                                              : "handshake_failed";
    json_t *json =
        json_pack("{s:s, s:s, s:s, s:s, s:i}", "node", self->args->config->name, "peer", peer->name,
                  "endpoint", peer->endpoint, "event", what, "zmq_event", (int)event);
    ob_shell_publish_event(self->shell, "peer", &json);
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        if (!peer->connected)
            ob_info("net: peer %s (%s) connected", peer->name, peer->endpoint);
        peer->connected = true;
        peer->retry_logged = false;
        break;

    case ZMQ_EVENT_DISCONNECTED:
        if (peer->connected)
            ob_warn("net: peer %s (%s) disconnected; retrying", peer->name, peer->endpoint);
        if (peer->connected)
            peer->down_since = ob_shell_now_ms();
        peer->connected = false;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        ob_warn("net: peer %s (%s) refused our CURVE handshake; retrying", peer->name,
                peer->endpoint);
        peer->connected = false;
        break;
    default:
        break;
    }
    s_close_parts(parts, count, 2);
}

/* FNV-1a: which message a link carried last, not a defence. */
static uint64_t s_hash(const uint8_t *bytes, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ bytes[i]) * 1099511628211ull;
    return h;
}

/* Whether a repeat of the link's last message with a payload would only
   queue behind the copy before it (issue 12). Rebroadcast resends an
   uncertified tip every second, to recover a copy that was lost; a copy
   still in the TCP connection (unsent or unacknowledged: SIOCOUTQ) is
   not lost, but slow. At 30% loss a link moved about 55 KB/s, so each
   100 KB tip queued two more behind it every second, its send queue grew
   past a megabyte of stale copies, and chains went 35 s without a Lock.
   A link that dropped has a new connection, and an empty queue. */
static bool s_copy_queued(s_peer_t *peer, const uint8_t *bytes, size_t len, uint32_t payload_len)
{
    uint64_t h = s_hash(bytes, len);
    bool repeat = h == peer->last_payload_msg;
    peer->last_payload_msg = h;
    int queued = 0;
    return repeat && peer->fd >= 0 && ioctl(peer->fd, SIOCOUTQ, &queued) == 0 &&
           (uint32_t)queued >= payload_len;
}

/* Whether a link's TCP connection is recovering from loss: retransmitting
   (TCP_INFO's Recovery or Loss state) or backed off after a timeout. Each
   link is one TCP stream, and under heavy loss one stream has a heavy
   tail: a segment and its ACK both arrive about half the time at 30% loss
   each way, so a stream spends seconds in recovery now and then while
   its neighbour runs, and everything queued in it waits (a chain went 24 s
   without a Lock). A fd libzmq closed since reads as recovering. */
static bool s_tcp_recovering(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
        return true;
    return info.tcpi_ca_state == TCP_CA_Recovery || info.tcpi_ca_state == TCP_CA_Loss ||
           info.tcpi_backoff > 0;
}

#define S_LINK_STATE_MS 5

static bool s_link_recovering(s_peer_t *peer, bool payload_link)
{
    int i = payload_link ? 0 : 1;
    uint64_t now = ob_shell_now_ms(); /* monotonic ms: the first ask reads TCP_INFO */
    if (now >= peer->recovering_at[i] + S_LINK_STATE_MS) {
        peer->recovering[i] = s_tcp_recovering(payload_link ? peer->fd : peer->small_fd);
        peer->recovering_at[i] = now;
    }
    return peer->recovering[i];
}

/* Whether a link can take a message from its neighbour: not recovering,
   and, for a message with a payload, nothing in its send queue, so that
   the small link carries at most one burst of payloads beyond what it
   flushed (its queue bound, small_hwm, counts messages sized for acks). */
static bool s_link_takes(s_peer_t *peer, bool payload_link, bool payload)
{
    int queued = 0;
    if (s_link_recovering(peer, payload_link))
        return false;
    int fd = payload_link ? peer->fd : peer->small_fd;
    return !payload || (ioctl(fd, SIOCOUTQ, &queued) == 0 && queued == 0);
}

typedef enum { S_LINK_OWN, S_LINK_OTHER, S_LINK_NONE } s_link_choice_t;

/* Which of the peer's two links carries a message (issue 12): its own
   (the payload link for a message with a payload, else the small one),
   unless that one is recovering from loss and the other is not, so that a
   chain's next message is not held up by one stream's bad moment. A
   repeat whose copy before it is still queued goes by the other link or
   not at all (s_copy_queued). A Fetched answer is catching up, not live
   traffic: it is never moved, and while its own link recovers it is
   not sent at all (the asker asks again after fetch_retry_ms), since
   behind a few of them (a chunk's payload each) that link's own chunks
   waited seconds more. Messages may arrive out of order across the two
   links; nothing in the protocol depends on their order. */
static s_link_choice_t s_pick_link(s_peer_t *peer, const ob_envelope_t *e, const uint8_t *bytes)
{
    bool own_payload_link = e->has_payload;
    if (e->len > 0 && bytes[0] == OB_PEER_TYPE_FETCHED) {
        if (!s_link_recovering(peer, own_payload_link))
            return S_LINK_OWN;
        peer->fetched_deferred++;
        return S_LINK_NONE;
    }
    if (e->has_payload && s_copy_queued(peer, bytes, e->len, e->payload.len)) {
        if (s_link_takes(peer, false, true)) {
            peer->sent_other_link++;
            return S_LINK_OTHER;
        }
        peer->copies_held_back++;
        return S_LINK_NONE;
    }
    if (s_link_recovering(peer, own_payload_link) &&
        s_link_takes(peer, !own_payload_link, e->has_payload)) {
        peer->sent_other_link++;
        return S_LINK_OTHER;
    }
    return S_LINK_OWN;
}

static void s_send_peer(s_net_shell_t *self, const ob_envelope_t *e, const uint8_t *bytes)
{
    s_peer_t *peer = s_peer_by_key(self, e->peer);
    if (!peer)
        return;
    s_link_choice_t link = s_pick_link(peer, e, bytes);
    if (link == S_LINK_NONE)
        return;
    bool by_payload_link = e->has_payload == (link == S_LINK_OWN);
    void *handle = zsock_resolve(by_payload_link ? peer->dealer : peer->small);
    const uint8_t *payload = NULL;
    if (e->has_payload) {
        payload = ob_arena_get(self->arena, &e->payload);
        if (!payload) { /* the slot went stale: rebroadcast resends */
            peer->send_dropped++;
            return;
        }
    }
    if (zmq_send(handle, bytes, e->len, ZMQ_DONTWAIT | (payload ? ZMQ_SNDMORE : 0)) < 0) {
        peer->send_dropped++;
        return;
    }
    /* A multipart message is queued whole once its first part is. */
    if (payload) {
        /* From the slot itself, not a copy (SPEC §9), unless too many
           slots are held by messages already (a slow peer's queue). */
        zmq_msg_t part;
        if (ob_pins_msg(self->pins, &e->payload, &part) == 0) {
            if (zmq_msg_send(&part, handle, ZMQ_DONTWAIT) < 0)
                zmq_msg_close(&part);
        } else {
            zmq_send(handle, payload, e->payload.len, ZMQ_DONTWAIT);
            self->peer_payload_bytes_out += e->payload.len;
        }
    }
    peer->sent++;
}

static void s_send_external(void *h, const ob_envelope_t *e, const uint8_t *bytes)
{
    s_net_shell_t *self = h;
    switch (e->kind) {
    case OB_DEST_PEER:
        s_send_peer(self, e, bytes);
        return;
    case OB_DEST_APP:
        if (self->app_id_len == 0 || !ob_net_app_attached(self->net))
            return;
        if (zmq_send(zsock_resolve(self->app), self->app_id, self->app_id_len,
                     ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0 &&
            zmq_send(zsock_resolve(self->app), bytes, e->len, ZMQ_DONTWAIT) >= 0)
            self->local_bytes_out += e->len;
        return;
    case OB_DEST_CLIENT:
        if (zmq_send(zsock_resolve(self->submit), e->client.id, e->client.len,
                     ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0 &&
            zmq_send(zsock_resolve(self->submit), bytes, e->len, ZMQ_DONTWAIT) >= 0)
            self->local_bytes_out += e->len;
        return;
    case OB_DEST_ACTOR:
        return; /* the shell's own */
    }
}

/* --- the application and clients ---------------------------------------------- */

/* Who sent `msg` on the application socket: what its connection proved,
   never what it wrote. On TCP its CURVE key (the User-Id our ZAP handler
   gave it); on ipc libzmq's Peer-Address, which holds the SO_PEERCRED
   uid, gid and pid of the connecting process. */
static const char *s_app_who(s_net_shell_t *self, zmq_msg_t *msg)
{
    const char *endpoint = self->args->config->app_endpoint;
    if (strncmp(endpoint, "inproc://", 9) == 0)
        return "inproc"; /* a thread of this very process, trusted as it is */
    return zmq_msg_gets(msg, strncmp(endpoint, "tcp://", 6) == 0 ? "User-Id" : "Peer-Address");
}

static void s_on_app(s_net_shell_t *self, uint64_t now, ob_outbox_t *out)
{
    zmq_msg_t parts[3];
    size_t count = s_recv_parts_guarded(self->app, parts, 3, &self->guards[1]);
    if (count == 2 && zmq_msg_size(&parts[0]) <= sizeof self->app_id) {
        const char *who = s_app_who(self, &parts[1]);
        self->local_bytes_in += zmq_msg_size(&parts[1]);
        ob_net_on_app(self->net, now, who, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), out);
        /* Answers go to the connection of the attached application (its
           routing id: a reconnect with the same credentials moves it). */
        if (ob_net_app_is(self->net, who)) {
            self->app_id_len = zmq_msg_size(&parts[0]);
            memcpy(self->app_id, zmq_msg_data(&parts[0]), self->app_id_len);
            self->app_fd = zmq_msg_get(&parts[1], ZMQ_SRCFD);
        }
    } else if (count > 0) {
        self->malformed_frames++;
    }
    s_close_parts(parts, count, 3);
}

/* The app socket's connection events (one monitor per socket: the
   guard's): the attached application's connection closing detaches it
   at once. */
static void s_on_app_event(s_net_shell_t *self)
{
    int fd;
    if (s_guard_on_event(&self->guards[1], &fd) == ZMQ_EVENT_DISCONNECTED && fd >= 0 &&
        fd == self->app_fd) {
        ob_net_app_closed(self->net);
        self->app_fd = -1;
        self->app_id_len = 0;
    }
}

/* Backpressure on the submit socket: each submit holds an arena slot
   until the journal takes it (within its next batch), so clients may use
   at most half the arena, the rest stays for peers' payloads. Paused
   mid-batch too: the shell reads no further submit once it is paused;
   what waits stays queued in libzmq and the clients wait, never refused
   for it. */
static void s_submit_backpressure(s_net_shell_t *self)
{
    uint32_t slots = ob_arena_slot_count(self->arena);
    uint32_t free_slots = slots - ob_arena_in_use(self->arena);
    uint32_t keep = slots / 2 > S_ARENA_MARGIN ? slots / 2 : S_ARENA_MARGIN;
    bool pause = free_slots < keep;
    if (pause == self->submit_paused || !self->submit)
        return;
    self->submit_paused = pause;
    ob_shell_pause(self->shell, self->submit, pause);
    if (pause)
        ob_debug("net: half the payload arena holds submits; reading the submit socket paused");
}

static void s_on_client(s_net_shell_t *self, ob_outbox_t *out)
{
    zmq_msg_t parts[3];
    size_t count = s_recv_parts_guarded(self->submit, parts, 3, &self->guards[2]);
    if (count == 2 && zmq_msg_size(&parts[0]) >= 1 && zmq_msg_size(&parts[0]) <= OB_CLIENT_ID_MAX) {
        ob_client_id_t client = {.len = (uint8_t)zmq_msg_size(&parts[0])};
        memcpy(client.id, zmq_msg_data(&parts[0]), client.len);
        self->local_bytes_in += zmq_msg_size(&parts[1]);
        ob_net_on_client(self->net, &client, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), out);
    } else if (count > 0) {
        self->malformed_frames++;
    }
    s_close_parts(parts, count, 3);
    s_submit_backpressure(self);
}

/* --- the loop's callbacks ---------------------------------------------------- */

static void s_handle(void *h, uint64_t now, ob_party_t from, const ob_imsg_t *msg, ob_outbox_t *out)
{
    (void)now;
    ob_net_handle(((s_net_shell_t *)h)->net, from, msg, out);
}

/* A peer not reached for this long is reported unreachable (once per
   outage); ZeroMQ keeps retrying it. */
#define S_UNREACHABLE_MS 2000

/* Slots held by messages in flight renew their lease this often: far
   within the supervisor's lease (30 s), after which a slot counts as lost. */
#define S_RENEW_MS 1000

static uint64_t s_next_deadline(void *h)
{
    return ((s_net_shell_t *)h)->next_guard_ms;
}

static void s_tick(void *h, uint64_t now, ob_outbox_t *out)
{
    s_net_shell_t *self = h;
    /* While the arena is full we read no peer on purpose: what waits then
       is whole messages, not a message that never ends. */
    if (!self->peers_paused)
        s_guard_check(&self->guards[0], now);
    s_guard_check(&self->guards[1], now);
    s_guard_check(&self->guards[2], now);
    self->next_guard_ms = now + S_GUARD_MS;
    if (now >= self->next_renew_ms) {
        ob_pins_renew(self->pins);
        self->next_renew_ms = now + S_RENEW_MS;
    }
    ob_net_tick(self->net, now, out);
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers[i];
        if (peer->connected || peer->retry_logged || now - peer->down_since < S_UNREACHABLE_MS)
            continue;
        ob_warn("net: peer %s unreachable at %s; retrying", peer->name, peer->endpoint);
        peer->retry_logged = true;
    }
}

static void s_readable(void *h, zsock_t *sock, uint64_t now, ob_outbox_t *out)
{
    s_net_shell_t *self = h;
    if (sock == self->router)
        s_on_peer_message(self, now, out);
    else if (sock == self->app)
        s_on_app(self, now, out);
    else if (sock == self->guards[1].monitor)
        s_on_app_event(self);
    else if (sock == self->guards[0].monitor) {
        int fd;
        /* The peer's end of the link sends PONGs: capped too. */
        if (s_guard_on_event(&self->guards[0], &fd) == ZMQ_EVENT_ACCEPTED)
            s_cap_rto(self, fd);
    } else if (sock == self->guards[2].monitor) {
        int fd;
        s_guard_on_event(&self->guards[2], &fd);
    } else if (sock == self->submit)
        s_on_client(self, out);
    else
        s_on_monitor(self, sock);
}

/* Counters by error name, those not zero. */
static void s_json_by_error(ob_json_t *json, const char *name,
                            const uint64_t counters[OB_ERROR_COUNT])
{
    ob_json_object(json, name);
    for (int e = 0; e < OB_ERROR_COUNT; e++)
        if (counters[e])
            ob_json_u64(json, ob_error_name((ob_error_t)e), counters[e]);
    ob_json_end(json);
}

static void s_metrics(void *h, ob_json_t *json)
{
    s_net_shell_t *self = h;
    const ob_net_stats_t *st = ob_net_stats(self->net);
    ob_json_u64(json, "peer_nodes_in", st->peer_nodes_in);
    ob_json_u64(json, "peer_acks_in", st->peer_acks_in);
    ob_json_u64(json, "peer_fetch_in", st->peer_fetch_in);
    ob_json_u64(json, "peer_fetched_in", st->peer_fetched_in);
    /* SPEC §8: fetches asked, answered and received, by outcome */
    ob_json_object(json, "fetch");
    ob_json_u64(json, "passed", st->fetch_passed); /* to the journal, to answer */
    ob_json_u64(json, "trimmed", st->fetch_trimmed);
    ob_json_u64(json, "sent", st->fetch_sent);
    ob_json_u64(json, "asks_forgotten", st->asks_forgotten);
    ob_json_object(json, "answers");
    ob_json_u64(json, "sent", st->answers_sent);
    ob_json_u64(json, "bytes_out", st->answers_bytes_out);
    ob_json_u64(json, "stale", st->answers_stale);
    ob_json_end(json);
    ob_json_object(json, "fetched");
    ob_json_u64(json, "asked", st->fetched_asked);
    ob_json_u64(json, "unasked", st->fetched_unasked);
    ob_json_u64(json, "bytes_in", st->fetched_bytes_in);
    ob_json_end(json);
    ob_json_object(json, "arena_quota"); /* answers and fetched payloads: a quarter */
    ob_json_u64(json, "full", st->fetch_quota_full);
    ob_json_u64(json, "slots", ob_net_fetch_slots(self->net));
    ob_json_u64(json, "max", ob_net_fetch_slot_quota(self->net));
    ob_json_end(json);
    ob_json_end(json);
    s_json_by_error(json, "blocks", st->blocks); /* SPEC §8: peers blocked, by reason */
    ob_json_u64(json, "peer_out", st->peer_out);
    ob_json_u64(json, "unknown_sender", self->unknown_sender);
    ob_json_u64(json, "malformed_frames", self->malformed_frames);
    ob_json_object(json, "peer_rto_max"); /* peer connections whose backoff is capped */
    ob_json_u64(json, "capped", self->rto_capped);
    ob_json_u64(json, "refused", self->rto_uncapped);
    ob_json_end(json);
    ob_json_object(json, "peer_rto_min"); /* ...and whose first retransmission is floored */
    ob_json_u64(json, "floored", self->rto_floored);
    ob_json_u64(json, "refused", self->rto_unfloored);
    ob_json_end(json);
    ob_json_u64(json, "arena_full", st->arena_full);
    ob_json_u64(json, "arena_in_use", ob_arena_in_use(self->arena)); /* a queue depth */
    ob_json_u64(json, "payload_zero_copy", ob_pins_zero_copy(self->pins));
    ob_json_u64(json, "payload_zero_copy_refused", ob_pins_refused(self->pins));
    ob_json_u64(json, "payload_slots_pinned", ob_pins_pinned(self->pins));
    ob_json_object(json, "payload_bytes"); /* each one copy of payload bytes */
    ob_json_u64(json, "peer_in", self->peer_payload_bytes_in);
    ob_json_u64(json, "peer_out", self->peer_payload_bytes_out);
    ob_json_u64(json, "local_in", self->local_bytes_in);
    ob_json_u64(json, "local_out", self->local_bytes_out);
    ob_json_u64(json, "arena_put", ob_arena_bytes_put(self->arena));
    ob_json_u64(json, "arena_trimmed", ob_arena_bytes_trimmed(self->arena));
    ob_json_end(json);
    ob_json_u64(json, "submitted", st->submitted);
    ob_json_u64(json, "submit_refused", st->submit_refused);
    ob_json_u64(json, "submit_follow", st->submit_follow);
    ob_json_u64(json, "clients_known", st->clients_known);
    ob_json_u64(json, "clients_told", st->clients_told);
    ob_json_u64(json, "journal_starts", st->journal_starts);
    ob_json_u64(json, "submit_assigned", st->submit_assigned);
    ob_json_u64(json, "submit_locked", st->submit_locked);
    ob_json_u64(json, "proposals_answered", st->proposals_answered);
    ob_json_object(json, "fetch_on_request"); /* obcast fetch, libobcast-client, app_fetch */
    ob_json_u64(json, "requests_client", st->fetch_requests_client);
    ob_json_u64(json, "requests_app", st->fetch_requests_app);
    ob_json_u64(json, "malformed", st->fetch_malformed);
    ob_json_u64(json, "unanswerable", st->fetch_unanswerable);
    ob_json_u64(json, "found", st->fetch_found_sent);
    ob_json_object(json, "failed");
    for (int status = OB_FETCH_NOT_FOUND; status <= OB_FETCH_MALFORMED; status++)
        ob_json_u64(json, ob_fetch_status_name(status), st->fetch_failed_sent[status]);
    ob_json_end(json);
    ob_json_u64(json, "answers_broken", st->fetch_answers_broken);
    ob_json_u64(json, "undeliverable", st->fetch_undeliverable);
    ob_json_end(json);
    ob_json_u64(json, "app_attached", ob_net_app_attached(self->net));
    ob_json_str(json, "application", ob_net_application_name(ob_net_application(self->net)));
    ob_json_u64(json, "application_external", ob_net_application(self->net) == OB_NET_APP_EXTERNAL);
    ob_json_u64(json, "app_foreign", st->app_foreign);
    ob_json_u64(json, "app_refused", st->app_refused);
    ob_json_u64(json, "app_verdicts_owed", st->app_verdicts_owed);
    ob_json_u64(json, "max_frame_peer", self->oversized_limit_peer);
    ob_json_u64(json, "peer_hwm", (uint64_t)self->peer_hwm);
    ob_json_object(json, "connections_cut"); /* by the guard: a message without end */
    ob_json_u64(json, "peer", self->guards[0].cut);
    ob_json_u64(json, "app", self->guards[1].cut);
    ob_json_u64(json, "submit", self->guards[2].cut);
    ob_json_end(json);
    ob_json_u64(json, "max_frame_local", self->oversized_limit_local);
    {
        ob_zap_stats_t zap = ob_zap_stats(self->zap);
        ob_json_object(json, "zap");
        ob_json_u64(json, "allowed", zap.allowed);
        ob_json_u64(json, "denied", zap.denied);
        ob_json_end(json);
    }
    ob_json_object(json, "peers");
    for (size_t i = 0; i < self->peer_count; i++) {
        const s_peer_t *p = &self->peers[i];
        ob_json_object(json, p->name);
        /* both links: what the peer is sent depends on both */
        ob_json_u64(json, "connected", p->connected && p->small_connected);
        ob_json_u64(json, "sent", p->sent);
        ob_json_u64(json, "send_dropped", p->send_dropped);
        ob_json_u64(json, "copies_held_back", p->copies_held_back);
        ob_json_u64(json, "sent_other_link", p->sent_other_link);
        ob_json_u64(json, "fetched_deferred", p->fetched_deferred);
        ob_json_u64(json, "received", p->received);
        ob_error_t reason = OB_OK;
        uint64_t until_ms = 0;
        bool blocked = ob_net_peer_blocked(self->net, p->key, &reason, &until_ms);
        ob_json_u64(json, "blocked", blocked);
        if (blocked) {
            ob_json_str(json, "blocked_reason", ob_error_name(reason));
            ob_json_u64(json, "blocked_until_ms", until_ms);
        }
        ob_json_end(json);
    }
    ob_json_end(json);
    s_json_by_error(json, "drops", st->dropped);
}

/* A block started: a "block" event naming the peer (SPEC §3 Blocking). */
static void s_on_block(void *ctx, const uint8_t peer[32], ob_error_t reason, uint64_t until_ms)
{
    s_net_shell_t *self = ctx;
    const char *name = NULL;
    for (size_t i = 0; i < self->peer_count && !name; i++)
        if (memcmp(self->peers[i].key, peer, 32) == 0)
            name = self->peers[i].name;
    char hex[65];
    if (!name) {
        ob_hex_encode(peer, 32, hex);
        name = hex;
    }
    ob_warn("net: peer %s blocked (%s)", name, ob_error_name(reason));
    json_t *json = json_pack("{s:s, s:s, s:s, s:I}", "node", self->args->config->name, "peer", name,
                             "reason", ob_error_name(reason), "until_ms", (json_int_t)until_ms);
    ob_shell_publish_event(self->shell, "block", &json);
}

static void s_release_held(void *ctx, const ob_handle_t *handle)
{
    s_net_shell_t *self = ctx;
    ob_pins_release(self->pins, handle);
}

static void s_flushed(void *h)
{
    s_net_shell_t *self = h;
    ob_net_flushed(self->net);
    /* Backpressure (SPEC §4): a full arena stops reading peers; it never
       overwrites. */
    uint32_t free_slots = ob_arena_slot_count(self->arena) - ob_arena_in_use(self->arena);
    bool pause = free_slots < S_ARENA_MARGIN;
    if (pause != self->peers_paused) {
        self->peers_paused = pause;
        ob_shell_pause(self->shell, self->router, pause);
        if (pause)
            ob_warn("net: payload arena full; reading from peers paused");
    }
    s_submit_backpressure(self);
}

static void s_teardown(s_net_shell_t *self)
{
    for (size_t i = 0; i < self->peer_count; i++) {
        if (self->peers[i].dealer)
            zmq_socket_monitor(zsock_resolve(self->peers[i].dealer), NULL, 0);
        if (self->peers[i].small)
            zmq_socket_monitor(zsock_resolve(self->peers[i].small), NULL, 0);
        zsock_destroy(&self->peers[i].monitor);
        zsock_destroy(&self->peers[i].dealer);
        zsock_destroy(&self->peers[i].small_monitor);
        zsock_destroy(&self->peers[i].small);
    }
    zsock_t *guarded[3] = {self->router, self->app, self->submit};
    for (size_t i = 0; i < 3; i++) {
        if (self->guards[i].monitor && guarded[i])
            zmq_socket_monitor(zsock_resolve(guarded[i]), NULL, 0);
        zsock_destroy(&self->guards[i].monitor);
    }
    zsock_destroy(&self->router);
    zsock_destroy(&self->app);
    zsock_destroy(&self->submit);
    ob_zap_destroy(&self->zap);
    zcert_destroy(&self->cert);
    ob_shell_destroy(&self->shell);
    ob_net_destroy(&self->net);
    ob_pins_destroy(&self->pins); /* after the sockets: their messages are done */
}

int ob_net_actor_run(const ob_actor_args_t *args)
{
    ob_why_t why = {{0}};
    s_net_shell_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_error("net: out of memory");
        return 1;
    }
    self->args = args;
    self->arena = args->arena;
    ob_node_env_t env;
    const ob_manifest_node_t *me = ob_manifest_node_named(args->manifest, args->config->name);
    int rc = 1;
    if (ob_actor_env(args, &env, &why) != 0 ||
        !(self->cert = ob_actor_load_curve_cert(args->config, me, &why)))
        goto done;
    ob_arena_reclaim(args->arena, OB_ACTOR_NET);
    ob_net_config_t cfg = {.env = env,
                           .application = args->config->application == OB_APPLICATION_EXTERNAL
                                              ? OB_NET_APP_EXTERNAL
                                              : OB_NET_APP_BUILTIN};
    s_limits(self, &env);
    self->net = ob_net_new(&cfg, &why);
    /* At most a quarter of the arena held by messages to slow peers. */
    uint32_t pin_cap = ob_arena_slot_count(args->arena) / 4;
    if (!self->net ||
        !(self->pins = ob_pins_new(args->arena, OB_ACTOR_NET, pin_cap ? pin_cap : 1, &why)))
        goto done;
    ob_net_set_release(self->net, s_release_held, self);
    ob_net_set_on_block(self->net, s_on_block, self);
    self->shell = ob_shell_new(&args->endpoints, OB_ACTOR_NET, 0, args->pipe, &why);
    if (!self->shell || s_setup_peers(self, me, &why) != 0)
        goto done;
    ob_shell_set_arena(self->shell, args->arena);
    self->app = s_bind_local(self, "app_endpoint", args->config->app_endpoint, S_DOMAIN_APP, &why);
    if (!self->app)
        goto done;
    self->app_fd = -1;
    self->submit =
        s_bind_local(self, "submit_endpoint", args->config->submit_endpoint, S_DOMAIN_SUBMIT, &why);
    if (!self->submit)
        goto done;
    /* Clients keep one routing id across reconnects: a client that comes
       back while its old connection lingers takes the id over. */
    zsock_set_router_handover(self->submit, 1);
    if (ob_shell_watch(self->shell, self->router) != 0) {
        ob_why(&why, "peer_bind %s: cannot watch the peer socket", args->config->peer_bind);
        goto done;
    }
    /* A connection may hold a few whole messages and what the kernel
       buffers, never a message without end. */
    self->guards[0].heartbeat_ms = args->config->peer_heartbeat_ms;
    if (s_guard_start(self, &self->guards[0], self->router, "peer_bind",
                      4 * 2 * self->oversized_limit_peer + S_GUARD_SLACK, &why) != 0)
        goto done;
    /* The app socket's monitor serves on ipc too: its events say when
       the application's connection closes (TCP_INFO fails there, so the
       guard checks nothing). */
    if (s_guard_start(self, &self->guards[1], self->app, "app_endpoint",
                      4 * self->oversized_limit_local + S_GUARD_SLACK, &why) != 0)
        goto done;
    if (strncmp(args->config->submit_endpoint, "tcp://", 6) == 0 &&
        s_guard_start(self, &self->guards[2], self->submit, "submit_endpoint",
                      4 * self->oversized_limit_local + S_GUARD_SLACK, &why) != 0)
        goto done;
    if (ob_shell_watch(self->shell, self->app) != 0 ||
        ob_shell_watch(self->shell, self->submit) != 0) {
        ob_why(&why, "cannot watch the application and submit sockets");
        goto done;
    }
    static const ob_shell_ops_t ops = {.handle = s_handle,
                                       .tick = s_tick,
                                       .next_deadline = s_next_deadline,
                                       .send_external = s_send_external,
                                       .flushed = s_flushed,
                                       .metrics = s_metrics,
                                       .readable = s_readable};
    ob_info("net: peers on %s, %zu peers; application %s; submit %s", args->config->peer_bind,
            self->peer_count, args->config->app_endpoint, args->config->submit_endpoint);
    ob_net_start(self->net, ob_shell_outbox(self->shell));
    ob_shell_flush(self->shell, &ops, self);
    rc = ob_shell_run(self->shell, &ops, self) == 0 ? 0 : 1;
done:
    if (rc != 0 && why.text[0])
        ob_error("net: %s", why.text);
    s_teardown(self);
    free(self);
    return rc;
}

#ifndef OB_ACTOR_NO_MAIN
/* --- obcast-net peers --------------------------------------------------------- */

static int s_peers_command(const ob_actor_process_t *process)
{
    const ob_manifest_t *m = process->manifest;
    printf("%-16s %-8s %-40s %-30s %s\n", "name", "role", "curve_key", "endpoint", "obcast_key");
    for (size_t i = 0; i < ob_manifest_node_count(m); i++) {
        const ob_manifest_node_t *n = ob_manifest_node(m, i);
        char hex[65];
        for (size_t b = 0; b < 32; b++)
            snprintf(hex + 2 * b, 3, "%02x", n->key[b]);
        printf("%-16s %-8s %-40s %-30s %s\n", n->name,
               streq(n->name, process->config.name) ? "self" : "peer", n->curve_key, n->endpoint,
               hex);
    }
    return 0;
}

int main(int argc, char **argv)
{
    ob_actor_process_t process;
    int status;
    if (ob_actor_process_init(&process, argc, argv, "obcast-net",
                              "The net actor: peer links (ZeroMQ TCP, CURVE), the application "
                              "and client submit sockets.",
                              "commands (read-only):\n"
                              "  peers                the node's peers, from the manifest\n",
                              &status) != 0) {
        ob_actor_process_fini(&process);
        return status;
    }
    if (process.command_argc > 0) {
        if (streq(process.command_argv[0], "peers") && process.command_argc == 1) {
            status = s_peers_command(&process);
        } else {
            fprintf(stderr, "obcast-net: unknown command '%s' (see --help)\n",
                    process.command_argv[0]);
            status = 2;
        }
    } else {
        status = ob_net_actor_run(&process.args);
    }
    ob_actor_process_fini(&process);
    return status;
}
#endif

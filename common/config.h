/*  The cluster manifest and the per-node config (SPEC §6), in ZPL (czmq
    zconfig). Loading is strict: an unknown setting, a missing one, a bad
    value, or a reference to a node that does not exist is an error whose
    text names the file and the setting ("manifest m.zpl: epoch 2:
    validators: no node named 'n9'").

    Manifest:
        obcast
            namespace = "obcast-demo"
            max_payload = 1048576
            node
                name = "node0"
                key = "<64 hex: the obcast x-only public key>"
                endpoint = "tcp://127.0.0.1:7100"
                curve_key = "<40 Z85: the CURVE public key>"
            epoch
                number = 1
                validators = "node0 node1 node2 node3"
                sequencers = "node0 node1"

    Node config: see ob_node_config_t; relative paths are taken from the
    config file's folder. */
#ifndef OB_CONFIG_H
#define OB_CONFIG_H

#include "db.h"
#include "epochs.h"
#include "log.h"
#include "params.h"
#include "signing.h"
#include "why.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define OB_NAME_MAX          64
#define OB_ENDPOINT_MAX      256
#define OB_Z85_KEY_LEN       40
#define OB_MAX_PAYLOAD_LIMIT (64u << 20)

typedef struct {
    char name[OB_NAME_MAX];
    uint8_t key[32];
    char endpoint[OB_ENDPOINT_MAX];
    char curve_key[OB_Z85_KEY_LEN + 1];
} ob_manifest_node_t;

typedef struct _ob_manifest_t ob_manifest_t;

ob_manifest_t *ob_manifest_load(ob_crypto_t *crypto, const char *path, ob_why_t *why);
void ob_manifest_destroy(ob_manifest_t **self_p);

const ob_namespace_t *ob_manifest_namespace(const ob_manifest_t *self);
uint32_t ob_manifest_max_payload(const ob_manifest_t *self);
const ob_epochs_t *ob_manifest_epochs(const ob_manifest_t *self);
size_t ob_manifest_node_count(const ob_manifest_t *self);
const ob_manifest_node_t *ob_manifest_node(const ob_manifest_t *self, size_t i);
const ob_manifest_node_t *ob_manifest_node_named(const ob_manifest_t *self, const char *name);
const ob_manifest_node_t *ob_manifest_node_with_key(const ob_manifest_t *self,
                                                    const uint8_t key[32]);

typedef enum {
    OB_APPLICATION_BUILTIN = 0, /* the default: proposals from the submit queue */
    OB_APPLICATION_EXTERNAL
} ob_application_kind_t;

typedef struct {
    char path[PATH_MAX];    /* this config file */
    char name[OB_NAME_MAX]; /* the node's name in the manifest */
    char manifest[PATH_MAX];
    char key_file[PATH_MAX]; /* obcast secret key (keyfile.h) */
    char curve_secret_file[PATH_MAX];
    char data_dir[PATH_MAX];    /* the actors' databases */
    char runtime_dir[PATH_MAX]; /* ipc sockets, mode 0700 */
    char peer_bind[OB_ENDPOINT_MAX];
    char app_endpoint[OB_ENDPOINT_MAX];
    char submit_endpoint[OB_ENDPOINT_MAX];
    char control_endpoint[OB_ENDPOINT_MAX];
    char monitor_endpoint[OB_ENDPOINT_MAX];
    /* `GET /metrics` over HTTP (Prometheus) on this IPv4 address and port;
       metrics_http_port 0: off (the default). */
    char metrics_http_host[16];
    uint16_t metrics_http_port;
    /* Folders of CURVE public certificates (czmq zcert), one allowlist per
       socket (SPEC §4): the applications allowed on a TCP app_endpoint,
       the clients on a TCP submit_endpoint, the operators on a TCP
       control or monitor endpoint. "" when unset; a TCP endpoint needs
       its list. */
    char app_keys[PATH_MAX];
    char client_keys[PATH_MAX];
    char operator_keys[PATH_MAX];
    /* SPEC §5: an external application on app_endpoint, or the built-in
       one. Under external, a node with none attached proposes nothing and
       gives no verdicts. */
    ob_application_kind_t application;
    /* The built-in application's batches (proto/PROTOCOL.md, "Batches"):
       a proposal carries the queued payloads up to this many bytes, and
       never more than max_payload. 0 (`batch = off` or `batch_bytes = 0`):
       one payload per chunk, the payload itself. Default: max_payload. */
    uint32_t batch_bytes;
    /* A batch's chunk certified slower than this (ms, from proposal to
       certificate) shrinks the next batches' bound, down to 4 KiB, until
       chunks certify fast again (builtin_app.h). 0: the bound stays
       batch_bytes. Default OB_BATCH_SLOW_MS. */
    uint32_t batch_slow_ms;
    ob_db_sync_t journal_sync; /* durability: power (FULL) or process (NORMAL) */
    ob_params_t params;        /* max_payload comes from the manifest */
    uint32_t arena_slots;
    uint32_t verifiers;
    /* Supervision intensity (Erlang/OTP): more than max_restarts actor
       restarts within restart_window_ms stop the node. */
    uint32_t max_restarts;
    uint64_t restart_window_ms;
    ob_log_level_t log_level;
    /* Peer links (actors/net/main.c). A link that hears nothing, not even
       a heartbeat, for peer_heartbeat_timeout_ms is dropped and remade:
       left to TCP, a link that outlived a partition waits out the
       retransmission backoff (doubling to minutes) after the heal. */
    uint32_t peer_heartbeat_ms; /* a ZMTP PING this often; 0: no heartbeats */
    uint32_t peer_heartbeat_timeout_ms;
    /* One connection attempt: a SYN lost to a partition otherwise waits
       out the kernel's SYN retries (two minutes). 0: the kernel's. */
    uint32_t peer_connect_timeout_ms;
    uint32_t peer_reconnect_max_ms; /* the longest wait between attempts */
    /* TCP's retransmission backoff on a peer connection stops here (Linux
       6.15's TCP_RTO_MAX_MS, 1000 to 120000); 0: the kernel's (120 s). */
    uint32_t peer_rto_max_ms;
    /* ...and starts here (Linux 6.15's TCP_RTO_MIN_US, 5 to 200 ms); 0:
       the kernel's (200 ms). */
    uint32_t peer_rto_min_ms;
} ob_node_config_t;

/* The peer links' defaults: a healed partition resumes within about
   two rebroadcast timeouts plus one reconnect (SPEC §3 Liveness). */
#define OB_PEER_HEARTBEAT_MS         1000
#define OB_PEER_HEARTBEAT_TIMEOUT_MS 10000
#define OB_PEER_CONNECT_TIMEOUT_MS   1000
#define OB_PEER_RECONNECT_MAX_MS     500
#define OB_PEER_RTO_MAX_MS           1000
#define OB_PEER_RTO_MIN_MS           10
/* Far above what CPU saturation makes of a chunk's proposal to
   certificate (scripts/bench's p99 stays under 300 ms), well below the
   seconds that heavy loss makes of a big one. */
#define OB_BATCH_SLOW_MS 500
/* libzmq's first reconnect wait (actors/net/main.c), below which the
   longest makes no sense. */
#define OB_PEER_RECONNECT_MS 100

/* Loads a node config; unset tunables keep their SPEC §3 defaults. */
int ob_node_config_load(const char *path, ob_node_config_t *out, ob_why_t *why);

/* For a client of a node's local sockets (an application, a submitter,
   an operator): unless already set, `endpoint` gets the config's
   app_endpoint, submit_endpoint, control_endpoint or monitor_endpoint
   (`socket` is "app", "submit", "control" or "monitor"), and for a tcp
   endpoint `server_key` gets the node's CURVE key from the manifest. */
int ob_node_client_endpoint(const char *path, const char *socket, char *endpoint, char *server_key,
                            ob_why_t *why);

#endif

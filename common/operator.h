/*  The operator's end of a node's control and monitor sockets (SPEC §4,
    §6): `obcast status`, `ctl`, `tail`, `metrics` and `watch` name the
    node by its config, or by an endpoint. An ipc:// socket lives in the
    node's 0700 runtime folder; a tcp:// one is a CURVE server that admits
    only the certificates in the node's operator_keys folder, so the
    operator gives the node's public key (--server-key, or the manifest's
    curve_key through --config) and their own certificate (--curve). */
#ifndef OB_OPERATOR_H
#define OB_OPERATOR_H

#include "config.h"
#include "why.h"

#include <czmq.h>
#include <getopt.h>
#include <limits.h>

typedef struct {
    const char *config_path;             /* --config NODE.zpl */
    char endpoint[OB_ENDPOINT_MAX];      /* --endpoint, or the config's */
    char server_key[OB_Z85_KEY_LEN + 1]; /* --server-key, or the manifest's */
    char cert_file[PATH_MAX];            /* --curve: FILE and FILE_secret */
} ob_operator_target_t;

/* The getopt_long entries every operator command takes. */
#define OB_OPERATOR_OPTIONS                                                                        \
    {"config", required_argument, NULL, 'c'}, {"endpoint", required_argument, NULL, 'e'},          \
        {"server-key", required_argument, NULL, 'k'},                                              \
    {                                                                                              \
        "curve", required_argument, NULL, 'C'                                                      \
    }

/* Their lines of a help page. */
#define OB_OPERATOR_HELP                                                                           \
    "  --config NODE.zpl   the node's config: its endpoint, and for tcp:// its CURVE key\n"        \
    "  --endpoint EP       the node's socket instead (ipc://PATH or tcp://HOST:PORT)\n"            \
    "  --server-key Z85    tcp only, with --endpoint: the node's CURVE public key\n"               \
    "  --curve CERT        tcp only: this operator's CURVE certificate (CERT and\n"                \
    "                      CERT_secret, as `obcast keygen --curve` writes them); its\n"            \
    "                      public half must be in the node's operator_keys folder\n"

/* Takes option `opt` ('c', 'e', 'k' or 'C') with its argument: 1 if it
   was one of them, 0 if not, -1 (why says) if its value is bad. */
int ob_operator_option(ob_operator_target_t *self, int opt, const char *arg, ob_why_t *why);

/* Fills in the endpoint of `socket` ("control" or "monitor") and, for
   tcp://, the node's key. OB_EXIT_OK; OB_EXIT_USAGE (why says) if the
   options do not name one node with what tcp:// needs; OB_EXIT_FAILED if
   the config or its manifest cannot be read. */
int ob_operator_resolve(ob_operator_target_t *self, const char *socket, ob_why_t *why);

/* A socket of `type` connected to the node, with CURVE for tcp://. NULL
   (why says) if it cannot be made. */
zsock_t *ob_operator_connect(const ob_operator_target_t *self, int type, ob_why_t *why);

/* What every operator command does after its options: resolve, then
   (unless `sock_p` is NULL) connect a socket of `type`, each failure said
   on stderr as `program`'s one line (a usage error with its hint).
   OB_EXIT_OK, or the exit status to return. */
int ob_operator_open(ob_operator_target_t *self, const char *program, const char *socket, int type,
                     zsock_t **sock_p);

#endif

#include "operator.h"

#include "args.h"

#include <assert.h>
#include <string.h>

static bool s_starts(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

int ob_operator_option(ob_operator_target_t *self, int opt, const char *arg, ob_why_t *why)
{
    assert(self && arg);
    switch (opt) {
    case 'c':
        self->config_path = arg;
        return 1;
    case 'e':
        if (strlen(arg) >= sizeof self->endpoint)
            return ob_why(why, "--endpoint is longer than %zu characters",
                          sizeof self->endpoint - 1);
        if (!s_starts(arg, "ipc://") && !s_starts(arg, "tcp://"))
            return ob_why(why, "--endpoint must be ipc://PATH or tcp://HOST:PORT, not '%s'", arg);
        snprintf(self->endpoint, sizeof self->endpoint, "%s", arg);
        return 1;
    case 'k': {
        uint8_t decoded[32];
        if (strlen(arg) != OB_Z85_KEY_LEN || !zmq_z85_decode(decoded, arg))
            return ob_why(why, "--server-key must be a CURVE public key of 40 Z85 characters");
        snprintf(self->server_key, sizeof self->server_key, "%s", arg);
        return 1;
    }
    case 'C':
        if (strlen(arg) >= sizeof self->cert_file)
            return ob_why(why, "--curve is longer than %zu characters", sizeof self->cert_file - 1);
        snprintf(self->cert_file, sizeof self->cert_file, "%s", arg);
        return 1;
    }
    return 0;
}

int ob_operator_resolve(ob_operator_target_t *self, const char *socket, ob_why_t *why)
{
    assert(strcmp(socket, "control") == 0 || strcmp(socket, "monitor") == 0);
    if (!self->config_path == !self->endpoint[0]) {
        ob_why(why, "give --config NODE.zpl or --endpoint EP");
        return OB_EXIT_USAGE;
    }
    if (self->config_path && ob_node_client_endpoint(self->config_path, socket, self->endpoint,
                                                     self->server_key, why) != 0)
        return OB_EXIT_FAILED;
    bool tcp = s_starts(self->endpoint, "tcp://");
    if (!tcp && (self->server_key[0] || self->cert_file[0]) && !self->config_path) {
        ob_why(why, "--server-key and --curve are for tcp:// endpoints; %s is not one",
               self->endpoint);
        return OB_EXIT_USAGE;
    }
    if (tcp && !self->server_key[0]) {
        ob_why(why, "%s: a tcp:// endpoint needs --server-key, the node's CURVE public key",
               self->endpoint);
        return OB_EXIT_USAGE;
    }
    if (tcp && !self->cert_file[0]) {
        ob_why(why,
               "%s: a tcp:// endpoint needs --curve CERT, a certificate listed in the node's "
               "operator_keys",
               self->endpoint);
        return OB_EXIT_USAGE;
    }
    return OB_EXIT_OK;
}

zsock_t *ob_operator_connect(const ob_operator_target_t *self, int type, ob_why_t *why)
{
    zsock_t *sock = zsock_new(type);
    if (!sock) {
        ob_why(why, "%s: cannot make a ZeroMQ socket", self->endpoint);
        return NULL;
    }
    zsock_set_linger(sock, 0);
    if (s_starts(self->endpoint, "tcp://")) {
        zcert_t *cert = zcert_load(self->cert_file);
        if (!cert ||
            strcmp(zcert_secret_txt(cert), "0000000000000000000000000000000000000000") == 0) {
            ob_why(why, "--curve %s: not a CURVE certificate with its secret half (%s_secret)",
                   self->cert_file, self->cert_file);
            zcert_destroy(&cert);
            zsock_destroy(&sock);
            return NULL;
        }
        zcert_apply(cert, sock);
        zsock_set_curve_serverkey(sock, self->server_key);
        zcert_destroy(&cert);
    }
    if (zsock_connect(sock, "%s", self->endpoint) != 0) {
        ob_why(why, "%s: cannot connect: %s", self->endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
    }
    return sock;
}

int ob_operator_open(ob_operator_target_t *self, const char *program, const char *socket, int type,
                     zsock_t **sock_p)
{
    ob_why_t why = {{0}};
    int rc = ob_operator_resolve(self, socket, &why);
    if (rc == OB_EXIT_USAGE)
        return ob_args_usage_error(stderr, program, "%s", why.text);
    if (rc == OB_EXIT_OK && sock_p && !(*sock_p = ob_operator_connect(self, type, &why)))
        rc = OB_EXIT_FAILED;
    if (rc != OB_EXIT_OK)
        fprintf(stderr, "%s: %s\n", program, why.text);
    return rc;
}

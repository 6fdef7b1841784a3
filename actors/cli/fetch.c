/*  obcast fetch --config NODE.zpl SEQUENCER HEIGHT [--out FILE] [--timeout-ms MS]
    (SPEC §3 "Asking", on request).

    Asks the node, on its submit socket through libobcast-client, for the
    payload of (SEQUENCER, HEIGHT): the node serves it from its journal or
    fetches it from its peers. The node is not trusted for it: the Lock is
    verified here against the manifest (the sequencer in its epoch's set,
    a quorum of that epoch's validators, every signature) and the bytes
    against its digest, before a byte is written. With --out the bytes go
    to a temporary file beside FILE, renamed to FILE once whole, so FILE
    is never half written; else to stdout.

    Exit status: 0 found, 1 no peer has it (not_found), 2 anything else
    (usage, config, the node not answering in time, busy, a Lock or bytes
    that fail verification): a script can tell "nobody has it" from
    "could not be told". */
#include "args.h"
#include "cli.h"

#include "config.h"
#include "crypto.h"
#include "hex.h"
#include "obcast_client.h"
#include "submit.h"
#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define s_usage_error(...) ob_args_usage_error(stderr, "obcast fetch", __VA_ARGS__)

#define S_EXIT_NOT_FOUND  1
#define S_EXIT_FAILED     2
#define S_DEFAULT_TIMEOUT 30000

static const char *s_usage =
    "usage: obcast fetch --config NODE.zpl SEQUENCER HEIGHT [--out FILE] [--timeout-ms MS]\n"
    "\n"
    "The payload of SEQUENCER's chunk at HEIGHT, from the node or, through it, from\n"
    "its peers; its Lock is verified against the manifest, its bytes against the\n"
    "Lock's digest.\n"
    "\n"
    "  --config NODE.zpl   the node's config: its submit_endpoint (default\n"
    "                      ipc://<runtime_dir>/submit) and manifest\n"
    "  SEQUENCER           the sequencer's key (64 hex digits) or its node name\n"
    "  HEIGHT              the chunk's height\n"
    "  --out FILE          write the bytes to FILE (whole or not at all), not stdout\n"
    "  --timeout-ms MS     how long to wait for the answer (default 30000)\n"
    "  --curve CERT        tcp only: this client's CURVE certificate\n"
    "\n"
    "With --out, one line on stdout: fetched sequencer=HEX height=H epoch=E\n"
    "signers=S bytes=N\n"
    "\n"
    "exit status: 0 found, 1 no peer has it, 2 any other failure (bad usage or\n"
    "config, no answer in time, busy, a Lock or bytes that fail verification)\n";

typedef struct {
    const char *config_path, *out_path, *cert_file, *sequencer_arg;
    uint8_t sequencer[32];
    uint64_t height, timeout_ms;
    ob_node_config_t *config;
    ob_crypto_t *crypto;
    ob_manifest_t *manifest;
} s_fetch_t;

static int s_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int s_fail(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fputs("obcast fetch: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    return S_EXIT_FAILED;
}

/* SEQUENCER as 64 hex digits, or the name of a node of the manifest. */
static int s_sequencer(s_fetch_t *self)
{
    const char *arg = self->sequencer_arg;
    if (strlen(arg) == 64 && ob_hex_decode_exact(arg, self->sequencer, 32) == 0)
        return 0;
    const ob_manifest_node_t *node = ob_manifest_node_named(self->manifest, arg);
    if (node) {
        memcpy(self->sequencer, node->key, 32);
        return 0;
    }
    s_usage_error("SEQUENCER '%s' is neither a key (64 hex digits) nor a node of the manifest %s",
                  arg, self->config->manifest);
    return -1;
}

/* The node is not trusted for the Lock: it must hold as a Fetched from
   any peer would (SPEC §3 Receiving). */
static int s_verify(s_fetch_t *self, const obcast_client_event_t *event)
{
    const ob_epochs_t *epochs = ob_manifest_epochs(self->manifest);
    ob_epoch_lookup_t lookup = ob_epochs_lookup(epochs);
    ob_lock_t lock;
    ob_error_t rc = ob_lock_decode(&lock, event->lock, event->lock_len, &lookup);
    const ob_keyset_t *sequencers = rc == OB_OK ? ob_epochs_sequencers(epochs, lock.epoch) : NULL;
    if (rc == OB_OK && (!sequencers || !ob_keyset_contains(sequencers, lock.chunk.sequencer)))
        rc = OB_ERR_UNKNOWN_SEQUENCER;
    if (rc == OB_OK)
        rc = ob_lock_verify(self->crypto, ob_manifest_namespace(self->manifest), epochs, &lock);
    if (rc == OB_OK)
        rc = ob_payload_verify(self->crypto, &lock.chunk, event->data, event->data_len);
    if (rc != OB_OK)
        return s_fail("the Lock that the node of %s sent for %s height %" PRIu64
                      " fails verification against the manifest %s: %s",
                      self->config_path, event->sequencer_hex, self->height, self->config->manifest,
                      ob_error_name(rc));
    return 0;
}

static int s_write_all(int fd, const uint8_t *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* FILE whole, or not at all: a temporary file beside it, synced, then
   renamed over it. */
static int s_write_file(const char *path, const uint8_t *data, size_t len)
{
    char temp[PATH_MAX];
    if (snprintf(temp, sizeof temp, "%s.XXXXXX", path) >= (int)sizeof temp)
        return s_fail("%s: path too long", path);
    int fd = mkstemp(temp);
    if (fd < 0)
        return s_fail("%s: cannot create a file beside it: %s", path, strerror(errno));
    mode_t mask = umask(0);
    umask(mask);
    int rc =
        fchmod(fd, 0666 & ~mask) == 0 && s_write_all(fd, data, len) == 0 && fsync(fd) == 0 ? 0 : -1;
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(temp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(temp);
        return s_fail("%s: cannot write: %s", path, strerror(saved));
    }
    return 0;
}

static int s_deliver(s_fetch_t *self, const obcast_client_event_t *event)
{
    if (s_verify(self, event) != 0)
        return S_EXIT_FAILED;
    if (!self->out_path) {
        if ((event->data_len && fwrite(event->data, event->data_len, 1, stdout) != 1) ||
            fflush(stdout) != 0)
            return s_fail("standard output: cannot write: %s", strerror(errno));
        return 0;
    }
    if (s_write_file(self->out_path, event->data, event->data_len) != 0)
        return S_EXIT_FAILED;
    printf("fetched sequencer=%s height=%" PRIu64 " epoch=%" PRIu64 " signers=%u bytes=%zu\n",
           event->sequencer_hex, event->height, event->epoch, (unsigned)event->signers,
           event->data_len);
    return 0;
}

/* Asks, and waits for the answer to this tag. */
static int s_run(s_fetch_t *self, obcast_client_t *client)
{
    uint64_t tag = 0;
    if (obcast_client_fetch(client, self->sequencer, self->height, &tag) != 0)
        return s_fail("%s", obcast_client_error(client));
    const char *endpoint = obcast_client_endpoint(client);
    int64_t deadline = zclock_mono() + (int64_t)self->timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0)
            return s_fail("%s: no answer within %" PRIu64 " ms (is the node up? its config: %s)",
                          endpoint, self->timeout_ms, self->config_path);
        obcast_client_event_t event;
        int rc = obcast_client_next(client, left > INT32_MAX ? INT32_MAX : (int)left, &event);
        if (rc < 0)
            return s_fail("%s", obcast_client_error(client));
        if (rc == 0 || event.tag != tag) {
            if (rc == 1 && event.kind == OBCAST_EVENT_ERROR)
                fprintf(stderr, "obcast fetch: %s (ignored)\n", event.error);
            continue;
        }
        switch (event.kind) {
        case OBCAST_EVENT_FETCHED:
            return s_deliver(self, &event);
        case OBCAST_EVENT_FETCH_FAILED:
            if (event.reason == OB_FETCH_NOT_FOUND) {
                fprintf(stderr,
                        "obcast fetch: %s: height %" PRIu64
                        " of %s: not_found (neither the node nor any peer it asked has it)\n",
                        endpoint, self->height, self->sequencer_arg);
                return S_EXIT_NOT_FOUND;
            }
            return s_fail("%s: height %" PRIu64 " of %s: %s%s", endpoint, self->height,
                          self->sequencer_arg, event.reason_name,
                          event.reason == OB_FETCH_BUSY ? " (the node follows as many requests as "
                                                          "it can: ask again later)"
                                                        : "");
        case OBCAST_EVENT_ERROR:
            return s_fail("%s", event.error); /* an answer that fails the client's checks */
        case OBCAST_EVENT_QUEUED:
        case OBCAST_EVENT_REFUSED:
        case OBCAST_EVENT_ASSIGNED:
        case OBCAST_EVENT_LOCKED:
            continue; /* about no payload of ours: the library said so already */
        }
    }
}

static int s_parse(s_fetch_t *self, int argc, char **argv)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"out", required_argument, NULL, 'o'},
                                            {"timeout-ms", required_argument, NULL, 't'},
                                            {"curve", required_argument, NULL, 'C'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    opterr = 0; /* ours names the option, once */
    while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            self->config_path = optarg;
            break;
        case 'o':
            if (!*optarg)
                return s_usage_error("--out needs a file name");
            self->out_path = optarg;
            break;
        case 't':
            if (ob_args_u64(optarg, 1, 86400000, &self->timeout_ms) != 0)
                return s_usage_error("--timeout-ms must be 1 to 86400000, not '%s'", optarg);
            break;
        case 'C':
            self->cert_file = optarg;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return -1;
        default:
            return ob_cli_option_error("obcast fetch", opt, argv);
        }
    }
    if (!self->config_path || !*self->config_path)
        return s_usage_error("give --config NODE.zpl");
    if (argc - optind != 2)
        return s_usage_error("give SEQUENCER and HEIGHT (%d arguments given)", argc - optind);
    self->sequencer_arg = argv[optind];
    if (ob_args_u64(argv[optind + 1], 0, UINT64_MAX, &self->height) != 0)
        return s_usage_error("HEIGHT must be a whole number, not '%s'", argv[optind + 1]);
    return 0;
}

int ob_cli_fetch(int argc, char **argv)
{
    s_fetch_t self = {.timeout_ms = S_DEFAULT_TIMEOUT};
    int status = s_parse(&self, argc, argv);
    if (status != 0)
        return status < 0 ? 0 : status; /* -1: --help */
    ob_why_t why = {{0}};
    char endpoint[OB_ENDPOINT_MAX] = "";
    char server_key[OB_Z85_KEY_LEN + 1] = "";
    obcast_client_t *client = NULL;
    self.config = calloc(1, sizeof *self.config);
    int rc = self.config ? 0 : ob_why(&why, "out of memory");
    if (rc == 0)
        rc = ob_node_config_load(self.config_path, self.config, &why);
    if (rc == 0 && !(self.crypto = ob_crypto_new()))
        rc = ob_why(&why, "no entropy for a crypto context");
    if (rc == 0 && !(self.manifest = ob_manifest_load(self.crypto, self.config->manifest, &why)))
        rc = -1;
    if (rc == 0)
        rc = ob_node_client_endpoint(self.config_path, "submit", endpoint, server_key, &why);
    if (rc != 0)
        status = s_fail("%s", why.text);
    else if (s_sequencer(&self) != 0)
        status = OB_EXIT_USAGE;
    if (status == 0) {
        obcast_client_options_t options = {.server_key = server_key[0] ? server_key : NULL,
                                           .cert_file = self.cert_file,
                                           .max_outstanding = 1};
        char error[OBCAST_CLIENT_ERROR_LEN] = "";
        client = obcast_client_new(endpoint, &options, error, sizeof error);
        status = client ? s_run(&self, client) : s_fail("%s", error);
    }
    obcast_client_destroy(&client);
    ob_manifest_destroy(&self.manifest);
    ob_crypto_destroy(&self.crypto);
    free(self.config);
    return status;
}

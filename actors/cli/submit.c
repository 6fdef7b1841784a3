/*  obcast submit: hands payloads to a node's submit socket through
    libobcast-client (SPEC §5) and follows them to the level asked for.

    obcast submit (--config NODE.zpl | --endpoint EP) [--wait queued|assigned|locked]
                  [--timeout MS] [--count N --size BYTES] [FILE|-]...

    Tags are 1, 2, ... in the order of the payloads: the FILEs first, then
    the generated ones. One line per event on stdout:
        queued tag=1
        assigned tag=1 sequencer=<hex> height=7 index=0
        locked tag=1 height=7 index=0 epoch=1
        refused tag=1 reason=queue_full
    Exit 0 when every payload reached the --wait level, 1 on a refusal, a
    timeout or a failure (the message names the endpoint), 2 on usage.
    A payload that hears nothing for 2 s is sent again (libobcast-client:
    net may have restarted); the count of such resends goes to stderr. */
#include "args.h"
#include "cli.h"

#include "config.h"
#include "crypto.h"
#include "obcast_client.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define s_usage_error(...) ob_args_usage_error(stderr, "obcast submit", __VA_ARGS__)

#define S_EXIT_FAILED     1
#define S_EXIT_USAGE      2
#define S_OUTSTANDING     256
#define S_DEFAULT_SIZE    256
#define S_COUNT_MAX       10000000ULL
#define S_DEFAULT_TIMEOUT 30000
#define S_TOO_LARGE       "larger than any payload may be (64 MiB)"

static const char *s_usage =
    "usage: obcast submit (--config NODE.zpl | --endpoint EP) [options] [FILE|-]...\n"
    "\n"
    "Hands payloads to a sequencer node's submit socket and waits for them.\n"
    "\n"
    "  --config NODE.zpl        the node's config: its submit_endpoint (default\n"
    "                           ipc://<runtime_dir>/submit) and, for tcp, its CURVE key\n"
    "  --endpoint EP            the submit socket, instead of the config's\n"
    "  --server-key Z85         tcp only: the node's CURVE public key\n"
    "  --curve CERT             tcp only: this client's CURVE certificate\n"
    "  --wait queued|assigned|locked\n"
    "                           how far every payload must get (default queued)\n"
    "  --timeout MS             for all of them together (default 30000)\n"
    "  --count N --size BYTES   also submit N generated payloads of BYTES each;\n"
    "                           --count alone makes them 256 bytes, --size alone one.\n"
    "                           With --config, BYTES and each FILE are held to the\n"
    "                           cluster's max_payload (its manifest)\n"
    "  FILE, or - for stdin     a payload each\n"
    "\n"
    "Tags are 1, 2, ... in payload order (FILEs, then generated). Output, one line\n"
    "per event: queued tag=T | assigned tag=T sequencer=HEX height=H index=I |\n"
    "locked tag=T height=H index=I epoch=E | refused tag=T reason=NAME\n"
    "\n"
    "exit status: 0 all reached the --wait level, 1 refused, timed out or failed,\n"
    "2 bad usage\n";

typedef enum {
    S_LEVEL_QUEUED = 1,
    S_LEVEL_ASSIGNED = 2,
    S_LEVEL_LOCKED = 3,
} s_level_t;

/* What became of one payload. */
typedef struct {
    int level; /* 0 sent, else the s_level_t reached */
    bool refused;
    bool done; /* reached the wait level or refused: no longer followed */
} s_progress_t;

typedef struct {
    obcast_client_t *client;
    s_level_t wait;
    char **files;
    size_t file_count;
    uint64_t generated, size;
    /* The cluster's max_payload, with the manifest it came from; without
       --config only the largest any manifest allows is known. */
    uint64_t max_payload;
    char manifest[PATH_MAX];
    uint64_t total, next, done, refused;
    s_progress_t *progress; /* by tag - 1 */
    bool stdin_used;
} s_submit_t;

/* A whole file (or stdin), bounded by the largest payload a manifest may
   allow. */
static int s_read_payload(const s_submit_t *self, const char *path, uint8_t **out, size_t *len,
                          char *error, size_t error_len)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *file = is_stdin ? stdin : fopen(path, "rb");
    if (!file) {
        snprintf(error, error_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 65536, used = 0;
    uint8_t *data = malloc(cap);
    const char *problem = data ? NULL : "out of memory";
    while (!problem) {
        if (used == cap) {
            uint8_t *grown = cap > OB_MAX_PAYLOAD_LIMIT ? NULL : realloc(data, cap * 2);
            if (!grown) {
                problem =
                    cap > OB_MAX_PAYLOAD_LIMIT ? "larger than any payload may be" : "out of memory";
                break;
            }
            data = grown;
            cap *= 2;
        }
        size_t n = fread(data + used, 1, cap - used, file);
        used += n;
        if (n == 0) {
            if (ferror(file))
                problem = strerror(errno);
            break;
        }
    }
    if (!problem && used > OB_MAX_PAYLOAD_LIMIT)
        problem = S_TOO_LARGE;
    if (!is_stdin)
        fclose(file);
    if (problem) {
        snprintf(error, error_len, "%s: %s", path, problem);
        free(data);
        return -1;
    }
    if (self->manifest[0] && used > self->max_payload) {
        snprintf(error, error_len,
                 "%s: %zu bytes, larger than the cluster's max_payload %" PRIu64 " (manifest %s)",
                 path, used, self->max_payload, self->manifest);
        free(data);
        return -1;
    }
    *out = data;
    *len = used;
    return 0;
}

/* Submits the next payload. 0, or -1 with the reason printed. */
static int s_submit_next(s_submit_t *self)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char error[2 * PATH_MAX + 256];
    if (self->next < self->file_count) {
        if (s_read_payload(self, self->files[self->next], &data, &len, error, sizeof error) != 0) {
            fprintf(stderr, "obcast submit: %s\n", error);
            return -1;
        }
    } else {
        len = (size_t)self->size;
        data = malloc(len ? len : 1);
        if (!data) {
            fprintf(stderr, "obcast submit: out of memory\n");
            return -1;
        }
        /* Fresh bytes up front, so that no two are the same payload. */
        size_t fresh = len < 32 ? len : 32;
        if (ob_random_bytes(data, fresh) != 0) {
            free(data);
            fprintf(stderr, "obcast submit: no entropy\n");
            return -1;
        }
        for (size_t i = fresh; i < len; i++)
            data[i] = (uint8_t)(i * 131 + self->next);
    }
    uint64_t tag = 0;
    int rc = obcast_client_submit(self->client, data, len, &tag);
    free(data);
    if (rc != 0) {
        fprintf(stderr, "obcast submit: %s\n", obcast_client_error(self->client));
        return -1;
    }
    if (tag != self->next + 1) {
        fprintf(stderr, "obcast submit: unexpected tag %" PRIu64 "\n", tag);
        return -1;
    }
    self->next++;
    return 0;
}

static void s_finish(s_submit_t *self, uint64_t tag, bool refused)
{
    s_progress_t *p = &self->progress[tag - 1];
    if (p->done)
        return;
    p->done = true;
    p->refused = refused;
    self->done++;
    if (refused)
        self->refused++;
    else
        obcast_client_forget(self->client, tag); /* no more answers are needed */
}

static void s_on_event(s_submit_t *self, const obcast_client_event_t *event)
{
    uint64_t tag = event->tag;
    bool known = tag >= 1 && tag <= self->next;
    if (event->kind == OBCAST_EVENT_ERROR) {
        if (known && self->progress[tag - 1].done)
            return; /* an answer for one no longer followed */
        fprintf(stderr, "obcast submit: %s\n", event->error);
        return;
    }
    if (!known)
        return;
    s_progress_t *p = &self->progress[tag - 1];
    switch (event->kind) {
    case OBCAST_EVENT_QUEUED:
        printf("queued tag=%" PRIu64 "\n", tag);
        if (p->level < S_LEVEL_QUEUED)
            p->level = S_LEVEL_QUEUED;
        break;
    case OBCAST_EVENT_ASSIGNED:
        printf("assigned tag=%" PRIu64 " sequencer=%s height=%" PRIu64 " index=%" PRIu32 "\n", tag,
               event->sequencer_hex, event->height, event->index);
        if (p->level < S_LEVEL_ASSIGNED)
            p->level = S_LEVEL_ASSIGNED;
        break;
    case OBCAST_EVENT_LOCKED:
        printf("locked tag=%" PRIu64 " height=%" PRIu64 " index=%" PRIu32 " epoch=%" PRIu64 "\n",
               tag, event->height, event->index, event->epoch);
        p->level = S_LEVEL_LOCKED;
        break;
    case OBCAST_EVENT_REFUSED:
        printf("refused tag=%" PRIu64 " reason=%s\n", tag, event->reason_name);
        s_finish(self, tag, true);
        break;
    case OBCAST_EVENT_ERROR:
    case OBCAST_EVENT_FETCHED:
    case OBCAST_EVENT_FETCH_FAILED: /* no fetch is asked here */
        break;
    }
    fflush(stdout);
    if (!p->done && p->level >= (int)self->wait)
        s_finish(self, tag, false);
}

static const char *s_level_name(s_level_t level)
{
    switch (level) {
    case S_LEVEL_QUEUED:
        return "queued";
    case S_LEVEL_ASSIGNED:
        return "assigned";
    case S_LEVEL_LOCKED:
        return "locked";
    }
    return "?";
}

static int s_run(s_submit_t *self, uint64_t timeout_ms)
{
    int64_t deadline = zclock_mono() + (int64_t)timeout_ms;
    while (self->done < self->total) {
        while (self->next < self->total &&
               obcast_client_outstanding(self->client) < S_OUTSTANDING) {
            if (s_submit_next(self) != 0)
                return S_EXIT_FAILED;
        }
        int64_t left = deadline - zclock_mono();
        if (left <= 0) {
            fprintf(stderr,
                    "obcast submit: %s: timed out after %" PRIu64 " ms: %" PRIu64 " of %" PRIu64
                    " payloads not %s (is the node up, and a sequencer?)\n",
                    obcast_client_endpoint(self->client), timeout_ms, self->total - self->done,
                    self->total, s_level_name(self->wait));
            return S_EXIT_FAILED;
        }
        obcast_client_event_t event;
        int rc = obcast_client_next(self->client, left > INT32_MAX ? INT32_MAX : (int)left, &event);
        if (rc < 0) {
            fprintf(stderr, "obcast submit: %s\n", obcast_client_error(self->client));
            return S_EXIT_FAILED;
        }
        if (rc == 1)
            s_on_event(self, &event);
    }
    if (self->refused) {
        fprintf(stderr, "obcast submit: %s: %" PRIu64 " of %" PRIu64 " payloads refused\n",
                obcast_client_endpoint(self->client), self->refused, self->total);
        return S_EXIT_FAILED;
    }
    return 0;
}

/* max_payload from the manifest of the node config at `path`. */
static int s_max_payload(s_submit_t *self, const char *path, ob_why_t *why)
{
    static ob_node_config_t config;
    ob_crypto_t *crypto = NULL;
    ob_manifest_t *manifest = NULL;
    int rc = ob_node_config_load(path, &config, why);
    if (rc == 0 && !(crypto = ob_crypto_new()))
        rc = ob_why(why, "no entropy for a crypto context");
    if (rc == 0 && !(manifest = ob_manifest_load(crypto, config.manifest, why)))
        rc = -1;
    if (rc == 0) {
        self->max_payload = ob_manifest_max_payload(manifest);
        snprintf(self->manifest, sizeof self->manifest, "%s", config.manifest);
    }
    ob_manifest_destroy(&manifest);
    ob_crypto_destroy(&crypto);
    return rc;
}

int ob_cli_submit(int argc, char **argv)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"endpoint", required_argument, NULL, 'e'},
                                            {"server-key", required_argument, NULL, 'k'},
                                            {"curve", required_argument, NULL, 'C'},
                                            {"wait", required_argument, NULL, 'w'},
                                            {"timeout", required_argument, NULL, 't'},
                                            {"count", required_argument, NULL, 'n'},
                                            {"size", required_argument, NULL, 's'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *config = NULL, *cert_file = NULL;
    char endpoint[OB_ENDPOINT_MAX] = "";
    char server_key[OB_Z85_KEY_LEN + 1] = "";
    s_submit_t self = {.wait = S_LEVEL_QUEUED};
    uint64_t timeout = S_DEFAULT_TIMEOUT, count = 0, size = 0;
    bool has_count = false, has_size = false;
    int opt;
    optind = 1;
    opterr = 0; /* ours names the option, once */
    while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
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
        case 'w':
            if (strcmp(optarg, "queued") == 0)
                self.wait = S_LEVEL_QUEUED;
            else if (strcmp(optarg, "assigned") == 0)
                self.wait = S_LEVEL_ASSIGNED;
            else if (strcmp(optarg, "locked") == 0)
                self.wait = S_LEVEL_LOCKED;
            else
                return s_usage_error("--wait must be queued, assigned or locked, not '%s'", optarg);
            break;
        case 't':
            if (ob_args_u64(optarg, 1, 86400000, &timeout) != 0)
                return s_usage_error("--timeout must be 1 to 86400000 ms, not '%s'", optarg);
            break;
        case 'n':
            if (ob_args_u64(optarg, 1, S_COUNT_MAX, &count) != 0)
                return s_usage_error("--count must be 1 to %llu, not '%s'", S_COUNT_MAX, optarg);
            has_count = true;
            break;
        case 's':
            if (ob_args_u64(optarg, 0, OB_MAX_PAYLOAD_LIMIT, &size) != 0)
                return s_usage_error("--size must be 0 to %u bytes, not '%s'", OB_MAX_PAYLOAD_LIMIT,
                                     optarg);
            has_size = true;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 0;
        default:
            return ob_cli_option_error("obcast submit", opt, argv);
        }
    }
    if (!config && !endpoint[0])
        return s_usage_error("give --config NODE.zpl or --endpoint EP");
    if (has_size && !has_count)
        count = 1;
    if (has_count && !has_size)
        size = S_DEFAULT_SIZE;
    self.files = argv + optind;
    self.file_count = (size_t)(argc - optind);
    for (size_t i = 0; i < self.file_count; i++) {
        if (strcmp(self.files[i], "-") == 0) {
            if (self.stdin_used)
                return s_usage_error("- (stdin) may be given once");
            self.stdin_used = true;
        }
    }
    self.generated = count;
    self.size = size;
    self.total = self.file_count + count;
    if (self.total == 0)
        return s_usage_error("nothing to submit: give FILEs, - or --count N");

    ob_why_t why = {{0}};
    if (config && ob_node_client_endpoint(config, "submit", endpoint, server_key, &why) != 0) {
        fprintf(stderr, "obcast submit: %s\n", why.text);
        return S_EXIT_FAILED;
    }
    if (config && s_max_payload(&self, config, &why) != 0) {
        fprintf(stderr, "obcast submit: %s\n", why.text);
        return S_EXIT_FAILED;
    }
    if (self.manifest[0] && count && size > self.max_payload)
        return s_usage_error("--size %" PRIu64 " is larger than the cluster's max_payload %" PRIu64
                             " (manifest %s)",
                             size, self.max_payload, self.manifest);
    obcast_client_options_t client_options = {.server_key = server_key[0] ? server_key : NULL,
                                              .cert_file = cert_file,
                                              .max_outstanding = S_OUTSTANDING};
    char error[OBCAST_CLIENT_ERROR_LEN] = "";
    self.client = obcast_client_new(endpoint, &client_options, error, sizeof error);
    if (!self.client) {
        fprintf(stderr, "obcast submit: %s\n", error);
        return S_EXIT_FAILED;
    }
    self.progress = calloc((size_t)self.total, sizeof *self.progress);
    if (!self.progress) {
        fprintf(stderr, "obcast submit: out of memory\n");
        obcast_client_destroy(&self.client);
        return S_EXIT_FAILED;
    }
    int status = s_run(&self, timeout);
    /* Sent again after a silence (net restarted, or was slow to answer),
       or at once when the node said its journal forgot them. */
    const obcast_client_stats_t *stats = obcast_client_stats(self.client);
    if (stats->resubmits || stats->follows)
        fprintf(stderr,
                "obcast submit: %s: %" PRIu64 " resends after a silence (%" PRIu64
                " payloads submitted again, %" PRIu64 " followed again)\n",
                obcast_client_endpoint(self.client), stats->resubmits + stats->follows,
                stats->resubmits, stats->follows);
    if (stats->forgotten)
        fprintf(stderr,
                "obcast submit: %s: told %" PRIu64
                " times that the node forgot what it held (its journal restarted): everything "
                "outstanding sent again at once\n",
                obcast_client_endpoint(self.client), stats->forgotten);
    free(self.progress);
    obcast_client_destroy(&self.client);
    return status;
}

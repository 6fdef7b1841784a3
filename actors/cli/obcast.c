/*  obcast: the operator's command line (SPEC §6, §7).

    obcast keygen [--curve FILE] KEYFILE
    obcast init [options] N DIR

    Exit status: 0 on success, 1 when the command failed, 2 for a usage
    error; but obcast fetch, like grep, exits 1 only when no peer has
    the payload, and 2 for every other failure, and obcast audit exits 3
    when an export cannot be read. Errors are one line on stderr naming
    what was wrong. */
#include "args.h"
#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "hex.h"
#include "keyfile.h"
#include "log.h"

#include <czmq.h>

#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define s_usage_error(...) ob_args_usage_error(stderr, "obcast", __VA_ARGS__)

#define S_EXIT_FAILED 1
#define S_EXIT_USAGE  2

static const char *s_usage =
    "usage: obcast COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  keygen [--curve CERT] KEYFILE   make a node key (mode 0600) and print its public key;\n"
    "                                  with --curve, also a CURVE certificate\n"
    "  init [options] N DIR            make a cluster of N local nodes in DIR: the manifest,\n"
    "                                  and per node its config, keys and folders (options:\n"
    "                                  obcast init --help)\n"
    "  export --config NODE.zpl [--data] [--out FILE]\n"
    "                                  the node's certified chunks as JSON lines (SPEC §7)\n"
    "  audit --manifest MANIFEST [--allow-gaps] EXPORT...\n"
    "                                  check exports: format, S3, S4, S5, contiguity\n"
    "  submit (--config NODE.zpl | --endpoint EP) [--wait queued|assigned|locked]\n"
    "         [--timeout MS] [--count N --size BYTES] [FILE|-]...\n"
    "                                  hand payloads to a sequencer node and follow them\n"
    "  fetch --config NODE.zpl SEQUENCER HEIGHT [--out FILE] [--timeout-ms MS]\n"
    "                                  a certified payload, from the node or its peers,\n"
    "                                  its Lock verified (exit 1: no peer has it, 2: other\n"
    "                                  failures)\n"
    "  tail (--config NODE.zpl | --endpoint EP) [--topic T]... [--count N] [--timeout MS]\n"
    "                                  the node's monitoring events as JSON lines\n"
    "  watch (--config NODE.zpl | --endpoint EP)\n"
    "                                  a live view of the node, redrawn each second; q quits\n"
    "  status (--config NODE.zpl | --endpoint EP) [--timeout MS]\n"
    "                                  the node's actors: state, pid, restarts, heartbeat\n"
    "  ctl (--config NODE.zpl | --endpoint EP) [--timeout MS] REQUEST\n"
    "                                  status | epoch N | restart-actor ACTOR [I] | reload |\n"
    "                                  stop\n"
    "  metrics --config NODE.zpl [--timeout MS]\n"
    "                                  the node's metrics (SPEC §8) as Prometheus text\n"
    "\n"
    "  --help, --version\n"
    "\n"
    "exit status: 0 ok, 1 the command failed, 2 bad usage (fetch: 1 not found, 2 other\n"
    "failures; audit: 3 an export could not be read); each command's --help has its own\n";

static const char *s_keygen_usage =
    "usage: obcast keygen [--curve CERT] KEYFILE\n"
    "  makes a node key (mode 0600) and prints its public key\n"
    "  --curve CERT   also a CURVE certificate (CERT and CERT_secret), its public key printed\n"
    "exit status: 0 ok, 1 the key could not be made, 2 bad usage\n";

static const char *s_init_usage =
    "usage: obcast init [options] N DIR\n"
    "  makes a cluster of N local nodes in DIR: the manifest, and per node its config,\n"
    "  keys and folders\n"
    "  --validators LIST     nodes that validate in epoch 1 (default: all)\n"
    "  --sequencers LIST     nodes that sequence in epoch 1 (default: all)\n"
    "  --host HOST           peer address (default 127.0.0.1)\n"
    "  --base-port PORT      node i listens on PORT+i (default 7100)\n"
    "  --namespace NS        the cluster's namespace (default obcast-local)\n"
    "  --max-payload BYTES   the cluster's payload limit (default 1048576)\n"
    "  LIST is node indices: 0,1,2 or 0-3 or a mix\n"
    "exit status: 0 ok, 1 the cluster could not be made, 2 bad usage\n";

#define s_keygen_error(...) ob_args_usage_error(stderr, "obcast keygen", __VA_ARGS__)
#define s_init_error(...)   ob_args_usage_error(stderr, "obcast init", __VA_ARGS__)

/* `dir`/`name` into a PATH_MAX buffer; -1 if it does not fit. */
static int s_join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* Writes a CURVE certificate: public part at PATH, secret at PATH_secret,
   both created with mode 0600. */
static int s_write_curve(const char *path, char public_z85[41], ob_why_t *why)
{
    char secret_path[PATH_MAX];
    if (snprintf(secret_path, sizeof secret_path, "%s_secret", path) >= (int)sizeof secret_path)
        return ob_why(why, "curve certificate %s: path too long", path);
    if (access(path, F_OK) == 0 || access(secret_path, F_OK) == 0)
        return ob_why(why, "curve certificate %s: already exists; refusing to overwrite", path);
    zcert_t *cert = zcert_new();
    if (!cert)
        return ob_why(why, "curve certificate %s: cannot make a key pair", path);
    mode_t old = umask(077);
    int rc = zcert_save(cert, path);
    umask(old);
    if (rc != 0) {
        zcert_destroy(&cert);
        return ob_why(why, "curve certificate %s: cannot write: %s", path, strerror(errno));
    }
    snprintf(public_z85, 41, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

static int s_keygen(int argc, char **argv)
{
    static const struct option options[] = {{"curve", required_argument, NULL, 'c'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *curve = NULL;
    int opt;
    optind = 1;
    opterr = 0; /* ours names the option, once */
    while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        if (opt == 'c')
            curve = optarg;
        else if (opt == 'h') {
            fputs(s_keygen_usage, stdout);
            return 0;
        } else
            return ob_cli_option_error("obcast keygen", opt, argv);
    }
    if (optind != argc - 1)
        return s_keygen_error("give exactly one KEYFILE");
    ob_crypto_t *crypto = ob_crypto_new();
    if (!crypto) {
        fprintf(stderr, "obcast keygen: no entropy\n");
        return S_EXIT_FAILED;
    }
    ob_keypair_t pair;
    ob_why_t why;
    int rc = ob_keyfile_generate(crypto, argv[optind], &pair, &why);
    char public_z85[41] = "";
    if (rc == 0 && curve)
        rc = s_write_curve(curve, public_z85, &why);
    if (rc != 0) {
        fprintf(stderr, "obcast keygen: %s\n", why.text);
        ob_crypto_destroy(&crypto);
        return S_EXIT_FAILED;
    }
    char hex[65];
    ob_hex_encode(pair.pub.bytes, 32, hex);
    printf("public_key %s\n", hex);
    if (curve)
        printf("curve_key %s\n", public_z85);
    ob_keypair_wipe(&pair);
    ob_crypto_destroy(&crypto);
    return 0;
}

/* Parses "0,2,5-7" into a bitmask of node indices below n. */
static int s_list(const char *text, int n, uint64_t *mask)
{
    *mask = 0;
    char *copy = strdup(text), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        long lo = strtol(tok, &end, 10), hi = lo;
        if (end == tok)
            rc = -1;
        else if (*end == '-') {
            char *end2 = NULL;
            hi = strtol(end + 1, &end2, 10);
            if (end2 == end + 1 || *end2)
                rc = -1;
        } else if (*end)
            rc = -1;
        if (rc == 0 && (lo < 0 || hi >= n || lo > hi))
            rc = -1;
        for (long i = lo; rc == 0 && i <= hi; i++)
            *mask |= 1ULL << i;
    }
    free(copy);
    return rc == 0 && *mask ? 0 : -1;
}

static int s_mkdir(const char *path, mode_t mode, ob_why_t *why)
{
    if (mkdir(path, mode) != 0 && errno != EEXIST)
        return ob_why(why, "%s: cannot make the folder: %s", path, strerror(errno));
    if (chmod(path, mode) != 0)
        return ob_why(why, "%s: cannot set its mode: %s", path, strerror(errno));
    return 0;
}

static int s_write_text(const char *path, const char *text, ob_why_t *why)
{
    FILE *f = fopen(path, "wx");
    if (!f)
        return ob_why(why, "%s: cannot create: %s", path, strerror(errno));
    int rc = fputs(text, f) < 0 ? -1 : 0;
    if (fclose(f) != 0 || rc != 0)
        return ob_why(why, "%s: cannot write: %s", path, strerror(errno));
    return 0;
}

static int s_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

/* A folder beside `dir` (same parent, so the final rename stays on one
   file system), named after it: "PARENT/.NAME.init-XXXXXX". */
static int s_temp_beside(const char *dir, char *out, ob_why_t *why)
{
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s", dir);
    snprintf(b, sizeof b, "%s", dir);
    if (snprintf(out, PATH_MAX, "%s/.%s.init-XXXXXX", dirname(a), basename(b)) >= PATH_MAX)
        return ob_why(why, "%s: path too long", dir);
    if (!mkdtemp(out))
        return ob_why(why, "%s: cannot make a folder beside it: %s", dir, strerror(errno));
    return 0;
}

static void s_names(uint64_t mask, int n, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        if (mask >> i & 1)
            used += (size_t)snprintf(out + used, cap - used, "%snode%d", used ? " " : "", i);
}

static int s_init(int argc, char **argv)
{
    static const struct option options[] = {{"validators", required_argument, NULL, 'v'},
                                            {"sequencers", required_argument, NULL, 's'},
                                            {"host", required_argument, NULL, 'H'},
                                            {"base-port", required_argument, NULL, 'p'},
                                            {"namespace", required_argument, NULL, 'n'},
                                            {"max-payload", required_argument, NULL, 'm'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *validators = NULL, *sequencers = NULL, *host = "127.0.0.1";
    const char *ns = "obcast-local";
    long base_port = 7100, max_payload = 1 << 20;
    int opt;
    optind = 1;
    opterr = 0; /* ours names the option, once */
    while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'v':
            validators = optarg;
            break;
        case 's':
            sequencers = optarg;
            break;
        case 'H':
            host = optarg;
            break;
        case 'n':
            ns = optarg;
            break;
        case 'p':
            base_port = strtol(optarg, &end, 10);
            if (!*optarg || *end || base_port < 1 || base_port > 65000)
                return s_init_error("--base-port must be 1 to 65000, not '%s'", optarg);
            break;
        case 'm':
            max_payload = strtol(optarg, &end, 10);
            if (!*optarg || *end || max_payload < 1 || max_payload > (long)OB_MAX_PAYLOAD_LIMIT)
                return s_init_error("--max-payload must be 1 to 67108864, not '%s'", optarg);
            break;
        case 'h':
            fputs(s_init_usage, stdout);
            return 0;
        default:
            return ob_cli_option_error("obcast init", opt, argv);
        }
    }
    if (optind != argc - 2)
        return s_init_error("give N and DIR");
    char *end = NULL;
    long n = strtol(argv[optind], &end, 10);
    if (!*argv[optind] || *end || n < 1 || n > 64)
        return s_init_error("N must be 1 to 64, not '%s'", argv[optind]);
    if (base_port + n > 65535)
        return s_init_error("ports past 65535");
    if (strlen(ns) < 1 || strlen(ns) > OB_NAMESPACE_MAX)
        return s_init_error("--namespace must be 1 to 64 bytes, not '%s'", ns);
    uint64_t vmask = n == 64 ? UINT64_MAX : (1ULL << n) - 1, smask = vmask;
    if (validators && s_list(validators, (int)n, &vmask) != 0)
        return s_init_error("--validators: not a list of node indices below N: '%s'", validators);
    if (sequencers && s_list(sequencers, (int)n, &smask) != 0)
        return s_init_error("--sequencers: not a list of node indices below N: '%s'", sequencers);
    const char *dir = argv[optind + 1];

    ob_why_t why;
    char path[PATH_MAX], final_manifest[PATH_MAX];
    if (s_join(final_manifest, dir, "manifest.zpl") != 0)
        return s_init_error("DIR is too long: '%s'", dir);
    if (access(final_manifest, F_OK) == 0) {
        fprintf(stderr, "obcast init: %s already exists; refusing to overwrite a cluster\n",
                final_manifest);
        return S_EXIT_FAILED;
    }
    /* Built aside and renamed into place at the end, so that a failure
       midway leaves no half-made cluster behind. */
    const char *target = dir;
    char temp[PATH_MAX];
    if (s_temp_beside(target, temp, &why) != 0) {
        fprintf(stderr, "obcast init: %s\n", why.text);
        return S_EXIT_FAILED;
    }
    dir = temp;
    if (s_join(path, dir, "manifest.zpl") != 0) {
        rmdir(temp);
        return s_init_error("DIR is too long: '%s'", target);
    }
    ob_crypto_t *crypto = ob_crypto_new();
    size_t cap = 4096 + (size_t)n * 512;
    char *manifest = calloc(1, cap);
    int rc = !crypto || !manifest ? ob_why(&why, "out of memory or entropy") : 0;
    if (rc == 0)
        rc = s_mkdir(dir, 0755, &why);
    size_t used = 0;
    if (rc == 0)
        used += (size_t)snprintf(manifest, cap,
                                 "obcast\n    namespace = \"%s\"\n"
                                 "    max_payload = %ld\n",
                                 ns, max_payload);
    for (long i = 0; rc == 0 && i < n; i++) {
        char node_dir[PATH_MAX], sub[PATH_MAX], key_path[PATH_MAX], curve_path[PATH_MAX];
        char name[32];
        snprintf(name, sizeof name, "node%ld", i);
        if (s_join(node_dir, dir, name) != 0 || s_join(key_path, node_dir, "keys/obcast.key") ||
            s_join(curve_path, node_dir, "keys/curve.cert") != 0) {
            rc = ob_why(&why, "%s: path too long", dir);
            break;
        }
        if (s_mkdir(node_dir, 0700, &why) != 0)
            rc = -1;
        const char *subs[] = {"keys", "data", "run"};
        for (int k = 0; rc == 0 && k < 3; k++)
            rc = s_join(sub, node_dir, subs[k]) == 0 ? s_mkdir(sub, 0700, &why) : -1;
        ob_keypair_t pair;
        char curve[41];
        if (rc == 0)
            rc = ob_keyfile_generate(crypto, key_path, &pair, &why);
        if (rc == 0)
            rc = s_write_curve(curve_path, curve, &why);
        if (rc != 0)
            break;
        char hex[65];
        ob_hex_encode(pair.pub.bytes, 32, hex);
        ob_keypair_wipe(&pair);
        used += (size_t)snprintf(manifest + used, cap - used,
                                 "    node\n        name = \"node%ld\"\n        key = \"%s\"\n"
                                 "        endpoint = \"tcp://%s:%ld\"\n"
                                 "        curve_key = \"%s\"\n",
                                 i, hex, host, base_port + i, curve);
        char config[2048], config_path[PATH_MAX];
        snprintf(config, sizeof config,
                 "# obcast node config (SPEC §6). Paths are relative to this file.\n"
                 "node\n    name = \"node%ld\"\n    manifest = \"../manifest.zpl\"\n"
                 "    key_file = \"keys/obcast.key\"\n"
                 "    curve_secret_file = \"keys/curve.cert_secret\"\n"
                 "    data_dir = \"data\"\n    runtime_dir = \"run\"\n"
                 "    peer_bind = \"tcp://%s:%ld\"\n    durability = \"power\"\n"
                 "tunables\n    propose_timeout_ms = 1000\n    rebroadcast_timeout_ms = 1000\n"
                 "    epoch_bounds_lo = 1\n    epoch_bounds_hi = 1\n    height_bound = 2\n",
                 i, host, base_port + i);
        rc = s_join(config_path, node_dir, "node.zpl") == 0
                 ? s_write_text(config_path, config, &why)
                 : ob_why(&why, "%s: path too long", node_dir);
    }
    if (rc == 0) {
        char vnames[64 * 8], snames[64 * 8];
        s_names(vmask, (int)n, vnames, sizeof vnames);
        s_names(smask, (int)n, snames, sizeof snames);
        snprintf(manifest + used, cap - used,
                 "    epoch\n        number = 1\n        validators = \"%s\"\n"
                 "        sequencers = \"%s\"\n",
                 vnames, snames);
        rc = s_write_text(path, manifest, &why);
    }
    /* The manifest it wrote must load: the same checks every node makes. */
    if (rc == 0) {
        ob_manifest_t *m = ob_manifest_load(crypto, path, &why);
        rc = m ? 0 : -1;
        ob_manifest_destroy(&m);
    }
    free(manifest);
    ob_crypto_destroy(&crypto);
    /* rename replaces an empty folder, and fails on one holding anything. */
    if (rc == 0 && rename(temp, target) != 0)
        rc = ob_why(&why, "%s: cannot put the cluster there: %s", target,
                    errno == ENOTEMPTY || errno == EEXIST ? "it exists and is not empty"
                                                          : strerror(errno));
    if (rc != 0) {
        fprintf(stderr, "obcast init: %s\n", why.text);
        if (nftw(temp, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
            fprintf(stderr, "obcast init: %s: cannot remove: %s\n", temp, strerror(errno));
        return S_EXIT_FAILED;
    }
    printf("obcast init: %ld nodes in %s (manifest %s)\n", n, target, final_manifest);
    return 0;
}

int main(int argc, char **argv)
{
    ob_log_set_ident("obcast");
    if (argc < 2)
        return s_usage_error("no command given");
    const char *command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "help") == 0) {
        fputs(s_usage, stdout);
        return 0;
    }
    if (strcmp(command, "--version") == 0) {
        printf("obcast %s\n", OBCAST_VERSION);
        return 0;
    }
    if (strcmp(command, "keygen") == 0)
        return s_keygen(argc - 1, argv + 1);
    if (strcmp(command, "init") == 0)
        return s_init(argc - 1, argv + 1);
    if (strcmp(command, "export") == 0)
        return ob_cli_export(argc - 1, argv + 1);
    if (strcmp(command, "audit") == 0)
        return ob_cli_audit(argc - 1, argv + 1);
    if (strcmp(command, "submit") == 0)
        return ob_cli_submit(argc - 1, argv + 1);
    if (strcmp(command, "fetch") == 0)
        return ob_cli_fetch(argc - 1, argv + 1);
    if (strcmp(command, "tail") == 0)
        return ob_cli_tail(argc - 1, argv + 1);
    if (strcmp(command, "watch") == 0)
        return ob_cli_watch(argc - 1, argv + 1);
    if (strcmp(command, "status") == 0)
        return ob_cli_status(argc - 1, argv + 1);
    if (strcmp(command, "ctl") == 0)
        return ob_cli_ctl(argc - 1, argv + 1);
    if (strcmp(command, "metrics") == 0)
        return ob_cli_metrics(argc - 1, argv + 1);
    return s_usage_error("unknown command '%s'", command);
}

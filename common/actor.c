#include "actor.h"

#include "hex.h"
#include "keyfile.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

uint64_t ob_actor_elapsed_ms(uint64_t now, uint64_t since)
{
    return now > since ? now - since : 0;
}

int ob_actor_spawn_guard(pid_t supervisor)
{
    /* In this order: once armed, a supervisor that dies kills us; one
       that died before it is seen as a changed parent. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        return -1;
    return getppid() == supervisor ? 0 : -1;
}

#ifndef OBCAST_VERSION
#error "OBCAST_VERSION comes from meson.build's project()"
#endif

int ob_actor_env(const ob_actor_args_t *args, ob_node_env_t *env, ob_why_t *why)
{
    const ob_manifest_node_t *me = ob_manifest_node_named(args->manifest, args->config->name);
    if (!me)
        return ob_why(why, "config %s: node/name: the manifest lists no node '%s'",
                      args->config->path, args->config->name);
    memset(env, 0, sizeof *env);
    env->ns = ob_manifest_namespace(args->manifest);
    env->epochs = ob_manifest_epochs(args->manifest);
    env->params = args->config->params;
    env->params.max_payload = ob_manifest_max_payload(args->manifest);
    memcpy(env->self_key, me->key, 32);
    env->arena = args->arena;
    return 0;
}

int ob_actor_claim_data_dir(const char *data_dir, const uint8_t key[32], ob_why_t *why)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/owner", data_dir) >= (int)sizeof path)
        return ob_why(why, "data_dir %s: path too long", data_dir);
    char want[65];
    ob_hex_encode(key, 32, want);
    char have[80] = "";
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(have, 1, sizeof have - 1, f);
        fclose(f);
        have[n] = '\0';
        have[strcspn(have, "\n")] = '\0';
        if (strcmp(have, want) != 0)
            return ob_why(why,
                          "data_dir %s belongs to the node with key %.16s..., not to this "
                          "node (key %.16s...); refusing to mix their state",
                          data_dir, have, want);
        return 0;
    }
    if (errno != ENOENT)
        return ob_why(why, "data_dir %s: cannot read %s: %s", data_dir, path, strerror(errno));
    /* First use: written whole, then linked into place, so a crash leaves
       no half-written owner. */
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return ob_why(why, "data_dir %s: %s", data_dir, strerror(errno));
    char line[66];
    snprintf(line, sizeof line, "%s\n", want);
    bool ok = write(fd, line, 65) == 65 && fsync(fd) == 0;
    close(fd);
    if (!ok || (link(tmp, path) != 0 && errno != EEXIST)) {
        int saved = errno;
        unlink(tmp);
        return ob_why(why, "data_dir %s: cannot write its owner: %s", data_dir, strerror(saved));
    }
    unlink(tmp);
    /* Another actor may have claimed it at the same moment: check again. */
    return ob_actor_claim_data_dir(data_dir, key, why);
}

zcert_t *ob_actor_load_curve_cert(const ob_node_config_t *config, const ob_manifest_node_t *me,
                                  ob_why_t *why)
{
    const char *path = config->curve_secret_file;
    struct stat st;
    if (stat(path, &st) != 0) {
        ob_why(why, "curve_secret_file %s: %s", path, strerror(errno));
        return NULL;
    }
    if (st.st_mode & 077) {
        ob_why(why, "curve_secret_file %s: mode %03o lets others read it; chmod 600 it", path,
               (unsigned)(st.st_mode & 0777));
        return NULL;
    }
    zcert_t *cert = zcert_load(path);
    if (!cert || streq(zcert_secret_txt(cert), "0000000000000000000000000000000000000000")) {
        ob_why(why, "curve_secret_file %s: not a CURVE secret certificate", path);
        zcert_destroy(&cert);
        return NULL;
    }
    if (!streq(zcert_public_txt(cert), me->curve_key)) {
        ob_why(why,
               "curve_secret_file %s: its public key is not the curve_key the manifest %s "
               "lists for node '%s'",
               path, config->manifest, me->name);
        zcert_destroy(&cert);
        return NULL;
    }
    return cert;
}

/* Whether a tcp:// endpoint's port can be bound. bind() without listen()
   takes no connection: a peer dialling in meanwhile is refused, not met by
   a socket that speaks no CURVE. Endpoints this cannot parse (interface
   names, ipc) are left to the real bind, which fails loudly too. */
static int s_port_free(const char *endpoint, ob_why_t *why)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return 0;
    char host[OB_ENDPOINT_MAX];
    snprintf(host, sizeof host, "%s", endpoint + 6);
    char *colon = strrchr(host, ':');
    if (!colon)
        return ob_why(why, "peer_bind %s: no port", endpoint);
    *colon = '\0';
    const char *port = colon + 1;
    char *name = host;
    if (name[0] == '[') { /* [::1] */
        name++;
        name[strcspn(name, "]")] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *found = NULL;
    if (getaddrinfo(streq(name, "*") ? NULL : name, port, &hints, &found) != 0 || !found)
        return 0;
    int rc = 0;
    int fd = socket(found->ai_family, found->ai_socktype, found->ai_protocol);
    if (fd >= 0) {
        int on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on); /* as ZeroMQ does */
        if (bind(fd, found->ai_addr, found->ai_addrlen) != 0)
            rc = ob_why(why, "peer_bind %s: cannot bind: %s", endpoint, strerror(errno));
        close(fd);
    }
    freeaddrinfo(found);
    return rc;
}

int ob_actor_preflight(const ob_node_config_t *config, const ob_manifest_t *manifest,
                       ob_crypto_t *crypto, ob_why_t *why)
{
    const ob_manifest_node_t *me = ob_manifest_node_named(manifest, config->name);
    if (!me)
        return ob_why(why, "config %s: node/name: the manifest %s lists no node '%s'", config->path,
                      config->manifest, config->name);
    ob_keypair_t key;
    if (ob_keyfile_load(crypto, config->key_file, &key, why) != 0)
        return -1;
    bool same = memcmp(key.pub.bytes, me->key, 32) == 0;
    memset(&key, 0, sizeof key);
    if (!same)
        return ob_why(why, "key_file %s: not the key the manifest %s lists for node '%s'",
                      config->key_file, config->manifest, config->name);
    zcert_t *cert = ob_actor_load_curve_cert(config, me, why);
    if (!cert)
        return -1;
    zcert_destroy(&cert);
    struct stat st;
    if (stat(config->data_dir, &st) != 0)
        return ob_why(why, "data_dir %s: %s", config->data_dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ob_why(why, "data_dir %s: not a folder", config->data_dir);
    return s_port_free(config->peer_bind, why);
}

static void s_usage(FILE *to, const char *binary, const char *summary, const char *commands)
{
    fprintf(to,
            "usage: %s --config NODE.zpl [options] [COMMAND ...]\n"
            "%s\n\n"
            "options:\n"
            "  --config FILE     the node config (SPEC §6; ZPL)\n"
            "  --arena-fd N      the node's payload arena, a memfd obcast-node passes\n"
            "  --instance I      %s\n"
            "  --help, --version\n"
            "%s"
            "exit status: 0 ok, 1 failed, 2 bad usage\n",
            binary, summary,
            strcmp(binary, "obcast-verifier") == 0
                ? "which of the node's verifiers this is (0 to verifiers - 1)"
                : "0: one runs per node (obcast-node passes it to every actor)",
            commands ? commands : "");
}

int ob_actor_process_init(ob_actor_process_t *self, int argc, char **argv, const char *binary,
                          const char *summary, const char *commands_help, int *exit_status)
{
    memset(self, 0, sizeof *self);
    ob_log_set_ident(binary);
    *exit_status = 2;
    const char *config_path = NULL;
    long arena_fd = -1, instance = 0;
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},   {"arena-fd", required_argument, NULL, 'a'},
        {"instance", required_argument, NULL, 'i'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},        {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c;
    char *end;
    /* "+": options end at the first command word. */
    while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'a':
            errno = 0;
            arena_fd = strtol(optarg, &end, 10);
            if (errno || *end || arena_fd < 0 || arena_fd > 65535) {
                fprintf(stderr, "%s: --arena-fd: not a descriptor number: '%s'\n", binary, optarg);
                return -1;
            }
            break;
        case 'i':
            errno = 0;
            instance = strtol(optarg, &end, 10);
            if (errno || *end || instance < 0 || instance > 63) {
                fprintf(stderr, "%s: --instance: must be 0 to 63, not '%s'\n", binary, optarg);
                return -1;
            }
            break;
        case 'h':
            s_usage(stdout, binary, summary, commands_help);
            *exit_status = 0;
            return -1;
        case 'V':
            printf("%s %s\n", binary, OBCAST_VERSION);
            *exit_status = 0;
            return -1;
        default:
            fprintf(stderr, "%s: unknown option '%s' (see --help)\n", binary,
                    argv[optind - 1] ? argv[optind - 1] : "?");
            return -1;
        }
    }
    self->command_argc = argc - optind;
    self->command_argv = argv + optind;
    if (!config_path) {
        fprintf(stderr, "%s: no --config given (see --help)\n", binary);
        return -1;
    }
    *exit_status = 1;
    ob_why_t why = {{0}};
    self->crypto = ob_crypto_new();
    if (!self->crypto) {
        fprintf(stderr, "%s: no entropy for a crypto context\n", binary);
        return -1;
    }
    if (ob_node_config_load(config_path, &self->config, &why) != 0) {
        fprintf(stderr, "%s: %s\n", binary, why.text);
        return -1;
    }
    ob_log_set_level(self->config.log_level);
    self->manifest = ob_manifest_load(self->crypto, self->config.manifest, &why);
    if (!self->manifest) {
        fprintf(stderr, "%s: %s\n", binary, why.text);
        return -1;
    }
    if (!ob_manifest_node_named(self->manifest, self->config.name)) {
        fprintf(stderr, "%s: config %s: node/name: the manifest %s lists no node '%s'\n", binary,
                self->config.path, self->config.manifest, self->config.name);
        return -1;
    }
    self->args.config = &self->config;
    self->args.manifest = self->manifest;
    self->args.instance = (uint32_t)instance;
    ob_shell_endpoints_init(&self->args.endpoints, &self->config, false);
    if (self->command_argc > 0)
        return 0; /* an inspection command: no arena, no sockets */
    if (instance >= (long)self->config.verifiers) {
        fprintf(stderr, "%s: --instance %ld: the config runs %u verifiers\n", binary, instance,
                self->config.verifiers);
        return -1;
    }
    if (ob_shell_runtime_dir(self->config.runtime_dir, &why) != 0) {
        fprintf(stderr, "%s: config %s: %s\n", binary, self->config.path, why.text);
        return -1;
    }
    if (arena_fd < 0) {
        fprintf(stderr,
                "%s: no --arena-fd: an actor runs under obcast-node, which makes the node's "
                "payload arena (or run `obcast-node --inproc`)\n",
                binary);
        return -1;
    }
    self->arena = ob_arena_map_shared((int)arena_fd, &why);
    if (!self->arena) {
        fprintf(stderr, "%s: --arena-fd %ld: %s\n", binary, arena_fd, why.text);
        return -1;
    }
    self->args.arena = self->arena;
    /* Its parent-death signal was armed before the exec (ob_actor_spawn_guard):
       here, after loading files, would leave the start-up unguarded. */
    *exit_status = 0;
    return 0;
}

void ob_actor_process_fini(ob_actor_process_t *self)
{
    ob_arena_destroy(&self->arena);
    ob_manifest_destroy(&self->manifest);
    ob_crypto_destroy(&self->crypto);
}

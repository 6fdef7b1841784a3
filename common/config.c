#include "config.h"

#include "hex.h"

#include <czmq.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_NODES  1024
#define S_MAX_EPOCHS 4096
#define S_MAX_FILE   (4u << 20)

struct _ob_manifest_t {
    ob_namespace_t ns;
    uint32_t max_payload;
    ob_epochs_t *epochs;
    ob_manifest_node_t *nodes;
    size_t node_count;
};

/* --- ZPL loading with the parser's own message -------------------------- */

/* zconfig reports syntax errors through the czmq log; catch that line so
   our error can carry it. */
static zconfig_t *s_load(const char *kind, const char *path, ob_why_t *why)
{
    /* Read here, bounded, then parsed from memory: zconfig_load leaks its
       file object when the syntax is wrong. */
    FILE *f = fopen(path, "r");
    if (!f) {
        ob_why(why, "%s %s: cannot open: %s", kind, path, strerror(errno));
        return NULL;
    }
    char *text = malloc(S_MAX_FILE + 1);
    size_t len = text ? fread(text, 1, S_MAX_FILE + 1, f) : 0;
    bool failed = !text || ferror(f);
    fclose(f);
    if (failed || len > S_MAX_FILE) {
        ob_why(why, "%s %s: %s", kind, path,
               failed ? "cannot read" : "larger than 4 MiB; not a config file");
        free(text);
        return NULL;
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        free(text);
        ob_why(why, "%s %s: holds a NUL byte; not a text file", kind, path);
        return NULL;
    }
    /* zconfig reports a syntax error through the czmq log (on stdout), with
       its line. Catch it so that our one error line carries it. Configs are
       loaded at start, before any thread, so borrowing stdout is safe. */
    char captured[512] = "";
    FILE *sink = tmpfile();
    int saved = sink ? dup(STDOUT_FILENO) : -1;
    if (saved >= 0) {
        fflush(stdout);
        dup2(fileno(sink), STDOUT_FILENO);
    }
    zconfig_t *root = zconfig_str_load(text);
    free(text);
    if (saved >= 0) {
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        rewind(sink);
        size_t got = fread(captured, 1, sizeof captured - 1, sink);
        captured[got] = '\0';
    }
    if (sink)
        fclose(sink);
    if (!root) {
        /* "... E (zconfig): (3) indent 4 spaces at once" -> "line 3: ..." */
        const char *detail = strstr(captured, "(zconfig): ");
        char line[160] = "not valid ZPL";
        if (detail) {
            detail += strlen("(zconfig): ");
            int lineno = 0, used = 0;
            if (sscanf(detail, "(%d) %n", &lineno, &used) == 1 && used > 0)
                snprintf(line, sizeof line, "line %d: %.*s", lineno,
                         (int)strcspn(detail + used, "\n"), detail + used);
        }
        ob_why(why, "%s %s: %s", kind, path, line);
    }
    return root;
}

/* --- typed settings -------------------------------------------------------- */

typedef struct {
    const char *kind; /* "manifest" or "config" */
    const char *path;
    ob_why_t *why;
} s_ctx_t;

static int s_fail(const s_ctx_t *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(const s_ctx_t *c, const char *where, const char *fmt, ...)
{
    char what[OB_WHY_LEN];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    return ob_why(c->why, "%s %s: %s: %s", c->kind, c->path, where, what);
}

static int s_u64(const s_ctx_t *c, const char *where, const char *text, uint64_t min, uint64_t max,
                 uint64_t *out)
{
    if (!text || !*text || !isdigit((unsigned char)text[0]))
        return s_fail(c, where, "not a whole number: '%s'", text ? text : "");
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end)
        return s_fail(c, where, "not a whole number: '%s'", text);
    if (v < min || v > max)
        return s_fail(c, where, "%s is out of range (%llu to %llu)", text, (unsigned long long)min,
                      (unsigned long long)max);
    *out = v;
    return 0;
}

static int s_copy(const s_ctx_t *c, const char *where, const char *text, char *out, size_t cap)
{
    if (!text || !*text)
        return s_fail(c, where, "missing or empty");
    if (strlen(text) >= cap)
        return s_fail(c, where, "too long: '%.60s...'", text);
    memcpy(out, text, strlen(text) + 1);
    return 0;
}

static bool s_valid_name(const char *name)
{
    if (!*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return false;
    return true;
}

/* Every child of `node` must be one of `allowed`. */
static int s_only(const s_ctx_t *c, zconfig_t *node, const char *where, const char *const *allowed)
{
    for (zconfig_t *child = zconfig_child(node); child; child = zconfig_next(child)) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(zconfig_name(child), *a) == 0;
        if (!ok)
            return s_fail(c, where, "unknown setting '%s'", zconfig_name(child));
    }
    return 0;
}

/* --- the manifest ---------------------------------------------------------- */

static int s_manifest_node(const s_ctx_t *c, ob_crypto_t *crypto, zconfig_t *entry, size_t index,
                           ob_manifest_node_t *node)
{
    static const char *const allowed[] = {"name", "key", "endpoint", "curve_key", NULL};
    char where[96];
    snprintf(where, sizeof where, "node %zu", index + 1);
    if (s_only(c, entry, where, allowed) != 0)
        return -1;
    const char *name = zconfig_get(entry, "name", NULL);
    if (s_copy(c, where, name, node->name, sizeof node->name) != 0)
        return -1;
    if (!s_valid_name(node->name))
        return s_fail(c, where, "name '%s' may hold only letters, digits, '-', '_' and '.'",
                      node->name);
    snprintf(where, sizeof where, "node %s", node->name);
    const char *key = zconfig_get(entry, "key", "");
    ob_pubkey_t parsed;
    if (ob_hex_decode_exact(key, node->key, 32) != 0)
        return s_fail(c, where, "key must be 64 hex digits, not '%s'", key);
    if (ob_pubkey_parse(crypto, node->key, &parsed) != 0)
        return s_fail(c, where, "key %s is not a valid x-only public key", key);
    const char *endpoint = zconfig_get(entry, "endpoint", NULL);
    if (s_copy(c, where, endpoint, node->endpoint, sizeof node->endpoint) != 0)
        return -1;
    if (strncmp(node->endpoint, "tcp://", 6) != 0)
        return s_fail(c, where, "endpoint must be tcp://host:port, not '%s'", node->endpoint);
    const char *curve = zconfig_get(entry, "curve_key", "");
    uint8_t raw[32];
    if (strlen(curve) != OB_Z85_KEY_LEN || !zmq_z85_decode(raw, curve))
        return s_fail(c, where, "curve_key must be 40 Z85 characters, not '%s'", curve);
    memcpy(node->curve_key, curve, OB_Z85_KEY_LEN + 1);
    return 0;
}

/* Turns "node0 node1" into a key set, by names of the manifest's nodes. */
static ob_keyset_t *s_set(const s_ctx_t *c, ob_crypto_t *crypto, const ob_manifest_t *m,
                          const char *where, const char *names)
{
    if (!names || !*names) {
        s_fail(c, where, "empty: an epoch needs at least one");
        return NULL;
    }
    uint8_t(*keys)[32] = calloc(m->node_count, 32);
    if (!keys)
        return NULL;
    size_t count = 0;
    char *copy = strdup(names), *save = NULL;
    ob_keyset_t *set = NULL;
    for (char *tok = strtok_r(copy, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
        const ob_manifest_node_t *node = ob_manifest_node_named(m, tok);
        if (!node) {
            s_fail(c, where, "no node named '%s'", tok);
            goto out;
        }
        for (size_t i = 0; i < count; i++) {
            if (memcmp(keys[i], node->key, 32) == 0) {
                s_fail(c, where, "'%s' is listed twice", tok);
                goto out;
            }
        }
        memcpy(keys[count++], node->key, 32);
    }
    ob_why_t inner;
    set = ob_keyset_new(crypto, (const uint8_t(*)[32])keys, count, &inner);
    if (!set)
        s_fail(c, where, "%s", inner.text);
out:
    free(copy);
    free(keys);
    return set;
}

static int s_manifest_epochs(const s_ctx_t *c, ob_crypto_t *crypto, ob_manifest_t *m,
                             zconfig_t *root)
{
    static const char *const allowed[] = {"number", "validators", "sequencers", NULL};
    size_t index = 0;
    for (zconfig_t *e = zconfig_child(root); e; e = zconfig_next(e)) {
        if (strcmp(zconfig_name(e), "epoch") != 0)
            continue;
        char where[96];
        snprintf(where, sizeof where, "epoch %zu", ++index);
        if (index > S_MAX_EPOCHS)
            return s_fail(c, where, "more than %d epochs", S_MAX_EPOCHS);
        if (s_only(c, e, where, allowed) != 0)
            return -1;
        uint64_t number = 0;
        snprintf(where, sizeof where, "epoch %zu/number", index);
        if (s_u64(c, where, zconfig_get(e, "number", NULL), 0, UINT64_MAX, &number) != 0)
            return -1;
        if (ob_epochs_count(m->epochs) > 0 && number <= ob_epochs_latest(m->epochs))
            return s_fail(c, where, "epochs must increase; %s is not above the one before",
                          zconfig_get(e, "number", ""));
        snprintf(where, sizeof where, "epoch %llu/validators", (unsigned long long)number);
        ob_keyset_t *v = s_set(c, crypto, m, where, zconfig_get(e, "validators", NULL));
        if (!v)
            return -1;
        snprintf(where, sizeof where, "epoch %llu/sequencers", (unsigned long long)number);
        ob_keyset_t *s = s_set(c, crypto, m, where, zconfig_get(e, "sequencers", NULL));
        if (!s) {
            ob_keyset_destroy(&v);
            return -1;
        }
        if (ob_epochs_add(m->epochs, number, &v, &s, c->why) != 0) {
            ob_keyset_destroy(&v);
            ob_keyset_destroy(&s);
            return -1;
        }
    }
    if (index == 0)
        return s_fail(c, "epoch", "the manifest lists no epoch");
    return 0;
}

ob_manifest_t *ob_manifest_load(ob_crypto_t *crypto, const char *path, ob_why_t *why)
{
    s_ctx_t c = {"manifest", path, why};
    zconfig_t *file = s_load("manifest", path, why);
    if (!file)
        return NULL;
    ob_manifest_t *m = calloc(1, sizeof *m);
    zconfig_t *root = zconfig_locate(file, "obcast");
    static const char *const allowed[] = {"namespace", "max_payload", "node", "epoch", NULL};
    int rc = -1;
    if (!m) {
        ob_why(why, "manifest %s: out of memory", path);
        goto out;
    }
    m->epochs = ob_epochs_new();
    m->nodes = calloc(S_MAX_NODES, sizeof *m->nodes);
    if (!m->epochs || !m->nodes) {
        ob_why(why, "manifest %s: out of memory", path);
        goto out;
    }
    static const char *const top[] = {"obcast", NULL};
    if (!root) {
        s_fail(&c, "obcast", "missing: the manifest's settings go under 'obcast'");
        goto out;
    }
    if (s_only(&c, file, "top level", top) != 0)
        goto out;
    if (s_only(&c, root, "obcast", allowed) != 0)
        goto out;
    const char *ns = zconfig_get(root, "namespace", "");
    ob_why_t inner;
    if (ob_namespace_init(&m->ns, crypto, ns, strlen(ns), &inner) != 0) {
        s_fail(&c, "obcast/namespace", "%s", inner.text);
        goto out;
    }
    uint64_t max_payload = 1u << 20;
    if (zconfig_get(root, "max_payload", NULL) &&
        s_u64(&c, "obcast/max_payload", zconfig_get(root, "max_payload", NULL), 1,
              OB_MAX_PAYLOAD_LIMIT, &max_payload) != 0)
        goto out;
    m->max_payload = (uint32_t)max_payload;
    for (zconfig_t *n = zconfig_child(root); n; n = zconfig_next(n)) {
        if (strcmp(zconfig_name(n), "node") != 0)
            continue;
        if (m->node_count == S_MAX_NODES) {
            s_fail(&c, "node", "more than %d nodes", S_MAX_NODES);
            goto out;
        }
        ob_manifest_node_t *node = &m->nodes[m->node_count];
        if (s_manifest_node(&c, crypto, n, m->node_count, node) != 0)
            goto out;
        for (size_t i = 0; i < m->node_count; i++) {
            char where[96];
            snprintf(where, sizeof where, "node %s", node->name);
            if (strcmp(m->nodes[i].name, node->name) == 0) {
                s_fail(&c, where, "the name is used twice");
                goto out;
            }
            if (memcmp(m->nodes[i].key, node->key, 32) == 0) {
                s_fail(&c, where, "its key is also node %s's", m->nodes[i].name);
                goto out;
            }
            if (strcmp(m->nodes[i].curve_key, node->curve_key) == 0) {
                s_fail(&c, where, "its curve_key is also node %s's", m->nodes[i].name);
                goto out;
            }
        }
        m->node_count++;
    }
    if (m->node_count == 0) {
        s_fail(&c, "node", "the manifest lists no node");
        goto out;
    }
    rc = s_manifest_epochs(&c, crypto, m, root);
out:
    zconfig_destroy(&file);
    if (rc != 0)
        ob_manifest_destroy(&m);
    return m;
}

void ob_manifest_destroy(ob_manifest_t **self_p)
{
    ob_manifest_t *self = *self_p;
    if (!self)
        return;
    ob_epochs_destroy(&self->epochs);
    free(self->nodes);
    free(self);
    *self_p = NULL;
}

const ob_namespace_t *ob_manifest_namespace(const ob_manifest_t *self)
{
    return &self->ns;
}

uint32_t ob_manifest_max_payload(const ob_manifest_t *self)
{
    return self->max_payload;
}

const ob_epochs_t *ob_manifest_epochs(const ob_manifest_t *self)
{
    return self->epochs;
}

size_t ob_manifest_node_count(const ob_manifest_t *self)
{
    return self->node_count;
}

const ob_manifest_node_t *ob_manifest_node(const ob_manifest_t *self, size_t i)
{
    return i < self->node_count ? &self->nodes[i] : NULL;
}

const ob_manifest_node_t *ob_manifest_node_named(const ob_manifest_t *self, const char *name)
{
    for (size_t i = 0; i < self->node_count; i++)
        if (strcmp(self->nodes[i].name, name) == 0)
            return &self->nodes[i];
    return NULL;
}

const ob_manifest_node_t *ob_manifest_node_with_key(const ob_manifest_t *self,
                                                    const uint8_t key[32])
{
    for (size_t i = 0; i < self->node_count; i++)
        if (memcmp(self->nodes[i].key, key, 32) == 0)
            return &self->nodes[i];
    return NULL;
}

/* --- the node config --------------------------------------------------------- */

/* A path relative to the config file's folder. */
static int s_path(const s_ctx_t *c, const char *where, const char *text, const char *base_dir,
                  char *out)
{
    if (!text || !*text)
        return s_fail(c, where, "missing or empty");
    int n = text[0] == '/' ? snprintf(out, PATH_MAX, "%s", text)
                           : snprintf(out, PATH_MAX, "%s/%s", base_dir, text);
    if (n < 0 || n >= PATH_MAX)
        return s_fail(c, where, "path too long: '%.60s...'", text);
    return 0;
}

/* An optional SECTION/NAME in [min, max], kept in *value if set. */
static int s_optional(const s_ctx_t *c, zconfig_t *section, const char *section_name,
                      const char *name, uint64_t min, uint64_t max, uint64_t *value)
{
    const char *text = zconfig_get(section, name, NULL);
    if (!text)
        return 0;
    char where[96];
    snprintf(where, sizeof where, "%s/%s", section_name, name);
    return s_u64(c, where, text, min, max, value);
}

static int s_tunable(const s_ctx_t *c, zconfig_t *section, const char *name, uint64_t min,
                     uint64_t max, uint64_t *value)
{
    return s_optional(c, section, "tunables", name, min, max, value);
}

/* libzmq takes its times as int. */
static int s_node_u32(const s_ctx_t *c, zconfig_t *node, const char *name, uint64_t min,
                      uint64_t max, uint32_t *value)
{
    uint64_t v = *value;
    if (s_optional(c, node, "node", name, min, max, &v) != 0)
        return -1;
    *value = (uint32_t)v;
    return 0;
}

/* node/metrics_http: "ADDRESS:PORT", an IPv4 address (the HTTP server
   binds it; "0.0.0.0" for every interface) and a port 1-65535. */
static int s_metrics_http(const s_ctx_t *c, const char *text, ob_node_config_t *out)
{
    if (!text)
        return 0;
    const char *colon = strrchr(text, ':');
    struct in_addr addr;
    char host[sizeof out->metrics_http_host];
    size_t host_len = colon ? (size_t)(colon - text) : 0;
    if (!colon || host_len == 0 || host_len >= sizeof host)
        return s_fail(c, "node/metrics_http",
                      "must be ADDRESS:PORT (for example 127.0.0.1:9464), not '%s'", text);
    memcpy(host, text, host_len);
    host[host_len] = '\0';
    if (inet_pton(AF_INET, host, &addr) != 1)
        return s_fail(c, "node/metrics_http", "'%s' in '%s' is not an IPv4 address", host, text);
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!isdigit((unsigned char)colon[1]) || *end || errno || port < 1 || port > 65535)
        return s_fail(c, "node/metrics_http", "the port in '%s' must be 1 to 65535", text);
    snprintf(out->metrics_http_host, sizeof out->metrics_http_host, "%s", host);
    out->metrics_http_port = (uint16_t)port;
    return 0;
}

static int s_peer_links(const s_ctx_t *c, zconfig_t *node, ob_node_config_t *out)
{
    if (s_node_u32(c, node, "peer_heartbeat_ms", 0, 60000, &out->peer_heartbeat_ms) != 0 ||
        s_node_u32(c, node, "peer_heartbeat_timeout_ms", 10, 3600000,
                   &out->peer_heartbeat_timeout_ms) != 0 ||
        s_node_u32(c, node, "peer_connect_timeout_ms", 0, 3600000, &out->peer_connect_timeout_ms) !=
            0 ||
        s_node_u32(c, node, "peer_reconnect_max_ms", OB_PEER_RECONNECT_MS, 3600000,
                   &out->peer_reconnect_max_ms) != 0 ||
        s_node_u32(c, node, "peer_rto_max_ms", 0, 120000, &out->peer_rto_max_ms) != 0 ||
        s_node_u32(c, node, "peer_rto_min_ms", 0, 200, &out->peer_rto_min_ms) != 0)
        return -1;
    if (out->peer_rto_min_ms > 0 && out->peer_rto_min_ms < 5)
        return s_fail(c, "node/peer_rto_min_ms",
                      "%u: the kernel takes 5 to 200 ms, or 0 for its own (200 ms)",
                      (unsigned)out->peer_rto_min_ms);
    if (out->peer_rto_max_ms > 0 && out->peer_rto_max_ms < 1000)
        return s_fail(c, "node/peer_rto_max_ms",
                      "%u: the kernel takes 1000 to 120000 ms, or 0 for its own backoff",
                      (unsigned)out->peer_rto_max_ms);
    /* One PING lost or late must not drop a healthy link. */
    if (out->peer_heartbeat_ms > 0 &&
        out->peer_heartbeat_timeout_ms < 2 * (uint64_t)out->peer_heartbeat_ms)
        return s_fail(c, "node/peer_heartbeat_timeout_ms",
                      "%u is less than two heartbeats (peer_heartbeat_ms = %u): one late PING "
                      "would drop a healthy link",
                      (unsigned)out->peer_heartbeat_timeout_ms, (unsigned)out->peer_heartbeat_ms);
    return 0;
}

int ob_node_config_load(const char *path, ob_node_config_t *out, ob_why_t *why)
{
    s_ctx_t c = {"config", path, why};
    memset(out, 0, sizeof *out);
    zconfig_t *file = s_load("config", path, why);
    if (!file)
        return -1;
    int rc = -1;
    char dir_copy[PATH_MAX];
    snprintf(dir_copy, sizeof dir_copy, "%s", path);
    const char *base = dirname(dir_copy);
    snprintf(out->path, sizeof out->path, "%s", path);
    out->params = OB_PARAMS_DEFAULT;
    out->journal_sync = OB_DB_SYNC_FULL;
    out->arena_slots = 256;
    out->batch_bytes = OB_MAX_PAYLOAD_LIMIT;
    out->batch_slow_ms = OB_BATCH_SLOW_MS;
    out->verifiers = 1;
    out->max_restarts = 20;
    out->restart_window_ms = 60000;
    out->log_level = OB_LOG_INFO;
    out->peer_heartbeat_ms = OB_PEER_HEARTBEAT_MS;
    out->peer_heartbeat_timeout_ms = OB_PEER_HEARTBEAT_TIMEOUT_MS;
    out->peer_connect_timeout_ms = OB_PEER_CONNECT_TIMEOUT_MS;
    out->peer_reconnect_max_ms = OB_PEER_RECONNECT_MAX_MS;
    out->peer_rto_max_ms = OB_PEER_RTO_MAX_MS;
    out->peer_rto_min_ms = OB_PEER_RTO_MIN_MS;

    static const char *const top[] = {"node", "tunables", NULL};
    static const char *const node_keys[] = {"name",
                                            "manifest",
                                            "key_file",
                                            "curve_secret_file",
                                            "data_dir",
                                            "runtime_dir",
                                            "peer_bind",
                                            "app_endpoint",
                                            "submit_endpoint",
                                            "control_endpoint",
                                            "monitor_endpoint",
                                            "metrics_http",
                                            "durability",
                                            "log_level",
                                            "arena_slots",
                                            "verifiers",
                                            "client_keys",
                                            "app_keys",
                                            "operator_keys",
                                            "application",
                                            "batch",
                                            "batch_bytes",
                                            "batch_slow_ms",
                                            "max_restarts",
                                            "restart_window_ms",
                                            "peer_heartbeat_ms",
                                            "peer_heartbeat_timeout_ms",
                                            "peer_connect_timeout_ms",
                                            "peer_reconnect_max_ms",
                                            "peer_rto_max_ms",
                                            "peer_rto_min_ms",
                                            NULL};
    static const char *const tunable_keys[] = {
        "propose_timeout_ms", "rebroadcast_timeout_ms", "epoch_bounds_lo",
        "epoch_bounds_hi",    "height_bound",           "retention",
        "fetch_budget",       "fetch_budget_bytes",     "block_ms",
        "fetch_outstanding",  "fetch_retry_ms",         NULL};
    zconfig_t *node = zconfig_locate(file, "node");
    zconfig_t *tunables = zconfig_locate(file, "tunables");
    if (s_only(&c, file, "top level", top) != 0)
        goto out;
    if (!node) {
        s_fail(&c, "node", "missing: the node's settings go under 'node'");
        goto out;
    }
    if (s_only(&c, node, "node", node_keys) != 0 ||
        (tunables && s_only(&c, tunables, "tunables", tunable_keys) != 0))
        goto out;
    if (s_copy(&c, "node/name", zconfig_get(node, "name", NULL), out->name, sizeof out->name) !=
            0 ||
        s_path(&c, "node/manifest", zconfig_get(node, "manifest", NULL), base, out->manifest) !=
            0 ||
        s_path(&c, "node/key_file", zconfig_get(node, "key_file", NULL), base, out->key_file) !=
            0 ||
        s_path(&c, "node/curve_secret_file", zconfig_get(node, "curve_secret_file", NULL), base,
               out->curve_secret_file) != 0 ||
        s_path(&c, "node/data_dir", zconfig_get(node, "data_dir", NULL), base, out->data_dir) !=
            0 ||
        s_path(&c, "node/runtime_dir", zconfig_get(node, "runtime_dir", NULL), base,
               out->runtime_dir) != 0 ||
        s_copy(&c, "node/peer_bind", zconfig_get(node, "peer_bind", NULL), out->peer_bind,
               sizeof out->peer_bind) != 0)
        goto out;
    /* Local endpoints default to ipc:// sockets in the runtime folder. */
    struct {
        const char *key;
        char *value;
        const char *socket;
    } locals[] = {{"app_endpoint", out->app_endpoint, "app"},
                  {"submit_endpoint", out->submit_endpoint, "submit"},
                  {"control_endpoint", out->control_endpoint, "control"},
                  {"monitor_endpoint", out->monitor_endpoint, "monitor"}};
    for (size_t i = 0; i < sizeof locals / sizeof *locals; i++) {
        const char *v = zconfig_get(node, locals[i].key, NULL);
        char where[64];
        snprintf(where, sizeof where, "node/%s", locals[i].key);
        if (v) {
            if (s_copy(&c, where, v, locals[i].value, OB_ENDPOINT_MAX) != 0)
                goto out;
        } else if (snprintf(locals[i].value, OB_ENDPOINT_MAX, "ipc://%s/%s", out->runtime_dir,
                            locals[i].socket) >= OB_ENDPOINT_MAX) {
            s_fail(&c, where, "runtime_dir is too long for an ipc endpoint");
            goto out;
        }
    }
    /* Each local socket admits only its own list (SPEC §4). */
    struct {
        const char *key;
        char *value;
    } lists[] = {{"app_keys", out->app_keys},
                 {"client_keys", out->client_keys},
                 {"operator_keys", out->operator_keys},
                 {"operator_keys", out->operator_keys}};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        char where[64];
        snprintf(where, sizeof where, "node/%s", lists[i].key);
        if (!lists[i].value[0] && zconfig_get(node, lists[i].key, NULL) &&
            s_path(&c, where, zconfig_get(node, lists[i].key, NULL), base, lists[i].value) != 0)
            goto out;
    }
    for (size_t i = 0; i < sizeof locals / sizeof *locals; i++) {
        if (strncmp(locals[i].value, "tcp://", 6) == 0 && !lists[i].value[0]) {
            char where[64];
            snprintf(where, sizeof where, "node/%s", locals[i].key);
            s_fail(&c, where,
                   "a TCP endpoint needs node/%s, the folder of the CURVE "
                   "certificates allowed to connect (SPEC §4)",
                   lists[i].key);
            goto out;
        }
    }
    if (s_metrics_http(&c, zconfig_get(node, "metrics_http", NULL), out) != 0)
        goto out;
    const char *application = zconfig_get(node, "application", "builtin");
    if (strcmp(application, "builtin") == 0)
        out->application = OB_APPLICATION_BUILTIN;
    else if (strcmp(application, "external") == 0)
        out->application = OB_APPLICATION_EXTERNAL;
    else {
        s_fail(&c, "node/application",
               "must be 'builtin' (proposals from the submit queue) or 'external' (an "
               "application on app_endpoint), not '%s'",
               application);
        goto out;
    }
    const char *batch = zconfig_get(node, "batch", "on");
    if (strcmp(batch, "on") != 0 && strcmp(batch, "off") != 0) {
        s_fail(&c, "node/batch",
               "must be 'on' (a proposal carries the queued payloads up to batch_bytes) or "
               "'off' (one payload per chunk), not '%s'",
               batch);
        goto out;
    }
    uint64_t batch_bytes = OB_MAX_PAYLOAD_LIMIT;
    if (zconfig_get(node, "batch_bytes", NULL) &&
        s_u64(&c, "node/batch_bytes", zconfig_get(node, "batch_bytes", NULL), 0,
              OB_MAX_PAYLOAD_LIMIT, &batch_bytes) != 0)
        goto out;
    out->batch_bytes = strcmp(batch, "off") == 0 ? 0 : (uint32_t)batch_bytes;
    uint64_t batch_slow_ms = OB_BATCH_SLOW_MS;
    if (zconfig_get(node, "batch_slow_ms", NULL) &&
        s_u64(&c, "node/batch_slow_ms", zconfig_get(node, "batch_slow_ms", NULL), 0, 60000,
              &batch_slow_ms) != 0)
        goto out;
    out->batch_slow_ms = (uint32_t)batch_slow_ms;
    const char *durability = zconfig_get(node, "durability", "power");
    if (strcmp(durability, "power") == 0)
        out->journal_sync = OB_DB_SYNC_FULL;
    else if (strcmp(durability, "process") == 0)
        out->journal_sync = OB_DB_SYNC_NORMAL;
    else {
        s_fail(&c, "node/durability", "must be 'power' or 'process', not '%s'", durability);
        goto out;
    }
    const char *level = zconfig_get(node, "log_level", "info");
    if (ob_log_level_parse(level, &out->log_level) != 0) {
        s_fail(&c, "node/log_level", "must be debug, info, warn or error, not '%s'", level);
        goto out;
    }
    uint64_t v = 0;
    if (zconfig_get(node, "arena_slots", NULL)) {
        if (s_u64(&c, "node/arena_slots", zconfig_get(node, "arena_slots", NULL), 4, 65536, &v) !=
            0)
            goto out;
        out->arena_slots = (uint32_t)v;
    }
    if (zconfig_get(node, "max_restarts", NULL)) {
        if (s_u64(&c, "node/max_restarts", zconfig_get(node, "max_restarts", NULL), 0, 10000, &v) !=
            0)
            goto out;
        out->max_restarts = (uint32_t)v;
    }
    if (zconfig_get(node, "restart_window_ms", NULL)) {
        if (s_u64(&c, "node/restart_window_ms", zconfig_get(node, "restart_window_ms", NULL), 1000,
                  86400000, &v) != 0)
            goto out;
        out->restart_window_ms = v;
    }
    if (zconfig_get(node, "verifiers", NULL)) {
        if (s_u64(&c, "node/verifiers", zconfig_get(node, "verifiers", NULL), 1, 64, &v) != 0)
            goto out;
        out->verifiers = (uint32_t)v;
    }
    if (s_peer_links(&c, node, out) != 0)
        goto out;
    ob_params_t *p = &out->params;
    if (tunables &&
        (s_tunable(&c, tunables, "propose_timeout_ms", 1, 3600000, &p->propose_timeout_ms) != 0 ||
         s_tunable(&c, tunables, "rebroadcast_timeout_ms", 1, 3600000,
                   &p->rebroadcast_timeout_ms) != 0 ||
         s_tunable(&c, tunables, "epoch_bounds_lo", 0, 1000000, &p->epoch_bounds_lo) != 0 ||
         s_tunable(&c, tunables, "epoch_bounds_hi", 0, 1000000, &p->epoch_bounds_hi) != 0 ||
         s_tunable(&c, tunables, "height_bound", 0, 1000000, &p->height_bound) != 0 ||
         s_tunable(&c, tunables, "retention", 0, UINT64_MAX / 2, &p->retention) != 0 ||
         s_tunable(&c, tunables, "fetch_budget", 1, 1000000, &p->fetch_budget) != 0 ||
         s_tunable(&c, tunables, "fetch_budget_bytes", 1, UINT64_MAX / 2, &p->fetch_budget_bytes) !=
             0 ||
         s_tunable(&c, tunables, "block_ms", 0, 86400000, &p->block_ms) != 0 ||
         s_tunable(&c, tunables, "fetch_outstanding", 1, 1024, &p->fetch_outstanding) != 0 ||
         s_tunable(&c, tunables, "fetch_retry_ms", 1, 3600000, &p->fetch_retry_ms) != 0))
        goto out;
    rc = 0;
out:
    zconfig_destroy(&file);
    return rc;
}

int ob_node_client_endpoint(const char *path, const char *socket, char *endpoint, char *server_key,
                            ob_why_t *why)
{
    ob_node_config_t config;
    if (ob_node_config_load(path, &config, why) != 0)
        return -1;
    if (!endpoint[0]) {
        const char *configured = strcmp(socket, "app") == 0       ? config.app_endpoint
                                 : strcmp(socket, "submit") == 0  ? config.submit_endpoint
                                 : strcmp(socket, "control") == 0 ? config.control_endpoint
                                                                  : config.monitor_endpoint;
        snprintf(endpoint, OB_ENDPOINT_MAX, "%s", configured);
    }
    if (strncmp(endpoint, "tcp://", 6) != 0 || server_key[0])
        return 0;
    ob_crypto_t *crypto = ob_crypto_new();
    if (!crypto)
        return ob_why(why, "no entropy for a crypto context");
    ob_manifest_t *manifest = ob_manifest_load(crypto, config.manifest, why);
    ob_crypto_destroy(&crypto);
    if (!manifest)
        return -1;
    const ob_manifest_node_t *node = ob_manifest_node_named(manifest, config.name);
    if (node)
        snprintf(server_key, OB_Z85_KEY_LEN + 1, "%s", node->curve_key);
    ob_manifest_destroy(&manifest);
    return node ? 0 : ob_why(why, "%s: node '%s' is not in its manifest", path, config.name);
}

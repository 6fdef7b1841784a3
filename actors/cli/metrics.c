/*  obcast metrics: one `metrics` event from each actor of a running node
    (through its monitoring socket), printed as Prometheus text.

    The events are our own JSON (objects, plain strings, whole numbers,
    booleans), read here by a small strict parser. A number at the path
    a.b.c of actor A becomes `obcast_A_a_b_c{node=...,instance=...}`; the
    members of the maps below become labels instead of name parts.

    A histogram (common/metrics.h) also carries "buckets": [[upper_us,
    count], ...], its non-empty buckets in order. They become a Prometheus
    histogram of the same name: `..._bucket{...,le="upper"}` with the
    cumulative count, le="+Inf", and `..._sum` next to its `..._count`. */
#include "args.h"
#include "cli.h"
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <czmq.h>
#include <getopt.h>
#include <string.h>

#define S_MAX_ACTORS 67
#define S_MAX_DEPTH  6

/* Objects whose keys are values of one label. */
static const struct {
    const char *object, *label;
} s_label_maps[] = {{"drops", "error"},        {"refused", "error"},  {"acks_dropped", "error"},
                    {"sign_refused", "error"}, {"tips", "sequencer"}, {"peers", "peer"}};

typedef struct {
    const char *p;
    FILE *out;
    char node[OB_NAME_MAX];
    char actor[16];
    unsigned instance;
    char path[S_MAX_DEPTH][48];
    int depth;
    char label[32], label_value[64];
    int label_depth; /* the depth whose keys are label values; -1 none */
    bool error;
    unsigned long long sum; /* the last "sum_us" seen, at sum_depth */
    int sum_depth;
} s_parser_t;

static void s_skip(s_parser_t *self)
{
    while (*self->p == ' ')
        self->p++;
}

static bool s_string(s_parser_t *self, char *out, size_t cap)
{
    s_skip(self);
    if (*self->p != '"')
        return false;
    const char *end = strchr(self->p + 1, '"');
    if (!end || (size_t)(end - self->p - 1) >= cap)
        return false;
    memcpy(out, self->p + 1, (size_t)(end - self->p - 1));
    out[end - self->p - 1] = '\0';
    self->p = end + 1;
    return true;
}

static void s_sanitize(char *name)
{
    for (char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_')
            *c = '_';
}

/* One sample named by the path's first `depth` keys and `suffix`, with
   `le` as an extra label when not NULL. */
static void s_sample(s_parser_t *self, int depth, const char *suffix, const char *le,
                     unsigned long long value)
{
    char name[512];
    int used = snprintf(name, sizeof name, "obcast_%s", self->actor);
    for (int i = 0; i < depth && used > 0 && (size_t)used < sizeof name; i++) {
        if (i == self->label_depth)
            continue; /* that key is a label value */
        used += snprintf(name + used, sizeof name - (size_t)used, "_%s", self->path[i]);
    }
    if (suffix && used > 0 && (size_t)used < sizeof name)
        snprintf(name + used, sizeof name - (size_t)used, "_%s", suffix);
    s_sanitize(name);
    fprintf(self->out, "%s{node=\"%s\",instance=\"%u\"", name, self->node, self->instance);
    if (self->label_depth >= 0 && self->label_depth < depth)
        fprintf(self->out, ",%s=\"%s\"", self->label, self->path[self->label_depth]);
    if (le)
        fprintf(self->out, ",le=\"%s\"", le);
    fprintf(self->out, "} %llu\n", value);
}

static void s_emit(s_parser_t *self, unsigned long long value)
{
    if (self->depth == 1 && streq(self->path[0], "instance"))
        return; /* a label already */
    s_sample(self, self->depth, NULL, NULL, value);
}

static bool s_number(s_parser_t *self, unsigned long long *value)
{
    s_skip(self);
    if (!isdigit((unsigned char)*self->p))
        return false;
    char *end;
    errno = 0;
    *value = strtoull(self->p, &end, 10);
    self->p = end;
    return errno == 0;
}

/* A histogram's [[upper, count], ...]: uppers strictly rising. The
   samples are its parent object's, as Prometheus names a histogram. */
static bool s_buckets(s_parser_t *self)
{
    s_skip(self);
    if (*self->p++ != '[')
        return false;
    int parent = self->depth - 1;
    unsigned long long cumulative = 0, last = 0;
    bool first = true;
    s_skip(self);
    while (*self->p != ']') {
        if (!first && *self->p++ != ',')
            return false;
        unsigned long long upper, count;
        s_skip(self);
        if (*self->p++ != '[' || !s_number(self, &upper))
            return false;
        s_skip(self);
        if (*self->p++ != ',' || !s_number(self, &count))
            return false;
        s_skip(self);
        if (*self->p++ != ']' || (!first && upper <= last) || cumulative + count < cumulative)
            return false;
        first = false;
        last = upper;
        cumulative += count;
        char le[24];
        snprintf(le, sizeof le, "%llu", upper);
        s_sample(self, parent, "bucket", le, cumulative);
        s_skip(self);
    }
    self->p++;
    s_sample(self, parent, "bucket", "+Inf", cumulative);
    if (self->sum_depth == self->depth)
        s_sample(self, parent, "sum", NULL, self->sum);
    return true;
}

static bool s_value(s_parser_t *self);

static bool s_object(s_parser_t *self)
{
    s_skip(self);
    if (*self->p++ != '{' || self->depth >= S_MAX_DEPTH)
        return false;
    self->sum_depth = -1; /* a sum belongs to its own object's buckets */
    s_skip(self);
    if (*self->p == '}') {
        self->p++;
        return true;
    }
    for (;;) {
        char key[48];
        if (!s_string(self, key, sizeof key))
            return false;
        s_skip(self);
        if (*self->p++ != ':')
            return false;
        snprintf(self->path[self->depth], sizeof self->path[0], "%s", key);
        self->depth++;
        int saved_label = self->label_depth;
        for (size_t i = 0; i < sizeof s_label_maps / sizeof s_label_maps[0]; i++)
            if (streq(key, s_label_maps[i].object) && self->label_depth < 0) {
                self->label_depth = self->depth; /* its members' keys */
                snprintf(self->label, sizeof self->label, "%s", s_label_maps[i].label);
            }
        bool ok = s_value(self);
        self->label_depth = saved_label;
        self->depth--;
        if (!ok)
            return false;
        s_skip(self);
        if (*self->p == ',') {
            self->p++;
            continue;
        }
        return *self->p++ == '}';
    }
}

static bool s_value(s_parser_t *self)
{
    s_skip(self);
    if (*self->p == '{')
        return s_object(self);
    if (*self->p == '"') {
        char text[64];
        return s_string(self, text, sizeof text); /* strings are names, not samples */
    }
    if (strncmp(self->p, "true", 4) == 0 || strncmp(self->p, "false", 5) == 0) {
        s_emit(self, *self->p == 't');
        self->p += *self->p == 't' ? 4 : 5;
        return true;
    }
    if (*self->p == '[')
        return self->depth > 1 && streq(self->path[self->depth - 1], "buckets") && s_buckets(self);
    unsigned long long v;
    if (!s_number(self, &v))
        return false;
    if (self->depth > 0 && streq(self->path[self->depth - 1], "sum_us")) {
        self->sum = v;
        self->sum_depth = self->depth;
    }
    s_emit(self, v);
    return true;
}

int ob_cli_metrics_print(const char *json, const char *node, FILE *out)
{
    s_parser_t parser = {.p = json, .out = out, .label_depth = -1, .sum_depth = -1};
    snprintf(parser.node, sizeof parser.node, "%s", node);
    if (sscanf(json, "{\"actor\":\"%15[a-z]\",\"instance\":%u", parser.actor, &parser.instance) !=
        2)
        return -1;
    if (!s_object(&parser))
        return -1;
    s_skip(&parser);
    return *parser.p == '\0' ? 0 : -1;
}

int ob_cli_metrics(int argc, char **argv)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"timeout", required_argument, NULL, 'T'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    uint64_t timeout_ms = 3000;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'T':
            if (ob_args_u64(optarg, 1, 600000, &timeout_ms) != 0)
                return ob_args_usage_error(stderr, "obcast metrics",
                                           "--timeout must be 1 to 600000 ms, not '%s'", optarg);
            break;
        case 'h':
            printf("usage: obcast metrics --config NODE.zpl [--timeout MS]\n"
                   "One metrics event from each actor of the running node, as Prometheus "
                   "text.\n");
            return OB_EXIT_OK;
        default:
            return ob_args_usage_error(stderr, "obcast metrics", "unknown option '%s'",
                                       argv[optind - 1]);
        }
    }
    if (!config_path || optind < argc)
        return ob_args_usage_error(stderr, "obcast metrics", "give --config NODE.zpl (only)");
    static ob_node_config_t config;
    ob_why_t why = {{0}};
    if (ob_node_config_load(config_path, &config, &why) != 0) {
        fprintf(stderr, "obcast metrics: %s\n", why.text);
        return OB_EXIT_FAILED;
    }
    zsock_t *sub = zsock_new(ZMQ_SUB);
    if (!sub || zsock_connect(sub, "%s", config.monitor_endpoint) != 0) {
        fprintf(stderr, "obcast metrics: %s: cannot connect\n", config.monitor_endpoint);
        zsock_destroy(&sub);
        return OB_EXIT_FAILED;
    }
    zsock_set_subscribe(sub, "metrics");
    size_t want = 3 + config.verifiers, got = 0;
    char seen[S_MAX_ACTORS][32];
    zpoller_t *poller = zpoller_new(sub, NULL);
    int64_t deadline = zclock_mono() + (int64_t)timeout_ms;
    int rc = OB_EXIT_OK;
    while (got < want && zclock_mono() < deadline && rc == OB_EXIT_OK) {
        if (!zpoller_wait(poller, (int)(deadline - zclock_mono())))
            break;
        char *topic = NULL, *json = NULL;
        if (zsock_recv(sub, "ss", &topic, &json) == 0 && json) {
            s_parser_t parser = {.p = json, .out = stdout, .label_depth = -1, .sum_depth = -1};
            snprintf(parser.node, sizeof parser.node, "%s", config.name);
            const char *a = strstr(json, "\"actor\":\"");
            char key[32] = "";
            if (a && sscanf(a, "\"actor\":\"%15[a-z]\",\"instance\":%u", parser.actor,
                            &parser.instance) == 2) {
                snprintf(key, sizeof key, "%s/%u", parser.actor, parser.instance);
                bool dup = false;
                for (size_t i = 0; i < got; i++)
                    dup = dup || streq(seen[i], key);
                if (!dup && got < S_MAX_ACTORS) {
                    snprintf(seen[got++], sizeof seen[0], "%s", key);
                    if (!s_object(&parser)) {
                        fprintf(stderr, "obcast metrics: a malformed metrics event from %s\n", key);
                        rc = OB_EXIT_FAILED;
                    }
                }
            }
        }
        zstr_free(&topic);
        zstr_free(&json);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&sub);
    if (rc == OB_EXIT_OK && got < want) {
        fprintf(stderr,
                "obcast metrics: %s: %zu of %zu actors answered within %llu ms (is node "
                "'%s' running?)\n",
                config.monitor_endpoint, got, want, (unsigned long long)timeout_ms, config.name);
        rc = OB_EXIT_FAILED;
    }
    return rc;
}

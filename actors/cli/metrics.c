/*  obcast metrics: one `metrics` event from each actor of a running node,
    and the supervisor's own (its actors up, their restarts by cause),
    through its monitoring socket, printed as Prometheus text: the same
    text the supervisor serves on `GET /metrics` when metrics_http is set
    (common/metrics.h, ob_prom_t, says how events become families). */
#include "args.h"
#include "cli.h"
#include "config.h"
#include "metrics.h"
#include "operator.h"

#include <jansson.h>

#include <czmq.h>
#include <getopt.h>
#include <string.h>

/* journal, signer, net, up to 64 verifiers, and the supervisor */
#define S_MAX_ACTORS 68

int ob_cli_metrics_print(const char *json, const char *node, FILE *out)
{
    ob_prom_t *prom = ob_prom_new();
    int rc = prom && ob_prom_add(prom, json, node) == 0 ? ob_prom_write(prom, out) : -1;
    ob_prom_destroy(&prom);
    return rc;
}

/* The actor and instance of a metrics event ("verifier/0"), and for the
   supervisor's, its node and how many actors it runs. false if the event
   names no actor. */
static bool s_event_key(const char *json, char *key, size_t cap, char *node, size_t node_cap,
                        size_t *actors)
{
    json_t *event = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    const char *actor = json_string_value(json_object_get(event, "actor"));
    json_t *instance = json_object_get(event, "instance");
    bool ok = actor && json_is_integer(instance) && json_integer_value(instance) >= 0 &&
              json_integer_value(instance) <= UINT32_MAX;
    if (ok)
        snprintf(key, cap, "%s/%u", actor, (unsigned)json_integer_value(instance));
    if (ok && strcmp(actor, "supervisor") == 0) {
        const char *name = json_string_value(json_object_get(event, "node"));
        if (name)
            snprintf(node, node_cap, "%s", name);
        *actors = json_object_size(json_object_get(event, "actors"));
    }
    json_decref(event);
    return ok;
}

int ob_cli_metrics(int argc, char **argv)
{
    static const struct option options[] = {OB_OPERATOR_OPTIONS,
                                            {"timeout", required_argument, NULL, 'T'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    ob_operator_target_t target = {0};
    ob_why_t why = {{0}};
    uint64_t timeout_ms = 3000;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        int taken = ob_operator_option(&target, c, optarg ? optarg : "", &why);
        if (taken < 0)
            return ob_args_usage_error(stderr, "obcast metrics", "%s", why.text);
        if (taken > 0)
            continue;
        switch (c) {
        case 'T':
            if (ob_args_u64(optarg, 1, 600000, &timeout_ms) != 0)
                return ob_args_usage_error(stderr, "obcast metrics",
                                           "--timeout must be 1 to 600000 ms, not '%s'", optarg);
            break;
        case 'h':
            printf("usage: obcast metrics (--config NODE.zpl | --endpoint EP) [--server-key Z85]\n"
                   "                      [--curve CERT] [--timeout MS]\n"
                   "One metrics event from each actor of the running node and from its\n"
                   "supervisor (actors up, restarts by cause, last restart time), as\n"
                   "Prometheus text (exposition format 0.0.4, # HELP and # TYPE on each\n"
                   "family): the text the node serves on GET /metrics when its config sets\n"
                   "metrics_http. With --endpoint, the supervisor's event says which actors\n"
                   "to wait for.\n" OB_OPERATOR_HELP
                   "  --timeout MS        how long to wait for every actor (default 3000)\n"
                   "exit status: 0 printed, 1 the node did not answer or sent a malformed\n"
                   "event, 2 bad usage\n");
            return OB_EXIT_OK;
        default:
            return ob_cli_option_error("obcast metrics", c, argv);
        }
    }
    if (optind < argc)
        return ob_args_usage_error(stderr, "obcast metrics", "unexpected argument '%s'",
                                   argv[optind]);
    zsock_t *sub = NULL;
    int opened = ob_operator_open(&target, "obcast metrics", "monitor", ZMQ_SUB, &sub);
    if (opened != OB_EXIT_OK)
        return opened;
    /* The node's name and actors: from its config, or from its supervisor. */
    static ob_node_config_t config;
    char node[OB_NAME_MAX + 1] = "";
    size_t want = SIZE_MAX;
    if (target.config_path) {
        if (ob_node_config_load(target.config_path, &config, &why) != 0) {
            fprintf(stderr, "obcast metrics: %s\n", why.text);
            zsock_destroy(&sub);
            return OB_EXIT_FAILED;
        }
        snprintf(node, sizeof node, "%s", config.name);
        want = 4 + config.verifiers;
    }
    zsock_set_subscribe(sub, "metrics");
    size_t got = 0;
    char seen[S_MAX_ACTORS][32];
    char *events[S_MAX_ACTORS] = {0};
    zpoller_t *poller = zpoller_new(sub, NULL);
    int64_t deadline = zclock_mono() + (int64_t)timeout_ms;
    while (got < want && zclock_mono() < deadline) {
        if (!zpoller_wait(poller, (int)(deadline - zclock_mono())))
            break;
        char *topic = NULL, *json = NULL;
        char key[32];
        size_t actors = 0;
        if (zsock_recv(sub, "ss", &topic, &json) == 0 && json &&
            s_event_key(json, key, sizeof key, node, sizeof node, &actors)) {
            if (!target.config_path && strcmp(key, "supervisor/0") == 0)
                want = actors + 1;
            bool dup = false;
            for (size_t i = 0; i < got; i++)
                dup = dup || streq(seen[i], key);
            if (!dup && got < S_MAX_ACTORS) {
                snprintf(seen[got], sizeof seen[0], "%s", key);
                events[got++] = json;
                json = NULL;
            }
        }
        zstr_free(&topic);
        zstr_free(&json);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&sub);
    int rc = OB_EXIT_OK;
    if (got < want) {
        if (want == SIZE_MAX)
            fprintf(stderr,
                    "obcast metrics: %s: no event from the node's supervisor within %llu ms "
                    "(is the node running%s?)\n",
                    target.endpoint, (unsigned long long)timeout_ms,
                    strncmp(target.endpoint, "tcp://", 6) == 0
                        ? ", and this --curve key in its operator_keys"
                        : "");
        else
            fprintf(stderr,
                    "obcast metrics: %s: %zu of %zu actors answered within %llu ms (is node "
                    "'%s' running?)\n",
                    target.endpoint, got, want, (unsigned long long)timeout_ms, node);
        rc = OB_EXIT_FAILED;
    }
    ob_prom_t *prom = rc == OB_EXIT_OK ? ob_prom_new() : NULL;
    for (size_t i = 0; prom && i < got && rc == OB_EXIT_OK; i++)
        if (ob_prom_add(prom, events[i], node) != 0) {
            fprintf(stderr, "obcast metrics: a malformed metrics event from %s\n", seen[i]);
            rc = OB_EXIT_FAILED;
        }
    /* All or nothing: families are grouped, so a partial text would mislead. */
    if (rc == OB_EXIT_OK && (!prom || ob_prom_write(prom, stdout) != 0))
        rc = OB_EXIT_FAILED;
    ob_prom_destroy(&prom);
    for (size_t i = 0; i < got; i++)
        zstr_free(&events[i]);
    return rc;
}

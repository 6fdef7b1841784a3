/*  obcast metrics: one `metrics` event from each actor of a running node,
    and the supervisor's own (its actors up, their restarts by cause),
    through its monitoring socket, printed as Prometheus text: the same
    text the supervisor serves on `GET /metrics` when metrics_http is set
    (common/metrics.h, ob_prom_t, says how events become families). */
#include "args.h"
#include "cli.h"
#include "config.h"
#include "metrics.h"

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
                   "One metrics event from each actor of the running node and from its\n"
                   "supervisor (actors up, restarts by cause, last restart time), as\n"
                   "Prometheus text (exposition format 0.0.4, # HELP and # TYPE on each\n"
                   "family): the text the node serves on GET /metrics when its config sets\n"
                   "metrics_http.\n"
                   "exit status: 0 printed, 1 the node did not answer or sent a malformed\n"
                   "event, 2 bad usage\n");
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
    size_t want = 4 + config.verifiers, got = 0;
    char seen[S_MAX_ACTORS][32];
    ob_prom_t *prom = ob_prom_new();
    zpoller_t *poller = zpoller_new(sub, NULL);
    int64_t deadline = zclock_mono() + (int64_t)timeout_ms;
    int rc = prom ? OB_EXIT_OK : OB_EXIT_FAILED;
    while (got < want && zclock_mono() < deadline && rc == OB_EXIT_OK) {
        if (!zpoller_wait(poller, (int)(deadline - zclock_mono())))
            break;
        char *topic = NULL, *json = NULL;
        char actor[16];
        unsigned instance;
        if (zsock_recv(sub, "ss", &topic, &json) == 0 && json &&
            sscanf(json, "{\"actor\":\"%15[a-z]\",\"instance\":%u", actor, &instance) == 2) {
            char key[32];
            snprintf(key, sizeof key, "%s/%u", actor, instance);
            bool dup = false;
            for (size_t i = 0; i < got; i++)
                dup = dup || streq(seen[i], key);
            if (!dup && got < S_MAX_ACTORS) {
                snprintf(seen[got++], sizeof seen[0], "%s", key);
                if (ob_prom_add(prom, json, config.name) != 0) {
                    fprintf(stderr, "obcast metrics: a malformed metrics event from %s\n", key);
                    rc = OB_EXIT_FAILED;
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
    /* All or nothing: families are grouped, so a partial text would mislead. */
    if (rc == OB_EXIT_OK && ob_prom_write(prom, stdout) != 0)
        rc = OB_EXIT_FAILED;
    ob_prom_destroy(&prom);
    return rc;
}

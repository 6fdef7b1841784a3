/*  obcast tail: the node's monitoring events (SPEC §6), one JSON object a
    line, each with its topic as the first member. */
#include "args.h"
#include "cli.h"
#include "config.h"
#include "operator.h"

#include <czmq.h>
#include <getopt.h>
#include <string.h>

#define s_usage_error(...) ob_args_usage_error(stderr, "obcast tail", __VA_ARGS__)
#define S_MAX_TOPICS       16

/* Every topic a node publishes (journal, net, the shell's metrics, the
   supervisor's actor events); a subscription to any other hears nothing. */
static const char *s_topics[] = {"lock", "tip",   "evidence", "actor",
                                 "peer", "block", "metrics",  "drop"};
#define S_TOPIC_LIST "lock, tip, evidence, actor, peer, block, metrics, drop"

static const char *s_usage =
    "usage: obcast tail (--config NODE.zpl | --endpoint EP) [--server-key Z85]\n"
    "                   [--curve CERT] [--topic T]... [--count N] [--timeout MS]\n"
    "Prints the node's monitoring events as JSON lines: " S_TOPIC_LIST ".\n" OB_OPERATOR_HELP
    "  --topic T           keep topic T only (repeatable)\n"
    "  --count N           stop after N events\n"
    "  --timeout MS        stop after MS milliseconds\n"
    "exit status: 0 ok, 1 the config could not be read, the socket not reached, or\n"
    "no event came within --timeout, 2 bad usage (an unknown topic is one)\n";

static bool s_topic_known(const char *topic)
{
    for (size_t i = 0; i < sizeof s_topics / sizeof s_topics[0]; i++)
        if (streq(topic, s_topics[i]))
            return true;
    return false;
}

int ob_cli_tail(int argc, char **argv)
{
    static const struct option options[] = {OB_OPERATOR_OPTIONS,
                                            {"topic", required_argument, NULL, 't'},
                                            {"count", required_argument, NULL, 'n'},
                                            {"timeout", required_argument, NULL, 'T'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    ob_operator_target_t target = {0};
    ob_why_t why = {{0}};
    const char *topics[S_MAX_TOPICS];
    size_t topic_count = 0;
    uint64_t count = 0, timeout_ms = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        int taken = ob_operator_option(&target, c, optarg ? optarg : "", &why);
        if (taken < 0)
            return s_usage_error("%s", why.text);
        if (taken > 0)
            continue;
        switch (c) {
        case 't':
            if (topic_count == S_MAX_TOPICS)
                return s_usage_error("at most %d --topic", S_MAX_TOPICS);
            if (!s_topic_known(optarg))
                return s_usage_error("--topic: unknown topic '%s' (topics: " S_TOPIC_LIST ")",
                                     optarg);
            topics[topic_count++] = optarg;
            break;
        case 'n':
            if (ob_args_u64(optarg, 1, UINT64_MAX, &count) != 0)
                return s_usage_error("--count must be a whole number >= 1, not '%s'", optarg);
            break;
        case 'T':
            if (ob_args_u64(optarg, 1, 86400000, &timeout_ms) != 0)
                return s_usage_error("--timeout must be 1 to 86400000 ms, not '%s'", optarg);
            break;
        case 'h':
            fputs(s_usage, stdout);
            return OB_EXIT_OK;
        default:
            return ob_cli_option_error("obcast tail", c, argv);
        }
    }
    if (optind < argc)
        return s_usage_error("unexpected argument '%s'", argv[optind]);
    zsock_t *sub = NULL;
    int rc = ob_operator_open(&target, "obcast tail", "monitor", ZMQ_SUB, &sub);
    if (rc != OB_EXIT_OK)
        return rc;
    const char *endpoint = target.endpoint;
    if (topic_count == 0)
        zsock_set_subscribe(sub, "");
    for (size_t i = 0; i < topic_count; i++)
        zsock_set_subscribe(sub, topics[i]);
    zpoller_t *poller = zpoller_new(sub, NULL);
    int64_t deadline = timeout_ms ? zclock_mono() + (int64_t)timeout_ms : INT64_MAX;
    uint64_t seen = 0;
    while (!zsys_interrupted && (count == 0 || seen < count) && zclock_mono() < deadline) {
        int64_t wait = deadline == INT64_MAX ? 1000 : deadline - zclock_mono();
        if (!zpoller_wait(poller, (int)(wait > 1000 ? 1000 : wait < 0 ? 0 : wait)))
            continue;
        zmsg_t *msg = zmsg_recv(sub);
        if (!msg)
            break;
        char *topic = zmsg_popstr(msg);
        char *json = zmsg_popstr(msg);
        /* A subscription is a prefix: "tip" must not take "tipple". */
        bool wanted = topic_count == 0;
        for (size_t i = 0; i < topic_count && topic && !wanted; i++)
            wanted = streq(topic, topics[i]);
        if (wanted && topic && json && json[0] == '{') {
            printf("{\"topic\":\"%s\"%s%s\n", topic, json[1] == '}' ? "" : ",", json + 1);
            fflush(stdout);
            seen++;
        }
        zstr_free(&topic);
        zstr_free(&json);
        zmsg_destroy(&msg);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&sub);
    if (timeout_ms && seen == 0) {
        /* SUB cannot tell a stopped node from a quiet one. */
        fprintf(stderr,
                "obcast tail: %s: no event within %llu ms (the node is stopped, or published "
                "none of %s%s)\n",
                endpoint, (unsigned long long)timeout_ms,
                topic_count ? "the topics asked for" : "its topics",
                strncmp(endpoint, "tcp://", 6) == 0
                    ? ", or refused this --curve key: it is not in its operator_keys"
                    : "");
        return OB_EXIT_FAILED;
    }
    return OB_EXIT_OK;
}

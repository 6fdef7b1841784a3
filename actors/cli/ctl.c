/*  obcast status and obcast ctl: requests to a node's control socket
    (SPEC §6), one text request and one answer. */
#include "args.h"
#include "cli.h"
#include "config.h"

#include <czmq.h>
#include <getopt.h>
#include <string.h>

#define S_TIMEOUT_MS 5000

/* --config NODE.zpl or --endpoint EP; the rest of argv is left at optind. */
static int s_endpoint(const char *program, int argc, char **argv, char *endpoint, size_t cap)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"endpoint", required_argument, NULL, 'e'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *config_path = NULL, *ep = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'e':
            ep = optarg;
            break;
        case 'h':
            printf("usage: %s (--config NODE.zpl | --endpoint EP)%s\n", program,
                   streq(program, "obcast ctl")
                       ? " (epoch N | restart-actor ACTOR [I] | reload | stop)"
                       : "");
            return -1 - OB_EXIT_OK;
        default:
            return -1 -
                   ob_args_usage_error(stderr, program, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!config_path == !ep)
        return -1 - ob_args_usage_error(stderr, program, "give --config NODE.zpl or --endpoint EP");
    if (config_path) {
        static ob_node_config_t config;
        ob_why_t why = {{0}};
        if (ob_node_config_load(config_path, &config, &why) != 0) {
            fprintf(stderr, "%s: %s\n", program, why.text);
            return -1 - OB_EXIT_FAILED;
        }
        ep = config.control_endpoint;
    }
    snprintf(endpoint, cap, "%s", ep);
    return 0;
}

/* Sends `request`; the answer (malloc'd) or NULL after printing why. */
static char *s_ask(const char *program, const char *endpoint, const char *request)
{
    zsock_t *req = zsock_new(ZMQ_REQ);
    if (!req || zsock_connect(req, "%s", endpoint) != 0) {
        fprintf(stderr, "%s: %s: cannot connect\n", program, endpoint);
        zsock_destroy(&req);
        return NULL;
    }
    zsock_set_linger(req, 0);
    zsock_set_sndtimeo(req, S_TIMEOUT_MS);
    zsock_set_rcvtimeo(req, S_TIMEOUT_MS);
    char *answer = NULL;
    if (zstr_send(req, request) == 0)
        answer = zstr_recv(req);
    zsock_destroy(&req);
    if (!answer)
        fprintf(stderr, "%s: %s: no answer within %d ms (is the node running?)\n", program,
                endpoint, S_TIMEOUT_MS);
    return answer;
}

static int s_answer(const char *program, char *answer)
{
    if (!answer)
        return OB_EXIT_FAILED;
    int rc = OB_EXIT_OK;
    if (strncmp(answer, "ok", 2) == 0)
        printf("%s\n", answer[2] == ' ' ? answer + 3 : "ok");
    else {
        fprintf(stderr, "%s: %s\n", program, answer);
        rc = OB_EXIT_FAILED;
    }
    zstr_free(&answer);
    return rc;
}

int ob_cli_status(int argc, char **argv)
{
    char endpoint[OB_ENDPOINT_MAX];
    int rc = s_endpoint("obcast status", argc, argv, endpoint, sizeof endpoint);
    if (rc < 0)
        return -1 - rc;
    if (optind < argc)
        return ob_args_usage_error(stderr, "obcast status", "unexpected argument '%s'",
                                   argv[optind]);
    return s_answer("obcast status", s_ask("obcast status", endpoint, "status"));
}

int ob_cli_ctl(int argc, char **argv)
{
    const char *program = "obcast ctl";
    char endpoint[OB_ENDPOINT_MAX];
    int rc = s_endpoint(program, argc, argv, endpoint, sizeof endpoint);
    if (rc < 0)
        return -1 - rc;
    int left = argc - optind;
    char **words = argv + optind;
    char request[128];
    uint64_t number = 0;
    if (left == 0)
        return ob_args_usage_error(
            stderr, program, "give a request: epoch N, restart-actor ACTOR [I], reload, stop");
    if (streq(words[0], "epoch") && left == 2) {
        if (ob_args_u64(words[1], 1, UINT64_MAX, &number) != 0)
            return ob_args_usage_error(stderr, program, "epoch: not a whole number >= 1: '%s'",
                                       words[1]);
        snprintf(request, sizeof request, "epoch %llu", (unsigned long long)number);
    } else if (streq(words[0], "restart-actor") && (left == 2 || left == 3)) {
        if (!streq(words[1], "net") && !streq(words[1], "verifier") && !streq(words[1], "signer") &&
            !streq(words[1], "journal"))
            return ob_args_usage_error(stderr, program,
                                       "restart-actor: ACTOR is net, verifier, signer or journal, "
                                       "not '%s'",
                                       words[1]);
        if (left == 3 && ob_args_u64(words[2], 0, 63, &number) != 0)
            return ob_args_usage_error(stderr, program, "restart-actor: instance must be 0 to 63");
        snprintf(request, sizeof request, "restart %s %llu", words[1], (unsigned long long)number);
    } else if ((streq(words[0], "stop") || streq(words[0], "reload")) && left == 1) {
        snprintf(request, sizeof request, "%s", words[0]);
    } else {
        return ob_args_usage_error(stderr, program, "unknown request '%s' (or wrong arguments)",
                                   words[0]);
    }
    return s_answer(program, s_ask(program, endpoint, request));
}

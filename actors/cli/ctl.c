/*  obcast status and obcast ctl: requests to a node's control socket
    (SPEC §6), one text request and one answer. */
#include "args.h"
#include "cli.h"
#include "config.h"
#include "operator.h"

#include <czmq.h>
#include <getopt.h>
#include <string.h>

#define S_TIMEOUT_MS 5000

static const char *s_status_usage =
    "usage: obcast status (--config NODE.zpl | --endpoint EP) [--server-key Z85]\n"
    "                     [--curve CERT] [--timeout MS]\n"
    "Prints the node's actors as JSON: state, pid, restarts, heartbeat.\n" OB_OPERATOR_HELP
    "  --timeout MS        how long to wait for the node's answer (default 5000)\n"
    "exit status: 0 answered, 1 the node refused or is not answering, 2 bad usage\n";

static const char *s_ctl_usage =
    "usage: obcast ctl (--config NODE.zpl | --endpoint EP) [--server-key Z85]\n"
    "                  [--curve CERT] [--timeout MS] REQUEST\n"
    "REQUEST is one of:\n"
    "  status                      the node's actors, as obcast status prints them\n"
    "  epoch N                     ask the journal to move to epoch N of the manifest\n"
    "  restart-actor ACTOR [I]     restart net, verifier, signer or journal (instance I)\n"
    "  reload                      read the manifest again (it may only append epochs)\n"
    "  stop                        stop the node\n" OB_OPERATOR_HELP
    "  --timeout MS        how long to wait for the node's answer (default 5000)\n"
    "exit status: 0 done, 1 the node refused or is not answering, 2 bad usage\n";

/* The node (--config, or --endpoint with its CURVE options) and
   --timeout; the rest of argv is left at optind. -1 - the exit status if
   the command ends here. */
static int s_target(const char *program, int argc, char **argv, ob_operator_target_t *target,
                    int *timeout_ms)
{
    static const struct option options[] = {OB_OPERATOR_OPTIONS,
                                            {"timeout", required_argument, NULL, 'T'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    uint64_t timeout = S_TIMEOUT_MS;
    ob_why_t why = {{0}};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
        int taken = ob_operator_option(target, c, optarg ? optarg : "", &why);
        if (taken < 0)
            return -1 - ob_args_usage_error(stderr, program, "%s", why.text);
        if (taken > 0)
            continue;
        switch (c) {
        case 'T':
            if (ob_args_u64(optarg, 1, 86400000, &timeout) != 0)
                return -1 - ob_args_usage_error(stderr, program,
                                                "--timeout must be 1 to 86400000 ms, not '%s'",
                                                optarg);
            break;
        case 'h':
            fputs(streq(program, "obcast ctl") ? s_ctl_usage : s_status_usage, stdout);
            return -1 - OB_EXIT_OK;
        default:
            return -1 - ob_cli_option_error(program, c, argv);
        }
    }
    int rc = ob_operator_open(target, program, "control", 0, NULL);
    if (rc != OB_EXIT_OK)
        return -1 - rc;
    *timeout_ms = (int)timeout;
    return 0;
}

/* Sends `request`; the answer (malloc'd) or NULL after printing why. */
static char *s_ask(const char *program, const ob_operator_target_t *target, const char *request,
                   int timeout_ms)
{
    ob_why_t why = {{0}};
    zsock_t *req = ob_operator_connect(target, ZMQ_REQ, &why);
    if (!req) {
        fprintf(stderr, "%s: %s\n", program, why.text);
        return NULL;
    }
    zsock_set_sndtimeo(req, timeout_ms);
    zsock_set_rcvtimeo(req, timeout_ms);
    char *answer = NULL;
    if (zstr_send(req, request) == 0)
        answer = zstr_recv(req);
    zsock_destroy(&req);
    if (!answer)
        fprintf(stderr,
                "%s: the node is not answering at %s (no answer within %d ms; --timeout MS "
                "waits longer%s)\n",
                program, target->endpoint, timeout_ms,
                strncmp(target->endpoint, "tcp://", 6) == 0
                    ? "; over tcp://, a key the node does not list is refused without a word"
                    : "");
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
    ob_operator_target_t target = {0};
    int timeout_ms = S_TIMEOUT_MS;
    int rc = s_target("obcast status", argc, argv, &target, &timeout_ms);
    if (rc < 0)
        return -1 - rc;
    if (optind < argc)
        return ob_args_usage_error(stderr, "obcast status", "unexpected argument '%s'",
                                   argv[optind]);
    return s_answer("obcast status", s_ask("obcast status", &target, "status", timeout_ms));
}

int ob_cli_ctl(int argc, char **argv)
{
    const char *program = "obcast ctl";
    ob_operator_target_t target = {0};
    int timeout_ms = S_TIMEOUT_MS;
    int rc = s_target(program, argc, argv, &target, &timeout_ms);
    if (rc < 0)
        return -1 - rc;
    int left = argc - optind;
    char **words = argv + optind;
    char request[128];
    uint64_t number = 0;
    if (left == 0)
        return ob_args_usage_error(
            stderr, program,
            "give a request: status, epoch N, restart-actor ACTOR [I], reload, stop");
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
    } else if ((streq(words[0], "stop") || streq(words[0], "reload") ||
                streq(words[0], "status")) &&
               left == 1) {
        snprintf(request, sizeof request, "%s", words[0]);
    } else {
        return ob_args_usage_error(stderr, program, "unknown request '%s' (or wrong arguments)",
                                   words[0]);
    }
    return s_answer(program, s_ask(program, &target, request, timeout_ms));
}

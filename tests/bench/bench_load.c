/*  bench_load: a load on one node's submit socket through libobcast-client,
    and the submit-to-Lock latency each payload saw.

    Open loop (--rate R: R payloads/s whatever the answers; one that finds
    its client's window full is counted late and sent when there is room)
    or closed loop (--rate 0: each client keeps --window payloads
    outstanding). --clients C spreads the load over C clients (C DEALER
    sockets, one thread). After --seconds of submitting it waits up to
    --drain seconds for the Locks still due. Latencies go into the metrics
    histogram (common/metrics.h). SIGUSR1 ends the submitting early (the
    drain follows). Prints one JSON object. */
#include "config.h"
#include "metrics.h"
#include "obcast_client.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CLIENTS    256
#define MAX_WINDOW     4096
#define MAX_PER_CLIENT 20000000ull /* bounds the per-tag times kept */

typedef struct {
    obcast_client_t *client;
    uint64_t *sent_us; /* by tag - 1; 0 once answered for good */
    size_t cap;
    uint64_t submitted;
} s_client_t;

typedef struct {
    ob_histogram_t lock_latency, assign_latency;
    uint64_t submitted, locked, refused, errors, late, submit_failures;
    uint64_t first_us, last_lock_us;
} s_totals_t;

static volatile sig_atomic_t s_stop_submitting;

static void s_on_usr1(int sig)
{
    (void)sig;
    s_stop_submitting = 1;
}

static uint64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void s_usage(FILE *out)
{
    fprintf(out, "usage: bench_load (--config NODE.zpl | --endpoint EP) [--rate R] [--clients C]\n"
                 "                  [--window W] [--size BYTES] [--seconds S] [--drain S]\n"
                 "  --rate R     payloads/s over all clients, open loop; 0: closed loop (default)\n"
                 "  --clients C  clients, 1 to 256 (default 1)\n"
                 "  --window W   payloads outstanding per client, 1 to 4096 (default 64)\n"
                 "  --size B     payload bytes (default 1024)\n"
                 "  --seconds S  how long to submit (default 10)\n"
                 "  --drain S    how long to wait for the Locks still due after (default 20)\n"
                 "One JSON object on stdout: counts, locked/s, latency histograms.\n");
}

static void s_bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "bench_load: %s '%s' (try --help)\n", what, arg);
    exit(2);
}

static double s_number(const char *flag, const char *text, double lo, double hi)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < lo || v > hi) {
        char what[96];
        snprintf(what, sizeof what, "%s wants a number from %g to %g, not", flag, lo, hi);
        s_bad_usage(what, text);
    }
    return v;
}

static int s_submit(s_client_t *c, s_totals_t *t, uint8_t *data, size_t size)
{
    if (c->submitted >= MAX_PER_CLIENT)
        return -1;
    if (c->submitted == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        uint64_t *grown = realloc(c->sent_us, cap * sizeof *grown);
        if (!grown)
            return -1;
        c->sent_us = grown;
        c->cap = cap;
    }
    /* fresh bytes up front: no two payloads alike */
    uint64_t stamp[2] = {t->submitted, s_now_us()};
    memcpy(data, stamp, size < sizeof stamp ? size : sizeof stamp);
    uint64_t tag;
    if (obcast_client_submit(c->client, data, size, &tag) != 0 || tag != c->submitted + 1) {
        t->submit_failures++;
        return -1;
    }
    c->sent_us[c->submitted++] = s_now_us();
    t->submitted++;
    if (!t->first_us)
        t->first_us = c->sent_us[c->submitted - 1];
    return 0;
}

static void s_on_event(s_client_t *c, s_totals_t *t, const obcast_client_event_t *e)
{
    uint64_t now = s_now_us();
    bool known = e->tag >= 1 && e->tag <= c->submitted && c->sent_us[e->tag - 1];
    switch (e->kind) {
    case OBCAST_EVENT_QUEUED:
        break;
    case OBCAST_EVENT_ASSIGNED:
        if (known)
            ob_histogram_record(&t->assign_latency, now - c->sent_us[e->tag - 1]);
        break;
    case OBCAST_EVENT_LOCKED:
        if (known) {
            ob_histogram_record(&t->lock_latency, now - c->sent_us[e->tag - 1]);
            c->sent_us[e->tag - 1] = 0;
            t->locked++;
            t->last_lock_us = now;
            obcast_client_forget(c->client, e->tag);
        }
        break;
    case OBCAST_EVENT_REFUSED:
        if (known) {
            c->sent_us[e->tag - 1] = 0;
            t->refused++;
        }
        break;
    case OBCAST_EVENT_ERROR:
    case OBCAST_EVENT_FETCHED:
    case OBCAST_EVENT_FETCH_FAILED: /* the load asks no fetch: an answer to none is an error */
        t->errors++;
        break;
    }
}

static void s_print_histogram(const char *name, const ob_histogram_t *h, bool last)
{
    static char buf[32768];
    ob_json_t json;
    ob_json_begin(&json, buf, sizeof buf);
    ob_json_object(&json, NULL);
    ob_json_histogram(&json, name, h);
    ob_json_end(&json);
    const char *text = ob_json_text(&json);
    /* the member alone, without the braces of its object */
    printf("%.*s%s", text ? (int)strlen(text) - 2 : 2, text ? text + 1 : "{}", last ? "" : ",");
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *endpoint = NULL;
    double rate = 0, seconds = 10, drain = 20;
    size_t clients = 1, window = 64, size = 1024;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help")) {
            s_usage(stdout);
            return 0;
        }
        if (i + 1 >= argc)
            s_bad_usage("unknown argument, or no value after it:", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--config"))
            config_path = v;
        else if (!strcmp(a, "--endpoint"))
            endpoint = v;
        else if (!strcmp(a, "--rate"))
            rate = s_number(a, v, 0, 1e7);
        else if (!strcmp(a, "--clients"))
            clients = (size_t)s_number(a, v, 1, MAX_CLIENTS);
        else if (!strcmp(a, "--window"))
            window = (size_t)s_number(a, v, 1, MAX_WINDOW);
        else if (!strcmp(a, "--size"))
            size = (size_t)s_number(a, v, 0, 64 << 20);
        else if (!strcmp(a, "--seconds"))
            seconds = s_number(a, v, 0.01, 3600);
        else if (!strcmp(a, "--drain"))
            drain = s_number(a, v, 0, 3600);
        else
            s_bad_usage("unknown argument", a);
    }
    static ob_node_config_t config;
    if (config_path) {
        ob_why_t why = {{0}};
        if (ob_node_config_load(config_path, &config, &why) != 0) {
            fprintf(stderr, "bench_load: %s\n", why.text);
            return 1;
        }
        endpoint = config.submit_endpoint;
    }
    if (!endpoint) {
        fprintf(stderr, "bench_load: give --config NODE.zpl or --endpoint EP (try --help)\n");
        return 2;
    }
    static s_client_t c[MAX_CLIENTS];
    static s_totals_t t;
    zpoller_t *poller = zpoller_new(NULL);
    for (size_t i = 0; i < clients; i++) {
        char error[OBCAST_CLIENT_ERROR_LEN];
        obcast_client_options_t options = {.max_outstanding = (uint32_t)window, .resend_ms = 30000};
        c[i].client = obcast_client_new(endpoint, &options, error, sizeof error);
        if (!c[i].client) {
            fprintf(stderr, "bench_load: %s: %s\n", endpoint, error);
            return 1;
        }
        zpoller_add(poller, obcast_client_socket(c[i].client));
    }
    struct sigaction action = {.sa_handler = s_on_usr1};
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
    uint8_t *data = calloc(1, size ? size : 1);
    if (!data)
        return 1;
    for (size_t i = 16; i < size; i++)
        data[i] = (uint8_t)(i * 131);
    uint64_t start = s_now_us(), stop = start + (uint64_t)(seconds * 1e6);
    uint64_t end = stop + (uint64_t)(drain * 1e6);
    size_t next = 0; /* the client the next open-loop payload goes to */
    bool late = false;
    for (uint64_t now = start; now < end; now = s_now_us()) {
        if (s_stop_submitting && now < stop) {
            seconds = (double)(now - start) / 1e6;
            end = now + (uint64_t)(drain * 1e6);
            stop = now;
        }
        bool submitting = now < stop;
        if (submitting && rate > 0) {
            uint64_t due = (uint64_t)((double)(now - start) * rate / 1e6) + 1;
            for (size_t tries = 0; t.submitted < due && tries < clients;) {
                if (obcast_client_outstanding(c[next].client) >= window) {
                    next = (next + 1) % clients;
                    tries++;
                    continue;
                }
                if (s_submit(&c[next], &t, data, size) != 0)
                    break;
                next = (next + 1) % clients;
                tries = 0;
            }
            if (t.submitted < due && !late)
                t.late++; /* a stretch of time the open loop fell behind */
            late = t.submitted < due;
        } else if (submitting) {
            for (size_t i = 0; i < clients; i++)
                while (obcast_client_outstanding(c[i].client) < window)
                    if (s_submit(&c[i], &t, data, size) != 0)
                        break;
        }
        if (!submitting && t.locked + t.refused >= t.submitted)
            break;
        int wait_ms = 1;
        if (!submitting || rate == 0)
            wait_ms = 50;
        zpoller_wait(poller, wait_ms);
        for (size_t i = 0; i < clients; i++) {
            obcast_client_event_t e;
            for (int k = 0; k < 10000 && obcast_client_next(c[i].client, 0, &e) == 1; k++)
                s_on_event(&c[i], &t, &e);
        }
    }
    uint64_t finished = s_now_us();
    double span = t.last_lock_us > t.first_us ? (double)(t.last_lock_us - t.first_us) / 1e6 : 0;
    printf("{\"endpoint\":\"%s\",\"rate\":%.3f,\"clients\":%zu,\"window\":%zu,\"size\":%zu,"
           "\"seconds\":%.3f,\"submitted\":%" PRIu64 ",\"locked\":%" PRIu64 ",\"refused\":%" PRIu64
           ",\"errors\":%" PRIu64 ",\"late\":%" PRIu64 ",\"submit_failures\":%" PRIu64
           ",\"unlocked\":%" PRIu64 ",\"span_s\":%.3f,\"wall_s\":%.3f,\"locked_per_s\":%.3f,",
           endpoint, rate, clients, window, size, seconds, t.submitted, t.locked, t.refused,
           t.errors, t.late, t.submit_failures, t.submitted - t.locked - t.refused, span,
           (double)(finished - start) / 1e6, span > 0 ? (double)t.locked / span : 0.0);
    s_print_histogram("submit_to_lock", &t.lock_latency, false);
    s_print_histogram("submit_to_assigned", &t.assign_latency, true);
    printf("}\n");
    for (size_t i = 0; i < clients; i++) {
        obcast_client_destroy(&c[i].client);
        free(c[i].sent_us);
    }
    zpoller_destroy(&poller);
    free(data);
    return 0;
}

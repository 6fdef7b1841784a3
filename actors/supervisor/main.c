/*  obcast-supervisor (also installed as obcast-node): one node, started
    from its config, and supervised.

    Process mode (the default): it makes the node's payload arena
    (memfd_create, mode 0600) and runs each actor as its own process —
    obcast-journal, obcast-signer, K obcast-verifier, obcast-net — passing
    the arena's descriptor. A crashed actor is restarted with exponential
    backoff; too many restarts within a window stop the node with an error
    (the supervisor of issue 5 takes this over, with heartbeats). Each
    actor is bound to this process's life from before its exec
    (ob_actor_spawn_guard), and holds the node lock with it (s_lock_node):
    no actor outlives its supervisor, and no new supervisor starts beside
    an actor of an old one.

    --inproc: the same actors, the same handler code, as threads of this
    process over inproc://, sharing a heap arena.

    SIGTERM or SIGINT stops the actors (each finishes its batch and
    commits) and then the node. */
#include "actor.h"
#include "event.h"
#include "metrics.h"
#include "metrics_http.h"
#include "log.h"
#include "shell.h"
#include "zap.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef OBCAST_VERSION
#error "OBCAST_VERSION comes from meson.build's project()"
#endif

#define S_MAX_CHILDREN   (3 + 64)
#define S_BACKOFF_MIN_MS 100
#define S_BACKOFF_MAX_MS 5000
#define S_LEASE_MS       30000 /* a slot HELD this long lost its message */
#define S_STOP_GRACE_MS  5000
/* An actor publishes metrics every second; one silent this long is hung.
   A new one gets the grace to recover from its database first. */
#define S_HUNG_MS          5000
#define S_STARTUP_GRACE_MS 15000

/* "obcast-supervisor" or "obcast-node": whichever name it was run by. */
static const char *s_program = "obcast-node";

typedef struct {
    ob_actor_t actor;
    uint32_t instance;
    char label[32];
    pid_t pid;            /* process mode */
    zactor_t *thread;     /* --inproc */
    ob_actor_args_t args; /* --inproc */
    bool failed;          /* --inproc: the thread's run returned an error */
    atomic_bool returned; /* --inproc: the thread's body is done (s_join) */
    uint64_t restart_at;  /* 0: running */
    uint64_t backoff_ms;
    uint64_t started_at;
    uint64_t last_heartbeat; /* ms: its last `metrics` event */
    uint32_t restarts;       /* after a crash, a hang or `restart`: counted */
    bool reloading;          /* stopped by a reload: started again, not counted */
    uint32_t reloads;
    /* Why it was restarted, counted by cause (metrics). */
    uint32_t restarts_by[3];      /* S_CAUSE_... */
    bool hung_killed, stop_asked; /* how the end s_child_ended sees came about */
    uint64_t last_restart_s;      /* unix seconds; 0: never */
    char *metrics;                /* its last `metrics` event; NULL while it is down */
} s_child_t;

/* What ended an actor that was restarted: it died by itself, it was
   killed as hung, or an operator asked (`ctl restart`). */
enum { S_CAUSE_CRASH, S_CAUSE_HUNG, S_CAUSE_REQUEST };
static const char *const s_causes[] = {"crash", "hung", "request"};

typedef struct {
    ob_actor_process_t process; /* config, manifest, crypto */
    bool inproc;
    int arena_fd;
    char bindir[PATH_MAX];
    char wrapper[PATH_MAX]; /* OBCAST_ACTOR_WRAPPER, or "" */
    uint64_t time_scale;    /* OBCAST_TIME_SCALE: the timings above times this */
    s_child_t children[S_MAX_CHILDREN];
    size_t child_count;
    uint64_t *restarts; /* ring of recent restart times, max_restarts + 1 */
    size_t restart_count;
    int lock_fd;
    zsock_t *events;    /* PUB: this node's `actor` events */
    zsock_t *heartbeat; /* SUB: the actors' `metrics` events, their heartbeat */
    zsock_t *control;   /* REP: the control socket */
    zsock_t *journal;   /* PUSH: operator requests to the journal (set_epoch) */
    bool stopping;
    zactor_t *monitor; /* zproxy: every actor's events out of one XPUB */
    /* A tcp:// control or monitor socket: the node's CURVE certificate,
       and the ZAP handler's list of operator_keys. Both outlive the
       sockets they guard. */
    zcert_t *cert;
    ob_zap_t *zap;
    ob_metrics_http_t *http; /* GET /metrics, when metrics_http is set */
} s_node_t;

static const char *s_usage =
    " --config NODE.zpl [--inproc]\n"
    "Runs one obcast node and supervises it: its journal, signer, verifiers and net\n"
    "actors (restarts, heartbeats), the monitoring and the control sockets.\n"
    "obcast-supervisor and obcast-node are the same program.\n\n"
    "options:\n"
    "  --config FILE   the node config (SPEC §6; ZPL)\n"
    "  --inproc        run the actors as threads of this process (compact mode)\n"
    "  --help, --version\n"
    "exit status: 0 stopped cleanly, 1 failed, 2 bad usage\n";

/* --- one node per runtime folder ----------------------------------------------- */

/* The lock is the pidfile's flock. Its descriptor is inherited by every
   actor (no O_CLOEXEC), and a flock lasts while any descriptor of it is
   open: so the node stays locked while any process of this run lives,
   not only the supervisor. A new supervisor cannot start beside an actor
   of the old one (which would hold the peer port, signer.db's lock, or
   share journal.db). */
static int s_lock_node(s_node_t *self, ob_why_t *why)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/node.pid", self->process.config.runtime_dir) >=
        (int)sizeof path)
        return ob_why(why, "runtime_dir: path too long");
    self->lock_fd = open(path, O_RDWR | O_CREAT, 0600);
    if (self->lock_fd < 0)
        return ob_why(why, "%s: %s", path, strerror(errno));
    if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char text[32] = "";
        ssize_t n = pread(self->lock_fd, text, sizeof text - 1, 0);
        text[n > 0 ? n : 0] = '\0';
        text[strcspn(text, "\n")] = '\0';
        char *end;
        long pid = strtol(text, &end, 10);
        bool alive = pid > 0 && *end == '\0' && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
        if (alive || !text[0])
            return ob_why(why, "node '%s' is already running (pid %s, pidfile %s is locked)",
                          self->process.config.name, text[0] ? text : "?", path);
        return ob_why(why,
                      "node '%s': pidfile %s is still locked, but its supervisor (pid %s) is "
                      "gone: processes of its previous run are still alive and hold the lock "
                      "(`fuser -v %s` lists them); they exit with their supervisor, so try "
                      "again shortly",
                      self->process.config.name, path, text, path);
    }
    char line[32];
    int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (ftruncate(self->lock_fd, 0) != 0 || pwrite(self->lock_fd, line, (size_t)len, 0) != len)
        return ob_why(why, "%s: %s", path, strerror(errno));
    return 0;
}

/* --- the monitoring socket (SPEC §6) ----------------------------------------------

   Each actor publishes on its own PUB socket; a zproxy connects an XSUB to
   all of them and to this node's own `actor` events, and binds the XPUB
   that operators subscribe to (`obcast tail`). Two frames per event: the
   topic, then one JSON object. */

/* `detail`'s members (taken; may be NULL) follow the event's own. */
static void s_actor_event(s_node_t *self, const s_child_t *child, const char *event, json_t *detail)
{
    json_t *json =
        self->events
            ? json_pack("{s:s, s:s, s:s, s:i}", "node", self->process.config.name, "event", event,
                        "actor", ob_actor_name(child->actor), "instance", (int)child->instance)
            : NULL;
    if (json && detail)
        json_object_update(json, detail);
    json_decref(detail);
    if (json)
        ob_event_publish(self->events, "actor", &json);
}

/* The ZAP domain of the control and monitor sockets on tcp://. */
#define S_DOMAIN_OPERATORS "obcast-operators"

static bool s_tcp(const char *endpoint)
{
    return strncmp(endpoint, "tcp://", 6) == 0;
}

/* The operator sockets are local (ipc:// in the 0700 runtime folder) or
   remote (tcp:// with CURVE, admitting operator_keys only: SPEC §4). */
static int s_start_operator_auth(s_node_t *self, ob_why_t *why)
{
    const ob_node_config_t *config = &self->process.config;
    const char *endpoints[2][2] = {{"control_endpoint", config->control_endpoint},
                                   {"monitor_endpoint", config->monitor_endpoint}};
    bool tcp = false;
    for (int i = 0; i < 2; i++) {
        if (strncmp(endpoints[i][1], "ipc://", 6) != 0 && !s_tcp(endpoints[i][1]))
            return ob_why(why, "%s %s: only ipc:// and tcp:// (with CURVE) are served",
                          endpoints[i][0], endpoints[i][1]);
        tcp = tcp || s_tcp(endpoints[i][1]);
    }
    if (!tcp)
        return 0;
    /* config.c refuses a tcp endpoint without operator_keys. */
    assert(config->operator_keys[0]);
    const ob_manifest_node_t *me = ob_manifest_node_named(self->process.manifest, config->name);
    size_t count = 0;
    if (!(self->cert = ob_actor_load_curve_cert(config, me, why)) ||
        !(self->zap = ob_zap_new(why)) ||
        ob_zap_allow_folder(self->zap, S_DOMAIN_OPERATORS, "operator_keys", config->operator_keys,
                            &count, why) != 0)
        return -1;
    ob_info("node %s: %zu operator keys allowed from %s", config->name, count,
            config->operator_keys);
    return 0;
}

static void s_close(s_node_t *self)
{
    zsock_destroy(&self->control);
    zsock_destroy(&self->journal);
    zsock_destroy(&self->heartbeat);
    zactor_destroy(&self->monitor);
    zsock_destroy(&self->events);
    ob_zap_destroy(&self->zap);
    zcert_destroy(&self->cert);
    ob_metrics_http_destroy(&self->http);
}

static int s_start_monitor(s_node_t *self, ob_why_t *why)
{
    const ob_node_config_t *config = &self->process.config;
    ob_shell_endpoints_t endpoints;
    ob_shell_endpoints_init(&endpoints, config, false);
    char own[PATH_MAX + 64];
    snprintf(own, sizeof own, "%s/events-node", endpoints.events_base);
    self->events = zsock_new(ZMQ_PUB);
    if (!self->events || zsock_bind(self->events, "%s", own) < 0)
        return ob_why(why, "cannot bind %s: %s", own, zmq_strerror(zmq_errno()));
    /* ">ep1,>ep2,...": connect the XSUB to every publisher. */
    char frontends[8192];
    size_t used = (size_t)snprintf(frontends, sizeof frontends, ">%s", own);
    static const ob_actor_t named[] = {OB_ACTOR_JOURNAL, OB_ACTOR_SIGNER, OB_ACTOR_NET};
    for (uint32_t i = 0; i < 3 + config->verifiers; i++) {
        char ep[PATH_MAX + 64];
        ob_shell_events_endpoint(&endpoints, i < 3 ? named[i] : OB_ACTOR_VERIFIER,
                                 i < 3 ? 0 : i - 3, ep, sizeof ep);
        int n = snprintf(frontends + used, sizeof frontends - used, ",>%s", ep);
        if (n < 0 || (size_t)n >= sizeof frontends - used)
            return ob_why(why, "runtime_dir %s: too long for the monitor's endpoints",
                          config->runtime_dir);
        used += (size_t)n;
    }
    self->monitor = zactor_new(zproxy, NULL);
    if (!self->monitor)
        return ob_why(why, "cannot start the monitor proxy");
    zstr_sendx(self->monitor, "FRONTEND", "XSUB", frontends, NULL);
    zsock_wait(self->monitor);
    if (s_tcp(config->monitor_endpoint)) {
        /* zproxy sets no ZMQ_ZAP_ENFORCE_DOMAIN, so this XPUB would admit
           everyone if no handler answered; the supervisor's handle keeps
           the handler up until after the proxy is gone (s_close). */
        zstr_sendx(self->monitor, "DOMAIN", "BACKEND", S_DOMAIN_OPERATORS, NULL);
        zsock_wait(self->monitor);
        zstr_sendx(self->monitor, "CURVE", "BACKEND", zcert_public_txt(self->cert),
                   zcert_secret_txt(self->cert), NULL);
        zsock_wait(self->monitor);
    }
    char backend[OB_ENDPOINT_MAX + 1];
    snprintf(backend, sizeof backend, "@%s", config->monitor_endpoint);
    zstr_sendx(self->monitor, "BACKEND", "XPUB", backend, NULL);
    if (zsock_wait(self->monitor) != 0)
        return ob_why(why, "monitor_endpoint %s: cannot bind", config->monitor_endpoint);
    return 0;
}

/* --- heartbeats -------------------------------------------------------------------- */

static s_child_t *s_child_named(s_node_t *self, const char *actor, uint32_t instance)
{
    for (size_t i = 0; i < self->child_count; i++)
        if (streq(ob_actor_name(self->children[i].actor), actor) &&
            self->children[i].instance == instance)
            return &self->children[i];
    return NULL;
}

static void s_on_heartbeats(s_node_t *self, uint64_t now)
{
    for (int budget = 0; budget < 256 && (zsock_events(self->heartbeat) & ZMQ_POLLIN); budget++) {
        char *topic = NULL, *json = NULL;
        if (zsock_recv(self->heartbeat, "ss", &topic, &json) != 0)
            break;
        /* Whatever the order of its members: the actor and instance. */
        json_t *event = json ? json_loads(json, JSON_REJECT_DUPLICATES, NULL) : NULL;
        const char *actor = json_string_value(json_object_get(event, "actor"));
        json_t *instance = json_object_get(event, "instance");
        if (actor && json_is_integer(instance) && json_integer_value(instance) >= 0 &&
            json_integer_value(instance) <= UINT32_MAX) {
            s_child_t *child = s_child_named(self, actor, (uint32_t)json_integer_value(instance));
            if (child) {
                child->last_heartbeat = now;
                free(child->metrics);
                child->metrics = json; /* kept for GET /metrics */
                json = NULL;
            }
        }
        json_decref(event);
        zstr_free(&topic);
        zstr_free(&json);
    }
}

/* A hung actor (alive, silent) is killed, and restarted like any dead one.
   A thread cannot be killed alone: a hung one stops the node, which its
   watchdog starts again. -1 to stop the node. */
static int s_check_hung(s_node_t *self, uint64_t now)
{
    for (size_t i = 0; i < self->child_count; i++) {
        s_child_t *child = &self->children[i];
        bool running = self->inproc ? child->thread != NULL : child->pid > 0;
        if (!running || child->restart_at ||
            ob_actor_elapsed_ms(now, child->started_at) < S_STARTUP_GRACE_MS * self->time_scale)
            continue;
        uint64_t seen =
            child->last_heartbeat > child->started_at ? child->last_heartbeat : child->started_at;
        uint64_t silent = ob_actor_elapsed_ms(now, seen);
        if (silent < S_HUNG_MS * self->time_scale)
            continue;
        ob_error("node: %s sent no heartbeat for %llu ms: hung", child->label,
                 (unsigned long long)silent);
        s_actor_event(self, child, "hung", json_pack("{s:I}", "silent_ms", (json_int_t)silent));
        if (self->inproc)
            return -1;
        child->hung_killed = true;
        kill(child->pid, SIGKILL); /* reaped and restarted by s_reap */
        child->last_heartbeat = now;
    }
    return 0;
}

/* --- metrics ------------------------------------------------------------------------

   Each second the supervisor publishes its own `metrics` event, as an
   actor does (so `obcast metrics` and `obcast tail` see it): each actor up
   or not, its restarts by cause, its last restart's time. With the last
   event of each actor (the heartbeats it receives anyway) it is also the
   text GET /metrics serves: rendered here, in the loop, and handed to the
   HTTP thread whole (metrics_http.h says why). */

static void s_publish_metrics(s_node_t *self)
{
    static char buf[65536];
    ob_json_t json;
    ob_json_begin(&json, buf, sizeof buf);
    ob_json_object(&json, NULL);
    ob_json_str(&json, "actor", "supervisor");
    ob_json_u64(&json, "instance", 0);
    ob_json_str(&json, "node", self->process.config.name); /* for obcast metrics --endpoint */
    ob_json_object(&json, "actors");
    for (size_t i = 0; i < self->child_count; i++) {
        const s_child_t *c = &self->children[i];
        char key[32];
        snprintf(key, sizeof key, "%s/%u", ob_actor_name(c->actor), c->instance);
        bool running = self->inproc ? c->thread != NULL : c->pid > 0;
        ob_json_object(&json, key);
        ob_json_u64(&json, "up", running && !c->restart_at);
        ob_json_object(&json, "restarts");
        for (size_t k = 0; k < sizeof s_causes / sizeof s_causes[0]; k++)
            ob_json_u64(&json, s_causes[k], c->restarts_by[k]);
        ob_json_end(&json);
        ob_json_u64(&json, "last_restart_seconds", c->last_restart_s);
        ob_json_end(&json);
    }
    ob_json_end(&json);
    ob_json_end(&json);
    const char *text = ob_json_text(&json);
    if (!text)
        return;
    if (self->events) {
        zmq_send(zsock_resolve(self->events), "metrics", 7, ZMQ_DONTWAIT | ZMQ_SNDMORE);
        zmq_send(zsock_resolve(self->events), text, strlen(text), ZMQ_DONTWAIT);
    }
    if (!self->http)
        return;
    ob_prom_t *prom = ob_prom_new();
    char *out = NULL;
    size_t len = 0;
    FILE *stream = prom ? open_memstream(&out, &len) : NULL;
    if (stream) {
        for (size_t i = 0; i < self->child_count; i++)
            if (self->children[i].metrics &&
                ob_prom_add(prom, self->children[i].metrics, self->process.config.name) != 0)
                ob_warn("node: %s sent a metrics event GET /metrics cannot carry",
                        self->children[i].label);
        ob_prom_add(prom, text, self->process.config.name);
        int rc = ob_prom_write(prom, stream);
        if (fclose(stream) == 0 && rc == 0)
            ob_metrics_http_set(self->http, out, len);
    }
    free(out);
    ob_prom_destroy(&prom);
}

/* --- the control socket (SPEC §6) ---------------------------------------------------

   One text request, one text answer: "ok ..." or "error: ...".
     status                  the node and its actors, as JSON
     restart ACTOR [I]       stop one actor (it is started again)
     epoch N                 ask the journal to move to epoch N
     reload                  read the manifest again (it may only append epochs)
     stop                    stop the node */

static void s_status_json(s_node_t *self, uint64_t now, char *out, size_t cap)
{
    json_t *actors = json_array();
    for (size_t i = 0; i < self->child_count; i++) {
        const s_child_t *c = &self->children[i];
        bool running = self->inproc ? c->thread != NULL : c->pid > 0;
        const char *state = c->restart_at ? "restarting" : running ? "running" : "stopped";
        json_int_t heard =
            c->last_heartbeat ? (json_int_t)ob_actor_elapsed_ms(now, c->last_heartbeat) : -1;
        json_array_append_new(
            actors, json_pack("{s:s, s:i, s:s, s:I, s:i, s:I, s:i}", "actor",
                              ob_actor_name(c->actor), "instance", (int)c->instance, "state", state,
                              "pid", (json_int_t)c->pid, "restarts", (int)c->restarts,
                              "heartbeat_ms_ago", heard, "reloads", (int)c->reloads));
    }
    json_t *status = json_pack("{s:s, s:s, s:o}", "node", self->process.config.name, "mode",
                               self->inproc ? "inproc" : "process", "actors", actors);
    char *text = ob_event_dump(&status);
    if (!text || (size_t)snprintf(out, cap, "ok %s", text) >= cap)
        snprintf(out, cap, "error: the status does not fit in an answer");
    free(text);
}

static bool s_same_set(const ob_keyset_t *a, const ob_keyset_t *b)
{
    if (!a || !b || ob_keyset_size(a) != ob_keyset_size(b))
        return false;
    for (uint16_t i = 0; i < ob_keyset_size(a); i++)
        if (memcmp(ob_keyset_key(a, i)->bytes, ob_keyset_key(b, i)->bytes, 32) != 0)
            return false;
    return true;
}

/* SPEC §4: a reloaded manifest may only append epochs. Everything else
   (namespace, payload limit, nodes, the epochs already known) must be as
   it was. Returns 0, or -1 with the first difference in `why`. */
static int s_only_appends(const ob_manifest_t *old, const ob_manifest_t *new, ob_why_t *why)
{
    if (ob_manifest_namespace(old)->len != ob_manifest_namespace(new)->len ||
        memcmp(ob_manifest_namespace(old)->bytes, ob_manifest_namespace(new)->bytes,
               ob_manifest_namespace(old)->len) != 0)
        return ob_why(why, "its namespace changed");
    if (ob_manifest_max_payload(old) != ob_manifest_max_payload(new))
        return ob_why(why, "its max_payload changed");
    if (ob_manifest_node_count(old) != ob_manifest_node_count(new))
        return ob_why(why, "its nodes changed");
    for (size_t i = 0; i < ob_manifest_node_count(old); i++)
        if (memcmp(ob_manifest_node(old, i), ob_manifest_node(new, i),
                   sizeof(ob_manifest_node_t)) != 0)
            return ob_why(why, "node '%s' changed", ob_manifest_node(old, i)->name);
    const ob_epochs_t *a = ob_manifest_epochs(old), *b = ob_manifest_epochs(new);
    if (ob_epochs_count(b) < ob_epochs_count(a) || ob_epochs_first(a) != ob_epochs_first(b))
        return ob_why(why, "epochs were removed");
    for (uint64_t e = ob_epochs_first(a); e <= ob_epochs_latest(a); e++) {
        if (!ob_epochs_known(a, e))
            continue;
        if (!ob_epochs_known(b, e) ||
            !s_same_set(ob_epochs_validators(a, e), ob_epochs_validators(b, e)) ||
            !s_same_set(ob_epochs_sequencers(a, e), ob_epochs_sequencers(b, e)))
            return ob_why(why, "epoch %llu changed", (unsigned long long)e);
        if (e == UINT64_MAX)
            break;
    }
    return 0;
}

/* Reload: check the manifest file; if it appends epochs, restart the
   actors so that each reads it again (a process holds its own copy).
   Every actor reads the epochs while it runs, so every one is restarted:
   the journal (the epoch it moves to, its validators), the signer (the
   sets it signs and aggregates for), each verifier (the keys it checks
   against) and net (whom it sends to, which Locks it decodes, whether it
   sequences). A manifest with no new epoch changes nothing any of them
   holds: nothing restarts. A reload's restart is asked for, not a crash:
   it does not count toward max_restarts (s_child_ended). */
static void s_reload(s_node_t *self, char *answer, size_t cap)
{
    if (self->inproc) {
        snprintf(answer, cap,
                 "error: in --inproc mode the actors share the manifest in memory; "
                 "restart the node to reload it");
        return;
    }
    ob_why_t why = {{0}};
    ob_manifest_t *fresh =
        ob_manifest_load(self->process.crypto, self->process.config.manifest, &why);
    if (!fresh) {
        snprintf(answer, cap, "error: %s", why.text);
        return;
    }
    if (s_only_appends(self->process.manifest, fresh, &why) != 0) {
        snprintf(answer, cap, "error: manifest %s: %s; a reload may only append epochs",
                 self->process.config.manifest, why.text);
        ob_manifest_destroy(&fresh);
        return;
    }
    size_t added = ob_epochs_count(ob_manifest_epochs(fresh)) -
                   ob_epochs_count(ob_manifest_epochs(self->process.manifest));
    if (added == 0) {
        /* Only appends, and none: the same manifest. */
        ob_manifest_destroy(&fresh);
        snprintf(answer, cap, "ok reloaded %s (0 new epochs); nothing to restart",
                 self->process.config.manifest);
        return;
    }
    /* Children's args point at the old manifest only in --inproc mode. */
    ob_manifest_destroy(&self->process.manifest);
    self->process.manifest = fresh;
    size_t restarting = 0;
    for (size_t i = 0; i < self->child_count; i++) {
        s_child_t *child = &self->children[i];
        child->args.manifest = fresh;
        /* One waiting for its restart reads the new manifest anyway. */
        if (child->pid > 0 && kill(child->pid, SIGTERM) == 0) {
            child->reloading = true;
            restarting++;
        }
    }
    ob_info("node: manifest %s reloaded with %zu new epochs; restarting %zu actors",
            self->process.config.manifest, added, restarting);
    snprintf(answer, cap,
             "ok reloaded %s (%zu new epochs); restarting the %zu actors, which all read the "
             "epochs",
             self->process.config.manifest, added, restarting);
}

static void s_on_control(s_node_t *self, uint64_t now)
{
    char *request = zstr_recv(self->control);
    if (!request)
        return;
    char answer[2 * PATH_MAX + 1024];
    char word[32] = "", actor[16] = "";
    unsigned long long number = 0;
    unsigned instance = 0;
    if (sscanf(request, "%31s", word) != 1) {
        snprintf(answer, sizeof answer, "error: empty request");
    } else if (streq(word, "status")) {
        s_status_json(self, now, answer, sizeof answer);
    } else if (streq(word, "stop")) {
        self->stopping = true;
        snprintf(answer, sizeof answer, "ok stopping node %s", self->process.config.name);
    } else if (streq(word, "restart")) {
        int n = sscanf(request, "%*s %15s %u", actor, &instance);
        s_child_t *child = n >= 1 ? s_child_named(self, actor, n == 2 ? instance : 0) : NULL;
        if (!child)
            snprintf(answer, sizeof answer, "error: no actor '%s' instance %u (see status)", actor,
                     n == 2 ? instance : 0);
        else if (self->inproc)
            snprintf(answer, sizeof answer,
                     "error: in --inproc mode actors are threads; restart the node instead");
        else if (child->pid <= 0)
            snprintf(answer, sizeof answer, "error: %s is not running", child->label);
        else {
            child->stop_asked = true;
            kill(child->pid, SIGTERM); /* a clean stop; s_reap starts it again */
            snprintf(answer, sizeof answer, "ok restarting %s (pid %ld)", child->label,
                     (long)child->pid);
        }
    } else if (streq(word, "epoch")) {
        if (sscanf(request, "%*s %llu", &number) != 1 || number == 0 ||
            !ob_epochs_known(ob_manifest_epochs(self->process.manifest), number)) {
            snprintf(answer, sizeof answer, "error: epoch must be one the manifest lists");
        } else {
            ob_imsg_t msg = {.type = OB_IMSG_SET_EPOCH};
            msg.u.set_epoch.epoch = number;
            uint8_t frame[32];
            size_t len = 0;
            if (ob_imsg_encode(&msg, frame, sizeof frame, &len) == 0 &&
                zmq_send(zsock_resolve(self->journal), frame, len, ZMQ_DONTWAIT) >= 0)
                snprintf(answer, sizeof answer,
                         "ok asked the journal for epoch %llu (it refuses going back)", number);
            else
                snprintf(answer, sizeof answer, "error: the journal's queue is full");
        }
    } else if (streq(word, "reload")) {
        s_reload(self, answer, sizeof answer);
    } else {
        snprintf(answer, sizeof answer,
                 "error: unknown request '%s' (status, restart, epoch, stop)", word);
    }
    zstr_free(&request);
    zstr_send(self->control, answer);
}

static int s_start_control(s_node_t *self, ob_why_t *why)
{
    const ob_node_config_t *config = &self->process.config;
    self->control = zsock_new(ZMQ_REP);
    if (!self->control)
        return ob_why(why, "cannot make a ZeroMQ socket");
    if (s_tcp(config->control_endpoint)) {
        if (ob_zap_enforce(self->control, S_DOMAIN_OPERATORS, why) != 0)
            return -1;
        zcert_apply(self->cert, self->control);
        zsock_set_curve_server(self->control, 1);
    }
    if (zsock_bind(self->control, "%s", config->control_endpoint) < 0)
        return ob_why(why, "control_endpoint %s: cannot bind: %s", config->control_endpoint,
                      zmq_strerror(zmq_errno()));
    ob_shell_endpoints_t endpoints;
    ob_shell_endpoints_init(&endpoints, config, self->inproc);
    char ep[PATH_MAX + 64];
    /* The operator's own pair: the journal takes set_epoch only there, and
       in process mode only from its parent, this supervisor. */
    ob_shell_pair_endpoint(&endpoints, OB_PARTY_OPERATOR, 0, OB_PARTY_JOURNAL, 0, ep, sizeof ep);
    self->journal = zsock_new(ZMQ_PUSH);
    if (!self->journal || zsock_connect(self->journal, "%s", ep) != 0)
        return ob_why(why, "cannot connect to the journal at %s", ep);
    zsock_set_sndhwm(self->journal, 100);
    /* Heartbeats: each actor's metrics events. */
    self->heartbeat = zsock_new(ZMQ_SUB);
    if (!self->heartbeat)
        return ob_why(why, "cannot make a ZeroMQ socket");
    zsock_set_subscribe(self->heartbeat, "metrics");
    static const ob_actor_t named[] = {OB_ACTOR_JOURNAL, OB_ACTOR_SIGNER, OB_ACTOR_NET};
    ob_shell_endpoints_t events;
    ob_shell_endpoints_init(&events, config, false);
    for (uint32_t i = 0; i < 3 + config->verifiers; i++) {
        ob_shell_events_endpoint(&events, i < 3 ? named[i] : OB_ACTOR_VERIFIER, i < 3 ? 0 : i - 3,
                                 ep, sizeof ep);
        zsock_connect(self->heartbeat, "%s", ep);
    }
    return 0;
}

/* --- process mode ----------------------------------------------------------- */

static pid_t s_spawn(s_node_t *self, s_child_t *child)
{
    char binary[PATH_MAX + 32], config[PATH_MAX], fd[16], instance[16];
    snprintf(binary, sizeof binary, "%s/obcast-%s", self->bindir, ob_actor_name(child->actor));
    snprintf(config, sizeof config, "%s", self->process.config.path);
    snprintf(fd, sizeof fd, "%d", self->arena_fd);
    snprintf(instance, sizeof instance, "%u", child->instance);
    pid_t supervisor = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid; /* -1 on error */
    /* The child: bound to this supervisor's life before anything else,
       then its own signal defaults, then the actor's binary. It inherits
       the node lock's descriptor (s_lock_node). */
    if (ob_actor_spawn_guard(supervisor) != 0)
        _exit(127);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char *argv[] = {self->wrapper, binary,   "--config", config, "--arena-fd", fd,
                    "--instance",  instance, NULL};
    char **args = self->wrapper[0] ? argv : argv + 1;
    execv(args[0], args);
    fprintf(stderr, "%s: cannot run %s: %s\n", s_program, args[0], strerror(errno));
    _exit(127);
}

/* OBCAST_ACTOR_WRAPPER (tests and debugging: scripts/test-valgrind): an
   executable each actor is started through, as `WRAPPER BINARY ARGS...`;
   it must exec BINARY in the same process, which stays the supervisor's
   child. Checked here, before anything starts, so that a bad one fails
   the node with its name rather than every actor with exit 127. */
static int s_wrapper(s_node_t *self, const char *wrapper, ob_why_t *why)
{
    self->wrapper[0] = '\0';
    if (!wrapper || !wrapper[0])
        return 0;
    struct stat st;
    if (wrapper[0] != '/')
        return ob_why(why, "%s=%s: not an absolute path", OB_ACTOR_WRAPPER_ENV, wrapper);
    if (strlen(wrapper) >= sizeof self->wrapper)
        return ob_why(why, "%s: path too long", OB_ACTOR_WRAPPER_ENV);
    if (stat(wrapper, &st) != 0)
        return ob_why(why, "%s=%s: %s", OB_ACTOR_WRAPPER_ENV, wrapper, strerror(errno));
    if (!S_ISREG(st.st_mode) || access(wrapper, X_OK) != 0)
        return ob_why(why, "%s=%s: not an executable file", OB_ACTOR_WRAPPER_ENV, wrapper);
    memcpy(self->wrapper, wrapper, strlen(wrapper) + 1);
    return 0;
}

/* OBCAST_TIME_SCALE=N (1 to 100; tests and debugging): the start-up
   grace, the heartbeat silence taken for a hang, the stop grace and the
   slots' lease, times N. Under valgrind every actor runs some tens of
   times slower, and a node of them, whose actors had not yet sent their
   first heartbeat after 15 s, was restarted whole every 15 s. */
static int s_time_scale(s_node_t *self, const char *scale, ob_why_t *why)
{
    self->time_scale = 1;
    if (!scale)
        return 0;
    char *end;
    errno = 0;
    unsigned long n = strtoul(scale, &end, 10);
    if (errno || end == scale || *end || scale[0] == '-' || n < 1 || n > 100)
        return ob_why(why, "OBCAST_TIME_SCALE=%s: not a whole number from 1 to 100", scale);
    self->time_scale = n;
    return 0;
}

/* --- --inproc mode ------------------------------------------------------------- */

static void s_thread(zsock_t *pipe, void *arg)
{
    s_child_t *child = arg;
    child->args.pipe = pipe;
    /* The thread's name is its actor's (top -H, perf, /proc/.../comm). */
    char name[16] = {0}; /* the kernel keeps 15 bytes */
    memcpy(name, child->label, strnlen(child->label, sizeof name - 1));
    prctl(PR_SET_NAME, name, 0, 0, 0);
    zsock_signal(pipe, 0);
    int rc = 1;
    switch (child->actor) {
    case OB_ACTOR_NET:
        rc = ob_net_actor_run(&child->args);
        break;
    case OB_ACTOR_VERIFIER:
        rc = ob_verifier_actor_run(&child->args);
        break;
    case OB_ACTOR_SIGNER:
        rc = ob_signer_actor_run(&child->args);
        break;
    case OB_ACTOR_JOURNAL:
        rc = ob_journal_actor_run(&child->args);
        break;
    }
    if (rc != 0) {
        /* Tell the node, then wait for its $TERM as a zactor must. */
        zstr_send(pipe, "FAILED");
        char *msg = NULL;
        while ((msg = zstr_recv(pipe)) && !streq(msg, "$TERM"))
            zstr_free(&msg);
        zstr_free(&msg);
    }
    atomic_store_explicit(&child->returned, true, memory_order_release);
}

/* Stops an actor's thread. zactor_destroy returns once the thread's body
   has returned, but it learns that through libzmq, which orders nothing
   in the C11 model and which ThreadSanitizer cannot see into: the acquire
   of `returned` orders all the thread did before what we free next (the
   manifest, the arena, its args), for the compiler and for TSan alike.
   TSan reported each of those frees as racing with the thread's last
   reads. */
static void s_join(s_child_t *child)
{
    zactor_destroy(&child->thread);
    if (!atomic_load_explicit(&child->returned, memory_order_acquire))
        ob_warn("node: %s: its thread did not say it was done", child->label);
}

/* --- both ------------------------------------------------------------------- */

static int s_start(s_node_t *self, s_child_t *child)
{
    child->started_at = ob_shell_now_ms();
    child->restart_at = 0;
    child->failed = false;
    if (self->inproc) {
        atomic_store_explicit(&child->returned, false, memory_order_relaxed);
        child->thread = zactor_new(s_thread, child);
        if (child->thread)
            s_actor_event(self, child, "spawn", json_pack("{s:b}", "thread", 1));
        return child->thread ? 0 : -1;
    }
    child->pid = s_spawn(self, child);
    if (child->pid < 0) {
        ob_error("node: cannot fork %s: %s", child->label, strerror(errno));
        return -1;
    }
    ob_info("node: %s started (pid %ld)", child->label, (long)child->pid);
    s_actor_event(self, child, "spawn", json_pack("{s:I}", "pid", (json_int_t)child->pid));
    return 0;
}

/* Intensity (Erlang/OTP): more than max_restarts within restart_window_ms
   stops the node. */
static bool s_restart_allowed(s_node_t *self, uint64_t now)
{
    const ob_node_config_t *config = &self->process.config;
    size_t ring = (size_t)config->max_restarts + 1, recent = 0;
    for (size_t i = 0; i < self->restart_count && i < ring; i++)
        if (ob_actor_elapsed_ms(now, self->restarts[i]) < config->restart_window_ms)
            recent++;
    self->restarts[self->restart_count++ % ring] = now;
    return recent < config->max_restarts;
}

/* A child ended: schedule its restart, or give up. -1 to stop the node. */
static int s_child_ended(s_node_t *self, s_child_t *child, const char *how)
{
    uint64_t now = ob_shell_now_ms();
    int cause = child->hung_killed  ? S_CAUSE_HUNG
                : child->stop_asked ? S_CAUSE_REQUEST
                                    : S_CAUSE_CRASH;
    child->hung_killed = child->stop_asked = false;
    free(child->metrics); /* down: no samples of it until it speaks again */
    child->metrics = NULL;
    if (child->reloading) {
        /* Stopped by a reload: started again at once, neither a failure
           (no backoff) nor a restart within the intensity limit. */
        child->reloading = false;
        child->reloads++;
        s_actor_event(self, child, "exit", json_pack("{s:s, s:b}", "how", how, "reload", 1));
        ob_info("node: %s %s for the reload; starting it again", child->label, how);
        child->restart_at = now > 0 ? now : 1;
        return 0;
    }
    /* One that ran for a while starts again soon; one that keeps failing,
       later and later. */
    if (ob_actor_elapsed_ms(now, child->started_at) > 10000)
        child->backoff_ms = S_BACKOFF_MIN_MS;
    else
        child->backoff_ms = child->backoff_ms ? child->backoff_ms * 2 : S_BACKOFF_MIN_MS;
    if (child->backoff_ms > S_BACKOFF_MAX_MS)
        child->backoff_ms = S_BACKOFF_MAX_MS;
    s_actor_event(self, child, "exit", json_pack("{s:s}", "how", how));
    if (!s_restart_allowed(self, now)) {
        ob_error("node: %s %s; more than %u restarts within %llu ms (max_restarts, "
                 "restart_window_ms): stopping the node",
                 child->label, how, self->process.config.max_restarts,
                 (unsigned long long)self->process.config.restart_window_ms);
        s_actor_event(self, child, "give-up",
                      json_pack("{s:I, s:I}", "max_restarts",
                                (json_int_t)self->process.config.max_restarts, "restart_window_ms",
                                (json_int_t)self->process.config.restart_window_ms));
        return -1;
    }
    ob_warn("node: %s %s; restarting in %llu ms", child->label, how,
            (unsigned long long)child->backoff_ms);
    child->restarts++;
    child->restarts_by[cause]++;
    child->last_restart_s = (uint64_t)time(NULL);
    s_actor_event(self, child, "restart",
                  json_pack("{s:I}", "in_ms", (json_int_t)child->backoff_ms));
    child->restart_at = now + child->backoff_ms;
    return 0;
}

static int s_reap(s_node_t *self)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < self->child_count; i++) {
            s_child_t *child = &self->children[i];
            if (child->pid != pid)
                continue;
            child->pid = 0;
            char how[64];
            if (WIFSIGNALED(status))
                snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
            else
                snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
            if (s_child_ended(self, child, how) != 0)
                return -1;
        }
    }
    return 0;
}

static void s_stop_all(s_node_t *self)
{
    /* net first, so nothing new comes in; the journal last. */
    for (size_t k = self->child_count; k-- > 0;) {
        s_child_t *child = &self->children[k];
        if (self->inproc)
            s_join(child);
        else if (child->pid > 0)
            kill(child->pid, SIGTERM);
    }
    if (self->inproc)
        return;
    uint64_t deadline = ob_shell_now_ms() + S_STOP_GRACE_MS * self->time_scale;
    for (;;) {
        bool alive = false;
        for (size_t i = 0; i < self->child_count; i++) {
            s_child_t *child = &self->children[i];
            if (child->pid > 0 && waitpid(child->pid, NULL, WNOHANG) == child->pid)
                child->pid = 0;
            alive = alive || child->pid > 0;
        }
        if (!alive)
            return;
        if (ob_shell_now_ms() > deadline) {
            for (size_t i = 0; i < self->child_count; i++)
                if (self->children[i].pid > 0) {
                    ob_warn("node: %s did not stop in time; killing it", self->children[i].label);
                    kill(self->children[i].pid, SIGKILL);
                    waitpid(self->children[i].pid, NULL, 0);
                    self->children[i].pid = 0;
                }
            return;
        }
        zclock_sleep(20);
    }
}

static void s_add(s_node_t *self, ob_actor_t actor, uint32_t instance, ob_arena_t *arena)
{
    s_child_t *child = &self->children[self->child_count++];
    child->actor = actor;
    child->instance = instance;
    if (actor == OB_ACTOR_VERIFIER)
        snprintf(child->label, sizeof child->label, "verifier %u", instance);
    else
        snprintf(child->label, sizeof child->label, "%s", ob_actor_name(actor));
    child->args.config = &self->process.config;
    child->args.manifest = self->process.manifest;
    child->args.arena = arena;
    child->args.instance = instance;
    ob_shell_endpoints_init(&child->args.endpoints, &self->process.config, self->inproc);
}

static int s_parse(s_node_t *self, int argc, char **argv, const char **config)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"inproc", no_argument, NULL, 'i'},
                                            {"help", no_argument, NULL, 'h'},
                                            {"version", no_argument, NULL, 'V'},
                                            {NULL, 0, NULL, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'i':
            self->inproc = true;
            break;
        case 'h':
            printf("usage: %s%s", s_program, s_usage);
            return 0;
        case 'V':
            printf("%s %s\n", s_program, OBCAST_VERSION);
            return 0;
        default:
            fprintf(stderr, "%s: unknown option '%s' (see --help)\n", s_program,
                    argv[optind - 1] ? argv[optind - 1] : "?");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", s_program, argv[optind]);
        return 2;
    }
    if (!*config) {
        fprintf(stderr, "%s: no --config given (see --help)\n", s_program);
        return 2;
    }
    return -1;
}

static int s_run(s_node_t *self)
{
    const ob_node_config_t *config = &self->process.config;
    ob_why_t why = {{0}};
    if (ob_shell_runtime_dir(config->runtime_dir, &why) != 0 || s_lock_node(self, &why) != 0 ||
        ob_actor_preflight(config, self->process.manifest, self->process.crypto, &why) != 0) {
        fprintf(stderr, "%s: config %s: %s\n", s_program, config->path, why.text);
        return 1;
    }
    const ob_manifest_node_t *me = ob_manifest_node_named(self->process.manifest, config->name);
    if (ob_actor_claim_data_dir(config->data_dir, me->key, &why) != 0) {
        fprintf(stderr, "%s: config %s: %s\n", s_program, config->path, why.text);
        return 1;
    }
    uint32_t slot_size = ob_manifest_max_payload(self->process.manifest);
    ob_arena_t *arena = self->inproc ? ob_arena_new_heap(config->arena_slots, slot_size, &why)
                                     : ob_arena_create_shared(config->arena_slots, slot_size,
                                                              &self->arena_fd, &why);
    if (!arena) {
        fprintf(stderr, "%s: config %s: arena of %u slots of %u bytes: %s\n", s_program,
                config->path, config->arena_slots, slot_size, why.text);
        return 1;
    }
    if (config->metrics_http_port) {
        self->http =
            ob_metrics_http_new(config->metrics_http_host, config->metrics_http_port, &why);
        if (!self->http) {
            fprintf(stderr, "%s: config %s: %s\n", s_program, config->path, why.text);
            ob_arena_destroy(&arena);
            return 1;
        }
    }
    if (s_start_operator_auth(self, &why) != 0 || s_start_monitor(self, &why) != 0 ||
        s_start_control(self, &why) != 0) {
        fprintf(stderr, "%s: config %s: %s\n", s_program, config->path, why.text);
        s_close(self);
        ob_arena_destroy(&arena);
        return 1;
    }
    s_add(self, OB_ACTOR_JOURNAL, 0, arena);
    s_add(self, OB_ACTOR_SIGNER, 0, arena);
    for (uint32_t v = 0; v < config->verifiers; v++)
        s_add(self, OB_ACTOR_VERIFIER, v, arena);
    s_add(self, OB_ACTOR_NET, 0, arena);
    ob_info("node %s: starting %zu actors (%s mode)", config->name, self->child_count,
            self->inproc ? "inproc" : "process");
    if (self->wrapper[0] && !self->inproc)
        ob_warn("node %s: every actor runs through %s=%s (tests, debugging)", config->name,
                OB_ACTOR_WRAPPER_ENV, self->wrapper);
    if (self->time_scale > 1)
        ob_warn("node %s: its timings are %llu times their length (OBCAST_TIME_SCALE)",
                config->name, (unsigned long long)self->time_scale);

    int rc = 0;
    for (size_t i = 0; i < self->child_count && rc == 0; i++)
        rc = s_start(self, &self->children[i]);
    uint64_t next_sweep = ob_shell_now_ms() + 1000;
    zpoller_t *poller = zpoller_new(self->control, NULL);
    while (rc == 0 && !zsys_interrupted && !self->stopping) {
        if (self->inproc) {
            for (size_t i = 0; i < self->child_count && rc == 0; i++) {
                s_child_t *child = &self->children[i];
                if (!child->thread || child->restart_at)
                    continue;
                zsock_t *pipe = zactor_sock(child->thread);
                if (zsock_events(pipe) & ZMQ_POLLIN) {
                    char *msg = zstr_recv(pipe);
                    bool failed = msg && streq(msg, "FAILED");
                    zstr_free(&msg);
                    if (failed) {
                        s_join(child);
                        rc = s_child_ended(self, child, "failed");
                    }
                }
            }
        } else {
            rc = s_reap(self);
        }
        uint64_t now = ob_shell_now_ms();
        for (size_t i = 0; i < self->child_count && rc == 0; i++) {
            s_child_t *child = &self->children[i];
            if (child->restart_at && child->restart_at <= now)
                rc = s_start(self, child);
        }
        s_on_heartbeats(self, now);
        if (rc == 0)
            rc = s_check_hung(self, now);
        if (now >= next_sweep) {
            /* Slots whose holder died with the message: freed after a lease. */
            uint32_t expired = ob_arena_expire(arena, now, S_LEASE_MS * self->time_scale);
            if (expired)
                ob_info("node: %u payload slots expired", expired);
            next_sweep = now + 1000;
            s_publish_metrics(self);
        }
        if (zpoller_wait(poller, 50) == self->control)
            s_on_control(self, ob_shell_now_ms());
    }
    zpoller_destroy(&poller);
    ob_info("node %s: stopping", config->name);
    s_stop_all(self);
    s_close(self);
    for (size_t i = 0; i < self->child_count; i++)
        free(self->children[i].metrics);
    ob_arena_destroy(&arena);
    if (!self->inproc)
        close(self->arena_fd);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    /* One program, two names: it speaks as the one it was called by. */
    const char *called = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    s_program = streq(called, "obcast-supervisor") ? "obcast-supervisor" : "obcast-node";
    ob_log_set_ident(s_program);
    s_node_t *self = calloc(1, sizeof *self);
    if (!self)
        return 1;
    self->arena_fd = -1;
    self->lock_fd = -1;
    const char *config = NULL;
    int status = s_parse(self, argc, argv, &config);
    if (status >= 0) {
        free(self);
        return status;
    }
    /* The actor binaries sit beside this one. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    const char *override = getenv("OBCAST_ACTOR_DIR");
    snprintf(self->bindir, sizeof self->bindir, "%s", override ? override : dirname(exe));
    ob_why_t why = {{0}};
    if (s_wrapper(self, getenv(OB_ACTOR_WRAPPER_ENV), &why) != 0 ||
        s_time_scale(self, getenv("OBCAST_TIME_SCALE"), &why) != 0) {
        fprintf(stderr, "%s: %s\n", s_program, why.text);
        free(self);
        return 1;
    }

    /* Load and check everything once, here, so that a bad config fails
       before anything starts. */
    char *fake_argv[] = {(char *)s_program, "--config", (char *)config, "status", NULL};
    int exit_status;
    if (ob_actor_process_init(&self->process, 4, fake_argv, s_program, "", NULL, &exit_status) !=
        0) {
        ob_actor_process_fini(&self->process);
        free(self);
        return exit_status;
    }
    ob_log_set_ident(s_program);
    self->restarts = calloc((size_t)self->process.config.max_restarts + 1, sizeof *self->restarts);
    if (!self->restarts) {
        ob_actor_process_fini(&self->process);
        free(self);
        return 1;
    }
    zsys_init();
    status = s_run(self);
    free(self->restarts);
    ob_actor_process_fini(&self->process);
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    free(self);
    return status;
}

#include "shell.h"

#include "log.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <malloc.h>
#include <unistd.h>

/* Bounds of one batch: messages taken from all inputs, and the outbox
   (a message makes at most one envelope per validator). */
#define S_MAX_BATCH        256
#define S_OUTBOX_ENVELOPES 65536
#define S_OUTBOX_BYTES     ((size_t)OB_IMSG_BLOB_MAX + (8u << 20))
/* net watches its peer socket, one monitor per peer (up to 256), its
   application and submit sockets and their guards. */
#define S_MAX_WATCHED   (256 + 16)
#define S_MAX_VERIFIERS 64
#define S_INTERNAL_HWM  100000
#define S_IDLE_TICK_MS  100
#define S_LINGER_MS     200
/* The actor's figures and its stage histograms (common/metrics.h): up to
   13 stages x 2 histograms of at most 256 bucket pairs each. */
#define S_METRICS_BYTES (256 * 1024)

struct _ob_shell_t {
    ob_actor_t actor;
    uint32_t instance;
    zsock_t *pipe;
    zsock_t *pull;
    zsock_t *events; /* PUB: metrics every second */
    char *metrics_buf;
    uint64_t next_metrics;
    zsock_t *push[OB_ACTOR_COUNT + 1]; /* by actor; the verifier's is round-robin */
    zsock_t *verifier_each[S_MAX_VERIFIERS];
    uint32_t verifiers;
    zsock_t *watched[S_MAX_WATCHED];
    bool paused[S_MAX_WATCHED];
    size_t watched_count;
    zpoller_t *poller;
    ob_outbox_t *out;
    ob_stages_t *stages; /* a chunk's life: this actor's stages (NULL if unmapped) */
    bool terminated;
    ob_shell_stats_t stats;
};

uint64_t ob_shell_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ob_shell_endpoints_init(ob_shell_endpoints_t *self, const ob_node_config_t *config,
                             bool inproc)
{
    memset(self, 0, sizeof *self);
    self->inproc = inproc;
    self->verifiers = config->verifiers ? config->verifiers : 1;
    snprintf(self->events_base, sizeof self->events_base, "ipc://%s", config->runtime_dir);
    if (inproc)
        snprintf(self->base, sizeof self->base, "inproc://obcast-%s", config->name);
    else
        snprintf(self->base, sizeof self->base, "ipc://%s", config->runtime_dir);
}

int ob_shell_endpoint(const ob_shell_endpoints_t *self, ob_actor_t actor, uint32_t instance,
                      char *out, size_t cap)
{
    int n = actor == OB_ACTOR_VERIFIER
                ? snprintf(out, cap, "%s/verifier-%u", self->base, instance)
                : snprintf(out, cap, "%s/%s", self->base, ob_actor_name(actor));
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int ob_shell_events_endpoint(const ob_shell_endpoints_t *self, ob_actor_t actor, uint32_t instance,
                             char *out, size_t cap)
{
    int n = actor == OB_ACTOR_VERIFIER
                ? snprintf(out, cap, "%s/events-verifier-%u", self->events_base, instance)
                : snprintf(out, cap, "%s/events-%s", self->events_base, ob_actor_name(actor));
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int ob_shell_runtime_dir(const char *path, ob_why_t *why)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT || mkdir(path, 0700) != 0) {
            ob_why(why, "runtime_dir %s: %s", path, strerror(errno));
            return -1;
        }
        if (stat(path, &st) != 0) {
            ob_why(why, "runtime_dir %s: %s", path, strerror(errno));
            return -1;
        }
    }
    if (!S_ISDIR(st.st_mode)) {
        ob_why(why, "runtime_dir %s: not a folder", path);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        ob_why(why, "runtime_dir %s: owned by uid %u, not by us (uid %u)", path,
               (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if ((st.st_mode & 0777) != 0700) {
        ob_why(why, "runtime_dir %s: mode %03o; it must be 0700 (local sockets live there)", path,
               (unsigned)(st.st_mode & 0777));
        return -1;
    }
    return 0;
}

static zsock_t *s_socket(int type, ob_why_t *why)
{
    zsock_t *sock = zsock_new(type);
    if (!sock) {
        ob_why(why, "cannot make a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    zsock_set_sndhwm(sock, S_INTERNAL_HWM);
    zsock_set_rcvhwm(sock, S_INTERNAL_HWM);
    zsock_set_linger(sock, S_LINGER_MS);
    return sock;
}

static zsock_t *s_push_to(const ob_shell_endpoints_t *endpoints, ob_actor_t to, uint32_t instance,
                          ob_why_t *why)
{
    char ep[PATH_MAX + 64];
    if (ob_shell_endpoint(endpoints, to, instance, ep, sizeof ep) != 0) {
        ob_why(why, "endpoint of %s too long", ob_actor_name(to));
        return NULL;
    }
    zsock_t *sock = s_socket(ZMQ_PUSH, why);
    if (sock && zsock_connect(sock, "%s", ep) != 0) {
        ob_why(why, "cannot connect to %s: %s", ep, zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
    }
    return sock;
}

ob_shell_t *ob_shell_new(const ob_shell_endpoints_t *endpoints, ob_actor_t actor, uint32_t instance,
                         zsock_t *pipe, ob_why_t *why)
{
    assert(endpoints->verifiers >= 1);
    if (endpoints->verifiers > S_MAX_VERIFIERS) {
        ob_why(why, "at most %d verifiers", S_MAX_VERIFIERS);
        return NULL;
    }
    ob_shell_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_why(why, "out of memory");
        return NULL;
    }
    self->actor = actor;
    self->instance = instance;
    self->pipe = pipe;
    self->verifiers = endpoints->verifiers;
    self->out = ob_outbox_new(S_OUTBOX_ENVELOPES, S_OUTBOX_BYTES);
    self->metrics_buf = malloc(S_METRICS_BYTES);
    if (!self->out || !self->metrics_buf) {
        ob_why(why, "out of memory");
        goto fail;
    }
    char ep[PATH_MAX + 64];
    if (ob_shell_endpoint(endpoints, actor, instance, ep, sizeof ep) != 0) {
        ob_why(why, "endpoint too long");
        goto fail;
    }
    self->pull = s_socket(ZMQ_PULL, why);
    if (!self->pull)
        goto fail;
    if (zsock_bind(self->pull, "%s", ep) < 0) {
        ob_why(why, "cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        goto fail;
    }
    static const ob_actor_t actors[] = {OB_ACTOR_NET, OB_ACTOR_VERIFIER, OB_ACTOR_SIGNER,
                                        OB_ACTOR_JOURNAL};
    for (size_t i = 0; i < sizeof actors / sizeof actors[0]; i++) {
        ob_actor_t to = actors[i];
        if (to == actor)
            continue;
        if (to != OB_ACTOR_VERIFIER) {
            self->push[to] = s_push_to(endpoints, to, 0, why);
            if (!self->push[to])
                goto fail;
            continue;
        }
        /* One socket over every instance shares the work round-robin;
           one per instance reaches them all. */
        self->push[to] = s_socket(ZMQ_PUSH, why);
        if (!self->push[to])
            goto fail;
        for (uint32_t v = 0; v < self->verifiers; v++) {
            if (ob_shell_endpoint(endpoints, OB_ACTOR_VERIFIER, v, ep, sizeof ep) != 0 ||
                zsock_connect(self->push[to], "%s", ep) != 0) {
                ob_why(why, "cannot connect to verifier %u", v);
                goto fail;
            }
            self->verifier_each[v] = s_push_to(endpoints, to, v, why);
            if (!self->verifier_each[v])
                goto fail;
        }
    }
    if (ob_shell_events_endpoint(endpoints, actor, instance, ep, sizeof ep) != 0) {
        ob_why(why, "endpoint too long");
        goto fail;
    }
    self->events = zsock_new(ZMQ_PUB);
    if (!self->events) {
        ob_why(why, "cannot make a ZeroMQ socket");
        goto fail;
    }
    zsock_set_sndhwm(self->events, 1000);
    zsock_set_linger(self->events, 0);
    if (zsock_bind(self->events, "%s", ep) < 0) {
        ob_why(why, "cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* The node's stage table, in its runtime folder (metrics only: a
       node runs without it). */
    char stages_path[PATH_MAX + 16];
    const char *dir = endpoints->events_base + strlen("ipc://");
    if (snprintf(stages_path, sizeof stages_path, "%s/stages", dir) < (int)sizeof stages_path)
        self->stages = ob_stages_new(stages_path, getenv("OBCAST_STAGES_SHARED"));
    if (!self->stages)
        ob_warn("%s: no stage table at %s: stages are not timed", ob_actor_name(actor),
                stages_path);
    ob_stages_set_current(self->stages);
    self->poller = zpoller_new(self->pull, NULL);
    if (!self->poller || (pipe && zpoller_add(self->poller, pipe) != 0)) {
        ob_why(why, "out of memory");
        goto fail;
    }
    if (pipe) /* a thread stops on "$TERM", not on the process's signals */
        zpoller_set_nonstop(self->poller, true);
    return self;
fail:
    ob_shell_destroy(&self);
    return NULL;
}

void ob_shell_destroy(ob_shell_t **self_p)
{
    assert(self_p);
    ob_shell_t *self = *self_p;
    if (!self)
        return;
    zpoller_destroy(&self->poller);
    zsock_destroy(&self->pull);
    zsock_destroy(&self->events);
    for (size_t i = 0; i <= OB_ACTOR_COUNT; i++)
        zsock_destroy(&self->push[i]);
    for (size_t i = 0; i < S_MAX_VERIFIERS; i++)
        zsock_destroy(&self->verifier_each[i]);
    ob_outbox_destroy(&self->out);
    ob_stages_destroy(&self->stages);
    free(self->metrics_buf);
    free(self);
    *self_p = NULL;
}

int ob_shell_watch(ob_shell_t *self, zsock_t *socket)
{
    if (self->watched_count == S_MAX_WATCHED || zpoller_add(self->poller, socket) != 0)
        return -1;
    self->watched[self->watched_count++] = socket;
    return 0;
}

void ob_shell_pause(ob_shell_t *self, zsock_t *socket, bool paused)
{
    for (size_t i = 0; i < self->watched_count; i++) {
        if (self->watched[i] != socket || self->paused[i] == paused)
            continue;
        self->paused[i] = paused;
        if (paused)
            zpoller_remove(self->poller, socket);
        else
            zpoller_add(self->poller, socket);
    }
}

ob_outbox_t *ob_shell_outbox(ob_shell_t *self)
{
    return self->out;
}

void ob_shell_stop(ob_shell_t *self)
{
    self->terminated = true;
}

const ob_shell_stats_t *ob_shell_stats(const ob_shell_t *self)
{
    return &self->stats;
}

static void s_send(ob_shell_t *self, zsock_t *sock, const uint8_t *bytes, size_t len)
{
    if (!sock || zmq_send(zsock_resolve(sock), bytes, len, ZMQ_DONTWAIT) < 0)
        self->stats.send_dropped++;
    else
        self->stats.messages_out++;
}

/* The journal's view goes to every verifier, and so does the signer's
   reset; a routed message to the instance of its chunk; anything else to
   one, round-robin. */
static bool s_for_every_verifier(const uint8_t *bytes, size_t len)
{
    if (len < 2)
        return false;
    uint16_t type = (uint16_t)(bytes[0] << 8 | bytes[1]);
    return type == OB_IMSG_EPOCH_CHANGED || type == OB_IMSG_TIP_CHANGED ||
           type == OB_IMSG_QUORUM_RESET;
}

void ob_shell_publish(ob_shell_t *self, const char *topic, const char *json)
{
    void *sock = zsock_resolve(self->events);
    if (zmq_send(sock, topic, strlen(topic), ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0)
        zmq_send(sock, json, strlen(json), ZMQ_DONTWAIT);
}

void ob_shell_flush(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler)
{
    for (size_t i = 0; i < ob_outbox_count(self->out); i++) {
        const ob_envelope_t *e = ob_outbox_at(self->out, i);
        const uint8_t *bytes = ob_outbox_bytes(self->out, e);
        switch (e->kind) {
        case OB_DEST_ACTOR:
            assert(e->actor >= OB_ACTOR_NET && e->actor <= OB_ACTOR_JOURNAL);
            if (e->actor == OB_ACTOR_VERIFIER && s_for_every_verifier(bytes, e->len)) {
                for (uint32_t v = 0; v < self->verifiers; v++)
                    s_send(self, self->verifier_each[v], bytes, e->len);
            } else if (e->actor == OB_ACTOR_VERIFIER && e->routed) {
                uint32_t v = ob_outbox_route_instance(e->route, self->verifiers);
                s_send(self, self->verifier_each[v], bytes, e->len);
            } else {
                s_send(self, self->push[e->actor], bytes, e->len);
            }
            break;
        case OB_DEST_PEER:
        case OB_DEST_APP:
        case OB_DEST_CLIENT:
            if (ops->send_external)
                ops->send_external(handler, e, bytes);
            break;
        }
        if (ops->sent)
            ops->sent(handler, e, bytes);
    }
    ob_outbox_clear(self->out);
    /* The batch committed and its messages left: its stages are done. */
    ob_stages_stamp(self->stages, ob_stages_now_us());
    if (ops->flushed)
        ops->flushed(handler);
}

/* Takes what waits on the PULL socket, up to `budget` messages. */
static size_t s_drain_pull(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler, uint64_t now,
                           size_t budget)
{
    size_t taken = 0;
    void *sock = zsock_resolve(self->pull);
    while (taken < budget) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frame);
            break;
        }
        taken++;
        self->stats.messages_in++;
        bool more = zmq_msg_more(&frame);
        ob_imsg_t msg;
        ob_error_t rc = more ? OB_ERR_TRAILING
                             : ob_imsg_decode(&msg, zmq_msg_data(&frame), zmq_msg_size(&frame));
        if (rc == OB_OK) {
            ops->handle(handler, now, &msg, self->out);
        } else {
            /* Unknown, malformed or of another version: dropped, counted,
               never fatal. */
            self->stats.undecodable++;
            ob_outbox_dropped(self->out, self->actor, rc, NULL);
            ob_debug("%s: dropped an internal message: %s", ob_actor_name(self->actor),
                     ob_error_name(rc));
        }
        zmq_msg_close(&frame);
        while (more) { /* the rest of a multi-frame message nobody sends */
            zmq_msg_init(&frame);
            if (zmq_msg_recv(&frame, sock, ZMQ_DONTWAIT) < 0)
                more = false;
            else
                more = zmq_msg_more(&frame);
            zmq_msg_close(&frame);
        }
    }
    return taken;
}

static bool s_readable(zsock_t *sock)
{
    return (zsock_events(sock) & ZMQ_POLLIN) != 0;
}

static void s_on_pipe(ob_shell_t *self)
{
    char *command = zstr_recv(self->pipe);
    if (!command || streq(command, "$TERM"))
        self->terminated = true;
    zstr_free(&command);
}

/* One `metrics` event: the shell's counters and the handler's. */
static void s_publish_metrics(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler)
{
    ob_json_t json;
    ob_json_begin(&json, self->metrics_buf, S_METRICS_BYTES);
    ob_json_object(&json, NULL);
    ob_json_str(&json, "actor", ob_actor_name(self->actor));
    ob_json_u64(&json, "instance", self->instance);
    ob_json_object(&json, "shell");
    ob_json_u64(&json, "batches", self->stats.batches);
    ob_json_u64(&json, "messages_in", self->stats.messages_in);
    ob_json_u64(&json, "messages_out", self->stats.messages_out);
    ob_json_u64(&json, "undecodable", self->stats.undecodable);
    ob_json_u64(&json, "send_dropped", self->stats.send_dropped);
    ob_json_u64(&json, "commit_failures", self->stats.commit_failures);
    ob_json_u64(&json, "max_batch", self->stats.max_batch);
    ob_json_u64(&json, "outbox_overflows", ob_outbox_overflows(self->out));
    ob_json_u64(&json, "outbox_give_backs", ob_outbox_give_backs(self->out));
    ob_json_u64(&json, "memory_trims", self->stats.memory_trims);
    ob_json_end(&json);
    if (ops->metrics)
        ops->metrics(handler, &json);
    ob_json_stages(&json, "stages", self->stages);
    ob_json_end(&json);
    const char *text = ob_json_text(&json);
    if (!text) {
        ob_warn("%s: metrics do not fit in %d bytes", ob_actor_name(self->actor), S_METRICS_BYTES);
        return;
    }
    zmq_send(zsock_resolve(self->events), "metrics", 7, ZMQ_DONTWAIT | ZMQ_SNDMORE);
    zmq_send(zsock_resolve(self->events), text, strlen(text), ZMQ_DONTWAIT);
}

/* Once a second: the memory freed since goes back to the system. A burst
   (a flood of bad input queued in libzmq's pipes, a catch-up) is freed
   once handled, but glibc keeps what its arenas freed, libzmq's I/O
   threads' arenas included, and the process would keep the burst's peak
   as its RSS for good. */
static void s_give_back_memory(ob_shell_t *self)
{
    if (malloc_trim(0))
        self->stats.memory_trims++;
}

int ob_shell_run(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler)
{
    assert(ops->handle);
    uint64_t next_tick = 0;
    while (!self->terminated) {
        uint64_t now = ob_shell_now_ms();
        uint64_t deadline = ops->next_deadline ? ops->next_deadline(handler) : UINT64_MAX;
        if (ops->tick && !ops->next_deadline)
            deadline = next_tick;
        int timeout = S_IDLE_TICK_MS;
        if (deadline != UINT64_MAX)
            timeout = deadline <= now ? 0
                                      : (int)(deadline - now < S_IDLE_TICK_MS ? deadline - now
                                                                              : S_IDLE_TICK_MS);
        void *which = zpoller_wait(self->poller, timeout);
        if (which == NULL && zpoller_terminated(self->poller) && !self->pipe)
            break; /* SIGINT or SIGTERM */
        if (which == self->pipe && self->pipe) {
            s_on_pipe(self);
            continue;
        }
        now = ob_shell_now_ms();
        if (now >= self->next_metrics) {
            s_publish_metrics(self, ops, handler);
            self->next_metrics = now + 1000;
            s_give_back_memory(self);
        }
        bool tick_due = ops->tick && (ops->next_deadline ? ops->next_deadline(handler) <= now
                                                         : next_tick <= now);
        bool input = s_readable(self->pull);
        for (size_t i = 0; i < self->watched_count && !input; i++)
            input = !self->paused[i] && s_readable(self->watched[i]);
        if (!input && !tick_due)
            continue;

        if (ops->begin && ops->begin(handler) != 0) {
            ob_error("%s: cannot begin a transaction", ob_actor_name(self->actor));
            return -1;
        }
        size_t taken = s_drain_pull(self, ops, handler, now, S_MAX_BATCH);
        for (size_t i = 0; i < self->watched_count; i++) {
            zsock_t *sock = self->watched[i];
            while (taken < S_MAX_BATCH && !self->paused[i] && s_readable(sock)) {
                ops->readable(handler, sock, now, self->out);
                taken++;
                self->stats.messages_in++;
            }
        }
        if (tick_due) {
            ops->tick(handler, now, self->out);
            next_tick = now + S_IDLE_TICK_MS;
        }
        if (ops->commit && ops->commit(handler) != 0) {
            /* Nothing the batch produced may leave (SPEC §4). */
            self->stats.commit_failures++;
            ob_outbox_clear(self->out);
            ob_error("%s: commit failed; exiting so that the actor is restarted",
                     ob_actor_name(self->actor));
            return -1;
        }
        self->stats.batches++;
        if (taken > self->stats.max_batch)
            self->stats.max_batch = taken;
        ob_shell_flush(self, ops, handler);
    }
    return 0;
}

#include "shell.h"

#include "log.h"
#include "syncer.h"

#include <assert.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
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
/* One PULL per sender: net, each verifier, the signer, the journal, the
   operator. */
#define S_MAX_PULLS    (OB_PARTY_COUNT + S_MAX_VERIFIERS)
#define S_INTERNAL_HWM 100000
#define S_IDLE_TICK_MS 100
#define S_LINGER_MS    200
/* The actor's figures and its stage histograms (common/metrics.h): up to
   13 stages x 2 histograms of at most 256 bucket pairs each. */
#define S_METRICS_BYTES (256 * 1024)
/* Batches whose commit may await its sync at once: a fifth waits. */
#define S_PIPELINE 4

/* One (sender, receiver) pair's endpoint: whatever arrives on it is from
   that sender, or from no one. */
typedef struct {
    zsock_t *sock;
    ob_party_t from;
    uint32_t instance; /* the sender's (a verifier's) */
    pid_t pid;         /* process mode: the last connecting process proven to be that sender */
    pid_t foreign;     /* the last one that was not, logged once */
    char proven[64];   /* that process's Peer-Address, as libzmq gave it */
} s_pull_t;

struct _ob_shell_t {
    ob_actor_t actor;
    uint32_t instance;
    zsock_t *pipe;
    s_pull_t pulls[S_MAX_PULLS];
    size_t pull_count;
    size_t pull_next; /* the first one the next batch reads: no sender starves */
    bool check_process;
    bool wrapped;          /* OB_ACTOR_WRAPPER_ENV: senders known by their argv, not their exe */
    char bindir[PATH_MAX]; /* where our binaries, and so every actor's, are */
    zsock_t *events;       /* PUB: metrics every second */
    char *metrics_buf;
    uint64_t next_metrics;
    zsock_t *push[OB_ACTOR_COUNT + 1]; /* by actor; the verifier's is round-robin */
    zsock_t *verifier_each[S_MAX_VERIFIERS];
    uint32_t verifiers;
    zsock_t *watched[S_MAX_WATCHED];
    bool paused[S_MAX_WATCHED];
    size_t watched_count;
    zpoller_t *poller;
    ob_outbox_t *out;    /* the batch being handled */
    ob_arena_t *arena;   /* where the slots sent to other actors are marked */
    ob_stages_t *stages; /* a chunk's life: this actor's stages (NULL if unmapped) */
    bool terminated;
    ob_shell_stats_t stats;
    /* Pipelined commits: batches committed and awaiting their sync, in
       order, each with the number of the sync it waits for, and the
       outboxes not in use. */
    ob_syncer_t *syncer;
    struct {
        ob_outbox_t *out;
        uint64_t seq;
    } pending[S_PIPELINE];
    size_t pending_head, pending_count;
    ob_outbox_t *spare[S_PIPELINE];
    size_t spare_count;
    uint64_t seq_asked, seq_synced;
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

/* "journal", "verifier-2": a party and, for the verifier, its instance. */
static void s_label(ob_party_t party, uint32_t instance, char *out, size_t cap)
{
    if (party == OB_PARTY_VERIFIER)
        snprintf(out, cap, "verifier-%u", instance);
    else
        snprintf(out, cap, "%s", ob_party_name(party));
}

int ob_shell_pair_endpoint(const ob_shell_endpoints_t *self, ob_party_t from,
                           uint32_t from_instance, ob_party_t to, uint32_t to_instance, char *out,
                           size_t cap)
{
    char sender[32], receiver[32];
    s_label(from, from_instance, sender, sizeof sender);
    s_label(to, to_instance, receiver, sizeof receiver);
    int n = snprintf(out, cap, "%s/%s-from-%s", self->base, receiver, sender);
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

static zsock_t *s_push_to(const ob_shell_endpoints_t *endpoints, ob_party_t from,
                          uint32_t from_instance, ob_actor_t to, uint32_t instance, ob_why_t *why)
{
    char ep[PATH_MAX + 64];
    if (ob_shell_pair_endpoint(endpoints, from, from_instance, (ob_party_t)to, instance, ep,
                               sizeof ep) != 0) {
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
    bool spares = true;
    for (size_t i = 0; i < S_PIPELINE; i++) {
        /* mmap'd and touched only when used: cheap for actors that never
           pipeline */
        self->spare[i] = ob_outbox_new(S_OUTBOX_ENVELOPES, S_OUTBOX_BYTES);
        spares = spares && self->spare[i];
    }
    self->spare_count = S_PIPELINE;
    if (!self->out || !self->metrics_buf || !spares) {
        ob_why(why, "out of memory");
        goto fail;
    }
    self->poller = zpoller_new(NULL);
    if (!self->poller) {
        ob_why(why, "out of memory");
        goto fail;
    }
    char ep[PATH_MAX + 64];
    const ob_party_t me = (ob_party_t)actor;
    /* One PULL per sender: the socket a message comes on names its
       sender (proto/PROTOCOL.md "Dispatch"). */
    for (int from = OB_PARTY_NET; from <= OB_PARTY_COUNT; from++) {
        if (!ob_imsg_pair((ob_party_t)from, me))
            continue;
        uint32_t senders = from == OB_PARTY_VERIFIER ? self->verifiers : 1;
        for (uint32_t j = 0; j < senders; j++) {
            assert(self->pull_count < S_MAX_PULLS);
            s_pull_t *pull = &self->pulls[self->pull_count++];
            pull->from = (ob_party_t)from;
            pull->instance = j;
            if (ob_shell_pair_endpoint(endpoints, (ob_party_t)from, j, me, instance, ep,
                                       sizeof ep) != 0) {
                ob_why(why, "endpoint too long");
                goto fail;
            }
            pull->sock = s_socket(ZMQ_PULL, why);
            if (!pull->sock)
                goto fail;
            if (zsock_bind(pull->sock, "%s", ep) < 0) {
                ob_why(why, "cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
                goto fail;
            }
            if (zpoller_add(self->poller, pull->sock) != 0) {
                ob_why(why, "out of memory");
                goto fail;
            }
        }
    }
    /* In a process, each connecting process must be the one the
       supervisor started for that sender; threads share one process. */
    self->check_process = !endpoints->inproc;
    const char *wrapper = getenv(OB_ACTOR_WRAPPER_ENV);
    self->wrapped = wrapper && wrapper[0];
    char exe[PATH_MAX];
    ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[exe_len > 0 ? exe_len : 0] = '\0';
    snprintf(self->bindir, sizeof self->bindir, "%s", dirname(exe));
    static const ob_actor_t actors[] = {OB_ACTOR_NET, OB_ACTOR_VERIFIER, OB_ACTOR_SIGNER,
                                        OB_ACTOR_JOURNAL};
    for (size_t i = 0; i < sizeof actors / sizeof actors[0]; i++) {
        ob_actor_t to = actors[i];
        if (to == actor || !ob_imsg_pair(me, (ob_party_t)to))
            continue;
        if (to != OB_ACTOR_VERIFIER) {
            self->push[to] = s_push_to(endpoints, me, instance, to, 0, why);
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
            if (ob_shell_pair_endpoint(endpoints, me, instance, OB_PARTY_VERIFIER, v, ep,
                                       sizeof ep) != 0 ||
                zsock_connect(self->push[to], "%s", ep) != 0) {
                ob_why(why, "cannot connect to verifier %u", v);
                goto fail;
            }
            self->verifier_each[v] = s_push_to(endpoints, me, instance, to, v, why);
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
    if (pipe && zpoller_add(self->poller, pipe) != 0) {
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
    for (size_t i = 0; i < self->pull_count; i++)
        zsock_destroy(&self->pulls[i].sock);
    zsock_destroy(&self->events);
    for (size_t i = 0; i <= OB_ACTOR_COUNT; i++)
        zsock_destroy(&self->push[i]);
    for (size_t i = 0; i < S_MAX_VERIFIERS; i++)
        zsock_destroy(&self->verifier_each[i]);
    ob_syncer_destroy(&self->syncer);
    ob_outbox_destroy(&self->out);
    for (size_t i = 0; i < self->pending_count; i++)
        ob_outbox_destroy(&self->pending[(self->pending_head + i) % S_PIPELINE].out);
    for (size_t i = 0; i < self->spare_count; i++)
        ob_outbox_destroy(&self->spare[i]);
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

static bool s_send(ob_shell_t *self, zsock_t *sock, const uint8_t *bytes, size_t len)
{
    if (!sock || zmq_send(zsock_resolve(sock), bytes, len, ZMQ_DONTWAIT) < 0) {
        self->stats.send_dropped++;
        return false;
    }
    self->stats.messages_out++;
    return true;
}

void ob_shell_set_arena(ob_shell_t *self, ob_arena_t *arena)
{
    self->arena = arena;
}

/* The message left with the slot it hands over: marked sent to the
   instance it went to, so that should that instance die before taking
   it, its successor frees the slot at once (ob_arena_reclaim) and no
   lease has to run out. */
static void s_mark_sent(ob_shell_t *self, const ob_envelope_t *e, ob_actor_t to, uint32_t instance)
{
    if (!self->arena || !e->has_payload)
        return;
    uint16_t owner = ob_actor_arena_owner(self->actor, self->instance);
    if (ob_arena_sent(self->arena, &e->payload, owner, ob_actor_arena_owner(to, instance)) == 0)
        self->stats.slots_sent++;
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

void ob_shell_publish_event(ob_shell_t *self, const char *topic, json_t **event_p)
{
    ob_event_publish(self->events, topic, event_p);
}

static void s_flush_box(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler,
                        ob_outbox_t *box)
{
    for (size_t i = 0; i < ob_outbox_count(box); i++) {
        const ob_envelope_t *e = ob_outbox_at(box, i);
        const uint8_t *bytes = ob_outbox_bytes(box, e);
        switch (e->kind) {
        case OB_DEST_ACTOR:
            assert(e->actor >= OB_ACTOR_NET && e->actor <= OB_ACTOR_JOURNAL);
            if (e->actor == OB_ACTOR_VERIFIER && s_for_every_verifier(bytes, e->len)) {
                for (uint32_t v = 0; v < self->verifiers; v++)
                    s_send(self, self->verifier_each[v], bytes, e->len);
            } else if (e->actor == OB_ACTOR_VERIFIER && e->routed) {
                uint32_t v = ob_outbox_route_instance(e->route, self->verifiers);
                if (s_send(self, self->verifier_each[v], bytes, e->len))
                    s_mark_sent(self, e, OB_ACTOR_VERIFIER, v);
            } else if (e->actor == OB_ACTOR_VERIFIER) {
                /* round-robin: which instance has it is not known here, and
                   a lost message's slot waits for its lease */
                s_send(self, self->push[e->actor], bytes, e->len);
            } else if (s_send(self, self->push[e->actor], bytes, e->len)) {
                s_mark_sent(self, e, e->actor, 0);
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
    ob_outbox_clear(box);
    if (ops->flushed)
        ops->flushed(handler);
}

void ob_shell_flush(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler)
{
    s_flush_box(self, ops, handler, self->out);
    /* The batch committed and its messages left: its stages are done
       (with none waiting behind a sync, every pending mark is its). */
    ob_stages_stamp(self->stages, ob_stages_now_us());
}

static bool s_readable(zsock_t *sock)
{
    return (zsock_events(sock) & ZMQ_POLLIN) != 0;
}

/* A message waits on a pair's socket or a watched one. */
static bool s_input_waiting(ob_shell_t *self)
{
    for (size_t i = 0; i < self->pull_count; i++)
        if (s_readable(self->pulls[i].sock))
            return true;
    for (size_t i = 0; i < self->watched_count; i++)
        if (!self->paused[i] && s_readable(self->watched[i]))
            return true;
    return false;
}

/* --- pipelined commits -------------------------------------------------- */

/* Sends, in order, every pending batch whose sync has returned. */
static void s_release_synced(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler)
{
    while (self->pending_count > 0 && self->pending[self->pending_head].seq <= self->seq_synced) {
        ob_outbox_t *box = self->pending[self->pending_head].out;
        uint64_t seq = self->pending[self->pending_head].seq;
        self->pending_head = (self->pending_head + 1) % S_PIPELINE;
        self->pending_count--;
        s_flush_box(self, ops, handler, box);
        ob_stages_stamp_synced(self->stages, seq, ob_stages_now_us());
        assert(self->spare_count < S_PIPELINE);
        self->spare[self->spare_count++] = box;
    }
}

/* Takes one answer of the syncer (waiting for it): -1 if a sync failed or
   the syncer is gone, and then nothing pending may leave. */
static int s_take_answer(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler)
{
    uint64_t seq = 0;
    if (ob_syncer_answer(self->syncer, &seq) != 0) {
        self->stats.commit_failures++;
        ob_error("%s: a commit could not be made durable; exiting so that the actor is restarted",
                 ob_actor_name(self->actor));
        return -1;
    }
    if (seq > self->seq_synced)
        self->seq_synced = seq;
    s_release_synced(self, ops, handler);
    return 0;
}

/* Commits the batch just handled. Its messages leave now if they depend
   on no sync still to come, else they wait in order behind it, and the
   next batch gets a spare outbox. */
static int s_commit_pipelined(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler)
{
    bool sync_due = false;
    if (ops->commit_deferred(handler, &sync_due) != 0)
        return -1;
    if (sync_due && self->pending_count == 0 && self->seq_synced == self->seq_asked &&
        !s_input_waiting(self)) {
        /* Nothing in flight and nothing to read: the syncer's overlap has
           nothing to overlap with, and its hand-off costs two wake-ups
           (to the syncer and back) on the path of whatever this batch
           sends. The sync runs here; the syncer is idle, so nothing else
           touches what it touches. */
        self->seq_asked++;
        self->seq_synced = self->seq_asked;
        self->stats.syncs_asked++;
        self->stats.syncs_inline++;
        if (ops->sync(handler) != 0)
            return -1; /* nothing of the batch leaves; the caller stops the actor */
        ob_shell_flush(self, ops, handler);
        return 0;
    }
    if (sync_due) {
        if (ob_syncer_ask(self->syncer, self->seq_asked + 1) != 0)
            return -1;
        self->seq_asked++;
        self->stats.syncs_asked++;
    }
    if (self->pending_count == 0 && self->seq_synced == self->seq_asked) {
        ob_shell_flush(self, ops, handler);
        return 0;
    }
    /* Behind a sync: its own, or an earlier batch's whose data it may
       have read (it is committed, not yet durable). */
    assert(self->pending_count < S_PIPELINE && self->spare_count > 0);
    size_t tail = (self->pending_head + self->pending_count) % S_PIPELINE;
    self->pending[tail].out = self->out;
    self->pending[tail].seq = self->seq_asked;
    ob_stages_seal(self->stages, self->seq_asked); /* its marks leave with it */
    self->pending_count++;
    if (self->pending_count > self->stats.max_pending)
        self->stats.max_pending = self->pending_count;
    self->out = self->spare[--self->spare_count];
    self->spare[self->spare_count] = NULL;
    return 0;
}

/* At a clean stop: what is pending is made durable and sent. */
static int s_drain_pipeline(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler)
{
    for (int bound = 0; self->syncer && self->seq_synced < self->seq_asked && bound < 1000; bound++)
        if (s_take_answer(self, ops, handler) != 0)
            return -1;
    s_release_synced(self, ops, handler);
    return 0;
}

/* Reads a small text file of /proc whole; -1 if it is gone. */
static ssize_t s_read_proc(pid_t pid, const char *what, char *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, what);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    return (ssize_t)n;
}

/* Whether process `pid` is the one our supervisor started for `pull`'s
   sender: the operator is the supervisor itself (our parent); an actor is
   a child of that same supervisor running our obcast-<sender> binary with
   that instance. The kernel vouches for all three (/proc), the sender
   writes none of it. */
static bool s_is_sender(const ob_shell_t *self, const s_pull_t *pull, pid_t pid)
{
    pid_t supervisor = getppid();
    if (pull->from == OB_PARTY_OPERATOR)
        return pid == supervisor;
    char text[4096];
    if (s_read_proc(pid, "status", text, sizeof text) < 0)
        return false;
    const char *ppid = strstr(text, "\nPPid:");
    if (!ppid || strtol(ppid + 6, NULL, 10) != (long)supervisor)
        return false;
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s/obcast-%s", self->bindir, ob_party_name(pull->from));
    if (!self->wrapped) {
        char path[64], exe[PATH_MAX];
        snprintf(path, sizeof path, "/proc/%ld/exe", (long)pid);
        ssize_t n = readlink(path, exe, sizeof exe - 1);
        if (n <= 0)
            return false;
        exe[n] = '\0';
        if (strcmp(exe, want) != 0)
            return false;
    }
    /* argv: NUL-separated; the supervisor passes every actor --instance.
       Under a wrapper the binary is one of the wrapper's arguments: a
       child of our supervisor could rewrite its own argv, which is why
       the exe is what counts without one. */
    ssize_t len = s_read_proc(pid, "cmdline", text, sizeof text);
    char instance[16];
    snprintf(instance, sizeof instance, "%u", pull->instance);
    bool named = !self->wrapped;
    for (ssize_t i = 0; len > 0 && i < len; i += (ssize_t)strlen(text + i) + 1) {
        if (!named) {
            named = strcmp(text + i, want) == 0;
            continue;
        }
        if (strcmp(text + i, "--instance") == 0) {
            ssize_t next = i + (ssize_t)strlen(text + i) + 1;
            return next < len && strcmp(text + next, instance) == 0;
        }
    }
    return false;
}

/* Process mode: whether `frame` came from the process our supervisor
   started for `pull`'s sender, by its connection's credentials (libzmq's
   Peer-Address of an ipc connection, "localhost:UID:GID:PID", is
   SO_PEERCRED of the connecting process). The last proven pid is kept:
   only a new connecting process costs a look at /proc. */
static bool s_from_sender(ob_shell_t *self, s_pull_t *pull, zmq_msg_t *frame)
{
    const char *address = zmq_msg_gets(frame, "Peer-Address");
    if (!address)
        return false;
    /* The proven connection again (each of its messages carries the same
       string): no parsing per message. */
    if (pull->proven[0] && strcmp(address, pull->proven) == 0)
        return true;
    unsigned long uid, gid;
    long pid;
    char end;
    if (sscanf(address, "localhost:%lu:%lu:%ld%c", &uid, &gid, &pid, &end) != 3 ||
        uid != (unsigned long)geteuid() || pid <= 0)
        return false;
    if ((pid_t)pid != pull->pid && !s_is_sender(self, pull, (pid_t)pid))
        return false;
    pull->pid = (pid_t)pid;
    if (strlen(address) < sizeof pull->proven)
        memcpy(pull->proven, address, strlen(address) + 1);
    return true;
}

/* Takes what waits on one pair's PULL socket, up to `budget` messages. */
static size_t s_drain_pull(ob_shell_t *self, s_pull_t *pull, const ob_shell_ops_t *ops,
                           void *handler, uint64_t now, size_t budget)
{
    size_t taken = 0;
    void *sock = zsock_resolve(pull->sock);
    char sender[32];
    s_label(pull->from, pull->instance, sender, sizeof sender);
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
        if (self->check_process && !s_from_sender(self, pull, &frame)) {
            /* Not the process we know as that sender, whatever it says:
               not even decoded. */
            self->stats.foreign_process++;
            ob_outbox_dropped(self->out, self->actor, OB_ERR_PEER_MISMATCH, NULL);
            const char *address = zmq_msg_gets(&frame, "Peer-Address");
            long pid = 0;
            if (address)
                sscanf(address, "localhost:%*u:%*u:%ld", &pid);
            if ((pid_t)pid != pull->foreign)
                ob_warn("%s: dropped a message on the endpoint of %s from another process "
                        "(%s)",
                        ob_actor_name(self->actor), sender, address ? address : "no address");
            pull->foreign = (pid_t)pid;
        } else {
            ob_imsg_t msg;
            ob_error_t rc = more ? OB_ERR_TRAILING
                                 : ob_imsg_decode(&msg, zmq_msg_data(&frame), zmq_msg_size(&frame));
            if (rc != OB_OK) {
                /* Unknown, malformed or of another version: dropped,
                   counted, never fatal. */
                self->stats.undecodable++;
                ob_outbox_dropped(self->out, self->actor, rc, NULL);
                ob_debug("%s: dropped an internal message from %s: %s", ob_actor_name(self->actor),
                         sender, ob_error_name(rc));
            } else if (!ob_imsg_allowed(pull->from, (ob_party_t)self->actor, msg.type)) {
                /* A message its sender may not send us (proto/imsg.csv). */
                self->stats.wrong_sender++;
                ob_outbox_dropped(self->out, self->actor, OB_ERR_UNKNOWN_TYPE, NULL);
                ob_debug("%s: dropped %s from %s, which may not send it",
                         ob_actor_name(self->actor), ob_imsg_name(msg.type), sender);
            } else {
                ops->handle(handler, now, pull->from, &msg, self->out);
            }
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

/* Every pair's socket, starting from another one each batch. */
static size_t s_drain_pulls(ob_shell_t *self, const ob_shell_ops_t *ops, void *handler,
                            uint64_t now, size_t budget)
{
    size_t taken = 0;
    for (size_t k = 0; k < self->pull_count && taken < budget; k++) {
        s_pull_t *pull = &self->pulls[(self->pull_next + k) % self->pull_count];
        taken += s_drain_pull(self, pull, ops, handler, now, budget - taken);
    }
    if (self->pull_count)
        self->pull_next = (self->pull_next + 1) % self->pull_count;
    return taken;
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
    ob_json_u64(&json, "wrong_sender", self->stats.wrong_sender);
    ob_json_u64(&json, "foreign_process", self->stats.foreign_process);
    ob_json_u64(&json, "send_dropped", self->stats.send_dropped);
    ob_json_u64(&json, "slots_sent", self->stats.slots_sent);
    ob_json_u64(&json, "commit_failures", self->stats.commit_failures);
    ob_json_u64(&json, "max_batch", self->stats.max_batch);
    ob_json_u64(&json, "outbox_overflows", ob_outbox_overflows(self->out));
    ob_json_u64(&json, "outbox_give_backs", ob_outbox_give_backs(self->out));
    ob_json_u64(&json, "memory_trims", self->stats.memory_trims);
    ob_json_u64(&json, "syncs_asked", self->stats.syncs_asked);
    ob_json_u64(&json, "syncs", self->syncer ? ob_syncer_syncs(self->syncer) : 0);
    ob_json_u64(&json, "syncs_inline", self->stats.syncs_inline);
    ob_json_u64(&json, "pipeline_full", self->stats.pipeline_full);
    ob_json_u64(&json, "max_pending", self->stats.max_pending);
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
    assert(!ops->commit_deferred == !ops->sync);
    if (ops->sync && !self->syncer) {
        ob_why_t why;
        self->syncer = ob_syncer_new(ops->sync, handler, &why);
        if (!self->syncer || zpoller_add(self->poller, ob_syncer_actor(self->syncer)) != 0) {
            ob_error("%s: %s", ob_actor_name(self->actor),
                     self->syncer ? "out of memory" : why.text);
            return -1;
        }
    }
    zactor_t *syncer = self->syncer ? ob_syncer_actor(self->syncer) : NULL;
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
        if (syncer && which == syncer) {
            if (s_take_answer(self, ops, handler) != 0) {
                ob_outbox_clear(self->out);
                return -1;
            }
            while (zsock_events(syncer) & ZMQ_POLLIN)
                if (s_take_answer(self, ops, handler) != 0) {
                    ob_outbox_clear(self->out);
                    return -1;
                }
        }
        now = ob_shell_now_ms();
        if (now >= self->next_metrics) {
            s_publish_metrics(self, ops, handler);
            self->next_metrics = now + 1000;
            s_give_back_memory(self);
        }
        /* The deadline asked before the wait still holds: nothing the
           handler's timers depend on ran since (a released batch's sends
           change no timer). */
        bool tick_due = ops->tick && deadline <= now;
        bool input = s_input_waiting(self);
        if (!input && !tick_due)
            continue;
        /* Every outbox waits for a sync: the oldest one's comes first. */
        while (self->syncer && self->pending_count == S_PIPELINE) {
            self->stats.pipeline_full++;
            if (s_take_answer(self, ops, handler) != 0)
                return -1;
        }

        if (ops->begin && ops->begin(handler) != 0) {
            ob_error("%s: cannot begin a transaction", ob_actor_name(self->actor));
            return -1;
        }
        size_t taken = s_drain_pulls(self, ops, handler, now, S_MAX_BATCH);
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
        if (ops->end_batch)
            ops->end_batch(handler, self->out);
        int committed = self->syncer  ? s_commit_pipelined(self, ops, handler)
                        : ops->commit ? ops->commit(handler)
                                      : 0;
        if (committed != 0) {
            /* Nothing the batch produced may leave (SPEC §4), nor what
               waits for a sync behind it. */
            self->stats.commit_failures++;
            ob_outbox_clear(self->out);
            ob_error("%s: commit failed; exiting so that the actor is restarted",
                     ob_actor_name(self->actor));
            return -1;
        }
        self->stats.batches++;
        if (taken > self->stats.max_batch)
            self->stats.max_batch = taken;
        if (!self->syncer)
            ob_shell_flush(self, ops, handler);
    }
    return s_drain_pipeline(self, ops, handler);
}

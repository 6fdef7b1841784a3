#include "syncer.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

struct _ob_syncer_t {
    zactor_t *actor;
    ob_syncer_fn *sync;
    void *ctx;
    uint64_t asked, answered; /* the actor's thread only */
    atomic_uint_least64_t syncs;
    atomic_bool returned; /* the thread's body is done (ob_syncer_destroy) */
};

/* One request off the pipe: 1 with its number, 0 on "$TERM" (or a pipe
   that is gone), -1 on anything else (a programmer's error). */
static int s_take(zsock_t *pipe, uint64_t *seq)
{
    char *command = NULL;
    uint64_t number = 0;
    if (zsock_recv(pipe, "s8", &command, &number) != 0) {
        free(command);
        return zsys_interrupted ? -1 : 0;
    }
    int rc = command && streq(command, "SYNC") ? 1 : 0;
    free(command);
    if (rc == 1)
        *seq = number;
    return rc;
}

static void s_thread(zsock_t *pipe, void *args)
{
    ob_syncer_t *self = args;
    prctl(PR_SET_NAME, "obcast-syncer", 0, 0, 0);
    zsock_signal(pipe, 0);
    for (;;) {
        uint64_t seq = 0;
        int rc = s_take(pipe, &seq);
        if (rc < 0)
            continue; /* a signal woke the wait; the owner decides when to stop */
        if (rc == 0)
            break;
        /* What queued up meanwhile is covered by the same sync: it syncs
           every commit made before it. Bounded by what the owner can have
           outstanding (its pipeline). */
        bool stop = false;
        while (!stop && (zsock_events(pipe) & ZMQ_POLLIN)) {
            uint64_t more = 0;
            int next = s_take(pipe, &more);
            if (next == 0)
                stop = true;
            else if (next == 1 && more > seq)
                seq = more;
        }
        int synced = self->sync(self->ctx);
        atomic_fetch_add(&self->syncs, 1);
        if (stop)
            break;
        zsock_send(pipe, "8i", seq, synced);
    }
    atomic_store_explicit(&self->returned, true, memory_order_release);
}

ob_syncer_t *ob_syncer_new(ob_syncer_fn *sync, void *ctx, ob_why_t *why)
{
    assert(sync);
    ob_syncer_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_why(why, "out of memory");
        return NULL;
    }
    self->sync = sync;
    self->ctx = ctx;
    atomic_init(&self->syncs, 0);
    atomic_init(&self->returned, false);
    self->actor = zactor_new(s_thread, self);
    if (!self->actor) {
        free(self);
        ob_why(why, "cannot start the commit syncer thread");
        return NULL;
    }
    return self;
}

void ob_syncer_destroy(ob_syncer_t **self_p)
{
    assert(self_p);
    ob_syncer_t *self = *self_p;
    if (!self)
        return;
    /* zactor_destroy returns once the thread's body has returned, but
       learns it through libzmq, which orders nothing in the C11 model and
       which ThreadSanitizer cannot see into: the acquire orders the
       thread's last sync (the owner's database) before the owner closes
       that database and we free this. TSan reported both frees as racing
       with the thread. */
    zactor_destroy(&self->actor);
    (void)atomic_load_explicit(&self->returned, memory_order_acquire);
    free(self);
    *self_p = NULL;
}

int ob_syncer_ask(ob_syncer_t *self, uint64_t seq)
{
    assert(seq > self->asked);
    if (zsock_send(self->actor, "s8", "SYNC", seq) != 0)
        return -1;
    self->asked = seq;
    return 0;
}

zactor_t *ob_syncer_actor(ob_syncer_t *self)
{
    return self->actor;
}

int ob_syncer_answer(ob_syncer_t *self, uint64_t *seq)
{
    uint64_t number = 0;
    int synced = -1;
    for (;;) {
        if (zsock_recv(self->actor, "8i", &number, &synced) == 0)
            break;
        if (!zsys_interrupted)
            return -1; /* the thread is gone */
        /* a signal woke the wait: the answer is still coming */
    }
    assert(number <= self->asked);
    if (number > self->answered)
        self->answered = number;
    *seq = number;
    return synced == 0 ? 0 : -1;
}

uint64_t ob_syncer_outstanding(const ob_syncer_t *self)
{
    return self->asked - self->answered;
}

uint64_t ob_syncer_syncs(const ob_syncer_t *self)
{
    return atomic_load(&self->syncs);
}

/* common/syncer and the shell's pipelined commits: a batch's messages
   leave only after the sync covering its commit returned, in batch
   order, while the shell goes on handling the next batches; requests
   queued during a sync are answered by one sync; a batch with nothing in
   flight and nothing waiting to be read syncs on the actor's own thread;
   a failed sync stops the actor with nothing of the unsynced batches
   sent. */
#include "testutil.h"

#include "shell.h"
#include "syncer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A sync that waits until the test opens the gate, and can be told to
   fail. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int gate;     /* syncs allowed to finish */
    int started;  /* syncs begun */
    int finished; /* syncs done */
    bool fail;
} s_disk_t;

static int s_disk_sync(void *ctx)
{
    s_disk_t *d = ctx;
    pthread_mutex_lock(&d->lock);
    d->started++;
    pthread_cond_broadcast(&d->changed);
    while (d->finished >= d->gate)
        pthread_cond_wait(&d->changed, &d->lock);
    d->finished++;
    bool fail = d->fail;
    pthread_mutex_unlock(&d->lock);
    return fail ? -1 : 0;
}

static void s_disk_init(s_disk_t *d)
{
    memset(d, 0, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->changed, NULL);
}

static void s_disk_open(s_disk_t *d, int syncs)
{
    pthread_mutex_lock(&d->lock);
    d->gate += syncs;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
}

static void s_disk_wait_started(s_disk_t *d, int count)
{
    pthread_mutex_lock(&d->lock);
    while (d->started < count)
        pthread_cond_wait(&d->changed, &d->lock);
    pthread_mutex_unlock(&d->lock);
}

static void test_syncer_answers_in_order_and_coalesces(void **state)
{
    (void)state;
    s_disk_t disk;
    s_disk_init(&disk);
    ob_why_t why;
    ob_syncer_t *syncer = ob_syncer_new(s_disk_sync, &disk, &why);
    assert_non_null(syncer);
    assert_int_equal(ob_syncer_ask(syncer, 1), 0);
    s_disk_wait_started(&disk, 1); /* the first sync runs, held at the gate */
    assert_int_equal(ob_syncer_ask(syncer, 2), 0);
    assert_int_equal(ob_syncer_ask(syncer, 3), 0);
    assert_int_equal(ob_syncer_outstanding(syncer), 3);
    s_disk_open(&disk, 2);
    uint64_t seq = 0;
    assert_int_equal(ob_syncer_answer(syncer, &seq), 0);
    assert_int_equal(seq, 1);
    /* 2 and 3 queued during the first sync: one sync answers both */
    assert_int_equal(ob_syncer_answer(syncer, &seq), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(ob_syncer_outstanding(syncer), 0);
    assert_int_equal(ob_syncer_syncs(syncer), 2);

    disk.fail = true;
    s_disk_open(&disk, 1);
    assert_int_equal(ob_syncer_ask(syncer, 4), 0);
    assert_int_equal(ob_syncer_answer(syncer, &seq), -1);
    ob_syncer_destroy(&syncer);
    ob_syncer_destroy(&syncer); /* safe twice */
    assert_null(syncer);
}

/* --- the shell ------------------------------------------------------------ */

/* A handler standing in for the journal: each message it gets is copied
   to the signer, and each batch's commit needs a sync. */
typedef struct {
    s_disk_t disk;
    atomic_int batches;
    atomic_int commit_gate; /* commits allowed to finish; -1: no gate */
    atomic_int syncs_on_handler_thread;
} s_fake_t;

/* Set on the thread that runs the handler (the shell's). */
static _Thread_local bool s_is_handler_thread;

/* Each set_epoch it gets goes on to the signer as epoch_changed. */
static void s_fake_handle(void *h, uint64_t now, ob_party_t from, const ob_imsg_t *msg,
                          ob_outbox_t *out)
{
    (void)h;
    (void)now;
    (void)from;
    s_is_handler_thread = true;
    ob_imsg_t view = {.type = OB_IMSG_EPOCH_CHANGED};
    view.u.epoch_changed.epoch = msg->u.set_epoch.epoch;
    ob_outbox_to_actor(out, OB_ACTOR_SIGNER, &view);
}

static int s_fake_commit_deferred(void *h, bool *sync_due)
{
    s_fake_t *f = h;
    int batch = atomic_fetch_add(&f->batches, 1) + 1;
    /* held here, after the batch's messages were read, while the test
       makes the next message wait */
    while (atomic_load(&f->commit_gate) >= 0 && atomic_load(&f->commit_gate) < batch)
        zclock_sleep(1);
    *sync_due = true;
    return 0;
}

static int s_fake_sync(void *h)
{
    s_fake_t *f = h;
    if (s_is_handler_thread)
        atomic_fetch_add(&f->syncs_on_handler_thread, 1);
    return s_disk_sync(&f->disk);
}

static const ob_shell_ops_t s_fake_ops = {
    .handle = s_fake_handle, .commit_deferred = s_fake_commit_deferred, .sync = s_fake_sync};

typedef struct {
    ob_shell_endpoints_t endpoints;
    s_fake_t *fake;
} s_run_args_t;

static void s_journal_thread(zsock_t *pipe, void *arg)
{
    s_run_args_t *a = arg;
    ob_why_t why;
    ob_shell_t *shell = ob_shell_new(&a->endpoints, OB_ACTOR_JOURNAL, 0, pipe, &why);
    assert(shell);
    zsock_signal(pipe, 0);
    ob_shell_run(shell, &s_fake_ops, a->fake);
    ob_shell_destroy(&shell);
}

static void s_push_epoch(zsock_t *push, uint64_t epoch)
{
    ob_imsg_t msg = {.type = OB_IMSG_SET_EPOCH};
    msg.u.set_epoch.epoch = epoch;
    uint8_t bytes[64];
    size_t len = 0;
    assert_int_equal(ob_imsg_encode(&msg, bytes, sizeof bytes, &len), OB_OK);
    assert_int_equal(zmq_send(zsock_resolve(push), bytes, len, 0), (int)len);
}

/* The next message at the signer's endpoint: its epoch, or 0 if none came
   within `ms`. */
static uint64_t s_received(zsock_t *pull, int ms)
{
    zsock_set_rcvtimeo(pull, ms);
    uint8_t bytes[256];
    int len = zmq_recv(zsock_resolve(pull), bytes, sizeof bytes, 0);
    if (len < 0)
        return 0;
    ob_imsg_t msg;
    assert_int_equal(ob_imsg_decode(&msg, bytes, (size_t)len), OB_OK);
    assert_int_equal(msg.type, OB_IMSG_EPOCH_CHANGED);
    return msg.u.epoch_changed.epoch;
}

typedef struct {
    s_fake_t *fake;
    s_run_args_t args;
    zsock_t *signer;
    zactor_t *journal;
    zsock_t *to_journal;
} s_rig_t;

/* A journal shell on the fake handler, a PULL at the signer's endpoint,
   and a PUSH to the journal. */
static void s_rig_start(s_rig_t *r, int commit_gate)
{
    memset(r, 0, sizeof *r);
    r->fake = calloc(1, sizeof *r->fake);
    assert_non_null(r->fake);
    s_disk_init(&r->fake->disk);
    atomic_store(&r->fake->commit_gate, commit_gate);
    r->args.fake = r->fake;
    ob_node_config_t config = {0};
    snprintf(config.name, sizeof config.name, "syncer-test-%d-%d", (int)getpid(), commit_gate);
    config.verifiers = 1;
    ob_shell_endpoints_init(&r->args.endpoints, &config, true);

    char ep[PATH_MAX + 64];
    assert_int_equal(ob_shell_pair_endpoint(&r->args.endpoints, OB_PARTY_JOURNAL, 0,
                                            OB_PARTY_SIGNER, 0, ep, sizeof ep),
                     0);
    r->signer = zsock_new_pull(ep);
    assert_non_null(r->signer);
    r->journal = zactor_new(s_journal_thread, &r->args);
    assert_non_null(r->journal);
    assert_int_equal(ob_shell_pair_endpoint(&r->args.endpoints, OB_PARTY_OPERATOR, 0,
                                            OB_PARTY_JOURNAL, 0, ep, sizeof ep),
                     0);
    r->to_journal = zsock_new_push(ep);
    assert_non_null(r->to_journal);
}

static void s_rig_stop(s_rig_t *r)
{
    zactor_destroy(&r->journal);
    zsock_destroy(&r->to_journal);
    zsock_destroy(&r->signer);
    free(r->fake);
}

static void test_shell_sends_a_batch_only_after_its_sync(void **state)
{
    (void)state;
    s_rig_t rig;
    s_rig_start(&rig, 0);
    s_fake_t *fake = rig.fake;

    /* Batch 1 is held at its commit until epoch 2 waits to be read: with
       input waiting, its sync goes to the syncer thread. */
    s_push_epoch(rig.to_journal, 1);
    for (int i = 0; i < 200 && atomic_load(&fake->batches) < 1; i++)
        zclock_sleep(10);
    s_push_epoch(rig.to_journal, 2);
    zclock_sleep(50);
    atomic_store(&fake->commit_gate, 1);

    /* Batch 1's sync is held: its message stays in the shell, and the
       shell goes on taking batches meanwhile. Batch 2 commits only once
       that sync has begun, so that it needs a sync of its own (asked
       before, the two would share one). */
    s_disk_wait_started(&fake->disk, 1);
    assert_int_equal(s_received(rig.signer, 300), 0);
    for (int i = 0; i < 200 && atomic_load(&fake->batches) < 2; i++)
        zclock_sleep(10);
    assert_int_equal(atomic_load(&fake->batches), 2);
    atomic_store(&fake->commit_gate, 2);
    assert_int_equal(s_received(rig.signer, 100), 0);

    /* The first sync returns: batch 1 leaves; batch 2 still waits for its
       own sync, then leaves after it, in order. */
    s_disk_open(&fake->disk, 1);
    assert_int_equal(s_received(rig.signer, 5000), 1);
    assert_int_equal(s_received(rig.signer, 300), 0);
    s_disk_open(&fake->disk, 1);
    assert_int_equal(s_received(rig.signer, 5000), 2);
    assert_int_equal(atomic_load(&fake->syncs_on_handler_thread), 0);

    /* A failed sync: the batch's message never leaves, and the shell
       stops (the actor would be restarted). */
    atomic_store(&fake->commit_gate, -1);
    fake->disk.fail = true;
    s_push_epoch(rig.to_journal, 3);
    s_disk_open(&fake->disk, 1);
    assert_int_equal(s_received(rig.signer, 500), 0);
    s_rig_stop(&rig);
}

/* A lone batch, with no sync in flight and nothing else to read, syncs on
   the actor's own thread (no hand-off to the syncer and back), and still
   sends nothing before its sync returns. */
static void test_shell_syncs_a_lone_batch_itself(void **state)
{
    (void)state;
    s_rig_t rig;
    s_rig_start(&rig, -1);
    s_fake_t *fake = rig.fake;

    s_push_epoch(rig.to_journal, 7);
    s_disk_wait_started(&fake->disk, 1);
    assert_int_equal(s_received(rig.signer, 300), 0);
    s_disk_open(&fake->disk, 1);
    assert_int_equal(s_received(rig.signer, 5000), 7);
    assert_int_equal(atomic_load(&fake->syncs_on_handler_thread), 1);

    /* and a failed one sends nothing and stops the shell */
    fake->disk.fail = true;
    s_push_epoch(rig.to_journal, 8);
    s_disk_open(&fake->disk, 1);
    assert_int_equal(s_received(rig.signer, 500), 0);
    assert_int_equal(atomic_load(&fake->syncs_on_handler_thread), 2);
    s_rig_stop(&rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syncer_answers_in_order_and_coalesces),
        cmocka_unit_test(test_shell_sends_a_batch_only_after_its_sync),
        cmocka_unit_test(test_shell_syncs_a_lone_batch_itself),
    };
    return cmocka_run_group_tests_name("syncer", tests, NULL, NULL);
}

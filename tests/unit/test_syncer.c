/* common/syncer and the shell's pipelined commits: a batch's messages
   leave only after the sync covering its commit returned, in batch
   order, while the shell goes on handling the next batches; requests
   queued during a sync are answered by one sync; a failed sync stops the
   actor with nothing of the unsynced batches sent. */
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
} s_fake_t;

/* Each set_epoch it gets goes on to the signer as epoch_changed. */
static void s_fake_handle(void *h, uint64_t now, ob_party_t from, const ob_imsg_t *msg,
                          ob_outbox_t *out)
{
    (void)h;
    (void)now;
    (void)from;
    ob_imsg_t view = {.type = OB_IMSG_EPOCH_CHANGED};
    view.u.epoch_changed.epoch = msg->u.set_epoch.epoch;
    ob_outbox_to_actor(out, OB_ACTOR_SIGNER, &view);
}

static int s_fake_commit_deferred(void *h, bool *sync_due)
{
    s_fake_t *f = h;
    atomic_fetch_add(&f->batches, 1);
    *sync_due = true;
    return 0;
}

static int s_fake_sync(void *h)
{
    s_fake_t *f = h;
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

static void test_shell_sends_a_batch_only_after_its_sync(void **state)
{
    (void)state;
    s_fake_t *fake = calloc(1, sizeof *fake);
    assert_non_null(fake);
    s_disk_init(&fake->disk);
    s_run_args_t args = {.fake = fake};
    ob_node_config_t config = {0};
    snprintf(config.name, sizeof config.name, "syncer-test-%d", (int)getpid());
    config.verifiers = 1;
    ob_shell_endpoints_init(&args.endpoints, &config, true);

    char ep[PATH_MAX + 64];
    assert_int_equal(ob_shell_pair_endpoint(&args.endpoints, OB_PARTY_JOURNAL, 0, OB_PARTY_SIGNER,
                                            0, ep, sizeof ep),
                     0);
    zsock_t *signer = zsock_new_pull(ep);
    assert_non_null(signer);
    zactor_t *journal = zactor_new(s_journal_thread, &args);
    assert_non_null(journal);
    assert_int_equal(ob_shell_pair_endpoint(&args.endpoints, OB_PARTY_OPERATOR, 0, OB_PARTY_JOURNAL,
                                            0, ep, sizeof ep),
                     0);
    zsock_t *to_journal = zsock_new_push(ep);
    assert_non_null(to_journal);

    /* Batch 1's sync is held: its message stays in the shell, and the
       shell goes on taking batches meanwhile. */
    s_push_epoch(to_journal, 1);
    s_disk_wait_started(&fake->disk, 1);
    assert_int_equal(s_received(signer, 300), 0);
    s_push_epoch(to_journal, 2);
    for (int i = 0; i < 200 && atomic_load(&fake->batches) < 2; i++)
        zclock_sleep(10);
    assert_int_equal(atomic_load(&fake->batches), 2);
    assert_int_equal(s_received(signer, 100), 0);

    /* The first sync returns: batch 1 leaves; batch 2 still waits for its
       own sync, then leaves after it, in order. */
    s_disk_open(&fake->disk, 1);
    assert_int_equal(s_received(signer, 5000), 1);
    assert_int_equal(s_received(signer, 300), 0);
    s_disk_open(&fake->disk, 1);
    assert_int_equal(s_received(signer, 5000), 2);

    /* A failed sync: the batch's message never leaves, and the shell
       stops (the actor would be restarted). */
    fake->disk.fail = true;
    s_push_epoch(to_journal, 3);
    s_disk_open(&fake->disk, 1);
    assert_int_equal(s_received(signer, 500), 0);

    zactor_destroy(&journal);
    zsock_destroy(&to_journal);
    zsock_destroy(&signer);
    free(fake);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syncer_answers_in_order_and_coalesces),
        cmocka_unit_test(test_shell_sends_a_batch_only_after_its_sync),
    };
    return cmocka_run_group_tests_name("syncer", tests, NULL, NULL);
}

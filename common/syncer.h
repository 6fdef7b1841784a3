/*  A thread that makes an actor's commits durable while the actor goes on
    (SPEC §9: "commits that overlap with reading the next batch").

    The actor commits a batch without waiting for the disk
    (ob_db_commit_deferred), asks the syncer for that commit by its sequence
    number, and keeps the batch's messages back. The syncer runs the sync
    function, one at a time and in order; a sync makes every commit before
    it durable, so requests that queued up meanwhile are answered by one
    sync, with the highest sequence number among them. Once the answer
    comes, the actor sends the messages of every batch up to that number
    (common/shell.c): nothing leaves before the commit it depends on is on
    disk, and the actor does not sit in fsync while input waits (with
    nothing to read and no sync in flight, the shell syncs on its own
    thread: the hand-off would cost two wake-ups and overlap nothing). */
#ifndef OB_SYNCER_H
#define OB_SYNCER_H

#include "why.h"

#include <czmq.h>

#include <stdint.h>

/* Makes every commit made so far durable: 0, or -1 if it failed. Runs on
   the syncer's thread. */
typedef int(ob_syncer_fn)(void *ctx);

typedef struct _ob_syncer_t ob_syncer_t;

/* Starts the thread; `sync` is called with `ctx` for each request. */
ob_syncer_t *ob_syncer_new(ob_syncer_fn *sync, void *ctx, ob_why_t *why);
/* Stops the thread; a request not yet answered is dropped unanswered. */
void ob_syncer_destroy(ob_syncer_t **self_p);

/* Asks for a sync covering the commit numbered `seq` (numbers only grow).
   0, or -1 if the thread is gone. */
int ob_syncer_ask(ob_syncer_t *self, uint64_t seq);
/* Readable (for a zpoller) when an answer waits. */
zactor_t *ob_syncer_actor(ob_syncer_t *self);
/* Takes one answer, waiting for it if none is there: every commit up to
   *seq is durable (0), or the sync failed (-1: the commits since the last
   good answer may be lost, and the actor must stop). */
int ob_syncer_answer(ob_syncer_t *self, uint64_t *seq);
/* Requests asked and not yet answered. */
uint64_t ob_syncer_outstanding(const ob_syncer_t *self);
/* Syncs run so far (each may have answered several requests). */
uint64_t ob_syncer_syncs(const ob_syncer_t *self);

#endif

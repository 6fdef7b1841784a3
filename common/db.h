/*  SQLite as every actor uses it (SPEC §4): one file per actor, WAL, a
    schema built by an append-only array of migrations whose position is
    the schema version (PRAGMA user_version), and explicit transactions so
    that a batch of messages commits once.

    Durability: FULL survives power loss and is what "durable" means in the
    spec; NORMAL survives process crashes only (the journal's `durability =
    process`); OFF is for the simulator, whose "crash" is a process crash
    and whose files live in memory-backed storage. */
#ifndef OB_DB_H
#define OB_DB_H

#include "why.h"

#include <sqlite3.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    OB_DB_SYNC_FULL,
    OB_DB_SYNC_NORMAL,
    OB_DB_SYNC_OFF,
} ob_db_sync_t;

typedef struct _ob_db_t ob_db_t;

/* Opens (creating if needed) the database at `path`, applies the
   migrations it lacks, each in its own transaction with its version, and
   refuses a file whose schema is newer than `migration_count`.
   `exclusive` takes SQLite's exclusive locking mode and holds the lock for
   the life of the handle: a second opener fails with "locked" (the
   signer's rule: one process owns its record).
   SPEC §4: the folder of `path` must be closed to other users (mode &
   077 == 0), or the open is refused with the fix in `why`; the file and
   its -wal and -shm are mode 0600. */
ob_db_t *ob_db_open(const char *path, ob_db_sync_t sync, bool exclusive,
                    const char *const *migrations, size_t migration_count, ob_why_t *why);

/* Closes. An open transaction is rolled back, as a crash would. */
void ob_db_close(ob_db_t **self_p);

sqlite3 *ob_db_handle(ob_db_t *self);
const char *ob_db_path(const ob_db_t *self);
int ob_db_schema_version(ob_db_t *self);

/* Transactions. begin is BEGIN IMMEDIATE, so the write lock is taken up
   front and a commit cannot fail on a lock upgrade. */
int ob_db_begin(ob_db_t *self);
int ob_db_commit(ob_db_t *self);
int ob_db_rollback(ob_db_t *self);

/* The open transaction must survive power loss whatever the sync setting
   (SPEC §4: a proposal's payload). Its commit is then fsynced before
   ob_db_commit returns; a failed fsync fails the commit. Under OFF (the
   simulator) it changes nothing. */
void ob_db_want_durable(ob_db_t *self);
/* The statement just stepped changed rows that need no sync of their own:
   losing them in a power loss costs a repeat, never safety (a Lock
   reported again). A transaction whose changes are all lazy commits
   without a sync; the next synced commit makes them durable too. */
void ob_db_lazy(ob_db_t *self);
/* Commits without waiting for the disk: *sync_due says whether the commit
   is durable only once ob_db_sync (or a sync of ob_db_sync_fd) returns:
   under FULL a transaction that changed anything, under NORMAL one asked
   to be durable that did; never under OFF. Until then, nothing that
   depends on it may leave (SPEC §4). ob_db_commit is this and the sync. */
int ob_db_commit_deferred(ob_db_t *self, bool *sync_due);
/* fdatasync of the WAL: every commit before it is durable. 0 or -1.
   Another thread may call it while this one runs the next transaction
   (never two at once, and never after ob_db_close). */
int ob_db_sync(ob_db_t *self);
/* Commits made durable so far: every commit under FULL that changed
   anything, and those asked to be durable under NORMAL. */
uint64_t ob_db_durable_commits(const ob_db_t *self);
bool ob_db_in_transaction(ob_db_t *self);

/* Runs SQL with no result rows. 0 or -1 (the error is logged). */
int ob_db_exec(ob_db_t *self, const char *sql);

/* Prepares a statement that lives as long as the handle. NULL on error. */
sqlite3_stmt *ob_db_prepare(ob_db_t *self, const char *sql);

/* Steps a query whose first column is a blob: 1 with a malloc'd copy of
   the first row's blob in *out, 0 if there is no row, -1 on error. Resets
   the statement either way. */
int ob_db_blob_row(sqlite3_stmt *stmt, uint8_t **out, size_t *len);

/* Resets a statement and its bindings for its next use. */
void ob_db_finish(sqlite3_stmt *stmt);

/* Steps a statement that returns no rows and resets it: 0 or -1. */
int ob_db_step_done(ob_db_t *self, sqlite3_stmt *stmt);

#endif

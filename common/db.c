#include "db.h"

#include "log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Statements prepared through the handle, finalized on close. Bounded:
   each store prepares a fixed set at open. */
#define S_MAX_STATEMENTS 64

struct _ob_db_t {
    sqlite3 *handle;
    char *path;
    ob_db_sync_t sync;
    bool want_durable;              /* this transaction must survive power loss */
    uint64_t durable_commits;       /* commits that reached the disk (fsynced) */
    sqlite3_int64 changes_at_begin; /* sqlite3_total_changes64 when it began */
    sqlite3_int64 lazy_changes;     /* of this transaction's, those that need no sync */
    sqlite3_file *wal;              /* SQLite's handle of the WAL, for ob_db_sync */
    sqlite3_stmt *statements[S_MAX_STATEMENTS];
    size_t statement_count;
};

static int s_open_wal(ob_db_t *self, ob_why_t *why);

static int s_user_version(sqlite3 *handle)
{
    sqlite3_stmt *stmt = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(handle, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return version;
}

static int s_exec(sqlite3 *handle, const char *sql, const char *path, ob_why_t *why)
{
    char *error = NULL;
    if (sqlite3_exec(handle, sql, NULL, NULL, &error) != SQLITE_OK) {
        ob_why(why, "database %s: %s", path, error ? error : sqlite3_errmsg(handle));
        sqlite3_free(error);
        return -1;
    }
    return 0;
}

static int s_migrate(ob_db_t *self, const char *const *migrations, size_t count, ob_why_t *why)
{
    int version = s_user_version(self->handle);
    if (version < 0)
        return ob_why(why, "database %s: cannot read its schema version: %s", self->path,
                      sqlite3_errmsg(self->handle));
    if ((size_t)version > count)
        return ob_why(why, "database %s: schema version %d is newer than this program's %zu",
                      self->path, version, count);
    for (size_t v = (size_t)version; v < count; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %zu", v + 1);
        if (s_exec(self->handle, "BEGIN IMMEDIATE", self->path, why) != 0)
            return -1;
        if (s_exec(self->handle, migrations[v], self->path, why) != 0 ||
            s_exec(self->handle, bump, self->path, why) != 0 ||
            s_exec(self->handle, "COMMIT", self->path, why) != 0) {
            sqlite3_exec(self->handle, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

/* SPEC §4: state lives in a folder only its owner may enter, in files only
   its owner may read. The folder is checked here, where every database is
   opened, so no actor can forget it. */
static int s_check_folder(const char *path, ob_why_t *why)
{
    char copy[PATH_MAX];
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
        return ob_why(why, "database %s: path too long", path);
    const char *folder = dirname(copy);
    struct stat st;
    if (stat(folder, &st) != 0)
        return ob_why(why, "database %s: folder %s: %s", path, folder, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ob_why(why, "database %s: %s is not a folder", path, folder);
    if (st.st_mode & 077)
        return ob_why(why,
                      "database %s: its folder %s is open to other users (mode %04o); "
                      "run chmod 700 %s",
                      path, folder, (unsigned)(st.st_mode & 07777), folder);
    return 0;
}

/* SQLite creates a database 0644 (less the umask) and gives its -wal and
   -shm files the database's mode, so the database is created 0600 before
   SQLite opens it. A file left 0644 by an older version is tightened, and
   its -wal and -shm with it. A new file is created with O_EXCL and closed
   before SQLite holds any lock: closing another descriptor of a file that
   SQLite has locked would drop its POSIX locks. */
static int s_private_files(const char *path, ob_why_t *why)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno != EEXIST)
        return ob_why(why, "database %s: cannot create: %s", path, strerror(errno));
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        char file[PATH_MAX + 8];
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        if (chmod(file, 0600) != 0 && errno != ENOENT)
            return ob_why(why, "database %s: cannot make %s private (chmod 600): %s", path, file,
                          strerror(errno));
    }
    return 0;
}

ob_db_t *ob_db_open(const char *path, ob_db_sync_t sync, bool exclusive,
                    const char *const *migrations, size_t migration_count, ob_why_t *why)
{
    if (s_check_folder(path, why) != 0 || s_private_files(path, why) != 0)
        return NULL;
    ob_db_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path))) {
        free(self);
        ob_why(why, "database %s: out of memory", path);
        return NULL;
    }
    self->sync = sync;
    if (sqlite3_open_v2(path, &self->handle,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        ob_why(why, "database %s: cannot open: %s", path,
               self->handle ? sqlite3_errmsg(self->handle) : "out of memory");
        ob_db_close(&self);
        return NULL;
    }
    sqlite3_extended_result_codes(self->handle, 1);
    /* FULL is SQLite's NORMAL plus a sync of the WAL at every commit. That
       sync is ours (ob_db_sync), so that it can run beside the next batch
       (common/syncer.h): under NORMAL SQLite still syncs the WAL before
       each checkpoint, the database after it, and the WAL header when the
       WAL is reused. */
    const char *sync_sql =
        sync == OB_DB_SYNC_OFF ? "PRAGMA synchronous = OFF" : "PRAGMA synchronous = NORMAL";
    /* Exclusive mode must be set before the WAL is first touched, so that
       the WAL index lives in private memory and no other process can
       attach; the write transaction then takes the lock for good. */
    if ((exclusive && s_exec(self->handle, "PRAGMA locking_mode = EXCLUSIVE", path, why) != 0) ||
        s_exec(self->handle, "PRAGMA journal_mode = WAL", path, why) != 0 ||
        s_exec(self->handle, sync_sql, path, why) != 0 ||
        s_exec(self->handle, "PRAGMA foreign_keys = ON", path, why) != 0) {
        ob_db_close(&self);
        return NULL;
    }
    if (!exclusive)
        sqlite3_busy_timeout(self->handle, 5000);
    if (exclusive) {
        int rc = sqlite3_exec(self->handle, "BEGIN EXCLUSIVE; COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            ob_why(why, "database %s: locked by another process (%s)", path,
                   sqlite3_errmsg(self->handle));
            ob_db_close(&self);
            return NULL;
        }
    }
    if (s_migrate(self, migrations, migration_count, why) != 0) {
        ob_db_close(&self);
        return NULL;
    }
    /* The migrations' commits are durable, and the WAL's own directory
       entry too (SQLite's first sync of a file syncs its folder): only
       the WAL's data needs syncing from now on, on our descriptor. */
    if (sync != OB_DB_SYNC_OFF && s_open_wal(self, why) != 0) {
        ob_db_close(&self);
        return NULL;
    }
    return self;
}

void ob_db_close(ob_db_t **self_p)
{
    assert(self_p);
    ob_db_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->statement_count; i++)
        sqlite3_finalize(self->statements[i]);
    if (self->handle) {
        if (!sqlite3_get_autocommit(self->handle))
            sqlite3_exec(self->handle, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close_v2(self->handle);
    }
    free(self->path);
    free(self);
    *self_p = NULL;
}

sqlite3 *ob_db_handle(ob_db_t *self)
{
    return self->handle;
}

const char *ob_db_path(const ob_db_t *self)
{
    return self->path;
}

int ob_db_schema_version(ob_db_t *self)
{
    return s_user_version(self->handle);
}

int ob_db_exec(ob_db_t *self, const char *sql)
{
    ob_why_t why;
    if (s_exec(self->handle, sql, self->path, &why) != 0) {
        ob_error("%s", why.text);
        return -1;
    }
    return 0;
}

int ob_db_begin(ob_db_t *self)
{
    assert(!ob_db_in_transaction(self));
    self->want_durable = false; /* a wish ends with its transaction, committed or not */
    self->changes_at_begin = sqlite3_total_changes64(self->handle);
    self->lazy_changes = 0;
    return ob_db_exec(self, "BEGIN IMMEDIATE");
}

void ob_db_lazy(ob_db_t *self)
{
    assert(ob_db_in_transaction(self));
    self->lazy_changes += sqlite3_changes64(self->handle);
}

void ob_db_want_durable(ob_db_t *self)
{
    assert(ob_db_in_transaction(self));
    self->want_durable = true;
}

/* Under synchronous=NORMAL a WAL commit is written but not fsynced, and
   the setting cannot change inside a transaction ("Safety level may not be
   changed inside a transaction"). So a transaction that must be durable
   commits as usual and then its WAL file is fsynced: after that, the
   commit survives power loss as a FULL commit does (FULL is exactly a sync
   of the WAL at commit). The sync goes through SQLite's own handle of the
   WAL (its VFS), taken once here: the connection keeps that file open
   until it closes. The first sync also syncs the folder that holds the
   WAL (SQLite does so at a file's first sync); after it, a sync only
   reads the handle, so another thread may run it beside the next
   transaction. */
static int s_open_wal(ob_db_t *self, ob_why_t *why)
{
    sqlite3_file *wal = NULL;
    if (sqlite3_file_control(self->handle, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) !=
            SQLITE_OK ||
        !wal || !wal->pMethods)
        return ob_why(why, "database %s: cannot reach its WAL", self->path);
    int rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
    if (rc != SQLITE_OK)
        return ob_why(why, "database %s: fsync of its WAL failed (%d)", self->path, rc);
    self->wal = wal;
    return 0;
}

int ob_db_sync(ob_db_t *self)
{
    if (!self->wal)
        return 0; /* OFF: the simulator */
    int rc = self->wal->pMethods->xSync(self->wal, SQLITE_SYNC_NORMAL);
    if (rc != SQLITE_OK) {
        ob_error("database %s: fsync of its WAL failed (%d)", self->path, rc);
        return -1;
    }
    return 0;
}

int ob_db_commit_deferred(ob_db_t *self, bool *sync_due)
{
    assert(ob_db_in_transaction(self));
    bool durable = self->want_durable;
    self->want_durable = false;
    bool wrote =
        sqlite3_total_changes64(self->handle) - self->changes_at_begin > self->lazy_changes;
    *sync_due = false;
    if (ob_db_exec(self, "COMMIT") != 0)
        return -1;
    switch (self->sync) {
    case OB_DB_SYNC_FULL:
        *sync_due = wrote;
        break;
    case OB_DB_SYNC_NORMAL:
        *sync_due = wrote && durable;
        break;
    case OB_DB_SYNC_OFF:
        break; /* the simulator: its crashes are process crashes */
    }
    if (*sync_due)
        self->durable_commits++;
    return 0;
}

int ob_db_commit(ob_db_t *self)
{
    bool sync_due = false;
    if (ob_db_commit_deferred(self, &sync_due) != 0)
        return -1;
    /* Committed but maybe not on disk yet: if the sync fails the caller
       must send nothing that depends on it, as for a failed commit. */
    return sync_due ? ob_db_sync(self) : 0;
}

uint64_t ob_db_durable_commits(const ob_db_t *self)
{
    return self->durable_commits;
}

int ob_db_rollback(ob_db_t *self)
{
    self->want_durable = false;
    if (!ob_db_in_transaction(self))
        return 0;
    return ob_db_exec(self, "ROLLBACK");
}

bool ob_db_in_transaction(ob_db_t *self)
{
    return !sqlite3_get_autocommit(self->handle);
}

sqlite3_stmt *ob_db_prepare(ob_db_t *self, const char *sql)
{
    assert(self->statement_count < S_MAX_STATEMENTS);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(self->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) !=
        SQLITE_OK) {
        ob_error("database %s: cannot prepare \"%s\": %s", self->path, sql,
                 sqlite3_errmsg(self->handle));
        return NULL;
    }
    self->statements[self->statement_count++] = stmt;
    return stmt;
}

int ob_db_step_done(ob_db_t *self, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc != SQLITE_DONE) {
        ob_error("database %s: %s", self->path, sqlite3_errmsg(self->handle));
        return -1;
    }
    return 0;
}

void ob_db_finish(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

int ob_db_blob_row(sqlite3_stmt *stmt, uint8_t **out, size_t *len)
{
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (result == 1) {
        int bytes = sqlite3_column_bytes(stmt, 0);
        *out = malloc(bytes > 0 ? (size_t)bytes : 1);
        if (*out) {
            if (bytes > 0)
                memcpy(*out, sqlite3_column_blob(stmt, 0), (size_t)bytes);
            *len = (size_t)bytes;
        } else {
            result = -1;
        }
    }
    ob_db_finish(stmt);
    return result;
}

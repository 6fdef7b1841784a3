/*  common/db against the rules of SPEC §4 that it keeps for every actor:
    database files (and SQLite's -wal and -shm beside them) are mode 0600,
    a data folder open to others is refused with a message that names it
    and the fix, and a transaction asked to be durable is fsynced whatever
    the sync setting. The fsyncs are counted by a VFS shim around the
    default one, so the test sees what SQLite asked the kernel for. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"
#include "log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const s_migrations[] = {
    "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL);",
};

typedef struct {
    char dir[64];
    char path[128];
} d_fixture_t;

static int s_setup(void **state)
{
    d_fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/obcast-db-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/test.db", f->dir);
    ob_log_set_level(OB_LOG_ERROR);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    d_fixture_t *f = *state;
    DIR *dir = opendir(f->dir);
    if (dir) {
        const struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            char file[512];
            snprintf(file, sizeof file, "%s/%s", f->dir, entry->d_name);
            unlink(file);
        }
        closedir(dir);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static ob_db_t *s_open(d_fixture_t *f, ob_db_sync_t sync, bool exclusive)
{
    ob_why_t why = {{0}};
    ob_db_t *db = ob_db_open(f->path, sync, exclusive, s_migrations, 1, &why);
    if (!db)
        fail_msg("db: %s", why.text);
    return db;
}

static void s_write(ob_db_t *db, int k)
{
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO t (k, v) VALUES (%d, randomblob(100))", k);
    assert_int_equal(ob_db_begin(db), 0);
    assert_int_equal(ob_db_exec(db, sql), 0);
    assert_int_equal(ob_db_commit(db), 0);
}

static void s_assert_mode(const char *path, mode_t want)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("%s: missing", path);
    if ((st.st_mode & 0777) != want)
        fail_msg("%s: mode %04o, expected %04o", path, (unsigned)(st.st_mode & 0777),
                 (unsigned)want);
}

/* The database and its -wal and -shm files are the owner's only, whatever
   the umask; a file an older version left 0644 is tightened on open. */
static void test_db_files_are_0600(void **state)
{
    d_fixture_t *f = *state;
    mode_t old = umask(022);
    ob_db_t *db = s_open(f, OB_DB_SYNC_NORMAL, false);
    s_write(db, 1);
    char wal[160], shm[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    snprintf(shm, sizeof shm, "%s-shm", f->path);
    s_assert_mode(f->path, 0600);
    s_assert_mode(wal, 0600);
    s_assert_mode(shm, 0600);
    ob_db_close(&db);

    assert_int_equal(chmod(f->path, 0644), 0);
    db = s_open(f, OB_DB_SYNC_FULL, true); /* the signer's way */
    s_write(db, 2);
    s_assert_mode(f->path, 0600);
    ob_db_close(&db);
    umask(old);
}

/* A folder others can read or enter is refused before anything is
   created in it, with the folder and the fix in the message. */
static void test_db_refuses_an_open_folder(void **state)
{
    d_fixture_t *f = *state;
    assert_int_equal(chmod(f->dir, 0755), 0);
    ob_why_t why = {{0}};
    ob_db_t *db = ob_db_open(f->path, OB_DB_SYNC_NORMAL, false, s_migrations, 1, &why);
    assert_null(db);
    assert_non_null(strstr(why.text, f->dir));
    assert_non_null(strstr(why.text, "0755"));
    assert_non_null(strstr(why.text, "chmod 700"));
    assert_int_equal(access(f->path, F_OK), -1); /* nothing was created */

    assert_int_equal(chmod(f->dir, 0710), 0); /* group may enter: refused too */
    assert_null(ob_db_open(f->path, OB_DB_SYNC_NORMAL, false, s_migrations, 1, &why));
    assert_non_null(strstr(why.text, "0710"));

    assert_int_equal(chmod(f->dir, 0700), 0);
    db = s_open(f, OB_DB_SYNC_NORMAL, false);
    ob_db_close(&db);
}

/* --- a VFS shim that counts fsyncs of WAL files ------------------------ */

typedef struct {
    sqlite3_file base;
    sqlite3_file *real;
    bool wal;
} v_file_t;

static sqlite3_vfs *s_real_vfs;
static sqlite3_vfs s_vfs;
static unsigned s_wal_syncs;

static sqlite3_file *s_real(sqlite3_file *file)
{
    return ((v_file_t *)file)->real;
}

static int v_close(sqlite3_file *f)
{
    return s_real(f)->pMethods->xClose(s_real(f));
}
static int v_read(sqlite3_file *f, void *buf, int amount, sqlite3_int64 offset)
{
    return s_real(f)->pMethods->xRead(s_real(f), buf, amount, offset);
}
static int v_write(sqlite3_file *f, const void *buf, int amount, sqlite3_int64 offset)
{
    return s_real(f)->pMethods->xWrite(s_real(f), buf, amount, offset);
}
static int v_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return s_real(f)->pMethods->xTruncate(s_real(f), size);
}
static int v_sync(sqlite3_file *f, int flags)
{
    if (((v_file_t *)f)->wal)
        s_wal_syncs++;
    return s_real(f)->pMethods->xSync(s_real(f), flags);
}
static int v_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return s_real(f)->pMethods->xFileSize(s_real(f), size);
}
static int v_lock(sqlite3_file *f, int level)
{
    return s_real(f)->pMethods->xLock(s_real(f), level);
}
static int v_unlock(sqlite3_file *f, int level)
{
    return s_real(f)->pMethods->xUnlock(s_real(f), level);
}
static int v_check_reserved(sqlite3_file *f, int *out)
{
    return s_real(f)->pMethods->xCheckReservedLock(s_real(f), out);
}
static int v_file_control(sqlite3_file *f, int op, void *arg)
{
    return s_real(f)->pMethods->xFileControl(s_real(f), op, arg);
}
static int v_sector_size(sqlite3_file *f)
{
    return s_real(f)->pMethods->xSectorSize(s_real(f));
}
static int v_device(sqlite3_file *f)
{
    return s_real(f)->pMethods->xDeviceCharacteristics(s_real(f));
}
static int v_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
    return s_real(f)->pMethods->xShmMap(s_real(f), region, size, extend, out);
}
static int v_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return s_real(f)->pMethods->xShmLock(s_real(f), offset, n, flags);
}
static void v_shm_barrier(sqlite3_file *f)
{
    s_real(f)->pMethods->xShmBarrier(s_real(f));
}
static int v_shm_unmap(sqlite3_file *f, int delete_flag)
{
    return s_real(f)->pMethods->xShmUnmap(s_real(f), delete_flag);
}
static int v_fetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out)
{
    return s_real(f)->pMethods->xFetch(s_real(f), offset, amount, out);
}
static int v_unfetch(sqlite3_file *f, sqlite3_int64 offset, void *p)
{
    return s_real(f)->pMethods->xUnfetch(s_real(f), offset, p);
}

static const sqlite3_io_methods s_methods = {
    3,           v_close,   v_read,     v_write,          v_truncate,     v_sync,
    v_file_size, v_lock,    v_unlock,   v_check_reserved, v_file_control, v_sector_size,
    v_device,    v_shm_map, v_shm_lock, v_shm_barrier,    v_shm_unmap,    v_fetch,
    v_unfetch,
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
    (void)vfs;
    v_file_t *v = (v_file_t *)file;
    v->real = (sqlite3_file *)(v + 1);
    v->wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = s_real_vfs->xOpen(s_real_vfs, name, v->real, flags, out);
    v->base.pMethods = v->real->pMethods ? &s_methods : NULL;
    return rc;
}

/* Installs the shim as the default VFS, so ob_db_open uses it. */
static void s_count_syncs(void)
{
    if (s_real_vfs)
        return;
    s_real_vfs = sqlite3_vfs_find(NULL);
    assert_non_null(s_real_vfs);
    s_vfs = *s_real_vfs;
    s_vfs.zName = "obcast-test-counting";
    s_vfs.szOsFile = (int)sizeof(v_file_t) + s_real_vfs->szOsFile;
    s_vfs.xOpen = v_open;
    assert_int_equal(sqlite3_vfs_register(&s_vfs, 1), SQLITE_OK);
}

/* Under NORMAL a commit is not fsynced; one asked to be durable fsyncs
   the WAL before ob_db_commit returns, and is counted. Under FULL every
   commit is. */
static void test_db_durable_commit_syncs_the_wal(void **state)
{
    d_fixture_t *f = *state;
    s_count_syncs();
    ob_db_t *db = s_open(f, OB_DB_SYNC_NORMAL, false);
    s_write(db, 1); /* the first frame writes (and syncs) the WAL header */
    unsigned before = s_wal_syncs;
    s_write(db, 2);
    s_write(db, 3);
    assert_int_equal(s_wal_syncs, before);
    assert_int_equal(ob_db_durable_commits(db), 0);

    assert_int_equal(ob_db_begin(db), 0);
    assert_int_equal(ob_db_exec(db, "INSERT INTO t (k, v) VALUES (4, x'00')"), 0);
    ob_db_want_durable(db);
    assert_int_equal(s_wal_syncs, before); /* nothing before the commit */
    assert_int_equal(ob_db_commit(db), 0);
    assert_true(s_wal_syncs > before);
    assert_int_equal(ob_db_durable_commits(db), 1);

    /* The wish ends with its transaction: the next commit is plain again,
       and a rolled-back wish leaves nothing behind. */
    before = s_wal_syncs;
    s_write(db, 5);
    assert_int_equal(ob_db_begin(db), 0);
    ob_db_want_durable(db);
    assert_int_equal(ob_db_rollback(db), 0);
    s_write(db, 6);
    assert_int_equal(s_wal_syncs, before);
    assert_int_equal(ob_db_durable_commits(db), 1);
    ob_db_close(&db);

    db = s_open(f, OB_DB_SYNC_FULL, false);
    before = s_wal_syncs;
    s_write(db, 7);
    assert_true(s_wal_syncs > before);
    assert_int_equal(ob_db_durable_commits(db), 1);
    ob_db_close(&db);
}

/* Under FULL a deferred commit reaches the disk only at ob_db_sync, which
   another thread may run while this one goes on with the next
   transaction; a transaction that changed nothing needs no sync. */
typedef struct {
    ob_db_t *db;
    int rc;
} d_sync_arg_t;

static void *s_sync_thread(void *arg)
{
    d_sync_arg_t *a = arg;
    a->rc = ob_db_sync(a->db);
    return NULL;
}

static void test_db_deferred_commit_syncs_later(void **state)
{
    d_fixture_t *f = *state;
    s_count_syncs();
    ob_db_t *db = s_open(f, OB_DB_SYNC_FULL, false);
    unsigned before = s_wal_syncs;
    bool due = false;
    assert_int_equal(ob_db_begin(db), 0);
    assert_int_equal(ob_db_exec(db, "INSERT INTO t (k, v) VALUES (1, x'00')"), 0);
    assert_int_equal(ob_db_commit_deferred(db, &due), 0);
    assert_true(due);
    assert_int_equal(s_wal_syncs, before); /* committed, not yet synced */
    assert_int_equal(ob_db_durable_commits(db), 1);

    /* the sync runs on another thread while the next transaction runs */
    d_sync_arg_t arg = {db, -1};
    pthread_t thread;
    assert_int_equal(ob_db_begin(db), 0);
    assert_int_equal(pthread_create(&thread, NULL, s_sync_thread, &arg), 0);
    assert_int_equal(ob_db_exec(db, "INSERT INTO t (k, v) VALUES (2, x'00')"), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(arg.rc, 0);
    assert_int_equal(s_wal_syncs, before + 1);
    assert_int_equal(ob_db_commit_deferred(db, &due), 0);
    assert_true(due);

    /* nothing changed: nothing to sync */
    assert_int_equal(ob_db_begin(db), 0);
    assert_int_equal(ob_db_exec(db, "INSERT OR IGNORE INTO t (k, v) VALUES (2, x'00')"), 0);
    assert_int_equal(ob_db_commit_deferred(db, &due), 0);
    assert_false(due);
    assert_int_equal(ob_db_durable_commits(db), 2);
    assert_int_equal(ob_db_sync(db), 0);
    assert_int_equal(s_wal_syncs, before + 2);

    /* changes marked lazy need no sync of their own; with any other
       change beside them, the commit needs one */
    assert_int_equal(ob_db_begin(db), 0);
    assert_int_equal(ob_db_exec(db, "UPDATE t SET v = x'01' WHERE k = 1"), 0);
    ob_db_lazy(db);
    assert_int_equal(ob_db_commit_deferred(db, &due), 0);
    assert_false(due);
    assert_int_equal(ob_db_begin(db), 0);
    assert_int_equal(ob_db_exec(db, "UPDATE t SET v = x'02' WHERE k = 1"), 0);
    ob_db_lazy(db);
    assert_int_equal(ob_db_exec(db, "INSERT INTO t (k, v) VALUES (3, x'00')"), 0);
    assert_int_equal(ob_db_commit_deferred(db, &due), 0);
    assert_true(due);
    ob_db_close(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_db_files_are_0600, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_db_refuses_an_open_folder, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_db_durable_commit_syncs_the_wal, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_db_deferred_commit_syncs_later, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}

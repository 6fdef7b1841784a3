/*  tests/sim/powerloss.c: a power cut keeps what was synced and loses the
    rest, on real SQLite files in WAL mode, as the simulator's nodes use
    them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "powerloss.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[64];

static sqlite3 *s_open(const char *path, const char *sync)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s;", sync);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void s_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

static int s_count(const char *path, const char *where)
{
    sqlite3 *db = s_open(path, "NORMAL");
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE %s", where);
    sqlite3_stmt *stmt = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

/* A commit under FULL (its WAL synced) survives the cut; the ones after
   it under OFF, written and never synced, do not. */
static void test_synced_survives_unsynced_lost(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/a.db", s_dir);
    sqlite3 *db = s_open(path, "FULL");
    s_exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
    s_exec(db, "INSERT INTO t VALUES (1, 'synced')");
    s_exec(db, "PRAGMA synchronous = OFF");
    for (int i = 2; i < 200; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES (%d, 'not synced')", i);
        s_exec(db, sql);
    }
    ob_powerloss_stats_t before = ob_powerloss_stats();
    ob_powerloss_cut_begin(s_dir);
    s_exec(db, "INSERT INTO t VALUES (500, 'while the power goes')");
    sqlite3_close(db); /* would checkpoint and delete the WAL: dropped */
    assert_int_equal(ob_powerloss_cut_end(s_dir), 0);
    ob_powerloss_stats_t after = ob_powerloss_stats();
    assert_true(after.bytes_discarded > before.bytes_discarded);
    assert_true(after.writes_dropped > before.writes_dropped);
    assert_int_equal(after.cuts, before.cuts + 1);
    assert_int_equal(s_count(path, "v = 'synced'"), 1);
    assert_int_equal(s_count(path, "v <> 'synced'"), 0);
}

/* Without a cut, nothing is lost: a clean close checkpoints into the
   database file, whose sync makes it the image; a later cut keeps it. */
static void test_clean_close_then_cut(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/b.db", s_dir);
    sqlite3 *db = s_open(path, "NORMAL");
    s_exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
    s_exec(db, "BEGIN");
    for (int i = 0; i < 500; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES (%d, 'row')", i);
        s_exec(db, sql);
    }
    s_exec(db, "COMMIT");
    sqlite3_close(db);
    ob_powerloss_cut_begin(s_dir);
    assert_int_equal(ob_powerloss_cut_end(s_dir), 0);
    assert_int_equal(s_count(path, "1"), 500);
}

/* A database created and never synced is empty after the cut: SQLite
   meets an empty file, a new database, and nothing half written. */
static void test_never_synced_is_empty(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/c.db", s_dir);
    sqlite3 *db = s_open(path, "OFF");
    s_exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
    s_exec(db, "INSERT INTO t VALUES (1, 'lost')");
    ob_powerloss_cut_begin(s_dir);
    sqlite3_close(db);
    assert_int_equal(ob_powerloss_cut_end(s_dir), 0);
    sqlite3 *again = s_open(path, "NORMAL");
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(again, "SELECT count(*) FROM sqlite_schema", -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 0);
    sqlite3_finalize(stmt);
    sqlite3_close(again);
}

int main(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/obcast-powerloss-XXXXXX");
    if (!mkdtemp(s_dir) || ob_powerloss_install() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synced_survives_unsynced_lost),
        cmocka_unit_test(test_clean_close_then_cut),
        cmocka_unit_test(test_never_synced_is_empty),
    };
    int rc = cmocka_run_group_tests_name("powerloss", tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}

#include "signer_store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Append-only: a new schema is a new entry, never an edit. Heights are
   stored as SQLite's signed 64-bit integers; heights of 2^63 and above
   would sort wrongly and are out of reach in practice. */
static const char *const s_migrations[] = {
    "CREATE TABLE signed_node ("
    "  height INTEGER PRIMARY KEY,"
    "  payload BLOB NOT NULL CHECK (length(payload) = 32),"
    "  node BLOB NOT NULL);"
    "CREATE TABLE acked ("
    "  sequencer BLOB NOT NULL CHECK (length(sequencer) = 32),"
    "  height INTEGER NOT NULL,"
    "  payload BLOB NOT NULL CHECK (length(payload) = 32),"
    "  epoch INTEGER NOT NULL,"
    "  PRIMARY KEY (sequencer, height)) WITHOUT ROWID;",
    /* v2: the ack signature last produced for the record's payload, in its
       epoch: a duplicate in that epoch is answered with the same bytes. */
    "ALTER TABLE acked ADD COLUMN signature BLOB;",
};

struct _ob_signer_store_t {
    ob_db_t *db;
    sqlite3_stmt *signed_at, *last_signed, *record_signed, *acked_at, *record_ack;
    sqlite3_stmt *count_signed, *count_acked;
};

ob_signer_store_t *ob_signer_store_open(const char *path, ob_db_sync_t sync, ob_why_t *why)
{
    ob_signer_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_why(why, "signer store %s: out of memory", path);
        return NULL;
    }
    self->db =
        ob_db_open(path, sync, true, s_migrations, sizeof s_migrations / sizeof *s_migrations, why);
    if (!self->db) {
        free(self);
        return NULL;
    }
    self->signed_at = ob_db_prepare(self->db, "SELECT node FROM signed_node WHERE height = ?");
    self->last_signed =
        ob_db_prepare(self->db, "SELECT node FROM signed_node ORDER BY height DESC LIMIT 1");
    self->record_signed =
        ob_db_prepare(self->db, "INSERT INTO signed_node (height, payload, node) VALUES (?, ?, ?)");
    self->acked_at = ob_db_prepare(
        self->db, "SELECT payload, epoch, signature FROM acked WHERE sequencer = ? AND height = ?");
    /* S2: the payload of a record never changes; only its epoch and the
       signature move on, and only for that same payload. */
    self->record_ack = ob_db_prepare(
        self->db, "INSERT INTO acked (sequencer, height, payload, epoch, signature) "
                  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (sequencer, height) DO UPDATE SET "
                  "epoch = excluded.epoch, signature = excluded.signature "
                  "WHERE acked.payload = excluded.payload");
    self->count_signed = ob_db_prepare(self->db, "SELECT count(*) FROM signed_node");
    self->count_acked = ob_db_prepare(self->db, "SELECT count(*) FROM acked");
    if (!self->signed_at || !self->last_signed || !self->record_signed || !self->acked_at ||
        !self->record_ack || !self->count_signed || !self->count_acked) {
        ob_why(why, "signer store %s: cannot prepare its statements", path);
        ob_signer_store_destroy(&self);
        return NULL;
    }
    return self;
}

void ob_signer_store_destroy(ob_signer_store_t **self_p)
{
    assert(self_p);
    ob_signer_store_t *self = *self_p;
    if (!self)
        return;
    ob_db_close(&self->db);
    free(self);
    *self_p = NULL;
}

int ob_signer_store_begin(ob_signer_store_t *self)
{
    return ob_db_begin(self->db);
}

int ob_signer_store_commit(ob_signer_store_t *self)
{
    return ob_db_commit(self->db);
}

int ob_signer_store_commit_deferred(ob_signer_store_t *self, bool *sync_due)
{
    return ob_db_commit_deferred(self->db, sync_due);
}

int ob_signer_store_sync(ob_signer_store_t *self)
{
    return ob_db_sync(self->db);
}

int ob_signer_store_signed_at(ob_signer_store_t *self, uint64_t height, uint8_t **node, size_t *len)
{
    sqlite3_bind_int64(self->signed_at, 1, (sqlite3_int64)height);
    return ob_db_blob_row(self->signed_at, node, len);
}

int ob_signer_store_last_signed(ob_signer_store_t *self, uint8_t **node, size_t *len)
{
    return ob_db_blob_row(self->last_signed, node, len);
}

int ob_signer_store_record_signed(ob_signer_store_t *self, uint64_t height,
                                  const uint8_t payload[32], const uint8_t *node, size_t len)
{
    sqlite3_bind_int64(self->record_signed, 1, (sqlite3_int64)height);
    sqlite3_bind_blob(self->record_signed, 2, payload, 32, SQLITE_STATIC);
    sqlite3_bind_blob(self->record_signed, 3, node, (int)len, SQLITE_STATIC);
    return ob_db_step_done(self->db, self->record_signed);
}

int ob_signer_store_acked_at(ob_signer_store_t *self, const uint8_t sequencer[32], uint64_t height,
                             uint8_t payload[32])
{
    ob_ack_record_t record;
    int rc = ob_signer_store_ack_record(self, sequencer, height, &record);
    if (rc == 1)
        memcpy(payload, record.payload, 32);
    return rc;
}

int ob_signer_store_ack_record(ob_signer_store_t *self, const uint8_t sequencer[32],
                               uint64_t height, ob_ack_record_t *record)
{
    sqlite3_stmt *stmt = self->acked_at;
    sqlite3_bind_blob(stmt, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)height);
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (result == 1) {
        memset(record, 0, sizeof *record);
        if (sqlite3_column_bytes(stmt, 0) != 32) {
            result = -1;
        } else {
            memcpy(record->payload, sqlite3_column_blob(stmt, 0), 32);
            record->epoch = (uint64_t)sqlite3_column_int64(stmt, 1);
            /* Records older than v2 have none: their next ack is signed. */
            record->has_signature = sqlite3_column_bytes(stmt, 2) == 64;
            if (record->has_signature)
                memcpy(record->signature, sqlite3_column_blob(stmt, 2), 64);
        }
    }
    ob_db_finish(stmt);
    return result;
}

int ob_signer_store_record_ack(ob_signer_store_t *self, const uint8_t sequencer[32],
                               uint64_t height, const uint8_t payload[32], uint64_t epoch,
                               const uint8_t signature[64])
{
    sqlite3_bind_blob(self->record_ack, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(self->record_ack, 2, (sqlite3_int64)height);
    sqlite3_bind_blob(self->record_ack, 3, payload, 32, SQLITE_STATIC);
    sqlite3_bind_int64(self->record_ack, 4, (sqlite3_int64)epoch);
    if (signature)
        sqlite3_bind_blob(self->record_ack, 5, signature, 64, SQLITE_STATIC);
    else
        sqlite3_bind_null(self->record_ack, 5);
    return ob_db_step_done(self->db, self->record_ack);
}

static int64_t s_count(sqlite3_stmt *stmt)
{
    int64_t n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_reset(stmt);
    return n;
}

int64_t ob_signer_store_signed_count(ob_signer_store_t *self)
{
    return s_count(self->count_signed);
}

int64_t ob_signer_store_acked_count(ob_signer_store_t *self)
{
    return s_count(self->count_acked);
}

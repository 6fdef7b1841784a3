#include "journal_store.h"

#include "log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append-only migrations; position + 1 is the schema version. Heights are
   SQLite signed integers (see signer_store.c). */
static const char *const s_migrations[] = {
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE tip ("
    "  sequencer BLOB PRIMARY KEY CHECK (length(sequencer) = 32),"
    "  height INTEGER NOT NULL,"
    "  payload BLOB NOT NULL CHECK (length(payload) = 32)) WITHOUT ROWID;"
    "CREATE TABLE node ("
    "  sequencer BLOB NOT NULL, height INTEGER NOT NULL,"
    "  payload BLOB NOT NULL, node BLOB NOT NULL,"
    "  PRIMARY KEY (sequencer, height)) WITHOUT ROWID;"
    "CREATE TABLE payload (digest BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE certificate ("
    "  sequencer BLOB NOT NULL, height INTEGER NOT NULL, payload BLOB NOT NULL,"
    "  epoch INTEGER NOT NULL, lock BLOB NOT NULL, seq INTEGER NOT NULL,"
    "  PRIMARY KEY (sequencer, height, payload, epoch)) WITHOUT ROWID;"
    "CREATE TABLE evidence ("
    "  id INTEGER PRIMARY KEY, sequencer BLOB NOT NULL, height INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL, first BLOB NOT NULL, second BLOB NOT NULL,"
    "  UNIQUE (sequencer, height, kind));",
    /* v2: which Locks the application has; the rest are reported again. */
    "ALTER TABLE certificate ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX certificate_undelivered ON certificate (seq) WHERE delivered = 0;",
    /* v3: per validator, the height up to which it is known to hold our
       chain's Locks, so that gaps are filled across restarts too. */
    "CREATE TABLE backfill (validator BLOB PRIMARY KEY, filled INTEGER NOT NULL) WITHOUT ROWID;",
    /* v4: the next certificate's sequence number is max(seq) + 1; without
       this index that was a scan of every certificate held, per insert. */
    "CREATE UNIQUE INDEX certificate_seq ON certificate (seq);",
    /* v5: a gap being filled, resent `passes` more times (a sent node can
       be lost like any other message, and nothing confirms it). */
    "ALTER TABLE backfill ADD COLUMN gap_from INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE backfill ADD COLUMN gap_to INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE backfill ADD COLUMN passes INTEGER NOT NULL DEFAULT 0;",
    /* v6: several gaps per validator, as one blob of (from, to, passes);
       v5's single-gap columns stay unused. One wide merged gap made the
       sequencer resend nodes the validator already held. */
    "ALTER TABLE backfill ADD COLUMN gaps BLOB NOT NULL DEFAULT x'';",
    /* v7: retention asks, for a payload, whether a node still in the kept
       window refers to it. */
    "CREATE INDEX node_payload ON node (payload);",
    /* v8: the payloads of own proposals whose node is not recorded here
       yet (signed, maybe sent, not yet the tip). Retention spares them. */
    "CREATE TABLE proposal (height INTEGER NOT NULL, payload BLOB NOT NULL,"
    "  PRIMARY KEY (height, payload)) WITHOUT ROWID;",
    /* v9: payload bytes in a rowid table. A WITHOUT ROWID row keeps at
       most about a quarter of a page in its b-tree page and puts the rest
       on overflow pages of its own, so a 1 KiB payload took a 4 KiB
       overflow page: 4.4 times its size on disk (dbstat, 1,418 chunks).
       A rowid table keeps rows up to a page minus 35 bytes in its leaves;
       the digest is a unique index beside it. */
    "CREATE TABLE payload_v9 (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE,"
    "  data BLOB NOT NULL);"
    "INSERT INTO payload_v9 (digest, data) SELECT digest, data FROM payload;"
    "DROP TABLE payload;"
    "ALTER TABLE payload_v9 RENAME TO payload;",
    /* v10: retention asks, for a payload, whether a certificate outside
       the pruned window refers to it: a fetched Lock's bytes have no node
       row, only their certificate. */
    "CREATE INDEX certificate_payload ON certificate (payload);",
    /* v11: the sequencers' gap filling (v3, v5, v6) is gone: fetching
       fills any node's holes from any peer (proto/PROTOCOL.md). */
    "DROP TABLE backfill;",
};

enum {
    S_EPOCH,
    S_SET_EPOCH,
    S_TIPS,
    S_RAISE_TIP,
    S_PUT_NODE,
    S_NODE,
    S_PUT_PAYLOAD,
    S_PAYLOAD,
    S_HAS_PAYLOAD,
    S_PUT_CERT,
    S_CERT,
    S_PUT_EVIDENCE,
    S_EACH_CERT,
    S_DELIVERED,
    S_UNDELIVERED,
    S_PRUNE,
    S_PIN,
    S_UNPIN,
    S_CERT_RANGE,
    S_CERT_HIGHEST_ABOVE,
    S_CERT_SPANS,
    S_CERT_GAPS,
    S_CERT_NO_PAYLOAD,
    S_COUNT
};

static const char *const s_sql[S_COUNT] = {
    /* The payloads of one sequencer's nodes and certificates in [?2, ?3]
       (a fetched Lock's bytes have a certificate and no node), unless
       anything else still refers to the same bytes: a node or certificate
       outside that range (another sequencer's, or a later one), a tip, or
       an own proposal whose node is not recorded yet. Payloads are shared
       by digest, so every table that names one is asked. */
    [S_PRUNE] = "DELETE FROM payload WHERE digest IN ("
                "  SELECT n.payload FROM node n WHERE n.sequencer = ?1"
                "   AND n.height BETWEEN ?2 AND ?3"
                "  UNION SELECT c.payload FROM certificate c WHERE c.sequencer = ?1"
                "   AND c.height BETWEEN ?2 AND ?3)"
                " AND NOT EXISTS (SELECT 1 FROM node o WHERE o.payload = payload.digest"
                "   AND NOT (o.sequencer = ?1 AND o.height BETWEEN ?2 AND ?3))"
                " AND NOT EXISTS (SELECT 1 FROM certificate o WHERE o.payload = payload.digest"
                "   AND NOT (o.sequencer = ?1 AND o.height BETWEEN ?2 AND ?3))"
                " AND NOT EXISTS (SELECT 1 FROM tip t WHERE t.payload = payload.digest)"
                " AND NOT EXISTS (SELECT 1 FROM proposal p WHERE p.payload = payload.digest)",
    /* A proposal at ?1: the ones below it were recorded as the own tip
       before this height could be proposed. */
    [S_PIN] = "INSERT OR IGNORE INTO proposal (height, payload) VALUES (?1, ?2)",
    [S_UNPIN] = "DELETE FROM proposal WHERE height <= ?1",
    [S_EPOCH] = "SELECT value FROM meta WHERE key = 'epoch'",
    [S_SET_EPOCH] = "INSERT INTO meta (key, value) VALUES ('epoch', ?1) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_TIPS] = "SELECT sequencer, height, payload FROM tip ORDER BY sequencer",
    /* The height check and the write are one statement: a tip never moves
       down, whatever raced before. */
    [S_RAISE_TIP] = "INSERT INTO tip (sequencer, height, payload) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (sequencer) DO UPDATE SET height = excluded.height, "
                    "payload = excluded.payload WHERE excluded.height > tip.height",
    [S_PUT_NODE] = "INSERT OR IGNORE INTO node (sequencer, height, payload, node) "
                   "VALUES (?1, ?2, ?3, ?4)",
    [S_NODE] = "SELECT node FROM node WHERE sequencer = ?1 AND height = ?2",
    [S_PUT_PAYLOAD] = "INSERT OR IGNORE INTO payload (digest, data) VALUES (?1, ?2)",
    [S_PAYLOAD] = "SELECT data FROM payload WHERE digest = ?1",
    [S_HAS_PAYLOAD] = "SELECT 1 FROM payload WHERE digest = ?1",
    [S_PUT_CERT] = "INSERT OR IGNORE INTO certificate "
                   "(sequencer, height, payload, epoch, lock, seq) VALUES (?1, ?2, ?3, ?4, ?5, "
                   "(SELECT coalesce(max(seq), 0) + 1 FROM certificate))",
    [S_CERT] = "SELECT lock FROM certificate WHERE sequencer = ?1 AND height = ?2 "
               "ORDER BY seq LIMIT 1",
    [S_PUT_EVIDENCE] = "INSERT OR IGNORE INTO evidence (sequencer, height, kind, first, second) "
                       "VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_EACH_CERT] = "SELECT lock FROM certificate ORDER BY sequencer, height, seq",
    [S_DELIVERED] = "UPDATE certificate SET delivered = 1 WHERE sequencer = ?1 AND height = ?2 "
                    "AND payload = ?3 AND delivered = 0",
    [S_UNDELIVERED] = "SELECT lock FROM certificate WHERE delivered = 0 ORDER BY seq LIMIT ?1",
    /* Fetching (SPEC §3): a Fetch's range in one query, each height's
       first certificate first, with its payload bytes if held. */
    [S_CERT_RANGE] = "SELECT c.height, c.lock, p.data FROM certificate c "
                     "LEFT JOIN payload p ON p.digest = c.payload "
                     "WHERE c.sequencer = ?1 AND c.height BETWEEN ?2 AND ?3 "
                     "ORDER BY c.height, c.seq",
    [S_CERT_HIGHEST_ABOVE] = "SELECT lock FROM certificate WHERE sequencer = ?1 AND height > ?2 "
                             "ORDER BY height DESC, seq LIMIT 1",
    [S_CERT_SPANS] = "SELECT sequencer, min(height), max(height) FROM certificate "
                     "GROUP BY sequencer",
    /* The heights missing between two certified ones, per sequencer. */
    [S_CERT_GAPS] = "SELECT sequencer, prev + 1, height - 1 FROM ("
                    "  SELECT sequencer, height,"
                    "   lag(height) OVER (PARTITION BY sequencer ORDER BY height) AS prev"
                    "  FROM (SELECT DISTINCT sequencer, height FROM certificate))"
                    " WHERE prev IS NOT NULL AND height > prev + 1",
    /* Certificates without their payload bytes, within ?1 heights of
       their chain's highest (0: all). */
    [S_CERT_NO_PAYLOAD] =
        "SELECT c.sequencer, c.height FROM certificate c "
        "WHERE NOT EXISTS (SELECT 1 FROM payload p WHERE p.digest = c.payload) "
        "AND (?1 = 0 OR c.height + ?1 >= (SELECT max(m.height) FROM certificate m "
        "  WHERE m.sequencer = c.sequencer)) ORDER BY c.sequencer, c.height",
};

struct _ob_journal_store_t {
    ob_db_t *db;
    sqlite3_stmt *stmt[S_COUNT];
};

ob_journal_store_t *ob_journal_store_open(const char *path, ob_db_sync_t sync, ob_why_t *why)
{
    ob_journal_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_why(why, "journal store %s: out of memory", path);
        return NULL;
    }
    self->db = ob_db_open(path, sync, false, s_migrations,
                          sizeof s_migrations / sizeof *s_migrations, why);
    if (!self->db) {
        free(self);
        return NULL;
    }
    for (int i = 0; i < S_COUNT; i++) {
        self->stmt[i] = ob_db_prepare(self->db, s_sql[i]);
        if (!self->stmt[i]) {
            ob_why(why, "journal store %s: cannot prepare its statements", path);
            ob_journal_store_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void ob_journal_store_destroy(ob_journal_store_t **self_p)
{
    assert(self_p);
    ob_journal_store_t *self = *self_p;
    if (!self)
        return;
    ob_db_close(&self->db);
    free(self);
    *self_p = NULL;
}

int ob_journal_store_begin(ob_journal_store_t *self)
{
    return ob_db_begin(self->db);
}

int ob_journal_store_commit(ob_journal_store_t *self)
{
    return ob_db_commit(self->db);
}

int ob_journal_store_commit_deferred(ob_journal_store_t *self, bool *sync_due)
{
    return ob_db_commit_deferred(self->db, sync_due);
}

int ob_journal_store_sync(ob_journal_store_t *self)
{
    return ob_db_sync(self->db);
}

void ob_journal_store_lazy(ob_journal_store_t *self)
{
    ob_db_lazy(self->db);
}

int ob_journal_store_epoch(ob_journal_store_t *self, uint64_t *epoch)
{
    sqlite3_stmt *stmt = self->stmt[S_EPOCH];
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (result == 1)
        *epoch = (uint64_t)sqlite3_column_int64(stmt, 0);
    ob_db_finish(stmt);
    return result;
}

int ob_journal_store_set_epoch(ob_journal_store_t *self, uint64_t epoch)
{
    sqlite3_bind_int64(self->stmt[S_SET_EPOCH], 1, (sqlite3_int64)epoch);
    return ob_db_step_done(self->db, self->stmt[S_SET_EPOCH]);
}

int ob_journal_store_tips(ob_journal_store_t *self, ob_tip_fn *each, void *ctx)
{
    sqlite3_stmt *stmt = self->stmt[S_TIPS];
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(stmt, 0) != 32 || sqlite3_column_bytes(stmt, 2) != 32)
            continue; /* the schema's CHECK makes this unreachable */
        each(ctx, sqlite3_column_blob(stmt, 0), (uint64_t)sqlite3_column_int64(stmt, 1),
             sqlite3_column_blob(stmt, 2));
    }
    ob_db_finish(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int ob_journal_store_raise_tip(ob_journal_store_t *self, const uint8_t sequencer[32],
                               uint64_t height, const uint8_t payload[32])
{
    sqlite3_stmt *stmt = self->stmt[S_RAISE_TIP];
    sqlite3_bind_blob(stmt, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)height);
    sqlite3_bind_blob(stmt, 3, payload, 32, SQLITE_STATIC);
    if (ob_db_step_done(self->db, stmt) != 0)
        return -1;
    return sqlite3_changes(ob_db_handle(self->db)) == 1 ? 1 : 0;
}

int ob_journal_store_put_node(ob_journal_store_t *self, const uint8_t sequencer[32],
                              uint64_t height, const uint8_t payload[32], const uint8_t *node,
                              size_t len)
{
    sqlite3_stmt *stmt = self->stmt[S_PUT_NODE];
    sqlite3_bind_blob(stmt, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)height);
    sqlite3_bind_blob(stmt, 3, payload, 32, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 4, node, (int)len, SQLITE_STATIC);
    return ob_db_step_done(self->db, stmt);
}

int ob_journal_store_node(ob_journal_store_t *self, const uint8_t sequencer[32], uint64_t height,
                          uint8_t **node, size_t *len)
{
    sqlite3_stmt *stmt = self->stmt[S_NODE];
    sqlite3_bind_blob(stmt, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)height);
    return ob_db_blob_row(stmt, node, len);
}

int ob_journal_store_put_payload(ob_journal_store_t *self, const uint8_t digest[32],
                                 const uint8_t *data, size_t len)
{
    sqlite3_stmt *stmt = self->stmt[S_PUT_PAYLOAD];
    sqlite3_bind_blob(stmt, 1, digest, 32, SQLITE_STATIC);
    /* A zero-length blob binds as NULL with a NULL pointer; keep it a blob. */
    sqlite3_bind_blob(stmt, 2, len ? (const void *)data : (const void *)"", (int)len,
                      SQLITE_STATIC);
    return ob_db_step_done(self->db, stmt);
}

int ob_journal_store_payload(ob_journal_store_t *self, const uint8_t digest[32], uint8_t **data,
                             size_t *len)
{
    sqlite3_stmt *stmt = self->stmt[S_PAYLOAD];
    sqlite3_bind_blob(stmt, 1, digest, 32, SQLITE_STATIC);
    return ob_db_blob_row(stmt, data, len);
}

int ob_journal_store_has_payload(ob_journal_store_t *self, const uint8_t digest[32])
{
    sqlite3_stmt *stmt = self->stmt[S_HAS_PAYLOAD];
    sqlite3_bind_blob(stmt, 1, digest, 32, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    int found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (found < 0)
        ob_error("database %s: %s", ob_db_path(self->db), sqlite3_errmsg(ob_db_handle(self->db)));
    ob_db_finish(stmt);
    return found;
}

int ob_journal_store_prune_payloads(ob_journal_store_t *self, const uint8_t sequencer[32],
                                    uint64_t from, uint64_t to)
{
    assert(from <= to && to <= INT64_MAX);
    sqlite3_stmt *stmt = self->stmt[S_PRUNE];
    sqlite3_bind_blob(stmt, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)from);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)to);
    if (ob_db_step_done(self->db, stmt) != 0)
        return -1;
    int pruned = sqlite3_changes(ob_db_handle(self->db));
    ob_db_lazy(self->db); /* bytes left behind by a power loss cost disk, never safety */
    return pruned;
}

int ob_journal_store_pin_proposal(ob_journal_store_t *self, uint64_t height,
                                  const uint8_t payload[32])
{
    if (height > 0) {
        sqlite3_bind_int64(self->stmt[S_UNPIN], 1, (sqlite3_int64)(height - 1));
        if (ob_db_step_done(self->db, self->stmt[S_UNPIN]) != 0)
            return -1;
    }
    sqlite3_stmt *stmt = self->stmt[S_PIN];
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)height);
    sqlite3_bind_blob(stmt, 2, payload, 32, SQLITE_STATIC);
    return ob_db_step_done(self->db, stmt);
}

int ob_journal_store_unpin_proposals(ob_journal_store_t *self, uint64_t height)
{
    sqlite3_bind_int64(self->stmt[S_UNPIN], 1, (sqlite3_int64)height);
    return ob_db_step_done(self->db, self->stmt[S_UNPIN]);
}

void ob_journal_store_want_durable(ob_journal_store_t *self)
{
    ob_db_want_durable(self->db);
}

uint64_t ob_journal_store_durable_commits(const ob_journal_store_t *self)
{
    return ob_db_durable_commits(self->db);
}

int ob_journal_store_put_certificate(ob_journal_store_t *self, const uint8_t sequencer[32],
                                     uint64_t height, const uint8_t payload[32], uint64_t epoch,
                                     const uint8_t *lock, size_t len)
{
    sqlite3_stmt *stmt = self->stmt[S_PUT_CERT];
    sqlite3_bind_blob(stmt, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)height);
    sqlite3_bind_blob(stmt, 3, payload, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, (sqlite3_int64)epoch);
    sqlite3_bind_blob(stmt, 5, lock, (int)len, SQLITE_STATIC);
    if (ob_db_step_done(self->db, stmt) != 0)
        return -1;
    int added = sqlite3_changes(ob_db_handle(self->db)) == 1 ? 1 : 0;
    /* A write like any other: under durability = "power" its commit is
       synced before the Lock is reported, so a reported Lock survives a
       power cut (issue 12; it used to be lazy, and the simulator's power
       cuts lost reported Locks). Under "process" it is not synced of its
       own: one lost comes back as the parent of the chain's next node, or
       by the sequencer's rebroadcast. */
    return added;
}

int ob_journal_store_certificate(ob_journal_store_t *self, const uint8_t sequencer[32],
                                 uint64_t height, uint8_t **lock, size_t *len)
{
    sqlite3_stmt *stmt = self->stmt[S_CERT];
    sqlite3_bind_blob(stmt, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)height);
    return ob_db_blob_row(stmt, lock, len);
}

int ob_journal_store_put_evidence(ob_journal_store_t *self, const uint8_t sequencer[32],
                                  uint64_t height, ob_evidence_kind_t kind, const uint8_t *first,
                                  size_t first_len, const uint8_t *second, size_t second_len)
{
    sqlite3_stmt *stmt = self->stmt[S_PUT_EVIDENCE];
    sqlite3_bind_blob(stmt, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)height);
    sqlite3_bind_int(stmt, 3, (int)kind);
    sqlite3_bind_blob(stmt, 4, first, (int)first_len, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 5, second, (int)second_len, SQLITE_STATIC);
    if (ob_db_step_done(self->db, stmt) != 0)
        return -1;
    return sqlite3_changes(ob_db_handle(self->db)) == 1 ? 1 : 0;
}

int ob_journal_store_each_certificate(ob_journal_store_t *self, ob_lock_fn *each, void *ctx)
{
    sqlite3_stmt *stmt = self->stmt[S_EACH_CERT];
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        each(ctx, sqlite3_column_blob(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0));
    ob_db_finish(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int64_t ob_journal_store_count(ob_journal_store_t *self, const char *table)
{
    /* Only our own table names reach here; never input. */
    assert(strcmp(table, "tip") == 0 || strcmp(table, "node") == 0 ||
           strcmp(table, "payload") == 0 || strcmp(table, "certificate") == 0 ||
           strcmp(table, "evidence") == 0);
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    sqlite3_stmt *stmt = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(ob_db_handle(self->db), sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

int ob_journal_store_mark_delivered(ob_journal_store_t *self, const uint8_t sequencer[32],
                                    uint64_t height, const uint8_t payload[32])
{
    sqlite3_stmt *stmt = self->stmt[S_DELIVERED];
    sqlite3_bind_blob(stmt, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)height);
    sqlite3_bind_blob(stmt, 3, payload, 32, SQLITE_STATIC);
    int rc = ob_db_step_done(self->db, stmt);
    /* A mark lost in a power loss only reports that Lock again (at least
       once): it costs no fsync of its own. */
    if (rc == 0)
        ob_db_lazy(self->db);
    return rc;
}

int ob_journal_store_each_undelivered(ob_journal_store_t *self, uint32_t limit, ob_lock_fn *each,
                                      void *ctx)
{
    sqlite3_stmt *stmt = self->stmt[S_UNDELIVERED];
    sqlite3_bind_int64(stmt, 1, limit);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        each(ctx, sqlite3_column_blob(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0));
    ob_db_finish(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* A gap is from(u64) ‖ to(u64) ‖ passes(u8). */
int ob_journal_store_certificate_range(ob_journal_store_t *self, const uint8_t sequencer[32],
                                       uint64_t from, uint64_t to, ob_cert_row_fn *each, void *ctx)
{
    assert(from <= to && to <= INT64_MAX);
    sqlite3_stmt *stmt = self->stmt[S_CERT_RANGE];
    sqlite3_bind_blob(stmt, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)from);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)to);
    int rc;
    bool any = false;
    uint64_t last = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        uint64_t height = (uint64_t)sqlite3_column_int64(stmt, 0);
        if (any && height == last)
            continue; /* a second certificate there: the first one speaks */
        any = true;
        last = height;
        bool held = sqlite3_column_type(stmt, 2) != SQLITE_NULL;
        each(ctx, height, sqlite3_column_blob(stmt, 1), (size_t)sqlite3_column_bytes(stmt, 1),
             held ? sqlite3_column_blob(stmt, 2) : NULL,
             held ? (size_t)sqlite3_column_bytes(stmt, 2) : 0, held);
    }
    ob_db_finish(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int ob_journal_store_highest_certificate_above(ob_journal_store_t *self,
                                               const uint8_t sequencer[32], uint64_t above,
                                               uint8_t **lock, size_t *len)
{
    sqlite3_stmt *stmt = self->stmt[S_CERT_HIGHEST_ABOVE];
    sqlite3_bind_blob(stmt, 1, sequencer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)(above > INT64_MAX ? INT64_MAX : above));
    return ob_db_blob_row(stmt, lock, len);
}

/* Rows of (sequencer, a, b) with a 32-byte sequencer. */
static int s_each_span(sqlite3_stmt *stmt, ob_span_fn *each, void *ctx)
{
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(stmt, 0) != 32)
            continue;
        each(ctx, sqlite3_column_blob(stmt, 0), (uint64_t)sqlite3_column_int64(stmt, 1),
             (uint64_t)sqlite3_column_int64(stmt, 2));
    }
    ob_db_finish(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int ob_journal_store_certificate_spans(ob_journal_store_t *self, ob_span_fn *each, void *ctx)
{
    return s_each_span(self->stmt[S_CERT_SPANS], each, ctx);
}

int ob_journal_store_certificate_gaps(ob_journal_store_t *self, ob_span_fn *each, void *ctx)
{
    return s_each_span(self->stmt[S_CERT_GAPS], each, ctx);
}

int ob_journal_store_certificates_without_payload(ob_journal_store_t *self, uint64_t retention,
                                                  ob_span_fn *each, void *ctx)
{
    sqlite3_stmt *stmt = self->stmt[S_CERT_NO_PAYLOAD];
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)(retention > INT64_MAX ? INT64_MAX : retention));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(stmt, 0) != 32)
            continue;
        uint64_t height = (uint64_t)sqlite3_column_int64(stmt, 1);
        each(ctx, sqlite3_column_blob(stmt, 0), height, height);
    }
    ob_db_finish(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

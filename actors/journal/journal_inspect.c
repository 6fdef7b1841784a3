#include "journal_inspect.h"

#include "event.h"

#include "hex.h"

#include "../proto/wire.h"

#include <sqlite3.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_EXIT_FAILED 1
#define S_EXIT_USAGE  2
/* JSON numbers are exact below 2^53; at or above, SPEC §2 writes strings. */
#define S_JSON_EXACT (UINT64_C(1) << 53)
/* How long a reader waits for the journal's writer (WAL checkpoints). */
#define S_BUSY_MS 5000

static const char *s_usage = "tips | show SEQ HEIGHT | export [--data] | metrics [--timeout MS]";

/* --- the database, read-only --------------------------------------------- */

/* Opens an existing journal database for reading. Never creates it: a
   missing file is an error naming the path. */
static sqlite3 *s_open(const char *path, ob_why_t *why)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        ob_why(why, "journal database %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        ob_why(why, "journal database %s: not a regular file", path);
        return NULL;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        ob_why(why, "journal database %s: cannot open: %s", path,
               db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close_v2(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, S_BUSY_MS);
    sqlite3_stmt *stmt = NULL;
    int tables = -1;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                           "('tip', 'node', 'payload', 'certificate')",
                           -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        tables = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    if (tables != 4) {
        if (tables < 0)
            ob_why(why, "journal database %s: cannot read: %s", path, sqlite3_errmsg(db));
        else
            ob_why(why, "journal database %s: not a journal database", path);
        sqlite3_close_v2(db);
        return NULL;
    }
    return db;
}

/* One read transaction: every query of a command sees one snapshot. */
static int s_begin(sqlite3 *db, const char *path, ob_why_t *why)
{
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return ob_why(why, "journal database %s: %s", path, sqlite3_errmsg(db));
    return 0;
}

static void s_close(sqlite3 **db_p)
{
    if (*db_p) {
        if (!sqlite3_get_autocommit(*db_p))
            sqlite3_exec(*db_p, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close_v2(*db_p);
        *db_p = NULL;
    }
}

static sqlite3_stmt *s_prepare(sqlite3 *db, const char *sql, const char *path, ob_why_t *why)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        ob_why(why, "journal database %s: %s", path, sqlite3_errmsg(db));
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

/* A decoding bound for when no manifest is at hand: the wire's own. */
static bool s_any_size(const void *ctx, uint64_t epoch, uint16_t *validator_count)
{
    (void)ctx;
    (void)epoch;
    *validator_count = OB_MAX_VALIDATORS;
    return true;
}

static ob_epoch_lookup_t s_lookup(const ob_epochs_t *epochs)
{
    if (epochs)
        return ob_epochs_lookup(epochs);
    return (ob_epoch_lookup_t){.size_of = s_any_size, .ctx = NULL};
}

/* --- output helpers ------------------------------------------------------ */

/* Lowercase hex of `len` bytes (with `prefix_len` bytes of `prefix`
   first), as a JSON string; NULL without memory. */
static json_t *s_json_hex(const uint8_t *prefix, size_t prefix_len, const uint8_t *data, size_t len)
{
    char *hex = malloc(2 * (prefix_len + len) + 1);
    if (!hex)
        return NULL;
    ob_hex_encode(prefix, prefix_len, hex);
    ob_hex_encode(data, len, hex + 2 * prefix_len);
    json_t *value = json_stringn(hex, 2 * (prefix_len + len));
    free(hex);
    return value;
}

/* A height or epoch: a number below 2^53, a decimal string from there
   (SPEC §2 "JSON"), since JSON readers keep integers exact below 2^53
   only. */
static json_t *s_json_u64(uint64_t v)
{
    char decimal[24];
    snprintf(decimal, sizeof decimal, "%" PRIu64, v);
    return v < S_JSON_EXACT ? json_integer((json_int_t)v) : json_string(decimal);
}

/* A certificate's bytes (SPEC §2): its count, then its entries. */
static json_t *s_json_cert(const ob_cert_t *cert)
{
    uint8_t count[2] = {(uint8_t)(cert->count >> 8), (uint8_t)cert->count};
    return s_json_hex(count, 2, cert->entries, (size_t)cert->count * OB_CERT_ENTRY_LEN);
}

static void s_signers_out(FILE *out, const ob_cert_t *cert)
{
    for (uint16_t i = 0; i < cert->count; i++)
        fprintf(out, "%s%u", i ? "," : "", (unsigned)ob_cert_signer(cert, i));
}

/* The manifest's name for a key, or the key in hex. */
static const char *s_name(const ob_manifest_t *manifest, const uint8_t key[32], char hex[65])
{
    const ob_manifest_node_t *node = manifest ? ob_manifest_node_with_key(manifest, key) : NULL;
    if (node)
        return node->name;
    ob_hex_encode(key, 32, hex);
    return hex;
}

/* --- export -------------------------------------------------------------- */

static int s_export_row(sqlite3_stmt *stmt, const ob_epoch_lookup_t *lookup, bool with_data,
                        FILE *out, const char *path, ob_why_t *why)
{
    const uint8_t *bytes = sqlite3_column_blob(stmt, 0);
    size_t len = (size_t)sqlite3_column_bytes(stmt, 0);
    ob_lock_t lock;
    ob_error_t rc = ob_lock_decode(&lock, bytes, len, lookup);
    if (rc != OB_OK)
        return ob_why(why, "journal database %s: a certificate does not decode: %s", path,
                      ob_error_name(rc));
    ob_node_t node;
    bool parent = false;
    if (sqlite3_column_type(stmt, 1) != SQLITE_NULL) {
        rc = ob_node_decode(&node, sqlite3_column_blob(stmt, 1),
                            (size_t)sqlite3_column_bytes(stmt, 1), lookup);
        if (rc != OB_OK) {
            char hex[65];
            ob_hex_encode(lock.chunk.sequencer, 32, hex);
            return ob_why(
                why, "journal database %s: the node at %s height %" PRIu64 " does not decode: %s",
                path, hex, lock.chunk.height, ob_error_name(rc));
        }
        /* Only the certified chunk's own node speaks for its parent: a
           conflicting node held there (evidence) does not. */
        parent = node.has_parent && memcmp(&node.chunk, &lock.chunk, sizeof node.chunk) == 0;
    }
    /* One line, its members in the order SPEC §7 gives them. */
    json_t *line = json_pack("{s:o, s:o, s:o, s:o, s:o}", "sequencer",
                             s_json_hex(NULL, 0, lock.chunk.sequencer, 32), "height",
                             s_json_u64(lock.chunk.height), "payload",
                             s_json_hex(NULL, 0, lock.chunk.payload, 32), "epoch",
                             s_json_u64(lock.epoch), "certificate", s_json_cert(&lock.cert));
    if (line && parent)
        json_object_set_new(line, "parent",
                            json_pack("{s:o, s:o, s:o}", "payload",
                                      s_json_hex(NULL, 0, node.parent.digest, 32), "epoch",
                                      s_json_u64(node.parent.epoch), "certificate",
                                      s_json_cert(&node.parent.cert)));
    if (line && with_data) {
        if (sqlite3_column_type(stmt, 2) == SQLITE_NULL)
            json_object_set_new(line, "data_pruned", json_true());
        else
            json_object_set_new(line, "data",
                                s_json_hex(NULL, 0, sqlite3_column_blob(stmt, 2),
                                           (size_t)sqlite3_column_bytes(stmt, 2)));
    }
    char *text = ob_event_dump(&line);
    if (!text)
        return ob_why(why, "journal database %s: out of memory for an export line", path);
    int written = fprintf(out, "%s\n", text);
    free(text);
    return written < 0 ? ob_why(why, "cannot write the export: %s", strerror(errno)) : 0;
}

int ob_journal_export(const char *db_path, const ob_epochs_t *epochs, bool with_data, FILE *out,
                      ob_why_t *why)
{
    sqlite3 *db = s_open(db_path, why);
    if (!db)
        return -1;
    static const char *const sql[2] = {
        "SELECT c.lock, n.node FROM certificate c "
        "LEFT JOIN node n ON n.sequencer = c.sequencer AND n.height = c.height "
        "ORDER BY c.sequencer, c.height, c.seq",
        "SELECT c.lock, n.node, p.data FROM certificate c "
        "LEFT JOIN node n ON n.sequencer = c.sequencer AND n.height = c.height "
        "LEFT JOIN payload p ON p.digest = c.payload "
        "ORDER BY c.sequencer, c.height, c.seq",
    };
    ob_epoch_lookup_t lookup = s_lookup(epochs);
    int result = s_begin(db, db_path, why);
    sqlite3_stmt *stmt = result == 0 ? s_prepare(db, sql[with_data], db_path, why) : NULL;
    if (!stmt)
        result = -1;
    int rc = SQLITE_DONE;
    while (result == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        result = s_export_row(stmt, &lookup, with_data, out, db_path, why);
    if (result == 0 && rc != SQLITE_DONE)
        result = ob_why(why, "journal database %s: %s", db_path, sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    s_close(&db);
    if (result == 0 && (fflush(out) != 0 || ferror(out)))
        result = ob_why(why, "cannot write the export: %s", strerror(errno));
    return result;
}

/* --- tips ---------------------------------------------------------------- */

typedef struct {
    uint8_t sequencer[32];
    bool has_tip, has_certified;
    uint64_t height, certified;
    uint8_t payload[32];
    size_t rank; /* its place in the manifest; past every node if it is none */
} s_tip_row_t;

static int s_by_rank(const void *a, const void *b)
{
    const s_tip_row_t *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return memcmp(x->sequencer, y->sequencer, 32);
}

static size_t s_rank(const ob_manifest_t *manifest, const uint8_t key[32])
{
    size_t count = manifest ? ob_manifest_node_count(manifest) : 0;
    for (size_t i = 0; i < count; i++)
        if (memcmp(ob_manifest_node(manifest, i)->key, key, 32) == 0)
            return i;
    return count;
}

/* In the manifest's order of nodes, which is how operators number them;
   keys of no node come last. */
static int s_tips(sqlite3 *db, const char *path, const ob_manifest_t *manifest, FILE *out,
                  FILE *err, ob_why_t *why)
{
    sqlite3_stmt *stmt =
        s_prepare(db,
                  "SELECT s.sequencer, t.height, t.payload, "
                  "  (SELECT max(c.height) FROM certificate c WHERE c.sequencer = s.sequencer) "
                  "FROM (SELECT sequencer FROM tip UNION SELECT sequencer FROM certificate) s "
                  "LEFT JOIN tip t ON t.sequencer = s.sequencer ORDER BY s.sequencer",
                  path, why);
    if (!stmt)
        return -1;
    s_tip_row_t *rows = NULL;
    size_t count = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(stmt, 0) != 32)
            continue;
        if (count == cap) {
            size_t grown_cap = cap ? cap * 2 : 64;
            s_tip_row_t *grown = realloc(rows, grown_cap * sizeof *grown);
            if (!grown) {
                free(rows);
                sqlite3_finalize(stmt);
                return ob_why(why, "journal database %s: out of memory", path);
            }
            rows = grown;
            cap = grown_cap;
        }
        s_tip_row_t *row = &rows[count++];
        memset(row, 0, sizeof *row);
        memcpy(row->sequencer, sqlite3_column_blob(stmt, 0), 32);
        row->rank = s_rank(manifest, row->sequencer);
        if (sqlite3_column_type(stmt, 1) != SQLITE_NULL && sqlite3_column_bytes(stmt, 2) == 32) {
            row->has_tip = true;
            row->height = (uint64_t)sqlite3_column_int64(stmt, 1);
            memcpy(row->payload, sqlite3_column_blob(stmt, 2), 32);
        }
        if (sqlite3_column_type(stmt, 3) != SQLITE_NULL) {
            row->has_certified = true;
            row->certified = (uint64_t)sqlite3_column_int64(stmt, 3);
        }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        free(rows);
        return ob_why(why, "journal database %s: %s", path, sqlite3_errmsg(db));
    }
    if (count > 1)
        qsort(rows, count, sizeof *rows, s_by_rank);
    for (size_t i = 0; i < count; i++) {
        const s_tip_row_t *row = &rows[i];
        char hex[65];
        fprintf(out, "%s tip ", s_name(manifest, row->sequencer, hex));
        if (row->has_tip) {
            ob_hex_encode(row->payload, 32, hex);
            fprintf(out, "%" PRIu64 " payload %s", row->height, hex);
        } else {
            fputs("- payload -", out);
        }
        if (row->has_certified)
            fprintf(out, " certified %" PRIu64 "\n", row->certified);
        else
            fputs(" certified -\n", out);
    }
    /* On stderr: stdout stays one line per sequencer for scripts. */
    if (count == 0)
        fprintf(err, "obcast-journal: tips: %s holds no chunks yet (no tip, no certificate)\n",
                path);
    free(rows);
    return 0;
}

/* --- show ---------------------------------------------------------------- */

/* A strict decimal u64 that SQLite's signed integers can hold. */
static int s_parse_height(const char *text, uint64_t *out)
{
    if (!*text || strlen(text) > 19)
        return -1;
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX || (text[0] == '0' && text[1]))
        return -1;
    *out = v;
    return 0;
}

static void s_bind_key(sqlite3_stmt *stmt, const uint8_t key[32], uint64_t height)
{
    sqlite3_bind_blob(stmt, 1, key, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)height);
}

static void s_show_node(const ob_node_t *node, FILE *out)
{
    char hex[129];
    fputs("node held\n", out);
    ob_hex_encode(node->signature, 64, hex);
    fprintf(out, "signature %s\n", hex);
    if (!node->has_parent) {
        fputs("parent none\n", out);
        return;
    }
    ob_hex_encode(node->parent.digest, 32, hex);
    fprintf(out, "parent payload %s epoch %" PRIu64 " signers ", hex, node->parent.epoch);
    s_signers_out(out, &node->parent.cert);
    fputc('\n', out);
}

/* The certificates held at (key, height): how many, and the first one's
   payload digest. 0 or -1. */
static int s_count_certs(sqlite3_stmt *stmt, const ob_epoch_lookup_t *lookup, size_t *count,
                         uint8_t payload[32], const char *path, ob_why_t *why)
{
    int rc;
    *count = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        ob_lock_t lock;
        ob_error_t err = ob_lock_decode(&lock, sqlite3_column_blob(stmt, 0),
                                        (size_t)sqlite3_column_bytes(stmt, 0), lookup);
        if (err != OB_OK) {
            sqlite3_reset(stmt);
            return ob_why(why, "journal database %s: a certificate does not decode: %s", path,
                          ob_error_name(err));
        }
        if ((*count)++ == 0)
            memcpy(payload, lock.chunk.payload, 32);
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? 0 : ob_why(why, "journal database %s: cannot read", path);
}

static int s_show(sqlite3 *db, const char *path, const ob_manifest_t *manifest,
                  const uint8_t key[32], uint64_t height, FILE *out, ob_why_t *why)
{
    ob_epoch_lookup_t lookup = s_lookup(manifest ? ob_manifest_epochs(manifest) : NULL);
    static const char *const sql[4] = {
        "SELECT node FROM node WHERE sequencer = ?1 AND height = ?2",
        "SELECT lock FROM certificate WHERE sequencer = ?1 AND height = ?2 ORDER BY seq",
        "SELECT length(data) FROM payload WHERE digest = ?1",
        "SELECT height FROM tip WHERE sequencer = ?1",
    };
    sqlite3_stmt *stmt[4] = {NULL};
    int result = 0;
    for (int i = 0; i < 4 && result == 0; i++)
        if (!(stmt[i] = s_prepare(db, sql[i], path, why)))
            result = -1;
    char hex[129], name_hex[65];
    const char *name = s_name(manifest, key, name_hex);

    /* The node held there, if any, and the certificates. */
    ob_node_t node;
    bool have_node = false;
    size_t certs = 0;
    uint8_t payload[32];
    int rc = SQLITE_DONE;
    if (result == 0) {
        s_bind_key(stmt[0], key, height);
        rc = sqlite3_step(stmt[0]);
        if (rc == SQLITE_ROW) {
            ob_error_t err = ob_node_decode(&node, sqlite3_column_blob(stmt[0], 0),
                                            (size_t)sqlite3_column_bytes(stmt[0], 0), &lookup);
            if (err != OB_OK)
                result = ob_why(why, "journal database %s: the node does not decode: %s", path,
                                ob_error_name(err));
            have_node = err == OB_OK;
        } else if (rc != SQLITE_DONE) {
            result = ob_why(why, "journal database %s: %s", path, sqlite3_errmsg(db));
        }
    }
    if (result == 0) {
        s_bind_key(stmt[1], key, height);
        result = s_count_certs(stmt[1], &lookup, &certs, payload, path, why);
    }
    if (result == 0 && !have_node && certs == 0)
        result = ob_why(why, "%s height %" PRIu64 ": no node or certificate held", name, height);
    if (result == 0) {
        if (have_node)
            memcpy(payload, node.chunk.payload, 32);
        fprintf(out, "sequencer %s\n", name);
        ob_hex_encode(key, 32, hex);
        fprintf(out, "key %s\nheight %" PRIu64 "\n", hex, height);
        ob_hex_encode(payload, 32, hex);
        fprintf(out, "payload %s\n", hex);
        if (have_node)
            s_show_node(&node, out);
        else
            fputs("node not held\n", out);
        /* Each certificate, in the order they were committed: more than
           one when a later epoch certified it again, or a conflict was
           recorded as evidence. */
        fprintf(out, "certified %s\n", certs ? "yes" : "no");
        while ((rc = sqlite3_step(stmt[1])) == SQLITE_ROW) {
            ob_lock_t lock;
            if (ob_lock_decode(&lock, sqlite3_column_blob(stmt[1], 0),
                               (size_t)sqlite3_column_bytes(stmt[1], 0), &lookup) != OB_OK)
                continue; /* refused above */
            ob_hex_encode(lock.chunk.payload, 32, hex);
            fprintf(out, "certificate epoch %" PRIu64 " payload %s signers ", lock.epoch, hex);
            s_signers_out(out, &lock.cert);
            fputc('\n', out);
        }
        if (rc != SQLITE_DONE)
            result = ob_why(why, "journal database %s: %s", path, sqlite3_errmsg(db));
    }
    /* The payload bytes, unless retention pruned them. */
    if (result == 0) {
        sqlite3_bind_blob(stmt[2], 1, payload, 32, SQLITE_STATIC);
        rc = sqlite3_step(stmt[2]);
        if (rc == SQLITE_ROW)
            fprintf(out, "payload_bytes %" PRId64 "\n", (int64_t)sqlite3_column_int64(stmt[2], 0));
        else if (rc == SQLITE_DONE)
            fputs("payload_bytes pruned\n", out);
        else
            result = ob_why(why, "journal database %s: %s", path, sqlite3_errmsg(db));
    }
    /* Where the sequencer's tip stands. */
    if (result == 0) {
        sqlite3_bind_blob(stmt[3], 1, key, 32, SQLITE_STATIC);
        rc = sqlite3_step(stmt[3]);
        if (rc == SQLITE_ROW)
            fprintf(out, "tip %" PRIu64 "\n", (uint64_t)sqlite3_column_int64(stmt[3], 0));
        else if (rc == SQLITE_DONE)
            fputs("tip -\n", out);
        else
            result = ob_why(why, "journal database %s: %s", path, sqlite3_errmsg(db));
    }
    for (int i = 0; i < 4; i++)
        sqlite3_finalize(stmt[i]);
    return result;
}

/* --- the command --------------------------------------------------------- */

static int s_usage_error(FILE *err, const char *what)
{
    fprintf(err, "obcast-journal: %s\nusage: obcast-journal [options] %s\n", what, s_usage);
    return S_EXIT_USAGE;
}

static int s_failed(FILE *err, const char *command, const ob_why_t *why)
{
    fprintf(err, "obcast-journal: %s: %s\n", command, why->text);
    return S_EXIT_FAILED;
}

int ob_journal_inspect(const ob_node_config_t *config, const ob_manifest_t *manifest, int argc,
                       char **argv, FILE *out, FILE *err)
{
    if (argc < 1 || !argv[0])
        return s_usage_error(err, "no command given");
    const char *command = argv[0];
    bool with_data = false;
    uint8_t key[32];
    uint64_t height = 0;
    if (strcmp(command, "tips") == 0) {
        if (argc != 1)
            return s_usage_error(err, "tips: takes no arguments");
    } else if (strcmp(command, "export") == 0) {
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--data") == 0)
                with_data = true;
            else
                return s_usage_error(err, "export: unknown argument (only --data)");
        }
    } else if (strcmp(command, "show") == 0) {
        if (argc != 3)
            return s_usage_error(err, "show: give SEQ and HEIGHT");
        const ob_manifest_node_t *named =
            manifest ? ob_manifest_node_named(manifest, argv[1]) : NULL;
        if (named)
            memcpy(key, named->key, 32);
        else if (strlen(argv[1]) != 64 || ob_hex_decode_exact(argv[1], key, 32) != 0) {
            fprintf(err,
                    "obcast-journal: show: '%s' is neither a node of the manifest nor a 64-hex "
                    "key\n",
                    argv[1]);
            return S_EXIT_USAGE;
        }
        if (s_parse_height(argv[2], &height) != 0) {
            fprintf(err, "obcast-journal: show: HEIGHT must be a decimal height, not '%s'\n",
                    argv[2]);
            return S_EXIT_USAGE;
        }
    } else {
        char what[160];
        snprintf(what, sizeof what, "unknown command '%.100s'", command);
        return s_usage_error(err, what);
    }

    ob_why_t why = {{0}};
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/journal.db", config->data_dir);
    if (n < 0 || n >= (int)sizeof path) {
        ob_why(&why, "data_dir %s: path too long", config->data_dir);
        return s_failed(err, command, &why);
    }
    if (strcmp(command, "export") == 0) {
        if (ob_journal_export(path, manifest ? ob_manifest_epochs(manifest) : NULL, with_data, out,
                              &why) != 0)
            return s_failed(err, command, &why);
        return 0;
    }
    sqlite3 *db = s_open(path, &why);
    int rc = db ? s_begin(db, path, &why) : -1;
    if (rc == 0 && strcmp(command, "tips") == 0)
        rc = s_tips(db, path, manifest, out, err, &why);
    else if (rc == 0)
        rc = s_show(db, path, manifest, key, height, out, &why);
    s_close(&db);
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = ob_why(&why, "cannot write: %s", strerror(errno));
    return rc == 0 ? 0 : s_failed(err, command, &why);
}

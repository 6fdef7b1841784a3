#include "signer_inspect.h"

#include "crypto.h"
#include "hex.h"
#include "keyfile.h"

#include "../proto/wire.h"

#include <sqlite3.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_EXIT_FAILED 1
#define S_EXIT_USAGE  2
/* The running signer never lets go of its lock, so waiting long for it is
   pointless; a short wait covers a signer that is just closing. */
#define S_BUSY_MS 200

static const char *s_usage = "pubkey | history [--limit N]";

static int s_usage_error(FILE *err, const char *what)
{
    fprintf(err, "obcast-signer: %s\nusage: obcast-signer [options] %s\n", what, s_usage);
    return S_EXIT_USAGE;
}

static int s_failed(FILE *err, const char *command, const ob_why_t *why)
{
    fprintf(err, "obcast-signer: %s: %s\n", command, why->text);
    return S_EXIT_FAILED;
}

static bool s_locked(int rc)
{
    rc &= 0xff; /* the primary code of an extended one */
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

static int s_db_error(sqlite3 *db, int rc, const char *path, ob_why_t *why)
{
    if (s_locked(rc))
        return ob_why(why, "signer.db is locked by the running signer (%s)", path);
    return ob_why(why, "signer database %s: %s", path, sqlite3_errmsg(db));
}

/* Opens an existing signer.db for reading; never creates it. */
static sqlite3 *s_open(const char *path, ob_why_t *why)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        ob_why(why, "signer database %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        ob_why(why, "signer database %s: not a regular file", path);
        return NULL;
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (db)
            s_db_error(db, rc, path, why);
        else
            ob_why(why, "signer database %s: out of memory", path);
        sqlite3_close_v2(db);
        return NULL;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, S_BUSY_MS);
    sqlite3_stmt *stmt = NULL;
    int tables = -1;
    rc = sqlite3_prepare_v2(db,
                            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                            "('signed_node', 'acked')",
                            -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        tables = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    if (tables != 2) {
        if (tables < 0)
            s_db_error(db, rc, path, why);
        else
            ob_why(why, "signer database %s: not a signer database", path);
        sqlite3_close_v2(db);
        return NULL;
    }
    return db;
}

static int s_pubkey(const ob_node_config_t *config, FILE *out, ob_why_t *why)
{
    ob_crypto_t *crypto = ob_crypto_new();
    if (!crypto)
        return ob_why(why, "no entropy for a crypto context");
    ob_keypair_t pair;
    int rc = ob_keyfile_load(crypto, config->key_file, &pair, why);
    if (rc == 0) {
        char hex[65];
        ob_hex_encode(pair.pub.bytes, 32, hex);
        fprintf(out, "%s\n", hex);
        ob_keypair_wipe(&pair);
    }
    ob_crypto_destroy(&crypto);
    return rc;
}

/* Decodes a stored node with the wire's own bound on certificates. */
static bool s_any_size(const void *ctx, uint64_t epoch, uint16_t *validator_count)
{
    (void)ctx;
    (void)epoch;
    *validator_count = OB_MAX_VALIDATORS;
    return true;
}

static int s_history(sqlite3 *db, const char *path, int64_t limit, FILE *out, ob_why_t *why)
{
    static const char *const sql[2] = {
        "SELECT height, payload, node FROM "
        "(SELECT height, payload, node FROM signed_node ORDER BY height DESC LIMIT ?1) "
        "ORDER BY height",
        "SELECT sequencer, height, payload, epoch FROM "
        "(SELECT sequencer, height, payload, epoch FROM acked "
        " ORDER BY height DESC, sequencer DESC LIMIT ?1) "
        "ORDER BY sequencer, height",
    };
    ob_epoch_lookup_t lookup = {.size_of = s_any_size, .ctx = NULL};
    int result = 0;
    for (int q = 0; q < 2 && result == 0; q++) {
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v2(db, sql[q], -1, &stmt, NULL);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(stmt);
            return s_db_error(db, rc, path, why);
        }
        sqlite3_bind_int64(stmt, 1, limit);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            char hex[65], seq[65];
            if (sqlite3_column_bytes(stmt, q == 0 ? 1 : 2) != 32)
                continue; /* the schema's CHECK makes this unreachable */
            if (q == 0) {
                ob_hex_encode(sqlite3_column_blob(stmt, 1), 32, hex);
                fprintf(out, "signed height %" PRIu64 " payload %s",
                        (uint64_t)sqlite3_column_int64(stmt, 0), hex);
                ob_node_t node;
                if (ob_node_decode(&node, sqlite3_column_blob(stmt, 2),
                                   (size_t)sqlite3_column_bytes(stmt, 2), &lookup) != OB_OK)
                    fputs(" node undecodable\n", out);
                else if (node.has_parent)
                    fprintf(out, " parent_epoch %" PRIu64 "\n", node.parent.epoch);
                else
                    fputs(" genesis\n", out);
            } else {
                if (sqlite3_column_bytes(stmt, 0) != 32)
                    continue;
                ob_hex_encode(sqlite3_column_blob(stmt, 0), 32, seq);
                ob_hex_encode(sqlite3_column_blob(stmt, 2), 32, hex);
                fprintf(out, "acked sequencer %s height %" PRIu64 " payload %s epoch %" PRIu64 "\n",
                        seq, (uint64_t)sqlite3_column_int64(stmt, 1), hex,
                        (uint64_t)sqlite3_column_int64(stmt, 3));
            }
        }
        if (rc != SQLITE_DONE)
            result = s_db_error(db, rc, path, why);
        sqlite3_finalize(stmt);
    }
    return result;
}

/* A strict decimal count, 1 to INT64_MAX. */
static int s_parse_limit(const char *text, int64_t *out)
{
    if (!*text || strlen(text) > 18 || (text[0] == '0'))
        return -1;
    int64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}

int ob_signer_inspect(const ob_node_config_t *config, int argc, char **argv, FILE *out, FILE *err)
{
    if (argc < 1 || !argv[0])
        return s_usage_error(err, "no command given");
    const char *command = argv[0];
    ob_why_t why = {{0}};
    if (strcmp(command, "pubkey") == 0) {
        if (argc != 1)
            return s_usage_error(err, "pubkey: takes no arguments");
        if (s_pubkey(config, out, &why) != 0)
            return s_failed(err, command, &why);
        return fflush(out) == 0 ? 0 : S_EXIT_FAILED;
    }
    if (strcmp(command, "history") != 0) {
        char what[160];
        snprintf(what, sizeof what, "unknown command '%.100s'", command);
        return s_usage_error(err, what);
    }
    int64_t limit = -1; /* SQLite: no limit */
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            value = argv[++i];
        else if (strncmp(argv[i], "--limit=", 8) == 0)
            value = argv[i] + 8;
        else
            return s_usage_error(err, "history: unknown argument (only --limit N)");
        if (s_parse_limit(value, &limit) != 0) {
            fprintf(err, "obcast-signer: history: --limit must be a positive number, not '%s'\n",
                    value);
            return S_EXIT_USAGE;
        }
    }
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/signer.db", config->data_dir);
    if (n < 0 || n >= (int)sizeof path) {
        ob_why(&why, "data_dir %s: path too long", config->data_dir);
        return s_failed(err, command, &why);
    }
    sqlite3 *db = s_open(path, &why);
    int rc = db ? 0 : -1;
    if (rc == 0 && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        rc = s_db_error(db, sqlite3_extended_errcode(db), path, &why);
    /* Whose record this is, and whether it is all of it: obcast audit
       --history holds exports against it, and a missing record counts
       only in a complete one. */
    if (rc == 0) {
        fputs("signer ", out);
        rc = s_pubkey(config, out, &why);
    }
    if (rc == 0 && limit > 0)
        fprintf(out, "limit %" PRId64 "\n", limit);
    if (rc == 0)
        rc = s_history(db, path, limit, out, &why);
    if (db) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close_v2(db);
    }
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = ob_why(&why, "cannot write: %s", strerror(errno));
    return rc == 0 ? 0 : s_failed(err, command, &why);
}

/*  obcast audit --manifest MANIFEST [--allow-gaps] [--history FILE]... EXPORT...
    (SPEC §7).

    Checks one or several nodes' exports (ob_journal_export's JSON lines)
    with nothing but the manifest, independently of any running node:

    - the format, strictly: every line one object of exactly our fields,
      lowercase hex of the right lengths, heights and epochs as SPEC §2's
      JSON says;
    - S4: each certificate verifies against its epoch's validator set, and
      its sequencer is one of that epoch's sequencers;
    - S5: each parent certificate verifies for height-1, and names the
      payload the same file certifies at height-1;
    - S3: across every file, no two payloads certified at one (sequencer,
      height), in one epoch or across epochs;
    - contiguity: per file and sequencer, every height from 0 to the
      highest is certified (unless --allow-gaps);
    - with "data", that it hashes to the payload digest;
    - with --history (obcast-signer history of a stopped node), S1 and S2
      against what each signer recorded (audit_history.h).

    Every violation is one line on stderr, "FILE:LINE: what" (or "FILE:
    what" for a gap); the run ends with one summary line. Exit status: 0 no
    violation, 1 violations (or the manifest did not load), 2 bad usage,
    3 an EXPORT could not be read (the others are still checked). */
#include "args.h"
#include "audit_history.h"
#include "cli.h"

#include "cert.h"
#include "config.h"
#include "crypto.h"
#include "epochs.h"
#include "hex.h"
#include "keyset.h"
#include "signing.h"

#include "../proto/wire.h"

#include <errno.h>
#include <jansson.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define s_usage_error(err, ...) ob_args_usage_error(err, "obcast audit", __VA_ARGS__)

#define S_EXIT_FAILED 1
#define S_EXIT_USAGE  2
#define S_EXIT_IO     3
/* Violations printed; the rest are only counted. */
#define S_MAX_REPORTED 1000
/* JSON numbers are exact below 2^53; at or above, SPEC §2 writes strings. */
#define S_JSON_EXACT (UINT64_C(1) << 53)

static const char *s_usage =
    "usage: obcast audit --manifest MANIFEST [--allow-gaps] [--history FILE]... EXPORT...\n"
    "  checks exports (obcast export) against the manifest, alone and together:\n"
    "  the format, S3, S4, S5 and chain contiguity (SPEC §7); EXPORT - is stdin\n"
    "  --manifest MANIFEST   the cluster manifest: namespace, epochs, validator sets\n"
    "  --allow-gaps          do not require every height from 0 in each export\n"
    "  --history FILE        a signer's history (obcast-signer history, node stopped):\n"
    "                        S1 and S2 against what it recorded; repeat for each node\n"
    "exit status: 0 no violation, 1 violations found (or the manifest did not load),\n"
    "2 bad usage, 3 an EXPORT could not be opened or read (the others are still\n"
    "checked)\n";

/* One certificate seen: a line's own, or the parent a line carries. */
typedef struct {
    uint8_t sequencer[32];
    uint64_t height;
    uint8_t payload[32];
    uint64_t epoch;
    uint64_t line;
    uint32_t file;
    bool parent; /* from a line's "parent": `height` is the line's - 1 */
    bool valid;  /* its certificate verified */
} s_entry_t;

typedef struct {
    FILE *out, *err;
    ob_crypto_t *crypto;
    ob_manifest_t *manifest;
    const ob_epochs_t *epochs;
    const ob_namespace_t *ns;
    uint32_t max_payload;
    char **files;
    uint32_t file_count;
    bool allow_gaps;
    ob_audit_histories_t *histories; /* NULL without --history */
    s_entry_t *entries;
    size_t count, cap;
    uint64_t violations;
    uint64_t reported;   /* lines said: violations said once for many count once */
    uint32_t unreadable; /* EXPORTs that could not be opened or read */
    /* In the file being read: certificates of keys that are no node of
       the manifest, reported once at its end (another cluster's export
       would otherwise give a line per chunk). */
    uint64_t foreign;
    uint8_t foreign_key[32];
} s_audit_t;

static void s_violation(s_audit_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_violation(s_audit_t *self, const char *fmt, ...)
{
    self->violations++;
    if (self->reported >= S_MAX_REPORTED)
        return;
    self->reported++;
    va_list args;
    va_start(args, fmt);
    vfprintf(self->err, fmt, args);
    va_end(args);
    fputc('\n', self->err);
}

/* The manifest's name for a sequencer key, or its hex. */
static const char *s_who(const s_audit_t *self, const uint8_t key[32], char hex[65])
{
    const ob_manifest_node_t *node = ob_manifest_node_with_key(self->manifest, key);
    if (node)
        return node->name;
    ob_hex_encode(key, 32, hex);
    return hex;
}

static void s_report_line(void *ctx, const char *line)
{
    s_violation(ctx, "%s", line);
}

static const char *s_name(void *ctx, const uint8_t key[32], char hex[65])
{
    return s_who(ctx, key, hex);
}

/* ========================================================================= */
/* The line format: a strict parser for exactly what the export writes.      */
/* ========================================================================= */

typedef struct {
    const char *start, *end;
    char what[240];
} s_json_t;

typedef enum {
    S_F_SEQUENCER,
    S_F_HEIGHT,
    S_F_PAYLOAD,
    S_F_EPOCH,
    S_F_CERTIFICATE,
    S_F_PARENT,
    S_F_DATA,
    S_F_DATA_PRUNED,
    S_F_COUNT
} s_field_t;

static const char *const s_fields[S_F_COUNT] = {
    [S_F_SEQUENCER] = "sequencer", [S_F_HEIGHT] = "height",           [S_F_PAYLOAD] = "payload",
    [S_F_EPOCH] = "epoch",         [S_F_CERTIFICATE] = "certificate", [S_F_PARENT] = "parent",
    [S_F_DATA] = "data",           [S_F_DATA_PRUNED] = "data_pruned",
};

typedef struct {
    uint8_t sequencer[32];
    uint64_t height;
    uint8_t payload[32];
    uint64_t epoch;
    uint8_t *cert;
    size_t cert_len;
    bool has_parent;
    uint8_t parent_payload[32];
    uint64_t parent_epoch;
    uint8_t *parent_cert;
    size_t parent_cert_len;
    bool has_data;
    uint8_t *data;
    size_t data_len;
    bool data_pruned;
} s_line_t;

static void s_line_free(s_line_t *line)
{
    free(line->cert);
    free(line->parent_cert);
    free(line->data);
    memset(line, 0, sizeof *line);
}

static int s_fail(s_json_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int s_fail(s_json_t *j, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(j->what, sizeof j->what, fmt, args);
    va_end(args);
    /* It quotes the input (a key, jansson's "near" text): a control
       character there must not start a line of its own or steer a
       terminal. */
    for (char *c = j->what; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return -1;
}

/* Lowercase hex of an even length, its bytes into a fresh buffer (one
   byte at least, so that empty hex is a buffer too). */
static int s_hex_bytes(s_json_t *j, const char *field, json_t *value, uint8_t **out,
                       size_t *out_len)
{
    if (!json_is_string(value))
        return s_fail(j, "%s: expected a string", field);
    const char *s = json_string_value(value);
    size_t len = json_string_length(value);
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return s_fail(j, "%s: not lowercase hex (character %zu)", field, i + 1);
    if (len % 2)
        return s_fail(j, "%s: odd number of hex digits (%zu)", field, len);
    *out = malloc(len / 2 ? len / 2 : 1);
    if (!*out)
        return s_fail(j, "%s: out of memory", field);
    if (ob_hex_decode(s, len, *out, len / 2) != (long)(len / 2))
        return s_fail(j, "%s: bad hex", field);
    *out_len = len / 2;
    return 0;
}

static int s_hex32(s_json_t *j, const char *field, json_t *value, uint8_t out[32])
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (s_hex_bytes(j, field, value, &bytes, &len) != 0) {
        free(bytes);
        return -1;
    }
    if (len != 32) {
        free(bytes);
        return s_fail(j, "%s: must be 64 hex digits, not %zu", field, 2 * len);
    }
    memcpy(out, bytes, 32);
    free(bytes);
    return 0;
}

/* Decimal digits, no leading zero, into *out; -1 on overflow. */
static int s_decimal(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || (s[0] == '0' && len > 1))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }
    *out = v;
    return 0;
}

/* A height or epoch: a number below 2^53, or a decimal string of one at or
   above it (SPEC §2 "JSON"): JSON readers keep integers exact below 2^53
   only. */
static int s_u64(s_json_t *j, const char *field, json_t *value, uint64_t *out)
{
    if (json_is_string(value)) {
        if (s_decimal(json_string_value(value), json_string_length(value), out) != 0 ||
            *out < S_JSON_EXACT)
            return s_fail(j, "%s: a quoted value must be a decimal of 2^53 or more", field);
        return 0;
    }
    if (json_is_real(value))
        return s_fail(j, "%s: must be a whole number", field);
    if (!json_is_integer(value) || json_integer_value(value) < 0)
        return s_fail(j, "%s: expected a number of 0 or more", field);
    *out = (uint64_t)json_integer_value(value);
    if (*out >= S_JSON_EXACT)
        return s_fail(j, "%s: %" PRIu64 " is 2^53 or more, which is written as a string", field,
                      *out);
    return 0;
}

/* The index of `key` among `names`, or -1 (why says) if it is none. */
static int s_field(s_json_t *j, const char *key, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (names[i] && strcmp(names[i], key) == 0)
            return i;
    return s_fail(j, "unknown field '%.40s'", key);
}

static int s_parse_parent(s_json_t *j, json_t *parent, s_line_t *line)
{
    enum { P_PAYLOAD, P_EPOCH, P_CERTIFICATE, P_COUNT };
    static const char *const names[P_COUNT] = {"payload", "epoch", "certificate"};
    if (!json_is_object(parent))
        return s_fail(j, "parent: expected an object");
    const char *key;
    json_t *value;
    json_object_foreach(parent, key, value)
    {
        int f = s_field(j, key, names, P_COUNT);
        int rc = -1;
        if (f == P_PAYLOAD)
            rc = s_hex32(j, "parent.payload", value, line->parent_payload);
        else if (f == P_EPOCH)
            rc = s_u64(j, "parent.epoch", value, &line->parent_epoch);
        else if (f == P_CERTIFICATE)
            rc = s_hex_bytes(j, "parent.certificate", value, &line->parent_cert,
                             &line->parent_cert_len);
        if (f < 0 || rc != 0) {
            if (f < 0)
                s_fail(j, "parent: unknown field '%.40s'", key);
            return -1;
        }
    }
    for (int f = 0; f < P_COUNT; f++)
        if (!json_object_get(parent, names[f]))
            return s_fail(j, "parent: missing field '%s'", names[f]);
    line->has_parent = true;
    return 0;
}

static int s_parse_value(s_json_t *j, s_field_t f, json_t *value, s_line_t *line)
{
    switch (f) {
    case S_F_SEQUENCER:
        return s_hex32(j, "sequencer", value, line->sequencer);
    case S_F_HEIGHT:
        return s_u64(j, "height", value, &line->height);
    case S_F_PAYLOAD:
        return s_hex32(j, "payload", value, line->payload);
    case S_F_EPOCH:
        return s_u64(j, "epoch", value, &line->epoch);
    case S_F_CERTIFICATE:
        return s_hex_bytes(j, "certificate", value, &line->cert, &line->cert_len);
    case S_F_PARENT:
        return s_parse_parent(j, value, line);
    case S_F_DATA:
        line->has_data = true;
        return s_hex_bytes(j, "data", value, &line->data, &line->data_len);
    case S_F_DATA_PRUNED:
        if (!json_is_true(value))
            return s_fail(j, "data_pruned: must be true");
        line->data_pruned = true;
        return 0;
    case S_F_COUNT:
        break;
    }
    return s_fail(j, "unknown field");
}

/* jansson reads the JSON (a key given twice is an error, not the last
   one winning); on top of it, exactly the fields the export writes, each
   of its type, and the 2^53 rule. */
static int s_parse_line(s_json_t *j, s_line_t *line)
{
    json_error_t error;
    json_t *root =
        json_loadb(j->start, (size_t)(j->end - j->start), JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        /* jansson says "duplicate object key near '"KEY"'": say it our way. */
        const char *near = strstr(error.text, "near '\"");
        if (strncmp(error.text, "duplicate object key", 20) == 0 && near) {
            near += 7;
            const char *end = strstr(near, "\"'");
            return s_fail(j, "field '%.*s' given twice", end ? (int)(end - near) : 0, near);
        }
        return s_fail(j, "not JSON: %s (column %d)", error.text, error.column);
    }
    int rc = 0;
    if (!json_is_object(root))
        rc = s_fail(j, "expected a JSON object, not %s",
                    json_is_array(root) ? "an array" : "a single value");
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        int f = rc == 0 ? s_field(j, key, s_fields, S_F_COUNT) : -1;
        if (f < 0 || s_parse_value(j, (s_field_t)f, value, line) != 0) {
            rc = -1;
            break;
        }
    }
    static const s_field_t required[] = {S_F_SEQUENCER, S_F_HEIGHT, S_F_PAYLOAD, S_F_EPOCH,
                                         S_F_CERTIFICATE};
    for (size_t i = 0; rc == 0 && i < sizeof required / sizeof *required; i++)
        if (!json_object_get(root, s_fields[required[i]]))
            rc = s_fail(j, "missing field '%s'", s_fields[required[i]]);
    if (rc == 0 && line->has_data && line->data_pruned)
        rc = s_fail(j, "both 'data' and 'data_pruned'");
    json_decref(root);
    return rc;
}

/* ========================================================================= */
/* Checking each line                                                        */
/* ========================================================================= */

static int s_push(s_audit_t *self, const ob_chunk_t *chunk, uint64_t epoch, uint32_t file,
                  uint64_t line, bool parent, bool valid)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 1024;
        s_entry_t *grown = realloc(self->entries, cap * sizeof *grown);
        if (!grown)
            return -1;
        self->entries = grown;
        self->cap = cap;
    }
    s_entry_t *e = &self->entries[self->count++];
    memcpy(e->sequencer, chunk->sequencer, 32);
    e->height = chunk->height;
    memcpy(e->payload, chunk->payload, 32);
    e->epoch = epoch;
    e->file = file;
    e->line = line;
    e->parent = parent;
    e->valid = valid;
    return 0;
}

/* S4 for a line's certificate, S5 for its parent's: decodes and verifies
   `bytes` as a certificate on (chunk, epoch). */
static bool s_check_cert(s_audit_t *self, const char *where, const char *rule, const char *what,
                         const ob_chunk_t *chunk, uint64_t epoch, const uint8_t *bytes, size_t len)
{
    char hex[65];
    if (!ob_manifest_node_with_key(self->manifest, chunk->sequencer)) {
        if (self->foreign++ == 0)
            memcpy(self->foreign_key, chunk->sequencer, 32);
        return false;
    }
    const char *who = s_who(self, chunk->sequencer, hex);
    const ob_keyset_t *validators = ob_epochs_validators(self->epochs, epoch);
    const ob_keyset_t *sequencers = ob_epochs_sequencers(self->epochs, epoch);
    if (!validators || !sequencers) {
        s_violation(self,
                    "%s: %s: unknown_epoch: %s of %s height %" PRIu64 " is of epoch %" PRIu64
                    ", which the manifest does not have",
                    where, rule, what, who, chunk->height, epoch);
        return false;
    }
    ob_cert_t cert;
    ob_error_t rc = ob_cert_decode(&cert, bytes, len, ob_keyset_size(validators));
    if (rc != OB_OK) {
        s_violation(self,
                    "%s: %s: %s: %s of %s height %" PRIu64 " is not a certificate of epoch %" PRIu64
                    " (SPEC §2)",
                    where, rule, ob_error_name(rc), what, who, chunk->height, epoch);
        return false;
    }
    if (!ob_keyset_contains(sequencers, chunk->sequencer)) {
        s_violation(self,
                    "%s: %s: unknown_sequencer: %s of %s height %" PRIu64
                    ": %s is not a sequencer of epoch %" PRIu64,
                    where, rule, what, who, chunk->height, who, epoch);
        return false;
    }
    rc = ob_cert_verify(self->crypto, self->ns, validators, chunk, epoch, &cert);
    if (rc != OB_OK) {
        s_violation(self,
                    "%s: %s: %s: %s of %s height %" PRIu64 " does not verify against epoch %" PRIu64
                    "'s validators",
                    where, rule, ob_error_name(rc), what, who, chunk->height, epoch);
        return false;
    }
    if (self->histories)
        ob_audit_histories_check(self->histories, where, chunk, &cert, validators);
    return true;
}

static int s_check_line(s_audit_t *self, uint32_t file, uint64_t lineno, const char *where,
                        const s_line_t *line)
{
    ob_chunk_t chunk;
    memcpy(chunk.sequencer, line->sequencer, 32);
    chunk.height = line->height;
    memcpy(chunk.payload, line->payload, 32);
    bool valid = s_check_cert(self, where, "S4", "the certificate", &chunk, line->epoch, line->cert,
                              line->cert_len);
    if (s_push(self, &chunk, line->epoch, file, lineno, false, valid) != 0)
        return -1;
    if (line->has_parent && line->height == 0) {
        s_violation(self, "%s: S5: parent_on_genesis: height 0 has no parent", where);
    } else if (line->has_parent) {
        ob_chunk_t parent = chunk;
        parent.height = line->height - 1;
        memcpy(parent.payload, line->parent_payload, 32);
        bool parent_valid =
            s_check_cert(self, where, "S5", "the parent certificate", &parent, line->parent_epoch,
                         line->parent_cert, line->parent_cert_len);
        if (s_push(self, &parent, line->parent_epoch, file, lineno, true, parent_valid) != 0)
            return -1;
    }
    if (line->has_data) {
        uint8_t digest[32];
        if (line->data_len > self->max_payload) {
            s_violation(self,
                        "%s: too_large: data is %zu bytes; the manifest's max_payload is %" PRIu32,
                        where, line->data_len, self->max_payload);
        } else {
            ob_sha256(self->crypto, line->data, line->data_len, digest);
            if (memcmp(digest, line->payload, 32) != 0)
                s_violation(self, "%s: payload_mismatch: SHA-256 of data is not the payload digest",
                            where);
        }
    }
    return 0;
}

/* The lines of file `index`, read from `f`: tests/fuzz/fuzz_audit.c
   gives it a stream of its bytes. 0, or -1 out of memory. */
static int s_audit_stream(s_audit_t *self, uint32_t index, FILE *f)
{
    const char *name = self->files[index];
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    int result = 0;
    self->foreign = 0;
    while (result == 0 && (n = getline(&buf, &cap, f)) != -1) {
        lineno++;
        size_t len = (size_t)n;
        if (len && buf[len - 1] == '\n')
            len--;
        char where[PATH_MAX + 32];
        snprintf(where, sizeof where, "%s:%" PRIu64, name, lineno);
        if (len == 0) {
            s_violation(self, "%s: empty line", where);
            continue;
        }
        s_json_t j = {.start = buf, .end = buf + len};
        s_line_t line;
        memset(&line, 0, sizeof line);
        if (s_parse_line(&j, &line) != 0)
            s_violation(self, "%s: %s", where, j.what);
        else
            result = s_check_line(self, index, lineno, where, &line);
        s_line_free(&line);
    }
    if (ferror(f)) {
        fprintf(self->err, "%s: cannot read: %s\n", name, strerror(errno));
        self->unreadable++;
    }
    if (self->foreign) {
        char hex[65];
        ob_hex_encode(self->foreign_key, 32, hex);
        s_violation(self,
                    "%s: unknown_sequencer: %" PRIu64
                    " certificates are of sequencers that are not nodes of this manifest (the "
                    "first: %s): is it this cluster's export, and this its manifest?",
                    name, self->foreign, hex);
        self->violations += self->foreign - 1; /* counted each, said once */
    }
    free(buf);
    return result;
}

static int s_audit_file(s_audit_t *self, uint32_t index)
{
    const char *name = self->files[index];
    bool is_stdin = strcmp(name, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(name, "r");
    if (!f) {
        fprintf(self->err, "%s: cannot open: %s\n", name, strerror(errno));
        self->unreadable++;
        return 0;
    }
    int result = s_audit_stream(self, index, f);
    if (!is_stdin)
        fclose(f);
    return result;
}

/* ========================================================================= */
/* Across lines and files                                                    */
/* ========================================================================= */

static int s_cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

/* (sequencer, height), then where it was seen. */
static int s_by_chunk(const void *a, const void *b)
{
    const s_entry_t *x = a, *y = b;
    int c = memcmp(x->sequencer, y->sequencer, 32);
    if (!c)
        c = s_cmp_u64(x->height, y->height);
    if (!c)
        c = s_cmp_u64(x->file, y->file);
    if (!c)
        c = s_cmp_u64(x->line, y->line);
    if (!c)
        c = (int)x->parent - (int)y->parent;
    return c;
}

/* (file, sequencer, height), a line's own certificates before parents. */
static int s_by_file(const void *a, const void *b)
{
    const s_entry_t *x = a, *y = b;
    int c = s_cmp_u64(x->file, y->file);
    if (!c)
        c = memcmp(x->sequencer, y->sequencer, 32);
    if (!c)
        c = s_cmp_u64(x->height, y->height);
    if (!c)
        c = (int)x->parent - (int)y->parent;
    if (!c)
        c = s_cmp_u64(x->line, y->line);
    return c;
}

static void s_where(const s_audit_t *self, const s_entry_t *e, char *out, size_t cap)
{
    snprintf(out, cap, "%s:%" PRIu64 "%s", self->files[e->file], e->line,
             e->parent ? " (as a parent)" : "");
}

/* S3 over every certificate that verified; counts chunks and sequencers. */
static void s_check_s3(s_audit_t *self, uint64_t *chunks, uint64_t *sequencers)
{
    if (self->count > 1)
        qsort(self->entries, self->count, sizeof *self->entries, s_by_chunk);
    *chunks = *sequencers = 0;
    const s_entry_t *last_line = NULL;
    for (size_t i = 0; i < self->count;) {
        size_t end = i;
        const s_entry_t *first = NULL, *conflict = NULL;
        bool has_line = false;
        while (end < self->count &&
               memcmp(self->entries[end].sequencer, self->entries[i].sequencer, 32) == 0 &&
               self->entries[end].height == self->entries[i].height) {
            const s_entry_t *e = &self->entries[end++];
            has_line |= !e->parent;
            if (!e->valid)
                continue;
            if (!first)
                first = e;
            else if (!conflict && memcmp(first->payload, e->payload, 32) != 0)
                conflict = e;
        }
        if (has_line) {
            (*chunks)++;
            if (!last_line || memcmp(last_line->sequencer, self->entries[i].sequencer, 32) != 0)
                (*sequencers)++;
            last_line = &self->entries[i];
        }
        if (conflict) {
            char hex[65], a[65], b[65], at_a[PATH_MAX + 48], at_b[PATH_MAX + 48];
            ob_hex_encode(first->payload, 32, a);
            ob_hex_encode(conflict->payload, 32, b);
            s_where(self, first, at_a, sizeof at_a);
            s_where(self, conflict, at_b, sizeof at_b);
            s_violation(self,
                        "%s: S3: %s height %" PRIu64
                        " certified for two payloads: %s in epoch %" PRIu64
                        " and %s in epoch %" PRIu64 " at %s",
                        at_b, s_who(self, first->sequencer, hex), first->height, a, first->epoch, b,
                        conflict->epoch, at_a);
        }
        i = end;
    }
}

/* Per file: contiguity of each sequencer's heights, and that each parent
   names the payload the file certifies at that height (S5). */
static void s_check_files(s_audit_t *self)
{
    if (self->count > 1)
        qsort(self->entries, self->count, sizeof *self->entries, s_by_file);
    for (size_t i = 0; i < self->count;) {
        /* One (file, sequencer). */
        size_t end = i;
        while (end < self->count && self->entries[end].file == self->entries[i].file &&
               memcmp(self->entries[end].sequencer, self->entries[i].sequencer, 32) == 0)
            end++;
        uint64_t expected = 0;
        bool gap_reported = self->allow_gaps;
        for (size_t k = i; k < end;) {
            /* One height: the lines' own certificates come first. */
            size_t h_end = k, lines = 0;
            while (h_end < end && self->entries[h_end].height == self->entries[k].height)
                lines += !self->entries[h_end++].parent;
            const s_entry_t *e = &self->entries[k];
            char hex[65];
            if (lines && e->height > expected && !gap_reported) {
                s_violation(self,
                            "%s: gap: %s heights %" PRIu64 " to %" PRIu64
                            " are not certified in this export (the next held is %" PRIu64 ")",
                            self->files[e->file], s_who(self, e->sequencer, hex), expected,
                            e->height - 1, e->height);
                gap_reported = true;
            }
            if (lines && e->height >= expected)
                expected = e->height + 1;
            for (size_t p = k + lines; lines && p < h_end; p++) {
                const s_entry_t *parent = &self->entries[p];
                bool linked = false;
                for (size_t l = k; l < k + lines && !linked; l++)
                    linked = memcmp(self->entries[l].payload, parent->payload, 32) == 0;
                if (!linked) {
                    char named[65], held[65];
                    ob_hex_encode(parent->payload, 32, named);
                    ob_hex_encode(e->payload, 32, held);
                    s_violation(self,
                                "%s:%" PRIu64 ": S5: the parent of %s height %" PRIu64
                                " is payload %s, but line %" PRIu64 " certifies %s there",
                                self->files[parent->file], parent->line,
                                s_who(self, parent->sequencer, hex), parent->height + 1, named,
                                e->line, held);
                }
            }
            k = h_end;
        }
        i = end;
    }
}

/* ========================================================================= */
/* The command                                                               */
/* ========================================================================= */

int ob_cli_audit_to(int argc, char **argv, FILE *out, FILE *err)
{
    s_audit_t self = {.out = out, .err = err};
    const char *manifest_path = NULL;
    /* EXPORTs in the first half, --history FILEs in the second: each
       at most argc. */
    size_t slots = (size_t)(argc > 0 ? argc : 1);
    self.files = calloc(2 * slots, sizeof *self.files);
    if (!self.files) {
        fprintf(err, "obcast audit: out of memory\n");
        return S_EXIT_FAILED;
    }
    char **histories = self.files + slots;
    size_t history_count = 0;
    bool options = true;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (options && strcmp(arg, "--") == 0) {
            options = false;
        } else if (options && strcmp(arg, "--help") == 0) {
            free(self.files);
            fputs(s_usage, out);
            return 0;
        } else if (options && strcmp(arg, "--allow-gaps") == 0) {
            self.allow_gaps = true;
        } else if (options && strcmp(arg, "--history") == 0) {
            if (i + 1 >= argc) {
                free(self.files);
                return s_usage_error(err, "--history needs a FILE");
            }
            histories[history_count++] = argv[++i];
        } else if (options && strcmp(arg, "--manifest") == 0) {
            if (i + 1 >= argc) {
                free(self.files);
                return s_usage_error(err, "--manifest needs a value");
            }
            manifest_path = argv[++i];
        } else if (options && strncmp(arg, "--manifest=", 11) == 0) {
            manifest_path = arg + 11;
        } else if (options && arg[0] == '-' && arg[1] != '\0') {
            free(self.files);
            return s_usage_error(err, "unknown option '%s'", arg);
        } else {
            self.files[self.file_count++] = argv[i];
        }
    }
    if (!manifest_path || !*manifest_path) {
        free(self.files);
        return s_usage_error(err, "give --manifest MANIFEST");
    }
    if (self.file_count == 0) {
        free(self.files);
        return s_usage_error(err, "give at least one EXPORT file");
    }

    ob_why_t why = {{0}};
    int rc = 0;
    if (!(self.crypto = ob_crypto_new()))
        rc = ob_why(&why, "no entropy for a crypto context");
    if (rc == 0 && !(self.manifest = ob_manifest_load(self.crypto, manifest_path, &why)))
        rc = -1;
    if (rc == 0) {
        self.epochs = ob_manifest_epochs(self.manifest);
        self.ns = ob_manifest_namespace(self.manifest);
        self.max_payload = ob_manifest_max_payload(self.manifest);
    }
    if (rc == 0 && history_count > 0 &&
        !(self.histories = ob_audit_histories_new(s_report_line, s_name, &self)))
        rc = ob_why(&why, "out of memory");
    for (size_t h = 0; rc == 0 && h < history_count; h++) {
        rc = ob_audit_histories_load(self.histories, histories[h], &why);
        size_t last = ob_audit_histories_count(self.histories);
        if (rc == 0 && !ob_manifest_node_with_key(
                           self.manifest, ob_audit_histories_key(self.histories, last - 1))) {
            char hex[65];
            ob_hex_encode(ob_audit_histories_key(self.histories, last - 1), 32, hex);
            rc = ob_why(&why, "--history %s: its signer %s is not a node of this manifest",
                        histories[h], hex);
        }
    }
    for (uint32_t f = 0; rc == 0 && f < self.file_count; f++)
        if (s_audit_file(&self, f) != 0)
            rc = ob_why(&why, "out of memory");
    uint64_t chunks = 0, sequencers = 0;
    if (rc == 0) {
        s_check_s3(&self, &chunks, &sequencers);
        s_check_files(&self);
    }
    uint64_t matched = self.histories ? ob_audit_histories_matched(self.histories) : 0;
    ob_audit_histories_destroy(&self.histories);
    free(self.entries);
    free(self.files);
    ob_manifest_destroy(&self.manifest);
    ob_crypto_destroy(&self.crypto);
    if (rc != 0) {
        fprintf(err, "obcast audit: %s\n", why.text);
        return S_EXIT_FAILED;
    }
    if (self.unreadable) {
        fprintf(err,
                "audit: %" PRIu32 " files: %" PRIu32 " could not be read, %" PRIu64
                " violations in the rest\n",
                self.file_count, self.unreadable, self.violations);
        return S_EXIT_IO;
    }
    if (self.violations) {
        fprintf(err, "audit: %" PRIu32 " files: %" PRIu64 " violations%s\n", self.file_count,
                self.violations,
                self.reported >= S_MAX_REPORTED ? " (the first 1000 lines are shown)" : "");
        return S_EXIT_FAILED;
    }
    if (history_count > 0)
        fprintf(out,
                "audit: %" PRIu32 " files, %" PRIu64 " certified chunks, %" PRIu64
                " sequencers, %zu signer histories (%" PRIu64 " signatures on record): ok\n",
                self.file_count, chunks, sequencers, history_count, matched);
    else
        fprintf(out,
                "audit: %" PRIu32 " files, %" PRIu64 " certified chunks, %" PRIu64
                " sequencers: ok\n",
                self.file_count, chunks, sequencers);
    return 0;
}

int ob_cli_audit(int argc, char **argv)
{
    return ob_cli_audit_to(argc, argv, stdout, stderr);
}

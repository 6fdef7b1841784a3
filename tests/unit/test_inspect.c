/*  The read-only tools of issue 4: `obcast-journal tips|show|export`,
    `obcast-signer pubkey|history`, and `obcast audit`.

    A real journal.db is built by driving the journal's handler with the
    nodes and certificates of a four-validator cluster whose manifest is a
    real file; the tools then read it while the journal still has it open
    (WAL), as they would beside a running node. The audit is run on the
    export as made, and on copies with one thing wrong each: a signature, a
    conflicting certificate in another file (S3, one epoch and across
    epochs), a missing height, a parent that names another payload (S5),
    malformed lines, an unknown epoch, data that does not hash to its
    digest. */
#include "testutil.h"

#include "cli.h"
#include "config.h"
#include "hex.h"
#include "journal.h"
#include "journal_inspect.h"
#include "keyfile.h"
#include "log.h"
#include "outbox.h"
#include "signer_inspect.h"
#include "signer_store.h"

#include <czmq.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define I_KEYS      4
#define I_TOP       4 /* node1's chain: heights 0..I_TOP, every one certified */
#define I_SLOT_SIZE 4096
#define I_NOW       1000
#define I_NODE_MAX  (OB_GENESIS_NODE_LEN + 32 + 8 + 2 + I_KEYS * OB_CERT_ENTRY_LEN)
#define I_QUORUM    0x07u /* keys 0, 1, 2 */
#define I_OTHERS    0x0eu /* keys 1, 2, 3 */
#define I_MAX_LINES 64

typedef struct {
    char dir[64];
    char path[256]; /* scratch */
    char manifest_path[128];
    char journal_path[128];
    char signer_path[128];
    ob_crypto_t *crypto;
    ob_keypair_t keys[I_KEYS];
    ob_manifest_t *manifest;
    const ob_epochs_t *epochs;
    const ob_namespace_t *ns;
    ob_node_config_t config;
    ob_arena_t *arena;
    ob_outbox_t *out;
    ob_journal_t *journal;
    char *lines[I_MAX_LINES]; /* the export, one line each, no newline */
    size_t line_count;
} i_fixture_t;

typedef struct {
    int rc;
    char *out, *err;
} i_run_t;

/* --- files ----------------------------------------------------------------- */

static void s_remove_dir(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        const struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            char file[512];
            snprintf(file, sizeof file, "%s/%s", path, entry->d_name);
            unlink(file);
        }
        closedir(dir);
    }
    rmdir(path);
}

static const char *s_file(i_fixture_t *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

static char *s_slurp(FILE *file)
{
    fflush(file);
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    assert_true(size >= 0);
    rewind(file);
    char *text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
    text[size] = '\0';
    fclose(file);
    return text;
}

static void s_run_free(i_run_t *run)
{
    free(run->out);
    free(run->err);
    run->out = run->err = NULL;
}

/* Writes `count` lines (each given a newline) to the fixture's file `name`. */
static const char *s_write_lines(i_fixture_t *f, const char *name, char *const *lines, size_t count)
{
    const char *path = s_file(f, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    for (size_t i = 0; i < count; i++)
        fprintf(file, "%s\n", lines[i]);
    assert_int_equal(fclose(file), 0);
    return path;
}

/* --- the cluster: four validators, sequencers node0 and node1 ------------- */

static void s_write_manifest(i_fixture_t *f)
{
    FILE *m = fopen(f->manifest_path, "w");
    assert_non_null(m);
    fprintf(m, "obcast\n    namespace = \"inspect-test\"\n    max_payload = %d\n", I_SLOT_SIZE);
    for (int k = 0; k < I_KEYS; k++) {
        char hex[65], z85[41];
        uint8_t curve[32];
        memset(curve, 0x40 + k, sizeof curve);
        assert_non_null(zmq_z85_encode(z85, curve, sizeof curve));
        ob_hex_encode(f->keys[k].pub.bytes, 32, hex);
        fprintf(m,
                "    node\n        name = \"node%d\"\n        key = \"%s\"\n"
                "        endpoint = \"tcp://127.0.0.1:%d\"\n        curve_key = \"%s\"\n",
                k, hex, 7100 + k, z85);
    }
    for (int e = 1; e <= 2; e++)
        fprintf(m,
                "    epoch\n        number = %d\n"
                "        validators = \"node0 node1 node2 node3\"\n"
                "        sequencers = \"node0 node1\"\n",
                e);
    assert_int_equal(fclose(m), 0);
}

static uint16_t s_index(i_fixture_t *f, int k)
{
    uint16_t index = 0;
    assert_true(
        ob_keyset_index_of(ob_epochs_validators(f->epochs, 1), f->keys[k].pub.bytes, &index));
    return index;
}

static ob_chunk_t s_chunk(i_fixture_t *f, int sequencer, uint64_t height, const char *payload)
{
    ob_chunk_t chunk;
    memcpy(chunk.sequencer, f->keys[sequencer].pub.bytes, 32);
    chunk.height = height;
    ob_sha256(f->crypto, payload, strlen(payload), chunk.payload);
    return chunk;
}

/* A certificate by the keys of `signers` on (chunk, epoch). */
static ob_cert_t s_cert(i_fixture_t *f, const ob_chunk_t *chunk, uint64_t epoch, unsigned signers,
                        uint8_t entries[I_KEYS * OB_CERT_ENTRY_LEN])
{
    ob_ack_t acks[I_KEYS];
    size_t count = 0;
    for (int k = 0; k < I_KEYS; k++) {
        if (!(signers >> k & 1))
            continue;
        ob_ack_t *ack = &acks[count++];
        ack->chunk = *chunk;
        ack->epoch = epoch;
        ack->index = s_index(f, k);
        assert_int_equal(
            ob_ack_sign(f->crypto, f->ns, &f->keys[k], chunk, epoch, NULL, ack->signature), 0);
    }
    ob_cert_t cert = {0};
    assert_int_equal(
        ob_cert_assemble(acks, count, I_KEYS, entries, I_KEYS * OB_CERT_ENTRY_LEN, &cert), OB_OK);
    return cert;
}

/* The hex of a certificate's SPEC §2 encoding. */
static void s_cert_hex(const ob_cert_t *cert, char *out, size_t cap)
{
    uint8_t bytes[2 + I_KEYS * OB_CERT_ENTRY_LEN];
    size_t written = 0;
    assert_int_equal(ob_cert_encode(cert, bytes, sizeof bytes, &written), 0);
    assert_true(2 * written + 1 <= cap);
    ob_hex_encode(bytes, written, out);
}

static const char *s_payload_text(uint64_t height, char buf[32])
{
    snprintf(buf, 32, "payload %llu", (unsigned long long)height);
    return buf;
}

/* Node `height` of `sequencer`'s chain, whose parent is certified in epoch
   1 by a quorum; handed to the journal as the verifier would. */
static void s_deliver_node(i_fixture_t *f, int sequencer, uint64_t height)
{
    char text[32], parent_text[32];
    ob_node_t node = {.chunk = s_chunk(f, sequencer, height, s_payload_text(height, text))};
    uint8_t entries[I_KEYS * OB_CERT_ENTRY_LEN];
    if (height > 0) {
        ob_chunk_t parent =
            s_chunk(f, sequencer, height - 1, s_payload_text(height - 1, parent_text));
        node.has_parent = true;
        memcpy(node.parent.digest, parent.payload, 32);
        node.parent.epoch = 1;
        node.parent.cert = s_cert(f, &parent, 1, I_QUORUM, entries);
    }
    assert_int_equal(
        ob_chunk_sign(f->crypto, f->ns, &f->keys[sequencer], &node.chunk, NULL, node.signature), 0);
    uint8_t bytes[I_NODE_MAX];
    size_t len = 0;
    assert_int_equal(ob_node_encode(&node, bytes, sizeof bytes, &len), 0);

    ob_imsg_t msg = {.type = OB_IMSG_NODE_VERIFIED};
    msg.u.node_verified.node = (ob_blob_t){bytes, (uint32_t)len};
    assert_int_equal(ob_arena_put(f->arena, f->crypto, OB_ACTOR_VERIFIER, text,
                                  (uint32_t)strlen(text), &msg.u.node_verified.payload),
                     0);
    ob_outbox_clear(f->out);
    assert_int_equal(ob_journal_begin(f->journal), 0);
    ob_journal_handle(f->journal, I_NOW, OB_PARTY_VERIFIER, &msg, f->out);
    assert_int_equal(ob_journal_commit(f->journal), 0);
}

/* The signer's certificate on the tip, as it reaches the journal. */
static void s_deliver_certified(i_fixture_t *f, int sequencer, uint64_t height)
{
    char text[32];
    ob_lock_t lock = {.chunk = s_chunk(f, sequencer, height, s_payload_text(height, text)),
                      .epoch = 1};
    uint8_t entries[I_KEYS * OB_CERT_ENTRY_LEN];
    lock.cert = s_cert(f, &lock.chunk, 1, I_OTHERS, entries);
    uint8_t bytes[OB_CHUNK_LEN + 8 + 2 + I_KEYS * OB_CERT_ENTRY_LEN];
    size_t len = 0;
    assert_int_equal(ob_lock_encode(&lock, bytes, sizeof bytes, &len), 0);
    ob_imsg_t msg = {.type = OB_IMSG_CERTIFIED};
    msg.u.certified.lock = (ob_blob_t){bytes, (uint32_t)len};
    ob_outbox_clear(f->out);
    assert_int_equal(ob_journal_begin(f->journal), 0);
    ob_journal_handle(f->journal, I_NOW, OB_PARTY_SIGNER, &msg, f->out);
    assert_int_equal(ob_journal_commit(f->journal), 0);
}

/* Exports the journal and keeps its lines. */
static void s_export(i_fixture_t *f, bool with_data)
{
    for (size_t i = 0; i < f->line_count; i++)
        free(f->lines[i]);
    f->line_count = 0;
    FILE *out = tmpfile();
    assert_non_null(out);
    ob_why_t why = {{0}};
    if (ob_journal_export(f->journal_path, f->epochs, with_data, out, &why) != 0)
        fail_msg("export: %s", why.text);
    char *text = s_slurp(out);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        assert_true(f->line_count < I_MAX_LINES);
        f->lines[f->line_count++] = strdup(line);
    }
    free(text);
}

static int s_setup(void **state)
{
    i_fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/obcast-inspect-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    ob_log_set_level(OB_LOG_ERROR);
    snprintf(f->manifest_path, sizeof f->manifest_path, "%s/manifest.zpl", f->dir);
    snprintf(f->journal_path, sizeof f->journal_path, "%s/journal.db", f->dir);
    snprintf(f->signer_path, sizeof f->signer_path, "%s/signer.db", f->dir);
    f->crypto = ob_crypto_new();
    assert_non_null(f->crypto);
    for (int k = 0; k < I_KEYS; k++) {
        char label[32];
        uint8_t secret[32];
        snprintf(label, sizeof label, "inspect-test-%d", k);
        ob_sha256(f->crypto, label, strlen(label), secret);
        assert_int_equal(ob_keypair_from_secret(f->crypto, secret, &f->keys[k]), 0);
    }
    s_write_manifest(f);
    ob_why_t why = {{0}};
    f->manifest = ob_manifest_load(f->crypto, f->manifest_path, &why);
    if (!f->manifest)
        fail_msg("manifest: %s", why.text);
    f->epochs = ob_manifest_epochs(f->manifest);
    f->ns = ob_manifest_namespace(f->manifest);
    snprintf(f->config.data_dir, sizeof f->config.data_dir, "%s", f->dir);
    snprintf(f->config.key_file, sizeof f->config.key_file, "%s/obcast.key", f->dir);
    snprintf(f->config.manifest, sizeof f->config.manifest, "%s", f->manifest_path);

    f->arena = ob_arena_new_heap(64, I_SLOT_SIZE, &why);
    assert_non_null(f->arena);
    f->out = ob_outbox_new(256, 1u << 20);
    assert_non_null(f->out);
    ob_params_t params = OB_PARAMS_DEFAULT;
    params.max_payload = I_SLOT_SIZE;
    ob_journal_config_t config = {
        .env = {.ns = f->ns, .epochs = f->epochs, .params = params, .arena = f->arena},
        .db_path = f->journal_path,
        .sync = OB_DB_SYNC_NORMAL,
        .initial_epoch = 1};
    memcpy(config.env.self_key, f->keys[0].pub.bytes, 32);
    f->journal = ob_journal_new(&config, &why);
    if (!f->journal)
        fail_msg("journal: %s", why.text);
    ob_journal_start(f->journal, I_NOW, f->out);
    /* node1's chain: each node carries its parent's certificate; the
       signer's certificate on the top one comes last. */
    for (uint64_t h = 0; h <= I_TOP; h++)
        s_deliver_node(f, 1, h);
    s_deliver_certified(f, 1, I_TOP);
    /* node0's genesis, held but not certified. */
    s_deliver_node(f, 0, 0);
    s_export(f, false);
    return 0;
}

static int s_teardown(void **state)
{
    i_fixture_t *f = *state;
    for (size_t i = 0; i < f->line_count; i++)
        free(f->lines[i]);
    ob_journal_destroy(&f->journal);
    ob_outbox_destroy(&f->out);
    ob_arena_destroy(&f->arena);
    ob_manifest_destroy(&f->manifest);
    for (int k = 0; k < I_KEYS; k++)
        ob_keypair_wipe(&f->keys[k]);
    ob_crypto_destroy(&f->crypto);
    s_remove_dir(f->dir);
    free(f);
    return 0;
}

/* --- running the tools ------------------------------------------------------ */

static i_run_t s_journal_cmd(i_fixture_t *f, int argc, char **argv)
{
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    i_run_t run = {.rc = ob_journal_inspect(&f->config, f->manifest, argc, argv, out, err)};
    run.out = s_slurp(out);
    run.err = s_slurp(err);
    return run;
}

static i_run_t s_signer_cmd(i_fixture_t *f, int argc, char **argv)
{
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    i_run_t run = {.rc = ob_signer_inspect(&f->config, argc, argv, out, err)};
    run.out = s_slurp(out);
    run.err = s_slurp(err);
    return run;
}

/* obcast audit --manifest M [extra] FILES... */
static i_run_t s_audit(i_fixture_t *f, const char *extra, const char *a, const char *b)
{
    char *argv[8];
    int argc = 0;
    argv[argc++] = "audit";
    argv[argc++] = "--manifest";
    argv[argc++] = f->manifest_path;
    char a_copy[256], b_copy[256];
    if (extra)
        argv[argc++] = (char *)extra;
    snprintf(a_copy, sizeof a_copy, "%s", a);
    argv[argc++] = a_copy;
    if (b) {
        snprintf(b_copy, sizeof b_copy, "%s", b);
        argv[argc++] = b_copy;
    }
    argv[argc] = NULL;
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    i_run_t run = {.rc = ob_cli_audit_to(argc, argv, out, err)};
    run.out = s_slurp(out);
    run.err = s_slurp(err);
    return run;
}

static void s_assert_contains(const char *text, const char *want)
{
    assert_non_null(text);
    if (!strstr(text, want)) {
        print_error("expected \"%s\" in:\n", want);
        print_error("%s\n", text);
        fail();
    }
}

/* Audit of the named files fails, and its stderr holds `want`. */
static void s_assert_audit_fails(i_fixture_t *f, const char *a, const char *b, const char *want)
{
    i_run_t run = s_audit(f, NULL, a, b);
    assert_int_equal(run.rc, 1);
    assert_string_equal(run.out, "");
    s_assert_contains(run.err, want);
    s_run_free(&run);
}

/* The fixture's export with line `index` (0-based) replaced. */
static const char *s_export_with(i_fixture_t *f, const char *name, size_t index,
                                 const char *replacement)
{
    char *lines[I_MAX_LINES];
    for (size_t i = 0; i < f->line_count; i++)
        lines[i] = i == index ? (char *)replacement : f->lines[i];
    return s_write_lines(f, name, lines, f->line_count);
}

static char *s_replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t len = strlen(text) - strlen(from) + strlen(to);
    char *out = malloc(len + 1);
    assert_non_null(out);
    size_t head = (size_t)(at - text);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

/* One export line for a certificate by `signers` on (chunk, epoch). */
static void s_line(i_fixture_t *f, const ob_chunk_t *chunk, uint64_t epoch, unsigned signers,
                   char *out, size_t cap)
{
    uint8_t entries[I_KEYS * OB_CERT_ENTRY_LEN];
    ob_cert_t cert = s_cert(f, chunk, epoch, signers, entries);
    char seq[65], payload[65], cert_hex[2 * (2 + I_KEYS * OB_CERT_ENTRY_LEN) + 1];
    ob_hex_encode(chunk->sequencer, 32, seq);
    ob_hex_encode(chunk->payload, 32, payload);
    s_cert_hex(&cert, cert_hex, sizeof cert_hex);
    snprintf(out, cap,
             "{\"sequencer\":\"%s\",\"height\":%llu,\"payload\":\"%s\",\"epoch\":%llu,"
             "\"certificate\":\"%s\"}",
             seq, (unsigned long long)chunk->height, payload, (unsigned long long)epoch, cert_hex);
}

/* ========================================================================= */
/* obcast-journal                                                            */
/* ========================================================================= */

static void test_tips(void **state)
{
    i_fixture_t *f = *state;
    char *argv[] = {"tips", NULL};
    i_run_t run = s_journal_cmd(f, 1, argv);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.err, "");
    char text[32], hex[65], want[160];
    ob_chunk_t top = s_chunk(f, 1, I_TOP, s_payload_text(I_TOP, text));
    ob_hex_encode(top.payload, 32, hex);
    snprintf(want, sizeof want, "node1 tip %d payload %s certified %d\n", I_TOP, hex, I_TOP);
    s_assert_contains(run.out, want);
    ob_chunk_t zero = s_chunk(f, 0, 0, s_payload_text(0, text));
    ob_hex_encode(zero.payload, 32, hex);
    snprintf(want, sizeof want, "node0 tip 0 payload %s certified -\n", hex);
    s_assert_contains(run.out, want);
    /* One line per sequencer, nothing else. */
    size_t lines = 0;
    for (const char *p = run.out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2);
    s_run_free(&run);
}

static void test_show(void **state)
{
    i_fixture_t *f = *state;
    char *argv[] = {"show", "node1", "2", NULL};
    i_run_t run = s_journal_cmd(f, 3, argv);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.err, "");
    char text[32], hex[65], want[256], key[65];
    ob_hex_encode(f->keys[1].pub.bytes, 32, key);
    s_assert_contains(run.out, "sequencer node1\n");
    snprintf(want, sizeof want, "key %s\nheight 2\n", key);
    s_assert_contains(run.out, want);
    ob_chunk_t chunk = s_chunk(f, 1, 2, s_payload_text(2, text));
    ob_hex_encode(chunk.payload, 32, hex);
    snprintf(want, sizeof want, "payload %s\nnode held\nsignature ", hex);
    s_assert_contains(run.out, want);
    /* The parent certificate is by keys 0, 1 and 2; the one on height 2
       itself came with node 3, by the same quorum. */
    uint16_t idx[3] = {s_index(f, 0), s_index(f, 1), s_index(f, 2)};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (idx[j] < idx[i]) {
                uint16_t t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
    char signers[32];
    snprintf(signers, sizeof signers, "signers %u,%u,%u\n", idx[0], idx[1], idx[2]);
    ob_chunk_t parent = s_chunk(f, 1, 1, s_payload_text(1, text));
    ob_hex_encode(parent.payload, 32, hex);
    snprintf(want, sizeof want, "parent payload %s epoch 1 %s", hex, signers);
    s_assert_contains(run.out, want);
    s_assert_contains(run.out, "certified yes\n");
    ob_hex_encode(chunk.payload, 32, hex);
    snprintf(want, sizeof want, "certificate epoch 1 payload %s %s", hex, signers);
    s_assert_contains(run.out, want);
    snprintf(want, sizeof want, "payload_bytes %zu\n", strlen(s_payload_text(2, text)));
    s_assert_contains(run.out, want);
    s_assert_contains(run.out, "tip 4\n");
    s_run_free(&run);

    /* By hex key, and the genesis of node0: held, no parent, uncertified. */
    ob_hex_encode(f->keys[0].pub.bytes, 32, key);
    char *by_key[] = {"show", key, "0", NULL};
    run = s_journal_cmd(f, 3, by_key);
    assert_int_equal(run.rc, 0);
    s_assert_contains(run.out, "sequencer node0\n");
    s_assert_contains(run.out, "parent none\n");
    s_assert_contains(run.out, "certified no\n");
    s_run_free(&run);
}

static void test_show_errors(void **state)
{
    i_fixture_t *f = *state;
    char *unknown[] = {"show", "node9", "0", NULL};
    i_run_t run = s_journal_cmd(f, 3, unknown);
    assert_int_equal(run.rc, 2);
    s_assert_contains(run.err, "obcast-journal: show: 'node9' is neither a node of the manifest");
    s_run_free(&run);

    char *bad_height[] = {"show", "node1", "-1", NULL};
    run = s_journal_cmd(f, 3, bad_height);
    assert_int_equal(run.rc, 2);
    s_assert_contains(run.err, "HEIGHT must be a decimal height, not '-1'");
    s_run_free(&run);

    char *none[] = {"show", "node1", "99", NULL};
    run = s_journal_cmd(f, 3, none);
    assert_int_equal(run.rc, 1);
    assert_string_equal(run.err, "obcast-journal: show: node1 height 99: no node or certificate "
                                 "held\n");
    s_run_free(&run);

    char *missing[] = {"show", "node1", NULL};
    run = s_journal_cmd(f, 2, missing);
    assert_int_equal(run.rc, 2);
    s_run_free(&run);

    char *frob[] = {"frob", NULL};
    run = s_journal_cmd(f, 1, frob);
    assert_int_equal(run.rc, 2);
    s_assert_contains(run.err, "unknown command 'frob'");
    s_run_free(&run);

    char *extra[] = {"export", "--frob", NULL};
    run = s_journal_cmd(f, 2, extra);
    assert_int_equal(run.rc, 2);
    s_run_free(&run);
}

static void test_missing_database_is_never_created(void **state)
{
    i_fixture_t *f = *state;
    snprintf(f->config.data_dir, sizeof f->config.data_dir, "%s/nowhere", f->dir);
    assert_int_equal(mkdir(f->config.data_dir, 0700), 0);
    char *argv[] = {"tips", NULL};
    i_run_t run = s_journal_cmd(f, 1, argv);
    assert_int_equal(run.rc, 1);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want,
             "obcast-journal: tips: journal database %s/journal.db: ", f->config.data_dir);
    s_assert_contains(run.err, want);
    s_run_free(&run);

    char *history[] = {"history", NULL};
    run = s_signer_cmd(f, 1, history);
    assert_int_equal(run.rc, 1);
    snprintf(want, sizeof want,
             "obcast-signer: history: signer database %s/signer.db: ", f->config.data_dir);
    s_assert_contains(run.err, want);
    s_run_free(&run);

    /* Neither tool made a file. */
    DIR *dir = opendir(f->config.data_dir);
    assert_non_null(dir);
    const struct dirent *entry;
    int entries = 0;
    while ((entry = readdir(dir)) != NULL)
        entries += entry->d_name[0] != '.';
    closedir(dir);
    assert_int_equal(entries, 0);
    rmdir(f->config.data_dir);
}

static void test_export_lines(void **state)
{
    i_fixture_t *f = *state;
    /* Heights 0..TOP of node1, in order; node0's genesis is uncertified. */
    assert_int_equal(f->line_count, I_TOP + 1);
    char key[65], text[32], hex[65], want[256];
    ob_hex_encode(f->keys[1].pub.bytes, 32, key);
    for (uint64_t h = 0; h <= I_TOP; h++) {
        const char *line = f->lines[h];
        ob_chunk_t chunk = s_chunk(f, 1, h, s_payload_text(h, text));
        ob_hex_encode(chunk.payload, 32, hex);
        snprintf(want, sizeof want,
                 "{\"sequencer\":\"%s\",\"height\":%llu,\"payload\":\"%s\",\"epoch\":1,"
                 "\"certificate\":\"0003",
                 key, (unsigned long long)h, hex);
        assert_true(strncmp(line, want, strlen(want)) == 0);
        if (h > 0) {
            ob_chunk_t parent = s_chunk(f, 1, h - 1, s_payload_text(h - 1, text));
            ob_hex_encode(parent.payload, 32, hex);
            snprintf(want, sizeof want, ",\"parent\":{\"payload\":\"%s\",\"epoch\":1,", hex);
            s_assert_contains(line, want);
        } else {
            assert_null(strstr(line, "parent"));
        }
        assert_null(strstr(line, "data"));
        assert_string_equal(line + strlen(line) - 1, "}");
    }

    /* With --data, through the command: the payload bytes in hex. */
    char *argv[] = {"export", "--data", NULL};
    i_run_t run = s_journal_cmd(f, 2, argv);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.err, "");
    for (uint64_t h = 0; h <= I_TOP; h++) {
        char data[80];
        s_payload_text(h, text);
        ob_hex_encode((const uint8_t *)text, strlen(text), data);
        snprintf(want, sizeof want, ",\"data\":\"%s\"}\n", data);
        s_assert_contains(run.out, want);
    }
    s_run_free(&run);
}

static void test_export_pruned_payload(void **state)
{
    i_fixture_t *f = *state;
    /* Retention dropped height 0's bytes (the journal still has the file
       open, as it would while running). */
    char text[32];
    ob_chunk_t zero = s_chunk(f, 1, 0, s_payload_text(0, text));
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->journal_path, &db), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "DELETE FROM payload WHERE digest = ?1", -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, zero.payload, 32, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    s_export(f, true);
    assert_int_equal(f->line_count, I_TOP + 1);
    s_assert_contains(f->lines[0], ",\"data_pruned\":true}");
    assert_null(strstr(f->lines[0], "\"data\""));
    for (size_t i = 1; i < f->line_count; i++)
        s_assert_contains(f->lines[i], ",\"data\":\"");

    char *argv[] = {"show", "node1", "0", NULL};
    i_run_t run = s_journal_cmd(f, 3, argv);
    assert_int_equal(run.rc, 0);
    s_assert_contains(run.out, "payload_bytes pruned\n");
    s_run_free(&run);

    /* A pruned line audits as well as a full one. */
    const char *path = s_write_lines(f, "pruned.jsonl", f->lines, f->line_count);
    run = s_audit(f, NULL, path, NULL);
    assert_int_equal(run.rc, 0);
    s_run_free(&run);
}

/* ========================================================================= */
/* obcast audit                                                              */
/* ========================================================================= */

static void test_audit_accepts_the_export(void **state)
{
    i_fixture_t *f = *state;
    const char *path = s_write_lines(f, "a.jsonl", f->lines, f->line_count);
    i_run_t run = s_audit(f, NULL, path, NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.err, "");
    assert_string_equal(run.out, "audit: 1 files, 5 certified chunks, 1 sequencers: ok\n");
    s_run_free(&run);

    /* Two nodes' exports that agree, one of them with data. */
    char a[256];
    snprintf(a, sizeof a, "%s", path);
    s_export(f, true);
    const char *b = s_write_lines(f, "b.jsonl", f->lines, f->line_count);
    run = s_audit(f, NULL, a, b);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "audit: 2 files, 5 certified chunks, 1 sequencers: ok\n");
    s_run_free(&run);

    /* An empty export holds nothing to contradict. */
    const char *empty = s_write_lines(f, "empty.jsonl", NULL, 0);
    run = s_audit(f, NULL, empty, NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "audit: 1 files, 0 certified chunks, 0 sequencers: ok\n");
    s_run_free(&run);
}

static void test_audit_tampered_signature(void **state)
{
    i_fixture_t *f = *state;
    /* One hex digit of the first signature of height 2's certificate. */
    char *line = strdup(f->lines[2]);
    char *cert = strstr(line, "\"certificate\":\"");
    assert_non_null(cert);
    char *digit = cert + strlen("\"certificate\":\"") + 4 + 4 + 10;
    *digit = *digit == '0' ? '1' : '0';
    const char *path = s_export_with(f, "sig.jsonl", 2, line);
    char want[PATH_MAX + 512];
    snprintf(want, sizeof want, "%s:3: S4: bad_signature: the certificate of node1 height 2", path);
    s_assert_audit_fails(f, path, NULL, want);
    free(line);

    /* A parent certificate's signature: S5. */
    line = strdup(f->lines[3]);
    cert = strstr(line, "\"parent\":{");
    assert_non_null(cert);
    cert = strstr(cert, "\"certificate\":\"");
    digit = cert + strlen("\"certificate\":\"") + 4 + 4 + 10;
    *digit = *digit == '0' ? '1' : '0';
    path = s_export_with(f, "parent-sig.jsonl", 3, line);
    snprintf(want, sizeof want, "%s:4: S5: bad_signature: the parent certificate of node1 height 2",
             path);
    s_assert_audit_fails(f, path, NULL, want);
    free(line);

    /* A certificate cut below quorum. */
    line = strdup(f->lines[1]);
    cert = strstr(line, "\"certificate\":\"") + strlen("\"certificate\":\"");
    memcpy(cert, "0002", 4);
    char *rest = cert + 4 + 2 * 2 * OB_CERT_ENTRY_LEN;
    memmove(rest, rest + 2 * OB_CERT_ENTRY_LEN, strlen(rest + 2 * OB_CERT_ENTRY_LEN) + 1);
    path = s_export_with(f, "quorum.jsonl", 1, line);
    snprintf(want, sizeof want, "%s:2: S4: below_quorum", path);
    s_assert_audit_fails(f, path, NULL, want);
    free(line);
}

static void test_audit_conflict_across_files(void **state)
{
    i_fixture_t *f = *state;
    const char *a_path = s_write_lines(f, "a.jsonl", f->lines, f->line_count);
    char a[256];
    snprintf(a, sizeof a, "%s", a_path);
    /* Another node's export certifies another payload at height 2, in the
       same epoch by another quorum: each file alone is fine. */
    ob_chunk_t other = s_chunk(f, 1, 2, "another payload");
    char line[1024];
    s_line(f, &other, 1, I_OTHERS, line, sizeof line);
    char *lines[] = {line};
    const char *b = s_write_lines(f, "b.jsonl", lines, 1);
    i_run_t run = s_audit(f, "--allow-gaps", b, NULL);
    assert_int_equal(run.rc, 0);
    s_run_free(&run);

    run = s_audit(f, "--allow-gaps", a, b);
    assert_int_equal(run.rc, 1);
    char want[PATH_MAX + 512];
    snprintf(want, sizeof want, "%s:1: S3: node1 height 2 certified for two payloads", b);
    s_assert_contains(run.err, want);
    s_assert_contains(run.err, "a.jsonl:3");
    s_run_free(&run);

    /* The same across epochs: a certificate of epoch 2. */
    s_line(f, &other, 2, I_QUORUM, line, sizeof line);
    b = s_write_lines(f, "c.jsonl", lines, 1);
    run = s_audit(f, "--allow-gaps", a, b);
    assert_int_equal(run.rc, 1);
    s_assert_contains(run.err, "S3: node1 height 2 certified for two payloads");
    s_assert_contains(run.err, "in epoch 2");
    s_run_free(&run);
}

static void test_audit_gap(void **state)
{
    i_fixture_t *f = *state;
    char *lines[I_MAX_LINES];
    size_t count = 0;
    for (size_t i = 0; i < f->line_count; i++)
        if (i != 1)
            lines[count++] = f->lines[i];
    const char *path = s_write_lines(f, "gap.jsonl", lines, count);
    char want[PATH_MAX + 512];
    snprintf(want, sizeof want,
             "%s: gap: node1 heights 1 to 1 are not certified in this export (the next held is 2)",
             path);
    i_run_t run = s_audit(f, NULL, path, NULL);
    assert_int_equal(run.rc, 1);
    s_assert_contains(run.err, want);
    s_run_free(&run);

    run = s_audit(f, "--allow-gaps", path, NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "audit: 1 files, 4 certified chunks, 1 sequencers: ok\n");
    s_run_free(&run);

    /* A chain that does not start at 0. */
    path = s_write_lines(f, "top.jsonl", f->lines + 2, f->line_count - 2);
    snprintf(want, sizeof want, "%s: gap: node1 heights 0 to 1", path);
    s_assert_audit_fails(f, path, NULL, want);
}

static void test_audit_parent_link(void **state)
{
    i_fixture_t *f = *state;
    /* Height 3's line names, as its parent, another payload at 2 with a
       valid certificate: S5 (and, as that is a second certificate at 2,
       S3). */
    ob_chunk_t other = s_chunk(f, 1, 2, "another payload");
    uint8_t entries[I_KEYS * OB_CERT_ENTRY_LEN];
    ob_cert_t cert = s_cert(f, &other, 1, I_QUORUM, entries);
    char cert_hex[2 * (2 + I_KEYS * OB_CERT_ENTRY_LEN) + 1], payload[65], parent[1024];
    s_cert_hex(&cert, cert_hex, sizeof cert_hex);
    ob_hex_encode(other.payload, 32, payload);
    snprintf(parent, sizeof parent,
             "\"parent\":{\"payload\":\"%s\",\"epoch\":1,\"certificate\":\"%s\"}", payload,
             cert_hex);
    const char *at = strstr(f->lines[3], "\"parent\":{");
    assert_non_null(at);
    char *line = strdup(f->lines[3]);
    strcpy(line + (at - f->lines[3]), parent);
    strcat(line, "}");
    const char *path = s_export_with(f, "link.jsonl", 3, line);
    i_run_t run = s_audit(f, NULL, path, NULL);
    assert_int_equal(run.rc, 1);
    char want[PATH_MAX + 512];
    snprintf(want, sizeof want, "%s:4: S5: the parent of node1 height 3 is payload %s", path,
             payload);
    s_assert_contains(run.err, want);
    s_assert_contains(run.err, "S3:");
    s_run_free(&run);
    free(line);

    /* A parent on a genesis line. */
    size_t len = strlen(f->lines[0]), cap = len + strlen(parent) + 2;
    char *genesis = malloc(cap);
    assert_non_null(genesis);
    snprintf(genesis, cap, "%.*s,%s}", (int)len - 1, f->lines[0], parent);
    path = s_export_with(f, "genesis.jsonl", 0, genesis);
    snprintf(want, sizeof want, "%s:1: S5: parent_on_genesis", path);
    s_assert_audit_fails(f, path, NULL, want);
    free(genesis);
}

static void test_audit_malformed_lines(void **state)
{
    i_fixture_t *f = *state;
    static const struct {
        const char *from, *to, *want;
    } cases[] = {
        {"\"epoch\":1,", "", "missing field 'epoch'"},
        {"\"epoch\":1,", "\"epoch\":1,\"extra\":1,", "unknown field 'extra'"},
        {"\"epoch\":1,", "\"epoch\":1,\"epoch\":1,", "field 'epoch' given twice"},
        {"\"epoch\":1,", "\"epoch\":1.0,", "epoch: must be a whole number"},
        {"\"epoch\":1,", "\"epoch\":\"1\",", "epoch: a quoted value must be a decimal of 2^53"},
        {"\"epoch\":1,", "\"epoch\":9007199254740992,", "epoch: 9007199254740992 is 2^53 or more"},
        {"\"epoch\":1,", "\"epoch\":01,", "not JSON: invalid token near '0'"},
        {"\"epoch\":1,", "\"epoch\":-1,", "epoch: expected a number"},
        {"\"payload\":\"", "\"payload\":\"A", "payload: not lowercase hex"},
        {"\"payload\":\"", "\"payload\":\"0", "payload: odd number of hex digits"},
        {"\"payload\":\"", "\"payload\":\"00", "payload: must be 64 hex digits"},
        {"\"certificate\":\"", "\"certificate\":\"0", "certificate: odd number"},
        {"\"certificate\":\"", "\"certificate\":\"00", "S4: trailing"},
        {"\"height\":2,", "\"height\":true,", "height: expected a number"},
        {"{", "[", "not JSON: "},
        /* Escapes are read as JSON reads them: this key is "seqvencer". */
        {"\"sequencer\"", "\"seq\\u0076encer\"", "unknown field 'seqvencer'"},
        /* A control character it quotes is not written as it came. */
        {"\"sequencer\"", "\"seq\\nencer\"", "unknown field 'seq?encer'"},
        {"\"epoch\":1,", "\"epoch\":1,\"data\":\"00\",\"data_pruned\":true,",
         "both 'data' and 'data_pruned'"},
        {"\"epoch\":1,", "\"epoch\":1,\"data_pruned\":false,", "data_pruned: must be true"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *line = s_replace(f->lines[2], cases[i].from, cases[i].to);
        const char *path = s_export_with(f, "bad.jsonl", 2, line);
        char want[PATH_MAX + 512];
        snprintf(want, sizeof want, "%s:3: %s", path, cases[i].want);
        i_run_t run = s_audit(f, "--allow-gaps", path, NULL);
        bool ok = run.rc == 1 && strstr(run.err, want);
        if (!ok)
            print_error("case %zu: exit %d, expected \"%s\" in:\n%s", i, run.rc, want, run.err);
        s_run_free(&run);
        free(line);
        assert_true(ok);
    }

    /* Truncated, trailing, and empty lines. */
    char *cut = strdup(f->lines[2]);
    cut[strlen(cut) / 2] = '\0';
    const char *path = s_export_with(f, "cut.jsonl", 2, cut);
    i_run_t run = s_audit(f, "--allow-gaps", path, NULL);
    assert_int_equal(run.rc, 1);
    char want[PATH_MAX + 512];
    snprintf(want, sizeof want, "%s:3: ", path);
    s_assert_contains(run.err, want);
    s_run_free(&run);
    free(cut);

    char *trailing = s_replace(f->lines[0], "}", "} x"); /* height 0: one '}' */
    path = s_export_with(f, "trail.jsonl", 0, trailing);
    snprintf(want, sizeof want, "%s:1: not JSON: end of file expected near 'x'", path);
    s_assert_audit_fails(f, path, NULL, want);
    free(trailing);

    path = s_export_with(f, "empty-line.jsonl", 2, "");
    snprintf(want, sizeof want, "%s:3: empty line", path);
    s_assert_audit_fails(f, path, NULL, want);
}

static void test_audit_unknown_epoch(void **state)
{
    i_fixture_t *f = *state;
    char *line = s_replace(f->lines[1], "\"epoch\":1,", "\"epoch\":9,");
    const char *path = s_export_with(f, "epoch.jsonl", 1, line);
    char want[PATH_MAX + 512];
    snprintf(want, sizeof want,
             "%s:2: S4: unknown_epoch: the certificate of node1 height 1 is of epoch 9, which the "
             "manifest does not have",
             path);
    s_assert_audit_fails(f, path, NULL, want);
    free(line);

    /* Epoch 2 is known, but the certificate was made in epoch 1. */
    line = s_replace(f->lines[1], "\"epoch\":1,", "\"epoch\":2,");
    path = s_export_with(f, "epoch2.jsonl", 1, line);
    snprintf(want, sizeof want, "%s:2: S4: bad_signature", path);
    s_assert_audit_fails(f, path, NULL, want);
    free(line);
}

static void test_audit_data_mismatch(void **state)
{
    i_fixture_t *f = *state;
    s_export(f, true);
    char data[80], text[32];
    s_payload_text(3, text);
    ob_hex_encode((const uint8_t *)text, strlen(text), data);
    char from[100], to[100];
    snprintf(from, sizeof from, "\"data\":\"%s\"", data);
    data[0] = data[0] == '0' ? '1' : '0';
    snprintf(to, sizeof to, "\"data\":\"%s\"", data);
    char *line = s_replace(f->lines[3], from, to);
    const char *path = s_export_with(f, "data.jsonl", 3, line);
    char want[PATH_MAX + 512];
    snprintf(want, sizeof want, "%s:4: payload_mismatch", path);
    s_assert_audit_fails(f, path, NULL, want);
    free(line);
}

/* ------------------------------------------------------------------------- */
/* obcast audit --history: the exports against the signers' own records     */
/* ------------------------------------------------------------------------- */

/* What key k's signer recorded for node1's chain, as obcast-signer history
   prints it: node1 signed each height, the others acked it. `skip` leaves a
   height out, `wrong` records a zero payload there (both -1: none);
   `extra` is one more line (NULL: none). */
static const char *s_history_file(i_fixture_t *f, int k, const char *name, int skip, int wrong,
                                  const char *limit, const char *extra)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    char key[65], seq[65], hex[65], text[32];
    ob_hex_encode(f->keys[k].pub.bytes, 32, key);
    ob_hex_encode(f->keys[1].pub.bytes, 32, seq);
    fprintf(out, "signer %s\n", key);
    if (limit)
        fprintf(out, "limit %s\n", limit);
    for (int h = 0; h <= I_TOP; h++) {
        if (h == skip)
            continue;
        ob_chunk_t chunk = s_chunk(f, 1, (uint64_t)h, s_payload_text((uint64_t)h, text));
        if (h == wrong)
            memset(chunk.payload, 0, 32);
        ob_hex_encode(chunk.payload, 32, hex);
        if (k == 1)
            fprintf(out, "signed height %d payload %s %s\n", h, hex,
                    h == 0 ? "genesis" : "parent_epoch 1");
        else
            fprintf(out, "acked sequencer %s height %d payload %s epoch 1\n", seq, h, hex);
    }
    if (extra)
        fprintf(out, "%s\n", extra);
    assert_int_equal(fclose(out), 0);
    static char kept[4][PATH_MAX];
    static int next;
    char *slot = kept[next++ % 4];
    snprintf(slot, PATH_MAX, "%s", path);
    return slot;
}

/* The fixture's export, in a file of its own (s_write_lines reuses its
   buffer). */
static const char *s_exported(i_fixture_t *f)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", s_write_lines(f, "h.jsonl", f->lines, f->line_count));
    return path;
}

/* obcast audit --manifest M --history H... EXPORT */
static i_run_t s_audit_histories(i_fixture_t *f, const char *const *histories, int count,
                                 const char *export_path)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = "audit";
    argv[argc++] = "--manifest";
    argv[argc++] = f->manifest_path;
    for (int i = 0; i < count && argc < 14; i++) {
        argv[argc++] = "--history";
        argv[argc++] = (char *)histories[i];
    }
    argv[argc++] = (char *)export_path;
    argv[argc] = NULL;
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    i_run_t run = {.rc = ob_cli_audit_to(argc, argv, out, err)};
    run.out = s_slurp(out);
    run.err = s_slurp(err);
    return run;
}

static void test_audit_histories_agree(void **state)
{
    i_fixture_t *f = *state;
    const char *exported = s_exported(f);
    const char *h[4];
    char names[4][16];
    for (int k = 0; k < 4; k++) {
        snprintf(names[k], sizeof names[k], "history%d", k);
        h[k] = s_history_file(f, k, names[k], -1, -1, NULL, NULL);
    }
    i_run_t run = s_audit_histories(f, h, 4, exported);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.err, "");
    s_assert_contains(run.out, "5 certified chunks, 1 sequencers, 4 signer histories (");
    s_run_free(&run);
}

static void test_audit_histories_contradicted(void **state)
{
    i_fixture_t *f = *state;
    const char *exported = s_exported(f);
    char zero[65];
    memset(zero, '0', 64);
    zero[64] = '\0';

    /* A sequencer's record of another chunk at a certified height: S1. */
    const char *h[1] = {s_history_file(f, 1, "node1-wrong", -1, 3, NULL, NULL)};
    i_run_t run = s_audit_histories(f, h, 1, exported);
    assert_int_equal(run.rc, 1);
    char want[512];
    snprintf(want, sizeof want, "S1: node1's signer recorded signing payload %s at height 3", zero);
    s_assert_contains(run.err, want);
    s_run_free(&run);

    /* A validator's record of acking another payload: S2, for each of
       its signatures on that chunk. */
    h[0] = s_history_file(f, 2, "node2-wrong", -1, 2, NULL, NULL);
    run = s_audit_histories(f, h, 1, exported);
    assert_int_equal(run.rc, 1);
    snprintf(want, sizeof want, "S2: node2's signer recorded acking payload %s for node1 height 2",
             zero);
    s_assert_contains(run.err, want);
    s_run_free(&run);

    /* Two chunks recorded at one height within one history: S1. */
    char extra[256];
    snprintf(extra, sizeof extra, "signed height 1 payload %s parent_epoch 1", zero);
    h[0] = s_history_file(f, 1, "node1-twice", -1, -1, NULL, extra);
    run = s_audit_histories(f, h, 1, exported);
    assert_int_equal(run.rc, 1);
    s_assert_contains(run.err, "S1: node1's signer recorded two chunks at height 1");
    s_run_free(&run);
}

/* A signature with no record at all: a violation in a complete history,
   nothing to say in one cut short by --limit. */
static void test_audit_histories_missing_record(void **state)
{
    i_fixture_t *f = *state;
    const char *exported = s_exported(f);
    const char *h[2] = {s_history_file(f, 0, "node0-gap", 1, -1, NULL, NULL),
                        s_history_file(f, 1, "node1-gap", 2, -1, NULL, NULL)};
    i_run_t run = s_audit_histories(f, h, 2, exported);
    assert_int_equal(run.rc, 1);
    s_assert_contains(run.err, "S2: node0's signature certifies node1 height 1, but its signer "
                               "has no record of acking it");
    s_assert_contains(run.err, "S1: node1 height 2 is certified, but node1's signer has no record "
                               "of signing it");
    s_run_free(&run);

    h[0] = s_history_file(f, 0, "node0-limited", 1, -1, "3", NULL);
    h[1] = s_history_file(f, 1, "node1-limited", 2, -1, "3", NULL);
    run = s_audit_histories(f, h, 2, exported);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.err, "");
    s_run_free(&run);
}

static void test_audit_histories_bad_files(void **state)
{
    i_fixture_t *f = *state;
    const char *exported = s_exported(f);
    const char *h[2] = {s_history_file(f, 0, "junk", -1, -1, NULL, "acked sequencer nonsense")};
    i_run_t run = s_audit_histories(f, h, 1, exported);
    assert_int_equal(run.rc, 1);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "obcast audit: %s:%d: not a line of a signer history", h[0],
             2 + I_TOP + 1);
    s_assert_contains(run.err, want);
    s_run_free(&run);

    /* No header: what obcast-signer history printed before it had one. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/headless", f->dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs("signed height 0 payload 00 genesis\n", out);
    assert_int_equal(fclose(out), 0);
    h[0] = path;
    run = s_audit_histories(f, h, 1, exported);
    assert_int_equal(run.rc, 1);
    s_assert_contains(run.err, "headless:1: not a signer history: the first line must be "
                               "'signer KEY'");
    s_run_free(&run);

    /* One signer twice, and a signer the manifest does not know. */
    h[0] = s_history_file(f, 2, "twice-a", -1, -1, NULL, NULL);
    h[1] = s_history_file(f, 2, "twice-b", -1, -1, NULL, NULL);
    run = s_audit_histories(f, h, 2, exported);
    assert_int_equal(run.rc, 1);
    s_assert_contains(run.err, "twice-b: a second history of the signer of");
    s_run_free(&run);

    ob_keypair_t stranger;
    uint8_t secret[32];
    ob_sha256(f->crypto, "stranger", 8, secret);
    assert_int_equal(ob_keypair_from_secret(f->crypto, secret, &stranger), 0);
    char key[65];
    ob_hex_encode(stranger.pub.bytes, 32, key);
    snprintf(path, sizeof path, "%s/stranger", f->dir);
    out = fopen(path, "w");
    assert_non_null(out);
    fprintf(out, "signer %s\n", key);
    assert_int_equal(fclose(out), 0);
    h[0] = path;
    run = s_audit_histories(f, h, 1, exported);
    assert_int_equal(run.rc, 1);
    snprintf(want, sizeof want, "its signer %s is not a node of this manifest", key);
    s_assert_contains(run.err, want);
    s_run_free(&run);

    char *dangling[] = {"audit",          "--manifest", f->manifest_path,
                        (char *)exported, "--history",  NULL};
    FILE *o = tmpfile(), *e = tmpfile();
    assert_int_equal(ob_cli_audit_to(5, dangling, o, e), 2);
    char *text = s_slurp(e);
    s_assert_contains(text, "--history needs a FILE");
    free(text);
    free(s_slurp(o));
}

static void test_audit_usage(void **state)
{
    i_fixture_t *f = *state;
    const char *path = s_write_lines(f, "a.jsonl", f->lines, f->line_count);
    char file[256];
    snprintf(file, sizeof file, "%s", path);
    FILE *out = tmpfile(), *err = tmpfile();
    char *no_manifest[] = {"audit", file, NULL};
    assert_int_equal(ob_cli_audit_to(2, no_manifest, out, err), 2);
    char *no_files[] = {"audit", "--manifest", f->manifest_path, NULL};
    assert_int_equal(ob_cli_audit_to(3, no_files, out, err), 2);
    char *unknown[] = {"audit", "--frob", "--manifest", f->manifest_path, file, NULL};
    assert_int_equal(ob_cli_audit_to(5, unknown, out, err), 2);
    char *dangling[] = {"audit", file, "--manifest", NULL};
    assert_int_equal(ob_cli_audit_to(3, dangling, out, err), 2);
    char *bad_manifest[] = {"audit", "--manifest", file, file, NULL};
    assert_int_equal(ob_cli_audit_to(4, bad_manifest, out, err), 1);
    char missing[PATH_MAX + 512];
    snprintf(missing, sizeof missing, "%s/no-such.jsonl", f->dir);
    char *missing_file[] = {"audit", "--manifest", f->manifest_path, missing, NULL};
    assert_int_equal(ob_cli_audit_to(4, missing_file, out, err), 3); /* an I/O error */
    fclose(out);
    char *text = s_slurp(err);
    s_assert_contains(text, "obcast audit: give --manifest MANIFEST\n");
    s_assert_contains(text, "obcast audit: give at least one EXPORT file\n");
    s_assert_contains(text, "obcast audit: unknown option '--frob'\n");
    s_assert_contains(text, "obcast audit: --manifest needs a value\n");
    s_assert_contains(text, "obcast audit: manifest ");
    char want[PATH_MAX + 1024];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory\n", missing);
    s_assert_contains(text, want);
    free(text);
}

/* ========================================================================= */
/* obcast-signer                                                             */
/* ========================================================================= */

static void test_signer_pubkey(void **state)
{
    i_fixture_t *f = *state;
    char *argv[] = {"pubkey", NULL};
    i_run_t run = s_signer_cmd(f, 1, argv);
    assert_int_equal(run.rc, 1); /* no key file yet */
    s_assert_contains(run.err, "obcast-signer: pubkey: ");
    s_assert_contains(run.err, f->config.key_file);
    s_run_free(&run);

    assert_int_equal(ob_keyfile_write(f->crypto, f->config.key_file, &f->keys[2], NULL), 0);
    run = s_signer_cmd(f, 1, argv);
    assert_int_equal(run.rc, 0);
    char want[66];
    ob_hex_encode(f->keys[2].pub.bytes, 32, want);
    strcat(want, "\n");
    assert_string_equal(run.out, want);
    assert_string_equal(run.err, "");
    s_run_free(&run);

    char *extra[] = {"pubkey", "x", NULL};
    run = s_signer_cmd(f, 2, extra);
    assert_int_equal(run.rc, 2);
    s_run_free(&run);
}

/* A signer record with nodes 0 and 1 of node0 and one ack. */
static void s_signer_record(i_fixture_t *f)
{
    ob_why_t why = {{0}};
    ob_signer_store_t *store = ob_signer_store_open(f->signer_path, OB_DB_SYNC_NORMAL, &why);
    if (!store)
        fail_msg("signer store: %s", why.text);
    assert_int_equal(ob_signer_store_begin(store), 0);
    char text[32];
    for (uint64_t h = 0; h < 2; h++) {
        ob_node_t node = {.chunk = s_chunk(f, 0, h, s_payload_text(h, text))};
        uint8_t entries[I_KEYS * OB_CERT_ENTRY_LEN];
        if (h > 0) {
            ob_chunk_t parent = s_chunk(f, 0, h - 1, s_payload_text(h - 1, text));
            node.has_parent = true;
            memcpy(node.parent.digest, parent.payload, 32);
            node.parent.epoch = 2;
            node.parent.cert = s_cert(f, &parent, 2, I_QUORUM, entries);
        }
        assert_int_equal(
            ob_chunk_sign(f->crypto, f->ns, &f->keys[0], &node.chunk, NULL, node.signature), 0);
        uint8_t bytes[I_NODE_MAX];
        size_t len = 0;
        assert_int_equal(ob_node_encode(&node, bytes, sizeof bytes, &len), 0);
        assert_int_equal(ob_signer_store_record_signed(store, h, node.chunk.payload, bytes, len),
                         0);
    }
    ob_chunk_t acked = s_chunk(f, 1, 3, s_payload_text(3, text));
    assert_int_equal(ob_signer_store_record_ack(store, acked.sequencer, 3, acked.payload, 1, NULL),
                     0);
    assert_int_equal(ob_signer_store_commit(store), 0);
    ob_signer_store_destroy(&store);
}

static void test_signer_history(void **state)
{
    i_fixture_t *f = *state;
    s_signer_record(f);
    assert_int_equal(ob_keyfile_write(f->crypto, f->config.key_file, &f->keys[0], NULL), 0);
    char *argv[] = {"history", NULL};
    i_run_t run = s_signer_cmd(f, 1, argv);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.err, "");
    char text[32], hex[65], seq[65], want[PATH_MAX + 1024];
    /* whose record it is comes first: obcast audit --history needs it */
    ob_hex_encode(f->keys[0].pub.bytes, 32, hex);
    snprintf(want, sizeof want, "signer %s\n", hex);
    assert_memory_equal(run.out, want, strlen(want));
    ob_hex_encode(s_chunk(f, 0, 0, s_payload_text(0, text)).payload, 32, hex);
    snprintf(want, sizeof want, "signed height 0 payload %s genesis\n", hex);
    s_assert_contains(run.out, want);
    ob_hex_encode(s_chunk(f, 0, 1, s_payload_text(1, text)).payload, 32, hex);
    snprintf(want, sizeof want, "signed height 1 payload %s parent_epoch 2\n", hex);
    s_assert_contains(run.out, want);
    ob_hex_encode(f->keys[1].pub.bytes, 32, seq);
    ob_hex_encode(s_chunk(f, 1, 3, s_payload_text(3, text)).payload, 32, hex);
    snprintf(want, sizeof want, "acked sequencer %s height 3 payload %s epoch 1\n", seq, hex);
    s_assert_contains(run.out, want);
    s_run_free(&run);

    char *limited[] = {"history", "--limit", "1", NULL};
    run = s_signer_cmd(f, 3, limited);
    assert_int_equal(run.rc, 0);
    assert_null(strstr(run.out, "signed height 0 "));
    s_assert_contains(run.out, "\nlimit 1\n"); /* a record cut short says so */
    s_assert_contains(run.out, "signed height 1 ");
    s_assert_contains(run.out, "acked sequencer ");
    s_run_free(&run);

    char *bad[] = {"history", "--limit", "zero", NULL};
    run = s_signer_cmd(f, 3, bad);
    assert_int_equal(run.rc, 2);
    s_assert_contains(run.err, "--limit must be a positive number, not 'zero'");
    s_run_free(&run);
}

/* While another process holds signer.db as the running signer does,
   history says so and fails. */
static void test_signer_history_locked(void **state)
{
    i_fixture_t *f = *state;
    s_signer_record(f);
    int ready[2], done[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(done), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(done[1]);
        ob_signer_store_t *store = ob_signer_store_open(f->signer_path, OB_DB_SYNC_NORMAL, NULL);
        char byte = store ? 'y' : 'n';
        if (write(ready[1], &byte, 1) != 1)
            _exit(1);
        while (read(done[0], &byte, 1) > 0)
            ;
        _exit(0);
    }
    close(ready[1]);
    close(done[0]);
    char byte = 0;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    assert_int_equal(byte, 'y');
    char *argv[] = {"history", NULL};
    i_run_t run = s_signer_cmd(f, 1, argv);
    close(done[1]);
    close(ready[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(run.rc, 1);
    char want[PATH_MAX + 512];
    snprintf(want, sizeof want,
             "obcast-signer: history: signer.db is locked by the running signer (%s)\n",
             f->signer_path);
    assert_string_equal(run.err, want);
    assert_string_equal(run.out, "");
    s_run_free(&run);

    /* pubkey needs no database. */
    assert_int_equal(ob_keyfile_write(f->crypto, f->config.key_file, &f->keys[0], NULL), 0);
    char *pubkey[] = {"pubkey", NULL};
    run = s_signer_cmd(f, 1, pubkey);
    assert_int_equal(run.rc, 0);
    s_run_free(&run);
}

#define I_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        I_TEST(test_tips),
        I_TEST(test_show),
        I_TEST(test_show_errors),
        I_TEST(test_missing_database_is_never_created),
        I_TEST(test_export_lines),
        I_TEST(test_export_pruned_payload),
        I_TEST(test_audit_accepts_the_export),
        I_TEST(test_audit_tampered_signature),
        I_TEST(test_audit_conflict_across_files),
        I_TEST(test_audit_gap),
        I_TEST(test_audit_parent_link),
        I_TEST(test_audit_malformed_lines),
        I_TEST(test_audit_unknown_epoch),
        I_TEST(test_audit_data_mismatch),
        I_TEST(test_audit_usage),
        I_TEST(test_audit_histories_agree),
        I_TEST(test_audit_histories_contradicted),
        I_TEST(test_audit_histories_missing_record),
        I_TEST(test_audit_histories_bad_files),
        I_TEST(test_signer_pubkey),
        I_TEST(test_signer_history),
        I_TEST(test_signer_history_locked),
    };
    return cmocka_run_group_tests_name("inspect", tests, NULL, NULL);
}

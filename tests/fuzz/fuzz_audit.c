/*  libFuzzer target: the export reader and checks of `obcast audit`
    (actors/cli/audit.c: s_audit_stream, then the S3 and per-file checks),
    against the manifest of the cluster that wrote the seeds
    (tests/fuzz/audit.zpl, made with them by make_audit_corpus.sh). The
    command's source is compiled into the target (it is included) to reach
    its reader without a file.

    The input is one export, or two split at the first NUL byte (an export
    holds none): S3 is checked across files. Checks: the reader never runs
    out of memory; every violation it prints is one line, "FILE:LINE:
    what" or "FILE: what", naming one of the two files, and as many lines
    as it counts (up to the 1000 it prints); every certificate it records
    comes from a line of the file it names. */
#include "fuzz_common.h"

#include "../../actors/cli/audit.c"

#ifndef FUZZ_AUDIT_MANIFEST
#error "FUZZ_AUDIT_MANIFEST: the path of tests/fuzz/audit.zpl"
#endif

static ob_crypto_t *s_crypto;
static ob_manifest_t *s_manifest;
static char *s_names[2] = {"a.jsonl", "b.jsonl"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    s_crypto = ob_crypto_new();
    FUZZ_CHECK(s_crypto != NULL);
    ob_why_t why = {{0}};
    s_manifest = ob_manifest_load(s_crypto, FUZZ_AUDIT_MANIFEST, &why);
    if (!s_manifest)
        fprintf(stderr, "fuzz_audit: %s\n", why.text);
    FUZZ_CHECK(s_manifest != NULL);
    return 0;
}

/* A stream of `len` bytes (fmemopen refuses none). */
static FILE *s_open(const uint8_t *data, size_t len)
{
    FILE *f = len ? fmemopen((void *)data, len, "r") : fopen("/dev/null", "r");
    FUZZ_CHECK(f != NULL);
    return f;
}

/* Every line of `err` names a file: "a.jsonl:" or "b.jsonl:". */
static uint64_t s_check_lines(const char *err, size_t len)
{
    uint64_t lines = 0;
    const char *p = err, *end = err + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        FUZZ_CHECK(nl != NULL);
        FUZZ_CHECK(strncmp(p, "a.jsonl:", 8) == 0 || strncmp(p, "b.jsonl:", 8) == 0);
        lines++;
        p = nl + 1;
    }
    return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copied, so that fmemopen reads exactly the input's bytes. */
    uint8_t *copy = fuzz_dup(data, size);
    const uint8_t *nul = memchr(copy, 0, size);
    size_t first = nul ? (size_t)(nul - copy) : size;
    char *err_text = NULL;
    size_t err_len = 0;
    FILE *err = open_memstream(&err_text, &err_len);
    FUZZ_CHECK(err != NULL);
    s_audit_t self = {.out = err, .err = err, .crypto = s_crypto, .manifest = s_manifest};
    self.epochs = ob_manifest_epochs(s_manifest);
    self.ns = ob_manifest_namespace(s_manifest);
    self.max_payload = ob_manifest_max_payload(s_manifest);
    self.files = s_names;
    self.file_count = nul ? 2 : 1;

    uint64_t lines[2] = {0, 0};
    for (uint32_t f = 0; f < self.file_count; f++) {
        const uint8_t *start = f == 0 ? copy : copy + first + 1;
        size_t len = f == 0 ? first : size - first - 1;
        for (size_t i = 0; i < len; i++)
            lines[f] += start[i] == '\n';
        lines[f] += len > 0 && start[len - 1] != '\n';
        FILE *in = s_open(start, len);
        FUZZ_CHECK(s_audit_stream(&self, f, in) == 0);
        fclose(in);
    }
    for (size_t i = 0; i < self.count; i++) {
        const s_entry_t *e = &self.entries[i];
        FUZZ_CHECK(e->file < self.file_count);
        FUZZ_CHECK(e->line >= 1 && e->line <= lines[e->file]);
    }
    FUZZ_CHECK(self.count <= 2 * (lines[0] + lines[1]));
    uint64_t chunks = 0, sequencers = 0;
    s_check_s3(&self, &chunks, &sequencers);
    s_check_files(&self);
    FUZZ_CHECK(chunks <= self.count && sequencers <= chunks);
    FUZZ_CHECK(fclose(err) == 0);
    uint64_t printed = s_check_lines(err_text, err_len);
    /* One line per violation, but one for all of a file's foreign
       sequencers (they count each), and at most S_MAX_REPORTED. */
    FUZZ_CHECK(printed == self.reported && self.reported <= self.violations &&
               self.reported <= S_MAX_REPORTED);
    free(err_text);
    free(self.entries);
    free(copy);
    return 0;
}

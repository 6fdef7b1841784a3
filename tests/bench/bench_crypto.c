/*  bench_crypto: single-threaded rates of the crypto obcast spends its time
    in (BIP340 sign and verify, certificate verification, SHA-256, the ack
    tagged hash), and the crypto bound of SPEC §9 they imply for n = 4 on
    this machine.

    Each figure is one measurement of about --seconds of wall time
    (CLOCK_MONOTONIC), run in batches that grow until one batch takes about
    a thousandth of the measurement, so reading the clock costs nothing
    worth counting. Validators are deterministic: secret i = SHA256("bench-
    key-" i). Nothing here asserts a timing. */
#include "cert.h"
#include "crypto.h"
#include "keyset.h"
#include "signing.h"

#include "wire.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* SPEC §9, measured limits. */
#define SPEC_SIGN_US   23.0
#define SPEC_VERIFY_US 39.0

#define MAX_SECONDS 600.0
/* Bounds on the measuring loop, whatever the clock says. */
#define MAX_ROUNDS (1u << 22)
#define MAX_BATCH  ((uint64_t)1 << 26)

typedef void(s_op_fn)(void *ctx);

typedef struct {
    uint64_t ops;
    double seconds;
} s_result_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static s_result_t s_measure(s_op_fn *op, void *ctx, double seconds)
{
    op(ctx); /* warm caches and lazy state */
    const double batch_target = seconds / 1000.0;
    uint64_t ops = 0;
    uint64_t batch = 1;
    const double start = s_now();
    double elapsed = 0.0;
    for (unsigned round = 0; round < MAX_ROUNDS && elapsed < seconds; round++) {
        const double batch_start = s_now();
        for (uint64_t i = 0; i < batch; i++)
            op(ctx);
        ops += batch;
        const double now = s_now();
        elapsed = now - start;
        if (now - batch_start < batch_target && batch < MAX_BATCH)
            batch *= 2;
    }
    return (s_result_t){.ops = ops, .seconds = elapsed};
}

static double s_rate(s_result_t r)
{
    return r.seconds > 0.0 ? (double)r.ops / r.seconds : 0.0;
}

static double s_us_per_op(s_result_t r)
{
    return r.ops > 0 ? r.seconds * 1e6 / (double)r.ops : 0.0;
}

static void s_die(const char *what)
{
    fprintf(stderr, "bench_crypto: %s\n", what);
    exit(1);
}

/* --- operations measured ------------------------------------------------ */

typedef struct {
    ob_crypto_t *crypto;
    const ob_keypair_t *pair;
    uint8_t msg[32];
    const uint8_t *aux;
    uint8_t signature[64];
    uint64_t failures;
} s_sign_ctx_t;

static void s_op_sign(void *arg)
{
    s_sign_ctx_t *c = arg;
    if (ob_schnorr_sign(c->crypto, c->pair, c->msg, sizeof c->msg, c->aux, c->signature) != 0)
        c->failures++;
    c->msg[0] ^= c->signature[0]; /* vary the message, and use the result */
}

typedef struct {
    ob_crypto_t *crypto;
    const ob_pubkey_t *pub;
    uint8_t msg[32];
    uint8_t signature[64];
    uint64_t failures;
} s_verify_ctx_t;

static void s_op_verify(void *arg)
{
    s_verify_ctx_t *c = arg;
    if (!ob_schnorr_verify(c->crypto, c->pub, c->msg, sizeof c->msg, c->signature))
        c->failures++;
}

typedef struct {
    ob_crypto_t *crypto;
    const ob_namespace_t *ns;
    const ob_keyset_t *validators;
    const ob_chunk_t *chunk;
    uint64_t epoch;
    const ob_cert_t *cert;
    uint64_t failures;
} s_cert_ctx_t;

static void s_op_cert(void *arg)
{
    s_cert_ctx_t *c = arg;
    if (ob_cert_verify(c->crypto, c->ns, c->validators, c->chunk, c->epoch, c->cert) != OB_OK)
        c->failures++;
}

typedef struct {
    ob_crypto_t *crypto;
    const uint8_t *data;
    size_t len;
    uint8_t digest[32];
} s_sha_ctx_t;

static void s_op_sha(void *arg)
{
    s_sha_ctx_t *c = arg;
    ob_sha256(c->crypto, c->data, c->len, c->digest);
}

typedef struct {
    ob_crypto_t *crypto;
    const uint8_t *tag;
    uint8_t msg[OB_CHUNK_LEN + 8];
    uint8_t digest[32];
    uint64_t failures;
} s_tagged_ctx_t;

static void s_op_tagged(void *arg)
{
    s_tagged_ctx_t *c = arg;
    if (ob_tagged_hash(c->crypto, c->tag, c->msg, sizeof c->msg, c->digest) != 0)
        c->failures++;
    c->msg[0] ^= c->digest[0];
}

/* --- the validators of one epoch ---------------------------------------- */

typedef struct {
    uint16_t n;
    uint16_t q;
    ob_keypair_t *pairs; /* in generation order */
    ob_keyset_t *set;    /* sorted: positions are validator indices */
    uint8_t *entries;
    ob_cert_t cert;
} s_epoch_t;

static void s_bench_key(ob_crypto_t *crypto, unsigned i, ob_keypair_t *out)
{
    char seed[32];
    int len = snprintf(seed, sizeof seed, "bench-key-%u", i);
    uint8_t secret[OB_SECRET_LEN];
    ob_sha256(crypto, seed, (size_t)len, secret);
    if (ob_keypair_from_secret(crypto, secret, out) != 0)
        s_die("a bench key is not a valid secret");
    memset(secret, 0, sizeof secret);
}

/* n validators and a certificate of the first q of them (generation order)
   on (chunk, epoch). */
static void s_epoch_new(s_epoch_t *self, ob_crypto_t *crypto, const ob_namespace_t *ns, uint16_t n,
                        const ob_chunk_t *chunk, uint64_t epoch)
{
    memset(self, 0, sizeof *self);
    self->n = n;
    self->q = ob_quorum(n);
    self->pairs = calloc(n, sizeof *self->pairs);
    uint8_t(*keys)[32] = calloc(n, sizeof *keys);
    ob_ack_t *acks = calloc(self->q, sizeof *acks);
    self->entries = malloc(OB_CERT_ENTRIES_LEN(self->q));
    if (!self->pairs || !keys || !acks || !self->entries)
        s_die("out of memory");
    for (uint16_t i = 0; i < n; i++) {
        s_bench_key(crypto, i, &self->pairs[i]);
        memcpy(keys[i], self->pairs[i].pub.bytes, 32);
    }
    ob_why_t why;
    self->set = ob_keyset_new(crypto, (const uint8_t(*)[32])keys, n, &why);
    if (!self->set)
        s_die(why.text);
    const uint8_t aux[OB_AUX_LEN] = {0};
    for (uint16_t i = 0; i < self->q; i++) {
        acks[i].chunk = *chunk;
        acks[i].epoch = epoch;
        if (!ob_keyset_index_of(self->set, self->pairs[i].pub.bytes, &acks[i].index) ||
            ob_ack_sign(crypto, ns, &self->pairs[i], chunk, epoch, aux, acks[i].signature) != 0)
            s_die("cannot sign an ack");
    }
    ob_error_t rc = ob_cert_assemble(acks, self->q, n, self->entries, OB_CERT_ENTRIES_LEN(self->q),
                                     &self->cert);
    if (rc != OB_OK)
        s_die(ob_error_name(rc));
    rc = ob_cert_verify(crypto, ns, self->set, chunk, epoch, &self->cert);
    if (rc != OB_OK)
        s_die(ob_error_name(rc));
    free(acks);
    free(keys);
}

static void s_epoch_destroy(s_epoch_t *self)
{
    for (uint16_t i = 0; i < self->n; i++)
        ob_keypair_wipe(&self->pairs[i]);
    free(self->pairs);
    free(self->entries);
    ob_keyset_destroy(&self->set);
}

/* --- command line ------------------------------------------------------- */

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: bench_crypto [--json] [--seconds S] [--help]\n"
            "  Single-threaded rates of BIP340 sign and verify, certificate\n"
            "  verification (n = 4, 10, 100), SHA-256 and the ack tagged hash, and\n"
            "  the SPEC section 9 crypto bound for n = 4 on this machine.\n"
            "  --json       print one JSON object instead of aligned lines\n"
            "  --seconds S  wall time per measurement, 0 < S <= %g (default 1.0)\n"
            "  --help       print this and exit\n",
            MAX_SECONDS);
}

/* One line on stderr, exit 2: "bench_crypto: <what> '<arg>' (try --help)". */
static void s_bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "bench_crypto: %s '%s' (try --help)\n", what, arg);
    exit(2);
}

static double s_parse_seconds(const char *text)
{
    char *end = NULL;
    errno = 0;
    double s = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(s) || s <= 0.0 || s > MAX_SECONDS)
        s_bad_usage("--seconds wants a number of seconds in (0, 600], not", text);
    return s;
}

/* --- output ------------------------------------------------------------- */

#define SHA_SIZES 4
#define CERT_NS   3

typedef struct {
    double seconds;
    long cores;
    s_result_t sign_null, sign_aux, verify, tagged;
    uint16_t cert_n[CERT_NS], cert_q[CERT_NS];
    s_result_t cert[CERT_NS];
    size_t sha_len[SHA_SIZES];
    s_result_t sha[SHA_SIZES];
    /* SPEC §9 crypto bound, n = 4 */
    uint16_t bound_n, bound_q;
    unsigned bound_signs, bound_verifies;
    double cost_us, bound, spec_cost_us, spec_bound;
} s_report_t;

static double s_mb_per_s(s_result_t r, size_t len)
{
    return s_rate(r) * (double)len / 1e6;
}

static const char *s_size_name(size_t len, char *buf, size_t cap)
{
    if (len >= 1024 * 1024 && len % (1024 * 1024) == 0)
        snprintf(buf, cap, "%zu MiB", len / (1024 * 1024));
    else if (len >= 1024 && len % 1024 == 0)
        snprintf(buf, cap, "%zu KiB", len / 1024);
    else
        snprintf(buf, cap, "%zu B", len);
    return buf;
}

static void s_print_text(const s_report_t *r)
{
    printf("bench_crypto: single thread, %.2f s per measurement, %ld cores online\n\n", r->seconds,
           r->cores);
    printf("%-32s %12.0f ops/s   %9.2f µs/op\n", "BIP340 sign (aux NULL)", s_rate(r->sign_null),
           s_us_per_op(r->sign_null));
    printf("%-32s %12.0f ops/s   %9.2f µs/op\n", "BIP340 sign (aux given)", s_rate(r->sign_aux),
           s_us_per_op(r->sign_aux));
    printf("%-32s %12.0f ops/s   %9.2f µs/op\n", "BIP340 verify", s_rate(r->verify),
           s_us_per_op(r->verify));
    for (int i = 0; i < CERT_NS; i++) {
        char label[64];
        snprintf(label, sizeof label, "cert verify n=%u q=%u", r->cert_n[i], r->cert_q[i]);
        printf("%-32s %12.1f certs/s %9.2f µs/cert %10.0f sigs/s\n", label, s_rate(r->cert[i]),
               s_us_per_op(r->cert[i]), s_rate(r->cert[i]) * r->cert_q[i]);
    }
    for (int i = 0; i < SHA_SIZES; i++) {
        char size[32], label[64];
        snprintf(label, sizeof label, "SHA-256 %s", s_size_name(r->sha_len[i], size, sizeof size));
        printf("%-32s %12.1f MB/s    %9.3f µs/op\n", label, s_mb_per_s(r->sha[i], r->sha_len[i]),
               s_us_per_op(r->sha[i]));
    }
    printf("%-32s %12.0f ops/s   %9.3f µs/op\n", "tagged hash, ack (80 B)", s_rate(r->tagged),
           s_us_per_op(r->tagged));

    printf("\nSPEC §9 crypto bound, n=%u q=%u: %u signs + %u verifies per certified chunk\n",
           r->bound_n, r->bound_q, r->bound_signs, r->bound_verifies);
    printf("%-32s %9.1f µs/chunk/core -> %8.0f chunks/s on %ld cores\n",
           "  this machine (aux NULL sign)", r->cost_us, r->bound, r->cores);
    printf("%-32s %9.1f µs/chunk/core -> %8.0f chunks/s on %ld cores\n",
           "  spec figures (23 / 39 µs)", r->spec_cost_us, r->spec_bound, r->cores);
    printf("%-32s sign time %.2fx, verify time %.2fx, bound %.2fx the spec's\n",
           "  this machine vs spec", s_us_per_op(r->sign_null) / SPEC_SIGN_US,
           s_us_per_op(r->verify) / SPEC_VERIFY_US,
           r->spec_bound > 0.0 ? r->bound / r->spec_bound : 0.0);
}

static void s_json_rate(const char *name, s_result_t res, bool comma)
{
    printf("\"%s\":{\"ops\":%llu,\"seconds\":%.6f,\"ops_per_s\":%.3f,\"us_per_op\":%.4f}%s", name,
           (unsigned long long)res.ops, res.seconds, s_rate(res), s_us_per_op(res),
           comma ? "," : "");
}

static void s_print_json(const s_report_t *r)
{
    printf("{\"seconds_per_measurement\":%.6f,\"cores\":%ld,", r->seconds, r->cores);
    s_json_rate("sign_aux_null", r->sign_null, true);
    s_json_rate("sign_aux_given", r->sign_aux, true);
    s_json_rate("verify", r->verify, true);
    printf("\"cert_verify\":[");
    for (int i = 0; i < CERT_NS; i++)
        printf("%s{\"n\":%u,\"q\":%u,\"certs\":%llu,\"seconds\":%.6f,\"certs_per_s\":%.3f,"
               "\"us_per_cert\":%.4f,\"signatures_per_s\":%.3f}",
               i ? "," : "", r->cert_n[i], r->cert_q[i], (unsigned long long)r->cert[i].ops,
               r->cert[i].seconds, s_rate(r->cert[i]), s_us_per_op(r->cert[i]),
               s_rate(r->cert[i]) * r->cert_q[i]);
    printf("],\"sha256\":[");
    for (int i = 0; i < SHA_SIZES; i++)
        printf("%s{\"bytes\":%zu,\"ops\":%llu,\"seconds\":%.6f,\"mb_per_s\":%.3f,"
               "\"us_per_op\":%.4f}",
               i ? "," : "", r->sha_len[i], (unsigned long long)r->sha[i].ops, r->sha[i].seconds,
               s_mb_per_s(r->sha[i], r->sha_len[i]), s_us_per_op(r->sha[i]));
    printf("],");
    s_json_rate("tagged_hash_ack_80", r->tagged, true);
    printf("\"crypto_bound\":{\"n\":%u,\"q\":%u,\"signs\":%u,\"verifies\":%u,"
           "\"cost_us\":%.3f,\"chunks_per_s\":%.3f,\"spec_sign_us\":%.1f,\"spec_verify_us\":%.1f,"
           "\"spec_cost_us\":%.3f,\"spec_chunks_per_s\":%.3f}}\n",
           r->bound_n, r->bound_q, r->bound_signs, r->bound_verifies, r->cost_us, r->bound,
           SPEC_SIGN_US, SPEC_VERIFY_US, r->spec_cost_us, r->spec_bound);
}

/* --- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    bool json = false;
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            s_usage(stdout);
            return 0;
        } else if (strcmp(arg, "--json") == 0) {
            json = true;
        } else if (strcmp(arg, "--seconds") == 0) {
            if (i + 1 >= argc)
                s_bad_usage("missing value after", arg);
            seconds = s_parse_seconds(argv[++i]);
        } else if (strncmp(arg, "--seconds=", 10) == 0) {
            seconds = s_parse_seconds(arg + 10);
        } else {
            s_bad_usage("unknown argument", arg);
        }
    }

    ob_crypto_t *crypto = ob_crypto_new();
    if (!crypto)
        s_die("cannot create a crypto context");
    ob_namespace_t ns;
    ob_why_t why;
    if (ob_namespace_init(&ns, crypto, "obcast-bench", 12, &why) != 0)
        s_die(why.text);

    s_report_t r = {.seconds = seconds, .cores = sysconf(_SC_NPROCESSORS_ONLN)};
    if (r.cores < 1)
        r.cores = 1;

    ob_keypair_t signer;
    s_bench_key(crypto, 0, &signer);

    /* BIP340 sign, then verify of what was signed. */
    s_sign_ctx_t sign = {.crypto = crypto, .pair = &signer};
    ob_sha256(crypto, "bench-message", 13, sign.msg);
    r.sign_null = s_measure(s_op_sign, &sign, seconds);
    const uint8_t aux[OB_AUX_LEN] = {1};
    sign.aux = aux;
    r.sign_aux = s_measure(s_op_sign, &sign, seconds);
    if (sign.failures)
        s_die("ob_schnorr_sign failed");

    s_verify_ctx_t verify = {.crypto = crypto, .pub = &signer.pub};
    memcpy(verify.msg, sign.msg, sizeof verify.msg);
    if (ob_schnorr_sign(crypto, &signer, verify.msg, sizeof verify.msg, aux, verify.signature))
        s_die("ob_schnorr_sign failed");
    r.verify = s_measure(s_op_verify, &verify, seconds);
    if (verify.failures)
        s_die("ob_schnorr_verify rejected a valid signature");

    /* Certificates of a quorum. */
    ob_chunk_t chunk = {.height = 1};
    memcpy(chunk.sequencer, signer.pub.bytes, OB_KEY_LEN);
    ob_sha256(crypto, "bench-payload", 13, chunk.payload);
    const uint64_t epoch = 1;
    const uint16_t ns_list[CERT_NS] = {4, 10, 100};
    for (int i = 0; i < CERT_NS; i++) {
        s_epoch_t ep;
        s_epoch_new(&ep, crypto, &ns, ns_list[i], &chunk, epoch);
        s_cert_ctx_t cert = {.crypto = crypto,
                             .ns = &ns,
                             .validators = ep.set,
                             .chunk = &chunk,
                             .epoch = epoch,
                             .cert = &ep.cert};
        r.cert_n[i] = ep.n;
        r.cert_q[i] = ep.q;
        r.cert[i] = s_measure(s_op_cert, &cert, seconds);
        if (cert.failures)
            s_die("ob_cert_verify rejected a valid certificate");
        s_epoch_destroy(&ep);
    }

    /* SHA-256 over buffers of several sizes. */
    const size_t sha_sizes[SHA_SIZES] = {64, 1024, 64 * 1024, 1024 * 1024};
    uint8_t *buf = malloc(sha_sizes[SHA_SIZES - 1]);
    if (!buf)
        s_die("out of memory");
    for (size_t i = 0; i < sha_sizes[SHA_SIZES - 1]; i++)
        buf[i] = (uint8_t)(i * 131u + 7u);
    for (int i = 0; i < SHA_SIZES; i++) {
        s_sha_ctx_t sha = {.crypto = crypto, .data = buf, .len = sha_sizes[i]};
        r.sha_len[i] = sha_sizes[i];
        r.sha[i] = s_measure(s_op_sha, &sha, seconds);
    }
    free(buf);

    /* The tagged hash of an ack: TaggedHash(ns ‖ "_ACK", Chunk ‖ epoch). */
    s_tagged_ctx_t tagged = {.crypto = crypto, .tag = ns.ack_tag};
    size_t written = 0;
    if (ob_chunk_encode(&chunk, tagged.msg, sizeof tagged.msg, &written) != 0 ||
        written != OB_CHUNK_LEN)
        s_die("cannot encode the bench chunk");
    for (int i = 0; i < 8; i++)
        tagged.msg[OB_CHUNK_LEN + i] = (uint8_t)(epoch >> (56 - 8 * i));
    r.tagged = s_measure(s_op_tagged, &tagged, seconds);
    if (tagged.failures)
        s_die("ob_tagged_hash failed");

    /* SPEC §9: (n+1) signs + ((n-1) + n(q-1)) verifies per certified chunk;
       production signs with aux NULL. */
    r.bound_n = 4;
    r.bound_q = ob_quorum(r.bound_n);
    r.bound_signs = r.bound_n + 1u;
    r.bound_verifies = (r.bound_n - 1u) + (unsigned)r.bound_n * (r.bound_q - 1u);
    r.cost_us = r.bound_signs * s_us_per_op(r.sign_null) + r.bound_verifies * s_us_per_op(r.verify);
    r.bound = r.cost_us > 0.0 ? (double)r.cores / (r.cost_us * 1e-6) : 0.0;
    r.spec_cost_us = r.bound_signs * SPEC_SIGN_US + r.bound_verifies * SPEC_VERIFY_US;
    r.spec_bound = (double)r.cores / (r.spec_cost_us * 1e-6);

    if (json)
        s_print_json(&r);
    else
        s_print_text(&r);

    ob_keypair_wipe(&signer);
    ob_crypto_destroy(&crypto);
    return fflush(stdout) == 0 ? 0 : 1;
}

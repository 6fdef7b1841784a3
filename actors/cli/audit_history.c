#include "audit_history.h"

#include "hex.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds: a history line is under 250 characters; one history per key of
   a manifest, which holds at most this many nodes. */
#define S_LINE_MAX    512
#define S_TOKENS_MAX  12
#define S_HISTORY_MAX 1024

typedef struct {
    uint64_t height;
    uint8_t payload[32];
    uint64_t line;
} s_signed_t;

typedef struct {
    uint8_t sequencer[32];
    uint64_t height;
    uint8_t payload[32];
    uint64_t line;
} s_acked_t;

typedef struct {
    uint8_t key[32];
    bool complete;
    char *path;
    s_signed_t *signed_nodes;
    size_t signed_count, signed_cap;
    s_acked_t *acks;
    size_t ack_count, ack_cap;
} s_history_t;

struct _ob_audit_histories_t {
    ob_audit_report_fn *report;
    ob_audit_name_fn *name;
    void *ctx;
    s_history_t *histories;
    size_t count;
    uint64_t matched;
};

ob_audit_histories_t *ob_audit_histories_new(ob_audit_report_fn *report, ob_audit_name_fn *name,
                                             void *ctx)
{
    assert(report && name);
    ob_audit_histories_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->histories = calloc(S_HISTORY_MAX, sizeof *self->histories);
    if (!self->histories) {
        free(self);
        return NULL;
    }
    self->report = report;
    self->name = name;
    self->ctx = ctx;
    return self;
}

static void s_history_free(s_history_t *h)
{
    free(h->path);
    free(h->signed_nodes);
    free(h->acks);
    memset(h, 0, sizeof *h);
}

void ob_audit_histories_destroy(ob_audit_histories_t **self_p)
{
    assert(self_p);
    ob_audit_histories_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++)
        s_history_free(&self->histories[i]);
    free(self->histories);
    free(self);
    *self_p = NULL;
}

static void s_report(ob_audit_histories_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_report(ob_audit_histories_t *self, const char *fmt, ...)
{
    char line[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    self->report(self->ctx, line);
}

/* --- reading ---------------------------------------------------------------- */

static int s_grow(void **items, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return 0;
    size_t next = *cap ? *cap * 2 : 256;
    if (next > SIZE_MAX / size)
        return -1;
    void *grown = realloc(*items, next * size);
    if (!grown)
        return -1;
    *items = grown;
    *cap = next;
    return 0;
}

/* A strict decimal below 2^63, as the signer writes heights and epochs. */
static bool s_number(const char *text, uint64_t *out)
{
    size_t len = strlen(text);
    if (len == 0 || len > 19 || (len > 1 && text[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(text[i] - '0');
    }
    if (v > INT64_MAX)
        return false;
    *out = v;
    return true;
}

static bool s_key(const char *text, uint8_t out[32])
{
    if (strlen(text) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
            return false;
    return ob_hex_decode_exact(text, out, 32) == 0;
}

/* Splits `line` at single spaces, in place. */
static size_t s_tokens(char *line, char *tokens[S_TOKENS_MAX + 1])
{
    size_t n = 0;
    for (char *p = line; *p && n <= S_TOKENS_MAX;) {
        tokens[n++] = p;
        char *space = strchr(p, ' ');
        if (!space)
            break;
        *space = '\0';
        p = space + 1;
    }
    return n;
}

/* One line after the header; false if it is not a history's. */
static bool s_parse_record(s_history_t *h, char *text, uint64_t lineno, bool *oom)
{
    char *t[S_TOKENS_MAX + 1];
    size_t n = s_tokens(text, t);
    if (n >= 5 && strcmp(t[0], "signed") == 0 && strcmp(t[1], "height") == 0 &&
        strcmp(t[3], "payload") == 0) {
        s_signed_t rec = {.line = lineno};
        uint64_t epoch;
        bool tail = (n == 6 && strcmp(t[5], "genesis") == 0) ||
                    (n == 7 && strcmp(t[5], "parent_epoch") == 0 && s_number(t[6], &epoch)) ||
                    (n == 7 && strcmp(t[5], "node") == 0 && strcmp(t[6], "undecodable") == 0);
        if (!tail || !s_number(t[2], &rec.height) || !s_key(t[4], rec.payload))
            return false;
        if (s_grow((void **)&h->signed_nodes, &h->signed_cap, h->signed_count, sizeof rec) != 0) {
            *oom = true;
            return false;
        }
        h->signed_nodes[h->signed_count++] = rec;
        return true;
    }
    if (n == 9 && strcmp(t[0], "acked") == 0 && strcmp(t[1], "sequencer") == 0 &&
        strcmp(t[3], "height") == 0 && strcmp(t[5], "payload") == 0 && strcmp(t[7], "epoch") == 0) {
        s_acked_t rec = {.line = lineno};
        uint64_t epoch;
        if (!s_key(t[2], rec.sequencer) || !s_number(t[4], &rec.height) ||
            !s_key(t[6], rec.payload) || !s_number(t[8], &epoch))
            return false;
        if (s_grow((void **)&h->acks, &h->ack_cap, h->ack_count, sizeof rec) != 0) {
            *oom = true;
            return false;
        }
        h->acks[h->ack_count++] = rec;
        return true;
    }
    return false;
}

static int s_cmp_signed(const void *a, const void *b)
{
    const s_signed_t *x = a, *y = b;
    if (x->height != y->height)
        return x->height < y->height ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int s_cmp_acked(const void *a, const void *b)
{
    const s_acked_t *x = a, *y = b;
    int c = memcmp(x->sequencer, y->sequencer, 32);
    if (c)
        return c;
    if (x->height != y->height)
        return x->height < y->height ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Sorts the records and reports two payloads for one height (S1) or one
   (sequencer, height) (S2) within the file; exact repeats collapse. */
static void s_index(ob_audit_histories_t *self, s_history_t *h)
{
    char hex[65], a[65], b[65];
    const char *who = self->name(self->ctx, h->key, hex);
    if (h->signed_count > 1) /* qsort wants a base even for none */
        qsort(h->signed_nodes, h->signed_count, sizeof *h->signed_nodes, s_cmp_signed);
    size_t kept = 0;
    for (size_t i = 0; i < h->signed_count; i++) {
        s_signed_t *r = &h->signed_nodes[i];
        if (kept > 0 && h->signed_nodes[kept - 1].height == r->height) {
            if (memcmp(h->signed_nodes[kept - 1].payload, r->payload, 32) != 0) {
                ob_hex_encode(h->signed_nodes[kept - 1].payload, 32, a);
                ob_hex_encode(r->payload, 32, b);
                s_report(self,
                         "%s:%" PRIu64 ": S1: %s's signer recorded two chunks at height %" PRIu64
                         ": payload %s (line %" PRIu64 ") and %s",
                         h->path, r->line, who, r->height, a, h->signed_nodes[kept - 1].line, b);
            }
            continue;
        }
        h->signed_nodes[kept++] = *r;
    }
    h->signed_count = kept;
    if (h->ack_count > 1)
        qsort(h->acks, h->ack_count, sizeof *h->acks, s_cmp_acked);
    kept = 0;
    for (size_t i = 0; i < h->ack_count; i++) {
        s_acked_t *r = &h->acks[i];
        s_acked_t *last = kept > 0 ? &h->acks[kept - 1] : NULL;
        if (last && last->height == r->height && memcmp(last->sequencer, r->sequencer, 32) == 0) {
            if (memcmp(last->payload, r->payload, 32) != 0) {
                char seq_hex[65];
                ob_hex_encode(last->payload, 32, a);
                ob_hex_encode(r->payload, 32, b);
                s_report(self,
                         "%s:%" PRIu64 ": S2: %s's signer recorded acking two payloads for %s "
                         "height %" PRIu64 ": %s (line %" PRIu64 ") and %s",
                         h->path, r->line, who, self->name(self->ctx, r->sequencer, seq_hex),
                         r->height, a, last->line, b);
            }
            continue;
        }
        h->acks[kept++] = *r;
    }
    h->ack_count = kept;
}

int ob_audit_histories_load(ob_audit_histories_t *self, const char *path, ob_why_t *why)
{
    if (self->count == S_HISTORY_MAX)
        return ob_why(why, "--history %s: more than %d histories", path, S_HISTORY_MAX);
    FILE *file = fopen(path, "r");
    if (!file)
        return ob_why(why, "--history %s: cannot read: %s", path, strerror(errno));
    s_history_t h = {.complete = true, .path = strdup(path)};
    int rc = h.path ? 0 : ob_why(why, "out of memory");
    char line[S_LINE_MAX];
    uint64_t lineno = 0;
    bool header = false, oom = false;
    while (rc == 0 && fgets(line, sizeof line, file)) {
        lineno++;
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') {
            rc = ob_why(why, "%s:%" PRIu64 ": %s", path, lineno,
                        len + 1 == sizeof line ? "a line too long for a signer history"
                                               : "the last line has no newline (cut short?)");
            break;
        }
        line[len - 1] = '\0';
        char *t[S_TOKENS_MAX + 1];
        if (!header) {
            char copy[S_LINE_MAX];
            memcpy(copy, line, len);
            if (s_tokens(copy, t) != 2 || strcmp(t[0], "signer") != 0 || !s_key(t[1], h.key))
                rc = ob_why(why,
                            "%s:1: not a signer history: the first line must be 'signer KEY' "
                            "(obcast-signer history prints it)",
                            path);
            header = true;
            continue;
        }
        if (strncmp(line, "limit ", 6) == 0) {
            uint64_t limit;
            if (lineno != 2 || !s_number(line + 6, &limit))
                rc = ob_why(why, "%s:%" PRIu64 ": 'limit N' belongs on line 2 only", path, lineno);
            h.complete = false;
            continue;
        }
        if (!s_parse_record(&h, line, lineno, &oom))
            rc = oom ? ob_why(why, "out of memory")
                     : ob_why(why, "%s:%" PRIu64 ": not a line of a signer history", path, lineno);
    }
    if (rc == 0 && ferror(file))
        rc = ob_why(why, "--history %s: cannot read: %s", path, strerror(errno));
    if (rc == 0 && !header)
        rc = ob_why(why, "--history %s: empty, not a signer history", path);
    fclose(file);
    for (size_t i = 0; rc == 0 && i < self->count; i++)
        if (memcmp(self->histories[i].key, h.key, 32) == 0)
            rc = ob_why(why, "--history %s: a second history of the signer of %s", path,
                        self->histories[i].path);
    if (rc != 0) {
        s_history_free(&h);
        return -1;
    }
    s_index(self, &h);
    self->histories[self->count++] = h;
    return 0;
}

size_t ob_audit_histories_count(const ob_audit_histories_t *self)
{
    return self->count;
}

const uint8_t *ob_audit_histories_key(const ob_audit_histories_t *self, size_t index)
{
    assert(index < self->count);
    return self->histories[index].key;
}

uint64_t ob_audit_histories_matched(const ob_audit_histories_t *self)
{
    return self->matched;
}

/* --- holding certificates against them ------------------------------------ */

static const s_history_t *s_of(const ob_audit_histories_t *self, const uint8_t key[32])
{
    for (size_t i = 0; i < self->count; i++)
        if (memcmp(self->histories[i].key, key, 32) == 0)
            return &self->histories[i];
    return NULL;
}

static const s_signed_t *s_signed_at(const s_history_t *h, uint64_t height)
{
    s_signed_t probe = {.height = height};
    size_t lo = 0, hi = h->signed_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->signed_nodes[mid].height < probe.height)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < h->signed_count && h->signed_nodes[lo].height == height ? &h->signed_nodes[lo]
                                                                        : NULL;
}

static const s_acked_t *s_acked_at(const s_history_t *h, const uint8_t sequencer[32],
                                   uint64_t height)
{
    size_t lo = 0, hi = h->ack_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const s_acked_t *r = &h->acks[mid];
        int c = memcmp(r->sequencer, sequencer, 32);
        if (c < 0 || (c == 0 && r->height < height))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < h->ack_count && h->acks[lo].height == height &&
        memcmp(h->acks[lo].sequencer, sequencer, 32) == 0)
        return &h->acks[lo];
    return NULL;
}

void ob_audit_histories_check(ob_audit_histories_t *self, const char *where,
                              const ob_chunk_t *chunk, const ob_cert_t *cert,
                              const ob_keyset_t *validators)
{
    if (self->count == 0)
        return;
    char seq_hex[65], hex[65], a[65], b[65];
    const char *seq_name = self->name(self->ctx, chunk->sequencer, seq_hex);
    ob_hex_encode(chunk->payload, 32, b);
    const s_history_t *own = s_of(self, chunk->sequencer);
    const s_signed_t *signed_there = own ? s_signed_at(own, chunk->height) : NULL;
    if (own && signed_there && memcmp(signed_there->payload, chunk->payload, 32) != 0) {
        ob_hex_encode(signed_there->payload, 32, a);
        s_report(self,
                 "%s: S1: %s's signer recorded signing payload %s at height %" PRIu64
                 " (%s:%" PRIu64 "), but this certificate covers %s",
                 where, seq_name, a, chunk->height, own->path, signed_there->line, b);
    } else if (own && !signed_there && own->complete) {
        s_report(self,
                 "%s: S1: %s height %" PRIu64 " is certified, but %s's signer has no record of "
                 "signing it (%s)",
                 where, seq_name, chunk->height, seq_name, own->path);
    } else if (signed_there) {
        self->matched++;
    }
    for (uint16_t i = 0; i < cert->count; i++) {
        const ob_pubkey_t *key = ob_keyset_key(validators, ob_cert_signer(cert, i));
        if (!key)
            continue; /* the certificate verified: every index is in the set */
        const s_history_t *h = s_of(self, key->bytes);
        if (!h)
            continue;
        const char *who = self->name(self->ctx, key->bytes, hex);
        const s_acked_t *acked = s_acked_at(h, chunk->sequencer, chunk->height);
        if (acked && memcmp(acked->payload, chunk->payload, 32) != 0) {
            ob_hex_encode(acked->payload, 32, a);
            s_report(self,
                     "%s: S2: %s's signer recorded acking payload %s for %s height %" PRIu64
                     " (%s:%" PRIu64 "), but its signature certifies %s",
                     where, who, a, seq_name, chunk->height, h->path, acked->line, b);
            continue;
        }
        if (acked) {
            self->matched++;
            continue;
        }
        /* A sequencer's signature on its own chunk is its node's record. */
        const s_signed_t *own_node = h == own ? signed_there : NULL;
        if (own_node && memcmp(own_node->payload, chunk->payload, 32) == 0)
            continue;
        if (h->complete)
            s_report(self,
                     "%s: S2: %s's signature certifies %s height %" PRIu64
                     ", but its signer has no record of acking it (%s)",
                     where, who, seq_name, chunk->height, h->path);
    }
}

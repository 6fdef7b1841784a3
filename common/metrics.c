#include "metrics.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define S_SUB_MASK (OB_HISTOGRAM_SUB - 1)

static uint64_t s_add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

size_t ob_histogram_bucket(uint64_t us)
{
    if (us < OB_HISTOGRAM_SUB)
        return (size_t)us;
    /* us lies in [2^k, 2^(k+1)), k >= SUB_BITS: its top SUB_BITS + 1 bits
       name the bucket, the first of them being 1. */
    unsigned k = 63u - (unsigned)__builtin_clzll(us);
    unsigned shift = k - OB_HISTOGRAM_SUB_BITS;
    size_t sub = (size_t)(us >> shift) & S_SUB_MASK;
    return (size_t)(k - OB_HISTOGRAM_SUB_BITS + 1) * OB_HISTOGRAM_SUB + sub;
}

uint64_t ob_histogram_bucket_low(size_t bucket)
{
    assert(bucket < OB_HISTOGRAM_BUCKETS);
    if (bucket < OB_HISTOGRAM_SUB)
        return bucket;
    unsigned shift = (unsigned)(bucket / OB_HISTOGRAM_SUB) - 1;
    return ((uint64_t)OB_HISTOGRAM_SUB + (bucket & S_SUB_MASK)) << shift;
}

uint64_t ob_histogram_bucket_high(size_t bucket)
{
    assert(bucket < OB_HISTOGRAM_BUCKETS);
    if (bucket < OB_HISTOGRAM_SUB)
        return bucket;
    unsigned shift = (unsigned)(bucket / OB_HISTOGRAM_SUB) - 1;
    return ob_histogram_bucket_low(bucket) + (((uint64_t)1 << shift) - 1);
}

void ob_histogram_record(ob_histogram_t *self, uint64_t us)
{
    self->buckets[ob_histogram_bucket(us)]++;
    if (self->count == 0 || us < self->min_us)
        self->min_us = us;
    if (us > self->max_us)
        self->max_us = us;
    self->count++;
    self->sum_us = s_add_saturating(self->sum_us, us);
}

void ob_histogram_merge(ob_histogram_t *self, const ob_histogram_t *other)
{
    if (other->count == 0)
        return;
    if (self->count == 0 || other->min_us < self->min_us)
        self->min_us = other->min_us;
    if (other->max_us > self->max_us)
        self->max_us = other->max_us;
    self->count += other->count;
    self->sum_us = s_add_saturating(self->sum_us, other->sum_us);
    for (size_t i = 0; i < OB_HISTOGRAM_BUCKETS; i++)
        self->buckets[i] += other->buckets[i];
}

uint64_t ob_histogram_percentile(const ob_histogram_t *self, double p)
{
    assert(p > 0 && p <= 100);
    if (self->count == 0)
        return 0;
    /* The rank is ceil(count * p / 100), from 1 to count. */
    double want = (double)self->count * p / 100.0;
    uint64_t rank = want >= (double)self->count ? self->count : (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < OB_HISTOGRAM_BUCKETS; i++) {
        seen += self->buckets[i];
        if (seen >= rank) {
            uint64_t high = ob_histogram_bucket_high(i);
            return high < self->max_us ? high : self->max_us;
        }
    }
    return self->max_us; /* unreachable while the counts add up */
}

static void s_put(ob_json_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_put(ob_json_t *self, const char *fmt, ...)
{
    if (self->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(self->buf + self->len, self->cap - self->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= self->cap - self->len) {
        self->overflow = true;
        return;
    }
    self->len += (size_t)n;
}

static void s_key(ob_json_t *self, const char *name)
{
    assert(self->depth > 0);
    if (!self->first[self->depth - 1])
        s_put(self, ",");
    self->first[self->depth - 1] = false;
    s_put(self, "\"%s\":", name);
}

void ob_json_begin(ob_json_t *self, char *buf, size_t cap)
{
    assert(cap > 0);
    *self = (ob_json_t){.buf = buf, .cap = cap};
    buf[0] = '\0';
}

void ob_json_object(ob_json_t *self, const char *name)
{
    assert(self->depth < 8);
    if (name)
        s_key(self, name);
    s_put(self, "{");
    self->first[self->depth++] = true;
}

void ob_json_end(ob_json_t *self)
{
    assert(self->depth > 0);
    self->depth--;
    s_put(self, "}");
}

void ob_json_u64(ob_json_t *self, const char *name, uint64_t value)
{
    s_key(self, name);
    s_put(self, "%llu", (unsigned long long)value);
}

void ob_json_str(ob_json_t *self, const char *name, const char *value)
{
    s_key(self, name);
    /* jansson escapes it; a value that is not UTF-8 spoils the object
       rather than the JSON. */
    json_t *string = json_string(value);
    char *quoted = string ? json_dumps(string, JSON_ENCODE_ANY) : NULL;
    if (quoted)
        s_put(self, "%s", quoted);
    else
        self->overflow = true;
    free(quoted);
    json_decref(string);
}

void ob_json_histogram(ob_json_t *self, const char *name, const ob_histogram_t *h)
{
    ob_json_object(self, name);
    ob_json_u64(self, "count", h->count);
    ob_json_u64(self, "sum_us", h->sum_us);
    ob_json_u64(self, "min_us", h->min_us);
    ob_json_u64(self, "max_us", h->max_us);
    ob_json_u64(self, "p50_us", ob_histogram_percentile(h, 50));
    ob_json_u64(self, "p90_us", ob_histogram_percentile(h, 90));
    ob_json_u64(self, "p99_us", ob_histogram_percentile(h, 99));
    ob_json_u64(self, "p999_us", ob_histogram_percentile(h, 99.9));
    s_key(self, "buckets");
    size_t used = 0;
    for (size_t i = 0; i < OB_HISTOGRAM_BUCKETS; i++)
        used += h->buckets[i] != 0;
    /* More non-empty buckets than pairs: each pair sums `group` of them,
       still exact at its upper bound. */
    size_t group = (used + OB_HISTOGRAM_JSON_BUCKETS - 1) / OB_HISTOGRAM_JSON_BUCKETS;
    size_t taken = 0, pairs = 0;
    uint64_t pending = 0;
    s_put(self, "[");
    for (size_t i = 0; i < OB_HISTOGRAM_BUCKETS; i++) {
        if (!h->buckets[i])
            continue;
        pending += h->buckets[i];
        if (++taken % group != 0 && taken != used)
            continue;
        s_put(self, "%s[%llu,%llu]", pairs++ ? "," : "",
              (unsigned long long)ob_histogram_bucket_high(i), (unsigned long long)pending);
        pending = 0;
    }
    s_put(self, "]");
    ob_json_end(self);
}

const char *ob_json_text(const ob_json_t *self)
{
    return self->overflow || self->depth != 0 ? NULL : self->buf;
}

/* --- a chunk's life, traced ------------------------------------------------ */

/* Slots of a table: chunks in flight at once are a few per sequencer. */
#define S_STAGE_SLOTS 4096
/* Marks pending in one batch (a batch is at most 256 messages; each marks
   one or two stages). */
#define S_STAGE_PENDING 1024
/* A duration longer than this is a slot's stale stamp, not a stage. */
#define S_STAGE_MAX_US (60ull * 1000 * 1000)

/* One chunk's stamps, in shared memory: written by several processes, so
   each word is atomic; a torn claim only mistimes one chunk. */
typedef struct {
    _Atomic uint64_t key; /* the sequencer's first 8 bytes, ^ height; 0 is free */
    _Atomic uint64_t height;
    _Atomic uint64_t at[OB_STAGE_COUNT]; /* µs; 0: not yet */
} s_stage_slot_t;

typedef struct {
    ob_stage_t stage;
    uint64_t key, height;
    uint64_t batch; /* 0: of the batch being handled; else its sync number + 1 */
} s_stage_mark_t;

struct _ob_stages_t {
    s_stage_slot_t *slots, *shared;
    bool mapped, shared_mapped;
    s_stage_mark_t pending[S_STAGE_PENDING];
    size_t pending_count;
    ob_histogram_t previous[OB_STAGE_COUNT], asked[OB_STAGE_COUNT];
};

static _Thread_local ob_stages_t *s_current_stages;

const char *ob_stage_name(ob_stage_t stage)
{
    switch (stage) {
    case OB_STAGE_ASKED:
        return "asked";
    case OB_STAGE_PAYLOAD_COMMITTED:
        return "payload_committed";
    case OB_STAGE_SIGNED:
        return "signed";
    case OB_STAGE_SENT:
        return "sent";
    case OB_STAGE_RECEIVED:
        return "received";
    case OB_STAGE_VERIFIED:
        return "verified";
    case OB_STAGE_TIP_COMMITTED:
        return "tip_committed";
    case OB_STAGE_VERDICT:
        return "verdict";
    case OB_STAGE_ACK_SIGNED:
        return "ack_signed";
    case OB_STAGE_ACK_RECEIVED:
        return "ack_received";
    case OB_STAGE_CERT_ASSEMBLED:
        return "certificate_assembled";
    case OB_STAGE_CERT_COMMITTED:
        return "certificate_committed";
    case OB_STAGE_NEXT_ASKED:
        return "next_asked";
    }
    return "unknown";
}

static s_stage_slot_t *s_stage_map(const char *path, bool *mapped)
{
    size_t size = S_STAGE_SLOTS * sizeof(s_stage_slot_t);
    *mapped = false;
    if (!path)
        return calloc(S_STAGE_SLOTS, sizeof(s_stage_slot_t));
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    /* Every actor sizes it alike: the first one's ftruncate makes it, the
       others' change nothing. */
    void *p = ftruncate(fd, (off_t)size) == 0
                  ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                  : MAP_FAILED;
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    *mapped = true;
    return p;
}

static void s_stage_unmap(s_stage_slot_t *slots, bool mapped)
{
    if (!slots)
        return;
    if (mapped)
        munmap(slots, S_STAGE_SLOTS * sizeof(s_stage_slot_t));
    else
        free(slots);
}

ob_stages_t *ob_stages_new(const char *path, const char *shared_path)
{
    ob_stages_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = s_stage_map(path, &self->mapped);
    if (shared_path)
        self->shared = s_stage_map(shared_path, &self->shared_mapped);
    if (!self->slots)
        ob_stages_destroy(&self);
    return self;
}

void ob_stages_destroy(ob_stages_t **self_p)
{
    assert(self_p);
    ob_stages_t *self = *self_p;
    if (!self)
        return;
    if (s_current_stages == self)
        s_current_stages = NULL;
    s_stage_unmap(self->slots, self->mapped);
    s_stage_unmap(self->shared, self->shared_mapped);
    free(self);
    *self_p = NULL;
}

uint64_t ob_stages_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void s_stage_stamp_one(ob_stages_t *self, const s_stage_mark_t *m, uint64_t now);

void ob_stages_mark(ob_stages_t *self, ob_stage_t stage, const uint8_t sequencer[32],
                    uint64_t height)
{
    if (!self || self->pending_count == S_STAGE_PENDING)
        return;
    uint64_t prefix = 0;
    for (int i = 0; i < 8; i++)
        prefix = prefix << 8 | sequencer[i];
    /* Never 0, which marks a free slot. */
    uint64_t key = (prefix ^ (height * 0x9e3779b97f4a7c15ull)) | 1;
    self->pending[self->pending_count++] = (s_stage_mark_t){stage, key, height, 0};
}

void ob_stages_seal(ob_stages_t *self, uint64_t sync)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->pending_count; i++)
        if (self->pending[i].batch == 0)
            self->pending[i].batch = sync + 1;
}

void ob_stages_stamp_synced(ob_stages_t *self, uint64_t sync, uint64_t now_us)
{
    if (!self)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < self->pending_count; i++) {
        s_stage_mark_t *m = &self->pending[i];
        if (m->batch == 0 || m->batch - 1 <= sync)
            s_stage_stamp_one(self, m, now_us);
        else
            self->pending[kept++] = *m;
    }
    self->pending_count = kept;
}

/* The slot of a chunk; claimed (its stamps cleared) if another chunk held
   it and `claim`, else NULL. */
static s_stage_slot_t *s_stage_slot(s_stage_slot_t *slots, uint64_t key, uint64_t height,
                                    bool claim)
{
    if (!slots)
        return NULL;
    s_stage_slot_t *slot = &slots[(key ^ (key >> 29)) % S_STAGE_SLOTS];
    if (atomic_load_explicit(&slot->key, memory_order_acquire) == key &&
        atomic_load_explicit(&slot->height, memory_order_relaxed) == height)
        return slot;
    if (!claim)
        return NULL;
    atomic_store_explicit(&slot->key, 0, memory_order_relaxed);
    for (int i = 0; i < OB_STAGE_COUNT; i++)
        atomic_store_explicit(&slot->at[i], 0, memory_order_relaxed);
    atomic_store_explicit(&slot->height, height, memory_order_relaxed);
    atomic_store_explicit(&slot->key, key, memory_order_release);
    return slot;
}

static void s_stage_record(ob_histogram_t *h, uint64_t since, uint64_t now)
{
    if (since && now >= since && now - since < S_STAGE_MAX_US)
        ob_histogram_record(h, now - since);
}

static void s_stage_stamp_one(ob_stages_t *self, const s_stage_mark_t *m, uint64_t now)
{
    s_stage_slot_t *slot = s_stage_slot(self->slots, m->key, m->height, true);
    if (atomic_load_explicit(&slot->at[m->stage], memory_order_relaxed))
        return; /* marked before: only the first time counts */
    uint64_t previous = 0;
    for (int i = (int)m->stage - 1; i >= 0 && !previous; i--)
        previous = atomic_load_explicit(&slot->at[i], memory_order_relaxed);
    uint64_t asked = atomic_load_explicit(&slot->at[OB_STAGE_ASKED], memory_order_relaxed);
    /* The machine's table: the sequencer's own stamps of a chunk that a
       validator here times. */
    bool crossing = m->stage == OB_STAGE_ASKED || m->stage == OB_STAGE_SENT;
    s_stage_slot_t *shared = s_stage_slot(self->shared, m->key, m->height, crossing);
    if (shared && !crossing) {
        if (!asked)
            asked = atomic_load_explicit(&shared->at[OB_STAGE_ASKED], memory_order_relaxed);
        if (!previous && m->stage > OB_STAGE_SENT)
            previous = atomic_load_explicit(&shared->at[OB_STAGE_SENT], memory_order_relaxed);
    }
    atomic_store_explicit(&slot->at[m->stage], now, memory_order_relaxed);
    if (shared && crossing)
        atomic_store_explicit(&shared->at[m->stage], now, memory_order_relaxed);
    s_stage_record(&self->previous[m->stage], previous, now);
    if (m->stage != OB_STAGE_ASKED)
        s_stage_record(&self->asked[m->stage], asked, now);
}

void ob_stages_stamp(ob_stages_t *self, uint64_t now_us)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->pending_count; i++)
        s_stage_stamp_one(self, &self->pending[i], now_us);
    self->pending_count = 0;
}

const ob_histogram_t *ob_stages_since_previous(const ob_stages_t *self, ob_stage_t stage)
{
    return &self->previous[stage];
}

const ob_histogram_t *ob_stages_since_asked(const ob_stages_t *self, ob_stage_t stage)
{
    return &self->asked[stage];
}

void ob_json_stages(ob_json_t *json, const char *name, const ob_stages_t *self)
{
    ob_json_object(json, name);
    for (int i = 0; self && i < OB_STAGE_COUNT; i++) {
        if (!self->previous[i].count && !self->asked[i].count)
            continue;
        ob_json_object(json, ob_stage_name((ob_stage_t)i));
        ob_json_histogram(json, "previous", &self->previous[i]);
        ob_json_histogram(json, "asked", &self->asked[i]);
        ob_json_end(json);
    }
    ob_json_end(json);
}

void ob_stages_set_current(ob_stages_t *self)
{
    s_current_stages = self;
}

void ob_stage(ob_stage_t stage, const uint8_t sequencer[32], uint64_t height)
{
    ob_stages_mark(s_current_stages, stage, sequencer, height);
}

/* --- Prometheus text ------------------------------------------------------- */

#define S_PROM_DEPTH 6

typedef enum { S_PROM_COUNTER, S_PROM_GAUGE, S_PROM_HISTOGRAM } s_prom_kind_t;

typedef struct {
    char *family, *line; /* the line without its newline */
    s_prom_kind_t kind;
    size_t seq; /* the order added, kept within a family */
} s_prom_sample_t;

struct _ob_prom_t {
    s_prom_sample_t *samples;
    size_t count, cap;
};

/* Objects whose keys are values of one label. */
static const struct {
    const char *object, *label;
} s_prom_labels[] = {{"drops", "error"},        {"refused", "error"},  {"acks_dropped", "error"},
                     {"sign_refused", "error"}, {"tips", "sequencer"}, {"peers", "peer"},
                     {"actors", "actor"},       {"restarts", "cause"}};

/* Numbers that are levels, not counts since the start: by their own key,
   or by their parent object's. */
static const char *const s_prom_gauges[] = {"epoch",
                                            "queued",
                                            "outstanding",
                                            "in_use",
                                            "slots",
                                            "max",
                                            "connected",
                                            "attached",
                                            "external",
                                            "owed",
                                            "hwm",
                                            "pinned",
                                            "blocked",
                                            "hold_ms",
                                            "up",
                                            "min_us",
                                            "max_us",
                                            "p50_us",
                                            "p90_us",
                                            "p99_us",
                                            "p999_us",
                                            "max_batch",
                                            "max_pending",
                                            "batch_bytes",
                                            "max_frame_peer",
                                            "max_frame_local",
                                            "last_restart_seconds",
                                            "app_attached",
                                            "application_external",
                                            "arena_in_use",
                                            "payload_slots_pinned",
                                            "app_verdicts_owed",
                                            "peer_hwm",
                                            "tips"};

typedef struct {
    ob_prom_t *prom;
    char node[64];
    char actor[16];
    unsigned instance;
    char path[S_PROM_DEPTH][48];
    int depth;
    const char *label[S_PROM_DEPTH]; /* the label whose values are the keys at that depth */
    bool error;
    unsigned long long sum; /* the last "sum_us" seen, at sum_depth */
    int sum_depth;
    size_t count_sample; /* the last "count" seen, at count_depth */
    int count_depth;
} s_prom_parser_t;

static void s_prom_sanitize(char *name)
{
    for (char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            *c = '_';
}

static bool s_prom_is_gauge(const s_prom_parser_t *self, int depth)
{
    for (size_t i = 0; i < sizeof s_prom_gauges / sizeof s_prom_gauges[0]; i++)
        for (int d = depth - 1; d >= 0 && d >= depth - 2; d--)
            if (!self->label[d] && strcmp(self->path[d], s_prom_gauges[i]) == 0)
                return true;
    return false;
}

/* One sample of the family named by the path's first `depth` keys, the
   line's name being the family's with `suffix`; `le` an extra label when
   not NULL. */
static int s_prom_sample(s_prom_parser_t *self, int depth, s_prom_kind_t kind, const char *suffix,
                         const char *le, unsigned long long value)
{
    char family[512];
    int used = snprintf(family, sizeof family, "obcast_%s", self->actor);
    for (int i = 0; i < depth && used > 0 && (size_t)used < sizeof family; i++) {
        if (self->label[i])
            continue; /* that key is a label value */
        used += snprintf(family + used, sizeof family - (size_t)used, "_%s", self->path[i]);
    }
    if (kind == S_PROM_COUNTER && used > 0 && (size_t)used < sizeof family)
        used += snprintf(family + used, sizeof family - (size_t)used, "_total");
    if (used <= 0 || (size_t)used >= sizeof family)
        return -1;
    s_prom_sanitize(family);
    char line[1024];
    int n = snprintf(line, sizeof line, "%s%s%s{node=\"%s\",instance=\"%u\"", family,
                     suffix ? "_" : "", suffix ? suffix : "", self->node, self->instance);
    for (int i = 0; i < depth && n > 0 && (size_t)n < sizeof line; i++)
        if (self->label[i])
            n += snprintf(line + n, sizeof line - (size_t)n, ",%s=\"%s\"", self->label[i],
                          self->path[i]);
    if (le && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, ",le=\"%s\"", le);
    if (n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "} %llu", value);
    if (n <= 0 || (size_t)n >= sizeof line)
        return -1;
    ob_prom_t *prom = self->prom;
    if (prom->count == prom->cap) {
        size_t cap = prom->cap ? prom->cap * 2 : 256;
        s_prom_sample_t *grown = realloc(prom->samples, cap * sizeof *grown);
        if (!grown)
            return -1;
        prom->samples = grown;
        prom->cap = cap;
    }
    s_prom_sample_t *s = &prom->samples[prom->count];
    *s = (s_prom_sample_t){
        .family = strdup(family), .line = strdup(line), .kind = kind, .seq = prom->count};
    if (!s->family || !s->line) {
        free(s->family);
        free(s->line);
        return -1;
    }
    prom->count++;
    return 0;
}

/* A JSON number that is a whole number of 0 or more. */
static bool s_prom_number(json_t *value, unsigned long long *out)
{
    if (!json_is_integer(value) || json_integer_value(value) < 0)
        return false;
    *out = (unsigned long long)json_integer_value(value);
    return true;
}

/* A histogram's [[upper, count], ...]: uppers strictly rising. The
   samples are its parent object's family, as Prometheus names one. */
static bool s_prom_buckets(s_prom_parser_t *self, json_t *buckets)
{
    int parent = self->depth - 1;
    unsigned long long cumulative = 0, last = 0;
    size_t index;
    json_t *bucket;
    json_array_foreach(buckets, index, bucket)
    {
        unsigned long long upper, count;
        if (json_array_size(bucket) != 2 || !s_prom_number(json_array_get(bucket, 0), &upper) ||
            !s_prom_number(json_array_get(bucket, 1), &count) || (index > 0 && upper <= last) ||
            cumulative + count < cumulative)
            return false;
        last = upper;
        cumulative += count;
        char le[24];
        snprintf(le, sizeof le, "%llu", upper);
        if (s_prom_sample(self, parent, S_PROM_HISTOGRAM, "bucket", le, cumulative) != 0)
            return false;
    }
    if (s_prom_sample(self, parent, S_PROM_HISTOGRAM, "bucket", "+Inf", cumulative) != 0 ||
        s_prom_sample(self, parent, S_PROM_HISTOGRAM, "sum", NULL,
                      self->sum_depth == self->depth ? self->sum : 0) != 0)
        return false;
    /* Its count, added before the buckets told it was a histogram's. */
    if (self->count_depth == self->depth) {
        s_prom_sample_t *s = &self->prom->samples[self->count_sample];
        free(s->family);
        s->family = NULL;
        s->kind = S_PROM_HISTOGRAM;
        /* the family is the bucket line's: the same up to "_bucket" */
        const s_prom_sample_t *b = &self->prom->samples[self->prom->count - 1];
        s->family = strdup(b->family);
        if (!s->family)
            return false;
        s->seq = b->seq;
        char *brace = strchr(s->line, '{');
        char line[1024];
        snprintf(line, sizeof line, "%s_count%s", s->family, brace ? brace : "");
        char *copy = strdup(line);
        if (!copy)
            return false;
        free(s->line);
        s->line = copy;
    }
    return true;
}

static bool s_prom_value(s_prom_parser_t *self, json_t *value);

static bool s_prom_object(s_prom_parser_t *self, json_t *object)
{
    if (self->depth >= S_PROM_DEPTH)
        return false;
    /* a sum and a count belong to their own object's buckets */
    self->sum_depth = -1;
    self->count_depth = -1;
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value)
    {
        if (strlen(key) >= sizeof self->path[0])
            return false;
        snprintf(self->path[self->depth], sizeof self->path[0], "%s", key);
        self->depth++;
        const char *label = NULL;
        for (size_t i = 0; i < sizeof s_prom_labels / sizeof s_prom_labels[0]; i++)
            if (strcmp(key, s_prom_labels[i].object) == 0)
                label = s_prom_labels[i].label;
        for (int d = 0; label && d < self->depth; d++)
            if (self->label[d] && strcmp(self->label[d], label) == 0)
                label = NULL; /* one label of a name: the outer map's */
        if (self->depth < S_PROM_DEPTH)
            self->label[self->depth] = label; /* its members' keys */
        bool ok = s_prom_value(self, value);
        if (self->depth < S_PROM_DEPTH)
            self->label[self->depth] = NULL;
        self->depth--;
        if (!ok)
            return false;
    }
    return true;
}

static bool s_prom_value(s_prom_parser_t *self, json_t *value)
{
    if (json_is_object(value))
        return s_prom_object(self, value);
    if (json_is_string(value))
        return true; /* strings are names, not samples */
    bool top_instance = self->depth == 1 && strcmp(self->path[0], "instance") == 0;
    if (json_is_boolean(value))
        return s_prom_sample(self, self->depth, S_PROM_GAUGE, NULL, NULL, json_is_true(value)) == 0;
    if (json_is_array(value))
        return self->depth > 1 && strcmp(self->path[self->depth - 1], "buckets") == 0 &&
               s_prom_buckets(self, value);
    unsigned long long v;
    if (!s_prom_number(value, &v))
        return false;
    if (top_instance)
        return true; /* a label already */
    const char *key = self->path[self->depth - 1];
    if (strcmp(key, "sum_us") == 0) {
        self->sum = v; /* the histogram's _sum */
        self->sum_depth = self->depth;
        return true;
    }
    if (strcmp(key, "count") == 0) {
        self->count_sample = self->prom->count;
        self->count_depth = self->depth;
    }
    s_prom_kind_t kind = s_prom_is_gauge(self, self->depth) ? S_PROM_GAUGE : S_PROM_COUNTER;
    return s_prom_sample(self, self->depth, kind, NULL, NULL, v) == 0;
}

ob_prom_t *ob_prom_new(void)
{
    return calloc(1, sizeof(ob_prom_t));
}

static void s_prom_truncate(ob_prom_t *self, size_t count)
{
    while (self->count > count) {
        self->count--;
        free(self->samples[self->count].family);
        free(self->samples[self->count].line);
    }
}

void ob_prom_destroy(ob_prom_t **self_p)
{
    assert(self_p);
    ob_prom_t *self = *self_p;
    if (!self)
        return;
    s_prom_truncate(self, 0);
    free(self->samples);
    free(self);
    *self_p = NULL;
}

int ob_prom_add(ob_prom_t *self, const char *json, const char *node)
{
    s_prom_parser_t parser = {.prom = self, .sum_depth = -1, .count_depth = -1};
    snprintf(parser.node, sizeof parser.node, "%s", node);
    size_t before = self->count;
    /* jansson reads it (a key twice is an error); the actor and instance
       are found by name, not by their place. */
    json_t *event = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    const char *actor = json_string_value(json_object_get(event, "actor"));
    json_t *instance = json_object_get(event, "instance");
    bool ok = json_is_object(event) && actor && strlen(actor) < sizeof parser.actor &&
              strspn(actor, "abcdefghijklmnopqrstuvwxyz") == strlen(actor) && *actor &&
              json_is_integer(instance) && json_integer_value(instance) >= 0 &&
              json_integer_value(instance) <= UINT32_MAX;
    if (ok) {
        snprintf(parser.actor, sizeof parser.actor, "%s", actor);
        parser.instance = (unsigned)json_integer_value(instance);
        ok = s_prom_object(&parser, event);
    }
    json_decref(event);
    if (!ok) {
        s_prom_truncate(self, before);
        return -1;
    }
    return 0;
}

static int s_prom_order(const void *a, const void *b)
{
    const s_prom_sample_t *x = a, *y = b;
    int by_family = strcmp(x->family, y->family);
    if (by_family)
        return by_family;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *s_prom_kind_name(s_prom_kind_t kind)
{
    switch (kind) {
    case S_PROM_COUNTER:
        return "counter";
    case S_PROM_GAUGE:
        return "gauge";
    case S_PROM_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

int ob_prom_write(const ob_prom_t *self, FILE *out)
{
    s_prom_sample_t *sorted = self->count ? malloc(self->count * sizeof *sorted) : NULL;
    if (self->count && !sorted)
        return -1;
    if (self->count)
        memcpy(sorted, self->samples, self->count * sizeof *sorted);
    if (self->count > 1)
        qsort(sorted, self->count, sizeof *sorted, s_prom_order);
    int rc = 0;
    for (size_t i = 0; i < self->count && rc == 0; i++) {
        const s_prom_sample_t *s = &sorted[i];
        if (i == 0 || strcmp(s->family, sorted[i - 1].family) != 0) {
            /* obcast_journal_nodes_accepted_total: "journal nodes_accepted_total" */
            const char *rest = s->family + strlen("obcast_");
            const char *under = strchr(rest, '_');
            int actor_len = under ? (int)(under - rest) : (int)strlen(rest);
            if (fprintf(out, "# HELP %s obcast %.*s %s, %s\n# TYPE %s %s\n", s->family, actor_len,
                        rest, under ? under + 1 : "",
                        s->kind == S_PROM_HISTOGRAM ? "a latency histogram in microseconds"
                        : s->kind == S_PROM_GAUGE   ? "a level"
                                                    : "counted since the actor started",
                        s->family, s_prom_kind_name(s->kind)) < 0)
                rc = -1;
        }
        if (fprintf(out, "%s\n", s->line) < 0)
            rc = -1;
    }
    free(sorted);
    return rc;
}

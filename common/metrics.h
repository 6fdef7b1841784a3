/*  The metrics of SPEC §8: latency histograms, and the JSON object each
    actor publishes every second as a `metrics` event (the supervisor's
    monitoring socket carries them; `obcast-journal metrics` prints them).

    Histograms are log-linear, in microseconds (HDR-histogram-like): values
    below 2^OB_HISTOGRAM_SUB_BITS have a bucket each; above, each power of
    two [2^k, 2^(k+1)) is cut into 2^OB_HISTOGRAM_SUB_BITS equal buckets.
    A bucket's width is at most 1/32 of its smallest value, so a percentile
    (the highest value of its bucket) is at most 3.2% above the sample it
    stands for, over the whole uint64 range. Fixed memory, constant-time
    record, no allocation. */
#ifndef OB_METRICS_H
#define OB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OB_HISTOGRAM_SUB_BITS 5
#define OB_HISTOGRAM_SUB      (1u << OB_HISTOGRAM_SUB_BITS)
/* The exact buckets below OB_HISTOGRAM_SUB, then OB_HISTOGRAM_SUB for each
   power of two from 2^OB_HISTOGRAM_SUB_BITS to 2^63. */
#define OB_HISTOGRAM_BUCKETS ((64 - OB_HISTOGRAM_SUB_BITS + 1) * OB_HISTOGRAM_SUB)
/* At most this many [upper_us, count] pairs in a histogram's JSON:
   neighbouring non-empty buckets are summed beyond it, so a metrics event
   stays small whatever the samples. */
#define OB_HISTOGRAM_JSON_BUCKETS 256

typedef struct {
    uint64_t count, sum_us, min_us, max_us; /* sum_us saturates */
    uint64_t buckets[OB_HISTOGRAM_BUCKETS];
} ob_histogram_t;

void ob_histogram_record(ob_histogram_t *self, uint64_t us);
/* Adds `other`'s samples to self's (the histogram of both). */
void ob_histogram_merge(ob_histogram_t *self, const ob_histogram_t *other);
/* The p-th percentile (0 < p <= 100): the highest value of the bucket that
   holds the ceil(count * p / 100)-th smallest sample, but no more than the
   largest sample; 0 when empty. */
uint64_t ob_histogram_percentile(const ob_histogram_t *self, double p);
/* The bucket of a value, and the lowest and highest value in a bucket. */
size_t ob_histogram_bucket(uint64_t us);
uint64_t ob_histogram_bucket_low(size_t bucket);
uint64_t ob_histogram_bucket_high(size_t bucket);

/* A JSON object written into a caller's buffer; nesting up to 8. A value
   that does not fit marks it overflowed instead of writing past `cap`. */
typedef struct {
    char *buf;
    size_t len, cap;
    bool overflow;
    int depth;
    bool first[8];
} ob_json_t;

void ob_json_begin(ob_json_t *self, char *buf, size_t cap);
void ob_json_object(ob_json_t *self, const char *name); /* NULL: the top object */
void ob_json_end(ob_json_t *self);
void ob_json_u64(ob_json_t *self, const char *name, uint64_t value);
/* Escaped as JSON needs (through jansson); `value` must be UTF-8, or the
   object is marked overflowed. */
void ob_json_str(ob_json_t *self, const char *name, const char *value);
/* {"count", "sum_us", "min_us", "max_us", "p50_us", "p90_us", "p99_us",
   "p999_us", "buckets": [[upper_us, count], ...]}: the non-empty buckets in
   order, by the highest value each holds (Prometheus' `le`), at most
   OB_HISTOGRAM_JSON_BUCKETS pairs. */
void ob_json_histogram(ob_json_t *self, const char *name, const ob_histogram_t *h);
/* The text, or NULL if it overflowed or is not closed. */
const char *ob_json_text(const ob_json_t *self);

/* --- a chunk's life, traced (issue 10) ----------------------------------

   The stages of a sequencer's chunk and of a validator's ack on it, in
   the order they happen. Each is marked where it happens, by the actor
   that does it, and stamped when that actor's batch has committed and its
   messages leave (so "committed" stages are durable when stamped). The
   stamps of one node's chunks live in a table shared by its actors, a
   file `<runtime_dir>/stages` they all map (CLOCK_MONOTONIC, one clock
   for every process of the machine), so each actor records, for each
   stage it marks, the time since the stage before it (whichever actor
   marked that) and the time since the proposal was asked. Across nodes
   (sent at the sequencer, received at a peer) a second table can be
   shared by every node of one machine (a loopback cluster): its path in
   the environment variable OBCAST_STAGES_SHARED; without it a validator's
   stages are timed from the node's receipt only. Bounded: a fixed number
   of slots, direct-mapped by (sequencer, height); a slot reused by
   another chunk forgets the older one. */
typedef enum {
    OB_STAGE_ASKED,             /* sequencer: the proposal at h asked (journal) */
    OB_STAGE_PAYLOAD_COMMITTED, /* sequencer: its payload durable (journal) */
    OB_STAGE_SIGNED,            /* sequencer: the node signed and recorded (signer) */
    OB_STAGE_SENT,              /* sequencer: the node sent to the validators (net) */
    OB_STAGE_RECEIVED,          /* validator: the node received (net) */
    OB_STAGE_VERIFIED,          /* validator: every stateless check passed (verifier) */
    OB_STAGE_TIP_COMMITTED,     /* validator: the new tip durable (journal) */
    OB_STAGE_VERDICT,           /* validator: the application's verdict taken (journal) */
    OB_STAGE_ACK_SIGNED,        /* validator: its ack signed and recorded (signer) */
    OB_STAGE_ACK_RECEIVED,      /* sequencer: the first ack received (net) */
    OB_STAGE_CERT_ASSEMBLED,    /* sequencer: a quorum of acks assembled (signer) */
    OB_STAGE_CERT_COMMITTED,    /* sequencer: the certificate durable (journal) */
    OB_STAGE_NEXT_ASKED,        /* sequencer: the proposal at h+1 asked (journal) */
} ob_stage_t;
#define OB_STAGE_COUNT 13

/* "asked", "payload_committed", ... */
const char *ob_stage_name(ob_stage_t stage);

typedef struct _ob_stages_t ob_stages_t;

/* Maps the node's table at `path` (created, mode 0600), and the machine's
   at `shared_path` if not NULL; `path` NULL keeps the table private (a
   test). NULL if it cannot: stages are metrics, the caller goes on
   without them. */
ob_stages_t *ob_stages_new(const char *path, const char *shared_path);
void ob_stages_destroy(ob_stages_t **self_p);

/* Marks a stage of the chunk (sequencer, height): pending until stamped.
   Only a stage's first mark counts (a rebroadcast is not a send). At most
   a batch's worth are pending; more are not timed. */
void ob_stages_mark(ob_stages_t *self, ob_stage_t stage, const uint8_t sequencer[32],
                    uint64_t height);
/* Stamps what is pending with `now_us` and records its durations. */
void ob_stages_stamp(ob_stages_t *self, uint64_t now_us);
/* Pipelined commits (common/shell.c): the marks of the batch just
   committed wait for sync number `sync`, and are stamped when the
   messages of that batch leave, by ob_stages_stamp_synced with a number at
   least `sync`; later batches' marks stay pending. The shell calls it
   between batches, so unsealed marks then are those made while messages
   left (a signer's "signed"), and are stamped with them. */
void ob_stages_seal(ob_stages_t *self, uint64_t sync);
void ob_stages_stamp_synced(ob_stages_t *self, uint64_t sync, uint64_t now_us);
/* CLOCK_MONOTONIC in µs. */
uint64_t ob_stages_now_us(void);

/* Time from the stage before (in the order above, the latest one this
   chunk has), and from the proposal asked. */
const ob_histogram_t *ob_stages_since_previous(const ob_stages_t *self, ob_stage_t stage);
const ob_histogram_t *ob_stages_since_asked(const ob_stages_t *self, ob_stage_t stage);

/* The stages this actor timed: {"<stage>": {"previous": histogram,
   "asked": histogram}, ...}, each as ob_json_histogram writes it (so that
   a reader can take the samples between two events). */
void ob_json_stages(ob_json_t *json, const char *name, const ob_stages_t *self);

/* The table of the calling thread's actor (the shell sets it), so that a
   handler marks a stage in one line; ob_stage does nothing without one
   (the simulator, the handler tests). */
void ob_stages_set_current(ob_stages_t *self);
void ob_stage(ob_stage_t stage, const uint8_t sequencer[32], uint64_t height);

/* --- Prometheus text (exposition format 0.0.4) ---------------------------

   Metrics events (the JSON above: objects, plain strings, whole numbers,
   booleans) of one or more actors, as one Prometheus text. A number at
   the path a.b.c of actor A becomes `obcast_A_a_b_c{node=..,instance=..}`;
   the members of a few maps (drops, peers, tips, ...) become a label
   instead of a name part. A histogram (count, sum_us, buckets) becomes a
   Prometheus histogram: `_bucket{le=..}` cumulative up to le="+Inf",
   `_sum`, `_count`. A known level (a height, a queue depth, a maximum, a
   boolean, a percentile) is a gauge; every other number counts since the
   actor started, a counter named `..._total`. Samples are grouped by
   family whatever the order of the events, each family once under its
   `# HELP` and `# TYPE`, as Prometheus requires. */
typedef struct _ob_prom_t ob_prom_t;

ob_prom_t *ob_prom_new(void);
void ob_prom_destroy(ob_prom_t **self_p);
/* Adds one metrics event of node `node`. 0, or -1 if it is not one (then
   none of its samples are kept). */
int ob_prom_add(ob_prom_t *self, const char *json, const char *node);
/* Writes every sample added; 0, or -1 on a write error. */
int ob_prom_write(const ob_prom_t *self, FILE *out);

#endif

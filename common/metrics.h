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
/* `value` must need no escaping: names, hex, error names. */
void ob_json_str(ob_json_t *self, const char *name, const char *value);
/* {"count", "sum_us", "min_us", "max_us", "p50_us", "p90_us", "p99_us",
   "p999_us", "buckets": [[upper_us, count], ...]}: the non-empty buckets in
   order, by the highest value each holds (Prometheus' `le`), at most
   OB_HISTOGRAM_JSON_BUCKETS pairs. */
void ob_json_histogram(ob_json_t *self, const char *name, const ob_histogram_t *h);
/* The text, or NULL if it overflowed or is not closed. */
const char *ob_json_text(const ob_json_t *self);

#endif

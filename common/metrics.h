/*  The metrics of SPEC §8: latency histograms, and the JSON object each
    actor publishes every second as a `metrics` event (the supervisor's
    monitoring socket carries them; `obcast-journal metrics` prints them).

    Histograms have power-of-two buckets in microseconds: fixed memory,
    constant-time record, percentiles within a factor of two. */
#ifndef OB_METRICS_H
#define OB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OB_HISTOGRAM_BUCKETS 32

typedef struct {
    uint64_t count, sum_us, max_us;
    uint64_t buckets[OB_HISTOGRAM_BUCKETS]; /* bucket i: below 2^i µs */
} ob_histogram_t;

void ob_histogram_record(ob_histogram_t *self, uint64_t us);
/* The upper bound of the bucket holding the p-th percentile (0 < p <= 100);
   0 when empty. */
uint64_t ob_histogram_percentile(const ob_histogram_t *self, double p);

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
void ob_json_histogram(ob_json_t *self, const char *name, const ob_histogram_t *h);
/* The text, or NULL if it overflowed or is not closed. */
const char *ob_json_text(const ob_json_t *self);

#endif

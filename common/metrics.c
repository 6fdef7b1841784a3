#include "metrics.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

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
    s_put(self, "\"%s\"", value);
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

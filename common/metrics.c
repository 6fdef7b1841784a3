#include "metrics.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

void ob_histogram_record(ob_histogram_t *self, uint64_t us)
{
    size_t bucket = 0;
    while (bucket < OB_HISTOGRAM_BUCKETS - 1 && us >= (1ull << bucket))
        bucket++;
    self->buckets[bucket]++;
    self->count++;
    self->sum_us += us;
    if (us > self->max_us)
        self->max_us = us;
}

uint64_t ob_histogram_percentile(const ob_histogram_t *self, double p)
{
    assert(p > 0 && p <= 100);
    if (self->count == 0)
        return 0;
    uint64_t rank = (uint64_t)((double)self->count * p / 100.0 + 0.999999);
    uint64_t seen = 0;
    for (size_t i = 0; i < OB_HISTOGRAM_BUCKETS; i++) {
        seen += self->buckets[i];
        if (seen >= rank)
            return i == OB_HISTOGRAM_BUCKETS - 1 ? self->max_us : 1ull << i;
    }
    return self->max_us;
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
    ob_json_u64(self, "p50_us", ob_histogram_percentile(h, 50));
    ob_json_u64(self, "p99_us", ob_histogram_percentile(h, 99));
    ob_json_u64(self, "max_us", h->max_us);
    ob_json_end(self);
}

const char *ob_json_text(const ob_json_t *self)
{
    return self->overflow || self->depth != 0 ? NULL : self->buf;
}

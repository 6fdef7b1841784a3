/*  common/metrics: the log-linear histogram (its error bound over the
    whole uint64 range, percentiles against a sorted copy of the samples,
    merge, edge values), the JSON writer (histogram pairs, overflow), and
    how `obcast metrics` prints a histogram as Prometheus text. */
#include "testutil.h"

#include "cli.h"
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A bucket's highest value exceeds any value in it by at most 1/32 of
   that value: (high - v) * 32 <= v. Never overflows: high - v < 2^58. */
static bool s_within_bound(uint64_t v, uint64_t reported)
{
    return reported >= v && (reported - v) <= v / 32;
}

static uint64_t s_rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t s_rand(void)
{
    /* xorshift64*: deterministic, so a failure replays */
    s_rng_state ^= s_rng_state >> 12;
    s_rng_state ^= s_rng_state << 25;
    s_rng_state ^= s_rng_state >> 27;
    return s_rng_state * 0x2545f4914f6cdd1dull;
}

/* A value of random magnitude: every power of two as likely. */
static uint64_t s_rand_log(void)
{
    unsigned bits = (unsigned)(s_rand() % 65);
    return bits == 64 ? s_rand() : s_rand() & ((1ull << bits) - 1);
}

static void s_check_value(uint64_t v)
{
    size_t b = ob_histogram_bucket(v);
    assert_true(b < OB_HISTOGRAM_BUCKETS);
    uint64_t low = ob_histogram_bucket_low(b), high = ob_histogram_bucket_high(b);
    if (low > v || high < v || !s_within_bound(v, high) || !s_within_bound(low, high)) {
        print_error("value %" PRIu64 ": bucket %zu [%" PRIu64 ", %" PRIu64 "]\n", v, b, low, high);
        fail();
    }
}

static void test_buckets_tile_the_range(void **state)
{
    (void)state;
    assert_int_equal(ob_histogram_bucket_low(0), 0);
    assert_true(ob_histogram_bucket_high(OB_HISTOGRAM_BUCKETS - 1) == UINT64_MAX);
    assert_int_equal(ob_histogram_bucket(UINT64_MAX), OB_HISTOGRAM_BUCKETS - 1);
    for (size_t i = 0; i < OB_HISTOGRAM_BUCKETS; i++) {
        uint64_t low = ob_histogram_bucket_low(i), high = ob_histogram_bucket_high(i);
        assert_true(low <= high);
        assert_int_equal(ob_histogram_bucket(low), i);
        assert_int_equal(ob_histogram_bucket(high), i);
        if (i + 1 < OB_HISTOGRAM_BUCKETS)
            assert_true(high + 1 == ob_histogram_bucket_low(i + 1)); /* no gap, no overlap */
        if (i < OB_HISTOGRAM_SUB)
            assert_true(low == i && high == i); /* exact below 32 */
    }
}

/* The error bound over a sweep: every value below 2^18, each power of two
   and its neighbours, both ends of every bucket and their neighbours, and
   a million values of random magnitude. */
static void test_error_bound_sweep(void **state)
{
    (void)state;
    for (uint64_t v = 0; v < (1u << 18); v++)
        s_check_value(v);
    for (unsigned k = 0; k < 64; k++) {
        uint64_t p = 1ull << k;
        s_check_value(p - 1);
        s_check_value(p);
        s_check_value(p + 1);
    }
    for (size_t i = 1; i < OB_HISTOGRAM_BUCKETS; i++) {
        uint64_t low = ob_histogram_bucket_low(i), high = ob_histogram_bucket_high(i);
        s_check_value(low - 1);
        s_check_value(low);
        s_check_value(high);
        if (high < UINT64_MAX)
            s_check_value(high + 1);
    }
    for (int i = 0; i < 1000000; i++)
        s_check_value(s_rand_log());
}

/* The bound holds for percentiles too: with a larger sample above it, the
   percentile that lands on v is not clamped by the maximum. */
static void test_percentile_bound_sweep(void **state)
{
    (void)state;
    static ob_histogram_t h;
    for (int i = 0; i < 20000; i++) {
        uint64_t v = i < 4096 ? (uint64_t)i : s_rand_log();
        if (v == UINT64_MAX)
            continue;
        memset(&h, 0, sizeof h);
        ob_histogram_record(&h, v);
        ob_histogram_record(&h, UINT64_MAX);
        uint64_t p50 = ob_histogram_percentile(&h, 50);
        if (!s_within_bound(v, p50)) {
            print_error("value %" PRIu64 ": p50 %" PRIu64 "\n", v, p50);
            fail();
        }
        /* alone, it is exact: the maximum clamps the bucket's top */
        memset(&h, 0, sizeof h);
        ob_histogram_record(&h, v);
        assert_true(ob_histogram_percentile(&h, 50) == v);
        assert_true(ob_histogram_percentile(&h, 100) == v);
        assert_true(ob_histogram_percentile(&h, 1e-9) == v);
    }
}

/* Issue 13's case: samples up to 21421 µs showed `p99_us 32768` with
   power-of-two buckets. Log-linear ones give a p99 within 1/32 of the
   exact one, and never above the maximum. */
static void test_percentile_not_above_max(void **state)
{
    (void)state;
    static ob_histogram_t h;
    memset(&h, 0, sizeof h);
    for (uint64_t v = 1; v <= 21421; v += 7)
        ob_histogram_record(&h, v);
    ob_histogram_record(&h, 21421);
    assert_int_equal(h.max_us, 21421);
    uint64_t p50 = ob_histogram_percentile(&h, 50), p99 = ob_histogram_percentile(&h, 99);
    assert_true(p50 <= h.max_us && p99 <= h.max_us);
    /* the exact ones: the 1531st and the 3032nd of 3062 samples */
    assert_true(s_within_bound(1 + 7 * 1530, p50));
    assert_true(s_within_bound(1 + 7 * 3031, p99));
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Percentiles of many samples against the exact order statistic:
   the ceil(n p / 100)-th smallest, within the bound above it. */
static void test_percentiles_against_sorted(void **state)
{
    (void)state;
    static ob_histogram_t h;
    enum { N = 10007 };
    static uint64_t v[N];
    static const double ps[] = {1e-6, 0.01, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};
    for (int round = 0; round < 3; round++) {
        memset(&h, 0, sizeof h);
        for (int i = 0; i < N; i++) {
            /* latencies-like: 50 µs to about 50 ms, and a few huge ones */
            v[i] = round == 2 && i % 1000 == 0 ? s_rand_log() : 50 + s_rand() % (50000u << round);
            ob_histogram_record(&h, v[i]);
        }
        qsort(v, N, sizeof v[0], s_cmp_u64);
        for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++) {
            uint64_t rank = (uint64_t)((double)N * ps[j] / 100.0);
            if ((double)rank < (double)N * ps[j] / 100.0)
                rank++;
            if (rank == 0)
                rank = 1;
            uint64_t exact = v[rank - 1];
            uint64_t got = ob_histogram_percentile(&h, ps[j]);
            /* issue 13 defect 4: never above the largest sample */
            if (!s_within_bound(exact, got) || got > h.max_us) {
                print_error("p%g: exact %" PRIu64 ", histogram %" PRIu64 ", max %" PRIu64 "\n",
                            ps[j], exact, got, h.max_us);
                fail();
            }
        }
        assert_true(ob_histogram_percentile(&h, 100) == v[N - 1]);
        assert_true(h.min_us == v[0] && h.max_us == v[N - 1]);
        assert_int_equal(h.count, N);
    }
}

static void test_empty_and_edges(void **state)
{
    (void)state;
    static ob_histogram_t h;
    memset(&h, 0, sizeof h);
    assert_int_equal(ob_histogram_percentile(&h, 50), 0);
    assert_int_equal(ob_histogram_percentile(&h, 100), 0);
    assert_int_equal(ob_histogram_percentile(&h, 0.001), 0);

    ob_histogram_record(&h, 0);
    assert_int_equal(h.count, 1);
    assert_int_equal(h.min_us, 0);
    assert_int_equal(ob_histogram_percentile(&h, 100), 0);
    ob_histogram_record(&h, 1);
    assert_int_equal(ob_histogram_percentile(&h, 50), 0);
    assert_int_equal(ob_histogram_percentile(&h, 50.0001), 1);
    assert_int_equal(ob_histogram_percentile(&h, 100), 1);

    ob_histogram_record(&h, UINT64_MAX);
    ob_histogram_record(&h, UINT64_MAX);
    assert_true(h.sum_us == UINT64_MAX); /* saturated, not wrapped */
    assert_true(h.max_us == UINT64_MAX);
    assert_int_equal(h.min_us, 0);
    assert_int_equal(h.buckets[OB_HISTOGRAM_BUCKETS - 1], 2);
    assert_true(ob_histogram_percentile(&h, 100) == UINT64_MAX);
    assert_true(ob_histogram_percentile(&h, 75) == UINT64_MAX);
    assert_int_equal(ob_histogram_percentile(&h, 25), 0);
    assert_int_equal(ob_histogram_percentile(&h, 50), 1);

    /* the minimum is the first sample's, even when that is not 0 */
    memset(&h, 0, sizeof h);
    ob_histogram_record(&h, 700);
    ob_histogram_record(&h, 9);
    ob_histogram_record(&h, 40);
    assert_int_equal(h.min_us, 9);
    assert_int_equal(h.max_us, 700);
    assert_int_equal(h.sum_us, 749);
}

static void test_merge(void **state)
{
    (void)state;
    static ob_histogram_t a, b, all, empty;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&all, 0, sizeof all);
    memset(&empty, 0, sizeof empty);
    for (int i = 0; i < 5000; i++) {
        uint64_t v = s_rand_log();
        ob_histogram_record(i % 3 ? &a : &b, v);
        ob_histogram_record(&all, v);
    }
    static ob_histogram_t merged;
    merged = empty;
    ob_histogram_merge(&merged, &a); /* into an empty one: a copy */
    assert_memory_equal(&merged, &a, sizeof a);
    ob_histogram_merge(&merged, &empty); /* an empty one changes nothing */
    assert_memory_equal(&merged, &a, sizeof a);
    ob_histogram_merge(&merged, &b);
    assert_memory_equal(&merged, &all, sizeof all);
    /* merge and record commute */
    static ob_histogram_t other;
    other = b;
    ob_histogram_merge(&other, &a);
    assert_memory_equal(&other, &all, sizeof all);
}

/* The pairs of a histogram's JSON: [upper, count]..., read back. */
static size_t s_read_pairs(const char *text, uint64_t upper[], uint64_t count[], size_t cap)
{
    const char *p = strstr(text, "\"buckets\":[");
    assert_non_null(p);
    p += strlen("\"buckets\":[");
    size_t n = 0;
    while (*p == '[' || *p == ',') {
        if (*p == ',')
            p++;
        unsigned long long u, c;
        int used = 0;
        assert_int_equal(sscanf(p, "[%llu,%llu]%n", &u, &c, &used), 2);
        assert_true(n < cap);
        upper[n] = u;
        count[n] = c;
        n++;
        p += used;
    }
    assert_int_equal(*p, ']');
    return n;
}

static void test_json_histogram(void **state)
{
    (void)state;
    static ob_histogram_t h;
    memset(&h, 0, sizeof h);
    static char buf[65536];
    ob_json_t json;

    ob_json_begin(&json, buf, sizeof buf);
    ob_json_object(&json, NULL);
    ob_json_histogram(&json, "lat", &h);
    ob_json_end(&json);
    assert_string_equal(ob_json_text(&json),
                        "{\"lat\":{\"count\":0,\"sum_us\":0,\"min_us\":0,\"max_us\":0,\"p50_us\":0,"
                        "\"p90_us\":0,\"p99_us\":0,\"p999_us\":0,\"buckets\":[]}}");

    ob_histogram_record(&h, 3);
    ob_histogram_record(&h, 3);
    ob_histogram_record(&h, 1000); /* bucket [992, 1007] */
    ob_json_begin(&json, buf, sizeof buf);
    ob_json_object(&json, NULL);
    ob_json_histogram(&json, "lat", &h);
    ob_json_u64(&json, "after", 7);
    ob_json_end(&json);
    assert_string_equal(ob_json_text(&json),
                        "{\"lat\":{\"count\":3,\"sum_us\":1006,\"min_us\":3,\"max_us\":1000,"
                        "\"p50_us\":3,\"p90_us\":1000,\"p99_us\":1000,\"p999_us\":1000,"
                        "\"buckets\":[[3,2],[1007,1]]},\"after\":7}");

    /* every bucket non-empty: the pairs are summed, fewer than the cap,
       and still exact cumulative counts at their bounds */
    memset(&h, 0, sizeof h);
    for (size_t i = 0; i < OB_HISTOGRAM_BUCKETS; i++) {
        h.buckets[i] = i + 1;
        h.count += i + 1;
    }
    h.max_us = UINT64_MAX;
    ob_json_begin(&json, buf, sizeof buf);
    ob_json_object(&json, NULL);
    ob_json_histogram(&json, "lat", &h);
    ob_json_end(&json);
    assert_non_null(ob_json_text(&json));
    static uint64_t upper[OB_HISTOGRAM_BUCKETS], count[OB_HISTOGRAM_BUCKETS];
    size_t n = s_read_pairs(buf, upper, count, OB_HISTOGRAM_BUCKETS);
    assert_true(n > OB_HISTOGRAM_JSON_BUCKETS / 2 && n <= OB_HISTOGRAM_JSON_BUCKETS);
    uint64_t cumulative = 0;
    for (size_t k = 0; k < n; k++) {
        if (k)
            assert_true(upper[k] > upper[k - 1]);
        cumulative += count[k];
        size_t b = ob_histogram_bucket(upper[k]);
        assert_true(ob_histogram_bucket_high(b) == upper[k]);
        uint64_t expect = (uint64_t)(b + 1) * (b + 2) / 2; /* 1 + 2 + ... + (b + 1) */
        assert_true(cumulative == expect);
    }
    assert_true(upper[n - 1] == UINT64_MAX);
    assert_true(cumulative == h.count);
    assert_true(strlen(buf) < 12000); /* an event stays small */

    /* exactly the cap of non-empty buckets: one pair each */
    memset(&h, 0, sizeof h);
    for (size_t i = 0; i < OB_HISTOGRAM_JSON_BUCKETS; i++)
        ob_histogram_record(&h, ob_histogram_bucket_low(i * 7));
    ob_json_begin(&json, buf, sizeof buf);
    ob_json_object(&json, NULL);
    ob_json_histogram(&json, "lat", &h);
    ob_json_end(&json);
    n = s_read_pairs(buf, upper, count, OB_HISTOGRAM_BUCKETS);
    assert_int_equal(n, OB_HISTOGRAM_JSON_BUCKETS);
    for (size_t k = 0; k < n; k++)
        assert_true(count[k] == 1 && upper[k] == ob_histogram_bucket_high(k * 7));
}

static void test_json_writer(void **state)
{
    (void)state;
    char buf[128];
    ob_json_t json;
    ob_json_begin(&json, buf, sizeof buf);
    ob_json_object(&json, NULL);
    ob_json_str(&json, "actor", "net");
    ob_json_object(&json, "shell");
    ob_json_u64(&json, "a", 0);
    ob_json_u64(&json, "b", UINT64_MAX);
    ob_json_end(&json);
    ob_json_object(&json, "empty");
    ob_json_end(&json);
    assert_null(ob_json_text(&json)); /* not closed yet */
    ob_json_end(&json);
    assert_string_equal(ob_json_text(&json), "{\"actor\":\"net\",\"shell\":{\"a\":0,\"b\":"
                                             "18446744073709551615},\"empty\":{}}");

    /* strings are escaped */
    char escaped[128];
    ob_json_begin(&json, escaped, sizeof escaped);
    ob_json_object(&json, NULL);
    ob_json_str(&json, "endpoint", "ipc:///tmp/a\"b\\c\n");
    ob_json_end(&json);
    assert_string_equal(ob_json_text(&json), "{\"endpoint\":\"ipc:///tmp/a\\\"b\\\\c\\n\"}");
    ob_json_begin(&json, escaped, sizeof escaped);
    ob_json_object(&json, NULL);
    ob_json_str(&json, "name", "\xff not UTF-8");
    ob_json_end(&json);
    assert_null(ob_json_text(&json));

    /* a histogram that does not fit overflows, never writes past the end */
    static ob_histogram_t h;
    memset(&h, 0, sizeof h);
    for (uint64_t v = 1; v < 100000; v += 97)
        ob_histogram_record(&h, v);
    char small[200];
    memset(small, 'x', sizeof small);
    ob_json_begin(&json, small, 150);
    ob_json_object(&json, NULL);
    ob_json_histogram(&json, "lat", &h);
    ob_json_end(&json);
    assert_null(ob_json_text(&json));
    assert_true(json.overflow);
    for (size_t i = 150; i < sizeof small; i++)
        assert_int_equal(small[i], 'x');
}

static char *s_prometheus(const char *json, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    *rc = ob_cli_metrics_print(json, "node0", out);
    fclose(out);
    return text;
}

static void test_prometheus_histogram(void **state)
{
    (void)state;
    static ob_histogram_t h;
    memset(&h, 0, sizeof h);
    ob_histogram_record(&h, 3);
    ob_histogram_record(&h, 3);
    ob_histogram_record(&h, 1000);
    static char buf[4096];
    ob_json_t json;
    ob_json_begin(&json, buf, sizeof buf);
    ob_json_object(&json, NULL);
    ob_json_str(&json, "actor", "journal");
    ob_json_u64(&json, "instance", 0);
    ob_json_u64(&json, "certificates", 5);
    ob_json_histogram(&json, "lat", &h);
    ob_json_object(&json, "drops");
    ob_json_u64(&json, "bad_sig", 2);
    ob_json_end(&json);
    ob_json_end(&json);
    int rc;
    char *text = s_prometheus(ob_json_text(&json), &rc);
    assert_int_equal(rc, 0);
    const char *l = "{node=\"node0\",instance=\"0\"";
    char expect[4096];
    snprintf(expect, sizeof expect,
             "# HELP obcast_journal_certificates_total obcast journal certificates_total, "
             "counted since the actor started\n"
             "# TYPE obcast_journal_certificates_total counter\n"
             "obcast_journal_certificates_total%s} 5\n"
             "# HELP obcast_journal_drops_total obcast journal drops_total, counted since the "
             "actor started\n"
             "# TYPE obcast_journal_drops_total counter\n"
             "obcast_journal_drops_total%s,error=\"bad_sig\"} 2\n"
             "# HELP obcast_journal_lat obcast journal lat, a latency histogram in microseconds\n"
             "# TYPE obcast_journal_lat histogram\n"
             "obcast_journal_lat_bucket%s,le=\"3\"} 2\n"
             "obcast_journal_lat_bucket%s,le=\"1007\"} 3\n"
             "obcast_journal_lat_bucket%s,le=\"+Inf\"} 3\n"
             "obcast_journal_lat_count%s} 3\n"
             "obcast_journal_lat_sum%s} 1006\n"
             "# HELP obcast_journal_lat_max_us obcast journal lat_max_us, a level\n"
             "# TYPE obcast_journal_lat_max_us gauge\n"
             "obcast_journal_lat_max_us%s} 1000\n"
             "# HELP obcast_journal_lat_min_us obcast journal lat_min_us, a level\n"
             "# TYPE obcast_journal_lat_min_us gauge\n"
             "obcast_journal_lat_min_us%s} 3\n"
             "# HELP obcast_journal_lat_p50_us obcast journal lat_p50_us, a level\n"
             "# TYPE obcast_journal_lat_p50_us gauge\n"
             "obcast_journal_lat_p50_us%s} 3\n"
             "# HELP obcast_journal_lat_p90_us obcast journal lat_p90_us, a level\n"
             "# TYPE obcast_journal_lat_p90_us gauge\n"
             "obcast_journal_lat_p90_us%s} 1000\n"
             "# HELP obcast_journal_lat_p999_us obcast journal lat_p999_us, a level\n"
             "# TYPE obcast_journal_lat_p999_us gauge\n"
             "obcast_journal_lat_p999_us%s} 1000\n"
             "# HELP obcast_journal_lat_p99_us obcast journal lat_p99_us, a level\n"
             "# TYPE obcast_journal_lat_p99_us gauge\n"
             "obcast_journal_lat_p99_us%s} 1000\n",
             l, l, l, l, l, l, l, l, l, l, l, l, l);
    assert_string_equal(text, expect);
    free(text);

    /* an empty histogram: only +Inf, at 0 */
    text = s_prometheus("{\"actor\":\"net\",\"instance\":1,\"h\":{\"count\":0,\"sum_us\":0,"
                        "\"buckets\":[]}}",
                        &rc);
    assert_int_equal(rc, 0);
    assert_non_null(
        strstr(text, "obcast_net_h_bucket{node=\"node0\",instance=\"1\",le=\"+Inf\"} 0\n"));
    assert_non_null(strstr(text, "obcast_net_h_sum{node=\"node0\",instance=\"1\"} 0\n"));
    free(text);

    /* the actor and instance are found by name, wherever they stand */
    text = s_prometheus("{\"x\":{\"y\":3},\"instance\":2,\"actor\":\"signer\"}", &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(text, "obcast_signer_x_y_total{node=\"node0\",instance=\"2\"} 3\n"));
    free(text);

    /* malformed pairs are refused, never read past */
    static const char *const bad[] = {
        "{\"actor\":\"net\",\"instance\":0,\"h\":{\"buckets\":[[5,1],[5,1]]}}", /* not rising */
        "{\"actor\":\"net\",\"instance\":0,\"h\":{\"buckets\":[[9,1],[5,1]]}}",
        "{\"actor\":\"net\",\"instance\":0,\"h\":{\"buckets\":[[5]]}}",
        "{\"actor\":\"net\",\"instance\":0,\"h\":{\"buckets\":[[5,1]",
        "{\"actor\":\"net\",\"instance\":0,\"h\":{\"buckets\":[5,1]}}",
        "{\"actor\":\"net\",\"instance\":0,\"h\":{\"buckets\":[[5,-1]]}}",
        "{\"actor\":\"net\",\"instance\":0,\"h\":{\"buckets\":[[1,18446744073709551615],[2,1]]}}",
        "{\"actor\":\"net\",\"instance\":0,\"h\":{\"buckets\":[[99999999999999999999,1]]}}",
        "{\"actor\":\"net\",\"instance\":0,\"h\":{\"other\":[[5,1]]}}", /* arrays only there */
        "{\"actor\":\"net\",\"instance\":0,\"buckets\":[[5,1]]}",       /* not in a histogram */
        "{\"actor\":\"net\",\"instance\":0,\"a\":1,\"a\":2}",           /* a key twice */
        "{\"actor\":\"NET\",\"instance\":0}",                           /* not an actor */
        "{\"actor\":\"net\",\"instance\":-1}",
        "{\"actor\":\"net\",\"instance\":0,\"a\":1.5}", /* not whole */
        "{\"actor\":\"net\",\"instance\":0,\"a\":null}",
        "{\"actor\":\"net\",\"instance\":0} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        text = s_prometheus(bad[i], &rc);
        if (rc != -1) {
            print_error("accepted: %s\n", bad[i]);
            fail();
        }
        free(text);
    }
}

/* Prometheus text is valid for a scraper: every sample under its
   family's # HELP and # TYPE, each family once and contiguous. The
   family of a histogram's _bucket, _sum and _count is the histogram. */
static void s_check_exposition(const char *text)
{
    char families[256][256];
    size_t count = 0;
    char typed[256] = "", helped[256] = "", kind[32] = "";
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line ends */
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(nl - p), p);
        p = nl + 1;
        char name[256];
        if (sscanf(line, "# HELP %255s", name) == 1) {
            for (size_t i = 0; i < count; i++)
                if (strcmp(families[i], name) == 0)
                    fail_msg("family %s twice", name);
            assert_true(count < 256);
            snprintf(families[count++], sizeof families[0], "%s", name);
            snprintf(helped, sizeof helped, "%s", name);
            continue;
        }
        if (sscanf(line, "# TYPE %255s %31s", name, kind) == 2) {
            assert_string_equal(name, helped); /* TYPE right after its HELP */
            snprintf(typed, sizeof typed, "%s", name);
            continue;
        }
        assert_true(line[0] != '#');
        size_t n = strcspn(line, "{ ");
        snprintf(name, sizeof name, "%.*s", (int)n, line);
        size_t f = strlen(typed);
        bool ok = strcmp(name, typed) == 0;
        if (strcmp(kind, "histogram") == 0 && strncmp(name, typed, f) == 0)
            ok = strcmp(name + f, "_bucket") == 0 || strcmp(name + f, "_sum") == 0 ||
                 strcmp(name + f, "_count") == 0;
        if (strcmp(kind, "counter") == 0)
            ok = ok && f > 6 && strcmp(typed + f - 6, "_total") == 0;
        if (!ok)
            fail_msg("sample %s under family %s (%s)", line, typed, kind);
    }
}

/* Several events, as the supervisor and obcast metrics add them: one
   family per name across actors and instances, its two labels from the
   supervisor's nested maps (actor, cause). */
static void test_prometheus_families(void **state)
{
    (void)state;
    ob_prom_t *prom = ob_prom_new();
    assert_non_null(prom);
    assert_int_equal(ob_prom_add(prom,
                                 "{\"actor\":\"verifier\",\"instance\":0,\"valid\":4,"
                                 "\"lat\":{\"count\":1,\"sum_us\":5,\"buckets\":[[5,1]]}}",
                                 "n1"),
                     0);
    assert_int_equal(ob_prom_add(prom,
                                 "{\"actor\":\"supervisor\",\"instance\":0,\"actors\":{"
                                 "\"verifier_0\":{\"up\":1,\"restarts\":{\"crash\":2,"
                                 "\"hung\":0},\"last_restart_seconds\":1700000000}}}",
                                 "n1"),
                     0);
    assert_int_equal(ob_prom_add(prom,
                                 "{\"actor\":\"verifier\",\"instance\":1,\"valid\":6,"
                                 "\"lat\":{\"count\":0,\"sum_us\":0,\"buckets\":[]}}",
                                 "n1"),
                     0);
    /* a malformed event adds nothing */
    assert_int_equal(ob_prom_add(prom, "{\"actor\":\"net\",\"instance\":0,\"x\":1,", "n1"), -1);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    assert_int_equal(ob_prom_write(prom, out), 0);
    fclose(out);
    ob_prom_destroy(&prom);
    assert_null(prom);
    s_check_exposition(text);
    assert_non_null(strstr(text, "# TYPE obcast_verifier_valid_total counter\n"
                                 "obcast_verifier_valid_total{node=\"n1\",instance=\"0\"} 4\n"
                                 "obcast_verifier_valid_total{node=\"n1\",instance=\"1\"} 6\n"));
    assert_non_null(strstr(text,
                           "obcast_supervisor_actors_restarts_total{node=\"n1\",instance=\"0\","
                           "actor=\"verifier_0\",cause=\"crash\"} 2\n"));
    assert_non_null(strstr(text, "# TYPE obcast_supervisor_actors_up gauge\n"
                                 "obcast_supervisor_actors_up{node=\"n1\",instance=\"0\","
                                 "actor=\"verifier_0\"} 1\n"));
    assert_non_null(strstr(text, "# TYPE obcast_supervisor_actors_last_restart_seconds gauge\n"));
    assert_null(strstr(text, "obcast_net"));
    assert_non_null(strstr(text, "obcast_verifier_lat_count{node=\"n1\",instance=\"1\"} 0\n"));
    free(text);
}

/* --- a chunk's life: the stage table -------------------------------------- */

static void s_stage_dir(char dir[64])
{
    snprintf(dir, 64, "/tmp/obcast-stages-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void s_stage_cleanup(const char *dir, const char *file)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    unlink(path);
}

/* Pipelined commits: a batch's marks are stamped when its messages leave
   (its sync returned), not when an earlier batch's do; later batches'
   marks stay pending. */
static void test_stages_sealed_per_batch(void **state)
{
    (void)state;
    ob_stages_t *journal = ob_stages_new(NULL, NULL);
    assert_non_null(journal);
    uint8_t seq[32];
    memset(seq, 0xcd, sizeof seq);
    ob_stages_mark(journal, OB_STAGE_ASKED, seq, 3);
    ob_stages_stamp(journal, 1000);
    /* batch 1 waits for sync 1, batch 2 for sync 2 */
    ob_stages_mark(journal, OB_STAGE_PAYLOAD_COMMITTED, seq, 3);
    ob_stages_seal(journal, 1);
    ob_stages_mark(journal, OB_STAGE_TIP_COMMITTED, seq, 3);
    ob_stages_seal(journal, 2);
    ob_stages_stamp_synced(journal, 0, 1500); /* an earlier sync: nothing of batch 1 */
    assert_int_equal(ob_stages_since_previous(journal, OB_STAGE_PAYLOAD_COMMITTED)->count, 0);
    ob_stages_stamp_synced(journal, 1, 2000);
    const ob_histogram_t *h = ob_stages_since_previous(journal, OB_STAGE_PAYLOAD_COMMITTED);
    assert_int_equal(h->count, 1);
    assert_int_equal(h->min_us, 1000);
    assert_int_equal(ob_stages_since_previous(journal, OB_STAGE_TIP_COMMITTED)->count, 0);
    ob_stages_stamp(journal, 2600);
    h = ob_stages_since_previous(journal, OB_STAGE_TIP_COMMITTED);
    assert_int_equal(h->count, 1);
    assert_int_equal(h->min_us, 600);
    ob_stages_destroy(&journal);
}

static void test_stages_across_actors(void **state)
{
    (void)state;
    char dir[64], path[128];
    s_stage_dir(dir);
    snprintf(path, sizeof path, "%s/stages", dir);
    /* Two actors of one node: the journal asks, the signer signs. */
    ob_stages_t *journal = ob_stages_new(path, NULL), *signer = ob_stages_new(path, NULL);
    assert_non_null(journal);
    assert_non_null(signer);
    uint8_t seq[32];
    memset(seq, 0xab, sizeof seq);

    ob_stages_mark(journal, OB_STAGE_ASKED, seq, 7);
    ob_stages_stamp(journal, 1000);
    ob_stages_mark(journal, OB_STAGE_PAYLOAD_COMMITTED, seq, 7);
    ob_stages_stamp(journal, 1300);
    /* Pending until stamped: the signer's mark is timed at its stamp. */
    ob_stages_mark(signer, OB_STAGE_SIGNED, seq, 7);
    ob_stages_stamp(signer, 2000);
    /* Only the first mark of a stage counts (a rebroadcast is no send). */
    ob_stages_mark(signer, OB_STAGE_SIGNED, seq, 7);
    ob_stages_stamp(signer, 9000);

    const ob_histogram_t *h = ob_stages_since_previous(journal, OB_STAGE_PAYLOAD_COMMITTED);
    assert_int_equal(h->count, 1);
    assert_int_equal(h->min_us, 300);
    h = ob_stages_since_previous(signer, OB_STAGE_SIGNED);
    assert_int_equal(h->count, 1);
    assert_int_equal(h->min_us, 700); /* since payload_committed, in the other actor */
    h = ob_stages_since_asked(signer, OB_STAGE_SIGNED);
    assert_int_equal(h->min_us, 1000);
    /* Nothing before "asked": it is the origin. */
    assert_int_equal(ob_stages_since_previous(journal, OB_STAGE_ASKED)->count, 0);

    /* A skipped stage: the previous one is the latest stamped. */
    ob_stages_mark(journal, OB_STAGE_CERT_COMMITTED, seq, 7);
    ob_stages_stamp(journal, 5000);
    assert_int_equal(ob_stages_since_previous(journal, OB_STAGE_CERT_COMMITTED)->min_us, 3000);
    /* Another chunk is timed apart. */
    ob_stages_mark(signer, OB_STAGE_SIGNED, seq, 8);
    ob_stages_stamp(signer, 6000);
    assert_int_equal(ob_stages_since_previous(signer, OB_STAGE_SIGNED)->count, 1);

    char buf[16384];
    ob_json_t json;
    ob_json_begin(&json, buf, sizeof buf);
    ob_json_object(&json, NULL);
    ob_json_stages(&json, "stages", signer);
    ob_json_end(&json);
    const char *text = ob_json_text(&json);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"signed\":{\"previous\":{\"count\":1,\"sum_us\":700,"));
    assert_null(strstr(text, "\"asked\":{\"previous\""));

    ob_stages_destroy(&journal);
    ob_stages_destroy(&signer);
    ob_stages_destroy(&signer);
    assert_null(signer);
    s_stage_cleanup(dir, "stages");
    rmdir(dir);
}

static void test_stages_across_nodes_and_bounds(void **state)
{
    (void)state;
    char dir[64], a[128], b[128], shared[128];
    s_stage_dir(dir);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(shared, sizeof shared, "%s/shared", dir);
    ob_stages_t *seq_net = ob_stages_new(a, shared), *val_net = ob_stages_new(b, shared);
    ob_stages_t *alone = ob_stages_new(NULL, NULL);
    assert_non_null(seq_net);
    assert_non_null(val_net);
    assert_non_null(alone);
    uint8_t seq[32];
    memset(seq, 0x11, sizeof seq);
    ob_stages_mark(seq_net, OB_STAGE_ASKED, seq, 1);
    ob_stages_stamp(seq_net, 100);
    ob_stages_mark(seq_net, OB_STAGE_SENT, seq, 1);
    ob_stages_stamp(seq_net, 400);
    /* Another node on the machine's table: received since sent. */
    ob_stages_mark(val_net, OB_STAGE_RECEIVED, seq, 1);
    ob_stages_stamp(val_net, 650);
    assert_int_equal(ob_stages_since_previous(val_net, OB_STAGE_RECEIVED)->min_us, 250);
    assert_int_equal(ob_stages_since_asked(val_net, OB_STAGE_RECEIVED)->min_us, 550);
    /* Without it a validator's first stage has no previous. */
    ob_stages_mark(alone, OB_STAGE_RECEIVED, seq, 1);
    ob_stages_stamp(alone, 650);
    assert_int_equal(ob_stages_since_previous(alone, OB_STAGE_RECEIVED)->count, 0);

    /* A stale stamp (a slot from long ago) times nothing. */
    ob_stages_mark(alone, OB_STAGE_VERIFIED, seq, 1);
    ob_stages_stamp(alone, 650 + 61ull * 1000 * 1000);
    assert_int_equal(ob_stages_since_previous(alone, OB_STAGE_VERIFIED)->count, 0);
    /* Pending marks are bounded: a flood is not timed, never written past. */
    for (uint64_t h = 0; h < 5000; h++)
        ob_stages_mark(alone, OB_STAGE_ASKED, seq, 100 + h);
    ob_stages_stamp(alone, 1);
    for (uint64_t h = 0; h < 5000; h++)
        ob_stages_mark(alone, OB_STAGE_PAYLOAD_COMMITTED, seq, 100 + h);
    ob_stages_stamp(alone, 11);
    const ob_histogram_t *p = ob_stages_since_previous(alone, OB_STAGE_PAYLOAD_COMMITTED);
    assert_true(p->count > 0 && p->count <= 1024);
    /* NULL tables, and ob_stage with none current, do nothing. */
    ob_stages_mark(NULL, OB_STAGE_ASKED, seq, 1);
    ob_stages_stamp(NULL, 1);
    ob_stage(OB_STAGE_ASKED, seq, 1);
    /* A path that cannot be made: no table, no crash. */
    assert_null(ob_stages_new("/nonexistent-dir/x/stages", NULL));

    ob_stages_destroy(&seq_net);
    ob_stages_destroy(&val_net);
    ob_stages_destroy(&alone);
    s_stage_cleanup(dir, "a");
    s_stage_cleanup(dir, "b");
    s_stage_cleanup(dir, "shared");
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_tile_the_range),
        cmocka_unit_test(test_error_bound_sweep),
        cmocka_unit_test(test_percentile_bound_sweep),
        cmocka_unit_test(test_percentiles_against_sorted),
        cmocka_unit_test(test_percentile_not_above_max),
        cmocka_unit_test(test_empty_and_edges),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_json_histogram),
        cmocka_unit_test(test_json_writer),
        cmocka_unit_test(test_prometheus_histogram),
        cmocka_unit_test(test_prometheus_families),
        cmocka_unit_test(test_stages_sealed_per_batch),
        cmocka_unit_test(test_stages_across_actors),
        cmocka_unit_test(test_stages_across_nodes_and_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* actors/cli/watch_view.c: the live view of `obcast watch`, fed events
   and read back as its screen. */
#include "testutil.h"
#include "watch_view.h"

#include <stdio.h>
#include <string.h>

static char s_screen[65536];

static const char *s_render(ob_watch_view_t *view, uint64_t now_ms)
{
    ob_watch_view_render(view, now_ms, s_screen, sizeof s_screen);
    return s_screen;
}

/* The line of the screen that starts with `start`, or NULL. */
static const char *s_line(const char *start, char *buf, size_t cap)
{
    size_t len = strlen(start);
    for (const char *line = s_screen; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n >= len && memcmp(line, start, len) == 0) {
            snprintf(buf, cap, "%.*s", (int)n, line);
            return buf;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

static void s_lock(ob_watch_view_t *view, const char *sequencer, unsigned height, uint64_t at)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"node\":\"node1\",\"sequencer_name\":\"%s\",\"height\":%u,\"epoch\":1}", sequencer,
             height);
    assert_int_equal(ob_watch_view_feed(view, "lock", json, at), 0);
}

static void s_journal(ob_watch_view_t *view, const char *buckets, uint64_t at)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"actor\":\"journal\",\"instance\":0,\"epoch\":3,"
             "\"proposal_to_certificate_latency\":{\"count\":1,\"buckets\":%s}}",
             buckets);
    assert_int_equal(ob_watch_view_feed(view, "metrics", json, at), 0);
}

static void test_watch_view_before_any_event(void **state)
{
    (void)state;
    ob_watch_view_t *view = ob_watch_view_new("node1");
    assert_non_null(
        strstr(s_render(view, 0), "obcast watch: node node1: waiting for its first event"));
    ob_watch_view_destroy(&view);
    ob_watch_view_destroy(&view); /* safe twice */
    assert_null(view);
}

/* Heights and rates per sequencer, sorted by name; the rate over the
   samples of the last 10 s, taken once a second by render. */
static void test_watch_view_sequencers(void **state)
{
    (void)state;
    char line[256];
    ob_watch_view_t *view = ob_watch_view_new("node1");
    uint64_t t = 1000000;
    for (unsigned h = 0; h < 10; h++)
        s_lock(view, "zeta", h, t);
    s_lock(view, "alpha", 4, t);
    s_render(view, t);
    assert_non_null(s_line("zeta", line, sizeof line));
    assert_non_null(strstr(line, " 10 ")); /* heights 0..9 */
    assert_non_null(strstr(line, " - "));  /* no rate from one sample */
    /* 50 heights a second for 4 s. */
    for (unsigned s = 1; s <= 4; s++) {
        for (unsigned h = 0; h < 50; h++)
            s_lock(view, "zeta", 10 + (s - 1) * 50 + h, t + s * 1000);
        s_render(view, t + s * 1000);
    }
    assert_non_null(s_line("zeta", line, sizeof line));
    assert_non_null(strstr(line, " 210 "));
    assert_non_null(strstr(line, " 50.0 "));
    const char *alpha = strstr(s_screen, "alpha"), *zeta = strstr(s_screen, "zeta");
    assert_true(alpha && zeta && alpha < zeta);
    assert_non_null(s_line("alpha", line, sizeof line));
    assert_non_null(strstr(line, " 0.0 ")); /* heard, then still */
    assert_non_null(strstr(line, "4.0 s ago"));
    /* A height below the top (a late Lock) does not lower it. */
    s_lock(view, "zeta", 3, t + 5000);
    s_render(view, t + 5000);
    assert_non_null(strstr(s_line("zeta", line, sizeof line), " 210 "));
    ob_watch_view_destroy(&view);
}

/* Latency from the difference of the journal's histograms about 10 s
   apart: older certificates no longer count. */
static void test_watch_view_latency_window(void **state)
{
    (void)state;
    ob_watch_view_t *view = ob_watch_view_new("node1");
    s_journal(view, "[]", 0);
    assert_non_null(strstr(s_render(view, 0), "none certified"));
    /* 100 slow certificates (90 ms) at first ... */
    s_journal(view, "[[90000, 100]]", 1000);
    assert_non_null(strstr(s_render(view, 1000), "p50 90.00 ms  p99 90.00 ms  (100 chunks)"));
    /* ... then, over more than a window, 99 fast (2 ms) and 1 at 40 ms. */
    for (uint64_t s = 2; s <= 13; s++)
        s_journal(view, "[[2000, 0], [90000, 100]]", s * 1000);
    s_journal(view, "[[2000, 99], [40000, 1], [90000, 100]]", 14000);
    const char *screen = s_render(view, 14000);
    assert_non_null(strstr(screen, "p50 2.00 ms  p99 2.00 ms  (100 chunks)"));
    s_journal(view, "[[2000, 99], [40000, 2], [90000, 100]]", 15000);
    screen = s_render(view, 15000);
    assert_non_null(strstr(screen, "p50 2.00 ms  p99 40.00 ms  (101 chunks)"));
    assert_non_null(strstr(screen, "epoch 3"));
    ob_watch_view_destroy(&view);
}

/* Actor states from heartbeats and the supervisor's events; restarts
   counted; peers from net's metrics and peer events; drops summed by
   error name. */
static void test_watch_view_actors_peers_drops(void **state)
{
    (void)state;
    char line[256];
    ob_watch_view_t *view = ob_watch_view_new("node1");
    assert_int_equal(ob_watch_view_feed(view, "metrics",
                                        "{\"actor\":\"net\",\"instance\":0,\"peers\":{"
                                        "\"node2\":{\"connected\":1},\"node0\":{\"connected\":0}}}",
                                        1000),
                     0);
    assert_int_equal(
        ob_watch_view_feed(view, "metrics", "{\"actor\":\"verifier\",\"instance\":1}", 1000), 0);
    s_render(view, 1500);
    assert_non_null(strstr(s_line("net 0", line, sizeof line), " up "));
    assert_non_null(strstr(s_line("node0", line, sizeof line), "DISCONNECTED"));
    assert_non_null(strstr(s_line("node2", line, sizeof line), "connected"));
    assert_non_null(strstr(s_screen, "DROPS"));
    assert_non_null(strstr(s_screen, "(none)"));

    ob_watch_view_feed(view, "actor", "{\"event\":\"exit\",\"actor\":\"net\",\"instance\":0}",
                       2000);
    s_render(view, 2000);
    assert_non_null(strstr(s_line("net 0", line, sizeof line), " exited "));
    ob_watch_view_feed(view, "actor", "{\"event\":\"restart\",\"actor\":\"net\",\"instance\":0}",
                       2001);
    s_render(view, 2001);
    assert_non_null(strstr(s_line("net 0", line, sizeof line), " restarting "));
    assert_non_null(strstr(line, " 1 "));
    ob_watch_view_feed(view, "actor", "{\"event\":\"spawn\",\"actor\":\"net\",\"instance\":0}",
                       2100);
    ob_watch_view_feed(view, "metrics", "{\"actor\":\"net\",\"instance\":0}", 3000);
    ob_watch_view_feed(view, "peer", "{\"peer\":\"node0\",\"event\":\"connected\"}", 3000);
    s_render(view, 3000);
    assert_non_null(strstr(s_line("net 0", line, sizeof line), " up "));
    assert_non_null(strstr(line, " 1 "));
    assert_null(strstr(s_line("node0", line, sizeof line), "DISCONNECTED"));
    /* The verifier's last heartbeat was at 1000: silent after 3 s. */
    s_render(view, 5000);
    assert_non_null(strstr(s_line("verifier 1", line, sizeof line), "silent 4 s"));
    ob_watch_view_feed(view, "actor", "{\"event\":\"hung\",\"actor\":\"verifier\",\"instance\":1}",
                       5000);
    s_render(view, 5000);
    assert_non_null(strstr(s_line("verifier 1", line, sizeof line), " hung "));

    ob_watch_view_feed(view, "drop",
                       "{\"error\":\"bad_signature\",\"actor\":\"verifier\",\"count\":3}", 5000);
    ob_watch_view_feed(view, "drop", "{\"error\":\"bad_signature\",\"count\":2}", 5000);
    ob_watch_view_feed(view, "drop", "{\"error\":\"alien_epoch\"}", 5000);
    s_render(view, 5000);
    assert_non_null(strstr(s_line("bad_signature", line, sizeof line), " 5"));
    assert_non_null(strstr(s_line("alien_epoch", line, sizeof line), " 1"));
    ob_watch_view_destroy(&view);
}

/* Bad events are counted and change nothing; tables are bounded. */
static void test_watch_view_bad_input(void **state)
{
    (void)state;
    ob_watch_view_t *view = ob_watch_view_new("node1");
    const char *bad[] = {"", "not json", "[1,2]", "{\"a\":1,\"a\":2}", "{", "17", "null"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(ob_watch_view_feed(view, "lock", bad[i], 1), -1);
    /* Objects of the wrong shape: ignored, not crashed on. */
    const char *odd[] = {"{\"sequencer_name\":5,\"height\":1}",
                         "{\"sequencer_name\":\"x\",\"height\":-1}",
                         "{\"sequencer_name\":\"x\"}",
                         "{\"actor\":\"journal\",\"proposal_to_certificate_latency\":"
                         "{\"buckets\":[[\"a\",1],[1],[-5,2],7]}}",
                         "{\"actor\":\"net\",\"peers\":[1,2]}",
                         "{\"actor\":\"net\",\"peers\":{\"p\":{\"connected\":\"yes\"}}}"};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        const char *topic = i < 3 ? "lock" : "metrics";
        assert_int_equal(ob_watch_view_feed(view, topic, odd[i], 1), 0);
    }
    s_render(view, 2);
    assert_non_null(strstr(s_screen, "(no lock yet)"));
    assert_non_null(strstr(s_screen, "7 events were not JSON objects; 0 rows did not fit"));
    /* More sequencers than the table holds: the rest are counted. */
    for (unsigned i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof name, "seq%03u", i);
        s_lock(view, name, 0, 3);
    }
    s_render(view, 3);
    assert_non_null(strstr(s_screen, "seq255"));
    assert_null(strstr(s_screen, "seq256"));
    assert_non_null(strstr(s_screen, "44 rows did not fit"));
    /* A screen too small is cut, still terminated. */
    char tiny[16];
    size_t len = ob_watch_view_render(view, 3, tiny, sizeof tiny);
    assert_true(len < sizeof tiny);
    assert_int_equal(tiny[len], '\0');
    ob_watch_view_destroy(&view);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_view_before_any_event),
        cmocka_unit_test(test_watch_view_sequencers),
        cmocka_unit_test(test_watch_view_latency_window),
        cmocka_unit_test(test_watch_view_actors_peers_drops),
        cmocka_unit_test(test_watch_view_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  actors/supervisor/metrics_http: its self-test, which serves a text and
    scrapes it over a loopback socket (200 with format 0.0.4, 404 for
    another path, 405 for another method, a port in use refused). */
#include "testutil.h"

#include "metrics_http.h"

static void test_self_test(void **state)
{
    (void)state;
    assert_int_equal(ob_metrics_http_test(true), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

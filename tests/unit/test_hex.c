/*  Hex helpers, error reasons and log levels. */
#include "testutil.h"

#include "hex.h"
#include "log.h"
#include "why.h"

#include <string.h>

static void test_hex_round_trip(void **state)
{
    (void)state;
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    char text[513];
    ob_hex_encode(all, sizeof all, text);
    assert_int_equal(strlen(text), 512);
    assert_memory_equal(text, "000102", 6);
    assert_string_equal(text + 506, "fdfeff");
    uint8_t back[256];
    assert_int_equal(ob_hex_decode(text, 512, back, sizeof back), 256);
    assert_memory_equal(back, all, 256);
    ob_hex_encode(all, 0, text);
    assert_string_equal(text, "");
}

static void test_hex_rejects(void **state)
{
    (void)state;
    uint8_t out[4];
    assert_int_equal(ob_hex_decode("abc", 3, out, sizeof out), -1); /* odd */
    assert_int_equal(ob_hex_decode("0g", 2, out, sizeof out), -1);  /* not hex */
    assert_int_equal(ob_hex_decode(" 0", 2, out, sizeof out), -1);  /* space */
    assert_int_equal(ob_hex_decode("0011223344", 10, out, 4), -1);  /* too long */
    assert_int_equal(ob_hex_decode("AbCd", 4, out, sizeof out), 2); /* either case */
    assert_int_equal(out[0], 0xab);
    assert_int_equal(out[1], 0xcd);
    assert_int_equal(ob_hex_decode("", 0, out, 0), 0);
    assert_int_equal(ob_hex_decode_exact("aabb", out, 2), 0);
    assert_int_equal(ob_hex_decode_exact("aabb", out, 3), -1);
    assert_int_equal(ob_hex_decode_exact("aabbcc", out, 2), -1);
}

static void test_why_and_log_levels(void **state)
{
    (void)state;
    ob_why_t why;
    assert_int_equal(ob_why(&why, "file %s: %d", "x.conf", 7), -1);
    assert_string_equal(why.text, "file x.conf: 7");
    assert_int_equal(ob_why(NULL, "ignored"), -1);
    /* A long reason is cut, never overrun. */
    char long_text[1000];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    ob_why(&why, "%s", long_text);
    assert_int_equal(strlen(why.text), OB_WHY_LEN - 1);

    ob_log_level_t level;
    assert_int_equal(ob_log_level_parse("debug", &level), 0);
    assert_int_equal(level, OB_LOG_DEBUG);
    assert_int_equal(ob_log_level_parse("error", &level), 0);
    assert_int_equal(level, OB_LOG_ERROR);
    assert_int_equal(ob_log_level_parse("verbose", &level), -1);
    ob_log_set_level(OB_LOG_WARN);
    assert_int_equal(ob_log_level(), OB_LOG_WARN);
    ob_log_set_ident("test-hex");
    ob_info("not shown");
    ob_warn("a long line is cut to one line: %s", long_text);
    ob_log_set_level(OB_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_hex_rejects),
        cmocka_unit_test(test_why_and_log_levels),
    };
    return cmocka_run_group_tests_name("hex", tests, NULL, NULL);
}

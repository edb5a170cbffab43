/*
 * test_util.c -- unit tests of common/util.c.
 *
 * Why: integer parsing and UTF-8 validation guard every input that comes
 * from a user or the environment; these cases pin down exactly what is
 * accepted. No fixtures: every test works on literals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "util.h"

/* ---- integer parsing --------------------------------------------------- */

static void test_parse_u64_valid(void **state)
{
	uint64_t v = 0;

	assert_int_equal(lms_parse_u64("0", 0, 10, &v), 0);
	assert_true(v == 0);
	assert_int_equal(lms_parse_u64("42", 0, 100, &v), 0);
	assert_true(v == 42);
	assert_int_equal(lms_parse_u64("007", 0, 100, &v), 0);
	assert_true(v == 7);
	assert_int_equal(lms_parse_u64("18446744073709551615", 0, UINT64_MAX,
				       &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_parse_u64_range(void **state)
{
	uint64_t v = 99;

	/* Bounds are inclusive. */
	assert_int_equal(lms_parse_u64("1", 1, 5, &v), 0);
	assert_true(v == 1);
	assert_int_equal(lms_parse_u64("5", 1, 5, &v), 0);
	assert_true(v == 5);
	v = 99;
	assert_int_equal(lms_parse_u64("0", 1, 5, &v), -ERANGE);
	assert_int_equal(lms_parse_u64("6", 1, 5, &v), -ERANGE);
	assert_int_equal(lms_parse_u64("18446744073709551616", 0, UINT64_MAX,
				       &v), -ERANGE);
	assert_int_equal(lms_parse_u64("99999999999999999999999", 0,
				       UINT64_MAX, &v), -ERANGE);
	assert_true(v == 99); /* untouched on failure */
}

static void test_parse_u64_malformed(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.5", "abc",
		"99999999999999999999999x",
	};
	uint64_t v = 5;

	assert_int_equal(lms_parse_u64(NULL, 0, 10, &v), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (lms_parse_u64(bad[i], 0, UINT64_MAX, &v) != -EINVAL)
			fail_msg("\"%s\" was not rejected as malformed", bad[i]);
	}
	assert_true(v == 5);
}

static void test_parse_i64(void **state)
{
	int64_t v = 0;

	assert_int_equal(lms_parse_i64("-2", -2, 10, &v), 0);
	assert_true(v == -2);
	assert_int_equal(lms_parse_i64("-3", -2, 10, &v), -ERANGE);
	assert_int_equal(lms_parse_i64("11", -2, 10, &v), -ERANGE);
	assert_int_equal(lms_parse_i64("-9223372036854775808", INT64_MIN,
				       INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(lms_parse_i64("9223372036854775807", INT64_MIN,
				       INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(lms_parse_i64("9223372036854775808", INT64_MIN,
				       INT64_MAX, &v), -ERANGE);
	assert_int_equal(lms_parse_i64("-9223372036854775809", INT64_MIN,
				       INT64_MAX, &v), -ERANGE);
	assert_int_equal(lms_parse_i64("-", INT64_MIN, INT64_MAX, &v), -EINVAL);
	assert_int_equal(lms_parse_i64("--1", INT64_MIN, INT64_MAX, &v),
			 -EINVAL);
	assert_int_equal(lms_parse_i64("+1", INT64_MIN, INT64_MAX, &v),
			 -EINVAL);
}

/* ---- UTF-8 ------------------------------------------------------------- */

static bool utf8(const char *s)
{
	return lms_utf8_valid(s, strlen(s));
}

static void test_utf8_valid(void **state)
{
	assert_true(utf8(""));
	assert_true(utf8("plain ascii"));
	assert_true(utf8("caf\xC3\xA9"));              /* U+00E9, 2 bytes */
	assert_true(utf8("\xE2\x82\xAC"));             /* U+20AC, 3 bytes */
	assert_true(utf8("\xF0\x9F\x98\x80"));         /* U+1F600, 4 bytes */
	assert_true(utf8("\xC2\x80"));                 /* U+0080, smallest 2 */
	assert_true(utf8("\xE0\xA0\x80"));             /* U+0800, smallest 3 */
	assert_true(utf8("\xF0\x90\x80\x80"));         /* U+10000, smallest 4 */
	assert_true(utf8("\xED\x9F\xBF"));             /* U+D7FF, below surrogates */
	assert_true(utf8("\xEE\x80\x80"));             /* U+E000, above surrogates */
	assert_true(utf8("\xEF\xBF\xBF"));             /* U+FFFF */
	assert_true(utf8("\xF4\x8F\xBF\xBF"));         /* U+10FFFF, the last */
	/* NUL is valid UTF-8; the length, not the terminator, bounds it. */
	assert_true(lms_utf8_valid("a\0b", 3));
}

static void test_utf8_overlong(void **state)
{
	assert_false(utf8("\xC0\xAF"));         /* '/' in 2 bytes */
	assert_false(utf8("\xC1\xBF"));
	assert_false(utf8("\xE0\x80\xAF"));     /* '/' in 3 bytes */
	assert_false(utf8("\xE0\x9F\xBF"));     /* U+07FF in 3 bytes */
	assert_false(utf8("\xF0\x80\x80\xAF")); /* '/' in 4 bytes */
	assert_false(utf8("\xF0\x8F\xBF\xBF")); /* U+FFFF in 4 bytes */
}

static void test_utf8_surrogate(void **state)
{
	assert_false(utf8("\xED\xA0\x80"));     /* U+D800 */
	assert_false(utf8("\xED\xBF\xBF"));     /* U+DFFF */
	assert_false(utf8("\xED\xA0\xBD\xED\xB8\x80")); /* CESU-8 pair */
}

static void test_utf8_too_large(void **state)
{
	assert_false(utf8("\xF4\x90\x80\x80")); /* U+110000 */
	assert_false(utf8("\xF5\x80\x80\x80"));
	assert_false(utf8("\xF8\x88\x80\x80\x80")); /* old 5-byte form */
	assert_false(utf8("\xFF"));
	assert_false(utf8("\xFE"));
}

static void test_utf8_truncated_and_stray(void **state)
{
	assert_false(utf8("\xC3"));               /* lead at end */
	assert_false(utf8("\xE2\x82"));           /* 3-byte cut after 2 */
	assert_false(utf8("\xF0\x9F\x98"));       /* 4-byte cut after 3 */
	assert_false(utf8("ab\xE2\x82" "c"));     /* continuation missing */
	assert_false(utf8("\x80"));               /* stray continuation */
	assert_false(utf8("a\xBF" "b"));
	/* A valid sequence cut by the length argument. */
	assert_false(lms_utf8_valid("\xE2\x82\xAC", 2));
	assert_true(lms_utf8_valid("\xE2\x82\xAC", 3));
}

/* ---- the rest ---------------------------------------------------------- */

static void test_strlcpy(void **state)
{
	char buf[6];

	assert_int_equal(lms_strlcpy(buf, "abc", sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(lms_strlcpy(buf, "abcdefgh", sizeof(buf)), 8);
	assert_string_equal(buf, "abcde");
	assert_int_equal(lms_strlcpy(buf, "", sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void test_hex(void **state)
{
	static const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char hex[2 * sizeof(in) + 1];
	uint8_t back[sizeof(in)];
	uint8_t two[2] = { 0x11, 0x22 };

	lms_hex_encode(in, sizeof(in), hex);
	assert_string_equal(hex, "00017f80abff");
	assert_int_equal(lms_hex_decode(hex, strlen(hex), back, sizeof(back)),
			 0);
	assert_memory_equal(back, in, sizeof(in));
	assert_int_equal(lms_hex_decode("ABff", 4, two, 2), 0);
	assert_int_equal(two[0], 0xab);
	assert_int_equal(two[1], 0xff);

	two[0] = two[1] = 0x11;
	assert_int_equal(lms_hex_decode("0g", 2, two, 1), -EINVAL);
	assert_int_equal(lms_hex_decode("abc", 3, two, 2), -ERANGE);
	assert_int_equal(lms_hex_decode("ab", 2, two, 2), -ERANGE);
	assert_int_equal(two[0], 0x11); /* untouched on failure */

	lms_hex_encode(in, 0, hex);
	assert_string_equal(hex, "");
}

static void test_clocks(void **state)
{
	uint64_t a = lms_now_ms();
	uint64_t b = lms_now_ms();
	int64_t wall = lms_wall_ms();

	assert_true(b >= a);
	/* After 2020-01-01 and before 2100-01-01: milliseconds, not seconds. */
	assert_true(wall > 1577836800000LL);
	assert_true(wall < 4102444800000LL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64_valid),
		cmocka_unit_test(test_parse_u64_range),
		cmocka_unit_test(test_parse_u64_malformed),
		cmocka_unit_test(test_parse_i64),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_overlong),
		cmocka_unit_test(test_utf8_surrogate),
		cmocka_unit_test(test_utf8_too_large),
		cmocka_unit_test(test_utf8_truncated_and_stray),
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_clocks),
	};

	return cmocka_run_group_tests_name("common_util", tests, NULL, NULL);
}

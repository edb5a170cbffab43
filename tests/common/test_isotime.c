/* test_isotime.c -- ISO-8601 parsing and canonical formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "isotime.h"

static int64_t parse_ok(const char *s)
{
	int64_t ms = -1;
	assert_int_equal(lms_iso_parse(s, &ms), 0);
	return ms;
}

static void test_parse_forms(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(parse_ok("1970-01-01T00:00:01.5Z"), 1500);
	assert_int_equal(parse_ok("2026-11-23T10:00:00Z"), 1795428000000LL);
	assert_int_equal(parse_ok("2026-11-23 10:00Z"), 1795428000000LL);
	assert_int_equal(parse_ok("2026-11-23T11:00:00+01:00"), 1795428000000LL);
	assert_int_equal(parse_ok("2026-11-23T05:30:00-0430"), 1795428000000LL);
	assert_int_equal(parse_ok("2026-11-23T10:00:00.123456789Z"),
	                 1795428000123LL);
	/* leap day */
	assert_int_equal(parse_ok("2028-02-29T00:00:00Z") -
	                         parse_ok("2028-02-28T00:00:00Z"),
	                 86400000);
}

static void test_parse_refusals(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "2026-11-23", "2026-11-23T10:00", "2026-11-23T10:00:00",
		"2026-13-01T00:00Z", "2026-02-29T00:00Z", "2026-11-23T24:00Z",
		"2026-11-23T10:60Z", "2026-11-23T10:00:00.Z",
		"2026-11-23T10:00:00Zjunk", "1969-12-31T23:59:59Z",
		"26-11-23T10:00Z", "2026-11-23T10:00+25:00", NULL};
	int64_t ms;
	for (int i = 0; bad[i]; i++)
		assert_int_equal(lms_iso_parse(bad[i], &ms), -1);
	assert_int_equal(lms_iso_parse(NULL, &ms), -1);
}

static void test_format_roundtrip(void **state)
{
	(void)state;
	char buf[LMS_ISO_MAX];
	assert_string_equal(lms_iso_format(0, buf, sizeof buf),
	                    "1970-01-01T00:00:00Z");
	assert_string_equal(lms_iso_format(1795428000123LL, buf, sizeof buf),
	                    "2026-11-23T10:00:00.123Z");
	assert_string_equal(lms_iso_format(1795428000000LL, buf, sizeof buf),
	                    "2026-11-23T10:00:00Z");
	for (int64_t ms = 0; ms < 400LL * 366 * 86400000; ms += 86400000LL * 7 + 3601001) {
		int64_t back;
		lms_iso_format(ms, buf, sizeof buf);
		assert_int_equal(lms_iso_parse(buf, &back), 0);
		assert_int_equal(back, ms);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_format_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

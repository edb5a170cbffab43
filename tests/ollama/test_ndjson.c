/*
 * test_ndjson.c -- the NDJSON line splitter (tutord/ndjson.c).
 *
 * A stream of lines must come out the same however the network cut it:
 * whole, byte by byte, at every position and every pair of positions.
 * Then the limits (a line one byte too long, with and without its
 * newline, CRLF at the limit), blank lines, and a callback that stops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ndjson.h"

struct lines {
	char text[16][128];
	size_t n;
	int stop_at; /* return 9 when line number stop_at arrives (1-based) */
};

static int collect(const char *line, size_t len, void *user)
{
	struct lines *l = user;

	assert_true(l->n < 16);
	assert_true(len < sizeof(l->text[0]));
	memcpy(l->text[l->n], line, len);
	l->text[l->n][len] = '\0';
	l->n++;
	if (l->stop_at && (int)l->n == l->stop_at)
		return 9;
	return 0;
}

static const char sample[] = "{\"a\":1}\n"
			     "{\"b\":\"x\\ny\"}\r\n"
			     "\n"
			     "\r\n"
			     "{\"done\":true}\n"
			     "{\"tail\":3}";
static const char *const sample_lines[] = {
	"{\"a\":1}", "{\"b\":\"x\\ny\"}", "{\"done\":true}", "{\"tail\":3}",
};

static void run_cuts(const size_t *cuts, size_t ncuts, struct lines *out)
{
	struct ollama_ndjson s;
	size_t len = strlen(sample), prev = 0;

	memset(out, 0, sizeof(*out));
	ollama_ndjson_init(&s, 64);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		assert_int_equal(ollama_ndjson_feed(&s, sample + prev,
						    end - prev, collect, out),
				 0);
		prev = end;
	}
	assert_int_equal(ollama_ndjson_finish(&s, collect, out), 0);
	assert_int_equal(ollama_ndjson_pending(&s), 0);
	ollama_ndjson_free(&s);
}

static void check_sample(const struct lines *out, const char *how)
{
	if (out->n != 4)
		fail_msg("%s: %zu lines", how, out->n);
	for (size_t i = 0; i < 4; i++)
		if (strcmp(out->text[i], sample_lines[i]) != 0)
			fail_msg("%s: line %zu is \"%s\"", how, i,
				 out->text[i]);
}

static void test_split_everywhere(void **state)
{
	size_t len = strlen(sample);
	struct lines out;
	char how[64];

	run_cuts(NULL, 0, &out);
	check_sample(&out, "whole");
	for (size_t i = 0; i <= len; i++) {
		size_t cuts[1] = {i};

		snprintf(how, sizeof(how), "cut %zu", i);
		run_cuts(cuts, 1, &out);
		check_sample(&out, how);
	}
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			size_t cuts[2] = {i, j};

			snprintf(how, sizeof(how), "cuts %zu,%zu", i, j);
			run_cuts(cuts, 2, &out);
			check_sample(&out, how);
		}
	}
	{
		size_t cuts[sizeof(sample)];

		for (size_t i = 0; i < len; i++)
			cuts[i] = i;
		run_cuts(cuts, len, &out);
		check_sample(&out, "byte by byte");
	}
}

static void test_oversize_line(void **state)
{
	struct ollama_ndjson s;
	struct lines out = {0};

	/* exactly at the limit: fine */
	ollama_ndjson_init(&s, 10);
	assert_int_equal(ollama_ndjson_feed(&s, "0123456789\n", 11, collect,
					    &out),
			 0);
	assert_int_equal(out.n, 1);
	/* one byte over, newline in the same buffer */
	assert_int_equal(ollama_ndjson_feed(&s, "01234567890\n", 12, collect,
					    &out),
			 OLLAMA_NDJSON_TOO_LONG);
	/* sticky: nothing more is delivered */
	assert_int_equal(ollama_ndjson_feed(&s, "ok\n", 3, collect, &out),
			 OLLAMA_NDJSON_TOO_LONG);
	assert_int_equal(ollama_ndjson_finish(&s, collect, &out),
			 OLLAMA_NDJSON_TOO_LONG);
	assert_int_equal(out.n, 1);
	ollama_ndjson_free(&s);

	/* no newline ever comes: detected as soon as the limit is passed */
	memset(&out, 0, sizeof(out));
	ollama_ndjson_init(&s, 10);
	assert_int_equal(ollama_ndjson_feed(&s, "01234", 5, collect, &out), 0);
	assert_int_equal(ollama_ndjson_feed(&s, "56789", 5, collect, &out), 0);
	assert_int_equal(ollama_ndjson_feed(&s, "a", 1, collect, &out), 0);
	/* 11 bytes may still be 10 + "\r"; the 12th cannot */
	assert_int_equal(ollama_ndjson_feed(&s, "b", 1, collect, &out),
			 OLLAMA_NDJSON_TOO_LONG);
	assert_int_equal(out.n, 0);
	ollama_ndjson_free(&s);

	/* pending part plus the rest over the limit */
	memset(&out, 0, sizeof(out));
	ollama_ndjson_init(&s, 10);
	assert_int_equal(ollama_ndjson_feed(&s, "012345", 6, collect, &out), 0);
	assert_int_equal(ollama_ndjson_feed(&s, "67890\n", 6, collect, &out),
			 OLLAMA_NDJSON_TOO_LONG);
	ollama_ndjson_free(&s);

	/* an unterminated final line over the limit */
	memset(&out, 0, sizeof(out));
	ollama_ndjson_init(&s, 10);
	assert_int_equal(ollama_ndjson_feed(&s, "0123456789a", 11, collect,
					    &out),
			 0);
	assert_int_equal(ollama_ndjson_finish(&s, collect, &out),
			 OLLAMA_NDJSON_TOO_LONG);
	ollama_ndjson_free(&s);
}

static void test_crlf_at_limit(void **state)
{
	struct ollama_ndjson s;
	struct lines out = {0};

	/* the "\r" arrives alone, the "\n" later: still within the limit */
	ollama_ndjson_init(&s, 3);
	assert_int_equal(ollama_ndjson_feed(&s, "abc", 3, collect, &out), 0);
	assert_int_equal(ollama_ndjson_feed(&s, "\r", 1, collect, &out), 0);
	assert_int_equal(ollama_ndjson_feed(&s, "\nxyz\r\n", 6, collect, &out),
			 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.text[0], "abc");
	assert_string_equal(out.text[1], "xyz");
	/* a lone "\r" inside a line is kept */
	assert_int_equal(ollama_ndjson_feed(&s, "a\rb\n", 4, collect, &out), 0);
	assert_string_equal(out.text[2], "a\rb");
	ollama_ndjson_free(&s);
}

static void test_callback_stops(void **state)
{
	struct ollama_ndjson s;
	struct lines out = {.stop_at = 2};

	ollama_ndjson_init(&s, 100);
	assert_int_equal(ollama_ndjson_feed(&s, "1\n2\n3\n", 6, collect, &out),
			 9);
	assert_int_equal(out.n, 2);
	assert_int_equal(ollama_ndjson_feed(&s, "4\n", 2, collect, &out), 9);
	assert_int_equal(out.n, 2);
	ollama_ndjson_free(&s);
}

static void test_blank_and_empty(void **state)
{
	struct ollama_ndjson s;
	struct lines out = {0};

	ollama_ndjson_init(&s, 100);
	assert_int_equal(ollama_ndjson_feed(&s, "", 0, collect, &out), 0);
	assert_int_equal(ollama_ndjson_feed(&s, "\n\n\r\n", 4, collect, &out),
			 0);
	assert_int_equal(ollama_ndjson_finish(&s, collect, &out), 0);
	assert_int_equal(out.n, 0);
	/* reusable after finish */
	assert_int_equal(ollama_ndjson_feed(&s, "x", 1, collect, &out), 0);
	assert_int_equal(ollama_ndjson_finish(&s, collect, &out), 0);
	assert_int_equal(out.n, 1);
	ollama_ndjson_free(&s);
	ollama_ndjson_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_oversize_line),
		cmocka_unit_test(test_crlf_at_limit),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_blank_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_think.c -- the <think> stripper (tutord/think.c).
 *
 * The property that matters is that the visible output does not depend on
 * how the stream was cut: each sample is fed whole, byte by byte, and cut
 * at every position (two pieces) and at every pair of positions (three
 * pieces), and the concatenated output must always be the same. A leaked
 * fragment of a tag ("<th" emitted before "ink>" arrived) would show up
 * as a difference. Then the special cases: no opening tag, unterminated,
 * nested and repeated blocks, text after, near-miss tags, cancellation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "think.h"

struct sink {
	char buf[4096];
	size_t len;
	unsigned calls;
	int stop_after; /* return 1 on this call number (1-based), 0 never */
};

static int sink_emit(const char *text, size_t len, void *user)
{
	struct sink *s = user;

	assert_true(len > 0);
	assert_true(s->len + len < sizeof(s->buf));
	memcpy(s->buf + s->len, text, len);
	s->len += len;
	s->buf[s->len] = '\0';
	s->calls++;
	if (s->stop_after && (int)s->calls == s->stop_after)
		return 1;
	return 0;
}

/* Feed in pieces cut at the given positions; return output. */
static void run_cuts(const char *in, const size_t *cuts, size_t ncuts,
		     struct sink *out, bool *unterminated)
{
	struct ollama_think t;
	size_t len = strlen(in), prev = 0;

	memset(out, 0, sizeof(*out));
	ollama_think_init(&t);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		assert_int_equal(ollama_think_feed(&t, in + prev, end - prev,
						   sink_emit, out),
				 0);
		prev = end;
	}
	assert_int_equal(ollama_think_finish(&t, sink_emit, out), 0);
	if (unterminated)
		*unterminated = ollama_think_unterminated(&t);
	ollama_think_free(&t);
}

/* Every way of cutting in into 1, 2 or 3 pieces, and byte by byte. */
static void check_all_splits(const char *in, const char *want,
			     bool want_unterminated)
{
	size_t len = strlen(in);
	struct sink out;
	bool unt;

	run_cuts(in, NULL, 0, &out, &unt);
	assert_string_equal(out.buf, want);
	assert_true(unt == want_unterminated);

	for (size_t i = 0; i <= len; i++) {
		size_t cuts[1] = {i};

		run_cuts(in, cuts, 1, &out, &unt);
		if (strcmp(out.buf, want) != 0)
			fail_msg("cut at %zu of \"%s\": got \"%s\"", i, in,
				 out.buf);
		assert_true(unt == want_unterminated);
	}
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			size_t cuts[2] = {i, j};

			run_cuts(in, cuts, 2, &out, &unt);
			if (strcmp(out.buf, want) != 0)
				fail_msg("cuts at %zu,%zu of \"%s\": got "
					 "\"%s\"",
					 i, j, in, out.buf);
		}
	}
	{
		size_t *cuts = malloc(len * sizeof(*cuts));

		for (size_t i = 0; i < len; i++)
			cuts[i] = i;
		run_cuts(in, cuts, len, &out, &unt);
		assert_string_equal(out.buf, want);
		free(cuts);
	}
}

static void test_every_split_normal(void **state)
{
	check_all_splits("<think>\nLet me think: a<b, </thi and <thin>.\n"
			 "</think>\n\nThe answer: x < y, <thin> ok.",
			 "The answer: x < y, <thin> ok.", false);
}

static void test_every_split_missing_open_tag(void **state)
{
	/* deepseek-r1: the template opened the block, the model closes it */
	check_all_splits("Okay, the user asks about <b>monads</b>.\n</think>"
			 "\n\nA monad is a monoid.",
			 "A monad is a monoid.", false);
}

static void test_every_split_unterminated(void **state)
{
	check_all_splits("Intro. <think>thinking and thinking </thi",
			 "Intro. ", true);
	check_all_splits("<think>only thinking, cut by num_predict", "", true);
}

static void test_every_split_text_after(void **state)
{
	/* several blocks, nested blocks, a stray closing tag after them */
	check_all_splits("<think>a</think>B<think>c</think>D", "BD", false);
	check_all_splits("<think>a<think>b</think>c</think>D", "D", false);
	check_all_splits("<think>a</think>B</think>C", "BC", false);
	check_all_splits("pre <think>x</think>post", "pre post", false);
}

static void test_near_misses_are_text(void **state)
{
	check_all_splits("<think>x</think>a <thinking> b </thinker> <3 <",
			 "a <thinking> b </thinker> <3 ", false);
	check_all_splits("<think>x</think><Think>", "<Think>", false);
	/* "<<think>": the first '<' is text before the opening tag */
	check_all_splits("<<think>x</think>y", "<y", false);
	/* an incomplete tag at the very end is dropped, never shown */
	check_all_splits("<think>x</think>Answer </thi", "Answer ", false);
}

static void test_no_tags_held_until_finish(void **state)
{
	struct ollama_think t;
	struct sink out = {0};

	ollama_think_init(&t);
	assert_int_equal(ollama_think_feed(&t, "Hello ", 6, sink_emit, &out),
			 0);
	assert_int_equal(ollama_think_feed(&t, "world", 5, sink_emit, &out), 0);
	/* it might still turn out to be thinking (a </think> may follow) */
	assert_int_equal(out.calls, 0);
	assert_int_equal(ollama_think_finish(&t, sink_emit, &out), 0);
	assert_string_equal(out.buf, "Hello world");
	assert_false(ollama_think_unterminated(&t));
	ollama_think_free(&t);
}

static void test_streams_after_close_tag(void **state)
{
	struct ollama_think t;
	struct sink out = {0};

	ollama_think_init(&t);
	assert_int_equal(ollama_think_feed(&t, "<think>x</th", 12, sink_emit,
					   &out),
			 0);
	assert_int_equal(out.calls, 0);
	assert_int_equal(ollama_think_feed(&t, "ink>\n\nHel", 9, sink_emit,
					   &out),
			 0);
	assert_int_equal(out.calls, 1);
	assert_string_equal(out.buf, "Hel");
	/* "lo <" : the '<' is held, it could start a tag */
	assert_int_equal(ollama_think_feed(&t, "lo <", 4, sink_emit, &out), 0);
	assert_string_equal(out.buf, "Hello ");
	assert_int_equal(ollama_think_feed(&t, "3", 1, sink_emit, &out), 0);
	assert_string_equal(out.buf, "Hello <3");
	assert_int_equal(ollama_think_finish(&t, sink_emit, &out), 0);
	assert_string_equal(out.buf, "Hello <3");
	ollama_think_free(&t);
}

static void test_release(void **state)
{
	struct ollama_think t;
	struct sink out = {0};

	ollama_think_init(&t);
	assert_int_equal(ollama_think_feed(&t, "\nAnswer", 7, sink_emit, &out),
			 0);
	assert_int_equal(out.calls, 0);
	assert_int_equal(ollama_think_release(&t, sink_emit, &out), 0);
	assert_string_equal(out.buf, "Answer");
	assert_int_equal(ollama_think_feed(&t, " more", 5, sink_emit, &out), 0);
	assert_int_equal(ollama_think_finish(&t, sink_emit, &out), 0);
	assert_string_equal(out.buf, "Answer more");
	ollama_think_free(&t);
}

static void test_emit_stops(void **state)
{
	struct ollama_think t;
	struct sink out = {.stop_after = 1};

	ollama_think_init(&t);
	assert_int_equal(ollama_think_feed(&t, "</think>A", 9, sink_emit, &out),
			 1);
	/* sticky */
	assert_int_equal(ollama_think_feed(&t, "B", 1, sink_emit, &out), 1);
	assert_int_equal(ollama_think_finish(&t, sink_emit, &out), 1);
	assert_int_equal(out.calls, 1);
	ollama_think_free(&t);
}

static void test_strip_whole(void **state)
{
	static const char in[] = "<think>\nhmm\n</think>\n\nFine.";
	char *out;
	size_t len;

	assert_int_equal(ollama_think_strip(in, strlen(in), &out, &len), 0);
	assert_string_equal(out, "Fine.");
	assert_int_equal(len, 5);
	free(out);
	assert_int_equal(ollama_think_strip("", 0, &out, &len), 0);
	assert_string_equal(out, "");
	free(out);
}

static void test_utf8_pieces_stay_whole(void **state)
{
	/* multi-byte characters next to tags come out intact */
	check_all_splits("<think>é</think>\n\nÉtude ü<b> – ok",
			 "Étude ü<b> – ok", false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split_normal),
		cmocka_unit_test(test_every_split_missing_open_tag),
		cmocka_unit_test(test_every_split_unterminated),
		cmocka_unit_test(test_every_split_text_after),
		cmocka_unit_test(test_near_misses_are_text),
		cmocka_unit_test(test_no_tags_held_until_finish),
		cmocka_unit_test(test_streams_after_close_tag),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_emit_stops),
		cmocka_unit_test(test_strip_whole),
		cmocka_unit_test(test_utf8_pieces_stay_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

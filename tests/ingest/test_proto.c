/*
 * test_proto.c -- the parent's parser of the extractor's pipe output, fed
 * hostile byte streams directly (no child process).
 *
 * Why: once poppler has parsed an attacker's PDF, the child may be under
 * the attacker's control, so the parent must treat the pipe as untrusted
 * input. Each case here is something a compromised or buggy child could
 * send: lies about page counts and lengths, pages out of order, frames
 * after the end, bad UTF-8, NULs and control characters in the text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest.h"
#include "ingest_internal.h"
#include "util.h"

/* A stream under construction. */
struct stream {
	unsigned char b[4096];
	size_t n;
};

static void put(struct stream *s, char tag, uint32_t len, uint32_t arg,
		const char *bytes, size_t n)
{
	unsigned char *p = s->b + s->n;

	assert_true(s->n + 9 + n <= sizeof s->b);
	p[0] = (unsigned char)tag;
	p[1] = (unsigned char)(len >> 24);
	p[2] = (unsigned char)(len >> 16);
	p[3] = (unsigned char)(len >> 8);
	p[4] = (unsigned char)len;
	p[5] = (unsigned char)(arg >> 24);
	p[6] = (unsigned char)(arg >> 16);
	p[7] = (unsigned char)(arg >> 8);
	p[8] = (unsigned char)arg;
	if (n > 0)
		memcpy(p + 9, bytes, n);
	s->n += 9 + n;
}

/* A well-formed frame. */
static void frame(struct stream *s, char tag, uint32_t arg, const char *bytes,
		  size_t n)
{
	put(s, tag, (uint32_t)n + 4, arg, bytes, n);
}

static void page(struct stream *s, uint32_t i, const char *text)
{
	frame(s, 'P', i, text, strlen(text));
}

/* Feed a whole stream with default limits; returns the feed result. */
static int feed_all(struct ingest_proto *p, const struct stream *s,
		    size_t max_pages, size_t max_text)
{
	ingest_proto_init(p, max_pages, max_text);
	return ingest_proto_feed(p, s->b, s->n);
}

static void test_good_stream(void **state)
{
	struct stream s = { .n = 0 };
	struct ingest_proto p;
	struct ingest_result r;
	char msg[256];

	frame(&s, 'N', 2, NULL, 0);
	page(&s, 0, "first page");
	page(&s, 1, "");
	frame(&s, 'D', 2, NULL, 0);
	assert_int_equal(feed_all(&p, &s, 10, 1000), 1);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg), 0);
	ingest_proto_free(&p);
	assert_int_equal(r.type, INGEST_TYPE_PDF);
	assert_int_equal(r.page_count, 2);
	assert_string_equal(r.pages[0].text, "first page");
	assert_string_equal(r.pages[1].text, "");
	assert_int_equal(r.text_bytes, 10);
	assert_string_equal(r.warning, "");
	ingest_result_free(&r);

	/* The same stream one byte at a time. */
	ingest_proto_init(&p, 10, 1000);
	for (size_t i = 0; i + 1 < s.n; i++)
		assert_int_equal(ingest_proto_feed(&p, s.b + i, 1), 0);
	assert_int_equal(ingest_proto_feed(&p, s.b + s.n - 1, 1), 1);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg), 0);
	assert_string_equal(r.pages[0].text, "first page");
	ingest_proto_free(&p);
	ingest_result_free(&r);
}

static void test_writer_round_trip(void **state)
{
	struct ingest_proto p;
	struct ingest_result r;
	char buf[256], msg[256];
	int fds[2];
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(ingest_frame_write(fds[1], 'N', 1, NULL, 0), 0);
	assert_int_equal(ingest_frame_write(fds[1], 'P', 0, "hello", 5), 0);
	assert_int_equal(ingest_frame_write(fds[1], 'D', 1, NULL, 0), 0);
	close(fds[1]);
	n = read(fds[0], buf, sizeof buf);
	close(fds[0]);
	assert_int_equal(n, 3 * INGEST_FRAME_HEADER + 5);
	ingest_proto_init(&p, 5, 100);
	assert_int_equal(ingest_proto_feed(&p, buf, (size_t)n), 1);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg), 0);
	assert_string_equal(r.pages[0].text, "hello");
	ingest_proto_free(&p);
	ingest_result_free(&r);
}

static void test_page_count_lies(void **state)
{
	struct stream s = { .n = 0 };
	struct ingest_proto p;

	frame(&s, 'N', 0, NULL, 0);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_CORRUPT);
	assert_string_equal(p.msg, "file is not a valid PDF (it has no pages)");
	ingest_proto_free(&p);

	s.n = 0;
	frame(&s, 'N', 0xFFFFFFFFu, NULL, 0);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_TOO_MANY_PAGES);
	assert_string_equal(p.msg,
		"document has too many pages (4294967295, the limit is 10)");
	ingest_proto_free(&p);

	/* A second page count, or one with bytes attached. */
	s.n = 0;
	frame(&s, 'N', 1, NULL, 0);
	frame(&s, 'N', 1, NULL, 0);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_EXTRACTOR);
	assert_string_equal(p.msg, "the extractor process sent malformed "
			    "output (unexpected page count)");
	ingest_proto_free(&p);
	s.n = 0;
	frame(&s, 'N', 1, "x", 1);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_EXTRACTOR);
	ingest_proto_free(&p);
}

static void test_page_order(void **state)
{
	struct stream s = { .n = 0 };
	struct ingest_proto p;

	/* A page before the count. */
	page(&s, 0, "x");
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_EXTRACTOR);
	assert_non_null(strstr(p.msg, "(page before page count)"));
	ingest_proto_free(&p);

	/* Skipped, repeated, beyond the count. */
	for (int c = 0; c < 3; c++) {
		s.n = 0;
		frame(&s, 'N', 2, NULL, 0);
		if (c == 0) {
			page(&s, 1, "x");
		} else if (c == 1) {
			page(&s, 0, "x");
			page(&s, 0, "x");
		} else {
			page(&s, 0, "x");
			page(&s, 1, "x");
			page(&s, 2, "x");
		}
		assert_int_equal(feed_all(&p, &s, 10, 100),
				 INGEST_ERR_EXTRACTOR);
		if (c == 2)
			assert_non_null(strstr(p.msg,
					       "(more pages than announced)"));
		ingest_proto_free(&p);
	}
}

static void test_lengths(void **state)
{
	struct stream s = { .n = 0 };
	struct ingest_proto p;

	/* Shorter than the arg it must carry. */
	put(&s, 'N', 3, 1, NULL, 0);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_EXTRACTOR);
	assert_non_null(strstr(p.msg, "(frame too short)"));
	ingest_proto_free(&p);

	/* 4 GiB announced: refused from the header, nothing allocated. */
	s.n = 0;
	frame(&s, 'N', 1, NULL, 0);
	put(&s, 'P', 0xFFFFFFFFu, 0, NULL, 0);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_TEXT_TOO_LARGE);
	assert_string_equal(p.msg,
		"extracted text is too large (more than 100 bytes)");
	assert_null(p.body);
	ingest_proto_free(&p);

	/* The budget is for all pages together. */
	s.n = 0;
	frame(&s, 'N', 2, NULL, 0);
	page(&s, 0, "0123456789");
	page(&s, 1, "0123456789x");
	assert_int_equal(feed_all(&p, &s, 10, 20), INGEST_ERR_TEXT_TOO_LARGE);
	ingest_proto_free(&p);

	/* Within budget raw, over it once each bad byte becomes U+FFFD. */
	s.n = 0;
	frame(&s, 'N', 1, NULL, 0);
	page(&s, 0, "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF");
	assert_int_equal(feed_all(&p, &s, 10, 20), INGEST_ERR_TEXT_TOO_LARGE);
	ingest_proto_free(&p);
}

static void test_end_of_output(void **state)
{
	struct stream s = { .n = 0 };
	struct ingest_proto p;
	struct ingest_result r;
	char msg[256];

	/* Done before the last page, with a wrong count, or with bytes. */
	frame(&s, 'N', 2, NULL, 0);
	page(&s, 0, "x");
	frame(&s, 'D', 2, NULL, 0);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_EXTRACTOR);
	assert_non_null(strstr(p.msg, "(early end of output)"));
	ingest_proto_free(&p);
	s.n = 0;
	frame(&s, 'N', 1, NULL, 0);
	page(&s, 0, "x");
	frame(&s, 'D', 7, NULL, 0);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_EXTRACTOR);
	ingest_proto_free(&p);

	/* Anything after the end. */
	s.n = 0;
	frame(&s, 'N', 1, NULL, 0);
	page(&s, 0, "x");
	frame(&s, 'D', 1, NULL, 0);
	s.b[s.n++] = 'P';
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_EXTRACTOR);
	assert_non_null(strstr(p.msg, "(data after end of output)"));
	/* Once refused, always refused. */
	assert_int_equal(ingest_proto_feed(&p, "", 0), INGEST_ERR_EXTRACTOR);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg),
			 INGEST_ERR_EXTRACTOR);
	ingest_proto_free(&p);

	/* The stream stops (child died) before the end. */
	s.n = 0;
	frame(&s, 'N', 2, NULL, 0);
	page(&s, 0, "x");
	assert_int_equal(feed_all(&p, &s, 10, 100), 0);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg),
			 INGEST_ERR_EXTRACTOR);
	assert_string_equal(msg, "the extractor process ended before "
			    "finishing its output");
	ingest_proto_free(&p);

	/* An unknown frame type. */
	s.n = 0;
	frame(&s, 'Z', 0, NULL, 0);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_EXTRACTOR);
	assert_non_null(strstr(p.msg, "(unknown frame type)"));
	ingest_proto_free(&p);
}

static void test_error_frames(void **state)
{
	struct stream s = { .n = 0 };
	struct ingest_proto p;
	struct ingest_result r;
	char msg[300], longreason[300];

	frame(&s, 'E', INGEST_CHILD_ENCRYPTED, "Document is encrypted", 21);
	assert_int_equal(feed_all(&p, &s, 10, 100), 1);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg),
			 INGEST_ERR_ENCRYPTED);
	assert_string_equal(msg, "file is encrypted");
	ingest_proto_free(&p);

	/* poppler's reason is kept; "Failed" is lower-cased, "PDF" is not. */
	s.n = 0;
	frame(&s, 'E', INGEST_CHILD_DAMAGED, "PDF document is damaged", 23);
	assert_int_equal(feed_all(&p, &s, 10, 100), 1);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg),
			 INGEST_ERR_CORRUPT);
	assert_string_equal(msg,
		"file is not a valid PDF (PDF document is damaged)");
	ingest_proto_free(&p);
	s.n = 0;
	frame(&s, 'E', INGEST_CHILD_DAMAGED, "Failed to load document", 23);
	assert_int_equal(feed_all(&p, &s, 10, 100), 1);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg),
			 INGEST_ERR_CORRUPT);
	assert_string_equal(msg,
		"file is not a valid PDF (failed to load document)");
	ingest_proto_free(&p);

	/* A hostile reason: cleaned before it reaches a message. */
	s.n = 0;
	frame(&s, 'E', INGEST_CHILD_DAMAGED, "bad\n\x1b[2J\xFFthing\0x", 16);
	assert_int_equal(feed_all(&p, &s, 10, 100), 1);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg),
			 INGEST_ERR_CORRUPT);
	assert_string_equal(msg, "file is not a valid PDF (bad [2J"
			    "\xEF\xBF\xBDthingx)");
	ingest_proto_free(&p);

	/* Long reasons are refused; made of bad bytes they are cut safely. */
	memset(longreason, 'a', sizeof longreason);
	s.n = 0;
	frame(&s, 'E', INGEST_CHILD_DAMAGED, longreason, INGEST_REASON_MAX);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_EXTRACTOR);
	ingest_proto_free(&p);
	memset(longreason, 0xFF, sizeof longreason);
	s.n = 0;
	frame(&s, 'E', INGEST_CHILD_DAMAGED, longreason, INGEST_REASON_MAX - 1);
	assert_int_equal(feed_all(&p, &s, 10, 100), 1);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg),
			 INGEST_ERR_CORRUPT);
	assert_true(lms_utf8_valid(msg, strlen(msg)));
	ingest_proto_free(&p);

	/* Unknown kinds, and errors after the page count. */
	s.n = 0;
	frame(&s, 'E', 99, "x", 1);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_EXTRACTOR);
	ingest_proto_free(&p);
	s.n = 0;
	frame(&s, 'N', 1, NULL, 0);
	frame(&s, 'E', INGEST_CHILD_ENCRYPTED, "x", 1);
	assert_int_equal(feed_all(&p, &s, 10, 100), INGEST_ERR_EXTRACTOR);
	ingest_proto_free(&p);
}

static void test_text_cleaned(void **state)
{
	struct stream s = { .n = 0 };
	struct ingest_proto p;
	struct ingest_result r;
	char msg[256];
	/* NUL, form feed, ESC, invalid, surrogate, truncated 3-byte at end. */
	const char raw[] = "a\0b\fc\x1b" "d\xC3\x28" "e\xED\xA0\x80" "f\r\ng\xE2\x82";

	frame(&s, 'N', 2, NULL, 0);
	frame(&s, 'P', 0, raw, sizeof raw - 1);
	page(&s, 1, " \n\t ");
	frame(&s, 'D', 2, NULL, 0);
	assert_int_equal(feed_all(&p, &s, 10, 100), 1);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg), 0);
	assert_string_equal(r.pages[0].text,
		"abcd\xEF\xBF\xBD(e\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "f\ng"
		"\xEF\xBF\xBD");
	assert_true(lms_utf8_valid(r.pages[0].text, r.pages[0].len));
	assert_int_equal(r.text_bytes, r.pages[0].len + 4);
	ingest_proto_free(&p);
	ingest_result_free(&r);

	/* Only blank pages: the scanned-image warning. */
	s.n = 0;
	frame(&s, 'N', 2, NULL, 0);
	page(&s, 0, "\n");
	page(&s, 1, "\x0c");
	frame(&s, 'D', 2, NULL, 0);
	assert_int_equal(feed_all(&p, &s, 10, 100), 1);
	assert_int_equal(ingest_proto_take(&p, &r, msg, sizeof msg), 0);
	assert_string_equal(r.warning, INGEST_WARNING_NO_TEXT);
	ingest_proto_free(&p);
	ingest_result_free(&r);
}

static void test_utf8_decoder(void **state)
{
	/* The decoder agrees with common/util.c's validator, byte by byte. */
	static const char *const cases[] = {
		"plain", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
		"\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF",
		"\xED\xA0\x80", "\xED\x9F\xBF", "\xF0\x8F\xBF\xBF",
		"\xF4\x90\x80\x80", "\xF4\x8F\xBF\xBF", "\xF5\x80\x80\x80",
		"\x80", "\xBF", "\xFE", "\xFF", "\xE2\x82", "\xF0\x9F\x98",
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const unsigned char *u = (const unsigned char *)cases[i];
		size_t n = strlen(cases[i]), at = 0;
		bool ok = true;

		while (at < n) {
			uint32_t cp;
			int k = ingest_utf8_next(u + at, n - at, &cp);

			if (k < 0) {
				ok = false;
				break;
			}
			at += (size_t)k;
		}
		if (ok != lms_utf8_valid(cases[i], n))
			fail_msg("decoder and validator disagree on case %zu", i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_stream),
		cmocka_unit_test(test_writer_round_trip),
		cmocka_unit_test(test_page_count_lies),
		cmocka_unit_test(test_page_order),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_end_of_output),
		cmocka_unit_test(test_error_frames),
		cmocka_unit_test(test_text_cleaned),
		cmocka_unit_test(test_utf8_decoder),
	};

	return cmocka_run_group_tests_name("ingest_proto", tests, NULL, NULL);
}

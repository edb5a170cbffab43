/*
 * test_txt.c -- ingest_extract() on everything that is not a PDF: type
 * detection, plain text, size limits, arguments, messages.
 *
 * Why: these paths run in the daemon's own process (no child), so they
 * must refuse binary junk, a fake .pdf and invalid UTF-8 with exact,
 * user-readable messages, and turn acceptable text into text that is safe
 * for PostgreSQL. No fixtures beyond literals; no child process is forked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "util.h"

/* Extract with default limits; the result is left in *r. */
static int extract(const char *data, size_t len, const char *name,
		   struct ingest_result *r, char *err, size_t errlen)
{
	return ingest_extract(data, len, name, NULL, r, err, errlen);
}

static void test_plain_text(void **state)
{
	const char text[] = "Week 1: introduction.\n\tReading: chapter 1.\n";
	struct ingest_result r;
	char err[256];

	assert_int_equal(extract(text, sizeof text - 1, "week1.txt", &r, err,
				 sizeof err), 0);
	assert_int_equal(r.type, INGEST_TYPE_TXT);
	assert_string_equal(ingest_type_name(r.type), "txt");
	assert_int_equal(r.page_count, 1);
	assert_string_equal(r.pages[0].text, text);
	assert_int_equal(r.pages[0].len, sizeof text - 1);
	assert_int_equal(r.text_bytes, sizeof text - 1);
	assert_string_equal(r.warning, "");
	assert_string_equal(err, "");
	ingest_result_free(&r);
	/* Freed results are zeroed; freeing twice is harmless. */
	assert_null(r.pages);
	ingest_result_free(&r);
	ingest_result_free(NULL);
}

static void test_bom_stripped(void **state)
{
	const char text[] = "\xEF\xBB\xBF" "Caf\xC3\xA9 cr\xC3\xA8me";
	struct ingest_result r;
	char err[256];

	assert_int_equal(extract(text, sizeof text - 1, "menu.txt", &r, err,
				 sizeof err), 0);
	assert_int_equal(r.type, INGEST_TYPE_TXT);
	assert_string_equal(r.pages[0].text, "Caf\xC3\xA9 cr\xC3\xA8me");
	ingest_result_free(&r);

	/* A BOM alone is an empty file. */
	assert_int_equal(extract("\xEF\xBB\xBF", 3, "empty.txt", &r, err,
				 sizeof err), 0);
	assert_string_equal(r.pages[0].text, "");
	assert_string_equal(r.warning, INGEST_WARNING_EMPTY_TEXT);
	ingest_result_free(&r);
}

static void test_controls_cleaned(void **state)
{
	/* CR LF and CR become LF; BEL, ESC, DEL and C1 NEL go; TAB stays. */
	const char text[] = "a\r\nb\rc\x07\x1b[31md\x7f\te\xC2\x85" "f";
	struct ingest_result r;
	char err[256];

	assert_int_equal(extract(text, sizeof text - 1, "x.txt", &r, err,
				 sizeof err), 0);
	assert_string_equal(r.pages[0].text, "a\nb\nc[31md\tef");
	assert_int_equal(r.text_bytes, strlen("a\nb\nc[31md\tef"));
	ingest_result_free(&r);
}

static void test_invalid_utf8(void **state)
{
	const char text[] = "valid start \xC3\x28 then junk";
	struct ingest_result r;
	char err[256];

	assert_int_equal(extract(text, sizeof text - 1, "notes.txt", &r, err,
				 sizeof err), INGEST_ERR_UNSUPPORTED);
	assert_string_equal(err,
		"could not extract text from \"notes.txt\": file is not valid "
		"UTF-8 text (invalid UTF-8 byte sequence at offset 12)");
	assert_null(r.pages);
	assert_int_equal(r.type, INGEST_TYPE_NONE);

	/* Overlong and surrogate forms are invalid too; offsets count the BOM. */
	assert_int_equal(extract("\xEF\xBB\xBF" "ab\xC0\xAF", 7, "a.txt", &r,
				 err, sizeof err), INGEST_ERR_UNSUPPORTED);
	assert_non_null(strstr(err, "at offset 5)"));
	assert_int_equal(extract("\xED\xA0\x80", 3, "a.txt", &r, err,
				 sizeof err), INGEST_ERR_UNSUPPORTED);
}

static void test_binary_refused(void **state)
{
	/* A zip (docx) header: NUL bytes, not text, not a PDF. */
	const char zip[] = "PK\x03\x04\x14\x00\x06\x00";
	const char nul[] = "text with a \0 inside";
	struct ingest_result r;
	char err[256];

	assert_int_equal(extract(zip, sizeof zip - 1, "slides.docx", &r, err,
				 sizeof err), INGEST_ERR_UNSUPPORTED);
	assert_string_equal(err,
		"could not extract text from \"slides.docx\": file is neither "
		"a PDF nor UTF-8 text (NUL byte at offset 5)");
	assert_int_equal(extract(nul, sizeof nul - 1, "n.txt", &r, err,
				 sizeof err), INGEST_ERR_UNSUPPORTED);
	assert_string_equal(err,
		"could not extract text from \"n.txt\": file is not valid "
		"UTF-8 text (NUL byte at offset 12)");
}

static void test_fake_pdf(void **state)
{
	const char text[] = "this is plain text, not a PDF";
	struct ingest_result r;
	char err[256];

	/* The name says PDF, the content does not: refused, not read as text. */
	assert_int_equal(extract(text, sizeof text - 1, "notes.pdf", &r, err,
				 sizeof err), INGEST_ERR_NOT_PDF);
	assert_string_equal(err,
		"could not extract text from \"notes.pdf\": file is not a PDF");
	assert_int_equal(extract(text, sizeof text - 1, "NOTES.PDF", &r, err,
				 sizeof err), INGEST_ERR_NOT_PDF);
	/* "%PDF" must be at the very start. */
	assert_int_equal(extract(" %PDF-1.4", 9, "x.pdf", &r, err, sizeof err),
			 INGEST_ERR_NOT_PDF);
	/* Without the hint, the same bytes are text. */
	assert_int_equal(extract(text, sizeof text - 1, "notes", &r, err,
				 sizeof err), 0);
	assert_int_equal(r.type, INGEST_TYPE_TXT);
	ingest_result_free(&r);
}

static void test_too_large(void **state)
{
	struct ingest_limits lim = { .max_input_bytes = 10 };
	struct ingest_result r;
	char err[256];
	size_t big = INGEST_DEFAULT_MAX_INPUT_BYTES + 1;
	char *buf;

	assert_int_equal(ingest_extract("0123456789", 10, "ok.txt", &lim, &r,
					err, sizeof err), 0);
	ingest_result_free(&r);
	assert_int_equal(ingest_extract("0123456789a", 11, "big.txt", &lim, &r,
					err, sizeof err), INGEST_ERR_TOO_LARGE);
	assert_string_equal(err,
		"could not extract text from \"big.txt\": file is too large "
		"(11 bytes, the limit is 10)");

	/* The default limit is 16 MiB, checked before looking at the bytes. */
	buf = calloc(1, big);
	assert_non_null(buf);
	memcpy(buf, "%PDF-", 5);
	assert_int_equal(extract(buf, big, "huge.pdf", &r, err, sizeof err),
			 INGEST_ERR_TOO_LARGE);
	assert_string_equal(err,
		"could not extract text from \"huge.pdf\": file is too large "
		"(16777217 bytes, the limit is 16777216)");
	free(buf);
}

static void test_text_limit(void **state)
{
	struct ingest_limits lim = { .max_text_bytes = 4 };
	struct ingest_result r;
	char err[256];

	/* Counted after cleaning: "ab\r\ncd" is "ab\ncd", 5 bytes. */
	assert_int_equal(ingest_extract("ab\r\ncd", 6, "t.txt", &lim, &r, err,
					sizeof err), INGEST_ERR_TEXT_TOO_LARGE);
	assert_string_equal(err,
		"could not extract text from \"t.txt\": extracted text is too "
		"large (more than 4 bytes)");
	assert_int_equal(ingest_extract("ab\x01\x02\x03\r\ncd", 9, "t.txt",
					&lim, &r, err, sizeof err),
			 INGEST_ERR_TEXT_TOO_LARGE);
	assert_int_equal(ingest_extract("ab\x01\x02\x03" "cd", 7, "t.txt",
					&lim, &r, err, sizeof err), 0);
	assert_string_equal(r.pages[0].text, "abcd");
	ingest_result_free(&r);
}

static void test_empty_file(void **state)
{
	struct ingest_result r;
	char err[256];

	/* Accepted, with a warning; data may be NULL when len is 0. */
	assert_int_equal(extract(NULL, 0, "empty.txt", &r, err, sizeof err), 0);
	assert_int_equal(r.type, INGEST_TYPE_TXT);
	assert_int_equal(r.page_count, 1);
	assert_string_equal(r.pages[0].text, "");
	assert_string_equal(r.warning, INGEST_WARNING_EMPTY_TEXT);
	ingest_result_free(&r);
	assert_int_equal(extract(" \n\t\r\n", 5, "blank.txt", &r, err,
				 sizeof err), 0);
	assert_string_equal(r.warning, INGEST_WARNING_EMPTY_TEXT);
	ingest_result_free(&r);
}

static void test_file_name_in_message(void **state)
{
	struct ingest_result r;
	char err[512];
	char longname[300];

	/* Quotes, control characters, invalid UTF-8: replaced by '?'. */
	assert_int_equal(extract("x", 1, "a\"b\nc\xFF" "d.pdf", &r, err,
				 sizeof err), INGEST_ERR_NOT_PDF);
	assert_string_equal(err,
		"could not extract text from \"a?b?c?d.pdf\": file is not a PDF");
	/* Non-ASCII names are kept. */
	assert_int_equal(extract("x", 1, "r\xC3\xA9sum\xC3\xA9.pdf", &r, err,
				 sizeof err), INGEST_ERR_NOT_PDF);
	assert_string_equal(err, "could not extract text from "
			    "\"r\xC3\xA9sum\xC3\xA9.pdf\": file is not a PDF");
	/* Long names are cut (on a character boundary) with "...". */
	memset(longname, 'a', sizeof longname);
	memcpy(longname + 79, "\xC3\xA9", 2);
	memcpy(longname + sizeof longname - 5, ".pdf", 5);
	assert_int_equal(extract("x", 1, longname, &r, err, sizeof err),
			 INGEST_ERR_NOT_PDF);
	assert_non_null(strstr(err, "aaa...\": file is not a PDF"));
	assert_true(lms_utf8_valid(err, strlen(err)));
	/* No name at all. */
	assert_int_equal(extract("x", 1, NULL, &r, err, sizeof err), 0);
	ingest_result_free(&r);
	assert_int_equal(extract("\xFF", 1, NULL, &r, err, sizeof err),
			 INGEST_ERR_UNSUPPORTED);
	assert_non_null(strstr(err, "from \"\": file is neither"));
	/* A short error buffer is cut, still terminated. */
	assert_int_equal(extract("x", 1, "n.pdf", &r, err, 10),
			 INGEST_ERR_NOT_PDF);
	assert_string_equal(err, "could not");
	/* ... and never in the middle of a UTF-8 sequence. */
	assert_int_equal(extract("x", 1, "\xC3\xA9.pdf", &r, err, 31),
			 INGEST_ERR_NOT_PDF);
	assert_string_equal(err, "could not extract text from \"");
	assert_int_equal(extract("x", 1, "n.pdf", &r, NULL, 0),
			 INGEST_ERR_NOT_PDF);
}

static void test_bad_arguments(void **state)
{
	struct ingest_limits lim = { .max_pages = INGEST_MAX_PAGES_LIMIT + 1 };
	struct ingest_result r;
	char err[256];

	assert_int_equal(extract("x", 1, "a.txt", NULL, err, sizeof err),
			 INGEST_ERR_ARG);
	assert_int_equal(extract(NULL, 1, "a.txt", &r, err, sizeof err),
			 INGEST_ERR_ARG);
	assert_int_equal(ingest_extract("x", 1, "a.txt", &lim, &r, err,
					sizeof err), INGEST_ERR_ARG);
	assert_string_equal(err, "could not extract text from \"a.txt\": "
			    "extraction limits out of range");
}

static void test_limits_default(void **state)
{
	struct ingest_limits lim;

	ingest_limits_default(&lim);
	assert_int_equal(lim.max_input_bytes, 16 << 20);
	assert_int_equal(lim.max_pages, INGEST_DEFAULT_MAX_PAGES);
	assert_int_equal(lim.max_text_bytes, INGEST_DEFAULT_MAX_TEXT_BYTES);
	assert_int_equal(lim.cpu_seconds, INGEST_DEFAULT_CPU_SECONDS);
	assert_int_equal(lim.memory_bytes, INGEST_DEFAULT_MEMORY_BYTES);
	assert_int_equal(lim.wall_ms, INGEST_DEFAULT_WALL_MS);
	assert_string_equal(ingest_type_name(INGEST_TYPE_PDF), "pdf");
	assert_string_equal(ingest_type_name(INGEST_TYPE_NONE), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_bom_stripped),
		cmocka_unit_test(test_controls_cleaned),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_binary_refused),
		cmocka_unit_test(test_fake_pdf),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_text_limit),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_file_name_in_message),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_limits_default),
	};

	return cmocka_run_group_tests_name("ingest_txt", tests, NULL, NULL);
}

/*
 * test_pdf.c -- ingest_extract() on PDFs: real text, page numbers, and
 * each way a PDF can be refused or stored with a warning.
 *
 * Why: this is the path the sandbox exists for; these tests drive the real
 * child process and the real poppler on fixtures generated in setup
 * (fixtures.c): a three-page cairo PDF with known text per page, its first
 * half, blank and image-only pages, a hand-made PDF, a PDF without pages,
 * and encrypted copies made by qpdf (skipped with a message when qpdf is
 * not installed; ops/deps installs it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "ingest.h"
#include "log.h"
#include "util.h"

static const char *const pages[] = {
	"Page one: the Raft consensus algorithm.\n"
	"Leaders are elected by a majority of votes.",
	"Page two: log replication.\n"
	"Caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9 (UTF-8 survives).",
	"Page three: snapshots and membership changes.",
};
#define NPAGES (sizeof pages / sizeof pages[0])

struct pdf_fixture {
	unsigned char *pdf;
	size_t len;
};

static int setup_multi(void **state)
{
	struct pdf_fixture *f = calloc(1, sizeof *f);

	if (f == NULL)
		return -1;
	f->pdf = fx_text_pdf(pages, NPAGES, &f->len);
	*state = f;
	return f->pdf != NULL ? 0 : -1;
}

static int teardown_multi(void **state)
{
	struct pdf_fixture *f = *state;

	free(f->pdf);
	free(f);
	return 0;
}

/* Every page of a result obeys the text guarantees of ingest.h. */
static void assert_clean_result(const struct ingest_result *r)
{
	size_t total = 0;

	for (size_t i = 0; i < r->page_count; i++) {
		const struct ingest_page *p = &r->pages[i];

		assert_non_null(p->text);
		assert_int_equal(strlen(p->text), p->len);
		assert_true(lms_utf8_valid(p->text, p->len));
		for (size_t j = 0; j < p->len; j++) {
			unsigned char c = (unsigned char)p->text[j];

			assert_true(c >= 0x20 || c == '\n' || c == '\t');
			assert_true(c != 0x7F);
		}
		total += p->len;
	}
	assert_int_equal(total, r->text_bytes);
}

static void test_multi_page(void **state)
{
	struct pdf_fixture *f = *state;
	struct ingest_result r;
	char err[256];

	assert_int_equal(ingest_extract(f->pdf, f->len, "raft.pdf", NULL, &r,
					err, sizeof err), 0);
	assert_int_equal(r.type, INGEST_TYPE_PDF);
	assert_int_equal(r.page_count, NPAGES);
	assert_string_equal(r.warning, "");
	assert_clean_result(&r);
	/* Each page holds its own lines, in order, and nothing of the others. */
	assert_non_null(strstr(r.pages[0].text,
			       "Page one: the Raft consensus algorithm."));
	assert_non_null(strstr(r.pages[0].text,
			       "Leaders are elected by a majority of votes."));
	assert_true(strstr(r.pages[0].text, "Page one") <
		    strstr(r.pages[0].text, "Leaders"));
	assert_non_null(strstr(r.pages[1].text, "Page two: log replication."));
	assert_non_null(strstr(r.pages[1].text,
			       "Caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9"));
	assert_non_null(strstr(r.pages[2].text,
			       "Page three: snapshots and membership changes."));
	assert_null(strstr(r.pages[0].text, "Page two"));
	assert_null(strstr(r.pages[1].text, "Page three"));
	assert_null(strstr(r.pages[2].text, "Page one"));
	ingest_result_free(&r);
}

static void test_content_beats_name(void **state)
{
	struct pdf_fixture *f = *state;
	struct ingest_result r;
	char err[256];

	/* A PDF named .txt (or with no name) is still read as a PDF. */
	assert_int_equal(ingest_extract(f->pdf, f->len, "notes.txt", NULL, &r,
					err, sizeof err), 0);
	assert_int_equal(r.type, INGEST_TYPE_PDF);
	assert_int_equal(r.page_count, NPAGES);
	ingest_result_free(&r);
	assert_int_equal(ingest_extract(f->pdf, f->len, NULL, NULL, &r, err,
					sizeof err), 0);
	assert_int_equal(r.type, INGEST_TYPE_PDF);
	ingest_result_free(&r);
}

static void test_truncated(void **state)
{
	struct pdf_fixture *f = *state;
	struct ingest_result r;
	char err[256];
	const char *prefix = "could not extract text from \"half.pdf\": "
			     "file is not a valid PDF (";

	assert_int_equal(ingest_extract(f->pdf, f->len / 2, "half.pdf", NULL,
					&r, err, sizeof err),
			 INGEST_ERR_CORRUPT);
	/* poppler's reason follows in parentheses. */
	assert_memory_equal(err, prefix, strlen(prefix));
	assert_true(strlen(err) > strlen(prefix) + 1);
	assert_int_equal(err[strlen(err) - 1], ')');
	assert_null(r.pages);
	print_message("truncated PDF: %s\n", err);
}

static void test_header_only(void **state)
{
	const char junk[] = "%PDF-1.7\nthis is not really a PDF at all\n";
	struct ingest_result r;
	char err[256];

	assert_int_equal(ingest_extract(junk, sizeof junk - 1, "junk.pdf",
					NULL, &r, err, sizeof err),
			 INGEST_ERR_CORRUPT);
	assert_non_null(strstr(err, "\"junk.pdf\": file is not a valid PDF ("));
}

static void test_too_many_pages(void **state)
{
	struct pdf_fixture *f = *state;
	struct ingest_limits lim = { .max_pages = 2 };
	struct ingest_result r;
	char err[256];

	assert_int_equal(ingest_extract(f->pdf, f->len, "raft.pdf", &lim, &r,
					err, sizeof err),
			 INGEST_ERR_TOO_MANY_PAGES);
	assert_string_equal(err,
		"could not extract text from \"raft.pdf\": document has too "
		"many pages (3, the limit is 2)");
	lim.max_pages = 3;
	assert_int_equal(ingest_extract(f->pdf, f->len, "raft.pdf", &lim, &r,
					err, sizeof err), 0);
	ingest_result_free(&r);
}

static void test_text_too_large(void **state)
{
	struct pdf_fixture *f = *state;
	struct ingest_limits lim = { .max_text_bytes = 100 };
	struct ingest_result r;
	char err[256];

	/* The pages hold about 80 bytes each. */
	assert_int_equal(ingest_extract(f->pdf, f->len, "raft.pdf", &lim, &r,
					err, sizeof err),
			 INGEST_ERR_TEXT_TOO_LARGE);
	assert_string_equal(err,
		"could not extract text from \"raft.pdf\": extracted text is "
		"too large (more than 100 bytes)");
}

static void test_encrypted(void **state)
{
	struct pdf_fixture *f = *state;
	struct ingest_result r;
	unsigned char *enc;
	size_t len;
	char err[256];

	if (!fx_have_qpdf()) {
		print_message("qpdf is not installed (ops/deps installs it): "
			      "skipping the encrypted PDF test\n");
		skip();
	}
	/* A user password: poppler cannot open it. */
	enc = fx_encrypt_pdf(f->pdf, f->len, "user-pw", &len);
	assert_non_null(enc);
	assert_int_equal(ingest_extract(enc, len, "secret.pdf", NULL, &r, err,
					sizeof err), INGEST_ERR_ENCRYPTED);
	assert_string_equal(err,
		"could not extract text from \"secret.pdf\": file is encrypted");
	free(enc);

	/* Only an owner password (no user password): readable, so accepted. */
	enc = fx_encrypt_pdf(f->pdf, f->len, "", &len);
	assert_non_null(enc);
	assert_int_equal(ingest_extract(enc, len, "owner.pdf", NULL, &r, err,
					sizeof err), 0);
	assert_int_equal(r.page_count, NPAGES);
	assert_non_null(strstr(r.pages[2].text, "Page three"));
	ingest_result_free(&r);
	free(enc);
}

static void test_blank_pages(void **state)
{
	struct ingest_result r;
	unsigned char *pdf;
	size_t len;
	char err[256];

	pdf = fx_blank_pdf(2, &len);
	assert_int_equal(ingest_extract(pdf, len, "blank.pdf", NULL, &r, err,
					sizeof err), 0);
	assert_int_equal(r.type, INGEST_TYPE_PDF);
	assert_int_equal(r.page_count, 2);
	assert_string_equal(r.warning,
		"no text could be extracted: the PDF may be a scanned image");
	assert_clean_result(&r);
	assert_int_equal(r.text_bytes, 0);
	ingest_result_free(&r);
	free(pdf);
}

static void test_image_only(void **state)
{
	struct ingest_result r;
	unsigned char *pdf;
	size_t len;
	char err[256];

	pdf = fx_image_pdf(&len);
	assert_int_equal(ingest_extract(pdf, len, "scan.pdf", NULL, &r, err,
					sizeof err), 0);
	assert_int_equal(r.page_count, 1);
	assert_string_equal(r.warning, INGEST_WARNING_NO_TEXT);
	ingest_result_free(&r);
	free(pdf);
}

static void test_hand_made(void **state)
{
	static const char content[] =
		"BT /F1 12 Tf 72 720 Td (Hello from a hand-made PDF) Tj ET";
	char contents[256];
	const char *objs[] = {
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
		"/Contents 5 0 R /Resources << /Font << /F1 4 0 R >> >> >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		contents,
	};
	struct ingest_result r;
	unsigned char *pdf;
	size_t len;
	char err[256];

	snprintf(contents, sizeof contents,
		 "<< /Length %zu >>\nstream\n%s\nendstream", strlen(content),
		 content);
	pdf = fx_hand_pdf(objs, 5, &len);
	assert_int_equal(ingest_extract(pdf, len, "hand.pdf", NULL, &r, err,
					sizeof err), 0);
	assert_int_equal(r.page_count, 1);
	assert_non_null(strstr(r.pages[0].text, "Hello from a hand-made PDF"));
	ingest_result_free(&r);
	free(pdf);

	/* A shallow form bomb is an ordinary PDF. */
	pdf = fx_bomb_pdf(3, &len);
	assert_int_equal(ingest_extract(pdf, len, "forms.pdf", NULL, &r, err,
					sizeof err), 0);
	assert_non_null(strstr(r.pages[0].text, "Hello bomb"));
	ingest_result_free(&r);
	free(pdf);
}

static void test_no_pages(void **state)
{
	const char *objs[] = {
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [] /Count 0 >>",
	};
	struct ingest_result r;
	unsigned char *pdf;
	size_t len;
	char err[256];

	pdf = fx_hand_pdf(objs, 2, &len);
	assert_int_equal(ingest_extract(pdf, len, "empty.pdf", NULL, &r, err,
					sizeof err), INGEST_ERR_CORRUPT);
	assert_non_null(strstr(err,
		"could not extract text from \"empty.pdf\": file is not a valid PDF ("));
	print_message("PDF without pages: %s\n", err);
	free(pdf);
}

static int group_teardown(void **state)
{
	fx_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_multi_page, setup_multi,
						teardown_multi),
		cmocka_unit_test_setup_teardown(test_content_beats_name,
						setup_multi, teardown_multi),
		cmocka_unit_test_setup_teardown(test_truncated, setup_multi,
						teardown_multi),
		cmocka_unit_test(test_header_only),
		cmocka_unit_test_setup_teardown(test_too_many_pages,
						setup_multi, teardown_multi),
		cmocka_unit_test_setup_teardown(test_text_too_large,
						setup_multi, teardown_multi),
		cmocka_unit_test_setup_teardown(test_encrypted, setup_multi,
						teardown_multi),
		cmocka_unit_test(test_blank_pages),
		cmocka_unit_test(test_image_only),
		cmocka_unit_test(test_hand_made),
		cmocka_unit_test(test_no_pages),
	};

	lms_log_init("test_ingest_pdf", 0, LMS_LOG_WARN);
	return cmocka_run_group_tests_name("ingest_pdf", tests, NULL,
					   group_teardown);
}

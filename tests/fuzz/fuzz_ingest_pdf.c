/*
 * fuzz_ingest_pdf.c -- PDF ingestion without its sandbox: poppler's text
 * extraction as the extractor child runs it (ingest_pdf_frames, the body
 * of lmsd/ingest/pdf_child.c), the parent's parser of the child's pipe
 * output (proto.c, fed in pieces), the cleaning of the pages' text and
 * ingest_chunk on the result.
 *
 * Input: the PDF file itself (so any PDF is a seed), at most 64 KiB. The
 * cut points of the pipe stream come from a hash of the input.
 *
 * In lmsd a PDF is parsed in a forked child under CPU, memory and time
 * limits (sandbox.c), because poppler on hostile input may crash, loop or
 * allocate without end; here it runs in the fuzzer's process, so such an
 * input shows up as a crash, a timeout or an out-of-memory report of
 * libFuzzer. Those in poppler itself (a library of Debian's, not built
 * with the sanitizers) are for poppler; the sandbox contains them in
 * production. What this target is for is our side: the frames the child
 * writes must always satisfy the parser, and what the parser accepts must
 * keep ingest.h's text guarantees.
 *
 * The child's output is written to a memfd (no pipe that could fill up),
 * read back and fed to ingest_proto_feed in pieces. Checked:
 *   - the parser ends (DONE or a refusal) exactly at the end of the output;
 *   - after DONE, ingest_proto_take gives a PDF result whose page count is
 *     the one announced, every page valid UTF-8 without NUL or control
 *     characters but '\n' and '\t', text_bytes their sum, the no-text
 *     warning exactly when all pages are blank;
 *   - chunks as in fuzz_ingest_txt, with pages in range and in order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "ingest.h"
#include "ingest_internal.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64u << 10)
#define MAX_PAGES 64
#define MAX_TEXT (256u << 10)

static int memfd = -1;

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void check_text(const char *s, size_t n)
{
	FUZZ_CHECK(strlen(s) == n);
	FUZZ_CHECK(lms_utf8_valid(s, n));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		FUZZ_CHECK(c >= 0x20 || c == '\n' || c == '\t');
		FUZZ_CHECK(c != 0x7F);
		FUZZ_CHECK(!(c == 0xC2 && i + 1 < n &&
			     (unsigned char)s[i + 1] <= 0x9F));
	}
}

static void check_result(const struct ingest_result *r, size_t announced)
{
	size_t total = 0;
	bool blank = true;
	struct ingest_chunks ch;
	size_t last_page = 1;

	FUZZ_CHECK(r->type == INGEST_TYPE_PDF);
	FUZZ_CHECK(r->page_count == announced);
	FUZZ_CHECK(r->page_count >= 1 && r->page_count <= MAX_PAGES);
	for (size_t i = 0; i < r->page_count; i++) {
		check_text(r->pages[i].text, r->pages[i].len);
		total += r->pages[i].len;
		if (!ingest_text_blank(r->pages[i].text, r->pages[i].len))
			blank = false;
	}
	FUZZ_CHECK(total == r->text_bytes && total <= MAX_TEXT);
	FUZZ_CHECK(blank == (strcmp(r->warning, INGEST_WARNING_NO_TEXT) == 0));
	FUZZ_CHECK(blank || r->warning[0] == '\0');

	FUZZ_CHECK(ingest_chunk(r, 200, 20, &ch) == 0);
	FUZZ_CHECK(blank == (ch.count == 0));
	for (size_t i = 0; i < ch.count; i++) {
		const struct ingest_text_chunk *c = &ch.items[i];

		FUZZ_CHECK(c->len > 0 && c->len <= 200);
		FUZZ_CHECK(strlen(c->text) == c->len);
		FUZZ_CHECK(lms_utf8_valid(c->text, c->len));
		FUZZ_CHECK(!is_space(c->text[0]) &&
			   !is_space(c->text[c->len - 1]));
		FUZZ_CHECK(c->ordinal == i);
		FUZZ_CHECK(c->page >= last_page && c->page <= c->last_page &&
			   c->last_page <= r->page_count);
		last_page = c->page;
	}
	ingest_chunks_free(&ch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_cuts cuts = fz_cuts_init(fz_hash(data, size));
	struct ingest_proto p;
	struct ingest_result r;
	char msg[256];
	uint8_t *out;
	off_t n;
	size_t pos = 0;
	int rv = 0;

	if (size > MAX_INPUT)
		return 0;
	if (memfd < 0) {
		memfd = memfd_create("fuzz_ingest_pdf", MFD_CLOEXEC);
		FUZZ_CHECK(memfd >= 0);
	}
	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(lseek(memfd, 0, SEEK_SET) == 0);

	/* The child's side. */
	FUZZ_CHECK(ingest_pdf_frames(memfd, data, size, MAX_PAGES,
				     MAX_TEXT) == 0);
	n = lseek(memfd, 0, SEEK_CUR);
	FUZZ_CHECK(n >= INGEST_FRAME_HEADER);
	out = malloc((size_t)n);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(pread(memfd, out, (size_t)n, 0) == n);

	/* The parent's side, fed in pieces. */
	ingest_proto_init(&p, MAX_PAGES, MAX_TEXT);
	while (pos < (size_t)n && rv == 0) {
		size_t piece = fz_cuts_piece(&cuts, (size_t)n - pos);

		rv = ingest_proto_feed(&p, out + pos, piece);
		pos += piece;
	}
	/* The output ends exactly where the parser says it does. */
	if (rv == 1)
		FUZZ_CHECK(pos == (size_t)n && p.state == INGEST_PROTO_DONE);
	else
		FUZZ_CHECK(rv < 0 && p.state == INGEST_PROTO_FAILED);
	if (rv < 0) /* refusals are sticky */
		FUZZ_CHECK(ingest_proto_feed(&p, "x", 1) == rv);
	else /* complete: nothing more is expected */
		FUZZ_CHECK(ingest_proto_feed(&p, "", 0) == 1);

	if (rv == 1) {
		size_t announced = p.page_count;

		rv = ingest_proto_take(&p, &r, msg, sizeof(msg));
		if (rv == 0) {
			check_result(&r, announced);
			ingest_result_free(&r);
		} else {
			/* An 'E' frame: encrypted or damaged, with a reason. */
			FUZZ_CHECK(rv == INGEST_ERR_ENCRYPTED ||
				   rv == INGEST_ERR_CORRUPT);
			FUZZ_CHECK(lms_utf8_valid(msg, strlen(msg)));
		}
	} else {
		/* Refused: too many pages or too much text, nothing else. */
		FUZZ_CHECK(rv == INGEST_ERR_TOO_MANY_PAGES ||
			   rv == INGEST_ERR_TEXT_TOO_LARGE ||
			   rv == INGEST_ERR_CORRUPT);
	}
	ingest_proto_free(&p);
	free(out);
	return 0;
}

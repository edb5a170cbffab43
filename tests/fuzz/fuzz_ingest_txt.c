/*
 * fuzz_ingest_txt.c -- text ingestion of uploaded materials (lmsd/ingest):
 * ingest_extract's type detection, plain-text check and cleaning, its
 * user-facing messages, and ingest_chunk on what it extracted.
 *
 * Input: 1 byte choosing the file name (none, notes.txt, notes.pdf, a name
 * with control characters and broken UTF-8, a long one), 1 byte choosing
 * the chunk size and overlap, then the file's bytes. Data starting with
 * "%PDF-" would go to the sandboxed extractor child: ingest_pdf_extract is
 * replaced at link time (-Wl,--wrap) by a stub that refuses, so every
 * input stays in this process (fuzz_ingest_pdf covers PDFs).
 *
 * Checked against ingest.h:
 *   - success: type TXT, one page, text_bytes == its length == strlen,
 *     valid UTF-8, no control character but '\n' and '\t'; the empty-text
 *     warning exactly when the text is blank; the cleaned size is what
 *     ingest_text_clean_size predicted;
 *   - failure: *out zeroed, a message that names the file and is valid
 *     UTF-8 (it goes to the user as is);
 *   - chunks: each non-empty, at most target bytes, valid UTF-8, without
 *     leading or trailing whitespace, numbered 0, 1, ..., on page 1; a text
 *     with no non-blank byte gives none.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "ingest.h"
#include "ingest_internal.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __wrap_ingest_pdf_extract(const void *data, size_t len,
			      const struct ingest_limits *lim,
			      struct ingest_result *out, char *msg,
			      size_t msglen);

int __wrap_ingest_pdf_extract(const void *data, size_t len,
			      const struct ingest_limits *lim,
			      struct ingest_result *out, char *msg,
			      size_t msglen)
{
	snprintf(msg, msglen, "PDFs are not extracted in this harness");
	return INGEST_ERR_CORRUPT;
}

static const char *pick_name(uint8_t b)
{
	static const char *const names[] = {
		NULL,
		"notes.txt",
		"notes.PDF",
		"lecture",
		"bad\"name\x01\xff\xc3(.text",
		"a-rather-long-file-name-that-goes-on-and-on-and-on-and-on-"
		"and-on-and-on-\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac-and-on.txt",
	};

	return names[b % (sizeof(names) / sizeof(names[0]))];
}

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
		/* C1 controls, U+0080..U+009F, are C2 80..C2 9F. */
		FUZZ_CHECK(!(c == 0xC2 && i + 1 < n &&
			     (unsigned char)s[i + 1] <= 0x9F));
	}
}

static void check_chunks(const struct ingest_result *r, size_t target,
			 size_t overlap)
{
	struct ingest_chunks ch;
	bool blank = true;

	FUZZ_CHECK(ingest_chunk(r, target, overlap, &ch) == 0);
	for (size_t i = 0; i < r->pages[0].len; i++)
		if (!is_space(r->pages[0].text[i]))
			blank = false;
	FUZZ_CHECK(blank == (ch.count == 0));
	for (size_t i = 0; i < ch.count; i++) {
		const struct ingest_text_chunk *c = &ch.items[i];

		FUZZ_CHECK(c->len > 0 && c->len <= target);
		FUZZ_CHECK(strlen(c->text) == c->len);
		FUZZ_CHECK(lms_utf8_valid(c->text, c->len));
		FUZZ_CHECK(!is_space(c->text[0]) &&
			   !is_space(c->text[c->len - 1]));
		FUZZ_CHECK(c->ordinal == i);
		FUZZ_CHECK(c->page == 1 && c->last_page == 1);
		/* A chunk is a piece of the page's text. */
		FUZZ_CHECK(memmem(r->pages[0].text, r->pages[0].len, c->text,
				  c->len) != NULL);
	}
	ingest_chunks_free(&ch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ingest_result zero;
	struct fz f = fz_init(data, size);
	const char *name = pick_name(fz_u8(&f));
	uint8_t cb = fz_u8(&f);
	size_t target = INGEST_CHUNK_MIN_TARGET + (cb & 0x3F) * 4;
	size_t overlap = (cb >> 6) * target / 6;
	struct ingest_limits lim;
	struct ingest_result r;
	char err[256];
	int rv;

	ingest_limits_default(&lim);
	lim.max_input_bytes = 1u << 16;
	lim.max_text_bytes = 1u << 15;
	rv = ingest_extract(f.p, f.n, name, &lim, &r, err, sizeof(err));
	if (rv != 0) {
		FUZZ_CHECK(rv < 0);
		FUZZ_CHECK(memcmp(&r, &zero, sizeof(r)) == 0);
		FUZZ_CHECK(strncmp(err, "could not extract text from \"",
				   29) == 0);
		FUZZ_CHECK(lms_utf8_valid(err, strlen(err)));
		ingest_result_free(&r);
		return 0;
	}
	FUZZ_CHECK(r.type == INGEST_TYPE_TXT && r.page_count == 1);
	FUZZ_CHECK(r.text_bytes == r.pages[0].len);
	check_text(r.pages[0].text, r.pages[0].len);
	{
		/* What the check saw is the file minus a UTF-8 BOM. */
		const char *s = (const char *)f.p;
		size_t n = f.n;

		if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
			s += 3;
			n -= 3;
		}
		FUZZ_CHECK(ingest_text_clean_size(s, n) == r.pages[0].len);
	}
	FUZZ_CHECK((r.warning[0] != '\0') ==
		   ingest_text_blank(r.pages[0].text, r.pages[0].len));
	check_chunks(&r, target, overlap);
	ingest_result_free(&r);
	return 0;
}

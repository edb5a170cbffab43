/*
 * extract.c -- ingest_extract(): limits, type detection, plain text, and
 * the messages users see.
 *
 * Why this exists
 * ---------------
 * This is the entry point the service layer calls on an upload. It decides
 * what the bytes are from their content (the name is only a hint, used to
 * refuse a *.pdf that is not one and to word messages), handles plain text
 * in-process (it only needs a UTF-8 check and cleaning, no parser), and
 * hands PDFs to the sandboxed extractor (sandbox.c). Every failure becomes
 * one PostgreSQL-style message that names the file:
 *
 *     could not extract text from "notes.pdf": file is encrypted
 *
 * The file name comes from the user, so it is sanitized for the message
 * (invalid UTF-8, control characters and quotes become '?', long names are
 * cut with "...") and is never used as a path.
 *
 * Memory: a result's pages are allocated here (text) or in proto.c (PDF)
 * and freed by ingest_result_free(); nothing is kept between calls.
 */
#include "ingest_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest file name (bytes) quoted in a message before "...". */
#define EXTRACT_NAME_MAX 80

static const char extract_bom[3] = { '\xEF', '\xBB', '\xBF' };

enum extract_hint {
	EXTRACT_HINT_NONE,
	EXTRACT_HINT_PDF,
	EXTRACT_HINT_TXT,
};

void ingest_limits_default(struct ingest_limits *lim)
{
	lim->max_input_bytes = INGEST_DEFAULT_MAX_INPUT_BYTES;
	lim->max_pages = INGEST_DEFAULT_MAX_PAGES;
	lim->max_text_bytes = INGEST_DEFAULT_MAX_TEXT_BYTES;
	lim->cpu_seconds = INGEST_DEFAULT_CPU_SECONDS;
	lim->memory_bytes = INGEST_DEFAULT_MEMORY_BYTES;
	lim->wall_ms = INGEST_DEFAULT_WALL_MS;
}

const char *ingest_type_name(enum ingest_type type)
{
	switch (type) {
	case INGEST_TYPE_PDF:
		return "pdf";
	case INGEST_TYPE_TXT:
		return "txt";
	default:
		return "none";
	}
}

void ingest_result_free(struct ingest_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->page_count && r->pages != NULL; i++)
		free(r->pages[i].text);
	free(r->pages);
	memset(r, 0, sizeof *r);
}

/* Fill zero fields with defaults; -1 if a field is out of range. */
static int extract_resolve_limits(const struct ingest_limits *in,
				  struct ingest_limits *lim)
{
	ingest_limits_default(lim);
	if (in == NULL)
		return 0;
	if (in->max_input_bytes != 0)
		lim->max_input_bytes = in->max_input_bytes;
	if (in->max_pages != 0)
		lim->max_pages = in->max_pages;
	if (in->max_text_bytes != 0)
		lim->max_text_bytes = in->max_text_bytes;
	if (in->cpu_seconds != 0)
		lim->cpu_seconds = in->cpu_seconds;
	if (in->memory_bytes != 0)
		lim->memory_bytes = in->memory_bytes;
	if (in->wall_ms != 0)
		lim->wall_ms = in->wall_ms;
	if (lim->max_pages > INGEST_MAX_PAGES_LIMIT ||
	    lim->max_text_bytes > INGEST_MAX_TEXT_BYTES_LIMIT ||
	    lim->cpu_seconds > 24 * 3600 || lim->wall_ms > 24u * 3600 * 1000)
		return -1;
	return 0;
}

/* The file name as it may appear in a message (see the top). */
static void extract_display_name(const char *name, char *out, size_t outlen)
{
	const unsigned char *u = (const unsigned char *)name;
	size_t n = strlen(name), i = 0, o = 0;

	while (i < n) {
		uint32_t cp;
		int k = ingest_utf8_next(u + i, n - i, &cp);
		size_t step = k > 0 ? (size_t)k : (size_t)-k;
		bool bad = k < 0 || cp < 0x20 || cp == 0x7F ||
			   (cp >= 0x80 && cp <= 0x9F) || cp == '"';

		if (o + (bad ? 1 : step) > EXTRACT_NAME_MAX ||
		    o + (bad ? 1 : step) + 4 > outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (bad) {
			out[o++] = '?';
		} else {
			memcpy(out + o, name + i, step);
			o += step;
		}
		i += step;
	}
	out[o] = '\0';
}

/* Drop an incomplete UTF-8 sequence that snprintf's cut left at the end. */
static void extract_trim_utf8(char *s)
{
	size_t n = strlen(s), start = n;
	uint32_t cp;

	while (start > 0 && n - start < 4 &&
	       ((unsigned char)s[start - 1] & 0xC0) == 0x80)
		start--;
	if (start > 0 && (unsigned char)s[start - 1] >= 0xC0)
		start--;
	else if (start == n || ((unsigned char)s[start] & 0xC0) == 0x80)
		return; /* ends in ASCII, or not a sequence we can judge */
	if (ingest_utf8_next((const unsigned char *)s + start, n - start,
			     &cp) < 0)
		s[start] = '\0';
}

__attribute__((format(printf, 5, 6)))
static int extract_fail(int code, const char *filename, char *err,
			size_t errlen, const char *fmt, ...)
{
	char name[EXTRACT_NAME_MAX + 4];
	char detail[512];
	va_list ap;

	if (err == NULL || errlen == 0)
		return code;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	extract_display_name(filename != NULL ? filename : "", name,
			     sizeof name);
	snprintf(err, errlen, "could not extract text from \"%s\": %s", name,
		 detail);
	extract_trim_utf8(err);
	return code;
}

static enum extract_hint extract_hint_of(const char *filename)
{
	const char *dot = filename != NULL ? strrchr(filename, '.') : NULL;

	if (dot == NULL)
		return EXTRACT_HINT_NONE;
	if (strcasecmp(dot, ".pdf") == 0)
		return EXTRACT_HINT_PDF;
	if (strcasecmp(dot, ".txt") == 0 || strcasecmp(dot, ".text") == 0)
		return EXTRACT_HINT_TXT;
	return EXTRACT_HINT_NONE;
}

static bool extract_is_pdf(const char *s, size_t n)
{
	return n >= 5 && memcmp(s, "%PDF-", 5) == 0;
}

static int extract_text(const char *s, size_t n, const char *filename,
			enum extract_hint hint, const struct ingest_limits *lim,
			struct ingest_result *out, char *err, size_t errlen)
{
	enum ingest_text_flaw flaw;
	struct ingest_page *page;
	size_t off, bom = 0;

	if (n >= 3 && memcmp(s, extract_bom, 3) == 0) {
		bom = 3;
		s += 3;
		n -= 3;
	}
	flaw = ingest_text_check(s, n, &off);
	if (flaw != INGEST_TEXT_OK) {
		off += bom; /* an offset in the file the user has */
		const char *what = flaw == INGEST_TEXT_NUL ?
			"NUL byte" : "invalid UTF-8 byte sequence";

		if (hint == EXTRACT_HINT_TXT)
			return extract_fail(INGEST_ERR_UNSUPPORTED, filename,
					    err, errlen,
					    "file is not valid UTF-8 text (%s at offset %zu)",
					    what, off);
		return extract_fail(INGEST_ERR_UNSUPPORTED, filename, err,
				    errlen,
				    "file is neither a PDF nor UTF-8 text (%s at offset %zu)",
				    what, off);
	}
	if (ingest_text_clean_size(s, n) > lim->max_text_bytes)
		return extract_fail(INGEST_ERR_TEXT_TOO_LARGE, filename, err,
				    errlen,
				    "extracted text is too large (more than %zu bytes)",
				    lim->max_text_bytes);

	page = calloc(1, sizeof *page);
	if (page == NULL)
		return extract_fail(INGEST_ERR_NOMEM, filename, err, errlen,
				    "out of memory");
	if (ingest_text_clean(s, n, &page->text, &page->len) != 0) {
		free(page);
		return extract_fail(INGEST_ERR_NOMEM, filename, err, errlen,
				    "out of memory");
	}
	out->type = INGEST_TYPE_TXT;
	out->page_count = 1;
	out->pages = page;
	out->text_bytes = page->len;
	if (ingest_text_blank(page->text, page->len))
		snprintf(out->warning, sizeof out->warning, "%s",
			 INGEST_WARNING_EMPTY_TEXT);
	return 0;
}

int ingest_extract(const void *data, size_t len, const char *filename,
		   const struct ingest_limits *limits,
		   struct ingest_result *out, char *err, size_t errlen)
{
	struct ingest_limits lim;
	enum extract_hint hint = extract_hint_of(filename);
	const char *s = len > 0 ? data : "";
	char msg[512];
	int rv;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL || (data == NULL && len > 0))
		return extract_fail(INGEST_ERR_ARG, filename, err, errlen,
				    "invalid argument");
	memset(out, 0, sizeof *out);
	if (extract_resolve_limits(limits, &lim) != 0)
		return extract_fail(INGEST_ERR_ARG, filename, err, errlen,
				    "extraction limits out of range");

	if (len > lim.max_input_bytes)
		return extract_fail(INGEST_ERR_TOO_LARGE, filename, err,
				    errlen,
				    "file is too large (%zu bytes, the limit is %zu)",
				    len, lim.max_input_bytes);

	if (!extract_is_pdf(s, len)) {
		if (hint == EXTRACT_HINT_PDF)
			return extract_fail(INGEST_ERR_NOT_PDF, filename, err,
					    errlen, "file is not a PDF");
		rv = extract_text(s, len, filename, hint, &lim, out, err,
				  errlen);
		if (rv != 0)
			ingest_result_free(out);
		return rv;
	}

	rv = ingest_pdf_extract(s, len, &lim, out, msg, sizeof msg);
	if (rv != 0) {
		ingest_result_free(out);
		return extract_fail(rv, filename, err, errlen, "%s", msg);
	}
	return 0;
}

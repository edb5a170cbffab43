/*
 * text.c -- UTF-8 decoding, the plain-text check and text cleaning.
 *
 * Why this exists
 * ---------------
 * Whatever ends up in a result must be safe for a PostgreSQL text column and
 * for a tsvector: valid UTF-8, no NUL, no control characters that would
 * upset a terminal or a log line. Text files must already be valid UTF-8 to
 * be accepted (ingest_text_check); the PDF child's output is untrusted and
 * may contain anything, so its ill-formed sequences are replaced, not
 * refused (ingest_text_clean). Both use the same decoder, which follows
 * Unicode table 3-7 exactly like lms_utf8_valid() in common/util.c, and the
 * U+FFFD substitution follows the "maximal subpart" practice of Unicode
 * section 3.9 (one replacement per maximal ill-formed prefix).
 *
 * Nothing here keeps state; ingest_text_clean() allocates the only memory,
 * owned by its caller.
 */
#include "ingest_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
static const char text_replacement[3] = { '\xEF', '\xBF', '\xBD' };

int ingest_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return -1; /* 80..C1, F5..FF: never a lead byte */
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi)
			return -(int)i;
		v = (v << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = v;
	return (int)need + 1;
}

enum ingest_text_flaw ingest_text_check(const char *s, size_t n,
					size_t *offset)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	/* Fast path: the shared validator, then a NUL scan. */
	if (lms_utf8_valid(s, n) && memchr(s, '\0', n) == NULL)
		return INGEST_TEXT_OK;
	while (i < n) {
		uint32_t cp;
		int k = ingest_utf8_next(u + i, n - i, &cp);

		if (k < 0) {
			*offset = i;
			return INGEST_TEXT_INVALID_UTF8;
		}
		if (cp == 0) {
			*offset = i;
			return INGEST_TEXT_NUL;
		}
		i += (size_t)k;
	}
	/* Unreachable if both checks agree; be safe anyway. */
	*offset = 0;
	return INGEST_TEXT_INVALID_UTF8;
}

/* True for the code points cleaning drops. */
static bool text_dropped(uint32_t cp)
{
	if (cp == '\n' || cp == '\t')
		return false;
	return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

/*
 * The single pass behind ingest_text_clean() and ingest_text_clean_size():
 * with out == NULL it only counts.
 */
static size_t text_clean_into(const char *s, size_t n, char *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;

	while (i < n) {
		uint32_t cp;
		int k = ingest_utf8_next(u + i, n - i, &cp);

		if (k < 0) {
			if (out != NULL)
				memcpy(out + o, text_replacement, 3);
			o += 3;
			i += (size_t)-k;
			continue;
		}
		if (cp == '\r') {
			/* CR LF -> LF (the LF comes next); lone CR -> LF. */
			if (i + 1 >= n || u[i + 1] != '\n') {
				if (out != NULL)
					out[o] = '\n';
				o++;
			}
		} else if (!text_dropped(cp)) {
			if (out != NULL)
				memcpy(out + o, s + i, (size_t)k);
			o += (size_t)k;
		}
		i += (size_t)k;
	}
	return o;
}

size_t ingest_text_clean_size(const char *s, size_t n)
{
	return text_clean_into(s, n, NULL);
}

int ingest_text_clean(const char *s, size_t n, char **out, size_t *outlen)
{
	size_t size = text_clean_into(s, n, NULL);
	char *buf = malloc(size + 1);

	if (buf == NULL)
		return INGEST_ERR_NOMEM;
	text_clean_into(s, n, buf);
	buf[size] = '\0';
	*out = buf;
	*outlen = size;
	return 0;
}

bool ingest_text_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	}
	return true;
}

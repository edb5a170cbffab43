/*
 * proto.c -- the framed format on the pipe between the extractor child and
 * its parent (described in ingest_internal.h).
 *
 * Why this exists
 * ---------------
 * The child runs poppler on hostile input, so after the first byte of the
 * PDF is parsed it may be under an attacker's control. The parent therefore
 * treats the pipe like a network socket: a push parser that validates each
 * header before allocating anything for the frame, never accepts more text
 * than the budget left, checks page order and counts, and cleans every byte
 * of text it keeps. A malformed stream is refused as a whole; nothing
 * partial reaches a result.
 *
 * The writer (ingest_frame_write) is here too so that both ends of the
 * format live in one file; only the child calls it.
 *
 * Memory: the parser owns body (the frame being collected) and pages (each
 * page's cleaned text) until ingest_proto_take() hands the pages to a
 * result; ingest_proto_free() releases whatever it still owns.
 */
#include "ingest_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- writer (child side) ------------------------------------------------ */

static void proto_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t proto_get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int proto_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ingest_frame_write(int fd, unsigned char tag, uint32_t arg,
		       const void *bytes, size_t n)
{
	unsigned char h[INGEST_FRAME_HEADER];

	if (n > UINT32_MAX - 4) {
		errno = EMSGSIZE;
		return -1;
	}
	h[0] = tag;
	proto_put_u32(h + 1, (uint32_t)(n + 4));
	proto_put_u32(h + 5, arg);
	if (proto_write_all(fd, h, sizeof h) != 0)
		return -1;
	return n > 0 ? proto_write_all(fd, bytes, n) : 0;
}

/* ---- parser (parent side) ----------------------------------------------- */

void ingest_proto_init(struct ingest_proto *p, size_t max_pages,
		       size_t max_text_bytes)
{
	memset(p, 0, sizeof *p);
	p->max_pages = max_pages;
	p->max_text_bytes = max_text_bytes;
	p->state = INGEST_PROTO_HEADER;
}

void ingest_proto_free(struct ingest_proto *p)
{
	free(p->body);
	p->body = NULL;
	if (p->pages != NULL) {
		for (size_t i = 0; i < p->page_count; i++)
			free(p->pages[i].text);
		free(p->pages);
		p->pages = NULL;
	}
}

__attribute__((format(printf, 3, 4)))
static int proto_fail(struct ingest_proto *p, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof p->msg, fmt, ap);
	va_end(ap);
	p->err = err;
	p->state = INGEST_PROTO_FAILED;
	free(p->body);
	p->body = NULL;
	return err;
}

static int proto_malformed(struct ingest_proto *p, const char *what)
{
	return proto_fail(p, INGEST_ERR_EXTRACTOR,
			  "the extractor process sent malformed output (%s)",
			  what);
}

/*
 * A header is complete: decide whether the frame is acceptable at this
 * point of the stream and how many bytes may follow, before allocating.
 */
static int proto_header(struct ingest_proto *p)
{
	uint32_t length = proto_get_u32(p->header + 1);
	size_t n;

	p->tag = p->header[0];
	p->arg = proto_get_u32(p->header + 5);
	if (length < 4)
		return proto_malformed(p, "frame too short");
	n = (size_t)length - 4;

	switch (p->tag) {
	case INGEST_TAG_PAGES:
		if (p->page_count != 0 || n != 0)
			return proto_malformed(p, "unexpected page count");
		if (p->arg == 0)
			return proto_fail(p, INGEST_ERR_CORRUPT,
					  "file is not a valid PDF (it has no pages)");
		if (p->arg > p->max_pages)
			return proto_fail(p, INGEST_ERR_TOO_MANY_PAGES,
					  "document has too many pages (%lu, the limit is %zu)",
					  (unsigned long)p->arg, p->max_pages);
		p->pages = calloc(p->arg, sizeof *p->pages);
		if (p->pages == NULL)
			return proto_fail(p, INGEST_ERR_NOMEM, "out of memory");
		p->page_count = p->arg;
		break;
	case INGEST_TAG_PAGE:
		if (p->page_count == 0)
			return proto_malformed(p, "page before page count");
		if (p->next_page >= p->page_count)
			return proto_malformed(p, "more pages than announced");
		if (p->arg != p->next_page)
			return proto_malformed(p, "page out of order");
		if (n > p->max_text_bytes - p->raw_bytes)
			return proto_fail(p, INGEST_ERR_TEXT_TOO_LARGE,
					  "extracted text is too large (more than %zu bytes)",
					  p->max_text_bytes);
		break;
	case INGEST_TAG_DONE:
		if (p->page_count == 0 || n != 0 ||
		    p->next_page != p->page_count || p->arg != p->page_count)
			return proto_malformed(p, "early end of output");
		break;
	case INGEST_TAG_ERROR:
		if (p->page_count != 0)
			return proto_malformed(p, "error after page count");
		if (p->arg != INGEST_CHILD_ENCRYPTED &&
		    p->arg != INGEST_CHILD_DAMAGED)
			return proto_malformed(p, "unknown error kind");
		if (n >= INGEST_REASON_MAX)
			return proto_malformed(p, "error reason too long");
		break;
	default:
		return proto_malformed(p, "unknown frame type");
	}

	p->body_len = n;
	p->body_have = 0;
	if (n > 0) {
		p->body = malloc(n);
		if (p->body == NULL)
			return proto_fail(p, INGEST_ERR_NOMEM, "out of memory");
	}
	p->state = INGEST_PROTO_BODY;
	return 0;
}

/* A frame is complete: keep what it carries. Returns 0, 1 (done) or < 0. */
static int proto_frame(struct ingest_proto *p)
{
	char *clean;
	size_t clean_len;

	switch (p->tag) {
	case INGEST_TAG_PAGES:
		break;
	case INGEST_TAG_PAGE:
		p->raw_bytes += p->body_len;
		if (ingest_text_clean(p->body != NULL ? p->body : "",
				      p->body_len, &clean, &clean_len) != 0)
			return proto_fail(p, INGEST_ERR_NOMEM, "out of memory");
		if (clean_len > p->max_text_bytes - p->clean_bytes) {
			free(clean);
			return proto_fail(p, INGEST_ERR_TEXT_TOO_LARGE,
					  "extracted text is too large (more than %zu bytes)",
					  p->max_text_bytes);
		}
		p->clean_bytes += clean_len;
		p->pages[p->next_page].text = clean;
		p->pages[p->next_page].len = clean_len;
		p->next_page++;
		break;
	case INGEST_TAG_ERROR:
		p->child_error = p->arg;
		if (ingest_text_clean(p->body != NULL ? p->body : "",
				      p->body_len, &clean, &clean_len) != 0)
			return proto_fail(p, INGEST_ERR_NOMEM, "out of memory");
		/* clean_len <= 3 * body_len: cut on a character boundary. */
		while (clean_len >= sizeof p->reason ||
		       (clean_len > 0 &&
			((unsigned char)clean[clean_len] & 0xC0) == 0x80))
			clean_len--;
		memcpy(p->reason, clean, clean_len);
		p->reason[clean_len] = '\0';
		free(clean);
		/* It ends up in a one-line message. */
		for (char *c = p->reason; *c != '\0'; c++) {
			if (*c == '\n' || *c == '\t')
				*c = ' ';
		}
		/* fall through */
	case INGEST_TAG_DONE:
		free(p->body);
		p->body = NULL;
		p->state = INGEST_PROTO_DONE;
		return 1;
	}
	free(p->body);
	p->body = NULL;
	p->state = INGEST_PROTO_HEADER;
	p->header_have = 0;
	return 0;
}

int ingest_proto_feed(struct ingest_proto *p, const void *buf, size_t n)
{
	const unsigned char *in = buf;

	if (p->state == INGEST_PROTO_FAILED)
		return p->err;
	if (p->state == INGEST_PROTO_DONE) {
		if (n == 0)
			return 1;
		return proto_malformed(p, "data after end of output");
	}
	while (n > 0) {
		size_t take;
		int rv;

		if (p->state == INGEST_PROTO_HEADER) {
			take = sizeof p->header - p->header_have;
			if (take > n)
				take = n;
			memcpy(p->header + p->header_have, in, take);
			p->header_have += take;
			in += take;
			n -= take;
			if (p->header_have < sizeof p->header)
				return 0;
			rv = proto_header(p);
			if (rv < 0)
				return rv;
		}
		/* INGEST_PROTO_BODY */
		take = p->body_len - p->body_have;
		if (take > n)
			take = n;
		if (take > 0) {
			memcpy(p->body + p->body_have, in, take);
			p->body_have += take;
			in += take;
			n -= take;
		}
		if (p->body_have < p->body_len)
			return 0;
		rv = proto_frame(p);
		if (rv < 0)
			return rv;
		if (rv == 1) {
			if (n > 0)
				return proto_malformed(p,
						       "data after end of output");
			return 1;
		}
	}
	return 0;
}

/* Lower-case the first letter of a library message unless it is an acronym. */
static void proto_lower_first(char *s)
{
	if (s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'a' && s[1] <= 'z')
		s[0] = (char)(s[0] - 'A' + 'a');
}

int ingest_proto_take(struct ingest_proto *p, struct ingest_result *out,
		      char *msg, size_t msglen)
{
	bool blank = true;

	if (p->state == INGEST_PROTO_FAILED) {
		snprintf(msg, msglen, "%s", p->msg);
		return p->err;
	}
	if (p->state != INGEST_PROTO_DONE) {
		snprintf(msg, msglen,
			 "the extractor process ended before finishing its output");
		return INGEST_ERR_EXTRACTOR;
	}
	if (p->tag == INGEST_TAG_ERROR) {
		if (p->child_error == INGEST_CHILD_ENCRYPTED) {
			snprintf(msg, msglen, "file is encrypted");
			return INGEST_ERR_ENCRYPTED;
		}
		proto_lower_first(p->reason);
		if (p->reason[0] != '\0')
			snprintf(msg, msglen, "file is not a valid PDF (%s)",
				 p->reason);
		else
			snprintf(msg, msglen, "file is not a valid PDF");
		return INGEST_ERR_CORRUPT;
	}

	memset(out, 0, sizeof *out);
	out->type = INGEST_TYPE_PDF;
	out->page_count = p->page_count;
	out->pages = p->pages;
	out->text_bytes = p->clean_bytes;
	for (size_t i = 0; i < p->page_count; i++) {
		if (!ingest_text_blank(out->pages[i].text, out->pages[i].len)) {
			blank = false;
			break;
		}
	}
	if (blank)
		snprintf(out->warning, sizeof out->warning, "%s",
			 INGEST_WARNING_NO_TEXT);
	p->pages = NULL;
	p->page_count = 0;
	return 0;
}

/*
 * ndjson.c -- incremental NDJSON line splitter (see ndjson.h).
 *
 * The fast path delivers lines straight out of the caller's buffer; only
 * the tail of a buffer (an incomplete line) is copied into s->buf, and the
 * next feed completes it. The pending buffer may hold max_line + 1 bytes:
 * the extra byte is a possible "\r" of a CRLF whose "\n" has not arrived.
 */
#include "ndjson.h"

#include <stdlib.h>
#include <string.h>

void ollama_ndjson_init(struct ollama_ndjson *s, size_t max_line)
{
	memset(s, 0, sizeof(*s));
	s->max_line = max_line ? max_line : 1;
}

void ollama_ndjson_free(struct ollama_ndjson *s)
{
	if (s == NULL)
		return;
	free(s->buf);
	s->buf = NULL;
	s->len = 0;
	s->cap = 0;
}

size_t ollama_ndjson_pending(const struct ollama_ndjson *s)
{
	return s->len;
}

/* Deliver one line (without its "\n"): strip one "\r", skip blanks. */
static int ndjson_deliver(struct ollama_ndjson *s, const char *line,
			  size_t len, ollama_line_fn fn, void *user)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > s->max_line)
		return OLLAMA_NDJSON_TOO_LONG;
	if (len == 0)
		return 0;
	return fn(line, len, user);
}

static int ndjson_append(struct ollama_ndjson *s, const char *data, size_t n)
{
	if (n == 0)
		return 0;
	if (s->len + n > s->max_line + 1)
		return OLLAMA_NDJSON_TOO_LONG;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		char *nb;

		while (cap < s->len + n)
			cap *= 2;
		if (cap > s->max_line + 1)
			cap = s->max_line + 1;
		nb = realloc(s->buf, cap);
		if (nb == NULL)
			return -ENOMEM;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return 0;
}

int ollama_ndjson_feed(struct ollama_ndjson *s, const char *data, size_t n,
		       ollama_line_fn fn, void *user)
{
	const char *p = data;
	const char *end = data + n;
	int rv;

	if (s->error)
		return s->error;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL) {
			rv = ndjson_append(s, p, (size_t)(end - p));
			if (rv)
				goto fail;
			return 0;
		}
		if (s->len > 0) {
			/* Complete the pending line, then deliver our copy. */
			size_t len;

			rv = ndjson_append(s, p, (size_t)(nl - p));
			if (rv)
				goto fail;
			len = s->len;
			s->len = 0;
			rv = ndjson_deliver(s, s->buf, len, fn, user);
		} else {
			rv = ndjson_deliver(s, p, (size_t)(nl - p), fn, user);
		}
		if (rv)
			goto fail;
		p = nl + 1;
	}
	return 0;
fail:
	s->error = rv;
	return rv;
}

int ollama_ndjson_finish(struct ollama_ndjson *s, ollama_line_fn fn,
			 void *user)
{
	size_t len;
	int rv;

	if (s->error)
		return s->error;
	len = s->len;
	s->len = 0;
	if (len == 0)
		return 0;
	rv = ndjson_deliver(s, s->buf, len, fn, user);
	if (rv)
		s->error = rv;
	return rv;
}

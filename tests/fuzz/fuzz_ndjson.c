/*
 * fuzz_ndjson.c -- tutord/ndjson.c, the NDJSON line splitter of the tutor's
 * Ollama stream, on arbitrary bytes cut at arbitrary points.
 *
 * Input: 1 byte choosing max_line, 1 byte choosing after how many lines
 * the callback stops the stream (0: never), 8 bytes seeding the cut
 * points, then the body as Ollama (or a hostile server) would send it.
 *
 * The splitter's answer, fed in pieces and finished, must equal a
 * reference written here from ndjson.h's rules on the whole body: split on
 * "\n", drop one "\r" before it, skip empty lines, a line longer than
 * max_line ends the stream with OLLAMA_NDJSON_TOO_LONG, a final line
 * without "\n" is delivered by finish, a nonzero callback value stops at
 * once and is returned from then on. Same lines, same bytes, same order,
 * same final value; the pending bytes never exceed max_line + 1; after an
 * error the splitter keeps returning it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "ndjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STOP_VALUE 12345
#define MAX_LINES 65536

struct line {
	size_t off, len; /* in the reference: offsets into the body */
};

struct collect {
	const char *body;
	const struct line *want;
	size_t n_want;
	size_t got;
	size_t stop_after; /* 0: never */
};

static size_t pick_max_line(uint8_t b)
{
	static const size_t v[] = { 0, 1, 2, 3, 8, 64, 256, 1u << 20 };

	return b < 8 ? v[b] : b;
}

static int on_line(const char *line, size_t len, void *user)
{
	struct collect *c = user;
	const struct line *w;

	FUZZ_CHECK(c->got < c->n_want);
	w = &c->want[c->got++];
	FUZZ_CHECK(len == w->len && len > 0);
	FUZZ_CHECK(memcmp(line, c->body + w->off, len) == 0);
	if (c->stop_after != 0 && c->got == c->stop_after)
		return STOP_VALUE;
	return 0;
}

/* The rules of ndjson.h on the whole body: the lines, and the final value. */
static int reference(const char *s, size_t n, size_t max_line,
		     size_t stop_after, struct line *out, size_t *n_out)
{
	size_t start = 0;

	if (max_line == 0)
		max_line = 1;
	*n_out = 0;
	while (start < n) {
		const char *nl = memchr(s + start, '\n', n - start);
		size_t end = nl != NULL ? (size_t)(nl - s) : n;
		size_t len = end - start;

		if (len > 0 && s[start + len - 1] == '\r')
			len--;
		if (len > max_line)
			return OLLAMA_NDJSON_TOO_LONG;
		if (len > 0) {
			if (*n_out == MAX_LINES)
				abort(); /* cannot happen below max_len */
			out[*n_out].off = start;
			out[*n_out].len = len;
			(*n_out)++;
			if (stop_after != 0 && *n_out == stop_after)
				return STOP_VALUE;
		}
		start = end + 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct line want[MAX_LINES];
	struct fz f = fz_init(data, size);
	size_t max_line = pick_max_line(fz_u8(&f));
	size_t stop_after = fz_u8(&f) % 16;
	struct fz_cuts cuts = fz_cuts_init(fz_u64(&f));
	const char *body = (const char *)f.p;
	struct collect c = { body, want, 0, 0, stop_after };
	struct ollama_ndjson s;
	size_t pos = 0;
	int expect, rv = 0;

	if (f.n >= 2 * MAX_LINES)
		return 0;
	expect = reference(body, f.n, max_line, stop_after, want, &c.n_want);

	ollama_ndjson_init(&s, max_line);
	while (pos < f.n && rv == 0) {
		size_t piece = fz_cuts_piece(&cuts, f.n - pos);

		rv = ollama_ndjson_feed(&s, body + pos, piece, on_line, &c);
		pos += piece;
		FUZZ_CHECK(ollama_ndjson_pending(&s) <= s.max_line + 1);
	}
	if (rv == 0)
		rv = ollama_ndjson_finish(&s, on_line, &c);
	FUZZ_CHECK(rv == expect);
	FUZZ_CHECK(c.got == c.n_want);
	if (rv != 0) {
		/* Sticky. */
		FUZZ_CHECK(ollama_ndjson_feed(&s, "{}\n", 3, on_line, &c) ==
			   rv);
		FUZZ_CHECK(ollama_ndjson_finish(&s, on_line, &c) == rv);
	} else {
		/* Left empty, and usable again. */
		FUZZ_CHECK(ollama_ndjson_pending(&s) == 0);
	}
	ollama_ndjson_free(&s);
	return 0;
}

/*
 * think.c -- incremental <think>...</think> stripper (rules in think.h).
 *
 * A byte-at-a-time state machine. A '<' starts a candidate tag, kept in
 * t->pend while it is still a prefix of "<think>" or "</think>"; a
 * complete tag becomes a tag event, a mismatch turns the first held byte
 * into ordinary text and re-scans the rest (they may start a new tag:
 * "<<think>"). Ordinary text goes to the hold buffer (UNDECIDED), nowhere
 * (INSIDE) or the output buffer (OUTSIDE); the output buffer is emitted
 * once at the end of each feed, so a feed costs at most one callback.
 */
#include "think.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char think_open[] = "<think>";   /* 7 bytes */
static const char think_close[] = "</think>"; /* 8 bytes */

void ollama_think_init(struct ollama_think *t)
{
	memset(t, 0, sizeof(*t));
	t->state = OLLAMA_THINK_UNDECIDED;
}

void ollama_think_free(struct ollama_think *t)
{
	if (t == NULL)
		return;
	free(t->hold);
	free(t->out);
	t->hold = NULL;
	t->out = NULL;
	t->hold_len = t->hold_cap = 0;
	t->out_len = t->out_cap = 0;
}

bool ollama_think_unterminated(const struct ollama_think *t)
{
	return t->unterminated;
}

/* ---------------------------------------------------------------------
 * Buffers
 * ------------------------------------------------------------------- */

static int think_buf_add(char **buf, size_t *len, size_t *cap,
			 const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (*len + n > *cap) {
		size_t ncap = *cap ? *cap : 64;
		char *nb;

		while (ncap < *len + n)
			ncap *= 2;
		nb = realloc(*buf, ncap);
		if (nb == NULL)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

static bool think_is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Visible bytes: skip leading whitespace of the whole visible output. */
static int think_visible(struct ollama_think *t, const char *p, size_t n)
{
	if (!t->visible_started) {
		while (n > 0 && think_is_space(*p)) {
			p++;
			n--;
		}
		if (n == 0)
			return 0;
		t->visible_started = true;
	}
	return think_buf_add(&t->out, &t->out_len, &t->out_cap, p, n);
}

static int think_flush(struct ollama_think *t, ollama_emit_fn emit,
		       void *user)
{
	size_t n = t->out_len;

	if (n == 0)
		return 0;
	t->out_len = 0;
	return emit(t->out, n, user);
}

/* ---------------------------------------------------------------------
 * The state machine
 * ------------------------------------------------------------------- */

static int think_text(struct ollama_think *t, char c)
{
	switch (t->state) {
	case OLLAMA_THINK_UNDECIDED:
		return think_buf_add(&t->hold, &t->hold_len, &t->hold_cap, &c,
				     1);
	case OLLAMA_THINK_INSIDE:
		return 0;
	case OLLAMA_THINK_OUTSIDE:
		return think_visible(t, &c, 1);
	}
	return 0;
}

static int think_tag(struct ollama_think *t, bool open)
{
	int rv = 0;

	switch (t->state) {
	case OLLAMA_THINK_UNDECIDED:
		if (open) {
			/* Text before an opening tag is answer. */
			rv = think_visible(t, t->hold, t->hold_len);
			t->state = OLLAMA_THINK_INSIDE;
			t->depth = 1;
		} else {
			/* Closing tag first: all of it was thinking. */
			t->state = OLLAMA_THINK_OUTSIDE;
		}
		t->hold_len = 0;
		break;
	case OLLAMA_THINK_INSIDE:
		if (open) {
			t->depth++;
		} else if (--t->depth == 0) {
			t->state = OLLAMA_THINK_OUTSIDE;
		}
		break;
	case OLLAMA_THINK_OUTSIDE:
		if (open) {
			t->state = OLLAMA_THINK_INSIDE;
			t->depth = 1;
		}
		/* A stray closing tag is dropped. */
		break;
	}
	return rv;
}

/* How pend[0..npend) relates to the two tags. */
enum think_match { THINK_NONE, THINK_PREFIX, THINK_OPEN, THINK_CLOSE };

static enum think_match think_match(const char *pend, size_t n)
{
	bool open_prefix = n <= 7 && memcmp(pend, think_open, n) == 0;
	bool close_prefix = n <= 8 && memcmp(pend, think_close, n) == 0;

	if (open_prefix && n == 7)
		return THINK_OPEN;
	if (close_prefix && n == 8)
		return THINK_CLOSE;
	if (open_prefix || close_prefix)
		return THINK_PREFIX;
	return THINK_NONE;
}

static int think_byte(struct ollama_think *t, char c)
{
	char again[sizeof(t->pend)];
	size_t nagain;
	int rv;

	if (t->npend == 0 && c != '<')
		return think_text(t, c);

	t->pend[t->npend++] = c;
	switch (think_match(t->pend, t->npend)) {
	case THINK_PREFIX:
		return 0;
	case THINK_OPEN:
	case THINK_CLOSE:
		rv = think_tag(t, t->pend[1] != '/');
		t->npend = 0;
		return rv;
	case THINK_NONE:
		break;
	}
	/* Not a tag: the '<' is text, the bytes after it are scanned again. */
	nagain = t->npend - 1;
	memcpy(again, t->pend + 1, nagain);
	t->npend = 0;
	rv = think_text(t, '<');
	for (size_t i = 0; rv == 0 && i < nagain; i++)
		rv = think_byte(t, again[i]);
	return rv;
}

int ollama_think_feed(struct ollama_think *t, const char *p, size_t n,
		      ollama_emit_fn emit, void *user)
{
	int rv = 0;

	if (t->error)
		return t->error;
	for (size_t i = 0; rv == 0 && i < n; i++)
		rv = think_byte(t, p[i]);
	if (rv == 0)
		rv = think_flush(t, emit, user);
	if (rv)
		t->error = rv;
	return rv;
}

int ollama_think_release(struct ollama_think *t, ollama_emit_fn emit,
			 void *user)
{
	int rv;

	if (t->error)
		return t->error;
	if (t->state != OLLAMA_THINK_UNDECIDED)
		return 0;
	rv = think_visible(t, t->hold, t->hold_len);
	t->hold_len = 0;
	t->state = OLLAMA_THINK_OUTSIDE;
	if (rv == 0)
		rv = think_flush(t, emit, user);
	if (rv)
		t->error = rv;
	return rv;
}

int ollama_think_finish(struct ollama_think *t, ollama_emit_fn emit,
			void *user)
{
	int rv = 0;

	if (t->error)
		return t->error;
	if (t->finished)
		return 0;
	t->finished = true;
	t->npend = 0; /* an incomplete tag is never emitted */
	switch (t->state) {
	case OLLAMA_THINK_UNDECIDED:
		/* No tag at all: everything was answer. */
		rv = think_visible(t, t->hold, t->hold_len);
		t->hold_len = 0;
		break;
	case OLLAMA_THINK_INSIDE:
		t->unterminated = true;
		break;
	case OLLAMA_THINK_OUTSIDE:
		break;
	}
	if (rv == 0)
		rv = think_flush(t, emit, user);
	if (rv)
		t->error = rv;
	return rv;
}

/* ---------------------------------------------------------------------
 * Whole texts
 * ------------------------------------------------------------------- */

struct think_collect {
	char *buf;
	size_t len, cap;
};

static int think_collect_emit(const char *text, size_t len, void *user)
{
	struct think_collect *c = user;

	return think_buf_add(&c->buf, &c->len, &c->cap, text, len);
}

int ollama_think_strip(const char *s, size_t len, char **out,
		       size_t *out_len)
{
	struct ollama_think t;
	struct think_collect c = {0};
	int rv;

	ollama_think_init(&t);
	rv = ollama_think_feed(&t, s, len, think_collect_emit, &c);
	if (rv == 0)
		rv = ollama_think_finish(&t, think_collect_emit, &c);
	if (rv == 0)
		rv = think_buf_add(&c.buf, &c.len, &c.cap, "", 1);
	ollama_think_free(&t);
	if (rv) {
		free(c.buf);
		return rv;
	}
	*out = c.buf;
	*out_len = c.len - 1;
	return 0;
}

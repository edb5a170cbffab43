/*
 * chunk.c -- ingest_chunk(): cut a document's text into retrieval chunks.
 *
 * Why this exists
 * ---------------
 * The tutor retrieves course material by full-text search over chunks
 * stored in PostgreSQL (one row and one tsvector per chunk), then quotes
 * the best ones to the model with their page numbers. Chunks therefore
 * have to be small enough to quote, cut where a reader would cut (never in
 * the middle of a word, and never inside a UTF-8 sequence, which PostgreSQL
 * would reject), and identical on every run: chunks are computed before
 * proposal like the text itself, but a retry or a re-ingest must give the
 * same rows.
 *
 * How
 * ---
 * The pages are joined into one stream with a blank line ("\n\n") between
 * pages, so that a page break counts as a paragraph break and a chunk may
 * run across it; starts[] maps stream offsets back to pages. From the
 * current position pos (never on whitespace), the window is
 * [pos, pos + target). If the rest of the text fits, it is the last chunk.
 * Otherwise the chunk ends at the last paragraph break, else sentence end,
 * else line break found in the second half of the window, else at the last
 * whitespace anywhere in it, else (one enormous "word") at the last UTF-8
 * character boundary of the window. Trailing whitespace is trimmed, so a
 * chunk is never longer than target. The next chunk starts overlap bytes
 * (at most half the chunk's length, so each step moves on by at least half
 * a chunk and the output stays within about twice the input) before the
 * break, moved forward to the next word start (or at the break
 * if no word starts in that span), then past any whitespace. Every step
 * moves pos forward, so the loop ends; every decision depends only on the
 * bytes, so it is deterministic.
 *
 * Memory: the joined stream and page map are temporary; each chunk's text
 * is its own allocation, owned by the struct ingest_chunks until
 * ingest_chunks_free().
 */
#include "ingest_internal.h"

#include <stdlib.h>
#include <string.h>

struct chunk_doc {
	char *s;        /* the pages joined, NUL-terminated */
	size_t n;       /* length without trailing whitespace */
	size_t *starts; /* starts[i]: offset of page i + 1 in s */
	size_t pages;
};

static bool chunk_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* 1-based page of stream offset off. */
static size_t chunk_page_of(const struct chunk_doc *d, size_t off)
{
	size_t lo = 0, hi = d->pages; /* answer in [lo, hi) */

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->starts[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo + 1;
}

static int chunk_join(const struct ingest_result *r, struct chunk_doc *d)
{
	size_t total = 0, o = 0;

	for (size_t i = 0; i < r->page_count; i++)
		total += r->pages[i].len + 2;
	d->s = malloc(total + 1);
	d->starts = malloc(r->page_count * sizeof *d->starts);
	if (d->s == NULL || d->starts == NULL)
		return INGEST_ERR_NOMEM;
	for (size_t i = 0; i < r->page_count; i++) {
		if (i > 0) {
			d->s[o++] = '\n';
			d->s[o++] = '\n';
		}
		d->starts[i] = o;
		if (r->pages[i].len > 0)
			memcpy(d->s + o, r->pages[i].text, r->pages[i].len);
		o += r->pages[i].len;
	}
	d->s[o] = '\0';
	while (o > 0 && chunk_space((unsigned char)d->s[o - 1]))
		o--;
	d->n = o;
	d->pages = r->page_count;
	return 0;
}

/* An ideographic full stop, exclamation or question mark: 。！？ */
static bool chunk_cjk_stop(const char *p)
{
	return memcmp(p, "\xE3\x80\x82", 3) == 0 ||
	       memcmp(p, "\xEF\xBC\x81", 3) == 0 ||
	       memcmp(p, "\xEF\xBC\x9F", 3) == 0;
}

/*
 * Does a sentence end just before offset i (pos < i, s[i] exists)? Either
 * ".", "!" or "?" -- possibly followed by a closing quote or bracket --
 * then whitespace at i, or an ideographic stop right before i.
 */
static bool chunk_sentence_end(const char *s, size_t pos, size_t i)
{
	size_t j = i;

	if (i >= pos + 4 && chunk_cjk_stop(s + i - 3))
		return true;
	if (!chunk_space((unsigned char)s[i]))
		return false;
	if (j > pos + 1 && strchr("\"')]", s[j - 1]) != NULL)
		j--;
	return j > pos + 1 && (s[j - 1] == '.' || s[j - 1] == '!' ||
			       s[j - 1] == '?');
}

/* Is the '\n' at i followed by a blank line (only blanks then '\n')? */
static bool chunk_paragraph_end(const char *s, size_t n, size_t i)
{
	for (size_t j = i + 1; j < n; j++) {
		if (s[j] == '\n')
			return true;
		if (s[j] != ' ' && s[j] != '\t' && s[j] != '\r')
			return false;
	}
	return false;
}

/* End (exclusive) of the chunk starting at pos; pos + target < d->n. */
static size_t chunk_break(const struct chunk_doc *d, size_t pos,
			  size_t target)
{
	const char *s = d->s;
	size_t lim = pos + target, half = pos + target / 2;
	size_t para = 0, sentence = 0, line = 0, space = 0, e;

	for (size_t i = pos + 1; i <= lim; i++) {
		if (chunk_sentence_end(s, pos, i))
			sentence = i;
		if (!chunk_space((unsigned char)s[i]))
			continue;
		space = i;
		if (s[i] == '\n') {
			line = i;
			if (chunk_paragraph_end(s, d->n, i))
				para = i;
		}
	}
	if (para >= half)
		return para;
	if (sentence >= half)
		return sentence;
	if (line >= half)
		return line;
	if (space > pos)
		return space;
	/* No whitespace at all: cut before the character that crosses lim. */
	e = lim;
	while (e > pos + 1 && ((unsigned char)s[e] & 0xC0) == 0x80)
		e--;
	return e;
}

/* Where the chunk after [pos, e) starts (before skipping whitespace). */
static size_t chunk_next_start(const char *s, size_t pos, size_t e,
			       size_t overlap)
{
	/* At most half the chunk, so that each step moves on by half. */
	if (overlap > (e - pos) / 2)
		overlap = (e - pos) / 2;
	if (overlap == 0)
		return e;
	for (size_t j = e - overlap; j < e; j++) {
		if (!chunk_space((unsigned char)s[j]) &&
		    chunk_space((unsigned char)s[j - 1]))
			return j;
	}
	return e;
}

static int chunk_push(struct ingest_chunks *out, size_t *cap,
		      const struct chunk_doc *d, size_t start, size_t end)
{
	struct ingest_text_chunk *c;

	if (out->count == *cap) {
		size_t ncap = *cap != 0 ? *cap * 2 : 16;
		void *p = realloc(out->items, ncap * sizeof *out->items);

		if (p == NULL)
			return INGEST_ERR_NOMEM;
		out->items = p;
		*cap = ncap;
	}
	c = &out->items[out->count];
	c->text = malloc(end - start + 1);
	if (c->text == NULL)
		return INGEST_ERR_NOMEM;
	memcpy(c->text, d->s + start, end - start);
	c->text[end - start] = '\0';
	c->len = end - start;
	c->page = chunk_page_of(d, start);
	c->last_page = chunk_page_of(d, end - 1);
	c->ordinal = out->count;
	out->count++;
	return 0;
}

void ingest_chunks_free(struct ingest_chunks *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->count; i++)
		free(c->items[i].text);
	free(c->items);
	memset(c, 0, sizeof *c);
}

int ingest_chunk(const struct ingest_result *r, size_t target_bytes,
		 size_t overlap_bytes, struct ingest_chunks *out)
{
	struct chunk_doc d = { 0 };
	size_t cap = 0, pos = 0;
	int rv;

	if (out == NULL)
		return INGEST_ERR_ARG;
	memset(out, 0, sizeof *out);
	if (r == NULL || (r->page_count > 0 && r->pages == NULL) ||
	    target_bytes < INGEST_CHUNK_MIN_TARGET ||
	    overlap_bytes > target_bytes / 2)
		return INGEST_ERR_ARG;
	if (r->page_count == 0)
		return 0;

	rv = chunk_join(r, &d);
	if (rv != 0)
		goto out;
	for (;;) {
		size_t e, end;

		while (pos < d.n && chunk_space((unsigned char)d.s[pos]))
			pos++;
		if (pos >= d.n)
			break;
		e = d.n - pos <= target_bytes ? d.n :
			chunk_break(&d, pos, target_bytes);
		end = e;
		while (end > pos && chunk_space((unsigned char)d.s[end - 1]))
			end--;
		rv = chunk_push(out, &cap, &d, pos, end);
		if (rv != 0)
			goto out;
		if (e >= d.n)
			break;
		pos = chunk_next_start(d.s, pos, e, overlap_bytes);
	}
out:
	free(d.s);
	free(d.starts);
	if (rv != 0)
		ingest_chunks_free(out);
	return rv;
}

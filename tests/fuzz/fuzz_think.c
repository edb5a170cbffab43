/*
 * fuzz_think.c -- tutord/think.c, the <think>...</think> stripper of the
 * tutor's answers, on text cut at arbitrary points.
 *
 * Input: 1 byte choosing the mode, 8 bytes seeding the cut points, then:
 *
 *   raw mode (even first byte): arbitrary text. Fed in pieces it must give
 *   what ollama_think_strip gives on the whole text (same visible bytes,
 *   same "unterminated" verdict), each feed emitting at most one piece.
 *   Optionally (a bit of the mode byte) ollama_think_release is called
 *   after the first piece, which must not crash or leak.
 *
 *   well-formed mode (odd first byte): the rest is a program that builds a
 *   reply the way a model writes one -- answer text, <think> blocks
 *   (nested, possibly left open at the end), thinking before a first
 *   </think> with no <think> (deepseek-r1), stray </think> after a block --
 *   from text that contains no tag itself. The expected answer follows
 *   from think.h's rules: the answer text only, leading whitespace
 *   dropped, an incomplete tag at the very end dropped. The stripper's
 *   output, fed in pieces, must be exactly that: never a byte of thinking,
 *   never a tag.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "think.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TEXT (1u << 16)

struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		FUZZ_CHECK(b->p != NULL);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

struct emitted {
	struct sbuf out;
	unsigned calls; /* during the current feed */
};

static int on_emit(const char *text, size_t len, void *user)
{
	struct emitted *e = user;

	FUZZ_CHECK(len > 0);
	e->calls++;
	sb_add(&e->out, text, len);
	return 0;
}

/* Feed s in pieces (and maybe release after the first); finish. */
static void run_pieces(const char *s, size_t n, struct fz_cuts *cuts,
		       bool release, struct emitted *e, bool *unterminated)
{
	struct ollama_think t;
	size_t pos = 0;
	bool first = true;

	ollama_think_init(&t);
	while (pos < n) {
		size_t piece = fz_cuts_piece(cuts, n - pos);

		e->calls = 0;
		FUZZ_CHECK(ollama_think_feed(&t, s + pos, piece, on_emit, e) ==
			   0);
		FUZZ_CHECK(e->calls <= 1);
		pos += piece;
		if (first && release)
			FUZZ_CHECK(ollama_think_release(&t, on_emit, e) == 0);
		first = false;
	}
	e->calls = 0;
	FUZZ_CHECK(ollama_think_finish(&t, on_emit, e) == 0);
	FUZZ_CHECK(e->calls <= 1);
	FUZZ_CHECK(ollama_think_finish(&t, on_emit, e) == 0); /* again: no-op */
	*unterminated = ollama_think_unterminated(&t);
	ollama_think_free(&t);
}

static void raw_mode(const char *s, size_t n, struct fz_cuts *cuts,
		     bool release)
{
	struct emitted e = { { NULL, 0, 0 }, 0 };
	char *whole;
	size_t whole_len;
	bool unterminated, whole_unterminated;
	struct ollama_think t;

	run_pieces(s, n, cuts, release, &e, &unterminated);
	FUZZ_CHECK(ollama_think_strip(s, n, &whole, &whole_len) == 0);
	FUZZ_CHECK(whole[whole_len] == '\0');
	if (!release) {
		FUZZ_CHECK(e.out.n == whole_len);
		FUZZ_CHECK(whole_len == 0 ||
			   memcmp(e.out.p, whole, whole_len) == 0);
		/* ollama_think_strip does not say; ask a whole-text run. */
		ollama_think_init(&t);
		FUZZ_CHECK(ollama_think_feed(&t, s, n, on_emit, &e) == 0);
		FUZZ_CHECK(ollama_think_finish(&t, on_emit, &e) == 0);
		whole_unterminated = ollama_think_unterminated(&t);
		ollama_think_free(&t);
		FUZZ_CHECK(unterminated == whole_unterminated);
	}
	free(whole);
	free(e.out.p);
}

/* ------------------------------------------------------ well-formed mode */

/*
 * Text that holds no tag: bytes from an alphabet rich in tag pieces.
 * run: where the text since the last tag starts (what is appended may
 * complete a tag with the text before it).
 */
static void gen_text(struct fz *f, struct sbuf *to, size_t run)
{
	static const char *const atoms[] = {
		"<", "/", "t", "h", "i", "n", "k", ">", " ", "\n", "\t", "a",
		"\xc3\xa9", "<th", "</", "think", "<thin>", "</think", "<think",
		"x",
	};
	unsigned len = fz_u8(f) % 12;

	for (unsigned i = 0; i < len; i++) {
		const char *a = atoms[fz_u8(f) % (sizeof(atoms) /
						 sizeof(atoms[0]))];
		sb_add(to, a, strlen(a));
	}
	/* Break any tag the atoms happen to spell: '<' -> '['. */
	for (;;) {
		char *p = memmem(to->p + run, to->n - run, "<think>", 7);
		char *q = memmem(to->p + run, to->n - run, "</think>", 8);

		if (p == NULL && q == NULL)
			break;
		if (p != NULL)
			*p = '[';
		if (q != NULL)
			*q = '[';
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* An incomplete tag at the very end of the reply is dropped: the text
 * from the last '<' on, if it is a proper prefix of a tag. Returns the
 * length of s[0..n) without it. */
static size_t strip_tag_prefix(const char *s, size_t n)
{
	const char *lt = NULL;

	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == '<') {
			lt = s + i - 1;
			break;
		}
	if (lt != NULL) {
		size_t k = (size_t)(s + n - lt);

		if ((k < 7 && memcmp(lt, "<think>", k) == 0) ||
		    (k < 8 && memcmp(lt, "</think>", k) == 0))
			return (size_t)(lt - s);
	}
	return n;
}

static void well_formed_mode(struct fz *f, struct fz_cuts *cuts)
{
	struct sbuf in = { NULL, 0, 0 }, want = { NULL, 0, 0 };
	/* The answer's pieces of in, copied at the end: a later text may
	 * still change a '<' of an earlier one (gen_text). */
	struct { size_t off, len; } vis[32];
	size_t nvis = 0;
	struct emitted e = { { NULL, 0, 0 }, 0 };
	unsigned depth = 0, steps = fz_u8(f) % 32;
	bool any_tag = false, ends_visible = true, unterminated;
	const char *w;
	size_t wn, run = 0;

	sb_add(&in, "", 0);
	sb_add(&want, "", 0);
	/* deepseek-r1: thinking, then </think> with no <think> before. */
	if (fz_u8(f) & 1) {
		gen_text(f, &in, 0);
		sb_add(&in, "</think>", 8);
		run = in.n;
		any_tag = true;
	}
	for (unsigned i = 0; i < steps && f->n > 0; i++) {
		size_t before = in.n;

		switch (fz_u8(f) % 5) {
		case 0: /* text: answer outside blocks, thinking inside */
		case 1:
			gen_text(f, &in, run);
			if (depth == 0) {
				vis[nvis].off = before;
				vis[nvis].len = in.n - before;
				nvis++;
			}
			if (in.n > before)
				ends_visible = depth == 0;
			break;
		case 2: /* open a block (nested inside one) */
			sb_add(&in, "<think>", 7);
			run = in.n;
			depth++;
			any_tag = true;
			ends_visible = false;
			break;
		case 3: /* close the innermost block */
			if (depth > 0) {
				sb_add(&in, "</think>", 8);
				run = in.n;
				depth--;
				ends_visible = false;
			}
			break;
		case 4: /* a stray </think> after the first block: dropped */
			if (depth == 0 && any_tag) {
				sb_add(&in, "</think>", 8);
				run = in.n;
				ends_visible = false;
			}
			break;
		}
	}
	for (size_t i = 0; i < nvis; i++)
		sb_add(&want, in.p + vis[i].off, vis[i].len);
	/* An incomplete tag at the end of the reply is never shown; the
	 * reply ends with the answer text since the last tag. */
	wn = want.n;
	if (ends_visible)
		wn -= (in.n - run) - strip_tag_prefix(in.p + run, in.n - run);
	w = want.p;
	while (wn > 0 && is_space(*w)) {
		w++;
		wn--;
	}

	run_pieces(in.p, in.n, cuts, false, &e, &unterminated);
	FUZZ_CHECK(e.out.n == wn);
	FUZZ_CHECK(wn == 0 || memcmp(e.out.p, w, wn) == 0);
	FUZZ_CHECK(unterminated == (depth > 0));
	free(in.p);
	free(want.p);
	free(e.out.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	uint8_t mode = fz_u8(&f);
	struct fz_cuts cuts = fz_cuts_init(fz_u64(&f));

	if (f.n > MAX_TEXT)
		return 0;
	if (mode & 1)
		well_formed_mode(&f, &cuts);
	else
		raw_mode((const char *)f.p, f.n, &cuts, (mode & 2) != 0);
	return 0;
}

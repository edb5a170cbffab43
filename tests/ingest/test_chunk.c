/*
 * test_chunk.c -- ingest_chunk(): boundaries, UTF-8 safety, page numbers,
 * overlap and determinism.
 *
 * Why: chunks become PostgreSQL rows (text + tsvector) that the tutor
 * quotes with page numbers. A chunk cut inside a UTF-8 sequence would be
 * refused by PostgreSQL; one cut inside a word loses that word for search;
 * a wrong page number sends a student to the wrong page; a chunker that
 * depends on anything but its input would give different rows on a retry.
 * Results are built from literals (no PDF, no child process); a property
 * test sweeps many sizes over a deterministic pseudo-random document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "util.h"

/* A result whose pages are copies of the given strings. */
static struct ingest_result make_result(const char *const *pages, size_t n)
{
	struct ingest_result r = { .type = INGEST_TYPE_PDF, .page_count = n };

	r.pages = calloc(n, sizeof *r.pages);
	assert_non_null(r.pages);
	for (size_t i = 0; i < n; i++) {
		r.pages[i].text = strdup(pages[i]);
		assert_non_null(r.pages[i].text);
		r.pages[i].len = strlen(pages[i]);
		r.text_bytes += r.pages[i].len;
	}
	return r;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\t';
}

/* What every chunk set must satisfy, whatever the input. */
static void assert_chunk_invariants(const struct ingest_chunks *c,
				    size_t target)
{
	for (size_t i = 0; i < c->count; i++) {
		const struct ingest_text_chunk *k = &c->items[i];

		assert_int_equal(k->ordinal, i);
		assert_true(k->len > 0);
		assert_true(k->len <= target);
		assert_int_equal(strlen(k->text), k->len);
		if (!lms_utf8_valid(k->text, k->len))
			fail_msg("chunk %zu is not valid UTF-8", i);
		assert_false(is_space(k->text[0]));
		assert_false(is_space(k->text[k->len - 1]));
		assert_true(k->page >= 1);
		assert_true(k->last_page >= k->page);
		if (i > 0)
			assert_true(k->page >= c->items[i - 1].page);
	}
}

static void test_arguments(void **state)
{
	static const char *const p[] = { "some text" };
	struct ingest_result r = make_result(p, 1);
	struct ingest_chunks c;

	assert_int_equal(ingest_chunk(&r, 100, 10, NULL), INGEST_ERR_ARG);
	assert_int_equal(ingest_chunk(NULL, 100, 10, &c), INGEST_ERR_ARG);
	assert_int_equal(ingest_chunk(&r, INGEST_CHUNK_MIN_TARGET - 1, 0, &c),
			 INGEST_ERR_ARG);
	assert_int_equal(ingest_chunk(&r, 100, 51, &c), INGEST_ERR_ARG);
	assert_int_equal(c.count, 0);
	assert_null(c.items);
	assert_int_equal(ingest_chunk(&r, 100, 50, &c), 0);
	ingest_chunks_free(&c);
	ingest_chunks_free(&c);
	ingest_chunks_free(NULL);
	ingest_result_free(&r);
}

static void test_empty(void **state)
{
	static const char *const blank[] = { "", " \n\n\t ", "" };
	struct ingest_result none = { .type = INGEST_TYPE_TXT };
	struct ingest_result r = make_result(blank, 3);
	struct ingest_chunks c;

	assert_int_equal(ingest_chunk(&none, 100, 0, &c), 0);
	assert_int_equal(c.count, 0);
	assert_int_equal(ingest_chunk(&r, 100, 0, &c), 0);
	assert_int_equal(c.count, 0);
	ingest_chunks_free(&c);
	ingest_result_free(&r);
}

static void test_small_text(void **state)
{
	static const char *const p[] = { "\n  Short text, one chunk.  \n" };
	struct ingest_result r = make_result(p, 1);
	struct ingest_chunks c;

	assert_int_equal(ingest_chunk(&r, 100, 20, &c), 0);
	assert_int_equal(c.count, 1);
	assert_string_equal(c.items[0].text, "Short text, one chunk.");
	assert_int_equal(c.items[0].page, 1);
	assert_int_equal(c.items[0].last_page, 1);
	assert_int_equal(c.items[0].ordinal, 0);
	ingest_chunks_free(&c);
	ingest_result_free(&r);
}

static void test_sentences(void **state)
{
	char text[2000] = "";
	const char *p[1] = { text };
	struct ingest_result r;
	struct ingest_chunks c;

	for (int i = 0; i < 40; i++) {
		char s[64];

		snprintf(s, sizeof s, "Sentence %02d ends here%s ", i,
			 i % 3 == 0 ? "!" : i % 3 == 1 ? "?" : ".");
		strcat(text, s);
	}
	r = make_result(p, 1);
	assert_int_equal(ingest_chunk(&r, 100, 0, &c), 0);
	assert_chunk_invariants(&c, 100);
	assert_true(c.count > 5);
	for (size_t i = 0; i < c.count; i++) {
		const struct ingest_text_chunk *k = &c.items[i];

		/* Whole sentences only. */
		assert_memory_equal(k->text, "Sentence ", 9);
		assert_non_null(strchr(".!?", k->text[k->len - 1]));
	}
	ingest_chunks_free(&c);
	ingest_result_free(&r);
}

static void test_paragraphs_first(void **state)
{
	/* Sentence ends everywhere, but blank lines are preferred. */
	static const char *const p[] = {
		"One. Two. Three. Four. Five. Six. Seven.\n\n"
		"Eight. Nine. Ten. Eleven. Twelve.\n \n"
		"Thirteen. Fourteen. Fifteen. Sixteen. Seventeen.",
	};
	struct ingest_result r = make_result(p, 1);
	struct ingest_chunks c;

	assert_int_equal(ingest_chunk(&r, 60, 0, &c), 0);
	assert_chunk_invariants(&c, 60);
	assert_int_equal(c.count, 3);
	assert_string_equal(c.items[0].text,
			    "One. Two. Three. Four. Five. Six. Seven.");
	assert_string_equal(c.items[1].text,
			    "Eight. Nine. Ten. Eleven. Twelve.");
	assert_string_equal(c.items[2].text,
			    "Thirteen. Fourteen. Fifteen. Sixteen. Seventeen.");
	ingest_chunks_free(&c);
	ingest_result_free(&r);
}

static void test_words(void **state)
{
	/* No punctuation, no newlines: cut between words, none is lost. */
	static const char *const vocab[] = {
		"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta",
		"theta", "iota", "kappa", "lambda", "mu",
	};
	char text[4000] = "", joined[4000] = "";
	const char *p[1] = { text };
	struct ingest_result r;
	struct ingest_chunks c;

	for (int i = 0; i < 300; i++) {
		strcat(text, vocab[(i * 7) % 12]);
		strcat(text, i % 17 == 16 ? "  " : " ");
	}
	r = make_result(p, 1);
	assert_int_equal(ingest_chunk(&r, 64, 0, &c), 0);
	assert_chunk_invariants(&c, 64);
	for (size_t i = 0; i < c.count; i++) {
		char *copy = strdup(c.items[i].text), *save = NULL;

		for (char *w = strtok_r(copy, " ", &save); w != NULL;
		     w = strtok_r(NULL, " ", &save)) {
			bool known = false;

			for (size_t v = 0; v < 12; v++)
				known |= strcmp(w, vocab[v]) == 0;
			if (!known)
				fail_msg("chunk %zu holds a cut word \"%s\"", i, w);
			strcat(joined, w);
			strcat(joined, " ");
		}
		free(copy);
	}
	/* Without overlap the chunks, in order, are the whole text. */
	{
		char norm[4000] = "", *copy = strdup(text), *save = NULL;

		for (char *w = strtok_r(copy, " ", &save); w != NULL;
		     w = strtok_r(NULL, " ", &save)) {
			strcat(norm, w);
			strcat(norm, " ");
		}
		free(copy);
		assert_string_equal(joined, norm);
	}
	ingest_chunks_free(&c);
	ingest_result_free(&r);
}

static void test_utf8_never_split(void **state)
{
	/* 2-, 3- and 4-byte characters and no whitespace at all. */
	char text[3000] = "";
	const char *p[1] = { text };
	struct ingest_result r;

	for (int i = 0; i < 150; i++)
		strcat(text, i % 3 == 0 ? "\xC3\xA9" :
			     i % 3 == 1 ? "\xE6\x97\xA5\xE6\x9C\xAC" :
					  "\xF0\x9F\x98\x80" "a");
	r = make_result(p, 1);
	for (size_t target = INGEST_CHUNK_MIN_TARGET; target < 60; target++) {
		struct ingest_chunks c;
		char *joined = calloc(1, sizeof text);
		size_t at = 0;

		assert_int_equal(ingest_chunk(&r, target, target / 2, &c), 0);
		assert_chunk_invariants(&c, target);
		/* A hard cut loses nothing (and no word starts: no overlap). */
		for (size_t i = 0; i < c.count; i++) {
			if (i + 1 < c.count)
				assert_true(c.items[i].len + 3 >= target);
			memcpy(joined + at, c.items[i].text, c.items[i].len);
			at += c.items[i].len;
		}
		assert_string_equal(joined, text);
		free(joined);
		ingest_chunks_free(&c);
	}
	ingest_result_free(&r);
}

static void test_cjk_sentences(void **state)
{
	/* Ideographic full stops end sentences without a following space. */
	char text[1000] = "";
	const char *p[1] = { text };
	struct ingest_result r;
	struct ingest_chunks c;

	for (int i = 0; i < 20; i++)
		strcat(text, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"
			     "\xE3\x81\xA7\xE3\x81\x99\xE3\x80\x82");
	r = make_result(p, 1);
	assert_int_equal(ingest_chunk(&r, 50, 0, &c), 0);
	assert_chunk_invariants(&c, 50);
	for (size_t i = 0; i < c.count; i++) {
		assert_int_equal(c.items[i].len % 18, 0);
		assert_memory_equal(c.items[i].text + c.items[i].len - 3,
				    "\xE3\x80\x82", 3);
	}
	ingest_chunks_free(&c);
	ingest_result_free(&r);
}

static void test_pages(void **state)
{
	static const char *const p[] = {
		"Apple apple apple apple apple apple apple apple.",
		"",
		"Banana banana banana banana banana banana banana banana.",
		"Cherry cherry cherry cherry cherry.",
	};
	struct ingest_result r = make_result(p, 4);
	struct ingest_chunks c;

	/* One page per chunk when pages fit: page breaks are paragraphs. */
	assert_int_equal(ingest_chunk(&r, 60, 0, &c), 0);
	assert_chunk_invariants(&c, 60);
	assert_int_equal(c.count, 3);
	assert_int_equal(c.items[0].page, 1);
	assert_int_equal(c.items[1].page, 3);
	assert_int_equal(c.items[2].page, 4);
	assert_memory_equal(c.items[1].text, "Banana", 6);
	ingest_chunks_free(&c);

	/* Small chunks: each chunk's page is where its first word is. */
	assert_int_equal(ingest_chunk(&r, 20, 8, &c), 0);
	assert_chunk_invariants(&c, 20);
	for (size_t i = 0; i < c.count; i++) {
		const struct ingest_text_chunk *k = &c.items[i];
		char first = (char)(k->text[0] | 0x20);
		char last = (char)(k->text[k->len - 1] | 0x20);

		if (first == 'a')
			assert_int_equal(k->page, 1);
		else if (first == 'b')
			assert_int_equal(k->page, 3);
		else
			assert_int_equal(k->page, 4);
		(void)last;
	}
	ingest_chunks_free(&c);

	/* A chunk that runs across a page break. */
	assert_int_equal(ingest_chunk(&r, 2000, 0, &c), 0);
	assert_int_equal(c.count, 1);
	assert_int_equal(c.items[0].page, 1);
	assert_int_equal(c.items[0].last_page, 4);
	assert_non_null(strstr(c.items[0].text, "apple.\n\n\n\nBanana"));
	ingest_chunks_free(&c);
	ingest_result_free(&r);
}

/* Length of the longest suffix of a that is a prefix of b. */
static size_t overlap_len(const struct ingest_text_chunk *a,
			  const struct ingest_text_chunk *b)
{
	for (size_t n = a->len < b->len ? a->len : b->len; n > 0; n--) {
		if (memcmp(a->text + a->len - n, b->text, n) == 0)
			return n;
	}
	return 0;
}

static void test_overlap(void **state)
{
	char text[5000] = "";
	const char *p[1] = { text };
	struct ingest_result r;
	struct ingest_chunks c, plain;

	for (int i = 0; i < 200; i++) {
		char w[32];

		snprintf(w, sizeof w, "word%03d ", i);
		strcat(text, w);
	}
	r = make_result(p, 1);
	assert_int_equal(ingest_chunk(&r, 100, 30, &c), 0);
	assert_chunk_invariants(&c, 100);
	assert_int_equal(ingest_chunk(&r, 100, 0, &plain), 0);
	assert_true(c.count > plain.count);
	for (size_t i = 1; i < c.count; i++) {
		size_t n = overlap_len(&c.items[i - 1], &c.items[i]);

		/* Whole words repeated: "word123 word124", at most 30 bytes. */
		assert_true(n > 0);
		assert_true(n <= 30);
		assert_memory_equal(c.items[i].text, "word", 4);
		assert_true(c.items[i].text[n] == ' ');
	}
	ingest_chunks_free(&c);
	ingest_chunks_free(&plain);
	ingest_result_free(&r);
}

/* Deterministic pseudo-random document: words, sentences, lines, UTF-8. */
static struct ingest_result random_doc(uint32_t seed, size_t pages)
{
	static const char *const pieces[] = {
		"the", "raft", "log", "leader", "term", "vote", "commit",
		"caf\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F\x98\x80",
		"na\xC3\xAFve", "supercalifragilisticexpialidocious",
		"\xE3\x80\x82", ".", "!", "?",
	};
	struct ingest_result r = { .type = INGEST_TYPE_PDF, .page_count = pages };

	r.pages = calloc(pages, sizeof *r.pages);
	assert_non_null(r.pages);
	for (size_t pg = 0; pg < pages; pg++) {
		char *t = calloc(1, 8192);
		size_t n = 0;

		assert_non_null(t);
		while (n < 7000) {
			const char *w;

			seed = seed * 1103515245u + 12345u;
			w = pieces[(seed >> 16) % 16];
			memcpy(t + n, w, strlen(w));
			n += strlen(w);
			seed = seed * 1103515245u + 12345u;
			switch ((seed >> 16) % 10) {
			case 0:
				t[n++] = '\n';
				break;
			case 1:
				t[n++] = '\n';
				t[n++] = '\n';
				break;
			case 2:
				break; /* words glued together */
			default:
				t[n++] = ' ';
				break;
			}
		}
		r.pages[pg].text = t;
		r.pages[pg].len = n;
		r.text_bytes += n;
	}
	return r;
}

static void test_properties(void **state)
{
	struct ingest_result r = random_doc(42, 5);
	size_t total = r.text_bytes;

	for (size_t target = 16; target < 3000; target = target * 3 / 2 + 7) {
		for (size_t ov = 0; ov <= target / 2; ov += target / 4 + 1) {
			struct ingest_chunks a, b;

			assert_int_equal(ingest_chunk(&r, target, ov, &a), 0);
			assert_chunk_invariants(&a, target);
			/* Progress: the output is at most about twice the input. */
			{
				size_t sum = 0;

				for (size_t i = 0; i < a.count; i++)
					sum += a.items[i].len;
				assert_true(sum <= 2 * total + 2 * target + 16);
			}
			/* Deterministic: a second run gives the same chunks. */
			assert_int_equal(ingest_chunk(&r, target, ov, &b), 0);
			assert_int_equal(a.count, b.count);
			for (size_t i = 0; i < a.count; i++) {
				assert_int_equal(a.items[i].len, b.items[i].len);
				assert_memory_equal(a.items[i].text,
						    b.items[i].text,
						    a.items[i].len);
				assert_int_equal(a.items[i].page, b.items[i].page);
				assert_int_equal(a.items[i].last_page,
						 b.items[i].last_page);
			}
			/* Each chunk lies on the pages it claims. */
			for (size_t i = 0; i < a.count; i++) {
				const struct ingest_text_chunk *k = &a.items[i];
				const struct ingest_page *first =
					&r.pages[k->page - 1];
				size_t n = k->len;
				char *nl = memchr(k->text, '\n', n);

				if (k->page == k->last_page) {
					assert_non_null(strstr(first->text,
							       k->text));
				} else if (nl != NULL) {
					/* Its first line is on its first page. */
					char *line = strndup(k->text,
							     (size_t)(nl - k->text));

					assert_non_null(strstr(first->text, line));
					free(line);
				}
			}
			ingest_chunks_free(&a);
			ingest_chunks_free(&b);
		}
	}
	ingest_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_small_text),
		cmocka_unit_test(test_sentences),
		cmocka_unit_test(test_paragraphs_first),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_utf8_never_split),
		cmocka_unit_test(test_cjk_sentences),
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_properties),
	};

	return cmocka_run_group_tests_name("ingest_chunk", tests, NULL, NULL);
}

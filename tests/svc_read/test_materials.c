/*
 * test_materials.c -- material_list / material_get and material_search:
 * who may read, paging, and retrieval quality on six materials of
 * distinct topics (the right chunk in the top 3 for six questions, with
 * its material's title, page and topic), the limit and character budget,
 * and course isolation.
 */
#include <stdlib.h>
#include <string.h>

#include "readtest.h"

#define OK_MLIST LMS__RPC__RESPONSE__RESULT_MATERIAL_LIST
#define OK_MGET LMS__RPC__RESPONSE__RESULT_MATERIAL_GET
#define OK_SEARCH LMS__RPC__RESPONSE__RESULT_MATERIAL_SEARCH

static Lms__Rpc__MaterialListResponse *mlist(struct rt *t, const char *who,
                                             const char *course,
                                             unsigned limit,
                                             const char *after)
{
	Lms__Rpc__Page page = LMS__RPC__PAGE__INIT;
	page.limit = limit;
	page.after = (char *)after;
	Lms__Rpc__MaterialListRequest q = LMS__RPC__MATERIAL_LIST_REQUEST__INIT;
	q.course = (char *)course;
	q.page = &page;
	return RT_OK(t, who, read_material_list, &q, OK_MLIST)->material_list;
}

static void test_material_list(void **state)
{
	struct rt *t = *state;
	Lms__Rpc__MaterialListResponse *l = mlist(t, "alice", "A101", 2, "");
	assert_int_equal(l->n_materials, 2);
	assert_string_equal(l->next, "302");
	Lms__Rpc__Material *m = l->materials[0];
	assert_int_equal(m->id, 301);
	assert_string_equal(m->course, "A101");
	assert_string_equal(m->title, "Sorting algorithms");
	assert_string_equal(m->topic, "sorting");
	assert_string_equal(m->kind, "pdf");
	assert_int_equal(m->pages, 3);
	assert_int_equal(m->chunks, 3);
	assert_string_equal(m->uploaded_by, "ins1");
	assert_string_equal(m->uploaded_at, "2026-01-03T09:00:00Z");
	assert_string_equal(m->file->name, "sorting.pdf");
	assert_int_equal(m->file->data.len, 0);
	assert_int_equal(l->materials[1]->id, 302);
	assert_int_equal(l->materials[1]->chunks, 2);

	l = mlist(t, "alice", "A101", 2, "302");
	assert_int_equal(l->n_materials, 2);
	assert_int_equal(l->materials[0]->id, 303);
	assert_int_equal(l->materials[1]->id, 304);
	assert_string_equal(l->next, "304");
	l = mlist(t, "alice", "A101", 2, "304");
	assert_int_equal(l->n_materials, 2);
	assert_int_equal(l->materials[0]->id, 305);
	assert_int_equal(l->materials[1]->id, 306);
	assert_string_equal(l->materials[1]->warning, "page 2 had no text");
	assert_string_equal(l->next, "");

	const char *others[] = {"ins1", "ta1", "admin", "carol"};
	for (int i = 0; i < 4; i++) {
		l = mlist(t, others[i], "A101", 0, "");
		assert_int_equal(l->n_materials, 6);
		assert_string_equal(l->next, "");
	}
	l = mlist(t, "dave", "B202", 0, "");
	assert_int_equal(l->n_materials, 1);
	assert_int_equal(l->materials[0]->id, 401);

	Lms__Rpc__MaterialListRequest q = LMS__RPC__MATERIAL_LIST_REQUEST__INIT;
	q.course = "A101";
	RT_REFUSED(t, "dave", read_material_list, &q, DENIED, NULL);
	RT_REFUSED(t, "ins2", read_material_list, &q, DENIED, NULL);
	RT_REFUSED(t, "tutor", read_material_list, &q, DENIED, NULL);
	q.course = "nope";
	RT_REFUSED(t, "alice", read_material_list, &q, NOTFOUND, "nope");
}

static Lms__Rpc__Material *mget(struct rt *t, const char *who, uint64_t id,
                                bool with_file)
{
	Lms__Rpc__MaterialGetRequest q = LMS__RPC__MATERIAL_GET_REQUEST__INIT;
	q.id = id;
	q.with_file = with_file;
	return RT_OK(t, who, read_material_get, &q, OK_MGET)
		->material_get->material;
}

static void test_material_get(void **state)
{
	struct rt *t = *state;
	Lms__Rpc__Material *m = mget(t, "bob", 301, true);
	assert_string_equal(m->file->media_type, "application/pdf");
	assert_int_equal(m->file->size, 16);
	assert_int_equal(m->file->data.len, 16);
	assert_memory_equal(m->file->data.data, "%PDF-1.4 sorting", 16);
	m = mget(t, "bob", 301, false);
	assert_int_equal(m->file->data.len, 0);
	m = mget(t, "admin", 401, true);
	assert_memory_equal(m->file->data.data, "cells", 5);
	m = mget(t, "alice", 401, false);
	assert_string_equal(m->uploaded_by, "ins2");
	m = mget(t, "ta1", 306, false);
	assert_int_equal(m->chunks, 1);

	Lms__Rpc__MaterialGetRequest q = LMS__RPC__MATERIAL_GET_REQUEST__INIT;
	q.id = 301;
	RT_REFUSED(t, "dave", read_material_get, &q, NOTFOUND, "no material 301");
	RT_REFUSED(t, "ins2", read_material_get, &q, NOTFOUND, NULL);
	RT_REFUSED(t, "tutor", read_material_get, &q, NOTFOUND, NULL);
	q.id = 401;
	RT_REFUSED(t, "bob", read_material_get, &q, NOTFOUND, "no material 401");
	q.id = 4242;
	RT_REFUSED(t, "admin", read_material_get, &q, NOTFOUND,
	           "no material 4242");
}

/* ------------------------------------------------------------ search */

static Lms__Rpc__MaterialSearchResponse *search(struct rt *t, const char *who,
                                                const char *course,
                                                const char *text,
                                                unsigned limit,
                                                unsigned max_chars)
{
	Lms__Rpc__MaterialSearchRequest q =
		LMS__RPC__MATERIAL_SEARCH_REQUEST__INIT;
	q.course = (char *)course;
	q.query = (char *)text;
	q.limit = limit;
	q.max_chars = max_chars;
	return RT_OK(t, who, read_material_search, &q, OK_SEARCH)
		->material_search;
}

/* Position (0-based) of chunk (mid, no) in the answer, or -1. */
static int position(const Lms__Rpc__MaterialSearchResponse *r, uint64_t mid,
                    uint32_t no)
{
	for (size_t i = 0; i < r->n_chunks; i++)
		if (r->chunks[i]->material_id == mid && r->chunks[i]->chunk == no)
			return (int)i;
	return -1;
}

static void test_retrieval(void **state)
{
	struct rt *t = *state;
	static const struct {
		const char *question;
		uint64_t material;
		uint32_t chunk;
		const char *topic; /* the material's */
	} cases[] = {
		{"How does quicksort choose a pivot?", 301, 1, "sorting"},
		{"How are collisions handled in a hash table?", 304, 0,
		 "hashing"},
		{"Which algorithm works with negative edge weights?", 305, 1,
		 "graphs"},
		{"What finds shortest paths in an unweighted graph?", 302, 0,
		 "graphs"},
		{"How do I fill the knapsack table?", 303, 1, "dp"},
		{"Why do red-black trees have a logarithmic height?", 306, 0,
		 "trees"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		Lms__Rpc__MaterialSearchResponse *r =
			search(t, "tutor", "A101", cases[i].question, 3, 0);
		int pos = position(r, cases[i].material, cases[i].chunk);
		if (pos < 0)
			fail_msg("\"%s\": chunk %llu/%u not in the top 3",
			         cases[i].question,
			         (unsigned long long)cases[i].material,
			         cases[i].chunk);
		assert_true(r->n_chunks <= 3);
		/* the chunk comes whole, with its material's topic */
		const Lms__Rpc__MaterialChunk *c = r->chunks[pos];
		assert_string_equal(c->text,
		                    rt_chunk_body((int64_t)cases[i].material,
		                                  (int)cases[i].chunk));
		assert_string_equal(c->topic, cases[i].topic);
		assert_true(c->rank > 0.0);
		/* stronger than required, and true of these six: first */
		assert_int_equal(pos, 0);
	}

	/* titles, pages and topics as stored */
	Lms__Rpc__MaterialSearchResponse *r =
		search(t, "alice", "A101", "Bellman-Ford negative cycles", 0, 0);
	assert_true(r->n_chunks >= 1);
	assert_int_equal(r->chunks[0]->material_id, 305);
	assert_int_equal(r->chunks[0]->chunk, 1);
	assert_int_equal(r->chunks[0]->page, 2);
	assert_string_equal(r->chunks[0]->title, "Shortest paths");
	assert_string_equal(r->chunks[0]->topic, "graphs");
	/* every chunk of a wide answer carries its own material's topic */
	static const char *const topic_of[] = {"sorting", "graphs", "dp",
	                                       "hashing", "graphs", "trees"};
	r = search(t, "tutor", "A101",
	           "array graph table keys edge problems tree", 20, 100000);
	assert_true(r->n_chunks >= 6);
	bool seen[6] = {false};
	for (size_t i = 0; i < r->n_chunks; i++) {
		const Lms__Rpc__MaterialChunk *c = r->chunks[i];
		assert_true(c->material_id >= 301 && c->material_id <= 306);
		assert_string_equal(c->topic, topic_of[c->material_id - 301]);
		seen[c->material_id - 301] = true;
	}
	for (int i = 0; i < 6; i++)
		assert_true(seen[i]); /* every material of A answered */

	/* a strict (every word) match ranks above partial ones */
	r = search(t, "alice", "A101", "\"merge sort\"", 0, 0);
	assert_int_equal(r->n_chunks, 1);
	assert_int_equal(r->chunks[0]->material_id, 301);
	assert_int_equal(r->chunks[0]->chunk, 0);
	r = search(t, "alice", "A101", "array pivot", 0, 0);
	assert_true(r->n_chunks >= 3); /* 301/0 and 301/2 mention arrays */
	assert_int_equal(r->chunks[0]->material_id, 301);
	assert_int_equal(r->chunks[0]->chunk, 1);
	/* a negated word is not searched for */
	r = search(t, "alice", "A101", "heap -array", 0, 0);
	assert_int_equal(r->n_chunks, 1);
	assert_int_equal(r->chunks[0]->chunk, 2);
}

static void test_search_limits(void **state)
{
	struct rt *t = *state;
	/* 25 matching chunks in C303: 0 -> 5, at most 20 */
	Lms__Rpc__MaterialSearchResponse *r =
		search(t, "admin", "C303", "electrons nucleus", 0, 0);
	assert_int_equal(r->n_chunks, 5);
	/* equal ranks: material and chunk order */
	for (size_t i = 0; i < r->n_chunks; i++)
		assert_int_equal(r->chunks[i]->chunk, i);
	r = search(t, "admin", "C303", "electrons nucleus", 50, 100000);
	assert_int_equal(r->n_chunks, 20);
	r = search(t, "admin", "C303", "electrons nucleus", 7, 100000);
	assert_int_equal(r->n_chunks, 7);
	/* the default budget (6000) is more than 20 of these */
	r = search(t, "admin", "C303", "electrons nucleus", 20, 0);
	assert_int_equal(r->n_chunks, 20);

	/* the character budget: the three chunks of 301 say "array" */
	const char *c1 = rt_chunk_body(301, 1);
	r = search(t, "ins1", "A101", "array", 0, 0);
	assert_int_equal(r->n_chunks, 3);
	size_t len0 = strlen(r->chunks[0]->text);
	size_t len1 = strlen(r->chunks[1]->text);
	/* exactly two fit */
	r = search(t, "ins1", "A101", "array", 0, (unsigned)(len0 + len1));
	assert_int_equal(r->n_chunks, 2);
	/* one character less: the second no longer fits, and the third is not
	 * taken in its place */
	r = search(t, "ins1", "A101", "array", 0, (unsigned)(len0 + len1 - 1));
	assert_int_equal(r->n_chunks, 1);
	/* the best chunk alone over the budget: cut to it */
	r = search(t, "ins1", "A101", "quicksort", 0, 9);
	assert_int_equal(r->n_chunks, 1);
	assert_string_equal(r->chunks[0]->text, "Quicksort");
	r = search(t, "ins1", "A101", "quicksort", 0, 0);
	assert_string_equal(r->chunks[0]->text, c1);

	/* nothing to search for: an empty answer, not an error */
	const char *nothing[] = {"", "   ", "the of and", "?!", "or", "-"};
	for (int i = 0; i < 6; i++) {
		r = search(t, "alice", "A101", nothing[i], 0, 0);
		assert_int_equal(r->n_chunks, 0);
	}
	r = search(t, "alice", "A101", "photosynthesis", 0, 0);
	assert_int_equal(r->n_chunks, 0);

	/* invalid UTF-8 is refused, not sent to the database */
	Lms__Rpc__MaterialSearchRequest q =
		LMS__RPC__MATERIAL_SEARCH_REQUEST__INIT;
	q.course = "A101";
	q.query = "sort \xff\xfe";
	RT_REFUSED(t, "alice", read_material_search, &q, INVALID, "UTF-8");
	/* longer than max_text_bytes */
	t->limits.max_text_bytes = 8;
	q.query = "quicksort pivot";
	RT_REFUSED(t, "alice", read_material_search, &q, INVALID, "too long");
	t->limits.max_text_bytes = 65536;
}

static void test_search_access(void **state)
{
	struct rt *t = *state;
	/* only the course's own materials: B mentions "sorting" too */
	Lms__Rpc__MaterialSearchResponse *r =
		search(t, "alice", "A101", "sorting", 20, 0);
	assert_true(r->n_chunks >= 1);
	for (size_t i = 0; i < r->n_chunks; i++)
		assert_true(r->chunks[i]->material_id >= 301 &&
		            r->chunks[i]->material_id <= 306);
	r = search(t, "dave", "B202", "sorting", 20, 0);
	assert_int_equal(r->n_chunks, 1);
	assert_int_equal(r->chunks[0]->material_id, 401);
	assert_int_equal(r->chunks[0]->chunk, 1);
	assert_string_equal(r->chunks[0]->title, "Cell biology");
	assert_string_equal(r->chunks[0]->topic, "cells");

	/* members of every kind, admins, and the tutor account anywhere */
	const char *may[] = {"alice", "bob", "ins1", "ta1", "admin", "tutor"};
	for (int i = 0; i < 6; i++) {
		r = search(t, may[i], "A101", "hash table", 0, 0);
		assert_true(r->n_chunks >= 1);
		assert_int_equal(r->chunks[0]->material_id, 304);
	}
	r = search(t, "tutor", "B202", "mitochondria", 0, 0);
	assert_int_equal(r->n_chunks, 1);
	assert_string_equal(r->chunks[0]->topic, "cells");

	Lms__Rpc__MaterialSearchRequest q =
		LMS__RPC__MATERIAL_SEARCH_REQUEST__INIT;
	q.course = "A101";
	q.query = "hash table";
	RT_REFUSED(t, "dave", read_material_search, &q, DENIED, NULL);
	RT_REFUSED(t, "ins2", read_material_search, &q, DENIED, NULL);
	q.course = "Z999";
	RT_REFUSED(t, "tutor", read_material_search, &q, NOTFOUND, "Z999");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_material_list),
		cmocka_unit_test(test_material_get),
		cmocka_unit_test(test_retrieval),
		cmocka_unit_test(test_search_limits),
		cmocka_unit_test(test_search_access),
	};
	return cmocka_run_group_tests(tests, rt_setup, rt_teardown);
}

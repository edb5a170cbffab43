/*
 * test_queries.c -- query_list and query_get: students see their own
 * questions, staff and admins those of their courses, the tutor account
 * those addressed to the tutor; filters and paging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "readtest.h"

#define OK_QLIST LMS__RPC__RESPONSE__RESULT_QUERY_LIST
#define OK_QGET LMS__RPC__RESPONSE__RESULT_QUERY_GET

#define TUTOR_ LMS__RPC__QUERY_TARGET__TO_TUTOR
#define INSTR_ LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR
#define ANY_ LMS__RPC__QUERY_TARGET__TO_UNSPECIFIED

static Lms__Rpc__QueryListResponse *qlist(struct rt *t, const char *who,
                                          const char *course, bool open_only,
                                          Lms__Rpc__QueryTarget to,
                                          unsigned limit, const char *after)
{
	Lms__Rpc__Page page = LMS__RPC__PAGE__INIT;
	page.limit = limit;
	page.after = (char *)after;
	Lms__Rpc__QueryListRequest q = LMS__RPC__QUERY_LIST_REQUEST__INIT;
	q.course = (char *)course;
	q.open_only = open_only;
	q.to = to;
	q.page = &page;
	return RT_OK(t, who, read_query_list, &q, OK_QLIST)->query_list;
}

/* The ids of l are exactly ids[0..n), next as given. */
static void expect_ids(Lms__Rpc__QueryListResponse *l, const char *next,
                       size_t n, const uint64_t *ids)
{
	if (l->n_queries != n) {
		char got[256] = "";
		for (size_t i = 0; i < l->n_queries; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got),
			         " %llu", (unsigned long long)l->queries[i]->id);
		fail_msg("expected %zu questions, got%s", n, got);
	}
	for (size_t i = 0; i < n; i++)
		assert_int_equal(l->queries[i]->id, ids[i]);
	assert_string_equal(l->next, next);
}

#define IDS(...) (sizeof((uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t)), \
	(uint64_t[]){__VA_ARGS__}

static void test_query_list_students(void **state)
{
	struct rt *t = *state;
	Lms__Rpc__QueryListResponse *l = qlist(t, "alice", "", false, ANY_, 0, "");
	expect_ids(l, "", IDS(601, 602));
	Lms__Rpc__Query *q = l->queries[0];
	assert_string_equal(q->course, "A101");
	assert_string_equal(q->student, "alice");
	assert_int_equal(q->to, INSTR_);
	assert_int_equal(q->status, LMS__RPC__QUERY_STATUS__QUERY_OPEN);
	assert_string_equal(q->body, "When is the final project due?");
	assert_string_equal(q->asked_at, "2026-03-10T10:00:00Z");
	assert_int_equal(q->n_answers, 0);
	q = l->queries[1];
	assert_int_equal(q->to, TUTOR_);
	assert_int_equal(q->status, LMS__RPC__QUERY_STATUS__QUERY_ANSWERED);
	assert_int_equal(q->n_answers, 1);
	assert_string_equal(q->answers[0]->author, "tutor");
	assert_true(q->answers[0]->by_tutor);
	assert_int_equal(q->answers[0]->n_sources, 1);
	assert_string_equal(q->answers[0]->sources[0]->label, "S1");
	assert_int_equal(q->answers[0]->sources[0]->material_id, 301);
	assert_int_equal(q->answers[0]->sources[0]->chunk, 1);
	assert_int_equal(q->answers[0]->sources[0]->page, 2);

	expect_ids(qlist(t, "alice", "A101", false, ANY_, 0, ""), "",
	           IDS(601, 602));
	expect_ids(qlist(t, "alice", "", true, ANY_, 0, ""), "", IDS(601));
	expect_ids(qlist(t, "alice", "", false, TUTOR_, 0, ""), "", IDS(602));
	expect_ids(qlist(t, "alice", "", false, ANY_, 1, ""), "601", IDS(601));
	expect_ids(qlist(t, "alice", "", false, ANY_, 1, "601"), "", IDS(602));
	/* alice is a student of B too, but asked nothing there: she sees
	 * nothing of dave's */
	expect_ids(qlist(t, "alice", "B202", false, ANY_, 0, ""), "", 0, NULL);

	l = qlist(t, "bob", "", false, ANY_, 0, "");
	expect_ids(l, "", IDS(603, 604));
	assert_int_equal(l->queries[0]->status,
	                 LMS__RPC__QUERY_STATUS__QUERY_CLAIMED);
	assert_string_equal(l->queries[0]->claimed_by, "tutord-1");
	assert_string_equal(l->queries[0]->claim_expires_at,
	                    "2026-03-15T12:05:00Z");
	assert_string_equal(l->queries[1]->answers[0]->author, "ins1");
	assert_false(l->queries[1]->answers[0]->by_tutor);
	expect_ids(qlist(t, "carol", "", false, ANY_, 0, ""), "", IDS(605));
	expect_ids(qlist(t, "dave", "", false, ANY_, 0, ""), "", IDS(606, 607));
}

static void test_query_list_staff(void **state)
{
	struct rt *t = *state;
	expect_ids(qlist(t, "ins1", "", false, ANY_, 0, ""), "",
	           IDS(601, 602, 603, 604, 605));
	expect_ids(qlist(t, "ta1", "A101", false, ANY_, 0, ""), "",
	           IDS(601, 602, 603, 604, 605));
	expect_ids(qlist(t, "ins1", "", true, ANY_, 0, ""), "",
	           IDS(601, 603, 605));
	expect_ids(qlist(t, "ins1", "", false, TUTOR_, 0, ""), "",
	           IDS(602, 603, 605));
	expect_ids(qlist(t, "ins1", "", true, TUTOR_, 0, ""), "",
	           IDS(603, 605));
	expect_ids(qlist(t, "ins1", "", false, INSTR_, 0, ""), "",
	           IDS(601, 604));
	expect_ids(qlist(t, "ins2", "", false, ANY_, 0, ""), "", IDS(606, 607));

	/* an admin: everything; three pages of two in one course */
	expect_ids(qlist(t, "admin", "", false, ANY_, 0, ""), "",
	           IDS(601, 602, 603, 604, 605, 606, 607));
	expect_ids(qlist(t, "admin", "A101", false, ANY_, 2, ""), "602",
	           IDS(601, 602));
	expect_ids(qlist(t, "admin", "A101", false, ANY_, 2, "602"), "604",
	           IDS(603, 604));
	expect_ids(qlist(t, "admin", "A101", false, ANY_, 2, "604"), "",
	           IDS(605));
	expect_ids(qlist(t, "admin", "", false, ANY_, 3, "603"), "606",
	           IDS(604, 605, 606));
	/* the last page exactly full: no further (empty) page announced */
	expect_ids(qlist(t, "admin", "", false, ANY_, 3, "604"), "",
	           IDS(605, 606, 607));
	/* a cursor past the end */
	expect_ids(qlist(t, "admin", "", false, ANY_, 3, "607"), "", 0, NULL);

	/* the tutor account: what is addressed to the tutor, anywhere */
	expect_ids(qlist(t, "tutor", "", false, ANY_, 0, ""), "",
	           IDS(602, 603, 605, 606));
	expect_ids(qlist(t, "tutor", "", true, ANY_, 0, ""), "",
	           IDS(603, 605, 606));
	expect_ids(qlist(t, "tutor", "A101", false, ANY_, 0, ""), "",
	           IDS(602, 603, 605));
	expect_ids(qlist(t, "tutor", "", false, INSTR_, 0, ""), "", 0, NULL);

	Lms__Rpc__QueryListRequest q = LMS__RPC__QUERY_LIST_REQUEST__INIT;
	q.course = "A101";
	RT_REFUSED(t, "dave", read_query_list, &q, DENIED, NULL);
	RT_REFUSED(t, "ins2", read_query_list, &q, DENIED, NULL);
	q.course = "Z999";
	RT_REFUSED(t, "admin", read_query_list, &q, NOTFOUND, "Z999");
	q.course = "";
	Lms__Rpc__Page page = LMS__RPC__PAGE__INIT;
	page.after = "x";
	q.page = &page;
	RT_REFUSED(t, "admin", read_query_list, &q, INVALID, "cursor");
}

static Lms__Rpc__Query *qget(struct rt *t, const char *who, uint64_t id)
{
	Lms__Rpc__QueryGetRequest q = LMS__RPC__QUERY_GET_REQUEST__INIT;
	q.id = id;
	return RT_OK(t, who, read_query_get, &q, OK_QGET)->query_get->query;
}

static void test_query_get(void **state)
{
	struct rt *t = *state;
	Lms__Rpc__Query *q = qget(t, "alice", 602);
	assert_int_equal(q->n_answers, 1);
	assert_string_equal(q->answers[0]->body,
	                    "Quicksort picks a pivot element [S1].");
	assert_string_equal(q->answers[0]->answered_at, "2026-03-10T11:01:00Z");
	assert_string_equal(q->answers[0]->sources[0]->title,
	                    "Sorting algorithms");
	q = qget(t, "bob", 604);
	assert_string_equal(q->answers[0]->body, "No, sorry.");
	assert_int_equal(qget(t, "ins1", 605)->id, 605);
	assert_int_equal(qget(t, "ta1", 604)->id, 604);
	assert_int_equal(qget(t, "ins2", 606)->id, 606);
	assert_int_equal(qget(t, "admin", 607)->id, 607);
	assert_string_equal(qget(t, "tutor", 602)->student, "alice");
	assert_string_equal(qget(t, "tutor", 606)->course, "B202");

	static const struct {
		const char *who;
		uint64_t id;
	} hidden[] = {
		{"alice", 603}, {"alice", 606}, {"bob", 601}, {"carol", 602},
		{"dave", 601}, {"ins1", 606}, {"ta1", 607}, {"ins2", 601},
		{"tutor", 601}, {"tutor", 604}, {"tutor", 607}, {"admin", 9999},
	};
	for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
		Lms__Rpc__QueryGetRequest r = LMS__RPC__QUERY_GET_REQUEST__INIT;
		r.id = hidden[i].id;
		char msg[64];
		snprintf(msg, sizeof msg, "no question %llu",
		         (unsigned long long)hidden[i].id);
		RT_REFUSED(t, hidden[i].who, read_query_get, &r, NOTFOUND, msg);
	}
}

/* A database failure half way through a page (the answers of a question
 * cannot be read): -1, nothing half built on the Response (and, under the
 * sanitizer build, nothing leaked). */
static void test_database_failure(void **state)
{
	struct rt *t = *state;
	pgtest_exec(t->conn, "BEGIN; ALTER TABLE lms.answer RENAME TO gone");
	Lms__Rpc__QueryListRequest q = LMS__RPC__QUERY_LIST_REQUEST__INIT;
	rt_failed(t, read_query_list(rt_as(t, "admin"), &q));
	pgtest_exec(t->conn, "ROLLBACK");
	pgtest_exec(t->conn, "BEGIN; ALTER TABLE lms.query RENAME TO gone");
	Lms__Rpc__QueryGetRequest g = LMS__RPC__QUERY_GET_REQUEST__INIT;
	g.id = 601;
	rt_failed(t, read_query_get(rt_as(t, "alice"), &g));
	pgtest_exec(t->conn, "ROLLBACK");
	/* and all is well again */
	q.course = "A101";
	assert_int_equal(RT_OK(t, "admin", read_query_list, &q, OK_QLIST)
	                         ->query_list->n_queries, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_list_students),
		cmocka_unit_test(test_query_list_staff),
		cmocka_unit_test(test_query_get),
		cmocka_unit_test(test_database_failure),
	};
	return cmocka_run_group_tests(tests, rt_setup, rt_teardown);
}

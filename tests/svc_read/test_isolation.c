/*
 * test_isolation.c -- the visibility rules across every read at once: for
 * each student of the fixture, every read of every object (every
 * assignment, submission, material and question id in the tables), and
 * a check that nothing of another student comes back, and that a student
 * of B sees nothing of course A. The tables are the oracle: the owner and
 * course of each object are read straight from them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readtest.h"

static const char *const students[] = {"alice", "bob", "carol", "dave"};

/* Rows of sql as (id, text) pairs; n set. Caller frees with PQclear. */
static PGresult *rows(struct rt *t, const char *sql)
{
	PGresult *res = PQexec(t->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(t->conn));
	return res;
}

/* Is who enrolled in course code? */
static bool enrolled(struct rt *t, const char *who, const char *code)
{
	const char *v[] = {who, code};
	PGresult *res = PQexecParams(t->conn,
		"SELECT 1 FROM lms.enrollment e "
		"JOIN lms.app_user u ON u.id = e.user_id "
		"JOIN lms.course c ON c.id = e.course_id "
		"WHERE u.username = $1 AND c.code = $2", 2, NULL, v, NULL, NULL,
		0);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	bool yes = PQntuples(res) == 1;
	PQclear(res);
	return yes;
}

static void test_submissions_and_grades(void **state)
{
	struct rt *t = *state;
	PGresult *subs = rows(t,
		"SELECT s.id, u.username, c.code FROM lms.submission s "
		"JOIN lms.app_user u ON u.id = s.student_id "
		"JOIN lms.assignment a ON a.id = s.assignment_id "
		"JOIN lms.course c ON c.id = a.course_id ORDER BY s.id");
	PGresult *asg = rows(t,
		"SELECT a.id, c.code FROM lms.assignment a "
		"JOIN lms.course c ON c.id = a.course_id ORDER BY a.id");
	for (int i = 0; i < 4; i++) {
		const char *me = students[i];
		/* submission_get: only one's own, everything else NOT_FOUND */
		for (int r = 0; r < PQntuples(subs); r++) {
			Lms__Rpc__SubmissionGetRequest q =
				LMS__RPC__SUBMISSION_GET_REQUEST__INIT;
			q.id = strtoull(PQgetvalue(subs, r, 0), NULL, 10);
			q.with_file = true;
			if (strcmp(PQgetvalue(subs, r, 1), me) == 0) {
				Lms__Rpc__Response *resp = RT_OK(t, me,
					read_submission_get, &q,
					LMS__RPC__RESPONSE__RESULT_SUBMISSION_GET);
				assert_string_equal(
					resp->submission_get->submission->student,
					me);
			} else {
				RT_REFUSED(t, me, read_submission_get, &q,
				           NOTFOUND, "no submission");
			}
		}
		/* submission_list of every assignment: own only, or refused
		 * when not a member of its course */
		for (int r = 0; r < PQntuples(asg); r++) {
			Lms__Rpc__SubmissionListRequest q =
				LMS__RPC__SUBMISSION_LIST_REQUEST__INIT;
			q.assignment_id = strtoull(PQgetvalue(asg, r, 0), NULL, 10);
			if (!enrolled(t, me, PQgetvalue(asg, r, 1))) {
				RT_REFUSED(t, me, read_submission_list, &q,
				           NOTFOUND, "no assignment");
				continue;
			}
			Lms__Rpc__SubmissionListResponse *l = RT_OK(t, me,
				read_submission_list, &q,
				LMS__RPC__RESPONSE__RESULT_SUBMISSION_LIST)
				->submission_list;
			for (size_t k = 0; k < l->n_submissions; k++)
				assert_string_equal(l->submissions[k]->student, me);
		}
		/* grades of every course: own only */
		Lms__Rpc__GradesRequest g = LMS__RPC__GRADES_REQUEST__INIT;
		Lms__Rpc__GradesResponse *gr = RT_OK(t, me, read_grades, &g,
			LMS__RPC__RESPONSE__RESULT_GRADES)->grades;
		assert_true(gr->n_grades > 0);
		for (size_t k = 0; k < gr->n_grades; k++) {
			assert_string_equal(gr->grades[k]->student, me);
			assert_true(enrolled(t, me, gr->grades[k]->course));
		}
		/* naming any other student: refused, in every course */
		const char *courses[] = {"", "A101", "B202"};
		for (int c = 0; c < 3; c++) {
			for (int o = 0; o < 4; o++) {
				if (o == i)
					continue;
				g.course = (char *)courses[c];
				g.student = (char *)students[o];
				RT_REFUSED(t, me, read_grades, &g, DENIED, NULL);
				Lms__Rpc__ProgressRequest p =
					LMS__RPC__PROGRESS_REQUEST__INIT;
				p.course = (char *)courses[c];
				p.student = (char *)students[o];
				RT_REFUSED(t, me, read_progress, &p, DENIED, NULL);
			}
		}
		/* progress: own only, in own courses */
		Lms__Rpc__ProgressRequest p = LMS__RPC__PROGRESS_REQUEST__INIT;
		Lms__Rpc__ProgressResponse *pr = RT_OK(t, me, read_progress, &p,
			LMS__RPC__RESPONSE__RESULT_PROGRESS)->progress;
		assert_true(pr->n_progress > 0);
		for (size_t k = 0; k < pr->n_progress; k++) {
			assert_string_equal(pr->progress[k]->student, me);
			assert_true(enrolled(t, me, pr->progress[k]->course));
		}
		/* the course-wide figures are staff only */
		for (int c = 1; c < 3; c++) {
			Lms__Rpc__GradebookRequest b =
				LMS__RPC__GRADEBOOK_REQUEST__INIT;
			b.course = (char *)courses[c];
			RT_REFUSED(t, me, read_gradebook, &b, DENIED, NULL);
			Lms__Rpc__StatsRequest s = LMS__RPC__STATS_REQUEST__INIT;
			s.course = (char *)courses[c];
			RT_REFUSED(t, me, read_stats, &s, DENIED, NULL);
		}
	}
	PQclear(subs);
	PQclear(asg);
}

static void test_questions(void **state)
{
	struct rt *t = *state;
	PGresult *qs = rows(t,
		"SELECT q.id, u.username FROM lms.query q "
		"JOIN lms.app_user u ON u.id = q.student_id ORDER BY q.id");
	for (int i = 0; i < 4; i++) {
		const char *me = students[i];
		size_t mine = 0;
		for (int r = 0; r < PQntuples(qs); r++) {
			Lms__Rpc__QueryGetRequest q = LMS__RPC__QUERY_GET_REQUEST__INIT;
			q.id = strtoull(PQgetvalue(qs, r, 0), NULL, 10);
			if (strcmp(PQgetvalue(qs, r, 1), me) == 0) {
				mine++;
				RT_OK(t, me, read_query_get, &q,
				      LMS__RPC__RESPONSE__RESULT_QUERY_GET);
			} else {
				RT_REFUSED(t, me, read_query_get, &q, NOTFOUND,
				           "no question");
			}
		}
		/* every filter combination lists own questions only */
		for (int open = 0; open < 2; open++) {
			for (int to = 0; to < 3; to++) {
				Lms__Rpc__QueryListRequest q =
					LMS__RPC__QUERY_LIST_REQUEST__INIT;
				q.open_only = open;
				q.to = (Lms__Rpc__QueryTarget)to;
				Lms__Rpc__QueryListResponse *l = RT_OK(t, me,
					read_query_list, &q,
					LMS__RPC__RESPONSE__RESULT_QUERY_LIST)
					->query_list;
				for (size_t k = 0; k < l->n_queries; k++)
					assert_string_equal(l->queries[k]->student,
					                    me);
				if (!open && !to)
					assert_int_equal(l->n_queries, mine);
			}
		}
	}
	PQclear(qs);
}

/* dave, a student of B only: nothing of course A, by code or by id. */
static void test_outsider(void **state)
{
	struct rt *t = *state;
	const char *me = "dave";
	Lms__Rpc__CourseListRequest cl = LMS__RPC__COURSE_LIST_REQUEST__INIT;
	Lms__Rpc__CourseListResponse *c = RT_OK(t, me, read_course_list, &cl,
		LMS__RPC__RESPONSE__RESULT_COURSE_LIST)->course_list;
	for (size_t k = 0; k < c->n_courses; k++)
		assert_string_not_equal(c->courses[k]->code, "A101");
	Lms__Rpc__WhoAmIRequest w = LMS__RPC__WHO_AM_IREQUEST__INIT;
	Lms__Rpc__WhoAmIResponse *wr = rt_ok(t,
		read_whoami(rt_as(t, me), &w, RT_EXPIRES),
		LMS__RPC__RESPONSE__RESULT_WHOAMI)->whoami;
	assert_int_equal(wr->n_courses, 1);
	assert_string_equal(wr->courses[0]->code, "B202");

	Lms__Rpc__CourseMembersRequest cm = LMS__RPC__COURSE_MEMBERS_REQUEST__INIT;
	cm.course = "A101";
	RT_REFUSED(t, me, read_course_members, &cm, DENIED, NULL);
	Lms__Rpc__AssignmentListRequest al =
		LMS__RPC__ASSIGNMENT_LIST_REQUEST__INIT;
	al.course = "A101";
	RT_REFUSED(t, me, read_assignment_list, &al, DENIED, NULL);
	Lms__Rpc__MaterialListRequest ml = LMS__RPC__MATERIAL_LIST_REQUEST__INIT;
	ml.course = "A101";
	RT_REFUSED(t, me, read_material_list, &ml, DENIED, NULL);
	Lms__Rpc__MaterialSearchRequest ms =
		LMS__RPC__MATERIAL_SEARCH_REQUEST__INIT;
	ms.course = "A101";
	ms.query = "quicksort";
	RT_REFUSED(t, me, read_material_search, &ms, DENIED, NULL);
	Lms__Rpc__QueryListRequest ql = LMS__RPC__QUERY_LIST_REQUEST__INIT;
	ql.course = "A101";
	RT_REFUSED(t, me, read_query_list, &ql, DENIED, NULL);
	Lms__Rpc__GradesRequest g = LMS__RPC__GRADES_REQUEST__INIT;
	g.course = "A101";
	RT_REFUSED(t, me, read_grades, &g, DENIED, NULL);
	Lms__Rpc__ProgressRequest p = LMS__RPC__PROGRESS_REQUEST__INIT;
	p.course = "A101";
	RT_REFUSED(t, me, read_progress, &p, DENIED, NULL);

	/* every object of A by id: as if it did not exist */
	PGresult *ids = rows(t,
		"SELECT 'a', id FROM lms.assignment WHERE course_id = 100 "
		"UNION ALL SELECT 'm', id FROM lms.material WHERE course_id = 100 "
		"UNION ALL SELECT 'q', id FROM lms.query WHERE course_id = 100");
	assert_int_equal(PQntuples(ids), 6 + 6 + 5);
	for (int r = 0; r < PQntuples(ids); r++) {
		uint64_t id = strtoull(PQgetvalue(ids, r, 1), NULL, 10);
		switch (PQgetvalue(ids, r, 0)[0]) {
		case 'a': {
			Lms__Rpc__AssignmentGetRequest q =
				LMS__RPC__ASSIGNMENT_GET_REQUEST__INIT;
			q.id = id;
			RT_REFUSED(t, me, read_assignment_get, &q, NOTFOUND,
			           "no assignment");
			break;
		}
		case 'm': {
			Lms__Rpc__MaterialGetRequest q =
				LMS__RPC__MATERIAL_GET_REQUEST__INIT;
			q.id = id;
			RT_REFUSED(t, me, read_material_get, &q, NOTFOUND,
			           "no material");
			break;
		}
		default: {
			Lms__Rpc__QueryGetRequest q =
				LMS__RPC__QUERY_GET_REQUEST__INIT;
			q.id = id;
			RT_REFUSED(t, me, read_query_get, &q, NOTFOUND,
			           "no question");
		}
		}
	}
	PQclear(ids);

	/* and the "every course" reads hold nothing of A */
	g.course = "";
	Lms__Rpc__GradesResponse *gr = RT_OK(t, me, read_grades, &g,
		LMS__RPC__RESPONSE__RESULT_GRADES)->grades;
	for (size_t k = 0; k < gr->n_grades; k++)
		assert_string_equal(gr->grades[k]->course, "B202");
	ql.course = "";
	Lms__Rpc__QueryListResponse *qr = RT_OK(t, me, read_query_list, &ql,
		LMS__RPC__RESPONSE__RESULT_QUERY_LIST)->query_list;
	for (size_t k = 0; k < qr->n_queries; k++)
		assert_string_equal(qr->queries[k]->course, "B202");
	p.course = "";
	Lms__Rpc__ProgressResponse *pr = RT_OK(t, me, read_progress, &p,
		LMS__RPC__RESPONSE__RESULT_PROGRESS)->progress;
	assert_int_equal(pr->n_progress, 1);
	assert_string_equal(pr->progress[0]->course, "B202");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submissions_and_grades),
		cmocka_unit_test(test_questions),
		cmocka_unit_test(test_outsider),
	};
	return cmocka_run_group_tests(tests, rt_setup, rt_teardown);
}

/*
 * test_service.c -- the views give the service's numbers: for every
 * student enrollment, report_progress against read_progress; for every
 * course, report_class_stats and report_assignment_stats against
 * read_stats, and the gradebook CSV of read_gradebook rebuilt from
 * report_gradebook. Both sides read the same database at the same instant
 * (rpt_begin). Where the service answers 0 or "" for "no value" (nothing
 * graded, too few grades for a trend) the view answers NULL: the test
 * maps one onto the other, only where the counts beside them say so.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "reporttest.h"

#define C "COLLATE \"C\""

/* A view's score ("81.25") in hundredths; NULL -> -1. */
static int64_t view_h(const PGresult *res, int r, int c)
{
	if (PQgetisnull(res, r, c))
		return -1;
	return llround(strtod(PQgetvalue(res, r, c), NULL) * 100);
}

/* The service's score (a double with two decimals) in hundredths. */
static int64_t svc_h(double v)
{
	return llround(v * 100);
}

static void expect_count(const char *what, const char *key, const PGresult *res,
                         int r, int c, uint32_t got)
{
	long long want = strtoll(PQgetvalue(res, r, c), NULL, 10);
	if ((long long)got != want)
		fail_msg("%s of %s: service %u, view %lld", what, key, got, want);
}

/* The service's score v against the view's cell; a NULL cell stands for
 * the service's 0 when it has no value (none_ok). */
static void expect_score(const char *what, const char *key,
                         const PGresult *res, int r, int c, double v,
                         bool none_ok)
{
	int64_t want = view_h(res, r, c);
	if (want < 0) {
		if (!none_ok || svc_h(v) != 0)
			fail_msg("%s of %s: service %.2f, view NULL", what, key, v);
		return;
	}
	if (svc_h(v) != want)
		fail_msg("%s of %s: service %.2f, view %s", what, key, v,
		         PQgetvalue(res, r, c));
}

/* The view's text (NULL -> "") against the service's string. */
static void expect_text(const char *what, const char *key,
                        const PGresult *res, int r, int c, const char *got)
{
	const char *want = PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c);
	if (strcmp(want, got ? got : "") != 0)
		fail_msg("%s of %s: service \"%s\", view \"%s\"", what, key,
		         got ? got : "", want);
}

/* ------------------------------------------------------------ progress */

static void test_progress(void **state)
{
	struct rpt *t = *state;
	rpt_begin(t);
	PGresult *v = rpt_query(t->conn,
		"SELECT course, student, assignments, done, due, missing, late, "
		"  graded, average, level, trend, recent::text[] "
		"FROM lms.report_progress ORDER BY course " C ", student " C);
	int n = PQntuples(v);
	assert_int_equal(n, 15);
	for (int r = 0; r < n; r++) {
		char key[64];
		snprintf(key, sizeof key, "%s in %s", PQgetvalue(v, r, 1),
		         PQgetvalue(v, r, 0));
		Lms__Rpc__ProgressRequest q = LMS__RPC__PROGRESS_REQUEST__INIT;
		q.course = PQgetvalue(v, r, 0);
		q.student = PQgetvalue(v, r, 1);
		Lms__Rpc__ProgressResponse *pr =
			rpt_ok(t, read_progress(rpt_as(t, "admin"), &q),
			       LMS__RPC__RESPONSE__RESULT_PROGRESS)->progress;
		assert_int_equal(pr->n_progress, 1);
		const Lms__Rpc__Progress *p = pr->progress[0];
		assert_string_equal(p->course, q.course);
		assert_string_equal(p->student, q.student);
		expect_count("assignments", key, v, r, 2, p->assignments);
		expect_count("done", key, v, r, 3, p->done);
		expect_count("due", key, v, r, 4, p->due);
		expect_count("missing", key, v, r, 5, p->missing);
		expect_count("late", key, v, r, 6, p->late);
		expect_count("graded", key, v, r, 7, p->graded);
		expect_score("average", key, v, r, 8, p->average, p->graded == 0);
		expect_text("level", key, v, r, 9, p->level);
		expect_text("trend", key, v, r, 10, p->trend);
		/* recent: "{80.00,60.00}" */
		char recent[256];
		snprintf(recent, sizeof recent, "%s", PQgetvalue(v, r, 11));
		size_t k = 0;
		for (char *tok = strtok(recent, "{,}"); tok;
		     tok = strtok(NULL, "{,}"), k++) {
			if (k >= p->n_recent)
				fail_msg("recent of %s: the view has more", key);
			if (llround(strtod(tok, NULL) * 100) !=
			    svc_h(p->recent[k]))
				fail_msg("recent[%zu] of %s: service %.2f, view %s",
				         k, key, p->recent[k], tok);
		}
		if (k != p->n_recent)
			fail_msg("recent of %s: service %zu values, view %zu", key,
			         p->n_recent, k);
	}
	PQclear(v);
	rpt_commit(t);
}

/* --------------------------------------------------------------- stats */

static void test_stats(void **state)
{
	struct rpt *t = *state;
	rpt_begin(t);
	PGresult *v = rpt_query(t->conn,
		"SELECT course, students, graded_students, mean, median, high, "
		"  low, grade_a, grade_b, grade_c, grade_d, grade_f, "
		"  open_questions FROM lms.report_class_stats "
		"ORDER BY course " C);
	int n = PQntuples(v);
	assert_int_equal(n, 5);
	for (int r = 0; r < n; r++) {
		const char *course = PQgetvalue(v, r, 0);
		Lms__Rpc__StatsRequest q = LMS__RPC__STATS_REQUEST__INIT;
		q.course = (char *)course;
		Lms__Rpc__StatsResponse *s =
			rpt_ok(t, read_stats(rpt_as(t, "admin"), &q),
			       LMS__RPC__RESPONSE__RESULT_STATS)->stats;
		bool none = s->graded_students == 0;
		expect_count("students", course, v, r, 1, s->students);
		expect_count("graded students", course, v, r, 2,
		             s->graded_students);
		expect_score("mean", course, v, r, 3, s->mean, none);
		expect_score("median", course, v, r, 4, s->median, none);
		expect_score("high", course, v, r, 5, s->high, none);
		expect_score("low", course, v, r, 6, s->low, none);
		expect_count("A", course, v, r, 7, s->grade_a);
		expect_count("B", course, v, r, 8, s->grade_b);
		expect_count("C", course, v, r, 9, s->grade_c);
		expect_count("D", course, v, r, 10, s->grade_d);
		expect_count("F", course, v, r, 11, s->grade_f);
		expect_count("open questions", course, v, r, 12,
		             s->open_questions);

		/* per assignment, in the service's order */
		const char *p[] = {course};
		PGresult *a = PQexecParams(t->conn,
			"SELECT assignment_id, assignment, submitted, students, "
			"  submission_rate, graded, mean "
			"FROM lms.report_assignment_stats WHERE course = $1 "
			"ORDER BY due_at, assignment_id", 1, NULL, p, NULL, NULL, 0);
		assert_int_equal(PQresultStatus(a), PGRES_TUPLES_OK);
		assert_int_equal((size_t)PQntuples(a), s->n_assignments);
		for (int i = 0; i < PQntuples(a); i++) {
			const Lms__Rpc__AssignmentStats *as = s->assignments[i];
			char key[64];
			snprintf(key, sizeof key, "assignment %s of %s",
			         PQgetvalue(a, i, 0), course);
			assert_int_equal(as->assignment_id,
			                 strtoull(PQgetvalue(a, i, 0), NULL, 10));
			expect_text("title", key, a, i, 1, as->title);
			expect_count("submitted", key, a, i, 2, as->submitted);
			expect_count("students", key, a, i, 3, as->students);
			expect_score("submission rate", key, a, i, 4,
			             as->submission_rate, false);
			expect_count("graded", key, a, i, 5, as->graded);
			expect_score("mean", key, a, i, 6, as->mean,
			             as->graded == 0);
		}
		PQclear(a);
	}
	PQclear(v);
	rpt_commit(t);
}

/* ----------------------------------------------------------- gradebook */

struct buf {
	char s[8192];
	size_t n;
};

static void put(struct buf *b, const char *s)
{
	size_t len = strlen(s);
	if (b->n + len >= sizeof b->s)
		fail_msg("expected gradebook too long");
	/* the fixture needs no CSV quoting; make sure it stays so */
	if (strpbrk(s, ",\"\r\n") || (s[0] && strchr("=+-@\t", s[0])))
		fail_msg("field \"%s\" would need CSV quoting", s);
	memcpy(b->s + b->n, s, len + 1);
	b->n += len;
}

static void test_gradebook(void **state)
{
	struct rpt *t = *state;
	rpt_begin(t);
	PGresult *courses = rpt_query(t->conn,
		"SELECT code FROM lms.course ORDER BY code " C);
	assert_int_equal(PQntuples(courses), 5);
	for (int ci = 0; ci < PQntuples(courses); ci++) {
		const char *p[] = {PQgetvalue(courses, ci, 0)};
		struct buf want = {.n = 0};
		/* header: the assignments by due time, max points trimmed */
		PGresult *h = PQexecParams(t->conn,
			"SELECT format('%s (%s)', assignment, "
			"  trim_scale(max_points)) "
			"FROM lms.report_assignment_stats WHERE course = $1 "
			"ORDER BY due_at, assignment_id", 1, NULL, p, NULL, NULL, 0);
		assert_int_equal(PQresultStatus(h), PGRES_TUPLES_OK);
		put(&want, "student");
		want.s[want.n++] = ',';
		put(&want, "display_name");
		for (int i = 0; i < PQntuples(h); i++) {
			want.s[want.n++] = ',';
			put(&want, PQgetvalue(h, i, 0));
		}
		int na = PQntuples(h);
		PQclear(h);
		want.s[want.n++] = ',';
		put(&want, "average");
		memcpy(want.s + want.n, "\r\n", 3);
		want.n += 2;
		/* rows: every student (report_progress has each enrollment),
		 * then the cells of report_gradebook */
		PGresult *st = PQexecParams(t->conn,
			"SELECT p.student, p.display_name, "
			"  (SELECT array_agg(COALESCE(g.final_score::text, '') "
			"     ORDER BY g.due_at, g.assignment_id) "
			"   FROM lms.report_gradebook g "
			"   WHERE g.course = p.course AND g.student = p.student), "
			"  (SELECT DISTINCT g.average FROM lms.report_gradebook g "
			"   WHERE g.course = p.course AND g.student = p.student) "
			"FROM lms.report_progress p WHERE p.course = $1 "
			"ORDER BY p.student " C, 1, NULL, p, NULL, NULL, 0);
		assert_int_equal(PQresultStatus(st), PGRES_TUPLES_OK);
		for (int r = 0; r < PQntuples(st); r++) {
			put(&want, PQgetvalue(st, r, 0));
			want.s[want.n++] = ',';
			put(&want, PQgetvalue(st, r, 1));
			char cells[512];
			snprintf(cells, sizeof cells, "%s",
			         PQgetisnull(st, r, 2) ? "{}" : PQgetvalue(st, r, 2));
			/* {80.00,"",19.00}: the empty cells are quoted */
			int got = 0;
			char *s = cells + 1;
			while (*s && *s != '}') {
				char *end = strpbrk(s, ",}");
				char c = *end;
				*end = '\0';
				want.s[want.n++] = ',';
				put(&want, strcmp(s, "\"\"") == 0 ? "" : s);
				got++;
				s = c == ',' ? end + 1 : end;
			}
			assert_int_equal(got, na);
			want.s[want.n++] = ',';
			put(&want, PQgetisnull(st, r, 3) ? "" : PQgetvalue(st, r, 3));
			memcpy(want.s + want.n, "\r\n", 3);
			want.n += 2;
		}
		int students = PQntuples(st);
		PQclear(st);

		Lms__Rpc__GradebookRequest q = LMS__RPC__GRADEBOOK_REQUEST__INIT;
		q.course = (char *)p[0];
		Lms__Rpc__GradebookResponse *g =
			rpt_ok(t, read_gradebook(rpt_as(t, "admin"), &q),
			       LMS__RPC__RESPONSE__RESULT_GRADEBOOK)->gradebook;
		if (strcmp(g->csv, want.s) != 0)
			fail_msg("gradebook of %s:\nservice:\n%s\nviews:\n%s", p[0],
			         g->csv, want.s);
		assert_int_equal(g->students, students);
		assert_int_equal(g->assignments, na);
	}
	PQclear(courses);
	rpt_commit(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_gradebook),
	};
	return cmocka_run_group_tests(tests, rpt_setup, rpt_teardown);
}

/*
 * test_grades.c -- grade on the apply side: who may grade, only the latest
 * attempt, regrading, score bounds, and the late penalty arithmetic
 * (svc_late_final over days_late recorded at submission).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define S(x) LMS__RPC__STATUS__##x

static Lms__Rpc__GradeRequest grade_cmd(int64_t submission, double score,
                                        const char *feedback)
{
	Lms__Rpc__GradeRequest c = LMS__RPC__GRADE_REQUEST__INIT;
	c.submission_id = (uint64_t)submission;
	c.score = score;
	c.feedback = (char *)feedback;
	return c;
}

/* The grade columns as stored: "raw penalty final". */
static char *stored(struct env *e, int64_t submission)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", (long long)submission);
	return env_value(e, "SELECT raw_score || ' ' || penalty_pct || ' ' || "
	                    "final_score FROM lms.grade WHERE submission_id = $1",
	                 1, id);
}

/* ------------------------------------------------ late penalty cases */

struct late_case {
	const char *name;
	double penalty, floor, max_points;
	int64_t late_ms;          /* submitted this long after the due time */
	double score;
	unsigned days_late;       /* expected */
	double final, taken;      /* expected */
	const char *stored;       /* expected "raw penalty final" */
};

static const struct late_case late_cases[] = {
	{"on time", 10, 50, 100, 0, 80, 0, 80, 0, "80.00 0.00 80.00"},
	{"early", 10, 50, 100, -HOUR, 80, 0, 80, 0, "80.00 0.00 80.00"},
	{"1 day late by one second", 10, 50, 100, 1000, 80, 1, 72, 10,
	 "80.00 10.00 72.00"},
	{"exactly 1 day late", 10, 50, 100, DAY, 80, 1, 72, 10,
	 "80.00 10.00 72.00"},
	{"2 days and a second", 10, 50, 100, 2 * DAY + 1000, 80, 3, 56, 30,
	 "80.00 30.00 56.00"},
	{"3 days late", 10, 50, 100, 3 * DAY, 80, 3, 56, 30,
	 "80.00 30.00 56.00"},
	{"floor reached", 10, 50, 100, 7 * DAY, 80, 7, 40, 50,
	 "80.00 50.00 40.00"},
	{"floor exactly", 10, 50, 100, 5 * DAY, 80, 5, 40, 50,
	 "80.00 50.00 40.00"},
	{"no floor: nothing left", 25, 0, 100, 10 * DAY, 80, 10, 0, 100,
	 "80.00 100.00 0.00"},
	{"penalty 0", 0, 0, 100, 5 * DAY, 80, 5, 80, 0, "80.00 0.00 80.00"},
	{"87.55 at 12.5%, 1 day", 12.5, 0, 100, HOUR, 87.55, 1, 76.61, 12.5,
	 "87.55 12.50 76.61"},
	{"87.55 at 12.5%, 2 days", 12.5, 0, 100, DAY + 1, 87.55, 2, 65.66, 25,
	 "87.55 25.00 65.66"},
	{"87.55 at 12.5%, 3 days", 12.5, 0, 100, 3 * DAY, 87.55, 3, 54.72,
	 37.5, "87.55 37.50 54.72"},
	{"half a hundredth rounds up", 10, 0, 10, 1, 0.05, 1, 0.05, 10,
	 "0.05 10.00 0.05"},
	{"fractional max, 0.01 penalty", 0.01, 0, 50.5, DAY, 50.5, 1, 50.49,
	 0.01, "50.50 0.01 50.49"},
};

static void late_penalty(void **state)
{
	struct env *e = *state;
	mk_people(e);
	mk_courses(e);
	for (size_t i = 0; i < sizeof late_cases / sizeof late_cases[0]; i++) {
		const struct late_case *k = &late_cases[i];
		/* a fresh assignment due an hour from now */
		struct asg_spec s = {.opens = 0, .due = HOUR, .cutoff = -1,
		                     .max_points = k->max_points,
		                     .penalty = k->penalty, .floor = k->floor};
		int64_t a = mk_assignment(e, "ins", "CS101", &s);
		env_advance(e, HOUR + k->late_ms);
		Lms__Rpc__SubmitRequest sc = LMS__RPC__SUBMIT_REQUEST__INIT;
		sc.assignment_id = (uint64_t)a;
		sc.text = "x";
		Lms__Rpc__Response *r = OK(e, "stu1", apply_submit, &sc);
		int64_t sub = (int64_t)r->submit->submission->id;
		if (r->submit->submission->days_late != k->days_late)
			fail_msg("%s: days_late %u, expected %u", k->name,
			         r->submit->submission->days_late, k->days_late);
		assert_int_equal(r->submit->submission->late, k->late_ms > 0);

		env_advance(e, DAY); /* grading later changes nothing */
		Lms__Rpc__GradeRequest gc = grade_cmd(sub, k->score, "ok");
		r = OK(e, "ins", apply_grade, &gc);
		Lms__Rpc__Grade *g = r->grade->grade;
		if (g->final_score != k->final || g->penalty_pct != k->taken ||
		    g->raw_score != k->score)
			fail_msg("%s: raw %.2f final %.2f taken %.2f, expected "
			         "%.2f %.2f %.2f", k->name, g->raw_score,
			         g->final_score, g->penalty_pct, k->score,
			         k->final, k->taken);
		char *row = stored(e, sub);
		if (strcmp(row, k->stored) != 0)
			fail_msg("%s: stored \"%s\", expected \"%s\"", k->name,
			         row, k->stored);
		free(row);
	}
}

/* ------------------------------------------------- roles and the rest */

static void grade_fields_and_roles(void **state)
{
	struct env *e = *state;
	mk_people(e);
	mk_courses(e);
	struct asg_spec s = {.opens = 0, .due = DAY, .cutoff = -1,
	                     .max_points = 50.5};
	int64_t a = mk_assignment(e, "ins", "CS101", &s);
	int64_t sub = mk_submit(e, "stu1", a, "answer");

	Lms__Rpc__GradeRequest c = grade_cmd(sub, 45.25, "good work");
	REFUSED(e, "stu1", apply_grade, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "stu2", apply_grade, &c, S(PERMISSION_DENIED), NULL);
	/* not members of CS101: the submission is not theirs to see */
	REFUSED(e, "ins2", apply_grade, &c, S(NOT_FOUND), "no submission");
	REFUSED(e, "tutor", apply_grade, &c, S(NOT_FOUND), NULL);
	c = grade_cmd(sub + 1000, 45.25, "good work");
	REFUSED(e, "ins", apply_grade, &c, S(NOT_FOUND), NULL);
	c = grade_cmd(sub, 50.51, "too much");
	REFUSED(e, "ins", apply_grade, &c, S(INVALID_ARGUMENT),
	        "the score 50.51 is above the maximum (50.50)");
	c = grade_cmd(sub, -1, "negative");
	REFUSED(e, "ins", apply_grade, &c, S(INVALID_ARGUMENT), NULL);

	/* a TA may grade (but not create assignments: test_work.c) */
	env_advance(e, HOUR);
	c = grade_cmd(sub, 45.25, "good work");
	Lms__Rpc__Response *r = OK(e, "ta", apply_grade, &c);
	assert_int_equal(r->result_case, LMS__RPC__RESPONSE__RESULT_GRADE);
	Lms__Rpc__Grade *g = r->grade->grade;
	assert_int_equal(g->submission_id, sub);
	assert_true(g->raw_score == 45.25);
	assert_true(g->final_score == 45.25);
	assert_true(g->penalty_pct == 0);
	assert_string_equal(g->feedback, "good work");
	assert_string_equal(g->grader, "ta");
	assert_string_equal(g->graded_at, "2026-03-02T10:00:00Z");
	assert_true(g->max_points == 50.5);
	assert_int_equal(g->assignment_id, a);
	assert_string_equal(g->assignment_title, "Homework");
	assert_string_equal(g->course, "CS101");
	assert_string_equal(g->student, "stu1");
	assert_int_equal(g->attempt, 1);

	/* regrading replaces: one row, the new grader and time */
	env_advance(e, HOUR);
	c = grade_cmd(sub, 50.5, "even better");
	r = OK(e, "ins", apply_grade, &c);
	g = r->grade->grade;
	assert_true(g->raw_score == 50.5);
	assert_string_equal(g->grader, "ins");
	assert_string_equal(g->graded_at, "2026-03-02T11:00:00Z");
	assert_int_equal(env_int(e, "SELECT count(*) FROM lms.grade", 0), 1);
	char *row = env_value(e, "SELECT g.feedback || ' ' || u.username || ' ' "
	                         "|| g.final_score FROM lms.grade g JOIN "
	                         "lms.app_user u ON u.id = g.grader_id", 0);
	assert_string_equal(row, "even better ins 50.50");
	free(row);
	/* an admin, not a member, may regrade too */
	c = grade_cmd(sub, 0, "");
	r = OK(e, "root", apply_grade, &c);
	assert_true(r->grade->grade->final_score == 0);

	/* the submission loader carries its grade */
	Lms__Rpc__Submission *loaded = NULL;
	env_call(e, "ins");
	assert_int_equal(svc_load_submission(&e->x, sub, false, &loaded), 1);
	env_end(e);
	assert_non_null(loaded->grade);
	assert_string_equal(loaded->grade->grader, "root");
	protobuf_c_message_free_unpacked(&loaded->base, NULL);
}

static void latest_attempt_only(void **state)
{
	struct env *e = *state;
	mk_people(e);
	mk_courses(e);
	struct asg_spec s = {.opens = 0, .due = DAY, .cutoff = -1};
	int64_t a = mk_assignment(e, "ins", "CS101", &s);
	int64_t s1 = mk_submit(e, "stu1", a, "first");
	Lms__Rpc__GradeRequest c = grade_cmd(s1, 60, "first try");
	OK(e, "ins", apply_grade, &c); /* the latest at the time */
	int64_t s2 = mk_submit(e, "stu1", a, "second");
	int64_t s3 = mk_submit(e, "stu1", a, "third");
	int64_t other = mk_submit(e, "stu2", a, "stu2's only");

	c = grade_cmd(s1, 70, "");
	REFUSED(e, "ins", apply_grade, &c, S(FAILED_PRECONDITION),
	        "attempt 1 is not the latest (3)");
	c = grade_cmd(s2, 70, "");
	REFUSED(e, "ta", apply_grade, &c, S(FAILED_PRECONDITION),
	        "attempt 2 is not the latest (3)");
	c = grade_cmd(s3, 90, "third time lucky");
	Lms__Rpc__Response *r = OK(e, "ins", apply_grade, &c);
	assert_int_equal(r->grade->grade->attempt, 3);
	c = grade_cmd(other, 30, "");
	r = OK(e, "ins", apply_grade, &c);
	assert_int_equal(r->grade->grade->attempt, 1);
	/* the old grade of attempt 1 stays as it was */
	char *row = stored(e, s1);
	assert_string_equal(row, "60.00 0.00 60.00");
	free(row);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(late_penalty, env_reset),
		cmocka_unit_test_setup(grade_fields_and_roles, env_reset),
		cmocka_unit_test_setup(latest_attempt_only, env_reset),
	};
	return cmocka_run_group_tests(tests, env_group_setup,
	                              env_group_teardown);
}

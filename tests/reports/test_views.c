/*
 * test_views.c -- every reporting view of migration 002 against figures
 * computed by hand from fixture.sql: the gradebook (latest graded attempt,
 * staff never counted, extensions), late and missing work, progress
 * (levels and trends at their boundaries, the five-score window ordered
 * by due time), class and assignment statistics (half-up means and
 * medians, letters, submission rates, empty courses), questions answered
 * by the tutor and by people with response times, the tutor's sources,
 * and the node's freshness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "reporttest.h"

#define C "COLLATE \"C\""

static void test_gradebook(void **state)
{
	struct rpt *t = *state;
	/* alice's 11: attempt 2 is late and ungraded, attempt 1's 30/50
	 * counts; averages over the counted grades of all assignments */
	static const char *const r101[] = {
		"alice|10|1|t|f|1|80.00|80.00|81.25",
		"alice|11|2|t|t|1|30.00|60.00|81.25",
		"alice|12|1|t|f|1|19.00|95.00|81.25",
		"alice|13|1|t|f|1|90.00|90.00|81.25",
		"alice|14|1|t|f|NULL|NULL|NULL|81.25",
		"alice|15|0|f|f|NULL|NULL|NULL|81.25",
		"bob|10|1|t|f|1|95.00|95.00|79.00",
		"bob|11|1|t|f|1|44.00|88.00|79.00",
		"bob|12|1|t|f|1|14.00|70.00|79.00",
		"bob|13|1|t|t|1|63.00|63.00|79.00",
		"bob|14|0|f|f|NULL|NULL|NULL|79.00",
		"bob|15|0|f|f|NULL|NULL|NULL|79.00",
		"carol|10|1|t|f|1|50.00|50.00|52.50",
		"carol|11|0|f|f|NULL|NULL|NULL|52.50",
		"carol|12|1|t|f|1|11.00|55.00|52.50",
		"carol|13|0|f|f|NULL|NULL|NULL|52.50",
		"carol|14|0|f|f|NULL|NULL|NULL|52.50",
		"carol|15|0|f|f|NULL|NULL|NULL|52.50",
		"erin|10|0|f|f|NULL|NULL|NULL|NULL",
		"erin|11|0|f|f|NULL|NULL|NULL|NULL",
		"erin|12|0|f|f|NULL|NULL|NULL|NULL",
		"erin|13|0|f|f|NULL|NULL|NULL|NULL",
		"erin|14|0|f|f|NULL|NULL|NULL|NULL",
		"erin|15|0|f|f|NULL|NULL|NULL|NULL",
		NULL};
	rpt_expect_rows(t->conn,
		"SELECT student, assignment_id, attempts, submitted, late, "
		"  graded_attempt, final_score, normalized, average "
		"FROM lms.report_gradebook WHERE course = 'R101' "
		"ORDER BY student " C ", due_at, assignment_id", r101);

	/* extension (carol's 13), late penalty (bob's 13), days late of the
	 * latest attempt beside the grade of an earlier one (alice's 11) */
	static const char *const detail[] = {
		"alice|11|-40 days|-35 days|f|2|30.00|0.00|30.00",
		"bob|13|-5 days|3 days|f|1|70.00|10.00|63.00",
		"carol|13|5 days|10 days|t|NULL|NULL|NULL|NULL",
		NULL};
	rpt_expect_rows(t->conn,
		"SELECT student, assignment_id, effective_due_at - " RPT_BASE ", "
		"  effective_cutoff_at - " RPT_BASE ", extended, days_late, "
		"  raw_score, penalty_pct, final_score "
		"FROM lms.report_gradebook "
		"WHERE (student, assignment_id) IN (('alice', 11), ('bob', 13), "
		"  ('carol', 13)) ORDER BY student " C, detail);

	/* eve's 44: attempt 1 graded 50, attempt 2 graded 95 counts */
	static const char *const eve[] = {"2|2|2044|95.00|92.00", NULL};
	rpt_expect_rows(t->conn,
		"SELECT attempts, graded_attempt, graded_submission_id, "
		"  final_score, average FROM lms.report_gradebook "
		"WHERE student = 'eve' AND assignment_id = 44", eve);

	/* students only (ins1's graded test run is nowhere); E505 and F606
	 * have no student x assignment pair */
	static const char *const counts[] = {
		"D404|45", "G707|7", "R101|24", NULL};
	rpt_expect_rows(t->conn,
		"SELECT course, count(*) FROM lms.report_gradebook "
		"GROUP BY course ORDER BY course " C, counts);
	static const char *const none[] = {"0", NULL};
	rpt_expect_rows(t->conn,
		"SELECT count(*) FROM lms.report_gradebook "
		"WHERE student IN ('admin', 'ins1', 'ins2', 'ta1', 'tutor')",
		none);
}

static void test_late_missing(void **state)
{
	struct rpt *t = *state;
	/* carol's 13 is extended to +5 days: not missing; erin's 14 and 15
	 * are not due yet / not open */
	static const char *const r101[] = {
		"alice|11|late|f|t|2|2|-40 days|NULL",
		"bob|13|late|f|f|1|1|-5 days|NULL",
		"carol|11|missing|f|t|0|NULL|-40 days|40 days",
		"erin|10|missing|f|f|0|NULL|-50 days|50 days",
		"erin|11|missing|f|t|0|NULL|-40 days|40 days",
		"erin|12|missing|f|f|0|NULL|-20 days|20 days",
		"erin|13|missing|f|f|0|NULL|-5 days|5 days",
		NULL};
	rpt_expect_rows(t->conn,
		"SELECT student, assignment_id, status, extended, closed, "
		"  attempts, days_late, effective_due_at - " RPT_BASE ", "
		"  date_trunc('day', overdue_by) "
		"FROM lms.report_late_missing WHERE course = 'R101' "
		"ORDER BY student " C ", effective_due_at, assignment_id", r101);

	static const char *const d404[] = {
		"frank|missing|44",
		"gina|missing|43,44",
		"hank|missing|41,42,43,44",
		"ivy|missing|42,43,44",
		"jack|missing|41,42,43,44",
		"lee|missing|41,42,43,44",
		"mo|missing|41,42,43,44",
		"nia|missing|40,41,42,43",
		NULL};
	rpt_expect_rows(t->conn,
		"SELECT student, string_agg(DISTINCT status, ','), "
		"  string_agg(assignment_id::text, ',' ORDER BY assignment_id) "
		"FROM lms.report_late_missing WHERE course = 'D404' "
		"GROUP BY student ORDER BY student " C, d404);
	static const char *const others[] = {"0", NULL};
	rpt_expect_rows(t->conn,
		"SELECT count(*) FROM lms.report_late_missing "
		"WHERE course IN ('E505', 'F606', 'G707')", others);
}

static void test_progress(void **state)
{
	struct rpt *t = *state;
	/* R101 and D404 as tests/svc_read/test_progress.c computes them;
	 * F606: enrolled, nothing to do; G707: the last five by due time
	 * 50 50 50 60 60, d = 60 - 50 = 10 > 5: improving; average 470 / 7
	 * = 67.142 -> 67.14 */
	static const char *const want[] = {
		"D404|eve|5|5|0|0|0|5|92.00|advanced|"
		"{90.00,90.00,90.00,95.00,95.00}|steady",
		"D404|frank|5|4|0|1|0|4|72.50|intermediate|"
		"{80.00,70.00,70.00,70.00}|steady",
		"D404|gina|5|3|0|2|0|3|73.34|intermediate|"
		"{70.00,75.00,75.02}|improving",
		"D404|hank|5|1|0|4|0|1|85.00|advanced|{85.00}|NULL",
		"D404|ivy|5|2|0|3|0|2|70.01|intermediate|{70.00,70.01}|NULL",
		"D404|jack|5|1|0|4|0|1|69.99|beginner|{69.99}|NULL",
		"D404|lee|5|1|0|4|0|1|60.00|beginner|{60.00}|NULL",
		"D404|mo|5|1|0|4|0|1|59.99|beginner|{59.99}|NULL",
		"D404|nia|5|1|0|4|0|0|NULL|NULL|{}|NULL",
		"F606|alice|0|0|0|0|0|0|NULL|NULL|{}|NULL",
		"G707|gus|7|7|0|0|0|7|67.14|beginner|"
		"{50.00,50.00,50.00,60.00,60.00}|improving",
		"R101|alice|5|5|0|0|1|4|81.25|intermediate|"
		"{80.00,60.00,95.00,90.00}|improving",
		"R101|bob|5|4|1|0|1|4|79.00|intermediate|"
		"{95.00,88.00,70.00,63.00}|declining",
		"R101|carol|5|2|2|1|0|2|52.50|beginner|{50.00,55.00}|NULL",
		"R101|erin|5|0|1|4|0|0|NULL|NULL|{}|NULL",
		NULL};
	rpt_expect_rows(t->conn,
		"SELECT course, student, assignments, done, due, missing, late, "
		"  graded, average, level, recent, trend "
		"FROM lms.report_progress ORDER BY course " C ", student " C,
		want);
}

static void test_class_stats(void **state)
{
	struct rpt *t = *state;
	/* R101: 81.25 79 52.5 -> mean 70.92, median 79; D404: mean 582.83
	 * / 8 = 72.85375 -> 72.85, median (70.01 + 72.50) / 2 = 71.255 ->
	 * 71.26; open questions 601 + 603 (claimed), 609 */
	static const char *const want[] = {
		"D404|9|8|72.85|71.26|92.00|59.99|1|1|3|2|1|5|1",
		"E505|0|0|NULL|NULL|NULL|NULL|0|0|0|0|0|1|0",
		"F606|1|0|NULL|NULL|NULL|NULL|0|0|0|0|0|0|0",
		"G707|1|1|67.14|67.14|67.14|67.14|0|0|0|1|0|7|0",
		"R101|4|3|70.92|79.00|81.25|52.50|0|1|1|0|1|6|2",
		NULL};
	rpt_expect_rows(t->conn,
		"SELECT course, students, graded_students, mean, median, high, "
		"  low, grade_a, grade_b, grade_c, grade_d, grade_f, assignments, "
		"  open_questions FROM lms.report_class_stats ORDER BY course " C,
		want);
}

static void test_assignment_stats(void **state)
{
	struct rpt *t = *state;
	/* 41: 90 70 75 70.01 -> mean 76.2525 -> 76.25, median (70.01 + 75)
	 * / 2 = 72.505 -> 72.51; 40: eight of nine, 88.888 -> 88.89 */
	static const char *const want[] = {
		"D404|40|9|8|88.89|0|1|8|73.12|70.00|90.00|59.99|1|2|2|2|1",
		"D404|41|9|4|44.44|0|5|4|76.25|72.51|90.00|70.00|1|0|3|0|0",
		"D404|42|9|3|33.33|0|6|3|78.34|75.02|90.00|70.00|1|0|2|0|0",
		"D404|43|9|2|22.22|0|7|2|82.50|82.50|95.00|70.00|1|0|1|0|0",
		"D404|44|9|2|22.22|0|7|1|95.00|95.00|95.00|95.00|1|0|0|0|0",
		"E505|50|0|0|0.00|0|0|0|NULL|NULL|NULL|NULL|0|0|0|0|0",
		"G707|76|1|1|100.00|0|0|1|100.00|100.00|100.00|100.00|1|0|0|0|0",
		"G707|70|1|1|100.00|0|0|1|100.00|100.00|100.00|100.00|1|0|0|0|0",
		"G707|71|1|1|100.00|0|0|1|50.00|50.00|50.00|50.00|0|0|0|0|1",
		"G707|72|1|1|100.00|0|0|1|50.00|50.00|50.00|50.00|0|0|0|0|1",
		"G707|73|1|1|100.00|0|0|1|50.00|50.00|50.00|50.00|0|0|0|0|1",
		"G707|74|1|1|100.00|0|0|1|60.00|60.00|60.00|60.00|0|0|0|1|0",
		"G707|75|1|1|100.00|0|0|1|60.00|60.00|60.00|60.00|0|0|0|1|0",
		"R101|10|4|3|75.00|0|1|3|75.00|80.00|95.00|50.00|1|1|0|0|1",
		"R101|11|4|2|50.00|1|2|2|74.00|74.00|88.00|60.00|0|1|0|1|0",
		"R101|12|4|3|75.00|0|1|3|73.33|70.00|95.00|55.00|1|0|1|0|1",
		"R101|13|4|2|50.00|1|1|2|76.50|76.50|90.00|63.00|1|0|0|1|0",
		"R101|14|4|1|25.00|0|0|0|NULL|NULL|NULL|NULL|0|0|0|0|0",
		"R101|15|4|0|0.00|0|0|0|NULL|NULL|NULL|NULL|0|0|0|0|0",
		NULL};
	rpt_expect_rows(t->conn,
		"SELECT course, assignment_id, students, submitted, "
		"  submission_rate, late, missing, graded, mean, median, high, "
		"  low, grade_a, grade_b, grade_c, grade_d, grade_f "
		"FROM lms.report_assignment_stats "
		"ORDER BY course " C ", due_at, assignment_id", want);
}

static void test_questions(void **state)
{
	struct rpt *t = *state;
	/* 604: ins1 first, ta1's follow-up does not change it; 606: asked
	 * of the tutor, answered by a TA */
	static const char *const each[] = {
		"601|R101|alice|instructor|open|NULL|NULL|0|NULL|1 day",
		"602|R101|alice|tutor|answered|tutor|tutor|1|00:01:00|NULL",
		"603|R101|bob|tutor|claimed|NULL|NULL|0|NULL|02:00:00",
		"604|R101|bob|instructor|answered|instructor|ins1|2|01:00:00|NULL",
		"605|R101|carol|tutor|answered|tutor|tutor|1|00:03:00|NULL",
		"606|R101|carol|tutor|answered|instructor|ta1|1|02:00:00|NULL",
		"607|R101|erin|tutor|answered|tutor|tutor|1|00:02:00|NULL",
		"608|D404|eve|instructor|answered|instructor|ins2|1|00:30:00|NULL",
		"609|D404|eve|tutor|open|NULL|NULL|0|NULL|01:00:00",
		NULL};
	rpt_expect_rows(t->conn,
		"SELECT query_id, course, student, addressed_to, status, "
		"  answered_by, first_answer_by, answers, response_time, "
		"  date_trunc('hour', waiting) "
		"FROM lms.report_questions ORDER BY query_id", each);

	/* R101 tutor: 1, 3, 2 minutes; people: 1 h (604), 2 h (606) */
	static const char *const sums[] = {
		"D404|instructor|1|0|1|00:30:00|00:30:00|00:30:00|00:30:00|NULL",
		"D404|unanswered|1|1|0|NULL|NULL|NULL|NULL|01:00:00",
		"R101|instructor|2|1|1|01:30:00|01:30:00|01:00:00|02:00:00|NULL",
		"R101|tutor|3|3|0|00:02:00|00:02:00|00:01:00|00:03:00|NULL",
		"R101|unanswered|2|1|1|NULL|NULL|NULL|NULL|1 day",
		NULL};
	rpt_expect_rows(t->conn,
		"SELECT course, answered_by, questions, to_tutor, to_instructor, "
		"  mean_response, median_response, min_response, max_response, "
		"  date_trunc('hour', longest_waiting) "
		"FROM lms.report_tutor_vs_instructors "
		"ORDER BY course " C ", answered_by " C, sums);
}

static void test_tutor_sources(void **state)
{
	struct rpt *t = *state;
	/* 301: 602 (chunk 1), 605 (chunks 0 and 2); 304 only in ta1's
	 * answer; 607's source has no material and is in no row */
	static const char *const want[] = {
		"R101|301|Sorting algorithms|3|2|3|-3 days -23:57:00|0",
		"R101|302|Graph traversal|1|1|1|-4 days -23:59:00|0",
		"R101|303|Dynamic programming|1|1|1|-3 days -23:57:00|0",
		"R101|304|Hash tables|0|0|0|NULL|1",
		"R101|305|Shortest paths|0|0|0|NULL|0",
		"D404|401|Tables|0|0|0|NULL|0",
		NULL};
	rpt_expect_rows(t->conn,
		"SELECT course, material_id, title, tutor_citations, "
		"  tutor_answers, chunks_cited, last_cited_at - " RPT_BASE ", "
		"  staff_citations FROM lms.report_tutor_sources "
		"ORDER BY material_id", want);
}

static void test_freshness(void **state)
{
	struct rpt *t = *state;
	/* the latest stamped change is alice's login, 10 minutes before */
	static const char *const want[] = {
		"3|testcluster|4242|2|-00:10:00|t|t", NULL};
	static const char sql[] =
		"SELECT node_id, cluster, applied_index, schema_version, "
		"  latest_change - " RPT_BASE ", now = now(), "
		"  since_latest_change >= interval '10 minutes' "
		"FROM lms.report_freshness";
	rpt_expect_rows(t->conn, sql, want);

	/* each stamped table moves it: a later row in any of them */
	static const char *const later[] = {
		"UPDATE lms.app_user SET created_at = " RPT_BASE " + interval "
		"'1 minute' WHERE id = 8",
		"UPDATE lms.app_user SET password_changed_at = " RPT_BASE
		" + interval '1 minute' WHERE id = 8",
		"UPDATE lms.course SET created_at = " RPT_BASE " + interval "
		"'1 minute' WHERE id = 500",
		"UPDATE lms.enrollment SET enrolled_at = " RPT_BASE " + interval "
		"'1 minute' WHERE course_id = 600",
		"UPDATE lms.assignment SET created_at = " RPT_BASE " + interval "
		"'1 minute' WHERE id = 50",
		"UPDATE lms.extension SET granted_at = " RPT_BASE " + interval "
		"'1 minute'",
		"UPDATE lms.submission SET submitted_at = " RPT_BASE
		" + interval '1 minute' WHERE id = 106",
		"UPDATE lms.grade SET graded_at = " RPT_BASE " + interval "
		"'1 minute' WHERE submission_id = 101",
		"UPDATE lms.material SET uploaded_at = " RPT_BASE " + interval "
		"'1 minute' WHERE id = 305",
		"UPDATE lms.query SET asked_at = " RPT_BASE " + interval "
		"'1 minute' WHERE id = 609",
		"UPDATE lms.answer SET answered_at = " RPT_BASE " + interval "
		"'1 minute' WHERE id = 707",
		"UPDATE lms_meta.schema_migration SET applied_at = " RPT_BASE
		" + interval '1 minute' WHERE version = 2",
		NULL};
	for (const char *const *u = later; *u; u++) {
		pgtest_exec(t->conn, "BEGIN");
		pgtest_exec(t->conn, *u);
		char *v = rpt_value(t->conn,
			"SELECT latest_change - " RPT_BASE
			" FROM lms.report_freshness");
		pgtest_exec(t->conn, "ROLLBACK");
		if (strcmp(v, "00:01:00") != 0)
			fail_msg("after %s: latest change %s", *u, v);
		free(v);
	}
	rpt_expect_rows(t->conn, sql, want);

	/* a node whose identity is not recorded yet */
	pgtest_exec(t->conn, "BEGIN");
	pgtest_exec(t->conn, "DELETE FROM raft.node_identity");
	static const char *const anon[] = {"NULL|NULL|4242", NULL};
	rpt_expect_rows(t->conn,
		"SELECT node_id, cluster, applied_index "
		"FROM lms.report_freshness", anon);
	pgtest_exec(t->conn, "ROLLBACK");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gradebook),
		cmocka_unit_test(test_late_missing),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_class_stats),
		cmocka_unit_test(test_assignment_stats),
		cmocka_unit_test(test_questions),
		cmocka_unit_test(test_tutor_sources),
		cmocka_unit_test(test_freshness),
	};
	return cmocka_run_group_tests(tests, rpt_setup, rpt_teardown);
}

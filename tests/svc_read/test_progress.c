/*
 * test_progress.c -- progress and stats: the arithmetic against hand
 * computed figures (averages, rounding half up, levels and trends at their
 * boundaries, medians of odd and even counts, letter distribution,
 * submission rates, the progress per topic), and who may see whose
 * progress.
 *
 * On top of readtest.h's fixture this group adds course 400 D404 (ins1
 * instructor) with five assignments 40..44 (100 points, due 01-10, 01-20,
 * 02-01, 02-10, 02-20, all past) and nine students whose normalized
 * scores, in due order, sit on the boundaries:
 *     eve   90 90 90 95 95   avg 92.00 advanced, d = +5.00 exactly: steady
 *     frank 80 70 70 70      avg 72.50 intermediate, d = -5.00: steady
 *     gina  70 75 75.02      avg 73.34, d = +5.01: improving
 *     hank  85               avg 85.00: advanced (boundary)
 *     ivy   70 70.01         avg 70.005 -> 70.01 (half up)
 *     jack  69.99            beginner
 *     lee   60               D (boundary)
 *     mo    59.99            F
 *     nia   submitted 44, not graded
 * eve's 44 is her attempt 2; her attempt 1 (9044) was graded 50 before:
 * the latest graded attempt counts. ins1 (instructor) has a graded
 * submission of 40 (a test run, 10 points): not a student, never counted.
 *
 * And course 500 E505 (ins1 instructor; students olga and pete) for the
 * progress per topic: assignments (opened 01-01, due at 23:59Z; topics;
 * points) and olga's counted grades (normalized):
 *     61 Terms            01-05 {raft}        100  72
 *     50 Elections        01-10 {raft}        100  attempt 1 graded 40,
 *                                                  attempt 2 graded 88: 88
 *     51 Log replication  01-20 {raft,logs}    50  1 day late, raw 45,
 *                                                  10 % off: 40.5 -> 81
 *     52 Essay            01-25 {}            100  100
 *     53 Queries          02-01 {sql}          20  attempt 1 19 (95),
 *                                                  attempt 2 13 (65),
 *                                                  attempt 3 not graded: 65
 *     54 Snapshots        02-10 {raft,raft}   100  64.5
 *     55 Compaction       02-20 {logs,raft}   100  90.33
 *     56 Joins            03-01 {sql}         100  not submitted
 *     57 Indexes          03-05 {indexes}     100  submitted, not graded
 *     58 Membership       03-10 {Zab,raft}    100  77
 * (61 has the highest id and the earliest due time); pete has one
 * ungraded submission of 50.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "readtest.h"

#define OK_PROGRESS LMS__RPC__RESPONSE__RESULT_PROGRESS
#define OK_STATS LMS__RPC__RESPONSE__RESULT_STATS

static const char extra_sql[] =
	"INSERT INTO lms.app_user "
	"SELECT id, name, initcap(name), 'student', 'x', "
	"  '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' "
	"FROM (VALUES (10, 'eve'), (11, 'frank'), (12, 'gina'), (13, 'hank'), "
	"  (14, 'ivy'), (15, 'jack'), (16, 'lee'), (17, 'mo'), (18, 'nia')) "
	"  v(id, name);"
	"INSERT INTO lms.course VALUES "
	" (400, 'D404', 'Data', 1, '2026-01-01T04:00:00Z');"
	"INSERT INTO lms.enrollment VALUES "
	" (400, 2, 'instructor', '2026-01-02T00:00:00Z');"
	"INSERT INTO lms.enrollment "
	"SELECT 400, id, 'student', '2026-01-02T00:00:00Z' "
	"FROM generate_series(10, 18) id;"
	"INSERT INTO lms.assignment "
	"SELECT id, 400, 'D' || id, '', '2026-01-01T00:00:00Z', due::timestamptz, "
	"  NULL, 100, 0, 0, 0, '{}', NULL, 2, '2026-01-01T00:00:00Z' "
	"FROM (VALUES (40, '2026-01-10T23:59:00Z'), (41, '2026-01-20T23:59:00Z'), "
	"  (42, '2026-02-01T23:59:00Z'), (43, '2026-02-10T23:59:00Z'), "
	"  (44, '2026-02-20T23:59:00Z')) v(id, due);"
	/* (student, assignment, score or NULL): submission id = student * 100
	 * + assignment, submitted a day before the due time */
	"CREATE TEMP TABLE marks (sid int, aid int, score numeric);"
	"INSERT INTO marks VALUES "
	" (10, 40, 90), (10, 41, 90), (10, 42, 90), (10, 43, 95), (10, 44, 95),"
	" (11, 40, 80), (11, 41, 70), (11, 42, 70), (11, 43, 70),"
	" (12, 40, 70), (12, 41, 75), (12, 42, 75.02),"
	" (13, 40, 85), (14, 40, 70), (14, 41, 70.01), (15, 40, 69.99),"
	" (16, 40, 60), (17, 40, 59.99), (18, 44, NULL);"
	"INSERT INTO lms.submission "
	"SELECT m.sid * 100 + m.aid, m.aid, m.sid, 1, a.due_at - interval '1 day', "
	"  'work', NULL, false, 0 "
	"FROM marks m JOIN lms.assignment a ON a.id = m.aid;"
	"INSERT INTO lms.grade "
	"SELECT sid * 100 + aid, score, 0, score, '', 2, '2026-03-01T00:00:00Z' "
	"FROM marks WHERE score IS NOT NULL;"
	"DROP TABLE marks;"
	"UPDATE lms.submission SET attempt = 2 WHERE id = 1044;"
	/* E505 */
	"INSERT INTO lms.app_user "
	"SELECT id, name, initcap(name), 'student', 'x', "
	"  '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' "
	"FROM (VALUES (19, 'olga'), (20, 'pete')) v(id, name);"
	"INSERT INTO lms.course VALUES "
	" (500, 'E505', 'Distributed systems', 1, '2026-01-01T05:00:00Z');"
	"INSERT INTO lms.enrollment VALUES "
	" (500, 2, 'instructor', '2026-01-02T00:00:00Z'),"
	" (500, 19, 'student', '2026-01-02T00:00:00Z'),"
	" (500, 20, 'student', '2026-01-02T00:00:00Z');"
	"INSERT INTO lms.assignment "
	"SELECT id, 500, title, '', '2026-01-01T00:00:00Z', "
	"  ('2026-' || due || 'T23:59:00Z')::timestamptz, NULL, pts, pen, "
	"  0, 0, topics::text[], NULL, 2, '2026-01-01T00:00:00Z' "
	"FROM (VALUES "
	" (61, 'Terms', '01-05', 100, 0, '{raft}'),"
	" (50, 'Elections', '01-10', 100, 0, '{raft}'),"
	" (51, 'Log replication', '01-20', 50, 10, '{raft,logs}'),"
	" (52, 'Essay', '01-25', 100, 0, '{}'),"
	" (53, 'Queries', '02-01', 20, 0, '{sql}'),"
	" (54, 'Snapshots', '02-10', 100, 0, '{raft,raft}'),"
	" (55, 'Compaction', '02-20', 100, 0, '{logs,raft}'),"
	" (56, 'Joins', '03-01', 100, 0, '{sql}'),"
	" (57, 'Indexes', '03-05', 100, 0, '{indexes}'),"
	" (58, 'Membership', '03-10', 100, 0, '{Zab,raft}')) "
	"  v(id, title, due, pts, pen, topics);"
	"INSERT INTO lms.submission VALUES "
	" (5061, 61, 19, 1, '2026-01-05T10:00:00Z', 'terms', NULL, false, 0),"
	" (5050, 50, 19, 1, '2026-01-08T10:00:00Z', 'e1', NULL, false, 0),"
	" (5150, 50, 19, 2, '2026-01-10T10:00:00Z', 'e2', NULL, false, 0),"
	" (5051, 51, 19, 1, '2026-01-21T10:00:00Z', 'log', NULL, true, 1),"
	" (5052, 52, 19, 1, '2026-01-25T10:00:00Z', 'essay', NULL, false, 0),"
	" (5053, 53, 19, 1, '2026-01-28T10:00:00Z', 'q1', NULL, false, 0),"
	" (5153, 53, 19, 2, '2026-01-30T10:00:00Z', 'q2', NULL, false, 0),"
	" (5253, 53, 19, 3, '2026-02-01T10:00:00Z', 'q3', NULL, false, 0),"
	" (5054, 54, 19, 1, '2026-02-10T10:00:00Z', 'snap', NULL, false, 0),"
	" (5055, 55, 19, 1, '2026-02-20T10:00:00Z', 'compact', NULL, false, 0),"
	" (5057, 57, 19, 1, '2026-03-05T10:00:00Z', 'idx', NULL, false, 0),"
	" (5058, 58, 19, 1, '2026-03-10T10:00:00Z', 'members', NULL, false, 0),"
	" (6050, 50, 20, 1, '2026-01-10T10:00:00Z', 'pete', NULL, false, 0);"
	"INSERT INTO lms.grade VALUES "
	" (5061, 72, 0, 72, '', 2, '2026-01-06T10:00:00Z'),"
	" (5050, 40, 0, 40, '', 2, '2026-01-09T10:00:00Z'),"
	" (5150, 88, 0, 88, '', 2, '2026-01-11T10:00:00Z'),"
	" (5051, 45, 10, 40.5, '', 2, '2026-01-22T10:00:00Z'),"
	" (5052, 100, 0, 100, '', 2, '2026-01-26T10:00:00Z'),"
	" (5053, 19, 0, 19, '', 2, '2026-01-29T10:00:00Z'),"
	" (5153, 13, 0, 13, '', 2, '2026-01-31T10:00:00Z'),"
	" (5054, 64.5, 0, 64.5, '', 2, '2026-02-11T10:00:00Z'),"
	" (5055, 90.33, 0, 90.33, '', 2, '2026-02-21T10:00:00Z'),"
	" (5058, 77, 0, 77, '', 2, '2026-03-11T10:00:00Z');"
	"INSERT INTO lms.submission VALUES "
	" (9044, 44, 10, 1, '2026-02-17T23:59:00Z', 'draft', NULL, false, 0),"
	" (240, 40, 2, 1, '2026-01-05T00:00:00Z', 'test run', NULL, false, 0);"
	"INSERT INTO lms.grade VALUES "
	" (9044, 50, 0, 50, 'first try', 2, '2026-02-18T00:00:00Z'),"
	" (240, 10, 0, 10, 'test run', 2, '2026-01-05T00:00:00Z');";

static int setup(void **state)
{
	int rv = rt_setup(state);
	struct rt *t = *state;
	PGresult *res = PQexec(t->conn, extra_sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "extra fixture: %s", PQerrorMessage(t->conn));
		rv = -1;
	}
	PQclear(res);
	return rv;
}

static void assert_score(double got, double want)
{
	if (fabs(got - want) > 1e-9)
		fail_msg("score %.6f, expected %.2f", got, want);
}

/* ---------------------------------------------------------- progress */

struct want {
	const char *course, *student;
	unsigned assignments, done, due, missing, late, graded;
	double average;
	const char *level, *trend;
	size_t n_recent;
	double recent[5];
};

static void expect_progress(const Lms__Rpc__Progress *p, const struct want *w)
{
	assert_string_equal(p->course, w->course);
	assert_string_equal(p->student, w->student);
	assert_int_equal(p->assignments, w->assignments);
	assert_int_equal(p->done, w->done);
	assert_int_equal(p->due, w->due);
	assert_int_equal(p->missing, w->missing);
	assert_int_equal(p->late, w->late);
	assert_int_equal(p->graded, w->graded);
	assert_score(p->average, w->average);
	assert_string_equal(p->level, w->level);
	assert_string_equal(p->trend, w->trend);
	assert_int_equal(p->n_recent, w->n_recent);
	for (size_t i = 0; i < w->n_recent; i++)
		assert_score(p->recent[i], w->recent[i]);
}

static Lms__Rpc__ProgressResponse *progress(struct rt *t, const char *who,
                                            const char *course,
                                            const char *student)
{
	Lms__Rpc__ProgressRequest q = LMS__RPC__PROGRESS_REQUEST__INIT;
	q.course = (char *)course;
	q.student = (char *)student;
	return RT_OK(t, who, read_progress, &q, OK_PROGRESS)->progress;
}

/* The fixture of readtest.h, at RT_NOW (03-15): A has 10..14 open (15
 * opens 04-01), B 20..25. */
static const struct want alice_a = {
	/* 11: latest attempt late; graded in due order 80, 60 (30/50), 95
	 * (19/20), 90; average 325 / 4 = 81.25; d = (95 + 90) / 2 -
	 * (80 + 60) / 2 = 22.5 */
	"A101", "alice", 5, 5, 0, 0, 1, 4, 81.25, "intermediate", "improving",
	4, {80, 60, 95, 90}};
static const struct want alice_b = {
	/* nothing submitted: 20..24 past due, 25 (due 03-25) still due */
	"B202", "alice", 6, 0, 1, 5, 0, 0, 0, "", "", 0, {0}};
static const struct want bob_a = {
	/* 14 not submitted, due 03-20: due; 13 one day late, 70 -> 63;
	 * 95, 88 (44/50), 70 (14/20), 63: 316 / 4 = 79; d = 66.5 - 91.5 */
	"A101", "bob", 5, 4, 1, 0, 1, 4, 79.00, "intermediate", "declining",
	4, {95, 88, 70, 63}};
static const struct want carol_a = {
	/* 11 missed (due 01-20); 13 extended to 03-20 and 14: due;
	 * 50, 55 (11/20): 52.5; two scores: no trend */
	"A101", "carol", 5, 2, 2, 1, 0, 2, 52.50, "beginner", "", 2, {50, 55}};
static const struct want dave_b = {
	/* six graded: 60 70 (35/50) 74 73 75 72, 424 / 6 = 70.666.. ->
	 * 70.67; recent = the last five; d = 73.5 - 72.33 = 1.17 */
	"B202", "dave", 6, 6, 0, 0, 0, 6, 70.67, "intermediate", "steady",
	5, {70, 74, 73, 75, 72}};

static void test_progress_fixture(void **state)
{
	struct rt *t = *state;
	Lms__Rpc__ProgressResponse *r = progress(t, "alice", "", "");
	assert_int_equal(r->n_progress, 2);
	expect_progress(r->progress[0], &alice_a);
	expect_progress(r->progress[1], &alice_b);
	r = progress(t, "alice", "B202", "");
	assert_int_equal(r->n_progress, 1);
	expect_progress(r->progress[0], &alice_b);
	r = progress(t, "alice", "A101", "alice");
	assert_int_equal(r->n_progress, 1);
	expect_progress(r->progress[0], &alice_a);

	r = progress(t, "bob", "", "");
	assert_int_equal(r->n_progress, 1);
	expect_progress(r->progress[0], &bob_a);
	r = progress(t, "carol", "", "");
	assert_int_equal(r->n_progress, 1);
	expect_progress(r->progress[0], &carol_a);
	r = progress(t, "dave", "", "");
	assert_int_equal(r->n_progress, 1);
	expect_progress(r->progress[0], &dave_b);

	/* staff of the course name a student of it; an admin anywhere */
	expect_progress(progress(t, "ins1", "A101", "bob")->progress[0], &bob_a);
	expect_progress(progress(t, "ta1", "A101", "carol")->progress[0],
	                &carol_a);
	expect_progress(progress(t, "ins2", "B202", "alice")->progress[0],
	                &alice_b);
	expect_progress(progress(t, "admin", "A101", "alice")->progress[0],
	                &alice_a);
	r = progress(t, "admin", "", "alice");
	assert_int_equal(r->n_progress, 2);
	expect_progress(r->progress[1], &alice_b);

	/* no student courses: an empty answer */
	assert_int_equal(progress(t, "ins1", "", "")->n_progress, 0);
	assert_int_equal(progress(t, "tutor", "", "")->n_progress, 0);
	assert_int_equal(progress(t, "ta1", "", "")->n_progress, 0);
}

static void test_progress_refused(void **state)
{
	struct rt *t = *state;
	Lms__Rpc__ProgressRequest q = LMS__RPC__PROGRESS_REQUEST__INIT;
	q.course = "A101";
	q.student = "bob";
	RT_REFUSED(t, "alice", read_progress, &q, DENIED, NULL);
	RT_REFUSED(t, "carol", read_progress, &q, DENIED, NULL);
	RT_REFUSED(t, "ins2", read_progress, &q, DENIED, NULL);
	RT_REFUSED(t, "dave", read_progress, &q, DENIED, NULL);
	/* the tutor account may read a named student's progress in a named
	 * course (to adapt its answers), and nothing wider */
	Lms__Rpc__ProgressResponse *tr = progress(t, "tutor", "A101", "bob");
	assert_int_equal(tr->n_progress, 1);
	expect_progress(tr->progress[0], &bob_a);
	q.course = "";
	RT_REFUSED(t, "tutor", read_progress, &q, DENIED, NULL);
	q.course = "A101";
	q.course = "";
	RT_REFUSED(t, "alice", read_progress, &q, DENIED, NULL);
	RT_REFUSED(t, "ins1", read_progress, &q, DENIED, "course");
	q.course = "B202";
	q.student = "dave";
	RT_REFUSED(t, "alice", read_progress, &q, DENIED, NULL);
	RT_REFUSED(t, "ins1", read_progress, &q, DENIED, NULL);
	q.course = "A101";
	RT_REFUSED(t, "ins1", read_progress, &q, NOTFOUND, "not a student");
	q.student = "ta1";
	RT_REFUSED(t, "ins1", read_progress, &q, NOTFOUND, "not a student");
	q.student = "";
	RT_REFUSED(t, "dave", read_progress, &q, DENIED, "not enrolled");
	/* the course's staff (and an admin) naming no student get every
	 * student of the course, by username */
	static const char *const staff[] = {"ins1", "ta1", "admin"};
	for (int i = 0; i < 3; i++) {
		Lms__Rpc__ProgressResponse *r = progress(t, staff[i], "A101", "");
		assert_int_equal(r->n_progress, 3);
		expect_progress(r->progress[0], &alice_a);
		expect_progress(r->progress[1], &bob_a);
		expect_progress(r->progress[2], &carol_a);
	}
	q.course = "Z999";
	RT_REFUSED(t, "alice", read_progress, &q, NOTFOUND, "Z999");
}

static void test_progress_boundaries(void **state)
{
	struct rt *t = *state;
	static const struct want d[] = {
		{"D404", "eve", 5, 5, 0, 0, 0, 5, 92.00, "advanced", "steady",
		 5, {90, 90, 90, 95, 95}},
		{"D404", "frank", 5, 4, 0, 1, 0, 4, 72.50, "intermediate",
		 "steady", 4, {80, 70, 70, 70}},
		{"D404", "gina", 5, 3, 0, 2, 0, 3, 73.34, "intermediate",
		 "improving", 3, {70, 75, 75.02}},
		{"D404", "hank", 5, 1, 0, 4, 0, 1, 85.00, "advanced", "", 1,
		 {85}},
		{"D404", "ivy", 5, 2, 0, 3, 0, 2, 70.01, "intermediate", "", 2,
		 {70, 70.01}},
		{"D404", "jack", 5, 1, 0, 4, 0, 1, 69.99, "beginner", "", 1,
		 {69.99}},
		{"D404", "lee", 5, 1, 0, 4, 0, 1, 60.00, "beginner", "", 1, {60}},
		{"D404", "mo", 5, 1, 0, 4, 0, 1, 59.99, "beginner", "", 1,
		 {59.99}},
		{"D404", "nia", 5, 1, 0, 4, 0, 0, 0, "", "", 0, {0}},
	};
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
		Lms__Rpc__ProgressResponse *r =
			progress(t, d[i].student, "", "");
		assert_int_equal(r->n_progress, 1);
		expect_progress(r->progress[0], &d[i]);
		r = progress(t, "ins1", "D404", d[i].student);
		expect_progress(r->progress[0], &d[i]);
	}
}

/* ---------------------------------------------------- progress per topic */

struct want_topic {
	const char *topic;
	unsigned graded;
	double average;
	const char *level;
	size_t n_recent;
	double recent[5];
};

static void expect_topics(const Lms__Rpc__Progress *p,
                          const struct want_topic *w, size_t n)
{
	if (p->n_topics != n)
		fail_msg("%s in %s: %zu topics, expected %zu", p->student,
		         p->course, p->n_topics, n);
	for (size_t i = 0; i < n; i++) {
		const Lms__Rpc__TopicProgress *tp = p->topics[i];
		assert_string_equal(tp->topic, w[i].topic);
		assert_int_equal(tp->graded, w[i].graded);
		assert_score(tp->average, w[i].average);
		assert_string_equal(tp->level, w[i].level);
		assert_int_equal(tp->n_recent, w[i].n_recent);
		for (size_t k = 0; k < w[i].n_recent; k++)
			assert_score(tp->recent[k], w[i].recent[k]);
	}
}

static const struct want olga_e = {
	/* 10 open, 56 missed; 51 late; graded in due order 72 88 81 100 65
	 * 64.5 90.33 77 = 637.83 / 8 = 79.72875 -> 79.73; recent the last
	 * five; d = (90.33 + 77) / 2 - (100 + 65 + 64.5) / 3 = 7.165 */
	"E505", "olga", 10, 9, 0, 1, 1, 8, 79.73, "intermediate", "improving",
	5, {100, 65, 64.5, 90.33, 77}};
static const struct want_topic olga_topics[] = {
	/* bytewise: upper case first */
	{"Zab", 1, 77.00, "intermediate", 1, {77}},
	/* 51 and 55: 171.33 / 2 = 85.665 -> 85.67, advanced */
	{"logs", 2, 85.67, "advanced", 2, {81, 90.33}},
	/* 61 50 51 54 55 58 by due time (61 first: due 01-05, though its id
	 * is the highest): 472.83 / 6 = 78.805 -> 78.81 (half up); 54 lists
	 * raft twice and counts once; recent drops 61's 72 */
	{"raft", 6, 78.81, "intermediate", 5, {88, 81, 64.5, 90.33, 77}},
	/* 53's later attempt (65) counts, not the 95 before it nor the
	 * ungraded attempt 3; 56 (not submitted) counts for nothing */
	{"sql", 1, 65.00, "beginner", 1, {65}},
	/* and no "indexes" (57 not graded), nothing for 52 ({}) */
};
static const struct want pete_e = {
	"E505", "pete", 10, 1, 0, 9, 0, 0, 0, "", "", 0, {0}};

/* The fixture of readtest.h: one topic per assignment except 11
 * {sorting,arrays} and 14 {} */
static const struct want_topic alice_a_topics[] = {
	{"arrays", 1, 60.00, "beginner", 1, {60}},
	{"dp", 1, 90.00, "advanced", 1, {90}},
	{"graphs", 1, 95.00, "advanced", 1, {95}},
	{"sorting", 1, 60.00, "beginner", 1, {60}},
	{"writing", 1, 80.00, "intermediate", 1, {80}},
};
static const struct want_topic bob_a_topics[] = {
	{"arrays", 1, 88.00, "advanced", 1, {88}},
	{"dp", 1, 63.00, "beginner", 1, {63}},
	{"graphs", 1, 70.00, "intermediate", 1, {70}},
	{"sorting", 1, 88.00, "advanced", 1, {88}},
	{"writing", 1, 95.00, "advanced", 1, {95}},
};
static const struct want_topic carol_a_topics[] = {
	/* 11 (sorting, arrays) missed */
	{"graphs", 1, 55.00, "beginner", 1, {55}},
	{"writing", 1, 50.00, "beginner", 1, {50}},
};

#define N_OF(a) (sizeof (a) / sizeof (a)[0])

static void test_progress_topics(void **state)
{
	struct rt *t = *state;
	/* the student, the course's staff, an admin, and the tutor account
	 * naming the student and the course */
	static const char *const readers[] = {"olga", "ins1", "admin",
	                                      "tutor"};
	for (size_t i = 0; i < N_OF(readers); i++) {
		Lms__Rpc__ProgressResponse *r =
			progress(t, readers[i], "E505",
			         strcmp(readers[i], "olga") ? "olga" : "");
		assert_int_equal(r->n_progress, 1);
		expect_progress(r->progress[0], &olga_e);
		expect_topics(r->progress[0], olga_topics, N_OF(olga_topics));
	}
	/* nothing graded: no topics (also in the whole course's answer) */
	Lms__Rpc__ProgressResponse *r = progress(t, "pete", "", "");
	assert_int_equal(r->n_progress, 1);
	expect_progress(r->progress[0], &pete_e);
	expect_topics(r->progress[0], NULL, 0);
	r = progress(t, "ins1", "E505", "");
	assert_int_equal(r->n_progress, 2);
	expect_topics(r->progress[0], olga_topics, N_OF(olga_topics));
	expect_topics(r->progress[1], NULL, 0);

	/* the fixture of readtest.h */
	r = progress(t, "alice", "", "");
	assert_int_equal(r->n_progress, 2);
	expect_topics(r->progress[0], alice_a_topics, N_OF(alice_a_topics));
	expect_topics(r->progress[1], NULL, 0); /* B202: nothing graded */
	r = progress(t, "tutor", "A101", "bob");
	expect_progress(r->progress[0], &bob_a);
	expect_topics(r->progress[0], bob_a_topics, N_OF(bob_a_topics));
	r = progress(t, "ta1", "A101", "carol");
	expect_topics(r->progress[0], carol_a_topics, N_OF(carol_a_topics));
	/* six grades, all of assignments without topics */
	r = progress(t, "dave", "", "");
	expect_progress(r->progress[0], &dave_b);
	expect_topics(r->progress[0], NULL, 0);

	/* the tutor: still a named student in a named course only */
	Lms__Rpc__ProgressRequest q = LMS__RPC__PROGRESS_REQUEST__INIT;
	q.course = "E505";
	RT_REFUSED(t, "tutor", read_progress, &q, DENIED, NULL);
	q.course = "";
	q.student = "olga";
	RT_REFUSED(t, "tutor", read_progress, &q, DENIED, NULL);
}

/* The topics' query failing after the rest of the student's progress was
 * read: -1, nothing hung on the Response (nothing leaked, under the
 * sanitizers). */
static void test_progress_topics_failure(void **state)
{
	struct rt *t = *state;
	static const char gone[] = "BEGIN; "
		"ALTER TABLE lms.assignment RENAME COLUMN topics TO gone";
	pgtest_exec(t->conn, gone);
	Lms__Rpc__ProgressRequest q = LMS__RPC__PROGRESS_REQUEST__INIT;
	q.course = "E505"; /* olga, then pete */
	rt_failed(t, read_progress(rt_as(t, "ins1"), &q));
	pgtest_exec(t->conn, "ROLLBACK");
	pgtest_exec(t->conn, gone);
	/* nothing graded: the topics are not asked for */
	q.student = "pete";
	expect_progress(RT_OK(t, "ins1", read_progress, &q, OK_PROGRESS)
	                        ->progress->progress[0], &pete_e);
	q.student = "olga";
	rt_failed(t, read_progress(rt_as(t, "tutor"), &q));
	pgtest_exec(t->conn, "ROLLBACK");
	expect_topics(RT_OK(t, "tutor", read_progress, &q, OK_PROGRESS)
	                      ->progress->progress[0],
	              olga_topics, N_OF(olga_topics));
}

/* The counted grade is the latest graded attempt in grades and the
 * gradebook too; staff submissions are not students' grades. */
static void test_counted_grades(void **state)
{
	struct rt *t = *state;
	Lms__Rpc__GradesRequest q = LMS__RPC__GRADES_REQUEST__INIT;
	Lms__Rpc__GradesResponse *g = RT_OK(t, "eve", read_grades, &q,
		LMS__RPC__RESPONSE__RESULT_GRADES)->grades;
	assert_int_equal(g->n_grades, 5);
	assert_int_equal(g->grades[4]->submission_id, 1044);
	assert_int_equal(g->grades[4]->attempt, 2);
	assert_score(g->grades[4]->final_score, 95);

	static const char want[] =
		"student,display_name,D40 (100),D41 (100),D42 (100),D43 (100),"
		"D44 (100),average\r\n"
		"eve,Eve,90.00,90.00,90.00,95.00,95.00,92.00\r\n"
		"frank,Frank,80.00,70.00,70.00,70.00,,72.50\r\n"
		"gina,Gina,70.00,75.00,75.02,,,73.34\r\n"
		"hank,Hank,85.00,,,,,85.00\r\n"
		"ivy,Ivy,70.00,70.01,,,,70.01\r\n"
		"jack,Jack,69.99,,,,,69.99\r\n"
		"lee,Lee,60.00,,,,,60.00\r\n"
		"mo,Mo,59.99,,,,,59.99\r\n"
		"nia,Nia,,,,,,\r\n";
	Lms__Rpc__GradebookRequest b = LMS__RPC__GRADEBOOK_REQUEST__INIT;
	b.course = "D404";
	Lms__Rpc__GradebookResponse *r = RT_OK(t, "ins1", read_gradebook, &b,
		LMS__RPC__RESPONSE__RESULT_GRADEBOOK)->gradebook;
	assert_string_equal(r->csv, want);
	assert_int_equal(r->students, 9);
	assert_int_equal(r->assignments, 5);
}

/* ------------------------------------------------------------- stats */

static Lms__Rpc__StatsResponse *stats(struct rt *t, const char *who,
                                      const char *course)
{
	Lms__Rpc__StatsRequest q = LMS__RPC__STATS_REQUEST__INIT;
	q.course = (char *)course;
	return RT_OK(t, who, read_stats, &q, OK_STATS)->stats;
}

static void expect_assignment(const Lms__Rpc__AssignmentStats *a, uint64_t id,
                              unsigned submitted, unsigned students,
                              double rate, unsigned graded, double mean)
{
	assert_int_equal(a->assignment_id, id);
	assert_int_equal(a->submitted, submitted);
	assert_int_equal(a->students, students);
	assert_score(a->submission_rate, rate);
	assert_int_equal(a->graded, graded);
	assert_score(a->mean, mean);
}

static void test_stats_a(void **state)
{
	struct rt *t = *state;
	/* averages alice 81.25, bob 79.00, carol 52.50: mean 212.75 / 3 =
	 * 70.9166 -> 70.92; median 79; B, C, F */
	const char *staff[] = {"ins1", "ta1", "admin"};
	for (int i = 0; i < 3; i++) {
		Lms__Rpc__StatsResponse *s = stats(t, staff[i], "A101");
		assert_string_equal(s->course, "A101");
		assert_int_equal(s->students, 3);
		assert_int_equal(s->graded_students, 3);
		assert_score(s->mean, 70.92);
		assert_score(s->median, 79.00);
		assert_score(s->high, 81.25);
		assert_score(s->low, 52.50);
		assert_int_equal(s->grade_a, 0);
		assert_int_equal(s->grade_b, 1);
		assert_int_equal(s->grade_c, 1);
		assert_int_equal(s->grade_d, 0);
		assert_int_equal(s->grade_f, 1);
		assert_int_equal(s->open_questions, 3); /* 601, 603, 605 */
		assert_int_equal(s->n_assignments, 6);
		/* by due time: 10 all three (80 95 50: 75), 11 alice + bob
		 * (60 88: 74), 12 all (95 70 55: 73.33), 13 alice + bob (90
		 * 63: 76.5), 14 alice only, not graded, 15 nobody */
		expect_assignment(s->assignments[0], 10, 3, 3, 100, 3, 75.00);
		assert_string_equal(s->assignments[0]->title, "Intro essay");
		expect_assignment(s->assignments[1], 11, 2, 3, 66.67, 2, 74.00);
		expect_assignment(s->assignments[2], 12, 3, 3, 100, 3, 73.33);
		expect_assignment(s->assignments[3], 13, 2, 3, 66.67, 2, 76.50);
		expect_assignment(s->assignments[4], 14, 1, 3, 33.33, 0, 0);
		expect_assignment(s->assignments[5], 15, 0, 3, 0, 0, 0);
	}

	/* B: one graded student of two */
	Lms__Rpc__StatsResponse *s = stats(t, "ins2", "B202");
	assert_int_equal(s->students, 2);
	assert_int_equal(s->graded_students, 1);
	assert_score(s->mean, 70.67);
	assert_score(s->median, 70.67);
	assert_score(s->high, 70.67);
	assert_score(s->low, 70.67);
	assert_int_equal(s->grade_c, 1);
	assert_int_equal(s->grade_a + s->grade_b + s->grade_d + s->grade_f, 0);
	assert_int_equal(s->open_questions, 2);
	expect_assignment(s->assignments[1], 21, 1, 2, 50, 1, 70.00);

	/* an empty course */
	s = stats(t, "admin", "C303");
	assert_int_equal(s->students, 0);
	assert_int_equal(s->graded_students, 0);
	assert_score(s->mean, 0);
	assert_int_equal(s->n_assignments, 0);
	assert_int_equal(s->open_questions, 0);

	Lms__Rpc__StatsRequest q = LMS__RPC__STATS_REQUEST__INIT;
	q.course = "A101";
	RT_REFUSED(t, "alice", read_stats, &q, DENIED, NULL);
	RT_REFUSED(t, "ins2", read_stats, &q, DENIED, NULL);
	RT_REFUSED(t, "dave", read_stats, &q, DENIED, NULL);
	RT_REFUSED(t, "tutor", read_stats, &q, DENIED, NULL);
	q.course = "Z999";
	RT_REFUSED(t, "admin", read_stats, &q, NOTFOUND, "Z999");
}

static void test_stats_boundaries(void **state)
{
	struct rt *t = *state;
	/* averages 59.99 60.00 69.99 70.01 72.50 73.34 85.00 92.00 (nia has
	 * none): mean 582.83 / 8 = 72.85375 -> 72.85; even count: median
	 * (70.01 + 72.50) / 2 = 71.255 -> 71.26 (half up) */
	Lms__Rpc__StatsResponse *s = stats(t, "ins1", "D404");
	assert_int_equal(s->students, 9);
	assert_int_equal(s->graded_students, 8);
	assert_score(s->mean, 72.85);
	assert_score(s->median, 71.26);
	assert_score(s->high, 92.00);
	assert_score(s->low, 59.99);
	assert_int_equal(s->grade_a, 1); /* 92 */
	assert_int_equal(s->grade_b, 1); /* 85 */
	assert_int_equal(s->grade_c, 3); /* 70.01 72.50 73.34 */
	assert_int_equal(s->grade_d, 2); /* 60.00 69.99 */
	assert_int_equal(s->grade_f, 1); /* 59.99 */
	assert_int_equal(s->n_assignments, 5);
	/* 40: eight of nine (88.888 -> 88.89), mean 584.98 / 8 = 73.1225;
	 * 41: 90 70 75 70.01 = 305.01 / 4 = 76.2525; 42: 90 70 75.02 =
	 * 235.02 / 3 = 78.34; 43: 95 70; 44: eve 95 and nia ungraded */
	expect_assignment(s->assignments[0], 40, 8, 9, 88.89, 8, 73.12);
	expect_assignment(s->assignments[1], 41, 4, 9, 44.44, 4, 76.25);
	expect_assignment(s->assignments[2], 42, 3, 9, 33.33, 3, 78.34);
	expect_assignment(s->assignments[3], 43, 2, 9, 22.22, 2, 82.50);
	expect_assignment(s->assignments[4], 44, 2, 9, 22.22, 1, 95.00);
	assert_int_equal(s->open_questions, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_progress_fixture),
		cmocka_unit_test(test_progress_refused),
		cmocka_unit_test(test_progress_boundaries),
		cmocka_unit_test(test_progress_topics),
		cmocka_unit_test(test_progress_topics_failure),
		cmocka_unit_test(test_counted_grades),
		cmocka_unit_test(test_stats_a),
		cmocka_unit_test(test_stats_boundaries),
	};
	return cmocka_run_group_tests(tests, setup, rt_teardown);
}

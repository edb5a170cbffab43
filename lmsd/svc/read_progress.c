/*
 * read_progress.c -- progress (one student's standing per course) and
 * stats (a course's figures, for its staff).
 *
 * Every figure is computed from the same definitions:
 *
 *   counted grade  the grade of the student's latest graded attempt of an
 *                  assignment (a later, ungraded attempt does not hide it)
 *   normalized     final_score / max_points * 100, exact (numeric)
 *   average        mean of a student's normalized counted grades, rounded
 *                  half up to two decimals ("nothing graded" when none)
 *
 * progress, per course, over the assignments already open (opens_at <=
 * now, the reading node's clock):
 *   assignments  how many are open
 *   done         the student has a submission
 *   late         ... and their latest attempt was late
 *   missing      no submission and now is past the effective due time
 *                (the student's extension, else the assignment's)
 *   due          no submission, not past the effective due time
 *                (done + missing + due = assignments)
 *   graded       with a counted grade
 *   average      as above; level: "" when nothing is graded, else
 *                "beginner" below 70, "intermediate" below 85,
 *                "advanced" from 85 on
 *   recent       the last (up to) 5 normalized counted grades, each rounded
 *                to two decimals, ordered by the assignment's own due time
 *                (then id), oldest first
 *   trend        with k = |recent| >= 3 values r1..rk:
 *                    d = (r(k-1) + rk) / 2 - (r1 + ... + r(k-2)) / (k-2)
 *                "improving" if d > 5, "declining" if d < -5, "steady"
 *                otherwise; "" when k < 3. Computed exactly in integers:
 *                with A = r(k-1) + rk and B = r1 + ... + r(k-2) in
 *                hundredths and m = k - 2, d > 5 <=> A*m - 2*B > 1000*m.
 *   topics       one per topic of the counted grades above: a counted
 *                grade has the topics of its assignment
 *                (lms.assignment.topics, each distinct topic once; an
 *                assignment without topics counts in no topic). Ordered by
 *                topic, bytewise (COLLATE "C"); only topics with at least
 *                one counted grade. Per topic, over the counted grades
 *                with that topic:
 *                  graded   how many
 *                  average  their mean as above (numeric, rounded half up
 *                           to two decimals), level from it as above
 *                  recent   the last (up to) 5, as above (assignment due
 *                           time, then id; oldest first)
 *                (no trend per topic). Topics are compared as written:
 *                "Raft" and "raft" are two topics.
 *
 * stats, for the course's instructors and TAs and admins:
 *   students           enrolled as students
 *   graded_students    students with at least one counted grade
 *   mean, median, high, low   over those students' averages (two
 *                      decimals; the median of an even count is the mean
 *                      of the middle two; means rounded half up)
 *   grade_a..grade_f   those averages >= 90 A, >= 80 B, >= 70 C, >= 60 D,
 *                      else F
 *   per assignment (by due time, then id): students with a submission,
 *                      submission_rate = submitted / students * 100, the
 *                      number of counted grades and their normalized mean
 *   open_questions     the course's questions with status open or claimed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read_util.h"

#define RECENT_MAX 5

/* n / d rounded half up, for n >= 0, d > 0 */
static int64_t div_half_up(int64_t n, int64_t d)
{
	return (2 * n + d) / (2 * d);
}

static const char *level_of(int64_t avg_h)
{
	return avg_h < 7000 ? "beginner"
	       : avg_h < 8500 ? "intermediate"
	                      : "advanced";
}

/* The trend of recent scores r[0..k) (hundredths, oldest first). */
static const char *trend_of(const int64_t *r, size_t k)
{
	if (k < 3)
		return "";
	int64_t m = (int64_t)k - 2;
	int64_t a = r[k - 2] + r[k - 1], b = 0;
	for (size_t i = 0; i < k - 2; i++)
		b += r[i];
	int64_t v = a * m - 2 * b; /* = 2m * d, d in hundredths */
	if (v > 1000 * m)
		return "improving";
	if (v < -1000 * m)
		return "declining";
	return "steady";
}

/* ------------------------------------------------------------ progress */

/*
 * The topics of g, the progress of student_id in course_id: one row per
 * (topic, counted grade), grouped by topic and in due order within it,
 * with the topic's average computed by the database (exact numeric, as
 * the overall average). 0, or -1 (x->err set; g keeps what was built,
 * the caller frees it).
 */
static int progress_topics(struct svc_ctx *x, int64_t course_id,
                           int64_t student_id, Lms__Rpc__Progress *g)
{
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	svc_p_i64(&p, student_id);
	svc_p_text(&p, x->now);
	PGresult *res = svc_query(x,
		"SELECT t.topic, round(k.norm, 2), "
		"  round(avg(k.norm) OVER "
		"    (PARTITION BY t.topic COLLATE \"C\"), 2) "
		"FROM lms.assignment a "
		"JOIN LATERAL ( "
		"  SELECT g.final_score * 100 / a.max_points AS norm "
		"  FROM lms.submission s "
		"  JOIN lms.grade g ON g.submission_id = s.id "
		"  WHERE s.assignment_id = a.id AND s.student_id = $2 "
		"  ORDER BY s.attempt DESC LIMIT 1) k ON true "
		"CROSS JOIN LATERAL ( "
		"  SELECT DISTINCT u FROM unnest(a.topics) u) t(topic) "
		"WHERE a.course_id = $1 AND a.opens_at <= $3::timestamptz "
		"ORDER BY t.topic COLLATE \"C\", a.due_at, a.id", &p);
	if (!res)
		return -1;
	int n = PQntuples(res);
	size_t ntopics = 0;
	for (int r = 0; r < n; r++)
		if (r == 0 || strcmp(PQgetvalue(res, r, 0),
		                     PQgetvalue(res, r - 1, 0)) != 0)
			ntopics++;
	bool oom = false;
	g->topics = rdu_array(ntopics, &oom);
	/* each topic's rows [b, e) */
	for (int b = 0, e; b < n && !oom; b = e) {
		const char *name = PQgetvalue(res, b, 0);
		for (e = b + 1;
		     e < n && strcmp(PQgetvalue(res, e, 0), name) == 0; e++)
			;
		Lms__Rpc__TopicProgress *tp = malloc(sizeof *tp);
		if (!tp) {
			oom = true;
			break;
		}
		lms__rpc__topic_progress__init(tp);
		g->topics[g->n_topics++] = tp;
		tp->topic = rdu_dup(name, &oom);
		tp->graded = (uint32_t)(e - b);
		int64_t avg_h = rdu_hundredths(res, b, 2);
		tp->average = rdu_score(avg_h);
		tp->level = rdu_dup(level_of(avg_h), &oom);
		int first = e - b > RECENT_MAX ? e - RECENT_MAX : b;
		tp->recent = malloc((size_t)(e - first) * sizeof *tp->recent);
		if (!tp->recent) {
			oom = true;
			break;
		}
		for (int r = first; r < e; r++)
			tp->recent[tp->n_recent++] =
				rdu_score(rdu_hundredths(res, r, 1));
	}
	PQclear(res);
	return oom ? rdu_oom(x) : 0;
}

/* The progress of student_id (username student) in course_id (code). */
static int progress_one(struct svc_ctx *x, int64_t course_id,
                        const char *code, int64_t student_id,
                        const char *student, Lms__Rpc__Progress **out)
{
	*out = NULL;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	svc_p_i64(&p, student_id);
	svc_p_text(&p, x->now);
	PGresult *res = svc_query(x,
		"SELECT "
		"  EXISTS (SELECT 1 FROM lms.submission s "
		"    WHERE s.assignment_id = a.id AND s.student_id = $2), "
		"  COALESCE((SELECT s.late FROM lms.submission s "
		"    WHERE s.assignment_id = a.id AND s.student_id = $2 "
		"    ORDER BY s.attempt DESC LIMIT 1), false), "
		"  COALESCE(e.due_at, a.due_at) < $3::timestamptz, "
		"  round(k.norm, 2), "
		"  round(avg(k.norm) OVER (), 2) "
		"FROM lms.assignment a "
		"LEFT JOIN lms.extension e ON e.assignment_id = a.id "
		"  AND e.user_id = $2 "
		"LEFT JOIN LATERAL ( "
		"  SELECT g.final_score * 100 / a.max_points AS norm "
		"  FROM lms.submission s JOIN lms.grade g ON g.submission_id = s.id "
		"  WHERE s.assignment_id = a.id AND s.student_id = $2 "
		"  ORDER BY s.attempt DESC LIMIT 1) k ON true "
		"WHERE a.course_id = $1 AND a.opens_at <= $3::timestamptz "
		"ORDER BY a.due_at, a.id", &p);
	if (!res)
		return -1;

	Lms__Rpc__Progress *g = malloc(sizeof *g);
	if (!g) {
		PQclear(res);
		return rdu_oom(x);
	}
	lms__rpc__progress__init(g);
	bool oom = false;
	g->course = rdu_dup(code, &oom);
	g->student = rdu_dup(student, &oom);
	int n = PQntuples(res);
	int64_t recent[RECENT_MAX];
	size_t nrecent = 0;
	int64_t avg_h = 0;
	for (int r = 0; r < n; r++) {
		g->assignments++;
		bool done = svc_bool(res, r, 0);
		if (done) {
			g->done++;
			if (svc_bool(res, r, 1))
				g->late++;
		} else if (svc_bool(res, r, 2)) {
			g->missing++;
		} else {
			g->due++;
		}
		if (!svc_null(res, r, 3)) {
			g->graded++;
			avg_h = rdu_hundredths(res, r, 4);
			if (nrecent == RECENT_MAX) {
				memmove(recent, recent + 1,
				        (RECENT_MAX - 1) * sizeof *recent);
				nrecent--;
			}
			recent[nrecent++] = rdu_hundredths(res, r, 3);
		}
	}
	PQclear(res);
	if (g->graded) {
		g->average = rdu_score(avg_h);
		g->level = rdu_dup(level_of(avg_h), &oom);
		g->trend = rdu_dup(trend_of(recent, nrecent), &oom);
		g->recent = malloc(nrecent * sizeof *g->recent);
		if (!g->recent)
			oom = true;
		for (size_t i = 0; g->recent && i < nrecent; i++)
			g->recent[g->n_recent++] = rdu_score(recent[i]);
	}
	if (oom)
		return rdu_fail(x, &g->base, true);
	if (g->graded && progress_topics(x, course_id, student_id, g) < 0)
		return rdu_fail(x, &g->base, false);
	*out = g;
	return 1;
}

/* Staff (or an admin) asking for a course without naming a student get
 * every student of the course: 1 with *course_id set, 0 not that case,
 * -1. */
static int whole_course(struct svc_ctx *x, const Lms__Rpc__ProgressRequest *q,
                        int64_t *course_id)
{
	if (*q->student || !*q->course)
		return 0;
	int rv = svc_course_id(x, q->course, course_id);
	if (rv <= 0)
		return rv;
	if (x->actor->role == LMS__RPC__ROLE__ROLE_ADMIN)
		return 1;
	int role = svc_course_role(x, *course_id, x->actor->id);
	if (role < 0)
		return -1;
	return role == LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR ||
	       role == LMS__RPC__COURSE_ROLE__COURSE_TA;
}

int read_progress(struct svc_ctx *x, const Lms__Rpc__ProgressRequest *q)
{
	int64_t course_id = 0, student_id = 0;
	int rv = whole_course(x, q, &course_id);
	if (rv < 0)
		return -1;
	if (rv == 0) {
		rv = rdu_student_scope(x, q->course, q->student, "progress",
		                       &course_id, &student_id);
		if (rv <= 0)
			return rv;
	}
	/* (course, student) pairs: the student's courses (or the one
	 * named), or every student of the course (student_id 0) */
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, student_id);
	svc_p_i64(&p, course_id);
	PGresult *res = svc_query(x,
		"SELECT c.id, c.code, u.username, u.id FROM lms.enrollment e "
		"JOIN lms.course c ON c.id = e.course_id "
		"JOIN lms.app_user u ON u.id = e.user_id "
		"WHERE ($1::bigint = 0 OR e.user_id = $1) AND e.role = 'student' "
		"  AND ($2::bigint = 0 OR c.id = $2) "
		"ORDER BY c.code COLLATE \"C\", u.username COLLATE \"C\"", &p);
	if (!res)
		return -1;
	Lms__Rpc__ProgressResponse *out = malloc(sizeof *out);
	if (!out) {
		PQclear(res);
		return rdu_oom(x);
	}
	lms__rpc__progress_response__init(out);
	int n = PQntuples(res);
	bool oom = false;
	out->progress = rdu_array((size_t)n, &oom);
	for (int r = 0; r < n && !oom; r++) {
		rv = progress_one(x, svc_i64(res, r, 0), PQgetvalue(res, r, 1),
		                  svc_i64(res, r, 3), PQgetvalue(res, r, 2),
		                  &out->progress[out->n_progress]);
		if (rv < 0) {
			PQclear(res);
			return rdu_fail(x, &out->base, false);
		}
		out->n_progress++;
	}
	PQclear(res);
	if (oom)
		return rdu_fail(x, &out->base, true);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_PROGRESS;
	x->resp->progress = out;
	return 0;
}

/* --------------------------------------------------------------- stats */

/* The counted grades of the course's students, normalized (exact). */
#define COUNTED_SQL                                                         \
	"counted AS ( "                                                      \
	"  SELECT DISTINCT ON (s.student_id, s.assignment_id) "             \
	"    s.student_id, s.assignment_id, "                                \
	"    g.final_score * 100 / a.max_points AS norm "                    \
	"  FROM lms.submission s "                                           \
	"  JOIN lms.grade g ON g.submission_id = s.id "                      \
	"  JOIN lms.assignment a ON a.id = s.assignment_id "                 \
	"  JOIN lms.enrollment en ON en.course_id = a.course_id "            \
	"    AND en.user_id = s.student_id AND en.role = 'student' "         \
	"  WHERE a.course_id = $1 "                                          \
	"  ORDER BY s.student_id, s.assignment_id, s.attempt DESC) "

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The students' averages: graded_students, mean, median, high, low and
 * the letter distribution into out. 0 or -1. */
static int stats_students(struct svc_ctx *x, int64_t course_id,
                          Lms__Rpc__StatsResponse *out)
{
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	PGresult *res = svc_query(x,
		"WITH " COUNTED_SQL
		"SELECT round(avg(norm), 2) FROM counted GROUP BY student_id",
		&p);
	if (!res)
		return -1;
	int n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return 0;
	}
	int64_t *avg = malloc((size_t)n * sizeof *avg);
	if (!avg) {
		PQclear(res);
		return rdu_oom(x);
	}
	int64_t sum = 0;
	for (int r = 0; r < n; r++) {
		avg[r] = rdu_hundredths(res, r, 0);
		sum += avg[r];
	}
	PQclear(res);
	qsort(avg, (size_t)n, sizeof *avg, cmp_i64);
	out->graded_students = (uint32_t)n;
	out->mean = rdu_score(div_half_up(sum, n));
	out->median = rdu_score(n % 2 ? avg[n / 2]
	                              : div_half_up(avg[n / 2 - 1] + avg[n / 2],
	                                            2));
	out->low = rdu_score(avg[0]);
	out->high = rdu_score(avg[n - 1]);
	for (int i = 0; i < n; i++) {
		if (avg[i] >= 9000)
			out->grade_a++;
		else if (avg[i] >= 8000)
			out->grade_b++;
		else if (avg[i] >= 7000)
			out->grade_c++;
		else if (avg[i] >= 6000)
			out->grade_d++;
		else
			out->grade_f++;
	}
	free(avg);
	return 0;
}

/* One AssignmentStats per assignment of the course into out. 0 or -1. */
static int stats_assignments(struct svc_ctx *x, int64_t course_id,
                             Lms__Rpc__StatsResponse *out)
{
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	PGresult *res = svc_query(x,
		"WITH " COUNTED_SQL ", "
		"st AS (SELECT user_id FROM lms.enrollment "
		"  WHERE course_id = $1 AND role = 'student') "
		"SELECT a.id, a.title, "
		"  (SELECT count(DISTINCT s.student_id) FROM lms.submission s "
		"    JOIN st ON st.user_id = s.student_id "
		"    WHERE s.assignment_id = a.id), "
		"  (SELECT count(*) FROM counted k WHERE k.assignment_id = a.id), "
		"  (SELECT round(avg(k.norm), 2) FROM counted k "
		"    WHERE k.assignment_id = a.id) "
		"FROM lms.assignment a WHERE a.course_id = $1 "
		"ORDER BY a.due_at, a.id", &p);
	if (!res)
		return -1;
	int n = PQntuples(res);
	bool oom = false;
	out->assignments = rdu_array((size_t)n, &oom);
	for (int r = 0; r < n && !oom; r++) {
		Lms__Rpc__AssignmentStats *a = malloc(sizeof *a);
		if (!a) {
			oom = true;
			break;
		}
		lms__rpc__assignment_stats__init(a);
		out->assignments[out->n_assignments++] = a;
		a->assignment_id = (uint64_t)svc_i64(res, r, 0);
		a->title = rdu_dup(PQgetvalue(res, r, 1), &oom);
		a->submitted = (uint32_t)svc_i64(res, r, 2);
		a->students = out->students;
		a->submission_rate =
			out->students ? rdu_score(div_half_up(
						(int64_t)a->submitted * 10000,
						out->students))
				      : 0.0;
		a->graded = (uint32_t)svc_i64(res, r, 3);
		a->mean = rdu_score(rdu_hundredths(res, r, 4));
	}
	PQclear(res);
	return oom ? rdu_oom(x) : 0;
}

int read_stats(struct svc_ctx *x, const Lms__Rpc__StatsRequest *q)
{
	int64_t course_id;
	int rv = svc_need_course_staff(x, q->course, false, &course_id, NULL);
	if (rv <= 0)
		return rv;
	Lms__Rpc__StatsResponse *out = malloc(sizeof *out);
	if (!out)
		return rdu_oom(x);
	lms__rpc__stats_response__init(out);
	bool oom = false;
	out->course = rdu_dup(q->course, &oom);
	if (oom)
		return rdu_fail(x, &out->base, true);

	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	PGresult *res = svc_query(x,
		"SELECT (SELECT count(*) FROM lms.enrollment "
		"    WHERE course_id = $1 AND role = 'student'), "
		"  (SELECT count(*) FROM lms.query "
		"    WHERE course_id = $1 AND status IN ('open', 'claimed'))",
		&p);
	if (!res)
		return rdu_fail(x, &out->base, false);
	out->students = (uint32_t)svc_i64(res, 0, 0);
	out->open_questions = (uint32_t)svc_i64(res, 0, 1);
	PQclear(res);

	if (stats_students(x, course_id, out) < 0 ||
	    stats_assignments(x, course_id, out) < 0)
		return rdu_fail(x, &out->base, false);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_STATS;
	x->resp->stats = out;
	return 0;
}

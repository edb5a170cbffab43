/*
 * read_gradebook.c -- gradebook: a course's grades as CSV, for the
 * course's instructors and TAs and admins.
 *
 * The text (RFC 4180, CRLF line ends, a CRLF after the last row too):
 *
 *   student,display_name,<title> (<max points>),...,average
 *   alice,Alice A,85.00,,92.50
 *
 * one column per assignment (by due time, then id), one row per student
 * of the course (by username, bytewise). A cell is the final score of the
 * student's latest graded attempt, "" when there is none. average is the
 * mean over the graded cells of final / max points * 100, rounded half up
 * to two decimals ("" when nothing is graded): the same figure progress
 * and stats report. Scores have two decimals; max points in the header as
 * few as needed ("100", "12.5").
 *
 * Fields: a field that starts with = + - @ TAB or CR gets a leading
 * single quote so that a spreadsheet does not run it as a formula (CSV
 * injection: titles and display names are user input); then a field with
 * a comma, a double quote, CR or LF is quoted, its quotes doubled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read_util.h"

/* ------------------------------------------------------------ the text */

struct csv {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void csv_put(struct csv *c, const char *s, size_t n)
{
	if (c->oom)
		return;
	if (c->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 1024;
		while (c->len + n + 1 > cap)
			cap *= 2;
		char *b = realloc(c->buf, cap);
		if (!b) {
			c->oom = true;
			return;
		}
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, s, n);
	c->len += n;
	c->buf[c->len] = '\0';
}

/* One field, after a comma unless first. */
static void csv_field(struct csv *c, const char *s, bool first)
{
	if (!first)
		csv_put(c, ",", 1);
	bool formula = s[0] && strchr("=+-@\t\r", s[0]) != NULL;
	bool quote = false;
	for (const char *p = s; *p && !quote; p++)
		quote = *p == ',' || *p == '"' || *p == '\r' || *p == '\n';
	if (quote)
		csv_put(c, "\"", 1);
	if (formula)
		csv_put(c, "'", 1);
	if (!quote) {
		csv_put(c, s, strlen(s));
		return;
	}
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			csv_put(c, "\"\"", 2);
		else
			csv_put(c, p, 1);
	}
	csv_put(c, "\"", 1);
}

static void csv_end_row(struct csv *c)
{
	csv_put(c, "\r\n", 2);
}

/* Hundredths as few decimals as needed: "100", "12.5", "12.34". */
static const char *points_text(int64_t h, char *buf, size_t len)
{
	svc_hundredths_text(h, buf, len);
	char *dot = strchr(buf, '.');
	if (dot) {
		char *end = buf + strlen(buf);
		while (end > dot + 1 && end[-1] == '0')
			*--end = '\0';
		if (end == dot + 1)
			*dot = '\0';
	}
	return buf;
}

/* ------------------------------------------------------------ gradebook */

int read_gradebook(struct svc_ctx *x, const Lms__Rpc__GradebookRequest *q)
{
	int64_t course_id;
	int rv = svc_need_course_staff(x, q->course, false, &course_id, NULL);
	if (rv <= 0)
		return rv;

	/* the columns */
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	PGresult *cols = svc_query(x,
		"SELECT id, title, max_points FROM lms.assignment "
		"WHERE course_id = $1 ORDER BY due_at, id", &p);
	if (!cols)
		return -1;
	int na = PQntuples(cols);

	struct csv c = {0};
	csv_field(&c, "student", true);
	csv_field(&c, "display_name", false);
	/* the same columns for the cells: their ids as an array literal */
	struct csv ids = {0};
	csv_put(&ids, "{", 1);
	for (int j = 0; j < na; j++) {
		char pts[32];
		points_text(rdu_hundredths(cols, j, 2), pts, sizeof pts);
		const char *title = PQgetvalue(cols, j, 1);
		size_t n = strlen(title) + strlen(pts) + 4;
		char *h = malloc(n);
		if (!h) {
			c.oom = true;
			break;
		}
		snprintf(h, n, "%s (%s)", title, pts);
		csv_field(&c, h, false);
		free(h);
		if (j)
			csv_put(&ids, ",", 1);
		const char *id = PQgetvalue(cols, j, 0);
		csv_put(&ids, id, strlen(id));
	}
	csv_put(&ids, "}", 1);
	PQclear(cols);
	csv_field(&c, "average", false);
	csv_end_row(&c);
	if (c.oom || ids.oom) {
		free(c.buf);
		free(ids.buf);
		return rdu_oom(x);
	}

	/* the cells: students x those columns, row by row in CSV order; the
	 * LEFT JOIN keeps students when there is no assignment */
	svc_p_text(&p, ids.buf);
	PGresult *res = svc_query(x,
		"WITH st AS ( "
		"  SELECT u.id, u.username, u.display_name "
		"  FROM lms.enrollment e JOIN lms.app_user u ON u.id = e.user_id "
		"  WHERE e.course_id = $1 AND e.role = 'student'), "
		"asg AS ( "
		"  SELECT id, due_at, max_points FROM lms.assignment "
		"  WHERE id = ANY ($2::bigint[])), "
		"counted AS ( "
		"  SELECT DISTINCT ON (s.student_id, s.assignment_id) "
		"    s.student_id, s.assignment_id, g.final_score "
		"  FROM lms.submission s "
		"  JOIN lms.grade g ON g.submission_id = s.id "
		"  WHERE s.assignment_id = ANY ($2::bigint[]) "
		"  ORDER BY s.student_id, s.assignment_id, s.attempt DESC) "
		"SELECT st.id, st.username, st.display_name, asg.id, "
		"  k.final_score, "
		"  round(avg(k.final_score * 100 / asg.max_points) "
		"    OVER (PARTITION BY st.id), 2) "
		"FROM st LEFT JOIN asg ON true "
		"LEFT JOIN counted k ON k.student_id = st.id "
		"  AND k.assignment_id = asg.id "
		"ORDER BY st.username COLLATE \"C\", asg.due_at, asg.id", &p);
	free(ids.buf);
	if (!res) {
		free(c.buf);
		return -1;
	}
	int rows = PQntuples(res);
	uint32_t students = 0;
	for (int r = 0; r < rows;) {
		int64_t sid = svc_i64(res, r, 0);
		int end = r;
		while (end < rows && svc_i64(res, end, 0) == sid)
			end++;
		csv_field(&c, PQgetvalue(res, r, 1), true);
		csv_field(&c, PQgetvalue(res, r, 2), false);
		for (int k = r; k < end; k++) {
			if (svc_null(res, k, 3))
				continue; /* no assignment: the LEFT JOIN row */
			char sc[32] = "";
			if (!svc_null(res, k, 4))
				svc_hundredths_text(rdu_hundredths(res, k, 4), sc,
				                    sizeof sc);
			csv_field(&c, sc, false);
		}
		char avg[32] = "";
		if (!svc_null(res, r, 5))
			svc_hundredths_text(rdu_hundredths(res, r, 5), avg,
			                    sizeof avg);
		csv_field(&c, avg, false);
		csv_end_row(&c);
		students++;
		r = end;
	}
	PQclear(res);
	if (c.oom) {
		free(c.buf);
		return rdu_oom(x);
	}

	Lms__Rpc__GradebookResponse *out = malloc(sizeof *out);
	if (!out) {
		free(c.buf);
		return rdu_oom(x);
	}
	lms__rpc__gradebook_response__init(out);
	out->csv = c.buf;
	out->students = students;
	out->assignments = (uint32_t)na;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_GRADEBOOK;
	x->resp->gradebook = out;
	return 0;
}

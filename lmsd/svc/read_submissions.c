/*
 * read_submissions.c -- submission_list, submission_get and grades.
 *
 * Who sees a submission: the student who made it, the instructors and TAs
 * of its course, and admins. A student listing an assignment's
 * submissions gets only their own (naming another student is
 * PERMISSION_DENIED); a submission or assignment id the caller may not see
 * is NOT_FOUND, exactly as an id that does not exist (read_util.h).
 *
 * grades answers one Grade per assignment: the grade of the student's
 * latest graded attempt (the one the gradebook, progress and stats count),
 * ordered by course code, then the assignment's due time and id. Earlier
 * graded attempts stay visible through submission_list (each submission
 * carries its grade).
 */
#include <stdlib.h>
#include <string.h>

#include "read_util.h"

static bool is_staff(const struct svc_ctx *x, int role)
{
	return rdu_is_admin(x) ||
	       role == LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR ||
	       role == LMS__RPC__COURSE_ROLE__COURSE_TA;
}

int read_submission_list(struct svc_ctx *x,
                         const Lms__Rpc__SubmissionListRequest *q)
{
	int64_t course_id;
	int role;
	int rv = rdu_assignment_course(x, q->assignment_id, &course_id, &role);
	if (rv <= 0)
		return rv;
	int64_t student_id = 0; /* 0: every student */
	bool named = q->student && *q->student;
	if (!is_staff(x, role)) {
		if (named && strcmp(q->student, x->actor->username) != 0)
			return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
			                  "you may only see your own submissions");
		student_id = x->actor->id;
	} else if (named) {
		rv = svc_user_id(x, q->student, &student_id, NULL);
		if (rv <= 0)
			return rv < 0 ? -1
			              : svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
			                           "no user \"%s\"", q->student);
	}
	int64_t after;
	if (!rdu_after_id(x, q->page, &after))
		return 0;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)q->assignment_id);
	svc_p_i64(&p, student_id);
	svc_p_i64(&p, after);
	struct rdu_page pg;
	if (rdu_page(x,
	             "SELECT id FROM lms.submission WHERE assignment_id = $1 "
	             "AND ($2::bigint = 0 OR student_id = $2) AND id > $3 "
	             "ORDER BY id LIMIT $4",
	             &p, svc_page_limit(x, q->page), 0, &pg) < 0)
		return -1;

	Lms__Rpc__SubmissionListResponse *out = malloc(sizeof *out);
	if (!out) {
		rdu_page_done(&pg);
		rdu_free_str(pg.next);
		return rdu_oom(x);
	}
	lms__rpc__submission_list_response__init(out);
	out->next = pg.next;
	bool oom = false;
	out->submissions = rdu_array((size_t)pg.n, &oom);
	for (int r = 0; r < pg.n && !oom; r++) {
		rv = svc_load_submission(x, svc_i64(pg.res, r, 0), false,
		                         &out->submissions[out->n_submissions]);
		if (rv < 0) {
			rdu_page_done(&pg);
			return rdu_fail(x, &out->base, false);
		}
		if (rv == 1)
			out->n_submissions++;
	}
	rdu_page_done(&pg);
	if (oom)
		return rdu_fail(x, &out->base, true);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_SUBMISSION_LIST;
	x->resp->submission_list = out;
	return 0;
}

int read_submission_get(struct svc_ctx *x,
                        const Lms__Rpc__SubmissionGetRequest *q)
{
	bool visible = false;
	if (q->id > 0 && q->id <= (uint64_t)INT64_MAX) {
		struct svc_params p;
		svc_params_init(&p);
		svc_p_i64(&p, (int64_t)q->id);
		svc_p_i64(&p, x->actor->id);
		PGresult *res = svc_query(x,
			"SELECT s.student_id = $2, e.role "
			"FROM lms.submission s "
			"JOIN lms.assignment a ON a.id = s.assignment_id "
			"LEFT JOIN lms.enrollment e ON e.course_id = a.course_id "
			"  AND e.user_id = $2 "
			"WHERE s.id = $1", &p);
		if (!res)
			return -1;
		if (PQntuples(res) == 1) {
			int role = svc_null(res, 0, 1)
				? LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE
				: (int)svc_course_role_parse(PQgetvalue(res, 0, 1));
			visible = svc_bool(res, 0, 0) || is_staff(x, role);
		}
		PQclear(res);
	}
	if (!visible)
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                  "no submission %llu", (unsigned long long)q->id);

	Lms__Rpc__SubmissionGetResponse *out = malloc(sizeof *out);
	if (!out)
		return rdu_oom(x);
	lms__rpc__submission_get_response__init(out);
	int rv = svc_load_submission(x, (int64_t)q->id, q->with_file,
	                             &out->submission);
	if (rv <= 0) {
		rdu_fail(x, &out->base, false);
		return rv < 0 ? -1
		              : svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                           "no submission %llu",
		                           (unsigned long long)q->id);
	}
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_SUBMISSION_GET;
	x->resp->submission_get = out;
	return 0;
}

int read_grades(struct svc_ctx *x, const Lms__Rpc__GradesRequest *q)
{
	int64_t course_id, student_id;
	int rv = rdu_student_scope(x, q->course, q->student, "grades",
	                           &course_id, &student_id);
	if (rv <= 0)
		return rv;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, student_id);
	svc_p_i64(&p, course_id);
	/* per assignment, the latest graded attempt */
	PGresult *res = svc_query(x,
		"WITH counted AS ( "
		"  SELECT DISTINCT ON (s.assignment_id) s.id, s.assignment_id "
		"  FROM lms.submission s "
		"  JOIN lms.grade g ON g.submission_id = s.id "
		"  JOIN lms.assignment a ON a.id = s.assignment_id "
		"  WHERE s.student_id = $1 "
		"    AND ($2::bigint = 0 OR a.course_id = $2) "
		"  ORDER BY s.assignment_id, s.attempt DESC) "
		"SELECT k.id FROM counted k "
		"JOIN lms.assignment a ON a.id = k.assignment_id "
		"JOIN lms.course c ON c.id = a.course_id "
		"ORDER BY c.code COLLATE \"C\", a.due_at, a.id", &p);
	if (!res)
		return -1;
	Lms__Rpc__GradesResponse *out = malloc(sizeof *out);
	if (!out) {
		PQclear(res);
		return rdu_oom(x);
	}
	lms__rpc__grades_response__init(out);
	int n = PQntuples(res);
	bool oom = false;
	out->grades = rdu_array((size_t)n, &oom);
	for (int r = 0; r < n && !oom; r++) {
		rv = svc_load_grade(x, svc_i64(res, r, 0),
		                    &out->grades[out->n_grades]);
		if (rv < 0) {
			PQclear(res);
			return rdu_fail(x, &out->base, false);
		}
		if (rv == 1)
			out->n_grades++;
	}
	PQclear(res);
	if (oom)
		return rdu_fail(x, &out->base, true);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_GRADES;
	x->resp->grades = out;
	return 0;
}

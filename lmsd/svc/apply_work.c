/*
 * apply_work.c -- coursework on the apply side (svc.h): assignment_create,
 * extension, submit, grade.
 *
 * Time rules, all against x->now (the leader's stamp in the command):
 *   - a submission is accepted from opens_at until the cut-off inclusive
 *     (no cut-off: forever); it is late when now > due_at, and
 *     days_late = ceil((now - due) / 24 h) (svc_days_late);
 *   - a student's extension replaces the assignment's due and cut-off
 *     times for that student only;
 *   - a grade keeps max(floor, 100 - penalty * days_late) percent of the
 *     raw score (svc_late_final, in hundredths so every node gets the same
 *     digits); days_late is the one recorded with the submission.
 * Only a student's latest attempt is graded; regrading replaces the grade.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_util.h"
#include "isotime.h"

/* ---------------------------------------------------------- helpers */

/* What the checks need of an assignment. */
struct work_assignment {
	int64_t id;
	int64_t course_id;
	char course[SVC_CODE_MAX + 1];
	int64_t opens_ms;
	int64_t due_ms;
	bool has_cutoff;
	int64_t cutoff_ms;
	int64_t max_attempts;
};

/* Loads assignment id; 1, 0 refused NOT_FOUND, -1. */
static int work_assignment(struct svc_ctx *x, uint64_t id,
                           struct work_assignment *a)
{
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)id);
	PGresult *res = svc_query(x,
		"SELECT a.id, a.course_id, c.code, lms.ms(a.opens_at), "
		"  lms.ms(a.due_at), lms.ms(a.cutoff_at), a.max_attempts "
		"FROM lms.assignment a JOIN lms.course c ON c.id = a.course_id "
		"WHERE a.id = $1", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND, "no assignment %llu",
		           (unsigned long long)id);
		return 0;
	}
	a->id = svc_i64(res, 0, 0);
	a->course_id = svc_i64(res, 0, 1);
	snprintf(a->course, sizeof a->course, "%s", PQgetvalue(res, 0, 2));
	a->opens_ms = svc_i64(res, 0, 3);
	a->due_ms = svc_i64(res, 0, 4);
	a->has_cutoff = !svc_null(res, 0, 5);
	a->cutoff_ms = a->has_cutoff ? svc_i64(res, 0, 5) : 0;
	a->max_attempts = svc_i64(res, 0, 6);
	PQclear(res);
	return 1;
}

/* The text of a PostgreSQL array of text from items: {"a","b\"c"}.
 * malloc'd, NULL when out of memory. Inside an array literal a backslash
 * escapes the next character whatever standard_conforming_strings says. */
static char *work_text_array(char **items, size_t n)
{
	size_t len = 3;
	for (size_t i = 0; i < n; i++)
		len += 3 + 2 * strlen(items[i]);
	char *out = malloc(len);
	if (!out)
		return NULL;
	char *w = out;
	*w++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*w++ = ',';
		*w++ = '"';
		for (const char *s = items[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				*w++ = '\\';
			*w++ = *s;
		}
		*w++ = '"';
	}
	*w++ = '}';
	*w = '\0';
	return out;
}

/* A percentage (0..100, two decimals) of the command; 1, or 0 refused. */
static int work_pct(struct svc_ctx *x, double v, const char *what)
{
	int64_t h = svc_hundredths(v);
	if (h >= 0 && h <= 10000)
		return 1;
	svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
	           "%s must be between 0 and 100", what);
	return 0;
}

/* -------------------------------------------------- assignment_create */

int apply_assignment_create(struct svc_ctx *x,
                            const Lms__Rpc__AssignmentCreateRequest *c)
{
	if (!apu_need_actor(x))
		return 0;
	int64_t course_id;
	int rv = svc_need_course_staff(x, c->course, true, &course_id, NULL);
	if (rv != 1)
		return rv;

	/* re-checked here (the proposer did too): a row that breaks the
	 * table's CHECKs would fail the apply transaction */
	const char *opens = c->opens_at && *c->opens_at ? c->opens_at : x->now;
	int64_t opens_ms, due_ms, cutoff_ms = 0;
	bool has_cutoff = c->cutoff_at && *c->cutoff_at;
	if (!apu_time(x, opens, "the opening time", &opens_ms) ||
	    !apu_time(x, c->due_at, "the due time", &due_ms) ||
	    (has_cutoff &&
	     !apu_time(x, c->cutoff_at, "the cut-off time", &cutoff_ms)))
		return 0;
	if (due_ms < opens_ms)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the due time (%s) is before the opening time "
		                  "(%s)", c->due_at, opens);
	if (has_cutoff && cutoff_ms < due_ms)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the cut-off (%s) is before the due time (%s)",
		                  c->cutoff_at, c->due_at);
	double max_points = c->max_points == 0 ? 100 : c->max_points;
	int64_t max_h = svc_hundredths(max_points);
	if (max_h <= 0 || max_h > svc_hundredths(SVC_POINTS_MAX))
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the maximum points must be above 0 and at "
		                  "most %.0f", SVC_POINTS_MAX);
	if (!work_pct(x, c->late_penalty_pct, "the late penalty") ||
	    !work_pct(x, c->penalty_floor_pct, "the penalty floor"))
		return 0;
	if (c->max_attempts > INT32_MAX)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "too many attempts");
	if (c->attachment && !apu_check_file(x, c->attachment))
		return 0;

	APU_NEW(x, r, assignment_create_response, AssignmentCreateResponse);
	char *topics = work_text_array(c->topics, c->n_topics);
	if (!topics) {
		free(r);
		return apu_oom(x);
	}
	if (c->attachment &&
	    apu_store_file(x, (int64_t)x->index, c->attachment))
		goto err;
	char maxb[32], penb[32], floorb[32];
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)x->index);
	svc_p_i64(&p, course_id);
	svc_p_text(&p, c->title);
	svc_p_text(&p, c->description);
	svc_p_text(&p, opens);
	svc_p_text(&p, c->due_at);
	if (has_cutoff)
		svc_p_text(&p, c->cutoff_at);
	else
		svc_p_null(&p);
	svc_p_text(&p, svc_hundredths_text(max_h, maxb, sizeof maxb));
	svc_p_text(&p, apu_score(c->late_penalty_pct, penb, sizeof penb));
	svc_p_text(&p, apu_score(c->penalty_floor_pct, floorb, sizeof floorb));
	svc_p_i64(&p, (int64_t)c->max_attempts);
	svc_p_text(&p, topics);
	if (c->attachment)
		svc_p_i64(&p, (int64_t)x->index);
	else
		svc_p_null(&p);
	svc_p_i64(&p, x->actor->id);
	svc_p_text(&p, x->now);
	if (svc_exec(x,
		"INSERT INTO lms.assignment (id, course_id, title, description, "
		"  opens_at, due_at, cutoff_at, max_points, late_penalty_pct, "
		"  penalty_floor_pct, max_attempts, topics, attachment_id, "
		"  created_by, created_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
		"  $14, $15)", &p, NULL))
		goto err;
	if (apu_loaded(x, svc_load_assignment(x, (int64_t)x->index, false, 0,
	                                      &r->assignment),
	               "assignment"))
		goto err;
	free(topics);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_ASSIGNMENT_CREATE;
	x->resp->assignment_create = r;
	return 0;
err:
	free(topics);
	free(r);
	return -1;
}

/* ---------------------------------------------------------- extension */

int apply_extension(struct svc_ctx *x, const Lms__Rpc__ExtensionRequest *c)
{
	if (!apu_need_actor(x))
		return 0;
	struct work_assignment a;
	int rv = work_assignment(x, c->assignment_id, &a);
	if (rv == 1)
		rv = svc_hide_unless_member(x, a.course_id, "assignment",
		                            c->assignment_id);
	if (rv != 1)
		return rv;
	rv = svc_need_staff_of(x, a.course_id, true, NULL);
	if (rv != 1)
		return rv;
	int64_t user_id;
	rv = svc_user_id(x, c->username, &user_id, NULL);
	if (rv < 0)
		return -1;
	if (rv == 0)
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND, "no user \"%s\"",
		                  c->username);
	int role = svc_course_role(x, a.course_id, user_id);
	if (role < 0)
		return -1;
	if (role != LMS__RPC__COURSE_ROLE__COURSE_STUDENT)
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "%s is not a student of %s", c->username,
		                  a.course);

	int64_t due_ms, cutoff_ms = 0;
	if (!apu_time(x, c->due_at, "the extended due time", &due_ms))
		return 0;
	char buf[LMS_ISO_MAX];
	if (due_ms < a.opens_ms)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the extended due time (%s) is before the "
		                  "assignment opens (%s)", c->due_at,
		                  lms_iso_format(a.opens_ms, buf, sizeof buf));
	/* no cut-off given: the later of the assignment's and the new due
	 * time, or none when the assignment has none */
	bool has_cutoff;
	if (c->cutoff_at && *c->cutoff_at) {
		if (!apu_time(x, c->cutoff_at, "the extended cut-off",
		              &cutoff_ms))
			return 0;
		has_cutoff = true;
	} else {
		has_cutoff = a.has_cutoff;
		cutoff_ms = a.cutoff_ms > due_ms ? a.cutoff_ms : due_ms;
	}
	if (has_cutoff && cutoff_ms < due_ms)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the extended cut-off (%s) is before the "
		                  "extended due time (%s)", c->cutoff_at,
		                  c->due_at);
	char cutoff[LMS_ISO_MAX];
	lms_iso_format(cutoff_ms, cutoff, sizeof cutoff);

	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, a.id);
	svc_p_i64(&p, user_id);
	PGresult *res = svc_query(x,
		"SELECT EXISTS (SELECT 1 FROM lms.extension "
		"  WHERE assignment_id = $1 AND user_id = $2)", &p);
	if (!res)
		return -1;
	bool exists = svc_bool(res, 0, 0);
	PQclear(res);

	APU_NEW(x, r, extension_response, ExtensionResponse);
	svc_p_text(&p, c->due_at);
	if (has_cutoff)
		svc_p_text(&p, cutoff);
	else
		svc_p_null(&p);
	svc_p_i64(&p, x->actor->id);
	svc_p_text(&p, x->now);
	if (svc_exec(x, exists
		? "UPDATE lms.extension SET due_at = $3, cutoff_at = $4, "
		  "  granted_by = $5, granted_at = $6 "
		  "WHERE assignment_id = $1 AND user_id = $2"
		: "INSERT INTO lms.extension (assignment_id, user_id, due_at, "
		  "  cutoff_at, granted_by, granted_at) "
		  "VALUES ($1, $2, $3, $4, $5, $6)", &p, NULL))
		goto err;
	svc_params_init(&p);
	svc_p_i64(&p, a.id);
	svc_p_i64(&p, user_id);
	res = svc_query(x,
		"SELECT lms.iso(due_at), lms.iso(cutoff_at) FROM lms.extension "
		"WHERE assignment_id = $1 AND user_id = $2", &p);
	if (!res)
		goto err;
	if (PQntuples(res) != 1) {
		PQclear(res);
		apu_loaded(x, 0, "extension");
		goto err;
	}
	r->assignment_id = (uint64_t)a.id;
	r->username = svc_strdup(c->username);
	r->due_at = svc_text(res, 0, 0);
	r->cutoff_at = svc_text(res, 0, 1);
	PQclear(res);
	if (!r->username || !r->due_at || !r->cutoff_at) {
		free(r->username);
		free(r->due_at);
		free(r->cutoff_at);
		free(r);
		return apu_oom(x);
	}
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_EXTENSION;
	x->resp->extension = r;
	return 0;
err:
	free(r);
	return -1;
}

/* ------------------------------------------------------------- submit */

int apply_submit(struct svc_ctx *x, const Lms__Rpc__SubmitRequest *c)
{
	if (!apu_need_actor(x))
		return 0;
	struct work_assignment a;
	int rv = work_assignment(x, c->assignment_id, &a);
	if (rv == 1)
		rv = svc_hide_unless_member(x, a.course_id, "assignment",
		                            c->assignment_id);
	if (rv != 1)
		return rv;
	int role = svc_course_role(x, a.course_id, x->actor->id);
	if (role < 0)
		return -1;
	if (role != LMS__RPC__COURSE_ROLE__COURSE_STUDENT)
		return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
		                  "only students of %s submit", a.course);
	char buf[LMS_ISO_MAX];
	if (x->now_ms < a.opens_ms)
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "the assignment opens at %s",
		                  lms_iso_format(a.opens_ms, buf, sizeof buf));

	/* the caller's extension, if any, replaces due and cut-off; and the
	 * attempts used so far */
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, a.id);
	svc_p_i64(&p, x->actor->id);
	PGresult *res = svc_query(x,
		"SELECT (SELECT count(*) FROM lms.submission "
		"        WHERE assignment_id = $1 AND student_id = $2), "
		"  (SELECT COALESCE(max(attempt), 0) FROM lms.submission "
		"        WHERE assignment_id = $1 AND student_id = $2), "
		"  e.user_id IS NOT NULL, lms.ms(e.due_at), lms.ms(e.cutoff_at) "
		"FROM (SELECT 1) one LEFT JOIN lms.extension e "
		"  ON e.assignment_id = $1 AND e.user_id = $2", &p);
	if (!res)
		return -1;
	int64_t used = svc_i64(res, 0, 0);
	int64_t last_attempt = svc_i64(res, 0, 1);
	int64_t due_ms = a.due_ms, cutoff_ms = a.cutoff_ms;
	bool has_cutoff = a.has_cutoff;
	if (svc_bool(res, 0, 2)) {
		due_ms = svc_i64(res, 0, 3);
		has_cutoff = !svc_null(res, 0, 4);
		cutoff_ms = has_cutoff ? svc_i64(res, 0, 4) : 0;
	}
	PQclear(res);
	if (has_cutoff && x->now_ms > cutoff_ms)
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "the cut-off (%s) has passed: submissions are "
		                  "closed",
		                  lms_iso_format(cutoff_ms, buf, sizeof buf));
	if (a.max_attempts > 0 && used >= a.max_attempts)
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "all %lld attempts are used",
		                  (long long)a.max_attempts);
	if (c->file && !apu_check_file(x, c->file))
		return 0;
	bool late = x->now_ms > due_ms;
	int64_t days_late = svc_days_late(x->now_ms, due_ms);
	if (days_late > INT32_MAX)
		days_late = INT32_MAX;

	APU_NEW(x, r, submit_response, SubmitResponse);
	if (c->file && apu_store_file(x, (int64_t)x->index, c->file))
		goto err;
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)x->index);
	svc_p_i64(&p, a.id);
	svc_p_i64(&p, x->actor->id);
	svc_p_i64(&p, last_attempt + 1);
	svc_p_text(&p, x->now);
	svc_p_text(&p, c->text);
	if (c->file)
		svc_p_i64(&p, (int64_t)x->index);
	else
		svc_p_null(&p);
	svc_p_text(&p, late ? "true" : "false");
	svc_p_i64(&p, days_late);
	if (svc_exec(x,
		"INSERT INTO lms.submission (id, assignment_id, student_id, "
		"  attempt, submitted_at, body, file_id, late, days_late) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", &p, NULL))
		goto err;
	if (apu_loaded(x, svc_load_submission(x, (int64_t)x->index, false,
	                                      &r->submission),
	               "submission"))
		goto err;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_SUBMIT;
	x->resp->submit = r;
	return 0;
err:
	free(r);
	return -1;
}

/* -------------------------------------------------------------- grade */

int apply_grade(struct svc_ctx *x, const Lms__Rpc__GradeRequest *c)
{
	if (!apu_need_actor(x))
		return 0;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)c->submission_id);
	PGresult *res = svc_query(x,
		"SELECT a.course_id, s.attempt, s.days_late, a.max_points, "
		"  a.late_penalty_pct, a.penalty_floor_pct, "
		"  (SELECT max(o.attempt) FROM lms.submission o "
		"    WHERE o.assignment_id = s.assignment_id "
		"      AND o.student_id = s.student_id), "
		"  EXISTS (SELECT 1 FROM lms.grade g WHERE g.submission_id = s.id) "
		"FROM lms.submission s "
		"JOIN lms.assignment a ON a.id = s.assignment_id "
		"WHERE s.id = $1", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                  "no submission %llu",
		                  (unsigned long long)c->submission_id);
	}
	int64_t course_id = svc_i64(res, 0, 0);
	int64_t attempt = svc_i64(res, 0, 1);
	int64_t days_late = svc_i64(res, 0, 2);
	int64_t max_h = svc_hundredths(svc_f64(res, 0, 3));
	int64_t penalty_h = svc_hundredths(svc_f64(res, 0, 4));
	int64_t floor_h = svc_hundredths(svc_f64(res, 0, 5));
	int64_t latest = svc_i64(res, 0, 6);
	bool regrade = svc_bool(res, 0, 7);
	PQclear(res);

	int rv = svc_hide_unless_member(x, course_id, "submission",
	                                c->submission_id);
	if (rv == 1)
		rv = svc_need_staff_of(x, course_id, false, NULL);
	if (rv != 1)
		return rv;
	if (attempt != latest)
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "attempt %lld is not the latest (%lld)",
		                  (long long)attempt, (long long)latest);
	int64_t raw_h = svc_hundredths(c->score);
	char rawb[32], maxb[32], finalb[32], takenb[32];
	if (raw_h < 0)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "a score cannot be negative");
	if (raw_h > max_h)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the score %s is above the maximum (%s)",
		                  svc_hundredths_text(raw_h, rawb, sizeof rawb),
		                  svc_hundredths_text(max_h, maxb, sizeof maxb));
	int64_t taken_h = 0;
	int64_t final_h =
		svc_late_final(raw_h, days_late, penalty_h, floor_h, &taken_h);

	APU_NEW(x, r, grade_response, GradeResponse);
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)c->submission_id);
	svc_p_text(&p, svc_hundredths_text(raw_h, rawb, sizeof rawb));
	svc_p_text(&p, svc_hundredths_text(taken_h, takenb, sizeof takenb));
	svc_p_text(&p, svc_hundredths_text(final_h, finalb, sizeof finalb));
	svc_p_text(&p, c->feedback);
	svc_p_i64(&p, x->actor->id);
	svc_p_text(&p, x->now);
	/* regrading replaces the grade */
	if (svc_exec(x, regrade
		? "UPDATE lms.grade SET raw_score = $2, penalty_pct = $3, "
		  "  final_score = $4, feedback = $5, grader_id = $6, "
		  "  graded_at = $7 WHERE submission_id = $1"
		: "INSERT INTO lms.grade (submission_id, raw_score, penalty_pct, "
		  "  final_score, feedback, grader_id, graded_at) "
		  "VALUES ($1, $2, $3, $4, $5, $6, $7)", &p, NULL))
		goto err;
	if (apu_loaded(x, svc_load_grade(x, (int64_t)c->submission_id,
	                                 &r->grade),
	               "grade"))
		goto err;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_GRADE;
	x->resp->grade = r;
	return 0;
err:
	free(r);
	return -1;
}

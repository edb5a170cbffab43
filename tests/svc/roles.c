/*
 * roles.c -- svc_role_matrix: every operation of lms.proto's LMS section,
 * as each of six callers, against a table of the expected status of every
 * cell.
 *
 * The callers: an admin (bootstrap), the instructor of course A (who
 * created it), a TA of A, a student of A, a student of course B only
 * ("other"), and a request without a session ("none"). A second student
 * of A (s2) is the one whose data the first must never see.
 *
 * A row is one operation in one variant (submission_get of the caller's
 * own submission, of s2's, ...). Rows that write are built so that a
 * successful cell does not change what another cell sees: each caller
 * creates its own user, course, enrolment; logout uses a second session;
 * a password change re-logs the caller in. Some rows also check the
 * content of an OK answer (a student's lists hold only their own data).
 *
 * The expectations follow README.md "Who can do what" and the visibility
 * rule of lmsd/svc/read_util.h: an object named by id that the caller may
 * not see is NOT_FOUND, as if it did not exist; a course named by code that
 * the caller may not look at is PERMISSION_DENIED. The rule is applied to
 * writes naming an object by id too (a student of another course learns
 * nothing of course A's assignments by writing to them).
 *
 * On a mismatch the whole matrix is printed (expected, and what came back
 * where it differs) with the message of every failing cell.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isotime.h"
#include "svc_util.h"

enum caller { C_ADMIN, C_INSTR, C_TA, C_STUDENT, C_OTHER, C_NONE, NCALLERS };

static const char *const caller_names[NCALLERS] = {
	"admin", "instructor", "ta", "student", "other", "none"};

#define CA "CS101" /* course A: instructor, TA, student, s2 */
#define CB "MA201" /* course B: other */

struct world {
	struct cluster *cl;
	struct lmsc *c;
	char user[NCALLERS][32];
	char pw[NCALLERS][64];
	char token[NCALLERS][65]; /* "" for none */
	uint64_t a1, a2;          /* assignments of A: graded work, submit row */
	uint64_t sub_s, sub_s2;   /* the student's and s2's submissions to a1 */
	uint64_t mat_a;           /* a material of A */
	uint64_t q_s, q_s2;       /* questions of the student and of s2 */
	char s2_token[65];
	unsigned serial;          /* unique names for the writing rows */
};

/* ------------------------------------------------------------- rows */

typedef Lms__Rpc__Response *(*row_fn)(struct world *w, int who);
/* Content check of an OK answer: NULL when fine, else what is wrong
 * (static buffer). */
typedef const char *(*check_fn)(struct world *w, int who,
                                const Lms__Rpc__Response *r);

struct row {
	const char *name;
	row_fn fn;
	int expect[NCALLERS];
	check_fn check;
};

#define OK LMS__RPC__STATUS__OK
#define UA LMS__RPC__STATUS__UNAUTHENTICATED
#define PD LMS__RPC__STATUS__PERMISSION_DENIED
#define NF LMS__RPC__STATUS__NOT_FOUND
#define CF LMS__RPC__STATUS__CONFLICT
#define FP LMS__RPC__STATUS__FAILED_PRECONDITION

static const char *tok(struct world *w, int who)
{
	return w->token[who];
}

static char *uniq(struct world *w, const char *prefix, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%u", prefix, ++w->serial);
	return buf;
}

static char why[512];

static const char *bad(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static const char *bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return why;
}

/* ---- accounts */

static Lms__Rpc__Response *r_bootstrap(struct world *w, int who)
{
	char name[32];
	Lms__Rpc__BootstrapRequest b = LMS__RPC__BOOTSTRAP_REQUEST__INIT;
	b.username = uniq(w, "boot", name, sizeof name);
	b.password = "another-admin-pw";
	return SV_CALL(w->c, tok(w, who), bootstrap, BOOTSTRAP, &b);
}

/* Own credentials; "none" logs in as the student (login needs no
 * session). */
static Lms__Rpc__Response *r_login(struct world *w, int who)
{
	int as = who == C_NONE ? C_STUDENT : who;
	Lms__Rpc__LoginRequest l = LMS__RPC__LOGIN_REQUEST__INIT;
	l.username = w->user[as];
	l.password = w->pw[as];
	return SV_CALL(w->c, tok(w, who), login, LOGIN, &l);
}

static const char *k_login(struct world *w, int who,
                           const Lms__Rpc__Response *r)
{
	int as = who == C_NONE ? C_STUDENT : who;
	if (r->result_case != LMS__RPC__RESPONSE__RESULT_LOGIN)
		return "no LoginResponse";
	if (strlen(r->login->token) != 64)
		return bad("token \"%s\" is not 64 hex digits", r->login->token);
	if (!r->login->user || strcmp(r->login->user->username,
	                              w->user[as]) != 0)
		return "the answer names another user";
	if (!*r->login->expires_at)
		return "no expires_at";
	return NULL;
}

/* Logout of a second session of the caller: the one used stays valid. */
static char logout_token[65];

static Lms__Rpc__Response *r_logout(struct world *w, int who)
{
	logout_token[0] = '\0';
	if (who != C_NONE)
		sv_login(w->c, w->user[who], w->pw[who], logout_token);
	Lms__Rpc__LogoutRequest l = LMS__RPC__LOGOUT_REQUEST__INIT;
	return SV_CALL(w->c, logout_token, logout, LOGOUT, &l);
}

static const char *k_logout(struct world *w, int who,
                            const Lms__Rpc__Response *r)
{
	if (r->result_case != LMS__RPC__RESPONSE__RESULT_LOGOUT ||
	    r->logout->sessions_revoked != 1)
		return "sessions_revoked is not 1";
	Lms__Rpc__WhoAmIRequest q = LMS__RPC__WHO_AM_IREQUEST__INIT;
	Lms__Rpc__Response *a = SV_CALL(w->c, logout_token, whoami, WHOAMI, &q);
	Lms__Rpc__Response *b = SV_CALL(w->c, tok(w, who), whoami, WHOAMI, &q);
	const char *res = NULL;
	if (a->status != UA)
		res = bad("the logged-out token still works (whoami: %s)",
		          sv_describe(a));
	else if (b->status != OK)
		res = bad("logout revoked the caller's other session too "
		          "(whoami: %s)", sv_describe(b));
	lmsc_response_free(a);
	lmsc_response_free(b);
	return res;
}

static Lms__Rpc__Response *r_whoami(struct world *w, int who)
{
	Lms__Rpc__WhoAmIRequest q = LMS__RPC__WHO_AM_IREQUEST__INIT;
	return SV_CALL(w->c, tok(w, who), whoami, WHOAMI, &q);
}

static const char *k_whoami(struct world *w, int who,
                            const Lms__Rpc__Response *r)
{
	const Lms__Rpc__WhoAmIResponse *m = r->whoami;
	if (!m->user || strcmp(m->user->username, w->user[who]) != 0)
		return "whoami names another user";
	const char *want = who == C_OTHER ? CB : who == C_ADMIN ? NULL : CA;
	bool has_a = false, has_b = false;
	for (size_t i = 0; i < m->n_courses; i++) {
		has_a |= strcmp(m->courses[i]->code, CA) == 0;
		has_b |= strcmp(m->courses[i]->code, CB) == 0;
	}
	if (!want && (has_a || has_b))
		return "the admin is listed in a course it is not enrolled in";
	if (want && !(strcmp(want, CA) == 0 ? has_a : has_b))
		return bad("course %s missing from whoami", want);
	if (who != C_ADMIN && (strcmp(want, CA) == 0 ? has_b : has_a))
		return "whoami lists a course the caller is not in";
	return NULL;
}

static Lms__Rpc__Response *r_user_create(struct world *w, int who)
{
	char name[32];
	Lms__Rpc__UserCreateRequest u = LMS__RPC__USER_CREATE_REQUEST__INIT;
	u.username = uniq(w, "newuser", name, sizeof name);
	u.password = "new-user-pw";
	u.role = LMS__RPC__ROLE__ROLE_STUDENT;
	return SV_CALL(w->c, tok(w, who), user_create, USER_CREATE, &u);
}

static Lms__Rpc__Response *r_user_list(struct world *w, int who)
{
	Lms__Rpc__UserListRequest q = LMS__RPC__USER_LIST_REQUEST__INIT;
	return SV_CALL(w->c, tok(w, who), user_list, USER_LIST, &q);
}

/* Own password, old one given; on success the caller logs in again with
 * the new one (the change revoked every session of the account). */
static Lms__Rpc__Response *r_password_own(struct world *w, int who)
{
	char next[64];
	snprintf(next, sizeof next, "%.40s-changed-%u", w->user[who],
	         ++w->serial);
	Lms__Rpc__PasswordChangeRequest p =
		LMS__RPC__PASSWORD_CHANGE_REQUEST__INIT;
	/* "none" gives a valid old and new password: only the missing
	 * session is wrong */
	p.old_password = w->pw[who == C_NONE ? C_STUDENT : who];
	p.new_password = next;
	Lms__Rpc__Response *r = SV_CALL(w->c, tok(w, who), password_change,
	                                PASSWORD_CHANGE, &p);
	if (r->status == OK && who != C_NONE) {
		snprintf(w->pw[who], sizeof w->pw[who], "%s", next);
		sv_login(w->c, w->user[who], w->pw[who], w->token[who]);
	}
	return r;
}

static Lms__Rpc__Response *r_password_other(struct world *w, int who)
{
	Lms__Rpc__PasswordChangeRequest p =
		LMS__RPC__PASSWORD_CHANGE_REQUEST__INIT;
	p.username = "victim";
	p.new_password = "victim-new-pw";
	return SV_CALL(w->c, tok(w, who), password_change, PASSWORD_CHANGE,
	               &p);
}

/* ---- courses */

static Lms__Rpc__Response *r_course_create(struct world *w, int who)
{
	char code[32];
	Lms__Rpc__CourseCreateRequest q = LMS__RPC__COURSE_CREATE_REQUEST__INIT;
	q.code = uniq(w, "NEW", code, sizeof code);
	q.title = "A new course";
	return SV_CALL(w->c, tok(w, who), course_create, COURSE_CREATE, &q);
}

static Lms__Rpc__Response *r_course_list(struct world *w, int who)
{
	Lms__Rpc__CourseListRequest q = LMS__RPC__COURSE_LIST_REQUEST__INIT;
	return SV_CALL(w->c, tok(w, who), course_list, COURSE_LIST, &q);
}

static const char *k_course_list(struct world *w, int who,
                                 const Lms__Rpc__Response *r)
{
	const Lms__Rpc__CourseListResponse *m = r->course_list;
	bool a = false, b = false;
	size_t others = 0;
	for (size_t i = 0; i < m->n_courses; i++) {
		if (strcmp(m->courses[i]->code, CA) == 0)
			a = true;
		else if (strcmp(m->courses[i]->code, CB) == 0)
			b = true;
		else
			others++;
	}
	switch (who) {
	case C_ADMIN:
		return a && b ? NULL : "the admin does not see every course";
	case C_INSTR: /* A and the courses it created in course_create */
		return a && !b ? NULL : bad("instructor sees A %d, B %d", a, b);
	case C_TA:
	case C_STUDENT:
		return a && !b && !others ? NULL
		                          : bad("sees A %d, B %d and %zu others",
		                                a, b, others);
	case C_OTHER:
		return !a && b && !others ? NULL
		                          : bad("sees A %d, B %d and %zu others",
		                                a, b, others);
	}
	return NULL;
}

static Lms__Rpc__Response *r_enroll(struct world *w, int who)
{
	char name[32];
	snprintf(name, sizeof name, "enr%d", who);
	Lms__Rpc__EnrollRequest e = LMS__RPC__ENROLL_REQUEST__INIT;
	e.course = CA;
	e.username = name;
	e.role = LMS__RPC__COURSE_ROLE__COURSE_STUDENT;
	return SV_CALL(w->c, tok(w, who), enroll, ENROLL, &e);
}

static Lms__Rpc__Response *r_course_members(struct world *w, int who)
{
	Lms__Rpc__CourseMembersRequest q = LMS__RPC__COURSE_MEMBERS_REQUEST__INIT;
	q.course = CA;
	return SV_CALL(w->c, tok(w, who), course_members, COURSE_MEMBERS, &q);
}

static const char *k_course_members(struct world *w, int who,
                                    const Lms__Rpc__Response *r)
{
	const Lms__Rpc__CourseMembersResponse *m = r->course_members;
	bool s2 = false, inst = false, me = false;
	for (size_t i = 0; i < m->n_members; i++) {
		const char *u = m->members[i]->user->username;
		s2 |= strcmp(u, "s2") == 0;
		inst |= strcmp(u, w->user[C_INSTR]) == 0;
		me |= strcmp(u, w->user[who]) == 0;
	}
	if (!inst)
		return "the instructor is not listed";
	if (who == C_STUDENT && s2)
		return "a student sees another student of the course (s2)";
	if (who == C_STUDENT && !me)
		return "the student does not see themself";
	if (who != C_STUDENT && !s2)
		return "staff do not see the students";
	return NULL;
}

/* ---- assignments */

static Lms__Rpc__Response *r_assignment_create(struct world *w, int who)
{
	char due[LMS_ISO_MAX];
	Lms__Rpc__AssignmentCreateRequest a =
		LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT;
	a.course = CA;
	a.title = "Matrix assignment";
	a.due_at = sv_iso_in(86400, due);
	return SV_CALL(w->c, tok(w, who), assignment_create, ASSIGNMENT_CREATE,
	               &a);
}

static Lms__Rpc__Response *r_assignment_list(struct world *w, int who)
{
	Lms__Rpc__AssignmentListRequest q =
		LMS__RPC__ASSIGNMENT_LIST_REQUEST__INIT;
	q.course = CA;
	return SV_CALL(w->c, tok(w, who), assignment_list, ASSIGNMENT_LIST, &q);
}

static Lms__Rpc__Response *r_assignment_get(struct world *w, int who)
{
	Lms__Rpc__AssignmentGetRequest q = LMS__RPC__ASSIGNMENT_GET_REQUEST__INIT;
	q.id = w->a1;
	return SV_CALL(w->c, tok(w, who), assignment_get, ASSIGNMENT_GET, &q);
}

static const char *k_assignment_get(struct world *w, int who,
                                    const Lms__Rpc__Response *r)
{
	const Lms__Rpc__Assignment *a = r->assignment_get->assignment;
	if (!a || a->id != w->a1)
		return "another assignment came back";
	if (who == C_STUDENT && (!*a->my_due_at || a->my_attempts != 1))
		return bad("the student's own view is missing (my_due_at "
		           "\"%s\", my_attempts %u)", a->my_due_at,
		           a->my_attempts);
	return NULL;
}

static Lms__Rpc__Response *r_extension(struct world *w, int who)
{
	char due[LMS_ISO_MAX];
	Lms__Rpc__ExtensionRequest e = LMS__RPC__EXTENSION_REQUEST__INIT;
	e.assignment_id = w->a1;
	e.username = w->user[C_STUDENT];
	e.due_at = sv_iso_in(14 * 86400, due);
	return SV_CALL(w->c, tok(w, who), extension, EXTENSION, &e);
}

/* ---- submissions and grades */

static Lms__Rpc__Response *r_submit(struct world *w, int who)
{
	Lms__Rpc__SubmitRequest s = LMS__RPC__SUBMIT_REQUEST__INIT;
	s.assignment_id = w->a2;
	s.text = "my answer";
	return SV_CALL(w->c, tok(w, who), submit, SUBMIT, &s);
}

static Lms__Rpc__Response *submission_list(struct world *w, int who,
                                           const char *student)
{
	Lms__Rpc__SubmissionListRequest q =
		LMS__RPC__SUBMISSION_LIST_REQUEST__INIT;
	q.assignment_id = w->a1;
	q.student = (char *)student;
	return SV_CALL(w->c, tok(w, who), submission_list, SUBMISSION_LIST, &q);
}

static Lms__Rpc__Response *r_submission_list(struct world *w, int who)
{
	return submission_list(w, who, "");
}

static Lms__Rpc__Response *r_submission_list_s2(struct world *w, int who)
{
	return submission_list(w, who, "s2");
}

static const char *k_submission_list(struct world *w, int who,
                                     const Lms__Rpc__Response *r)
{
	const Lms__Rpc__SubmissionListResponse *m = r->submission_list;
	bool own = false, s2 = false;
	for (size_t i = 0; i < m->n_submissions; i++) {
		own |= m->submissions[i]->id == w->sub_s;
		s2 |= m->submissions[i]->id == w->sub_s2;
	}
	if (who == C_STUDENT)
		return own && !s2 ? NULL
		                  : bad("the student sees own %d, s2's %d", own,
		                        s2);
	return own && s2 ? NULL : bad("staff see own %d, s2's %d", own, s2);
}

static Lms__Rpc__Response *submission_get(struct world *w, int who,
                                          uint64_t id)
{
	Lms__Rpc__SubmissionGetRequest q = LMS__RPC__SUBMISSION_GET_REQUEST__INIT;
	q.id = id;
	q.with_file = 1;
	return SV_CALL(w->c, tok(w, who), submission_get, SUBMISSION_GET, &q);
}

static Lms__Rpc__Response *r_submission_get_own(struct world *w, int who)
{
	return submission_get(w, who, w->sub_s);
}

static Lms__Rpc__Response *r_submission_get_s2(struct world *w, int who)
{
	return submission_get(w, who, w->sub_s2);
}

static Lms__Rpc__Response *r_grade(struct world *w, int who)
{
	Lms__Rpc__GradeRequest g = LMS__RPC__GRADE_REQUEST__INIT;
	g.submission_id = w->sub_s2;
	g.score = 70 + who;
	g.feedback = "graded in the matrix";
	return SV_CALL(w->c, tok(w, who), grade, GRADE, &g);
}

static Lms__Rpc__Response *grades(struct world *w, int who,
                                  const char *course, const char *student)
{
	Lms__Rpc__GradesRequest q = LMS__RPC__GRADES_REQUEST__INIT;
	q.course = (char *)course;
	q.student = (char *)student;
	return SV_CALL(w->c, tok(w, who), grades, GRADES, &q);
}

static Lms__Rpc__Response *r_grades_self(struct world *w, int who)
{
	return grades(w, who, "", "");
}

static Lms__Rpc__Response *r_grades_a_student(struct world *w, int who)
{
	return grades(w, who, CA, w->user[C_STUDENT]);
}

static Lms__Rpc__Response *r_grades_a_s2(struct world *w, int who)
{
	return grades(w, who, CA, "s2");
}

static Lms__Rpc__Response *r_grades_all_student(struct world *w, int who)
{
	return grades(w, who, "", w->user[C_STUDENT]);
}

static const char *k_grades_own(struct world *w, int who,
                                const Lms__Rpc__Response *r)
{
	const Lms__Rpc__GradesResponse *m = r->grades;
	for (size_t i = 0; i < m->n_grades; i++)
		if (strcmp(m->grades[i]->student, w->user[who]) != 0)
			return bad("a grade of %s in %s's own grades",
			           m->grades[i]->student, w->user[who]);
	if (who == C_STUDENT && m->n_grades == 0)
		return "the student's graded submission is missing";
	return NULL;
}

static Lms__Rpc__Response *r_gradebook(struct world *w, int who)
{
	Lms__Rpc__GradebookRequest q = LMS__RPC__GRADEBOOK_REQUEST__INIT;
	q.course = CA;
	return SV_CALL(w->c, tok(w, who), gradebook, GRADEBOOK, &q);
}

static Lms__Rpc__Response *progress(struct world *w, int who,
                                    const char *course, const char *student)
{
	Lms__Rpc__ProgressRequest q = LMS__RPC__PROGRESS_REQUEST__INIT;
	q.course = (char *)course;
	q.student = (char *)student;
	return SV_CALL(w->c, tok(w, who), progress, PROGRESS, &q);
}

static Lms__Rpc__Response *r_progress_self(struct world *w, int who)
{
	return progress(w, who, "", "");
}

static Lms__Rpc__Response *r_progress_a_s2(struct world *w, int who)
{
	return progress(w, who, CA, "s2");
}

static const char *k_progress_own(struct world *w, int who,
                                  const Lms__Rpc__Response *r)
{
	const Lms__Rpc__ProgressResponse *m = r->progress;
	for (size_t i = 0; i < m->n_progress; i++)
		if (strcmp(m->progress[i]->student, w->user[who]) != 0)
			return bad("progress of %s in %s's own progress",
			           m->progress[i]->student, w->user[who]);
	if ((who == C_STUDENT || who == C_OTHER) && m->n_progress != 1)
		return bad("%zu courses of progress, expected 1", m->n_progress);
	return NULL;
}

static Lms__Rpc__Response *r_stats(struct world *w, int who)
{
	Lms__Rpc__StatsRequest q = LMS__RPC__STATS_REQUEST__INIT;
	q.course = CA;
	return SV_CALL(w->c, tok(w, who), stats, STATS, &q);
}

/* ---- materials */

static Lms__Rpc__Response *r_material_upload(struct world *w, int who)
{
	static const char text[] = "Mitochondria are the powerhouse of the "
	                           "cell.\n";
	Lms__Rpc__File f = LMS__RPC__FILE__INIT;
	f.name = "cells.txt";
	f.data.data = (uint8_t *)text;
	f.data.len = sizeof text - 1;
	Lms__Rpc__MaterialUploadRequest m =
		LMS__RPC__MATERIAL_UPLOAD_REQUEST__INIT;
	m.course = CA;
	m.title = "Cells";
	m.file = &f;
	return SV_CALL(w->c, tok(w, who), material_upload, MATERIAL_UPLOAD,
	               &m);
}

static Lms__Rpc__Response *r_material_list(struct world *w, int who)
{
	Lms__Rpc__MaterialListRequest q = LMS__RPC__MATERIAL_LIST_REQUEST__INIT;
	q.course = CA;
	return SV_CALL(w->c, tok(w, who), material_list, MATERIAL_LIST, &q);
}

static Lms__Rpc__Response *r_material_get(struct world *w, int who)
{
	Lms__Rpc__MaterialGetRequest q = LMS__RPC__MATERIAL_GET_REQUEST__INIT;
	q.id = w->mat_a;
	q.with_file = 1;
	return SV_CALL(w->c, tok(w, who), material_get, MATERIAL_GET, &q);
}

static Lms__Rpc__Response *r_material_search(struct world *w, int who)
{
	Lms__Rpc__MaterialSearchRequest q =
		LMS__RPC__MATERIAL_SEARCH_REQUEST__INIT;
	q.course = CA;
	q.query = "photosynthesis";
	return SV_CALL(w->c, tok(w, who), material_search, MATERIAL_SEARCH,
	               &q);
}

static const char *k_material_search(struct world *w, int who,
                                     const Lms__Rpc__Response *r)
{
	const Lms__Rpc__MaterialSearchResponse *m = r->material_search;
	for (size_t i = 0; i < m->n_chunks; i++)
		if (m->chunks[i]->material_id == w->mat_a)
			return NULL;
	return "the course material was not found by its word";
}

/* ---- questions */

static Lms__Rpc__Response *r_query_post(struct world *w, int who)
{
	Lms__Rpc__QueryPostRequest q = LMS__RPC__QUERY_POST_REQUEST__INIT;
	q.course = CA;
	q.body = "What is a mitochondrion?";
	q.to = LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR;
	return SV_CALL(w->c, tok(w, who), query_post, QUERY_POST, &q);
}

static Lms__Rpc__Response *r_query_list(struct world *w, int who)
{
	Lms__Rpc__QueryListRequest q = LMS__RPC__QUERY_LIST_REQUEST__INIT;
	q.course = CA;
	return SV_CALL(w->c, tok(w, who), query_list, QUERY_LIST, &q);
}

static const char *k_query_list(struct world *w, int who,
                                const Lms__Rpc__Response *r)
{
	const Lms__Rpc__QueryListResponse *m = r->query_list;
	bool own = false, s2 = false;
	for (size_t i = 0; i < m->n_queries; i++) {
		own |= m->queries[i]->id == w->q_s;
		s2 |= m->queries[i]->id == w->q_s2;
	}
	if (who == C_STUDENT)
		return own && !s2 ? NULL
		                  : bad("the student sees own %d, s2's %d", own,
		                        s2);
	return own && s2 ? NULL : bad("staff see own %d, s2's %d", own, s2);
}

static Lms__Rpc__Response *r_query_get_s2(struct world *w, int who)
{
	Lms__Rpc__QueryGetRequest q = LMS__RPC__QUERY_GET_REQUEST__INIT;
	q.id = w->q_s2;
	return SV_CALL(w->c, tok(w, who), query_get, QUERY_GET, &q);
}

static Lms__Rpc__Response *r_query_answer(struct world *w, int who)
{
	Lms__Rpc__QueryAnswerRequest q = LMS__RPC__QUERY_ANSWER_REQUEST__INIT;
	q.id = w->q_s;
	q.body = "It makes the cell's energy.";
	return SV_CALL(w->c, tok(w, who), query_answer, QUERY_ANSWER, &q);
}

static Lms__Rpc__Response *r_query_release(struct world *w, int who)
{
	Lms__Rpc__QueryReleaseRequest q = LMS__RPC__QUERY_RELEASE_REQUEST__INIT;
	q.id = w->q_s;
	q.worker = "w1";
	return SV_CALL(w->c, tok(w, who), query_release, QUERY_RELEASE, &q);
}

static Lms__Rpc__Response *r_query_claim(struct world *w, int who)
{
	Lms__Rpc__QueryClaimRequest q = LMS__RPC__QUERY_CLAIM_REQUEST__INIT;
	q.worker = "matrix-worker";
	q.lease_ms = 30000;
	return SV_CALL(w->c, tok(w, who), query_claim, QUERY_CLAIM, &q);
}

/* ---- schema */

static Lms__Rpc__Migration *mig001;

static Lms__Rpc__Response *r_migrate(struct world *w, int who)
{
	Lms__Rpc__MigrateRequest m = LMS__RPC__MIGRATE_REQUEST__INIT;
	m.migration = mig001;
	return SV_CALL(w->c, tok(w, who), migrate, MIGRATE, &m);
}

static Lms__Rpc__Response *r_schema_status(struct world *w, int who)
{
	Lms__Rpc__SchemaStatusRequest q = LMS__RPC__SCHEMA_STATUS_REQUEST__INIT;
	return SV_CALL(w->c, tok(w, who), schema_status, SCHEMA_STATUS, &q);
}

/* The expectations; columns: admin, instructor, TA, student, other,
 * none. "NF for other" on writes naming an object of course A by id:
 * see the top comment. */
static const struct row rows[] = {
	{"bootstrap", r_bootstrap, {FP, FP, FP, FP, FP, FP}, NULL},
	{"login", r_login, {OK, OK, OK, OK, OK, OK}, k_login},
	{"logout", r_logout, {OK, OK, OK, OK, OK, UA}, k_logout},
	{"whoami", r_whoami, {OK, OK, OK, OK, OK, UA}, k_whoami},
	{"user_create", r_user_create, {OK, PD, PD, PD, PD, UA}, NULL},
	{"user_list", r_user_list, {OK, PD, PD, PD, PD, UA}, NULL},
	{"password_change(own)", r_password_own, {OK, OK, OK, OK, OK, UA},
	 NULL},
	{"password_change(victim)", r_password_other,
	 {OK, PD, PD, PD, PD, UA}, NULL},
	{"course_create", r_course_create, {OK, OK, PD, PD, PD, UA}, NULL},
	{"course_list", r_course_list, {OK, OK, OK, OK, OK, UA},
	 k_course_list},
	{"enroll(A)", r_enroll, {OK, OK, PD, PD, PD, UA}, NULL},
	{"course_members(A)", r_course_members, {OK, OK, OK, OK, PD, UA},
	 k_course_members},
	{"assignment_create(A)", r_assignment_create,
	 {OK, OK, PD, PD, PD, UA}, NULL},
	{"assignment_list(A)", r_assignment_list, {OK, OK, OK, OK, PD, UA},
	 NULL},
	{"assignment_get(a1)", r_assignment_get, {OK, OK, OK, OK, NF, UA},
	 k_assignment_get},
	{"extension(a1,student)", r_extension, {OK, OK, PD, PD, NF, UA},
	 NULL},
	{"submit(a2)", r_submit, {PD, PD, PD, OK, NF, UA}, NULL},
	{"submission_list(a1)", r_submission_list, {OK, OK, OK, OK, NF, UA},
	 k_submission_list},
	{"submission_list(a1,s2)", r_submission_list_s2,
	 {OK, OK, OK, PD, NF, UA}, NULL},
	{"submission_get(own)", r_submission_get_own,
	 {OK, OK, OK, OK, NF, UA}, NULL},
	{"submission_get(s2's)", r_submission_get_s2,
	 {OK, OK, OK, NF, NF, UA}, NULL},
	{"grade(s2's)", r_grade, {OK, OK, OK, PD, NF, UA}, NULL},
	{"grades(self)", r_grades_self, {OK, OK, OK, OK, OK, UA},
	 k_grades_own},
	{"grades(A,student)", r_grades_a_student, {OK, OK, OK, OK, PD, UA},
	 NULL},
	{"grades(A,s2)", r_grades_a_s2, {OK, OK, OK, PD, PD, UA}, NULL},
	{"grades(all,student)", r_grades_all_student,
	 {OK, PD, PD, OK, PD, UA}, NULL},
	{"gradebook(A)", r_gradebook, {OK, OK, OK, PD, PD, UA}, NULL},
	{"material_upload(A)", r_material_upload, {OK, OK, PD, PD, PD, UA},
	 NULL},
	{"material_list(A)", r_material_list, {OK, OK, OK, OK, PD, UA}, NULL},
	{"material_get(A's)", r_material_get, {OK, OK, OK, OK, NF, UA}, NULL},
	{"material_search(A)", r_material_search, {OK, OK, OK, OK, PD, UA},
	 k_material_search},
	{"query_post(A)", r_query_post, {PD, PD, PD, OK, PD, UA}, NULL},
	{"query_list(A)", r_query_list, {OK, OK, OK, OK, PD, UA},
	 k_query_list},
	{"query_get(s2's)", r_query_get_s2, {OK, OK, OK, NF, NF, UA}, NULL},
	{"query_answer(student's)", r_query_answer, {OK, OK, OK, PD, NF, UA},
	 NULL},
	{"query_claim", r_query_claim, {PD, PD, PD, PD, PD, UA}, NULL},
	{"query_release", r_query_release, {PD, PD, PD, PD, PD, UA}, NULL},
	{"progress(self)", r_progress_self, {OK, OK, OK, OK, OK, UA},
	 k_progress_own},
	{"progress(A,s2)", r_progress_a_s2, {OK, OK, OK, PD, PD, UA}, NULL},
	{"stats(A)", r_stats, {OK, OK, OK, PD, PD, UA}, NULL},
	{"migrate(001 again)", r_migrate, {CF, PD, PD, PD, PD, UA}, NULL},
	{"schema_status", r_schema_status, {OK, OK, OK, OK, OK, OK}, NULL},
};

#define NROWS (sizeof rows / sizeof rows[0])

/* ------------------------------------------------------------- setup */

static void world_setup(struct world *w)
{
	struct lmsc *c = w->c;
	static const char *const users[NCALLERS] = {
		"admin", "inst", "ta1", "stud", "other", ""};
	for (int i = 0; i < NCALLERS; i++) {
		snprintf(w->user[i], sizeof w->user[i], "%s", users[i]);
		snprintf(w->pw[i], sizeof w->pw[i], "%s-password", users[i]);
	}
	sv_bootstrap(c, "admin", w->pw[C_ADMIN]);
	sv_login(c, "admin", w->pw[C_ADMIN], w->token[C_ADMIN]);
	const char *adm = w->token[C_ADMIN];
	sv_user(c, adm, "inst", w->pw[C_INSTR], LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	sv_user(c, adm, "ta1", w->pw[C_TA], LMS__RPC__ROLE__ROLE_STUDENT);
	sv_user(c, adm, "stud", w->pw[C_STUDENT], LMS__RPC__ROLE__ROLE_STUDENT);
	sv_user(c, adm, "other", w->pw[C_OTHER], LMS__RPC__ROLE__ROLE_STUDENT);
	sv_user(c, adm, "s2", "s2-password", LMS__RPC__ROLE__ROLE_STUDENT);
	sv_user(c, adm, "victim", "victim-password",
	        LMS__RPC__ROLE__ROLE_STUDENT);
	for (int i = 0; i < NCALLERS; i++) {
		char name[32];
		snprintf(name, sizeof name, "enr%d", i);
		sv_user(c, adm, name, "enrol-password",
		        LMS__RPC__ROLE__ROLE_STUDENT);
	}
	for (int i = C_INSTR; i <= C_OTHER; i++)
		sv_login(c, w->user[i], w->pw[i], w->token[i]);
	sv_login(c, "s2", "s2-password", w->s2_token);
	const char *ins = w->token[C_INSTR];

	sv_course(c, ins, CA, "Biology");
	sv_course(c, adm, CB, "Mathematics");
	sv_enroll(c, ins, CA, "ta1", LMS__RPC__COURSE_ROLE__COURSE_TA);
	sv_enroll(c, ins, CA, "stud", LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	sv_enroll(c, ins, CA, "s2", LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	sv_enroll(c, adm, CB, "other", LMS__RPC__COURSE_ROLE__COURSE_STUDENT);

	w->a1 = sv_assignment(c, ins, CA, "Essay on cells");
	w->a2 = sv_assignment(c, ins, CA, "Lab report");
	uint64_t b1 = sv_assignment(c, adm, CB, "Proofs");
	w->sub_s = sv_submit(c, w->token[C_STUDENT], w->a1, "cells are small",
	                     NULL);
	w->sub_s2 = sv_submit(c, w->s2_token, w->a1, "cells divide", NULL);
	sv_submit(c, w->token[C_OTHER], b1, "a proof", NULL);
	sv_grade(c, ins, w->sub_s, 88, "good");
	w->mat_a = sv_material_txt(c, ins, CA, "plants",
	                           "Photosynthesis turns light into sugar.\n"
	                           "Chlorophyll absorbs the light.\n");
	w->q_s = sv_query_post(c, w->token[C_STUDENT], CA, "Why are cells "
	                       "small?", LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR);
	w->q_s2 = sv_query_post(c, w->s2_token, CA, "How do cells divide?",
	                        LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR);
	w->token[C_NONE][0] = '\0';
}

/* ------------------------------------------------------------ probes */

/*
 * Bad input and odd callers, each followed by a request that must still
 * be served: tokens that are not sessions, ids that do not exist, values
 * out of range, invalid UTF-8, page cursors, and the paging of a list
 * walked to its end. Failures are collected and reported together.
 */
struct probes {
	struct world *w;
	unsigned failed, run;
};

static void probe(struct probes *pr, const char *what, Lms__Rpc__Response *r,
                  int want)
{
	pr->run++;
	if ((int)r->status != want) {
		pr->failed++;
		print_message("[svc] probe %s: expected %s, got %s\n", what,
		              lmsc_status_name(want), sv_describe(r));
	}
	lmsc_response_free(r);
	/* the cluster still serves */
	Lms__Rpc__WhoAmIRequest q = LMS__RPC__WHO_AM_IREQUEST__INIT;
	Lms__Rpc__Response *ok = SV_CALL(pr->w->c, pr->w->token[C_ADMIN],
	                                 whoami, WHOAMI, &q);
	sv_expect(ok, OK, "whoami after the probe %s", what);
	lmsc_response_free(ok);
}

static void run_probes(struct world *w)
{
	struct probes pr = {w, 0, 0};
	struct lmsc *c = w->c;
	const char *ins = w->token[C_INSTR];
	Lms__Rpc__WhoAmIRequest who = LMS__RPC__WHO_AM_IREQUEST__INIT;
	char zeros[65];
	memset(zeros, '0', 64);
	zeros[64] = '\0';
	probe(&pr, "whoami with a token of 64 zeros",
	      SV_CALL(c, zeros, whoami, WHOAMI, &who), UA);
	probe(&pr, "whoami with a token that is not hex",
	      SV_CALL(c, "not-a-token", whoami, WHOAMI, &who), UA);
	Lms__Rpc__CourseCreateRequest cc = LMS__RPC__COURSE_CREATE_REQUEST__INIT;
	cc.code = "ZZ9";
	cc.title = "Forged";
	probe(&pr, "course_create with a token of 64 zeros",
	      SV_CALL(c, zeros, course_create, COURSE_CREATE, &cc), UA);

	Lms__Rpc__SubmissionGetRequest sg = LMS__RPC__SUBMISSION_GET_REQUEST__INIT;
	sg.id = 0;
	probe(&pr, "submission_get id 0",
	      SV_CALL(c, ins, submission_get, SUBMISSION_GET, &sg), NF);
	sg.id = UINT64_MAX;
	probe(&pr, "submission_get id 2^64-1",
	      SV_CALL(c, ins, submission_get, SUBMISSION_GET, &sg), NF);
	sg.id = 999999;
	probe(&pr, "submission_get of an id never used",
	      SV_CALL(c, ins, submission_get, SUBMISSION_GET, &sg), NF);
	Lms__Rpc__AssignmentGetRequest ag = LMS__RPC__ASSIGNMENT_GET_REQUEST__INIT;
	ag.id = w->sub_s; /* a submission's id is no assignment */
	probe(&pr, "assignment_get of a submission's id",
	      SV_CALL(c, ins, assignment_get, ASSIGNMENT_GET, &ag), NF);
	Lms__Rpc__CourseMembersRequest cm = LMS__RPC__COURSE_MEMBERS_REQUEST__INIT;
	cm.course = "NOSUCH";
	probe(&pr, "course_members of a course that does not exist",
	      SV_CALL(c, ins, course_members, COURSE_MEMBERS, &cm), NF);

	Lms__Rpc__GradeRequest g = LMS__RPC__GRADE_REQUEST__INIT;
	g.submission_id = w->sub_s;
	g.score = 1e300;
	probe(&pr, "grade with a score of 1e300",
	      SV_CALL(c, ins, grade, GRADE, &g), LMS__RPC__STATUS__INVALID_ARGUMENT);
	g.score = -1;
	probe(&pr, "grade with a negative score",
	      SV_CALL(c, ins, grade, GRADE, &g), LMS__RPC__STATUS__INVALID_ARGUMENT);
	g.score = 150;
	probe(&pr, "grade above the assignment's 100 points",
	      SV_CALL(c, ins, grade, GRADE, &g), LMS__RPC__STATUS__INVALID_ARGUMENT);
	g.score = 12.345;
	probe(&pr, "grade with three decimals",
	      SV_CALL(c, ins, grade, GRADE, &g), LMS__RPC__STATUS__INVALID_ARGUMENT);

	char due[LMS_ISO_MAX], opens[LMS_ISO_MAX];
	Lms__Rpc__AssignmentCreateRequest ac =
		LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT;
	ac.course = CA;
	ac.title = "Backwards";
	ac.opens_at = sv_iso_in(86400, opens);
	ac.due_at = sv_iso_in(3600, due);
	probe(&pr, "assignment due before it opens",
	      SV_CALL(c, ins, assignment_create, ASSIGNMENT_CREATE, &ac),
	      LMS__RPC__STATUS__INVALID_ARGUMENT);
	ac.opens_at = "";
	ac.due_at = "next tuesday";
	probe(&pr, "assignment with a due time that is no time",
	      SV_CALL(c, ins, assignment_create, ASSIGNMENT_CREATE, &ac),
	      LMS__RPC__STATUS__INVALID_ARGUMENT);

	Lms__Rpc__ExtensionRequest ex = LMS__RPC__EXTENSION_REQUEST__INIT;
	ex.assignment_id = w->a1;
	ex.username = w->user[C_TA];
	ex.due_at = sv_iso_in(86400, due);
	probe(&pr, "extension for the TA (not a student)",
	      SV_CALL(c, ins, extension, EXTENSION, &ex), FP);

	char bad_utf8[] = "caf\xc3 question";
	Lms__Rpc__QueryPostRequest qp = LMS__RPC__QUERY_POST_REQUEST__INIT;
	qp.course = CA;
	qp.body = bad_utf8;
	probe(&pr, "question with invalid UTF-8",
	      SV_CALL(c, w->token[C_STUDENT], query_post, QUERY_POST, &qp),
	      LMS__RPC__STATUS__INVALID_ARGUMENT);
	Lms__Rpc__UserCreateRequest uc = LMS__RPC__USER_CREATE_REQUEST__INIT;
	uc.username = "Robert'); DROP TABLE lms.app_user;--";
	uc.password = "some-password";
	uc.role = LMS__RPC__ROLE__ROLE_STUDENT;
	probe(&pr, "user_create with a username that is not an identifier",
	      SV_CALL(c, w->token[C_ADMIN], user_create, USER_CREATE, &uc),
	      LMS__RPC__STATUS__INVALID_ARGUMENT);
	uc.username = "stud";
	probe(&pr, "user_create of an existing username",
	      SV_CALL(c, w->token[C_ADMIN], user_create, USER_CREATE, &uc), CF);
	Lms__Rpc__EnrollRequest en = LMS__RPC__ENROLL_REQUEST__INIT;
	en.course = CA;
	en.username = "s2";
	en.role = LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR;
	probe(&pr, "enroll a student account as instructor",
	      SV_CALL(c, ins, enroll, ENROLL, &en), FP);
	en.username = "nobody";
	en.role = LMS__RPC__COURSE_ROLE__COURSE_STUDENT;
	probe(&pr, "enroll a user that does not exist",
	      SV_CALL(c, ins, enroll, ENROLL, &en), NF);

	Lms__Rpc__Page pg = LMS__RPC__PAGE__INIT;
	Lms__Rpc__SubmissionListRequest sl =
		LMS__RPC__SUBMISSION_LIST_REQUEST__INIT;
	sl.assignment_id = w->a1;
	sl.page = &pg;
	pg.after = "-5";
	probe(&pr, "submission_list with a page cursor of -5",
	      SV_CALL(c, ins, submission_list, SUBMISSION_LIST, &sl),
	      LMS__RPC__STATUS__INVALID_ARGUMENT);

	/* user_list walked two at a time: every user once, in order */
	Lms__Rpc__UserListRequest ul = LMS__RPC__USER_LIST_REQUEST__INIT;
	Lms__Rpc__Response *all = SV_CALL(c, w->token[C_ADMIN], user_list,
	                                  USER_LIST, &ul);
	sv_expect(all, OK, "user_list");
	size_t total = all->user_list->n_users, seen = 0;
	char cursor[128] = "";
	Lms__Rpc__Page up = LMS__RPC__PAGE__INIT;
	up.limit = 2;
	ul.page = &up;
	for (unsigned pages = 0; pages < 100; pages++) {
		up.after = cursor;
		Lms__Rpc__Response *r = SV_CALL(c, w->token[C_ADMIN], user_list,
		                                USER_LIST, &ul);
		sv_expect(r, OK, "user_list page after \"%s\"", cursor);
		const Lms__Rpc__UserListResponse *m = r->user_list;
		for (size_t i = 0; i < m->n_users; i++, seen++)
			if (seen >= total ||
			    strcmp(m->users[i]->username,
			           all->user_list->users[seen]->username) != 0) {
				pr.failed++;
				print_message("[svc] probe user_list paging: user "
				              "%zu is %s, the unpaged list says %s\n",
				              seen, m->users[i]->username,
				              seen < total ? all->user_list->users
				                                 [seen]->username
				                           : "(end)");
				seen = total + 1;
				break;
			}
		snprintf(cursor, sizeof cursor, "%s", m->next);
		bool end = !*m->next || seen > total;
		if (m->n_users > 2) {
			pr.failed++;
			print_message("[svc] probe user_list paging: %zu users on "
			              "a page of 2\n", m->n_users);
		}
		lmsc_response_free(r);
		if (end)
			break;
	}
	pr.run++;
	if (seen != total) {
		pr.failed++;
		print_message("[svc] probe user_list paging: %zu users over the "
		              "pages, %zu unpaged\n", seen, total);
	}
	lmsc_response_free(all);
	if (pr.failed)
		fail_msg("%u of %u probes failed (listed above)", pr.failed,
		         pr.run);
	print_message("[svc] probes: %u bad inputs and odd callers answered as "
	              "expected, the cluster kept serving\n", pr.run);
}

/* ------------------------------------------------------------ driver */

struct cell {
	int got;
	bool content_bad;
	char msg[300];
};

static const char *abbrev(int st)
{
	switch (st) {
	case LMS__RPC__STATUS__OK: return "OK";
	case LMS__RPC__STATUS__INVALID_ARGUMENT: return "INVAL";
	case LMS__RPC__STATUS__UNAUTHENTICATED: return "UNAUTH";
	case LMS__RPC__STATUS__PERMISSION_DENIED: return "DENIED";
	case LMS__RPC__STATUS__NOT_FOUND: return "NOTFOUND";
	case LMS__RPC__STATUS__CONFLICT: return "CONFLICT";
	case LMS__RPC__STATUS__FAILED_PRECONDITION: return "PRECOND";
	case LMS__RPC__STATUS__TOO_LARGE: return "TOOLARGE";
	case LMS__RPC__STATUS__NOT_LEADER: return "NOTLEAD";
	case LMS__RPC__STATUS__UNAVAILABLE: return "UNAVAIL";
	case LMS__RPC__STATUS__DEADLINE_EXCEEDED: return "DEADLINE";
	case LMS__RPC__STATUS__INTERNAL: return "INTERNAL";
	default: return "?";
	}
}

static void print_matrix(struct cell (*cells)[NCALLERS])
{
	print_message("[svc] role matrix: expected status per cell; "
	              "\"want>got\" where the answer differs, \"+\" where an "
	              "OK answer's content is wrong\n");
	print_message("%-26s", "operation");
	for (int k = 0; k < NCALLERS; k++)
		print_message(" %-17s", caller_names[k]);
	print_message("\n");
	for (size_t i = 0; i < NROWS; i++) {
		print_message("%-26s", rows[i].name);
		for (int k = 0; k < NCALLERS; k++) {
			char txt[40];
			const struct cell *x = &cells[i][k];
			if (x->got != rows[i].expect[k])
				snprintf(txt, sizeof txt, "%s>%s",
				         abbrev(rows[i].expect[k]),
				         abbrev(x->got));
			else
				snprintf(txt, sizeof txt, "%s%s",
				         abbrev(x->got), x->content_bad ? "+" : "");
			print_message(" %-17s", txt);
		}
		print_message("\n");
	}
}

void svc_role_matrix(void **state)
{
	struct cluster *cl = *state;
	cl_boot(cl, NULL);
	cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	struct world *w = calloc(1, sizeof *w);
	assert_non_null(w);
	w->cl = cl;
	w->c = cl_client(cl, NULL, 0);
	assert_non_null(w->c);
	sv_install_schema(cl, w->c);
	char dir[4096];
	const char *src = getenv("LMS_SOURCE_DIR");
	snprintf(dir, sizeof dir, "%s/migrations",
	         src && *src ? src : LMS_SOURCE_DIR);
	mig001 = sv_migration_load(dir, 1);
	world_setup(w);

	struct cell (*cells)[NCALLERS] = calloc(NROWS, sizeof *cells);
	assert_non_null(cells);
	unsigned wrong = 0, checked = 0;
	for (size_t i = 0; i < NROWS; i++) {
		for (int k = 0; k < NCALLERS; k++) {
			struct cell *x = &cells[i][k];
			Lms__Rpc__Response *r = rows[i].fn(w, k);
			x->got = (int)r->status;
			snprintf(x->msg, sizeof x->msg, "%s",
			         r->message ? r->message : "");
			checked++;
			if (x->got != rows[i].expect[k]) {
				wrong++;
			} else if (x->got == OK && rows[i].check) {
				const char *e = rows[i].check(w, k, r);
				if (e) {
					x->content_bad = true;
					snprintf(x->msg, sizeof x->msg,
					         "content: %s", e);
					wrong++;
				}
			}
			lmsc_response_free(r);
		}
	}
	if (wrong) {
		print_matrix(cells);
		print_message("[svc] %u of %u cells wrong:\n", wrong, checked);
		for (size_t i = 0; i < NROWS; i++)
			for (int k = 0; k < NCALLERS; k++) {
				const struct cell *x = &cells[i][k];
				if (x->got == rows[i].expect[k] &&
				    !x->content_bad)
					continue;
				print_message("  %-26s as %-10s expected %s, "
				              "got %s: %s\n", rows[i].name,
				              caller_names[k],
				              lmsc_status_name(rows[i].expect[k]),
				              lmsc_status_name(x->got),
				              x->msg[0] ? x->msg : "(no message)");
			}
	} else {
		print_message("[svc] role matrix: %zu operations x %d callers, "
		              "all %u cells as expected\n", NROWS, NCALLERS,
		              checked);
	}
	free(cells);
	sv_migration_free(mig001);
	mig001 = NULL;
	/* the probes run even when the matrix is wrong: more findings */
	run_probes(w);
	lmsc_free(w->c);
	free(w);
	if (wrong)
		cl_fail(cl, "role matrix: %u of %u cells differ from the "
		        "expected statuses (table above)", wrong, checked);
	cl_assert_converged(cl, SV_CONVERGE_MS);
	cl_stop_all(cl);
	cl_pass(cl);
}

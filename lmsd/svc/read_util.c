/*
 * read_util.c -- helpers of the read_*.c files (read_util.h): results,
 * keyset paging, exact score cells, and the scope of the per-student
 * reads (grades, progress).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read_util.h"
#include "util.h"

int rdu_oom(struct svc_ctx *x)
{
	snprintf(x->err, sizeof x->err, "out of memory");
	return -1;
}

bool rdu_is_admin(const struct svc_ctx *x)
{
	return x->actor && x->actor->role == LMS__RPC__ROLE__ROLE_ADMIN;
}

bool rdu_is_tutor(const struct svc_ctx *x)
{
	return x->actor && x->actor->role == LMS__RPC__ROLE__ROLE_TUTOR;
}

char *rdu_dup(const char *s, bool *oom)
{
	if (!s || !*s)
		return (char *)protobuf_c_empty_string;
	char *d = strdup(s);
	if (!d) {
		*oom = true;
		return (char *)protobuf_c_empty_string;
	}
	return d;
}

void rdu_free_str(char *s)
{
	if (s && s != protobuf_c_empty_string)
		free(s);
}

void *rdu_array(size_t n, bool *oom)
{
	if (n == 0)
		return NULL;
	void *a = calloc(n, sizeof(void *));
	if (!a)
		*oom = true;
	return a;
}

int rdu_fail(struct svc_ctx *x, ProtobufCMessage *m, bool oom)
{
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return oom ? rdu_oom(x) : -1;
}

/* ------------------------------------------------------------ paging */

int rdu_after_id(struct svc_ctx *x, const Lms__Rpc__Page *p, int64_t *after)
{
	*after = 0;
	if (!p || !p->after || !*p->after)
		return 1;
	if (lms_parse_i64(p->after, 1, INT64_MAX, after) == 0)
		return 1;
	*after = 0;
	svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
	           "invalid page cursor: pass the \"next\" of the previous "
	           "page");
	return 0;
}

int rdu_after_name(struct svc_ctx *x, const Lms__Rpc__Page *p,
                   const char **after)
{
	*after = "";
	if (!p || !p->after || !*p->after)
		return 1;
	size_t len = strlen(p->after);
	/* usernames are the longest names a list is keyed by */
	if (len <= SVC_USERNAME_MAX && lms_utf8_valid(p->after, len)) {
		*after = p->after;
		return 1;
	}
	svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
	           "invalid page cursor: pass the \"next\" of the previous "
	           "page");
	return 0;
}

int rdu_page(struct svc_ctx *x, const char *sql, struct svc_params *p,
             unsigned limit, int key_col, struct rdu_page *pg)
{
	pg->res = NULL;
	pg->n = 0;
	pg->next = (char *)protobuf_c_empty_string;
	svc_p_i64(p, (int64_t)limit + 1);
	PGresult *res = svc_query(x, sql, p);
	if (!res)
		return -1;
	int rows = PQntuples(res);
	pg->res = res;
	pg->n = rows > (int)limit ? (int)limit : rows;
	if (rows > (int)limit && limit > 0) {
		bool oom = false;
		pg->next = rdu_dup(PQgetvalue(res, pg->n - 1, key_col), &oom);
		if (oom) {
			rdu_page_done(pg);
			return rdu_oom(x);
		}
	}
	return 0;
}

void rdu_page_done(struct rdu_page *pg)
{
	PQclear(pg->res);
	pg->res = NULL;
}

/* ------------------------------------------------------------ scores */

int64_t rdu_hundredths(const PGresult *res, int r, int c)
{
	if (PQgetisnull(res, r, c))
		return 0;
	const char *s = PQgetvalue(res, r, c);
	bool neg = *s == '-';
	if (neg || *s == '+')
		s++;
	int64_t whole = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		whole = whole * 10 + (*s - '0');
	int64_t frac = 0;
	if (*s == '.') {
		s++;
		for (int i = 0; i < 2; i++) {
			frac *= 10;
			if (*s >= '0' && *s <= '9')
				frac += *s++ - '0';
		}
	}
	int64_t h = whole * 100 + frac;
	return neg ? -h : h;
}

double rdu_score(int64_t h)
{
	return (double)h / 100.0;
}

/* ------------------------------------------------- objects by id */

int rdu_assignment_course(struct svc_ctx *x, uint64_t id, int64_t *course_id,
                          int *role)
{
	*course_id = 0;
	*role = LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE;
	if (id > 0 && id <= (uint64_t)INT64_MAX) {
		struct svc_params p;
		svc_params_init(&p);
		svc_p_i64(&p, (int64_t)id);
		svc_p_i64(&p, x->actor->id);
		PGresult *res = svc_query(x,
			"SELECT a.course_id, e.role FROM lms.assignment a "
			"LEFT JOIN lms.enrollment e ON e.course_id = a.course_id "
			"  AND e.user_id = $2 "
			"WHERE a.id = $1", &p);
		if (!res)
			return -1;
		bool found = PQntuples(res) == 1;
		if (found) {
			*course_id = svc_i64(res, 0, 0);
			if (!svc_null(res, 0, 1))
				*role = (int)svc_course_role_parse(
					PQgetvalue(res, 0, 1));
		}
		PQclear(res);
		if (found && (rdu_is_admin(x) ||
		              *role != LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE))
			return 1;
	}
	return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
	                  "no assignment %llu", (unsigned long long)id);
}

/* ---------------------------------------------------- student scopes */

int rdu_student_scope(struct svc_ctx *x, const char *course,
                      const char *student, const char *what,
                      int64_t *course_id, int64_t *student_id)
{
	*course_id = 0;
	*student_id = 0;
	bool all = !course || !*course;
	if (!all) {
		int rv = svc_course_id(x, course, course_id);
		if (rv <= 0)
			return rv < 0 ? -1
			              : svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
			                           "no course \"%s\"", course);
	}
	bool self = !student || !*student ||
	            strcmp(student, x->actor->username) == 0;

	if (self) {
		*student_id = x->actor->id;
		if (all)
			return 1;
		int role = svc_course_role(x, *course_id, x->actor->id);
		if (role < 0)
			return -1;
		if (role == LMS__RPC__COURSE_ROLE__COURSE_STUDENT)
			return 1;
		if (role == LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE &&
		    !rdu_is_admin(x))
			return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
			                  "you are not enrolled in %s", course);
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "you are not a student of %s: name the "
		                  "student whose %s to show", course, what);
	}

	/* another student */
	if (all) {
		if (!rdu_is_admin(x))
			return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
			                  "only the course's instructors and TAs "
			                  "may see another student's %s, and only "
			                  "with the course given", what);
	} else if (!(x->actor->role == LMS__RPC__ROLE__ROLE_TUTOR &&
	             strcmp(what, "progress") == 0)) {
		/* (the tutor account reads a student's progress in a course
		 * to pitch its answer at their level; nothing else of theirs) */
		int rv = svc_need_staff_of(x, *course_id, false, NULL);
		if (rv <= 0) {
			if (rv == 0)
				svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
				           "only the instructors and TAs of %s may "
				           "see another student's %s", course, what);
			return rv;
		}
	}
	int rv = svc_user_id(x, student, student_id, NULL);
	if (rv < 0)
		return -1;
	if (rv == 0)
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND, "no user \"%s\"",
		                  student);
	if (all)
		return 1;
	int role = svc_course_role(x, *course_id, *student_id);
	if (role < 0)
		return -1;
	if (role != LMS__RPC__COURSE_ROLE__COURSE_STUDENT)
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                  "\"%s\" is not a student of %s", student, course);
	return 1;
}

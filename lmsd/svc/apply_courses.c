/*
 * apply_courses.c -- courses and their members on the apply side (svc.h):
 * course_create, enroll.
 *
 * Global roles (lms.app_user.role) say what an account is; course roles
 * (lms.enrollment.role) say what it may do in one course. The rules that
 * tie them: only admin and instructor accounts create courses or teach
 * them (course role instructor); the tutor service account is never a
 * member of a course (it answers through its own global role).
 */
#include <stdlib.h>

#include "apply_util.h"

int apply_course_create(struct svc_ctx *x,
                        const Lms__Rpc__CourseCreateRequest *c)
{
	if (!apu_need_actor(x))
		return 0;
	bool instructor = x->actor->role == LMS__RPC__ROLE__ROLE_INSTRUCTOR;
	if (!apu_is_admin(x) && !instructor)
		return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
		                  "only admins and instructors create courses");
	int64_t id;
	int rv = svc_course_id(x, c->code, &id);
	if (rv < 0)
		return -1;
	if (rv == 1)
		return svc_refuse(x, LMS__RPC__STATUS__CONFLICT,
		                  "course \"%s\" already exists", c->code);

	APU_NEW(x, r, course_create_response, CourseCreateResponse);
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)x->index);
	svc_p_text(&p, c->code);
	svc_p_text(&p, c->title);
	svc_p_i64(&p, x->actor->id);
	svc_p_text(&p, x->now);
	if (svc_exec(x,
		"INSERT INTO lms.course (id, code, title, created_by, created_at) "
		"VALUES ($1, $2, $3, $4, $5)", &p, NULL))
		goto err;
	/* an instructor teaches the course they create */
	if (instructor) {
		svc_params_init(&p);
		svc_p_i64(&p, (int64_t)x->index);
		svc_p_i64(&p, x->actor->id);
		svc_p_text(&p, x->now);
		if (svc_exec(x,
			"INSERT INTO lms.enrollment (course_id, user_id, role, "
			"  enrolled_at) VALUES ($1, $2, 'instructor', $3)", &p,
			NULL))
			goto err;
	}
	if (apu_loaded(x, svc_load_course(x, (int64_t)x->index, &r->course),
	               "course"))
		goto err;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_COURSE_CREATE;
	x->resp->course_create = r;
	return 0;
err:
	free(r);
	return -1;
}

int apply_enroll(struct svc_ctx *x, const Lms__Rpc__EnrollRequest *c)
{
	if (!apu_need_actor(x))
		return 0;
	int64_t course_id;
	int rv = svc_need_course_staff(x, c->course, true, &course_id, NULL);
	if (rv != 1)
		return rv;
	int64_t user_id;
	Lms__Rpc__Role account;
	rv = svc_user_id(x, c->username, &user_id, &account);
	if (rv < 0)
		return -1;
	if (rv == 0)
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND, "no user \"%s\"",
		                  c->username);
	Lms__Rpc__CourseRole role =
		c->role == LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE
			? LMS__RPC__COURSE_ROLE__COURSE_STUDENT
			: c->role;
	const char *role_name = svc_course_role_name(role);
	if (!*role_name)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "unknown course role %d", (int)c->role);
	if (account == LMS__RPC__ROLE__ROLE_TUTOR)
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "\"%s\" is the tutor service account: it cannot "
		                  "be enrolled in a course", c->username);
	if (role == LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR &&
	    account != LMS__RPC__ROLE__ROLE_ADMIN &&
	    account != LMS__RPC__ROLE__ROLE_INSTRUCTOR)
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "\"%s\" is a %s account: only instructor and "
		                  "admin accounts can be a course's instructor",
		                  c->username, svc_role_name(account));
	int current = svc_course_role(x, course_id, user_id);
	if (current < 0)
		return -1;

	APU_NEW(x, r, enroll_response, EnrollResponse);
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	svc_p_i64(&p, user_id);
	svc_p_text(&p, role_name);
	/* enrolling again changes the role and keeps the enrolment time */
	if (current == LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE) {
		svc_p_text(&p, x->now);
		if (svc_exec(x,
			"INSERT INTO lms.enrollment (course_id, user_id, role, "
			"  enrolled_at) VALUES ($1, $2, $3, $4)", &p, NULL))
			goto err;
	} else if (current != (int)role) {
		if (svc_exec(x,
			"UPDATE lms.enrollment SET role = $3 "
			"WHERE course_id = $1 AND user_id = $2", &p, NULL))
			goto err;
	}
	if (apu_loaded(x, svc_load_member(x, course_id, user_id, &r->member),
	               "enrolment"))
		goto err;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_ENROLL;
	x->resp->enroll = r;
	return 0;
err:
	free(r);
	return -1;
}

/*
 * test_courses.c -- course_create and enroll on the apply side, and the
 * role rules that tie global and course roles.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define S(x) LMS__RPC__STATUS__##x
#define CR(x) LMS__RPC__COURSE_ROLE__COURSE_##x

static Lms__Rpc__CourseCreateRequest course_cmd(const char *code)
{
	Lms__Rpc__CourseCreateRequest c = LMS__RPC__COURSE_CREATE_REQUEST__INIT;
	c.code = (char *)code;
	c.title = "Algorithms";
	return c;
}

static Lms__Rpc__EnrollRequest enroll_cmd(const char *course,
                                          const char *username,
                                          Lms__Rpc__CourseRole role)
{
	Lms__Rpc__EnrollRequest c = LMS__RPC__ENROLL_REQUEST__INIT;
	c.course = (char *)course;
	c.username = (char *)username;
	c.role = role;
	return c;
}

static char *role_in(struct env *e, const char *course, const char *user)
{
	return env_value(e,
		"SELECT COALESCE((SELECT en.role FROM lms.enrollment en "
		"  JOIN lms.course c ON c.id = en.course_id "
		"  JOIN lms.app_user u ON u.id = en.user_id "
		"  WHERE c.code = $1 AND u.username = $2), 'none')",
		2, course, user);
}

static void assert_role(struct env *e, const char *course, const char *user,
                        const char *want)
{
	char *r = role_in(e, course, user);
	assert_string_equal(r, want);
	free(r);
}

static void course_create(void **state)
{
	struct env *e = *state;
	mk_people(e);

	/* an admin creates a course without teaching it */
	Lms__Rpc__CourseCreateRequest c = course_cmd("ALG1");
	Lms__Rpc__Response *r = OK(e, "root", apply_course_create, &c);
	assert_int_equal(r->result_case,
	                 LMS__RPC__RESPONSE__RESULT_COURSE_CREATE);
	Lms__Rpc__Course *co = r->course_create->course;
	assert_int_equal(co->id, e->index);
	assert_string_equal(co->code, "ALG1");
	assert_string_equal(co->title, "Algorithms");
	assert_string_equal(co->created_at, "2026-03-02T09:00:00Z");
	assert_int_equal(co->my_role, CR(ROLE_NONE));
	assert_int_equal(co->staff, 0);
	assert_int_equal(co->students, 0);
	assert_int_equal(env_int(e, "SELECT count(*) FROM lms.enrollment", 0),
	                 0);
	char *by = env_value(e, "SELECT u.username FROM lms.course c JOIN "
	                        "lms.app_user u ON u.id = c.created_by "
	                        "WHERE c.code = 'ALG1'", 0);
	assert_string_equal(by, "root");
	free(by);

	/* an instructor creates one and teaches it */
	env_advance(e, 1500); /* a time with milliseconds */
	c = course_cmd("ALG2");
	r = OK(e, "ins", apply_course_create, &c);
	co = r->course_create->course;
	assert_int_equal(co->my_role, CR(INSTRUCTOR));
	assert_int_equal(co->staff, 1);
	assert_string_equal(co->created_at, "2026-03-02T09:00:01.500Z");
	assert_role(e, "ALG2", "ins", "instructor");
	char *at = env_value(e, "SELECT lms.iso(enrolled_at) FROM "
	                        "lms.enrollment", 0);
	assert_string_equal(at, "2026-03-02T09:00:01.500Z");
	free(at);

	c = course_cmd("ALG1");
	REFUSED(e, "ins2", apply_course_create, &c, S(CONFLICT),
	        "course \"ALG1\" already exists");
	c = course_cmd("NEW");
	REFUSED(e, "stu1", apply_course_create, &c, S(PERMISSION_DENIED),
	        "only admins and instructors create courses");
	REFUSED(e, "ta", apply_course_create, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "tutor", apply_course_create, &c, S(PERMISSION_DENIED),
	        NULL);
	REFUSED(e, NULL, apply_course_create, &c, S(UNAUTHENTICATED), NULL);
}

static void enroll(void **state)
{
	struct env *e = *state;
	mk_people(e);
	mk_course(e, "ins", "CS101");
	mk_course(e, "ins2", "MA201");
	mk_course(e, "root", "ADM1");

	/* role NONE means student */
	Lms__Rpc__EnrollRequest c = enroll_cmd("CS101", "stu1", CR(ROLE_NONE));
	Lms__Rpc__Response *r = OK(e, "ins", apply_enroll, &c);
	assert_int_equal(r->result_case, LMS__RPC__RESPONSE__RESULT_ENROLL);
	Lms__Rpc__Member *m = r->enroll->member;
	assert_int_equal(m->role, CR(STUDENT));
	assert_string_equal(m->user->username, "stu1");
	assert_string_equal(m->user->display_name, "User stu1");
	assert_string_equal(m->enrolled_at, "2026-03-02T09:00:00Z");
	assert_role(e, "CS101", "stu1", "student");

	/* a TA (a student account) */
	c = enroll_cmd("CS101", "ta", CR(TA));
	r = OK(e, "ins", apply_enroll, &c);
	assert_int_equal(r->enroll->member->role, CR(TA));

	/* enrolling again changes the role and keeps the enrolment time */
	env_advance(e, DAY);
	c = enroll_cmd("CS101", "stu1", CR(TA));
	r = OK(e, "ins", apply_enroll, &c);
	assert_int_equal(r->enroll->member->role, CR(TA));
	assert_string_equal(r->enroll->member->enrolled_at,
	                    "2026-03-02T09:00:00Z");
	assert_role(e, "CS101", "stu1", "ta");
	char *before = env_digest(e);
	r = OK(e, "ins", apply_enroll, &c); /* the same role: nothing changes */
	assert_int_equal(r->enroll->member->role, CR(TA));
	char *after = env_digest(e);
	assert_string_equal(before, after);
	free(before);
	free(after);
	c = enroll_cmd("CS101", "stu1", CR(STUDENT));
	OK(e, "ins", apply_enroll, &c);
	assert_role(e, "CS101", "stu1", "student");

	/* instructors: admin and instructor accounts only */
	c = enroll_cmd("CS101", "ins2", CR(INSTRUCTOR));
	r = OK(e, "ins", apply_enroll, &c);
	assert_int_equal(r->enroll->member->role, CR(INSTRUCTOR));
	c = enroll_cmd("CS101", "root", CR(INSTRUCTOR));
	OK(e, "ins", apply_enroll, &c);
	c = enroll_cmd("CS101", "stu2", CR(INSTRUCTOR));
	REFUSED(e, "ins", apply_enroll, &c, S(FAILED_PRECONDITION),
	        "\"stu2\" is a student account");
	/* the tutor account is never a member */
	c = enroll_cmd("CS101", "tutor", CR(STUDENT));
	REFUSED(e, "ins", apply_enroll, &c, S(FAILED_PRECONDITION), "tutor");
	c = enroll_cmd("CS101", "tutor", CR(TA));
	REFUSED(e, "root", apply_enroll, &c, S(FAILED_PRECONDITION), "tutor");

	/* who may enroll: admin, or an instructor of that course */
	c = enroll_cmd("MA201", "stu2", CR(STUDENT));
	REFUSED(e, "ins", apply_enroll, &c, S(PERMISSION_DENIED), NULL);
	c = enroll_cmd("CS101", "stu2", CR(STUDENT));
	REFUSED(e, "ta", apply_enroll, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "stu1", apply_enroll, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "stu2", apply_enroll, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "tutor", apply_enroll, &c, S(PERMISSION_DENIED), NULL);
	c = enroll_cmd("ADM1", "stu2", CR(STUDENT));
	REFUSED(e, "ins", apply_enroll, &c, S(PERMISSION_DENIED), NULL);
	r = OK(e, "root", apply_enroll, &c); /* admin, not a member of ADM1 */
	assert_int_equal(r->enroll->member->role, CR(STUDENT));
	/* a co-instructor enrolled above may enroll too */
	c = enroll_cmd("CS101", "stu3", CR(STUDENT));
	OK(e, "ins2", apply_enroll, &c);

	c = enroll_cmd("NOPE", "stu2", CR(STUDENT));
	REFUSED(e, "root", apply_enroll, &c, S(NOT_FOUND), "no course \"NOPE\"");
	c = enroll_cmd("CS101", "ghost", CR(STUDENT));
	REFUSED(e, "ins", apply_enroll, &c, S(NOT_FOUND), "no user \"ghost\"");
	/* refusal order: course, then permission, then user */
	c = enroll_cmd("MA201", "ghost", CR(STUDENT));
	REFUSED(e, "ins", apply_enroll, &c, S(PERMISSION_DENIED), NULL);
	c = enroll_cmd("CS101", "stu2", (Lms__Rpc__CourseRole)7);
	REFUSED(e, "ins", apply_enroll, &c, S(INVALID_ARGUMENT), NULL);

	/* the course's counts follow: staff ins, ins2, root (instructors)
	 * and ta; students stu1 and stu3 */
	assert_int_equal(env_int(e,
		"SELECT count(*) FROM lms.enrollment en JOIN lms.course c "
		"ON c.id = en.course_id WHERE c.code = 'CS101'", 0), 6);
	int64_t id = env_int(e, "SELECT id FROM lms.course WHERE code = "
	                        "'CS101'", 0);
	Lms__Rpc__Course *co = NULL;
	env_call(e, "ta");
	assert_int_equal(svc_load_course(&e->x, id, &co), 1);
	env_end(e);
	assert_int_equal(co->staff, 4);
	assert_int_equal(co->students, 2);
	assert_int_equal(co->my_role, CR(TA));
	protobuf_c_message_free_unpacked(&co->base, NULL);
	env_call(e, "stu2"); /* not a member */
	assert_int_equal(svc_load_course(&e->x, id, &co), 1);
	env_end(e);
	assert_int_equal(co->my_role, CR(ROLE_NONE));
	protobuf_c_message_free_unpacked(&co->base, NULL);
	env_call(e, "ins");
	assert_int_equal(svc_load_course(&e->x, id + 1000, &co), 0);
	env_end(e);
	assert_null(co);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(course_create, env_reset),
		cmocka_unit_test_setup(enroll, env_reset),
	};
	return cmocka_run_group_tests(tests, env_group_setup,
	                              env_group_teardown);
}

/*
 * test_people.c -- whoami, user_list, course_list, course_members: what
 * each caller sees, and keyset paging by username / course code.
 */
#include <stdlib.h>
#include <string.h>

#include "readtest.h"

#define OK_WHOAMI LMS__RPC__RESPONSE__RESULT_WHOAMI
#define OK_USERS LMS__RPC__RESPONSE__RESULT_USER_LIST
#define OK_COURSES LMS__RPC__RESPONSE__RESULT_COURSE_LIST
#define OK_MEMBERS LMS__RPC__RESPONSE__RESULT_COURSE_MEMBERS


static Lms__Rpc__Response *whoami(struct rt *t, const char *who)
{
	Lms__Rpc__WhoAmIRequest q = LMS__RPC__WHO_AM_IREQUEST__INIT;
	return rt_ok(t, read_whoami(rt_as(t, who), &q, RT_EXPIRES), OK_WHOAMI);
}

static void test_whoami(void **state)
{
	struct rt *t = *state;
	Lms__Rpc__WhoAmIResponse *w = whoami(t, "alice")->whoami;
	assert_int_equal(w->user->id, 5);
	assert_string_equal(w->user->username, "alice");
	assert_string_equal(w->user->display_name, "Alice Anders");
	assert_int_equal(w->user->role, LMS__RPC__ROLE__ROLE_STUDENT);
	assert_string_equal(w->user->created_at, "2026-01-01T00:00:00Z");
	assert_string_equal(w->expires_at, RT_EXPIRES);
	assert_int_equal(w->n_courses, 2);
	assert_string_equal(w->courses[0]->code, "A101");
	assert_string_equal(w->courses[0]->title, "Algorithms");
	assert_int_equal(w->courses[0]->my_role,
	                 LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	assert_int_equal(w->courses[0]->students, 3);
	assert_int_equal(w->courses[0]->staff, 2);
	assert_string_equal(w->courses[1]->code, "B202");
	assert_int_equal(w->courses[1]->my_role,
	                 LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	assert_int_equal(w->courses[1]->students, 2);
	assert_int_equal(w->courses[1]->staff, 1);

	w = whoami(t, "ta1")->whoami;
	assert_string_equal(w->user->username, "ta1");
	assert_int_equal(w->n_courses, 1);
	assert_string_equal(w->courses[0]->code, "A101");
	assert_int_equal(w->courses[0]->my_role,
	                 LMS__RPC__COURSE_ROLE__COURSE_TA);

	w = whoami(t, "admin")->whoami;
	assert_int_equal(w->user->role, LMS__RPC__ROLE__ROLE_ADMIN);
	assert_int_equal(w->n_courses, 0);

	w = whoami(t, "tutor")->whoami;
	assert_int_equal(w->user->role, LMS__RPC__ROLE__ROLE_TUTOR);
	assert_int_equal(w->n_courses, 0);
}

/* ------------------------------------------------------------ users */

static Lms__Rpc__UserListResponse *users(struct rt *t, unsigned limit,
                                         const char *after)
{
	Lms__Rpc__Page page = LMS__RPC__PAGE__INIT;
	page.limit = limit;
	page.after = (char *)after;
	Lms__Rpc__UserListRequest q = LMS__RPC__USER_LIST_REQUEST__INIT;
	q.page = &page;
	return RT_OK(t, "admin", read_user_list, &q, OK_USERS)->user_list;
}

static void expect_users(Lms__Rpc__UserListResponse *u, const char *next,
                         size_t n, const char *const *names)
{
	assert_int_equal(u->n_users, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(u->users[i]->username, names[i]);
	assert_string_equal(u->next, next);
}

static void test_user_list(void **state)
{
	struct rt *t = *state;
	/* three pages of 4, by username */
	Lms__Rpc__UserListResponse *u = users(t, 4, "");
	expect_users(u, "carol", 4,
	             (const char *[]){"admin", "alice", "bob", "carol"});
	assert_string_equal(u->users[2]->display_name, "@bob");
	assert_int_equal(u->users[0]->role, LMS__RPC__ROLE__ROLE_ADMIN);
	u = users(t, 4, "carol");
	expect_users(u, "ta1", 4,
	             (const char *[]){"dave", "ins1", "ins2", "ta1"});
	assert_int_equal(u->users[1]->role, LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	u = users(t, 4, "ta1");
	expect_users(u, "", 1, (const char *[]){"tutor"});
	assert_int_equal(u->users[0]->role, LMS__RPC__ROLE__ROLE_TUTOR);

	/* exactly a page: the next page is empty, not missing */
	u = users(t, 9, "");
	assert_int_equal(u->n_users, 9);
	assert_string_equal(u->next, "");
	/* 0 = the configured maximum; larger is capped to it */
	u = users(t, 0, "");
	assert_int_equal(u->n_users, 9);
	t->limits.max_page_size = 3;
	u = users(t, 1000, "");
	expect_users(u, "bob", 3, (const char *[]){"admin", "alice", "bob"});
	t->limits.max_page_size = 100;

	/* no page at all: everything */
	Lms__Rpc__UserListRequest q = LMS__RPC__USER_LIST_REQUEST__INIT;
	u = RT_OK(t, "admin", read_user_list, &q, OK_USERS)->user_list;
	assert_int_equal(u->n_users, 9);

	/* admins only */
	RT_REFUSED(t, "ins1", read_user_list, &q, DENIED, "admin");
	RT_REFUSED(t, "alice", read_user_list, &q, DENIED, "admin");
	RT_REFUSED(t, "tutor", read_user_list, &q, DENIED, "admin");

	/* a cursor that no page gave */
	char longer[100];
	memset(longer, 'a', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	Lms__Rpc__Page page = LMS__RPC__PAGE__INIT;
	page.after = longer;
	q.page = &page;
	RT_REFUSED(t, "admin", read_user_list, &q,
	           LMS__RPC__STATUS__INVALID_ARGUMENT, "cursor");
}

/* ----------------------------------------------------------- courses */

static Lms__Rpc__CourseListResponse *courses(struct rt *t, const char *who,
                                             unsigned limit,
                                             const char *after)
{
	Lms__Rpc__Page page = LMS__RPC__PAGE__INIT;
	page.limit = limit;
	page.after = (char *)after;
	Lms__Rpc__CourseListRequest q = LMS__RPC__COURSE_LIST_REQUEST__INIT;
	q.page = &page;
	return RT_OK(t, who, read_course_list, &q, OK_COURSES)->course_list;
}

static void test_course_list(void **state)
{
	struct rt *t = *state;
	/* an admin: every course, paged by code */
	Lms__Rpc__CourseListResponse *c = courses(t, "admin", 2, "");
	assert_int_equal(c->n_courses, 2);
	assert_string_equal(c->courses[0]->code, "A101");
	assert_int_equal(c->courses[0]->id, 100);
	assert_string_equal(c->courses[0]->created_at, "2026-01-01T01:00:00Z");
	assert_int_equal(c->courses[0]->my_role,
	                 LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE);
	assert_string_equal(c->courses[1]->code, "B202");
	assert_string_equal(c->next, "B202");
	c = courses(t, "admin", 2, "B202");
	assert_int_equal(c->n_courses, 1);
	assert_string_equal(c->courses[0]->code, "C303");
	assert_int_equal(c->courses[0]->students, 0);
	assert_string_equal(c->next, "");

	/* others: their own courses, with their role */
	c = courses(t, "alice", 0, "");
	assert_int_equal(c->n_courses, 2);
	assert_string_equal(c->courses[0]->code, "A101");
	assert_string_equal(c->courses[1]->code, "B202");
	assert_int_equal(c->courses[1]->my_role,
	                 LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	c = courses(t, "alice", 1, "");
	assert_int_equal(c->n_courses, 1);
	assert_string_equal(c->next, "A101");
	c = courses(t, "alice", 1, "A101");
	assert_int_equal(c->n_courses, 1);
	assert_string_equal(c->courses[0]->code, "B202");
	assert_string_equal(c->next, "");

	c = courses(t, "ins1", 0, "");
	assert_int_equal(c->n_courses, 1);
	assert_string_equal(c->courses[0]->code, "A101");
	assert_int_equal(c->courses[0]->my_role,
	                 LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR);
	c = courses(t, "ta1", 0, "");
	assert_int_equal(c->n_courses, 1);
	assert_int_equal(c->courses[0]->my_role,
	                 LMS__RPC__COURSE_ROLE__COURSE_TA);
	c = courses(t, "dave", 0, "");
	assert_int_equal(c->n_courses, 1);
	assert_string_equal(c->courses[0]->code, "B202");
	c = courses(t, "ins2", 0, "");
	assert_int_equal(c->n_courses, 1);
	assert_string_equal(c->courses[0]->code, "B202");
	c = courses(t, "tutor", 0, "");
	assert_int_equal(c->n_courses, 0);
	assert_string_equal(c->next, "");
}

/* ----------------------------------------------------------- members */

static Lms__Rpc__CourseMembersResponse *members(struct rt *t, const char *who,
                                                const char *course,
                                                unsigned limit,
                                                const char *after)
{
	Lms__Rpc__Page page = LMS__RPC__PAGE__INIT;
	page.limit = limit;
	page.after = (char *)after;
	Lms__Rpc__CourseMembersRequest q =
		LMS__RPC__COURSE_MEMBERS_REQUEST__INIT;
	q.course = (char *)course;
	q.page = &page;
	return RT_OK(t, who, read_course_members, &q, OK_MEMBERS)
		->course_members;
}

static void expect_members(Lms__Rpc__CourseMembersResponse *m,
                           const char *next, size_t n,
                           const char *const *names)
{
	assert_int_equal(m->n_members, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(m->members[i]->user->username, names[i]);
	assert_string_equal(m->next, next);
}

static void test_course_members(void **state)
{
	struct rt *t = *state;
	/* the instructor: everyone, three pages of 2 by username */
	Lms__Rpc__CourseMembersResponse *m = members(t, "ins1", "A101", 2, "");
	expect_members(m, "bob", 2, (const char *[]){"alice", "bob"});
	assert_int_equal(m->members[0]->role,
	                 LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	assert_string_equal(m->members[0]->enrolled_at, "2026-01-02T00:00:00Z");
	assert_string_equal(m->members[0]->user->display_name, "Alice Anders");
	m = members(t, "ins1", "A101", 2, "bob");
	expect_members(m, "ins1", 2, (const char *[]){"carol", "ins1"});
	assert_int_equal(m->members[1]->role,
	                 LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR);
	m = members(t, "ins1", "A101", 2, "ins1");
	expect_members(m, "", 1, (const char *[]){"ta1"});
	assert_int_equal(m->members[0]->role, LMS__RPC__COURSE_ROLE__COURSE_TA);

	/* a TA and an admin see everyone too */
	const char *const all[] = {"alice", "bob", "carol", "ins1", "ta1"};
	expect_members(members(t, "ta1", "A101", 0, ""), "", 5, all);
	expect_members(members(t, "admin", "A101", 0, ""), "", 5, all);

	/* a student: the staff and themself, never the other students */
	expect_members(members(t, "alice", "A101", 0, ""), "", 3,
	               (const char *[]){"alice", "ins1", "ta1"});
	expect_members(members(t, "carol", "A101", 0, ""), "", 3,
	               (const char *[]){"carol", "ins1", "ta1"});
	expect_members(members(t, "alice", "B202", 0, ""), "", 2,
	               (const char *[]){"alice", "ins2"});
	expect_members(members(t, "dave", "B202", 0, ""), "", 2,
	               (const char *[]){"dave", "ins2"});
	/* ... paged the same way */
	expect_members(members(t, "bob", "A101", 2, ""), "ins1", 2,
	               (const char *[]){"bob", "ins1"});
	expect_members(members(t, "bob", "A101", 2, "ins1"), "", 1,
	               (const char *[]){"ta1"});
	expect_members(members(t, "ins2", "B202", 0, ""), "", 3,
	               (const char *[]){"alice", "dave", "ins2"});

	/* not enrolled, unknown course */
	Lms__Rpc__CourseMembersRequest q =
		LMS__RPC__COURSE_MEMBERS_REQUEST__INIT;
	q.course = "A101";
	RT_REFUSED(t, "dave", read_course_members, &q, DENIED, "not enrolled");
	RT_REFUSED(t, "ins2", read_course_members, &q, DENIED, NULL);
	RT_REFUSED(t, "tutor", read_course_members, &q, DENIED, NULL);
	q.course = "Z999";
	RT_REFUSED(t, "admin", read_course_members, &q, NOTFOUND, "Z999");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whoami),
		cmocka_unit_test(test_user_list),
		cmocka_unit_test(test_course_list),
		cmocka_unit_test(test_course_members),
	};
	return cmocka_run_group_tests(tests, rt_setup, rt_teardown);
}

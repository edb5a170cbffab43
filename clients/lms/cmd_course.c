/*
 * cmd_course.c -- lms course create, list, enroll and members.
 *
 * Courses are named by code ("DEMO101"). Who may do what is decided by the
 * cluster (README "Who can do what"): an instructor or admin creates a
 * course, its instructors enroll people; `course list` shows an admin
 * every course and anyone else their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lms.h"

static const char *course_role(int r)
{
	return enum_name(&lms__rpc__course_role__descriptor, r);
}

static int cmd_course_create(struct cli *cli, const struct args *a)
{
	const char *title = arg_get(a, "title");
	if (!title)
		return cli_usage(cli, "course create", "--title is required");
	Lms__Rpc__CourseCreateRequest cc = LMS__RPC__COURSE_CREATE_REQUEST__INIT;
	cc.code = a->pos[0];
	cc.title = (char *)title;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, course_create, COURSE_CREATE, &cc);
	Lms__Rpc__Response *r;
	int rc = cli_call(cli, &req, CALL_WRITE, RESULT(COURSE_CREATE), &r,
	                  NULL);
	if (rc)
		return rc;
	const Lms__Rpc__Course *c = r->course_create->course;
	if (cli->json)
		out_json(pb_json(&r->course_create->base));
	else if (cli->quiet)
		printf("%s\n", c ? c->code : a->pos[0]);
	else
		printf("Created course %s \"%s\".\n", c ? c->code : a->pos[0],
		       c ? c->title : title);
	lmsc_response_free(r);
	return 0;
}

static int cmd_course_list(struct cli *cli, const struct args *a)
{
	int rc = 0;
	long limit = arg_limit(cli, a, "course list", &rc);
	if (limit < 0)
		return rc;
	json_t *arr = json_array();
	struct table *t = table_new(5, "CODE", "TITLE", "MY ROLE", "STUDENTS",
	                            "STAFF");
	struct pager pg;
	pager_init(&pg, limit);
	Lms__Rpc__Page *page;
	while ((page = pager_next(&pg))) {
		Lms__Rpc__CourseListRequest cl = LMS__RPC__COURSE_LIST_REQUEST__INIT;
		cl.page = page;
		Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
		SET_OP(&req, course_list, COURSE_LIST, &cl);
		Lms__Rpc__Response *r;
		rc = cli_call(cli, &req, CALL_READ, RESULT(COURSE_LIST), &r, NULL);
		if (rc)
			break;
		const Lms__Rpc__CourseListResponse *l = r->course_list;
		size_t k = pager_took(&pg, l->n_courses, l->next);
		for (size_t i = 0; i < k; i++) {
			const Lms__Rpc__Course *c = l->courses[i];
			json_array_append_new(arr, pb_json(&c->base));
			table_row(t, c->code, c->title, course_role(c->my_role),
			          fmt("%u", c->students), fmt("%u", c->staff));
		}
		lmsc_response_free(r);
	}
	pager_free(&pg);
	if (rc == 0) {
		if (cli->json) {
			out_json(json_pack("{s:O}", "courses", arr));
		} else if (table_rows(t) == 0 && !cli->quiet) {
			printf("No courses.\n");
		} else {
			table_max(t, 1, 50);
			table_right(t, 3);
			table_right(t, 4);
			table_print(t, stdout, !cli->quiet);
			t = NULL;
		}
	}
	table_free(t);
	json_decref(arr);
	return rc;
}

static int cmd_course_enroll(struct cli *cli, const struct args *a)
{
	Lms__Rpc__CourseRole role = LMS__RPC__COURSE_ROLE__COURSE_STUDENT;
	const char *rs = arg_get(a, "role");
	if (rs) {
		if (strcmp(rs, "student") == 0)
			role = LMS__RPC__COURSE_ROLE__COURSE_STUDENT;
		else if (strcmp(rs, "ta") == 0)
			role = LMS__RPC__COURSE_ROLE__COURSE_TA;
		else if (strcmp(rs, "instructor") == 0)
			role = LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR;
		else
			return cli_usage(cli, "course enroll", "--role must be "
			                 "student, ta or instructor");
	}
	Lms__Rpc__EnrollRequest e = LMS__RPC__ENROLL_REQUEST__INIT;
	e.course = a->pos[0];
	e.username = a->pos[1];
	e.role = role;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, enroll, ENROLL, &e);
	Lms__Rpc__Response *r;
	int rc = cli_call(cli, &req, CALL_WRITE, RESULT(ENROLL), &r, NULL);
	if (rc)
		return rc;
	const Lms__Rpc__Member *m = r->enroll->member;
	if (cli->json)
		out_json(pb_json(&r->enroll->base));
	else if (!cli->quiet)
		printf("Enrolled %s in %s as %s.\n",
		       m && m->user ? m->user->username : a->pos[1], a->pos[0],
		       course_role(m ? m->role : role));
	lmsc_response_free(r);
	return 0;
}

static int cmd_course_members(struct cli *cli, const struct args *a)
{
	int rc = 0;
	long limit = arg_limit(cli, a, "course members", &rc);
	if (limit < 0)
		return rc;
	json_t *arr = json_array();
	struct table *t = table_new(4, "USERNAME", "NAME", "ROLE", "ENROLLED");
	struct pager pg;
	pager_init(&pg, limit);
	Lms__Rpc__Page *page;
	while ((page = pager_next(&pg))) {
		Lms__Rpc__CourseMembersRequest cm =
			LMS__RPC__COURSE_MEMBERS_REQUEST__INIT;
		cm.course = a->pos[0];
		cm.page = page;
		Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
		SET_OP(&req, course_members, COURSE_MEMBERS, &cm);
		Lms__Rpc__Response *r;
		rc = cli_call(cli, &req, CALL_READ, RESULT(COURSE_MEMBERS), &r,
		              NULL);
		if (rc)
			break;
		const Lms__Rpc__CourseMembersResponse *l = r->course_members;
		size_t k = pager_took(&pg, l->n_members, l->next);
		for (size_t i = 0; i < k; i++) {
			const Lms__Rpc__Member *m = l->members[i];
			char tm[LMS_TIME_MAX];
			json_array_append_new(arr, pb_json(&m->base));
			table_row(t, m->user ? m->user->username : "-",
			          m->user ? m->user->display_name : "-",
			          course_role(m->role),
			          fmt_time(m->enrolled_at, tm, sizeof tm));
		}
		lmsc_response_free(r);
	}
	pager_free(&pg);
	if (rc == 0) {
		if (cli->json) {
			out_json(json_pack("{s:s,s:O}", "course", a->pos[0],
			                   "members", arr));
		} else if (table_rows(t) == 0 && !cli->quiet) {
			printf("No members in %s.\n", a->pos[0]);
		} else {
			table_max(t, 1, 40);
			table_print(t, stdout, !cli->quiet);
			t = NULL;
		}
	}
	table_free(t);
	json_decref(arr);
	return rc;
}

static const struct opt_spec create_opts[] = {
	{"title", 0, OPT_VALUE, "S", "the course title (required)"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec enroll_opts[] = {
	{"role", 0, OPT_VALUE, "ROLE", "student (default), ta or instructor"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec list_opts[] = {
	LIST_OPTS,
	{NULL, 0, 0, NULL, NULL},
};

const struct command cmds_course[] = {
	{"course create", "CODE", 1, 1, create_opts,
	 "create a course (instructor, admin)", NULL, cmd_course_create},
	{"course list", "", 0, 0, list_opts,
	 "your courses (an admin: every course)", NULL, cmd_course_list},
	{"course enroll", "CODE USER", 2, 2, enroll_opts,
	 "enroll a user in a course (its instructors, admin)", NULL,
	 cmd_course_enroll},
	{"course members", "CODE", 1, 1, list_opts,
	 "the students and staff of a course", NULL, cmd_course_members},
	{NULL, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

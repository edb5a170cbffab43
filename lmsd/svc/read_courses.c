/*
 * read_courses.c -- the course reads of svc.h: course_list (an admin sees
 * every course, anyone else the courses they are enrolled in; paged by
 * code) and course_members (paged by username).
 *
 * Who sees which members: an admin and the course's instructors and TAs
 * see everyone; a student of the course sees its staff (whom they may
 * ask) and themself, never the other students; anyone else is refused.
 */
#include <stdlib.h>

#include "read_util.h"

int read_course_list(struct svc_ctx *x, const Lms__Rpc__CourseListRequest *q)
{
	const char *after;
	if (!rdu_after_name(x, q->page, &after))
		return 0;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_text(&p, rdu_is_admin(x) ? "t" : "f");
	svc_p_i64(&p, x->actor->id);
	svc_p_text(&p, after);
	struct rdu_page pg;
	if (rdu_page(x,
	             "SELECT c.id, c.code FROM lms.course c "
	             "WHERE ($1::boolean OR EXISTS (SELECT 1 FROM "
	             "  lms.enrollment e WHERE e.course_id = c.id "
	             "  AND e.user_id = $2)) "
	             "AND c.code COLLATE \"C\" > $3 "
	             "ORDER BY c.code COLLATE \"C\" LIMIT $4",
	             &p, svc_page_limit(x, q->page), 1, &pg) < 0)
		return -1;

	Lms__Rpc__CourseListResponse *out = malloc(sizeof *out);
	if (!out) {
		rdu_page_done(&pg);
		rdu_free_str(pg.next);
		return rdu_oom(x);
	}
	lms__rpc__course_list_response__init(out);
	out->next = pg.next;
	bool oom = false;
	out->courses = rdu_array((size_t)pg.n, &oom);
	for (int r = 0; r < pg.n && !oom; r++) {
		int rv = svc_load_course(x, svc_i64(pg.res, r, 0),
		                         &out->courses[out->n_courses]);
		if (rv < 0) {
			rdu_page_done(&pg);
			return rdu_fail(x, &out->base, false);
		}
		if (rv == 1)
			out->n_courses++;
	}
	rdu_page_done(&pg);
	if (oom)
		return rdu_fail(x, &out->base, true);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_COURSE_LIST;
	x->resp->course_list = out;
	return 0;
}

int read_course_members(struct svc_ctx *x,
                        const Lms__Rpc__CourseMembersRequest *q)
{
	int64_t course_id;
	int role;
	int rv = svc_need_course_member(x, q->course, &course_id, &role);
	if (rv <= 0)
		return rv;
	bool all = rdu_is_admin(x) ||
	           role == LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR ||
	           role == LMS__RPC__COURSE_ROLE__COURSE_TA;
	const char *after;
	if (!rdu_after_name(x, q->page, &after))
		return 0;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	svc_p_text(&p, all ? "t" : "f");
	svc_p_i64(&p, x->actor->id);
	svc_p_text(&p, after);
	struct rdu_page pg;
	if (rdu_page(x,
	             "SELECT e.user_id, u.username FROM lms.enrollment e "
	             "JOIN lms.app_user u ON u.id = e.user_id "
	             "WHERE e.course_id = $1 "
	             "AND ($2::boolean OR e.role IN ('instructor', 'ta') "
	             "     OR e.user_id = $3) "
	             "AND u.username COLLATE \"C\" > $4 "
	             "ORDER BY u.username COLLATE \"C\" LIMIT $5",
	             &p, svc_page_limit(x, q->page), 1, &pg) < 0)
		return -1;

	Lms__Rpc__CourseMembersResponse *out = malloc(sizeof *out);
	if (!out) {
		rdu_page_done(&pg);
		rdu_free_str(pg.next);
		return rdu_oom(x);
	}
	lms__rpc__course_members_response__init(out);
	out->next = pg.next;
	bool oom = false;
	out->members = rdu_array((size_t)pg.n, &oom);
	for (int r = 0; r < pg.n && !oom; r++) {
		rv = svc_load_member(x, course_id, svc_i64(pg.res, r, 0),
		                     &out->members[out->n_members]);
		if (rv < 0) {
			rdu_page_done(&pg);
			return rdu_fail(x, &out->base, false);
		}
		if (rv == 1)
			out->n_members++;
	}
	rdu_page_done(&pg);
	if (oom)
		return rdu_fail(x, &out->base, true);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_COURSE_MEMBERS;
	x->resp->course_members = out;
	return 0;
}

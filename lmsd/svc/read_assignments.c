/*
 * read_assignments.c -- assignment_list (a course's assignments, paged by
 * id) and assignment_get, for an admin or anyone enrolled in the course.
 *
 * A student gets their own view filled in (my_due_at / my_cutoff_at with
 * their extension, my_attempts); staff and admins get the assignment's
 * own times only. Assignments that are not open yet are listed for
 * everyone with their opens_at (like a "locked until" in other LMSs):
 * submitting before then is refused by apply_submit, not hidden here.
 */
#include <stdlib.h>

#include "read_util.h"

int read_assignment_list(struct svc_ctx *x,
                         const Lms__Rpc__AssignmentListRequest *q)
{
	int64_t course_id;
	int role;
	int rv = svc_need_course_member(x, q->course, &course_id, &role);
	if (rv <= 0)
		return rv;
	int64_t for_student =
		role == LMS__RPC__COURSE_ROLE__COURSE_STUDENT ? x->actor->id : 0;
	int64_t after;
	if (!rdu_after_id(x, q->page, &after))
		return 0;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	svc_p_i64(&p, after);
	struct rdu_page pg;
	if (rdu_page(x,
	             "SELECT id FROM lms.assignment "
	             "WHERE course_id = $1 AND id > $2 ORDER BY id LIMIT $3",
	             &p, svc_page_limit(x, q->page), 0, &pg) < 0)
		return -1;

	Lms__Rpc__AssignmentListResponse *out = malloc(sizeof *out);
	if (!out) {
		rdu_page_done(&pg);
		rdu_free_str(pg.next);
		return rdu_oom(x);
	}
	lms__rpc__assignment_list_response__init(out);
	out->next = pg.next;
	bool oom = false;
	out->assignments = rdu_array((size_t)pg.n, &oom);
	for (int r = 0; r < pg.n && !oom; r++) {
		rv = svc_load_assignment(x, svc_i64(pg.res, r, 0), false,
		                         for_student,
		                         &out->assignments[out->n_assignments]);
		if (rv < 0) {
			rdu_page_done(&pg);
			return rdu_fail(x, &out->base, false);
		}
		if (rv == 1)
			out->n_assignments++;
	}
	rdu_page_done(&pg);
	if (oom)
		return rdu_fail(x, &out->base, true);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_ASSIGNMENT_LIST;
	x->resp->assignment_list = out;
	return 0;
}

int read_assignment_get(struct svc_ctx *x,
                        const Lms__Rpc__AssignmentGetRequest *q)
{
	int64_t course_id;
	int role;
	int rv = rdu_assignment_course(x, q->id, &course_id, &role);
	if (rv <= 0)
		return rv;
	int64_t for_student =
		role == LMS__RPC__COURSE_ROLE__COURSE_STUDENT ? x->actor->id : 0;
	Lms__Rpc__AssignmentGetResponse *out = malloc(sizeof *out);
	if (!out)
		return rdu_oom(x);
	lms__rpc__assignment_get_response__init(out);
	rv = svc_load_assignment(x, (int64_t)q->id, q->with_attachment,
	                         for_student, &out->assignment);
	if (rv < 0)
		return rdu_fail(x, &out->base, false);
	if (rv == 0) {
		rdu_fail(x, &out->base, false);
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                  "no assignment %llu",
		                  (unsigned long long)q->id);
	}
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_ASSIGNMENT_GET;
	x->resp->assignment_get = out;
	return 0;
}

/*
 * read_users.c -- the account reads of svc.h: whoami (the caller, their
 * session's expiry and their courses) and user_list (admins only, paged
 * by username).
 */
#include <stdio.h>
#include <stdlib.h>

#include "read_util.h"

int read_whoami(struct svc_ctx *x, const Lms__Rpc__WhoAmIRequest *q,
                const char *expires_at)
{
	(void)q;
	Lms__Rpc__WhoAmIResponse *out = malloc(sizeof *out);
	if (!out)
		return rdu_oom(x);
	lms__rpc__who_am_iresponse__init(out);
	bool oom = false;
	out->expires_at = rdu_dup(expires_at, &oom);
	if (oom)
		return rdu_fail(x, &out->base, true);

	int rv = svc_load_user(x, x->actor->id, &out->user);
	if (rv <= 0) {
		if (rv == 0) /* the session's user: a foreign key */
			snprintf(x->err, sizeof x->err, "caller's user %lld "
			         "not found", (long long)x->actor->id);
		return rdu_fail(x, &out->base, false);
	}

	/* every course the caller is enrolled in, by code (a handful) */
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, x->actor->id);
	PGresult *res = svc_query(x,
		"SELECT c.id FROM lms.enrollment e "
		"JOIN lms.course c ON c.id = e.course_id "
		"WHERE e.user_id = $1 ORDER BY c.code COLLATE \"C\"", &p);
	if (!res)
		return rdu_fail(x, &out->base, false);
	int n = PQntuples(res);
	out->courses = rdu_array((size_t)n, &oom);
	for (int r = 0; r < n && !oom; r++) {
		rv = svc_load_course(x, svc_i64(res, r, 0),
		                     &out->courses[out->n_courses]);
		if (rv < 0) {
			PQclear(res);
			return rdu_fail(x, &out->base, false);
		}
		if (rv == 1)
			out->n_courses++;
	}
	PQclear(res);
	if (oom)
		return rdu_fail(x, &out->base, true);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_WHOAMI;
	x->resp->whoami = out;
	return 0;
}

int read_user_list(struct svc_ctx *x, const Lms__Rpc__UserListRequest *q)
{
	if (!rdu_is_admin(x))
		return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
		                  "only an admin may list the users");
	const char *after;
	if (!rdu_after_name(x, q->page, &after))
		return 0;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_text(&p, after);
	struct rdu_page pg;
	if (rdu_page(x,
	             "SELECT id, username FROM lms.app_user "
	             "WHERE username COLLATE \"C\" > $1 "
	             "ORDER BY username COLLATE \"C\" LIMIT $2",
	             &p, svc_page_limit(x, q->page), 1, &pg) < 0)
		return -1;

	Lms__Rpc__UserListResponse *out = malloc(sizeof *out);
	if (!out) {
		rdu_page_done(&pg);
		rdu_free_str(pg.next);
		return rdu_oom(x);
	}
	lms__rpc__user_list_response__init(out);
	out->next = pg.next;
	bool oom = false;
	out->users = rdu_array((size_t)pg.n, &oom);
	for (int r = 0; r < pg.n && !oom; r++) {
		int rv = svc_load_user(x, svc_i64(pg.res, r, 0),
		                       &out->users[out->n_users]);
		if (rv < 0) {
			rdu_page_done(&pg);
			return rdu_fail(x, &out->base, false);
		}
		if (rv == 1)
			out->n_users++;
	}
	rdu_page_done(&pg);
	if (oom)
		return rdu_fail(x, &out->base, true);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_USER_LIST;
	x->resp->user_list = out;
	return 0;
}

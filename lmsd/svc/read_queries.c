/*
 * read_queries.c -- query_list and query_get: the students' questions
 * with their answers.
 *
 * Who sees a question: the student who asked it, the instructors and TAs
 * of its course, admins, and the tutor service account (global role
 * tutor) when it is addressed to the tutor. One SQL predicate says so for
 * the list (may_see below) and query_get applies the same rule; a
 * question id the caller may not see is NOT_FOUND (read_util.h).
 *
 * query_list: course "" = every question the caller may see, in any
 * course; a course named must exist (NOT_FOUND) and the caller must be
 * enrolled in it, an admin, or the tutor account (PERMISSION_DENIED
 * otherwise). open_only keeps status open or claimed; `to` keeps the
 * questions addressed to the tutor / the instructors. Paged by id.
 */
#include <stdlib.h>

#include "read_util.h"

/* $1 admin, $2 tutor (booleans), $3 the caller's id; q is lms.query. */
#define MAY_SEE                                                             \
	"($1::boolean OR q.student_id = $3 "                                \
	" OR ($2::boolean AND q.addressed_to = 'tutor') "                  \
	" OR EXISTS (SELECT 1 FROM lms.enrollment e "                       \
	"   WHERE e.course_id = q.course_id AND e.user_id = $3 "            \
	"     AND e.role IN ('instructor', 'ta')))"

static void may_see_params(const struct svc_ctx *x, struct svc_params *p)
{
	svc_p_text(p, rdu_is_admin(x) ? "t" : "f");
	svc_p_text(p, rdu_is_tutor(x) ? "t" : "f");
	svc_p_i64(p, x->actor->id);
}

int read_query_list(struct svc_ctx *x, const Lms__Rpc__QueryListRequest *q)
{
	int64_t course_id = 0;
	if (q->course && *q->course) {
		int rv = svc_course_id(x, q->course, &course_id);
		if (rv <= 0)
			return rv < 0 ? -1
			              : svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
			                           "no course \"%s\"", q->course);
		if (!rdu_is_tutor(x)) {
			rv = svc_need_member_of(x, course_id, NULL);
			if (rv <= 0)
				return rv;
		}
	}
	const char *to = q->to == LMS__RPC__QUERY_TARGET__TO_TUTOR ? "tutor"
	                 : q->to == LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR
	                         ? "instructor"
	                         : "";
	int64_t after;
	if (!rdu_after_id(x, q->page, &after))
		return 0;
	struct svc_params p;
	svc_params_init(&p);
	may_see_params(x, &p);
	svc_p_i64(&p, course_id);
	svc_p_text(&p, q->open_only ? "t" : "f");
	svc_p_text(&p, to);
	svc_p_i64(&p, after);
	struct rdu_page pg;
	if (rdu_page(x,
	             "SELECT q.id FROM lms.query q WHERE " MAY_SEE " "
	             "AND ($4::bigint = 0 OR q.course_id = $4) "
	             "AND (NOT $5::boolean OR q.status IN ('open', 'claimed')) "
	             "AND ($6 = '' OR q.addressed_to = $6) "
	             "AND q.id > $7 ORDER BY q.id LIMIT $8",
	             &p, svc_page_limit(x, q->page), 0, &pg) < 0)
		return -1;

	Lms__Rpc__QueryListResponse *out = malloc(sizeof *out);
	if (!out) {
		rdu_page_done(&pg);
		rdu_free_str(pg.next);
		return rdu_oom(x);
	}
	lms__rpc__query_list_response__init(out);
	out->next = pg.next;
	bool oom = false;
	out->queries = rdu_array((size_t)pg.n, &oom);
	for (int r = 0; r < pg.n && !oom; r++) {
		int rv = svc_load_query(x, svc_i64(pg.res, r, 0),
		                        &out->queries[out->n_queries]);
		if (rv < 0) {
			rdu_page_done(&pg);
			return rdu_fail(x, &out->base, false);
		}
		if (rv == 1)
			out->n_queries++;
	}
	rdu_page_done(&pg);
	if (oom)
		return rdu_fail(x, &out->base, true);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_QUERY_LIST;
	x->resp->query_list = out;
	return 0;
}

int read_query_get(struct svc_ctx *x, const Lms__Rpc__QueryGetRequest *q)
{
	bool visible = false;
	if (q->id > 0 && q->id <= (uint64_t)INT64_MAX) {
		struct svc_params p;
		svc_params_init(&p);
		may_see_params(x, &p);
		svc_p_i64(&p, (int64_t)q->id);
		PGresult *res = svc_query(x,
			"SELECT 1 FROM lms.query q WHERE q.id = $4 AND " MAY_SEE,
			&p);
		if (!res)
			return -1;
		visible = PQntuples(res) == 1;
		PQclear(res);
	}
	if (!visible)
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                  "no question %llu", (unsigned long long)q->id);

	Lms__Rpc__QueryGetResponse *out = malloc(sizeof *out);
	if (!out)
		return rdu_oom(x);
	lms__rpc__query_get_response__init(out);
	int rv = svc_load_query(x, (int64_t)q->id, &out->query);
	if (rv <= 0) {
		rdu_fail(x, &out->base, false);
		return rv < 0 ? -1
		              : svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                           "no question %llu",
		                           (unsigned long long)q->id);
	}
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_QUERY_GET;
	x->resp->query_get = out;
	return 0;
}

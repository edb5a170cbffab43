/*
 * apply_queries.c -- students' questions on the apply side (svc.h):
 * query_post, query_claim, query_release, query_answer.
 *
 * A question is addressed to the course's instructors or to the tutor
 * (tutord, through the global tutor account). Several tutord processes may
 * run; each names itself (worker) and claims the oldest open question for
 * a lease through the log, so that every node agrees who holds it:
 *
 *     open --claim--> claimed (worker, until now + lease) --answer--> answered
 *       ^               |  lease ran out: may be claimed again
 *       +--release------+  (by the worker holding it)
 *
 * The tutor answers a question once, and not one another worker holds.
 * Humans (admin, the course's instructors and TAs) may answer any question
 * of the course, at any time and again (follow-ups). The first answer sets
 * answered_at; every answer clears the claim.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_util.h"
#include "isotime.h"

/* ---------------------------------------------------------- query_post */

int apply_query_post(struct svc_ctx *x, const Lms__Rpc__QueryPostRequest *c)
{
	if (!apu_need_actor(x))
		return 0;
	int64_t course_id;
	int rv = svc_course_id(x, c->course, &course_id);
	if (rv < 0)
		return -1;
	if (rv == 0)
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND, "no course \"%s\"",
		                  c->course);
	int role = svc_course_role(x, course_id, x->actor->id);
	if (role < 0)
		return -1;
	if (role != LMS__RPC__COURSE_ROLE__COURSE_STUDENT)
		return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
		                  "only students of %s ask questions", c->course);

	APU_NEW(x, r, query_post_response, QueryPostResponse);
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)x->index);
	svc_p_i64(&p, course_id);
	svc_p_i64(&p, x->actor->id);
	svc_p_text(&p, c->to == LMS__RPC__QUERY_TARGET__TO_TUTOR ? "tutor"
	                                                         : "instructor");
	svc_p_text(&p, c->body);
	svc_p_text(&p, x->now);
	if (svc_exec(x,
		"INSERT INTO lms.query (id, course_id, student_id, addressed_to, "
		"  body, status, asked_at) "
		"VALUES ($1, $2, $3, $4, $5, 'open', $6)", &p, NULL) ||
	    apu_loaded(x, svc_load_query(x, (int64_t)x->index, &r->query),
	               "question")) {
		free(r);
		return -1;
	}
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_QUERY_POST;
	x->resp->query_post = r;
	return 0;
}

/* -------------------------------------------------------- query_answer */

/* 1 when every source naming a material names one of the course, else 0
 * refused INVALID_ARGUMENT; -1. */
static int queries_check_sources(struct svc_ctx *x, int64_t course_id,
                                 const char *course,
                                 const Lms__Rpc__QueryAnswerRequest *c)
{
	for (size_t i = 0; i < c->n_sources; i++) {
		const Lms__Rpc__Source *s = c->sources[i];
		if (s->chunk > INT32_MAX || s->page > INT32_MAX)
			return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
			                  "source %zu: chunk or page out of "
			                  "range", i + 1);
		if (s->material_id == 0)
			continue;
		struct svc_params p;
		svc_params_init(&p);
		svc_p_i64(&p, (int64_t)s->material_id);
		svc_p_i64(&p, course_id);
		PGresult *res = svc_query(x,
			"SELECT EXISTS (SELECT 1 FROM lms.material "
			"  WHERE id = $1 AND course_id = $2)", &p);
		if (!res)
			return -1;
		bool ok = svc_bool(res, 0, 0);
		PQclear(res);
		if (!ok) {
			svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
			           "source %zu: material %llu is not a material "
			           "of %s", i + 1,
			           (unsigned long long)s->material_id, course);
			return 0;
		}
	}
	return 1;
}

int apply_query_answer(struct svc_ctx *x,
                       const Lms__Rpc__QueryAnswerRequest *c)
{
	if (!apu_need_actor(x))
		return 0;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)c->id);
	svc_p_text(&p, x->now);
	PGresult *res = svc_query(x,
		"SELECT q.course_id, c.code, q.addressed_to, q.status, "
		"  q.claimed_by, lms.iso(q.claim_expires_at), "
		"  q.claim_expires_at > $2::timestamptz, q.student_id "
		"FROM lms.query q JOIN lms.course c ON c.id = q.course_id "
		"WHERE q.id = $1", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                  "no question %llu", (unsigned long long)c->id);
	}
	int64_t course_id = svc_i64(res, 0, 0);
	char course[SVC_CODE_MAX + 1], claimed_by[SVC_WORKER_MAX + 1];
	char claim_until[LMS_ISO_MAX];
	snprintf(course, sizeof course, "%s", PQgetvalue(res, 0, 1));
	bool to_tutor = strcmp(PQgetvalue(res, 0, 2), "tutor") == 0;
	const char *status = PQgetvalue(res, 0, 3);
	bool answered = strcmp(status, "answered") == 0;
	bool claimed = strcmp(status, "claimed") == 0;
	snprintf(claimed_by, sizeof claimed_by, "%s", PQgetvalue(res, 0, 4));
	snprintf(claim_until, sizeof claim_until, "%s", PQgetvalue(res, 0, 5));
	bool claim_live = svc_bool(res, 0, 6);
	int64_t asker = svc_i64(res, 0, 7);
	PQclear(res);

	bool tutor = apu_is_tutor(x);
	if (!tutor) {
		int rv = svc_hide_unless_member(x, course_id, "question", c->id);
		if (rv != 1)
			return rv;
		int role = svc_course_role(x, course_id, x->actor->id);
		if (role < 0)
			return -1;
		/* another student's question is not theirs to see */
		if (role == LMS__RPC__COURSE_ROLE__COURSE_STUDENT &&
		    asker != x->actor->id)
			return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
			                  "no question %llu",
			                  (unsigned long long)c->id);
		rv = svc_need_staff_of(x, course_id, false, NULL);
		if (rv != 1) {
			if (rv == 0) /* a clearer message than the helper's */
				svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
				           "only the staff of %s and the tutor "
				           "answer its questions", course);
			return rv;
		}
	} else {
		if (!to_tutor)
			return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
			                  "question %llu is addressed to the "
			                  "instructors, not the tutor",
			                  (unsigned long long)c->id);
		if (answered)
			return svc_refuse(x, LMS__RPC__STATUS__CONFLICT,
			                  "question %llu is already answered",
			                  (unsigned long long)c->id);
		if (claimed && claim_live &&
		    strcmp(claimed_by, c->worker ? c->worker : "") != 0)
			return svc_refuse(x, LMS__RPC__STATUS__CONFLICT,
			                  "question %llu is claimed by %s until %s",
			                  (unsigned long long)c->id, claimed_by,
			                  claim_until);
	}
	int rv = queries_check_sources(x, course_id, course, c);
	if (rv != 1)
		return rv;

	APU_NEW(x, r, query_answer_response, QueryAnswerResponse);
	int64_t answer_id = (int64_t)x->index;
	svc_params_init(&p);
	svc_p_i64(&p, answer_id);
	svc_p_i64(&p, (int64_t)c->id);
	svc_p_i64(&p, x->actor->id);
	svc_p_text(&p, c->body);
	svc_p_text(&p, x->now);
	if (svc_exec(x,
		"INSERT INTO lms.answer (id, query_id, author_id, body, "
		"  answered_at) VALUES ($1, $2, $3, $4, $5)", &p, NULL))
		goto err;
	for (size_t i = 0; i < c->n_sources; i++) {
		const Lms__Rpc__Source *s = c->sources[i];
		svc_params_init(&p);
		svc_p_i64(&p, answer_id);
		svc_p_i64(&p, (int64_t)i + 1);
		svc_p_text(&p, s->label);
		if (s->material_id) {
			svc_p_i64(&p, (int64_t)s->material_id);
			svc_p_i64(&p, (int64_t)s->chunk);
			svc_p_i64(&p, (int64_t)s->page);
		} else {
			svc_p_null(&p);
			svc_p_null(&p);
			svc_p_null(&p);
		}
		svc_p_text(&p, s->title);
		if (svc_exec(x,
			"INSERT INTO lms.answer_source (answer_id, n, label, "
			"  material_id, chunk_no, page, title) "
			"VALUES ($1, $2, $3, $4::bigint, $5::integer, $6::integer, "
			"  $7)", &p, NULL))
			goto err;
	}
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)c->id);
	svc_p_text(&p, x->now);
	if (svc_exec(x,
		"UPDATE lms.query SET status = 'answered', "
		"  answered_at = COALESCE(answered_at, $2::timestamptz), "
		"  claimed_by = NULL, claim_expires_at = NULL WHERE id = $1",
		&p, NULL))
		goto err;
	if (apu_loaded(x, svc_load_query(x, (int64_t)c->id, &r->query),
	               "question"))
		goto err;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_QUERY_ANSWER;
	x->resp->query_answer = r;
	return 0;
err:
	free(r);
	return -1;
}

/* --------------------------------------------------------- query_claim */

int apply_query_claim(struct svc_ctx *x, const Lms__Rpc__QueryClaimRequest *c)
{
	if (!apu_need_actor(x))
		return 0;
	if (!apu_is_tutor(x))
		return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
		                  "only the tutor account claims questions");
	bool in_course = c->course && *c->course;
	int64_t course_id = 0;
	if (in_course) {
		int rv = svc_course_id(x, c->course, &course_id);
		if (rv < 0)
			return -1;
		if (rv == 0)
			return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
			                  "no course \"%s\"", c->course);
	}

	APU_NEW(x, r, query_claim_response, QueryClaimResponse);
	struct svc_params p;
	svc_params_init(&p);
	svc_p_text(&p, x->now);
	if (in_course)
		svc_p_i64(&p, course_id);
	else
		svc_p_null(&p);
	PGresult *res = svc_query(x,
		"SELECT id FROM lms.query "
		"WHERE addressed_to = 'tutor' "
		"  AND (status = 'open' OR (status = 'claimed' "
		"       AND claim_expires_at <= $1::timestamptz)) "
		"  AND ($2::bigint IS NULL OR course_id = $2::bigint) "
		"ORDER BY id LIMIT 1", &p);
	if (!res)
		goto err;
	bool found = PQntuples(res) == 1;
	int64_t id = found ? svc_i64(res, 0, 0) : 0;
	PQclear(res);
	if (found) {
		svc_params_init(&p);
		svc_p_i64(&p, id);
		svc_p_text(&p, c->worker);
		svc_p_text(&p, x->now);
		svc_p_i64(&p, (int64_t)c->lease_ms);
		if (svc_exec(x,
			"UPDATE lms.query SET status = 'claimed', claimed_by = $2, "
			"  claim_expires_at = $3::timestamptz "
			"    + $4::bigint * interval '1 millisecond' "
			"WHERE id = $1", &p, NULL) ||
		    apu_loaded(x, svc_load_query(x, id, &r->query), "question"))
			goto err;
	}
	r->found = found;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_QUERY_CLAIM;
	x->resp->query_claim = r;
	return 0;
err:
	free(r);
	return -1;
}

/* ------------------------------------------------------- query_release */

int apply_query_release(struct svc_ctx *x,
                        const Lms__Rpc__QueryReleaseRequest *c)
{
	if (!apu_need_actor(x))
		return 0;
	if (!apu_is_tutor(x))
		return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
		                  "only the tutor account releases questions");
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)c->id);
	PGresult *res = svc_query(x,
		"SELECT status, claimed_by FROM lms.query "
		"WHERE id = $1 AND addressed_to = 'tutor'", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                  "no question %llu for the tutor",
		                  (unsigned long long)c->id);
	}
	bool held = strcmp(PQgetvalue(res, 0, 0), "claimed") == 0 &&
	            strcmp(PQgetvalue(res, 0, 1), c->worker) == 0;
	PQclear(res);
	if (!held)
		return svc_refuse(x, LMS__RPC__STATUS__CONFLICT,
		                  "question %llu is not claimed by this worker",
		                  (unsigned long long)c->id);
	APU_NEW(x, r, query_release_response, QueryReleaseResponse);
	if (svc_exec(x,
		"UPDATE lms.query SET status = 'open', claimed_by = NULL, "
		"  claim_expires_at = NULL WHERE id = $1", &p, NULL) ||
	    apu_loaded(x, svc_load_query(x, (int64_t)c->id, &r->query),
	               "question")) {
		free(r);
		return -1;
	}
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_QUERY_RELEASE;
	x->resp->query_release = r;
	return 0;
}

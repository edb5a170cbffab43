/*
 * chaos_load.c -- the client load of a chaos run (chaos.h): register
 * clients and LMS clients, one thread and one struct lmsc each.
 *
 * Register clients
 * ----------------
 * Odd-numbered register clients are impatient (1.5 s an attempt, 3 s a
 * call, where the library's defaults are 5 s and 15 s): they give up
 * during most faults and go on with their next operation while the one
 * they gave up on may still be applied, which is what "unknown" outcomes
 * are about. Client i works on key "k<i mod keys>" only, so that no key has more
 * than CHAOS_CLIENTS_PER_KEY clients (the checker's cost grows with the
 * writes in flight on one key). Each operation, drawn from the client's
 * own generator (seeded from the run's seed): 35% put of a value written
 * once in the whole run ("c<client>-<seq>"), 40% linearizable get, 25%
 * cas from the value this client last saw (absent when it saw none) to a
 * fresh value. Each is written to the history when it ends, with the
 * start and end times taken just around the call and its outcome.
 *
 * LMS clients
 * -----------
 * Students (every LMS client but the instructors): 50% submit a text
 * written once in the run to one of the assignments, 25% post a question
 * to the instructors (a body written once), 25% read back, linearizably,
 * a submission or question they were acknowledged (it must be there, with
 * its content). Instructors: grade an acknowledged submission no one has
 * graded yet (newest first; submissions are shared out by id), with a
 * feedback written once; or read back a grade they were acknowledged.
 * Every operation goes to lms-ops.jsonl and, by kind and outcome, into
 * the counts; the checks (chaos_check.c) use the records.
 *
 * What comes back from the service: OK; a refusal (a status the service
 * gives before proposing, or one the apply step recorded, such as "not
 * the latest attempt" for a grade): the write did not happen, so
 * "fail"; anything else, or no answer, "unknown". A refusal a student's
 * submission or question should never get (the assignment is open, the
 * student enrolled, the token valid for a day) is an anomaly too.
 */
#include "chaos.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define CHAOS_RING 32

struct chaos_ack {
	uint64_t id;
	char content[64];
};

struct chaos_client {
	struct chaos *ch;
	bool lms;
	unsigned idx;       /* register: history client id; LMS: user index */
	char key[16];
	struct lmsc *c;
	struct chaos_rng rng;
	pthread_t th;
	bool started;
	uint64_t seq;
	/* register clients: what this client last saw of its key */
	bool known, known_found, want_get;
	char known_value[128];
	/* LMS clients: a few acknowledged objects of their own */
	struct chaos_ack subs[CHAOS_RING], questions[CHAOS_RING];
	size_t n_subs, n_questions;
};

static uint64_t now_rel_ms(const struct chaos *ch)
{
	return chaos_ms(ch);
}

static void think(struct chaos_client *k)
{
	unsigned ms = chaos_rng_range(&k->rng, 0, k->ch->o.think_ms);
	if (ms)
		cl_sleep_ms(ms);
}

/* ------------------------------------------------- register clients */

static void kv_count(struct chaos *ch, enum lms_hist_kind kind,
                     enum chaos_outcome o, bool swapped)
{
	pthread_mutex_lock(&ch->mu);
	ch->kv_ops[kind][o]++;
	if (swapped)
		ch->kv_cas_swapped++;
	pthread_mutex_unlock(&ch->mu);
}

static void kv_step(struct chaos_client *k)
{
	struct chaos *ch = k->ch;
	unsigned r = chaos_rng_range(&k->rng, 0, 99);
	char value[48], got[128], expected[128], note[256];
	struct lms_hist_op op;
	memset(&op, 0, sizeof op);
	op.client = k->idx;
	op.key = k->key;
	if (k->want_get) {
		r = 50; /* refresh what we know before the next cas */
		k->want_get = false;
	}
	op.kind = r < 35 ? LMS_HIST_PUT : r < 75 ? LMS_HIST_GET : LMS_HIST_CAS;
	if (op.kind != LMS_HIST_GET) {
		snprintf(value, sizeof value, "c%u-%" PRIu64, k->idx, ++k->seq);
		op.value = value;
	}
	if (op.kind == LMS_HIST_CAS && k->known && k->known_found) {
		snprintf(expected, sizeof expected, "%s", k->known_value);
		op.expected = expected;
	}
	bool found = false, swapped = false;
	uint64_t node = 0;
	int rv;
	op.id = lms_hist_writer_next_id(ch->hist);
	op.start_ns = lms_hist_now_ns();
	switch (op.kind) {
	case LMS_HIST_PUT:
		rv = cl_put(k->c, k->key, value, NULL, &node);
		break;
	case LMS_HIST_GET:
		got[0] = '\0';
		rv = cl_get(k->c, k->key, got, sizeof got, &found);
		break;
	default:
		rv = cl_cas(k->c, k->key, op.expected, value, &swapped, &node);
		break;
	}
	op.end_ns = lms_hist_now_ns();

	enum chaos_outcome o;
	if (rv == 0)
		o = CHAOS_OK;
	else if (op.kind != LMS_HIST_GET &&
	         (rv == LMS__RPC__STATUS__INVALID_ARGUMENT ||
	          rv == LMS__RPC__STATUS__TOO_LARGE))
		o = CHAOS_FAIL; /* refused by kv.c before proposing */
	else
		o = CHAOS_UNKNOWN;
	op.outcome = o == CHAOS_OK ? LMS_HIST_OK
	             : o == CHAOS_FAIL ? LMS_HIST_FAIL : LMS_HIST_UNKNOWN;
	if (o == CHAOS_OK) {
		op.found = found;
		op.result = found ? got : NULL;
		op.swapped = swapped;
		if (node)
			snprintf(note, sizeof note, "n%" PRIu64, node);
		else
			note[0] = '\0';
	} else {
		char nb[64];
		snprintf(note, sizeof note, "%s: %.200s",
		         chaos_rv_name(rv, nb, sizeof nb), lmsc_errmsg(k->c));
	}
	op.note = note[0] ? note : NULL;
	if (lms_hist_writer_append(ch->hist, &op) != 0) {
		pthread_mutex_lock(&ch->mu);
		ch->hist_errors++;
		pthread_mutex_unlock(&ch->mu);
	}
	kv_count(ch, op.kind, o, o == CHAOS_OK && swapped);

	/* what this client knows of its key now */
	if (o == CHAOS_OK) {
		if (op.kind == LMS_HIST_GET) {
			k->known = true;
			k->known_found = found;
			snprintf(k->known_value, sizeof k->known_value, "%s", got);
		} else if (op.kind == LMS_HIST_PUT || swapped) {
			k->known = k->known_found = true;
			snprintf(k->known_value, sizeof k->known_value, "%s", value);
		} else {
			k->want_get = true; /* the cas lost: someone wrote */
		}
	} else if (op.kind != LMS_HIST_GET) {
		k->want_get = true;
	}
}

/* ------------------------------------------------------ LMS clients */

static bool lms_refusal(int rv)
{
	switch (rv) {
	case LMS__RPC__STATUS__INVALID_ARGUMENT:
	case LMS__RPC__STATUS__UNAUTHENTICATED:
	case LMS__RPC__STATUS__PERMISSION_DENIED:
	case LMS__RPC__STATUS__NOT_FOUND:
	case LMS__RPC__STATUS__CONFLICT:
	case LMS__RPC__STATUS__FAILED_PRECONDITION:
	case LMS__RPC__STATUS__TOO_LARGE:
		return true;
	default:
		return false;
	}
}

/* 0 OK, > 0 the status answered, < 0 the library's error; *r is the
 * caller's (may be NULL). */
static int lms_call(struct chaos_client *k, Lms__Rpc__Request *req,
                    bool write, Lms__Rpc__Response **r)
{
	req->token = k->ch->users[k->idx].token;
	*r = NULL;
	int rv = lmsc_call(k->c, req, r, write ? LMSC_WRITE : 0);
	if (rv != 0) {
		*r = NULL;
		return rv;
	}
	return (*r)->status == LMS__RPC__STATUS__OK ? 0 : (int)(*r)->status;
}

static const char *const lms_kind_names[CHAOS_N_LMS_KINDS] = {
	"submit", "question", "grade", "read",
};
static const char *const outcome_names[CHAOS_N_OUTCOMES] = {
	"ok", "fail", "unknown",
};

/* Records one LMS operation: counts, the record, its line. */
static void lms_record(struct chaos_client *k, enum chaos_lms_kind kind,
                       const char *content, uint64_t id, int rv,
                       enum chaos_outcome o, uint64_t t0, uint64_t t1,
                       const Lms__Rpc__Response *r)
{
	struct chaos *ch = k->ch;
	struct chaos_lms_rec rec;
	memset(&rec, 0, sizeof rec);
	rec.kind = kind;
	rec.client = k->idx;
	snprintf(rec.content, sizeof rec.content, "%s", content);
	rec.id = id;
	rec.status = rv;
	rec.outcome = o;
	rec.start_ms = t0;
	rec.end_ms = t1;
	char nb[64];
	json_t *line = json_pack("{s:s, s:i, s:s, s:s, s:I, s:s, s:s, s:I, s:I}",
	                         "op", lms_kind_names[kind],
	                         "client", (int)k->idx,
	                         "user", ch->users[k->idx].name,
	                         "content", content,
	                         "id", (json_int_t)id,
	                         "status", chaos_rv_name(rv, nb, sizeof nb),
	                         "outcome", outcome_names[o],
	                         "start_ms", (json_int_t)t0,
	                         "end_ms", (json_int_t)t1);
	if (line && rv != 0) {
		const char *msg = rv < 0 ? lmsc_errmsg(k->c)
		                  : (r && r->message ? r->message : "");
		json_object_set_new(line, "message", json_string(msg));
		if (r && r->node_id)
			json_object_set_new(line, "node",
			                    json_integer((json_int_t)r->node_id));
	} else if (line && r && r->node_id) {
		json_object_set_new(line, "node",
		                    json_integer((json_int_t)r->node_id));
	}
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	pthread_mutex_lock(&ch->mu);
	ch->lms_ops[kind][o]++;
	if (ch->n_recs == ch->cap_recs) {
		size_t cap = ch->cap_recs ? 2 * ch->cap_recs : 1024;
		struct chaos_lms_rec *n = realloc(ch->recs, cap * sizeof *n);
		if (n) {
			ch->recs = n;
			ch->cap_recs = cap;
		}
	}
	if (ch->n_recs < ch->cap_recs)
		ch->recs[ch->n_recs++] = rec;
	if (text && ch->lms_log) {
		fputs(text, ch->lms_log);
		fputc('\n', ch->lms_log);
		fflush(ch->lms_log);
	}
	pthread_mutex_unlock(&ch->mu);
	free(text);
}

static enum chaos_outcome lms_outcome(int rv)
{
	if (rv == 0)
		return CHAOS_OK;
	return lms_refusal(rv) ? CHAOS_FAIL : CHAOS_UNKNOWN;
}

static void ring_add(struct chaos_ack *ring, size_t *n, uint64_t id,
                     const char *content)
{
	struct chaos_ack *a = &ring[*n % CHAOS_RING];
	a->id = id;
	snprintf(a->content, sizeof a->content, "%s", content);
	(*n)++;
}

static void student_submit(struct chaos_client *k)
{
	struct chaos *ch = k->ch;
	char text[64];
	snprintf(text, sizeof text, "chaos-sub-u%u-%" PRIu64, k->idx, ++k->seq);
	uint64_t assignment =
		ch->assignments[chaos_rng_range(&k->rng, 0,
		                                CHAOS_ASSIGNMENTS - 1)];
	Lms__Rpc__SubmitRequest s = LMS__RPC__SUBMIT_REQUEST__INIT;
	s.assignment_id = assignment;
	s.text = text;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_SUBMIT;
	req.submit = &s;
	Lms__Rpc__Response *r;
	uint64_t t0 = now_rel_ms(ch);
	int rv = lms_call(k, &req, true, &r);
	uint64_t t1 = now_rel_ms(ch);
	uint64_t id = 0;
	if (rv == 0 && r->result_case == LMS__RPC__RESPONSE__RESULT_SUBMIT &&
	    r->submit->submission)
		id = r->submit->submission->id;
	else if (rv == 0)
		rv = LMS__RPC__STATUS__INTERNAL; /* OK without its result */
	enum chaos_outcome o = lms_outcome(rv);
	lms_record(k, CHAOS_SUBMIT, text, id, rv, o, t0, t1, r);
	if (o == CHAOS_OK) {
		if (strcmp(r->submit->submission->text, text) != 0)
			chaos_anomaly(ch, "lms-answer", "submission %" PRIu64
			              " acknowledged with the text \"%s\", sent "
			              "\"%s\"", id, r->submit->submission->text,
			              text);
		ring_add(k->subs, &k->n_subs, id, text);
		pthread_mutex_lock(&ch->mu);
		if (ch->n_subs == ch->cap_subs) {
			size_t cap = ch->cap_subs ? 2 * ch->cap_subs : 1024;
			struct chaos_sub *n = realloc(ch->subs, cap * sizeof *n);
			if (n) {
				ch->subs = n;
				ch->cap_subs = cap;
			}
		}
		if (ch->n_subs < ch->cap_subs) {
			struct chaos_sub *sb = &ch->subs[ch->n_subs++];
			memset(sb, 0, sizeof *sb);
			sb->id = id;
			sb->student = k->idx;
			sb->assignment = assignment;
			snprintf(sb->text, sizeof sb->text, "%s", text);
		}
		pthread_mutex_unlock(&ch->mu);
	} else if (o == CHAOS_FAIL) {
		char nb[64];
		chaos_anomaly(ch, "lms-refused", "%s's submission \"%s\" was "
		              "refused: %s: %s", ch->users[k->idx].name, text,
		              chaos_rv_name(rv, nb, sizeof nb),
		              r && r->message ? r->message : "");
	}
	lmsc_response_free(r);
}

static void student_question(struct chaos_client *k)
{
	struct chaos *ch = k->ch;
	char body[64];
	snprintf(body, sizeof body, "chaos-q-u%u-%" PRIu64, k->idx, ++k->seq);
	Lms__Rpc__QueryPostRequest q = LMS__RPC__QUERY_POST_REQUEST__INIT;
	q.course = CHAOS_COURSE;
	q.body = body;
	q.to = LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_QUERY_POST;
	req.query_post = &q;
	Lms__Rpc__Response *r;
	uint64_t t0 = now_rel_ms(ch);
	int rv = lms_call(k, &req, true, &r);
	uint64_t t1 = now_rel_ms(ch);
	uint64_t id = 0;
	if (rv == 0 &&
	    r->result_case == LMS__RPC__RESPONSE__RESULT_QUERY_POST &&
	    r->query_post->query)
		id = r->query_post->query->id;
	else if (rv == 0)
		rv = LMS__RPC__STATUS__INTERNAL;
	enum chaos_outcome o = lms_outcome(rv);
	lms_record(k, CHAOS_QUESTION, body, id, rv, o, t0, t1, r);
	if (o == CHAOS_OK) {
		ring_add(k->questions, &k->n_questions, id, body);
	} else if (o == CHAOS_FAIL) {
		char nb[64];
		chaos_anomaly(ch, "lms-refused", "%s's question \"%s\" was "
		              "refused: %s: %s", ch->users[k->idx].name, body,
		              chaos_rv_name(rv, nb, sizeof nb),
		              r && r->message ? r->message : "");
	}
	lmsc_response_free(r);
}

/* A linearizable read of something this client was acknowledged: it must
 * be found, with what was written. */
static void student_read(struct chaos_client *k, bool question)
{
	struct chaos *ch = k->ch;
	size_t n = question ? k->n_questions : k->n_subs;
	if (n == 0)
		return;
	size_t have = n < CHAOS_RING ? n : CHAOS_RING;
	const struct chaos_ack *a =
		&(question ? k->questions
		           : k->subs)[chaos_rng_range(&k->rng, 0,
		                                      (unsigned)have - 1)];
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__SubmissionGetRequest sg =
		LMS__RPC__SUBMISSION_GET_REQUEST__INIT;
	Lms__Rpc__QueryGetRequest qg = LMS__RPC__QUERY_GET_REQUEST__INIT;
	if (question) {
		qg.id = a->id;
		req.op_case = LMS__RPC__REQUEST__OP_QUERY_GET;
		req.query_get = &qg;
	} else {
		sg.id = a->id;
		req.op_case = LMS__RPC__REQUEST__OP_SUBMISSION_GET;
		req.submission_get = &sg;
	}
	Lms__Rpc__Response *r;
	uint64_t t0 = now_rel_ms(ch);
	int rv = lms_call(k, &req, false, &r);
	uint64_t t1 = now_rel_ms(ch);
	const char *seen = NULL;
	if (rv == 0 && question &&
	    r->result_case == LMS__RPC__RESPONSE__RESULT_QUERY_GET &&
	    r->query_get->query)
		seen = r->query_get->query->body;
	else if (rv == 0 && !question &&
	         r->result_case == LMS__RPC__RESPONSE__RESULT_SUBMISSION_GET &&
	         r->submission_get->submission)
		seen = r->submission_get->submission->text;
	else if (rv == 0)
		rv = LMS__RPC__STATUS__INTERNAL;
	enum chaos_outcome o = rv == 0 ? CHAOS_OK : CHAOS_UNKNOWN;
	if (rv == LMS__RPC__STATUS__NOT_FOUND) {
		o = CHAOS_FAIL;
		chaos_anomaly(ch, "lms-read", "%s was acknowledged %s %" PRIu64
		              " (\"%s\"), but a later linearizable read (+%"
		              PRIu64 "..+%" PRIu64 " ms) answered NOT_FOUND: %s",
		              ch->users[k->idx].name,
		              question ? "question" : "submission", a->id,
		              a->content, t0, t1,
		              r && r->message ? r->message : "");
	} else if (seen && strcmp(seen, a->content) != 0) {
		chaos_anomaly(ch, "lms-read", "%s %" PRIu64 " was acknowledged "
		              "with \"%s\"; a linearizable read (+%" PRIu64
		              "..+%" PRIu64 " ms) shows \"%s\"",
		              question ? "question" : "submission", a->id,
		              a->content, t0, t1, seen);
	}
	lms_record(k, CHAOS_READ, a->content, a->id, rv, o, t0, t1, r);
	lmsc_response_free(r);
}

static void student_step(struct chaos_client *k)
{
	unsigned r = chaos_rng_range(&k->rng, 0, 99);
	if (r < 50)
		student_submit(k);
	else if (r < 75)
		student_question(k);
	else
		student_read(k, r >= 88);
}

/* Takes the newest acknowledged submission nobody graded yet among those
 * of this instructor (ids shared out by id modulo the instructors). */
static bool instructor_pick(struct chaos_client *k, struct chaos_sub *out,
                            size_t *pos)
{
	struct chaos *ch = k->ch;
	unsigned mine = k->idx - ch->n_students;
	bool found = false;
	pthread_mutex_lock(&ch->mu);
	for (size_t i = ch->n_subs; i-- > 0;) {
		struct chaos_sub *s = &ch->subs[i];
		if (s->taken || s->id % ch->n_instructors != mine)
			continue;
		s->taken = true;
		*out = *s;
		*pos = i;
		found = true;
		break;
	}
	pthread_mutex_unlock(&ch->mu);
	return found;
}

static void instructor_grade(struct chaos_client *k)
{
	struct chaos *ch = k->ch;
	struct chaos_sub s;
	size_t pos;
	if (!instructor_pick(k, &s, &pos)) {
		cl_sleep_ms(20);
		return;
	}
	char feedback[64];
	snprintf(feedback, sizeof feedback, "chaos-g-u%u-%" PRIu64, k->idx,
	         ++k->seq);
	Lms__Rpc__GradeRequest g = LMS__RPC__GRADE_REQUEST__INIT;
	g.submission_id = s.id;
	g.score = (double)chaos_rng_range(&k->rng, 0, 100);
	g.feedback = feedback;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_GRADE;
	req.grade = &g;
	Lms__Rpc__Response *r;
	uint64_t t0 = now_rel_ms(ch);
	int rv = lms_call(k, &req, true, &r);
	uint64_t t1 = now_rel_ms(ch);
	if (rv == 0 && r->result_case != LMS__RPC__RESPONSE__RESULT_GRADE)
		rv = LMS__RPC__STATUS__INTERNAL;
	enum chaos_outcome o = lms_outcome(rv);
	lms_record(k, CHAOS_GRADE, feedback, s.id, rv, o, t0, t1, r);
	if (o == CHAOS_OK) {
		pthread_mutex_lock(&ch->mu);
		snprintf(ch->subs[pos].grade, sizeof ch->subs[pos].grade, "%s",
		         feedback);
		pthread_mutex_unlock(&ch->mu);
	} else if (o == CHAOS_FAIL) {
		bool not_latest = rv == LMS__RPC__STATUS__FAILED_PRECONDITION &&
		                  r && r->message &&
		                  strstr(r->message, "not the latest");
		if (not_latest) {
			pthread_mutex_lock(&ch->mu);
			ch->grade_not_latest++;
			pthread_mutex_unlock(&ch->mu);
		} else {
			char nb[64];
			chaos_anomaly(ch, "lms-refused", "grade \"%s\" of "
			              "submission %" PRIu64 " was refused: %s: %s",
			              feedback, s.id,
			              chaos_rv_name(rv, nb, sizeof nb),
			              r && r->message ? r->message : "");
		}
	}
	lmsc_response_free(r);
}

/* Reads back a grade this run was acknowledged: present, with its
 * feedback (each submission is graded at most once in a run). */
static void instructor_read(struct chaos_client *k)
{
	struct chaos *ch = k->ch;
	struct chaos_sub s;
	bool found = false;
	pthread_mutex_lock(&ch->mu);
	if (ch->n_subs) {
		size_t start = chaos_rng_range(&k->rng, 0,
		                               (unsigned)ch->n_subs - 1);
		for (size_t j = 0; j < ch->n_subs && !found; j++) {
			const struct chaos_sub *c =
				&ch->subs[(start + j) % ch->n_subs];
			if (c->grade[0]) {
				s = *c;
				found = true;
			}
		}
	}
	pthread_mutex_unlock(&ch->mu);
	if (!found) {
		cl_sleep_ms(20);
		return;
	}
	Lms__Rpc__SubmissionGetRequest sg =
		LMS__RPC__SUBMISSION_GET_REQUEST__INIT;
	sg.id = s.id;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_SUBMISSION_GET;
	req.submission_get = &sg;
	Lms__Rpc__Response *r;
	uint64_t t0 = now_rel_ms(ch);
	int rv = lms_call(k, &req, false, &r);
	uint64_t t1 = now_rel_ms(ch);
	const Lms__Rpc__Submission *sub =
		rv == 0 &&
		r->result_case == LMS__RPC__RESPONSE__RESULT_SUBMISSION_GET
			? r->submission_get->submission : NULL;
	if (rv == 0 && !sub)
		rv = LMS__RPC__STATUS__INTERNAL;
	enum chaos_outcome o = rv == 0 ? CHAOS_OK : CHAOS_UNKNOWN;
	if (rv == LMS__RPC__STATUS__NOT_FOUND) {
		o = CHAOS_FAIL;
		chaos_anomaly(ch, "lms-read", "graded submission %" PRIu64
		              " (\"%s\") not found by a linearizable read (+%"
		              PRIu64 "..+%" PRIu64 " ms)", s.id, s.text, t0, t1);
	} else if (sub && (!sub->grade || !sub->grade->feedback ||
	                   strcmp(sub->grade->feedback, s.grade) != 0)) {
		chaos_anomaly(ch, "lms-read", "submission %" PRIu64 " was "
		              "acknowledged the grade \"%s\"; a linearizable "
		              "read (+%" PRIu64 "..+%" PRIu64 " ms) shows %s%s%s",
		              s.id, s.grade, t0, t1,
		              sub->grade ? "\"" : "no grade",
		              sub->grade && sub->grade->feedback
		                      ? sub->grade->feedback : "",
		              sub->grade ? "\"" : "");
	}
	lms_record(k, CHAOS_READ, s.grade, s.id, rv, o, t0, t1, r);
	lmsc_response_free(r);
}

static void instructor_step(struct chaos_client *k)
{
	if (chaos_rng_range(&k->rng, 0, 99) < 75)
		instructor_grade(k);
	else
		instructor_read(k);
}

/* ---------------------------------------------------------- threads */

static void *client_main(void *arg)
{
	struct chaos_client *k = arg;
	struct chaos *ch = k->ch;
	while (!atomic_load(&ch->stop)) {
		if (!k->lms)
			kv_step(k);
		else if (ch->users[k->idx].instructor)
			instructor_step(k);
		else
			student_step(k);
		think(k);
	}
	return NULL;
}

void chaos_load_start(struct chaos *ch)
{
	size_t n = ch->o.clients + ch->o.lms_clients;
	ch->clients = calloc(n, sizeof *ch->clients);
	if (!ch->clients) {
		fprintf(stderr, "lms-chaos: out of memory\n");
		abort();
	}
	ch->n_clients = n;
	atomic_store(&ch->stop, false);
	for (size_t i = 0; i < n; i++) {
		struct chaos_client *k = &ch->clients[i];
		k->ch = ch;
		k->lms = i >= ch->o.clients;
		k->idx = k->lms ? (unsigned)(i - ch->o.clients) : (unsigned)i;
		if (!k->lms)
			snprintf(k->key, sizeof k->key, "k%u", k->idx % ch->o.keys);
		chaos_rng_seed(&k->rng, ch->o.seed ^ (0x5851f42d4c957f2dULL *
		                                      (uint64_t)(i + 1)));
		k->c = cl_client(ch->cl, NULL, 0);
		if (!k->c) {
			fprintf(stderr, "lms-chaos: could not create a client\n");
			abort();
		}
		if (!k->lms && k->idx % 2 == 1) {
			/* impatient clients: they give up during most faults, so
			 * the history has writes of unknown outcome, still in
			 * flight while the client goes on */
			struct lmsc_options lo;
			lmsc_get_options(k->c, &lo);
			lo.request_timeout_ms = 1500;
			lo.total_timeout_ms = 3000;
			lmsc_set_options(k->c, &lo);
		}
	}
	ch->load_start_ms = chaos_ms(ch);
	for (size_t i = 0; i < n; i++) {
		struct chaos_client *k = &ch->clients[i];
		if (pthread_create(&k->th, NULL, client_main, k) != 0) {
			fprintf(stderr, "lms-chaos: could not start a client "
			        "thread\n");
			abort();
		}
		k->started = true;
	}
	ch->clients_running = true;
}

void chaos_load_stop(struct chaos *ch)
{
	if (!ch->clients)
		return;
	atomic_store(&ch->stop, true);
	for (size_t i = 0; i < ch->n_clients; i++) {
		struct chaos_client *k = &ch->clients[i];
		if (k->started)
			pthread_join(k->th, NULL);
		k->started = false;
		lmsc_free(k->c);
		k->c = NULL;
	}
	free(ch->clients);
	ch->clients = NULL;
	ch->n_clients = 0;
	ch->clients_running = false;
	ch->load_end_ms = chaos_ms(ch);
}

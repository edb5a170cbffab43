/*
 * bench_lms.c -- lms-bench's setup phase and one call of each operation
 * against the cluster, through the client library.
 *
 * Why this exists
 * ---------------
 * The measured phase must do nothing but the mix, so everything the LMS
 * operations need is made first, through an admin's session: a course of
 * its own (code B<run id>), an instructor, one student per client thread
 * enrolled in it, an assignment with unlimited attempts due in 30 days,
 * and one submission per student (so `grade` always has a latest attempt
 * to grade). Names carry the run id, so runs against the same cluster
 * never collide. Setup writes hash passwords on the leader (scrypt, a
 * CPU queue): they run a few at a time, with long timeouts, and are
 * retried when the node gave up waiting (DEADLINE_EXCEEDED); a retry is a
 * new write, so CONFLICT after a retry means an earlier try got through. The key/value operations need no setup: their keys are
 * "bench/<k>" (k drawn uniformly from --keys) and, for kv-cas, one key
 * per thread and run that only that thread swaps, so every swap must
 * succeed (a lost swap is counted as WRONG_ANSWER).
 *
 * What each operation is
 * ----------------------
 *   submit      the thread's student submits ~300 bytes of text
 *   grade       the instructor grades (or regrades) that student's latest
 *               attempt -- only the latest attempt may be graded
 *   read        linearizable, in turn: the course's assignment list, the
 *               student's grades, the student's latest question (or the
 *               assignment when it has none)
 *   read-stale  the same, stale, from any node (the library's rotation),
 *               the assignment instead of the question (a follower may
 *               not have applied a question just posted)
 *   query       the student posts a question to the instructors
 *   kv-put      a 100-byte value (--value-bytes) to a random key
 *   kv-get      a linearizable read of a random key
 *   kv-cas      a compare-and-swap of the thread's own key
 *
 * NOT_LEADER and failover are the library's business: an operation's
 * latency includes them, and only what lmsc_call finally answers counts.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "isotime.h"
#include "util.h"

/* One call; 0 on OK (then *out is the response unless out is NULL), else
 * the outcome class, with a message in err (may be NULL). */
static int call(struct lmsc *c, Lms__Rpc__Request *req, const char *token,
                unsigned flags, Lms__Rpc__Response **out, char *err,
                size_t errlen)
{
	Lms__Rpc__Response *r = NULL;
	req->token = (char *)(token ? token : "");
	int rv = lmsc_call(c, req, &r, flags);
	if (out)
		*out = NULL;
	if (rv != 0) {
		if (err)
			snprintf(err, errlen, "%s", lmsc_errmsg(c));
		return rv == -ETIMEDOUT ? BENCH_ST_TIMEOUT : BENCH_ST_UNAVAILABLE;
	}
	int st = (int)r->status;
	if (st != LMS__RPC__STATUS__OK) {
		if (err)
			snprintf(err, errlen, "%s: %s", lmsc_status_name(st),
			         r->message ? r->message : "");
		lmsc_response_free(r);
		if (st < 0 || st > BENCH_ST_RPC_MAX)
			st = LMS__RPC__STATUS__INTERNAL;
		return st;
	}
	if (out)
		*out = r;
	else
		lmsc_response_free(r);
	return 0;
}

/* Whether a setup call that failed this way is worth another try: the
 * leader's CPU queue (scrypt) may hold a write past the node's own
 * deadline (DEADLINE_EXCEEDED), or a leader change may be under way. */
static bool retryable(int st)
{
	return st == LMS__RPC__STATUS__DEADLINE_EXCEEDED ||
	       st == LMS__RPC__STATUS__UNAVAILABLE || st == BENCH_ST_TIMEOUT ||
	       st == BENCH_ST_UNAVAILABLE;
}

/* A setup write, tried up to 6 times. A retry is a new write (a new
 * sequence number), so one that finds the object made by an earlier try
 * that did get applied (CONFLICT) has succeeded when conflict_ok. */
static int setup_call(struct lmsc *c, Lms__Rpc__Request *req,
                      const char *token, Lms__Rpc__Response **out,
                      bool conflict_ok, char *err, size_t errlen)
{
	int st = BENCH_ST_UNAVAILABLE;
	for (int k = 0; k < 6; k++) {
		st = call(c, req, token, LMSC_WRITE, out, err, errlen);
		if (k > 0 && conflict_ok && st == LMS__RPC__STATUS__CONFLICT)
			return 0;
		if (!retryable(st))
			return st;
	}
	return st;
}

static char *login(struct lmsc *c, const char *user, const char *pw,
                   char *err, size_t errlen)
{
	Lms__Rpc__LoginRequest l = LMS__RPC__LOGIN_REQUEST__INIT;
	l.username = (char *)user;
	l.password = (char *)pw;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_LOGIN;
	req.login = &l;
	Lms__Rpc__Response *r;
	int st = 0;
	/* A login answer lost to a timeout cannot be replayed (the token is
	 * not stored): the retry says CONFLICT, and a new login does it. */
	for (int k = 0; k < 6; k++)
		if ((st = call(c, &req, NULL, LMSC_WRITE, &r, err, errlen)) !=
		            LMS__RPC__STATUS__CONFLICT &&
		    !retryable(st))
			break;
	if (st != 0)
		return NULL;
	char *t = strdup(r->login->token);
	lmsc_response_free(r);
	return t;
}

static int user_create(struct lmsc *c, const char *admin_token,
                       const char *name, const char *pw, Lms__Rpc__Role role,
                       char *err, size_t errlen)
{
	Lms__Rpc__UserCreateRequest u = LMS__RPC__USER_CREATE_REQUEST__INIT;
	u.username = (char *)name;
	u.password = (char *)pw;
	u.display_name = (char *)name;
	u.role = role;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_USER_CREATE;
	req.user_create = &u;
	return setup_call(c, &req, admin_token, NULL, true, err, errlen);
}

static void bench_password(const struct bench *b, char *pw, size_t len)
{
	snprintf(pw, len, "bench-%s", b->run_id);
}

/* Setup calls hash passwords (scrypt, queued on the leader's CPU thread):
 * with many clients at once an answer may take longer than the default
 * per-attempt timeout, and a login retried after it is refused (above). */
static void setup_options(struct lmsc *c, struct lmsc_options *saved)
{
	struct lmsc_options o;
	lmsc_get_options(c, saved);
	o = *saved;
	o.request_timeout_ms = 120000;
	o.total_timeout_ms = 240000;
	lmsc_set_options(c, &o);
}

/* Students are set up SETUP_PARALLEL at a time: each needs two scrypt
 * hashes on the leader's CPU thread, and more at once only lengthen the
 * queue past the node's deadline. */
#define SETUP_PARALLEL 4
static sem_t setup_slots;

int bench_setup_main(struct bench *b, struct lmsc *c)
{
	char err[512], pw[64];
	struct lmsc_options saved;
	sem_init(&setup_slots, 0, SETUP_PARALLEL);
	setup_options(c, &saved);
	bench_password(b, pw, sizeof pw);
	b->admin_token = login(c, b->admin_user, b->admin_password, err,
	                       sizeof err);
	if (!b->admin_token) {
		fprintf(stderr, "lms-bench: could not log in as \"%s\": %s\n",
		        b->admin_user, err);
		return -1;
	}
	snprintf(b->instructor, sizeof b->instructor, "b%si", b->run_id);
	if (user_create(c, b->admin_token, b->instructor, pw,
	                LMS__RPC__ROLE__ROLE_INSTRUCTOR, err, sizeof err) != 0) {
		fprintf(stderr, "lms-bench: could not create the instructor "
		        "\"%s\": %s\n", b->instructor, err);
		return -1;
	}
	b->instructor_token = login(c, b->instructor, pw, err, sizeof err);
	if (!b->instructor_token) {
		fprintf(stderr, "lms-bench: instructor login: %s\n", err);
		return -1;
	}

	snprintf(b->course, sizeof b->course, "B%s", b->run_id);
	char title[64];
	snprintf(title, sizeof title, "lms-bench run %s", b->run_id);
	Lms__Rpc__CourseCreateRequest cc = LMS__RPC__COURSE_CREATE_REQUEST__INIT;
	cc.code = b->course;
	cc.title = title;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_COURSE_CREATE;
	req.course_create = &cc;
	if (setup_call(c, &req, b->instructor_token, NULL, true, err,
	               sizeof err) != 0) {
		fprintf(stderr, "lms-bench: could not create the course %s: %s\n",
		        b->course, err);
		return -1;
	}

	char due[LMS_ISO_MAX];
	lms_iso_format(lms_wall_ms() + 30 * 86400000LL, due, sizeof due);
	char *topics[] = {"raft"};
	Lms__Rpc__AssignmentCreateRequest ac =
		LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT;
	ac.course = b->course;
	ac.title = "Benchmark essay";
	ac.description = "Explain how Raft commits an entry. Submitted many "
	                 "times over by lms-bench.";
	ac.due_at = due;
	ac.max_points = 100;
	ac.max_attempts = 0; /* unlimited */
	ac.n_topics = 1;
	ac.topics = topics;
	Lms__Rpc__Request areq = LMS__RPC__REQUEST__INIT;
	areq.op_case = LMS__RPC__REQUEST__OP_ASSIGNMENT_CREATE;
	areq.assignment_create = &ac;
	Lms__Rpc__Response *r;
	if (setup_call(c, &areq, b->instructor_token, &r, false, err,
	               sizeof err) != 0) {
		fprintf(stderr, "lms-bench: could not create the assignment: "
		        "%s\n", err);
		return -1;
	}
	b->assignment_id = r->assignment_create->assignment->id;
	lmsc_response_free(r);
	return 0;
}

static int do_submit(struct bench_thread *t, char *err, size_t errlen)
{
	char text[400];
	snprintf(text, sizeof text,
	         "Attempt by %s (%llu). A leader appends the command to its "
	         "log, sends AppendEntries to every follower, and once a "
	         "majority has persisted the entry it is committed: the "
	         "leader applies it and answers the client. Followers learn "
	         "the commit index from the next AppendEntries.",
	         t->username, (unsigned long long)bench_rand(&t->rng));
	Lms__Rpc__SubmitRequest s = LMS__RPC__SUBMIT_REQUEST__INIT;
	s.assignment_id = t->b->assignment_id;
	s.text = text;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_SUBMIT;
	req.submit = &s;
	Lms__Rpc__Response *r;
	int st = call(t->c, &req, t->token, LMSC_WRITE, &r, err, errlen);
	if (st != 0)
		return st;
	if (r->result_case == LMS__RPC__RESPONSE__RESULT_SUBMIT &&
	    r->submit->submission)
		t->latest_sub = r->submit->submission->id;
	lmsc_response_free(r);
	return 0;
}

static int setup_student(struct bench_thread *t, const char *pw);

int bench_setup_thread(struct bench_thread *t)
{
	struct bench *b = t->b;
	char pw[64];
	struct lmsc_options saved;
	bench_password(b, pw, sizeof pw);
	snprintf(t->username, sizeof t->username, "b%ss%u", b->run_id, t->idx);
	setup_options(t->c, &saved);
	while (sem_wait(&setup_slots) != 0)
		;
	int rc = setup_student(t, pw);
	sem_post(&setup_slots);
	lmsc_set_options(t->c, &saved);
	return rc;
}

static int setup_student(struct bench_thread *t, const char *pw)
{
	struct bench *b = t->b;
	int st = user_create(t->c, b->admin_token, t->username, pw,
	                     LMS__RPC__ROLE__ROLE_STUDENT, t->err,
	                     sizeof t->err);
	if (st != 0)
		return -1;
	Lms__Rpc__EnrollRequest e = LMS__RPC__ENROLL_REQUEST__INIT;
	e.course = b->course;
	e.username = t->username;
	e.role = LMS__RPC__COURSE_ROLE__COURSE_STUDENT;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_ENROLL;
	req.enroll = &e;
	if (setup_call(t->c, &req, b->instructor_token, NULL, true, t->err,
	               sizeof t->err) != 0)
		return -1;
	t->token = login(t->c, t->username, pw, t->err, sizeof t->err);
	if (!t->token)
		return -1;
	for (int k = 0; k < 6; k++) {
		st = do_submit(t, t->err, sizeof t->err);
		if (st == 0)
			return 0;
		if (!retryable(st))
			break;
	}
	return -1;
}

void bench_fill_value(uint8_t *v, size_t n, uint64_t *rng)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			x = bench_rand(rng);
		v[i] = (uint8_t)abc[(x & 0xff) % 36];
		x >>= 8;
	}
}

/* ------------------------------------------------------------- kv ops */

static int kv_put(struct bench_thread *t)
{
	char key[48];
	uint8_t val[4096];
	size_t n = t->b->value_bytes;
	snprintf(key, sizeof key, "bench/%llu",
	         (unsigned long long)(bench_rand(&t->rng) % t->b->keys));
	bench_fill_value(val, n, &t->rng);
	Lms__Rpc__KvPutRequest p = LMS__RPC__KV_PUT_REQUEST__INIT;
	p.key = key;
	p.value.data = val;
	p.value.len = n;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_KV_PUT;
	req.kv_put = &p;
	return call(t->c, &req, NULL, LMSC_WRITE, NULL, NULL, 0);
}

static int kv_get(struct bench_thread *t, const char *key,
                  Lms__Rpc__Response **out)
{
	Lms__Rpc__KvGetRequest g = LMS__RPC__KV_GET_REQUEST__INIT;
	g.key = (char *)key;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_KV_GET;
	req.kv_get = &g;
	req.consistency = LMS__RPC__CONSISTENCY__LINEARIZABLE;
	return call(t->c, &req, NULL, 0, out, NULL, 0);
}

static void cas_value(const struct bench_thread *t, uint64_t n, uint8_t *v)
{
	size_t len = t->b->value_bytes;
	memset(v, '.', len);
	char head[32];
	int k = snprintf(head, sizeof head, "%020llu", (unsigned long long)n);
	memcpy(v, head, (size_t)k < len ? (size_t)k : len);
}

/* After a failed cas the outcome is unknown: learn the current value
 * (unmeasured) so that the next swap expects the right one. */
static void cas_resync(struct bench_thread *t, const char *key)
{
	Lms__Rpc__Response *r;
	if (kv_get(t, key, &r) != 0)
		return;
	if (!r->kv_get->found) {
		t->cas_have = false;
	} else {
		char buf[32] = {0};
		size_t n = r->kv_get->value.len < 20 ? r->kv_get->value.len : 20;
		memcpy(buf, r->kv_get->value.data, n);
		t->cas_n = strtoull(buf, NULL, 10);
		t->cas_have = true;
	}
	lmsc_response_free(r);
}

static int kv_cas(struct bench_thread *t)
{
	char key[64];
	uint8_t old[4096], val[4096];
	snprintf(key, sizeof key, "bench-cas/%s/%u", t->b->run_id, t->idx);
	Lms__Rpc__KvCasRequest cs = LMS__RPC__KV_CAS_REQUEST__INIT;
	cs.key = key;
	if (t->cas_have) {
		cas_value(t, t->cas_n, old);
		cs.expected.data = old;
		cs.expected.len = t->b->value_bytes;
	} else {
		cs.expect_absent = 1;
	}
	uint64_t next = t->cas_have ? t->cas_n + 1 : 0;
	cas_value(t, next, val);
	cs.value.data = val;
	cs.value.len = t->b->value_bytes;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_KV_CAS;
	req.kv_cas = &cs;
	Lms__Rpc__Response *r;
	int st = call(t->c, &req, NULL, LMSC_WRITE, &r, NULL, 0);
	if (st != 0) {
		cas_resync(t, key);
		return st;
	}
	bool swapped = r->kv_cas->swapped;
	lmsc_response_free(r);
	if (!swapped) {
		cas_resync(t, key);
		return BENCH_ST_WRONG;
	}
	t->cas_n = next;
	t->cas_have = true;
	return 0;
}

/* ------------------------------------------------------------ LMS ops */

static int do_grade(struct bench_thread *t)
{
	Lms__Rpc__GradeRequest g = LMS__RPC__GRADE_REQUEST__INIT;
	g.submission_id = t->latest_sub;
	g.score = (double)(bench_rand(&t->rng) % 10001) / 100.0;
	g.feedback = "Graded by lms-bench.";
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_GRADE;
	req.grade = &g;
	return call(t->c, &req, t->b->instructor_token, LMSC_WRITE, NULL, NULL,
	            0);
}

static int do_query(struct bench_thread *t)
{
	char body[200];
	snprintf(body, sizeof body, "Question %llu from %s: why must a "
	         "leader commit an entry of its own term before it counts "
	         "older entries as committed?",
	         (unsigned long long)(bench_rand(&t->rng) % 1000000),
	         t->username);
	Lms__Rpc__QueryPostRequest q = LMS__RPC__QUERY_POST_REQUEST__INIT;
	q.course = t->b->course;
	q.body = body;
	q.to = LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_QUERY_POST;
	req.query_post = &q;
	Lms__Rpc__Response *r;
	int st = call(t->c, &req, t->token, LMSC_WRITE, &r, NULL, 0);
	if (st != 0)
		return st;
	if (r->result_case == LMS__RPC__RESPONSE__RESULT_QUERY_POST &&
	    r->query_post->query)
		t->my_query = r->query_post->query->id;
	lmsc_response_free(r);
	return 0;
}

static int do_read(struct bench_thread *t, bool stale)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__AssignmentListRequest al =
		LMS__RPC__ASSIGNMENT_LIST_REQUEST__INIT;
	Lms__Rpc__GradesRequest gr = LMS__RPC__GRADES_REQUEST__INIT;
	Lms__Rpc__QueryGetRequest qg = LMS__RPC__QUERY_GET_REQUEST__INIT;
	Lms__Rpc__AssignmentGetRequest ag =
		LMS__RPC__ASSIGNMENT_GET_REQUEST__INIT;
	switch (t->read_turn++ % 3) {
	case 0:
		al.course = t->b->course;
		req.op_case = LMS__RPC__REQUEST__OP_ASSIGNMENT_LIST;
		req.assignment_list = &al;
		break;
	case 1:
		gr.course = t->b->course;
		req.op_case = LMS__RPC__REQUEST__OP_GRADES;
		req.grades = &gr;
		break;
	default:
		/* not for a stale read: a follower may not have applied the
		 * student's newest question yet (NOT_FOUND is right there) */
		if (t->my_query && !stale) {
			qg.id = t->my_query;
			req.op_case = LMS__RPC__REQUEST__OP_QUERY_GET;
			req.query_get = &qg;
		} else {
			ag.id = t->b->assignment_id;
			req.op_case = LMS__RPC__REQUEST__OP_ASSIGNMENT_GET;
			req.assignment_get = &ag;
		}
		break;
	}
	req.consistency = stale ? LMS__RPC__CONSISTENCY__STALE
	                        : LMS__RPC__CONSISTENCY__LINEARIZABLE;
	return call(t->c, &req, t->token, stale ? LMSC_ANY_NODE : 0, NULL,
	            NULL, 0);
}

int bench_do_op(struct bench_thread *t, enum bench_op op)
{
	switch (op) {
	case OP_SUBMIT: return do_submit(t, NULL, 0);
	case OP_GRADE: return do_grade(t);
	case OP_READ: return do_read(t, false);
	case OP_READ_STALE: return do_read(t, true);
	case OP_QUERY: return do_query(t);
	case OP_KV_PUT: return kv_put(t);
	case OP_KV_GET: {
		char key[48];
		snprintf(key, sizeof key, "bench/%llu",
		         (unsigned long long)(bench_rand(&t->rng) % t->b->keys));
		return kv_get(t, key, NULL);
	}
	case OP_KV_CAS: return kv_cas(t);
	default: return BENCH_ST_WRONG;
	}
}

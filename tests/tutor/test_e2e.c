/*
 * test_e2e.c -- tutord end to end: five real lmsd, the fake Ollama server
 * and one or two real tutord processes (e2e_util.h has the world and the
 * helpers).
 *
 * Why this exists
 * ---------------
 * The tutor's parts are tested alone (tests/ollama: the Ollama client
 * against the fake; tutor_prompt: the prompt; svc_apply: claims and
 * leases in the apply step). What only a whole system shows is what a
 * student sees: a question addressed to the tutor gets exactly one answer,
 * with the model's thinking stripped and the course material cited; a
 * failing or absent Ollama stores nothing and loses nothing; several
 * tutord share the work without answering anything twice; a tutord killed
 * while it holds a question delays that question only until its claim's
 * lease runs out. Every outcome is read back through the cluster's read
 * API (QueryGet / QueryList as the student or the instructor) and
 * tutord's /health and /metrics, never from logs.
 *
 * Scenarios (one ctest test each: `test_tutor_e2e tutor_e2e_answer`):
 *   tutor_e2e_answer            one question answered once, the fake's
 *                               visible answer exactly, sources; /health,
 *                               /metrics; a reply written in small pieces
 *   tutor_e2e_ollama_down       Ollama absent: questions stay open, /health
 *                               503; Ollama back on the same port: each
 *                               question answered once
 *   tutor_e2e_stream_errors     an error line mid-stream, then a reset
 *                               connection: nothing stored; then a proper
 *                               answer, once
 *   tutor_e2e_two_tutors_burst  two tutord, 50 questions from four
 *                               students: each answered once, both work
 *   tutor_e2e_tutord_killed     SIGKILL of the tutord holding a claim: the
 *                               other answers once, after the lease ran
 *                               out; SIGTERM during an Ollama call exits 0
 *
 * Timings: tutord's lease is max(10 s, 2 x request_timeout_ms), and it
 * starts no Ollama request for a question later than request_timeout_ms
 * before its lease ends. The request timeouts here are 4-8 s: long
 * enough for the fake's short replies also on a loaded machine, short
 * enough for the 10 s leases that tutor_e2e_tutord_killed and
 * tutor_e2e_stream_errors wait out. Figures are printed as "[e2e] ..."
 * lines (ctest -V).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e2e_util.h"
#include "fake_ollama.h"
#include "svc_util.h"

#define HEALTH_MS 15000    /* tutord logged in and saw Ollama */
#define ANSWER_MS 30000    /* a question answered once Ollama works */

/* ------------------------------------------------------------ helpers */

/* Waits until tutord i's /health answers code; returns its body in buf. */
static void wait_health(struct e2e *e, unsigned i, int code, char *buf,
                        size_t cap, unsigned timeout_ms)
{
	uint64_t deadline = cl_now_ms() + timeout_ms;
	int got;
	for (;;) {
		e2e_tutord_check_alive(e, i);
		got = e2e_tutord_get(e, i, "/health", buf, cap);
		if (got == code || cl_now_ms() >= deadline)
			break;
		cl_sleep_ms(50);
	}
	if (got != code)
		fail_msg("tutord %u: /health answers %d (%s), not %d within "
		         "%u ms", i, got, buf, code, timeout_ms);
}

/* Whether claimed_by names worker (it may be followed by " <url>"). */
static bool claimed_by_worker(const char *claimed_by, const char *worker)
{
	size_t n = strlen(worker);
	return claimed_by && strncmp(claimed_by, worker, n) == 0 &&
	       (claimed_by[n] == '\0' || claimed_by[n] == ' ');
}

/* Waits until every question of ids is ANSWERED (read as the
 * instructor, one list per poll), checking on every poll that no
 * question has more than one answer and that the tutord in `alive`
 * (bit i: tutord i) still run. Returns the time it took (ms). */
static unsigned wait_answered(struct e2e *e, const uint64_t *ids, size_t n,
                              unsigned alive, unsigned timeout_ms)
{
	uint64_t start = cl_now_ms(), deadline = start + timeout_ms;
	size_t done = 0;
	for (;;) {
		for (unsigned i = 0; i < E2E_MAX_TUTORS; i++)
			if (alive & (1u << i))
				e2e_tutord_check_alive(e, i);
		struct e2e_list l;
		e2e_list(e, e->prof, &l);
		done = 0;
		for (size_t k = 0; k < n; k++) {
			const Lms__Rpc__Query *q = e2e_list_find(&l, ids[k]);
			if (!q)
				fail_msg("the instructor does not see question "
				         "%" PRIu64, ids[k]);
			if (q->n_answers > 1)
				fail_msg("question %" PRIu64 " has %zu answers",
				         ids[k], q->n_answers);
			done += q->status ==
			        LMS__RPC__QUERY_STATUS__QUERY_ANSWERED;
		}
		e2e_list_free(&l);
		if (done == n || cl_now_ms() >= deadline)
			break;
		cl_sleep_ms(n > 5 ? 250 : 100); /* a big list is a big read */
	}
	if (done != n)
		fail_msg("%zu of %zu question(s) answered within %u ms", done,
		         n, timeout_ms);
	return (unsigned)(cl_now_ms() - start);
}

/* Polls for window_ms (at least, and until until() says so, at most
 * max_ms): every question of ids is seen by the instructor unanswered
 * (OPEN or CLAIMED, no answer). until may be NULL. */
static void expect_unanswered_for(struct e2e *e, const uint64_t *ids,
                                  size_t n, unsigned window_ms,
                                  unsigned max_ms,
                                  bool (*until)(struct e2e *, void *),
                                  void *arg, const char *what)
{
	uint64_t start = cl_now_ms();
	unsigned polls = 0;
	for (;;) {
		e2e_tutord_check_alive(e, 0);
		struct e2e_list l;
		e2e_list(e, e->prof, &l);
		for (size_t k = 0; k < n; k++) {
			const Lms__Rpc__Query *q = e2e_list_find(&l, ids[k]);
			if (!q)
				fail_msg("%s: the instructor does not see "
				         "question %" PRIu64, what, ids[k]);
			e2e_expect_unanswered(q, what);
		}
		e2e_list_free(&l);
		polls++;
		uint64_t now = cl_now_ms();
		bool cond = !until || until(e, arg);
		if (now >= start + window_ms && cond)
			break;
		if (now >= start + max_ms)
			fail_msg("%s: the condition did not hold within %u ms",
			         what, max_ms);
		cl_sleep_ms(200);
	}
	printf("[e2e] %s: unanswered over %u polls in %" PRIu64 " ms\n", what,
	       polls, cl_now_ms() - start);
}

/* The fake's visible answer to the last prompt it was sent, which must
 * carry the question `body` (heap string). */
static char *expected_answer(struct e2e *e, const char *body)
{
	char *user = e2e_fake_last_user(e);
	if (!user)
		fail_msg("the fake Ollama never got a chat request");
	if (!strstr(user, body))
		fail_msg("the fake's last prompt is not for question \"%s\": "
		         "%.400s", body, user);
	if (!strstr(user, E2E_MATERIAL_TITLE))
		fail_msg("the prompt does not quote the material \"%s\": "
		         "%.400s", E2E_MATERIAL_TITLE, user);
	char *v = fake_ollama_visible_answer(user);
	free(user);
	assert_non_null(v);
	return v;
}

/* The question as its student and as the instructor: both must see the
 * same single tutor answer (expected: its exact body, may be NULL). */
static void check_answer_views(struct e2e *e, uint64_t id, unsigned stud,
                               const char *body, const char *expected)
{
	Lms__Rpc__Response *r = e2e_get(e, e->stud[stud], id);
	const Lms__Rpc__Query *q = r->query_get->query;
	assert_string_equal(q->student, e->stud_name[stud]);
	assert_string_equal(q->course, E2E_COURSE);
	assert_string_equal(q->body, body);
	assert_int_equal(q->to, LMS__RPC__QUERY_TARGET__TO_TUTOR);
	e2e_expect_tutor_answer(e, q, body, expected);

	struct e2e_list l;
	e2e_list(e, e->prof, &l);
	const Lms__Rpc__Query *p = e2e_list_find(&l, id);
	if (!p)
		fail_msg("the instructor does not see question %" PRIu64, id);
	e2e_expect_tutor_answer(e, p, body, expected);
	assert_string_equal(p->answers[0]->body, q->answers[0]->body);
	assert_string_equal(p->answers[0]->answered_at,
	                    q->answers[0]->answered_at);
	e2e_list_free(&l);
	lmsc_response_free(r);
}

static double metric_eq(struct e2e *e, unsigned i, const char *name,
                        double want)
{
	double v = e2e_metric_wait(e, i, name, want, 5000);
	if (v != want)
		fail_msg("tutord %u: %s is %g, not %g", i, name, v, want);
	return v;
}

/* ---------------------------------------------------------- scenarios */

static void tutor_e2e_answer(void **state)
{
	struct e2e *e = *state;
	char buf[4096];
	e2e_world(e);
	e2e_fake_start(e, 0);
	e2e_tutord_start(e, 0, "e2e-tutor-a", 8000);
	wait_health(e, 0, 200, buf, sizeof buf, HEALTH_MS);

	/* 1. a question whose words match the material */
	const char *q1 = "How does Raft elect a leader, and why does a "
	                 "candidate need the votes of a majority?";
	uint64_t id1 = e2e_ask(e, 0, q1);
	unsigned took = wait_answered(e, &id1, 1, 1, ANSWER_MS);
	char *want1 = expected_answer(e, q1);
	check_answer_views(e, id1, 0, q1, want1);
	printf("[e2e] question %" PRIu64 " answered in %u ms\n", id1, took);

	/* tutord's own account of it */
	assert_int_equal(e2e_tutord_get(e, 0, "/health", buf, sizeof buf),
	                 200);
	if (strncmp(buf, "ok", 2) != 0)
		fail_msg("/health says \"%s\"", buf);
	metric_eq(e, 0, "tutord_questions_answered_total", 1);
	metric_eq(e, 0, "tutord_questions_claimed_total", 1);
	metric_eq(e, 0, "tutord_ollama_up", 1);
	assert_true(e2e_metric(e, 0, "tutord_tokens_generated_total") > 0);
	assert_true(e2e_metric(e, 0, "tutord_answer_seconds_count") == 1);

	/* 2. the reply written in 48-byte pieces: every line of the
	 * stream (and the <think> block, already cut across many lines)
	 * reaches tutord in several reads */
	e2e_fake_mode(e, "{\"split\": 48}");
	const char *q2 = "What does a follower do when its election timeout "
	                 "passes without a heartbeat from the leader?";
	uint64_t id2 = e2e_ask(e, 1, q2);
	took = wait_answered(e, &id2, 1, 1, ANSWER_MS);
	char *want2 = expected_answer(e, q2);
	check_answer_views(e, id2, 1, q2, want2);
	printf("[e2e] question %" PRIu64 " (split replies) answered in %u "
	       "ms\n", id2, took);
	metric_eq(e, 0, "tutord_questions_answered_total", 2);
	metric_eq(e, 0, "tutord_questions_claimed_total", 2);

	/* the first question was not answered again meanwhile */
	check_answer_views(e, id1, 0, q1, want1);
	free(want1);
	free(want2);

	took = e2e_tutord_stop(e, 0, 5000);
	printf("[e2e] tutord stopped in %u ms\n", took);
	e2e_fake_stop(e);
	cl_stop_all(e->cl);
	e2e_pass(e);
}

static bool errors_at_least(struct e2e *e, void *arg)
{
	return e2e_metric(e, 0, "tutord_ollama_errors_total") >=
	       *(double *)arg;
}

/* /health must say 503 on every poll; done once tutord has counted
 * *arg failed Ollama checks. */
static bool down_and_errors(struct e2e *e, void *arg)
{
	char buf[512];
	int code = e2e_tutord_get(e, 0, "/health", buf, sizeof buf);
	if (code != 503)
		fail_msg("/health answers %d (%s) while Ollama is down", code,
		         buf);
	return errors_at_least(e, arg);
}

static void tutor_e2e_ollama_down(void **state)
{
	struct e2e *e = *state;
	char buf[4096];
	e2e_world(e);
	e->fake_port = e2e_free_port(); /* nothing listens there yet */
	e2e_tutord_start(e, 0, "e2e-tutor-a", 5000);
	wait_health(e, 0, 503, buf, sizeof buf, HEALTH_MS);
	printf("[e2e] /health without Ollama: %s", buf);

	const char *bodies[3] = {
		"Who votes in a Raft election?",
		"When does a follower become a candidate?",
		"How long is a leader's term in Raft?",
	};
	uint64_t ids[3];
	for (unsigned k = 0; k < 3; k++)
		ids[k] = e2e_ask(e, k, bodies[k]);

	/* Ollama absent for 5 s: nothing claimed, nothing stored, /health
	 * 503 throughout, and tutord kept trying (errors counted) */
	double errs = e2e_metric(e, 0, "tutord_ollama_errors_total") + 2;
	expect_unanswered_for(e, ids, 3, 5000, 20000, down_and_errors, &errs,
	                      "ollama down");
	metric_eq(e, 0, "tutord_questions_claimed_total", 0);
	metric_eq(e, 0, "tutord_ollama_up", 0);
	{
		struct e2e_list l;
		e2e_list(e, e->prof, &l);
		for (unsigned k = 0; k < 3; k++) {
			const Lms__Rpc__Query *q = e2e_list_find(&l, ids[k]);
			assert_non_null(q);
			if (q->status != LMS__RPC__QUERY_STATUS__QUERY_OPEN)
				fail_msg("question %" PRIu64 " is not OPEN "
				         "(%d, claimed by \"%s\") while Ollama "
				         "is down", ids[k], (int)q->status,
				         q->claimed_by);
		}
		e2e_list_free(&l);
	}

	/* Ollama comes up on the same port */
	e2e_fake_start(e, 0);
	unsigned took = wait_answered(e, ids, 3, 1, ANSWER_MS);
	printf("[e2e] 3 questions answered %u ms after Ollama came up\n",
	       took);
	for (unsigned k = 0; k < 3; k++)
		check_answer_views(e, ids[k], k, bodies[k], NULL);
	wait_health(e, 0, 200, buf, sizeof buf, 5000);
	metric_eq(e, 0, "tutord_questions_answered_total", 3);
	metric_eq(e, 0, "tutord_questions_claimed_total", 3);
	metric_eq(e, 0, "tutord_ollama_up", 1);

	e2e_tutord_stop(e, 0, 5000);
	e2e_fake_stop(e);
	cl_stop_all(e->cl);
	e2e_pass(e);
}

static void tutor_e2e_stream_errors(void **state)
{
	struct e2e *e = *state;
	char buf[4096];
	e2e_world(e);
	e2e_fake_start(e, 0);
	e2e_fake_mode(e, "{\"error_after\": 5}");
	e2e_tutord_start(e, 0, "e2e-tutor-a", 5000);
	wait_health(e, 0, 200, buf, sizeof buf, HEALTH_MS);

	const char *body = "Why does a Raft candidate vote for itself?";
	uint64_t id = e2e_ask(e, 0, body);

	/* an {"error"} line after 5 tokens, on every attempt */
	double errs = 2;
	expect_unanswered_for(e, &id, 1, 2500, 20000, errors_at_least, &errs,
	                      "error mid-stream");
	e2e_tutord_get(e, 0, "/status", buf, sizeof buf);
	printf("[e2e] after errors mid-stream: %s", buf);

	/* the connection reset after 5 tokens */
	e2e_fake_mode(e, "{\"reset_after\": 5}");
	errs = e2e_metric(e, 0, "tutord_ollama_errors_total") + 1;
	expect_unanswered_for(e, &id, 1, 2500, 25000, errors_at_least, &errs,
	                      "reset mid-stream");
	e2e_tutord_get(e, 0, "/status", buf, sizeof buf);
	printf("[e2e] after resets mid-stream: %s", buf);
	metric_eq(e, 0, "tutord_questions_answered_total", 0);

	/* Ollama well again: one proper answer */
	e2e_fake_mode(e, "{}");
	unsigned took = wait_answered(e, &id, 1, 1, ANSWER_MS);
	printf("[e2e] answered %u ms after the fake was fixed (%g Ollama "
	       "errors before)\n", took,
	       e2e_metric(e, 0, "tutord_ollama_errors_total"));
	char *want = expected_answer(e, body);
	check_answer_views(e, id, 0, body, want);
	free(want);
	metric_eq(e, 0, "tutord_questions_answered_total", 1);

	e2e_tutord_stop(e, 0, 5000);
	e2e_fake_stop(e);
	cl_stop_all(e->cl);
	e2e_pass(e);
}

#define BURST 50

static void tutor_e2e_two_tutors_burst(void **state)
{
	struct e2e *e = *state;
	char buf[4096];
	e2e_world(e);
	e2e_fake_start(e, 0);
	/* a millisecond a token (more with the timers' slack): each reply
	 * takes a few hundred ms, so one tutord is busy generating while
	 * the other claims */
	e2e_fake_mode(e, "{\"token_delay\": 1}");
	e2e_tutord_start(e, 0, "e2e-tutor-a", 6000);
	e2e_tutord_start(e, 1, "e2e-tutor-b", 6000);
	wait_health(e, 0, 200, buf, sizeof buf, HEALTH_MS);
	wait_health(e, 1, 200, buf, sizeof buf, HEALTH_MS);

	static char bodies[BURST][128];
	uint64_t ids[BURST];
	uint64_t t0 = cl_now_ms();
	for (unsigned k = 0; k < BURST; k++) {
		snprintf(bodies[k], sizeof bodies[k],
		         "Burst question %02u: how many votes does a Raft "
		         "candidate need to become leader?", k);
		ids[k] = e2e_ask(e, k % E2E_STUDENTS, bodies[k]);
	}
	unsigned posted = (unsigned)(cl_now_ms() - t0);
	unsigned took = wait_answered(e, ids, BURST, 3, 90000);
	printf("[e2e] %d questions posted in %u ms, all answered %u ms "
	       "later\n", BURST, posted, took);
	for (unsigned k = 0; k < BURST; k++)
		check_answer_views(e, ids[k], k % E2E_STUDENTS, bodies[k],
		                   NULL);

	/* the counters follow the stores: wait for the sum */
	uint64_t deadline = cl_now_ms() + 5000;
	double a, b;
	for (;;) {
		a = e2e_metric(e, 0, "tutord_questions_answered_total");
		b = e2e_metric(e, 1, "tutord_questions_answered_total");
		if (a + b >= BURST || cl_now_ms() >= deadline)
			break;
		cl_sleep_ms(50);
	}
	double ca = e2e_metric(e, 0, "tutord_questions_claimed_total");
	double cb = e2e_metric(e, 1, "tutord_questions_claimed_total");
	printf("[e2e] tutor a answered %g (claimed %g), tutor b answered %g "
	       "(claimed %g)\n", a, ca, b, cb);
	if (a + b != BURST)
		fail_msg("the tutors stored %g answers for %d questions",
		         a + b, BURST);
	if (ca + cb != BURST)
		fail_msg("the tutors claimed %g times for %d questions (a "
		         "lease ran out under the burst?)", ca + cb, BURST);
	if (a == 0 || b == 0)
		fail_msg("one tutord did all the work (a %g, b %g)", a, b);

	e2e_tutord_stop(e, 0, 5000);
	e2e_tutord_stop(e, 1, 5000);
	e2e_fake_stop(e);
	cl_stop_all(e->cl);
	e2e_pass(e);
}

/* Waits until question id is claimed by worker and its prompt reached the
 * fake (tutord is inside the Ollama call); returns claim_expires_at. */
static int64_t wait_claim_in_ollama(struct e2e *e, unsigned i, uint64_t id,
                                    const char *body, const char *worker)
{
	uint64_t deadline = cl_now_ms() + 20000;
	for (;;) {
		e2e_tutord_check_alive(e, i);
		Lms__Rpc__Response *r = e2e_get(e, e->prof, id);
		const Lms__Rpc__Query *q = r->query_get->query;
		bool claimed = q->status ==
		               LMS__RPC__QUERY_STATUS__QUERY_CLAIMED &&
		               claimed_by_worker(q->claimed_by, worker);
		int64_t until = claimed ? sv_iso_ms(q->claim_expires_at) : 0;
		if (q->n_answers)
			fail_msg("question %" PRIu64 " answered while Ollama "
			         "holds its reply", id);
		lmsc_response_free(r);
		char *user = claimed ? e2e_fake_last_user(e) : NULL;
		bool in_ollama = user && strstr(user, body);
		free(user);
		if (in_ollama)
			return until;
		if (cl_now_ms() >= deadline)
			fail_msg("question %" PRIu64 " not claimed by %s with "
			         "its prompt at Ollama within 20 s", id,
			         worker);
		cl_sleep_ms(50);
	}
}

static void tutor_e2e_tutord_killed(void **state)
{
	struct e2e *e = *state;
	char buf[4096];
	e2e_world(e);
	e2e_fake_start(e, 0);
	/* the first token never comes in time: the reply is held */
	e2e_fake_mode(e, "{\"first_delay\": 60000}");
	e2e_tutord_start(e, 0, "e2e-tutor-a", 4000);
	wait_health(e, 0, 200, buf, sizeof buf, HEALTH_MS);

	const char *body = "What makes a Raft candidate become leader?";
	uint64_t id = e2e_ask(e, 0, body);
	int64_t until = wait_claim_in_ollama(e, 0, id, body, "e2e-tutor-a");
	e2e_tutord_kill(e, 0);
	int64_t killed_at = e2e_wall_ms();
	printf("[e2e] tutord a killed holding question %" PRIu64 ", lease "
	       "ends in %" PRId64 " ms\n", id, until - killed_at);
	if (until - killed_at < 2000)
		fail_msg("the claim had only %" PRId64 " ms left at the kill",
		         until - killed_at);

	e2e_fake_mode(e, "{}");
	e2e_tutord_start(e, 1, "e2e-tutor-b", 4000);
	wait_health(e, 1, 200, buf, sizeof buf, HEALTH_MS);

	/* until the lease runs out the question stays a's */
	unsigned polls = 0;
	while (e2e_wall_ms() < until - 500) {
		e2e_tutord_check_alive(e, 1);
		Lms__Rpc__Response *r = e2e_get(e, e->prof, id);
		const Lms__Rpc__Query *q = r->query_get->query;
		e2e_expect_unanswered(q, "lease of the killed tutord");
		if (q->status != LMS__RPC__QUERY_STATUS__QUERY_CLAIMED ||
		    !claimed_by_worker(q->claimed_by, "e2e-tutor-a"))
			fail_msg("question %" PRIu64 " is %d claimed by \"%s\" "
			         "before the killed tutord's lease ran out",
			         id, (int)q->status, q->claimed_by);
		lmsc_response_free(r);
		polls++;
		cl_sleep_ms(200);
	}
	printf("[e2e] claim held by the dead tutord over %u polls\n", polls);

	wait_answered(e, &id, 1, 2, ANSWER_MS);
	printf("[e2e] answered %" PRId64 " ms after the lease ran out\n",
	       e2e_wall_ms() - until);
	char *want = expected_answer(e, body);
	check_answer_views(e, id, 0, body, want);
	free(want);
	Lms__Rpc__Response *r = e2e_get(e, e->prof, id);
	int64_t answered = sv_iso_ms(r->query_get->query->answers[0]
	                                     ->answered_at);
	if (answered < until)
		fail_msg("answered at %s, before the claim's lease ran out "
		         "(%" PRId64 " ms early)",
		         r->query_get->query->answers[0]->answered_at,
		         until - answered);
	lmsc_response_free(r);
	metric_eq(e, 1, "tutord_questions_answered_total", 1);
	metric_eq(e, 1, "tutord_questions_claimed_total", 1);

	/* SIGTERM while tutord waits for Ollama: the call is cancelled
	 * and tutord exits 0 promptly; the question stays unanswered */
	e2e_fake_mode(e, "{\"first_delay\": 60000}");
	const char *body2 = "Can two Raft leaders exist in the same term?";
	uint64_t id2 = e2e_ask(e, 1, body2);
	wait_claim_in_ollama(e, 1, id2, body2, "e2e-tutor-b");
	unsigned stop_ms = e2e_tutord_stop(e, 1, 3000);
	printf("[e2e] tutord b stopped in %u ms during an Ollama call\n",
	       stop_ms);
	r = e2e_get(e, e->prof, id2);
	e2e_expect_unanswered(r->query_get->query, "after SIGTERM");
	lmsc_response_free(r);

	e2e_fake_stop(e);
	cl_stop_all(e->cl);
	e2e_pass(e);
}

/* ---------------------------------------------------------------- main */

#define T(f) cmocka_unit_test_setup_teardown(f, e2e_setup, e2e_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(tutor_e2e_answer),
		T(tutor_e2e_ollama_down),
		T(tutor_e2e_stream_errors),
		T(tutor_e2e_two_tutors_burst),
		T(tutor_e2e_tutord_killed),
	};
	if (argc > 2) {
		fprintf(stderr, "usage: %s [TEST_NAME]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		bool known = false;
		for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
			known |= strcmp(tests[i].name, argv[1]) == 0;
		if (!known) {
			fprintf(stderr, "%s: no test named \"%s\"\n", argv[0],
			        argv[1]);
			return 2;
		}
		cmocka_set_test_filter(argv[1]);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("tutor_e2e", tests, NULL, NULL);
}

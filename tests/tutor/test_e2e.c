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
 *   tutor_e2e_lms_ask           the real `lms ask` as a student: the answer
 *                               printed as it is generated (many reads
 *                               over seconds), equal to the one stored,
 *                               bad citations gone; Ollama down: waiting,
 *                               excerpts, exit 0 after --wait, answered
 *                               later; an error mid-answer: waiting, the
 *                               answer again, stored once
 *
 * Timings: tutord's lease is max(10 s, 2 x request_timeout_ms), and it
 * starts no Ollama request for a question later than request_timeout_ms
 * before its lease ends. The request timeouts here are 4-8 s: long
 * enough for the fake's short replies also on a loaded machine, short
 * enough for the 10 s leases that tutor_e2e_tutord_killed and
 * tutor_e2e_stream_errors wait out. tutor_e2e_lms_ask uses 10 s: its
 * replies are written slowly on purpose (about 4 s), so that `lms ask`
 * shows them growing. Figures are printed as "[e2e] ..." lines (ctest
 * -V).
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

/* ------------------------------------------------- lms ask, end to end */

/* A second material whose text carries citations the tutor must not
 * keep: the fake echoes the prompt, material included, so its answers
 * carry "[S9]" (no such label) and "[S1, S7]" (S7 neither: at most two
 * chunks are given here) for the citation filter to remove, in the
 * stream as in the stored answer. */
#define ASK_TITLE "Quorum read notes"
static const char ask_material[] =
	"A leader answers a linearizable read only after a quorum of the "
	"cluster confirms that it is still the leader; see [S9] and [S1, S7] "
	"for the details of quorum reads.\n";
#define ASK_Q1 "How does a leader answer a linearizable quorum read?"
#define ASK_QA "Who votes in a Raft election?"
#define ASK_QB "When does a follower become a candidate in a Raft election?"
#define ASK_SHOWN "The tutor answers:\n\n"
#define ASK_AGAIN "[the tutor starts its answer again]\n\n"
#define ASK_SOURCES "\n\nSources:\n"
#define ASK_NOTICE "Waiting for the tutor: no tutor has started"
#define ASK_WAITING "[waiting for the tutor:"
#define ASK_EXCERPTS "Meanwhile, from the course materials:"
#define ASK_NONE "No answer yet"
#define ASK_RESTATED "The answer as stored"
/* the fake's reply is cut into tokens of these sizes, cycling
 * (fake_ollama.c) */
static const unsigned fake_token_sizes[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3,
                                            5, 8};
#define FAKE_TOKEN_CYCLE (sizeof fake_token_sizes / sizeof fake_token_sizes[0])

/* Where needle is in r's stdout from `from` on; fails the test when it
 * is not. */
static size_t out_find(const struct e2e_lms *r, const char *needle,
                       size_t from)
{
	const char *hit = from <= r->out_len ? strstr(r->out + from, needle)
	                                     : NULL;
	if (!hit)
		fail_msg("%s: \"%s\" not in its output after byte %zu (its "
		         "output below)", r->cmd, needle, from);
	return (size_t)(hit - r->out);
}

static void out_lacks(const struct e2e_lms *r, const char *needle)
{
	if (strstr(r->out, needle))
		fail_msg("%s: \"%s\" in its output (below)", r->cmd, needle);
}

/* Waits for r to end; fails the test unless it exits 0. */
static void lms_ok(struct e2e_lms *r, unsigned timeout_ms)
{
	int code = e2e_lms_finish(r, timeout_ms);
	if (code != 0)
		fail_msg("%s: exit %d, not 0 (its output below)", r->cmd,
		         code);
}

/* The question number from "Asked the tutor (question N)." */
static uint64_t asked_id(struct e2e_lms *r)
{
	size_t at = out_find(r, "Asked the tutor (question ", 0);
	unsigned long long id = 0;
	if (sscanf(r->out + at, "Asked the tutor (question %llu).", &id) != 1 ||
	    id == 0)
		fail_msg("%s: no question number in its output", r->cmd);
	return (uint64_t)id;
}

static struct e2e_lms *lms_ask(struct e2e *e, unsigned stud, const char *q,
                               const char *wait_s)
{
	const char *args[] = {"ask", E2E_COURSE, q, "--wait", wait_s, NULL};
	return e2e_lms_start(e, e->stud_name[stud], NULL, args);
}

/* Fails the test unless question id (read as the instructor) has exactly
 * one answer, by the tutor, the fake's visible answer to it, with no
 * error text or thinking in it; returns the response (the caller frees
 * it), the answer is r->query_get->query->answers[0]. */
static Lms__Rpc__Response *one_tutor_answer(struct e2e *e, uint64_t id,
                                            const char *body)
{
	Lms__Rpc__Response *r = e2e_get(e, e->prof, id);
	const Lms__Rpc__Query *q = r->query_get->query;
	if (q->status != LMS__RPC__QUERY_STATUS__QUERY_ANSWERED ||
	    q->n_answers != 1)
		fail_msg("question %" PRIu64 ": status %d with %zu answers, "
		         "not answered once", id, (int)q->status,
		         q->n_answers);
	const Lms__Rpc__Answer *a = q->answers[0];
	if (!a->by_tutor || strcmp(a->author, E2E_TUTOR_USER) != 0)
		fail_msg("question %" PRIu64 ": answered by \"%s\", not the "
		         "tutor", id, a->author);
	static const char *const banned[] = {
		"<think>", "</think>", "The student asks",
		FAKE_OLLAMA_ERROR_TEXT, "[S9]", "S7]",
	};
	for (size_t k = 0; k < sizeof banned / sizeof banned[0]; k++)
		if (strstr(a->body, banned[k]))
			fail_msg("question %" PRIu64 ": the answer contains "
			         "\"%s\": %.600s", id, banned[k], a->body);
	if (strncmp(a->body, "Echo: ", 6) != 0 || !strstr(a->body, body))
		fail_msg("question %" PRIu64 ": not the fake's echo of its "
		         "question: %.600s", id, a->body);
	if (a->n_sources == 0)
		fail_msg("question %" PRIu64 ": the answer names no source",
		         id);
	return r;
}

/* Whether the answer names the material titled `title` as a source. */
static bool has_source(const Lms__Rpc__Answer *a, const char *title)
{
	for (size_t k = 0; k < a->n_sources; k++)
		if (strcmp(a->sources[k]->title, title) == 0)
			return true;
	return false;
}

/* Fails unless the printed answer `shown` is the stored one (the stream
 * printed without a final newline when the answer has one). */
static void shown_is_stored(const struct e2e_lms *r, const char *shown,
                            const char *stored)
{
	size_t n = strlen(shown), m = strlen(stored);
	if (strcmp(shown, stored) == 0 ||
	    (m == n + 1 && stored[n] == '\n' && strncmp(shown, stored, n) == 0))
		return;
	fail_msg("%s printed another answer than the one stored:\nprinted: "
	         "%.800s\nstored:  %.800s", r->cmd, shown, stored);
}

/* The number of tokens after which the fake's default reply to the user
 * message `user` is a third into its visible part ("Echo: ..."): an
 * error there comes after some answer was streamed. *echo_at and *len:
 * where the visible part starts and the reply's length (bytes). */
static unsigned tokens_into_echo(const char *user, size_t *echo_at,
                                 size_t *len)
{
	struct fake_ollama_mode m;
	fake_ollama_mode_default(&m);
	char *full = fake_ollama_reply_text(user, &m);
	assert_non_null(full);
	const char *end = strstr(full, "</think>");
	const char *echo = end ? strstr(end, "Echo: ") : NULL;
	if (!echo)
		fail_msg("the fake's reply has no \"</think> ... Echo: \": "
		         "%.300s", full);
	*echo_at = (size_t)(echo - full);
	*len = strlen(full);
	free(full);
	size_t target = *echo_at + (*len - *echo_at) / 3, sum = 0;
	unsigned n = 0;
	while (sum < target)
		sum += fake_token_sizes[n++ % FAKE_TOKEN_CYCLE];
	return n;
}

static size_t token_bytes(unsigned n)
{
	size_t sum = 0;
	for (unsigned i = 0; i < n; i++)
		sum += fake_token_sizes[i % FAKE_TOKEN_CYCLE];
	return sum;
}

/* 1. `lms ask` prints the answer as the fake generates it: several reads
 * spread over time, exactly the stored answer, citations filtered. */
static uint64_t ask_streamed(struct e2e *e, char **user)
{
	struct e2e_lms *r = lms_ask(e, 0, ASK_Q1, "60");
	lms_ok(r, 60000);
	uint64_t id = asked_id(r);
	size_t a0 = out_find(r, ASK_SHOWN, 0) + strlen(ASK_SHOWN);
	size_t a1 = out_find(r, ASK_SOURCES, a0);
	out_lacks(r, ASK_RESTATED);
	out_lacks(r, ASK_WAITING);
	out_find(r, ASK_TITLE, a1);
	char *shown = strndup(r->out + a0, a1 - a0);
	assert_non_null(shown);
	uint64_t first = e2e_lms_byte_ms(r, a0);
	uint64_t last = e2e_lms_byte_ms(r, a1 - 1);
	size_t reads = e2e_lms_reads_in(r, a0, a1);
	printf("[e2e] lms ask: %zu bytes of answer in %zu reads over %" PRIu64
	       " ms; the first %" PRIu64 " ms after the start and %" PRIu64
	       " ms before the exit (%zu reads in all, %" PRIu64 " ms)\n",
	       a1 - a0, reads, last - first, first - r->start_ms,
	       r->exit_ms - first, r->n_reads, r->exit_ms - r->start_ms);
	if (r->exit_ms < first + 500 || reads < 5)
		fail_msg("%s: the answer was not streamed: %zu reads, the "
		         "first %" PRIu64 " ms before the exit", r->cmd, reads,
		         r->exit_ms - first);
	if (strstr(shown, "[S9]") || strstr(shown, "S7]") ||
	    !strstr(shown, "see and [S1] for the details"))
		fail_msg("%s: the streamed answer's citations are not "
		         "filtered (its output below)", r->cmd);

	/* the fake did send the citations that were removed */
	*user = e2e_fake_last_user(e);
	if (!*user || !strstr(*user, ASK_Q1))
		fail_msg("the fake's last prompt is not for \"%s\"", ASK_Q1);
	char *raw = fake_ollama_visible_answer(*user);
	assert_non_null(raw);
	if (!strstr(raw, "see [S9] and [S1, S7] for"))
		fail_msg("the fake's answer does not carry the material's "
		         "citations: %.600s", raw);
	free(raw);

	Lms__Rpc__Response *g = one_tutor_answer(e, id, ASK_Q1);
	const Lms__Rpc__Answer *an = g->query_get->query->answers[0];
	shown_is_stored(r, shown, an->body);
	if (!has_source(an, ASK_TITLE))
		fail_msg("question %" PRIu64 ": \"%s\" is not among the "
		         "sources", id, ASK_TITLE);
	/* and the student reads the same through the client library */
	Lms__Rpc__Response *gs = e2e_get(e, e->stud[0], id);
	assert_string_equal(gs->query_get->query->answers[0]->body, an->body);
	lmsc_response_free(gs);
	lmsc_response_free(g);
	free(shown);
	e2e_lms_free(r);
	return id;
}

/* The first "waiting for the tutor" of r, either lms's own notice (no
 * tutor started within 3 s) or the stream's (the tutor's request
 * failed), within timeout_ms of its start: its offset, *stream says
 * which. */
static size_t first_waiting(struct e2e_lms *r, bool *stream,
                            unsigned timeout_ms)
{
	uint64_t deadline = r->start_ms + timeout_ms;
	for (;;) {
		const char *x = strstr(r->out, ASK_WAITING);
		const char *y = strstr(r->out, ASK_NOTICE);
		const char *hit = x && (!y || x < y) ? x : y;
		if (hit) {
			*stream = hit == x;
			return (size_t)(hit - r->out);
		}
		if (cl_now_ms() >= deadline)
			break;
		e2e_lms_pump(r, 20);
	}
	fail_msg("%s: no \"waiting for the tutor\" within %u ms", r->cmd,
	         timeout_ms);
	return 0;
}

/* r gave up waiting: exit 0, the excerpts (with E2E_MATERIAL_TITLE)
 * after the waiting line at w, then "No answer yet"; no answer text.
 * Returns the question's id. */
static uint64_t gave_up(struct e2e_lms *r, size_t w, const char *what)
{
	lms_ok(r, 15000);
	uint64_t id = asked_id(r);
	size_t m = out_find(r, ASK_EXCERPTS, w);
	out_find(r, E2E_MATERIAL_TITLE, m);
	out_find(r, ASK_NONE, m);
	out_lacks(r, ASK_SHOWN);
	uint64_t said = e2e_lms_byte_ms(r, w) - r->start_ms;
	printf("[e2e] Ollama down, question %" PRIu64 ": \"%.40s\" after "
	       "%" PRIu64 " ms, exit 0 after %" PRIu64 " ms\n", id, what,
	       said, r->exit_ms - r->start_ms);
	if (said > 4000)
		fail_msg("%s: \"%s\" only after %" PRIu64 " ms", r->cmd, what,
		         said);
	return id;
}

/* 2. Ollama down: lms says it waits, shows excerpts, gives up after
 * --wait 5 with exit 0; the questions stay unanswered until Ollama is
 * back, then each is answered once. */
static void ask_ollama_down(struct e2e *e)
{
	char buf[512];
	e2e_fake_stop(e);
	int code = e2e_tutord_get(e, 0, "/health", buf, sizeof buf);
	buf[strcspn(buf, "\n")] = '\0';
	printf("[e2e] /health of the idle tutord right after Ollama "
	       "stopped: %d \"%s\"\n", code, buf);

	/* a: if tutord still believes Ollama up, it claims, its request
	 * fails, the stream says so ("[waiting for the tutor: ..."); if its
	 * idle check (every 10 s) found Ollama gone first, it claims
	 * nothing and lms gives its own notice (no claim within 3 s) */
	struct e2e_lms *ra = lms_ask(e, 1, ASK_QA, "5");
	bool stream = false;
	size_t wa = first_waiting(ra, &stream, 4500);

	/* b, meanwhile: tutord knows now, holds a and claims nothing
	 * while it waits for Ollama; lms gives its own notice at 3 s */
	wait_health(e, 0, 503, buf, sizeof buf, 5000);
	uint64_t ida = asked_id(ra);
	Lms__Rpc__Response *g = e2e_get(e, e->prof, ida);
	int sa = g->query_get->query->status;
	if (sa != LMS__RPC__QUERY_STATUS__QUERY_CLAIMED &&
	    sa != LMS__RPC__QUERY_STATUS__QUERY_OPEN)
		fail_msg("question %" PRIu64 " is neither open nor claimed "
		         "while Ollama is down (%d)", ida, sa);
	lmsc_response_free(g);
	struct e2e_lms *rb = lms_ask(e, 1, ASK_QB, "5");
	size_t wb = e2e_lms_wait_for(rb, ASK_NOTICE, 0, 4500);
	gave_up(ra, wa, stream ? ASK_WAITING : ASK_NOTICE);
	uint64_t idb = gave_up(rb, wb, ASK_NOTICE);
	out_lacks(rb, ASK_WAITING);
	e2e_lms_free(ra);
	e2e_lms_free(rb);

	g = e2e_get(e, e->prof, ida);
	e2e_expect_unanswered(g->query_get->query, "lms ask gave up (a)");
	lmsc_response_free(g);
	g = e2e_get(e, e->prof, idb);
	e2e_expect_unanswered(g->query_get->query, "lms ask gave up (b)");
	if (g->query_get->query->status != LMS__RPC__QUERY_STATUS__QUERY_OPEN)
		fail_msg("question %" PRIu64 " is not OPEN while the tutor "
		         "waits for Ollama (%d, \"%s\")", idb,
		         (int)g->query_get->query->status,
		         g->query_get->query->claimed_by);
	lmsc_response_free(g);

	/* Ollama back: both answered by tutord, once */
	e2e_fake_start(e, 0);
	uint64_t ids[2] = {ida, idb};
	unsigned took = wait_answered(e, ids, 2, 1, ANSWER_MS);
	printf("[e2e] both answered %u ms after Ollama came back\n", took);
	lmsc_response_free(one_tutor_answer(e, ida, ASK_QA));
	lmsc_response_free(one_tutor_answer(e, idb, ASK_QB));
}

/* 3. The model errs mid-answer: lms says it waits, the answer starts
 * again when Ollama works, the whole answer is printed and stored
 * once. user1: the prompt of ASK_Q1 in part 1 (the same length now). */
static void ask_error_midway(struct e2e *e, const char *user1)
{
	size_t echo_at, len;
	unsigned n = tokens_into_echo(user1, &echo_at, &len);
	char mode[128];
	/* the first line after 1 s, so that lms follows the stream before
	 * the answer starts */
	snprintf(mode, sizeof mode, "{\"error_after\": %u, \"first_delay\": "
	         "1000, \"token_delay\": 2}", n);
	e2e_fake_mode(e, mode);
	struct e2e_lms *r = lms_ask(e, 0, ASK_Q1, "60");
	size_t a0 = e2e_lms_wait_for(r, ASK_SHOWN, 0, 15000) +
	            strlen(ASK_SHOWN);
	size_t w = e2e_lms_wait_for(r, ASK_WAITING, a0, 15000);
	if (w < a0 + 20 || strncmp(r->out + a0, "Echo: ", 6) != 0)
		fail_msg("%s: no answer text before \"%s\"", r->cmd,
		         ASK_WAITING);
	uint64_t seen = cl_now_ms();
	e2e_lms_pump(r, 2000);
	e2e_fake_mode(e, "{}");
	uint64_t fixed = cl_now_ms();
	lms_ok(r, 30000);
	uint64_t id = asked_id(r);
	size_t again = out_find(r, ASK_AGAIN, w), last = again;
	unsigned attempts = 1;
	for (const char *p; (p = strstr(r->out + last + 1, ASK_AGAIN));
	     attempts++)
		last = (size_t)(p - r->out);
	size_t f0 = last + strlen(ASK_AGAIN);
	size_t f1 = out_find(r, ASK_SOURCES, f0);
	out_find(r, ASK_TITLE, f1);
	out_lacks(r, ASK_RESTATED);
	out_lacks(r, ASK_NONE);
	char *shown = strndup(r->out + f0, f1 - f0);
	assert_non_null(shown);
	if (strstr(shown, FAKE_OLLAMA_ERROR_TEXT) || strstr(shown, "[S9]"))
		fail_msg("%s: the final answer printed carries error text or "
		         "a bad citation: %.600s", r->cmd, shown);
	Lms__Rpc__Response *g = one_tutor_answer(e, id, ASK_Q1);
	shown_is_stored(r, shown, g->query_get->query->answers[0]->body);
	lmsc_response_free(g);
	printf("[e2e] error after %u tokens (%zu bytes; the visible answer "
	       "from byte %zu of %zu): %zu bytes shown before \"%s\", fixed "
	       "%" PRIu64 " ms later, %u more attempt(s) shown, exit 0 %" PRIu64
	       " ms after the fix\n", n, token_bytes(n), echo_at, len, w - a0,
	       ASK_WAITING, fixed - seen, attempts, r->exit_ms - fixed);

	/* the error did come inside the visible answer of this prompt */
	char *user3 = e2e_fake_last_user(e);
	assert_non_null(user3);
	size_t echo3, len3;
	tokens_into_echo(user3, &echo3, &len3);
	if (token_bytes(n) <= echo3 + 20 || token_bytes(n) >= len3)
		fail_msg("the error after %zu bytes is not inside the visible "
		         "answer (bytes %zu..%zu)", token_bytes(n), echo3,
		         len3);
	free(user3);
	free(shown);
	e2e_lms_free(r);
}

static void tutor_e2e_lms_ask(void **state)
{
	struct e2e *e = *state;
	char buf[4096];
	uint64_t t0 = cl_now_ms();
	e2e_world(e);
	sv_material_txt(e->c, e->prof, E2E_COURSE, ASK_TITLE, ask_material);
	/* a port below the ephemeral range: the fake restarts on it */
	e->fake_port = e2e_free_port();
	e2e_fake_start(e, 0);
	/* the visible answer (about 200 tokens) over about 2 s, after a
	 * think block as long */
	e2e_fake_mode(e, "{\"token_delay\": 10}");
	e2e_tutord_start(e, 0, "e2e-tutor-a", 10000);
	wait_health(e, 0, 200, buf, sizeof buf, HEALTH_MS);
	uint64_t tl = cl_now_ms();
	e2e_lms_login(e, 0);
	e2e_lms_login(e, 1);
	uint64_t t1 = cl_now_ms();
	printf("[e2e] world, fake and tutord %" PRIu64 " ms, two lms logins "
	       "%" PRIu64 " ms\n", tl - t0, t1 - tl);

	char *user1 = NULL;
	ask_streamed(e, &user1);
	uint64_t t2 = cl_now_ms();
	ask_ollama_down(e);
	uint64_t t3 = cl_now_ms();
	ask_error_midway(e, user1);
	uint64_t t4 = cl_now_ms();
	free(user1);
	metric_eq(e, 0, "tutord_questions_answered_total", 4);
	printf("[e2e] setup %" PRIu64 " ms, streamed %" PRIu64 " ms, Ollama "
	       "down %" PRIu64 " ms, error midway %" PRIu64 " ms\n", t1 - t0,
	       t2 - t1, t3 - t2, t4 - t3);

	e2e_tutord_stop(e, 0, 5000);
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
		T(tutor_e2e_lms_ask),
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

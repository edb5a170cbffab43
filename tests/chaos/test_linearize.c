/*
 * test_linearize.c -- tests of the register history format (history.c)
 * and the linearizability checker (linearize.c), ctest chaos_linearize.
 *
 * Why: ops/chaos says "no anomaly" only as reliably as this checker finds
 * them, so every kind of anomaly the cluster could show is written here by
 * hand (stale read, read of a value never written, lost read-your-write,
 * two writes seen in opposite orders, wrong cas answers, a failed write
 * that a reader saw), next to the valid histories that look alike
 * (concurrent operations, unknown outcomes that did or did not take
 * effect), because a checker that cries wolf is as useless as a blind one.
 * Random histories, produced by an atomic register whose operations take
 * effect at random instants inside their intervals, show it is fast enough
 * on the size of a chaos run and still finds one corrupted read in them.
 * Tens of thousands of tiny random histories are judged both by the
 * checker and by brute force over every order (the definition itself),
 * which guards the shortcuts the search takes. Then the budget, the
 * loader's errors (with line numbers), the writer (round trip, threads)
 * and the lms-lincheck program (exit codes, --json).
 *
 * LINCHECK_DUMP=DIR keeps the big random histories as files;
 * LINCHECK_BF_ROUNDS=N and LINCHECK_BF_SEED=S run a longer brute-force
 * comparison.
 *
 * Times in hand-written histories are small integers (nanoseconds);
 * helpers number operations 1, 2, ... in the order they are added.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "history.h"
#include "linearize.h"

#define NO_END LMS_HIST_NO_END
#define OK LMS_HIST_OK
#define FAIL LMS_HIST_FAIL
#define UNKNOWN LMS_HIST_UNKNOWN
#define ABSENT NULL

/* ---- building histories ------------------------------------------------ */

static int hist_setup(void **state)
{
	struct lms_history *h = malloc(sizeof(*h));

	if (h == NULL)
		return -1;
	lms_history_init(h);
	*state = h;
	return 0;
}

static int hist_teardown(void **state)
{
	struct lms_history *h = *state;

	lms_history_free(h);
	free(h);
	return 0;
}

static void add(struct lms_history *h, struct lms_hist_op op)
{
	char err[256] = "";

	op.id = h->n + 1;
	if (op.key == NULL)
		op.key = "k";
	if (lms_history_add(h, &op, err, sizeof(err)) != 0)
		fail_msg("lms_history_add: %s", err);
}

static void put(struct lms_history *h, uint64_t c, const char *v,
		uint64_t s, uint64_t e, enum lms_hist_outcome out)
{
	add(h, (struct lms_hist_op){.client = c, .kind = LMS_HIST_PUT,
				    .value = v, .start_ns = s, .end_ns = e,
				    .outcome = out});
}

/* A get that read v (ABSENT: not found), outcome ok. */
static void get(struct lms_history *h, uint64_t c, const char *v, uint64_t s,
		uint64_t e)
{
	add(h, (struct lms_hist_op){.client = c, .kind = LMS_HIST_GET,
				    .start_ns = s, .end_ns = e, .outcome = OK,
				    .found = v != NULL, .result = v});
}

static void cas(struct lms_history *h, uint64_t c, const char *expected,
		const char *v, bool swapped, uint64_t s, uint64_t e,
		enum lms_hist_outcome out)
{
	add(h, (struct lms_hist_op){.client = c, .kind = LMS_HIST_CAS,
				    .expected = expected, .value = v,
				    .start_ns = s, .end_ns = e, .outcome = out,
				    .swapped = out == OK && swapped});
}

/* Check h; print the report when the verdict is not ok (for the log). */
static enum lms_lin_verdict check_opt(struct lms_history *h, uint64_t budget,
				      size_t cache, struct lms_lin_result *r)
{
	struct lms_lin_options opt = {.budget = budget,
				      .max_cache_bytes = cache};

	assert_int_equal(lms_lin_check(h, &opt, r), 0);
	if (r->verdict != LMS_LIN_OK && h->n < 100)
		lms_lin_result_print(stdout, h, r);
	return r->verdict;
}

static enum lms_lin_verdict check(struct lms_history *h)
{
	struct lms_lin_result r;
	enum lms_lin_verdict v = check_opt(h, 0, 0, &r);

	lms_lin_result_free(&r);
	return v;
}

/* Check, expect an anomaly whose blocked operation has id `blocked` (0:
 * any) and whose explanation contains `says` (NULL: anything). */
static void expect_anomaly(struct lms_history *h, uint64_t blocked,
			   const char *says)
{
	struct lms_lin_result r;
	const struct lms_lin_key *k = NULL;

	assert_int_equal(check_opt(h, 0, 0, &r), LMS_LIN_ANOMALY);
	assert_int_equal(r.n_anomalies, 1);
	for (size_t i = 0; i < r.n_keys; i++)
		if (r.keys[i].verdict == LMS_LIN_ANOMALY)
			k = &r.keys[i];
	assert_non_null(k);
	assert_non_null(k->explanation);
	if (blocked != 0) {
		assert_true(k->blocked < h->n);
		assert_int_equal(h->ops[k->blocked].id, blocked);
	}
	if (says != NULL && strstr(k->explanation, says) == NULL)
		fail_msg("explanation lacks \"%s\":\n%s", says,
			 k->explanation);
	lms_lin_result_free(&r);
}

/* ---- valid histories --------------------------------------------------- */

static void test_empty(void **state)
{
	struct lms_history *h = *state;
	struct lms_lin_result r;

	assert_int_equal(check_opt(h, 0, 0, &r), LMS_LIN_OK);
	assert_int_equal(r.n_keys, 0);
	lms_lin_result_free(&r);
}

static void test_sequential_ok(void **state)
{
	struct lms_history *h = *state;

	get(h, 1, ABSENT, 0, 5);
	put(h, 1, "a", 10, 20, OK);
	get(h, 2, "a", 30, 40);
	put(h, 2, "b", 50, 60, OK);
	get(h, 1, "b", 70, 80);
	cas(h, 1, "b", "c", true, 90, 100, OK);
	get(h, 3, "c", 110, 120);
	cas(h, 3, "b", "d", false, 130, 140, OK);
	cas(h, 3, ABSENT, "e", false, 150, 160, OK);
	get(h, 2, "c", 170, 180);
	assert_int_equal(check(h), LMS_LIN_OK);
}

static void test_concurrent_ok(void **state)
{
	struct lms_history *h = *state;

	/* A long put of a; reads during it see absent then a, never back. */
	put(h, 1, "a", 0, 100, OK);
	get(h, 2, ABSENT, 10, 20);
	get(h, 2, "a", 30, 40);
	get(h, 3, "a", 35, 120);
	/* Two overlapping puts; readers agree b was last. */
	put(h, 1, "b", 200, 300, OK);
	put(h, 4, "c", 210, 290, OK);
	get(h, 2, "c", 220, 230);
	get(h, 3, "b", 240, 250);
	get(h, 2, "b", 310, 320);
	get(h, 3, "b", 330, 340);
	assert_int_equal(check(h), LMS_LIN_OK);
}

/* A read whose interval only touches a write's counts as concurrent. */
static void test_touching_intervals(void **state)
{
	struct lms_history *h = *state;

	put(h, 1, "a", 0, 10, OK);
	get(h, 2, ABSENT, 10, 20);
	assert_int_equal(check(h), LMS_LIN_OK);
}

static void test_two_writes_same_order_ok(void **state)
{
	struct lms_history *h = *state;

	put(h, 1, "a", 0, 100, OK);
	put(h, 2, "b", 0, 100, OK);
	get(h, 3, "a", 10, 20);
	get(h, 3, "b", 30, 40);
	get(h, 4, "a", 10, 20);
	get(h, 4, "b", 30, 40);
	assert_int_equal(check(h), LMS_LIN_OK);
}

/* ---- anomalies --------------------------------------------------------- */

static void test_stale_read(void **state)
{
	struct lms_history *h = *state;

	put(h, 1, "a", 0, 10, OK);
	put(h, 2, "b", 20, 30, OK);
	get(h, 3, "a", 40, 50); /* b was complete before it began */
	expect_anomaly(h, 3, "holds \"b\"");
}

static void test_never_written(void **state)
{
	struct lms_history *h = *state;

	put(h, 1, "a", 0, 10, OK);
	get(h, 2, "ghost", 20, 30);
	expect_anomaly(h, 2, "no operation on this key wrote");
}

static void test_read_before_write(void **state)
{
	struct lms_history *h = *state;

	get(h, 2, "a", 0, 10);
	put(h, 1, "a", 20, 30, OK);
	expect_anomaly(h, 1, "called after it returned");
}

static void test_read_your_write(void **state)
{
	struct lms_history *h = *state;

	put(h, 1, "a", 0, 10, OK);
	put(h, 1, "b", 20, 30, OK);
	get(h, 1, "a", 40, 50); /* the client's own write is gone */
	expect_anomaly(h, 3, NULL);
	lms_history_free(h);

	put(h, 1, "a", 0, 10, OK);
	get(h, 1, ABSENT, 20, 30);
	expect_anomaly(h, 2, "holds \"a\"");
}

static void test_two_writes_inconsistent_orders(void **state)
{
	struct lms_history *h = *state;

	put(h, 1, "a", 0, 100, OK);
	put(h, 2, "b", 0, 100, OK);
	get(h, 3, "a", 10, 20); /* reader 3: a then b */
	get(h, 3, "b", 30, 40);
	get(h, 4, "b", 10, 20); /* reader 4: b then a */
	get(h, 4, "a", 30, 40);
	expect_anomaly(h, 0, "no valid order");
}

static void test_value_comes_back(void **state)
{
	struct lms_history *h = *state;

	/* a overwritten by b, then a read again with no second write. */
	put(h, 1, "a", 0, 10, OK);
	put(h, 2, "b", 5, 50, OK);
	get(h, 3, "b", 20, 30);
	get(h, 3, "a", 40, 45);
	expect_anomaly(h, 4, NULL);
}

/* ---- cas --------------------------------------------------------------- */

static void test_cas_absent(void **state)
{
	struct lms_history *h = *state;

	cas(h, 1, ABSENT, "a", true, 0, 10, OK);
	get(h, 2, "a", 20, 30);
	cas(h, 1, ABSENT, "b", false, 40, 50, OK);
	assert_int_equal(check(h), LMS_LIN_OK);
	lms_history_free(h);

	/* Absent register: expecting absent must swap. */
	cas(h, 1, ABSENT, "a", false, 0, 10, OK);
	expect_anomaly(h, 1, "did not swap");
	lms_history_free(h);

	/* Present register: expecting absent must not swap. */
	put(h, 1, "x", 0, 10, OK);
	cas(h, 2, ABSENT, "a", true, 20, 30, OK);
	expect_anomaly(h, 2, "swapped expecting absent");
	lms_history_free(h);

	put(h, 1, "x", 0, 10, OK);
	cas(h, 2, ABSENT, "a", false, 20, 30, OK);
	get(h, 3, "x", 40, 50);
	assert_int_equal(check(h), LMS_LIN_OK);
}

static void test_cas_swapped_consistency(void **state)
{
	struct lms_history *h = *state;

	/* Two concurrent creators: exactly one may win. */
	cas(h, 1, ABSENT, "a", true, 0, 100, OK);
	cas(h, 2, ABSENT, "b", false, 0, 100, OK);
	get(h, 3, "a", 200, 210);
	assert_int_equal(check(h), LMS_LIN_OK);
	lms_history_free(h);

	cas(h, 1, ABSENT, "a", true, 0, 100, OK);
	cas(h, 2, ABSENT, "b", true, 0, 100, OK);
	expect_anomaly(h, 0, NULL);
	lms_history_free(h);

	cas(h, 1, ABSENT, "a", false, 0, 100, OK);
	cas(h, 2, ABSENT, "b", false, 0, 100, OK);
	expect_anomaly(h, 0, "did not swap");
	lms_history_free(h);

	/* put a; cas a->b must swap, and then b is there. */
	put(h, 1, "a", 0, 10, OK);
	cas(h, 2, "a", "b", true, 20, 30, OK);
	get(h, 3, "b", 40, 50);
	assert_int_equal(check(h), LMS_LIN_OK);
	lms_history_free(h);

	put(h, 1, "a", 0, 10, OK);
	cas(h, 2, "a", "b", false, 20, 30, OK);
	expect_anomaly(h, 2, "did not swap");
	lms_history_free(h);

	put(h, 1, "a", 0, 10, OK);
	cas(h, 2, "a", "b", true, 20, 30, OK);
	get(h, 3, "a", 40, 50); /* the swap is lost */
	expect_anomaly(h, 3, "holds \"b\"");
	lms_history_free(h);

	/* A swap expecting a value that was overwritten before it began. */
	put(h, 1, "a", 0, 10, OK);
	put(h, 1, "c", 20, 30, OK);
	cas(h, 2, "a", "b", true, 40, 50, OK);
	expect_anomaly(h, 3, "swapped expecting \"a\"");
	lms_history_free(h);

	/* A swap expecting a value never written. */
	put(h, 1, "a", 0, 10, OK);
	cas(h, 2, "zz", "b", true, 40, 50, OK);
	expect_anomaly(h, 2, "no operation on this key wrote");
}

/* ---- unknown and failed outcomes ---------------------------------------- */

static void test_unknown_put_took_effect(void **state)
{
	struct lms_history *h = *state;

	put(h, 1, "a", 0, 10, OK);
	put(h, 2, "u", 20, 30, UNKNOWN);  /* timed out at 30 ... */
	get(h, 3, "a", 40, 50);
	get(h, 3, "u", 1000, 1010);       /* ... and applied much later */
	get(h, 4, "u", 2000, 2010);
	assert_int_equal(check(h), LMS_LIN_OK);
}

static void test_unknown_put_did_not(void **state)
{
	struct lms_history *h = *state;

	put(h, 1, "a", 0, 10, OK);
	put(h, 2, "u", 20, NO_END, UNKNOWN);
	get(h, 3, "a", 40, 50);
	get(h, 3, "a", 1000, 1010);
	put(h, 1, "b", 1100, 1110, OK);
	get(h, 4, "b", 2000, 2010);
	assert_int_equal(check(h), LMS_LIN_OK);
}

static void test_unknown_put_observed_then_gone(void **state)
{
	struct lms_history *h = *state;

	/* Once seen, an unknown write happened: it cannot vanish. */
	put(h, 1, "a", 0, 10, OK);
	put(h, 2, "u", 20, 30, UNKNOWN);
	get(h, 3, "u", 40, 50);
	get(h, 3, "a", 60, 70);
	expect_anomaly(h, 4, NULL);
	lms_history_free(h);

	/* Nor take effect before it was called. */
	get(h, 3, "u", 0, 10);
	put(h, 2, "u", 20, 30, UNKNOWN);
	expect_anomaly(h, 1, "called after it returned");
}

static void test_unknown_cas(void **state)
{
	struct lms_history *h = *state;

	cas(h, 1, ABSENT, "a", false, 0, 10, UNKNOWN);
	get(h, 2, "a", 20, 30);
	assert_int_equal(check(h), LMS_LIN_OK);
	lms_history_free(h);

	cas(h, 1, ABSENT, "a", false, 0, 10, UNKNOWN);
	get(h, 2, ABSENT, 20, 30);
	assert_int_equal(check(h), LMS_LIN_OK);
	lms_history_free(h);

	/* It could only have swapped if the register was absent. */
	put(h, 1, "x", 0, 10, OK);
	cas(h, 1, ABSENT, "a", false, 20, 30, UNKNOWN);
	get(h, 2, "a", 40, 50);
	expect_anomaly(h, 3, NULL);
}

static void test_failed_put(void **state)
{
	struct lms_history *h = *state;

	put(h, 1, "a", 0, 10, OK);
	put(h, 2, "f", 20, 30, FAIL);
	get(h, 3, "a", 40, 50);
	assert_int_equal(check(h), LMS_LIN_OK);
	lms_history_free(h);

	put(h, 1, "a", 0, 10, OK);
	put(h, 2, "f", 20, 30, FAIL);
	get(h, 3, "f", 40, 50); /* a write that failed was seen */
	expect_anomaly(h, 3, "only operations that failed wrote");
}

static void test_dropped_counts(void **state)
{
	struct lms_history *h = *state;
	struct lms_lin_result r;

	put(h, 1, "a", 0, 10, OK);
	put(h, 2, "f", 20, 30, FAIL);
	cas(h, 2, "a", "g", false, 20, 30, FAIL);
	add(h, (struct lms_hist_op){.client = 3, .kind = LMS_HIST_GET,
				    .start_ns = 35, .end_ns = NO_END,
				    .outcome = UNKNOWN});
	put(h, 4, "u", 40, 50, UNKNOWN);
	get(h, 3, "a", 60, 70);
	assert_int_equal(check_opt(h, 0, 0, &r), LMS_LIN_OK);
	assert_int_equal(r.n_ops, 6);
	assert_int_equal(r.n_checked, 3);
	assert_int_equal(r.n_failed, 2);
	assert_int_equal(r.n_unknown_reads, 1);
	assert_int_equal(r.n_unknown_writes, 1);
	assert_int_equal(r.n_keys, 1);
	assert_int_equal(r.keys[0].n_unknown, 1);
	lms_lin_result_free(&r);
}

/* Keys are checked independently and reported in order. */
static void test_keys_independent(void **state)
{
	struct lms_history *h = *state;
	struct lms_lin_result r;

	add(h, (struct lms_hist_op){.key = "k2", .kind = LMS_HIST_PUT,
				    .value = "a", .start_ns = 0, .end_ns = 10});
	add(h, (struct lms_hist_op){.key = "k1", .kind = LMS_HIST_PUT,
				    .value = "b", .start_ns = 0, .end_ns = 10});
	/* k1 reads its own b; k2 reads a -- fine. A stale read on k3. */
	add(h, (struct lms_hist_op){.key = "k1", .kind = LMS_HIST_GET,
				    .start_ns = 20, .end_ns = 30, .found = true,
				    .result = "b"});
	add(h, (struct lms_hist_op){.key = "k2", .kind = LMS_HIST_GET,
				    .start_ns = 20, .end_ns = 30, .found = true,
				    .result = "a"});
	add(h, (struct lms_hist_op){.key = "k3", .kind = LMS_HIST_GET,
				    .start_ns = 20, .end_ns = 30, .found = true,
				    .result = "a"});
	assert_int_equal(check_opt(h, 0, 0, &r), LMS_LIN_ANOMALY);
	assert_int_equal(r.n_keys, 3);
	assert_string_equal(r.keys[0].key, "k1");
	assert_string_equal(r.keys[1].key, "k2");
	assert_string_equal(r.keys[2].key, "k3");
	assert_int_equal(r.keys[0].verdict, LMS_LIN_OK);
	assert_int_equal(r.keys[1].verdict, LMS_LIN_OK);
	assert_int_equal(r.keys[2].verdict, LMS_LIN_ANOMALY);
	assert_int_equal(r.n_anomalies, 1);
	lms_lin_result_free(&r);
}

/* The structured explanation and its JSON form. */
static void test_explanation_fields(void **state)
{
	struct lms_history *h = *state;
	struct lms_lin_result r;
	const struct lms_lin_key *k;
	json_t *j, *kj;

	put(h, 1, "a", 0, 10, OK);
	put(h, 2, "b", 20, 30, OK);
	get(h, 4, "c", 35, 100);  /* pending, cannot go before c is put */
	get(h, 3, "a", 40, 50);   /* stale */
	put(h, 5, "c", 60, 70, OK);
	assert_int_equal(check_opt(h, 0, 0, &r), LMS_LIN_ANOMALY);
	k = &r.keys[0];
	assert_int_equal(h->ops[k->blocked].id, 4);
	/* a, b linearized; get c pending; the register holds b. */
	assert_int_equal(k->n_linearized, 2);
	assert_int_equal(h->ops[k->linearized[0]].id, 1);
	assert_int_equal(h->ops[k->linearized[1]].id, 2);
	assert_true(k->state_found);
	assert_string_equal(k->state_value, "b");
	assert_int_equal(k->n_pending, 1);
	assert_int_equal(h->ops[k->pending[0]].id, 3);
	assert_non_null(strstr(k->explanation, "last written by #2"));
	assert_non_null(strstr(k->explanation, "\"a\" was written by:\n"
				  "    #1 "));

	j = lms_lin_result_json(h, &r);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")),
			    "anomaly");
	kj = json_array_get(json_object_get(j, "keys"), 0);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(kj, "blocked"), "id")), 4);
	assert_int_equal(json_integer_value(json_object_get(
				 kj, "linearized_count")), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(kj, "state"), "value")),
			    "b");
	assert_int_equal(json_array_size(json_object_get(kj, "pending")), 1);
	json_decref(j);
	lms_lin_result_free(&r);
}

/* ---- random histories -------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return rnd(s) % n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One generated operation, before it goes into the history. */
struct genOp {
	struct lms_hist_op op;
	char key[8], value[24], expected[24], result[24];
	bool has_expected; /* cas: decided during the simulation */
	bool effect;       /* takes effect (at `at`) */
	uint64_t at;
};

static int genAtCmp(const void *a, const void *b)
{
	const struct genOp *x = *(struct genOp *const *)a;
	const struct genOp *y = *(struct genOp *const *)b;

	return x->at < y->at ? -1 : x->at > y->at;
}

/*
 * A linearizable history: n_ops operations by n_clients sequential
 * clients over n_keys keys. Each operation that takes effect gets a
 * linearization instant inside its interval (unknown ones anywhere after
 * their call, or never); an atomic register applied in the order of those
 * instants gives the answers. faults: a few operations fail or time out.
 */
static void gen_history(struct lms_history *h, uint64_t seed, int n_keys,
			int n_clients, int n_ops, bool faults)
{
	struct genOp *g = calloc((size_t)n_ops, sizeof(*g));
	struct genOp **order = calloc((size_t)n_ops, sizeof(*order));
	uint64_t *clock = calloc((size_t)n_clients, sizeof(*clock));
	const char *reg[16] = {0};    /* current value per key */
	const char *seen[16][8] = {{0}}; /* some earlier values per key */
	uint64_t s = seed * 2654435761u + 1;
	int i, n_eff = 0;

	assert_non_null(g);
	assert_non_null(order);
	assert_non_null(clock);
	assert_true(n_keys <= 10); /* "k0" .. "k9" */
	for (i = 0; i < n_ops; i++) {
		struct genOp *o = &g[i];
		int c = 0, pick = (int)rnd_below(&s, 100);
		uint64_t dur;

		/* The client that is free first runs the next operation. */
		for (int j = 1; j < n_clients; j++)
			if (clock[j] < clock[c])
				c = j;
		snprintf(o->key, sizeof(o->key), "k%d",
			 (int)rnd_below(&s, (uint64_t)n_keys));
		o->op.key = o->key;
		o->op.client = (uint64_t)c;
		o->op.id = (uint64_t)i + 1;
		/* Microseconds, roughly the pace of a real cluster. */
		o->op.start_ns = clock[c] + 1000 * rnd_below(&s, 50);
		dur = 1 + 1000 * rnd_below(&s, 300);
		o->op.end_ns = o->op.start_ns + dur;
		o->op.kind = pick < 40 ? LMS_HIST_PUT
			     : pick < 80 ? LMS_HIST_GET : LMS_HIST_CAS;
		if (o->op.kind != LMS_HIST_GET) {
			snprintf(o->value, sizeof(o->value), "c%d-%d", c, i);
			o->op.value = o->value;
		}
		o->op.outcome = OK;
		pick = (int)rnd_below(&s, 100);
		if (faults && pick < 3)
			o->op.outcome = UNKNOWN;
		else if (faults && pick < 5)
			o->op.outcome = FAIL;
		o->effect = o->op.outcome == OK;
		o->at = o->op.start_ns + rnd_below(&s, dur + 1);
		if (o->op.outcome == UNKNOWN) {
			o->effect = o->op.kind != LMS_HIST_GET &&
				    rnd_below(&s, 2) == 0;
			o->at = o->op.start_ns + 1000 * rnd_below(&s, 5000);
			if (rnd_below(&s, 2) == 0)
				o->op.end_ns = NO_END;
		}
		clock[c] = o->op.end_ns == NO_END ? o->op.start_ns + dur
						  : o->op.end_ns;
		if (o->effect)
			order[n_eff++] = o;
	}

	/* The atomic register, in the order of the instants. */
	qsort(order, (size_t)n_eff, sizeof(*order), genAtCmp);
	for (i = 0; i < n_eff; i++) {
		struct genOp *o = order[i];
		int k = o->key[1] - '0';
		const char *cur = reg[k];

		switch (o->op.kind) {
		case LMS_HIST_PUT:
			reg[k] = o->value;
			break;
		case LMS_HIST_GET:
			o->op.found = cur != NULL;
			if (cur != NULL) {
				snprintf(o->result, sizeof(o->result), "%s",
					 cur);
				o->op.result = o->result;
			}
			break;
		case LMS_HIST_CAS: {
			/* Expect the current value half the time, else
			 * absent or an older value. */
			int p = (int)rnd_below(&s, 4);
			const char *e = p < 2 ? cur
				: p == 2 ? NULL : seen[k][rnd_below(&s, 8)];

			o->has_expected = true;
			if (e != NULL) {
				snprintf(o->expected, sizeof(o->expected),
					 "%s", e);
				o->op.expected = o->expected;
			}
			o->op.swapped = (e == NULL && cur == NULL) ||
					(e != NULL && cur != NULL &&
					 strcmp(e, cur) == 0);
			if (o->op.swapped)
				reg[k] = o->value;
			if (o->op.outcome != OK)
				o->op.swapped = false;
			break;
		}
		}
		if (reg[k] != cur && reg[k] != NULL)
			seen[k][rnd_below(&s, 8)] = reg[k];
	}
	for (i = 0; i < n_ops; i++) {
		struct genOp *o = &g[i];

		if (o->op.kind == LMS_HIST_CAS && !o->has_expected &&
		    rnd_below(&s, 2) == 0) {
			snprintf(o->expected, sizeof(o->expected), "c0-0");
			o->op.expected = o->expected;
		}
		add(h, o->op); /* ids: 1, 2, ... as in g[] */
	}
	free(clock);
	free(order);
	free(g);
}

static void write_history(struct lms_history *h, const char *path)
{
	struct lms_hist_writer *w;

	assert_int_equal(lms_hist_writer_open(path, &w), 0);
	for (size_t i = 0; i < h->n; i++)
		assert_int_equal(lms_hist_writer_append(w, &h->ops[i]), 0);
	assert_int_equal(lms_hist_writer_close(w), 0);
}

/* With LINCHECK_DUMP=DIR set, keep a generated history as DIR/name (to
 * replay it with lms-lincheck). */
static void maybe_dump(struct lms_history *h, const char *name)
{
	const char *dir = getenv("LINCHECK_DUMP");
	char path[512];

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_history(h, path);
}

/* Replace the result of get ops[i] by v. */
static void set_result(struct lms_history *h, size_t i, const char *v)
{
	free((char *)h->ops[i].result);
	h->ops[i].result = strdup(v);
	assert_non_null(h->ops[i].result);
	h->ops[i].found = true;
}

/*
 * Make one read stale for certain: find on one key an ok put p1, an ok
 * put p2 called after p1 returned, and an ok get called after p2
 * returned, as late as possible; make the get return p1's value (values
 * are unique, so nothing else wrote it). Returns the get's id.
 */
static uint64_t corrupt_stale(struct lms_history *h)
{
	for (size_t gi = h->n; gi-- > 0;) {
		const struct lms_hist_op *g = &h->ops[gi];

		if (g->kind != LMS_HIST_GET || g->outcome != OK)
			continue;
		for (size_t p1 = 0; p1 < h->n; p1++) {
			const struct lms_hist_op *a = &h->ops[p1];

			if (a->kind != LMS_HIST_PUT || a->outcome != OK ||
			    strcmp(a->key, g->key) != 0)
				continue;
			for (size_t p2 = 0; p2 < h->n; p2++) {
				const struct lms_hist_op *b = &h->ops[p2];

				if (b->kind == LMS_HIST_PUT &&
				    b->outcome == OK &&
				    strcmp(b->key, g->key) == 0 &&
				    b->start_ns > a->end_ns &&
				    b->end_ns < g->start_ns &&
				    (g->result == NULL ||
				     strcmp(g->result, a->value) != 0)) {
					set_result(h, gi, a->value);
					return g->id;
				}
			}
			break; /* only the key's first put as p1 */
		}
	}
	fail_msg("no read to corrupt");
	return 0;
}

static void test_random_ok(void **state)
{
	struct lms_history *h = *state;
	struct lms_lin_result r;
	double t;

	gen_history(h, 1, 5, 10, 10000, true);
	maybe_dump(h, "random-ok.jsonl");
	t = now_s();
	assert_int_equal(check_opt(h, 0, 0, &r), LMS_LIN_OK);
	t = now_s() - t;
	print_message("5 keys x ~2000 ops, 10 clients, faults: %.3f s, "
		      "%llu steps\n", t, (unsigned long long)r.steps);
	assert_int_equal(r.n_keys, 5);
	assert_true(r.n_unknown_writes > 0);
	assert_true(r.n_failed > 0);
	assert_true(t < 30.0);
	lms_lin_result_free(&r);
}

static void test_random_ok_no_faults_one_key(void **state)
{
	struct lms_history *h = *state;
	struct lms_lin_result r;
	double t;

	gen_history(h, 2, 1, 10, 2000, false);
	t = now_s();
	assert_int_equal(check_opt(h, 0, 0, &r), LMS_LIN_OK);
	t = now_s() - t;
	print_message("1 key x 2000 ops, 10 clients: %.3f s, %llu steps\n", t,
		      (unsigned long long)r.steps);
	assert_true(t < 30.0);
	lms_lin_result_free(&r);
}

static void test_random_many_seeds(void **state)
{
	struct lms_history *h = *state;
	double t = now_s();

	for (uint64_t seed = 10; seed < 60; seed++) {
		gen_history(h, seed, 2, 6, 300, seed % 2 == 0);
		if (check(h) != LMS_LIN_OK)
			fail_msg("seed %llu: not ok",
				 (unsigned long long)seed);
		lms_history_free(h);
	}
	print_message("50 seeds x 300 ops: %.3f s\n", now_s() - t);
}

static void test_random_stale_read(void **state)
{
	struct lms_history *h = *state;
	struct lms_lin_result r;
	uint64_t id;
	double t;

	gen_history(h, 1, 5, 10, 10000, true);
	id = corrupt_stale(h);
	maybe_dump(h, "random-stale.jsonl");
	t = now_s();
	assert_int_equal(check_opt(h, 0, 0, &r), LMS_LIN_ANOMALY);
	t = now_s() - t;
	print_message("one stale read (#%llu) in 10000 ops: found in %.3f s, "
		      "%llu steps\n", (unsigned long long)id, t,
		      (unsigned long long)r.steps);
	assert_int_equal(r.n_anomalies, 1);
	for (size_t i = 0; i < r.n_keys; i++)
		if (r.keys[i].verdict == LMS_LIN_ANOMALY)
			print_message("%s", r.keys[i].explanation);
	assert_true(t < 30.0);
	lms_lin_result_free(&r);
}

static void test_random_value_never_written(void **state)
{
	struct lms_history *h = *state;
	struct lms_lin_result r;
	size_t gi = SIZE_MAX;

	gen_history(h, 3, 5, 10, 10000, true);
	for (size_t i = h->n / 2; i < h->n && gi == SIZE_MAX; i++)
		if (h->ops[i].kind == LMS_HIST_GET &&
		    h->ops[i].outcome == OK)
			gi = i;
	assert_true(gi != SIZE_MAX);
	set_result(h, gi, "corrupt");
	assert_int_equal(check_opt(h, 0, 0, &r), LMS_LIN_ANOMALY);
	assert_int_equal(r.n_anomalies, 1);
	lms_lin_result_free(&r);
}

/* ---- against brute force ----------------------------------------------- */

/*
 * The definition, checked the slow way: try every order of the operations
 * that keeps a before b whenever a returned before b was called, with
 * every operation of known outcome in it and any subset of the unknown
 * ones, and see whether the register gives the recorded answers. Only for
 * a handful of operations; it shares nothing with linearize.c, so it
 * checks the shortcuts there (memoization, subsumption by unknown
 * operations, unknown operations not placed where they change nothing or
 * right before a put, the pre-checks).
 */
struct bfOp {
	enum lms_hist_kind kind;
	bool known, found, swapped;
	int value, expected, result; /* -1: absent */
	uint64_t start, end;         /* end UINT64_MAX when unknown */
};

static bool bf_search(const struct bfOp *ops, int n, unsigned placed,
		      int state, int known_left)
{
	if (known_left == 0)
		return true;
	for (int i = 0; i < n; i++) {
		int next = state;
		bool ok = true;

		if (placed & (1u << i))
			continue;
		/* Everything that returned before i was called goes first. */
		for (int j = 0; j < n && ok; j++)
			if (j != i && !(placed & (1u << j)) &&
			    ops[j].end < ops[i].start)
				ok = false;
		if (!ok)
			continue;
		switch (ops[i].kind) {
		case LMS_HIST_PUT:
			next = ops[i].value;
			break;
		case LMS_HIST_GET:
			ok = state == ops[i].result;
			break;
		case LMS_HIST_CAS:
			if (state == ops[i].expected)
				next = ops[i].value;
			ok = !ops[i].known ||
			     (state == ops[i].expected) == ops[i].swapped;
			break;
		}
		if (ok && bf_search(ops, n, placed | (1u << i), next,
				    known_left - ops[i].known))
			return true;
	}
	return false;
}

static const char *const bf_values[] = {"a", "b", "c"};

static void test_against_brute_force(void **state)
{
	struct lms_history *h = *state;
	const char *env = getenv("LINCHECK_BF_ROUNDS"); /* longer runs */
	int rounds = env ? atoi(env) : 40000;
	uint64_t s = getenv("LINCHECK_BF_SEED")
		? strtoull(getenv("LINCHECK_BF_SEED"), NULL, 10) : 12345;
	int counts[2] = {0, 0};

	/* Half the rounds with many unknown outcomes, the hard part. */
	for (int round = 0; round < rounds; round++) {
		struct bfOp ops[8];
		int n = 1 + (int)rnd_below(&s, 8), kept = 0, known = 0;
		int p_ok = round % 2 ? 75 : 45, p_unknown = round % 2 ? 90 : 95;
		bool lin;
		enum lms_lin_verdict v;

		for (int i = 0; i < n; i++) {
			struct lms_hist_op op = {.client = (uint64_t)i};
			int kind = (int)rnd_below(&s, 100);
			int out = (int)rnd_below(&s, 100);
			int val = (int)rnd_below(&s, 3);
			int exp = (int)rnd_below(&s, 4) - 1;
			int res = (int)rnd_below(&s, 4) - 1;

			op.kind = kind < 35 ? LMS_HIST_PUT
				  : kind < 75 ? LMS_HIST_GET : LMS_HIST_CAS;
			op.outcome = out < p_ok ? OK
				     : out < p_unknown ? UNKNOWN : FAIL;
			op.start_ns = rnd_below(&s, 20);
			op.end_ns = op.start_ns + rnd_below(&s, 10);
			if (op.kind != LMS_HIST_GET)
				op.value = bf_values[val];
			if (op.kind == LMS_HIST_CAS && exp >= 0)
				op.expected = bf_values[exp];
			if (op.outcome == OK && op.kind == LMS_HIST_GET) {
				op.found = res >= 0;
				op.result = res >= 0 ? bf_values[res] : NULL;
			}
			if (op.outcome == OK && op.kind == LMS_HIST_CAS)
				op.swapped = rnd_below(&s, 2) == 0;
			add(h, op);
			if (op.outcome == FAIL ||
			    (op.outcome == UNKNOWN && op.kind == LMS_HIST_GET))
				continue;
			ops[kept] = (struct bfOp){
				.kind = op.kind, .known = op.outcome == OK,
				.swapped = op.swapped, .value = val,
				.expected = exp,
				.result = op.found ? res : -1,
				.start = op.start_ns,
				.end = op.outcome == OK ? op.end_ns : UINT64_MAX,
			};
			known += ops[kept].known;
			kept++;
		}
		lin = bf_search(ops, kept, 0, -1, known);
		{
			struct lms_lin_result r;

			assert_int_equal(lms_lin_check(h, NULL, &r), 0);
			v = r.verdict;
			lms_lin_result_free(&r);
		}
		if (v != (lin ? LMS_LIN_OK : LMS_LIN_ANOMALY)) {
			struct lms_lin_result r;

			assert_int_equal(check_opt(h, 0, 0, &r), v);
			lms_lin_result_print(stdout, h, &r);
			lms_lin_result_free(&r);
			for (size_t i = 0; i < h->n; i++) {
				char *line = lms_hist_op_to_json(&h->ops[i]);

				print_message("%s\n", line);
				free(line);
			}
			fail_msg("round %d: brute force says %s", round,
				 lin ? "linearizable" : "not linearizable");
		}
		counts[lin]++;
		lms_history_free(h);
	}
	print_message("brute force agrees: %d linearizable, %d not\n",
		      counts[1], counts[0]);
	assert_true(counts[0] > rounds / 40 && counts[1] > rounds / 40);
}

/* ---- the budget -------------------------------------------------------- */

static void test_budget_undecided(void **state)
{
	struct lms_history *h = *state;
	struct lms_lin_result r;

	gen_history(h, 4, 2, 10, 2000, true);
	assert_int_equal(check_opt(h, 100, 0, &r), LMS_LIN_UNDECIDED);
	assert_int_equal(r.n_undecided, 2);
	assert_int_equal(r.n_anomalies, 0);
	for (size_t i = 0; i < r.n_keys; i++) {
		assert_int_equal(r.keys[i].verdict, LMS_LIN_UNDECIDED);
		/* Stops at the first step past the budget (a step may
		 * count a few cache comparisons). */
		assert_true(r.keys[i].steps >= 100);
		assert_true(r.keys[i].steps < 200);
		assert_non_null(strstr(r.keys[i].explanation, "budget"));
	}
	lms_lin_result_free(&r);

	/* An anomaly the budget does not reach is undecided, never ok. */
	corrupt_stale(h);
	assert_int_equal(check_opt(h, 100, 0, &r), LMS_LIN_UNDECIDED);
	lms_lin_result_free(&r);
}

/* Many overlapping blind writes, each read once: the search branches. */
static void test_budget_hard_history(void **state)
{
	struct lms_history *h = *state;
	struct lms_lin_result r;
	char v[16];

	for (int i = 0; i < 8; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		put(h, (uint64_t)i, v, 0, 1000, OK);
	}
	for (int i = 0; i < 8; i++) {
		snprintf(v, sizeof(v), "v%d", 7 - i);
		get(h, 100 + (uint64_t)i, v, 10, 990);
	}
	/* Then a read no order allows: v0 after v1 was complete. */
	put(h, 200, "w", 2000, 2010, OK);
	get(h, 201, "v0", 3000, 3010);
	assert_int_equal(check_opt(h, 1000, 0, &r), LMS_LIN_UNDECIDED);
	lms_lin_result_free(&r);
	assert_int_equal(check_opt(h, 0, 0, &r), LMS_LIN_ANOMALY);
	print_message("hard history: %llu steps\n",
		      (unsigned long long)r.steps);
	lms_lin_result_free(&r);
}

static void test_cache_limit_undecided(void **state)
{
	struct lms_history *h = *state;
	struct lms_lin_result r;

	gen_history(h, 5, 1, 10, 2000, true);
	assert_int_equal(check_opt(h, 0, 4096, &r), LMS_LIN_UNDECIDED);
	assert_non_null(strstr(r.keys[0].explanation, "memo cache"));
	lms_lin_result_free(&r);
}

/* ---- the loader -------------------------------------------------------- */

static char tmpdir[] = "/tmp/test_lincheck.XXXXXX";

static int dir_setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int dir_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

#define GOOD_PUT "{\"id\":1,\"client\":1,\"op\":\"put\",\"key\":\"k\"," \
	"\"value\":\"a\",\"start_ns\":0,\"end_ns\":10,\"outcome\":\"ok\"}\n"

static void test_loader_ok(void **state)
{
	struct lms_history *h = *state;
	char err[256] = "";
	const char *path = write_file("ok.jsonl",
		GOOD_PUT
		"\n"
		"{\"id\":2,\"client\":2,\"op\":\"get\",\"key\":\"k\","
		"\"start_ns\":20,\"end_ns\":30,\"outcome\":\"ok\","
		"\"result\":{\"found\":true,\"value\":\"a\"}}\n"
		"{\"id\":3,\"client\":2,\"op\":\"get\",\"key\":\"k2\","
		"\"start_ns\":20,\"end_ns\":30,\"outcome\":\"ok\","
		"\"result\":{\"found\":false,\"value\":null}}\n"
		"{\"id\":4,\"client\":3,\"op\":\"cas\",\"key\":\"k\","
		"\"value\":\"b\",\"expected\":null,\"start_ns\":40,"
		"\"end_ns\":50,\"outcome\":\"ok\",\"result\":{\"swapped\":"
		"false},\"note\":\"node 2\"}\n"
		"{\"id\":5,\"client\":3,\"op\":\"put\",\"key\":\"k\","
		"\"value\":\"c\",\"start_ns\":60,\"end_ns\":null,"
		"\"outcome\":\"unknown\"}\n"
		"{\"id\":6,\"client\":4,\"op\":\"get\",\"key\":\"k\","
		"\"start_ns\":60,\"outcome\":\"unknown\"}\n"
		"{\"id\":7,\"client\":4,\"op\":\"put\",\"key\":\"k\","
		"\"value\":\"d\",\"start_ns\":60,\"end_ns\":61,"
		"\"outcome\":\"fail\",\"result\":null}\n");

	if (lms_history_load(path, h, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(h->n, 7);
	assert_int_equal(h->ops[1].kind, LMS_HIST_GET);
	assert_true(h->ops[1].found);
	assert_string_equal(h->ops[1].result, "a");
	assert_false(h->ops[2].found);
	assert_null(h->ops[2].result);
	assert_null(h->ops[3].expected);
	assert_false(h->ops[3].swapped);
	assert_string_equal(h->ops[3].note, "node 2");
	assert_int_equal(h->ops[4].end_ns, NO_END);
	assert_int_equal(h->ops[5].end_ns, NO_END);
	assert_int_equal(h->ops[6].outcome, FAIL);
	assert_int_equal(check(h), LMS_LIN_OK);
}

static void test_loader_errors(void **state)
{
	static const struct {
		const char *text;
		const char *says;
	} cases[] = {
		{GOOD_PUT "not json\n", ":2: invalid JSON"},
		{GOOD_PUT "[1,2]\n", ":2: not a JSON object"},
		{GOOD_PUT "\n\n{\"id\":2}\n", ":4: missing \"client\""},
		{"{\"id\":-1,\"client\":1,\"op\":\"put\"}\n",
		 ":1: \"id\" must be an integer >= 0"},
		{"{\"id\":1.5,\"client\":1,\"op\":\"put\"}\n",
		 ":1: \"id\" must be an integer"},
		{"{\"id\":1,\"client\":1,\"op\":\"del\",\"key\":\"k\"}\n",
		 ":1: \"op\" must be"},
		{"{\"id\":1,\"client\":1,\"op\":\"put\",\"key\":\"k\","
		 "\"value\":\"a\",\"start_ns\":0,\"end_ns\":10,"
		 "\"outcome\":\"maybe\"}\n", ":1: \"outcome\" must be"},
		{"{\"id\":1,\"client\":1,\"op\":\"put\",\"key\":\"k\","
		 "\"start_ns\":0,\"end_ns\":10,\"outcome\":\"ok\"}\n",
		 ":1: missing \"value\""},
		{"{\"id\":1,\"client\":1,\"op\":\"put\",\"key\":7,"
		 "\"value\":\"a\",\"start_ns\":0,\"end_ns\":10,"
		 "\"outcome\":\"ok\"}\n", ":1: \"key\" must be a string"},
		{GOOD_PUT "{\"id\":2,\"client\":1,\"op\":\"put\",\"key\":\"k\","
		 "\"value\":\"a\",\"start_ns\":20,\"end_ns\":10,"
		 "\"outcome\":\"ok\"}\n", ":2: \"end_ns\" 10 before"},
		{"{\"id\":1,\"client\":1,\"op\":\"put\",\"key\":\"k\","
		 "\"value\":\"a\",\"start_ns\":0,\"outcome\":\"ok\"}\n",
		 ":1: missing \"end_ns\""},
		{"{\"id\":1,\"client\":1,\"op\":\"get\",\"key\":\"k\","
		 "\"start_ns\":0,\"end_ns\":1,\"outcome\":\"ok\"}\n",
		 ":1: get with outcome \"ok\" needs a \"result\""},
		{"{\"id\":1,\"client\":1,\"op\":\"get\",\"key\":\"k\","
		 "\"start_ns\":0,\"end_ns\":1,\"outcome\":\"ok\","
		 "\"result\":{\"found\":true}}\n",
		 ":1: \"result.value\" missing"},
		{"{\"id\":1,\"client\":1,\"op\":\"get\",\"key\":\"k\","
		 "\"start_ns\":0,\"end_ns\":1,\"outcome\":\"ok\","
		 "\"result\":{\"found\":\"yes\"}}\n",
		 ":1: \"result.found\" must be a boolean"},
		{"{\"id\":1,\"client\":1,\"op\":\"cas\",\"key\":\"k\","
		 "\"value\":\"a\",\"start_ns\":0,\"end_ns\":1,"
		 "\"outcome\":\"ok\",\"result\":{\"swapped\":true}}\n",
		 ":1: missing \"expected\""},
		{"{\"id\":1,\"client\":1,\"op\":\"cas\",\"key\":\"k\","
		 "\"value\":\"a\",\"expected\":3,\"start_ns\":0,\"end_ns\":1,"
		 "\"outcome\":\"ok\",\"result\":{\"swapped\":true}}\n",
		 ":1: \"expected\" must be a string or null"},
		{"{\"id\":1,\"client\":1,\"op\":\"cas\",\"key\":\"k\","
		 "\"value\":\"a\",\"expected\":null,\"start_ns\":0,"
		 "\"end_ns\":1,\"outcome\":\"ok\",\"result\":{\"found\":"
		 "true}}\n", ":1: unknown key \"found\" in \"result\""},
		{"{\"id\":1,\"client\":1,\"op\":\"put\",\"key\":\"k\","
		 "\"value\":\"a\",\"start_ns\":0,\"end_ns\":1,"
		 "\"outcome\":\"fail\",\"result\":{}}\n",
		 ":1: \"result\" given with outcome \"fail\""},
		{"{\"id\":1,\"client\":1,\"op\":\"put\",\"key\":\"k\","
		 "\"value\":\"a\",\"start_ns\":0,\"end_ns\":1,"
		 "\"outcome\":\"ok\",\"nodee\":3}\n", ":1: unknown key \"nodee\""},
		{"{\"id\":1,\"id\":2}\n", ":1: invalid JSON"},
		{"{\"id\":1,\"client\":1,\"op\":\"get\",\"key\":\"k\","
		 "\"value\":\"a\",\"start_ns\":0,\"end_ns\":1,"
		 "\"outcome\":\"ok\",\"result\":{\"found\":false}}\n",
		 ":1: get with \"value\""},
		{GOOD_PUT GOOD_PUT, ":2: duplicate id 1 (first on line 1)"},
		{GOOD_PUT "{\"id\":2,\"client\":1,\"op\":\"put\",\"key\":\"k\","
		 "\"val", ":2: invalid JSON"},
	};
	struct lms_history *h = *state;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_file("bad.jsonl", cases[i].text);

		err[0] = '\0';
		assert_int_equal(lms_history_load(path, h, err, sizeof(err)),
				 -EINVAL);
		assert_int_equal(h->n, 0);
		if (strstr(err, cases[i].says) == NULL ||
		    strstr(err, path) != err)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
				 cases[i].says);
	}
	err[0] = '\0';
	assert_int_equal(lms_history_load("/nonexistent/h.jsonl", h, err,
					  sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "could not open \"/nonexistent/h.jsonl\""));
}

/* ---- the writer -------------------------------------------------------- */

static void assert_op_equal(const struct lms_hist_op *a,
			    const struct lms_hist_op *b)
{
#define STR_EQ(f) do { \
		if (a->f == NULL || b->f == NULL) \
			assert_true(a->f == b->f); \
		else \
			assert_string_equal(a->f, b->f); \
	} while (0)
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->client, b->client);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->outcome, b->outcome);
	assert_int_equal(a->start_ns, b->start_ns);
	assert_int_equal(a->end_ns, b->end_ns);
	assert_int_equal(a->found, b->found);
	assert_int_equal(a->swapped, b->swapped);
	STR_EQ(key);
	STR_EQ(value);
	STR_EQ(expected);
	STR_EQ(result);
	STR_EQ(note);
#undef STR_EQ
}

static void test_writer_round_trip(void **state)
{
	struct lms_history *h = *state;
	const struct lms_hist_op ops[] = {
		{.id = 1, .client = 2, .kind = LMS_HIST_PUT, .key = "k \"q\"",
		 .value = "line\nbreak\ttab \\ é ✓", .start_ns = 5,
		 .end_ns = 9, .outcome = OK},
		{.id = 2, .client = 3, .kind = LMS_HIST_GET, .key = "k",
		 .start_ns = 6, .end_ns = 10, .outcome = OK, .found = true,
		 .result = "v"},
		{.id = 3, .client = 3, .kind = LMS_HIST_GET, .key = "k",
		 .start_ns = 11, .end_ns = 12, .outcome = OK},
		{.id = 4, .client = 4, .kind = LMS_HIST_CAS, .key = "k",
		 .value = "n", .expected = NULL, .start_ns = 13, .end_ns = 14,
		 .outcome = OK, .swapped = true, .note = "node 1"},
		{.id = 5, .client = 4, .kind = LMS_HIST_CAS, .key = "k",
		 .value = "n2", .expected = "n", .start_ns = 15,
		 .end_ns = NO_END, .outcome = UNKNOWN},
		{.id = 6, .client = 5, .kind = LMS_HIST_PUT, .key = "k",
		 .value = "f", .start_ns = 16, .end_ns = 17, .outcome = FAIL,
		 .note = "not leader"},
		{.id = 7, .client = 5, .kind = LMS_HIST_GET, .key = "k",
		 .start_ns = (uint64_t)INT64_MAX - 1,
		 .end_ns = (uint64_t)INT64_MAX, .outcome = UNKNOWN},
	};
	const struct lms_hist_op bad = {.id = 8, .kind = LMS_HIST_PUT,
					.key = "k", .start_ns = 1,
					.end_ns = 2}; /* no value */
	struct lms_hist_writer *w;
	char path[256], err[256] = "";
	size_t n = sizeof(ops) / sizeof(ops[0]);

	snprintf(path, sizeof(path), "%s/rt.jsonl", tmpdir);
	assert_int_equal(lms_hist_writer_open(path, &w), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(lms_hist_writer_append(w, &ops[i]), 0);
	assert_int_equal(lms_hist_writer_append(w, &bad), -EINVAL);
	assert_int_equal(lms_hist_writer_count(w), n);
	assert_int_equal(lms_hist_writer_close(w), 0);

	if (lms_history_load(path, h, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(h->n, n);
	for (size_t i = 0; i < n; i++)
		assert_op_equal(&h->ops[i], &ops[i]);

	assert_int_equal(lms_hist_writer_open("/nonexistent/x.jsonl", &w),
			 -ENOENT);
}

struct writerThread {
	struct lms_hist_writer *w;
	int t;
};

#define W_THREADS 8
#define W_PER_THREAD 250

static void *writer_thread(void *arg)
{
	struct writerThread *wt = arg;
	char v[64];

	/* Long values, so that interleaved writes would show. */
	for (int i = 0; i < W_PER_THREAD; i++) {
		struct lms_hist_op op = {
			.id = lms_hist_writer_next_id(wt->w),
			.client = (uint64_t)wt->t, .kind = LMS_HIST_PUT,
			.key = "k", .value = v, .outcome = OK,
		};

		snprintf(v, sizeof(v), "t%d-%d-%040d", wt->t, i, 0);
		op.start_ns = lms_hist_now_ns();
		op.end_ns = lms_hist_now_ns();
		if (lms_hist_writer_append(wt->w, &op) != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_writer_threads(void **state)
{
	struct lms_history *h = *state;
	struct writerThread wt[W_THREADS];
	pthread_t th[W_THREADS];
	char path[256], err[256] = "";
	struct lms_hist_writer *w;

	snprintf(path, sizeof(path), "%s/threads.jsonl", tmpdir);
	assert_int_equal(lms_hist_writer_open(path, &w), 0);
	for (int i = 0; i < W_THREADS; i++) {
		wt[i] = (struct writerThread){.w = w, .t = i};
		assert_int_equal(pthread_create(&th[i], NULL, writer_thread,
						&wt[i]), 0);
	}
	for (int i = 0; i < W_THREADS; i++) {
		void *rv;

		assert_int_equal(pthread_join(th[i], &rv), 0);
		assert_null(rv);
	}
	assert_int_equal(lms_hist_writer_count(w), W_THREADS * W_PER_THREAD);
	assert_int_equal(lms_hist_writer_close(w), 0);
	if (lms_history_load(path, h, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* Every line whole (the loader parsed them all), ids 1..N once each
	 * (it refuses duplicates). */
	assert_int_equal(h->n, W_THREADS * W_PER_THREAD);
	for (size_t i = 0; i < h->n; i++)
		assert_true(h->ops[i].id >= 1 &&
			    h->ops[i].id <= W_THREADS * W_PER_THREAD);
}

/* ---- the program ------------------------------------------------------- */

/* Run lms-lincheck with args; its exit status; stdout into out (if any). */
static int run_cli(const char *args, char *out, size_t outlen)
{
	char cmd[1024];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' %s 2>/dev/null", LMS_LINCHECK_EXE,
		 args);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (out != NULL) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
	} else {
		char buf[4096];

		while (fread(buf, 1, sizeof(buf), p) > 0)
			;
	}
	st = pclose(p);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_cli(void **state)
{
	struct lms_history *h = *state;
	static char out[1 << 16];
	char ok[256], bad[256], args[600];
	json_error_t jerr;
	json_t *j;

	snprintf(ok, sizeof(ok), "%s/cli-ok.jsonl", tmpdir);
	snprintf(bad, sizeof(bad), "%s/cli-bad.jsonl", tmpdir);
	gen_history(h, 7, 3, 8, 1500, true);
	write_history(h, ok);
	corrupt_stale(h);
	write_history(h, bad);

	snprintf(args, sizeof(args), "'%s'", ok);
	assert_int_equal(run_cli(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "verdict: linearizable"));
	snprintf(args, sizeof(args), "'%s'", bad);
	assert_int_equal(run_cli(args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "verdict: NOT linearizable"));
	assert_non_null(strstr(out, "no valid order places"));
	snprintf(args, sizeof(args), "--budget 10 '%s'", ok);
	assert_int_equal(run_cli(args, out, sizeof(out)), 3);
	assert_non_null(strstr(out, "verdict: undecided"));
	snprintf(args, sizeof(args), "'%s' --json", bad);
	assert_int_equal(run_cli(args, out, sizeof(out)), 1);
	j = json_loads(out, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")),
			    "anomaly");
	assert_int_equal(json_array_size(json_object_get(j, "keys")), 3);
	json_decref(j);

	assert_int_equal(run_cli("", NULL, 0), 2);
	assert_int_equal(run_cli("--budget x /dev/null", NULL, 0), 2);
	assert_int_equal(run_cli("--budget 0 /dev/null", NULL, 0), 2);
	assert_int_equal(run_cli("/nonexistent.jsonl", NULL, 0), 2);
	assert_int_equal(run_cli("a b", NULL, 0), 2);
	assert_int_equal(run_cli("--bogus x", NULL, 0), 2);
	snprintf(args, sizeof(args), "'%s'",
		 write_file("cli-broken.jsonl", GOOD_PUT "oops\n"));
	assert_int_equal(run_cli(args, NULL, 0), 2);
	assert_int_equal(run_cli("/dev/null", out, sizeof(out)), 0);
	assert_int_equal(run_cli("--help", NULL, 0), 0);
	snprintf(args, sizeof(args), "- < '%s'", ok);
	assert_int_equal(run_cli(args, NULL, 0), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, hist_setup, hist_teardown)
	const struct CMUnitTest model[] = {
		T(test_empty),
		T(test_sequential_ok),
		T(test_concurrent_ok),
		T(test_touching_intervals),
		T(test_two_writes_same_order_ok),
		T(test_stale_read),
		T(test_never_written),
		T(test_read_before_write),
		T(test_read_your_write),
		T(test_two_writes_inconsistent_orders),
		T(test_value_comes_back),
		T(test_cas_absent),
		T(test_cas_swapped_consistency),
		T(test_unknown_put_took_effect),
		T(test_unknown_put_did_not),
		T(test_unknown_put_observed_then_gone),
		T(test_unknown_cas),
		T(test_failed_put),
		T(test_dropped_counts),
		T(test_keys_independent),
		T(test_explanation_fields),
		T(test_random_ok),
		T(test_random_ok_no_faults_one_key),
		T(test_random_many_seeds),
		T(test_random_stale_read),
		T(test_random_value_never_written),
		T(test_against_brute_force),
		T(test_budget_undecided),
		T(test_budget_hard_history),
		T(test_cache_limit_undecided),
	};
#undef T
#define T(f) cmocka_unit_test_setup_teardown(f, hist_setup, hist_teardown)
	const struct CMUnitTest files[] = {
		T(test_loader_ok),
		T(test_loader_errors),
		T(test_writer_round_trip),
		T(test_writer_threads),
		T(test_cli),
	};
#undef T
	int failed;

	failed = cmocka_run_group_tests_name("linearize", model, NULL, NULL);
	failed += cmocka_run_group_tests_name("history files", files,
					      dir_setup, dir_teardown);
	return failed;
}

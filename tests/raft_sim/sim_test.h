/*
 * sim_test.h -- cmocka glue for the simulation suites.
 *
 * Each suite (test_<suite>.c) is one executable whose cases are separate
 * ctest tests: `test_raft_sim_<suite> <case>` runs one case (T_MAIN checks
 * the name exists, so a typo in CMakeLists.txt fails instead of running
 * nothing). Without an argument every case runs.
 *
 * The fixture (t_setup / t_teardown) owns the simulation a case builds with
 * t_sim(); its failure hook turns any invariant violation, at any depth of
 * the simulator, into a cmocka failure carrying the invariant, the seed and
 * the step, after the trace tail has been printed. t_fail() / T_CHECK do the
 * same for a test's own assertions.
 *
 * Environment: RAFT_SIM_TRACE=1 prints every event live;
 * RAFT_SIM_SEED_OFFSET=N adds N to every case's seed (to check that a
 * case's assertions hold beyond its default seed).
 */
#ifndef RAFT_SIM_TEST_H
#define RAFT_SIM_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"

struct fixture {
	struct sim *s;
	struct sim_options o;
};

int t_setup(void **state);
int t_teardown(void **state);

/* Default test options: n nodes, the given seed, everything else from
 * sim_options_default(). */
void t_options(struct sim_options *o, unsigned n, uint64_t seed);
/* Builds the simulation from o (failure hook installed) into the fixture. */
struct sim *t_sim(void **state, const struct sim_options *o);
/* Shorthand: t_options + t_sim. */
struct sim *t_sim_n(void **state, unsigned n, uint64_t seed);

/* Prints the trace tail and fails the test. */
void t_fail(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
#define T_CHECK(s, cond)                                                   \
	do {                                                               \
		if (!(cond))                                               \
			t_fail((s), "%s:%d: check failed: %s", __FILE__,   \
			       __LINE__, #cond);                           \
	} while (0)

/* Runs, failing on an invariant violation. */
void t_run(struct sim *s, unsigned ticks);
/* A leader whose no-op has committed, within 50 election timeouts. */
raft_id t_leader(struct sim *s);
/* A ready leader that is none of excl[0..n): after a partition the old
 * leader may still believe it leads (with its old no-op committed) until
 * check-quorum retires it, so tests wait for a leader on the other side. */
raft_id t_leader_not(struct sim *s, const raft_id *excl, size_t n);
/* Proposes on the leader until one entry commits; returns its index. */
raft_index t_commit(struct sim *s);
/* Commits n entries one after the other. */
void t_commit_n(struct sim *s, unsigned n);
/* Runs until every running member has applied >= index. */
void t_wait_applied_all(struct sim *s, raft_index index);
/* Runs until node id has applied >= index. */
void t_wait_applied(struct sim *s, raft_id id, raft_index index);
/* sim_finish with 50 election timeouts, failing on error. */
void t_finish(struct sim *s);
/* 50 election timeouts in ticks: the liveness bound used everywhere. */
unsigned t_bound(const struct sim *s);

int t_main(const char *group, const struct CMUnitTest *tests, size_t n,
           int argc, char **argv);
#define T_MAIN(group, tests)                                               \
	int main(int argc, char **argv)                                    \
	{                                                                  \
		return t_main(group, tests,                                \
		              sizeof(tests) / sizeof((tests)[0]), argc,    \
		              argv);                                       \
	}
#define T_CASE(fn) cmocka_unit_test_setup_teardown(fn, t_setup, t_teardown)

#endif /* RAFT_SIM_TEST_H */

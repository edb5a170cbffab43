/*
 * sim_test.c -- cmocka glue for the simulation suites (see sim_test.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_test.h"

int t_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	*state = f;
	return 0;
}

int t_teardown(void **state)
{
	struct fixture *f = *state;
	if (f) {
		sim_free(f->s);
		free(f);
	}
	*state = NULL;
	return 0;
}

static void on_fail(void *ctx, const char *msg)
{
	(void)ctx;
	fail_msg("%s", msg);
}

void t_options(struct sim_options *o, unsigned n, uint64_t seed)
{
	sim_options_default(o);
	o->n_nodes = n;
	/* RAFT_SIM_SEED_OFFSET reruns every case on other seeds: the
	 * assertions must hold for any seed, not just the default one. */
	const char *off = getenv("RAFT_SIM_SEED_OFFSET");
	if (off && *off)
		seed += strtoull(off, NULL, 10);
	o->seed = seed;
	o->trace_ring = 300;
}

struct sim *t_sim(void **state, const struct sim_options *o)
{
	struct fixture *f = *state;
	f->o = *o;
	f->o.on_fail = on_fail;
	f->o.on_fail_ctx = f;
	f->o.print_on_fail = true;
	f->o.trace_out = stderr;
	const char *live = getenv("RAFT_SIM_TRACE");
	if (live && *live)
		f->o.trace_live = true;
	f->s = sim_new(&f->o);
	assert_non_null(f->s);
	if (sim_failed(f->s))
		fail_msg("%s", sim_error(f->s));
	return f->s;
}

struct sim *t_sim_n(void **state, unsigned n, uint64_t seed)
{
	struct sim_options o;
	t_options(&o, n, seed);
	return t_sim(state, &o);
}

void t_fail(struct sim *s, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sim_trace_dump(s, stderr, 120);
	fail_msg("%s (seed %llu, tick %llu)", msg,
	         (unsigned long long)sim_seed(s),
	         (unsigned long long)sim_now(s));
	abort(); /* not reached: fail_msg jumps out */
}

unsigned t_bound(const struct sim *s)
{
	return 50 * sim_opts(s)->election_ticks;
}

void t_run(struct sim *s, unsigned ticks)
{
	if (sim_run(s, ticks) != 0)
		fail_msg("%s", sim_error(s));
}

raft_id t_leader(struct sim *s)
{
	raft_id l = sim_wait_leader(s, t_bound(s));
	if (l == 0)
		t_fail(s, "no leader within %u ticks", t_bound(s));
	return l;
}

struct leader_not {
	const raft_id *excl;
	size_t n;
};

static bool pred_leader_not(struct sim *s, void *ctx)
{
	const struct leader_not *w = ctx;
	raft_id l = sim_ready_leader(s);
	if (l == 0)
		return false;
	for (size_t k = 0; k < w->n; k++)
		if (w->excl[k] == l)
			return false;
	return true;
}

raft_id t_leader_not(struct sim *s, const raft_id *excl, size_t n)
{
	struct leader_not w = {excl, n};
	if (sim_run_until(s, pred_leader_not, &w, t_bound(s)) != 0)
		t_fail(s, "no leader outside the excluded set within %u ticks",
		       t_bound(s));
	return sim_ready_leader(s);
}

raft_index t_commit(struct sim *s)
{
	raft_index idx = 0;
	if (sim_propose_committed(s, t_bound(s), &idx) != 0)
		t_fail(s, "no proposal committed within %u ticks", t_bound(s));
	return idx;
}

void t_commit_n(struct sim *s, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		t_commit(s);
}

struct applied_wait {
	raft_id id; /* 0 = every running member */
	raft_index index;
};

static bool pred_applied(struct sim *s, void *ctx)
{
	const struct applied_wait *w = ctx;
	if (w->id)
		return sim_applied(s, w->id) >= w->index;
	for (raft_id id = 1; id <= sim_max_id(s); id++) {
		if (!sim_is_up(s, id) || !sim_is_member(s, id))
			continue;
		if (sim_applied(s, id) < w->index)
			return false;
	}
	return true;
}

void t_wait_applied_all(struct sim *s, raft_index index)
{
	struct applied_wait w = {0, index};
	if (sim_run_until(s, pred_applied, &w, t_bound(s)) != 0)
		t_fail(s, "not every member applied %llu in time",
		       (unsigned long long)index);
}

void t_wait_applied(struct sim *s, raft_id id, raft_index index)
{
	struct applied_wait w = {id, index};
	if (sim_run_until(s, pred_applied, &w, t_bound(s)) != 0)
		t_fail(s, "node %llu did not apply %llu in time (at %llu)",
		       (unsigned long long)id, (unsigned long long)index,
		       (unsigned long long)sim_applied(s, id));
}

void t_finish(struct sim *s)
{
	if (sim_finish(s, t_bound(s)) != 0)
		fail_msg("%s", sim_error(s));
}

int t_main(const char *group, const struct CMUnitTest *tests, size_t n,
           int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "usage: %s [case]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		bool found = false;
		for (size_t k = 0; k < n; k++)
			if (strcmp(tests[k].name, argv[1]) == 0)
				found = true;
		if (!found) {
			fprintf(stderr, "%s: no test case \"%s\"\n", argv[0],
			        argv[1]);
			return 2;
		}
		cmocka_set_test_filter(argv[1]);
	}
	return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}

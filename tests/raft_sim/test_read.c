/*
 * test_read.c -- linearizable reads with ReadIndex (dissertation Section
 * 6.4).
 *
 * The simulator records, for every read, the highest commit index known
 * anywhere in the cluster when it was asked, and fails the run if an
 * answer with rv == 0 is below it (a stale read). These cases steer the
 * cluster into the situations where a naive ReadIndex goes wrong: a new
 * leader whose no-op has not committed, a leader deposed by a partition
 * (with and without check-quorum), and churn.
 */
#include <stdlib.h>

#include "sim_test.h"

struct read_wait {
	uint64_t ctx;
};

static bool pred_read_done(struct sim *s, void *ctx)
{
	const struct read_wait *w = ctx;
	return sim_read_result(s, w->ctx, NULL, NULL);
}

/* Waits for the answer to ctx; returns its index, *rv its code. */
static raft_index wait_read(struct sim *s, uint64_t ctx, int *rv)
{
	struct read_wait w = {ctx};
	if (sim_run_until(s, pred_read_done, &w, t_bound(s)) != 0)
		t_fail(s, "read %llu not answered", (unsigned long long)ctx);
	raft_index idx = 0;
	sim_read_result(s, ctx, &idx, rv);
	return idx;
}

/* A read on the leader returns an index covering everything committed
 * before it was asked, and the leader soon applies up to it. */
static void read_index_basic(void **state)
{
	struct sim *s = t_sim_n(state, 3, 71);
	raft_id l = t_leader(s);
	for (int k = 0; k < 5; k++) {
		raft_index c = t_commit(s);
		l = t_leader(s);
		uint64_t ctx;
		assert_int_equal(sim_read_index(s, l, &ctx), 0);
		int rv = -1;
		raft_index idx = wait_read(s, ctx, &rv);
		assert_int_equal(rv, 0);
		T_CHECK(s, idx >= c);
		t_wait_applied(s, l, idx);
	}
	unsigned ok, failed, pending;
	sim_read_stats(s, &ok, &failed, &pending);
	T_CHECK(s, ok == 5 && failed == 0 && pending == 0);
	t_finish(s);
}

struct new_leader {
	raft_id old;
};

static bool pred_new_leader(struct sim *s, void *ctx)
{
	const struct new_leader *w = ctx;
	raft_id l = sim_leader(s);
	return l != 0 && l != w->old;
}

/* A read asked of a new leader before its no-op commits waits for it, and
 * its index covers the no-op. */
static void read_waits_for_noop(void **state)
{
	struct sim *s = t_sim_n(state, 3, 72);
	raft_id l = t_leader(s);
	t_commit_n(s, 3);
	sim_crash(s, l);
	struct new_leader w = {l};
	if (sim_run_until(s, pred_new_leader, &w, t_bound(s)) != 0)
		t_fail(s, "no new leader");
	raft_id l2 = sim_leader(s);
	T_CHECK(s, sim_ready_leader(s) == 0); /* no-op not committed yet */
	struct raft_status st;
	raft_status(sim_core(s, l2), &st);
	raft_index noop = st.last_index; /* appended on election */
	T_CHECK(s, st.last_term == st.term);
	T_CHECK(s, st.commit_index < noop);
	uint64_t ctx;
	assert_int_equal(sim_read_index(s, l2, &ctx), 0);
	int rv = -1;
	raft_index idx = wait_read(s, ctx, &rv);
	assert_int_equal(rv, 0);
	T_CHECK(s, idx >= noop);
	assert_int_equal(sim_restart(s, l), 0);
	t_finish(s);
}

/* Only the leader serves ReadIndex. */
static void read_on_follower_refused(void **state)
{
	struct sim *s = t_sim_n(state, 3, 73);
	raft_id l = t_leader(s);
	raft_id f = l % 3 + 1;
	T_CHECK(s, sim_read_index(s, f, NULL) == RAFT_ENOTLEADER);
	uint64_t ctx;
	assert_int_equal(sim_read_index(s, l, &ctx), 0);
	int rv = -1;
	wait_read(s, ctx, &rv);
	assert_int_equal(rv, 0);
	t_finish(s);
}

/* A leader cut off from the cluster (check-quorum on) keeps being asked
 * for reads until it steps down, while the majority elects a new leader
 * and commits past it: none of its reads may succeed. */
static void read_deposed_leader(void **state)
{
	struct sim *s = t_sim_n(state, 5, 74);
	raft_id l = t_leader(s);
	t_commit(s);
	sim_isolate(s, l);
	uint64_t ctxs[64];
	unsigned n = 0;
	bool committed_past = false;
	for (int tick = 0; tick < 20 * (int)sim_opts(s)->election_ticks;
	     tick++) {
		if (sim_role(s, l) == RAFT_LEADER && n < 64 &&
		    sim_read_index(s, l, &ctxs[n]) == 0)
			n++;
		raft_id l2 = sim_ready_leader(s);
		if (l2 != 0 && l2 != l && sim_propose(s, l2, NULL, NULL) == 0)
			committed_past = true;
		t_run(s, 1);
	}
	T_CHECK(s, n > 0);
	T_CHECK(s, committed_past);
	T_CHECK(s, sim_global_applied(s) > sim_commit_index(s, l));
	sim_heal(s);
	t_run(s, 5 * sim_opts(s)->election_ticks);
	for (unsigned k = 0; k < n; k++) {
		raft_index idx;
		int rv;
		if (sim_read_result(s, ctxs[k], &idx, &rv))
			T_CHECK(s, rv != 0);
	}
	t_finish(s);
}

/* Without check-quorum an isolated leader never learns it was deposed
 * until the partition heals; a read asked of it in the meantime must stay
 * unanswered (no quorum confirms it) or fail, never succeed. */
static void read_partitioned_leader_with_check_quorum_off(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 75);
	o.check_quorum = false;
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	t_commit(s);
	sim_isolate(s, l);
	struct new_leader w = {l};
	if (sim_run_until(s, pred_new_leader, &w, t_bound(s)) != 0)
		t_fail(s, "no new leader");
	raft_id l2 = t_leader(s);
	T_CHECK(s, l2 != l);
	raft_index c2 = t_commit(s);
	T_CHECK(s, sim_role(s, l) == RAFT_LEADER); /* still believes it */
	T_CHECK(s, sim_commit_index(s, l) < c2);
	uint64_t stale;
	assert_int_equal(sim_read_index(s, l, &stale), 0);
	uint64_t fresh;
	assert_int_equal(sim_read_index(s, l2, &fresh), 0);
	int rv = -1;
	raft_index idx = wait_read(s, fresh, &rv);
	assert_int_equal(rv, 0);
	T_CHECK(s, idx >= c2);
	t_run(s, 10 * o.election_ticks);
	T_CHECK(s, !sim_read_result(s, stale, NULL, NULL));
	sim_heal(s);
	t_run(s, 5 * o.election_ticks);
	T_CHECK(s, sim_role(s, l) != RAFT_LEADER);
	raft_index sidx;
	int srv = 0;
	if (sim_read_result(s, stale, &sidx, &srv))
		T_CHECK(s, srv == RAFT_ELEADERSHIPLOST);
	t_finish(s);
}

/* Many reads under crashes, partitions, loss and leader changes. */
static void reads_under_churn(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 76);
	struct sim *s = t_sim(state, &o);
	struct sim_chaos c;
	sim_chaos_default(&c);
	c.membership = false;
	c.read_permille = 300;
	if (sim_chaos_run(s, &c, 3000) != 0)
		fail_msg("%s", sim_error(s));
	t_finish(s);
	unsigned ok, failed, pending;
	sim_read_stats(s, &ok, &failed, &pending);
	T_CHECK(s, ok >= 100);
	T_CHECK(s, failed > 0);
}

static const struct CMUnitTest tests[] = {
	T_CASE(read_index_basic),
	T_CASE(read_waits_for_noop),
	T_CASE(read_on_follower_refused),
	T_CASE(read_deposed_leader),
	T_CASE(read_partitioned_leader_with_check_quorum_off),
	T_CASE(reads_under_churn),
};

T_MAIN("raft_sim_read", tests)

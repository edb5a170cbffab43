/*
 * test_membership.c -- single-server membership changes (dissertation
 * Section 4.1): add as non-voter, promote when caught up, remove (the
 * leader included), one change at a time.
 *
 * In the spirit of canonical/raft's membership integration tests and
 * etcd's conf change tests. The simulator tracks the configuration
 * committed cluster-wide (from applied CONFIG entries), so tests assert on
 * what the cluster agreed, not on one node's opinion.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_test.h"

static bool voter_in(const raft_id *ids, unsigned n, raft_id id)
{
	for (unsigned k = 0; k < n; k++)
		if (ids[k] == id)
			return true;
	return false;
}

static bool pred_other_leader(struct sim *s, void *ctx)
{
	raft_id not = *(const raft_id *)ctx;
	raft_id l = sim_ready_leader(s);
	return l != 0 && l != not;
}

/* A ready leader other than `not`. */
static raft_id wait_other_leader(struct sim *s, raft_id not)
{
	if (sim_run_until(s, pred_other_leader, &not, t_bound(s)) != 0)
		t_fail(s, "no leader other than %llu", (unsigned long long)not);
	return sim_ready_leader(s);
}

/* Adds a node and waits for its CONFIG entry to apply everywhere. */
static raft_id add_node(struct sim *s)
{
	raft_id l = t_leader(s);
	raft_id id;
	raft_index idx;
	assert_int_equal(sim_add_node(s, l, &id, &idx), 0);
	T_CHECK(s, id != 0);
	t_wait_applied_all(s, idx);
	T_CHECK(s, sim_is_member(s, id));
	return id;
}

static void promote(struct sim *s, raft_id id)
{
	raft_index idx = 0;
	int rv = -1;
	for (int tries = 0; tries < 50 && rv != 0; tries++) {
		raft_id l = t_leader(s);
		rv = sim_promote(s, l, id, &idx);
		if (rv != 0) {
			T_CHECK(s, rv == RAFT_ECATCHUP || rv == RAFT_EBUSY);
			t_run(s, 5);
		}
	}
	assert_int_equal(rv, 0);
	t_wait_applied_all(s, idx);
	raft_id ids[16];
	unsigned n = sim_committed_voters(s, ids, 16);
	T_CHECK(s, voter_in(ids, n, id));
}

static void remove_node(struct sim *s, raft_id id)
{
	raft_index idx = 0;
	int rv = -1;
	for (int tries = 0; tries < 50 && rv != 0; tries++) {
		raft_id l = t_leader(s);
		rv = sim_remove(s, l, id, &idx);
		if (rv != 0) {
			T_CHECK(s, rv == RAFT_EBUSY);
			t_run(s, 5);
		}
	}
	assert_int_equal(rv, 0);
	/* committed once the cluster (without id) applied it */
	raft_index fin = t_commit(s);
	T_CHECK(s, fin > idx);
	T_CHECK(s, !sim_is_member(s, id));
}

/* Add a fresh server, let it catch up as a non-voter, promote it; its
 * vote then counts for commitment. */
static void add_and_promote(void **state)
{
	struct sim *s = t_sim_n(state, 3, 51);
	t_leader(s);
	t_commit_n(s, 5);
	raft_id id = add_node(s);
	raft_id ids[16];
	T_CHECK(s, sim_committed_voters(s, ids, 16) == 3);
	raft_index last = t_commit(s);
	t_wait_applied(s, id, last);
	promote(s, id);
	T_CHECK(s, sim_committed_voters(s, ids, 16) == 4);
	/* 4 voters need 3: with two old nodes down nothing commits */
	raft_id l = t_leader(s);
	raft_id a = l % 3 + 1, b = a % 3 + 1;
	sim_crash(s, a);
	sim_crash(s, b);
	raft_index idx;
	raft_term term;
	int rv = sim_propose(s, l, &idx, &term);
	t_run(s, 5 * sim_opts(s)->election_ticks);
	if (rv == 0)
		T_CHECK(s, sim_commit_state(s, idx, term) == 2);
	assert_int_equal(sim_restart(s, a), 0);
	t_commit(s); /* l, a and the new node */
	assert_int_equal(sim_restart(s, b), 0);
	t_finish(s);
}

/* Promotion is refused while the non-voter lags more than the catch-up
 * margin, and accepted once it has caught up. */
static void promote_needs_catch_up(void **state)
{
	struct sim *s = t_sim_n(state, 3, 52);
	raft_id l = t_leader(s);
	raft_id id;
	raft_index idx;
	assert_int_equal(sim_add_node(s, l, &id, &idx), 0);
	sim_isolate(s, id);
	t_commit_n(s, 4 * (unsigned)sim_opts(s)->catchup_margin);
	l = t_leader(s);
	T_CHECK(s, sim_promote(s, l, id, NULL) == RAFT_ECATCHUP);
	sim_heal(s);
	raft_index last = t_commit(s);
	t_wait_applied(s, id, last);
	promote(s, id);
	t_finish(s);
}

/* One change at a time: a second change while the first is uncommitted is
 * refused; errors for existing / unknown servers and bad promotions. */
static void one_change_at_a_time(void **state)
{
	struct sim_options o;
	t_options(&o, 3, 53);
	o.min_latency = 3; /* the first change stays uncommitted a while */
	o.max_latency = 3;
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	raft_id id;
	raft_index idx;
	assert_int_equal(sim_add_node(s, l, &id, &idx), 0);
	T_CHECK(s, sim_add_node(s, l, NULL, NULL) == RAFT_EBUSY);
	T_CHECK(s, sim_remove(s, l, l % 3 + 1, NULL) == RAFT_EBUSY);
	T_CHECK(s, sim_promote(s, l, id, NULL) == RAFT_EBUSY);
	t_wait_applied_all(s, idx);
	l = t_leader(s);
	T_CHECK(s, raft_add_server(sim_core(s, l), id, "x:1", NULL) ==
	                   RAFT_EEXISTS);
	T_CHECK(s, raft_remove_server(sim_core(s, l), 15, NULL) ==
	                   RAFT_ENOTFOUND);
	T_CHECK(s, raft_promote(sim_core(s, l), 15, NULL) == RAFT_ENOTFOUND);
	T_CHECK(s, raft_promote(sim_core(s, l), l % 3 + 1, NULL) ==
	                   RAFT_EINVAL);
	raft_id f = l % 3 + 1;
	T_CHECK(s, raft_add_server(sim_core(s, f), 14, "x:1", NULL) ==
	                   RAFT_ENOTLEADER);
	T_CHECK(s, raft_add_server(sim_core(s, l), 0, "x:1", NULL) ==
	                   RAFT_EINVAL);
	t_commit(s);
	promote(s, id);
	t_finish(s);
}

/* Removing followers shrinks the quorum: from 5 to 3 voters, after which
 * 2 up nodes suffice (with 5 voters they would not). */
static void remove_follower(void **state)
{
	struct sim *s = t_sim_n(state, 5, 54);
	raft_id l = t_leader(s);
	raft_id a = l % 5 + 1, b = a % 5 + 1;
	remove_node(s, a);
	sim_retire(s, a);
	remove_node(s, b);
	sim_retire(s, b);
	raft_id ids[16];
	T_CHECK(s, sim_committed_voters(s, ids, 16) == 3);
	l = t_leader(s);
	raft_id c = b % 5 + 1;
	if (c == l)
		c = c % 5 + 1;
	T_CHECK(s, c != a && c != b);
	sim_crash(s, c);
	t_commit(s); /* 2 of 3 */
	assert_int_equal(sim_restart(s, c), 0);
	t_finish(s);
}

/* Removing the leader: it keeps leading until the removal commits, then
 * steps down; the others elect a leader, and the removed server, left
 * running, does not disrupt them. */
static void remove_leader(void **state)
{
	struct sim *s = t_sim_n(state, 3, 55);
	raft_id l = t_leader(s);
	t_commit(s);
	raft_index idx;
	assert_int_equal(sim_remove(s, l, l, &idx), 0);
	T_CHECK(s, sim_role(s, l) == RAFT_LEADER);
	raft_id l2 = wait_other_leader(s, l);
	T_CHECK(s, sim_global_applied(s) >= idx);
	T_CHECK(s, !sim_is_member(s, l));
	T_CHECK(s, sim_role(s, l) != RAFT_LEADER);
	raft_term t = sim_term(s, l2);
	t_commit(s);
	t_run(s, 20 * sim_opts(s)->election_ticks);
	T_CHECK(s, sim_leader(s) == l2);
	T_CHECK(s, sim_term(s, l2) == t);
	raft_id ids[16];
	T_CHECK(s, sim_committed_voters(s, ids, 16) == 2);
	sim_retire(s, l);
	t_commit(s);
	t_finish(s);
}

/* Replace every server of a 3-node cluster, one change at a time,
 * removing the leader along the way. */
static void replace_all_servers(void **state)
{
	struct sim *s = t_sim_n(state, 3, 56);
	t_leader(s);
	t_commit_n(s, 3);
	raft_id fresh[3];
	for (int k = 0; k < 3; k++) {
		fresh[k] = add_node(s);
		promote(s, fresh[k]);
		t_commit(s);
	}
	for (raft_id id = 1; id <= 3; id++) {
		remove_node(s, id);
		sim_retire(s, id);
		t_commit(s);
	}
	raft_id ids[16];
	unsigned n = sim_committed_voters(s, ids, 16);
	T_CHECK(s, n == 3);
	for (int k = 0; k < 3; k++)
		T_CHECK(s, voter_in(ids, n, fresh[k]));
	raft_id l = t_leader(s);
	T_CHECK(s, l == fresh[0] || l == fresh[1] || l == fresh[2]);
	t_finish(s);
}

/* Random membership changes (the leader included) under crashes,
 * partitions and loss. */
static void membership_churn(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 57);
	o.snapshot_threshold = 20;
	struct sim *s = t_sim(state, &o);
	struct sim_chaos c;
	sim_chaos_default(&c);
	c.member_permille = 30;
	if (sim_chaos_run(s, &c, 3000) != 0)
		fail_msg("%s", sim_error(s));
	t_finish(s);
	T_CHECK(s, sim_max_id(s) > 5); /* servers were added */
	T_CHECK(s, sim_acked_count(s) >= 50);
}

static const struct CMUnitTest tests[] = {
	T_CASE(add_and_promote),
	T_CASE(promote_needs_catch_up),
	T_CASE(one_change_at_a_time),
	T_CASE(remove_follower),
	T_CASE(remove_leader),
	T_CASE(replace_all_servers),
	T_CASE(membership_churn),
};

T_MAIN("raft_sim_membership", tests)

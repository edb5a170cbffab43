/*
 * test_election.c -- leader election in the simulator.
 *
 * In the spirit of MIT 6.824's 2A tests (initial election, re-election,
 * many elections), etcd's pre-vote / check-quorum tests and the RPC count
 * test: each case builds a cluster, perturbs it, and asserts on who leads,
 * in which term, and what it cost, while every step also runs the
 * simulator's invariants (Election Safety above all).
 */
#include <stdlib.h>

#include "sim_test.h"

/* Every running node agrees on the leader and its term. */
static void assert_one_leader(struct sim *s, raft_id leader)
{
	raft_term t = sim_term(s, leader);
	for (raft_id id = 1; id <= sim_max_id(s); id++) {
		if (!sim_is_up(s, id))
			continue;
		if (id == leader) {
			T_CHECK(s, sim_role(s, id) == RAFT_LEADER);
			continue;
		}
		T_CHECK(s, sim_role(s, id) == RAFT_FOLLOWER);
		T_CHECK(s, sim_term(s, id) == t);
		T_CHECK(s, raft_leader(sim_core(s, id)) == leader);
	}
}

/* 6.824 TestInitialElection2A: a leader is elected, everybody agrees, and
 * with no failures the leader and the term stay put. */
static void initial_election(void **state)
{
	struct sim *s = t_sim_n(state, 3, 11);
	raft_id l = t_leader(s);
	T_CHECK(s, sim_now(s) <= 10 * sim_opts(s)->election_ticks);
	t_run(s, 2 * sim_opts(s)->election_ticks);
	assert_one_leader(s, l);
	raft_term t = sim_term(s, l);
	T_CHECK(s, t >= 1);
	/* The bootstrap configuration is committed at index 1 on all. */
	T_CHECK(s, sim_global_term_at(s, 1) == 1);
	t_run(s, 10 * sim_opts(s)->election_ticks);
	T_CHECK(s, sim_leader(s) == l);
	T_CHECK(s, sim_term(s, l) == t);
	T_CHECK(s, sim_leaders_elected(s) == 1);
	assert_one_leader(s, l);
}

/* A one-node cluster elects itself and commits alone. */
static void single_node(void **state)
{
	struct sim *s = t_sim_n(state, 1, 12);
	raft_id l = t_leader(s);
	T_CHECK(s, l == 1);
	raft_index before = sim_applied(s, 1);
	t_commit_n(s, 5);
	T_CHECK(s, sim_applied(s, 1) >= before + 5);
	t_finish(s);
}

/* 6.824 TestReElection2A: losing the leader elects a new one; the old one
 * rejoins as follower; without a quorum nobody is elected. */
static void reelection(void **state)
{
	struct sim *s = t_sim_n(state, 3, 13);
	raft_id l1 = t_leader(s);
	raft_term t1 = sim_term(s, l1);

	sim_isolate(s, l1);
	raft_id l2 = t_leader_not(s, &l1, 1);
	T_CHECK(s, l2 != l1);
	T_CHECK(s, sim_term(s, l2) > t1);

	/* The old leader rejoins and does not take over again. */
	sim_heal(s);
	t_run(s, 5 * sim_opts(s)->election_ticks);
	raft_id l3 = t_leader(s);
	T_CHECK(s, sim_role(s, l1) != RAFT_LEADER || l3 == l1);
	assert_one_leader(s, l3);

	/* No quorum: isolate two of three. The leader steps down (check
	 * quorum) and nobody can be elected. */
	unsigned elected = sim_leaders_elected(s);
	raft_id other = l3 % 3 + 1;
	sim_isolate(s, l3);
	sim_isolate(s, other);
	t_run(s, 10 * sim_opts(s)->election_ticks);
	T_CHECK(s, sim_leader(s) == 0);
	T_CHECK(s, sim_leaders_elected(s) == elected);

	/* A quorum again: a leader. All three: still one leader. */
	sim_heal(s);
	sim_isolate(s, l3);
	raft_id l4 = t_leader_not(s, &l3, 1);
	T_CHECK(s, l4 != l3);
	sim_heal(s);
	t_run(s, 3 * sim_opts(s)->election_ticks);
	assert_one_leader(s, t_leader(s));
	t_finish(s);
}

/* 6.824 TestManyElections2A: 7 nodes, repeatedly cut 3 of them off; the
 * remaining 4 must always elect a leader, and Election Safety holds. */
static void many_elections_churn(void **state)
{
	struct sim *s = t_sim_n(state, 7, 14);
	t_leader(s);
	for (int iter = 0; iter < 10; iter++) {
		raft_id cut[3];
		int k = 0;
		raft_id l0 = sim_leader(s);
		if (iter % 2 == 0 && l0 != 0) /* the leader goes too */
			cut[k++] = l0;
		while (k < 3) {
			raft_id id = (raft_id)sim_rand_range(s, 1, 7);
			bool dup = false;
			for (int j = 0; j < k; j++)
				dup |= cut[j] == id;
			if (!dup)
				cut[k++] = id;
		}
		sim_partition(s, cut, 3);
		/* the majority side elects a leader (or keeps its own) */
		raft_id l = t_leader_not(s, cut, 3);
		T_CHECK(s, l != cut[0] && l != cut[1] && l != cut[2]);
		t_commit(s);
		T_CHECK(s, sim_leader(s) == l || sim_role(s, l) == RAFT_LEADER);
		sim_heal(s);
		t_run(s, (unsigned)sim_rand_range(s, 0, 30));
	}
	T_CHECK(s, sim_leaders_elected(s) >= 2);
	t_finish(s);
}

/* 6.824 TestCount2B: an idle cluster sends heartbeats only: no election
 * traffic, a bounded number of messages, a stable term. */
static void idle_rpc_counts(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 15);
	o.max_persist_delay = 0;
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	uint64_t votes = sim_msg_count(s, RAFT_MSG_VOTE, 0, 0) +
	                 sim_msg_count(s, RAFT_MSG_PREVOTE, 0, 0);
	/* Elections, not a storm: at most every node (pre-)campaigning once
	 * per election timeout until the leader is up. */
	uint64_t rounds = sim_now(s) / o.election_ticks + 1;
	T_CHECK(s, votes <= rounds * 5 * 4 * 2);

	/* Ten proposals at once: a handful of APPENDs per follower. */
	t_run(s, 5);
	uint64_t app0 = sim_msg_count(s, RAFT_MSG_APPEND, l, 0);
	uint64_t t0 = sim_now(s);
	for (int k = 0; k < 10; k++)
		assert_int_equal(sim_propose(s, l, NULL, NULL), 0);
	raft_index last = sim_last_index(s, l);
	t_wait_applied_all(s, last);
	uint64_t ticks = sim_now(s) - t0;
	uint64_t app = sim_msg_count(s, RAFT_MSG_APPEND, l, 0) - app0;
	/* heartbeats for the elapsed ticks + one per proposal, per peer,
	 * and a few to refill pipelines */
	if (app > 4 * (ticks / o.heartbeat_ticks + 1 + 10 + 5))
		t_fail(s, "%llu APPENDs for 10 proposals in %llu ticks",
		       (unsigned long long)app, (unsigned long long)ticks);

	/* Idle: 200 ticks. */
	raft_term term = sim_term(s, l);
	uint64_t v0 = sim_msg_count(s, RAFT_MSG_VOTE, 0, 0) +
	              sim_msg_count(s, RAFT_MSG_PREVOTE, 0, 0);
	uint64_t all0 = sim_msg_count(s, 0, 0, 0);
	uint64_t hb0 = sim_msg_count(s, RAFT_MSG_APPEND, l, 0);
	t_run(s, 200);
	uint64_t hb = sim_msg_count(s, RAFT_MSG_APPEND, l, 0) - hb0;
	uint64_t all = sim_msg_count(s, 0, 0, 0) - all0;
	T_CHECK(s, sim_msg_count(s, RAFT_MSG_VOTE, 0, 0) +
	                   sim_msg_count(s, RAFT_MSG_PREVOTE, 0, 0) == v0);
	T_CHECK(s, sim_term(s, l) == term);
	T_CHECK(s, sim_leader(s) == l);
	/* One heartbeat per peer per heartbeat interval (a little slack for
	 * probes), and one answer each. */
	uint64_t expect = 4 * (200 / o.heartbeat_ticks);
	T_CHECK(s, hb >= expect / 2);
	T_CHECK(s, hb <= expect + expect / 10 + 8);
	T_CHECK(s, all <= 2 * (expect + expect / 10 + 8));
	T_CHECK(s, sim_msg_count(s, RAFT_MSG_SNAPSHOT, 0, 0) == 0);
}

/* Pre-vote (dissertation 9.6): a node cut off from the cluster does not
 * raise its term, so when the partition heals it does not disrupt the
 * leader. */
static void prevote_no_disruption(void **state)
{
	struct sim *s = t_sim_n(state, 5, 16);
	raft_id l = t_leader(s);
	t_commit(s);
	raft_term t = sim_term(s, l);
	raft_id f = l % 5 + 1;
	uint64_t votes0 = sim_msg_count(s, RAFT_MSG_VOTE, 0, 0);
	sim_isolate(s, f);
	t_run(s, 20 * sim_opts(s)->election_ticks);
	T_CHECK(s, sim_term(s, f) == t);
	T_CHECK(s, sim_msg_count(s, RAFT_MSG_PREVOTE, f, 0) > 0);
	sim_heal(s);
	t_run(s, 10 * sim_opts(s)->election_ticks);
	T_CHECK(s, sim_leader(s) == l);
	T_CHECK(s, sim_max_term(s) == t);
	T_CHECK(s, sim_msg_count(s, RAFT_MSG_VOTE, 0, 0) == votes0);
	T_CHECK(s, sim_role(s, f) == RAFT_FOLLOWER);
	t_commit(s);
}

/* The same without pre-vote: the isolated node's term races ahead and its
 * return forces an election. This shows the test above is not vacuous. */
static void no_prevote_disrupts(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 17);
	o.pre_vote = false;
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	raft_term t = sim_term(s, l);
	raft_id f = l % 5 + 1;
	sim_isolate(s, f);
	t_run(s, 20 * o.election_ticks);
	T_CHECK(s, sim_term(s, f) > t + 2);
	sim_heal(s);
	t_run(s, 10 * o.election_ticks);
	T_CHECK(s, sim_max_term(s) > t);
	t_finish(s);
}

/* Check-quorum: a leader cut off from a majority steps down on its own
 * within about an election timeout, without hearing a higher term. */
static void check_quorum_step_down(void **state)
{
	struct sim *s = t_sim_n(state, 5, 18);
	raft_id l = t_leader(s);
	raft_term t = sim_term(s, l);
	sim_isolate(s, l);
	t_run(s, 3 * sim_opts(s)->election_ticks);
	T_CHECK(s, sim_role(s, l) != RAFT_LEADER);
	T_CHECK(s, sim_term(s, l) == t); /* pre-vote keeps it there */
	raft_id l2 = t_leader_not(s, &l, 1);
	T_CHECK(s, l2 != l);
	sim_heal(s);
	t_finish(s);
}

/* Leader stickiness: a follower that misses heartbeats (one link cut)
 * cannot get elected while the others still hear from the leader. */
static void leader_stickiness(void **state)
{
	struct sim *s = t_sim_n(state, 3, 19);
	raft_id l = t_leader(s);
	raft_term t = sim_term(s, l);
	raft_id f = l % 3 + 1;
	sim_cut(s, l, f);
	t_run(s, 20 * sim_opts(s)->election_ticks);
	T_CHECK(s, sim_leader(s) == l);
	T_CHECK(s, sim_max_term(s) == t);
	T_CHECK(s, sim_msg_count(s, RAFT_MSG_PREVOTE, f, 0) > 0);
	t_commit(s);
	sim_heal(s);
	t_finish(s);
}

static const struct CMUnitTest tests[] = {
	T_CASE(initial_election),
	T_CASE(single_node),
	T_CASE(reelection),
	T_CASE(many_elections_churn),
	T_CASE(idle_rpc_counts),
	T_CASE(prevote_no_disruption),
	T_CASE(no_prevote_disrupts),
	T_CASE(check_quorum_step_down),
	T_CASE(leader_stickiness),
};

T_MAIN("raft_sim_election", tests)

/*
 * test_transfer.c -- leadership transfer (dissertation Section 3.10).
 *
 * In the spirit of etcd's leader transfer tests: to an up-to-date target,
 * to one that first needs catching up, to a dead one (aborted after an
 * election timeout, proposals accepted again), automatic target choice,
 * and the errors of raft_transfer_leadership().
 */
#include <stdlib.h>

#include "sim_test.h"

struct leader_is {
	raft_id id;
};

static bool pred_leader_is(struct sim *s, void *ctx)
{
	const struct leader_is *w = ctx;
	return sim_ready_leader(s) == w->id;
}

static void wait_leader_is(struct sim *s, raft_id id, unsigned max)
{
	struct leader_is w = {id};
	if (sim_run_until(s, pred_leader_is, &w, max) != 0)
		t_fail(s, "%llu did not become leader within %u ticks",
		       (unsigned long long)id, max);
}

static raft_id transfer_target(struct sim *s, raft_id l)
{
	struct raft_status st;
	raft_status(sim_core(s, l), &st);
	return st.transfer_target;
}

/* An up-to-date target takes over at once, in the next term. (Election
 * timeout well above a vote round trip through storage, so that the
 * target's candidacy cannot time out first.) */
static void transfer_up_to_date(void **state)
{
	struct sim_options o;
	t_options(&o, 3, 61);
	o.election_ticks = 20;
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	raft_index last = t_commit(s);
	t_wait_applied_all(s, last);
	raft_term t = sim_term(s, l);
	raft_id f = l % 3 + 1;
	uint64_t t0 = sim_now(s);
	assert_int_equal(sim_transfer(s, l, f), 0);
	T_CHECK(s, transfer_target(s, l) == f);
	/* TIMEOUT_NOW, a vote round and the no-op's round trip, each hop
	 * up to 3 ticks of latency plus up to 2 of storage */
	wait_leader_is(s, f, 4 * o.election_ticks);
	T_CHECK(s, sim_now(s) - t0 < 2 * o.election_ticks);
	T_CHECK(s, sim_term(s, f) == t + 1);
	T_CHECK(s, sim_msg_count(s, RAFT_MSG_TIMEOUT_NOW, l, f) == 1);
	T_CHECK(s, sim_role(s, l) == RAFT_FOLLOWER);
	t_commit(s);
	t_finish(s);
}

/* A lagging target is first brought up to date, then told to campaign.
 * (The catch-up must fit in the transfer's election timeout, hence an
 * orderly network here.) */
static void transfer_needs_catch_up(void **state)
{
	struct sim_options o;
	t_options(&o, 3, 62);
	o.election_ticks = 20;
	o.min_latency = o.max_latency = 1;
	o.max_persist_delay = 1;
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	raft_id f = l % 3 + 1;
	sim_isolate(s, f);
	t_commit_n(s, 20);
	raft_index last = sim_commit_index(s, l);
	T_CHECK(s, sim_applied(s, f) < last);
	sim_heal(s);
	assert_int_equal(sim_transfer(s, l, f), 0);
	wait_leader_is(s, f, 3 * sim_opts(s)->election_ticks);
	T_CHECK(s, sim_last_index(s, f) > last);
	raft_index idx = t_commit(s);
	t_wait_applied_all(s, idx);
	t_finish(s);
}

/* A dead target: proposals are refused during the transfer, which is
 * aborted after an election timeout; the leader stays and serves again. */
static void transfer_target_dead(void **state)
{
	struct sim *s = t_sim_n(state, 3, 63);
	raft_id l = t_leader(s);
	t_commit(s);
	raft_term t = sim_term(s, l);
	raft_id f = l % 3 + 1;
	sim_crash(s, f);
	assert_int_equal(sim_transfer(s, l, f), 0);
	T_CHECK(s, sim_propose(s, l, NULL, NULL) == RAFT_EBUSY);
	t_run(s, 3 * sim_opts(s)->election_ticks);
	T_CHECK(s, sim_leader(s) == l);
	T_CHECK(s, sim_term(s, l) == t);
	T_CHECK(s, transfer_target(s, l) == 0);
	raft_index idx;
	raft_term term;
	assert_int_equal(sim_propose(s, l, &idx, &term), 0);
	T_CHECK(s, sim_wait_commit(s, idx, term, t_bound(s)) == 0);
	assert_int_equal(sim_restart(s, f), 0);
	t_finish(s);
}

/* During a transfer the old leader refuses proposals; afterwards it is a
 * follower (ENOTLEADER) and the new leader accepts them. */
static void transfer_refuses_proposals(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 64);
	o.min_latency = 2;
	o.max_latency = 2;
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	raft_index last = t_commit(s);
	t_wait_applied_all(s, last);
	raft_id f = l % 5 + 1;
	assert_int_equal(sim_transfer(s, l, f), 0);
	T_CHECK(s, sim_propose(s, l, NULL, NULL) == RAFT_EBUSY);
	T_CHECK(s, sim_transfer(s, l, f % 5 + 1 == l ? l % 5 + 1 : f % 5 + 1) ==
	                   RAFT_EBUSY);
	wait_leader_is(s, f, 4 * o.election_ticks);
	T_CHECK(s, sim_propose(s, l, NULL, NULL) == RAFT_ENOTLEADER);
	raft_index idx;
	raft_term term;
	assert_int_equal(sim_propose(s, f, &idx, &term), 0);
	T_CHECK(s, sim_wait_commit(s, idx, term, t_bound(s)) == 0);
	/* and back */
	assert_int_equal(sim_transfer(s, f, l), 0);
	wait_leader_is(s, l, 3 * o.election_ticks);
	t_finish(s);
}

/* Errors: to itself or a non-voter (EINVAL), to an unknown server
 * (ENOTFOUND), asked of a follower (ENOTLEADER). */
static void transfer_invalid_targets(void **state)
{
	struct sim *s = t_sim_n(state, 3, 65);
	raft_id l = t_leader(s);
	raft_id nv;
	raft_index idx;
	assert_int_equal(sim_add_node(s, l, &nv, &idx), 0);
	t_wait_applied_all(s, idx);
	l = t_leader(s);
	T_CHECK(s, sim_transfer(s, l, l) == RAFT_EINVAL);
	T_CHECK(s, sim_transfer(s, l, nv) == RAFT_EINVAL);
	T_CHECK(s, sim_transfer(s, l, 12) == RAFT_ENOTFOUND);
	raft_id f = l % 3 + 1;
	T_CHECK(s, raft_transfer_leadership(sim_core(s, f), l) ==
	                   RAFT_ENOTLEADER);
	T_CHECK(s, sim_leader(s) == l);
	T_CHECK(s, transfer_target(s, l) == 0);
	t_commit(s);
	t_finish(s);
}

/* Target 0: the most up-to-date voter is chosen. */
static void transfer_pick_best(void **state)
{
	struct sim *s = t_sim_n(state, 3, 66);
	raft_id l = t_leader(s);
	raft_id behind = l % 3 + 1, best = behind % 3 + 1;
	sim_isolate(s, behind);
	t_commit_n(s, 10);
	t_wait_applied(s, best, sim_commit_index(s, l));
	sim_heal(s);
	assert_int_equal(sim_transfer(s, l, 0), 0);
	T_CHECK(s, transfer_target(s, l) == best);
	wait_leader_is(s, best, 4 * sim_opts(s)->election_ticks);
	t_commit(s);
	t_finish(s);
}

static const struct CMUnitTest tests[] = {
	T_CASE(transfer_up_to_date),
	T_CASE(transfer_needs_catch_up),
	T_CASE(transfer_target_dead),
	T_CASE(transfer_refuses_proposals),
	T_CASE(transfer_invalid_targets),
	T_CASE(transfer_pick_best),
};

T_MAIN("raft_sim_transfer", tests)

/*
 * test_replication.c -- log replication and commitment.
 *
 * In the spirit of MIT 6.824's 2B tests (basic agreement, follower and
 * leader failure, no agreement without a majority, concurrent starts,
 * rejoin of a partitioned leader, fast backup) and etcd's message batching
 * tests. Every step also runs the simulator's invariants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_test.h"

/* Some other node than `not`, in 1..n. */
static raft_id other(raft_id not, unsigned n, unsigned k)
{
	return (raft_id)((not - 1 + k) % n + 1);
}

/* 6.824 TestBasicAgree2B: each proposal gets the next index and is applied
 * by everybody. */
static void basic_agreement(void **state)
{
	struct sim *s = t_sim_n(state, 5, 21);
	raft_id l = t_leader(s);
	raft_index prev = sim_last_index(s, l);
	for (int k = 0; k < 5; k++) {
		raft_index idx;
		raft_term term;
		assert_int_equal(sim_propose(s, l, &idx, &term), 0);
		T_CHECK(s, idx == prev + 1);
		T_CHECK(s, term == sim_term(s, l));
		t_wait_applied_all(s, idx);
		T_CHECK(s, sim_proposal_state(s, idx, term) == SIM_PROP_ACKED);
		prev = idx;
	}
	T_CHECK(s, sim_leader(s) == l);
	t_finish(s);
}

/* 6.824 TestFollowerFailure2B. */
static void follower_failure(void **state)
{
	struct sim *s = t_sim_n(state, 3, 22);
	raft_id l = t_leader(s);
	t_commit(s);
	sim_crash(s, other(l, 3, 1));
	t_commit_n(s, 2); /* 2 of 3 suffice */
	T_CHECK(s, sim_leader(s) == l);
	sim_crash(s, other(l, 3, 2));
	raft_index idx = 0;
	raft_term term = 0;
	int rv = sim_propose(s, l, &idx, &term);
	T_CHECK(s, rv == 0 || rv == RAFT_ENOTLEADER);
	raft_index commit = sim_commit_index(s, l);
	t_run(s, 5 * sim_opts(s)->election_ticks);
	if (rv == 0)
		T_CHECK(s, sim_commit_state(s, idx, term) == 2);
	T_CHECK(s, sim_commit_index(s, l) == commit);
	T_CHECK(s, sim_global_applied(s) == commit);
	t_finish(s);
}

/* 6.824 TestLeaderFailure2B. */
static void leader_failure(void **state)
{
	struct sim *s = t_sim_n(state, 3, 23);
	raft_id l1 = t_leader(s);
	t_commit(s);
	sim_crash(s, l1);
	raft_id l2 = t_leader(s);
	T_CHECK(s, l2 != l1);
	t_commit(s);
	sim_crash(s, l2);
	raft_id last = 6 - l1 - l2;
	raft_index applied = sim_global_applied(s);
	T_CHECK(s, sim_propose(s, last, NULL, NULL) == RAFT_ENOTLEADER);
	t_run(s, 10 * sim_opts(s)->election_ticks);
	T_CHECK(s, sim_leader(s) == 0);
	T_CHECK(s, sim_global_applied(s) == applied);
	t_finish(s);
}

/* 6.824 TestFailNoAgree2B: with 3 of 5 gone nothing commits; once they
 * are back, the cluster goes on. */
static void no_commit_without_majority(void **state)
{
	struct sim *s = t_sim_n(state, 5, 24);
	raft_id l = t_leader(s);
	t_commit(s);
	for (unsigned k = 1; k <= 3; k++)
		sim_crash(s, other(l, 5, k));
	raft_index idx;
	raft_term term;
	assert_int_equal(sim_propose(s, l, &idx, &term), 0);
	raft_index commit = sim_commit_index(s, l);
	t_run(s, 5 * sim_opts(s)->election_ticks);
	T_CHECK(s, sim_commit_state(s, idx, term) == 2);
	T_CHECK(s, sim_global_applied(s) == commit);
	for (unsigned k = 1; k <= 3; k++)
		assert_int_equal(sim_restart(s, other(l, 5, k)), 0);
	raft_index next = t_commit(s);
	T_CHECK(s, next > idx - 1);
	t_finish(s);
}

/* 6.824 TestConcurrentStarts2B: proposals in the same instant get
 * distinct consecutive indexes of one term and all commit. */
static void concurrent_proposals(void **state)
{
	struct sim *s = t_sim_n(state, 3, 25);
	raft_id l = t_leader(s);
	raft_index first = 0, idx = 0;
	raft_term term0 = 0, term = 0;
	for (int k = 0; k < 5; k++) {
		assert_int_equal(sim_propose(s, l, &idx, &term), 0);
		if (k == 0) {
			first = idx;
			term0 = term;
		}
		T_CHECK(s, idx == first + (raft_index)k);
		T_CHECK(s, term == term0);
	}
	t_wait_applied_all(s, idx);
	for (raft_index i = first; i <= idx; i++)
		T_CHECK(s, sim_proposal_state(s, i, term0) == SIM_PROP_ACKED);
	t_finish(s);
}

/* 6.824 TestRejoin2B: a partitioned leader's uncommitted entries are
 * discarded when it rejoins, and reported lost to its clients. */
static void rejoin_partitioned_leader(void **state)
{
	struct sim *s = t_sim_n(state, 3, 26);
	raft_id l1 = t_leader(s);
	t_commit(s);
	sim_isolate(s, l1);
	raft_index idx[3];
	raft_term term[3];
	for (int k = 0; k < 3; k++)
		assert_int_equal(sim_propose(s, l1, &idx[k], &term[k]), 0);
	raft_id l2 = t_leader_not(s, &l1, 1);
	T_CHECK(s, l2 != l1);
	t_commit(s);

	/* the new leader is cut off, the old one comes back */
	sim_heal(s);
	sim_isolate(s, l2);
	raft_id l3 = t_leader_not(s, &l2, 1);
	T_CHECK(s, l3 != l2);
	t_commit(s);
	sim_heal(s);
	raft_index last = t_commit(s);
	t_wait_applied_all(s, last);
	for (int k = 0; k < 3; k++) {
		T_CHECK(s, sim_commit_state(s, idx[k], term[k]) == 1);
		T_CHECK(s, sim_proposal_state(s, idx[k], term[k]) ==
		                   SIM_PROP_LOST);
	}
	for (raft_index i = sim_snapshot_index(s, 1) + 1; i <= last; i++)
		for (raft_id id = 2; id <= 3; id++)
			T_CHECK(s, sim_log_term(s, id, i) ==
			                   sim_log_term(s, 1, i));
	t_finish(s);
}

/* Proposes n entries on l at once; returns the last index. */
static raft_index propose_n(struct sim *s, raft_id l, unsigned n)
{
	raft_index idx = 0;
	for (unsigned k = 0; k < n; k++)
		assert_int_equal(sim_propose(s, l, &idx, NULL), 0);
	return idx;
}

static uint64_t rejects_from(struct sim *s, raft_id id)
{
	return sim_msg_count(s, SIM_MSG_APPEND_REJECT, id, 0);
}

/* Distinct prev_index values rejected by each node: the number of backup
 * steps the leader needed (heartbeats repeat a step, pipelining may
 * overshoot; neither is a step back). */
struct backup_steps {
	bool on;
	raft_index seen[SIM_MAX_NODES + 1][64];
	unsigned n[SIM_MAX_NODES + 1];
};

static bool count_backup_steps(void *ctx, const struct raft_message *m)
{
	struct backup_steps *b = ctx;
	if (!b->on || m->type != RAFT_MSG_APPEND_RESP ||
	    m->append_resp.success || m->from > SIM_MAX_NODES)
		return false;
	unsigned *n = &b->n[m->from];
	for (unsigned k = 0; k < *n; k++)
		if (b->seen[m->from][k] == m->append_resp.index)
			return false;
	if (*n < 64)
		b->seen[m->from][(*n)++] = m->append_resp.index;
	return false;
}

/* 6.824 TestBackup2B: followers with 50+ divergent entries are brought
 * back in a few round trips thanks to the conflict hints (Section 5.3),
 * not one rejected APPEND per entry. */
static void fast_backup(void **state)
{
	/* In-order delivery (fixed latency), as in 6.824: reordered
	 * pipelined APPENDs would add rejections that are not backup steps. */
	struct sim_options o;
	t_options(&o, 5, 27);
	o.min_latency = o.max_latency = 1;
	struct sim *s = t_sim(state, &o);
	static struct backup_steps steps;
	memset(&steps, 0, sizeof(steps));
	sim_set_filter(s, count_backup_steps, &steps);
	raft_id l = t_leader(s);
	t_commit(s);
	raft_id f1 = other(l, 5, 1);
	raft_id o1 = other(l, 5, 2), o2 = other(l, 5, 3), o3 = other(l, 5, 4);

	/* l and f1 get 50 entries that never commit */
	raft_id ab[2] = {l, f1};
	sim_partition(s, ab, 2);
	propose_n(s, l, 50);
	t_run(s, 8);

	/* the other three commit 50 */
	raft_id l2 = t_leader_not(s, ab, 2);
	T_CHECK(s, l2 == o1 || l2 == o2 || l2 == o3);
	raft_index last = propose_n(s, l2, 50);
	raft_term t2 = sim_term(s, l2);
	T_CHECK(s, sim_wait_commit(s, last, t2, t_bound(s)) == 0);

	/* l2 and one more get 50 that never commit */
	raft_id ox = l2 == o1 ? o2 : o1;
	raft_id oy = (o1 != l2 && o1 != ox) ? o1 : (o2 != l2 && o2 != ox) ? o2
	                                                                  : o3;
	sim_heal(s);
	raft_id grp[2] = {l2, ox};
	sim_partition(s, grp, 2);
	uint64_t rl = rejects_from(s, l), rf = rejects_from(s, f1);
	uint64_t al = sim_msg_count(s, RAFT_MSG_APPEND, oy, l);
	steps.on = true;
	propose_n(s, l2, 50);
	t_run(s, 8);

	/* l, f1 and oy: only oy has the committed entries, so it leads */
	raft_id l3 = t_leader_not(s, grp, 2);
	T_CHECK(s, l3 == oy);
	raft_index last3 = propose_n(s, l3, 50);
	t_wait_applied(s, l, last3);
	t_wait_applied(s, f1, last3);
	uint64_t rej_l = rejects_from(s, l) - rl;
	uint64_t rej_f = rejects_from(s, f1) - rf;
	uint64_t app_l = sim_msg_count(s, RAFT_MSG_APPEND, l3, l) - al;
	steps.on = false;
	fprintf(stderr, "fast backup: %llu and %llu rejections in %u and %u "
	        "steps, %llu APPENDs\n", (unsigned long long)rej_l,
	        (unsigned long long)rej_f, steps.n[l], steps.n[f1],
	        (unsigned long long)app_l);
	/* 50 divergent entries of one term, then 50 missing ones: a few
	 * backup steps (not one per entry), and the entries in batches of
	 * max_entries_per_msg: about 100 / 8 APPENDs plus heartbeats. */
	T_CHECK(s, steps.n[l] <= 4);
	T_CHECK(s, steps.n[f1] <= 4);
	T_CHECK(s, rej_l + rej_f <= 40);
	T_CHECK(s, app_l <= 120);

	/* everyone together: the minority entries of l2 and ox are lost */
	sim_heal(s);
	memset(&steps, 0, sizeof(steps));
	steps.on = true;
	raft_index fin = t_commit(s);
	t_wait_applied_all(s, fin);
	T_CHECK(s, steps.n[ox] <= 4);
	T_CHECK(s, steps.n[l2] <= 4);
	t_finish(s);
}

/* Agreement through a lossy, duplicating, reordering network. */
static void unreliable_agreement(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 28);
	o.drop_permille = 100;
	o.dup_permille = 50;
	o.max_latency = 5;
	struct sim *s = t_sim(state, &o);
	t_leader(s);
	for (int k = 0; k < 60; k++) {
		raft_id l = sim_leader(s);
		if (l)
			sim_propose(s, l, NULL, NULL);
		t_run(s, (unsigned)sim_rand_range(s, 0, 3));
	}
	t_commit_n(s, 5);
	t_finish(s); /* heals, converges, checks every acknowledged write */
	fprintf(stderr, "unreliable agreement: %u acknowledged\n",
	        sim_acked_count(s));
	T_CHECK(s, sim_acked_count(s) >= 40);
}

/* raft_propose's contract: errors, and the lost outcome. */
static void propose_contract(void **state)
{
	struct sim *s = t_sim_n(state, 3, 29);
	raft_id l = t_leader(s);
	raft_id f = other(l, 3, 1);
	T_CHECK(s, sim_propose(s, f, NULL, NULL) == RAFT_ENOTLEADER);
	size_t big = sim_opts(s)->max_bytes_per_msg + 1;
	char *data = calloc(1, big);
	assert_non_null(data);
	int rv = sim_propose_data(s, l, data, big, NULL, NULL);
	free(data);
	T_CHECK(s, rv == RAFT_ETOOBIG);

	/* An isolated leader's proposal is reported lost once it learns
	 * that another entry was committed at its index. */
	sim_isolate(s, l);
	raft_index idx;
	raft_term term;
	assert_int_equal(sim_propose(s, l, &idx, &term), 0);
	raft_id l2 = t_leader_not(s, &l, 1);
	T_CHECK(s, l2 != l);
	t_commit_n(s, 3);
	T_CHECK(s, sim_proposal_state(s, idx, term) == SIM_PROP_PENDING);
	sim_heal(s);
	t_wait_applied(s, l, idx);
	T_CHECK(s, sim_proposal_state(s, idx, term) == SIM_PROP_LOST);
	T_CHECK(s, sim_commit_state(s, idx, term) == 1);
	t_finish(s);
}

struct batch_check {
	size_t max_bytes;
	unsigned max_entries;
	unsigned violations;
	unsigned multi; /* APPENDs carrying more than one entry */
	unsigned big;   /* APPENDs carrying one over-size entry */
};

static bool check_batches(void *ctx, const struct raft_message *m)
{
	struct batch_check *b = ctx;
	if (m->type != RAFT_MSG_APPEND)
		return false;
	size_t bytes = 0;
	for (size_t k = 0; k < m->append.n_entries; k++)
		bytes += m->append.entries[k].len;
	if (m->append.n_entries > b->max_entries ||
	    (m->append.n_entries > 1 && bytes > b->max_bytes))
		b->violations++;
	if (m->append.n_entries > 1)
		b->multi++;
	if (m->append.n_entries == 1 && bytes > b->max_bytes / 2)
		b->big++;
	return false;
}

/* Batching bounds: max_entries_per_msg and max_bytes_per_msg hold for
 * every APPEND; large entries travel one per message; all commit. */
static void large_entries_batching(void **state)
{
	struct sim_options o;
	t_options(&o, 3, 30);
	o.max_entries_per_msg = 4;
	o.max_bytes_per_msg = 4096;
	struct sim *s = t_sim(state, &o);
	struct batch_check b = {o.max_bytes_per_msg, o.max_entries_per_msg, 0,
	                        0, 0};
	sim_set_filter(s, check_batches, &b);
	raft_id l = t_leader(s);
	raft_id f = other(l, 3, 1);
	sim_crash(s, f); /* so it needs a backlog sent in batches */
	char data[3000];
	raft_index idx = 0;
	for (int k = 0; k < 10; k++) {
		memset(data, 'a' + k, sizeof(data));
		assert_int_equal(sim_propose_data(s, l, data, sizeof(data),
		                                  &idx, NULL), 0);
	}
	for (int k = 0; k < 30; k++)
		assert_int_equal(sim_propose(s, l, &idx, NULL), 0);
	t_wait_applied(s, l, idx);
	assert_int_equal(sim_restart(s, f), 0);
	t_wait_applied_all(s, idx);
	T_CHECK(s, b.violations == 0);
	T_CHECK(s, b.multi > 0);
	T_CHECK(s, b.big >= 10);
	t_finish(s);
}

static const struct CMUnitTest tests[] = {
	T_CASE(basic_agreement),
	T_CASE(follower_failure),
	T_CASE(leader_failure),
	T_CASE(no_commit_without_majority),
	T_CASE(concurrent_proposals),
	T_CASE(rejoin_partitioned_leader),
	T_CASE(fast_backup),
	T_CASE(unreliable_agreement),
	T_CASE(propose_contract),
	T_CASE(large_entries_batching),
};

T_MAIN("raft_sim_replication", tests)

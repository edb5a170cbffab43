/*
 * test_persistence.c -- crashes, restarts, and the Figure 8 hazard.
 *
 * In the spirit of MIT 6.824's 2C tests (persist 1/2, Figure 8 reliable
 * and unreliable, reliable / unreliable churn) plus two cases aimed at the
 * asynchronous persist step: a crash while a batch is still being persisted
 * must lose exactly that batch, and the cluster must stay safe however
 * often that happens. Figure 8 is also built deterministically, step by
 * step, with a network filter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_test.h"

/* 6.824 TestPersist12C: full and partial restarts keep every committed
 * entry and the cluster goes on. */
static void full_restart(void **state)
{
	struct sim *s = t_sim_n(state, 3, 31);
	t_leader(s);
	raft_index a = t_commit(s);
	for (raft_id id = 1; id <= 3; id++)
		sim_crash(s, id);
	for (raft_id id = 1; id <= 3; id++)
		assert_int_equal(sim_restart(s, id), 0);
	for (raft_id id = 1; id <= 3; id++)
		T_CHECK(s, sim_applied(s, id) <= a);
	raft_index b = t_commit(s);
	T_CHECK(s, b > a);

	raft_id l = t_leader(s);
	sim_crash(s, l);
	assert_int_equal(sim_restart(s, l), 0);
	t_commit(s);

	raft_id l2 = t_leader(s);
	sim_crash(s, l2);
	t_commit(s);
	assert_int_equal(sim_restart(s, l2), 0);
	t_commit(s);

	raft_id f = l2 % 3 + 1;
	sim_crash(s, f);
	t_commit(s);
	assert_int_equal(sim_restart(s, f), 0);
	raft_index c = t_commit(s);
	t_wait_applied_all(s, c);
	t_finish(s);
}

/* 6.824 TestPersist22C: repeatedly crash a leader and a follower, commit
 * with the other three, crash those, bring the first two back. */
static void partial_restarts(void **state)
{
	struct sim *s = t_sim_n(state, 5, 32);
	t_leader(s);
	for (int iter = 0; iter < 5; iter++) {
		t_commit(s);
		raft_id l = t_leader(s);
		raft_id f = l % 5 + 1;
		sim_crash(s, l);
		sim_crash(s, f);
		t_commit(s);
		raft_id a = f % 5 + 1, b = a % 5 + 1, c = b % 5 + 1;
		sim_crash(s, a);
		sim_crash(s, b);
		sim_crash(s, c);
		assert_int_equal(sim_restart(s, l), 0);
		assert_int_equal(sim_restart(s, f), 0);
		t_run(s, 5);
		assert_int_equal(sim_restart(s, a), 0);
		t_commit(s);
		assert_int_equal(sim_restart(s, b), 0);
		assert_int_equal(sim_restart(s, c), 0);
	}
	t_finish(s);
}

/* A crash while a batch is still being persisted loses that batch: an
 * entry that no node made durable cannot survive, and nobody applies it. */
static void crash_loses_unpersisted(void **state)
{
	struct sim_options o;
	t_options(&o, 3, 33);
	o.max_persist_delay = 0;
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	t_commit(s);

	sim_set_persist_delay(s, 20, 20); /* nothing below becomes durable */
	const char x[] = "never-durable";
	raft_index idx;
	raft_term term;
	assert_int_equal(sim_propose_data(s, l, x, sizeof(x), &idx, &term), 0);
	t_run(s, 8); /* replicated in memory, durable nowhere */
	T_CHECK(s, sim_log_term(s, l, idx) == term);
	for (raft_id id = 1; id <= 3; id++)
		T_CHECK(s, !sim_durable_has_payload(s, id, x, sizeof(x)));
	for (raft_id id = 1; id <= 3; id++)
		sim_crash(s, id);
	T_CHECK(s, sim_crashes_lost_batch(s, false) >= 1); /* the leader's */
	sim_set_persist_delay(s, 0, 2);
	for (raft_id id = 1; id <= 3; id++)
		assert_int_equal(sim_restart(s, id), 0);
	raft_index fin = t_commit(s);
	t_wait_applied_all(s, fin);
	T_CHECK(s, sim_commit_state(s, idx, term) == 1);
	T_CHECK(s, sim_proposal_state(s, idx, term) == SIM_PROP_UNKNOWN);
	for (raft_id id = 1; id <= 3; id++)
		T_CHECK(s, !sim_durable_has_payload(s, id, x, sizeof(x)));
	t_finish(s);
}

/* Elections with slow storage, crashing nodes exactly while they persist
 * a new term or vote: the batch is lost with the in-memory core. Votes,
 * candidacies and acknowledgements must not have left before (the
 * simulator checks every message against the durable store), Election
 * Safety and commit durability must hold, and the cluster goes on. */
static void crash_during_persist(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 34);
	o.min_persist_delay = 1;
	o.max_persist_delay = 5;
	o.election_ticks = 20; /* > a round trip through slow storage */
	struct sim *s = t_sim(state, &o);
	uint64_t restart_at[6] = {0};
	for (int round = 0; round < 40; round++) {
		raft_index c = t_commit(s);
		raft_id l = t_leader(s);
		t_wait_applied(s, l, c);
		for (int k = 0; k < 3; k++)
			sim_propose(s, l, NULL, NULL);
		t_run(s, 2);
		sim_crash(s, l);
		restart_at[l] = sim_now(s) + 5;
		for (unsigned tick = 0; tick < 4 * o.election_ticks; tick++) {
			for (raft_id id = 1; id <= 5; id++) {
				bool hs;
				unsigned up = 0;
				for (raft_id j = 1; j <= 5; j++)
					up += sim_is_up(s, j);
				if (up > 3 && sim_persisting(s, id, &hs) && hs &&
				    sim_chance(s, 500)) {
					sim_crash(s, id);
					restart_at[id] = sim_now(s) +
					        sim_rand_range(s, 1, 5);
				}
				if (!sim_is_up(s, id) && restart_at[id] != 0 &&
				    restart_at[id] <= sim_now(s)) {
					restart_at[id] = 0;
					assert_int_equal(sim_restart(s, id), 0);
				}
			}
			t_run(s, 1);
		}
	}
	fprintf(stderr, "crashes lost %u batches, %u with a hard state; "
	        "%u leaders\n", sim_crashes_lost_batch(s, false),
	        sim_crashes_lost_batch(s, true), sim_leaders_elected(s));
	T_CHECK(s, sim_crashes_lost_batch(s, true) >= 20);
	T_CHECK(s, sim_leaders_elected(s) >= 40);
	t_finish(s);
	T_CHECK(s, sim_acked_count(s) >= 40);
}

/* Section 10.2.1: the leader writes its log in parallel with replication
 * and counts itself only once its own write is durable. With slow storage
 * on the leader: in 5 nodes three fast followers commit without it; in 3
 * nodes with one follower down, the leader's own write is needed, so the
 * commit waits for it (the simulator checks every commit against the
 * durable stores of a majority). */
static void leader_counts_only_durable(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 40);
	o.min_latency = o.max_latency = 1;
	o.max_persist_delay = 0;
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	t_commit(s);
	sim_set_node_persist_delay(s, l, 12, 12);
	raft_index idx;
	raft_term term;
	assert_int_equal(sim_propose(s, l, &idx, &term), 0);
	t_run(s, 6);
	/* followers durable and acknowledged, the leader not yet */
	T_CHECK(s, sim_durable_log_term(s, l, idx) == 0);
	T_CHECK(s, sim_commit_index(s, l) >= idx);

	t_run(s, 15);
	sim_clear_node_persist_delay(s, l);
	l = t_leader(s);
	raft_id down[2];
	unsigned nd = 0;
	for (raft_id id = 1; id <= 5 && nd < 2; id++)
		if (id != l)
			down[nd++] = id;
	for (unsigned k = 0; k < 2; k++)
		sim_crash(s, down[k]); /* 3 of 5 up: the leader is needed */
	t_commit(s);
	l = t_leader(s);
	sim_set_node_persist_delay(s, l, 12, 12);
	assert_int_equal(sim_propose(s, l, &idx, &term), 0);
	t_run(s, 6);
	T_CHECK(s, sim_durable_log_term(s, l, idx) == 0);
	T_CHECK(s, sim_commit_index(s, l) < idx);
	T_CHECK(s, sim_wait_commit(s, idx, term, t_bound(s)) == 0);
	T_CHECK(s, sim_durable_log_term(s, l, idx) == term);
	sim_clear_node_persist_delay(s, l);
	for (unsigned k = 0; k < 2; k++)
		assert_int_equal(sim_restart(s, down[k]), 0);
	t_finish(s);
}

/* A disk slower than the election timeout on every node (a busy shared
 * PostgreSQL, fsync under load) must not cost the leader its leadership:
 * heartbeats go out while the leader's own batch is still being written,
 * and a follower answers them at once with what it already holds durably,
 * so neither the followers' election timers nor the leader's check-quorum
 * fire. Proposals keep committing meanwhile, and a ReadIndex, confirmed by
 * those answers, completes. */
static void slow_disk_keeps_leader(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 41);
	o.min_latency = 1;
	o.max_latency = 2;
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	raft_term term = sim_term(s, l);
	raft_index before = t_commit(s);
	unsigned slow = o.election_ticks * 3 / 2;
	sim_set_persist_delay(s, slow, slow + 5);
	uint64_t ctx = 0;
	for (unsigned t = 0; t < 10 * o.election_ticks; t++) {
		if (sim_role(s, l) != RAFT_LEADER)
			t_fail(s, "leader %llu stepped down under slow "
			       "storage (check-quorum)",
			       (unsigned long long)l);
		if (t % 5 == 0) {
			raft_index idx;
			raft_term pt;
			assert_int_equal(sim_propose(s, l, &idx, &pt), 0);
		}
		if (t == 3 * o.election_ticks)
			assert_int_equal(sim_read_index(s, l, &ctx), 0);
		t_run(s, 1);
		for (raft_id id = 1; id <= 5; id++)
			if (sim_term(s, id) != term)
				t_fail(s, "node %llu is in term %llu: an "
				       "election under slow storage (leader "
				       "%llu, term %llu)",
				       (unsigned long long)id,
				       (unsigned long long)sim_term(s, id),
				       (unsigned long long)l,
				       (unsigned long long)term);
	}
	T_CHECK(s, sim_leader(s) == l);
	T_CHECK(s, sim_commit_index(s, l) > before + 10);
	raft_index ri;
	int rv = -1;
	T_CHECK(s, sim_read_result(s, ctx, &ri, &rv) && rv == 0);
	sim_set_persist_delay(s, 0, 2);
	t_finish(s);
}

/* ---------------------------------------------------- Figure 8, by hand */

struct f8 {
	int phase;          /* 1: drop every APPEND; 2: drop APPENDs past ix */
	raft_index ix;
};

static bool f8_filter(void *ctx, const struct raft_message *m)
{
	const struct f8 *f = ctx;
	if (m->type != RAFT_MSG_APPEND)
		return false;
	if (f->phase == 1)
		return true;
	if (f->phase == 2)
		for (size_t k = 0; k < m->append.n_entries; k++)
			if (m->append.entries[k].index > f->ix)
				return true;
	return false;
}

struct leader_above {
	raft_term term;
};

static bool pred_leader_above(struct sim *s, void *ctx)
{
	const struct leader_above *w = ctx;
	raft_id l = sim_leader(s);
	return l != 0 && sim_term(s, l) > w->term;
}

static raft_id wait_leader_above(struct sim *s, raft_term term)
{
	struct leader_above w = {term};
	if (sim_run_until(s, pred_leader_above, &w, t_bound(s)) != 0)
		t_fail(s, "no leader above term %llu",
		       (unsigned long long)term);
	return sim_leader(s);
}

struct has_entry {
	raft_id a, b;
	raft_index index;
	raft_term term;
};

static bool pred_has_entry(struct sim *s, void *ctx)
{
	const struct has_entry *w = ctx;
	return sim_durable_log_term(s, w->a, w->index) == w->term &&
	       (w->b == 0 || sim_durable_log_term(s, w->b, w->index) == w->term);
}

static void wait_durable(struct sim *s, raft_id a, raft_id b, raft_index i,
                         raft_term t)
{
	struct has_entry w = {a, b, i, t};
	if (sim_run_until(s, pred_has_entry, &w, t_bound(s)) != 0)
		t_fail(s, "entry %llu/%llu not durable on %llu and %llu",
		       (unsigned long long)i, (unsigned long long)t,
		       (unsigned long long)a, (unsigned long long)b);
}

/* Figure 8 of the Raft paper, built step by step on 5 nodes (one entry
 * per APPEND so that an old-term entry can reach a majority without the
 * new leader's no-op):
 *   (a) leader S1 (term t1) replicates X at ix to S2 only;
 *   (b) S1 crashes; S5 is elected (t2) by S3, S4 and appends its no-op at
 *       ix, which reaches nobody; S5 crashes;
 *   (c) S1 restarts and is elected (t3); X reaches S3 and S4, so X is on a
 *       majority, but S1's t3 no-op does not. S1 must NOT commit X
 *       (Section 5.4.2: only entries of the current term commit by
 *       counting replicas);
 *   (d) S1 crashes; S5 is elected again (t4) and overwrites X with its t2
 *       entry, which commits. Had X been committed in (c), State Machine
 *       Safety would now be violated. */
static void figure8_scenario(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 35);
	o.max_entries_per_msg = 1;
	struct sim *s = t_sim(state, &o);
	struct f8 f = {0, 0};
	sim_set_filter(s, f8_filter, &f);

	/* (a) */
	raft_id s1 = t_leader(s);
	raft_term t1 = sim_term(s, s1);
	t_wait_applied_all(s, sim_commit_index(s, s1));
	raft_id s2 = s1 % 5 + 1;
	raft_id rest[3];
	for (unsigned k = 0; k < 3; k++)
		rest[k] = (s1 + 1 + k) % 5 + 1;
	for (unsigned k = 0; k < 3; k++) {
		sim_cut(s, s1, rest[k]);
		sim_cut(s, rest[k], s1);
	}
	const char x[] = "figure-8-X";
	raft_index ix;
	raft_term xt;
	assert_int_equal(sim_propose_data(s, s1, x, sizeof(x), &ix, &xt), 0);
	T_CHECK(s, xt == t1);
	wait_durable(s, s1, s2, ix, t1);
	sim_note(s, "figure 8 (a) done: X at %llu/%llu on %llu and %llu",
	         (unsigned long long)ix, (unsigned long long)t1,
	         (unsigned long long)s1, (unsigned long long)s2);

	/* (b) */
	sim_crash(s, s1);
	sim_heal(s);
	sim_isolate(s, s2);
	f.phase = 1;
	raft_id s5 = wait_leader_above(s, t1);
	raft_term t2 = sim_term(s, s5);
	T_CHECK(s, s5 == rest[0] || s5 == rest[1] || s5 == rest[2]);
	wait_durable(s, s5, 0, ix, t2);
	sim_crash(s, s5);
	sim_note(s, "figure 8 (b) done: %llu/%llu only on %llu",
	         (unsigned long long)ix, (unsigned long long)t2,
	         (unsigned long long)s5);
	raft_id s3 = 0, s4 = 0;
	for (unsigned k = 0; k < 3; k++) {
		if (rest[k] == s5)
			continue;
		if (s3 == 0)
			s3 = rest[k];
		else
			s4 = rest[k];
	}

	/* (c) */
	f.phase = 2;
	f.ix = ix;
	sim_heal(s);
	assert_int_equal(sim_restart(s, s1), 0);
	raft_id l3 = wait_leader_above(s, t2);
	T_CHECK(s, l3 == s1 || l3 == s2);
	wait_durable(s, s3, s4, ix, t1);
	t_run(s, 3 * o.election_ticks);
	T_CHECK(s, sim_leader(s) == l3);
	T_CHECK(s, sim_commit_index(s, l3) < ix);
	T_CHECK(s, sim_commit_state(s, ix, t1) == 2);
	sim_note(s, "figure 8 (c) done: X on 4 of 5, not committed");

	/* (d) */
	raft_id r = l3 == s1 ? s2 : s1;
	sim_crash(s, l3);
	sim_isolate(s, r);
	f.phase = 0;
	assert_int_equal(sim_restart(s, s5), 0);
	raft_id l4 = t_leader(s);
	T_CHECK(s, l4 == s5);
	t_wait_applied(s, l4, ix + 1);
	T_CHECK(s, sim_global_term_at(s, ix) == t2);
	T_CHECK(s, sim_commit_state(s, ix, t1) == 1);
	t_commit(s);
	t_finish(s);
}

/* ------------------------------------------------ Figure 8, randomized */

static raft_id count_up(struct sim *s, unsigned n)
{
	raft_id k = 0;
	for (raft_id id = 1; id <= n; id++)
		k += sim_is_up(s, id);
	return k;
}

/* 6.824 TestFigure82C: propose on whoever leads, crash the leader after a
 * short or long while, keep at least three nodes up. */
static void figure8_reliable(void **state)
{
	struct sim *s = t_sim_n(state, 5, 36);
	t_commit(s);
	for (int iter = 0; iter < 300; iter++) {
		raft_id leader = 0;
		for (raft_id id = 1; id <= 5; id++)
			if (sim_role(s, id) == RAFT_LEADER &&
			    sim_propose(s, id, NULL, NULL) == 0)
				leader = id;
		if (sim_chance(s, 100))
			t_run(s, (unsigned)sim_rand_range(
				s, 0, 5 * sim_opts(s)->election_ticks));
		else
			t_run(s, (unsigned)sim_rand_range(s, 1, 3));
		if (leader != 0)
			sim_crash(s, leader);
		if (count_up(s, 5) < 3) {
			raft_id id = (raft_id)sim_rand_range(s, 1, 5);
			if (!sim_is_up(s, id))
				assert_int_equal(sim_restart(s, id), 0);
		}
	}
	T_CHECK(s, sim_leaders_elected(s) >= 8); /* leaders really churned */
	t_finish(s);
}

/* 6.824 TestFigure8Unreliable2C: the same with a lossy, duplicating,
 * heavily reordering network, and disconnections instead of crashes. */
static void figure8_unreliable(void **state)
{
	struct sim_options o;
	t_options(&o, 5, 37);
	o.drop_permille = 100;
	o.dup_permille = 50;
	struct sim *s = t_sim(state, &o);
	t_commit(s);
	sim_set_latency(s, 1, 12); /* long reordering */
	bool cut[6] = {false};
	unsigned ncut = 0;
	for (int iter = 0; iter < 400; iter++) {
		if (iter == 200)
			sim_set_latency(s, 1, 4);
		raft_id l = sim_leader(s);
		if (l)
			sim_propose(s, l, NULL, NULL);
		if (sim_chance(s, 100))
			t_run(s, (unsigned)sim_rand_range(
				s, 0, 4 * o.election_ticks));
		else
			t_run(s, (unsigned)sim_rand_range(s, 1, 3));
		if (l && !cut[l] && sim_chance(s, 500)) {
			sim_isolate(s, l);
			cut[l] = true;
			ncut++;
		}
		if (ncut > 2) {
			raft_id id = (raft_id)sim_rand_range(s, 1, 5);
			if (cut[id]) {
				for (raft_id j = 1; j <= 5; j++) {
					sim_uncut(s, id, j);
					sim_uncut(s, j, id);
				}
				/* keep other isolated nodes isolated */
				for (raft_id j = 1; j <= 5; j++)
					if (cut[j] && j != id)
						sim_isolate(s, j);
				cut[id] = false;
				ncut--;
			}
		}
	}
	T_CHECK(s, sim_leaders_elected(s) >= 4);
	t_finish(s);
}

/* 6.824 TestReliableChurn2C / TestUnreliableChurn2C: crashes, restarts
 * and partitions under a steady stream of proposals; every acknowledged
 * write is present at the end. */
static void churn(void **state, uint64_t seed, bool unreliable)
{
	struct sim_options o;
	t_options(&o, 5, seed);
	struct sim *s = t_sim(state, &o);
	struct sim_chaos c;
	sim_chaos_default(&c);
	c.loss = unreliable;
	c.pauses = unreliable;
	c.membership = c.transfers = false;
	c.crash_permille = 15;
	c.partition_permille = 10;
	c.propose_permille = 500;
	if (sim_chaos_run(s, &c, 3000) != 0)
		fail_msg("%s", sim_error(s));
	t_finish(s);
	T_CHECK(s, sim_acked_count(s) >= 100);
	T_CHECK(s, sim_leaders_elected(s) >= 5);
}

static void churn_reliable(void **state)
{
	churn(state, 38, false);
}

static void churn_unreliable(void **state)
{
	churn(state, 39, true);
}

static const struct CMUnitTest tests[] = {
	T_CASE(full_restart),
	T_CASE(partial_restarts),
	T_CASE(crash_loses_unpersisted),
	T_CASE(crash_during_persist),
	T_CASE(leader_counts_only_durable),
	T_CASE(slow_disk_keeps_leader),
	T_CASE(figure8_scenario),
	T_CASE(figure8_reliable),
	T_CASE(figure8_unreliable),
	T_CASE(churn_reliable),
	T_CASE(churn_unreliable),
};

T_MAIN("raft_sim_persistence", tests)

/*
 * test_snapshot.c -- snapshots, log compaction and InstallSnapshot.
 *
 * In the spirit of MIT 6.824's 2D tests (snapshot basic, install snapshot
 * reliable / unreliable / with crashes) and canonical/raft's snapshot
 * integration tests. The simulator snapshots a node whenever it has
 * applied snapshot_threshold entries past its last snapshot; chunks are
 * 64 bytes, so every install takes several SNAPSHOT messages.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_test.h"

static void snap_options(struct sim_options *o, unsigned n, uint64_t seed)
{
	t_options(o, n, seed);
	o->snapshot_threshold = 10;
	o->snapshot_trailing = 3;
}

/* Runs until `id` has installed a snapshot and applied >= index. */
static void wait_caught_up(struct sim *s, raft_id id, raft_index index)
{
	t_wait_applied(s, id, index);
	T_CHECK(s, sim_snapshot_index(s, id) > 0);
}

/* 6.824 TestSnapshotInstall2D: a follower that was down while the leader
 * compacted its log is brought back with InstallSnapshot, then the log. */
static void install_lagging_follower(void **state)
{
	struct sim_options o;
	snap_options(&o, 3, 41);
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	raft_id f = l % 3 + 1;
	t_commit_n(s, 3);
	sim_crash(s, f);
	t_commit_n(s, 40);
	T_CHECK(s, sim_snapshot_index(s, l) > sim_applied(s, f) + 3);
	unsigned installs = sim_snapshots_installed(s);
	assert_int_equal(sim_restart(s, f), 0);
	raft_index last = t_commit(s);
	wait_caught_up(s, f, last);
	T_CHECK(s, sim_snapshots_installed(s) > installs);
	T_CHECK(s, sim_msg_count(s, RAFT_MSG_SNAPSHOT, 0, f) >= 2);
	T_CHECK(s, sim_msg_count(s, RAFT_MSG_SNAPSHOT_RESP, f, 0) >= 2);
	/* and it keeps up through the log afterwards */
	raft_index more = t_commit(s);
	t_wait_applied(s, f, more);
	t_finish(s);
}

/* The same over a lossy, duplicating, reordering network, several times,
 * with the follower cut off (not crashed) while it falls behind. */
static void install_unreliable(void **state)
{
	struct sim_options o;
	snap_options(&o, 5, 42);
	o.drop_permille = 100;
	o.dup_permille = 100;
	o.max_latency = 5;
	struct sim *s = t_sim(state, &o);
	t_leader(s);
	for (int round = 0; round < 4; round++) {
		raft_id l = t_leader(s);
		raft_id f = (l + (raft_id)round) % 5 + 1;
		if (f == l)
			f = l % 5 + 1;
		sim_isolate(s, f);
		t_commit_n(s, 30);
		sim_heal(s);
		raft_index last = t_commit(s);
		t_wait_applied(s, f, last);
	}
	T_CHECK(s, sim_snapshots_installed(s) >= 3);
	t_finish(s);
}

/* Installs interrupted by crashes of the receiver and of the leader,
 * with slow storage so that crashes land inside chunk persistence. */
static void install_with_crashes(void **state)
{
	struct sim_options o;
	snap_options(&o, 5, 43);
	o.max_persist_delay = 4;
	o.snapshot_chunk_bytes = 32;
	struct sim *s = t_sim(state, &o);
	t_leader(s);
	for (int round = 0; round < 6; round++) {
		raft_id l = t_leader(s);
		raft_id f = l % 5 + 1;
		sim_crash(s, f);
		t_commit_n(s, 25);
		assert_int_equal(sim_restart(s, f), 0);
		/* let part of the transfer happen, then crash someone */
		t_run(s, (unsigned)sim_rand_range(s, 1, 12));
		raft_id victim = sim_chance(s, 500) ? f : sim_leader(s);
		if (victim) {
			sim_crash(s, victim);
			t_run(s, (unsigned)sim_rand_range(s, 0, 20));
			assert_int_equal(sim_restart(s, victim), 0);
		}
		raft_index last = t_commit(s);
		t_wait_applied_all(s, last);
	}
	T_CHECK(s, sim_snapshots_installed(s) >= 3);
	t_finish(s);
}

/* A node restarts from its snapshot plus the log tail behind it: the core
 * reports the snapshot, applies nothing twice (the simulator checks that
 * committed entries continue at applied + 1) and catches up. */
static void restart_from_snapshot_and_tail(void **state)
{
	struct sim_options o;
	snap_options(&o, 3, 44);
	o.snapshot_threshold = 0; /* snapshots by hand here */
	struct sim *s = t_sim(state, &o);
	t_leader(s);
	t_commit_n(s, 20);
	raft_index last = t_commit(s);
	t_wait_applied_all(s, last);
	for (raft_id id = 1; id <= 3; id++)
		assert_int_equal(sim_take_snapshot(s, id), 0);
	t_run(s, 5); /* let compaction reach the stores */
	t_commit_n(s, 7);
	raft_index tail = t_commit(s);
	t_wait_applied_all(s, tail);
	for (raft_id id = 1; id <= 3; id++) {
		raft_index snap = sim_snapshot_index(s, id);
		T_CHECK(s, snap >= last);
		T_CHECK(s, snap < tail);
		sim_crash(s, id);
		assert_int_equal(sim_restart(s, id), 0);
		struct raft_status st;
		raft_status(sim_core(s, id), &st);
		T_CHECK(s, st.snapshot_index == snap);
		T_CHECK(s, st.last_index >= tail);
		T_CHECK(s, st.applied_index == sim_applied(s, id));
		T_CHECK(s, st.first_index <= snap + 1);
		T_CHECK(s, st.first_index > 1);
	}
	raft_index more = t_commit(s);
	t_wait_applied_all(s, more);
	t_finish(s);
}

/* raft_snapshot_taken's contract: not above the applied index, not below
 * the current snapshot. */
static void snapshot_refused_above_applied(void **state)
{
	struct sim_options o;
	snap_options(&o, 3, 45);
	o.snapshot_threshold = 0;
	struct sim *s = t_sim(state, &o);
	raft_id l = t_leader(s);
	t_commit_n(s, 5);
	raft_index last = t_commit(s);
	t_wait_applied(s, l, last);
	struct raft_status st;
	raft_status(sim_core(s, l), &st);
	T_CHECK(s, raft_snapshot_taken(sim_core(s, l), st.applied_index + 1,
	                               100, NULL) == RAFT_EINVAL);
	assert_int_equal(sim_take_snapshot(s, l), 0);
	raft_index snap = sim_snapshot_index(s, l);
	T_CHECK(s, snap == sim_applied(s, l));
	T_CHECK(s, raft_snapshot_taken(sim_core(s, l), snap - 1, 100, NULL) ==
	                   RAFT_EINVAL);
	raft_status(sim_core(s, l), &st);
	T_CHECK(s, st.snapshot_index == snap);
	t_finish(s);
}

/* A server added after the log was compacted gets the snapshot, then the
 * log, and once promoted its vote is needed for commitment. */
static void new_node_catches_up_by_snapshot(void **state)
{
	struct sim_options o;
	snap_options(&o, 3, 46);
	struct sim *s = t_sim(state, &o);
	t_leader(s);
	t_commit_n(s, 40);
	raft_id l = t_leader(s);
	raft_id nid;
	raft_index cidx;
	assert_int_equal(sim_add_node(s, l, &nid, &cidx), 0);
	T_CHECK(s, nid == 4);
	raft_index last = t_commit(s);
	wait_caught_up(s, nid, last);
	T_CHECK(s, sim_msg_count(s, RAFT_MSG_SNAPSHOT, 0, nid) >= 2);
	l = t_leader(s);
	assert_int_equal(sim_promote(s, l, nid, &cidx), 0);
	t_wait_applied_all(s, cidx);
	raft_id ids[8];
	T_CHECK(s, sim_committed_voters(s, ids, 8) == 4);
	/* 4 voters: with one old node down, the new one is needed */
	l = t_leader(s);
	raft_id down = l % 3 + 1;
	sim_crash(s, down);
	raft_index more = t_commit(s);
	t_wait_applied(s, nid, more);
	assert_int_equal(sim_restart(s, down), 0);
	t_finish(s);
}

static const struct CMUnitTest tests[] = {
	T_CASE(install_lagging_follower),
	T_CASE(install_unreliable),
	T_CASE(install_with_crashes),
	T_CASE(restart_from_snapshot_and_tail),
	T_CASE(snapshot_refused_above_applied),
	T_CASE(new_node_catches_up_by_snapshot),
};

T_MAIN("raft_sim_snapshot", tests)

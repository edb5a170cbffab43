/*
 * test_snapshot.c -- snapshot.c: compaction with a trailing margin,
 * streaming a snapshot in chunks, resuming after loss, in-order receive,
 * install, restart from a snapshot.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static int setup3(void **state)
{
	struct cluster *c = malloc(sizeof(*c));
	cl_init(c, 3, 3, NULL); /* trailing 2, chunks of 64 bytes */
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct cluster *c = *state;
	cl_close(c);
	free(c);
	return 0;
}

static raft_id leader3(struct cluster *c)
{
	raft_id l = cl_run_until_leader(c, 100);
	assert_true(l != 0);
	cl_tick(c, l, 1);
	cl_stabilize(c);
	return l;
}

static struct raft_status status(struct cluster *c, raft_id id)
{
	struct raft_status st;
	raft_status(cl_raft(c, id), &st);
	return st;
}

static void test_snapshot_taken_compacts(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	for (int k = 0; k < 10; k++)
		cl_propose(c, l, "e");
	cl_stabilize(c);
	struct raft *r = cl_raft(c, l);
	raft_index applied = c->nodes[l].applied;
	assert_int_equal(applied, 12);
	assert_int_equal(raft_snapshot_taken(r, 13, 1, NULL), RAFT_EINVAL);
	assert_int_equal(raft_snapshot_taken(r, 0, 1, NULL), RAFT_EINVAL);

	c->nodes[l].manual = true;
	struct raft_snapshot_meta meta;
	assert_int_equal(raft_snapshot_taken(r, 12, 300, &meta), 0);
	assert_int_equal(meta.index, 12);
	assert_int_equal(meta.term, raft_current_term(r));
	assert_int_equal(meta.size, 300);
	assert_int_equal(meta.config.n, 3);
	c->nodes[l].snap = meta;
	cl_ready(c, l);
	assert_int_equal(c->nodes[l].rd.compact_before, 11);
	cl_complete(c, l);
	c->nodes[l].manual = false;
	struct raft_status st = status(c, l);
	assert_int_equal(st.snapshot_index, 12);
	assert_int_equal(st.first_index, 11);
	assert_int_equal(st.last_index, 12);
	assert_int_equal(raft_snapshot_taken(r, 11, 1, NULL), RAFT_EINVAL);
	/* the same index again is fine (nothing more to compact) */
	assert_int_equal(raft_snapshot_taken(r, 12, 300, NULL), 0);
	assert_false(raft_has_ready(r));
}

/* Isolates f, writes `n` entries, snapshots the leader; returns the
 * snapshot index. */
static raft_index lag_and_snapshot(struct cluster *c, raft_id l, raft_id f,
                                   int n, uint64_t size)
{
	cl_isolate(c, f, true);
	for (int k = 0; k < n; k++)
		cl_propose(c, l, "x");
	cl_stabilize(c);
	cl_snapshot(c, l, size);
	cl_isolate(c, f, false);
	return c->nodes[l].snap.index;
}

static void test_lagging_follower_installs_snapshot(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id f = l == 1 ? 2 : 1;
	raft_index s = lag_and_snapshot(c, l, f, 20, 300);
	assert_int_equal(s, 22);
	for (int k = 0; k < 10; k++) {
		cl_tick(c, l, 1);
		cl_stabilize(c);
	}
	assert_int_equal(c->nodes[f].installs, 1);
	struct raft_status st = status(c, f);
	assert_int_equal(st.snapshot_index, s);
	assert_int_equal(st.first_index, s + 1);
	assert_true(st.commit_index >= s);
	assert_int_equal(c->nodes[f].applied, s);
	assert_int_equal(st.config_index, s); /* config from the snapshot */
	assert_int_equal(st.n_peers, 3);
	/* replication continues from the snapshot */
	raft_index i = cl_propose(c, l, "after");
	cl_stabilize(c);
	cl_tick(c, l, 1);
	cl_stabilize(c);
	assert_int_equal(cl_last(c, f), i);
	assert_int_equal(c->nodes[f].applied, i);
	st = status(c, l);
	for (unsigned k = 0; k < st.n_peers; k++)
		if (st.peers[k].id == f)
			assert_int_equal(st.peers[k].progress,
			                 RAFT_PROGRESS_REPLICATE);

	/* and a restart comes back from the snapshot */
	cl_crash(c, f);
	cl_start(c, f);
	st = status(c, f);
	assert_int_equal(st.snapshot_index, s);
	assert_int_equal(st.commit_index, i);
	assert_int_equal(st.last_index, i);
}

static void test_lost_chunk_resumes_at_offset(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id f = l == 1 ? 2 : 1;
	lag_and_snapshot(c, l, f, 20, 300);
	cl_tick(c, l, 1);
	struct cl_msg m;
	/* deliver everything but the second chunk */
	int chunks = 0;
	for (int k = 0; k < 50; k++) {
		if (!cl_take(c, 0, 0, 0, &m))
			break;
		if (m.m.type == RAFT_MSG_SNAPSHOT && ++chunks == 2) {
			assert_int_equal(m.m.snapshot.offset, 64);
			assert_int_equal(m.m.snapshot.len, 64);
			cl_msg_free(&m);
			continue;
		}
		cl_deliver(c, &m);
	}
	assert_int_equal(chunks, 2);
	assert_int_equal(c->nodes[f].installs, 0);

	/* an out-of-order chunk is answered with the offset expected */
	struct raft_message bad;
	memset(&bad, 0, sizeof(bad));
	bad.type = RAFT_MSG_SNAPSHOT;
	bad.from = l;
	bad.to = f;
	bad.term = raft_current_term(cl_raft(c, l));
	bad.snapshot.index = c->nodes[l].snap.index;
	bad.snapshot.snap_term = c->nodes[l].snap.term;
	bad.snapshot.config = c->nodes[l].snap.config;
	bad.snapshot.offset = 192;
	bad.snapshot.total = 300;
	unsigned char junk[64] = {0};
	bad.snapshot.data = junk;
	bad.snapshot.len = 64;
	raft_step(cl_raft(c, f), &bad);
	cl_ready(c, f);
	assert_true(cl_take(c, f, l, RAFT_MSG_SNAPSHOT_RESP, &m));
	assert_int_equal(m.m.snapshot_resp.next_offset, 64);
	assert_false(m.m.snapshot_resp.rejected);
	cl_msg_free(&m);

	/* after an election timeout without a reply the leader resends from
	 * the acknowledged offset */
	bool resent = false;
	for (unsigned k = 0; k < c->opts.election_ticks + 1 && !resent; k++) {
		cl_tick(c, l, 1);
		while (cl_take(c, 0, 0, 0, &m)) {
			if (m.m.type == RAFT_MSG_SNAPSHOT && !resent) {
				assert_int_equal(m.m.snapshot.offset, 64);
				resent = true;
			}
			cl_deliver(c, &m);
		}
	}
	assert_true(resent);
	cl_stabilize(c);
	for (int k = 0; k < 5; k++) {
		cl_tick(c, l, 1);
		cl_stabilize(c);
	}
	assert_int_equal(c->nodes[f].installs, 1);
	assert_int_equal(cl_last(c, f), cl_last(c, l));
}

static void test_newer_snapshot_restarts_transfer(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id f = l == 1 ? 2 : 1;
	raft_index s1 = lag_and_snapshot(c, l, f, 20, 300);
	cl_tick(c, l, 1);
	/* the first chunk goes through and is acknowledged */
	struct cl_msg m;
	assert_true(cl_take(c, l, f, RAFT_MSG_SNAPSHOT, &m));
	assert_int_equal(m.m.snapshot.index, s1);
	cl_deliver(c, &m);
	/* meanwhile the leader moves on and snapshots again */
	cl_isolate(c, f, true);
	for (int k = 0; k < 5; k++)
		cl_propose(c, l, "y");
	cl_stabilize(c);
	cl_snapshot(c, l, 200);
	raft_index s2 = c->nodes[l].snap.index;
	assert_true(s2 > s1);
	cl_isolate(c, f, false);
	/* the follower's ack of the old snapshot's chunk arrives: the
	 * leader restarts with the new one at offset 0 */
	struct raft_message ack;
	memset(&ack, 0, sizeof(ack));
	ack.type = RAFT_MSG_SNAPSHOT_RESP;
	ack.from = f;
	ack.to = l;
	ack.term = raft_current_term(cl_raft(c, l));
	ack.snapshot_resp.index = s1;
	ack.snapshot_resp.next_offset = 64;
	raft_step(cl_raft(c, l), &ack);
	cl_ready(c, l);
	assert_true(cl_take(c, l, f, RAFT_MSG_SNAPSHOT, &m));
	assert_int_equal(m.m.snapshot.index, s2);
	assert_int_equal(m.m.snapshot.offset, 0);
	assert_int_equal(m.m.snapshot.total, 200);
	cl_deliver(c, &m);
	for (int k = 0; k < 10; k++) {
		cl_tick(c, l, 1);
		cl_stabilize(c);
	}
	assert_int_equal(c->nodes[f].installs, 1);
	assert_int_equal(status(c, f).snapshot_index, s2);
	assert_int_equal(cl_last(c, f), cl_last(c, l));
}

static void test_snapshot_below_commit_acknowledged(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id f = l == 1 ? 2 : 1;
	for (int k = 0; k < 5; k++)
		cl_propose(c, l, "z");
	cl_stabilize(c);
	cl_tick(c, l, 1);
	cl_stabilize(c);
	raft_index commit = cl_commit(c, f);
	assert_int_equal(commit, 7);
	struct raft_message m;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_SNAPSHOT;
	m.from = l;
	m.to = f;
	m.term = raft_current_term(cl_raft(c, l));
	m.snapshot.index = 5;
	m.snapshot.snap_term = m.term;
	m.snapshot.config = c->initial;
	m.snapshot.offset = 0;
	m.snapshot.total = 100;
	unsigned char data[64] = {0};
	m.snapshot.data = data;
	m.snapshot.len = 64;
	raft_step(cl_raft(c, f), &m);
	cl_ready(c, f);
	struct cl_msg resp;
	assert_true(cl_take(c, f, l, RAFT_MSG_SNAPSHOT_RESP, &resp));
	assert_false(resp.m.snapshot_resp.rejected);
	assert_int_equal(resp.m.snapshot_resp.next_offset, 100);
	cl_msg_free(&resp);
	assert_int_equal(c->nodes[f].installs, 0);
	assert_int_equal(cl_last(c, f), 7);
}

static void test_trailing_entries_avoid_snapshot(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id f = l == 1 ? 2 : 1;
	/* f misses one entry only */
	lag_and_snapshot(c, l, f, 1, 300);
	for (int k = 0; k < 5; k++) {
		cl_tick(c, l, 1);
		cl_stabilize(c);
	}
	assert_int_equal(c->nodes[f].installs, 0);
	assert_int_equal(cl_last(c, f), cl_last(c, l));
}

static void test_new_member_gets_snapshot(void **state)
{
	(void)state;
	struct cluster c;
	cl_init(&c, 4, 3, NULL);
	raft_id l = cl_run_until_leader(&c, 100);
	cl_tick(&c, l, 1);
	cl_stabilize(&c);
	for (int k = 0; k < 10; k++)
		cl_propose(&c, l, "w");
	cl_stabilize(&c);
	cl_snapshot(&c, l, 130);
	raft_index idx;
	assert_int_equal(raft_add_server(cl_raft(&c, l), 4, "h:4", &idx), 0);
	cl_ready(&c, l);
	for (int k = 0; k < 10; k++) {
		cl_tick(&c, l, 1);
		cl_stabilize(&c);
	}
	assert_int_equal(c.nodes[4].installs, 1);
	assert_int_equal(cl_last(&c, 4), idx);
	struct raft_status st;
	raft_status(cl_raft(&c, 4), &st);
	assert_int_equal(st.config_index, idx);
	assert_int_equal(st.n_peers, 4);
	cl_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snapshot_taken_compacts,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(
			test_lagging_follower_installs_snapshot, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_lost_chunk_resumes_at_offset,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(
			test_newer_snapshot_restarts_transfer, setup3, teardown),
		cmocka_unit_test_setup_teardown(
			test_snapshot_below_commit_acknowledged, setup3, teardown),
		cmocka_unit_test_setup_teardown(
			test_trailing_entries_avoid_snapshot, setup3, teardown),
		cmocka_unit_test(test_new_member_gets_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

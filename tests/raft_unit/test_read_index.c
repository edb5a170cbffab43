/*
 * test_read_index.c -- read_index.c: ReadIndex confirmed by heartbeat
 * echoes, waiting for the term's no-op, failing on step-down.
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
	cl_init(c, 3, 3, NULL);
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

static void test_read_confirmed_by_quorum(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_index w = cl_propose(c, l, "write");
	cl_stabilize(c);
	assert_int_equal(raft_read_index(cl_raft(c, l), 7), 0);
	cl_ready(c, l);
	/* not answered before the heartbeat round comes back */
	assert_int_equal(c->nodes[l].n_reads, 0);
	assert_true(cl_count(c, l, 0, RAFT_MSG_APPEND) >= 2);
	/* one follower's echo is enough with the leader: a majority */
	struct cl_msg m;
	raft_id f = l == 1 ? 2 : 1;
	assert_true(cl_take(c, l, f, RAFT_MSG_APPEND, &m));
	assert_int_equal(m.m.append.read_ctx, 7);
	cl_deliver(c, &m);
	assert_true(cl_take(c, f, l, RAFT_MSG_APPEND_RESP, &m));
	assert_int_equal(m.m.append_resp.read_ctx, 7);
	cl_deliver(c, &m);
	assert_int_equal(c->nodes[l].n_reads, 1);
	assert_int_equal(c->nodes[l].reads[0].ctx, 7);
	assert_int_equal(c->nodes[l].reads[0].rv, 0);
	assert_int_equal(c->nodes[l].reads[0].index, w);
	cl_stabilize(c);
	assert_int_equal(c->nodes[l].n_reads, 1);
}

static void test_read_not_confirmed_without_quorum(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	cl_isolate(c, l, true);
	assert_int_equal(raft_read_index(cl_raft(c, l), 1), 0);
	assert_int_equal(raft_read_index(cl_raft(c, l), 2), 0);
	cl_stabilize(c);
	cl_tick(c, l, 3);
	cl_stabilize(c);
	assert_int_equal(c->nodes[l].n_reads, 0);
	/* check-quorum deposes it: the reads fail */
	cl_tick(c, l, 2 * c->opts.election_ticks);
	cl_stabilize(c);
	assert_int_equal(raft_role(cl_raft(c, l)), RAFT_FOLLOWER);
	assert_int_equal(c->nodes[l].n_reads, 2);
	assert_int_equal(c->nodes[l].reads[0].ctx, 1);
	assert_int_equal(c->nodes[l].reads[0].rv, RAFT_ELEADERSHIPLOST);
	assert_int_equal(c->nodes[l].reads[1].rv, RAFT_ELEADERSHIPLOST);
}

static void test_reads_batch_under_one_round(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	for (uint64_t ctx = 10; ctx < 15; ctx++)
		assert_int_equal(raft_read_index(cl_raft(c, l), ctx), 0);
	cl_stabilize(c);
	assert_int_equal(c->nodes[l].n_reads, 5);
	for (int k = 0; k < 5; k++) {
		assert_int_equal(c->nodes[l].reads[k].ctx, 10 + k);
		assert_int_equal(c->nodes[l].reads[k].rv, 0);
	}
}

static void test_read_waits_for_noop(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id a = l == 1 ? 2 : 1;
	raft_id b = 6 - l - a;
	cl_propose(c, l, "before");
	cl_stabilize(c);
	raft_index before = cl_commit(c, l);
	/* a new leader is elected; its no-op is held back */
	cl_crash(c, l);
	raft_id n = 0;
	for (int k = 0; k < 100 && n == 0; k++) {
		cl_tick(c, a, 1);
		cl_tick(c, b, 1);
		struct cl_msg m;
		while (cl_take(c, 0, 0, 0, &m)) {
			if (m.m.type == RAFT_MSG_APPEND) {
				cl_msg_free(&m);
				continue;
			}
			cl_deliver(c, &m);
		}
		if (raft_role(cl_raft(c, a)) == RAFT_LEADER)
			n = a;
		if (raft_role(cl_raft(c, b)) == RAFT_LEADER)
			n = b;
	}
	assert_true(n != 0);
	a = n;
	b = 6 - l - a;
	struct raft *ra = cl_raft(c, a);
	cl_drop_all(c);
	assert_int_equal(raft_read_index(ra, 100), 0);
	cl_ready(c, a);
	/* the no-op is not committed: the read waits (no answer yet) */
	assert_int_equal(c->nodes[a].n_reads, 0);
	assert_true(cl_commit(c, a) <= before);
	(void)b;
	cl_tick(c, a, 1);
	cl_stabilize(c);
	assert_int_equal(c->nodes[a].n_reads, 1);
	assert_int_equal(c->nodes[a].reads[0].rv, 0);
	assert_true(c->nodes[a].reads[0].index > before);
	assert_int_equal(c->nodes[a].reads[0].index, cl_commit(c, a));
}

static void test_single_voter_read(void **state)
{
	(void)state;
	struct cluster c;
	cl_init(&c, 1, 1, NULL);
	c.nodes[1].manual = true;
	struct raft *r = cl_raft(&c, 1);
	/* a single voter leads once its own vote is durable */
	for (int k = 0; k < 30 && raft_role(r) != RAFT_LEADER; k++) {
		raft_tick(r);
		if (raft_role(r) == RAFT_CANDIDATE) {
			cl_ready(&c, 1);
			cl_complete(&c, 1);
		}
	}
	assert_int_equal(raft_role(r), RAFT_LEADER);
	/* the no-op is not even durable: the read waits */
	assert_int_equal(raft_read_index(r, 5), 0);
	cl_ready(&c, 1);
	assert_int_equal(c.nodes[1].rd.n_reads, 0);
	cl_complete(&c, 1);
	c.nodes[1].manual = false;
	cl_ready(&c, 1);
	assert_int_equal(c.nodes[1].n_reads, 1);
	assert_int_equal(c.nodes[1].reads[0].index, 2);
	/* later reads are answered at once */
	assert_int_equal(raft_read_index(r, 6), 0);
	cl_ready(&c, 1);
	assert_int_equal(c.nodes[1].n_reads, 2);
	assert_int_equal(c.nodes[1].reads[1].rv, 0);
	cl_close(&c);
}

static void test_read_errors(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id f = l == 1 ? 2 : 1;
	assert_int_equal(raft_read_index(cl_raft(c, f), 1), RAFT_ENOTLEADER);
	assert_int_equal(raft_read_index(cl_raft(c, l), 0), RAFT_EINVAL);
	assert_int_equal(raft_read_index(cl_raft(c, l), 9), 0);
	assert_int_equal(raft_read_index(cl_raft(c, l), 9), RAFT_EINVAL);
	assert_int_equal(raft_read_index(cl_raft(c, l), 8), RAFT_EINVAL);
	cl_stabilize(c);
	assert_int_equal(c->nodes[l].n_reads, 1);
}

static void test_read_fails_when_higher_term_appears(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id f = l == 1 ? 2 : 1;
	cl_isolate(c, l, true);
	assert_int_equal(raft_read_index(cl_raft(c, l), 3), 0);
	cl_stabilize(c);
	/* a message of a higher term reaches the old leader */
	struct raft_message m;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND;
	m.from = f;
	m.to = l;
	m.term = raft_current_term(cl_raft(c, l)) + 1;
	raft_step(cl_raft(c, l), &m);
	cl_ready(c, l);
	assert_int_equal(c->nodes[l].n_reads, 1);
	assert_int_equal(c->nodes[l].reads[0].rv, RAFT_ELEADERSHIPLOST);
	cl_drop_all(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_confirmed_by_quorum,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(
			test_read_not_confirmed_without_quorum, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_reads_batch_under_one_round,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(test_read_waits_for_noop, setup3,
		                                teardown),
		cmocka_unit_test(test_single_voter_read),
		cmocka_unit_test_setup_teardown(test_read_errors, setup3,
		                                teardown),
		cmocka_unit_test_setup_teardown(
			test_read_fails_when_higher_term_appears, setup3,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_transfer.c -- transfer.c: leadership transfer with TimeoutNow,
 * choosing the most up-to-date voter, refusing proposals meanwhile,
 * aborting after an election timeout.
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

static void test_transfer_to_target(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id t = l == 3 ? 1 : 3;
	raft_term term = raft_current_term(cl_raft(c, l));
	assert_int_equal(raft_transfer_leadership(cl_raft(c, l), t), 0);
	cl_ready(c, l);
	assert_int_equal(cl_count(c, l, t, RAFT_MSG_TIMEOUT_NOW), 1);
	cl_stabilize(c);
	/* the other follower waived its stickiness for the transfer */
	assert_int_equal(raft_role(cl_raft(c, t)), RAFT_LEADER);
	assert_int_equal(raft_current_term(cl_raft(c, t)), term + 1);
	assert_int_equal(raft_role(cl_raft(c, l)), RAFT_FOLLOWER);
	struct raft_status st;
	raft_status(cl_raft(c, l), &st);
	assert_int_equal(st.transfer_target, 0);
	raft_index i = cl_propose(c, t, "new-leader");
	cl_stabilize(c);
	assert_int_equal(cl_commit(c, t), i);
}

static void test_transfer_errors(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id f = l == 1 ? 2 : 1;
	struct raft *rl = cl_raft(c, l);
	assert_int_equal(raft_transfer_leadership(cl_raft(c, f), l),
	                 RAFT_ENOTLEADER);
	assert_int_equal(raft_transfer_leadership(rl, l), RAFT_EINVAL);
	assert_int_equal(raft_transfer_leadership(rl, 9), RAFT_ENOTFOUND);
	cl_isolate(c, f, true);
	assert_int_equal(raft_transfer_leadership(rl, f), 0);
	assert_int_equal(raft_transfer_leadership(rl, f), RAFT_EBUSY);
	/* proposals and membership changes wait for the transfer */
	assert_int_equal(raft_propose(rl, "x", 1, NULL, NULL), RAFT_EBUSY);
	assert_int_equal(raft_remove_server(rl, f, NULL), RAFT_EBUSY);
	struct raft_status st;
	raft_status(rl, &st);
	assert_int_equal(st.transfer_target, f);
	/* the target is unreachable: aborted after an election timeout */
	cl_tick(c, l, c->opts.election_ticks);
	cl_stabilize(c);
	raft_status(rl, &st);
	assert_int_equal(st.transfer_target, 0);
	assert_int_equal(raft_role(rl), RAFT_LEADER);
	assert_int_equal(raft_propose(rl, "x", 1, NULL, NULL), 0);
	cl_isolate(c, f, false);
	cl_stabilize(c);
}

static void test_transfer_catches_target_up_first(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id t = l == 3 ? 1 : 3;
	cl_isolate(c, t, true);
	for (int k = 0; k < 6; k++)
		cl_propose(c, l, "behind");
	cl_stabilize(c);
	assert_int_equal(raft_transfer_leadership(cl_raft(c, l), t), 0);
	cl_ready(c, l);
	/* not up to date: no TimeoutNow yet */
	assert_int_equal(cl_count(c, l, t, RAFT_MSG_TIMEOUT_NOW), 0);
	cl_stabilize(c);
	cl_isolate(c, t, false);
	for (int k = 0; k < 5 && raft_role(cl_raft(c, t)) != RAFT_LEADER;
	     k++) {
		cl_tick(c, l, 1);
		cl_stabilize(c);
	}
	assert_int_equal(raft_role(cl_raft(c, t)), RAFT_LEADER);
	/* it had everything: the committed entries survive */
	assert_int_equal(c->nodes[t].applied, cl_commit(c, t));
	assert_true(cl_commit(c, t) >= 8);
}

static void test_transfer_to_most_up_to_date(void **state)
{
	(void)state;
	struct cluster c;
	cl_init(&c, 5, 5, NULL);
	raft_id l = cl_run_until_leader(&c, 200);
	cl_tick(&c, l, 1);
	cl_stabilize(&c);
	/* only one follower gets the latest entries */
	raft_id best = l == 4 ? 5 : 4;
	for (raft_id id = 1; id <= 5; id++)
		if (id != l && id != best)
			cl_isolate(&c, id, true);
	cl_propose(&c, l, "only-best");
	cl_stabilize(&c);
	for (raft_id id = 1; id <= 5; id++)
		cl_isolate(&c, id, false);
	assert_int_equal(raft_transfer_leadership(cl_raft(&c, l), 0), 0);
	struct raft_status st;
	raft_status(cl_raft(&c, l), &st);
	assert_int_equal(st.transfer_target, best);
	cl_ready(&c, l);
	assert_int_equal(cl_count(&c, l, best, RAFT_MSG_TIMEOUT_NOW), 1);
	cl_stabilize(&c);
	assert_int_equal(raft_role(cl_raft(&c, best)), RAFT_LEADER);
	cl_close(&c);
}

static void test_nonvoter_cannot_be_target(void **state)
{
	(void)state;
	struct cluster c;
	cl_init(&c, 3, 2, NULL);
	raft_id l = cl_run_until_leader(&c, 100);
	cl_tick(&c, l, 1);
	cl_stabilize(&c);
	assert_int_equal(raft_add_server(cl_raft(&c, l), 3, "h:3", NULL), 0);
	cl_stabilize(&c);
	cl_tick(&c, l, 2);
	cl_stabilize(&c);
	assert_int_equal(raft_transfer_leadership(cl_raft(&c, l), 3),
	                 RAFT_EINVAL);
	/* a TimeoutNow reaching a non-voter is ignored */
	struct raft_message m;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_TIMEOUT_NOW;
	m.from = l;
	m.to = 3;
	m.term = raft_current_term(cl_raft(&c, l));
	raft_step(cl_raft(&c, 3), &m);
	assert_int_equal(raft_role(cl_raft(&c, 3)), RAFT_FOLLOWER);
	assert_int_equal(raft_current_term(cl_raft(&c, 3)), m.term);
	cl_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transfer_to_target, setup3,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_transfer_errors, setup3,
		                                teardown),
		cmocka_unit_test_setup_teardown(
			test_transfer_catches_target_up_first, setup3, teardown),
		cmocka_unit_test(test_transfer_to_most_up_to_date),
		cmocka_unit_test(test_nonvoter_cannot_be_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

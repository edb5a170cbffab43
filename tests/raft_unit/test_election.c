/*
 * test_election.c -- election.c: elections, pre-vote, leader stickiness,
 * check-quorum, the up-to-date rule, persisted votes.
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

static void test_single_voter_elects_itself(void **state)
{
	(void)state;
	struct cluster c;
	cl_init(&c, 1, 1, NULL);
	cl_ready_all(&c);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_FOLLOWER);
	cl_tick(&c, 1, 2 * c.opts.election_ticks);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_LEADER);
	assert_int_equal(raft_current_term(cl_raft(&c, 1)), 1);
	assert_int_equal(raft_leader(cl_raft(&c, 1)), 1);
	assert_int_equal(cl_commit(&c, 1), 2);
	assert_int_equal(c.nodes[1].applied, 2);
	assert_int_equal(c.nodes[1].hs.term, 1);
	assert_int_equal(c.nodes[1].hs.vote, 1);
	cl_close(&c);
}

static void test_three_nodes_elect_one_leader(void **state)
{
	struct cluster *c = *state;
	raft_id l = cl_run_until_leader(c, 100);
	assert_true(l != 0);
	raft_term t = raft_current_term(cl_raft(c, l));
	for (raft_id id = 1; id <= 3; id++) {
		assert_int_equal(raft_current_term(cl_raft(c, id)), t);
		assert_int_equal(raft_leader(cl_raft(c, id)), l);
		if (id != l)
			assert_int_equal(raft_role(cl_raft(c, id)),
			                 RAFT_FOLLOWER);
	}
	/* the no-op commits and reaches everyone with the next heartbeat */
	cl_tick(c, l, 1);
	cl_stabilize(c);
	for (raft_id id = 1; id <= 3; id++) {
		assert_int_equal(cl_commit(c, id), 2);
		assert_int_equal(c->nodes[id].applied, 2);
	}
}

static void test_prevote_keeps_term_of_partitioned_node(void **state)
{
	struct cluster *c = *state;
	raft_id l = cl_run_until_leader(c, 100);
	raft_id f = l == 3 ? 2 : 3;
	raft_term t = raft_current_term(cl_raft(c, l));
	cl_isolate(c, f, true);
	for (int k = 0; k < 10; k++) {
		cl_tick_all(c, c->opts.election_ticks);
		cl_stabilize(c);
	}
	/* it keeps trying, but never raises its term */
	assert_int_equal(raft_current_term(cl_raft(c, f)), t);
	assert_int_equal(raft_role(cl_raft(c, f)), RAFT_PRECANDIDATE);
	cl_isolate(c, f, false);
	cl_tick(c, l, 1);
	cl_stabilize(c);
	assert_int_equal(raft_role(cl_raft(c, l)), RAFT_LEADER);
	assert_int_equal(raft_current_term(cl_raft(c, l)), t);
	assert_int_equal(raft_role(cl_raft(c, f)), RAFT_FOLLOWER);
	assert_int_equal(raft_leader(cl_raft(c, f)), l);
}

static void test_without_prevote_partitioned_node_disrupts(void **state)
{
	(void)state;
	struct cluster c;
	struct raft_options o;
	cl_default_options(&o);
	o.pre_vote = false;
	o.check_quorum = false;
	cl_init(&c, 3, 3, &o);
	raft_id l = cl_run_until_leader(&c, 100);
	raft_id f = l == 3 ? 2 : 3;
	raft_term t = raft_current_term(cl_raft(&c, l));
	cl_isolate(&c, f, true);
	cl_tick(&c, f, 3 * o.election_ticks);
	cl_stabilize(&c);
	assert_true(raft_current_term(cl_raft(&c, f)) > t);
	cl_isolate(&c, f, false);
	cl_tick(&c, l, 1);
	cl_stabilize(&c);
	/* the old leader saw the higher term */
	assert_true(raft_current_term(cl_raft(&c, l)) > t);
	cl_close(&c);
}

static struct raft_message vote_req(raft_id from, raft_id to, int type,
                                    raft_term term, raft_index li,
                                    raft_term lt, bool transfer)
{
	struct raft_message m;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.from = from;
	m.to = to;
	m.term = term;
	m.vote.last_log_index = li;
	m.vote.last_log_term = lt;
	m.vote.transfer = transfer;
	return m;
}

static void test_leader_stickiness(void **state)
{
	struct cluster *c = *state;
	raft_id l = cl_run_until_leader(c, 100);
	cl_tick(c, l, 1);
	cl_stabilize(c);
	raft_id f = l == 1 ? 2 : 1;
	raft_id o = 6 - l - f;
	struct raft *rf = cl_raft(c, f);
	raft_term t = raft_current_term(rf);
	raft_index li = cl_last(c, f);

	/* f heard from the leader within the election timeout: a vote or
	 * pre-vote for a higher term is ignored, term untouched */
	struct raft_message m = vote_req(o, f, RAFT_MSG_VOTE, t + 1, li + 5, t,
	                                 false);
	assert_int_equal(raft_step(rf, &m), 0);
	m.type = RAFT_MSG_PREVOTE;
	assert_int_equal(raft_step(rf, &m), 0);
	assert_int_equal(raft_current_term(rf), t);
	assert_false(raft_has_ready(rf));

	/* a transfer's candidate has the leader's permission */
	m.type = RAFT_MSG_VOTE;
	m.vote.transfer = true;
	assert_int_equal(raft_step(rf, &m), 0);
	assert_int_equal(raft_current_term(rf), t + 1);
	cl_ready(c, f);
	struct cl_msg resp;
	assert_true(cl_take(c, f, o, RAFT_MSG_VOTE_RESP, &resp));
	assert_true(resp.m.vote_resp.granted);
	assert_int_equal(c->nodes[f].hs.vote, o);
	cl_msg_free(&resp);
}

static void test_prevote_granted_after_leader_silence(void **state)
{
	struct cluster *c = *state;
	raft_id l = cl_run_until_leader(c, 100);
	cl_tick(c, l, 1);
	cl_stabilize(c);
	raft_id f = l == 1 ? 2 : 1;
	raft_id o = 6 - l - f;
	struct raft *rf = cl_raft(c, f);
	raft_term t = raft_current_term(rf);
	/* one election timeout without the leader: no lease any more (the
	 * randomized timeout is longer, so f does not campaign itself) */
	cl_tick(c, f, c->opts.election_ticks);
	struct raft_message m = vote_req(o, f, RAFT_MSG_PREVOTE, t + 1,
	                                 cl_last(c, f), t, false);
	assert_int_equal(raft_step(rf, &m), 0);
	assert_int_equal(raft_current_term(rf), t); /* pre-vote: no change */
	cl_ready(c, f);
	struct cl_msg resp;
	assert_true(cl_take(c, f, o, RAFT_MSG_PREVOTE_RESP, &resp));
	assert_true(resp.m.vote_resp.granted);
	assert_int_equal(resp.m.term, t + 1);
	cl_msg_free(&resp);

	/* a stale log is refused, with our term */
	m = vote_req(o, f, RAFT_MSG_PREVOTE, t + 1, 1, 1, false);
	raft_step(rf, &m);
	cl_ready(c, f);
	assert_true(cl_take(c, f, o, RAFT_MSG_PREVOTE_RESP, &resp));
	assert_false(resp.m.vote_resp.granted);
	assert_int_equal(resp.m.term, t);
	cl_msg_free(&resp);
}

static void test_check_quorum_steps_down(void **state)
{
	struct cluster *c = *state;
	raft_id l = cl_run_until_leader(c, 100);
	cl_isolate(c, l, true);
	cl_tick(c, l, 2 * c->opts.election_ticks);
	cl_stabilize(c);
	assert_int_equal(raft_role(cl_raft(c, l)), RAFT_FOLLOWER);
	assert_int_equal(raft_leader(cl_raft(c, l)), 0);
}

static void test_leader_with_quorum_stays(void **state)
{
	struct cluster *c = *state;
	raft_id l = cl_run_until_leader(c, 100);
	raft_term t = raft_current_term(cl_raft(c, l));
	for (int k = 0; k < 5 * (int)c->opts.election_ticks; k++) {
		cl_tick_all(c, 1);
		cl_stabilize(c);
	}
	assert_int_equal(raft_role(cl_raft(c, l)), RAFT_LEADER);
	assert_int_equal(raft_current_term(cl_raft(c, l)), t);
}

static void test_stale_log_cannot_win(void **state)
{
	struct cluster *c = *state;
	raft_id l = cl_run_until_leader(c, 100);
	raft_id lag = l == 3 ? 2 : 3;
	raft_id up = 6 - l - lag;
	cl_isolate(c, lag, true);
	for (int k = 0; k < 5; k++)
		cl_propose(c, l, "entry");
	cl_stabilize(c);
	cl_tick(c, l, 1);
	cl_stabilize(c);
	assert_int_equal(cl_commit(c, up), 7);
	/* the leader dies; `up` restarts (so it knows no leader and judges
	 * by logs alone); the lagging node wakes up first */
	cl_crash(c, l);
	cl_crash(c, up);
	cl_start(c, up);
	cl_isolate(c, lag, false);
	raft_term t = raft_current_term(cl_raft(c, up));
	cl_campaign(c, lag);
	/* up refused: lag's log is behind; with pre-vote its term stays */
	assert_int_equal(raft_current_term(cl_raft(c, lag)), t);
	assert_true(raft_role(cl_raft(c, lag)) != RAFT_LEADER);
	cl_campaign(c, up);
	assert_int_equal(raft_role(cl_raft(c, up)), RAFT_LEADER);
	cl_tick(c, up, 1);
	cl_stabilize(c);
	assert_int_equal(cl_commit(c, lag), 8);
}

static void test_vote_is_persisted_before_reply(void **state)
{
	struct cluster *c = *state;
	cl_ready_all(c);
	struct raft *r2 = cl_raft(c, 2);
	c->nodes[2].manual = true;
	struct raft_message m = vote_req(1, 2, RAFT_MSG_VOTE, 5, 1, 1, false);
	raft_step(r2, &m);
	cl_ready(c, 2);
	struct raft_ready *rd = &c->nodes[2].rd;
	assert_true(c->nodes[2].inflight);
	assert_true(rd->has_hard_state);
	assert_int_equal(rd->hard_state.term, 5);
	assert_int_equal(rd->hard_state.vote, 1);
	assert_int_equal(rd->n_messages_now, 0);
	assert_int_equal(rd->n_messages, 1);
	assert_int_equal(rd->messages[0].type, RAFT_MSG_VOTE_RESP);
	assert_true(rd->messages[0].vote_resp.granted);
	assert_int_equal(cl_count(c, 2, 1, 0), 0); /* nothing sent yet */
	cl_complete(c, 2);
	assert_int_equal(cl_count(c, 2, 1, RAFT_MSG_VOTE_RESP), 1);
	c->nodes[2].manual = false;

	/* the vote survives a restart: another candidate of term 5 is
	 * refused */
	cl_crash(c, 2);
	cl_start(c, 2);
	r2 = cl_raft(c, 2);
	assert_int_equal(raft_current_term(r2), 5);
	m = vote_req(3, 2, RAFT_MSG_VOTE, 5, 1, 1, false);
	raft_step(r2, &m);
	cl_ready(c, 2);
	struct cl_msg resp;
	assert_true(cl_take(c, 2, 3, RAFT_MSG_VOTE_RESP, &resp));
	assert_false(resp.m.vote_resp.granted);
	cl_msg_free(&resp);
	/* but the same candidate gets it again (a retry) */
	m = vote_req(1, 2, RAFT_MSG_VOTE, 5, 1, 1, false);
	raft_step(r2, &m);
	cl_ready(c, 2);
	assert_true(cl_take(c, 2, 1, RAFT_MSG_VOTE_RESP, &resp));
	assert_true(resp.m.vote_resp.granted);
	cl_msg_free(&resp);
}

static void test_candidate_messages_wait_for_persistence(void **state)
{
	struct cluster *c = *state;
	cl_ready_all(c);
	c->nodes[1].manual = true;
	struct raft *r1 = cl_raft(c, 1);
	/* tick until it is (pre-)candidate and check where its requests
	 * are */
	for (int k = 0; k < 30 && raft_role(r1) == RAFT_FOLLOWER; k++)
		raft_tick(r1);
	assert_int_equal(raft_role(r1), RAFT_PRECANDIDATE);
	cl_ready(c, 1);
	struct raft_ready *rd = &c->nodes[1].rd;
	assert_int_equal(rd->n_messages_now, 0);
	assert_int_equal(rd->n_messages, 2);
	assert_int_equal(rd->messages[0].type, RAFT_MSG_PREVOTE);
	assert_int_equal(rd->messages[0].term, 1);
	assert_false(rd->has_hard_state);
	cl_complete(c, 1);
	c->nodes[1].manual = false;
	cl_stabilize(c);
	/* pre-vote won: now a candidate of term 1, which voted for itself
	 * durably before asking */
	assert_int_equal(raft_role(r1), RAFT_LEADER);
	assert_int_equal(c->nodes[1].hs.term, 1);
	assert_int_equal(c->nodes[1].hs.vote, 1);
}

static void test_split_vote_resolves(void **state)
{
	(void)state;
	struct cluster c;
	cl_init(&c, 5, 5, NULL);
	raft_id l = cl_run_until_leader(&c, 200);
	assert_true(l != 0);
	/* kill leaders repeatedly: a new one always emerges */
	for (int round = 0; round < 3; round++) {
		cl_crash(&c, l);
		raft_id n = 0;
		for (int k = 0; k < 200 && n == 0; k++) {
			cl_tick_all(&c, 1);
			cl_stabilize(&c);
			for (raft_id id = 1; id <= 5; id++)
				if (c.nodes[id].up &&
				    raft_role(c.nodes[id].r) == RAFT_LEADER)
					n = id;
		}
		assert_true(n != 0 && n != l);
		cl_start(&c, l);
		l = n;
	}
	cl_close(&c);
}

static void test_nonvoter_never_campaigns(void **state)
{
	(void)state;
	struct cluster c;
	/* node 2 joins: no configuration at all */
	cl_init(&c, 2, 1, NULL);
	cl_tick(&c, 2, 10 * c.opts.election_ticks);
	cl_stabilize(&c);
	assert_int_equal(raft_role(cl_raft(&c, 2)), RAFT_FOLLOWER);
	assert_int_equal(raft_current_term(cl_raft(&c, 2)), 0);
	assert_int_equal(cl_count(&c, 2, 0, 0), 0);
	cl_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_voter_elects_itself),
		cmocka_unit_test_setup_teardown(test_three_nodes_elect_one_leader,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(
			test_prevote_keeps_term_of_partitioned_node, setup3,
			teardown),
		cmocka_unit_test(test_without_prevote_partitioned_node_disrupts),
		cmocka_unit_test_setup_teardown(test_leader_stickiness, setup3,
		                                teardown),
		cmocka_unit_test_setup_teardown(
			test_prevote_granted_after_leader_silence, setup3,
			teardown),
		cmocka_unit_test_setup_teardown(test_check_quorum_steps_down,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(test_leader_with_quorum_stays,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(test_stale_log_cannot_win, setup3,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_vote_is_persisted_before_reply,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(
			test_candidate_messages_wait_for_persistence, setup3,
			teardown),
		cmocka_unit_test(test_split_vote_resolves),
		cmocka_unit_test(test_nonvoter_never_campaigns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

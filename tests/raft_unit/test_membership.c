/*
 * test_membership.c -- membership.c: adding a non-voter, promoting it once
 * caught up, removing followers and the leader, refusing a second change
 * while one is uncommitted, rolling back a truncated configuration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static int teardown(void **state)
{
	struct cluster *c = *state;
	cl_close(c);
	free(c);
	return 0;
}

static raft_id settle(struct cluster *c)
{
	raft_id l = cl_run_until_leader(c, 100);
	assert_true(l != 0);
	cl_tick(c, l, 1);
	cl_stabilize(c);
	return l;
}

static void heartbeats(struct cluster *c, raft_id l, int n)
{
	for (int k = 0; k < n; k++) {
		cl_tick(c, l, 1);
		cl_stabilize(c);
	}
}

static struct raft_status status(struct cluster *c, raft_id id)
{
	struct raft_status st;
	raft_status(cl_raft(c, id), &st);
	return st;
}

static const struct raft_peer_status *peer(const struct raft_status *st,
                                           raft_id id)
{
	for (unsigned k = 0; k < st->n_peers; k++)
		if (st->peers[k].id == id)
			return &st->peers[k];
	return NULL;
}

static int setup_4_of_3(void **state)
{
	struct cluster *c = malloc(sizeof(*c));
	cl_init(c, 4, 3, NULL); /* node 4 joins later; margin 2 */
	*state = c;
	return 0;
}

static void test_add_then_promote(void **state)
{
	struct cluster *c = *state;
	raft_id l = settle(c);
	struct raft *rl = cl_raft(c, l);
	assert_int_equal(raft_add_server(rl, 2, "h:2", NULL), RAFT_EEXISTS);
	assert_int_equal(raft_add_server(rl, 0, "h:0", NULL), RAFT_EINVAL);
	assert_int_equal(raft_promote(rl, 4, NULL), RAFT_ENOTFOUND);

	raft_index idx = 0;
	assert_int_equal(raft_add_server(rl, 4, "h:4", &idx), 0);
	assert_int_equal(idx, 3);
	/* in effect at once on the leader, but uncommitted: no 2nd change */
	struct raft_status st = status(c, l);
	assert_int_equal(st.n_peers, 4);
	assert_int_equal(st.config_index, idx);
	assert_false(st.config_committed);
	assert_int_equal(peer(&st, 4)->role_in_config, RAFT_NONVOTER);
	assert_int_equal(raft_add_server(rl, 5, "h:5", NULL), RAFT_EBUSY);
	assert_int_equal(raft_remove_server(rl, 3, NULL), RAFT_EBUSY);
	cl_ready(c, l);
	heartbeats(c, l, 5);

	/* the joining server, which had no configuration at all, accepted
	 * the log and knows it is a non-voter */
	st = status(c, 4);
	assert_int_equal(st.config_index, idx);
	assert_true(st.config_committed);
	assert_int_equal(peer(&st, 4)->role_in_config, RAFT_NONVOTER);
	assert_int_equal(st.last_index, cl_last(c, l));
	st = status(c, l);
	assert_true(st.config_committed);
	/* non-voters never campaign */
	raft_term t = raft_current_term(cl_raft(c, 4));
	cl_isolate(c, 4, true);
	cl_tick(c, 4, 10 * c->opts.election_ticks);
	cl_stabilize(c);
	assert_int_equal(raft_current_term(cl_raft(c, 4)), t);
	assert_int_equal(raft_role(cl_raft(c, 4)), RAFT_FOLLOWER);
	/* lagging beyond the margin: promotion refused */
	for (int k = 0; k < 5; k++)
		cl_propose(c, l, "lag");
	cl_stabilize(c);
	assert_int_equal(raft_promote(rl, 4, NULL), RAFT_ECATCHUP);
	cl_isolate(c, 4, false);
	heartbeats(c, l, 3);
	assert_int_equal(raft_promote(rl, 3, NULL), RAFT_EINVAL); /* voter */
	assert_int_equal(raft_promote(rl, 4, &idx), 0);
	cl_ready(c, l);
	heartbeats(c, l, 3);
	st = status(c, 4);
	assert_int_equal(peer(&st, 4)->role_in_config, RAFT_VOTER);
	assert_true(st.config_committed);

	/* four voters: the leader and one other are not a majority */
	raft_id a = l == 1 ? 2 : 1;
	raft_id b = 6 - l - a;
	cl_isolate(c, a, true);
	cl_isolate(c, b, true);
	raft_index i = cl_propose(c, l, "needs-three");
	cl_stabilize(c);
	assert_true(cl_commit(c, l) < i);
	cl_isolate(c, a, false);
	cl_stabilize(c);
	heartbeats(c, l, 2);
	assert_int_equal(cl_commit(c, l), i);
	cl_isolate(c, b, false);
}

static int setup3(void **state)
{
	struct cluster *c = malloc(sizeof(*c));
	cl_init(c, 3, 3, NULL);
	*state = c;
	return 0;
}

static void test_remove_follower(void **state)
{
	struct cluster *c = *state;
	raft_id l = settle(c);
	raft_id f = l == 3 ? 2 : 3;
	raft_id o = 6 - l - f;
	raft_index idx;
	assert_int_equal(raft_remove_server(cl_raft(c, l), 9, NULL),
	                 RAFT_ENOTFOUND);
	assert_int_equal(raft_remove_server(cl_raft(c, l), f, &idx), 0);
	cl_ready(c, l);
	heartbeats(c, l, 3);
	struct raft_status st = status(c, l);
	assert_int_equal(st.n_peers, 2);
	assert_true(st.config_committed);
	assert_null(peer(&st, f));
	/* the removed follower got the entry and its commitment */
	st = status(c, f);
	assert_int_equal(st.config_index, idx);
	assert_true(st.config_committed);
	assert_null(peer(&st, f));
	/* ... so it never campaigns again */
	raft_term t = raft_current_term(cl_raft(c, f));
	size_t before = cl_count(c, f, 0, 0);
	cl_tick(c, f, 10 * c->opts.election_ticks);
	assert_int_equal(cl_count(c, f, 0, 0), before);
	assert_int_equal(raft_current_term(cl_raft(c, f)), t);
	/* two voters: both needed */
	cl_isolate(c, o, true);
	raft_index i = cl_propose(c, l, "two");
	cl_stabilize(c);
	assert_true(cl_commit(c, l) < i);
	cl_isolate(c, o, false);
	heartbeats(c, l, 2);
	assert_int_equal(cl_commit(c, l), i);
}

static void test_remove_leader(void **state)
{
	struct cluster *c = *state;
	raft_id l = settle(c);
	raft_index idx;
	assert_int_equal(raft_remove_server(cl_raft(c, l), l, &idx), 0);
	/* still leading until the entry commits */
	assert_int_equal(raft_role(cl_raft(c, l)), RAFT_LEADER);
	cl_stabilize(c);
	/* committed by the two others alone: the leader stepped down */
	assert_int_equal(raft_role(cl_raft(c, l)), RAFT_FOLLOWER);
	struct raft_status st = status(c, l);
	assert_true(st.commit_index >= idx);
	assert_null(peer(&st, l));
	/* the others elect a leader among themselves; the removed server
	 * stays quiet */
	raft_term t = raft_current_term(cl_raft(c, l));
	cl_isolate(c, l, true);
	raft_id n = 0;
	for (int k = 0; k < 100 && n == 0; k++) {
		cl_tick_all(c, 1);
		cl_stabilize(c);
		for (raft_id id = 1; id <= 3; id++)
			if (id != l && raft_role(cl_raft(c, id)) == RAFT_LEADER)
				n = id;
	}
	assert_true(n != 0);
	assert_int_equal(raft_current_term(cl_raft(c, l)), t);
	raft_index i = cl_propose(c, n, "after");
	cl_stabilize(c);
	assert_int_equal(cl_commit(c, n), i);
}

/* An uncommitted configuration entry is truncated: the follower falls back
 * to the configuration before it (Section 4.1). */
static void test_config_rollback_on_truncation(void **state)
{
	(void)state;
	struct cluster c;
	cl_init(&c, 5, 5, NULL);
	raft_id l = settle(&c);
	raft_id f = l == 1 ? 2 : 1;
	raft_id gone = l == 5 ? 4 : 5;
	raft_index idx;
	assert_int_equal(raft_remove_server(cl_raft(&c, l), gone, &idx), 0);
	cl_ready(&c, l);
	/* only f receives it */
	struct cl_msg m;
	while (cl_take(&c, 0, 0, 0, &m)) {
		if (m.m.to == f)
			cl_deliver(&c, &m);
		else
			cl_msg_free(&m);
	}
	cl_drop_all(&c);
	struct raft_status st = status(&c, f);
	assert_int_equal(st.config_index, idx);
	assert_int_equal(st.n_peers, 4);
	assert_false(st.config_committed);

	cl_crash(&c, l);
	cl_isolate(&c, f, true);
	raft_id n = 0;
	for (int k = 0; k < 200 && n == 0; k++) {
		cl_tick_all(&c, 1);
		cl_stabilize(&c);
		for (raft_id id = 1; id <= 5; id++)
			if (id != l && id != f && c.nodes[id].up &&
			    raft_role(cl_raft(&c, id)) == RAFT_LEADER)
				n = id;
	}
	assert_true(n != 0);
	cl_propose(&c, n, "overwrite");
	cl_stabilize(&c);
	cl_isolate(&c, f, false);
	heartbeats(&c, n, 5);
	st = status(&c, f);
	assert_int_equal(st.n_peers, 5);
	assert_int_equal(st.config_index, 1);
	assert_true(st.config_committed);
	assert_int_equal(cl_last(&c, f), cl_last(&c, n));
	assert_int_equal(cl_log_get(&c, f, idx)->type, RAFT_ENTRY_NOOP);
	cl_close(&c);
}

static void test_change_refused_before_noop_commits(void **state)
{
	(void)state;
	struct cluster c;
	cl_init(&c, 2, 1, NULL);
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
	assert_int_equal(raft_add_server(r, 2, "h:2", NULL), RAFT_EBUSY);
	cl_ready(&c, 1);
	cl_complete(&c, 1);
	c.nodes[1].manual = false;
	cl_ready(&c, 1);
	assert_int_equal(raft_add_server(r, 2, "h:2", NULL), 0);
	cl_ready(&c, 1);
	cl_tick(&c, 1, 2);
	cl_stabilize(&c);
	assert_int_equal(cl_last(&c, 2), cl_last(&c, 1));
	cl_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_then_promote,
		                                setup_4_of_3, teardown),
		cmocka_unit_test_setup_teardown(test_remove_follower, setup3,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_remove_leader, setup3,
		                                teardown),
		cmocka_unit_test(test_config_rollback_on_truncation),
		cmocka_unit_test(test_change_refused_before_noop_commits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_ready.c -- ready.c and raft.c: the ready/advance bookkeeping
 * (persist before send, one batch outstanding, truncation while a batch is
 * outstanding, committed only once durable), start-up from persisted
 * state, and status. Driven by hand-crafted messages on a single core.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "raft.h"

static struct raft_config three(void)
{
	struct raft_config c;
	memset(&c, 0, sizeof(c));
	c.n = 3;
	for (unsigned k = 0; k < 3; k++) {
		c.servers[k].id = k + 1;
		c.servers[k].role = RAFT_VOTER;
		snprintf(c.servers[k].address, RAFT_ADDRESS_MAX, "h:%u", k + 1);
	}
	return c;
}

static struct raft *new_core(raft_id id, const struct raft_initial_state *s)
{
	struct raft_options o;
	raft_options_default(&o);
	o.id = id;
	o.seed = 42;
	char err[256];
	struct raft *r = raft_new(&o, s, err, sizeof(err));
	if (r == NULL)
		fail_msg("raft_new: %s", err);
	return r;
}

/* A bootstrapped follower 2 of {1,2,3} whose first batch (the bootstrap
 * entry) has been persisted. */
static struct raft *bootstrapped(void)
{
	struct raft_initial_state s;
	memset(&s, 0, sizeof(s));
	s.bootstrap = three();
	struct raft *r = new_core(2, &s);
	struct raft_ready rd;
	assert_true(raft_has_ready(r));
	raft_ready(r, &rd);
	raft_advance(r, &rd);
	return r;
}

static struct raft_message append(raft_term term, raft_index prev,
                                  raft_term prev_term, raft_index commit,
                                  const struct raft_entry *e, size_t n)
{
	struct raft_message m;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND;
	m.from = 1;
	m.to = 2;
	m.term = term;
	m.append.prev_index = prev;
	m.append.prev_term = prev_term;
	m.append.commit = commit;
	m.append.entries = e;
	m.append.n_entries = n;
	return m;
}

static struct raft_entry ent(raft_index index, raft_term term, const char *s)
{
	struct raft_entry e;
	memset(&e, 0, sizeof(e));
	e.index = index;
	e.term = term;
	e.type = RAFT_ENTRY_NORMAL;
	e.data = s;
	e.len = strlen(s);
	return e;
}

static void test_bootstrap_first_batch(void **state)
{
	(void)state;
	struct raft_initial_state s;
	memset(&s, 0, sizeof(s));
	s.bootstrap = three();
	struct raft *r = new_core(1, &s);
	assert_int_equal(raft_current_term(r), 0);
	assert_int_equal(raft_role(r), RAFT_FOLLOWER);
	struct raft_ready rd;
	raft_ready(r, &rd);
	assert_false(rd.has_hard_state); /* term stays 0 until an election */
	assert_int_equal(rd.n_entries, 1);
	assert_int_equal(rd.entries[0].index, 1);
	assert_int_equal(rd.entries[0].term, 1);
	assert_int_equal(rd.entries[0].type, RAFT_ENTRY_CONFIG);
	struct raft_config c;
	assert_int_equal(raft_config_decode(rd.entries[0].data,
	                                    rd.entries[0].len, &c), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(rd.n_committed, 0);
	assert_int_equal(rd.n_messages + rd.n_messages_now, 0);
	assert_false(raft_has_ready(r)); /* outstanding */
	raft_advance(r, &rd);
	assert_false(raft_has_ready(r));
	struct raft_status st;
	raft_status(r, &st);
	assert_int_equal(st.last_index, 1);
	assert_int_equal(st.commit_index, 0);
	assert_int_equal(st.config_index, 1);
	assert_false(st.config_committed);
	assert_int_equal(st.n_peers, 3);
	raft_free(r);
}

static void test_response_waits_for_persistence(void **state)
{
	(void)state;
	struct raft *r = bootstrapped();
	struct raft_entry e[2] = {ent(2, 2, "a"), ent(3, 2, "b")};
	struct raft_message m = append(2, 1, 1, 3, e, 2);
	assert_int_equal(raft_step(r, &m), 0);
	struct raft_ready rd;
	raft_ready(r, &rd);
	/* term 2 adopted and persisted with the entries; the ack waits */
	assert_true(rd.has_hard_state);
	assert_int_equal(rd.hard_state.term, 2);
	assert_int_equal(rd.hard_state.vote, 0);
	assert_int_equal(rd.n_entries, 2);
	assert_int_equal(rd.n_messages_now, 0);
	assert_int_equal(rd.n_messages, 1);
	assert_int_equal(rd.messages[0].type, RAFT_MSG_APPEND_RESP);
	assert_true(rd.messages[0].append_resp.success);
	assert_int_equal(rd.messages[0].append_resp.index, 3);
	/* commit = min(leaderCommit 3, last new 3), but only what is
	 * already durable (the bootstrap entry) may be applied */
	assert_int_equal(rd.n_committed, 1);
	assert_int_equal(rd.committed[0].index, 1);
	raft_advance(r, &rd);
	assert_true(raft_has_ready(r));
	raft_ready(r, &rd);
	assert_int_equal(rd.n_committed, 2);
	assert_int_equal(rd.committed[0].index, 2);
	assert_int_equal(rd.committed[1].index, 3);
	assert_memory_equal(rd.committed[1].data, "b", 1);
	raft_advance(r, &rd);
	struct raft_status st;
	raft_status(r, &st);
	assert_int_equal(st.applied_index, 3);
	assert_true(st.config_committed);
	raft_free(r);
}

static void test_follower_commit_is_min_of_last_new_entry(void **state)
{
	(void)state;
	struct raft *r = bootstrapped();
	struct raft_ready rd;
	/* A term-2 leader gives us 2..6 (uncommitted). */
	struct raft_entry e[5] = {ent(2, 2, "a"), ent(3, 2, "b"), ent(4, 2, "c"),
	                          ent(5, 2, "d"), ent(6, 2, "e")};
	struct raft_message m = append(2, 1, 1, 1, e, 5);
	raft_step(r, &m);
	raft_ready(r, &rd);
	raft_advance(r, &rd);
	/* The same leader, in a message covering only 2..3 and a commit of
	 * 6: Figure 2 says min(leaderCommit, index of last new entry) = 3,
	 * not our last index. */
	m = append(2, 1, 1, 6, e, 2);
	raft_step(r, &m);
	struct raft_status st;
	raft_status(r, &st);
	assert_int_equal(st.commit_index, 3);
	assert_int_equal(st.last_index, 6); /* nothing truncated */
	raft_ready(r, &rd);
	assert_int_equal(rd.truncate_from, 0);
	assert_int_equal(rd.n_entries, 0);
	raft_advance(r, &rd);
	/* A heartbeat with prev = 6 moves commit to 6. */
	m = append(2, 6, 2, 6, NULL, 0);
	raft_step(r, &m);
	raft_status(r, &st);
	assert_int_equal(st.commit_index, 6);
	raft_free(r);
}

static void test_duplicate_and_reordered_appends(void **state)
{
	(void)state;
	struct raft *r = bootstrapped();
	struct raft_ready rd;
	struct raft_entry e[4] = {ent(2, 2, "a"), ent(3, 2, "b"), ent(4, 2, "c"),
	                          ent(5, 2, "d")};
	struct raft_message big = append(2, 1, 1, 1, e, 4);
	struct raft_message small = append(2, 1, 1, 1, e, 2);
	struct raft_message mid = append(2, 2, 2, 1, e + 1, 2);
	raft_step(r, &big);
	raft_ready(r, &rd);
	raft_advance(r, &rd);
	/* older, shorter messages arrive late, and a duplicate */
	raft_step(r, &small);
	raft_step(r, &mid);
	raft_step(r, &big);
	raft_ready(r, &rd);
	assert_int_equal(rd.truncate_from, 0);
	assert_int_equal(rd.n_entries, 0);
	/* all three acknowledge durable entries only: no need to wait */
	assert_int_equal(rd.n_messages, 0);
	assert_int_equal(rd.n_messages_now, 3);
	assert_int_equal(rd.messages_now[0].append_resp.index, 3);
	assert_int_equal(rd.messages_now[1].append_resp.index, 4);
	assert_int_equal(rd.messages_now[2].append_resp.index, 5);
	raft_advance(r, &rd);
	struct raft_status st;
	raft_status(r, &st);
	assert_int_equal(st.last_index, 5);
	raft_free(r);
}

struct sent {
	struct raft_message m[8];
	size_t n;
};

static void collect(void *arg, const struct raft_message *m)
{
	struct sent *out = arg;
	assert_true(out->n < 8);
	out->m[out->n++] = *m;
}

/* A slow disk must not silence a follower: while a batch of entries is
 * being persisted, a heartbeat is answered at once with what is durable
 * (raft_flush_now), which also confirms the leader's ReadIndex round; the
 * acknowledgement of the entries in flight still waits for the batch. */
static void test_heartbeat_answered_while_batch_outstanding(void **state)
{
	(void)state;
	struct raft *r = bootstrapped();
	struct raft_ready rd;
	struct raft_entry e[4] = {ent(2, 2, "a"), ent(3, 2, "b"), ent(4, 2, "c"),
	                          ent(5, 2, "d")};
	struct raft_message m = append(2, 1, 1, 1, e, 2);
	raft_step(r, &m);
	raft_ready(r, &rd);
	raft_advance(r, &rd); /* term 2 and 2..3 durable */

	m = append(2, 3, 2, 3, e + 2, 2);
	raft_step(r, &m);
	raft_ready(r, &rd); /* 4..5 being persisted */
	assert_int_equal(rd.n_entries, 2);
	assert_int_equal(rd.n_messages, 1);
	assert_int_equal(rd.messages[0].append_resp.index, 5);

	struct raft_message hb = append(2, 5, 2, 3, NULL, 0);
	hb.append.read_ctx = 7;
	raft_step(r, &hb);
	assert_false(raft_has_ready(r));
	assert_true(raft_has_now(r));
	struct sent out = {.n = 0};
	assert_int_equal(raft_flush_now(r, collect, &out), 1);
	assert_int_equal(out.m[0].type, RAFT_MSG_APPEND_RESP);
	assert_true(out.m[0].append_resp.success);
	assert_int_equal(out.m[0].append_resp.index, 3); /* durable only */
	assert_int_equal(out.m[0].append_resp.read_ctx, 7);
	assert_int_equal(out.m[0].term, 2);
	assert_false(raft_has_now(r));
	raft_advance(r, &rd);

	/* the full answer to the heartbeat follows the batch */
	assert_true(raft_has_ready(r));
	raft_ready(r, &rd);
	assert_int_equal(rd.n_messages_now, 0);
	assert_int_equal(rd.n_messages, 1);
	assert_int_equal(rd.messages[0].append_resp.index, 5);
	assert_int_equal(rd.messages[0].append_resp.read_ctx, 7);
	raft_advance(r, &rd);

	/* now that 5 is durable, a heartbeat is answered in full at once */
	raft_step(r, &hb);
	out.n = 0;
	assert_int_equal(raft_flush_now(r, collect, &out), 1);
	assert_int_equal(out.m[0].append_resp.index, 5);
	raft_free(r);
}

/* Nothing leaves early while the term it carries is not durable: a new
 * term in flight holds every answer, early or not, until its batch is
 * advanced. */
static void test_no_early_answer_while_term_in_flight(void **state)
{
	(void)state;
	struct raft *r = bootstrapped();
	struct raft_ready rd;
	struct raft_entry e[1] = {ent(2, 3, "a")};
	struct raft_message m = append(3, 1, 1, 1, e, 1);
	raft_step(r, &m);
	raft_ready(r, &rd);
	assert_true(rd.has_hard_state); /* term 3 in flight */
	struct raft_message hb = append(3, 2, 3, 1, NULL, 0);
	raft_step(r, &hb);
	struct raft_message stale = append(3, 9, 3, 1, NULL, 0); /* reject */
	raft_step(r, &stale);
	assert_false(raft_has_now(r));
	struct sent out = {.n = 0};
	assert_int_equal(raft_flush_now(r, collect, &out), 0);
	raft_advance(r, &rd);
	raft_ready(r, &rd);
	assert_int_equal(rd.n_messages, 2); /* both answers, after the term */
	assert_int_equal(rd.messages[0].append_resp.index, 2);
	assert_false(rd.messages[1].append_resp.success);
	raft_advance(r, &rd);
	raft_free(r);
}

static void test_truncation_while_batch_outstanding(void **state)
{
	(void)state;
	struct raft *r = bootstrapped();
	struct raft_ready rd1, rd2;
	struct raft_entry old[3] = {ent(2, 2, "o2"), ent(3, 2, "o3"),
	                            ent(4, 2, "o4")};
	struct raft_message m = append(2, 1, 1, 1, old, 3);
	raft_step(r, &m);
	raft_ready(r, &rd1); /* outstanding: 2..4 of term 2 */
	assert_int_equal(rd1.n_entries, 3);

	/* A term-3 leader replaces 3.. before the batch is durable. */
	struct raft_entry neu[2] = {ent(3, 3, "n3"), ent(4, 3, "n4")};
	m = append(3, 2, 2, 1, neu, 2);
	m.from = 3;
	assert_int_equal(raft_step(r, &m), 0);
	assert_false(raft_has_ready(r));
	/* the outstanding batch is untouched */
	assert_int_equal(rd1.entries[1].term, 2);
	assert_memory_equal(rd1.entries[2].data, "o4", 2);
	raft_advance(r, &rd1);

	raft_ready(r, &rd2);
	assert_int_equal(rd2.truncate_from, 3);
	assert_int_equal(rd2.n_entries, 2);
	assert_int_equal(rd2.entries[0].index, 3);
	assert_int_equal(rd2.entries[0].term, 3);
	assert_true(rd2.has_hard_state);
	assert_int_equal(rd2.hard_state.term, 3);
	raft_advance(r, &rd2);
	struct raft_status st;
	raft_status(r, &st);
	assert_int_equal(st.last_index, 4);
	assert_int_equal(st.last_term, 3);
	raft_free(r);
}

static void test_entries_after_ready_go_to_next_batch(void **state)
{
	(void)state;
	/* Single voter: becomes leader on its own. */
	struct raft_config c;
	memset(&c, 0, sizeof(c));
	c.n = 1;
	c.servers[0].id = 1;
	c.servers[0].role = RAFT_VOTER;
	struct raft_initial_state s;
	memset(&s, 0, sizeof(s));
	s.bootstrap = c;
	struct raft *r = new_core(1, &s);
	for (int k = 0; k < 20 && raft_role(r) != RAFT_CANDIDATE; k++)
		raft_tick(r);
	assert_int_equal(raft_role(r), RAFT_CANDIDATE);
	assert_int_equal(raft_current_term(r), 1);

	/* Its vote for itself counts only once durable: the candidacy goes
	 * out in a batch first, and leadership comes with its advance. */
	struct raft_ready rd;
	raft_ready(r, &rd);
	assert_true(rd.has_hard_state);
	assert_int_equal(rd.hard_state.term, 1);
	assert_int_equal(rd.hard_state.vote, 1);
	assert_int_equal(rd.n_entries, 1); /* the bootstrap config */
	assert_int_equal(raft_role(r), RAFT_CANDIDATE);
	assert_int_equal(raft_propose(r, "x", 1, NULL, NULL), RAFT_ENOTLEADER);
	raft_advance(r, &rd);
	assert_int_equal(raft_role(r), RAFT_LEADER);

	/* The no-op and a proposal, both appended after the first batch was
	 * taken, go into the next one; only what is durable commits. */
	raft_index idx = 0;
	raft_term term = 0;
	assert_int_equal(raft_propose(r, "x", 1, &idx, &term), 0);
	assert_int_equal(idx, 3);
	assert_int_equal(term, 1);
	struct raft_status st;
	raft_status(r, &st);
	assert_int_equal(st.commit_index, 1);
	raft_ready(r, &rd);
	assert_false(rd.has_hard_state);
	assert_int_equal(rd.n_entries, 2);
	assert_int_equal(rd.entries[0].type, RAFT_ENTRY_NOOP);
	assert_int_equal(rd.entries[1].index, 3);
	assert_int_equal(rd.n_committed, 1);
	raft_advance(r, &rd);
	raft_status(r, &st);
	assert_int_equal(st.commit_index, 3);

	raft_ready(r, &rd);
	assert_int_equal(rd.n_entries, 0);
	assert_int_equal(rd.n_committed, 2);
	assert_int_equal(rd.committed[1].index, 3);
	/* the caller may snapshot what it is applying before advancing */
	assert_int_equal(raft_snapshot_taken(r, 4, 10, NULL), RAFT_EINVAL);
	assert_int_equal(raft_snapshot_taken(r, 3, 10, NULL), 0);
	raft_advance(r, &rd);
	assert_false(raft_has_ready(r));
	raft_free(r);
}

static void test_restart_state(void **state)
{
	(void)state;
	struct raft_config c = three();
	unsigned char buf[512];
	size_t len = raft_config_encode(&c, buf, sizeof(buf));
	struct raft_entry e[4];
	memset(e, 0, sizeof(e));
	e[0] = ent(5, 2, "a"); /* at the snapshot: ignored */
	e[1] = ent(6, 2, "b");
	e[2] = ent(7, 3, "c");
	e[3].index = 8;
	e[3].term = 3;
	e[3].type = RAFT_ENTRY_CONFIG;
	e[3].data = buf;
	e[3].len = len;
	struct raft_initial_state s;
	memset(&s, 0, sizeof(s));
	s.hard_state.term = 4;
	s.hard_state.vote = 3;
	s.snapshot.index = 5;
	s.snapshot.term = 2;
	s.snapshot.config = c;
	s.snapshot.size = 10;
	s.entries = e;
	s.n_entries = 4;
	s.applied = 6;
	struct raft *r = new_core(2, &s);
	struct raft_status st;
	raft_status(r, &st);
	assert_int_equal(st.term, 4);
	assert_int_equal(st.vote, 3);
	assert_int_equal(st.commit_index, 6);
	assert_int_equal(st.applied_index, 6);
	assert_int_equal(st.snapshot_index, 5);
	assert_int_equal(st.first_index, 6);
	assert_int_equal(st.last_index, 8);
	assert_int_equal(st.last_term, 3);
	assert_int_equal(st.config_index, 8);
	assert_false(st.config_committed);
	/* given entries are durable: nothing to hand out */
	assert_false(raft_has_ready(r));
	raft_free(r);

	/* applied below the snapshot is raised to it */
	s.applied = 0;
	r = new_core(2, &s);
	raft_status(r, &st);
	assert_int_equal(st.commit_index, 5);
	raft_free(r);
}

static void test_raft_new_rejects_bad_state(void **state)
{
	(void)state;
	struct raft_options o;
	raft_options_default(&o);
	o.id = 1;
	char err[256];
	struct raft_entry e[2] = {ent(1, 1, "a"), ent(3, 1, "c")};
	struct raft_initial_state s;
	memset(&s, 0, sizeof(s));
	s.entries = e;
	s.n_entries = 2;
	assert_null(raft_new(&o, &s, err, sizeof(err)));
	assert_true(strstr(err, "gap") != NULL);

	e[1] = ent(2, 0, "b");
	assert_null(raft_new(&o, &s, err, sizeof(err)));

	e[1] = ent(2, 1, "b");
	s.applied = 3;
	assert_null(raft_new(&o, &s, err, sizeof(err)));
	assert_true(strstr(err, "applied") != NULL);

	s.applied = 2;
	struct raft *r = raft_new(&o, &s, err, sizeof(err));
	assert_non_null(r);
	raft_free(r);

	o.id = 0;
	assert_null(raft_new(&o, &s, err, sizeof(err)));
	o.id = 1;
	o.heartbeat_ticks = o.election_ticks;
	assert_null(raft_new(&o, &s, NULL, 0));
}

static void test_errors_and_names(void **state)
{
	(void)state;
	struct raft *r = bootstrapped();
	assert_int_equal(raft_propose(r, "x", 1, NULL, NULL), RAFT_ENOTLEADER);
	assert_true(strlen(raft_errmsg(r)) > 0);
	assert_int_equal(raft_read_index(r, 1), RAFT_ENOTLEADER);
	assert_int_equal(raft_add_server(r, 9, "h:9", NULL), RAFT_ENOTLEADER);
	assert_int_equal(raft_transfer_leadership(r, 0), RAFT_ENOTLEADER);
	assert_int_equal(raft_snapshot_taken(r, 5, 1, NULL), RAFT_EINVAL);
	for (int k = 0; k <= RAFT_EREMOVED; k++)
		assert_non_null(raft_strerror(k));
	assert_string_equal(raft_role_name(RAFT_LEADER), "leader");
	assert_string_equal(raft_role_name(RAFT_PRECANDIDATE), "pre-candidate");
	/* messages for someone else or from ourselves are ignored */
	struct raft_message m = append(5, 1, 1, 1, NULL, 0);
	m.to = 3;
	assert_int_equal(raft_step(r, &m), 0);
	m.to = 2;
	m.from = 2;
	assert_int_equal(raft_step(r, &m), 0);
	assert_int_equal(raft_current_term(r), 0);
	raft_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bootstrap_first_batch),
		cmocka_unit_test(test_response_waits_for_persistence),
		cmocka_unit_test(test_follower_commit_is_min_of_last_new_entry),
		cmocka_unit_test(test_duplicate_and_reordered_appends),
		cmocka_unit_test(test_heartbeat_answered_while_batch_outstanding),
		cmocka_unit_test(test_no_early_answer_while_term_in_flight),
		cmocka_unit_test(test_truncation_while_batch_outstanding),
		cmocka_unit_test(test_entries_after_ready_go_to_next_batch),
		cmocka_unit_test(test_restart_state),
		cmocka_unit_test(test_raft_new_rejects_bad_state),
		cmocka_unit_test(test_errors_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

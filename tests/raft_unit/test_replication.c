/*
 * test_replication.c -- replication.c and progress.c: replication and
 * commitment, the leader's own persistence, truncation only on a real
 * conflict, fast backup, the Figure 8 commitment rule, batching,
 * pipelining, recovery from lost APPENDs, and the entry size limit.
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

static int setup3(void **state)
{
	struct cluster *c = malloc(sizeof(*c));
	cl_init(c, 3, 3, NULL);
	*state = c;
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

static const struct raft_peer_status *peer(const struct raft_status *st,
                                           raft_id id)
{
	for (unsigned k = 0; k < st->n_peers; k++)
		if (st->peers[k].id == id)
			return &st->peers[k];
	fail_msg("no peer %llu", (unsigned long long)id);
	return NULL;
}

static void test_replicate_and_commit(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_index a = cl_propose(c, l, "a");
	raft_index b = cl_propose(c, l, "b");
	assert_int_equal(b, a + 1);
	cl_stabilize(c);
	assert_int_equal(cl_commit(c, l), b);
	assert_int_equal(c->nodes[l].applied, b);
	cl_tick(c, l, 1);
	cl_stabilize(c);
	for (raft_id id = 1; id <= 3; id++) {
		assert_int_equal(cl_commit(c, id), b);
		assert_int_equal(c->nodes[id].applied, b);
		const struct cl_entry *e = cl_log_get(c, id, b);
		assert_non_null(e);
		assert_memory_equal(e->data, "b", 1);
	}
	struct raft_status st = status(c, l);
	for (raft_id id = 1; id <= 3; id++) {
		const struct raft_peer_status *p = peer(&st, id);
		assert_int_equal(p->match_index, b);
		assert_int_equal(p->next_index, b + 1);
		assert_int_equal(p->progress, RAFT_PROGRESS_REPLICATE);
	}
}

/* Section 10.2.1: followers' acknowledgements may commit an entry before
 * the leader's own write completes; the leader applies it only once it is
 * durable locally. */
static void test_commit_before_leader_persists(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	c->nodes[l].manual = true;
	raft_index i = cl_propose(c, l, "x"); /* batch taken, outstanding */
	assert_true(c->nodes[l].inflight);
	assert_int_equal(c->nodes[l].rd.n_entries, 1);
	cl_stabilize(c); /* followers persist and ack */
	assert_int_equal(cl_commit(c, l), i);
	assert_true(c->nodes[l].applied < i);
	c->nodes[l].manual = false;
	cl_ready(c, l);
	assert_int_equal(c->nodes[l].applied, i);
}

/* A leader that alone persisted an entry cannot commit it. */
static void test_no_commit_without_majority(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	cl_isolate(c, l, true);
	raft_index i = cl_propose(c, l, "lonely");
	cl_stabilize(c);
	assert_true(cl_commit(c, l) < i);
	cl_isolate(c, l, false);
	cl_tick(c, l, 1);
	cl_stabilize(c);
	assert_int_equal(cl_commit(c, l), i);
}

/* A follower holding a long divergent suffix of an older term: fast backup
 * (conflict_term / conflict_index) finds the divergence point with one
 * rejection instead of one per entry, and the suffix is truncated (a real
 * conflict). */
static void test_conflict_truncation_and_fast_backup(void **state)
{
	struct cluster *c = *state;
	cl_ready_all(c); /* 1@1 durable everywhere */
	for (raft_id id = 1; id <= 3; id++)
		cl_crash(c, id);
	for (raft_index i = 2; i <= 10; i++)
		for (raft_id id = 1; id <= 3; id++)
			cl_store_put(c, id, i, 2, "common");
	for (raft_index i = 11; i <= 20; i++) {
		cl_store_put(c, 1, i, 4, "good");
		cl_store_put(c, 3, i, 4, "good");
	}
	for (raft_index i = 11; i <= 30; i++)
		cl_store_put(c, 2, i, 3, "stale");
	cl_store_hs(c, 1, 4, 1);
	cl_store_hs(c, 3, 4, 1);
	cl_store_hs(c, 2, 3, 0);
	for (raft_id id = 1; id <= 3; id++)
		cl_start(c, id);
	cl_isolate(c, 2, true);
	cl_campaign(c, 1);
	assert_int_equal(raft_role(cl_raft(c, 1)), RAFT_LEADER);
	assert_int_equal(raft_current_term(cl_raft(c, 1)), 5);
	cl_isolate(c, 2, false);

	unsigned rejections = 0;
	for (int k = 0; k < 10; k++) {
		cl_tick(c, 1, 1);
		struct cl_msg m;
		while (cl_take(c, 0, 0, 0, &m)) {
			if (m.m.type == RAFT_MSG_APPEND_RESP && m.m.from == 2 &&
			    !m.m.append_resp.success) {
				rejections++;
				assert_int_equal(m.m.append_resp.conflict_term, 3);
				assert_int_equal(m.m.append_resp.conflict_index, 11);
			}
			cl_deliver(c, &m);
		}
	}
	assert_int_equal(rejections, 1);
	assert_int_equal(cl_last(c, 2), 21);
	assert_int_equal(cl_commit(c, 2), 21);
	for (raft_index i = 11; i <= 20; i++)
		assert_int_equal(cl_log_get(c, 2, i)->term, 4);
	assert_int_equal(cl_log_get(c, 2, 21)->term, 5);
	assert_null(cl_log_get(c, 2, 22));
	assert_int_equal(c->nodes[2].applied, 21);
}

/* Figure 8: an entry of an older term stored on a majority is not
 * committed by counting replicas; it commits only with an entry of the
 * leader's own term. */
static void test_figure8(void **state)
{
	(void)state;
	struct cluster c;
	struct raft_options o;
	cl_default_options(&o);
	o.max_entries_per_msg = 1;
	cl_init(&c, 5, 5, &o);
	cl_ready_all(&c); /* bootstrap entry 1@1 durable everywhere */
	for (raft_id id = 1; id <= 5; id++)
		cl_crash(&c, id);
	/* (a) S1 led term 2 and replicated 2@2 to S2 only. (b) S5 led term
	 * 3 with votes of S3, S4, S5 and wrote 2@3 locally. */
	cl_store_put(&c, 1, 2, 2, "from-s1");
	cl_store_hs(&c, 1, 3, 0);
	cl_store_put(&c, 2, 2, 2, "from-s1");
	cl_store_hs(&c, 2, 2, 1);
	cl_store_hs(&c, 3, 3, 5);
	cl_store_hs(&c, 4, 3, 5);
	cl_store_put(&c, 5, 2, 3, "from-s5");
	cl_store_hs(&c, 5, 3, 5);
	/* (c) S5 is down, S2 unreachable; S1 is elected in term 4 by S1,
	 * S3, S4 and replicates 2@2 to S3 and S4. */
	cl_start(&c, 1);
	cl_start(&c, 3);
	cl_start(&c, 4);
	cl_isolate(&c, 2, true);
	/* hold back every APPEND carrying the term-4 no-op (index 3) */
	struct cl_msg held[256];
	unsigned n_held = 0;
	for (int round = 0; round < 60; round++) {
		struct raft_status cur;
		raft_status(cl_raft(&c, 1), &cur);
		if (cur.role == RAFT_LEADER && peer(&cur, 3)->match_index == 2 &&
		    peer(&cur, 4)->match_index == 2)
			break;
		struct cl_msg m;
		while (cl_take(&c, 0, 0, 0, &m)) {
			if (m.m.type == RAFT_MSG_APPEND &&
			    m.m.append.n_entries > 0 &&
			    m.m.append.entries[m.m.append.n_entries - 1].index >=
			            3) {
				assert_true(n_held < 256);
				held[n_held++] = m;
				continue;
			}
			cl_deliver(&c, &m);
		}
		cl_tick(&c, 1, 1);
	}
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_LEADER);
	assert_int_equal(raft_current_term(cl_raft(&c, 1)), 4);
	struct raft_status st;
	raft_status(cl_raft(&c, 1), &st);
	assert_int_equal(peer(&st, 3)->match_index, 2);
	assert_int_equal(peer(&st, 4)->match_index, 2);
	/* 2@2 is on S1, S2, S3, S4: a majority, but of term 2 */
	assert_true(st.commit_index < 2);
	assert_true(n_held > 0);
	for (unsigned k = 0; k < n_held; k++)
		cl_deliver(&c, &held[k]);
	cl_stabilize(&c);
	assert_int_equal(cl_commit(&c, 1), 3);
	assert_int_equal(c.nodes[1].applied, 3);
	cl_drop_all(&c);
	cl_close(&c);
}

static void test_pipelining_and_batching(void **state)
{
	(void)state;
	struct cluster c;
	cl_init(&c, 2, 2, NULL); /* max 8 entries, 4096 bytes, 4 inflight */
	raft_id l = cl_run_until_leader(&c, 100);
	raft_id f = 3 - l;
	cl_tick(&c, l, 1);
	cl_stabilize(&c);
	struct raft_status st = status(&c, l);
	assert_int_equal(peer(&st, f)->progress, RAFT_PROGRESS_REPLICATE);

	/* 20 proposals without delivery: at most max_inflight APPENDs */
	for (int k = 0; k < 20; k++)
		cl_propose(&c, l, "p");
	assert_int_equal(cl_count(&c, l, f, RAFT_MSG_APPEND), 4);
	st = status(&c, l);
	assert_int_equal(peer(&st, f)->inflight, 4);

	/* acknowledgements free the pipeline; the backlog goes in batches
	 * of at most max_entries_per_msg */
	size_t max_seen = 0;
	for (int k = 0; k < 100; k++) {
		struct cl_msg m;
		if (!cl_take(&c, 0, 0, 0, &m))
			break;
		if (m.m.type == RAFT_MSG_APPEND) {
			if (m.m.append.n_entries > max_seen)
				max_seen = m.m.append.n_entries;
			assert_true(m.m.append.n_entries <= 8);
		}
		assert_true(cl_count(&c, l, f, RAFT_MSG_APPEND) <= 4);
		cl_deliver(&c, &m);
	}
	assert_int_equal(max_seen, 8);
	assert_int_equal(cl_commit(&c, l), 22);

	/* bytes bound: 1500-byte entries, 4096 bytes per message */
	char big[1501];
	memset(big, 'b', 1500);
	big[1500] = '\0';
	for (int k = 0; k < 4; k++)
		cl_propose(&c, l, "s"); /* fill the pipeline */
	for (int k = 0; k < 6; k++)
		cl_propose(&c, l, big);
	unsigned seen_two = 0;
	for (int k = 0; k < 100; k++) {
		struct cl_msg m;
		if (!cl_take(&c, 0, 0, 0, &m))
			break;
		if (m.m.type == RAFT_MSG_APPEND && m.m.append.n_entries > 1) {
			size_t bytes = 0;
			for (size_t j = 0; j < m.m.append.n_entries; j++)
				bytes += m.m.append.entries[j].len;
			assert_true(bytes <= 4096);
			if (m.m.append.entries[0].len == 1500)
				seen_two++;
		}
		cl_deliver(&c, &m);
	}
	assert_true(seen_two > 0);
	assert_int_equal(cl_commit(&c, l), 32);
	cl_close(&c);
}

static void test_lost_appends_recover(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id f = l == 1 ? 2 : 1;
	for (int k = 0; k < 3; k++)
		cl_propose(c, l, "lost");
	/* every APPEND to f is lost */
	struct cl_msg m;
	while (cl_take(c, l, f, RAFT_MSG_APPEND, &m))
		cl_msg_free(&m);
	cl_stabilize(c);
	raft_index last = cl_last(c, l);
	assert_int_equal(cl_commit(c, l), last);
	assert_true(cl_last(c, f) < last);
	/* heartbeats expose the gap; the leader probes back */
	for (int k = 0; k < 5; k++) {
		cl_tick(c, l, 1);
		cl_stabilize(c);
	}
	assert_int_equal(cl_last(c, f), last);
	assert_int_equal(cl_commit(c, f), last);
	struct raft_status st = status(c, l);
	assert_int_equal(peer(&st, f)->progress, RAFT_PROGRESS_REPLICATE);
}

static void test_follower_restart_catches_up(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id f = l == 1 ? 2 : 1;
	cl_crash(c, f);
	for (int k = 0; k < 12; k++)
		cl_propose(c, l, "while-down");
	cl_stabilize(c);
	cl_start(c, f);
	for (int k = 0; k < 5; k++) {
		cl_tick(c, l, 1);
		cl_stabilize(c);
	}
	assert_int_equal(cl_last(c, f), cl_last(c, l));
	assert_int_equal(c->nodes[f].applied, cl_commit(c, l));
}

static void test_propose_errors(void **state)
{
	struct cluster *c = *state;
	raft_id l = leader3(c);
	raft_id f = l == 1 ? 2 : 1;
	assert_int_equal(raft_propose(cl_raft(c, f), "x", 1, NULL, NULL),
	                 RAFT_ENOTLEADER);
	char *big = calloc(1, 4097);
	assert_int_equal(raft_propose(cl_raft(c, l), big, 4097, NULL, NULL),
	                 RAFT_ETOOBIG);
	free(big);
	assert_int_equal(raft_propose(cl_raft(c, l), NULL, 3, NULL, NULL),
	                 RAFT_EINVAL);
	/* an empty normal entry is fine */
	raft_index i;
	assert_int_equal(raft_propose(cl_raft(c, l), NULL, 0, &i, NULL), 0);
	cl_stabilize(c);
	assert_int_equal(cl_commit(c, l), i);
}

/* max_entry_bytes bounds proposals on its own: an entry bigger than the
 * batching bound (max_bytes_per_msg) is accepted up to it, goes alone in
 * its APPEND and commits like any other; one byte more is refused. */
static void test_entry_limit(void **state)
{
	(void)state;
	struct raft_options o;
	cl_default_options(&o); /* 4096 bytes per message */
	o.max_entry_bytes = 10000;
	struct cluster c;
	cl_init(&c, 3, 3, &o);
	raft_id l = leader3(&c);
	struct raft *r = cl_raft(&c, l);

	char *big = malloc(10001);
	assert_non_null(big);
	memset(big, 'B', 10001);
	assert_int_equal(raft_propose(r, big, 10001, NULL, NULL), RAFT_ETOOBIG);
	assert_non_null(strstr(raft_errmsg(r), "10000 byte entry limit"));

	/* small, big, small: the big one travels alone */
	cl_propose(&c, l, "s");
	raft_index bi;
	assert_int_equal(raft_propose(r, big, 10000, &bi, NULL), 0);
	cl_ready(&c, l);
	raft_index last = cl_propose(&c, l, "t");
	unsigned alone = 0;
	for (int k = 0; k < 200; k++) {
		struct cl_msg m;
		if (!cl_take(&c, 0, 0, 0, &m))
			break;
		if (m.m.type == RAFT_MSG_APPEND) {
			size_t bytes = 0;
			bool has_big = false;
			for (size_t j = 0; j < m.m.append.n_entries; j++) {
				bytes += m.m.append.entries[j].len;
				has_big |= m.m.append.entries[j].index == bi;
			}
			if (has_big) {
				assert_int_equal(m.m.append.n_entries, 1);
				alone++;
			} else {
				assert_true(bytes <= 4096);
			}
		}
		cl_deliver(&c, &m);
	}
	assert_int_equal(alone, 2); /* once to each follower */
	cl_tick(&c, l, 1);
	cl_stabilize(&c);
	for (raft_id id = 1; id <= 3; id++) {
		assert_int_equal(cl_commit(&c, id), last);
		assert_int_equal(c.nodes[id].applied, last);
		const struct cl_entry *e = cl_log_get(&c, id, bi);
		assert_non_null(e);
		assert_int_equal(e->len, 10000);
		assert_memory_equal(e->data, big, 10000);
	}

	/* the default (0) keeps the limit at max_bytes_per_msg */
	struct raft_options d;
	raft_options_default(&d);
	assert_int_equal(d.max_entry_bytes, 0);
	free(big);
	cl_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replicate_and_commit, setup3,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_commit_before_leader_persists,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(test_no_commit_without_majority,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(
			test_conflict_truncation_and_fast_backup, setup3, teardown),
		cmocka_unit_test(test_figure8),
		cmocka_unit_test(test_pipelining_and_batching),
		cmocka_unit_test_setup_teardown(test_lost_appends_recover, setup3,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_follower_restart_catches_up,
		                                setup3, teardown),
		cmocka_unit_test_setup_teardown(test_propose_errors, setup3,
		                                teardown),
		cmocka_unit_test(test_entry_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

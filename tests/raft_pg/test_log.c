/*
 * test_log.c -- raft_pg_log: the log and hard-state half of pgs_persist and
 * pgs_load against a real PostgreSQL: append, truncate, compact (behind a
 * snapshot), durability of term and vote across close/reopen, refusal of
 * batches that would break the log, corruption found at load (a gap, an
 * applied index beyond the log, a log not continuing the snapshot, a
 * damaged snapshot), and a 70 MiB batch split into several statements.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgsfix.h"

static int setup(void **state)
{
	*state = fx_new("raft_pg_log", 1, NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* Entries 1..n: config at 1, noop at 2, then puts, all in term `term`. */
static void make_log(struct fx_entries *l, raft_index n, raft_term term)
{
	fx_add_config(l, 1, term, 3);
	if (n >= 2)
		fx_add(l, 2, term, RAFT_ENTRY_NOOP, NULL, 0);
	for (raft_index i = 3; i <= n; i++) {
		char key[32], val[64];
		snprintf(key, sizeof key, "k%llu", (unsigned long long)i);
		snprintf(val, sizeof val, "value of entry %llu",
		         (unsigned long long)i);
		fx_add_put(l, i, term, 0, 0, key, val, strlen(val));
	}
}

static void assert_entries_equal(const struct raft_entry *a,
                                 const struct raft_entry *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].index, b[i].index);
		assert_int_equal(a[i].term, b[i].term);
		assert_int_equal(a[i].type, b[i].type);
		assert_int_equal(a[i].len, b[i].len);
		if (a[i].len)
			assert_memory_equal(a[i].data, b[i].data, a[i].len);
	}
}

static void test_empty_load(void **state)
{
	struct fx *f = *state;
	struct raft_initial_state s;
	fx_load(f, &s);
	assert_int_equal(s.hard_state.term, 0);
	assert_int_equal(s.hard_state.vote, 0);
	assert_int_equal(s.snapshot.index, 0);
	assert_int_equal(s.n_entries, 0);
	assert_int_equal(s.applied, 0);
	assert_int_equal(s.bootstrap.n, 0);
	/* an empty batch is free: no transaction at all */
	struct raft_ready rd;
	memset(&rd, 0, sizeof rd);
	fx_persist(f, &rd, NULL);
}

static void test_append_truncate(void **state)
{
	struct fx *f = *state;
	struct fx_entries l = {0};
	make_log(&l, 10, 1);
	struct raft_ready rd;
	fx_ready_append_commit(&rd, &l, 0, 10, false);
	rd.has_hard_state = true;
	rd.hard_state.term = 1;
	rd.hard_state.vote = 1;
	fx_persist(f, &rd, NULL);

	struct raft_initial_state s;
	fx_load(f, &s);
	assert_int_equal(s.n_entries, 10);
	assert_entries_equal(s.entries, l.v, 10);
	assert_int_equal(s.hard_state.term, 1);

	/* a new leader overwrites 7.. with entries of term 2 */
	struct fx_entries l2 = {0};
	fx_add(&l2, 7, 2, RAFT_ENTRY_NOOP, NULL, 0);
	fx_add_put(&l2, 8, 2, 0, 0, "x", "y", 1);
	fx_ready_append_commit(&rd, &l2, 0, 2, false);
	rd.truncate_from = 7;
	rd.has_hard_state = true;
	rd.hard_state.term = 2;
	rd.hard_state.vote = 2;
	fx_persist(f, &rd, NULL);
	fx_load(f, &s);
	assert_int_equal(s.n_entries, 8);
	assert_entries_equal(s.entries, l.v, 6);
	assert_entries_equal(s.entries + 6, l2.v, 2);
	assert_int_equal(s.hard_state.term, 2);
	assert_int_equal(s.hard_state.vote, 2);

	/* truncating at or below the applied index is refused */
	fx_ready_append_commit(&rd, &l, 0, 5, true);
	rd.n_entries = 0;
	fx_persist(f, &rd, (struct pgs_apply_result[5]){0});
	memset(&rd, 0, sizeof rd);
	rd.truncate_from = 5;
	assert_int_equal(pgs_persist(f->pgs, &rd, NULL), PGS_ECORRUPT);
	assert_non_null(strstr(pgs_errmsg(f->pgs), "truncate"));
	/* the handle refuses writes until reloaded; nothing changed */
	memset(&rd, 0, sizeof rd);
	rd.has_hard_state = true;
	rd.hard_state.term = 9;
	assert_int_equal(pgs_persist(f->pgs, &rd, NULL), PGS_EBROKEN);
	fx_load(f, &s);
	assert_int_equal(s.n_entries, 8);
	assert_int_equal(s.applied, 5);
	assert_int_equal(s.hard_state.term, 2);

	/* an append that duplicates an existing index fails and rolls back
	 * the hard state written in the same transaction */
	fx_ready_append_commit(&rd, &l2, 1, 1, false);
	rd.has_hard_state = true;
	rd.hard_state.term = 3;
	assert_int_equal(pgs_persist(f->pgs, &rd, NULL), PGS_EDB);
	assert_non_null(strstr(pgs_errmsg(f->pgs),
	                       "could not append entries 8..8"));
	fx_load(f, &s);
	assert_int_equal(s.hard_state.term, 2);

	/* entries must be contiguous */
	struct fx_entries l3 = {0};
	fx_add(&l3, 9, 2, RAFT_ENTRY_NOOP, NULL, 0);
	fx_add(&l3, 11, 2, RAFT_ENTRY_NOOP, NULL, 0);
	fx_ready_append_commit(&rd, &l3, 0, 2, false);
	assert_int_equal(pgs_persist(f->pgs, &rd, NULL), PGS_ECORRUPT);
	fx_load(f, &s);
	assert_int_equal(s.n_entries, 8);

	fx_entries_free(&l);
	fx_entries_free(&l2);
	fx_entries_free(&l3);
}

static void test_hard_state_durable(void **state)
{
	struct fx *f = *state;
	struct raft_ready rd;
	memset(&rd, 0, sizeof rd);
	rd.has_hard_state = true;
	rd.hard_state.term = 5;
	rd.hard_state.vote = 3;
	fx_persist(f, &rd, NULL);
	fx_close_handle(f);
	fx_open(f);
	struct raft_initial_state s;
	fx_load(f, &s);
	assert_int_equal(s.hard_state.term, 5);
	assert_int_equal(s.hard_state.vote, 3);
	/* a new term clears the vote; a huge term survives too */
	rd.hard_state.term = UINT64_C(1) << 40;
	rd.hard_state.vote = 0;
	fx_persist(f, &rd, NULL);
	fx_close_handle(f);
	fx_open(f);
	fx_load(f, &s);
	assert_int_equal(s.hard_state.term, UINT64_C(1) << 40);
	assert_int_equal(s.hard_state.vote, 0);
}

static void test_compact_behind_snapshot(void **state)
{
	struct fx *f = *state;
	struct fx_entries l = {0};
	make_log(&l, 12, 1);
	struct raft_ready rd;
	struct pgs_apply_result res[12];
	fx_ready_append_commit(&rd, &l, 0, 12, false);
	rd.committed = l.v;
	rd.n_committed = 8;
	fx_persist(f, &rd, res);

	struct raft_snapshot_meta meta;
	assert_int_equal(pgs_snapshot_create(f->pgs, &meta), 0);
	assert_int_equal(meta.index, 8);
	assert_int_equal(meta.term, 1);
	assert_int_equal(meta.config.n, 3);

	memset(&rd, 0, sizeof rd);
	rd.compact_before = 5;
	fx_persist(f, &rd, NULL);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM raft.log"), 8);
	assert_int_equal(fx_count(f, "SELECT min(idx) FROM raft.log"), 5);

	struct raft_initial_state s;
	fx_load(f, &s);
	assert_int_equal(s.snapshot.index, 8);
	assert_int_equal(s.snapshot.term, 1);
	assert_int_equal(s.snapshot.size, meta.size);
	assert_int_equal(s.snapshot.config.n, 3);
	assert_int_equal(s.n_entries, 4);
	assert_entries_equal(s.entries, l.v + 8, 4);
	assert_int_equal(s.applied, 8);

	/* compacting everything up to the snapshot still loads */
	memset(&rd, 0, sizeof rd);
	rd.compact_before = 9;
	fx_persist(f, &rd, NULL);
	fx_load(f, &s);
	assert_int_equal(s.n_entries, 4);
	fx_entries_free(&l);
}

static void expect_corrupt(struct fx *f, const char *what)
{
	struct raft_initial_state s;
	assert_int_equal(pgs_load(f->pgs, &s), PGS_ECORRUPT);
	if (!strstr(pgs_errmsg(f->pgs), what))
		fail_msg("message \"%s\" lacks \"%s\"", pgs_errmsg(f->pgs), what);
	assert_int_equal(s.n_entries, 0);
}

static void test_corruption_detected(void **state)
{
	struct fx *f = *state;
	struct fx_entries l = {0};
	make_log(&l, 10, 1);
	struct raft_ready rd;
	fx_ready_append_commit(&rd, &l, 0, 10, false);
	fx_persist(f, &rd, NULL);

	pgtest_exec(f->conn, "DELETE FROM raft.log WHERE idx IN (4, 5)");
	expect_corrupt(f, "gap in the log: entries 4..5 are missing");
	pgtest_exec(f->conn, "DELETE FROM raft.log WHERE idx < 6");
	expect_corrupt(f, "log does not continue the snapshot");
	pgtest_exec(f->conn, "DELETE FROM raft.log");

	fx_ready_append_commit(&rd, &l, 0, 10, false);
	fx_persist(f, &rd, NULL);
	pgtest_exec(f->conn, "UPDATE raft.applied SET last_applied = 11");
	expect_corrupt(f, "applied index 11 lies outside");
	pgtest_exec(f->conn, "UPDATE raft.applied SET last_applied = 0");
	pgtest_exec(f->conn, "UPDATE raft.log SET term = 3 WHERE idx = 5");
	expect_corrupt(f, "below the term");
	pgtest_exec(f->conn, "UPDATE raft.log SET term = 1");
	pgtest_exec(f->conn, "UPDATE raft.log SET data = '\\x0102' WHERE idx = 1");
	expect_corrupt(f, "undecodable configuration");
	pgtest_exec(f->conn, "DELETE FROM raft.log");

	/* a complete snapshot whose chunks do not add up */
	fx_ready_append_commit(&rd, &l, 0, 10, true);
	fx_persist(f, &rd, (struct pgs_apply_result[10]){0});
	struct raft_snapshot_meta meta;
	assert_int_equal(pgs_snapshot_create(f->pgs, &meta), 0);
	pgtest_exec(f->conn, "DELETE FROM raft.snapshot_chunk WHERE off = 0");
	expect_corrupt(f, "snapshot at index 10 is damaged");
	fx_entries_free(&l);
}

/* A batch with more entry bytes than one INSERT carries (64 MiB) is
 * split into several statements of the same transaction. */
static void test_large_batch(void **state)
{
	struct fx *f = *state;
	struct fx_entries l = {0};
	size_t mib = 1u << 20;
	unsigned char *blob = malloc(mib);
	assert_non_null(blob);
	for (raft_index i = 1; i <= 70; i++) {
		memset(blob, (int)i, mib);
		fx_add(&l, i, 1, RAFT_ENTRY_NORMAL, blob, mib);
	}
	free(blob);
	struct raft_ready rd;
	fx_ready_append_commit(&rd, &l, 0, l.n, false);
	fx_persist(f, &rd, NULL);
	assert_int_equal(fx_count(f, "SELECT count(DISTINCT xmin::text) FROM "
	                             "raft.log"), 1);
	struct raft_initial_state s;
	fx_load(f, &s);
	assert_int_equal(s.n_entries, 70);
	for (size_t i = 0; i < 70; i++) {
		const unsigned char *d = s.entries[i].data;
		assert_int_equal(s.entries[i].len, mib);
		assert_int_equal(d[0], (unsigned char)(i + 1));
		assert_int_equal(d[mib - 1], (unsigned char)(i + 1));
	}
	fx_entries_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_truncate, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_hard_state_durable, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_compact_behind_snapshot, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_corruption_detected, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_large_batch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

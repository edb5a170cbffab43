/*
 * test_identity.c -- raft_pg_identity: pgs_open's refusals. A database
 * stamped for one node (or cluster) refuses another; a database already
 * held by a live handle refuses a second one; bad arguments and state
 * machines whose tables are missing or lack a primary key are refused
 * with messages that say so; reopening applies the schema again without
 * harm.
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
	*state = fx_new("raft_pg_identity", 1, NULL,
	                "CREATE SCHEMA t;"
	                "CREATE TABLE t.nopk (a int);"
	                "CREATE TABLE t.ok (a int PRIMARY KEY)");
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static void expect_open(struct fx *f, raft_id id, const char *cluster,
                        const struct pgs_state_machine *sm, int want,
                        const char *msg)
{
	char err[512] = "";
	struct pgs *p = (struct pgs *)1;
	int rv = pgs_open(f->conninfo, id, cluster, sm, &p, err, sizeof err);
	if (rv != want)
		fail_msg("pgs_open returned %d (%s), wanted %d", rv, err, want);
	if (want == 0) {
		assert_non_null(p);
		pgs_close(p);
		return;
	}
	assert_null(p);
	if (!strstr(err, msg))
		fail_msg("message \"%s\" lacks \"%s\"", err, msg);
}

static void test_identity_refused(void **state)
{
	struct fx *f = *state;
	fx_close_handle(f);
	expect_open(f, 2, "lms", &pgs_kv_state_machine, PGS_EIDENTITY,
	            "belongs to node 1 of cluster \"lms\", not to node 2 of "
	            "cluster \"lms\"");
	expect_open(f, 1, "other", &pgs_kv_state_machine, PGS_EIDENTITY,
	            "not to node 1 of cluster \"other\"");
	/* the right identity opens, again and again (schema idempotent) */
	expect_open(f, 1, "lms", &pgs_kv_state_machine, 0, NULL);
	expect_open(f, 1, "lms", &pgs_kv_state_machine, 0, NULL);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM raft.node_identity"),
	                 1);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM raft.hard_state"), 1);
	fx_open(f);
}

static void test_second_handle_refused(void **state)
{
	struct fx *f = *state;
	/* f->pgs is open: a second daemon on the same database must not
	 * start (it would vote a second time in the same term) */
	expect_open(f, 1, "lms", &pgs_kv_state_machine, PGS_EBUSY,
	            "is in use by another process");
	fx_close_handle(f);
	expect_open(f, 1, "lms", &pgs_kv_state_machine, 0, NULL);
	fx_open(f);
}

/* A reader handle opens beside the writer (no lock), reads what the
 * writer committed, and refuses every write call. */
static void test_reader_handle(void **state)
{
	struct fx *f = *state;
	struct pgs *r = NULL;
	char err[512] = "";
	assert_int_equal(pgs_open_reader(f->conninfo, &pgs_kv_state_machine, &r,
	                                 err, sizeof err), 0);
	assert_non_null(r);

	struct fx_entries l = {0};
	fx_add_config(&l, 1, 1, 3);
	fx_add_put(&l, 2, 1, 7, 1, "k", "v1", 2);
	struct raft_ready rd;
	struct pgs_apply_result res[2];
	fx_ready_append_commit(&rd, &l, 0, 2, true);
	fx_persist(f, &rd, res);

	struct pgs_buf v = PGS_BUF_INIT;
	bool found = false;
	raft_index version = 0, applied = 0;
	assert_int_equal(pgs_kv_get(r, "k", &v, &found, &version, &applied), 0);
	assert_true(found);
	assert_int_equal(v.len, 2);
	assert_memory_equal(v.data, "v1", 2);
	assert_int_equal(version, 2);
	assert_int_equal(applied, 2);
	pgs_buf_free(&v);

	struct raft_initial_state st;
	struct raft_snapshot_meta meta;
	assert_int_equal(pgs_load(r, &st), PGS_EINVAL);
	assert_int_equal(pgs_persist(r, &rd, res), PGS_EINVAL);
	assert_int_equal(pgs_snapshot_create(r, &meta), PGS_EINVAL);
	assert_non_null(strstr(pgs_errmsg(r), "reader"));
	pgs_close(r);
	fx_entries_free(&l);
}

static void test_bad_arguments(void **state)
{
	struct fx *f = *state;
	fx_close_handle(f);
	expect_open(f, 0, "lms", &pgs_kv_state_machine, PGS_EINVAL,
	            "invalid node id");
	expect_open(f, 1, "", &pgs_kv_state_machine, PGS_EINVAL,
	            "invalid node id or cluster name");
	expect_open(f, 1, "lms", NULL, PGS_EINVAL, "incomplete state machine");

	static const char *const bad_name[] = {"t.Ok; DROP TABLE x", NULL};
	static const char *const missing[] = {"t.missing", NULL};
	static const char *const nopk[] = {"t.ok", "t.nopk", NULL};
	static const char *const twice[] = {"t.ok", "t.ok", NULL};
	struct pgs_state_machine sm = pgs_kv_state_machine;
	sm.prepare = NULL;
	sm.tables = bad_name;
	expect_open(f, 1, "lms", &sm, PGS_EINVAL, "invalid table name");
	sm.tables = missing;
	expect_open(f, 1, "lms", &sm, PGS_EINVAL,
	            "state table \"t.missing\" does not exist");
	sm.tables = nopk;
	expect_open(f, 1, "lms", &sm, PGS_EINVAL,
	            "state table \"t.nopk\" has no primary key");
	sm.tables = twice;
	expect_open(f, 1, "lms", &sm, PGS_EINVAL, "listed twice");

	char err[512];
	struct pgs *p;
	assert_int_equal(pgs_open("host=127.0.0.1 port=1 connect_timeout=2", 1,
	                          "lms", &pgs_kv_state_machine, &p, err,
	                          sizeof err),
	                 PGS_EDB);
	assert_non_null(strstr(err, "could not connect to the node database"));
	fx_open(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_refused, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_reader_handle, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_second_handle_refused, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

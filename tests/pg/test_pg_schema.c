/*
 * test_pg_schema.c -- the PostgreSQL harness: connect to the server ops/test
 * started and create the node-local schema (sql/001_raft.sql) twice. The
 * second run must succeed and change nothing (ops/cluster up relies on it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgtest.h"

struct fixture {
	PGconn *conn;
	char db[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->conn = pgtest_create_db("pg_schema", f->db, sizeof f->db);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	pgtest_drop_db(f->conn, f->db);
	free(f);
	return 0;
}

static void assert_count(PGconn *c, const char *sql, const char *want)
{
	char *v = pgtest_value(c, sql);
	assert_string_equal(v, want);
	free(v);
}

static void test_schema_twice(void **state)
{
	struct fixture *f = *state;
	char *sql = pgtest_read_source("sql/001_raft.sql");
	pgtest_exec(f->conn, "SET client_min_messages = warning");
	pgtest_exec(f->conn, sql);
	pgtest_exec(f->conn, "UPDATE raft.hard_state SET term = 7, vote = 3");
	pgtest_exec(f->conn, "INSERT INTO raft.log VALUES (1, 1, 3, '\\x00')");
	pgtest_exec(f->conn, sql); /* idempotent: no error, no change */
	free(sql);

	assert_count(f->conn,
	             "SELECT count(*) FROM pg_tables WHERE schemaname = 'raft'",
	             "7");
	assert_count(f->conn, "SELECT count(*) FROM raft.hard_state", "1");
	assert_count(f->conn, "SELECT term || '/' || vote FROM raft.hard_state",
	             "7/3");
	assert_count(f->conn, "SELECT count(*) FROM raft.log", "1");
	assert_count(f->conn, "SELECT last_applied FROM raft.applied", "0");
}

static void test_constraints(void **state)
{
	struct fixture *f = *state;
	char *sql = pgtest_read_source("sql/001_raft.sql");
	pgtest_exec(f->conn, "SET client_min_messages = warning");
	pgtest_exec(f->conn, sql);
	free(sql);
	/* a second hard-state row, a zero index, an unknown entry type */
	const char *bad[] = {
		"INSERT INTO raft.hard_state (singleton) VALUES (false)",
		"INSERT INTO raft.log VALUES (0, 1, 1, '')",
		"INSERT INTO raft.log VALUES (1, 1, 9, '')",
		"INSERT INTO raft.snapshot_chunk VALUES (5, 0, '')",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		PGresult *r = PQexec(f->conn, bad[i]);
		assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
		PQclear(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_constraints, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_rebuild.c -- migration 002 where lmsd runs it:
 *   - a snapshot install (lmsd/svc/svc_machine.c schema_load): DROP
 *     SCHEMA lms CASCADE, then every applied migration's SQL joined with
 *     ";\n" in one statement string, then the tables' rows copied back --
 *     all in one transaction; every view gives the same rows as before
 *     and the role reads them again;
 *   - the apply step (migrate_run): inside a transaction, within a
 *     savepoint, on a database that has only migration 001; on two such
 *     databases the views come out identical (a migration behaves the
 *     same on every node).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "reporttest.h"

/* The LMS tables, referenced ones first; material_chunk's generated tsv
 * is recomputed, not copied (as the snapshot does). */
static const struct {
	const char *table, *columns;
} tables[] = {
	{"app_user", "*"},   {"session", "*"},   {"file", "*"},
	{"course", "*"},     {"enrollment", "*"}, {"assignment", "*"},
	{"extension", "*"},  {"submission", "*"}, {"grade", "*"},
	{"material", "*"},   {"material_chunk", "material_id, chunk_no, page, body"},
	{"query", "*"},      {"answer", "*"},    {"answer_source", "*"},
};
#define NTABLES (sizeof tables / sizeof tables[0])

/* Every view's rows, sorted, as one text (malloc'd). */
static char *dump_views(PGconn *conn)
{
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	out[0] = '\0';
	for (const char *const *v = rpt_views; *v; v++) {
		char sql[256];
		snprintf(sql, sizeof sql,
		         "SELECT COALESCE(string_agg(r::text, E'\\n' "
		         "ORDER BY r::text), '') FROM %s r", *v);
		char *rows = rpt_value(conn, sql);
		size_t len = strlen(*v) + strlen(rows) + 3;
		while (n + len >= cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		n += (size_t)snprintf(out + n, cap - n, "%s\n%s\n", *v, rows);
		free(rows);
	}
	return out;
}

/* What schema_dump gives: each migration's SQL, then ";\n". */
static char *schema_script(void)
{
	char *a = pgtest_read_source("migrations/001_lms_schema.sql");
	char *b = pgtest_read_source("migrations/002_reports.sql");
	size_t len = strlen(a) + strlen(b) + 8;
	char *s = malloc(len);
	assert_non_null(s);
	snprintf(s, len, "%s;\n%s;\n", a, b);
	free(a);
	free(b);
	return s;
}

static void test_snapshot_install(void **state)
{
	struct rpt *t = *state;
	char sql[512];
	pgtest_exec(t->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	char *before = dump_views(t->conn);
	assert_non_null(strstr(before, "R101"));
	for (size_t i = 0; i < NTABLES; i++) {
		snprintf(sql, sizeof sql,
		         "CREATE TEMP TABLE keep_%s ON COMMIT DROP AS "
		         "SELECT %s FROM lms.%s",
		         tables[i].table, tables[i].columns, tables[i].table);
		pgtest_exec(t->conn, sql);
	}
	pgtest_exec(t->conn, "DROP SCHEMA IF EXISTS lms CASCADE");
	char *script = schema_script();
	pgtest_exec(t->conn, script);
	free(script);
	for (size_t i = 0; i < NTABLES; i++) {
		const char *cols = strcmp(tables[i].columns, "*") == 0
			                   ? ""
			                   : tables[i].columns;
		snprintf(sql, sizeof sql, "INSERT INTO lms.%s %s%s%s "
		         "SELECT * FROM keep_%s", tables[i].table, *cols ? "(" : "",
		         cols, *cols ? ")" : "", tables[i].table);
		pgtest_exec(t->conn, sql);
	}
	char *after = dump_views(t->conn); /* same transaction: same now() */
	if (strcmp(before, after) != 0)
		fail_msg("the views differ after the rebuild:\nbefore:\n%s\n"
		         "after:\n%s", before, after);
	free(before);
	free(after);
	pgtest_exec(t->conn, "COMMIT");

	/* the grants came back with the views */
	PGconn *c = rpt_connect_as_role(t);
	for (const char *const *v = rpt_views; *v; v++) {
		snprintf(sql, sizeof sql, "SELECT count(*) > 0 FROM %s", *v);
		char *got = rpt_value(c, sql);
		assert_string_equal(got, "t");
		free(got);
	}
	PGresult *res = PQexec(c, "SELECT * FROM lms.app_user");
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	PQclear(res);
	PQfinish(c);
}

/* A database as a node has it before `lms-migrate up` reaches 002. */
static PGconn *node_at_001(char *db, size_t cap)
{
	PGconn *c = pgtest_create_db("reports_node", db, cap);
	pgtest_exec(c, "SET client_min_messages = warning");
	char *s = pgtest_read_source("sql/001_raft.sql");
	pgtest_exec(c, s);
	free(s);
	pgtest_exec(c, "CREATE SCHEMA lms_meta; CREATE TABLE "
	               "lms_meta.schema_migration (version integer PRIMARY "
	               "KEY, name text NOT NULL, checksum text NOT NULL, sql "
	               "text NOT NULL, applied_index bigint NOT NULL, "
	               "applied_at timestamptz NOT NULL)");
	s = pgtest_read_source("migrations/001_lms_schema.sql");
	pgtest_exec(c, s);
	free(s);
	return c;
}

static void test_apply_step(void **state)
{
	(void)state;
	char db[2][64];
	PGconn *c[2];
	char *defs[2];
	char *m = pgtest_read_source("migrations/002_reports.sql");
	for (int i = 0; i < 2; i++) {
		c[i] = node_at_001(db[i], sizeof db[i]);
		/* as migrate_run: BEGIN (the apply transaction), SAVEPOINT,
		 * the file in one PQexec, RELEASE, COMMIT */
		pgtest_exec(c[i], "BEGIN");
		pgtest_exec(c[i], "SAVEPOINT svc_migrate");
		pgtest_exec(c[i], m);
		pgtest_exec(c[i], "RELEASE SAVEPOINT svc_migrate");
		char *in_tx = rpt_value(c[i], "SELECT count(*) FROM "
		                              "lms.report_progress");
		assert_string_equal(in_tx, "0");
		free(in_tx);
		pgtest_exec(c[i], "COMMIT");
		defs[i] = rpt_value(c[i],
			"SELECT string_agg(c.relname || ' ' || "
			"  array_to_string(c.reloptions, ',') || ' ' || "
			"  pg_get_viewdef(c.oid), E'\\n' ORDER BY c.relname) "
			"FROM pg_class c "
			"WHERE c.relnamespace = 'lms'::regnamespace "
			"  AND c.relkind = 'v'");
		char *fresh = rpt_value(c[i],
			"SELECT applied_index || '|' || COALESCE(schema_version, 0) "
			"|| '|' || (latest_change IS NULL) FROM lms.report_freshness");
		assert_string_equal(fresh, "0|0|true"); /* nothing applied here */
		free(fresh);
	}
	free(m);
	assert_string_equal(defs[0], defs[1]);
	assert_non_null(strstr(defs[0], "report_freshness"));
	for (int i = 0; i < 2; i++) {
		free(defs[i]);
		pgtest_drop_db(c[i], db[i]);
	}
}

static int setup(void **state)
{
	int rv = rpt_setup(state);
	if (rv == 0)
		rpt_role_create(*state);
	return rv;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_install),
		cmocka_unit_test(test_apply_step),
	};
	return cmocka_run_group_tests(tests, setup, rpt_teardown);
}

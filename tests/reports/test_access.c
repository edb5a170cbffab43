/*
 * test_access.c -- the access design of migration 002: a role with no
 * privilege of its own (like ops/cluster's lms_report) reads every
 * report view and nothing else -- no table of lms (app_user with its
 * password hashes, session with its token hashes, file with its bytes),
 * raft, raft_state or lms_meta, and it writes nowhere. The grants are
 * exactly USAGE on schema lms and SELECT on the views to PUBLIC, and no
 * view has a column that carries a hash, file bytes or a text body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "reporttest.h"

/* sql must fail as the role with insufficient_privilege (42501), or with
 * any error when any_error. */
static void expect_refused(PGconn *c, const char *sql, bool any_error)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	char code[8];
	snprintf(code, sizeof code, "%s", state ? state : "");
	PQclear(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		fail_msg("the role may: %s", sql);
	if (!any_error && strcmp(code, "42501") != 0)
		fail_msg("%s failed with %s, not 42501", sql, code);
}

static void test_reads_views_only(void **state)
{
	struct rpt *t = *state;
	PGconn *c = rpt_connect_as_role(t);
	for (const char *const *v = rpt_views; *v; v++) {
		char sql[160];
		snprintf(sql, sizeof sql, "SELECT count(*) > 0 FROM %s", *v);
		char *got = rpt_value(c, sql);
		if (strcmp(got, "t") != 0)
			fail_msg("%s: no rows for the role", *v);
		free(got);
	}

	/* every table of the node's schemas, found in the catalog */
	PGresult *tables = rpt_query(t->conn,
		"SELECT format('%I.%I', n.nspname, c.relname) "
		"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
		"WHERE n.nspname IN ('lms', 'lms_meta', 'raft', 'raft_state') "
		"  AND c.relkind IN ('r', 'p') ORDER BY 1");
	assert_true(PQntuples(tables) >= 20);
	for (int r = 0; r < PQntuples(tables); r++) {
		char sql[200];
		snprintf(sql, sizeof sql, "SELECT 1 FROM %s LIMIT 1",
		         PQgetvalue(tables, r, 0));
		expect_refused(c, sql, false);
	}
	PQclear(tables);
	expect_refused(c, "SELECT password_hash FROM lms.app_user", false);
	expect_refused(c, "SELECT token_hash FROM lms.session", false);
	expect_refused(c, "SELECT data FROM lms.file", false);

	/* no writes, through a table or a view; no objects in lms */
	expect_refused(c, "INSERT INTO lms.course VALUES (9, 'X', 'x', 1, "
	                  "now())", false);
	expect_refused(c, "DELETE FROM lms.session", false);
	expect_refused(c, "UPDATE lms.report_progress SET average = 100",
	               true);
	expect_refused(c, "DELETE FROM lms.report_tutor_sources", true);
	expect_refused(c, "CREATE TABLE lms.mine (id int PRIMARY KEY)", false);
	expect_refused(c, "CREATE VIEW lms.mine AS SELECT 1", false);
	PQfinish(c);
}

static void test_grants(void **state)
{
	struct rpt *t = *state;
	/* the views of lms are exactly the report views */
	PGresult *res = rpt_query(t->conn,
		"SELECT format('lms.%s', relname) FROM pg_class "
		"WHERE relnamespace = 'lms'::regnamespace AND relkind = 'v' "
		"ORDER BY relname");
	size_t n = 0;
	while (rpt_views[n])
		n++;
	assert_int_equal((size_t)PQntuples(res), n);
	for (int r = 0; r < PQntuples(res); r++) {
		bool known = false;
		for (const char *const *v = rpt_views; *v; v++)
			known = known || strcmp(*v, PQgetvalue(res, r, 0)) == 0;
		if (!known)
			fail_msg("view %s is not in rpt_views", PQgetvalue(res, r, 0));
	}
	PQclear(res);

	/* PUBLIC: USAGE on the schema, SELECT on each view, nothing else */
	static const char *const schema[] = {"USAGE", NULL};
	rpt_expect_rows(t->conn,
		"SELECT a.privilege_type FROM pg_namespace n, "
		"  aclexplode(n.nspacl) a "
		"WHERE n.nspname = 'lms' AND a.grantee = 0", schema);
	char sql[512];
	snprintf(sql, sizeof sql,
		"SELECT count(DISTINCT c.oid) FILTER (WHERE c.relkind = 'v'), "
		"  string_agg(DISTINCT a.privilege_type, ','), "
		"  count(*) FILTER (WHERE c.relkind <> 'v') "
		"FROM pg_class c, aclexplode(c.relacl) a "
		"WHERE c.relnamespace = 'lms'::regnamespace AND a.grantee = 0");
	char want[64];
	snprintf(want, sizeof want, "%zu|SELECT|0", n);
	const char *const views[] = {want, NULL};
	rpt_expect_rows(t->conn, sql, views);
	/* nothing for PUBLIC outside lms either (the node-local schemas) */
	static const char *const none[] = {"0", NULL};
	rpt_expect_rows(t->conn,
		"SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a "
		"WHERE c.relnamespace::regnamespace::text IN ('raft', "
		"  'raft_state', 'lms_meta') AND a.grantee = 0", none);

	/* views run with their owner's rights: not security_invoker; all
	 * with security_barrier */
	rpt_expect_rows(t->conn,
		"SELECT count(*) FROM pg_class "
		"WHERE relnamespace = 'lms'::regnamespace AND relkind = 'v' "
		"  AND (reloptions IS NULL "
		"       OR NOT 'security_barrier=true' = ANY (reloptions) "
		"       OR 'security_invoker=true' = ANY (reloptions))", none);
}

static void test_no_secrets(void **state)
{
	struct rpt *t = *state;
	static const char *const none[] = {NULL};
	rpt_expect_rows(t->conn,
		"SELECT c.relname, a.attname FROM pg_attribute a "
		"JOIN pg_class c ON c.oid = a.attrelid "
		"WHERE c.relnamespace = 'lms'::regnamespace AND c.relkind = 'v' "
		"  AND a.attnum > 0 AND (a.atttypid = 'bytea'::regtype "
		"    OR a.attname ~ '(hash|password|token|sha256|^data$|body|"
		"feedback|^sql$|claimed_by)')", none);
	/* and no value of one anywhere in a view's rows */
	for (const char *const *v = rpt_views; *v; v++) {
		char sql[256];
		snprintf(sql, sizeof sql,
		         "SELECT count(*) FROM %s r "
		         "WHERE r::text ~ '(scrypt-hash|question 6|bytes|Quicksort)'",
		         *v);
		char *got = rpt_value(t->conn, sql);
		if (strcmp(got, "0") != 0)
			fail_msg("%s shows a hash or a body", *v);
		free(got);
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
		cmocka_unit_test(test_reads_views_only),
		cmocka_unit_test(test_grants),
		cmocka_unit_test(test_no_secrets),
	};
	return cmocka_run_group_tests(tests, setup, rpt_teardown);
}

/*
 * reporttest.c -- see reporttest.h: the database, the fixture, rows as
 * text, calls of the service's reads, the throw-away role.
 */
#include "reporttest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isotime.h"
#include "pgtest.h"

const char *const rpt_views[] = {
	"lms.report_gradebook",        "lms.report_late_missing",
	"lms.report_progress",         "lms.report_class_stats",
	"lms.report_assignment_stats", "lms.report_questions",
	"lms.report_tutor_vs_instructors", "lms.report_tutor_sources",
	"lms.report_freshness",        NULL,
};

/* lms_meta as lmsd/svc/svc_machine.c creates it before any migration:
 * report_freshness reads it. */
static const char meta_sql[] =
	"CREATE SCHEMA IF NOT EXISTS lms_meta;"
	"CREATE TABLE IF NOT EXISTS lms_meta.schema_migration ("
	"  version integer PRIMARY KEY,"
	"  name text NOT NULL,"
	"  checksum text NOT NULL,"
	"  sql text NOT NULL,"
	"  applied_index bigint NOT NULL,"
	"  applied_at timestamptz NOT NULL)";

static void exec_file(PGconn *conn, const char *relpath)
{
	char *sql = pgtest_read_source(relpath);
	pgtest_exec(conn, sql);
	free(sql);
}

void rpt_migrate(PGconn *conn)
{
	exec_file(conn, "migrations/001_lms_schema.sql");
	exec_file(conn, "migrations/002_reports.sql");
}

int rpt_setup(void **state)
{
	struct rpt *t = calloc(1, sizeof *t);
	assert_non_null(t);
	*state = t; /* for the teardown, also when a step below fails */
	t->conn = pgtest_create_db("reports", t->db, sizeof t->db);
	pgtest_exec(t->conn, "SET client_min_messages = warning");
	exec_file(t->conn, "sql/001_raft.sql");
	exec_file(t->conn, "sql/002_state.sql");
	pgtest_exec(t->conn, meta_sql);
	rpt_migrate(t->conn);
	exec_file(t->conn, "tests/reports/fixture.sql");
	t->limits.max_text_bytes = 65536;
	t->limits.max_upload_bytes = 1 << 20;
	t->limits.max_page_size = 100;
	return 0;
}

static void free_resp(struct rpt *t)
{
	if (t->resp)
		protobuf_c_message_free_unpacked(&t->resp->base, NULL);
	t->resp = NULL;
}

int rpt_teardown(void **state)
{
	struct rpt *t = *state;
	if (!t)
		return 0;
	free_resp(t);
	if (t->conn) /* else the setup failed before it had a database */
		pgtest_drop_db(t->conn, t->db);
	if (t->role[0]) { /* after the database: nothing of it is left */
		char ci[512], sql[160];
		pgtest_conninfo("postgres", ci, sizeof ci);
		PGconn *c = PQconnectdb(ci);
		snprintf(sql, sizeof sql, "DROP ROLE IF EXISTS \"%s\"", t->role);
		if (PQstatus(c) == CONNECTION_OK)
			pgtest_exec(c, sql);
		PQfinish(c);
	}
	free(t);
	return 0;
}

/* ---------------------------------------------------------------- rows */

PGresult *rpt_query(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
		PQclear(res);
		fail_msg("query failed: %s\n%s", msg, sql);
	}
	return res;
}

char *rpt_row_text(const PGresult *res, int r)
{
	size_t len = 1;
	for (int c = 0; c < PQnfields(res); c++)
		len += (size_t)PQgetlength(res, r, c) + 5;
	char *s = malloc(len);
	assert_non_null(s);
	s[0] = '\0';
	for (int c = 0; c < PQnfields(res); c++) {
		if (c)
			strcat(s, "|");
		strcat(s, PQgetisnull(res, r, c) ? "NULL" : PQgetvalue(res, r, c));
	}
	return s;
}

void rpt_expect_rows(PGconn *conn, const char *sql, const char *const *want)
{
	PGresult *res = rpt_query(conn, sql);
	int n = PQntuples(res), i = 0;
	for (; want[i] && i < n; i++) {
		char *got = rpt_row_text(res, i);
		if (strcmp(got, want[i]) != 0) {
			char msg[1024];
			snprintf(msg, sizeof msg, "row %d: got \"%s\", expected \"%s\"",
			         i + 1, got, want[i]);
			free(got);
			PQclear(res);
			fail_msg("%s\n%s", msg, sql);
		}
		free(got);
	}
	PQclear(res);
	if (want[i] || i != n) {
		while (want[i])
			i++;
		fail_msg("%d rows, expected %d\n%s", n, i, sql);
	}
}

char *rpt_value(PGconn *conn, const char *sql)
{
	PGresult *res = rpt_query(conn, sql);
	if (PQntuples(res) != 1 || PQnfields(res) != 1) {
		PQclear(res);
		fail_msg("not one value: %s", sql);
	}
	char *v = rpt_row_text(res, 0);
	PQclear(res);
	return v;
}

/* --------------------------------------------------------- the service */

void rpt_begin(struct rpt *t)
{
	pgtest_exec(t->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	char *now = rpt_value(t->conn, "SELECT lms.iso(now())");
	snprintf(t->now, sizeof t->now, "%s", now);
	free(now);
	assert_int_equal(lms_iso_parse(t->now, &t->now_ms), 0);
}

void rpt_commit(struct rpt *t)
{
	pgtest_exec(t->conn, "COMMIT");
}

struct svc_ctx *rpt_as(struct rpt *t, const char *who)
{
	free_resp(t);
	const char *v[] = {who};
	PGresult *res = PQexecParams(t->conn,
		"SELECT id, role FROM lms.app_user WHERE username = $1", 1,
		NULL, v, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	if (PQntuples(res) != 1) {
		PQclear(res);
		fail_msg("no user \"%s\" in the fixture", who);
	}
	memset(&t->actor, 0, sizeof t->actor);
	t->actor.id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(t->actor.username, sizeof t->actor.username, "%s", who);
	t->actor.role = svc_role_parse(PQgetvalue(res, 0, 1));
	PQclear(res);

	t->resp = malloc(sizeof *t->resp);
	assert_non_null(t->resp);
	lms__rpc__response__init(t->resp);
	memset(&t->x, 0, sizeof t->x);
	t->x.conn = t->conn;
	t->x.now = t->now;
	t->x.now_ms = t->now_ms;
	t->x.actor = &t->actor;
	t->x.limits = &t->limits;
	t->x.resp = t->resp;
	return &t->x;
}

Lms__Rpc__Response *rpt_ok(struct rpt *t, int rv,
                           Lms__Rpc__Response__ResultCase rc)
{
	if (rv != 0)
		fail_msg("read failed: %s", t->x.err);
	if (t->resp->status != LMS__RPC__STATUS__OK)
		fail_msg("refused (%d): %s", t->resp->status, t->resp->message);
	assert_int_equal(t->resp->result_case, rc);
	return t->resp;
}

/* ------------------------------------------------------ throw-away role */

void rpt_role_create(struct rpt *t)
{
	snprintf(t->role, sizeof t->role, "rpt_reader_%ld", (long)getpid());
	char sql[160];
	snprintf(sql, sizeof sql, "DROP ROLE IF EXISTS \"%s\"", t->role);
	pgtest_exec(t->conn, sql);
	snprintf(sql, sizeof sql, "CREATE ROLE \"%s\" LOGIN", t->role);
	pgtest_exec(t->conn, sql);
}

PGconn *rpt_connect_as_role(struct rpt *t)
{
	const char *host = getenv("LMS_TEST_PGHOST");
	const char *port = getenv("LMS_TEST_PGPORT");
	if (!host || !port)
		fail_msg("LMS_TEST_PGHOST/PORT not set: run through ops/test");
	const char *keys[] = {"host", "port", "user", "dbname", NULL};
	const char *vals[] = {host, port, t->role, t->db, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("could not connect as %s: %s", t->role,
		         PQerrorMessage(c));
	return c;
}

/*
 * pgtest.c -- see pgtest.h. Connection parameters come from the
 * environment ops/test sets; every libpq result is checked and cleared.
 */
#include "pgtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static PGconn *pgtest_connect(const char *db)
{
	const char *host = getenv("LMS_TEST_PGHOST");
	const char *port = getenv("LMS_TEST_PGPORT");
	const char *user = getenv("LMS_TEST_PGUSER");
	if (!host || !port || !user)
		fail_msg("LMS_TEST_PGHOST/PORT/USER not set: run through ops/test");
	const char *keys[] = {"host", "port", "user", "dbname", "options", NULL};
	const char *vals[] = {host, port, user, db,
	                      "-c client_min_messages=warning", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("could not connect to %s:%s/%s: %s", host, port, db,
		         PQerrorMessage(c));
	return c;
}

void pgtest_exec(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
		PQclear(res);
		fail_msg("query failed: %s", msg);
	}
	PQclear(res);
}

char *pgtest_value(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
		PQclear(res);
		fail_msg("query \"%s\" did not return one row: %s", sql, msg);
	}
	char *v = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_non_null(v);
	return v;
}

PGconn *pgtest_create_db(const char *prefix, char *name, size_t cap)
{
	static unsigned counter;
	snprintf(name, cap, "%s_%ld_%u", prefix, (long)getpid(), counter++);
	PGconn *admin = pgtest_connect("postgres");
	char sql[256];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\"", name);
	pgtest_exec(admin, sql);
	snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
	pgtest_exec(admin, sql);
	PQfinish(admin);
	return pgtest_connect(name);
}

void pgtest_drop_db(PGconn *conn, const char *name)
{
	if (conn)
		PQfinish(conn);
	PGconn *admin = pgtest_connect("postgres");
	char sql[256];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
	pgtest_exec(admin, sql);
	PQfinish(admin);
}

char *pgtest_read_source(const char *relpath)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", LMS_SOURCE_DIR, relpath);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("could not open \"%s\"", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

void pgtest_conninfo(const char *db, char *buf, size_t cap)
{
	const char *host = getenv("LMS_TEST_PGHOST");
	const char *port = getenv("LMS_TEST_PGPORT");
	const char *user = getenv("LMS_TEST_PGUSER");
	if (!host || !port || !user)
		fail_msg("LMS_TEST_PGHOST/PORT/USER not set: run through ops/test");
	int n = snprintf(buf, cap, "host=%s port=%s user=%s dbname=%s", host,
	                 port, user, db);
	if (n < 0 || (size_t)n >= cap)
		fail_msg("connection string for \"%s\" too long", db);
}

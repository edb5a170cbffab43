/*
 * reporttest.h -- the fixture of the reports tests: the reporting views of
 * migrations/002_reports.sql and the ready queries of sql/reports/
 * against the real PostgreSQL that ops/test starts (LMS_TEST_PGHOST/PORT/
 * USER).
 *
 * Each test file is one cmocka group with one fresh database holding what
 * a node's database holds when lmsd applies the migrations: the
 * node-local schema (sql/001_raft.sql, sql/002_state.sql), lms_meta (as
 * lmsd/svc/svc_machine.c creates it), migrations 001 and 002, then the
 * data of fixture.sql (described there; times relative to the moment it
 * is loaded, kept in the session setting rt.base).
 *
 * Rows are compared as text: the columns of a row joined by '|', NULL
 * written "NULL", the values as PostgreSQL prints them.
 *
 * The service's reads (lmsd/svc/read_*.c) run on the same connection with
 * a svc_ctx as lmsd's reader builds one; rpt_begin opens a REPEATABLE
 * READ transaction and takes the service's "now" from the database, so
 * the views' now() and the service's are the same instant (to the
 * millisecond).
 */
#ifndef LMS_TESTS_REPORTS_REPORTTEST_H
#define LMS_TESTS_REPORTS_REPORTTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "svc.h"

/* The fixture's base time as SQL (a timestamptz expression). */
#define RPT_BASE "current_setting('rt.base')::timestamptz"

/* The views of migration 002, in the order it creates them. */
extern const char *const rpt_views[];

struct rpt {
	PGconn *conn;
	char db[64];
	char role[64]; /* the throw-away role, "" when none */
	char now[40];  /* the service's now, set by rpt_begin */
	int64_t now_ms;
	struct svc_limits limits;
	struct svc_actor actor;
	struct svc_ctx x;
	Lms__Rpc__Response *resp; /* of the last call, freed by the next */
};

/* cmocka group setup / teardown: *state = struct rpt *. The teardown
 * drops the database and the throw-away role, if any. */
int rpt_setup(void **state);
int rpt_teardown(void **state);

/* The LMS schema as a node has it: migrations 001 and 002 (on a database
 * that has the node-local schema and lms_meta). */
void rpt_migrate(PGconn *conn);

/* Runs sql, which must return rows; fails the test otherwise. Caller
 * clears. */
PGresult *rpt_query(PGconn *conn, const char *sql);

/* Row r of res as text ("a|b|NULL"), malloc'd. */
char *rpt_row_text(const PGresult *res, int r);

/* Runs sql and checks its rows, in order, against want (NULL-ended). */
void rpt_expect_rows(PGconn *conn, const char *sql, const char *const *want);

/* The one value of sql ("NULL" for NULL), malloc'd. */
char *rpt_value(PGconn *conn, const char *sql);

/* ------------------------------------------------------- the service */

/* BEGIN ISOLATION LEVEL REPEATABLE READ; the service's now := now(). */
void rpt_begin(struct rpt *t);
void rpt_commit(struct rpt *t);

/* Starts a call as username who: frees the previous Response, makes a
 * fresh one; returns the ctx to pass to the read function. */
struct svc_ctx *rpt_as(struct rpt *t, const char *who);

/* The read returned rv: must be 0 with status OK and result rc. */
Lms__Rpc__Response *rpt_ok(struct rpt *t, int rv,
                           Lms__Rpc__Response__ResultCase rc);

/* ----------------------------------------------------- throw-away role */

/* Creates a LOGIN role with no privilege of its own (unique name in
 * t->role); the teardown drops it. */
void rpt_role_create(struct rpt *t);

/* A connection to the test database as that role. */
PGconn *rpt_connect_as_role(struct rpt *t);

#endif

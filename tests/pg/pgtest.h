/*
 * pgtest.h -- helpers for tests that need a real PostgreSQL.
 *
 * ops/test starts one throw-away server and exports LMS_TEST_PGHOST,
 * LMS_TEST_PGPORT and LMS_TEST_PGUSER. Each test creates its own database
 * (pgtest_create_db) so tests can run in parallel and start from nothing,
 * and drops it at the end (pgtest_drop_db). A test run outside ops/test,
 * without those variables, fails with a message saying how to run it.
 */
#ifndef LMS_TESTS_PGTEST_H
#define LMS_TESTS_PGTEST_H

#include <libpq-fe.h>
#include <stddef.h>

/* Creates a fresh, uniquely named database (name written to name, cap
 * bytes) and returns a connection to it; fails the test on error. */
PGconn *pgtest_create_db(const char *prefix, char *name, size_t cap);

/* Drops the database (after closing conn, which may be NULL). */
void pgtest_drop_db(PGconn *conn, const char *name);

/* Runs a multi-statement script; fails the test on error. */
void pgtest_exec(PGconn *conn, const char *sql);

/* Runs a query returning one value; returns it as a malloc'd string. */
char *pgtest_value(PGconn *conn, const char *sql);

/* Writes a libpq connection string for database db (same server and
 * user as the other helpers) into buf (cap bytes); fails the test if the
 * environment is not set. */
void pgtest_conninfo(const char *db, char *buf, size_t cap);

/* Reads a file under the source tree into a malloc'd NUL-ended string. */
char *pgtest_read_source(const char *relpath);

#endif

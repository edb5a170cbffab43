/*
 * pg_open.c -- opening and closing a node's storage.
 *
 * pgs_open does, in order: connect; fix the session settings that make
 * apply deterministic and commits durable; refuse a server with fsync off;
 * take the node's advisory lock (one process per database: two daemons on
 * one database would vote twice in a term); apply the embedded schema;
 * run the state machine's setup_sql (its always-present tables); check or
 * stamp raft.node_identity; check the state machine's tables (fixed and
 * discovered, pg_tables.c); prepare the hot statements. Each step unwinds
 * what the earlier ones built (goto err).
 *
 * Session settings: apply runs SQL whose results must not depend on the
 * node, so every connection the driver opens (pg_connect, also the
 * snapshot reader) gets the same TimeZone, DateStyle, IntervalStyle,
 * extra_float_digits and bytea_output, whatever the server's defaults.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"
#include "util.h"

/* Key of the session advisory lock held while a handle is open ("LMSR"). */
#define PG_LOCK_KEY1 "1280131922"
#define PG_LOCK_KEY2 "1"

static const char session_setup[] =
	"SET client_min_messages = warning;"
	"SET synchronous_commit = on;"
	"SET TimeZone = 'UTC';"
	"SET DateStyle = 'ISO, YMD';"
	"SET IntervalStyle = 'postgres';"
	"SET extra_float_digits = 3;"
	"SET bytea_output = 'hex';"
	"SET client_encoding = 'UTF8';"
	"SET standard_conforming_strings = on;"
	"SET statement_timeout = 0;"
	"SET lock_timeout = 0;"
	"SET idle_in_transaction_session_timeout = 0;"
	"SET default_transaction_isolation = 'read committed'";

/* The statements of the hot paths, prepared once per connection. */
static const struct {
	const char *name;
	const char *sql;
} statements[] = {
	{"pgs_hard_state", "UPDATE raft.hard_state SET term = $1, vote = $2"},
	{"pgs_log_truncate", "DELETE FROM raft.log WHERE idx >= $1"},
	{"pgs_log_append",
	 "INSERT INTO raft.log (idx, term, type, data) SELECT * FROM "
	 "unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::bytea[])"},
	{"pgs_log_compact", "DELETE FROM raft.log WHERE idx < $1"},
	{"pgs_applied_get", "SELECT last_applied FROM raft.applied"},
	{"pgs_applied_set",
	 "UPDATE raft.applied SET last_applied = $1 WHERE last_applied = $2"},
	{"pgs_session_fetch",
	 "SELECT client_id, last_seq, last_result FROM "
	 "raft_state.client_session WHERE client_id = ANY ($1::bigint[])"},
	{"pgs_session_store",
	 "INSERT INTO raft_state.client_session (client_id, last_seq, "
	 "last_result) SELECT * FROM unnest($1::bigint[], $2::bigint[], "
	 "$3::bytea[]) ON CONFLICT (client_id) DO UPDATE "
	 "SET last_seq = EXCLUDED.last_seq, last_result = EXCLUDED.last_result"},
	{"pgs_chunk_insert",
	 "INSERT INTO raft.snapshot_chunk (snapshot_idx, off, data) "
	 "VALUES ($1, $2, $3)"},
	{"pgs_chunk_read",
	 "SELECT c.off, c.data FROM raft.snapshot_chunk c "
	 "JOIN raft.snapshot s ON s.idx = c.snapshot_idx "
	 "WHERE c.snapshot_idx = $1 AND s.complete AND c.off < $3 "
	 "AND c.off + octet_length(c.data) > $2 ORDER BY c.off"},
};

int pgs_session_settings(PGconn *conn, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, session_setup);
	int rv = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	if (rv && err && errlen)
		snprintf(err, errlen, "could not restore the session settings: "
		         "%s", PQresultErrorMessage(res));
	PQclear(res);
	return rv;
}

PGconn *pg_connect(struct pgs *pgs, const char *conninfo)
{
	PGconn *conn = PQconnectdb(conninfo);
	if (!conn) {
		snprintf(pgs->dberr, sizeof pgs->dberr, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		pg_message(conn, NULL, pgs->dberr, sizeof pgs->dberr);
		PQfinish(conn);
		return NULL;
	}
	if (pg_command(pgs, conn, session_setup) != 0) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static int check_fsync(struct pgs *pgs)
{
	PGresult *res = pg_query(pgs, pgs->conn, NULL, "SHOW fsync", NULL,
	                         false, PGRES_TUPLES_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not read setting \"fsync\": %s",
		               pgs->dberr);
	bool on = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "on") == 0;
	PQclear(res);
	if (!on)
		return pg_fail(pgs, PGS_EINVAL,
		               "refusing to store the raft log on a server with "
		               "fsync = off");
	return 0;
}

static int take_lock(struct pgs *pgs)
{
	/* A process that just died may still hold the lock for a moment
	 * (its backend exits asynchronously): wait a little for it. */
	if (pg_command(pgs, pgs->conn, "SET lock_timeout = '5s'") != 0)
		return pg_fail(pgs, PGS_EDB, "could not set lock_timeout: %s",
		               pgs->dberr);
	PGresult *res = PQexec(pgs->conn, "SELECT pg_advisory_lock("
	                       PG_LOCK_KEY1 ", " PG_LOCK_KEY2 ")");
	int rv = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		pg_message(pgs->conn, res, pgs->dberr, sizeof pgs->dberr);
		if (state && strcmp(state, "55P03") == 0)
			rv = pg_fail(pgs, PGS_EBUSY,
			             "database \"%s\" is in use by another process",
			             PQdb(pgs->conn));
		else
			rv = pg_fail(pgs, PGS_EDB,
			             "could not lock database \"%s\": %s",
			             PQdb(pgs->conn), pgs->dberr);
	}
	PQclear(res);
	if (rv == 0 && pg_command(pgs, pgs->conn, "SET lock_timeout = 0") != 0)
		rv = pg_fail(pgs, PGS_EDB, "could not reset lock_timeout: %s",
		             pgs->dberr);
	return rv;
}

static int apply_schema(struct pgs *pgs)
{
	for (size_t i = 0; i < pg_schema_n_scripts; i++) {
		if (pg_command(pgs, pgs->conn, pg_schema_scripts[i].sql) != 0)
			return pg_fail(pgs, PGS_EDB, "could not apply schema \"%s\": %s",
			               pg_schema_scripts[i].name, pgs->dberr);
	}
	return 0;
}

/* The state machine's own idempotent setup, after the raft schema and
 * before its tables are checked. PQexec runs the script as one implicit
 * transaction: it applies whole or not at all. */
static int run_setup(struct pgs *pgs)
{
	if (!pgs->sm->setup_sql)
		return 0;
	if (pg_command(pgs, pgs->conn, pgs->sm->setup_sql) != 0)
		return pg_fail(pgs, PGS_EDB, "could not run the setup script of "
		               "state machine \"%s\": %s", pgs->sm->name,
		               pgs->dberr);
	return 0;
}

static int check_identity(struct pgs *pgs)
{
	if (pg_command(pgs, pgs->conn, "BEGIN") != 0)
		return pg_fail(pgs, PGS_EDB, "could not check node identity: %s",
		               pgs->dberr);
	PGresult *res = pg_query(pgs, pgs->conn, NULL,
	                         "SELECT node_id, cluster FROM raft.node_identity",
	                         NULL, true, PGRES_TUPLES_OK);
	if (!res)
		goto db_error;
	if (PQntuples(res) == 0) {
		PQclear(res);
		struct pg_params p;
		pg_params_init(&p);
		pg_param_u64(&p, pgs->node_id);
		pg_param_text(&p, pgs->cluster);
		res = pg_query(pgs, pgs->conn, NULL,
		               "INSERT INTO raft.node_identity (node_id, cluster) "
		               "VALUES ($1, $2)", &p, false, PGRES_COMMAND_OK);
		if (!res)
			goto db_error;
		PQclear(res);
	} else {
		uint64_t id = (uint64_t)pg_get_i64(res, 0, 0);
		const char *cl = PQgetvalue(res, 0, 1);
		if (id != pgs->node_id || strcmp(cl, pgs->cluster) != 0) {
			pg_fail(pgs, PGS_EIDENTITY,
			        "database \"%s\" belongs to node %llu of cluster "
			        "\"%s\", not to node %llu of cluster \"%s\"",
			        PQdb(pgs->conn), (unsigned long long)id, cl,
			        (unsigned long long)pgs->node_id, pgs->cluster);
			PQclear(res);
			pg_command(pgs, pgs->conn, "ROLLBACK");
			return PGS_EIDENTITY;
		}
		PQclear(res);
	}
	if (pg_command(pgs, pgs->conn, "COMMIT") != 0)
		goto db_error;
	return 0;
db_error:
	pg_fail(pgs, PGS_EDB, "could not check node identity: %s", pgs->dberr);
	pg_command(pgs, pgs->conn, "ROLLBACK");
	return PGS_EDB;
}

static int prepare_statements(struct pgs *pgs)
{
	for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
		PGresult *res = PQprepare(pgs->conn, statements[i].name,
		                          statements[i].sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pg_message(pgs->conn, res, pgs->dberr, sizeof pgs->dberr);
			PQclear(res);
			return pg_fail(pgs, PGS_EDB,
			               "could not prepare statement \"%s\": %s",
			               statements[i].name, pgs->dberr);
		}
		PQclear(res);
	}
	if (pgs->sm->prepare) {
		char err[PG_ERRMSG_MAX] = "";
		if (pgs->sm->prepare(pgs->sm->ctx, pgs->conn, err, sizeof err))
			return pg_fail(pgs, PGS_EDB,
			               "could not prepare state machine \"%s\": %s",
			               pgs->sm->name, err);
	}
	return 0;
}

static void copy_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/*
 * The part of opening shared by writers and readers: a handle with its
 * state tables and a connection. *out is set (for pgs_close) even on
 * failure; the caller reports pgs->errmsg.
 */
static int open_common(const char *conninfo,
                       const struct pgs_state_machine *sm, bool reader,
                       struct pgs **out)
{
	struct pgs *pgs = calloc(1, sizeof *pgs);
	*out = pgs;
	if (!pgs)
		return PGS_ENOMEM;
	int rv;
	pgs->reader = reader;
	pgs->sm = sm;
	pgs->chunk_bytes = PGS_DEFAULT_CHUNK_BYTES;
	pgs->conninfo = strdup(conninfo);
	if (!pgs->conninfo)
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	if ((rv = pg_tables_init(pgs)))
		return rv;
	pgs->conn = pg_connect(pgs, conninfo);
	if (!pgs->conn)
		return pg_fail(pgs, PGS_EDB, "could not connect to the node "
		                             "database: %s", pgs->dberr);
	return 0;
}

/* Ends an open: hands out the handle, or reports and frees it. */
static int open_finish(struct pgs *pgs, int rv, struct pgs **out, char *err,
                       size_t errlen)
{
	if (rv == 0) {
		*out = pgs;
		return 0;
	}
	copy_err(err, errlen, pgs ? pgs->errmsg : "out of memory");
	pgs_close(pgs);
	*out = NULL;
	return rv;
}

int pgs_open(const char *conninfo, raft_id node_id, const char *cluster,
             const struct pgs_state_machine *sm, struct pgs **out,
             char *err, size_t errlen)
{
	*out = NULL;
	if (!conninfo || node_id == 0 || !cluster || !*cluster ||
	    strlen(cluster) > 200 || !lms_utf8_valid(cluster, strlen(cluster))) {
		copy_err(err, errlen, "could not open storage: invalid node id "
		                      "or cluster name");
		return PGS_EINVAL;
	}
	if (!sm || !sm->apply || !sm->tables || !sm->name) {
		copy_err(err, errlen, "could not open storage: incomplete state "
		                      "machine");
		return PGS_EINVAL;
	}
	if (!sm->schema_dump != !sm->schema_load) {
		copy_err(err, errlen, "could not open storage: state machine has "
		                      "only one of schema_dump and schema_load");
		return PGS_EINVAL;
	}
	struct pgs *pgs;
	int rv = open_common(conninfo, sm, false, &pgs);
	if (rv == 0) {
		pgs->node_id = node_id;
		pgs->cluster = strdup(cluster);
		if (!pgs->cluster)
			rv = pg_fail(pgs, PGS_ENOMEM, "out of memory");
	}
	if (rv == 0)
		rv = check_fsync(pgs);
	if (rv == 0)
		rv = take_lock(pgs);
	if (rv == 0)
		rv = apply_schema(pgs);
	if (rv == 0)
		rv = run_setup(pgs);
	if (rv == 0)
		rv = check_identity(pgs);
	if (rv == 0)
		rv = pg_tables_refresh(pgs, pgs->conn);
	if (rv == 0)
		rv = prepare_statements(pgs);
	return open_finish(pgs, rv, out, err, errlen);
}

int pgs_open_reader(const char *conninfo,
                    const struct pgs_state_machine *sm, struct pgs **out,
                    char *err, size_t errlen)
{
	*out = NULL;
	if (!conninfo || !sm || !sm->tables || !sm->name) {
		copy_err(err, errlen, "could not open storage reader: invalid "
		                      "arguments");
		return PGS_EINVAL;
	}
	struct pgs *pgs;
	int rv = open_common(conninfo, sm, true, &pgs);
	if (rv == 0)
		rv = pg_tables_refresh(pgs, pgs->conn);
	if (rv == 0)
		rv = prepare_statements(pgs);
	return open_finish(pgs, rv, out, err, errlen);
}

void pgs_close(struct pgs *pgs)
{
	if (!pgs)
		return;
	if (pgs->conn)
		PQfinish(pgs->conn);
	PQclear(pgs->load_res);
	free(pgs->load_entries);
	pg_tables_free(pgs);
	for (size_t i = 0; i < sizeof pgs->arr / sizeof pgs->arr[0]; i++)
		pgs_buf_free(&pgs->arr[i]);
	pgs_buf_free(&pgs->sm_result);
	free(pgs->sess);
	pgs_buf_free(&pgs->sess_bytes);
	pgs_buf_free(&pgs->results);
	free(pgs->result_off);
	free(pgs->conninfo);
	free(pgs->cluster);
	free(pgs);
}

const char *pgs_errmsg(const struct pgs *pgs)
{
	return pgs ? pgs->errmsg : "no storage handle";
}

PGconn *pgs_conn(struct pgs *pgs)
{
	return pgs->conn;
}

int pgs_set_chunk_bytes(struct pgs *pgs, size_t bytes)
{
	if (bytes == 0 || bytes > (64u << 20))
		return pg_fail(pgs, PGS_EINVAL,
		               "invalid snapshot chunk size %zu", bytes);
	pgs->chunk_bytes = bytes;
	return 0;
}

raft_index pgs_last_applied(const struct pgs *pgs)
{
	return pgs->applied_known ? pgs->last_applied : 0;
}

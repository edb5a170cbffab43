/*
 * svc_machine.c -- lmsd's state machine (svc_machine.h): LMS commands and
 * migrations on top of the storage driver's key/value machine, and the
 * dispatch of the read operations.
 *
 * Apply of an LMS entry, in order:
 *   1. decode; an undecodable command is refused (the same on every node);
 *   2. schema: min_schema above what this binary knows stops the node
 *      (svc_machine.h); above what the cluster has applied is refused
 *      (FAILED_PRECONDITION: run lms-migrate up);
 *   3. authenticate: the session behind Command.token_hash at Command.now
 *      (except bootstrap and login, and migrate before the first user);
 *   4. the operation's apply_* function (svc.h) checks roles and state and
 *      changes the tables;
 *   5. the Response (status, message, result) is packed as the entry's
 *      result: the client's answer, and what a retry gets back.
 * Only a database failure makes apply fail; a refusal is a result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "log.h"
#include "sha256.h"
#include "svc_machine.h"
#include "util.h"

static const char setup_sql[] =
	"CREATE SCHEMA IF NOT EXISTS lms_meta;"
	"CREATE TABLE IF NOT EXISTS lms_meta.schema_migration ("
	"  version integer PRIMARY KEY,"
	"  name text NOT NULL,"
	"  checksum text NOT NULL,"
	"  sql text NOT NULL,"
	"  applied_index bigint NOT NULL,"
	"  applied_at timestamptz NOT NULL)";

static const char *const fixed_tables[] = {
	"raft_state.kv", "lms_meta.schema_migration", NULL};
static const char *const schemas[] = {"lms", NULL};

/* ------------------------------------------------------------ schema */

int svc_schema_version(PGconn *conn, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM "
	                             "lms_meta.schema_migration");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "could not read the schema version: %s",
		         PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	int v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static int schema_dump(void *ctx, PGconn *conn, struct pgs_buf *out,
                       char *err, size_t errlen)
{
	(void)ctx;
	PGresult *res = PQexec(conn, "SELECT sql FROM lms_meta.schema_migration "
	                             "ORDER BY version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "could not read the migrations: %s",
		         PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	int rv = 0;
	for (int r = 0; r < PQntuples(res) && !rv; r++) {
		rv = pgs_buf_append(out, PQgetvalue(res, r, 0),
		                    (size_t)PQgetlength(res, r, 0));
		rv = rv ? rv : pgs_buf_append(out, ";\n", 2);
	}
	PQclear(res);
	if (rv)
		snprintf(err, errlen, "out of memory");
	return rv ? -1 : 0;
}

static int schema_load(void *ctx, PGconn *conn, const void *script,
                       size_t len, char *err, size_t errlen)
{
	(void)ctx;
	char *sql = malloc(len + 1);
	if (!sql) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(sql, script, len);
	sql[len] = '\0';
	if (strlen(sql) != len) {
		free(sql);
		snprintf(err, errlen, "the snapshot's schema script holds a NUL "
		                      "byte");
		return -1;
	}
	int rv = 0;
	svc_forget_statements(conn);
	PGresult *res = PQexec(conn, "DROP SCHEMA IF EXISTS lms CASCADE");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rv = -1;
	if (rv == 0 && len) {
		PQclear(res);
		res = PQexec(conn, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK)
			rv = -1;
	}
	if (rv)
		snprintf(err, errlen, "could not rebuild the LMS schema from "
		         "the snapshot: %s", PQresultErrorMessage(res));
	PQclear(res);
	free(sql);
	if (rv == 0 && PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		snprintf(err, errlen, "the snapshot's schema script ended the "
		         "install transaction");
		rv = -1;
	}
	if (rv == 0 && pgs_session_settings(conn, err, errlen) != 0)
		rv = -1;
	return rv;
}

/* ---------------------------------------------------------- migrate */

static const struct svc_known_migration *known_migration(unsigned v)
{
	for (const struct svc_known_migration *k = svc_known_migrations;
	     k->version; k++)
		if (k->version == v)
			return k;
	return NULL;
}

/* Stops the node: the entry needs a schema this binary does not know. */
static int unknown_schema(struct svc_ctx *x, unsigned need)
{
	snprintf(x->err, sizeof x->err,
	         "entry %llu needs LMS schema version %u, but this lmsd knows "
	         "versions up to %u only: upgrade lmsd on this node (it stops "
	         "rather than apply the entry wrongly)",
	         (unsigned long long)x->index, need, SVC_SCHEMA_KNOWN);
	return -1;
}

/* SQLSTATE classes whose errors follow from the SQL and the replicated
 * data alone (the same on every node): syntax and access rules, data
 * exceptions, integrity constraints, unsupported features, invalid names.
 * Anything else (a deadlock, a full disk, a cancelled query) may happen on
 * one node only: apply fails there and is retried, never recorded. */
static bool deterministic_error(const char *state)
{
	static const char *const classes[] = {"42", "22", "23", "0A", "3F",
	                                      "2B", "44", NULL};
	for (int i = 0; state && classes[i]; i++)
		if (strncmp(state, classes[i], 2) == 0)
			return true;
	return false;
}

/* After the migration's SQL: every table in schema lms has a primary key
 * and a lower-case name (snapshots and checksums need both). 1 ok, 0
 * refused (resp set), -1. */
static int migrate_tables_ok(struct svc_ctx *x, const Lms__Rpc__Migration *m)
{
	PGresult *res = svc_query(x,
		"SELECT c.relname FROM pg_class c "
		"JOIN pg_namespace n ON n.oid = c.relnamespace "
		"WHERE n.nspname = 'lms' AND c.relkind IN ('r', 'p') "
		"  AND NOT c.relispartition "
		"  AND (c.relname !~ '^[a-z_][a-z0-9_]*$' OR NOT EXISTS "
		"       (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid "
		"        AND i.indisprimary)) "
		"ORDER BY 1 LIMIT 1", NULL);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 1;
	}
	svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
	           "migration %u (%s) leaves table lms.%s without a primary "
	           "key or with a name that is not lower case; nothing was "
	           "changed", m->version, m->name, PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Runs sql inside a savepoint: a failing migration is refused, not fatal,
 * and leaves nothing behind. 1 ran, 0 refused (resp set), -1 failure. */
static int migrate_run(struct svc_ctx *x, const Lms__Rpc__Migration *m)
{
	if (svc_exec(x, "SAVEPOINT svc_migrate", NULL, NULL))
		return -1;
	/* statements prepared before the schema change must not answer
	 * after it (svc.h), nor any the migration's SQL dropped */
	svc_forget_statements(x->conn);
	PGresult *res = PQexec(x->conn, m->sql);
	svc_forget_statements(x->conn);
	ExecStatusType st = PQresultStatus(res);
	if (PQtransactionStatus(x->conn) != PQTRANS_INTRANS &&
	    PQtransactionStatus(x->conn) != PQTRANS_INERROR) {
		/* it committed or ended the apply transaction itself */
		PQclear(res);
		snprintf(x->err, sizeof x->err, "migration %u (%s) ended the "
		         "apply transaction (COMMIT/ROLLBACK in its SQL?)",
		         m->version, m->name);
		return -1;
	}
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		int ok = migrate_tables_ok(x, m);
		if (ok < 0)
			return -1;
		if (ok == 0)
			return svc_exec(x, "ROLLBACK TO SAVEPOINT svc_migrate",
			                NULL, NULL) ? -1 : 0;
		/* a SET in the migration must not outlive it */
		if (pgs_session_settings(x->conn, x->err, sizeof x->err) != 0)
			return -1;
		return svc_exec(x, "RELEASE SAVEPOINT svc_migrate", NULL, NULL)
			       ? -1
			       : 1;
	}
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (!deterministic_error(state)) {
		snprintf(x->err, sizeof x->err, "migration %u (%s) failed on "
		         "this node: %s", m->version, m->name,
		         PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	/* Only the SQLSTATE goes into the result: the server's text may
	 * name object ids that differ between nodes, and the result is
	 * replicated state. The full message goes to the log. */
	LMS_WARN("migration %u (%s) failed at index %llu: %s", m->version,
	         m->name, (unsigned long long)x->index,
	         PQresultErrorMessage(res));
	char code[8];
	snprintf(code, sizeof code, "%s", state ? state : "?????");
	PQclear(res);
	if (svc_exec(x, "ROLLBACK TO SAVEPOINT svc_migrate", NULL, NULL))
		return -1;
	svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
	           "migration %u (%s) failed with SQLSTATE %s; nothing was "
	           "changed (the node logs say more)", m->version, m->name,
	           code);
	return 0;
}

static int apply_migrate(struct svc_ctx *x, const Lms__Rpc__MigrateRequest *r,
                         int current, bool admin)
{
	const Lms__Rpc__Migration *m = r->migration;
	if (!m || !m->sql || !m->name)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the migration is empty");
	if ((int)m->version <= current)
		return svc_refuse(x, LMS__RPC__STATUS__CONFLICT,
		                  "migration %u is already applied (the schema "
		                  "is at version %d)", m->version, current);
	if ((int)m->version != current + 1)
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "migration %u needs migration %d first",
		                  m->version, current + 1);
	uint8_t sum[LMS_SHA256_LEN];
	char hex[2 * LMS_SHA256_LEN + 1];
	lms_sha256(m->sql, strlen(m->sql), sum);
	lms_hex_encode(sum, sizeof sum, hex);
	if (strcmp(hex, m->checksum) != 0)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "migration %u: checksum does not match its SQL",
		                  m->version);
	/* A well-formed next migration this binary does not know: applying
	 * it blindly could leave this node's schema unlike the code's, and
	 * refusing it could differ from what a newer lmsd decides, so the
	 * node stops (before the admin check, which depends on knowing it). */
	if (m->version > SVC_SCHEMA_KNOWN)
		return unknown_schema(x, m->version);
	const struct svc_known_migration *k = known_migration(m->version);
	/* Without an admin (a new cluster, no user yet) only the migrations
	 * this lmsd was built with may run: anyone can reach the port. */
	if (!admin && (!k || strcmp(k->sha256, hex) != 0))
		return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
		                  "before the first user exists only the "
		                  "migrations shipped with lmsd may be applied");
	if (k && strcmp(k->sha256, hex) != 0)
		LMS_WARN("migration %u (%s) applied at index %llu differs from "
		         "the one this lmsd was built with (checksum %s, built "
		         "with %s)", m->version, m->name,
		         (unsigned long long)x->index, hex, k->sha256);
	int rv = migrate_run(x, m);
	if (rv <= 0)
		return rv;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, m->version);
	svc_p_text(&p, m->name);
	svc_p_text(&p, hex);
	svc_p_text(&p, m->sql);
	svc_p_i64(&p, (int64_t)x->index);
	svc_p_text(&p, x->now);
	if (svc_exec(x, "INSERT INTO lms_meta.schema_migration (version, name, "
	                "checksum, sql, applied_index, applied_at) VALUES ($1, "
	                "$2, $3, $4, $5, $6::timestamptz)", &p, NULL))
		return -1;
	Lms__Rpc__MigrateResponse *out = malloc(sizeof *out);
	Lms__Rpc__Migration *mo = malloc(sizeof *mo);
	if (!out || !mo) {
		free(out);
		free(mo);
		snprintf(x->err, sizeof x->err, "out of memory");
		return -1;
	}
	lms__rpc__migrate_response__init(out);
	lms__rpc__migration__init(mo);
	mo->version = m->version;
	mo->name = svc_strdup(m->name);
	mo->checksum = svc_strdup(hex);
	mo->applied_at = svc_strdup(x->now);
	mo->applied_index = x->index;
	out->migration = mo;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_MIGRATE;
	x->resp->migrate = out;
	return 0;
}

/* May a migration run without a session? Only while no user exists. */
static int no_users_yet(struct svc_ctx *x, int current)
{
	if (current == 0)
		return 1;
	PGresult *res = svc_query(x, "SELECT NOT EXISTS (SELECT 1 FROM "
	                             "lms.app_user)", NULL);
	if (!res)
		return -1;
	int empty = svc_bool(res, 0, 0);
	PQclear(res);
	return empty;
}

/* -------------------------------------------------------------- apply */

static int dispatch(struct svc_ctx *x, const Lms__Rpc__Command *cmd)
{
	switch (cmd->op_case) {
	case LMS__RPC__COMMAND__OP_LOGOUT:
		return apply_logout(x, cmd->token_hash.data, cmd->token_hash.len);
	case LMS__RPC__COMMAND__OP_USER_CREATE:
		return apply_user_create(x, cmd->user_create);
	case LMS__RPC__COMMAND__OP_PASSWORD_CHANGE:
		return apply_password_change(x, cmd->password_change);
	case LMS__RPC__COMMAND__OP_COURSE_CREATE:
		return apply_course_create(x, cmd->course_create);
	case LMS__RPC__COMMAND__OP_ENROLL:
		return apply_enroll(x, cmd->enroll);
	case LMS__RPC__COMMAND__OP_ASSIGNMENT_CREATE:
		return apply_assignment_create(x, cmd->assignment_create);
	case LMS__RPC__COMMAND__OP_EXTENSION:
		return apply_extension(x, cmd->extension);
	case LMS__RPC__COMMAND__OP_SUBMIT:
		return apply_submit(x, cmd->submit);
	case LMS__RPC__COMMAND__OP_GRADE:
		return apply_grade(x, cmd->grade);
	case LMS__RPC__COMMAND__OP_MATERIAL_UPLOAD:
		return apply_material_upload(x, cmd->material_upload);
	case LMS__RPC__COMMAND__OP_QUERY_POST:
		return apply_query_post(x, cmd->query_post);
	case LMS__RPC__COMMAND__OP_QUERY_ANSWER:
		return apply_query_answer(x, cmd->query_answer);
	case LMS__RPC__COMMAND__OP_QUERY_CLAIM:
		return apply_query_claim(x, cmd->query_claim);
	case LMS__RPC__COMMAND__OP_QUERY_RELEASE:
		return apply_query_release(x, cmd->query_release);
	default:
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the command names no operation this node "
		                  "knows");
	}
}

static int apply_command(struct svc_ctx *x, const Lms__Rpc__Command *cmd)
{
	char err[256];
	/* min_schema is set by the proposing lmsd (never by a client) */
	if (cmd->min_schema > SVC_SCHEMA_KNOWN)
		return unknown_schema(x, cmd->min_schema);
	int current = svc_schema_version(x->conn, err, sizeof err);
	if (current < 0) {
		snprintf(x->err, sizeof x->err, "%s", err);
		return -1;
	}
	if ((int)cmd->min_schema > current)
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "the LMS schema is at version %d and this "
		                  "operation needs version %u: run lms-migrate "
		                  "up", current, cmd->min_schema);
	int64_t now_ms;
	if (lms_iso_parse(cmd->now, &now_ms) != 0)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the command carries no valid time");
	x->now = cmd->now;
	x->now_ms = now_ms;

	struct svc_actor actor;
	int auth = 0;
	if (current > 0) {
		auth = svc_session_actor(x, cmd->token_hash.data,
		                         cmd->token_hash.len, &actor, NULL, 0);
		if (auth < 0)
			return -1;
	}
	x->actor = auth == 1 ? &actor : NULL;
	switch (cmd->op_case) {
	case LMS__RPC__COMMAND__OP_BOOTSTRAP:
		x->actor = NULL;
		return apply_bootstrap(x, cmd->bootstrap);
	case LMS__RPC__COMMAND__OP_SESSION_CREATE:
		x->actor = NULL;
		return apply_session_create(x, cmd->session_create);
	case LMS__RPC__COMMAND__OP_MIGRATE: {
		if (!x->actor || x->actor->role != LMS__RPC__ROLE__ROLE_ADMIN) {
			int empty = no_users_yet(x, current);
			if (empty < 0)
				return -1;
			if (!empty)
				return svc_refuse(
					x, x->actor ? LMS__RPC__STATUS__PERMISSION_DENIED
					            : LMS__RPC__STATUS__UNAUTHENTICATED,
					"only an admin may migrate the schema once "
					"users exist");
		}
		return apply_migrate(x, cmd->migrate, current,
		                     x->actor &&
		                     x->actor->role == LMS__RPC__ROLE__ROLE_ADMIN);
	}
	default:
		if (!x->actor)
			return svc_refuse(x, LMS__RPC__STATUS__UNAUTHENTICATED,
			                  "not logged in, or the session has "
			                  "expired: log in again");
		return dispatch(x, cmd);
	}
}

/* Packs resp into result. 0 or -1. */
static int pack_response(const Lms__Rpc__Response *resp,
                         struct pgs_buf *result)
{
	size_t len = lms__rpc__response__get_packed_size(resp);
	if (pgs_buf_reserve(result, len))
		return -1;
	lms__rpc__response__pack(resp, result->data + result->len);
	result->len += len;
	return 0;
}

static int lms_apply(struct svc_machine *m, PGconn *conn, raft_index index,
                     const uint8_t *cmd, size_t len, struct pgs_buf *result,
                     char *err, size_t errlen)
{
	Lms__Rpc__Response resp;
	lms__rpc__response__init(&resp);
	struct svc_ctx x = {
		.conn = conn,
		.index = index,
		.limits = &m->limits,
		.resp = &resp,
	};
	int rv = 0;
	Lms__Rpc__Command *c = lms__rpc__command__unpack(NULL, len, cmd);
	if (!c)
		svc_refuse(&x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		           "the command does not decode");
	else
		rv = apply_command(&x, c);
	if (rv == 0 && pack_response(&resp, result) != 0) {
		snprintf(x.err, sizeof x.err, "out of memory");
		rv = -1;
	}
	if (rv != 0)
		snprintf(err, errlen, "%s", x.err[0] ? x.err : "apply failed");
	if (c)
		lms__rpc__command__free_unpacked(c, NULL);
	/* resp is on the stack: free what hangs off it */
	if (resp.message != protobuf_c_empty_string)
		free(resp.message);
	resp.message = NULL;
	if (resp.result_case != LMS__RPC__RESPONSE__RESULT__NOT_SET) {
		const ProtobufCMessage **field =
			(const ProtobufCMessage **)&resp.kv_put;
		protobuf_c_message_free_unpacked((ProtobufCMessage *)*field,
		                                 NULL);
	}
	return rv;
}

static int machine_apply(void *ctx, PGconn *conn, raft_index index,
                         const void *cmd, size_t len, struct pgs_buf *result,
                         char *err, size_t errlen)
{
	const uint8_t *p = cmd;
	if (len > 0 && p[0] == SVC_CMD_TAG) {
		/* key/value puts may be in flight (pgs.h): the LMS statements
		 * need the connection to themselves */
		if (pgs_kv_state_machine.flush(pgs_kv_state_machine.ctx, conn,
		                               err, errlen) != 0)
			return -1;
		return lms_apply(ctx, conn, index, p + 1, len - 1, result, err,
		                 errlen);
	}
	return pgs_kv_state_machine.apply(pgs_kv_state_machine.ctx, conn,
	                                  index, cmd, len, result, err, errlen);
}

static int machine_prepare(void *ctx, PGconn *conn, char *err, size_t errlen)
{
	(void)ctx;
	if (!pgs_kv_state_machine.prepare)
		return 0;
	return pgs_kv_state_machine.prepare(pgs_kv_state_machine.ctx, conn,
	                                    err, errlen);
}

void svc_machine_init(struct svc_machine *m, const struct svc_limits *lim)
{
	memset(m, 0, sizeof *m);
	m->limits = *lim;
	m->sm.name = "lms";
	m->sm.tables = fixed_tables;
	m->sm.schemas = schemas;
	m->sm.setup_sql = setup_sql;
	m->sm.apply = machine_apply;
	m->sm.prepare = machine_prepare;
	m->sm.flush = pgs_kv_state_machine.flush;
	m->sm.schema_dump = schema_dump;
	m->sm.schema_load = schema_load;
	m->sm.ctx = m;
}

int svc_command_encode(const Lms__Rpc__Command *cmd, struct pgs_buf *out)
{
	size_t len = lms__rpc__command__get_packed_size(cmd);
	if (pgs_buf_reserve(out, len + 1))
		return -1;
	out->data[out->len++] = SVC_CMD_TAG;
	lms__rpc__command__pack(cmd, out->data + out->len);
	out->len += len;
	return 0;
}

/* --------------------------------------------------------------- reads */

static int schema_status(struct svc_ctx *x)
{
	PGresult *res = svc_query(x,
		"SELECT version, name, checksum, applied_index, "
		"to_char(applied_at AT TIME ZONE 'UTC', "
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM lms_meta.schema_migration "
		"ORDER BY version", NULL);
	if (!res)
		return -1;
	Lms__Rpc__SchemaStatusResponse *out = malloc(sizeof *out);
	int n = PQntuples(res);
	Lms__Rpc__Migration **v = calloc((size_t)n + 1, sizeof *v);
	if (!out || !v) {
		free(out);
		free(v);
		PQclear(res);
		snprintf(x->err, sizeof x->err, "out of memory");
		return -1;
	}
	lms__rpc__schema_status_response__init(out);
	out->applied = v;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_SCHEMA_STATUS;
	x->resp->schema_status = out;
	out->known = SVC_SCHEMA_KNOWN;
	for (int r = 0; r < n; r++) {
		Lms__Rpc__Migration *m = malloc(sizeof *m);
		if (!m)
			break;
		lms__rpc__migration__init(m);
		m->version = (uint32_t)svc_i64(res, r, 0);
		m->name = svc_text(res, r, 1);
		m->checksum = svc_text(res, r, 2);
		m->applied_index = (uint64_t)svc_i64(res, r, 3);
		m->applied_at = svc_text(res, r, 4);
		v[out->n_applied++] = m;
		out->version = m->version;
	}
	PQclear(res);
	return 0;
}

static int read_dispatch(struct svc_ctx *x, const Lms__Rpc__Request *q,
                         const char *expires_at)
{
	switch (q->op_case) {
	case LMS__RPC__REQUEST__OP_WHOAMI:
		return read_whoami(x, q->whoami, expires_at);
	case LMS__RPC__REQUEST__OP_USER_LIST:
		return read_user_list(x, q->user_list);
	case LMS__RPC__REQUEST__OP_COURSE_LIST:
		return read_course_list(x, q->course_list);
	case LMS__RPC__REQUEST__OP_COURSE_MEMBERS:
		return read_course_members(x, q->course_members);
	case LMS__RPC__REQUEST__OP_ASSIGNMENT_LIST:
		return read_assignment_list(x, q->assignment_list);
	case LMS__RPC__REQUEST__OP_ASSIGNMENT_GET:
		return read_assignment_get(x, q->assignment_get);
	case LMS__RPC__REQUEST__OP_SUBMISSION_LIST:
		return read_submission_list(x, q->submission_list);
	case LMS__RPC__REQUEST__OP_SUBMISSION_GET:
		return read_submission_get(x, q->submission_get);
	case LMS__RPC__REQUEST__OP_GRADES:
		return read_grades(x, q->grades);
	case LMS__RPC__REQUEST__OP_GRADEBOOK:
		return read_gradebook(x, q->gradebook);
	case LMS__RPC__REQUEST__OP_MATERIAL_LIST:
		return read_material_list(x, q->material_list);
	case LMS__RPC__REQUEST__OP_MATERIAL_GET:
		return read_material_get(x, q->material_get);
	case LMS__RPC__REQUEST__OP_MATERIAL_SEARCH:
		return read_material_search(x, q->material_search);
	case LMS__RPC__REQUEST__OP_QUERY_LIST:
		return read_query_list(x, q->query_list);
	case LMS__RPC__REQUEST__OP_QUERY_GET:
		return read_query_get(x, q->query_get);
	case LMS__RPC__REQUEST__OP_PROGRESS:
		return read_progress(x, q->progress);
	case LMS__RPC__REQUEST__OP_STATS:
		return read_stats(x, q->stats);
	default:
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "not a read operation");
	}
}

/* The read itself, inside svc_read's transaction. 0 or -1 (x->err). */
static int read_in_txn(struct svc_ctx *x, const Lms__Rpc__Request *req,
                       const uint8_t *token_hash)
{
	if (req->op_case == LMS__RPC__REQUEST__OP_SCHEMA_STATUS)
		return schema_status(x);
	char e[256];
	int current = svc_schema_version(x->conn, e, sizeof e);
	if (current < 0) {
		snprintf(x->err, sizeof x->err, "%s", e);
		return -1;
	}
	if (current < 1)
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "the LMS schema is not installed yet: run "
		                  "lms-migrate up");
	struct svc_actor actor;
	char expires[LMS_ISO_MAX];
	int rv = svc_session_actor(x, token_hash, token_hash ? 32 : 0, &actor,
	                           expires, sizeof expires);
	if (rv == 0)
		return svc_refuse(x, LMS__RPC__STATUS__UNAUTHENTICATED,
		                  "not logged in, or the session has expired: "
		                  "log in again");
	if (rv < 0)
		return -1;
	x->actor = &actor;
	rv = read_dispatch(x, req, expires);
	x->actor = NULL;
	return rv < 0 ? -1 : 0;
}

int svc_read(PGconn *conn, const struct svc_limits *lim,
             const Lms__Rpc__Request *req, const uint8_t *token_hash,
             int64_t now_ms, Lms__Rpc__Response *resp, char *err,
             size_t errlen)
{
	char now[LMS_ISO_MAX];
	lms_iso_format(now_ms, now, sizeof now);
	struct svc_ctx x = {
		.conn = conn,
		.now = now,
		.now_ms = now_ms,
		.limits = lim,
		.resp = resp,
	};
	/* one consistent state for the several queries of a read */
	PGresult *res = PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ "
	                             "READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "could not start a read: %s",
		         PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	int rv = read_in_txn(&x, req, token_hash);
	res = PQexec(conn, rv == 0 ? "COMMIT" : "ROLLBACK");
	if (PQresultStatus(res) != PGRES_COMMAND_OK && rv == 0) {
		snprintf(x.err, sizeof x.err, "could not end a read: %s",
		         PQresultErrorMessage(res));
		rv = -1;
	}
	PQclear(res);
	if (rv < 0)
		snprintf(err, errlen, "%s", x.err);
	return rv;
}

/*
 * pg_kv.c -- a small key/value state machine on raft_state.kv.
 *
 * It exists to exercise the driver end to end (tests, examples, the
 * benchmark) with a state machine that is real SQL but tiny. The command
 * and result encodings are documented in pgs.h; everything is little
 * endian and length-prefixed, decoded with bounds checks.
 *
 * Determinism: apply checks everything that could make the SQL fail
 * (length, UTF-8, NUL in a key) before running it, and answers a bad
 * command with PGS_KV_BAD_COMMAND, a recorded result like any other: a
 * malformed entry must not stop the node on every replay. version is the
 * log index of the write, never a clock or a sequence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"
#include "util.h"

static const char *const kv_tables[] = {"raft_state.kv", NULL};

/* ------------------------------------------------------------ encoding */

static bool key_ok(const char *key, size_t len)
{
	return len >= 1 && len <= PGS_KV_KEY_MAX && !memchr(key, '\0', len) &&
	       lms_utf8_valid(key, len);
}

static int put_blob(struct pgs_buf *out, const void *p, size_t n)
{
	if (n > UINT32_MAX)
		return PGS_EINVAL;
	int rv = pg_buf_u32le(out, (uint32_t)n);
	return rv ? rv : pgs_buf_append(out, p, n);
}

static int encode_head(struct pgs_buf *out, enum pgs_kv_op op,
                       const char *key)
{
	if (!key || !key_ok(key, strlen(key)))
		return PGS_EINVAL;
	int rv = pg_buf_u8(out, (uint8_t)op);
	return rv ? rv : put_blob(out, key, strlen(key));
}

int pgs_kv_encode_put(struct pgs_buf *out, const char *key,
                      const void *value, size_t value_len)
{
	size_t mark = out->len;
	int rv = encode_head(out, PGS_KV_PUT, key);
	rv = rv ? rv : put_blob(out, value, value_len);
	if (rv)
		out->len = mark;
	return rv;
}

int pgs_kv_encode_delete(struct pgs_buf *out, const char *key)
{
	size_t mark = out->len;
	int rv = encode_head(out, PGS_KV_DELETE, key);
	if (rv)
		out->len = mark;
	return rv;
}

int pgs_kv_encode_cas(struct pgs_buf *out, const char *key,
                      const void *expected, size_t expected_len,
                      const void *value, size_t value_len)
{
	size_t mark = out->len;
	int rv = encode_head(out, PGS_KV_CAS, key);
	rv = rv ? rv : pg_buf_u8(out, expected ? 1 : 0);
	rv = rv ? rv : put_blob(out, expected, expected ? expected_len : 0);
	rv = rv ? rv : put_blob(out, value, value_len);
	if (rv)
		out->len = mark;
	return rv;
}

/* Result: u8 code | u64 version | u8 has_value | u32 len | value. */
static int encode_result(struct pgs_buf *out, enum pgs_kv_code code,
                         raft_index version, bool has_value,
                         const void *value, size_t len)
{
	int rv = pg_buf_u8(out, (uint8_t)code);
	rv = rv ? rv : pg_buf_u64le(out, version);
	rv = rv ? rv : pg_buf_u8(out, has_value ? 1 : 0);
	rv = rv ? rv : put_blob(out, value, len);
	return rv;
}

int pgs_kv_decode_result(const void *buf, size_t len,
                         struct pgs_kv_result *out)
{
	const unsigned char *p = buf;
	if (!buf || len < 14)
		return PGS_EINVAL;
	uint32_t vlen = pg_get_le32(p + 10);
	if (p[0] > PGS_KV_BAD_COMMAND || p[9] > 1 || vlen != len - 14)
		return PGS_EINVAL;
	out->code = p[0];
	out->version = pg_get_le64(p + 1);
	out->has_value = p[9] != 0;
	out->value = p + 14;
	out->value_len = vlen;
	return 0;
}

/* ------------------------------------------------------------ decoding */

struct reader {
	const unsigned char *p;
	size_t left;
};

static bool rd_u8(struct reader *r, uint8_t *v)
{
	if (r->left < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->left--;
	return true;
}

static bool rd_blob(struct reader *r, const void **p, size_t *n)
{
	if (r->left < 4)
		return false;
	uint32_t len = pg_get_le32(r->p);
	if (len > r->left - 4)
		return false;
	*p = r->p + 4;
	*n = len;
	r->p += 4 + len;
	r->left -= 4 + len;
	return true;
}

struct kv_cmd {
	uint8_t op;
	const void *key;
	size_t key_len;
	bool has_expected;
	const void *expected;
	size_t expected_len;
	const void *value;
	size_t value_len;
};

/* NULL, or why the command is malformed. */
static const char *kv_parse(const void *cmd, size_t len, struct kv_cmd *c)
{
	struct reader r = {cmd, len};
	memset(c, 0, sizeof *c);
	if (!rd_u8(&r, &c->op))
		return "empty command";
	if (c->op < PGS_KV_PUT || c->op > PGS_KV_CAS)
		return "unknown operation";
	if (!rd_blob(&r, &c->key, &c->key_len))
		return "truncated key";
	if (!key_ok(c->key, c->key_len))
		return "key must be 1..1024 bytes of UTF-8 without NUL";
	if (c->op == PGS_KV_CAS) {
		uint8_t has;
		if (!rd_u8(&r, &has) || has > 1 ||
		    !rd_blob(&r, &c->expected, &c->expected_len))
			return "truncated expected value";
		c->has_expected = has;
	}
	if (c->op != PGS_KV_DELETE &&
	    !rd_blob(&r, &c->value, &c->value_len))
		return "truncated value";
	if (c->value_len > INT32_MAX / 2)
		return "value too large";
	if (r.left)
		return "trailing bytes after the command";
	return NULL;
}

/* ---------------------------------------------------------------- apply */

static const struct {
	const char *name;
	const char *sql;
} kv_statements[] = {
	{"pgs_kv_get", "SELECT value, version FROM raft_state.kv WHERE key = $1"},
	{"pgs_kv_put",
	 "INSERT INTO raft_state.kv (key, value, version) VALUES ($1, $2, $3) "
	 "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
	 "version = EXCLUDED.version"},
	{"pgs_kv_delete", "DELETE FROM raft_state.kv WHERE key = $1"},
};

static int kv_prepare(void *ctx, PGconn *conn, char *err, size_t errlen)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof kv_statements / sizeof kv_statements[0];
	     i++) {
		PGresult *res = PQprepare(conn, kv_statements[i].name,
		                          kv_statements[i].sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			char m[PG_ERRMSG_MAX];
			pg_message(conn, res, m, sizeof m);
			snprintf(err, errlen, "could not prepare \"%s\": %s",
			         kv_statements[i].name, m);
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	return 0;
}

/* Runs a kv statement; key as binary text, then value/version if given. */
static PGresult *kv_exec(PGconn *conn, const char *stmt, const struct kv_cmd *c,
                         const void *value, size_t value_len, bool with_value,
                         raft_index version, ExecStatusType want,
                         char *err, size_t errlen)
{
	struct pg_params p;
	pg_params_init(&p);
	pg_param_bytes(&p, c->key, c->key_len); /* binary text = its bytes */
	if (with_value) {
		pg_param_bytes(&p, value, value_len);
		pg_param_u64(&p, version);
	}
	PGresult *res = PQexecPrepared(conn, stmt, p.n, p.values, p.lengths,
	                               p.formats, 1);
	if (PQresultStatus(res) == want)
		return res;
	char m[PG_ERRMSG_MAX];
	pg_message(conn, res, m, sizeof m);
	snprintf(err, errlen, "%s on key of %zu bytes: %s", stmt, c->key_len, m);
	PQclear(res);
	return NULL;
}

/*
 * Puts are pipelined: a put's answer (OK, version = its index) does not
 * depend on the database, so its INSERT is only sent (libpq pipeline
 * mode) and the next entries go on; kv_flush collects the outcomes in
 * one round trip, before any statement whose result is needed (a get, a
 * delete, the driver's own statements at the end of the batch). A put
 * that fails there fails the whole apply, exactly as if it had failed at
 * once. At most KV_PIPELINE_MAX are in flight, so that the server's
 * answers never fill the socket while this (blocking) connection is still
 * sending. The count is per thread: a connection applies on one thread,
 * one batch at a time.
 */
#define KV_PIPELINE_MAX 256

static _Thread_local unsigned kv_in_flight;

static int kv_flush(void *ctx, PGconn *conn, char *err, size_t errlen)
{
	(void)ctx;
	if (PQpipelineStatus(conn) == PQ_PIPELINE_OFF)
		return 0;
	unsigned pending = kv_in_flight;
	kv_in_flight = 0;
	int rv = 0;
	if (!PQpipelineSync(conn)) {
		snprintf(err, errlen, "could not end the pipeline of puts: %s",
		         PQerrorMessage(conn));
		rv = -1;
	}
	/* each put's result and the NULL that ends it, then the sync; after
	 * a failure the rest come back PGRES_PIPELINE_ABORTED */
	for (unsigned nulls = 0; rv == 0 || PQstatus(conn) == CONNECTION_OK;) {
		PGresult *res = PQgetResult(conn);
		if (!res) {
			if (PQstatus(conn) != CONNECTION_OK ||
			    ++nulls > pending + 1) {
				if (rv == 0)
					snprintf(err, errlen, "the pipeline of "
					         "puts ended early: %s",
					         PQerrorMessage(conn));
				rv = -1;
				break;
			}
			continue;
		}
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (st != PGRES_COMMAND_OK && rv == 0) {
			char m[PG_ERRMSG_MAX];
			pg_message(conn, res, m, sizeof m);
			snprintf(err, errlen, "a put failed: %s", m);
			rv = -1;
		}
		PQclear(res);
	}
	if (!PQexitPipelineMode(conn) && rv == 0) {
		snprintf(err, errlen, "could not leave pipeline mode: %s",
		         PQerrorMessage(conn));
		rv = -1;
	}
	return rv;
}

/* encode_result's outcome as apply's: 0, or -1 with a message. */
static int kv_answered(int rv, char *err, size_t errlen)
{
	if (rv)
		snprintf(err, errlen, "out of memory");
	return rv ? -1 : 0;
}

static int kv_put_pipelined(PGconn *conn, const struct kv_cmd *c,
                            raft_index index, struct pgs_buf *result,
                            char *err, size_t errlen)
{
	if (PQpipelineStatus(conn) == PQ_PIPELINE_OFF &&
	    !PQenterPipelineMode(conn)) {
		snprintf(err, errlen, "could not enter pipeline mode: %s",
		         PQerrorMessage(conn));
		return -1;
	}
	struct pg_params p;
	pg_params_init(&p);
	pg_param_bytes(&p, c->key, c->key_len); /* binary text = its bytes */
	pg_param_bytes(&p, c->value, c->value_len);
	pg_param_u64(&p, index);
	if (!PQsendQueryPrepared(conn, "pgs_kv_put", p.n, p.values, p.lengths,
	                         p.formats, 1)) {
		snprintf(err, errlen, "could not send a put: %s",
		         PQerrorMessage(conn));
		return -1;
	}
	if (++kv_in_flight >= KV_PIPELINE_MAX &&
	    kv_flush(NULL, conn, err, errlen) != 0)
		return -1;
	return kv_answered(encode_result(result, PGS_KV_OK, index, false, NULL, 0),
	                   err, errlen);
}

static int kv_apply(void *ctx, PGconn *conn, raft_index index,
                    const void *cmd, size_t len, struct pgs_buf *result,
                    char *err, size_t errlen)
{
	(void)ctx;
	struct kv_cmd c;
	const char *bad = kv_parse(cmd, len, &c);
	if (bad)
		return kv_answered(encode_result(result, PGS_KV_BAD_COMMAND, 0,
		                                 true, bad, strlen(bad)), err, errlen);
	PGresult *res;
	int rv;
	if (c.op == PGS_KV_PUT)
		return kv_put_pipelined(conn, &c, index, result, err, errlen);
	if (kv_flush(NULL, conn, err, errlen) != 0)
		return -1;
	if (c.op == PGS_KV_DELETE) {
		res = kv_exec(conn, "pgs_kv_delete", &c, NULL, 0, false, 0,
		              PGRES_COMMAND_OK, err, errlen);
		if (!res)
			return -1;
		bool gone = pg_cmd_rows(res) == 1;
		PQclear(res);
		rv = encode_result(result, gone ? PGS_KV_OK : PGS_KV_NOT_FOUND,
		                   gone ? index : 0, false, NULL, 0);
		return kv_answered(rv, err, errlen);
	}
	if (c.op == PGS_KV_CAS) {
		res = kv_exec(conn, "pgs_kv_get", &c, NULL, 0, false, 0,
		              PGRES_TUPLES_OK, err, errlen);
		if (!res)
			return -1;
		bool present = PQntuples(res) == 1;
		const char *cur = present ? PQgetvalue(res, 0, 0) : NULL;
		size_t cur_len = present ? (size_t)PQgetlength(res, 0, 0) : 0;
		bool match = present == c.has_expected &&
		             (!present || (cur_len == c.expected_len &&
		                           memcmp(cur, c.expected, cur_len) == 0));
		if (!match) {
			raft_index v = present ? (raft_index)pg_get_i64(res, 0, 1) : 0;
			rv = encode_result(result, PGS_KV_CONFLICT, v, present, cur,
			                   cur_len);
			PQclear(res);
			return kv_answered(rv, err, errlen);
		}
		PQclear(res);
	}
	res = kv_exec(conn, "pgs_kv_put", &c, c.value, c.value_len, true, index,
	              PGRES_COMMAND_OK, err, errlen);
	if (!res)
		return -1;
	PQclear(res);
	return kv_answered(encode_result(result, PGS_KV_OK, index, false, NULL, 0),
	                   err, errlen);
}

const struct pgs_state_machine pgs_kv_state_machine = {
	.name = "kv",
	.tables = kv_tables,
	.apply = kv_apply,
	.prepare = kv_prepare,
	.flush = kv_flush,
	.ctx = NULL,
};

/* ----------------------------------------------------------------- read */

int pgs_kv_get(struct pgs *pgs, const char *key, struct pgs_buf *value,
               bool *found, raft_index *version, raft_index *applied)
{
	*found = false;
	if (value)
		pgs_buf_reset(value);
	if (!key || !key_ok(key, strlen(key)))
		return pg_fail(pgs, PGS_EINVAL, "could not read key: invalid key");
	struct pg_params p;
	pg_params_init(&p);
	pg_param_text(&p, key);
	PGresult *res = pg_query(pgs, pgs->conn, NULL,
	                         "SELECT a.last_applied, k.value, k.version "
	                         "FROM raft.applied a "
	                         "LEFT JOIN raft_state.kv k ON k.key = $1",
	                         &p, true, PGRES_TUPLES_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not read key \"%s\": %s", key,
		               pgs->dberr);
	int rv = 0;
	if (PQntuples(res) != 1) {
		rv = pg_fail(pgs, PGS_ECORRUPT, "could not read key \"%s\": table "
		             "raft.applied does not have exactly one row", key);
		goto out;
	}
	if (applied)
		*applied = (raft_index)pg_get_i64(res, 0, 0);
	if (PQgetisnull(res, 0, 1))
		goto out;
	*found = true;
	if (version)
		*version = (raft_index)pg_get_i64(res, 0, 2);
	if (value && pgs_buf_append(value, PQgetvalue(res, 0, 1),
	                            (size_t)PQgetlength(res, 0, 1)))
		rv = pg_fail(pgs, PGS_ENOMEM, "out of memory");
out:
	PQclear(res);
	return rv;
}

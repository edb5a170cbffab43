/*
 * pg_apply.c -- applying committed entries inside the persist transaction.
 *
 * From DESIGN.md, "The apply step": committed entries are applied inside
 * PostgreSQL transactions; the same transaction records last_applied and
 * the client's dedup record. This file is that step, below the state
 * machine:
 *
 *   NOOP    nothing but last_applied;
 *   CONFIG  raft.membership rewritten with the decoded configuration (a
 *           node-local view for operators and reports);
 *   NORMAL  the exactly-once envelope (u64 client_id | u64 seq | payload,
 *           little endian) is checked against raft_state.client_session,
 *           then the payload goes to the state machine and its answer is
 *           recorded for retries.
 *
 * The sessions are read before and written after the state machine, in
 * the same transaction, so "applied" and "recorded" cannot come apart.
 * The decisions depend only on replicated state (the session table) and
 * the entry, so every node gives every entry the same status.
 *
 * Answers are gathered in one buffer (pgs->results) and the result
 * pointers are set only at the end, because the buffer may move while it
 * grows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"
#include "util.h"

/* ------------------------------------------------------------ envelope */

int pgs_envelope_encode(struct pgs_buf *out, uint64_t client_id,
                        uint64_t seq, const void *payload, size_t len)
{
	int rv = pgs_buf_reserve(out, PGS_ENVELOPE_HEADER + len);
	rv = rv ? rv : pg_buf_u64le(out, client_id);
	rv = rv ? rv : pg_buf_u64le(out, seq);
	rv = rv ? rv : pgs_buf_append(out, payload, len);
	return rv;
}

int pgs_envelope_decode(const void *data, size_t len, uint64_t *client_id,
                        uint64_t *seq, const void **payload,
                        size_t *payload_len)
{
	if (!data || len < PGS_ENVELOPE_HEADER)
		return PGS_EINVAL;
	const unsigned char *p = data;
	uint64_t cid = pg_get_le64(p), s = pg_get_le64(p + 8);
	if (cid != 0 && s == 0)
		return PGS_EINVAL;
	*client_id = cid;
	*seq = s;
	*payload = p + PGS_ENVELOPE_HEADER;
	*payload_len = len - PGS_ENVELOPE_HEADER;
	return 0;
}

/* ---------------------------------------------------------- membership */

int pg_membership_write(struct pgs *pgs, const struct raft_config *config,
                        raft_index index)
{
	PGresult *res = pg_query(pgs, pgs->conn, NULL,
	                         "DELETE FROM raft.membership", NULL, false,
	                         PGRES_COMMAND_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not record the configuration "
		               "of index %llu: %s", (unsigned long long)index,
		               pgs->dberr);
	PQclear(res);
	for (unsigned i = 0; i < config->n && i < RAFT_MAX_SERVERS; i++) {
		const struct raft_server *s = &config->servers[i];
		char addr[RAFT_ADDRESS_MAX];
		size_t n = strnlen(s->address, RAFT_ADDRESS_MAX - 1);
		memcpy(addr, s->address, n);
		addr[n] = '\0';
		if (!lms_utf8_valid(addr, n))
			snprintf(addr, sizeof addr, "(not UTF-8)");
		const char *role = s->role == RAFT_VOTER      ? "voter"
		                   : s->role == RAFT_NONVOTER ? "nonvoter"
		                                              : NULL;
		if (!role || s->id == 0)
			return pg_fail(pgs, PGS_ECORRUPT,
			               "configuration of index %llu has a server "
			               "with id %llu and role %d",
			               (unsigned long long)index,
			               (unsigned long long)s->id, s->role);
		struct pg_params p;
		pg_params_init(&p);
		pg_param_u64(&p, s->id);
		pg_param_text(&p, role);
		pg_param_text(&p, addr);
		pg_param_u64(&p, index);
		res = pg_query(pgs, pgs->conn, NULL,
		               "INSERT INTO raft.membership (server_id, role, "
		               "address, config_idx) VALUES ($1, $2, $3, $4)",
		               &p, false, PGRES_COMMAND_OK);
		if (!res)
			return pg_fail(pgs, PGS_EDB, "could not record the "
			               "configuration of index %llu: %s",
			               (unsigned long long)index, pgs->dberr);
		PQclear(res);
	}
	return 0;
}

static int apply_config(struct pgs *pgs, const struct raft_entry *e)
{
	struct raft_config c;
	if (raft_config_decode(e->data, e->len, &c) != 0)
		return pg_fail(pgs, PGS_ECORRUPT,
		               "could not apply entry %llu: undecodable "
		               "configuration", (unsigned long long)e->index);
	return pg_membership_write(pgs, &c, e->index);
}

/* ------------------------------------------------------------ sessions */

/*
 * Sessions are read once per batch (every client id the batch names, one
 * query) and written once per batch (every session the batch changed, one
 * upsert from arrays), instead of two statements per entry: the state
 * after the batch is the same as with per-entry statements, and no other
 * statement of the batch reads the table.
 */

static int session_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct pg_session *)a)->client_id;
	uint64_t y = ((const struct pg_session *)b)->client_id;
	return x < y ? -1 : x > y;
}

static struct pg_session *session_find(struct pgs *pgs, uint64_t client_id)
{
	struct pg_session key = {.client_id = client_id};
	return bsearch(&key, pgs->sess, pgs->n_sess, sizeof key, session_cmp);
}

/* Collects the batch's client ids and reads their sessions. */
static int sessions_fetch(struct pgs *pgs, const struct raft_ready *rd)
{
	pgs->n_sess = 0;
	pgs_buf_reset(&pgs->sess_bytes);
	for (size_t i = 0; i < rd->n_committed; i++) {
		const struct raft_entry *e = &rd->committed[i];
		uint64_t cid, seq;
		const void *payload;
		size_t plen;
		if (e->type != RAFT_ENTRY_NORMAL ||
		    pgs_envelope_decode(e->data, e->len, &cid, &seq, &payload,
		                        &plen) != 0 || cid == 0)
			continue;
		if (pgs->n_sess == pgs->sess_cap) {
			size_t cap = pgs->sess_cap ? 2 * pgs->sess_cap : 64;
			struct pg_session *v = realloc(pgs->sess, cap * sizeof *v);
			if (!v)
				return pg_fail(pgs, PGS_ENOMEM, "out of memory");
			pgs->sess = v;
			pgs->sess_cap = cap;
		}
		struct pg_session *s = &pgs->sess[pgs->n_sess++];
		memset(s, 0, sizeof *s);
		s->client_id = cid;
	}
	if (pgs->n_sess == 0)
		return 0;
	qsort(pgs->sess, pgs->n_sess, sizeof *pgs->sess, session_cmp);
	size_t u = 1;
	for (size_t i = 1; i < pgs->n_sess; i++)
		if (pgs->sess[i].client_id != pgs->sess[u - 1].client_id)
			pgs->sess[u++] = pgs->sess[i];
	pgs->n_sess = u;

	struct pgs_buf *ids = &pgs->arr[0];
	int rv = pg_array_start(ids, PG_OID_INT8, pgs->n_sess);
	for (size_t i = 0; i < pgs->n_sess && !rv; i++)
		rv = pg_array_add_u64(ids, pgs->sess[i].client_id);
	if (rv)
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	struct pg_params p;
	pg_params_init(&p);
	pg_param_bytes(&p, ids->data, ids->len);
	PGresult *res = pg_query(pgs, pgs->conn, "pgs_session_fetch", NULL, &p,
	                         true, PGRES_TUPLES_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not read the sessions of %zu "
		               "clients: %s", pgs->n_sess, pgs->dberr);
	for (int r = 0; r < PQntuples(res) && !rv; r++) {
		struct pg_session *s =
			session_find(pgs, (uint64_t)pg_get_i64(res, r, 0));
		if (!s)
			continue;
		s->exists = true;
		s->last_seq = (uint64_t)pg_get_i64(res, r, 1);
		s->off = pgs->sess_bytes.len;
		s->len = (size_t)PQgetlength(res, r, 2);
		if (pgs_buf_append(&pgs->sess_bytes, PQgetvalue(res, r, 2), s->len))
			rv = pg_fail(pgs, PGS_ENOMEM, "out of memory");
	}
	PQclear(res);
	return rv;
}

/* Writes every session the batch changed. */
static int sessions_store(struct pgs *pgs)
{
	size_t n = 0;
	for (size_t i = 0; i < pgs->n_sess; i++)
		n += pgs->sess[i].dirty;
	if (n == 0)
		return 0;
	int rv = pg_array_start(&pgs->arr[0], PG_OID_INT8, n);
	rv = rv ? rv : pg_array_start(&pgs->arr[1], PG_OID_INT8, n);
	rv = rv ? rv : pg_array_start(&pgs->arr[2], PG_OID_BYTEA, n);
	for (size_t i = 0; i < pgs->n_sess && !rv; i++) {
		const struct pg_session *s = &pgs->sess[i];
		if (!s->dirty)
			continue;
		rv = pg_array_add_u64(&pgs->arr[0], s->client_id);
		rv = rv ? rv : pg_array_add_u64(&pgs->arr[1], s->last_seq);
		rv = rv ? rv : pg_array_add(&pgs->arr[2],
		                            pgs->sess_bytes.data + s->off, s->len);
	}
	if (rv)
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	struct pg_params p;
	pg_params_init(&p);
	for (int i = 0; i < 3; i++)
		pg_param_bytes(&p, pgs->arr[i].data, pgs->arr[i].len);
	PGresult *res = pg_query(pgs, pgs->conn, "pgs_session_store", NULL, &p,
	                         false, PGRES_COMMAND_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not record the sessions of "
		               "%zu clients: %s", n, pgs->dberr);
	PQclear(res);
	return 0;
}

/* Adds bytes to the batch's answers; *off receives where they start. */
static int results_add(struct pgs *pgs, const void *p, size_t n, size_t *off)
{
	*off = pgs->results.len;
	if (pgs_buf_append(&pgs->results, p, n))
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	return 0;
}

/*
 * The exactly-once check. *done false: the entry must be applied; true:
 * it was answered from the session (DUPLICATE with the recorded answer,
 * or STALE).
 */
static int session_check(struct pgs *pgs, const struct pg_session *s,
                         struct pgs_apply_result *r, size_t *off, bool *done)
{
	*done = false;
	if (!s->exists || r->seq > s->last_seq)
		return 0;
	*done = true;
	if (r->seq < s->last_seq) {
		r->status = PGS_STALE;
		return 0;
	}
	r->status = PGS_DUPLICATE;
	r->result_len = s->len;
	return results_add(pgs, pgs->sess_bytes.data + s->off, s->len, off);
}

/* After the state machine answered: the session now ends at r->seq. */
static int session_record(struct pgs *pgs, struct pg_session *s,
                          const struct pgs_apply_result *r)
{
	s->exists = s->dirty = true;
	s->last_seq = r->seq;
	s->off = pgs->sess_bytes.len;
	s->len = pgs->sm_result.len;
	if (pgs_buf_append(&pgs->sess_bytes, pgs->sm_result.data, s->len))
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	return 0;
}

static int apply_normal(struct pgs *pgs, const struct raft_entry *e,
                        struct pgs_apply_result *r, size_t *off)
{
	const void *payload;
	size_t plen;
	if (pgs_envelope_decode(e->data, e->len, &r->client_id, &r->seq,
	                        &payload, &plen) != 0) {
		r->status = PGS_BAD_ENVELOPE;
		r->client_id = r->seq = 0;
		return 0;
	}
	int rv;
	struct pg_session *s = NULL;
	if (r->client_id != 0) {
		bool done;
		s = session_find(pgs, r->client_id);
		if (!s)
			return pg_fail(pgs, PGS_ECORRUPT, "could not apply entry "
			               "%llu: client %llu missing from the batch's "
			               "sessions", (unsigned long long)e->index,
			               (unsigned long long)r->client_id);
		if ((rv = session_check(pgs, s, r, off, &done)) || done)
			return rv;
	}
	pgs_buf_reset(&pgs->sm_result);
	char err[PG_ERRMSG_MAX] = "";
	if (pgs->sm->apply(pgs->sm->ctx, pgs->conn, e->index, payload, plen,
	                   &pgs->sm_result, err, sizeof err) != 0)
		return pg_fail(pgs, PGS_EDB,
		               "could not apply entry %llu (state machine \"%s\"): "
		               "%s", (unsigned long long)e->index, pgs->sm->name,
		               err[0] ? err : "unknown failure");
	if (s && (rv = session_record(pgs, s, r)))
		return rv;
	r->status = PGS_APPLIED;
	r->result_len = pgs->sm_result.len;
	return results_add(pgs, pgs->sm_result.data, pgs->sm_result.len, off);
}

/* ---------------------------------------------------------------- batch */

static int set_applied(struct pgs *pgs, raft_index to)
{
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, to);
	pg_param_u64(&p, pgs->last_applied);
	PGresult *res = pg_query(pgs, pgs->conn, "pgs_applied_set", NULL, &p,
	                         false, PGRES_COMMAND_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not set applied index %llu: %s",
		               (unsigned long long)to, pgs->dberr);
	uint64_t rows = pg_cmd_rows(res);
	PQclear(res);
	if (rows != 1)
		return pg_fail(pgs, PGS_ECORRUPT,
		               "could not set applied index %llu: the stored index "
		               "is no longer %llu (another writer?)",
		               (unsigned long long)to,
		               (unsigned long long)pgs->last_applied);
	pgs->last_applied = to;
	return 0;
}

/* Waits for what the state machine left in flight (pgs.h, flush). */
static int sm_flush(struct pgs *pgs)
{
	if (!pgs->sm->flush)
		return 0;
	char err[PG_ERRMSG_MAX] = "";
	if (pgs->sm->flush(pgs->sm->ctx, pgs->conn, err, sizeof err) != 0)
		return pg_fail(pgs, PGS_EDB, "could not apply the batch (state "
		               "machine \"%s\"): %s", pgs->sm->name,
		               err[0] ? err : "unknown failure");
	return 0;
}

static int apply_entries(struct pgs *pgs, const struct raft_ready *rd,
                         struct pgs_apply_result *results);

int pg_apply_committed(struct pgs *pgs, const struct raft_ready *rd,
                       struct pgs_apply_result *results)
{
	int rv = apply_entries(pgs, rd, results);
	/* out of pipeline mode whatever happened: the caller's ROLLBACK or
	 * the next statements need the connection */
	int frv = sm_flush(pgs);
	return rv ? rv : frv;
}

static int apply_entries(struct pgs *pgs, const struct raft_ready *rd,
                         struct pgs_apply_result *results)
{
	size_t n = rd->n_committed;
	if (n > pgs->result_cap) {
		size_t *o = realloc(pgs->result_off, n * sizeof *o);
		if (!o)
			return pg_fail(pgs, PGS_ENOMEM, "out of memory");
		pgs->result_off = o;
		pgs->result_cap = n;
	}
	pgs_buf_reset(&pgs->results);
	int rv = sessions_fetch(pgs, rd);
	if (rv)
		return rv;
	raft_index next = pgs->last_applied + 1;
	for (size_t i = 0; i < n; i++, next++) {
		const struct raft_entry *e = &rd->committed[i];
		struct pgs_apply_result *r = &results[i];
		memset(r, 0, sizeof *r);
		r->index = e->index;
		r->term = e->term;
		r->type = e->type;
		pgs->result_off[i] = 0;
		if (e->index != next)
			return pg_fail(pgs, PGS_ECORRUPT,
			               "could not apply entry %llu: the next entry to "
			               "apply is %llu", (unsigned long long)e->index,
			               (unsigned long long)next);
		rv = 0;
		switch (e->type) {
		case RAFT_ENTRY_NORMAL:
			rv = apply_normal(pgs, e, r, &pgs->result_off[i]);
			break;
		case RAFT_ENTRY_CONFIG:
			rv = sm_flush(pgs);
			rv = rv ? rv : apply_config(pgs, e);
			r->status = PGS_NOT_NORMAL;
			break;
		case RAFT_ENTRY_NOOP:
			r->status = PGS_NOT_NORMAL;
			break;
		default:
			rv = pg_fail(pgs, PGS_ECORRUPT,
			             "could not apply entry %llu: unknown type %d",
			             (unsigned long long)e->index, e->type);
		}
		if (rv)
			return rv;
	}
	if ((rv = sm_flush(pgs)) || (rv = sessions_store(pgs)) ||
	    (rv = set_applied(pgs, rd->committed[n - 1].index)))
		return rv;
	for (size_t i = 0; i < n; i++)
		results[i].result = results[i].result_len
		                            ? pgs->results.data + pgs->result_off[i]
		                            : NULL;
	return 0;
}

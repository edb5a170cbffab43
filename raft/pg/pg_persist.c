/*
 * pg_persist.c -- the persist transaction (pgs_persist): one ready batch,
 * one COMMIT, one fsync.
 *
 * Order inside the transaction (pgs.h explains why each step is where it
 * is): hard state; snapshot chunk; snapshot install; truncate; append;
 * compact; apply; COMMIT. The install comes before the log changes because
 * it drops the whole log: entries the core appended after installing (in
 * the same batch) must survive it, and entries at or below the snapshot
 * are covered by it, so they are skipped.
 *
 * The append sends the whole batch as four binary arrays to one prepared
 * INSERT ... SELECT FROM unnest(...): one round trip whatever the batch
 * size, no per-row statements, no text escaping of the payloads.
 *
 * Nothing here trusts the batch blindly: entries must be contiguous, the
 * log may not be truncated at or below the applied index (that would undo
 * committed entries), and committed entries must continue last_applied.
 * A violation is a bug above us; failing (and rolling back) is the only
 * way not to make it durable.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_internal.h"

/* Most entry bytes sent in one INSERT: a bytea[] parameter must stay well
 * under PostgreSQL's 1 GB value limit; bigger batches take several. */
#define PG_APPEND_MAX_BYTES ((size_t)64 << 20)

static bool ready_is_empty(const struct raft_ready *rd)
{
	return !rd->has_hard_state && !rd->has_snapshot_chunk &&
	       !rd->has_install_snapshot && rd->truncate_from == 0 &&
	       rd->n_entries == 0 && rd->compact_before == 0 &&
	       rd->n_committed == 0;
}

/* Nothing but committed entries to apply (see pgs_persist). */
static bool apply_only(const struct raft_ready *rd)
{
	return rd->n_committed && !rd->has_hard_state &&
	       !rd->has_snapshot_chunk && !rd->has_install_snapshot &&
	       rd->truncate_from == 0 && rd->n_entries == 0 &&
	       rd->compact_before == 0;
}

static int persist_hard_state(struct pgs *pgs, const struct raft_hard_state *hs)
{
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, hs->term);
	pg_param_u64(&p, hs->vote);
	PGresult *res = pg_query(pgs, pgs->conn, "pgs_hard_state", NULL, &p,
	                         false, PGRES_COMMAND_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB,
		               "could not store term %llu and vote %llu: %s",
		               (unsigned long long)hs->term,
		               (unsigned long long)hs->vote, pgs->dberr);
	uint64_t rows = pg_cmd_rows(res);
	PQclear(res);
	if (rows != 1)
		return pg_fail(pgs, PGS_ECORRUPT,
		               "could not store term %llu and vote %llu: table "
		               "raft.hard_state has no row",
		               (unsigned long long)hs->term,
		               (unsigned long long)hs->vote);
	return 0;
}

static int log_delete(struct pgs *pgs, const char *stmt, raft_index idx,
                      const char *what)
{
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, idx);
	PGresult *res = pg_query(pgs, pgs->conn, stmt, NULL, &p, false,
	                         PGRES_COMMAND_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not %s %llu: %s", what,
		               (unsigned long long)idx, pgs->dberr);
	PQclear(res);
	return 0;
}

/* One INSERT of e[0..n) (contiguous, bytes of data in all). */
static int append_statement(struct pgs *pgs, const struct raft_entry *e,
                            size_t n, size_t bytes)
{
	int rv = pg_array_start(&pgs->arr[0], PG_OID_INT8, n);
	rv = rv ? rv : pg_array_start(&pgs->arr[1], PG_OID_INT8, n);
	rv = rv ? rv : pg_array_start(&pgs->arr[2], PG_OID_INT2, n);
	rv = rv ? rv : pg_array_start(&pgs->arr[3], PG_OID_BYTEA, n);
	rv = rv ? rv : pgs_buf_reserve(&pgs->arr[3], bytes + 4 * n);
	for (size_t i = 0; i < n && !rv; i++) {
		rv = pg_array_add_u64(&pgs->arr[0], e[i].index);
		rv = rv ? rv : pg_array_add_u64(&pgs->arr[1], e[i].term);
		rv = rv ? rv : pg_array_add_i16(&pgs->arr[2], (int16_t)e[i].type);
		rv = rv ? rv : pg_array_add(&pgs->arr[3], e[i].data, e[i].len);
	}
	if (rv)
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	struct pg_params p;
	pg_params_init(&p);
	for (int i = 0; i < 4; i++)
		pg_param_bytes(&p, pgs->arr[i].data, pgs->arr[i].len);
	PGresult *res = pg_query(pgs, pgs->conn, "pgs_log_append", NULL, &p,
	                         false, PGRES_COMMAND_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB,
		               "could not append entries %llu..%llu: %s",
		               (unsigned long long)e[0].index,
		               (unsigned long long)e[n - 1].index, pgs->dberr);
	PQclear(res);
	return 0;
}

/* Appends e[0..n) minus those at or below skip_upto, in statements of at
 * most PG_APPEND_MAX_BYTES of data (at least one entry each). */
static int persist_append(struct pgs *pgs, const struct raft_entry *e,
                          size_t n, raft_index skip_upto)
{
	size_t first = 0;
	while (first < n && e[first].index <= skip_upto)
		first++;
	for (size_t i = first + 1; i < n; i++)
		if (e[i].index != e[i - 1].index + 1)
			return pg_fail(pgs, PGS_ECORRUPT,
			               "could not append entries %llu..%llu: index "
			               "%llu follows %llu",
			               (unsigned long long)e[first].index,
			               (unsigned long long)e[n - 1].index,
			               (unsigned long long)e[i].index,
			               (unsigned long long)e[i - 1].index);
	while (first < n) {
		size_t end = first, bytes = 0;
		while (end < n && (end == first ||
		                   (bytes <= PG_APPEND_MAX_BYTES &&
		                    e[end].len <= PG_APPEND_MAX_BYTES - bytes)))
			bytes += e[end++].len;
		int rv = append_statement(pgs, e + first, end - first, bytes);
		if (rv)
			return rv;
		first = end;
	}
	return 0;
}

static int read_applied(struct pgs *pgs)
{
	PGresult *res = pg_query(pgs, pgs->conn, "pgs_applied_get", NULL, NULL,
	                         true, PGRES_TUPLES_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not read applied index: %s",
		               pgs->dberr);
	if (PQntuples(res) != 1) {
		PQclear(res);
		return pg_fail(pgs, PGS_ECORRUPT,
		               "could not read applied index: table raft.applied "
		               "does not have exactly one row");
	}
	pgs->last_applied = (raft_index)pg_get_i64(res, 0, 0);
	pgs->applied_known = true;
	PQclear(res);
	return 0;
}

static uint64_t persist_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void pgs_last_timing(const struct pgs *pgs, struct pgs_timing *out)
{
	*out = pgs->timing;
}

static int persist_steps(struct pgs *pgs, const struct raft_ready *rd,
                         struct pgs_apply_result *results,
                         struct pgs_timing *t)
{
	uint64_t t0 = persist_now_us();
	int rv;
	if (!pgs->applied_known && (rv = read_applied(pgs)))
		return rv;
	if (rd->has_hard_state && (rv = persist_hard_state(pgs, &rd->hard_state)))
		return rv;
	if (rd->has_snapshot_chunk &&
	    (rv = pg_snapshot_store_chunk(pgs, &rd->snapshot_chunk)))
		return rv;
	raft_index installed = 0;
	if (rd->has_install_snapshot) {
		if ((rv = pg_snapshot_install(pgs, &rd->install_snapshot)))
			return rv;
		installed = rd->install_snapshot.index;
	}
	if (rd->truncate_from) {
		if (rd->truncate_from <= pgs->last_applied)
			return pg_fail(pgs, PGS_ECORRUPT,
			               "refusing to truncate the log from index %llu: "
			               "entries up to %llu are applied",
			               (unsigned long long)rd->truncate_from,
			               (unsigned long long)pgs->last_applied);
		if ((rv = log_delete(pgs, "pgs_log_truncate", rd->truncate_from,
		                     "truncate the log from index")))
			return rv;
	}
	if (rd->n_entries &&
	    (rv = persist_append(pgs, rd->entries, rd->n_entries, installed)))
		return rv;
	if (rd->compact_before &&
	    (rv = log_delete(pgs, "pgs_log_compact", rd->compact_before,
	                     "compact the log before index")))
		return rv;
	uint64_t t1 = persist_now_us();
	t->log_us = t1 - t0;
	if (rd->n_committed && (rv = pg_apply_committed(pgs, rd, results)))
		return rv;
	t->apply_us = persist_now_us() - t1;
	return 0;
}

int pgs_persist(struct pgs *pgs, const struct raft_ready *rd,
                struct pgs_apply_result *results)
{
	if (pgs->reader)
		return pg_fail(pgs, PGS_EINVAL, "could not persist: this "
		               "handle is a reader");
	if (pgs->broken)
		return pg_fail(pgs, PGS_EBROKEN,
		               "could not persist: an earlier failure left the "
		               "storage state unknown, it must be loaded again");
	if (ready_is_empty(rd)) {
		memset(&pgs->timing, 0, sizeof pgs->timing);
		return 0;
	}
	if (rd->n_committed && !results)
		return pg_fail(pgs, PGS_EINVAL,
		               "could not persist: no room for %zu apply results",
		               rd->n_committed);
	if (pg_command(pgs, pgs->conn, "BEGIN") != 0) {
		pgs->broken = true;
		pgs->applied_known = false;
		return pg_fail(pgs, PGS_EDB, "could not start the persist "
		                             "transaction: %s", pgs->dberr);
	}
	/*
	 * A batch that only applies committed entries need not wait for its
	 * own WAL flush: the entries are durable in the log already (appended
	 * by an earlier, synchronous batch), and the applied index moves with
	 * the state in this transaction, so a crash that loses this commit
	 * only makes the node apply those entries again from its log. Any
	 * later synchronous commit flushes this one too. Saves one fsync per
	 * write on the way to the client's answer.
	 */
	if (apply_only(rd) &&
	    pg_command(pgs, pgs->conn,
	               "SET LOCAL synchronous_commit = off") != 0) {
		PGresult *res = PQexec(pgs->conn, "ROLLBACK");
		PQclear(res);
		pgs->broken = true;
		pgs->applied_known = false;
		return pg_fail(pgs, PGS_EDB, "could not set up the apply "
		                             "transaction: %s", pgs->dberr);
	}
	raft_index applied_before = pgs->last_applied;
	struct pgs_timing t = {0, 0, 0};
	int rv = persist_steps(pgs, rd, results, &t);
	uint64_t c0 = persist_now_us();
	if (rv == 0 && pg_command(pgs, pgs->conn, "COMMIT") != 0)
		rv = pg_fail(pgs, PGS_EDB, "could not commit the persist "
		                           "transaction: %s", pgs->dberr);
	t.commit_us = persist_now_us() - c0;
	if (rv) {
		/* The server rolls back on its own if the connection is gone. */
		if (PQstatus(pgs->conn) == CONNECTION_OK &&
		    PQtransactionStatus(pgs->conn) != PQTRANS_IDLE) {
			PGresult *res = PQexec(pgs->conn, "ROLLBACK");
			PQclear(res);
		}
		pgs->broken = true;
		pgs->last_applied = applied_before;
		pgs->applied_known = false;
		return rv;
	}
	pgs->timing = t;
	return 0;
}

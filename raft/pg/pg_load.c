/*
 * pg_load.c -- reading a node's persisted state at start-up (pgs_load).
 *
 * Everything is read in one REPEATABLE READ transaction so the pieces are
 * of one moment: hard state, the latest complete snapshot, the log above
 * it and the applied index. The entries point straight into the PGresult
 * of the log query (binary format: bytea values are the raw bytes), which
 * the handle keeps until the next load or close; only the entry array is
 * allocated.
 *
 * Then the state is checked before the core sees it, because a core fed
 * a holed log would replicate the hole: the log must start right after the
 * snapshot and run without gaps, terms must not decrease, CONFIG entries
 * must decode, the snapshot's chunks must add up to its size, and the
 * applied index must lie between the snapshot and the last entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

static void load_forget(struct pgs *pgs)
{
	PQclear(pgs->load_res);
	pgs->load_res = NULL;
	free(pgs->load_entries);
	pgs->load_entries = NULL;
}

static int load_hard_state(struct pgs *pgs, struct raft_hard_state *hs)
{
	PGresult *res = pg_query(pgs, pgs->conn, NULL,
	                         "SELECT term, vote FROM raft.hard_state", NULL,
	                         true, PGRES_TUPLES_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not read hard state: %s",
		               pgs->dberr);
	if (PQntuples(res) != 1) {
		PQclear(res);
		return pg_fail(pgs, PGS_ECORRUPT,
		               "could not read hard state: table raft.hard_state "
		               "does not have exactly one row");
	}
	hs->term = (raft_term)pg_get_i64(res, 0, 0);
	hs->vote = (raft_id)pg_get_i64(res, 0, 1);
	PQclear(res);
	return 0;
}

static int load_applied(struct pgs *pgs, raft_index *applied)
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
	*applied = (raft_index)pg_get_i64(res, 0, 0);
	PQclear(res);
	return 0;
}

static int load_snapshot(struct pgs *pgs, struct raft_snapshot_meta *m)
{
	PGresult *res = pg_query(
		pgs, pgs->conn, NULL,
		"SELECT idx, term, config, size FROM raft.snapshot WHERE complete "
		"ORDER BY idx DESC LIMIT 1",
		NULL, true, PGRES_TUPLES_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not read snapshot metadata: %s",
		               pgs->dberr);
	if (PQntuples(res) == 0) {
		PQclear(res);
		memset(m, 0, sizeof *m);
		return 0;
	}
	m->index = (raft_index)pg_get_i64(res, 0, 0);
	m->term = (raft_term)pg_get_i64(res, 0, 1);
	m->size = (uint64_t)pg_get_i64(res, 0, 3);
	int bad = raft_config_decode(PQgetvalue(res, 0, 2),
	                             (size_t)PQgetlength(res, 0, 2), &m->config);
	PQclear(res);
	if (bad)
		return pg_fail(pgs, PGS_ECORRUPT,
		               "snapshot at index %llu has an undecodable "
		               "configuration", (unsigned long long)m->index);
	uint64_t stored;
	bool contiguous;
	int rv = pg_snapshot_stored(pgs, m->index, &stored, &contiguous);
	if (rv)
		return rv;
	if (!contiguous || stored != m->size)
		return pg_fail(pgs, PGS_ECORRUPT,
		               "snapshot at index %llu is damaged: its chunks hold "
		               "%llu bytes%s, its size is %llu",
		               (unsigned long long)m->index,
		               (unsigned long long)stored,
		               contiguous ? "" : " with holes",
		               (unsigned long long)m->size);
	return 0;
}

static int load_entries(struct pgs *pgs, raft_index after,
                        struct raft_initial_state *out)
{
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, after);
	PGresult *res = pg_query(pgs, pgs->conn, NULL,
	                         "SELECT idx, term, type, data FROM raft.log "
	                         "WHERE idx > $1 ORDER BY idx",
	                         &p, true, PGRES_TUPLES_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not read the log: %s",
		               pgs->dberr);
	int n = PQntuples(res);
	pgs->load_res = res;
	if (n == 0)
		return 0;
	pgs->load_entries = calloc((size_t)n, sizeof *pgs->load_entries);
	if (!pgs->load_entries)
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		struct raft_entry *e = &pgs->load_entries[i];
		e->index = (raft_index)pg_get_i64(res, i, 0);
		e->term = (raft_term)pg_get_i64(res, i, 1);
		e->type = pg_get_i16(res, i, 2);
		e->data = PQgetvalue(res, i, 3);
		e->len = (size_t)PQgetlength(res, i, 3);
	}
	out->entries = pgs->load_entries;
	out->n_entries = (size_t)n;
	return 0;
}

/* The checks described at the top of the file. */
static int load_check(struct pgs *pgs, const struct raft_initial_state *s)
{
	raft_index expect = s->snapshot.index + 1;
	raft_term prev_term = s->snapshot.term;
	for (size_t i = 0; i < s->n_entries; i++) {
		const struct raft_entry *e = &s->entries[i];
		if (e->index != expect) {
			if (i == 0)
				return pg_fail(pgs, PGS_ECORRUPT,
				               "log does not continue the snapshot: "
				               "snapshot ends at index %llu, log "
				               "resumes at %llu",
				               (unsigned long long)s->snapshot.index,
				               (unsigned long long)e->index);
			return pg_fail(pgs, PGS_ECORRUPT,
			               "gap in the log: entries %llu..%llu are "
			               "missing", (unsigned long long)expect,
			               (unsigned long long)e->index - 1);
		}
		if (e->term < prev_term)
			return pg_fail(pgs, PGS_ECORRUPT,
			               "log entry %llu has term %llu, below the "
			               "term %llu before it",
			               (unsigned long long)e->index,
			               (unsigned long long)e->term,
			               (unsigned long long)prev_term);
		if (e->type == RAFT_ENTRY_CONFIG) {
			struct raft_config c;
			if (raft_config_decode(e->data, e->len, &c) != 0)
				return pg_fail(pgs, PGS_ECORRUPT,
				               "log entry %llu holds an undecodable "
				               "configuration",
				               (unsigned long long)e->index);
		}
		prev_term = e->term;
		expect++;
	}
	raft_index last = expect - 1;
	if (s->applied < s->snapshot.index || s->applied > last)
		return pg_fail(pgs, PGS_ECORRUPT,
		               "applied index %llu lies outside the stored state "
		               "(snapshot %llu, last log entry %llu)",
		               (unsigned long long)s->applied,
		               (unsigned long long)s->snapshot.index,
		               (unsigned long long)last);
	return 0;
}

int pgs_load(struct pgs *pgs, struct raft_initial_state *out)
{
	memset(out, 0, sizeof *out);
	if (pgs->reader)
		return pg_fail(pgs, PGS_EINVAL, "could not load: this handle "
		               "is a reader");
	load_forget(pgs);
	pgs->applied_known = false;
	if (pg_command(pgs, pgs->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, "
	                               "READ ONLY") != 0)
		return pg_fail(pgs, PGS_EDB, "could not load state: %s",
		               pgs->dberr);
	int rv;
	if ((rv = load_hard_state(pgs, &out->hard_state)) ||
	    (rv = load_snapshot(pgs, &out->snapshot)) ||
	    (rv = load_applied(pgs, &out->applied)) ||
	    (rv = load_entries(pgs, out->snapshot.index, out)))
		goto err;
	if (pg_command(pgs, pgs->conn, "COMMIT") != 0) {
		rv = pg_fail(pgs, PGS_EDB, "could not load state: %s", pgs->dberr);
		goto err;
	}
	if ((rv = load_check(pgs, out)))
		goto err_after_commit;
	pgs->last_applied = out->applied;
	pgs->applied_known = true;
	pgs->broken = false;
	return 0;
err:
	pg_command(pgs, pgs->conn, "ROLLBACK");
err_after_commit:
	load_forget(pgs);
	memset(out, 0, sizeof *out);
	return rv;
}

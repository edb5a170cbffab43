/*
 * pg_snapshot.c -- snapshots in raft.snapshot / raft.snapshot_chunk:
 * taking one (pgs_snapshot_create), reading it to send it
 * (pgs_snapshot_read), storing a received chunk and installing a received
 * snapshot (both from pgs_persist, inside its transaction).
 *
 * Which snapshots exist: at most one complete snapshot (the newest; it is
 * the one the core knows about and sends to lagging followers) and at most
 * one incomplete snapshot being received (newer than the complete one).
 * Creating or installing a snapshot deletes every older one, complete or
 * not; starting to receive one deletes every incomplete one. A step never
 * deletes a snapshot newer than its own, so none of them can remove the
 * newest complete snapshot.
 *
 * Taking a snapshot uses two connections: a short-lived reader, in one
 * REPEATABLE READ transaction, streams every state table out with COPY
 * while the handle's connection writes the chunks as they fill (COPY OUT
 * keeps a connection busy, so one connection could not write chunks
 * before the whole table had been buffered). The reader's view fixes the
 * index: raft.applied.last_applied and the state tables move together.
 * The term and configuration as of that index come from that same view:
 * the term of the log entry at the index (or of the snapshot the index
 * equals), the newest CONFIG entry at or below it (or the snapshot's
 * configuration when no newer entry exists) -- exactly what the core
 * derives in raft_snapshot_taken.
 *
 * Installing reads the stored chunks back in offset order a few rows at a
 * time and feeds them to pg_container_load_*, which COPYs each segment;
 * fetching happens between COPYs, so one connection suffices and the
 * chunk stored by the same transaction is visible. The order inside the
 * persist transaction: the snapshot's schema section goes to the state
 * machine's schema_load first (it may drop and create tables), then the
 * state tables are listed again -- the snapshot's tables are checked
 * against that new list -- emptied and loaded. Any failure rolls the
 * whole transaction back: the node keeps its previous schema and rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

/* ------------------------------------------------------------- helpers */

int pg_snapshot_stored(struct pgs *pgs, raft_index idx, uint64_t *bytes,
                       bool *contiguous)
{
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, idx);
	PGresult *res = pg_query(
		pgs, pgs->conn, NULL,
		"SELECT coalesce(sum(len), 0)::bigint, "
		"coalesce(bool_and(off = start), true) "
		"FROM (SELECT off, octet_length(data)::bigint AS len, "
		"coalesce(sum(octet_length(data)::bigint) OVER (ORDER BY off "
		"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS start "
		"FROM raft.snapshot_chunk WHERE snapshot_idx = $1) c",
		&p, true, PGRES_TUPLES_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not read the chunks of "
		               "snapshot %llu: %s", (unsigned long long)idx,
		               pgs->dberr);
	*bytes = (uint64_t)pg_get_i64(res, 0, 0);
	*contiguous = PQgetvalue(res, 0, 1)[0] != 0;
	PQclear(res);
	return 0;
}

static int chunk_insert(struct pgs *pgs, raft_index idx, uint64_t off,
                        const void *data, size_t len)
{
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, idx);
	pg_param_u64(&p, off);
	pg_param_bytes(&p, data, len);
	PGresult *res = pg_query(pgs, pgs->conn, "pgs_chunk_insert", NULL, &p,
	                         false, PGRES_COMMAND_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not store bytes %llu..%llu of "
		               "snapshot %llu: %s", (unsigned long long)off,
		               (unsigned long long)(off + len),
		               (unsigned long long)idx, pgs->dberr);
	PQclear(res);
	return 0;
}

/* Runs sql with $1 = idx (and $2 = a when use_a) expecting a command. */
static int snap_command(struct pgs *pgs, const char *sql, raft_index idx,
                        bool use_a, uint64_t a, const char *what)
{
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, idx);
	if (use_a)
		pg_param_u64(&p, a);
	PGresult *res = pg_query(pgs, pgs->conn, NULL, sql, &p, false,
	                         PGRES_COMMAND_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not %s snapshot %llu: %s",
		               what, (unsigned long long)idx, pgs->dberr);
	PQclear(res);
	return 0;
}

/* ------------------------------------------------------------- create */

/* A pg_sink that cuts the container into chunks of pgs->chunk_bytes. */
struct chunk_sink {
	struct pgs *pgs;
	raft_index idx;
	struct pgs_buf buf;
	uint64_t flushed;
};

static int chunk_sink_flush(struct chunk_sink *cs)
{
	if (cs->buf.len == 0)
		return 0;
	int rv = chunk_insert(cs->pgs, cs->idx, cs->flushed, cs->buf.data,
	                      cs->buf.len);
	cs->flushed += cs->buf.len;
	cs->buf.len = 0;
	return rv;
}

static int chunk_sink_write(void *ctx, const void *p, size_t n)
{
	struct chunk_sink *cs = ctx;
	const unsigned char *d = p;
	while (n > 0) {
		size_t room = cs->pgs->chunk_bytes - cs->buf.len;
		size_t take = n < room ? n : room;
		if (pgs_buf_append(&cs->buf, d, take))
			return pg_fail(cs->pgs, PGS_ENOMEM, "out of memory");
		d += take;
		n -= take;
		if (cs->buf.len == cs->pgs->chunk_bytes) {
			int rv = chunk_sink_flush(cs);
			if (rv)
				return rv;
		}
	}
	return 0;
}

/* One bigint/bytea row from the reader, or not found. */
static int reader_row(struct pgs *pgs, PGconn *reader, const char *sql,
                      raft_index idx, PGresult **out)
{
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, idx);
	*out = pg_query(pgs, reader, NULL, sql, &p, true, PGRES_TUPLES_OK);
	if (!*out)
		return pg_fail(pgs, PGS_EDB, "could not read the state at index "
		               "%llu: %s", (unsigned long long)idx, pgs->dberr);
	if (PQntuples(*out) == 0) {
		PQclear(*out);
		*out = NULL;
	}
	return 0;
}

/*
 * Term and configuration as of idx, in the reader's view. *existing is set
 * when a complete snapshot at idx already exists (meta then describes it).
 */
static int meta_at(struct pgs *pgs, PGconn *reader, raft_index idx,
                   struct raft_snapshot_meta *meta, struct pgs_buf *config,
                   bool *existing)
{
	PGresult *snap, *entry, *conf;
	*existing = false;
	int rv = reader_row(pgs, reader,
	                    "SELECT idx, term, config, size FROM raft.snapshot "
	                    "WHERE complete AND idx <= $1 ORDER BY idx DESC "
	                    "LIMIT 1", idx, &snap);
	if (rv)
		return rv;
	raft_index snap_idx = snap ? (raft_index)pg_get_i64(snap, 0, 0) : 0;
	if (snap_idx == idx && snap) {
		*existing = true;
		meta->term = (raft_term)pg_get_i64(snap, 0, 1);
		meta->size = (uint64_t)pg_get_i64(snap, 0, 3);
	} else {
		if ((rv = reader_row(pgs, reader, "SELECT term FROM raft.log "
		                     "WHERE idx = $1", idx, &entry))) {
			PQclear(snap);
			return rv;
		}
		if (!entry) {
			PQclear(snap);
			return pg_fail(pgs, PGS_ECORRUPT, "could not create a "
			               "snapshot at index %llu: the entry is neither "
			               "in the log nor in a snapshot",
			               (unsigned long long)idx);
		}
		meta->term = (raft_term)pg_get_i64(entry, 0, 0);
		PQclear(entry);
	}
	if ((rv = reader_row(pgs, reader,
	                     "SELECT idx, data FROM raft.log WHERE type = 3 AND "
	                     "idx <= $1 ORDER BY idx DESC LIMIT 1", idx, &conf))) {
		PQclear(snap);
		return rv;
	}
	const char *cdata = NULL;
	size_t clen = 0;
	if (conf && (raft_index)pg_get_i64(conf, 0, 0) > snap_idx) {
		cdata = PQgetvalue(conf, 0, 1);
		clen = (size_t)PQgetlength(conf, 0, 1);
	} else if (snap) {
		cdata = PQgetvalue(snap, 0, 2);
		clen = (size_t)PQgetlength(snap, 0, 2);
	}
	if (!cdata)
		rv = pg_fail(pgs, PGS_ECORRUPT, "could not create a snapshot at "
		             "index %llu: no configuration at or below it",
		             (unsigned long long)idx);
	else if (raft_config_decode(cdata, clen, &meta->config) != 0)
		rv = pg_fail(pgs, PGS_ECORRUPT, "could not create a snapshot at "
		             "index %llu: its configuration does not decode",
		             (unsigned long long)idx);
	else if (pgs_buf_append(config, cdata, clen))
		rv = pg_fail(pgs, PGS_ENOMEM, "out of memory");
	PQclear(conf);
	PQclear(snap);
	return rv;
}

/* Writes the snapshot at idx on the handle's connection (the caller
 * opened the transaction). */
static int create_store(struct pgs *pgs, PGconn *reader,
                        struct raft_snapshot_meta *meta,
                        const struct pgs_buf *config)
{
	raft_index idx = meta->index;
	int rv = snap_command(pgs, "DELETE FROM raft.snapshot WHERE idx = $1",
	                      idx, false, 0, "replace the incomplete");
	if (rv)
		return rv;
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, idx);
	pg_param_u64(&p, meta->term);
	pg_param_bytes(&p, config->data, config->len);
	PGresult *res = pg_query(pgs, pgs->conn, NULL,
	                         "INSERT INTO raft.snapshot (idx, term, config, "
	                         "size, complete) VALUES ($1, $2, $3, 0, false)",
	                         &p, false, PGRES_COMMAND_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not create snapshot %llu: %s",
		               (unsigned long long)idx, pgs->dberr);
	PQclear(res);

	struct chunk_sink cs = {pgs, idx, PGS_BUF_INIT, 0};
	struct pg_sink sink = {chunk_sink_write, &cs};
	rv = pg_container_write(pgs, reader, idx, &sink);
	rv = rv ? rv : chunk_sink_flush(&cs);
	pgs_buf_free(&cs.buf);
	if (rv)
		return rv;
	meta->size = cs.flushed;
	rv = snap_command(pgs, "UPDATE raft.snapshot SET size = $2, complete = "
	                  "true WHERE idx = $1", idx, true, meta->size,
	                  "complete");
	return rv ? rv
	          : snap_command(pgs, "DELETE FROM raft.snapshot WHERE idx < $1",
	                         idx, false, 0, "delete the snapshots older than");
}

int pgs_snapshot_create(struct pgs *pgs, struct raft_snapshot_meta *meta)
{
	memset(meta, 0, sizeof *meta);
	if (pgs->reader)
		return pg_fail(pgs, PGS_EINVAL, "could not take a snapshot: "
		               "this handle is a reader");
	PGconn *reader = pg_connect(pgs, pgs->conninfo);
	if (!reader)
		return pg_fail(pgs, PGS_EDB, "could not connect to read the "
		               "state: %s", pgs->dberr);
	struct pgs_buf config = PGS_BUF_INIT;
	bool main_tx = false, existing = false;
	int rv = 0;
	if (pg_command(pgs, reader, "BEGIN ISOLATION LEVEL REPEATABLE READ, "
	                            "READ ONLY") != 0) {
		rv = pg_fail(pgs, PGS_EDB, "could not read the state: %s",
		             pgs->dberr);
		goto out;
	}
	PGresult *res = pg_query(pgs, reader, NULL,
	                         "SELECT last_applied FROM raft.applied", NULL,
	                         true, PGRES_TUPLES_OK);
	if (!res || PQntuples(res) != 1) {
		rv = pg_fail(pgs, PGS_EDB, "could not read applied index: %s",
		             res ? "no row" : pgs->dberr);
		PQclear(res);
		goto out;
	}
	meta->index = (raft_index)pg_get_i64(res, 0, 0);
	PQclear(res);
	if (meta->index == 0) {
		rv = pg_fail(pgs, PGS_EINVAL, "could not create a snapshot: no "
		             "entry has been applied yet");
		goto out;
	}
	if ((rv = meta_at(pgs, reader, meta->index, meta, &config, &existing)) ||
	    existing)
		goto out;
	if (pg_command(pgs, pgs->conn, "BEGIN") != 0) {
		rv = pg_fail(pgs, PGS_EDB, "could not create snapshot %llu: %s",
		             (unsigned long long)meta->index, pgs->dberr);
		goto out;
	}
	main_tx = true;
	if ((rv = create_store(pgs, reader, meta, &config)))
		goto out;
	main_tx = false;
	if (pg_command(pgs, pgs->conn, "COMMIT") != 0)
		rv = pg_fail(pgs, PGS_EDB, "could not commit snapshot %llu: %s",
		             (unsigned long long)meta->index, pgs->dberr);
out:
	if (main_tx) {
		PGresult *r = PQexec(pgs->conn, "ROLLBACK");
		PQclear(r);
	}
	PQfinish(reader); /* ends its read-only transaction */
	pgs_buf_free(&config);
	if (rv)
		memset(meta, 0, sizeof *meta);
	return rv;
}

/* --------------------------------------------------------------- read */

int pgs_snapshot_read(struct pgs *pgs, raft_index index, uint64_t offset,
                      void *buf, size_t len)
{
	if (len == 0)
		return 0;
	uint64_t end = offset + len;
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, index);
	pg_param_u64(&p, offset);
	pg_param_u64(&p, end);
	PGresult *res = pg_query(pgs, pgs->conn, "pgs_chunk_read", NULL, &p,
	                         true, PGRES_TUPLES_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not read bytes %llu..%llu of "
		               "snapshot %llu: %s", (unsigned long long)offset,
		               (unsigned long long)end, (unsigned long long)index,
		               pgs->dberr);
	uint64_t at = offset;
	unsigned char *out = buf;
	for (int i = 0; i < PQntuples(res) && at < end; i++) {
		uint64_t off = (uint64_t)pg_get_i64(res, i, 0);
		uint64_t n = (uint64_t)PQgetlength(res, i, 1);
		if (off > at)
			break; /* a hole: reported below */
		if (off + n <= at)
			continue;
		uint64_t take = (off + n < end ? off + n : end) - at;
		memcpy(out + (at - offset), PQgetvalue(res, i, 1) + (at - off),
		       (size_t)take);
		at += take;
	}
	PQclear(res);
	if (at != end)
		return pg_fail(pgs, PGS_ENOTFOUND, "could not read bytes "
		               "%llu..%llu of snapshot %llu: no such complete "
		               "snapshot or range", (unsigned long long)offset,
		               (unsigned long long)end, (unsigned long long)index);
	return 0;
}

/* -------------------------------------------------------------- receive */

int pg_snapshot_store_chunk(struct pgs *pgs, const struct raft_snapshot_chunk *c)
{
	if (c->index == 0 || c->term == 0 || c->offset > c->total ||
	    c->len > c->total - c->offset)
		return pg_fail(pgs, PGS_ECORRUPT, "invalid snapshot chunk: index "
		               "%llu, bytes %llu..%llu of %llu",
		               (unsigned long long)c->index,
		               (unsigned long long)c->offset,
		               (unsigned long long)(c->offset + c->len),
		               (unsigned long long)c->total);
	int rv;
	if (c->offset == 0) {
		/* A new transfer: drop any other partial one. */
		PGresult *res = pg_query(pgs, pgs->conn, NULL,
		                         "DELETE FROM raft.snapshot WHERE NOT complete",
		                         NULL, false, PGRES_COMMAND_OK);
		if (!res)
			return pg_fail(pgs, PGS_EDB, "could not start receiving "
			               "snapshot %llu: %s",
			               (unsigned long long)c->index, pgs->dberr);
		PQclear(res);
		struct pg_params p;
		pg_params_init(&p);
		pg_param_u64(&p, c->index);
		pg_param_u64(&p, c->term);
		pg_param_u64(&p, c->total);
		res = pg_query(pgs, pgs->conn, NULL,
		               "INSERT INTO raft.snapshot (idx, term, config, size, "
		               "complete) VALUES ($1, $2, '', $3, false) "
		               "ON CONFLICT (idx) DO NOTHING",
		               &p, false, PGRES_COMMAND_OK);
		if (!res)
			return pg_fail(pgs, PGS_EDB, "could not start receiving "
			               "snapshot %llu: %s",
			               (unsigned long long)c->index, pgs->dberr);
		uint64_t rows = pg_cmd_rows(res);
		PQclear(res);
		if (rows != 1)
			return pg_fail(pgs, PGS_ECORRUPT, "could not start receiving "
			               "snapshot %llu: a complete snapshot at that "
			               "index exists", (unsigned long long)c->index);
	} else {
		struct pg_params p;
		pg_params_init(&p);
		pg_param_u64(&p, c->index);
		PGresult *res = pg_query(pgs, pgs->conn, NULL,
		                         "SELECT size, complete FROM raft.snapshot "
		                         "WHERE idx = $1", &p, true, PGRES_TUPLES_OK);
		if (!res)
			return pg_fail(pgs, PGS_EDB, "could not store a chunk of "
			               "snapshot %llu: %s",
			               (unsigned long long)c->index, pgs->dberr);
		bool ok = PQntuples(res) == 1 &&
		          (uint64_t)pg_get_i64(res, 0, 0) == c->total &&
		          PQgetvalue(res, 0, 1)[0] == 0;
		PQclear(res);
		if (!ok)
			return pg_fail(pgs, PGS_ECORRUPT, "could not store bytes "
			               "%llu.. of snapshot %llu: no transfer of it "
			               "with size %llu is in progress",
			               (unsigned long long)c->offset,
			               (unsigned long long)c->index,
			               (unsigned long long)c->total);
		uint64_t stored;
		bool contiguous;
		if ((rv = pg_snapshot_stored(pgs, c->index, &stored, &contiguous)))
			return rv;
		if (stored > c->offset) {
			/* A resent chunk replaces what follows it. */
			if ((rv = snap_command(pgs, "DELETE FROM raft.snapshot_chunk "
			                       "WHERE snapshot_idx = $1 AND off >= $2",
			                       c->index, true, c->offset,
			                       "rewind the transfer of")) ||
			    (rv = pg_snapshot_stored(pgs, c->index, &stored,
			                             &contiguous)))
				return rv;
		}
		if (!contiguous || stored != c->offset)
			return pg_fail(pgs, PGS_ECORRUPT, "could not store bytes "
			               "%llu.. of snapshot %llu: %llu bytes are stored",
			               (unsigned long long)c->offset,
			               (unsigned long long)c->index,
			               (unsigned long long)stored);
	}
	if (c->len == 0)
		return 0;
	return chunk_insert(pgs, c->index, c->offset, c->data, c->len);
}

/* -------------------------------------------------------------- install */

/* A pg_source over the stored chunks of one snapshot. */
struct chunk_source {
	struct pgs *pgs;
	raft_index idx;
	uint64_t next_off; /* offset of the current row */
	PGresult *res;
	int row;
	size_t pos; /* bytes of the current row consumed */
};

static int chunk_fetch(struct chunk_source *cs)
{
	struct pgs *pgs = cs->pgs;
	PQclear(cs->res);
	cs->row = 0;
	cs->pos = 0;
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, cs->idx);
	pg_param_u64(&p, cs->next_off);
	cs->res = pg_query(pgs, pgs->conn, NULL,
	                   "SELECT off, data FROM raft.snapshot_chunk WHERE "
	                   "snapshot_idx = $1 AND off >= $2 ORDER BY off LIMIT 4",
	                   &p, true, PGRES_TUPLES_OK);
	if (!cs->res)
		return pg_fail(pgs, PGS_EDB, "could not read snapshot %llu: %s",
		               (unsigned long long)cs->idx, pgs->dberr);
	if (PQntuples(cs->res) == 0)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot %llu ends early, after "
		               "%llu bytes", (unsigned long long)cs->idx,
		               (unsigned long long)cs->next_off);
	return 0;
}

static int chunk_source_read(void *ctx, void *p, size_t n)
{
	struct chunk_source *cs = ctx;
	unsigned char *out = p;
	while (n > 0) {
		if (!cs->res || cs->row >= PQntuples(cs->res)) {
			int rv = chunk_fetch(cs);
			if (rv)
				return rv;
		}
		uint64_t off = (uint64_t)pg_get_i64(cs->res, cs->row, 0);
		if (off != cs->next_off)
			return pg_fail(cs->pgs, PGS_ECORRUPT, "snapshot %llu has a "
			               "hole at byte %llu",
			               (unsigned long long)cs->idx,
			               (unsigned long long)cs->next_off);
		size_t len = (size_t)PQgetlength(cs->res, cs->row, 1);
		size_t take = len - cs->pos < n ? len - cs->pos : n;
		memcpy(out, PQgetvalue(cs->res, cs->row, 1) + cs->pos, take);
		out += take;
		n -= take;
		cs->pos += take;
		if (cs->pos == len) {
			cs->next_off += len;
			cs->row++;
			cs->pos = 0;
		}
	}
	return 0;
}

static int truncate_state(struct pgs *pgs)
{
	struct pgs_buf sql = PGS_BUF_INIT;
	int rv = pgs_buf_append(&sql, "TRUNCATE ", 9);
	for (size_t i = 0; i < pgs->n_tables && !rv; i++) {
		if (i)
			rv = pgs_buf_append(&sql, ", ", 2);
		const char *q = pgs->tables[i].quoted;
		rv = rv ? rv : pgs_buf_append(&sql, q, strlen(q));
	}
	rv = rv ? rv : pgs_buf_append(&sql, "", 1);
	if (rv) {
		pgs_buf_free(&sql);
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	}
	if (pg_command(pgs, pgs->conn, (const char *)sql.data) != 0)
		rv = pg_fail(pgs, PGS_EDB, "could not empty the state tables: %s",
		             pgs->dberr);
	pgs_buf_free(&sql);
	return rv;
}

/* raft.snapshot row of idx gets its final meta; the rest goes. */
static int install_finish(struct pgs *pgs, const struct raft_snapshot_meta *m)
{
	size_t need = raft_config_encode(&m->config, NULL, 0);
	unsigned char *conf = malloc(need ? need : 1);
	if (!conf)
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	raft_config_encode(&m->config, conf, need);
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, m->index);
	pg_param_u64(&p, m->term);
	pg_param_bytes(&p, conf, need);
	pg_param_u64(&p, m->size);
	PGresult *res = pg_query(pgs, pgs->conn, NULL,
	                         "UPDATE raft.snapshot SET term = $2, config = $3, "
	                         "size = $4, complete = true WHERE idx = $1",
	                         &p, false, PGRES_COMMAND_OK);
	free(conf);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not complete snapshot %llu: %s",
		               (unsigned long long)m->index, pgs->dberr);
	PQclear(res);
	int rv = snap_command(pgs, "DELETE FROM raft.snapshot WHERE idx < $1",
	                      m->index, false, 0, "delete the snapshots older than");
	if (rv)
		return rv;
	if (pg_command(pgs, pgs->conn, "DELETE FROM raft.log") != 0)
		return pg_fail(pgs, PGS_EDB, "could not drop the log replaced by "
		               "snapshot %llu: %s", (unsigned long long)m->index,
		               pgs->dberr);
	pg_params_init(&p);
	pg_param_u64(&p, m->index);
	pg_param_u64(&p, pgs->last_applied);
	res = pg_query(pgs, pgs->conn, "pgs_applied_set", NULL, &p, false,
	               PGRES_COMMAND_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not set applied index %llu: %s",
		               (unsigned long long)m->index, pgs->dberr);
	uint64_t rows = pg_cmd_rows(res);
	PQclear(res);
	if (rows != 1)
		return pg_fail(pgs, PGS_ECORRUPT, "could not set applied index "
		               "%llu: the stored index is no longer %llu",
		               (unsigned long long)m->index,
		               (unsigned long long)pgs->last_applied);
	pgs->last_applied = m->index;
	return pg_membership_write(pgs, &m->config, m->index);
}

int pg_snapshot_install(struct pgs *pgs, const struct raft_snapshot_meta *m)
{
	if (m->index <= pgs->last_applied)
		return pg_fail(pgs, PGS_ECORRUPT, "refusing to install snapshot "
		               "%llu: entries up to %llu are applied",
		               (unsigned long long)m->index,
		               (unsigned long long)pgs->last_applied);
	struct pg_params p;
	pg_params_init(&p);
	pg_param_u64(&p, m->index);
	PGresult *res = pg_query(pgs, pgs->conn, NULL,
	                         "SELECT size FROM raft.snapshot WHERE idx = $1",
	                         &p, true, PGRES_TUPLES_OK);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not install snapshot %llu: %s",
		               (unsigned long long)m->index, pgs->dberr);
	bool found = PQntuples(res) == 1;
	uint64_t size = found ? (uint64_t)pg_get_i64(res, 0, 0) : 0;
	PQclear(res);
	uint64_t stored = 0;
	bool contiguous = false;
	int rv;
	if (found && (rv = pg_snapshot_stored(pgs, m->index, &stored,
	                                      &contiguous)))
		return rv;
	if (!found || !contiguous || stored != size || size != m->size)
		return pg_fail(pgs, PGS_ECORRUPT, "could not install snapshot "
		               "%llu: %llu of its %llu bytes are stored",
		               (unsigned long long)m->index,
		               (unsigned long long)stored,
		               (unsigned long long)m->size);
	struct chunk_source cs = {pgs, m->index, 0, NULL, 0, 0};
	struct pg_source src = {chunk_source_read, &cs};
	rv = pg_container_load_schema(pgs, m->index, &src);
	rv = rv ? rv : pg_tables_refresh(pgs, pgs->conn);
	rv = rv ? rv : truncate_state(pgs);
	rv = rv ? rv : pg_container_load_tables(pgs, m->index, &src);
	PQclear(cs.res);
	if (rv)
		return rv;
	uint64_t consumed = cs.next_off + cs.pos;
	if (consumed != size)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot %llu has %llu bytes "
		               "after its end signature",
		               (unsigned long long)m->index,
		               (unsigned long long)(size - consumed));
	return install_finish(pgs, m);
}

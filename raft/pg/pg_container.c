/*
 * pg_container.c -- the byte format of a snapshot (see pg_internal.h for
 * the layout) and the two ends that produce and consume it.
 *
 * The schema section: a state machine whose tables are created by its own
 * log entries (migrations) describes them with schema_dump, read in the
 * snapshot's transaction; the receiver's schema_load rebuilds them before
 * any row arrives, so a node that never applied those entries can take the
 * snapshot. The bytes are the machine's business: this file only carries
 * them, ahead of the tables, and bounds their size (PG_SCHEMA_MAX).
 *
 * Writing: each state table is read with
 *     COPY (SELECT <columns> FROM <table> ORDER BY <primary key>)
 *         TO STDOUT (FORMAT binary)
 * and the stream is cut into segments of about PG_SEGMENT_BYTES at row
 * boundaries. A segment is itself a complete COPY BINARY stream (the
 * stream's header, whole rows, the trailer), so the receiver can COPY one
 * segment at a time: memory stays bounded on both ends whatever the size
 * of a table. Finding row boundaries needs a small parser of the COPY
 * BINARY format (PostgreSQL docs, "COPY", "Binary Format"):
 *
 *     header   "PGCOPY\n\377\r\n\0" | int32 flags | int32 ext_len | ext
 *     row      int16 n_fields | n_fields times (int32 len | len bytes),
 *              len -1 = NULL
 *     trailer  int16 -1
 *
 * Reading: every name in the container is checked against the handle's
 * state tables before it gets near SQL text (a snapshot comes from the
 * network); column names are quoted with PQescapeIdentifier. The column
 * list travels with the data so that COPY FROM matches columns by name,
 * not by position.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

static const unsigned char copy_signature[11] = {
	'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};

/* A row or segment larger than this is refused as corrupt (PostgreSQL
 * cannot hold a field over 1 GB anyway). */
#define PG_SEGMENT_MAX ((uint64_t)1 << 31)

/* ------------------------------------------------------------- writing */

struct seg_builder {
	struct pgs_buf seg; /* header | complete rows | partial row */
	size_t hdr_len;     /* 0 until the header is complete */
	size_t done;        /* end of the complete rows */
	bool trailer;
};

static int sink_u64(struct pg_sink *s, uint64_t v)
{
	unsigned char b[8];
	pg_put_le64(b, v);
	return s->write(s->ctx, b, 8);
}

static int sink_u16(struct pg_sink *s, uint16_t v)
{
	unsigned char b[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
	return s->write(s->ctx, b, 2);
}

/* Emits header + complete rows + trailer as one segment. */
static int seg_emit(struct seg_builder *sb, struct pg_sink *sink)
{
	static const unsigned char trailer[2] = {0xff, 0xff};
	int rv = sink_u64(sink, (uint64_t)sb->done + 2);
	rv = rv ? rv : sink->write(sink->ctx, sb->seg.data, sb->done);
	rv = rv ? rv : sink->write(sink->ctx, trailer, 2);
	if (rv)
		return rv;
	size_t rest = sb->seg.len - sb->done;
	memmove(sb->seg.data + sb->hdr_len, sb->seg.data + sb->done, rest);
	sb->seg.len = sb->hdr_len + rest;
	sb->done = sb->hdr_len;
	return 0;
}

/* Parses what arrived; emits full segments. 0, PGS_ECORRUPT (the stream
 * is not COPY BINARY) or the sink's error. */
static int seg_parse(struct seg_builder *sb, struct pg_sink *sink)
{
	const unsigned char *d = sb->seg.data;
	size_t len = sb->seg.len;
	if (sb->hdr_len == 0) {
		if (len < 19)
			return 0;
		if (memcmp(d, copy_signature, sizeof copy_signature) != 0)
			return PGS_ECORRUPT;
		size_t ext = pg_get_be32(d + 15);
		if (ext > 1024)
			return PGS_ECORRUPT;
		if (len < 19 + ext)
			return 0;
		sb->hdr_len = sb->done = 19 + ext;
	}
	while (!sb->trailer) {
		size_t pos = sb->done;
		if (len - pos < 2)
			return 0;
		int16_t fields = (int16_t)pg_get_be16(d + pos);
		pos += 2;
		if (fields == -1) {
			if (len != pos)
				return PGS_ECORRUPT; /* data after the trailer */
			sb->trailer = true;
			sb->seg.len = sb->done;
			return 0;
		}
		if (fields < 0)
			return PGS_ECORRUPT;
		for (int f = 0; f < fields; f++) {
			if (len - pos < 4)
				return 0;
			int32_t flen = (int32_t)pg_get_be32(d + pos);
			pos += 4;
			if (flen < -1)
				return PGS_ECORRUPT;
			if (flen > 0) {
				if (len - pos < (size_t)flen)
					return 0;
				pos += (size_t)flen;
			}
		}
		sb->done = pos;
		if (sb->done - sb->hdr_len >= PG_SEGMENT_BYTES) {
			int rv = seg_emit(sb, sink);
			if (rv)
				return rv;
			d = sb->seg.data;
			len = sb->seg.len;
		}
	}
	return 0;
}

static int write_table(struct pgs *pgs, PGconn *reader,
                       const struct pg_table *t, struct pg_sink *sink)
{
	int rv = 0;
	char *order = NULL, *cols = NULL, *sql = NULL;
	struct seg_builder sb = {PGS_BUF_INIT, 0, 0, false};
	PGresult *colres = pg_table_columns(pgs, reader, t->name);
	if (!colres)
		return PGS_EINVAL;
	order = pg_pk_order(pgs, reader, t->name);
	if (!order) {
		rv = PGS_EINVAL;
		goto out;
	}
	cols = pg_column_list(pgs, reader, colres);
	if (!cols) {
		rv = PGS_ENOMEM;
		goto out;
	}
	size_t n = strlen(order) + strlen(cols) + strlen(t->quoted) + 80;
	sql = malloc(n);
	if (!sql) {
		rv = pg_fail(pgs, PGS_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(sql, n, "COPY (SELECT %s FROM %s ORDER BY %s) TO STDOUT "
	         "(FORMAT binary)", cols, t->quoted, order);

	/* Table frame: name, columns. */
	size_t nlen = strlen(t->name);
	int ncols = PQntuples(colres);
	rv = sink_u16(sink, (uint16_t)nlen);
	rv = rv ? rv : sink->write(sink->ctx, t->name, nlen);
	rv = rv ? rv : sink_u16(sink, (uint16_t)ncols);
	for (int i = 0; i < ncols && !rv; i++) {
		const char *c = PQgetvalue(colres, i, 0);
		rv = sink_u16(sink, (uint16_t)strlen(c));
		rv = rv ? rv : sink->write(sink->ctx, c, strlen(c));
	}
	if (rv)
		goto out;

	PGresult *res = PQexec(reader, sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		pg_message(reader, res, pgs->dberr, sizeof pgs->dberr);
		PQclear(res);
		rv = pg_fail(pgs, PGS_EDB, "could not copy table \"%s\": %s",
		             t->name, pgs->dberr);
		goto out;
	}
	PQclear(res);
	int got;
	char *buf;
	while ((got = PQgetCopyData(reader, &buf, 0)) > 0) {
		if (!rv && pgs_buf_append(&sb.seg, buf, (size_t)got))
			rv = pg_fail(pgs, PGS_ENOMEM, "out of memory");
		PQfreemem(buf);
		if (!rv && (rv = seg_parse(&sb, sink)) == PGS_ECORRUPT)
			pg_fail(pgs, rv, "could not copy table \"%s\": unexpected "
			        "COPY BINARY data", t->name);
		/* On error keep draining: the connection must leave COPY. */
	}
	if (got == -2 && !rv) {
		pg_message(reader, NULL, pgs->dberr, sizeof pgs->dberr);
		rv = pg_fail(pgs, PGS_EDB, "could not copy table \"%s\": %s",
		             t->name, pgs->dberr);
	}
	while ((res = PQgetResult(reader)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && !rv) {
			pg_message(reader, res, pgs->dberr, sizeof pgs->dberr);
			rv = pg_fail(pgs, PGS_EDB, "could not copy table \"%s\": %s",
			             t->name, pgs->dberr);
		}
		PQclear(res);
	}
	if (rv)
		goto out;
	if (!sb.trailer) {
		rv = pg_fail(pgs, PGS_ECORRUPT, "could not copy table \"%s\": "
		             "COPY BINARY stream without trailer", t->name);
		goto out;
	}
	if (sb.done > sb.hdr_len && (rv = seg_emit(&sb, sink)))
		goto out;
	rv = sink_u64(sink, 0);
out:
	pgs_buf_free(&sb.seg);
	PQclear(colres);
	free(order);
	free(cols);
	free(sql);
	return rv;
}

/* The schema section: u64 length | the sm's schema_dump on reader. */
static int write_schema(struct pgs *pgs, PGconn *reader, struct pg_sink *sink)
{
	const struct pgs_state_machine *sm = pgs->sm;
	struct pgs_buf dump = PGS_BUF_INIT;
	int rv = 0;
	if (sm->schema_dump) {
		char err[PG_ERRMSG_MAX] = "";
		if (sm->schema_dump(sm->ctx, reader, &dump, err, sizeof err))
			rv = pg_fail(pgs, PGS_EDB, "could not dump the schema of state "
			             "machine \"%s\": %s", sm->name,
			             err[0] ? err : "no reason given");
		else if (dump.len > PG_SCHEMA_MAX)
			rv = pg_fail(pgs, PGS_EINVAL, "could not dump the schema of "
			             "state machine \"%s\": %zu bytes, more than the "
			             "%zu a snapshot can carry", sm->name, dump.len,
			             PG_SCHEMA_MAX);
	}
	rv = rv ? rv : sink_u64(sink, dump.len);
	if (!rv && dump.len)
		rv = sink->write(sink->ctx, dump.data, dump.len);
	pgs_buf_free(&dump);
	return rv;
}

int pg_container_write(struct pgs *pgs, PGconn *reader, raft_index index,
                       struct pg_sink *sink)
{
	int rv = pg_tables_refresh(pgs, reader);
	if (rv)
		return rv;
	unsigned char hdr[16];
	memcpy(hdr, PG_SNAP_MAGIC, 8);
	pg_put_le64(hdr + 8, index);
	rv = sink->write(sink->ctx, hdr, sizeof hdr);
	rv = rv ? rv : write_schema(pgs, reader, sink);
	if (!rv) {
		unsigned char n[4];
		pg_put_le32(n, (uint32_t)pgs->n_tables);
		rv = sink->write(sink->ctx, n, sizeof n);
	}
	for (size_t i = 0; i < pgs->n_tables && !rv; i++)
		rv = write_table(pgs, reader, &pgs->tables[i], sink);
	if (!rv)
		rv = sink->write(sink->ctx, PG_SNAP_END, 8);
	return rv;
}

/* ------------------------------------------------------------- reading */

static int src_u16(struct pg_source *s, uint16_t *v)
{
	unsigned char b[2];
	int rv = s->read(s->ctx, b, 2);
	*v = (uint16_t)(b[0] | (b[1] << 8));
	return rv;
}

static int src_u64(struct pg_source *s, uint64_t *v)
{
	unsigned char b[8];
	int rv = s->read(s->ctx, b, 8);
	*v = pg_get_le64(b);
	return rv;
}

/* COPY one segment into the table. */
static int copy_segment(struct pgs *pgs, const char *sql, const char *table,
                        const struct pgs_buf *seg)
{
	PGresult *res = PQexec(pgs->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		pg_message(pgs->conn, res, pgs->dberr, sizeof pgs->dberr);
		PQclear(res);
		return pg_fail(pgs, PGS_EDB, "could not restore table \"%s\": %s",
		               table, pgs->dberr);
	}
	PQclear(res);
	int rv = 0;
	for (size_t off = 0; off < seg->len && !rv;) {
		size_t n = seg->len - off;
		if (n > (1u << 20))
			n = 1u << 20;
		if (PQputCopyData(pgs->conn, (const char *)seg->data + off,
		                  (int)n) != 1)
			rv = -1;
		off += n;
	}
	if (PQputCopyEnd(pgs->conn, rv ? "could not send data" : NULL) != 1)
		rv = -1;
	int status = rv;
	while ((res = PQgetResult(pgs->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && status == 0) {
			pg_message(pgs->conn, res, pgs->dberr, sizeof pgs->dberr);
			status = -1;
		}
		PQclear(res);
	}
	if (rv)
		pg_message(pgs->conn, NULL, pgs->dberr, sizeof pgs->dberr);
	if (status || rv)
		return pg_fail(pgs, PGS_EDB, "could not restore table \"%s\": %s",
		               table, pgs->dberr);
	return 0;
}

/* Reads a table frame's name and column list, builds its COPY FROM. */
static int read_table_header(struct pgs *pgs, struct pg_source *src,
                             bool *seen, size_t *which, char **sql)
{
	uint16_t nlen, ncols;
	char name[128];
	int rv = src_u16(src, &nlen);
	if (rv)
		return rv;
	if (nlen == 0 || nlen >= sizeof name)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot has a table name of "
		               "%u bytes", nlen);
	if ((rv = src->read(src->ctx, name, nlen)))
		return rv;
	name[nlen] = '\0';
	size_t t;
	for (t = 0; t < pgs->n_tables; t++)
		if (strcmp(pgs->tables[t].name, name) == 0)
			break;
	if (t == pgs->n_tables || memchr(name, '\0', nlen))
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot holds table \"%.*s\", "
		               "which is not part of the state", (int)strnlen(name, nlen), name);
	if (seen[t])
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot holds table \"%s\" "
		               "twice", name);
	seen[t] = true;
	*which = t;
	if ((rv = src_u16(src, &ncols)))
		return rv;
	if (ncols == 0 || ncols > 1600)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot gives table \"%s\" %u "
		               "columns", name, ncols);
	struct pgs_buf b = PGS_BUF_INIT;
	const char *q0 = pgs->tables[t].quoted;
	rv = pgs_buf_append(&b, "COPY ", 5);
	rv = rv ? rv : pgs_buf_append(&b, q0, strlen(q0));
	rv = rv ? rv : pgs_buf_append(&b, " (", 2);
	for (unsigned i = 0; i < ncols && !rv; i++) {
		uint16_t clen;
		char col[64];
		if ((rv = src_u16(src, &clen)))
			break;
		if (clen == 0 || clen >= sizeof col) {
			rv = pg_fail(pgs, PGS_ECORRUPT, "snapshot has a column name "
			             "of %u bytes in table \"%s\"", clen, name);
			break;
		}
		if ((rv = src->read(src->ctx, col, clen)))
			break;
		col[clen] = '\0';
		if (strlen(col) != clen) {
			rv = pg_fail(pgs, PGS_ECORRUPT, "snapshot has a column name "
			             "with a NUL byte in table \"%s\"", name);
			break;
		}
		char *q = PQescapeIdentifier(pgs->conn, col, clen);
		if (!q) {
			pg_message(pgs->conn, NULL, pgs->dberr, sizeof pgs->dberr);
			rv = pg_fail(pgs, PGS_ECORRUPT, "snapshot has an invalid "
			             "column name in table \"%s\": %s", name,
			             pgs->dberr);
			break;
		}
		if (i)
			rv = pgs_buf_append(&b, ", ", 2);
		rv = rv ? rv : pgs_buf_append(&b, q, strlen(q));
		PQfreemem(q);
	}
	const char tail[] = ") FROM STDIN (FORMAT binary)";
	rv = rv ? rv : pgs_buf_append(&b, tail, sizeof tail);
	if (rv) {
		pgs_buf_free(&b);
		return rv == PGS_ENOMEM ? pg_fail(pgs, rv, "out of memory") : rv;
	}
	*sql = (char *)b.data;
	return 0;
}

int pg_container_load_schema(struct pgs *pgs, raft_index index,
                             struct pg_source *src)
{
	const struct pgs_state_machine *sm = pgs->sm;
	unsigned char hdr[16];
	int rv = src->read(src->ctx, hdr, sizeof hdr);
	if (rv)
		return rv;
	if (memcmp(hdr, PG_SNAP_MAGIC, 7) == 0 && hdr[7] != PG_SNAP_FORMAT)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot %llu is in container "
		               "format %c, this node reads only format %c",
		               (unsigned long long)index,
		               hdr[7] >= '0' && hdr[7] <= '9' ? hdr[7] : '?',
		               PG_SNAP_FORMAT);
	if (memcmp(hdr, PG_SNAP_MAGIC, 8) != 0)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot %llu does not start "
		               "with the snapshot signature",
		               (unsigned long long)index);
	if (pg_get_le64(hdr + 8) != index)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot %llu says it is at "
		               "index %llu", (unsigned long long)index,
		               (unsigned long long)pg_get_le64(hdr + 8));
	uint64_t len;
	if ((rv = src_u64(src, &len)))
		return rv;
	if (len > PG_SCHEMA_MAX)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot %llu has a schema "
		               "section of %llu bytes",
		               (unsigned long long)index, (unsigned long long)len);
	if (len && !sm->schema_load)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot %llu carries a schema, "
		               "which state machine \"%s\" cannot load",
		               (unsigned long long)index, sm->name);
	struct pgs_buf script = PGS_BUF_INIT;
	if (pgs_buf_reserve(&script, (size_t)len + 1))
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	if ((rv = src->read(src->ctx, script.data, (size_t)len))) {
		pgs_buf_free(&script);
		return rv;
	}
	script.len = (size_t)len;
	if (sm->schema_load) {
		char err[PG_ERRMSG_MAX] = "";
		if (sm->schema_load(sm->ctx, pgs->conn, script.data, script.len,
		                    err, sizeof err))
			rv = pg_fail(pgs, PGS_EDB, "could not load the schema of "
			             "snapshot %llu: %s", (unsigned long long)index,
			             err[0] ? err : "no reason given");
		else if (PQtransactionStatus(pgs->conn) != PQTRANS_INTRANS)
			/* Ended (then the install is no longer one transaction)
			 * or failed: either way a bug in schema_load. */
			rv = pg_fail(pgs, PGS_EDB, "could not load the schema of "
			             "snapshot %llu: state machine \"%s\" left the "
			             "install transaction %s",
			             (unsigned long long)index, sm->name,
			             PQtransactionStatus(pgs->conn) == PQTRANS_INERROR
			             ? "failed" : "ended");
	}
	pgs_buf_free(&script);
	return rv;
}

int pg_container_load_tables(struct pgs *pgs, raft_index index,
                             struct pg_source *src)
{
	unsigned char nb[4];
	int rv = src->read(src->ctx, nb, sizeof nb);
	if (rv)
		return rv;
	uint32_t n = pg_get_le32(nb);
	if (n != pgs->n_tables)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot %llu holds %u tables, "
		               "the state has %zu", (unsigned long long)index, n,
		               pgs->n_tables);
	bool *seen = calloc(pgs->n_tables, sizeof *seen);
	struct pgs_buf seg = PGS_BUF_INIT;
	char *sql = NULL;
	if (!seen)
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n && !rv; i++) {
		size_t t = 0; /* set by read_table_header on success */
		if ((rv = read_table_header(pgs, src, seen, &t, &sql)))
			break;
		for (;;) {
			uint64_t len;
			if ((rv = src_u64(src, &len)) || len == 0)
				break;
			if (len > PG_SEGMENT_MAX) {
				rv = pg_fail(pgs, PGS_ECORRUPT, "snapshot has a segment "
				             "of %llu bytes", (unsigned long long)len);
				break;
			}
			pgs_buf_reset(&seg);
			if (pgs_buf_reserve(&seg, (size_t)len)) {
				rv = pg_fail(pgs, PGS_ENOMEM, "out of memory");
				break;
			}
			if ((rv = src->read(src->ctx, seg.data, (size_t)len)))
				break;
			seg.len = (size_t)len;
			if ((rv = copy_segment(pgs, sql, pgs->tables[t].name, &seg)))
				break;
		}
		free(sql);
		sql = NULL;
	}
	unsigned char end[8];
	if (!rv && (rv = src->read(src->ctx, end, 8)) == 0 &&
	    memcmp(end, PG_SNAP_END, 8) != 0)
		rv = pg_fail(pgs, PGS_ECORRUPT, "snapshot %llu does not end with "
		             "the end signature", (unsigned long long)index);
	free(seen);
	pgs_buf_free(&seg);
	return rv;
}

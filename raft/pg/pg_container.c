/*
 * pg_container.c -- the byte format of a snapshot (see pg_internal.h for
 * the layout) and the two ends that produce and consume it.
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

/* The table's columns (not generated, not dropped), in attnum order. */
static PGresult *table_columns(struct pgs *pgs, PGconn *conn,
                               const char *table)
{
	struct pg_params p;
	pg_params_init(&p);
	pg_param_text(&p, table);
	PGresult *res = pg_query(pgs, conn, NULL,
	                         "SELECT attname FROM pg_attribute "
	                         "WHERE attrelid = to_regclass($1) AND attnum > 0 "
	                         "AND NOT attisdropped AND attgenerated = '' "
	                         "ORDER BY attnum",
	                         &p, false, PGRES_TUPLES_OK);
	if (!res)
		pg_fail(pgs, PGS_EDB, "could not read the columns of table "
		        "\"%s\": %s", table, pgs->dberr);
	else if (PQntuples(res) == 0) {
		PQclear(res);
		res = NULL;
		pg_fail(pgs, PGS_EINVAL, "state table \"%s\" has no columns",
		        table);
	}
	return res;
}

/* "a", "b", "c" from a column result (malloc'd) or NULL. */
static char *quoted_list(PGconn *conn, PGresult *cols)
{
	struct pgs_buf b = PGS_BUF_INIT;
	int rv = 0;
	for (int i = 0; i < PQntuples(cols) && !rv; i++) {
		const char *c = PQgetvalue(cols, i, 0);
		char *q = PQescapeIdentifier(conn, c, strlen(c));
		if (!q) {
			rv = PGS_ENOMEM;
			break;
		}
		if (i)
			rv = pgs_buf_append(&b, ", ", 2);
		rv = rv ? rv : pgs_buf_append(&b, q, strlen(q));
		PQfreemem(q);
	}
	rv = rv ? rv : pgs_buf_append(&b, "", 1);
	if (rv) {
		pgs_buf_free(&b);
		return NULL;
	}
	return (char *)b.data;
}

static int write_table(struct pgs *pgs, PGconn *reader,
                       const struct pg_table *t, struct pg_sink *sink)
{
	int rv = 0;
	char *order = NULL, *cols = NULL, *sql = NULL;
	struct seg_builder sb = {PGS_BUF_INIT, 0, 0, false};
	PGresult *colres = table_columns(pgs, reader, t->name);
	if (!colres)
		return PGS_EINVAL;
	order = pg_pk_order(pgs, reader, t->name);
	if (!order) {
		rv = PGS_EINVAL;
		goto out;
	}
	cols = quoted_list(reader, colres);
	size_t n = strlen(order) + (cols ? strlen(cols) : 0) +
	           strlen(t->quoted) + 80;
	sql = malloc(n);
	if (!cols || !sql) {
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

int pg_container_write(struct pgs *pgs, PGconn *reader, raft_index index,
                       struct pg_sink *sink)
{
	unsigned char hdr[20];
	memcpy(hdr, PG_SNAP_MAGIC, 8);
	pg_put_le64(hdr + 8, index);
	pg_put_le32(hdr + 16, (uint32_t)pgs->n_tables);
	int rv = sink->write(sink->ctx, hdr, sizeof hdr);
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

int pg_container_load(struct pgs *pgs, raft_index index,
                      struct pg_source *src)
{
	unsigned char hdr[20];
	int rv = src->read(src->ctx, hdr, sizeof hdr);
	if (rv)
		return rv;
	if (memcmp(hdr, PG_SNAP_MAGIC, 8) != 0)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot %llu does not start "
		               "with the snapshot signature",
		               (unsigned long long)index);
	if (pg_get_le64(hdr + 8) != index)
		return pg_fail(pgs, PGS_ECORRUPT, "snapshot %llu says it is at "
		               "index %llu", (unsigned long long)index,
		               (unsigned long long)pg_get_le64(hdr + 8));
	uint32_t n = pg_get_le32(hdr + 16);
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

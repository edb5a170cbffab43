/*
 * pg_checksum.c -- a checksum of the replicated state, and the row order
 * that makes it (and snapshots) deterministic.
 *
 * Two nodes at the same applied index must hold identical state tables;
 * cluster tests prove it by comparing pgs_state_checksum(). The checksum
 * is computed by the server, per table:
 *
 *     sha256( sha256(row_1 as text) || sha256(row_2 as text) || ... )
 *
 * with rows in primary-key order, then one sha256 over the lines
 * "<table> <row count> <table digest>" of every table, in the order of
 * the state tables (pg_tables.c), listed again in the checksum's own
 * transaction so that a table created by a migration counts at once.
 * Hashing each row first keeps the aggregate at 32 bytes a row, far from
 * the 1 GB limit of a bytea. The row's text form depends on session
 * settings (DateStyle, extra_float_digits, bytea_output...), which
 * pg_open.c fixes on every connection, so equal rows give equal text on
 * every node.
 *
 * A row is its stored columns, ROW(a, b, ...) -- the columns a snapshot
 * carries; generated columns are left out. They are a function of the
 * stored columns and the table's definition, so they add nothing when
 * both agree, and some depend on the server rather than on the
 * replicated state (to_tsvector's output follows the server's stemmer
 * and dictionary files, which may differ between PostgreSQL versions).
 * Without generated columns, ROW(a, b, ...) has the same text as
 * ROW(r.*), so such tables keep the checksum they always had.
 *
 * Primary-key order: text columns are sorted with COLLATE "C" (byte
 * order), since the database's default collation may differ between
 * nodes and would reorder rows. Snapshots use the same ORDER BY.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

char *pg_pk_order(struct pgs *pgs, PGconn *conn, const char *table)
{
	struct pg_params p;
	pg_params_init(&p);
	pg_param_text(&p, table);
	PGresult *res = pg_query(
		pgs, conn, NULL,
		"SELECT a.attname, t.typcollation <> 0 "
		"FROM pg_index i "
		"JOIN pg_attribute a ON a.attrelid = i.indrelid "
		"AND a.attnum = ANY (i.indkey) "
		"JOIN pg_type t ON t.oid = a.atttypid "
		"WHERE i.indrelid = to_regclass($1) AND i.indisprimary "
		"ORDER BY array_position(i.indkey::int2[], a.attnum)",
		&p, false, PGRES_TUPLES_OK);
	if (!res) {
		pg_fail(pgs, PGS_EDB, "could not read the primary key of table "
		        "\"%s\": %s", table, pgs->dberr);
		return NULL;
	}
	int n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		res = pg_query(pgs, conn, NULL, "SELECT to_regclass($1) IS NULL",
		               &p, false, PGRES_TUPLES_OK);
		bool missing = res && PQntuples(res) == 1 &&
		               strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		pg_fail(pgs, PGS_EINVAL,
		        missing ? "state table \"%s\" does not exist"
		                : "state table \"%s\" has no primary key",
		        table);
		return NULL;
	}
	struct pgs_buf b = PGS_BUF_INIT;
	int rv = 0;
	for (int i = 0; i < n && !rv; i++) {
		const char *col = PQgetvalue(res, i, 0);
		char *q = PQescapeIdentifier(conn, col, strlen(col));
		if (!q) {
			rv = PGS_ENOMEM;
			break;
		}
		if (i > 0)
			rv = pgs_buf_append(&b, ", ", 2);
		rv = rv ? rv : pgs_buf_append(&b, q, strlen(q));
		if (!rv && strcmp(PQgetvalue(res, i, 1), "t") == 0)
			rv = pgs_buf_append(&b, " COLLATE \"C\"", 12);
		PQfreemem(q);
	}
	PQclear(res);
	if (!rv)
		rv = pgs_buf_append(&b, "", 1);
	if (rv) {
		pgs_buf_free(&b);
		pg_fail(pgs, PGS_ENOMEM, "out of memory");
		return NULL;
	}
	return (char *)b.data;
}

/* Appends "<table> <count> <digest>\n" for one table to lines. */
static int table_digest(struct pgs *pgs, const struct pg_table *t,
                        struct pgs_buf *lines)
{
	PGresult *colres = pg_table_columns(pgs, pgs->conn, t->name);
	if (!colres)
		return PGS_EINVAL;
	char *cols = pg_column_list(pgs, pgs->conn, colres);
	PQclear(colres);
	if (!cols)
		return PGS_ENOMEM;
	char *order = pg_pk_order(pgs, pgs->conn, t->name);
	if (!order) {
		free(cols);
		return PGS_EINVAL;
	}
	const char *fmt =
		"SELECT count(*), encode(sha256(coalesce(string_agg("
		"sha256(convert_to(ROW(%s)::text, 'UTF8')), ''::bytea "
		"ORDER BY %s), ''::bytea)), 'hex') FROM %s AS r";
	size_t n = strlen(fmt) + strlen(cols) + strlen(order) + strlen(t->quoted);
	char *sql = malloc(n);
	if (!sql) {
		free(cols);
		free(order);
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	}
	snprintf(sql, n, fmt, cols, order, t->quoted);
	free(cols);
	free(order);
	PGresult *res = pg_query(pgs, pgs->conn, NULL, sql, NULL, false,
	                         PGRES_TUPLES_OK);
	free(sql);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not checksum table \"%s\": %s",
		               t->name, pgs->dberr);
	char line[256];
	int len = snprintf(line, sizeof line, "%s %s %s\n", t->name,
	                   PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	PQclear(res);
	if (len < 0 || (size_t)len >= sizeof line ||
	    pgs_buf_append(lines, line, (size_t)len))
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	return 0;
}

int pgs_state_checksum(struct pgs *pgs, char out[65], raft_index *applied)
{
	out[0] = '\0';
	if (pg_command(pgs, pgs->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, "
	                               "READ ONLY") != 0)
		return pg_fail(pgs, PGS_EDB, "could not checksum the state: %s",
		               pgs->dberr);
	struct pgs_buf lines = PGS_BUF_INIT;
	int rv = 0;
	PGresult *res = pg_query(pgs, pgs->conn, "pgs_applied_get", NULL, NULL,
	                         true, PGRES_TUPLES_OK);
	if (!res || PQntuples(res) != 1) {
		rv = pg_fail(pgs, PGS_EDB, "could not read applied index: %s",
		             res ? "no row" : pgs->dberr);
		PQclear(res);
		goto done;
	}
	if (applied)
		*applied = (raft_index)pg_get_i64(res, 0, 0);
	PQclear(res);
	if ((rv = pg_tables_refresh(pgs, pgs->conn)))
		goto done;
	for (size_t i = 0; i < pgs->n_tables && !rv; i++)
		rv = table_digest(pgs, &pgs->tables[i], &lines);
	if (rv)
		goto done;
	struct pg_params p;
	pg_params_init(&p);
	pg_param_bytes(&p, lines.data, lines.len);
	res = pg_query(pgs, pgs->conn, NULL,
	               "SELECT encode(sha256($1::bytea), 'hex')", &p, false,
	               PGRES_TUPLES_OK);
	if (!res) {
		rv = pg_fail(pgs, PGS_EDB, "could not checksum the state: %s",
		             pgs->dberr);
		goto done;
	}
	snprintf(out, 65, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
done:
	pgs_buf_free(&lines);
	if (pg_command(pgs, pgs->conn, rv ? "ROLLBACK" : "COMMIT") != 0 && !rv)
		rv = pg_fail(pgs, PGS_EDB, "could not checksum the state: %s",
		             pgs->dberr);
	if (rv)
		out[0] = '\0';
	return rv;
}

/*
 * pg_tables.c -- which tables make up the replicated state, and their
 * columns.
 *
 * The state tables are, in this order:
 *   1. the state machine's fixed `tables`, in the order it gives them
 *      (tables it references first);
 *   2. raft_state.client_session (PG_SESSION_TABLE);
 *   3. every ordinary or partitioned table of the machine's `schemas`
 *      (pg_class relkind 'r' or 'p'; not a partition, whose rows are its
 *      parent's), discovered from the catalog.
 *
 * The fixed names are validated once (pg_tables_init) but their tables
 * are looked up like the others. The discovered tables change with the
 * state: a migration applied through the log creates or drops them, a
 * snapshot install replaces them. So the list is read again
 * (pg_tables_refresh) whenever it matters -- before a checksum, before a
 * snapshot is written, during an install once the snapshot's schema is
 * loaded -- inside the transaction that then reads or writes the tables,
 * so that the list and the rows come from the same view. One catalog
 * query does it: existence and primary key of every table, and the
 * foreign keys that order the discovered ones.
 *
 * Order of the discovered tables: an install COPYs the tables in list
 * order, and a foreign key that is not deferred is checked at the end of
 * each COPY, so a table must come after the tables it references. The
 * tables are taken by name (byte order), each one as soon as the tables
 * it references are placed: the same order on every node with the same
 * schema. A foreign-key cycle has no such order; its tables go by name
 * and its constraints must be INITIALLY DEFERRED (checked at the commit of
 * the install). The same holds for a row referencing a row of its own
 * table in a later COPY segment (pg_container.c).
 *
 * Columns: a snapshot and the checksum cover the stored columns of a
 * table -- not dropped, not generated. A generated column cannot be
 * written by COPY FROM; PostgreSQL computes it again from the stored
 * columns on the receiving node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

static void table_free(struct pg_table *t)
{
	free(t->name);
	free(t->quoted);
	t->name = t->quoted = NULL;
}

static int table_set(struct pgs *pgs, struct pg_table *t, const char *name)
{
	t->name = strdup(name);
	t->quoted = pg_quote_table(name);
	if (!t->name || !t->quoted) {
		table_free(t);
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	}
	return 0;
}

int pg_tables_init(struct pgs *pgs)
{
	const struct pgs_state_machine *sm = pgs->sm;
	size_t n = 0;
	while (sm->tables[n])
		n++;
	for (size_t i = 0; sm->schemas && sm->schemas[i]; i++)
		if (!pg_valid_ident(sm->schemas[i], strlen(sm->schemas[i])))
			return pg_fail(pgs, PGS_EINVAL,
			               "invalid schema name \"%s\" in state machine "
			               "\"%s\": expected a lower-case identifier",
			               sm->schemas[i], sm->name);
	pgs->tables = calloc(n + 1, sizeof *pgs->tables);
	if (!pgs->tables)
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	for (size_t i = 0; i <= n; i++) {
		const char *name = i < n ? sm->tables[i] : PG_SESSION_TABLE;
		if (!pg_valid_table(name))
			return pg_fail(pgs, PGS_EINVAL,
			               "invalid table name \"%s\" in state machine "
			               "\"%s\": expected lower-case schema.table", name,
			               sm->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(pgs->tables[j].name, name) == 0)
				return pg_fail(pgs, PGS_EINVAL,
				               "table \"%s\" listed twice in state "
				               "machine \"%s\"", name, sm->name);
		int rv = table_set(pgs, &pgs->tables[i], name);
		if (rv)
			return rv;
		pgs->n_tables = pgs->n_fixed = i + 1;
	}
	return 0;
}

void pg_tables_free(struct pgs *pgs)
{
	for (size_t i = 0; i < pgs->n_tables; i++)
		table_free(&pgs->tables[i]);
	free(pgs->tables);
	pgs->tables = NULL;
	pgs->n_tables = pgs->n_fixed = 0;
}

/* ------------------------------------------------------------ discovery */

/* Rows: ord (1-based index into $1, NULL for a discovered table),
 * schema, table, oid, has a primary key, the oids its foreign keys
 * reference (space separated). $1: the fixed names, $2: the schemas. */
static const char discover_sql[] =
	"WITH fixed AS (SELECT f.ord, to_regclass(f.name) AS rel "
	"FROM unnest($1::text[]) WITH ORDINALITY AS f(name, ord)) "
	"SELECT f.ord, n.nspname, c.relname, c.oid::bigint, "
	"EXISTS (SELECT FROM pg_index i WHERE i.indrelid = c.oid "
	"AND i.indisprimary), "
	"coalesce((SELECT string_agg(DISTINCT k.confrelid::bigint::text, ' ') "
	"FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f'), "
	"'') "
	"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	"LEFT JOIN fixed f ON f.rel = c.oid "
	"WHERE f.ord IS NOT NULL OR (n.nspname = ANY ($2::text[]) "
	"AND c.relkind IN ('r', 'p') AND NOT c.relispartition) "
	"ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";

/* A text[] literal of names (validated identifiers: no quote or
 * backslash inside; quoted so that a table called "null" stays one). */
static int name_array(struct pgs_buf *b, const char *const *names, size_t n,
                      const char *extra)
{
	int rv = pgs_buf_append(b, "{", 1);
	size_t k = 0;
	for (size_t i = 0; i < n + (extra != NULL) && !rv; i++) {
		const char *s = i < n ? names[i] : extra;
		if (k++)
			rv = pgs_buf_append(b, ",", 1);
		rv = rv ? rv : pgs_buf_append(b, "\"", 1);
		rv = rv ? rv : pgs_buf_append(b, s, strlen(s));
		rv = rv ? rv : pgs_buf_append(b, "\"", 1);
	}
	rv = rv ? rv : pgs_buf_append(b, "}", 2); /* with the NUL */
	return rv;
}

struct found {
	int row;       /* in the discovery result */
	uint64_t oid;
	const char *refs;
	bool placed;
};

/* True when every table f references among the discovered ones (other
 * than itself) is placed. */
static bool refs_placed(const struct found *f, const struct found *all,
                        size_t n)
{
	const char *p = f->refs;
	while (*p) {
		char *end;
		unsigned long long oid = strtoull(p, &end, 10);
		if (end == p)
			break;
		p = end;
		while (*p == ' ')
			p++;
		if (oid == f->oid)
			continue;
		for (size_t j = 0; j < n; j++)
			if (all[j].oid == oid && !all[j].placed)
				return false;
	}
	return true;
}

/* Checks the fixed tables in res and puts the discovered ones into found
 * (name order), *n_found of them. */
static int discover_rows(struct pgs *pgs, PGresult *res, struct found *found,
                         size_t *n_found)
{
	size_t nf = pgs->n_fixed;
	int rows = PQntuples(res);
	for (size_t i = 0; i < nf; i++) {
		int r;
		for (r = 0; r < rows; r++)
			if (!PQgetisnull(res, r, 0) &&
			    strtoull(PQgetvalue(res, r, 0), NULL, 10) == i + 1)
				break;
		if (r == rows)
			return pg_fail(pgs, PGS_EINVAL, "state table \"%s\" does not "
			               "exist", pgs->tables[i].name);
		if (strcmp(PQgetvalue(res, r, 4), "t") != 0)
			return pg_fail(pgs, PGS_EINVAL, "state table \"%s\" has no "
			               "primary key", pgs->tables[i].name);
	}
	size_t n = 0;
	for (int r = 0; r < rows; r++) {
		if (!PQgetisnull(res, r, 0))
			continue;
		const char *schema = PQgetvalue(res, r, 1);
		const char *table = PQgetvalue(res, r, 2);
		if (!pg_valid_ident(table, strlen(table)))
			return pg_fail(pgs, PGS_EINVAL, "table \"%s\".\"%s\" cannot be "
			               "part of the state of \"%s\": its name is not "
			               "a lower-case identifier", schema, table,
			               pgs->sm->name);
		if (strcmp(PQgetvalue(res, r, 4), "t") != 0)
			return pg_fail(pgs, PGS_EINVAL, "state table \"%s.%s\" has no "
			               "primary key", schema, table);
		found[n].row = r;
		found[n].oid = strtoull(PQgetvalue(res, r, 3), NULL, 10);
		found[n].refs = PQgetvalue(res, r, 5);
		found[n].placed = false;
		n++;
	}
	*n_found = n;
	return 0;
}

int pg_tables_refresh(struct pgs *pgs, PGconn *conn)
{
	const struct pgs_state_machine *sm = pgs->sm;
	size_t n_schemas = 0;
	while (sm->schemas && sm->schemas[n_schemas])
		n_schemas++;
	struct pgs_buf fixed = PGS_BUF_INIT, schemas = PGS_BUF_INIT;
	size_t nf = pgs->n_fixed;
	int rv = name_array(&fixed, sm->tables, nf - 1, PG_SESSION_TABLE);
	rv = rv ? rv : name_array(&schemas, sm->schemas, n_schemas, NULL);
	if (rv) {
		pgs_buf_free(&fixed);
		pgs_buf_free(&schemas);
		return pg_fail(pgs, PGS_ENOMEM, "out of memory");
	}
	struct pg_params p;
	pg_params_init(&p);
	pg_param_text(&p, (const char *)fixed.data);
	pg_param_text(&p, (const char *)schemas.data);
	PGresult *res = pg_query(pgs, conn, NULL, discover_sql, &p, false,
	                         PGRES_TUPLES_OK);
	pgs_buf_free(&fixed);
	pgs_buf_free(&schemas);
	if (!res)
		return pg_fail(pgs, PGS_EDB, "could not list the state tables of "
		               "\"%s\": %s", sm->name, pgs->dberr);

	int rows = PQntuples(res);
	struct found *found = calloc(rows ? (size_t)rows : 1, sizeof *found);
	struct pg_table *list = NULL;
	size_t n = 0, done = 0;
	if (!found) {
		rv = pg_fail(pgs, PGS_ENOMEM, "out of memory");
		goto out;
	}
	if ((rv = discover_rows(pgs, res, found, &n)))
		goto out;
	list = calloc(nf + n, sizeof *list);
	if (!list) {
		rv = pg_fail(pgs, PGS_ENOMEM, "out of memory");
		goto out;
	}
	/* Referenced tables first; the first name among the ready ones (or,
	 * in a cycle, among all that are left). */
	for (done = 0; done < n; done++) {
		size_t pick = n;
		for (size_t i = 0; i < n && pick == n; i++)
			if (!found[i].placed && refs_placed(&found[i], found, n))
				pick = i;
		for (size_t i = 0; i < n && pick == n; i++)
			if (!found[i].placed)
				pick = i;
		found[pick].placed = true;
		char name[130];
		snprintf(name, sizeof name, "%s.%s",
		         PQgetvalue(res, found[pick].row, 1),
		         PQgetvalue(res, found[pick].row, 2));
		if ((rv = table_set(pgs, &list[nf + done], name)))
			goto out;
	}
	/* Swap: the fixed entries move over, the old discovered ones go. */
	for (size_t i = 0; i < nf; i++)
		list[i] = pgs->tables[i];
	for (size_t i = nf; i < pgs->n_tables; i++)
		table_free(&pgs->tables[i]);
	free(pgs->tables);
	pgs->tables = list;
	pgs->n_tables = nf + n;
	list = NULL;
out:
	if (list) {
		for (size_t i = nf; i < nf + done; i++)
			table_free(&list[i]);
		free(list);
	}
	free(found);
	PQclear(res);
	return rv;
}

/* -------------------------------------------------------------- columns */

PGresult *pg_table_columns(struct pgs *pgs, PGconn *conn, const char *table)
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
		pg_fail(pgs, PGS_EINVAL, "state table \"%s\" has no stored "
		        "columns", table);
	}
	return res;
}

char *pg_column_list(struct pgs *pgs, PGconn *conn, const PGresult *cols)
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
		pg_fail(pgs, PGS_ENOMEM, "out of memory");
		return NULL;
	}
	return (char *)b.data;
}

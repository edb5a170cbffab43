/*
 * test_schema.c -- raft_pg_schema: a state machine whose schema changes
 * through the log (setup_sql, schemas, schema_dump, schema_load).
 *
 * The machine "ddl" keeps its migrations in ddl_meta.migration (created
 * by setup_sql, a fixed table) and its data in schema ddl (discovered).
 * A command is one letter and SQL: 'M' runs a migration and records it,
 * 'D' changes data. schema_dump is the migrations' SQL in order;
 * schema_load drops schema ddl and runs it again -- what the LMS does.
 *
 * Tests: a migration applied through the log adds its table to the
 * checksum (writer and reader handles); a snapshot taken after several
 * migrations (a generated tsvector column with a GIN index, a foreign key
 * whose table sorts before the one it references, a partitioned table)
 * installs on a fresh node that never saw them; generated columns are
 * outside the checksum; a failing dump or load, a load that leaves the
 * schema wrong, and an old-format snapshot leave the receiver's state as
 * it was; bad state machines are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgsfix.h"

/* ------------------------------------------------------- the machine */

enum load_mode {
	LOAD_OK = 0,
	LOAD_FAIL,       /* drops the schema, then reports a failure */
	LOAD_BAD_SQL,    /* a failing statement, reported as success */
	LOAD_NOTHING,    /* leaves the schema as it is */
};

struct ddl_ctx {
	bool fail_dump;
	enum load_mode load;
	unsigned dumps, loads;
	size_t last_load_len;
};

/* A NUL-terminated copy of len bytes that need not be terminated
 * (strndup may read past them: ASan's strict_string_checks says so). */
static char *copy_text(const void *p, size_t len)
{
	char *s = malloc(len + 1);
	if (s) {
		memcpy(s, p, len);
		s[len] = '\0';
	}
	return s;
}

static const char ddl_setup[] =
	"CREATE SCHEMA IF NOT EXISTS ddl_meta;"
	"CREATE TABLE IF NOT EXISTS ddl_meta.migration ("
	"  version bigint PRIMARY KEY,"
	"  sql text NOT NULL)";
static const char *const ddl_tables[] = {"ddl_meta.migration", NULL};
static const char *const ddl_schemas[] = {"ddl", NULL};

static int exec_ok(PGconn *conn, PGresult *res, char *err, size_t errlen)
{
	ExecStatusType st = PQresultStatus(res);
	int rv = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
	if (rv)
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
	PQclear(res);
	return rv;
}

static int ddl_apply(void *ctx, PGconn *conn, raft_index index,
                     const void *cmd, size_t len, struct pgs_buf *result,
                     char *err, size_t errlen)
{
	(void)ctx;
	const char *p = cmd;
	if (len < 2 || (p[0] != 'M' && p[0] != 'D'))
		return pgs_buf_append(result, "bad", 3);
	char *sql = copy_text(p + 1, len - 1);
	if (!sql) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rv = exec_ok(conn, PQexec(conn, sql), err, errlen);
	if (rv == 0 && p[0] == 'M') {
		char idx[32];
		snprintf(idx, sizeof idx, "%llu", (unsigned long long)index);
		const char *values[2] = {idx, sql};
		rv = exec_ok(conn, PQexecParams(conn, "INSERT INTO "
		                                "ddl_meta.migration VALUES "
		                                "($1::bigint, $2)", 2, NULL,
		                                values, NULL, NULL, 0),
		             err, errlen);
	}
	free(sql);
	return rv ? rv : pgs_buf_append(result, "ok", 2);
}

static int ddl_dump(void *ctx, PGconn *conn, struct pgs_buf *out, char *err,
                    size_t errlen)
{
	struct ddl_ctx *c = ctx;
	c->dumps++;
	if (c->fail_dump) {
		snprintf(err, errlen, "injected dump failure");
		return -1;
	}
	/* must see the snapshot's transaction */
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		snprintf(err, errlen, "dump outside a transaction");
		return -1;
	}
	PGresult *res = PQexec(conn, "SELECT sql FROM ddl_meta.migration "
	                             "ORDER BY version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return exec_ok(conn, res, err, errlen);
	int rv = 0;
	for (int r = 0; r < PQntuples(res) && !rv; r++) {
		rv = pgs_buf_append(out, PQgetvalue(res, r, 0),
		                    (size_t)PQgetlength(res, r, 0));
		rv = rv ? rv : pgs_buf_append(out, ";\n", 2);
	}
	PQclear(res);
	return rv;
}

static int ddl_load(void *ctx, PGconn *conn, const void *script, size_t len,
                    char *err, size_t errlen)
{
	struct ddl_ctx *c = ctx;
	c->loads++;
	c->last_load_len = len;
	if (c->load == LOAD_NOTHING)
		return 0;
	if (c->load == LOAD_BAD_SQL) {
		PQclear(PQexec(conn, "SELECT * FROM no_such_table"));
		return 0;
	}
	if (exec_ok(conn, PQexec(conn, "DROP SCHEMA IF EXISTS ddl CASCADE"),
	            err, errlen))
		return -1;
	if (c->load == LOAD_FAIL) {
		snprintf(err, errlen, "injected load failure");
		return -1;
	}
	if (len == 0)
		return 0;
	char *sql = copy_text(script, len);
	if (!sql) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rv = exec_ok(conn, PQexec(conn, sql), err, errlen);
	free(sql);
	return rv;
}

#define DDL_SM(ctxp)                                                         \
	{                                                                        \
		.name = "ddl", .tables = ddl_tables, .apply = ddl_apply,             \
		.ctx = (ctxp), .setup_sql = ddl_setup, .schemas = ddl_schemas,       \
		.schema_dump = ddl_dump, .schema_load = ddl_load,                    \
	}

static struct ddl_ctx ctx_a, ctx_b;
static const struct pgs_state_machine sm_a = DDL_SM(&ctx_a);
static const struct pgs_state_machine sm_b = DDL_SM(&ctx_b);

/* -------------------------------------------------------------- helpers */

struct two {
	struct fx *a, *b;
};

static int setup(void **state)
{
	memset(&ctx_a, 0, sizeof ctx_a);
	memset(&ctx_b, 0, sizeof ctx_b);
	struct two *t = calloc(1, sizeof *t);
	assert_non_null(t);
	t->a = fx_new("raft_pg_schema_a", 1, &sm_a, NULL);
	t->b = fx_new("raft_pg_schema_b", 2, &sm_b, NULL);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct two *t = *state;
	fx_free(t->a);
	fx_free(t->b);
	free(t);
	return 0;
}

/* A NORMAL entry: envelope (no client) | kind | sql. */
static void add_cmd(struct fx_entries *l, raft_index index, char kind,
                    const char *sql)
{
	struct pgs_buf cmd = PGS_BUF_INIT, env = PGS_BUF_INIT;
	assert_int_equal(pgs_buf_append(&cmd, &kind, 1), 0);
	assert_int_equal(pgs_buf_append(&cmd, sql, strlen(sql)), 0);
	assert_int_equal(pgs_envelope_encode(&env, 0, 0, cmd.data, cmd.len), 0);
	fx_add(l, index, 1, RAFT_ENTRY_NORMAL, env.data, env.len);
	pgs_buf_free(&cmd);
	pgs_buf_free(&env);
}

/* Appends and applies l->v[from..n) on f; every command answers "ok". */
static void apply_from(struct fx *f, struct fx_entries *l, size_t from)
{
	struct raft_ready rd;
	size_t n = l->n - from;
	struct pgs_apply_result *res = calloc(n, sizeof *res);
	assert_non_null(res);
	fx_ready_append_commit(&rd, l, from, n, true);
	fx_persist(f, &rd, res);
	for (size_t i = 0; i < n; i++)
		if (res[i].status == PGS_APPLIED)
			assert_memory_equal(res[i].result, "ok", 2);
	free(res);
}

static void checksum(struct pgs *p, char out[65], raft_index *applied)
{
	if (pgs_state_checksum(p, out, applied))
		fail_msg("pgs_state_checksum: %s", pgs_errmsg(p));
	assert_int_equal(strlen(out), 64);
}

static void same_value(struct two *t, const char *sql)
{
	char *va = fx_value(t->a, sql), *vb = fx_value(t->b, sql);
	if (strcmp(va, vb) != 0)
		fail_msg("%s\n  a: %s\n  b: %s", sql, va, vb);
	free(va);
	free(vb);
}

/* The snapshot bytes of meta on a, with `patch` applied to them (may be
 * NULL), sent to b in pieces as the core would; the last batch installs.
 * Returns the last pgs_persist's result (the others must succeed). */
static int transfer(struct fx *a, struct fx *b,
                    const struct raft_snapshot_meta *meta,
                    void (*patch)(unsigned char *, size_t))
{
	unsigned char *all = malloc(meta->size);
	assert_non_null(all);
	if (pgs_snapshot_read(a->pgs, meta->index, 0, all, meta->size))
		fail_msg("pgs_snapshot_read: %s", pgs_errmsg(a->pgs));
	if (patch)
		patch(all, meta->size);
	size_t piece = 3000;
	int rv = 0;
	for (uint64_t off = 0; off < meta->size; off += piece) {
		size_t len = meta->size - off < piece ? meta->size - off : piece;
		struct raft_ready rd;
		memset(&rd, 0, sizeof rd);
		rd.has_snapshot_chunk = true;
		rd.snapshot_chunk.index = meta->index;
		rd.snapshot_chunk.term = meta->term;
		rd.snapshot_chunk.offset = off;
		rd.snapshot_chunk.total = meta->size;
		rd.snapshot_chunk.data = all + off;
		rd.snapshot_chunk.len = len;
		rd.snapshot_chunk.done = off + len == meta->size;
		if (rd.snapshot_chunk.done) {
			rd.has_install_snapshot = true;
			rd.install_snapshot = *meta;
			rv = pgs_persist(b->pgs, &rd, NULL);
		} else {
			fx_persist(b, &rd, NULL);
		}
	}
	free(all);
	return rv;
}

static void snapshot(struct fx *f, struct raft_snapshot_meta *m)
{
	if (pgs_snapshot_create(f->pgs, m))
		fail_msg("pgs_snapshot_create: %s", pgs_errmsg(f->pgs));
}

/* Migrations that exercise the table list: a generated tsvector column
 * with a GIN index; ddl.answer references ddl.question (and sorts before
 * it); a partitioned table with two partitions. */
static const char mig_note[] =
	"CREATE SCHEMA ddl;"
	"CREATE TABLE ddl.note (id bigint PRIMARY KEY, body text NOT NULL,"
	"  tsv tsvector GENERATED ALWAYS AS "
	"  (to_tsvector('english'::regconfig, body)) STORED);"
	"CREATE INDEX note_tsv_idx ON ddl.note USING gin (tsv)";
static const char mig_qa[] =
	"CREATE TABLE ddl.question (id bigint PRIMARY KEY, title text NOT NULL);"
	"CREATE TABLE ddl.answer (id bigint PRIMARY KEY,"
	"  question_id bigint NOT NULL REFERENCES ddl.question (id),"
	"  body text NOT NULL)";
static const char mig_event[] =
	"CREATE TABLE ddl.event (at bigint, seq bigint, what text,"
	"  PRIMARY KEY (at, seq)) PARTITION BY RANGE (at);"
	"CREATE TABLE ddl.event_low PARTITION OF ddl.event "
	"  FOR VALUES FROM (MINVALUE) TO (100);"
	"CREATE TABLE ddl.event_high PARTITION OF ddl.event "
	"  FOR VALUES FROM (100) TO (MAXVALUE)";

/* Config, the three migrations, data: entries 1..9. */
static void build_state(struct fx_entries *l)
{
	fx_add_config(l, 1, 1, 3);
	add_cmd(l, 2, 'M', mig_note);
	add_cmd(l, 3, 'D', "INSERT INTO ddl.note (id, body) VALUES "
	                   "(1, 'The quick brown fox is jumping'),"
	                   "(2, 'Lazy dogs sleep all day'),"
	                   "(3, 'Foxes jumped over the fences')");
	add_cmd(l, 4, 'M', mig_qa);
	add_cmd(l, 5, 'D', "INSERT INTO ddl.question VALUES (1, 'why?'),"
	                   "(2, 'how?')");
	add_cmd(l, 6, 'D', "INSERT INTO ddl.answer VALUES (10, 2, 'so'),"
	                   "(11, 1, 'because'), (12, 2, 'like that')");
	add_cmd(l, 7, 'M', mig_event);
	add_cmd(l, 8, 'D', "INSERT INTO ddl.event VALUES (5, 1, 'early'),"
	                   "(500, 1, 'late'), (99, 2, 'edge')");
	add_cmd(l, 9, 'D', "UPDATE ddl.note SET body = body || ' again' "
	                   "WHERE id = 2");
}

/* ---------------------------------------------------------------- tests */

/* A table created by an applied entry is in the next checksum, on the
 * writer and on a reader opened before it existed. */
static void test_migration_in_checksum(void **state)
{
	struct two *t = *state;
	struct fx *a = t->a;
	/* setup_sql ran: the fixed table exists, schema ddl does not */
	assert_int_equal(fx_count(a, "SELECT count(*) FROM ddl_meta.migration"),
	                 0);
	assert_int_equal(fx_count(a, "SELECT count(*) FROM pg_namespace "
	                             "WHERE nspname = 'ddl'"), 0);
	struct pgs *r = NULL;
	char err[512] = "";
	if (pgs_open_reader(a->conninfo, &sm_a, &r, err, sizeof err))
		fail_msg("pgs_open_reader: %s", err);

	struct fx_entries l = {0};
	fx_add_config(&l, 1, 1, 3);
	apply_from(a, &l, 0);
	char c0[65], c1[65], c2[65], cr[65];
	checksum(a->pgs, c0, NULL);

	add_cmd(&l, 2, 'M', "CREATE SCHEMA ddl; CREATE TABLE ddl.item "
	                    "(id bigint PRIMARY KEY, v text)");
	apply_from(a, &l, 1);
	checksum(a->pgs, c1, NULL);
	assert_string_not_equal(c0, c1); /* the migration row at least */

	add_cmd(&l, 3, 'D', "INSERT INTO ddl.item VALUES (1, 'one')");
	apply_from(a, &l, 2);
	raft_index applied = 0;
	checksum(a->pgs, c2, NULL);
	checksum(r, cr, &applied);
	assert_int_equal(applied, 3);
	assert_string_equal(c2, cr);
	/* the new table's rows are covered */
	pgtest_exec(a->conn, "UPDATE ddl.item SET v = 'uno'");
	checksum(r, cr, NULL);
	assert_string_not_equal(c2, cr);
	pgtest_exec(a->conn, "UPDATE ddl.item SET v = 'one'");
	checksum(r, cr, NULL);
	assert_string_equal(c2, cr);

	/* a discovered table without a primary key is refused by name */
	add_cmd(&l, 4, 'M', "CREATE TABLE ddl.loose (v text)");
	apply_from(a, &l, 3);
	assert_int_equal(pgs_state_checksum(a->pgs, cr, NULL), PGS_EINVAL);
	assert_non_null(strstr(pgs_errmsg(a->pgs), "state table \"ddl.loose\" "
	                                           "has no primary key"));
	/* and so is a name that is not a lower-case identifier */
	pgtest_exec(a->conn, "ALTER TABLE ddl.loose ADD PRIMARY KEY (v);"
	                     "CREATE TABLE ddl.\"Upper\" (id int PRIMARY KEY)");
	assert_int_equal(pgs_state_checksum(r, cr, NULL), PGS_EINVAL);
	assert_non_null(strstr(pgs_errmsg(r), "\"ddl\".\"Upper\" cannot be "
	                                      "part of the state"));
	pgtest_exec(a->conn, "DROP TABLE ddl.\"Upper\"");
	checksum(r, cr, NULL);
	pgs_close(r);
	fx_entries_free(&l);
}

/* A snapshot after the migrations installs on a fresh node: schema,
 * rows, generated column, index, foreign keys, partitions. */
static void test_snapshot_to_fresh_node(void **state)
{
	struct two *t = *state;
	struct fx_entries l = {0};
	build_state(&l);
	apply_from(t->a, &l, 0);
	assert_int_equal(pgs_set_chunk_bytes(t->a->pgs, 4096), 0);
	struct raft_snapshot_meta m;
	snapshot(t->a, &m);
	assert_int_equal(m.index, 9);
	assert_int_equal(ctx_a.dumps, 1);

	/* b has never seen schema ddl */
	assert_int_equal(fx_count(t->b, "SELECT count(*) FROM pg_namespace "
	                                "WHERE nspname = 'ddl'"), 0);
	assert_int_equal(transfer(t->a, t->b, &m, NULL), 0);
	assert_int_equal(ctx_b.loads, 1);
	assert_true(ctx_b.last_load_len > strlen(mig_note));
	assert_int_equal(pgs_last_applied(t->b->pgs), 9);

	char ca[65], cb[65];
	raft_index aa, ab;
	checksum(t->a->pgs, ca, &aa);
	checksum(t->b->pgs, cb, &ab);
	assert_int_equal(aa, 9);
	assert_int_equal(ab, 9);
	assert_string_equal(ca, cb);

	/* the rows, the generated column as computed on b, the index */
	same_value(t, "SELECT string_agg(n::text, ';' ORDER BY id) "
	              "FROM ddl.note n");
	same_value(t, "SELECT string_agg(id::text, ',' ORDER BY id) FROM "
	              "ddl.note WHERE tsv @@ to_tsquery('english', 'jump')");
	char *hits = fx_value(t->b, "SELECT string_agg(id::text, ',' ORDER BY "
	                            "id) FROM ddl.note WHERE tsv @@ "
	                            "to_tsquery('english', 'jump')");
	assert_string_equal(hits, "1,3");
	free(hits);
	assert_int_equal(fx_count(t->b, "SELECT count(*) FROM pg_indexes WHERE "
	                                "schemaname = 'ddl' AND indexname = "
	                                "'note_tsv_idx'"), 1);
	same_value(t, "SELECT string_agg(a::text, ';' ORDER BY id) "
	              "FROM ddl.answer a");
	same_value(t, "SELECT string_agg(e::text, ';' ORDER BY at, seq) "
	              "FROM ddl.event e");
	assert_int_equal(fx_count(t->b, "SELECT count(*) FROM ddl.event_low"), 2);
	assert_int_equal(fx_count(t->b, "SELECT count(*) FROM "
	                                "ddl.event_high"), 1);
	same_value(t, "SELECT string_agg(m::text, ';' ORDER BY version) "
	              "FROM ddl_meta.migration m");
	/* the foreign key came back with the schema */
	assert_int_equal(fx_count(t->b, "SELECT count(*) FROM pg_constraint "
	                                "WHERE conrelid = 'ddl.answer'::regclass "
	                                "AND contype = 'f'"), 1);

	/* both go on: another migration and data, still identical */
	size_t from = l.n;
	add_cmd(&l, 10, 'M', "ALTER TABLE ddl.note ADD COLUMN stars int "
	                     "NOT NULL DEFAULT 0");
	add_cmd(&l, 11, 'D', "UPDATE ddl.note SET stars = id * 2");
	add_cmd(&l, 12, 'D', "INSERT INTO ddl.note (id, body) VALUES "
	                     "(4, 'jumps')");
	apply_from(t->a, &l, from);
	apply_from(t->b, &l, from);
	checksum(t->a->pgs, ca, &aa);
	checksum(t->b->pgs, cb, &ab);
	assert_int_equal(aa, 12);
	assert_string_equal(ca, cb);

	/* b's own snapshot at 12 is the same bytes as a's */
	struct raft_snapshot_meta ma, mb;
	snapshot(t->a, &ma);
	snapshot(t->b, &mb);
	assert_int_equal(ma.size, mb.size);
	unsigned char *x = malloc(ma.size), *y = malloc(ma.size);
	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(pgs_snapshot_read(t->a->pgs, 12, 0, x, ma.size), 0);
	assert_int_equal(pgs_snapshot_read(t->b->pgs, 12, 0, y, ma.size), 0);
	assert_memory_equal(x, y, ma.size);
	assert_memory_equal(x, "LMSSNAP2", 8);
	free(x);
	free(y);
	fx_entries_free(&l);
}

/* The checksum covers stored columns only: a node whose generated column
 * is computed differently (here: another text search configuration) has
 * the same checksum; a stored column that differs does not. */
static void test_generated_outside_checksum(void **state)
{
	struct two *t = *state;
	struct fx_entries l = {0};
	build_state(&l);
	apply_from(t->a, &l, 0);
	apply_from(t->b, &l, 0);
	char ca[65], cb[65];
	checksum(t->a->pgs, ca, NULL);
	checksum(t->b->pgs, cb, NULL);
	assert_string_equal(ca, cb);
	pgtest_exec(t->b->conn,
	            "ALTER TABLE ddl.note DROP COLUMN tsv;"
	            "ALTER TABLE ddl.note ADD COLUMN tsv tsvector GENERATED "
	            "ALWAYS AS (to_tsvector('simple'::regconfig, body)) STORED");
	char *ta = fx_value(t->a, "SELECT tsv::text FROM ddl.note WHERE id = 1");
	char *tb = fx_value(t->b, "SELECT tsv::text FROM ddl.note WHERE id = 1");
	assert_string_not_equal(ta, tb);
	free(ta);
	free(tb);
	checksum(t->b->pgs, cb, NULL);
	assert_string_equal(ca, cb);
	pgtest_exec(t->b->conn, "UPDATE ddl.note SET body = 'changed' "
	                        "WHERE id = 1");
	checksum(t->b->pgs, cb, NULL);
	assert_string_not_equal(ca, cb);
	fx_entries_free(&l);
}

/* A failing schema_dump: no snapshot is stored, the older one stays. */
static void test_dump_fails(void **state)
{
	struct two *t = *state;
	struct fx_entries l = {0};
	build_state(&l);
	apply_from(t->a, &l, 0);
	struct raft_snapshot_meta m;
	snapshot(t->a, &m);
	assert_int_equal(m.index, 9);
	size_t from = l.n;
	add_cmd(&l, 10, 'D', "INSERT INTO ddl.question VALUES (3, 'when?')");
	apply_from(t->a, &l, from);

	ctx_a.fail_dump = true;
	struct raft_snapshot_meta m2;
	assert_int_equal(pgs_snapshot_create(t->a->pgs, &m2), PGS_EDB);
	assert_non_null(strstr(pgs_errmsg(t->a->pgs),
	                       "could not dump the schema of state machine "
	                       "\"ddl\": injected dump failure"));
	assert_int_equal(m2.index, 0);
	assert_int_equal(fx_count(t->a, "SELECT count(*) FROM raft.snapshot"), 1);
	assert_int_equal(fx_count(t->a, "SELECT max(idx) FROM raft.snapshot "
	                                "WHERE complete"), 9);
	struct raft_initial_state s;
	fx_load(t->a, &s);
	assert_int_equal(s.snapshot.index, 9);
	assert_int_equal(s.applied, 10);

	ctx_a.fail_dump = false;
	snapshot(t->a, &m2);
	assert_int_equal(m2.index, 10);
	fx_entries_free(&l);
}

/* b's own state before an install attempt, and the checks that it is
 * still there afterwards. */
static void b_own_state(struct two *t, char sum[65])
{
	struct fx_entries l = {0};
	fx_add_config(&l, 1, 1, 3);
	add_cmd(&l, 2, 'M', "CREATE SCHEMA ddl; CREATE TABLE ddl.mine "
	                    "(id int PRIMARY KEY, v text)");
	add_cmd(&l, 3, 'D', "INSERT INTO ddl.mine VALUES (1, 'kept')");
	apply_from(t->b, &l, 0);
	checksum(t->b->pgs, sum, NULL);
	fx_entries_free(&l);
}

static void b_unchanged(struct two *t, const char sum[65])
{
	struct raft_initial_state s;
	fx_load(t->b, &s);
	assert_int_equal(s.applied, 3);
	assert_int_equal(s.snapshot.index, 0);
	assert_int_equal(s.n_entries, 3);
	char now[65];
	checksum(t->b->pgs, now, NULL);
	assert_string_equal(now, sum);
	char *v = fx_value(t->b, "SELECT v FROM ddl.mine WHERE id = 1");
	assert_string_equal(v, "kept");
	free(v);
	assert_int_equal(fx_count(t->b, "SELECT count(*) FROM pg_tables "
	                                "WHERE schemaname = 'ddl'"), 1);
}

/* A failing schema_load, one that leaves the transaction failed, and one
 * that leaves the schema other than the snapshot's: the install is
 * refused and rolled back whole. Then it succeeds. */
static void test_load_fails(void **state)
{
	struct two *t = *state;
	struct fx_entries l = {0};
	build_state(&l);
	apply_from(t->a, &l, 0);
	struct raft_snapshot_meta m;
	snapshot(t->a, &m);
	char before[65];
	b_own_state(t, before);

	ctx_b.load = LOAD_FAIL;
	assert_int_equal(transfer(t->a, t->b, &m, NULL), PGS_EDB);
	assert_non_null(strstr(pgs_errmsg(t->b->pgs),
	                       "could not load the schema of snapshot 9: "
	                       "injected load failure"));
	b_unchanged(t, before);

	ctx_b.load = LOAD_BAD_SQL;
	assert_int_equal(transfer(t->a, t->b, &m, NULL), PGS_EDB);
	assert_non_null(strstr(pgs_errmsg(t->b->pgs), "left the install "
	                                              "transaction failed"));
	b_unchanged(t, before);

	/* schema_load "succeeds" but leaves ddl.mine and none of the
	 * snapshot's tables: checked against the new list, refused */
	ctx_b.load = LOAD_NOTHING;
	assert_int_equal(transfer(t->a, t->b, &m, NULL), PGS_ECORRUPT);
	assert_non_null(strstr(pgs_errmsg(t->b->pgs), "snapshot 9 holds"));
	b_unchanged(t, before);

	ctx_b.load = LOAD_OK;
	assert_int_equal(transfer(t->a, t->b, &m, NULL), 0);
	char ca[65], cb[65];
	checksum(t->a->pgs, ca, NULL);
	checksum(t->b->pgs, cb, NULL);
	assert_string_equal(ca, cb);
	assert_int_equal(fx_count(t->b, "SELECT count(*) FROM pg_tables "
	                                "WHERE tablename = 'mine'"), 0);
	fx_entries_free(&l);
}

static void make_format1(unsigned char *p, size_t n)
{
	assert_true(n > 8);
	memcpy(p, "LMSSNAP1", 8);
}

static void bad_signature(unsigned char *p, size_t n)
{
	assert_true(n > 8);
	memcpy(p, "NOTASNAP", 8);
}

/* A snapshot in the old container format is refused by name. */
static void test_old_format_refused(void **state)
{
	struct two *t = *state;
	struct fx_entries l = {0};
	build_state(&l);
	apply_from(t->a, &l, 0);
	struct raft_snapshot_meta m;
	snapshot(t->a, &m);
	char before[65];
	b_own_state(t, before);

	assert_int_equal(transfer(t->a, t->b, &m, make_format1), PGS_ECORRUPT);
	assert_non_null(strstr(pgs_errmsg(t->b->pgs),
	                       "snapshot 9 is in container format 1, this node "
	                       "reads only format 2"));
	assert_int_equal(ctx_b.loads, 0);
	b_unchanged(t, before);
	assert_int_equal(transfer(t->a, t->b, &m, bad_signature), PGS_ECORRUPT);
	assert_non_null(strstr(pgs_errmsg(t->b->pgs), "does not start with the "
	                                              "snapshot signature"));
	b_unchanged(t, before);
	fx_entries_free(&l);
}

/* pgs_open refuses what cannot work; setup_sql errors are reported. */
static void test_bad_machines(void **state)
{
	struct two *t = *state;
	struct fx *f = t->a;
	fx_close_handle(f);
	char err[512];
	struct pgs *p;

	struct pgs_state_machine sm = sm_a;
	sm.schema_load = NULL;
	assert_int_equal(pgs_open(f->conninfo, 1, "lms", &sm, &p, err,
	                          sizeof err), PGS_EINVAL);
	assert_non_null(strstr(err, "only one of schema_dump and schema_load"));

	static const char *const bad_schema[] = {"Ddl", NULL};
	sm = sm_a;
	sm.schemas = bad_schema;
	assert_int_equal(pgs_open(f->conninfo, 1, "lms", &sm, &p, err,
	                          sizeof err), PGS_EINVAL);
	assert_non_null(strstr(err, "invalid schema name \"Ddl\""));

	sm = sm_a;
	sm.setup_sql = "CREATE TABLE ddl_meta.broken (";
	assert_int_equal(pgs_open(f->conninfo, 1, "lms", &sm, &p, err,
	                          sizeof err), PGS_EDB);
	assert_non_null(strstr(err, "could not run the setup script of state "
	                            "machine \"ddl\""));

	/* setup_sql creates what the fixed tables need */
	static const char *const more[] = {"ddl_meta.migration", "ddl_meta.x",
	                                   NULL};
	sm = sm_a;
	sm.tables = more;
	assert_int_equal(pgs_open(f->conninfo, 1, "lms", &sm, &p, err,
	                          sizeof err), PGS_EINVAL);
	assert_non_null(strstr(err, "state table \"ddl_meta.x\" does not exist"));
	sm.setup_sql = "CREATE TABLE IF NOT EXISTS ddl_meta.x (k int PRIMARY KEY)";
	assert_int_equal(pgs_open(f->conninfo, 1, "lms", &sm, &p, err,
	                          sizeof err), 0);
	pgs_close(p);
	fx_open(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migration_in_checksum, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_to_fresh_node, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_generated_outside_checksum,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_format_refused, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_bad_machines, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

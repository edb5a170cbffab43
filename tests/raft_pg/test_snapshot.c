/*
 * test_snapshot.c -- raft_pg_snapshot: taking, reading, transferring and
 * installing snapshots between two node databases.
 *
 * The main test builds a state on node 1 (keys of several scripts, values
 * from empty to 3 MiB so that a COPY segment spans many chunks, client
 * sessions, deletes), takes a snapshot with small chunks, reads it back in
 * pieces of another size (as the transport would) and feeds them to node 2
 * as the core would (snapshot_chunk batches, the last one with
 * install_snapshot). Node 2 must end with the same checksum and applied
 * index, load the snapshot as its latest, serve the same bytes, and stay
 * identical while both apply more entries. Other tests: the chunk
 * protocol (resend, hole, restart), replacement of older snapshots, and
 * refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgsfix.h"

struct two {
	struct fx *a, *b;
};

static int setup(void **state)
{
	struct two *t = calloc(1, sizeof *t);
	assert_non_null(t);
	t->a = fx_new("raft_pg_snap_a", 1, NULL, NULL);
	t->b = fx_new("raft_pg_snap_b", 2, NULL, NULL);
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

/* Appends and applies l->v[from..n) on f. */
static void apply_all(struct fx *f, struct fx_entries *l, size_t from)
{
	struct raft_ready rd;
	size_t n = l->n - from;
	struct pgs_apply_result *res = calloc(n, sizeof *res);
	assert_non_null(res);
	fx_ready_append_commit(&rd, l, from, n, true);
	fx_persist(f, &rd, res);
	free(res);
}

/* A varied state: config at 1, then puts, deletes and sessions. */
static void build_state(struct fx_entries *l, raft_index upto, size_t big)
{
	static const char *keys[] = {"a", "B", "Z", "z", "é", "ключ", "日本",
	                             "a b", "_", "0", "ä", "A"};
	fx_add_config(l, 1, 1, 3);
	char *val = malloc(big + 1);
	assert_non_null(val);
	for (size_t i = 0; i < big; i++)
		val[i] = (char)(i * 7 + 3);
	for (raft_index i = 2; i <= upto; i++) {
		char key[64];
		snprintf(key, sizeof key, "%s-%llu", keys[i % 12],
		         (unsigned long long)(i % 40));
		if (i == 5) {
			fx_add_put(l, i, 1, 0, 0, "huge", val, big);
		} else if (i % 9 == 0) {
			struct pgs_buf cmd = PGS_BUF_INIT, env = PGS_BUF_INIT;
			assert_int_equal(pgs_kv_encode_delete(&cmd, key), 0);
			assert_int_equal(pgs_envelope_encode(&env, 0, 0, cmd.data,
			                                     cmd.len), 0);
			fx_add(l, i, 1, RAFT_ENTRY_NORMAL, env.data, env.len);
			pgs_buf_free(&cmd);
			pgs_buf_free(&env);
		} else {
			size_t vlen = (size_t)(i * 37 % 500);
			if (vlen > big)
				vlen = big;
			fx_add_put(l, i, 1, i % 6, i, key, val, vlen);
		}
	}
	free(val);
}

static void checksum(struct fx *f, char out[65], raft_index *applied)
{
	if (pgs_state_checksum(f->pgs, out, applied))
		fail_msg("pgs_state_checksum: %s", pgs_errmsg(f->pgs));
	assert_int_equal(strlen(out), 64);
}

/* Sends snapshot meta of a to b in pieces of `piece` bytes. */
static void transfer(struct fx *a, struct fx *b,
                     const struct raft_snapshot_meta *meta, size_t piece)
{
	unsigned char *buf = malloc(piece);
	assert_non_null(buf);
	for (uint64_t off = 0; off < meta->size; off += piece) {
		size_t len = meta->size - off < piece ? meta->size - off : piece;
		if (pgs_snapshot_read(a->pgs, meta->index, off, buf, len))
			fail_msg("pgs_snapshot_read: %s", pgs_errmsg(a->pgs));
		struct raft_ready rd;
		memset(&rd, 0, sizeof rd);
		rd.has_snapshot_chunk = true;
		rd.snapshot_chunk.index = meta->index;
		rd.snapshot_chunk.term = meta->term;
		rd.snapshot_chunk.offset = off;
		rd.snapshot_chunk.total = meta->size;
		rd.snapshot_chunk.data = buf;
		rd.snapshot_chunk.len = len;
		rd.snapshot_chunk.done = off + len == meta->size;
		if (rd.snapshot_chunk.done) {
			rd.has_install_snapshot = true;
			rd.install_snapshot = *meta;
			rd.has_hard_state = true;
			rd.hard_state.term = meta->term;
		}
		fx_persist(b, &rd, NULL);
	}
	free(buf);
}

static void test_transfer_and_install(void **state)
{
	struct two *t = *state;
	struct fx_entries l = {0};
	build_state(&l, 300, 3u << 20);
	apply_all(t->a, &l, 0);
	assert_int_equal(pgs_set_chunk_bytes(t->a->pgs, 64 * 1024), 0);

	struct raft_snapshot_meta meta;
	if (pgs_snapshot_create(t->a->pgs, &meta))
		fail_msg("pgs_snapshot_create: %s", pgs_errmsg(t->a->pgs));
	assert_int_equal(meta.index, 300);
	assert_int_equal(meta.term, 1);
	assert_int_equal(meta.config.n, 3);
	assert_true(meta.size > (3u << 20));
	assert_int_equal(fx_count(t->a, "SELECT count(*) FROM "
	                                "raft.snapshot_chunk"),
	                 (long long)((meta.size + 65535) / 65536));

	/* node 2 has a little state of its own that must disappear */
	struct fx_entries other = {0};
	fx_add_config(&other, 1, 1, 3);
	fx_add_put(&other, 2, 1, 99, 1, "only-on-b", "x", 1);
	apply_all(t->b, &other, 0);

	transfer(t->a, t->b, &meta, 50000);
	assert_int_equal(pgs_last_applied(t->b->pgs), 300);

	char ca[65], cb[65];
	raft_index aa, ab;
	checksum(t->a, ca, &aa);
	checksum(t->b, cb, &ab);
	assert_int_equal(aa, 300);
	assert_int_equal(ab, 300);
	assert_string_equal(ca, cb);
	assert_int_equal(fx_count(t->b, "SELECT count(*) FROM raft_state.kv "
	                                "WHERE key = 'only-on-b'"), 0);
	assert_int_equal(fx_count(t->b, "SELECT count(*) FROM raft.log"), 0);
	assert_int_equal(fx_count(t->b, "SELECT count(*) FROM raft.membership"),
	                 3);
	/* identical rows, in the strongest sense available: same text */
	char *ka = fx_value(t->a, "SELECT md5(string_agg(k::text, ',' ORDER BY "
	                          "key COLLATE \"C\")) FROM raft_state.kv k");
	char *kb = fx_value(t->b, "SELECT md5(string_agg(k::text, ',' ORDER BY "
	                          "key COLLATE \"C\")) FROM raft_state.kv k");
	assert_string_equal(ka, kb);
	free(ka);
	free(kb);

	/* node 2 now loads the snapshot as its latest and can serve it */
	struct raft_initial_state s;
	fx_load(t->b, &s);
	assert_int_equal(s.snapshot.index, 300);
	assert_int_equal(s.snapshot.term, 1);
	assert_int_equal(s.snapshot.size, meta.size);
	assert_int_equal(s.snapshot.config.n, 3);
	assert_string_equal(s.snapshot.config.servers[2].address,
	                    "127.0.0.1:7103");
	assert_int_equal(s.n_entries, 0);
	assert_int_equal(s.applied, 300);
	assert_int_equal(s.hard_state.term, 1);
	unsigned char *x = malloc(meta.size), *y = malloc(meta.size);
	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(pgs_snapshot_read(t->a->pgs, 300, 0, x, meta.size), 0);
	assert_int_equal(pgs_snapshot_read(t->b->pgs, 300, 0, y, meta.size), 0);
	assert_memory_equal(x, y, meta.size);
	free(x);
	free(y);

	/* both go on applying the same entries: still identical */
	size_t from = l.n;
	for (raft_index i = 301; i <= 320; i++)
		fx_add_put(&l, i, 2, 3, 1000 + i, "after", "snap", 4);
	apply_all(t->a, &l, from);
	apply_all(t->b, &l, from);
	checksum(t->a, ca, &aa);
	checksum(t->b, cb, &ab);
	assert_int_equal(aa, 320);
	assert_string_equal(ca, cb);

	/* and the checksum does see a difference */
	pgtest_exec(t->b->conn, "UPDATE raft_state.kv SET value = 'y' "
	                        "WHERE key = 'after'");
	checksum(t->b, cb, &ab);
	assert_string_not_equal(ca, cb);

	/* a snapshot of node 2 is a snapshot of the same state */
	pgtest_exec(t->b->conn, "UPDATE raft_state.kv SET value = 'snap' "
	                        "WHERE key = 'after'");
	struct raft_snapshot_meta ma, mb;
	assert_int_equal(pgs_snapshot_create(t->a->pgs, &ma), 0);
	assert_int_equal(pgs_snapshot_create(t->b->pgs, &mb), 0);
	assert_int_equal(ma.index, 320);
	assert_int_equal(mb.index, 320);
	assert_int_equal(mb.term, 2);
	assert_int_equal(ma.size, mb.size);
	fx_entries_free(&l);
	fx_entries_free(&other);
}

static struct raft_ready chunk_batch(const struct raft_snapshot_meta *m,
                                     uint64_t off, const void *data,
                                     size_t len)
{
	struct raft_ready rd;
	memset(&rd, 0, sizeof rd);
	rd.has_snapshot_chunk = true;
	rd.snapshot_chunk.index = m->index;
	rd.snapshot_chunk.term = m->term;
	rd.snapshot_chunk.offset = off;
	rd.snapshot_chunk.total = m->size;
	rd.snapshot_chunk.data = data;
	rd.snapshot_chunk.len = len;
	rd.snapshot_chunk.done = off + len == m->size;
	return rd;
}

static void test_chunk_protocol(void **state)
{
	struct two *t = *state;
	struct fx_entries l = {0};
	build_state(&l, 120, 100000);
	apply_all(t->a, &l, 0);
	assert_int_equal(pgs_set_chunk_bytes(t->a->pgs, 16384), 0);
	struct raft_snapshot_meta m;
	assert_int_equal(pgs_snapshot_create(t->a->pgs, &m), 0);
	unsigned char *all = malloc(m.size);
	assert_non_null(all);
	assert_int_equal(pgs_snapshot_read(t->a->pgs, m.index, 0, all, m.size),
	                 0);
	size_t piece = 20000;
	assert_true(m.size > 4 * piece);

	struct raft_ready rd = chunk_batch(&m, 0, all, piece);
	fx_persist(t->b, &rd, NULL);
	rd = chunk_batch(&m, piece, all + piece, piece);
	fx_persist(t->b, &rd, NULL);
	fx_persist(t->b, &rd, NULL); /* resent: replaces, no error */
	/* a hole is refused */
	rd = chunk_batch(&m, 3 * piece, all + 3 * piece, piece);
	assert_int_equal(pgs_persist(t->b->pgs, &rd, NULL), PGS_ECORRUPT);
	assert_non_null(strstr(pgs_errmsg(t->b->pgs), "40000 bytes are stored"));
	struct raft_initial_state s;
	fx_load(t->b, &s);
	assert_int_equal(s.snapshot.index, 0); /* incomplete ones don't count */

	/* installing before every byte arrived is refused */
	rd = chunk_batch(&m, 2 * piece, all + 2 * piece, piece);
	rd.has_install_snapshot = true;
	rd.install_snapshot = m;
	assert_int_equal(pgs_persist(t->b->pgs, &rd, NULL), PGS_ECORRUPT);
	fx_load(t->b, &s);

	/* the transfer restarts from 0 (e.g. after a leader change) */
	for (uint64_t off = 0; off < m.size; off += piece) {
		size_t len = m.size - off < piece ? m.size - off : piece;
		rd = chunk_batch(&m, off, all + off, len);
		if (off + len == m.size) {
			rd.has_install_snapshot = true;
			rd.install_snapshot = m;
			/* entries that arrived after the snapshot, same batch;
			 * one at or below the snapshot is skipped */
			struct fx_entries more = {0};
			fx_add(&more, m.index - 3, 1, RAFT_ENTRY_NOOP, NULL, 0);
			fx_add_put(&more, m.index + 1, 1, 0, 0, "post", "p", 1);
			rd.entries = more.v;
			rd.n_entries = 2;
			fx_persist(t->b, &rd, NULL);
			fx_entries_free(&more);
		} else {
			fx_persist(t->b, &rd, NULL);
		}
	}
	fx_load(t->b, &s);
	assert_int_equal(s.snapshot.index, m.index);
	assert_int_equal(s.applied, m.index);
	assert_int_equal(s.n_entries, 1);
	assert_int_equal(s.entries[0].index, m.index + 1);
	assert_int_equal(fx_count(t->b, "SELECT count(*) FROM raft.snapshot"), 1);
	char ca[65], cb[65];
	checksum(t->a, ca, NULL);
	checksum(t->b, cb, NULL);
	assert_string_equal(ca, cb);

	/* the same snapshot again: already applied, refused */
	rd = chunk_batch(&m, 0, all, m.size);
	rd.has_install_snapshot = true;
	rd.install_snapshot = m;
	assert_int_equal(pgs_persist(t->b->pgs, &rd, NULL), PGS_ECORRUPT);
	free(all);
	fx_entries_free(&l);
}

static void test_older_snapshots_replaced(void **state)
{
	struct two *t = *state;
	struct raft_snapshot_meta m;
	assert_int_equal(pgs_snapshot_create(t->a->pgs, &m), PGS_EINVAL);
	assert_non_null(strstr(pgs_errmsg(t->a->pgs), "no entry has been applied"));

	struct fx_entries l = {0};
	build_state(&l, 10, 10);
	apply_all(t->a, &l, 0);
	assert_int_equal(pgs_snapshot_create(t->a->pgs, &m), 0);
	assert_int_equal(m.index, 10);
	struct raft_snapshot_meta again;
	assert_int_equal(pgs_snapshot_create(t->a->pgs, &again), 0);
	assert_int_equal(again.index, 10);
	assert_int_equal(again.size, m.size);
	assert_int_equal(again.config.n, 3);
	assert_int_equal(fx_count(t->a, "SELECT count(*) FROM raft.snapshot"), 1);

	/* a newer configuration and term after the first snapshot */
	size_t from = l.n;
	fx_add_config(&l, 11, 2, 4);
	fx_add(&l, 12, 2, RAFT_ENTRY_NOOP, NULL, 0);
	apply_all(t->a, &l, from);
	/* the log below the first snapshot is compacted away */
	struct raft_ready rd;
	memset(&rd, 0, sizeof rd);
	rd.compact_before = 11;
	fx_persist(t->a, &rd, NULL);
	assert_int_equal(pgs_snapshot_create(t->a->pgs, &m), 0);
	assert_int_equal(m.index, 12);
	assert_int_equal(m.term, 2);
	assert_int_equal(m.config.n, 4);
	assert_int_equal(fx_count(t->a, "SELECT count(*) FROM raft.snapshot"), 1);
	unsigned char b[8];
	assert_int_equal(pgs_snapshot_read(t->a->pgs, 10, 0, b, 8), PGS_ENOTFOUND);
	assert_int_equal(pgs_snapshot_read(t->a->pgs, 12, m.size - 4, b, 8),
	                 PGS_ENOTFOUND);
	assert_int_equal(pgs_snapshot_read(t->a->pgs, 12, m.size - 8, b, 8), 0);
	assert_memory_equal(b, "LMSSEND2", 8);

	/* the whole log compacted: the config comes from the snapshot */
	memset(&rd, 0, sizeof rd);
	rd.compact_before = 13;
	fx_persist(t->a, &rd, NULL);
	from = l.n;
	fx_add(&l, 13, 3, RAFT_ENTRY_NOOP, NULL, 0);
	apply_all(t->a, &l, from);
	assert_int_equal(pgs_snapshot_create(t->a->pgs, &m), 0);
	assert_int_equal(m.index, 13);
	assert_int_equal(m.term, 3);
	assert_int_equal(m.config.n, 4);
	struct raft_initial_state s;
	fx_load(t->a, &s);
	assert_int_equal(s.snapshot.index, 13);
	assert_int_equal(s.snapshot.config.n, 4);
	fx_entries_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transfer_and_install, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_chunk_protocol, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_older_snapshots_replaced, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

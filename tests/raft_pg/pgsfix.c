/*
 * pgsfix.c -- see pgsfix.h. Every failure fails the running cmocka test.
 */
#include "pgsfix.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct fx *fx_new(const char *prefix, raft_id node_id,
                  const struct pgs_state_machine *sm, const char *setup_sql)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->conn = pgtest_create_db(prefix, f->db, sizeof f->db);
	pgtest_conninfo(f->db, f->conninfo, sizeof f->conninfo);
	pgtest_exec(f->conn, "SET client_min_messages = warning");
	if (setup_sql)
		pgtest_exec(f->conn, setup_sql);
	f->node_id = node_id;
	f->sm = sm ? sm : &pgs_kv_state_machine;
	fx_open(f);
	return f;
}

void fx_open(struct fx *f)
{
	char err[512];
	int rv = pgs_open(f->conninfo, f->node_id, "lms", f->sm, &f->pgs, err,
	                  sizeof err);
	if (rv)
		fail_msg("pgs_open: %s (%s)", err, pgs_strerror(rv));
}

void fx_close_handle(struct fx *f)
{
	pgs_close(f->pgs);
	f->pgs = NULL;
}

void fx_free(struct fx *f)
{
	if (!f)
		return;
	fx_close_handle(f);
	pgtest_drop_db(f->conn, f->db);
	free(f);
}

void fx_load(struct fx *f, struct raft_initial_state *s)
{
	int rv = pgs_load(f->pgs, s);
	if (rv)
		fail_msg("pgs_load: %s", pgs_errmsg(f->pgs));
}

void fx_entries_free(struct fx_entries *l)
{
	for (size_t i = 0; i < l->n; i++)
		pgs_buf_free(&l->data[i]);
	free(l->v);
	free(l->data);
	memset(l, 0, sizeof *l);
}

struct raft_entry *fx_add(struct fx_entries *l, raft_index index,
                          raft_term term, int type, const void *data,
                          size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		l->data = realloc(l->data, l->cap * sizeof *l->data);
		assert_non_null(l->v);
		assert_non_null(l->data);
		/* entries point into data: re-point after the move */
		for (size_t i = 0; i < l->n; i++)
			l->v[i].data = l->data[i].data;
	}
	struct pgs_buf *b = &l->data[l->n];
	memset(b, 0, sizeof *b);
	assert_int_equal(pgs_buf_append(b, data, len), 0);
	struct raft_entry *e = &l->v[l->n++];
	e->index = index;
	e->term = term;
	e->type = type;
	e->data = b->data;
	e->len = b->len;
	return e;
}

struct raft_entry *fx_add_put(struct fx_entries *l, raft_index index,
                              raft_term term, uint64_t client, uint64_t seq,
                              const char *key, const void *value,
                              size_t value_len)
{
	struct pgs_buf cmd = PGS_BUF_INIT, env = PGS_BUF_INIT;
	assert_int_equal(pgs_kv_encode_put(&cmd, key, value, value_len), 0);
	assert_int_equal(pgs_envelope_encode(&env, client, seq, cmd.data,
	                                     cmd.len), 0);
	struct raft_entry *e = fx_add(l, index, term, RAFT_ENTRY_NORMAL,
	                              env.data, env.len);
	pgs_buf_free(&cmd);
	pgs_buf_free(&env);
	return e;
}

void fx_config(struct raft_config *c, unsigned n)
{
	memset(c, 0, sizeof *c);
	c->n = n;
	for (unsigned i = 0; i < n; i++) {
		c->servers[i].id = i + 1;
		c->servers[i].role = RAFT_VOTER;
		snprintf(c->servers[i].address, RAFT_ADDRESS_MAX,
		         "127.0.0.1:710%u", i + 1);
	}
}

struct raft_entry *fx_add_config(struct fx_entries *l, raft_index index,
                                 raft_term term, unsigned n)
{
	struct raft_config c;
	fx_config(&c, n);
	unsigned char buf[2048];
	size_t len = raft_config_encode(&c, buf, sizeof buf);
	assert_true(len > 0 && len <= sizeof buf);
	return fx_add(l, index, term, RAFT_ENTRY_CONFIG, buf, len);
}

void fx_ready_append_commit(struct raft_ready *rd, const struct fx_entries *l,
                            size_t from, size_t n, bool commit)
{
	memset(rd, 0, sizeof *rd);
	rd->entries = l->v + from;
	rd->n_entries = n;
	if (commit) {
		rd->committed = l->v + from;
		rd->n_committed = n;
	}
}

void fx_persist(struct fx *f, const struct raft_ready *rd,
                struct pgs_apply_result *results)
{
	int rv = pgs_persist(f->pgs, rd, results);
	if (rv)
		fail_msg("pgs_persist: %s (%s)", pgs_errmsg(f->pgs),
		         pgs_strerror(rv));
}

struct pgs_kv_result fx_kv(const struct pgs_apply_result *r)
{
	struct pgs_kv_result k;
	assert_int_equal(pgs_kv_decode_result(r->result, r->result_len, &k), 0);
	return k;
}

char *fx_value(struct fx *f, const char *sql)
{
	return pgtest_value(f->conn, sql);
}

long long fx_count(struct fx *f, const char *sql)
{
	char *v = pgtest_value(f->conn, sql);
	long long n = atoll(v);
	free(v);
	return n;
}

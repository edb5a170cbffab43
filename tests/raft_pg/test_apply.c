/*
 * test_apply.c -- raft_pg_apply: the apply step of pgs_persist.
 *
 *   - a batch carrying hard state, new entries and committed entries is
 *     one transaction (every row it wrote has the same xmin);
 *   - the exactly-once envelope: the same (client, seq) applied twice has
 *     one effect and returns the recorded result; an older seq is STALE;
 *   - the kv machine's answers (ok, conflict with the current value, not
 *     found, bad command) and results that outgrow their buffer;
 *   - crash between apply transactions: the connection killed in the
 *     middle of a batch (nothing of it stays), and a writer process
 *     SIGKILLed at random moments; after each, reload and resume at
 *     last_applied + 1: every entry is applied exactly once (a journal
 *     table with the entry index as primary key and a counter prove it).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgsfix.h"

static int setup(void **state)
{
	*state = fx_new("raft_pg_apply", 1, NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static void kv_expect(struct fx *f, const char *key, const char *value,
                      raft_index version)
{
	struct pgs_buf v = PGS_BUF_INIT;
	bool found;
	raft_index ver = 0, applied = 0;
	assert_int_equal(pgs_kv_get(f->pgs, key, &v, &found, &ver, &applied), 0);
	if (!value) {
		assert_false(found);
	} else {
		assert_true(found);
		assert_int_equal(v.len, strlen(value));
		assert_memory_equal(v.data, value, v.len);
		assert_int_equal(ver, version);
	}
	assert_int_equal(applied, pgs_last_applied(f->pgs));
	pgs_buf_free(&v);
}

static struct raft_entry *add_cmd(struct fx_entries *l, raft_index index,
                                  uint64_t client, uint64_t seq,
                                  const struct pgs_buf *cmd)
{
	struct pgs_buf env = PGS_BUF_INIT;
	assert_int_equal(pgs_envelope_encode(&env, client, seq, cmd->data,
	                                     cmd->len), 0);
	struct raft_entry *e = fx_add(l, index, 1, RAFT_ENTRY_NORMAL, env.data,
	                              env.len);
	pgs_buf_free(&env);
	return e;
}

static void test_batch_one_transaction(void **state)
{
	struct fx *f = *state;
	struct fx_entries l = {0};
	struct pgs_buf cmd = PGS_BUF_INIT;
	fx_add_config(&l, 1, 1, 3);
	fx_add(&l, 2, 1, RAFT_ENTRY_NOOP, NULL, 0);
	fx_add_put(&l, 3, 1, 0, 0, "a", "1", 1);
	fx_add_put(&l, 4, 1, 5, 1, "b", "bee", 3);
	assert_int_equal(pgs_kv_encode_cas(&cmd, "a", "1", 1, "2", 1), 0);
	add_cmd(&l, 5, 5, 2, &cmd);
	pgs_buf_reset(&cmd);
	assert_int_equal(pgs_kv_encode_delete(&cmd, "b"), 0);
	add_cmd(&l, 6, 0, 0, &cmd);

	struct raft_ready rd;
	struct pgs_apply_result res[6];
	fx_ready_append_commit(&rd, &l, 0, 6, true);
	rd.has_hard_state = true;
	rd.hard_state.term = 1;
	rd.hard_state.vote = 1;
	fx_persist(f, &rd, res);

	/* where the time went: every part of this batch did some work */
	struct pgs_timing tm;
	pgs_last_timing(f->pgs, &tm);
	assert_true(tm.log_us > 0 || tm.apply_us > 0);
	assert_true(tm.apply_us > 0);
	assert_true(tm.commit_us > 0);

	for (int i = 0; i < 6; i++) {
		assert_int_equal(res[i].index, i + 1);
		assert_int_equal(res[i].term, 1);
	}
	assert_int_equal(res[0].status, PGS_NOT_NORMAL);
	assert_int_equal(res[1].status, PGS_NOT_NORMAL);
	assert_null(res[0].result);
	for (int i = 2; i < 6; i++) {
		assert_int_equal(res[i].status, PGS_APPLIED);
		struct pgs_kv_result k = fx_kv(&res[i]);
		assert_int_equal(k.code, PGS_KV_OK);
		assert_int_equal(k.version, i + 1);
	}
	assert_int_equal(res[3].client_id, 5);
	assert_int_equal(res[3].seq, 1);
	kv_expect(f, "a", "2", 5);
	kv_expect(f, "b", NULL, 0);
	assert_int_equal(pgs_last_applied(f->pgs), 6);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM raft.membership "
	                             "WHERE role = 'voter' AND config_idx = 1"),
	                 3);
	/* everything above was written by one transaction */
	assert_int_equal(
		fx_count(f, "SELECT count(DISTINCT x) FROM ("
		            "SELECT xmin::text AS x FROM raft.log "
		            "UNION ALL SELECT xmin::text FROM raft.hard_state "
		            "UNION ALL SELECT xmin::text FROM raft.applied "
		            "UNION ALL SELECT xmin::text FROM raft.membership "
		            "UNION ALL SELECT xmin::text FROM raft_state.kv "
		            "UNION ALL SELECT xmin::text FROM "
		            "raft_state.client_session) t"),
		1);
	struct raft_initial_state s;
	fx_load(f, &s);
	assert_int_equal(s.applied, 6);
	assert_int_equal(s.n_entries, 6);

	/* the next batch must continue at 7 */
	struct fx_entries l2 = {0};
	fx_add(&l2, 8, 1, RAFT_ENTRY_NOOP, NULL, 0);
	fx_ready_append_commit(&rd, &l2, 0, 1, true);
	assert_int_equal(pgs_persist(f->pgs, &rd, res), PGS_ECORRUPT);
	assert_non_null(strstr(pgs_errmsg(f->pgs), "next entry to apply is 7"));
	fx_load(f, &s);
	assert_int_equal(s.applied, 6);
	assert_int_equal(s.n_entries, 6);

	pgs_buf_free(&cmd);
	fx_entries_free(&l);
	fx_entries_free(&l2);
}

static void test_exactly_once(void **state)
{
	struct fx *f = *state;
	struct fx_entries l = {0};
	fx_add(&l, 1, 1, RAFT_ENTRY_NOOP, NULL, 0);
	fx_add_put(&l, 2, 1, 7, 1, "k", "first", 5);
	/* the client's retry of seq 1, proposed again, lands at 3 */
	fx_add_put(&l, 3, 1, 7, 1, "k", "first", 5);
	fx_add_put(&l, 4, 1, 7, 2, "k", "second", 6);
	/* a very late duplicate of seq 1 */
	fx_add_put(&l, 5, 1, 7, 1, "k", "first", 5);
	/* no dedup for client 0: applied each time */
	fx_add_put(&l, 6, 1, 0, 0, "z", "z", 1);
	fx_add_put(&l, 7, 1, 0, 0, "z", "z", 1);
	/* malformed envelopes: too short, seq 0 with a client */
	fx_add(&l, 8, 1, RAFT_ENTRY_NORMAL, "short", 5);
	unsigned char zero_seq[16] = {9};
	fx_add(&l, 9, 1, RAFT_ENTRY_NORMAL, zero_seq, sizeof zero_seq);
	/* the same client id and seq from another client's view still
	 * dedups: the session is per client id only */
	fx_add_put(&l, 10, 1, UINT64_MAX, UINT64_MAX - 1, "m", "max", 3);
	fx_add_put(&l, 11, 1, UINT64_MAX, UINT64_MAX, "m", "max2", 4);
	fx_add_put(&l, 12, 1, UINT64_MAX, UINT64_MAX - 1, "m", "old", 3);

	struct raft_ready rd;
	struct pgs_apply_result res[12];
	/* applied in two batches, so that the duplicate at 3 reads a session
	 * committed by an earlier transaction and the one at 5 one written
	 * in its own transaction */
	fx_ready_append_commit(&rd, &l, 0, 12, false);
	rd.committed = l.v;
	rd.n_committed = 2;
	fx_persist(f, &rd, res);
	struct pgs_kv_result first = fx_kv(&res[1]);
	assert_int_equal(res[1].status, PGS_APPLIED);
	assert_int_equal(first.version, 2);
	unsigned char recorded[64];
	size_t recorded_len = res[1].result_len;
	memcpy(recorded, res[1].result, recorded_len);

	memset(&rd, 0, sizeof rd);
	rd.committed = l.v + 2;
	rd.n_committed = 10;
	fx_persist(f, &rd, res);
	assert_int_equal(res[0].status, PGS_DUPLICATE);
	assert_int_equal(res[0].result_len, recorded_len);
	assert_memory_equal(res[0].result, recorded, recorded_len);
	assert_int_equal(res[1].status, PGS_APPLIED);
	assert_int_equal(fx_kv(&res[1]).version, 4);
	assert_int_equal(res[2].status, PGS_STALE);
	assert_int_equal(res[2].result_len, 0);
	assert_int_equal(res[3].status, PGS_APPLIED);
	assert_int_equal(res[4].status, PGS_APPLIED);
	assert_int_equal(fx_kv(&res[4]).version, 7);
	assert_int_equal(res[5].status, PGS_BAD_ENVELOPE);
	assert_int_equal(res[6].status, PGS_BAD_ENVELOPE);
	assert_int_equal(res[7].status, PGS_APPLIED);
	assert_int_equal(res[8].status, PGS_APPLIED);
	assert_int_equal(res[9].status, PGS_STALE);

	kv_expect(f, "k", "second", 4); /* one effect per (client, seq) */
	kv_expect(f, "z", "z", 7);
	kv_expect(f, "m", "max2", 11);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM "
	                             "raft_state.client_session"), 2);
	assert_int_equal(fx_count(f, "SELECT last_seq FROM "
	                             "raft_state.client_session WHERE "
	                             "client_id = 7"), 2);
	/* u64 values survive the bigint round trip */
	assert_int_equal(fx_count(f, "SELECT last_seq FROM "
	                             "raft_state.client_session WHERE "
	                             "client_id = -1"), -1);
	fx_entries_free(&l);
}

static void test_kv_results(void **state)
{
	struct fx *f = *state;
	struct fx_entries l = {0};
	struct pgs_buf cmd = PGS_BUF_INIT;
	/* 1: put; 2: cas wrong expected; 3: cas expecting absence;
	 * 4: cas on absent key expecting absence; 5: delete absent;
	 * 6: garbage; 7: key with invalid UTF-8 (built by hand);
	 * 8: empty value; 9..38: conflicts returning a 20 kB value */
	fx_add_put(&l, 1, 1, 0, 0, "key", "v1", 2);
	assert_int_equal(pgs_kv_encode_cas(&cmd, "key", "nope", 4, "v2", 2), 0);
	add_cmd(&l, 2, 0, 0, &cmd);
	pgs_buf_reset(&cmd);
	assert_int_equal(pgs_kv_encode_cas(&cmd, "key", NULL, 0, "v3", 2), 0);
	add_cmd(&l, 3, 0, 0, &cmd);
	pgs_buf_reset(&cmd);
	assert_int_equal(pgs_kv_encode_cas(&cmd, "new", NULL, 0, "n", 1), 0);
	add_cmd(&l, 4, 0, 0, &cmd);
	pgs_buf_reset(&cmd);
	assert_int_equal(pgs_kv_encode_delete(&cmd, "absent"), 0);
	add_cmd(&l, 5, 0, 0, &cmd);
	pgs_buf_reset(&cmd);
	assert_int_equal(pgs_buf_append(&cmd, "\x09garbage", 8), 0);
	add_cmd(&l, 6, 0, 0, &cmd);
	pgs_buf_reset(&cmd);
	unsigned char badkey[] = {PGS_KV_PUT, 2, 0, 0, 0, 0xc3, 0x28, 0, 0, 0, 0};
	assert_int_equal(pgs_buf_append(&cmd, badkey, sizeof badkey), 0);
	add_cmd(&l, 7, 0, 0, &cmd);
	pgs_buf_reset(&cmd);
	fx_add_put(&l, 8, 1, 0, 0, "empty", NULL, 0);
	size_t big_len = 20000;
	char *big = malloc(big_len);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	fx_add_put(&l, 9, 1, 0, 0, "big", big, big_len);
	for (raft_index i = 10; i <= 39; i++) {
		pgs_buf_reset(&cmd);
		assert_int_equal(pgs_kv_encode_cas(&cmd, "big", "x", 1, "y", 1), 0);
		add_cmd(&l, i, 0, 0, &cmd);
	}
	struct raft_ready rd;
	struct pgs_apply_result res[39];
	fx_ready_append_commit(&rd, &l, 0, 39, true);
	fx_persist(f, &rd, res);

	struct pgs_kv_result k = fx_kv(&res[0]);
	assert_int_equal(k.code, PGS_KV_OK);
	k = fx_kv(&res[1]);
	assert_int_equal(k.code, PGS_KV_CONFLICT);
	assert_true(k.has_value);
	assert_int_equal(k.version, 1);
	assert_int_equal(k.value_len, 2);
	assert_memory_equal(k.value, "v1", 2);
	k = fx_kv(&res[2]);
	assert_int_equal(k.code, PGS_KV_CONFLICT);
	k = fx_kv(&res[3]);
	assert_int_equal(k.code, PGS_KV_OK);
	k = fx_kv(&res[4]);
	assert_int_equal(k.code, PGS_KV_NOT_FOUND);
	k = fx_kv(&res[5]);
	assert_int_equal(k.code, PGS_KV_BAD_COMMAND);
	k = fx_kv(&res[6]);
	assert_int_equal(k.code, PGS_KV_BAD_COMMAND);
	assert_non_null(memmem(k.value, k.value_len, "UTF-8", 5));
	k = fx_kv(&res[7]);
	assert_int_equal(k.code, PGS_KV_OK);
	for (int i = 9; i < 39; i++) {
		k = fx_kv(&res[i]);
		assert_int_equal(k.code, PGS_KV_CONFLICT);
		assert_int_equal(k.version, 9);
		assert_int_equal(k.value_len, big_len);
		assert_memory_equal(k.value, big, big_len);
	}
	kv_expect(f, "key", "v1", 1);
	kv_expect(f, "new", "n", 4);
	kv_expect(f, "empty", "", 8);

	/* encoders refuse what apply would refuse */
	pgs_buf_reset(&cmd);
	assert_int_equal(pgs_kv_encode_put(&cmd, "", "v", 1), PGS_EINVAL);
	assert_int_equal(pgs_kv_encode_put(&cmd, "\xc3\x28", "v", 1),
	                 PGS_EINVAL);
	assert_int_equal(cmd.len, 0);
	bool found;
	assert_int_equal(pgs_kv_get(f->pgs, "", NULL, &found, NULL, NULL),
	                 PGS_EINVAL);
	free(big);
	pgs_buf_free(&cmd);
	fx_entries_free(&l);
}

/* Puts are pipelined (pg_kv.c): sent without waiting, their outcomes
 * collected before any statement that needs a result. A batch of 700
 * entries crosses the in-flight limit, mixes in a CONFIG entry, a CAS and
 * a delete that must see the puts before them and a duplicate; and a put
 * that fails in the pipeline fails the whole batch, leaving nothing. */
static void test_pipelined_puts(void **state)
{
	struct fx *f = *state;
	struct fx_entries l = {0};
	struct pgs_buf cmd = PGS_BUF_INIT;
	raft_index i = 1;
	char key[32], val[32];
	for (; i <= 600; i++) {
		snprintf(key, sizeof key, "k%llu", (unsigned long long)(i % 50));
		snprintf(val, sizeof val, "v%llu", (unsigned long long)i);
		fx_add_put(&l, i, 1, 0, 0, key, val, strlen(val));
	}
	fx_add_config(&l, i++, 1, 3);                       /* 601 */
	assert_int_equal(pgs_kv_encode_cas(&cmd, "k0", "v600", 4, "c", 1), 0);
	add_cmd(&l, i++, 0, 0, &cmd);                       /* 602: matches */
	fx_add_put(&l, i++, 1, 9, 1, "k1", "w", 1);         /* 603 */
	pgs_buf_reset(&cmd);
	assert_int_equal(pgs_kv_encode_delete(&cmd, "k2"), 0);
	add_cmd(&l, i++, 0, 0, &cmd);                       /* 604 */
	fx_add_put(&l, i++, 1, 9, 1, "k1", "again", 5);     /* 605: duplicate */
	for (; i <= 700; i++)
		fx_add_put(&l, i, 1, 0, 0, "last", "x", 1);
	struct raft_ready rd;
	struct pgs_apply_result res[700];
	fx_ready_append_commit(&rd, &l, 0, 700, true);
	fx_persist(f, &rd, res);
	for (int k = 0; k < 600; k++) {
		assert_int_equal(res[k].status, PGS_APPLIED);
		assert_int_equal(fx_kv(&res[k]).version, k + 1);
	}
	assert_int_equal(fx_kv(&res[601]).code, PGS_KV_OK);
	assert_int_equal(fx_kv(&res[603]).code, PGS_KV_OK);
	assert_int_equal(res[604].status, PGS_DUPLICATE);
	kv_expect(f, "k0", "c", 602);
	kv_expect(f, "k1", "w", 603);
	kv_expect(f, "k2", NULL, 0);
	kv_expect(f, "k3", "v553", 553);
	kv_expect(f, "last", "x", 700);
	assert_int_equal(pgs_last_applied(f->pgs), 700);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM raft.membership"), 3);

	/* a put the database refuses, in the middle of the pipeline */
	pgtest_exec(f->conn, "ALTER TABLE raft_state.kv ADD CONSTRAINT no_bad "
	                     "CHECK (key <> 'bad')");
	struct fx_entries l2 = {0};
	fx_add_put(&l2, 701, 1, 0, 0, "ok1", "1", 1);
	fx_add_put(&l2, 702, 1, 0, 0, "bad", "1", 1);
	fx_add_put(&l2, 703, 1, 0, 0, "ok2", "1", 1);
	fx_ready_append_commit(&rd, &l2, 0, 3, true);
	assert_int_equal(pgs_persist(f->pgs, &rd, res), PGS_EDB);
	assert_non_null(strstr(pgs_errmsg(f->pgs), "no_bad"));
	assert_int_equal(fx_count(f, "SELECT last_applied FROM raft.applied"),
	                 700);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM raft_state.kv "
	                             "WHERE key IN ('ok1', 'ok2', 'bad')"), 0);
	/* as after any failed batch: reopen, then the same batch, allowed */
	pgtest_exec(f->conn, "ALTER TABLE raft_state.kv DROP CONSTRAINT no_bad");
	fx_close_handle(f);
	fx_open(f);
	struct raft_initial_state st;
	fx_load(f, &st);
	assert_int_equal(st.applied, 700);
	fx_persist(f, &rd, res);
	kv_expect(f, "ok2", "1", 703);
	assert_int_equal(pgs_last_applied(f->pgs), 703);
	pgs_buf_free(&cmd);
	fx_entries_free(&l);
	fx_entries_free(&l2);
}

static void test_config_membership(void **state)
{
	struct fx *f = *state;
	struct fx_entries l = {0};
	fx_add_config(&l, 1, 1, 5);
	fx_add(&l, 2, 1, RAFT_ENTRY_NOOP, NULL, 0);
	fx_add_config(&l, 3, 1, 2);
	struct raft_ready rd;
	struct pgs_apply_result res[3];
	fx_ready_append_commit(&rd, &l, 0, 3, false);
	rd.committed = l.v;
	rd.n_committed = 1;
	fx_persist(f, &rd, res);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM raft.membership"), 5);
	char *addr = fx_value(f, "SELECT address FROM raft.membership WHERE "
	                         "server_id = 4");
	assert_string_equal(addr, "127.0.0.1:7104");
	free(addr);
	memset(&rd, 0, sizeof rd);
	rd.committed = l.v + 1;
	rd.n_committed = 2;
	fx_persist(f, &rd, res);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM raft.membership "
	                             "WHERE config_idx = 3"), 2);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM raft.membership"), 2);
	fx_entries_free(&l);
}

/* ------------------------------------------------ crash and resume */

/* A journal machine: every entry inserts (index, payload) -- a second
 * application of an index violates the primary key -- and bumps a
 * counter. kill_at: apply of that index kills its own connection. */
struct journal {
	raft_index kill_at;
	unsigned applies;
};

static const char journal_sql[] =
	"CREATE SCHEMA test_sm;"
	"CREATE TABLE test_sm.journal (idx bigint PRIMARY KEY, "
	"payload bytea NOT NULL);"
	"CREATE TABLE test_sm.counter (id int PRIMARY KEY, n bigint NOT NULL);"
	"INSERT INTO test_sm.counter VALUES (1, 0)";

static const char *const journal_tables[] = {"test_sm.journal",
                                             "test_sm.counter", NULL};

static int journal_apply(void *ctx, PGconn *conn, raft_index index,
                         const void *cmd, size_t len, struct pgs_buf *result,
                         char *err, size_t errlen)
{
	struct journal *j = ctx;
	j->applies++;
	if (index == j->kill_at) {
		PGresult *r = PQexec(conn, "SELECT pg_terminate_backend("
		                           "pg_backend_pid())");
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		PQclear(r);
		return -1;
	}
	char idx[32];
	snprintf(idx, sizeof idx, "%llu", (unsigned long long)index);
	const char *values[2] = {idx, len ? cmd : ""};
	int lengths[2] = {0, (int)len};
	int formats[2] = {0, 1};
	PGresult *r = PQexecParams(conn,
	                           "WITH j AS (INSERT INTO test_sm.journal "
	                           "VALUES ($1::bigint, $2)) UPDATE "
	                           "test_sm.counter SET n = n + 1",
	                           2, NULL, values, lengths, formats, 0);
	int rv = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	if (rv)
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
	PQclear(r);
	return rv ? rv : pgs_buf_append(result, "ok", 2);
}

static struct journal journal_ctx;
static const struct pgs_state_machine journal_sm = {
	.name = "journal",
	.tables = journal_tables,
	.apply = journal_apply,
	.ctx = &journal_ctx,
};

/* Entry i of the crash tests: NORMAL, client 0, payload "entry <i>". */
static void add_journal_entry(struct fx_entries *l, raft_index i)
{
	char payload[64];
	int n = snprintf(payload, sizeof payload, "entry %llu",
	                 (unsigned long long)i);
	struct pgs_buf env = PGS_BUF_INIT;
	assert_int_equal(pgs_envelope_encode(&env, 0, 0, payload, (size_t)n), 0);
	fx_add(l, i, 1, RAFT_ENTRY_NORMAL, env.data, env.len);
	pgs_buf_free(&env);
}

static void journal_check(struct fx *f, raft_index applied)
{
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SELECT count(*) = %llu AND coalesce(max(idx), 0) = %llu AND "
	         "(SELECT n FROM test_sm.counter) = %llu AND "
	         "bool_and(payload = convert_to('entry ' || idx, 'UTF8')) "
	         "FROM test_sm.journal",
	         (unsigned long long)applied, (unsigned long long)applied,
	         (unsigned long long)applied);
	char *ok = fx_value(f, sql);
	if (strcmp(ok, "t") != 0 && !(applied == 0 && strcmp(ok, "") == 0))
		fail_msg("journal does not match applied index %llu",
		         (unsigned long long)applied);
	free(ok);
}

static int journal_setup(void **state)
{
	memset(&journal_ctx, 0, sizeof journal_ctx);
	*state = fx_new("raft_pg_crash", 1, &journal_sm, journal_sql);
	return 0;
}

static void test_crash_connection_killed(void **state)
{
	struct fx *f = *state;
	struct fx_entries l = {0};
	for (raft_index i = 1; i <= 20; i++)
		add_journal_entry(&l, i);
	struct raft_ready rd;
	struct pgs_apply_result res[20];
	fx_ready_append_commit(&rd, &l, 0, 20, false);
	rd.committed = l.v;
	rd.n_committed = 10;
	fx_persist(f, &rd, res);
	journal_check(f, 10);

	/* 11..20 in one batch; the connection dies while applying 15 */
	journal_ctx.kill_at = 15;
	memset(&rd, 0, sizeof rd);
	rd.committed = l.v + 10;
	rd.n_committed = 10;
	rd.has_hard_state = true;
	rd.hard_state.term = 7;
	assert_int_equal(pgs_persist(f->pgs, &rd, res), PGS_EDB);
	assert_non_null(strstr(pgs_errmsg(f->pgs), "could not apply entry 15"));
	assert_int_equal(pgs_persist(f->pgs, &rd, res), PGS_EBROKEN);
	journal_check(f, 10); /* 11..14 were rolled back with the rest */

	/* restart: reopen, reload, resume at last_applied + 1 */
	journal_ctx.kill_at = 0;
	fx_close_handle(f);
	fx_open(f);
	struct raft_initial_state s;
	fx_load(f, &s);
	assert_int_equal(s.applied, 10);
	assert_int_equal(s.hard_state.term, 0); /* rolled back too */
	assert_int_equal(s.n_entries, 20);
	journal_ctx.applies = 0;
	rd.committed = s.entries + s.applied;
	rd.n_committed = s.n_entries - s.applied;
	fx_persist(f, &rd, res);
	assert_int_equal(journal_ctx.applies, 10);
	journal_check(f, 20);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(res[i].index, 11 + i);
		assert_int_equal(res[i].result_len, 2);
		assert_memory_equal(res[i].result, "ok", 2);
	}
	fx_entries_free(&l);
}

#define CRASH_TOTAL 5000

/* The child: resumes from what is stored and runs the pipeline a node
 * runs -- each batch appends new entries and applies the ones appended
 * by the previous batch -- until CRASH_TOTAL entries are applied. */
static void crash_child(const char *conninfo, unsigned seed)
{
	char err[512];
	struct pgs *pgs;
	if (pgs_open(conninfo, 1, "lms", &journal_sm, &pgs, err, sizeof err))
		_exit(10);
	struct raft_initial_state s;
	if (pgs_load(pgs, &s))
		_exit(11);
	raft_index applied = s.applied;
	raft_index last = s.n_entries ? s.entries[s.n_entries - 1].index : 0;
	srand(seed);
	struct fx_entries l = {0};
	struct pgs_apply_result *res = calloc(64, sizeof *res);
	while (applied < CRASH_TOTAL) {
		/* l: applied+1..last (to commit), then the new entries */
		for (size_t i = 0; i < l.n; i++)
			pgs_buf_free(&l.data[i]);
		l.n = 0;
		for (raft_index i = applied + 1; i <= last; i++)
			add_journal_entry(&l, i);
		size_t old = l.n;
		raft_index add = last < CRASH_TOTAL ? 1 + (raft_index)(rand() % 20) : 0;
		if (last + add > CRASH_TOTAL)
			add = CRASH_TOTAL - last;
		for (raft_index i = last + 1; i <= last + add; i++)
			add_journal_entry(&l, i);
		struct raft_ready rd;
		memset(&rd, 0, sizeof rd);
		rd.entries = l.v + old;
		rd.n_entries = l.n - old;
		rd.committed = l.v;
		rd.n_committed = old;
		if (pgs_persist(pgs, &rd, res))
			_exit(12);
		applied = last;
		last += add;
	}
	_exit(0);
}

static void test_crash_sigkill(void **state)
{
	struct fx *f = *state;
	fx_close_handle(f);
	srand((unsigned)time(NULL));
	raft_index prev = 0;
	for (int round = 0; round < 5; round++) {
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			crash_child(f->conninfo, (unsigned)round);
		bool last_round = round == 4;
		if (!last_round) {
			struct timespec ts = {0, (20 + rand() % 150) * 1000000L};
			nanosleep(&ts, NULL);
			kill(pid, SIGKILL);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (last_round)
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		else if (WIFEXITED(status))
			assert_int_equal(WEXITSTATUS(status), 0); /* finished early */

		fx_open(f);
		struct raft_initial_state s;
		fx_load(f, &s);
		print_message("round %d: applied %llu, last entry %llu\n", round,
		              (unsigned long long)s.applied,
		              (unsigned long long)(s.n_entries ?
		                  s.entries[s.n_entries - 1].index : 0));
		assert_true(s.applied >= prev);
		journal_check(f, s.applied);
		prev = s.applied;
		fx_close_handle(f);
	}
	assert_int_equal(prev, CRASH_TOTAL);
	fx_open(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batch_one_transaction, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_exactly_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kv_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_puts, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_config_membership, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_crash_connection_killed,
		                                journal_setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_sigkill, journal_setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * chaos_check.c -- the end of a chaos run (chaos.h): convergence, the
 * final reads, the checks and the report.
 *
 * What each check proves
 * ----------------------
 * convergence   within --converge seconds after the heal: a leader every
 *               node agrees on (same term), whose last log index is its
 *               commit index, and every node's applied index equal to that
 *               commit; then the state checksum of every node
 *               (pgs_state_checksum: every replicated table -- the LMS
 *               tables, the key/value table, the exactly-once records --
 *               row by row in key order) read at that same applied index
 *               must be equal. Not converging in time is an anomaly too.
 * recovery      after the heal, a register write and a linearizable read
 *               through the cluster must succeed within 30 s (both
 *               recorded in the history like every other operation).
 * registers     linearizable, then stale reads of every key on every node
 *               (its own database) are appended to the history; the whole
 *               history must be linearizable (linearize.h): every
 *               acknowledged write is where a register says it must be,
 *               no read saw a value that was never written, lost or
 *               overwritten before it was read, no write applied twice
 *               (values are written once), and every node ends with the
 *               register's last value. "undecided" (the search ran out of
 *               budget) is reported on its own, not as a pass.
 * LMS writes    on every node's own PostgreSQL database (not through
 *               lmsd), by the unique content each write carried:
 *                 acknowledged submission / question: exactly one row,
 *                   with the id the acknowledgement gave;
 *                 acknowledged grade: the graded submission's grade row
 *                   has that feedback (each submission is graded at most
 *                   once per run, so nothing may replace it);
 *                 unknown outcome: at most one row (grade: absent, or on
 *                   the submission it was for);
 *                 refused: no row;
 *                 a row with content no client sent: an anomaly.
 * clean stop    at the end every node gets SIGTERM and must exit with
 *               status 0 (sanitizer builds: no leak, no error).
 */
#include "chaos.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "linearize.h"
#include "pgtest.h"

#define PROBE_MS 30000

/* ------------------------------------------------------ convergence */

bool chaos_converge(struct chaos *ch, unsigned timeout_ms)
{
	uint64_t deadline = cl_now_ms() + timeout_ms;
	char last[2048] = "";
	for (;;) {
		if (chaos_reap(ch))
			chaos_heal_all(ch, 5000);
		struct chaos_node_view v[CHAOS_NODES + 1];
		unsigned leader = chaos_view(ch, v);
		chaos_view_format(v, last, sizeof last);
		bool ok = leader != 0;
		const struct cl_status *ls = leader ? &v[leader].st : NULL;
		for (unsigned id = 1; ok && id <= CHAOS_NODES; id++)
			ok = v[id].answered && v[id].st.term == ls->term &&
			     v[id].st.leader == leader &&
			     v[id].st.applied == ls->commit;
		ok = ok && ls->last_index == ls->commit;
		if (ok) {
			char sums[CHAOS_NODES + 1][65];
			uint64_t at[CHAOS_NODES + 1];
			bool all = true;
			for (unsigned id = 1; all && id <= CHAOS_NODES; id++)
				all = cl_checksum(ch->cl, id, sums[id], &at[id]) == 0 &&
				      at[id] == ls->commit;
			if (all) {
				bool same = true;
				for (unsigned id = 1; id <= CHAOS_NODES; id++) {
					same &= strcmp(sums[id], sums[1]) == 0;
					snprintf(ch->node_checksums[id], 65, "%s",
					         sums[id]);
					ch->node_applied[id] = at[id];
				}
				ch->final_applied = ls->commit;
				snprintf(ch->final_checksum, sizeof ch->final_checksum,
				         "%s", sums[1]);
				/* every node at the same index: the final reads
				 * and checks can run, whatever the checksums say */
				ch->converged = true;
				if (!same) {
					char d[800];
					size_t off = 0;
					for (unsigned id = 1; id <= CHAOS_NODES; id++)
						off += (size_t)snprintf(d + off, sizeof d - off,
						                        " node %u %.16s...", id,
						                        sums[id]);
					ch->diverged = true;
					chaos_anomaly(ch, "divergence", "state checksums "
					              "differ at applied index %" PRIu64
					              ":%s (summary.json has them whole)",
					              ls->commit, d);
					return false;
				}
				chaos_log(ch, "converged: 5 nodes at applied index %"
				          PRIu64 ", leader %u, checksum %.16s...",
				          ls->commit, leader, sums[1]);
				return true;
			}
		}
		if (cl_now_ms() >= deadline)
			break;
		cl_sleep_ms(100);
	}
	chaos_anomaly(ch, "no-convergence", "the nodes did not converge "
	              "within %u s of the heal: %s", timeout_ms / 1000, last);
	return false;
}

/* ----------------------------------------------------- final reads */

static void append(struct chaos *ch, const struct lms_hist_op *op)
{
	if (lms_hist_writer_append(ch->hist, op) != 0) {
		pthread_mutex_lock(&ch->mu);
		ch->hist_errors++;
		pthread_mutex_unlock(&ch->mu);
	}
}

bool chaos_probe(struct chaos *ch)
{
	struct lmsc *c = cl_client(ch->cl, NULL, 0);
	if (!c)
		return false;
	uint64_t deadline = cl_now_ms() + PROBE_MS;
	bool put_ok = false, get_ok = false;
	unsigned attempt = 0;
	char value[48], got[128], note[256], nb[64];
	while (!put_ok && cl_now_ms() < deadline) {
		struct lms_hist_op op;
		memset(&op, 0, sizeof op);
		snprintf(value, sizeof value, "final-%u", ++attempt);
		op.id = lms_hist_writer_next_id(ch->hist);
		op.client = ch->o.clients;
		op.kind = LMS_HIST_PUT;
		op.key = "k0";
		op.value = value;
		op.start_ns = lms_hist_now_ns();
		int rv = cl_put(c, "k0", value, NULL, NULL);
		op.end_ns = lms_hist_now_ns();
		op.outcome = rv == 0 ? LMS_HIST_OK : LMS_HIST_UNKNOWN;
		snprintf(note, sizeof note, "recovery probe after the heal%s%s",
		         rv ? ": " : "", rv ? chaos_rv_name(rv, nb, sizeof nb)
		                            : "");
		op.note = note;
		append(ch, &op);
		put_ok = rv == 0;
	}
	while (put_ok && !get_ok && cl_now_ms() < deadline) {
		struct lms_hist_op op;
		memset(&op, 0, sizeof op);
		bool found = false;
		op.id = lms_hist_writer_next_id(ch->hist);
		op.client = ch->o.clients;
		op.kind = LMS_HIST_GET;
		op.key = "k0";
		op.start_ns = lms_hist_now_ns();
		got[0] = '\0';
		int rv = cl_get(c, "k0", got, sizeof got, &found);
		op.end_ns = lms_hist_now_ns();
		op.outcome = rv == 0 ? LMS_HIST_OK : LMS_HIST_UNKNOWN;
		op.found = found;
		op.result = rv == 0 && found ? got : NULL;
		op.note = "recovery probe after the heal";
		append(ch, &op);
		get_ok = rv == 0;
	}
	lmsc_free(c);
	if (!put_ok || !get_ok)
		chaos_anomaly(ch, "no-recovery", "after the heal, a register %s "
		              "did not succeed within %u s",
		              put_ok ? "read" : "write", PROBE_MS / 1000);
	else
		chaos_log(ch, "recovery: a write and a read succeeded after the "
		          "heal");
	return put_ok && get_ok;
}

void chaos_final_reads(struct chaos *ch)
{
	struct lmsc *c = cl_client(ch->cl, NULL, 0);
	char got[128], first[CHAOS_MAX_KEYS][128], note[160];
	bool first_found[CHAOS_MAX_KEYS] = {0}, have[CHAOS_MAX_KEYS] = {0};
	for (unsigned k = 0; c && k < ch->o.keys; k++) {
		char key[16];
		snprintf(key, sizeof key, "k%u", k);
		struct lms_hist_op op;
		memset(&op, 0, sizeof op);
		bool found = false;
		op.id = lms_hist_writer_next_id(ch->hist);
		op.client = ch->o.clients;
		op.kind = LMS_HIST_GET;
		op.key = key;
		op.start_ns = lms_hist_now_ns();
		got[0] = '\0';
		int rv = cl_get(c, key, got, sizeof got, &found);
		op.end_ns = lms_hist_now_ns();
		op.outcome = rv == 0 ? LMS_HIST_OK : LMS_HIST_UNKNOWN;
		op.found = found;
		op.result = rv == 0 && found ? got : NULL;
		op.note = "final linearizable read";
		append(ch, &op);
	}
	lmsc_free(c);
	for (unsigned id = 1; id <= CHAOS_NODES; id++) {
		for (unsigned k = 0; k < ch->o.keys; k++) {
			char key[16];
			snprintf(key, sizeof key, "k%u", k);
			bool found = false;
			int rv = -ETIMEDOUT;
			/* a slow machine may miss the direct client's 1.5 s: a
			 * few tries before calling it an anomaly */
			for (int attempt = 0; rv != 0 && attempt < 5; attempt++) {
				struct lms_hist_op op;
				memset(&op, 0, sizeof op);
				uint64_t applied = 0;
				op.id = lms_hist_writer_next_id(ch->hist);
				op.client = ch->o.clients + id;
				op.kind = LMS_HIST_GET;
				op.key = key;
				op.start_ns = lms_hist_now_ns();
				got[0] = '\0';
				found = false;
				rv = cl_get_stale(ch->cl, id, key, got, sizeof got,
				                  &found, &applied);
				op.end_ns = lms_hist_now_ns();
				op.outcome = rv == 0 ? LMS_HIST_OK : LMS_HIST_UNKNOWN;
				op.found = found;
				op.result = rv == 0 && found ? got : NULL;
				snprintf(note, sizeof note, "stale read on node %u after "
				         "convergence (its applied index %" PRIu64 ")",
				         id, applied);
				op.note = note;
				append(ch, &op);
			}
			if (rv != 0) {
				char nb[64];
				chaos_anomaly(ch, "final-read", "node %u did not answer "
				              "a stale read of %s after convergence: %s",
				              id, key, chaos_rv_name(rv, nb, sizeof nb));
				continue;
			}
			if (!have[k]) {
				have[k] = true;
				first_found[k] = found;
				snprintf(first[k], sizeof first[k], "%s", got);
			} else if (found != first_found[k] ||
			           (found && strcmp(got, first[k]) != 0)) {
				chaos_anomaly(ch, "final-read", "after convergence, node "
				              "%u has %s = %s%s%s, another node %s%s%s",
				              id, key, found ? "\"" : "(absent)",
				              found ? got : "", found ? "\"" : "",
				              first_found[k] ? "\"" : "(absent)",
				              first_found[k] ? first[k] : "",
				              first_found[k] ? "\"" : "");
			}
		}
	}
}

/* ------------------------------------------------------- LMS checks */

struct dbrow {
	char *content;
	long count;
	uint64_t id;
};

static int dbrow_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dbrow *)a)->content,
	              ((const struct dbrow *)b)->content);
}

static void dbrows_free(struct dbrow *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].content);
	free(rows);
}

/* Rows (content, count, id) of sql, sorted by content. */
static int dbrows_load(PGconn *c, const char *sql, struct dbrow **out,
                       size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	PGresult *res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	size_t rows = (size_t)PQntuples(res);
	struct dbrow *r = calloc(rows ? rows : 1, sizeof *r);
	if (!r) {
		PQclear(res);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < rows; i++) {
		r[i].content = strdup(PQgetvalue(res, (int)i, 0));
		r[i].count = strtol(PQgetvalue(res, (int)i, 1), NULL, 10);
		r[i].id = strtoull(PQgetvalue(res, (int)i, 2), NULL, 10);
	}
	PQclear(res);
	qsort(r, rows, sizeof *r, dbrow_cmp);
	*out = r;
	*n = rows;
	return 0;
}

static const struct dbrow *dbrow_find(const struct dbrow *rows, size_t n,
                                      const char *content)
{
	struct dbrow key = {(char *)content, 0, 0};
	return bsearch(&key, rows, n, sizeof *rows, dbrow_cmp);
}

static int rec_cmp(const void *a, const void *b)
{
	const struct chaos_lms_rec *x = *(const struct chaos_lms_rec *const *)a;
	const struct chaos_lms_rec *y = *(const struct chaos_lms_rec *const *)b;
	return strcmp(x->content, y->content);
}

static bool rec_known(struct chaos_lms_rec **idx, size_t n,
                      const char *content)
{
	struct chaos_lms_rec key;
	memset(&key, 0, sizeof key);
	snprintf(key.content, sizeof key.content, "%s", content);
	const struct chaos_lms_rec *kp = &key;
	return bsearch(&kp, idx, n, sizeof *idx, rec_cmp) != NULL;
}

static const char *const what_names[3] = {"submission", "question",
                                          "grade"};

/* Checks the records of one kind against the rows of one node. */
static void check_kind(struct chaos *ch, unsigned node,
                       enum chaos_lms_kind kind, const struct dbrow *rows,
                       size_t n_rows)
{
	const char *what = what_names[kind];
	struct chaos_lms_rec **idx = calloc(ch->n_recs + 1, sizeof *idx);
	size_t n_idx = 0;
	if (!idx)
		return;
	for (size_t i = 0; i < ch->n_recs; i++) {
		const struct chaos_lms_rec *r = &ch->recs[i];
		if (r->kind != kind)
			continue;
		idx[n_idx++] = &ch->recs[i];
		const struct dbrow *row = dbrow_find(rows, n_rows, r->content);
		ch->lms_checked[kind]++;
		switch (r->outcome) {
		case CHAOS_OK:
			if (!row)
				chaos_anomaly(ch, "lost-write", "node %u: acknowledged "
				              "%s \"%s\" (id %" PRIu64 ", answered at +%"
				              PRIu64 " ms) is missing", node, what,
				              r->content, r->id, r->end_ms);
			else if (kind != CHAOS_GRADE && row->count != 1)
				chaos_anomaly(ch, "duplicate", "node %u: acknowledged "
				              "%s \"%s\" is there %ld times", node, what,
				              r->content, row->count);
			else if (row->id != r->id)
				chaos_anomaly(ch, "wrong-row", "node %u: acknowledged "
				              "%s \"%s\" was answered with id %" PRIu64
				              ", the row says %" PRIu64, node, what,
				              r->content, r->id, row->id);
			break;
		case CHAOS_UNKNOWN:
			if (row && kind != CHAOS_GRADE && row->count > 1)
				chaos_anomaly(ch, "duplicate", "node %u: %s \"%s\" "
				              "(outcome unknown) is there %ld times",
				              node, what, r->content, row->count);
			else if (row && kind == CHAOS_GRADE && row->id != r->id)
				chaos_anomaly(ch, "wrong-row", "node %u: grade \"%s\" "
				              "was for submission %" PRIu64 ", found on "
				              "%" PRIu64, node, r->content, r->id,
				              row->id);
			break;
		default:
			if (row)
				chaos_anomaly(ch, "refused-applied", "node %u: %s "
				              "\"%s\" was refused (%s) but is there",
				              node, what, r->content,
				              lmsc_status_name(r->status));
			break;
		}
	}
	qsort(idx, n_idx, sizeof *idx, rec_cmp);
	for (size_t i = 0; i < n_rows; i++)
		if (!rec_known(idx, n_idx, rows[i].content))
			chaos_anomaly(ch, "phantom", "node %u: %s \"%s\" (id %"
			              PRIu64 ") exists, but no client ever sent it",
			              node, what, rows[i].content, rows[i].id);
	free(idx);
}

void chaos_check_lms(struct chaos *ch)
{
	static const char *const sql[3] = {
		"SELECT body, count(*), min(id) FROM lms.submission "
		"WHERE body LIKE 'chaos-sub-%' GROUP BY body",
		"SELECT body, count(*), min(id) FROM lms.query "
		"WHERE body LIKE 'chaos-q-%' GROUP BY body",
		"SELECT feedback, count(*), min(submission_id) FROM lms.grade "
		"WHERE feedback LIKE 'chaos-g-%' GROUP BY feedback",
	};
	/* the clients are joined: the records are ours alone */
	for (unsigned id = 1; id <= CHAOS_NODES; id++) {
		char conninfo[512], err[512];
		pgtest_conninfo(ch->cl->nodes[id].db, conninfo, sizeof conninfo);
		PGconn *c = PQconnectdb(conninfo);
		if (PQstatus(c) != CONNECTION_OK) {
			chaos_anomaly(ch, "runner", "could not connect to node %u's "
			              "database %s: %s", id, ch->cl->nodes[id].db,
			              PQerrorMessage(c));
			PQfinish(c);
			continue;
		}
		for (int kind = 0; kind < 3; kind++) {
			struct dbrow *rows;
			size_t n;
			if (dbrows_load(c, sql[kind], &rows, &n, err,
			                sizeof err) != 0) {
				chaos_anomaly(ch, "runner", "node %u: could not read "
				              "the %ss: %s", id, what_names[kind], err);
				continue;
			}
			check_kind(ch, id, (enum chaos_lms_kind)kind, rows, n);
			dbrows_free(rows, n);
		}
		PQfinish(c);
		ch->lms_nodes_checked++;
	}
	chaos_log(ch, "LMS writes checked on %u nodes' databases: %" PRIu64
	          " submissions, %" PRIu64 " questions, %" PRIu64 " grades "
	          "(each node)", ch->lms_nodes_checked,
	          ch->lms_nodes_checked ? ch->lms_checked[0] /
	                                  ch->lms_nodes_checked : 0,
	          ch->lms_nodes_checked ? ch->lms_checked[1] /
	                                  ch->lms_nodes_checked : 0,
	          ch->lms_nodes_checked ? ch->lms_checked[2] /
	                                  ch->lms_nodes_checked : 0);
}

/* --------------------------------------------------------- sabotage */

/* Runs sql on node id's database behind lmsd's back. */
static void sabotage_sql(struct chaos *ch, unsigned id, const char *sql)
{
	char conninfo[512];
	pgtest_conninfo(ch->cl->nodes[id].db, conninfo, sizeof conninfo);
	PGconn *c = PQconnectdb(conninfo);
	PGresult *res = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
	chaos_log(ch, "SABOTAGE (a self-test of the checks) on node %u: %s -> "
	          "%s %s", id, sql,
	          res ? PQresStatus(PQresultStatus(res)) : "no connection",
	          res ? PQcmdTuples(res) : "");
	PQclear(res);
	PQfinish(c);
}

void chaos_sabotage(struct chaos *ch)
{
	char sql[512];
	const char *what = ch->o.sabotage;
	if (!what || !*what)
		return;
	uint64_t sub = 0, question = 0;
	for (size_t i = 0; i < ch->n_recs; i++) {
		const struct chaos_lms_rec *r = &ch->recs[i];
		if (r->outcome != CHAOS_OK)
			continue;
		if (r->kind == CHAOS_SUBMIT && !sub)
			sub = r->id;
		if (r->kind == CHAOS_QUESTION && !question)
			question = r->id;
	}
	if (strcmp(what, "lost-write") == 0 && sub) {
		snprintf(sql, sizeof sql, "DELETE FROM lms.grade WHERE "
		         "submission_id = %" PRIu64 "; DELETE FROM lms.submission "
		         "WHERE id = %" PRIu64, sub, sub);
		sabotage_sql(ch, 3, sql);
	} else if (strcmp(what, "dup-write") == 0 && question) {
		snprintf(sql, sizeof sql, "INSERT INTO lms.query SELECT id + "
		         "1000000000, course_id, student_id, addressed_to, body, "
		         "status, asked_at, claimed_by, claim_expires_at, "
		         "answered_at FROM lms.query WHERE id = %" PRIu64,
		         question);
		sabotage_sql(ch, 2, sql);
	} else if (strcmp(what, "kv") == 0) {
		sabotage_sql(ch, 4, "UPDATE raft_state.kv SET value = "
		             "'sabotage'::bytea WHERE key = 'k1'");
	} else {
		chaos_log(ch, "SABOTAGE %s: nothing to sabotage", what);
	}
}

/* ---------------------------------------------------------- history */

void chaos_check_history(struct chaos *ch)
{
	struct lms_history h;
	struct lms_lin_result res;
	char err[512];
	lms_history_init(&h);
	memset(&res, 0, sizeof res);
	int rv = lms_history_load(ch->hist_path, &h, err, sizeof err);
	if (rv != 0) {
		chaos_anomaly(ch, "runner", "could not load the history: %s", err);
		return;
	}
	uint64_t t0 = cl_now_ms();
	rv = lms_lin_check(&h, NULL, &res);
	if (rv != 0) {
		chaos_anomaly(ch, "runner", "the linearizability check failed: %s",
		              strerror(-rv));
		lms_history_free(&h);
		return;
	}
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/linearizability.txt", ch->run_dir);
	FILE *f = fopen(path, "w");
	if (f) {
		lms_lin_result_print(f, &h, &res);
		fclose(f);
	}
	lms_lin_result_print(stdout, &h, &res);
	fflush(stdout);
	ch->lin_verdict = (int)res.verdict;
	ch->lin_checked = res.n_checked;
	ch->lin_unknown_writes = res.n_unknown_writes;
	ch->lin_keys = res.n_keys;
	ch->lin_steps = res.steps;
	ch->lin_json = lms_lin_result_json(&h, &res);
	for (size_t i = 0; i < res.n_keys; i++) {
		const struct lms_lin_key *k = &res.keys[i];
		if (k->verdict == LMS_LIN_ANOMALY)
			chaos_anomaly(ch, "linearizability", "register %s is NOT "
			              "linearizable (%zu operations, %zu unknown); "
			              "the checker says:\n%.900s", k->key, k->n_ops,
			              k->n_unknown,
			              k->explanation ? k->explanation : "");
		else if (k->verdict == LMS_LIN_UNDECIDED)
			chaos_log(ch, "linearizability UNDECIDED for register %s "
			          "after %" PRIu64 " steps (not a pass)", k->key,
			          k->steps);
	}
	chaos_log(ch, "linearizability: %s (%zu operations checked, %zu "
	          "unknown writes, %" PRIu64 " steps, %" PRIu64 " ms)",
	          lms_lin_verdict_name(res.verdict), res.n_checked,
	          res.n_unknown_writes, res.steps, cl_now_ms() - t0);
	lms_lin_result_free(&res);
	lms_history_free(&h);
}

/* ----------------------------------------------------------- report */

static const char *const outcome_names[CHAOS_N_OUTCOMES] = {
	"ok", "fail", "unknown",
};
static const char *const lms_names[CHAOS_N_LMS_KINDS] = {
	"submit", "question", "grade", "read",
};

static json_t *outcomes_json(const uint64_t *v)
{
	json_t *o = json_object();
	for (int i = 0; i < CHAOS_N_OUTCOMES; i++)
		json_object_set_new(o, outcome_names[i],
		                    json_integer((json_int_t)v[i]));
	return o;
}

static void write_summary_json(struct chaos *ch, const char *verdict)
{
	char nem[128];
	chaos_nemesis_format(ch->nemeses, nem, sizeof nem);
	json_t *s = json_object();
	json_object_set_new(s, "seed", json_integer((json_int_t)ch->o.seed));
	json_object_set_new(s, "duration_s", json_integer(ch->o.duration_s));
	json_object_set_new(s, "nemeses", json_string(nem));
	json_object_set_new(s, "clients", json_integer(ch->o.clients));
	json_object_set_new(s, "keys", json_integer(ch->o.keys));
	json_object_set_new(s, "lms_clients", json_integer(ch->o.lms_clients));
	json_object_set_new(s, "verdict", json_string(verdict));
	json_object_set_new(s, "exit_status", json_integer(ch->exit_status));
	json_object_set_new(s, "phase", json_string(ch->phase));
	json_object_set_new(s, "run_dir", json_string(ch->run_dir));
	if (ch->cl && ch->cl->dir[0])
		json_object_set_new(s, "cluster_dir", json_string(ch->cl->dir));

	json_t *ops = json_object(), *kv = json_object(), *lms = json_object();
	static const char *const kv_names[3] = {"put", "get", "cas"};
	for (int i = 0; i < 3; i++)
		json_object_set_new(kv, kv_names[i], outcomes_json(ch->kv_ops[i]));
	json_object_set_new(kv, "cas_swapped",
	                    json_integer((json_int_t)ch->kv_cas_swapped));
	for (int i = 0; i < CHAOS_N_LMS_KINDS; i++)
		json_object_set_new(lms, lms_names[i],
		                    outcomes_json(ch->lms_ops[i]));
	json_object_set_new(lms, "grade_refused_not_latest",
	                    json_integer((json_int_t)ch->grade_not_latest));
	json_object_set_new(ops, "kv", kv);
	json_object_set_new(ops, "lms", lms);
	json_object_set_new(s, "operations", ops);

	json_t *faults = json_object();
	json_object_set_new(faults, "total", json_integer(ch->n_faults));
	for (unsigned k = 0; k < CHAOS_N_NEMESES; k++) {
		json_t *fk = json_object();
		json_object_set_new(fk, "total", json_integer(ch->fault_kinds[k]));
		for (unsigned sub = 0; chaos_subkind_name(k, sub); sub++)
			json_object_set_new(fk, chaos_subkind_name(k, sub),
			                    json_integer(ch->fault_subkinds[k][sub]));
		json_object_set_new(faults, chaos_nemesis_name(k), fk);
	}
	json_object_set_new(s, "faults", faults);

	json_t *conv = json_object();
	json_object_set_new(conv, "converged", json_boolean(ch->converged));
	json_object_set_new(conv, "checksums_equal",
	                    json_boolean(ch->converged && !ch->diverged));
	json_object_set_new(conv, "applied",
	                    json_integer((json_int_t)ch->final_applied));
	json_t *nodes = json_array();
	for (unsigned id = 1; id <= CHAOS_NODES; id++) {
		json_t *n = json_object();
		json_object_set_new(n, "node", json_integer(id));
		json_object_set_new(n, "applied",
		                    json_integer((json_int_t)ch->node_applied[id]));
		json_object_set_new(n, "checksum",
		                    json_string(ch->node_checksums[id]));
		json_array_append_new(nodes, n);
	}
	json_object_set_new(conv, "nodes", nodes);
	json_object_set_new(s, "convergence", conv);

	json_t *lmsc = json_object();
	json_object_set_new(lmsc, "nodes_checked",
	                    json_integer(ch->lms_nodes_checked));
	json_object_set_new(lmsc, "submissions",
	                    json_integer((json_int_t)ch->lms_checked[0]));
	json_object_set_new(lmsc, "questions",
	                    json_integer((json_int_t)ch->lms_checked[1]));
	json_object_set_new(lmsc, "grades",
	                    json_integer((json_int_t)ch->lms_checked[2]));
	json_object_set_new(s, "lms_checked_rows", lmsc);

	if (ch->lin_json)
		json_object_set(s, "linearizability", (json_t *)ch->lin_json);
	else
		json_object_set_new(s, "linearizability", json_null());

	json_t *an = json_array();
	pthread_mutex_lock(&ch->mu);
	for (size_t i = 0; i < ch->n_anoms && i < 1000; i++)
		json_array_append_new(an, json_pack("{s:s, s:s}", "kind",
		                                    ch->anoms[i].kind, "detail",
		                                    ch->anoms[i].detail));
	size_t n_anoms = ch->n_anoms;
	pthread_mutex_unlock(&ch->mu);
	json_object_set_new(s, "anomaly_count", json_integer((json_int_t)n_anoms));
	json_object_set_new(s, "anomalies", an);

	json_t *t = json_object();
	json_object_set_new(t, "setup_s", json_real(ch->t_setup_s));
	json_object_set_new(t, "load_s", json_real(ch->t_load_s));
	json_object_set_new(t, "heal_s", json_real(ch->t_heal_s));
	json_object_set_new(t, "check_s", json_real(ch->t_check_s));
	json_object_set_new(s, "times", t);

	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/summary.json", ch->run_dir);
	if (json_dump_file(s, path, JSON_INDENT(2)) != 0)
		fprintf(stderr, "lms-chaos: could not write \"%s\"\n", path);
	json_decref(s);
}

void chaos_report(struct chaos *ch)
{
	size_t n_anoms = chaos_anomaly_count(ch);
	bool undecided = ch->lin_verdict == LMS_LIN_UNDECIDED;
	const char *verdict;
	if (!ch->finished) {
		ch->exit_status = CHAOS_EXIT_RUNNER;
		verdict = "runner-error";
	} else if (n_anoms) {
		ch->exit_status = CHAOS_EXIT_ANOMALY;
		verdict = "anomaly";
	} else if (undecided || ch->lin_verdict < 0) {
		ch->exit_status = CHAOS_EXIT_UNDECIDED;
		verdict = "undecided";
	} else {
		ch->exit_status = CHAOS_EXIT_OK;
		verdict = "ok";
	}
	char nem[128];
	chaos_nemesis_format(ch->nemeses, nem, sizeof nem);
	printf("\n==== lms-chaos summary: seed %" PRIu64 ", %u s, nemeses %s, "
	       "%u register clients on %u keys, %u LMS clients\n",
	       ch->o.seed, ch->o.duration_s, nem, ch->o.clients, ch->o.keys,
	       ch->o.lms_clients);
	printf("operations               ok     fail  unknown\n");
	static const char *const kv_names[3] = {"put", "get", "cas"};
	for (int i = 0; i < 3; i++)
		printf("  register %-8s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "%s\n",
		       kv_names[i], ch->kv_ops[i][0], ch->kv_ops[i][1],
		       ch->kv_ops[i][2], i == 2 ? "" : "");
	printf("    (cas swapped: %" PRIu64 ")\n", ch->kv_cas_swapped);
	for (int i = 0; i < CHAOS_N_LMS_KINDS; i++)
		printf("  lms %-13s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
		       lms_names[i], ch->lms_ops[i][0], ch->lms_ops[i][1],
		       ch->lms_ops[i][2]);
	printf("    (grades refused as not the latest attempt: %" PRIu64 ")\n",
	       ch->grade_not_latest);
	printf("faults injected: %u", ch->n_faults);
	for (unsigned k = 0; k < CHAOS_N_NEMESES; k++) {
		if (!ch->fault_kinds[k])
			continue;
		printf("; %s %u (", chaos_nemesis_name(k), ch->fault_kinds[k]);
		bool first = true;
		for (unsigned sub = 0; chaos_subkind_name(k, sub); sub++) {
			if (!ch->fault_subkinds[k][sub])
				continue;
			printf("%s%s %u", first ? "" : ", ",
			       chaos_subkind_name(k, sub), ch->fault_subkinds[k][sub]);
			first = false;
		}
		printf(")");
	}
	printf("\n");
	if (ch->converged && ch->diverged)
		printf("convergence: 5 nodes at applied index %" PRIu64
		       ", checksums DIFFER\n", ch->final_applied);
	else if (ch->converged)
		printf("convergence: 5 nodes at applied index %" PRIu64
		       ", equal checksums %.16s...\n", ch->final_applied,
		       ch->final_checksum);
	else
		printf("convergence: NOT reached\n");
	if (ch->lin_verdict >= 0)
		printf("linearizability: %s (%zu keys, %zu operations checked, %zu "
		       "unknown writes, %" PRIu64 " steps)\n",
		       lms_lin_verdict_name((enum lms_lin_verdict)ch->lin_verdict),
		       ch->lin_keys, ch->lin_checked, ch->lin_unknown_writes,
		       ch->lin_steps);
	else
		printf("linearizability: not checked\n");
	printf("LMS writes on every node: %u nodes' databases checked\n",
	       ch->lms_nodes_checked);
	printf("times: setup %.1f s, load %.1f s, heal+converge %.1f s, checks "
	       "%.1f s\n", ch->t_setup_s, ch->t_load_s, ch->t_heal_s,
	       ch->t_check_s);
	if (!ch->finished)
		printf("RUNNER ERROR in phase \"%s\" (see the message above)\n",
		       ch->phase);
	printf("anomalies found = %zu\n", n_anoms);
	pthread_mutex_lock(&ch->mu);
	for (size_t i = 0; i < ch->n_anoms && i < 20; i++)
		printf("  %zu. [%s] %s\n", i + 1, ch->anoms[i].kind,
		       ch->anoms[i].detail);
	if (ch->n_anoms > 20)
		printf("  ... %zu more in summary.json\n", ch->n_anoms - 20);
	pthread_mutex_unlock(&ch->mu);
	if (undecided)
		printf("linearizability UNDECIDED: the checker ran out of budget; "
		       "this run proves nothing about the registers\n");
	fflush(stdout);
	write_summary_json(ch, verdict);
}

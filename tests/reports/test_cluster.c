/*
 * test_cluster.c -- reports_cluster: every ready query of sql/reports/ on
 * every node of a real five-node cluster (issue 6: "Each report runs on
 * every node and returns the same rows once they are in sync").
 *
 * The other reports tests load fixture.sql into one database; this one
 * writes its data through the cluster, as users would, and reads it back
 * from the five node databases:
 *
 *   1. five lmsd nodes (tests/cluster/harness.h), the schema installed
 *      through the log by the built lms-migrate (every migration under
 *      LMS_SOURCE_DIR/migrations), and the role lms_report on the test's
 *      PostgreSQL server with the attributes ops/cluster's
 *      ensure_report_role gives it, plus CONNECT on each node database.
 *      Roles belong to the server, not to a test: it is created when
 *      missing, set again when present, and never dropped;
 *   2. a course written through the five nodes in turn (every request to
 *      the next node; a follower relays writes to the leader): students,
 *      an assignment past its due time (submitted late, missing, and an
 *      extension) and one still open, grades, a question answered by the
 *      instructor, one addressed to the tutor and answered by the tutor
 *      account citing an uploaded TXT material, one addressed to the tutor
 *      but answered by the instructor, one unanswered;
 *   3. cl_assert_converged: every node at the same applied index with the
 *      same state checksum;
 *   4. each sql/reports/NAME.sql through psql (a subprocess, -X -A, -v
 *      ON_ERROR_STOP=1, -v course=... when the file reads one) as
 *      lms_report on each node: psql exits 0; the freshness part (the
 *      first section: title, header, the one row, footer) names that
 *      node and shows the converged applied index and the same latest
 *      change on all five; everything after it is byte-identical on all
 *      five and holds the rows the data implies;
 *   5. lms_report reads a view but not lms.app_user (permission denied),
 *      and its sessions are read-only.
 *
 * Output is read without -t: the freshness header names its columns, so
 * the applied index is found by name, not by position. What a report
 * measures against the clock of the node it runs on (overdue_by and
 * longest_waiting, cut to the minute) can cross a minute between two
 * nodes' runs: README says such values may differ, so a file whose
 * outputs differ is run once more on all five before the difference
 * fails the test. A real difference stays.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dirent.h>
#include <cmocka.h>
#include <libpq-fe.h>

#include "isotime.h"
#include "pgtest.h"
#include "svc_util.h"
#include "util.h"

#define COURSE "DS301"
#define N_NODES 5
#define OUT_CAP (1 << 18)
#define PSQL_TIMEOUT_MS 30000
#define MAX_FILES 32

static const char *source_dir(void)
{
	const char *env = getenv("LMS_SOURCE_DIR");
	return env && *env ? env : LMS_SOURCE_DIR;
}

/* ================================================== the role lms_report */

/* As ops/cluster's ensure_report_role, on the one server of the test.
 * The EXCEPTION clause: another process may create the role between the
 * check and the CREATE (roles are server-wide). */
static void ensure_report_role(struct cluster *cl)
{
	char ci[512];
	pgtest_conninfo(cl->nodes[1].db, ci, sizeof ci);
	PGconn *c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("could not connect to \"%s\": %s", cl->nodes[1].db,
		         PQerrorMessage(c));
	pgtest_exec(c,
		"DO $$\n"
		"BEGIN\n"
		"  IF NOT EXISTS (SELECT FROM pg_roles "
		"                 WHERE rolname = 'lms_report') THEN\n"
		"    CREATE ROLE lms_report LOGIN;\n"
		"  END IF;\n"
		"EXCEPTION WHEN duplicate_object OR unique_violation THEN\n"
		"  NULL;\n"
		"END\n"
		"$$;\n"
		"ALTER ROLE lms_report LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
		"  NOINHERIT NOREPLICATION NOBYPASSRLS;\n"
		"ALTER ROLE lms_report SET default_transaction_read_only = on;\n");
	for (unsigned id = 1; id <= N_NODES; id++) {
		char sql[160];
		snprintf(sql, sizeof sql,
		         "GRANT CONNECT ON DATABASE \"%s\" TO lms_report",
		         cl->nodes[id].db);
		pgtest_exec(c, sql);
	}
	PQfinish(c);
}

static PGconn *connect_report(struct cluster *cl, unsigned id)
{
	const char *keys[] = {"host", "port", "user", "dbname", NULL};
	const char *vals[] = {getenv("LMS_TEST_PGHOST"),
	                      getenv("LMS_TEST_PGPORT"), "lms_report",
	                      cl->nodes[id].db, NULL};
	if (!vals[0] || !vals[1])
		fail_msg("LMS_TEST_PGHOST/PORT not set: run through ops/test");
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("could not connect to \"%s\" as lms_report: %s",
		         cl->nodes[id].db, PQerrorMessage(c));
	return c;
}

/* Runs sql as lms_report; returns the SQLSTATE of its error ("" when it
 * succeeded), into state (6 bytes). */
static void try_sql(PGconn *c, const char *sql, char state[6])
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		state[0] = '\0';
	} else {
		const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		snprintf(state, 6, "%s", s ? s : "?????");
	}
	PQclear(res);
}

/* Step 5 on node id. */
static void check_report_access(struct cluster *cl, unsigned id)
{
	PGconn *c = connect_report(cl, id);
	char state[6];
	try_sql(c, "SELECT count(*) FROM lms.report_gradebook", state);
	if (state[0])
		fail_msg("node %u: lms_report cannot read lms.report_gradebook "
		         "(SQLSTATE %s): %s", id, state, PQerrorMessage(c));
	try_sql(c, "SELECT count(*) FROM lms.app_user", state);
	if (strcmp(state, "42501") != 0)
		fail_msg("node %u: lms_report reading lms.app_user: expected "
		         "permission denied (42501), got %s", id,
		         state[0] ? state : "rows");
	char *ro = pgtest_value(c, "SHOW default_transaction_read_only");
	if (strcmp(ro, "on") != 0)
		fail_msg("node %u: lms_report's sessions are not read-only "
		         "(default_transaction_read_only = %s)", id, ro);
	free(ro);
	PQfinish(c);
	print_message("[reports] node %u: lms_report reads the views, not "
	              "lms.app_user (permission denied)\n", id);
}

/* ========================================================= the data */

struct rc {
	struct cluster *cl;
	struct lmsc *c[N_NODES + 1]; /* a client of node id alone; [0] unused */
	unsigned next;
	unsigned calls[N_NODES + 1]; /* requests sent through each node */
};

/* The client of the next node in turn. */
static struct lmsc *via(struct rc *t)
{
	t->next = t->next % N_NODES + 1;
	t->calls[t->next]++;
	return t->c[t->next];
}

/* ISO time of the wall clock + offset_s, cut to the whole minute (a due
 * time on the minute: overdue_by, cut to the minute, then turns with the
 * wall clock's minute). */
static char *iso_minute(int64_t offset_s, char *buf)
{
	int64_t ms = lms_wall_ms() + offset_s * 1000;
	ms -= ms % 60000;
	return lms_iso_format(ms, buf, LMS_ISO_MAX);
}

static uint64_t past_assignment(struct rc *t, const char *token,
                                const char *title)
{
	char opens[LMS_ISO_MAX], due[LMS_ISO_MAX];
	Lms__Rpc__AssignmentCreateRequest a =
		LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT;
	a.course = COURSE;
	a.title = (char *)title;
	a.description = "Two pages on leader election.";
	a.opens_at = iso_minute(-10 * 86400, opens);
	a.due_at = iso_minute(-2 * 86400, due);
	a.max_points = 50;
	a.late_penalty_pct = 10;
	a.penalty_floor_pct = 50;
	Lms__Rpc__Response *r = SV_CALL(via(t), token, assignment_create,
	                                ASSIGNMENT_CREATE, &a);
	sv_expect(r, LMS__RPC__STATUS__OK, "create assignment %s", title);
	uint64_t id = r->assignment_create->assignment->id;
	lmsc_response_free(r);
	return id;
}

static void extension(struct rc *t, const char *token, uint64_t assignment,
                      const char *user, int64_t due_in_s)
{
	char due[LMS_ISO_MAX];
	Lms__Rpc__ExtensionRequest e = LMS__RPC__EXTENSION_REQUEST__INIT;
	e.assignment_id = assignment;
	e.username = (char *)user;
	e.due_at = iso_minute(due_in_s, due);
	Lms__Rpc__Response *r = SV_CALL(via(t), token, extension, EXTENSION,
	                                &e);
	sv_expect(r, LMS__RPC__STATUS__OK, "extension for %s", user);
	lmsc_response_free(r);
}

/* An answer to question id citing material (0: none), chunk 0. */
static void answer(struct rc *t, const char *token, uint64_t id,
                   const char *body, uint64_t material, const char *worker)
{
	Lms__Rpc__Source s = LMS__RPC__SOURCE__INIT;
	Lms__Rpc__Source *sp = &s;
	s.label = "S1";
	s.material_id = material;
	s.chunk = 0;
	s.title = "raft-notes";
	Lms__Rpc__QueryAnswerRequest a = LMS__RPC__QUERY_ANSWER_REQUEST__INIT;
	a.id = id;
	a.body = (char *)body;
	a.worker = (char *)(worker ? worker : "");
	if (material) {
		a.n_sources = 1;
		a.sources = &sp;
	}
	Lms__Rpc__Response *r = SV_CALL(via(t), token, query_answer,
	                                QUERY_ANSWER, &a);
	sv_expect(r, LMS__RPC__STATUS__OK, "answer question %" PRIu64, id);
	lmsc_response_free(r);
}

static const char *const students[] = {"alice", "bob", "carol", "dave",
                                       "erin"};

/* Step 2. Every call goes to the next node in turn. */
static void write_data(struct rc *t)
{
	char adm[65], ins[65], tut[65], st[5][65];
	sv_bootstrap(via(t), "root", "root-password");
	sv_login(via(t), "root", "root-password", adm);
	sv_user(via(t), adm, "prof", "prof-password",
	        LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	sv_user(via(t), adm, "tutor", "tutor-password",
	        LMS__RPC__ROLE__ROLE_TUTOR);
	for (int i = 0; i < 5; i++) {
		char pw[64];
		snprintf(pw, sizeof pw, "%s-password", students[i]);
		sv_user(via(t), adm, students[i], pw,
		        LMS__RPC__ROLE__ROLE_STUDENT);
		sv_login(via(t), students[i], pw, st[i]);
	}
	sv_login(via(t), "prof", "prof-password", ins);
	sv_login(via(t), "tutor", "tutor-password", tut);

	sv_course(via(t), ins, COURSE, "Distributed systems");
	for (int i = 0; i < 5; i++)
		sv_enroll(via(t), ins, COURSE, students[i],
		          LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	uint64_t mat = sv_material_txt(via(t), ins, COURSE, "raft-notes",
		"Raft elects a leader with randomized election timeouts. A "
		"candidate that wins the votes of a majority becomes leader "
		"for its term.\n\nThe leader replicates its log to the "
		"followers; an entry is committed once a majority stores "
		"it.\n");

	/* a1: due two days ago, 50 points, 10 % a day off (floor 50 %) */
	uint64_t a1 = past_assignment(t, ins, "Election essay");
	uint64_t a2 = sv_assignment(via(t), ins, COURSE, "Replication lab");
	extension(t, ins, a1, "bob", 3 * 86400);
	extension(t, ins, a1, "erin", 5 * 86400);

	/* a1: alice and carol late, bob on time thanks to his extension,
	 * dave missing, erin not yet due (extension) */
	uint64_t s_alice1 = sv_submit(via(t), st[0], a1, "alice's essay", NULL);
	uint64_t s_bob1 = sv_submit(via(t), st[1], a1, "bob's essay", NULL);
	uint64_t s_carol1 = sv_submit(via(t), st[2], a1, "carol's essay", NULL);
	/* a2: four of five, dave twice */
	uint64_t s_alice2 = sv_submit(via(t), st[0], a2, "alice's lab", NULL);
	uint64_t s_bob2 = sv_submit(via(t), st[1], a2, "bob's lab", NULL);
	uint64_t s_carol2 = sv_submit(via(t), st[2], a2, "carol's lab", NULL);
	sv_submit(via(t), st[3], a2, "dave's lab, draft", NULL);
	uint32_t attempt = 0;
	uint64_t s_dave2 = sv_submit(via(t), st[3], a2, "dave's lab", &attempt);
	assert_int_equal(attempt, 2);

	sv_grade(via(t), ins, s_alice1, 45, "clear, but late");
	sv_grade(via(t), ins, s_bob1, 41.5, "good");
	sv_grade(via(t), ins, s_carol1, 30, "thin");
	sv_grade(via(t), ins, s_alice2, 88, "well done");
	sv_grade(via(t), ins, s_bob2, 72.5, "mostly right");
	sv_grade(via(t), ins, s_carol2, 61, "see the comments");
	sv_grade(via(t), ins, s_dave2, 95, "excellent");

	/* questions: to the instructor, answered by prof (citing the
	 * material himself); to the tutor, claimed and answered by the tutor
	 * account with a source; to the tutor, answered by prof before the
	 * tutor; to the instructor, unanswered */
	uint64_t q1 = sv_query_post(via(t), st[0], COURSE,
	                            "May I submit the essay as a PDF?",
	                            LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR);
	answer(t, ins, q1, "Yes, or as text; see [S1] for the topic.", mat,
	       NULL);
	uint64_t q2 = sv_query_post(via(t), st[1], COURSE,
	                            "How does Raft pick a leader?",
	                            LMS__RPC__QUERY_TARGET__TO_TUTOR);
	Lms__Rpc__QueryClaimRequest qc = LMS__RPC__QUERY_CLAIM_REQUEST__INIT;
	qc.course = COURSE;
	qc.worker = "tutord-test";
	qc.lease_ms = 60000;
	Lms__Rpc__Response *r = SV_CALL(via(t), tut, query_claim, QUERY_CLAIM,
	                                &qc);
	sv_expect(r, LMS__RPC__STATUS__OK, "the tutor claims a question");
	if (!r->query_claim->found || r->query_claim->query->id != q2)
		fail_msg("the tutor's claim did not find question %" PRIu64, q2);
	lmsc_response_free(r);
	answer(t, tut, q2, "By randomized election timeouts and majority "
	       "votes [S1].", mat, "tutord-test");
	uint64_t q3 = sv_query_post(via(t), st[2], COURSE,
	                            "Is the lab graded on style?",
	                            LMS__RPC__QUERY_TARGET__TO_TUTOR);
	answer(t, ins, q3, "No, on correctness only.", 0, NULL);
	sv_query_post(via(t), st[3], COURSE, "Can I have an extension?",
	              LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR);

	print_message("[reports] data written; requests per node:");
	for (unsigned id = 1; id <= N_NODES; id++)
		print_message(" %u:%u", id, t->calls[id]);
	print_message("\n");
}

/* ====================================================== the reports */

/* The path of psql on PATH (execv needs one). */
static void find_psql(char *buf, size_t cap)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, cap, "%.*s/psql", (int)n, path);
		if (n && access(buf, X_OK) == 0)
			return;
		path += n + (path[n] == ':');
	}
	fail_msg("psql not found on PATH");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every sql/reports/NAME.sql, sorted; returns how many (names malloc'd). */
static size_t list_reports(char **files, size_t cap)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/sql/reports", source_dir());
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("could not open \"%s\": %s", dir, strerror(errno));
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0) {
			if (n == cap)
				fail_msg("more than %zu files in \"%s\"", cap, dir);
			files[n] = strdup(e->d_name);
			assert_non_null(files[n]);
			n++;
		}
	}
	closedir(d);
	qsort(files, n, sizeof *files, cmp_str);
	return n;
}

/* Whether the file reads the psql variable course. */
static bool takes_course(const char *file)
{
	char rel[256];
	snprintf(rel, sizeof rel, "sql/reports/%s", file);
	char *text = pgtest_read_source(rel);
	bool yes = strstr(text, ":{?course}") != NULL;
	free(text);
	return yes;
}

/* One file's output on one node, cut into its parts. */
struct run {
	char *out;            /* malloc'd, whole output */
	int status;
	char node[32], applied[32], latest[64];
	const char *answer;   /* into out: everything after the freshness row */
};

/* Field k (0-based) of a '|'-separated line into buf. */
static void field(const char *line, size_t len, int k, char *buf, size_t cap)
{
	const char *p = line, *end = line + len;
	for (int i = 0; i < k && p < end; i++) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		p = bar ? bar + 1 : end;
	}
	const char *bar = memchr(p, '|', (size_t)(end - p));
	size_t n = (size_t)((bar ? bar : end) - p);
	snprintf(buf, cap, "%.*s", (int)n, p);
}

/* Index of column name in the header line, or -1. */
static int column(const char *line, size_t len, const char *name)
{
	char buf[64];
	for (int k = 0; k < 32; k++) {
		field(line, len, k, buf, sizeof buf);
		if (strcmp(buf, name) == 0)
			return k;
		if (!memchr(line, '|', len) && k > 0)
			break;
	}
	return -1;
}

/* Finds the freshness part: the first line holding the column
 * applied_index is its header, the next line its row, then its footer
 * "(1 row)". Fails the test
 * when the output does not start that way. */
static void split(struct run *r, const char *file, unsigned id)
{
	const char *line = r->out;
	for (int i = 0; i < 3 && *line; i++) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		int ka = column(line, len, "applied_index");
		if (ka >= 0 && nl) {
			int kn = column(line, len, "node");
			int kl = column(line, len, "latest_change");
			const char *row = nl + 1;
			const char *rnl = strchr(row, '\n');
			if (kn < 0 || kl < 0 || !rnl)
				break;
			size_t rlen = (size_t)(rnl - row);
			field(row, rlen, kn, r->node, sizeof r->node);
			field(row, rlen, ka, r->applied, sizeof r->applied);
			field(row, rlen, kl, r->latest, sizeof r->latest);
			r->answer = rnl + 1;
			/* and its footer */
			if (strncmp(r->answer, "(1 row)\n", 8) == 0)
				r->answer += 8;
			return;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	fail_msg("%s on node %u: the output does not start with the node's "
	         "freshness (node, applied_index, latest_change):\n%s", file,
	         id, r->out);
}

static void run_file(struct cluster *cl, const char *psql, const char *file,
                     unsigned id, struct run *r)
{
	char port[16], path[4096];
	snprintf(port, sizeof port, "%s", getenv("LMS_TEST_PGPORT"));
	snprintf(path, sizeof path, "%s/sql/reports/%s", source_dir(), file);
	const char *argv[20];
	int k = 0;
	argv[k++] = psql;
	argv[k++] = "-X";
	argv[k++] = "-A";
	argv[k++] = "-v";
	argv[k++] = "ON_ERROR_STOP=1";
	argv[k++] = "-h";
	argv[k++] = getenv("LMS_TEST_PGHOST");
	argv[k++] = "-p";
	argv[k++] = port;
	argv[k++] = "-U";
	argv[k++] = "lms_report";
	argv[k++] = "-d";
	argv[k++] = cl->nodes[id].db;
	if (takes_course(file)) {
		argv[k++] = "-v";
		argv[k++] = "course=" COURSE;
	}
	argv[k++] = "-f";
	argv[k++] = path;
	argv[k] = NULL;
	memset(r, 0, sizeof *r);
	r->out = malloc(OUT_CAP);
	assert_non_null(r->out);
	r->status = cl_run(argv, r->out, OUT_CAP, PSQL_TIMEOUT_MS);
	if (r->status != 0)
		fail_msg("%s on node %u: psql exit %d:\n%s", file, id, r->status,
		         r->out);
	if (strlen(r->out) >= OUT_CAP - 1)
		fail_msg("%s on node %u: too much output", file, id);
	if (strstr(r->out, "ERROR") || strstr(r->out, "WARNING") ||
	    strstr(r->out, "psql:"))
		fail_msg("%s on node %u: messages in the output:\n%s", file, id,
		         r->out);
	split(r, file, id);
}

/* The first line where a and b differ (1-based), its text in each. */
static void first_difference(const char *a, const char *b, int *line,
                             char *la, char *lb, size_t cap)
{
	*line = 1;
	for (;;) {
		size_t na = strcspn(a, "\n"), nb = strcspn(b, "\n");
		if (na != nb || memcmp(a, b, na) != 0 || !a[na] != !b[nb]) {
			snprintf(la, cap, "%.*s%s", (int)na, a,
			         a[na] || na ? "" : "(end of output)");
			snprintf(lb, cap, "%.*s%s", (int)nb, b,
			         b[nb] || nb ? "" : "(end of output)");
			return;
		}
		if (!a[na])
			return; /* not reached: the strings differ */
		a += na + 1;
		b += nb + 1;
		(*line)++;
	}
}

/* Runs file on every node. Returns true when the answers are the same
 * everywhere; else writes the first difference into why. The freshness
 * checks fail the test at once. */
static bool run_everywhere(struct cluster *cl, const char *psql,
                           const char *file, uint64_t applied,
                           struct run *runs, char *why, size_t cap)
{
	char want[32];
	snprintf(want, sizeof want, "%" PRIu64, applied);
	for (unsigned id = 1; id <= N_NODES; id++) {
		struct run *r = &runs[id];
		run_file(cl, psql, file, id, r);
		char node[16];
		snprintf(node, sizeof node, "%u", id);
		if (strcmp(r->node, node) != 0)
			fail_msg("%s on node %u: the freshness names node \"%s\"",
			         file, id, r->node);
		if (strcmp(r->applied, want) != 0)
			fail_msg("%s on node %u: applied index %s, but every node "
			         "converged at %s:\n%s", file, id, r->applied, want,
			         r->out);
		if (strcmp(r->latest, runs[1].latest) != 0)
			fail_msg("%s: latest change on node %u is \"%s\", on node "
			         "1 \"%s\" (both at applied index %s)", file, id,
			         r->latest, runs[1].latest, want);
	}
	for (unsigned id = 2; id <= N_NODES; id++) {
		if (strcmp(runs[id].answer, runs[1].answer) == 0)
			continue;
		int line;
		char la[512], lb[512];
		first_difference(runs[1].answer, runs[id].answer, &line, la, lb,
		                 sizeof la);
		snprintf(why, cap,
		         "%s: node %u differs from node 1 at applied index %s, "
		         "line %d after the freshness:\n  node 1: %s\n  node %u: "
		         "%s\n--- node 1:\n%s--- node %u:\n%s", file, id, want,
		         line, la, id, lb, runs[1].answer, id, runs[id].answer);
		return false;
	}
	return true;
}

static void free_runs(struct run *runs)
{
	for (unsigned id = 1; id <= N_NODES; id++) {
		free(runs[id].out);
		runs[id].out = NULL;
	}
}

/* What an answer must hold for this data set (the -A output: a header
 * line, then rows of '|'-separated values, then "(n rows)"). */
static void check_answer(const char *file, const char *answer)
{
	static const struct {
		const char *file;
		const char *has[10];
	} want[] = {
		/* the students, by name, with the essay's column and average */
		{"gradebook.sql",
		 {"\nalice|", "\nbob|", "\ncarol|", "\ndave|", "\nerin|",
		  "Election essay (50)", "Replication lab (100)", "|average"}},
		/* alice and carol late, dave missing; bob (extension, on
		 * time) and erin (extension, not due yet) are not listed */
		{"late_missing.sql",
		 {"\nDS301|alice|", "|Election essay|late|",
		  "\nDS301|carol|", "\nDS301|dave|", "|Election essay|missing|"}},
		{"progress.sql",
		 {"\nDS301|alice|", "\nDS301|bob|", "\nDS301|carol|",
		  "\nDS301|dave|", "\nDS301|erin|"}},
		{"class_stats.sql",
		 {"\nDS301|Distributed systems|5|4|", "|Election essay|",
		  "|Replication lab|"}},
		/* first answered by the tutor, by people, and not at all */
		{"tutor_vs_instructors.sql",
		 {"\nDS301|tutor|1|1|0|", "\nDS301|instructor|2|1|1|",
		  "\nDS301|unanswered|1|0|1|"}},
		/* one tutor citation, one citation in prof's answer */
		{"tutor_sources.sql", {"|raft-notes|general|txt|1|1|1|"}},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		if (strcmp(want[i].file, file) != 0)
			continue;
		for (int k = 0; k < 10 && want[i].has[k]; k++)
			if (!strstr(answer, want[i].has[k]))
				fail_msg("%s: no \"%s\" in the answer:\n%s", file,
				         want[i].has[k], answer);
	}
	for (const char *p = answer; (p = strstr(p, "(0 rows)")); p++)
		fail_msg("%s: a section without rows, where the data set has "
		         "some:\n%s", file, answer);
}

static void test_reports_cluster(void **state)
{
	struct cluster *cl = *state;
	struct cl_options o = {0};
	cl_boot(cl, &o);
	cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);

	/* 1. the schema through the log, by lms-migrate; the role */
	char nodes[512], dir[4096];
	cl_nodes_arg(cl, nodes, sizeof nodes);
	snprintf(dir, sizeof dir, "%s/migrations", source_dir());
	char *out = malloc(OUT_CAP);
	assert_non_null(out);
	const char *margv[] = {LMS_MIGRATE_PATH, "--nodes", nodes, "--dir",
	                       dir, "up", NULL};
	int rc = cl_run(margv, out, OUT_CAP, 60000);
	if (rc != 0)
		fail_msg("lms-migrate up: exit %d:\n%s", rc, out);
	print_message("[reports] lms-migrate up:\n%s", out);
	free(out);
	cl_wait_applied_all(cl, sv_max_applied(cl), SV_CONVERGE_MS);
	ensure_report_role(cl);

	/* 2. the data, through every node in turn */
	struct rc t = {.cl = cl};
	for (unsigned id = 1; id <= N_NODES; id++) {
		t.c[id] = cl_client(cl, &id, 1);
		assert_non_null(t.c[id]);
	}
	write_data(&t);

	/* 3. */
	uint64_t applied = cl_assert_converged(cl, SV_CONVERGE_MS);

	/* 4. every report on every node */
	char psql[4096];
	find_psql(psql, sizeof psql);
	char *files[MAX_FILES];
	size_t n = list_reports(files, MAX_FILES);
	assert_true(n >= 7);
	struct run runs[N_NODES + 1];
	memset(runs, 0, sizeof runs);
	char *why = malloc(2 * OUT_CAP + 4096);
	assert_non_null(why);
	for (size_t i = 0; i < n; i++) {
		bool same = run_everywhere(cl, psql, files[i], applied, runs, why,
		                           2 * OUT_CAP + 4096);
		if (!same) {
			/* a value measured against the clock may have crossed
			 * a minute between two nodes' runs: once more */
			print_message("[reports] %s differs between nodes, "
			              "running it again:\n%s\n", files[i], why);
			free_runs(runs);
			same = run_everywhere(cl, psql, files[i], applied, runs,
			                      why, 2 * OUT_CAP + 4096);
			if (!same)
				fail_msg("%s", why);
		}
		print_message("[reports] %s: the same on all %d nodes at applied "
		              "index %" PRIu64 ":\n%s", files[i], N_NODES,
		              applied, runs[1].answer);
		if (strcmp(files[i], "freshness.sql") != 0 &&
		    !strchr(runs[1].answer, '|'))
			fail_msg("%s: no rows after the freshness:\n%s", files[i],
			         runs[1].out);
		check_answer(files[i], runs[1].answer);
		free_runs(runs);
		free(files[i]);
	}
	free(why);

	/* 5. */
	for (unsigned id = 1; id <= N_NODES; id++)
		check_report_access(cl, id);

	/* nothing moved while the reports ran */
	uint64_t after = cl_assert_converged(cl, SV_CONVERGE_MS);
	if (after != applied)
		fail_msg("the applied index moved from %" PRIu64 " to %" PRIu64
		         " while only reports ran", applied, after);

	for (unsigned id = 1; id <= N_NODES; id++)
		lmsc_free(t.c[id]);
	cl_stop_all(cl);
	cl_pass(cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reports_cluster, cl_setup,
		                                cl_teardown),
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("reports_cluster", tests, NULL,
	                                   NULL);
}

/*
 * migrations.c -- svc_migrations: the schema life cycle of a fresh cluster
 * through the built lms-migrate binary (LMS_MIGRATE_PATH), in order:
 *
 *   1. before any migration an LMS write and an LMS read are refused
 *      FAILED_PRECONDITION, saying to run lms-migrate up;
 *   2. status: every shipped migration pending on every node;
 *   3. up applies them; status: applied, the same checksum on every node
 *      (and the SchemaStatus of every node agrees, with the file's SHA-256);
 *   4. up again: nothing to do, the log does not move;
 *   5. a copy of migrations/ with 001 edited: status reports EDITED and
 *      exits 6, up refuses (exit 6) and changes nothing;
 *   6. a copy with a new valid migration (table lms.note) that this build
 *      of lmsd does not know: status flags it, up refuses to propose it
 *      (a node would stop on it) and the cluster runs on;
 *   7. last, a Migrate request for SchemaStatus.known + 1: the nodes stop
 *      applying, with a log line saying the entry needs a schema version
 *      this lmsd does not know (the cluster is unusable afterwards). At
 *      least a majority stops: the entry is committed there; a node the
 *      leader never told so keeps running, without a quorum, and must not
 *      have applied it.
 *
 * Note on 6 and 7: a node stops rather than apply a migration above
 * SVC_SCHEMA_KNOWN, the highest migration its lmsd binary was built with
 * (lmsd/svc/svc_machine.h); lms-migrate up therefore never proposes one
 * that a reachable node does not know (6). Step 7 sends the request
 * itself, as a mixed-version cluster would, to see the nodes stop.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "svc_util.h"

#define OUT_CAP 65536

static const char *source_dir(void)
{
	const char *env = getenv("LMS_SOURCE_DIR");
	return env && *env ? env : LMS_SOURCE_DIR;
}

/* lms-migrate --nodes ... --dir dir cmd; output into out. */
static int migrate_tool(struct cluster *cl, const char *dir, const char *cmd,
                        char *out)
{
	char nodes[512];
	cl_nodes_arg(cl, nodes, sizeof nodes);
	const char *argv[] = {LMS_MIGRATE_PATH, "--nodes", nodes, "--dir", dir,
	                      cmd, NULL};
	return cl_run(argv, out, OUT_CAP, 60000);
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Copies every NNN_*.sql of from with version <= upto into to. */
static void copy_migrations(const char *from, const char *to, unsigned upto)
{
	if (mkdir(to, 0755) != 0)
		fail_msg("mkdir %s: %s", to, strerror(errno));
	for (unsigned v = 1; v <= upto; v++) {
		Lms__Rpc__Migration *m = sv_migration_load(from, v);
		char path[4096];
		snprintf(path, sizeof path, "%s/%03u_%s.sql", to, v, m->name);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(m->sql, f);
		assert_int_equal(fclose(f), 0);
		sv_migration_free(m);
	}
}

static void write_file(const char *path, const char *text, const char *mode)
{
	FILE *f = fopen(path, mode);
	if (!f)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* SchemaStatus of node id (stale, always local). */
static Lms__Rpc__Response *schema_status(struct cluster *cl, unsigned id)
{
	Lms__Rpc__SchemaStatusRequest q = LMS__RPC__SCHEMA_STATUS_REQUEST__INIT;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SV_SET(&req, schema_status, SCHEMA_STATUS, &q);
	int rv = 0;
	Lms__Rpc__Response *r = sv_call_node(cl, id, NULL, &req, &rv);
	if (!r)
		fail_msg("schema_status on node %u: %s", id, strerror(-rv));
	sv_expect(r, LMS__RPC__STATUS__OK, "schema_status on node %u", id);
	return r;
}

/* Every node reports versions 1..n applied, with the checksums of the
 * files in dir, at the same applied indexes. */
static void all_applied(struct cluster *cl, const char *dir, unsigned n)
{
	cl_wait_applied_all(cl, sv_max_applied(cl), SV_CONVERGE_MS);
	uint64_t idx[16] = {0};
	assert_true(n < 16);
	for (unsigned id = 1; id <= 5; id++) {
		Lms__Rpc__Response *r = schema_status(cl, id);
		const Lms__Rpc__SchemaStatusResponse *s = r->schema_status;
		if (s->version != n || s->n_applied != n)
			fail_msg("node %u: schema version %u with %zu applied, "
			         "expected %u", id, s->version, s->n_applied, n);
		for (unsigned v = 1; v <= n; v++) {
			Lms__Rpc__Migration *m = sv_migration_load(dir, v);
			const Lms__Rpc__Migration *a = s->applied[v - 1];
			if (a->version != v || strcmp(a->checksum, m->checksum))
				fail_msg("node %u: migration %u has checksum %s, "
				         "the file %s", id, a->version, a->checksum,
				         m->checksum);
			if (id == 1)
				idx[v] = a->applied_index;
			else if (a->applied_index != idx[v])
				fail_msg("node %u applied migration %u at index %"
				         PRIu64 ", node 1 at %" PRIu64, id, v,
				         a->applied_index, idx[v]);
			sv_migration_free(m);
		}
		lmsc_response_free(r);
	}
}

/* Waits until at least want nodes logged needle after their offset
 * from[] (then a little longer, for the others to follow); returns how
 * many did. */
static unsigned wait_logged(struct cluster *cl, const long *from,
                            const char *needle, unsigned want,
                            unsigned timeout_ms)
{
	uint64_t deadline = cl_now_ms() + timeout_ms;
	unsigned n;
	for (;;) {
		n = 0;
		for (unsigned id = 1; id <= 5; id++)
			n += cl_log_contains(cl, id, from[id], needle);
		if (n == 5 || cl_now_ms() >= deadline)
			break;
		if (n >= want) {
			/* the rest follow within an election or two, if at all */
			if (deadline > cl_now_ms() + 3000)
				deadline = cl_now_ms() + 3000;
		}
		cl_sleep_ms(100);
	}
	return n;
}

void svc_migrations(void **state)
{
	struct cluster *cl = *state;
	cl_boot(cl, NULL);
	cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	struct lmsc *c = cl_client(cl, NULL, 0);
	assert_non_null(c);
	char *out = malloc(OUT_CAP);
	assert_non_null(out);
	char shipped[4096];
	snprintf(shipped, sizeof shipped, "%s/migrations", source_dir());

	Lms__Rpc__Response *r = schema_status(cl, 1);
	unsigned known = r->schema_status->known;
	if (r->schema_status->version != 0 || known == 0)
		fail_msg("a fresh node reports schema version %u, knows %u",
		         r->schema_status->version, known);
	lmsc_response_free(r);

	/* ---- 1. no schema yet: LMS operations are refused */
	Lms__Rpc__BootstrapRequest b = LMS__RPC__BOOTSTRAP_REQUEST__INIT;
	b.username = "root";
	b.password = "root-password";
	r = SV_CALL(c, NULL, bootstrap, BOOTSTRAP, &b);
	sv_expect(r, LMS__RPC__STATUS__FAILED_PRECONDITION,
	          "bootstrap before the schema exists");
	if (!strstr(r->message, "lms-migrate up"))
		fail_msg("the refusal \"%s\" does not say to run lms-migrate up",
		         r->message);
	print_message("[svc] migrations: a write before the schema: %s\n",
	              sv_describe(r));
	lmsc_response_free(r);
	Lms__Rpc__LoginRequest l = LMS__RPC__LOGIN_REQUEST__INIT;
	l.username = "root";
	l.password = "root-password";
	r = SV_CALL(c, NULL, login, LOGIN, &l);
	sv_expect(r, LMS__RPC__STATUS__FAILED_PRECONDITION,
	          "login before the schema exists");
	if (!strstr(r->message, "lms-migrate up"))
		fail_msg("the login refusal \"%s\" does not say to run "
		         "lms-migrate up", r->message);
	lmsc_response_free(r);
	Lms__Rpc__CourseListRequest cq = LMS__RPC__COURSE_LIST_REQUEST__INIT;
	r = SV_CALL(c, "00", course_list, COURSE_LIST, &cq);
	sv_expect(r, LMS__RPC__STATUS__FAILED_PRECONDITION,
	          "course_list before the schema exists");
	if (!strstr(r->message, "lms-migrate up"))
		fail_msg("the read refusal \"%s\" does not say to run "
		         "lms-migrate up", r->message);
	lmsc_response_free(r);

	/* Anyone can reach the port before the first user exists: only the
	 * migrations lmsd ships may run then, and a version from the future
	 * (which would stop the nodes) is refused like any out-of-order one. */
	{
		static char foreign_sql[] = "CREATE TABLE lms_spy (id int)";
		char sum[65];
		sv_sha256_hex(foreign_sql, strlen(foreign_sql), sum);
		Lms__Rpc__Migration fm = LMS__RPC__MIGRATION__INIT;
		fm.version = 1;
		fm.name = "not_shipped";
		fm.sql = foreign_sql;
		fm.checksum = sum;
		Lms__Rpc__MigrateRequest fr = LMS__RPC__MIGRATE_REQUEST__INIT;
		fr.migration = &fm;
		r = SV_CALL(c, NULL, migrate, MIGRATE, &fr);
		sv_expect(r, LMS__RPC__STATUS__PERMISSION_DENIED,
		          "an anonymous migration that lmsd does not ship");
		lmsc_response_free(r);
		fm.version = 9999;
		r = SV_CALL(c, NULL, migrate, MIGRATE, &fr);
		sv_expect(r, LMS__RPC__STATUS__FAILED_PRECONDITION,
		          "an anonymous migration from the future");
		lmsc_response_free(r);
		cl_check_alive(cl);
	}

	/* ---- 2. status: pending everywhere */
	int code = migrate_tool(cl, shipped, "status", out);
	if (code != 0 || count(out, "schema version 0,") != 5 ||
	    count(out, "pending") != 5 * known || !strstr(out, " 001 "))
		fail_msg("lms-migrate status on a fresh cluster (exit %d) must "
		         "show %u pending migration(s) on each of 5 nodes:\n%s",
		         code, known, out);

	/* ---- 3. up, then status: applied, same checksum */
	code = migrate_tool(cl, shipped, "up", out);
	if (code != 0 || count(out, "applied at index") != known)
		fail_msg("lms-migrate up (exit %d):\n%s", code, out);
	print_message("[svc] migrations: up:\n%s", out);
	all_applied(cl, shipped, known);
	code = migrate_tool(cl, shipped, "status", out);
	Lms__Rpc__Migration *m1 = sv_migration_load(shipped, 1);
	char short_sum[16];
	snprintf(short_sum, sizeof short_sum, "%.12s", m1->checksum);
	if (code != 0 || count(out, "applied  index") != 5 * known ||
	    count(out, short_sum) != 5 || count(out, "pending") != 0)
		fail_msg("lms-migrate status after up (exit %d): expected 001 "
		         "applied with checksum %s on every node:\n%s", code,
		         short_sum, out);

	/* ---- 4. up again: a no-op */
	uint64_t before = sv_max_applied(cl);
	code = migrate_tool(cl, shipped, "up", out);
	if (code != 0 || !strstr(out, "(0 applied now)"))
		fail_msg("a second lms-migrate up (exit %d) must apply "
		         "nothing:\n%s", code, out);
	cl_sleep_ms(300);
	if (sv_max_applied(cl) != before)
		fail_msg("a second lms-migrate up wrote to the log (applied "
		         "index %" PRIu64 " -> %" PRIu64 ")", before,
		         sv_max_applied(cl));

	/* ---- 5. an applied migration edited */
	char edited[256];
	snprintf(edited, sizeof edited, "%s/migrations-edited", cl->dir);
	copy_migrations(shipped, edited, known);
	char path[512];
	snprintf(path, sizeof path, "%s/001_%s.sql", edited, m1->name);
	write_file(path, "\n-- an afterthought\n", "a");
	code = migrate_tool(cl, edited, "status", out);
	if (code != 6 || count(out, "EDITED") != 5)
		fail_msg("lms-migrate status with 001 edited must report "
		         "EDITED on every node and exit 6 (exit %d):\n%s", code,
		         out);
	code = migrate_tool(cl, edited, "up", out);
	if (code != 6)
		fail_msg("lms-migrate up with 001 edited must refuse with exit "
		         "6 (exit %d):\n%s", code, out);
	all_applied(cl, shipped, known);
	print_message("[svc] migrations: 001 edited: status and up exit 6\n");

	/* ---- 6. a new migration */
	unsigned nv = known + 1;
	char next[256];
	snprintf(next, sizeof next, "%s/migrations-next", cl->dir);
	copy_migrations(shipped, next, known);
	snprintf(path, sizeof path, "%s/%03u_note.sql", next, nv);
	write_file(path,
	           "-- a note per user (test migration of tests/svc)\n"
	           "CREATE TABLE lms.note (\n"
	           "  id      bigint PRIMARY KEY,\n"
	           "  user_id bigint NOT NULL REFERENCES lms.app_user (id),\n"
	           "  body    text NOT NULL\n"
	           ");\n", "w");
	code = migrate_tool(cl, next, "status", out);
	print_message("[svc] migrations: status with %03u_note pending:\n%s",
	              nv, out);
	if (count(out, "newer than this node's lmsd knows") != 5)
		fail_msg("lms-migrate status must flag %03u_note as newer than "
		         "every node's lmsd knows:\n%s", nv, out);
	long from[CL_MAX_NODES + 1] = {0};
	uint64_t last_before = 0;
	for (unsigned id = 1; id <= 5; id++) {
		from[id] = cl_log_size(cl, id);
		struct cl_status st;
		if (cl_status(cl, id, &st) == 0 && st.last_index > last_before)
			last_before = st.last_index;
	}
	code = migrate_tool(cl, next, "up", out);
	if (code != 1 || !strstr(out, "upgrade lmsd on every node first"))
		fail_msg("lms-migrate up of %03u_note, which no node's lmsd "
		         "knows, must refuse (exit 1) and say to upgrade lmsd "
		         "(exit %d):\n%s", nv, code, out);
	if (wait_logged(cl, from, "needs LMS schema version", 1, 500) != 0)
		fail_msg("a node stopped although lms-migrate refused");
	cl_check_alive(cl);
	for (unsigned id = 1; id <= 5; id++) {
		struct cl_status st;
		if (cl_status(cl, id, &st) == 0 && st.last_index != last_before)
			fail_msg("node %u's log moved from %" PRIu64 " to %" PRIu64
			         " although nothing was proposed", id, last_before,
			         (uint64_t)st.last_index);
	}
	all_applied(cl, shipped, known);
	print_message("[svc] migrations: up refuses %03u_note (no lmsd knows "
	              "it); the cluster runs on\n", nv);

	/* ---- 7. last: an entry needing a version this lmsd does not know */
	r = schema_status(cl, 1);
	unsigned unknown = r->schema_status->known + 1;
	lmsc_response_free(r);
	char adm[65];
	sv_bootstrap(c, "root", "root-password");
	sv_login(c, "root", "root-password", adm);
	uint64_t before_last = 0;
	for (unsigned id = 1; id <= 5; id++) {
		from[id] = cl_log_size(cl, id);
		struct cl_status st;
		if (cl_status(cl, id, &st) == 0 && st.last_index > before_last)
			before_last = st.last_index;
	}
	Lms__Rpc__Migration mg = LMS__RPC__MIGRATION__INIT;
	char sql[] = "CREATE TABLE lms.future (id bigint PRIMARY KEY)";
	char sum[65];
	sv_sha256_hex(sql, strlen(sql), sum);
	char name[] = "future";
	mg.version = unknown;
	mg.name = name;
	mg.sql = sql;
	mg.checksum = sum;
	Lms__Rpc__MigrateRequest mr = LMS__RPC__MIGRATE_REQUEST__INIT;
	mr.migration = &mg;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SV_SET(&req, migrate, MIGRATE, &mr);
	req.token = adm;
	struct lmsc_options lo;
	lmsc_options_default(&lo);
	lo.total_timeout_ms = 3000;
	lo.request_timeout_ms = 3000;
	struct lmsc_node list[CL_MAX_NODES];
	for (unsigned id = 1; id <= 5; id++) {
		memset(&list[id - 1], 0, sizeof list[0]);
		list[id - 1].id = id;
		snprintf(list[id - 1].host, sizeof list[0].host, "%s",
		         cl->nodes[id].host);
		list[id - 1].port = (uint16_t)cl->nodes[id].client_port;
	}
	struct lmsc *shortc = lmsc_new(list, 5, &lo);
	assert_non_null(shortc);
	r = NULL;
	int rv = lmsc_call(shortc, &req, &r, LMSC_WRITE);
	print_message("[svc] migrations: Migrate to version %u: %s\n", unknown,
	              rv ? lmsc_errmsg(shortc) : sv_describe(r));
	if (rv == 0 && r->status == LMS__RPC__STATUS__OK)
		fail_msg("a migration to version %u, above what this lmsd knows "
		         "(%u), was answered OK", unknown, unknown - 1);
	lmsc_response_free(r);
	lmsc_free(shortc);
	/*
	 * The entry commits on a majority; each node that learns it is
	 * committed stops when it comes to apply it. Nodes that never learn
	 * it (the leader stopped before telling them) keep running without
	 * a quorum, the entry unapplied: at least three nodes stop, every
	 * survivor has not applied past the last index before the request.
	 */
	unsigned logged = wait_logged(cl, from, "needs LMS schema version", 3,
	                              20000);
	if (logged < 3)
		fail_msg("%u of 5 nodes logged that an entry needs an unknown "
		         "schema version (\"needs LMS schema version\"); a "
		         "majority must have", logged);
	for (unsigned id = 1; id <= 5; id++) {
		bool said = cl_log_contains(cl, id, from[id],
		                            "needs LMS schema version");
		if (!cl_running(cl, id))
			continue;
		int st = cl_wait_exit(cl, id, said ? 5000 : 0);
		if (st != -2) {
			print_message("[svc] migrations: node %u %s and stopped "
			              "(exit status %d)\n", id,
			              said ? "logged it" : "did not log it", st);
			continue;
		}
		struct cl_status ns;
		int srv = cl_status(cl, id, &ns);
		if (srv == 0 && ns.applied > before_last)
			fail_msg("node %u still runs and applied index %" PRIu64
			         ", past %" PRIu64 " (the last entry before the "
			         "migration)", id, ns.applied, before_last);
		print_message("[svc] migrations: node %u %s and still runs, "
		              "applied index %" PRIu64 " (not past %" PRIu64
		              ")\n", id, said ? "logged it" : "never learnt it "
		              "was committed", srv == 0 ? ns.applied : 0,
		              before_last);
	}
	sv_migration_free(m1);
	free(out);
	lmsc_free(c);
	cl_pass(cl);
}

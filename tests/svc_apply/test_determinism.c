/*
 * test_determinism.c -- two databases fed the same sequence of applies end
 * byte-identical, table by table, and give byte-identical Responses, even
 * when their sessions are set up differently (time zone, date style); and
 * a database failure is a -1 with a message, not a refusal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pgtest.h"

#define S(x) LMS__RPC__STATUS__##x

static int logout(struct svc_ctx *x, const uint8_t *token)
{
	return apply_logout(x, token, 32);
}

/* Every operation, with some refusals in between. */
static void scenario(struct env *e)
{
	mk_people(e);
	mk_courses(e);
	uint8_t token[32];
	for (int i = 0; i < 32; i++)
		token[i] = (uint8_t)(7 * i);
	char exp[LMS_ISO_MAX];
	Lms__Rpc__SessionCreateCmd l = LMS__RPC__SESSION_CREATE_CMD__INIT;
	l.username = "stu1";
	l.verified_hash = "hash-stu1";
	l.session_hash.data = token;
	l.session_hash.len = 32;
	l.expires_at = (char *)env_time(e, DAY, exp);
	OK(e, NULL, apply_session_create, &l);
	token[0] ^= 1;
	l.username = "stu2";
	l.verified_hash = "hash-stu2";
	OK(e, NULL, apply_session_create, &l);
	Lms__Rpc__UserCreateCmd dup = LMS__RPC__USER_CREATE_CMD__INIT;
	dup.username = "stu1";
	dup.role = LMS__RPC__ROLE__ROLE_STUDENT;
	dup.password_hash = "x";
	REFUSED(e, "root", apply_user_create, &dup, S(CONFLICT), NULL);

	/* an assignment with topics and an attachment; another one */
	char opens[LMS_ISO_MAX], due[LMS_ISO_MAX], cutoff[LMS_ISO_MAX];
	char *topics[] = {"sorting", "heaps, \"binary\""};
	Lms__Rpc__File att = LMS__RPC__FILE__INIT;
	att.name = "hw.txt";
	att.media_type = "text/plain";
	att.data.data = (uint8_t *)"sort these\n";
	att.data.len = att.size = 11;
	att.sha256 = "11";
	Lms__Rpc__AssignmentCreateRequest ac =
		LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT;
	ac.course = "CS101";
	ac.title = "Sorting";
	ac.description = "Sort.";
	ac.opens_at = (char *)env_time(e, 0, opens);
	ac.due_at = (char *)env_time(e, DAY + 1500, due);
	ac.cutoff_at = (char *)env_time(e, 3 * DAY, cutoff);
	ac.max_points = 87.55;
	ac.late_penalty_pct = 12.5;
	ac.penalty_floor_pct = 33.33;
	ac.max_attempts = 2;
	ac.n_topics = 2;
	ac.topics = topics;
	ac.attachment = &att;
	Lms__Rpc__Response *r = OK(e, "ins", apply_assignment_create, &ac);
	int64_t a = (int64_t)r->assignment_create->assignment->id;
	struct asg_spec open_ended = {.opens = 0, .due = HOUR, .cutoff = -1};
	int64_t b = mk_assignment(e, "root", "CS101", &open_ended);

	Lms__Rpc__ExtensionRequest ext = LMS__RPC__EXTENSION_REQUEST__INIT;
	ext.assignment_id = (uint64_t)a;
	ext.username = "stu2";
	ext.due_at = (char *)env_time(e, 5 * DAY, due);
	ext.cutoff_at = "";
	OK(e, "ins", apply_extension, &ext);

	int64_t s1 = mk_submit(e, "stu1", a, "first");
	env_advance(e, 2 * DAY + 333);
	Lms__Rpc__File sf = LMS__RPC__FILE__INIT;
	sf.name = "answer.bin";
	sf.media_type = "application/octet-stream";
	static const uint8_t bin[] = {0, 1, 2, 3, 0xfe, 0xff};
	sf.data.data = (uint8_t *)bin;
	sf.data.len = sf.size = sizeof bin;
	sf.sha256 = "22";
	Lms__Rpc__SubmitRequest sc = LMS__RPC__SUBMIT_REQUEST__INIT;
	sc.assignment_id = (uint64_t)a;
	sc.text = "second, late";
	sc.file = &sf;
	r = OK(e, "stu1", apply_submit, &sc);
	int64_t s2 = (int64_t)r->submit->submission->id;
	REFUSED(e, "stu1", apply_submit, &sc, S(FAILED_PRECONDITION), NULL);
	env_advance(e, 2 * DAY);
	REFUSED(e, "stu1", apply_submit, &sc, S(FAILED_PRECONDITION), NULL);
	int64_t s3 = mk_submit(e, "stu2", a, "extended");
	mk_submit(e, "stu2", b, "open ended");

	Lms__Rpc__GradeRequest g = LMS__RPC__GRADE_REQUEST__INIT;
	g.submission_id = (uint64_t)s1;
	g.score = 50;
	REFUSED(e, "ta", apply_grade, &g, S(FAILED_PRECONDITION), NULL);
	g.submission_id = (uint64_t)s2;
	g.score = 87.55;
	g.feedback = "good";
	OK(e, "ta", apply_grade, &g);
	g.score = 80.01;
	g.feedback = "regraded";
	OK(e, "ins", apply_grade, &g);
	g.submission_id = (uint64_t)s3;
	g.score = 12.34;
	OK(e, "ins", apply_grade, &g);

	/* materials and questions */
	int64_t m = mk_material(e, "ins", "CS101", "Sorting notes", 7);
	mk_query(e, "stu1", "CS101", LMS__RPC__QUERY_TARGET__TO_TUTOR,
	         "quick sort?");
	int64_t q2 = mk_query(e, "stu2", "CS101",
	                      LMS__RPC__QUERY_TARGET__TO_UNSPECIFIED, "help");
	Lms__Rpc__QueryClaimRequest cl = LMS__RPC__QUERY_CLAIM_REQUEST__INIT;
	cl.worker = "tutord-1";
	cl.lease_ms = 90000;
	r = OK(e, "tutor", apply_query_claim, &cl);
	assert_true(r->query_claim->found);
	int64_t q1 = (int64_t)r->query_claim->query->id;
	Lms__Rpc__Source src = LMS__RPC__SOURCE__INIT;
	src.label = "S1";
	src.material_id = (uint64_t)m;
	src.chunk = 3;
	src.page = 0;
	src.title = "Sorting notes";
	Lms__Rpc__Source *srcs[] = {&src};
	Lms__Rpc__QueryAnswerRequest qa = LMS__RPC__QUERY_ANSWER_REQUEST__INIT;
	qa.id = (uint64_t)q1;
	qa.body = "Pick a pivot [S1].";
	qa.worker = "tutord-2";
	qa.n_sources = 1;
	qa.sources = srcs;
	REFUSED(e, "tutor", apply_query_answer, &qa, S(CONFLICT), NULL);
	qa.worker = "tutord-1";
	OK(e, "tutor", apply_query_answer, &qa);
	qa.id = (uint64_t)q2;
	qa.body = "See me.";
	qa.n_sources = 0;
	OK(e, "ta", apply_query_answer, &qa);
	cl.worker = "tutord-2";
	r = OK(e, "tutor", apply_query_claim, &cl);
	assert_false(r->query_claim->found);

	Lms__Rpc__PasswordChangeCmd pc = LMS__RPC__PASSWORD_CHANGE_CMD__INIT;
	pc.username = "stu2";
	pc.password_hash = "reset";
	OK(e, "root", apply_password_change, &pc);
	token[0] ^= 1;
	OK(e, "stu1", logout, token);
	l.username = "ins";
	l.verified_hash = "hash-ins";
	l.expires_at = (char *)env_time(e, DAY, exp);
	OK(e, NULL, apply_session_create, &l);
}

static void same_log_same_tables(void **state)
{
	(void)state;
	struct env *a = env_open("svc_det_a");
	struct env *b = env_open("svc_det_b");
	/* sessions set up differently: apply must not depend on them */
	pgtest_exec(b->conn, "SET TIME ZONE 'Asia/Kathmandu'; "
	                     "SET DateStyle = 'SQL, DMY'; "
	                     "SET extra_float_digits = 0");
	scenario(a);
	scenario(b);
	assert_int_equal(a->index, b->index);
	assert_true(a->trace == b->trace); /* the same Responses, byte for byte */

	/* compare in one rendering (t::text depends on the session) */
	pgtest_exec(a->conn, "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO'");
	pgtest_exec(b->conn, "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO'");
	for (int i = 0; env_tables[i]; i++) {
		char sql[128];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM lms.%s",
		         env_tables[i]);
		char *n = pgtest_value(a->conn, sql);
		if (atoi(n) == 0)
			fail_msg("the scenario leaves lms.%s empty: the "
			         "comparison would prove nothing", env_tables[i]);
		free(n);
		char *ma = env_table_md5(a, env_tables[i]);
		char *mb = env_table_md5(b, env_tables[i]);
		if (strcmp(ma, mb) != 0)
			fail_msg("lms.%s differs: %s vs %s", env_tables[i], ma,
			         mb);
		free(ma);
		free(mb);
	}
	/* and the exact binary contents of the files */
	char *fa = pgtest_value(a->conn, "SELECT md5(string_agg(data, '' "
	                                 "ORDER BY id)) FROM lms.file");
	char *fb = pgtest_value(b->conn, "SELECT md5(string_agg(data, '' "
	                                 "ORDER BY id)) FROM lms.file");
	assert_string_equal(fa, fb);
	free(fa);
	free(fb);

	/* a third run that differs in one time gives other tables: the
	 * comparison does see differences */
	struct env *c = env_open("svc_det_c");
	env_advance(c, 1);
	scenario(c);
	pgtest_exec(c->conn, "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO'");
	char *ua = env_table_md5(a, "app_user");
	char *uc = env_table_md5(c, "app_user");
	assert_string_not_equal(ua, uc);
	free(ua);
	free(uc);
	assert_true(a->trace != c->trace);
	env_close(a);
	env_close(b);
	env_close(c);
}

/* A statement that fails is a -1 with the database's message (the node
 * stops), not a refusal and not a crash. */
static void database_failure(void **state)
{
	(void)state;
	struct env *e = env_open("svc_det_fail");
	mk_people(e);
	pgtest_exec(e->conn, "ALTER TABLE lms.course RENAME TO course_gone");
	Lms__Rpc__CourseCreateRequest c = LMS__RPC__COURSE_CREATE_REQUEST__INIT;
	c.code = "X1";
	c.title = "x";
	struct svc_ctx *x = env_call(e, "ins");
	assert_int_equal(apply_course_create(x, &c), -1);
	assert_true(strstr(x->err, "course") != NULL);
	assert_int_equal(e->resp->status, S(OK));
	assert_int_equal(e->resp->result_case,
	                 LMS__RPC__RESPONSE__RESULT__NOT_SET);
	pgtest_exec(e->conn, "ROLLBACK");
	env_close(e);
}

/* One svc_query of sql with one text parameter; its first cell. */
static char *query_one(PGconn *conn, const char *sql, const char *arg)
{
	struct svc_ctx x;
	memset(&x, 0, sizeof x);
	x.conn = conn;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_text(&p, arg);
	PGresult *res = svc_query(&x, sql, &p);
	if (!res)
		fail_msg("svc_query: %s", x.err);
	assert_int_equal(PQntuples(res), 1);
	char *v = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

/* svc_query prepares each SQL text once per connection. A schema change
 * that alters a prepared statement's result columns must not make that
 * statement fail ("cached plan must not change result type" is SQLSTATE
 * 0A000, which a migration records as a deterministic failure): not on
 * the connection that changes the schema (it forgets its statements, as
 * migrations do), not on another one (a reader forgets and retries). */
static void statements_follow_schema_changes(void **state)
{
	(void)state;
	struct env *e = env_open("svc_det_stmt");
	mk_people(e);
	char ci[512];
	pgtest_conninfo(e->db, ci, sizeof ci);
	PGconn *reader = PQconnectdb(ci);
	assert_int_equal(PQstatus(reader), CONNECTION_OK);
	const char *sql = "SELECT username FROM lms.app_user WHERE username = $1";
	for (int i = 0; i < 2; i++) { /* prepared by the first */
		free(query_one(e->conn, sql, "ins"));
		free(query_one(reader, sql, "ins"));
	}
	pgtest_exec(e->conn, "BEGIN");
	svc_forget_statements(e->conn);
	pgtest_exec(e->conn, "ALTER TABLE lms.app_user ALTER COLUMN username "
	                     "TYPE varchar(200)");
	svc_forget_statements(e->conn);
	char *v = query_one(e->conn, sql, "ins"); /* in the same transaction */
	assert_string_equal(v, "ins");
	free(v);
	pgtest_exec(e->conn, "COMMIT");
	v = query_one(reader, sql, "ins");
	assert_string_equal(v, "ins");
	free(v);
	v = query_one(reader, sql, "ins"); /* prepared afresh */
	assert_string_equal(v, "ins");
	free(v);
	PQfinish(reader);
	env_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_log_same_tables),
		cmocka_unit_test(database_failure),
		cmocka_unit_test(statements_follow_schema_changes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

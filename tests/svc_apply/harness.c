/*
 * harness.c -- see harness.h.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"

#define START_TIME "2026-03-02T09:00:00Z"

const char *const env_tables[] = {
	"app_user", "session", "file", "course", "enrollment", "assignment",
	"extension", "submission", "grade", "material", "material_chunk",
	"query", "answer", "answer_source", NULL,
};

/* each table's primary key, in env_tables order */
static const char *const table_keys[] = {
	"id", "token_hash", "id", "id", "course_id, user_id", "id",
	"assignment_id, user_id", "id", "submission_id", "id",
	"material_id, chunk_no", "id", "id", "answer_id, n",
};

/* ------------------------------------------------------ environment */

static void env_schema(struct env *e)
{
	char *sql = pgtest_read_source("migrations/001_lms_schema.sql");
	pgtest_exec(e->conn, sql);
	free(sql);
}

static void env_clear(struct env *e)
{
	pgtest_exec(e->conn,
	            "TRUNCATE lms.answer_source, lms.answer, lms.query, "
	            "lms.material_chunk, lms.material, lms.grade, "
	            "lms.submission, lms.extension, lms.assignment, "
	            "lms.enrollment, lms.course, lms.file, lms.session, "
	            "lms.app_user");
	e->index = 100;
	e->trace = 1469598103934665603ULL;
	env_at(e, START_TIME);
}

struct env *env_open(const char *prefix)
{
	struct env *e = calloc(1, sizeof *e);
	assert_non_null(e);
	e->conn = pgtest_create_db(prefix, e->db, sizeof e->db);
	/* the apply must not depend on the session's settings */
	pgtest_exec(e->conn, "SET TIME ZONE 'America/Los_Angeles'");
	e->limits.max_text_bytes = 1 << 20;
	e->limits.max_upload_bytes = 8 << 20;
	e->limits.max_page_size = 100;
	env_schema(e);
	env_clear(e);
	return e;
}

void env_close(struct env *e)
{
	if (!e)
		return;
	if (e->resp)
		protobuf_c_message_free_unpacked(&e->resp->base, NULL);
	pgtest_drop_db(e->conn, e->db);
	free(e);
}

int env_group_setup(void **state)
{
	*state = env_open("svc_apply");
	return 0;
}

int env_group_teardown(void **state)
{
	env_close(*state);
	return 0;
}

int env_reset(void **state)
{
	struct env *e = *state;
	if (e->resp) {
		protobuf_c_message_free_unpacked(&e->resp->base, NULL);
		e->resp = NULL;
	}
	if (PQtransactionStatus(e->conn) != PQTRANS_IDLE)
		pgtest_exec(e->conn, "ROLLBACK");
	env_clear(e);
	return 0;
}

void env_at(struct env *e, const char *iso)
{
	assert_int_equal(lms_iso_parse(iso, &e->now_ms), 0);
	lms_iso_format(e->now_ms, e->now, sizeof e->now);
}

void env_advance(struct env *e, int64_t ms)
{
	e->now_ms += ms;
	lms_iso_format(e->now_ms, e->now, sizeof e->now);
}

const char *env_time(const struct env *e, int64_t ms, char *buf)
{
	return lms_iso_format(e->now_ms + ms, buf, LMS_ISO_MAX);
}

/* ------------------------------------------------------------ calls */

struct svc_ctx *env_call(struct env *e, const char *who)
{
	if (e->resp)
		protobuf_c_message_free_unpacked(&e->resp->base, NULL);
	e->resp = malloc(sizeof *e->resp);
	assert_non_null(e->resp);
	lms__rpc__response__init(e->resp);

	const struct svc_actor *actor = NULL;
	if (who) {
		const char *v[1] = {who};
		PGresult *res = PQexecParams(e->conn,
			"SELECT id, role FROM lms.app_user WHERE username = $1",
			1, NULL, v, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK ||
		    PQntuples(res) != 1) {
			PQclear(res);
			fail_msg("no user \"%s\" to act as", who);
		}
		memset(&e->actor, 0, sizeof e->actor);
		e->actor.id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		snprintf(e->actor.username, sizeof e->actor.username, "%s",
		         who);
		e->actor.role = svc_role_parse(PQgetvalue(res, 0, 1));
		PQclear(res);
		actor = &e->actor;
	}
	e->index++;
	memset(&e->x, 0, sizeof e->x);
	e->x.conn = e->conn;
	e->x.index = e->index;
	e->x.now = e->now;
	e->x.now_ms = e->now_ms;
	e->x.actor = actor;
	e->x.limits = &e->limits;
	e->x.resp = e->resp;
	pgtest_exec(e->conn, "BEGIN");
	return &e->x;
}

static void trace_bytes(struct env *e, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		e->trace ^= p[i];
		e->trace *= 1099511628211ULL;
	}
}

Lms__Rpc__Response *env_done(struct env *e, int rv)
{
	if (rv != 0)
		fail_msg("apply failed at index %llu: %s",
		         (unsigned long long)e->index, e->x.err);
	assert_int_equal(rv, 0);
	/* no statement failed inside the apply (that would abort the whole
	 * apply transaction of a real node) */
	assert_int_equal(PQtransactionStatus(e->conn), PQTRANS_INTRANS);
	pgtest_exec(e->conn, "COMMIT");
	/* a refusal carries no result; a success always one */
	if (e->resp->status != LMS__RPC__STATUS__OK)
		assert_int_equal(e->resp->result_case,
		                 LMS__RPC__RESPONSE__RESULT__NOT_SET);
	else
		assert_int_not_equal(e->resp->result_case,
		                     LMS__RPC__RESPONSE__RESULT__NOT_SET);
	size_t len = lms__rpc__response__get_packed_size(e->resp);
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	lms__rpc__response__pack(e->resp, buf);
	trace_bytes(e, buf, len);
	free(buf);
	return e->resp;
}

void env_end(struct env *e)
{
	assert_int_equal(PQtransactionStatus(e->conn), PQTRANS_INTRANS);
	pgtest_exec(e->conn, "COMMIT");
}

Lms__Rpc__Response *env_ok(struct env *e, Lms__Rpc__Response *r,
                           const char *what)
{
	if (r->status != LMS__RPC__STATUS__OK)
		fail_msg("%s refused (status %d): %s", what, (int)r->status,
		         r->message);
	(void)e;
	return r;
}

void env_refused(struct env *e, Lms__Rpc__Response *r, int status,
                 const char *msg, char *before, const char *what)
{
	if ((int)r->status != status)
		fail_msg("%s: expected status %d, got %d (\"%s\")", what,
		         status, (int)r->status, r->message);
	if (msg && !strstr(r->message, msg))
		fail_msg("%s: message \"%s\" does not say \"%s\"", what,
		         r->message, msg);
	char *after = env_digest(e);
	if (strcmp(before, after) != 0)
		fail_msg("%s: refused, but the tables changed", what);
	free(before);
	free(after);
}

/* ---------------------------------------------------------- queries */

char *env_table_md5(struct env *e, const char *table)
{
	int i = 0;
	while (env_tables[i] && strcmp(env_tables[i], table) != 0)
		i++;
	assert_non_null(env_tables[i]);
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SELECT md5(COALESCE(string_agg(t::text, ',' ORDER BY %s), "
	         "'')) FROM lms.%s t", table_keys[i], table);
	return pgtest_value(e->conn, sql);
}

char *env_digest(struct env *e)
{
	size_t cap = 2048, len = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	out[0] = '\0';
	for (int i = 0; env_tables[i]; i++) {
		char *m = env_table_md5(e, env_tables[i]);
		len += (size_t)snprintf(out + len, cap - len, "%s=%s;",
		                        env_tables[i], m);
		assert_true(len < cap);
		free(m);
	}
	return out;
}

static PGresult *env_run(struct env *e, const char *sql, int n, va_list ap)
{
	const char *v[16];
	assert_true(n <= 16);
	for (int i = 0; i < n; i++)
		v[i] = va_arg(ap, const char *);
	PGresult *res = PQexecParams(e->conn, sql, n, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(e->conn));
		PQclear(res);
		fail_msg("\"%s\" did not return one row: %s", sql, msg);
	}
	return res;
}

char *env_value(struct env *e, const char *sql, int n, ...)
{
	va_list ap;
	va_start(ap, n);
	PGresult *res = env_run(e, sql, n, ap);
	va_end(ap);
	char *s = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_non_null(s);
	return s;
}

int64_t env_int(struct env *e, const char *sql, int n, ...)
{
	va_list ap;
	va_start(ap, n);
	PGresult *res = env_run(e, sql, n, ap);
	va_end(ap);
	int64_t v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

/* -------------------------------------------------- building blocks */

int64_t mk_bootstrap(struct env *e, const char *username)
{
	Lms__Rpc__BootstrapCmd c = LMS__RPC__BOOTSTRAP_CMD__INIT;
	char hash[128];
	snprintf(hash, sizeof hash, "hash-%s", username);
	c.username = (char *)username;
	c.display_name = (char *)username;
	c.password_hash = hash;
	Lms__Rpc__Response *r = OK(e, NULL, apply_bootstrap, &c);
	return (int64_t)r->bootstrap->user->id;
}

int64_t mk_user(struct env *e, const char *as, const char *username,
                Lms__Rpc__Role role)
{
	Lms__Rpc__UserCreateCmd c = LMS__RPC__USER_CREATE_CMD__INIT;
	char hash[128], display[128];
	snprintf(hash, sizeof hash, "hash-%s", username);
	snprintf(display, sizeof display, "User %s", username);
	c.username = (char *)username;
	c.display_name = display;
	c.role = role;
	c.password_hash = hash;
	Lms__Rpc__Response *r = OK(e, as, apply_user_create, &c);
	return (int64_t)r->user_create->user->id;
}

int64_t mk_course(struct env *e, const char *as, const char *code)
{
	Lms__Rpc__CourseCreateRequest c = LMS__RPC__COURSE_CREATE_REQUEST__INIT;
	char title[128];
	snprintf(title, sizeof title, "Course %s", code);
	c.code = (char *)code;
	c.title = title;
	Lms__Rpc__Response *r = OK(e, as, apply_course_create, &c);
	return (int64_t)r->course_create->course->id;
}

void mk_enroll(struct env *e, const char *as, const char *course,
               const char *username, Lms__Rpc__CourseRole role)
{
	Lms__Rpc__EnrollRequest c = LMS__RPC__ENROLL_REQUEST__INIT;
	c.course = (char *)course;
	c.username = (char *)username;
	c.role = role;
	OK(e, as, apply_enroll, &c);
}

int64_t mk_assignment(struct env *e, const char *as, const char *course,
                      const struct asg_spec *s)
{
	char opens[LMS_ISO_MAX], due[LMS_ISO_MAX], cutoff[LMS_ISO_MAX] = "";
	Lms__Rpc__AssignmentCreateRequest c =
		LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT;
	c.course = (char *)course;
	c.title = "Homework";
	c.description = "Do it.";
	c.opens_at = (char *)env_time(e, s->opens, opens);
	c.due_at = (char *)env_time(e, s->due, due);
	if (s->cutoff >= 0)
		env_time(e, s->cutoff, cutoff);
	c.cutoff_at = cutoff;
	c.max_points = s->max_points ? s->max_points : 100;
	c.late_penalty_pct = s->penalty;
	c.penalty_floor_pct = s->floor;
	c.max_attempts = s->max_attempts;
	Lms__Rpc__Response *r = OK(e, as, apply_assignment_create, &c);
	return (int64_t)r->assignment_create->assignment->id;
}

int64_t mk_submit(struct env *e, const char *as, int64_t assignment,
                  const char *text)
{
	Lms__Rpc__SubmitRequest c = LMS__RPC__SUBMIT_REQUEST__INIT;
	c.assignment_id = (uint64_t)assignment;
	c.text = (char *)text;
	Lms__Rpc__Response *r = OK(e, as, apply_submit, &c);
	return (int64_t)r->submit->submission->id;
}

int64_t mk_material(struct env *e, const char *as, const char *course,
                    const char *title, unsigned chunks)
{
	Lms__Rpc__File f = LMS__RPC__FILE__INIT;
	f.name = "notes.txt";
	f.media_type = "text/plain";
	f.data.data = (uint8_t *)"some notes";
	f.data.len = 10;
	f.size = 10;
	f.sha256 = "00";
	Lms__Rpc__MaterialUploadRequest u =
		LMS__RPC__MATERIAL_UPLOAD_REQUEST__INIT;
	u.course = (char *)course;
	u.title = (char *)title;
	u.topic = "misc";
	u.file = &f;
	Lms__Rpc__ChunkText ks[16], *kp[16];
	char bodies[16][64];
	assert_true(chunks <= 16);
	for (unsigned i = 0; i < chunks; i++) {
		lms__rpc__chunk_text__init(&ks[i]);
		snprintf(bodies[i], sizeof bodies[i], "%s chunk %u", title, i);
		ks[i].text = bodies[i];
		kp[i] = &ks[i];
	}
	Lms__Rpc__MaterialUploadCmd c = LMS__RPC__MATERIAL_UPLOAD_CMD__INIT;
	c.upload = &u;
	c.kind = "txt";
	c.n_chunks = chunks;
	c.chunks = kp;
	Lms__Rpc__Response *r = OK(e, as, apply_material_upload, &c);
	return (int64_t)r->material_upload->material->id;
}

int64_t mk_query(struct env *e, const char *as, const char *course,
                 Lms__Rpc__QueryTarget to, const char *body)
{
	Lms__Rpc__QueryPostRequest c = LMS__RPC__QUERY_POST_REQUEST__INIT;
	c.course = (char *)course;
	c.body = (char *)body;
	c.to = to;
	Lms__Rpc__Response *r = OK(e, as, apply_query_post, &c);
	return (int64_t)r->query_post->query->id;
}

void mk_people(struct env *e)
{
	mk_bootstrap(e, "root");
	mk_user(e, "root", "ins", LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	mk_user(e, "root", "ins2", LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	mk_user(e, "root", "ta", LMS__RPC__ROLE__ROLE_STUDENT);
	mk_user(e, "root", "stu1", LMS__RPC__ROLE__ROLE_STUDENT);
	mk_user(e, "root", "stu2", LMS__RPC__ROLE__ROLE_STUDENT);
	mk_user(e, "root", "stu3", LMS__RPC__ROLE__ROLE_STUDENT);
	mk_user(e, "root", "tutor", LMS__RPC__ROLE__ROLE_TUTOR);
}

void mk_courses(struct env *e)
{
	mk_course(e, "ins", "CS101");
	mk_enroll(e, "ins", "CS101", "ta", LMS__RPC__COURSE_ROLE__COURSE_TA);
	mk_enroll(e, "ins", "CS101", "stu1",
	          LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	mk_enroll(e, "ins", "CS101", "stu2",
	          LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	mk_course(e, "ins2", "MA201");
	mk_enroll(e, "ins2", "MA201", "stu3",
	          LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
}

/*
 * svc_util.c -- see svc_util.h.
 */
#include "svc_util.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isotime.h"
#include "sha256.h"
#include "util.h"

#define SV_CALL_TIMEOUT_MS 20000

bool sv_is_write(Lms__Rpc__Request__OpCase op)
{
	switch (op) {
	case LMS__RPC__REQUEST__OP_BOOTSTRAP:
	case LMS__RPC__REQUEST__OP_LOGIN:
	case LMS__RPC__REQUEST__OP_LOGOUT:
	case LMS__RPC__REQUEST__OP_USER_CREATE:
	case LMS__RPC__REQUEST__OP_PASSWORD_CHANGE:
	case LMS__RPC__REQUEST__OP_COURSE_CREATE:
	case LMS__RPC__REQUEST__OP_ENROLL:
	case LMS__RPC__REQUEST__OP_ASSIGNMENT_CREATE:
	case LMS__RPC__REQUEST__OP_EXTENSION:
	case LMS__RPC__REQUEST__OP_SUBMIT:
	case LMS__RPC__REQUEST__OP_GRADE:
	case LMS__RPC__REQUEST__OP_MATERIAL_UPLOAD:
	case LMS__RPC__REQUEST__OP_QUERY_POST:
	case LMS__RPC__REQUEST__OP_QUERY_ANSWER:
	case LMS__RPC__REQUEST__OP_QUERY_CLAIM:
	case LMS__RPC__REQUEST__OP_QUERY_RELEASE:
	case LMS__RPC__REQUEST__OP_MIGRATE:
	case LMS__RPC__REQUEST__OP_KV_PUT:
	case LMS__RPC__REQUEST__OP_KV_CAS:
	case LMS__RPC__REQUEST__OP_KV_DELETE:
		return true;
	default:
		return false;
	}
}

Lms__Rpc__Response *sv_call(struct lmsc *c, const char *token,
                            Lms__Rpc__Request *req)
{
	req->token = (char *)(token ? token : "");
	Lms__Rpc__Response *r = NULL;
	int rv = lmsc_call(c, req, &r, sv_is_write(req->op_case) ? LMSC_WRITE
	                                                          : 0);
	if (rv != 0 || !r)
		fail_msg("request (operation %d) got no answer: %s (%s)",
		         (int)req->op_case, strerror(-rv), lmsc_errmsg(c));
	return r;
}

Lms__Rpc__Response *sv_op(struct lmsc *c, const char *token,
                          Lms__Rpc__Request__OpCase op, void *msg)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = op;
	req.kv_put = msg; /* every member of the oneof is a message pointer */
	return sv_call(c, token, &req);
}

Lms__Rpc__Response *sv_call_node(struct cluster *cl, unsigned id,
                                 const char *token, Lms__Rpc__Request *req,
                                 int *rv)
{
	struct lmsc_node ln = {0};
	ln.id = id;
	snprintf(ln.host, sizeof ln.host, "%s", cl->nodes[id].host);
	ln.port = (uint16_t)cl->nodes[id].client_port;
	struct lmsc_options lo;
	lmsc_options_default(&lo);
	lo.request_timeout_ms = SV_CALL_TIMEOUT_MS;
	lo.total_timeout_ms = SV_CALL_TIMEOUT_MS;
	struct lmsc *c = lmsc_new(&ln, 1, &lo);
	assert_non_null(c);
	req->token = (char *)(token ? token : "");
	/* a fresh client id: seq 1 is its first write */
	req->seq = sv_is_write(req->op_case) ? 1 : 0;
	Lms__Rpc__Response *r = NULL;
	int e = lmsc_call_node(c, 0, req, &r);
	if (rv)
		*rv = e;
	if (e != 0) {
		lmsc_response_free(r);
		r = NULL;
	}
	lmsc_free(c);
	return r;
}

const char *sv_describe(const Lms__Rpc__Response *r)
{
	static char buf[600];
	if (!r)
		return "no answer";
	snprintf(buf, sizeof buf, "%s: %s", lmsc_status_name(r->status),
	         r->message && *r->message ? r->message : "(no message)");
	return buf;
}

void sv_expect(const Lms__Rpc__Response *r, int want, const char *fmt, ...)
{
	if (r && (int)r->status == want)
		return;
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	fail_msg("%s: expected %s, got %s", what, lmsc_status_name(want),
	         sv_describe(r));
}

const ProtobufCMessage *sv_result(const Lms__Rpc__Response *r)
{
	if (!r || r->result_case == LMS__RPC__RESPONSE__RESULT__NOT_SET)
		return NULL;
	/* every member of the result oneof is a message pointer */
	return (const ProtobufCMessage *)r->kv_put;
}

uint8_t *sv_result_pack(const Lms__Rpc__Response *r, size_t *len)
{
	const ProtobufCMessage *m = sv_result(r);
	*len = 0;
	if (!m)
		return NULL;
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	assert_non_null(buf);
	*len = protobuf_c_message_pack(m, buf);
	return buf;
}

/* ------------------------------------------------------------- times */

char *sv_iso_in(int64_t offset_s, char *buf)
{
	return lms_iso_format(lms_wall_ms() + offset_s * 1000, buf,
	                      LMS_ISO_MAX);
}

int64_t sv_iso_ms(const char *iso)
{
	int64_t ms;
	if (!iso || lms_iso_parse(iso, &ms) != 0)
		fail_msg("\"%s\" is not an ISO-8601 time", iso ? iso : "(null)");
	return ms;
}

void sv_expect_recent(const char *iso, int64_t slack_s, const char *what)
{
	int64_t ms = sv_iso_ms(iso);
	int64_t now = lms_wall_ms();
	int64_t d = ms > now ? ms - now : now - ms;
	if (d > slack_s * 1000) {
		char buf[LMS_ISO_MAX];
		fail_msg("%s is %s, but the wall clock says %s (%" PRId64
		         " s apart): the leader must stamp real UTC times",
		         what, iso, lms_iso_format(now, buf, sizeof buf),
		         d / 1000);
	}
}

/* ------------------------------------------------------------ schema */

static const char *sv_source_dir(void)
{
	const char *env = getenv("LMS_SOURCE_DIR");
	return env && *env ? env : LMS_SOURCE_DIR;
}

static char *sv_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = (size_t)n;
	return buf;
}

void sv_sha256_hex(const void *data, size_t len, char hex[65])
{
	uint8_t sum[LMS_SHA256_LEN];
	lms_sha256(data, len, sum);
	lms_hex_encode(sum, sizeof sum, hex);
}

Lms__Rpc__Migration *sv_migration_load(const char *dir, unsigned version)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open \"%s\": %s", dir, strerror(errno));
	char prefix[8];
	snprintf(prefix, sizeof prefix, "%03u_", version);
	struct dirent *e;
	Lms__Rpc__Migration *m = NULL;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (strncmp(e->d_name, prefix, 4) != 0 || n < 9 ||
		    strcmp(e->d_name + n - 4, ".sql") != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t len = 0;
		char *sql = sv_read_file(path, &len);
		if (!sql)
			fail_msg("cannot read \"%s\"", path);
		m = malloc(sizeof *m);
		assert_non_null(m);
		lms__rpc__migration__init(m);
		m->version = version;
		m->name = strndup(e->d_name + 4, n - 8);
		m->sql = sql;
		m->checksum = malloc(65);
		assert_non_null(m->name);
		assert_non_null(m->checksum);
		sv_sha256_hex(sql, len, m->checksum);
		break;
	}
	closedir(d);
	if (!m)
		fail_msg("no migration %03u in \"%s\"", version, dir);
	return m;
}

void sv_migration_free(Lms__Rpc__Migration *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->sql);
	free(m->checksum);
	free(m);
}

unsigned sv_install_schema(struct cluster *cl, struct lmsc *c)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/migrations", sv_source_dir());
	unsigned n = 0;
	uint64_t last = 0;
	for (unsigned v = 1;; v++) {
		char probe[16];
		snprintf(probe, sizeof probe, "%03u_", v);
		DIR *d = opendir(dir);
		assert_non_null(d);
		bool found = false;
		struct dirent *e;
		while (!found && (e = readdir(d)))
			found = strncmp(e->d_name, probe, 4) == 0;
		closedir(d);
		if (!found)
			break;
		Lms__Rpc__Migration *m = sv_migration_load(dir, v);
		Lms__Rpc__MigrateRequest mr = LMS__RPC__MIGRATE_REQUEST__INIT;
		mr.migration = m;
		Lms__Rpc__Response *r = SV_CALL(c, NULL, migrate, MIGRATE, &mr);
		sv_expect(r, LMS__RPC__STATUS__OK, "migration %03u_%s", v,
		          m->name);
		if (r->result_case == LMS__RPC__RESPONSE__RESULT_MIGRATE)
			last = r->migrate->migration->applied_index;
		lmsc_response_free(r);
		sv_migration_free(m);
		n++;
	}
	if (n == 0)
		fail_msg("no migrations in \"%s\"", dir);
	cl_wait_applied_all(cl, last, SV_CONVERGE_MS);
	return n;
}

/* ------------------------------------------------------------ setup */

void sv_bootstrap(struct lmsc *c, const char *user, const char *pw)
{
	Lms__Rpc__BootstrapRequest b = LMS__RPC__BOOTSTRAP_REQUEST__INIT;
	b.username = (char *)user;
	b.password = (char *)pw;
	Lms__Rpc__Response *r = SV_CALL(c, NULL, bootstrap, BOOTSTRAP, &b);
	sv_expect(r, LMS__RPC__STATUS__OK, "bootstrap %s", user);
	lmsc_response_free(r);
}

void sv_login(struct lmsc *c, const char *user, const char *pw,
              char token[65])
{
	Lms__Rpc__LoginRequest l = LMS__RPC__LOGIN_REQUEST__INIT;
	l.username = (char *)user;
	l.password = (char *)pw;
	Lms__Rpc__Response *r = SV_CALL(c, NULL, login, LOGIN, &l);
	sv_expect(r, LMS__RPC__STATUS__OK, "login %s", user);
	if (r->result_case != LMS__RPC__RESPONSE__RESULT_LOGIN ||
	    strlen(r->login->token) != 64)
		fail_msg("login %s: no 64-digit token in the answer", user);
	snprintf(token, 65, "%s", r->login->token);
	lmsc_response_free(r);
}

void sv_user(struct lmsc *c, const char *admin, const char *user,
             const char *pw, Lms__Rpc__Role role)
{
	Lms__Rpc__UserCreateRequest u = LMS__RPC__USER_CREATE_REQUEST__INIT;
	u.username = (char *)user;
	u.password = (char *)pw;
	u.role = role;
	Lms__Rpc__Response *r = SV_CALL(c, admin, user_create, USER_CREATE, &u);
	sv_expect(r, LMS__RPC__STATUS__OK, "create user %s", user);
	lmsc_response_free(r);
}

uint64_t sv_course(struct lmsc *c, const char *token, const char *code,
                   const char *title)
{
	Lms__Rpc__CourseCreateRequest q = LMS__RPC__COURSE_CREATE_REQUEST__INIT;
	q.code = (char *)code;
	q.title = (char *)title;
	Lms__Rpc__Response *r = SV_CALL(c, token, course_create, COURSE_CREATE,
	                                &q);
	sv_expect(r, LMS__RPC__STATUS__OK, "create course %s", code);
	uint64_t id = r->course_create->course->id;
	lmsc_response_free(r);
	return id;
}

void sv_enroll(struct lmsc *c, const char *token, const char *course,
               const char *user, Lms__Rpc__CourseRole role)
{
	Lms__Rpc__EnrollRequest e = LMS__RPC__ENROLL_REQUEST__INIT;
	e.course = (char *)course;
	e.username = (char *)user;
	e.role = role;
	Lms__Rpc__Response *r = SV_CALL(c, token, enroll, ENROLL, &e);
	sv_expect(r, LMS__RPC__STATUS__OK, "enroll %s in %s", user, course);
	lmsc_response_free(r);
}

uint64_t sv_assignment(struct lmsc *c, const char *token, const char *course,
                       const char *title)
{
	char opens[LMS_ISO_MAX], due[LMS_ISO_MAX];
	Lms__Rpc__AssignmentCreateRequest a =
		LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT;
	a.course = (char *)course;
	a.title = (char *)title;
	a.description = "Write something.";
	a.opens_at = sv_iso_in(-3600, opens);
	a.due_at = sv_iso_in(7 * 86400, due);
	a.max_points = 100;
	Lms__Rpc__Response *r = SV_CALL(c, token, assignment_create,
	                                ASSIGNMENT_CREATE, &a);
	sv_expect(r, LMS__RPC__STATUS__OK, "create assignment %s in %s", title,
	          course);
	uint64_t id = r->assignment_create->assignment->id;
	lmsc_response_free(r);
	return id;
}

uint64_t sv_submit(struct lmsc *c, const char *token, uint64_t assignment,
                   const char *text, uint32_t *attempt)
{
	Lms__Rpc__SubmitRequest s = LMS__RPC__SUBMIT_REQUEST__INIT;
	s.assignment_id = assignment;
	s.text = (char *)text;
	Lms__Rpc__Response *r = SV_CALL(c, token, submit, SUBMIT, &s);
	sv_expect(r, LMS__RPC__STATUS__OK, "submit to assignment %" PRIu64,
	          assignment);
	uint64_t id = r->submit->submission->id;
	if (attempt)
		*attempt = r->submit->submission->attempt;
	lmsc_response_free(r);
	return id;
}

void sv_grade(struct lmsc *c, const char *token, uint64_t submission,
              double score, const char *feedback)
{
	Lms__Rpc__GradeRequest g = LMS__RPC__GRADE_REQUEST__INIT;
	g.submission_id = submission;
	g.score = score;
	g.feedback = (char *)feedback;
	Lms__Rpc__Response *r = SV_CALL(c, token, grade, GRADE, &g);
	sv_expect(r, LMS__RPC__STATUS__OK, "grade submission %" PRIu64,
	          submission);
	lmsc_response_free(r);
}

uint64_t sv_material_txt(struct lmsc *c, const char *token,
                         const char *course, const char *title,
                         const char *text)
{
	Lms__Rpc__File f = LMS__RPC__FILE__INIT;
	char name[128];
	snprintf(name, sizeof name, "%s.txt", title);
	f.name = name;
	f.data.data = (uint8_t *)text;
	f.data.len = strlen(text);
	Lms__Rpc__MaterialUploadRequest m =
		LMS__RPC__MATERIAL_UPLOAD_REQUEST__INIT;
	m.course = (char *)course;
	m.title = (char *)title;
	m.topic = "general";
	m.file = &f;
	Lms__Rpc__Response *r = SV_CALL(c, token, material_upload,
	                                MATERIAL_UPLOAD, &m);
	sv_expect(r, LMS__RPC__STATUS__OK, "upload %s to %s", name, course);
	uint64_t id = r->material_upload->material->id;
	lmsc_response_free(r);
	return id;
}

uint64_t sv_query_post(struct lmsc *c, const char *token, const char *course,
                       const char *body, Lms__Rpc__QueryTarget to)
{
	Lms__Rpc__QueryPostRequest q = LMS__RPC__QUERY_POST_REQUEST__INIT;
	q.course = (char *)course;
	q.body = (char *)body;
	q.to = to;
	Lms__Rpc__Response *r = SV_CALL(c, token, query_post, QUERY_POST, &q);
	sv_expect(r, LMS__RPC__STATUS__OK, "post a question in %s", course);
	uint64_t id = r->query_post->query->id;
	lmsc_response_free(r);
	return id;
}

uint64_t sv_max_applied(struct cluster *cl)
{
	unsigned ids[CL_MAX_NODES];
	size_t n = cl_live_members(cl, ids);
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++) {
		struct cl_status st;
		if (cl_status(cl, ids[i], &st) == 0 && st.applied > max)
			max = st.applied;
	}
	return max;
}

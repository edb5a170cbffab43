/*
 * service.c -- the LMS operations on the client port (layer 3 of
 * DESIGN.md): for each request, the checks that do not depend on state,
 * the non-deterministic parts fixed into a command, and the hand-over to
 * Raft (writes) or to the reader thread (reads). Roles and state are
 * checked by apply and by the read functions (lmsd/svc/), on the
 * replicated tables, never here.
 *
 * A write is handled on the leader only (a follower relays the request:
 * node_not_leader), so "now" is the leader's clock. Work that is slow
 * runs on the node's CPU thread, never on the event loop: scrypt (0.1-0.3 s
 * per hash), SHA-256 of uploads, PDF text extraction (in a sandboxed child,
 * lmsd/ingest). Then the command is proposed; its recorded answer (an
 * encoded Response) becomes the client's answer.
 *
 *   login:           leader? -> read the password hash (ReadIndex, reader
 *                    thread) -> CPU: scrypt check, new token -> propose
 *                    SessionCreate{hash of the token, verified hash}
 *   password change: read the hash behind the session -> CPU: check old,
 *                    hash new -> propose
 *   bootstrap, user create: CPU: hash -> propose
 *   uploads:         CPU: checksum (+ text extraction) -> propose
 *   others:          propose at once
 *
 * The session token is 32 random bytes (getrandom), given to the client
 * as 64 hex digits; the log and the tables hold only its SHA-256.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libscrypt.h>

#include "config.h"
#include "ingest.h"
#include "isotime.h"
#include "log.h"
#include "node_internal.h"
#include "sha256.h"
#include "svc_machine.h"
#include "util.h"

#define TOKEN_BYTES 32
#define CHUNK_TARGET_BYTES 2000
#define CHUNK_OVERLAP_BYTES 200

/* A write in preparation: c->svc while the call lives. */
struct job {
	struct pgs_buf enc;       /* the encoded command, once built */
	Lms__Rpc__Status status;  /* refusal found by a preparation step */
	char msg[256];
	/* login and password change */
	char *hash;               /* stored password hash read */
	char *username;           /* whose */
	bool found;
	char token_hex[2 * TOKEN_BYTES + 1];
	bool login;
};

static void job_free(void *p)
{
	struct job *j = p;
	if (!j)
		return;
	pgs_buf_free(&j->enc);
	free(j->hash);
	free(j->username);
	free(j);
}

static struct job *job_of(struct call *c)
{
	if (!c->svc) {
		c->svc = calloc(1, sizeof(struct job));
		c->svc_free = job_free;
	}
	return c->svc;
}

static void job_refuse(struct job *j, Lms__Rpc__Status st, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));
static void job_refuse(struct job *j, Lms__Rpc__Status st, const char *fmt,
                       ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->msg, sizeof j->msg, fmt, ap);
	va_end(ap);
	j->status = st;
}

/* ------------------------------------------------------- validation */

/* Refuses the call INVALID_ARGUMENT; false, for `return BAD(...)`. */
static bool BAD(struct call *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool BAD(struct call *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT, "%s", msg);
	return false;
}

/* A text field: valid UTF-8, min..max bytes; one line unless multiline. */
static bool text_ok(struct call *c, const char *what, const char *s,
                    size_t min, size_t max, bool multiline)
{
	size_t len = s ? strlen(s) : 0;
	if (len < min)
		return min == 1 ? BAD(c, "%s is required", what)
		                : BAD(c, "%s must be at least %zu bytes", what,
		                      min);
	if (len > max) {
		call_finish(c, LMS__RPC__STATUS__TOO_LARGE,
		            "%s is %zu bytes; at most %zu are allowed", what, len,
		            max);
		return false;
	}
	if (!lms_utf8_valid(s, len))
		return BAD(c, "%s is not valid UTF-8", what);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 && !(multiline && (ch == '\n' || ch == '\t' ||
		                                 ch == '\r')))
			return BAD(c, "%s contains a control character", what);
	}
	return true;
}

static bool long_text_ok(struct call *c, const char *what, const char *s,
                         bool required)
{
	return text_ok(c, what, s, required ? 1 : 0, node_max_text(c->node),
	               true);
}

/* [a-z0-9][a-z0-9_.-]* (and upper case for course codes). */
static bool ident_ok(struct call *c, const char *what, const char *s,
                     size_t max, bool upper)
{
	size_t len = s ? strlen(s) : 0;
	if (len == 0)
		return BAD(c, "%s is required", what);
	if (len > max)
		return BAD(c, "%s is longer than %zu characters", what, max);
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		             (upper && ch >= 'A' && ch <= 'Z');
		if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
			return BAD(c, "%s \"%.*s\" may hold only %s, digits, "
			           "'_', '.' and '-', starting with a letter or "
			           "digit", what, (int)(len > 64 ? 64 : len), s,
			           upper ? "letters" : "lower-case letters");
	}
	return true;
}

static bool username_ok(struct call *c, const char *s)
{
	return ident_ok(c, "username", s, SVC_USERNAME_MAX, false);
}

static bool code_ok(struct call *c, const char *s)
{
	return ident_ok(c, "course code", s, SVC_CODE_MAX, true);
}

static bool password_ok(struct call *c, const char *what, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	if (len < SVC_PASSWORD_MIN)
		return BAD(c, "%s must be at least %d characters", what,
		           SVC_PASSWORD_MIN);
	if (len > SVC_PASSWORD_MAX)
		return BAD(c, "%s is longer than %d bytes", what,
		           SVC_PASSWORD_MAX);
	if (!lms_utf8_valid(s, len))
		return BAD(c, "%s is not valid UTF-8", what);
	return true;
}

/* Replaces *field (a malloc'd string of the request) by its canonical
 * form; "" stays "" unless required. */
static bool time_norm(struct call *c, const char *what, char **field,
                      bool required, int64_t *ms)
{
	if (!*field || !**field) {
		if (required)
			return BAD(c, "%s is required", what);
		if (ms)
			*ms = -1;
		return true;
	}
	int64_t v;
	if (lms_iso_parse(*field, &v) != 0)
		return BAD(c, "%s \"%.40s\" is not an ISO-8601 time with a zone "
		           "(e.g. 2026-11-23T17:00:00Z)", what, *field);
	char buf[LMS_ISO_MAX];
	char *canon = strdup(lms_iso_format(v, buf, sizeof buf));
	if (!canon) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return false;
	}
	if (*field != protobuf_c_empty_string)
		free(*field);
	*field = canon;
	if (ms)
		*ms = v;
	return true;
}

/* A score or a number of points: finite, 0..SVC_POINTS_MAX, at most two
 * decimals. */
static bool points_ok(struct call *c, const char *what, double v, double max)
{
	if (!isfinite(v) || v < 0 || v > max)
		return BAD(c, "%s must be between 0 and %g", what, max);
	if (fabs(v * 100.0 - (double)llround(v * 100.0)) > 1e-6)
		return BAD(c, "%s may have at most two decimals", what);
	return true;
}

/* A file of a request: name and size checked here; checksum and size are
 * computed on the CPU thread (file_stamp). */
static bool file_ok(struct call *c, const Lms__Rpc__File *f)
{
	if (!f)
		return true;
	if (!text_ok(c, "file name", f->name, 1, SVC_FILENAME_MAX, false))
		return false;
	if (!text_ok(c, "media type", f->media_type, 0, SVC_MEDIA_TYPE_MAX,
	             false))
		return false;
	size_t max = c->node ? node_limits(c->node)->max_upload_bytes : 0;
	if (f->data.len > max) {
		call_finish(c, LMS__RPC__STATUS__TOO_LARGE,
		            "file \"%.60s\" is %zu bytes; uploads may be at most "
		            "%zu bytes (limits.max_upload_bytes)", f->name,
		            f->data.len, max);
		return false;
	}
	return true;
}

/* Size, SHA-256 and media type of an uploaded file (CPU thread). */
static void file_stamp(Lms__Rpc__File *f)
{
	if (!f)
		return;
	uint8_t sum[LMS_SHA256_LEN];
	char hex[2 * LMS_SHA256_LEN + 1];
	lms_sha256(f->data.data, f->data.len, sum);
	lms_hex_encode(sum, sizeof sum, hex);
	if (f->sha256 != protobuf_c_empty_string)
		free(f->sha256);
	f->sha256 = strdup(hex);
	f->size = f->data.len;
	if (!f->media_type || !*f->media_type) {
		const char *t = "application/octet-stream";
		if (f->data.len >= 5 && memcmp(f->data.data, "%PDF-", 5) == 0)
			t = "application/pdf";
		else if (f->data.len == 0 || /* data is NULL then */
		         (lms_utf8_valid((const char *)f->data.data,
		                         f->data.len) &&
		          !memchr(f->data.data, 0, f->data.len)))
			t = "text/plain";
		if (f->media_type != protobuf_c_empty_string)
			free(f->media_type);
		f->media_type = strdup(t);
	}
}

/* -------------------------------------------------------- commands */

/*
 * Encodes the command of the call into its job: op (the oneof case) with
 * msg (its message), the leader's time now, and the SHA-256 of the
 * caller's token unless without_token (login). The job keeps the bytes;
 * msg may be on the caller's stack. A failure is left in the job.
 */
static void build_command(struct call *c, Lms__Rpc__Command__OpCase op,
                          void *msg, uint32_t min_schema, bool without_token)
{
	struct job *j = c->svc;
	Lms__Rpc__Command cmd;
	lms__rpc__command__init(&cmd);
	cmd.min_schema = min_schema;
	char now[LMS_ISO_MAX];
	lms_iso_format(lms_wall_ms(), now, sizeof now);
	cmd.now = now;
	uint8_t hash[LMS_SHA256_LEN];
	const char *tok = c->req->token;
	uint8_t raw[TOKEN_BYTES];
	if (!without_token && tok && strlen(tok) == 2 * TOKEN_BYTES &&
	    lms_hex_decode(tok, strlen(tok), raw, sizeof raw) == 0) {
		lms_sha256(raw, sizeof raw, hash);
		cmd.token_hash.data = hash;
		cmd.token_hash.len = sizeof hash;
	}
	cmd.op_case = op;
	cmd.bootstrap = msg; /* the oneof's pointer: any member will do */
	if (svc_command_encode(&cmd, &j->enc) != 0)
		job_refuse(j, LMS__RPC__STATUS__INTERNAL, "out of memory");
}

/* Moves the recorded Response into the call's and finishes it. */
static void write_result(struct call *c, const struct pgs_apply_result *res)
{
	Lms__Rpc__Response *r = res->result_len
		? lms__rpc__response__unpack(NULL, res->result_len, res->result)
		: NULL;
	if (!r) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL,
		            "entry %llu has no readable result",
		            (unsigned long long)res->index);
		return;
	}
	struct job *j = c->svc;
	if (r->result_case != LMS__RPC__RESPONSE__RESULT__NOT_SET) {
		c->resp.result_case = r->result_case;
		c->resp.kv_put = r->kv_put; /* the oneof's pointer, any member */
		c->result = (ProtobufCMessage *)r->kv_put;
		r->result_case = LMS__RPC__RESPONSE__RESULT__NOT_SET;
	}
	int status = r->status;
	char msg[512];
	snprintf(msg, sizeof msg, "%s", r->message ? r->message : "");
	lms__rpc__response__free_unpacked(r, NULL);
	if (j && j->login && status == LMS__RPC__STATUS__OK &&
	    c->resp.result_case == LMS__RPC__RESPONSE__RESULT_LOGIN) {
		if (res->status == PGS_DUPLICATE) {
			call_finish(c, LMS__RPC__STATUS__CONFLICT,
			            "this login was recorded before, but its token "
			            "is not known here any more: log in again");
			return;
		}
		Lms__Rpc__LoginResponse *lr = c->resp.login;
		if (lr->token != protobuf_c_empty_string)
			free(lr->token);
		lr->token = strdup(j->token_hex);
	}
	call_finish(c, status, "%s", msg);
}

static void propose_job(struct call *c)
{
	struct job *j = c->svc;
	if (j->status != LMS__RPC__STATUS__OK) {
		call_finish(c, j->status, "%s", j->msg);
		return;
	}
	node_propose(c, j->enc.data, j->enc.len, write_result);
}

/* Builds the command on the loop and proposes it. */
static void propose_cmd(struct call *c, Lms__Rpc__Command__OpCase op,
                        void *msg, uint32_t min_schema)
{
	if (!job_of(c)) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return;
	}
	build_command(c, op, msg, min_schema, false);
	propose_job(c);
}

/* Writes are prepared on the leader only: a follower relays them. */
static bool leader_or_relay(struct call *c)
{
	if (node_is_leader(c->node))
		return true;
	node_not_leader(c);
	return false;
}

/* Runs prep on the CPU thread, then proposes what it built. */
static void via_cpu(struct call *c, void (*prep)(struct call *c))
{
	if (!job_of(c)) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return;
	}
	node_cpu(c, prep, propose_job);
}

/* ---------------------------------------------------------- scrypt */

static int hash_password(struct call *c, const char *pw, char out[SCRYPT_MCF_LEN])
{
	const struct lms_auth_config *a = node_auth(c->node);
	return libscrypt_hash(out, pw, 1u << a->scrypt_log2_n,
	                      (uint8_t)a->scrypt_r, (uint8_t)a->scrypt_p) > 0
		       ? 0
		       : -1;
}

/* 1 match, 0 mismatch or unusable hash. */
static int check_password(const char *stored, const char *pw)
{
	char mcf[SCRYPT_MCF_LEN + 1];
	if (!stored || strlen(stored) > SCRYPT_MCF_LEN)
		return 0;
	snprintf(mcf, sizeof mcf, "%s", stored); /* libscrypt_check writes */
	return libscrypt_check(mcf, pw) > 0;
}

/* ------------------------------------------------------- bootstrap */

static void bootstrap_prep(struct call *c)
{
	struct job *j = c->svc;
	const Lms__Rpc__BootstrapRequest *r = c->req->bootstrap;
	char hash[SCRYPT_MCF_LEN];
	if (hash_password(c, r->password, hash) != 0) {
		job_refuse(j, LMS__RPC__STATUS__INTERNAL, "could not hash the "
		           "password");
		return;
	}
	Lms__Rpc__BootstrapCmd b = LMS__RPC__BOOTSTRAP_CMD__INIT;
	b.username = r->username;
	b.display_name = *r->display_name ? r->display_name : r->username;
	b.password_hash = hash;
	build_command(c, LMS__RPC__COMMAND__OP_BOOTSTRAP, &b, 1, false);
}

static void op_bootstrap(struct call *c)
{
	const Lms__Rpc__BootstrapRequest *r = c->req->bootstrap;
	if (!username_ok(c, r->username) ||
	    !password_ok(c, "password", r->password) ||
	    !text_ok(c, "display name", r->display_name, 0,
	             SVC_DISPLAY_NAME_MAX, false) ||
	    !leader_or_relay(c))
		return;
	via_cpu(c, bootstrap_prep);
}

/* ------------------------------------------------------------ login */

/* A well-formed hash to check against when the user does not exist, so
 * that a wrong username costs the same time as a wrong password. */
static char dummy_hash[SCRYPT_MCF_LEN];

static void login_prep(struct call *c)
{
	struct job *j = c->svc;
	const Lms__Rpc__LoginRequest *r = c->req->login;
	if (!j->found) {
		if (!dummy_hash[0])
			hash_password(c, "not a password", dummy_hash);
		check_password(dummy_hash, r->password);
		job_refuse(j, LMS__RPC__STATUS__UNAUTHENTICATED,
		           "wrong username or password");
		return;
	}
	if (!check_password(j->hash, r->password)) {
		job_refuse(j, LMS__RPC__STATUS__UNAUTHENTICATED,
		           "wrong username or password");
		return;
	}
	uint8_t token[TOKEN_BYTES], th[LMS_SHA256_LEN];
	if (getrandom(token, sizeof token, 0) != (ssize_t)sizeof token) {
		job_refuse(j, LMS__RPC__STATUS__INTERNAL, "no random bytes");
		return;
	}
	lms_hex_encode(token, sizeof token, j->token_hex);
	lms_sha256(token, sizeof token, th);
	char expires[LMS_ISO_MAX];
	lms_iso_format(lms_wall_ms() +
	                       (int64_t)node_auth(c->node)->token_lifetime_s * 1000,
	               expires, sizeof expires);
	Lms__Rpc__SessionCreateCmd s = LMS__RPC__SESSION_CREATE_CMD__INIT;
	s.username = r->username;
	s.session_hash.data = th;
	s.session_hash.len = sizeof th;
	s.expires_at = expires;
	s.verified_hash = j->hash;
	j->login = true;
	build_command(c, LMS__RPC__COMMAND__OP_SESSION_CREATE, &s, 1, true);
}

/* Reader thread: the stored hash of the user (login) or of the session's
 * user / the named user (password change). */
static void hash_lookup_run(struct call *c, struct pgs *reader)
{
	struct job *j = c->svc;
	PGconn *conn = pgs_conn(reader);
	const char *user = j->username;
	const char *params[2] = {user, NULL};
	PGresult *res;
	if (c->req->op_case == LMS__RPC__REQUEST__OP_PASSWORD_CHANGE &&
	    !*user) {
		/* the caller, by their session */
		uint8_t th[LMS_SHA256_LEN];
		const char *tok = c->req->token;
		uint8_t raw[TOKEN_BYTES];
		if (!tok || strlen(tok) != 2 * TOKEN_BYTES ||
		    lms_hex_decode(tok, strlen(tok), raw, sizeof raw) != 0) {
			job_refuse(j, LMS__RPC__STATUS__UNAUTHENTICATED,
			           "not logged in");
			return;
		}
		lms_sha256(raw, sizeof raw, th);
		int lengths[1] = {LMS_SHA256_LEN}, formats[1] = {1};
		const char *v[1] = {(const char *)th};
		res = PQexecParams(conn,
			"SELECT u.password_hash, u.username FROM lms.session s "
			"JOIN lms.app_user u ON u.id = s.user_id WHERE "
			"s.token_hash = $1 AND s.expires_at > now()",
			1, NULL, v, lengths, formats, 0);
	} else {
		res = PQexecParams(conn, "SELECT password_hash, username FROM "
		                         "lms.app_user WHERE username = $1",
		                   1, NULL, params, NULL, NULL, 0);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state && strcmp(state, "42P01") == 0)
			job_refuse(j, LMS__RPC__STATUS__FAILED_PRECONDITION,
			           "the LMS schema is not installed yet: run "
			           "lms-migrate up");
		else {
			/* the server's text stays in the node log: the caller
			 * may not even be logged in */
			LMS_WARN("could not read an account: %s",
			         PQresultErrorMessage(res));
			job_refuse(j, LMS__RPC__STATUS__UNAVAILABLE,
			           "could not read the account; retry");
		}
	} else if (PQntuples(res) == 1) {
		j->found = true;
		j->hash = strdup(PQgetvalue(res, 0, 0));
		free(j->username);
		j->username = strdup(PQgetvalue(res, 0, 1));
	} else if (c->req->op_case == LMS__RPC__REQUEST__OP_PASSWORD_CHANGE &&
	           !*user) {
		job_refuse(j, LMS__RPC__STATUS__UNAUTHENTICATED,
		           "not logged in, or the session has expired");
	}
	PQclear(res);
}

static void after_lookup(struct call *c, void (*prep)(struct call *c))
{
	struct job *j = c->svc;
	if (j->status != LMS__RPC__STATUS__OK) {
		call_finish(c, j->status, "%s", j->msg);
		return;
	}
	via_cpu(c, prep);
}

static void login_looked_up(struct call *c)
{
	after_lookup(c, login_prep);
}

/* A read of the account (ReadIndex: the latest hash), then cont. */
static void lookup_then(struct call *c, const char *username,
                        void (*cont)(struct call *c))
{
	struct job *j = job_of(c);
	if (!j || !(j->username = strdup(username ? username : ""))) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return;
	}
	c->req->consistency = LMS__RPC__CONSISTENCY__LINEARIZABLE;
	c->on_read_done = cont;
	node_read(c, hash_lookup_run);
}

static void op_login(struct call *c)
{
	const Lms__Rpc__LoginRequest *r = c->req->login;
	if (!text_ok(c, "username", r->username, 1, SVC_USERNAME_MAX, false) ||
	    !text_ok(c, "password", r->password, 1, SVC_PASSWORD_MAX, true) ||
	    !leader_or_relay(c))
		return;
	lookup_then(c, r->username, login_looked_up);
}

/* ------------------------------------------------ password change */

static void password_prep(struct call *c)
{
	struct job *j = c->svc;
	const Lms__Rpc__PasswordChangeRequest *r = c->req->password_change;
	bool with_old = r->old_password && *r->old_password;
	if (with_old && !j->found) {
		/* as login: an unknown user costs the same and says the same */
		if (!dummy_hash[0])
			hash_password(c, "not a password", dummy_hash);
		check_password(dummy_hash, r->old_password);
		job_refuse(j, LMS__RPC__STATUS__UNAUTHENTICATED,
		           "wrong username or password");
		return;
	}
	if (with_old && !check_password(j->hash, r->old_password)) {
		job_refuse(j, LMS__RPC__STATUS__UNAUTHENTICATED,
		           "the old password is wrong");
		return;
	}
	char hash[SCRYPT_MCF_LEN];
	if (hash_password(c, r->new_password, hash) != 0) {
		job_refuse(j, LMS__RPC__STATUS__INTERNAL, "could not hash the "
		           "password");
		return;
	}
	Lms__Rpc__PasswordChangeCmd p = LMS__RPC__PASSWORD_CHANGE_CMD__INIT;
	p.username = with_old ? j->username : r->username;
	p.password_hash = hash;
	p.verified_hash = with_old ? j->hash : "";
	build_command(c, LMS__RPC__COMMAND__OP_PASSWORD_CHANGE, &p, 1, false);
}

static void password_looked_up(struct call *c)
{
	after_lookup(c, password_prep);
}

static void op_password_change(struct call *c)
{
	const Lms__Rpc__PasswordChangeRequest *r = c->req->password_change;
	if ((*r->username && !username_ok(c, r->username)) ||
	    !password_ok(c, "new password", r->new_password) ||
	    !leader_or_relay(c))
		return;
	if (r->old_password && *r->old_password) {
		lookup_then(c, r->username, password_looked_up);
		return;
	}
	if (!*r->username) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "give the old password (an admin setting another "
		            "user's password names the user)");
		return;
	}
	via_cpu(c, password_prep);
}

/* ------------------------------------------------------ user create */

static void user_create_prep(struct call *c)
{
	struct job *j = c->svc;
	const Lms__Rpc__UserCreateRequest *r = c->req->user_create;
	char hash[SCRYPT_MCF_LEN];
	if (hash_password(c, r->password, hash) != 0) {
		job_refuse(j, LMS__RPC__STATUS__INTERNAL, "could not hash the "
		           "password");
		return;
	}
	Lms__Rpc__UserCreateCmd u = LMS__RPC__USER_CREATE_CMD__INIT;
	u.username = r->username;
	u.display_name = *r->display_name ? r->display_name : r->username;
	u.role = r->role;
	u.password_hash = hash;
	build_command(c, LMS__RPC__COMMAND__OP_USER_CREATE, &u, 1, false);
}

static void op_user_create(struct call *c)
{
	const Lms__Rpc__UserCreateRequest *r = c->req->user_create;
	if (!username_ok(c, r->username) ||
	    !password_ok(c, "password", r->password) ||
	    !text_ok(c, "display name", r->display_name, 0,
	             SVC_DISPLAY_NAME_MAX, false))
		return;
	if (!*svc_role_name(r->role)) {
		BAD(c, "role must be admin, instructor, student or tutor");
		return;
	}
	if (leader_or_relay(c))
		via_cpu(c, user_create_prep);
}

/* --------------------------------------------------- simple writes */


static void op_logout(struct call *c)
{
	if (leader_or_relay(c))
		propose_cmd(c, LMS__RPC__COMMAND__OP_LOGOUT, c->req->logout, 1);
}

static void op_course_create(struct call *c)
{
	Lms__Rpc__CourseCreateRequest *r = c->req->course_create;
	if (code_ok(c, r->code) &&
	    text_ok(c, "title", r->title, 1, SVC_TITLE_MAX, false) &&
	    leader_or_relay(c))
		propose_cmd(c, LMS__RPC__COMMAND__OP_COURSE_CREATE, r, 1);
}

static void op_enroll(struct call *c)
{
	Lms__Rpc__EnrollRequest *r = c->req->enroll;
	if (!code_ok(c, r->course) || !username_ok(c, r->username))
		return;
	if (r->role == LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE)
		r->role = LMS__RPC__COURSE_ROLE__COURSE_STUDENT;
	if (!*svc_course_role_name(r->role)) {
		BAD(c, "course role must be instructor, ta or student");
		return;
	}
	if (leader_or_relay(c))
		propose_cmd(c, LMS__RPC__COMMAND__OP_ENROLL, r, 1);
}

static void op_extension(struct call *c)
{
	Lms__Rpc__ExtensionRequest *r = c->req->extension;
	int64_t due, cut;
	if (r->assignment_id == 0) {
		BAD(c, "assignment id is required");
		return;
	}
	if (!username_ok(c, r->username) ||
	    !time_norm(c, "due time", &r->due_at, true, &due) ||
	    !time_norm(c, "cut-off time", &r->cutoff_at, false, &cut))
		return;
	if (cut >= 0 && cut < due) {
		BAD(c, "the cut-off must not be before the due time");
		return;
	}
	if (leader_or_relay(c))
		propose_cmd(c, LMS__RPC__COMMAND__OP_EXTENSION, r, 1);
}

static void op_grade(struct call *c)
{
	Lms__Rpc__GradeRequest *r = c->req->grade;
	if (r->submission_id == 0) {
		BAD(c, "submission id is required");
		return;
	}
	if (points_ok(c, "score", r->score, SVC_POINTS_MAX) &&
	    long_text_ok(c, "feedback", r->feedback, false) &&
	    leader_or_relay(c))
		propose_cmd(c, LMS__RPC__COMMAND__OP_GRADE, r, 1);
}

static void op_query_post(struct call *c)
{
	Lms__Rpc__QueryPostRequest *r = c->req->query_post;
	if (!code_ok(c, r->course) ||
	    !long_text_ok(c, "question", r->body, true))
		return;
	if (r->to == LMS__RPC__QUERY_TARGET__TO_UNSPECIFIED)
		r->to = LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR;
	if (r->to != LMS__RPC__QUERY_TARGET__TO_TUTOR &&
	    r->to != LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR) {
		BAD(c, "a question goes to the tutor or to the instructors");
		return;
	}
	if (leader_or_relay(c))
		propose_cmd(c, LMS__RPC__COMMAND__OP_QUERY_POST, r, 1);
}

static void op_query_answer(struct call *c)
{
	Lms__Rpc__QueryAnswerRequest *r = c->req->query_answer;
	if (r->id == 0) {
		BAD(c, "question id is required");
		return;
	}
	if (!long_text_ok(c, "answer", r->body, true) ||
	    !text_ok(c, "worker", r->worker, 0, SVC_WORKER_MAX, false))
		return;
	if (r->n_sources > SVC_SOURCES_MAX) {
		BAD(c, "at most %d sources", SVC_SOURCES_MAX);
		return;
	}
	for (size_t i = 0; i < r->n_sources; i++)
		if (!text_ok(c, "source label", r->sources[i]->label, 1, 32,
		             false) ||
		    !text_ok(c, "source title", r->sources[i]->title, 0,
		             SVC_TITLE_MAX, false))
			return;
	if (leader_or_relay(c))
		propose_cmd(c, LMS__RPC__COMMAND__OP_QUERY_ANSWER, r, 1);
}

static void op_query_release(struct call *c)
{
	Lms__Rpc__QueryReleaseRequest *r = c->req->query_release;
	if (r->id == 0) {
		BAD(c, "question id is required");
		return;
	}
	if (!text_ok(c, "worker", r->worker, 1, SVC_WORKER_MAX, false))
		return;
	if (leader_or_relay(c))
		propose_cmd(c, LMS__RPC__COMMAND__OP_QUERY_RELEASE, r, 1);
}

static void op_query_claim(struct call *c)
{
	Lms__Rpc__QueryClaimRequest *r = c->req->query_claim;
	if ((*r->course && !code_ok(c, r->course)) ||
	    !text_ok(c, "worker", r->worker, 1, SVC_WORKER_MAX, false))
		return;
	if (r->lease_ms < 1000 || r->lease_ms > 3600000) {
		BAD(c, "lease must be 1000..3600000 ms");
		return;
	}
	if (leader_or_relay(c))
		propose_cmd(c, LMS__RPC__COMMAND__OP_QUERY_CLAIM, r, 1);
}

static void op_migrate(struct call *c)
{
	Lms__Rpc__Migration *m =
		c->req->migrate->migration;
	if (!m || m->version == 0) {
		BAD(c, "migration version is required");
		return;
	}
	if (!text_ok(c, "migration name", m->name, 1, 100, false) ||
	    !text_ok(c, "migration SQL", m->sql, 1,
	             node_max_frame(c->node) / 2, true) ||
	    !leader_or_relay(c))
		return;
	propose_cmd(c, LMS__RPC__COMMAND__OP_MIGRATE, c->req->migrate, 0);
}

/* ------------------------------------------------ with files (CPU) */

static void assignment_prep(struct call *c)
{
	Lms__Rpc__AssignmentCreateRequest *r = c->req->assignment_create;
	file_stamp(r->attachment);
	if (!*r->opens_at) { /* open now: the same clock as the command's */
		char now[LMS_ISO_MAX];
		if (r->opens_at != protobuf_c_empty_string)
			free(r->opens_at);
		r->opens_at = strdup(lms_iso_format(lms_wall_ms(), now,
		                                    sizeof now));
	}
	build_command(c, LMS__RPC__COMMAND__OP_ASSIGNMENT_CREATE, r, 1, false);
}

static void op_assignment_create(struct call *c)
{
	Lms__Rpc__AssignmentCreateRequest *r = c->req->assignment_create;
	int64_t opens, due, cut;
	if (!code_ok(c, r->course) ||
	    !text_ok(c, "title", r->title, 1, SVC_TITLE_MAX, false) ||
	    !long_text_ok(c, "description", r->description, false) ||
	    !time_norm(c, "opening time", &r->opens_at, false, &opens) ||
	    !time_norm(c, "due time", &r->due_at, true, &due) ||
	    !time_norm(c, "cut-off time", &r->cutoff_at, false, &cut))
		return;
	if (opens >= 0 && due < opens) {
		BAD(c, "the due time is before the opening time");
		return;
	}
	if (cut >= 0 && cut < due) {
		BAD(c, "the cut-off is before the due time");
		return;
	}
	if (r->max_points == 0)
		r->max_points = 100;
	if (!points_ok(c, "points", r->max_points, SVC_POINTS_MAX) ||
	    !points_ok(c, "late penalty", r->late_penalty_pct, 100) ||
	    !points_ok(c, "penalty floor", r->penalty_floor_pct, 100))
		return;
	if (r->max_attempts > 1000) {
		BAD(c, "at most 1000 attempts");
		return;
	}
	if (r->n_topics > SVC_TOPICS_MAX) {
		BAD(c, "at most %d topics", SVC_TOPICS_MAX);
		return;
	}
	for (size_t i = 0; i < r->n_topics; i++)
		if (!text_ok(c, "topic", r->topics[i], 1, SVC_TOPIC_MAX, false))
			return;
	if (!file_ok(c, r->attachment) || !leader_or_relay(c))
		return;
	via_cpu(c, assignment_prep);
}

static void submit_prep(struct call *c)
{
	Lms__Rpc__SubmitRequest *r = c->req->submit;
	file_stamp(r->file);
	build_command(c, LMS__RPC__COMMAND__OP_SUBMIT, r, 1, false);
}

static void op_submit(struct call *c)
{
	Lms__Rpc__SubmitRequest *r = c->req->submit;
	if (r->assignment_id == 0) {
		BAD(c, "assignment id is required");
		return;
	}
	if (!long_text_ok(c, "text", r->text, false) || !file_ok(c, r->file))
		return;
	if (!*r->text && (!r->file || r->file->data.len == 0)) {
		BAD(c, "a submission needs a text or a file");
		return;
	}
	if (leader_or_relay(c))
		via_cpu(c, submit_prep);
}

static Lms__Rpc__Status ingest_status(int rv)
{
	switch (rv) {
	case INGEST_ERR_TOO_LARGE:
	case INGEST_ERR_TOO_MANY_PAGES:
	case INGEST_ERR_TEXT_TOO_LARGE:
		return LMS__RPC__STATUS__TOO_LARGE;
	case INGEST_ERR_NOMEM:
	case INGEST_ERR_SYSTEM:
		return LMS__RPC__STATUS__UNAVAILABLE;
	default:
		return LMS__RPC__STATUS__INVALID_ARGUMENT;
	}
}

static void material_prep(struct call *c)
{
	struct job *j = c->svc;
	Lms__Rpc__MaterialUploadRequest *r = c->req->material_upload;
	struct ingest_limits lim;
	ingest_limits_default(&lim);
	lim.max_input_bytes = node_limits(c->node)->max_upload_bytes;
	struct ingest_result res;
	struct ingest_chunks ch;
	char err[256];
	int rv = ingest_extract(r->file->data.data, r->file->data.len,
	                        r->file->name, &lim, &res, err, sizeof err);
	if (rv < 0) {
		job_refuse(j, ingest_status(rv), "%s", err);
		return;
	}
	rv = ingest_chunk(&res, CHUNK_TARGET_BYTES, CHUNK_OVERLAP_BYTES, &ch);
	if (rv < 0) {
		ingest_result_free(&res);
		job_refuse(j, LMS__RPC__STATUS__INTERNAL, "could not cut the "
		           "text into chunks");
		return;
	}
	file_stamp(r->file);
	Lms__Rpc__ChunkText *items = calloc(ch.count ? ch.count : 1,
	                                    sizeof *items);
	Lms__Rpc__ChunkText **ptrs = calloc(ch.count ? ch.count : 1,
	                                    sizeof *ptrs);
	if (!items || !ptrs) {
		job_refuse(j, LMS__RPC__STATUS__INTERNAL, "out of memory");
	} else {
		for (size_t i = 0; i < ch.count; i++) {
			lms__rpc__chunk_text__init(&items[i]);
			items[i].page = res.type == INGEST_TYPE_PDF
				                ? (uint32_t)ch.items[i].page
				                : 0;
			items[i].text = ch.items[i].text;
			ptrs[i] = &items[i];
		}
		Lms__Rpc__MaterialUploadCmd m = LMS__RPC__MATERIAL_UPLOAD_CMD__INIT;
		m.upload = r;
		m.kind = (char *)ingest_type_name(res.type);
		m.pages = res.type == INGEST_TYPE_PDF ? (uint32_t)res.page_count
		                                      : 0;
		m.warning = res.warning;
		m.n_chunks = ch.count;
		m.chunks = ptrs;
		if (res.warning[0])
			LMS_INFO("material \"%s\" stored with a warning: %s",
			         r->title, res.warning);
		build_command(c, LMS__RPC__COMMAND__OP_MATERIAL_UPLOAD, &m, 1, false);
	}
	free(items);
	free(ptrs);
	ingest_chunks_free(&ch);
	ingest_result_free(&res);
}

static void op_material_upload(struct call *c)
{
	Lms__Rpc__MaterialUploadRequest *r = c->req->material_upload;
	if (!code_ok(c, r->course) ||
	    !text_ok(c, "title", r->title, 0, SVC_TITLE_MAX, false) ||
	    !text_ok(c, "topic", r->topic, 0, SVC_TOPIC_MAX, false))
		return;
	if (!r->file || r->file->data.len == 0) {
		BAD(c, "a material needs a file (PDF or text)");
		return;
	}
	if (!file_ok(c, r->file))
		return;
	if (!*r->title) {
		char *t = strdup(r->file->name);
		if (!t) {
			call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
			return;
		}
		if (r->title != protobuf_c_empty_string)
			free(r->title);
		r->title = t;
	}
	if (leader_or_relay(c))
		via_cpu(c, material_prep);
}

/* ------------------------------------------------------------ reads */

/* Reader thread. */
static void read_run(struct call *c, struct pgs *reader)
{
	uint8_t th[LMS_SHA256_LEN];
	const uint8_t *hash = NULL;
	const char *tok = c->req->token;
	uint8_t raw[TOKEN_BYTES];
	if (tok && strlen(tok) == 2 * TOKEN_BYTES &&
	    lms_hex_decode(tok, strlen(tok), raw, sizeof raw) == 0) {
		lms_sha256(raw, sizeof raw, th);
		hash = th;
	}
	char err[512] = "";
	int rv = svc_read(pgs_conn(reader), node_limits(c->node), c->req, hash,
	                  lms_wall_ms(), &c->resp, err, sizeof err);
	if (c->resp.result_case != LMS__RPC__RESPONSE__RESULT__NOT_SET)
		c->result = (ProtobufCMessage *)c->resp.kv_put;
	if (rv != 0) {
		c->resp.status = LMS__RPC__STATUS__UNAVAILABLE;
		snprintf(c->message, sizeof c->message, "could not read: %.200s",
		         err);
	} else {
		snprintf(c->message, sizeof c->message, "%s",
		         c->resp.message ? c->resp.message : "");
	}
	if (c->resp.message != protobuf_c_empty_string)
		free(c->resp.message);
	c->resp.message = NULL;
}

static void op_read(struct call *c)
{
	node_read(c, read_run);
}

static void op_schema_status(struct call *c)
{
	c->req->consistency = LMS__RPC__CONSISTENCY__STALE;
	node_read(c, read_run);
}

/* --------------------------------------------------------- dispatch */

/* Every string anywhere in the message is valid UTF-8 (protobuf-c does not
 * check): the first offender's field name, or NULL. */
static const char *bad_string(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	if (depth > 8)
		return "nesting";
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		const char *base = (const char *)m + f->offset;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t which = *(const uint32_t *)((const char *)m +
			                                      f->quantifier_offset);
			if (which != f->id)
				continue;
		}
		size_t n = 1;
		const void *const *items = (const void *const *)base;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m + f->quantifier_offset);
			items = *(const void *const *const *)base;
		}
		for (size_t k = 0; k < n; k++) {
			const void *v = items[k];
			if (!v)
				continue;
			if (f->type == PROTOBUF_C_TYPE_STRING &&
			    !lms_utf8_valid(v, strlen(v)))
				return f->name;
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				const char *bad = bad_string(v, depth + 1);
				if (bad)
					return bad;
			}
		}
	}
	return NULL;
}

bool svc_dispatch(struct call *c)
{
	const char *bad = bad_string(&c->req->base, 0);
	if (bad) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "field \"%s\" is not valid UTF-8", bad);
		return true;
	}
	switch (c->req->op_case) {
	case LMS__RPC__REQUEST__OP_BOOTSTRAP: op_bootstrap(c); break;
	case LMS__RPC__REQUEST__OP_LOGIN: op_login(c); break;
	case LMS__RPC__REQUEST__OP_LOGOUT: op_logout(c); break;
	case LMS__RPC__REQUEST__OP_USER_CREATE: op_user_create(c); break;
	case LMS__RPC__REQUEST__OP_PASSWORD_CHANGE: op_password_change(c); break;
	case LMS__RPC__REQUEST__OP_COURSE_CREATE: op_course_create(c); break;
	case LMS__RPC__REQUEST__OP_ENROLL: op_enroll(c); break;
	case LMS__RPC__REQUEST__OP_ASSIGNMENT_CREATE: op_assignment_create(c); break;
	case LMS__RPC__REQUEST__OP_EXTENSION: op_extension(c); break;
	case LMS__RPC__REQUEST__OP_SUBMIT: op_submit(c); break;
	case LMS__RPC__REQUEST__OP_GRADE: op_grade(c); break;
	case LMS__RPC__REQUEST__OP_MATERIAL_UPLOAD: op_material_upload(c); break;
	case LMS__RPC__REQUEST__OP_QUERY_POST: op_query_post(c); break;
	case LMS__RPC__REQUEST__OP_QUERY_ANSWER: op_query_answer(c); break;
	case LMS__RPC__REQUEST__OP_QUERY_CLAIM: op_query_claim(c); break;
	case LMS__RPC__REQUEST__OP_QUERY_RELEASE: op_query_release(c); break;
	case LMS__RPC__REQUEST__OP_MIGRATE: op_migrate(c); break;
	case LMS__RPC__REQUEST__OP_SCHEMA_STATUS: op_schema_status(c); break;
	case LMS__RPC__REQUEST__OP_WHOAMI:
	case LMS__RPC__REQUEST__OP_USER_LIST:
	case LMS__RPC__REQUEST__OP_COURSE_LIST:
	case LMS__RPC__REQUEST__OP_COURSE_MEMBERS:
	case LMS__RPC__REQUEST__OP_ASSIGNMENT_LIST:
	case LMS__RPC__REQUEST__OP_ASSIGNMENT_GET:
	case LMS__RPC__REQUEST__OP_SUBMISSION_LIST:
	case LMS__RPC__REQUEST__OP_SUBMISSION_GET:
	case LMS__RPC__REQUEST__OP_GRADES:
	case LMS__RPC__REQUEST__OP_GRADEBOOK:
	case LMS__RPC__REQUEST__OP_MATERIAL_LIST:
	case LMS__RPC__REQUEST__OP_MATERIAL_GET:
	case LMS__RPC__REQUEST__OP_MATERIAL_SEARCH:
	case LMS__RPC__REQUEST__OP_QUERY_LIST:
	case LMS__RPC__REQUEST__OP_QUERY_GET:
	case LMS__RPC__REQUEST__OP_PROGRESS:
	case LMS__RPC__REQUEST__OP_STATS:
		op_read(c);
		break;
	default:
		return false;
	}
	return true;
}

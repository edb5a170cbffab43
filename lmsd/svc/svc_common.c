/*
 * svc_common.c -- helpers shared by the apply and read sides of the LMS
 * service (svc.h): results, parameterised queries, sessions and role
 * checks, pagination, score arithmetic.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-events.h>

#include "svc.h"

/* ------------------------------------------------------------ results */

int svc_refuse(struct svc_ctx *x, Lms__Rpc__Status status, const char *fmt,
               ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	x->resp->status = status;
	char *m = strdup(msg);
	if (m) {
		if (x->resp->message && x->resp->message != protobuf_c_empty_string)
			free(x->resp->message);
		x->resp->message = m;
	}
	return 0;
}

int svc_dberr(struct svc_ctx *x, PGresult *res, const char *what)
{
	const char *m = res ? PQresultErrorMessage(res) : "";
	if (!m || !*m)
		m = PQerrorMessage(x->conn);
	snprintf(x->err, sizeof x->err, "%s: %s", what, m && *m ? m : "?");
	size_t n = strlen(x->err);
	while (n && (x->err[n - 1] == '\n' || x->err[n - 1] == ' '))
		x->err[--n] = '\0';
	PQclear(res);
	return -1;
}

char *svc_strdup(const char *s)
{
	return strdup(s ? s : "");
}

/* ------------------------------------------------------------ queries */

void svc_params_init(struct svc_params *p)
{
	memset(p, 0, sizeof *p);
}

static int param_slot(struct svc_params *p)
{
	if (p->n >= 16)
		abort(); /* a programming error: more than 16 parameters */
	return p->n++;
}

void svc_p_text(struct svc_params *p, const char *s)
{
	int i = param_slot(p);
	p->values[i] = s;
}

void svc_p_i64(struct svc_params *p, int64_t v)
{
	int i = param_slot(p);
	snprintf(p->num[i], sizeof p->num[i], "%lld", (long long)v);
	p->values[i] = p->num[i];
}

void svc_p_bytes(struct svc_params *p, const void *data, size_t len)
{
	int i = param_slot(p);
	static const char empty[1];
	p->values[i] = len ? data : empty;
	p->lengths[i] = (int)len;
	p->formats[i] = 1;
}

void svc_p_null(struct svc_params *p)
{
	int i = param_slot(p);
	p->values[i] = NULL;
}

/* ------------------------------------------------ prepared statements */

/*
 * Every query of the service is parsed and planned once per connection:
 * the first svc_query() of a SQL text prepares it (PQprepare, named
 * "svc_<n>"), later ones only execute it, so an apply or a read no longer
 * pays PostgreSQL's parse and plan per statement. The statements of a
 * connection hang on the PGconn itself (a libpq event procedure's instance
 * data), so they live and die with it, reader and writer connections
 * alike; a reset connection forgets them.
 *
 * Only SELECT / INSERT / UPDATE / DELETE / WITH are prepared; anything
 * else (SAVEPOINT, SET, ...) runs as before. Determinism: a prepared
 * statement answers exactly as the same text would, except after a schema
 * change that alters its result columns ("cached plan must not change
 * result type", SQLSTATE 0A000, a class apply treats as deterministic).
 * So whoever changes the schema on a connection calls
 * svc_forget_statements() before and after (migrations, snapshot
 * installs): every node then prepares afresh, whatever it had cached. A
 * reader connection that meets a statement invalidated by another
 * connection's migration forgets its statements, and retries once when it
 * is not inside a transaction.
 */
#define SVC_STMT_MAX 1024

struct svc_stmt {
	uint64_t hash;
	size_t len;
	char *sql;
	unsigned id;
};

struct svc_stmts {
	struct svc_stmt *v;
	size_t n, cap;
	unsigned next_id; /* never reused: forgotten names may still exist */
};

static void stmts_clear(struct svc_stmts *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].sql);
	c->n = 0;
}

static int stmts_event(PGEventId id, void *info, void *pass)
{
	(void)pass;
	PGconn *conn = NULL;
	if (id == PGEVT_CONNRESET)
		conn = ((PGEventConnReset *)info)->conn;
	else if (id == PGEVT_CONNDESTROY)
		conn = ((PGEventConnDestroy *)info)->conn;
	struct svc_stmts *c = conn ? PQinstanceData(conn, stmts_event) : NULL;
	if (c) {
		stmts_clear(c);
		if (id == PGEVT_CONNDESTROY) {
			free(c->v);
			free(c);
			PQsetInstanceData(conn, stmts_event, NULL);
		}
	}
	return 1;
}

/* The connection's statements, registered on first use; NULL when out of
 * memory (the caller then runs the text unprepared). */
static struct svc_stmts *stmts_of(PGconn *conn)
{
	struct svc_stmts *c = PQinstanceData(conn, stmts_event);
	if (c)
		return c;
	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	if (!PQregisterEventProc(conn, stmts_event, "svc statements", NULL) ||
	    !PQsetInstanceData(conn, stmts_event, c)) {
		free(c);
		return NULL;
	}
	return c;
}

void svc_forget_statements(PGconn *conn)
{
	struct svc_stmts *c = PQinstanceData(conn, stmts_event);
	if (c)
		stmts_clear(c);
}

static bool stmt_preparable(const char *sql)
{
	static const char *const kinds[] = {"select", "insert", "update",
	                                    "delete", "with", NULL};
	while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '(')
		sql++;
	for (int i = 0; kinds[i]; i++) {
		size_t n = strlen(kinds[i]);
		if (strncasecmp(sql, kinds[i], n) == 0 &&
		    (sql[n] == ' ' || sql[n] == '\n' || sql[n] == '\t'))
			return true;
	}
	return false;
}

/* The name sql is prepared under on conn (preparing it now if need be),
 * or NULL: run it unprepared. *res receives PQprepare's failure, if any
 * (the same error the unprepared text would give). */
static const char *stmt_name(PGconn *conn, const char *sql, char *name,
                             size_t cap, PGresult **res)
{
	*res = NULL;
	if (!stmt_preparable(sql))
		return NULL;
	struct svc_stmts *c = stmts_of(conn);
	if (!c)
		return NULL;
	size_t len = strlen(sql);
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)sql[i]) * 1099511628211ULL;
	for (size_t i = 0; i < c->n; i++) {
		const struct svc_stmt *s = &c->v[i];
		if (s->hash == h && s->len == len && memcmp(s->sql, sql, len) == 0) {
			snprintf(name, cap, "svc_%u", s->id);
			return name;
		}
	}
	if (c->n == SVC_STMT_MAX)
		return NULL;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 64;
		struct svc_stmt *v = realloc(c->v, ncap * sizeof *v);
		if (!v)
			return NULL;
		c->v = v;
		c->cap = ncap;
	}
	char *copy = strdup(sql);
	if (!copy)
		return NULL;
	unsigned id = c->next_id++;
	snprintf(name, cap, "svc_%u", id);
	PGresult *pr = PQprepare(conn, name, sql, 0, NULL);
	if (PQresultStatus(pr) != PGRES_COMMAND_OK) {
		free(copy);
		*res = pr;
		return NULL;
	}
	PQclear(pr);
	c->v[c->n++] = (struct svc_stmt){h, len, copy, id};
	return name;
}

/* A prepared statement that another connection's schema change
 * invalidated for good (result type changed) or that vanished. */
static bool stmt_stale(const PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return st && (strcmp(st, "0A000") == 0 || strcmp(st, "26000") == 0);
}

PGresult *svc_query(struct svc_ctx *x, const char *sql,
                    const struct svc_params *p)
{
	int n = p ? p->n : 0;
	const char *const *values = p ? p->values : NULL;
	const int *lengths = p ? p->lengths : NULL;
	const int *formats = p ? p->formats : NULL;
	char name[32];
	PGresult *res;
	/* res: PQprepare's failure, the error the text itself would give */
	const char *stmt = stmt_name(x->conn, sql, name, sizeof name, &res);
	if (stmt) {
		res = PQexecPrepared(x->conn, stmt, n, values, lengths, formats,
		                     0);
		if (PQresultStatus(res) == PGRES_FATAL_ERROR && stmt_stale(res)) {
			svc_forget_statements(x->conn);
			if (PQtransactionStatus(x->conn) == PQTRANS_IDLE) {
				PQclear(res);
				res = PQexecParams(x->conn, sql, n, NULL, values,
				                   lengths, formats, 0);
			}
		}
	} else if (!res) {
		res = PQexecParams(x->conn, sql, n, NULL, values, lengths,
		                   formats, 0);
	}
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		svc_dberr(x, res, "query failed");
		return NULL;
	}
	return res;
}

int svc_exec(struct svc_ctx *x, const char *sql, const struct svc_params *p,
             uint64_t *rows)
{
	PGresult *res = svc_query(x, sql, p);
	if (!res)
		return -1;
	if (rows) {
		const char *t = PQcmdTuples(res);
		*rows = t && *t ? strtoull(t, NULL, 10) : 0;
	}
	PQclear(res);
	return 0;
}

int64_t svc_i64(const PGresult *res, int r, int c)
{
	return strtoll(PQgetvalue(res, r, c), NULL, 10);
}

double svc_f64(const PGresult *res, int r, int c)
{
	return strtod(PQgetvalue(res, r, c), NULL);
}

bool svc_bool(const PGresult *res, int r, int c)
{
	return PQgetvalue(res, r, c)[0] == 't';
}

bool svc_null(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) != 0;
}

char *svc_text(const PGresult *res, int r, int c)
{
	return strdup(PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c));
}

/* -------------------------------------------------------------- roles */

static const char *const role_names[] = {
	[LMS__RPC__ROLE__ROLE_ADMIN] = "admin",
	[LMS__RPC__ROLE__ROLE_INSTRUCTOR] = "instructor",
	[LMS__RPC__ROLE__ROLE_STUDENT] = "student",
	[LMS__RPC__ROLE__ROLE_TUTOR] = "tutor",
};

const char *svc_role_name(Lms__Rpc__Role r)
{
	if ((unsigned)r < sizeof role_names / sizeof role_names[0] &&
	    role_names[r])
		return role_names[r];
	return "";
}

Lms__Rpc__Role svc_role_parse(const char *s)
{
	for (unsigned i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
		if (role_names[i] && s && strcmp(s, role_names[i]) == 0)
			return (Lms__Rpc__Role)i;
	return LMS__RPC__ROLE__ROLE_UNSPECIFIED;
}

static const char *const course_role_names[] = {
	[LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR] = "instructor",
	[LMS__RPC__COURSE_ROLE__COURSE_TA] = "ta",
	[LMS__RPC__COURSE_ROLE__COURSE_STUDENT] = "student",
};

const char *svc_course_role_name(Lms__Rpc__CourseRole r)
{
	if ((unsigned)r < sizeof course_role_names /
	                          sizeof course_role_names[0] &&
	    course_role_names[r])
		return course_role_names[r];
	return "";
}

Lms__Rpc__CourseRole svc_course_role_parse(const char *s)
{
	for (unsigned i = 0;
	     i < sizeof course_role_names / sizeof course_role_names[0]; i++)
		if (course_role_names[i] && s &&
		    strcmp(s, course_role_names[i]) == 0)
			return (Lms__Rpc__CourseRole)i;
	return LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE;
}

/* -------------------------------------------------------------- access */

int svc_session_actor(struct svc_ctx *x, const uint8_t *token_hash,
                      size_t len, struct svc_actor *actor,
                      char *expires_at, size_t expires_len)
{
	if (!token_hash || len != 32)
		return 0;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_bytes(&p, token_hash, len);
	svc_p_text(&p, x->now);
	PGresult *res = svc_query(x,
		"SELECT u.id, u.username, u.role, lms.iso(s.expires_at) "
		"FROM lms.session s JOIN lms.app_user u ON u.id = s.user_id "
		"WHERE s.token_hash = $1 AND s.expires_at > $2::timestamptz",
		&p);
	if (!res)
		return -1;
	int found = PQntuples(res) == 1;
	if (found) {
		actor->id = svc_i64(res, 0, 0);
		snprintf(actor->username, sizeof actor->username, "%s",
		         PQgetvalue(res, 0, 1));
		actor->role = svc_role_parse(PQgetvalue(res, 0, 2));
		if (expires_at && expires_len)
			snprintf(expires_at, expires_len, "%s",
			         PQgetvalue(res, 0, 3));
	}
	PQclear(res);
	return found;
}

int svc_course_id(struct svc_ctx *x, const char *code, int64_t *course_id)
{
	struct svc_params p;
	svc_params_init(&p);
	svc_p_text(&p, code ? code : "");
	PGresult *res = svc_query(x, "SELECT id FROM lms.course WHERE code = $1",
	                          &p);
	if (!res)
		return -1;
	int found = PQntuples(res) == 1;
	if (found)
		*course_id = svc_i64(res, 0, 0);
	PQclear(res);
	return found;
}

int svc_user_id(struct svc_ctx *x, const char *username, int64_t *user_id,
                Lms__Rpc__Role *role)
{
	struct svc_params p;
	svc_params_init(&p);
	svc_p_text(&p, username ? username : "");
	PGresult *res = svc_query(
		x, "SELECT id, role FROM lms.app_user WHERE username = $1", &p);
	if (!res)
		return -1;
	int found = PQntuples(res) == 1;
	if (found) {
		*user_id = svc_i64(res, 0, 0);
		if (role)
			*role = svc_role_parse(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return found;
}

int svc_course_role(struct svc_ctx *x, int64_t course_id, int64_t user_id)
{
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	svc_p_i64(&p, user_id);
	PGresult *res = svc_query(x,
		"SELECT role FROM lms.enrollment WHERE course_id = $1 AND "
		"user_id = $2", &p);
	if (!res)
		return -1;
	int role = PQntuples(res) == 1
		           ? (int)svc_course_role_parse(PQgetvalue(res, 0, 0))
		           : (int)LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE;
	PQclear(res);
	return role;
}

static bool is_admin(const struct svc_ctx *x)
{
	return x->actor && x->actor->role == LMS__RPC__ROLE__ROLE_ADMIN;
}

int svc_need_staff_of(struct svc_ctx *x, int64_t course_id,
                      bool instructor_only, int *role)
{
	int r = x->actor ? svc_course_role(x, course_id, x->actor->id)
	                 : LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE;
	if (r < 0)
		return -1;
	if (role)
		*role = r;
	if (is_admin(x) || r == LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR ||
	    (!instructor_only && r == LMS__RPC__COURSE_ROLE__COURSE_TA))
		return 1;
	svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
	           instructor_only ? "only an instructor of the course may do "
	                             "this"
	                           : "only the course's instructors and TAs "
	                             "may do this");
	return 0;
}

int svc_need_member_of(struct svc_ctx *x, int64_t course_id, int *role)
{
	int r = x->actor ? svc_course_role(x, course_id, x->actor->id)
	                 : LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE;
	if (r < 0)
		return -1;
	if (role)
		*role = r;
	if (is_admin(x) || r != LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE)
		return 1;
	svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
	           "you are not enrolled in this course");
	return 0;
}

int svc_hide_unless_member(struct svc_ctx *x, int64_t course_id,
                           const char *what, uint64_t id)
{
	if (is_admin(x))
		return 1;
	int r = x->actor ? svc_course_role(x, course_id, x->actor->id)
	                 : LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE;
	if (r < 0)
		return -1;
	if (r != LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE)
		return 1;
	svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND, "no %s %llu", what,
	           (unsigned long long)id);
	return 0;
}

static int course_by_code(struct svc_ctx *x, const char *code,
                          int64_t *course_id)
{
	int rv = svc_course_id(x, code, course_id);
	if (rv == 0)
		svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND, "no course \"%s\"",
		           code ? code : "");
	return rv;
}

int svc_need_course_staff(struct svc_ctx *x, const char *code,
                          bool instructor_only, int64_t *course_id,
                          int *role)
{
	int rv = course_by_code(x, code, course_id);
	return rv == 1 ? svc_need_staff_of(x, *course_id, instructor_only, role)
	               : rv;
}

int svc_need_course_member(struct svc_ctx *x, const char *code,
                           int64_t *course_id, int *role)
{
	int rv = course_by_code(x, code, course_id);
	return rv == 1 ? svc_need_member_of(x, *course_id, role) : rv;
}

/* --------------------------------------------------------- pagination */

unsigned svc_page_limit(const struct svc_ctx *x, const Lms__Rpc__Page *p)
{
	unsigned max = x->limits && x->limits->max_page_size
		               ? x->limits->max_page_size
		               : 100;
	if (!p || p->limit == 0 || p->limit > max)
		return max;
	return p->limit;
}

/* ------------------------------------------------- score arithmetic */

int64_t svc_hundredths(double v)
{
	return (int64_t)llround(v * 100.0);
}

const char *svc_hundredths_text(int64_t h, char *buf, size_t len)
{
	const char *sign = h < 0 ? "-" : "";
	uint64_t a = h < 0 ? (uint64_t)(-(h + 1)) + 1 : (uint64_t)h;
	snprintf(buf, len, "%s%llu.%02llu", sign,
	         (unsigned long long)(a / 100), (unsigned long long)(a % 100));
	return buf;
}

int64_t svc_days_late(int64_t submitted_ms, int64_t due_ms)
{
	const int64_t day = 86400000;
	if (submitted_ms <= due_ms)
		return 0;
	return (submitted_ms - due_ms + day - 1) / day;
}

int64_t svc_late_final(int64_t raw_h, int64_t days_late,
                       int64_t penalty_pct_h, int64_t floor_pct_h,
                       int64_t *taken_h)
{
	int64_t factor = 10000; /* hundredths of a percent */
	if (days_late > 0 && penalty_pct_h > 0) {
		int64_t off = days_late > 10000 ? 10000 * 100
		                                : penalty_pct_h * days_late;
		factor = 10000 - off;
		if (factor < floor_pct_h)
			factor = floor_pct_h;
		if (factor < 0)
			factor = 0;
	}
	if (taken_h)
		*taken_h = 10000 - factor;
	/* raw (1/100 point) * factor (1/100 %) / 10000, half up */
	return (raw_h * factor + 5000) / 10000;
}

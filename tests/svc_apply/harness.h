/*
 * harness.h -- the fixture of the svc_apply tests: the apply_* functions of
 * lmsd/svc/svc.h called directly against a real PostgreSQL, the way
 * svc_machine.c calls them, with the entry's index and leader time in our
 * hands.
 *
 * Each test file is one cmocka group with one fresh database (the LMS
 * schema from migrations/001_lms_schema.sql); every test starts from empty
 * tables (env_reset truncates them), index 100 and a fixed time. Every
 * call runs in its own transaction: env_call opens it, and env_done checks
 * that the function did not fail (-1), that no statement failed inside it
 * (the transaction is not aborted), commits, and folds the packed Response
 * into e->trace (two databases fed the same calls must give the same
 * trace). A refusal is checked with REFUSED(), which also checks that the
 * tables did not change (svc_machine.c keeps a refused entry's
 * transaction, so a refusal after a write would leave the write behind).
 */
#ifndef LMS_TESTS_SVC_APPLY_HARNESS_H
#define LMS_TESTS_SVC_APPLY_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "isotime.h"
#include "svc.h"

struct env {
	PGconn *conn;
	char db[64];
	uint64_t index;           /* of the last call */
	int64_t now_ms;
	char now[LMS_ISO_MAX];
	struct svc_limits limits;
	struct svc_actor actor;
	struct svc_ctx x;
	Lms__Rpc__Response *resp; /* of the last call, freed by the next */
	uint64_t trace;           /* FNV-1a of every packed Response */
};

/* cmocka group setup/teardown (*state = struct env *) and per-test reset. */
int env_group_setup(void **state);
int env_group_teardown(void **state);
int env_reset(void **state);

/* A second, independent environment (own database), for determinism. */
struct env *env_open(const char *prefix);
void env_close(struct env *e);

/* The leader time of the next calls. */
void env_at(struct env *e, const char *iso);
void env_advance(struct env *e, int64_t ms);
/* Canonical text of now + ms into buf (LMS_ISO_MAX bytes). */
const char *env_time(const struct env *e, int64_t ms, char *buf);

/* Starts a call as user who (NULL: no actor): next index, BEGIN, fresh
 * Response. Returns the ctx to pass to the apply function. */
struct svc_ctx *env_call(struct env *e, const char *who);
/* Ends it (see above); returns e->resp. */
Lms__Rpc__Response *env_done(struct env *e, int rv);

/* Ends a call that was not an apply (a loader called directly): checks
 * nothing failed, commits. */
void env_end(struct env *e);

/* Runs fn(ctx, cmd) as who; evaluates to the Response. */
#define APPLY(e, who, fn, cmd) (env_call((e), (who)), env_done((e), fn(&(e)->x, (cmd))))

/* The call must succeed (status OK). */
#define OK(e, who, fn, cmd) env_ok((e), APPLY(e, who, fn, cmd), #fn)
Lms__Rpc__Response *env_ok(struct env *e, Lms__Rpc__Response *r,
                           const char *what);

/* The call must be refused with status and a message containing msg
 * (NULL: any), leaving every table as it was. */
#define REFUSED(e, who, fn, cmd, status, msg)                                \
	do {                                                                 \
		char *before_ = env_digest(e);                               \
		Lms__Rpc__Response *r_ = APPLY(e, who, fn, cmd);             \
		env_refused((e), r_, (status), (msg), before_, #fn);         \
	} while (0)
void env_refused(struct env *e, Lms__Rpc__Response *r, int status,
                 const char *msg, char *before, const char *what);

/* md5 of each LMS table's rows in primary-key order, "table=md5;..."
 * (malloc'd). */
char *env_digest(struct env *e);
/* md5 of one table's rows in primary-key order (malloc'd). */
char *env_table_md5(struct env *e, const char *table);
extern const char *const env_tables[];

/* One value of a query (malloc'd, "" for NULL); params are text. */
char *env_value(struct env *e, const char *sql, int n, ...);
int64_t env_int(struct env *e, const char *sql, int n, ...);

/* -------------------------------------------------- building blocks */

/* Each succeeds or fails the test; returns the created object's id. */
int64_t mk_bootstrap(struct env *e, const char *username);
int64_t mk_user(struct env *e, const char *as, const char *username,
                Lms__Rpc__Role role);
int64_t mk_course(struct env *e, const char *as, const char *code);
void mk_enroll(struct env *e, const char *as, const char *course,
               const char *username, Lms__Rpc__CourseRole role);
/* An assignment: times as offsets from now (ms; cutoff < 0: none). */
struct asg_spec {
	int64_t opens, due, cutoff;
	double max_points, penalty, floor;
	unsigned max_attempts;
};
int64_t mk_assignment(struct env *e, const char *as, const char *course,
                      const struct asg_spec *s);
int64_t mk_submit(struct env *e, const char *as, int64_t assignment,
                  const char *text);
int64_t mk_material(struct env *e, const char *as, const char *course,
                    const char *title, unsigned chunks);
int64_t mk_query(struct env *e, const char *as, const char *course,
                 Lms__Rpc__QueryTarget to, const char *body);

/*
 * The usual cast, created by mk_people + mk_courses:
 *   root (admin), ins and ins2 (instructors), ta (a student account), stu1,
 *   stu2, stu3 (students), tutor (the tutor account);
 *   CS101 by ins: ta as TA, stu1 and stu2 students;
 *   MA201 by ins2: stu3 student.
 */
void mk_people(struct env *e);
void mk_courses(struct env *e);

#define HOUR (3600 * 1000LL)
#define DAY (24 * HOUR)

#endif

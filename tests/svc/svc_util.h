/*
 * svc_util.h -- helpers of the LMS service tests (tests/svc): requests
 * of lms.proto's LMS section sent through the client library to a real
 * five-node cluster (tests/cluster/harness.h), and the few objects every
 * scenario sets up (schema, accounts, courses, assignments).
 *
 * Why this exists
 * ---------------
 * A request is a oneof of some forty operations; writing the init, the
 * oneof case, the token, the flags and the status check by hand in every
 * test would hide what the test checks. Here:
 *
 *   Lms__Rpc__WhoAmIRequest w = LMS__RPC__WHO_AM_IREQUEST__INIT;
 *   Lms__Rpc__Response *r = SV_CALL(c, token, whoami, WHOAMI, &w);
 *   sv_expect(r, LMS__RPC__STATUS__OK, "whoami as %s", user);
 *   ... r->whoami ...
 *   lmsc_response_free(r);
 *
 * SV_CALL sends writes with LMSC_WRITE (a new seq; the library's retries
 * reuse it) and reads linearizable through the leader. sv_call_node sends
 * to one node only (stale reads on a chosen node, a follower's relay).
 *
 * Errors: a call the cluster did not answer at all (the library gave up)
 * fails the test with the library's message; a refusal is an answer and
 * comes back in the Response for the test to judge (sv_expect).
 *
 * Ownership: every Response returned is the caller's (lmsc_response_free);
 * request messages are borrowed. Every helper runs on the test's main
 * thread (it may fail the test).
 */
#ifndef LMS_TESTS_SVC_UTIL_H
#define LMS_TESTS_SVC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "harness.h"

#define SV_LEADER_MS 8000     /* a leader after boot or a kill */
#define SV_CONVERGE_MS 30000  /* every node at the same applied index */

/* Sets req's oneof: SV_SET(&req, whoami, WHOAMI, &w). */
#define SV_SET(req, field, OPCASE, msg)                                      \
	do {                                                                 \
		(req)->op_case = LMS__RPC__REQUEST__OP_##OPCASE;             \
		(req)->field = (msg);                                        \
	} while (0)

/* One operation through every node (leader found by the library); the
 * sizeof checks msg's type against the oneof member at compile time. */
#define SV_CALL(c, token, field, OPCASE, msg)                                \
	((void)sizeof(((Lms__Rpc__Request *)0)->field = (msg)),              \
	 sv_op((c), (token), LMS__RPC__REQUEST__OP_##OPCASE, (msg)))

/* Whether an operation of lms.proto is a write (proposed to the log). */
bool sv_is_write(Lms__Rpc__Request__OpCase op);

/* Sends req with token (NULL or "": none), LMSC_WRITE for writes. Never
 * NULL: a call without any answer fails the test. */
Lms__Rpc__Response *sv_call(struct lmsc *c, const char *token,
                            Lms__Rpc__Request *req);

/* A request of operation op (msg: its message) sent with sv_call. */
Lms__Rpc__Response *sv_op(struct lmsc *c, const char *token,
                          Lms__Rpc__Request__OpCase op, void *msg);

/* Sends req to node id only, one attempt (no NOT_LEADER chase; a
 * follower relays what needs the leader), from a new client of its own:
 * a write goes as seq 1 of a fresh client id. req->consistency is the
 * caller's (STALE: that node's own database). NULL when the node did not
 * answer (*rv the library's error); never fails the test. */
Lms__Rpc__Response *sv_call_node(struct cluster *cl, unsigned id,
                                 const char *token, Lms__Rpc__Request *req,
                                 int *rv);

/* Fails the test unless r has status want; fmt names the call. The
 * message says what came back instead (status name and message). */
void sv_expect(const Lms__Rpc__Response *r, int want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The result submessage of r (NULL when none). */
const ProtobufCMessage *sv_result(const Lms__Rpc__Response *r);

/* The result of r packed (malloc'd; *len set): equal bytes = equal
 * answers. NULL (len 0) when r has no result. */
uint8_t *sv_result_pack(const Lms__Rpc__Response *r, size_t *len);

/* A short description "STATUS: message" of r (static buffer). */
const char *sv_describe(const Lms__Rpc__Response *r);

/* ------------------------------------------------------------- times */

/* ISO-8601 UTC of now (wall clock) + offset seconds into buf
 * (LMS_ISO_MAX bytes). */
char *sv_iso_in(int64_t offset_s, char *buf);
/* Milliseconds of an ISO time (fails the test if it does not parse). */
int64_t sv_iso_ms(const char *iso);
/* Fails the test unless iso is within slack_s of the wall clock. */
void sv_expect_recent(const char *iso, int64_t slack_s, const char *what);

/* ------------------------------------------------------------ schema */

/* Sends a Migrate request for every migrations/NNN_*.sql of
 * LMS_SOURCE_DIR in order (no session: the cluster has no user yet) and
 * waits until every running node applied the last. Returns how many. */
unsigned sv_install_schema(struct cluster *cl, struct lmsc *c);

/* Reads dir/NNN_*.sql into a Migration (malloc'd name, sql, checksum;
 * free with sv_migration_free). Fails the test when it is missing. */
Lms__Rpc__Migration *sv_migration_load(const char *dir, unsigned version);
void sv_migration_free(Lms__Rpc__Migration *m);

/* ------------------------------------------------------------ setup */

/* Bootstrap (first admin); fails the test unless OK. */
void sv_bootstrap(struct lmsc *c, const char *user, const char *pw);
/* Login; the token into token (65 bytes). Fails the test unless OK. */
void sv_login(struct lmsc *c, const char *user, const char *pw,
              char token[65]);
/* Creates an account (admin token). */
void sv_user(struct lmsc *c, const char *admin, const char *user,
             const char *pw, Lms__Rpc__Role role);
/* Creates a course; returns its id. */
uint64_t sv_course(struct lmsc *c, const char *token, const char *code,
                   const char *title);
void sv_enroll(struct lmsc *c, const char *token, const char *course,
               const char *user, Lms__Rpc__CourseRole role);
/* An assignment open since an hour ago, due in a week, no cut-off,
 * 100 points, unlimited attempts; returns its id. */
uint64_t sv_assignment(struct lmsc *c, const char *token, const char *course,
                       const char *title);
/* A text submission; returns its id (*attempt may be NULL). */
uint64_t sv_submit(struct lmsc *c, const char *token, uint64_t assignment,
                   const char *text, uint32_t *attempt);
void sv_grade(struct lmsc *c, const char *token, uint64_t submission,
              double score, const char *feedback);
/* A text material (file name name.txt); returns its id. */
uint64_t sv_material_txt(struct lmsc *c, const char *token,
                         const char *course, const char *title,
                         const char *text);
uint64_t sv_query_post(struct lmsc *c, const char *token, const char *course,
                       const char *body, Lms__Rpc__QueryTarget to);

/* The highest applied index any running member reports (after a write:
 * what every node must reach). */
uint64_t sv_max_applied(struct cluster *cl);

/* SHA-256 hex (65 bytes) of data. */
void sv_sha256_hex(const void *data, size_t len, char hex[65]);

/* ---------------------------------------------------------- scenarios */

void svc_role_matrix(void **state);
void svc_five_nodes(void **state);
void svc_exactly_once(void **state);
void svc_uploads(void **state);
void svc_migrations(void **state);
void svc_login_sessions(void **state);

#endif

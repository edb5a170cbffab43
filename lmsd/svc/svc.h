/*
 * svc.h -- the LMS service: what the write (apply) and read sides share.
 *
 * Layer 3 of DESIGN.md sits on top of this. A client request becomes:
 *
 *   write:  service.c (on the node that receives it, event loop + a CPU
 *           worker): stateless validation, normalisation (times to
 *           canonical ISO-8601 UTC), the non-deterministic parts (now,
 *           scrypt hashes, session tokens, extracted PDF text) fixed into a
 *           Lms__Rpc__Command -> proposed -> on every node apply.c decodes
 *           it, authenticates the caller from the command's token hash
 *           against lms.session at the command's time, and calls the
 *           operation's apply_* function, which checks roles and state,
 *           changes the tables and fills the Response. The encoded Response
 *           is the entry's recorded result (exactly-once retries get it).
 *   read:   service.c authenticates nothing itself: after ReadIndex (or at
 *           once for a stale read) the reader thread runs the operation's
 *           read_* function, which authenticates the token, checks roles
 *           and fills the Response.
 *
 * Both sides run on a plain PGconn and use the helpers below; apply
 * functions must be deterministic (no clock, no random, no sequences: the
 * time is ctx->now, ids are ctx->index), reads may use their ctx->now
 * (the local clock).
 *
 * Error convention: a refusal (not found, permission denied, cut-off
 * passed, ...) is not an error of the function: it sets the status and
 * message with svc_refuse() and returns 0. A return of -1 means the
 * database failed (message in ctx->err); on the apply side that stops the
 * node (the entry cannot be applied), on the read side the client gets
 * UNAVAILABLE.
 *
 * Result messages are built with malloc'd protobuf-c messages and strings
 * (svc_strdup) and hung on ctx->resp; the caller frees them with
 * protobuf_c_message_free_unpacked semantics.
 */
#ifndef LMSD_SVC_H
#define LMSD_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "lms.pb-c.h"

/* The schema version this lmsd understands: the highest migration under
 * migrations/ when it was built (generated, svc_schema.h). */
#include "svc_schema.h"

/* Bounds of identifiers and short strings (bytes). Long texts are bounded
 * by limits.max_text_bytes of config.json instead. */
#define SVC_USERNAME_MAX 64   /* [a-z0-9_.-], starts with a letter or digit */
#define SVC_DISPLAY_NAME_MAX 200
#define SVC_CODE_MAX 32       /* course code: [A-Za-z0-9_.-] */
#define SVC_TITLE_MAX 200
#define SVC_TOPIC_MAX 64
#define SVC_TOPICS_MAX 16
#define SVC_FILENAME_MAX 255
#define SVC_MEDIA_TYPE_MAX 100
#define SVC_WORKER_MAX 200
#define SVC_PASSWORD_MIN 6
#define SVC_PASSWORD_MAX 1024
#define SVC_SOURCES_MAX 32
#define SVC_POINTS_MAX 100000.0

/* Who is calling: the user behind a valid session. */
struct svc_actor {
	int64_t id;
	char username[SVC_USERNAME_MAX + 1];
	Lms__Rpc__Role role;
};

struct svc_limits {
	size_t max_text_bytes;
	size_t max_upload_bytes;
	unsigned max_page_size;
};

/* What an apply_* or read_* function works with. */
struct svc_ctx {
	PGconn *conn;
	/* apply: the entry's index (the id of what it creates); read: 0 */
	uint64_t index;
	/* apply: the command's leader-stamped time; read: the local clock.
	 * Canonical ISO-8601 UTC text and the same instant in ms. */
	const char *now;
	int64_t now_ms;
	/* the authenticated caller (NULL only for bootstrap / login /
	 * migrate before the first user) */
	const struct svc_actor *actor;
	const struct svc_limits *limits;
	Lms__Rpc__Response *resp; /* status + message + result to fill */
	char err[512];            /* database failure (return -1) */
};

/* ------------------------------------------------------------ results */

/* Sets a refusal (status != OK) with a message; returns 0. */
int svc_refuse(struct svc_ctx *x, Lms__Rpc__Status status, const char *fmt,
               ...) __attribute__((format(printf, 3, 4)));
/* Records a database failure from res (may be NULL) / conn; returns -1. */
int svc_dberr(struct svc_ctx *x, PGresult *res, const char *what);

/* malloc'd copy (NULL -> ""), NULL when out of memory. */
char *svc_strdup(const char *s);

/* ------------------------------------------------------------ queries */

/* Parameters as text (NULL = SQL NULL) or binary (bytea); at most 16. */
struct svc_params {
	int n;
	const char *values[16];
	int lengths[16];
	int formats[16];
	char num[16][24]; /* storage for svc_p_i64 */
};
void svc_params_init(struct svc_params *p);
void svc_p_text(struct svc_params *p, const char *s);
void svc_p_i64(struct svc_params *p, int64_t v);
void svc_p_bytes(struct svc_params *p, const void *data, size_t len);
void svc_p_null(struct svc_params *p);

/* Runs sql; expects tuples (SELECT, ... RETURNING) or a command. NULL on
 * failure with ctx->err set (result already cleared). */
PGresult *svc_query(struct svc_ctx *x, const char *sql,
                    const struct svc_params *p);
/* svc_query prepares each SQL text once per connection (svc_common.c).
 * Call this before and after changing the schema on conn: its statements
 * are prepared afresh afterwards. */
void svc_forget_statements(PGconn *conn);
/* As svc_query for statements without a result; 0 or -1. *rows (may be
 * NULL) receives the affected row count. */
int svc_exec(struct svc_ctx *x, const char *sql, const struct svc_params *p,
             uint64_t *rows);

/* Cell helpers (row r, column c). */
int64_t svc_i64(const PGresult *res, int r, int c);
double svc_f64(const PGresult *res, int r, int c);
bool svc_bool(const PGresult *res, int r, int c);
bool svc_null(const PGresult *res, int r, int c);
/* malloc'd copy of a text cell (NULL cell -> ""). */
char *svc_text(const PGresult *res, int r, int c);

/* -------------------------------------------------------------- access */

/* The session behind token_hash (32 bytes) valid at ctx->now:
 * 1 found (*actor filled), 0 none or expired, -1 database failure. */
int svc_session_actor(struct svc_ctx *x, const uint8_t *token_hash,
                      size_t len, struct svc_actor *actor,
                      char *expires_at, size_t expires_len);

/* Looks up a course by code: 1 found (*course_id set), 0 not found, -1. */
int svc_course_id(struct svc_ctx *x, const char *code, int64_t *course_id);
/* Looks up a user by username: 1 found (id, role), 0 not found, -1. */
int svc_user_id(struct svc_ctx *x, const char *username, int64_t *user_id,
                Lms__Rpc__Role *role);

/* The user's role in a course (COURSE_ROLE_NONE when not enrolled), or -1
 * on database failure. */
int svc_course_role(struct svc_ctx *x, int64_t course_id, int64_t user_id);

/* Common checks that refuse on failure. Each returns 1 when allowed, 0
 * when refused (status set: NOT_FOUND for an unknown course, or
 * PERMISSION_DENIED), -1 on database failure.
 *   svc_need_course_staff:  admin, or instructor/TA of the course
 *                           (instructor_only: not a TA)
 *   svc_need_course_member: admin, or anyone enrolled in it
 * On success *course_id is set and *role (may be NULL) is the actor's
 * course role (NONE for an admin who is not enrolled). */
int svc_need_course_staff(struct svc_ctx *x, const char *code,
                          bool instructor_only, int64_t *course_id,
                          int *role);
int svc_need_course_member(struct svc_ctx *x, const char *code,
                           int64_t *course_id, int *role);
/* Same for a course known by id. */
int svc_need_staff_of(struct svc_ctx *x, int64_t course_id,
                      bool instructor_only, int *role);
int svc_need_member_of(struct svc_ctx *x, int64_t course_id, int *role);

/* An object named by id (what, id: "assignment", 12) in course_id that
 * the caller may not see -- neither an admin nor enrolled -- is answered
 * NOT_FOUND exactly as one that does not exist ("no assignment 12"), so
 * ids do not reveal other courses' content. 1 visible, 0 refused, -1. */
int svc_hide_unless_member(struct svc_ctx *x, int64_t course_id,
                           const char *what, uint64_t id);

/* Role names as stored ("admin", "ta", ...) and back. */
const char *svc_role_name(Lms__Rpc__Role r);
Lms__Rpc__Role svc_role_parse(const char *s);
const char *svc_course_role_name(Lms__Rpc__CourseRole r);
Lms__Rpc__CourseRole svc_course_role_parse(const char *s);

/* --------------------------------------------------------- pagination */

/* The effective page size of a request's Page (NULL ok). */
unsigned svc_page_limit(const struct svc_ctx *x, const Lms__Rpc__Page *p);

/* ------------------------------------------------- score arithmetic */

/* Scores travel as doubles with at most two decimals and are computed in
 * hundredths (integers), so every node gets the same digits. */
int64_t svc_hundredths(double v);
/* "12.34" from 1234 into buf. */
const char *svc_hundredths_text(int64_t h, char *buf, size_t len);

/*
 * The late penalty: a submission d whole days late (any part of a day
 * counts as a day: d = ceil((submitted - due) / 24 h)) keeps
 *     factor = max(floor_pct, 100 - penalty_pct * d)   percent
 * of the raw score (factor 100 when not late or penalty 0), rounded half
 * up to hundredths. penalty_pct and floor_pct are in hundredths of a
 * percent; *taken_h receives the percentage taken off in hundredths.
 */
int64_t svc_late_final(int64_t raw_h, int64_t days_late,
                       int64_t penalty_pct_h, int64_t floor_pct_h,
                       int64_t *taken_h);
/* Whole days late of a submission at submitted_ms against due_ms (0 when
 * on time). */
int64_t svc_days_late(int64_t submitted_ms, int64_t due_ms);


/* ------------------------------------------------------------ loaders */

/* Each loads one object into a new message (no access checks: callers
 * check first). 1 found (*out set, caller owns), 0 not found, -1 database
 * failure. Implemented in svc_load.c; used by apply (to answer with the
 * object it created or changed) and by the reads. */
int svc_load_user(struct svc_ctx *x, int64_t id, Lms__Rpc__User **out);
/* my_role: x->actor's role in it (NONE without actor) */
int svc_load_course(struct svc_ctx *x, int64_t id, Lms__Rpc__Course **out);
int svc_load_member(struct svc_ctx *x, int64_t course_id, int64_t user_id,
                    Lms__Rpc__Member **out);
/* for_student != 0: fill my_due_at / my_cutoff_at / my_attempts for that
 * student (extension or the assignment's own times) */
int svc_load_assignment(struct svc_ctx *x, int64_t id, bool with_attachment,
                        int64_t for_student, Lms__Rpc__Assignment **out);
/* with its grade when graded, and latest = is the student's last attempt */
int svc_load_submission(struct svc_ctx *x, int64_t id, bool with_file,
                        Lms__Rpc__Submission **out);
int svc_load_grade(struct svc_ctx *x, int64_t submission_id,
                   Lms__Rpc__Grade **out);
int svc_load_material(struct svc_ctx *x, int64_t id, bool with_file,
                      Lms__Rpc__Material **out);
/* with its answers and their sources, oldest first */
int svc_load_query(struct svc_ctx *x, int64_t id, Lms__Rpc__Query **out);

/* ---------------------------------------------------------- operations */

/* Apply side (writes): svc_machine.c dispatches Command.op to these. x->actor
 * is the authenticated caller except where noted. */
int apply_bootstrap(struct svc_ctx *x, const Lms__Rpc__BootstrapCmd *c);  /* actor NULL */
int apply_session_create(struct svc_ctx *x, const Lms__Rpc__SessionCreateCmd *c); /* actor NULL */
int apply_logout(struct svc_ctx *x, const uint8_t *token_hash, size_t len);
int apply_user_create(struct svc_ctx *x, const Lms__Rpc__UserCreateCmd *c);
int apply_password_change(struct svc_ctx *x, const Lms__Rpc__PasswordChangeCmd *c);
int apply_course_create(struct svc_ctx *x, const Lms__Rpc__CourseCreateRequest *c);
int apply_enroll(struct svc_ctx *x, const Lms__Rpc__EnrollRequest *c);
int apply_assignment_create(struct svc_ctx *x, const Lms__Rpc__AssignmentCreateRequest *c);
int apply_extension(struct svc_ctx *x, const Lms__Rpc__ExtensionRequest *c);
int apply_submit(struct svc_ctx *x, const Lms__Rpc__SubmitRequest *c);
int apply_grade(struct svc_ctx *x, const Lms__Rpc__GradeRequest *c);
int apply_material_upload(struct svc_ctx *x, const Lms__Rpc__MaterialUploadCmd *c);
int apply_query_post(struct svc_ctx *x, const Lms__Rpc__QueryPostRequest *c);
int apply_query_answer(struct svc_ctx *x, const Lms__Rpc__QueryAnswerRequest *c);
int apply_query_claim(struct svc_ctx *x, const Lms__Rpc__QueryClaimRequest *c);
int apply_query_release(struct svc_ctx *x,
                        const Lms__Rpc__QueryReleaseRequest *c);

/* Read side: x->actor is the authenticated caller (never NULL). */
int read_whoami(struct svc_ctx *x, const Lms__Rpc__WhoAmIRequest *q, const char *expires_at);
int read_user_list(struct svc_ctx *x, const Lms__Rpc__UserListRequest *q);
int read_course_list(struct svc_ctx *x, const Lms__Rpc__CourseListRequest *q);
int read_course_members(struct svc_ctx *x, const Lms__Rpc__CourseMembersRequest *q);
int read_assignment_list(struct svc_ctx *x, const Lms__Rpc__AssignmentListRequest *q);
int read_assignment_get(struct svc_ctx *x, const Lms__Rpc__AssignmentGetRequest *q);
int read_submission_list(struct svc_ctx *x, const Lms__Rpc__SubmissionListRequest *q);
int read_submission_get(struct svc_ctx *x, const Lms__Rpc__SubmissionGetRequest *q);
int read_grades(struct svc_ctx *x, const Lms__Rpc__GradesRequest *q);
int read_gradebook(struct svc_ctx *x, const Lms__Rpc__GradebookRequest *q);
int read_material_list(struct svc_ctx *x, const Lms__Rpc__MaterialListRequest *q);
int read_material_get(struct svc_ctx *x, const Lms__Rpc__MaterialGetRequest *q);
int read_material_search(struct svc_ctx *x, const Lms__Rpc__MaterialSearchRequest *q);
int read_query_list(struct svc_ctx *x, const Lms__Rpc__QueryListRequest *q);
int read_query_get(struct svc_ctx *x, const Lms__Rpc__QueryGetRequest *q);
int read_progress(struct svc_ctx *x, const Lms__Rpc__ProgressRequest *q);
int read_stats(struct svc_ctx *x, const Lms__Rpc__StatsRequest *q);

#endif

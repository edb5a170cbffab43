/*
 * read_util.h -- small helpers shared by the read_*.c files (the read side
 * of svc.h); internal to lmsd/svc, prefixed rdu_.
 *
 * Every read function has the same shape:
 *   1. the checks, in this order: the objects named exist, the caller may
 *      see them (refusals with svc_refuse, return 0);
 *   2. for a list, one query selects the page of keys the caller may see
 *      (rdu_page: keyset paging, LIMIT page + 1 to know whether a next
 *      page exists), then each object is built by its svc_load_* loader,
 *      so a list entry is exactly what the get operation returns (files
 *      without their bytes);
 *   3. the result message is built in a local variable and hung on
 *      x->resp only when complete: on a database failure it is freed and
 *      the Response carries no half-built result.
 *
 * Visibility rule shared by every read (README.md documents it):
 *   - an object named by id (assignment, submission, material, question)
 *     that the caller may not see is answered NOT_FOUND with the same
 *     message as an id that does not exist: ids do not reveal what other
 *     courses or other students have;
 *   - a course named by code or a user named by username that the caller
 *     has no right to look at is refused PERMISSION_DENIED (codes and
 *     usernames are directory information, the refusal shows no content);
 *     a course that does not exist is NOT_FOUND.
 *
 * Note for the caller of the reads (svc_machine.c): a read that runs several
 * queries (lists, progress, stats) sees one consistent state only when it
 * runs inside one REPEATABLE READ READ ONLY transaction.
 */
#ifndef LMSD_SVC_READ_UTIL_H
#define LMSD_SVC_READ_UTIL_H

#include "svc.h"

/* Out of memory: sets x->err, returns -1 (the client gets UNAVAILABLE). */
int rdu_oom(struct svc_ctx *x);

bool rdu_is_admin(const struct svc_ctx *x);
bool rdu_is_tutor(const struct svc_ctx *x);

/* A malloc'd copy of s (NULL -> ""); on out of memory sets *oom and
 * returns protobuf-c's shared empty string (never freed). */
char *rdu_dup(const char *s, bool *oom);

/* calloc'd array of n pointers, NULL when n == 0; sets *oom on failure. */
void *rdu_array(size_t n, bool *oom);

/* Frees a partly built result m (may be NULL) after a failure; returns
 * -1 (x->err is set by whoever failed, or "out of memory" when oom). */
int rdu_fail(struct svc_ctx *x, ProtobufCMessage *m, bool oom);

/* ------------------------------------------------------------ paging */

/* The cursor of an id-keyed list: Page.after ("" = from the start) as a
 * positive id into *after (0 from the start). 1, or 0 refused
 * INVALID_ARGUMENT. */
int rdu_after_id(struct svc_ctx *x, const Lms__Rpc__Page *p, int64_t *after);

/* The cursor of a name-keyed list (usernames, course codes): Page.after
 * itself ("" from the start), checked for length and UTF-8. 1, or 0
 * refused INVALID_ARGUMENT. */
int rdu_after_name(struct svc_ctx *x, const Lms__Rpc__Page *p,
                   const char **after);

/* One page of keys. */
struct rdu_page {
	PGresult *res; /* the rows; caller clears (rdu_page_done) */
	int n;         /* rows of this page (<= limit) */
	char *next;    /* malloc'd cursor, or the empty string at the end */
};

/*
 * Runs sql, which must select the page's keys (key_col: the column that is
 * the cursor, text of an id or a name) in cursor order and end with
 * "LIMIT $k" where $k is the next parameter: rdu_page appends limit + 1 to
 * p. 0 (pg filled) or -1.
 */
int rdu_page(struct svc_ctx *x, const char *sql, struct svc_params *p,
             unsigned limit, int key_col, struct rdu_page *pg);
/* Clears the rows; the cursor stays (hang it on the answer or free it
 * with rdu_free_str). */
void rdu_page_done(struct rdu_page *pg);
/* Frees a string from rdu_dup / rdu_page (the shared empty one is kept). */
void rdu_free_str(char *s);

/* ------------------------------------------------------------ scores */

/* A numeric cell with at most two decimals ("85.33", "-1.5", "7") in
 * hundredths, exactly (no floating point); 0 for NULL. */
int64_t rdu_hundredths(const PGresult *res, int r, int c);
/* The double that travels for hundredths h (85.33 for 8533). */
double rdu_score(int64_t h);

/* ------------------------------------------------- objects by id */

/*
 * The course of assignment id, when the caller may see it (an admin, or
 * anyone enrolled in the course): 1 (*course_id, and *role = the caller's
 * course role, NONE for an admin not enrolled), 0 refused NOT_FOUND (also
 * when it exists but the caller may not see it), -1.
 */
int rdu_assignment_course(struct svc_ctx *x, uint64_t id, int64_t *course_id,
                          int *role);

/* ---------------------------------------------------- student scopes */

/*
 * Who and where for grades and progress, from (course, student) of the
 * request ("" = every course / the caller):
 *   - the caller themself: any course they are a student of; naming a
 *     course they are not enrolled in is PERMISSION_DENIED, one where they
 *     are staff (or an admin not enrolled) FAILED_PRECONDITION;
 *   - another student: the course's instructors and TAs, or an admin,
 *     with the course given (an admin may also leave it empty: every
 *     course of the student); anyone else PERMISSION_DENIED; the student
 *     must exist and be a student of the course (NOT_FOUND otherwise).
 * what names the data in messages ("grades", "progress"). On 1,
 * *course_id (0 = every course) and *student_id are set.
 * 1, 0 refused, -1.
 */
int rdu_student_scope(struct svc_ctx *x, const char *course,
                      const char *student, const char *what,
                      int64_t *course_id, int64_t *student_id);

#endif

/*
 * cli_util.h -- helpers of the lms command-line tests (tests/cli): the
 * built `lms` binary driven as a subprocess against a real five-node
 * cluster (tests/cluster/harness.h).
 *
 * Why this exists
 * ---------------
 * These tests check what a user or a script sees: exit codes, the JSON
 * documents of --json, the session file on disk, the files written by
 * downloads, the menu's transcript. So the program runs as it would for a
 * user, by fork+exec, with a controlled environment:
 *
 *   HOME, XDG_CONFIG_HOME   per "user" of the test: dir/<who>/ and
 *                           dir/<who>/config (the session file lands in
 *                           dir/<who>/config/lms/session)
 *   LMS_NODES               the cluster's client ports (ct_set_nodes to
 *                           point elsewhere, e.g. a closed port)
 *   PATH, TZ                fixed (TZ=UTC unless a test says otherwise)
 *   cwd                     dir/<who>/ (downloads without -o land there)
 *
 * plus what a call adds ("LMS_TOKEN=..."). stdin is the given text (or
 * empty), stdout and stderr are captured separately, stdout is parsed as
 * JSON when it is JSON.
 *
 *   struct ct_res *r = CT_LMS(t, "student1", "--json", "whoami");
 *   ct_ok(r);
 *   assert_string_equal(ct_str(r->json, "user.username"), "student1");
 *
 * A result stays valid until the fourth call after it (a ring of four).
 *
 * Setup: ct_begin() boots the cluster, installs the schema with the built
 * lms-migrate and creates the first admin with lms-admin bootstrap (as
 * ops/cluster up does), then logs the admin in with lms itself.
 */
#ifndef LMS_TESTS_CLI_UTIL_H
#define LMS_TESTS_CLI_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

#define CT_ADMIN_PW "admin-secret-1"
#define CT_PW "pass123"

struct ct_res {
	int code;          /* exit status, -1: killed / timed out */
	char *out, *err;   /* NUL-terminated */
	size_t out_len;
	json_t *json;      /* stdout parsed, or NULL */
	char cmd[512];     /* the command line, for messages */
};

struct ct {
	struct cluster *cl;
	char dir[128];     /* the test's own files: dir/<who>/ */
	char nodes[512];   /* LMS_NODES */
	const char *tz;    /* TZ of the next calls (default "UTC") */
	struct ct_res ring[4];
	unsigned next;
};

/* Boots the cluster (5 nodes), schema, first admin "admin" logged in
 * (home "admin"). Returns the test's context (static; one test at a
 * time). */
struct ct *ct_begin(struct cluster *cl);
/* Marks the test passed (cl_pass); leaves files for a failed one. */
void ct_end(struct ct *t);

/* Runs lms as `who` with stdin `input` (NULL: empty), extra environment
 * entries env (NULL-terminated, may be NULL) and the arguments args
 * (NULL-terminated). Never fails the test itself. */
struct ct_res *ct_run(struct ct *t, const char *who, const char *input,
                      const char *const *env, const char *const *args);

#define CT_LMS(t, who, ...)                                                  \
	ct_run((t), (who), NULL, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define CT_LMS_IN(t, who, input, ...)                                        \
	ct_run((t), (who), (input), NULL,                                     \
	       (const char *const[]){__VA_ARGS__, NULL})
#define CT_LMS_ENV(t, who, env, ...)                                         \
	ct_run((t), (who), NULL, (env), (const char *const[]){__VA_ARGS__, NULL})

/* Started in the background (stdout/stderr to files); ct_finish waits
 * and collects. */
pid_t ct_start(struct ct *t, const char *who, const char *const *args,
               char *tag, size_t taglen);
struct ct_res *ct_finish(struct ct *t, pid_t pid, const char *tag,
                         unsigned timeout_ms);

/* lms under a new pseudo-terminal (stdin, stdout and stderr); *master
 * is the other side. ct_wait reaps it: its exit status or -1. */
pid_t ct_spawn_pty(struct ct *t, const char *who, const char *const *args,
                   int *master);
int ct_wait(pid_t pid, unsigned timeout_ms);

/* Fails the test unless r exited 0 / with code (the message shows the
 * command, its stdout and stderr). */
void ct_ok(const struct ct_res *r);
void ct_code(const struct ct_res *r, int code);
/* Like ct_code, and the error on stderr is one JSON object with "error"
 * = err_code (NULL: any) and "exit_code" = code. */
void ct_json_error(const struct ct_res *r, int code, const char *err_code);

/* Fails unless r's stdout contains / does not contain needle (the
 * message shows the output). */
void ct_has(const struct ct_res *r, const char *needle);
void ct_has_not(const struct ct_res *r, const char *needle);

/* Values in a JSON document by path: "a.b[2].c". Fail the test when the
 * path is missing or of another type. */
json_t *ct_get(json_t *j, const char *path);
const char *ct_str(json_t *j, const char *path);
int64_t ct_int(json_t *j, const char *path);
double ct_num(json_t *j, const char *path);
bool ct_bool(json_t *j, const char *path);
size_t ct_len(json_t *j, const char *path);
/* The first element of array `path` whose string field key equals val
 * (fails the test when none). */
json_t *ct_find(json_t *j, const char *path, const char *key,
                const char *val);

/* Paths and files. */
const char *ct_home(struct ct *t, const char *who);   /* dir/<who> */
const char *ct_session(struct ct *t, const char *who); /* session file */
void ct_write_file(const char *path, const void *data, size_t len);
/* malloc'd contents (*len), NULL when it cannot be read. */
uint8_t *ct_read_file(const char *path, size_t *len);
/* Fails unless the two files hold the same bytes. */
void ct_same_file(const char *a, const char *b);
/* Random bytes (deterministic from seed) into a new file. */
void ct_random_file(const char *path, size_t len, unsigned seed);

/* Creates an account with lms as admin and logs it in (home = name). */
void ct_user(struct ct *t, const char *name, const char *role);
/* Logs `who` in (password CT_PW unless pw). */
void ct_login(struct ct *t, const char *who, const char *user,
              const char *pw);

/* ISO-8601 UTC of now + offset seconds (LMS_ISO_MAX bytes). */
char *ct_iso_in(int64_t offset_s, char *buf);

/* The scenarios (one ctest test each). */
void cli_accounts(void **state);
void cli_courses_work(void **state);
void cli_materials_queries(void **state);
void cli_menu(void **state);
void cli_tty(void **state);

#endif

/*
 * e2e_util.h -- the world of the tutor's end-to-end tests (test_e2e.c):
 * a real five-node cluster (tests/cluster/harness.h) set up with the LMS
 * objects a tutored question needs (tests/svc/svc_util.h), the fake Ollama
 * server and tutord processes, all started by fork+exec and stopped by
 * their recorded pids.
 *
 * Why this exists
 * ---------------
 * tutord is a client of the cluster and of Ollama; what it promises
 * (every question addressed to the tutor answered once, nothing stored
 * when Ollama fails, claims that outlive a killed worker only by their
 * lease) can only be seen from outside: through the cluster's read API,
 * as a student or an instructor would, and through tutord's /health and
 * /metrics. These helpers keep the scenarios about those outcomes.
 *
 * The world (e2e_world)
 * ---------------------
 *   accounts  admin, "prof" (instructor), "stud1".."stud4" (students),
 *             "tutor" (role TUTOR: the config's tutor.username)
 *   course    E2E_COURSE, taught by prof, the four students enrolled
 *   material  E2E_MATERIAL_TITLE, a short TXT about Raft elections
 *
 * Processes
 * ---------
 * The fake is the fake-ollama program (LMS_FAKE_OLLAMA_PATH) on 127.0.0.1,
 * its stderr in <cluster dir>/fake-ollama.log; it is steered with
 * POST /_fake/mode. Each tutord (LMS_TUTORD_PATH, up to E2E_MAX_TUTORS)
 * has a config of its own, <cluster dir>/tutord<i>.json: the cluster's
 * config.json with a "tutor" section (its own free http_port, the fake's
 * URL, small timeouts), and logs into <cluster dir>/tutord<i>.log. It gets
 * --nodes, --worker, LMS_TUTOR_PASSWORD and OLLAMA_HOST. The student's
 * side is the lms program itself (LMS_LMS_PATH, e2e_lms_*), with a home
 * of its own per student under the cluster dir (its session file in
 * <home>/config/lms) and its stdout/stderr on pipes, each read stamped
 * with the time it arrived. Children get PR_SET_PDEATHSIG(SIGKILL), so a
 * test process killed by ctest takes them along; e2e_teardown kills what
 * is still running (by pid), prints the tail of the tutord and fake logs
 * and the output of the lms runs when the test did not pass, then runs
 * cl_teardown (node logs, databases, temp dir).
 *
 * Threads: everything runs on the test's main thread and may fail the
 * test (cmocka).
 */
#ifndef LMS_TESTS_TUTOR_E2E_UTIL_H
#define LMS_TESTS_TUTOR_E2E_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client.h"
#include "harness.h"

#define E2E_MAX_TUTORS 3
#define E2E_STUDENTS 4
#define E2E_COURSE "TUT101"
#define E2E_MATERIAL_TITLE "Raft election notes"
#define E2E_TUTOR_USER "tutor"
#define E2E_ANSWER_TAIL "\nNote: a<b and <thin> are not tags."

struct e2e_tutord {
	pid_t pid;                   /* 0: not running */
	unsigned http_port;
	unsigned request_timeout_ms;
	char worker[64];
	char config[160];            /* "" until first started */
	char log[160];
};

/* One run of the lms program (e2e_lms_start): its stdout and stderr on
 * pipes, every read from stdout stamped with the monotonic clock
 * (cl_now_ms). Lives in struct e2e, so that e2e_teardown can stop and
 * free it whatever happened to the test. */
#define E2E_MAX_LMS 8
struct e2e_lms_read {
	uint64_t at_ms;              /* when read() returned the bytes */
	size_t off, len;             /* where they are in out */
};
struct e2e_lms {
	bool used;
	pid_t pid;                   /* 0: reaped */
	int out_fd, err_fd;          /* -1: at EOF (closed) */
	int code;                    /* exit status; -1: a signal */
	uint64_t start_ms, exit_ms;  /* fork; reaped */
	char cmd[512];               /* for messages */
	char *out, *err;             /* NUL-terminated, growing */
	size_t out_len, out_cap, err_len, err_cap;
	struct e2e_lms_read *reads;  /* of stdout, in order */
	size_t n_reads, reads_cap;
};

struct e2e {
	struct cluster *cl;          /* cl_setup / cl_teardown */
	struct lmsc *c;              /* a client of every node */
	char admin[65], prof[65];    /* session tokens */
	char stud[E2E_STUDENTS][65];
	char stud_name[E2E_STUDENTS][16];
	uint64_t material;
	/* the fake Ollama server */
	pid_t fake_pid;              /* 0: not running */
	unsigned fake_port;          /* 0: none chosen yet */
	char fake_log[160];
	struct e2e_tutord tutors[E2E_MAX_TUTORS];
	struct e2e_lms lms[E2E_MAX_LMS];
};

/* cmocka fixtures: *state becomes a struct e2e (with an empty cluster). */
int e2e_setup(void **state);
int e2e_teardown(void **state);

/* Boots the cluster and creates the world above. */
void e2e_world(struct e2e *e);

/* The test reached its end: cl_pass (no log dump; the temp dir goes). */
void e2e_pass(struct e2e *e);

/* ------------------------------------------------------------ the fake */

/* A port on 127.0.0.1 that nothing listens on now (below the ephemeral
 * range and the cluster harness's range). */
unsigned e2e_free_port(void);

/* Starts fake-ollama on port (0: e->fake_port if one was chosen, else any
 * free port) and waits for its "listening on" line; sets e->fake_port. */
void e2e_fake_start(struct e2e *e, unsigned port);
/* SIGTERM and wait; the port stays e->fake_port. */
void e2e_fake_stop(struct e2e *e);
/* POST /_fake/mode with json (e.g. "{\"split\": 40}", "{}" resets);
 * fails the test unless the fake says 200. */
void e2e_fake_mode(struct e2e *e, const char *json);
/* The content of the last user message of the last /api/chat request
 * (heap string), NULL when the fake has had none. */
char *e2e_fake_last_user(struct e2e *e);

/* -------------------------------------------------------------- tutord */

/* Starts tutord number i (0..E2E_MAX_TUTORS-1) as worker `worker` with
 * tutor.request_timeout_ms = request_timeout_ms (its config is written on
 * the first start: later starts reuse it and its http port), and waits
 * until its /health answers (any status). The fake's port must be known
 * (e2e_fake_start or e->fake_port set). */
void e2e_tutord_start(struct e2e *e, unsigned i, const char *worker,
                      unsigned request_timeout_ms);
/* SIGTERM; fails the test unless it exits with status 0 within
 * timeout_ms. Returns how long it took (ms). */
unsigned e2e_tutord_stop(struct e2e *e, unsigned i, unsigned timeout_ms);
/* SIGKILL, reaped. */
void e2e_tutord_kill(struct e2e *e, unsigned i);
/* Fails the test if tutord i, believed running, has exited. */
void e2e_tutord_check_alive(struct e2e *e, unsigned i);

/* GET path on tutord i's status port: the HTTP status code (body into
 * buf), or a negative errno when it did not answer. */
int e2e_tutord_get(struct e2e *e, unsigned i, const char *path, char *buf,
                   size_t cap);
/* The value of metric `name` (an unlabelled sample) in tutord i's
 * /metrics; fails the test when /metrics or the sample is missing. */
double e2e_metric(struct e2e *e, unsigned i, const char *name);
/* Waits up to timeout_ms until metric `name` of tutord i is at least
 * want; returns the last value read. */
double e2e_metric_wait(struct e2e *e, unsigned i, const char *name,
                       double want, unsigned timeout_ms);

/* ------------------------------------------------------------ questions */

/* Posts a question to the tutor as student s (0..E2E_STUDENTS-1). */
uint64_t e2e_ask(struct e2e *e, unsigned s, const char *body);

/* QueryGet as token (linearizable); fails the test unless OK. Free with
 * lmsc_response_free; the question is r->query_get->query. */
Lms__Rpc__Response *e2e_get(struct e2e *e, const char *token, uint64_t id);

/* QueryList of E2E_COURSE addressed to the tutor, as token, every page
 * (the course holds at most a few hundred questions here). The returned
 * array points into the responses in *resps (n_resps of them): free them
 * with e2e_list_free. */
struct e2e_list {
	const Lms__Rpc__Query **q;
	size_t n;
	Lms__Rpc__Response **resps;
	size_t n_resps;
};
void e2e_list(struct e2e *e, const char *token, struct e2e_list *out);
void e2e_list_free(struct e2e_list *l);
/* The question with id in l, NULL when absent. */
const Lms__Rpc__Query *e2e_list_find(const struct e2e_list *l, uint64_t id);

/* Fails the test unless q is answered exactly once by the tutor with a
 * proper answer to `body` (the question's text): the fake's visible
 * answer (Echo of the prompt, the question in it, the fixed tail), no
 * <think> content, no injected error text, sources naming the material
 * (id and title). expected (may be NULL) is the exact body wanted. */
void e2e_expect_tutor_answer(const struct e2e *e, const Lms__Rpc__Query *q,
                             const char *body, const char *expected);
/* Fails the test unless q has no answer, is not ANSWERED, and no answer
 * body of it carries the fake's error text; `what` names the moment. */
void e2e_expect_unanswered(const Lms__Rpc__Query *q, const char *what);

/* ----------------------------------------------------------------- lms */

/*
 * The lms program (LMS_LMS_PATH) as a user runs it: fork + exec with
 * "--nodes <the cluster>" before args, cwd and HOME = the user's home
 * <cluster dir>/lms-<who> (created), XDG_CONFIG_HOME = <home>/config
 * (the session file lands there), LMS_TOKEN/LMS_NODES/LMS_CONFIG unset,
 * LANG=C, TZ=UTC, the rest of the environment inherited (sanitizer
 * options). stdin: the text input (NULL: /dev/null); stdout and stderr
 * on pipes, read by e2e_lms_pump. PR_SET_PDEATHSIG(SIGKILL). Returns the
 * run (owned by e; e2e_lms_free or e2e_teardown frees it).
 */
struct e2e_lms *e2e_lms_start(struct e2e *e, const char *who,
                              const char *input, const char *const *args);
/* Reads what the child wrote for up to ms (0: only what is there now);
 * reaps it once both pipes are at EOF. */
void e2e_lms_pump(struct e2e_lms *r, unsigned ms);
/* Pumps until stdout contains needle (searched from byte `from` on);
 * returns its offset. Fails the test (the output on stderr) when it does
 * not come within timeout_ms or the child ends first. */
size_t e2e_lms_wait_for(struct e2e_lms *r, const char *needle, size_t from,
                        unsigned timeout_ms);
/* Pumps until the child exited and both pipes are at EOF: its exit
 * status (-1: a signal). After timeout_ms it is killed and the test
 * fails. */
int e2e_lms_finish(struct e2e_lms *r, unsigned timeout_ms);
/* The time of the read that brought stdout byte off (off < out_len). */
uint64_t e2e_lms_byte_ms(const struct e2e_lms *r, size_t off);
/* How many stdout reads carried bytes of [from, to). */
size_t e2e_lms_reads_in(const struct e2e_lms *r, size_t from, size_t to);
/* stdout and stderr of r to stderr, under a banner. */
void e2e_lms_show(const struct e2e_lms *r);
/* Kills (by pid) and reaps the child if it still runs; frees r. */
void e2e_lms_free(struct e2e_lms *r);
/* `lms login <student s> --password-stdin` in the home named after the
 * student; fails the test unless it exits 0. */
void e2e_lms_login(struct e2e *e, unsigned s);

/* Milliseconds since the epoch (wall clock: the leader stamps times with
 * it, and every node runs on this machine). */
int64_t e2e_wall_ms(void);

#endif

/*
 * history.h -- the register history of a chaos run: one operation a line.
 *
 * Why this exists
 * ---------------
 * The chaos runner (ops/chaos) drives the key/value registers of the
 * cluster from several concurrent clients while a nemesis injects faults,
 * and records every operation it started. The linearizability checker
 * (linearize.h, and the lms-lincheck program) reads that record later, in
 * another process, possibly on another machine. This file is the one
 * definition of the format, its loader and its writer, so the two sides
 * cannot drift apart.
 *
 * The format (JSON Lines)
 * -----------------------
 * One JSON object per line, in any order (the checker sorts by time):
 *
 *   {"id":17,"client":3,"op":"cas","key":"k1","value":"c3-9",
 *    "expected":"c1-4","start_ns":1200,"end_ns":1900,"outcome":"ok",
 *    "result":{"swapped":true}}
 *
 *   id        integer >= 0, unique in the file
 *   client    integer >= 0, the client (thread) that ran the operation
 *   op        "put" | "get" | "cas"
 *   key       string, the register
 *   value     string: put and cas, the value written; absent for get
 *   expected  string or null: cas only, the value the register must hold
 *             for the swap; null means "the register must be absent"
 *   start_ns  integer >= 0, monotonic nanoseconds just before the request
 *             was sent (one clock for the whole file: the runner's process)
 *   end_ns    integer >= start_ns, monotonic nanoseconds just after the
 *             answer (or the give-up) came; for an "unknown" outcome it
 *             may be null or absent (the checker ignores it anyway)
 *   outcome   "ok"      the operation took effect and answered "result"
 *             "fail"    it certainly did not take effect (refused before it
 *                       was proposed, e.g. NOT_LEADER without retry); the
 *                       checker drops it
 *             "unknown" timeout or lost connection: it may or may not have
 *                       taken effect, at any time after start_ns; the
 *                       checker gives it a return time of +infinity (a get
 *                       with an unknown outcome tells nothing: dropped)
 *   result    outcome "ok" only: get {"found":bool,"value":"v"} ("value"
 *             required when found, absent or null otherwise); cas
 *             {"swapped":bool}; put: absent, null or {}. For other
 *             outcomes: absent or null
 *   note      optional string, free text kept for explanations (the node
 *             asked, the error seen)
 *
 * Any other key is an error, as are duplicate keys: a misspelt field would
 * otherwise silently change what is checked. Blank lines are skipped.
 * Strings are UTF-8 without NUL characters (the register values the runner
 * writes are printable).
 *
 * Ownership
 * ---------
 * struct lms_hist_op is used in two ways. Filled by the loader, inside a
 * struct lms_history, its strings are heap copies owned by the history and
 * freed by lms_history_free. Filled by a caller for lms_hist_writer_append
 * or lms_history_add, its strings are borrowed for the call only (the
 * writer serialises them, lms_history_add copies them).
 *
 * Threads
 * -------
 * A writer may be shared by any number of threads: each append writes and
 * flushes one whole line under the writer's mutex. A struct lms_history is
 * not locked: one thread at a time.
 *
 * Errors
 * ------
 * Functions return 0 or a negative errno value (-EINVAL malformed input,
 * -ENOMEM, -EIO or the errno of a failed write); the loader also writes a
 * message naming the file and the line ("h.jsonl:12: \"op\" must be ...").
 */
#ifndef LMS_CHAOS_HISTORY_H
#define LMS_CHAOS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* end_ns of an operation without an end (outcome unknown, end not given). */
#define LMS_HIST_NO_END UINT64_MAX

enum lms_hist_kind {
	LMS_HIST_PUT,
	LMS_HIST_GET,
	LMS_HIST_CAS,
};

enum lms_hist_outcome {
	LMS_HIST_OK,
	LMS_HIST_FAIL,
	LMS_HIST_UNKNOWN,
};

struct lms_hist_op {
	uint64_t id;
	uint64_t client;
	enum lms_hist_kind kind;
	const char *key;
	const char *value;    /* put, cas: the value written; get: NULL */
	const char *expected; /* cas: expected value, NULL = expect absent */
	uint64_t start_ns;
	uint64_t end_ns;      /* LMS_HIST_NO_END allowed for unknown only */
	enum lms_hist_outcome outcome;
	/* The answer, outcome LMS_HIST_OK only: */
	bool found;           /* get: the key was present */
	const char *result;   /* get, found: the value read; else NULL */
	bool swapped;         /* cas: the swap happened */
	const char *note;     /* optional free text, NULL if none */
};

/* A whole history: ops[0..n) in file order. */
struct lms_history {
	struct lms_hist_op *ops;
	size_t n;
	size_t cap;
};

/* "put", "get", "cas" / "ok", "fail", "unknown". */
const char *lms_hist_kind_name(enum lms_hist_kind k);
const char *lms_hist_outcome_name(enum lms_hist_outcome o);

/*
 * Check one operation against the rules above (ids are not compared with
 * other operations). Returns 0, or -EINVAL with a message in err (which may
 * be NULL) such as "cas without \"value\"".
 */
int lms_hist_op_validate(const struct lms_hist_op *op, char *err,
			 size_t errlen)
	__attribute__((warn_unused_result));

/* Monotonic nanoseconds (CLOCK_MONOTONIC), the clock of start_ns/end_ns. */
uint64_t lms_hist_now_ns(void);

/* ---- a history in memory ----------------------------------------------- */

/* Empty; allocates nothing. */
void lms_history_init(struct lms_history *h);

/* Free every operation and its strings; h is empty (and reusable) after. */
void lms_history_free(struct lms_history *h);

/*
 * Append a deep copy of *op after validating it (ids are not checked for
 * uniqueness here). Returns 0, -EINVAL (message in err, may be NULL) or
 * -ENOMEM; h is unchanged on error.
 */
int lms_history_add(struct lms_history *h, const struct lms_hist_op *op,
		    char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Parse one line (no newline needed; len bytes, NUL not required) into
 * *out, whose strings are heap copies the caller releases with
 * lms_hist_op_free_strings. Returns 0 or -EINVAL / -ENOMEM with a message
 * in err (without the file and line, which the caller knows).
 */
int lms_hist_op_parse(const char *line, size_t len, struct lms_hist_op *out,
		      char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Free the strings of an op filled by lms_hist_op_parse; NULLs them. */
void lms_hist_op_free_strings(struct lms_hist_op *op);

/*
 * Load a whole file ("-" = standard input) into h, which must be empty
 * (initialised). Checks every line and that ids are unique. Returns 0, or
 * a negative errno value with err holding "PATH:LINE: what" (or "could not
 * open \"PATH\": reason"); h is left empty on error.
 */
int lms_history_load(const char *path, struct lms_history *h, char *err,
		     size_t errlen)
	__attribute__((warn_unused_result));

/* Same from an open stream; name is used in messages only. */
int lms_history_load_stream(FILE *f, const char *name, struct lms_history *h,
			    char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * The JSON line of one operation, without a newline, as the writer writes
 * it (keys in the order of the format above; optional parts left out).
 * Returns a malloc'ed string the caller frees, or NULL if op is invalid
 * or memory ran out.
 */
char *lms_hist_op_to_json(const struct lms_hist_op *op);

/* The same as a JSON object (a new reference), NULL as above. */
json_t *lms_hist_op_json(const struct lms_hist_op *op);

/* ---- the writer (the chaos runner's side) ------------------------------ */

struct lms_hist_writer;

/*
 * Create (or truncate) path for writing (mode 0666 less the umask).
 * Returns 0 and *out, or
 * a negative errno value.
 */
int lms_hist_writer_open(const char *path, struct lms_hist_writer **out)
	__attribute__((warn_unused_result));

/*
 * Write op as one line and flush it, under the writer's lock, so that
 * lines of concurrent appends never interleave and a killed runner leaves
 * every finished line on disk. Returns 0, -EINVAL for an invalid op
 * (nothing written), -ENOMEM, or the error of a failed write, which is
 * sticky: every later append returns it too.
 */
int lms_hist_writer_append(struct lms_hist_writer *w,
			   const struct lms_hist_op *op)
	__attribute__((warn_unused_result));

/* Lines written so far. */
uint64_t lms_hist_writer_count(struct lms_hist_writer *w);

/*
 * A fresh operation id: 1, 2, 3, ... per writer, thread-safe. Take it when
 * the operation starts; ids need not be written in order.
 */
uint64_t lms_hist_writer_next_id(struct lms_hist_writer *w);

/*
 * Close the file and free w (NULL is a no-op). Returns 0, or the first
 * write error seen (sticky error of an append, or of the final close).
 */
int lms_hist_writer_close(struct lms_hist_writer *w);

#endif

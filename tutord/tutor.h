/*
 * tutor.h -- the tutor's work loop: claim a question, build the prompt,
 * ask Ollama, store the answer; and the numbers /metrics shows about it.
 *
 * Why this exists
 * ---------------
 * main.c runs the event loop (signals, /health, /metrics); the blocking
 * work (cluster RPCs through the client library, the Ollama call) runs
 * here, in one worker thread that calls tutor_run. The two share only the
 * stop flag and a mutex-protected struct tutor_stats.
 *
 * The loop (tutor_run)
 * --------------------
 *   1. log in with the service account (again whenever a call says
 *      UNAUTHENTICATED);
 *   2. while Ollama is not known to be up: GET /api/tags for the model
 *      (a clear message when it is not pulled or not reachable), retried
 *      with backoff; no question is claimed meanwhile;
 *   3. QueryClaim (worker = "host:pid" and the URL of this claim's
 *      answer stream, live.h; lease = 2 x request timeout); none open:
 *      wait with a backoff of 200 ms doubling to 2 s;
 *   4. the student's level (Progress; refused -> intermediate), the
 *      material (MaterialSearch, top 5 within a char budget), the prompt
 *      (prompt.h), /api/chat streamed; the visible text goes to the
 *      answer stream as it comes, citations filtered once complete;
 *   5. Ollama failed: nothing is stored. The question stays claimed by
 *      this worker and is retried here with backoff while enough of the
 *      lease remains for a whole request; after that it is given back
 *      (QueryRelease: open again at once, for any tutord, this one
 *      included; should that fail, its lease runs out);
 *   6. citations to labels not given are removed; QueryAnswer with the
 *      sources cited (all those given when none is cited) and the worker
 *      name. A refused answer (CONFLICT: answered or claimed elsewhere)
 *      drops the question; a cluster that is unreachable keeps the answer
 *      and retries storing it.
 * Every wait checks the stop flag, and the Ollama call is cancelled when
 * it is set, so SIGTERM ends the loop within about a second; a question
 * still held is given back on the way out (within a second more).
 *
 * Ownership
 * ---------
 * tutor_new copies the strings of its options and borrows cfg, which must
 * outlive the tutor.
 */
#ifndef LMS_TUTOR_H
#define LMS_TUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "metrics.h"

struct lms_config;
struct live;

/* The longest worker field the service takes (a claim's claimed_by). */
#define TUTOR_WORKER_MAX 200

struct tutor_options {
	const struct lms_config *cfg;  /* borrowed */
	const struct lmsc_node *nodes; /* copied */
	size_t n_nodes;
	const char *password;          /* copied */
	const char *worker;            /* NULL: "host:pid" */
	/* Answer streams (live.h): the URL prefix ".../v1/stream/" that
	 * each claim's key is appended to, and the live state the worker
	 * feeds. NULL: no streams. */
	const char *stream_base;       /* copied */
	struct live *live;             /* borrowed */
	unsigned lease_ms;             /* 0: 2 x tutor.request_timeout_ms */
	unsigned idle_min_ms;          /* 0: 200 */
	unsigned idle_max_ms;          /* 0: 2000 */
	unsigned retry_min_ms;         /* 0: 250 (Ollama/cluster errors) */
	unsigned retry_max_ms;         /* 0: 5000 */
};

/* Latency buckets of tutord_answer_seconds. */
#define TUTOR_LATENCY_BUCKETS 11

struct tutor_stats {
	uint64_t claimed;
	uint64_t answered;
	uint64_t ollama_errors;
	uint64_t cluster_errors;
	uint64_t tokens;          /* eval_count of stored answers */
	double last_tokens_per_second;
	bool logged_in;
	bool ollama_up;           /* the last check or chat succeeded */
	char state[160];          /* what the worker does / waits for */
	struct lms_metric latency; /* histogram, seconds, claim to stored */
};

struct tutor;

/* NULL with a message in err on failure. */
struct tutor *tutor_new(const struct tutor_options *o, char *err,
                        size_t errlen);
void tutor_free(struct tutor *t);

/* The loop above; returns when tutor_stop was called. */
void tutor_run(struct tutor *t);

/* Any thread (not a signal handler): ask the loop to stop. */
void tutor_stop(struct tutor *t);

/* Copy of the current numbers (any thread). */
void tutor_stats_get(struct tutor *t, struct tutor_stats *out);

const char *tutor_worker_name(const struct tutor *t);

#endif

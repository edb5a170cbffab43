/*
 * linearize.h -- is a register history linearizable?
 *
 * Why this exists
 * ---------------
 * The chaos runner claims that the key/value registers of the cluster are
 * linearizable under partitions, crashes and pauses. This checker decides
 * it for a recorded history (history.h): is there a total order of the
 * operations that (1) respects real time -- an operation that returned
 * before another was called comes first -- and (2) is a legal sequential
 * run of a register?
 *
 * The model: each key is an independent register, initially absent.
 *   put(v)          sets it to v
 *   get             returns (found, value) of the current state
 *   cas(e, v)       if the state equals e (e may be "absent", which matches
 *                   an absent register) sets it to v and returns
 *                   swapped=true; otherwise changes nothing and returns
 *                   swapped=false
 *
 * Operations on different keys never constrain each other, so each key is
 * checked on its own (linearizability is compositional: a history is
 * linearizable iff each per-object sub-history is), which keeps every
 * search small.
 *
 * Outcomes: "fail" operations are dropped (they did not happen); "unknown"
 * writes may have taken effect at any time after their start, or never:
 * they are given a return time of +infinity; "unknown" gets are dropped.
 * Operations whose intervals touch (one's end_ns == the other's start_ns)
 * count as concurrent.
 *
 * The search (Wing & Gong, with Lowe's just-in-time linearization and the
 * memoization of Porcupine) is bounded by a step budget per key: a key
 * whose search runs out is "undecided", never "ok". The algorithm is
 * described at the top of linearize.c.
 *
 * What makes a search expensive is the number of writes in flight at once
 * on one key. Measured (5,000 operations on one key, 40% puts, 40% gets,
 * 20% cas, 5% unknown outcomes): 12 concurrent clients need about 1
 * million steps, 16 about 9 million, 20 about 40 million, 30 more than
 * the default budget. So a load generator should spread its clients over
 * several keys (a dozen or fewer per key); a value written only once
 * (e.g. "client-sequence") keeps explanations unambiguous, although
 * repeated values are handled. Unknown outcomes are cheap, even when many
 * never took effect.
 *
 * Ownership
 * ---------
 * lms_lin_check reads the history (borrowed for the call) and fills a
 * caller-provided struct lms_lin_result whose memory it owns until
 * lms_lin_result_free. Results refer to operations by their index in the
 * history's ops[] array, so printing a result needs the same history.
 *
 * Threads: no global state; separate calls may run in parallel.
 */
#ifndef LMS_CHAOS_LINEARIZE_H
#define LMS_CHAOS_LINEARIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "history.h"

/* Default search steps per key: a few seconds at most (5-30 million steps
 * a second, depending on the build and the history). */
#define LMS_LIN_DEFAULT_BUDGET 100000000u
/* Default memory for the memo cache of one key. */
#define LMS_LIN_DEFAULT_CACHE_BYTES ((size_t)1 << 30)

/* The values are lms-lincheck's exit codes. */
enum lms_lin_verdict {
	LMS_LIN_OK = 0,        /* linearizable */
	LMS_LIN_ANOMALY = 1,   /* certainly not linearizable */
	LMS_LIN_UNDECIDED = 3, /* the search ran out of budget or memory */
};

struct lms_lin_options {
	uint64_t budget;        /* search steps per key; 0 = default */
	size_t max_cache_bytes; /* memo cache per key; 0 = default */
};

/* The verdict on one key. Indexes are into the history's ops[]. */
struct lms_lin_key {
	char *key;
	enum lms_lin_verdict verdict;
	size_t n_ops;      /* operations checked (ok, and unknown writes) */
	size_t n_unknown;  /* of which with an unknown outcome */
	uint64_t steps;    /* search steps spent */
	size_t cache_entries; /* failed situations cached */

	/*
	 * Anomaly or undecided: a multi-line explanation for people (each
	 * line indented by two spaces, ending with '\n').
	 */
	char *explanation;

	/*
	 * Anomaly: the operation that could not be linearized (SIZE_MAX
	 * otherwise), and the deepest point the search reached -- the
	 * longest partial linearization (in order), the register after it,
	 * and the operations not in it that were called before `blocked`
	 * returned (the candidates that could have gone next; known outcomes
	 * first). When a pre-check found the anomaly (a value read that no
	 * surviving write wrote, or only writes called after the read
	 * returned), linearized[] and pending[] are empty.
	 */
	size_t blocked;
	size_t *linearized;
	size_t n_linearized;
	bool state_found;        /* register after linearized[] */
	const char *state_value; /* borrowed from the history; NULL if absent */
	size_t *pending;
	size_t n_pending;
};

struct lms_lin_result {
	enum lms_lin_verdict verdict; /* anomaly > undecided > ok */
	size_t n_ops;                 /* entries in the history */
	size_t n_checked;             /* kept for the search */
	size_t n_failed;              /* dropped: outcome fail */
	size_t n_unknown_reads;       /* dropped: gets with unknown outcome */
	size_t n_unknown_writes;      /* kept with return at +infinity */
	size_t n_anomalies;           /* keys with an anomaly */
	size_t n_undecided;           /* keys undecided */
	uint64_t steps;               /* over all keys */
	struct lms_lin_key *keys;     /* sorted by key */
	size_t n_keys;
};

/*
 * Check h (which must satisfy lms_hist_op_validate on every op, as loaded
 * histories do). opt may be NULL for the defaults. Returns 0 with *out
 * filled (the verdict is in out->verdict), -EINVAL for an invalid op, or
 * -ENOMEM; *out is left empty (safe to free) on error.
 */
int lms_lin_check(const struct lms_history *h,
		  const struct lms_lin_options *opt,
		  struct lms_lin_result *out)
	__attribute__((warn_unused_result));

/* Release everything in r; r is empty after. */
void lms_lin_result_free(struct lms_lin_result *r);

/* "linearizable", "NOT linearizable", "undecided". */
const char *lms_lin_verdict_name(enum lms_lin_verdict v);

/*
 * The summary for people: counts, one line per key, the explanation of
 * every anomaly and undecided key, and a final verdict line.
 */
void lms_lin_result_print(FILE *f, const struct lms_history *h,
			  const struct lms_lin_result *r);

/*
 * The same as JSON (a new reference, NULL if memory ran out):
 *   {"verdict": "ok" | "anomaly" | "undecided", "ops": N, "checked": N,
 *    "failed_dropped": N, "unknown_reads_dropped": N, "unknown_writes": N,
 *    "anomalies": N, "undecided": N, "steps": N,
 *    "keys": [{"key": "k", "verdict": ..., "ops": N, "unknown": N,
 *              "steps": N,
 *              anomaly or undecided: "explanation": "...",
 *              anomaly: "blocked": OP, "linearized_count": N,
 *                "linearized_tail": [OP, ...] (the last 20 at most),
 *                "state": {"found": b, "value": v}, "pending_count": N,
 *                "pending": [OP, ...] (the first 20 at most)}, ...]}
 * where OP is the operation as in the history file (its JSON object).
 */
json_t *lms_lin_result_json(const struct lms_history *h,
			    const struct lms_lin_result *r);

/*
 * One operation in a line, for explanations: `#12 c3 get -> "v" ok
 * [+1.000200s, +1.000900s]`; times relative to t0_ns.
 */
void lms_lin_format_op(char *buf, size_t len, const struct lms_hist_op *op,
		       uint64_t t0_ns);

#endif

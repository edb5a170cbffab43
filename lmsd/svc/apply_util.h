/*
 * apply_util.h -- small helpers shared by the apply_*.c files (the write
 * side of svc.h); internal to lmsd/svc, prefixed apu_.
 *
 * Every apply function follows the same shape, which these helpers keep
 * short:
 *   1. checks, in the order the refusals are documented (README.md): who
 *      the caller is, that the objects exist, the caller's role, then the
 *      state (deadlines, attempts, claims). A refusal happens before any
 *      write: svc_machine.c keeps the transaction of a refused entry (it
 *      records the refusal as the entry's result), so a write followed by
 *      a refusal would stay in the tables;
 *   2. writes, every one checked beforehand so that no statement can fail
 *      on a constraint (a failed statement aborts the whole apply
 *      transaction and stops the node);
 *   3. the result, loaded back with the svc_load_* functions so that the
 *      answer is what any later read returns.
 */
#ifndef LMSD_SVC_APPLY_UTIL_H
#define LMSD_SVC_APPLY_UTIL_H

#include "svc.h"

/* Out of memory: sets x->err, returns -1 (the entry cannot be applied). */
int apu_oom(struct svc_ctx *x);

/* x->actor is set (the caller svc_machine.c refuses unauthenticated
 * commands already; this keeps a direct call safe). 1, or 0 refused
 * UNAUTHENTICATED. */
int apu_need_actor(struct svc_ctx *x);

bool apu_is_admin(const struct svc_ctx *x);
bool apu_is_tutor(const struct svc_ctx *x);

/* Parses a canonical time of the command (what names it in a refusal).
 * 1 (*ms set), or 0 refused INVALID_ARGUMENT. */
int apu_time(struct svc_ctx *x, const char *iso, const char *what,
             int64_t *ms);

/* "12.34" from a score with at most two decimals, into buf (32 bytes). */
const char *apu_score(double v, char *buf, size_t len);

/* A refusal unless f (an uploaded file) can be stored: its size fits a
 * bigint. 1 ok, 0 refused. */
int apu_check_file(struct svc_ctx *x, const Lms__Rpc__File *f);

/* Inserts f as lms.file id (sha256 and size as the proposer computed
 * them). 0 or -1. */
int apu_store_file(struct svc_ctx *x, int64_t id, const Lms__Rpc__File *f);

/* After a loader returned rv for an object this entry has just written:
 * 0 when found (rv 1), -1 otherwise (rv 0 cannot happen: it would be a
 * bug, reported as a failure rather than an answer without a result). */
int apu_loaded(struct svc_ctx *x, int rv, const char *what);

/* Allocates and initialises a result message: APU_NEW(x, r,
 * logout_response, LogoutResponse) declares r and returns apu_oom(x) from
 * the function on failure (so use it before anything else is allocated). */
#define APU_NEW(x, var, lower, Type)                                         \
	Lms__Rpc__##Type *var = malloc(sizeof *var);                         \
	if (!var)                                                            \
		return apu_oom(x);                                           \
	lms__rpc__##lower##__init(var)

#endif

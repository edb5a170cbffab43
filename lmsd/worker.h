/*
 * worker.h -- a thread that runs blocking jobs (PostgreSQL) for the event
 * loop, in order.
 *
 * Why this exists
 * ---------------
 * lmsd's event loop must never wait for PostgreSQL: heartbeats, elections
 * and client I/O keep going while a batch of log entries is being fsynced.
 * So every database call runs on a worker thread that owns its own
 * connection. The loop submits a job with two functions: `run` executes on
 * the worker thread (it may block), `done` executes later on the loop's
 * thread (it may touch any loop state). Jobs run one at a time, in
 * submission order, and their `done` calls come back in the same order.
 *
 * Ownership
 * ---------
 * The job pointer belongs to the caller; the worker only passes it along.
 * `ctx` (e.g. the thread's struct pgs) is borrowed and must outlive the
 * worker. worker_free() waits for the running job, then calls `done` with
 * cancelled = true for every job not yet run, on the calling thread.
 */
#ifndef LMSD_WORKER_H
#define LMSD_WORKER_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct worker;

typedef void (*worker_run_fn)(void *job, void *ctx);
typedef void (*worker_done_fn)(void *job, bool cancelled);

/* NULL on failure (errno set). name is used in logs (copied). */
struct worker *worker_new(struct event_base *base, const char *name,
                          void *ctx);

/* Queues a job; 0 or -ENOMEM / -ESHUTDOWN. */
int worker_submit(struct worker *w, void *job, worker_run_fn run,
                  worker_done_fn done) __attribute__((warn_unused_result));

/* Jobs submitted and not yet completed (queued + running + awaiting done). */
size_t worker_pending(const struct worker *w);

void worker_free(struct worker *w);

#endif

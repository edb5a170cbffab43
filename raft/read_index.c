/*
 * read_index.c -- linearizable reads without log entries (dissertation
 * Section 6.4).
 *
 * Why this exists
 * ---------------
 * Reads are most of an LMS's traffic; writing each one to the log would
 * cost a disk write per read. Section 6.4 instead:
 *
 *   "1. If the leader has not yet marked an entry from its current term
 *       committed, it waits until it has done so.
 *    2. The leader saves its current commit index in a local variable
 *       readIndex.
 *    3. The leader needs to make sure it hasn't been superseded by a newer
 *       leader of which it is unaware. It issues a new round of heartbeats
 *       and waits for their acknowledgments from a majority of the
 *       cluster.
 *    4. The leader waits for its state machine to advance at least as far
 *       as the readIndex"
 *
 * Steps 1-3 are here; step 4 is the caller's (it serves the read once its
 * applied index reaches the answer's index).
 *
 * How confirmation works
 * ----------------------
 * Each read carries the caller's ctx (non-zero, increasing). Every APPEND
 * the leader sends carries the highest ctx accepted in this leadership
 * (read_term_ctx) and followers echo it; a follower's read_ack is the
 * highest echo. An echo of ctx >= c proves that a majority still followed
 * us after read c arrived, so reads with ctx <= the majority's echo are
 * confirmed ("the leader can amortize the cost of confirming its
 * leadership: it can use a single round of heartbeats for any number of
 * read-only queries"). Reads stay in ctx order in r->reads: answered ones
 * form a prefix that raft_ready() hands out.
 *
 * On step-down every unanswered read fails with RAFT_ELEADERSHIPLOST.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

uint64_t read_index_ctx(const struct raft *r)
{
	return r->role == RAFT_LEADER ? r->read_term_ctx : 0;
}

size_t read_index_n_done(const struct raft *r)
{
	size_t n = 0;
	while (n < r->n_reads && r->reads[n].state == READ_DONE)
		n++;
	return n;
}

static uint64_t read_index_ack(const struct raft_progress *p)
{
	return p->read_ack;
}

/* Step 3: confirm the reads a majority of voters has echoed. */
void read_index_check(struct raft *r)
{
	if (r->role != RAFT_LEADER || r->n_reads == 0)
		return;
	uint64_t confirmed;
	if (!progress_quorum_value(r, UINT64_MAX, read_index_ack, &confirmed))
		return;
	for (size_t k = 0; k < r->n_reads; k++) {
		struct raft_read_req *q = &r->reads[k];
		if (q->state == READ_DONE)
			continue;
		if (q->state != READ_WAIT_QUORUM || q->ctx > confirmed)
			break;
		q->state = READ_DONE;
		q->rv = RAFT_OK;
	}
}

/* Step 1 done once this term's no-op is committed: fix the index of the
 * reads that waited for it (step 2) and confirm them (step 3). */
void read_index_on_commit(struct raft *r)
{
	if (r->role != RAFT_LEADER || r->commit < r->noop_index)
		return;
	bool moved = false;
	for (size_t k = 0; k < r->n_reads; k++) {
		struct raft_read_req *q = &r->reads[k];
		if (q->state != READ_WAIT_NOOP)
			continue;
		q->index = r->commit;
		q->state = READ_WAIT_QUORUM;
		moved = true;
	}
	if (!moved)
		return;
	read_index_check(r);
	if (r->n_reads > read_index_n_done(r))
		replication_heartbeat(r);
}

void read_index_fail_all(struct raft *r)
{
	for (size_t k = 0; k < r->n_reads; k++) {
		struct raft_read_req *q = &r->reads[k];
		if (q->state == READ_DONE)
			continue;
		q->state = READ_DONE;
		q->index = 0;
		q->rv = RAFT_ELEADERSHIPLOST;
	}
}

int raft_read_index(struct raft *r, uint64_t ctx)
{
	if (r->role != RAFT_LEADER)
		return raft_error_set(r, RAFT_ENOTLEADER,
		                      "not the leader (leader is %llu)",
		                      (unsigned long long)r->leader);
	if (ctx == 0 || ctx <= r->read_last_ctx)
		return raft_error_set(r, RAFT_EINVAL,
		                      "read context %llu is not above the last "
		                      "one (%llu)", (unsigned long long)ctx,
		                      (unsigned long long)r->read_last_ctx);
	if (r->n_reads == r->cap_reads) {
		size_t cap = r->cap_reads ? r->cap_reads * 2 : 16;
		struct raft_read_req *v = realloc(r->reads, cap * sizeof(*v));
		if (v == NULL)
			return raft_error_set(r, RAFT_ENOMEM,
			                      "out of memory queueing read %llu",
			                      (unsigned long long)ctx);
		r->reads = v;
		r->cap_reads = cap;
	}
	struct raft_read_req *q = &r->reads[r->n_reads++];
	memset(q, 0, sizeof(*q));
	q->ctx = ctx;
	q->state = READ_WAIT_NOOP;
	r->read_last_ctx = ctx;
	r->read_term_ctx = ctx;
	if (r->commit < r->noop_index)
		return RAFT_OK; /* step 1: wait for the no-op */
	q->index = r->commit;
	q->state = READ_WAIT_QUORUM;
	read_index_check(r);
	if (q->state != READ_DONE)
		replication_heartbeat(r);
	return RAFT_OK;
}

/*
 * ready.c -- handing work to the caller: raft_ready() / raft_advance().
 *
 * Why this exists
 * ---------------
 * The core does no I/O; everything it wants done leaves through a "ready"
 * batch, and the caller's raft_advance() says it is done. Figure 2's rule
 * "respond to RPCs only after updating stable storage" becomes a rule about
 * batches: a batch holds what must be made durable (hard state, log
 * changes, a snapshot chunk) and two lists of messages, `messages_now`
 * (a leader's APPEND/SNAPSHOT/TIMEOUT_NOW, which depend on nothing still
 * unpersisted: Section 10.2.1 of the dissertation, "the leader can write to
 * its disk in parallel with replicating to its followers") and `messages`
 * (votes, responses, candidacy), which the caller sends only once the
 * batch is durable.
 *
 * Messages that may go out at once need not wait for a batch at all:
 * raft_flush_now() hands them over while a batch is outstanding too, so a
 * slow disk (a batch taking longer than the election timeout) delays
 * neither a leader's heartbeats nor its replication. A follower's answer
 * to an APPEND joins them when it claims nothing that is not durable yet:
 * its term is durable and, if it is a success, the entries it
 * acknowledges are (index <= stable). Otherwise it waits for the batch as
 * before, and an empty APPEND (a heartbeat) is answered twice: at once
 * with the durable prefix, later with everything. The early answer keeps
 * the leader's check-quorum and ReadIndex rounds going however slow this
 * follower's disk is; it is true when sent because nothing in it depends
 * on what is still in flight.
 *
 * What accumulates between batches
 * --------------------------------
 *   hs_dirty          term or vote changed;
 *   sent+1 .. last    entries appended since the last batch was taken;
 *   pend_truncate     lowest index from which entries already handed out
 *                     were truncated (a real conflict, replication.c);
 *   pend_compact      compaction point from raft_snapshot_taken();
 *   pend_chunk / pend_install
 *                     a received snapshot chunk and, after the last one,
 *                     the install (snapshot.c);
 *   pend_now / pend_msgs
 *                     the two message queues;
 *   applied+1 .. min(commit, stable)
 *                     committed entries to apply: only what this node has
 *                     durably in its log as of the last advance;
 *   reads             answered ReadIndex requests (read_index.c).
 *
 * Only one batch is outstanding. raft_ready() moves the pending state into
 * it: queues are swapped (no copying), entries/committed/reads are deep
 * copied into one block. So whatever the core does while the caller
 * persists (append, truncate, compact, install) cannot invalidate the
 * pointers it handed out; raft_advance() frees them.
 *
 * Memory: raft_ready() cannot fail. If the copy block cannot be allocated,
 * the batch carries only messages_now and everything else stays pending for
 * the next one (raft_has_ready() stays true), so nothing is acknowledged
 * before it is persisted.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------ msg queues */

static int ready_msgq_push(struct raft_msgq *q, const struct raft_message *m,
                           void *owned)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct raft_message *msgs = malloc(cap * sizeof(*msgs));
		void **own = malloc(cap * sizeof(*own));
		if (msgs == NULL || own == NULL) {
			free(msgs);
			free(own);
			return RAFT_ENOMEM;
		}
		if (q->n > 0) {
			memcpy(msgs, q->msgs, q->n * sizeof(*msgs));
			memcpy(own, q->owned, q->n * sizeof(*own));
		}
		free(q->msgs);
		free(q->owned);
		q->msgs = msgs;
		q->owned = own;
		q->cap = cap;
	}
	q->msgs[q->n] = *m;
	q->owned[q->n] = owned;
	q->n++;
	return RAFT_OK;
}

static void ready_msgq_clear(struct raft_msgq *q)
{
	for (size_t k = 0; k < q->n; k++)
		free(q->owned[k]);
	q->n = 0;
}

static void ready_msgq_free(struct raft_msgq *q)
{
	ready_msgq_clear(q);
	free(q->msgs);
	free(q->owned);
	memset(q, 0, sizeof(*q));
}

static void ready_msgq_swap(struct raft_msgq *a, struct raft_msgq *b)
{
	struct raft_msgq t = *a;
	*a = *b;
	*b = t;
}

void ready_message_init(const struct raft *r, struct raft_message *m,
                        int type, raft_id to)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = r->id;
	m->to = to;
	m->term = r->term;
}

bool ready_can_answer_now(const struct raft *r)
{
	return r->role != RAFT_LEADER && !r->hs_dirty && !r->out_has_hs &&
	       !r->pend_has_install && !r->out_has_install;
}

/* Queues m (copied; `owned` is freed with it). A leader's APPEND, SNAPSHOT
 * and TIMEOUT_NOW may leave before persistence, as long as the term they
 * carry is already handed out for persistence (not dirty): durable by the
 * time they leave, because raft_flush_now() holds them while a hard state
 * is in flight. So may a follower's APPEND_RESP that acknowledges only
 * durable entries (see the top of this file): stable counts only entries
 * that are durable and equal to the in-memory log (a truncation lowers
 * it). Everything else waits for the batch. On RAFT_ENOMEM the message is
 * dropped (the protocol survives lost messages) and `owned` freed. */
int ready_send(struct raft *r, const struct raft_message *m, void *owned)
{
	bool now = ((m->type == RAFT_MSG_APPEND ||
	             m->type == RAFT_MSG_SNAPSHOT ||
	             m->type == RAFT_MSG_TIMEOUT_NOW) &&
	            r->role == RAFT_LEADER && !r->hs_dirty) ||
	           (m->type == RAFT_MSG_APPEND_RESP && ready_can_answer_now(r) &&
	            (!m->append_resp.success ||
	             m->append_resp.index <= r->stable));
	int rv = ready_msgq_push(now ? &r->pend_now : &r->pend_msgs, m, owned);
	if (rv != RAFT_OK)
		free(owned);
	return rv;
}

/* Entries from `from` on were dropped from the in-memory log. Those already
 * handed out must be deleted by the caller too: the next batch says so in
 * truncate_from. */
void ready_note_truncate(struct raft *r, raft_index from)
{
	if (from <= r->sent) {
		if (r->pend_truncate == 0 || from < r->pend_truncate)
			r->pend_truncate = from;
		r->sent = from - 1;
	}
	if (r->stable >= from)
		r->stable = from - 1;
}

void ready_close(struct raft *r)
{
	ready_msgq_free(&r->pend_now);
	ready_msgq_free(&r->pend_msgs);
	ready_msgq_free(&r->out_now);
	ready_msgq_free(&r->out_msgs);
	ready_msgq_free(&r->flush_now);
	free(r->out_block);
	r->out_block = NULL;
	free(r->out_chunk_buf);
	r->out_chunk_buf = NULL;
	free(r->pend_chunk_buf);
	r->pend_chunk_buf = NULL;
}

/* ------------------------------------------------------------- the batch */

static raft_index ready_commit_limit(const struct raft *r)
{
	return raft_min_index(r->commit, r->stable);
}

bool raft_has_ready(const struct raft *r)
{
	if (r->outstanding)
		return false;
	return r->hs_dirty || r->pend_truncate != 0 || r->pend_compact != 0 ||
	       log_last_index(&r->log) > r->sent || r->pend_has_chunk ||
	       r->pend_has_install || r->pend_now.n > 0 || r->pend_msgs.n > 0 ||
	       ready_commit_limit(r) > r->applied || read_index_n_done(r) > 0;
}

void raft_ready(struct raft *r, struct raft_ready *rd)
{
	assert(!r->outstanding);
	memset(rd, 0, sizeof(*rd));

	/* Sizes of the deep copies. committed <= stable <= sent < the first
	 * new entry, so the two ranges never overlap. */
	raft_index last = log_last_index(&r->log);
	raft_index e_from = r->sent + 1;
	size_t n_e = 0, e_bytes = 0;
	if (last >= e_from)
		n_e = log_slice_count(&r->log, e_from, (size_t)(last - e_from + 1),
		                      SIZE_MAX, &e_bytes);
	raft_index c_from = r->applied + 1;
	raft_index c_to = ready_commit_limit(r);
	size_t n_c = 0, c_bytes = 0;
	if (c_to >= c_from)
		n_c = log_slice_count(&r->log, c_from, (size_t)(c_to - c_from + 1),
		                      SIZE_MAX, &c_bytes);
	size_t n_rd = read_index_n_done(r);

	size_t size = (n_e + n_c) * sizeof(struct raft_entry) +
	              n_rd * sizeof(struct raft_read_result) + e_bytes + c_bytes;
	unsigned char *block = NULL;
	if (size > 0) {
		block = malloc(size);
		if (block == NULL) {
			/* Only what needs no copy and no persistence. */
			ready_msgq_swap(&r->pend_now, &r->out_now);
			rd->messages_now = r->out_now.msgs;
			rd->n_messages_now = r->out_now.n;
			r->outstanding = true;
			return;
		}
	}
	struct raft_entry *ents = (struct raft_entry *)block;
	struct raft_entry *comm = ents ? ents + n_e : NULL;
	struct raft_read_result *reads =
		block ? (struct raft_read_result *)(comm + n_c) : NULL;
	unsigned char *data = block ? (unsigned char *)(reads + n_rd) : NULL;

	if (r->hs_dirty) {
		rd->has_hard_state = true;
		rd->hard_state.term = r->term;
		rd->hard_state.vote = r->vote;
		r->hs_dirty = false;
		r->out_has_hs = true;
		r->out_hs = rd->hard_state;
	}

	if (r->pend_has_chunk) {
		rd->has_snapshot_chunk = true;
		rd->snapshot_chunk = r->pend_chunk;
		r->out_chunk_buf = r->pend_chunk_buf;
		r->pend_chunk_buf = NULL;
		r->pend_has_chunk = false;
	}
	if (r->pend_has_install) {
		rd->has_install_snapshot = true;
		rd->install_snapshot = r->pend_install;
		r->pend_has_install = false;
		r->out_has_install = true;
	}

	rd->truncate_from = r->pend_truncate;
	r->pend_truncate = 0;
	if (n_e > 0) {
		data += log_copy(&r->log, e_from, n_e, ents, data);
		rd->entries = ents;
		rd->n_entries = n_e;
		r->sent = last;
	}
	r->out_n_entries = n_e;
	r->out_last_entry = last;
	rd->compact_before = r->pend_compact;
	r->pend_compact = 0;

	ready_msgq_swap(&r->pend_now, &r->out_now);
	ready_msgq_swap(&r->pend_msgs, &r->out_msgs);
	rd->messages_now = r->out_now.msgs;
	rd->n_messages_now = r->out_now.n;
	rd->messages = r->out_msgs.msgs;
	rd->n_messages = r->out_msgs.n;

	/* Figure 2, all servers: "If commitIndex > lastApplied: increment
	 * lastApplied, apply log[lastApplied] to state machine". */
	r->out_last_committed = 0;
	if (n_c > 0) {
		log_copy(&r->log, c_from, n_c, comm, data);
		rd->committed = comm;
		rd->n_committed = n_c;
		r->out_last_committed = c_from + n_c - 1;
	}

	if (n_rd > 0) {
		for (size_t k = 0; k < n_rd; k++) {
			reads[k].ctx = r->reads[k].ctx;
			reads[k].index = r->reads[k].index;
			reads[k].rv = r->reads[k].rv;
		}
		memmove(r->reads, r->reads + n_rd,
		        (r->n_reads - n_rd) * sizeof(*r->reads));
		r->n_reads -= n_rd;
		rd->reads = reads;
		rd->n_reads = n_rd;
	}

	r->out_block = block;
	r->outstanding = true;
}

void raft_advance(struct raft *r, const struct raft_ready *rd)
{
	assert(r->outstanding);
	(void)rd;

	/* The entries of the batch are durable, except those truncated from
	 * memory meanwhile (sent was lowered then). */
	if (r->out_n_entries > 0) {
		raft_index s = raft_min_index(r->out_last_entry, r->sent);
		if (s > r->stable)
			r->stable = s;
	}
	if (r->out_last_committed > r->applied)
		r->applied = r->out_last_committed;

	ready_msgq_clear(&r->out_now);
	ready_msgq_clear(&r->out_msgs);
	free(r->out_block);
	r->out_block = NULL;
	free(r->out_chunk_buf);
	r->out_chunk_buf = NULL;
	r->out_n_entries = 0;
	r->out_last_entry = 0;
	r->out_last_committed = 0;
	r->out_has_install = false;
	r->outstanding = false;
	if (r->out_has_hs) {
		r->out_has_hs = false;
		election_on_durable(r, &r->out_hs);
	}

	/* Our own log counts toward commitment once durable. */
	if (r->role == RAFT_LEADER)
		replication_maybe_commit(r);
}

/* ------------------------------------------------- messages without batch */

bool raft_has_now(const struct raft *r)
{
	return r->pend_now.n > 0 && !r->out_has_hs;
}

/* The messages of pend_now leave through send() in the order queued. Not
 * while a hard state is in flight: pend_now holds messages queued when
 * their term was not dirty, i.e. durable or in the outstanding batch;
 * once no hard state is outstanding, it is durable. */
size_t raft_flush_now(struct raft *r, raft_send_fn send, void *arg)
{
	if (!raft_has_now(r))
		return 0;
	ready_msgq_swap(&r->pend_now, &r->flush_now);
	size_t n = r->flush_now.n;
	for (size_t k = 0; k < n; k++)
		send(arg, &r->flush_now.msgs[k]);
	ready_msgq_clear(&r->flush_now);
	return n;
}

/*
 * replication.c -- log replication: AppendEntries out and in, commitment.
 *
 * Why this exists
 * ---------------
 * Section 5.3 of the paper is the heart of Raft: the leader appends client
 * commands to its log and replicates them with AppendEntries; followers
 * accept them only when their log matches the leader's at prev_index; an
 * entry of the leader's term is committed once a majority stores it. This
 * file is that section plus the practical parts around it:
 *
 *   - batching: one APPEND carries up to max_entries_per_msg entries and
 *     max_bytes_per_msg bytes (a single bigger entry still goes alone:
 *     proposals are bounded separately by max_entry_bytes, so that a
 *     rare large entry, e.g. an upload, does not force big batches);
 *   - pipelining: in REPLICATE state up to max_inflight APPENDs are in
 *     flight per follower, in PROBE state one (progress.c);
 *   - fast backup: a rejection carries conflict_term / conflict_index
 *     (Section 5.3's optional optimization) and the follower's last index;
 *   - heartbeats are empty APPENDs (prev = next - 1): they double as probes
 *     and carry the ReadIndex context (read_index.c);
 *   - the leader counts its own log only up to what it has persisted
 *     (r->stable, see ready.c), followers' logs up to what they
 *     acknowledged, which they do only after persisting.
 *
 * Ownership: an outgoing APPEND carries a deep copy of its entries in one
 * block queued with the message (ready.c) and freed after its batch.
 * Incoming entries are borrowed and copied by log_append().
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------ leader side */

/* Queues an APPEND to p: prev_index `prev` and the n entries after it. */
static bool replication_send_append(struct raft *r, struct raft_progress *p,
                                    raft_index prev, raft_term prev_term,
                                    size_t n, size_t bytes)
{
	struct raft_message m;
	ready_message_init(r, &m, RAFT_MSG_APPEND, p->id);
	m.append.prev_index = prev;
	m.append.prev_term = prev_term;
	m.append.commit = r->commit;
	m.append.read_ctx = read_index_ctx(r);
	void *block = NULL;
	if (n > 0) {
		block = malloc(n * sizeof(struct raft_entry) + bytes);
		if (block == NULL)
			return false;
		struct raft_entry *ents = block;
		log_copy(&r->log, prev + 1, n, ents, (unsigned char *)(ents + n));
		m.append.entries = ents;
		m.append.n_entries = n;
	}
	if (ready_send(r, &m, block) != RAFT_OK)
		return false;
	progress_on_sent(r, p, prev + n, n);
	return true;
}

/* Sends p what it needs next, if its progress state allows: entries from
 * next_index, or the snapshot when they are compacted away. allow_empty
 * sends an APPEND even without entries (to carry the commit index);
 * heartbeat always sends something, ignoring the flow-control pause.
 * Returns whether a message was queued. */
bool replication_send(struct raft *r, struct raft_progress *p,
                      bool allow_empty, bool heartbeat)
{
	if (p->state == RAFT_PROGRESS_SNAPSHOT) {
		if (heartbeat) {
			snapshot_heartbeat(r, p);
			return true;
		}
		return snapshot_send(r, p);
	}
	raft_index last = log_last_index(&r->log);
	if (p->next > last + 1)
		p->next = last + 1;
	if (p->next < 1)
		p->next = 1;
	raft_index prev = p->next - 1;
	raft_term prev_term;
	if (!log_term_at(&r->log, prev, &prev_term)) {
		/* Section 7: "the leader must occasionally send snapshots to
		 * followers that lag behind. This happens when the leader has
		 * already discarded the next log entry that it needs to send
		 * to a follower." */
		if (r->snapshot.index == 0)
			return false;
		progress_become_snapshot(p, r->snapshot.index, r->snapshot.size);
		return snapshot_send(r, p);
	}
	bool paused = progress_is_paused(r, p);
	if (paused && !heartbeat)
		return false;
	size_t n = 0, bytes = 0;
	if (!paused)
		n = log_slice_count(&r->log, p->next, r->opts.max_entries_per_msg,
		                    r->opts.max_bytes_per_msg, &bytes);
	if (n == 0 && !allow_empty && !heartbeat)
		return false;
	return replication_send_append(r, p, prev, prev_term, n, bytes);
}

void replication_broadcast(struct raft *r, bool allow_empty)
{
	for (unsigned k = 0; k < RAFT_MAX_SERVERS; k++)
		if (r->progress[k].used)
			replication_send(r, &r->progress[k], allow_empty, false);
}

/* Section 5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that
 * carry no log entries) to all followers in order to maintain their
 * authority." When the pipeline has room, the heartbeat carries the
 * pending entries instead. */
void replication_heartbeat(struct raft *r)
{
	for (unsigned k = 0; k < RAFT_MAX_SERVERS; k++)
		if (r->progress[k].used)
			replication_send(r, &r->progress[k], true, true);
}

/* Commit index moved to `index` (leader or follower). */
void replication_commit_to(struct raft *r, raft_index index)
{
	if (index <= r->commit)
		return;
	r->commit = index;
	if (r->role != RAFT_LEADER)
		return;
	membership_on_commit(r);
	if (r->role == RAFT_LEADER)
		read_index_on_commit(r);
}

static uint64_t replication_match(const struct raft_progress *p)
{
	return p->match;
}

/* Figure 2, leaders: "If there exists an N such that N > commitIndex, a
 * majority of matchIndex[i] >= N, and log[N].term == currentTerm: set
 * commitIndex = N (§5.3, §5.4)." Section 5.4.2: "Raft never commits log
 * entries from previous terms by counting replicas. Only log entries from
 * the leader's current term are committed by counting replicas". Our own
 * match is what we persisted (Section 10.2.1: the leader "may even commit
 * an entry before it has been written to its own disk, if a majority of
 * followers have written it to their disks"). A leader removed from the
 * configuration "does not count itself in majorities" (Section 4.2.2). */
void replication_maybe_commit(struct raft *r)
{
	if (r->role != RAFT_LEADER)
		return;
	raft_index q;
	if (!progress_quorum_value(r, r->stable, replication_match, &q))
		return;
	raft_term t;
	if (q <= r->commit || !log_term_at(&r->log, q, &t) || t != r->term)
		return;
	replication_commit_to(r, q);
}

/* Where to resume after a rejection, from the follower's hints. Section
 * 5.3: "when rejecting an AppendEntries request, the follower can include
 * the term of the conflicting entry and the first index it stores for that
 * term. With this information, the leader can decrement nextIndex to
 * bypass all of the conflicting entries in that term". When we hold
 * entries of that term, the follower's log may match up to our last one. */
static raft_index replication_hint(const struct raft *r,
                                   const struct raft_message *m)
{
	raft_index rejected = m->append_resp.index;
	raft_term ct = m->append_resp.conflict_term;
	raft_index hint = m->append_resp.conflict_index;
	if (ct != 0) {
		raft_index j;
		raft_term t;
		if (log_last_at_most_term(&r->log, ct, rejected, &j) &&
		    log_term_at(&r->log, j, &t) && t == ct)
			hint = j + 1;
	}
	/* Section 4.2.1: followers "return the length of their logs in the
	 * AppendEntries response; this allows the leader to cap the
	 * follower's nextIndex accordingly." */
	if (hint > m->append_resp.last_index + 1)
		hint = m->append_resp.last_index + 1;
	return hint < 1 ? 1 : hint;
}

void replication_recv_append_resp(struct raft *r, const struct raft_message *m)
{
	struct raft_progress *p = progress_find(r, m->from);
	if (p == NULL)
		return;
	progress_contact(p);
	if (m->append_resp.read_ctx > p->read_ack) {
		p->read_ack = m->append_resp.read_ctx;
		read_index_check(r);
	}

	if (!m->append_resp.success) {
		if (!progress_maybe_decr(p, m->append_resp.index,
		                         replication_hint(r, m),
		                         m->append_resp.conflict_term == 0,
		                         m->append_resp.last_index))
			return;
		if (p->state == RAFT_PROGRESS_PROBE) {
			replication_send(r, p, true, false);
			return;
		}
		while (replication_send(r, p, false, false))
			;
		return;
	}

	raft_index index = m->append_resp.index;
	if (index > log_last_index(&r->log))
		index = log_last_index(&r->log);
	bool updated = progress_maybe_update(p, index);
	progress_free_inflight(r, p, index);
	/* A probe answered at our match index also proves where the logs
	 * match (match did not move, but we now know next). */
	bool probed = p->state == RAFT_PROGRESS_PROBE && index == p->match;
	if (updated || probed) {
		if (p->state == RAFT_PROGRESS_PROBE ||
		    (p->state == RAFT_PROGRESS_SNAPSHOT &&
		     p->match >= p->snap_index))
			progress_become_replicate(p);
		replication_maybe_commit(r);
		if (r->role != RAFT_LEADER)
			return; /* committed our own removal */
		transfer_on_progress(r, p);
	}
	/* Keep the pipeline full. */
	while (replication_send(r, p, false, false))
		;
}

/* A message from a leader of an older term: answer with our term so that it
 * steps down (Figure 2: "Reply false if term < currentTerm"). */
void replication_reply_stale(struct raft *r, const struct raft_message *m)
{
	struct raft_message resp;
	if (m->type == RAFT_MSG_APPEND) {
		ready_message_init(r, &resp, RAFT_MSG_APPEND_RESP, m->from);
		resp.append_resp.success = false;
		resp.append_resp.index = m->append.prev_index;
		resp.append_resp.last_index = log_last_index(&r->log);
	} else {
		ready_message_init(r, &resp, RAFT_MSG_SNAPSHOT_RESP, m->from);
		resp.snapshot_resp.index = m->snapshot.index;
		resp.snapshot_resp.rejected = true;
	}
	ready_send(r, &resp, NULL);
}

int raft_propose(struct raft *r, const void *data, size_t len,
                 raft_index *index, raft_term *term)
{
	if (r->role != RAFT_LEADER)
		return raft_error_set(r, RAFT_ENOTLEADER,
		                      "not the leader (leader is %llu)",
		                      (unsigned long long)r->leader);
	if (r->transfer_target != 0)
		return raft_error_set(r, RAFT_EBUSY,
		                      "leadership transfer to %llu in progress",
		                      (unsigned long long)r->transfer_target);
	size_t limit = r->opts.max_entry_bytes ? r->opts.max_entry_bytes
	                                       : r->opts.max_bytes_per_msg;
	if (len > limit)
		return raft_error_set(r, RAFT_ETOOBIG,
		                      "entry of %zu bytes exceeds the %zu byte "
		                      "entry limit", len, limit);
	if (data == NULL && len > 0)
		return raft_error_set(r, RAFT_EINVAL, "no data for %zu bytes",
		                      len);
	struct raft_entry e;
	memset(&e, 0, sizeof(e));
	e.term = r->term;
	e.index = log_last_index(&r->log) + 1;
	e.type = RAFT_ENTRY_NORMAL;
	e.data = data;
	e.len = len;
	if (log_append(&r->log, &e, 1) != RAFT_OK)
		return raft_error_set(r, RAFT_ENOMEM,
		                      "out of memory appending entry %llu",
		                      (unsigned long long)e.index);
	if (index != NULL)
		*index = e.index;
	if (term != NULL)
		*term = e.term;
	replication_broadcast(r, false);
	return RAFT_OK;
}

void raft_report_unreachable(struct raft *r, raft_id id)
{
	if (r->role != RAFT_LEADER)
		return;
	struct raft_progress *p = progress_find(r, id);
	if (p == NULL)
		return;
	if (p->state == RAFT_PROGRESS_REPLICATE)
		progress_become_probe(p);
	else if (p->state == RAFT_PROGRESS_SNAPSHOT)
		p->snap_inflight = false;
}

/* ---------------------------------------------------------- follower side */

static bool replication_entries_valid(const struct raft_message *m)
{
	const struct raft_entry *e = m->append.entries;
	size_t n = m->append.n_entries;
	if (n > 0 && e == NULL)
		return false;
	raft_term prev_term = m->append.prev_term;
	for (size_t k = 0; k < n; k++) {
		if (e[k].index != m->append.prev_index + 1 + k ||
		    e[k].term > m->term || e[k].term < prev_term ||
		    e[k].term == 0 || (e[k].len > 0 && e[k].data == NULL))
			return false;
		if (e[k].type != RAFT_ENTRY_NORMAL && e[k].type != RAFT_ENTRY_NOOP &&
		    e[k].type != RAFT_ENTRY_CONFIG)
			return false;
		if (e[k].type == RAFT_ENTRY_CONFIG &&
		    raft_config_decode(e[k].data, e[k].len, NULL) != RAFT_OK)
			return false;
		prev_term = e[k].term;
	}
	return true;
}

/* The answer to the APPEND m: success (index = highest index known to
 * match) or failure (index = the rejected prev_index); our last index and
 * m's read context either way. */
static void replication_append_resp(const struct raft *r,
                                    const struct raft_message *m,
                                    bool success, raft_index index,
                                    struct raft_message *resp)
{
	ready_message_init(r, resp, RAFT_MSG_APPEND_RESP, m->from);
	resp->append_resp.success = success;
	resp->append_resp.index = index;
	resp->append_resp.last_index = log_last_index(&r->log);
	resp->append_resp.read_ctx = m->append.read_ctx;
}

static void replication_reject(struct raft *r, const struct raft_message *m,
                               bool have_prev, raft_term prev_term)
{
	raft_index prev = m->append.prev_index;
	struct raft_message resp;
	replication_append_resp(r, m, false, prev, &resp);
	if (!have_prev) {
		resp.append_resp.conflict_term = 0;
		resp.append_resp.conflict_index = log_last_index(&r->log) + 1;
	} else {
		raft_index first = prev > r->log.offset
		                           ? log_first_of_term(&r->log, prev)
		                           : prev;
		/* Everything up to our commit index matches any leader. */
		if (first <= r->commit)
			first = r->commit + 1;
		resp.append_resp.conflict_term = prev_term;
		resp.append_resp.conflict_index = first;
	}
	ready_send(r, &resp, NULL);
}

/* Figure 2, AppendEntries receiver implementation:
 *   1. Reply false if term < currentTerm (§5.1)          [raft_step()]
 *   2. Reply false if log doesn't contain an entry at prevLogIndex whose
 *      term matches prevLogTerm (§5.3)
 *   3. If an existing entry conflicts with a new one (same index but
 *      different terms), delete the existing entry and all that follow it
 *      (§5.3)
 *   4. Append any new entries not already in the log
 *   5. If leaderCommit > commitIndex, set commitIndex = min(leaderCommit,
 *      index of last new entry)
 * Entries we already hold with the same term are skipped, never truncated:
 * a duplicated or reordered APPEND must not erase entries that a later one
 * brought (and that we may have acknowledged). */
int replication_recv_append(struct raft *r, const struct raft_message *m)
{
	r->leader = m->from;
	r->election_elapsed = 0;
	if (!replication_entries_valid(m))
		return RAFT_OK; /* malformed: dropped like a lost message */
	const struct raft_entry *ents = m->append.entries;
	size_t n = m->append.n_entries;
	raft_index prev = m->append.prev_index;
	raft_index msg_last = prev + n;

	/* A snapshot install waiting for its batch goes out alone (its
	 * order against new entries would be ambiguous); the leader will
	 * resend. */
	if (n > 0 && r->pend_has_install)
		return RAFT_OK;

	/* Entries up to our commit index are committed, hence identical in
	 * every leader's log (Leader Completeness): no need to check them,
	 * and they may be compacted here already. */
	size_t skip = 0;
	if (prev < r->commit) {
		skip = r->commit - prev < n ? (size_t)(r->commit - prev) : n;
	} else {
		raft_term t = 0;
		bool have = log_term_at(&r->log, prev, &t);
		if (!have || t != m->append.prev_term) {
			replication_reject(r, m, have, t);
			return RAFT_OK;
		}
	}

	raft_index last = log_last_index(&r->log);
	size_t k = skip;
	for (; k < n; k++) {
		raft_term t;
		if (ents[k].index > last)
			break;
		if (!log_term_at(&r->log, ents[k].index, &t) || t != ents[k].term)
			break;
	}
	if (k < n) {
		raft_index from = ents[k].index;
		bool conflict = from <= last;
		assert(from > r->commit);
		int rv = log_append(&r->log, ents + k, n - k);
		if (rv != RAFT_OK)
			return raft_error_set(r, rv, "out of memory appending "
			                      "entries %llu..%llu",
			                      (unsigned long long)from,
			                      (unsigned long long)msg_last);
		if (conflict) {
			ready_note_truncate(r, from);
			membership_on_truncate(r, from);
		}
		membership_on_append(r, from, msg_last);
	}

	raft_index c = raft_min_index(m->append.commit, msg_last);
	if (c > r->commit)
		replication_commit_to(r, c);

	struct raft_message resp;
	replication_append_resp(r, m, true, msg_last, &resp);
	/* A heartbeat whose answer must wait for entries still being
	 * persisted is also answered at once with the durable prefix (see
	 * ready.c): that keeps us counted by the leader's check-quorum and
	 * ReadIndex rounds while our disk is slow. */
	if (n == 0 && msg_last > r->stable && ready_can_answer_now(r)) {
		struct raft_message early = resp;
		early.append_resp.index = r->stable;
		ready_send(r, &early, NULL);
	}
	ready_send(r, &resp, NULL);
	return RAFT_OK;
}

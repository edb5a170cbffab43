/*
 * snapshot.c -- snapshots: taking them, streaming them, installing them.
 *
 * Why this exists
 * ---------------
 * Section 7 of the paper: "each server takes snapshots independently,
 * covering just the committed entries in its log", and "the leader must
 * occasionally send snapshots to followers that lag behind" with
 * InstallSnapshot. The core never sees snapshot bytes: the caller takes
 * and stores them, the transport fills outgoing chunks, and the receiving
 * caller stores incoming chunks. What the core does:
 *
 *   raft_snapshot_taken()  records the latest snapshot (index, term, config
 *                          as of index, size) and compacts the in-memory
 *                          log up to index - snapshot_trailing; the
 *                          trailing entries let slightly lagging followers
 *                          catch up from the log instead of a snapshot.
 *   leader                 a follower whose next entry is compacted away
 *                          is in SNAPSHOT state (progress.c): one chunk of
 *                          snapshot_chunk_bytes at a time, data == NULL and
 *                          len set (the transport fills data), resuming at
 *                          the follower's next_offset. A newer snapshot
 *                          restarts the transfer at offset 0 (the caller
 *                          may have deleted the old one).
 *   follower               accepts chunks in order, hands each one out in
 *                          ready.snapshot_chunk; after the last one it
 *                          installs: drops its log, adopts the snapshot's
 *                          metadata and configuration, commit = applied =
 *                          index, and hands out ready.install_snapshot.
 *
 * A follower only ever holds one pending chunk (one per batch); a chunk
 * arriving while one waits is dropped and the leader resends it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------ leader side */

/* Queues the next chunk for p (in SNAPSHOT state), unless one is in
 * flight. Returns whether a chunk was queued. */
bool snapshot_send(struct raft *r, struct raft_progress *p)
{
	if (p->snap_inflight)
		return false;
	if (r->snapshot.index == 0) {
		progress_become_probe(p);
		return false;
	}
	if (p->snap_index != r->snapshot.index ||
	    p->snap_total != r->snapshot.size ||
	    p->snap_offset > r->snapshot.size)
		progress_become_snapshot(p, r->snapshot.index, r->snapshot.size);

	uint64_t off = p->snap_offset;
	uint64_t left = r->snapshot.size - off;
	size_t len = left < r->opts.snapshot_chunk_bytes
	                     ? (size_t)left
	                     : r->opts.snapshot_chunk_bytes;
	struct raft_message m;
	ready_message_init(r, &m, RAFT_MSG_SNAPSHOT, p->id);
	m.snapshot.index = r->snapshot.index;
	m.snapshot.snap_term = r->snapshot.term;
	m.snapshot.config = r->snapshot.config;
	m.snapshot.offset = off;
	m.snapshot.total = r->snapshot.size;
	m.snapshot.data = NULL; /* the transport fills it */
	m.snapshot.len = len;
	m.snapshot.done = off + len == r->snapshot.size;
	if (ready_send(r, &m, NULL) != RAFT_OK)
		return false;
	p->snap_inflight = true;
	p->snap_wait = 0;
	return true;
}

/* Heartbeat for a follower in SNAPSHOT state: an APPEND with prev_index 0
 * (which always matches) keeps its election timer quiet, carries the read
 * context and lets check-quorum hear from it; a chunk goes along when none
 * is in flight. */
void snapshot_heartbeat(struct raft *r, struct raft_progress *p)
{
	struct raft_message m;
	ready_message_init(r, &m, RAFT_MSG_APPEND, p->id);
	m.append.commit = r->commit;
	m.append.read_ctx = read_index_ctx(r);
	ready_send(r, &m, NULL);
	if (!p->snap_inflight)
		snapshot_send(r, p);
}

/* A chunk (or its reply) lost: after an election timeout without a reply,
 * the next heartbeat sends the chunk again. */
void snapshot_tick(struct raft *r)
{
	for (unsigned k = 0; k < RAFT_MAX_SERVERS; k++) {
		struct raft_progress *p = &r->progress[k];
		if (!p->used || p->state != RAFT_PROGRESS_SNAPSHOT ||
		    !p->snap_inflight)
			continue;
		if (++p->snap_wait >= r->opts.election_ticks)
			p->snap_inflight = false;
	}
}

void snapshot_recv_resp(struct raft *r, const struct raft_message *m)
{
	struct raft_progress *p = progress_find(r, m->from);
	if (p == NULL)
		return;
	progress_contact(p);
	if (p->state != RAFT_PROGRESS_SNAPSHOT ||
	    m->snapshot_resp.index != p->snap_index)
		return;
	p->snap_inflight = false;
	if (m->snapshot_resp.rejected) {
		progress_become_probe(p);
		replication_send(r, p, true, false);
		return;
	}
	if (m->snapshot_resp.next_offset >= p->snap_total) {
		/* Installed (or already covered by the follower's commit
		 * index): its log matches ours up to the snapshot's index. */
		if (p->snap_index > p->match)
			p->match = p->snap_index;
		progress_become_probe(p);
		replication_maybe_commit(r);
		if (r->role != RAFT_LEADER)
			return;
		transfer_on_progress(r, p);
		replication_send(r, p, true, false);
		return;
	}
	p->snap_offset = m->snapshot_resp.next_offset;
	snapshot_send(r, p);
}

/* ---------------------------------------------------------- follower side */

static void snapshot_reply(struct raft *r, const struct raft_message *m,
                           uint64_t next_offset, bool rejected)
{
	struct raft_message resp;
	ready_message_init(r, &resp, RAFT_MSG_SNAPSHOT_RESP, m->from);
	resp.snapshot_resp.index = m->snapshot.index;
	resp.snapshot_resp.next_offset = next_offset;
	resp.snapshot_resp.rejected = rejected;
	ready_send(r, &resp, NULL);
}

/* Figure 13, InstallSnapshot receiver, after the last chunk: "5. Save
 * snapshot file, discard any existing or partial snapshot with a smaller
 * index ... 7. Discard the entire log 8. Reset state machine using
 * snapshot contents (and load snapshot's cluster configuration)". We only
 * get here for a snapshot beyond our commit index, so nothing we drop was
 * committed, and the caller does the same on disk with the install. */
static void snapshot_install(struct raft *r, const struct raft_message *m)
{
	const raft_index index = m->snapshot.index;
	memset(&r->snapshot, 0, sizeof(r->snapshot));
	r->snapshot.index = index;
	r->snapshot.term = m->snapshot.snap_term;
	r->snapshot.config = m->snapshot.config;
	r->snapshot.size = m->snapshot.total;

	log_reset(&r->log, index, m->snapshot.snap_term);
	r->commit = index;
	r->applied = index;
	r->stable = index;
	r->sent = index;
	r->pend_truncate = 0; /* the install drops the whole log anyway */
	r->pend_compact = 0;
	membership_rebuild(r);

	r->pend_has_install = true;
	r->pend_install = r->snapshot;
	r->snap_recv.active = false;
}

static bool snapshot_chunk_valid(const struct raft_message *m)
{
	uint64_t off = m->snapshot.offset;
	uint64_t len = m->snapshot.len;
	uint64_t total = m->snapshot.total;
	if (m->snapshot.index == 0 || m->snapshot.snap_term == 0)
		return false;
	if (len > total || off > total - len)
		return false;
	if (m->snapshot.done != (off + len == total))
		return false;
	if (len > 0 && m->snapshot.data == NULL)
		return false;
	return membership_valid(&m->snapshot.config);
}

/* Figure 13, InstallSnapshot receiver: "2. Create new snapshot file if
 * first chunk (offset is 0) 3. Write data into snapshot file at given
 * offset 4. Reply and wait for more data chunks if done is false". Chunks
 * are accepted strictly in order; anything else is answered with the
 * offset we expect, so the leader resumes there. */
int snapshot_recv(struct raft *r, const struct raft_message *m)
{
	r->leader = m->from;
	r->election_elapsed = 0;
	if (!snapshot_chunk_valid(m))
		return RAFT_OK;

	/* A snapshot we already cover: tell the leader we have it all, so
	 * that it moves on to AppendEntries from its index. */
	if (m->snapshot.index <= r->commit) {
		snapshot_reply(r, m, m->snapshot.total, false);
		return RAFT_OK;
	}
	struct raft_snap_recv *rs = &r->snap_recv;
	/* Figure 13, step 6: "If existing log entry has same index and term
	 * as snapshot's last included entry, retain log entries following it
	 * and reply". Holding that entry, we hold the whole prefix it ends
	 * (Log Matching) and need no snapshot at all; installing would drop
	 * entries we may already have acknowledged. */
	raft_term have;
	if (log_term_at(&r->log, m->snapshot.index, &have) &&
	    have == m->snapshot.snap_term) {
		rs->active = false;
		snapshot_reply(r, m, m->snapshot.total, false);
		return RAFT_OK;
	}

	bool same = rs->active && rs->index == m->snapshot.index &&
	            rs->term == m->snapshot.snap_term &&
	            rs->total == m->snapshot.total;
	if (m->snapshot.offset != 0 &&
	    (!same || m->snapshot.offset != rs->received)) {
		snapshot_reply(r, m, same ? rs->received : 0, false);
		return RAFT_OK;
	}
	if (r->pend_has_chunk || r->pend_has_install)
		return RAFT_OK; /* one chunk per batch: the leader resends */

	void *buf = NULL;
	if (m->snapshot.len > 0) {
		buf = malloc(m->snapshot.len);
		if (buf == NULL)
			return raft_error_set(r, RAFT_ENOMEM,
			                      "out of memory storing a snapshot "
			                      "chunk of %zu bytes",
			                      m->snapshot.len);
		memcpy(buf, m->snapshot.data, m->snapshot.len);
	}
	if (m->snapshot.offset == 0) {
		rs->active = true;
		rs->index = m->snapshot.index;
		rs->term = m->snapshot.snap_term;
		rs->total = m->snapshot.total;
		rs->received = 0;
	}
	rs->received += m->snapshot.len;

	r->pend_has_chunk = true;
	r->pend_chunk_buf = buf;
	r->pend_chunk.index = m->snapshot.index;
	r->pend_chunk.term = m->snapshot.snap_term;
	r->pend_chunk.offset = m->snapshot.offset;
	r->pend_chunk.total = m->snapshot.total;
	r->pend_chunk.data = buf;
	r->pend_chunk.len = m->snapshot.len;
	r->pend_chunk.done = m->snapshot.done;

	uint64_t next = rs->received;
	if (m->snapshot.done)
		snapshot_install(r, m);
	snapshot_reply(r, m, next, false);
	return RAFT_OK;
}

/* ------------------------------------------------------------ taking one */

int raft_snapshot_taken(struct raft *r, raft_index index, uint64_t size,
                        struct raft_snapshot_meta *meta)
{
	/* Applied: advanced, or handed out in the outstanding batch (the
	 * caller may snapshot during its apply step, before advancing). */
	raft_index applied = raft_max_index(r->applied, r->out_last_committed);
	if (index == 0 || index > applied)
		return raft_error_set(r, RAFT_EINVAL,
		                      "snapshot index %llu is not applied yet "
		                      "(applied %llu)",
		                      (unsigned long long)index,
		                      (unsigned long long)applied);
	if (index < r->snapshot.index)
		return raft_error_set(r, RAFT_EINVAL,
		                      "snapshot index %llu is below the current "
		                      "snapshot %llu",
		                      (unsigned long long)index,
		                      (unsigned long long)r->snapshot.index);
	raft_term term;
	if (!log_term_at(&r->log, index, &term))
		return raft_error_set(r, RAFT_EINVAL,
		                      "snapshot index %llu is not in the log",
		                      (unsigned long long)index);
	struct raft_snapshot_meta s;
	memset(&s, 0, sizeof(s));
	s.index = index;
	s.term = term;
	membership_config_at(r, index, &s.config);
	s.size = size;
	r->snapshot = s;

	/* Section 7: "each server takes snapshots independently ... Once the
	 * server completes writing a snapshot, it may delete all log entries
	 * up through the last included index". We keep snapshot_trailing of
	 * them for followers that lag only a little. */
	if (index > r->opts.snapshot_trailing) {
		raft_index upto = index - r->opts.snapshot_trailing;
		if (upto > r->log.offset) {
			log_compact(&r->log, upto);
			if (upto + 1 > r->pend_compact)
				r->pend_compact = upto + 1;
		}
	}
	if (meta != NULL)
		*meta = s;
	return RAFT_OK;
}

/*
 * progress.c -- what the leader knows about each follower's log.
 *
 * Why this exists
 * ---------------
 * Figure 2 gives the leader two numbers per follower: nextIndex ("index of
 * the next log entry to send to that server") and matchIndex ("index of
 * highest log entry known to be replicated on server"). A practical leader
 * needs a little more, kept here so replication.c reads as protocol:
 *
 *   state     PROBE: we do not know where the follower's log matches ours;
 *             send one APPEND at a time and wait for its answer (or the
 *             next heartbeat) before sending again.
 *             REPLICATE: the logs match up to match; stream APPENDs
 *             optimistically (pipelining, Section 10.2.2 of the
 *             dissertation), at most max_inflight of them unacknowledged.
 *             SNAPSHOT: the entries the follower needs are compacted away;
 *             stream the snapshot instead (snapshot.c).
 *   inflight  a ring with the last index of every APPEND in flight, freed as
 *             acknowledgements arrive.
 *   recent_active, ticks_since_contact
 *             for check-quorum (Section 6.2) and status.
 *   read_ack  the highest ReadIndex context this follower echoed.
 *
 * Storage
 * -------
 * struct raft holds RAFT_MAX_SERVERS slots; each slot's inflight ring is a
 * fixed slice of one block allocated by raft_new(), so adding and removing
 * servers never allocates (and so never fails). A slot is `used` while its
 * server is in the leader's configuration.
 */
#include <assert.h>
#include <string.h>

#include "internal.h"

struct raft_progress *progress_find(struct raft *r, raft_id id)
{
	for (unsigned k = 0; k < RAFT_MAX_SERVERS; k++)
		if (r->progress[k].used && r->progress[k].id == id)
			return &r->progress[k];
	return NULL;
}

static void progress_init_slot(struct raft *r, struct raft_progress *p,
                               raft_id id)
{
	raft_index *ring = p->inflight;
	memset(p, 0, sizeof(*p));
	p->inflight = ring;
	p->used = true;
	p->id = id;
	p->match = 0;
	p->next = log_last_index(&r->log) + 1;
	p->state = RAFT_PROGRESS_PROBE;
	/* A new leader (or a new member) gets the benefit of the doubt for
	 * the first check-quorum round. */
	p->recent_active = true;
}

/* "When a leader first comes to power, it initializes all nextIndex values
 * to the index just after the last one in its log" (Section 5.3). */
void progress_reset_all(struct raft *r)
{
	for (unsigned k = 0; k < RAFT_MAX_SERVERS; k++)
		r->progress[k].used = false;
	progress_sync(r);
}

/* Whether the leader replicates to `id`: every server of the latest
 * configuration but us, and, while that configuration is uncommitted, the
 * servers it removed (so that they learn of their removal, see
 * membership_on_commit()). */
static bool progress_wanted(const struct raft *r, raft_id id)
{
	if (id == r->id)
		return false;
	if (membership_find(&r->config, id) != NULL)
		return true;
	return r->config_index > r->commit &&
	       membership_find(&r->config_prev, id) != NULL;
}

static void progress_add(struct raft *r, raft_id id)
{
	if (!progress_wanted(r, id) || progress_find(r, id) != NULL)
		return;
	for (unsigned j = 0; j < RAFT_MAX_SERVERS; j++) {
		if (!r->progress[j].used) {
			progress_init_slot(r, &r->progress[j], id);
			return;
		}
	}
}

/* Makes the slots match the configuration. */
void progress_sync(struct raft *r)
{
	for (unsigned k = 0; k < RAFT_MAX_SERVERS; k++) {
		struct raft_progress *p = &r->progress[k];
		if (p->used && !progress_wanted(r, p->id))
			p->used = false;
	}
	for (unsigned k = 0; k < r->config.n; k++)
		progress_add(r, r->config.servers[k].id);
	for (unsigned k = 0; k < r->config_prev.n; k++)
		progress_add(r, r->config_prev.servers[k].id);
}

static void progress_clear_inflight(struct raft_progress *p)
{
	p->in_start = 0;
	p->in_count = 0;
}

void progress_become_probe(struct raft_progress *p)
{
	p->state = RAFT_PROGRESS_PROBE;
	p->next = p->match + 1;
	p->probe_sent = false;
	p->snap_inflight = false;
	progress_clear_inflight(p);
}

void progress_become_replicate(struct raft_progress *p)
{
	p->state = RAFT_PROGRESS_REPLICATE;
	p->next = p->match + 1;
	p->rewound = p->match;
	p->probe_sent = false;
	progress_clear_inflight(p);
}

void progress_become_snapshot(struct raft_progress *p, raft_index index,
                              uint64_t total)
{
	p->state = RAFT_PROGRESS_SNAPSHOT;
	p->probe_sent = false;
	progress_clear_inflight(p);
	p->snap_index = index;
	p->snap_total = total;
	p->snap_offset = 0;
	p->snap_inflight = false;
	p->snap_wait = 0;
}

bool progress_is_paused(const struct raft *r, const struct raft_progress *p)
{
	switch (p->state) {
	case RAFT_PROGRESS_PROBE:
		return p->probe_sent;
	case RAFT_PROGRESS_REPLICATE:
		return p->in_count >= r->opts.max_inflight;
	default:
		return true;
	}
}

/* An APPEND covering up to `last` with n entries just left for p. */
void progress_on_sent(const struct raft *r, struct raft_progress *p,
                      raft_index last, size_t n)
{
	if (p->state == RAFT_PROGRESS_PROBE) {
		p->probe_sent = true;
		return;
	}
	if (p->state != RAFT_PROGRESS_REPLICATE || n == 0)
		return;
	p->next = last + 1;
	assert(p->in_count < r->opts.max_inflight);
	unsigned slot = (p->in_start + p->in_count) % r->opts.max_inflight;
	p->inflight[slot] = last;
	p->in_count++;
}

/* Acknowledgements up to `index` free the APPENDs they answer. */
void progress_free_inflight(const struct raft *r, struct raft_progress *p,
                            raft_index index)
{
	while (p->in_count > 0 && p->inflight[p->in_start] <= index) {
		p->in_start = (p->in_start + 1) % r->opts.max_inflight;
		p->in_count--;
	}
}

/* A successful APPEND_RESP acknowledged `index`. Returns whether match
 * moved. */
bool progress_maybe_update(struct raft_progress *p, raft_index index)
{
	bool updated = false;
	if (index > p->match) {
		p->match = index;
		p->probe_sent = false;
		updated = true;
	}
	if (p->next < index + 1)
		p->next = index + 1;
	return updated;
}

/* A rejection of prev_index `rejected`, with the leader's hint for the next
 * index to try (from conflict_term/conflict_index), whether it was a gap
 * (the follower's log is shorter than rejected: conflict_term 0) and the
 * follower's last index. Returns false when the rejection needs no action
 * (it answers an APPEND we no longer care about). */
bool progress_maybe_decr(struct raft_progress *p, raft_index rejected,
                         raft_index hint, bool gap, raft_index last)
{
	if (p->state == RAFT_PROGRESS_REPLICATE) {
		if (rejected <= p->match)
			return false;
		if (rejected + 1 < p->next) {
			/* In REPLICATE we stream contiguous APPENDs from a
			 * known match point, so this one was overtaken or an
			 * earlier one lost, and later APPENDs are in flight
			 * whose answers also tell. A reordering network must
			 * not knock us back to probing: if the follower got
			 * further since we last rewound, resend from its end
			 * and keep streaming; otherwise wait. If everything
			 * is lost, the pipeline fills (rejections free no
			 * inflight slot) and a heartbeat, whose prev is
			 * next - 1, brings the case below. */
			if (!gap || last < p->match || last <= p->rewound ||
			    last + 1 >= p->next)
				return false;
			p->next = last + 1;
			p->rewound = last;
			p->in_start = 0;
			p->in_count = 0;
			return true;
		}
		/* The newest APPEND (or a heartbeat) was refused: probe. */
		progress_become_probe(p);
	} else if (p->state == RAFT_PROGRESS_PROBE) {
		/* Only the answer to the probe in flight counts. */
		if (rejected != p->next - 1)
			return false;
	} else {
		return false;
	}
	raft_index next = hint < rejected ? hint : rejected;
	p->next = next > p->match + 1 ? next : p->match + 1;
	p->probe_sent = false;
	return true;
}

void progress_contact(struct raft_progress *p)
{
	p->recent_active = true;
	p->ticks_since_contact = 0;
}

/* Section 6.2: "a leader in Raft steps down if an election timeout elapses
 * without a successful round of heartbeats to a majority of its cluster".
 * Counts the voters heard from since the last check (ourselves when we are
 * a voter); election_leader_tick() clears the marks for the next round. */
bool progress_quorum_active(const struct raft *r)
{
	unsigned voters = 0;
	unsigned active = 0;
	for (unsigned k = 0; k < r->config.n; k++) {
		const struct raft_server *s = &r->config.servers[k];
		if (s->role != RAFT_VOTER)
			continue;
		voters++;
		if (s->id == r->id) {
			active++;
			continue;
		}
		for (unsigned j = 0; j < RAFT_MAX_SERVERS; j++) {
			const struct raft_progress *p = &r->progress[j];
			if (p->used && p->id == s->id && p->recent_active)
				active++;
		}
	}
	return voters == 0 || active >= voters / 2 + 1;
}

/* Commitment (Figure 2: "a majority of matchIndex[i] >= N") and ReadIndex
 * confirmation (Section 6.4: a quorum echoed the heartbeat) both ask the
 * same question: what is the largest value that at least a majority of
 * voters has reached? Sort the voters' values in descending order; the
 * one at position n/2 is held by n/2 + 1 voters, a majority. */
bool progress_quorum_value(struct raft *r, uint64_t self,
                           uint64_t (*get)(const struct raft_progress *p),
                           uint64_t *out)
{
	uint64_t v[RAFT_MAX_SERVERS];
	unsigned n = 0;
	for (unsigned k = 0; k < r->config.n; k++) {
		const struct raft_server *s = &r->config.servers[k];
		if (s->role != RAFT_VOTER)
			continue;
		if (s->id == r->id) {
			v[n++] = self;
		} else {
			const struct raft_progress *p = progress_find(r, s->id);
			v[n++] = p ? get(p) : 0;
		}
	}
	if (n == 0)
		return false;
	for (unsigned i = 1; i < n; i++) {
		uint64_t x = v[i];
		unsigned j = i;
		for (; j > 0 && v[j - 1] < x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	*out = v[n / 2];
	return true;
}

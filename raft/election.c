/*
 * election.c -- leader election: timeouts, pre-vote, votes, check-quorum.
 *
 * Why this exists
 * ---------------
 * Everything that changes a server's role lives here: the randomized
 * election timer of followers and candidates, the Pre-Vote phase
 * (dissertation Section 9.6), the RequestVote rules of Figure 2 with leader
 * stickiness (Section 4.2.3), becoming leader (with the no-op of Section 8)
 * and the leader's check-quorum step-down (Section 6.2).
 *
 * Roles and timers
 * ----------------
 *   follower, pre-candidate, candidate: election_elapsed counts ticks since
 *   the last sign of life from a leader (or since the last vote granted /
 *   candidacy started); at randomized_timeout, in [election, 2*election),
 *   a server that may campaign does.
 *   leader: election_elapsed counts ticks of the current check-quorum
 *   round; heartbeats are driven by tick.c.
 *
 * Votes are counted only from voters of the latest configuration (our own
 * included when we are one): "It does not count its own vote in elections
 * unless it is part of its latest configuration" (Section 4.2.2).
 */
#include <limits.h>
#include <string.h>

#include "internal.h"

enum election_outcome {
	ELECTION_PENDING = 0,
	ELECTION_WON = 1,
	ELECTION_LOST = 2,
};

/* Section 5.2: "Raft uses randomized election timeouts to ensure that split
 * votes are rare ... election timeouts are chosen randomly from a fixed
 * interval". Ours is [election_ticks, 2 * election_ticks). */
void election_reset_timeout(struct raft *r)
{
	unsigned base = r->opts.election_ticks;
	r->randomized_timeout = base + (unsigned)(raft_rand(r) % base);
}

/* Changes the persistent state; the next batch persists it. */
void election_set_term(struct raft *r, raft_term term, raft_id vote)
{
	if (term == r->term && vote == r->vote)
		return;
	r->term = term;
	r->vote = vote;
	r->hs_dirty = true;
}

/* Figure 2, all servers: "If RPC request or response contains term T >
 * currentTerm: set currentTerm = T, convert to follower (§5.1)". Also used
 * to step down within the same term (check-quorum, removal, lost
 * election, a candidate hearing from the new leader). */
void election_become_follower(struct raft *r, raft_term term, raft_id leader)
{
	bool was_leader = r->role == RAFT_LEADER;
	if (term > r->term)
		election_set_term(r, term, 0);
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	r->n_votes = 0;
	r->campaign_transfer = false;
	election_reset_timeout(r);
	if (was_leader) {
		read_index_fail_all(r);
		transfer_abort(r);
		r->read_term_ctx = 0;
	}
}

static void election_record(struct raft *r, raft_id id, bool granted)
{
	for (unsigned k = 0; k < r->n_votes; k++)
		if (r->votes[k].id == id)
			return;
	if (r->n_votes == RAFT_MAX_SERVERS)
		return;
	r->votes[r->n_votes].id = id;
	r->votes[r->n_votes].granted = granted;
	r->n_votes++;
}

static int election_tally(const struct raft *r)
{
	unsigned voters = membership_n_voters(&r->config);
	unsigned granted = 0;
	unsigned rejected = 0;
	for (unsigned k = 0; k < r->n_votes; k++) {
		if (!membership_is_voter(&r->config, r->votes[k].id))
			continue;
		if (r->votes[k].granted)
			granted++;
		else
			rejected++;
	}
	unsigned quorum = voters / 2 + 1;
	if (voters > 0 && granted >= quorum)
		return ELECTION_WON;
	if (voters == 0 || rejected > voters - quorum)
		return ELECTION_LOST;
	return ELECTION_PENDING;
}

/* Section 8: "Raft handles this by having each leader commit a blank no-op
 * entry into the log at the start of its term." Section 5.3: "When a
 * leader first comes to power, it initializes all nextIndex values to the
 * index just after the last one in its log". */
static void election_become_leader(struct raft *r)
{
	r->role = RAFT_LEADER;
	r->leader = r->id;
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	r->n_votes = 0;
	r->campaign_transfer = false;
	r->transfer_target = 0;
	r->transfer_elapsed = 0;
	r->transfer_sent = false;
	r->read_term_ctx = 0;
	progress_reset_all(r);

	struct raft_entry noop;
	memset(&noop, 0, sizeof(noop));
	noop.term = r->term;
	noop.index = log_last_index(&r->log) + 1;
	noop.type = RAFT_ENTRY_NOOP;
	if (log_append(&r->log, &noop, 1) != RAFT_OK) {
		/* Out of memory: give the term up rather than lead without
		 * the no-op; our election timer will try again. */
		election_become_follower(r, r->term, 0);
		return;
	}
	r->noop_index = noop.index;
	replication_broadcast(r, true);
	replication_maybe_commit(r);
}

/* Figure 2, candidates: "On conversion to candidate, start election:
 * Increment currentTerm, Vote for self, Reset election timer, Send
 * RequestVote RPCs to all other servers".
 *
 * Section 9.6 (Pre-Vote): "a candidate only increments its term if it
 * first learns from a majority of the cluster that they would be willing
 * to grant the candidate their votes". A pre-candidate keeps its term and
 * vote and asks with the term it would campaign in. `transfer` marks a
 * candidacy caused by TIMEOUT_NOW (Section 3.10), which skips Pre-Vote and
 * bypasses the voters' leader stickiness. */
void election_start(struct raft *r, bool pre, bool transfer)
{
	if (pre) {
		r->role = RAFT_PRECANDIDATE;
	} else {
		election_set_term(r, r->term + 1, r->id);
		r->role = RAFT_CANDIDATE;
	}
	r->leader = 0;
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	r->campaign_transfer = transfer;
	r->n_votes = 0;
	election_reset_timeout(r);
	/* Figure 2's "Vote for self" is a persisted vote: a candidate counts
	 * it only once its term and vote are durable (election_on_durable).
	 * Counting it at once let a single-voter candidate lead a term it
	 * could forget in a crash, then grant its vote in that same term to
	 * another candidate: two leaders in one term. A pre-candidate changes
	 * nothing durable, so its own pre-vote counts at once. */
	if (pre && membership_is_voter(&r->config, r->id))
		election_record(r, r->id, true);

	switch (election_tally(r)) {
	case ELECTION_WON:
		if (pre)
			election_start(r, false, transfer);
		else
			election_become_leader(r);
		return;
	case ELECTION_LOST:
		election_become_follower(r, r->term, 0);
		return;
	default:
		break;
	}

	struct raft_message m;
	memset(&m, 0, sizeof(m));
	m.type = pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE;
	m.from = r->id;
	m.term = pre ? r->term + 1 : r->term;
	m.vote.last_log_index = log_last_index(&r->log);
	m.vote.last_log_term = log_last_term(&r->log);
	m.vote.transfer = transfer;
	for (unsigned k = 0; k < r->config.n; k++) {
		const struct raft_server *s = &r->config.servers[k];
		if (s->role != RAFT_VOTER || s->id == r->id)
			continue;
		m.to = s->id;
		ready_send(r, &m, NULL);
	}
}

/* Section 4.2.3: "if a server receives a RequestVote request within the
 * minimum election timeout of hearing from a current leader, it does not
 * update its term or grant its vote". A leader is its own current leader. */
bool election_in_lease(const struct raft *r)
{
	return r->leader != 0 && r->election_elapsed < r->opts.election_ticks;
}

static void election_reply(struct raft *r, const struct raft_message *m,
                           raft_term term, bool granted)
{
	struct raft_message resp;
	memset(&resp, 0, sizeof(resp));
	resp.type = m->type == RAFT_MSG_PREVOTE ? RAFT_MSG_PREVOTE_RESP
	                                        : RAFT_MSG_VOTE_RESP;
	resp.from = r->id;
	resp.to = m->from;
	resp.term = term;
	resp.vote_resp.granted = granted;
	ready_send(r, &resp, NULL);
}

/* A (pre-)vote request with a term below ours: Figure 2, RequestVote
 * receiver, "1. Reply false if term < currentTerm (§5.1)". Our term in the
 * reply lets the requester catch up. */
void election_reject_stale(struct raft *r, const struct raft_message *m)
{
	election_reply(r, m, r->term, false);
}

/* Figure 2, RequestVote receiver: "2. If votedFor is null or candidateId,
 * and candidate's log is at least as up-to-date as receiver's log, grant
 * vote (§5.2, §5.4)". Section 5.4.1: "If the logs have last entries with
 * different terms, then the log with the later term is more up-to-date. If
 * the logs end with the same term, then whichever log is longer is more
 * up-to-date." A pre-vote for a later term is granted on the log check
 * alone (and only when we have no live leader: raft_step() filtered that
 * already); it changes nothing here. */
void election_recv_vote(struct raft *r, const struct raft_message *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE;
	raft_term last_term = log_last_term(&r->log);
	raft_index last_index = log_last_index(&r->log);
	bool up_to_date = m->vote.last_log_term > last_term ||
	                  (m->vote.last_log_term == last_term &&
	                   m->vote.last_log_index >= last_index);
	bool can_vote = r->vote == m->from || (r->vote == 0 && r->leader == 0) ||
	                (pre && m->term > r->term);
	if (!can_vote || !up_to_date) {
		election_reply(r, m, r->term, false);
		return;
	}
	if (!pre) {
		election_set_term(r, r->term, m->from);
		r->election_elapsed = 0;
	}
	election_reply(r, m, m->term, true);
}

void election_on_durable(struct raft *r, const struct raft_hard_state *hs)
{
	if (r->role != RAFT_CANDIDATE || hs->term != r->term ||
	    hs->vote != r->id || !membership_is_voter(&r->config, r->id))
		return;
	election_record(r, r->id, true);
	switch (election_tally(r)) {
	case ELECTION_WON:
		election_become_leader(r);
		break;
	case ELECTION_LOST:
		election_become_follower(r, r->term, 0);
		break;
	default:
		break;
	}
}

void election_recv_vote_resp(struct raft *r, const struct raft_message *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE_RESP;
	if (pre) {
		if (r->role != RAFT_PRECANDIDATE)
			return;
		raft_term want = m->vote_resp.granted ? r->term + 1 : r->term;
		if (m->term != want)
			return;
	} else if (r->role != RAFT_CANDIDATE || m->term != r->term) {
		return;
	}
	election_record(r, m->from, m->vote_resp.granted);
	switch (election_tally(r)) {
	case ELECTION_WON:
		/* Figure 2, candidates: "If votes received from majority of
		 * servers: become leader". */
		if (pre)
			election_start(r, false, r->campaign_transfer);
		else
			election_become_leader(r);
		break;
	case ELECTION_LOST:
		election_become_follower(r, r->term, 0);
		break;
	default:
		break;
	}
}

/* Figure 2, followers: "If election timeout elapses without receiving
 * AppendEntries RPC from current leader or granting vote to candidate:
 * convert to candidate"; candidates: "If election timeout elapses: start
 * new election". Non-voters (and removed servers) never campaign. */
void election_tick(struct raft *r)
{
	if (r->election_elapsed < UINT_MAX)
		r->election_elapsed++;
	if (r->election_elapsed < r->randomized_timeout)
		return;
	if (!membership_can_campaign(r)) {
		if (r->role != RAFT_FOLLOWER)
			election_become_follower(r, r->term, 0);
		/* Keep the lease expired: we have not heard from a leader. */
		r->election_elapsed = r->randomized_timeout;
		return;
	}
	election_start(r, r->opts.pre_vote, false);
}

/* Section 6.2: "a leader in Raft steps down if an election timeout elapses
 * without a successful round of heartbeats to a majority of its cluster". */
void election_leader_tick(struct raft *r)
{
	r->election_elapsed++;
	if (r->election_elapsed < r->opts.election_ticks)
		return;
	r->election_elapsed = 0;
	if (r->opts.check_quorum && !progress_quorum_active(r)) {
		election_become_follower(r, r->term, 0);
		return;
	}
	for (unsigned k = 0; k < RAFT_MAX_SERVERS; k++)
		r->progress[k].recent_active = false;
}

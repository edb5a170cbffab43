/*
 * recv.c -- raft_step(): one message from the network.
 *
 * Why this exists
 * ---------------
 * Every message first goes through the same term rules (Figure 2, "Rules
 * for Servers", all servers: "If RPC request or response contains term T >
 * currentTerm: set currentTerm = T, convert to follower (§5.1)"), with the
 * exceptions that Pre-Vote and leader stickiness add; only then is it
 * dispatched to the file that owns its type. Keeping the term rules in one
 * place is what makes them auditable.
 *
 *   PREVOTE, VOTE            election.c
 *   PREVOTE_RESP, VOTE_RESP  election.c
 *   APPEND, APPEND_RESP      replication.c
 *   SNAPSHOT, SNAPSHOT_RESP  snapshot.c
 *   TIMEOUT_NOW              transfer.c
 */
#include "internal.h"

static bool recv_from_leader(int type)
{
	return type == RAFT_MSG_APPEND || type == RAFT_MSG_SNAPSHOT ||
	       type == RAFT_MSG_TIMEOUT_NOW;
}

int raft_step(struct raft *r, const struct raft_message *m)
{
	if (m == NULL || m->to != r->id || m->from == 0 || m->from == r->id)
		return RAFT_OK;
	if (m->type < RAFT_MSG_PREVOTE || m->type > RAFT_MSG_TIMEOUT_NOW)
		return RAFT_OK;

	if (m->term > r->term) {
		if (m->type == RAFT_MSG_PREVOTE || m->type == RAFT_MSG_VOTE) {
			/* Section 4.2.3: "if a server receives a RequestVote
			 * request within the minimum election timeout of
			 * hearing from a current leader, it does not update
			 * its term or grant its vote". A transfer's
			 * candidate has the leader's permission. */
			bool force = m->type == RAFT_MSG_VOTE && m->vote.transfer;
			if (!force && election_in_lease(r))
				return RAFT_OK;
		}
		if (m->type == RAFT_MSG_PREVOTE) {
			/* Section 9.6: a pre-vote never changes our term. */
		} else if (m->type == RAFT_MSG_PREVOTE_RESP &&
		           m->vote_resp.granted) {
			/* Echoes the term the pre-candidate would use. */
		} else {
			election_become_follower(
				r, m->term, recv_from_leader(m->type) ? m->from : 0);
		}
	} else if (m->term < r->term) {
		/* Figure 2: "Reply false if term < currentTerm (§5.1)"; the
		 * reply carries our term so the sender catches up (a stale
		 * leader steps down, a stale candidate gives up). */
		switch (m->type) {
		case RAFT_MSG_APPEND:
		case RAFT_MSG_SNAPSHOT:
			replication_reply_stale(r, m);
			break;
		case RAFT_MSG_PREVOTE:
		case RAFT_MSG_VOTE:
			election_reject_stale(r, m);
			break;
		default:
			break;
		}
		return RAFT_OK;
	}

	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		election_recv_vote(r, m);
		return RAFT_OK;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		election_recv_vote_resp(r, m);
		return RAFT_OK;
	case RAFT_MSG_APPEND:
	case RAFT_MSG_SNAPSHOT:
		/* Only this term's leader sends these; a second leader in
		 * one term cannot exist (Election Safety). */
		if (r->role == RAFT_LEADER)
			return RAFT_OK;
		/* Figure 2, candidates: "If AppendEntries RPC received from
		 * new leader: convert to follower". */
		if (r->role != RAFT_FOLLOWER)
			election_become_follower(r, r->term, m->from);
		if (m->type == RAFT_MSG_APPEND)
			return replication_recv_append(r, m);
		return snapshot_recv(r, m);
	case RAFT_MSG_APPEND_RESP:
		if (r->role == RAFT_LEADER)
			replication_recv_append_resp(r, m);
		return RAFT_OK;
	case RAFT_MSG_SNAPSHOT_RESP:
		if (r->role == RAFT_LEADER)
			snapshot_recv_resp(r, m);
		return RAFT_OK;
	case RAFT_MSG_TIMEOUT_NOW:
		transfer_recv_timeout_now(r, m);
		return RAFT_OK;
	default:
		return RAFT_OK;
	}
}

/*
 * transfer.c -- leadership transfer (dissertation Section 3.10).
 *
 * Why this exists
 * ---------------
 * Operators move leadership away from a server before maintenance, and a
 * leader may prefer a better-placed successor. Section 3.10:
 *
 *   "1. The prior leader stops accepting new client requests.
 *    2. The prior leader fully updates the target server's log to match
 *       its own, using the normal log replication mechanism ...
 *    3. The prior leader sends a TimeoutNow request to the target server.
 *       This request has the same effect as the target server's election
 *       timer firing: the target server starts a new election"
 *
 * and "If the transfer does not complete after about an election timeout,
 * the prior leader aborts the transfer and resumes accepting client
 * requests."
 *
 * Step 1 is raft_propose() / membership changes answering RAFT_EBUSY while
 * transfer_target is set. The target's candidacy skips Pre-Vote and sets
 * `transfer` in its VOTE requests so that voters waive leader stickiness
 * (Section 4.2.3: "I have permission to disrupt the leader---it told me
 * to!"). The transfer ends when we step down (the target's higher term
 * reaches us) or times out.
 */
#include <string.h>

#include "internal.h"

void transfer_abort(struct raft *r)
{
	r->transfer_target = 0;
	r->transfer_elapsed = 0;
	r->transfer_sent = false;
}

void transfer_tick(struct raft *r)
{
	if (r->transfer_target == 0)
		return;
	if (++r->transfer_elapsed >= r->opts.election_ticks)
		transfer_abort(r);
}

/* Step 3, once the target's log matches ours. */
void transfer_on_progress(struct raft *r, struct raft_progress *p)
{
	if (r->role != RAFT_LEADER || r->transfer_target != p->id ||
	    r->transfer_sent || p->match != log_last_index(&r->log))
		return;
	struct raft_message m;
	ready_message_init(r, &m, RAFT_MSG_TIMEOUT_NOW, p->id);
	if (ready_send(r, &m, NULL) == RAFT_OK)
		r->transfer_sent = true;
}

int raft_transfer_leadership(struct raft *r, raft_id target)
{
	if (r->role != RAFT_LEADER)
		return raft_error_set(r, RAFT_ENOTLEADER,
		                      "not the leader (leader is %llu)",
		                      (unsigned long long)r->leader);
	if (r->transfer_target != 0)
		return raft_error_set(r, RAFT_EBUSY,
		                      "leadership transfer to %llu already in "
		                      "progress",
		                      (unsigned long long)r->transfer_target);
	if (target == r->id)
		return raft_error_set(r, RAFT_EINVAL,
		                      "cannot transfer leadership to ourselves");
	struct raft_progress *p = NULL;
	if (target == 0) {
		/* The most up-to-date voter: it will catch up soonest. */
		for (unsigned k = 0; k < r->config.n; k++) {
			const struct raft_server *s = &r->config.servers[k];
			if (s->role != RAFT_VOTER || s->id == r->id)
				continue;
			struct raft_progress *q = progress_find(r, s->id);
			if (q != NULL && (p == NULL || q->match > p->match))
				p = q;
		}
		if (p == NULL)
			return raft_error_set(r, RAFT_ENOTFOUND,
			                      "no other voter to transfer "
			                      "leadership to");
	} else {
		const struct raft_server *s = membership_find(&r->config, target);
		if (s == NULL)
			return raft_error_set(r, RAFT_ENOTFOUND,
			                      "server %llu is not in the "
			                      "configuration",
			                      (unsigned long long)target);
		if (s->role != RAFT_VOTER)
			return raft_error_set(r, RAFT_EINVAL,
			                      "server %llu is not a voter",
			                      (unsigned long long)target);
		p = progress_find(r, target);
		if (p == NULL)
			return raft_error_set(r, RAFT_ENOTFOUND,
			                      "no progress for server %llu",
			                      (unsigned long long)target);
	}
	r->transfer_target = p->id;
	r->transfer_elapsed = 0;
	r->transfer_sent = false;
	transfer_on_progress(r, p);
	if (!r->transfer_sent)
		replication_send(r, p, true, false);
	return RAFT_OK;
}

/* The leader asks us to campaign now. Only a voter may. */
void transfer_recv_timeout_now(struct raft *r, const struct raft_message *m)
{
	(void)m;
	if (r->role == RAFT_LEADER || !membership_is_voter(&r->config, r->id))
		return;
	election_start(r, false, true);
}

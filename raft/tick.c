/*
 * tick.c -- raft_tick(): one unit of the caller's logical clock.
 *
 * Why this exists
 * ---------------
 * The core has no clock: the caller ticks it at a fixed interval and every
 * timeout is a count of ticks. This file only routes the tick to the
 * timers of the current role, in an order that matters: a leader first
 * checks its quorum (it may step down and must then send nothing as
 * leader), then expires a transfer, then retries stalled snapshot chunks,
 * and last sends heartbeats.
 */
#include "internal.h"

void raft_tick(struct raft *r)
{
	if (r->role != RAFT_LEADER) {
		election_tick(r);
		return;
	}
	for (unsigned k = 0; k < RAFT_MAX_SERVERS; k++)
		if (r->progress[k].used)
			r->progress[k].ticks_since_contact++;
	election_leader_tick(r);
	if (r->role != RAFT_LEADER)
		return;
	transfer_tick(r);
	snapshot_tick(r);
	if (++r->heartbeat_elapsed >= r->opts.heartbeat_ticks) {
		r->heartbeat_elapsed = 0;
		replication_heartbeat(r);
	}
}

/*
 * sim_chaos.c -- the random fault driver and the end-of-run checks.
 *
 * sim_chaos_step() draws, each tick and from the simulator's one PRNG, the
 * faults and requests of a random run: crashes (often of the leader) with a
 * restart some election timeouts later, partitions of several shapes
 * (isolate a node or the leader, split in two, a ring, random directed
 * links) healed after a while, changing loss / duplication / latency,
 * pauses, client proposals and ReadIndex requests, membership changes (add
 * a fresh non-voter, promote it, remove any member including the leader)
 * and leadership transfers. Nodes whose removal has committed are retired
 * (shut down for good), as an operator would.
 *
 * sim_finish() ends a run the way the liveness property is stated: once the
 * network is healed and every server (hence a majority of voters) is up, a
 * leader must be elected and a proposal must commit within a bounded number
 * of ticks; then every member must converge on the committed state and
 * every acknowledged proposal must be in it.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define ULL(x) ((unsigned long long)(x))

void sim_chaos_default(struct sim_chaos *c)
{
	memset(c, 0, sizeof(*c));
	c->crashes = true;
	c->partitions = true;
	c->loss = true;
	c->pauses = true;
	c->membership = true;
	c->transfers = true;
	c->reads = true;
	c->propose_permille = 300;
	c->crash_permille = 8;
	c->partition_permille = 8;
	c->pause_permille = 5;
	c->member_permille = 15;
	c->transfer_permille = 5;
	c->read_permille = 60;
	c->max_drop_permille = 150;
	c->max_dup_permille = 60;
	c->max_latency = 4;
}

/* Random running (or, with any_state, existing non-retired) node; 0 if none. */
static raft_id pick_node(struct sim *s, bool running)
{
	raft_id ids[SIM_MAX_NODES];
	unsigned k = 0;
	for (raft_id id = 1; id <= s->max_id; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (!n->exists || n->retired)
			continue;
		if (running && (!n->up || n->paused))
			continue;
		ids[k++] = id;
	}
	return k ? ids[rng_range(&s->rng, 0, k - 1)] : 0;
}

/* Random running node whose core believes it is leader; 0 if none. */
static raft_id pick_self_leader(struct sim *s)
{
	raft_id ids[SIM_MAX_NODES];
	unsigned k = 0;
	for (raft_id id = 1; id <= s->max_id; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (n->up && !n->paused && raft_role(n->r) == RAFT_LEADER)
			ids[k++] = id;
	}
	return k ? ids[rng_range(&s->rng, 0, k - 1)] : 0;
}

static unsigned count_down(const struct sim *s)
{
	unsigned k = 0;
	for (raft_id id = 1; id <= s->max_id; id++)
		if (s->nodes[id].exists && !s->nodes[id].retired &&
		    !s->nodes[id].up)
			k++;
	return k;
}

static void chaos_crashes(struct sim *s, const struct sim_chaos *c)
{
	for (raft_id id = 1; id <= s->max_id && !s->failed; id++) {
		struct sim_node *n = &s->nodes[id];
		if (n->exists && !n->retired && !n->up &&
		    n->down_until != 0 && n->down_until <= s->now) {
			n->down_until = 0;
			sim_restart(s, id);
		}
	}
	if (!sim_chance(s, c->crash_permille))
		return;
	unsigned voters = sim_committed_voters(s, NULL, 0);
	/* Usually keep a majority up; sometimes not (no progress possible
	 * until restarts, which sim_finish's liveness check covers). */
	if (count_down(s) >= (voters + 1) / 2)
		return;
	raft_id victim = sim_chance(s, 400) ? sim_leader(s) : 0;
	if (victim == 0)
		victim = pick_node(s, false);
	if (victim == 0 || !s->nodes[victim].up)
		return;
	sim_crash(s, victim);
	s->nodes[victim].down_until =
		s->now + rng_range(&s->rng, 1, 8 * s->o.election_ticks);
}

static void chaos_partitions(struct sim *s, const struct sim_chaos *c)
{
	if (s->chaos_heal_at != 0) {
		if (s->now >= s->chaos_heal_at) {
			sim_heal(s);
			s->chaos_heal_at = 0;
		}
		return;
	}
	if (!sim_chance(s, c->partition_permille))
		return;
	raft_id ids[SIM_MAX_NODES];
	unsigned n = 0;
	for (raft_id id = 1; id <= s->max_id; id++)
		if (s->nodes[id].exists && !s->nodes[id].retired)
			ids[n++] = id;
	if (n < 2)
		return;
	switch (rng_range(&s->rng, 0, 4)) {
	case 0: { /* isolate the leader */
		raft_id l = sim_leader(s);
		sim_note(s, "chaos: isolate leader %llu", ULL(l));
		sim_isolate(s, l ? l : ids[rng_range(&s->rng, 0, n - 1)]);
		break;
	}
	case 1: /* isolate one node */
		sim_isolate(s, ids[rng_range(&s->rng, 0, n - 1)]);
		break;
	case 2: { /* split into two random groups */
		raft_id group[SIM_MAX_NODES];
		unsigned g = 0;
		for (unsigned k = 0; k < n; k++)
			if (sim_chance(s, 500))
				group[g++] = ids[k];
		sim_partition(s, group, g);
		break;
	}
	case 3: /* a ring: each node only reaches its two neighbours */
		sim_note(s, "chaos: ring of %u", n);
		for (unsigned a = 0; a < n; a++)
			for (unsigned b = 0; b < n; b++) {
				unsigned d = (a + n - b) % n;
				if (a != b && d != 1 && d != n - 1)
					sim_cut(s, ids[a], ids[b]);
			}
		break;
	default: { /* a few random directed links */
		unsigned links = (unsigned)rng_range(&s->rng, 1, 2 * n);
		for (unsigned k = 0; k < links; k++)
			sim_cut(s, ids[rng_range(&s->rng, 0, n - 1)],
			        ids[rng_range(&s->rng, 0, n - 1)]);
		break;
	}
	}
	s->chaos_heal_at =
		s->now + rng_range(&s->rng, s->o.election_ticks,
		                   10 * s->o.election_ticks);
}

static void chaos_membership(struct sim *s, const struct sim_chaos *c)
{
	/* Retire nodes whose removal (or whose failed addition) is
	 * committed: no later configuration can name them again. */
	for (raft_id id = 1; id <= s->max_id; id++) {
		struct sim_node *n = &s->nodes[id];
		if (n->exists && !n->retired && s->committed_config_index &&
		    s->committed_config_index >= n->added_at &&
		    !sim_is_member(s, id))
			sim_retire(s, id);
	}
	if (!sim_chance(s, c->member_permille))
		return;
	raft_id l = sim_leader(s);
	if (l == 0)
		return;
	struct raft_status st;
	raft_status(s->nodes[l].r, &st);
	unsigned voters = 0;
	raft_id nonvoter = 0;
	for (unsigned k = 0; k < st.n_peers; k++) {
		if (st.peers[k].role_in_config == RAFT_VOTER) {
			voters++;
		} else {
			nonvoter = st.peers[k].id;
		}
	}
	unsigned min_voters = s->o.n_nodes > 2 ? s->o.n_nodes - 2 : 1;
	bool can_add = st.n_peers < s->o.n_nodes + 2 && voters < 7 &&
	               s->max_id < SIM_MAX_NODES;
	if (nonvoter != 0 && sim_chance(s, 500)) {
		sim_promote(s, l, nonvoter, NULL);
	} else if (can_add && sim_chance(s, 500)) {
		sim_add_node(s, l, NULL, NULL);
	} else if (st.n_peers > 0) {
		raft_id victim = st.peers[rng_range(&s->rng, 0,
		                                    st.n_peers - 1)].id;
		bool is_voter = false;
		for (unsigned k = 0; k < st.n_peers; k++)
			if (st.peers[k].id == victim)
				is_voter = st.peers[k].role_in_config ==
				           RAFT_VOTER;
		if (is_voter && voters <= min_voters)
			return;
		sim_remove(s, l, victim, NULL);
	}
}

int sim_chaos_step(struct sim *s, const struct sim_chaos *c)
{
	if (s->failed)
		return -1;
	if (c->crashes)
		chaos_crashes(s, c);
	if (c->partitions)
		chaos_partitions(s, c);
	if (c->loss && sim_chance(s, 10)) {
		unsigned drop = (unsigned)rng_range(&s->rng, 0,
		                                    c->max_drop_permille);
		unsigned dup = (unsigned)rng_range(&s->rng, 0,
		                                   c->max_dup_permille);
		if (sim_chance(s, 300))
			drop = dup = 0; /* calm spells */
		sim_set_loss(s, drop, dup);
		sim_set_latency(s, 1, (unsigned)rng_range(&s->rng, 1,
		                                          c->max_latency));
	}
	if (c->pauses && sim_chance(s, c->pause_permille)) {
		raft_id id = pick_node(s, true);
		if (id)
			sim_pause(s, id, (unsigned)rng_range(
				&s->rng, 1, 3 * s->o.election_ticks));
	}
	if (sim_chance(s, c->propose_permille)) {
		raft_id id = sim_chance(s, 850) ? sim_leader(s) : 0;
		if (id == 0)
			id = pick_node(s, true);
		if (id)
			sim_propose(s, id, NULL, NULL);
	}
	if (c->reads && sim_chance(s, c->read_permille)) {
		/* Half of the reads go to any node that believes it leads,
		 * deposed ones included: where a stale read would come from. */
		raft_id id = 0;
		if (sim_chance(s, 500))
			id = pick_self_leader(s);
		else if (sim_chance(s, 700))
			id = sim_leader(s);
		if (id == 0)
			id = pick_node(s, true);
		if (id)
			sim_read_index(s, id, NULL);
	}
	if (c->membership)
		chaos_membership(s, c);
	if (c->transfers && sim_chance(s, c->transfer_permille)) {
		raft_id l = sim_leader(s);
		if (l) {
			raft_id t = sim_chance(s, 300) ? 0 : pick_node(s, true);
			sim_transfer(s, l, t == l ? 0 : t);
		}
	}
	if (s->failed)
		return -1;
	return sim_step(s);
}

int sim_chaos_run(struct sim *s, const struct sim_chaos *c, unsigned steps)
{
	for (unsigned k = 0; k < steps; k++)
		if (sim_chaos_step(s, c) != 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------- end of a run */

struct converge {
	raft_index index;
	raft_id stuck;
};

/* Every running member of the committed configuration has applied
 * at least w->index. */
static bool pred_converged(struct sim *s, void *ctx)
{
	struct converge *w = ctx;
	for (raft_id id = 1; id <= s->max_id; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (!n->exists || n->retired || !sim_is_member(s, id))
			continue;
		if (n->st.sm.applied < w->index) {
			w->stuck = id;
			return false;
		}
	}
	return true;
}

int sim_finish(struct sim *s, unsigned max_ticks)
{
	if (s->failed)
		return -1;
	sim_note(s, "finish: heal, restart everything, check liveness");
	sim_heal(s);
	s->chaos_heal_at = 0;
	sim_set_loss(s, 0, 0);
	sim_set_latency(s, s->o.min_latency, s->o.max_latency);
	for (raft_id id = 1; id <= s->max_id && !s->failed; id++) {
		struct sim_node *n = &s->nodes[id];
		if (!n->exists || n->retired)
			continue;
		if (n->up && n->paused)
			sim_resume(s, id);
		if (!n->up) {
			n->down_until = 0;
			sim_restart(s, id);
		}
	}
	if (s->failed)
		return -1;

	uint64_t start = s->now;
	raft_index idx = 0;
	if (sim_propose_committed(s, max_ticks, &idx) != 0) {
		if (!s->failed)
			sim_fail(s, "Liveness",
			         "network healed and every node up at tick "
			         "%llu, but no proposal committed within %u "
			         "ticks (leader now: %llu, max term %llu)",
			         ULL(start), max_ticks, ULL(sim_leader(s)),
			         ULL(sim_max_term(s)));
		return -1;
	}
	/* Convergence: a member far behind (a fresh server catching up a
	 * long log one small APPEND at a time) may need more than one
	 * window, but every window must see the laggards progress. */
	struct converge w = {idx, 0};
	for (int window = 0;; window++) {
		raft_index before = 0;
		for (raft_id id = 1; id <= s->max_id; id++)
			before += s->nodes[id].st.sm.applied;
		int rv = sim_run_until(s, pred_converged, &w, max_ticks);
		if (rv == 0)
			break;
		if (rv < 0)
			return -1;
		raft_index after = 0;
		for (raft_id id = 1; id <= s->max_id; id++)
			after += s->nodes[id].st.sm.applied;
		if (after == before || window == 20) {
			sim_fail(s, "Liveness",
			         "proposal %llu committed but member %llu is "
			         "still at applied %llu after %u ticks%s",
			         ULL(idx), ULL(w.stuck),
			         ULL(sim_applied(s, w.stuck)),
			         (unsigned)(window + 1) * max_ticks,
			         after == before ? " without progress" : "");
			return -1;
		}
	}
	/* Every acknowledged proposal is in the committed log that every
	 * member has now applied (state machines equal: checked at each
	 * apply against the global hash). */
	for (size_t k = 0; k < s->n_props; k++) {
		const struct sim_prop *p = &s->props[k];
		if (p->state != SIM_PROP_ACKED)
			continue;
		if (p->index > s->g_n || s->g[p->index].term != p->term ||
		    s->g[p->index].chash != p->chash) {
			sim_fail(s, "durability of acknowledged writes",
			         "proposal %llu/%llu was acknowledged to its "
			         "client but is not in the final committed log",
			         ULL(p->index), ULL(p->term));
			return -1;
		}
	}
	for (raft_id id = 1; id <= s->max_id; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (!n->exists || n->retired || !sim_is_member(s, id))
			continue;
		raft_index a = n->st.sm.applied;
		if (a == 0 || a > s->g_n || s->g[a].sm_hash != n->st.sm.hash) {
			sim_fail(s, "State Machine Safety",
			         "member %llu ends with a state machine that "
			         "differs from the committed one at %llu",
			         ULL(id), ULL(a));
			return -1;
		}
	}
	return 0;
}

/*
 * sim.c -- the simulated cluster: lifecycle, the tick loop, requests and
 * queries. See sim.h for what the simulator is for; the node loop is in
 * sim_node.c, the network in sim_net.c, the invariants in sim_check.c.
 *
 * One tick (sim_step), in this fixed order so that a seed replays exactly:
 *   1. paused nodes whose pause is over resume;
 *   2. persistence completions that are due, in id order;
 *   3. messages that are due, in (delivery tick, send sequence) order;
 *   4. raft_tick() on every running node, in id order;
 *   5. periodic snapshots;
 *   6. the invariants over every node.
 * Every event inside also runs the per-node checks right after it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define ULL(x) ((unsigned long long)(x))

void sim_options_default(struct sim_options *o)
{
	memset(o, 0, sizeof(*o));
	o->n_nodes = 3;
	o->seed = 1;
	/* 20 ticks: well above a (pre-)vote round trip through the network
	 * (1..3 ticks a hop) and storage (0..2 ticks), as Section 5.6 asks
	 * ("broadcastTime << electionTimeout"); split votes stay rare. */
	o->election_ticks = 20;
	o->heartbeat_ticks = 2;
	o->pre_vote = true;
	o->check_quorum = true;
	o->max_entries_per_msg = 8;
	o->max_bytes_per_msg = 4096;
	o->max_inflight = 4;
	o->snapshot_trailing = 5;
	o->snapshot_chunk_bytes = 64;
	o->catchup_margin = 5;
	o->min_latency = 1;
	o->max_latency = 3;
	o->drop_permille = 0;
	o->dup_permille = 0;
	o->min_persist_delay = 0;
	o->max_persist_delay = 2;
	o->snapshot_threshold = 0;
	o->trace_ring = 400;
	o->trace_live = false;
	o->trace_out = NULL;
	o->print_on_fail = true;
}

struct sim_node *sim_node_get(struct sim *s, raft_id id)
{
	if (id < 1 || id > SIM_MAX_NODES || !s->nodes[id].exists)
		return NULL;
	return &s->nodes[id];
}

const struct sim_node *sim_node_cget(const struct sim *s, raft_id id)
{
	if (id < 1 || id > SIM_MAX_NODES || !s->nodes[id].exists)
		return NULL;
	return &s->nodes[id];
}

static void node_slot_init(struct sim *s, raft_id id, bool initial)
{
	struct sim_node *n = &s->nodes[id];
	memset(n, 0, sizeof(*n));
	n->id = id;
	n->exists = true;
	n->initial = initial;
	store_init(&n->st);
	if (id > s->max_id)
		s->max_id = id;
}

struct sim *sim_new(const struct sim_options *o)
{
	if (o->n_nodes < 1 || o->n_nodes > 7 || o->election_ticks < 2 ||
	    o->heartbeat_ticks < 1 ||
	    o->heartbeat_ticks >= o->election_ticks || o->min_latency < 1 ||
	    o->max_latency < o->min_latency ||
	    o->max_persist_delay < o->min_persist_delay) {
		fprintf(stderr, "sim: invalid options\n");
		return NULL;
	}
	struct sim *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->o = *o;
	rng_seed(&s->rng, o->seed);
	net_init(&s->net, o);
	trace_init(s);
	s->initial_config.n = o->n_nodes;
	for (unsigned k = 0; k < o->n_nodes; k++) {
		struct raft_server *sv = &s->initial_config.servers[k];
		sv->id = k + 1;
		sv->role = RAFT_VOTER;
		snprintf(sv->address, sizeof(sv->address), "node%u:7000", k + 1);
	}
	for (raft_id id = 1; id <= o->n_nodes; id++) {
		node_slot_init(s, id, true);
		s->nodes[id].added_at = 1;
	}
	for (raft_id id = 1; id <= o->n_nodes; id++)
		if (node_start(s, &s->nodes[id]) != 0)
			break;
	return s;
}

void sim_free(struct sim *s)
{
	if (s == NULL)
		return;
	for (raft_id id = 1; id <= SIM_MAX_NODES; id++) {
		struct sim_node *n = &s->nodes[id];
		if (!n->exists)
			continue;
		if (n->r)
			raft_free(n->r);
		store_free(&n->st);
		vlog_free(&n->view);
		free(n->pend);
	}
	net_free(&s->net);
	free(s->g);
	free(s->leader_of);
	free(s->lm);
	free(s->reads);
	free(s->props);
	trace_free(s);
	free(s);
}

void sim_fail(struct sim *s, const char *invariant, const char *fmt, ...)
{
	if (s->failed)
		return;
	char detail[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(s->err, sizeof(s->err),
	         "invariant violated: %s: %s (seed %" PRIu64 ", step %" PRIu64
	         " = tick %" PRIu64 ", event %" PRIu64 ")",
	         invariant, detail, s->o.seed, s->now, s->now, s->events);
	s->failed = true;
	trace_note(s, 0, "FAILED: %s", invariant);
	if (s->o.print_on_fail) {
		FILE *out = s->o.trace_out ? s->o.trace_out : stderr;
		if (!s->o.trace_live)
			sim_trace_dump(s, out, 0);
		fprintf(out, "%s\n", s->err);
		fflush(out);
	}
	if (s->o.on_fail)
		s->o.on_fail(s->o.on_fail_ctx, s->err);
}

bool sim_failed(const struct sim *s)
{
	return s->failed;
}

const char *sim_error(const struct sim *s)
{
	return s->err;
}

uint64_t sim_now(const struct sim *s)
{
	return s->now;
}

uint64_t sim_seed(const struct sim *s)
{
	return s->o.seed;
}

const struct sim_options *sim_opts(const struct sim *s)
{
	return &s->o;
}

uint64_t sim_rand(struct sim *s)
{
	return rng_next(&s->rng);
}

uint64_t sim_rand_range(struct sim *s, uint64_t lo, uint64_t hi)
{
	return rng_range(&s->rng, lo, hi);
}

bool sim_chance(struct sim *s, unsigned permille)
{
	return permille > 0 && rng_range(&s->rng, 0, 999) < permille;
}

/* ---------------------------------------------------------------- time */

int sim_step(struct sim *s)
{
	if (s->failed)
		return -1;
	s->now++;
	for (raft_id id = 1; id <= s->max_id; id++) {
		struct sim_node *n = &s->nodes[id];
		if (n->up && n->paused && n->pause_until != 0 &&
		    n->pause_until <= s->now)
			sim_resume(s, id);
	}
	for (raft_id id = 1; id <= s->max_id && !s->failed; id++) {
		struct sim_node *n = &s->nodes[id];
		if (n->up && !n->paused && n->inflight && n->done_at <= s->now) {
			node_complete(s, n);
			node_pump(s, n);
		}
	}
	net_deliver_due(s);
	for (raft_id id = 1; id <= s->max_id && !s->failed; id++) {
		struct sim_node *n = &s->nodes[id];
		if (!n->up || n->paused)
			continue;
		s->events++;
		raft_tick(n->r);
		node_pump(s, n);
		check_observe(s, n);
	}
	if (s->o.snapshot_threshold) {
		for (raft_id id = 1; id <= s->max_id && !s->failed; id++) {
			struct sim_node *n = &s->nodes[id];
			if (!n->up || n->paused)
				continue;
			raft_index snap = n->st.snap[0].data
			                      ? n->st.snap[0].meta.index
			                      : 0;
			if (n->st.sm.applied >= snap + s->o.snapshot_threshold)
				node_snapshot(s, n);
		}
	}
	check_all(s);
	return s->failed ? -1 : 0;
}

int sim_run(struct sim *s, unsigned ticks)
{
	for (unsigned k = 0; k < ticks; k++)
		if (sim_step(s) != 0)
			return -1;
	return 0;
}

int sim_run_until(struct sim *s, sim_pred_fn pred, void *ctx,
                  unsigned max_ticks)
{
	for (unsigned k = 0;; k++) {
		if (s->failed)
			return -1;
		if (pred(s, ctx))
			return 0;
		if (k == max_ticks)
			return 1;
		if (sim_step(s) != 0)
			return -1;
	}
}

/* --------------------------------------------------------------- nodes */

bool sim_exists(const struct sim *s, raft_id id)
{
	return sim_node_cget(s, id) != NULL;
}

bool sim_is_up(const struct sim *s, raft_id id)
{
	const struct sim_node *n = sim_node_cget(s, id);
	return n && n->up;
}

bool sim_is_paused(const struct sim *s, raft_id id)
{
	const struct sim_node *n = sim_node_cget(s, id);
	return n && n->up && n->paused;
}

bool sim_is_retired(const struct sim *s, raft_id id)
{
	const struct sim_node *n = sim_node_cget(s, id);
	return n && n->retired;
}

raft_id sim_max_id(const struct sim *s)
{
	return s->max_id;
}

struct raft *sim_core(struct sim *s, raft_id id)
{
	struct sim_node *n = sim_node_get(s, id);
	return n && n->up ? n->r : NULL;
}

void sim_crash(struct sim *s, raft_id id)
{
	struct sim_node *n = sim_node_get(s, id);
	if (n && n->up)
		node_stop(s, n);
}

int sim_restart(struct sim *s, raft_id id)
{
	struct sim_node *n = sim_node_get(s, id);
	if (n == NULL || n->up || n->retired || s->failed)
		return -1;
	return node_start(s, n);
}

void sim_pause(struct sim *s, raft_id id, unsigned ticks)
{
	struct sim_node *n = sim_node_get(s, id);
	if (n == NULL || !n->up || n->paused)
		return;
	n->paused = true;
	n->pause_until = ticks ? s->now + ticks : 0;
	trace_add(s, TEV_PAUSE, id, 0, NULL, ticks, 0, 0, 0, 0);
}

void sim_resume(struct sim *s, raft_id id)
{
	struct sim_node *n = sim_node_get(s, id);
	if (n == NULL || !n->up || !n->paused)
		return;
	n->paused = false;
	n->pause_until = 0;
	trace_add(s, TEV_RESUME, id, 0, NULL, 0, 0, 0, 0, 0);
	/* A batch whose persistence came due during the pause completes
	 * at the next tick's completion pass. */
	node_pump(s, n);
	check_observe(s, n);
}

void sim_retire(struct sim *s, raft_id id)
{
	struct sim_node *n = sim_node_get(s, id);
	if (n == NULL || n->retired)
		return;
	node_stop(s, n);
	n->retired = true;
	trace_add(s, TEV_RETIRE, id, 0, NULL, 0, 0, 0, 0, 0);
}

bool sim_persisting(const struct sim *s, raft_id id, bool *hard_state)
{
	const struct sim_node *n = sim_node_cget(s, id);
	bool p = n && n->up && n->inflight;
	if (hard_state)
		*hard_state = p && n->rd.has_hard_state;
	return p;
}

raft_id sim_leader(struct sim *s)
{
	raft_id best = 0;
	raft_term best_term = 0;
	for (raft_id id = 1; id <= s->max_id; id++) {
		struct sim_node *n = &s->nodes[id];
		if (!n->up || n->paused || raft_role(n->r) != RAFT_LEADER)
			continue;
		raft_term t = raft_current_term(n->r);
		if (best == 0 || t > best_term) {
			best = id;
			best_term = t;
		}
	}
	return best;
}

raft_id sim_ready_leader(struct sim *s)
{
	raft_id id = sim_leader(s);
	if (id == 0)
		return 0;
	struct raft_status st;
	raft_status(s->nodes[id].r, &st);
	if (!st.term_committed)
		return 0;
	return id;
}

static bool pred_ready_leader(struct sim *s, void *ctx)
{
	(void)ctx;
	return sim_ready_leader(s) != 0;
}

raft_id sim_wait_leader(struct sim *s, unsigned max_ticks)
{
	if (sim_run_until(s, pred_ready_leader, NULL, max_ticks) != 0)
		return 0;
	return sim_ready_leader(s);
}

/* ------------------------------------------------------------ requests */

/* A node that can take a request: running and not paused. */
static struct sim_node *req_node(struct sim *s, raft_id id)
{
	struct sim_node *n = sim_node_get(s, id);
	if (s->failed || n == NULL || !n->up || n->paused)
		return NULL;
	return n;
}

static void after_request(struct sim *s, struct sim_node *n)
{
	s->events++;
	node_pump(s, n);
	check_observe(s, n);
}

int sim_propose_data(struct sim *s, raft_id id, const void *data, size_t len,
                     raft_index *index, raft_term *term)
{
	struct sim_node *n = req_node(s, id);
	if (n == NULL)
		return -1;
	raft_index idx = 0;
	raft_term t = 0;
	int rv = raft_propose(n->r, data, len, &idx, &t);
	trace_add(s, TEV_PROPOSE, id, 0, NULL, (uint64_t)rv, idx, t,
	          s->next_payload, 0);
	if (rv == 0) {
		if (s->n_props == s->props_cap) {
			size_t cap = s->props_cap ? s->props_cap * 2 : 256;
			struct sim_prop *p = realloc(s->props, cap * sizeof(*p));
			if (p == NULL)
				abort();
			s->props = p;
			s->props_cap = cap;
		}
		s->props[s->n_props] = (struct sim_prop){
			id, n->incarnation, idx, t,
			entry_chash(RAFT_ENTRY_NORMAL, data, len),
			SIM_PROP_PENDING};
		if (n->n_pend == n->pend_cap) {
			size_t cap = n->pend_cap ? n->pend_cap * 2 : 16;
			size_t *p = realloc(n->pend, cap * sizeof(*p));
			if (p == NULL)
				abort();
			n->pend = p;
			n->pend_cap = cap;
		}
		n->pend[n->n_pend++] = s->n_props;
		s->n_props++;
	}
	if (index)
		*index = idx;
	if (term)
		*term = t;
	after_request(s, n);
	return rv;
}

int sim_propose(struct sim *s, raft_id id, raft_index *index, raft_term *term)
{
	char payload[48];
	s->next_payload++;
	int len = snprintf(payload, sizeof(payload), "s%" PRIu64 "-p%" PRIu64,
	                   s->o.seed, s->next_payload);
	return sim_propose_data(s, id, payload, (size_t)len, index, term);
}

int sim_proposal_state(const struct sim *s, raft_index index, raft_term term)
{
	for (size_t k = s->n_props; k-- > 0;)
		if (s->props[k].index == index && s->props[k].term == term)
			return s->props[k].state;
	return -1;
}

unsigned sim_acked_count(const struct sim *s)
{
	unsigned c = 0;
	for (size_t k = 0; k < s->n_props; k++)
		if (s->props[k].state == SIM_PROP_ACKED)
			c++;
	return c;
}

int sim_commit_state(const struct sim *s, raft_index index, raft_term term)
{
	if (index == 0 || index > s->g_n)
		return 2;
	return s->g[index].term == term ? 0 : 1;
}

struct commit_wait {
	raft_index index;
	raft_term term;
};

static bool pred_commit(struct sim *s, void *ctx)
{
	const struct commit_wait *w = ctx;
	return sim_commit_state(s, w->index, w->term) != 2;
}

int sim_wait_commit(struct sim *s, raft_index index, raft_term term,
                    unsigned max_ticks)
{
	struct commit_wait w = {index, term};
	if (sim_run_until(s, pred_commit, &w, max_ticks) != 0)
		return 2;
	return sim_commit_state(s, index, term);
}

int sim_propose_committed(struct sim *s, unsigned max_ticks, raft_index *index)
{
	uint64_t deadline = s->now + max_ticks;
	unsigned retry = 4 * s->o.election_ticks;
	while (!s->failed && s->now < deadline) {
		raft_id l = sim_ready_leader(s);
		if (l == 0) {
			sim_step(s);
			continue;
		}
		raft_index idx;
		raft_term term;
		if (sim_propose(s, l, &idx, &term) != 0) {
			sim_step(s);
			continue;
		}
		uint64_t left = deadline - s->now;
		int cs = sim_wait_commit(s, idx, term,
		                         (unsigned)(left < retry ? left : retry));
		if (cs == 0) {
			if (index)
				*index = idx;
			return 0;
		}
	}
	return 1;
}

int sim_read_index(struct sim *s, raft_id id, uint64_t *ctx)
{
	struct sim_node *n = req_node(s, id);
	if (n == NULL)
		return -1;
	if (s->n_reads == s->reads_cap) {
		size_t cap = s->reads_cap ? s->reads_cap * 2 : 64;
		struct sim_read *r = realloc(s->reads, cap * sizeof(*r));
		if (r == NULL)
			abort();
		s->reads = r;
		s->reads_cap = cap;
	}
	/* ctx: non-zero and increasing, per node and across restarts; one
	 * counter for the cluster so that a ctx names one read. */
	uint64_t c = ++s->next_read_ctx;
	struct sim_read *r = &s->reads[s->n_reads++];
	*r = (struct sim_read){c, id, n->incarnation, check_global_commit(s),
	                       s->now, false, 0, 0};
	int rv = raft_read_index(n->r, c);
	/* The array may not move before the core answers: answers come
	 * from node_complete, never from inside raft_read_index. */
	r = &s->reads[s->n_reads - 1];
	trace_add(s, TEV_READ, id, 0, NULL, c, (uint64_t)rv, r->bound, 0, 0);
	if (rv != 0) {
		r->done = true;
		r->rv = rv;
	}
	if (ctx)
		*ctx = c;
	after_request(s, n);
	return rv;
}

bool sim_read_result(const struct sim *s, uint64_t ctx, raft_index *index,
                     int *rv)
{
	for (size_t k = s->n_reads; k-- > 0;) {
		const struct sim_read *r = &s->reads[k];
		if (r->ctx != ctx)
			continue;
		if (!r->done)
			return false;
		if (index)
			*index = r->index;
		if (rv)
			*rv = r->rv;
		return true;
	}
	return false;
}

static struct sim_node *leader_node(struct sim *s, raft_id leader)
{
	if (leader == 0)
		leader = sim_leader(s);
	return leader ? req_node(s, leader) : NULL;
}

int sim_add_node(struct sim *s, raft_id leader, raft_id *id, raft_index *index)
{
	struct sim_node *l = leader_node(s, leader);
	if (l == NULL || s->max_id >= SIM_MAX_NODES)
		return -1;
	raft_id nid = s->max_id + 1; /* ids are never reused */
	char addr[RAFT_ADDRESS_MAX];
	snprintf(addr, sizeof(addr), "node%llu:7000", ULL(nid));
	raft_index idx = 0;
	int rv = raft_add_server(l->r, nid, addr, &idx);
	trace_add(s, TEV_CONFIG, l->id, 0, "add", nid, (uint64_t)rv, idx, 0, 0);
	if (id)
		*id = rv == 0 ? nid : 0;
	if (index)
		*index = idx;
	if (rv == 0) {
		node_slot_init(s, nid, false);
		s->nodes[nid].added_at = idx;
		node_start(s, &s->nodes[nid]);
	}
	after_request(s, l);
	return rv;
}

int sim_promote(struct sim *s, raft_id leader, raft_id id, raft_index *index)
{
	struct sim_node *l = leader_node(s, leader);
	if (l == NULL)
		return -1;
	raft_index idx = 0;
	int rv = raft_promote(l->r, id, &idx);
	trace_add(s, TEV_CONFIG, l->id, 0, "promote", id, (uint64_t)rv, idx, 0,
	          0);
	if (index)
		*index = idx;
	after_request(s, l);
	return rv;
}

int sim_remove(struct sim *s, raft_id leader, raft_id id, raft_index *index)
{
	struct sim_node *l = leader_node(s, leader);
	if (l == NULL)
		return -1;
	raft_index idx = 0;
	int rv = raft_remove_server(l->r, id, &idx);
	trace_add(s, TEV_CONFIG, l->id, 0, "remove", id, (uint64_t)rv, idx, 0,
	          0);
	if (index)
		*index = idx;
	after_request(s, l);
	return rv;
}

int sim_transfer(struct sim *s, raft_id leader, raft_id target)
{
	struct sim_node *l = leader_node(s, leader);
	if (l == NULL)
		return -1;
	int rv = raft_transfer_leadership(l->r, target);
	trace_add(s, TEV_CONFIG, l->id, 0, "transfer", target, (uint64_t)rv, 0,
	          0, 0);
	after_request(s, l);
	return rv;
}

int sim_take_snapshot(struct sim *s, raft_id id)
{
	struct sim_node *n = req_node(s, id);
	if (n == NULL)
		return -1;
	return node_snapshot(s, n);
}

/* ------------------------------------------------------------- queries */

raft_index sim_applied(const struct sim *s, raft_id id)
{
	const struct sim_node *n = sim_node_cget(s, id);
	return n ? n->st.sm.applied : 0;
}

raft_index sim_commit_index(struct sim *s, raft_id id)
{
	struct sim_node *n = sim_node_get(s, id);
	if (n == NULL || !n->up)
		return 0;
	struct raft_status st;
	raft_status(n->r, &st);
	return st.commit_index;
}

raft_term sim_term(struct sim *s, raft_id id)
{
	struct sim_node *n = sim_node_get(s, id);
	return n && n->up ? raft_current_term(n->r) : 0;
}

int sim_role(struct sim *s, raft_id id)
{
	struct sim_node *n = sim_node_get(s, id);
	return n && n->up ? raft_role(n->r) : 0;
}

raft_term sim_log_term(const struct sim *s, raft_id id, raft_index index)
{
	const struct sim_node *n = sim_node_cget(s, id);
	if (n == NULL)
		return 0;
	if (index == n->view.base)
		return n->view.base_term;
	const struct vent *v = vlog_get(&n->view, index);
	return v ? v->term : 0;
}

raft_index sim_last_index(const struct sim *s, raft_id id)
{
	const struct sim_node *n = sim_node_cget(s, id);
	return n ? vlog_last(&n->view) : 0;
}

raft_index sim_snapshot_index(const struct sim *s, raft_id id)
{
	const struct sim_node *n = sim_node_cget(s, id);
	return n && n->st.snap[0].data ? n->st.snap[0].meta.index : 0;
}

raft_term sim_durable_term(const struct sim *s, raft_id id)
{
	const struct sim_node *n = sim_node_cget(s, id);
	return n ? n->st.hs.term : 0;
}

raft_index sim_global_applied(const struct sim *s)
{
	return s->g_n;
}

raft_term sim_global_term_at(const struct sim *s, raft_index index)
{
	return index >= 1 && index <= s->g_n ? s->g[index].term : 0;
}

raft_term sim_max_term(const struct sim *s)
{
	raft_term t = 0;
	for (raft_id id = 1; id <= s->max_id; id++)
		if (s->nodes[id].up && raft_current_term(s->nodes[id].r) > t)
			t = raft_current_term(s->nodes[id].r);
	return t;
}

unsigned sim_leaders_elected(const struct sim *s)
{
	return s->leaders_elected;
}

static const struct raft_config *committed_config(const struct sim *s)
{
	return s->committed_config_index ? &s->committed_config
	                                 : &s->initial_config;
}

unsigned sim_committed_voters(const struct sim *s, raft_id *ids, unsigned cap)
{
	const struct raft_config *c = committed_config(s);
	unsigned k = 0;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->servers[i].role != RAFT_VOTER)
			continue;
		if (ids && k < cap)
			ids[k] = c->servers[i].id;
		k++;
	}
	return k;
}

bool sim_is_member(const struct sim *s, raft_id id)
{
	const struct raft_config *c = committed_config(s);
	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].id == id)
			return true;
	return false;
}

unsigned sim_snapshots_installed(const struct sim *s)
{
	return s->installs;
}

void sim_note(struct sim *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	trace_vnote(s, 0, fmt, ap);
	va_end(ap);
}

unsigned sim_crashes_lost_batch(const struct sim *s, bool with_hard_state)
{
	return with_hard_state ? s->crash_lost_hs : s->crash_lost_batch;
}

void sim_read_stats(const struct sim *s, unsigned *ok, unsigned *failed,
                    unsigned *pending)
{
	unsigned a = 0, b = 0, c = 0;
	for (size_t k = 0; k < s->n_reads; k++) {
		const struct sim_read *r = &s->reads[k];
		if (!r->done)
			c++;
		else if (r->rv == 0)
			a++;
		else
			b++;
	}
	if (ok)
		*ok = a;
	if (failed)
		*failed = b;
	if (pending)
		*pending = c;
}

bool sim_durable_has_payload(const struct sim *s, raft_id id, const void *data,
                             size_t len)
{
	const struct sim_node *n = sim_node_cget(s, id);
	if (n == NULL)
		return false;
	for (size_t k = 0; k < n->st.log.n; k++) {
		const struct sim_entry *e = &n->st.log.v[k];
		if (e->type == RAFT_ENTRY_NORMAL && e->len == len &&
		    memcmp(e->data, data, len) == 0)
			return true;
	}
	return false;
}

void sim_set_persist_delay(struct sim *s, unsigned min_ticks,
                           unsigned max_ticks)
{
	if (max_ticks < min_ticks)
		max_ticks = min_ticks;
	s->o.min_persist_delay = min_ticks;
	s->o.max_persist_delay = max_ticks;
	trace_note(s, 0, "persist delay %u..%u", min_ticks, max_ticks);
}

raft_term sim_durable_log_term(const struct sim *s, raft_id id,
                               raft_index index)
{
	const struct sim_node *n = sim_node_cget(s, id);
	if (n == NULL)
		return 0;
	const struct sim_entry *e = slog_get(&n->st.log, index);
	return e ? e->term : 0;
}

static const char *progress_name(int p)
{
	switch (p) {
	case RAFT_PROGRESS_PROBE: return "probe";
	case RAFT_PROGRESS_REPLICATE: return "replicate";
	case RAFT_PROGRESS_SNAPSHOT: return "snapshot";
	default: return "-";
	}
}

void sim_dump_status(struct sim *s, FILE *out)
{
	fprintf(out, "---- status at tick %llu ----\n", ULL(s->now));
	for (raft_id id = 1; id <= s->max_id; id++) {
		struct sim_node *n = &s->nodes[id];
		if (!n->exists)
			continue;
		if (!n->up) {
			fprintf(out, "n%llu: %s, durable term %llu, applied %llu,"
			        " snapshot %llu, log last %llu\n", ULL(id),
			        n->retired ? "retired" : "down", ULL(n->st.hs.term),
			        ULL(n->st.sm.applied),
			        ULL(n->st.snap[0].meta.index),
			        ULL(slog_last(&n->st.log)));
			continue;
		}
		struct raft_status st;
		raft_status(n->r, &st);
		fprintf(out, "n%llu: %s%s term %llu vote %llu leader %llu commit "
		        "%llu applied %llu log %llu..%llu (last term %llu) "
		        "snapshot %llu config@%llu%s transfer %llu\n", ULL(id),
		        raft_role_name(st.role), n->paused ? " (paused)" : "",
		        ULL(st.term), ULL(st.vote), ULL(st.leader),
		        ULL(st.commit_index), ULL(st.applied_index),
		        ULL(st.first_index), ULL(st.last_index),
		        ULL(st.last_term), ULL(st.snapshot_index),
		        ULL(st.config_index),
		        st.config_committed ? " committed" : " uncommitted",
		        ULL(st.transfer_target));
		for (unsigned k = 0; k < st.n_peers; k++) {
			const struct raft_peer_status *p = &st.peers[k];
			fprintf(out, "    peer %llu %s", ULL(p->id),
			        p->role_in_config == RAFT_VOTER ? "voter"
			                                        : "non-voter");
			if (st.role == RAFT_LEADER)
				fprintf(out, " match %llu next %llu %s inflight "
				        "%u contact %llu ticks ago",
				        ULL(p->match_index), ULL(p->next_index),
				        progress_name(p->progress), p->inflight,
				        ULL(p->ticks_since_contact));
			fprintf(out, "\n");
		}
	}
	fprintf(out, "committed config (index %llu):",
	        ULL(s->committed_config_index));
	const struct raft_config *c = committed_config(s);
	for (unsigned i = 0; i < c->n; i++)
		fprintf(out, " %llu%s", ULL(c->servers[i].id),
		        c->servers[i].role == RAFT_VOTER ? "" : "(nv)");
	fprintf(out, "\n---- end of status ----\n");
}

void sim_set_node_persist_delay(struct sim *s, raft_id id, unsigned min_ticks,
                                unsigned max_ticks)
{
	struct sim_node *n = sim_node_get(s, id);
	if (n == NULL)
		return;
	n->pd_set = true;
	n->pd_min = min_ticks;
	n->pd_max = max_ticks < min_ticks ? min_ticks : max_ticks;
	trace_note(s, id, "persist delay %u..%u", n->pd_min, n->pd_max);
}

void sim_clear_node_persist_delay(struct sim *s, raft_id id)
{
	struct sim_node *n = sim_node_get(s, id);
	if (n != NULL)
		n->pd_set = false;
}

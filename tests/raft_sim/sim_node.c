/*
 * sim_node.c -- one simulated server: the ready/advance loop of raft.h run
 * as an asynchronous persist step, and crash / restart.
 *
 * The loop, per raft.h:
 *
 *   take      raft_ready(); the batch is mirrored in the view log and
 *             checked (sim_check.c); messages_now go to the network at once;
 *   flush     raft_flush_now() at every pump, also while a batch is in
 *             flight: what may leave without persistence goes at once;
 *             a persistence delay in [0, max_persist_delay] ticks is drawn.
 *   complete  when the delay is over (at once for 0): the hard state, the
 *             snapshot chunk, the snapshot install, the log changes are
 *             written to the durable store; then `messages` are sent,
 *             committed entries applied (durably: applied state lives in the
 *             store), reads delivered, and raft_advance() called.
 *
 * Only one batch is in flight; meanwhile the node keeps ticking and
 * receiving, and what that produces waits for the next batch. A crash
 * (node_stop) frees the core, which also frees the batch: its unpersisted
 * work is gone, exactly like a process dying with a PostgreSQL transaction
 * open. A restart (node_start) builds a new core with raft_new() from the
 * durable store alone.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define ULL(x) ((unsigned long long)(x))

struct raft_options node_raft_options(const struct sim *s,
                                      const struct sim_node *n)
{
	struct raft_options o;
	raft_options_default(&o);
	o.id = n->id;
	o.seed = sim_mix64(s->o.seed ^ sim_mix64(n->id * 1000003ULL +
	                                         n->incarnation));
	o.election_ticks = s->o.election_ticks;
	o.heartbeat_ticks = s->o.heartbeat_ticks;
	o.pre_vote = s->o.pre_vote;
	o.check_quorum = s->o.check_quorum;
	o.max_entries_per_msg = s->o.max_entries_per_msg;
	o.max_bytes_per_msg = s->o.max_bytes_per_msg;
	o.max_inflight = s->o.max_inflight;
	o.snapshot_trailing = s->o.snapshot_trailing;
	o.snapshot_chunk_bytes = s->o.snapshot_chunk_bytes;
	o.catchup_margin = s->o.catchup_margin;
	return o;
}

/* ------------------------------------------------------ crash, restart */

int node_start(struct sim *s, struct sim_node *n)
{
	if (!n->exists || n->up || n->retired)
		return -1;
	struct sim_store *st = &n->st;
	struct raft_initial_state init;
	memset(&init, 0, sizeof(init));
	init.hard_state = st->hs;
	if (st->snap[0].data)
		init.snapshot = st->snap[0].meta;
	struct raft_entry *ents = NULL;
	if (st->log.n) {
		ents = malloc(st->log.n * sizeof(*ents));
		if (ents == NULL)
			abort();
		for (size_t k = 0; k < st->log.n; k++) {
			const struct sim_entry *d = &st->log.v[k];
			ents[k] = (struct raft_entry){d->term, d->index, d->type,
			                              d->data, d->len};
		}
	}
	init.entries = ents;
	init.n_entries = st->log.n;
	init.applied = st->sm.applied;
	if (n->initial)
		init.bootstrap = s->initial_config;

	n->incarnation++;
	struct raft_options o = node_raft_options(s, n);
	char err[256] = "";
	n->r = raft_new(&o, &init, err, sizeof(err));
	free(ents);
	if (n->r == NULL) {
		sim_fail(s, "restart",
		         "raft_new failed for node %llu from its durable state "
		         "(term %llu, snapshot %llu, %zu entries, applied %llu): "
		         "%s", ULL(n->id), ULL(st->hs.term),
		         ULL(init.snapshot.index), st->log.n, ULL(init.applied),
		         err);
		return -1;
	}
	n->up = true;
	n->paused = false;
	n->inflight = false;
	n->role = 0;
	n->term = st->hs.term;
	/* applied is durable; after a restart commit may restart there */
	n->commit_seen = st->sm.applied;
	n->applied_seen = st->sm.applied;
	n->lead_term = 0;
	n->lc_checked = 0;
	trace_add(s, TEV_RESTART, n->id, n->incarnation, NULL, st->hs.term,
	          st->hs.vote, init.snapshot.index, slog_last(&st->log),
	          st->sm.applied);
	vlog_rebuild(s, n);
	if (s->failed)
		return -1;
	s->events++;
	check_observe(s, n);
	node_pump(s, n);
	check_observe(s, n);
	return s->failed ? -1 : 0;
}

void node_stop(struct sim *s, struct sim_node *n)
{
	if (!n->up)
		return;
	trace_add(s, TEV_CRASH, n->id, 0,
	          n->inflight ? "unpersisted batch lost" : "nothing in flight",
	          n->incarnation, 0, 0, 0, 0);
	if (n->inflight) {
		s->crash_lost_batch++;
		if (n->rd.has_hard_state)
			s->crash_lost_hs++;
	}
	raft_free(n->r); /* also frees the batch in flight */
	n->r = NULL;
	n->up = false;
	n->paused = false;
	n->inflight = false;
	n->role = 0;
	props_forget(s, n, 0);
	s->events++;
}

/* -------------------------------------------------- persist completion */

static void store_chunk(struct sim *s, struct sim_node *n,
                        const struct raft_snapshot_chunk *c)
{
	struct sim_incoming *in = &n->st.in;
	if (in->data == NULL || in->index != c->index || in->term != c->term ||
	    in->total != c->total) {
		if (c->offset != 0) {
			sim_fail(s, "snapshot transfer",
			         "node %llu is asked to store bytes at %llu of "
			         "snapshot %llu/%llu whose start it never stored",
			         ULL(n->id), ULL(c->offset), ULL(c->index),
			         ULL(c->term));
			return;
		}
		free(in->data);
		memset(in, 0, sizeof(*in));
		in->data = malloc(c->total ? c->total : 1);
		if (in->data == NULL)
			abort();
		in->index = c->index;
		in->term = c->term;
		in->total = c->total;
	}
	if (c->offset > in->have || c->offset + c->len > in->total ||
	    (c->len > 0 && c->data == NULL)) {
		sim_fail(s, "snapshot transfer",
		         "node %llu is asked to store bytes [%llu, %llu) of "
		         "snapshot %llu (%llu bytes, %llu stored)", ULL(n->id),
		         ULL(c->offset), ULL(c->offset + c->len), ULL(c->index),
		         ULL(in->total), ULL(in->have));
		return;
	}
	if (c->len)
		memcpy(in->data + c->offset, c->data, c->len);
	if (c->offset + c->len > in->have)
		in->have = c->offset + c->len;
	if (c->done && in->have != in->total)
		sim_fail(s, "snapshot transfer",
		         "node %llu's last chunk of snapshot %llu leaves it with "
		         "%llu of %llu bytes", ULL(n->id), ULL(c->index),
		         ULL(in->have), ULL(in->total));
}

static void install_snapshot(struct sim *s, struct sim_node *n,
                             const struct raft_snapshot_meta *m)
{
	struct sim_store *st = &n->st;
	struct sim_incoming *in = &st->in;
	if (in->data == NULL || in->index != m->index || in->term != m->term ||
	    in->have != m->size || in->total != m->size) {
		sim_fail(s, "snapshot transfer",
		         "node %llu must install snapshot %llu/%llu (%llu bytes) "
		         "but stored %llu of snapshot %llu/%llu", ULL(n->id),
		         ULL(m->index), ULL(m->term), ULL(m->size),
		         ULL(in->have), ULL(in->index), ULL(in->term));
		return;
	}
	struct sim_sm sm;
	if (sm_decode(in->data, in->have, &sm) != 0 || sm.applied != m->index) {
		sim_fail(s, "snapshot transfer",
		         "node %llu received snapshot %llu whose bytes are "
		         "corrupt or describe another index", ULL(n->id),
		         ULL(m->index));
		return;
	}
	check_install(s, n, m, &sm);
	if (s->failed)
		return;
	free(st->snap[SIM_SNAPS_KEPT - 1].data);
	memmove(&st->snap[1], &st->snap[0],
	        (SIM_SNAPS_KEPT - 1) * sizeof(st->snap[0]));
	st->snap[0].meta = *m;
	st->snap[0].data = in->data;
	memset(in, 0, sizeof(*in));
	st->sm = sm;
	slog_clear(&st->log);
	s->installs++;
	props_forget(s, n, m->index);
	trace_add(s, TEV_SNAP_INSTALL, n->id, 0, NULL, m->index, m->term, 0, 0,
	          0);
}

static void persist_log(struct sim *s, struct sim_node *n,
                        const struct raft_ready *rd)
{
	struct sim_log *l = &n->st.log;
	if (rd->truncate_from)
		slog_truncate(l, rd->truncate_from);
	for (size_t k = 0; k < rd->n_entries; k++) {
		const struct raft_entry *e = &rd->entries[k];
		raft_index want = l->n ? slog_last(l) + 1
		                       : (n->st.snap[0].data
		                              ? n->st.snap[0].meta.index + 1
		                              : 1);
		if (e->index != want) {
			sim_fail(s, "log contiguity",
			         "node %llu must persist entry %llu but its "
			         "durable log continues at %llu", ULL(n->id),
			         ULL(e->index), ULL(want));
			return;
		}
		slog_append(l, e);
	}
	if (rd->compact_before)
		slog_compact(l, rd->compact_before);
}

void node_complete(struct sim *s, struct sim_node *n)
{
	const struct raft_ready *rd = &n->rd;
	struct sim_store *st = &n->st;
	s->events++;

	/* 1. Make the batch durable. */
	if (rd->has_hard_state) {
		check_hard_state(s, n, &rd->hard_state);
		st->hs = rd->hard_state;
	}
	if (!s->failed && rd->has_snapshot_chunk)
		store_chunk(s, n, &rd->snapshot_chunk);
	if (!s->failed && rd->has_install_snapshot)
		install_snapshot(s, n, &rd->install_snapshot);
	if (!s->failed)
		persist_log(s, n, rd);
	if (s->failed)
		return;

	/* 2. What had to wait for durability. */
	for (size_t k = 0; k < rd->n_messages && !s->failed; k++) {
		check_send(s, n, &rd->messages[k], false);
		if (!s->failed)
			net_send(s, n, &rd->messages[k]);
	}
	raft_index first = rd->n_committed ? rd->committed[0].index : 0;
	for (size_t k = 0; k < rd->n_committed && !s->failed; k++)
		check_apply(s, n, &rd->committed[k]);
	for (size_t k = 0; k < rd->n_reads && !s->failed; k++)
		check_read_result(s, n, &rd->reads[k]);
	if (s->failed)
		return;
	trace_add(s, TEV_PERSIST, n->id, 0, NULL, rd->n_messages_now,
	          rd->n_messages, rd->n_reads, 0, 0);
	if (rd->n_committed)
		trace_add(s, TEV_APPLY, n->id, 0, NULL, first,
		          rd->committed[rd->n_committed - 1].index,
		          n->st.sm.count, 0, 0);

	/* 3. Tell the core. */
	raft_advance(n->r, rd);
	n->inflight = false;
	check_observe(s, n);
}

/* ---------------------------------------------------------------- pump */

struct flush_ctx {
	struct sim *s;
	struct sim_node *n;
};

static void flush_one(void *arg, const struct raft_message *m)
{
	struct flush_ctx *c = arg;
	if (c->s->failed)
		return;
	check_send(c->s, c->n, m, true);
	if (!c->s->failed)
		net_send(c->s, c->n, m);
}

void node_pump(struct sim *s, struct sim_node *n)
{
	if (!s->failed && n->up && !n->paused) {
		struct flush_ctx c = {s, n};
		raft_flush_now(n->r, flush_one, &c);
	}
	while (!s->failed && n->up && !n->paused && !n->inflight &&
	       raft_has_ready(n->r)) {
		struct raft_ready *rd = &n->rd;
		raft_ready(n->r, rd);
		n->inflight = true;
		s->events++;
		uint32_t flags = (rd->has_hard_state ? 1u : 0u) |
		                 (rd->has_snapshot_chunk ? 2u : 0u) |
		                 (rd->has_install_snapshot ? 4u : 0u) |
		                 (uint32_t)(rd->hard_state.vote << 8);
		trace_add(s, TEV_BATCH, n->id, flags, NULL, rd->hard_state.term,
		          rd->truncate_from, rd->n_entries,
		          rd->n_entries ? rd->entries[0].index : 0,
		          rd->compact_before);
		check_batch_taken(s, n, rd);
		for (size_t k = 0; k < rd->n_messages_now && !s->failed; k++) {
			check_send(s, n, &rd->messages_now[k], true);
			if (!s->failed)
				net_send(s, n, &rd->messages_now[k]);
		}
		if (s->failed)
			return;
		uint64_t delay = n->pd_set
		        ? rng_range(&s->rng, n->pd_min, n->pd_max)
		        : rng_range(&s->rng, s->o.min_persist_delay,
		                    s->o.max_persist_delay);
		if (delay == 0) {
			node_complete(s, n);
		} else {
			n->done_at = s->now + delay;
		}
	}
}

/* ----------------------------------------------------------- snapshots */

int node_snapshot(struct sim *s, struct sim_node *n)
{
	struct sim_store *st = &n->st;
	if (!n->up || n->paused)
		return -1;
	raft_index idx = st->sm.applied;
	if (idx == 0 || (st->snap[0].data && idx <= st->snap[0].meta.index))
		return 1;
	size_t len;
	unsigned char *data = sm_encode(&st->sm, &len);
	struct raft_snapshot_meta meta;
	memset(&meta, 0, sizeof(meta));
	int rv = raft_snapshot_taken(n->r, idx, len, &meta);
	if (rv != 0) {
		/* Legitimate while an installed snapshot beyond our applied
		 * state is still being persisted. */
		free(data);
		trace_note(s, n->id, "snapshot at %llu refused: %s", ULL(idx),
		           raft_strerror(rv));
		return rv;
	}
	if (meta.index != idx || meta.size != len ||
	    (idx <= s->g_n && meta.term != s->g[idx].term)) {
		free(data);
		sim_fail(s, "snapshot metadata",
		         "node %llu snapshots at %llu (%zu bytes, term %llu) but "
		         "the core describes %llu/%llu (%llu bytes)", ULL(n->id),
		         ULL(idx), len, ULL(idx <= s->g_n ? s->g[idx].term : 0),
		         ULL(meta.index), ULL(meta.term), ULL(meta.size));
		return -1;
	}
	free(st->snap[SIM_SNAPS_KEPT - 1].data);
	memmove(&st->snap[1], &st->snap[0],
	        (SIM_SNAPS_KEPT - 1) * sizeof(st->snap[0]));
	st->snap[0].meta = meta;
	st->snap[0].data = data;
	trace_add(s, TEV_SNAP_TAKEN, n->id, 0, NULL, idx, meta.term, len, 0, 0);
	s->events++;
	node_pump(s, n);
	check_observe(s, n);
	return 0;
}

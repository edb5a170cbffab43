/*
 * sim_net.c -- the simulated network.
 *
 * A message handed to the network is deep-copied at once into one block
 * (header, entries array, entry payloads, snapshot chunk bytes): the core's
 * ready memory is only valid until raft_advance(), and a real transport
 * would have serialized it by then. SNAPSHOT messages leave the core with
 * data == NULL; the network fills bytes [offset, offset+len) from the
 * sender's durable snapshot of that index, as lmsd's transport does from
 * PostgreSQL.
 *
 * A message to a node that is down or across a cut link is dropped at
 * once, and half the time the sender's core is told through
 * raft_report_unreachable(), as a transport with a dead connection would.
 *
 * Each copy gets a random latency in [min_latency, max_latency] ticks and
 * waits in a min-heap keyed on (delivery tick, sequence number), so
 * different latencies reorder messages and equal ones keep send order; the
 * sequence number makes the order total and the run deterministic. Loss,
 * duplication, the per-test filter and cut links apply at send time; a link
 * cut while a message is in flight also drops it at delivery (a partition
 * swallows what is on the wire). Messages to a paused node wait.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

void net_init(struct sim_net *net, const struct sim_options *o)
{
	memset(net, 0, sizeof(*net));
	net->drop_permille = o->drop_permille;
	net->dup_permille = o->dup_permille;
	net->min_latency = o->min_latency;
	net->max_latency = o->max_latency;
}

void net_free(struct sim_net *net)
{
	for (size_t i = 0; i < net->n; i++)
		free(net->heap[i]);
	free(net->heap);
	net->heap = NULL;
	net->n = net->cap = 0;
}

/* ------------------------------------------------------------ the heap */

static bool msg_before(const struct sim_msg *a, const struct sim_msg *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_push(struct sim_net *net, struct sim_msg *m)
{
	if (net->n == net->cap) {
		size_t cap = net->cap ? net->cap * 2 : 256;
		struct sim_msg **h = realloc(net->heap, cap * sizeof(*h));
		if (h == NULL)
			abort();
		net->heap = h;
		net->cap = cap;
	}
	size_t i = net->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!msg_before(m, net->heap[p]))
			break;
		net->heap[i] = net->heap[p];
		i = p;
	}
	net->heap[i] = m;
}

static struct sim_msg *heap_pop(struct sim_net *net)
{
	struct sim_msg *top = net->heap[0];
	struct sim_msg *last = net->heap[--net->n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct sim_msg *best = last;
		if (l < net->n && msg_before(net->heap[l], best)) {
			m = l;
			best = net->heap[l];
		}
		if (r < net->n && msg_before(net->heap[r], best))
			m = r;
		if (m == i)
			break;
		net->heap[i] = net->heap[m];
		i = m;
	}
	if (net->n > 0)
		net->heap[i] = last;
	return top;
}

/* --------------------------------------------------------------- send */

static const struct sim_snap *find_snapshot(const struct sim_node *n,
                                            raft_index index)
{
	for (int k = 0; k < SIM_SNAPS_KEPT; k++)
		if (n->st.snap[k].meta.index == index && n->st.snap[k].data)
			return &n->st.snap[k];
	return NULL;
}

/* Deep copy of m, with snapshot bytes from `snap` when non-NULL. */
static struct sim_msg *msg_copy(const struct raft_message *m,
                                const struct sim_snap *snap)
{
	size_t size = sizeof(struct sim_msg);
	if (m->type == RAFT_MSG_APPEND) {
		size += m->append.n_entries * sizeof(struct raft_entry);
		for (size_t i = 0; i < m->append.n_entries; i++)
			size += m->append.entries[i].len;
	} else if (m->type == RAFT_MSG_SNAPSHOT) {
		size += m->snapshot.len;
	}
	struct sim_msg *c = malloc(size);
	if (c == NULL)
		abort();
	c->m = *m;
	unsigned char *p = (unsigned char *)(c + 1);
	if (m->type == RAFT_MSG_APPEND) {
		struct raft_entry *ents = (struct raft_entry *)p;
		size_t ne = m->append.n_entries;
		unsigned char *d = p + ne * sizeof(*ents);
		for (size_t i = 0; i < ne; i++) {
			ents[i] = m->append.entries[i];
			if (ents[i].len)
				memcpy(d, m->append.entries[i].data,
				       ents[i].len);
			ents[i].data = d;
			d += ents[i].len;
		}
		c->m.append.entries = ne ? ents : NULL;
	} else if (m->type == RAFT_MSG_SNAPSHOT) {
		if (m->snapshot.len)
			memcpy(p, snap->data + m->snapshot.offset,
			       m->snapshot.len);
		c->m.snapshot.data = p;
	}
	return c;
}

static uint64_t latency(struct sim *s)
{
	return rng_range(&s->rng, s->net.min_latency, s->net.max_latency);
}

void net_send(struct sim *s, struct sim_node *from,
              const struct raft_message *m)
{
	struct sim_net *net = &s->net;
	if (m->from != from->id) {
		sim_fail(s, "message sender",
		         "node %llu emitted a %s with from=%llu",
		         (unsigned long long)from->id, msg_type_name(m->type),
		         (unsigned long long)m->from);
		return;
	}
	if (m->type < RAFT_MSG_PREVOTE || m->type > RAFT_MSG_TIMEOUT_NOW) {
		sim_fail(s, "message type", "node %llu emitted type %d",
		         (unsigned long long)from->id, m->type);
		return;
	}
	if (m->to >= 1 && m->to <= SIM_MAX_NODES) {
		net->sent[m->type][m->from][m->to]++;
		if (m->type == RAFT_MSG_APPEND_RESP && !m->append_resp.success)
			net->sent[SIM_MSG_APPEND_REJECT][m->from][m->to]++;
	}
	if (m->to == 0 || m->to > SIM_MAX_NODES || m->to == m->from ||
	    !s->nodes[m->to].exists) {
		trace_msg(s, TEV_DROP, m, 0, 0, "no such node");
		return;
	}

	const struct sim_snap *snap = NULL;
	if (m->type == RAFT_MSG_SNAPSHOT) {
		snap = find_snapshot(from, m->snapshot.index);
		if (snap == NULL) {
			/* The transport cannot read a snapshot the node does
			 * not have (any more): it drops the message, the core
			 * retries after its timeout. Counted for the report. */
			net->snapshot_send_failed++;
			trace_msg(s, TEV_DROP, m, 0, 0, "snapshot not stored");
			return;
		}
		if (m->snapshot.offset + m->snapshot.len > snap->meta.size ||
		    m->snapshot.total != snap->meta.size) {
			sim_fail(s, "snapshot chunk",
			         "node %llu sends bytes [%llu, %llu) of a %llu "
			         "byte snapshot %llu (message says total %llu)",
			         (unsigned long long)from->id,
			         (unsigned long long)m->snapshot.offset,
			         (unsigned long long)(m->snapshot.offset +
			                              m->snapshot.len),
			         (unsigned long long)snap->meta.size,
			         (unsigned long long)snap->meta.index,
			         (unsigned long long)m->snapshot.total);
			return;
		}
	}

	if (net->filter && net->filter(net->filter_ctx, m)) {
		trace_msg(s, TEV_DROP, m, 0, 0, "filter");
		return;
	}
	if (net->cut[m->from][m->to] || !s->nodes[m->to].up) {
		trace_msg(s, TEV_DROP, m, 0, 0,
		          net->cut[m->from][m->to] ? "link cut" : "node down");
		/* A transport notices a dead connection: half the time it
		 * tells the core (raft_report_unreachable, an optional hint
		 * that must never hurt). */
		if (from->up && rng_range(&s->rng, 0, 1) == 0)
			raft_report_unreachable(from->r, m->to);
		return;
	}
	if (net->drop_permille &&
	    rng_range(&s->rng, 0, 999) < net->drop_permille) {
		trace_msg(s, TEV_DROP, m, 0, 0, "lost");
		return;
	}
	struct sim_msg *c = msg_copy(m, snap);
	c->seq = ++net->seq;
	c->at = s->now + latency(s);
	trace_msg(s, TEV_SEND, m, c->seq, c->at, NULL);
	heap_push(net, c);
	if (net->dup_permille &&
	    rng_range(&s->rng, 0, 999) < net->dup_permille) {
		struct sim_msg *d = msg_copy(m, snap);
		d->seq = ++net->seq;
		d->at = s->now + latency(s);
		trace_msg(s, TEV_DUP, m, d->seq, d->at, NULL);
		heap_push(net, d);
	}
}

/* ------------------------------------------------------------ deliver */

void net_deliver_due(struct sim *s)
{
	struct sim_net *net = &s->net;
	while (!s->failed && net->n > 0 && net->heap[0]->at <= s->now) {
		struct sim_msg *c = heap_pop(net);
		struct sim_node *to = &s->nodes[c->m.to];
		if (!to->up) {
			trace_msg(s, TEV_DROP, &c->m, c->seq, 0, "node down");
			free(c);
			continue;
		}
		if (to->paused) {
			c->at = s->now + 1; /* waits for the pause to end */
			heap_push(net, c);
			continue;
		}
		if (net->cut[c->m.from][c->m.to]) {
			trace_msg(s, TEV_DROP, &c->m, c->seq, 0, "link cut");
			free(c);
			continue;
		}
		s->events++;
		net->delivered++;
		trace_msg(s, TEV_DELIVER, &c->m, c->seq, 0, NULL);
		int rv = raft_step(to->r, &c->m);
		free(c);
		if (rv != 0) {
			sim_fail(s, "raft_step", "raft_step on node %llu "
			         "returned %d (%s)", (unsigned long long)to->id,
			         rv, raft_strerror(rv));
			return;
		}
		node_pump(s, to);
		check_observe(s, to);
	}
}

/* ------------------------------------------------------ links and stats */

void sim_set_loss(struct sim *s, unsigned drop_permille, unsigned dup_permille)
{
	s->net.drop_permille = drop_permille;
	s->net.dup_permille = dup_permille;
	trace_note(s, 0, "loss %u/1000, dup %u/1000", drop_permille,
	           dup_permille);
}

void sim_set_latency(struct sim *s, unsigned min_ticks, unsigned max_ticks)
{
	if (min_ticks < 1)
		min_ticks = 1;
	if (max_ticks < min_ticks)
		max_ticks = min_ticks;
	s->net.min_latency = min_ticks;
	s->net.max_latency = max_ticks;
	trace_note(s, 0, "latency %u..%u", min_ticks, max_ticks);
}

static bool valid_id(raft_id id)
{
	return id >= 1 && id <= SIM_MAX_NODES;
}

void sim_cut(struct sim *s, raft_id from, raft_id to)
{
	if (!valid_id(from) || !valid_id(to) || from == to)
		return;
	if (!s->net.cut[from][to])
		trace_add(s, TEV_CUT, 0, 0, "cut", from, to, 0, 0, 0);
	s->net.cut[from][to] = true;
}

void sim_uncut(struct sim *s, raft_id from, raft_id to)
{
	if (!valid_id(from) || !valid_id(to))
		return;
	if (s->net.cut[from][to])
		trace_add(s, TEV_CUT, 0, 0, "uncut", from, to, 0, 0, 0);
	s->net.cut[from][to] = false;
}

bool sim_is_cut(const struct sim *s, raft_id from, raft_id to)
{
	return valid_id(from) && valid_id(to) && s->net.cut[from][to];
}

void sim_isolate(struct sim *s, raft_id id)
{
	for (raft_id j = 1; j <= SIM_MAX_NODES; j++) {
		if (j == id)
			continue;
		sim_cut(s, id, j);
		sim_cut(s, j, id);
	}
}

void sim_partition(struct sim *s, const raft_id *group, size_t n)
{
	bool in[SIM_MAX_NODES + 1] = {false};
	for (size_t k = 0; k < n; k++)
		if (valid_id(group[k]))
			in[group[k]] = true;
	for (raft_id a = 1; a <= SIM_MAX_NODES; a++)
		for (raft_id b = 1; b <= SIM_MAX_NODES; b++)
			if (a != b && in[a] != in[b])
				s->net.cut[a][b] = true;
	trace_note(s, 0, "partition: %zu node(s) split off", n);
}

void sim_heal(struct sim *s)
{
	memset(s->net.cut, 0, sizeof(s->net.cut));
	trace_add(s, TEV_HEAL, 0, 0, NULL, 0, 0, 0, 0, 0);
}

void sim_set_filter(struct sim *s, sim_filter_fn fn, void *ctx)
{
	s->net.filter = fn;
	s->net.filter_ctx = ctx;
}

uint64_t sim_msg_count(const struct sim *s, int type, raft_id from, raft_id to)
{
	uint64_t total = 0;
	for (int t = 1; t <= SIM_MSG_APPEND_REJECT; t++) {
		if (type != 0 && t != type)
			continue;
		if (type == 0 && t == SIM_MSG_APPEND_REJECT)
			continue; /* already counted as APPEND_RESP */
		for (raft_id f = 1; f <= SIM_MAX_NODES; f++) {
			if (from != 0 && f != from)
				continue;
			for (raft_id d = 1; d <= SIM_MAX_NODES; d++)
				if (to == 0 || d == to)
					total += s->net.sent[t][f][d];
		}
	}
	return total;
}

uint64_t sim_delivered_count(const struct sim *s)
{
	return s->net.delivered;
}

unsigned sim_snapshot_sends_failed(const struct sim *s)
{
	return (unsigned)s->net.snapshot_send_failed;
}

/*
 * cluster.c -- the in-memory cluster of cluster.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

unsigned char cl_snap_byte(raft_index index, uint64_t k)
{
	return (unsigned char)((index * 31u + k * 7u) & 0xff);
}

void cl_default_options(struct raft_options *o)
{
	raft_options_default(o);
	o->election_ticks = 10;
	o->heartbeat_ticks = 1;
	o->max_entries_per_msg = 8;
	o->max_bytes_per_msg = 4096;
	o->max_inflight = 4;
	o->snapshot_trailing = 2;
	o->snapshot_chunk_bytes = 64;
	o->catchup_margin = 2;
}

static void *cl_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	assert_non_null(p);
	return p;
}

struct raft *cl_raft(struct cluster *c, raft_id id)
{
	assert_true(id >= 1 && id <= c->n);
	assert_true(c->nodes[id].up);
	return c->nodes[id].r;
}

/* ------------------------------------------------------------- storage */

static raft_index cl_store_last(const struct cl_node *n)
{
	if (n->n_log > 0)
		return n->log[n->n_log - 1].index;
	return n->snap.index;
}

static void cl_store_truncate(struct cl_node *n, raft_index from)
{
	while (n->n_log > 0 && n->log[n->n_log - 1].index >= from) {
		free(n->log[n->n_log - 1].data);
		n->n_log--;
	}
}

static void cl_store_compact(struct cl_node *n, raft_index before)
{
	size_t k = 0;
	while (k < n->n_log && n->log[k].index < before) {
		free(n->log[k].data);
		k++;
	}
	memmove(n->log, n->log + k, (n->n_log - k) * sizeof(*n->log));
	n->n_log -= k;
}

static void cl_store_append(struct cl_node *n, const struct raft_entry *e)
{
	raft_index want = cl_store_last(n) + 1;
	if (n->n_log == 0 && n->snap.index == 0)
		want = 1;
	assert_int_equal(e->index, want);
	if (n->n_log == n->cap_log) {
		n->cap_log = n->cap_log ? n->cap_log * 2 : 64;
		n->log = realloc(n->log, n->cap_log * sizeof(*n->log));
		assert_non_null(n->log);
	}
	struct cl_entry *d = &n->log[n->n_log++];
	d->term = e->term;
	d->index = e->index;
	d->type = e->type;
	d->len = e->len;
	d->data = NULL;
	if (e->len) {
		d->data = cl_xmalloc(e->len);
		memcpy(d->data, e->data, e->len);
	}
}

void cl_store_put(struct cluster *c, raft_id id, raft_index index,
                  raft_term term, const char *s)
{
	struct cl_node *n = &c->nodes[id];
	assert_false(n->up);
	cl_store_truncate(n, index);
	struct raft_entry e;
	memset(&e, 0, sizeof(e));
	e.index = index;
	e.term = term;
	e.type = RAFT_ENTRY_NORMAL;
	e.data = s;
	e.len = strlen(s);
	cl_store_append(n, &e);
}

void cl_store_hs(struct cluster *c, raft_id id, raft_term term, raft_id vote)
{
	struct cl_node *n = &c->nodes[id];
	assert_false(n->up);
	n->hs.term = term;
	n->hs.vote = vote;
}

const struct cl_entry *cl_log_get(struct cluster *c, raft_id id,
                                  raft_index i)
{
	struct cl_node *n = &c->nodes[id];
	for (size_t k = 0; k < n->n_log; k++)
		if (n->log[k].index == i)
			return &n->log[k];
	return NULL;
}

/* ------------------------------------------------------------ lifecycle */

void cl_start(struct cluster *c, raft_id id)
{
	struct cl_node *n = &c->nodes[id];
	assert_false(n->up);
	struct raft_options o = c->opts;
	o.id = id;
	o.seed = 1000 + id * 7919;
	struct raft_initial_state s;
	memset(&s, 0, sizeof(s));
	s.hard_state = n->hs;
	s.snapshot = n->snap;
	struct raft_entry *ents = cl_xmalloc(n->n_log * sizeof(*ents));
	for (size_t k = 0; k < n->n_log; k++) {
		ents[k].term = n->log[k].term;
		ents[k].index = n->log[k].index;
		ents[k].type = n->log[k].type;
		ents[k].data = n->log[k].data;
		ents[k].len = n->log[k].len;
	}
	s.entries = ents;
	s.n_entries = n->n_log;
	s.applied = n->applied;
	if (n->initial)
		s.bootstrap = c->initial;
	char err[256];
	n->r = raft_new(&o, &s, err, sizeof(err));
	free(ents);
	if (n->r == NULL)
		fail_msg("raft_new(%llu): %s", (unsigned long long)id, err);
	n->up = true;
	n->inflight = false;
}

void cl_init(struct cluster *c, unsigned n, unsigned n_voters,
             const struct raft_options *o)
{
	assert_true(n >= 1 && n <= CL_MAX && n_voters <= n);
	memset(c, 0, sizeof(*c));
	c->n = n;
	if (o)
		c->opts = *o;
	else
		cl_default_options(&c->opts);
	for (unsigned k = 0; k < n_voters; k++) {
		struct raft_server *s = &c->initial.servers[c->initial.n++];
		s->id = k + 1;
		s->role = RAFT_VOTER;
		snprintf(s->address, sizeof(s->address), "127.0.0.1:%u",
		         9000 + k + 1);
	}
	for (raft_id id = 1; id <= n; id++) {
		c->nodes[id].id = id;
		c->nodes[id].exists = true;
		c->nodes[id].initial = id <= n_voters;
		cl_start(c, id);
	}
}

void cl_crash(struct cluster *c, raft_id id)
{
	struct cl_node *n = &c->nodes[id];
	assert_true(n->up);
	raft_free(n->r);
	n->r = NULL;
	n->up = false;
	n->inflight = false;
	/* An incoming snapshot transfer is lost with the process. */
	free(n->in_data);
	n->in_data = NULL;
	n->in_total = 0;
	n->in_index = 0;
}

void cl_close(struct cluster *c)
{
	for (raft_id id = 1; id <= c->n; id++) {
		struct cl_node *n = &c->nodes[id];
		if (n->up)
			raft_free(n->r);
		cl_store_truncate(n, 0);
		free(n->log);
		free(n->in_data);
	}
	cl_drop_all(c);
	free(c->net);
}

/* -------------------------------------------------------------- network */

static void cl_net_push(struct cluster *c, struct cl_node *from,
                        const struct raft_message *m)
{
	assert_int_equal(m->from, from->id);
	assert_true(m->to >= 1 && m->to <= CL_MAX);
	if (c->n_net == c->cap_net) {
		c->cap_net = c->cap_net ? c->cap_net * 2 : 64;
		c->net = realloc(c->net, c->cap_net * sizeof(*c->net));
		assert_non_null(c->net);
	}
	struct cl_msg *d = &c->net[c->n_net++];
	d->m = *m;
	d->block = NULL;
	if (m->type == RAFT_MSG_APPEND && m->append.n_entries > 0) {
		size_t n = m->append.n_entries, bytes = 0;
		for (size_t k = 0; k < n; k++)
			bytes += m->append.entries[k].len;
		struct raft_entry *ents = cl_xmalloc(n * sizeof(*ents) + bytes);
		unsigned char *data = (unsigned char *)(ents + n);
		for (size_t k = 0; k < n; k++) {
			ents[k] = m->append.entries[k];
			if (ents[k].len) {
				memcpy(data, ents[k].data, ents[k].len);
				ents[k].data = data;
				data += ents[k].len;
			}
		}
		d->m.append.entries = ents;
		d->block = ents;
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		/* The transport fills the chunk from the stored snapshot. */
		assert_null(m->snapshot.data);
		assert_int_equal(m->snapshot.index, from->snap.index);
		assert_int_equal(m->snapshot.total, from->snap.size);
		assert_true(m->snapshot.offset + m->snapshot.len <=
		            m->snapshot.total);
		unsigned char *b = cl_xmalloc(m->snapshot.len);
		for (size_t k = 0; k < m->snapshot.len; k++)
			b[k] = cl_snap_byte(m->snapshot.index,
			                    m->snapshot.offset + k);
		d->m.snapshot.data = b;
		d->block = b;
	}
}

void cl_msg_free(struct cl_msg *msg)
{
	free(msg->block);
	msg->block = NULL;
}

void cl_drop_all(struct cluster *c)
{
	for (size_t k = 0; k < c->n_net; k++)
		cl_msg_free(&c->net[k]);
	c->n_net = 0;
}

static bool cl_match(const struct cl_msg *d, raft_id from, raft_id to,
                     int type)
{
	return (from == 0 || d->m.from == from) && (to == 0 || d->m.to == to) &&
	       (type == 0 || d->m.type == type);
}

size_t cl_count(struct cluster *c, raft_id from, raft_id to, int type)
{
	size_t n = 0;
	for (size_t k = 0; k < c->n_net; k++)
		if (cl_match(&c->net[k], from, to, type))
			n++;
	return n;
}

bool cl_take(struct cluster *c, raft_id from, raft_id to, int type,
             struct cl_msg *out)
{
	for (size_t k = 0; k < c->n_net; k++) {
		if (!cl_match(&c->net[k], from, to, type))
			continue;
		*out = c->net[k];
		memmove(c->net + k, c->net + k + 1,
		        (c->n_net - k - 1) * sizeof(*c->net));
		c->n_net--;
		return true;
	}
	return false;
}

void cl_deliver(struct cluster *c, struct cl_msg *msg)
{
	raft_id to = msg->m.to;
	if (getenv("CL_TRACE"))
		cl_dump_msg(&msg->m);
	if (to >= 1 && to <= c->n && c->nodes[to].up &&
	    !c->cut[msg->m.from][to]) {
		int rv = raft_step(c->nodes[to].r, &msg->m);
		assert_int_equal(rv, 0);
		cl_ready(c, to);
	}
	cl_msg_free(msg);
}

void cl_stabilize(struct cluster *c)
{
	for (int guard = 0; guard < 100000; guard++) {
		cl_ready_all(c);
		struct cl_msg m;
		if (!cl_take(c, 0, 0, 0, &m))
			return;
		cl_deliver(c, &m);
	}
	fail_msg("cluster does not stabilize");
}

void cl_cut(struct cluster *c, raft_id a, raft_id b, bool cut)
{
	c->cut[a][b] = cut;
	c->cut[b][a] = cut;
}

void cl_isolate(struct cluster *c, raft_id id, bool cut)
{
	for (raft_id k = 1; k <= CL_MAX; k++)
		if (k != id)
			cl_cut(c, id, k, cut);
}

/* ------------------------------------------------------------ the loop */

static void cl_check_send(struct cl_node *n, const struct raft_message *m,
                          bool now)
{
	if (now) /* an APPEND_RESP is held to the durability rule below */
		assert_true(m->type == RAFT_MSG_APPEND ||
		            m->type == RAFT_MSG_SNAPSHOT ||
		            m->type == RAFT_MSG_TIMEOUT_NOW ||
		            m->type == RAFT_MSG_APPEND_RESP);
	if (m->type != RAFT_MSG_PREVOTE && m->type != RAFT_MSG_PREVOTE_RESP)
		assert_true(m->term <= n->hs.term);
	if (m->type == RAFT_MSG_VOTE_RESP && m->vote_resp.granted)
		assert_int_equal(n->hs.vote, m->to);
	if (m->type == RAFT_MSG_APPEND_RESP && m->append_resp.success &&
	    m->term == n->hs.term && m->append_resp.index > n->snap.index)
		assert_true(m->append_resp.index <= cl_store_last(n));
}

static void cl_apply(struct cluster *c, struct cl_node *n,
                     const struct raft_entry *e)
{
	assert_int_equal(e->index, n->applied + 1);
	assert_true(e->index < CL_MAX_APPLIED);
	if (c->g_term[e->index] == 0) {
		c->g_term[e->index] = e->term;
		c->g_type[e->index] = e->type;
		c->g_len[e->index] = e->len;
		c->g_byte[e->index] = e->len ? ((const unsigned char *)e->data)[0]
		                             : 0;
	} else {
		assert_int_equal(c->g_term[e->index], e->term);
		assert_int_equal(c->g_type[e->index], e->type);
		assert_int_equal(c->g_len[e->index], e->len);
		if (e->len)
			assert_int_equal(c->g_byte[e->index],
			                 ((const unsigned char *)e->data)[0]);
	}
	n->applied = e->index;
}

static void cl_persist(struct cl_node *n, const struct raft_ready *rd)
{
	if (rd->has_hard_state) {
		assert_true(rd->hard_state.term >= n->hs.term);
		if (rd->hard_state.term == n->hs.term && n->hs.vote != 0)
			assert_int_equal(rd->hard_state.vote, n->hs.vote);
		n->hs = rd->hard_state;
	}
	if (rd->has_snapshot_chunk) {
		const struct raft_snapshot_chunk *ch = &rd->snapshot_chunk;
		if (ch->offset == 0) {
			free(n->in_data);
			n->in_data = cl_xmalloc(ch->total);
			n->in_total = ch->total;
			n->in_index = ch->index;
		}
		assert_int_equal(n->in_index, ch->index);
		assert_true(ch->offset + ch->len <= n->in_total);
		if (ch->len)
			memcpy(n->in_data + ch->offset, ch->data, ch->len);
	}
	if (rd->has_install_snapshot) {
		const struct raft_snapshot_meta *m = &rd->install_snapshot;
		assert_true(rd->has_snapshot_chunk && rd->snapshot_chunk.done);
		assert_int_equal(n->in_index, m->index);
		assert_int_equal(n->in_total, m->size);
		for (uint64_t k = 0; k < m->size; k++)
			assert_int_equal(n->in_data[k], cl_snap_byte(m->index, k));
		assert_true(m->index >= n->applied);
		n->snap = *m;
		free(n->in_data);
		n->in_data = NULL;
		cl_store_truncate(n, 0);
		n->applied = m->index;
		n->installs++;
	}
	if (rd->truncate_from)
		cl_store_truncate(n, rd->truncate_from);
	for (size_t k = 0; k < rd->n_entries; k++)
		cl_store_append(n, &rd->entries[k]);
	if (rd->compact_before) {
		assert_true(rd->compact_before - 1 <= n->snap.index);
		cl_store_compact(n, rd->compact_before);
	}
}

static void cl_finish(struct cluster *c, struct cl_node *n)
{
	const struct raft_ready *rd = &n->rd;
	cl_persist(n, rd);
	for (size_t k = 0; k < rd->n_messages; k++) {
		cl_check_send(n, &rd->messages[k], false);
		cl_net_push(c, n, &rd->messages[k]);
	}
	for (size_t k = 0; k < rd->n_committed; k++)
		cl_apply(c, n, &rd->committed[k]);
	for (size_t k = 0; k < rd->n_reads; k++) {
		assert_true(n->n_reads < 64);
		n->reads[n->n_reads].ctx = rd->reads[k].ctx;
		n->reads[n->n_reads].index = rd->reads[k].index;
		n->reads[n->n_reads].rv = rd->reads[k].rv;
		n->n_reads++;
	}
	raft_advance(n->r, rd);
	n->inflight = false;
}

static void cl_take_batch(struct cluster *c, struct cl_node *n)
{
	raft_ready(n->r, &n->rd);
	n->inflight = true;
	n->batches++;
	for (size_t k = 0; k < n->rd.n_messages_now; k++) {
		cl_check_send(n, &n->rd.messages_now[k], true);
		cl_net_push(c, n, &n->rd.messages_now[k]);
	}
}

void cl_ready(struct cluster *c, raft_id id)
{
	struct cl_node *n = &c->nodes[id];
	if (!n->up)
		return;
	if (n->manual) {
		if (!n->inflight && raft_has_ready(n->r))
			cl_take_batch(c, n);
		return;
	}
	for (int guard = 0; guard < 1000; guard++) {
		if (n->inflight)
			cl_finish(c, n);
		if (!raft_has_ready(n->r))
			return;
		cl_take_batch(c, n);
	}
	fail_msg("node %llu always has a ready batch", (unsigned long long)id);
}

void cl_complete(struct cluster *c, raft_id id)
{
	struct cl_node *n = &c->nodes[id];
	assert_true(n->inflight);
	cl_finish(c, n);
}

void cl_ready_all(struct cluster *c)
{
	for (raft_id id = 1; id <= c->n; id++)
		cl_ready(c, id);
}

void cl_tick(struct cluster *c, raft_id id, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		raft_tick(cl_raft(c, id));
		cl_ready(c, id);
	}
}

void cl_tick_all(struct cluster *c, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		for (raft_id id = 1; id <= c->n; id++)
			if (c->nodes[id].up)
				cl_tick(c, id, 1);
}

raft_id cl_run_until_leader(struct cluster *c, unsigned max_rounds)
{
	for (unsigned k = 0; k < max_rounds; k++) {
		cl_stabilize(c);
		for (raft_id id = 1; id <= c->n; id++)
			if (c->nodes[id].up &&
			    raft_role(c->nodes[id].r) == RAFT_LEADER)
				return id;
		cl_tick_all(c, 1);
	}
	cl_stabilize(c);
	for (raft_id id = 1; id <= c->n; id++)
		if (c->nodes[id].up && raft_role(c->nodes[id].r) == RAFT_LEADER)
			return id;
	return 0;
}

void cl_campaign(struct cluster *c, raft_id id)
{
	struct raft *r = cl_raft(c, id);
	int role = raft_role(r);
	raft_term term = raft_current_term(r);
	for (unsigned k = 0; k < 2 * c->opts.election_ticks + 1; k++) {
		raft_tick(r);
		cl_ready(c, id);
		if (raft_role(r) != role || raft_current_term(r) != term)
			break;
	}
	cl_stabilize(c);
}

void cl_snapshot(struct cluster *c, raft_id id, uint64_t size)
{
	struct cl_node *n = &c->nodes[id];
	struct raft_snapshot_meta meta;
	memset(&meta, 0, sizeof(meta));
	assert_int_equal(raft_snapshot_taken(cl_raft(c, id), n->applied, size,
	                                     &meta), 0);
	assert_int_equal(meta.index, n->applied);
	assert_int_equal(meta.size, size);
	n->snap = meta;
	cl_ready(c, id);
}

raft_index cl_propose(struct cluster *c, raft_id id, const char *s)
{
	raft_index index = 0;
	raft_term term = 0;
	int rv = raft_propose(cl_raft(c, id), s, strlen(s), &index, &term);
	assert_int_equal(rv, 0);
	cl_ready(c, id);
	return index;
}

raft_index cl_commit(struct cluster *c, raft_id id)
{
	struct raft_status st;
	raft_status(cl_raft(c, id), &st);
	return st.commit_index;
}

raft_index cl_last(struct cluster *c, raft_id id)
{
	struct raft_status st;
	raft_status(cl_raft(c, id), &st);
	return st.last_index;
}

void cl_dump_msg(const struct raft_message *m)
{
	static const char *names[] = {"?", "PREVOTE", "PREVOTE_RESP", "VOTE",
	                              "VOTE_RESP", "APPEND", "APPEND_RESP",
	                              "SNAPSHOT", "SNAPSHOT_RESP", "TIMEOUT_NOW"};
	fprintf(stderr, "%llu->%llu %s t%llu", (unsigned long long)m->from,
	        (unsigned long long)m->to,
	        m->type >= 1 && m->type <= 9 ? names[m->type] : "?",
	        (unsigned long long)m->term);
	if (m->type == RAFT_MSG_APPEND)
		fprintf(stderr, " prev=%llu/%llu n=%zu commit=%llu",
		        (unsigned long long)m->append.prev_index,
		        (unsigned long long)m->append.prev_term,
		        m->append.n_entries,
		        (unsigned long long)m->append.commit);
	if (m->type == RAFT_MSG_APPEND_RESP)
		fprintf(stderr, " ok=%d idx=%llu ct=%llu ci=%llu last=%llu",
		        m->append_resp.success,
		        (unsigned long long)m->append_resp.index,
		        (unsigned long long)m->append_resp.conflict_term,
		        (unsigned long long)m->append_resp.conflict_index,
		        (unsigned long long)m->append_resp.last_index);
	if (m->type == RAFT_MSG_SNAPSHOT)
		fprintf(stderr, " idx=%llu off=%llu len=%zu done=%d",
		        (unsigned long long)m->snapshot.index,
		        (unsigned long long)m->snapshot.offset, m->snapshot.len,
		        m->snapshot.done);
	if (m->type == RAFT_MSG_SNAPSHOT_RESP)
		fprintf(stderr, " idx=%llu next=%llu rej=%d",
		        (unsigned long long)m->snapshot_resp.index,
		        (unsigned long long)m->snapshot_resp.next_offset,
		        m->snapshot_resp.rejected);
	fprintf(stderr, "\n");
}

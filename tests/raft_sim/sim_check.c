/*
 * sim_check.c -- the safety invariants, checked after every event.
 *
 * What is checked, and where the evidence comes from:
 *
 *   Election Safety (Figure 3): at most one leader per term, over the whole
 *   run: leader_of[term] remembers every leader ever observed (check_observe
 *   runs after every event, so no leadership goes unseen).
 *
 *   Log Matching (Figure 3): every node's log as handed out in ready
 *   batches is mirrored in a "view log" whose entries carry a hash of the
 *   whole prefix up to them. A global table maps (index, term) to the entry
 *   content hash and prefix hash first seen: two logs holding the same
 *   (index, term) must agree on both, i.e. be identical up to that index.
 *
 *   Leader Append-Only (Figure 3): a node that was already leader of its
 *   current term when a batch was taken may not truncate in that batch, and
 *   appends only entries of its own term.
 *
 *   Leader Completeness (Figure 3): each committed index remembers the
 *   highest leader term seen when it was first applied (est); every leader
 *   of a term >= est must hold that entry above its snapshot. Checked
 *   incrementally per leader.
 *
 *   State Machine Safety (Figure 3): the first node to apply index i fixes
 *   (term, content, state machine hash) of i; every other application (and
 *   every installed snapshot, by its state machine hash) must agree, and
 *   each node applies contiguously from its applied index + 1.
 *
 *   Commitment rule (Figure 2, Section 5.4.2): a leader moves its commit
 *   index only onto an entry of its own term.
 *
 *   Commit durability (Section 5.4, "Persist log entries before
 *   acknowledging them"): when a leader advances its commit index, each
 *   newly committed entry must be in the durable store of a majority of the
 *   voters of the leader's configuration, the leader included.
 *
 *   Persistence before sending (Figure 2, "respond to RPCs only after
 *   updating stable storage"): a sent message's term is durable; a granted
 *   vote and a candidacy are durable; a successful APPEND_RESP acknowledges
 *   only durable entries; what leaves without waiting for a batch
 *   (messages_now, raft_flush_now) is only a leader's APPEND, SNAPSHOT and
 *   TIMEOUT_NOW or an APPEND_RESP (held to the rules above like any
 *   other). Persisted terms never decrease and a vote never changes within
 *   a term.
 *
 *   Acknowledged entries kept: what a node acknowledged (successful
 *   APPEND_RESP) in its current term is counted by that term's leader, so
 *   no truncation (a duplicated or reordered APPEND) and no snapshot
 *   install (Figure 13, step 6) may drop it within the term.
 *
 *   Membership (dissertation Section 4.1 and its 2015 erratum): a leader
 *   appends a CONFIG entry only when the previous one in its log is
 *   committed and once an entry of its own term has committed.
 *
 *   Monotonic indexes: commit and applied never go backwards, across
 *   restarts too (applied is durable; after a restart commit may start at
 *   the durable applied index). applied <= commit. A committed entry is
 *   never truncated.
 *
 *   Read safety (Section 6.4): a ReadIndex answer with rv == 0 is >= the
 *   highest commit index known anywhere when the read was requested, so a
 *   read never misses a write acknowledged before it started.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define ULL(x) ((unsigned long long)(x))

/* ------------------------------------------------- (index, term) table */

static uint64_t lm_hash(raft_index i, raft_term t)
{
	return sim_mix64(i * 0x9e3779b97f4a7c15ULL ^ sim_mix64(t));
}

static struct lm_slot *lm_find(struct sim *s, raft_index i, raft_term t)
{
	if (s->lm_cap == 0)
		return NULL;
	size_t mask = s->lm_cap - 1;
	for (size_t k = lm_hash(i, t) & mask;; k = (k + 1) & mask) {
		struct lm_slot *e = &s->lm[k];
		if (e->index == 0)
			return NULL;
		if (e->index == i && e->term == t)
			return e;
	}
}

static void lm_insert(struct sim *s, raft_index i, raft_term t, uint64_t ch,
                      uint64_t ph)
{
	if ((s->lm_n + 1) * 2 > s->lm_cap) {
		size_t cap = s->lm_cap ? s->lm_cap * 2 : 1024;
		struct lm_slot *old = s->lm;
		size_t oldcap = s->lm_cap;
		s->lm = calloc(cap, sizeof(*s->lm));
		if (s->lm == NULL)
			abort();
		s->lm_cap = cap;
		s->lm_n = 0;
		for (size_t k = 0; k < oldcap; k++)
			if (old[k].index)
				lm_insert(s, old[k].index, old[k].term,
				          old[k].chash, old[k].phash);
		free(old);
	}
	size_t mask = s->lm_cap - 1;
	size_t k = lm_hash(i, t) & mask;
	while (s->lm[k].index != 0)
		k = (k + 1) & mask;
	s->lm[k] = (struct lm_slot){i, t, ch, ph};
	s->lm_n++;
}

/* ------------------------------------------------------------ view log */

raft_index vlog_last(const struct vlog *v)
{
	return v->base + v->n;
}

const struct vent *vlog_get(const struct vlog *v, raft_index i)
{
	if (i <= v->base || i > vlog_last(v))
		return NULL;
	return &v->v[i - v->base - 1];
}

void vlog_free(struct vlog *v)
{
	free(v->v);
	memset(v, 0, sizeof(*v));
}

void vlog_reset(struct sim *s, struct sim_node *n, raft_index base,
                raft_term base_term)
{
	struct vlog *v = &n->view;
	v->n = 0;
	v->base = base;
	v->base_term = base_term;
	v->base_phash = 0;
	if (base == 0)
		return;
	const struct lm_slot *e = lm_find(s, base, base_term);
	if (e == NULL) {
		sim_fail(s, "Log Matching",
		         "node %llu starts its log after %llu/%llu (snapshot), "
		         "an entry no log ever held", ULL(n->id), ULL(base),
		         ULL(base_term));
		return;
	}
	v->base_phash = e->phash;
}

static uint64_t prefix_hash(uint64_t prev, raft_index i, raft_term t,
                            uint64_t ch)
{
	return sim_mix64(prev ^ sim_mix64(ch ^ sim_mix64(t ^ (i << 24))));
}

void vlog_push(struct sim *s, struct sim_node *n, const struct raft_entry *e)
{
	struct vlog *v = &n->view;
	if (e->index != vlog_last(v) + 1) {
		sim_fail(s, "log contiguity",
		         "node %llu appends entry %llu/%llu after its last "
		         "index %llu", ULL(n->id), ULL(e->index), ULL(e->term),
		         ULL(vlog_last(v)));
		return;
	}
	raft_term prev_term = v->n ? v->v[v->n - 1].term : v->base_term;
	uint64_t prev_ph = v->n ? v->v[v->n - 1].phash : v->base_phash;
	if (e->term < prev_term) {
		sim_fail(s, "Log Matching",
		         "node %llu appends %llu/%llu after an entry of the "
		         "higher term %llu (log terms must not decrease)",
		         ULL(n->id), ULL(e->index), ULL(e->term),
		         ULL(prev_term));
		return;
	}
	if (e->type < RAFT_ENTRY_NORMAL || e->type > RAFT_ENTRY_CONFIG) {
		sim_fail(s, "entry type", "node %llu appends entry %llu of "
		         "type %d", ULL(n->id), ULL(e->index), e->type);
		return;
	}
	uint64_t ch = entry_chash(e->type, e->data, e->len);
	uint64_t ph = prefix_hash(prev_ph, e->index, e->term, ch);
	const struct lm_slot *g = lm_find(s, e->index, e->term);
	if (g == NULL) {
		lm_insert(s, e->index, e->term, ch, ph);
	} else if (g->chash != ch) {
		sim_fail(s, "Log Matching",
		         "node %llu holds entry %llu/%llu with a content that "
		         "differs from another log's entry %llu/%llu",
		         ULL(n->id), ULL(e->index), ULL(e->term),
		         ULL(e->index), ULL(e->term));
		return;
	} else if (g->phash != ph) {
		sim_fail(s, "Log Matching",
		         "node %llu holds entry %llu/%llu like another log, "
		         "but the logs differ before it", ULL(n->id),
		         ULL(e->index), ULL(e->term));
		return;
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		struct vent *nv = realloc(v->v, cap * sizeof(*nv));
		if (nv == NULL)
			abort();
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = (struct vent){e->term, e->type, ch, ph};
}

static void vlog_truncate(struct vlog *v, raft_index from)
{
	if (from <= v->base)
		v->n = 0;
	else if (from <= vlog_last(v))
		v->n = from - v->base - 1;
}

static void vlog_compact(struct vlog *v, raft_index before)
{
	if (before == 0 || before - 1 <= v->base)
		return;
	size_t k = before - 1 - v->base; /* entries to drop */
	if (k > v->n)
		k = v->n; /* caller checked; keep the view sane anyway */
	if (k == 0)
		return;
	v->base_term = v->v[k - 1].term;
	v->base_phash = v->v[k - 1].phash;
	v->base += k;
	memmove(v->v, v->v + k, (v->n - k) * sizeof(*v->v));
	v->n -= k;
}

void vlog_rebuild(struct sim *s, struct sim_node *n)
{
	const struct sim_store *st = &n->st;
	raft_index base = 0;
	raft_term base_term = 0;
	if (st->snap[0].data) {
		base = st->snap[0].meta.index;
		base_term = st->snap[0].meta.term;
	}
	vlog_reset(s, n, base, base_term);
	for (size_t k = 0; k < st->log.n && !s->failed; k++) {
		const struct sim_entry *d = &st->log.v[k];
		if (d->index <= base)
			continue;
		struct raft_entry e = {d->term, d->index, d->type, d->data,
		                       d->len};
		vlog_push(s, n, &e);
	}
}

/* --------------------------------------------------------- durability */

/* Does node n's durable store hold entry (i, t)? Entries at or below its
 * durable snapshot or applied index count as held (they are committed). */
static bool durable_has(const struct sim_node *n, raft_index i, raft_term t)
{
	const struct sim_store *st = &n->st;
	for (int k = 0; k < SIM_SNAPS_KEPT; k++)
		if (st->snap[k].data && st->snap[k].meta.index >= i)
			return true;
	if (st->sm.applied >= i)
		return true;
	const struct sim_entry *e = slog_get(&st->log, i);
	return e != NULL && e->term == t;
}

static raft_index durable_last(const struct sim_node *n)
{
	raft_index last = slog_last(&n->st.log);
	if (n->st.snap[0].data && n->st.snap[0].meta.index > last)
		last = n->st.snap[0].meta.index;
	return last;
}

void check_hard_state(struct sim *s, struct sim_node *n,
                      const struct raft_hard_state *hs)
{
	const struct raft_hard_state *old = &n->st.hs;
	if (hs->term < old->term) {
		sim_fail(s, "persistent state",
		         "node %llu persists term %llu after term %llu",
		         ULL(n->id), ULL(hs->term), ULL(old->term));
	} else if (hs->term == old->term && old->vote != 0 &&
	           hs->vote != old->vote) {
		sim_fail(s, "Election Safety",
		         "node %llu changes its persisted vote in term %llu "
		         "from %llu to %llu (votes twice)", ULL(n->id),
		         ULL(hs->term), ULL(old->vote), ULL(hs->vote));
	}
}

void check_send(struct sim *s, struct sim_node *n, const struct raft_message *m,
                bool now)
{
	const struct raft_hard_state *hs = &n->st.hs;
	if (now && m->type != RAFT_MSG_APPEND && m->type != RAFT_MSG_SNAPSHOT &&
	    m->type != RAFT_MSG_TIMEOUT_NOW &&
	    m->type != RAFT_MSG_APPEND_RESP) {
		sim_fail(s, "persist before send",
		         "node %llu sends a %s without waiting for its batch "
		         "(only a leader's APPEND, SNAPSHOT, TIMEOUT_NOW and "
		         "an APPEND_RESP of durable entries may)",
		         ULL(n->id), msg_type_name(m->type));
		return;
	}
	if (m->type != RAFT_MSG_PREVOTE && m->type != RAFT_MSG_PREVOTE_RESP &&
	    m->term > hs->term) {
		sim_fail(s, "persist before send",
		         "node %llu sends %s with term %llu while its durable "
		         "term is %llu", ULL(n->id), msg_type_name(m->type),
		         ULL(m->term), ULL(hs->term));
		return;
	}
	switch (m->type) {
	case RAFT_MSG_VOTE:
		if (hs->term == m->term && hs->vote != n->id)
			sim_fail(s, "persist before send",
			         "node %llu campaigns in term %llu without a "
			         "durable vote for itself (durable vote %llu)",
			         ULL(n->id), ULL(m->term), ULL(hs->vote));
		break;
	case RAFT_MSG_VOTE_RESP:
		if (m->vote_resp.granted && hs->term == m->term &&
		    hs->vote != m->to)
			sim_fail(s, "persist before send",
			         "node %llu grants its term %llu vote to %llu "
			         "but its durable vote is %llu", ULL(n->id),
			         ULL(m->term), ULL(m->to), ULL(hs->vote));
		break;
	case RAFT_MSG_APPEND_RESP:
		/* A stale ack (term since moved on) was valid when made; in
		 * the same term the acknowledged prefix must be durable. */
		if (m->append_resp.success && hs->term == m->term &&
		    m->append_resp.index > durable_last(n)) {
			sim_fail(s, "persist before send",
			         "node %llu acknowledges index %llu in term "
			         "%llu but has only %llu durable", ULL(n->id),
			         ULL(m->append_resp.index), ULL(m->term),
			         ULL(durable_last(n)));
			break;
		}
		if (m->append_resp.success) {
			if (m->term > n->ack_term) {
				n->ack_term = m->term;
				n->ack_index = m->append_resp.index;
			} else if (m->term == n->ack_term &&
			           m->append_resp.index > n->ack_index) {
				n->ack_index = m->append_resp.index;
			}
		}
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------- batches */

/* Leader n appends CONFIG entry e of its term: one change at a time
 * ("the leader does not start a new change until the previous one has
 * committed") and, since a new leader may hold an uncommitted change of an
 * earlier leader, not before an entry of its own term has committed. */
static void check_config_append(struct sim *s, struct sim_node *n,
                                const struct raft_entry *e, raft_term term)
{
	struct raft_status st;
	raft_status(n->r, &st);
	const struct vlog *v = &n->view;
	raft_index prev = 0;
	for (raft_index i = e->index - 1; i > v->base; i--) {
		if (vlog_get(v, i)->type == RAFT_ENTRY_CONFIG) {
			prev = i;
			break;
		}
	}
	if (prev > st.commit_index) {
		sim_fail(s, "membership",
		         "leader %llu of term %llu appends configuration %llu "
		         "while configuration %llu is uncommitted (commit "
		         "%llu): one change at a time", ULL(n->id), ULL(term),
		         ULL(e->index), ULL(prev), ULL(st.commit_index));
		return;
	}
	const struct vent *c = vlog_get(v, st.commit_index);
	if (st.commit_index > v->base && (c == NULL || c->term != term)) {
		sim_fail(s, "membership",
		         "leader %llu of term %llu appends configuration %llu "
		         "before any entry of its term committed (commit %llu "
		         "of term %llu)", ULL(n->id), ULL(term), ULL(e->index),
		         ULL(st.commit_index), ULL(c ? c->term : 0));
	}
}

void check_batch_taken(struct sim *s, struct sim_node *n,
                       const struct raft_ready *rd)
{
	raft_term term = raft_current_term(n->r);
	/* Leading since before this batch: its log must only grow. */
	bool leading = raft_role(n->r) == RAFT_LEADER && n->lead_term == term;
	struct vlog *v = &n->view;

	/* What a node acknowledged in its current term is counted by that
	 * term's leader: it may not disappear within the term (a truncation
	 * on a duplicated or reordered APPEND, or an install that drops a
	 * matching log: Figure 13, InstallSnapshot step 6, "If existing log
	 * entry has same index and term as snapshot's last included entry,
	 * retain log entries following it"). */
	bool acked_term = n->ack_term != 0 && n->ack_term == term;
	if (rd->has_install_snapshot && acked_term &&
	    rd->install_snapshot.index < n->ack_index) {
		sim_fail(s, "acknowledged entries kept",
		         "node %llu installs snapshot %llu/%llu and so drops "
		         "entries up to %llu that it acknowledged to the leader "
		         "of term %llu", ULL(n->id),
		         ULL(rd->install_snapshot.index),
		         ULL(rd->install_snapshot.term), ULL(n->ack_index),
		         ULL(term));
		return;
	}
	if (rd->truncate_from != 0 && acked_term &&
	    rd->truncate_from <= n->ack_index &&
	    rd->truncate_from <= vlog_last(v)) {
		sim_fail(s, "acknowledged entries kept",
		         "node %llu truncates its log from %llu though it "
		         "acknowledged up to %llu to the leader of term %llu "
		         "(a duplicated or reordered APPEND must not truncate)",
		         ULL(n->id), ULL(rd->truncate_from), ULL(n->ack_index),
		         ULL(term));
		return;
	}
	if (rd->has_install_snapshot) {
		if (leading) {
			sim_fail(s, "Leader Append-Only",
			         "leader %llu of term %llu installs a snapshot",
			         ULL(n->id), ULL(term));
			return;
		}
		vlog_reset(s, n, rd->install_snapshot.index,
		           rd->install_snapshot.term);
		if (s->failed)
			return;
	}
	if (rd->truncate_from != 0 && rd->truncate_from <= vlog_last(v)) {
		raft_index t = rd->truncate_from;
		if (leading) {
			sim_fail(s, "Leader Append-Only",
			         "leader %llu of term %llu deletes its entries "
			         "from %llu (last %llu)", ULL(n->id), ULL(term),
			         ULL(t), ULL(vlog_last(v)));
			return;
		}
		if (t <= v->base) {
			sim_fail(s, "State Machine Safety",
			         "node %llu truncates from %llu, at or below its "
			         "snapshot/compaction point %llu", ULL(n->id),
			         ULL(t), ULL(v->base));
			return;
		}
		const struct vent *e = vlog_get(v, t);
		if (t <= s->g_n && e->term == s->g[t].term &&
		    e->chash == s->g[t].chash) {
			sim_fail(s, "State Machine Safety",
			         "node %llu truncates committed entry %llu/%llu",
			         ULL(n->id), ULL(t), ULL(e->term));
			return;
		}
		vlog_truncate(v, t);
	}
	for (size_t k = 0; k < rd->n_entries && !s->failed; k++) {
		const struct raft_entry *e = &rd->entries[k];
		if (leading && e->term != term) {
			sim_fail(s, "Leader Append-Only",
			         "leader %llu of term %llu appends entry "
			         "%llu/%llu", ULL(n->id), ULL(term),
			         ULL(e->index), ULL(e->term));
			return;
		}
		/* raft.h: the bootstrap configuration is appended at index 1,
		 * term 1 while the hard state may still say term 0. */
		bool bootstrap = e->index == 1 && e->term == 1 &&
		                 e->type == RAFT_ENTRY_CONFIG;
		if (e->term > term && !bootstrap) {
			sim_fail(s, "log terms", "node %llu in term %llu appends "
			         "entry %llu/%llu from the future", ULL(n->id),
			         ULL(term), ULL(e->index), ULL(e->term));
			return;
		}
		vlog_push(s, n, e);
		if (!s->failed && e->type == RAFT_ENTRY_CONFIG &&
		    e->term == term && e->index > 1 &&
		    raft_role(n->r) == RAFT_LEADER)
			check_config_append(s, n, e, term);
	}
	if (s->failed)
		return;
	if (rd->compact_before != 0) {
		raft_index snap = n->st.snap[0].data ? n->st.snap[0].meta.index
		                                     : 0;
		if (rd->has_install_snapshot &&
		    rd->install_snapshot.index > snap)
			snap = rd->install_snapshot.index;
		if (rd->compact_before - 1 > snap) {
			sim_fail(s, "log compaction",
			         "node %llu deletes its log below %llu but its "
			         "snapshot only covers %llu (entries lost)",
			         ULL(n->id), ULL(rd->compact_before), ULL(snap));
			return;
		}
		vlog_compact(v, rd->compact_before);
	}
}

/* -------------------------------------------------------------- apply */

static void props_resolve(struct sim *s, struct sim_node *n,
                          const struct raft_entry *e, uint64_t ch)
{
	for (size_t k = 0; k < n->n_pend;) {
		struct sim_prop *p = &s->props[n->pend[k]];
		if (p->index != e->index) {
			k++;
			continue;
		}
		if (p->term == e->term) {
			if (p->chash != ch) {
				sim_fail(s, "State Machine Safety",
				         "node %llu proposed a payload as %llu/%llu "
				         "but applies another one there",
				         ULL(n->id), ULL(e->index), ULL(e->term));
				return;
			}
			p->state = SIM_PROP_ACKED;
		} else {
			p->state = SIM_PROP_LOST;
		}
		n->pend[k] = n->pend[--n->n_pend];
	}
}

void props_forget(struct sim *s, struct sim_node *n, raft_index upto)
{
	for (size_t k = 0; k < n->n_pend;) {
		struct sim_prop *p = &s->props[n->pend[k]];
		if (upto != 0 && p->index > upto) {
			k++;
			continue;
		}
		p->state = SIM_PROP_UNKNOWN;
		n->pend[k] = n->pend[--n->n_pend];
	}
}

static void global_push(struct sim *s, const struct raft_entry *e,
                        uint64_t ch, uint64_t smh)
{
	if (s->g_n + 2 > s->g_cap) {
		size_t cap = s->g_cap ? s->g_cap * 2 : 1024;
		struct gent *g = realloc(s->g, cap * sizeof(*g));
		if (g == NULL)
			abort();
		s->g = g;
		s->g_cap = cap;
	}
	s->g_n++;
	s->g[s->g_n] = (struct gent){e->term, e->type, ch, smh,
	                             s->max_leader_term};
	if (e->type == RAFT_ENTRY_CONFIG) {
		struct raft_config c;
		if (raft_config_decode(e->data, e->len, &c) != 0) {
			sim_fail(s, "configuration", "committed CONFIG entry "
			         "%llu does not decode", ULL(e->index));
			return;
		}
		s->committed_config = c;
		s->committed_config_index = e->index;
	}
}

void check_apply(struct sim *s, struct sim_node *n, const struct raft_entry *e)
{
	struct sim_sm *sm = &n->st.sm;
	if (e->index != sm->applied + 1) {
		sim_fail(s, "State Machine Safety",
		         "node %llu applies entry %llu after applied index %llu "
		         "(must be contiguous)", ULL(n->id), ULL(e->index),
		         ULL(sm->applied));
		return;
	}
	uint64_t ch = entry_chash(e->type, e->data, e->len);
	const struct vent *v = vlog_get(&n->view, e->index);
	if (v == NULL || v->term != e->term || v->chash != ch) {
		sim_fail(s, "State Machine Safety",
		         "node %llu applies %llu/%llu, which is not the entry "
		         "in its log (%s %llu)", ULL(n->id), ULL(e->index),
		         ULL(e->term), v ? "log has term" : "log lacks it",
		         ULL(v ? v->term : 0));
		return;
	}
	sm_apply(sm, e);
	if (e->index <= s->g_n) {
		const struct gent *g = &s->g[e->index];
		if (g->term != e->term || g->chash != ch) {
			sim_fail(s, "State Machine Safety",
			         "node %llu applies %llu/%llu but %llu/%llu was "
			         "applied there before", ULL(n->id),
			         ULL(e->index), ULL(e->term), ULL(e->index),
			         ULL(g->term));
			return;
		}
		if (g->sm_hash != sm->hash) {
			sim_fail(s, "State Machine Safety",
			         "node %llu's state machine after %llu differs "
			         "from the one every node reached there",
			         ULL(n->id), ULL(e->index));
			return;
		}
	} else {
		global_push(s, e, ch, sm->hash);
	}
	props_resolve(s, n, e, ch);
}

void check_install(struct sim *s, struct sim_node *n,
                   const struct raft_snapshot_meta *m, const struct sim_sm *sm)
{
	if (m->index < n->st.sm.applied) {
		sim_fail(s, "monotonic applied",
		         "node %llu installs snapshot %llu below its applied "
		         "index %llu", ULL(n->id), ULL(m->index),
		         ULL(n->st.sm.applied));
		return;
	}
	if (m->index > s->g_n) {
		sim_fail(s, "State Machine Safety",
		         "node %llu installs snapshot %llu, beyond every "
		         "applied index (%zu)", ULL(n->id), ULL(m->index),
		         s->g_n);
		return;
	}
	const struct gent *g = &s->g[m->index];
	if (g->term != m->term || g->sm_hash != sm->hash) {
		sim_fail(s, "State Machine Safety",
		         "node %llu installs snapshot %llu/%llu whose state "
		         "differs from the committed prefix (%llu/%llu)",
		         ULL(n->id), ULL(m->index), ULL(m->term), ULL(m->index),
		         ULL(g->term));
	}
}

/* ---------------------------------------------------------------- reads */

void check_read_result(struct sim *s, struct sim_node *n,
                       const struct raft_read_result *rr)
{
	struct sim_read *r = NULL;
	for (size_t k = s->n_reads; k-- > 0;) {
		if (s->reads[k].ctx == rr->ctx && s->reads[k].node == n->id) {
			r = &s->reads[k];
			break;
		}
	}
	if (r == NULL || r->incarnation != n->incarnation) {
		sim_fail(s, "read results", "node %llu answers read ctx %llu "
		         "that it was not asked", ULL(n->id), ULL(rr->ctx));
		return;
	}
	if (r->done) {
		sim_fail(s, "read results", "node %llu answers read ctx %llu "
		         "twice", ULL(n->id), ULL(rr->ctx));
		return;
	}
	r->done = true;
	r->index = rr->index;
	r->rv = rr->rv;
	trace_add(s, TEV_READ_DONE, n->id, 0, NULL, rr->ctx, rr->index,
	          (uint64_t)rr->rv, 0, 0);
	if (rr->rv != 0 && rr->rv != RAFT_ELEADERSHIPLOST) {
		sim_fail(s, "read results", "node %llu answers read ctx %llu "
		         "with rv %d", ULL(n->id), ULL(rr->ctx), rr->rv);
		return;
	}
	if (rr->rv == 0 && rr->index < r->bound) {
		sim_fail(s, "Read safety",
		         "node %llu answers ReadIndex ctx %llu (asked at tick "
		         "%llu) with index %llu, below commit index %llu known "
		         "when it was asked: a stale read", ULL(n->id),
		         ULL(rr->ctx), ULL(r->tick), ULL(rr->index),
		         ULL(r->bound));
	}
}

raft_index check_global_commit(struct sim *s)
{
	return s->max_commit > s->g_n ? s->max_commit : (raft_index)s->g_n;
}

/* -------------------------------------------------------- observation */

/* Leader n has advanced its commit index from `from` to `to`: each newly
 * committed entry must be durable on a majority of its voters. */
static void check_commit_durable(struct sim *s, struct sim_node *n,
                                 const struct raft_status *st,
                                 raft_index from, raft_index to)
{
	unsigned voters = 0;
	for (unsigned k = 0; k < st->n_peers; k++)
		if (st->peers[k].role_in_config == RAFT_VOTER)
			voters++;
	for (raft_index i = from + 1; i <= to && !s->failed; i++) {
		/* The leader may commit entries it has not handed out in a
		 * batch yet (its own write is still pending; Section
		 * 10.2.1): their term comes from its in-memory log. */
		const struct vent *v = vlog_get(&n->view, i);
		raft_term term = v ? v->term : raft_term_at(n->r, i);
		if (term == 0)
			continue; /* below the leader's snapshot */
		unsigned have = 0;
		for (unsigned k = 0; k < st->n_peers; k++) {
			const struct raft_peer_status *p = &st->peers[k];
			if (p->role_in_config != RAFT_VOTER ||
			    p->id > SIM_MAX_NODES)
				continue;
			if (durable_has(&s->nodes[p->id], i, term))
				have++;
		}
		if (have < voters / 2 + 1) {
			sim_fail(s, "commit durability",
			         "leader %llu of term %llu commits %llu/%llu but "
			         "only %u of %u voters have it durable",
			         ULL(n->id), ULL(st->term), ULL(i), ULL(term),
			         have, voters);
		}
	}
}

static void check_leader_completeness(struct sim *s, struct sim_node *n,
                                      raft_term term)
{
	while (n->lc_checked < s->g_n && !s->failed) {
		raft_index i = n->lc_checked + 1;
		const struct gent *g = &s->g[i];
		if (g->est <= term && i > vlog_last(&n->view) &&
		    raft_term_at(n->r, i) == g->term) {
			/* not handed out in a batch yet (the leader's own
			 * write pending): the term says it is the same
			 * entry (Log Matching checks the content once it
			 * is handed out) */
		} else if (g->est <= term && i > n->view.base) {
			const struct vent *v = vlog_get(&n->view, i);
			if (v == NULL || v->term != g->term ||
			    v->chash != g->chash) {
				sim_fail(s, "Leader Completeness",
				         "leader %llu of term %llu lacks committed "
				         "entry %llu/%llu (committed by term %llu "
				         "at the latest; its log has %s %llu)",
				         ULL(n->id), ULL(term), ULL(i),
				         ULL(g->term), ULL(g->est),
				         v ? "term" : "last index",
				         ULL(v ? v->term : vlog_last(&n->view)));
				return;
			}
		}
		n->lc_checked = i;
	}
}

static void leader_of_set(struct sim *s, raft_term term, raft_id id)
{
	if (term >= s->leader_of_cap) {
		size_t cap = s->leader_of_cap ? s->leader_of_cap : 256;
		while (cap <= term)
			cap *= 2;
		raft_term *v = realloc(s->leader_of, cap * sizeof(*v));
		if (v == NULL)
			abort();
		memset(v + s->leader_of_cap, 0,
		       (cap - s->leader_of_cap) * sizeof(*v));
		s->leader_of = v;
		s->leader_of_cap = cap;
	}
	if (s->leader_of[term] != 0 && s->leader_of[term] != id) {
		sim_fail(s, "Election Safety",
		         "nodes %llu and %llu are both leader in term %llu",
		         ULL(s->leader_of[term]), ULL(id), ULL(term));
		return;
	}
	if (s->leader_of[term] == 0)
		s->leaders_elected++;
	s->leader_of[term] = id;
	if (term > s->max_leader_term)
		s->max_leader_term = term;
}

void check_observe(struct sim *s, struct sim_node *n)
{
	if (s->failed || !n->up)
		return;
	struct raft_status st;
	raft_status(n->r, &st);
	if (st.id != n->id) {
		sim_fail(s, "status", "node %llu reports id %llu", ULL(n->id),
		         ULL(st.id));
		return;
	}
	if (st.role != n->role || st.term != n->term)
		trace_add(s, TEV_ROLE, n->id, 0, NULL, (uint64_t)st.role,
		          st.term, st.leader, st.commit_index, 0);
	if (st.term < n->term) {
		sim_fail(s, "monotonic term", "node %llu's term went from %llu "
		         "back to %llu", ULL(n->id), ULL(n->term), ULL(st.term));
		return;
	}
	if (st.commit_index < n->commit_seen) {
		sim_fail(s, "monotonic commit",
		         "node %llu's commit index went from %llu back to %llu",
		         ULL(n->id), ULL(n->commit_seen), ULL(st.commit_index));
		return;
	}
	if (st.applied_index < n->applied_seen) {
		sim_fail(s, "monotonic applied",
		         "node %llu's applied index went from %llu back to %llu",
		         ULL(n->id), ULL(n->applied_seen), ULL(st.applied_index));
		return;
	}
	if (st.applied_index > st.commit_index) {
		sim_fail(s, "applied <= commit",
		         "node %llu has applied %llu beyond its commit index "
		         "%llu", ULL(n->id), ULL(st.applied_index),
		         ULL(st.commit_index));
		return;
	}
	if (st.commit_index > st.last_index) {
		sim_fail(s, "commit <= last",
		         "node %llu has commit index %llu beyond its last log "
		         "index %llu", ULL(n->id), ULL(st.commit_index),
		         ULL(st.last_index));
		return;
	}
	if (st.role == RAFT_LEADER) {
		leader_of_set(s, st.term, n->id);
		if (s->failed)
			return;
		if (n->lead_term != st.term) {
			n->lead_term = st.term;
			n->lc_checked = n->view.base;
		} else if (st.commit_index > n->commit_seen) {
			/* Figure 2, leaders: commitIndex = N only if
			 * log[N].term == currentTerm (Section 5.4.2: never
			 * commit an earlier term's entry by counting). */
			const struct vent *c = vlog_get(&n->view,
			                                st.commit_index);
			if (c != NULL && c->term != st.term) {
				sim_fail(s, "commitment rule",
				         "leader %llu of term %llu moves its "
				         "commit index to %llu, an entry of term "
				         "%llu (Figure 8)", ULL(n->id),
				         ULL(st.term), ULL(st.commit_index),
				         ULL(c->term));
				return;
			}
			check_commit_durable(s, n, &st, n->commit_seen,
			                     st.commit_index);
		}
		check_leader_completeness(s, n, st.term);
	}
	n->role = st.role;
	n->term = st.term;
	n->commit_seen = st.commit_index;
	n->applied_seen = st.applied_index;
	if (st.commit_index > s->max_commit)
		s->max_commit = st.commit_index;
}

void check_all(struct sim *s)
{
	for (raft_id id = 1; id <= s->max_id && !s->failed; id++)
		if (s->nodes[id].up)
			check_observe(s, &s->nodes[id]);
}

/*
 * node.c -- drives the Raft core over PostgreSQL and the network (see
 * node.h for the picture).
 *
 * The ready loop
 * --------------
 * node_kick() schedules node_process() once per loop iteration, so that all
 * the messages and proposals that arrived in one iteration go into one
 * batch (one PostgreSQL transaction, one fsync). node_process() first
 * sends what needs no persistence (raft_flush_now: a leader's APPENDs and
 * heartbeats, a follower's answers that acknowledge only durable entries),
 * also while a batch is being persisted, so that a slow fsync delays
 * neither heartbeats nor replication (no elections because PostgreSQL is
 * busy). Then it takes a batch when none is outstanding:
 *
 *   1. messages_now go out at once (a SNAPSHOT message first gets its bytes
 *      from the reader thread);
 *   2. the batch goes to the writer thread: pgs_persist() makes it durable
 *      and applies its committed entries in one transaction;
 *   3. back on the loop (persist_done): messages go out, apply results
 *      finish the proposals waiting for them, ReadIndex answers move reads
 *      along, raft_advance(), and the next batch.
 *
 * A persist failure is fatal: the node stops (its database is unchanged,
 * the transaction rolled back) and recovers from the database on restart.
 *
 * Calls waiting for Raft are finished when their entry is applied (the
 * term must match the one the entry was proposed in: otherwise another
 * leader overwrote it), when this node stops leading (UNAVAILABLE: the
 * client retries with the same sequence number, so a write that did commit
 * is answered from the dedup record), or at their deadline.
 */
#include "node.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "httpstatus.h"
#include "log.h"
#include "node_internal.h"
#include "svc_machine.h"
#include "transport.h"
#include "util.h"
#include "worker.h"

#define NODE_TRANSFER_TIMEOUT_MS 5000

struct node {
	struct event_base *base;
	const struct lms_config *cfg;
	const struct lms_node_config *self;
	uint64_t id;
	int fatal;

	struct raft *raft;
	struct rnet *net;
	struct pgs *wpgs, *rpgs;         /* writer / reader handles */
	struct worker *writer, *reader;
	struct worker *cpu;              /* scrypt, checksums, PDF text */
	struct svc_machine machine;      /* the replicated state machine */
	bool stopping;
	struct rpc_server *rpc;
	struct forwarder *fwd;
	struct lms_http *http;
	struct event *tick_ev;
	struct event *process_ev;
	unsigned tick_ms;

	/* the outstanding batch */
	bool persisting;
	struct raft_ready rd;
	struct persist_job *pj;

	raft_index applied;       /* durable in the database */
	raft_index snapshot_index;
	bool snapshotting;
	raft_index config_index;  /* config the transport was synced to */
	bool config_committed;    /* ... and whether it was committed then */

	/* observed state, for change detection */
	int role;
	raft_id leader;
	unsigned ticks;

	/* wait lists */
	struct call *proposals, *proposals_tail; /* by index */
	struct call *reads;                      /* any order */
	struct call *transfers;
	uint64_t next_read_ctx;

	/* metrics */
	struct lms_metrics *metrics;
	struct lms_metric *m_elections, *m_term, *m_commit, *m_applied,
		*m_persist_lat, *m_append_lat, *m_apply_lat, *m_commit_lat,
		*m_apply_entries, *m_batch_entries,
		*m_snapshots, *m_requests, *m_leader_changes, *m_bytes_sent,
		*m_bytes_recv, *m_msgs_dropped, *m_role;
};

struct persist_job {
	struct node *n;
	const struct raft_ready *rd;
	struct pgs_apply_result *results;
	int rv;
	char err[512];
	uint64_t started_ms, finished_ms;
	struct pgs_timing timing;
};

static void node_kick(struct node *n);
static void node_observe(struct node *n);
static void node_send_one(struct node *n, const struct raft_message *m);

uint64_t node_id_of(const struct node *n) { return n->id; }
bool node_is_leader(const struct node *n)
{
	return raft_role(n->raft) == RAFT_LEADER;
}
const struct svc_limits *node_limits(const struct node *n)
{
	return &n->machine.limits;
}
const struct lms_auth_config *node_auth(const struct node *n)
{
	return &n->cfg->auth;
}
raft_index node_applied(const struct node *n) { return n->applied; }
size_t node_max_frame(const struct node *n)
{
	return n->cfg->limits.max_frame_bytes;
}
size_t node_max_text(const struct node *n)
{
	return n->cfg->limits.max_text_bytes;
}
void node_count_request(struct node *n) { lms_metric_inc(n->m_requests, 1); }
int node_fatal(const struct node *n) { return n->fatal; }

static void node_set_fatal(struct node *n, const char *why)
{
	if (n->fatal)
		return;
	LMS_ERROR("stopping: %s", why);
	n->fatal = 1;
	event_base_loopbreak(n->base);
}

/* ------------------------------------------------------- addresses */

/* "peer|client" -> its two halves; a bare "host:port" has no client half. */
static void node_split_address(const char *addr, char *peer, size_t plen,
                               char *client, size_t clen)
{
	const char *bar = strchr(addr, '|');
	if (!bar) {
		snprintf(peer, plen, "%s", addr);
		if (clen)
			client[0] = '\0';
		return;
	}
	snprintf(peer, plen, "%.*s", (int)(bar - addr), addr);
	snprintf(client, clen, "%s", bar + 1);
}

static void node_client_address_of(struct node *n, raft_id id, char *out,
                                   size_t len)
{
	struct raft_status st;
	out[0] = '\0';
	raft_status(n->raft, &st);
	for (unsigned i = 0; i < st.n_peers; i++) {
		if (st.peers[i].id == id) {
			char peer[RAFT_ADDRESS_MAX];
			node_split_address(st.peers[i].address, peer,
			                   sizeof peer, out, len);
			return;
		}
	}
}

/* Points the transport at every other server of the current config.
 *
 * Servers leave the transport only once the configuration without them
 * is committed. A configuration is in effect as soon as it is appended,
 * but until it commits the servers it removes still take part: a leader
 * that removes itself needs its followers' acknowledgements to commit
 * the entry (Section 4.2.2), and they used to drop the leader from the
 * transport at once, so their answers were lost, the leader never
 * committed, stepped down by check-quorum and answered the `member
 * remove` UNAVAILABLE.
 *
 * A node outside the configuration (a joiner before the entry that adds
 * it reaches it, or a removed node) has no authoritative peer list: it
 * keeps the peers it has, including those node_send_one() learned from
 * the config file, instead of dropping them on every tick. */
static void node_sync_peers(struct node *n)
{
	struct raft_status st;
	raft_status(n->raft, &st);
	if (st.config_index == n->config_index &&
	    st.config_committed == n->config_committed &&
	    n->config_index != 0)
		return;
	n->config_index = st.config_index;
	n->config_committed = st.config_committed;
	bool self_in_config = false;
	for (unsigned j = 0; j < st.n_peers; j++)
		self_in_config |= st.peers[j].id == n->id;
	bool prune = self_in_config && st.config_committed;
	struct rnet_stats ns;
	rnet_stats(n->net, &ns);
	for (unsigned i = 0; i < ns.n_peers && prune; i++) {
		bool keep = false;
		for (unsigned j = 0; j < st.n_peers; j++)
			keep |= st.peers[j].id == ns.peers[i].id;
		if (!keep) {
			LMS_INFO("peer %llu left the configuration",
			         (unsigned long long)ns.peers[i].id);
			rnet_remove_peer(n->net, ns.peers[i].id);
		}
	}
	for (unsigned j = 0; j < st.n_peers; j++) {
		if (st.peers[j].id == n->id)
			continue;
		char peer[RAFT_ADDRESS_MAX], client[RAFT_ADDRESS_MAX];
		node_split_address(st.peers[j].address, peer, sizeof peer,
		                   client, sizeof client);
		if (rnet_set_peer(n->net, st.peers[j].id, peer) != 0)
			LMS_WARN("could not use address \"%s\" of peer %llu",
			         peer, (unsigned long long)st.peers[j].id);
	}
}

/* ------------------------------------------------------ wait lists */

static void node_list_remove(struct call **head, struct call *c)
{
	for (struct call **p = head; *p; p = &(*p)->wait_next) {
		if (*p == c) {
			*p = c->wait_next;
			c->wait_next = NULL;
			return;
		}
	}
}

static void node_proposals_push(struct node *n, struct call *c)
{
	c->wait_next = NULL;
	if (n->proposals_tail)
		n->proposals_tail->wait_next = c;
	else
		n->proposals = c;
	n->proposals_tail = c;
}

void node_not_leader(struct call *c)
{
	struct node *n = c->node;
	raft_id leader = raft_leader(n->raft);
	c->resp.leader_id = leader;
	char addr[RAFT_ADDRESS_MAX] = "";
	if (leader && leader != n->id)
		node_client_address_of(n, leader, addr, sizeof addr);
	/* relay to the leader once; a relayed request is never relayed
	 * again (forward.c) */
	if (addr[0] && !c->req->forwarded && n->fwd &&
	    forwarder_send(n->fwd, c, leader, addr) == 0)
		return;
	if (addr[0])
		c->resp.leader_address = strdup(addr);
	call_finish(c, LMS__RPC__STATUS__NOT_LEADER,
	            leader ? "node %llu is not the leader; node %llu is"
	                   : "node %llu is not the leader; no leader is "
	                     "known yet%.0llu",
	            (unsigned long long)n->id, (unsigned long long)leader);
}

/* Fails every proposal and pending ReadIndex: this node stopped leading.
 *
 * Proposals already known committed are kept: this node applies them like
 * any follower and node_apply_result() answers them with their result.
 * This matters when a leader removes itself: it steps down as soon as the
 * configuration entry commits, before applying it, and answering the
 * `member remove` UNAVAILABLE made the client retry on the new leader,
 * which answered NOT_FOUND for a removal that had succeeded. The list is
 * in index order, so the committed ones are a prefix. */
static void node_fail_leader_waits(struct node *n)
{
	struct raft_status st;
	raft_status(n->raft, &st);
	struct call *keep = NULL, *keep_tail = NULL;
	while (n->proposals && n->proposals->index <= st.commit_index) {
		struct call *c = n->proposals;
		n->proposals = c->wait_next;
		c->wait_next = NULL;
		if (keep_tail)
			keep_tail->wait_next = c;
		else
			keep = c;
		keep_tail = c;
	}
	while (n->proposals) {
		struct call *c = n->proposals;
		n->proposals = c->wait_next;
		c->wait = CALL_NONE;
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
		            "leadership lost before the write was applied; "
		            "retry (it will not be applied twice)");
	}
	n->proposals = keep;
	n->proposals_tail = keep_tail;
	for (struct call **p = &n->reads; *p;) {
		struct call *c = *p;
		if (c->wait == CALL_READ_INDEX) {
			*p = c->wait_next;
			c->wait = CALL_NONE;
			call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
			            "leadership lost before the read was "
			            "confirmed; retry");
		} else {
			p = &c->wait_next;
		}
	}
}

/* ------------------------------------------------------------ reads */

struct read_job {
	struct call *c;
};

static void node_read_run(void *job, void *ctx)
{
	struct read_job *j = job;
	j->c->on_read(j->c, ctx);
}

static void node_read_done(void *job, bool cancelled)
{
	struct read_job *j = job;
	struct call *c = j->c;
	free(j);
	c->wait = CALL_NONE;
	if (cancelled) {
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
		            "node is shutting down");
		return;
	}
	if (c->on_read_done && !c->done) {
		void (*cont)(struct call *) = c->on_read_done;
		c->on_read_done = NULL;
		if (!c->conn) { /* the client is gone */
			call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
			            "client gone");
			return;
		}
		cont(c);
		return;
	}
	if (!c->done)
		call_finish(c, c->resp.status, "%s", c->message);
}

/* ------------------------------------------------------------- CPU */

#define NODE_CPU_QUEUE_MAX 64

struct cpu_job {
	struct call *c;
	void (*run)(struct call *c);
	void (*done)(struct call *c);
};

static void node_cpu_run(void *job, void *ctx)
{
	(void)ctx;
	struct cpu_job *j = job;
	j->run(j->c);
}

static void node_cpu_done(void *job, bool cancelled)
{
	struct cpu_job *j = job;
	struct call *c = j->c;
	void (*done)(struct call *) = j->done;
	free(j);
	c->wait = CALL_NONE;
	if (cancelled || c->node->stopping) {
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
		            "node is shutting down");
		return;
	}
	if (!c->conn) { /* the client is gone: nothing to propose for it */
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE, "client gone");
		return;
	}
	done(c);
}

void node_cpu(struct call *c, void (*run)(struct call *c),
              void (*done)(struct call *c))
{
	struct node *n = c->node;
	struct cpu_job *j = malloc(sizeof *j);
	if (!j) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return;
	}
	j->c = c;
	j->run = run;
	j->done = done;
	/* bounded: a flood of hashing or uploads must not queue minutes of
	 * work ahead of everyone else's */
	if (worker_pending(n->cpu) >= NODE_CPU_QUEUE_MAX) {
		free(j);
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
		            "node busy (%d requests waiting for the CPU); retry",
		            NODE_CPU_QUEUE_MAX);
		return;
	}
	c->wait = CALL_CPU;
	if (n->stopping ||
	    worker_submit(n->cpu, j, node_cpu_run, node_cpu_done) != 0) {
		free(j);
		c->wait = CALL_NONE;
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
		            "node is shutting down");
	}
}

static void node_read_submit(struct node *n, struct call *c)
{
	struct read_job *j = malloc(sizeof *j);
	if (!j) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return;
	}
	j->c = c;
	c->wait = CALL_READ_RUN;
	c->resp.applied_index = n->applied;
	if (worker_submit(n->reader, j, node_read_run, node_read_done) != 0) {
		free(j);
		c->wait = CALL_NONE;
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
		            "node is shutting down");
	}
}

void node_read(struct call *c, call_read_fn on_read)
{
	struct node *n = c->node;
	c->on_read = on_read;
	if (c->req->consistency == LMS__RPC__CONSISTENCY__STALE) {
		node_read_submit(n, c);
		return;
	}
	if (raft_role(n->raft) != RAFT_LEADER) {
		node_not_leader(c);
		return;
	}
	c->read_ctx = ++n->next_read_ctx;
	int rv = raft_read_index(n->raft, c->read_ctx);
	if (rv != 0) {
		if (rv == RAFT_ENOTLEADER)
			node_not_leader(c);
		else
			call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
			            "could not start read: %s",
			            raft_strerror(rv));
		return;
	}
	c->wait = CALL_READ_INDEX;
	c->wait_next = n->reads;
	n->reads = c;
	node_kick(n);
}

/* Moves reads whose index is now applied to the reader thread. */
static void node_release_reads(struct node *n)
{
	for (struct call **p = &n->reads; *p;) {
		struct call *c = *p;
		if (c->wait == CALL_READ_APPLY && c->read_index <= n->applied) {
			*p = c->wait_next;
			c->wait_next = NULL;
			node_read_submit(n, c);
		} else {
			p = &c->wait_next;
		}
	}
}

static void node_read_answered(struct node *n,
                               const struct raft_read_result *r)
{
	for (struct call *c = n->reads; c; c = c->wait_next) {
		if (c->wait != CALL_READ_INDEX || c->read_ctx != r->ctx)
			continue;
		if (r->rv != 0) {
			node_list_remove(&n->reads, c);
			c->wait = CALL_NONE;
			call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
			            "read not confirmed: %s; retry",
			            raft_strerror(r->rv));
			return;
		}
		c->read_index = r->index;
		c->wait = CALL_READ_APPLY;
		return;
	}
}

/* -------------------------------------------------------- proposals */

void node_propose(struct call *c, const void *payload, size_t len,
                  call_result_fn on_result)
{
	struct node *n = c->node;
	if (raft_role(n->raft) != RAFT_LEADER) {
		node_not_leader(c);
		return;
	}
	uint64_t client_id = c->req->client_id;
	uint64_t seq = c->req->seq;
	if (client_id != 0 && seq == 0) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "a write needs a sequence number (seq >= 1)");
		return;
	}
	struct pgs_buf buf = PGS_BUF_INIT;
	if (pgs_envelope_encode(&buf, client_id, seq, payload, len) != 0) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return;
	}
	int rv = raft_propose(n->raft, buf.data, buf.len, &c->index, &c->term);
	pgs_buf_free(&buf);
	switch (rv) {
	case 0:
		break;
	case RAFT_ENOTLEADER:
		node_not_leader(c);
		return;
	case RAFT_ETOOBIG:
		call_finish(c, LMS__RPC__STATUS__TOO_LARGE,
		            "command of %zu bytes is larger than a Raft message "
		            "may be", len);
		return;
	case RAFT_EBUSY:
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
		            "leadership transfer in progress; retry");
		return;
	default:
		call_finish(c, LMS__RPC__STATUS__INTERNAL,
		            "could not propose: %s", raft_strerror(rv));
		return;
	}
	c->on_result = on_result;
	c->wait = CALL_PROPOSAL;
	node_proposals_push(n, c);
	node_kick(n);
}

/* Finishes the proposals up to res->index with the apply results. */
static void node_apply_result(struct node *n,
                              const struct pgs_apply_result *res)
{
	while (n->proposals && n->proposals->index <= res->index) {
		struct call *c = n->proposals;
		n->proposals = c->wait_next;
		if (!n->proposals)
			n->proposals_tail = NULL;
		c->wait_next = NULL;
		enum call_wait w = c->wait;
		c->wait = CALL_NONE;
		if (c->index < res->index || c->term != res->term) {
			/* its entry was overwritten by another leader's */
			call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
			            "the write was lost in a leader change; "
			            "retry (it will not be applied twice)");
			continue;
		}
		c->resp.applied_index = res->index;
		if (w == CALL_CONFIG) {
			Lms__Rpc__MemberResponse *m = malloc(sizeof *m);
			if (!m) {
				call_finish(c, LMS__RPC__STATUS__INTERNAL,
				            "out of memory");
				continue;
			}
			lms__rpc__member_response__init(m);
			m->index = res->index;
			c->resp.result_case = LMS__RPC__RESPONSE__RESULT_MEMBER;
			c->resp.member = m;
			c->result = &m->base;
			call_finish(c, LMS__RPC__STATUS__OK,
			            "configuration change applied");
			continue;
		}
		switch (res->status) {
		case PGS_APPLIED:
		case PGS_DUPLICATE:
			/* on_result finishes the call, and call_finish frees it
			 * when its answer can be written at once: c must not be
			 * touched afterwards (reading c->done here was a
			 * use-after-free, caught by the cluster tests under
			 * AddressSanitizer) */
			c->on_result(c, res);
			break;
		case PGS_STALE:
			call_finish(c, LMS__RPC__STATUS__FAILED_PRECONDITION,
			            "sequence number %llu is older than this "
			            "client's last write",
			            (unsigned long long)res->seq);
			break;
		default:
			call_finish(c, LMS__RPC__STATUS__INTERNAL,
			            "entry %llu could not be applied",
			            (unsigned long long)res->index);
			break;
		}
	}
}

/* ------------------------------------------------------- membership */

static void node_config_wait(struct call *c, int rv, raft_index index)
{
	struct node *n = c->node;
	switch (rv) {
	case 0:
		c->index = index;
		c->term = raft_current_term(n->raft);
		c->wait = CALL_CONFIG;
		node_proposals_push(n, c);
		node_kick(n);
		return;
	case RAFT_ENOTLEADER:
		node_not_leader(c);
		return;
	case RAFT_EBUSY:
		call_finish(c, LMS__RPC__STATUS__FAILED_PRECONDITION,
		            "another configuration change is not committed "
		            "yet; retry when it is");
		return;
	case RAFT_EEXISTS:
		call_finish(c, LMS__RPC__STATUS__CONFLICT,
		            "server is already a member");
		return;
	case RAFT_ENOTFOUND:
		call_finish(c, LMS__RPC__STATUS__NOT_FOUND,
		            "no such server in the configuration");
		return;
	case RAFT_ECATCHUP:
		call_finish(c, LMS__RPC__STATUS__FAILED_PRECONDITION,
		            "server has not caught up with the log yet; retry "
		            "later");
		return;
	default:
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT, "%s",
		            raft_strerror(rv));
		return;
	}
}

void node_member_add(struct call *c)
{
	const Lms__Rpc__MemberAddRequest *m = c->req->member_add;
	char addr[RAFT_ADDRESS_MAX];
	if (m->id == 0 || !m->peer_address || !*m->peer_address ||
	    !m->client_address || !*m->client_address ||
	    strchr(m->peer_address, '|') || strchr(m->client_address, '|')) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "member add needs an id, a peer address and a "
		            "client address (host:port)");
		return;
	}
	int len = snprintf(addr, sizeof addr, "%s|%s", m->peer_address,
	                   m->client_address);
	if (len < 0 || (size_t)len >= sizeof addr) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "addresses too long (at most %d bytes together)",
		            RAFT_ADDRESS_MAX - 2);
		return;
	}
	raft_index index = 0;
	int rv = raft_add_server(c->node->raft, m->id, addr, &index);
	node_config_wait(c, rv, index);
}

void node_member_promote(struct call *c)
{
	raft_index index = 0;
	int rv = raft_promote(c->node->raft, c->req->member_promote->id,
	                      &index);
	node_config_wait(c, rv, index);
}

void node_member_remove(struct call *c)
{
	raft_index index = 0;
	int rv = raft_remove_server(c->node->raft, c->req->member_remove->id,
	                            &index);
	node_config_wait(c, rv, index);
}

void node_transfer(struct call *c)
{
	struct node *n = c->node;
	raft_id target = c->req->transfer_leader->target;
	int rv = raft_transfer_leadership(n->raft, target);
	if (rv == RAFT_ENOTLEADER) {
		node_not_leader(c);
		return;
	}
	if (rv != 0) {
		call_finish(c, rv == RAFT_ENOTFOUND
		                       ? LMS__RPC__STATUS__NOT_FOUND
		                       : LMS__RPC__STATUS__FAILED_PRECONDITION,
		            "could not transfer leadership: %s",
		            raft_strerror(rv));
		return;
	}
	c->transfer_target = target;
	c->wait = CALL_TRANSFER;
	c->deadline_ms = lms_now_ms() + NODE_TRANSFER_TIMEOUT_MS;
	c->wait_next = n->transfers;
	n->transfers = c;
	node_kick(n);
}

static void node_transfers_check(struct node *n, bool expire)
{
	raft_id leader = raft_leader(n->raft);
	uint64_t now = lms_now_ms();
	for (struct call **p = &n->transfers; *p;) {
		struct call *c = *p;
		bool moved = leader != 0 && leader != n->id;
		if (!moved && !(expire && now >= c->deadline_ms)) {
			p = &c->wait_next;
			continue;
		}
		*p = c->wait_next;
		c->wait = CALL_NONE;
		if (!moved) {
			call_finish(c, LMS__RPC__STATUS__DEADLINE_EXCEEDED,
			            "leadership did not move within %d ms",
			            NODE_TRANSFER_TIMEOUT_MS);
			continue;
		}
		Lms__Rpc__TransferLeaderResponse *t = malloc(sizeof *t);
		if (!t) {
			call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
			continue;
		}
		lms__rpc__transfer_leader_response__init(t);
		t->new_leader = leader;
		c->resp.result_case = LMS__RPC__RESPONSE__RESULT_TRANSFER_LEADER;
		c->resp.transfer_leader = t;
		c->result = &t->base;
		call_finish(c, LMS__RPC__STATUS__OK, "node %llu leads",
		            (unsigned long long)leader);
	}
}

/* ----------------------------------------------------------- status */

static const char *node_progress_name(int p)
{
	switch (p) {
	case RAFT_PROGRESS_PROBE: return "probe";
	case RAFT_PROGRESS_REPLICATE: return "replicate";
	case RAFT_PROGRESS_SNAPSHOT: return "snapshot";
	}
	return "";
}

void node_status(struct call *c)
{
	struct node *n = c->node;
	struct raft_status st;
	raft_status(n->raft, &st);
	Lms__Rpc__StatusResponse *s = calloc(1, sizeof *s);
	if (!s) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return;
	}
	lms__rpc__status_response__init(s);
	/* Everything below is malloc'd piece by piece: call_free releases
	 * it with protobuf_c_message_free_unpacked (default allocator). */
	c->resp.result_case = LMS__RPC__RESPONSE__RESULT_STATUS_INFO;
	c->resp.status_info = s;
	c->result = &s->base;
	s->node_id = n->id;
	s->role = strdup(raft_role_name(st.role));
	s->term = st.term;
	s->leader_id = st.leader;
	s->commit_index = st.commit_index;
	s->applied_index = n->applied;
	s->last_index = st.last_index;
	s->snapshot_index = st.snapshot_index;
	char self_addr[96];
	snprintf(self_addr, sizeof self_addr, "%s:%u", n->self->host,
	         n->self->client_port);
	s->client_address = strdup(self_addr);
	s->peers = calloc(st.n_peers + 1, sizeof *s->peers);
	if (!s->role || !s->client_address || !s->peers) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return;
	}
	for (unsigned i = 0; i < st.n_peers; i++) {
		Lms__Rpc__PeerStatus *p = calloc(1, sizeof *p);
		if (!p) {
			call_finish(c, LMS__RPC__STATUS__INTERNAL,
			            "out of memory");
			return;
		}
		lms__rpc__peer_status__init(p);
		s->peers[s->n_peers++] = p;
		p->id = st.peers[i].id;
		p->voter = st.peers[i].role_in_config == RAFT_VOTER;
		p->address = strdup(st.peers[i].address);
		p->match_index = st.peers[i].match_index;
		p->next_index = st.peers[i].next_index;
		p->progress = strdup(node_progress_name(st.peers[i].progress));
		p->last_contact_ms =
			st.peers[i].ticks_since_contact * n->tick_ms;
		if (!p->address || !p->progress) {
			call_finish(c, LMS__RPC__STATUS__INTERNAL,
			            "out of memory");
			return;
		}
	}
	call_finish(c, LMS__RPC__STATUS__OK, "%s", "");
}

/* Runs on the reader thread. */
static void node_checksum_run(struct call *c, struct pgs *reader)
{
	char sum[65];
	raft_index applied = 0;
	if (pgs_state_checksum(reader, sum, &applied) != 0) {
		c->resp.status = LMS__RPC__STATUS__UNAVAILABLE;
		snprintf(c->message, sizeof c->message,
		         "could not compute the checksum: %s",
		         pgs_errmsg(reader));
		return;
	}
	Lms__Rpc__ChecksumResponse *r = malloc(sizeof *r);
	char *copy = strdup(sum);
	if (!r || !copy) {
		free(r);
		free(copy);
		c->resp.status = LMS__RPC__STATUS__INTERNAL;
		snprintf(c->message, sizeof c->message, "out of memory");
		return;
	}
	lms__rpc__checksum_response__init(r);
	r->checksum = copy;
	r->applied_index = applied;
	c->resp.result_case = LMS__RPC__RESPONSE__RESULT_CHECKSUM;
	c->resp.checksum = r;
	c->result = &r->base;
	c->resp.applied_index = applied;
	c->resp.status = LMS__RPC__STATUS__OK;
}

void node_checksum(struct call *c)
{
	/* this node's own state, whatever its role */
	c->req->consistency = LMS__RPC__CONSISTENCY__STALE;
	node_read(c, node_checksum_run);
}

static json_t *node_status_json(struct node *n)
{
	struct raft_status st;
	raft_status(n->raft, &st);
	json_t *peers = json_array();
	for (unsigned i = 0; i < st.n_peers; i++) {
		const struct raft_peer_status *p = &st.peers[i];
		json_array_append_new(peers, json_pack(
			"{s:I,s:b,s:s,s:I,s:I,s:s,s:I}", "id", (json_int_t)p->id,
			"voter", p->role_in_config == RAFT_VOTER, "address",
			p->address, "match_index", (json_int_t)p->match_index,
			"next_index", (json_int_t)p->next_index, "progress",
			node_progress_name(p->progress), "last_contact_ms",
			(json_int_t)(p->ticks_since_contact * n->tick_ms)));
	}
	return json_pack(
		"{s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "node",
		(json_int_t)n->id, "role", raft_role_name(st.role), "term",
		(json_int_t)st.term, "leader", (json_int_t)st.leader, "commit",
		(json_int_t)st.commit_index, "applied", (json_int_t)n->applied,
		"first_index", (json_int_t)st.first_index, "last_index",
		(json_int_t)st.last_index, "log_entries",
		(json_int_t)(st.last_index >= st.first_index
		                     ? st.last_index - st.first_index + 1
		                     : 0),
		"snapshot_index", (json_int_t)st.snapshot_index, "peers", peers);
}

static int node_http_health(void *arg, struct evbuffer *out)
{
	struct node *n = arg;
	if (n->fatal) {
		evbuffer_add_printf(out, "stopping\n");
		return 503;
	}
	evbuffer_add_printf(out, "ok %s\n", raft_role_name(raft_role(n->raft)));
	return 200;
}

static int node_http_status(void *arg, struct evbuffer *out)
{
	struct node *n = arg;
	json_t *j = node_status_json(n);
	char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (!s)
		return 500;
	evbuffer_add_printf(out, "%s\n", s);
	free(s);
	return 200;
}

static int node_http_metrics(void *arg, struct evbuffer *out)
{
	struct node *n = arg;
	struct raft_status st;
	raft_status(n->raft, &st);
	lms_metric_set(n->m_term, (double)st.term);
	lms_metric_set(n->m_commit, (double)st.commit_index);
	lms_metric_set(n->m_applied, (double)n->applied);
	lms_metric_set(n->m_role, st.role);
	struct rnet_stats ns;
	rnet_stats(n->net, &ns);
	lms_metric_set(n->m_bytes_sent, (double)ns.bytes_sent);
	lms_metric_set(n->m_bytes_recv, (double)ns.bytes_received);
	lms_metric_set(n->m_msgs_dropped, (double)ns.msgs_dropped);
	return lms_metrics_render(n->metrics, out) == 0 ? 200 : 500;
}

/* --------------------------------------------------------- messages */

struct chunk_job {
	struct node *n;
	struct raft_message m;
	void *buf;
	int rv;
};

static void node_chunk_run(void *job, void *ctx)
{
	struct chunk_job *j = job;
	j->rv = pgs_snapshot_read(ctx, j->m.snapshot.index, j->m.snapshot.offset,
	                          j->buf, j->m.snapshot.len);
}

static void node_chunk_done(void *job, bool cancelled)
{
	struct chunk_job *j = job;
	if (!cancelled && j->rv == 0) {
		j->m.snapshot.data = j->buf;
		node_send_one(j->n, &j->m);
	} else if (!cancelled) {
		LMS_WARN("could not read snapshot %llu at %llu for node %llu: "
		         "%s", (unsigned long long)j->m.snapshot.index,
		         (unsigned long long)j->m.snapshot.offset,
		         (unsigned long long)j->m.to, pgs_strerror(j->rv));
		raft_report_unreachable(j->n->raft, j->m.to);
	}
	free(j->buf);
	free(j);
}

/*
 * Sends one message. A peer the transport does not know is looked up in
 * the config file while this node is not in its own configuration: a
 * joining node ("join": true) starts with an empty
 * configuration and learns the members' addresses only from the log, yet
 * it must answer the leader's first AppendEntries (and snapshot chunks)
 * to get that log at all. Without this its answers were dropped
 * (-ENOENT) and it never caught up, so `member add` could never be
 * followed by `member promote`.
 */
static void node_send_one(struct node *n, const struct raft_message *m)
{
	if (rnet_send(n->net, m) != -ENOENT)
		return;
	/* only while outside the configuration: a member's peers are the
	 * configuration's, and a removed server stays removed */
	struct raft_status st;
	raft_status(n->raft, &st);
	for (unsigned i = 0; i < st.n_peers; i++)
		if (st.peers[i].id == n->id)
			return;
	const struct lms_node_config *nc =
		m->to <= LMS_NODE_ID_MAX ? lms_config_node(n->cfg,
		                                           (unsigned)m->to)
		                         : NULL;
	if (!nc)
		return;
	char addr[RAFT_ADDRESS_MAX];
	snprintf(addr, sizeof addr, "%s:%u", nc->host, nc->peer_port);
	if (rnet_set_peer(n->net, m->to, addr) != 0)
		return;
	LMS_INFO("node %llu is not in this node's configuration yet: using "
	         "its address %s from the config file",
	         (unsigned long long)m->to, addr);
	rnet_send(n->net, m);
}

static void node_send(struct node *n, const struct raft_message *msgs,
                      size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct raft_message *m = &msgs[i];
		if (m->type == RAFT_MSG_SNAPSHOT && m->snapshot.data == NULL &&
		    m->snapshot.len > 0) {
			struct chunk_job *j = calloc(1, sizeof *j);
			void *buf = malloc(m->snapshot.len);
			if (!j || !buf) {
				free(j);
				free(buf);
				continue; /* dropped: Raft resends */
			}
			j->n = n;
			j->m = *m;
			j->buf = buf;
			if (worker_submit(n->reader, j, node_chunk_run,
			                  node_chunk_done) != 0) {
				free(buf);
				free(j);
			}
			continue;
		}
		node_send_one(n, m);
	}
}

static void node_on_message(void *arg, const struct raft_message *m)
{
	struct node *n = arg;
	if (raft_step(n->raft, m) != 0)
		LMS_WARN("out of memory stepping a message from %llu",
		         (unsigned long long)m->from);
	node_kick(n);
}

static void node_on_unreachable(void *arg, raft_id id)
{
	struct node *n = arg;
	raft_report_unreachable(n->raft, id);
}

/* ------------------------------------------------------ ready batch */

static void node_persist_run(void *job, void *ctx)
{
	struct persist_job *j = job;
	j->started_ms = lms_now_ms();
	j->rv = pgs_persist(ctx, j->rd, j->results);
	if (j->rv != 0)
		snprintf(j->err, sizeof j->err, "%s", pgs_errmsg(ctx));
	else
		pgs_last_timing(ctx, &j->timing);
	j->finished_ms = lms_now_ms();
}

static void node_batch_finish(struct node *n, struct persist_job *j)
{
	const struct raft_ready *rd = &n->rd;
	node_send(n, rd->messages, rd->n_messages);
	if (rd->has_install_snapshot) {
		n->snapshot_index = rd->install_snapshot.index;
		n->applied = rd->install_snapshot.index;
		LMS_INFO("installed snapshot at index %llu",
		         (unsigned long long)rd->install_snapshot.index);
	}
	for (size_t i = 0; i < rd->n_committed; i++) {
		if (j)
			node_apply_result(n, &j->results[i]);
		n->applied = rd->committed[i].index;
	}
	for (size_t i = 0; i < rd->n_reads; i++)
		node_read_answered(n, &rd->reads[i]);
	raft_advance(n->raft, rd);
	n->persisting = false;
	node_release_reads(n);
	node_observe(n);
	node_kick(n);
}

static void node_persist_done(void *job, bool cancelled)
{
	struct persist_job *j = job;
	struct node *n = j->n;
	n->pj = NULL;
	if (cancelled) {
		free(j->results);
		free(j);
		return;
	}
	if (j->rv != 0) {
		char why[600];
		snprintf(why, sizeof why, "could not persist: %s", j->err);
		free(j->results);
		free(j);
		node_set_fatal(n, why);
		return;
	}
	lms_metric_observe(n->m_persist_lat,
	                   (double)(j->finished_ms - j->started_ms) / 1000.0);
	lms_metric_observe(n->m_append_lat, (double)j->timing.log_us / 1e6);
	lms_metric_observe(n->m_commit_lat, (double)j->timing.commit_us / 1e6);
	if (n->rd.n_committed)
		lms_metric_observe(n->m_apply_lat,
		                   (double)j->timing.apply_us / 1e6);
	lms_metric_observe(n->m_batch_entries, (double)n->rd.n_entries);
	lms_metric_inc(n->m_apply_entries, (double)n->rd.n_committed);
	node_batch_finish(n, j);
	free(j->results);
	free(j);
}

static bool node_batch_needs_storage(const struct raft_ready *rd)
{
	return rd->has_hard_state || rd->has_snapshot_chunk ||
	       rd->has_install_snapshot || rd->truncate_from ||
	       rd->n_entries || rd->compact_before || rd->n_committed;
}

static void node_send_now(void *arg, const struct raft_message *m)
{
	node_send(arg, m, 1);
}

static void node_process(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	if (n->fatal)
		return;
	raft_flush_now(n->raft, node_send_now, n);
	if (n->persisting || !raft_has_ready(n->raft))
		return;
	raft_ready(n->raft, &n->rd);
	n->persisting = true;
	node_send(n, n->rd.messages_now, n->rd.n_messages_now);
	if (!node_batch_needs_storage(&n->rd)) {
		node_batch_finish(n, NULL);
		return;
	}
	struct persist_job *j = calloc(1, sizeof *j);
	struct pgs_apply_result *results =
		n->rd.n_committed
			? calloc(n->rd.n_committed, sizeof *results)
			: NULL;
	if (!j || (n->rd.n_committed && !results)) {
		free(j);
		free(results);
		node_set_fatal(n, "out of memory for a persist job");
		return;
	}
	j->n = n;
	j->rd = &n->rd;
	j->results = results;
	n->pj = j;
	if (worker_submit(n->writer, j, node_persist_run, node_persist_done) !=
	    0) {
		free(results);
		free(j);
		n->pj = NULL;
		node_set_fatal(n, "could not queue a persist job");
	}
}

static void node_kick(struct node *n)
{
	if (!n->fatal && (!n->persisting || raft_has_now(n->raft)))
		event_active(n->process_ev, EV_TIMEOUT, 0);
}

/* ----------------------------------------------------------- snapshots */

struct snap_job {
	struct node *n;
	struct raft_snapshot_meta meta;
	int rv;
	char err[512];
};

static void node_snapshot_run(void *job, void *ctx)
{
	struct snap_job *j = job;
	j->rv = pgs_snapshot_create(ctx, &j->meta);
	if (j->rv != 0)
		snprintf(j->err, sizeof j->err, "%s", pgs_errmsg(ctx));
}

static void node_snapshot_done(void *job, bool cancelled)
{
	struct snap_job *j = job;
	struct node *n = j->n;
	n->snapshotting = false;
	if (!cancelled && j->rv == 0) {
		int rv = raft_snapshot_taken(n->raft, j->meta.index,
		                             j->meta.size, NULL);
		if (rv == 0) {
			n->snapshot_index = j->meta.index;
			lms_metric_inc(n->m_snapshots, 1);
			LMS_INFO("snapshot at index %llu (%llu bytes)",
			         (unsigned long long)j->meta.index,
			         (unsigned long long)j->meta.size);
		} else {
			LMS_WARN("core refused snapshot at %llu: %s",
			         (unsigned long long)j->meta.index,
			         raft_strerror(rv));
		}
		node_kick(n);
	} else if (!cancelled) {
		LMS_WARN("could not take a snapshot: %s", j->err);
	}
	free(j);
}

static void node_maybe_snapshot(struct node *n)
{
	if (n->snapshotting ||
	    n->applied < n->snapshot_index +
	                         n->cfg->raft.snapshot_threshold_entries)
		return;
	struct snap_job *j = calloc(1, sizeof *j);
	if (!j)
		return;
	j->n = n;
	n->snapshotting = true;
	/* On the writer: ordered with persists, never concurrent with an
	 * install or a compaction of the same database. */
	if (worker_submit(n->writer, j, node_snapshot_run,
	                  node_snapshot_done) != 0) {
		n->snapshotting = false;
		free(j);
	}
}

/* --------------------------------------------------------------- ticks */

static void node_expire_calls(struct node *n)
{
	uint64_t now = lms_now_ms();
	for (struct call **p = &n->proposals; *p;) {
		struct call *c = *p;
		if (now < c->deadline_ms) {
			p = &c->wait_next;
			continue;
		}
		*p = c->wait_next;
		c->wait = CALL_NONE;
		call_finish(c, LMS__RPC__STATUS__DEADLINE_EXCEEDED,
		            "not applied within %d ms; retry (it will not be "
		            "applied twice)", CALL_TIMEOUT_MS);
	}
	n->proposals_tail = NULL;
	for (struct call *x = n->proposals; x; x = x->wait_next)
		n->proposals_tail = x;
	for (struct call **p = &n->reads; *p;) {
		struct call *c = *p;
		if (c->wait == CALL_READ_RUN || now < c->deadline_ms) {
			p = &c->wait_next;
			continue;
		}
		*p = c->wait_next;
		c->wait = CALL_NONE;
		call_finish(c, LMS__RPC__STATUS__DEADLINE_EXCEEDED,
		            "read not served within %d ms; retry",
		            CALL_TIMEOUT_MS);
	}
}

static void node_observe(struct node *n)
{
	int role = raft_role(n->raft);
	raft_term term = raft_current_term(n->raft);
	raft_id leader = raft_leader(n->raft);
	if (role != n->role) {
		LMS_INFO("role %s -> %s in term %llu", raft_role_name(n->role),
		         raft_role_name(role), (unsigned long long)term);
		if (role == RAFT_CANDIDATE)
			lms_metric_inc(n->m_elections, 1);
		if (n->role == RAFT_LEADER)
			node_fail_leader_waits(n);
		n->role = role;
	}
	if (leader != n->leader) {
		if (leader)
			LMS_INFO("leader is node %llu (term %llu)",
			         (unsigned long long)leader,
			         (unsigned long long)term);
		lms_metric_inc(n->m_leader_changes, 1);
		n->leader = leader;
		if (n->fwd)
			forwarder_leader_changed(n->fwd, leader, n->id);
	}
	node_sync_peers(n);
	if (n->transfers)
		node_transfers_check(n, false);
}

static void node_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	raft_tick(n->raft);
	node_observe(n);
	if (++n->ticks % 10 == 0) { /* the slower checks, every 10 ticks */
		node_expire_calls(n);
		forwarder_expire(n->fwd, lms_now_ms());
		node_transfers_check(n, true);
		node_maybe_snapshot(n);
	}
	node_kick(n);
}

/* ------------------------------------------------------- lifecycle */

static int node_metrics_init(struct node *n)
{
	struct lms_metrics *m = lms_metrics_new();
	if (!m)
		return -ENOMEM;
	n->metrics = m;
	n->m_role = lms_metric_gauge(m, "lms_raft_role",
		"1 follower, 2 pre-candidate, 3 candidate, 4 leader");
	n->m_term = lms_metric_gauge(m, "lms_raft_term", "current term");
	n->m_commit = lms_metric_gauge(m, "lms_raft_commit_index",
		"highest index known committed");
	n->m_applied = lms_metric_gauge(m, "lms_raft_applied_index",
		"highest index applied to the database");
	n->m_elections = lms_metric_counter(m, "lms_raft_elections_total",
		"elections this node started");
	n->m_leader_changes = lms_metric_counter(m,
		"lms_raft_leader_changes_total", "changes of the known leader");
	n->m_persist_lat = lms_metric_histogram(m,
		"lms_raft_persist_seconds",
		"time to persist and apply one batch (one transaction)",
		lms_metric_latency_bounds, lms_metric_latency_n);
	n->m_append_lat = lms_metric_histogram(m, "lms_raft_append_seconds",
		"log part of a batch: hard state, truncation, append, compaction",
		lms_metric_latency_bounds, lms_metric_latency_n);
	n->m_apply_lat = lms_metric_histogram(m, "lms_raft_apply_seconds",
		"apply part of a batch with committed entries",
		lms_metric_latency_bounds, lms_metric_latency_n);
	n->m_commit_lat = lms_metric_histogram(m, "lms_raft_commit_seconds",
		"COMMIT of a batch's transaction (PostgreSQL's fsync)",
		lms_metric_latency_bounds, lms_metric_latency_n);
	static const double sizes[] = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256,
	                               512, 1024};
	n->m_batch_entries = lms_metric_histogram(m,
		"lms_raft_entries_per_batch", "log entries appended per batch",
		sizes, sizeof sizes / sizeof sizes[0]);
	n->m_apply_entries = lms_metric_counter(m,
		"lms_raft_applied_entries_total", "entries applied");
	n->m_snapshots = lms_metric_counter(m, "lms_raft_snapshots_total",
		"snapshots taken by this node");
	n->m_requests = lms_metric_counter(m, "lms_rpc_requests_total",
		"client requests received");
	n->m_bytes_sent = lms_metric_gauge(m, "lms_peer_bytes_sent",
		"bytes sent to peers");
	n->m_bytes_recv = lms_metric_gauge(m, "lms_peer_bytes_received",
		"bytes received from peers");
	n->m_msgs_dropped = lms_metric_gauge(m, "lms_peer_messages_dropped",
		"Raft messages dropped (peer down or queue full)");
	return 0;
}

static void node_bootstrap_config(const struct lms_config *cfg,
                                  struct raft_config *bc)
{
	memset(bc, 0, sizeof *bc);
	for (unsigned i = 0; i < cfg->n_nodes && bc->n < RAFT_MAX_SERVERS;
	     i++) {
		const struct lms_node_config *nc = &cfg->nodes[i];
		if (nc->join)
			continue;
		struct raft_server *s = &bc->servers[bc->n++];
		s->id = nc->id;
		s->role = RAFT_VOTER;
		snprintf(s->address, sizeof s->address, "%s:%u|%s:%u",
		         nc->host, nc->peer_port, nc->host, nc->client_port);
	}
}

struct node *node_new(struct event_base *base, const struct lms_config *cfg,
                      unsigned node_id, char *err, size_t errlen)
{
	struct node *n = calloc(1, sizeof *n);
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->base = base;
	n->cfg = cfg;
	n->id = node_id;
	n->self = lms_config_node(cfg, node_id);
	if (!n->self) {
		snprintf(err, errlen, "node %u is not in config \"%s\"", node_id,
		         cfg->path);
		goto err;
	}
	if (strcmp(cfg->cluster.secret, "CHANGE-ME") == 0) {
		snprintf(err, errlen, "cluster.secret in \"%s\" is still the "
		         "placeholder: run ops/cluster up or set a random secret",
		         cfg->path);
		goto err;
	}
	if (node_metrics_init(n) != 0) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}

	/* storage */
	char conninfo[1024];
	if (lms_config_pg_conninfo(cfg, n->self, conninfo, sizeof conninfo) != 0) {
		snprintf(err, errlen, "database connection string too long");
		goto err;
	}
	char perr[512];
	struct svc_limits lim = {
		.max_text_bytes = cfg->limits.max_text_bytes,
		.max_upload_bytes = cfg->limits.max_upload_bytes,
		.max_page_size = cfg->limits.max_page_size,
	};
	svc_machine_init(&n->machine, &lim);
	int rv = pgs_open(conninfo, node_id, cfg->cluster.name,
	                  &n->machine.sm, &n->wpgs, perr, sizeof perr);
	if (rv != 0) {
		snprintf(err, errlen, "%s", perr);
		goto err;
	}
	pgs_set_chunk_bytes(n->wpgs, cfg->raft.snapshot_chunk_bytes);
	rv = pgs_open_reader(conninfo, &n->machine.sm, &n->rpgs, perr,
	                     sizeof perr);
	if (rv != 0) {
		snprintf(err, errlen, "%s", perr);
		goto err;
	}
	struct raft_initial_state init;
	rv = pgs_load(n->wpgs, &init);
	if (rv != 0) {
		snprintf(err, errlen, "could not load Raft state: %s",
		         pgs_errmsg(n->wpgs));
		goto err;
	}
	if (init.n_entries == 0 && init.snapshot.index == 0 && !n->self->join)
		node_bootstrap_config(cfg, &init.bootstrap);
	n->applied = init.applied;
	n->snapshot_index = init.snapshot.index;

	/* core */
	struct raft_options ro;
	raft_options_default(&ro);
	ro.id = node_id;
	if (getrandom(&ro.seed, sizeof ro.seed, 0) != (ssize_t)sizeof ro.seed)
		ro.seed = lms_now_ms() ^ ((uint64_t)node_id << 32);
	n->tick_ms = cfg->raft.tick_ms;
	ro.election_ticks = cfg->raft.election_timeout_min_ms / n->tick_ms;
	ro.heartbeat_ticks = cfg->raft.heartbeat_ms / n->tick_ms;
	if (ro.heartbeat_ticks == 0)
		ro.heartbeat_ticks = 1;
	if (ro.election_ticks <= ro.heartbeat_ticks)
		ro.election_ticks = ro.heartbeat_ticks + 1;
	ro.max_entries_per_msg = cfg->raft.max_entries_per_msg;
	ro.max_bytes_per_msg = cfg->raft.max_bytes_per_msg;
	/* One entry may exceed the batching bound (an upload goes through
	 * the log): it travels alone, in one peer frame with room left for
	 * the message header and the command around the payload. A frame
	 * limit too small for that margin keeps entries to the batch bound
	 * (0). */
	ro.max_entry_bytes = cfg->limits.max_frame_bytes > 65536
	                     ? cfg->limits.max_frame_bytes - 65536 : 0;
	ro.max_inflight = cfg->raft.max_inflight;
	ro.snapshot_trailing = cfg->raft.snapshot_trailing_entries;
	ro.snapshot_chunk_bytes = cfg->raft.snapshot_chunk_bytes;
	char rerr[256];
	n->raft = raft_new(&ro, &init, rerr, sizeof rerr);
	if (!n->raft) {
		snprintf(err, errlen, "could not start Raft: %s", rerr);
		goto err;
	}
	n->role = raft_role(n->raft);

	/* network */
	struct rnet_options no;
	rnet_options_default(&no);
	no.self = node_id;
	no.cluster = cfg->cluster.name;
	no.secret = cfg->cluster.secret;
	no.secret_len = strlen(cfg->cluster.secret);
	no.listen_host = n->self->host;
	no.listen_port = (uint16_t)n->self->peer_port;
	no.max_frame_bytes = cfg->limits.max_frame_bytes;
	/* an upload entry (up to a frame) must fit behind queued traffic */
	no.queue_limit_bytes = 2 * cfg->limits.max_frame_bytes;
	no.max_entries = cfg->raft.max_entries_per_msg;
	no.unreachable = node_on_unreachable;
	n->net = rnet_new(base, &no, node_on_message, n);
	if (!n->net || rnet_listen(n->net) != 0) {
		snprintf(err, errlen, "could not listen for peers on %s:%u",
		         n->self->host, n->self->peer_port);
		goto err;
	}
	node_sync_peers(n);

	n->writer = worker_new(base, "writer", n->wpgs);
	n->reader = worker_new(base, "reader", n->rpgs);
	n->cpu = worker_new(base, "cpu", NULL);
	if (!n->writer || !n->reader || !n->cpu) {
		snprintf(err, errlen, "could not start worker threads: %s",
		         strerror(errno));
		goto err;
	}
	n->process_ev = event_new(base, -1, 0, node_process, n);
	n->tick_ev = event_new(base, -1, EV_PERSIST, node_on_tick, n);
	struct timeval tv = {n->tick_ms / 1000,
	                     (suseconds_t)(n->tick_ms % 1000) * 1000};
	if (!n->process_ev || !n->tick_ev || event_add(n->tick_ev, &tv) != 0) {
		snprintf(err, errlen, "could not create timers");
		goto err;
	}
	n->fwd = forwarder_new(base, cfg->limits.max_frame_bytes);
	if (!n->fwd) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	n->rpc = rpc_server_new(base, n, n->self->host,
	                        (uint16_t)n->self->client_port,
	                        cfg->limits.max_frame_bytes, err, errlen);
	if (!n->rpc)
		goto err;
	struct lms_http_handlers h = {
		.health = node_http_health,
		.status = node_http_status,
		.metrics = node_http_metrics,
		.arg = n,
	};
	n->http = lms_http_new(base, n->self->host,
	                       (uint16_t)n->self->http_port, &h, err, errlen);
	if (!n->http)
		goto err;
	LMS_INFO("node %u up: peers on %s:%u, clients on %s:%u, status on "
	         "http://%s:%u/status; applied index %llu, term %llu",
	         node_id, n->self->host, n->self->peer_port, n->self->host,
	         n->self->client_port, n->self->host, n->self->http_port,
	         (unsigned long long)n->applied,
	         (unsigned long long)raft_current_term(n->raft));
	node_kick(n);
	return n;
err:
	node_free(n);
	return NULL;
}

void node_free(struct node *n)
{
	if (!n)
		return;
	n->stopping = true;
	lms_http_free(n->http);
	forwarder_free(n->fwd); /* answers the relayed calls */
	n->fwd = NULL; /* worker_free below may still run node_observe() */
	rpc_server_free(n->rpc); /* orphans the calls of open connections */
	if (n->tick_ev)
		event_free(n->tick_ev);
	/* the workers finish their running job and cancel the rest: done
	 * callbacks finish the calls they carry */
	worker_free(n->writer);
	worker_free(n->reader);
	worker_free(n->cpu);
	if (n->process_ev)
		event_free(n->process_ev);
	while (n->proposals) {
		struct call *c = n->proposals;
		n->proposals = c->wait_next;
		c->wait = CALL_NONE;
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE, "node stopped");
	}
	while (n->reads) {
		struct call *c = n->reads;
		n->reads = c->wait_next;
		c->wait = CALL_NONE;
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE, "node stopped");
	}
	while (n->transfers) {
		struct call *c = n->transfers;
		n->transfers = c->wait_next;
		c->wait = CALL_NONE;
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE, "node stopped");
	}
	rnet_free(n->net);
	raft_free(n->raft);
	pgs_close(n->rpgs);
	pgs_close(n->wpgs);
	lms_metrics_free(n->metrics);
	free(n);
}

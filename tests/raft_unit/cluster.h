/*
 * cluster.h -- a tiny in-memory cluster for the Raft core's unit tests.
 *
 * Each node is a struct raft plus a "durable store" (hard state, log,
 * latest snapshot, applied index) kept by the ready/advance loop exactly as
 * raft.h prescribes: messages_now go to the network at once, the batch is
 * persisted, then `messages` go out, committed entries are applied, reads
 * recorded, and the core advanced. Messages wait in one network queue that
 * tests deliver wholesale (cl_stabilize) or one by one (cl_take +
 * cl_deliver), so that protocol scenarios can be driven by hand.
 *
 * The harness checks as it goes (cmocka asserts): applied entries are
 * contiguous and the same at each index on every node; persisted log
 * changes keep the durable log contiguous; a successful APPEND_RESP never
 * acknowledges more than is durable; messages_now hold only a leader's
 * APPEND, SNAPSHOT or TIMEOUT_NOW.
 *
 * Snapshot bytes are synthetic: byte k of the snapshot at index i is
 * cl_snap_byte(i, k), so a receiver can verify what it installed.
 */
#ifndef TEST_RAFT_CLUSTER_H
#define TEST_RAFT_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

#define CL_MAX 5
#define CL_MAX_APPLIED 4096

struct cl_entry {
	raft_term term;
	raft_index index;
	int type;
	unsigned char *data;
	size_t len;
};

struct cl_read {
	uint64_t ctx;
	raft_index index;
	int rv;
};

struct cl_node {
	raft_id id;
	bool exists;
	bool up;
	bool initial; /* bootstraps with the cluster's initial config */
	struct raft *r;
	/* durable store */
	struct raft_hard_state hs;
	struct cl_entry *log;
	size_t n_log;
	size_t cap_log;
	struct raft_snapshot_meta snap;
	unsigned char *in_data; /* incoming snapshot chunks */
	uint64_t in_total;
	raft_index in_index;
	raft_index applied;
	/* observations */
	struct cl_read reads[64];
	size_t n_reads;
	unsigned batches;
	unsigned installs;
	/* manual persistence: a taken batch waiting for cl_complete() */
	bool manual;
	bool inflight;
	struct raft_ready rd;
};

struct cl_msg {
	struct raft_message m;
	void *block;
};

struct cluster {
	unsigned n;
	struct raft_options opts;
	struct raft_config initial;
	struct cl_node nodes[CL_MAX + 1]; /* by id, 1-based */
	struct cl_msg *net;
	size_t n_net;
	size_t cap_net;
	bool cut[CL_MAX + 1][CL_MAX + 1]; /* drop from -> to */
	/* global committed table: term and first data byte per index */
	raft_term g_term[CL_MAX_APPLIED];
	int g_type[CL_MAX_APPLIED];
	size_t g_len[CL_MAX_APPLIED];
	unsigned char g_byte[CL_MAX_APPLIED];
};

unsigned char cl_snap_byte(raft_index index, uint64_t k);

/* Options every test starts from: election 10, heartbeat 1, small batches. */
void cl_default_options(struct raft_options *o);

/* n nodes (ids 1..n), of which the first n_voters are initial voters and
 * bootstrap; the others exist with empty state (joining servers). */
void cl_init(struct cluster *c, unsigned n, unsigned n_voters,
             const struct raft_options *o);
void cl_close(struct cluster *c);

struct raft *cl_raft(struct cluster *c, raft_id id);
void cl_start(struct cluster *c, raft_id id);
void cl_crash(struct cluster *c, raft_id id);

/* Runs the ready loop of one node until it has nothing more (or, in manual
 * mode, takes one batch and leaves it outstanding). */
void cl_ready(struct cluster *c, raft_id id);
void cl_complete(struct cluster *c, raft_id id);
void cl_ready_all(struct cluster *c);

void cl_tick(struct cluster *c, raft_id id, unsigned n);
void cl_tick_all(struct cluster *c, unsigned n);

/* Network. */
size_t cl_count(struct cluster *c, raft_id from, raft_id to, int type);
/* Removes and returns (copied into *out, block ownership to caller via
 * cl_msg) the first message matching (0 = any); false if none. */
bool cl_take(struct cluster *c, raft_id from, raft_id to, int type,
             struct cl_msg *out);
void cl_deliver(struct cluster *c, struct cl_msg *msg);
void cl_msg_free(struct cl_msg *msg);
void cl_drop_all(struct cluster *c);
/* Prints one message on stderr; cl_deliver() does so for every message
 * when the environment variable CL_TRACE is set. */
void cl_dump_msg(const struct raft_message *m);
/* Delivers everything (and what it causes) until the network is empty. */
void cl_stabilize(struct cluster *c);
void cl_cut(struct cluster *c, raft_id a, raft_id b, bool cut);
void cl_isolate(struct cluster *c, raft_id id, bool cut);

/* Ticks every up node and stabilizes, until some node is leader (at most
 * max_rounds rounds). Returns the leader id or 0. */
raft_id cl_run_until_leader(struct cluster *c, unsigned max_rounds);
/* Makes `id` campaign now (enough ticks on it alone) and stabilizes. */
void cl_campaign(struct cluster *c, raft_id id);

/* Crafting durable state of a node that is down: append an entry (the
 * store is truncated from its index first), set the hard state. */
void cl_store_put(struct cluster *c, raft_id id, raft_index index,
                  raft_term term, const char *s);
void cl_store_hs(struct cluster *c, raft_id id, raft_term term, raft_id vote);

/* The node snapshots its state machine at its applied index (size bytes
 * of synthetic data): raft_snapshot_taken() and the store updated. */
void cl_snapshot(struct cluster *c, raft_id id, uint64_t size);

raft_index cl_propose(struct cluster *c, raft_id id, const char *s);
raft_index cl_commit(struct cluster *c, raft_id id);
raft_index cl_last(struct cluster *c, raft_id id);
const struct cl_entry *cl_log_get(struct cluster *c, raft_id id,
                                  raft_index i);

#endif

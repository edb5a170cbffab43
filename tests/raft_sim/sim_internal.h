/*
 * sim_internal.h -- the simulator's data structures, shared by its files.
 *
 * Layout of the simulator (one concern per file):
 *   sim.c        cluster lifecycle, the tick loop, requests, queries
 *   sim_node.c   one node: the ready/advance loop as an async persist step,
 *                crash and restart from the durable store
 *   sim_store.c  the durable store (log, snapshots, hard state) and the
 *                state machine with its snapshot encoding
 *   sim_net.c    the network: deep copies, latency heap, loss, duplication,
 *                link cuts, counters, snapshot chunk filling
 *   sim_check.c  the safety invariants, run after every event
 *   sim_trace.c  the event ring and its formatting
 *   sim_chaos.c  the random fault driver and the end-of-run liveness check
 *   sim_rng.c    the one PRNG (xoshiro256**)
 *
 * Who owns what: struct sim owns the nodes (by value, indexed by id), each
 * node owns its core, its store and its view log; the network owns every
 * message in flight as one malloc'd block (header, entries, bytes). The
 * ready batch of a node (node->rd) points into core memory and is only
 * valid while node->inflight and the core lives.
 */
#ifndef RAFT_SIM_INTERNAL_H
#define RAFT_SIM_INTERNAL_H

#include <stdarg.h>

#include "sim.h"

/* ----------------------------------------------------------------- rng */

struct sim_rng {
	uint64_t s[4];
};
void rng_seed(struct sim_rng *g, uint64_t seed);
uint64_t rng_next(struct sim_rng *g);
uint64_t rng_range(struct sim_rng *g, uint64_t lo, uint64_t hi);
/* splitmix64 finalizer: a good 64-bit mixer for hashing. */
uint64_t sim_mix64(uint64_t x);
uint64_t sim_hash_bytes(uint64_t h, const void *p, size_t len);

/* -------------------------------------------------------------- store */

/* An owned log entry. */
struct sim_entry {
	raft_term term;
	raft_index index;
	int type;
	unsigned char *data;
	size_t len;
};

/* A contiguous run of owned entries: v[k].index == v[0].index + k. */
struct sim_log {
	struct sim_entry *v;
	size_t n;
	size_t cap;
};

#define SIM_SM_KEYS 8
#define SIM_SM_VAL 32

/* The state machine: deterministic, small, with a byte encoding. */
struct sim_sm {
	raft_index applied; /* last applied log index (any entry type) */
	uint64_t hash;      /* rolling hash of applied NORMAL payloads */
	uint64_t count;     /* NORMAL entries applied */
	char kv[SIM_SM_KEYS][SIM_SM_VAL]; /* last payload per key slot */
};

struct sim_snap {
	struct raft_snapshot_meta meta; /* index 0 = empty slot */
	unsigned char *data;            /* meta.size bytes */
};

#define SIM_SNAPS_KEPT 2 /* newest first: the one before serves transfers
                            started before the newest was taken */

/* A snapshot being received in chunks. */
struct sim_incoming {
	raft_index index;
	raft_term term;
	uint64_t total;
	uint64_t have; /* bytes [0, have) stored */
	unsigned char *data;
};

/* Everything a node has made durable, and nothing else. */
struct sim_store {
	struct raft_hard_state hs;
	struct sim_log log;
	struct sim_snap snap[SIM_SNAPS_KEPT];
	struct sim_incoming in;
	struct sim_sm sm; /* applied state: apply is durable at once */
};

void store_init(struct sim_store *st);
void store_free(struct sim_store *st);
/* Log operations on the durable log. */
void slog_truncate(struct sim_log *l, raft_index from);
void slog_compact(struct sim_log *l, raft_index before);
int slog_append(struct sim_log *l, const struct raft_entry *e);
void slog_clear(struct sim_log *l);
const struct sim_entry *slog_get(const struct sim_log *l, raft_index i);
raft_index slog_last(const struct sim_log *l);

void sm_init(struct sim_sm *sm);
void sm_apply(struct sim_sm *sm, const struct raft_entry *e);
/* Encoding: returns a malloc'd buffer of *len bytes. */
unsigned char *sm_encode(const struct sim_sm *sm, size_t *len);
int sm_decode(const unsigned char *p, size_t len, struct sim_sm *out);

/* Content hash of an entry (type and payload, not term or index). */
uint64_t entry_chash(int type, const void *data, size_t len);

/* ----------------------------------------------------------- view log */

/* What the node's core has said its log is, as seen in ready batches:
 * base = the snapshot (or compaction point) the log starts after. phash is
 * a hash of the whole log prefix up to the entry, so two logs agreeing on
 * (index, term) must agree on phash (Log Matching). */
struct vent {
	raft_term term;
	int type;
	uint64_t chash;
	uint64_t phash;
};
struct vlog {
	raft_index base;
	raft_term base_term;
	uint64_t base_phash;
	struct vent *v; /* v[k] is index base + 1 + k */
	size_t n;
	size_t cap;
};

/* ---------------------------------------------------------------- node */

struct sim_node {
	raft_id id;
	bool exists;  /* slot in use */
	bool up;      /* core running */
	bool paused;
	bool retired; /* stopped for good */
	bool initial; /* bootstraps with the initial configuration */
	uint64_t pause_until; /* 0 = until resumed */
	bool pd_set;          /* own storage speed (sim_set_node_persist_delay) */
	unsigned pd_min;
	unsigned pd_max;
	uint64_t down_until;  /* chaos: restart after this tick */
	unsigned incarnation;
	raft_index added_at; /* index of the config entry that added it */

	struct raft *r;
	struct sim_store st;

	/* The batch being persisted. */
	bool inflight;
	struct raft_ready rd;
	uint64_t done_at;

	struct vlog view;

	/* Observations for the checks (reset at restart). */
	int role;
	raft_term term;
	raft_index commit_seen;
	raft_index applied_seen;  /* core's applied index */
	raft_term lead_term;      /* term it was last seen leading */
	raft_index lc_checked;    /* Leader Completeness checked up to */
	/* Highest index this node acknowledged (successful APPEND_RESP) in
	 * term ack_term: durable knowledge, kept across restarts. */
	raft_term ack_term;
	raft_index ack_index;

	/* Indexes into sim.props of this node's unresolved proposals. */
	size_t *pend;
	size_t n_pend;
	size_t pend_cap;
};

/* ------------------------------------------------------------ network */

struct sim_msg {
	uint64_t at;  /* delivery tick */
	uint64_t seq; /* tie-break, and id in the trace */
	struct raft_message m;
	/* entries and bytes follow in the same allocation */
};

struct sim_net {
	struct sim_msg **heap; /* min-heap on (at, seq) */
	size_t n;
	size_t cap;
	uint64_t seq;
	bool cut[SIM_MAX_NODES + 1][SIM_MAX_NODES + 1]; /* [from][to] */
	unsigned drop_permille;
	unsigned dup_permille;
	unsigned min_latency;
	unsigned max_latency;
	sim_filter_fn filter;
	void *filter_ctx;
	uint64_t sent[SIM_MSG_APPEND_REJECT + 1][SIM_MAX_NODES + 1]
	             [SIM_MAX_NODES + 1];
	uint64_t delivered;
	uint64_t snapshot_send_failed;
};

/* --------------------------------------------------------- global state */

/* The committed log as applied anywhere (State Machine Safety). */
struct gent {
	raft_term term;
	int type;
	uint64_t chash;
	uint64_t sm_hash;   /* state machine hash after applying it */
	raft_term est;      /* highest leader term seen when first applied:
	                       every leader of term >= est must hold it */
};

/* (index, term) -> (chash, phash): every entry any log ever held. */
struct lm_slot {
	raft_index index; /* 0 = empty */
	raft_term term;
	uint64_t chash;
	uint64_t phash;
};

struct sim_read {
	uint64_t ctx;
	raft_id node;
	unsigned incarnation;
	raft_index bound; /* highest commit index known anywhere at request */
	uint64_t tick;
	bool done;
	raft_index index;
	int rv;
};

struct sim_prop {
	raft_id node;
	unsigned incarnation;
	raft_index index;
	raft_term term;
	uint64_t chash;
	int state; /* enum sim_prop_state */
};

/* Trace event: formatted only when printed. */
struct sim_tev {
	uint64_t tick;
	uint64_t event;
	uint16_t kind;
	uint16_t node;
	uint32_t x;
	uint64_t a[7];
	const char *s; /* static string or NULL */
	char note[56];
};

enum sim_tev_kind {
	TEV_SEND = 1,
	TEV_DELIVER,
	TEV_DROP,
	TEV_DUP,
	TEV_BATCH,     /* ready batch taken */
	TEV_PERSIST,   /* batch persisted */
	TEV_APPLY,
	TEV_ROLE,
	TEV_CRASH,
	TEV_RESTART,
	TEV_PAUSE,
	TEV_RESUME,
	TEV_CUT,
	TEV_HEAL,
	TEV_PROPOSE,
	TEV_READ,
	TEV_READ_DONE,
	TEV_SNAP_TAKEN,
	TEV_SNAP_INSTALL,
	TEV_CONFIG,    /* add / promote / remove / transfer request */
	TEV_RETIRE,
	TEV_NOTE,
};

struct sim {
	struct sim_options o;
	struct sim_rng rng;
	uint64_t now;
	uint64_t events; /* step counter for messages ("step N") */
	struct sim_node nodes[SIM_MAX_NODES + 1]; /* [0] unused */
	raft_id max_id;
	struct raft_config initial_config;
	struct sim_net net;

	/* Global knowledge for the checks. */
	struct gent *g; /* g[i] for i in 1..g_n */
	size_t g_n;
	size_t g_cap;
	raft_term *leader_of; /* leader_of[term] = id */
	size_t leader_of_cap;
	raft_term max_leader_term;
	unsigned leaders_elected;
	raft_index max_commit; /* highest commit index seen on any node */
	struct lm_slot *lm;
	size_t lm_cap;
	size_t lm_n;
	struct raft_config committed_config; /* latest applied CONFIG */
	raft_index committed_config_index;

	struct sim_read *reads;
	size_t n_reads;
	size_t reads_cap;
	struct sim_prop *props;
	size_t n_props;
	size_t props_cap;
	uint64_t next_payload;
	uint64_t next_read_ctx;
	unsigned installs;
	unsigned crash_lost_batch;
	unsigned crash_lost_hs;

	/* Random fault driver state (sim_chaos.c). */
	uint64_t chaos_heal_at; /* 0 = no partition in force */

	/* Failure. */
	bool failed;
	char err[1024];

	/* Trace ring. */
	struct sim_tev *tr;
	size_t tr_cap;
	size_t tr_n;    /* total recorded */
};

/* sim.c */
struct sim_node *sim_node_get(struct sim *s, raft_id id);
const struct sim_node *sim_node_cget(const struct sim *s, raft_id id);
void sim_fail(struct sim *s, const char *invariant, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* sim_node.c */
int node_start(struct sim *s, struct sim_node *n);
void node_stop(struct sim *s, struct sim_node *n);
/* Takes and (when due) completes ready batches until none is left. */
void node_pump(struct sim *s, struct sim_node *n);
/* Completes the in-flight batch. */
void node_complete(struct sim *s, struct sim_node *n);
struct raft_options node_raft_options(const struct sim *s,
                                      const struct sim_node *n);
int node_snapshot(struct sim *s, struct sim_node *n);

/* sim_net.c */
void net_init(struct sim_net *net, const struct sim_options *o);
void net_free(struct sim_net *net);
void net_send(struct sim *s, struct sim_node *from, const struct raft_message *m);
/* Delivers every message due at s->now (in (at, seq) order). */
void net_deliver_due(struct sim *s);

/* sim_check.c */
void check_observe(struct sim *s, struct sim_node *n);
void check_all(struct sim *s);
void check_batch_taken(struct sim *s, struct sim_node *n,
                       const struct raft_ready *rd);
void check_hard_state(struct sim *s, struct sim_node *n,
                      const struct raft_hard_state *hs);
void check_apply(struct sim *s, struct sim_node *n, const struct raft_entry *e);
void check_install(struct sim *s, struct sim_node *n,
                   const struct raft_snapshot_meta *m,
                   const struct sim_sm *sm);
void check_read_result(struct sim *s, struct sim_node *n,
                       const struct raft_read_result *rr);
void check_send(struct sim *s, struct sim_node *n, const struct raft_message *m,
                bool now);
/* Proposals of node n that can no longer be acknowledged (crash, index
 * covered by an installed snapshot) become SIM_PROP_UNKNOWN. */
void props_forget(struct sim *s, struct sim_node *n, raft_index upto);
void vlog_reset(struct sim *s, struct sim_node *n, raft_index base,
                raft_term base_term);
void vlog_free(struct vlog *v);
const struct vent *vlog_get(const struct vlog *v, raft_index i);
raft_index vlog_last(const struct vlog *v);
void vlog_push(struct sim *s, struct sim_node *n, const struct raft_entry *e);
void vlog_rebuild(struct sim *s, struct sim_node *n);
raft_index check_global_commit(struct sim *s); /* max commit known anywhere */

/* sim_trace.c */
void trace_init(struct sim *s);
void trace_free(struct sim *s);
/* Records one event (and prints it when tracing live). */
void trace_add(struct sim *s, int kind, raft_id node, uint32_t x,
               const char *str, uint64_t a0, uint64_t a1, uint64_t a2,
               uint64_t a3, uint64_t a4);
void trace_note(struct sim *s, raft_id node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void trace_vnote(struct sim *s, raft_id node, const char *fmt, va_list ap);
void trace_msg(struct sim *s, int kind, const struct raft_message *m,
               uint64_t seq, uint64_t at, const char *why);
void trace_format(const struct sim_tev *e, char *buf, size_t len);
const char *msg_type_name(int type);

#endif /* RAFT_SIM_INTERNAL_H */

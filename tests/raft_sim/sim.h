/*
 * sim.h -- a deterministic, in-memory cluster of Raft cores.
 *
 * Why this exists
 * ---------------
 * The Raft core (raft/include/raft.h) is a pure state machine: it does no
 * I/O, reads no clock and draws no random numbers of its own. That lets this
 * simulator wrap 1..7 cores (plus servers added later) in simulated nodes
 * and run whole clusters in virtual time, thousands of them per minute, with
 * every fault reproducible from one seed:
 *
 *   - a virtual clock: one tick = one time unit, every node ticks on it;
 *   - a network that delays (random latency in ticks, hence reordering),
 *     drops, duplicates and partitions messages (any set of directed links
 *     cut), with a per-test filter for surgical scenarios;
 *   - per node, a simulated durable store that holds ONLY what the node
 *     persisted: hard state, log entries, snapshots (metadata and bytes),
 *     the snapshot being received, and the state machine's applied state;
 *   - per node, the ready/advance loop of raft.h run as an asynchronous
 *     "persist" step: a batch is taken, its messages_now go out at once, and
 *     the persistence completes after a random (possibly zero) delay, when
 *     `messages` go out, committed entries are applied, reads are delivered
 *     and raft_advance() is called. A crash in between loses that batch and
 *     the whole in-memory core; a restart rebuilds the core with raft_new()
 *     from the durable store alone;
 *   - a small deterministic state machine (rolling hash, count and a
 *     key/value table) whose snapshot is a serialized byte string, sent in
 *     chunks by the network from the sender's durable snapshot.
 *
 * After every event (message delivered, tick, persistence completed, request)
 * the simulator checks the Raft safety properties (see sim_check.c: Election
 * Safety, Log Matching, Leader Append-Only, Leader Completeness, State
 * Machine Safety, commit durability, monotonic commit/applied indexes, read
 * safety) and stops the run at the first violation with a message naming
 * the invariant, the seed and the step. sim_finish() checks liveness.
 *
 * Ownership
 * ---------
 * struct sim owns every node, core, store and in-flight message; everything
 * passed in is copied. Pointers returned (sim_core(), sim_error()) are
 * borrowed and valid until the next call that changes the simulation.
 *
 * Errors
 * ------
 * Request functions return the core's int code (0 or enum raft_error) or
 * -1 for a simulator-level refusal (unknown node, node down). Once an
 * invariant has failed, sim_failed() is true, sim_error() says why, every
 * time-advancing call returns -1 at once, and the optional on_fail hook has
 * been called (tests make it a cmocka failure).
 */
#ifndef RAFT_SIM_H
#define RAFT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "raft.h"

#define SIM_MAX_NODES 16 /* node ids 1..SIM_MAX_NODES */

struct sim;

/* Called once, at the first invariant violation, with the full message. */
typedef void (*sim_fail_fn)(void *ctx, const char *msg);

/* Network filter, asked for every message at send time: true = drop it. */
typedef bool (*sim_filter_fn)(void *ctx, const struct raft_message *m);

/* Predicate for sim_run_until(). */
typedef bool (*sim_pred_fn)(struct sim *s, void *ctx);

struct sim_options {
	unsigned n_nodes; /* initial voters, ids 1..n_nodes, 1..7 */
	uint64_t seed;

	/* Core options given to every node (see struct raft_options). */
	unsigned election_ticks;
	unsigned heartbeat_ticks;
	bool pre_vote;
	bool check_quorum;
	unsigned max_entries_per_msg;
	size_t max_bytes_per_msg;
	unsigned max_inflight;
	raft_index snapshot_trailing;
	size_t snapshot_chunk_bytes;
	raft_index catchup_margin;

	/* Network: latency in ticks (>= 1), loss and duplication in 1/1000. */
	unsigned min_latency;
	unsigned max_latency;
	unsigned drop_permille;
	unsigned dup_permille;

	/* Storage: a batch's persistence completes after [min, max] ticks
	 * (0 = within the same event). */
	unsigned min_persist_delay;
	unsigned max_persist_delay;

	/* The simulator snapshots a node's state machine whenever it has
	 * applied this many entries past its latest snapshot (0 = never). */
	raft_index snapshot_threshold;

	/* Trace: the last trace_ring events are kept for failure reports;
	 * trace_live prints every event to trace_out as it happens. */
	unsigned trace_ring;
	bool trace_live;
	FILE *trace_out;     /* NULL = stderr */
	bool print_on_fail;  /* dump message + trace tail to trace_out */

	sim_fail_fn on_fail;
	void *on_fail_ctx;
};

/* Defaults: 3 nodes, seed 1, election 20, heartbeat 2, pre-vote and
 * check-quorum on, 8 entries / 4 KiB per message, 4 in flight, trailing 5,
 * 64-byte snapshot chunks, catch-up margin 5, latency 1..3, no loss, persist
 * delay 0..2, snapshot threshold 0 (tests opt in), 400 trace events. */
void sim_options_default(struct sim_options *o);

/* Creates the cluster (all initial nodes up, nothing sent yet). NULL on
 * bad options or out of memory (message on stderr). */
struct sim *sim_new(const struct sim_options *o);
void sim_free(struct sim *s);

bool sim_failed(const struct sim *s);
const char *sim_error(const struct sim *s); /* "" while not failed */
uint64_t sim_now(const struct sim *s);      /* ticks so far */
uint64_t sim_seed(const struct sim *s);
const struct sim_options *sim_opts(const struct sim *s);

/* The simulator's PRNG (the only randomness in a run). */
uint64_t sim_rand(struct sim *s);
/* Uniform in [lo, hi]. */
uint64_t sim_rand_range(struct sim *s, uint64_t lo, uint64_t hi);
/* True with probability permille/1000. */
bool sim_chance(struct sim *s, unsigned permille);

/* -------------------------------------------------------------- time */

/* One tick: due persistence completions, due message deliveries, one
 * raft_tick() per running node, periodic snapshots, then the checks.
 * 0, or -1 once an invariant has failed. */
int sim_step(struct sim *s);
int sim_run(struct sim *s, unsigned ticks);
/* Steps until pred() holds (checked before each tick): 0 when it holds,
 * 1 after max_ticks without it, -1 on an invariant failure. */
int sim_run_until(struct sim *s, sim_pred_fn pred, void *ctx,
                  unsigned max_ticks);

/* ------------------------------------------------------------- nodes */

bool sim_exists(const struct sim *s, raft_id id); /* slot in use */
bool sim_is_up(const struct sim *s, raft_id id);  /* core running */
bool sim_is_paused(const struct sim *s, raft_id id);
bool sim_is_retired(const struct sim *s, raft_id id);
raft_id sim_max_id(const struct sim *s); /* highest id in use */

/* The running core (borrowed; NULL when down). For raft_status() and
 * other read-only calls; requests should go through the sim_* wrappers so
 * they are traced and checked. */
struct raft *sim_core(struct sim *s, raft_id id);

/* Crash: the in-memory core and any batch still being persisted are
 * lost; the durable store stays. No-op if down. */
void sim_crash(struct sim *s, raft_id id);
/* Restart from the durable store only. 0, or -1 if raft_new() failed
 * (which is itself reported as an invariant failure). */
int sim_restart(struct sim *s, raft_id id);
/* A paused node neither ticks nor receives (messages wait) nor finishes
 * persisting until resumed; ticks = 0 pauses until sim_resume(). */
void sim_pause(struct sim *s, raft_id id, unsigned ticks);
void sim_resume(struct sim *s, raft_id id);
/* Permanently stop a node (e.g. after its removal committed). */
void sim_retire(struct sim *s, raft_id id);

/* Is node id persisting a batch right now, and does it hold a hard state
 * (term / vote) change? */
bool sim_persisting(const struct sim *s, raft_id id, bool *hard_state);

/* The node that is leader with the highest term among running nodes, or 0. */
raft_id sim_leader(struct sim *s);
/* A leader whose no-op of its term has committed (so it serves reads and
 * counts as "elected" for liveness), or 0. */
raft_id sim_ready_leader(struct sim *s);
/* Runs until sim_ready_leader() is non-zero; returns it, 0 on timeout. */
raft_id sim_wait_leader(struct sim *s, unsigned max_ticks);

/* ----------------------------------------------------------- network */

void sim_set_loss(struct sim *s, unsigned drop_permille, unsigned dup_permille);
void sim_set_latency(struct sim *s, unsigned min_ticks, unsigned max_ticks);
void sim_set_persist_delay(struct sim *s, unsigned min_ticks,
                           unsigned max_ticks);
/* Per-node storage speed, overriding the cluster's until cleared. */
void sim_set_node_persist_delay(struct sim *s, raft_id id, unsigned min_ticks,
                                unsigned max_ticks);
void sim_clear_node_persist_delay(struct sim *s, raft_id id);
void sim_cut(struct sim *s, raft_id from, raft_id to);   /* one direction */
void sim_uncut(struct sim *s, raft_id from, raft_id to);
bool sim_is_cut(const struct sim *s, raft_id from, raft_id to);
void sim_isolate(struct sim *s, raft_id id);             /* both ways */
/* Cuts every link between the ids in group[] and all other nodes. */
void sim_partition(struct sim *s, const raft_id *group, size_t n);
void sim_heal(struct sim *s); /* every link up again */
void sim_set_filter(struct sim *s, sim_filter_fn fn, void *ctx);

/* Messages handed to the network (before loss), by type (0 = any), sender
 * and receiver (0 = any). Type SIM_MSG_APPEND_REJECT counts APPEND_RESP
 * with success == false. */
#define SIM_MSG_APPEND_REJECT 10
uint64_t sim_msg_count(const struct sim *s, int type, raft_id from, raft_id to);
uint64_t sim_delivered_count(const struct sim *s);

/* ---------------------------------------------------------- requests */

/* Proposes a tracked entry with a payload unique in the run (written to
 * payload_out, may be NULL, cap >= 32). raft_propose's result. */
int sim_propose(struct sim *s, raft_id id, raft_index *index, raft_term *term);
/* Same with a caller-chosen payload (must be unique in the run for the
 * acknowledgement check to be meaningful). */
int sim_propose_data(struct sim *s, raft_id id, const void *data, size_t len,
                     raft_index *index, raft_term *term);

enum sim_prop_state {
	SIM_PROP_PENDING = 0, /* proposer has not applied the index yet */
	SIM_PROP_ACKED = 1,   /* proposer applied it with the same term */
	SIM_PROP_LOST = 2,    /* proposer applied another term there */
	SIM_PROP_UNKNOWN = 3, /* proposer crashed or skipped it (snapshot) */
};
/* State of the tracked proposal (index, term), or -1 if none. */
int sim_proposal_state(const struct sim *s, raft_index index, raft_term term);
unsigned sim_acked_count(const struct sim *s);

/* Whole-cluster commitment of (index, term): 0 committed (some node
 * applied it), 1 lost (another term committed there), 2 not yet. */
int sim_commit_state(const struct sim *s, raft_index index, raft_term term);
/* Runs until sim_commit_state() != 2: its final value, or 2 on timeout. */
int sim_wait_commit(struct sim *s, raft_index index, raft_term term,
                    unsigned max_ticks);
/* Proposes on the current leader until one proposal commits, following
 * leader changes; 0 on success (*index set), 1 on timeout. */
int sim_propose_committed(struct sim *s, unsigned max_ticks, raft_index *index);

/* ReadIndex on node id; *ctx receives the read's context. Records the
 * cluster's highest commit index at request time, checked against the
 * answer (read safety). raft_read_index's result. */
int sim_read_index(struct sim *s, raft_id id, uint64_t *ctx);
/* true once answered: *index and *rv as in struct raft_read_result. */
bool sim_read_result(const struct sim *s, uint64_t ctx, raft_index *index,
                     int *rv);

/* Asks the leader `leader` (0 = sim_leader()) to add a fresh id as a
 * non-voter and, when it accepts, starts that node (empty store, no
 * bootstrap, waits to be contacted). *id receives the new id (0 when
 * refused). raft_add_server's result, -1 without leader or free slot. */
int sim_add_node(struct sim *s, raft_id leader, raft_id *id, raft_index *index);
int sim_promote(struct sim *s, raft_id leader, raft_id id, raft_index *index);
int sim_remove(struct sim *s, raft_id leader, raft_id id, raft_index *index);
int sim_transfer(struct sim *s, raft_id leader, raft_id target);
/* Snapshots node id's state machine now (at its applied index). 0, 1 if
 * nothing new to snapshot, or the core's error. */
int sim_take_snapshot(struct sim *s, raft_id id);

/* ------------------------------------------------------------ queries */

raft_index sim_applied(const struct sim *s, raft_id id);   /* durable */
raft_index sim_commit_index(struct sim *s, raft_id id);    /* in memory */
raft_term sim_term(struct sim *s, raft_id id);
int sim_role(struct sim *s, raft_id id);                   /* 0 if down */
/* Term of entry `index` in the node's log as last handed out in ready
 * batches (in-memory view); 0 if absent or compacted. */
raft_term sim_log_term(const struct sim *s, raft_id id, raft_index index);
raft_index sim_last_index(const struct sim *s, raft_id id);
raft_index sim_snapshot_index(const struct sim *s, raft_id id); /* durable */
/* Term of entry `index` in node id's durable log; 0 if absent. */
raft_term sim_durable_log_term(const struct sim *s, raft_id id,
                               raft_index index);
raft_term sim_durable_term(const struct sim *s, raft_id id);
raft_index sim_global_applied(const struct sim *s); /* max applied anywhere */
raft_term sim_global_term_at(const struct sim *s, raft_index index);
raft_term sim_max_term(const struct sim *s); /* max current term, up nodes */
unsigned sim_leaders_elected(const struct sim *s); /* distinct leader terms */
/* Voters in the latest configuration committed cluster-wide. */
unsigned sim_committed_voters(const struct sim *s, raft_id *ids, unsigned cap);
bool sim_is_member(const struct sim *s, raft_id id); /* committed config */
unsigned sim_snapshots_installed(const struct sim *s); /* followers */
/* Crashes that lost a batch still being persisted (with a hard state
 * change when with_hard_state). */
unsigned sim_crashes_lost_batch(const struct sim *s, bool with_hard_state);
/* ReadIndex outcomes so far: answered with rv 0, answered with an error
 * (or refused), unanswered. */
void sim_read_stats(const struct sim *s, unsigned *ok, unsigned *failed,
                    unsigned *pending);
/* Does node id's durable log or snapshot hold a NORMAL entry with this
 * payload? */
bool sim_durable_has_payload(const struct sim *s, raft_id id, const void *data,
                             size_t len);
unsigned sim_snapshot_sends_failed(const struct sim *s);

/* ------------------------------------------------------------- trace */

/* A free-form trace line (test scenario markers). */
void sim_note(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints every node's state (role, term, indexes, configuration, and a
 * leader's view of its peers). */
void sim_dump_status(struct sim *s, FILE *out);
/* Prints the last n recorded events (0 = all kept). */
void sim_trace_dump(const struct sim *s, FILE *out, unsigned n);

/* ------------------------------------------------------ end-of-run checks */

/* Heals the network (no partitions, no loss), resumes paused nodes and
 * restarts every crashed node that is not retired; then checks liveness
 * (a leader elected and a fresh proposal committed within max_ticks) and
 * convergence (every member applies up to that proposal, making progress
 * in every window of max_ticks, every state machine equals the global one,
 * every acknowledged proposal is present).
 * 0, or -1 with an invariant failure. */
int sim_finish(struct sim *s, unsigned max_ticks);

/* ------------------------------------------------------- random faults */

struct sim_chaos {
	bool crashes;     /* crash / restart nodes */
	bool partitions;  /* cut links: isolate, split, random links */
	bool loss;        /* vary drop / duplicate rates and latency */
	bool pauses;      /* pause nodes */
	bool membership;  /* add, promote, remove (incl. the leader) */
	bool transfers;   /* leadership transfers */
	bool reads;       /* ReadIndex requests */
	unsigned propose_permille; /* per tick */
	unsigned crash_permille;
	unsigned partition_permille;
	unsigned pause_permille;
	unsigned member_permille;
	unsigned transfer_permille;
	unsigned read_permille;
	unsigned max_drop_permille;
	unsigned max_dup_permille;
	unsigned max_latency;
};
void sim_chaos_default(struct sim_chaos *c);
/* Injects this tick's random faults and requests, then sim_step(). */
int sim_chaos_step(struct sim *s, const struct sim_chaos *c);
int sim_chaos_run(struct sim *s, const struct sim_chaos *c, unsigned steps);

#endif /* RAFT_SIM_H */

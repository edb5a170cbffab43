/*
 * internal.h -- the state of the Raft core, shared by its files.
 *
 * Why this exists
 * ---------------
 * raft.h is the contract; this header is how the files behind it talk to
 * each other. struct raft is defined here and only here. Each file owns one
 * concern and exports a handful of functions prefixed by its file name
 * (log_append() lives in log.c, election_start() in election.c); anything
 * else stays static inside its file.
 *
 * Ownership at a glance
 * ---------------------
 *   - the log (log.c) owns a private copy of every entry's data;
 *   - messages waiting for a ready batch live in two queues (ready.c); an
 *     APPEND carries its own deep copy of its entries ("owned" block), so
 *     nothing handed out ever points into the log;
 *   - the outstanding batch (taken by raft_ready(), not yet advanced) owns
 *     its entries/committed/reads copies, its queues and its snapshot chunk
 *     until raft_advance() frees them;
 *   - per-peer progress lives in a fixed table of RAFT_MAX_SERVERS slots
 *     whose inflight rings are carved out of one block allocated by
 *     raft_new(), so membership changes never allocate.
 *
 * Persistence bookkeeping (see ready.c)
 * -------------------------------------
 *   stable   highest index known durable (as of the last raft_advance());
 *            the leader counts its own log toward commitment only this far.
 *   sent     highest index handed out for persistence (possibly still in
 *            the outstanding batch). Entries sent+1..last go in the next
 *            batch. A truncation at or below sent lowers it and is recorded
 *            in pend_truncate for the next batch's truncate_from.
 */
#ifndef RAFT_INTERNAL_H
#define RAFT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

#define RAFT_ERRMSG_SIZE 256

/* Largest encoded configuration: header + per server (id, role, length,
 * address without its NUL). */
#define RAFT_CONFIG_ENCODED_MAX                                             \
	(6 + RAFT_MAX_SERVERS * (8 + 1 + 1 + (RAFT_ADDRESS_MAX - 1)))

/* ===================================================================== log */

/* Entries offset+1 .. offset+n in a ring of cap slots (cap a power of two),
 * the first one at ring[head]. offset is the last compacted (or snapshot)
 * index and offset_term its term, so term_at(offset) is always known. */
struct raft_log {
	struct raft_entry *ring;
	size_t cap;
	size_t head;
	size_t n;
	raft_index offset;
	raft_term offset_term;
};

void log_init(struct raft_log *l);
void log_close(struct raft_log *l);
raft_index log_first_index(const struct raft_log *l);
raft_index log_last_index(const struct raft_log *l);
raft_term log_last_term(const struct raft_log *l);
bool log_term_at(const struct raft_log *l, raft_index i, raft_term *term);
const struct raft_entry *log_get(const struct raft_log *l, raft_index i);
int log_append(struct raft_log *l, const struct raft_entry *e, size_t n);
void log_truncate(struct raft_log *l, raft_index from);
void log_compact(struct raft_log *l, raft_index upto);
void log_reset(struct raft_log *l, raft_index index, raft_term term);
size_t log_slice_count(const struct raft_log *l, raft_index from,
                       size_t max_n, size_t max_bytes, size_t *bytes);
size_t log_copy(const struct raft_log *l, raft_index from, size_t n,
                struct raft_entry *out, unsigned char *data);
raft_index log_first_of_term(const struct raft_log *l, raft_index at);
bool log_last_at_most_term(const struct raft_log *l, raft_term term,
                           raft_index upto, raft_index *out);

/* ================================================================ progress */

struct raft_progress {
	bool used;
	raft_id id;
	raft_index match;
	raft_index next;
	int state;               /* enum raft_progress_state */
	bool probe_sent;         /* PROBE: paused until a reply or heartbeat */
	raft_index rewound;      /* REPLICATE: follower's last index when we
	                            last resent from it (progress.c) */
	raft_index *inflight;    /* ring of last indexes of APPENDs in flight */
	unsigned in_start;
	unsigned in_count;
	bool recent_active;      /* heard from during this election timeout */
	uint64_t ticks_since_contact;
	uint64_t read_ack;       /* highest read_ctx echoed this term */
	raft_index snap_index;   /* SNAPSHOT: snapshot being streamed */
	uint64_t snap_total;
	uint64_t snap_offset;    /* bytes acknowledged */
	bool snap_inflight;      /* a chunk awaits its reply */
	unsigned snap_wait;      /* ticks since that chunk left */
};

struct raft_progress *progress_find(struct raft *r, raft_id id);
void progress_reset_all(struct raft *r);
void progress_sync(struct raft *r);
void progress_become_probe(struct raft_progress *p);
void progress_become_replicate(struct raft_progress *p);
void progress_become_snapshot(struct raft_progress *p, raft_index index,
                              uint64_t total);
bool progress_is_paused(const struct raft *r, const struct raft_progress *p);
/* The highest value a majority of the voters of r->config has reached:
 * each voter's value is get(its progress) (0 without one), this server's
 * own is self (it counts only while it is a voter). False when there is
 * no voter. */
bool progress_quorum_value(struct raft *r, uint64_t self,
                           uint64_t (*get)(const struct raft_progress *p),
                           uint64_t *out);
void progress_on_sent(const struct raft *r, struct raft_progress *p,
                      raft_index last, size_t n);
bool progress_maybe_update(struct raft_progress *p, raft_index index);
void progress_free_inflight(const struct raft *r, struct raft_progress *p,
                            raft_index index);
bool progress_maybe_decr(struct raft_progress *p, raft_index rejected,
                         raft_index hint, bool gap, raft_index last);
void progress_contact(struct raft_progress *p);
bool progress_quorum_active(const struct raft *r);

/* ============================================================== read index */

enum read_state {
	READ_WAIT_NOOP = 1,   /* this term's no-op not committed yet */
	READ_WAIT_QUORUM = 2, /* index fixed, waiting for heartbeat echoes */
	READ_DONE = 3,        /* answered (rv 0 or RAFT_ELEADERSHIPLOST) */
};

struct raft_read_req {
	uint64_t ctx;
	raft_index index;
	int rv;
	int state; /* enum read_state */
};

void read_index_on_commit(struct raft *r);
void read_index_check(struct raft *r);
void read_index_fail_all(struct raft *r);
uint64_t read_index_ctx(const struct raft *r);
size_t read_index_n_done(const struct raft *r);

/* =================================================================== ready */

/* A queue of outgoing messages. owned[k] is a block freed together with
 * msgs[k] (the deep copy of an APPEND's entries), or NULL. */
struct raft_msgq {
	struct raft_message *msgs;
	void **owned;
	size_t n;
	size_t cap;
};

int ready_send(struct raft *r, const struct raft_message *m, void *owned);
/* May this follower answer an APPEND before its pending batches are
 * durable (term durable, no snapshot install pending)? See ready.c. */
bool ready_can_answer_now(const struct raft *r);
/* *m becomes a message of `type` from this server to `to` in its current
 * term, every other field zero. */
void ready_message_init(const struct raft *r, struct raft_message *m,
                        int type, raft_id to);
void ready_note_truncate(struct raft *r, raft_index from);
void ready_close(struct raft *r);

/* =============================================================== snapshot */

/* Follower side of an InstallSnapshot transfer in progress. */
struct raft_snap_recv {
	bool active;
	raft_index index;
	raft_term term;
	uint64_t total;
	uint64_t received;
};

bool snapshot_send(struct raft *r, struct raft_progress *p);
void snapshot_heartbeat(struct raft *r, struct raft_progress *p);
int snapshot_recv(struct raft *r, const struct raft_message *m);
void snapshot_recv_resp(struct raft *r, const struct raft_message *m);
void snapshot_tick(struct raft *r);

/* ============================================================= membership */

const struct raft_server *membership_find(const struct raft_config *c,
                                          raft_id id);
bool membership_is_voter(const struct raft_config *c, raft_id id);
unsigned membership_n_voters(const struct raft_config *c);
bool membership_valid(const struct raft_config *c);
void membership_rebuild(struct raft *r);
void membership_config_at(const struct raft *r, raft_index index,
                          struct raft_config *out);
void membership_on_append(struct raft *r, raft_index from, raft_index to);
void membership_on_truncate(struct raft *r, raft_index from);
bool membership_can_campaign(const struct raft *r);
void membership_on_commit(struct raft *r);

/* =============================================================== election */

void election_reset_timeout(struct raft *r);
void election_start(struct raft *r, bool pre, bool transfer);
void election_become_follower(struct raft *r, raft_term term, raft_id leader);
void election_recv_vote(struct raft *r, const struct raft_message *m);
void election_reject_stale(struct raft *r, const struct raft_message *m);
void election_recv_vote_resp(struct raft *r, const struct raft_message *m);
void election_tick(struct raft *r);
void election_leader_tick(struct raft *r);
bool election_in_lease(const struct raft *r);
void election_set_term(struct raft *r, raft_term term, raft_id vote);
void election_on_durable(struct raft *r, const struct raft_hard_state *hs);

/* ============================================================ replication */

bool replication_send(struct raft *r, struct raft_progress *p,
                      bool allow_empty, bool heartbeat);
void replication_broadcast(struct raft *r, bool allow_empty);
void replication_heartbeat(struct raft *r);
int replication_recv_append(struct raft *r, const struct raft_message *m);
void replication_recv_append_resp(struct raft *r,
                                  const struct raft_message *m);
void replication_reply_stale(struct raft *r, const struct raft_message *m);
void replication_maybe_commit(struct raft *r);
void replication_commit_to(struct raft *r, raft_index index);

/* =============================================================== transfer */

void transfer_abort(struct raft *r);
void transfer_tick(struct raft *r);
void transfer_on_progress(struct raft *r, struct raft_progress *p);
void transfer_recv_timeout_now(struct raft *r, const struct raft_message *m);

/* =================================================================== raft */

int raft_error_set(struct raft *r, int rv, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t raft_rand(struct raft *r);

/* ================================================================= struct */

struct raft {
	struct raft_options opts;
	raft_id id;
	char errmsg[RAFT_ERRMSG_SIZE];
	uint64_t prng; /* xorshift64* state, never 0 */

	/* Persistent state (Figure 2) and what is known durable of it. */
	raft_term term;
	raft_id vote;
	bool hs_dirty;          /* term/vote changed since the last batch */
	/* the hard state the outstanding batch carries, if any: once it is
	 * advanced, a candidacy it records is durable (election.c) */
	bool out_has_hs;
	struct raft_hard_state out_hs;

	int role; /* enum raft_role */
	raft_id leader;

	/* Log and indexes. */
	struct raft_log log;
	raft_index commit;
	raft_index applied; /* last index handed out in ready.committed and
	                       advanced (or installed) */
	raft_index stable;
	raft_index sent;
	raft_index pend_truncate;
	raft_index pend_compact;

	struct raft_snapshot_meta snapshot; /* latest snapshot */

	/* Membership: latest config in the log (or snapshot) and the one
	 * before it (to know whether a removed server may still campaign). */
	struct raft_config config;
	raft_index config_index;
	struct raft_config config_prev;
	raft_index config_prev_index;

	/* Election. */
	unsigned election_elapsed;
	unsigned heartbeat_elapsed;
	unsigned randomized_timeout;
	unsigned n_votes;
	struct {
		raft_id id;
		bool granted;
	} votes[RAFT_MAX_SERVERS];
	bool campaign_transfer; /* this candidacy came from TIMEOUT_NOW */

	/* Leader. */
	struct raft_progress progress[RAFT_MAX_SERVERS];
	raft_index *inflight_pool;
	raft_index noop_index;
	raft_id transfer_target;
	unsigned transfer_elapsed;
	bool transfer_sent; /* TIMEOUT_NOW sent */

	/* ReadIndex. */
	struct raft_read_req *reads;
	size_t n_reads;
	size_t cap_reads;
	uint64_t read_last_ctx; /* highest ctx ever accepted */
	uint64_t read_term_ctx; /* highest ctx accepted in this leadership */

	/* Snapshot transfer, follower side, and what waits for the next
	 * batch. */
	struct raft_snap_recv snap_recv;
	bool pend_has_chunk;
	struct raft_snapshot_chunk pend_chunk;
	void *pend_chunk_buf;
	bool pend_has_install;
	struct raft_snapshot_meta pend_install;

	/* Ready batches: pending (accumulating) and outstanding. */
	struct raft_msgq pend_now;
	struct raft_msgq pend_msgs;
	struct raft_msgq out_now;
	struct raft_msgq out_msgs;
	struct raft_msgq flush_now; /* raft_flush_now()'s, reused */
	bool outstanding;
	bool out_has_install; /* the outstanding batch installs a snapshot */
	void *out_block;
	void *out_chunk_buf;
	size_t out_n_entries;
	raft_index out_last_entry;
	raft_index out_last_committed;
};

/* Small helpers used everywhere. */
static inline raft_index raft_min_index(raft_index a, raft_index b)
{
	return a < b ? a : b;
}

static inline raft_index raft_max_index(raft_index a, raft_index b)
{
	return a > b ? a : b;
}

#endif /* RAFT_INTERNAL_H */

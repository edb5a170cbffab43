/*
 * raft.h -- the Raft consensus protocol as a pure state machine.
 *
 * Why this exists
 * ---------------
 * The core implements the whole protocol (elections with pre-vote and
 * check-quorum, log replication with batching and pipelining, snapshots,
 * single-server membership changes, leadership transfer, ReadIndex) and does
 * no I/O at all: no sockets, no disk, no clock, no random source, no global
 * state. The caller (lmsd's raft node on PostgreSQL + libevent, or the
 * deterministic simulator in tests/) feeds it:
 *
 *   - ticks            raft_tick(), at a fixed interval chosen by the caller;
 *   - messages         raft_step(), decoded from the network;
 *   - requests         raft_propose(), raft_add_server(), raft_read_index(), ...
 *   - a seed           in raft_options, for randomized election timeouts;
 *
 * and collects what the core wants done as a "ready" batch:
 *
 *     while (raft_has_ready(r)) {
 *         struct raft_ready rd;
 *         raft_ready(r, &rd);
 *         send(rd.messages_now);          // may go out at once
 *         persist(rd.hard_state, rd.truncate_from, rd.entries,
 *                 rd.snapshot_chunk, rd.install_snapshot, rd.compact_before);
 *         send(rd.messages);              // only after persist is durable
 *         apply(rd.committed);            // after persist, in log order
 *         deliver(rd.reads);              // once applied >= read.index
 *         raft_advance(r, &rd);           // "persistence (and apply) done"
 *     }
 *
 * Only one ready batch may be outstanding: raft_ready() may not be called
 * again before raft_advance() for the previous one. Between the two, the
 * caller may keep calling raft_tick(), raft_step() and the request functions;
 * what they produce waits for the next batch, except the messages that need
 * no persistence, which raft_flush_now() hands over at once. That is what
 * lets lmsd persist asynchronously (PostgreSQL in flight) while the event
 * loop keeps running, heartbeats and replication included.
 *
 * Ownership
 * ---------
 * Everything passed IN is borrowed: the core copies what it keeps before the
 * call returns. Everything handed OUT in a struct raft_ready is owned by the
 * core and stays valid until raft_advance() for that batch (or raft_free()).
 * raft_status() fills caller memory and keeps no pointer into it.
 *
 * Errors
 * ------
 * Functions that can fail return int: 0 (RAFT_OK) or one of enum raft_error.
 * raft_errmsg() describes the last failure in words. RAFT_ENOMEM leaves the
 * core unchanged (it can be retried). Programmer errors (a second
 * raft_ready() before raft_advance(), an index out of range in an
 * acknowledgement) are assert()s.
 *
 * Naming: public raft_snake_case; internals are prefixed by their file
 * (election_start() lives in election.c). Comments quote the Raft paper or
 * Ongaro's dissertation above the code that implements them.
 */
#ifndef RAFT_H
#define RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t raft_id;    /* server id, never 0 */
typedef uint64_t raft_term;
typedef uint64_t raft_index; /* log index; 0 means "none" */

/* ------------------------------------------------------------------ errors */

enum raft_error {
	RAFT_OK = 0,
	RAFT_ENOMEM = 1,       /* allocation failed; state unchanged */
	RAFT_EINVAL = 2,       /* bad argument (id 0, empty config, ...) */
	RAFT_ENOTLEADER = 3,   /* request needs the leader; see raft_leader() */
	RAFT_EBUSY = 4,        /* a config change or a transfer is in progress */
	RAFT_ENOTFOUND = 5,    /* no such server in the configuration */
	RAFT_EEXISTS = 6,      /* server already in the configuration */
	RAFT_ECATCHUP = 7,     /* non-voter not caught up enough to promote */
	RAFT_ETOOBIG = 8,      /* proposal larger than max_entry_bytes */
	RAFT_ECORRUPT = 9,     /* initial state is inconsistent */
	RAFT_ELEADERSHIPLOST = 10, /* read or transfer aborted: no longer leader */
	RAFT_EREMOVED = 11,    /* this server is not in the configuration */
};

/* Static string for an error code, never NULL. */
const char *raft_strerror(int rv);

/* ----------------------------------------------------------- configuration */

enum raft_role_in_config {
	RAFT_VOTER = 1,    /* counts for elections and commitment */
	RAFT_NONVOTER = 2, /* receives the log, does not vote or count */
};

#define RAFT_ADDRESS_MAX 64 /* "host:port" of the peer listener, NUL ended */

struct raft_server {
	raft_id id;
	int role; /* enum raft_role_in_config */
	char address[RAFT_ADDRESS_MAX];
};

#define RAFT_MAX_SERVERS 16

/* A cluster configuration: a plain value, copied freely. */
struct raft_config {
	unsigned n;
	struct raft_server servers[RAFT_MAX_SERVERS];
};

/* Encoding of a configuration as carried in RAFT_ENTRY_CONFIG entries and in
 * snapshot metadata. The format is the core's own (versioned, little
 * endian); the caller stores the bytes opaquely.
 * raft_config_encode: writes at most cap bytes, returns the size needed (call
 * with cap 0 to size the buffer); nothing is written unless it all fits; 0
 * if c is invalid (more than RAFT_MAX_SERVERS servers, id 0, duplicate ids,
 * unknown role). raft_config_decode: 0 or RAFT_ECORRUPT. */
size_t raft_config_encode(const struct raft_config *c, void *buf, size_t cap);
int raft_config_decode(const void *buf, size_t len, struct raft_config *out);

/* ------------------------------------------------------------------ entries */

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 1, /* application command; data is opaque */
	RAFT_ENTRY_NOOP = 2,   /* appended by each new leader; data empty */
	RAFT_ENTRY_CONFIG = 3, /* data = raft_config_encode() of the new config */
};

struct raft_entry {
	raft_term term;
	raft_index index;
	int type; /* enum raft_entry_type */
	const void *data;
	size_t len;
};

/* ----------------------------------------------------------------- messages */

enum raft_msg_type {
	RAFT_MSG_PREVOTE = 1,
	RAFT_MSG_PREVOTE_RESP = 2,
	RAFT_MSG_VOTE = 3,
	RAFT_MSG_VOTE_RESP = 4,
	RAFT_MSG_APPEND = 5,        /* AppendEntries, also heartbeats */
	RAFT_MSG_APPEND_RESP = 6,
	RAFT_MSG_SNAPSHOT = 7,      /* one chunk of InstallSnapshot */
	RAFT_MSG_SNAPSHOT_RESP = 8,
	RAFT_MSG_TIMEOUT_NOW = 9,   /* leadership transfer: start election now */
};

/* One message. `term` is the sender's current term, except in a PREVOTE
 * request where it is the term the sender would campaign in (term + 1) and
 * in a PREVOTE_RESP where it echoes that term when granted. */
struct raft_message {
	int type; /* enum raft_msg_type */
	raft_id from;
	raft_id to;
	raft_term term;
	union {
		struct { /* PREVOTE, VOTE */
			raft_index last_log_index;
			raft_term last_log_term;
			bool transfer; /* sent because of TIMEOUT_NOW: bypasses
			                  leader stickiness */
		} vote;
		struct { /* PREVOTE_RESP, VOTE_RESP */
			bool granted;
		} vote_resp;
		struct { /* APPEND */
			raft_index prev_index;
			raft_term prev_term;
			raft_index commit;
			const struct raft_entry *entries;
			size_t n_entries;
			uint64_t read_ctx; /* highest ReadIndex context this
			                      heartbeat confirms; 0 = none */
		} append;
		struct { /* APPEND_RESP */
			bool success;
			/* success: highest index known to match the leader's log.
			 * failure: the rejected prev_index. */
			raft_index index;
			/* failure hints for fast backup (Section 5.3): the term
			 * of the conflicting entry at prev_index (0 if the
			 * follower's log is shorter) and the first index the
			 * follower has of that term (or last_index + 1). */
			raft_term conflict_term;
			raft_index conflict_index;
			raft_index last_index; /* follower's last log index */
			uint64_t read_ctx;     /* echoed from the APPEND */
		} append_resp;
		struct { /* SNAPSHOT: one chunk */
			raft_index index; /* last index the snapshot covers */
			raft_term snap_term;
			struct raft_config config; /* config as of index */
			uint64_t offset; /* byte offset of this chunk */
			uint64_t total;  /* total snapshot size in bytes */
			const void *data; /* chunk bytes, see below */
			size_t len;
			bool done; /* last chunk: offset + len == total */
		} snapshot;
		struct { /* SNAPSHOT_RESP */
			raft_index index; /* snapshot being transferred */
			uint64_t next_offset; /* bytes stored so far */
			bool rejected; /* follower gave up on this transfer
			                  (e.g. it already has newer state) */
		} snapshot_resp;
	};
};

/* Snapshot chunks: the core never holds snapshot bytes. An outgoing SNAPSHOT
 * message is emitted with data == NULL and len set to the chunk size; the
 * caller (transport) fills `data` with bytes [offset, offset+len) of its
 * stored snapshot `index` before sending. On the receiving side the core
 * hands each chunk to the caller in raft_ready.snapshot_chunk to store. */

/* ------------------------------------------------------------------- state */

/* What the caller persisted, handed back at start-up. */
struct raft_hard_state {
	raft_term term;
	raft_id vote; /* 0 = voted for nobody in term */
};

struct raft_snapshot_meta {
	raft_index index; /* 0 = no snapshot */
	raft_term term;
	struct raft_config config;
	uint64_t size; /* bytes */
};

struct raft_initial_state {
	struct raft_hard_state hard_state;
	struct raft_snapshot_meta snapshot; /* latest complete snapshot */
	/* Log entries snapshot.index+1 .. in order, without gaps (entries
	 * at or below snapshot.index are allowed and ignored). Borrowed. */
	const struct raft_entry *entries;
	size_t n_entries;
	/* The state machine's last applied index (>= snapshot.index). */
	raft_index applied;
	/* Used only when log and snapshot are both empty: the configuration to
	 * bootstrap with. Every initial member must be given the same one; the
	 * core then appends it as a CONFIG entry at index 1, term 1 (so all
	 * initial members have byte-identical logs). A server that joins an
	 * existing cluster passes n == 0 and waits to be contacted. */
	struct raft_config bootstrap;
};

/* ----------------------------------------------------------------- options */

struct raft_options {
	raft_id id;               /* this server */
	uint64_t seed;            /* for randomized election timeouts */
	unsigned election_ticks;  /* base election timeout; the randomized
	                             timeout is in [election, 2*election) */
	unsigned heartbeat_ticks; /* < election_ticks */
	bool pre_vote;            /* default true */
	bool check_quorum;        /* default true */
	unsigned max_entries_per_msg;  /* batching bound, count */
	size_t max_bytes_per_msg;      /* batching bound, bytes (a single
	                                  bigger entry is still sent alone) */
	size_t max_entry_bytes;   /* largest proposal raft_propose accepts,
	                             bytes; 0 = max_bytes_per_msg. Larger
	                             than max_bytes_per_msg lets one entry
	                             exceed the batching bound: it then goes
	                             alone in its APPEND, so the transport
	                             must carry max_entry_bytes plus a
	                             message header in one frame */
	unsigned max_inflight;    /* APPENDs in flight per peer (replicate) */
	raft_index snapshot_trailing; /* entries kept behind a snapshot */
	size_t snapshot_chunk_bytes;  /* InstallSnapshot chunk size */
	raft_index catchup_margin; /* promote allowed when the non-voter's
	                              match >= leader last_index - margin */
};

/* Fills defaults: election 10, heartbeat 1, pre_vote and check_quorum on,
 * 64 entries / 1 MiB per message, entries up to max_bytes_per_msg
 * (max_entry_bytes 0, so 1 MiB), 64 in flight, trailing 1000, 256 KiB
 * chunks, catch-up margin 100. id and seed are left 0. */
void raft_options_default(struct raft_options *o);

/* -------------------------------------------------------------- lifecycle */

struct raft;

/* Creates a core from its options and persisted state (both copied).
 * Returns NULL on failure with a message in errbuf (may be NULL):
 * RAFT_ECORRUPT-style inconsistencies (gaps in entries, applied beyond the
 * log, vote for an unknown id is allowed) or out of memory. */
struct raft *raft_new(const struct raft_options *o,
                      const struct raft_initial_state *s,
                      char *errbuf, size_t errlen);

/* Frees the core and everything it handed out. */
void raft_free(struct raft *r);

/* Message describing the last error returned by a call on r. */
const char *raft_errmsg(const struct raft *r);

/* ------------------------------------------------------------------ inputs */

/* One tick of the logical clock. May start an election, send heartbeats,
 * step down a leader that lost its quorum (check-quorum), expire a
 * leadership transfer. */
void raft_tick(struct raft *r);

/* A message from the network. Messages to another id, from an unknown
 * sender or with a stale term are handled per the protocol (mostly
 * ignored); never an error for the caller. Returns RAFT_ENOMEM only. */
int raft_step(struct raft *r, const struct raft_message *m);

/* Appends a normal entry (data copied) to the leader's log. On success
 * *index (may be NULL) receives its log index and *term its term; the
 * caller learns the outcome when an entry with that index is in
 * raft_ready.committed (same term: committed; other term: lost).
 * RAFT_ENOTLEADER, RAFT_ETOOBIG (len above max_entry_bytes, see
 * raft_options), RAFT_ENOMEM. Also refused with
 * RAFT_EBUSY while a leadership transfer is in progress. */
int raft_propose(struct raft *r, const void *data, size_t len,
                 raft_index *index, raft_term *term);

/* Membership, one server at a time (Section 4.1 of the dissertation). Each
 * appends a CONFIG entry that takes effect as soon as it is appended.
 * RAFT_EBUSY while an earlier config entry is uncommitted.
 *   add:     new server as RAFT_NONVOTER (RAFT_EEXISTS if present)
 *   promote: non-voter -> voter (RAFT_ECATCHUP if it lags more than
 *            catchup_margin, RAFT_EINVAL if already a voter)
 *   remove:  any server, the leader included: a removed leader keeps
 *            leading until the entry commits, then steps down. */
int raft_add_server(struct raft *r, raft_id id, const char *address,
                    raft_index *index);
int raft_promote(struct raft *r, raft_id id, raft_index *index);
int raft_remove_server(struct raft *r, raft_id id, raft_index *index);

/* Leadership transfer (Section 3.10): target 0 picks the most up-to-date
 * voter. The leader stops accepting proposals, brings the target up to date,
 * then sends it TIMEOUT_NOW. Aborted after an election timeout.
 * RAFT_ENOTLEADER, RAFT_ENOTFOUND, RAFT_EINVAL (target is self or a
 * non-voter), RAFT_EBUSY (transfer already running). */
int raft_transfer_leadership(struct raft *r, raft_id target);

/* ReadIndex (Section 6.4): ctx is the caller's id for this read, non-zero and
 * increasing. The answer comes in raft_ready.reads: {ctx, index, 0} once a
 * quorum has confirmed leadership (the caller serves the read once its
 * applied index >= index), or {ctx, 0, RAFT_ELEADERSHIPLOST}. Reads asked
 * before this term's no-op has committed wait for it.
 * RAFT_ENOTLEADER. */
int raft_read_index(struct raft *r, uint64_t ctx);

/* The caller has taken a snapshot of its state machine at `index` (<= the
 * applied index) of `size` bytes, stored under that index. The core records
 * it as the latest snapshot (used to catch up followers) and compacts its
 * log up to index - snapshot_trailing (raft_ready.compact_before tells the
 * caller what to delete). *meta (may be NULL) receives the metadata to store
 * beside the snapshot (term and config as of index).
 * RAFT_EINVAL if index is above applied (the committed entries of an
 * outstanding batch count as applied) or below the current snapshot. */
int raft_snapshot_taken(struct raft *r, raft_index index, uint64_t size,
                        struct raft_snapshot_meta *meta);

/* The transport could not deliver to `id` (connection down): the core
 * falls back to probing that peer. Optional, an optimization. */
void raft_report_unreachable(struct raft *r, raft_id id);

/* -------------------------------------------------------------- ready/advance */

struct raft_read_result {
	uint64_t ctx;
	raft_index index; /* serve once applied >= index */
	int rv;           /* 0 or RAFT_ELEADERSHIPLOST */
};

struct raft_snapshot_chunk {
	raft_index index; /* snapshot this chunk belongs to */
	raft_term term;
	uint64_t offset;
	uint64_t total;
	const void *data;
	size_t len;
	bool done; /* last chunk: after storing it, install the snapshot */
};

struct raft_ready {
	/* Persist term and vote durably (when has_hard_state). */
	bool has_hard_state;
	struct raft_hard_state hard_state;

	/* Snapshot transfer in progress (follower side): store this chunk.
	 * When chunk.done, install the snapshot described by install_snapshot
	 * (replace the state machine with it, set applied to its index) and
	 * drop the whole log: the core has already done the same in memory. */
	bool has_snapshot_chunk;
	struct raft_snapshot_chunk snapshot_chunk;
	bool has_install_snapshot;
	struct raft_snapshot_meta install_snapshot;

	/* Log changes, applied in this order: delete entries with index >=
	 * truncate_from (0 = none); append entries[]; delete entries with
	 * index < compact_before (0 = none). */
	raft_index truncate_from;
	const struct raft_entry *entries;
	size_t n_entries;
	raft_index compact_before;

	/* Messages that may be sent before the persistence above is done
	 * (a leader's APPEND/SNAPSHOT/TIMEOUT_NOW: Section 10.2.1; a
	 * follower's answer acknowledging only durable entries). */
	const struct raft_message *messages_now;
	size_t n_messages_now;

	/* Messages that must wait until the persistence above is durable
	 * (votes, other responses, candidacy). */
	const struct raft_message *messages;
	size_t n_messages;

	/* Committed entries to apply, in order, contiguous, starting at the
	 * last applied index + 1. Includes NOOP and CONFIG entries (the state
	 * machine skips them but still records them as applied). Only entries
	 * already durable before this batch are handed out. */
	const struct raft_entry *committed;
	size_t n_committed;

	/* Completed ReadIndex requests. */
	const struct raft_read_result *reads;
	size_t n_reads;
};

/* True when raft_ready() would return a non-empty batch (false while a batch
 * is outstanding: ask again after raft_advance()). */
bool raft_has_ready(const struct raft *r);

/* Takes the next batch (see the top of this file). Must not be called while
 * a previous batch is not yet advanced. */
void raft_ready(struct raft *r, struct raft_ready *rd);

/* Everything in rd is durable, its messages were handed to the transport and
 * its committed entries applied. Frees the batch. */
void raft_advance(struct raft *r, const struct raft_ready *rd);

/* Messages that need no persistence (a leader's APPEND, SNAPSHOT and
 * TIMEOUT_NOW; a follower's answer that acknowledges only durable entries)
 * may leave without waiting for a batch, also while one is outstanding:
 * raft_flush_now() calls send() for each, in order, and frees them (send
 * must copy what it keeps and may only read the core: raft_status()). Calling
 * it after every raft_step()/raft_tick()/request keeps heartbeats and
 * replication going while a slow disk holds a batch; a caller that never
 * calls it gets the same messages in the next batch's messages_now.
 * Returns how many were sent. */
typedef void (*raft_send_fn)(void *arg, const struct raft_message *m);
bool raft_has_now(const struct raft *r);
size_t raft_flush_now(struct raft *r, raft_send_fn send, void *arg);

/* ------------------------------------------------------------------ status */

enum raft_role {
	RAFT_FOLLOWER = 1,
	RAFT_PRECANDIDATE = 2,
	RAFT_CANDIDATE = 3,
	RAFT_LEADER = 4,
};
const char *raft_role_name(int role);

enum raft_progress_state {
	RAFT_PROGRESS_PROBE = 1,
	RAFT_PROGRESS_REPLICATE = 2,
	RAFT_PROGRESS_SNAPSHOT = 3,
};

struct raft_peer_status {
	raft_id id;
	int role_in_config;      /* RAFT_VOTER / RAFT_NONVOTER */
	char address[RAFT_ADDRESS_MAX];
	raft_index match_index;  /* leader only */
	raft_index next_index;   /* leader only */
	int progress;            /* enum raft_progress_state, leader only */
	unsigned inflight;       /* leader only */
	uint64_t ticks_since_contact; /* leader only */
};

struct raft_status {
	raft_id id;
	int role;                /* enum raft_role */
	raft_term term;
	raft_id vote;
	raft_id leader;          /* 0 = unknown */
	raft_index commit_index;
	raft_index applied_index;   /* handed out in ready.committed */
	raft_index last_index;
	raft_term last_term;
	raft_index first_index;     /* first entry still in the log */
	raft_index snapshot_index;
	raft_index config_index;    /* index of the config in effect */
	bool config_committed;
	raft_id transfer_target;    /* 0 = none */
	bool term_committed;        /* leader: its no-op has committed (it
	                               serves reads and config changes) */
	unsigned n_peers;
	struct raft_peer_status peers[RAFT_MAX_SERVERS]; /* incl. self */
};

void raft_status(const struct raft *r, struct raft_status *st);

/* Cheap accessors. */
raft_id raft_leader(const struct raft *r);
int raft_role(const struct raft *r);
raft_term raft_current_term(const struct raft *r);
/* Term of entry `index` in the in-memory log (which may run ahead of what
 * ready batches handed out), the snapshot's term at its index, 0 if
 * absent or compacted. */
raft_term raft_term_at(const struct raft *r, raft_index index);

#ifdef __cplusplus
}
#endif
#endif /* RAFT_H */

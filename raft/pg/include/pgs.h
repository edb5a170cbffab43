/*
 * pgs.h -- the PostgreSQL storage driver of the Raft core.
 *
 * Why this exists
 * ---------------
 * The core (raft.h) does no I/O: it hands the caller a ready batch with the
 * hard state, log changes, snapshot chunks and committed entries, and waits
 * for raft_advance(). This driver does the storage half of that loop on the
 * node's own PostgreSQL database:
 *
 *     pgs_open(conninfo, node_id, cluster, sm, &pgs, err, errlen);
 *     pgs_load(pgs, &initial);             // -> raft_new()
 *     loop:
 *         raft_ready(r, &rd);
 *         pgs_persist(pgs, &rd, results);  // ONE transaction, one fsync:
 *                                          // hard state, log, snapshot
 *                                          // chunk/install, apply
 *         ... send rd.messages, answer clients from results ...
 *         raft_advance(r, &rd);
 *     pgs_snapshot_create(pgs, &meta);     // now and then
 *     raft_snapshot_taken(r, meta.index, meta.size, NULL);
 *
 * Everything is synchronous (libpq blocking calls): lmsd calls it from a
 * dedicated storage thread. A handle is not thread safe; one handle per
 * database: pgs_open takes a session advisory lock so that a second process
 * pointed at the same database is refused instead of corrupting it.
 *
 * The apply step (DESIGN.md "The apply step")
 * -------------------------------------------
 * Committed entries are applied inside the persist transaction, which also
 * sets raft.applied.last_applied: after a crash the node resumes at
 * last_applied + 1 and every entry takes effect exactly once. NOOP and
 * CONFIG entries only advance last_applied (CONFIG also rewrites
 * raft.membership). NORMAL entries carry an exactly-once envelope
 *
 *     u64 client_id | u64 seq | payload          (little endian)
 *
 * handled here, below the state machine: with client_id != 0 the pair
 * (client_id, seq) is checked against raft_state.client_session; a retry of
 * the last applied seq returns the recorded result without applying again,
 * an older seq gets PGS_STALE. client_id 0 means "no dedup". The session
 * table is replicated state (in snapshots and checksums). Known limit: it
 * is never trimmed; one row per client id ever used.
 *
 * The state machine (struct pgs_state_machine) sees only the payload and
 * must be deterministic: no now(), random(), sequences; ids come from the
 * log index. A command that is invalid against the state is answered with
 * an error RESULT (recorded, the same on every node); a non-zero return
 * from apply means a real database failure: the whole persist transaction
 * is rolled back and pgs_persist fails (the caller restarts the node). An
 * SQL error raised by a deterministic bug in apply therefore stops the node
 * on every replay: apply should check what could violate a constraint
 * instead of relying on the constraint, or use its own SAVEPOINT.
 *
 * State tables
 * ------------
 * The replicated state is a list of tables: the state machine's fixed
 * `tables`, raft_state.client_session, and every table of its `schemas`
 * (see struct pgs_state_machine). The last part changes when apply runs
 * DDL (a migration entry): the driver lists the tables again before every
 * checksum, before writing a snapshot and while installing one, so a
 * table created by entry i is in every checksum and snapshot taken at or
 * after i. Each state table needs a primary key (the row order of
 * checksums and snapshots).
 *
 * Snapshots
 * ---------
 * A snapshot is the state at raft.applied.last_applied: the state
 * machine's schema_dump (what its schemas look like), then the content of
 * every state table as COPY BINARY streams, framed in a small container
 * (format 2, see pg_internal.h), stored in chunks in raft.snapshot /
 * raft.snapshot_chunk. Installing it, in the persist transaction, hands
 * the dump to schema_load (which rebuilds the schemas, e.g. by running
 * the migrations again), lists the state tables again, checks that the
 * snapshot holds exactly those, TRUNCATEs them and COPYs the streams
 * back: the tables come out with identical content (pgs_state_checksum).
 * Generated columns are not carried: the receiver computes them. A
 * snapshot in another container format (format 1 had no schema) is
 * refused with PGS_ECORRUPT and a message naming the format.
 *
 * An install COPYs the tables in list order with foreign keys checked at
 * the end of each COPY: the discovered tables are ordered so that a table
 * follows the ones it references (by name otherwise). Foreign-key cycles
 * among state tables need INITIALLY DEFERRED constraints.
 *
 * Ownership
 * ---------
 * Strings and structs passed in are copied unless said otherwise. The
 * state machine passed to pgs_open is borrowed and must outlive the
 * handle. Memory handed out (loaded entries, apply results) is owned by
 * the handle and valid until the call named beside it.
 *
 * Errors
 * ------
 * Fallible calls return 0 (PGS_OK) or an enum pgs_error code, and describe
 * the failure in PostgreSQL style ("could not append entries 10..20:
 * <server message>") in a buffer read with pgs_errmsg(). After a failed
 * pgs_persist the database is unchanged (the transaction is rolled back)
 * but the handle refuses further writes with PGS_EBROKEN until pgs_load()
 * re-reads the state: the caller is expected to restart its core anyway.
 */
#ifndef LMS_PGS_H
#define LMS_PGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "raft.h"

#ifdef __cplusplus
extern "C" {
#endif

enum pgs_error {
	PGS_OK = 0,
	PGS_ENOMEM = 1,    /* allocation failed */
	PGS_EDB = 2,       /* connection or query failure (server message) */
	PGS_ECORRUPT = 3,  /* stored state inconsistent (gap, bad snapshot) */
	PGS_EIDENTITY = 4, /* database belongs to another node or cluster */
	PGS_EINVAL = 5,    /* bad argument or call out of order */
	PGS_ENOTFOUND = 6, /* no such snapshot / snapshot bytes */
	PGS_EBROKEN = 7,   /* an earlier persist failed: pgs_load() first */
	PGS_EBUSY = 8,     /* another process holds this database */
};

/* Static string naming an error code, never NULL. */
const char *pgs_strerror(int rv);

/* ------------------------------------------------------------- buffers */

/* A growable byte buffer. Zero-initialize (PGS_BUF_INIT) before use. */
struct pgs_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
};
#define PGS_BUF_INIT {NULL, 0, 0}

/* Makes room for `extra` more bytes. 0 or PGS_ENOMEM (buffer unchanged). */
int pgs_buf_reserve(struct pgs_buf *b, size_t extra);
/* Appends n bytes (p may be NULL when n == 0). 0 or PGS_ENOMEM. */
int pgs_buf_append(struct pgs_buf *b, const void *p, size_t n);
/* Forgets the content, keeps the memory. */
void pgs_buf_reset(struct pgs_buf *b);
/* Frees the memory; the buffer is PGS_BUF_INIT again. */
void pgs_buf_free(struct pgs_buf *b);

/* ------------------------------------------------------- state machine */

/*
 * A replicated state machine living in PostgreSQL tables.
 *
 * tables: NULL-terminated list of "schema.table" names (lower case
 *   identifiers) that are always part of its state, in dependency order
 *   (referenced tables first), each with a primary key. They must exist
 *   when pgs_open checks them (after setup_sql). Snapshots copy them in
 *   this order, first.
 * apply: applies one command (the payload of a NORMAL entry, envelope
 *   removed) at log index `index`, inside the persist transaction, on conn.
 *   Writes its answer to `result` (empty on entry; its bytes are recorded
 *   for exactly-once retries and handed back in pgs_apply_result). Returns
 *   0, also for a command rejected by the state (the rejection is the
 *   result); non-zero only on a database failure, with a message in err.
 *   It may run DDL in the `schemas` (a migration): the next checksum or
 *   snapshot sees the new tables.
 * flush: may be NULL. apply may leave statements in flight on conn
 *   (libpq pipeline mode) when their outcome cannot change its answer
 *   (pgs_kv_state_machine's puts: one round trip for many); flush waits
 *   for them and leaves pipeline mode. The driver calls it after the
 *   batch's entries (also when one failed) and before it uses conn
 *   itself; apply must flush first before any statement whose result it
 *   needs. 0, or non-zero with a message in err (a deferred statement
 *   failed: the whole apply fails, as if it had failed at once).
 * prepare: may be NULL; called once per connection after pgs_open has set
 *   it up, to PQprepare the statements apply uses. Non-zero = failure.
 *   It runs before any migration on a fresh node: a statement on a table
 *   of `schemas` cannot be prepared here.
 *
 * The schema of the state (all optional, NULL when unused; a machine whose
 * tables are all fixed, like pgs_kv_state_machine, sets none):
 *
 * setup_sql: an idempotent script pgs_open runs on the writer handle,
 *   after the driver's own schema and before the tables are checked, as
 *   one implicit transaction: creates what must always exist (e.g. the
 *   machine's fixed tables: "CREATE SCHEMA IF NOT EXISTS x; CREATE TABLE
 *   IF NOT EXISTS x.t (...)"). Not run by pgs_open_reader.
 * schemas: NULL-terminated list of schema names (lower-case identifiers).
 *   Every ordinary or partitioned table in them (pg_class relkind 'r' or
 *   'p', partitions excluded) is a state table too, after the fixed ones:
 *   ordered by name, except that a table comes after the tables its
 *   foreign keys reference. Their names must be lower-case identifiers and
 *   each needs a primary key (else checksums, snapshots and pgs_open fail
 *   with PGS_EINVAL naming the table). The schemas need not exist (a
 *   fresh node before its first migration). Tables listed in `tables` are
 *   not discovered twice.
 * schema_dump: writes to `out` (empty on entry) a description of the
 *   schemas that schema_load can rebuild them from (e.g. the SQL of the
 *   migrations applied so far). Called while a snapshot is written, on
 *   the connection and in the REPEATABLE READ transaction the tables are
 *   read from, so it sees the state the rows are from. Must not end the
 *   transaction. At most 64 MiB. 0, or non-zero with a message in err:
 *   pgs_snapshot_create then fails (PGS_EDB) and stores nothing.
 * schema_load: called inside the install transaction (pgs_persist's) on
 *   the handle's connection, with the bytes of the snapshot's schema_dump
 *   (len may be 0: the dump was empty), before the state tables are
 *   listed again, emptied and loaded: it must bring the schemas to the
 *   state the dump describes (e.g. DROP SCHEMA ... CASCADE, then the
 *   migrations again), leaving their tables empty or not (they are
 *   TRUNCATEd next). The rows of every state table, the fixed ones
 *   included, then come from the snapshot. Must not end the transaction
 *   (a SAVEPOINT is fine). 0, or non-zero with a message in err: the
 *   install fails (PGS_EDB), the transaction is rolled back, and the
 *   node keeps its previous schema and rows.
 *   schema_dump and schema_load come together: pgs_open refuses one
 *   without the other.
 */
struct pgs_state_machine {
	const char *name;
	const char *const *tables;
	int (*apply)(void *ctx, PGconn *conn, raft_index index,
	             const void *cmd, size_t len, struct pgs_buf *result,
	             char *err, size_t errlen);
	int (*prepare)(void *ctx, PGconn *conn, char *err, size_t errlen);
	int (*flush)(void *ctx, PGconn *conn, char *err, size_t errlen);
	void *ctx;
	const char *setup_sql;
	const char *const *schemas;
	int (*schema_dump)(void *ctx, PGconn *conn, struct pgs_buf *out,
	                   char *err, size_t errlen);
	int (*schema_load)(void *ctx, PGconn *conn, const void *script,
	                   size_t len, char *err, size_t errlen);
};

/* --------------------------------------------------- exactly-once envelope */

#define PGS_ENVELOPE_HEADER 16 /* u64 client_id + u64 seq */

/* Appends client_id | seq | payload to out. 0 or PGS_ENOMEM. */
int pgs_envelope_encode(struct pgs_buf *out, uint64_t client_id,
                        uint64_t seq, const void *payload, size_t len);

/* Splits an entry's data. *payload points into data (borrowed).
 * 0, or PGS_EINVAL when data is shorter than the header or when
 * client_id != 0 and seq == 0 (sequences start at 1). */
int pgs_envelope_decode(const void *data, size_t len, uint64_t *client_id,
                        uint64_t *seq, const void **payload,
                        size_t *payload_len);

/* ------------------------------------------------------------ lifecycle */

struct pgs;

#define PGS_DEFAULT_CHUNK_BYTES (256u * 1024u) /* as raft_options_default */

/*
 * Connects (conninfo: a libpq connection string), applies the node-local
 * schema embedded at build time (sql/001_raft.sql, sql/002_state.sql;
 * idempotent) and then sm's setup_sql, fixes the session settings apply
 * depends on (UTC, ISO dates, synchronous_commit on), and checks
 * raft.node_identity: a fresh database is stamped with (node_id,
 * cluster); one stamped for another node or cluster is refused with
 * PGS_EIDENTITY. Refuses a server running with fsync = off, and a
 * database another process has open (PGS_EBUSY, after waiting up to 5 s
 * for it to go away). Checks that every fixed table of sm exists and that
 * every state table (fixed or discovered in sm's schemas) has a primary
 * key (PGS_EINVAL).
 *
 * sm is borrowed and must outlive the handle. On failure *out is NULL and
 * err (errlen bytes, may be NULL) says why; the return value is the code.
 */
int pgs_open(const char *conninfo, raft_id node_id, const char *cluster,
             const struct pgs_state_machine *sm, struct pgs **out,
             char *err, size_t errlen);

/*
 * A second handle on the same database for reads only, used from another
 * thread than the writer's: pgs_kv_get, pgs_snapshot_read,
 * pgs_state_checksum and pgs_conn. It takes no lock and changes nothing
 * (no schema, no setup_sql, no identity): open it after the writer's
 * pgs_open. Write
 * calls (pgs_load, pgs_persist, pgs_snapshot_create) refuse it with
 * PGS_EINVAL.
 */
int pgs_open_reader(const char *conninfo,
                    const struct pgs_state_machine *sm, struct pgs **out,
                    char *err, size_t errlen);

/* Closes the connection (an open transaction is rolled back by the
 * server) and frees everything the handle owns. NULL is allowed. */
void pgs_close(struct pgs *pgs);

/* Sets again on conn the session settings every storage connection gets
 * (time zone, date style, float digits, ...: what makes apply
 * deterministic), e.g. after SQL from a state machine's migration that may
 * have changed them. Inside a transaction the settings are transactional.
 * 0, or -1 with a message in err. */
int pgs_session_settings(PGconn *conn, char *err, size_t errlen);

/* The message of the last failure on pgs ("" if none). */
const char *pgs_errmsg(const struct pgs *pgs);

/* The connection, for reads by the caller (e.g. the LMS service's stale
 * reads) between calls. Do not leave a transaction open on it. */
PGconn *pgs_conn(struct pgs *pgs);

/* Snapshot chunk size used by pgs_snapshot_create (default
 * PGS_DEFAULT_CHUNK_BYTES; use raft_options.snapshot_chunk_bytes).
 * 0 or PGS_EINVAL for 0. */
int pgs_set_chunk_bytes(struct pgs *pgs, size_t bytes);

/* --------------------------------------------------------------- load */

/*
 * Reads the persisted state, in one consistent (REPEATABLE READ) view:
 * hard state; the latest complete snapshot's metadata (config decoded);
 * every log entry above it; the applied index. out->bootstrap is zeroed:
 * the caller fills it from its configuration.
 *
 * out->entries and their data are owned by pgs until the next pgs_load
 * or pgs_close. Also clears PGS_EBROKEN.
 *
 * PGS_ECORRUPT when the log has a gap, does not start right after the
 * snapshot, has decreasing terms or an undecodable CONFIG entry, when the
 * snapshot's chunks do not add up to its size or its config does not
 * decode, or when the applied index lies outside [snapshot, last entry].
 */
int pgs_load(struct pgs *pgs, struct raft_initial_state *out);

/* ------------------------------------------------------------ persist */

enum pgs_apply_status {
	PGS_APPLIED = 0,      /* the state machine ran; result is its answer */
	PGS_DUPLICATE = 1,    /* (client, seq) was applied before: result is
	                         the answer recorded then; nothing changed */
	PGS_STALE = 2,        /* seq older than the client's last: no answer
	                         is kept; nothing changed */
	PGS_BAD_ENVELOPE = 3, /* data shorter than the envelope or seq 0 */
	PGS_NOT_NORMAL = 4,   /* NOOP or CONFIG entry: nothing to answer */
};

struct pgs_apply_result {
	raft_index index;
	raft_term term;
	int type;    /* enum raft_entry_type */
	int status;  /* enum pgs_apply_status */
	uint64_t client_id;
	uint64_t seq;
	/* The state machine's answer. Owned by pgs, valid until the next
	 * pgs_persist or pgs_close. NULL when result_len == 0. */
	const void *result;
	size_t result_len;
};

/*
 * Makes rd durable and applies its committed entries, in ONE transaction
 * (one fsync with synchronous_commit on), in this order:
 *   1. hard state (if has_hard_state);
 *   2. the snapshot chunk (if has_snapshot_chunk): offset 0 starts a new
 *      incomplete raft.snapshot row (dropping other incomplete ones); a
 *      later offset must continue the stored bytes (a resent chunk
 *      replaces what was stored from its offset on);
 *   3. the snapshot install (if has_install_snapshot): state tables
 *      replaced by the snapshot's content, last_applied = its index, the
 *      whole log deleted, the snapshot marked complete with its meta,
 *      older snapshots deleted, raft.membership rewritten;
 *   4. delete log entries >= truncate_from (if non-zero);
 *   5. append rd->entries (those at or below an index installed in the
 *      same batch are skipped: the snapshot covers them);
 *   6. delete log entries < compact_before (if non-zero);
 *   7. apply rd->committed in order (the first must be last_applied + 1)
 *      and set raft.applied.last_applied to the last one.
 *
 * results: an array of at least rd->n_committed elements (may be NULL
 * when there are none), filled in order.
 *
 * On any failure the transaction is rolled back, the handle becomes
 * PGS_EBROKEN and the code is returned (PGS_EDB, PGS_ECORRUPT for an
 * inconsistent batch or snapshot, PGS_ENOMEM). A batch with nothing to
 * persist or apply costs nothing.
 */
int pgs_persist(struct pgs *pgs, const struct raft_ready *rd,
                struct pgs_apply_result *results);

/* Where the time of the last successful pgs_persist went, in
 * microseconds (monotonic clock): the log part (hard state, snapshot
 * chunk or install, truncation, append, compaction), the apply part
 * (committed entries through the state machine), and the COMMIT, which is
 * where PostgreSQL waits for its fsync. All zero for an empty batch. */
struct pgs_timing {
	uint64_t log_us;
	uint64_t apply_us;
	uint64_t commit_us;
};
void pgs_last_timing(const struct pgs *pgs, struct pgs_timing *out);

/* The applied index as of the last pgs_load/pgs_persist. */
raft_index pgs_last_applied(const struct pgs *pgs);

/* ----------------------------------------------------------- snapshots */

/*
 * Takes a snapshot of the state at the current last_applied, listing the
 * state tables, running sm's schema_dump and reading every table in one
 * REPEATABLE READ transaction (on a second, short-lived
 * connection) while the chunks are written on the handle's connection, so
 * memory stays bounded by a few chunks whatever the state size. Stores it
 * complete at index = last_applied with the term and config as of that
 * index (taken from the stored log/snapshot), deletes every older
 * snapshot (an incomplete one being received at a newer index is kept),
 * and fills *meta (index, term, config, size). If a complete snapshot at
 * last_applied already exists, only fills *meta.
 *
 * Then call raft_snapshot_taken(r, meta->index, meta->size, ...): the core
 * derives the same term and config. PGS_EINVAL when nothing is applied.
 */
int pgs_snapshot_create(struct pgs *pgs, struct raft_snapshot_meta *meta);

/*
 * Copies bytes [offset, offset + len) of the complete snapshot `index`
 * into buf (to fill an outgoing SNAPSHOT message). PGS_ENOTFOUND if there
 * is no such complete snapshot (e.g. replaced by a newer one) or the range
 * lies beyond its end.
 */
int pgs_snapshot_read(struct pgs *pgs, raft_index index, uint64_t offset,
                      void *buf, size_t len);

/* ------------------------------------------------------------ checking */

/*
 * Hex SHA-256 (64 characters + NUL) over the content of every state
 * table (listed again first: tables created by a migration count), rows
 * in primary-key order (text keys in "C" collation), read in one
 * REPEATABLE READ transaction; *applied (may be NULL) receives the
 * last_applied of that same view. Two nodes with equal applied indexes
 * must have equal checksums. A row is its stored columns: generated
 * columns are left out, as in snapshots (they follow from the stored
 * ones; some, like to_tsvector, also from the server's version). The
 * schema itself is not covered. Works on a reader handle too.
 */
int pgs_state_checksum(struct pgs *pgs, char out[65], raft_index *applied);

/* ------------------------------------------------- the key/value machine */

/*
 * A small state machine, for tests and examples: table raft_state.kv
 * (key text primary key, value bytea, version bigint = index of the last
 * write). Commands (little endian; keys 1..PGS_KV_KEY_MAX bytes of UTF-8
 * without NUL):
 *
 *   u8 op | u32 key_len | key | op-specific part
 *     PGS_KV_PUT    (1): u32 value_len | value
 *     PGS_KV_DELETE (2): nothing
 *     PGS_KV_CAS    (3): u8 has_expected | u32 expected_len | expected |
 *                        u32 value_len | value
 *                        (has_expected 0: the key must be absent)
 *
 * Results:  u8 code | u64 version | u8 has_value | u32 value_len | value
 *   PGS_KV_OK        version = this entry's index
 *   PGS_KV_CONFLICT  CAS mismatch: the current value (has_value 0 if the
 *                    key is absent) and its version
 *   PGS_KV_NOT_FOUND DELETE of an absent key
 *   PGS_KV_BAD_COMMAND  malformed command; value = a reason in words
 */
extern const struct pgs_state_machine pgs_kv_state_machine;

#define PGS_KV_KEY_MAX 1024

enum pgs_kv_op { PGS_KV_PUT = 1, PGS_KV_DELETE = 2, PGS_KV_CAS = 3 };

enum pgs_kv_code {
	PGS_KV_OK = 0,
	PGS_KV_CONFLICT = 1,
	PGS_KV_NOT_FOUND = 2,
	PGS_KV_BAD_COMMAND = 3,
};

/* Command encoders: append the command to out. 0, PGS_EINVAL (key empty,
 * too long, not UTF-8 or with a NUL), PGS_ENOMEM. value may be NULL when
 * its length is 0; expected NULL in CAS means "key must be absent". */
int pgs_kv_encode_put(struct pgs_buf *out, const char *key,
                      const void *value, size_t value_len);
int pgs_kv_encode_delete(struct pgs_buf *out, const char *key);
int pgs_kv_encode_cas(struct pgs_buf *out, const char *key,
                      const void *expected, size_t expected_len,
                      const void *value, size_t value_len);

struct pgs_kv_result {
	int code; /* enum pgs_kv_code */
	raft_index version;
	bool has_value;
	const void *value; /* points into the decoded buffer (borrowed) */
	size_t value_len;
};

/* 0 or PGS_EINVAL for a malformed result. */
int pgs_kv_decode_result(const void *buf, size_t len,
                         struct pgs_kv_result *out);

/*
 * Reads a key from the node's own database (a stale read: it reflects
 * *applied, read in the same statement). *found false when absent; value
 * (reset first) receives the bytes. Any of value, version, applied may be
 * NULL.
 */
int pgs_kv_get(struct pgs *pgs, const char *key, struct pgs_buf *value,
               bool *found, raft_index *version, raft_index *applied);

#ifdef __cplusplus
}
#endif
#endif /* LMS_PGS_H */

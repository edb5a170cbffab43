/*
 * pg_internal.h -- what the files of raft/pg share: the handle, the query
 * helpers, byte-order helpers and the per-file entry points.
 *
 * Files (one concern each):
 *   pg_util.c       errors, buffers, byte order, running queries
 *   pg_open.c       connect, schema, session settings, identity, close
 *   pg_tables.c     the state tables: fixed, discovered, their columns
 *   pg_load.c       reading the persisted state at start-up
 *   pg_persist.c    the persist transaction: hard state and log changes
 *   pg_apply.c      committed entries: envelope, sessions, membership
 *   pg_container.c  the snapshot byte format (COPY BINARY framing)
 *   pg_snapshot.c   snapshots: create, read, receive chunks, install
 *   pg_checksum.c   the state checksum, primary-key ordering
 *   pg_kv.c         the key/value state machine
 *   pg_schema.c     (generated) the embedded sql/ files
 *
 * Errors: internal functions return 0 or an enum pgs_error code and leave
 * a complete message in pgs->errmsg (pg_fail). A query helper that fails
 * leaves the server's message in pgs->dberr for the caller to wrap into
 * "could not <what>: <dberr>".
 */
#ifndef LMS_PG_INTERNAL_H
#define LMS_PG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "pgs.h"

#define PG_ERRMSG_MAX 512

/* Type OIDs used in binary parameters and arrays (pg_type.dat). */
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_INT2 21

/* The table of exactly-once sessions, always part of the state. */
#define PG_SESSION_TABLE "raft_state.client_session"

struct pg_table {
	char *name;   /* "schema.table" as given (validated) */
	char *quoted; /* "\"schema\".\"table\"" for SQL text */
};

/* An exactly-once session during one apply batch (pg_apply.c). */
struct pg_session {
	uint64_t client_id;
	bool exists;    /* in the table, or written by this batch */
	bool dirty;     /* to be written at the end of the batch */
	uint64_t last_seq;
	size_t off, len; /* last_result in pgs->sess_bytes */
};

struct pgs {
	PGconn *conn;
	char *conninfo;
	raft_id node_id;
	char *cluster;
	const struct pgs_state_machine *sm;
	size_t chunk_bytes;

	/* State tables (pg_tables.c): n_fixed = the sm's and
	 * PG_SESSION_TABLE, then those discovered in the sm's schemas by the
	 * last pg_tables_refresh. */
	struct pg_table *tables;
	size_t n_tables;
	size_t n_fixed;

	char errmsg[PG_ERRMSG_MAX];
	char dberr[PG_ERRMSG_MAX];
	bool broken;
	bool reader; /* pgs_open_reader: reads only, no lock */
	struct pgs_timing timing; /* of the last successful pgs_persist */

	/* last_applied as committed; valid when applied_known. */
	bool applied_known;
	raft_index last_applied;

	/* pgs_load output, kept until the next load or close. */
	PGresult *load_res;
	struct raft_entry *load_entries;

	/* pgs_persist scratch, reused across calls. */
	struct pgs_buf arr[4];     /* binary array parameters */
	struct pg_session *sess;   /* sessions of the batch's clients */
	size_t n_sess, sess_cap;
	struct pgs_buf sess_bytes; /* their last results */
	struct pgs_buf sm_result;  /* one entry's answer */
	struct pgs_buf results;    /* every answer of the batch */
	size_t *result_off;
	size_t result_cap;
};

/* ---------------------------------------------------------- pg_util.c */

/* Formats pgs->errmsg; returns rv. */
int pg_fail(struct pgs *pgs, int rv, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies the best message of res (or of conn when res has none) into
 * out, one line, without the "ERROR:" prefix. */
void pg_message(PGconn *conn, const PGresult *res, char *out, size_t cap);

/* Parameters of one query: binary int8/int2/bytea, text strings. The
 * struct must not be copied once filled (values point into it). */
#define PG_MAX_PARAMS 8
struct pg_params {
	int n;
	const char *values[PG_MAX_PARAMS];
	int lengths[PG_MAX_PARAMS];
	int formats[PG_MAX_PARAMS];
	unsigned char ints[PG_MAX_PARAMS][8];
};
void pg_params_init(struct pg_params *p);
void pg_param_i64(struct pg_params *p, int64_t v);
void pg_param_u64(struct pg_params *p, uint64_t v); /* bits of a bigint */
void pg_param_i16(struct pg_params *p, int16_t v);
void pg_param_bytes(struct pg_params *p, const void *data, size_t len);
void pg_param_text(struct pg_params *p, const char *s);

/*
 * Runs a statement on conn: the prepared statement `stmt` when non-NULL,
 * else `sql` with parameters (p may be NULL). Returns the result when its
 * status is `want`; otherwise clears it, leaves the message in pgs->dberr
 * and returns NULL. binary_result selects the result format.
 */
PGresult *pg_query(struct pgs *pgs, PGconn *conn, const char *stmt,
                   const char *sql, const struct pg_params *p,
                   bool binary_result, ExecStatusType want);

/* A parameterless command (BEGIN, COMMIT, SET, a constant script) on
 * conn; 0 or -1 with pgs->dberr set. */
int pg_command(struct pgs *pgs, PGconn *conn, const char *sql);

/* Number of rows a command touched (PQcmdTuples), 0 if none. */
uint64_t pg_cmd_rows(const PGresult *res);

/* Binary result fields. */
int64_t pg_get_i64(const PGresult *res, int row, int col);
int16_t pg_get_i16(const PGresult *res, int row, int col);

/* Byte order. */
void pg_put_be16(unsigned char *p, uint16_t v);
void pg_put_be32(unsigned char *p, uint32_t v);
void pg_put_be64(unsigned char *p, uint64_t v);
uint16_t pg_get_be16(const unsigned char *p);
uint32_t pg_get_be32(const unsigned char *p);
uint64_t pg_get_be64(const unsigned char *p);
void pg_put_le32(unsigned char *p, uint32_t v);
void pg_put_le64(unsigned char *p, uint64_t v);
uint32_t pg_get_le32(const unsigned char *p);
uint64_t pg_get_le64(const unsigned char *p);

/* Binary arrays (one dimension, no NULLs) for array parameters:
 * pg_array_start resets b and writes the header for n elements of type
 * oid; then n pg_array_add*. 0 or PGS_ENOMEM. */
int pg_array_start(struct pgs_buf *b, unsigned oid, size_t n);
int pg_array_add(struct pgs_buf *b, const void *p, size_t n);
int pg_array_add_u64(struct pgs_buf *b, uint64_t v);
int pg_array_add_i16(struct pgs_buf *b, int16_t v);

/* Appending little-endian integers to a buffer: 0 or PGS_ENOMEM. */
int pg_buf_u8(struct pgs_buf *b, uint8_t v);
int pg_buf_u16le(struct pgs_buf *b, uint16_t v);
int pg_buf_u32le(struct pgs_buf *b, uint32_t v);
int pg_buf_u64le(struct pgs_buf *b, uint64_t v);

/* True for a lower-case SQL identifier [a-z_][a-z0-9_]* of at most 63
 * bytes; pg_valid_table also allows one "schema." prefix. */
bool pg_valid_ident(const char *s, size_t len);
bool pg_valid_table(const char *s);

/* Quotes "schema.table" into "\"schema\".\"table\"" (malloc'd) or NULL. */
char *pg_quote_table(const char *name);

/* Opens a second connection with the same session settings as the main
 * one (pg_open.c), or NULL with pgs->dberr set. */
PGconn *pg_connect(struct pgs *pgs, const char *conninfo);

/* ----------------------------------------------------------- pg_apply.c */

int pg_apply_committed(struct pgs *pgs, const struct raft_ready *rd,
                       struct pgs_apply_result *results);
/* Rewrites raft.membership with config as of index. */
int pg_membership_write(struct pgs *pgs, const struct raft_config *config,
                        raft_index index);

/* --------------------------------------------------------- pg_tables.c */

/* Validates the sm's table and schema names and fills the fixed part of
 * pgs->tables (nothing is looked up yet). */
int pg_tables_init(struct pgs *pgs);
void pg_tables_free(struct pgs *pgs);

/*
 * Reads the state tables again on conn (in the caller's transaction: the
 * list is that transaction's view): the fixed ones must exist and have a
 * primary key, the discovered ones are those of the sm's schemas, which
 * must have one too. On success pgs->tables holds the new list; on
 * failure it is unchanged (errmsg says why).
 */
int pg_tables_refresh(struct pgs *pgs, PGconn *conn);

/* The stored columns of a table (not dropped, not generated) in attnum
 * order, one attname a row; NULL with errmsg set on failure or when there
 * is none. */
PGresult *pg_table_columns(struct pgs *pgs, PGconn *conn, const char *table);

/* "a", "b", "c" from a pg_table_columns result (malloc'd), or NULL with
 * errmsg set. */
char *pg_column_list(struct pgs *pgs, PGconn *conn, const PGresult *cols);

/* -------------------------------------------------------- pg_snapshot.c */

int pg_snapshot_store_chunk(struct pgs *pgs,
                            const struct raft_snapshot_chunk *c);
int pg_snapshot_install(struct pgs *pgs,
                        const struct raft_snapshot_meta *meta);
/* Bytes stored in the chunks of snapshot idx, and whether the chunks
 * follow each other from offset 0 without holes or overlaps. */
int pg_snapshot_stored(struct pgs *pgs, raft_index idx, uint64_t *bytes,
                       bool *contiguous);

/* ------------------------------------------------------- pg_container.c */

/*
 * The snapshot container, format 2 (little endian):
 *
 *   "LMSSNAP2" | u64 index
 *   u64 schema_len | schema            the sm's schema_dump (empty without)
 *   u32 n_tables
 *   n_tables times:
 *     u16 name_len | name | u16 n_columns | n_columns times (u16 len | name)
 *     segments: u64 seg_len | seg   ...   terminated by u64 0
 *   "LMSSEND2"
 *
 * Each segment is a complete COPY BINARY stream (header, rows, trailer) of
 * at most about PG_SEGMENT_BYTES (one row may exceed it), so the receiver
 * can COPY a table segment by segment with bounded memory. The columns
 * are the stored ones (pg_table_columns): generated columns are computed
 * again by the receiver.
 *
 * Format 1 ("LMSSNAP1" ... "LMSSEND1") had no schema section; it is
 * refused by name rather than misread.
 */
#define PG_SNAP_MAGIC "LMSSNAP2"
#define PG_SNAP_END "LMSSEND2"
#define PG_SNAP_FORMAT '2'
#define PG_SEGMENT_BYTES (1u << 20)
/* Largest schema section: it is held in memory and run as one script. */
#define PG_SCHEMA_MAX ((size_t)64 << 20)

/* Where create sends the container bytes. */
struct pg_sink {
	int (*write)(void *ctx, const void *p, size_t n);
	void *ctx;
};

/* Writes the whole container for `index` on reader, which must be
 * inside the snapshot's transaction: the state tables are listed again
 * (pg_tables_refresh), the sm's schema_dump runs, every table is read. */
int pg_container_write(struct pgs *pgs, PGconn *reader, raft_index index,
                       struct pg_sink *sink);

/* Where install reads the container bytes: read exactly n or fail. */
struct pg_source {
	int (*read)(void *ctx, void *p, size_t n);
	void *ctx;
};

/* Install, in two steps on pgs->conn: reads the header and the schema
 * section of a container for `index` and hands the schema to the sm's
 * schema_load; then (the caller having listed and emptied the state
 * tables) reads the tables' frames and COPYs them in. */
int pg_container_load_schema(struct pgs *pgs, raft_index index,
                             struct pg_source *src);
int pg_container_load_tables(struct pgs *pgs, raft_index index,
                             struct pg_source *src);

/* -------------------------------------------------------- pg_checksum.c */

/* The ORDER BY list of a table: its primary-key columns, quoted, text
 * ones with COLLATE "C" (malloc'd string), or NULL with errmsg set. */
char *pg_pk_order(struct pgs *pgs, PGconn *conn, const char *table);

/* ---------------------------------------------------------- pg_schema.c */

struct pg_schema_script {
	const char *name;
	const char *sql;
};
extern const struct pg_schema_script pg_schema_scripts[];
extern const size_t pg_schema_n_scripts;

#endif /* LMS_PG_INTERNAL_H */

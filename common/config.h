/*
 * config.h -- the cluster configuration file (config.json), parsed and checked.
 *
 * Why this exists
 * ---------------
 * Every program (lmsd, tutord, lms, lms-migrate, the ops scripts through
 * them) reads the same file, and a mistake in it (two nodes on one port,
 * a heartbeat slower than the election timeout) otherwise shows up much
 * later as a cluster that never elects a leader. So the whole file is
 * checked at load time and the first problem is reported with the file, the
 * key path and what was wrong:
 *
 *   config "/x/config.json": key "nodes[2].peer_port": expected integer, got string
 *   config "/x/config.json": unknown key "raft.tick"
 *   config "/x/config.json": invalid JSON at line 4, column 7: ...
 *
 * The format (see the shipped config.json):
 *
 *   cluster  required  {name, secret, data_dir, pg_user}
 *   nodes    required  [{id, host, peer_port, client_port, http_port,
 *                        pg {host, port, data_dir, database}}], 1..16 nodes
 *   raft, limits, auth, tutor, log   optional
 *
 * Every key of cluster, of a node and of a node's pg is required. Each key
 * of the optional sections may be left out (or the whole section): it then
 * takes the LMS_DEFAULT_* value below, which equals the shipped config.json.
 * Unknown keys are errors at every level (a misspelt optional key would
 * otherwise silently fall back to its default); so are duplicate keys.
 *
 * Checks beyond types and ranges:
 *   - node ids are unique and not 0;
 *   - no two services share a port on the same host: a node's peer, client
 *     and http ports, its PostgreSQL port, and tutor.http_port (tutord may
 *     run on any host, so its port must differ from every other port).
 *     Hosts are compared as strings (case-insensitive). Several nodes MAY
 *     name the same PostgreSQL server (same pg.host and pg.port: a test
 *     setup with one server); they must then use different databases and
 *     the same pg.data_dir;
 *   - raft: tick_ms <= heartbeat_ms < election_timeout_min_ms <
 *     election_timeout_max_ms;
 *   - limits: max_upload_bytes < max_frame_bytes (an upload must fit in one
 *     frame with its request), max_text_bytes, raft.max_bytes_per_msg and
 *     raft.snapshot_chunk_bytes <= max_frame_bytes;
 *   - tutor.ollama_url starts with "http://" or "https://".
 *
 * Relative paths (cluster.data_dir, nodes[].pg.data_dir) are relative to the
 * directory of the config file, not to the working directory; the loader
 * fills the *_abs fields with the resolved absolute path.
 *
 * Ownership
 * ---------
 * lms_config_load fills a caller-provided struct lms_config. Every string in
 * it is heap-allocated and owned by the struct; lms_config_free releases
 * them all. Pointers returned by lms_config_node borrow from the struct and
 * are valid until lms_config_free. No global state.
 *
 * Errors
 * ------
 * Functions return 0 or a negative errno value; the loader also writes a
 * message into the caller's buffer.
 */
#ifndef LMS_CONFIG_H
#define LMS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

#define LMS_CONFIG_MAX_NODES 16
#define LMS_NODE_ID_MAX 4294967295u  /* node ids are 1..LMS_NODE_ID_MAX */
#define LMS_CONFIG_MAX_FILE_BYTES (1024 * 1024)

/* Defaults of the optional sections (= the shipped config.json). */
#define LMS_DEFAULT_RAFT_TICK_MS 10
#define LMS_DEFAULT_RAFT_ELECTION_TIMEOUT_MIN_MS 300
#define LMS_DEFAULT_RAFT_ELECTION_TIMEOUT_MAX_MS 600
#define LMS_DEFAULT_RAFT_HEARTBEAT_MS 50
#define LMS_DEFAULT_RAFT_MAX_ENTRIES_PER_MSG 256
#define LMS_DEFAULT_RAFT_MAX_BYTES_PER_MSG 1048576
#define LMS_DEFAULT_RAFT_MAX_INFLIGHT 64
#define LMS_DEFAULT_RAFT_SNAPSHOT_THRESHOLD_ENTRIES 10000
#define LMS_DEFAULT_RAFT_SNAPSHOT_TRAILING_ENTRIES 1000
#define LMS_DEFAULT_RAFT_SNAPSHOT_CHUNK_BYTES 262144

#define LMS_DEFAULT_LIMITS_MAX_FRAME_BYTES 33554432
#define LMS_DEFAULT_LIMITS_MAX_UPLOAD_BYTES 16777216
#define LMS_DEFAULT_LIMITS_MAX_TEXT_BYTES 65536
#define LMS_DEFAULT_LIMITS_MAX_PAGE_SIZE 100

#define LMS_DEFAULT_AUTH_SCRYPT_LOG2_N 15
#define LMS_DEFAULT_AUTH_SCRYPT_R 8
#define LMS_DEFAULT_AUTH_SCRYPT_P 1
#define LMS_DEFAULT_AUTH_TOKEN_LIFETIME_S 86400

#define LMS_DEFAULT_TUTOR_OLLAMA_URL "http://127.0.0.1:11434"
#define LMS_DEFAULT_TUTOR_MODEL "deepseek-r1:1.5b"
#define LMS_DEFAULT_TUTOR_CONNECT_TIMEOUT_MS 2000
#define LMS_DEFAULT_TUTOR_REQUEST_TIMEOUT_MS 180000
#define LMS_DEFAULT_TUTOR_NUM_CTX 4096
#define LMS_DEFAULT_TUTOR_NUM_PREDICT 1024
#define LMS_DEFAULT_TUTOR_TEMPERATURE 0.3
#define LMS_DEFAULT_TUTOR_KEEP_ALIVE "5m"
#define LMS_DEFAULT_TUTOR_HTTP_PORT 7400
#define LMS_DEFAULT_TUTOR_USERNAME "tutor"

#define LMS_DEFAULT_LOG_LEVEL LMS_LOG_INFO

struct lms_cluster_config {
	char *name;
	char *secret;       /* peers authenticate each other with it */
	char *data_dir;     /* as written in the file */
	char *data_dir_abs; /* resolved against the config file's directory */
	char *pg_user;
};

struct lms_pg_config {
	char *host;
	unsigned port;      /* 1..65535 */
	char *data_dir;     /* as written in the file */
	char *data_dir_abs; /* resolved against the config file's directory */
	char *database;
};

struct lms_node_config {
	unsigned id;        /* 1..LMS_NODE_ID_MAX, unique */
	char *host;
	unsigned peer_port; /* Raft RPC */
	unsigned client_port; /* LMS RPC */
	unsigned http_port; /* /health, /status, /metrics */
	struct lms_pg_config pg;
	bool join;          /* optional, default false: not a member of the
	                       initial configuration; it starts empty and is
	                       added later (lms-admin member add) */
};

struct lms_raft_config {
	unsigned tick_ms;                 /* 1..60000, <= heartbeat_ms */
	unsigned election_timeout_min_ms; /* < election_timeout_max_ms */
	unsigned election_timeout_max_ms; /* <= 3600000 */
	unsigned heartbeat_ms;            /* < election_timeout_min_ms */
	unsigned max_entries_per_msg;     /* 1..1000000 */
	size_t max_bytes_per_msg;         /* 1..limits.max_frame_bytes */
	unsigned max_inflight;            /* 1..65536 */
	unsigned snapshot_threshold_entries; /* >= 1 */
	unsigned snapshot_trailing_entries;  /* >= 0 */
	size_t snapshot_chunk_bytes;      /* 1..limits.max_frame_bytes */
};

struct lms_limits_config {
	size_t max_frame_bytes;  /* frame payload, 1..4294967295 */
	size_t max_upload_bytes; /* < max_frame_bytes */
	size_t max_text_bytes;   /* <= max_frame_bytes */
	unsigned max_page_size;  /* 1..1000000 */
};

struct lms_auth_config {
	unsigned scrypt_log2_n;    /* 15..24 (DESIGN: N >= 2^15) */
	unsigned scrypt_r;         /* 1..255 (libscrypt takes a byte) */
	unsigned scrypt_p;         /* 1..255 */
	unsigned token_lifetime_s; /* 1..315360000 (ten years) */
};

struct lms_tutor_config {
	char *ollama_url;            /* http:// or https:// */
	char *model;
	unsigned connect_timeout_ms; /* 1..3600000 */
	unsigned request_timeout_ms; /* 1..86400000 */
	unsigned num_ctx;            /* 1..1048576 */
	int num_predict;             /* -2..1048576 (Ollama: -1 no limit, -2 fill context) */
	double temperature;          /* 0..2 */
	char *keep_alive;            /* Ollama duration, e.g. "5m" */
	unsigned http_port;          /* 1..65535 */
	char *username;              /* the service account */
};

struct lms_log_config {
	enum lms_log_level level; /* "debug", "info", "warn" or "error" */
};

struct lms_config {
	char *path; /* the path given to lms_config_load */
	char *dir;  /* absolute directory of the config file */
	struct lms_cluster_config cluster;
	unsigned n_nodes; /* 1..LMS_CONFIG_MAX_NODES */
	struct lms_node_config nodes[LMS_CONFIG_MAX_NODES];
	struct lms_raft_config raft;
	struct lms_limits_config limits;
	struct lms_auth_config auth;
	struct lms_tutor_config tutor;
	struct lms_log_config log;
};

/*
 * Read and check the config file at path into *out (caller memory, need not
 * be initialised). On success returns 0 and *out owns its strings: release
 * with lms_config_free. On failure returns a negative errno (-ENOENT / -EIO
 * and friends when the file cannot be read, -EINVAL when it is invalid,
 * -ENOMEM), writes one line (no newline) describing the first problem into
 * err[0..errlen) (may be NULL / 0), and leaves *out zeroed with nothing to
 * free (calling lms_config_free on it is harmless).
 */
int lms_config_load(const char *path, struct lms_config *out, char *err,
		    size_t errlen)
	__attribute__((warn_unused_result));

/* Release every string of cfg and zero it. NULL is accepted. */
void lms_config_free(struct lms_config *cfg);

/* The node with this id (borrowed from cfg), or NULL. */
const struct lms_node_config *lms_config_node(const struct lms_config *cfg,
					      unsigned id);

/* $LMS_CONFIG if set and not empty, else "config.json" (borrowed). */
const char *lms_config_default_path(void);

/*
 * Read the node id from $LMS_NODE_ID: a decimal integer in
 * 1..LMS_NODE_ID_MAX with nothing around it. Returns 0 and sets *id;
 * -ENOENT if unset or empty, -EINVAL if not an integer, -ERANGE if out of
 * range. Whether the id exists in the config is lms_config_node's business.
 */
int lms_config_node_id_from_env(unsigned *id)
	__attribute__((warn_unused_result));

/*
 * Write the libpq connection string for node's database into buf[0..len):
 *     host=127.0.0.1 port=15431 dbname=lms_node1 user=lms
 * (user is cluster.pg_user; values containing blanks, quotes or
 * backslashes, or empty ones, are single-quoted and escaped as libpq
 * requires). Returns 0, or -ENOSPC if it does not fit (buf then holds a
 * NUL-terminated prefix).
 */
int lms_config_pg_conninfo(const struct lms_config *cfg,
			   const struct lms_node_config *node, char *buf,
			   size_t len)
	__attribute__((warn_unused_result));

#endif /* LMS_CONFIG_H */

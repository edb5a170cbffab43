/*
 * bench.h -- the parts of lms-bench (clients/lms_bench.c) shared between
 * its files.
 *
 * Why this exists
 * ---------------
 * lms-bench drives a cluster through the client library and reports
 * throughput and latency percentiles per operation. Its pieces are:
 *
 *   bench_hist.c   latency histogram (log-linear, HDR-like), merge,
 *                  percentiles; per-operation statistics
 *   bench_lms.c    the setup phase (bench course, instructor, students,
 *                  assignment) and one call of each cluster operation
 *   bench_etcd.c   the same small writes and reads against etcd's v3
 *                  HTTP/JSON gateway (libcurl), for ops/bench's comparison
 *   bench_orch.c   the timing runs that need orchestration: leader
 *                  failover (SIGKILL by pid file) and follower catch-up
 *   lms_bench.c    options, threads, the timed loop, table and JSON output
 *
 * Threads
 * -------
 * One thread per simulated client, each with its own struct lmsc (the
 * library is not thread-safe per client) or its own curl handle, its own
 * random state and its own statistics, merged by the main thread after
 * every thread has been joined. The only state shared while the threads
 * run is read-only (struct bench) plus the atomic stop flag.
 *
 * Ownership
 * ---------
 * struct bench and the struct bench_thread array belong to main(); every
 * pointer inside them is freed by bench_free() / bench_thread_free().
 */
#ifndef LMS_BENCH_H
#define LMS_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"

/* ----------------------------------------------------------- histogram */

/* Microsecond values: exact below 2^(SUB_BITS+1) us (256 us), then
 * 2^SUB_BITS sub-buckets per power of two (relative error under 0.4 %
 * for the midpoint reported), up to 2^38 us. */
#define BH_SUB_BITS 7
#define BH_SUB (1u << BH_SUB_BITS)
#define BH_MAX_SHIFT 30
#define BH_BUCKETS (2 * BH_SUB + BH_MAX_SHIFT * BH_SUB)

struct bench_hist {
	uint64_t count;
	uint64_t min_us, max_us;
	double sum_us;
	uint64_t b[BH_BUCKETS];
};

void bench_hist_record(struct bench_hist *h, uint64_t us);
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* The p-th percentile (0 < p <= 100) in microseconds; 0 when empty. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p);

/* ---------------------------------------------------------- operations */

enum bench_op {
	OP_SUBMIT,
	OP_GRADE,
	OP_READ,
	OP_READ_STALE,
	OP_QUERY,
	OP_KV_PUT,
	OP_KV_GET,
	OP_KV_CAS,
	OP_COUNT
};

const char *bench_op_name(enum bench_op op);
int bench_op_parse(const char *name); /* -1 when unknown */
bool bench_op_is_lms(enum bench_op op); /* needs the LMS setup */

/* Outcome classes of one call: 0..BENCH_ST_RPC_MAX are the Status codes
 * of lms.proto (OK is never counted as an error); then client-side ones. */
enum {
	BENCH_ST_RPC_MAX = 11,
	BENCH_ST_TIMEOUT = 12,    /* lmsc_call: -ETIMEDOUT; curl timeout */
	BENCH_ST_UNAVAILABLE = 13, /* lmsc_call: no node answered; curl
	                              could not connect */
	BENCH_ST_WRONG = 14,      /* OK, but not the expected answer (a cas
	                             that did not swap its own key) */
	BENCH_ST_HTTP = 15,       /* etcd: an HTTP status other than 200 */
	BENCH_ST_COUNT = 16
};
const char *bench_status_name(int st);

struct bench_opstat {
	struct bench_hist h;          /* successful calls only */
	uint64_t errors;
	uint64_t by_status[BENCH_ST_COUNT];
};

void bench_opstat_merge(struct bench_opstat *dst,
                        const struct bench_opstat *src);

/* ------------------------------------------------------------- the run */

struct bench {
	/* options */
	struct lmsc_node nodes[LMSC_MAX_NODES];
	size_t n_nodes;
	unsigned clients;
	unsigned duration_s, warmup_s;
	unsigned weight[OP_COUNT];
	unsigned weight_total;
	unsigned keys;                /* kv key space */
	unsigned value_bytes;         /* kv value size (100) */
	const char *admin_user;
	char *admin_password;         /* first line of --password-file */
	bool json;
	bool verbose;
	/* etcd mode */
	char *etcd_urls[LMSC_MAX_NODES];
	size_t n_etcd;
	bool etcd_spread;             /* threads round-robin over members
	                                 instead of all on the leader */
	char etcd_target[256];        /* the leader's URL (not spread) */

	/* the run */
	char run_id[16];              /* random, names users/keys/course */
	char course[40];
	char instructor[64];
	char *admin_token, *instructor_token;
	uint64_t assignment_id;
	atomic_bool stop;
	uint64_t op_limit;            /* 0, or stop after this many OK calls
	                                 (catch-up: its entries) */
	atomic_uint_fast64_t op_done;
	uint64_t start_us, measure_us, end_us; /* monotonic, microseconds */
};

struct bench_thread {
	struct bench *b;
	unsigned idx;
	pthread_t tid;
	bool started;
	struct lmsc *c;
	void *curl;                   /* etcd mode: CURL * */
	char *curl_buf;               /* etcd answers */
	size_t curl_len, curl_cap;
	uint64_t rng;
	struct bench_opstat *st[OP_COUNT]; /* NULL for ops not in the mix */
	/* LMS state of this thread's student */
	char username[64];
	char *token;
	uint64_t latest_sub;          /* the student's latest submission */
	uint64_t my_query;            /* the student's latest question */
	unsigned read_turn;
	/* kv-cas: a key of this thread's own, so every swap must succeed */
	uint64_t cas_n;
	bool cas_have;
	/* setup outcome */
	int setup_rc;
	char err[256];
};

uint64_t bench_now_us(void);
uint64_t bench_rand(uint64_t *s);

/* bench_lms.c. Setup: 0, or -1 with a message on stderr. */
int bench_setup_main(struct bench *b, struct lmsc *c);
int bench_setup_thread(struct bench_thread *t);
/* One call of op; 0 on success (then the caller records the latency),
 * else the outcome class (BENCH_ST_*, or a Status code). */
int bench_do_op(struct bench_thread *t, enum bench_op op);
void bench_fill_value(uint8_t *v, size_t n, uint64_t *rng);

/* bench_etcd.c */
int bench_etcd_init(struct bench *b); /* finds the leader; 0 or -1 */
int bench_etcd_thread_init(struct bench_thread *t);
int bench_etcd_op(struct bench_thread *t, enum bench_op op);
void bench_etcd_thread_free(struct bench_thread *t);
void bench_etcd_global(bool init);

/* bench_orch.c: the orchestrated timing runs; exit status. */
struct bench_orch {
	const char *run_dir;          /* the cluster's pid files */
	const char *restart_cmd;      /* "{id}" replaced by the node id */
	unsigned trials;              /* --failover-trials */
	uint64_t catchup_entries;     /* --catchup */
};
int bench_failover(struct bench *b, const struct bench_orch *o);
int bench_catchup(struct bench *b, const struct bench_orch *o);

/* Runs the timed loop with b->clients threads (kv-put, or the mix) and
 * leaves the merged statistics in out[OP_COUNT]; 0 or -1. Used by main
 * and by the catch-up run to write its entries. */
int bench_run(struct bench *b, struct bench_opstat *out, uint64_t *wall_us);

#endif

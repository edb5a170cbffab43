/*
 * harness.h -- real five-node clusters of lmsd for the cluster tests.
 *
 * Why this exists
 * ---------------
 * The simulator (tests/raft_sim) proves the Raft core against a virtual
 * network; these tests prove the whole daemon: processes that are killed,
 * paused and restarted, PostgreSQL databases that survive them, TCP links
 * cut by the kernel, and the client library finding its way through all
 * of it. Each cmocka test builds its own cluster:
 *
 *   temp dir /tmp/lms-cltest-XXXXXX
 *     config.json        N nodes (+ an optional joiner with "join": true),
 *                        node i on 127.0.k.i (k = 2, or the next block
 *                        free of other test processes), own free ports, all
 *                        databases fresh in the one PostgreSQL of ops/test
 *                        (LMS_TEST_PGHOST/PORT/USER), a random secret, the
 *                        shipped Raft timings, the test's snapshot threshold
 *     lmsd<i>.log        node i's stderr (appended across restarts)
 *
 * and drives lmsd (LMS_LMSD_PATH) by fork+exec. Partitions are real:
 * an nftables table "inet lms_test_<pid>" whose output-hook chain drops
 * the packets between the node addresses of the two sides; heal deletes
 * the table. That needs root and nft: cl_require_partitions() skips the
 * test otherwise.
 *
 * Lifecycle in a test
 * -------------------
 *   cmocka_unit_test_setup_teardown(test_x, cl_setup, cl_teardown)
 *   test_x(void **state) {
 *       struct cluster *cl = *state;
 *       cl_boot(cl, &opts);          // dbs, config, start initial nodes
 *       ...
 *       cl_stop_all(cl);             // SIGTERM: every node must exit 0
 *       cl_pass(cl);                 // the test reached its end
 *   }
 * cl_setup starts nothing (cmocka skips the teardown of a failed setup).
 * cl_teardown always deletes the nft table, kills every process the
 * harness started (by its recorded pid, nothing else), drops the
 * databases; when the test did not reach cl_pass it prints the tail of
 * every node's log and keeps the temp dir (LMS_CLUSTER_KEEP=1 keeps it
 * always).
 *
 * Threads: everything here runs on the test's main thread, except the
 * client helpers (cl_put, cl_cas, cl_get on a caller's struct lmsc), which
 * never assert and may run on writer threads with their own client
 * (struct lmsc is not thread-safe). cmocka asserts must not run on other
 * threads: the writers record errors for the main thread to check.
 *
 * Process ids: lmsd children get PR_SET_PDEATHSIG(SIGKILL), so a test
 * process that dies (ctest timeout) takes its nodes along.
 */
#ifndef LMS_TESTS_CLUSTER_HARNESS_H
#define LMS_TESTS_CLUSTER_HARNESS_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client.h"

#define CL_MAX_NODES 6       /* five voters and one joiner */
#define CL_MAX_SEEN 1024     /* (term, leader) pairs remembered */

struct cl_writer;

struct cl_options {
	unsigned n_nodes;            /* initial voters (default 5) */
	bool joiner;                 /* add node n_nodes+1, "join": true */
	unsigned snapshot_threshold; /* 0: the shipped 10000 */
	unsigned snapshot_trailing;  /* used with snapshot_threshold */
	const char *log_level;       /* default "info" */
	/* limits / auth sections of the config: 0 leaves the key out (the
	 * shipped default) */
	size_t max_upload_bytes;     /* limits.max_upload_bytes */
	unsigned token_lifetime_s;   /* auth.token_lifetime_s */
};

struct cl_node {
	unsigned id;
	char host[16];               /* 127.0.<net>.<id> */
	unsigned peer_port, client_port, http_port;
	char db[64];
	bool db_created;
	bool join;
	bool member;                 /* in the configuration, as far as the
	                                test has changed it */
	pid_t pid;                   /* 0: not running */
	bool paused;
	char log[160];
	struct lmsc *direct;         /* a client of this node alone */
};

struct cluster {
	char dir[64];                /* /tmp/lms-cltest-XXXXXX */
	char config[128];
	unsigned n;                  /* nodes in the config, ids 1..n */
	struct cl_node nodes[CL_MAX_NODES + 1]; /* by id; [0] unused */
	unsigned net;                /* third octet of the node addresses */
	int net_lock;                /* flock held on it (0: none) */
	char nft_table[64];
	bool partitioned;
	bool passed;
	uint64_t direct_seq;         /* seq for cl_put_node */
	struct {
		uint64_t term, leader;
	} seen[CL_MAX_SEEN];
	size_t n_seen;
	struct cl_writer *writers[4]; /* stopped and freed by cl_teardown */
};

/* --------------------------------------------------------- lifecycle */

/* cmocka fixtures: *state becomes an empty struct cluster. */
int cl_setup(void **state);
int cl_teardown(void **state);

/* Creates the temp dir, the databases and the config, and starts every
 * node of the initial configuration; fails the test on error. */
void cl_boot(struct cluster *cl, const struct cl_options *o);

/* Marks the test as having reached its end (no log dump at teardown). */
void cl_pass(struct cluster *cl);

/* Starts node id and waits until its client port accepts connections. */
void cl_start(struct cluster *cl, unsigned id);

/* The same without failing the test when the node does not come up:
 * 0 once its client port accepts connections; -1 when lmsd exited (why
 * says how, the node is marked stopped); -2 when the port was not up
 * within timeout_ms (the node is left running). timeout_ms 0 only starts
 * the process (0), for starting several at once and then waiting for
 * each with cl_wait_up_try. For chaos runs, where a node that cannot
 * start is a finding to report, not a broken test. */
int cl_start_try(struct cluster *cl, unsigned id, unsigned timeout_ms,
                 char *why, size_t cap);
/* The waiting half of cl_start_try, for a node started with timeout 0
 * (same return values). */
int cl_wait_up_try(struct cluster *cl, unsigned id, unsigned timeout_ms,
                   char *why, size_t cap);

/* SIGTERM (after SIGCONT if paused) and waits up to timeout_ms. Returns
 * the exit status (0..255), or -1 if it died of a signal or had to be
 * killed; *elapsed_ms (may be NULL) is the time it took to exit. */
int cl_stop(struct cluster *cl, unsigned id, unsigned timeout_ms,
            unsigned *elapsed_ms);

/* SIGTERM every running node; asserts each exits with status 0. */
void cl_stop_all(struct cluster *cl);

void cl_kill(struct cluster *cl, unsigned id);   /* SIGKILL, reaped */
void cl_pause(struct cluster *cl, unsigned id);  /* SIGSTOP */
void cl_resume(struct cluster *cl, unsigned id); /* SIGCONT */
bool cl_running(const struct cluster *cl, unsigned id);

/* Fails the test if a node the harness believes running has exited. */
void cl_check_alive(struct cluster *cl);

/* Skips the test (cmocka skip) when partitions are impossible here. */
void cl_require_partitions(struct cluster *cl);

/* Cuts every link between the nodes in side[0..n) and all other nodes. */
void cl_partition(struct cluster *cl, const unsigned *side, size_t n);
void cl_heal(struct cluster *cl);

/* Cuts the links between the node pairs pairs[0..n) (both directions)
 * and no other: shapes two sides cannot express, such as a ring (each
 * node reaching only its neighbours) or a bridge (two halves that only
 * one node reaches). Replaces any partition in place; cl_heal restores
 * every link. Needs what cl_partition needs. */
void cl_cut_links(struct cluster *cl, const unsigned (*pairs)[2], size_t n);

/* Running members: fills ids (CL_MAX_NODES), returns how many. */
size_t cl_live_members(const struct cluster *cl, unsigned *ids);

/* The tail of every node's log to stderr. */
void cl_dump_logs(const struct cluster *cl, unsigned lines);

/* Fails the test (cmocka fail_msg); cl_teardown then dumps every node's
 * log tail, as it does after any failed assertion. */
#define cl_fail(cl, ...)                                                     \
	do {                                                                 \
		(void)(cl);                                                  \
		fail_msg(__VA_ARGS__);                                       \
	} while (0)

/* Waits up to timeout_ms for node id to exit on its own (a node that
 * stops after a fatal error). Returns its exit status (0..255), -1 if it
 * died of a signal, -2 if it is still running after timeout_ms (it is left
 * running). */
int cl_wait_exit(struct cluster *cl, unsigned id, unsigned timeout_ms);

/* Whether node id's log contains needle at or after byte offset from. */
bool cl_log_contains(const struct cluster *cl, unsigned id, long from,
                     const char *needle);
long cl_log_size(const struct cluster *cl, unsigned id);

/* ----------------------------------------------------------- clients */

/* A client of the given nodes (NULL: every node of the config). Free
 * with lmsc_free. Options: the library's defaults. */
struct lmsc *cl_client(const struct cluster *cl, const unsigned *ids,
                       size_t n);

/* Writes through the client library (leader finding, failover, seq).
 * Return 0 when the cluster answered OK, a positive Status otherwise, or
 * the negative errno of lmsc_call. Never assert: thread-safe per client. */
int cl_put(struct lmsc *c, const char *key, const char *value,
           uint64_t *version, uint64_t *node_id);
/* expected NULL: expect the key absent. */
int cl_cas(struct lmsc *c, const char *key, const char *expected,
           const char *value, bool *swapped, uint64_t *node_id);
/* Linearizable read. val gets the value NUL-terminated (cap bytes). */
int cl_get(struct lmsc *c, const char *key, char *val, size_t cap,
           bool *found);

/* One write sent to node id only, no failover (timeout_ms for the
 * answer). Same return convention as cl_put. */
int cl_put_node(struct cluster *cl, unsigned id, const char *key,
                const char *value, unsigned timeout_ms);

/* Stale read on node id. */
int cl_get_stale(struct cluster *cl, unsigned id, const char *key,
                 char *val, size_t cap, bool *found, uint64_t *applied);

struct cl_status {
	unsigned id;
	char role[16];
	uint64_t term, leader, commit, applied, last_index, snapshot_index;
	unsigned n_peers;
	struct {
		uint64_t id;
		bool voter;
		uint64_t match;
	} peers[CL_MAX_NODES + 2];
};

/* Membership change through the leader: op "add" (node id's own peer
 * and client addresses), "promote" or "remove". Same return convention;
 * *index (may be NULL) is the configuration entry's index. */
int cl_member(struct cluster *cl, const char *op, unsigned id,
              uint64_t *index);
/* The same, sent to node via alone, one attempt (no retry, no failover):
 * shows exactly what that node answered. */
int cl_member_via(struct cluster *cl, unsigned via, const char *op,
                  unsigned id, uint64_t *index);

/* Status / checksum of node id (0 or the convention of cl_put). */
int cl_status(struct cluster *cl, unsigned id, struct cl_status *st);
int cl_checksum(struct cluster *cl, unsigned id, char sum[65],
                uint64_t *applied);

/* GET path on node id's HTTP status port into buf (body only). */
int cl_http_get(const struct cluster *cl, unsigned id, const char *path,
                char *buf, size_t cap);
/* A numeric field "name": N of node id's /status JSON (fails the test). */
uint64_t cl_http_status_field(const struct cluster *cl, unsigned id,
                              const char *name);

/* Waits for a leader among the nodes in among[0..n) (NULL: the running
 * members) and returns its id: a node reporting role leader whose term no
 * answering node exceeds. Every poll checks election safety: two nodes
 * leading the same term, ever, fail the test. */
unsigned cl_wait_leader(struct cluster *cl, const unsigned *among, size_t n,
                        unsigned timeout_ms);

/* Waits until every running member reports the same leader and term, the
 * leader among them; returns the leader. */
unsigned cl_wait_agreement(struct cluster *cl, unsigned timeout_ms,
                           uint64_t *term);

/* Waits until every running member has applied index. */
void cl_wait_applied_all(struct cluster *cl, uint64_t index,
                         unsigned timeout_ms);

/* Waits until every running member reports the same applied index (and
 * no leader has more committed), then asserts the checksums of all of
 * them are equal at that index. Returns the index. */
uint64_t cl_assert_converged(struct cluster *cl, unsigned timeout_ms);

/* "host:port,host:port,..." of the client ports of every node in the
 * config (for a tool's --nodes). */
void cl_nodes_arg(const struct cluster *cl, char *buf, size_t cap);

/* Runs a program (argv[0] is its path; no shell), stdin from /dev/null,
 * stdout and stderr together into out (NUL-terminated, cut at cap - 1
 * bytes; may be NULL). Killed (by its pid) after timeout_ms. Returns its
 * exit status (0..255), or -1 if it could not run, died of a signal or
 * timed out. */
int cl_run(const char *const *argv, char *out, size_t cap,
           unsigned timeout_ms);

/* --------------------------------------------------------- workloads */

/* A writer thread: for i in 0..count (or until stopped), put
 * "<prefix>k<i>" = "v<i>" and then cas "<prefix>ctr" from i to i+1
 * (absent for 0), through its own client of every node. A cas that does
 * not swap means a write was applied twice (or lost): it is an error.
 * A call that fails (the library gave up) stops the writer. */
struct cl_writer {
	struct cluster *cl;
	char prefix[32];
	unsigned count;
	unsigned pause_ms;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	atomic_uint acked;           /* iterations completed (put + cas) */
	/* per iteration, written by the thread, read after join or for
	 * indexes below acked */
	uint64_t *done_ms;           /* when the put was answered OK */
	uint64_t *node;              /* which node answered it */
	unsigned errors;
	char error[256];
	uint64_t max_latency_ms;
};

/* The writer belongs to the cluster: cl_teardown stops and frees it even
 * when the test failed while it ran. */
struct cl_writer *cl_writer_start(struct cluster *cl, const char *prefix,
                                  unsigned count, unsigned pause_ms);
/* Stops (if still running) and joins; the results stay readable. */
void cl_writer_stop(struct cl_writer *w);

/* Waits until the writer has completed at least n iterations (or ended). */
void cl_writer_wait(struct cl_writer *w, unsigned n, unsigned timeout_ms);

/* The first put answered OK after t_ms by a node other than not_node;
 * returns its time, or 0 when none. */
uint64_t cl_writer_first_ack_after(const struct cl_writer *w, uint64_t t_ms,
                                   uint64_t not_node);

/* Asserts the writer saw no error, and that every acknowledged put and the
 * counter are present with their values on every running member. */
void cl_writer_verify(struct cluster *cl, const struct cl_writer *w);

/* Writes "<prefix><i>" = "v<i>" for i in [0, count) with `threads`
 * writer threads, each its own client; returns how many were acked. */
unsigned cl_write_bulk(struct cluster *cl, const char *prefix,
                       unsigned count, unsigned threads);

/* Asserts "<prefix><i>" = "v<i>" for i in [0, count) on node id. */
void cl_assert_keys(struct cluster *cl, unsigned id, const char *prefix,
                    unsigned count);

/* Milliseconds on the monotonic clock. */
uint64_t cl_now_ms(void);
void cl_sleep_ms(unsigned ms);

#endif

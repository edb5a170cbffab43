/*
 * chaos.h -- lms-chaos, the chaos runner behind ops/chaos: what its parts
 * share.
 *
 * Why this exists
 * ---------------
 * We claim that no acknowledged write is ever lost and that every node
 * converges to the same state under partitions, crashes and pauses. The
 * cluster tests (tests/cluster) show it for one fault at a time, chosen by
 * hand; lms-chaos shows it for a random schedule of faults under a
 * concurrent load, and says which seed reproduces a failure.
 *
 * A run (chaos_run.c drives it, on the main thread):
 *
 *   1. boot      a five-node cluster with the harness of tests/cluster
 *                (real lmsd processes, databases in the PostgreSQL named
 *                by LMS_TEST_PGHOST/PORT/USER), the LMS schema, an admin,
 *                a course with an instructor, students and assignments
 *                (tests/svc/svc_util.h);
 *   2. load      client threads (chaos_load.c), each with its own struct
 *                lmsc: register clients (put / linearizable get / cas on
 *                a few keys, every operation written to history.jsonl
 *                with its start, end and outcome) and LMS clients
 *                (students submit and ask, instructors grade, both read
 *                back what they were acknowledged); meanwhile the main
 *                thread is the nemesis (chaos_nemesis.c): faults drawn
 *                from the seed, one at a time, each healed after a
 *                bounded time, one line each in faults.log;
 *   3. heal      every link restored, every node running and a voter
 *                again, a write and a read must succeed, then every node's
 *                applied index equal to the leader's commit;
 *   4. check     (chaos_check.c) equal state checksums on every node; the
 *                register history linearizable (linearize.h); every
 *                acknowledged LMS write present exactly once on every
 *                node's own database, refused ones absent, unknown ones
 *                at most once, nothing nobody wrote;
 *   5. report    a summary on stdout and in summary.json; exit 0 only
 *                without anomaly.
 *
 * Threads: the harness (and cmocka, whose fail_msg it uses) runs on the
 * main thread only. Client threads touch nothing of the harness but their
 * own struct lmsc, and report through the locked parts of struct chaos.
 * A harness failure (fail_msg) ends the cmocka test: the teardown
 * (chaos_main.c) stops the clients, writes what it knows and keeps every
 * file ("runner error", exit 4).
 *
 * Outcomes, as the checker understands them (history.h): "ok" when the
 * cluster answered OK; "fail" only when the write certainly did not take
 * effect (a refusal the service gives before proposing, or a refusal the
 * apply step recorded); "unknown" for everything else: the client library
 * gave up (timeout, every node unreachable), DEADLINE_EXCEEDED, INTERNAL.
 * NOT_LEADER and UNAVAILABLE never reach us: the library retries them.
 */
#ifndef LMS_CHAOS_CHAOS_H
#define LMS_CHAOS_CHAOS_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"
#include "harness.h"
#include "history.h"

#define CHAOS_NODES 5
#define CHAOS_MAX_CLIENTS 64      /* register clients */
#define CHAOS_MAX_LMS_CLIENTS 16  /* students + instructors */
#define CHAOS_MAX_KEYS 16
#define CHAOS_CLIENTS_PER_KEY 12  /* the checker's comfortable bound */
#define CHAOS_ASSIGNMENTS 3
#define CHAOS_COURSE "CHAOS101"

/* exit statuses of lms-chaos */
#define CHAOS_EXIT_OK 0
#define CHAOS_EXIT_ANOMALY 1
#define CHAOS_EXIT_USAGE 2
#define CHAOS_EXIT_UNDECIDED 3
#define CHAOS_EXIT_RUNNER 4

enum chaos_nemesis {
	CHAOS_PARTITION = 1u << 0,
	CHAOS_KILL = 1u << 1,
	CHAOS_PAUSE = 1u << 2,
	CHAOS_RESTART_ALL = 1u << 3,
	CHAOS_MEMBERSHIP = 1u << 4,
};
#define CHAOS_N_NEMESES 5
#define CHAOS_ALL_NEMESES 0x1fu

/* "partition", "kill", ... for bit i. */
const char *chaos_nemesis_name(unsigned i);
/* "partition,kill" -> mask; 0 and a message in err on a bad name. An
 * empty list (or "none") is a valid mask of 0 with *ok set. */
unsigned chaos_nemesis_parse(const char *list, bool *ok, char *err,
                             size_t errlen);
/* The mask as a list ("none" for 0) into buf. */
void chaos_nemesis_format(unsigned mask, char *buf, size_t cap);

struct chaos_opts {
	unsigned duration_s;
	uint64_t seed;
	unsigned nemeses;          /* mask of enum chaos_nemesis */
	unsigned clients;          /* register clients */
	unsigned keys;
	unsigned lms_clients;      /* LMS clients: the last is an instructor */
	unsigned think_ms;         /* pause between a client's operations */
	unsigned fault_min_ms, fault_max_ms; /* how long a fault lasts */
	unsigned gap_min_ms, gap_max_ms;     /* between two faults */
	unsigned snapshot_every;   /* the nodes' snapshot threshold */
	unsigned converge_s;       /* bound of the final heal + convergence */
	char keep[PATH_MAX];       /* --keep DIR: run directory, kept */
	unsigned schedule;         /* --schedule N: print, run nothing */
	const char *sabotage;      /* --sabotage KIND: self-test of the
	                              checks (lost-write, dup-write, kv) */
	const char *log_level;     /* the nodes' */
};

/* ------------------------------------------------------------ random */

/* xoshiro256**, seeded through splitmix64: the same seed gives the same
 * sequence on every machine. */
struct chaos_rng {
	uint64_t s[4];
};

void chaos_rng_seed(struct chaos_rng *r, uint64_t seed);
uint64_t chaos_rng_next(struct chaos_rng *r);
/* Uniform in [lo, hi] (hi >= lo). */
unsigned chaos_rng_range(struct chaos_rng *r, unsigned lo, unsigned hi);

/* ----------------------------------------------------------- records */

enum chaos_outcome {
	CHAOS_OK,
	CHAOS_FAIL,     /* certainly not applied (refused) */
	CHAOS_UNKNOWN,
};
#define CHAOS_N_OUTCOMES 3

enum chaos_lms_kind {
	CHAOS_SUBMIT,
	CHAOS_QUESTION,
	CHAOS_GRADE,
	CHAOS_READ,     /* a linearizable read of something acknowledged */
};
#define CHAOS_N_LMS_KINDS 4

/* One LMS operation the load generator ran. content is unique in the
 * run: the submission's text, the question's body, the grade's feedback
 * (for reads: what was read back). */
struct chaos_lms_rec {
	enum chaos_lms_kind kind;
	unsigned client;
	char content[64];
	uint64_t id;         /* created submission / question; grade: the
	                        graded submission; read: the object read */
	int status;          /* Status answered (>= 0) or -errno */
	enum chaos_outcome outcome;
	uint64_t start_ms, end_ms; /* relative to the run's start */
};

/* An acknowledged submission, for the instructors to grade and the
 * students to read back. */
struct chaos_sub {
	uint64_t id;
	unsigned student;    /* LMS client index */
	uint64_t assignment;
	char text[64];
	bool taken;          /* an instructor has graded it (any outcome) */
	char grade[64];      /* feedback of an acknowledged grade, or "" */
};

struct chaos_anomaly {
	char kind[32];
	char detail[1024];
};

struct chaos_user {
	char name[32];
	char token[65];
	bool instructor;
};

/* The status of a node as the nemesis and the checks see it. */
struct chaos_node_view {
	bool answered;
	struct cl_status st;
};

struct chaos_client;

struct chaos {
	struct chaos_opts o;
	struct cluster *cl;
	uint64_t t0_ms;            /* program start (monotonic) */
	char run_dir[PATH_MAX];
	bool run_dir_temp;         /* removed after a clean run */
	char hist_path[PATH_MAX + 32];
	struct lms_hist_writer *hist;
	FILE *faults;              /* faults.log */
	FILE *lms_log;             /* lms-ops.jsonl */
	bool partitions;           /* root and nft: partitions possible */
	unsigned nemeses;          /* what actually runs (o.nemeses less
	                              what this machine cannot do) */
	char phase[32];            /* for a runner error's report */

	/* LMS fixtures (set up before the load; read-only after) */
	uint64_t assignments[CHAOS_ASSIGNMENTS];
	struct chaos_user users[CHAOS_MAX_LMS_CLIENTS];
	unsigned n_students, n_instructors;

	/* clients */
	struct chaos_client *clients;
	size_t n_clients;
	bool clients_running;
	atomic_bool stop;
	uint64_t load_start_ms, load_end_ms;

	/* results: everything below under mu */
	pthread_mutex_t mu;
	uint64_t kv_ops[3][CHAOS_N_OUTCOMES];  /* [enum lms_hist_kind] */
	uint64_t kv_cas_swapped;
	uint64_t lms_ops[CHAOS_N_LMS_KINDS][CHAOS_N_OUTCOMES];
	uint64_t grade_not_latest; /* grades refused: not the latest attempt */
	struct chaos_lms_rec *recs;
	size_t n_recs, cap_recs;
	struct chaos_sub *subs;
	size_t n_subs, cap_subs;
	struct chaos_anomaly *anoms;
	size_t n_anoms, cap_anoms;
	uint64_t hist_errors;      /* history lines that could not be written */

	/* nemesis (main thread only) */
	struct chaos_rng nrng;
	unsigned n_faults;
	unsigned fault_kinds[CHAOS_N_NEMESES];
	unsigned fault_subkinds[CHAOS_N_NEMESES][6];
	bool fault_open;           /* a fault is in effect now */

	/* end of the run (main thread) */
	bool converged;            /* every node at the same applied index */
	bool diverged;             /* ... with different checksums */
	uint64_t final_applied;
	char final_checksum[65];
	char node_checksums[CHAOS_NODES + 1][65];
	uint64_t node_applied[CHAOS_NODES + 1];
	int lin_verdict;           /* enum lms_lin_verdict, -1 not run */
	size_t lin_checked, lin_unknown_writes, lin_keys;
	uint64_t lin_steps;
	void *lin_json;            /* json_t * for summary.json */
	uint64_t lms_checked[3];   /* submissions, questions, grades checked */
	unsigned lms_nodes_checked;
	bool finished;             /* the checks ran to their end */
	int exit_status;
	double t_setup_s, t_load_s, t_heal_s, t_check_s;
};

/* ------------------------------------------------------------ util */

/* Milliseconds since the program started. */
uint64_t chaos_ms(const struct chaos *ch);

/* A line on stdout "[+12.345s] ...", flushed. */
void chaos_log(const struct chaos *ch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records an anomaly (thread-safe) and logs it at once. */
void chaos_anomaly(struct chaos *ch, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

size_t chaos_anomaly_count(struct chaos *ch);

/* The status of a request as text: "OK", "NOT_FOUND", or the errno's. */
const char *chaos_rv_name(int rv, char *buf, size_t cap);

/* Every node's status (answered = false for those not running or not
 * answering). Returns the leader: the node that says it leads with the
 * highest term among the answers, or 0. Never fails the test. */
unsigned chaos_view(struct chaos *ch, struct chaos_node_view *v);

/* One line per node of v into buf ("n1 leader t5 c120 a120 | ..."). */
void chaos_view_format(const struct chaos_node_view *v, char *buf,
                       size_t cap);

/* Copies every node log of the cluster dir into the run dir. */
void chaos_copy_logs(struct chaos *ch);

/* --------------------------------------------------------- the parts */

/* chaos_load.c: creates the client threads' clients and starts them;
 * chaos_load_stop sets stop and joins them (each finishes the operation
 * it is in: the library's deadlines bound that). */
void chaos_load_start(struct chaos *ch);
void chaos_load_stop(struct chaos *ch);

/* chaos_nemesis.c */
/* "ring", "leader", ... : the shape of a fault of kind (bit index);
 * NULL past the last. */
const char *chaos_subkind_name(unsigned kind, unsigned sub);
/* Runs faults until the load's deadline (or stop); everything healed on
 * return, as far as a bounded heal could. */
void chaos_nemesis_run(struct chaos *ch, uint64_t until_ms);
/* Prints the kinds and durations of the first count faults of the seed
 * (what --schedule shows) without running anything. */
void chaos_print_schedule(const struct chaos *ch, unsigned count);
/* Reaps nodes that exited without the nemesis asking: each an anomaly.
 * Returns how many. */
unsigned chaos_reap(struct chaos *ch);
/* Restores every link, resumes, starts every node, makes every node a
 * voter again; bounded by timeout_ms. True when all five are running
 * voters. */
bool chaos_heal_all(struct chaos *ch, unsigned timeout_ms);

/* SIGTERM to every running node; each must exit with status 0
 * (anomalies otherwise). */
void chaos_stop_all(struct chaos *ch);

/* chaos_check.c */
/* Waits for convergence (bounded) and compares the checksums. */
bool chaos_converge(struct chaos *ch, unsigned timeout_ms);
/* A put and a read through the cluster after the heal, recorded in the
 * history; an anomaly unless both succeed within 30 s. */
bool chaos_probe(struct chaos *ch);
/* Linearizable and per-node stale reads of every key, recorded. */
void chaos_final_reads(struct chaos *ch);
/* --sabotage: changes one node's database behind lmsd's back (after the
 * load, before the convergence check), which the checks must report. */
void chaos_sabotage(struct chaos *ch);
/* Per-node SQL checks of the LMS writes. */
void chaos_check_lms(struct chaos *ch);
/* The linearizability check of the history file. */
void chaos_check_history(struct chaos *ch);
/* The summary on stdout and summary.json; sets exit_status. */
void chaos_report(struct chaos *ch);

#endif

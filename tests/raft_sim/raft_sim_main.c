/*
 * raft_sim_main.c -- raft-sim: many random fault simulations of the core.
 *
 *   raft-sim --seeds N --nodes K --steps S [--seed X] [--trace] ...
 *
 * Runs N simulations with seeds X, X+1, ..., each a K-node cluster driven
 * for S ticks by the random fault driver (loss, duplication, reordering,
 * partitions, crashes and restarts, pauses, snapshots, membership changes,
 * transfers, reads, proposals; each can be switched off), followed by the
 * liveness and convergence check of sim_finish(). Every run is a pure
 * function of its seed: for a failure it prints the violated invariant, the
 * last events of the trace and the exact command line that replays it
 * with the full trace. Ends with "N passed, N failed" and exits 1 on any
 * failure. The simulation speed goes to stderr (and stdout with --stats).
 *
 * The logic lives in raft_sim_lib; this file only parses options, loops
 * over seeds and reports.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

struct cli {
	uint64_t seeds;
	uint64_t first_seed;
	unsigned nodes;
	unsigned steps;
	bool trace;
	bool stats;
	bool quiet;
	unsigned trace_lines;
	bool no_snapshots;
	bool no_membership;
	bool no_crashes;
	bool no_partitions;
	bool no_loss;
	bool no_pauses;
	bool no_transfers;
	bool no_reads;
	bool pre_vote_off;
	bool check_quorum_off;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: raft-sim [options]\n"
	        "Runs random fault simulations of the Raft core and checks "
	        "its safety\nand liveness properties after every step.\n\n"
	        "  --seeds N         number of simulations (default 100)\n"
	        "  --seed X          first seed (default 1)\n"
	        "  --nodes K         initial voters, 1..7 (default 5)\n"
	        "  --steps S         random steps (ticks) per run (default "
	        "1000)\n"
	        "  --trace           print every event of every run\n"
	        "  --trace-lines N   events shown for a failure (default 300)\n"
	        "  --stats           per-run statistics and totals on stdout\n"
	        "  --quiet           only failures and the summary\n"
	        "  --no-snapshots    never snapshot (no InstallSnapshot)\n"
	        "  --no-membership   no add / promote / remove\n"
	        "  --no-crashes      no crash / restart\n"
	        "  --no-partitions   no cut links\n"
	        "  --no-loss         no loss, duplication or latency changes\n"
	        "  --no-pauses       no paused nodes\n"
	        "  --no-transfers    no leadership transfers\n"
	        "  --no-reads        no ReadIndex requests\n"
	        "  --no-pre-vote     cores run without pre-vote (default: "
	        "1 seed in 8)\n"
	        "  --no-check-quorum cores run without check-quorum (default: "
	        "1 seed in 8)\n"
	        "  --help, --version\n");
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

enum {
	OPT_SEEDS = 256, OPT_SEED, OPT_NODES, OPT_STEPS, OPT_TRACE,
	OPT_TRACE_LINES, OPT_STATS, OPT_QUIET, OPT_NO_SNAP, OPT_NO_MEMBER,
	OPT_NO_CRASH, OPT_NO_PART, OPT_NO_LOSS, OPT_NO_PAUSE, OPT_NO_TRANSFER,
	OPT_NO_READ, OPT_NO_PREVOTE, OPT_NO_CQ, OPT_HELP, OPT_VERSION,
};

static int parse_args(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{"seeds", required_argument, NULL, OPT_SEEDS},
		{"seed", required_argument, NULL, OPT_SEED},
		{"nodes", required_argument, NULL, OPT_NODES},
		{"steps", required_argument, NULL, OPT_STEPS},
		{"trace", no_argument, NULL, OPT_TRACE},
		{"trace-lines", required_argument, NULL, OPT_TRACE_LINES},
		{"stats", no_argument, NULL, OPT_STATS},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"no-snapshots", no_argument, NULL, OPT_NO_SNAP},
		{"no-membership", no_argument, NULL, OPT_NO_MEMBER},
		{"no-crashes", no_argument, NULL, OPT_NO_CRASH},
		{"no-partitions", no_argument, NULL, OPT_NO_PART},
		{"no-loss", no_argument, NULL, OPT_NO_LOSS},
		{"no-pauses", no_argument, NULL, OPT_NO_PAUSE},
		{"no-transfers", no_argument, NULL, OPT_NO_TRANSFER},
		{"no-reads", no_argument, NULL, OPT_NO_READ},
		{"no-pre-vote", no_argument, NULL, OPT_NO_PREVOTE},
		{"no-check-quorum", no_argument, NULL, OPT_NO_CQ},
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	memset(c, 0, sizeof(*c));
	c->seeds = 100;
	c->first_seed = 1;
	c->nodes = 5;
	c->steps = 1000;
	c->trace_lines = 300;
	int ch;
	uint64_t v;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_SEEDS:
			if (parse_u64(optarg, 1, UINT64_MAX / 2, &c->seeds)) {
				fprintf(stderr, "raft-sim: invalid --seeds "
				        "\"%s\"\n", optarg);
				return -1;
			}
			break;
		case OPT_SEED:
			if (parse_u64(optarg, 0, UINT64_MAX / 2,
			              &c->first_seed)) {
				fprintf(stderr, "raft-sim: invalid --seed "
				        "\"%s\"\n", optarg);
				return -1;
			}
			break;
		case OPT_NODES:
			if (parse_u64(optarg, 1, 7, &v)) {
				fprintf(stderr, "raft-sim: --nodes must be "
				        "1..7\n");
				return -1;
			}
			c->nodes = (unsigned)v;
			break;
		case OPT_STEPS:
			if (parse_u64(optarg, 1, 100000000, &v)) {
				fprintf(stderr, "raft-sim: invalid --steps "
				        "\"%s\"\n", optarg);
				return -1;
			}
			c->steps = (unsigned)v;
			break;
		case OPT_TRACE_LINES:
			if (parse_u64(optarg, 1, 1000000, &v)) {
				fprintf(stderr, "raft-sim: invalid "
				        "--trace-lines \"%s\"\n", optarg);
				return -1;
			}
			c->trace_lines = (unsigned)v;
			break;
		case OPT_TRACE: c->trace = true; break;
		case OPT_STATS: c->stats = true; break;
		case OPT_QUIET: c->quiet = true; break;
		case OPT_NO_SNAP: c->no_snapshots = true; break;
		case OPT_NO_MEMBER: c->no_membership = true; break;
		case OPT_NO_CRASH: c->no_crashes = true; break;
		case OPT_NO_PART: c->no_partitions = true; break;
		case OPT_NO_LOSS: c->no_loss = true; break;
		case OPT_NO_PAUSE: c->no_pauses = true; break;
		case OPT_NO_TRANSFER: c->no_transfers = true; break;
		case OPT_NO_READ: c->no_reads = true; break;
		case OPT_NO_PREVOTE: c->pre_vote_off = true; break;
		case OPT_NO_CQ: c->check_quorum_off = true; break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("raft-sim %s\n", LMS_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "raft-sim: unexpected argument \"%s\"\n",
		        argv[optind]);
		return -1;
	}
	return 0;
}

/* The command line that replays one seed with the full trace. */
static void print_rerun(FILE *out, const char *prog, const struct cli *c,
                        uint64_t seed)
{
	fprintf(out, "rerun: %s --seeds 1 --seed %" PRIu64
	        " --nodes %u --steps %u%s%s%s%s%s%s%s%s%s%s --trace\n",
	        prog, seed, c->nodes, c->steps,
	        c->no_snapshots ? " --no-snapshots" : "",
	        c->no_membership ? " --no-membership" : "",
	        c->no_crashes ? " --no-crashes" : "",
	        c->no_partitions ? " --no-partitions" : "",
	        c->no_loss ? " --no-loss" : "",
	        c->no_pauses ? " --no-pauses" : "",
	        c->no_transfers ? " --no-transfers" : "",
	        c->no_reads ? " --no-reads" : "",
	        c->pre_vote_off ? " --no-pre-vote" : "",
	        c->check_quorum_off ? " --no-check-quorum" : "");
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct totals {
	uint64_t ticks;
	uint64_t delivered;
	uint64_t leaders;
	uint64_t acked;
	uint64_t installs;
	uint64_t snap_send_failed;
};

/* splitmix64: derives the per-seed parameters (the simulation's own
 * PRNG is seeded separately inside the simulator). */
static uint64_t param_rng(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned pick(uint64_t *x, unsigned lo, unsigned hi)
{
	return lo + (unsigned)(param_rng(x) % (hi - lo + 1));
}

/* Each seed also draws the cluster's tuning, so that many seeds cover
 * many shapes: timeouts, batching, pipelining, chunk sizes, compaction,
 * storage speed. */
static void draw_params(uint64_t seed, struct sim_options *o)
{
	uint64_t x = seed ^ 0x5eed5eed5eedULL;
	o->election_ticks = pick(&x, 10, 20);
	o->heartbeat_ticks = pick(&x, 1, 3);
	o->max_entries_per_msg = pick(&x, 1, 16);
	o->max_bytes_per_msg = pick(&x, 0, 3) == 0 ? 64 : 4096;
	o->max_inflight = pick(&x, 1, 8);
	/* Keep catch-up throughput sane: the liveness bound (50 election
	 * timeouts) must cover a backlog of a few hundred entries. */
	if (o->max_entries_per_msg * o->max_inflight < 8)
		o->max_inflight = 8;
	o->snapshot_trailing = pick(&x, 0, 10);
	o->snapshot_chunk_bytes = pick(&x, 16, 160);
	o->snapshot_threshold = pick(&x, 5, 40);
	o->catchup_margin = pick(&x, 2, 20);
	o->max_persist_delay = pick(&x, 0, 3);
	o->min_persist_delay = pick(&x, 0, 3) == 0 ? 1 : 0;
	if (o->min_persist_delay > o->max_persist_delay)
		o->max_persist_delay = o->min_persist_delay;
	/* Both options must be safe in every combination: one seed in
	 * eight runs without each (a stale leader without check-quorum is
	 * where an unconfirmed ReadIndex would show). */
	o->pre_vote = pick(&x, 0, 7) != 0;
	o->check_quorum = pick(&x, 0, 7) != 0;
}

static void print_params(FILE *out, const struct sim_options *o)
{
	fprintf(out, "parameters: election %u, heartbeat %u, %u entries / %zu "
	        "bytes per APPEND, %u in flight, snapshot every %llu entries "
	        "(trailing %llu, %zu-byte chunks), catch-up margin %llu, "
	        "storage %u..%u ticks, pre-vote %s, check-quorum %s\n",
	        o->election_ticks, o->heartbeat_ticks, o->max_entries_per_msg,
	        o->max_bytes_per_msg, o->max_inflight,
	        (unsigned long long)o->snapshot_threshold,
	        (unsigned long long)o->snapshot_trailing,
	        o->snapshot_chunk_bytes,
	        (unsigned long long)o->catchup_margin, o->min_persist_delay,
	        o->max_persist_delay, o->pre_vote ? "on" : "off",
	        o->check_quorum ? "on" : "off");
}

/* One simulation; 0 passed, 1 failed. */
static int run_one(const struct cli *c, uint64_t seed, const char *prog,
                   struct totals *tot)
{
	struct sim_options o;
	sim_options_default(&o);
	o.n_nodes = c->nodes;
	o.seed = seed;
	draw_params(seed, &o);
	if (c->pre_vote_off)
		o.pre_vote = false;
	if (c->check_quorum_off)
		o.check_quorum = false;
	if (c->no_snapshots)
		o.snapshot_threshold = 0;
	o.trace_ring = c->trace_lines;
	o.trace_live = c->trace;
	o.trace_out = stdout;
	o.print_on_fail = false;

	struct sim_chaos ch;
	sim_chaos_default(&ch);
	ch.crashes = !c->no_crashes;
	ch.partitions = !c->no_partitions;
	ch.loss = !c->no_loss;
	ch.pauses = !c->no_pauses;
	ch.membership = !c->no_membership;
	ch.transfers = !c->no_transfers;
	ch.reads = !c->no_reads;

	struct sim *s = sim_new(&o);
	if (s == NULL) {
		fprintf(stderr, "raft-sim: cannot create the simulation\n");
		return 1;
	}
	int rv = sim_chaos_run(s, &ch, c->steps);
	if (rv == 0)
		rv = sim_finish(s, 50 * o.election_ticks);
	tot->ticks += sim_now(s);
	tot->delivered += sim_delivered_count(s);
	tot->leaders += sim_leaders_elected(s);
	tot->acked += sim_acked_count(s);
	tot->installs += sim_snapshots_installed(s);
	tot->snap_send_failed += sim_snapshot_sends_failed(s);
	if (c->stats && !c->quiet)
		printf("seed %" PRIu64 ": %s, %" PRIu64 " ticks, %u leaders, "
		       "%u acknowledged, %u snapshot installs, %" PRIu64
		       " messages delivered\n", seed, rv ? "FAILED" : "ok",
		       sim_now(s), sim_leaders_elected(s), sim_acked_count(s),
		       sim_snapshots_installed(s), sim_delivered_count(s));
	if (rv != 0) {
		printf("FAIL seed %" PRIu64 ": %s\n", seed, sim_error(s));
		if (!c->trace)
			sim_trace_dump(s, stdout, c->trace_lines);
		sim_dump_status(s, stdout);
		print_params(stdout, &o);
		printf("FAIL seed %" PRIu64 ": %s\n", seed, sim_error(s));
		print_rerun(stdout, prog, c, seed);
		fflush(stdout);
	}
	sim_free(s);
	return rv != 0;
}

int main(int argc, char **argv)
{
	struct cli c;
	if (parse_args(argc, argv, &c) != 0)
		return 2;
	struct totals tot;
	memset(&tot, 0, sizeof(tot));
	uint64_t passed = 0, failed = 0;
	double t0 = now_seconds();
	for (uint64_t k = 0; k < c.seeds; k++) {
		if (run_one(&c, c.first_seed + k, argv[0], &tot))
			failed++;
		else
			passed++;
	}
	double dt = now_seconds() - t0;
	if (dt <= 0)
		dt = 1e-9;
	FILE *sout = c.stats ? stdout : stderr;
	fprintf(sout, "raft-sim: %u nodes, %" PRIu64 " seeds from %" PRIu64
	        ": %" PRIu64 " steps in %.2f s (%.0f steps/s), %" PRIu64
	        " messages delivered, %" PRIu64 " leaders elected, %" PRIu64
	        " writes acknowledged, %" PRIu64 " snapshots installed, %"
	        PRIu64 " snapshot chunks unsendable\n", c.nodes, c.seeds,
	        c.first_seed, tot.ticks, dt, (double)tot.ticks / dt,
	        tot.delivered, tot.leaders, tot.acked, tot.installs,
	        tot.snap_send_failed);
	printf("%" PRIu64 " passed, %" PRIu64 " failed\n", passed, failed);
	return failed ? 1 : 0;
}

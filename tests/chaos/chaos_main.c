/*
 * chaos_main.c -- lms-chaos: a five-node cluster under client load and
 * injected faults, then checks that nothing acknowledged was lost, that
 * every node converged to the same state, that the registers were
 * linearizable and that nothing was applied twice (chaos.h says how).
 *
 *   lms-chaos --duration SEC --seed S [--nemesis LIST] [--clients N]
 *             [--keys K] [--lms-clients M] [--keep DIR] [...]
 *
 * ops/chaos runs it with a PostgreSQL of its own; ctest runs a short one
 * (chaos_short) on the server of ops/test. The PostgreSQL comes from
 * LMS_TEST_PGHOST/PORT/USER, as for every cluster test.
 *
 * The run is one cmocka test so that the harness of tests/cluster (which
 * reports its own failures through cmocka) can be used as it is: a
 * harness failure ends the test, and the teardown here still stops the
 * clients, writes the summary and keeps every file. Files, in the run
 * directory (a new /tmp/lms-chaos-XXXXXX, removed after a clean run, or
 * --keep DIR, always kept):
 *   history.jsonl          every register operation (history.h)
 *   lms-ops.jsonl          every LMS operation and its outcome
 *   faults.log             one line at the start and end of each fault
 *   linearizability.txt    the checker's report
 *   summary.json           counts, faults, convergence, the verdict and
 *                          every anomaly
 *   lmsd<N>.log, config.json   copies of the nodes' logs (kept runs)
 * Exit status: 0 no anomaly, 1 anomalies, 3 linearizability undecided
 * (and no anomaly), 2 usage, 4 the runner itself failed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "chaos.h"
#include "linearize.h"
#include "svc_util.h"
#include "util.h"

#define CHAOS_PASSWORD "chaos-password-1"

static struct chaos g_chaos;

/* ------------------------------------------------------------- setup */

/* Accounts, the course, the assignments, a session for everyone. */
static void setup_lms(struct chaos *ch)
{
	struct cluster *cl = ch->cl;
	struct lmsc *c = cl_client(cl, NULL, 0);
	assert_non_null(c);
	unsigned n = sv_install_schema(cl, c);
	char admin[65];
	sv_bootstrap(c, "admin", CHAOS_PASSWORD);
	sv_login(c, "admin", CHAOS_PASSWORD, admin);
	unsigned lms = ch->o.lms_clients;
	ch->n_instructors = lms ? (lms >= 8 ? lms / 4 : 1) : 0;
	ch->n_students = lms - ch->n_instructors;
	if (lms)
		sv_course(c, admin, CHAOS_COURSE, "Chaos engineering");
	for (unsigned i = 0; i < lms; i++) {
		struct chaos_user *u = &ch->users[i];
		u->instructor = i >= ch->n_students;
		if (u->instructor)
			snprintf(u->name, sizeof u->name, "inst%u",
			         i - ch->n_students + 1);
		else
			snprintf(u->name, sizeof u->name, "stu%u", i + 1);
		sv_user(c, admin, u->name, CHAOS_PASSWORD,
		        u->instructor ? LMS__RPC__ROLE__ROLE_INSTRUCTOR
		                      : LMS__RPC__ROLE__ROLE_STUDENT);
		sv_enroll(c, admin, CHAOS_COURSE, u->name,
		          u->instructor ? LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR
		                        : LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
		sv_login(c, u->name, CHAOS_PASSWORD, u->token);
	}
	for (unsigned i = 0; lms && i < CHAOS_ASSIGNMENTS; i++) {
		char title[32];
		snprintf(title, sizeof title, "Assignment %u", i + 1);
		ch->assignments[i] = sv_assignment(c, admin, CHAOS_COURSE, title);
	}
	lmsc_free(c);
	chaos_log(ch, "LMS ready: %u migrations, course %s with %u "
	          "student(s), %u instructor(s), %d assignments", n,
	          CHAOS_COURSE, ch->n_students, ch->n_instructors,
	          lms ? CHAOS_ASSIGNMENTS : 0);
}

static void set_phase(struct chaos *ch, const char *phase)
{
	snprintf(ch->phase, sizeof ch->phase, "%s", phase);
}

static double secs_since(uint64_t t_ms)
{
	return (double)(cl_now_ms() - t_ms) / 1000.0;
}

static void chaos_test(void **state)
{
	struct chaos *ch = &g_chaos;
	ch->cl = *state;
	uint64_t t = cl_now_ms();

	set_phase(ch, "boot");
	if (ch->partitions)
		cl_require_partitions(ch->cl); /* drops stale tables; can't skip */
	struct cl_options co = {0};
	co.snapshot_threshold = ch->o.snapshot_every;
	co.snapshot_trailing = ch->o.snapshot_every / 10 < 20
	                               ? 20 : ch->o.snapshot_every / 10;
	co.log_level = ch->o.log_level;
	cl_boot(ch->cl, &co);
	unsigned leader = cl_wait_leader(ch->cl, NULL, 0, 20000);
	chaos_log(ch, "cluster up in %s (nodes 127.0.%u.1-5), node %u leads",
	          ch->cl->dir, ch->cl->net, leader);
	set_phase(ch, "setup");
	setup_lms(ch);
	ch->t_setup_s = secs_since(t);

	set_phase(ch, "load");
	t = cl_now_ms();
	chaos_load_start(ch);
	chaos_log(ch, "load: %u register clients on %u keys, %u LMS clients; "
	          "faults for %u s", ch->o.clients, ch->o.keys, ch->o.lms_clients,
	          ch->o.duration_s);
	chaos_nemesis_run(ch, chaos_ms(ch) + (uint64_t)ch->o.duration_s * 1000);
	chaos_log(ch, "load: time is up; waiting for the clients' last "
	          "operations");
	chaos_load_stop(ch);
	ch->t_load_s = secs_since(t);

	set_phase(ch, "heal");
	t = cl_now_ms();
	unsigned bound = ch->o.converge_s * 1000;
	if (!chaos_heal_all(ch, bound)) {
		struct chaos_node_view v[CHAOS_NODES + 1];
		char desc[2048];
		chaos_view(ch, v);
		chaos_view_format(v, desc, sizeof desc);
		chaos_anomaly(ch, "no-heal", "within %u s of the end of the "
		              "faults, the five nodes were not all running voters "
		              "again: %s", ch->o.converge_s, desc);
	}
	chaos_probe(ch);
	chaos_sabotage(ch);
	uint64_t spent = cl_now_ms() - t;
	chaos_converge(ch, spent < bound ? (unsigned)(bound - spent) : 1000);
	ch->t_heal_s = secs_since(t);

	set_phase(ch, "check");
	t = cl_now_ms();
	if (ch->converged)
		chaos_final_reads(ch);
	int rv = lms_hist_writer_close(ch->hist);
	ch->hist = NULL;
	if (rv != 0 || ch->hist_errors)
		chaos_anomaly(ch, "runner", "the history is incomplete: %" PRIu64
		              " line(s) not written (%s)", ch->hist_errors,
		              strerror(rv ? -rv : EIO));
	chaos_check_history(ch);
	chaos_check_lms(ch);
	set_phase(ch, "stop");
	chaos_stop_all(ch);
	ch->t_check_s = secs_since(t);
	set_phase(ch, "done");
	ch->finished = true;
	chaos_report(ch);
}

static int chaos_teardown(void **state)
{
	struct chaos *ch = &g_chaos;
	struct cluster *cl = *state;
	if (ch->clients_running)
		chaos_load_stop(ch);
	if (ch->hist) {
		if (lms_hist_writer_close(ch->hist) != 0)
			fprintf(stderr, "lms-chaos: could not close the history\n");
		ch->hist = NULL;
	}
	if (!ch->finished)
		chaos_report(ch);
	bool ok = ch->exit_status == CHAOS_EXIT_OK;
	if (cl && (!ok || ch->o.keep[0]))
		chaos_copy_logs(ch);
	if (cl && ok) {
		cl_pass(cl);
	} else if (cl) {
		/* the databases stay for a post-mortem (the next harness run
		 * on this server drops them once this process is gone) */
		for (unsigned id = 1; id <= cl->n; id++) {
			if (!cl->nodes[id].db_created)
				continue;
			fprintf(stderr, "lms-chaos: kept node %u's database %s on "
			        "%s:%s\n", id, cl->nodes[id].db,
			        getenv("LMS_TEST_PGHOST"), getenv("LMS_TEST_PGPORT"));
			cl->nodes[id].db_created = false;
		}
	}
	ch->cl = NULL;
	return cl_teardown(state);
}

/* ----------------------------------------------------------- options */

static void usage(FILE *out)
{
	fprintf(out,
	"Usage: lms-chaos --duration SEC --seed S [options]\n"
	"Runs a five-node cluster under client load while faults are\n"
	"injected, then checks it. Needs LMS_TEST_PGHOST/PORT/USER (a\n"
	"PostgreSQL for the nodes' databases): ops/chaos sets them.\n\n"
	"  -d, --duration SEC     how long faults are injected (default 60)\n"
	"  -s, --seed S           the fault schedule and the clients' choices\n"
	"                         (default: a random one, printed)\n"
	"  -n, --nemesis LIST     partition,kill,pause,restart-all,membership\n"
	"                         (default all; \"none\" for load only)\n"
	"  -c, --clients N        register clients (default 12)\n"
	"  -k, --keys K           registers (default 4; at most %d clients a\n"
	"                         key)\n"
	"  -l, --lms-clients M    LMS clients: students and instructors\n"
	"                         (default 4: 3 students, 1 instructor; 0 none)\n"
	"      --think-ms MS      pause between a client's operations, up to\n"
	"                         (default 5)\n"
	"      --fault-ms MIN-MAX how long a fault lasts (default 2000-8000)\n"
	"      --gap-ms MIN-MAX   time between faults (default 1000-4000)\n"
	"      --snapshot-every N the nodes' snapshot threshold (default 1000)\n"
	"      --converge-s S     bound of the final heal and convergence\n"
	"                         (default 120)\n"
	"      --log-level L      the nodes' log level (default info)\n"
	"      --keep DIR         write the run's files to DIR and keep them\n"
	"                         (default: a temporary directory, kept only\n"
	"                         when the run fails)\n"
	"      --schedule N       print the seed's first N faults and exit\n"
	"      --sabotage KIND    a self-test of the checks: after the load,\n"
	"                         change one node's database behind lmsd's back\n"
	"                         (lost-write: delete an acknowledged\n"
	"                         submission; dup-write: copy a question; kv:\n"
	"                         overwrite a register); the run must fail\n"
	"  -h, --help, -V, --version\n\n"
	"Exit status: 0 no anomaly, 1 anomalies, 3 linearizability undecided,\n"
	"2 usage, 4 the runner failed. A failing run keeps its directory and\n"
	"prints the command that repeats its fault schedule.\n",
	CHAOS_CLIENTS_PER_KEY);
}

static bool parse_range(const char *s, unsigned *lo, unsigned *hi)
{
	char *end;
	errno = 0;
	unsigned long a = strtoul(s, &end, 10);
	if (errno || end == s || *end != '-')
		return false;
	const char *p = end + 1;
	unsigned long b = strtoul(p, &end, 10);
	if (errno || end == p || *end || a > b || b > 3600000)
		return false;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return true;
}

static bool parse_uint(const char *s, uint64_t min, uint64_t max,
                       unsigned *out)
{
	uint64_t v;
	if (lms_parse_u64(s, min, max, &v) != 0)
		return false;
	*out = (unsigned)v;
	return true;
}

static int parse_options(int argc, char **argv, struct chaos_opts *o)
{
	enum { OPT_THINK = 256, OPT_FAULT, OPT_GAP, OPT_SNAP, OPT_CONV,
	       OPT_LOG, OPT_KEEP, OPT_SCHEDULE, OPT_SABOTAGE };
	static const struct option opts[] = {
		{"duration", required_argument, NULL, 'd'},
		{"seed", required_argument, NULL, 's'},
		{"nemesis", required_argument, NULL, 'n'},
		{"clients", required_argument, NULL, 'c'},
		{"keys", required_argument, NULL, 'k'},
		{"lms-clients", required_argument, NULL, 'l'},
		{"think-ms", required_argument, NULL, OPT_THINK},
		{"fault-ms", required_argument, NULL, OPT_FAULT},
		{"gap-ms", required_argument, NULL, OPT_GAP},
		{"snapshot-every", required_argument, NULL, OPT_SNAP},
		{"converge-s", required_argument, NULL, OPT_CONV},
		{"log-level", required_argument, NULL, OPT_LOG},
		{"keep", required_argument, NULL, OPT_KEEP},
		{"schedule", required_argument, NULL, OPT_SCHEDULE},
		{"sabotage", required_argument, NULL, OPT_SABOTAGE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	bool seeded = false;
	int c;
	o->duration_s = 60;
	o->nemeses = CHAOS_ALL_NEMESES;
	o->clients = 12;
	o->keys = 4;
	o->lms_clients = 4;
	o->think_ms = 5;
	o->fault_min_ms = 2000;
	o->fault_max_ms = 8000;
	o->gap_min_ms = 1000;
	o->gap_max_ms = 4000;
	o->snapshot_every = 1000;
	o->converge_s = 120;
	o->log_level = "info";
	while ((c = getopt_long(argc, argv, "d:s:n:c:k:l:hV", opts, NULL)) !=
	       -1) {
		bool ok = true;
		uint64_t v;
		char err[256];
		switch (c) {
		case 'd':
			ok = parse_uint(optarg, 1, 86400, &o->duration_s);
			break;
		case 's':
			ok = lms_parse_u64(optarg, 0, UINT64_MAX, &v) == 0;
			o->seed = v;
			seeded = true;
			break;
		case 'n':
			o->nemeses = chaos_nemesis_parse(optarg, &ok, err,
			                                 sizeof err);
			if (!ok) {
				fprintf(stderr, "lms-chaos: %s\n", err);
				return CHAOS_EXIT_USAGE;
			}
			break;
		case 'c':
			ok = parse_uint(optarg, 1, CHAOS_MAX_CLIENTS, &o->clients);
			break;
		case 'k':
			ok = parse_uint(optarg, 1, CHAOS_MAX_KEYS, &o->keys);
			break;
		case 'l':
			ok = parse_uint(optarg, 0, CHAOS_MAX_LMS_CLIENTS,
			                &o->lms_clients) && o->lms_clients != 1;
			break;
		case OPT_THINK:
			ok = parse_uint(optarg, 0, 10000, &o->think_ms);
			break;
		case OPT_FAULT:
			ok = parse_range(optarg, &o->fault_min_ms, &o->fault_max_ms) &&
			     o->fault_min_ms >= 100;
			break;
		case OPT_GAP:
			ok = parse_range(optarg, &o->gap_min_ms, &o->gap_max_ms);
			break;
		case OPT_SNAP:
			ok = parse_uint(optarg, 20, 10000000, &o->snapshot_every);
			break;
		case OPT_CONV:
			ok = parse_uint(optarg, 10, 3600, &o->converge_s);
			break;
		case OPT_LOG:
			o->log_level = optarg;
			ok = strcmp(optarg, "debug") == 0 ||
			     strcmp(optarg, "info") == 0 ||
			     strcmp(optarg, "warn") == 0 ||
			     strcmp(optarg, "error") == 0;
			break;
		case OPT_KEEP:
			ok = strlen(optarg) < sizeof o->keep - 64;
			snprintf(o->keep, sizeof o->keep, "%s", optarg);
			break;
		case OPT_SCHEDULE:
			ok = parse_uint(optarg, 1, 100000, &o->schedule);
			break;
		case OPT_SABOTAGE:
			o->sabotage = optarg;
			ok = strcmp(optarg, "lost-write") == 0 ||
			     strcmp(optarg, "dup-write") == 0 ||
			     strcmp(optarg, "kv") == 0;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("lms-chaos %s\n", LMS_VERSION);
			exit(0);
		default:
			usage(stderr);
			return CHAOS_EXIT_USAGE;
		}
		if (!ok) {
			fprintf(stderr, "lms-chaos: invalid value \"%s\" for --%s "
			        "(see --help)\n", optarg,
			        c == 'd' ? "duration" : c == 's' ? "seed"
			        : c == 'c' ? "clients" : c == 'k' ? "keys"
			        : c == 'l' ? "lms-clients (0, or 2 to 16)"
			        : c == OPT_THINK ? "think-ms"
			        : c == OPT_FAULT ? "fault-ms (MIN-MAX, MIN >= 100)"
			        : c == OPT_GAP ? "gap-ms (MIN-MAX)"
			        : c == OPT_SNAP ? "snapshot-every"
			        : c == OPT_CONV ? "converge-s" : c == OPT_LOG
			        ? "log-level" : c == OPT_SCHEDULE ? "schedule"
			        : c == OPT_SABOTAGE
			        ? "sabotage (lost-write, dup-write or kv)" : "keep");
			return CHAOS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lms-chaos: unexpected argument \"%s\"\n",
		        argv[optind]);
		return CHAOS_EXIT_USAGE;
	}
	if ((o->clients + o->keys - 1) / o->keys > CHAOS_CLIENTS_PER_KEY) {
		fprintf(stderr, "lms-chaos: %u clients on %u keys is more than %d "
		        "a key: the checker would not finish; use more --keys\n",
		        o->clients, o->keys, CHAOS_CLIENTS_PER_KEY);
		return CHAOS_EXIT_USAGE;
	}
	if (!seeded) {
		uint32_t r = 0;
		if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
			r = (uint32_t)getpid();
		o->seed = r % 1000000;
	}
	return 0;
}

/* ------------------------------------------------------------- main */

static bool partitions_possible(void)
{
	return geteuid() == 0 &&
	       system("nft list tables >/dev/null 2>&1") == 0;
}

static int open_run_dir(struct chaos *ch)
{
	if (ch->o.keep[0]) {
		if (mkdir(ch->o.keep, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "lms-chaos: could not create \"%s\": %s\n",
			        ch->o.keep, strerror(errno));
			return -1;
		}
		snprintf(ch->run_dir, sizeof ch->run_dir, "%s", ch->o.keep);
	} else {
		snprintf(ch->run_dir, sizeof ch->run_dir, "/tmp/lms-chaos-XXXXXX");
		if (!mkdtemp(ch->run_dir)) {
			fprintf(stderr, "lms-chaos: could not create a run "
			        "directory: %s\n", strerror(errno));
			return -1;
		}
		ch->run_dir_temp = true;
	}
	char path[PATH_MAX + 32];
	snprintf(ch->hist_path, sizeof ch->hist_path, "%s/history.jsonl",
	         ch->run_dir);
	int rv = lms_hist_writer_open(ch->hist_path, &ch->hist);
	if (rv != 0) {
		fprintf(stderr, "lms-chaos: could not create \"%s\": %s\n",
		        ch->hist_path, strerror(-rv));
		return -1;
	}
	snprintf(path, sizeof path, "%s/faults.log", ch->run_dir);
	ch->faults = fopen(path, "w");
	snprintf(path, sizeof path, "%s/lms-ops.jsonl", ch->run_dir);
	ch->lms_log = fopen(path, "w");
	if (!ch->faults || !ch->lms_log) {
		fprintf(stderr, "lms-chaos: could not create files in \"%s\": "
		        "%s\n", ch->run_dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Removes the files this program wrote into a temporary run dir, then
 * the dir itself (no recursive delete of anything else). */
static void remove_run_dir(struct chaos *ch)
{
	static const char *const files[] = {
		"history.jsonl", "lms-ops.jsonl", "faults.log",
		"linearizability.txt", "summary.json", NULL,
	};
	char path[PATH_MAX + 32];
	for (size_t i = 0; files[i]; i++) {
		snprintf(path, sizeof path, "%s/%s", ch->run_dir, files[i]);
		unlink(path);
	}
	if (rmdir(ch->run_dir) != 0)
		fprintf(stderr, "lms-chaos: could not remove \"%s\": %s\n",
		        ch->run_dir, strerror(errno));
}

static void rerun_command(const struct chaos *ch, char *buf, size_t cap)
{
	char nem[128];
	chaos_nemesis_format(ch->o.nemeses, nem, sizeof nem);
	snprintf(buf, cap, "ops/chaos --duration %u --seed %" PRIu64
	         " --nemesis %s --clients %u --keys %u --lms-clients %u",
	         ch->o.duration_s, ch->o.seed, nem, ch->o.clients, ch->o.keys,
	         ch->o.lms_clients);
}

int main(int argc, char **argv)
{
	struct chaos *ch = &g_chaos;
	memset(ch, 0, sizeof *ch);
	ch->t0_ms = cl_now_ms();
	ch->lin_verdict = -1;
	ch->exit_status = CHAOS_EXIT_RUNNER;
	snprintf(ch->phase, sizeof ch->phase, "start");
	pthread_mutex_init(&ch->mu, NULL);
	int rv = parse_options(argc, argv, &ch->o);
	if (rv != 0)
		return rv;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (ch->o.schedule) {
		ch->nemeses = ch->o.nemeses;
		chaos_print_schedule(ch, ch->o.schedule);
		return 0;
	}
	if (!getenv("LMS_TEST_PGHOST") || !getenv("LMS_TEST_PGPORT") ||
	    !getenv("LMS_TEST_PGUSER")) {
		fprintf(stderr, "lms-chaos: LMS_TEST_PGHOST, LMS_TEST_PGPORT and "
		        "LMS_TEST_PGUSER must name a PostgreSQL server (ops/chaos "
		        "starts one)\n");
		return CHAOS_EXIT_USAGE;
	}
	chaos_rng_seed(&ch->nrng, ch->o.seed);
	ch->nemeses = ch->o.nemeses;
	ch->partitions = partitions_possible();
	if ((ch->nemeses & CHAOS_PARTITION) && !ch->partitions) {
		printf("lms-chaos: partition nemesis skipped: partitions need "
		       "root and nft (nftables)\n");
		ch->nemeses &= ~(unsigned)CHAOS_PARTITION;
	}
	if (open_run_dir(ch) != 0)
		return CHAOS_EXIT_RUNNER;
	char nem[128], rerun[512];
	chaos_nemesis_format(ch->nemeses, nem, sizeof nem);
	rerun_command(ch, rerun, sizeof rerun);
	chaos_log(ch, "lms-chaos: seed %" PRIu64 ", %u s, nemeses %s; run "
	          "directory %s", ch->o.seed, ch->o.duration_s, nem,
	          ch->run_dir);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(chaos_test, cl_setup,
		                                chaos_teardown),
	};
	int failed = cmocka_run_group_tests_name("chaos", tests, NULL, NULL);
	if (failed && ch->exit_status == CHAOS_EXIT_OK)
		ch->exit_status = CHAOS_EXIT_RUNNER;
	if (ch->faults)
		fclose(ch->faults);
	if (ch->lms_log)
		fclose(ch->lms_log);
	json_decref((json_t *)ch->lin_json);
	free(ch->recs);
	free(ch->subs);

	if (ch->exit_status == CHAOS_EXIT_OK) {
		if (ch->run_dir_temp)
			remove_run_dir(ch);
		printf("lms-chaos: PASSED (seed %" PRIu64 ", no anomaly)%s%s\n",
		       ch->o.seed, ch->run_dir_temp ? "" : "; files in ",
		       ch->run_dir_temp ? "" : ch->run_dir);
	} else {
		const char *what =
			ch->exit_status == CHAOS_EXIT_ANOMALY ? "anomalies found"
			: ch->exit_status == CHAOS_EXIT_UNDECIDED
				? "linearizability undecided"
				: "the runner failed";
		printf("lms-chaos: FAILED (%s, exit %d). Kept %s (history.jsonl, "
		       "lms-ops.jsonl, faults.log, summary.json, node logs).\n"
		       "Seed %" PRIu64 "; the same fault schedule again: %s\n",
		       what, ch->exit_status, ch->run_dir, ch->o.seed, rerun);
	}
	free(ch->anoms);
	pthread_mutex_destroy(&ch->mu);
	return ch->exit_status;
}

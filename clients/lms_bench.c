/*
 * lms_bench.c -- lms-bench, the load generator and latency meter.
 *
 *   lms-bench [--config FILE | --nodes LIST] [--clients N] [--duration S]
 *             [--warmup S] [--mix op:w,...] [--kv] [--json]
 *             [--admin USER --password-file F]
 *   lms-bench --etcd URL,... [--etcd-spread] [--kv | --mix kv-get:100] ...
 *   lms-bench --failover-trials N --run-dir DIR --restart-cmd CMD
 *   lms-bench --catchup ENTRIES --run-dir DIR --restart-cmd CMD
 *
 * Why this exists
 * ---------------
 * Issue 8 asks the project to show how fast it is: throughput and
 * p50/p90/p99/max latency per operation for a mix of LMS operations and
 * for small key/value writes, measured through the same client library
 * every program uses (so leader finding, NOT_LEADER hints and failover
 * are in every number), and the same small writes against etcd for a
 * comparison (ops/bench runs both). Two targets need orchestration rather
 * than load: how long writes stop after the leader is SIGKILLed, and how
 * long a follower that missed many entries takes to catch up; those are
 * the --failover-trials and --catchup modes (bench_orch.c).
 *
 * How a run goes
 * --------------
 * Each of --clients threads gets its own client (struct lmsc is not
 * thread-safe) and, when the mix has LMS operations, its own student
 * (setup, bench_lms.c). All threads then start together; for --warmup
 * seconds nothing is recorded, then for --duration seconds every call's
 * latency goes into the thread's histogram (bench_hist.c), successes and
 * errors apart, errors by status. The threads stop by themselves at the
 * end (no call starts after it); the main thread merges and prints.
 * Only loopback addresses are accepted (127.0.0.0/8, ::1, localhost): this
 * is a tool for clusters on this machine.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bench.h"
#include "util.h"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fputs(
"usage: lms-bench [OPTIONS]\n"
"\n"
"Drives the cluster through the client library and prints throughput and\n"
"latency percentiles (p50, p90, p99, max, in ms) per operation.\n"
"\n"
"cluster:\n"
"  --config FILE          nodes from the config's client ports (default:\n"
"                         $LMS_CONFIG or ./config.json)\n"
"  --nodes host:port,...  nodes given directly ($LMS_NODES too)\n"
"load:\n"
"  --clients N            client threads, each its own connection (1)\n"
"  --duration SEC         measured time (10)\n"
"  --warmup SEC           unrecorded time before it (1)\n"
"  --mix op:w,...         weighted mix (submit:40,grade:10,read:40,query:10)\n"
"      ops: submit grade read read-stale query kv-put kv-get kv-cas\n"
"  --kv                   pure key/value puts: --mix kv-put:100\n"
"  --keys N               key space of kv-put/kv-get (10000)\n"
"  --value-bytes N        kv value size (100)\n"
"  --admin USER           admin for the setup of LMS operations (admin)\n"
"  --password-file F      that admin's password (first line), e.g. the\n"
"                         cluster's data/admin-password\n"
"output:\n"
"  --json                 one JSON object instead of the table\n"
"  --verbose              progress on stderr\n"
"etcd (comparison):\n"
"  --etcd URL,...         the same kv-put / kv-get load against etcd's v3\n"
"                         HTTP/JSON gateway (http://127.0.0.1:2379,...);\n"
"                         all threads on the leader\n"
"  --etcd-spread          threads round-robin over every member instead\n"
"orchestrated timings (on a cluster run by ops/cluster):\n"
"  --failover-trials N    N times: SIGKILL the leader (pid file in\n"
"                         --run-dir), time until a write succeeds again,\n"
"                         restart it with --restart-cmd, wait until it\n"
"                         caught up; prints median, p90 and max\n"
"  --catchup ENTRIES      stop a follower (SIGTERM by pid file), write\n"
"                         ENTRIES kv puts with --clients threads, restart\n"
"                         it, time until its applied index reaches the\n"
"                         leader's commit index\n"
"  --run-dir DIR          the cluster's pid files (lmsdN.pid), e.g. data/run\n"
"  --restart-cmd CMD      shell command starting node {id}, e.g.\n"
"                         'ops/cluster start {id}' (with LMS_CONFIG set)\n"
"\n"
"LMS operations need --password-file: the setup creates a course, an\n"
"instructor, one student per client, an assignment with unlimited\n"
"attempts, all named after a random run id. Exit status: 0 ok (errors\n"
"are reported, not fatal), 1 setup or run failed, 2 usage.\n",
	      f);
}

static int fail_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "lms-bench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry \"lms-bench --help\".\n");
	return EXIT_USAGE;
}

/* ------------------------------------------------------ option helpers */

static int parse_mix(struct bench *b, const char *spec)
{
	memset(b->weight, 0, sizeof b->weight);
	b->weight_total = 0;
	char *dup = strdup(spec), *save = NULL;
	if (!dup)
		return -1;
	int rc = 0;
	for (char *it = strtok_r(dup, ",", &save); it;
	     it = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(it, ':');
		uint64_t w = 1;
		if (colon) {
			*colon = '\0';
			if (lms_parse_u64(colon + 1, 0, 1000000, &w) != 0) {
				rc = -1;
				break;
			}
		}
		int op = bench_op_parse(it);
		if (op < 0) {
			rc = -1;
			break;
		}
		b->weight[op] += (unsigned)w;
		b->weight_total += (unsigned)w;
	}
	free(dup);
	return rc == 0 && b->weight_total > 0 ? 0 : -1;
}

static void mix_string(const struct bench *b, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < OP_COUNT && o < cap; i++)
		if (b->weight[i])
			o += (size_t)snprintf(buf + o, cap - o, "%s%s:%u",
			                      o ? "," : "", bench_op_name(i),
			                      b->weight[i]);
}

static bool loopback_host(const char *h)
{
	if (strcmp(h, "localhost") == 0)
		return true;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/* "http://HOST:PORT[/]" with a loopback HOST; the URL without a trailing
 * slash is kept. */
static int add_etcd_url(struct bench *b, const char *u, size_t len)
{
	char url[256], host[128];
	if (len == 0 || len >= sizeof url || b->n_etcd >= LMSC_MAX_NODES)
		return -1;
	memcpy(url, u, len);
	url[len] = '\0';
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	if (strncmp(url, "http://", 7) != 0)
		return -1;
	const char *h = url + 7, *end = strpbrk(h, ":/");
	size_t hl = end ? (size_t)(end - h) : strlen(h);
	if (hl == 0 || hl >= sizeof host)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!loopback_host(host))
		return -2;
	b->etcd_urls[b->n_etcd] = strdup(url);
	return b->etcd_urls[b->n_etcd++] ? 0 : -1;
}

static char *read_secret(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "lms-bench: cannot read \"%s\": %s\n", path,
		        strerror(errno));
		return NULL;
	}
	char buf[1100];
	char *line = fgets(buf, sizeof buf, f);
	fclose(f);
	if (!line || !*buf) {
		fprintf(stderr, "lms-bench: \"%s\" is empty\n", path);
		return NULL;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

/* ------------------------------------------------------------- the run */

struct run {
	struct bench *b;
	struct bench_thread *threads;
	pthread_barrier_t ready, go;
	bool lms;                     /* the mix has LMS operations */
	bool etcd;
};

static enum bench_op pick_op(struct bench_thread *t)
{
	const struct bench *b = t->b;
	unsigned r = (unsigned)(bench_rand(&t->rng) % b->weight_total);
	for (int i = 0; i < OP_COUNT; i++) {
		if (r < b->weight[i])
			return (enum bench_op)i;
		r -= b->weight[i];
	}
	return OP_KV_PUT;
}

static struct run *the_run; /* for the thread start routine */

static void *thread_main(void *arg)
{
	struct bench_thread *t = arg;
	struct bench *b = t->b;
	struct run *run = the_run;
	if (run->etcd)
		t->setup_rc = bench_etcd_thread_init(t);
	else if (run->lms)
		t->setup_rc = bench_setup_thread(t);
	pthread_barrier_wait(&run->ready);
	pthread_barrier_wait(&run->go);
	while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
		uint64_t t0 = bench_now_us();
		if (t0 >= b->end_us)
			break;
		enum bench_op op = pick_op(t);
		int st = run->etcd ? bench_etcd_op(t, op) : bench_do_op(t, op);
		uint64_t t1 = bench_now_us();
		if (t0 < b->measure_us)
			continue; /* warm-up */
		struct bench_opstat *s = t->st[op];
		if (st == 0) {
			bench_hist_record(&s->h, t1 - t0);
			if (b->op_limit &&
			    atomic_fetch_add(&b->op_done, 1) + 1 >= b->op_limit)
				atomic_store(&b->stop, true);
		} else {
			s->errors++;
			s->by_status[st >= 0 && st < BENCH_ST_COUNT
			                     ? st
			                     : BENCH_ST_WRONG]++;
			if (b->verbose && s->errors <= 3)
				fprintf(stderr, "lms-bench: client %u: %s: %s\n",
				        t->idx, bench_op_name(op),
				        bench_status_name(st));
		}
	}
	return NULL;
}

static void thread_free(struct bench_thread *t)
{
	if (t->c)
		lmsc_free(t->c);
	bench_etcd_thread_free(t);
	free(t->token);
	for (int i = 0; i < OP_COUNT; i++)
		free(t->st[i]);
}

int bench_run(struct bench *b, struct bench_opstat *out, uint64_t *wall_us)
{
	struct run run = {.b = b, .etcd = b->n_etcd > 0};
	for (int i = 0; i < OP_COUNT; i++)
		if (b->weight[i] && bench_op_is_lms((enum bench_op)i))
			run.lms = true;
	struct lmsc_options o;
	lmsc_options_default(&o);
	if (run.lms && !b->instructor_token) {
		struct lmsc *c = lmsc_new(b->nodes, b->n_nodes, &o);
		if (!c || bench_setup_main(b, c) != 0) {
			if (c)
				lmsc_free(c);
			return -1;
		}
		lmsc_free(c);
	}
	run.threads = calloc(b->clients, sizeof *run.threads);
	if (!run.threads)
		return -1;
	int rc = 0;
	for (unsigned i = 0; i < b->clients && rc == 0; i++) {
		struct bench_thread *t = &run.threads[i];
		t->b = b;
		t->idx = i;
		if (getrandom(&t->rng, sizeof t->rng, 0) != sizeof t->rng)
			t->rng = bench_now_us() * (i + 1);
		if (!run.etcd && !(t->c = lmsc_new(b->nodes, b->n_nodes, &o)))
			rc = -1;
		for (int k = 0; k < OP_COUNT && rc == 0; k++)
			if (b->weight[k] && !(t->st[k] = calloc(1, sizeof *t->st[k])))
				rc = -1;
	}
	if (rc != 0) {
		fprintf(stderr, "lms-bench: out of memory\n");
		goto out;
	}
	pthread_barrier_init(&run.ready, NULL, b->clients + 1);
	pthread_barrier_init(&run.go, NULL, b->clients + 1);
	the_run = &run;
	atomic_store(&b->stop, false);
	atomic_store(&b->op_done, 0);
	unsigned started = 0;
	for (unsigned i = 0; i < b->clients; i++) {
		if (pthread_create(&run.threads[i].tid, NULL, thread_main,
		                   &run.threads[i]) != 0)
			break;
		run.threads[i].started = true;
		started++;
	}
	if (started < b->clients) {
		/* the barriers count every thread: run none of it */
		fprintf(stderr, "lms-bench: could not start %u threads\n",
		        b->clients);
		exit(EXIT_FAIL);
	}
	if (b->verbose && run.lms)
		fprintf(stderr, "lms-bench: setting up %u students in %s...\n",
		        b->clients, b->course);
	pthread_barrier_wait(&run.ready);
	for (unsigned i = 0; i < b->clients; i++) {
		if (run.threads[i].setup_rc != 0) {
			fprintf(stderr, "lms-bench: setup of client %u failed: "
			        "%s\n", i, run.threads[i].err);
			rc = -1;
		}
	}
	b->start_us = bench_now_us();
	b->measure_us = b->start_us + (uint64_t)b->warmup_s * 1000000u;
	b->end_us = b->measure_us + (uint64_t)b->duration_s * 1000000u;
	if (rc != 0)
		atomic_store(&b->stop, true);
	else if (b->verbose)
		fprintf(stderr, "lms-bench: running %u clients for %u s "
		        "(+%u s warm-up)\n", b->clients, b->duration_s,
		        b->warmup_s);
	pthread_barrier_wait(&run.go);
	for (unsigned i = 0; i < b->clients; i++)
		pthread_join(run.threads[i].tid, NULL);
	uint64_t end = bench_now_us();
	if (end > b->end_us)
		end = b->end_us; /* the threads stop at end_us */
	if (b->op_limit)
		end = bench_now_us();
	*wall_us = end > b->measure_us ? end - b->measure_us : 1;
	pthread_barrier_destroy(&run.ready);
	pthread_barrier_destroy(&run.go);
	for (unsigned i = 0; i < b->clients; i++)
		for (int k = 0; k < OP_COUNT; k++)
			if (run.threads[i].st[k])
				bench_opstat_merge(&out[k], run.threads[i].st[k]);
out:
	for (unsigned i = 0; i < b->clients; i++)
		thread_free(&run.threads[i]);
	free(run.threads);
	the_run = NULL;
	return rc;
}

/* ------------------------------------------------------------- output */

static double ms(uint64_t us)
{
	return (double)us / 1000.0;
}

static json_t *stat_json(const struct bench_opstat *s, double secs)
{
	json_t *errs = json_object();
	for (int i = 0; i < BENCH_ST_COUNT; i++)
		if (s->by_status[i])
			json_object_set_new(errs, bench_status_name(i),
			                    json_integer((json_int_t)s->by_status[i]));
	const struct bench_hist *h = &s->h;
	return json_pack("{s:I,s:I,s:o,s:f,s:f,s:f,s:f,s:f,s:f,s:f}",
		"count", (json_int_t)h->count, "errors", (json_int_t)s->errors,
		"errors_by_status", errs,
		"ops_per_s", (double)h->count / secs,
		"mean_ms", h->count ? h->sum_us / (double)h->count / 1000.0 : 0.0,
		"min_ms", ms(h->min_us),
		"p50_ms", ms(bench_hist_percentile(h, 50)),
		"p90_ms", ms(bench_hist_percentile(h, 90)),
		"p99_ms", ms(bench_hist_percentile(h, 99)),
		"max_ms", ms(h->max_us));
}

static void print_row(const char *name, const struct bench_opstat *s,
                      double secs)
{
	const struct bench_hist *h = &s->h;
	printf("%-11s %9llu %7llu %10.1f %8.3f %8.3f %8.3f %9.3f\n", name,
	       (unsigned long long)h->count, (unsigned long long)s->errors,
	       (double)h->count / secs, ms(bench_hist_percentile(h, 50)),
	       ms(bench_hist_percentile(h, 90)),
	       ms(bench_hist_percentile(h, 99)), ms(h->max_us));
}

static void report(const struct bench *b, const struct bench_opstat *st,
                   uint64_t wall_us)
{
	double secs = (double)wall_us / 1e6;
	char mix[256];
	mix_string(b, mix, sizeof mix);
	struct bench_opstat *all = calloc(1, sizeof *all);
	if (!all)
		return;
	for (int i = 0; i < OP_COUNT; i++)
		if (b->weight[i])
			bench_opstat_merge(all, &st[i]);
	const char *target = b->n_etcd ? "etcd" : "lms";
	if (b->json) {
		json_t *ops = json_object();
		for (int i = 0; i < OP_COUNT; i++)
			if (b->weight[i])
				json_object_set_new(ops, bench_op_name(i),
				                    stat_json(&st[i], secs));
		json_t *j = json_pack(
			"{s:s,s:I,s:I,s:I,s:s,s:f,s:I,s:I,s:o,s:o}", "target",
			target, "clients", (json_int_t)b->clients, "duration_s",
			(json_int_t)b->duration_s, "warmup_s",
			(json_int_t)b->warmup_s, "mix", mix, "measured_s", secs,
			"nodes", (json_int_t)(b->n_etcd ? b->n_etcd : b->n_nodes),
			"value_bytes", (json_int_t)b->value_bytes, "ops", ops,
			"all", stat_json(all, secs));
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS |
		                                JSON_REAL_PRECISION(6));
		if (s)
			puts(s);
		free(s);
		json_decref(j);
		free(all);
		return;
	}
	printf("lms-bench: %s, %zu nodes, %u clients, %.1f s measured "
	       "(+%u s warm-up), mix %s\n", target,
	       b->n_etcd ? b->n_etcd : b->n_nodes, b->clients, secs,
	       b->warmup_s, mix);
	printf("%-11s %9s %7s %10s %8s %8s %8s %9s\n", "op", "count", "errors",
	       "ops/s", "p50 ms", "p90 ms", "p99 ms", "max ms");
	for (int i = 0; i < OP_COUNT; i++)
		if (b->weight[i])
			print_row(bench_op_name(i), &st[i], secs);
	print_row("all", all, secs);
	for (int i = 0; i < OP_COUNT; i++) {
		if (!b->weight[i] || !st[i].errors)
			continue;
		printf("errors in %s:", bench_op_name(i));
		for (int k = 0; k < BENCH_ST_COUNT; k++)
			if (st[i].by_status[k])
				printf(" %s %llu", bench_status_name(k),
				       (unsigned long long)st[i].by_status[k]);
		putchar('\n');
	}
	free(all);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	enum {
		O_CONFIG = 256, O_NODES, O_CLIENTS, O_DURATION, O_WARMUP, O_MIX,
		O_KV, O_KEYS, O_VALUE, O_ADMIN, O_PWFILE, O_JSON, O_VERBOSE,
		O_ETCD, O_SPREAD, O_FAILOVER, O_CATCHUP, O_RUNDIR, O_RESTART,
		O_HELP, O_VERSION,
	};
	static const struct option opts[] = {
		{"config", required_argument, NULL, O_CONFIG},
		{"nodes", required_argument, NULL, O_NODES},
		{"clients", required_argument, NULL, O_CLIENTS},
		{"duration", required_argument, NULL, O_DURATION},
		{"warmup", required_argument, NULL, O_WARMUP},
		{"mix", required_argument, NULL, O_MIX},
		{"kv", no_argument, NULL, O_KV},
		{"keys", required_argument, NULL, O_KEYS},
		{"value-bytes", required_argument, NULL, O_VALUE},
		{"admin", required_argument, NULL, O_ADMIN},
		{"password-file", required_argument, NULL, O_PWFILE},
		{"json", no_argument, NULL, O_JSON},
		{"verbose", no_argument, NULL, O_VERBOSE},
		{"etcd", required_argument, NULL, O_ETCD},
		{"etcd-spread", no_argument, NULL, O_SPREAD},
		{"failover-trials", required_argument, NULL, O_FAILOVER},
		{"catchup", required_argument, NULL, O_CATCHUP},
		{"run-dir", required_argument, NULL, O_RUNDIR},
		{"restart-cmd", required_argument, NULL, O_RESTART},
		{"help", no_argument, NULL, O_HELP},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	static struct bench b; /* large (atomics, arrays): not on the stack */
	const char *config = NULL, *nodes = NULL, *pwfile = NULL, *mix = NULL;
	const char *etcd = NULL;
	struct bench_orch orch = {0};
	uint64_t v;
	b.clients = 1;
	b.duration_s = 10;
	b.warmup_s = 1;
	b.keys = 10000;
	b.value_bytes = 100;
	b.admin_user = "admin";
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_CONFIG: config = optarg; break;
		case O_NODES: nodes = optarg; break;
		case O_CLIENTS:
			if (lms_parse_u64(optarg, 1, 1024, &v) != 0)
				return fail_usage("--clients must be 1..1024%s", "");
			b.clients = (unsigned)v;
			break;
		case O_DURATION:
			if (lms_parse_u64(optarg, 1, 86400, &v) != 0)
				return fail_usage("--duration must be 1..86400 s%s", "");
			b.duration_s = (unsigned)v;
			break;
		case O_WARMUP:
			if (lms_parse_u64(optarg, 0, 3600, &v) != 0)
				return fail_usage("--warmup must be 0..3600 s%s", "");
			b.warmup_s = (unsigned)v;
			break;
		case O_MIX: mix = optarg; break;
		case O_KV: mix = "kv-put:100"; break;
		case O_KEYS:
			if (lms_parse_u64(optarg, 1, 100000000, &v) != 0)
				return fail_usage("--keys must be 1..100000000%s", "");
			b.keys = (unsigned)v;
			break;
		case O_VALUE:
			if (lms_parse_u64(optarg, 1, 4000, &v) != 0)
				return fail_usage("--value-bytes must be 1..4000%s", "");
			b.value_bytes = (unsigned)v;
			break;
		case O_ADMIN: b.admin_user = optarg; break;
		case O_PWFILE: pwfile = optarg; break;
		case O_JSON: b.json = true; break;
		case O_VERBOSE: b.verbose = true; break;
		case O_ETCD: etcd = optarg; break;
		case O_SPREAD: b.etcd_spread = true; break;
		case O_FAILOVER:
			if (lms_parse_u64(optarg, 1, 1000, &v) != 0)
				return fail_usage("--failover-trials must be 1..1000%s",
				                  "");
			orch.trials = (unsigned)v;
			break;
		case O_CATCHUP:
			if (lms_parse_u64(optarg, 1, 100000000, &v) != 0)
				return fail_usage("--catchup must be 1..100000000%s",
				                  "");
			orch.catchup_entries = v;
			break;
		case O_RUNDIR: orch.run_dir = optarg; break;
		case O_RESTART: orch.restart_cmd = optarg; break;
		case O_HELP: usage(stdout); return 0;
		case O_VERSION: printf("lms-bench %s\n", LMS_VERSION); return 0;
		default: return fail_usage("bad option%s", "");
		}
	}
	if (optind != argc)
		return fail_usage("unexpected argument \"%s\"", argv[optind]);
	if (parse_mix(&b, mix ? mix : "submit:40,grade:10,read:40,query:10") !=
	    0)
		return fail_usage("bad --mix \"%s\" (op:weight,...; ops: submit "
		                  "grade read read-stale query kv-put kv-get "
		                  "kv-cas)", mix);
	if (orch.trials && orch.catchup_entries)
		return fail_usage("--failover-trials and --catchup are two runs%s",
		                  "");
	if ((orch.trials || orch.catchup_entries) &&
	    (!orch.run_dir || !orch.restart_cmd))
		return fail_usage("--failover-trials and --catchup need --run-dir "
		                  "and --restart-cmd%s", "");

	if (etcd) {
		if (orch.trials || orch.catchup_entries)
			return fail_usage("--etcd measures load only%s", "");
		for (int i = 0; i < OP_COUNT; i++)
			if (b.weight[i] && i != OP_KV_PUT && i != OP_KV_GET)
				return fail_usage("--etcd does kv-put and kv-get only, "
				                  "not %s", bench_op_name(i));
		const char *p = etcd;
		while (*p) {
			size_t len = strcspn(p, ",");
			int r = add_etcd_url(&b, p, len);
			if (r == -2)
				return fail_usage("--etcd: only loopback addresses "
				                  "(127.x.x.x, ::1, localhost): \"%s\"",
				                  etcd);
			if (r != 0)
				return fail_usage("--etcd: bad URL list \"%s\" "
				                  "(http://HOST:PORT,...)", etcd);
			p += len;
			if (*p == ',')
				p++;
		}
	} else {
		char err[512];
		if (lmsc_nodes_resolve(nodes, config, b.nodes, &b.n_nodes, err,
		                       sizeof err) != 0) {
			fprintf(stderr, "lms-bench: %s\n", err);
			return EXIT_USAGE;
		}
		for (size_t i = 0; i < b.n_nodes; i++)
			if (!loopback_host(b.nodes[i].host))
				return fail_usage("only nodes on this machine "
				                  "(loopback addresses), not \"%s\"",
				                  b.nodes[i].host);
	}
	bool lms = false;
	for (int i = 0; i < OP_COUNT; i++)
		if (b.weight[i] && bench_op_is_lms((enum bench_op)i))
			lms = true;
	if (lms && !orch.trials && !orch.catchup_entries) {
		if (!pwfile)
			return fail_usage("LMS operations need --password-file (an "
			                  "admin's password, e.g. data/admin-"
			                  "password)%s", "");
		if (!(b.admin_password = read_secret(pwfile)))
			return EXIT_FAIL;
	}
	uint8_t rid[4];
	if (getrandom(rid, sizeof rid, 0) != sizeof rid) {
		uint64_t x = bench_now_us();
		memcpy(rid, &x, sizeof rid);
	}
	lms_hex_encode(rid, sizeof rid, b.run_id);
	signal(SIGPIPE, SIG_IGN);

	int rc;
	if (orch.trials) {
		rc = bench_failover(&b, &orch);
	} else if (orch.catchup_entries) {
		rc = bench_catchup(&b, &orch);
	} else {
		if (etcd) {
			bench_etcd_global(true);
			if (bench_etcd_init(&b) != 0) {
				bench_etcd_global(false);
				return EXIT_FAIL;
			}
		}
		struct bench_opstat *st = calloc(OP_COUNT, sizeof *st);
		uint64_t wall = 0;
		rc = EXIT_FAIL;
		if (st && bench_run(&b, st, &wall) == 0) {
			report(&b, st, wall);
			rc = 0;
		}
		free(st);
		if (etcd)
			bench_etcd_global(false);
	}
	free(b.admin_password);
	free(b.admin_token);
	free(b.instructor_token);
	for (size_t i = 0; i < b.n_etcd; i++)
		free(b.etcd_urls[i]);
	return rc;
}

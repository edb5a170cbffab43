/*
 * bench_orch.c -- lms-bench's two timing runs that need a hand on the
 * processes: leader failover (--failover-trials) and follower catch-up
 * (--catchup).
 *
 * Why this exists
 * ---------------
 * Issue 8's targets include "after SIGKILL of the leader, writes succeed
 * again within 1 s (median of 20 trials <= 600 ms), measured by the
 * benchmark" and "a node that was down for 100,000 entries is caught up
 * within 10 s". Both are measured here against a cluster that ops/cluster
 * runs: processes are found by their pid files (RUN_DIR/lmsdN.pid; the
 * pid must belong to a process whose command line names lmsd, so a
 * recycled pid is never signalled), and a node comes back through the
 * operator's own command (--restart-cmd, "{id}" replaced by the node id,
 * run by /bin/sh), e.g. `ops/cluster start {id}`.
 *
 * What is measured
 * ----------------
 * Failover: from the SIGKILL until a kv put is acknowledged, by a client
 * that knew the old leader and retries with a short backoff (5..20 ms),
 * so the figure is the cluster's (detection, election, the new leader's
 * no-op commit), not the library's default backoff of up to 500 ms. Then
 * the node is restarted and the next trial waits until every node
 * answers and has applied the leader's commit index.
 *
 * Catch-up: a follower is stopped (SIGTERM by its pid file, as `ops/
 * cluster stop` does), ENTRIES kv puts are written by --clients threads,
 * the follower is restarted, and the time is taken until its applied
 * index (its status RPC, the same figure as /status on its HTTP port)
 * reaches the leader's commit index of the moment the writes ended.
 * Three figures: from the start of the restart command (which, for
 * ops/cluster, includes its own work: PostgreSQL checks, a pause), from
 * the new lmsd process's start (/proc/PID/stat, to 10 ms), and from the
 * first answer of its client port.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "util.h"

struct node_st {
	bool up;
	uint64_t id, term, leader, commit, applied;
	char role[16];
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static struct lmsc *short_client(const struct bench *b, unsigned req_ms,
                                 unsigned total_ms)
{
	struct lmsc_options o;
	lmsc_options_default(&o);
	o.connect_timeout_ms = 200;
	o.request_timeout_ms = req_ms;
	o.total_timeout_ms = total_ms;
	o.backoff_min_ms = 5;
	o.backoff_max_ms = 20;
	return lmsc_new(b->nodes, b->n_nodes, &o);
}

static void node_status(struct lmsc *c, size_t i, struct node_st *s)
{
	memset(s, 0, sizeof *s);
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__StatusRequest sr = LMS__RPC__STATUS_REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_STATUS;
	req.status = &sr;
	Lms__Rpc__Response *r = NULL;
	if (lmsc_call_node(c, i, &req, &r) == 0 &&
	    r->status == LMS__RPC__STATUS__OK &&
	    r->result_case == LMS__RPC__RESPONSE__RESULT_STATUS_INFO) {
		const Lms__Rpc__StatusResponse *x = r->status_info;
		s->up = true;
		s->id = x->node_id;
		s->term = x->term;
		s->leader = x->leader_id;
		s->commit = x->commit_index;
		s->applied = x->applied_index;
		lms_strlcpy(s->role, x->role ? x->role : "", sizeof s->role);
	}
	lmsc_response_free(r);
}

/* Every node answers, one leads (the highest term), and every node has
 * applied the leader's commit index. Returns the leader's index in the
 * node list, or -1 after timeout_ms. */
static int wait_healthy(const struct bench *b, struct lmsc *c,
                        unsigned timeout_ms, struct node_st *st)
{
	uint64_t deadline = lms_now_ms() + timeout_ms;
	do {
		int leader = -1;
		bool all_up = true;
		for (size_t i = 0; i < b->n_nodes; i++) {
			node_status(c, i, &st[i]);
			if (!st[i].up)
				all_up = false;
			else if (strcmp(st[i].role, "leader") == 0 &&
			         (leader < 0 || st[i].term > st[leader].term))
				leader = (int)i;
		}
		if (all_up && leader >= 0) {
			bool synced = true;
			for (size_t i = 0; i < b->n_nodes; i++)
				if (st[i].applied < st[leader].commit ||
				    st[i].term != st[leader].term)
					synced = false;
			if (synced)
				return leader;
		}
		sleep_ms(50);
	} while (lms_now_ms() < deadline);
	return -1;
}

/* The pid in RUN_DIR/lmsdID.pid when it is a live lmsd; else 0. */
static pid_t lmsd_pid(const char *run_dir, uint64_t id)
{
	char path[4096], buf[4096];
	snprintf(path, sizeof path, "%s/lmsd%llu.pid", run_dir,
	         (unsigned long long)id);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	long pid = 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 1)
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, "lmsd") ? (pid_t)pid : 0;
}

/* Runs the restart command for node id; its exit status, or -1. */
static int run_restart(const struct bench *b, const char *tmpl, uint64_t id)
{
	char cmd[8192], num[24];
	size_t o = 0;
	snprintf(num, sizeof num, "%llu", (unsigned long long)id);
	for (const char *p = tmpl; *p && o + 24 < sizeof cmd;) {
		if (strncmp(p, "{id}", 4) == 0) {
			o += (size_t)snprintf(cmd + o, sizeof cmd - o, "%s", num);
			p += 4;
		} else {
			cmd[o++] = *p++;
		}
	}
	cmd[o] = '\0';
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!b->verbose) {
			int fd = open("/dev/null", O_WRONLY);
			if (fd >= 0) {
				dup2(fd, STDOUT_FILENO);
				close(fd);
			}
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "lms-bench: \"%s\" failed (status %d)\n", cmd,
		        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	return 0;
}

static int put(struct lmsc *c, const char *key, uint64_t *node)
{
	Lms__Rpc__KvPutRequest p = LMS__RPC__KV_PUT_REQUEST__INIT;
	p.key = (char *)key;
	p.value.data = (uint8_t *)"failover";
	p.value.len = 8;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_KV_PUT;
	req.kv_put = &p;
	Lms__Rpc__Response *r = NULL;
	int rv = lmsc_call(c, &req, &r, LMSC_WRITE);
	int ok = rv == 0 && r->status == LMS__RPC__STATUS__OK ? 0 : -1;
	if (ok == 0 && node)
		*node = r->node_id;
	lmsc_response_free(r);
	return ok;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted v[0..n) */
static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

int bench_failover(struct bench *b, const struct bench_orch *o)
{
	struct node_st st[LMSC_MAX_NODES];
	struct lmsc *mon = short_client(b, 500, 1000);
	struct lmsc *w = short_client(b, 1000, 30000);
	uint64_t *took = calloc(o->trials, sizeof *took);
	int rc = 1;
	if (!mon || !w || !took)
		goto out;
	if (!b->json)
		printf("lms-bench: leader failover, %u trials, %zu nodes\n",
		       o->trials, b->n_nodes);
	unsigned done = 0;
	for (unsigned k = 0; k < o->trials; k++) {
		int li = wait_healthy(b, mon, 60000, st);
		if (li < 0) {
			fprintf(stderr, "lms-bench: the cluster is not healthy "
			        "(every node up, one leader, all applied) after "
			        "60 s; stopping after %u trials\n", done);
			break;
		}
		uint64_t old = st[li].id;
		char key[64];
		snprintf(key, sizeof key, "bench-failover/%s/%u", b->run_id, k);
		if (put(w, key, NULL) != 0) {
			fprintf(stderr, "lms-bench: write before trial %u failed: "
			        "%s\n", k + 1, lmsc_errmsg(w));
			break;
		}
		pid_t pid = lmsd_pid(o->run_dir, old);
		if (!pid) {
			fprintf(stderr, "lms-bench: no live lmsd in %s/lmsd%llu.pid "
			        "(the leader)\n", o->run_dir,
			        (unsigned long long)old);
			break;
		}
		uint64_t t0 = bench_now_us();
		if (kill(pid, SIGKILL) != 0) {
			fprintf(stderr, "lms-bench: kill %ld: %s\n", (long)pid,
			        strerror(errno));
			break;
		}
		uint64_t leader = 0;
		int ok = -1;
		while (ok != 0 && bench_now_us() - t0 < 60000000u)
			ok = put(w, key, &leader);
		uint64_t t1 = bench_now_us();
		if (ok != 0) {
			fprintf(stderr, "lms-bench: no write succeeded within 60 s "
			        "of killing node %llu\n", (unsigned long long)old);
			break;
		}
		took[done++] = t1 - t0;
		if (!b->json)
			printf("trial %2u: leader %llu killed, node %llu leads, "
			       "writes back after %.1f ms\n", k + 1,
			       (unsigned long long)old, (unsigned long long)leader,
			       (double)(t1 - t0) / 1000.0);
		fflush(stdout);
		if (run_restart(b, o->restart_cmd, old) != 0)
			break;
	}
	if (done > 0 && wait_healthy(b, mon, 60000, st) < 0)
		fprintf(stderr, "lms-bench: warning: the cluster is not "
		        "healthy after the last trial\n");
	if (done == 0)
		goto out;
	uint64_t *s = malloc(done * sizeof *s);
	if (!s)
		goto out;
	memcpy(s, took, done * sizeof *s);
	qsort(s, done, sizeof *s, cmp_u64);
	double med = (double)(done % 2 ? s[done / 2]
	                               : (s[done / 2 - 1] + s[done / 2]) / 2) /
	             1000.0;
	if (b->json) {
		printf("{\"failover\": {\"trials\": %u, \"median_ms\": %.1f, "
		       "\"p90_ms\": %.1f, \"min_ms\": %.1f, \"max_ms\": %.1f, "
		       "\"samples_ms\": [", done, med,
		       (double)pct(s, done, 90) / 1000.0, (double)s[0] / 1000.0,
		       (double)s[done - 1] / 1000.0);
		for (unsigned i = 0; i < done; i++)
			printf("%s%.1f", i ? ", " : "", (double)took[i] / 1000.0);
		printf("]}}\n");
	} else {
		printf("failover: %u trials: median %.1f ms, p90 %.1f ms, "
		       "min %.1f ms, max %.1f ms\n", done, med,
		       (double)pct(s, done, 90) / 1000.0, (double)s[0] / 1000.0,
		       (double)s[done - 1] / 1000.0);
	}
	free(s);
	rc = done == o->trials ? 0 : 1;
out:
	if (mon)
		lmsc_free(mon);
	if (w)
		lmsc_free(w);
	free(took);
	return rc;
}

int bench_catchup(struct bench *b, const struct bench_orch *o)
{
	struct node_st st[LMSC_MAX_NODES];
	struct lmsc *mon = short_client(b, 500, 1000);
	struct bench_opstat *ops = calloc(OP_COUNT, sizeof *ops);
	int rc = 1;
	if (!mon || !ops)
		goto out;
	int li = wait_healthy(b, mon, 60000, st);
	if (li < 0) {
		fprintf(stderr, "lms-bench: the cluster is not healthy after "
		        "60 s\n");
		goto out;
	}
	int fi = -1; /* the follower with the highest id */
	for (size_t i = 0; i < b->n_nodes; i++)
		if ((int)i != li && (fi < 0 || st[i].id > st[fi].id))
			fi = (int)i;
	if (fi < 0) {
		fprintf(stderr, "lms-bench: no follower to stop\n");
		goto out;
	}
	uint64_t fid = st[fi].id;
	pid_t pid = lmsd_pid(o->run_dir, fid);
	if (!pid) {
		fprintf(stderr, "lms-bench: no live lmsd in %s/lmsd%llu.pid\n",
		        o->run_dir, (unsigned long long)fid);
		goto out;
	}
	uint64_t before = st[fi].applied;
	if (kill(pid, SIGTERM) != 0) {
		fprintf(stderr, "lms-bench: kill %ld: %s\n", (long)pid,
		        strerror(errno));
		goto out;
	}
	for (int k = 0; k < 300 && kill(pid, 0) == 0; k++)
		sleep_ms(50);
	if (kill(pid, 0) == 0) {
		fprintf(stderr, "lms-bench: node %llu did not stop within 15 s\n",
		        (unsigned long long)fid);
		goto out;
	}
	if (!b->json)
		printf("lms-bench: catch-up: node %llu stopped at applied index "
		       "%llu; writing %llu entries with %u clients\n",
		       (unsigned long long)fid, (unsigned long long)before,
		       (unsigned long long)o->catchup_entries, b->clients);
	fflush(stdout);

	/* the entries: kv puts until ENTRIES were acknowledged */
	memset(b->weight, 0, sizeof b->weight);
	b->weight[OP_KV_PUT] = 1;
	b->weight_total = 1;
	b->op_limit = o->catchup_entries;
	b->warmup_s = 0;
	b->duration_s = 86400;
	uint64_t wall = 0;
	if (bench_run(b, ops, &wall) != 0)
		goto out;
	uint64_t written = ops[OP_KV_PUT].h.count;
	double wsecs = (double)wall / 1e6;

	/* the target: the leader's commit index now */
	uint64_t target = 0;
	for (int k = 0; k < 100 && !target; k++) {
		for (size_t i = 0; i < b->n_nodes; i++) {
			if ((int)i == fi)
				continue;
			struct node_st s;
			node_status(mon, i, &s);
			if (s.up && strcmp(s.role, "leader") == 0)
				target = s.commit;
		}
		if (!target)
			sleep_ms(50);
	}
	if (!target) {
		fprintf(stderr, "lms-bench: no leader after the writes\n");
		goto out;
	}
	uint64_t t0 = bench_now_us();
	if (run_restart(b, o->restart_cmd, fid) != 0)
		goto out;
	uint64_t t_cmd = bench_now_us(), t_up = 0, t1 = 0, last = 0;
	while (bench_now_us() - t0 < 600000000u) {
		struct node_st s;
		node_status(mon, (size_t)fi, &s);
		if (s.up && !t_up)
			t_up = bench_now_us();
		if (s.up)
			last = s.applied;
		if (s.up && s.applied >= target) {
			t1 = bench_now_us();
			break;
		}
		sleep_ms(10);
	}
	if (!t1) {
		fprintf(stderr, "lms-bench: node %llu did not catch up within "
		        "600 s (applied %llu of %llu)\n", (unsigned long long)fid,
		        (unsigned long long)last, (unsigned long long)target);
		goto out;
	}
	/* how long the new lmsd process had been running at t1: its start
	 * time (jiffies since boot, /proc/PID/stat field 22) against
	 * CLOCK_BOOTTIME, to 10 ms; -1 when unknown */
	double from_start = -1;
	pid_t np = lmsd_pid(o->run_dir, fid);
	if (np) {
		char path[64], buf[1024];
		struct timespec bt;
		clock_gettime(CLOCK_BOOTTIME, &bt);
		double now_s = (double)bt.tv_sec + (double)bt.tv_nsec / 1e9 -
		               (double)(bench_now_us() - t1) / 1e6;
		snprintf(path, sizeof path, "/proc/%ld/stat", (long)np);
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		char *p = strrchr(buf, ')'); /* after the command name */
		unsigned long long start = 0;
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
		                "%*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		                &start) == 1 && start > 0) {
			long hz = sysconf(_SC_CLK_TCK);
			from_start = (now_s - (double)start / (double)hz) * 1000.0;
		}
	}
	double total = (double)(t1 - t0) / 1000.0;
	double cmd = (double)(t_cmd - t0) / 1000.0;
	double from_up = (double)(t1 - t_up) / 1000.0;
	if (b->json)
		printf("{\"catchup\": {\"node\": %llu, \"entries\": %llu, "
		       "\"behind\": %llu, \"write_s\": %.2f, \"write_ops_per_s\": "
		       "%.1f, \"restart_cmd_ms\": %.1f, \"caught_up_ms\": %.1f, "
		       "\"caught_up_after_port_ms\": %.1f, "
		       "\"caught_up_after_process_start_ms\": %.0f}}\n",
		       (unsigned long long)fid, (unsigned long long)written,
		       (unsigned long long)(target - before), wsecs,
		       (double)written / wsecs, cmd, total, from_up, from_start);
	else
		printf("catch-up: node %llu was %llu entries behind (%llu puts "
		       "in %.1f s, %.0f/s); caught up %.1f ms after the restart "
		       "began (the restart command took %.1f ms; %.0f ms after "
		       "the lmsd process started, %.1f ms after its client port "
		       "answered)\n",
		       (unsigned long long)fid,
		       (unsigned long long)(target - before),
		       (unsigned long long)written, wsecs,
		       (double)written / wsecs, total, cmd, from_start, from_up);
	rc = 0;
out:
	if (mon)
		lmsc_free(mon);
	free(ops);
	return rc;
}

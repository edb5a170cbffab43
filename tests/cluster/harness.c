/*
 * harness.c -- see harness.h.
 *
 * Sections: fixtures and config, processes, partitions, clients, waits,
 * workloads. Every loop here is bounded by a deadline; every failure
 * message names the node and what it last said, because a cluster test
 * that fails on a loaded machine is only debuggable from its output.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgtest.h"

#ifndef LMS_LMSD_PATH
#error "LMS_LMSD_PATH must name the lmsd binary"
#endif

#define CL_STATUS_TIMEOUT_MS 1500 /* one status/checksum/stale call */
#define CL_START_TIMEOUT_MS 15000 /* a node's client port comes up */
#define CL_POLL_MS 50

/* ------------------------------------------------------------ helpers */

uint64_t cl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cl_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void cl_spawn(struct cluster *cl, unsigned id);
static void cl_writer_free(struct cl_writer *w);
static void cl_wait_up(struct cluster *cl, unsigned id);

static struct cl_node *cl_node_of(struct cluster *cl, unsigned id)
{
	if (id == 0 || id > cl->n)
		fail_msg("no node %u in this cluster (1..%u)", id, cl->n);
	return &cl->nodes[id];
}

/* ------------------------------------------------ fixtures and config */

int cl_setup(void **state)
{
	struct cluster *cl = calloc(1, sizeof *cl);
	if (!cl)
		return -1;
	*state = cl;
	return 0;
}

static bool cl_port_free(const char *host, unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	bool ok = bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	close(fd);
	return ok;
}

/* Ports below the ephemeral range (32768..), so that no outgoing
 * connection holds one when a node restarts; each candidate is
 * bind-tested on its node's address. */
static void cl_pick_ports(struct cluster *cl, unsigned pg_port)
{
	for (unsigned attempt = 0; attempt < 200; attempt++) {
		uint32_t r;
		if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
			r = (uint32_t)getpid() * 7919u + attempt;
		unsigned base = 20000 + (r % 12000);
		bool ok = true;
		for (unsigned id = 1; id <= cl->n && ok; id++) {
			struct cl_node *nd = &cl->nodes[id];
			nd->peer_port = base + (id - 1) * 3;
			nd->client_port = nd->peer_port + 1;
			nd->http_port = nd->peer_port + 2;
			unsigned ports[3] = {nd->peer_port, nd->client_port,
			                     nd->http_port};
			for (int k = 0; k < 3 && ok; k++)
				ok = ports[k] != pg_port && ports[k] != 7400 &&
				     cl_port_free(nd->host, ports[k]);
		}
		if (ok)
			return;
	}
	fail_msg("could not find free ports for %u nodes", cl->n);
}

static void cl_write_config(struct cluster *cl, const struct cl_options *o)
{
	const char *pghost = getenv("LMS_TEST_PGHOST");
	const char *pgport = getenv("LMS_TEST_PGPORT");
	const char *pguser = getenv("LMS_TEST_PGUSER");
	if (!pghost || !pgport || !pguser)
		fail_msg("LMS_TEST_PGHOST/PORT/USER not set: run through "
		         "ops/test (or start ops/pg and export them)");
	uint8_t raw[32];
	char secret[65];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		fail_msg("getrandom failed: %s", strerror(errno));
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(secret + 2 * i, 3, "%02x", raw[i]);

	FILE *f = fopen(cl->config, "w");
	if (!f)
		fail_msg("could not create \"%s\": %s", cl->config,
		         strerror(errno));
	fprintf(f, "{\n  \"cluster\": {\"name\": \"lmst_%ld\", \"secret\": "
	        "\"%s\", \"data_dir\": \"data\", \"pg_user\": \"%s\"},\n"
	        "  \"nodes\": [\n", (long)getpid(), secret, pguser);
	for (unsigned id = 1; id <= cl->n; id++) {
		const struct cl_node *nd = &cl->nodes[id];
		fprintf(f, "    {\"id\": %u, \"host\": \"%s\", \"peer_port\": "
		        "%u, \"client_port\": %u, \"http_port\": %u,%s\n"
		        "     \"pg\": {\"host\": \"%s\", \"port\": %s, "
		        "\"data_dir\": \"pg\", \"database\": \"%s\"}}%s\n",
		        id, nd->host, nd->peer_port, nd->client_port,
		        nd->http_port, nd->join ? " \"join\": true," : "",
		        pghost, pgport, nd->db, id < cl->n ? "," : "");
	}
	unsigned thr = o->snapshot_threshold ? o->snapshot_threshold : 10000;
	unsigned trail = o->snapshot_threshold ? o->snapshot_trailing : 1000;
	fprintf(f, "  ],\n  \"raft\": {\"tick_ms\": 10, "
	        "\"election_timeout_min_ms\": 300, "
	        "\"election_timeout_max_ms\": 600, \"heartbeat_ms\": 50, "
	        "\"snapshot_threshold_entries\": %u, "
	        "\"snapshot_trailing_entries\": %u},\n",
	        thr, trail);
	if (o->max_upload_bytes)
		fprintf(f, "  \"limits\": {\"max_upload_bytes\": %zu},\n",
		        o->max_upload_bytes);
	if (o->token_lifetime_s)
		fprintf(f, "  \"auth\": {\"token_lifetime_s\": %u},\n",
		        o->token_lifetime_s);
	fprintf(f, "  \"log\": {\"level\": \"%s\"}\n}\n",
	        o->log_level ? o->log_level : "info");
	if (fclose(f) != 0)
		fail_msg("could not write \"%s\"", cl->config);
}

/* Takes the first free address block 127.0.<k>.0/24, k = 2..254, with
 * an exclusive lock held until teardown (or the death of this process).
 * Partitions cut links by address, and two test programs on one machine
 * (two build trees, two sessions) must not cut each other's clusters. */
static void cl_lock_net(struct cluster *cl)
{
	for (unsigned k = 2; k <= 254; k++) {
		char path[64];
		snprintf(path, sizeof path, "/tmp/lms-cltest-net-%u.lock", k);
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			cl->net = k;
			cl->net_lock = fd;
			return;
		}
		close(fd);
	}
	fail_msg("no free address block 127.0.2-254.0/24 for a cluster");
}

/* Databases of earlier runs that were killed before their teardown
 * (names lmscl_n<id>_<pid>_<k>, pid no longer alive): dropped, so that a
 * long-lived test server does not fill up. */
static void cl_drop_stale_dbs(void)
{
	const char *keys[] = {"host", "port", "user", "dbname", NULL};
	const char *vals[] = {getenv("LMS_TEST_PGHOST"),
	                      getenv("LMS_TEST_PGPORT"),
	                      getenv("LMS_TEST_PGUSER"), "postgres", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return;
	}
	PGresult *res = PQexec(c, "SELECT datname FROM pg_database "
	                          "WHERE datname LIKE 'lmscl\\_n%'");
	for (int i = 0; PQresultStatus(res) == PGRES_TUPLES_OK &&
	                i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		unsigned id, k;
		long pid;
		if (sscanf(name, "lmscl_n%u_%ld_%u", &id, &pid, &k) != 3 ||
		    pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		char sql[128];
		snprintf(sql, sizeof sql,
		         "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
		PQclear(PQexec(c, sql));
	}
	PQclear(res);
	PQfinish(c);
}

void cl_boot(struct cluster *cl, const struct cl_options *o)
{
	struct cl_options def = {0};
	if (!o)
		o = &def;
	unsigned voters = o->n_nodes ? o->n_nodes : 5;
	cl->n = voters + (o->joiner ? 1 : 0);
	assert_true(cl->n <= CL_MAX_NODES);
	snprintf(cl->dir, sizeof cl->dir, "/tmp/lms-cltest-XXXXXX");
	if (!mkdtemp(cl->dir))
		fail_msg("mkdtemp: %s", strerror(errno));
	snprintf(cl->config, sizeof cl->config, "%s/config.json", cl->dir);
	snprintf(cl->nft_table, sizeof cl->nft_table, "lms_test_%ld",
	         (long)getpid());

	const char *pgport = getenv("LMS_TEST_PGPORT");
	cl_lock_net(cl);
	/* a copy: GCC's -Wrestrict cannot tell cl->dir from nd->log */
	char dir[sizeof cl->dir];
	memcpy(dir, cl->dir, sizeof dir);
	for (unsigned id = 1; id <= cl->n; id++) {
		struct cl_node *nd = &cl->nodes[id];
		nd->id = id;
		snprintf(nd->host, sizeof nd->host, "127.0.%u.%u", cl->net,
		         id);
		nd->join = id > voters;
		nd->member = !nd->join;
		snprintf(nd->log, sizeof nd->log, "%s/lmsd%u.log", dir, id);
	}
	cl_pick_ports(cl, pgport ? (unsigned)atoi(pgport) : 0);
	cl_drop_stale_dbs();
	for (unsigned id = 1; id <= cl->n; id++) {
		struct cl_node *nd = &cl->nodes[id];
		char prefix[32];
		snprintf(prefix, sizeof prefix, "lmscl_n%u", id);
		PGconn *c = pgtest_create_db(prefix, nd->db, sizeof nd->db);
		PQfinish(c);
		nd->db_created = true;
	}
	cl_write_config(cl, o);
	for (unsigned id = 1; id <= cl->n; id++) {
		struct cl_node *nd = &cl->nodes[id];
		struct lmsc_node ln = {0};
		ln.id = id;
		snprintf(ln.host, sizeof ln.host, "%s", nd->host);
		ln.port = (uint16_t)nd->client_port;
		struct lmsc_options lo;
		lmsc_options_default(&lo);
		lo.connect_timeout_ms = 300;
		lo.request_timeout_ms = CL_STATUS_TIMEOUT_MS;
		lo.total_timeout_ms = CL_STATUS_TIMEOUT_MS;
		nd->direct = lmsc_new(&ln, 1, &lo);
		assert_non_null(nd->direct);
	}
	/* all at once, as an operator's `up` would */
	for (unsigned id = 1; id <= voters; id++)
		cl_spawn(cl, id);
	for (unsigned id = 1; id <= voters; id++)
		cl_wait_up(cl, id);
}

void cl_pass(struct cluster *cl) { cl->passed = true; }

static bool cl_rm_tree(const char *dir)
{
	char cmd[PATH_MAX + 32];
	if (strncmp(dir, "/tmp/lms-cltest-", 16) != 0 || strchr(dir, '\''))
		return false;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0;
}

static void cl_nft_delete(const char *table)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "nft delete table inet %s 2>/dev/null",
	         table);
	if (system(cmd) != 0) {
		/* absent already: nothing to do */
	}
}

/* DROP DATABASE checkpoints (about a second each here): the drops go
 * out on one connection per database at once and are awaited together.
 * Failures are reported, not fatal: the teardown must go on. */
static void cl_drop_dbs(struct cluster *cl)
{
	PGconn *conns[CL_MAX_NODES + 1] = {0};
	for (unsigned id = 1; id <= cl->n; id++) {
		struct cl_node *nd = &cl->nodes[id];
		if (!nd->db_created)
			continue;
		const char *keys[] = {"host", "port", "user", "dbname", NULL};
		const char *vals[] = {getenv("LMS_TEST_PGHOST"),
		                      getenv("LMS_TEST_PGPORT"),
		                      getenv("LMS_TEST_PGUSER"), "postgres",
		                      NULL};
		PGconn *c = PQconnectdbParams(keys, vals, 0);
		char sql[128];
		snprintf(sql, sizeof sql,
		         "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", nd->db);
		if (PQstatus(c) != CONNECTION_OK || !PQsendQuery(c, sql)) {
			fprintf(stderr, "[cluster] could not drop database %s: %s",
			        nd->db, PQerrorMessage(c));
			PQfinish(c);
			continue;
		}
		conns[id] = c;
	}
	for (unsigned id = 1; id <= cl->n; id++) {
		if (!conns[id])
			continue;
		PGresult *res;
		while ((res = PQgetResult(conns[id]))) {
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				fprintf(stderr, "[cluster] could not drop database "
				        "%s: %s", cl->nodes[id].db,
				        PQresultErrorMessage(res));
			PQclear(res);
		}
		PQfinish(conns[id]);
		cl->nodes[id].db_created = false;
	}
}

int cl_teardown(void **state)
{
	struct cluster *cl = *state;
	if (!cl)
		return 0;
	/* writer threads first: they use cl and the nodes */
	for (size_t i = 0; i < sizeof cl->writers / sizeof cl->writers[0];
	     i++) {
		if (cl->writers[i])
			cl_writer_free(cl->writers[i]);
		cl->writers[i] = NULL;
	}
	if (cl->partitioned) {
		cl_nft_delete(cl->nft_table);
		cl->partitioned = false;
	}
	if (!cl->passed && cl->n)
		cl_dump_logs(cl, 40);
	/* every process this harness started, by its recorded pid */
	for (unsigned id = 1; id <= cl->n; id++) {
		struct cl_node *nd = &cl->nodes[id];
		if (nd->pid > 0) {
			kill(nd->pid, SIGKILL);
			waitpid(nd->pid, NULL, 0);
			nd->pid = 0;
		}
	}
	for (unsigned id = 1; id <= cl->n; id++) {
		lmsc_free(cl->nodes[id].direct);
		cl->nodes[id].direct = NULL;
	}
	cl_drop_dbs(cl);
	if (cl->net_lock > 0)
		close(cl->net_lock); /* releases the address block */
	if (cl->dir[0]) {
		if (cl->passed && !getenv("LMS_CLUSTER_KEEP"))
			cl_rm_tree(cl->dir);
		else
			fprintf(stderr, "[cluster] kept %s (config, node logs)\n",
			        cl->dir);
	}
	free(cl);
	*state = NULL;
	return 0;
}

/* ---------------------------------------------------------- processes */

bool cl_running(const struct cluster *cl, unsigned id)
{
	return id >= 1 && id <= cl->n && cl->nodes[id].pid > 0;
}

size_t cl_live_members(const struct cluster *cl, unsigned *ids)
{
	size_t k = 0;
	for (unsigned id = 1; id <= cl->n; id++)
		if (cl->nodes[id].pid > 0 && cl->nodes[id].member &&
		    !cl->nodes[id].paused)
			ids[k++] = id;
	return k;
}

long cl_log_size(const struct cluster *cl, unsigned id)
{
	struct stat st;
	if (stat(cl->nodes[id].log, &st) != 0)
		return 0;
	return (long)st.st_size;
}

void cl_dump_logs(const struct cluster *cl, unsigned lines)
{
	for (unsigned id = 1; id <= cl->n; id++) {
		const struct cl_node *nd = &cl->nodes[id];
		FILE *f = fopen(nd->log, "r");
		if (!f)
			continue;
		/* keep the last `lines` lines in a ring */
		char **ring = calloc(lines, sizeof *ring);
		size_t count = 0;
		char buf[2048];
		while (ring && fgets(buf, sizeof buf, f)) {
			free(ring[count % lines]);
			ring[count % lines] = strdup(buf);
			count++;
		}
		fclose(f);
		fprintf(stderr, "----- node %u (%s:%u, pid %ld%s) last %u lines "
		        "of %s -----\n", id, nd->host, nd->client_port,
		        (long)nd->pid, nd->paused ? ", paused" : "", lines,
		        nd->log);
		size_t first = count > lines ? count - lines : 0;
		for (size_t i = first; ring && i < count; i++)
			fputs(ring[i % lines] ? ring[i % lines] : "", stderr);
		for (size_t i = 0; ring && i < lines; i++)
			free(ring[i]);
		free(ring);
	}
}

int cl_wait_exit(struct cluster *cl, unsigned id, unsigned timeout_ms)
{
	struct cl_node *nd = cl_node_of(cl, id);
	if (nd->pid <= 0)
		fail_msg("node %u is not running", id);
	uint64_t deadline = cl_now_ms() + timeout_ms;
	do {
		int status;
		if (waitpid(nd->pid, &status, WNOHANG) == nd->pid) {
			nd->pid = 0;
			nd->paused = false;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		cl_sleep_ms(20);
	} while (cl_now_ms() < deadline);
	return -2;
}

bool cl_log_contains(const struct cluster *cl, unsigned id, long from,
                     const char *needle)
{
	FILE *f = fopen(cl->nodes[id].log, "r");
	if (!f)
		return false;
	fseek(f, from, SEEK_SET);
	char buf[4096];
	bool found = false;
	while (!found && fgets(buf, sizeof buf, f))
		found = strstr(buf, needle) != NULL;
	fclose(f);
	return found;
}

static bool cl_port_accepts(const char *host, unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	bool ok = connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	close(fd);
	return ok;
}

static void cl_describe_exit(int status, char *buf, size_t cap)
{
	if (WIFEXITED(status))
		snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else
		snprintf(buf, cap, "status 0x%x", status);
}

static void cl_spawn(struct cluster *cl, unsigned id)
{
	struct cl_node *nd = cl_node_of(cl, id);
	if (nd->pid > 0)
		fail_msg("node %u is already running (pid %ld)", id,
		         (long)nd->pid);
	int logfd = open(nd->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	                 0644);
	if (logfd < 0)
		fail_msg("could not open \"%s\": %s", nd->log, strerror(errno));
	char idarg[16];
	snprintf(idarg, sizeof idarg, "%u", id);
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(logfd);
		fail_msg("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* child: die with the test process; stdio to the log */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int nullfd = open("/dev/null", O_RDONLY);
		if (nullfd >= 0)
			dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		/* no test socket or database connection leaks into lmsd */
		syscall(SYS_close_range, 3u, ~0u, 0u);
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl(LMS_LMSD_PATH, "lmsd", "--config", cl->config, "--node",
		      idarg, (char *)NULL);
		dprintf(2, "exec %s: %s\n", LMS_LMSD_PATH, strerror(errno));
		_exit(127);
	}
	close(logfd);
	nd->pid = pid;
	nd->paused = false;
}

/* Waits until node id's client port accepts connections. */
static void cl_wait_up(struct cluster *cl, unsigned id)
{
	struct cl_node *nd = cl_node_of(cl, id);
	pid_t pid = nd->pid;
	uint64_t deadline = cl_now_ms() + CL_START_TIMEOUT_MS;
	while (cl_now_ms() < deadline) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			nd->pid = 0;
			char why[96];
			cl_describe_exit(status, why, sizeof why);
			cl_fail(cl, "node %u did not start: lmsd %s", id, why);
		}
		if (cl_port_accepts(nd->host, nd->client_port))
			return;
		cl_sleep_ms(20);
	}
	cl_fail(cl, "node %u: client port %s:%u not up within %d ms", id,
	        nd->host, nd->client_port, CL_START_TIMEOUT_MS);
}

void cl_start(struct cluster *cl, unsigned id)
{
	cl_spawn(cl, id);
	cl_wait_up(cl, id);
}

int cl_start_try(struct cluster *cl, unsigned id, unsigned timeout_ms,
                 char *why, size_t cap)
{
	cl_spawn(cl, id);
	if (cap)
		why[0] = '\0';
	if (timeout_ms == 0)
		return 0;
	return cl_wait_up_try(cl, id, timeout_ms, why, cap);
}

int cl_wait_up_try(struct cluster *cl, unsigned id, unsigned timeout_ms,
                   char *why, size_t cap)
{
	struct cl_node *nd = cl_node_of(cl, id);
	pid_t pid = nd->pid;
	uint64_t deadline = cl_now_ms() + timeout_ms;
	if (cap)
		why[0] = '\0';
	if (pid <= 0) {
		snprintf(why, cap, "not running");
		return -1;
	}
	while (cl_now_ms() < deadline) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			nd->pid = 0;
			nd->paused = false;
			cl_describe_exit(status, why, cap);
			return -1;
		}
		if (cl_port_accepts(nd->host, nd->client_port))
			return 0;
		cl_sleep_ms(20);
	}
	snprintf(why, cap, "client port %s:%u not up within %u ms", nd->host,
	         nd->client_port, timeout_ms);
	return -2;
}

void cl_check_alive(struct cluster *cl)
{
	for (unsigned id = 1; id <= cl->n; id++) {
		struct cl_node *nd = &cl->nodes[id];
		int status;
		if (nd->pid > 0 && waitpid(nd->pid, &status, WNOHANG) == nd->pid) {
			nd->pid = 0;
			char why[96];
			cl_describe_exit(status, why, sizeof why);
			cl_fail(cl, "node %u died unexpectedly: lmsd %s", id, why);
		}
	}
}

/* Waits for node id, already sent SIGTERM at `start`, to exit (see
 * cl_stop). One SIGTERM only: lmsd restores the default action once its
 * loop has ended, so a second one during shutdown kills it. */
static int cl_reap(struct cluster *cl, unsigned id, uint64_t start,
                   unsigned timeout_ms, unsigned *elapsed_ms)
{
	struct cl_node *nd = cl_node_of(cl, id);
	int status = 0;
	pid_t got = 0;
	while (cl_now_ms() < start + timeout_ms) {
		got = waitpid(nd->pid, &status, WNOHANG);
		if (got == nd->pid)
			break;
		cl_sleep_ms(5);
	}
	uint64_t took = cl_now_ms() - start;
	if (elapsed_ms)
		*elapsed_ms = (unsigned)took;
	int rc;
	if (got != nd->pid) {
		fprintf(stderr, "[cluster] node %u did not exit within %u ms of "
		        "SIGTERM: killing it\n", id, timeout_ms);
		kill(nd->pid, SIGKILL);
		waitpid(nd->pid, &status, 0);
		rc = -1;
	} else {
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (rc != 0) {
			char why[96];
			cl_describe_exit(status, why, sizeof why);
			fprintf(stderr, "[cluster] node %u: lmsd %s after "
			        "SIGTERM\n", id, why);
		}
	}
	nd->pid = 0;
	nd->paused = false;
	return rc;
}

int cl_stop(struct cluster *cl, unsigned id, unsigned timeout_ms,
            unsigned *elapsed_ms)
{
	struct cl_node *nd = cl_node_of(cl, id);
	if (nd->pid <= 0)
		fail_msg("node %u is not running", id);
	uint64_t start = cl_now_ms();
	if (nd->paused)
		kill(nd->pid, SIGCONT);
	kill(nd->pid, SIGTERM);
	return cl_reap(cl, id, start, timeout_ms, elapsed_ms);
}

void cl_stop_all(struct cluster *cl)
{
	/* SIGTERM to all first so that they stop together, then reap */
	uint64_t start = cl_now_ms();
	for (unsigned id = 1; id <= cl->n; id++) {
		struct cl_node *nd = &cl->nodes[id];
		if (nd->pid <= 0)
			continue;
		if (nd->paused)
			kill(nd->pid, SIGCONT);
		kill(nd->pid, SIGTERM);
	}
	unsigned bad = 0;
	for (unsigned id = 1; id <= cl->n; id++) {
		if (cl->nodes[id].pid <= 0)
			continue;
		unsigned took;
		int rc = cl_reap(cl, id, start, 10000, &took);
		if (rc != 0)
			bad++;
	}
	if (bad)
		cl_fail(cl, "%u node(s) did not exit cleanly on SIGTERM", bad);
}

void cl_kill(struct cluster *cl, unsigned id)
{
	struct cl_node *nd = cl_node_of(cl, id);
	if (nd->pid <= 0)
		fail_msg("node %u is not running", id);
	kill(nd->pid, SIGKILL);
	waitpid(nd->pid, NULL, 0);
	nd->pid = 0;
	nd->paused = false;
}

void cl_pause(struct cluster *cl, unsigned id)
{
	struct cl_node *nd = cl_node_of(cl, id);
	assert_true(nd->pid > 0);
	kill(nd->pid, SIGSTOP);
	nd->paused = true;
}

void cl_resume(struct cluster *cl, unsigned id)
{
	struct cl_node *nd = cl_node_of(cl, id);
	assert_true(nd->pid > 0);
	kill(nd->pid, SIGCONT);
	nd->paused = false;
}

/* --------------------------------------------------------- partitions */

static bool cl_have_nft(void)
{
	return system("command -v nft >/dev/null 2>&1") == 0;
}

/* Tables of earlier runs that died before their teardown (SIGKILL by a
 * ctest timeout) would silently cut links in every later run. */
static void cl_nft_clean_stale(void)
{
	FILE *p = popen("nft list tables 2>/dev/null", "r");
	if (!p)
		return;
	char line[256];
	while (fgets(line, sizeof line, p)) {
		long pid;
		if (sscanf(line, "table inet lms_test_%ld", &pid) != 1)
			continue;
		if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
			char table[64];
			snprintf(table, sizeof table, "lms_test_%ld", pid);
			cl_nft_delete(table);
		}
	}
	pclose(p);
}

void cl_require_partitions(struct cluster *cl)
{
	if (geteuid() != 0) {
		print_message("[cluster] partitions need root (nftables): "
		              "skipping\n");
		skip();
	}
	if (!cl_have_nft()) {
		print_message("[cluster] nft not found (run ops/deps): "
		              "skipping\n");
		skip();
	}
	cl_nft_clean_stale();
}

void cl_partition(struct cluster *cl, const unsigned *side, size_t n)
{
	bool in[CL_MAX_NODES + 1] = {0};
	for (size_t i = 0; i < n; i++)
		in[cl_node_of(cl, side[i])->id] = true;
	/* every link between the side and the rest, both ways */
	unsigned pairs[CL_MAX_NODES * CL_MAX_NODES][2];
	size_t np = 0;
	for (unsigned a = 1; a <= cl->n; a++)
		for (unsigned b = 1; b <= cl->n && in[a]; b++)
			if (!in[b]) {
				pairs[np][0] = a;
				pairs[np][1] = b;
				np++;
			}
	cl_cut_links(cl, (const unsigned (*)[2])pairs, np);
}

void cl_heal(struct cluster *cl)
{
	cl_nft_delete(cl->nft_table);
	cl->partitioned = false;
}

void cl_cut_links(struct cluster *cl, const unsigned (*pairs)[2], size_t n)
{
	char *rules = NULL;
	size_t rlen = 0;
	FILE *m = open_memstream(&rules, &rlen);
	assert_non_null(m);
	fprintf(m, "add table inet %s\n"
	        "add chain inet %s out { type filter hook output priority 0; "
	        "policy accept; }\n", cl->nft_table, cl->nft_table);
	for (size_t i = 0; i < n; i++) {
		const struct cl_node *a = cl_node_of(cl, pairs[i][0]);
		const struct cl_node *b = cl_node_of(cl, pairs[i][1]);
		fprintf(m, "add rule inet %s out ip saddr %s ip daddr %s drop\n",
		        cl->nft_table, a->host, b->host);
		fprintf(m, "add rule inet %s out ip saddr %s ip daddr %s drop\n",
		        cl->nft_table, b->host, a->host);
	}
	fclose(m);
	if (cl->partitioned)
		cl_nft_delete(cl->nft_table);
	cl->partitioned = true; /* teardown deletes it whatever happens */
	FILE *p = popen("nft -f -", "w");
	assert_non_null(p);
	fputs(rules, p);
	int rc = pclose(p);
	free(rules);
	if (rc != 0)
		fail_msg("nft refused the link cuts (status %d)", rc);
}

/* ------------------------------------------------------------ clients */

struct lmsc *cl_client(const struct cluster *cl, const unsigned *ids,
                       size_t n)
{
	struct lmsc_node list[CL_MAX_NODES];
	size_t k = 0;
	for (unsigned id = 1; id <= cl->n; id++) {
		bool want = ids == NULL;
		for (size_t i = 0; ids && i < n; i++)
			want |= ids[i] == id;
		if (!want)
			continue;
		memset(&list[k], 0, sizeof list[k]);
		list[k].id = id;
		snprintf(list[k].host, sizeof list[k].host, "%s",
		         cl->nodes[id].host);
		list[k].port = (uint16_t)cl->nodes[id].client_port;
		k++;
	}
	return lmsc_new(list, k, NULL);
}

static ProtobufCBinaryData cl_bin(const char *s)
{
	ProtobufCBinaryData b = {strlen(s), (uint8_t *)s};
	return b;
}

/* 0 OK, >0 the Status, <0 the errno of the call (rv: what the call
 * returned; r: the response it gave, read only when rv is 0). */
static int cl_result(int rv, const Lms__Rpc__Response *r)
{
	if (rv != 0)
		return rv;
	return r->status == LMS__RPC__STATUS__OK ? 0 : (int)r->status;
}

int cl_put(struct lmsc *c, const char *key, const char *value,
           uint64_t *version, uint64_t *node_id)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__KvPutRequest p = LMS__RPC__KV_PUT_REQUEST__INIT;
	p.key = (char *)key;
	p.value = cl_bin(value);
	req.op_case = LMS__RPC__REQUEST__OP_KV_PUT;
	req.kv_put = &p;
	Lms__Rpc__Response *r = NULL;
	int rv = lmsc_call(c, &req, &r, LMSC_WRITE);
	rv = cl_result(rv, r);
	if (rv == 0 && r->result_case != LMS__RPC__RESPONSE__RESULT_KV_PUT)
		rv = LMS__RPC__STATUS__INTERNAL;
	if (rv == 0 && version)
		*version = r->kv_put->version;
	if (r && node_id)
		*node_id = r->node_id;
	lmsc_response_free(r);
	return rv;
}

int cl_cas(struct lmsc *c, const char *key, const char *expected,
           const char *value, bool *swapped, uint64_t *node_id)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__KvCasRequest cs = LMS__RPC__KV_CAS_REQUEST__INIT;
	cs.key = (char *)key;
	if (expected)
		cs.expected = cl_bin(expected);
	else
		cs.expect_absent = 1;
	cs.value = cl_bin(value);
	req.op_case = LMS__RPC__REQUEST__OP_KV_CAS;
	req.kv_cas = &cs;
	Lms__Rpc__Response *r = NULL;
	int rv = lmsc_call(c, &req, &r, LMSC_WRITE);
	rv = cl_result(rv, r);
	if (rv == 0 && r->result_case != LMS__RPC__RESPONSE__RESULT_KV_CAS)
		rv = LMS__RPC__STATUS__INTERNAL;
	if (rv == 0 && swapped)
		*swapped = r->kv_cas->swapped;
	if (r && node_id)
		*node_id = r->node_id;
	lmsc_response_free(r);
	return rv;
}

static void cl_copy_value(const ProtobufCBinaryData *v, char *val,
                          size_t cap)
{
	if (!val || cap == 0)
		return;
	size_t n = v->len < cap - 1 ? v->len : cap - 1;
	if (n)
		memcpy(val, v->data, n);
	val[n] = '\0';
}

int cl_get(struct lmsc *c, const char *key, char *val, size_t cap,
           bool *found)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__KvGetRequest g = LMS__RPC__KV_GET_REQUEST__INIT;
	g.key = (char *)key;
	req.op_case = LMS__RPC__REQUEST__OP_KV_GET;
	req.kv_get = &g;
	Lms__Rpc__Response *r = NULL;
	int rv = lmsc_call(c, &req, &r, 0);
	rv = cl_result(rv, r);
	if (rv == 0 && r->result_case != LMS__RPC__RESPONSE__RESULT_KV_GET)
		rv = LMS__RPC__STATUS__INTERNAL;
	if (rv == 0) {
		*found = r->kv_get->found;
		cl_copy_value(&r->kv_get->value, val, cap);
	}
	lmsc_response_free(r);
	return rv;
}

int cl_put_node(struct cluster *cl, unsigned id, const char *key,
                const char *value, unsigned timeout_ms)
{
	struct cl_node *nd = cl_node_of(cl, id);
	struct lmsc_node ln = {0};
	ln.id = id;
	snprintf(ln.host, sizeof ln.host, "%s", nd->host);
	ln.port = (uint16_t)nd->client_port;
	struct lmsc_options lo;
	lmsc_options_default(&lo);
	lo.request_timeout_ms = timeout_ms;
	lo.total_timeout_ms = timeout_ms;
	struct lmsc *c = lmsc_new(&ln, 1, &lo);
	assert_non_null(c);
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__KvPutRequest p = LMS__RPC__KV_PUT_REQUEST__INIT;
	p.key = (char *)key;
	p.value = cl_bin(value);
	req.op_case = LMS__RPC__REQUEST__OP_KV_PUT;
	req.kv_put = &p;
	/* lmsc_call_node sends no seq: a write needs one */
	req.seq = ++cl->direct_seq;
	Lms__Rpc__Response *r = NULL;
	int rv = lmsc_call_node(c, 0, &req, &r);
	rv = cl_result(rv, r);
	lmsc_response_free(r);
	lmsc_free(c);
	return rv;
}

int cl_member(struct cluster *cl, const char *op, unsigned id,
              uint64_t *index)
{
	return cl_member_via(cl, 0, op, id, index);
}

int cl_member_via(struct cluster *cl, unsigned via, const char *op,
                  unsigned id, uint64_t *index)
{
	struct cl_node *nd = cl_node_of(cl, id);
	char peer[64], client[64];
	snprintf(peer, sizeof peer, "%s:%u", nd->host, nd->peer_port);
	snprintf(client, sizeof client, "%s:%u", nd->host, nd->client_port);
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__MemberAddRequest add = LMS__RPC__MEMBER_ADD_REQUEST__INIT;
	Lms__Rpc__MemberPromoteRequest pro =
		LMS__RPC__MEMBER_PROMOTE_REQUEST__INIT;
	Lms__Rpc__MemberRemoveRequest rem =
		LMS__RPC__MEMBER_REMOVE_REQUEST__INIT;
	if (strcmp(op, "add") == 0) {
		add.id = id;
		add.peer_address = peer;
		add.client_address = client;
		req.op_case = LMS__RPC__REQUEST__OP_MEMBER_ADD;
		req.member_add = &add;
	} else if (strcmp(op, "promote") == 0) {
		pro.id = id;
		req.op_case = LMS__RPC__REQUEST__OP_MEMBER_PROMOTE;
		req.member_promote = &pro;
	} else if (strcmp(op, "remove") == 0) {
		rem.id = id;
		req.op_case = LMS__RPC__REQUEST__OP_MEMBER_REMOVE;
		req.member_remove = &rem;
	} else {
		fail_msg("unknown membership operation \"%s\"", op);
	}
	struct lmsc *c = via ? cl_client(cl, &via, 1) : cl_client(cl, NULL, 0);
	assert_non_null(c);
	Lms__Rpc__Response *r = NULL;
	int rv = via ? lmsc_call_node(c, 0, &req, &r)
	             : lmsc_call(c, &req, &r, 0);
	rv = cl_result(rv, r);
	if (rv != 0)
		print_message("[cluster] member %s %u: %s: %s\n", op, id,
		              rv < 0 ? strerror(-rv) : lmsc_status_name(rv),
		              rv < 0 ? lmsc_errmsg(c)
		                     : (r->message ? r->message : ""));
	if (rv == 0 && index)
		*index = r->result_case == LMS__RPC__RESPONSE__RESULT_MEMBER
		                 ? r->member->index
		                 : 0;
	lmsc_response_free(r);
	lmsc_free(c);
	return rv;
}

static int cl_direct(struct cluster *cl, unsigned id, Lms__Rpc__Request *req,
                     Lms__Rpc__Response **r)
{
	struct cl_node *nd = cl_node_of(cl, id);
	*r = NULL;
	if (nd->pid <= 0)
		return -ECONNREFUSED;
	int rv = lmsc_call_node(nd->direct, 0, req, r);
	return cl_result(rv, *r);
}

int cl_get_stale(struct cluster *cl, unsigned id, const char *key,
                 char *val, size_t cap, bool *found, uint64_t *applied)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__KvGetRequest g = LMS__RPC__KV_GET_REQUEST__INIT;
	g.key = (char *)key;
	req.op_case = LMS__RPC__REQUEST__OP_KV_GET;
	req.kv_get = &g;
	req.consistency = LMS__RPC__CONSISTENCY__STALE;
	Lms__Rpc__Response *r = NULL;
	int rv = cl_direct(cl, id, &req, &r);
	if (rv == 0 && r->result_case != LMS__RPC__RESPONSE__RESULT_KV_GET)
		rv = LMS__RPC__STATUS__INTERNAL;
	if (rv == 0) {
		*found = r->kv_get->found;
		cl_copy_value(&r->kv_get->value, val, cap);
		if (applied)
			*applied = r->applied_index;
	}
	lmsc_response_free(r);
	return rv;
}

int cl_status(struct cluster *cl, unsigned id, struct cl_status *st)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__StatusRequest sreq = LMS__RPC__STATUS_REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_STATUS;
	req.status = &sreq;
	Lms__Rpc__Response *r = NULL;
	memset(st, 0, sizeof *st);
	int rv = cl_direct(cl, id, &req, &r);
	if (rv == 0 && r->result_case != LMS__RPC__RESPONSE__RESULT_STATUS_INFO)
		rv = LMS__RPC__STATUS__INTERNAL;
	if (rv == 0) {
		const Lms__Rpc__StatusResponse *s = r->status_info;
		st->id = (unsigned)s->node_id;
		snprintf(st->role, sizeof st->role, "%s", s->role ? s->role : "");
		st->term = s->term;
		st->leader = s->leader_id;
		st->commit = s->commit_index;
		st->applied = s->applied_index;
		st->last_index = s->last_index;
		st->snapshot_index = s->snapshot_index;
		for (size_t i = 0; i < s->n_peers &&
		                   st->n_peers < CL_MAX_NODES + 2; i++) {
			st->peers[st->n_peers].id = s->peers[i]->id;
			st->peers[st->n_peers].voter = s->peers[i]->voter;
			st->peers[st->n_peers].match = s->peers[i]->match_index;
			st->n_peers++;
		}
	}
	lmsc_response_free(r);
	return rv;
}

int cl_checksum(struct cluster *cl, unsigned id, char sum[65],
                uint64_t *applied)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__ChecksumRequest creq = LMS__RPC__CHECKSUM_REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_CHECKSUM;
	req.checksum = &creq;
	Lms__Rpc__Response *r = NULL;
	int rv = cl_direct(cl, id, &req, &r);
	if (rv == 0 && r->result_case != LMS__RPC__RESPONSE__RESULT_CHECKSUM)
		rv = LMS__RPC__STATUS__INTERNAL;
	if (rv == 0) {
		snprintf(sum, 65, "%s", r->checksum->checksum);
		*applied = r->checksum->applied_index;
	}
	lmsc_response_free(r);
	return rv;
}

int cl_http_get(const struct cluster *cl, unsigned id, const char *path,
                char *buf, size_t cap)
{
	const struct cl_node *nd = &cl->nodes[id];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)nd->http_port);
	inet_pton(AF_INET, nd->host, &sin.sin_addr);
	struct timeval tv = {2, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	char req[256];
	int len = snprintf(req, sizeof req,
	                   "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path,
	                   nd->host);
	if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		close(fd);
		return -EIO;
	}
	size_t got = 0;
	for (;;) {
		if (got + 1 >= cap)
			break;
		ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	char *body = strstr(buf, "\r\n\r\n");
	if (!body)
		return -EPROTO;
	memmove(buf, body + 4, strlen(body + 4) + 1);
	return 0;
}

uint64_t cl_http_status_field(const struct cluster *cl, unsigned id,
                              const char *name)
{
	char buf[16384];
	int rv = cl_http_get(cl, id, "/status", buf, sizeof buf);
	if (rv != 0)
		fail_msg("node %u: GET /status failed: %s", id, strerror(-rv));
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", name);
	const char *p = strstr(buf, pat);
	if (!p)
		fail_msg("node %u: /status has no \"%s\": %s", id, name, buf);
	return strtoull(p + strlen(pat), NULL, 10);
}

void cl_nodes_arg(const struct cluster *cl, char *buf, size_t cap)
{
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned id = 1; id <= cl->n && off < cap; id++) {
		int w = snprintf(buf + off, cap - off, "%s%s:%u",
		                 id > 1 ? "," : "", cl->nodes[id].host,
		                 cl->nodes[id].client_port);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

int cl_run(const char *const *argv, char *out, size_t cap,
           unsigned timeout_ms)
{
	int pfd[2];
	if (out && cap)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int nullfd = open("/dev/null", O_RDONLY);
		if (nullfd >= 0)
			dup2(nullfd, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		syscall(SYS_close_range, 3u, ~0u, 0u);
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	size_t got = 0;
	bool timed_out = false;
	uint64_t deadline = cl_now_ms() + timeout_ms;
	for (;;) {
		uint64_t now = cl_now_ms();
		if (now >= deadline) {
			timed_out = true;
			break;
		}
		struct pollfd p = {pfd[0], POLLIN, 0};
		int n = poll(&p, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue; /* timeout: the deadline check ends the loop */
		char buf[4096];
		ssize_t r = read(pfd[0], buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* EOF: the program closed its output */
		if (out && cap > 1 && got < cap - 1) {
			size_t k = (size_t)r < cap - 1 - got ? (size_t)r
			                                     : cap - 1 - got;
			memcpy(out + got, buf, k);
			got += k;
			out[got] = '\0';
		}
	}
	close(pfd[0]);
	int status = 0;
	if (timed_out) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	/* output closed; the program exits (bounded by the same deadline) */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (cl_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		cl_sleep_ms(5);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* --------------------------------------------------------------- waits */

/* Election safety across the whole test: one leader per term, ever. */
static void cl_note_leader(struct cluster *cl, uint64_t term, uint64_t id)
{
	for (size_t i = 0; i < cl->n_seen; i++) {
		if (cl->seen[i].term != term)
			continue;
		if (cl->seen[i].leader != id)
			cl_fail(cl, "election safety violated: nodes %" PRIu64
			        " and %" PRIu64 " both led term %" PRIu64,
			        cl->seen[i].leader, id, term);
		return;
	}
	if (cl->n_seen < CL_MAX_SEEN) {
		cl->seen[cl->n_seen].term = term;
		cl->seen[cl->n_seen].leader = id;
		cl->n_seen++;
	}
}

/* Polls the status of ids[0..n); returns how many answered (ok[i]). */
static size_t cl_poll_status(struct cluster *cl, const unsigned *ids,
                             size_t n, struct cl_status *st, bool *ok)
{
	size_t answered = 0;
	cl_check_alive(cl);
	for (size_t i = 0; i < n; i++) {
		ok[i] = cl_status(cl, ids[i], &st[i]) == 0;
		if (!ok[i])
			continue;
		answered++;
		if (strcmp(st[i].role, "leader") == 0)
			cl_note_leader(cl, st[i].term, ids[i]);
	}
	return answered;
}

static void cl_format_statuses(const unsigned *ids, size_t n,
                               const struct cl_status *st, const bool *ok,
                               char *buf, size_t cap)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < cap; i++) {
		int w;
		if (!ok[i])
			w = snprintf(buf + off, cap - off, "\n  node %u: no answer",
			             ids[i]);
		else
			w = snprintf(buf + off, cap - off,
			             "\n  node %u: %s term %" PRIu64 " leader %"
			             PRIu64 " commit %" PRIu64 " applied %" PRIu64
			             " last %" PRIu64 " snapshot %" PRIu64,
			             ids[i], st[i].role, st[i].term, st[i].leader,
			             st[i].commit, st[i].applied, st[i].last_index,
			             st[i].snapshot_index);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

unsigned cl_wait_leader(struct cluster *cl, const unsigned *among, size_t n,
                        unsigned timeout_ms)
{
	unsigned ids[CL_MAX_NODES];
	if (!among) {
		n = cl_live_members(cl, ids);
	} else {
		memcpy(ids, among, n * sizeof *ids);
	}
	struct cl_status st[CL_MAX_NODES];
	bool ok[CL_MAX_NODES];
	uint64_t deadline = cl_now_ms() + timeout_ms;
	do {
		cl_poll_status(cl, ids, n, st, ok);
		uint64_t max_term = 0;
		for (size_t i = 0; i < n; i++)
			if (ok[i] && st[i].term > max_term)
				max_term = st[i].term;
		for (size_t i = 0; i < n; i++)
			if (ok[i] && strcmp(st[i].role, "leader") == 0 &&
			    st[i].term == max_term)
				return ids[i];
		cl_sleep_ms(CL_POLL_MS);
	} while (cl_now_ms() < deadline);
	char desc[2048];
	cl_format_statuses(ids, n, st, ok, desc, sizeof desc);
	cl_fail(cl, "no leader within %u ms:%s", timeout_ms, desc);
	return 0;
}

unsigned cl_wait_agreement(struct cluster *cl, unsigned timeout_ms,
                           uint64_t *term)
{
	unsigned ids[CL_MAX_NODES];
	size_t n = cl_live_members(cl, ids);
	struct cl_status st[CL_MAX_NODES];
	bool ok[CL_MAX_NODES];
	uint64_t deadline = cl_now_ms() + timeout_ms;
	do {
		size_t answered = cl_poll_status(cl, ids, n, st, ok);
		bool agree = answered == n && n > 0 && st[0].leader != 0;
		for (size_t i = 1; agree && i < n; i++)
			agree = st[i].leader == st[0].leader &&
			        st[i].term == st[0].term;
		for (size_t i = 0; agree && i < n; i++)
			agree = (ids[i] == st[0].leader) ==
			        (strcmp(st[i].role, "leader") == 0);
		if (agree) {
			if (term)
				*term = st[0].term;
			return (unsigned)st[0].leader;
		}
		cl_sleep_ms(CL_POLL_MS);
	} while (cl_now_ms() < deadline);
	char desc[2048];
	cl_format_statuses(ids, n, st, ok, desc, sizeof desc);
	cl_fail(cl, "nodes did not agree on a leader within %u ms:%s",
	        timeout_ms, desc);
	return 0;
}

void cl_wait_applied_all(struct cluster *cl, uint64_t index,
                         unsigned timeout_ms)
{
	unsigned ids[CL_MAX_NODES];
	size_t n = cl_live_members(cl, ids);
	struct cl_status st[CL_MAX_NODES];
	bool ok[CL_MAX_NODES];
	uint64_t deadline = cl_now_ms() + timeout_ms;
	do {
		cl_poll_status(cl, ids, n, st, ok);
		bool all = true;
		for (size_t i = 0; all && i < n; i++)
			all = ok[i] && st[i].applied >= index;
		if (all)
			return;
		cl_sleep_ms(CL_POLL_MS);
	} while (cl_now_ms() < deadline);
	char desc[2048];
	cl_format_statuses(ids, n, st, ok, desc, sizeof desc);
	cl_fail(cl, "not every node applied index %" PRIu64 " within %u ms:%s",
	        index, timeout_ms, desc);
}

uint64_t cl_assert_converged(struct cluster *cl, unsigned timeout_ms)
{
	unsigned ids[CL_MAX_NODES];
	size_t n = cl_live_members(cl, ids);
	assert_true(n > 0);
	struct cl_status st[CL_MAX_NODES];
	bool ok[CL_MAX_NODES];
	char sums[CL_MAX_NODES][65];
	uint64_t at[CL_MAX_NODES];
	uint64_t deadline = cl_now_ms() + timeout_ms;
	do {
		size_t answered = cl_poll_status(cl, ids, n, st, ok);
		bool same = answered == n;
		uint64_t applied = st[0].applied;
		for (size_t i = 0; same && i < n; i++)
			same = st[i].applied == applied &&
			       st[i].commit <= applied;
		if (!same) {
			cl_sleep_ms(CL_POLL_MS);
			continue;
		}
		bool all = true;
		for (size_t i = 0; all && i < n; i++)
			all = cl_checksum(cl, ids[i], sums[i], &at[i]) == 0 &&
			      at[i] == applied;
		if (!all) {
			cl_sleep_ms(CL_POLL_MS);
			continue; /* something applied in between: again */
		}
		for (size_t i = 1; i < n; i++) {
			if (strcmp(sums[i], sums[0]) != 0)
				cl_fail(cl, "diverged at applied index %" PRIu64
				        ": node %u checksum %s, node %u checksum %s",
				        applied, ids[0], sums[0], ids[i], sums[i]);
		}
		print_message("[cluster] converged: %zu nodes at applied index "
		              "%" PRIu64 ", checksum %.16s...\n", n, applied,
		              sums[0]);
		return applied;
	} while (cl_now_ms() < deadline);
	char desc[2048];
	cl_format_statuses(ids, n, st, ok, desc, sizeof desc);
	cl_fail(cl, "nodes did not converge within %u ms:%s", timeout_ms,
	        desc);
	return 0;
}

/* ----------------------------------------------------------- workloads */

static void cl_writer_error(struct cl_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void cl_writer_error(struct cl_writer *w, const char *fmt, ...)
{
	if (w->errors++ == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->error, sizeof w->error, fmt, ap);
		va_end(ap);
	}
}

static void *cl_writer_main(void *arg)
{
	struct cl_writer *w = arg;
	struct lmsc *c = cl_client(w->cl, NULL, 0);
	if (!c) {
		cl_writer_error(w, "could not create a client");
		return NULL;
	}
	char key[64], val[32], ctr[64], prev[32];
	snprintf(ctr, sizeof ctr, "%sctr", w->prefix);
	for (unsigned i = 0; i < w->count && !atomic_load(&w->stop); i++) {
		snprintf(key, sizeof key, "%sk%u", w->prefix, i);
		snprintf(val, sizeof val, "v%u", i);
		uint64_t t0 = cl_now_ms(), node = 0;
		int rv = cl_put(c, key, val, NULL, &node);
		uint64_t t1 = cl_now_ms();
		if (rv != 0) {
			cl_writer_error(w, "put %s failed: %s (%s)", key,
			                rv < 0 ? strerror(-rv)
			                       : lmsc_status_name(rv),
			                lmsc_errmsg(c));
			break;
		}
		w->done_ms[i] = t1;
		w->node[i] = node;
		if (t1 - t0 > w->max_latency_ms)
			w->max_latency_ms = t1 - t0;
		snprintf(prev, sizeof prev, "%u", i);
		snprintf(val, sizeof val, "%u", i + 1);
		bool swapped = false;
		rv = cl_cas(c, ctr, i ? prev : NULL, val, &swapped, NULL);
		if (cl_now_ms() - t1 > w->max_latency_ms)
			w->max_latency_ms = cl_now_ms() - t1;
		if (rv != 0) {
			cl_writer_error(w, "cas %s %u->%u failed: %s (%s)", ctr,
			                i, i + 1,
			                rv < 0 ? strerror(-rv)
			                       : lmsc_status_name(rv),
			                lmsc_errmsg(c));
			break;
		}
		if (!swapped) {
			cl_writer_error(w, "cas %s %u->%u did not swap: a write "
			                "was applied twice or lost", ctr, i,
			                i + 1);
			break;
		}
		atomic_store(&w->acked, i + 1);
		if (w->pause_ms)
			cl_sleep_ms(w->pause_ms);
	}
	lmsc_free(c);
	return NULL;
}

struct cl_writer *cl_writer_start(struct cluster *cl, const char *prefix,
                                  unsigned count, unsigned pause_ms)
{
	size_t slot = 0;
	while (slot < sizeof cl->writers / sizeof cl->writers[0] &&
	       cl->writers[slot])
		slot++;
	assert_true(slot < sizeof cl->writers / sizeof cl->writers[0]);
	struct cl_writer *w = calloc(1, sizeof *w);
	assert_non_null(w);
	cl->writers[slot] = w;
	w->cl = cl;
	snprintf(w->prefix, sizeof w->prefix, "%s", prefix);
	w->count = count;
	w->pause_ms = pause_ms;
	atomic_init(&w->stop, false);
	atomic_init(&w->acked, 0);
	w->done_ms = calloc(count, sizeof *w->done_ms);
	w->node = calloc(count, sizeof *w->node);
	assert_non_null(w->done_ms);
	assert_non_null(w->node);
	assert_int_equal(pthread_create(&w->thread, NULL, cl_writer_main, w),
	                 0);
	w->started = true;
	return w;
}

void cl_writer_stop(struct cl_writer *w)
{
	if (!w->started)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	w->started = false;
}

static void cl_writer_free(struct cl_writer *w)
{
	cl_writer_stop(w);
	free(w->done_ms);
	free(w->node);
	free(w);
}

void cl_writer_wait(struct cl_writer *w, unsigned n, unsigned timeout_ms)
{
	uint64_t deadline = cl_now_ms() + timeout_ms;
	while (atomic_load(&w->acked) < n && cl_now_ms() < deadline) {
		if (w->errors)
			break;
		cl_check_alive(w->cl);
		cl_sleep_ms(10);
	}
	if (atomic_load(&w->acked) < n)
		cl_fail(w->cl, "writer completed %u of %u iterations in %u ms%s%s",
		        atomic_load(&w->acked), n, timeout_ms,
		        w->errors ? ": " : "", w->errors ? w->error : "");
}

uint64_t cl_writer_first_ack_after(const struct cl_writer *w, uint64_t t_ms,
                                   uint64_t not_node)
{
	unsigned acked = atomic_load(&w->acked);
	for (unsigned i = 0; i < acked; i++)
		if (w->done_ms[i] > t_ms && w->node[i] != not_node)
			return w->done_ms[i];
	return 0;
}

void cl_assert_keys(struct cluster *cl, unsigned id, const char *prefix,
                    unsigned count)
{
	char key[64], want[32], got[64];
	for (unsigned i = 0; i < count; i++) {
		snprintf(key, sizeof key, "%s%u", prefix, i);
		snprintf(want, sizeof want, "v%u", i);
		bool found = false;
		int rv = cl_get_stale(cl, id, key, got, sizeof got, &found, NULL);
		if (rv != 0)
			cl_fail(cl, "node %u: stale get %s failed: %d", id, key,
			        rv);
		if (!found || strcmp(got, want) != 0)
			cl_fail(cl, "node %u: key %s is %s%s%s, expected %s", id,
			        key, found ? "\"" : "missing", found ? got : "",
			        found ? "\"" : "", want);
	}
}

void cl_writer_verify(struct cluster *cl, const struct cl_writer *w)
{
	if (w->errors)
		cl_fail(cl, "writer: %u error(s), first: %s", w->errors,
		        w->error);
	unsigned acked = atomic_load(&w->acked);
	unsigned ids[CL_MAX_NODES];
	size_t n = cl_live_members(cl, ids);
	char prefix[48], ctr[64], got[64], want[32];
	snprintf(prefix, sizeof prefix, "%sk", w->prefix);
	snprintf(ctr, sizeof ctr, "%sctr", w->prefix);
	snprintf(want, sizeof want, "%u", acked);
	for (size_t i = 0; i < n; i++) {
		cl_assert_keys(cl, ids[i], prefix, acked);
		bool found = false;
		int rv = cl_get_stale(cl, ids[i], ctr, got, sizeof got, &found,
		                      NULL);
		if (rv != 0 || !found || strcmp(got, want) != 0)
			cl_fail(cl, "node %u: counter %s is %s, expected %s "
			        "(each acknowledged cas applied exactly once)",
			        ids[i], ctr, rv || !found ? "missing" : got, want);
	}
}

struct cl_bulk {
	struct cluster *cl;
	const char *prefix;
	unsigned from, to;
	unsigned acked;
	char error[256];
};

static void *cl_bulk_main(void *arg)
{
	struct cl_bulk *b = arg;
	struct lmsc *c = cl_client(b->cl, NULL, 0);
	if (!c) {
		snprintf(b->error, sizeof b->error, "could not create a client");
		return NULL;
	}
	char key[64], val[32];
	for (unsigned i = b->from; i < b->to; i++) {
		snprintf(key, sizeof key, "%s%u", b->prefix, i);
		snprintf(val, sizeof val, "v%u", i);
		int rv = cl_put(c, key, val, NULL, NULL);
		if (rv != 0) {
			snprintf(b->error, sizeof b->error, "put %s: %s (%s)", key,
			         rv < 0 ? strerror(-rv) : lmsc_status_name(rv),
			         lmsc_errmsg(c));
			break;
		}
		b->acked++;
	}
	lmsc_free(c);
	return NULL;
}

unsigned cl_write_bulk(struct cluster *cl, const char *prefix,
                       unsigned count, unsigned threads)
{
	struct cl_bulk b[16];
	pthread_t th[16];
	assert_true(threads >= 1 && threads <= 16);
	for (unsigned t = 0; t < threads; t++) {
		b[t].cl = cl;
		b[t].prefix = prefix;
		b[t].from = count * t / threads;
		b[t].to = count * (t + 1) / threads;
		b[t].acked = 0;
		b[t].error[0] = '\0';
		assert_int_equal(pthread_create(&th[t], NULL, cl_bulk_main,
		                                &b[t]), 0);
	}
	unsigned acked = 0;
	for (unsigned t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		acked += b[t].acked;
		if (b[t].error[0])
			print_error("[cluster] bulk writer %u: %s\n", t,
			            b[t].error);
	}
	return acked;
}

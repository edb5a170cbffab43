/*
 * e2e_util.c -- see e2e_util.h.
 *
 * Sections: fixtures and the world, processes (spawn, the fake, tutord),
 * HTTP, questions, lms. Every wait is bounded by a deadline and says on
 * failure what it last saw; process ids are the only handle on children
 * (never a name).
 */
#include "e2e_util.h"

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
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "fake_ollama.h"
#include "svc_util.h"

#ifndef LMS_TUTORD_PATH
#error "LMS_TUTORD_PATH must name the tutord binary"
#endif
#ifndef LMS_FAKE_OLLAMA_PATH
#error "LMS_FAKE_OLLAMA_PATH must name the fake-ollama binary"
#endif
#ifndef LMS_LMS_PATH
#error "LMS_LMS_PATH must name the lms binary"
#endif

#define E2E_TUTOR_PASSWORD "tutor-secret-e2e"
#define E2E_PASSWORD "e2e-pass-123"
#define E2E_START_MS 20000   /* a tutord's status port comes up */
#define E2E_HTTP_TIMEOUT_S 3

/* Short on purpose: the fake echoes the whole prompt (this text in it),
 * and a short reply keeps every answer well inside the request timeout,
 * also when the fake writes it in small pieces. */
static const char material_text[] =
	"Raft elects a leader by majority vote. A follower that hears no "
	"heartbeat before its election timeout becomes a candidate, votes "
	"for itself and asks the others for their votes; a candidate with "
	"votes from a majority becomes leader for its term.\n";

/* ----------------------------------------------- fixtures and the world */

int e2e_setup(void **state)
{
	struct e2e *e = calloc(1, sizeof *e);
	if (!e)
		return -1;
	void *cl_state = NULL;
	if (cl_setup(&cl_state) != 0) {
		free(e);
		return -1;
	}
	e->cl = cl_state;
	*state = e;
	return 0;
}

/* The last `lines` lines of path to stderr, under a banner. */
static void e2e_dump_file(const char *what, const char *path,
                          unsigned lines)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char **ring = calloc(lines, sizeof *ring);
	size_t count = 0;
	char buf[2048];
	while (ring && fgets(buf, sizeof buf, f)) {
		free(ring[count % lines]);
		ring[count % lines] = strdup(buf);
		count++;
	}
	fclose(f);
	fprintf(stderr, "----- %s: last %u lines of %s -----\n", what, lines,
	        path);
	size_t first = count > lines ? count - lines : 0;
	for (size_t i = first; ring && i < count; i++)
		fputs(ring[i % lines] ? ring[i % lines] : "", stderr);
	for (size_t i = 0; ring && i < lines; i++)
		free(ring[i]);
	free(ring);
}

static void e2e_reap_kill(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

int e2e_teardown(void **state)
{
	struct e2e *e = *state;
	if (!e)
		return 0;
	for (unsigned i = 0; i < E2E_MAX_LMS; i++) {
		if (!e->lms[i].used)
			continue;
		if (e->cl && !e->cl->passed)
			e2e_lms_show(&e->lms[i]);
		e2e_lms_free(&e->lms[i]);
	}
	for (unsigned i = 0; i < E2E_MAX_TUTORS; i++)
		e2e_reap_kill(&e->tutors[i].pid);
	e2e_reap_kill(&e->fake_pid);
	if (e->cl && !e->cl->passed) {
		for (unsigned i = 0; i < E2E_MAX_TUTORS; i++) {
			if (!e->tutors[i].log[0])
				continue;
			char what[96];
			snprintf(what, sizeof what, "tutord %u (%s)", i,
			         e->tutors[i].worker);
			e2e_dump_file(what, e->tutors[i].log, 60);
		}
		if (e->fake_log[0])
			e2e_dump_file("fake-ollama", e->fake_log, 20);
	}
	lmsc_free(e->c);
	void *cl_state = e->cl;
	cl_teardown(&cl_state);
	free(e);
	*state = NULL;
	return 0;
}

void e2e_pass(struct e2e *e)
{
	cl_pass(e->cl);
}

void e2e_world(struct e2e *e)
{
	struct cl_options o = {0};
	cl_boot(e->cl, &o);
	cl_wait_leader(e->cl, NULL, 0, SV_LEADER_MS);
	snprintf(e->fake_log, sizeof e->fake_log, "%s/fake-ollama.log",
	         e->cl->dir);
	e->c = cl_client(e->cl, NULL, 0);
	assert_non_null(e->c);
	sv_install_schema(e->cl, e->c);
	sv_bootstrap(e->c, "admin", E2E_PASSWORD);
	sv_login(e->c, "admin", E2E_PASSWORD, e->admin);
	sv_user(e->c, e->admin, "prof", E2E_PASSWORD,
	        LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	sv_user(e->c, e->admin, E2E_TUTOR_USER, E2E_TUTOR_PASSWORD,
	        LMS__RPC__ROLE__ROLE_TUTOR);
	for (unsigned s = 0; s < E2E_STUDENTS; s++) {
		snprintf(e->stud_name[s], sizeof e->stud_name[s], "stud%u",
		         s + 1);
		sv_user(e->c, e->admin, e->stud_name[s], E2E_PASSWORD,
		        LMS__RPC__ROLE__ROLE_STUDENT);
	}
	sv_login(e->c, "prof", E2E_PASSWORD, e->prof);
	sv_course(e->c, e->prof, E2E_COURSE, "Distributed systems");
	for (unsigned s = 0; s < E2E_STUDENTS; s++) {
		sv_enroll(e->c, e->prof, E2E_COURSE, e->stud_name[s],
		          LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
		sv_login(e->c, e->stud_name[s], E2E_PASSWORD, e->stud[s]);
	}
	e->material = sv_material_txt(e->c, e->prof, E2E_COURSE,
	                              E2E_MATERIAL_TITLE, material_text);
}

/* ----------------------------------------------------------- processes */

int64_t e2e_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool e2e_port_free(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	close(fd);
	return ok;
}

/* 12000..19999: under the cluster harness's 20000..31999 (so never a node
 * port of this or another test's cluster, which the config loader would
 * refuse) and under the ephemeral range (no outgoing connection holds
 * it when a process restarts on it). */
unsigned e2e_free_port(void)
{
	for (unsigned attempt = 0; attempt < 500; attempt++) {
		uint32_t r;
		if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
			r = (uint32_t)getpid() * 7919u + attempt;
		unsigned port = 12000 + r % 8000;
		if (e2e_port_free(port))
			return port;
	}
	fail_msg("no free port in 12000..19999 on 127.0.0.1");
	return 0;
}

/*
 * fork + exec argv[0] with argv, stdin from /dev/null, stderr (and
 * stdout unless out_fd) appended to log; env: NULL-terminated "K=V"
 * pairs set in the child. *out_fd (may be NULL) gets the read end of a
 * pipe on the child's stdout. The child dies with this process.
 */
static pid_t e2e_spawn(const char *const *argv, const char *const *env,
                       const char *log, int *out_fd)
{
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		fail_msg("could not open \"%s\": %s", log, strerror(errno));
	int pfd[2] = {-1, -1};
	if (out_fd && pipe2(pfd, O_CLOEXEC) != 0) {
		close(logfd);
		fail_msg("pipe: %s", strerror(errno));
	}
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(logfd);
		fail_msg("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int nullfd = open("/dev/null", O_RDONLY);
		if (nullfd >= 0)
			dup2(nullfd, 0);
		dup2(out_fd ? pfd[1] : logfd, 1);
		dup2(logfd, 2);
		/* no test socket or database connection leaks into it */
		syscall(SYS_close_range, 3u, ~0u, 0u);
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	if (out_fd) {
		close(pfd[1]);
		*out_fd = pfd[0];
	}
	return pid;
}

/* SIGTERM pid and wait up to timeout_ms: the exit status (0..255), -1
 * for a signal, -2 when it had to be killed. *took_ms: how long. */
static int e2e_term(pid_t *pid, unsigned timeout_ms, unsigned *took_ms)
{
	uint64_t start = cl_now_ms();
	kill(*pid, SIGTERM);
	int status = 0, rc = -2;
	while (cl_now_ms() < start + timeout_ms) {
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
			break;
		}
		cl_sleep_ms(10);
	}
	if (took_ms)
		*took_ms = (unsigned)(cl_now_ms() - start);
	if (rc == -2) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
	return rc;
}

/* ------------------------------------------------------------ the fake */

void e2e_fake_start(struct e2e *e, unsigned port)
{
	if (e->fake_pid > 0)
		fail_msg("fake-ollama already runs (pid %ld)",
		         (long)e->fake_pid);
	if (port == 0)
		port = e->fake_port;
	char portarg[16];
	snprintf(portarg, sizeof portarg, "%u", port);
	const char *argv[] = {LMS_FAKE_OLLAMA_PATH, "--port", portarg, NULL};
	int fd;
	e->fake_pid = e2e_spawn(argv, NULL, e->fake_log, &fd);
	char line[256];
	size_t n = 0;
	uint64_t deadline = cl_now_ms() + 5000;
	while (n < sizeof line - 1 && cl_now_ms() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (read(fd, line + n, 1) != 1)
			break;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(fd);
	const char *colon = strrchr(line, ':');
	unsigned got = 0;
	if (!strstr(line, "listening on") || !colon ||
	    sscanf(colon + 1, "%u", &got) != 1 || got == 0 ||
	    (port && got != port)) {
		e2e_reap_kill(&e->fake_pid);
		fail_msg("fake-ollama did not start on port %u (said \"%s\"; "
		         "see %s)", port, line, e->fake_log);
	}
	e->fake_port = got;
}

void e2e_fake_stop(struct e2e *e)
{
	if (e->fake_pid <= 0)
		fail_msg("fake-ollama is not running");
	int rc = e2e_term(&e->fake_pid, 3000, NULL);
	if (rc != 0)
		fail_msg("fake-ollama did not exit cleanly on SIGTERM (%d)",
		         rc);
}

/*
 * One HTTP/1.0 request to 127.0.0.1:port. Returns the status code with
 * the body in *body (malloc'd, NUL-terminated; may be NULL), or a
 * negative errno when there was no well-formed answer.
 */
static int e2e_http(unsigned port, const char *method, const char *path,
                    const char *req_body, char **body)
{
	if (body)
		*body = NULL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {E2E_HTTP_TIMEOUT_S, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	size_t blen = req_body ? strlen(req_body) : 0;
	char head[512];
	int hl = snprintf(head, sizeof head,
	                  "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n"
	                  "Content-Type: application/json\r\n"
	                  "Content-Length: %zu\r\n\r\n",
	                  method, path, port, blen);
	if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) != hl ||
	    (blen && send(fd, req_body, blen, MSG_NOSIGNAL) != (ssize_t)blen)) {
		close(fd);
		return -EIO;
	}
	size_t cap = 8192, got = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			break;
		if (got + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	buf[got] = '\0';
	int code;
	char *sep = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1 || !sep) {
		free(buf);
		return -EPROTO;
	}
	if (body) {
		*body = strdup(sep + 4);
		if (!*body)
			code = -ENOMEM;
	}
	free(buf);
	return code;
}

void e2e_fake_mode(struct e2e *e, const char *json)
{
	char *body;
	int code = e2e_http(e->fake_port, "POST", "/_fake/mode", json, &body);
	if (code != 200) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s", body ? body : "");
		free(body);
		fail_msg("POST /_fake/mode %s: %d %s", json, code, msg);
	}
	free(body);
}

char *e2e_fake_last_user(struct e2e *e)
{
	char *body;
	int code = e2e_http(e->fake_port, "GET", "/_fake/last_request", NULL,
	                    &body);
	if (code == 404) {
		free(body);
		return NULL;
	}
	if (code != 200) {
		free(body);
		fail_msg("GET /_fake/last_request: %d", code);
	}
	json_error_t jerr;
	json_t *root = json_loads(body, 0, &jerr);
	free(body);
	if (!root)
		fail_msg("the fake's last request is not JSON: %s", jerr.text);
	json_t *msgs = json_object_get(root, "messages");
	const char *content = NULL;
	for (size_t i = json_array_size(msgs); i-- > 0 && !content;) {
		json_t *m = json_array_get(msgs, i);
		const char *role = json_string_value(json_object_get(m, "role"));
		if (role && strcmp(role, "user") == 0)
			content = json_string_value(json_object_get(m,
			                                            "content"));
	}
	char *out = content ? strdup(content) : NULL;
	json_decref(root);
	if (!out)
		fail_msg("the fake's last request has no user message");
	return out;
}

/* -------------------------------------------------------------- tutord */

static struct e2e_tutord *e2e_tutor_of(struct e2e *e, unsigned i)
{
	if (i >= E2E_MAX_TUTORS)
		fail_msg("no tutord %u (0..%u)", i, E2E_MAX_TUTORS - 1);
	return &e->tutors[i];
}

/* The cluster's config.json with a "tutor" section of our own. */
static void e2e_write_tutor_config(struct e2e *e, struct e2e_tutord *t)
{
	json_error_t jerr;
	json_t *root = json_load_file(e->cl->config, 0, &jerr);
	if (!root)
		fail_msg("could not read \"%s\": %s", e->cl->config, jerr.text);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u", e->fake_port);
	json_t *tutor = json_pack(
		"{s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:s, s:i, s:s}",
		"ollama_url", url,
		"model", FAKE_OLLAMA_DEFAULT_MODEL,
		"connect_timeout_ms", 1000,
		"request_timeout_ms", (int)t->request_timeout_ms,
		"num_ctx", 4096,
		"num_predict", 1024,
		"temperature", 0.3,
		"keep_alive", "5m",
		"http_port", (int)t->http_port,
		"username", E2E_TUTOR_USER);
	if (!tutor || json_object_set_new(root, "tutor", tutor) != 0 ||
	    json_dump_file(root, t->config, JSON_INDENT(2)) != 0) {
		json_decref(root);
		fail_msg("could not write \"%s\"", t->config);
	}
	json_decref(root);
}

void e2e_tutord_start(struct e2e *e, unsigned i, const char *worker,
                      unsigned request_timeout_ms)
{
	struct e2e_tutord *t = e2e_tutor_of(e, i);
	if (t->pid > 0)
		fail_msg("tutord %u already runs (pid %ld)", i, (long)t->pid);
	if (e->fake_port == 0)
		fail_msg("tutord %u: no port chosen for the fake Ollama", i);
	snprintf(t->worker, sizeof t->worker, "%s", worker);
	if (!t->config[0]) {
		/* copies: GCC's -Wrestrict cannot tell cl->dir from t's */
		char dir[sizeof e->cl->dir];
		memcpy(dir, e->cl->dir, sizeof dir);
		snprintf(t->config, sizeof t->config, "%s/tutord%u.json", dir,
		         i);
		snprintf(t->log, sizeof t->log, "%s/tutord%u.log", dir, i);
		t->http_port = e2e_free_port();
		t->request_timeout_ms = request_timeout_ms;
		e2e_write_tutor_config(e, t);
	}
	char nodes[1024];
	cl_nodes_arg(e->cl, nodes, sizeof nodes);
	char ollama[64];
	snprintf(ollama, sizeof ollama, "OLLAMA_HOST=127.0.0.1:%u",
	         e->fake_port);
	const char *env[] = {"LMS_TUTOR_PASSWORD=" E2E_TUTOR_PASSWORD,
	                     ollama, NULL};
	const char *argv[] = {LMS_TUTORD_PATH, "--config", t->config,
	                      "--nodes", nodes, "--worker", t->worker,
	                      NULL};
	t->pid = e2e_spawn(argv, env, t->log, NULL);
	uint64_t deadline = cl_now_ms() + E2E_START_MS;
	while (cl_now_ms() < deadline) {
		e2e_tutord_check_alive(e, i);
		char *body;
		int code = e2e_http(t->http_port, "GET", "/health", NULL,
		                    &body);
		free(body);
		if (code > 0)
			return;
		cl_sleep_ms(50);
	}
	fail_msg("tutord %u: /health on 127.0.0.1:%u not up within %d ms",
	         i, t->http_port, E2E_START_MS);
}

unsigned e2e_tutord_stop(struct e2e *e, unsigned i, unsigned timeout_ms)
{
	struct e2e_tutord *t = e2e_tutor_of(e, i);
	if (t->pid <= 0)
		fail_msg("tutord %u is not running", i);
	unsigned took;
	int rc = e2e_term(&t->pid, timeout_ms, &took);
	if (rc != 0)
		fail_msg("tutord %u (%s) %s after SIGTERM (%u ms)", i,
		         t->worker,
		         rc == -2 ? "did not exit in time"
		         : rc == -1 ? "died of a signal"
		                    : "exited with a non-zero status", took);
	return took;
}

void e2e_tutord_kill(struct e2e *e, unsigned i)
{
	struct e2e_tutord *t = e2e_tutor_of(e, i);
	if (t->pid <= 0)
		fail_msg("tutord %u is not running", i);
	e2e_reap_kill(&t->pid);
}

void e2e_tutord_check_alive(struct e2e *e, unsigned i)
{
	struct e2e_tutord *t = e2e_tutor_of(e, i);
	int status;
	if (t->pid > 0 && waitpid(t->pid, &status, WNOHANG) == t->pid) {
		t->pid = 0;
		fail_msg("tutord %u (%s) exited unexpectedly: %s %d", i,
		         t->worker,
		         WIFEXITED(status) ? "status" : "signal",
		         WIFEXITED(status) ? WEXITSTATUS(status)
		                           : WTERMSIG(status));
	}
}

int e2e_tutord_get(struct e2e *e, unsigned i, const char *path, char *buf,
                   size_t cap)
{
	struct e2e_tutord *t = e2e_tutor_of(e, i);
	char *body;
	int code = e2e_http(t->http_port, "GET", path, NULL, &body);
	if (cap)
		snprintf(buf, cap, "%s", body ? body : "");
	free(body);
	return code;
}

/* The sample "name value" of a Prometheus text body; false if absent. */
static bool e2e_sample(const char *text, const char *name, double *v)
{
	size_t nl = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'),
	                                     p = p ? p + 1 : NULL) {
		if (strncmp(p, name, nl) == 0 && p[nl] == ' ') {
			*v = strtod(p + nl + 1, NULL);
			return true;
		}
	}
	return false;
}

double e2e_metric(struct e2e *e, unsigned i, const char *name)
{
	static char buf[65536];
	int code = e2e_tutord_get(e, i, "/metrics", buf, sizeof buf);
	if (code != 200)
		fail_msg("tutord %u: GET /metrics answered %d", i, code);
	double v = 0;
	if (!e2e_sample(buf, name, &v))
		fail_msg("tutord %u: /metrics has no sample %s", i, name);
	return v;
}

double e2e_metric_wait(struct e2e *e, unsigned i, const char *name,
                       double want, unsigned timeout_ms)
{
	uint64_t deadline = cl_now_ms() + timeout_ms;
	double v = e2e_metric(e, i, name);
	while (v < want && cl_now_ms() < deadline) {
		cl_sleep_ms(50);
		v = e2e_metric(e, i, name);
	}
	return v;
}

/* ------------------------------------------------------------ questions */

uint64_t e2e_ask(struct e2e *e, unsigned s, const char *body)
{
	assert_true(s < E2E_STUDENTS);
	return sv_query_post(e->c, e->stud[s], E2E_COURSE, body,
	                     LMS__RPC__QUERY_TARGET__TO_TUTOR);
}

Lms__Rpc__Response *e2e_get(struct e2e *e, const char *token, uint64_t id)
{
	Lms__Rpc__QueryGetRequest g = LMS__RPC__QUERY_GET_REQUEST__INIT;
	g.id = id;
	Lms__Rpc__Response *r = SV_CALL(e->c, token, query_get, QUERY_GET, &g);
	sv_expect(r, LMS__RPC__STATUS__OK, "get question %" PRIu64, id);
	if (r->result_case != LMS__RPC__RESPONSE__RESULT_QUERY_GET ||
	    !r->query_get->query)
		fail_msg("get question %" PRIu64 ": no question in the answer",
		         id);
	return r;
}

void e2e_list(struct e2e *e, const char *token, struct e2e_list *out)
{
	memset(out, 0, sizeof *out);
	char after[64] = "";
	for (unsigned page = 0; page < 50; page++) {
		Lms__Rpc__Page pg = LMS__RPC__PAGE__INIT;
		pg.limit = 100;
		pg.after = after;
		Lms__Rpc__QueryListRequest l =
			LMS__RPC__QUERY_LIST_REQUEST__INIT;
		l.course = E2E_COURSE;
		l.to = LMS__RPC__QUERY_TARGET__TO_TUTOR;
		l.page = &pg;
		Lms__Rpc__Response *r = SV_CALL(e->c, token, query_list,
		                                QUERY_LIST, &l);
		sv_expect(r, LMS__RPC__STATUS__OK, "list the questions of %s",
		          E2E_COURSE);
		Lms__Rpc__Response **nr = realloc(out->resps,
			(out->n_resps + 1) * sizeof *nr);
		assert_non_null(nr);
		out->resps = nr;
		out->resps[out->n_resps++] = r;
		const Lms__Rpc__QueryListResponse *lr = r->query_list;
		size_t add = lr ? lr->n_queries : 0;
		const Lms__Rpc__Query **nq = realloc(out->q,
			(out->n + add + 1) * sizeof *nq);
		assert_non_null(nq);
		out->q = nq;
		for (size_t k = 0; k < add; k++)
			out->q[out->n++] = lr->queries[k];
		if (!lr || !lr->next || !*lr->next)
			return;
		snprintf(after, sizeof after, "%s", lr->next);
	}
	fail_msg("listing the questions of %s took more than 50 pages",
	         E2E_COURSE);
}

void e2e_list_free(struct e2e_list *l)
{
	for (size_t i = 0; i < l->n_resps; i++)
		lmsc_response_free(l->resps[i]);
	free(l->resps);
	free(l->q);
	memset(l, 0, sizeof *l);
}

const Lms__Rpc__Query *e2e_list_find(const struct e2e_list *l, uint64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->q[i]->id == id)
			return l->q[i];
	return NULL;
}

static const char *e2e_status_name(int s)
{
	switch (s) {
	case LMS__RPC__QUERY_STATUS__QUERY_OPEN: return "OPEN";
	case LMS__RPC__QUERY_STATUS__QUERY_CLAIMED: return "CLAIMED";
	case LMS__RPC__QUERY_STATUS__QUERY_ANSWERED: return "ANSWERED";
	default: return "?";
	}
}

/* Collapses blank runs to one space, as the fake does with the prompt
 * it echoes (malloc'd). */
static char *e2e_collapse(const char *s)
{
	char *out = malloc(strlen(s) + 1);
	assert_non_null(out);
	size_t o = 0;
	bool blank = false;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
			blank = true;
			continue;
		}
		if (blank && o > 0)
			out[o++] = ' ';
		blank = false;
		out[o++] = *s;
	}
	out[o] = '\0';
	return out;
}

void e2e_expect_tutor_answer(const struct e2e *e, const Lms__Rpc__Query *q,
                             const char *body, const char *expected)
{
	uint64_t id = q->id;
	if (q->status != LMS__RPC__QUERY_STATUS__QUERY_ANSWERED)
		fail_msg("question %" PRIu64 " is %s, not ANSWERED", id,
		         e2e_status_name(q->status));
	if (q->n_answers != 1)
		fail_msg("question %" PRIu64 " has %zu answers, not exactly "
		         "one", id, q->n_answers);
	if (q->claimed_by && *q->claimed_by)
		fail_msg("question %" PRIu64 " is answered but still claimed "
		         "by \"%s\"", id, q->claimed_by);
	const Lms__Rpc__Answer *a = q->answers[0];
	if (!a->by_tutor || strcmp(a->author, E2E_TUTOR_USER) != 0)
		fail_msg("question %" PRIu64 ": the answer is by \"%s\" "
		         "(by_tutor %d), not the tutor", id, a->author,
		         (int)a->by_tutor);
	const char *b = a->body;
	static const char *const banned[] = {
		"<think>", "</think>", "The student asks",
		"A <thin> tag is not a tag", FAKE_OLLAMA_ERROR_TEXT,
	};
	for (size_t k = 0; k < sizeof banned / sizeof banned[0]; k++)
		if (strstr(b, banned[k]))
			fail_msg("question %" PRIu64 ": the answer contains "
			         "\"%s\": %.600s", id, banned[k], b);
	size_t bl = strlen(b), tl = strlen(E2E_ANSWER_TAIL);
	if (strncmp(b, "Echo: ", 6) != 0 || bl < tl ||
	    strcmp(b + bl - tl, E2E_ANSWER_TAIL) != 0)
		fail_msg("question %" PRIu64 ": not the fake's visible answer "
		         "(\"Echo: ...%s\"): %.600s", id, "<tail>", b);
	/* the prompt ends with the question, which the fake echoes */
	char *qb = e2e_collapse(body);
	char want_q[1024];
	snprintf(want_q, sizeof want_q, "Question from the student: %s", qb);
	free(qb);
	if (!strstr(b, want_q))
		fail_msg("question %" PRIu64 ": the answer does not echo its "
		         "own question \"%s\": %.600s", id, want_q, b);
	if (expected && strcmp(b, expected) != 0)
		fail_msg("question %" PRIu64 ": stored answer differs from "
		         "the fake's visible answer to the last prompt\n"
		         "stored:   %.800s\nexpected: %.800s", id, b,
		         expected);
	if (a->n_sources == 0)
		fail_msg("question %" PRIu64 ": the answer names no source",
		         id);
	for (size_t k = 0; k < a->n_sources; k++) {
		const Lms__Rpc__Source *s = a->sources[k];
		if (s->material_id != e->material ||
		    strcmp(s->title, E2E_MATERIAL_TITLE) != 0 ||
		    s->label[0] != 'S')
			fail_msg("question %" PRIu64 ": source %zu is [%s] "
			         "material %" PRIu64 " \"%s\", not [S<n>] "
			         "material %" PRIu64 " \"%s\"", id, k + 1,
			         s->label, s->material_id, s->title,
			         e->material, E2E_MATERIAL_TITLE);
		char cite[40];
		snprintf(cite, sizeof cite, "[%s]", s->label);
		if (!strstr(b, cite))
			fail_msg("question %" PRIu64 ": source %s is not cited "
			         "in the answer", id, cite);
	}
}

void e2e_expect_unanswered(const Lms__Rpc__Query *q, const char *what)
{
	for (size_t k = 0; k < q->n_answers; k++)
		if (strstr(q->answers[k]->body, FAKE_OLLAMA_ERROR_TEXT))
			fail_msg("%s: question %" PRIu64 " got an answer with "
			         "the model's error text: %.300s", what, q->id,
			         q->answers[k]->body);
	if (q->n_answers != 0 ||
	    q->status == LMS__RPC__QUERY_STATUS__QUERY_ANSWERED)
		fail_msg("%s: question %" PRIu64 " is %s with %zu answer(s), "
		         "but nothing may be stored yet (first: %.300s)", what,
		         q->id, e2e_status_name(q->status), q->n_answers,
		         q->n_answers ? q->answers[0]->body : "");
}

/* ----------------------------------------------------------------- lms */

#define E2E_LMS_CHUNK 4096

/* buf grown to hold need + 1 bytes. */
static void e2e_grow(char **buf, size_t *cap, size_t need)
{
	if (need + 1 <= *cap)
		return;
	size_t cap2 = *cap ? *cap : E2E_LMS_CHUNK;
	while (cap2 < need + 1)
		cap2 *= 2;
	char *nb = realloc(*buf, cap2);
	if (!nb)
		fail_msg("out of memory reading lms output");
	*buf = nb;
	*cap = cap2;
}

static void e2e_mkdir(const char *path)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		fail_msg("could not create \"%s\": %s", path, strerror(errno));
}

struct e2e_lms *e2e_lms_start(struct e2e *e, const char *who,
                              const char *input, const char *const *args)
{
	struct e2e_lms *r = NULL;
	for (unsigned i = 0; i < E2E_MAX_LMS && !r; i++)
		if (!e->lms[i].used)
			r = &e->lms[i];
	if (!r)
		fail_msg("more than %d lms runs at once", E2E_MAX_LMS);
	memset(r, 0, sizeof *r);
	r->used = true; /* from here on e2e_teardown cleans up */
	r->out_fd = r->err_fd = -1;
	e2e_grow(&r->out, &r->out_cap, 0);
	e2e_grow(&r->err, &r->err_cap, 0);
	r->out[0] = r->err[0] = '\0';

	char dir[sizeof e->cl->dir];
	memcpy(dir, e->cl->dir, sizeof dir);
	char home[256], config[300], xdg[320], homeenv[270];
	snprintf(home, sizeof home, "%s/lms-%s", dir, who);
	snprintf(config, sizeof config, "%s/config", home);
	e2e_mkdir(home);
	e2e_mkdir(config);
	snprintf(homeenv, sizeof homeenv, "HOME=%s", home);
	snprintf(xdg, sizeof xdg, "XDG_CONFIG_HOME=%s", config);

	char nodes[1024];
	cl_nodes_arg(e->cl, nodes, sizeof nodes);
	const char *argv[64];
	size_t n = 0;
	argv[n++] = LMS_LMS_PATH;
	argv[n++] = "--nodes";
	argv[n++] = nodes;
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	size_t o = 0;
	o += (size_t)snprintf(r->cmd, sizeof r->cmd, "[%s] lms", who);
	for (size_t i = 3; argv[i] && o < sizeof r->cmd; i++)
		o += (size_t)snprintf(r->cmd + o, sizeof r->cmd - o, " %s",
		                      argv[i]);

	int in[2] = {-1, -1}, out[2], err[2];
	if ((input && pipe2(in, O_CLOEXEC) != 0) || pipe2(out, O_CLOEXEC) != 0)
		fail_msg("pipe: %s", strerror(errno));
	if (pipe2(err, O_CLOEXEC) != 0)
		fail_msg("pipe: %s", strerror(errno));
	/* a child that exits before reading its stdin must not kill us */
	signal(SIGPIPE, SIG_IGN);
	pid_t parent = getpid();
	fflush(NULL);
	r->start_ms = cl_now_ms();
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int infd = input ? in[0] : open("/dev/null", O_RDONLY);
		if (infd < 0 || chdir(home) != 0)
			_exit(126);
		dup2(infd, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		syscall(SYS_close_range, 3u, ~0u, 0u);
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		putenv(homeenv);
		putenv(xdg);
		putenv("LANG=C");
		putenv("TZ=UTC");
		unsetenv("LMS_TOKEN");
		unsetenv("LMS_NODES");
		unsetenv("LMS_CONFIG");
		execv(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	r->pid = pid;
	close(out[1]);
	close(err[1]);
	r->out_fd = out[0];
	r->err_fd = err[0];
	if (input) {
		close(in[0]);
		size_t len = strlen(input), done = 0;
		while (done < len) {
			ssize_t w = write(in[1], input + done, len - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break; /* the child went away: its status says */
			done += (size_t)w;
		}
		close(in[1]);
	}
	return r;
}

static void e2e_lms_reap(struct e2e_lms *r, bool block)
{
	if (r->pid <= 0)
		return;
	int status;
	pid_t w = waitpid(r->pid, &status, block ? 0 : WNOHANG);
	if (w != r->pid)
		return;
	r->exit_ms = cl_now_ms();
	r->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->pid = 0;
}

/* One read from fd (stdout or stderr of r); false at EOF (fd closed). */
static bool e2e_lms_read_fd(struct e2e_lms *r, bool is_out)
{
	int *fd = is_out ? &r->out_fd : &r->err_fd;
	char **buf = is_out ? &r->out : &r->err;
	size_t *len = is_out ? &r->out_len : &r->err_len;
	size_t *cap = is_out ? &r->out_cap : &r->err_cap;
	e2e_grow(buf, cap, *len + E2E_LMS_CHUNK);
	ssize_t got;
	do
		got = read(*fd, *buf + *len, E2E_LMS_CHUNK);
	while (got < 0 && errno == EINTR);
	uint64_t now = cl_now_ms();
	if (got <= 0) {
		close(*fd);
		*fd = -1;
		return false;
	}
	if (is_out) {
		if (r->n_reads == r->reads_cap) {
			size_t c = r->reads_cap ? r->reads_cap * 2 : 256;
			struct e2e_lms_read *nr = realloc(r->reads,
			                                  c * sizeof *nr);
			if (!nr)
				fail_msg("out of memory reading lms output");
			r->reads = nr;
			r->reads_cap = c;
		}
		r->reads[r->n_reads++] = (struct e2e_lms_read){
			.at_ms = now, .off = *len, .len = (size_t)got};
	}
	*len += (size_t)got;
	(*buf)[*len] = '\0';
	return true;
}

/* One poll of r's pipes for up to wait_ms; reads what is ready, reaps the
 * child once both pipes are at EOF. True when r is done (reaped, EOF). */
static bool e2e_lms_pump_once(struct e2e_lms *r, unsigned wait_ms)
{
	struct pollfd p[2];
	bool is_out[2];
	int np = 0;
	if (r->out_fd >= 0) {
		p[np] = (struct pollfd){.fd = r->out_fd, .events = POLLIN};
		is_out[np++] = true;
	}
	if (r->err_fd >= 0) {
		p[np] = (struct pollfd){.fd = r->err_fd, .events = POLLIN};
		is_out[np++] = false;
	}
	if (np == 0) {
		e2e_lms_reap(r, false);
		if (r->pid > 0)
			cl_sleep_ms(wait_ms < 5 ? wait_ms : 5);
		return r->pid <= 0;
	}
	int n = poll(p, (nfds_t)np, (int)wait_ms);
	if (n < 0 && errno != EINTR)
		fail_msg("poll: %s", strerror(errno));
	for (int i = 0; n > 0 && i < np; i++)
		if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
			e2e_lms_read_fd(r, is_out[i]);
	return false;
}

void e2e_lms_pump(struct e2e_lms *r, unsigned ms)
{
	uint64_t deadline = cl_now_ms() + ms;
	for (;;) {
		uint64_t now = cl_now_ms();
		unsigned left = now < deadline ? (unsigned)(deadline - now) : 0;
		if (e2e_lms_pump_once(r, left) || left == 0)
			return;
	}
}

size_t e2e_lms_wait_for(struct e2e_lms *r, const char *needle, size_t from,
                        unsigned timeout_ms)
{
	uint64_t deadline = cl_now_ms() + timeout_ms;
	for (;;) {
		const char *hit = from <= r->out_len ? strstr(r->out + from,
		                                              needle)
		                                     : NULL;
		if (hit)
			return (size_t)(hit - r->out);
		uint64_t now = cl_now_ms();
		bool done = r->pid <= 0 && r->out_fd < 0 && r->err_fd < 0;
		if (done)
			fail_msg("%s: \"%s\" not in its output when it ended "
			         "(its output below)", r->cmd, needle);
		if (now >= deadline)
			fail_msg("%s: \"%s\" not in its output within %u ms "
			         "(its output below)", r->cmd, needle,
			         timeout_ms);
		e2e_lms_pump_once(r, (unsigned)(deadline - now));
	}
}

int e2e_lms_finish(struct e2e_lms *r, unsigned timeout_ms)
{
	uint64_t deadline = cl_now_ms() + timeout_ms;
	for (;;) {
		uint64_t now = cl_now_ms();
		if (now >= deadline)
			break;
		if (e2e_lms_pump_once(r, (unsigned)(deadline - now)))
			return r->code;
	}
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		e2e_lms_reap(r, true);
	}
	fail_msg("%s did not end within %u ms (killed; its output below)",
	         r->cmd, timeout_ms);
	return -1;
}

uint64_t e2e_lms_byte_ms(const struct e2e_lms *r, size_t off)
{
	for (size_t i = 0; i < r->n_reads; i++)
		if (off >= r->reads[i].off &&
		    off < r->reads[i].off + r->reads[i].len)
			return r->reads[i].at_ms;
	fail_msg("%s: no read brought byte %zu of %zu", r->cmd, off,
	         r->out_len);
	return 0;
}

size_t e2e_lms_reads_in(const struct e2e_lms *r, size_t from, size_t to)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_reads; i++)
		n += r->reads[i].off < to &&
		     r->reads[i].off + r->reads[i].len > from;
	return n;
}

void e2e_lms_show(const struct e2e_lms *r)
{
	fprintf(stderr, "----- %s: %s %d, %zu reads of stdout -----\n"
	        "--- stdout:\n%s\n--- stderr:\n%s\n-----\n", r->cmd,
	        r->pid > 0 ? "running, pid" : "exit", r->pid > 0 ?
	        (int)r->pid : r->code, r->n_reads, r->out ? r->out : "",
	        r->err ? r->err : "");
}

void e2e_lms_free(struct e2e_lms *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		e2e_lms_reap(r, true);
	}
	if (r->out_fd >= 0)
		close(r->out_fd);
	if (r->err_fd >= 0)
		close(r->err_fd);
	free(r->out);
	free(r->err);
	free(r->reads);
	memset(r, 0, sizeof *r);
}

void e2e_lms_login(struct e2e *e, unsigned s)
{
	assert_true(s < E2E_STUDENTS);
	const char *args[] = {"login", e->stud_name[s], "--password-stdin",
	                      NULL};
	struct e2e_lms *r = e2e_lms_start(e, e->stud_name[s],
	                                  E2E_PASSWORD "\n", args);
	int code = e2e_lms_finish(r, 30000);
	if (code != 0)
		fail_msg("%s: exit %d (its output below)", r->cmd, code);
	e2e_lms_free(r);
}

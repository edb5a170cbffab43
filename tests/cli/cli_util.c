/*
 * cli_util.c -- see cli_util.h.
 */
#include "cli_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "isotime.h"
#include "util.h"

#ifndef LMS_CLI_PATH
#error "LMS_CLI_PATH must name the lms binary"
#endif

#define CT_RUN_TIMEOUT_MS 90000

static struct ct ct_static;
static int wait_exit(pid_t pid, unsigned timeout_ms);

static const char *source_dir(void)
{
	const char *env = getenv("LMS_SOURCE_DIR");
	return env && *env ? env : LMS_SOURCE_DIR;
}

/* ------------------------------------------------------------ files */

const char *ct_home(struct ct *t, const char *who)
{
	static char ring[4][256];
	static unsigned n;
	char *p = ring[n++ % 4];
	snprintf(p, sizeof ring[0], "%s/%s", t->dir, who);
	mkdir(p, 0755);
	return p;
}

const char *ct_session(struct ct *t, const char *who)
{
	static char buf[320];
	snprintf(buf, sizeof buf, "%s/config/lms/session", ct_home(t, who));
	return buf;
}

void ct_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	if (len && fwrite(data, 1, len, f) != len)
		fail_msg("cannot write %s", path);
	fclose(f);
}

uint8_t *ct_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap + 1);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

void ct_same_file(const char *a, const char *b)
{
	size_t la, lb;
	uint8_t *x = ct_read_file(a, &la), *y = ct_read_file(b, &lb);
	if (!x || !y)
		fail_msg("cannot read %s or %s", a, b);
	if (la != lb || memcmp(x, y, la) != 0)
		fail_msg("%s (%zu bytes) and %s (%zu bytes) differ", a, la, b,
		         lb);
	free(x);
	free(y);
}

void ct_random_file(const char *path, size_t len, unsigned seed)
{
	uint8_t *buf = malloc(len ? len : 1);
	uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	for (size_t i = 0; i < len; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		buf[i] = (uint8_t)(s >> 24);
	}
	ct_write_file(path, buf, len);
	free(buf);
}

char *ct_iso_in(int64_t offset_s, char *buf)
{
	return lms_iso_format(lms_wall_ms() + offset_s * 1000, buf,
	                      LMS_ISO_MAX);
}

/* ------------------------------------------------------------ running */

static void res_clear(struct ct_res *r)
{
	free(r->out);
	free(r->err);
	json_decref(r->json);
	memset(r, 0, sizeof *r);
}

static void describe(const char *const *args, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; args[i] && o + 1 < len; i++) {
		int w = snprintf(buf + o, len - o, "%s%s", i ? " " : "lms ",
		                 args[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* The environment of a call: fixed entries, overridden by extra. */
static char **make_env(struct ct *t, const char *who, const char *const *extra)
{
	static char store[16][600];
	static char *envp[32];
	int n = 0;
	const char *home = ct_home(t, who);
	snprintf(store[n], sizeof store[0], "HOME=%s", home), n++;
	snprintf(store[n], sizeof store[0], "XDG_CONFIG_HOME=%s/config", home),
		n++;
	snprintf(store[n], sizeof store[0], "LMS_NODES=%s", t->nodes), n++;
	snprintf(store[n], sizeof store[0], "TZ=%s", t->tz ? t->tz : "UTC"),
		n++;
	snprintf(store[n], sizeof store[0], "PATH=/usr/bin:/bin"), n++;
	snprintf(store[n], sizeof store[0], "LANG=C"), n++;
	int fixed = n;
	for (int i = 0; i < n; i++)
		envp[i] = store[i];
	for (size_t k = 0; extra && extra[k]; k++) {
		const char *eq = strchr(extra[k], '=');
		size_t klen = eq ? (size_t)(eq - extra[k]) + 1 : strlen(extra[k]);
		bool replaced = false;
		for (int i = 0; i < fixed; i++)
			if (strncmp(envp[i], extra[k], klen) == 0) {
				envp[i] = (char *)extra[k];
				replaced = true;
			}
		if (!replaced && n < 31)
			envp[n++] = (char *)extra[k];
	}
	envp[n] = NULL;
	return envp;
}

static pid_t spawn(struct ct *t, const char *who, const char *in_path,
                   const char *out_path, const char *err_path,
                   const char *const *env, const char *const *args)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = LMS_CLI_PATH;
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char **envp = make_env(t, who, env);
	const char *home = ct_home(t, who);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || out < 0 || err < 0 || chdir(home) != 0)
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		syscall(SYS_close_range, 3u, ~0u, 0u);
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(argv[0], (char *const *)argv, envp);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

pid_t ct_spawn_pty(struct ct *t, const char *who, const char *const *args,
                   int *master)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = LMS_CLI_PATH;
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char **envp = make_env(t, who, NULL);
	const char *home = ct_home(t, who);
	fflush(NULL);
	pid_t pid = forkpty(master, NULL, NULL, NULL);
	if (pid < 0)
		fail_msg("forkpty: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (chdir(home) != 0)
			_exit(126);
		syscall(SYS_close_range, 3u, ~0u, 0u);
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	return pid;
}

int ct_wait(pid_t pid, unsigned timeout_ms)
{
	return wait_exit(pid, timeout_ms);
}

static int wait_exit(pid_t pid, unsigned timeout_ms)
{
	uint64_t deadline = cl_now_ms() + timeout_ms;
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -1;
		if (cl_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		cl_sleep_ms(10);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static struct ct_res *collect(struct ct *t, int code, const char *out_path,
                              const char *err_path, const char *cmd)
{
	struct ct_res *r = &t->ring[t->next++ % 4];
	res_clear(r);
	r->code = code;
	r->out = (char *)ct_read_file(out_path, &r->out_len);
	r->err = (char *)ct_read_file(err_path, NULL);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	snprintf(r->cmd, sizeof r->cmd, "%s", cmd);
	if (r->out[0] == '{' || r->out[0] == '[')
		r->json = json_loads(r->out, 0, NULL);
	return r;
}

struct ct_res *ct_run(struct ct *t, const char *who, const char *input,
                      const char *const *env, const char *const *args)
{
	char in[300], out[300], err[300], cmd[512];
	snprintf(in, sizeof in, "%s/.stdin", t->dir);
	snprintf(out, sizeof out, "%s/.stdout", t->dir);
	snprintf(err, sizeof err, "%s/.stderr", t->dir);
	ct_write_file(in, input ? input : "", input ? strlen(input) : 0);
	describe(args, cmd, sizeof cmd);
	pid_t pid = spawn(t, who, in, out, err, env, args);
	int code = wait_exit(pid, CT_RUN_TIMEOUT_MS);
	return collect(t, code, out, err, cmd);
}

pid_t ct_start(struct ct *t, const char *who, const char *const *args,
               char *tag, size_t taglen)
{
	static unsigned seq;
	snprintf(tag, taglen, "%s/.bg%u", t->dir, seq++);
	char out[300], err[300];
	snprintf(out, sizeof out, "%s.out", tag);
	snprintf(err, sizeof err, "%s.err", tag);
	return spawn(t, who, NULL, out, err, NULL, args);
}

struct ct_res *ct_finish(struct ct *t, pid_t pid, const char *tag,
                         unsigned timeout_ms)
{
	char out[300], err[300];
	snprintf(out, sizeof out, "%s.out", tag);
	snprintf(err, sizeof err, "%s.err", tag);
	int code = wait_exit(pid, timeout_ms);
	return collect(t, code, out, err, tag);
}

static void show(const struct ct_res *r);

void ct_code(const struct ct_res *r, int code)
{
	if (r->code != code) {
		show(r);
		fail_msg("%s: exit %d, expected %d (output above)", r->cmd,
		         r->code, code);
	}
}

void ct_ok(const struct ct_res *r)
{
	ct_code(r, 0);
}

void ct_json_error(const struct ct_res *r, int code, const char *err_code)
{
	ct_code(r, code);
	json_t *j = json_loads(r->err, 0, NULL);
	if (!j || !json_is_object(j))
		fail_msg("%s: stderr is not one JSON object: %s", r->cmd, r->err);
	const char *e = json_string_value(json_object_get(j, "error"));
	json_int_t x = json_integer_value(json_object_get(j, "exit_code"));
	if (!e || (err_code && strcmp(e, err_code) != 0) || x != code ||
	    !json_is_string(json_object_get(j, "message")))
		fail_msg("%s: JSON error %s, expected error %s exit_code %d",
		         r->cmd, r->err, err_code ? err_code : "(any)", code);
	json_decref(j);
}

/* cmocka cuts long failure messages: the output goes to stderr first. */
static void show(const struct ct_res *r)
{
	fprintf(stderr, "--- %s: exit %d\n--- stdout:\n%s\n--- stderr:\n%s\n"
	        "---\n", r->cmd, r->code, r->out, r->err);
}

void ct_has(const struct ct_res *r, const char *needle)
{
	if (!strstr(r->out, needle)) {
		show(r);
		fail_msg("%s: \"%s\" not in its output (above)", r->cmd,
		         needle);
	}
}

void ct_has_not(const struct ct_res *r, const char *needle)
{
	if (strstr(r->out, needle)) {
		show(r);
		fail_msg("%s: \"%s\" in its output (above)", r->cmd, needle);
	}
}

/* ------------------------------------------------------------ JSON */

json_t *ct_get(json_t *j, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	json_t *cur = j;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ".", &save); tok;
	     tok = strtok_r(NULL, ".", &save)) {
		char *br = strchr(tok, '[');
		if (br)
			*br = '\0';
		if (*tok) {
			cur = json_is_object(cur) ? json_object_get(cur, tok) : NULL;
			if (!cur)
				fail_msg("JSON has no \"%s\" (path %s): %s", tok,
				         path, json_dumps(j, JSON_COMPACT));
		}
		while (br) {
			size_t idx = strtoul(br + 1, NULL, 10);
			cur = json_is_array(cur) ? json_array_get(cur, idx) : NULL;
			if (!cur)
				fail_msg("JSON has no element %zu (path %s): %s", idx,
				         path, json_dumps(j, JSON_COMPACT));
			br = strchr(br + 1, '[');
		}
	}
	return cur;
}

const char *ct_str(json_t *j, const char *path)
{
	json_t *v = ct_get(j, path);
	if (!json_is_string(v))
		fail_msg("JSON %s is not a string", path);
	return json_string_value(v);
}

int64_t ct_int(json_t *j, const char *path)
{
	json_t *v = ct_get(j, path);
	if (!json_is_integer(v))
		fail_msg("JSON %s is not an integer", path);
	return json_integer_value(v);
}

double ct_num(json_t *j, const char *path)
{
	json_t *v = ct_get(j, path);
	if (!json_is_number(v))
		fail_msg("JSON %s is not a number", path);
	return json_number_value(v);
}

bool ct_bool(json_t *j, const char *path)
{
	json_t *v = ct_get(j, path);
	if (!json_is_boolean(v))
		fail_msg("JSON %s is not a boolean", path);
	return json_is_true(v);
}

size_t ct_len(json_t *j, const char *path)
{
	json_t *v = ct_get(j, path);
	if (!json_is_array(v))
		fail_msg("JSON %s is not an array", path);
	return json_array_size(v);
}

json_t *ct_find(json_t *j, const char *path, const char *key,
                const char *val)
{
	json_t *arr = ct_get(j, path);
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		const char *s = json_string_value(json_object_get(e, key));
		if (s && strcmp(s, val) == 0)
			return e;
	}
	fail_msg("JSON %s has no element with %s = \"%s\": %s", path, key, val,
	         json_dumps(arr, JSON_COMPACT));
	return NULL;
}

/* ------------------------------------------------------------ setup */

void ct_login(struct ct *t, const char *who, const char *user,
              const char *pw)
{
	char input[128];
	snprintf(input, sizeof input, "%s\n", pw ? pw : CT_PW);
	struct ct_res *r = CT_LMS_IN(t, who, input, "login", user,
	                             "--password-stdin");
	ct_ok(r);
}

void ct_user(struct ct *t, const char *name, const char *role)
{
	struct ct_res *r = CT_LMS_IN(t, "admin", CT_PW "\n", "-q", "user",
	                             "create", name, "--role", role,
	                             "--password-stdin");
	ct_ok(r);
	ct_login(t, name, name, NULL);
}

struct ct *ct_begin(struct cluster *cl)
{
	struct ct *t = &ct_static;
	for (int i = 0; i < 4; i++)
		res_clear(&t->ring[i]);
	memset(t, 0, sizeof *t);
	t->cl = cl;
	snprintf(t->dir, sizeof t->dir, "/tmp/lms-clitest-XXXXXX");
	if (!mkdtemp(t->dir))
		fail_msg("mkdtemp: %s", strerror(errno));

	/* lms-migrate and lms-admin below must not pick up a session of
	 * whoever runs the tests */
	char tool[256];
	snprintf(tool, sizeof tool, "%s", ct_home(t, "tool"));
	setenv("HOME", tool, 1);
	setenv("XDG_CONFIG_HOME", tool, 1);
	unsetenv("LMS_TOKEN");

	struct cl_options o = {0};
	o.n_nodes = 5;
	cl_boot(cl, &o);
	cl_wait_leader(cl, NULL, 0, 15000);
	cl_nodes_arg(cl, t->nodes, sizeof t->nodes);

	char dir[4096], out[8192];
	snprintf(dir, sizeof dir, "%s/migrations", source_dir());
	const char *mig[] = {LMS_MIGRATE_PATH, "--nodes", t->nodes, "--dir",
	                     dir, "up", NULL};
	int code = cl_run(mig, out, sizeof out, 60000);
	if (code != 0)
		fail_msg("lms-migrate up: exit %d: %s", code, out);

	char pwfile[300];
	snprintf(pwfile, sizeof pwfile, "%s/admin-password", tool);
	ct_write_file(pwfile, CT_ADMIN_PW "\n", strlen(CT_ADMIN_PW) + 1);
	const char *boot[] = {LMS_ADMIN_PATH, "--nodes", t->nodes, "bootstrap",
	                      "admin", "--password-file", pwfile, NULL};
	code = cl_run(boot, out, sizeof out, 30000);
	if (code != 0)
		fail_msg("lms-admin bootstrap: exit %d: %s", code, out);
	ct_login(t, "admin", "admin", CT_ADMIN_PW);
	return t;
}

void ct_end(struct ct *t)
{
	cl_stop_all(t->cl);
	cl_pass(t->cl);
	if (!getenv("LMS_CLUSTER_KEEP")) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "[cli] could not remove %s\n", t->dir);
	}
	for (int i = 0; i < 4; i++)
		res_clear(&t->ring[i]);
}

/*
 * accounts.c -- cli_accounts: help, usage errors, login / logout /
 * whoami, the session file, LMS_TOKEN, the user commands, paging, the
 * exit codes 2, 3, 4, 6 and 7, cluster status, and a leader killed
 * between two commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_util.h"

/* A local TCP port nobody listens on (bound, then closed). */
static unsigned closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sin;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0)
		fail_msg("cannot find a free port");
	close(fd);
	return ntohs(sin.sin_port);
}

static void help_and_usage(struct ct *t)
{
	struct ct_res *r = CT_LMS(t, "nobody", "--help");
	ct_ok(r);
	ct_has(r, "usage: lms");
	ct_has(r, "gradebook CODE");
	r = CT_LMS(t, "nobody", "assignment", "--help");
	ct_ok(r);
	ct_has(r, "assignment extend ID USER");
	r = CT_LMS(t, "nobody", "assignment", "create", "--help");
	ct_ok(r);
	ct_has(r, "--late-penalty PCT");
	ct_has(r, "--topic T");
	r = CT_LMS(t, "nobody", "--help", "submit");
	ct_ok(r);
	ct_has(r, "usage: lms submit ID [FILE]");

	ct_code(ct_run(t, "nobody", NULL, NULL, (const char *const[]){NULL}),
	        2);
	ct_code(CT_LMS(t, "nobody", "frobnicate"), 2);
	ct_code(CT_LMS(t, "nobody", "assignment"), 2);
	ct_code(CT_LMS(t, "nobody", "course", "create"), 2);
	ct_code(CT_LMS(t, "nobody", "whoami", "--bogus"), 2);
	ct_code(CT_LMS(t, "nobody", "course", "list", "--limit", "x"), 2);
	ct_json_error(CT_LMS(t, "nobody", "--json", "course", "create"), 2,
	              "USAGE");
	ct_json_error(CT_LMS(t, "nobody", "--json", "submit", "abc", "--text",
	                     "x"), 2, "USAGE");
}

static void session_file(struct ct *t)
{
	/* nobody is logged in: 3 without asking the cluster */
	ct_code(CT_LMS(t, "alice", "whoami"), 3);
	ct_json_error(CT_LMS(t, "alice", "--json", "whoami"), 3,
	              "UNAUTHENTICATED");
	/* wrong password: 3 (the cluster says UNAUTHENTICATED) */
	ct_json_error(CT_LMS_IN(t, "alice", "wrong-password\n", "--json",
	                        "login", "admin", "--password-stdin"),
	              3, "UNAUTHENTICATED");
	/* no terminal and no --password-stdin: a usage error, not a hang */
	ct_code(CT_LMS(t, "alice", "login", "admin"), 2);

	struct ct_res *r = CT_LMS_IN(t, "alice", CT_ADMIN_PW "\n", "--json",
	                             "login", "admin", "--password-stdin");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "user.username"), "admin");
	assert_string_equal(ct_str(r->json, "user.role"), "admin");
	assert_string_equal(ct_str(r->json, "session_file"),
	                    ct_session(t, "alice"));
	assert_null(json_object_get(r->json, "token"));

	struct stat st;
	assert_int_equal(stat(ct_session(t, "alice"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char dir[320];
	snprintf(dir, sizeof dir, "%s/config/lms", ct_home(t, "alice"));
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	size_t len;
	char *tok = (char *)ct_read_file(ct_session(t, "alice"), &len);
	assert_int_equal(len, 65);
	assert_int_equal(tok[64], '\n');
	tok[64] = '\0';
	assert_int_equal(strspn(tok, "0123456789abcdef"), 64);

	r = CT_LMS(t, "alice", "--json", "whoami");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "user.username"), "admin");
	assert_string_equal(ct_str(r->json, "user.role"), "admin");
	assert_true(strlen(ct_str(r->json, "expires_at")) > 0);
	r = CT_LMS(t, "alice", "-q", "whoami");
	ct_ok(r);
	assert_string_equal(r->out, "admin\n");

	/* LMS_TOKEN overrides the file: bob has no file but the token */
	char env_tok[100];
	snprintf(env_tok, sizeof env_tok, "LMS_TOKEN=%s", tok);
	const char *env[] = {env_tok, NULL};
	r = CT_LMS_ENV(t, "bob", env, "--json", "whoami");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "user.username"), "admin");
	const char *bad[] = {"LMS_TOKEN=00112233445566778899aabbccddeeff"
	                     "00112233445566778899aabbccddeeff", NULL};
	ct_json_error(CT_LMS_ENV(t, "alice", bad, "--json", "whoami"), 3,
	              "UNAUTHENTICATED");

	/* a damaged session file is reported, not sent */
	snprintf(dir, sizeof dir, "%s/config", ct_home(t, "bob"));
	mkdir(dir, 0700);
	snprintf(dir, sizeof dir, "%s/config/lms", ct_home(t, "bob"));
	mkdir(dir, 0700);
	ct_write_file(ct_session(t, "bob"), "garbage\n", 8);
	ct_code(CT_LMS(t, "bob", "whoami"), 3);

	/* logout revokes and deletes; the token no longer works */
	r = CT_LMS(t, "alice", "--json", "logout");
	ct_ok(r);
	assert_int_equal(ct_int(r->json, "sessions_revoked"), 1);
	assert_int_not_equal(stat(ct_session(t, "alice"), &st), 0);
	ct_code(CT_LMS(t, "alice", "whoami"), 3);
	ct_json_error(CT_LMS_ENV(t, "bob", env, "--json", "whoami"), 3,
	              "UNAUTHENTICATED");
	r = CT_LMS(t, "alice", "logout");
	ct_ok(r);
	ct_has(r, "Not logged in");
	free(tok);
}

static void users(struct ct *t)
{
	struct ct_res *r = CT_LMS_IN(t, "admin", CT_PW "\n", "--json", "user",
	                             "create", "instructor1", "--role",
	                             "instructor", "--display-name",
	                             "Instructor One", "--password-stdin");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "user.username"), "instructor1");
	assert_string_equal(ct_str(r->json, "user.display_name"),
	                    "Instructor One");
	assert_string_equal(ct_str(r->json, "user.role"), "instructor");
	assert_true(ct_int(r->json, "user.id") > 0);
	ct_login(t, "instructor1", "instructor1", NULL);

	r = CT_LMS_IN(t, "admin", CT_PW "\n", "-q", "user", "create",
	              "student1", "--role", "student", "--password-stdin");
	ct_ok(r);
	assert_true(strtoull(r->out, NULL, 10) > 0);
	ct_login(t, "student1", "student1", NULL);
	ct_user(t, "student2", "student");
	ct_user(t, "student3", "student");

	/* refusals: conflict 6, invalid 6, permission 4, usage 2 */
	ct_json_error(CT_LMS_IN(t, "admin", CT_PW "\n", "--json", "user",
	                        "create", "student1", "--role", "student",
	                        "--password-stdin"),
	              6, "CONFLICT");
	ct_json_error(CT_LMS_IN(t, "admin", "short\n", "--json", "user",
	                        "create", "student9", "--role", "student",
	                        "--password-stdin"),
	              6, NULL);
	ct_json_error(CT_LMS_IN(t, "student1", CT_PW "\n", "--json", "user",
	                        "create", "mallory", "--role", "admin",
	                        "--password-stdin"),
	              4, "PERMISSION_DENIED");
	ct_code(CT_LMS(t, "student1", "user", "list"), 4);
	ct_code(CT_LMS_IN(t, "admin", CT_PW "\n", "user", "create", "x1",
	                  "--role", "wizard", "--password-stdin"), 2);

	/* every page: one entry per request, all of them merged */
	const char *pages[] = {"LMS_PAGE_SIZE=1", NULL};
	r = CT_LMS_ENV(t, "admin", pages, "--json", "user", "list");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "users"), 5);
	ct_find(r->json, "users", "username", "admin");
	json_t *s2 = ct_find(r->json, "users", "username", "student2");
	assert_string_equal(json_string_value(json_object_get(s2, "role")),
	                    "student");
	r = CT_LMS(t, "admin", "--json", "user", "list", "--limit", "2");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "users"), 2);
	r = CT_LMS_ENV(t, "admin", pages, "--json", "user", "list", "--limit",
	               "3");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "users"), 3);
	r = CT_LMS(t, "admin", "user", "list");
	ct_ok(r);
	ct_has(r, "USERNAME");
	ct_has(r, "Instructor One");

	/* own password: old + new; the user stays logged in */
	r = CT_LMS_IN(t, "student1", CT_PW "\nnewpass1\n", "--json", "user",
	              "passwd", "--password-stdin");
	ct_ok(r);
	assert_true(ct_bool(r->json, "logged_in_again"));
	assert_true(ct_int(r->json, "sessions_revoked") >= 1);
	r = CT_LMS(t, "student1", "--json", "whoami");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "user.username"), "student1");
	ct_code(CT_LMS_IN(t, "other", CT_PW "\n", "login", "student1",
	                  "--password-stdin"), 3);
	ct_login(t, "other", "student1", "newpass1");
	/* wrong old password: 3 */
	ct_code(CT_LMS_IN(t, "student2", "nope-nope\nnewpass2\n", "user",
	                  "passwd", "--password-stdin"), 3);
	/* a student may not set another's: 4; an admin may */
	ct_code(CT_LMS_IN(t, "student2", "newpass2\n", "user", "passwd",
	                  "student3", "--password-stdin"), 4);
	r = CT_LMS_IN(t, "admin", "newpass3\n", "--json", "user", "passwd",
	              "student3", "--password-stdin");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "username"), "student3");
	ct_code(CT_LMS(t, "student3", "whoami"), 3); /* revoked */
	ct_login(t, "student3", "student3", "newpass3");
}

static void unavailable(struct ct *t)
{
	char nodes[64];
	snprintf(nodes, sizeof nodes, "LMS_NODES=127.0.0.1:%u", closed_port());
	const char *env[] = {nodes, NULL};
	uint64_t t0 = cl_now_ms();
	ct_json_error(CT_LMS_ENV(t, "admin", env, "--json", "whoami"), 7,
	              "UNAVAILABLE");
	ct_json_error(CT_LMS_ENV(t, "admin", env, "--json", "course", "create",
	                         "X1", "--title", "x"),
	              7, "UNAVAILABLE");
	ct_code(CT_LMS_ENV(t, "admin", env, "cluster", "status"), 7);
	/* refused connections end the wait early */
	assert_true(cl_now_ms() - t0 < 20000);
	/* --nodes wins over LMS_NODES */
	struct ct_res *r = CT_LMS_ENV(t, "admin", env, "--nodes", t->nodes,
	                              "-q", "whoami");
	ct_ok(r);
	/* a bad node list is a usage error */
	ct_code(CT_LMS(t, "admin", "--nodes", "nonsense", "whoami"), 2);
}

static void status_and_failover(struct ct *t)
{
	struct ct_res *r = CT_LMS(t, "admin", "--json", "cluster", "status");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "nodes"), 5);
	assert_int_equal(ct_int(r->json, "up"), 5);
	unsigned leaders = 0;
	for (size_t i = 0; i < 5; i++) {
		char p[32];
		snprintf(p, sizeof p, "nodes[%zu].role", i);
		leaders += strcmp(ct_str(r->json, p), "leader") == 0;
	}
	assert_int_equal(leaders, 1);
	r = CT_LMS(t, "admin", "cluster", "status");
	ct_ok(r);
	ct_has(r, "leader");

	/* the leader dies between two commands: the next one works */
	unsigned leader = cl_wait_leader(t->cl, NULL, 0, 10000);
	cl_kill(t->cl, leader);
	r = CT_LMS(t, "admin", "--json", "whoami");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "user.username"), "admin");
	r = CT_LMS(t, "instructor1", "--json", "course", "create", "FAIL1",
	           "--title", "After the failover");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "course.code"), "FAIL1");
	r = CT_LMS(t, "admin", "--json", "cluster", "status");
	ct_ok(r);
	assert_int_equal(ct_int(r->json, "up"), 4);
	cl_start(t->cl, leader);
}

void cli_accounts(void **state)
{
	struct ct *t = ct_begin(*state);
	help_and_usage(t);
	session_file(t);
	users(t);
	unavailable(t);
	status_and_failover(t);
	ct_end(t);
}

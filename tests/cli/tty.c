/*
 * tty.c -- cli_tty: the paths of lms that only a terminal takes, under a
 * pseudo-terminal (forkpty), the way a person would see them:
 *
 *   - `lms login USER` asks for the password on the terminal with echo
 *     off: the password never appears in what the terminal shows, and
 *     the session works afterwards;
 *   - a mismatched password typed twice for `user create` is refused;
 *   - a 2 MiB upload and download draw a progress bar on the terminal
 *     (and the same commands without a terminal draw none: see
 *     materials.c), and the downloaded file is byte-identical;
 *   - `lms menu` logs in on the terminal without echoing the password.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_util.h"

/* A conversation: wait for `expect` in the output, then send `send`. */
struct step {
	const char *expect;
	const char *send;
};

/* Runs lms on a pty through the steps; the whole output (what the
 * terminal showed) into out; returns the exit status. */
static int pty_run(struct ct *t, const char *who, const char *const *args,
                   const struct step *steps, char *out, size_t cap)
{
	int master;
	pid_t pid = ct_spawn_pty(t, who, args, &master);
	size_t got = 0, step = 0, seen = 0;
	out[0] = '\0';
	uint64_t deadline = cl_now_ms() + 90000;
	for (;;) {
		if (steps && steps[step].expect &&
		    strstr(out + seen, steps[step].expect)) {
			seen = (size_t)(strstr(out + seen, steps[step].expect) - out) +
			       strlen(steps[step].expect);
			const char *s = steps[step].send;
			if (write(master, s, strlen(s)) != (ssize_t)strlen(s))
				fail_msg("cannot write to the pty");
			step++;
		}
		if (cl_now_ms() > deadline)
			fail_msg("pty session timed out; so far:\n%s", out);
		struct pollfd p = {master, POLLIN, 0};
		int n = poll(&p, 1, 200);
		if (n <= 0)
			continue;
		char buf[4096];
		ssize_t r = read(master, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* EIO: the child closed the terminal */
		size_t k = (size_t)r < cap - 1 - got ? (size_t)r : cap - 1 - got;
		memcpy(out + got, buf, k);
		got += k;
		out[got] = '\0';
	}
	close(master);
	if (steps && steps[step].expect)
		fail_msg("pty session ended before \"%s\":\n%s",
		         steps[step].expect, out);
	return ct_wait(pid, 30000);
}

void cli_tty(void **state)
{
	struct ct *t = ct_begin(*state);
	ct_user(t, "instructor1", "instructor");
	ct_user(t, "student1", "student");
	ct_ok(CT_LMS(t, "instructor1", "course", "create", "CS101", "--title",
	             "Distributed Systems"));
	ct_ok(CT_LMS(t, "instructor1", "course", "enroll", "CS101",
	             "student1"));
	size_t cap = 1 << 20;
	char *out = malloc(cap);

	/* the password prompt: no echo */
	const char *login[] = {"login", "student1", NULL};
	const struct step pw[] = {{"Password for student1: ", CT_PW "\n"},
	                          {NULL, NULL}};
	int code = pty_run(t, "tty-s", login, pw, out, cap);
	if (code != 0)
		fail_msg("login on a terminal: exit %d:\n%s", code, out);
	if (strstr(out, CT_PW))
		fail_msg("the password was echoed:\n%s", out);
	assert_non_null(strstr(out, "Logged in as student1"));
	struct ct_res *r = CT_LMS(t, "tty-s", "-q", "whoami");
	ct_ok(r);
	assert_string_equal(r->out, "student1\n");

	/* a new password typed twice, differently */
	const char *create[] = {"user", "create", "student7", "--role",
	                        "student", NULL};
	const struct step twice[] = {{"Password for the new user student7: ",
	                              "first-pw-1\n"},
	                             {"Repeat it: ", "second-pw-2\n"},
	                             {NULL, NULL}};
	/* as admin: home "admin" holds the admin session */
	code = pty_run(t, "admin", create, twice, out, cap);
	assert_int_equal(code, 2);
	assert_non_null(strstr(out, "do not match"));
	assert_null(strstr(out, "first-pw-1"));

	/* progress bars: upload and download of 2 MiB on a terminal */
	char big[300];
	snprintf(big, sizeof big, "%s/big.txt", ct_home(t, "instructor1"));
	size_t len = 2u << 20;
	char *text = malloc(len);
	for (size_t i = 0; i < len; i++)
		text[i] = (i % 80 == 79) ? '\n' : (char)('a' + (i * 13) % 26);
	ct_write_file(big, text, len);
	free(text);
	const char *up[] = {"material", "upload", "CS101", "big.txt", NULL};
	code = pty_run(t, "instructor1", up, NULL, out, cap);
	if (code != 0)
		fail_msg("upload on a terminal: exit %d:\n%s", code, out);
	assert_non_null(strstr(out, "reading big.txt"));
	assert_non_null(strstr(out, "100%"));
	assert_non_null(strstr(out, "[###"));
	r = CT_LMS(t, "student1", "--json", "material", "list", "CS101");
	ct_ok(r);
	char id[24];
	snprintf(id, sizeof id, "%lld",
	         (long long)ct_int(r->json, "materials[0].id"));
	const char *down[] = {"material", "get", id, "-o", "copy.txt", NULL};
	code = pty_run(t, "tty-s", down, NULL, out, cap);
	if (code != 0)
		fail_msg("download on a terminal: exit %d:\n%s", code, out);
	assert_non_null(strstr(out, "writing copy.txt"));
	assert_non_null(strstr(out, "100%"));
	char copy[300];
	snprintf(copy, sizeof copy, "%s/copy.txt", ct_home(t, "tty-s"));
	ct_same_file(big, copy);
	/* a small file: no bar */
	char small[300];
	snprintf(small, sizeof small, "%s/small.txt",
	         ct_home(t, "instructor1"));
	ct_write_file(small, "tiny\n", 5);
	const char *up2[] = {"material", "upload", "CS101", "small.txt", NULL};
	code = pty_run(t, "instructor1", up2, NULL, out, cap);
	assert_int_equal(code, 0);
	assert_null(strstr(out, "[#"));

	/* the menu on a terminal: login without echo, then quit */
	const char *menu[] = {"menu", NULL};
	const struct step steps[] = {{"Username: ", "student1\n"},
	                             {"Password for student1: ", CT_PW "\n"},
	                             {"Choice: ", "1\n"},
	                             {"Choice: ", "q\n"},
	                             {NULL, NULL}};
	code = pty_run(t, "tty-m", menu, steps, out, cap);
	if (code != 0)
		fail_msg("menu on a terminal: exit %d:\n%s", code, out);
	if (strstr(out, CT_PW))
		fail_msg("the menu echoed the password:\n%s", out);
	assert_non_null(strstr(out, "Student menu (student1)"));
	assert_non_null(strstr(out, "CS101"));
	free(out);
	ct_end(t);
}

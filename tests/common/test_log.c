/*
 * test_log.c -- unit tests of common/log.c.
 *
 * Why: operators merge and grep the logs of five nodes by their fixed line
 * format, and the level check must come before argument evaluation. The
 * tests capture what the logger writes to fd 2.
 *
 * Fixture: setup points fd 2 at a fresh temporary file (the original fd 2
 * is kept in the state and restored by teardown, which also deletes the
 * file), so each test reads back exactly the lines it caused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

struct capture {
	int saved_stderr;
	int fd;
	char path[64];
	char text[3 * LMS_LOG_LINE_MAX];
};

static int capture_setup(void **state)
{
	struct capture *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	snprintf(c->path, sizeof(c->path), "/tmp/lms_test_log.XXXXXX");
	c->fd = mkstemp(c->path);
	if (c->fd < 0) {
		free(c);
		return -1;
	}
	c->saved_stderr = dup(STDERR_FILENO);
	if (c->saved_stderr < 0 || dup2(c->fd, STDERR_FILENO) < 0) {
		close(c->fd);
		unlink(c->path);
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int capture_teardown(void **state)
{
	struct capture *c = *state;

	dup2(c->saved_stderr, STDERR_FILENO);
	close(c->saved_stderr);
	close(c->fd);
	unlink(c->path);
	free(c);
	lms_log_init("lms", 0, LMS_LOG_INFO);
	return 0;
}

/* Everything written so far, NUL-terminated, in c->text. */
static const char *captured(struct capture *c)
{
	ssize_t n = pread(c->fd, c->text, sizeof(c->text) - 1, 0);

	assert_true(n >= 0);
	c->text[n] = '\0';
	return c->text;
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;
	int rv;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	rv = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	if (rv != 0)
		fail_msg("\"%s\" does not match /%s/", text, pattern);
}

#define TS "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static void test_line_format(void **state)
{
	struct capture *c = *state;

	lms_log_init("lmsd", 3, LMS_LOG_DEBUG);
	LMS_INFO("elected leader for term %d", 7);
	LMS_DEBUG("plain");
	LMS_WARN("w");
	LMS_ERROR("e");
	assert_matches(captured(c),
		       "^" TS " node=3 lmsd INFO elected leader for term 7\n"
		       TS " node=3 lmsd DEBUG plain\n"
		       TS " node=3 lmsd WARN w\n"
		       TS " node=3 lmsd ERROR e\n$");
}

static void test_no_node(void **state)
{
	struct capture *c = *state;

	lms_log_init("lms", 0, LMS_LOG_INFO);
	LMS_INFO("hi");
	assert_matches(captured(c), "^" TS " node=- lms INFO hi\n$");
}

static int evaluations;

static int count_evaluation(void)
{
	return ++evaluations;
}

static void test_level_checked_before_arguments(void **state)
{
	struct capture *c = *state;

	evaluations = 0;
	lms_log_init("lmsd", 1, LMS_LOG_WARN);
	LMS_DEBUG("%d", count_evaluation());
	LMS_INFO("%d", count_evaluation());
	assert_int_equal(evaluations, 0);
	assert_string_equal(captured(c), "");

	LMS_WARN("n=%d", count_evaluation());
	LMS_ERROR("n=%d", count_evaluation());
	assert_int_equal(evaluations, 2);
	assert_matches(captured(c), "^" TS " node=1 lmsd WARN n=1\n"
		       TS " node=1 lmsd ERROR n=2\n$");

	lms_log_set_level(LMS_LOG_ERROR);
	assert_int_equal(lms_log_get_level(), LMS_LOG_ERROR);
	assert_false(lms_log_enabled(LMS_LOG_WARN));
	assert_true(lms_log_enabled(LMS_LOG_ERROR));
}

static void test_one_line_per_record(void **state)
{
	struct capture *c = *state;

	lms_log_init("lmsd", 2, LMS_LOG_INFO);
	LMS_INFO("two\nlines\tand a tab\r");
	assert_matches(captured(c),
		       "^" TS " node=2 lmsd INFO two lines and a tab \n$");
}

static void test_long_message_is_cut(void **state)
{
	struct capture *c = *state;
	static char big[2 * LMS_LOG_LINE_MAX];
	const char *text;

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* A 3-byte character straddling the cut must not be split. */
	memcpy(big + LMS_LOG_LINE_MAX - 80, "\xE2\x82\xAC\xE2\x82\xAC", 6);
	lms_log_init("lmsd", 2, LMS_LOG_INFO);
	LMS_INFO("%s", big);
	text = captured(c);
	assert_int_equal(strlen(text), LMS_LOG_LINE_MAX);
	assert_string_equal(text + LMS_LOG_LINE_MAX - 4, "...\n");
	assert_ptr_equal(strchr(text, '\n'), text + LMS_LOG_LINE_MAX - 1);

	/* Move the euro signs onto the cut: the line ends before them. */
	assert_int_equal(ftruncate(c->fd, 0), 0);
	assert_int_equal(lseek(c->fd, 0, SEEK_SET), 0); /* shared with fd 2 */
	memset(big, 'z', sizeof(big) - 1);
	for (size_t i = 0; i < 40; i++)
		memcpy(big + LMS_LOG_LINE_MAX - 100 + 3 * i, "\xE2\x82\xAC", 3);
	LMS_INFO("%s", big);
	text = captured(c);
	assert_true(strlen(text) <= LMS_LOG_LINE_MAX);
	assert_string_equal(text + strlen(text) - 4, "...\n");
	/* What precedes "..." ends with a whole euro sign. */
	assert_memory_equal(text + strlen(text) - 7, "\xE2\x82\xAC", 3);
}

static void test_errno_preserved(void **state)
{
	struct capture *c = *state;

	lms_log_init("lmsd", 4, LMS_LOG_INFO);
	errno = ENOENT;
	LMS_INFO("could not open file \"%s\": %s", "x", strerror(errno));
	assert_int_equal(errno, ENOENT);
	assert_matches(captured(c), "No such file or directory\n$");
}

static void test_level_parse(void **state)
{
	static const struct {
		const char *s;
		enum lms_log_level level;
	} good[] = {
		{ "debug", LMS_LOG_DEBUG },
		{ "info", LMS_LOG_INFO },
		{ "warn", LMS_LOG_WARN },
		{ "error", LMS_LOG_ERROR },
	};
	static const char *const bad[] = { "INFO", "verbose", "", "warning",
					   "info " };
	enum lms_log_level l = LMS_LOG_ERROR;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(lms_log_level_parse(good[i].s, &l), 0);
		assert_int_equal(l, good[i].level);
	}
	l = LMS_LOG_WARN;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(lms_log_level_parse(bad[i], &l), -EINVAL);
	assert_int_equal(lms_log_level_parse(NULL, &l), -EINVAL);
	assert_int_equal(l, LMS_LOG_WARN);
	assert_string_equal(lms_log_level_name(LMS_LOG_DEBUG), "DEBUG");
	assert_string_equal(lms_log_level_name((enum lms_log_level)42), "?");
}

/*
 * Four processes log long lines into one pipe at once. Because each record
 * is a single write(2) of at most PIPE_BUF bytes, every line read back must
 * be whole: all its payload characters belong to the node in its prefix.
 */
#define WRITERS 4
#define LINES_EACH 200
#define PAYLOAD 2000

static void test_concurrent_writers_do_not_interleave(void **state)
{
	int fds[2];
	pid_t pids[WRITERS];
	static char all[WRITERS * LINES_EACH * (PAYLOAD + 64)];
	size_t len = 0;
	unsigned lines[WRITERS] = { 0 };

	assert_int_equal(pipe(fds), 0);
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			char payload[PAYLOAD + 1];

			close(fds[0]);
			dup2(fds[1], STDERR_FILENO);
			memset(payload, 'a' + w, PAYLOAD);
			payload[PAYLOAD] = '\0';
			lms_log_init("w", (unsigned)w + 1, LMS_LOG_INFO);
			for (int i = 0; i < LINES_EACH; i++)
				LMS_INFO("%s", payload);
			_exit(0);
		}
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], all + len, sizeof(all) - 1 - len);

		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	all[len] = '\0';
	for (int w = 0; w < WRITERS; w++) {
		int status;

		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	for (char *line = all, *nl; *line != '\0'; line = nl + 1) {
		unsigned node;
		char *text;

		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		text = strstr(line, " w INFO ");
		assert_non_null(text);
		assert_int_equal(sscanf(strstr(line, "node="), "node=%u", &node),
				 1);
		assert_true(node >= 1 && node <= WRITERS);
		text += strlen(" w INFO ");
		assert_int_equal(strlen(text), PAYLOAD);
		assert_int_equal(strspn(text, (char[]){ (char)('a' + node - 1),
							 '\0' }), PAYLOAD);
		lines[node - 1]++;
	}
	for (int w = 0; w < WRITERS; w++)
		assert_int_equal(lines[w], LINES_EACH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define CT(f) cmocka_unit_test_setup_teardown(f, capture_setup, capture_teardown)
		CT(test_line_format),
		CT(test_no_node),
		CT(test_level_checked_before_arguments),
		CT(test_one_line_per_record),
		CT(test_long_message_is_cut),
		CT(test_errno_preserved),
#undef CT
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_concurrent_writers_do_not_interleave),
	};

	return cmocka_run_group_tests_name("common_log", tests, NULL, NULL);
}

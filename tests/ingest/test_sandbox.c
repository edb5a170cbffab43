/*
 * test_sandbox.c -- the extractor child's limits: wall clock, CPU time,
 * memory, and what the parent is left with afterwards.
 *
 * Why: the point of the child process is that a hostile PDF costs the
 * daemon nothing. The fixture is a form bomb (fixtures.h): a few hundred
 * bytes on which poppler spends exponential time and ever more memory, so
 * each limit is reached quickly and for real, not simulated. After every
 * test the process must have no child left (no zombie) and no descriptor
 * more than before. The memory test is skipped under AddressSanitizer,
 * where ingest does not set RLIMIT_AS (see sandbox.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fixtures.h"
#include "ingest.h"
#include "log.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

/* Deep enough that poppler would never finish (2^29 form draws). */
#define BOMB_DEPTH 30

struct bomb {
	unsigned char *pdf;
	size_t len;
	int fds; /* open descriptors before the test */
};

static int setup_bomb(void **state)
{
	struct bomb *b = calloc(1, sizeof *b);

	if (b == NULL)
		return -1;
	b->pdf = fx_bomb_pdf(BOMB_DEPTH, &b->len);
	b->fds = fx_count_fds();
	*state = b;
	return 0;
}

/* Every child reaped, every descriptor closed. */
static void assert_nothing_left(const struct bomb *b)
{
	int status;

	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(fx_count_fds(), b->fds);
}

static int teardown_bomb(void **state)
{
	struct bomb *b = *state;

	free(b->pdf);
	free(b);
	return 0;
}

static void test_wall_timeout(void **state)
{
	struct bomb *b = *state;
	struct ingest_limits lim = { .wall_ms = 300 };
	struct ingest_result r;
	uint64_t t0 = lms_now_ms(), took;
	char err[256];

	assert_int_equal(ingest_extract(b->pdf, b->len, "bomb.pdf", &lim, &r,
					err, sizeof err), INGEST_ERR_TIMEOUT);
	took = lms_now_ms() - t0;
	assert_string_equal(err,
		"could not extract text from \"bomb.pdf\": extraction took "
		"longer than 300 ms");
	assert_true(took >= 300);
	assert_true(took < 2000);
	assert_null(r.pages);
	assert_nothing_left(b);
}

static void test_cpu_limit(void **state)
{
	struct bomb *b = *state;
	struct ingest_limits lim = { .cpu_seconds = 1, .wall_ms = 20000 };
	struct ingest_result r;
	char err[256];

	assert_int_equal(ingest_extract(b->pdf, b->len, "bomb.pdf", &lim, &r,
					err, sizeof err), INGEST_ERR_CPU);
	assert_string_equal(err,
		"could not extract text from \"bomb.pdf\": extraction used more "
		"than 1 s of CPU time");
	assert_nothing_left(b);
}

static void test_memory_limit(void **state)
{
	struct bomb *b = *state;
	struct ingest_limits lim = {
		.memory_bytes = 32 << 20, .cpu_seconds = 10, .wall_ms = 20000,
	};
	struct ingest_result r;
	uint64_t t0 = lms_now_ms();
	char err[256];

	if (TEST_ASAN) {
		print_message("AddressSanitizer build: RLIMIT_AS is not set, "
			      "skipping the memory limit test\n");
		skip();
	}
	assert_int_equal(ingest_extract(b->pdf, b->len, "bomb.pdf", &lim, &r,
					err, sizeof err), INGEST_ERR_MEMORY);
	assert_string_equal(err,
		"could not extract text from \"bomb.pdf\": extraction exceeded "
		"the memory limit");
	print_message("memory limit reached after %llu ms\n",
		      (unsigned long long)(lms_now_ms() - t0));
	assert_nothing_left(b);
}

static void test_parent_unharmed(void **state)
{
	static const char *const pages[] = { "still working" };
	struct bomb *b = *state;
	struct ingest_limits lim = { .wall_ms = 100 };
	struct ingest_result r;
	unsigned char *pdf;
	size_t len;
	char err[256];

	/*
	 * A parent that ignores SIGPIPE and blocks SIGXCPU (as a daemon might)
	 * keeps its settings, and the next upload after a killed one works.
	 */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old, now;
	sigset_t block, oldmask, mask;

	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	sigemptyset(&block);
	sigaddset(&block, SIGXCPU);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &oldmask), 0);

	assert_int_equal(ingest_extract(b->pdf, b->len, "bomb.pdf", &lim, &r,
					err, sizeof err), INGEST_ERR_TIMEOUT);
	pdf = fx_text_pdf(pages, 1, &len);
	assert_int_equal(ingest_extract(pdf, len, "ok.pdf", NULL, &r, err,
					sizeof err), 0);
	assert_non_null(strstr(r.pages[0].text, "still working"));
	ingest_result_free(&r);
	free(pdf);

	assert_int_equal(sigaction(SIGPIPE, NULL, &now), 0);
	assert_true(now.sa_handler == SIG_IGN);
	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &mask), 0);
	assert_true(sigismember(&mask, SIGXCPU));
	assert_int_equal(sigprocmask(SIG_SETMASK, &oldmask, NULL), 0);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
	assert_nothing_left(b);
}

static int group_teardown(void **state)
{
	fx_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wall_timeout, setup_bomb,
						teardown_bomb),
		cmocka_unit_test_setup_teardown(test_cpu_limit, setup_bomb,
						teardown_bomb),
		cmocka_unit_test_setup_teardown(test_memory_limit, setup_bomb,
						teardown_bomb),
		cmocka_unit_test_setup_teardown(test_parent_unharmed,
						setup_bomb, teardown_bomb),
	};

	lms_log_init("test_ingest_sandbox", 0, LMS_LOG_WARN);
	return cmocka_run_group_tests_name("ingest_sandbox", tests, NULL,
					   group_teardown);
}

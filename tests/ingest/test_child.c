/*
 * test_child.c -- the sandbox with a scripted child in place of poppler.
 *
 * Why: a real PDF cannot be made to crash poppler on demand, hang after
 * closing its pipe, or report what its process looks like from inside. The
 * test binary is linked with -Wl,--wrap=ingest_child_run, so sandbox.c
 * forks and sets up the child exactly as in production and then calls
 * __wrap_ingest_child_run() below, which does what child_mode says. That
 * covers: the sandbox as seen from inside (descriptors closed, stdio on
 * /dev/null, rlimits, signals, priority, prctl flags); a crash; an
 * allocation failure; a non-zero exit; output that stops early or is
 * garbage; a child that closes its pipe and hangs; a child that hangs
 * silently; and a child whose pipe is held open by a grandchild after it
 * exited (the parent must notice the exit, not wait for EOF).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixtures.h"
#include "ingest.h"
#include "ingest_internal.h"
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

enum child_mode {
	MODE_INSPECT,     /* report the sandbox as one page of text */
	MODE_SEGV,        /* crash */
	MODE_ABORT_NOMEM, /* abort() right after an allocation failed */
	MODE_EXIT_9,      /* exit with status 9, no output */
	MODE_EARLY_EXIT,  /* page count and one of two pages, then exit 0 */
	MODE_GARBAGE,     /* bytes that are not frames */
	MODE_CLOSE_HANG,  /* close the pipe, then never exit */
	MODE_HANG,        /* never write, never exit */
	MODE_HELD_PIPE,   /* a grandchild keeps the pipe; the child exits */
};

/* Set by the test before ingest_extract(); the forked child reads it. */
static enum child_mode child_mode;
/* The parent's priority, for the child to compare with its own. */
static int parent_nice;

void __wrap_ingest_child_run(int fd, const void *data, size_t len,
			     size_t max_pages, size_t max_text_bytes);

/* Describe the sandbox from inside (see test_inspect for the checks). */
static void child_inspect(int fd, char *out, size_t outlen)
{
	struct rlimit cpu, as, fsize, core;
	struct stat devnull, st;
	struct sigaction pipe_sa;
	sigset_t mask;
	int open_fds = 0, null_stdio = 0, pdeath = 0;

	for (int i = 3; i < 1024; i++) {
		if (i != fd && fcntl(i, F_GETFD) != -1)
			open_fds++;
	}
	stat("/dev/null", &devnull);
	for (int i = 0; i <= 2; i++) {
		if (fstat(i, &st) == 0 && st.st_rdev == devnull.st_rdev &&
		    S_ISCHR(st.st_mode))
			null_stdio++;
	}
	getrlimit(RLIMIT_CPU, &cpu);
	getrlimit(RLIMIT_AS, &as);
	getrlimit(RLIMIT_FSIZE, &fsize);
	getrlimit(RLIMIT_CORE, &core);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	sigaction(SIGPIPE, NULL, &pipe_sa);
	prctl(PR_GET_PDEATHSIG, &pdeath);
	errno = 0;
	snprintf(out, outlen,
		 "fd=%d other_fds=%d null_stdio=%d cpu=%lu/%lu as_limited=%d "
		 "fsize=%lu core=%lu blocked_xcpu=%d sigpipe_default=%d "
		 "nnp=%d pdeathsig=%d nicer=%d",
		 fd, open_fds, null_stdio, (unsigned long)cpu.rlim_cur,
		 (unsigned long)cpu.rlim_max, as.rlim_cur != RLIM_INFINITY,
		 (unsigned long)fsize.rlim_cur, (unsigned long)core.rlim_cur,
		 sigismember(&mask, SIGXCPU),
		 pipe_sa.sa_handler == SIG_DFL,
		 prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), pdeath,
		 getpriority(PRIO_PROCESS, 0) > parent_nice);
}

void __wrap_ingest_child_run(int fd, const void *data, size_t len,
			     size_t max_pages, size_t max_text_bytes)
{
	char text[512];

	switch (child_mode) {
	case MODE_INSPECT:
		child_inspect(fd, text, sizeof text);
		ingest_frame_write(fd, INGEST_TAG_PAGES, 1, NULL, 0);
		ingest_frame_write(fd, INGEST_TAG_PAGE, 0, text, strlen(text));
		ingest_frame_write(fd, INGEST_TAG_DONE, 1, NULL, 0);
		_exit(0);
	case MODE_SEGV:
		errno = 0;
		raise(SIGSEGV);
		_exit(1);
	case MODE_ABORT_NOMEM:
		errno = ENOMEM; /* as malloc leaves it before g_error/abort */
		abort();
	case MODE_EXIT_9:
		_exit(9);
	case MODE_EARLY_EXIT:
		ingest_frame_write(fd, INGEST_TAG_PAGES, 2, NULL, 0);
		ingest_frame_write(fd, INGEST_TAG_PAGE, 0, "one", 3);
		_exit(0);
	case MODE_GARBAGE:
		if (write(fd, "hello, parent", 13) < 0)
			_exit(1);
		pause();
		_exit(0);
	case MODE_CLOSE_HANG:
		close(fd);
		for (;;)
			pause();
	case MODE_HANG:
		for (;;)
			pause();
	case MODE_HELD_PIPE:
		if (fork() == 0) {
			sleep(1); /* holds fd, outlives its parent */
			_exit(0);
		}
		_exit(0);
	}
	_exit(1);
}

/* Run the scripted child; a minimal PDF header is enough to get there. */
static int run(enum child_mode mode, const struct ingest_limits *lim,
	       struct ingest_result *r, char *err, size_t errlen)
{
	static const char pdf[] = "%PDF-1.4\n";

	child_mode = mode;
	return ingest_extract(pdf, sizeof pdf - 1, "x.pdf", lim, r, err,
			      errlen);
}

static void assert_no_child_left(void)
{
	int status;

	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_inspect(void **state)
{
	struct ingest_limits lim = { .cpu_seconds = 3 };
	struct ingest_result r;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigset_t block, oldmask;
	int sv[2], extra, fds_before;
	char err[256];
	const char *t;

	/* Give the child things it must not inherit. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	extra = open("/dev/null", O_RDONLY); /* no O_CLOEXEC */
	assert_true(extra >= 0);
	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	sigemptyset(&block);
	sigaddset(&block, SIGXCPU);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &oldmask), 0);
	errno = 0;
	parent_nice = getpriority(PRIO_PROCESS, 0);
	fds_before = fx_count_fds();

	assert_int_equal(run(MODE_INSPECT, &lim, &r, err, sizeof err), 0);
	t = r.pages[0].text;
	print_message("child: %s\n", t);
	assert_non_null(strstr(t, "fd=3 "));
	assert_non_null(strstr(t, " other_fds=0 "));
	assert_non_null(strstr(t, " null_stdio=3 "));
	assert_non_null(strstr(t, " cpu=3/4 "));
	assert_non_null(strstr(t, TEST_ASAN ? " as_limited=0 " :
					      " as_limited=1 "));
	assert_non_null(strstr(t, " fsize=0 core=0 "));
	assert_non_null(strstr(t, " blocked_xcpu=0 sigpipe_default=1 "));
	assert_non_null(strstr(t, " nnp=1 pdeathsig=9 "));
	if (parent_nice < 19)
		assert_non_null(strstr(t, " nicer=1"));
	ingest_result_free(&r);

	assert_int_equal(fx_count_fds(), fds_before);
	assert_int_equal(sigprocmask(SIG_SETMASK, &oldmask, NULL), 0);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
	close(extra);
	close(sv[0]);
	close(sv[1]);
	assert_no_child_left();
}

static void test_crash(void **state)
{
	struct ingest_result r;
	char err[256];

	assert_int_equal(run(MODE_SEGV, NULL, &r, err, sizeof err),
			 INGEST_ERR_EXTRACTOR);
	assert_string_equal(err, "could not extract text from \"x.pdf\": the "
			    "extractor process was terminated by signal 11");
	assert_int_equal(run(MODE_EXIT_9, NULL, &r, err, sizeof err),
			 INGEST_ERR_EXTRACTOR);
	assert_string_equal(err, "could not extract text from \"x.pdf\": the "
			    "extractor process exited with status 9");
	assert_no_child_left();
}

static void test_allocation_failure(void **state)
{
	struct ingest_result r;
	char err[256];

	assert_int_equal(run(MODE_ABORT_NOMEM, NULL, &r, err, sizeof err),
			 INGEST_ERR_MEMORY);
	assert_string_equal(err, "could not extract text from \"x.pdf\": "
			    "extraction exceeded the memory limit");
	assert_no_child_left();
}

static void test_bad_output(void **state)
{
	struct ingest_result r;
	char err[256];

	assert_int_equal(run(MODE_EARLY_EXIT, NULL, &r, err, sizeof err),
			 INGEST_ERR_EXTRACTOR);
	assert_string_equal(err, "could not extract text from \"x.pdf\": the "
			    "extractor process ended before finishing its "
			    "output");
	assert_null(r.pages);
	/* Refused on the spot: the child (still running) is killed. */
	assert_int_equal(run(MODE_GARBAGE, NULL, &r, err, sizeof err),
			 INGEST_ERR_EXTRACTOR);
	assert_non_null(strstr(err, "the extractor process sent malformed "
			       "output (unknown frame type)"));
	assert_no_child_left();
}

static void test_hangs(void **state)
{
	struct ingest_limits lim = { .wall_ms = 200 };
	struct ingest_result r;
	uint64_t t0;
	char err[256];

	t0 = lms_now_ms();
	assert_int_equal(run(MODE_HANG, &lim, &r, err, sizeof err),
			 INGEST_ERR_TIMEOUT);
	assert_string_equal(err, "could not extract text from \"x.pdf\": "
			    "extraction took longer than 200 ms");
	assert_true(lms_now_ms() - t0 < 1500);
	/* EOF without an exit: wait for the exit, but only until the deadline. */
	t0 = lms_now_ms();
	assert_int_equal(run(MODE_CLOSE_HANG, &lim, &r, err, sizeof err),
			 INGEST_ERR_TIMEOUT);
	assert_true(lms_now_ms() - t0 < 1500);
	assert_no_child_left();
}

static void test_held_pipe(void **state)
{
	struct ingest_limits lim = { .wall_ms = 5000 };
	struct ingest_result r;
	uint64_t t0 = lms_now_ms(), took;
	char err[256];

	/* No EOF for a second, but the child is gone: noticed at once. */
	assert_int_equal(run(MODE_HELD_PIPE, &lim, &r, err, sizeof err),
			 INGEST_ERR_EXTRACTOR);
	took = lms_now_ms() - t0;
	assert_string_equal(err, "could not extract text from \"x.pdf\": the "
			    "extractor process ended before finishing its "
			    "output");
	assert_true(took < 900);
	assert_no_child_left();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inspect),
		cmocka_unit_test(test_crash),
		cmocka_unit_test(test_allocation_failure),
		cmocka_unit_test(test_bad_output),
		cmocka_unit_test(test_hangs),
		cmocka_unit_test(test_held_pipe),
	};

	/* The library logs crashes at warn; keep the test output quiet. */
	lms_log_init("test_ingest_child", 0, LMS_LOG_ERROR);
	return cmocka_run_group_tests_name("ingest_child", tests, NULL, NULL);
}

/*
 * sandbox.c -- run the PDF extractor in a child process under limits.
 *
 * Why this exists
 * ---------------
 * poppler is a large C++ parser and PDFs come from users. A PDF can be
 * built to crash a parser, to loop (forms drawing forms drawing forms), or
 * to allocate gigabytes (a few kilobytes of deflate can expand to that).
 * None of it may touch the daemon, so the parsing happens in a forked child:
 *
 *   child (sandbox_child, then pdf_child.c)
 *     - dies with its parent (PR_SET_PDEATHSIG), cannot gain privileges
 *       (PR_SET_NO_NEW_PRIVS), runs at a lower priority than the daemon;
 *     - default signal dispositions, nothing blocked (it must not run the
 *       daemon's handlers, and SIGXCPU must kill it);
 *     - stdin/stdout/stderr on /dev/null, the pipe on fd 3, every other
 *       inherited descriptor (client sockets, PostgreSQL connections)
 *       closed, so a compromised child cannot talk to them;
 *     - RLIMIT_CPU (SIGXCPU at the soft limit, SIGKILL one second later),
 *       RLIMIT_AS (what it inherited plus memory_bytes), RLIMIT_FSIZE 0
 *       (it writes no files), RLIMIT_CORE 0;
 *     - on SIGABRT/SIGSEGV/SIGBUS with errno == ENOMEM it exits with
 *       INGEST_CHILD_EXIT_NOMEM: every allocator poppler uses aborts on
 *       failure (glib's g_malloc, poppler's gmalloc, C++ operator new via
 *       std::bad_alloc) and malloc/mmap leave ENOMEM in errno, so this is
 *       how the parent can tell the memory limit from a crash;
 *
 *   parent (ingest_pdf_extract)
 *     - reads the pipe in non-blocking mode with poll(), never past the
 *       wall-clock deadline, feeding the validating parser in proto.c;
 *     - polls in slices of SANDBOX_SLICE_MS and checks whether the child
 *       exited, so a descriptor leaked to another process (a concurrent
 *       fork elsewhere in the program) cannot make it wait for an EOF that
 *       never comes;
 *     - once it has the whole output, or refuses it, or runs out of time,
 *       it SIGKILLs the child (a no-op if it already exited) and reaps it
 *       with wait4(); the exit status and CPU time explain a failure.
 *
 * The child never exec()s: it is a copy of the caller, which keeps
 * deployment simple (no helper binary to find) at the cost of the caveats
 * listed in ingest.h. In an AddressSanitizer build RLIMIT_AS is not set:
 * the sanitizer's shadow memory already exceeds any sensible limit.
 */
#include "ingest_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif
#ifndef SANDBOX_ASAN
#define SANDBOX_ASAN 0
#endif

/* How often the parent checks whether the child has exited. */
#define SANDBOX_SLICE_MS 50
/* The pipe ends up on this descriptor in the child. */
#define SANDBOX_CHILD_FD 3
/* How much lower the child's scheduling priority is. */
#define SANDBOX_NICE 10

/* ---- child side --------------------------------------------------------- */

static void sandbox_on_crash(int sig)
{
	/* errno is the interrupted code's: abort() follows the failed alloc. */
	if (errno == ENOMEM)
		_exit(INGEST_CHILD_EXIT_NOMEM);
	/* SA_RESETHAND restored the default action: die of sig. */
	raise(sig);
}

/* Size of the address space now, in bytes (0 if unknown). */
static size_t sandbox_vm_size(void)
{
	char buf[64];
	size_t pages = 0;
	ssize_t n;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		pages = pages * 10 + (size_t)(buf[i] - '0');
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Lower the soft and hard limit of resource to value (never raise them). */
static int sandbox_limit(int resource, rlim_t soft, rlim_t hard)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) != 0)
		return -1;
	if (rl.rlim_max != RLIM_INFINITY && hard > rl.rlim_max)
		hard = rl.rlim_max;
	if (soft > hard)
		soft = hard;
	rl.rlim_cur = soft;
	rl.rlim_max = hard;
	return setrlimit(resource, &rl);
}

static void sandbox_close_from(int lowfd)
{
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0U) == 0)
		return;
	/* Kernels before 5.9: close them one by one. */
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = lowfd; fd < max; fd++)
		close(fd);
}

__attribute__((noreturn))
static void sandbox_child(int wfd, const void *data, size_t len,
			  const struct ingest_limits *lim, pid_t parent)
{
	struct sigaction sa;
	sigset_t none;
	size_t vm;
	int fd, nul;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(INGEST_CHILD_EXIT_SETUP);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	errno = 0;
	(void)setpriority(PRIO_PROCESS, 0,
			  getpriority(PRIO_PROCESS, 0) + SANDBOX_NICE);

	/* Signals: the defaults, nothing blocked. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s < NSIG; s++) {
		if (s != SIGKILL && s != SIGSTOP)
			(void)sigaction(s, &sa, NULL); /* EINVAL for some: fine */
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	/* Descriptors: /dev/null on 0-2, the pipe on 3, nothing else. */
	fd = fcntl(wfd, F_DUPFD, 10);
	nul = open("/dev/null", O_RDWR);
	if (fd < 0 || nul < 0)
		_exit(INGEST_CHILD_EXIT_SETUP);
	for (int i = 0; i <= 2; i++) {
		if (nul != i && dup2(nul, i) < 0)
			_exit(INGEST_CHILD_EXIT_SETUP);
	}
	if (dup2(fd, SANDBOX_CHILD_FD) < 0)
		_exit(INGEST_CHILD_EXIT_SETUP);
	sandbox_close_from(SANDBOX_CHILD_FD + 1);

	/* Resource limits. */
	vm = sandbox_vm_size();
	if (sandbox_limit(RLIMIT_CORE, 0, 0) != 0 ||
	    sandbox_limit(RLIMIT_FSIZE, 0, 0) != 0 ||
	    sandbox_limit(RLIMIT_CPU, lim->cpu_seconds,
			  (rlim_t)lim->cpu_seconds + 1) != 0)
		_exit(INGEST_CHILD_EXIT_SETUP);
	if (!SANDBOX_ASAN) {
		rlim_t as = vm > RLIM_INFINITY - 1 - lim->memory_bytes ?
			RLIM_INFINITY - 1 : (rlim_t)vm + lim->memory_bytes;

		if (sandbox_limit(RLIMIT_AS, as, as) != 0)
			_exit(INGEST_CHILD_EXIT_SETUP);
	}

	/* Tell an allocation failure from a crash (see the top). */
	sa.sa_handler = sandbox_on_crash;
	sa.sa_flags = SA_RESETHAND;
	(void)sigaction(SIGABRT, &sa, NULL);
	(void)sigaction(SIGSEGV, &sa, NULL);
	(void)sigaction(SIGBUS, &sa, NULL);

	ingest_child_run(SANDBOX_CHILD_FD, data, len, lim->max_pages,
			 lim->max_text_bytes);
}

/* ---- parent side -------------------------------------------------------- */

struct sandbox_proc {
	pid_t pid;
	bool reaped;
	bool status_known; /* false if wait4 failed (SIGCHLD ignored?) */
	int status;
	struct rusage ru;
};

/* Reap the child if it exited (block: wait for it). Returns true if reaped. */
static bool sandbox_reap(struct sandbox_proc *c, bool block)
{
	pid_t r;

	if (c->reaped)
		return true;
	do
		r = wait4(c->pid, &c->status, block ? 0 : WNOHANG, &c->ru);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return false;
	c->reaped = true;
	c->status_known = r == c->pid;
	if (!c->status_known)
		LMS_WARN("could not wait for extractor process %d: %m",
			 (int)c->pid);
	return true;
}

static void sandbox_kill(struct sandbox_proc *c)
{
	if (!c->reaped) {
		(void)kill(c->pid, SIGKILL);
		sandbox_reap(c, true);
	}
}

static bool sandbox_died_of(const struct sandbox_proc *c, int sig)
{
	return c->status_known && WIFSIGNALED(c->status) &&
	       WTERMSIG(c->status) == sig;
}

static uint64_t sandbox_cpu_ms(const struct sandbox_proc *c)
{
	return (uint64_t)(c->ru.ru_utime.tv_sec + c->ru.ru_stime.tv_sec) * 1000 +
	       (uint64_t)(c->ru.ru_utime.tv_usec + c->ru.ru_stime.tv_usec) / 1000;
}

/* The child is gone without a complete output: say why. */
static int sandbox_explain(const struct sandbox_proc *c,
			   const struct ingest_limits *lim, char *msg,
			   size_t msglen)
{
	if (c->status_known && WIFEXITED(c->status)) {
		int code = WEXITSTATUS(c->status);

		switch (code) {
		case INGEST_CHILD_EXIT_NOMEM:
			snprintf(msg, msglen,
				 "extraction exceeded the memory limit");
			return INGEST_ERR_MEMORY;
		case INGEST_CHILD_EXIT_SETUP:
			snprintf(msg, msglen,
				 "could not set up the extractor process");
			return INGEST_ERR_SYSTEM;
		case 0:
			break; /* a clean exit without the whole output */
		default:
			LMS_WARN("pdf extractor process %d exited with status %d",
				 (int)c->pid, code);
			snprintf(msg, msglen,
				 "the extractor process exited with status %d",
				 code);
			return INGEST_ERR_EXTRACTOR;
		}
	}
	if (sandbox_died_of(c, SIGXCPU) ||
	    (sandbox_died_of(c, SIGKILL) &&
	     sandbox_cpu_ms(c) >= (uint64_t)lim->cpu_seconds * 1000)) {
		snprintf(msg, msglen, "extraction used more than %u s of CPU time",
			 lim->cpu_seconds);
		return INGEST_ERR_CPU;
	}
	if (c->status_known && WIFSIGNALED(c->status)) {
		LMS_WARN("pdf extractor process %d terminated by signal %d",
			 (int)c->pid, WTERMSIG(c->status));
		snprintf(msg, msglen,
			 "the extractor process was terminated by signal %d",
			 WTERMSIG(c->status));
		return INGEST_ERR_EXTRACTOR;
	}
	snprintf(msg, msglen,
		 "the extractor process ended before finishing its output");
	return INGEST_ERR_EXTRACTOR;
}

/* How the read loop ended. */
enum sandbox_end {
	SANDBOX_END_OUTPUT,  /* the parser says done, or refused the output */
	SANDBOX_END_EOF,     /* pipe closed before the output was complete */
	SANDBOX_END_EXITED,  /* child reaped (pipe drained) before complete */
	SANDBOX_END_TIMEOUT, /* deadline passed */
	SANDBOX_END_ERROR,   /* poll/read failed; errno kept in *err_no */
};

/* Read whatever is available now; EOF or EAGAIN ends it. */
static int sandbox_read(int fd, struct ingest_proto *p, bool *eof)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n > 0) {
			int rv = ingest_proto_feed(p, buf, (size_t)n);

			if (rv != 0)
				return rv;
			continue;
		}
		if (n == 0) {
			*eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -1000 - errno; /* distinct from parser results */
	}
}

static enum sandbox_end sandbox_collect(int fd, struct sandbox_proc *c,
					struct ingest_proto *p,
					uint64_t deadline, int *err_no)
{
	for (;;) {
		uint64_t now = lms_now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t left;
		bool eof = false;
		int n, rv;

		if (now >= deadline)
			return SANDBOX_END_TIMEOUT;
		left = deadline - now;
		n = poll(&pfd, 1, left < SANDBOX_SLICE_MS ? (int)left :
							    SANDBOX_SLICE_MS);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*err_no = errno;
			return SANDBOX_END_ERROR;
		}
		if (n == 0) {
			if (!sandbox_reap(c, false))
				continue;
			/* Exited: take what it left in the pipe. */
			rv = sandbox_read(fd, p, &eof);
			if (rv <= -1000) {
				*err_no = -1000 - rv;
				return SANDBOX_END_ERROR;
			}
			return rv != 0 ? SANDBOX_END_OUTPUT : SANDBOX_END_EXITED;
		}
		rv = sandbox_read(fd, p, &eof);
		if (rv <= -1000) {
			*err_no = -1000 - rv;
			return SANDBOX_END_ERROR;
		}
		if (rv != 0)
			return SANDBOX_END_OUTPUT;
		if (eof)
			return SANDBOX_END_EOF;
	}
}

/* After EOF: give the child until the deadline to exit. */
static bool sandbox_wait_exit(struct sandbox_proc *c, uint64_t deadline)
{
	const struct timespec pause = { 0, 2 * 1000 * 1000 }; /* 2 ms */

	while (!sandbox_reap(c, false)) {
		if (lms_now_ms() >= deadline)
			return false;
		nanosleep(&pause, NULL);
	}
	return true;
}

int ingest_pdf_extract(const void *data, size_t len,
		       const struct ingest_limits *lim,
		       struct ingest_result *out, char *msg, size_t msglen)
{
	struct sandbox_proc c = { 0 };
	struct ingest_proto p;
	pid_t parent = getpid();
	uint64_t deadline;
	enum sandbox_end end;
	int fds[2], err_no = 0, rv;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(msg, msglen,
			 "could not create a pipe for the extractor process: %m");
		return INGEST_ERR_SYSTEM;
	}
	deadline = lms_now_ms() + lim->wall_ms;
	c.pid = fork();
	if (c.pid < 0) {
		snprintf(msg, msglen,
			 "could not start the extractor process: %m");
		close(fds[0]);
		close(fds[1]);
		return INGEST_ERR_SYSTEM;
	}
	if (c.pid == 0) {
		close(fds[0]);
		sandbox_child(fds[1], data, len, lim, parent);
	}
	close(fds[1]);
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
		snprintf(msg, msglen, "could not set up the extractor pipe: %m");
		sandbox_kill(&c);
		close(fds[0]);
		return INGEST_ERR_SYSTEM;
	}

	ingest_proto_init(&p, lim->max_pages, lim->max_text_bytes);
	end = sandbox_collect(fds[0], &c, &p, deadline, &err_no);
	close(fds[0]);
	if (end == SANDBOX_END_EOF && !sandbox_wait_exit(&c, deadline))
		end = SANDBOX_END_TIMEOUT;
	sandbox_kill(&c); /* no-op if already reaped */

	switch (end) {
	case SANDBOX_END_OUTPUT:
		/* Complete (or refused by the parser): the child's fate is moot. */
		rv = ingest_proto_take(&p, out, msg, msglen);
		if (rv == INGEST_ERR_EXTRACTOR)
			LMS_WARN("pdf extractor process %d: %s", (int)c.pid, msg);
		break;
	case SANDBOX_END_TIMEOUT:
		/* It may have hit its CPU limit at the same moment. */
		if (sandbox_died_of(&c, SIGXCPU)) {
			rv = sandbox_explain(&c, lim, msg, msglen);
		} else {
			snprintf(msg, msglen, "extraction took longer than %u ms",
				 lim->wall_ms);
			rv = INGEST_ERR_TIMEOUT;
		}
		break;
	case SANDBOX_END_ERROR:
		errno = err_no;
		snprintf(msg, msglen,
			 "could not read from the extractor process: %m");
		rv = INGEST_ERR_SYSTEM;
		break;
	default: /* EOF or exit before the output was complete */
		rv = sandbox_explain(&c, lim, msg, msglen);
		break;
	}
	ingest_proto_free(&p);
	return rv;
}

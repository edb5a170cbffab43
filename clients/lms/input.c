/*
 * input.c -- what lms reads from people and from disk, and the progress
 * shown while it does.
 *
 * Times: the wire speaks UTC ISO-8601 only (common/isotime.h refuses a
 * time without a zone). People type either that, or a local wall-clock
 * time "2026-11-23 10:00" which is converted here with mktime() and the
 * process's time zone (TZ): this is the one place where the local zone
 * matters, and it is the user's own machine.
 *
 * Passwords: from the terminal (/dev/tty) with echo off, restored even
 * when the user presses ^C; or one line of stdin with --password-stdin
 * (scripts, and the menu when stdin is not a terminal).
 *
 * Files: uploads are read whole (a request is one frame); downloads are
 * written to a temporary file next to the target and then linked (or, with
 * --force, renamed) into place, so an existing file is never replaced
 * silently and a failed download leaves nothing half-written.
 *
 * Progress: honest about what it measures. A transfer is a single RPC
 * frame that the client library sends and receives in one blocking call,
 * so lms cannot see bytes move on the network. The progress bar measures
 * reading the file from disk (upload) or writing it to disk (download);
 * while the RPC itself is in flight a spinner shows the elapsed time.
 * Both appear only when stdout and stderr are terminals, never with -q or
 * --json, and the bar only for files over 1 MiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "isotime.h"
#include "lms.h"
#include "sha256.h"
#include "util.h"

/* ------------------------------------------------------------ times */

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int parse_time(const char *s, char *out, char *err, size_t errlen)
{
	int64_t ms;
	if (lms_iso_parse(s, &ms) == 0) {
		lms_iso_format(ms, out, LMS_ISO_MAX);
		return 0;
	}
	/* YYYY-MM-DD HH:MM[:SS] or with 'T', local time */
	size_t len = strlen(s);
	if ((len != 16 && len != 19) || !digits(s, 4) || s[4] != '-' ||
	    !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
	    (s[10] != ' ' && s[10] != 'T') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) ||
	    (len == 19 && (s[16] != ':' || !digits(s + 17, 2)))) {
		snprintf(err, errlen, "\"%s\" is not a time: use "
		         "\"YYYY-MM-DD HH:MM\" (local time) or ISO-8601 with a "
		         "zone (2026-11-23T10:00:00Z)", s);
		return -1;
	}
	struct tm tm = {0};
	tm.tm_year = num(s, 4) - 1900;
	tm.tm_mon = num(s + 5, 2) - 1;
	tm.tm_mday = num(s + 8, 2);
	tm.tm_hour = num(s + 11, 2);
	tm.tm_min = num(s + 14, 2);
	tm.tm_sec = len == 19 ? num(s + 17, 2) : 0;
	tm.tm_isdst = -1;
	struct tm want = tm;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 || tm.tm_year != want.tm_year ||
	    tm.tm_mon != want.tm_mon || tm.tm_mday != want.tm_mday ||
	    tm.tm_hour != want.tm_hour || tm.tm_min != want.tm_min ||
	    tm.tm_sec != want.tm_sec) {
		snprintf(err, errlen, "\"%s\" does not exist in the local time "
		         "zone", s);
		return -1;
	}
	if (t < 0 || (int64_t)t > 253402300799LL) {
		snprintf(err, errlen, "\"%s\" is out of range (1970..9999)", s);
		return -1;
	}
	lms_iso_format((int64_t)t * 1000, out, LMS_ISO_MAX);
	return 0;
}

int parse_id(const char *s, uint64_t *id)
{
	return lms_parse_u64(s, 1, (uint64_t)INT64_MAX, id);
}

int parse_points(const char *s, double max, double *v)
{
	char *end;
	errno = 0;
	if (!*s || (*s < '0' || *s > '9'))
		return -1;
	double d = strtod(s, &end);
	if (errno || *end || !isfinite(d) || d < 0 || d > max)
		return -1;
	if (fabs(d * 100.0 - round(d * 100.0)) > 1e-6)
		return -1;
	*v = d;
	return 0;
}

/* ------------------------------------------------------------ passwords */

/* The terminal state to restore if a signal arrives while echo is off.
 * Restoring the terminal is the one thing these handlers do besides
 * re-raising: tcsetattr() is async-signal-safe, and a shell left without
 * echo is worse than the rule "handlers only set flags". */
static struct termios pw_saved;
static volatile sig_atomic_t pw_fd = -1;

static void pw_signal(int sig)
{
	if (pw_fd >= 0)
		tcsetattr(pw_fd, TCSAFLUSH, &pw_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static char *pw_strip(char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

char *read_password(struct cli *cli, const char *prompt, bool from_stdin,
                    bool allow_line, int *rc)
{
	if (from_stdin || (allow_line && !isatty(STDIN_FILENO))) {
		if (cli->in_menu) {
			fputs(prompt, stdout);
			fflush(stdout);
		}
		char *line = NULL;
		size_t cap = 0;
		if (getline(&line, &cap, stdin) < 0) {
			free(line);
			*rc = cli_error(cli, EXIT_USAGE, "USAGE",
			                "no password on standard input");
			return NULL;
		}
		if (cli->in_menu)
			putchar('\n'); /* the input is not echoed */
		return pw_strip(line);
	}
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*rc = cli_error(cli, EXIT_USAGE, "USAGE",
		                "no terminal to read the password from; use "
		                "--password-stdin");
		return NULL;
	}
	struct termios t;
	bool restore = tcgetattr(fd, &t) == 0;
	struct sigaction sa, old_int, old_term, old_hup, old_quit;
	if (restore) {
		pw_saved = t;
		pw_fd = fd;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = pw_signal;
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		sigaction(SIGHUP, &sa, &old_hup);
		sigaction(SIGQUIT, &sa, &old_quit);
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		tcsetattr(fd, TCSAFLUSH, &t);
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* nothing to do: the read below still works */
	}
	size_t cap = 1100, n = 0;
	char *buf = malloc(cap);
	bool ok = buf != NULL;
	while (ok) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ok = n > 0;
			break;
		}
		if (ch == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = ch;
	}
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &pw_saved);
		pw_fd = -1;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
	}
	if (write(fd, "\n", 1) < 0) {
		/* the newline the user typed was not echoed; cosmetic */
	}
	close(fd);
	if (!ok) {
		free(buf);
		*rc = cli_error(cli, EXIT_USAGE, "USAGE", "no password given");
		return NULL;
	}
	buf[n] = '\0';
	return pw_strip(buf);
}

char *prompt_line(const char *prompt)
{
	fputs(prompt, stdout);
	fflush(stdout);
	char *line = NULL;
	size_t cap = 0;
	if (getline(&line, &cap, stdin) < 0) {
		free(line);
		return NULL;
	}
	pw_strip(line);
	/* input from a script is not echoed: show it, so that the
	 * transcript reads like a terminal session */
	if (!isatty(STDIN_FILENO))
		printf("%s\n", line);
	return line;
}

/* ------------------------------------------------------------ progress */

static bool progress_allowed(const struct cli *cli)
{
	return cli->tty_out && cli->tty_err && !cli->quiet && !cli->json;
}

struct progress {
	char label[64];
	uint64_t total;
	int last; /* last percentage drawn */
};

struct progress *progress_start(struct cli *cli, const char *label,
                                uint64_t total)
{
	if (!progress_allowed(cli) || total <= CLI_PROGRESS_MIN)
		return NULL;
	struct progress *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	snprintf(p->label, sizeof p->label, "%s", label);
	p->total = total;
	p->last = -1;
	progress_update(p, 0);
	return p;
}

void progress_update(struct progress *p, uint64_t done)
{
	if (!p)
		return;
	int pct = (int)(done * 100 / (p->total ? p->total : 1));
	if (pct == p->last)
		return;
	p->last = pct;
	char bar[31];
	int fill = pct * 30 / 100;
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	char a[32], b[32];
	fprintf(stderr, "\r%-28.28s [%s] %3d%% %s / %s\033[K", p->label, bar,
	        pct, fmt_size(done, a, sizeof a), fmt_size(p->total, b, sizeof b));
	fflush(stderr);
}

void progress_end(struct progress *p)
{
	if (!p)
		return;
	progress_update(p, p->total);
	fputc('\n', stderr);
	free(p);
}

struct spinner {
	pthread_t thread;
	atomic_bool stop;
	bool drawn;
	char label[64];
};

static void *spinner_main(void *arg)
{
	struct spinner *s = arg;
	static const char frames[] = "|/-\\";
	uint64_t start = lms_now_ms();
	unsigned k = 0;
	while (!atomic_load(&s->stop)) {
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
		uint64_t el = lms_now_ms() - start;
		if (el < 300 || atomic_load(&s->stop))
			continue; /* quick calls show nothing */
		fprintf(stderr, "\r%s %c %.1fs\033[K", s->label, frames[k++ % 4],
		        (double)el / 1000.0);
		fflush(stderr);
		s->drawn = true;
	}
	return NULL;
}

struct spinner *spinner_start(struct cli *cli, const char *label)
{
	if (!progress_allowed(cli))
		return NULL;
	struct spinner *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->label, sizeof s->label, "%s", label);
	atomic_init(&s->stop, false);
	if (pthread_create(&s->thread, NULL, spinner_main, s) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void spinner_stop(struct spinner *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	if (s->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	free(s);
}

/* ------------------------------------------------------------ files */

uint8_t *file_read(struct cli *cli, const char *path, size_t *len, int *rc)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*rc = cli_error(cli, EXIT_FAIL, "IO_ERROR",
		                "could not open \"%s\": %s", path,
		                strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*rc = cli_error(cli, EXIT_FAIL, "IO_ERROR",
		                "\"%s\" is not a regular file", path);
		return NULL;
	}
	if ((uint64_t)st.st_size > CLI_MAX_FILE) {
		close(fd);
		char a[32], b[32];
		*rc = cli_error(cli, EXIT_INVALID, "TOO_LARGE",
		                "\"%s\" is %s; lms sends at most %s", path,
		                fmt_size((uint64_t)st.st_size, a, sizeof a),
		                fmt_size(CLI_MAX_FILE, b, sizeof b));
		return NULL;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf) {
		close(fd);
		*rc = cli_error(cli, EXIT_FAIL, "ERROR", "out of memory");
		return NULL;
	}
	char label[64];
	snprintf(label, sizeof label, "reading %s", path);
	struct progress *p = progress_start(cli, label, size);
	size_t got = 0;
	while (got < size) {
		size_t want = size - got > (256u << 10) ? (256u << 10)
		                                        : size - got;
		ssize_t r = read(fd, buf + got, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		progress_update(p, got);
	}
	progress_end(p);
	close(fd);
	if (got != size) {
		free(buf);
		*rc = cli_error(cli, EXIT_FAIL, "IO_ERROR",
		                "could not read \"%s\": %s", path,
		                errno ? strerror(errno) : "file changed size");
		return NULL;
	}
	*len = size;
	return buf;
}

void safe_basename(const char *name, char *out, size_t len)
{
	const char *b = name ? name : "";
	for (const char *p = b; *p; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	size_t o = 0;
	for (; *b && o + 1 < len && o < 200; b++) {
		unsigned char ch = (unsigned char)*b;
		out[o++] = ch < 0x20 || ch == 0x7f ? '_' : (char)ch;
	}
	out[o] = '\0';
	/* cut a partial UTF-8 sequence at the end */
	while (o > 0 && ((unsigned char)out[o - 1] & 0x80) &&
	       !lms_utf8_valid(out, o))
		out[--o] = '\0';
	while (out[0] == '.' || out[0] == '-')
		out[0] = '_';
	if (!out[0])
		snprintf(out, len, "download");
}

int file_check_target(struct cli *cli, const char *path, bool force)
{
	if (strcmp(path, "-") == 0)
		return 0;
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		return cli_error(cli, EXIT_INVALID, "CONFLICT",
		                 "\"%s\" is a directory", path);
	if (!force)
		return cli_error(cli, EXIT_INVALID, "CONFLICT",
		                 "\"%s\" exists; use --force to replace it",
		                 path);
	return 0;
}

static int write_all(int fd, const uint8_t *data, size_t len,
                     struct progress *p)
{
	size_t done = 0;
	while (done < len) {
		size_t chunk = len - done > (256u << 10) ? (256u << 10)
		                                         : len - done;
		ssize_t w = write(fd, data + done, chunk);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
		progress_update(p, done);
	}
	return 0;
}

int file_write(struct cli *cli, const char *path, const uint8_t *data,
               size_t len, bool force)
{
	if (strcmp(path, "-") == 0) {
		fflush(stdout);
		if (write_all(STDOUT_FILENO, data, len, NULL) != 0)
			return cli_error(cli, EXIT_FAIL, "IO_ERROR",
			                 "could not write to standard output: %s",
			                 strerror(errno));
		return 0;
	}
	int rc = file_check_target(cli, path, force);
	if (rc)
		return rc;
	char dirbuf[4096], tmp[4096 + 32];
	snprintf(dirbuf, sizeof dirbuf, "%s", path);
	snprintf(tmp, sizeof tmp, "%s/.lms-download-XXXXXX", dirname(dirbuf));
	int fd = mkstemp(tmp);
	if (fd < 0)
		return cli_error(cli, EXIT_FAIL, "IO_ERROR",
		                 "could not create a file next to \"%s\": %s",
		                 path, strerror(errno));
	mode_t mask = umask(0);
	umask(mask);
	char label[64];
	snprintf(label, sizeof label, "writing %s", path);
	struct progress *p = progress_start(cli, label, len);
	int bad = fchmod(fd, 0666 & ~mask) != 0 ||
	          write_all(fd, data, len, p) != 0 || fsync(fd) != 0;
	int e = errno;
	progress_end(p);
	if (close(fd) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		unlink(tmp);
		return cli_error(cli, EXIT_FAIL, "IO_ERROR",
		                 "could not write \"%s\": %s", path, strerror(e));
	}
	if (force) {
		if (rename(tmp, path) != 0) {
			e = errno;
			unlink(tmp);
			return cli_error(cli, EXIT_FAIL, "IO_ERROR",
			                 "could not write \"%s\": %s", path,
			                 strerror(e));
		}
		return 0;
	}
	/* link() fails with EEXIST instead of replacing: no race with a
	 * file created since file_check_target */
	if (link(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		if (e == EEXIST)
			return cli_error(cli, EXIT_INVALID, "CONFLICT",
			                 "\"%s\" exists; use --force to replace "
			                 "it", path);
		return cli_error(cli, EXIT_FAIL, "IO_ERROR",
		                 "could not write \"%s\": %s", path, strerror(e));
	}
	unlink(tmp);
	return 0;
}

int file_save_download(struct cli *cli, const Lms__Rpc__File *f,
                       const char *out, bool force, char *saved, size_t len)
{
	uint8_t sum[LMS_SHA256_LEN];
	char hex[2 * LMS_SHA256_LEN + 1];
	lms_sha256(f->data.data, f->data.len, sum);
	lms_hex_encode(sum, sizeof sum, hex);
	if (f->data.len != f->size ||
	    (f->sha256 && *f->sha256 && strcasecmp(hex, f->sha256) != 0))
		return cli_error(cli, EXIT_FAIL, "INTEGRITY",
		                 "the file \"%s\" arrived damaged (%zu bytes, "
		                 "SHA-256 %s; expected %llu bytes, %s)", f->name,
		                 f->data.len, hex, (unsigned long long)f->size,
		                 f->sha256);
	char name[256];
	if (!out) {
		safe_basename(f->name, name, sizeof name);
		out = name;
	}
	snprintf(saved, len, "%s", out);
	return file_write(cli, out, f->data.data, f->data.len, force);
}

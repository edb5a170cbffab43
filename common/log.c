/*
 * log.c -- leveled logging to stderr, one write(2) per line.
 *
 * See log.h for the line format and why it is built this way. The settings
 * below are the whole state of the logger: the program name is copied into
 * a fixed buffer, so no caller pointer is kept.
 */
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
	char program[32];
	unsigned node_id;
	enum lms_log_level min;
} log_settings = { "lms", 0, LMS_LOG_INFO };

void lms_log_init(const char *program, unsigned node_id,
		  enum lms_log_level min)
{
	lms_strlcpy(log_settings.program, program != NULL ? program : "lms",
		    sizeof(log_settings.program));
	log_settings.node_id = node_id;
	log_settings.min = min;
}

void lms_log_set_level(enum lms_log_level min)
{
	log_settings.min = min;
}

enum lms_log_level lms_log_get_level(void)
{
	return log_settings.min;
}

bool lms_log_enabled(enum lms_log_level level)
{
	return level >= log_settings.min;
}

static const char *const log_level_names[] = {
	[LMS_LOG_DEBUG] = "debug",
	[LMS_LOG_INFO] = "info",
	[LMS_LOG_WARN] = "warn",
	[LMS_LOG_ERROR] = "error",
};

int lms_log_level_parse(const char *s, enum lms_log_level *out)
{
	if (s == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(*log_level_names);
	     i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*out = (enum lms_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *lms_log_level_name(enum lms_log_level level)
{
	switch (level) {
	case LMS_LOG_DEBUG:
		return "DEBUG";
	case LMS_LOG_INFO:
		return "INFO";
	case LMS_LOG_WARN:
		return "WARN";
	case LMS_LOG_ERROR:
		return "ERROR";
	}
	return "?";
}

/* "2026-11-23T10:11:12.345Z" into buf (at least 25 bytes). */
static void log_timestamp(char *buf, size_t len)
{
	int64_t ms = lms_wall_ms();
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		lms_strlcpy(buf, "0000-00-00T00:00:00.000Z", len);
		return;
	}
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ",
		 (int)(ms % 1000));
}

void lms_log_write(enum lms_log_level level, const char *fmt, ...)
{
	static const char cut[] = "...";
	char line[LMS_LOG_LINE_MAX];
	char ts[32];
	char node[16];
	int saved_errno = errno;
	size_t head, len, max = sizeof(line) - 1; /* room for '\n' */
	va_list ap;
	int n;

	log_timestamp(ts, sizeof(ts));
	if (log_settings.node_id != 0)
		snprintf(node, sizeof(node), "%u", log_settings.node_id);
	else
		lms_strlcpy(node, "-", sizeof(node));
	n = snprintf(line, sizeof(line), "%s node=%s %s %s ", ts, node,
		     log_settings.program, lms_log_level_name(level));
	head = n < 0 ? 0 : (size_t)n;
	if (head > max)
		head = max;

	errno = saved_errno; /* so that %m reports the caller's errno */
	va_start(ap, fmt);
	n = vsnprintf(line + head, sizeof(line) - head, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	len = head + (size_t)n;
	if (len > max) {
		/* Cut on a character boundary, never inside a UTF-8 sequence. */
		size_t at = max - (sizeof(cut) - 1);

		while (at > head && ((unsigned char)line[at] & 0xC0) == 0x80)
			at--;
		memcpy(line + at, cut, sizeof(cut) - 1);
		len = at + sizeof(cut) - 1;
	}

	/* A record is one line: no control character survives in the text. */
	for (size_t i = head; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7F)
			line[i] = ' ';
	}
	line[len++] = '\n';

	for (size_t off = 0; off < len;) {
		ssize_t w = write(STDERR_FILENO, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* nowhere left to report it */
		off += (size_t)w;
	}
	errno = saved_errno;
}

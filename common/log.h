/*
 * log.h -- leveled logging to stderr, one line per record.
 *
 * Why this exists
 * ---------------
 * Every program of the project (lmsd, tutord, lms, lms-migrate, lms-bench)
 * writes its diagnostics the same way, so that the lines of five nodes and
 * their tutors can be merged by timestamp and grepped by node:
 *
 *     2026-11-23T10:11:12.345Z node=3 lmsd INFO elected leader for term 7
 *
 * The timestamp is UTC wall-clock time with milliseconds; "node=-" is
 * printed by programs that are not a node (lms_log_init with node_id 0).
 *
 * Each record is formatted into one buffer of LMS_LOG_LINE_MAX bytes and
 * handed to a single write(2) on fd 2, so lines written by concurrent
 * processes sharing a pipe or file never interleave. Longer messages are
 * cut and end in "..."; newlines and other control characters in a message
 * are replaced by spaces so a record is always exactly one line.
 *
 * The macros test the level BEFORE evaluating their arguments (the Redis
 * habit): LMS_DEBUG("%s", expensive()) costs one comparison when debug is
 * off, and expensive() is not called.
 *
 * errno is preserved across every call, so "%m" and later errno checks in
 * the caller still see the caller's errno.
 *
 * Ownership / state
 * -----------------
 * The only state is the logger settings (program name copied into a fixed
 * buffer, node id, minimum level), set by lms_log_init() and
 * lms_log_set_level(). They are meant to be set once at start-up by the
 * main thread; no pointer passed in is kept.
 */
#ifndef LMS_LOG_H
#define LMS_LOG_H

#include <stdbool.h>

enum lms_log_level {
	LMS_LOG_DEBUG = 0,
	LMS_LOG_INFO = 1,
	LMS_LOG_WARN = 2,
	LMS_LOG_ERROR = 3,
};

/* Longest record, newline included (PIPE_BUF, so pipe writes are atomic). */
#define LMS_LOG_LINE_MAX 4096

/*
 * Set the program name (copied, cut to 31 bytes), the node id (0 = not a
 * node, printed as "node=-") and the minimum level. May be called again,
 * e.g. once the node id is known. Before any call the settings are
 * program "lms", node 0, level info.
 */
void lms_log_init(const char *program, unsigned node_id,
		  enum lms_log_level min);

void lms_log_set_level(enum lms_log_level min);
enum lms_log_level lms_log_get_level(void);

/* True if a record of this level would be written. */
bool lms_log_enabled(enum lms_log_level level);

/*
 * Parse "debug", "info", "warn" or "error" (exact, lower case).
 * Returns 0 and sets *out, or -EINVAL and leaves *out alone.
 */
int lms_log_level_parse(const char *s, enum lms_log_level *out);

/* "DEBUG", "INFO", "WARN", "ERROR"; "?" for a value outside the enum. */
const char *lms_log_level_name(enum lms_log_level level);

/*
 * Write one record unconditionally (the level is only printed). Callers
 * use the macros below, which filter first.
 */
void lms_log_write(enum lms_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define LMS_LOG(level, ...)                                      \
	do {                                                     \
		if (lms_log_enabled(level))                      \
			lms_log_write((level), __VA_ARGS__);     \
	} while (0)

#define LMS_DEBUG(...) LMS_LOG(LMS_LOG_DEBUG, __VA_ARGS__)
#define LMS_INFO(...) LMS_LOG(LMS_LOG_INFO, __VA_ARGS__)
#define LMS_WARN(...) LMS_LOG(LMS_LOG_WARN, __VA_ARGS__)
#define LMS_ERROR(...) LMS_LOG(LMS_LOG_ERROR, __VA_ARGS__)

#endif /* LMS_LOG_H */

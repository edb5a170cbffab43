/*
 * ndjson.h -- incremental splitter for newline-delimited JSON streams.
 *
 * Why this exists
 * ---------------
 * Ollama streams /api/chat as NDJSON: one JSON object per line. libcurl
 * hands the body over in whatever pieces the network produced, so a line
 * may arrive split across any number of write callbacks, and one callback
 * may carry several lines. This splitter turns that byte stream back into
 * whole lines, and it bounds the memory a hostile or broken server can make
 * us hold: a line longer than max_line is an error, detected as soon as the
 * pending bytes exceed the limit (we never wait for a newline that may
 * never come).
 *
 * Line rules: "\n" ends a line; one "\r" right before it is dropped (CRLF);
 * lines that are empty after that are skipped (keep-alive blank lines).
 * The limit counts the line's bytes without its "\r\n" or "\n".
 *
 * When a whole line lies inside one fed buffer and nothing is pending, the
 * callback gets a pointer into the caller's buffer (no copy); otherwise it
 * gets the splitter's own buffer. Either way the pointer is valid only for
 * the duration of the callback, and the line is NOT NUL-terminated.
 *
 * Ownership
 * ---------
 * struct ollama_ndjson lives in caller memory; its line buffer is heap
 * memory owned by it and released by ollama_ndjson_free. No global state;
 * one splitter per stream, not shared between threads.
 *
 * Errors
 * ------
 * 0, OLLAMA_NDJSON_TOO_LONG, -ENOMEM, or the first nonzero value returned
 * by the line callback (which stops the splitting at once). Errors are
 * sticky: once a feed failed, later feeds and finish return the same value
 * without calling the callback.
 */
#ifndef LMS_OLLAMA_NDJSON_H
#define LMS_OLLAMA_NDJSON_H

#include <errno.h>
#include <stddef.h>

/* A line exceeded max_line bytes. */
#define OLLAMA_NDJSON_TOO_LONG (-E2BIG)

/*
 * Called once per non-empty line; return nonzero to stop. It must not feed
 * the splitter that called it.
 */
typedef int (*ollama_line_fn)(const char *line, size_t len, void *user);

struct ollama_ndjson {
	char *buf;       /* pending bytes of an incomplete line */
	size_t len;
	size_t cap;
	size_t max_line; /* >= 1 */
	int error;       /* sticky first error, 0 if none */
};

/* Start an empty splitter; max_line 0 is taken as 1. Allocates nothing. */
void ollama_ndjson_init(struct ollama_ndjson *s, size_t max_line);

/* Split data[0..n) (n may be 0), calling fn for every line it completes. */
int ollama_ndjson_feed(struct ollama_ndjson *s, const char *data, size_t n,
		       ollama_line_fn fn, void *user)
	__attribute__((warn_unused_result));

/*
 * End of stream: a final line without a newline is delivered (unless it is
 * blank). The splitter is left empty and can be fed again.
 */
int ollama_ndjson_finish(struct ollama_ndjson *s, ollama_line_fn fn,
			 void *user)
	__attribute__((warn_unused_result));

/* Bytes of an incomplete line currently held. */
size_t ollama_ndjson_pending(const struct ollama_ndjson *s);

/* Release the buffer; the splitter may be re-initialised. NULL is fine. */
void ollama_ndjson_free(struct ollama_ndjson *s);

#endif /* LMS_OLLAMA_NDJSON_H */

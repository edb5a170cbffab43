/*
 * httpstatus.h -- the small HTTP server behind each daemon's status port:
 * GET /health, /status (JSON) and /metrics (Prometheus text).
 *
 * Why this exists
 * ---------------
 * lmsd and tutord expose the same three endpoints; the daemon supplies the
 * content through callbacks and this file does the HTTP (libevent's evhttp,
 * on the daemon's event loop). Only GET and HEAD are served; anything else
 * gets 405, unknown paths 404. The server binds the configured host only.
 *
 * Ownership: the callbacks and arg are borrowed for the server's life.
 */
#ifndef LMS_HTTPSTATUS_H
#define LMS_HTTPSTATUS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;

struct lms_http_handlers {
	/* Each appends its body to out and returns the HTTP status code
	 * (200, or 503 for /health when the daemon is not serving). */
	int (*health)(void *arg, struct evbuffer *out);
	int (*status)(void *arg, struct evbuffer *out);  /* JSON */
	int (*metrics)(void *arg, struct evbuffer *out); /* Prometheus */
	void *arg;
};

struct lms_http;

/* NULL on failure (message in err): could not bind host:port. */
struct lms_http *lms_http_new(struct event_base *base, const char *host,
                              uint16_t port,
                              const struct lms_http_handlers *h, char *err,
                              size_t errlen);
void lms_http_free(struct lms_http *s);

#endif

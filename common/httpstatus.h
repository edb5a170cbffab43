/*
 * httpstatus.h -- the small HTTP server behind each daemon's status port:
 * GET /health, /status (JSON) and /metrics (Prometheus text).
 *
 * Why this exists
 * ---------------
 * lmsd and tutord expose the same three endpoints; the daemon supplies the
 * content through callbacks and this file does the HTTP (libevent's evhttp,
 * on the daemon's event loop). A daemon may serve more paths through the
 * route callback (tutord's answer streams). Only GET and HEAD are served; anything else
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
struct evhttp_request;

struct lms_http_handlers {
	/* Each appends its body to out and returns the HTTP status code
	 * (200, or 503 for /health when the daemon is not serving). */
	int (*health)(void *arg, struct evbuffer *out);
	int (*status)(void *arg, struct evbuffer *out);  /* JSON */
	int (*metrics)(void *arg, struct evbuffer *out); /* Prometheus */
	/* Optional: any other GET path. Return 1 when it took the request
	 * over (it then sends the reply, e.g. a chunked stream, itself), 0
	 * for the 404. */
	int (*route)(void *arg, struct evhttp_request *req, const char *path);
	void *arg;
};

struct lms_http;

/* NULL on failure (message in err): could not bind host:port. */
struct lms_http *lms_http_new(struct event_base *base, const char *host,
                              uint16_t port,
                              const struct lms_http_handlers *h, char *err,
                              size_t errlen);
void lms_http_free(struct lms_http *s);

/* Appends s[0..len) to out as a JSON string (quotes, escapes; bytes from
 * 0x80 up are copied as they are: s must be UTF-8). */
void lms_http_json_str(struct evbuffer *out, const char *s, size_t len);

#endif

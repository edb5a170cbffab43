/*
 * httpstatus.c -- see httpstatus.h.
 */
#include "httpstatus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

struct lms_http {
	struct evhttp *http;
	struct lms_http_handlers h;
};

static void http_reply(struct evhttp_request *req, int code,
                       const char *type, struct evbuffer *body)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Content-Type", type);
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	const char *reason = code == 200   ? "OK"
	                     : code == 404 ? "Not Found"
	                     : code == 405 ? "Method Not Allowed"
	                     : code == 503 ? "Service Unavailable"
	                                   : "Error";
	evhttp_send_reply(req, code, reason, body);
}

static void http_on_request(struct evhttp_request *req, void *arg)
{
	struct lms_http *s = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evbuffer *body = evbuffer_new();
	if (!body) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evbuffer_add_printf(body, "only GET and HEAD are served\n");
		http_reply(req, 405, "text/plain; charset=utf-8", body);
		evbuffer_free(body);
		return;
	}
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!path)
		path = "/";
	int code;
	const char *type = "text/plain; charset=utf-8";
	if (strcmp(path, "/health") == 0) {
		code = s->h.health(s->h.arg, body);
	} else if (strcmp(path, "/status") == 0) {
		code = s->h.status(s->h.arg, body);
		type = "application/json";
	} else if (strcmp(path, "/metrics") == 0) {
		code = s->h.metrics(s->h.arg, body);
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else if (s->h.route && s->h.route(s->h.arg, req, path)) {
		evbuffer_free(body);
		return;
	} else {
		evbuffer_add_printf(body, "not found; try /health, /status or "
		                    "/metrics\n");
		code = 404;
	}
	http_reply(req, code, type, body);
	evbuffer_free(body);
}

struct lms_http *lms_http_new(struct event_base *base, const char *host,
                              uint16_t port,
                              const struct lms_http_handlers *h, char *err,
                              size_t errlen)
{
	struct lms_http *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->h = *h;
	s->http = evhttp_new(base);
	if (!s->http) {
		snprintf(err, errlen, "could not create HTTP server");
		free(s);
		return NULL;
	}
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	                                    EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	                                    EVHTTP_REQ_DELETE);
	evhttp_set_max_headers_size(s->http, 8192);
	evhttp_set_max_body_size(s->http, 0);
	evhttp_set_timeout(s->http, 10);
	evhttp_set_gencb(s->http, http_on_request, s);
	if (!evhttp_bind_socket_with_handle(s->http, host, port)) {
		snprintf(err, errlen, "could not listen on %s:%u for HTTP", host,
		         port);
		evhttp_free(s->http);
		free(s);
		return NULL;
	}
	return s;
}

void lms_http_free(struct lms_http *s)
{
	if (!s)
		return;
	evhttp_free(s->http);
	free(s);
}

void lms_http_json_str(struct evbuffer *out, const char *s, size_t len)
{
	evbuffer_add(out, "\"", 1);
	size_t run = 0; /* bytes copied as they are, pending */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		evbuffer_add(out, s + i - run, run);
		run = 0;
		if (c == '"' || c == '\\')
			evbuffer_add_printf(out, "\\%c", c);
		else if (c == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add_printf(out, "\\u%04x", c);
	}
	evbuffer_add(out, s + len - run, run);
	evbuffer_add(out, "\"", 1);
}

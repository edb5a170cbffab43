/*
 * live.c -- see live.h.
 *
 * Shared state (under mu): the live stream `cur` and the one before it,
 * `prev`, each with a generation number (0: none). Loop-thread state: the
 * subscribers, each following one generation, with how far it got (the
 * attempt it announced, its last state line, the bytes of text sent).
 * pump() brings one subscriber up to date; it runs when the worker wakes
 * the loop, when a subscriber arrives, and every LIVE_HEARTBEAT_MS.
 */
#include "live.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "httpstatus.h"
#include "util.h"

enum lstate { LS_NONE, LS_ANSWERING, LS_WAITING, LS_STORED, LS_RELEASED };

struct stream {
	uint64_t gen; /* 0: empty */
	char key[LIVE_KEY_LEN + 1];
	uint64_t question;
	enum lstate state;
	unsigned attempt;
	unsigned retry_ms;
	char reason[256];
	char *text;
	size_t len, cap;
};

struct sub {
	struct live *l;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	uint64_t gen;
	unsigned attempt;   /* the attempt its text belongs to */
	enum lstate state;  /* the last state line sent */
	size_t sent;        /* bytes of that attempt's text sent */
	uint64_t last_ms;   /* of the last write */
	struct sub *next;
};

struct live {
	struct event_base *base;
	struct event *wake, *tick;
	size_t max_text;
	pthread_mutex_t mu;
	struct stream cur, prev; /* under mu */
	uint64_t next_gen;       /* under mu */
	struct sub *subs;        /* loop thread */
	size_t n_subs;
};

/* ------------------------------------------------------ worker side */

int live_key_new(char key[LIVE_KEY_LEN + 1])
{
	unsigned char raw[LIVE_KEY_LEN / 2];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	lms_hex_encode(raw, sizeof raw, key);
	return 0;
}

static void stream_clear(struct stream *s)
{
	free(s->text);
	memset(s, 0, sizeof *s);
}

static void change_begin(struct live *l)
{
	pthread_mutex_lock(&l->mu);
}

/* Ends a change of the shared state and wakes the loop to send it. */
static void change_end(struct live *l)
{
	pthread_mutex_unlock(&l->mu);
	event_active(l->wake, 0, 0);
}

void live_begin(struct live *l, uint64_t question, const char *key)
{
	if (!l)
		return;
	change_begin(l);
	stream_clear(&l->prev);
	l->prev = l->cur;
	memset(&l->cur, 0, sizeof l->cur);
	l->cur.gen = ++l->next_gen;
	snprintf(l->cur.key, sizeof l->cur.key, "%s", key);
	l->cur.question = question;
	l->cur.state = LS_WAITING;
	snprintf(l->cur.reason, sizeof l->cur.reason,
	         "preparing the question");
	change_end(l);
}

void live_attempt(struct live *l)
{
	if (!l)
		return;
	change_begin(l);
	l->cur.attempt++;
	l->cur.state = LS_ANSWERING;
	l->cur.len = 0;
	l->cur.reason[0] = '\0';
	change_end(l);
}

void live_text(struct live *l, const char *text, size_t len)
{
	if (!l || !len)
		return;
	change_begin(l);
	struct stream *s = &l->cur;
	if (s->len + len > l->max_text)
		len = s->len < l->max_text ? l->max_text - s->len : 0;
	if (s->len + len + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		while (cap < s->len + len + 1)
			cap *= 2;
		char *t = realloc(s->text, cap);
		if (t) {
			s->text = t;
			s->cap = cap;
		} else {
			len = 0; /* the client compares with the
			            stored answer at the end */
		}
	}
	if (len) {
		memcpy(s->text + s->len, text, len);
		s->len += len;
	}
	change_end(l);
}

void live_wait(struct live *l, const char *reason, unsigned retry_ms)
{
	if (!l)
		return;
	change_begin(l);
	l->cur.state = LS_WAITING;
	l->cur.retry_ms = retry_ms;
	snprintf(l->cur.reason, sizeof l->cur.reason, "%s", reason);
	change_end(l);
}

void live_end(struct live *l, bool stored, const char *reason)
{
	if (!l)
		return;
	change_begin(l);
	l->cur.state = stored ? LS_STORED : LS_RELEASED;
	snprintf(l->cur.reason, sizeof l->cur.reason, "%s",
	         reason ? reason : "");
	change_end(l);
}

/* -------------------------------------------------------- loop side */

static void line_state(struct evbuffer *b, const struct stream *s,
                       enum lstate st)
{
	static const char *const names[] = {
		[LS_ANSWERING] = "answering", [LS_WAITING] = "waiting",
		[LS_STORED] = "stored", [LS_RELEASED] = "released"};
	evbuffer_add_printf(b, "{\"question\":%llu,\"state\":\"%s\"",
	                    (unsigned long long)s->question, names[st]);
	if (st == LS_ANSWERING)
		evbuffer_add_printf(b, ",\"attempt\":%u", s->attempt);
	if (st == LS_WAITING)
		evbuffer_add_printf(b, ",\"retry_ms\":%u", s->retry_ms);
	if ((st == LS_WAITING || st == LS_RELEASED) && *s->reason) {
		evbuffer_add_printf(b, ",\"reason\":");
		lms_http_json_str(b, s->reason, strlen(s->reason));
	}
	evbuffer_add(b, "}\n", 2);
}

static void sub_unlink(struct sub *u)
{
	struct live *l = u->l;
	for (struct sub **pp = &l->subs; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			l->n_subs--;
			break;
		}
	}
	free(u);
}

/* The client went away. libevent 2.1 frees a request still attached to
 * the connection with it; one whose reply was in progress (ours: a
 * chunked reply not yet ended) it detaches first and leaves to us. */
static void on_close(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	struct sub *u = arg;
	if (evhttp_request_get_connection(u->req) == NULL)
		evhttp_request_free(u->req);
	sub_unlink(u);
}

static void sub_finish(struct sub *u)
{
	evhttp_connection_set_closecb(u->conn, NULL, NULL);
	evhttp_send_reply_end(u->req);
	sub_unlink(u);
}

static void sub_write(struct sub *u, struct evbuffer *b)
{
	if (evbuffer_get_length(b) == 0)
		return;
	evhttp_send_reply_chunk(u->req, b);
	u->last_ms = lms_now_ms();
}

/* Brings u up to date (l->mu held); true when its stream ended. */
static bool pump_locked(struct sub *u, bool heartbeat)
{
	struct live *l = u->l;
	const struct stream *s = u->gen == l->cur.gen    ? &l->cur
	                         : u->gen == l->prev.gen ? &l->prev
	                                                 : NULL;
	struct evbuffer *b = evbuffer_new();
	if (!b)
		return false;
	if (!s) { /* two questions later: cannot happen in practice */
		evbuffer_add_printf(b, "{\"state\":\"released\",\"reason\":"
		                       "\"the stream is gone\"}\n");
		sub_write(u, b);
		evbuffer_free(b);
		return true;
	}
	if (u->attempt != s->attempt) {
		u->attempt = s->attempt;
		u->sent = 0;
		u->state = LS_NONE;
	}
	bool end = s->state == LS_STORED || s->state == LS_RELEASED;
	enum lstate live = end ? LS_ANSWERING : s->state;
	if (live == LS_ANSWERING && s->attempt == 0)
		live = LS_WAITING; /* ended before any request */
	if (u->state != live || (heartbeat && !end)) {
		line_state(b, s, live);
		u->state = live;
	}
	if (live == LS_ANSWERING && s->len > u->sent) {
		evbuffer_add_printf(b, "{\"text\":");
		lms_http_json_str(b, s->text + u->sent, s->len - u->sent);
		evbuffer_add(b, "}\n", 2);
		u->sent = s->len;
	}
	if (end)
		line_state(b, s, s->state);
	sub_write(u, b);
	evbuffer_free(b);
	return end;
}

static void pump_all(struct live *l, bool heartbeat_due)
{
	uint64_t now = lms_now_ms();
	pthread_mutex_lock(&l->mu);
	struct sub *u = l->subs;
	while (u) {
		struct sub *next = u->next;
		bool hb = heartbeat_due && now - u->last_ms >= LIVE_HEARTBEAT_MS;
		bool end = pump_locked(u, hb);
		if (end)
			sub_finish(u);
		u = next;
	}
	pthread_mutex_unlock(&l->mu);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump_all(arg, false);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump_all(arg, true);
}

static bool key_eq(const char *a, const char *b)
{
	/* constant time in the key's length */
	unsigned char d = 0;
	for (size_t i = 0; i < LIVE_KEY_LEN; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static void reply_plain(struct evhttp_request *req, int code,
                        const char *reason, const char *msg)
{
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add_printf(b, "{\"error\":");
	lms_http_json_str(b, msg, strlen(msg));
	evbuffer_add(b, "}\n", 2);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Content-Type", "application/json");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

int live_route(void *arg, struct evhttp_request *req, const char *path)
{
	struct live *l = arg;
	size_t plen = strlen(LIVE_PATH);
	if (strncmp(path, LIVE_PATH, plen) != 0)
		return 0;
	const char *key = path + plen;
	bool well_formed = strlen(key) == LIVE_KEY_LEN;
	for (size_t i = 0; well_formed && i < LIVE_KEY_LEN; i++)
		well_formed = (key[i] >= '0' && key[i] <= '9') ||
		              (key[i] >= 'a' && key[i] <= 'f');
	uint64_t gen = 0;
	pthread_mutex_lock(&l->mu);
	if (well_formed && l->cur.gen && key_eq(key, l->cur.key))
		gen = l->cur.gen;
	else if (well_formed && l->prev.gen && key_eq(key, l->prev.key))
		gen = l->prev.gen;
	pthread_mutex_unlock(&l->mu);
	if (!gen) {
		reply_plain(req, 404, "Not Found",
		            "no such answer stream here: the question is not "
		            "being answered by this tutor (any more)");
		return 1;
	}
	if (l->n_subs >= LIVE_MAX_CLIENTS) {
		reply_plain(req, 503, "Service Unavailable",
		            "too many answer streams open");
		return 1;
	}
	struct sub *u = calloc(1, sizeof *u);
	if (!u) {
		reply_plain(req, 500, "Error", "out of memory");
		return 1;
	}
	u->l = l;
	u->req = req;
	u->conn = evhttp_request_get_connection(req);
	u->gen = gen;
	u->next = l->subs;
	l->subs = u;
	l->n_subs++;
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Content-Type", "application/x-ndjson");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply_start(req, 200, "OK");
	evhttp_connection_set_closecb(u->conn, on_close, u);
	pthread_mutex_lock(&l->mu);
	bool end = pump_locked(u, false);
	if (end)
		sub_finish(u);
	pthread_mutex_unlock(&l->mu);
	return 1;
}

/* ------------------------------------------------------------ setup */

struct live *live_new(struct event_base *base, size_t max_text)
{
	struct live *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->base = base;
	l->max_text = max_text;
	pthread_mutex_init(&l->mu, NULL);
	l->wake = event_new(base, -1, 0, on_wake, l);
	l->tick = event_new(base, -1, EV_PERSIST, on_tick, l);
	struct timeval tv = {LIVE_HEARTBEAT_MS / 1000,
	                     (LIVE_HEARTBEAT_MS % 1000) * 1000};
	if (!l->wake || !l->tick || event_add(l->tick, &tv) != 0) {
		live_free(l);
		return NULL;
	}
	return l;
}

void live_free(struct live *l)
{
	if (!l)
		return;
	while (l->subs)
		sub_finish(l->subs);
	if (l->wake)
		event_free(l->wake);
	if (l->tick)
		event_free(l->tick);
	stream_clear(&l->cur);
	stream_clear(&l->prev);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

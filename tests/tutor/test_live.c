/*
 * test_live.c -- tutord's answer streams (tutord/live.h) over real HTTP.
 *
 * Each test runs live.c behind the status server of common/httpstatus.c
 * on an event loop thread, plays the worker on the test's thread
 * (live_begin .. live_end) and reads the stream with libcurl from a
 * client thread, which records every NDJSON line. Checked: the protocol
 * lines in order, the text (JSON-escaped and back) equal to what the
 * worker sent, a client joining late, a failed attempt and its retry,
 * the previous question still readable after the next began, wrong and
 * malformed keys, heartbeats, a client that goes away mid-stream (the
 * sanitizers watch), the text limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "httpstatus.h"
#include "live.h"

#define KEY1 "0123456789abcdef0123456789abcdef"
#define KEY2 "fedcba9876543210fedcba9876543210"

struct server {
	struct event_base *base;
	struct lms_http *http;
	struct live *live;
	unsigned port;
	pthread_t th;
};

static int no_body(void *arg, struct evbuffer *out)
{
	(void)arg;
	(void)out;
	return 200;
}

static int route(void *arg, struct evhttp_request *req, const char *path)
{
	struct server *s = arg;
	return live_route(s->live, req, path);
}

static void *loop_main(void *arg)
{
	struct server *s = arg;
	event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static unsigned free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t len = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static struct server *server_start(size_t max_text)
{
	struct server *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->base = event_base_new();
	assert_non_null(s->base);
	s->live = live_new(s->base, max_text);
	assert_non_null(s->live);
	struct lms_http_handlers h = {.health = no_body, .status = no_body,
	                              .metrics = no_body, .route = route,
	                              .arg = s};
	char err[256];
	for (int i = 0; i < 20 && !s->http; i++) {
		s->port = free_port();
		s->http = lms_http_new(s->base, "127.0.0.1",
		                       (uint16_t)s->port, &h, err, sizeof err);
	}
	assert_non_null(s->http);
	assert_int_equal(pthread_create(&s->th, NULL, loop_main, s), 0);
	return s;
}

static void server_stop(struct server *s)
{
	event_base_loopbreak(s->base);
	pthread_join(s->th, NULL);
	lms_http_free(s->http);
	live_free(s->live);
	event_base_free(s->base);
	free(s);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ----------------------------------------------------------- client */

#define MAX_LINES 256

struct client {
	char url[128];
	long status;
	CURLcode cc;
	int stop_after;         /* >0: hang up after this many lines */
	pthread_t th;
	pthread_mutex_t mu;
	char *lines[MAX_LINES]; /* under mu */
	size_t n;
	bool done;
	char partial[65536];
	size_t plen;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct client *c = arg;
	size_t n = size * nmemb;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n') {
			if (c->plen + 1 < sizeof c->partial)
				c->partial[c->plen++] = p[i];
			continue;
		}
		c->partial[c->plen] = '\0';
		pthread_mutex_lock(&c->mu);
		if (c->n < MAX_LINES)
			c->lines[c->n++] = strdup(c->partial);
		size_t got = c->n;
		pthread_mutex_unlock(&c->mu);
		c->plen = 0;
		if (c->stop_after && got >= (size_t)c->stop_after)
			return 0;
	}
	return n;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	c->cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
	curl_easy_cleanup(h);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static struct client *client_start(const struct server *s, const char *key,
                                   int stop_after)
{
	struct client *c = calloc(1, sizeof *c);
	assert_non_null(c);
	snprintf(c->url, sizeof c->url, "http://127.0.0.1:%u%s%s", s->port,
	         LIVE_PATH, key);
	c->stop_after = stop_after;
	pthread_mutex_init(&c->mu, NULL);
	assert_int_equal(pthread_create(&c->th, NULL, client_main, c), 0);
	return c;
}

static size_t client_lines(struct client *c)
{
	pthread_mutex_lock(&c->mu);
	size_t n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* Waits until the client has at least n lines (or ended). */
static void client_wait_lines(struct client *c, size_t n)
{
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&c->mu);
		bool ok = c->n >= n || c->done;
		pthread_mutex_unlock(&c->mu);
		if (ok)
			return;
		sleep_ms(10);
	}
	fail_msg("the client did not get %zu lines", n);
}

static void client_join(struct client *c)
{
	pthread_join(c->th, NULL);
}

static void client_free(struct client *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static json_t *line_json(const struct client *c, size_t i)
{
	assert_true(i < c->n);
	json_error_t e;
	json_t *j = json_loads(c->lines[i], 0, &e);
	if (!j)
		fail_msg("line %zu is not JSON: %s", i, c->lines[i]);
	return j;
}

/* The state of line i ("" for a text line). */
static const char *line_state(const struct client *c, size_t i,
                              char *buf, size_t len)
{
	json_t *j = line_json(c, i);
	const char *s = json_string_value(json_object_get(j, "state"));
	snprintf(buf, len, "%s", s ? s : "");
	json_decref(j);
	return buf;
}

/* The text of every text line from line `from` on, concatenated. */
static char *text_from(const struct client *c, size_t from)
{
	size_t cap = 1, len = 0;
	char *out = calloc(1, cap);
	for (size_t i = from; i < c->n; i++) {
		json_t *j = line_json(c, i);
		json_t *t = json_object_get(j, "text");
		if (json_is_string(t)) {
			size_t n = json_string_length(t);
			out = realloc(out, cap = len + n + 1);
			memcpy(out + len, json_string_value(t), n);
			len += n;
			out[len] = '\0';
		}
		json_decref(j);
	}
	return out;
}

/* The index of the last line with this state, or -1. */
static int last_state(const struct client *c, const char *state)
{
	char buf[32];
	int at = -1;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(line_state(c, i, buf, sizeof buf), state) == 0)
			at = (int)i;
	return at;
}

/* ------------------------------------------------------------ tests */

static void test_stream_in_order(void **state)
{
	(void)state;
	struct server *s = server_start(65536);
	live_begin(s->live, 7, KEY1);
	struct client *c = client_start(s, KEY1, 0);
	client_wait_lines(c, 1); /* the "waiting: preparing" line */
	live_attempt(s->live);
	const char *parts[] = {"Hello ", "\"world\"\n", "\x01tab\there ",
	                       "caf\xc3\xa9 \xe2\x82\xac", " \\ end"};
	for (size_t i = 0; i < 5; i++) {
		live_text(s->live, parts[i], strlen(parts[i]));
		sleep_ms(20);
	}
	live_end(s->live, true, NULL);
	client_join(c);
	assert_int_equal(c->cc, CURLE_OK);
	assert_int_equal(c->status, 200);
	char buf[32];
	assert_string_equal(line_state(c, 0, buf, sizeof buf), "waiting");
	json_t *j = line_json(c, 0);
	assert_int_equal(json_integer_value(json_object_get(j, "question")),
	                 7);
	assert_int_equal(json_integer_value(json_object_get(j, "retry_ms")),
	                 0);
	json_decref(j);
	assert_string_equal(line_state(c, 1, buf, sizeof buf), "answering");
	j = line_json(c, 1);
	assert_int_equal(json_integer_value(json_object_get(j, "attempt")),
	                 1);
	json_decref(j);
	/* text came in several lines, as it was produced */
	assert_true(c->n >= 2 + 3 + 1);
	char *text = text_from(c, 2);
	assert_string_equal(text, "Hello \"world\"\n\x01tab\there caf\xc3\xa9 "
	                          "\xe2\x82\xac \\ end");
	free(text);
	assert_string_equal(line_state(c, c->n - 1, buf, sizeof buf),
	                    "stored");
	client_free(c);
	server_stop(s);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	struct server *s = server_start(65536);
	/* nothing live at all */
	struct client *c = client_start(s, KEY1, 0);
	client_join(c);
	assert_int_equal(c->status, 404);
	client_free(c);
	live_begin(s->live, 1, KEY1);
	const char *bad[] = {KEY2, "0123", KEY1 "0",
	                     "0123456789ABCDEF0123456789ABCDEF", "../health"};
	for (size_t i = 0; i < 5; i++) {
		c = client_start(s, bad[i], 0);
		client_join(c);
		assert_int_equal(c->status, 404);
		/* "../health" never reaches the route (curl folds the path) */
		if (i < 4)
			assert_true(c->n == 1 &&
			            strstr(c->lines[0], "no such answer"));
		client_free(c);
	}
	live_end(s->live, false, "stop");
	server_stop(s);
}

static void test_late_join_and_release(void **state)
{
	(void)state;
	struct server *s = server_start(65536);
	live_begin(s->live, 9, KEY1);
	live_attempt(s->live);
	live_text(s->live, "abc", 3);
	live_text(s->live, "def", 3);
	struct client *c = client_start(s, KEY1, 0);
	client_wait_lines(c, 2);
	live_text(s->live, "gh", 2);
	live_end(s->live, false, "the claim ran out");
	client_join(c);
	char buf[32];
	assert_string_equal(line_state(c, 0, buf, sizeof buf), "answering");
	char *text = text_from(c, 1);
	assert_string_equal(text, "abcdefgh");
	free(text);
	int at = last_state(c, "released");
	assert_int_equal(at, (int)c->n - 1);
	json_t *j = line_json(c, (size_t)at);
	assert_string_equal(json_string_value(json_object_get(j, "reason")),
	                    "the claim ran out");
	json_decref(j);
	client_free(c);
	server_stop(s);
}

static void test_retry_after_failure(void **state)
{
	(void)state;
	struct server *s = server_start(65536);
	live_begin(s->live, 3, KEY1);
	struct client *c = client_start(s, KEY1, 0);
	client_wait_lines(c, 1);
	live_attempt(s->live);
	live_text(s->live, "half an ans", 11);
	client_wait_lines(c, 3);
	live_wait(s->live, "ollama is down", 750);
	client_wait_lines(c, 4);
	live_attempt(s->live);
	live_text(s->live, "the whole answer", 16);
	live_end(s->live, true, NULL);
	client_join(c);
	int w = last_state(c, "waiting");
	assert_true(w >= 1);
	json_t *j = line_json(c, (size_t)w);
	assert_string_equal(json_string_value(json_object_get(j, "reason")),
	                    "ollama is down");
	assert_int_equal(json_integer_value(json_object_get(j, "retry_ms")),
	                 750);
	json_decref(j);
	int a2 = last_state(c, "answering");
	assert_true(a2 > w);
	j = line_json(c, (size_t)a2);
	assert_int_equal(json_integer_value(json_object_get(j, "attempt")),
	                 2);
	json_decref(j);
	char *text = text_from(c, (size_t)a2);
	assert_string_equal(text, "the whole answer");
	free(text);
	text = text_from(c, 0);
	assert_string_equal(text, "half an ansthe whole answer");
	free(text);
	client_free(c);

	/* a client joining while the tutor waits sees no stale text */
	live_begin(s->live, 4, KEY2);
	live_attempt(s->live);
	live_text(s->live, "stale", 5);
	live_wait(s->live, "ollama is slow", 1000);
	c = client_start(s, KEY2, 1);
	client_join(c);
	char buf[32];
	assert_int_equal(c->n, 1);
	assert_string_equal(line_state(c, 0, buf, sizeof buf), "waiting");
	client_free(c);
	live_end(s->live, false, "stop");
	server_stop(s);
}

static void test_previous_question(void **state)
{
	(void)state;
	struct server *s = server_start(65536);
	live_begin(s->live, 1, KEY1);
	live_attempt(s->live);
	live_text(s->live, "first", 5);
	live_end(s->live, true, NULL);
	live_begin(s->live, 2, KEY2);
	live_attempt(s->live);
	live_text(s->live, "second", 6);
	struct client *c = client_start(s, KEY1, 0);
	client_join(c);
	assert_int_equal(c->status, 200);
	char *text = text_from(c, 0);
	assert_string_equal(text, "first");
	free(text);
	assert_int_equal(last_state(c, "stored"), (int)c->n - 1);
	client_free(c);
	live_end(s->live, true, NULL);
	/* two questions later the first is gone */
	live_begin(s->live, 3, KEY2);
	c = client_start(s, KEY1, 0);
	client_join(c);
	assert_int_equal(c->status, 404);
	client_free(c);
	live_end(s->live, false, "stop");
	server_stop(s);
}

static void test_heartbeat(void **state)
{
	(void)state;
	struct server *s = server_start(65536);
	live_begin(s->live, 5, KEY1);
	live_attempt(s->live);
	struct client *c = client_start(s, KEY1, 0);
	client_wait_lines(c, 1);
	sleep_ms(LIVE_HEARTBEAT_MS * 2 + 500);
	size_t n = client_lines(c);
	assert_true(n >= 2); /* the answering line again, at least once */
	live_end(s->live, true, NULL);
	client_join(c);
	char buf[32];
	for (size_t i = 0; i + 1 < n; i++)
		assert_string_equal(line_state(c, i, buf, sizeof buf),
		                    "answering");
	client_free(c);
	server_stop(s);
}

static void test_client_goes_away(void **state)
{
	(void)state;
	struct server *s = server_start(65536);
	live_begin(s->live, 6, KEY1);
	live_attempt(s->live);
	struct client *gone[3];
	for (int i = 0; i < 3; i++)
		gone[i] = client_start(s, KEY1, 2);
	for (int i = 0; i < 20; i++) {
		live_text(s->live, "more ", 5);
		sleep_ms(10);
	}
	for (int i = 0; i < 3; i++) {
		client_join(gone[i]);
		client_free(gone[i]);
	}
	for (int i = 0; i < 20; i++) {
		live_text(s->live, "more ", 5);
		sleep_ms(5);
	}
	/* the server still serves, and whole */
	struct client *c = client_start(s, KEY1, 0);
	client_wait_lines(c, 2);
	live_end(s->live, true, NULL);
	client_join(c);
	char *text = text_from(c, 0);
	assert_int_equal(strlen(text), 40 * 5);
	free(text);
	client_free(c);
	server_stop(s);
}

static void test_text_limit(void **state)
{
	(void)state;
	struct server *s = server_start(10);
	live_begin(s->live, 8, KEY1);
	live_attempt(s->live);
	live_text(s->live, "0123456", 7);
	live_text(s->live, "789abcdef", 9);
	live_end(s->live, true, NULL);
	struct client *c = client_start(s, KEY1, 0);
	client_join(c);
	char *text = text_from(c, 0);
	assert_string_equal(text, "0123456789");
	free(text);
	client_free(c);
	server_stop(s);
}

static void test_keys(void **state)
{
	(void)state;
	char a[LIVE_KEY_LEN + 1], b[LIVE_KEY_LEN + 1];
	assert_int_equal(live_key_new(a), 0);
	assert_int_equal(live_key_new(b), 0);
	assert_int_equal(strlen(a), LIVE_KEY_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), LIVE_KEY_LEN);
	assert_string_not_equal(a, b);
}

int main(void)
{
	evthread_use_pthreads();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_in_order),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_late_join_and_release),
		cmocka_unit_test(test_retry_after_failure),
		cmocka_unit_test(test_previous_question),
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_client_goes_away),
		cmocka_unit_test(test_text_limit),
		cmocka_unit_test(test_keys),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}

/*
 * stream.c -- reading a tutor's answer stream (tutord/live.h has the
 * protocol) for `lms ask`.
 *
 * The URL comes from the question's claimed_by, which only the tutor
 * account can set; it is still treated as untrusted: plain http only, no
 * redirects, a bounded line length and answer size, control characters
 * other than newline and tab dropped before they reach the terminal, and
 * the connection abandoned when nothing (not even the tutord's heartbeat)
 * arrives for ASK_STALL_S seconds.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lms.h"
#include "util.h"

#define STREAM_LINE_MAX (1u << 20)
#define STREAM_TEXT_MAX (1u << 20)
#define ASK_STALL_S 10
#define ASK_CONNECT_MS 3000

const char *ask_stream_url(const char *claimed_by)
{
	/* "<worker name> http://host:port/v1/stream/<key>" */
	const char *sp = claimed_by ? strrchr(claimed_by, ' ') : NULL;
	if (!sp || strncmp(sp + 1, "http://", 7) != 0)
		return NULL;
	return sp + 1;
}

struct reader {
	struct ask_stream *st;
	char *line;
	size_t len;
	bool overflow;
};

static void show_text(struct ask_stream *st, const char *s, size_t n)
{
	if (st->text_len + n > STREAM_TEXT_MAX)
		n = STREAM_TEXT_MAX - st->text_len;
	if (!n)
		return;
	memcpy(st->text + st->text_len, s, n);
	st->text_len += n;
	st->text[st->text_len] = '\0';
	if (!st->print)
		return;
	if (!st->shown_any)
		printf("\nThe tutor answers:\n\n");
	else if (st->text_len == n) /* the first text of a later attempt */
		printf("%s\n[the tutor starts its answer again]\n\n",
		       st->at_line_start ? "" : "\n");
	st->shown_any = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 || c == '\n' || c == '\t')
			putchar(c);
	}
	st->at_line_start = s[n - 1] == '\n';
	fflush(stdout);
}

static void newline(struct ask_stream *st)
{
	if (st->print && !st->at_line_start) {
		putchar('\n');
		st->at_line_start = true;
	}
}

static void on_line(struct ask_stream *st, const char *line, size_t len)
{
	json_error_t je;
	json_t *j = json_loadb(line, len, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return; /* not ours to show */
	}
	const char *state = json_string_value(json_object_get(j, "state"));
	json_t *text = json_object_get(j, "text");
	if (json_is_string(text) && st->attempt) {
		show_text(st, json_string_value(text),
		          json_string_length(text));
	} else if (state && strcmp(state, "answering") == 0) {
		unsigned attempt = (unsigned)json_integer_value(
			json_object_get(j, "attempt"));
		if (attempt && attempt != st->attempt) {
			st->attempt = attempt;
			st->text_len = 0;
			st->text[0] = '\0';
			st->waiting = false;
		}
	} else if (state && strcmp(state, "waiting") == 0) {
		json_int_t retry = json_integer_value(
			json_object_get(j, "retry_ms"));
		const char *reason = json_string_value(
			json_object_get(j, "reason"));
		if (retry > 0 && !st->waiting) {
			st->waiting = true;
			st->interrupted = true;
			if (st->print) {
				newline(st);
				char ex[256];
				printf("\n[waiting for the tutor: %s; it tries "
				       "again in %lld s]\n",
				       fmt_excerpt(reason ? reason
				                          : "its model does "
				                            "not answer",
				                   200, ex, sizeof ex),
				       (long long)(retry + 999) / 1000);
				fflush(stdout);
			}
			if (st->on_waiting) {
				st->on_waiting(st->arg);
				st->on_waiting = NULL;
			}
		}
	} else if (state && (strcmp(state, "stored") == 0 ||
	                     strcmp(state, "released") == 0)) {
		st->ended = true;
		st->stored = strcmp(state, "stored") == 0;
		if (!st->stored) {
			const char *reason = json_string_value(
				json_object_get(j, "reason"));
			snprintf(st->reason, sizeof st->reason, "%s",
			         reason ? reason : "");
		}
	}
	json_decref(j);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct reader *r = user;
	size_t n = size * nmemb;
	for (size_t i = 0; i < n; i++) {
		char c = ptr[i];
		if (c == '\n') {
			if (!r->overflow)
				on_line(r->st, r->line, r->len);
			r->len = 0;
			r->overflow = false;
			continue;
		}
		if (r->len + 1 >= STREAM_LINE_MAX) {
			r->overflow = true;
			continue;
		}
		r->line[r->len++] = c;
	}
	return r->st->ended ? 0 : n; /* 0 ends the transfer */
}

int ask_stream_init(struct ask_stream *st, bool print)
{
	memset(st, 0, sizeof *st);
	st->text = malloc(STREAM_TEXT_MAX + 1);
	if (!st->text)
		return -1;
	st->text[0] = '\0';
	st->print = print;
	st->at_line_start = true;
	return 0;
}

void ask_stream_free(struct ask_stream *st)
{
	free(st->text);
	st->text = NULL;
}

int ask_stream_follow(struct ask_stream *st, const char *url,
                      uint64_t deadline_ms, char *err, size_t errlen)
{
	static bool curl_ready;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
			snprintf(err, errlen, "could not initialise libcurl");
			return -1;
		}
		curl_ready = true;
	}
	uint64_t now = lms_now_ms();
	if (now >= deadline_ms) {
		snprintf(err, errlen, "no time left");
		return -1;
	}
	struct reader r = {.st = st, .line = malloc(STREAM_LINE_MAX)};
	CURL *h = curl_easy_init();
	if (!r.line || !h) {
		free(r.line);
		if (h)
			curl_easy_cleanup(h);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)ASK_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(deadline_ms - now));
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)ASK_STALL_S);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	CURLcode cc = curl_easy_perform(h);
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	free(r.line);
	if (st->ended)
		return 0; /* on_data stopped the transfer at the end line */
	newline(st);
	if (cc == CURLE_OK || cc == CURLE_PARTIAL_FILE ||
	    cc == CURLE_RECV_ERROR)
		snprintf(err, errlen, "the tutor's answer stream broke off");
	else if (cc == CURLE_OPERATION_TIMEDOUT && lms_now_ms() >= deadline_ms)
		snprintf(err, errlen, "stopped following the answer: the wait "
		         "is over");
	else if (cc == CURLE_OPERATION_TIMEDOUT && code == 200)
		snprintf(err, errlen, "the tutor's answer stream stalled "
		         "(nothing for %d s)", ASK_STALL_S);
	else if (code == 404)
		snprintf(err, errlen, "the tutor no longer streams this "
		         "question");
	else
		snprintf(err, errlen, "%s", *ebuf ? ebuf
		                                  : curl_easy_strerror(cc));
	return -1;
}

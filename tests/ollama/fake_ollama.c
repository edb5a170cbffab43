/*
 * fake_ollama.c -- a fake Ollama server on libevent's evhttp.
 *
 * What it serves (the real API, faithfully)
 * -----------------------------------------
 *   GET  /                 "Ollama is running"
 *   GET  /api/version      {"version":"0.5.7"}
 *   GET  /api/tags         {"models":[{name, model, modified_at, size,
 *                           digest, details{...}}]} for the model list
 *   POST /api/chat         {model, messages[{role, content}], stream
 *                           (default true), options{...}, keep_alive}
 *   POST /api/generate     {model, prompt, stream, options}
 *
 * Streaming replies (stream absent or true) use chunked transfer encoding,
 * Content-Type application/x-ndjson, one line per token, like Ollama:
 *
 *   {"model":M,"created_at":T,"message":{"role":"assistant",
 *    "content":"<th"},"done":false}
 *   ...
 *   {"model":M,"created_at":T,"message":{"role":"assistant","content":""},
 *    "done_reason":"stop","done":true,"total_duration":..,
 *    "load_duration":..,"prompt_eval_count":..,"prompt_eval_duration":..,
 *    "eval_count":..,"eval_duration":..}
 *
 * (/api/generate puts the piece in "response" instead of "message".) The
 * headers go out with the first line, as Go's server does, so a slow first
 * token is a slow response. With stream false the reply is that final
 * object with the whole text in message.content.
 *
 * Errors, as Ollama sends them ({"error": "..."}, application/json):
 *   400  body missing ("missing request body"), not JSON, no model
 *        ("model is required"), messages/options of the wrong type
 *   404  unknown model: {"error":"model \"X\" not found, try pulling it
 *        first"}; unknown path: "404 page not found" (text, like gin)
 *   405  wrong method
 * An empty message list loads the model and answers done_reason "load".
 * options.num_predict = N > 0 cuts the reply after N tokens with
 * done_reason "length".
 *
 * The generated text (deterministic, fake_ollama_reply_text)
 * ---------------------------------------------------------
 * PROMPT is the last user message (the prompt for /api/generate) without
 * its control words, blanks collapsed:
 *
 *   <think>\nThe student asks: "PROMPT". A <thin> tag is not a tag.\n
 *   </think>\n\nEcho: PROMPT\nNote: a<b and <thin> are not tags.
 *
 * cut into tokens of 3,1,4,1,5,9,2,6,5,3,5,8 bytes (cycling, extended to a
 * UTF-8 character boundary), so the tags are split at awkward places. The
 * visible answer a correct client shows is "Echo: PROMPT\nNote: a<b and
 * <thin> are not tags." (fake_ollama_visible_answer). Reported timings are
 * fake and deterministic: eval_duration = eval_count x 25 ms (40 tokens/s),
 * prompt_eval_count = bytes of all message contents / 4 + 1; created_at is
 * the time the reply was planned (when the request arrived).
 *
 * The control interface
 * ---------------------
 * Behaviour is chosen per request by control words in the last user
 * message (or the generate prompt): whitespace-separated words
 * "fake:KEY=VALUE" or "fake:FLAG". They override the server's default
 * mode, which is set by fake_ollama_set_mode (in-process), by --mode
 * KEY=VALUE on the command line, or by POST /_fake/mode with a JSON object
 * {"KEY": value, ..., "models": ["name", ...]} (the mode is reset to the
 * defaults first; {} resets it). GET /_fake/last_request returns the body
 * of the last /api/chat or /api/generate request (404 before any).
 *
 *   first_delay=MS     wait MS before the first line (and the headers)
 *   token_delay=MS     wait MS between lines
 *   error_after=N      after N tokens send {"error":"an error was
 *                      encountered while running the model"} and end the
 *                      stream (status stays 200); N past the last token:
 *                      instead of the done line; not streaming: 500
 *   error_message=TXT  text of injected errors ('_' stands for a blank)
 *   reset_after=N      after N tokens reset the TCP connection (SO_LINGER
 *                      0, then close); N=0: before any byte of the reply;
 *                      N past the last token: instead of the done line
 *   stall_after=N      after N tokens send nothing for stall_ms, then go on
 *   stall_ms=MS        length of the stall (default 30000)
 *   garbage_after=N    after N tokens send a line that is not JSON
 *   status=CODE        answer HTTP CODE with {"error": error_message}
 *   split=K            write every line in K-byte chunks, 1 ms apart, so a
 *                      line reaches the client in several reads
 *   huge_line=BYTES    the first token is BYTES bytes of 'x'
 *   no_open_think      omit "<think>" (deepseek-r1 often does)
 *   no_think           no think block at all
 *   unterminated_think the think block never closes; done_reason "length"
 *   thinking_field     thinking goes to message.thinking (newer Ollama with
 *                      "think": true), content carries only the answer
 *   no_done            end the stream without the final done line
 *
 * Every request (any path) is counted; the body of the last chat/generate
 * request is kept for inspection (fake_ollama_last_request).
 *
 * How a reply runs
 * ----------------
 * A reply is planned in full when the request arrives: a list of steps
 * (send these bytes, end the reply, send a whole reply, reset), each with
 * the delay before it. One timer per reply walks the list. Connections can
 * die under a reply (the client timed out or cancelled): the connection's
 * close callback only marks the reply closed and wakes its timer, which
 * frees it; libevent either frees the request with the connection or (a
 * reply in progress, detached from a failed connection) leaves it to us.
 * The loop runs in one thread; the shared settings are under a mutex.
 */
#include "fake_ollama.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>

#define FAKE_MAX_BODY (8 * 1024 * 1024)

/* ---------------------------------------------------------------------
 * Modes
 * ------------------------------------------------------------------- */

void fake_ollama_mode_default(struct fake_ollama_mode *m)
{
	memset(m, 0, sizeof(*m));
	m->error_after = -1;
	m->reset_after = -1;
	m->stall_after = -1;
	m->garbage_after = -1;
	m->stall_ms = 30000;
	snprintf(m->error_message, sizeof(m->error_message), "%s",
		 FAKE_OLLAMA_ERROR_TEXT);
}

static int mode_uint(const char *v, unsigned max, unsigned *out)
{
	char *end;
	unsigned long x;

	if (v == NULL || *v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end != '\0' || x > max)
		return -EINVAL;
	*out = (unsigned)x;
	return 0;
}

static int mode_int(const char *v, int *out)
{
	unsigned u;
	int rv = mode_uint(v, 1000000, &u);

	if (rv == 0)
		*out = (int)u;
	return rv;
}

static int mode_flag(const char *v, bool *out)
{
	if (v == NULL || *v == '\0' || strcmp(v, "1") == 0 ||
	    strcmp(v, "true") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

int fake_ollama_mode_set(struct fake_ollama_mode *m, const char *key,
			 const char *v)
{
	if (strcmp(key, "first_delay") == 0)
		return mode_uint(v, 3600000, &m->first_delay_ms);
	if (strcmp(key, "token_delay") == 0)
		return mode_uint(v, 3600000, &m->token_delay_ms);
	if (strcmp(key, "error_after") == 0)
		return mode_int(v, &m->error_after);
	if (strcmp(key, "reset_after") == 0)
		return mode_int(v, &m->reset_after);
	if (strcmp(key, "stall_after") == 0)
		return mode_int(v, &m->stall_after);
	if (strcmp(key, "stall_ms") == 0)
		return mode_uint(v, 3600000, &m->stall_ms);
	if (strcmp(key, "garbage_after") == 0)
		return mode_int(v, &m->garbage_after);
	if (strcmp(key, "status") == 0) {
		unsigned s;

		if (mode_uint(v, 599, &s) || s < 100)
			return -EINVAL;
		m->status = (int)s;
		return 0;
	}
	if (strcmp(key, "split") == 0)
		return mode_uint(v, 1000000, &m->split);
	if (strcmp(key, "huge_line") == 0)
		return mode_uint(v, 64 * 1024 * 1024, &m->huge_line);
	if (strcmp(key, "error_message") == 0) {
		size_t i;

		if (v == NULL || *v == '\0')
			return -EINVAL;
		snprintf(m->error_message, sizeof(m->error_message), "%s", v);
		for (i = 0; m->error_message[i]; i++)
			if (m->error_message[i] == '_')
				m->error_message[i] = ' ';
		return 0;
	}
	if (strcmp(key, "no_open_think") == 0)
		return mode_flag(v, &m->no_open_think);
	if (strcmp(key, "no_think") == 0)
		return mode_flag(v, &m->no_think);
	if (strcmp(key, "unterminated_think") == 0)
		return mode_flag(v, &m->unterminated_think);
	if (strcmp(key, "thinking_field") == 0)
		return mode_flag(v, &m->thinking_field);
	if (strcmp(key, "no_done") == 0)
		return mode_flag(v, &m->no_done);
	return -EINVAL;
}

/* "KEY=VALUE" or "FLAG". */
static int mode_set_word(struct fake_ollama_mode *m, const char *word)
{
	char key[64];
	const char *eq = strchr(word, '=');
	size_t kl = eq ? (size_t)(eq - word) : strlen(word);

	if (kl == 0 || kl >= sizeof(key))
		return -EINVAL;
	memcpy(key, word, kl);
	key[kl] = '\0';
	return fake_ollama_mode_set(m, key, eq ? eq + 1 : NULL);
}

/*
 * Split a user message into its control words (applied to m) and the
 * prompt (the other words joined by one blank). Returns a heap string.
 */
static char *mode_from_message(const char *msg, struct fake_ollama_mode *m)
{
	size_t len = strlen(msg);
	char *prompt = malloc(len + 1);
	char *copy = strdup(msg);
	char *save = NULL, *w;
	size_t n = 0;

	if (prompt == NULL || copy == NULL) {
		free(prompt);
		free(copy);
		return NULL;
	}
	for (w = strtok_r(copy, " \t\r\n", &save); w != NULL;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if (strncmp(w, "fake:", 5) == 0) {
			if (m != NULL && mode_set_word(m, w + 5) != 0)
				fprintf(stderr,
					"fake-ollama: ignoring bad control word "
					"\"%s\"\n",
					w);
			continue;
		}
		if (n > 0)
			prompt[n++] = ' ';
		memcpy(prompt + n, w, strlen(w));
		n += strlen(w);
	}
	prompt[n] = '\0';
	free(copy);
	return prompt;
}

/* ---------------------------------------------------------------------
 * The generated text
 * ------------------------------------------------------------------- */

static char *str_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static char *str_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static char *text_thinking(const char *prompt)
{
	return str_printf("The student asks: \"%s\". A <thin> tag is not a "
			  "tag.",
			  prompt);
}

static char *text_answer(const char *prompt)
{
	return str_printf("Echo: %s\nNote: a<b and <thin> are not tags.",
			  prompt);
}

static char *reply_text(const char *prompt, const struct fake_ollama_mode *m)
{
	char *think = text_thinking(prompt), *answer = text_answer(prompt);
	char *s = NULL;

	if (think == NULL || answer == NULL)
		goto out;
	if (m->no_think || m->thinking_field)
		s = strdup(answer);
	else if (m->unterminated_think)
		s = str_printf("<think>\n%s And more thinking, forever", think);
	else if (m->no_open_think)
		s = str_printf("\n%s\n</think>\n\n%s", think, answer);
	else
		s = str_printf("<think>\n%s\n</think>\n\n%s", think, answer);
out:
	free(think);
	free(answer);
	return s;
}

char *fake_ollama_reply_text(const char *user_message,
			     const struct fake_ollama_mode *m)
{
	struct fake_ollama_mode mm;
	char *prompt, *s;

	if (m == NULL) {
		fake_ollama_mode_default(&mm);
		m = &mm;
	}
	prompt = mode_from_message(user_message, NULL);
	if (prompt == NULL)
		return NULL;
	s = reply_text(prompt, m);
	free(prompt);
	return s;
}

char *fake_ollama_visible_answer(const char *user_message)
{
	char *prompt = mode_from_message(user_message, NULL);
	char *s;

	if (prompt == NULL)
		return NULL;
	s = text_answer(prompt);
	free(prompt);
	return s;
}

/* Token lengths, cycling; a token is extended to a character boundary. */
static const unsigned token_lens[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8};

/* Cut s into tokens: an array of heap strings, count in *n. */
static char **tokenize(const char *s, size_t *n)
{
	size_t len = strlen(s), cap = len + 1, k = 0, pos = 0;
	char **tok = calloc(cap, sizeof(*tok));

	if (tok == NULL)
		return NULL;
	while (pos < len) {
		size_t l = token_lens[k % (sizeof(token_lens) /
					   sizeof(token_lens[0]))];

		if (pos + l > len)
			l = len - pos;
		while (pos + l < len && ((unsigned char)s[pos + l] & 0xC0) ==
						0x80)
			l++;
		tok[k] = strndup(s + pos, l);
		if (tok[k] == NULL)
			break;
		k++;
		pos += l;
	}
	*n = k;
	return tok;
}

static void tokens_free(char **tok, size_t n)
{
	if (tok == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(tok[i]);
	free(tok);
}

/* ---------------------------------------------------------------------
 * The server object
 * ------------------------------------------------------------------- */

enum step_kind {
	STEP_DATA,  /* send bytes as one chunk (starts the reply) */
	STEP_END,   /* end the chunked reply */
	STEP_FULL,  /* send a whole (non-chunked) reply */
	STEP_RESET, /* reset the connection */
};

struct step {
	enum step_kind kind;
	unsigned delay_ms;
	char *data;
	size_t len;
	int status;       /* STEP_FULL */
	const char *ctype; /* STEP_FULL */
};

struct fake_stream {
	struct fake_ollama *f;
	struct evhttp_request *req; /* NULL once libevent freed it */
	struct event *timer;
	struct evbuffer *buf;
	struct step *steps;
	size_t n_steps, cap_steps, next;
	bool started;
	bool closed;
	const char *ctype;
	struct fake_stream *prev, *nextp;
};

struct fake_ollama {
	struct event_base *base;
	struct evhttp *http;
	struct event *stop_ev; /* activated to stop the loop */
	uint16_t port;
	pthread_t thread;
	bool threaded;
	struct fake_stream *streams; /* loop thread only */

	pthread_mutex_t mu; /* guards what follows */
	struct fake_ollama_mode mode;
	char **models;
	size_t n_models;
	char *last_request;
	unsigned n_requests;
	unsigned n_replies; /* replies planned and not yet freed */
};

static pthread_once_t evthread_once = PTHREAD_ONCE_INIT;

static void evthread_init_once(void)
{
	evthread_use_pthreads();
}

uint16_t fake_ollama_port(const struct fake_ollama *f)
{
	return f->port;
}

struct event_base *fake_ollama_base(struct fake_ollama *f)
{
	return f->base;
}

void fake_ollama_url(const struct fake_ollama *f, char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%u", (unsigned)f->port);
}

int fake_ollama_set_models(struct fake_ollama *f, const char *const *names,
			   size_t n)
{
	char **m = calloc(n + 1, sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		m[i] = strdup(names[i]);
		if (m[i] == NULL) {
			for (size_t j = 0; j < i; j++)
				free(m[j]);
			free(m);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n_models; i++)
		free(f->models[i]);
	free(f->models);
	f->models = m;
	f->n_models = n;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

void fake_ollama_set_mode(struct fake_ollama *f,
			  const struct fake_ollama_mode *m)
{
	pthread_mutex_lock(&f->mu);
	f->mode = *m;
	pthread_mutex_unlock(&f->mu);
}

char *fake_ollama_last_request(struct fake_ollama *f)
{
	char *s;

	pthread_mutex_lock(&f->mu);
	s = f->last_request ? strdup(f->last_request) : NULL;
	pthread_mutex_unlock(&f->mu);
	return s;
}

unsigned fake_ollama_active_replies(struct fake_ollama *f)
{
	unsigned n;

	pthread_mutex_lock(&f->mu);
	n = f->n_replies;
	pthread_mutex_unlock(&f->mu);
	return n;
}

unsigned fake_ollama_request_count(struct fake_ollama *f)
{
	unsigned n;

	pthread_mutex_lock(&f->mu);
	n = f->n_requests;
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* Ollama's comparison: no tag means ":latest", case ignored. */
static bool model_same(const char *a, const char *b)
{
	char ca[300], cb[300];

	snprintf(ca, sizeof(ca), "%s%s", a, strchr(a, ':') ? "" : ":latest");
	snprintf(cb, sizeof(cb), "%s%s", b, strchr(b, ':') ? "" : ":latest");
	return strcasecmp(ca, cb) == 0;
}

static bool model_known(struct fake_ollama *f, const char *name)
{
	bool found = false;

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n_models && !found; i++)
		found = model_same(f->models[i], name);
	pthread_mutex_unlock(&f->mu);
	return found;
}

/* ---------------------------------------------------------------------
 * Replies
 * ------------------------------------------------------------------- */

static void reply_json(struct evhttp_request *req, int status,
		       const char *reason, json_t *body)
{
	struct evbuffer *b = evbuffer_new();
	char *s = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	if (b == NULL || s == NULL) {
		free(s);
		if (b)
			evbuffer_free(b);
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add(b, s, strlen(s));
	free(s);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/json; charset=utf-8");
	evhttp_send_reply(req, status, reason, b);
	evbuffer_free(b);
}

static void reply_error(struct evhttp_request *req, int status,
			const char *reason, const char *msg)
{
	reply_json(req, status, reason, json_pack("{s:s}", "error", msg));
}

static void reply_plain(struct evhttp_request *req, int status,
		       const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add(b, text, strlen(text));
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "text/plain; charset=utf-8");
	evhttp_send_reply(req, status, reason, b);
	evbuffer_free(b);
}

static const char *status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	}
	return "Error";
}

static void created_at(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char date[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", date, ts.tv_nsec);
}

/* ---------------------------------------------------------------------
 * Streams: planned steps walked by a timer
 * ------------------------------------------------------------------- */

static void stream_free(struct fake_stream *st)
{
	struct fake_ollama *f = st->f;

	pthread_mutex_lock(&f->mu);
	f->n_replies--;
	pthread_mutex_unlock(&f->mu);
	if (st->prev)
		st->prev->nextp = st->nextp;
	else
		f->streams = st->nextp;
	if (st->nextp)
		st->nextp->prev = st->prev;
	if (st->req != NULL && st->closed) {
		/* Detached from its dead connection: ours to free. */
		evhttp_request_free(st->req);
	}
	if (st->timer)
		event_free(st->timer);
	if (st->buf)
		evbuffer_free(st->buf);
	for (size_t i = 0; i < st->n_steps; i++)
		free(st->steps[i].data);
	free(st->steps);
	free(st);
}

static int stream_add(struct fake_stream *st, enum step_kind kind,
		      unsigned delay_ms, const char *data, size_t len)
{
	struct step *s;

	if (st->n_steps == st->cap_steps) {
		size_t cap = st->cap_steps ? st->cap_steps * 2 : 32;
		struct step *ns = realloc(st->steps, cap * sizeof(*ns));

		if (ns == NULL)
			return -ENOMEM;
		st->steps = ns;
		st->cap_steps = cap;
	}
	s = &st->steps[st->n_steps];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->delay_ms = delay_ms;
	if (data != NULL) {
		s->data = malloc(len ? len : 1);
		if (s->data == NULL)
			return -ENOMEM;
		memcpy(s->data, data, len);
		s->len = len;
	}
	st->n_steps++;
	return 0;
}

/* A line (newline added), split into K-byte chunks if asked. */
static int stream_add_line(struct fake_stream *st, unsigned delay_ms,
			   const char *line, unsigned split)
{
	size_t len = strlen(line);
	char *l = malloc(len + 1);
	size_t off = 0;
	int rv = 0;

	if (l == NULL)
		return -ENOMEM;
	memcpy(l, line, len);
	l[len++] = '\n';
	if (split == 0) {
		rv = stream_add(st, STEP_DATA, delay_ms, l, len);
	} else {
		while (rv == 0 && off < len) {
			size_t k = len - off < split ? len - off : split;

			rv = stream_add(st, STEP_DATA, off ? 1 : delay_ms,
					l + off, k);
			off += k;
		}
	}
	free(l);
	return rv;
}

static void stream_closecb(struct evhttp_connection *evcon, void *arg)
{
	struct fake_stream *st = arg;

	/*
	 * A request still attached is freed by libevent with the
	 * connection right after this callback; a detached one is ours.
	 */
	if (st->req != NULL && evhttp_request_get_connection(st->req) != NULL)
		st->req = NULL;
	st->closed = true;
	event_active(st->timer, EV_TIMEOUT, 1);
}

static void stream_detach_closecb(struct fake_stream *st)
{
	struct evhttp_connection *evcon =
		st->req ? evhttp_request_get_connection(st->req) : NULL;

	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
}

static void stream_reset(struct fake_stream *st)
{
	struct evhttp_connection *evcon =
		evhttp_request_get_connection(st->req);

	if (evcon != NULL) {
		struct bufferevent *bev =
			evhttp_connection_get_bufferevent(evcon);
		evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		evhttp_connection_set_closecb(evcon, NULL, NULL);
		st->req = NULL; /* freed with its connection */
		evhttp_connection_free(evcon);
	}
	stream_free(st);
}

static void stream_start_reply(struct fake_stream *st)
{
	if (st->started)
		return;
	st->started = true;
	evhttp_add_header(evhttp_request_get_output_headers(st->req),
			  "Content-Type", st->ctype);
	evhttp_send_reply_start(st->req, 200, "OK");
}

static void stream_step(evutil_socket_t fd, short what, void *arg)
{
	struct fake_stream *st = arg;
	struct step *s;
	struct timeval tv;

	if (st->closed || st->req == NULL || st->next >= st->n_steps) {
		stream_free(st);
		return;
	}
	s = &st->steps[st->next++];
	switch (s->kind) {
	case STEP_DATA:
		stream_start_reply(st);
		evbuffer_add(st->buf, s->data, s->len);
		evhttp_send_reply_chunk(st->req, st->buf);
		break;
	case STEP_END:
		stream_start_reply(st);
		stream_detach_closecb(st);
		evhttp_send_reply_end(st->req);
		st->req = NULL;
		stream_free(st);
		return;
	case STEP_FULL:
		stream_detach_closecb(st);
		evbuffer_add(st->buf, s->data, s->len);
		evhttp_add_header(evhttp_request_get_output_headers(st->req),
				  "Content-Type", s->ctype);
		evhttp_send_reply(st->req, s->status, status_reason(s->status),
				  st->buf);
		st->req = NULL;
		stream_free(st);
		return;
	case STEP_RESET:
		stream_reset(st);
		return;
	}
	if (st->closed || st->next >= st->n_steps) {
		event_active(st->timer, EV_TIMEOUT, 1);
		return;
	}
	tv.tv_sec = st->steps[st->next].delay_ms / 1000;
	tv.tv_usec = (st->steps[st->next].delay_ms % 1000) * 1000;
	evtimer_add(st->timer, &tv);
}

static struct fake_stream *stream_new(struct fake_ollama *f,
				      struct evhttp_request *req,
				      const char *ctype)
{
	struct fake_stream *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->f = f;
	st->req = req;
	st->ctype = ctype;
	st->timer = evtimer_new(f->base, stream_step, st);
	st->buf = evbuffer_new();
	if (st->timer == NULL || st->buf == NULL) {
		st->req = NULL;
		if (st->timer)
			event_free(st->timer);
		if (st->buf)
			evbuffer_free(st->buf);
		free(st);
		return NULL;
	}
	st->nextp = f->streams;
	if (f->streams)
		f->streams->prev = st;
	f->streams = st;
	pthread_mutex_lock(&f->mu);
	f->n_replies++;
	pthread_mutex_unlock(&f->mu);
	return st;
}

static void stream_go(struct fake_stream *st)
{
	struct timeval tv;
	unsigned d = st->n_steps ? st->steps[0].delay_ms : 0;

	evhttp_connection_set_closecb(evhttp_request_get_connection(st->req),
				      stream_closecb, st);
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	evtimer_add(st->timer, &tv);
}

/* ---------------------------------------------------------------------
 * Planning a chat / generate reply
 * ------------------------------------------------------------------- */

struct plan_in {
	const char *model;
	bool chat;            /* /api/chat (message) or /api/generate */
	bool stream;
	long num_predict;
	const char *user;     /* last user message / prompt */
	size_t prompt_bytes;  /* all message contents */
};

static json_t *piece_object(const struct plan_in *in, const char *content,
			    const char *thinking, bool done)
{
	char ts[64];
	json_t *o;

	created_at(ts, sizeof(ts));
	o = json_pack("{s:s, s:s}", "model", in->model, "created_at", ts);
	if (o == NULL)
		return NULL;
	if (in->chat) {
		json_t *m = json_pack("{s:s, s:s}", "role", "assistant",
				      "content", content);

		if (m && thinking)
			json_object_set_new(m, "thinking", json_string(thinking));
		json_object_set_new(o, "message", m);
	} else {
		json_object_set_new(o, "response", json_string(content));
		if (thinking)
			json_object_set_new(o, "thinking",
					    json_string(thinking));
	}
	json_object_set_new(o, "done", json_boolean(done));
	return o;
}

static void piece_stats(json_t *o, const char *reason, size_t prompt_bytes,
			size_t eval_count)
{
	uint64_t pe = prompt_bytes / 4 + 1;
	uint64_t load = 1000000, ped = pe * 1000000ull;
	uint64_t ed = (uint64_t)eval_count * FAKE_OLLAMA_NS_PER_TOKEN;

	/* Ollama's key order: done_reason before done. */
	json_object_del(o, "done");
	json_object_set_new(o, "done_reason", json_string(reason));
	json_object_set_new(o, "done", json_true());
	json_object_set_new(o, "total_duration",
			    json_integer((json_int_t)(load + ped + ed)));
	json_object_set_new(o, "load_duration", json_integer((json_int_t)load));
	json_object_set_new(o, "prompt_eval_count",
			    json_integer((json_int_t)pe));
	json_object_set_new(o, "prompt_eval_duration",
			    json_integer((json_int_t)ped));
	json_object_set_new(o, "eval_count",
			    json_integer((json_int_t)eval_count));
	json_object_set_new(o, "eval_duration", json_integer((json_int_t)ed));
}

static int plan_line(struct fake_stream *st, unsigned delay, json_t *o,
		     unsigned split)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rv;

	json_decref(o);
	if (s == NULL)
		return -ENOMEM;
	rv = stream_add_line(st, delay, s, split);
	free(s);
	return rv;
}

static int plan_full(struct fake_stream *st, unsigned delay, int status,
		     json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rv;

	json_decref(o);
	if (s == NULL)
		return -ENOMEM;
	rv = stream_add(st, STEP_FULL, delay, s, strlen(s));
	if (rv == 0) {
		st->steps[st->n_steps - 1].status = status;
		st->steps[st->n_steps - 1].ctype =
			"application/json; charset=utf-8";
	}
	free(s);
	return rv;
}

static int plan_stream(struct fake_stream *st, const struct plan_in *in,
		       const struct fake_ollama_mode *m, char **tok, size_t n,
		       size_t n_think, const char *reason)
{
	unsigned delay = m->first_delay_ms;
	size_t i;
	int rv = 0;

	for (i = 0; rv == 0 && i <= n; i++) {
		/* at token i; a count past the last token: before "done" */
		bool reset_now = m->reset_after >= 0 &&
				 ((size_t)m->reset_after == i ||
				  (i == n && (size_t)m->reset_after > n));
		bool error_now = m->error_after >= 0 &&
				 ((size_t)m->error_after == i ||
				  (i == n && (size_t)m->error_after > n));

		if (reset_now)
			return stream_add(st, STEP_RESET, delay, NULL, 0);
		if (error_now) {
			rv = plan_line(st, delay,
				       json_pack("{s:s}", "error",
						 m->error_message),
				       m->split);
			return rv ? rv : stream_add(st, STEP_END, 0, NULL, 0);
		}
		if ((size_t)m->garbage_after == i && m->garbage_after >= 0) {
			rv = stream_add_line(st, delay,
					     "<html>this is not json</html>",
					     m->split);
			delay = m->token_delay_ms;
		}
		if ((size_t)m->stall_after == i && m->stall_after >= 0)
			delay += m->stall_ms;
		if (i == n || rv)
			break;
		if (i < n_think)
			rv = plan_line(st, delay,
				       piece_object(in, "", tok[i], false),
				       m->split);
		else
			rv = plan_line(st, delay,
				       piece_object(in, tok[i], NULL, false),
				       m->split);
		delay = m->token_delay_ms;
	}
	if (rv == 0 && !m->no_done) {
		json_t *o = piece_object(in, "", NULL, true);

		if (o != NULL)
			piece_stats(o, reason, in->prompt_bytes, n);
		rv = plan_line(st, delay, o, m->split);
		delay = 0;
	}
	return rv ? rv : stream_add(st, STEP_END, delay, NULL, 0);
}

static int plan_whole(struct fake_stream *st, const struct plan_in *in,
		      const struct fake_ollama_mode *m, const char *text,
		      const char *thinking, size_t n, const char *reason)
{
	unsigned delay = m->first_delay_ms + m->token_delay_ms * (unsigned)n;
	json_t *o;

	if (m->stall_after >= 0)
		delay += m->stall_ms;
	if (m->reset_after >= 0)
		return stream_add(st, STEP_RESET, delay, NULL, 0);
	if (m->error_after >= 0)
		return plan_full(st, delay, 500,
				 json_pack("{s:s}", "error", m->error_message));
	if (m->garbage_after >= 0) {
		int rv = stream_add(st, STEP_FULL, delay, "not json", 8);

		if (rv == 0) {
			st->steps[st->n_steps - 1].status = 200;
			st->steps[st->n_steps - 1].ctype = "application/json";
		}
		return rv;
	}
	o = piece_object(in, text, thinking, !m->no_done);
	if (o != NULL && !m->no_done)
		piece_stats(o, reason, in->prompt_bytes, n);
	return plan_full(st, delay, 200, o);
}

/* Plan and start the reply to a valid chat/generate request. */
static void serve_generation(struct fake_ollama *f, struct evhttp_request *req,
			     struct plan_in *in)
{
	struct fake_ollama_mode m;
	struct fake_stream *st;
	char *prompt, *text = NULL, *think = NULL;
	char **tok = NULL, **ttok = NULL;
	size_t n = 0, nt = 0, n_all;
	const char *reason = "stop";
	int rv = -ENOMEM;

	pthread_mutex_lock(&f->mu);
	m = f->mode;
	pthread_mutex_unlock(&f->mu);
	prompt = mode_from_message(in->user, &m);
	if (prompt == NULL)
		goto fail;

	if (m.status != 0) {
		st = stream_new(f, req, "application/json; charset=utf-8");
		if (st == NULL ||
		    plan_full(st, m.first_delay_ms, m.status,
			      json_pack("{s:s}", "error", m.error_message))) {
			if (st)
				stream_free(st);
			goto fail;
		}
		stream_go(st);
		free(prompt);
		return;
	}

	text = reply_text(prompt, &m);
	if (text == NULL)
		goto fail;
	if (m.huge_line > 0) {
		/* one token of huge_line bytes before the text */
		char *big = malloc(m.huge_line + strlen(text) + 1);

		if (big == NULL)
			goto fail;
		memset(big, 'x', m.huge_line);
		strcpy(big + m.huge_line, text);
		free(text);
		text = big;
	}
	tok = tokenize(text + m.huge_line, &n);
	if (tok == NULL)
		goto fail;
	if (m.huge_line > 0) {
		char **nt2 = realloc(tok, (n + 1) * sizeof(*tok));

		if (nt2 == NULL)
			goto fail;
		tok = nt2;
		memmove(tok + 1, tok, n * sizeof(*tok));
		tok[0] = strndup(text, m.huge_line);
		n++;
		if (tok[0] == NULL)
			goto fail;
	}
	if (m.thinking_field) {
		think = text_thinking(prompt);
		ttok = think ? tokenize(think, &nt) : NULL;
		if (ttok == NULL)
			goto fail;
	}
	if (m.unterminated_think)
		reason = "length";
	n_all = nt + n;
	if (in->num_predict > 0 && n_all > (size_t)in->num_predict) {
		n_all = (size_t)in->num_predict;
		reason = "length";
	}

	st = stream_new(f, req,
			in->stream ? "application/x-ndjson"
				   : "application/json; charset=utf-8");
	if (st == NULL)
		goto fail;
	if (in->stream) {
		/* thinking tokens first, then content tokens, in one array */
		char **all = calloc(nt + n + 1, sizeof(*all));

		if (all == NULL) {
			stream_free(st);
			goto fail;
		}
		for (size_t i = 0; i < nt; i++)
			all[i] = ttok[i];
		for (size_t i = 0; i < n; i++)
			all[nt + i] = tok[i];
		rv = plan_stream(st, in, &m, all, n_all, nt, reason);
		free(all);
	} else {
		/* the whole text, cut like the stream would be */
		size_t keep = n_all > nt ? n_all - nt : 0, len = 0;

		for (size_t i = 0; i < keep && i < n; i++)
			len += strlen(tok[i]);
		text[len] = '\0';
		rv = plan_whole(st, in, &m, text, think, n_all, reason);
	}
	if (rv) {
		stream_free(st);
		goto fail;
	}
	stream_go(st);
	goto out;
fail:
	reply_error(req, 500, "Internal Server Error", "fake: out of memory");
out:
	tokens_free(tok, n);
	tokens_free(ttok, nt);
	free(think);
	free(text);
	free(prompt);
}

/* ---------------------------------------------------------------------
 * Request handlers
 * ------------------------------------------------------------------- */

/* The request body as a NUL-terminated heap string (or NULL). */
static char *request_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	evbuffer_copyout(in, s, n);
	s[n] = '\0';
	*len = n;
	return s;
}

static void handle_tags(struct fake_ollama *f, struct evhttp_request *req)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; arr && i < f->n_models; i++) {
		const char *name = f->models[i];
		char digest[65];
		unsigned long h = 5381;

		for (const char *p = name; *p; p++)
			h = h * 33 + (unsigned char)*p;
		for (int k = 0; k < 64; k++)
			digest[k] = "0123456789abcdef"[(h >> ((k % 16) * 4)) &
						       0xF];
		digest[64] = '\0';
		json_array_append_new(
			arr,
			json_pack("{s:s, s:s, s:s, s:I, s:s, s:{s:s, s:s, "
				  "s:s, s:[s], s:s, s:s}}",
				  "name", name, "model", name, "modified_at",
				  "2025-01-29T10:00:00.000000000Z", "size",
				  (json_int_t)1117322599, "digest", digest,
				  "details", "parent_model", "", "format",
				  "gguf", "family", "qwen2", "families",
				  "qwen2", "parameter_size", "1.8B",
				  "quantization_level", "Q4_K_M"));
	}
	pthread_mutex_unlock(&f->mu);
	reply_json(req, 200, "OK", json_pack("{s:o}", "models", arr));
}

static void handle_generation(struct fake_ollama *f,
			      struct evhttp_request *req, bool chat)
{
	struct plan_in in = {.chat = chat, .stream = true};
	char *body;
	size_t len;
	json_t *root = NULL, *v, *msgs, *opts;
	json_error_t je;
	char msg[512];

	body = request_body(req, &len);
	if (body == NULL) {
		reply_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	pthread_mutex_lock(&f->mu);
	free(f->last_request);
	f->last_request = strdup(body);
	pthread_mutex_unlock(&f->mu);

	if (len == 0) {
		reply_error(req, 400, "Bad Request", "missing request body");
		goto out;
	}
	root = json_loadb(body, len, 0, &je);
	if (!json_is_object(root)) {
		snprintf(msg, sizeof(msg), "invalid request body: %s",
			 root ? "not an object" : je.text);
		reply_error(req, 400, "Bad Request", msg);
		goto out;
	}
	v = json_object_get(root, "model");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		reply_error(req, 400, "Bad Request", "model is required");
		goto out;
	}
	in.model = json_string_value(v);
	v = json_object_get(root, "stream");
	if (v != NULL && !json_is_boolean(v)) {
		reply_error(req, 400, "Bad Request",
			    "json: cannot unmarshal stream into bool");
		goto out;
	}
	if (v != NULL)
		in.stream = json_is_true(v);
	opts = json_object_get(root, "options");
	if (opts != NULL && !json_is_object(opts)) {
		reply_error(req, 400, "Bad Request",
			    "json: cannot unmarshal options into map");
		goto out;
	}
	v = json_object_get(opts, "num_predict");
	if (json_is_integer(v))
		in.num_predict = (long)json_integer_value(v);

	if (!model_known(f, in.model)) {
		snprintf(msg, sizeof(msg),
			 "model \"%s\" not found, try pulling it first",
			 in.model);
		reply_error(req, 404, "Not Found", msg);
		goto out;
	}

	if (chat) {
		size_t i;
		json_t *m;

		msgs = json_object_get(root, "messages");
		if (msgs != NULL && !json_is_array(msgs)) {
			reply_error(req, 400, "Bad Request",
				    "json: cannot unmarshal messages into "
				    "array");
			goto out;
		}
		json_array_foreach(msgs, i, m) {
			json_t *role = json_object_get(m, "role");
			json_t *content = json_object_get(m, "content");

			if (!json_is_string(role) ||
			    (content && !json_is_string(content))) {
				reply_error(req, 400, "Bad Request",
					    "invalid message");
				goto out;
			}
			if (content)
				in.prompt_bytes += json_string_length(content);
			if (strcmp(json_string_value(role), "user") == 0)
				in.user = content ? json_string_value(content)
						  : "";
		}
		if (json_array_size(msgs) == 0) {
			/* Ollama loads the model and says so. */
			json_t *o = piece_object(&in, "", NULL, true);

			json_object_del(o, "done");
			json_object_set_new(o, "done_reason",
					    json_string("load"));
			json_object_set_new(o, "done", json_true());
			reply_json(req, 200, "OK", o);
			goto out;
		}
	} else {
		v = json_object_get(root, "prompt");
		if (v != NULL && !json_is_string(v)) {
			reply_error(req, 400, "Bad Request",
				    "json: cannot unmarshal prompt into "
				    "string");
			goto out;
		}
		in.user = v ? json_string_value(v) : "";
		in.prompt_bytes = strlen(in.user);
	}
	if (in.user == NULL)
		in.user = "";
	serve_generation(f, req, &in);
out:
	json_decref(root);
	free(body);
}

static void handle_mode(struct fake_ollama *f, struct evhttp_request *req)
{
	struct fake_ollama_mode m;
	size_t len;
	char *body = request_body(req, &len);
	json_t *root = NULL, *v, *models = NULL;
	const char *key;
	char val[256];

	fake_ollama_mode_default(&m);
	if (body == NULL) {
		reply_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	root = len ? json_loadb(body, len, 0, NULL) : json_object();
	if (!json_is_object(root)) {
		reply_error(req, 400, "Bad Request", "expected a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "models") == 0) {
			models = v;
			continue;
		}
		if (json_is_integer(v))
			snprintf(val, sizeof(val), "%lld",
				 (long long)json_integer_value(v));
		else if (json_is_boolean(v))
			snprintf(val, sizeof(val), "%s",
				 json_is_true(v) ? "true" : "false");
		else if (json_is_string(v))
			snprintf(val, sizeof(val), "%s", json_string_value(v));
		else
			val[0] = '\0';
		if (fake_ollama_mode_set(&m, key, val) != 0) {
			char msg[300];

			snprintf(msg, sizeof(msg), "bad mode key \"%s\"", key);
			reply_error(req, 400, "Bad Request", msg);
			goto out;
		}
	}
	if (models != NULL) {
		const char *names[64];
		size_t n = 0, i;
		json_t *e;

		json_array_foreach(models, i, e) {
			if (json_is_string(e) && n < 64)
				names[n++] = json_string_value(e);
		}
		if (fake_ollama_set_models(f, names, n) != 0) {
			reply_error(req, 500, "Internal Server Error",
				    "out of memory");
			goto out;
		}
	}
	fake_ollama_set_mode(f, &m);
	reply_json(req, 200, "OK", json_pack("{s:b}", "ok", 1));
out:
	json_decref(root);
	free(body);
}

static void handle_request(struct evhttp_request *req, void *arg)
{
	struct fake_ollama *f = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev =
		evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
	bool post = cmd == EVHTTP_REQ_POST;

	/* Like Go's server: no Nagle delay for our small writes. */
	if (bev != NULL && bufferevent_getfd(bev) >= 0) {
		int one = 1;

		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
			   &one, sizeof(one));
	}
	pthread_mutex_lock(&f->mu);
	f->n_requests++;
	pthread_mutex_unlock(&f->mu);
	if (path == NULL)
		path = "/";

	if (strcmp(path, "/") == 0 && get) {
		reply_plain(req, 200, "OK", "Ollama is running");
	} else if (strcmp(path, "/api/version") == 0 && get) {
		reply_json(req, 200, "OK",
			   json_pack("{s:s}", "version", "0.5.7"));
	} else if (strcmp(path, "/api/tags") == 0 && get) {
		handle_tags(f, req);
	} else if (strcmp(path, "/api/chat") == 0 && post) {
		handle_generation(f, req, true);
	} else if (strcmp(path, "/api/generate") == 0 && post) {
		handle_generation(f, req, false);
	} else if (strcmp(path, "/_fake/mode") == 0 && post) {
		handle_mode(f, req);
	} else if (strcmp(path, "/_fake/last_request") == 0 && get) {
		char *s = fake_ollama_last_request(f);

		if (s == NULL) {
			reply_error(req, 404, "Not Found", "no request yet");
		} else {
			struct evbuffer *b = evbuffer_new();

			if (b) {
				evbuffer_add(b, s, strlen(s));
				evhttp_add_header(
					evhttp_request_get_output_headers(req),
					"Content-Type", "application/json");
				evhttp_send_reply(req, 200, "OK", b);
				evbuffer_free(b);
			} else {
				evhttp_send_error(req, 500, NULL);
			}
			free(s);
		}
	} else if (strcmp(path, "/api/tags") == 0 ||
		   strcmp(path, "/api/chat") == 0 ||
		   strcmp(path, "/api/generate") == 0 ||
		   strcmp(path, "/api/version") == 0 ||
		   strncmp(path, "/_fake/", 7) == 0) {
		reply_error(req, 405, "Method Not Allowed",
			    "method not allowed");
	} else {
		reply_plain(req, 404, "Not Found", "404 page not found");
	}
}

/* ---------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------- */

/*
 * Stopping goes through an event rather than a bare loopbreak: a loopbreak
 * that comes before the loop thread has entered event_base_loop would be
 * forgotten, an active event is not.
 */
static void fake_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fake_ollama *f = arg;

	event_base_loopbreak(f->base);
}

struct fake_ollama *fake_ollama_new(uint16_t port)
{
	struct fake_ollama *f;
	struct evhttp_bound_socket *sock;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	const char *def = FAKE_OLLAMA_DEFAULT_MODEL;

	signal(SIGPIPE, SIG_IGN);
	pthread_once(&evthread_once, evthread_init_once);
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	pthread_mutex_init(&f->mu, NULL);
	fake_ollama_mode_default(&f->mode);
	if (fake_ollama_set_models(f, &def, 1) != 0)
		goto err;
	f->base = event_base_new();
	if (f->base == NULL)
		goto err;
	f->stop_ev = event_new(f->base, -1, 0, fake_stop_cb, f);
	if (f->stop_ev == NULL)
		goto err;
	f->http = evhttp_new(f->base);
	if (f->http == NULL)
		goto err;
	evhttp_set_max_body_size(f->http, FAKE_MAX_BODY);
	evhttp_set_allowed_methods(f->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
						    EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT |
						    EVHTTP_REQ_DELETE);
	evhttp_set_gencb(f->http, handle_request, f);
	sock = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", port);
	if (sock == NULL) {
		fprintf(stderr, "fake-ollama: could not listen on 127.0.0.1:%u: "
				"%s\n",
			(unsigned)port, strerror(errno));
		goto err;
	}
	if (getsockname(evhttp_bound_socket_get_fd(sock),
			(struct sockaddr *)&sa, &salen) != 0)
		goto err;
	f->port = ntohs(sa.sin_port);
	return f;
err:
	fake_ollama_free(f);
	return NULL;
}

int fake_ollama_run(struct fake_ollama *f)
{
	return event_base_dispatch(f->base) < 0 ? -EIO : 0;
}

static void *fake_thread_main(void *arg)
{
	struct fake_ollama *f = arg;

	event_base_loop(f->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

int fake_ollama_start_thread(struct fake_ollama *f)
{
	int rv = pthread_create(&f->thread, NULL, fake_thread_main, f);

	if (rv != 0)
		return -rv;
	f->threaded = true;
	return 0;
}

void fake_ollama_stop(struct fake_ollama *f)
{
	event_active(f->stop_ev, 0, 1);
	if (f->threaded && !pthread_equal(pthread_self(), f->thread)) {
		pthread_join(f->thread, NULL);
		f->threaded = false;
	}
}

void fake_ollama_free(struct fake_ollama *f)
{
	if (f == NULL)
		return;
	if (f->stop_ev != NULL)
		fake_ollama_stop(f);
	/* Replies still running: libevent frees attached requests. */
	while (f->streams != NULL) {
		struct fake_stream *st = f->streams;

		if (!st->closed) {
			stream_detach_closecb(st);
			st->req = NULL;
		}
		stream_free(st);
	}
	if (f->http != NULL)
		evhttp_free(f->http);
	if (f->stop_ev != NULL)
		event_free(f->stop_ev);
	if (f->base != NULL)
		event_base_free(f->base);
	for (size_t i = 0; i < f->n_models; i++)
		free(f->models[i]);
	free(f->models);
	free(f->last_request);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* ---------------------------------------------------------------------
 * Child process mode
 * ------------------------------------------------------------------- */

int fake_ollama_spawn(const char *exe, const char *const *args,
		      struct fake_ollama_child *out)
{
	const char *argv[64];
	size_t argc = 0;
	int pfd[2];
	pid_t pid;
	char line[256];
	size_t n = 0;
	unsigned port = 0;

	argv[argc++] = exe;
	argv[argc++] = "--port";
	argv[argc++] = "0";
	for (size_t i = 0; args != NULL && args[i] != NULL && argc < 63; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;

	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pfd[0]);
		close(pfd[1]);
		return -e;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while (n < sizeof(line) - 1) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			break;
		r = read(pfd[0], line + n, 1);
		if (r <= 0)
			break;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(pfd[0]);
	{
		const char *colon = strrchr(line, ':');

		if (colon == NULL || strstr(line, "listening on") == NULL ||
		    sscanf(colon + 1, "%u", &port) != 1 || port == 0 ||
		    port > 65535) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -EIO;
		}
	}
	out->pid = pid;
	out->port = (uint16_t)port;
	return 0;
}

void fake_ollama_child_stop(struct fake_ollama_child *ch)
{
	if (ch->pid <= 0)
		return;
	kill(ch->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(ch->pid, NULL, WNOHANG) == ch->pid) {
			ch->pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, NULL, 0);
	ch->pid = 0;
}

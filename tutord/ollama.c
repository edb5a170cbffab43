/*
 * ollama.c -- the Ollama HTTP client (API and guarantees in ollama.h).
 *
 * Shape of a request
 * ------------------
 * Every call runs one blocking curl_easy_perform on the client's easy
 * handle (reset before each request, so no option leaks from one request
 * to the next, while libcurl's connection cache keeps the HTTP connection
 * alive). The body arrives in write callbacks:
 *
 *   status != 200 or not streaming  ->  collected in ctx.body (bounded)
 *   streaming 200                   ->  ndjson splitter -> chat_line ->
 *                                       chat_object -> think stripper ->
 *                                       chat_emit -> answer + on_content
 *
 * Anything wrong inside a callback (an {"error"} line, bad JSON, a line or
 * answer over its limit, the caller cancelling) is recorded in the context
 * with its message, and the callback returns a short count, which makes
 * libcurl abort the transfer with CURLE_WRITE_ERROR; after the transfer the
 * recorded error wins over libcurl's. Transport failures are classified
 * from libcurl's code (client_curl_failure).
 *
 * An error line sets the error before its content could be used, and the
 * answer is only handed out when the transfer succeeded AND the final
 * "done" object was seen: an error string can never become an answer.
 */
#include "ollama.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "config.h"
#include "ndjson.h"
#include "think.h"
#include "util.h"

#ifndef LMS_VERSION
#define LMS_VERSION "0"
#endif

#define CLIENT_URL_MAX 512
#define CLIENT_ERROR_BODY_MAX (8 * 1024)
#define CLIENT_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define CLIENT_DEFAULT_REQUEST_TIMEOUT_MS 180000
#define CLIENT_CANCEL_POLL_MS 200

struct ollama_client {
	char *url;        /* normalised base URL, no trailing slash */
	char *model;
	char *keep_alive; /* NULL: not sent */
	unsigned connect_timeout_ms;
	unsigned request_timeout_ms;
	unsigned stall_timeout_ms;
	double temperature;
	unsigned num_ctx;
	int num_predict;
	size_t max_line_bytes;
	size_t max_answer_bytes;
	bool loopback;    /* never go through an HTTP proxy */
	CURL *curl;
	char curl_err[CURL_ERROR_SIZE];
	char errmsg[OLLAMA_ERRMSG_MAX];
};

const char *ollama_error_name(int code)
{
	switch (code) {
	case OLLAMA_OK: return "ok";
	case OLLAMA_ERR_INVALID: return "invalid";
	case OLLAMA_ERR_NOMEM: return "out of memory";
	case OLLAMA_ERR_UNREACHABLE: return "unreachable";
	case OLLAMA_ERR_TIMEOUT: return "timeout";
	case OLLAMA_ERR_NETWORK: return "network";
	case OLLAMA_ERR_HTTP: return "http";
	case OLLAMA_ERR_MODEL_NOT_FOUND: return "model not found";
	case OLLAMA_ERR_STREAM: return "stream error";
	case OLLAMA_ERR_MALFORMED: return "malformed response";
	case OLLAMA_ERR_CANCELLED: return "cancelled";
	}
	return "unknown";
}

/* ---------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------- */

struct obuf {
	char *p;
	size_t len, cap;
};

/* Append; 1 if it would exceed max (nothing appended), -ENOMEM, 0. */
static int obuf_add(struct obuf *b, const char *p, size_t n, size_t max)
{
	if (n == 0)
		return 0;
	if (b->len + n > max)
		return 1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void obuf_free(struct obuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static int client_fail(struct ollama_client *c, int code, const char *fmt,
		       ...) __attribute__((format(printf, 3, 4)));

static int client_fail(struct ollama_client *c, int code, const char *fmt,
		       ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	return code;
}

/*
 * Copy at most max bytes of s for a message, replacing control characters
 * and cutting at a UTF-8 character boundary.
 */
static void printable(char *out, size_t outlen, const char *s, size_t len)
{
	size_t max = outlen - 1, n = 0;

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[n++] = (ch < 0x20 || ch == 0x7F) ? ' ' : (char)ch;
	}
	out[n] = '\0';
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
}

/* ---------------------------------------------------------------------
 * Global state and the client object
 * ------------------------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init_once(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ollama_global_init(void)
{
	pthread_once(&global_once, global_init_once);
	return global_rc == CURLE_OK ? OLLAMA_OK : OLLAMA_ERR_NOMEM;
}

void ollama_global_cleanup(void)
{
	curl_global_cleanup();
}

void ollama_config_from_tutor(struct ollama_config *cfg,
			      const struct lms_tutor_config *t)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->url = t->ollama_url;
	cfg->model = t->model;
	cfg->connect_timeout_ms = t->connect_timeout_ms;
	cfg->request_timeout_ms = t->request_timeout_ms;
	cfg->temperature = t->temperature;
	cfg->num_ctx = t->num_ctx;
	cfg->num_predict = t->num_predict;
	cfg->keep_alive = t->keep_alive;
}

static bool url_is_loopback(const char *url)
{
	const char *h = strstr(url, "://");

	h = h ? h + 3 : url;
	return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost:", 10) == 0 ||
	       strncmp(h, "[::1]:", 6) == 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int ollama_client_new(const struct ollama_config *cfg,
		      struct ollama_client **out, char *err, size_t errlen)
{
	struct ollama_client *c;
	char url[CLIENT_URL_MAX];
	const char *env = NULL;
	const char *src;
	int rv;

	if (cfg == NULL || out == NULL) {
		set_err(err, errlen, "invalid ollama client configuration");
		return OLLAMA_ERR_INVALID;
	}
	if (cfg->model == NULL || cfg->model[0] == '\0' ||
	    !lms_utf8_valid(cfg->model, strlen(cfg->model))) {
		set_err(err, errlen, "no valid ollama model name configured");
		return OLLAMA_ERR_INVALID;
	}
	if (!(cfg->temperature >= 0.0 && cfg->temperature <= 2.0)) {
		set_err(err, errlen,
			"ollama temperature %g is out of range 0..2",
			cfg->temperature);
		return OLLAMA_ERR_INVALID;
	}
	if (cfg->num_predict < -2) {
		set_err(err, errlen, "ollama num_predict %d is out of range",
			cfg->num_predict);
		return OLLAMA_ERR_INVALID;
	}
	if (!cfg->ignore_env) {
		env = getenv("OLLAMA_HOST");
		if (env != NULL && env[0] == '\0')
			env = NULL;
	}
	src = env ? env : (cfg->url ? cfg->url : OLLAMA_DEFAULT_URL);
	rv = ollama_url_normalize(src, url, sizeof(url));
	if (rv) {
		set_err(err, errlen, "invalid %s \"%s\": %s",
			env ? "OLLAMA_HOST" : "ollama URL", src,
			rv == -ENOSPC ? "too long"
				      : "expected [http[s]://]host[:port]");
		return OLLAMA_ERR_INVALID;
	}
	if (ollama_global_init() != OLLAMA_OK) {
		set_err(err, errlen, "could not initialise libcurl");
		return OLLAMA_ERR_NOMEM;
	}

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto err_nomem;
	c->url = strdup(url);
	if (c->url == NULL)
		goto err_after_client;
	c->model = strdup(cfg->model);
	if (c->model == NULL)
		goto err_after_client;
	if (cfg->keep_alive != NULL && cfg->keep_alive[0] != '\0') {
		c->keep_alive = strdup(cfg->keep_alive);
		if (c->keep_alive == NULL)
			goto err_after_client;
	}
	c->curl = curl_easy_init();
	if (c->curl == NULL)
		goto err_after_client;
	c->connect_timeout_ms = cfg->connect_timeout_ms
					? cfg->connect_timeout_ms
					: CLIENT_DEFAULT_CONNECT_TIMEOUT_MS;
	c->request_timeout_ms = cfg->request_timeout_ms
					? cfg->request_timeout_ms
					: CLIENT_DEFAULT_REQUEST_TIMEOUT_MS;
	c->stall_timeout_ms = cfg->stall_timeout_ms
				      ? cfg->stall_timeout_ms
				      : OLLAMA_DEFAULT_STALL_TIMEOUT_MS;
	c->temperature = cfg->temperature;
	c->num_ctx = cfg->num_ctx;
	c->num_predict = cfg->num_predict;
	c->max_line_bytes = cfg->max_line_bytes
				    ? cfg->max_line_bytes
				    : OLLAMA_DEFAULT_MAX_LINE_BYTES;
	c->max_answer_bytes = cfg->max_answer_bytes
				      ? cfg->max_answer_bytes
				      : OLLAMA_DEFAULT_MAX_ANSWER_BYTES;
	c->loopback = url_is_loopback(c->url);
	*out = c;
	return OLLAMA_OK;

err_after_client:
	ollama_client_free(c);
err_nomem:
	set_err(err, errlen, "out of memory");
	return OLLAMA_ERR_NOMEM;
}

void ollama_client_free(struct ollama_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->keep_alive);
	free(c->model);
	free(c->url);
	free(c);
}

const char *ollama_client_url(const struct ollama_client *c)
{
	return c->url;
}

const char *ollama_client_model(const struct ollama_client *c)
{
	return c->model;
}

const char *ollama_errmsg(const struct ollama_client *c)
{
	return c->errmsg;
}

void ollama_result_free(struct ollama_result *res)
{
	if (res == NULL)
		return;
	free(res->answer);
	free(res->done_reason);
	memset(res, 0, sizeof(*res));
}

/* ---------------------------------------------------------------------
 * libcurl plumbing shared by every request
 * ------------------------------------------------------------------- */

/* The per-request context; chat and tags use the parts they need. */
struct req_ctx {
	struct ollama_client *c;
	const char *model;                     /* for messages */
	const struct ollama_chat_request *req; /* NULL for tags */
	struct ollama_result *res;             /* NULL for tags */
	bool stream;
	bool status_known;
	long status;
	struct obuf body;      /* non-200 or non-streamed body */
	size_t body_max;
	struct ollama_ndjson nd;
	struct ollama_think think;
	struct obuf answer;
	uint64_t start_ms;
	uint64_t last_poll_ms;
	uint64_t last_activity_ms; /* last time bytes moved */
	curl_off_t last_dl, last_ul;
	bool done;             /* saw "done": true */
	bool cancelled;
	bool stalled;          /* no bytes for stall_timeout_ms */
	int err;               /* first error found inside a callback */
};

static int ctx_fail(struct req_ctx *x, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the first error met inside a callback; returns -1 (stop). */
static int ctx_fail(struct req_ctx *x, int code, const char *fmt, ...)
{
	va_list ap;

	if (x->err == OLLAMA_OK) {
		x->err = code;
		va_start(ap, fmt);
		vsnprintf(x->c->errmsg, sizeof(x->c->errmsg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int chat_line(const char *line, size_t len, void *user);

static size_t req_write(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct req_ctx *x = user;
	size_t n = size * nmemb;
	int rv;

	if (!x->status_known) {
		long st = 0;

		curl_easy_getinfo(x->c->curl, CURLINFO_RESPONSE_CODE, &st);
		x->status = st;
		x->status_known = true;
	}
	if (x->status != 200 || !x->stream) {
		rv = obuf_add(&x->body, ptr, n, x->body_max);
		if (rv == -ENOMEM) {
			ctx_fail(x, OLLAMA_ERR_NOMEM, "out of memory");
			return 0;
		}
		if (rv > 0 && x->status == 200) {
			ctx_fail(x, OLLAMA_ERR_MALFORMED,
				 "response from ollama at %s exceeds %zu bytes",
				 x->c->url, x->body_max);
			return 0;
		}
		return n; /* an error body is cut, the rest ignored */
	}
	rv = ollama_ndjson_feed(&x->nd, ptr, n, chat_line, x);
	if (rv == 0)
		return n;
	if (rv == OLLAMA_NDJSON_TOO_LONG)
		ctx_fail(x, OLLAMA_ERR_MALFORMED,
			 "line in ollama stream from %s exceeds %zu bytes",
			 x->c->url, x->c->max_line_bytes);
	else if (rv == -ENOMEM)
		ctx_fail(x, OLLAMA_ERR_NOMEM, "out of memory");
	return 0;
}

/*
 * Called by libcurl at least about once a second, and whenever data moves.
 * The stall limit is ours rather than CURLOPT_LOW_SPEED_*: libcurl judges
 * speed over a window of about five seconds, so a stream that sent a burst
 * and then stopped would be noticed seconds late.
 */
static int req_progress(void *user, curl_off_t dltotal, curl_off_t dlnow,
			curl_off_t ultotal, curl_off_t ulnow)
{
	struct req_ctx *x = user;
	uint64_t now = lms_now_ms();

	if (dlnow != x->last_dl || ulnow != x->last_ul) {
		x->last_dl = dlnow;
		x->last_ul = ulnow;
		x->last_activity_ms = now;
	} else if (now - x->last_activity_ms >= x->c->stall_timeout_ms) {
		x->stalled = true;
		return 1;
	}
	if (x->req == NULL || x->req->should_cancel == NULL)
		return 0;
	if (now - x->last_poll_ms < CLIENT_CANCEL_POLL_MS)
		return 0;
	x->last_poll_ms = now;
	if (x->req->should_cancel(x->req->user)) {
		x->cancelled = true;
		return 1;
	}
	return 0;
}

static int req_setup(struct req_ctx *x, const char *path,
		     struct curl_slist *headers, const char *body)
{
	struct ollama_client *c = x->c;
	CURL *h = c->curl;
	char url[CLIENT_URL_MAX + 64];
	CURLcode rc = CURLE_OK;

	snprintf(url, sizeof(url), "%s%s", c->url, path);
	curl_easy_reset(h);
	c->curl_err[0] = '\0';
#define SET(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, c->curl_err);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, (long)c->request_timeout_ms);
	SET(CURLOPT_USERAGENT, "lms-tutord/" LMS_VERSION);
	SET(CURLOPT_WRITEFUNCTION, req_write);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_XFERINFOFUNCTION, req_progress);
	SET(CURLOPT_XFERINFODATA, x);
	SET(CURLOPT_NOPROGRESS, 0L);
	if (c->loopback)
		SET(CURLOPT_PROXY, "");
	if (headers != NULL)
		SET(CURLOPT_HTTPHEADER, headers);
	if (body != NULL) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
#undef SET
	if (rc != CURLE_OK)
		return client_fail(c, OLLAMA_ERR_INVALID,
				   "could not set up request to ollama at %s: %s",
				   c->url, curl_easy_strerror(rc));
	x->start_ms = lms_now_ms();
	x->last_poll_ms = x->start_ms;
	x->last_activity_ms = x->start_ms;
	return OLLAMA_OK;
}

/* Whether the last transfer had a connection: a new one (connect time)
 * or a kept one, which has no connect time but did reach the point of
 * sending the request (pretransfer time) or got a status. */
static bool client_connected(struct ollama_client *c)
{
	curl_off_t connect_us = 0, pretransfer_us = 0;
	long status = 0;
	curl_easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &connect_us);
	curl_easy_getinfo(c->curl, CURLINFO_PRETRANSFER_TIME_T,
			  &pretransfer_us);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	return connect_us > 0 || pretransfer_us > 0 || status > 0;
}

/* Turn a failed transfer (not one of our own callback errors) into a code. */
static int client_curl_failure(struct req_ctx *x, CURLcode rc)
{
	struct ollama_client *c = x->c;
	const char *why = c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc);

	if (rc == CURLE_ABORTED_BY_CALLBACK && x->stalled) {
		if (!client_connected(c))
			return client_fail(c, OLLAMA_ERR_UNREACHABLE,
					   "could not connect to ollama at %s: "
					   "no answer for %u ms",
					   c->url, c->stall_timeout_ms);
		return client_fail(c, OLLAMA_ERR_TIMEOUT,
				   "ollama at %s stalled: no data for %u ms",
				   c->url, c->stall_timeout_ms);
	}
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return client_fail(c, OLLAMA_ERR_UNREACHABLE,
				   "could not connect to ollama at %s: %s",
				   c->url, why);
	case CURLE_OPERATION_TIMEDOUT:
		if (!client_connected(c))
			return client_fail(c, OLLAMA_ERR_UNREACHABLE,
					   "could not connect to ollama at %s: "
					   "timed out after %u ms",
					   c->url, c->connect_timeout_ms);
		return client_fail(c, OLLAMA_ERR_TIMEOUT,
				   "ollama at %s did not answer within %u ms",
				   c->url, c->request_timeout_ms);
	case CURLE_ABORTED_BY_CALLBACK:
		return client_fail(c, OLLAMA_ERR_CANCELLED,
				   "request to ollama at %s was cancelled",
				   c->url);
	case CURLE_OUT_OF_MEMORY:
		return client_fail(c, OLLAMA_ERR_NOMEM, "out of memory");
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		return client_fail(c, OLLAMA_ERR_NETWORK,
				   "connection to ollama at %s lost: %s",
				   c->url, why);
	default:
		return client_fail(c, OLLAMA_ERR_NETWORK,
				   "request to ollama at %s failed: %s",
				   c->url, why);
	}
}

/* The "error" value of a JSON body, if the body is one; else NULL. */
static char *body_error_text(const struct obuf *b)
{
	json_t *o, *e;
	char *s = NULL;

	if (b->len == 0)
		return NULL;
	o = json_loadb(b->p, b->len, 0, NULL);
	if (o == NULL)
		return NULL;
	e = json_object_get(o, "error");
	if (json_is_string(e))
		s = strdup(json_string_value(e));
	json_decref(o);
	return s;
}

/* The shared message for a model that the server does not have. */
static int client_not_pulled(struct ollama_client *c, const char *model)
{
	return client_fail(c, OLLAMA_ERR_MODEL_NOT_FOUND,
			   "model \"%s\" is not pulled on %s: run `ollama pull "
			   "%s`",
			   model, c->url, model);
}

/* A complete non-200 response. */
static int client_http_failure(struct req_ctx *x, const char *what)
{
	struct ollama_client *c = x->c;
	char *etext = body_error_text(&x->body);
	char shown[256];
	int rv;

	if (x->status == 404 && etext != NULL && strstr(etext, "not found") &&
	    x->model != NULL) {
		free(etext);
		return client_not_pulled(c, x->model);
	}
	if (etext != NULL)
		printable(shown, sizeof(shown), etext, strlen(etext));
	else if (x->body.len > 0)
		printable(shown, sizeof(shown), x->body.p, x->body.len);
	else
		snprintf(shown, sizeof(shown), "(empty body)");
	rv = client_fail(c, OLLAMA_ERR_HTTP,
			 "ollama at %s answered %s with HTTP status %ld: %s",
			 c->url, what, x->status, shown);
	free(etext);
	return rv;
}

/* ---------------------------------------------------------------------
 * GET /api/tags
 * ------------------------------------------------------------------- */

/*
 * Ollama's canonical form of a model name for comparison: lower case,
 * without the default registry prefix, with ":latest" when no tag.
 */
static void model_canon(const char *in, char *out, size_t outlen)
{
	static const char reg[] = "registry.ollama.ai/library/";
	const char *slash, *colon;
	size_t n;

	if (strncasecmp(in, reg, sizeof(reg) - 1) == 0)
		in += sizeof(reg) - 1;
	slash = strrchr(in, '/');
	colon = strchr(slash ? slash : in, ':');
	snprintf(out, outlen, "%s%s", in, colon ? "" : ":latest");
	n = strlen(out);
	for (size_t i = 0; i < n; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
}

static bool model_matches(const char *want_canon, json_t *name)
{
	char have[512];

	if (!json_is_string(name))
		return false;
	model_canon(json_string_value(name), have, sizeof(have));
	return strcmp(want_canon, have) == 0;
}

int ollama_check_model(struct ollama_client *c, const char *model)
{
	struct req_ctx x;
	struct curl_slist *hdr = NULL;
	char want[512];
	json_t *root = NULL, *models;
	json_error_t je;
	CURLcode rc;
	bool found = false;
	int rv;

	c->errmsg[0] = '\0';
	if (model == NULL)
		model = c->model;
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.model = model;
	x.body_max = c->max_line_bytes;
	hdr = curl_slist_append(NULL, "Accept: application/json");
	if (hdr == NULL)
		return client_fail(c, OLLAMA_ERR_NOMEM, "out of memory");
	rv = req_setup(&x, "/api/tags", hdr, NULL);
	if (rv)
		goto out;
	rc = curl_easy_perform(c->curl);
	if (x.err) {
		rv = x.err;
		goto out;
	}
	if (rc != CURLE_OK) {
		rv = client_curl_failure(&x, rc);
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &x.status);
	if (x.status != 200) {
		x.model = NULL; /* a 404 here is not about the model */
		rv = client_http_failure(&x, "GET /api/tags");
		goto out;
	}
	root = json_loadb(x.body.p ? x.body.p : "", x.body.len, 0, &je);
	models = root ? json_object_get(root, "models") : NULL;
	if (!json_is_array(models)) {
		rv = client_fail(c, OLLAMA_ERR_MALFORMED,
				 "ollama at %s sent an invalid model list: %s",
				 c->url, root ? "no \"models\" array" : je.text);
		goto out;
	}
	model_canon(model, want, sizeof(want));
	for (size_t i = 0; i < json_array_size(models) && !found; i++) {
		json_t *m = json_array_get(models, i);

		found = model_matches(want, json_object_get(m, "name")) ||
			model_matches(want, json_object_get(m, "model"));
	}
	rv = found ? OLLAMA_OK : client_not_pulled(c, model);
out:
	json_decref(root);
	curl_slist_free_all(hdr);
	obuf_free(&x.body);
	return rv;
}

/* ---------------------------------------------------------------------
 * POST /api/chat
 * ------------------------------------------------------------------- */

static bool chat_role_ok(const char *role)
{
	return role != NULL &&
	       (strcmp(role, "system") == 0 || strcmp(role, "user") == 0 ||
		strcmp(role, "assistant") == 0 || strcmp(role, "tool") == 0);
}

/* keep_alive: an integer is seconds (a JSON number), else a duration. */
static json_t *chat_keep_alive(const char *ka)
{
	int64_t v;

	if (lms_parse_i64(ka, INT32_MIN, INT32_MAX, &v) == 0)
		return json_integer(v);
	return json_string(ka);
}

static char *chat_body(struct ollama_client *c,
		       const struct ollama_chat_request *req, const char *model)
{
	json_t *root = json_object(), *msgs = json_array(),
	       *opts = json_object();
	char *out = NULL;
	bool ok = root && msgs && opts;

	for (size_t i = 0; ok && i < req->n_messages; i++) {
		json_t *m = json_pack("{s:s, s:s}", "role",
				      req->messages[i].role, "content",
				      req->messages[i].content);

		ok = m != NULL && json_array_append_new(msgs, m) == 0;
	}
	ok = ok && json_object_set_new(opts, "temperature",
				       json_real(c->temperature)) == 0;
	if (ok && c->num_ctx > 0)
		ok = json_object_set_new(opts, "num_ctx",
					 json_integer(c->num_ctx)) == 0;
	if (ok && c->num_predict != 0)
		ok = json_object_set_new(opts, "num_predict",
					 json_integer(c->num_predict)) == 0;
	if (ok && req->has_seed)
		ok = json_object_set_new(opts, "seed",
					 json_integer(req->seed)) == 0;
	ok = ok && json_object_set_new(root, "model", json_string(model)) == 0;
	ok = ok && json_object_set(root, "messages", msgs) == 0;
	ok = ok && json_object_set_new(root, "stream",
				       json_boolean(req->stream)) == 0;
	ok = ok && json_object_set(root, "options", opts) == 0;
	if (ok && c->keep_alive != NULL)
		ok = json_object_set_new(root, "keep_alive",
					 chat_keep_alive(c->keep_alive)) == 0;
	if (ok)
		out = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(opts);
	json_decref(msgs);
	json_decref(root);
	return out;
}

/* Visible text from the stripper: keep it, and stream it if asked. */
static int chat_emit(const char *text, size_t len, void *user)
{
	struct req_ctx *x = user;
	int rv = obuf_add(&x->answer, text, len, x->c->max_answer_bytes);

	if (rv == -ENOMEM)
		return ctx_fail(x, OLLAMA_ERR_NOMEM, "out of memory");
	if (rv > 0)
		return ctx_fail(x, OLLAMA_ERR_MALFORMED,
				"answer from ollama at %s exceeds %zu bytes",
				x->c->url, x->c->max_answer_bytes);
	if (x->res->first_content_ms == 0) {
		uint64_t d = lms_now_ms() - x->start_ms;

		x->res->first_content_ms = d ? d : 1;
	}
	if (x->stream && x->req->on_content != NULL) {
		x->res->partial_len += len;
		if (x->req->on_content(text, len, x->req->user) != 0) {
			x->cancelled = true;
			return -1;
		}
	}
	return 0;
}

static uint64_t json_u64(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) > 0)
		return (uint64_t)json_real_value(v);
	return 0;
}

/* The final object's statistics. */
static int chat_done(struct req_ctx *x, json_t *o)
{
	struct ollama_result *r = x->res;
	json_t *dr = json_object_get(o, "done_reason");

	x->done = true;
	if (json_is_string(dr) && r->done_reason == NULL) {
		r->done_reason = strdup(json_string_value(dr));
		if (r->done_reason == NULL)
			return ctx_fail(x, OLLAMA_ERR_NOMEM, "out of memory");
	}
	r->prompt_eval_count = json_u64(o, "prompt_eval_count");
	r->eval_count = json_u64(o, "eval_count");
	r->total_duration_ns = json_u64(o, "total_duration");
	r->load_duration_ns = json_u64(o, "load_duration");
	r->prompt_eval_duration_ns = json_u64(o, "prompt_eval_duration");
	r->eval_duration_ns = json_u64(o, "eval_duration");
	if (r->eval_duration_ns > 0)
		r->tokens_per_second = (double)r->eval_count * 1e9 /
				       (double)r->eval_duration_ns;
	return 0;
}

/* One response object: a stream line, or the whole non-streamed body. */
static int chat_object(struct req_ctx *x, json_t *o)
{
	json_t *e, *msg, *content, *thinking;
	int rv;

	if (!json_is_object(o))
		return ctx_fail(x, OLLAMA_ERR_MALFORMED,
				"ollama at %s sent a response that is not a "
				"JSON object",
				x->c->url);
	e = json_object_get(o, "error");
	if (e != NULL) {
		char shown[300];

		if (json_is_string(e))
			printable(shown, sizeof(shown), json_string_value(e),
				  json_string_length(e));
		else
			snprintf(shown, sizeof(shown), "(no message)");
		return ctx_fail(x, OLLAMA_ERR_STREAM,
				"ollama at %s failed while answering with "
				"model \"%s\": %s",
				x->c->url, x->model, shown);
	}
	msg = json_object_get(o, "message");
	if (msg != NULL) {
		if (!json_is_object(msg))
			return ctx_fail(x, OLLAMA_ERR_MALFORMED,
					"ollama at %s sent a \"message\" that "
					"is not an object",
					x->c->url);
		thinking = json_object_get(msg, "thinking");
		if (json_is_string(thinking) && json_string_length(thinking)) {
			/* Thinking has its own field: content has no tags. */
			rv = ollama_think_release(&x->think, chat_emit, x);
			if (rv)
				return x->err ? -1 : rv;
		}
		content = json_object_get(msg, "content");
		if (content != NULL && !json_is_string(content))
			return ctx_fail(x, OLLAMA_ERR_MALFORMED,
					"ollama at %s sent a message content "
					"that is not a string",
					x->c->url);
		if (content != NULL) {
			rv = ollama_think_feed(&x->think,
					       json_string_value(content),
					       json_string_length(content),
					       chat_emit, x);
			if (rv == -ENOMEM)
				return ctx_fail(x, OLLAMA_ERR_NOMEM,
						"out of memory");
			if (rv)
				return -1;
		}
	}
	if (json_is_true(json_object_get(o, "done")))
		return chat_done(x, o);
	return 0;
}

static int chat_line(const char *line, size_t len, void *user)
{
	struct req_ctx *x = user;
	json_error_t je;
	json_t *o;
	int rv;

	x->res->lines++;
	o = json_loadb(line, len, 0, &je);
	if (o == NULL)
		return ctx_fail(x, OLLAMA_ERR_MALFORMED,
				"malformed line %zu in ollama stream from %s: %s",
				x->res->lines, x->c->url, je.text);
	rv = chat_object(x, o);
	json_decref(o);
	return rv;
}

/* After a 200 transfer: the stream's tail, or the one body object. */
static int chat_finish(struct req_ctx *x)
{
	struct ollama_client *c = x->c;
	int rv;

	if (x->stream) {
		rv = ollama_ndjson_finish(&x->nd, chat_line, x);
		if (rv == OLLAMA_NDJSON_TOO_LONG)
			ctx_fail(x, OLLAMA_ERR_MALFORMED,
				 "line in ollama stream from %s exceeds %zu "
				 "bytes",
				 c->url, c->max_line_bytes);
		if (x->err)
			return x->err;
		if (!x->done)
			return client_fail(c, OLLAMA_ERR_MALFORMED,
					   "ollama stream from %s ended before "
					   "its final message",
					   c->url);
	} else {
		json_error_t je;
		json_t *o = json_loadb(x->body.p ? x->body.p : "",
				       x->body.len, 0, &je);

		if (o == NULL)
			return client_fail(c, OLLAMA_ERR_MALFORMED,
					   "malformed response from ollama at "
					   "%s: %s",
					   c->url, je.text);
		x->res->lines = 1;
		chat_object(x, o);
		json_decref(o);
		if (x->err)
			return x->err;
		if (!x->done)
			return client_fail(c, OLLAMA_ERR_MALFORMED,
					   "response from ollama at %s is not "
					   "marked done",
					   c->url);
	}
	rv = ollama_think_finish(&x->think, chat_emit, x);
	if (x->err)
		return x->err;
	if (x->cancelled || rv)
		return client_fail(c, OLLAMA_ERR_CANCELLED,
				   "request to ollama at %s was cancelled",
				   c->url);
	x->res->think_unterminated = ollama_think_unterminated(&x->think);
	if (!x->stream && x->req->on_content != NULL && x->answer.len > 0) {
		x->res->partial_len = x->answer.len;
		if (x->req->on_content(x->answer.p, x->answer.len,
				       x->req->user) != 0)
			return client_fail(c, OLLAMA_ERR_CANCELLED,
					   "request to ollama at %s was "
					   "cancelled",
					   c->url);
	}
	return OLLAMA_OK;
}

static int chat_check(struct ollama_client *c,
		      const struct ollama_chat_request *req)
{
	if (req == NULL || req->messages == NULL || req->n_messages == 0)
		return client_fail(c, OLLAMA_ERR_INVALID,
				   "chat request has no messages");
	if (req->n_messages > OLLAMA_MAX_MESSAGES)
		return client_fail(c, OLLAMA_ERR_INVALID,
				   "chat request has %zu messages, more than "
				   "%d",
				   req->n_messages, OLLAMA_MAX_MESSAGES);
	if (req->model != NULL && (req->model[0] == '\0' ||
				   !lms_utf8_valid(req->model,
						   strlen(req->model))))
		return client_fail(c, OLLAMA_ERR_INVALID,
				   "invalid model name in chat request");
	for (size_t i = 0; i < req->n_messages; i++) {
		const struct ollama_message *m = &req->messages[i];

		if (!chat_role_ok(m->role))
			return client_fail(c, OLLAMA_ERR_INVALID,
					   "chat message %zu has invalid role "
					   "\"%s\"",
					   i, m->role ? m->role : "(null)");
		if (m->content == NULL ||
		    !lms_utf8_valid(m->content, strlen(m->content)))
			return client_fail(c, OLLAMA_ERR_INVALID,
					   "chat message %zu is not valid "
					   "UTF-8",
					   i);
	}
	return OLLAMA_OK;
}

int ollama_chat(struct ollama_client *c, const struct ollama_chat_request *req,
		struct ollama_result *res)
{
	struct req_ctx x;
	struct curl_slist *hdr = NULL, *h2;
	char *body = NULL;
	CURLcode rc;
	int rv;

	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	c->errmsg[0] = '\0';
	x.c = c;
	x.req = req;
	x.res = res;
	ollama_ndjson_init(&x.nd, c->max_line_bytes);
	ollama_think_init(&x.think);

	rv = chat_check(c, req);
	if (rv)
		goto out;
	x.model = req->model ? req->model : c->model;
	x.stream = req->stream;
	x.body_max = x.stream ? CLIENT_ERROR_BODY_MAX
			      : c->max_line_bytes + c->max_answer_bytes;
	body = chat_body(c, req, x.model);
	if (body == NULL) {
		rv = client_fail(c, OLLAMA_ERR_NOMEM, "out of memory");
		goto out;
	}
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	h2 = hdr ? curl_slist_append(hdr, req->stream
					      ? "Accept: application/x-ndjson"
					      : "Accept: application/json")
		 : NULL;
	h2 = h2 ? curl_slist_append(h2, "Expect:") : NULL;
	if (h2 == NULL) {
		rv = client_fail(c, OLLAMA_ERR_NOMEM, "out of memory");
		goto out;
	}
	rv = req_setup(&x, "/api/chat", hdr, body);
	if (rv)
		goto out;

	rc = curl_easy_perform(c->curl);
	res->elapsed_ms = lms_now_ms() - x.start_ms;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &res->http_status);
	x.status = res->http_status;

	if (x.err) {
		rv = x.err;
	} else if (x.cancelled) {
		rv = client_fail(c, OLLAMA_ERR_CANCELLED,
				 "request to ollama at %s was cancelled",
				 c->url);
	} else if (rc != CURLE_OK) {
		rv = client_curl_failure(&x, rc);
	} else if (x.status != 200) {
		rv = client_http_failure(&x, "POST /api/chat");
	} else {
		rv = chat_finish(&x);
	}
	if (rv == OLLAMA_OK) {
		res->answer = x.answer.p ? x.answer.p : strdup("");
		res->answer_len = x.answer.len;
		x.answer.p = NULL;
		if (res->answer == NULL)
			rv = client_fail(c, OLLAMA_ERR_NOMEM, "out of memory");
	}
out:
	if (rv != OLLAMA_OK) {
		free(res->answer);
		res->answer = NULL;
		res->answer_len = 0;
		snprintf(res->message, sizeof(res->message), "%s", c->errmsg);
	}
	res->error = rv;
	curl_slist_free_all(hdr);
	free(body);
	obuf_free(&x.answer);
	obuf_free(&x.body);
	ollama_think_free(&x.think);
	ollama_ndjson_free(&x.nd);
	return rv;
}

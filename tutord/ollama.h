/*
 * ollama.h -- the tutor's client of a local Ollama server.
 *
 * Why this exists
 * ---------------
 * tutord answers students' questions with a local LLM served by Ollama
 * (default model deepseek-r1:1.5b). This is the only code that talks to it:
 * over HTTP with libcurl, the endpoints GET /api/tags (is the model there?)
 * and POST /api/chat (answer a conversation), streaming or not.
 *
 * What it guarantees
 * ------------------
 *  - An error is never an answer. Ollama reports errors as {"error": "..."}
 *    either as a non-200 body or as a line in the middle of a 200 stream;
 *    every line and every body is checked for that key, and any error makes
 *    the call fail with no answer (content already streamed to the caller
 *    is reported in ollama_result.partial_len so it can be retracted).
 *  - Thinking is never shown: <think>...</think> blocks are stripped from
 *    what is streamed and from the final answer (think.h has the rules,
 *    including deepseek-r1's missing opening tag). Thinking that Ollama
 *    sends in the separate message.thinking field is ignored.
 *  - Bounded waiting: a connect timeout, a total timeout, and a stall limit
 *    (a low-speed limit of zero bytes: the request fails when no byte has
 *    moved for stall_timeout_ms, checked about once a second; it also
 *    covers the wait for the first token, so it must exceed the time a
 *    cold model load plus prompt evaluation takes).
 *  - Bounded memory: each NDJSON line is at most max_line_bytes, the
 *    visible answer at most max_answer_bytes, an error body is cut to 8 KiB.
 *
 * The server address
 * ------------------
 * The configured URL (tutor.ollama_url) is overridden by the environment
 * variable OLLAMA_HOST, read when the client is created, exactly as
 * Ollama's own clients read it (ollama_url_normalize below):
 *     "" (unset)              http://127.0.0.1:11434
 *     "host" / "host:port"    http://host:11434 / http://host:port
 *     "http://host[:port]"    port defaults to 80 (Ollama's rule)
 *     "https://host[:port]"   port defaults to 443
 *     "[::1]:port", "::1"     IPv6
 * Quotes and blanks around the value are ignored, trailing slashes too; a
 * path after the host is kept as a prefix (a reverse proxy).
 *
 * Threads
 * -------
 * A client owns one libcurl easy handle (reused, so the HTTP connection is
 * kept alive between requests): use it from one thread at a time. Several
 * clients may run in parallel threads. libcurl's signal use is disabled
 * (CURLOPT_NOSIGNAL). ollama_global_init() should be called once from
 * main() before threads start; ollama_client_new calls it too, guarded by
 * pthread_once.
 *
 * Ownership
 * ---------
 * Every string passed in is borrowed for the duration of the call, except
 * in ollama_client_new, which copies what it keeps. A result owns its
 * strings; release it with ollama_result_free. Pointers handed to the
 * content callback are valid only during the callback.
 *
 * Errors
 * ------
 * Fallible calls return OLLAMA_OK (0) or one enum ollama_error value; the
 * message (PostgreSQL style: lower case, no period, names the URL and the
 * model) is available from ollama_errmsg() until the next call on the
 * client, and ollama_chat also copies it into the result.
 */
#ifndef LMS_OLLAMA_H
#define LMS_OLLAMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lms_tutor_config;

enum ollama_error {
	OLLAMA_OK = 0,
	OLLAMA_ERR_INVALID,         /* bad argument or configuration */
	OLLAMA_ERR_NOMEM,
	OLLAMA_ERR_UNREACHABLE,     /* cannot resolve/connect (incl. connect
	                               timeout): is `ollama serve` running? */
	OLLAMA_ERR_TIMEOUT,         /* total timeout, or the stream stalled */
	OLLAMA_ERR_NETWORK,         /* connection lost mid-response, other
	                               transport failures */
	OLLAMA_ERR_HTTP,            /* non-200 status (other than below) */
	OLLAMA_ERR_MODEL_NOT_FOUND, /* model not pulled (tags, or 404) */
	OLLAMA_ERR_STREAM,          /* Ollama sent {"error": ...} */
	OLLAMA_ERR_MALFORMED,       /* unparsable or incomplete response,
	                               too-long line or answer */
	OLLAMA_ERR_CANCELLED,       /* the caller's callback asked to stop */
};

/* Stable lower-case name of an error code ("timeout", ...). */
const char *ollama_error_name(int code);

#define OLLAMA_DEFAULT_URL "http://127.0.0.1:11434"
#define OLLAMA_DEFAULT_PORT 11434
#define OLLAMA_DEFAULT_STALL_TIMEOUT_MS 60000
#define OLLAMA_DEFAULT_MAX_LINE_BYTES (1024 * 1024)
#define OLLAMA_DEFAULT_MAX_ANSWER_BYTES (1024 * 1024)
#define OLLAMA_MAX_MESSAGES 4096
#define OLLAMA_ERRMSG_MAX 512

/*
 * Client settings. Strings are borrowed by ollama_client_new (copied).
 * Zero values mean "default" where a default is named.
 */
struct ollama_config {
	const char *url;             /* NULL: OLLAMA_DEFAULT_URL */
	const char *model;           /* required */
	bool ignore_env;             /* true: do not read OLLAMA_HOST */
	unsigned connect_timeout_ms; /* 0: 2000 */
	unsigned request_timeout_ms; /* 0: 180000; whole request */
	unsigned stall_timeout_ms;   /* 0: OLLAMA_DEFAULT_STALL_TIMEOUT_MS */
	/* options sent with every chat */
	double temperature;          /* 0..2 */
	unsigned num_ctx;            /* 0: not sent (model default) */
	int num_predict;             /* 0: not sent; -1 no limit, -2 fill ctx */
	const char *keep_alive;      /* NULL: not sent; "5m", "300", "-1" */
	size_t max_line_bytes;       /* 0: OLLAMA_DEFAULT_MAX_LINE_BYTES */
	size_t max_answer_bytes;     /* 0: OLLAMA_DEFAULT_MAX_ANSWER_BYTES */
};

/*
 * Fill cfg from the config file's tutor section: url, model, timeouts,
 * temperature, num_ctx, num_predict, keep_alive (borrowed from t, which
 * must outlive the ollama_client_new call). Other fields are zeroed.
 */
void ollama_config_from_tutor(struct ollama_config *cfg,
			      const struct lms_tutor_config *t);

struct ollama_client;

/* Call once before threads start (libcurl's global init). Idempotent. */
int ollama_global_init(void);
void ollama_global_cleanup(void);

/*
 * Create a client. Resolves the base URL (OLLAMA_HOST over cfg->url) and
 * checks it, but does not contact the server. Returns OLLAMA_OK and sets
 * *out (free with ollama_client_free), or OLLAMA_ERR_INVALID /
 * OLLAMA_ERR_NOMEM with a message in err[0..errlen) (may be NULL).
 */
int ollama_client_new(const struct ollama_config *cfg,
		      struct ollama_client **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

void ollama_client_free(struct ollama_client *c);

/* The resolved base URL, e.g. "http://127.0.0.1:11434" (borrowed). */
const char *ollama_client_url(const struct ollama_client *c);

/* The configured model name (borrowed). */
const char *ollama_client_model(const struct ollama_client *c);

/* Message of the last failed call on c ("" if none). Borrowed. */
const char *ollama_errmsg(const struct ollama_client *c);

/*
 * GET /api/tags and look for model (NULL: the configured one) among
 * models[].name and models[].model. A name without a tag matches
 * "name:latest"; comparison ignores case. Returns OLLAMA_OK,
 * OLLAMA_ERR_MODEL_NOT_FOUND ("model "deepseek-r1:1.5b" is not pulled on
 * http://...: run `ollama pull deepseek-r1:1.5b`"), OLLAMA_ERR_UNREACHABLE
 * ("could not connect to ollama at http://...: ..."), or another error.
 */
int ollama_check_model(struct ollama_client *c, const char *model)
	__attribute__((warn_unused_result));

/* One chat message; both strings borrowed, NUL-terminated, UTF-8. */
struct ollama_message {
	const char *role;    /* "system", "user", "assistant" or "tool" */
	const char *content;
};

/*
 * Visible answer text as it arrives (think blocks already removed; never
 * empty, never a fragment of a tag, whole UTF-8 characters). Return 0 to
 * go on, nonzero to cancel the request (ollama_chat then returns
 * OLLAMA_ERR_CANCELLED).
 */
typedef int (*ollama_content_fn)(const char *text, size_t len, void *user);

/*
 * Polled about once a second while waiting (e.g. during a long think
 * block, when no content arrives): return nonzero to cancel.
 */
typedef int (*ollama_cancel_fn)(void *user);

struct ollama_chat_request {
	const char *model;                     /* NULL: the client's model */
	const struct ollama_message *messages; /* borrowed, 1..OLLAMA_MAX_MESSAGES */
	size_t n_messages;
	bool stream;                           /* true: NDJSON stream */
	bool has_seed;                         /* send options.seed */
	int64_t seed;
	ollama_content_fn on_content;          /* optional */
	ollama_cancel_fn should_cancel;        /* optional */
	void *user;                            /* for both callbacks */
};

struct ollama_result {
	/* set on success */
	char *answer;          /* owned, NUL-terminated, think stripped;
	                          valid UTF-8 without NUL bytes (the JSON
	                          parser rejects both) */
	size_t answer_len;
	char *done_reason;     /* owned: "stop", "length", ...; NULL if absent */
	bool think_unterminated; /* the reply ended inside a think block */
	uint64_t prompt_eval_count;
	uint64_t eval_count;   /* tokens generated (thinking included) */
	uint64_t total_duration_ns;
	uint64_t load_duration_ns;
	uint64_t prompt_eval_duration_ns;
	uint64_t eval_duration_ns;
	double tokens_per_second; /* eval_count / eval_duration; 0 if unknown */
	/* set in every case */
	long http_status;      /* 0 if no response */
	uint64_t elapsed_ms;   /* wall time of the request */
	uint64_t first_content_ms; /* until the first visible text; 0 if none */
	size_t partial_len;    /* visible bytes passed to on_content */
	size_t lines;          /* NDJSON lines received */
	int error;             /* OLLAMA_OK or the code returned */
	char message[OLLAMA_ERRMSG_MAX]; /* "" on success */
};

/*
 * POST /api/chat with {model, messages, stream, options {temperature,
 * num_ctx, num_predict, seed}, keep_alive}. *res (caller memory, need not be
 * initialised) is filled in every case; free it with ollama_result_free.
 * On success res->answer holds the whole visible answer (also when not
 * streaming: the one JSON object's message.content, think stripped; the
 * content callback, if any, then gets it once at the end).
 *
 * Errors: OLLAMA_ERR_INVALID (no messages, bad role, invalid UTF-8),
 * UNREACHABLE, TIMEOUT, NETWORK (e.g. connection reset), HTTP,
 * MODEL_NOT_FOUND (404 "model ... not found"), STREAM (Ollama's message
 * quoted), MALFORMED (bad JSON line, stream ended without "done"),
 * CANCELLED. On error res->answer is NULL.
 */
int ollama_chat(struct ollama_client *c, const struct ollama_chat_request *req,
		struct ollama_result *res)
	__attribute__((warn_unused_result));

/* Release the result's strings and zero it. NULL is fine. */
void ollama_result_free(struct ollama_result *res);

/*
 * Normalise an Ollama address (an OLLAMA_HOST value or a URL) into
 * "scheme://host:port[/path]" in out[0..outlen). Rules above ("The server
 * address"). Returns 0, -EINVAL (unknown scheme, bad port, bad host
 * characters) or -ENOSPC.
 */
int ollama_url_normalize(const char *in, char *out, size_t outlen)
	__attribute__((warn_unused_result));

#endif /* LMS_OLLAMA_H */

/*
 * fake_ollama.h -- a fake Ollama server for tests (libevent evhttp).
 *
 * Why this exists
 * ---------------
 * No Ollama server or model exists on the test machines, and the failures
 * the tutor must survive (an error in the middle of a stream, a slow
 * first token, a stalled or reset connection, a reply missing its <think>
 * tag) cannot be produced on demand by a real one. This server speaks the
 * real HTTP API (GET /api/tags, POST /api/chat, POST /api/generate, with
 * Ollama's NDJSON streaming over chunked transfer encoding and its error
 * bodies) and produces those failures when asked. The control interface is
 * documented at the top of fake_ollama.c.
 *
 * Two ways to run it
 * ------------------
 *  - In-process: fake_ollama_new + fake_ollama_start_thread; the event loop
 *    runs in its own thread, so a test can make blocking client calls.
 *    Tests inspect and steer it through the functions below.
 *  - As a child process: fake_ollama_spawn runs the fake-ollama program
 *    (fork + exec) on a free port and returns the port; steer it over
 *    HTTP (POST /_fake/mode, GET /_fake/last_request).
 *
 * Ownership and threads
 * ---------------------
 * A struct fake_ollama is created and freed by one thread. The setters and
 * getters below lock an internal mutex and may be called from any thread
 * while the loop runs. Strings returned are heap copies the caller frees.
 * Strings passed in are copied.
 */
#ifndef LMS_FAKE_OLLAMA_H
#define LMS_FAKE_OLLAMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FAKE_OLLAMA_DEFAULT_MODEL "deepseek-r1:1.5b"
#define FAKE_OLLAMA_ERROR_TEXT "an error was encountered while running the model"
#define FAKE_OLLAMA_NS_PER_TOKEN 25000000ull /* reported eval_duration/token */

/* Behaviour of one request (see the control interface in fake_ollama.c). */
struct fake_ollama_mode {
	unsigned first_delay_ms;  /* before the first line (and the headers) */
	unsigned token_delay_ms;  /* between lines */
	int error_after;          /* -1 off; else {"error"} after N tokens */
	int reset_after;          /* -1 off; else TCP reset after N tokens */
	int stall_after;          /* -1 off; else pause stall_ms after N */
	unsigned stall_ms;
	int garbage_after;        /* -1 off; else a non-JSON line after N */
	int status;               /* 0 normal; else this status + {"error"} */
	unsigned split;           /* 0 off; else write lines in K-byte pieces */
	unsigned huge_line;       /* 0 off; else a first token of this size */
	bool no_open_think;       /* "</think>" without "<think>" */
	bool no_think;            /* no think block at all */
	bool unterminated_think;  /* "<think>" never closed, done_reason length */
	bool thinking_field;      /* thinking in message.thinking, no tags */
	bool no_done;             /* end the stream without the done line */
	char error_message[200];  /* text of injected errors */
};

/* The defaults: a normal, fast answer. */
void fake_ollama_mode_default(struct fake_ollama_mode *m);

/*
 * Set one key ("token_delay", "no_think", ...) from its text value (NULL or
 * "" for flags means true). Returns 0 or -EINVAL (unknown key, bad value).
 */
int fake_ollama_mode_set(struct fake_ollama_mode *m, const char *key,
			 const char *value);

struct fake_ollama;

/*
 * Listen on 127.0.0.1:port (0: any free port). Returns NULL on failure
 * (message on stderr). Models served: FAKE_OLLAMA_DEFAULT_MODEL. Sets
 * SIGPIPE to ignored for the whole process (a client that went away must
 * not kill the test) and turns on libevent's pthreads support.
 */
struct fake_ollama *fake_ollama_new(uint16_t port);

/* The bound port. */
uint16_t fake_ollama_port(const struct fake_ollama *f);

/* "http://127.0.0.1:PORT" into buf. */
void fake_ollama_url(const struct fake_ollama *f, char *buf, size_t len);

/* The server's event base (for the program's signal events). */
struct event_base;
struct event_base *fake_ollama_base(struct fake_ollama *f);

/* Run the loop in the calling thread until fake_ollama_stop. */
int fake_ollama_run(struct fake_ollama *f);

/* Run the loop in a new thread. Returns 0 or -errno. */
int fake_ollama_start_thread(struct fake_ollama *f);

/* Stop the loop (any thread, also a signal callback of the loop) and, if
 * it runs in its own thread, join it. */
void fake_ollama_stop(struct fake_ollama *f);

/* Stop if needed and release everything. NULL is fine. */
void fake_ollama_free(struct fake_ollama *f);

/* Replace the served model list (copied). */
int fake_ollama_set_models(struct fake_ollama *f, const char *const *names,
			   size_t n);

/* Replace the default mode applied to every request (copied). */
void fake_ollama_set_mode(struct fake_ollama *f,
			  const struct fake_ollama_mode *m);

/* The body of the last /api/chat or /api/generate request, or NULL. */
char *fake_ollama_last_request(struct fake_ollama *f);

/* Requests served so far (every path). */
unsigned fake_ollama_request_count(struct fake_ollama *f);

/*
 * Chat/generate replies still running (delayed, streaming, or abandoned by
 * their client and not yet noticed). 0 when every reply was cleaned up.
 */
unsigned fake_ollama_active_replies(struct fake_ollama *f);

/*
 * The text the fake generates for a user message. Full text (with the
 * think block the mode asks for) and the visible answer a correct client
 * shows (think stripped, leading whitespace dropped). Heap strings.
 */
char *fake_ollama_reply_text(const char *user_message,
			     const struct fake_ollama_mode *m);
char *fake_ollama_visible_answer(const char *user_message);

/* ---------------------------------------------------------------------
 * Child process mode
 * ------------------------------------------------------------------- */

struct fake_ollama_child {
	pid_t pid;
	uint16_t port;
};

/*
 * Start exe (the fake-ollama program) with "--port 0" and the extra
 * arguments (NULL-terminated array, may be NULL); wait up to 5 s for its
 * "listening on" line. Returns 0 or -errno.
 */
int fake_ollama_spawn(const char *exe, const char *const *args,
		      struct fake_ollama_child *out);

/* SIGTERM, wait (SIGKILL after 2 s). */
void fake_ollama_child_stop(struct fake_ollama_child *ch);

#endif /* LMS_FAKE_OLLAMA_H */

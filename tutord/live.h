/*
 * live.h -- the answer tutord is generating, streamed to the student who
 * waits for it: GET /v1/stream/<key> on tutord's status port.
 *
 * Why this exists
 * ---------------
 * An answer reaches the cluster only whole (one QueryAnswer through the
 * Raft log), but a student should see it appear token by token, as with
 * `ollama run`. So tutord serves the answer it is producing itself. Each
 * claim gets a fresh random key, and the claim's worker field (stored with
 * the question, visible exactly to those who may read the question: its
 * student, the course's staff, admins) carries the stream's URL:
 *
 *     claimed_by = "<worker name> http://<host>:<port>/v1/stream/<key>"
 *
 * `lms ask` reads claimed_by, opens the URL and prints the text as it
 * arrives; whoever does not know the key gets 404. The streamed text is
 * the text that will be stored: think blocks are stripped before, and
 * citations are filtered as they complete (tutor.c), so the stream and the
 * stored answer agree; the client still compares them at the end.
 *
 * The stream (NDJSON, one object per line, chunked HTTP)
 * ------------------------------------------------------
 *   {"question":N,"state":"answering","attempt":A}  an Ollama request
 *                                  starts; text begins again from empty
 *   {"text":"..."}                 more of the answer
 *   {"state":"waiting","reason":"...","retry_ms":M}  the request failed
 *                                  (Ollama down, slow, erred); nothing
 *                                  stored; tutord retries after M ms
 *   {"state":"stored"}             the answer is in the cluster; the end
 *   {"state":"released","reason":"..."}  tutord gave the question up
 *                                  (its claim ran out, it stops, the
 *                                  cluster refused); the end
 * With nothing else to send, the current state line is repeated every
 * LIVE_HEARTBEAT_MS so that the client can tell a stalled tutord from a
 * slow model.
 *
 * Threads
 * -------
 * The worker thread (tutor.c) calls live_begin .. live_end; they take a
 * mutex, change the shared state and wake the event loop (event_active:
 * the process must have called evthread_use_pthreads before creating the
 * base). The event loop thread serves the requests (live_route, the route
 * callback of httpstatus.h). One question is live at a time (tutord has
 * one worker); the previous one is kept so that a client that had not
 * yet seen its end still gets it.
 */
#ifndef LMS_TUTOR_LIVE_H
#define LMS_TUTOR_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp_request;

#define LIVE_KEY_LEN 32          /* hex characters of a stream key */
#define LIVE_PATH "/v1/stream/"
#define LIVE_HEARTBEAT_MS 2000
#define LIVE_MAX_CLIENTS 64

struct live;

/* NULL on allocation failure. max_text: the stream stops growing there
 * (the stored answer is cut at the same length). */
struct live *live_new(struct event_base *base, size_t max_text);
/* Call after the HTTP server is freed (its connections close first). */
void live_free(struct live *l);

/* A fresh random key (LIVE_KEY_LEN hex characters + NUL); 0 or -1. */
int live_key_new(char key[LIVE_KEY_LEN + 1]);

/* ---- worker thread ---- */
void live_begin(struct live *l, uint64_t question, const char *key);
void live_attempt(struct live *l);
void live_text(struct live *l, const char *text, size_t len);
void live_wait(struct live *l, const char *reason, unsigned retry_ms);
void live_end(struct live *l, bool stored, const char *reason);

/* ---- event loop thread: httpstatus route callback (arg = live) ---- */
int live_route(void *arg, struct evhttp_request *req, const char *path);

#endif

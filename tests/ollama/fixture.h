/*
 * fixture.h -- shared setup of the client tests: an in-process fake Ollama
 * server per test (cmocka setup/teardown), a client pointed at it, a
 * content collector, and a raw HTTP helper for talking to the fake
 * directly.
 *
 * Ownership: fx_setup builds a struct fx into *state and fx_teardown frees
 * it (and the server, with any reply still running). Clients from
 * fx_client are the test's to free.
 */
#ifndef LMS_OLLAMA_TEST_FIXTURE_H
#define LMS_OLLAMA_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_ollama.h"
#include "ollama.h"

struct fx {
	struct fake_ollama *fake;
	char url[64];
};

int fx_setup(void **state);
int fx_teardown(void **state);

/* The shipped tutor settings, pointed at the fake, OLLAMA_HOST ignored. */
struct ollama_config fx_config(const struct fx *fx);

/* A client from cfg; fails the test if it cannot be made. */
struct ollama_client *fx_client(const struct ollama_config *cfg);

struct collect {
	char buf[64 * 1024];
	size_t len;
	unsigned calls;
	unsigned cancel_after; /* return 1 on this call (1-based); 0 never */
	unsigned cancel_polls; /* should_cancel: 1 after this many polls */
	unsigned polls;
};

int collect_content(const char *text, size_t len, void *user);
int collect_should_cancel(void *user);

/* One user message (and a system message before it). */
int fx_chat(struct ollama_client *c, const char *user, bool stream,
	    struct collect *col, struct ollama_result *res);

/* A raw request with libcurl; returns the status (0: no answer). *resp
 * (if not NULL) gets the body, NUL-terminated, to free. */
long fx_http(const char *method, const char *url, const char *body,
	     char **resp);

#endif /* LMS_OLLAMA_TEST_FIXTURE_H */

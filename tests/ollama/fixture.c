/*
 * fixture.c -- shared setup of the client tests (see fixture.h).
 */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->fake = fake_ollama_new(0);
	if (fx->fake == NULL || fake_ollama_start_thread(fx->fake) != 0) {
		fake_ollama_free(fx->fake);
		free(fx);
		return -1;
	}
	fake_ollama_url(fx->fake, fx->url, sizeof(fx->url));
	*state = fx;
	return 0;
}

int fx_teardown(void **state)
{
	struct fx *fx = *state;

	fake_ollama_free(fx->fake);
	free(fx);
	return 0;
}

struct ollama_config fx_config(const struct fx *fx)
{
	struct ollama_config cfg = {
		.url = fx->url,
		.model = "deepseek-r1:1.5b",
		.ignore_env = true,
		.connect_timeout_ms = 2000,
		.request_timeout_ms = 5000,
		.stall_timeout_ms = 3000,
		.temperature = 0.3,
		.num_ctx = 4096,
		.num_predict = 1024,
		.keep_alive = "5m",
	};
	return cfg;
}

struct ollama_client *fx_client(const struct ollama_config *cfg)
{
	struct ollama_client *c = NULL;
	char err[256];

	if (ollama_client_new(cfg, &c, err, sizeof(err)) != OLLAMA_OK)
		fail_msg("ollama_client_new: %s", err);
	return c;
}

int collect_content(const char *text, size_t len, void *user)
{
	struct collect *col = user;

	assert_true(len > 0);
	assert_true(col->len + len < sizeof(col->buf));
	memcpy(col->buf + col->len, text, len);
	col->len += len;
	col->buf[col->len] = '\0';
	col->calls++;
	return col->cancel_after && col->calls == col->cancel_after;
}

int collect_should_cancel(void *user)
{
	struct collect *col = user;

	col->polls++;
	return col->cancel_polls && col->polls >= col->cancel_polls;
}

int fx_chat(struct ollama_client *c, const char *user, bool stream,
	    struct collect *col, struct ollama_result *res)
{
	struct ollama_message msgs[] = {
		{"system", "You are a patient tutor."},
		{"user", user},
	};
	struct ollama_chat_request req = {
		.messages = msgs,
		.n_messages = 2,
		.stream = stream,
		.on_content = col ? collect_content : NULL,
		.should_cancel = col ? collect_should_cancel : NULL,
		.user = col,
	};

	return ollama_chat(c, &req, res);
}

struct http_buf {
	char *p;
	size_t len;
};

static size_t http_write(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct http_buf *b = user;
	size_t n = size * nmemb;
	char *np = realloc(b->p, b->len + n + 1);

	if (np == NULL)
		return 0;
	memcpy(np + b->len, ptr, n);
	b->p = np;
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

long fx_http(const char *method, const char *url, const char *body,
	     char **resp)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr =
		curl_slist_append(NULL, "Content-Type: application/json");
	struct http_buf b = {0};
	long status = 0;

	assert_non_null(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (resp != NULL)
		*resp = b.p ? b.p : strdup("");
	else
		free(b.p);
	return status;
}

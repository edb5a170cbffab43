/*
 * test_faults.c -- the Ollama client against a misbehaving fake server:
 * {"error"} in the middle of a stream, unknown model (404), other HTTP
 * errors, a slow first token, the total timeout, a stalled stream, a
 * connection reset, malformed or incomplete streams, oversize lines, and
 * cancellation by the caller.
 *
 * The rule checked everywhere: on any error there is no answer
 * (res.answer NULL), whatever was already streamed to the caller.
 * Timings are kept short (well under a second per test, the stall test
 * about one second) and bounds generous, as the test machine is shared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

static const char question[] = "What is a monad?";

/* Ask with control words; expect code; the answer is never given. */
static void ask_fail(struct ollama_client *c, const char *words, bool stream,
		     int want, struct collect *col, struct ollama_result *res)
{
	char msg[256];
	int rv;

	snprintf(msg, sizeof(msg), "%s %s", question, words);
	rv = fx_chat(c, msg, stream, col, res);
	if (rv != want)
		fail_msg("\"%s\": got %s (%s), want %s", words,
			 ollama_error_name(rv), res->message,
			 ollama_error_name(want));
	assert_int_equal(res->error, want);
	assert_null(res->answer);
	assert_int_equal(res->answer_len, 0);
	assert_string_equal(res->message, ollama_errmsg(c));
	assert_true(res->message[0] != '\0');
}

static void test_error_mid_stream(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	struct collect col = {0};
	struct ollama_result res;
	char want[256];

	/*
	 * After every visible token, just before the final line: all of the
	 * answer was streamed, and still there is no answer.
	 */
	ask_fail(c, "fake:thinking_field fake:error_after=1000", true,
		 OLLAMA_ERR_STREAM, &col, &res);
	snprintf(want, sizeof(want),
		 "ollama at %s failed while answering with model "
		 "\"deepseek-r1:1.5b\": %s",
		 fx->url, FAKE_OLLAMA_ERROR_TEXT);
	assert_string_equal(res.message, want);
	{
		char *visible = fake_ollama_visible_answer(question);

		assert_string_equal(col.buf, visible);
		free(visible);
	}
	assert_int_equal(res.partial_len, col.len);
	assert_int_equal(res.http_status, 200);
	ollama_result_free(&res);

	/* a few tokens into the answer */
	memset(&col, 0, sizeof(col));
	ask_fail(c, "fake:thinking_field fake:error_after=20", true,
		 OLLAMA_ERR_STREAM, &col, &res);
	assert_int_equal(res.lines, 21);
	assert_true(res.partial_len > 0);
	ollama_result_free(&res);

	/* during the thinking: nothing was shown */
	memset(&col, 0, sizeof(col));
	ask_fail(c, "fake:error_after=3 fake:error_message=CUDA_out_of_memory",
		 true, OLLAMA_ERR_STREAM, &col, &res);
	assert_non_null(strstr(res.message, ": CUDA out of memory"));
	assert_int_equal(res.partial_len, 0);
	assert_int_equal(col.calls, 0);
	ollama_result_free(&res);

	/* as the very first line, and right before the final line */
	ask_fail(c, "fake:error_after=0", true, OLLAMA_ERR_STREAM, NULL, &res);
	ollama_result_free(&res);
	ask_fail(c, "fake:no_think fake:error_after=1000", true,
		 OLLAMA_ERR_STREAM, NULL, &res);
	ollama_result_free(&res);
	ollama_client_free(c);
}

static void test_error_not_streamed(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	struct ollama_result res;

	/* Ollama answers a failed non-streamed request with 500 */
	ask_fail(c, "fake:error_after=3", false, OLLAMA_ERR_HTTP, NULL, &res);
	assert_int_equal(res.http_status, 500);
	assert_non_null(strstr(res.message, "HTTP status 500: "
					    FAKE_OLLAMA_ERROR_TEXT));
	ollama_result_free(&res);
	ollama_client_free(c);
}

static void test_unknown_model_404(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	struct ollama_message msgs[] = {{"user", question}};
	struct ollama_chat_request req = {
		.model = "nosuch:7b",
		.messages = msgs,
		.n_messages = 1,
		.stream = true,
	};
	struct ollama_result res;
	char want[256];

	snprintf(want, sizeof(want),
		 "model \"nosuch:7b\" is not pulled on %s: run `ollama pull "
		 "nosuch:7b`",
		 fx->url);
	assert_int_equal(ollama_chat(c, &req, &res),
			 OLLAMA_ERR_MODEL_NOT_FOUND);
	assert_string_equal(res.message, want);
	assert_int_equal(res.http_status, 404);
	assert_null(res.answer);
	ollama_result_free(&res);
	req.stream = false;
	assert_int_equal(ollama_chat(c, &req, &res),
			 OLLAMA_ERR_MODEL_NOT_FOUND);
	assert_string_equal(res.message, want);
	ollama_result_free(&res);
	ollama_client_free(c);
}

static void test_http_errors(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	struct ollama_result res;
	char want[256];

	ask_fail(c, "fake:status=500", true, OLLAMA_ERR_HTTP, NULL, &res);
	snprintf(want, sizeof(want),
		 "ollama at %s answered POST /api/chat with HTTP status 500: "
		 "%s",
		 fx->url, FAKE_OLLAMA_ERROR_TEXT);
	assert_string_equal(res.message, want);
	ollama_result_free(&res);
	ask_fail(c, "fake:status=429 fake:error_message=server_busy", true,
		 OLLAMA_ERR_HTTP, NULL, &res);
	assert_non_null(strstr(res.message, "HTTP status 429: server busy"));
	ollama_result_free(&res);
	/* a 404 that is not about a model (a wrong URL prefix) */
	{
		struct ollama_client *c2;
		char url[128];

		snprintf(url, sizeof(url), "%s/wrong", fx->url);
		cfg.url = url;
		c2 = fx_client(&cfg);
		ask_fail(c2, "", true, OLLAMA_ERR_HTTP, NULL, &res);
		assert_non_null(
			strstr(res.message, "HTTP status 404: 404 page not "
					    "found"));
		ollama_result_free(&res);
		assert_int_equal(ollama_check_model(c2, NULL), OLLAMA_ERR_HTTP);
		ollama_client_free(c2);
	}
	ollama_client_free(c);
}

static void test_slow_first_token_ok(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c;
	char *want = fake_ollama_visible_answer(question);
	struct ollama_result res;
	char msg[128];

	cfg.request_timeout_ms = 5000;
	cfg.stall_timeout_ms = 2000;
	c = fx_client(&cfg);
	snprintf(msg, sizeof(msg), "%s fake:first_delay=400", question);
	assert_int_equal(fx_chat(c, msg, true, NULL, &res), OLLAMA_OK);
	assert_string_equal(res.answer, want);
	assert_true(res.first_content_ms >= 400);
	assert_true(res.elapsed_ms >= 400);
	ollama_result_free(&res);
	free(want);
	ollama_client_free(c);
}

static void test_total_timeout(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c;
	struct collect col = {0};
	struct ollama_result res;
	char want[128];

	/* tokens keep coming, too slowly for the whole to fit */
	cfg.request_timeout_ms = 400;
	c = fx_client(&cfg);
	ask_fail(c, "fake:token_delay=50", true, OLLAMA_ERR_TIMEOUT, &col,
		 &res);
	snprintf(want, sizeof(want), "ollama at %s did not answer within 400 ms",
		 fx->url);
	assert_string_equal(res.message, want);
	assert_true(res.elapsed_ms >= 380 && res.elapsed_ms < 2000);
	assert_true(res.lines > 0); /* lines came, yet no answer */
	ollama_result_free(&res);

	/* the first token alone is too slow */
	ask_fail(c, "fake:first_delay=3000", true, OLLAMA_ERR_TIMEOUT, NULL,
		 &res);
	assert_true(res.elapsed_ms < 2000);
	assert_int_equal(res.http_status, 0);
	ollama_result_free(&res);
	ollama_client_free(c);
}

static void test_stalled_stream(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c;
	struct ollama_result res;
	char want[128];

	cfg.request_timeout_ms = 10000;
	cfg.stall_timeout_ms = 500;
	c = fx_client(&cfg);
	ask_fail(c, "fake:stall_after=3 fake:stall_ms=20000", true,
		 OLLAMA_ERR_TIMEOUT, NULL, &res);
	snprintf(want, sizeof(want), "ollama at %s stalled: no data for 500 ms",
		 fx->url);
	assert_string_equal(res.message, want);
	assert_true(res.elapsed_ms >= 500 && res.elapsed_ms < 4000);
	assert_int_equal(res.lines, 3);
	ollama_result_free(&res);
	ollama_client_free(c);
}

static void test_connection_reset(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	char *want = fake_ollama_visible_answer(question);
	struct collect col = {0};
	struct ollama_result res;

	/* in the middle of the answer */
	ask_fail(c, "fake:no_think fake:token_delay=2 fake:reset_after=6",
		 true, OLLAMA_ERR_NETWORK, &col, &res);
	assert_non_null(strstr(res.message, "connection to ollama at "));
	assert_non_null(strstr(res.message, " lost: "));
	ollama_result_free(&res);

	/* before the first byte of the reply */
	ask_fail(c, "fake:reset_after=0", true, OLLAMA_ERR_NETWORK, NULL,
		 &res);
	ollama_result_free(&res);
	ask_fail(c, "fake:reset_after=0", false, OLLAMA_ERR_NETWORK, NULL,
		 &res);
	ollama_result_free(&res);

	/* the same client works again afterwards */
	assert_int_equal(fx_chat(c, question, true, NULL, &res), OLLAMA_OK);
	assert_string_equal(res.answer, want);
	ollama_result_free(&res);
	free(want);
	ollama_client_free(c);
}

static void test_malformed_streams(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	struct ollama_result res;
	char want[128];

	ask_fail(c, "fake:garbage_after=3", true, OLLAMA_ERR_MALFORMED, NULL,
		 &res);
	snprintf(want, sizeof(want),
		 "malformed line 4 in ollama stream from %s: ", fx->url);
	assert_memory_equal(res.message, want, strlen(want));
	ollama_result_free(&res);

	ask_fail(c, "fake:no_think fake:no_done", true, OLLAMA_ERR_MALFORMED,
		 NULL, &res);
	snprintf(want, sizeof(want),
		 "ollama stream from %s ended before its final message",
		 fx->url);
	assert_string_equal(res.message, want);
	ollama_result_free(&res);

	ask_fail(c, "fake:garbage_after=0", false, OLLAMA_ERR_MALFORMED, NULL,
		 &res);
	ollama_result_free(&res);
	ask_fail(c, "fake:no_done", false, OLLAMA_ERR_MALFORMED, NULL, &res);
	ollama_result_free(&res);
	ollama_client_free(c);
}

static void test_limits(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c;
	struct ollama_result res;

	cfg.max_line_bytes = 4096;
	cfg.max_answer_bytes = 2000;
	c = fx_client(&cfg);
	ask_fail(c, "fake:huge_line=10000", true, OLLAMA_ERR_MALFORMED, NULL,
		 &res);
	assert_non_null(strstr(res.message, "exceeds 4096 bytes"));
	ollama_result_free(&res);
	/* lines within the limit, the answer over it */
	ask_fail(c, "fake:no_think fake:huge_line=3000", true,
		 OLLAMA_ERR_MALFORMED, NULL, &res);
	assert_non_null(strstr(res.message, "answer from ollama"));
	assert_non_null(strstr(res.message, "exceeds 2000 bytes"));
	ollama_result_free(&res);
	ollama_client_free(c);
}

static void test_cancel(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	struct collect col = {.cancel_after = 2};
	struct ollama_result res;

	/* by the content callback's return value */
	ask_fail(c, "fake:token_delay=2", true, OLLAMA_ERR_CANCELLED, &col,
		 &res);
	assert_int_equal(col.calls, 2);
	assert_int_equal(res.partial_len, col.len);
	ollama_result_free(&res);

	/* by the poll, while nothing arrives (a long first token) */
	memset(&col, 0, sizeof(col));
	col.cancel_polls = 1;
	ask_fail(c, "fake:first_delay=3000", true, OLLAMA_ERR_CANCELLED, &col,
		 &res);
	assert_true(res.elapsed_ms < 2000);
	assert_int_equal(col.polls, 1);
	ollama_result_free(&res);

	/* and the client goes on working */
	assert_int_equal(fx_chat(c, question, true, NULL, &res), OLLAMA_OK);
	ollama_result_free(&res);
	ollama_client_free(c);
}

/*
 * Replies whose client went away (timeout, cancel, stall) must be noticed
 * and freed by the server, which then goes on serving: the fake must not
 * leak or crash where a real server would not.
 */
static void test_abandoned_replies_cleaned_up(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c;
	struct collect col = {.cancel_after = 1};
	struct ollama_result res;

	cfg.request_timeout_ms = 200;
	c = fx_client(&cfg);
	/* gone while tokens flow */
	ask_fail(c, "fake:token_delay=10", true, OLLAMA_ERR_TIMEOUT, NULL,
		 &res);
	ollama_result_free(&res);
	/* gone before the first token */
	ask_fail(c, "fake:first_delay=300", true, OLLAMA_ERR_TIMEOUT, NULL,
		 &res);
	ollama_result_free(&res);
	/* gone before a non-streamed reply */
	ask_fail(c, "fake:first_delay=300", false, OLLAMA_ERR_TIMEOUT, NULL,
		 &res);
	ollama_result_free(&res);
	/* cancelled at the first piece of the answer */
	ask_fail(c, "fake:thinking_field fake:token_delay=5", true,
		 OLLAMA_ERR_CANCELLED, &col, &res);
	ollama_result_free(&res);
	ollama_client_free(c);

	/* the server notices each dead connection when it next writes */
	for (int i = 0; i < 300 && fake_ollama_active_replies(fx->fake) > 0;
	     i++)
		usleep(10000);
	assert_int_equal(fake_ollama_active_replies(fx->fake), 0);

	cfg.request_timeout_ms = 5000;
	c = fx_client(&cfg);
	assert_int_equal(fx_chat(c, question, true, NULL, &res), OLLAMA_OK);
	ollama_result_free(&res);
	ollama_client_free(c);
	assert_int_equal(fake_ollama_active_replies(fx->fake), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_error_mid_stream),
		T(test_error_not_streamed),
		T(test_unknown_model_404),
		T(test_http_errors),
		T(test_slow_first_token_ok),
		T(test_total_timeout),
		T(test_stalled_stream),
		T(test_connection_reset),
		T(test_malformed_streams),
		T(test_limits),
		T(test_cancel),
		T(test_abandoned_replies_cleaned_up),
	};
#undef T

	ollama_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

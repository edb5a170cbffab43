/*
 * test_client.c -- the Ollama client against the fake server: the normal
 * paths. /api/tags and the "not pulled" message, streaming and
 * non-streaming chat (incremental delivery, think stripping, final
 * statistics), what the request body carries, OLLAMA_HOST, and the fake
 * itself (its error replies, its program run as a child process).
 *
 * Failures (errors mid-stream, timeouts, resets, ...) are in
 * test_faults.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "fixture.h"

static const char question[] = "What is a monad?";

/* A port nothing listens on (bound, then closed). */
static unsigned dead_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---------------------------------------------------------------------
 * /api/tags
 * ------------------------------------------------------------------- */

static void test_tags_model_present(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);

	assert_int_equal(ollama_check_model(c, NULL), OLLAMA_OK);
	assert_string_equal(ollama_errmsg(c), "");
	/* names compare without case */
	assert_int_equal(ollama_check_model(c, "DeepSeek-R1:1.5b"), OLLAMA_OK);
	ollama_client_free(c);
}

static void test_tags_model_not_pulled(void **state)
{
	struct fx *fx = *state;
	static const char *const models[] = {"llama3.2:latest",
					     "qwen2.5:0.5b"};
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	char want[256];

	assert_int_equal(fake_ollama_set_models(fx->fake, models, 2), 0);
	assert_int_equal(ollama_check_model(c, NULL),
			 OLLAMA_ERR_MODEL_NOT_FOUND);
	snprintf(want, sizeof(want),
		 "model \"deepseek-r1:1.5b\" is not pulled on %s: run "
		 "`ollama pull deepseek-r1:1.5b`",
		 fx->url);
	assert_string_equal(ollama_errmsg(c), want);
	assert_int_equal(ollama_check_model(c, "qwen2.5:0.5b"), OLLAMA_OK);
	/* an empty list */
	assert_int_equal(fake_ollama_set_models(fx->fake, NULL, 0), 0);
	assert_int_equal(ollama_check_model(c, "qwen2.5:0.5b"),
			 OLLAMA_ERR_MODEL_NOT_FOUND);
	ollama_client_free(c);
}

static void test_tags_untagged_names(void **state)
{
	struct fx *fx = *state;
	static const char *const models[] = {"llama3", "mistral:latest"};
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);

	assert_int_equal(fake_ollama_set_models(fx->fake, models, 2), 0);
	assert_int_equal(ollama_check_model(c, "llama3:latest"), OLLAMA_OK);
	assert_int_equal(ollama_check_model(c, "mistral"), OLLAMA_OK);
	assert_int_equal(ollama_check_model(c, "mistral:7b"),
			 OLLAMA_ERR_MODEL_NOT_FOUND);
	ollama_client_free(c);
}

static void test_tags_unreachable(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c;
	char url[64], want[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u", dead_port());
	cfg.url = url;
	c = fx_client(&cfg);
	assert_int_equal(ollama_check_model(c, NULL), OLLAMA_ERR_UNREACHABLE);
	snprintf(want, sizeof(want), "could not connect to ollama at %s: ",
		 url);
	assert_memory_equal(ollama_errmsg(c), want, strlen(want));
	ollama_client_free(c);
}

/* ---------------------------------------------------------------------
 * Streaming chat
 * ------------------------------------------------------------------- */

static void check_stats(const struct ollama_result *r)
{
	assert_true(r->eval_count > 0);
	assert_int_equal(r->eval_duration_ns,
			 r->eval_count * FAKE_OLLAMA_NS_PER_TOKEN);
	assert_true(r->tokens_per_second > 39.999 &&
		    r->tokens_per_second < 40.001);
	assert_true(r->prompt_eval_count > 0);
	assert_true(r->total_duration_ns >= r->eval_duration_ns +
						   r->load_duration_ns);
	assert_int_equal(r->http_status, 200);
}

static void test_stream_chat(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	char *want = fake_ollama_visible_answer(question);
	struct collect col = {0};
	struct ollama_result res;
	char msg[128];

	snprintf(msg, sizeof(msg), "%s fake:token_delay=4", question);
	assert_int_equal(fx_chat(c, msg, true, &col, &res), OLLAMA_OK);
	assert_string_equal(res.answer, want);
	assert_int_equal(res.answer_len, strlen(want));
	/* delivered piece by piece, while the stream was still running */
	assert_string_equal(col.buf, want);
	assert_true(col.calls >= 5);
	assert_int_equal(res.partial_len, strlen(want));
	assert_true(res.first_content_ms > 0);
	assert_true(res.first_content_ms + 20 < res.elapsed_ms);
	assert_string_equal(res.done_reason, "stop");
	assert_false(res.think_unterminated);
	/* one line per token, plus the final one */
	assert_int_equal(res.lines, res.eval_count + 1);
	/* system + user contents, as the fake counts them */
	assert_int_equal(res.prompt_eval_count,
			 (strlen("You are a patient tutor.") + strlen(msg)) / 4 +
				 1);
	check_stats(&res);
	assert_int_equal(res.error, OLLAMA_OK);
	assert_string_equal(res.message, "");
	ollama_result_free(&res);

	/* the same client again (the connection is reused) */
	memset(&col, 0, sizeof(col));
	assert_int_equal(fx_chat(c, question, true, &col, &res), OLLAMA_OK);
	assert_string_equal(res.answer, want);
	ollama_result_free(&res);
	free(want);
	ollama_client_free(c);
}

static void test_stream_lines_split(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	char *want = fake_ollama_visible_answer(question);
	struct ollama_result res;
	char msg[128];

	/* every line reaches the client in 7-byte pieces, 1 ms apart */
	snprintf(msg, sizeof(msg), "fake:split=7 %s", question);
	assert_int_equal(fx_chat(c, msg, true, NULL, &res), OLLAMA_OK);
	assert_string_equal(res.answer, want);
	assert_int_equal(res.lines, res.eval_count + 1);
	check_stats(&res);
	ollama_result_free(&res);
	free(want);
	ollama_client_free(c);
}

static void test_stream_missing_open_tag(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	char *want = fake_ollama_visible_answer(question);
	struct fake_ollama_mode m;
	struct collect col = {0};
	struct ollama_result res;
	char *raw;

	fake_ollama_mode_default(&m);
	m.no_open_think = true;
	raw = fake_ollama_reply_text(question, &m);
	assert_null(strstr(raw, "<think>"));
	assert_non_null(strstr(raw, "</think>"));
	fake_ollama_set_mode(fx->fake, &m);
	assert_int_equal(fx_chat(c, question, true, &col, &res), OLLAMA_OK);
	assert_string_equal(res.answer, want);
	assert_string_equal(col.buf, want);
	ollama_result_free(&res);
	free(raw);
	free(want);
	ollama_client_free(c);
}

static void test_stream_unterminated_think(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	struct collect col = {0};
	struct ollama_result res;

	assert_int_equal(fx_chat(c, "fake:unterminated_think Why?", true, &col,
				 &res),
			 OLLAMA_OK);
	assert_string_equal(res.answer, "");
	assert_true(res.think_unterminated);
	assert_string_equal(res.done_reason, "length");
	assert_int_equal(col.calls, 0);
	ollama_result_free(&res);
	ollama_client_free(c);
}

static void test_stream_thinking_field(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	char *want = fake_ollama_visible_answer(question);
	struct collect col = {0};
	struct ollama_result res;
	char msg[128];

	/* newer Ollama: thinking in message.thinking, content untagged */
	snprintf(msg, sizeof(msg), "%s fake:thinking_field", question);
	assert_int_equal(fx_chat(c, msg, true, &col, &res), OLLAMA_OK);
	assert_string_equal(res.answer, want);
	assert_null(strstr(col.buf, "student asks"));
	assert_true(col.calls > 1); /* streamed, not held to the end */
	ollama_result_free(&res);
	free(want);
	ollama_client_free(c);
}

static void test_num_predict_length(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c;
	struct ollama_result res;

	cfg.num_predict = 5;
	c = fx_client(&cfg);
	assert_int_equal(fx_chat(c, question, true, NULL, &res), OLLAMA_OK);
	assert_string_equal(res.done_reason, "length");
	assert_int_equal(res.eval_count, 5);
	/* five tokens are all thinking: nothing to show */
	assert_string_equal(res.answer, "");
	assert_true(res.think_unterminated);
	ollama_result_free(&res);
	ollama_client_free(c);
}

/* ---------------------------------------------------------------------
 * Non-streaming chat
 * ------------------------------------------------------------------- */

static void test_nonstream_chat(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	char *want = fake_ollama_visible_answer(question);
	struct collect col = {0};
	struct ollama_result res;
	char *body;
	json_t *root;

	assert_int_equal(fx_chat(c, question, false, &col, &res), OLLAMA_OK);
	assert_string_equal(res.answer, want);
	assert_int_equal(res.lines, 1);
	assert_string_equal(res.done_reason, "stop");
	check_stats(&res);
	/* the callback gets the whole answer once */
	assert_int_equal(col.calls, 1);
	assert_string_equal(col.buf, want);
	body = fake_ollama_last_request(fx->fake);
	root = json_loads(body, 0, NULL);
	assert_non_null(root);
	assert_true(json_is_false(json_object_get(root, "stream")));
	json_decref(root);
	free(body);
	ollama_result_free(&res);
	free(want);
	ollama_client_free(c);
}

/* ---------------------------------------------------------------------
 * What the client sends
 * ------------------------------------------------------------------- */

static void test_request_body(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	struct ollama_message msgs[] = {
		{"system", "You are a patient tutor."},
		{"user", "Explain recursion."},
		{"assistant", "It calls itself."},
		{"user", "Why \"itself\"? ü"},
	};
	struct ollama_chat_request req = {
		.messages = msgs,
		.n_messages = 4,
		.stream = true,
		.has_seed = true,
		.seed = 42,
	};
	struct ollama_result res;
	json_t *root, *opts, *m;
	char *body;

	assert_int_equal(ollama_chat(c, &req, &res), OLLAMA_OK);
	ollama_result_free(&res);
	body = fake_ollama_last_request(fx->fake);
	assert_non_null(body);
	root = json_loads(body, 0, NULL);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "model")),
			    "deepseek-r1:1.5b");
	assert_true(json_is_true(json_object_get(root, "stream")));
	assert_string_equal(
		json_string_value(json_object_get(root, "keep_alive")), "5m");
	opts = json_object_get(root, "options");
	assert_true(json_is_object(opts));
	assert_true(json_number_value(json_object_get(opts, "temperature")) ==
		    0.3);
	assert_int_equal(json_integer_value(json_object_get(opts, "num_ctx")),
			 4096);
	assert_int_equal(
		json_integer_value(json_object_get(opts, "num_predict")), 1024);
	assert_int_equal(json_integer_value(json_object_get(opts, "seed")),
			 42);
	m = json_object_get(root, "messages");
	assert_int_equal(json_array_size(m), 4);
	for (size_t i = 0; i < 4; i++) {
		json_t *e = json_array_get(m, i);

		assert_string_equal(
			json_string_value(json_object_get(e, "role")),
			msgs[i].role);
		assert_string_equal(
			json_string_value(json_object_get(e, "content")),
			msgs[i].content);
		assert_int_equal(json_object_size(e), 2);
	}
	json_decref(root);
	free(body);
	ollama_client_free(c);

	/* numeric keep_alive goes as a number; unset options are left out */
	cfg.keep_alive = "300";
	cfg.num_ctx = 0;
	cfg.num_predict = 0;
	c = fx_client(&cfg);
	req.has_seed = false;
	assert_int_equal(ollama_chat(c, &req, &res), OLLAMA_OK);
	ollama_result_free(&res);
	body = fake_ollama_last_request(fx->fake);
	root = json_loads(body, 0, NULL);
	assert_non_null(root);
	assert_true(json_is_integer(json_object_get(root, "keep_alive")));
	assert_int_equal(json_integer_value(json_object_get(root, "keep_alive")),
			 300);
	opts = json_object_get(root, "options");
	assert_null(json_object_get(opts, "num_ctx"));
	assert_null(json_object_get(opts, "num_predict"));
	assert_null(json_object_get(opts, "seed"));
	assert_non_null(json_object_get(opts, "temperature"));
	json_decref(root);
	free(body);
	ollama_client_free(c);
}

static void test_invalid_requests(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	struct ollama_client *c = fx_client(&cfg);
	struct ollama_message bad_role[] = {{"robot", "hi"}};
	struct ollama_message bad_utf8[] = {{"user", "caf\xc3"}};
	struct ollama_chat_request req = {.stream = true};
	struct ollama_result res;
	unsigned before = fake_ollama_request_count(fx->fake);

	assert_int_equal(ollama_chat(c, &req, &res), OLLAMA_ERR_INVALID);
	assert_string_equal(res.message, "chat request has no messages");
	ollama_result_free(&res);
	req.messages = bad_role;
	req.n_messages = 1;
	assert_int_equal(ollama_chat(c, &req, &res), OLLAMA_ERR_INVALID);
	assert_non_null(strstr(res.message, "invalid role \"robot\""));
	ollama_result_free(&res);
	req.messages = bad_utf8;
	assert_int_equal(ollama_chat(c, &req, &res), OLLAMA_ERR_INVALID);
	assert_non_null(strstr(res.message, "not valid UTF-8"));
	assert_null(res.answer);
	ollama_result_free(&res);
	/* nothing reached the server */
	assert_int_equal(fake_ollama_request_count(fx->fake), before);
	ollama_client_free(c);
}

/* ---------------------------------------------------------------------
 * OLLAMA_HOST
 * ------------------------------------------------------------------- */

static void test_ollama_host_override(void **state)
{
	struct fx *fx = *state;
	struct ollama_config cfg = fx_config(fx);
	unsigned port = fake_ollama_port(fx->fake);
	char forms[5][64], want[64], dead[64];

	snprintf(forms[0], 64, "127.0.0.1:%u", port);
	snprintf(forms[1], 64, "http://127.0.0.1:%u", port);
	snprintf(forms[2], 64, "http://127.0.0.1:%u/", port);
	snprintf(forms[3], 64, " '127.0.0.1:%u' ", port);
	snprintf(forms[4], 64, "localhost:%u", port);
	snprintf(want, sizeof(want), "http://127.0.0.1:%u", port);
	/* the configured URL leads nowhere: only the variable can work */
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%u", dead_port());
	cfg.url = dead;
	cfg.ignore_env = false;

	for (size_t i = 0; i < 5; i++) {
		struct ollama_client *c;
		struct ollama_result res;

		setenv("OLLAMA_HOST", forms[i], 1);
		c = fx_client(&cfg);
		if (i < 4)
			assert_string_equal(ollama_client_url(c), want);
		if (ollama_check_model(c, NULL) != OLLAMA_OK)
			fail_msg("OLLAMA_HOST=\"%s\": %s", forms[i],
				 ollama_errmsg(c));
		assert_int_equal(fx_chat(c, question, true, NULL, &res),
				 OLLAMA_OK);
		ollama_result_free(&res);
		ollama_client_free(c);
	}
	unsetenv("OLLAMA_HOST");
	{
		struct ollama_client *c = fx_client(&cfg);

		assert_string_equal(ollama_client_url(c), dead);
		assert_int_equal(ollama_check_model(c, NULL),
				 OLLAMA_ERR_UNREACHABLE);
		ollama_client_free(c);
	}
}

/* ---------------------------------------------------------------------
 * The fake itself
 * ------------------------------------------------------------------- */

static void test_fake_error_replies(void **state)
{
	struct fx *fx = *state;
	char url[128], *resp;
	json_t *o;

	snprintf(url, sizeof(url), "%s/api/chat", fx->url);
	assert_int_equal(fx_http("POST", url, "", &resp), 400);
	assert_string_equal(resp, "{\"error\":\"missing request body\"}");
	free(resp);
	assert_int_equal(fx_http("POST", url, "{", &resp), 400);
	assert_non_null(strstr(resp, "\"error\""));
	free(resp);
	assert_int_equal(fx_http("POST", url, "{\"messages\":[]}", &resp), 400);
	assert_string_equal(resp, "{\"error\":\"model is required\"}");
	free(resp);
	assert_int_equal(fx_http("POST", url, "{\"model\":\"x\"}", &resp), 404);
	assert_string_equal(
		resp,
		"{\"error\":\"model \\\"x\\\" not found, try pulling it first\"}");
	free(resp);
	/* no messages: Ollama loads the model */
	assert_int_equal(fx_http("POST", url,
				 "{\"model\":\"deepseek-r1:1.5b\"}", &resp),
			 200);
	o = json_loads(resp, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(o,
							       "done_reason")),
			    "load");
	json_decref(o);
	free(resp);
	assert_int_equal(fx_http("GET", url, NULL, NULL), 405);
	snprintf(url, sizeof(url), "%s/nope", fx->url);
	assert_int_equal(fx_http("GET", url, NULL, NULL), 404);
	snprintf(url, sizeof(url), "%s/", fx->url);
	assert_int_equal(fx_http("GET", url, NULL, &resp), 200);
	assert_string_equal(resp, "Ollama is running");
	free(resp);
	/* /api/generate, not streamed */
	snprintf(url, sizeof(url), "%s/api/generate", fx->url);
	assert_int_equal(fx_http("POST", url,
				 "{\"model\":\"deepseek-r1:1.5b\",\"prompt\":"
				 "\"hi fake:no_think\",\"stream\":false}",
				 &resp),
			 200);
	o = json_loads(resp, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "response")),
			    "Echo: hi\nNote: a<b and <thin> are not tags.");
	json_decref(o);
	free(resp);
}

static void test_fake_child_process(void **state)
{
	static const char *const args[] = {"--model", "deepseek-r1:1.5b",
					   "--model", "qwen2.5:0.5b", NULL};
	struct fake_ollama_child ch;
	struct ollama_config cfg = {
		.model = "qwen2.5:0.5b",
		.ignore_env = true,
		.temperature = 0.3,
		.request_timeout_ms = 5000,
	};
	struct ollama_client *c;
	struct ollama_result res;
	char url[64], ctl[128], *resp;
	char *want = fake_ollama_visible_answer(question);

	assert_int_equal(fake_ollama_spawn(FAKE_OLLAMA_EXE, args, &ch), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)ch.port);
	cfg.url = url;
	c = fx_client(&cfg);
	assert_int_equal(ollama_check_model(c, NULL), OLLAMA_OK);
	assert_int_equal(ollama_check_model(c, "deepseek-r1:1.5b"), OLLAMA_OK);

	/* steer it over HTTP: no think block by default from now on */
	snprintf(ctl, sizeof(ctl), "%s/_fake/mode", url);
	assert_int_equal(fx_http("POST", ctl, "{\"no_think\":true,"
					      "\"token_delay\":1}",
				 NULL),
			 200);
	assert_int_equal(fx_http("POST", ctl, "{\"bogus\":1}", NULL), 400);
	assert_int_equal(fx_chat(c, question, true, NULL, &res), OLLAMA_OK);
	assert_string_equal(res.answer, want);
	ollama_result_free(&res);

	snprintf(ctl, sizeof(ctl), "%s/_fake/last_request", url);
	assert_int_equal(fx_http("GET", ctl, NULL, &resp), 200);
	assert_non_null(strstr(resp, "\"model\":\"qwen2.5:0.5b\""));
	free(resp);

	/* the model list can be changed too */
	snprintf(ctl, sizeof(ctl), "%s/_fake/mode", url);
	assert_int_equal(fx_http("POST", ctl, "{\"models\":[\"other:1b\"]}",
				 NULL),
			 200);
	assert_int_equal(ollama_check_model(c, NULL),
			 OLLAMA_ERR_MODEL_NOT_FOUND);
	ollama_client_free(c);
	fake_ollama_child_stop(&ch);
	assert_int_equal(ch.pid, 0);
	free(want);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_tags_model_present),
		T(test_tags_model_not_pulled),
		T(test_tags_untagged_names),
		T(test_tags_unreachable),
		T(test_stream_chat),
		T(test_stream_lines_split),
		T(test_stream_missing_open_tag),
		T(test_stream_unterminated_think),
		T(test_stream_thinking_field),
		T(test_num_predict_length),
		T(test_nonstream_chat),
		T(test_request_body),
		T(test_invalid_requests),
		T(test_ollama_host_override),
		T(test_fake_error_replies),
		cmocka_unit_test(test_fake_child_process),
	};
#undef T

	ollama_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

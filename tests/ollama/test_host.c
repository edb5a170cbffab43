/*
 * test_host.c -- OLLAMA_HOST and URL normalisation (tutord/host.c), and
 * how ollama_client_new picks the address (environment over config).
 *
 * The table follows Ollama's own envconfig rules: no scheme means http and
 * port 11434, "http://" without a port 80, "https://" 443; quotes, blanks
 * and trailing slashes are ignored.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "ollama.h"

static void test_accepted_forms(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"", "http://127.0.0.1:11434"},
		{"   ", "http://127.0.0.1:11434"},
		{"localhost", "http://localhost:11434"},
		{"127.0.0.1", "http://127.0.0.1:11434"},
		{"0.0.0.0", "http://0.0.0.0:11434"},
		{"gpu-box.example.com:8080", "http://gpu-box.example.com:8080"},
		{":8080", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:11434", "http://127.0.0.1:11434"},
		{"http://example.com:8080", "http://example.com:8080"},
		{"http://example.com", "http://example.com:80"},
		{"https://example.com", "https://example.com:443"},
		{"https://example.com:8443/", "https://example.com:8443"},
		{"HTTPS://Example.com:1", "https://Example.com:1"},
		{"  \"127.0.0.1:5000\"  ", "http://127.0.0.1:5000"},
		{"'localhost:5000'", "http://localhost:5000"},
		{"[::1]:9000", "http://[::1]:9000"},
		{"[::1]", "http://[::1]:11434"},
		{"::1", "http://[::1]:11434"},
		{"http://box:11434/ollama/", "http://box:11434/ollama"},
		{"box/ollama", "http://box:11434/ollama"},
		{"http://", "http://127.0.0.1:80"},
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rv = ollama_url_normalize(cases[i].in, out, sizeof(out));

		if (rv != 0)
			fail_msg("\"%s\": rv %d", cases[i].in, rv);
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"",
				 cases[i].in, out, cases[i].out);
	}
	assert_int_equal(ollama_url_normalize(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "http://127.0.0.1:11434");
}

static void test_rejected_forms(void **state)
{
	static const char *const bad[] = {
		"ftp://host",   "unix:///tmp/s", "host:0",     "host:65536",
		"host:abc",     "host:",         "ho st",      "[::1",
		"[::1]x",       "user@host",     "host:80:x",  "http://h/a b",
		"http://h/?q=1", "http://h:-1",  "[::g]:1",    "::1::x:y",
	};
	char out[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rv = ollama_url_normalize(bad[i], out, sizeof(out));

		if (rv != -EINVAL)
			fail_msg("\"%s\": rv %d (%s)", bad[i], rv,
				 rv == 0 ? out : "");
	}
	assert_int_equal(ollama_url_normalize("localhost", out, 10), -ENOSPC);
}

static struct ollama_config base_config(void)
{
	struct ollama_config cfg = {
		.url = "http://127.0.0.1:1",
		.model = "deepseek-r1:1.5b",
		.temperature = 0.3,
	};
	return cfg;
}

static void test_env_overrides_config(void **state)
{
	struct ollama_config cfg = base_config();
	struct ollama_client *c = NULL;
	char err[256];

	setenv("OLLAMA_HOST", "10.1.2.3:4567", 1);
	assert_int_equal(ollama_client_new(&cfg, &c, err, sizeof(err)),
			 OLLAMA_OK);
	assert_string_equal(ollama_client_url(c), "http://10.1.2.3:4567");
	ollama_client_free(c);

	/* ignore_env keeps the configured URL */
	cfg.ignore_env = true;
	assert_int_equal(ollama_client_new(&cfg, &c, err, sizeof(err)),
			 OLLAMA_OK);
	assert_string_equal(ollama_client_url(c), "http://127.0.0.1:1");
	ollama_client_free(c);
	cfg.ignore_env = false;

	/* empty means unset */
	setenv("OLLAMA_HOST", "", 1);
	assert_int_equal(ollama_client_new(&cfg, &c, err, sizeof(err)),
			 OLLAMA_OK);
	assert_string_equal(ollama_client_url(c), "http://127.0.0.1:1");
	ollama_client_free(c);

	/* a bad value is reported as such, naming the variable */
	setenv("OLLAMA_HOST", "ftp://x", 1);
	assert_int_equal(ollama_client_new(&cfg, &c, err, sizeof(err)),
			 OLLAMA_ERR_INVALID);
	assert_non_null(strstr(err, "OLLAMA_HOST \"ftp://x\""));
	unsetenv("OLLAMA_HOST");

	/* no URL at all: the default */
	cfg.url = NULL;
	assert_int_equal(ollama_client_new(&cfg, &c, err, sizeof(err)),
			 OLLAMA_OK);
	assert_string_equal(ollama_client_url(c), OLLAMA_DEFAULT_URL);
	assert_string_equal(ollama_client_model(c), "deepseek-r1:1.5b");
	assert_string_equal(ollama_errmsg(c), "");
	ollama_client_free(c);
}

static void test_bad_config(void **state)
{
	struct ollama_config cfg = base_config();
	struct ollama_client *c = NULL;
	char err[256];

	cfg.ignore_env = true;
	cfg.model = "";
	assert_int_equal(ollama_client_new(&cfg, &c, err, sizeof(err)),
			 OLLAMA_ERR_INVALID);
	cfg.model = "m";
	cfg.temperature = 2.5;
	assert_int_equal(ollama_client_new(&cfg, &c, err, sizeof(err)),
			 OLLAMA_ERR_INVALID);
	assert_non_null(strstr(err, "temperature"));
	cfg.temperature = 0.3;
	cfg.url = "gopher://x";
	assert_int_equal(ollama_client_new(&cfg, &c, err, sizeof(err)),
			 OLLAMA_ERR_INVALID);
	assert_non_null(strstr(err, "invalid ollama URL \"gopher://x\""));
	assert_null(c);
}

static void test_config_from_tutor(void **state)
{
	struct lms_tutor_config t = {
		.ollama_url = "http://127.0.0.1:11434",
		.model = "deepseek-r1:1.5b",
		.connect_timeout_ms = 2000,
		.request_timeout_ms = 180000,
		.num_ctx = 4096,
		.num_predict = 1024,
		.temperature = 0.3,
		.keep_alive = "5m",
	};
	struct ollama_config cfg;

	ollama_config_from_tutor(&cfg, &t);
	assert_string_equal(cfg.url, t.ollama_url);
	assert_string_equal(cfg.model, t.model);
	assert_int_equal(cfg.connect_timeout_ms, 2000);
	assert_int_equal(cfg.request_timeout_ms, 180000);
	assert_int_equal(cfg.num_ctx, 4096);
	assert_int_equal(cfg.num_predict, 1024);
	assert_true(cfg.temperature == 0.3);
	assert_string_equal(cfg.keep_alive, "5m");
	assert_false(cfg.ignore_env);
	assert_int_equal(cfg.stall_timeout_ms, 0);
}

static void test_error_names(void **state)
{
	assert_string_equal(ollama_error_name(OLLAMA_OK), "ok");
	assert_string_equal(ollama_error_name(OLLAMA_ERR_TIMEOUT), "timeout");
	assert_string_equal(ollama_error_name(OLLAMA_ERR_STREAM),
			    "stream error");
	assert_string_equal(ollama_error_name(999), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted_forms),
		cmocka_unit_test(test_rejected_forms),
		cmocka_unit_test(test_env_overrides_config),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_config_from_tutor),
		cmocka_unit_test(test_error_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

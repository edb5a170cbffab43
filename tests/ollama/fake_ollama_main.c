/*
 * fake_ollama_main.c -- the fake-ollama program (build/bin/fake-ollama).
 *
 * A thin wrapper around fake_ollama.c: parse the command line, listen,
 * print "fake-ollama listening on 127.0.0.1:PORT" on stdout (so a parent
 * that asked for port 0 learns the port), run until SIGINT or SIGTERM.
 * The signals are handled inside the event loop, never in a handler.
 * The control interface is documented at the top of fake_ollama.c.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fake_ollama.h"

/* SIGINT / SIGTERM, delivered by the loop: stop it. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	fake_ollama_stop(arg);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fake-ollama [--port N] [--model NAME]... "
		"[--mode KEY[=VALUE]]...\n"
		"A fake Ollama server for tests, on 127.0.0.1.\n\n"
		"  -p, --port N        port to listen on (default 11434; 0 = "
		"any)\n"
		"  -m, --model NAME    a served model (repeatable; default "
		"%s)\n"
		"  -M, --mode K[=V]    default behaviour (repeatable), e.g. "
		"token_delay=20\n"
		"  -h, --help          this help\n"
		"  -V, --version       version\n\n"
		"Per request, words \"fake:K[=V]\" in the last user message "
		"override the mode.\n"
		"POST /_fake/mode {\"K\": V, \"models\": [..]} sets it; GET "
		"/_fake/last_request\n"
		"shows the last chat/generate body.\n",
		FAKE_OLLAMA_DEFAULT_MODEL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"model", required_argument, NULL, 'm'},
		{"mode", required_argument, NULL, 'M'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *models[64];
	size_t n_models = 0;
	struct fake_ollama_mode mode;
	unsigned long port = 11434;
	struct fake_ollama *f;
	struct event *sigint, *sigterm;
	char *end;
	int c;

	fake_ollama_mode_default(&mode);
	while ((c = getopt_long(argc, argv, "p:m:M:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || port > 65535) {
				fprintf(stderr, "fake-ollama: invalid port "
						"\"%s\"\n",
					optarg);
				return 2;
			}
			break;
		case 'm':
			if (n_models < 64)
				models[n_models++] = optarg;
			break;
		case 'M': {
			char key[64];
			const char *eq = strchr(optarg, '=');
			size_t kl = eq ? (size_t)(eq - optarg) : strlen(optarg);

			if (kl == 0 || kl >= sizeof(key)) {
				fprintf(stderr, "fake-ollama: invalid mode "
						"\"%s\"\n",
					optarg);
				return 2;
			}
			memcpy(key, optarg, kl);
			key[kl] = '\0';
			if (fake_ollama_mode_set(&mode, key,
						 eq ? eq + 1 : NULL) != 0) {
				fprintf(stderr, "fake-ollama: invalid mode "
						"\"%s\"\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("fake-ollama %s\n", LMS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	f = fake_ollama_new((uint16_t)port);
	if (f == NULL)
		return 1;
	if (n_models > 0 && fake_ollama_set_models(f, models, n_models) != 0) {
		fake_ollama_free(f);
		return 1;
	}
	fake_ollama_set_mode(f, &mode);
	sigint = evsignal_new(fake_ollama_base(f), SIGINT, on_signal, f);
	sigterm = evsignal_new(fake_ollama_base(f), SIGTERM, on_signal, f);
	if (sigint == NULL || sigterm == NULL || event_add(sigint, NULL) ||
	    event_add(sigterm, NULL)) {
		fprintf(stderr, "fake-ollama: could not set up signals\n");
		return 1;
	}
	printf("fake-ollama listening on 127.0.0.1:%u\n",
	       (unsigned)fake_ollama_port(f));
	fflush(stdout);
	fake_ollama_run(f);
	event_free(sigint);
	event_free(sigterm);
	fake_ollama_free(f);
	return 0;
}

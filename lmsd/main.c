/*
 * main.c -- lmsd, one node of the cluster.
 *
 *   lmsd [--config FILE] [--node N] [--log-level LEVEL]
 *
 * Loads the config (--config, else $LMS_CONFIG, else ./config.json), picks
 * the node (--node, else $LMS_NODE_ID), recovers the node's state from its
 * PostgreSQL database and serves until SIGTERM or SIGINT. Shutdown is
 * staged: the signal handler only breaks the event loop (libevent runs it
 * inside the loop, not in signal context); then listeners close, waiting
 * calls are answered UNAVAILABLE, the worker threads finish the job they
 * run (a persist in flight commits or rolls back as a whole), and the
 * database connections close. SIGKILL at any moment loses nothing that was
 * acknowledged: an answer leaves only after its entry is durable.
 *
 * Exit status: 0 after a signal, 1 on a fatal error (message on stderr),
 * 2 on bad usage or configuration.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "node.h"
#include "util.h"

static void usage(FILE *f)
{
	fputs("usage: lmsd [--config FILE] [--node N] [--log-level LEVEL]\n"
	      "\n"
	      "  --config FILE      cluster configuration (default $LMS_CONFIG "
	      "or ./config.json)\n"
	      "  --node N           which node of the configuration to run "
	      "(default $LMS_NODE_ID)\n"
	      "  --log-level LEVEL  debug, info, warn or error (default: "
	      "log.level of the config)\n"
	      "  --help, --version\n",
	      f);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;
	LMS_INFO("received %s, shutting down", strsignal((int)sig));
	event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"node", required_argument, NULL, 'n'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *level_arg = NULL;
	unsigned node_id = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "c:n:l:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'n': {
			uint64_t v;
			if (lms_parse_u64(optarg, 1, UINT32_MAX, &v) != 0) {
				fprintf(stderr, "lmsd: --node must be a positive "
				        "integer, got \"%s\"\n", optarg);
				return 2;
			}
			node_id = (unsigned)v;
			break;
		}
		case 'l': level_arg = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("lmsd %s\n", LMS_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "lmsd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (node_id == 0 && lms_config_node_id_from_env(&node_id) != 0) {
		fprintf(stderr, "lmsd: no node id: use --node N or set "
		        "LMS_NODE_ID\n");
		return 2;
	}

	struct lms_config cfg;
	char err[1024];
	if (!config_path)
		config_path = lms_config_default_path();
	if (lms_config_load(config_path, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "lmsd: %s\n", err);
		return 2;
	}
	enum lms_log_level level = cfg.log.level;
	if (level_arg && lms_log_level_parse(level_arg, &level) != 0) {
		fprintf(stderr, "lmsd: unknown log level \"%s\"\n", level_arg);
		lms_config_free(&cfg);
		return 2;
	}
	lms_log_init("lmsd", node_id, level);
	signal(SIGPIPE, SIG_IGN);

	int rc = 1;
	struct event_base *base = event_base_new();
	if (!base) {
		LMS_ERROR("could not create the event loop");
		goto out_cfg;
	}
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
	if (!sigterm || !sigint || event_add(sigterm, NULL) != 0 ||
	    event_add(sigint, NULL) != 0) {
		LMS_ERROR("could not install signal handlers");
		goto out_base;
	}
	struct node *n = node_new(base, &cfg, node_id, err, sizeof err);
	if (!n) {
		LMS_ERROR("could not start node %u: %s", node_id, err);
		goto out_signals;
	}
	event_base_dispatch(base);
	rc = node_fatal(n) ? 1 : 0;
	node_free(n);
	/* let libevent finish cancelling what the transport tore down (a
	 * name lookup in flight) before the base goes */
	event_base_loop(base, EVLOOP_NONBLOCK);
	LMS_INFO("stopped");
out_signals:
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
out_base:
	event_base_free(base);
out_cfg:
	lms_config_free(&cfg);
	return rc;
}

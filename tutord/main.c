/*
 * main.c -- tutord: the tutoring daemon (tutor.h has what it does).
 *
 *     tutord [--config FILE] [--password-file FILE] [--nodes LIST]
 *            [--http-host HOST] [--http-port N] [--stream-host HOST]
 *            [--worker NAME] [--log-level L]
 *
 * The main thread runs a libevent loop: SIGTERM/SIGINT and the status
 * server on tutor.http_port (/health, /status JSON, /metrics, and the
 * answer streams /v1/stream/<key> of live.h). One worker
 * thread runs tutor_run (blocking cluster and Ollama calls). A signal sets
 * the tutor's stop flag and breaks the loop; the worker's waits and its
 * Ollama request notice the flag within about a second, and main joins it.
 *
 * The password of the service account (tutor.username) is read from
 * --password-file (first line) or $LMS_TUTOR_PASSWORD, never from argv.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "client.h"
#include "config.h"
#include "httpstatus.h"
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "ollama.h"
#include "tutor.h"
#include "util.h"

struct daemon {
	struct event_base *base;
	struct tutor *tutor;
	struct live *live;
	/* shutting down: the loop runs on until the worker has ended (and
	 * told the answer streams how), then a little longer to send that */
	atomic_bool worker_done;
	struct event *drain;
	uint64_t drain_deadline_ms, done_ms;
	struct lms_metrics *reg;
	struct lms_metric *m_claimed, *m_answered, *m_ollama_err,
		*m_cluster_err, *m_tokens, *m_tps, *m_up, *m_latency;
};

static void usage(FILE *f)
{
	fputs("usage: tutord [options]\n"
	      "  --config FILE         cluster configuration (default "
	      "$LMS_CONFIG or ./config.json)\n"
	      "  --password-file FILE  the service account's password (else "
	      "$LMS_TUTOR_PASSWORD)\n"
	      "  --nodes LIST          host:port,... of the nodes (default "
	      "$LMS_NODES, else the config)\n"
	      "  --http-host HOST      address of /health, /metrics and the "
	      "answer streams\n"
	      "                        (default 127.0.0.1)\n"
	      "  --http-port N         their port (default tutor.http_port)\n"
	      "  --stream-host HOST    the host name students' clients use "
	      "for the answer\n"
	      "                        streams (default --http-host; this "
	      "machine's name\n"
	      "                        when that is 0.0.0.0 or ::)\n"
	      "  --worker NAME         name in claims (default host:pid)\n"
	      "  --log-level LEVEL     debug, info, warn or error\n"
	      "  -h, --help, -V, --version\n", f);
}

static char *read_password(const char *path)
{
	char buf[1024];
	if (path) {
		FILE *f = fopen(path, "r");
		if (!f) {
			LMS_ERROR("could not open password file \"%s\": %m",
			          path);
			return NULL;
		}
		bool ok = fgets(buf, sizeof buf, f) != NULL;
		fclose(f);
		if (!ok) {
			LMS_ERROR("password file \"%s\" is empty", path);
			return NULL;
		}
	} else {
		const char *e = getenv("LMS_TUTOR_PASSWORD");
		if (!e || !*e) {
			LMS_ERROR("no password for the tutor account: give "
			          "--password-file or set LMS_TUTOR_PASSWORD");
			return NULL;
		}
		snprintf(buf, sizeof buf, "%s", e);
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!*buf) {
		LMS_ERROR("the tutor account's password is empty");
		return NULL;
	}
	return strdup(buf);
}

/* ------------------------------------------------------------ status */

static int on_health(void *arg, struct evbuffer *out)
{
	struct daemon *d = arg;
	struct tutor_stats s;
	tutor_stats_get(d->tutor, &s);
	bool ok = s.logged_in && s.ollama_up;
	evbuffer_add_printf(out, "%s: %s\n", ok ? "ok" : "unavailable",
	                    s.state);
	return ok ? 200 : 503;
}

static int on_status(void *arg, struct evbuffer *out)
{
	struct daemon *d = arg;
	struct tutor_stats s;
	tutor_stats_get(d->tutor, &s);
	evbuffer_add_printf(out, "{\"worker\":");
	lms_http_json_str(out, tutor_worker_name(d->tutor),
	                  strlen(tutor_worker_name(d->tutor)));
	evbuffer_add_printf(out, ",\"state\":");
	lms_http_json_str(out, s.state, strlen(s.state));
	evbuffer_add_printf(out,
		",\"logged_in\":%s,\"ollama_up\":%s,\"claimed\":%llu,"
		"\"answered\":%llu,\"ollama_errors\":%llu,"
		"\"cluster_errors\":%llu}\n",
		s.logged_in ? "true" : "false", s.ollama_up ? "true" : "false",
		(unsigned long long)s.claimed, (unsigned long long)s.answered,
		(unsigned long long)s.ollama_errors,
		(unsigned long long)s.cluster_errors);
	return 200;
}

static int on_route(void *arg, struct evhttp_request *req,
                    const char *path)
{
	struct daemon *d = arg;
	return live_route(d->live, req, path);
}

/* "http://host:port/v1/stream/" (IPv6 literals bracketed). */
static int stream_base(char *out, size_t cap, const char *stream_host,
                       const char *http_host, unsigned port)
{
	char name[256];
	const char *h = stream_host;
	if (!h && (strcmp(http_host, "0.0.0.0") == 0 ||
	           strcmp(http_host, "::") == 0)) {
		if (gethostname(name, sizeof name) != 0)
			return -1;
		name[sizeof name - 1] = '\0';
		h = name;
	} else if (!h) {
		h = http_host;
	}
	bool v6 = strchr(h, ':') != NULL;
	int n = snprintf(out, cap, "http://%s%s%s:%u%s", v6 ? "[" : "", h,
	                 v6 ? "]" : "", port, LIVE_PATH);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int on_metrics(void *arg, struct evbuffer *out)
{
	struct daemon *d = arg;
	struct tutor_stats s;
	tutor_stats_get(d->tutor, &s);
	lms_metric_set(d->m_claimed, (double)s.claimed);
	lms_metric_set(d->m_answered, (double)s.answered);
	lms_metric_set(d->m_ollama_err, (double)s.ollama_errors);
	lms_metric_set(d->m_cluster_err, (double)s.cluster_errors);
	lms_metric_set(d->m_tokens, (double)s.tokens);
	lms_metric_set(d->m_tps, s.last_tokens_per_second);
	lms_metric_set(d->m_up, s.ollama_up ? 1 : 0);
	memcpy(d->m_latency->counts, s.latency.counts,
	       sizeof d->m_latency->counts);
	d->m_latency->sum = s.latency.sum;
	d->m_latency->count = s.latency.count;
	return lms_metrics_render(d->reg, out) == 0 ? 200 : 500;
}

static int metrics_init(struct daemon *d)
{
	static const double bounds[TUTOR_LATENCY_BUCKETS] = {
		0.5, 1, 2, 5, 10, 20, 30, 60, 120, 180, 300};
	d->reg = lms_metrics_new();
	if (!d->reg)
		return -1;
	d->m_claimed = lms_metric_counter(d->reg,
		"tutord_questions_claimed_total", "Questions claimed.");
	d->m_answered = lms_metric_counter(d->reg,
		"tutord_questions_answered_total",
		"Answers stored through the cluster.");
	d->m_ollama_err = lms_metric_counter(d->reg,
		"tutord_ollama_errors_total",
		"Failed Ollama requests and model checks.");
	d->m_cluster_err = lms_metric_counter(d->reg,
		"tutord_cluster_errors_total",
		"Cluster calls that got no answer.");
	d->m_tokens = lms_metric_counter(d->reg,
		"tutord_tokens_generated_total",
		"Tokens generated for stored answers (thinking included).");
	d->m_tps = lms_metric_gauge(d->reg, "tutord_tokens_per_second",
		"Generation speed of the last stored answer.");
	d->m_up = lms_metric_gauge(d->reg, "tutord_ollama_up",
		"1 when the last Ollama check or request succeeded.");
	d->m_latency = lms_metric_histogram(d->reg, "tutord_answer_seconds",
		"Time from claiming a question to storing its answer.",
		bounds, TUTOR_LATENCY_BUCKETS);
	return d->m_claimed && d->m_answered && d->m_ollama_err &&
	       d->m_cluster_err && d->m_tokens && d->m_tps && d->m_up &&
	       d->m_latency ? 0 : -1;
}

/* ----------------------------------------------------------- signals */

#define DRAIN_TICK_MS 50
#define DRAIN_FLUSH_MS 200   /* after the worker ended */
#define DRAIN_MAX_MS 3000

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct daemon *d = arg;
	uint64_t now = lms_now_ms();
	if (atomic_load(&d->worker_done) && !d->done_ms)
		d->done_ms = now;
	if ((d->done_ms && now - d->done_ms >= DRAIN_FLUSH_MS) ||
	    now >= d->drain_deadline_ms)
		event_base_loopbreak(d->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct daemon *d = arg;
	if (d->drain_deadline_ms) { /* a second signal: now */
		event_base_loopbreak(d->base);
		return;
	}
	LMS_INFO("received %s, shutting down", strsignal((int)sig));
	tutor_stop(d->tutor);
	d->drain_deadline_ms = lms_now_ms() + DRAIN_MAX_MS;
	struct timeval tv = {0, DRAIN_TICK_MS * 1000};
	if (!d->drain || event_add(d->drain, &tv) != 0)
		event_base_loopbreak(d->base);
}

static void *worker_main(void *arg)
{
	struct daemon *d = arg;
	tutor_run(d->tutor);
	atomic_store(&d->worker_done, true);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"password-file", required_argument, NULL, 'p'},
		{"nodes", required_argument, NULL, 'n'},
		{"http-host", required_argument, NULL, 'H'},
		{"http-port", required_argument, NULL, 'P'},
		{"stream-host", required_argument, NULL, 'S'},
		{"worker", required_argument, NULL, 'w'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *pw_file = NULL, *nodes_arg = NULL;
	const char *http_host = "127.0.0.1", *worker = NULL, *level = NULL;
	const char *http_port_arg = NULL, *stream_host = NULL;
	int ch;
	lms_log_init("tutord", 0, LMS_LOG_INFO);
	while ((ch = getopt_long(argc, argv, "c:p:n:H:P:S:w:l:hV", opts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'p': pw_file = optarg; break;
		case 'n': nodes_arg = optarg; break;
		case 'H': http_host = optarg; break;
		case 'P': http_port_arg = optarg; break;
		case 'S': stream_host = optarg; break;
		case 'w': worker = optarg; break;
		case 'l': level = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("tutord %s\n", LMS_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!config_path)
		config_path = lms_config_default_path();

	struct lms_config cfg;
	char err[512];
	if (lms_config_load(config_path, &cfg, err, sizeof err) != 0) {
		LMS_ERROR("%s", err);
		lms_config_free(&cfg);
		return 1;
	}
	lms_log_set_level(cfg.log.level);
	uint64_t http_port = cfg.tutor.http_port;
	if (http_port_arg &&
	    lms_parse_u64(http_port_arg, 1, 65535, &http_port) != 0) {
		LMS_ERROR("invalid --http-port \"%s\": 1..65535",
		          http_port_arg);
		lms_config_free(&cfg);
		return 2;
	}
	if (level) {
		enum lms_log_level l;
		if (lms_log_level_parse(level, &l) != 0) {
			LMS_ERROR("invalid log level \"%s\"", level);
			lms_config_free(&cfg);
			return 2;
		}
		lms_log_set_level(l);
	}
	struct lmsc_node nodes[LMSC_MAX_NODES];
	size_t n_nodes = LMSC_MAX_NODES;
	if (lmsc_nodes_resolve(nodes_arg, config_path, nodes, &n_nodes, err,
	                       sizeof err) != 0) {
		LMS_ERROR("%s", err);
		lms_config_free(&cfg);
		return 1;
	}
	char *password = read_password(pw_file);
	if (!password) {
		lms_config_free(&cfg);
		return 1;
	}

	int rc = 1;
	struct daemon d = {0};
	struct lms_http *http = NULL;
	struct event *sigterm = NULL, *sigint = NULL;
	pthread_t th;
	bool started = false;
	signal(SIGPIPE, SIG_IGN);
	if (ollama_global_init() != 0) {
		LMS_ERROR("could not initialise libcurl");
		goto out;
	}
	char base_url[TUTOR_WORKER_MAX];
	if (stream_base(base_url, sizeof base_url, stream_host, http_host,
	                (unsigned)http_port) != 0) {
		LMS_ERROR("the answer stream URL is too long (--stream-host)");
		goto out;
	}
	/* the worker thread wakes the loop (live.h) */
	if (evthread_use_pthreads() != 0 || !(d.base = event_base_new())) {
		LMS_ERROR("could not create the event loop");
		goto out;
	}
	if (!(d.live = live_new(d.base, cfg.limits.max_text_bytes))) {
		LMS_ERROR("out of memory");
		goto out;
	}
	struct tutor_options to = {
		.cfg = &cfg,
		.nodes = nodes,
		.n_nodes = n_nodes,
		.password = password,
		.worker = worker,
		.stream_base = base_url,
		.live = d.live,
	};
	d.tutor = tutor_new(&to, err, sizeof err);
	if (!d.tutor) {
		LMS_ERROR("%s", err);
		goto out;
	}
	if (metrics_init(&d) != 0) {
		LMS_ERROR("could not register the metrics");
		goto out;
	}
	struct lms_http_handlers h = {
		.health = on_health,
		.status = on_status,
		.metrics = on_metrics,
		.route = on_route,
		.arg = &d,
	};
	http = lms_http_new(d.base, http_host, (uint16_t)http_port, &h, err,
	                    sizeof err);
	if (!http) {
		LMS_ERROR("%s", err);
		goto out;
	}
	sigterm = evsignal_new(d.base, SIGTERM, on_signal, &d);
	sigint = evsignal_new(d.base, SIGINT, on_signal, &d);
	if (!sigterm || !sigint || event_add(sigterm, NULL) != 0 ||
	    event_add(sigint, NULL) != 0) {
		LMS_ERROR("could not install signal handlers");
		goto out;
	}
	d.drain = event_new(d.base, -1, EV_PERSIST, on_drain, &d);
	if (pthread_create(&th, NULL, worker_main, &d) != 0) {
		LMS_ERROR("could not start the worker thread");
		goto out;
	}
	started = true;
	LMS_INFO("tutord %s started: worker %s, model \"%s\", status on "
	         "http://%s:%u/", LMS_VERSION, tutor_worker_name(d.tutor),
	         cfg.tutor.model, http_host, (unsigned)http_port);
	event_base_dispatch(d.base);
	rc = 0;
out:
	if (d.tutor)
		tutor_stop(d.tutor);
	if (started)
		pthread_join(th, NULL);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (d.drain)
		event_free(d.drain);
	lms_http_free(http);
	live_free(d.live);
	lms_metrics_free(d.reg);
	if (d.base)
		event_base_free(d.base);
	tutor_free(d.tutor);
	explicit_bzero(password, strlen(password));
	free(password);
	ollama_global_cleanup();
	lms_config_free(&cfg);
	if (rc == 0)
		LMS_INFO("stopped");
	return rc;
}

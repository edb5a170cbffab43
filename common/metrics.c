/*
 * metrics.c -- see metrics.h. Output follows the Prometheus text format:
 * "# HELP", "# TYPE", then samples; histograms as cumulative _bucket{le=}
 * lines ending with le="+Inf", then _sum and _count.
 */
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#define METRICS_MAX 64

struct lms_metrics {
	size_t n;
	struct lms_metric m[METRICS_MAX];
};

const double lms_metric_latency_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5,
};
const size_t lms_metric_latency_n =
	sizeof lms_metric_latency_bounds / sizeof lms_metric_latency_bounds[0];

struct lms_metrics *lms_metrics_new(void)
{
	return calloc(1, sizeof(struct lms_metrics));
}

void lms_metrics_free(struct lms_metrics *m)
{
	free(m);
}

static struct lms_metric *metrics_add(struct lms_metrics *m, const char *name,
                                      const char *help, int kind)
{
	if (m->n == METRICS_MAX)
		return NULL;
	struct lms_metric *x = &m->m[m->n++];
	memset(x, 0, sizeof *x);
	x->name = name;
	x->help = help;
	x->kind = kind;
	return x;
}

struct lms_metric *lms_metric_counter(struct lms_metrics *m, const char *name,
                                      const char *help)
{
	return metrics_add(m, name, help, LMS_METRIC_COUNTER);
}

struct lms_metric *lms_metric_gauge(struct lms_metrics *m, const char *name,
                                    const char *help)
{
	return metrics_add(m, name, help, LMS_METRIC_GAUGE);
}

struct lms_metric *lms_metric_histogram(struct lms_metrics *m,
                                        const char *name, const char *help,
                                        const double *bounds, size_t n)
{
	if (n > LMS_METRIC_MAX_BUCKETS)
		return NULL;
	struct lms_metric *x = metrics_add(m, name, help, LMS_METRIC_HISTOGRAM);
	if (x) {
		memcpy(x->bounds, bounds, n * sizeof *bounds);
		x->n_bounds = n;
	}
	return x;
}

void lms_metric_inc(struct lms_metric *x, double by)
{
	if (x)
		x->value += by;
}

void lms_metric_set(struct lms_metric *x, double v)
{
	if (x)
		x->value = v;
}

void lms_metric_observe(struct lms_metric *x, double v)
{
	if (!x)
		return;
	size_t i = 0;
	while (i < x->n_bounds && v > x->bounds[i])
		i++;
	x->counts[i]++;
	x->sum += v;
	x->count++;
}

int lms_metrics_render(const struct lms_metrics *m, struct evbuffer *out)
{
	static const char *const kinds[] = {"", "counter", "gauge",
	                                    "histogram"};
	for (size_t k = 0; k < m->n; k++) {
		const struct lms_metric *x = &m->m[k];
		if (evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
		                        x->name, x->help, x->name,
		                        kinds[x->kind]) < 0)
			return -ENOMEM;
		if (x->kind != LMS_METRIC_HISTOGRAM) {
			if (evbuffer_add_printf(out, "%s %.17g\n", x->name,
			                        x->value) < 0)
				return -ENOMEM;
			continue;
		}
		uint64_t cum = 0;
		for (size_t i = 0; i < x->n_bounds; i++) {
			cum += x->counts[i];
			if (evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %llu\n",
			                        x->name, x->bounds[i],
			                        (unsigned long long)cum) < 0)
				return -ENOMEM;
		}
		cum += x->counts[x->n_bounds];
		if (evbuffer_add_printf(out,
		                        "%s_bucket{le=\"+Inf\"} %llu\n"
		                        "%s_sum %.17g\n%s_count %llu\n",
		                        x->name, (unsigned long long)cum, x->name,
		                        x->sum, x->name,
		                        (unsigned long long)x->count) < 0)
			return -ENOMEM;
	}
	return 0;
}

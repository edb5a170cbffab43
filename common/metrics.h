/*
 * metrics.h -- counters, gauges and histograms rendered in the Prometheus
 * text exposition format (version 0.0.4) for /metrics.
 *
 * Why this exists
 * ---------------
 * lmsd and tutord both export metrics; this keeps the format in one place.
 * A registry is a fixed table owned by its creator: metrics are registered
 * once at start-up, then updated from the event-loop thread only (no locks;
 * a worker thread reports its numbers through its job's done callback).
 *
 * Ownership: names and help strings must be string literals (borrowed for
 * the registry's life); lms_metric pointers stay valid until
 * lms_metrics_free().
 */
#ifndef LMS_METRICS_H
#define LMS_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum lms_metric_kind {
	LMS_METRIC_COUNTER = 1,
	LMS_METRIC_GAUGE = 2,
	LMS_METRIC_HISTOGRAM = 3,
};

#define LMS_METRIC_MAX_BUCKETS 16

struct lms_metric {
	const char *name;
	const char *help;
	int kind;
	double value; /* counter, gauge */
	/* histogram: cumulative on output; bounds ascending, +Inf implied */
	size_t n_bounds;
	double bounds[LMS_METRIC_MAX_BUCKETS];
	uint64_t counts[LMS_METRIC_MAX_BUCKETS + 1];
	double sum;
	uint64_t count;
};

struct lms_metrics;

struct lms_metrics *lms_metrics_new(void);
void lms_metrics_free(struct lms_metrics *m);

/* NULL on allocation failure or a full registry (64 metrics). */
struct lms_metric *lms_metric_counter(struct lms_metrics *m, const char *name,
                                      const char *help);
struct lms_metric *lms_metric_gauge(struct lms_metrics *m, const char *name,
                                    const char *help);
/* bounds: n ascending upper bounds (at most LMS_METRIC_MAX_BUCKETS). */
struct lms_metric *lms_metric_histogram(struct lms_metrics *m,
                                        const char *name, const char *help,
                                        const double *bounds, size_t n);

void lms_metric_inc(struct lms_metric *x, double by);
void lms_metric_set(struct lms_metric *x, double v);
void lms_metric_observe(struct lms_metric *x, double v);

/* Latency buckets in seconds, 0.1 ms .. 5 s, for lms_metric_histogram. */
extern const double lms_metric_latency_bounds[];
extern const size_t lms_metric_latency_n;

/* Appends the whole registry in Prometheus text format. 0 or -ENOMEM. */
int lms_metrics_render(const struct lms_metrics *m, struct evbuffer *out);

#endif

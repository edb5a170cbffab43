/*
 * bench_hist.c -- lms-bench's latency histogram and per-operation counts.
 *
 * Why this exists
 * ---------------
 * Percentiles must be right at sub-millisecond latencies and cheap to
 * record from many threads for minutes. Each thread records into its own
 * fixed-size histogram (no locks, no growing sample arrays); the main
 * thread merges them after the run. The layout is HDR Histogram's
 * log-linear one, written here from the idea, not the code: values below
 * 2 * BH_SUB microseconds have a bucket each; above, every power of two
 * is split into BH_SUB equal sub-buckets, so a reported value (the
 * midpoint of its bucket, clamped to the observed min and max) is within
 * 1 / (2 * BH_SUB) of the truth -- 0.4 % -- whatever its magnitude.
 */
#include <string.h>
#include <time.h>

#include "bench.h"

static unsigned hist_index(uint64_t v)
{
	if (v < 2 * BH_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - BH_SUB_BITS;
	if (shift > BH_MAX_SHIFT) /* beyond 2^38 us: the last bucket */
		return BH_BUCKETS - 1;
	uint64_t mant = v >> shift; /* in [BH_SUB, 2 * BH_SUB) */
	return 2 * BH_SUB + (shift - 1) * BH_SUB + (unsigned)(mant - BH_SUB);
}

/* The midpoint of bucket i's value range. */
static uint64_t hist_value(unsigned i)
{
	if (i < 2 * BH_SUB)
		return i;
	unsigned k = i - 2 * BH_SUB;
	unsigned shift = k / BH_SUB + 1;
	uint64_t mant = k % BH_SUB + BH_SUB;
	uint64_t lo = mant << shift;
	return lo + ((uint64_t)1 << shift) / 2;
}

void bench_hist_record(struct bench_hist *h, uint64_t us)
{
	if (h->count == 0 || us < h->min_us)
		h->min_us = us;
	if (us > h->max_us)
		h->max_us = us;
	h->count++;
	h->sum_us += (double)us;
	h->b[hist_index(us)]++;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min_us < dst->min_us)
		dst->min_us = src->min_us;
	if (src->max_us > dst->max_us)
		dst->max_us = src->max_us;
	dst->count += src->count;
	dst->sum_us += src->sum_us;
	for (unsigned i = 0; i < BH_BUCKETS; i++)
		dst->b[i] += src->b[i];
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double p)
{
	if (h->count == 0)
		return 0;
	/* the smallest value with at least p % of the samples at or below */
	uint64_t rank = (uint64_t)((p / 100.0) * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	uint64_t seen = 0;
	for (unsigned i = 0; i < BH_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t v = hist_value(i);
			if (v < h->min_us)
				v = h->min_us;
			if (v > h->max_us)
				v = h->max_us;
			return v;
		}
	}
	return h->max_us;
}

void bench_opstat_merge(struct bench_opstat *dst,
                        const struct bench_opstat *src)
{
	bench_hist_merge(&dst->h, &src->h);
	dst->errors += src->errors;
	for (int i = 0; i < BENCH_ST_COUNT; i++)
		dst->by_status[i] += src->by_status[i];
}

/* ------------------------------------------------------------ names */

static const char *const op_names[OP_COUNT] = {
	[OP_SUBMIT] = "submit",      [OP_GRADE] = "grade",
	[OP_READ] = "read",          [OP_READ_STALE] = "read-stale",
	[OP_QUERY] = "query",        [OP_KV_PUT] = "kv-put",
	[OP_KV_GET] = "kv-get",      [OP_KV_CAS] = "kv-cas",
};

const char *bench_op_name(enum bench_op op)
{
	return op < OP_COUNT ? op_names[op] : "?";
}

int bench_op_parse(const char *name)
{
	for (int i = 0; i < OP_COUNT; i++)
		if (strcmp(name, op_names[i]) == 0)
			return i;
	return -1;
}

bool bench_op_is_lms(enum bench_op op)
{
	return op == OP_SUBMIT || op == OP_GRADE || op == OP_READ ||
	       op == OP_READ_STALE || op == OP_QUERY;
}

const char *bench_status_name(int st)
{
	switch (st) {
	case BENCH_ST_TIMEOUT: return "TIMEOUT";
	case BENCH_ST_UNAVAILABLE: return "NO_NODE_ANSWERED";
	case BENCH_ST_WRONG: return "WRONG_ANSWER";
	case BENCH_ST_HTTP: return "HTTP_ERROR";
	default: return lmsc_status_name(st);
	}
}

/* ------------------------------------------------------ clock, rand */

uint64_t bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* splitmix64: per-thread state, no locks */
uint64_t bench_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

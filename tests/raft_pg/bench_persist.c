/*
 * bench_persist.c -- raft_pg_bench: how long one pgs_persist takes, to
 * guide performance work on the storage path.
 *
 *   raft_pg_bench [--runs N]      (default 300; LMS_TEST_PG* must be set)
 *
 * Scenarios, each N times on a fresh database, entries of 100-byte kv PUT
 * commands in the exactly-once envelope (client ids cycling over 50):
 *   hard state only        a vote or a new term
 *   append 1 / 100         what a leader or follower persists per batch
 *   append+apply 1 / 100   the same entries committed in the same batch
 *                          (apply: session lookup, kv upsert, session
 *                          upsert per entry, then last_applied)
 * Prints median, 90th percentile and mean in milliseconds. Every commit
 * waits for its WAL flush (synchronous_commit on): the numbers include
 * one fsync of the test server's disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pgsfix.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *name, double *t, int runs)
{
	qsort(t, (size_t)runs, sizeof *t, cmp_double);
	double sum = 0;
	for (int i = 0; i < runs; i++)
		sum += t[i];
	printf("%-22s median %7.3f ms   p90 %7.3f ms   mean %7.3f ms   (%d runs)\n",
	       name, t[runs / 2], t[runs * 9 / 10], sum / runs, runs);
	fflush(stdout);
}

static void scenario(const char *name, int runs, size_t batch, bool apply,
                     bool hard_state_only)
{
	struct fx *f = fx_new("raft_pg_bench", 1, NULL, NULL);
	double *t = calloc((size_t)runs, sizeof *t);
	struct pgs_apply_result *res = calloc(batch ? batch : 1, sizeof *res);
	if (!t || !res)
		abort();
	char value[100];
	memset(value, 'v', sizeof value);
	raft_index next = 1;
	for (int r = 0; r < runs; r++) {
		struct fx_entries l = {0};
		for (size_t i = 0; i < batch; i++, next++) {
			char key[32];
			snprintf(key, sizeof key, "key-%llu",
			         (unsigned long long)(next % 1000));
			fx_add_put(&l, next, 1, 1 + next % 50, next,
			           key, value, sizeof value);
		}
		struct raft_ready rd;
		fx_ready_append_commit(&rd, &l, 0, l.n, apply);
		if (hard_state_only) {
			rd.has_hard_state = true;
			rd.hard_state.term = (raft_term)r + 1;
			rd.hard_state.vote = 1;
		}
		double t0 = now_ms();
		fx_persist(f, &rd, res);
		t[r] = now_ms() - t0;
		fx_entries_free(&l);
	}
	report(name, t, runs);
	free(t);
	free(res);
	fx_free(f);
}

int main(int argc, char **argv)
{
	int runs = 300;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: raft_pg_bench [--runs N]\n");
			return 2;
		}
	}
	if (runs < 1)
		runs = 1;
	scenario("hard state only", runs, 0, false, true);
	scenario("append 1", runs, 1, false, false);
	scenario("append 100", runs, 100, false, false);
	scenario("append+apply 1", runs, 1, true, false);
	scenario("append+apply 100", runs, 100, true, false);
	return 0;
}

/*
 * sim_rng.c -- the simulator's only source of randomness.
 *
 * xoshiro256** (common/xoshiro.h, shared with lms-chaos) seeded through
 * splitmix64: fast, good statistical quality,
 * and fully determined by one 64-bit seed, so every run (message latencies,
 * losses, crashes, the cores' own seeds) replays exactly from --seed. The
 * simulator never calls rand() or reads a clock.
 */
#include "sim_internal.h"
#include "xoshiro.h"

uint64_t sim_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t sim_hash_bytes(uint64_t h, const void *p, size_t len)
{
	/* FNV-1a over the bytes, then mixed: deterministic, order-sensitive. */
	const unsigned char *b = p;
	uint64_t x = h ^ 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		x ^= b[i];
		x *= 0x100000001b3ULL;
	}
	return sim_mix64(x ^ len);
}

void rng_seed(struct sim_rng *g, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++) {
		x += 0x9e3779b97f4a7c15ULL;
		g->s[i] = sim_mix64(x);
	}
}

uint64_t rng_next(struct sim_rng *g)
{
	return lms_xoshiro256ss(g->s);
}

uint64_t rng_range(struct sim_rng *g, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = hi - lo + 1;
	if (span == 0) /* full 64-bit range */
		return rng_next(g);
	/* Rejection sampling: no modulo bias. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % span;
	uint64_t x;
	do {
		x = rng_next(g);
	} while (x >= limit);
	return lo + x % span;
}

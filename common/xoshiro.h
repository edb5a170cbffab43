/*
 * xoshiro.h -- the xoshiro256** step (Blackman & Vigna, public domain
 * algorithm), header only.
 *
 * Why this exists
 * ---------------
 * The Raft simulator and lms-chaos both draw every random decision from a
 * seed, so that a run replays exactly; they share this one generator step
 * rather than each keeping a copy. Seeding stays with each caller (their
 * seeds name runs in logs and README, so their state derivation must not
 * change). Not for anything secret.
 */
#ifndef LMS_XOSHIRO_H
#define LMS_XOSHIRO_H

#include <stdint.h>

static inline uint64_t lms_xoshiro_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Next output; advances the state s (never all zero). */
static inline uint64_t lms_xoshiro256ss(uint64_t s[4])
{
	uint64_t result = lms_xoshiro_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = lms_xoshiro_rotl(s[3], 45);
	return result;
}

#endif

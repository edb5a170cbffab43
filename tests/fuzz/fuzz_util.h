/*
 * fuzz_util.h -- what the libFuzzer targets of tests/fuzz/ share: reading
 * parameters off the front of an input, and cutting a byte stream into
 * pieces at points the input chooses.
 *
 * Why this exists
 * ---------------
 * Most code under test here is incremental (a frame reader, a line
 * splitter, a tag stripper, a pipe parser): it must give the same answer
 * however the network cut its input. So a target takes a few bytes of its
 * input as parameters (a limit, a mode, a seed) and uses the seed to draw
 * where the rest is cut; the pieces stay contiguous in the input, so the
 * fuzzer's mutations of the data and of the cut points are independent.
 * Everything is a pure function of the input: a crash file replays exactly.
 *
 * Failed checks abort() after one line on stderr naming the target's
 * invariant; libFuzzer then keeps the input as a crash file.
 *
 * Header only (static inline); no global state.
 */
#ifndef LMS_FUZZ_UTIL_H
#define LMS_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant of the code under test does not hold: report and abort. */
#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n",       \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

/* The unread part of an input. */
struct fz {
	const uint8_t *p;
	size_t n;
};

static inline struct fz fz_init(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	return f;
}

/* Next byte, 0 once the input is used up. */
static inline uint8_t fz_u8(struct fz *f)
{
	if (f->n == 0)
		return 0;
	f->n--;
	return *f->p++;
}

/* Next 8 bytes, little-endian (missing bytes are 0). */
static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)fz_u8(f) << (8 * i);
	return v;
}

/* The cut points of a stream: xorshift64* from a seed. */
struct fz_cuts {
	uint64_t s;
};

static inline struct fz_cuts fz_cuts_init(uint64_t seed)
{
	struct fz_cuts c = { seed ^ 0x9E3779B97F4A7C15ull };
	if (c.s == 0)
		c.s = 1;
	return c;
}

static inline uint64_t fz_cuts_next(struct fz_cuts *c)
{
	c->s ^= c->s >> 12;
	c->s ^= c->s << 25;
	c->s ^= c->s >> 27;
	return c->s * 0x2545F4914F6CDD1Dull;
}

/*
 * Length of the next piece, at most left: mostly small (0..7 bytes, empty
 * pieces included, so byte-at-a-time feeding is common), sometimes up to
 * 64, sometimes everything that is left.
 */
static inline size_t fz_cuts_piece(struct fz_cuts *c, size_t left)
{
	uint64_t r = fz_cuts_next(c);
	size_t n;

	switch (r & 3) {
	case 0:
	case 1:
		n = (size_t)(r >> 8) % 8;
		break;
	case 2:
		n = (size_t)(r >> 8) % 65;
		break;
	default:
		n = left;
		break;
	}
	return n < left ? n : left;
}

/* A simple hash of bytes (FNV-1a), to derive a seed from data that must
 * stay intact (a PDF's header). */
static inline uint64_t fz_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#endif /* LMS_FUZZ_UTIL_H */

/*
 * fuzz_frame.c -- the wire frame decoder (common/frame.c, common/evframe.c)
 * on arbitrary byte streams cut at arbitrary points.
 *
 * Input: 1 byte choosing the frame limit, 8 bytes seeding the cut points,
 * then the stream. The stream is parsed three ways and they must agree:
 *
 *   - a reference parse of the whole stream written here (4-byte
 *     big-endian length, payload; a length above the limit is an error
 *     from the header alone; a partial frame at the end is a truncation);
 *   - struct lms_frame_reader, fed the stream in pieces (empty ones too),
 *     taking frames out after every piece, then told eof;
 *   - lms_evframe_peek on an evbuffer the pieces are added to, half of them
 *     by reference so that the buffer is made of many chains and
 *     evbuffer_pullup has to join them (what lmsd's client port and the
 *     peer transport do with what a socket delivers).
 *
 * Same frames in the same order, byte for byte, and the same ending: clean
 * on a frame boundary, an oversized header, or a truncated frame.
 */
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>

#include "evframe.h"
#include "frame.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Longer inputs are skipped (ops/fuzz runs with -max_len below this). */
#define MAX_INPUT (1u << 16)
#define MAX_FRAMES (MAX_INPUT / LMS_FRAME_HEADER_BYTES + 1)

struct ref_frame {
	size_t off; /* of the payload in the stream */
	size_t len;
};

/* How the reference parse ended. */
enum ref_end { REF_CLEAN, REF_TOOBIG, REF_TRUNCATED };

static size_t pick_limit(uint8_t b)
{
	static const size_t limits[] = { 0, 1, 4, 16, 100, 255, 4096,
					 1u << 20 };

	return b < 8 ? limits[b] : (size_t)b * 3;
}

static enum ref_end ref_parse(const uint8_t *s, size_t n, size_t max,
			      struct ref_frame *fr, size_t *nfr)
{
	size_t pos = 0;

	*nfr = 0;
	for (;;) {
		uint32_t len;

		if (n - pos == 0)
			return REF_CLEAN;
		if (n - pos < 4)
			return REF_TRUNCATED;
		len = (uint32_t)s[pos] << 24 | (uint32_t)s[pos + 1] << 16 |
		      (uint32_t)s[pos + 2] << 8 | s[pos + 3];
		if (len > max)
			return REF_TOOBIG;
		if (n - pos - 4 < len)
			return REF_TRUNCATED;
		fr[*nfr].off = pos + 4;
		fr[*nfr].len = len;
		(*nfr)++;
		pos += 4 + (size_t)len;
	}
}

static void check_frame(const uint8_t *s, const struct ref_frame *fr,
			size_t nfr, size_t i, const uint8_t *payload,
			size_t len)
{
	uint8_t hdr[LMS_FRAME_HEADER_BYTES];

	FUZZ_CHECK(i < nfr);
	FUZZ_CHECK(len == fr[i].len);
	FUZZ_CHECK(len == 0 || memcmp(payload, s + fr[i].off, len) == 0);
	/* The header codec gives back the bytes the frame came with. */
	lms_frame_put_header(hdr, (uint32_t)len);
	FUZZ_CHECK(memcmp(hdr, s + fr[i].off - 4, 4) == 0);
}

static void run_reader(const uint8_t *s, size_t n, size_t max,
		       uint64_t seed, const struct ref_frame *fr, size_t nfr,
		       enum ref_end end)
{
	struct lms_frame_reader r;
	struct fz_cuts cuts = fz_cuts_init(seed);
	size_t pos = 0, got = 0;
	int rv = 0;

	lms_frame_reader_init(&r, max);
	while (rv >= 0) {
		size_t piece = fz_cuts_piece(&cuts, n - pos);
		const uint8_t *payload;
		size_t len;

		rv = lms_frame_reader_feed(&r, s + pos, piece);
		if (rv < 0) {
			FUZZ_CHECK(rv == LMS_FRAME_ETOOBIG);
			break;
		}
		pos += piece;
		while ((rv = lms_frame_reader_next(&r, &payload, &len)) == 1)
			check_frame(s, fr, nfr, got++, payload, len);
		if (pos == n)
			break;
	}
	if (rv >= 0) {
		const uint8_t *payload;
		size_t len;

		lms_frame_reader_eof(&r);
		FUZZ_CHECK(lms_frame_reader_feed(&r, "x", 1) == -EINVAL);
		while ((rv = lms_frame_reader_next(&r, &payload, &len)) == 1)
			check_frame(s, fr, nfr, got++, payload, len);
	}
	FUZZ_CHECK(got == nfr);
	switch (end) {
	case REF_CLEAN:
		FUZZ_CHECK(rv == 0);
		break;
	case REF_TOOBIG:
		FUZZ_CHECK(rv == LMS_FRAME_ETOOBIG);
		break;
	case REF_TRUNCATED:
		FUZZ_CHECK(rv == LMS_FRAME_ETRUNCATED);
		break;
	}
	/* Errors are sticky. */
	if (rv < 0) {
		const uint8_t *payload;
		size_t len;

		FUZZ_CHECK(lms_frame_reader_next(&r, &payload, &len) == rv);
		FUZZ_CHECK(lms_frame_reader_feed(&r, "x", 1) == rv);
	}
	lms_frame_reader_free(&r);
}

static void run_evbuffer(const uint8_t *s, size_t n, size_t max,
			 uint64_t seed, const struct ref_frame *fr,
			 size_t nfr, enum ref_end end)
{
	struct evbuffer *in = evbuffer_new();
	struct fz_cuts cuts = fz_cuts_init(~seed);
	size_t pos = 0, got = 0;
	int rv = 0;

	FUZZ_CHECK(in != NULL);
	while (pos < n && rv >= 0) {
		size_t piece = fz_cuts_piece(&cuts, n - pos);
		const uint8_t *payload;
		size_t len;

		if (piece == 0)
			piece = 1;
		/* By reference: one chain per piece, never merged. */
		if (fz_cuts_next(&cuts) & 1)
			FUZZ_CHECK(evbuffer_add_reference(in, s + pos, piece,
							  NULL, NULL) == 0);
		else
			FUZZ_CHECK(evbuffer_add(in, s + pos, piece) == 0);
		pos += piece;
		while ((rv = lms_evframe_peek(in, max, &payload, &len)) == 1) {
			check_frame(s, fr, nfr, got++, payload, len);
			FUZZ_CHECK(evbuffer_drain(in, LMS_FRAME_HEADER_BYTES +
						  len) == 0);
		}
		if (rv < 0)
			FUZZ_CHECK(rv == LMS_FRAME_ETOOBIG);
	}
	FUZZ_CHECK(got == nfr);
	switch (end) {
	case REF_CLEAN:
		FUZZ_CHECK(rv == 0 && evbuffer_get_length(in) == 0);
		break;
	case REF_TOOBIG:
		FUZZ_CHECK(rv == LMS_FRAME_ETOOBIG);
		break;
	case REF_TRUNCATED:
		FUZZ_CHECK(rv == 0 && evbuffer_get_length(in) > 0);
		break;
	}
	evbuffer_free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ref_frame fr[MAX_FRAMES];
	struct fz f = fz_init(data, size);
	size_t max = pick_limit(fz_u8(&f));
	uint64_t seed = fz_u64(&f);
	size_t nfr;
	enum ref_end end;

	if (size > MAX_INPUT)
		return 0;
	end = ref_parse(f.p, f.n, max, fr, &nfr);
	run_reader(f.p, f.n, max, seed, fr, nfr, end);
	run_evbuffer(f.p, f.n, max, seed, fr, nfr, end);
	return 0;
}

/*
 * test_frame.c -- unit tests of common/frame.c.
 *
 * Why: every byte between nodes and clients goes through this codec, and
 * TCP delivers it in arbitrary pieces. The cases here are the ones that
 * break hand-rolled framing: a frame split into single bytes, several
 * frames in one read, empty frames, an oversize length (must fail on the
 * header alone), a stream that ends mid-frame, and the exact size limit.
 *
 * Fixture: each reader test gets a struct lms_frame_reader (limit
 * TEST_MAX payload bytes) built in setup and freed in teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define TEST_MAX 64

static int reader_setup(void **state)
{
	struct lms_frame_reader *r = malloc(sizeof(*r));

	if (r == NULL)
		return -1;
	lms_frame_reader_init(r, TEST_MAX);
	*state = r;
	return 0;
}

static int reader_teardown(void **state)
{
	struct lms_frame_reader *r = *state;

	lms_frame_reader_free(r);
	free(r);
	return 0;
}

/* Append one encoded frame to out at *pos. */
static void put_frame(uint8_t *out, size_t *pos, const void *payload,
		      uint32_t len)
{
	lms_frame_put_header(out + *pos, len);
	if (len > 0)
		memcpy(out + *pos + LMS_FRAME_HEADER_BYTES, payload, len);
	*pos += LMS_FRAME_HEADER_BYTES + len;
}

/* Take the next frame and check it is exactly `want`. */
static void expect_frame(struct lms_frame_reader *r, const char *want)
{
	const uint8_t *p = NULL;
	size_t n = 12345;

	assert_int_equal(lms_frame_reader_next(r, &p, &n), 1);
	assert_int_equal(n, strlen(want));
	if (n > 0)
		assert_memory_equal(p, want, n);
}

/* ---- header and peek --------------------------------------------------- */

static void test_header_is_big_endian(void **state)
{
	uint8_t h[4];
	size_t n;

	lms_frame_put_header(h, 0x01020304u);
	assert_int_equal(h[0], 0x01);
	assert_int_equal(h[1], 0x02);
	assert_int_equal(h[2], 0x03);
	assert_int_equal(h[3], 0x04);

	lms_frame_put_header(h, 0xFFFFFFFFu);
	assert_int_equal(lms_frame_peek(h, 4, SIZE_MAX, &n), 0);
	assert_true(n == 0xFFFFFFFFu);
}

static void test_peek_needs_more(void **state)
{
	uint8_t buf[16];
	size_t pos = 0, n = 99;

	put_frame(buf, &pos, "hello", 5);
	for (size_t len = 0; len < 4; len++) {
		assert_int_equal(lms_frame_peek(buf, len, TEST_MAX, &n), 0);
		assert_int_equal(n, 0); /* header not complete yet */
	}
	for (size_t len = 4; len < pos; len++) {
		assert_int_equal(lms_frame_peek(buf, len, TEST_MAX, &n), 0);
		assert_int_equal(n, 5); /* announced length known */
	}
	assert_int_equal(lms_frame_peek(buf, pos, TEST_MAX, &n), 1);
	assert_int_equal(n, 5);
	/* Trailing bytes of a next frame do not matter. */
	assert_int_equal(lms_frame_peek(buf, pos + 3, TEST_MAX, &n), 1);
	assert_int_equal(n, 5);
}

static void test_peek_oversize_on_header_alone(void **state)
{
	uint8_t h[4];
	size_t n = 0;

	lms_frame_put_header(h, TEST_MAX + 1);
	/* Three bytes cannot tell yet... */
	assert_int_equal(lms_frame_peek(h, 3, TEST_MAX, &n), 0);
	/* ...the fourth can, with no payload byte present. */
	assert_int_equal(lms_frame_peek(h, 4, TEST_MAX, &n), LMS_FRAME_ETOOBIG);
	assert_int_equal(n, TEST_MAX + 1);

	lms_frame_put_header(h, 0xFFFFFFFFu);
	assert_int_equal(lms_frame_peek(h, 4, TEST_MAX, &n), LMS_FRAME_ETOOBIG);
}

static void test_peek_limit_boundary(void **state)
{
	uint8_t buf[4 + TEST_MAX];
	size_t n;

	memset(buf, 'x', sizeof(buf));
	lms_frame_put_header(buf, TEST_MAX);
	assert_int_equal(lms_frame_peek(buf, sizeof(buf), TEST_MAX, &n), 1);
	assert_int_equal(n, TEST_MAX);
	/* One below the length: whole header, payload short by one byte. */
	assert_int_equal(lms_frame_peek(buf, sizeof(buf) - 1, TEST_MAX, &n), 0);
	/* The same frame against a limit one smaller. */
	assert_int_equal(lms_frame_peek(buf, sizeof(buf), TEST_MAX - 1, &n),
			 LMS_FRAME_ETOOBIG);
	/* A limit of 0 still admits the empty frame. */
	lms_frame_put_header(buf, 0);
	assert_int_equal(lms_frame_peek(buf, 4, 0, &n), 1);
	assert_int_equal(n, 0);
}

/* ---- reader ------------------------------------------------------------ */

static void test_reader_split_one_byte_at_a_time(void **state)
{
	struct lms_frame_reader *r = *state;
	static const char *const want[] = { "first", "", "the third frame",
					    "x" };
	uint8_t stream[128];
	size_t pos = 0, got = 0;

	for (size_t i = 0; i < 4; i++)
		put_frame(stream, &pos, want[i], (uint32_t)strlen(want[i]));

	for (size_t i = 0; i < pos; i++) {
		const uint8_t *p;
		size_t n;
		int rv;

		assert_int_equal(lms_frame_reader_feed(r, &stream[i], 1), 0);
		while ((rv = lms_frame_reader_next(r, &p, &n)) == 1) {
			assert_true(got < 4);
			assert_int_equal(n, strlen(want[got]));
			if (n > 0)
				assert_memory_equal(p, want[got], n);
			got++;
		}
		assert_int_equal(rv, 0);
	}
	assert_int_equal(got, 4);
	lms_frame_reader_eof(r);
	{
		const uint8_t *p;
		size_t n;

		assert_int_equal(lms_frame_reader_next(r, &p, &n), 0);
	}
}

static void test_reader_several_frames_one_feed(void **state)
{
	struct lms_frame_reader *r = *state;
	uint8_t stream[64];
	size_t pos = 0;
	const uint8_t *p;
	size_t n;

	put_frame(stream, &pos, "alpha", 5);
	put_frame(stream, &pos, "be", 2);
	put_frame(stream, &pos, "gamma!", 6);
	put_frame(stream, &pos, "de", 2);
	/* All of three frames and half of the fourth's payload. */
	assert_int_equal(lms_frame_reader_feed(r, stream, pos - 1), 0);
	expect_frame(r, "alpha");
	expect_frame(r, "be");
	expect_frame(r, "gamma!");
	assert_int_equal(lms_frame_reader_next(r, &p, &n), 0);
	assert_int_equal(lms_frame_reader_feed(r, stream + pos - 1, 1), 0);
	expect_frame(r, "de");
	assert_int_equal(lms_frame_reader_next(r, &p, &n), 0);
}

static void test_reader_zero_length_frames(void **state)
{
	struct lms_frame_reader *r = *state;
	uint8_t stream[16];
	size_t pos = 0;
	const uint8_t *p;
	size_t n;

	put_frame(stream, &pos, NULL, 0);
	put_frame(stream, &pos, NULL, 0);
	assert_int_equal(lms_frame_reader_feed(r, stream, pos), 0);
	expect_frame(r, "");
	expect_frame(r, "");
	assert_int_equal(lms_frame_reader_next(r, &p, &n), 0);
	lms_frame_reader_eof(r);
	assert_int_equal(lms_frame_reader_next(r, &p, &n), 0); /* clean end */
}

static void test_reader_oversize_rejected_at_header(void **state)
{
	struct lms_frame_reader *r = *state;
	const size_t limit = 1 << 20;
	uint8_t h[4];
	const uint8_t *p;
	size_t n;

	/* A large limit, so that allocating for the payload would show. */
	lms_frame_reader_free(r);
	lms_frame_reader_init(r, limit);
	lms_frame_put_header(h, (uint32_t)limit + 1);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(lms_frame_reader_feed(r, &h[i], 1), 0);
		assert_int_equal(lms_frame_reader_next(r, &p, &n), 0);
	}
	assert_int_equal(lms_frame_reader_feed(r, &h[3], 1), 0);
	/* No payload byte was fed or allocated for: the header decides. */
	assert_int_equal(lms_frame_reader_next(r, &p, &n), LMS_FRAME_ETOOBIG);
	assert_true(r->cap < limit);
	/* The stream is dead from now on. */
	assert_int_equal(lms_frame_reader_feed(r, "abc", 3), LMS_FRAME_ETOOBIG);
	assert_int_equal(lms_frame_reader_next(r, &p, &n), LMS_FRAME_ETOOBIG);
	assert_string_equal(lms_frame_strerror(LMS_FRAME_ETOOBIG),
			    "frame length exceeds the limit");
}

static void test_reader_truncated_payload(void **state)
{
	struct lms_frame_reader *r = *state;
	uint8_t stream[32];
	size_t pos = 0;
	const uint8_t *p;
	size_t n;

	put_frame(stream, &pos, "whole", 5);
	put_frame(stream, &pos, "cut short", 9);
	assert_int_equal(lms_frame_reader_feed(r, stream, pos - 4), 0);
	lms_frame_reader_eof(r);
	expect_frame(r, "whole"); /* frames before the cut still arrive */
	assert_int_equal(lms_frame_reader_next(r, &p, &n),
			 LMS_FRAME_ETRUNCATED);
	assert_int_equal(lms_frame_reader_next(r, &p, &n),
			 LMS_FRAME_ETRUNCATED);
	assert_int_equal(lms_frame_reader_feed(r, "x", 1),
			 LMS_FRAME_ETRUNCATED);
}

static void test_reader_truncated_header(void **state)
{
	struct lms_frame_reader *r = *state;
	uint8_t h[4];
	const uint8_t *p;
	size_t n;

	lms_frame_put_header(h, 3);
	assert_int_equal(lms_frame_reader_feed(r, h, 2), 0);
	assert_int_equal(lms_frame_reader_next(r, &p, &n), 0);
	lms_frame_reader_eof(r);
	assert_int_equal(lms_frame_reader_next(r, &p, &n),
			 LMS_FRAME_ETRUNCATED);
	assert_string_equal(lms_frame_strerror(LMS_FRAME_ETRUNCATED),
			    "stream ended inside a frame");
}

static void test_reader_feed_after_eof(void **state)
{
	struct lms_frame_reader *r = *state;

	lms_frame_reader_eof(r);
	assert_int_equal(lms_frame_reader_feed(r, "x", 1), -EINVAL);
}

static void test_reader_limit_boundary(void **state)
{
	struct lms_frame_reader *r = *state;
	uint8_t stream[2 * (4 + TEST_MAX + 1)];
	char big[TEST_MAX + 2];
	size_t pos = 0;
	const uint8_t *p;
	size_t n;

	memset(big, 'b', sizeof(big));
	big[TEST_MAX] = '\0';
	put_frame(stream, &pos, big, TEST_MAX);       /* exactly the limit */
	put_frame(stream, &pos, big, TEST_MAX + 1);   /* one over */
	assert_int_equal(lms_frame_reader_feed(r, stream, pos), 0);
	expect_frame(r, big);
	assert_int_equal(lms_frame_reader_next(r, &p, &n), LMS_FRAME_ETOOBIG);
}

/* Many frames through a small initial buffer: compaction and growth. */
static void test_reader_long_stream(void **state)
{
	struct lms_frame_reader *r = *state;
	uint8_t frame[4 + TEST_MAX];
	char payload[TEST_MAX + 1];

	for (unsigned i = 0; i < 1000; i++) {
		size_t len = i % (TEST_MAX + 1), pos = 0;

		memset(payload, 'a' + (int)(i % 26), len);
		payload[len] = '\0';
		put_frame(frame, &pos, payload, (uint32_t)len);
		/* Feed in two uneven pieces. */
		assert_int_equal(lms_frame_reader_feed(r, frame, pos / 3), 0);
		assert_int_equal(lms_frame_reader_feed(r, frame + pos / 3,
						       pos - pos / 3), 0);
		expect_frame(r, payload);
	}
	/* Consumed bytes are reused: the buffer did not grow with the stream. */
	assert_true(r->cap <= 2 * 256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_is_big_endian),
		cmocka_unit_test(test_peek_needs_more),
		cmocka_unit_test(test_peek_oversize_on_header_alone),
		cmocka_unit_test(test_peek_limit_boundary),
#define RT(f) cmocka_unit_test_setup_teardown(f, reader_setup, reader_teardown)
		RT(test_reader_split_one_byte_at_a_time),
		RT(test_reader_several_frames_one_feed),
		RT(test_reader_zero_length_frames),
		RT(test_reader_oversize_rejected_at_header),
		RT(test_reader_truncated_payload),
		RT(test_reader_truncated_header),
		RT(test_reader_feed_after_eof),
		RT(test_reader_limit_boundary),
		RT(test_reader_long_stream),
#undef RT
	};

	return cmocka_run_group_tests_name("common_frame", tests, NULL, NULL);
}

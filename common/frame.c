/*
 * frame.c -- length-prefixed frames: header codec, peek, and a reader.
 *
 * See frame.h for the wire format. The reader keeps its unread bytes in
 * buf[start..end); next() only advances start, so a returned payload stays
 * where it is until feed() compacts or grows the buffer.
 */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

const char *lms_frame_strerror(int rv)
{
	switch (rv) {
	case LMS_FRAME_ETOOBIG:
		return "frame length exceeds the limit";
	case LMS_FRAME_ETRUNCATED:
		return "stream ended inside a frame";
	case LMS_FRAME_ENOMEM:
		return "out of memory";
	}
	return "unknown frame error";
}

void lms_frame_put_header(uint8_t out[LMS_FRAME_HEADER_BYTES], uint32_t len)
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

int lms_frame_peek(const uint8_t *buf, size_t len, size_t max_frame,
		   size_t *payload_len)
{
	uint32_t n;

	*payload_len = 0;
	if (len < LMS_FRAME_HEADER_BYTES)
		return 0;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
	*payload_len = n;
	if (n > max_frame)
		return LMS_FRAME_ETOOBIG;
	return len - LMS_FRAME_HEADER_BYTES >= n ? 1 : 0;
}

void lms_frame_reader_init(struct lms_frame_reader *r, size_t max_frame)
{
	memset(r, 0, sizeof(*r));
	r->max_frame = max_frame;
}

void lms_frame_reader_free(struct lms_frame_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int lms_frame_reader_feed(struct lms_frame_reader *r, const void *data,
			  size_t len)
{
	size_t used;

	if (r->error != 0)
		return r->error;
	if (r->eof)
		return -EINVAL;
	if (len == 0)
		return 0;

	/* Drop what was handed out, then grow if the tail is still short. */
	used = r->end - r->start;
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, used);
		r->start = 0;
		r->end = used;
	}
	if (len > r->cap - used) {
		size_t cap = r->cap > 0 ? r->cap : 256;
		uint8_t *nbuf;

		if (len > SIZE_MAX - used)
			return LMS_FRAME_ENOMEM;
		while (cap < used + len)
			cap = cap > SIZE_MAX / 2 ? used + len : cap * 2;
		nbuf = realloc(r->buf, cap);
		if (nbuf == NULL)
			return LMS_FRAME_ENOMEM; /* reader unchanged, may retry */
		r->buf = nbuf;
		r->cap = cap;
	}
	memcpy(r->buf + r->end, data, len);
	r->end += len;
	return 0;
}

void lms_frame_reader_eof(struct lms_frame_reader *r)
{
	r->eof = true;
}

int lms_frame_reader_next(struct lms_frame_reader *r, const uint8_t **payload,
			  size_t *len)
{
	size_t avail = r->end - r->start;
	size_t n;
	int rv;

	if (r->error != 0)
		return r->error;
	if (avail == 0)
		return 0; /* also covers buf == NULL before the first feed */
	rv = lms_frame_peek(r->buf + r->start, avail, r->max_frame, &n);
	if (rv < 0) {
		r->error = rv;
		return rv;
	}
	if (rv == 0) {
		if (r->eof && avail > 0) {
			r->error = LMS_FRAME_ETRUNCATED;
			return r->error;
		}
		return 0;
	}
	*payload = r->buf + r->start + LMS_FRAME_HEADER_BYTES;
	*len = n;
	r->start += LMS_FRAME_HEADER_BYTES + n;
	return 1;
}

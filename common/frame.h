/*
 * frame.h -- the wire frame: a u32 big-endian payload length, then payload.
 *
 * Why this exists
 * ---------------
 * Every connection of the project (peer Raft RPC, client RPC) carries
 * protobuf-c messages, and TCP does not keep message boundaries. Each
 * message travels as
 *
 *     +--------+--------+--------+--------+=====================+
 *     | length, 4 bytes, big-endian       |  payload (length B) |
 *     +--------+--------+--------+--------+=====================+
 *
 * A zero length is valid (an empty protobuf message encodes to nothing).
 * A length above the receiver's limit (config limits.max_frame_bytes) is a
 * protocol error detected from the 4 header bytes alone, before any payload
 * is awaited or allocated, so a peer cannot make us buffer 4 GiB.
 *
 * Two layers:
 *
 *  - lms_frame_peek() looks at bytes the caller already holds (for lmsd,
 *    the front of a libevent evbuffer, via evbuffer_pullup of 4 bytes) and
 *    says whether a whole frame is there. It owns nothing and keeps no
 *    state, so this library does not depend on libevent.
 *
 *  - struct lms_frame_reader is a small growable buffer on top of it for
 *    tests and simple blocking clients: feed it whatever read(2) returned,
 *    then take frames out one at a time.
 *
 * Ownership
 * ---------
 * lms_frame_peek borrows buf for the call only. A reader owns its buffer
 * (freed by lms_frame_reader_free); the bytes passed to feed are copied;
 * a payload pointer returned by next points into the reader's buffer and
 * stays valid until the next call to feed or free.
 *
 * Errors
 * ------
 * Negative values, from errno so strerror(-rv) reads sensibly; see also
 * lms_frame_strerror(). A reader that reported an error keeps reporting it:
 * a stream that lost framing cannot be resynchronised.
 */
#ifndef LMS_FRAME_H
#define LMS_FRAME_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LMS_FRAME_HEADER_BYTES 4

enum {
	/* The header announces more than max_frame payload bytes. */
	LMS_FRAME_ETOOBIG = -EMSGSIZE,
	/* The stream ended inside a frame (partial header or payload). */
	LMS_FRAME_ETRUNCATED = -EPROTO,
	/* The reader could not grow its buffer. */
	LMS_FRAME_ENOMEM = -ENOMEM,
};

/* "frame length exceeds the limit", ...; "unknown frame error" otherwise. */
const char *lms_frame_strerror(int rv);

/*
 * Write the 4-byte big-endian header for a payload of len bytes. A sender
 * must check len against the peer's limit itself.
 */
void lms_frame_put_header(uint8_t out[LMS_FRAME_HEADER_BYTES], uint32_t len);

/*
 * Is there a whole frame at the front of buf[0..len)?
 *
 *   1                   yes: payload at buf + 4, *payload_len bytes; the
 *                       frame occupies 4 + *payload_len bytes of buf
 *   0                   not yet: *payload_len is the announced length once
 *                       the 4 header bytes are present, 0 before
 *   LMS_FRAME_ETOOBIG   the header announces more than max_frame bytes
 *                       (*payload_len is the announced length)
 *
 * Bytes after the first frame are ignored: call again after consuming it.
 */
int lms_frame_peek(const uint8_t *buf, size_t len, size_t max_frame,
		   size_t *payload_len)
	__attribute__((warn_unused_result));

struct lms_frame_reader {
	uint8_t *buf;     /* owned; data lives in buf[start..end) */
	size_t cap;
	size_t start;     /* first byte not yet handed out */
	size_t end;       /* one past the last byte fed */
	size_t max_frame; /* payload limit, as for lms_frame_peek */
	bool eof;         /* no more bytes will be fed */
	int error;        /* sticky: 0 or the first error reported */
};

/* Start empty; allocates nothing until the first feed. */
void lms_frame_reader_init(struct lms_frame_reader *r, size_t max_frame);

/* Release the buffer; the reader may be initialised again afterwards. */
void lms_frame_reader_free(struct lms_frame_reader *r);

/*
 * Append a copy of data[0..len). Returns 0, LMS_FRAME_ENOMEM, the sticky
 * error, or -EINVAL if called after lms_frame_reader_eof. Invalidates
 * payload pointers from earlier calls to next.
 */
int lms_frame_reader_feed(struct lms_frame_reader *r, const void *data,
			  size_t len)
	__attribute__((warn_unused_result));

/* The peer closed its end: no more bytes will come. */
void lms_frame_reader_eof(struct lms_frame_reader *r);

/*
 * Take the next frame.
 *
 *   1                      *payload / *len describe it (borrowed, see above)
 *   0                      no whole frame buffered; after eof this means the
 *                          stream ended cleanly on a frame boundary
 *   LMS_FRAME_ETOOBIG      oversize header (known after its 4 bytes)
 *   LMS_FRAME_ETRUNCATED   eof with a partial frame buffered
 */
int lms_frame_reader_next(struct lms_frame_reader *r, const uint8_t **payload,
			  size_t *len)
	__attribute__((warn_unused_result));

#endif /* LMS_FRAME_H */

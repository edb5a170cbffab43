/*
 * evframe.h -- frames (common/frame.h) on libevent evbuffers, and the
 * socket details every TCP connection of ours shares.
 *
 * Why this exists
 * ---------------
 * The peer transport (raft/net), lmsd's client port and its relay to the
 * leader all read u32 big-endian framed messages from a bufferevent. Reading
 * copies out only the 4 header bytes to judge a frame (lms_frame_peek): an
 * oversized length is refused from the header alone, and evbuffer_pullup
 * linearises exactly one whole frame, never more.
 *
 * Ownership: *payload points into the evbuffer; it stays valid until the
 * caller drains (LMS_FRAME_HEADER_BYTES + *len) bytes or adds to it.
 */
#ifndef LMS_EVFRAME_H
#define LMS_EVFRAME_H

#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

struct evbuffer;
struct sockaddr;

/* 1 and the frame's payload when a whole frame is buffered; 0 when more
 * bytes are needed; LMS_FRAME_ETOOBIG (with *len set to the announced
 * length) or -ENOMEM. */
int lms_evframe_peek(struct evbuffer *in, size_t max, const uint8_t **payload,
                     size_t *len) __attribute__((warn_unused_result));

/* "1.2.3.4:5", "[::1]:5" or "(address family N)" for logs. */
void lms_sockaddr_format(const struct sockaddr *sa, char *buf, size_t len);

/* Our messages are small and latency-bound: no Nagle. Keepalive lets the
 * kernel notice a peer that vanished without a FIN. */
void lms_socket_tune(evutil_socket_t fd);

#endif

/*
 * wire.c -- frames on libevent evbuffers.
 *
 * Why this exists
 * ---------------
 * Both connection roles read and write the same u32 big-endian framed
 * PeerFrames (common/frame.h). Reading copies out only the 4 header bytes to
 * judge a frame (lms_frame_peek): an oversized length is refused from the
 * header alone, and evbuffer_pullup linearises exactly one whole frame,
 * never more. Writing hands the malloc'd encoding to the evbuffer by
 * reference (no copy); the evbuffer frees it once written or dropped.
 */
#include "net_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>

#include "frame.h"

int wire_peek(struct evbuffer *in, size_t max, const uint8_t **payload,
	      size_t *len)
{
	uint8_t hdr[LMS_FRAME_HEADER_BYTES];
	size_t have = evbuffer_get_length(in);
	uint8_t *p;
	int rv;

	*payload = NULL;
	*len = 0;
	if (have < LMS_FRAME_HEADER_BYTES)
		return 0;
	if (evbuffer_copyout(in, hdr, sizeof(hdr)) != (ev_ssize_t)sizeof(hdr))
		return 0;
	rv = lms_frame_peek(hdr, sizeof(hdr), max, len);
	if (rv < 0)
		return rv;
	if (have - LMS_FRAME_HEADER_BYTES < *len)
		return 0;
	p = evbuffer_pullup(in, (ev_ssize_t)(LMS_FRAME_HEADER_BYTES + *len));
	if (p == NULL)
		return -ENOMEM;
	*payload = p + LMS_FRAME_HEADER_BYTES;
	return 1;
}

static void wire_free_ref(const void *data, size_t len, void *extra)
{
	free((void *)data);
}

int wire_add(struct evbuffer *out, uint8_t *frame, size_t len)
{
	if (evbuffer_add_reference(out, frame, len, wire_free_ref, NULL) != 0) {
		free(frame);
		return -ENOMEM;
	}
	return 0;
}

int wire_send(struct bufferevent *bev, const Lms__Raft__PeerFrame *f)
{
	uint8_t *buf;
	size_t len;
	int rv = rnet_frame_encode(f, &buf, &len);

	if (rv != 0)
		return rv;
	return wire_add(bufferevent_get_output(bev), buf, len);
}

void wire_format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "(address family %d)", sa->sa_family);
	}
}

/* Peer messages are small and latency-bound (heartbeats, votes): no Nagle.
 * Keepalive lets the kernel notice a peer that vanished without a FIN. */
void wire_tune_socket(evutil_socket_t fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
}

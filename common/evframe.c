/*
 * evframe.c -- see evframe.h.
 */
#include "evframe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "frame.h"

int lms_evframe_peek(struct evbuffer *in, size_t max, const uint8_t **payload,
                     size_t *len)
{
	uint8_t hdr[LMS_FRAME_HEADER_BYTES];
	size_t have = evbuffer_get_length(in);

	*payload = NULL;
	*len = 0;
	if (have < LMS_FRAME_HEADER_BYTES)
		return 0;
	if (evbuffer_copyout(in, hdr, sizeof hdr) != (ev_ssize_t)sizeof hdr)
		return 0;
	int rv = lms_frame_peek(hdr, sizeof hdr, max, len);
	if (rv < 0)
		return rv;
	if (have - LMS_FRAME_HEADER_BYTES < *len)
		return 0;
	uint8_t *p = evbuffer_pullup(in,
	                             (ev_ssize_t)(LMS_FRAME_HEADER_BYTES + *len));
	if (p == NULL)
		return -ENOMEM;
	*payload = p + LMS_FRAME_HEADER_BYTES;
	return 1;
}

void lms_sockaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "(address family %d)", sa->sa_family);
	}
}

void lms_socket_tune(evutil_socket_t fd)
{
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}

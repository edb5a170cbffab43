/*
 * wire.c -- frames on libevent evbuffers.
 *
 * Why this exists
 * ---------------
 * Both connection roles write the same u32 big-endian framed PeerFrames
 * (common/frame.h; reading them is lms_evframe_peek in common/evframe.h).
 * Writing hands the malloc'd encoding to the evbuffer by reference (no
 * copy); the evbuffer frees it once written or dropped.
 */
#include "net_internal.h"

#include <errno.h>
#include <stdlib.h>

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

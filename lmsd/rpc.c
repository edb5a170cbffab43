/*
 * rpc.c -- the client port: frames in, struct call per request, frames out.
 *
 * Layer 2 of DESIGN.md: libevent listener and bufferevents (net), the frame
 * codec with its size limit, decoding, dispatch by operation. A connection
 * may pipeline requests; answers leave in request order even when a later
 * request finishes first (a stale read behind a write): each connection
 * keeps its calls in a FIFO and writes from the head while the head is
 * done.
 *
 * Bad input: an oversized length or bytes that do not decode as a Request
 * close the connection with a logged reason; the node keeps serving. A
 * client that sends faster than it reads stops being read once it has
 * RPC_MAX_PIPELINE calls in progress, and is closed if its unread answers
 * exceed RPC_MAX_OUTPUT bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>

#include "evframe.h"
#include "frame.h"
#include "log.h"
#include "node_internal.h"
#include "util.h"

#define RPC_MAX_PIPELINE 1024
#define RPC_MAX_OUTPUT (64u << 20)

struct conn {
	struct rpc_server *s;
	struct bufferevent *bev;
	char peer[64];
	struct call *head, *tail;
	unsigned in_progress;
	bool reading_paused;
	struct conn *prev, *next;
};

struct rpc_server {
	struct node *n;
	struct evconnlistener *lis;
	size_t max_frame;
	struct conn *conns;
};

static void conn_close(struct conn *cn, const char *why);

/* ------------------------------------------------------------ calls */

void call_free(struct call *c)
{
	if (!c)
		return;
	if (c->svc_free)
		c->svc_free(c->svc);
	if (c->req)
		lms__rpc__request__free_unpacked(c->req, NULL);
	if (c->result)
		protobuf_c_message_free_unpacked(c->result, NULL);
	free(c->resp.message);
	free(c->resp.leader_address);
	free(c->out);
	free(c);
}

static void conn_flush(struct conn *cn)
{
	struct evbuffer *out = bufferevent_get_output(cn->bev);
	while (cn->head && cn->head->done) {
		struct call *c = cn->head;
		cn->head = c->conn_next;
		if (!cn->head)
			cn->tail = NULL;
		cn->in_progress--;
		if (evbuffer_add(out, c->out, c->out_len) != 0) {
			call_free(c);
			conn_close(cn, "could not queue an answer");
			return;
		}
		call_free(c);
	}
	if (evbuffer_get_length(out) > RPC_MAX_OUTPUT) {
		conn_close(cn, "client does not read its answers");
		return;
	}
	if (cn->reading_paused && cn->in_progress < RPC_MAX_PIPELINE / 2) {
		cn->reading_paused = false;
		bufferevent_enable(cn->bev, EV_READ);
	}
}

void call_finish(struct call *c, int status, const char *fmt, ...)
{
	if (c->done)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->resp.status = (Lms__Rpc__Status)status;
	free(c->resp.message);
	c->resp.message = strdup(msg);
	c->resp.node_id = node_id_of(c->node);
	size_t len = lms__rpc__response__get_packed_size(&c->resp);
	c->out = malloc(len + 4);
	if (c->out) {
		lms_frame_put_header(c->out, (uint32_t)len);
		lms__rpc__response__pack(&c->resp, c->out + 4);
		c->out_len = len + 4;
	}
	c->done = true;
	if (!c->conn) {
		call_free(c);
		return;
	}
	if (!c->out) {
		conn_close(c->conn, "out of memory encoding an answer");
		return;
	}
	conn_flush(c->conn);
}

void call_finish_frame(struct call *c, uint8_t *frame, size_t len)
{
	if (c->done) {
		free(frame);
		return;
	}
	c->out = frame;
	c->out_len = len;
	c->done = true;
	if (!c->conn) {
		call_free(c);
		return;
	}
	conn_flush(c->conn);
}

/* ---------------------------------------------------------- dispatch */

/*
 * protobuf-c (1.4) accepts a field number 0 written as an overlong varint
 * (0x80 0x00), keeps it as an unknown field and packs it back as the byte
 * 0x00, which no decoder accepts. A request holding one decodes here but
 * not once packed again: on the leader when a follower relays it (the
 * leader closes the relay connection, failing every call on it), and on
 * every node when a write embeds its message in a command. It is not
 * valid protobuf: found by tests/fuzz/fuzz_client_msg, refused here.
 */
static bool rpc_has_field_zero(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	if (depth > 16)
		return true; /* lms.proto nests far less */
	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return true;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		const char *base = (const char *)m + f->offset;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)m +
		                        f->quantifier_offset) != f->id)
			continue;
		size_t n = 1;
		const ProtobufCMessage *const *items =
			(const ProtobufCMessage *const *)base;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m +
			                      f->quantifier_offset);
			items = *(const ProtobufCMessage *const *const *)base;
		}
		for (size_t k = 0; k < n; k++)
			if (items[k] && rpc_has_field_zero(items[k], depth + 1))
				return true;
	}
	return false;
}

void rpc_dispatch(struct call *c)
{
	if (rpc_has_field_zero(&c->req->base, 0)) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "request does not decode (a field numbered 0)");
		return;
	}
	switch (c->req->op_case) {
	case LMS__RPC__REQUEST__OP_KV_PUT: kv_put(c); break;
	case LMS__RPC__REQUEST__OP_KV_GET: kv_get(c); break;
	case LMS__RPC__REQUEST__OP_KV_CAS: kv_cas(c); break;
	case LMS__RPC__REQUEST__OP_KV_DELETE: kv_delete(c); break;
	case LMS__RPC__REQUEST__OP_STATUS: node_status(c); break;
	case LMS__RPC__REQUEST__OP_MEMBER_ADD: node_member_add(c); break;
	case LMS__RPC__REQUEST__OP_MEMBER_PROMOTE: node_member_promote(c); break;
	case LMS__RPC__REQUEST__OP_MEMBER_REMOVE: node_member_remove(c); break;
	case LMS__RPC__REQUEST__OP_TRANSFER_LEADER: node_transfer(c); break;
	case LMS__RPC__REQUEST__OP_CHECKSUM: node_checksum(c); break;
	default:
		if (!svc_dispatch(c))
			call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
			            "request names no operation this node "
			            "knows");
		break;
	}
}

/* ------------------------------------------------------- connections */

static void conn_close(struct conn *cn, const char *why)
{
	if (why)
		LMS_INFO("closing client connection from %s: %s", cn->peer, why);
	/* answered calls go; calls still waiting are orphaned and freed
	 * when their wait ends */
	while (cn->head) {
		struct call *c = cn->head;
		cn->head = c->conn_next;
		c->conn_next = NULL;
		c->conn = NULL;
		if (c->done)
			call_free(c);
	}
	if (cn->prev)
		cn->prev->next = cn->next;
	else
		cn->s->conns = cn->next;
	if (cn->next)
		cn->next->prev = cn->prev;
	bufferevent_free(cn->bev);
	free(cn);
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
	struct conn *cn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		const uint8_t *payload;
		size_t len;
		int rv = lms_evframe_peek(in, cn->s->max_frame, &payload, &len);
		if (rv == 0)
			return;
		if (rv < 0) {
			char why[96];
			if (rv == -ENOMEM)
				snprintf(why, sizeof why, "out of memory");
			else
				snprintf(why, sizeof why,
				         "frame of %zu bytes exceeds the limit "
				         "of %zu", len, cn->s->max_frame);
			conn_close(cn, why);
			return;
		}
		Lms__Rpc__Request *req =
			lms__rpc__request__unpack(NULL, len, payload);
		evbuffer_drain(in, LMS_FRAME_HEADER_BYTES + len);
		if (!req) {
			conn_close(cn, "request does not decode");
			return;
		}
		struct call *c = calloc(1, sizeof *c);
		if (!c) {
			lms__rpc__request__free_unpacked(req, NULL);
			conn_close(cn, "out of memory");
			return;
		}
		c->node = cn->s->n;
		c->conn = cn;
		c->req = req;
		lms__rpc__response__init(&c->resp);
		/* init points strings at a static "": ours are malloc'd */
		c->resp.message = NULL;
		c->resp.leader_address = NULL;
		c->deadline_ms = lms_now_ms() + CALL_TIMEOUT_MS;
		if (cn->tail)
			cn->tail->conn_next = c;
		else
			cn->head = c;
		cn->tail = c;
		cn->in_progress++;
		node_count_request(cn->s->n);
		/* dispatch may finish the call (and even close the conn on
		 * an output overflow): keep the server pointer first */
		struct rpc_server *s = cn->s;
		struct conn *alive;
		rpc_dispatch(c);
		for (alive = s->conns; alive && alive != cn; alive = alive->next)
			;
		if (!alive)
			return;
		if (cn->in_progress >= RPC_MAX_PIPELINE) {
			cn->reading_paused = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
	}
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *cn = arg;
	if (what & BEV_EVENT_EOF)
		conn_close(cn, NULL);
	else if (what & BEV_EVENT_ERROR)
		conn_close(cn, evutil_socket_error_to_string(
				       EVUTIL_SOCKET_ERROR()));
}

static void rpc_on_accept(struct evconnlistener *lis, evutil_socket_t fd,
                          struct sockaddr *sa, int salen, void *arg)
{
	struct rpc_server *s = arg;
	struct conn *cn = calloc(1, sizeof *cn);
	if (!cn) {
		evutil_closesocket(fd);
		return;
	}
	cn->s = s;
	lms_sockaddr_format(sa, cn->peer, sizeof cn->peer);
	lms_socket_tune(fd);
	cn->bev = bufferevent_socket_new(evconnlistener_get_base(lis), fd,
	                                 BEV_OPT_CLOSE_ON_FREE);
	if (!cn->bev) {
		evutil_closesocket(fd);
		free(cn);
		return;
	}
	bufferevent_setcb(cn->bev, conn_on_read, NULL, conn_on_event, cn);
	bufferevent_enable(cn->bev, EV_READ | EV_WRITE);
	cn->next = s->conns;
	if (s->conns)
		s->conns->prev = cn;
	s->conns = cn;
}

struct rpc_server *rpc_server_new(struct event_base *base, struct node *n,
                                  const char *host, uint16_t port,
                                  size_t max_frame, char *err, size_t errlen)
{
	struct rpc_server *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->n = n;
	s->max_frame = max_frame;
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		snprintf(err, errlen, "client listen host \"%s\" is not an IPv4 "
		         "address", host);
		free(s);
		return NULL;
	}
	s->lis = evconnlistener_new_bind(
		base, rpc_on_accept, s,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
		128, (struct sockaddr *)&sin, sizeof sin);
	if (!s->lis) {
		snprintf(err, errlen, "could not listen for clients on %s:%u: %s",
		         host, port,
		         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		free(s);
		return NULL;
	}
	return s;
}

void rpc_server_free(struct rpc_server *s)
{
	if (!s)
		return;
	evconnlistener_free(s->lis);
	while (s->conns)
		conn_close(s->conns, NULL);
	free(s);
}

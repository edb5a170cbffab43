/*
 * forward.c -- a follower relays requests that need the leader.
 *
 * Why this exists
 * ---------------
 * A client may reach any node. Writes and linearizable reads need the
 * leader, so a follower that knows the leader relays the request to the
 * leader's client port and passes the answer back unchanged (DESIGN.md:
 * "a follower forwards them or answers NOT_LEADER"). The relayed request
 * keeps its client id and sequence number, so a write relayed twice (the
 * client retried elsewhere) is still applied once; it is marked
 * `forwarded`, and a forwarded request is never relayed again: a node that
 * receives one while not leading answers NOT_LEADER, which ends any loop
 * during an election.
 *
 * One connection per follower to the current leader, opened on demand;
 * requests are pipelined on it and answers come back in order, so a FIFO
 * of calls matches them. When the connection fails, every call in flight
 * on it is answered UNAVAILABLE; when another leader is known, NOT_LEADER
 * with its address (forwarder_leader_changed). Either way the client
 * retries, and writes are not applied twice. A call that outlives its
 * deadline closes the connection the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>

#include "evframe.h"
#include "frame.h"
#include "log.h"
#include "node_internal.h"
#include "util.h"

struct forwarder {
	struct event_base *base;
	size_t max_frame;
	raft_id leader;      /* whom the connection goes to */
	char address[RAFT_ADDRESS_MAX];
	struct bufferevent *bev;
	struct call *head, *tail; /* relayed, waiting for answers */
	size_t n;
};

struct forwarder *forwarder_new(struct event_base *base, size_t max_frame)
{
	struct forwarder *f = calloc(1, sizeof *f);
	if (f) {
		f->base = base;
		f->max_frame = max_frame;
	}
	return f;
}

/* Closes the connection; every call on it gets UNAVAILABLE. */
static void forwarder_reset(struct forwarder *f, const char *why)
{
	if (f->bev) {
		if (why && f->n)
			LMS_INFO("dropping forwarding connection to node %llu "
			         "at %s: %s", (unsigned long long)f->leader,
			         f->address, why);
		bufferevent_free(f->bev);
		f->bev = NULL;
	}
	while (f->head) {
		struct call *c = f->head;
		f->head = c->wait_next;
		c->wait_next = NULL;
		c->wait = CALL_NONE;
		call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
		            "the leader could not be reached from this node "
		            "(%s); retry", why ? why : "connection closed");
	}
	f->tail = NULL;
	f->n = 0;
}

void forwarder_free(struct forwarder *f)
{
	if (!f)
		return;
	forwarder_reset(f, "node stopping");
	free(f);
}

static void forwarder_on_read(struct bufferevent *bev, void *arg)
{
	struct forwarder *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		const uint8_t *payload;
		size_t len;
		int rv = lms_evframe_peek(in, f->max_frame, &payload, &len);
		if (rv == 0)
			return;
		if (rv < 0) {
			forwarder_reset(f, rv == -ENOMEM
			                           ? "out of memory"
			                           : "answer exceeds the frame "
			                             "limit");
			return;
		}
		if (!f->head) {
			forwarder_reset(f, "answer to no request");
			return;
		}
		/* the answer goes back unchanged, header included */
		size_t total = LMS_FRAME_HEADER_BYTES + len;
		uint8_t *frame = malloc(total);
		if (!frame) {
			forwarder_reset(f, "out of memory");
			return;
		}
		memcpy(frame, payload - LMS_FRAME_HEADER_BYTES, total);
		evbuffer_drain(in, total);
		struct call *c = f->head;
		f->head = c->wait_next;
		if (!f->head)
			f->tail = NULL;
		f->n--;
		c->wait_next = NULL;
		c->wait = CALL_NONE;
		call_finish_frame(c, frame, total);
	}
}

static void forwarder_on_event(struct bufferevent *bev, short what,
                               void *arg)
{
	struct forwarder *f = arg;
	if (what & BEV_EVENT_CONNECTED) {
		lms_socket_tune(bufferevent_getfd(bev));
		return;
	}
	if (what & BEV_EVENT_EOF)
		forwarder_reset(f, "closed by the leader");
	else if (what & BEV_EVENT_ERROR)
		forwarder_reset(f, evutil_socket_error_to_string(
				           EVUTIL_SOCKET_ERROR()));
}

static int forwarder_connect(struct forwarder *f, raft_id leader,
                             const char *address)
{
	char host[RAFT_ADDRESS_MAX];
	snprintf(host, sizeof host, "%s", address);
	char *colon = strrchr(host, ':');
	uint64_t port;
	if (!colon || lms_parse_u64(colon + 1, 1, 65535, &port) != 0)
		return -EINVAL;
	*colon = '\0';
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -EINVAL;
	f->bev = bufferevent_socket_new(f->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!f->bev)
		return -ENOMEM;
	bufferevent_setcb(f->bev, forwarder_on_read, NULL, forwarder_on_event,
	                  f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(f->bev, (struct sockaddr *)&sin,
	                               sizeof sin) != 0) {
		bufferevent_free(f->bev);
		f->bev = NULL;
		return -ECONNREFUSED;
	}
	f->leader = leader;
	snprintf(f->address, sizeof f->address, "%s", address);
	return 0;
}

int forwarder_send(struct forwarder *f, struct call *c, raft_id leader,
                   const char *address)
{
	if (f->bev && (f->leader != leader || strcmp(f->address, address)))
		forwarder_reset(f, "the leader changed");
	if (!f->bev) {
		int rv = forwarder_connect(f, leader, address);
		if (rv != 0)
			return rv;
	}
	c->req->forwarded = 1;
	size_t len = lms__rpc__request__get_packed_size(c->req);
	if (len > f->max_frame)
		return -EMSGSIZE;
	uint8_t *buf = malloc(4 + len);
	if (!buf)
		return -ENOMEM;
	lms_frame_put_header(buf, (uint32_t)len);
	lms__rpc__request__pack(c->req, buf + 4);
	int rv = evbuffer_add(bufferevent_get_output(f->bev), buf, 4 + len);
	free(buf);
	if (rv != 0)
		return -ENOMEM;
	c->wait = CALL_FORWARD;
	c->wait_next = NULL;
	if (f->tail)
		f->tail->wait_next = c;
	else
		f->head = c;
	f->tail = c;
	f->n++;
	return 0;
}

/* A new leader is known. The calls relayed to the old one would otherwise
 * wait for an answer until their deadline (10 s) when the old leader is
 * hung (a paused process still accepts TCP, so nothing resets the
 * connection), and the client's own attempt timed out first and retried
 * elsewhere, possibly on the hung node again. They are answered
 * NOT_LEADER with the new leader's address instead (UNAVAILABLE when
 * this node is the new leader), which the client
 * follows at once; a write retried there keeps its sequence number, so
 * one the old leader did apply is not applied twice. */
void forwarder_leader_changed(struct forwarder *f, raft_id leader,
                              raft_id self)
{
	if (!f->bev || leader == 0 || leader == f->leader)
		return;
	if (leader == self) { /* nowhere to redirect: the client retries */
		forwarder_reset(f, "this node leads now");
		return;
	}
	struct call *head = f->head;
	size_t n = f->n;
	f->head = f->tail = NULL;
	f->n = 0;
	if (n)
		LMS_INFO("node %llu leads now: redirecting %zu call(s) relayed "
		         "to node %llu", (unsigned long long)leader, n,
		         (unsigned long long)f->leader);
	forwarder_reset(f, NULL);
	while (head) {
		struct call *c = head;
		head = c->wait_next;
		c->wait_next = NULL;
		c->wait = CALL_NONE;
		node_not_leader(c); /* c->req->forwarded: answers, never relays */
	}
}

void forwarder_expire(struct forwarder *f, uint64_t now_ms)
{
	if (f->head && now_ms >= f->head->deadline_ms)
		forwarder_reset(f, "the leader did not answer in time");
}

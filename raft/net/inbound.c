/*
 * inbound.c -- the listener and the acceptor side of peer connections.
 *
 * Why this exists
 * ---------------
 * Peers deliver their messages to this node on connections they open
 * (raft.proto: one-way connections). Anyone can open a TCP connection, so
 * this is where the transport meets hostile bytes. Each accepted connection
 * walks a three-state machine and may only move forward:
 *
 *   HELLO  -- valid hello (our cluster, addressed to us, 32-byte nonce);
 *             we answer with a challenge --------------------------> PROOF
 *   PROOF  -- proof mac equal (constant time) to ours -------------> AUTH
 *   AUTH   -- RaftMessage frames, each checked by the codec and required
 *             to come from the authenticated id and go to us; handed to
 *             the receive callback synchronously
 *
 * Anything else closes that connection, with the reason in the log and in
 * the stats (last_reject), and no other connection notices. Before AUTH a
 * frame may not exceed RNET_HANDSHAKE_MAX_FRAME bytes and the whole
 * handshake must finish within handshake_timeout_ms, so an anonymous client
 * can hold neither memory nor a connection slot for long; at most
 * max_inbound connections are open at once.
 *
 * A peer that restarts opens a new connection while the kernel may still
 * consider the old one alive; when a connection authenticates, older ones
 * from the same id are closed.
 *
 * Reading: lms_evframe_peek judges a frame from its 4 header bytes and pulls up
 * exactly one whole frame; it is decoded (protobuf-c copies what it keeps),
 * drained from the input, and only then acted upon.
 */
#include "net_internal.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>

#include "frame.h"
#include "evframe.h"
#include "log.h"
#include "util.h"

/* Pause after an accept error (EMFILE...), so we do not spin on it. */
#define RNET_ACCEPT_PAUSE_MS 100

static void inbound_unlink_free(struct rnet_inbound *c)
{
	struct rnet *t = c->t;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		t->inbound = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	t->n_inbound--;
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
}

/*
 * Close c with a reason. Every close of a connection that had not
 * authenticated counts as a rejection (stats.inbound_rejected and
 * last_reject).
 */
__attribute__((format(printf, 3, 4)))
static void inbound_close(struct rnet_inbound *c, enum lms_log_level level,
			  const char *fmt, ...)
{
	struct rnet *t = c->t;
	char reason[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (c->state == RNET_IN_AUTH) {
		LMS_LOG(level, "closing peer connection from node %llu at %s: %s",
			(unsigned long long)c->peer, c->remote, reason);
	} else {
		LMS_LOG(level, "closing peer connection from %s: %s", c->remote,
			reason);
		t->st.inbound_rejected++;
		lms_strlcpy(t->st.last_reject, reason,
			    sizeof(t->st.last_reject));
	}
	inbound_unlink_free(c);
}

void inbound_close_all(struct rnet *t)
{
	while (t->inbound != NULL)
		inbound_unlink_free(t->inbound);
}

/* ------------------------------------------------------------ handshake */

static bool inbound_on_hello(struct rnet_inbound *c, const Lms__Raft__Hello *h)
{
	struct rnet *t = c->t;
	Lms__Raft__PeerFrame f = LMS__RAFT__PEER_FRAME__INIT;
	Lms__Raft__Challenge ch = LMS__RAFT__CHALLENGE__INIT;
	uint8_t mac[LMS_SHA256_LEN];
	int rv;

	if (h->cluster == NULL || strcmp(h->cluster, t->cluster) != 0) {
		inbound_close(c, LMS_LOG_WARN, "wrong cluster \"%.64s\"",
			      h->cluster != NULL ? h->cluster : "");
		return false;
	}
	if (h->to != t->self) {
		inbound_close(c, LMS_LOG_WARN,
			      "hello for node %llu, this is node %llu",
			      (unsigned long long)h->to,
			      (unsigned long long)t->self);
		return false;
	}
	if (h->from == 0 || h->from == t->self) {
		inbound_close(c, LMS_LOG_WARN, "hello from invalid node id %llu",
			      (unsigned long long)h->from);
		return false;
	}
	if (h->nonce.len != RNET_NONCE_LEN) {
		inbound_close(c, LMS_LOG_WARN, "nonce of %zu bytes, expected %d",
			      h->nonce.len, RNET_NONCE_LEN);
		return false;
	}
	rv = rnet_nonce(c->nonce_s);
	if (rv != 0) {
		inbound_close(c, LMS_LOG_ERROR, "could not get random bytes: %s",
			      strerror(-rv));
		return false;
	}
	c->peer = h->from;
	memcpy(c->nonce_c, h->nonce.data, RNET_NONCE_LEN);
	rnet_mac(t, RNET_LABEL_ACCEPTOR, c->peer, t->self, c->nonce_c,
		 c->nonce_s, mac);
	ch.nonce.data = c->nonce_s;
	ch.nonce.len = RNET_NONCE_LEN;
	ch.mac.data = mac;
	ch.mac.len = sizeof(mac);
	f.body_case = LMS__RAFT__PEER_FRAME__BODY_CHALLENGE;
	f.challenge = &ch;
	if (wire_send(c->bev, &f) != 0) {
		inbound_close(c, LMS_LOG_ERROR, "out of memory");
		return false;
	}
	c->state = RNET_IN_PROOF;
	return true;
}

static bool inbound_on_proof(struct rnet_inbound *c, const Lms__Raft__Proof *pr)
{
	struct rnet *t = c->t;
	uint8_t want[LMS_SHA256_LEN];
	struct rnet_inbound *o, *next;

	rnet_mac(t, RNET_LABEL_CONNECTOR, c->peer, t->self, c->nonce_c,
		 c->nonce_s, want);
	if (pr->mac.len != LMS_SHA256_LEN ||
	    !lms_ct_equal(want, pr->mac.data, LMS_SHA256_LEN)) {
		inbound_close(c, LMS_LOG_WARN, "bad mac");
		return false;
	}
	c->state = RNET_IN_AUTH;
	evtimer_del(c->timer);
	t->st.inbound_authenticated++;
	bufferevent_setwatermark(c->bev, EV_READ, 0,
				 LMS_FRAME_HEADER_BYTES + t->max_frame);
	LMS_INFO("peer connection from node %llu at %s authenticated",
		 (unsigned long long)c->peer, c->remote);
	for (o = t->inbound; o != NULL; o = next) {
		next = o->next;
		if (o != c && o->state == RNET_IN_AUTH && o->peer == c->peer)
			inbound_close(o, LMS_LOG_INFO,
				      "replaced by a newer connection");
	}
	return true;
}

static bool inbound_on_raft(struct rnet_inbound *c,
			    const Lms__Raft__RaftMessage *pb)
{
	struct rnet *t = c->t;
	struct raft_entry *entries;
	struct raft_message m;
	struct rnet_peer *p;
	char err[128];
	int rv;

	rv = rnet_raft_from_pb(pb, t->max_entries, &m, &entries, err,
			       sizeof(err));
	if (rv != 0) {
		inbound_close(c, LMS_LOG_WARN, "invalid raft message: %s",
			      rv == -ENOMEM ? "out of memory" : err);
		return false;
	}
	if (m.from != c->peer || m.to != t->self) {
		inbound_close(c, LMS_LOG_WARN,
			      "message from node %llu to node %llu on this "
			      "connection", (unsigned long long)m.from,
			      (unsigned long long)m.to);
		free(entries);
		return false;
	}
	t->st.msgs_received++;
	p = rnet_find_peer(t, c->peer);
	if (p != NULL)
		p->st.msgs_received++;
	t->recv(t->arg, &m);
	free(entries);
	return true;
}

/* Returns false when c was closed. */
static bool inbound_dispatch(struct rnet_inbound *c,
			     const Lms__Raft__PeerFrame *f)
{
	switch (c->state) {
	case RNET_IN_HELLO:
		if (f->body_case == LMS__RAFT__PEER_FRAME__BODY_HELLO)
			return inbound_on_hello(c, f->hello);
		inbound_close(c, LMS_LOG_WARN, "expected a hello, got a %s",
			      rnet_frame_body_name(f));
		return false;
	case RNET_IN_PROOF:
		if (f->body_case == LMS__RAFT__PEER_FRAME__BODY_PROOF)
			return inbound_on_proof(c, f->proof);
		inbound_close(c, LMS_LOG_WARN, "expected a proof, got a %s",
			      rnet_frame_body_name(f));
		return false;
	default:
		if (f->body_case == LMS__RAFT__PEER_FRAME__BODY_RAFT)
			return inbound_on_raft(c, f->raft);
		inbound_close(c, LMS_LOG_WARN,
			      "unexpected %s after the handshake",
			      rnet_frame_body_name(f));
		return false;
	}
}

/* ------------------------------------------------------ libevent callbacks */

static void inbound_read_cb(struct bufferevent *bev, void *arg)
{
	struct rnet_inbound *c = arg;
	struct rnet *t = c->t;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t max = c->state == RNET_IN_AUTH ?
			t->max_frame : RNET_HANDSHAKE_MAX_FRAME;
		Lms__Raft__PeerFrame *f;
		const uint8_t *payload;
		char err[128];
		size_t len;
		bool alive;
		int rv;

		rv = lms_evframe_peek(in, max, &payload, &len);
		if (rv == 0)
			return;
		if (rv < 0) {
			if (rv == -ENOMEM)
				inbound_close(c, LMS_LOG_ERROR,
					      "out of memory");
			else
				inbound_close(c, LMS_LOG_WARN,
					      "frame of %zu bytes exceeds the "
					      "limit of %zu", len, max);
			return;
		}
		t->st.bytes_received += LMS_FRAME_HEADER_BYTES + len;
		if (c->state == RNET_IN_AUTH) {
			struct rnet_peer *p = rnet_find_peer(t, c->peer);

			if (p != NULL)
				p->st.bytes_received +=
					LMS_FRAME_HEADER_BYTES + len;
		}
		rv = rnet_frame_decode(payload, len, &f, err, sizeof(err));
		if (rv != 0) {
			inbound_close(c, LMS_LOG_WARN, "%s", err);
			return;
		}
		evbuffer_drain(in, LMS_FRAME_HEADER_BYTES + len);
		alive = inbound_dispatch(c, f);
		lms__raft__peer_frame__free_unpacked(f, NULL);
		if (!alive)
			return;
	}
}

static void inbound_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rnet_inbound *c = arg;
	int err = EVUTIL_SOCKET_ERROR();
	bool authed = c->state == RNET_IN_AUTH;

	if (what & BEV_EVENT_EOF)
		inbound_close(c, authed ? LMS_LOG_INFO : LMS_LOG_WARN,
			      authed ? "connection closed by the peer" :
				       "connection closed during the handshake");
	else if (what & BEV_EVENT_ERROR)
		inbound_close(c, LMS_LOG_WARN, "%s",
			      evutil_socket_error_to_string(err));
}

static void inbound_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rnet_inbound *c = arg;

	inbound_close(c, LMS_LOG_WARN, "handshake timed out after %u ms",
		      c->t->handshake_timeout_ms);
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct rnet *t = arg;
	struct rnet_inbound *c;
	struct timeval tv = { t->handshake_timeout_ms / 1000,
			      (t->handshake_timeout_ms % 1000) * 1000 };
	char remote[64];

	lms_sockaddr_format(sa, remote, sizeof(remote));
	t->st.inbound_accepted++;
	if (t->n_inbound >= t->max_inbound) {
		LMS_WARN("closing peer connection from %s: too many "
			 "connections (%u)", remote, t->n_inbound);
		t->st.inbound_rejected++;
		lms_strlcpy(t->st.last_reject, "too many connections",
			    sizeof(t->st.last_reject));
		evutil_closesocket(fd);
		return;
	}
	lms_socket_tune(fd);
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		LMS_ERROR("closing peer connection from %s: out of memory",
			  remote);
		evutil_closesocket(fd);
		return;
	}
	c->t = t;
	c->state = RNET_IN_HELLO;
	lms_strlcpy(c->remote, remote, sizeof(c->remote));
	c->next = t->inbound;
	if (t->inbound != NULL)
		t->inbound->prev = c;
	t->inbound = c;
	t->n_inbound++;

	c->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		evutil_closesocket(fd);
	c->timer = evtimer_new(t->base, inbound_timer_cb, c);
	if (c->bev == NULL || c->timer == NULL) {
		inbound_close(c, LMS_LOG_ERROR, "out of memory");
		return;
	}
	bufferevent_setcb(c->bev, inbound_read_cb, NULL, inbound_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
				 LMS_FRAME_HEADER_BYTES +
				 RNET_HANDSHAKE_MAX_FRAME);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	evtimer_add(c->timer, &tv);
	LMS_DEBUG("accepted peer connection from %s", remote);
}

/* ------------------------------------------------------------- listener */

static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct rnet *t = arg;
	struct timeval tv = { 0, RNET_ACCEPT_PAUSE_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR();

	LMS_WARN("could not accept a peer connection: %s (pausing %d ms)",
		 evutil_socket_error_to_string(err), RNET_ACCEPT_PAUSE_MS);
	evconnlistener_disable(lev);
	evtimer_add(t->listen_retry, &tv);
}

static void listen_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rnet *t = arg;

	evconnlistener_enable(t->listener);
}

int inbound_listen(struct rnet *t)
{
	struct addrinfo hints, *res, *ai;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	const char *host = t->listen_host != NULL ? t->listen_host : "0.0.0.0";
	char port[8], where[96];
	int rv, err = EADDRNOTAVAIL;

	if (t->listener != NULL)
		return -EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", t->listen_port);
	rv = getaddrinfo(host, port, &hints, &res);
	if (rv != 0) {
		LMS_ERROR("could not resolve peer listen address \"%s\": %s",
			  host, gai_strerror(rv));
		return -EINVAL;
	}
	t->listen_retry = evtimer_new(t->base, listen_retry_cb, t);
	if (t->listen_retry == NULL) {
		freeaddrinfo(res);
		return -ENOMEM;
	}
	for (ai = res; ai != NULL && t->listener == NULL; ai = ai->ai_next) {
		t->listener = evconnlistener_new_bind(t->base, accept_cb, t,
			LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
			LEV_OPT_CLOSE_ON_EXEC, -1, ai->ai_addr,
			(int)ai->ai_addrlen);
		if (t->listener == NULL)
			err = errno;
	}
	freeaddrinfo(res);
	if (t->listener == NULL) {
		LMS_ERROR("could not listen for peers on %s:%u: %s", host,
			  t->listen_port, strerror(err));
		event_free(t->listen_retry);
		t->listen_retry = NULL;
		return -err;
	}
	evconnlistener_set_error_cb(t->listener, accept_error_cb);
	if (getsockname(evconnlistener_get_fd(t->listener),
			(struct sockaddr *)&ss, &sslen) == 0) {
		lms_sockaddr_format((struct sockaddr *)&ss, where, sizeof(where));
		t->bound_port = ntohs(ss.ss_family == AF_INET6 ?
			((struct sockaddr_in6 *)&ss)->sin6_port :
			((struct sockaddr_in *)&ss)->sin_port);
	} else {
		lms_strlcpy(where, host, sizeof(where));
		t->bound_port = t->listen_port;
	}
	LMS_INFO("listening for peers on %s", where);
	return 0;
}

void inbound_stop(struct rnet *t)
{
	if (t->listener != NULL) {
		evconnlistener_free(t->listener);
		t->listener = NULL;
	}
	if (t->listen_retry != NULL) {
		event_free(t->listen_retry);
		t->listen_retry = NULL;
	}
}

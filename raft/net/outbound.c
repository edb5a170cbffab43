/*
 * outbound.c -- the connector side: one connection per peer, kept open.
 *
 * Why this exists
 * ---------------
 * This node's messages to peer P travel on the connection it opens to P
 * (raft.proto: connections are one-way). This file keeps that connection
 * alive for every peer, independently of the others:
 *
 *   IDLE --start--> CONNECTING --connected, hello sent--> HANDSHAKE
 *   HANDSHAKE --valid challenge, proof sent--> READY
 *   CONNECTING | HANDSHAKE | READY --any failure--> BACKOFF
 *   BACKOFF --timer--> CONNECTING
 *
 * Every transition goes through peer_set_state (logged at debug), every
 * failure through outbound_fail, which logs the reason, closes the socket,
 * drops the pending queue, arms the backoff timer and finally tells the
 * caller through the unreachable callback. One timer per peer serves as the
 * connect deadline, the handshake deadline or the backoff delay, depending
 * on the state.
 *
 * Backoff: attempt k (counted since the last READY) waits a uniformly
 * random time in [max(min, d/2), d] with d = min(backoff_max, backoff_min *
 * 2^k): fast retries after a blip, no thundering herd when a node restarts
 * and four peers reconnect at once.
 *
 * The connector checks the acceptor's mac before it sends its own proof,
 * so it never proves anything to (or sends Raft traffic to) a listener that
 * does not know the secret. After READY the acceptor has nothing to say:
 * any byte from it is a protocol error, and EOF means the peer went away.
 *
 * Logging: the first failure after a success is a warning; further failed
 * attempts of the same outage are debug, so a dead peer does not flood the
 * log every two seconds.
 */
#include "net_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "evframe.h"
#include "log.h"

static void peer_set_state(struct rnet_peer *p, int state)
{
	LMS_DEBUG("peer node %llu at %s: %s -> %s", (unsigned long long)p->id,
		  p->address, rnet_peer_state_name(p->state),
		  rnet_peer_state_name(state));
	p->state = state;
}

static void arm_timer(struct rnet_peer *p, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(p->timer, &tv);
}

static void drop_pending(struct rnet_peer *p)
{
	evbuffer_drain(p->pending, evbuffer_get_length(p->pending));
	p->st.msgs_dropped += p->pending_msgs;
	p->t->st.msgs_dropped += p->pending_msgs;
	p->pending_msgs = 0;
}

void outbound_close(struct rnet_peer *p)
{
	if (p->bev != NULL) {
		bufferevent_free(p->bev);
		p->bev = NULL;
	}
	if (p->timer != NULL)
		evtimer_del(p->timer);
	if (p->pending != NULL)
		drop_pending(p);
}

static unsigned backoff_ms(struct rnet_peer *p)
{
	const struct rnet *t = p->t;
	unsigned shift = p->attempts < 20 ? p->attempts : 20;
	uint64_t d = (uint64_t)t->backoff_min_ms << shift;
	uint64_t lo;

	if (d > t->backoff_max_ms)
		d = t->backoff_max_ms;
	lo = d / 2 > t->backoff_min_ms ? d / 2 : t->backoff_min_ms;
	if (lo > d)
		lo = d;
	return (unsigned)(lo + rnet_random(p->t) % (d - lo + 1));
}

/*
 * The connection failed: log why, close it, back off. With notify, tell the
 * caller last of all: the callback may remove or change this very peer.
 */
__attribute__((format(printf, 3, 4)))
static void outbound_fail(struct rnet_peer *p, bool notify, const char *fmt,
			  ...)
{
	struct rnet *t = p->t;
	bool was_ready = p->state == RNET_PEER_READY;
	enum lms_log_level level = was_ready || !p->quiet ? LMS_LOG_WARN :
							    LMS_LOG_DEBUG;
	char reason[192];
	unsigned delay;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);

	if (!was_ready)
		p->st.connect_failures++;
	outbound_close(p);
	delay = backoff_ms(p);
	if (p->attempts < UINT32_MAX)
		p->attempts++;
	LMS_LOG(level, "closing peer connection to node %llu at %s: %s "
		"(retrying in %u ms)", (unsigned long long)p->id, p->address,
		reason, delay);
	p->quiet = true;
	peer_set_state(p, RNET_PEER_BACKOFF);
	arm_timer(p, delay);
	if (notify && t->unreachable != NULL)
		t->unreachable(t->arg, p->id);
}

/* ------------------------------------------------------------ handshake */

static void outbound_ready(struct rnet_peer *p)
{
	struct rnet *t = p->t;
	struct evbuffer *out = bufferevent_get_output(p->bev);

	evtimer_del(p->timer);
	peer_set_state(p, RNET_PEER_READY);
	p->attempts = 0;
	p->quiet = false;
	p->st.connects++;
	if (t->write_timeout_ms > 0) {
		struct timeval wt = { t->write_timeout_ms / 1000,
				      (t->write_timeout_ms % 1000) * 1000 };

		bufferevent_set_timeouts(p->bev, NULL, &wt);
	}
	/* What the caller sent meanwhile goes out right behind the proof. */
	evbuffer_add_buffer(out, p->pending);
	p->st.msgs_sent += p->pending_msgs;
	t->st.msgs_sent += p->pending_msgs;
	p->pending_msgs = 0;
	LMS_INFO("peer connection to node %llu at %s ready",
		 (unsigned long long)p->id, p->address);
}

/* Returns false when p's connection was closed. */
static bool outbound_on_challenge(struct rnet_peer *p,
				  const Lms__Raft__Challenge *ch)
{
	struct rnet *t = p->t;
	Lms__Raft__PeerFrame f = LMS__RAFT__PEER_FRAME__INIT;
	Lms__Raft__Proof proof = LMS__RAFT__PROOF__INIT;
	uint8_t mac[LMS_SHA256_LEN];

	if (ch->nonce.len != RNET_NONCE_LEN || ch->mac.len != LMS_SHA256_LEN) {
		outbound_fail(p, true, "malformed challenge");
		return false;
	}
	rnet_mac(t, RNET_LABEL_ACCEPTOR, t->self, p->id, p->nonce_c,
		 ch->nonce.data, mac);
	if (!lms_ct_equal(mac, ch->mac.data, LMS_SHA256_LEN)) {
		outbound_fail(p, true,
			      "bad mac from the acceptor (wrong secret?)");
		return false;
	}
	rnet_mac(t, RNET_LABEL_CONNECTOR, t->self, p->id, p->nonce_c,
		 ch->nonce.data, mac);
	proof.mac.data = mac;
	proof.mac.len = sizeof(mac);
	f.body_case = LMS__RAFT__PEER_FRAME__BODY_PROOF;
	f.proof = &proof;
	if (wire_send(p->bev, &f) != 0) {
		outbound_fail(p, true, "out of memory");
		return false;
	}
	outbound_ready(p);
	return true;
}

static void outbound_connected(struct rnet_peer *p)
{
	struct rnet *t = p->t;
	Lms__Raft__PeerFrame f = LMS__RAFT__PEER_FRAME__INIT;
	Lms__Raft__Hello hello = LMS__RAFT__HELLO__INIT;
	int rv;

	lms_socket_tune(bufferevent_getfd(p->bev));
	rv = rnet_nonce(p->nonce_c);
	if (rv != 0) {
		outbound_fail(p, true, "could not get random bytes: %s",
			      strerror(-rv));
		return;
	}
	hello.from = t->self;
	hello.to = p->id;
	hello.cluster = t->cluster;
	hello.nonce.data = p->nonce_c;
	hello.nonce.len = RNET_NONCE_LEN;
	f.body_case = LMS__RAFT__PEER_FRAME__BODY_HELLO;
	f.hello = &hello;
	if (wire_send(p->bev, &f) != 0) {
		outbound_fail(p, true, "out of memory");
		return;
	}
	evtimer_del(p->timer);
	peer_set_state(p, RNET_PEER_HANDSHAKE);
	arm_timer(p, t->handshake_timeout_ms);
}

/* ------------------------------------------------------ libevent callbacks */

static void outbound_read_cb(struct bufferevent *bev, void *arg)
{
	struct rnet_peer *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		Lms__Raft__PeerFrame *f;
		const uint8_t *payload;
		char err[128];
		size_t len;
		bool alive;
		int rv;

		rv = lms_evframe_peek(in, RNET_HANDSHAKE_MAX_FRAME, &payload, &len);
		if (rv == 0)
			return;
		if (rv < 0) {
			if (rv == -ENOMEM)
				outbound_fail(p, true, "out of memory");
			else
				outbound_fail(p, true,
					      "frame of %zu bytes exceeds the "
					      "limit of %d", len,
					      RNET_HANDSHAKE_MAX_FRAME);
			return;
		}
		p->t->st.bytes_received += 4 + len;
		rv = rnet_frame_decode(payload, len, &f, err, sizeof(err));
		evbuffer_drain(in, 4 + len);
		if (rv != 0) {
			outbound_fail(p, true, "%s", err);
			return;
		}
		if (p->state != RNET_PEER_HANDSHAKE ||
		    f->body_case != LMS__RAFT__PEER_FRAME__BODY_CHALLENGE) {
			outbound_fail(p, true, "unexpected %s from the acceptor",
				      rnet_frame_body_name(f));
			alive = false;
		} else {
			alive = outbound_on_challenge(p, f->challenge);
		}
		lms__raft__peer_frame__free_unpacked(f, NULL);
		if (!alive)
			return;
	}
}

static void outbound_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rnet_peer *p = arg;
	int err = EVUTIL_SOCKET_ERROR();
	int dns_err;

	if (p->in_connect) {
		/* Reported from inside bufferevent_socket_connect*():
		 * outbound_start handles it when that call returns. */
		if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF | BEV_EVENT_TIMEOUT))
			p->connect_failed = true;
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		outbound_connected(p);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		outbound_fail(p, true, "connection closed by the peer");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		outbound_fail(p, true, "write timed out after %u ms",
			      p->t->write_timeout_ms);
		return;
	}
	dns_err = bufferevent_socket_get_dns_error(bev);
	if (dns_err != 0)
		outbound_fail(p, true, "could not resolve \"%s\": %s", p->host,
			      evutil_gai_strerror(dns_err));
	else
		outbound_fail(p, true, "%s",
			      evutil_socket_error_to_string(err));
}

void outbound_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rnet_peer *p = arg;

	switch (p->state) {
	case RNET_PEER_CONNECTING:
		outbound_fail(p, true, "connect timed out after %u ms",
			      p->t->connect_timeout_ms);
		break;
	case RNET_PEER_HANDSHAKE:
		outbound_fail(p, true, "handshake timed out after %u ms",
			      p->t->handshake_timeout_ms);
		break;
	case RNET_PEER_BACKOFF:
		outbound_start(p);
		break;
	default:
		break;
	}
}

static void outbound_written_cb(struct evbuffer *buf,
				const struct evbuffer_cb_info *info, void *arg)
{
	struct rnet_peer *p = arg;

	p->st.bytes_sent += info->n_deleted;
	p->t->st.bytes_sent += info->n_deleted;
}

/* ------------------------------------------------------------- connect */

/*
 * When this node listens on one specific IPv4 address, its outbound peer
 * connections leave from that address too: peers (and firewall rules, as
 * ops/cluster partition uses) then see each node's Raft traffic under its
 * own address. Returns -1 (let libevent make the socket) otherwise or when
 * the bind fails, which only costs that distinction.
 */
static evutil_socket_t outbound_bound_socket(struct rnet *t,
					     const struct rnet_peer *p)
{
	struct sockaddr_in src;

	if (t->listen_host == NULL || !p->numeric ||
	    p->sa.ss_family != AF_INET)
		return -1;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	if (inet_pton(AF_INET, t->listen_host, &src.sin_addr) != 1 ||
	    src.sin_addr.s_addr == htonl(INADDR_ANY))
		return -1;
	evutil_socket_t fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
					     SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
		evutil_closesocket(fd);
		return -1;
	}
	return fd;
}

/*
 * Open a new connection to p (closing any old one). Never calls the
 * unreachable callback itself (it runs inside rnet_set_peer too): a failure
 * detected here only logs and backs off.
 */
void outbound_start(struct rnet_peer *p)
{
	struct rnet *t = p->t;
	const char *why = NULL;
	int rv = -1;

	outbound_close(p);
	evutil_socket_t fd = outbound_bound_socket(t, p);
	p->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (p->bev == NULL && fd >= 0)
		evutil_closesocket(fd);
	if (p->bev == NULL ||
	    evbuffer_add_cb(bufferevent_get_output(p->bev),
			    outbound_written_cb, p) == NULL) {
		peer_set_state(p, RNET_PEER_CONNECTING);
		outbound_fail(p, false, "out of memory");
		return;
	}
	bufferevent_setcb(p->bev, outbound_read_cb, NULL, outbound_event_cb,
			  p);
	bufferevent_setwatermark(p->bev, EV_READ, 0,
				 4 + RNET_HANDSHAKE_MAX_FRAME);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	peer_set_state(p, RNET_PEER_CONNECTING);
	arm_timer(p, t->connect_timeout_ms);

	p->in_connect = true;
	p->connect_failed = false;
	if (p->numeric) {
		rv = bufferevent_socket_connect(p->bev,
						(struct sockaddr *)&p->sa,
						p->salen);
	} else {
		if (t->dns == NULL)
			t->dns = evdns_base_new(t->base,
				EVDNS_BASE_INITIALIZE_NAMESERVERS |
				EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (t->dns == NULL)
			why = "could not start the resolver";
		else
			rv = bufferevent_socket_connect_hostname(p->bev,
				t->dns, AF_UNSPEC, p->host, p->port);
	}
	p->in_connect = false;
	if (rv == 0 && !p->connect_failed)
		return;
	if (why == NULL) {
		int dns_err = bufferevent_socket_get_dns_error(p->bev);

		why = dns_err != 0 ? evutil_gai_strerror(dns_err) :
			evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
	}
	outbound_fail(p, false, "could not connect: %s", why);
}

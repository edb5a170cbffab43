/*
 * transport.c -- the transport object: options, peers, rnet_send, stats.
 *
 * See transport.h for the contract. This file owns the peer table and the
 * send path; the connection state machines live in outbound.c (connector)
 * and inbound.c (acceptor).
 *
 * The send path is deliberately small and never blocks: look the peer up,
 * refuse early when its connection is down or its queue is full (before
 * spending an encoding on a message that will be dropped), encode into one
 * malloc'd frame and hand that buffer to the peer's evbuffer by reference.
 * libevent writes it when the socket is writable; a slow peer only grows
 * its own queue, up to queue_limit_bytes.
 */
#include "net_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "log.h"
#include "util.h"

void rnet_options_default(struct rnet_options *o)
{
	memset(o, 0, sizeof(*o));
	o->listen_host = NULL;
	o->listen_port = 0;
	o->max_frame_bytes = 32u * 1024 * 1024;
	o->max_entries = RNET_MAX_ENTRIES;
	o->queue_limit_bytes = 16u * 1024 * 1024;
	o->backoff_min_ms = 50;
	o->backoff_max_ms = 2000;
	o->connect_timeout_ms = 2000;
	o->handshake_timeout_ms = 2000;
	o->write_timeout_ms = 10000;
	o->max_inbound = 64;
}

const char *rnet_peer_state_name(int state)
{
	switch (state) {
	case RNET_PEER_IDLE:
		return "idle";
	case RNET_PEER_CONNECTING:
		return "connecting";
	case RNET_PEER_HANDSHAKE:
		return "handshake";
	case RNET_PEER_READY:
		return "ready";
	case RNET_PEER_BACKOFF:
		return "backoff";
	}
	return "?";
}

/* ------------------------------------------------------------ helpers */

struct rnet_peer *rnet_find_peer(const struct rnet *t, raft_id id)
{
	for (struct rnet_peer *p = t->peers; p != NULL; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

/* splitmix64: only for backoff jitter, seeded from getrandom. */
uint64_t rnet_random(struct rnet *t)
{
	uint64_t z = (t->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *options_check(const struct rnet_options *o)
{
	if (o->self == 0)
		return "self id is 0";
	if (o->cluster == NULL || o->cluster[0] == '\0')
		return "cluster name is empty";
	if (o->secret == NULL || o->secret_len == 0)
		return "cluster secret is empty";
	if (o->max_frame_bytes < RNET_HANDSHAKE_MAX_FRAME ||
	    o->max_frame_bytes > UINT32_MAX)
		return "max_frame_bytes out of range";
	if (o->max_entries == 0)
		return "max_entries is 0";
	if (o->queue_limit_bytes == 0)
		return "queue_limit_bytes is 0";
	if (o->backoff_min_ms == 0 || o->backoff_max_ms < o->backoff_min_ms)
		return "backoff must satisfy 0 < min <= max";
	if (o->connect_timeout_ms == 0 || o->handshake_timeout_ms == 0)
		return "connect and handshake timeouts must not be 0";
	if (o->max_inbound == 0)
		return "max_inbound is 0";
	return NULL;
}

/*
 * Split "host:port" / "[v6]:port" into p's host, port and, when the host is
 * a literal address, its sockaddr. Fills a scratch peer so that a bad
 * address leaves the real one untouched.
 */
static int parse_address(const char *address, struct rnet_peer *p)
{
	size_t len = strnlen(address, RAFT_ADDRESS_MAX);
	const char *host, *host_end, *port;
	uint64_t port_num;

	if (len == 0 || len >= RAFT_ADDRESS_MAX)
		return -EINVAL;
	if (address[0] == '[') {
		host = address + 1;
		host_end = strchr(host, ']');
		if (host_end == NULL || host_end[1] != ':')
			return -EINVAL;
		port = host_end + 2;
	} else {
		host = address;
		host_end = strrchr(address, ':');
		if (host_end == NULL ||
		    memchr(host, ':', (size_t)(host_end - host)) != NULL)
			return -EINVAL; /* no port, or a bare IPv6 address */
		port = host_end + 1;
	}
	if (host_end == host)
		return -EINVAL;
	for (const char *c = host; c < host_end; c++) {
		/* Names and IPv4/IPv6 literals; nothing a resolver chokes on. */
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' ||
		      *c == '_' || (*c == ':' && address[0] == '[')))
			return -EINVAL;
	}
	if (lms_parse_u64(port, 1, 65535, &port_num) != 0)
		return -EINVAL;

	memcpy(p->host, host, (size_t)(host_end - host));
	p->host[host_end - host] = '\0';
	p->port = (uint16_t)port_num;
	memcpy(p->address, address, len + 1);
	p->salen = (int)sizeof(p->sa);
	p->numeric = evutil_parse_sockaddr_port(address,
						(struct sockaddr *)&p->sa,
						&p->salen) == 0;
	return 0;
}

static void peer_copy_address(struct rnet_peer *dst,
			      const struct rnet_peer *src)
{
	memcpy(dst->address, src->address, sizeof(dst->address));
	memcpy(dst->host, src->host, sizeof(dst->host));
	dst->port = src->port;
	dst->numeric = src->numeric;
	dst->sa = src->sa;
	dst->salen = src->salen;
}

/* ---------------------------------------------------------- lifecycle */

struct rnet *rnet_new(struct event_base *base, const struct rnet_options *o,
		      rnet_recv_fn recv, void *arg)
{
	const char *why = options_check(o);
	struct rnet *t;

	if (why == NULL && (base == NULL || recv == NULL))
		why = "no event base or receive callback";
	if (why != NULL) {
		LMS_ERROR("invalid peer transport options: %s", why);
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto err;
	t->base = base;
	t->recv = recv;
	t->unreachable = o->unreachable;
	t->arg = arg;
	t->self = o->self;
	t->cluster = strdup(o->cluster);
	if (t->cluster == NULL)
		goto err_after_t;
	t->secret = malloc(o->secret_len);
	if (t->secret == NULL)
		goto err_after_cluster;
	memcpy(t->secret, o->secret, o->secret_len);
	t->secret_len = o->secret_len;
	if (o->listen_host != NULL) {
		t->listen_host = strdup(o->listen_host);
		if (t->listen_host == NULL)
			goto err_after_secret;
	}
	t->listen_port = o->listen_port;
	t->max_frame = o->max_frame_bytes;
	t->max_entries = o->max_entries;
	t->queue_limit = o->queue_limit_bytes;
	t->backoff_min_ms = o->backoff_min_ms;
	t->backoff_max_ms = o->backoff_max_ms;
	t->connect_timeout_ms = o->connect_timeout_ms;
	t->handshake_timeout_ms = o->handshake_timeout_ms;
	t->write_timeout_ms = o->write_timeout_ms;
	t->max_inbound = o->max_inbound;
	if (getrandom(&t->rng, sizeof(t->rng), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->rng))
		t->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return t;

err_after_secret:
	explicit_bzero(t->secret, t->secret_len);
	free(t->secret);
err_after_cluster:
	free(t->cluster);
err_after_t:
	free(t);
err:
	errno = ENOMEM;
	return NULL;
}

static void peer_destroy(struct rnet_peer *p)
{
	outbound_close(p);
	if (p->timer != NULL)
		event_free(p->timer);
	if (p->pending != NULL)
		evbuffer_free(p->pending);
	free(p);
}

void rnet_free(struct rnet *t)
{
	if (t == NULL)
		return;
	/* Reverse order: connections, then what they use, then t. */
	inbound_close_all(t);
	while (t->peers != NULL) {
		struct rnet_peer *p = t->peers;

		t->peers = p->next;
		peer_destroy(p);
	}
	if (t->dns != NULL)
		evdns_base_free(t->dns, 1);
	inbound_stop(t);
	free(t->listen_host);
	explicit_bzero(t->secret, t->secret_len);
	free(t->secret);
	free(t->cluster);
	free(t);
}

int rnet_listen(struct rnet *t)
{
	return inbound_listen(t);
}

uint16_t rnet_listen_port(const struct rnet *t)
{
	return t->listener != NULL ? t->bound_port : 0;
}

/* --------------------------------------------------------------- peers */

int rnet_set_peer(struct rnet *t, raft_id id, const char *address)
{
	struct rnet_peer scratch, *p;

	if (id == 0 || id == t->self || address == NULL)
		return -EINVAL;
	memset(&scratch, 0, sizeof(scratch));
	if (parse_address(address, &scratch) != 0) {
		LMS_WARN("invalid address \"%.*s\" for peer node %llu",
			 RAFT_ADDRESS_MAX, address, (unsigned long long)id);
		return -EINVAL;
	}

	p = rnet_find_peer(t, id);
	if (p != NULL) {
		if (strcmp(p->address, scratch.address) == 0)
			return 0;
		LMS_INFO("peer node %llu moves from %s to %s",
			 (unsigned long long)id, p->address, scratch.address);
		outbound_close(p);
		peer_copy_address(p, &scratch);
		p->attempts = 0;
		p->quiet = false;
		outbound_start(p);
		return 0;
	}

	if (t->n_peers >= RNET_MAX_PEERS)
		return -ENOSPC;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->t = t;
	p->id = id;
	peer_copy_address(p, &scratch);
	p->state = RNET_PEER_IDLE;
	p->pending = evbuffer_new();
	p->timer = evtimer_new(t->base, outbound_timer_cb, p);
	if (p->pending == NULL || p->timer == NULL) {
		peer_destroy(p);
		return -ENOMEM;
	}
	p->next = t->peers;
	t->peers = p;
	t->n_peers++;
	LMS_DEBUG("peer node %llu at %s added", (unsigned long long)id,
		  p->address);
	outbound_start(p);
	return 0;
}

int rnet_remove_peer(struct rnet *t, raft_id id)
{
	for (struct rnet_peer **pp = &t->peers; *pp != NULL;
	     pp = &(*pp)->next) {
		struct rnet_peer *p = *pp;

		if (p->id != id)
			continue;
		*pp = p->next;
		t->n_peers--;
		LMS_INFO("peer node %llu at %s removed",
			 (unsigned long long)id, p->address);
		peer_destroy(p);
		return 0;
	}
	return -ENOENT;
}

/* ---------------------------------------------------------------- send */

static int send_drop(struct rnet *t, struct rnet_peer *p, int rv)
{
	t->st.msgs_dropped++;
	if (p != NULL)
		p->st.msgs_dropped++;
	return rv;
}

int rnet_send(struct rnet *t, const struct raft_message *m)
{
	struct rnet_peer *p;
	struct evbuffer *q;
	char err[128];
	uint8_t *buf;
	size_t len, queued;
	int rv;

	if (m->from != t->self) {
		LMS_WARN("refusing to send a message from node %llu as node "
			 "%llu", (unsigned long long)m->from,
			 (unsigned long long)t->self);
		return -EINVAL;
	}
	p = rnet_find_peer(t, m->to);
	if (p == NULL)
		return send_drop(t, NULL, -ENOENT);
	switch (p->state) {
	case RNET_PEER_CONNECTING:
	case RNET_PEER_HANDSHAKE:
		q = p->pending;
		break;
	case RNET_PEER_READY:
		q = bufferevent_get_output(p->bev);
		break;
	default:
		return send_drop(t, p, -ENOTCONN);
	}
	queued = evbuffer_get_length(q);
	if (queued >= t->queue_limit)
		return send_drop(t, p, -ENOBUFS);

	rv = rnet_check(m, t->max_entries, err, sizeof(err));
	if (rv != 0) {
		LMS_WARN("refusing to send an invalid message to node %llu: %s",
			 (unsigned long long)m->to, err);
		return rv;
	}
	rv = rnet_encode(m, &buf, &len);
	if (rv != 0)
		return rv == -EMSGSIZE ? send_drop(t, p, rv) : rv;
	if (len - 4 > t->max_frame) {
		free(buf);
		return send_drop(t, p, -EMSGSIZE);
	}
	if (queued > 0 && queued + len > t->queue_limit) {
		free(buf);
		return send_drop(t, p, -ENOBUFS);
	}
	rv = wire_add(q, buf, len);
	if (rv != 0)
		return rv;
	if (q == p->pending) {
		p->pending_msgs++;
	} else {
		p->st.msgs_sent++;
		t->st.msgs_sent++;
	}
	return 0;
}

/* --------------------------------------------------------------- stats */

static void peer_fill_stats(const struct rnet *t, const struct rnet_peer *p,
			    struct rnet_peer_stats *ps)
{
	*ps = p->st;
	ps->id = p->id;
	memcpy(ps->address, p->address, sizeof(ps->address));
	ps->state = p->state;
	ps->queued_bytes = evbuffer_get_length(p->pending);
	if (p->bev != NULL)
		ps->queued_bytes +=
			evbuffer_get_length(bufferevent_get_output(p->bev));
	ps->inbound = false;
	for (const struct rnet_inbound *c = t->inbound; c != NULL; c = c->next)
		if (c->state == RNET_IN_AUTH && c->peer == p->id)
			ps->inbound = true;
}

void rnet_stats(const struct rnet *t, struct rnet_stats *st)
{
	unsigned n = 0;

	*st = t->st;
	st->inbound_open = t->n_inbound;
	for (const struct rnet_peer *p = t->peers;
	     p != NULL && n < RNET_MAX_PEERS; p = p->next)
		peer_fill_stats(t, p, &st->peers[n++]);
	st->n_peers = n;
}

int rnet_peer_stats(const struct rnet *t, raft_id id,
		    struct rnet_peer_stats *ps)
{
	const struct rnet_peer *p = rnet_find_peer(t, id);

	if (p == NULL)
		return -ENOENT;
	peer_fill_stats(t, p, ps);
	return 0;
}

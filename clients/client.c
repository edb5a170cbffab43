/*
 * client.c -- see client.h.
 *
 * One call is a loop of attempts under a total deadline. Each attempt picks
 * a node (the known leader, else the next node round-robin), makes sure a
 * connection to it is open, writes one frame and reads one frame, each under
 * a per-attempt deadline. What happens next depends on the answer:
 *
 *   answer                      next
 *   ------------------------    ------------------------------------------
 *   any status but the two      done: returned to the caller
 *   below
 *   NOT_LEADER with a leader    switch to it at once (it may be a node not
 *                               in our list: it is added)
 *   NOT_LEADER without, or      back off, next node
 *   UNAVAILABLE
 *   connect/IO error, timeout   drop that connection, back off, next node
 *
 * A write keeps its (client_id, seq) across attempts, so an attempt that
 * timed out after the leader applied it is answered from the cluster's
 * dedup record when retried, never applied twice.
 */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "frame.h"
#include "util.h"

struct lmsc {
	struct lmsc_options o;
	struct lmsc_node nodes[LMSC_MAX_NODES];
	int fds[LMSC_MAX_NODES]; /* cached connections, -1 = none */
	size_t n;
	size_t next;   /* round-robin cursor */
	int leader;    /* index of the believed leader, -1 = unknown */
	uint64_t client_id;
	uint64_t seq;  /* last write sequence number used */
	uint64_t rng;
	char err[256];
};

/* ------------------------------------------------------------- helpers */

static void client_seterr(struct lmsc *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void client_seterr(struct lmsc *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
}

static uint64_t client_rand(struct lmsc *c)
{
	/* xorshift64*: only for backoff jitter */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 2685821657736338717ULL;
}

static int client_remaining(uint64_t deadline)
{
	uint64_t now = lms_now_ms();
	return now >= deadline ? 0 : (int)(deadline - now);
}

static void client_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

const char *lmsc_status_name(int status)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&lms__rpc__status__descriptor, status);
	return v ? v->name : "UNKNOWN";
}

/* ------------------------------------------------------------ node lists */

static int client_parse_hostport(const char *s, size_t len,
                                 struct lmsc_node *out)
{
	char buf[96];
	if (len == 0 || len >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *colon = strrchr(buf, ':');
	if (!colon || colon == buf)
		return -EINVAL;
	*colon = '\0';
	uint64_t port;
	if (lms_parse_u64(colon + 1, 1, 65535, &port) != 0)
		return -EINVAL;
	if (strlen(buf) >= sizeof out->host)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	lms_strlcpy(out->host, buf, sizeof out->host);
	out->port = (uint16_t)port;
	return 0;
}

int lmsc_nodes_parse(const char *list, struct lmsc_node *out, size_t *n,
                     char *err, size_t errlen)
{
	size_t count = 0;
	const char *p = list;
	if (!list || !*list) {
		snprintf(err, errlen, "empty node list");
		return -EINVAL;
	}
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (count == LMSC_MAX_NODES) {
			snprintf(err, errlen, "too many nodes (at most %d)",
			         LMSC_MAX_NODES);
			return -EINVAL;
		}
		if (client_parse_hostport(p, len, &out[count]) != 0) {
			snprintf(err, errlen,
			         "bad node address \"%.*s\": expected host:port",
			         (int)len, p);
			return -EINVAL;
		}
		count++;
		p += len;
		if (*p == ',')
			p++;
	}
	*n = count;
	return 0;
}

int lmsc_nodes_from_config(const struct lms_config *cfg,
                           struct lmsc_node *out, size_t *n)
{
	size_t count = 0;
	for (size_t i = 0; i < cfg->n_nodes && count < LMSC_MAX_NODES; i++) {
		const struct lms_node_config *nc = &cfg->nodes[i];
		memset(&out[count], 0, sizeof out[count]);
		out[count].id = nc->id;
		lms_strlcpy(out[count].host, nc->host, sizeof out[count].host);
		out[count].port = (uint16_t)nc->client_port;
		count++;
	}
	*n = count;
	return 0;
}

int lmsc_nodes_resolve(const char *list, const char *config_path,
                       struct lmsc_node *out, size_t *n, char *err,
                       size_t errlen)
{
	if (!list)
		list = getenv("LMS_NODES");
	if (list && *list)
		return lmsc_nodes_parse(list, out, n, err, errlen);
	struct lms_config cfg;
	const char *path = config_path ? config_path : lms_config_default_path();
	if (lms_config_load(path, &cfg, err, errlen) != 0)
		return -EINVAL;
	lmsc_nodes_from_config(&cfg, out, n);
	lms_config_free(&cfg);
	return 0;
}

/* ------------------------------------------------------------- lifecycle */

void lmsc_options_default(struct lmsc_options *o)
{
	o->connect_timeout_ms = 500;
	o->request_timeout_ms = 5000;
	o->total_timeout_ms = 15000;
	o->backoff_min_ms = 20;
	o->backoff_max_ms = 500;
	o->max_frame = 32u << 20;
}

struct lmsc *lmsc_new(const struct lmsc_node *nodes, size_t n,
                      const struct lmsc_options *o)
{
	if (n == 0 || n > LMSC_MAX_NODES)
		return NULL;
	struct lmsc *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	if (o)
		c->o = *o;
	else
		lmsc_options_default(&c->o);
	memcpy(c->nodes, nodes, n * sizeof *nodes);
	c->n = n;
	for (size_t i = 0; i < LMSC_MAX_NODES; i++)
		c->fds[i] = -1;
	c->leader = -1;
	while (c->client_id == 0) {
		if (getrandom(&c->client_id, sizeof c->client_id, 0) !=
		    (ssize_t)sizeof c->client_id) {
			free(c);
			return NULL;
		}
	}
	c->rng = c->client_id | 1;
	c->next = (size_t)(c->client_id % n); /* spread clients over nodes */
	return c;
}

static void client_close(struct lmsc *c, size_t i)
{
	if (c->fds[i] >= 0) {
		close(c->fds[i]);
		c->fds[i] = -1;
	}
}

void lmsc_free(struct lmsc *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		client_close(c, i);
	free(c);
}

void lmsc_get_options(const struct lmsc *c, struct lmsc_options *o)
{
	*o = c->o;
}

void lmsc_set_options(struct lmsc *c, const struct lmsc_options *o)
{
	c->o = *o;
}

const char *lmsc_errmsg(const struct lmsc *c) { return c->err; }
uint64_t lmsc_client_id(const struct lmsc *c) { return c->client_id; }
size_t lmsc_node_count(const struct lmsc *c) { return c->n; }
const struct lmsc_node *lmsc_node_at(const struct lmsc *c, size_t i)
{
	return i < c->n ? &c->nodes[i] : NULL;
}

void lmsc_response_free(Lms__Rpc__Response *resp)
{
	if (resp)
		lms__rpc__response__free_unpacked(resp, NULL);
}

/* ------------------------------------------------------------------- I/O */

static int client_connect(struct lmsc *c, size_t i, uint64_t deadline)
{
	if (c->fds[i] >= 0)
		return 0;
	const struct lmsc_node *nd = &c->nodes[i];
	char port[8];
	snprintf(port, sizeof port, "%u", nd->port);
	struct addrinfo hints = {0}, *ai = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int rv = getaddrinfo(nd->host, port, &hints, &ai);
	if (rv != 0) {
		client_seterr(c, "could not resolve \"%s\": %s", nd->host,
		              gai_strerror(rv));
		return -EHOSTUNREACH;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	                0);
	if (fd < 0) {
		freeaddrinfo(ai);
		client_seterr(c, "could not create socket: %s", strerror(errno));
		return -errno;
	}
	rv = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rv != 0 && errno != EINPROGRESS)
		goto err_conn;
	if (rv != 0) {
		int left = client_remaining(deadline);
		if (left > (int)c->o.connect_timeout_ms)
			left = (int)c->o.connect_timeout_ms;
		struct pollfd p = {fd, POLLOUT, 0};
		rv = poll(&p, 1, left);
		if (rv == 0) {
			errno = ETIMEDOUT;
			goto err_conn;
		}
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (rv < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			goto err_conn;
		if (soerr != 0) {
			errno = soerr;
			goto err_conn;
		}
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fds[i] = fd;
	return 0;
err_conn:
	rv = errno == ECONNREFUSED ? -ECONNREFUSED : -EHOSTUNREACH;
	client_seterr(c, "could not connect to %s:%u: %s", nd->host, nd->port,
	              strerror(errno));
	close(fd);
	return rv;
}

/* Waits for fd to be ready for `events` before the deadline. */
static int client_wait(int fd, short events, uint64_t deadline)
{
	for (;;) {
		int left = client_remaining(deadline);
		if (left == 0)
			return -ETIMEDOUT;
		struct pollfd p = {fd, events, 0};
		int rv = poll(&p, 1, left);
		if (rv > 0)
			return 0;
		if (rv == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int client_write_all(int fd, const uint8_t *buf, size_t len,
                            uint64_t deadline)
{
	while (len > 0) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rv = client_wait(fd, POLLOUT, deadline);
			if (rv != 0)
				return rv;
			continue;
		}
		return w == 0 ? -EPIPE : -errno;
	}
	return 0;
}

static int client_read_all(int fd, uint8_t *buf, size_t len,
                           uint64_t deadline)
{
	while (len > 0) {
		ssize_t r = recv(fd, buf, len, 0);
		if (r > 0) {
			buf += r;
			len -= (size_t)r;
			continue;
		}
		if (r == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int rv = client_wait(fd, POLLIN, deadline);
			if (rv != 0)
				return rv;
			continue;
		}
		return -errno;
	}
	return 0;
}

/* One request/response exchange with node i. */
static int client_exchange(struct lmsc *c, size_t i,
                           const Lms__Rpc__Request *req,
                           Lms__Rpc__Response **resp, uint64_t deadline)
{
	int rv = client_connect(c, i, deadline);
	if (rv != 0)
		return rv;
	size_t plen = lms__rpc__request__get_packed_size(req);
	if (plen > c->o.max_frame) {
		client_seterr(c, "request of %zu bytes exceeds the frame limit",
		              plen);
		return -EMSGSIZE;
	}
	uint8_t *buf = malloc(plen + 4);
	if (!buf)
		return -ENOMEM;
	lms_frame_put_header(buf, (uint32_t)plen);
	lms__rpc__request__pack(req, buf + 4);
	rv = client_write_all(c->fds[i], buf, plen + 4, deadline);
	free(buf);
	if (rv != 0)
		goto err_io;

	uint8_t hdr[4];
	rv = client_read_all(c->fds[i], hdr, 4, deadline);
	if (rv != 0)
		goto err_io;
	size_t n;
	if (lms_frame_peek(hdr, 4, c->o.max_frame, &n) < 0) {
		client_seterr(c, "response from %s:%u exceeds the frame limit",
		              c->nodes[i].host, c->nodes[i].port);
		client_close(c, i);
		return -EMSGSIZE;
	}
	uint8_t *body = malloc(n ? n : 1);
	if (!body)
		return -ENOMEM;
	rv = client_read_all(c->fds[i], body, n, deadline);
	if (rv != 0) {
		free(body);
		goto err_io;
	}
	*resp = lms__rpc__response__unpack(NULL, n, body);
	free(body);
	if (!*resp) {
		client_seterr(c, "malformed response from %s:%u",
		              c->nodes[i].host, c->nodes[i].port);
		client_close(c, i);
		return -EPROTO;
	}
	return 0;
err_io:
	client_seterr(c, "%s:%u: %s", c->nodes[i].host, c->nodes[i].port,
	              rv == -ETIMEDOUT ? "timed out" : strerror(-rv));
	client_close(c, i);
	return rv;
}

/* Finds (or adds) the node with this client address; -1 if no room. */
static int client_node_for_address(struct lmsc *c, uint64_t id,
                                   const char *addr)
{
	struct lmsc_node nd;
	if (client_parse_hostport(addr, strlen(addr), &nd) != 0)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		if (c->nodes[i].port == nd.port &&
		    strcmp(c->nodes[i].host, nd.host) == 0) {
			if (id)
				c->nodes[i].id = id;
			return (int)i;
		}
	}
	if (c->n == LMSC_MAX_NODES)
		return -1;
	nd.id = id;
	c->nodes[c->n] = nd;
	return (int)c->n++;
}

/* ------------------------------------------------------------------ calls */

int lmsc_call_node(struct lmsc *c, size_t node, Lms__Rpc__Request *req,
                   Lms__Rpc__Response **resp)
{
	if (node >= c->n)
		return -EINVAL;
	uint64_t deadline = lms_now_ms() + c->o.request_timeout_ms;
	req->client_id = c->client_id;
	bool cached = c->fds[node] >= 0;
	int rv = client_exchange(c, node, req, resp, deadline);
	/* A kept connection may be dead since the node restarted: one more
	 * try on a fresh one (a write resent carries the same client id and
	 * seq, so it is not applied twice). */
	if (cached && rv != 0 && rv != -ETIMEDOUT && rv != -ENOMEM &&
	    rv != -EMSGSIZE && lms_now_ms() < deadline)
		rv = client_exchange(c, node, req, resp, deadline);
	return rv;
}

/*
 * The next node round-robin, skipping the nodes that failed (I/O error,
 * timeout) earlier in this call until every node has failed once. Without
 * this a retry could go straight back to the node that just timed out --
 * the cursor is not advanced by attempts to the believed leader -- and a
 * paused or hung process, whose kernel still accepts connections, cost
 * request_timeout_ms again: 10 s to fail over from a paused leader with
 * four healthy nodes in cluster_pause_leader, and "cluster unavailable"
 * after 15 s with one more unlucky pick.
 */
static size_t client_next_node(struct lmsc *c, uint32_t *failed)
{
	for (size_t k = 0; k < c->n; k++) {
		size_t i = c->next++ % c->n;
		if (!(*failed & (1u << i)))
			return i;
	}
	*failed = 0; /* every node failed once: start over */
	return c->next++ % c->n;
}

int lmsc_call(struct lmsc *c, Lms__Rpc__Request *req,
              Lms__Rpc__Response **resp, unsigned flags)
{
	uint64_t start = lms_now_ms();
	uint64_t deadline = start + c->o.total_timeout_ms;
	unsigned backoff = c->o.backoff_min_ms;
	int last = -EHOSTUNREACH;
	unsigned hops = 0; /* NOT_LEADER redirects followed without backoff */
	unsigned refused = 0; /* consecutive attempts that found no listener */
	uint32_t failed = 0;  /* nodes whose attempt failed in this call */

	req->client_id = c->client_id;
	if (flags & LMSC_WRITE)
		req->seq = ++c->seq;
	req->forwarded = 0;
	*resp = NULL;

	while (client_remaining(deadline) > 0) {
		size_t i;
		if (!(flags & LMSC_ANY_NODE) && c->leader >= 0) {
			i = (size_t)c->leader;
		} else {
			i = client_next_node(c, &failed);
		}
		uint64_t attempt_deadline = lms_now_ms() + c->o.request_timeout_ms;
		if (attempt_deadline > deadline)
			attempt_deadline = deadline;
		Lms__Rpc__Response *r = NULL;
		int rv = client_exchange(c, i, req, &r, attempt_deadline);
		if (rv == -ENOMEM)
			return rv;
		if (rv == 0 && r->status == LMS__RPC__STATUS__NOT_LEADER) {
			int li = -1;
			if (r->leader_address && *r->leader_address)
				li = client_node_for_address(c, r->leader_id,
				                             r->leader_address);
			client_seterr(c, "%s:%u is not the leader",
			              c->nodes[i].host, c->nodes[i].port);
			lmsc_response_free(r);
			last = -EHOSTUNREACH;
			if (li >= 0 && (size_t)li != i && hops++ < c->n) {
				c->leader = li;
				continue; /* follow the hint at once */
			}
			c->leader = -1;
		} else if (rv == 0 &&
		           r->status == LMS__RPC__STATUS__UNAVAILABLE) {
			client_seterr(c, "%s:%u: %s", c->nodes[i].host,
			              c->nodes[i].port,
			              r->message ? r->message : "unavailable");
			lmsc_response_free(r);
			last = -EHOSTUNREACH;
			c->leader = -1;
		} else if (rv == 0) {
			if (!(flags & LMSC_ANY_NODE))
				c->leader = (int)i;
			*resp = r;
			return 0;
		} else {
			last = rv == -ETIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
			if ((int)i == c->leader)
				c->leader = -1;
			failed |= 1u << i;
			/* Every node refusing connections twice over: nothing
			 * is running, waiting out the deadline helps nobody. */
			if (rv == -ECONNREFUSED && ++refused >= 2 * c->n)
				break;
		}
		if (rv != -ECONNREFUSED)
			refused = 0;
		/* back off with jitter, never past the deadline */
		unsigned left = (unsigned)client_remaining(deadline);
		unsigned sleep = backoff / 2 +
		                 (unsigned)(client_rand(c) % (backoff / 2 + 1));
		client_sleep_ms(sleep < left ? sleep : left);
		backoff = backoff * 2 > c->o.backoff_max_ms ? c->o.backoff_max_ms
		                                            : backoff * 2;
		hops = 0;
	}
	char detail[sizeof c->err];
	lms_strlcpy(detail, c->err, sizeof detail);
	client_seterr(c, "cluster unavailable: no node answered in %llu ms "
	              "(last error: %s)",
	              (unsigned long long)(lms_now_ms() - start),
	              detail[0] ? detail : "none");
	return last == -ETIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
}

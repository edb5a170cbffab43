/*
 * net_harness.c -- see net_harness.h. Test code: failures are cmocka
 * assertions, not error returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "frame.h"
#include "sha256.h"
#include "util.h"

/* ------------------------------------------------------------ messages */

void nh_sample(struct nh_msg *s, int type, raft_id from, raft_id to)
{
	struct raft_message *m = &s->m;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sizeof(s->blob); i++)
		s->blob[i] = (uint8_t)(i * 7 + (unsigned)type);
	m->type = type;
	m->from = from;
	m->to = to;
	m->term = 100 + (raft_term)type;
	switch (type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		m->vote.last_log_index = 4242;
		m->vote.last_log_term = 99;
		m->vote.transfer = type == RAFT_MSG_VOTE;
		break;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		m->vote_resp.granted = true;
		break;
	case RAFT_MSG_APPEND:
		m->append.prev_index = 41;
		m->append.prev_term = 6;
		m->append.commit = 40;
		m->append.read_ctx = 0x1122334455667788ull;
		for (int i = 0; i < 4; i++) {
			s->entries[i].term = 7;
			s->entries[i].index = 42 + (raft_index)i;
		}
		s->entries[0].type = RAFT_ENTRY_NORMAL;
		s->entries[0].data = s->blob;
		s->entries[0].len = 100;
		s->entries[1].type = RAFT_ENTRY_NOOP;
		s->entries[2].type = RAFT_ENTRY_CONFIG;
		s->entries[2].data = s->blob + 100;
		s->entries[2].len = 57;
		s->entries[3].type = RAFT_ENTRY_NORMAL;
		s->entries[3].data = s->blob + 200;
		s->entries[3].len = 1;
		m->append.entries = s->entries;
		m->append.n_entries = 4;
		break;
	case RAFT_MSG_APPEND_RESP:
		m->append_resp.success = false;
		m->append_resp.index = 77;
		m->append_resp.conflict_term = 5;
		m->append_resp.conflict_index = 60;
		m->append_resp.last_index = 70;
		m->append_resp.read_ctx = UINT64_MAX;
		break;
	case RAFT_MSG_SNAPSHOT:
		m->snapshot.index = 5000;
		m->snapshot.snap_term = 12;
		m->snapshot.config.n = RAFT_MAX_SERVERS;
		for (unsigned i = 0; i < RAFT_MAX_SERVERS; i++) {
			struct raft_server *sv = &m->snapshot.config.servers[i];

			sv->id = i + 1;
			sv->role = i % 3 == 2 ? RAFT_NONVOTER : RAFT_VOTER;
			snprintf(sv->address, sizeof(sv->address),
				 "10.0.0.%u:%u", i + 1, 7000 + i);
		}
		/* The longest address a config can hold. */
		memset(m->snapshot.config.servers[15].address, 'h',
		       RAFT_ADDRESS_MAX - 1);
		m->snapshot.config.servers[15].address[RAFT_ADDRESS_MAX - 1] =
			'\0';
		m->snapshot.offset = 1000;
		m->snapshot.total = 1300;
		m->snapshot.data = s->blob;
		m->snapshot.len = 300;
		m->snapshot.done = true;
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		m->snapshot_resp.index = 5000;
		m->snapshot_resp.next_offset = 1300;
		m->snapshot_resp.rejected = true;
		break;
	default:
		break;
	}
}

static bool bytes_equal(const void *a, size_t alen, const void *b,
			size_t blen)
{
	if (alen != blen)
		return false;
	return alen == 0 || memcmp(a, b, alen) == 0;
}

bool nh_msg_equal(const struct raft_message *a, const struct raft_message *b)
{
	if (a->type != b->type || a->from != b->from || a->to != b->to ||
	    a->term != b->term)
		return false;
	switch (a->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		return a->vote.last_log_index == b->vote.last_log_index &&
		       a->vote.last_log_term == b->vote.last_log_term &&
		       a->vote.transfer == b->vote.transfer;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		return a->vote_resp.granted == b->vote_resp.granted;
	case RAFT_MSG_APPEND:
		if (a->append.prev_index != b->append.prev_index ||
		    a->append.prev_term != b->append.prev_term ||
		    a->append.commit != b->append.commit ||
		    a->append.read_ctx != b->append.read_ctx ||
		    a->append.n_entries != b->append.n_entries)
			return false;
		for (size_t i = 0; i < a->append.n_entries; i++) {
			const struct raft_entry *x = &a->append.entries[i];
			const struct raft_entry *y = &b->append.entries[i];

			if (x->term != y->term || x->index != y->index ||
			    x->type != y->type ||
			    !bytes_equal(x->data, x->len, y->data, y->len))
				return false;
		}
		return true;
	case RAFT_MSG_APPEND_RESP:
		return a->append_resp.success == b->append_resp.success &&
		       a->append_resp.index == b->append_resp.index &&
		       a->append_resp.conflict_term ==
			       b->append_resp.conflict_term &&
		       a->append_resp.conflict_index ==
			       b->append_resp.conflict_index &&
		       a->append_resp.last_index == b->append_resp.last_index &&
		       a->append_resp.read_ctx == b->append_resp.read_ctx;
	case RAFT_MSG_SNAPSHOT:
		if (a->snapshot.index != b->snapshot.index ||
		    a->snapshot.snap_term != b->snapshot.snap_term ||
		    a->snapshot.offset != b->snapshot.offset ||
		    a->snapshot.total != b->snapshot.total ||
		    a->snapshot.done != b->snapshot.done ||
		    !bytes_equal(a->snapshot.data, a->snapshot.len,
				 b->snapshot.data, b->snapshot.len) ||
		    a->snapshot.config.n != b->snapshot.config.n)
			return false;
		for (unsigned i = 0; i < a->snapshot.config.n; i++) {
			const struct raft_server *x =
				&a->snapshot.config.servers[i];
			const struct raft_server *y =
				&b->snapshot.config.servers[i];

			if (x->id != y->id || x->role != y->role ||
			    strcmp(x->address, y->address) != 0)
				return false;
		}
		return true;
	case RAFT_MSG_SNAPSHOT_RESP:
		return a->snapshot_resp.index == b->snapshot_resp.index &&
		       a->snapshot_resp.next_offset ==
			       b->snapshot_resp.next_offset &&
		       a->snapshot_resp.rejected == b->snapshot_resp.rejected;
	default:
		return true;
	}
}

void nh_assert_msg_equal(const struct raft_message *want,
			 const struct raft_message *got)
{
	assert_int_equal(want->type, got->type);
	assert_true(want->from == got->from);
	assert_true(want->to == got->to);
	assert_true(want->term == got->term);
	if (want->type == RAFT_MSG_APPEND)
		assert_int_equal(want->append.n_entries,
				 got->append.n_entries);
	if (want->type == RAFT_MSG_SNAPSHOT) {
		assert_int_equal(want->snapshot.len, got->snapshot.len);
		assert_int_equal(want->snapshot.config.n,
				 got->snapshot.config.n);
	}
	assert_true(nh_msg_equal(want, got));
}

/* --------------------------------------------------------------- nodes */

void nh_options(struct rnet_options *o, raft_id id, const char *secret)
{
	rnet_options_default(o);
	o->self = id;
	o->cluster = NH_CLUSTER;
	o->secret = secret;
	o->secret_len = strlen(secret);
	o->listen_host = "127.0.0.1";
	o->listen_port = 0;
	o->backoff_min_ms = 20;
	o->backoff_max_ms = 200;
	o->connect_timeout_ms = 1000;
	o->handshake_timeout_ms = 1000;
}

static void nh_recv(void *arg, const struct raft_message *m)
{
	struct nh_node *n = arg;

	n->n_recv++;
	if (m->from < NH_MAX_ID)
		n->recv_from[m->from]++;
	if (n->check_samples) {
		struct nh_msg s;

		nh_sample(&s, m->type, m->from, m->to);
		if (!nh_msg_equal(&s.m, m))
			n->n_bad++;
	}
}

static void nh_unreachable(void *arg, raft_id id)
{
	struct nh_node *n = arg;

	if (id < NH_MAX_ID)
		n->unreachable[id]++;
}

void nh_node_init(struct nh_node *n, raft_id id)
{
	memset(n, 0, sizeof(*n));
	n->id = id;
	n->base = event_base_new();
	assert_non_null(n->base);
}

void nh_node_start(struct nh_node *n, const struct rnet_options *o)
{
	struct rnet_options opts = *o;

	opts.unreachable = nh_unreachable;
	n->t = rnet_new(n->base, &opts, nh_recv, n);
	assert_non_null(n->t);
	assert_int_equal(rnet_listen(n->t), 0);
	n->port = rnet_listen_port(n->t);
	assert_true(n->port != 0);
}

void nh_node_stop(struct nh_node *n)
{
	rnet_free(n->t);
	n->t = NULL;
}

void nh_node_free(struct nh_node *n)
{
	nh_node_stop(n);
	/* Let libevent finish cancelled host-name lookups (transport.h). */
	if (n->base != NULL)
		event_base_loop(n->base, EVLOOP_NONBLOCK);
	if (n->base != NULL)
		event_base_free(n->base);
	n->base = NULL;
}

const char *nh_addr(const struct nh_node *n, char *buf, size_t len)
{
	snprintf(buf, len, "127.0.0.1:%u", n->port);
	return buf;
}

bool nh_pump(struct nh_node **nodes, size_t n, unsigned ms,
	     bool (*cond)(void *arg), void *arg)
{
	uint64_t deadline = lms_now_ms() + ms;

	for (;;) {
		for (size_t i = 0; i < n; i++)
			if (nodes[i] != NULL && nodes[i]->base != NULL)
				event_base_loop(nodes[i]->base,
						EVLOOP_NONBLOCK);
		if (cond != NULL && cond(arg))
			return true;
		if (lms_now_ms() >= deadline)
			return cond == NULL;
		usleep(500);
	}
}

bool nh_cond_peer_state(void *arg)
{
	struct nh_ready_arg *a = arg;
	struct rnet_peer_stats ps;

	if (rnet_peer_stats(a->node->t, a->peer, &ps) != 0)
		return false;
	return ps.state == a->state && ps.connects >= a->min_connects;
}

bool nh_cond_recv(void *arg)
{
	struct nh_count_arg *a = arg;

	return a->node->n_recv >= a->want;
}

uint16_t nh_closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port;

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* ---------------------------------------------------------- raw client */

int nh_raw_connect(uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Loopback connects complete in the kernel's backlog, no loop needed. */
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK),
			 0);
	return fd;
}

void nh_raw_write(int fd, const void *buf, size_t len, struct nh_node **nodes,
		  size_t n)
{
	const uint8_t *p = buf;
	uint64_t deadline = lms_now_ms() + 3000;

	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return; /* closed under us: the test checks that */
		assert_true(lms_now_ms() < deadline);
		nh_pump(nodes, n, 1, NULL, NULL);
	}
}

void nh_raw_send_frame(int fd, const Lms__Raft__PeerFrame *f,
		       struct nh_node **nodes, size_t n)
{
	uint8_t *buf;
	size_t len;

	assert_int_equal(rnet_frame_encode(f, &buf, &len), 0);
	nh_raw_write(fd, buf, len, nodes, n);
	free(buf);
}

Lms__Raft__PeerFrame *nh_raw_read_frame(int fd, struct nh_node **nodes,
					size_t n, unsigned ms)
{
	struct lms_frame_reader r;
	Lms__Raft__PeerFrame *f = NULL;
	uint64_t deadline = lms_now_ms() + ms;

	/* Byte by byte so nothing after the frame is consumed. */
	lms_frame_reader_init(&r, 1 << 20);
	while (lms_now_ms() < deadline) {
		const uint8_t *payload;
		size_t len;
		uint8_t b;
		ssize_t got = recv(fd, &b, 1, 0);

		if (got == 0)
			break;
		if (got < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				break;
			nh_pump(nodes, n, 1, NULL, NULL);
			continue;
		}
		assert_int_equal(lms_frame_reader_feed(&r, &b, 1), 0);
		if (lms_frame_reader_next(&r, &payload, &len) == 1) {
			assert_int_equal(rnet_frame_decode(payload, len, &f,
							   NULL, 0), 0);
			break;
		}
	}
	lms_frame_reader_free(&r);
	return f;
}

bool nh_raw_wait_closed(int fd, struct nh_node **nodes, size_t n,
			unsigned ms)
{
	uint64_t deadline = lms_now_ms() + ms;

	while (lms_now_ms() < deadline) {
		uint8_t buf[4096];
		ssize_t got = recv(fd, buf, sizeof(buf), 0);

		if (got == 0)
			return true;
		if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return true; /* ECONNRESET: closed with unread data */
		if (got < 0)
			nh_pump(nodes, n, 1, NULL, NULL);
	}
	return false;
}

static void le64(uint8_t *out, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

void nh_mac(const char *secret, const char *label, const char *cluster,
	    raft_id from, raft_id to, const uint8_t nonce_c[32],
	    const uint8_t nonce_s[32], uint8_t out[32])
{
	/* One flat buffer, exactly as raft.proto spells the layout. */
	uint8_t msg[512];
	size_t n = 0, ll = strlen(label), cl = strlen(cluster);

	assert_true(ll + cl + 80 <= sizeof(msg));
	memcpy(msg + n, label, ll);
	n += ll;
	memcpy(msg + n, cluster, cl);
	n += cl;
	le64(msg + n, from);
	n += 8;
	le64(msg + n, to);
	n += 8;
	memcpy(msg + n, nonce_c, 32);
	n += 32;
	memcpy(msg + n, nonce_s, 32);
	n += 32;
	lms_hmac_sha256(secret, strlen(secret), msg, n, out);
}

int nh_raw_handshake(uint16_t port, raft_id from, raft_id to,
		     const char *secret, struct nh_node **nodes, size_t n)
{
	Lms__Raft__PeerFrame f = LMS__RAFT__PEER_FRAME__INIT;
	Lms__Raft__Hello hello = LMS__RAFT__HELLO__INIT;
	Lms__Raft__Proof proof = LMS__RAFT__PROOF__INIT;
	Lms__Raft__PeerFrame *ch;
	uint8_t nonce_c[32], want[32], mac[32];
	int fd = nh_raw_connect(port);

	for (int i = 0; i < 32; i++)
		nonce_c[i] = (uint8_t)(rand() & 0xff);
	hello.from = from;
	hello.to = to;
	hello.cluster = (char *)NH_CLUSTER;
	hello.nonce.data = nonce_c;
	hello.nonce.len = 32;
	f.body_case = LMS__RAFT__PEER_FRAME__BODY_HELLO;
	f.hello = &hello;
	nh_raw_send_frame(fd, &f, nodes, n);

	ch = nh_raw_read_frame(fd, nodes, n, 2000);
	if (ch == NULL) {
		close(fd);
		return -1;
	}
	assert_int_equal(ch->body_case, LMS__RAFT__PEER_FRAME__BODY_CHALLENGE);
	assert_int_equal(ch->challenge->nonce.len, 32);
	assert_int_equal(ch->challenge->mac.len, 32);
	/* The acceptor's mac, checked against our own reading of the spec. */
	nh_mac(secret, "lms-peer-acceptor", NH_CLUSTER, from, to, nonce_c,
	       ch->challenge->nonce.data, want);
	assert_memory_equal(want, ch->challenge->mac.data, 32);
	nh_mac(secret, "lms-peer-connector", NH_CLUSTER, from, to, nonce_c,
	       ch->challenge->nonce.data, mac);
	lms__raft__peer_frame__free_unpacked(ch, NULL);

	proof.mac.data = mac;
	proof.mac.len = 32;
	f.body_case = LMS__RAFT__PEER_FRAME__BODY_PROOF;
	f.proof = &proof;
	nh_raw_send_frame(fd, &f, nodes, n);
	return fd;
}

/* ------------------------------------------------------------ log capture */

void nh_capture_start(struct nh_capture *c)
{
	char path[] = "/tmp/raft_net_logXXXXXX";

	fflush(stderr);
	c->fd = mkstemp(path);
	assert_true(c->fd >= 0);
	unlink(path);
	c->saved_fd = dup(2);
	assert_true(c->saved_fd >= 0);
	assert_true(dup2(c->fd, 2) >= 0);
}

char *nh_capture_stop(struct nh_capture *c)
{
	off_t size;
	char *text;

	fflush(stderr);
	assert_true(dup2(c->saved_fd, 2) >= 0);
	close(c->saved_fd);
	size = lseek(c->fd, 0, SEEK_END);
	assert_true(size >= 0);
	text = malloc((size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(pread(c->fd, text, (size_t)size, 0), size);
	text[size] = '\0';
	close(c->fd);
	if (write(2, text, (size_t)size) < 0) {
		/* echo only */
	}
	return text;
}

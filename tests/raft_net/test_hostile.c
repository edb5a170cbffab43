/*
 * test_hostile.c -- raft/net against peers that lie, babble or stall.
 *
 * Why: the peer port is reachable by anything on the network, and the
 * design says no Raft message is accepted from anyone who does not know
 * the cluster secret, and that bad input closes one connection while the
 * daemon keeps serving. Here a raw TCP client in the test speaks the
 * protocol by hand (its macs computed independently from raft.proto's
 * text) and breaks it in every way the acceptor must catch: garbage, an
 * oversized length, a Raft message before the hello or the proof, a wrong
 * proof, a wrong cluster, a hello for another node, a spoofed sender after
 * authenticating, silence (handshake timeout), too many connections. After
 * each, a well-behaved transport is still served. Then the other way
 * round: a fake acceptor whose challenge mac is wrong gets no proof, and
 * one that answers correctly gets a proof that checks out and then the
 * Raft traffic, until it sends something it must not.
 *
 * The disconnect reasons are checked in the captured log and in
 * stats.last_reject.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_harness.h"
#include "util.h"

#define N_NODES 2 /* [0] = node 1, the good peer; [1] = node 2, attacked */

struct fixture {
	struct nh_node n[N_NODES];
	struct nh_node *all[N_NODES];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	for (int i = 0; i < N_NODES; i++) {
		nh_node_init(&f->n[i], (raft_id)i + 1);
		f->all[i] = &f->n[i];
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < N_NODES; i++)
		nh_node_free(&f->n[i]);
	free(f);
	return 0;
}

/* Node 2 with a short handshake timeout, node 1 with defaults. */
static void start_both(struct fixture *f, unsigned max_inbound)
{
	struct rnet_options o;

	nh_options(&o, 1, NH_SECRET);
	nh_node_start(&f->n[0], &o);
	nh_options(&o, 2, NH_SECRET);
	o.handshake_timeout_ms = 300;
	if (max_inbound > 0)
		o.max_inbound = max_inbound;
	nh_node_start(&f->n[1], &o);
}

/* The good node 1 can still talk to node 2. */
static void good_peer_served(struct fixture *f)
{
	struct nh_node *a = &f->n[0], *b = &f->n[1];
	struct nh_ready_arg r = { a, b->id, RNET_PEER_READY, 1 };
	struct nh_count_arg c = { b, b->n_recv + 1 };
	struct rnet_peer_stats ps;
	char addr[32];
	struct nh_msg s;

	if (rnet_peer_stats(a->t, b->id, &ps) != 0)
		assert_int_equal(rnet_set_peer(a->t, b->id,
					       nh_addr(b, addr, sizeof(addr))),
				 0);
	assert_true(nh_pump(f->all, N_NODES, 3000, nh_cond_peer_state, &r));
	nh_sample(&s, RAFT_MSG_APPEND, a->id, b->id);
	assert_int_equal(rnet_send(a->t, &s.m), 0);
	assert_true(nh_pump(f->all, N_NODES, 3000, nh_cond_recv, &c));
}

static void expect_rejected(struct fixture *f, int fd, const char *why)
{
	struct rnet_stats st;

	assert_true(nh_raw_wait_closed(fd, f->all, N_NODES, 2000));
	close(fd);
	rnet_stats(f->n[1].t, &st);
	if (strstr(st.last_reject, why) == NULL)
		fail_msg("last reject \"%s\" does not mention \"%s\"",
			 st.last_reject, why);
}

static void expect_in_log(const char *log, const char *what)
{
	if (strstr(log, what) == NULL)
		fail_msg("log does not contain \"%s\"", what);
}

static void send_hello(int fd, struct fixture *f, raft_id from, raft_id to,
		       const char *cluster, size_t nonce_len)
{
	Lms__Raft__PeerFrame pf = LMS__RAFT__PEER_FRAME__INIT;
	Lms__Raft__Hello hello = LMS__RAFT__HELLO__INIT;
	uint8_t nonce[64] = { 0 };

	hello.from = from;
	hello.to = to;
	hello.cluster = (char *)cluster;
	hello.nonce.data = nonce;
	hello.nonce.len = nonce_len;
	pf.body_case = LMS__RAFT__PEER_FRAME__BODY_HELLO;
	pf.hello = &hello;
	nh_raw_send_frame(fd, &pf, f->all, N_NODES);
}

/* A whole encoded RaftMessage frame written raw. */
static void send_raft(int fd, struct fixture *f, int type, raft_id from,
		      raft_id to)
{
	struct nh_msg s;
	uint8_t *buf;
	size_t len;

	nh_sample(&s, type, from, to);
	assert_int_equal(rnet_encode(&s.m, &buf, &len), 0);
	nh_raw_write(fd, buf, len, f->all, N_NODES);
	free(buf);
}

/* --------------------------------------------------------- acceptor side */

static void test_wrong_secret(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = &f->n[0], *b = &f->n[1];
	struct rnet_options o;
	struct rnet_peer_stats ps;
	struct rnet_stats st;
	struct nh_capture cap;
	char addr[32], *log;
	struct nh_msg s;

	nh_options(&o, 1, "not the cluster secret");
	nh_node_start(a, &o);
	nh_options(&o, 2, NH_SECRET);
	nh_node_start(b, &o);

	nh_capture_start(&cap);
	assert_int_equal(rnet_set_peer(a->t, 2, nh_addr(b, addr,
							sizeof(addr))), 0);
	assert_int_equal(rnet_set_peer(b->t, 1, nh_addr(a, addr,
							sizeof(addr))), 0);
	nh_sample(&s, RAFT_MSG_VOTE, 1, 2);
	(void)rnet_send(a->t, &s.m); /* pending, then dropped */
	nh_sample(&s, RAFT_MSG_VOTE, 2, 1);
	(void)rnet_send(b->t, &s.m);
	nh_pump(f->all, N_NODES, 400, NULL, NULL);
	log = nh_capture_stop(&cap);

	assert_int_equal(a->n_recv, 0);
	assert_int_equal(b->n_recv, 0);
	assert_int_equal(rnet_peer_stats(a->t, 2, &ps), 0);
	assert_int_equal(ps.connects, 0);
	assert_true(ps.connect_failures >= 1);
	assert_true(ps.msgs_dropped >= 1);
	rnet_stats(b->t, &st);
	assert_int_equal(st.inbound_authenticated, 0);
	assert_true(st.inbound_rejected >= 1);
	expect_in_log(log, "closing peer connection to node 2 at 127.0.0.1:");
	expect_in_log(log, "bad mac from the acceptor");
	expect_in_log(log, "closing peer connection from 127.0.0.1:");
	free(log);
}

static void test_raw_bad_proof(void **state)
{
	struct fixture *f = *state;
	Lms__Raft__PeerFrame pf = LMS__RAFT__PEER_FRAME__INIT;
	Lms__Raft__Proof proof = LMS__RAFT__PROOF__INIT;
	Lms__Raft__PeerFrame *ch;
	struct nh_capture cap;
	uint8_t nonce_c[32] = { 0 }, want[32], mac[32];
	char *log;
	int fd;

	start_both(f, 0);
	nh_capture_start(&cap);
	fd = nh_raw_connect(f->n[1].port);
	send_hello(fd, f, 7, 2, NH_CLUSTER, 32);
	ch = nh_raw_read_frame(fd, f->all, N_NODES, 2000);
	assert_non_null(ch);
	assert_int_equal(ch->body_case, LMS__RAFT__PEER_FRAME__BODY_CHALLENGE);
	/* The acceptor proves itself first, exactly as raft.proto says. */
	nh_mac(NH_SECRET, "lms-peer-acceptor", NH_CLUSTER, 7, 2, nonce_c,
	       ch->challenge->nonce.data, want);
	assert_memory_equal(want, ch->challenge->mac.data, 32);
	/* We answer with a mac made from a wrong secret. */
	nh_mac("guess", "lms-peer-connector", NH_CLUSTER, 7, 2, nonce_c,
	       ch->challenge->nonce.data, mac);
	lms__raft__peer_frame__free_unpacked(ch, NULL);
	proof.mac.data = mac;
	proof.mac.len = 32;
	pf.body_case = LMS__RAFT__PEER_FRAME__BODY_PROOF;
	pf.proof = &proof;
	nh_raw_send_frame(fd, &pf, f->all, N_NODES);
	send_raft(fd, f, RAFT_MSG_VOTE, 7, 2); /* must not be delivered */
	expect_rejected(f, fd, "bad mac");
	log = nh_capture_stop(&cap);
	expect_in_log(log, "closing peer connection from 127.0.0.1:");
	expect_in_log(log, ": bad mac");
	free(log);
	assert_int_equal(f->n[1].n_recv, 0);

	/* A proof of the wrong length is just as bad. */
	fd = nh_raw_connect(f->n[1].port);
	send_hello(fd, f, 7, 2, NH_CLUSTER, 32);
	ch = nh_raw_read_frame(fd, f->all, N_NODES, 2000);
	assert_non_null(ch);
	lms__raft__peer_frame__free_unpacked(ch, NULL);
	proof.mac.len = 31;
	nh_raw_send_frame(fd, &pf, f->all, N_NODES);
	expect_rejected(f, fd, "bad mac");

	good_peer_served(f);
}

static void test_raw_garbage(void **state)
{
	struct fixture *f = *state;
	uint8_t junk[4 + 50];
	int fd;

	start_both(f, 0);
	junk[0] = 0;
	junk[1] = 0;
	junk[2] = 0;
	junk[3] = 50;
	memset(junk + 4, 0xff, 50);
	fd = nh_raw_connect(f->n[1].port);
	nh_raw_write(fd, junk, sizeof(junk), f->all, N_NODES);
	expect_rejected(f, fd, "do not decode");

	/* An empty frame is a PeerFrame without a body. */
	memset(junk, 0, 4);
	fd = nh_raw_connect(f->n[1].port);
	nh_raw_write(fd, junk, 4, f->all, N_NODES);
	expect_rejected(f, fd, "without a body");

	/* Plain text. */
	fd = nh_raw_connect(f->n[1].port);
	nh_raw_write(fd, "GET / HTTP/1.0\r\n\r\n", 18, f->all, N_NODES);
	expect_rejected(f, fd, "exceeds the limit");

	good_peer_served(f);
}

static void test_raw_oversized_length(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[4] = { 0xff, 0xff, 0xff, 0xff };
	struct rnet_stats st;
	int fd;

	start_both(f, 0);
	fd = nh_raw_connect(f->n[1].port);
	nh_raw_write(fd, hdr, 4, f->all, N_NODES);
	expect_rejected(f, fd,
			"frame of 4294967295 bytes exceeds the limit of 1024");

	/* Before the proof the limit is the handshake's, not max_frame. */
	hdr[0] = 0;
	hdr[1] = 0;
	hdr[2] = 0x04;
	hdr[3] = 0x01;
	fd = nh_raw_connect(f->n[1].port);
	nh_raw_write(fd, hdr, 4, f->all, N_NODES);
	expect_rejected(f, fd, "frame of 1025 bytes exceeds the limit of 1024");

	/* After it, max_frame_bytes (32 MiB by default) applies. */
	fd = nh_raw_handshake(f->n[1].port, 7, 2, NH_SECRET, f->all, N_NODES);
	assert_true(fd >= 0);
	hdr[0] = 0x02;
	hdr[1] = 0x00;
	hdr[2] = 0x00;
	hdr[3] = 0x01;
	nh_raw_write(fd, hdr, 4, f->all, N_NODES);
	assert_true(nh_raw_wait_closed(fd, f->all, N_NODES, 2000));
	close(fd);
	rnet_stats(f->n[1].t, &st);
	assert_int_equal(st.inbound_authenticated, 1);
	assert_int_equal(st.inbound_open, 0);

	good_peer_served(f);
}

static void test_raw_raft_before_proof(void **state)
{
	struct fixture *f = *state;
	Lms__Raft__PeerFrame *ch;
	int fd;

	start_both(f, 0);
	/* As the very first frame. */
	fd = nh_raw_connect(f->n[1].port);
	send_raft(fd, f, RAFT_MSG_VOTE, 7, 2);
	expect_rejected(f, fd, "expected a hello, got a raft message");

	/* After the hello, instead of the proof. */
	fd = nh_raw_connect(f->n[1].port);
	send_hello(fd, f, 7, 2, NH_CLUSTER, 32);
	ch = nh_raw_read_frame(fd, f->all, N_NODES, 2000);
	assert_non_null(ch);
	lms__raft__peer_frame__free_unpacked(ch, NULL);
	send_raft(fd, f, RAFT_MSG_VOTE, 7, 2);
	expect_rejected(f, fd, "expected a proof, got a raft message");

	/* A second hello is no better. */
	fd = nh_raw_connect(f->n[1].port);
	send_hello(fd, f, 7, 2, NH_CLUSTER, 32);
	send_hello(fd, f, 7, 2, NH_CLUSTER, 32);
	expect_rejected(f, fd, "expected a proof, got a hello");

	assert_int_equal(f->n[1].n_recv, 0);
	good_peer_served(f);
}

static void test_raw_hello_checks(void **state)
{
	struct fixture *f = *state;
	int fd;

	start_both(f, 0);
	fd = nh_raw_connect(f->n[1].port);
	send_hello(fd, f, 7, 2, "other-cluster", 32);
	expect_rejected(f, fd, "wrong cluster \"other-cluster\"");

	fd = nh_raw_connect(f->n[1].port);
	send_hello(fd, f, 7, 5, NH_CLUSTER, 32);
	expect_rejected(f, fd, "hello for node 5, this is node 2");

	fd = nh_raw_connect(f->n[1].port);
	send_hello(fd, f, 0, 2, NH_CLUSTER, 32);
	expect_rejected(f, fd, "hello from invalid node id 0");

	fd = nh_raw_connect(f->n[1].port);
	send_hello(fd, f, 2, 2, NH_CLUSTER, 32);
	expect_rejected(f, fd, "hello from invalid node id 2");

	fd = nh_raw_connect(f->n[1].port);
	send_hello(fd, f, 7, 2, NH_CLUSTER, 16);
	expect_rejected(f, fd, "nonce of 16 bytes");

	good_peer_served(f);
}

static void test_raw_authenticated_peer_rules(void **state)
{
	struct fixture *f = *state;
	struct nh_node *b = &f->n[1];
	struct nh_count_arg c = { b, 1 };
	struct rnet_stats st;
	struct nh_capture cap;
	char *log;
	int fd, fd2;

	start_both(f, 0);
	b->check_samples = true;
	/* Our hand-made connector is accepted, and its message delivered. */
	fd = nh_raw_handshake(b->port, 7, 2, NH_SECRET, f->all, N_NODES);
	assert_true(fd >= 0);
	send_raft(fd, f, RAFT_MSG_APPEND, 7, 2);
	assert_true(nh_pump(f->all, N_NODES, 2000, nh_cond_recv, &c));
	assert_int_equal(b->recv_from[7], 1);
	assert_int_equal(b->n_bad, 0);

	/* A newer authenticated connection from 7 replaces the older one. */
	fd2 = nh_raw_handshake(b->port, 7, 2, NH_SECRET, f->all, N_NODES);
	assert_true(fd2 >= 0);
	assert_true(nh_raw_wait_closed(fd, f->all, N_NODES, 2000));
	close(fd);

	/* Claiming to be someone else closes the connection. */
	nh_capture_start(&cap);
	send_raft(fd2, f, RAFT_MSG_VOTE, 8, 2);
	assert_true(nh_raw_wait_closed(fd2, f->all, N_NODES, 2000));
	close(fd2);
	log = nh_capture_stop(&cap);
	expect_in_log(log, "closing peer connection from node 7 at 127.0.0.1:");
	expect_in_log(log, "message from node 8 to node 2 on this connection");
	free(log);

	/* So does a message for another node, or an invalid one. */
	fd = nh_raw_handshake(b->port, 7, 2, NH_SECRET, f->all, N_NODES);
	assert_true(fd >= 0);
	send_raft(fd, f, RAFT_MSG_VOTE, 7, 3);
	assert_true(nh_raw_wait_closed(fd, f->all, N_NODES, 2000));
	close(fd);
	fd = nh_raw_handshake(b->port, 7, 2, NH_SECRET, f->all, N_NODES);
	assert_true(fd >= 0);
	{
		Lms__Raft__PeerFrame pf = LMS__RAFT__PEER_FRAME__INIT;
		Lms__Raft__RaftMessage pb = LMS__RAFT__RAFT_MESSAGE__INIT;

		pb.type = 42;
		pb.from = 7;
		pb.to = 2;
		pf.body_case = LMS__RAFT__PEER_FRAME__BODY_RAFT;
		pf.raft = &pb;
		nh_raw_send_frame(fd, &pf, f->all, N_NODES);
	}
	assert_true(nh_raw_wait_closed(fd, f->all, N_NODES, 2000));
	close(fd);

	assert_int_equal(b->n_recv, 1);
	rnet_stats(b->t, &st);
	assert_int_equal(st.inbound_authenticated, 4);
	assert_int_equal(st.msgs_received, 1);
	good_peer_served(f);
}

static void test_handshake_timeout(void **state)
{
	struct fixture *f = *state;
	uint64_t t0;
	int fd;

	start_both(f, 0);
	/* Silent after connecting. */
	t0 = lms_now_ms();
	fd = nh_raw_connect(f->n[1].port);
	expect_rejected(f, fd, "handshake timed out after 300 ms");
	assert_true(lms_now_ms() - t0 >= 250);

	/* A hello, then nothing. */
	fd = nh_raw_connect(f->n[1].port);
	send_hello(fd, f, 7, 2, NH_CLUSTER, 32);
	expect_rejected(f, fd, "handshake timed out");

	/* Half a frame, then nothing. */
	fd = nh_raw_connect(f->n[1].port);
	nh_raw_write(fd, "\0\0\0\x10zz", 6, f->all, N_NODES);
	expect_rejected(f, fd, "handshake timed out");

	good_peer_served(f);
}

static void test_max_inbound(void **state)
{
	struct fixture *f = *state;
	struct rnet_stats st;
	int fd1, fd2, fd3;

	start_both(f, 2);
	fd1 = nh_raw_connect(f->n[1].port);
	fd2 = nh_raw_connect(f->n[1].port);
	nh_pump(f->all, N_NODES, 50, NULL, NULL);
	rnet_stats(f->n[1].t, &st);
	assert_int_equal(st.inbound_open, 2);
	fd3 = nh_raw_connect(f->n[1].port);
	expect_rejected(f, fd3, "too many connections");
	/* The two silent ones go at their handshake timeout... */
	assert_true(nh_raw_wait_closed(fd1, f->all, N_NODES, 2000));
	assert_true(nh_raw_wait_closed(fd2, f->all, N_NODES, 2000));
	close(fd1);
	close(fd2);
	/* ...and the good peer gets a slot. */
	good_peer_served(f);
}

/* -------------------------------------------------------- connector side */

static int raw_listen(uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK),
			 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static int raw_accept(int lfd, struct fixture *f)
{
	uint64_t deadline = lms_now_ms() + 2000;

	while (lms_now_ms() < deadline) {
		int fd = accept(lfd, NULL, NULL);

		if (fd >= 0) {
			assert_int_equal(fcntl(fd, F_SETFL,
					       fcntl(fd, F_GETFL) | O_NONBLOCK),
					 0);
			return fd;
		}
		nh_pump(f->all, N_NODES, 1, NULL, NULL);
	}
	fail_msg("no connection to the fake acceptor");
	return -1;
}

/* Read the hello, answer with a challenge whose mac uses `secret`;
 * returns the hello's nonce and ours through the arrays. */
static void fake_challenge(int fd, struct fixture *f, const char *secret,
			   uint8_t nonce_c[32], uint8_t nonce_s[32])
{
	Lms__Raft__PeerFrame pf = LMS__RAFT__PEER_FRAME__INIT;
	Lms__Raft__Challenge ch = LMS__RAFT__CHALLENGE__INIT;
	Lms__Raft__PeerFrame *h;
	uint8_t mac[32];

	h = nh_raw_read_frame(fd, f->all, N_NODES, 2000);
	assert_non_null(h);
	assert_int_equal(h->body_case, LMS__RAFT__PEER_FRAME__BODY_HELLO);
	assert_true(h->hello->from == 1);
	assert_true(h->hello->to == 9);
	assert_string_equal(h->hello->cluster, NH_CLUSTER);
	assert_int_equal(h->hello->nonce.len, 32);
	memcpy(nonce_c, h->hello->nonce.data, 32);
	lms__raft__peer_frame__free_unpacked(h, NULL);
	for (int i = 0; i < 32; i++)
		nonce_s[i] = (uint8_t)(i * 13 + 1);
	nh_mac(secret, "lms-peer-acceptor", NH_CLUSTER, 1, 9, nonce_c, nonce_s,
	       mac);
	ch.nonce.data = nonce_s;
	ch.nonce.len = 32;
	ch.mac.data = mac;
	ch.mac.len = 32;
	pf.body_case = LMS__RAFT__PEER_FRAME__BODY_CHALLENGE;
	pf.challenge = &ch;
	nh_raw_send_frame(fd, &pf, f->all, N_NODES);
}

static void test_fake_acceptor(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = &f->n[0];
	struct rnet_options o;
	struct rnet_peer_stats ps;
	struct nh_capture cap;
	uint8_t nonce_c[32], nonce_s[32], want[32];
	Lms__Raft__PeerFrame *got;
	struct nh_msg s;
	uint16_t port;
	char addr[32], *log;
	int lfd, fd;

	nh_options(&o, 1, NH_SECRET);
	nh_node_start(a, &o);
	lfd = raw_listen(&port);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);

	/* 1. An impostor's challenge: the connector hangs up, no proof. */
	nh_capture_start(&cap);
	assert_int_equal(rnet_set_peer(a->t, 9, addr), 0);
	nh_sample(&s, RAFT_MSG_VOTE, 1, 9);
	assert_int_equal(rnet_send(a->t, &s.m), 0); /* pending */
	fd = raw_accept(lfd, f);
	fake_challenge(fd, f, "impostor", nonce_c, nonce_s);
	assert_null(nh_raw_read_frame(fd, f->all, N_NODES, 2000));
	assert_true(nh_raw_wait_closed(fd, f->all, N_NODES, 100));
	close(fd);
	log = nh_capture_stop(&cap);
	expect_in_log(log, "closing peer connection to node 9 at 127.0.0.1:");
	expect_in_log(log, "bad mac from the acceptor");
	free(log);
	assert_int_equal(rnet_peer_stats(a->t, 9, &ps), 0);
	assert_int_equal(ps.msgs_dropped, 1);
	assert_true(a->unreachable[9] >= 1);

	/* 2. A real acceptor: a valid proof, then the Raft traffic. */
	fd = raw_accept(lfd, f); /* the connector retried on its own */
	fake_challenge(fd, f, NH_SECRET, nonce_c, nonce_s);
	got = nh_raw_read_frame(fd, f->all, N_NODES, 2000);
	assert_non_null(got);
	assert_int_equal(got->body_case, LMS__RAFT__PEER_FRAME__BODY_PROOF);
	nh_mac(NH_SECRET, "lms-peer-connector", NH_CLUSTER, 1, 9, nonce_c,
	       nonce_s, want);
	assert_int_equal(got->proof->mac.len, 32);
	assert_memory_equal(want, got->proof->mac.data, 32);
	lms__raft__peer_frame__free_unpacked(got, NULL);
	{
		struct nh_ready_arg r = { a, 9, RNET_PEER_READY, 1 };

		assert_true(nh_pump(f->all, N_NODES, 2000, nh_cond_peer_state,
				    &r));
	}
	nh_sample(&s, RAFT_MSG_SNAPSHOT, 1, 9);
	assert_int_equal(rnet_send(a->t, &s.m), 0);
	got = nh_raw_read_frame(fd, f->all, N_NODES, 2000);
	assert_non_null(got);
	assert_int_equal(got->body_case, LMS__RAFT__PEER_FRAME__BODY_RAFT);
	{
		struct raft_message m;
		struct raft_entry *entries;

		assert_int_equal(rnet_raft_from_pb(got->raft, 16, &m, &entries,
						   NULL, 0), 0);
		nh_assert_msg_equal(&s.m, &m);
		free(entries);
	}
	lms__raft__peer_frame__free_unpacked(got, NULL);

	/* 3. The acceptor may not talk after the handshake. */
	nh_capture_start(&cap);
	{
		uint8_t frame[4] = { 0, 0, 0, 0 }; /* an empty frame */

		nh_raw_write(fd, frame, sizeof(frame), f->all, N_NODES);
	}
	assert_true(nh_raw_wait_closed(fd, f->all, N_NODES, 2000));
	close(fd);
	log = nh_capture_stop(&cap);
	expect_in_log(log, "closing peer connection to node 9");
	expect_in_log(log, "frame without a body");
	free(log);
	close(lfd);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_wrong_secret),
		T(test_raw_bad_proof),
		T(test_raw_garbage),
		T(test_raw_oversized_length),
		T(test_raw_raft_before_proof),
		T(test_raw_hello_checks),
		T(test_raw_authenticated_peer_rules),
		T(test_handshake_timeout),
		T(test_max_inbound),
		T(test_fake_acceptor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

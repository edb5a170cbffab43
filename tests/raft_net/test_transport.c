/*
 * test_transport.c -- raft/net transports talking to each other.
 *
 * Why: the transport is what keeps five nodes talking while any of them
 * restarts, stalls or disappears. Each test runs two to four transports in
 * this process, each on its own event_base and a kernel-chosen port of
 * 127.0.0.1, and drives all loops with nh_pump under a deadline:
 *
 *   - two and three nodes exchange every message type both ways, intact;
 *   - a message sent before the handshake finished is delivered after it;
 *   - a peer that restarts on the same port is reconnected to by itself;
 *   - a peer whose port is closed costs nothing: sends to it fail at once,
 *     the others still get their messages;
 *   - a peer that stops reading (its loop frozen) fills only its own
 *     queue, up to the limit; the excess is dropped and counted, and what
 *     was accepted arrives once it reads again;
 *   - peers can be moved, removed, and bad addresses and messages are
 *     refused with the documented codes; a host name resolves.
 *
 * Fixture: four nodes (ids 1..4) with bases but no transport; tests start
 * the transports they need; teardown frees them all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_harness.h"
#include "util.h"

#define N_NODES 4

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

/* Start node i with default test options. */
static struct nh_node *start(struct fixture *f, int i)
{
	struct rnet_options o;

	nh_options(&o, f->n[i].id, NH_SECRET);
	nh_node_start(&f->n[i], &o);
	return &f->n[i];
}

static void set_peer(struct nh_node *a, const struct nh_node *b)
{
	char addr[32];

	assert_int_equal(rnet_set_peer(a->t, b->id, nh_addr(b, addr,
							    sizeof(addr))), 0);
}

static void wait_state(struct fixture *f, struct nh_node *a, raft_id peer,
		       int state, uint64_t min_connects)
{
	struct nh_ready_arg r = { a, peer, state, min_connects };

	if (!nh_pump(f->all, N_NODES, 3000, nh_cond_peer_state, &r)) {
		struct rnet_peer_stats ps;

		assert_int_equal(rnet_peer_stats(a->t, peer, &ps), 0);
		fail_msg("node %llu: peer %llu is %s, wanted %s",
			 (unsigned long long)a->id, (unsigned long long)peer,
			 rnet_peer_state_name(ps.state),
			 rnet_peer_state_name(state));
	}
}

static void wait_recv(struct fixture *f, struct nh_node *a, unsigned want)
{
	struct nh_count_arg c = { a, want };

	if (!nh_pump(f->all, N_NODES, 3000, nh_cond_recv, &c))
		fail_msg("node %llu received %u messages, wanted %u",
			 (unsigned long long)a->id, a->n_recv, want);
}

static void send_all_types(struct nh_node *a, raft_id to)
{
	for (int type = RAFT_MSG_PREVOTE; type <= RAFT_MSG_TIMEOUT_NOW;
	     type++) {
		struct nh_msg s;

		nh_sample(&s, type, a->id, to);
		assert_int_equal(rnet_send(a->t, &s.m), 0);
	}
}

/* -------------------------------------------------------------- tests */

static void test_two_nodes_both_directions(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = start(f, 0), *b = start(f, 1);
	struct rnet_stats st;

	a->check_samples = b->check_samples = true;
	set_peer(a, b);
	set_peer(b, a);
	wait_state(f, a, b->id, RNET_PEER_READY, 1);
	wait_state(f, b, a->id, RNET_PEER_READY, 1);

	send_all_types(a, b->id);
	send_all_types(b, a->id);
	wait_recv(f, a, 9);
	wait_recv(f, b, 9);
	nh_pump(f->all, N_NODES, 20, NULL, NULL); /* nothing more arrives */
	assert_int_equal(a->n_recv, 9);
	assert_int_equal(b->n_recv, 9);
	assert_int_equal(a->n_bad, 0);
	assert_int_equal(b->n_bad, 0);

	rnet_stats(a->t, &st);
	assert_int_equal(st.msgs_sent, 9);
	assert_int_equal(st.msgs_received, 9);
	assert_int_equal(st.msgs_dropped, 0);
	assert_true(st.bytes_sent > 9 * 4);
	assert_true(st.bytes_received > 9 * 4);
	assert_int_equal(st.inbound_accepted, 1);
	assert_int_equal(st.inbound_authenticated, 1);
	assert_int_equal(st.inbound_rejected, 0);
	assert_int_equal(st.inbound_open, 1);
	assert_int_equal(st.n_peers, 1);
	assert_true(st.peers[0].id == b->id);
	assert_int_equal(st.peers[0].state, RNET_PEER_READY);
	assert_true(st.peers[0].inbound);
	assert_int_equal(st.peers[0].msgs_sent, 9);
	assert_int_equal(st.peers[0].msgs_received, 9);
	assert_int_equal(st.peers[0].connects, 1);
	assert_int_equal(st.peers[0].queued_bytes, 0);
	assert_true(st.peers[0].bytes_sent > 0);
	assert_true(st.peers[0].bytes_received > 0);
	assert_string_equal(rnet_peer_state_name(st.peers[0].state), "ready");
}

static void test_three_nodes_mesh(void **state)
{
	struct fixture *f = *state;
	struct nh_node *n[3];

	for (int i = 0; i < 3; i++) {
		n[i] = start(f, i);
		n[i]->check_samples = true;
	}
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			if (i != j)
				set_peer(n[i], n[j]);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			if (i != j)
				wait_state(f, n[i], n[j]->id, RNET_PEER_READY,
					   1);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			if (i != j)
				send_all_types(n[i], n[j]->id);
	for (int i = 0; i < 3; i++) {
		wait_recv(f, n[i], 18);
		assert_int_equal(n[i]->n_bad, 0);
		for (int j = 0; j < 3; j++)
			assert_int_equal(n[i]->recv_from[n[j]->id],
					 i == j ? 0 : 9);
	}
}

static void test_send_before_ready_is_delivered(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = start(f, 0), *b = start(f, 1);
	struct rnet_peer_stats ps;

	b->check_samples = true;
	set_peer(a, b);
	assert_int_equal(rnet_peer_stats(a->t, b->id, &ps), 0);
	assert_int_equal(ps.state, RNET_PEER_CONNECTING);
	send_all_types(a, b->id); /* waits in the pending queue */
	assert_int_equal(rnet_peer_stats(a->t, b->id, &ps), 0);
	assert_true(ps.queued_bytes > 0);
	assert_int_equal(ps.msgs_sent, 0);
	wait_recv(f, b, 9);
	assert_int_equal(b->n_bad, 0);
	assert_int_equal(rnet_peer_stats(a->t, b->id, &ps), 0);
	assert_int_equal(ps.msgs_sent, 9);
	assert_int_equal(ps.msgs_dropped, 0);
}

static void test_peer_restart_reconnects(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = start(f, 0), *b = start(f, 1);
	struct rnet_options o;
	struct nh_msg s;
	uint16_t port = b->port;
	struct rnet_stats st;

	set_peer(a, b);
	set_peer(b, a);
	wait_state(f, a, b->id, RNET_PEER_READY, 1);
	wait_state(f, b, a->id, RNET_PEER_READY, 1);
	nh_sample(&s, RAFT_MSG_APPEND, a->id, b->id);
	assert_int_equal(rnet_send(a->t, &s.m), 0);
	wait_recv(f, b, 1);

	/* B goes away: A notices, says so, and backs off. */
	nh_node_stop(b);
	wait_state(f, a, b->id, RNET_PEER_BACKOFF, 1);
	assert_true(a->unreachable[b->id] >= 1);
	assert_int_equal(rnet_send(a->t, &s.m), -ENOTCONN);

	/* B comes back on the same port: A reconnects by itself. */
	nh_options(&o, b->id, NH_SECRET);
	o.listen_port = port;
	b->n_recv = 0;
	nh_node_start(b, &o);
	assert_int_equal(b->port, port);
	set_peer(b, a);
	wait_state(f, a, b->id, RNET_PEER_READY, 2);
	assert_int_equal(rnet_send(a->t, &s.m), 0);
	wait_recv(f, b, 1);

	/* And the new B's messages reach A on a new inbound connection. */
	wait_state(f, b, a->id, RNET_PEER_READY, 1);
	nh_sample(&s, RAFT_MSG_APPEND_RESP, b->id, a->id);
	assert_int_equal(rnet_send(b->t, &s.m), 0);
	wait_recv(f, a, 1);
	rnet_stats(a->t, &st);
	assert_int_equal(st.inbound_authenticated, 2);
	assert_int_equal(st.inbound_open, 1);
	assert_int_equal(st.peers[0].connects, 2);
}

static void test_closed_port_does_not_block_others(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = start(f, 0), *b = start(f, 1);
	struct rnet_peer_stats ps;
	char addr[32];
	struct nh_msg s;
	uint64_t t0, elapsed;

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", nh_closed_port());
	assert_int_equal(rnet_set_peer(a->t, 3, addr), 0);
	set_peer(a, b);
	/* A message queued while connecting is dropped with the attempt. */
	nh_sample(&s, RAFT_MSG_VOTE, a->id, 3);
	assert_int_equal(rnet_send(a->t, &s.m), 0);
	wait_state(f, a, b->id, RNET_PEER_READY, 1);
	/* Last, so no retry starts between this and the sends below. */
	wait_state(f, a, 3, RNET_PEER_BACKOFF, 0);
	assert_true(a->unreachable[3] >= 1);

	t0 = lms_now_ms();
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rnet_send(a->t, &s.m), -ENOTCONN);
	elapsed = lms_now_ms() - t0;
	assert_true(elapsed < 100);

	nh_sample(&s, RAFT_MSG_VOTE, a->id, b->id);
	assert_int_equal(rnet_send(a->t, &s.m), 0);
	wait_recv(f, b, 1);

	assert_int_equal(rnet_peer_stats(a->t, 3, &ps), 0);
	assert_true(ps.connect_failures >= 1);
	assert_int_equal(ps.connects, 0);
	assert_int_equal(ps.msgs_dropped, 1001);
	assert_int_equal(ps.msgs_sent, 0);
	assert_false(ps.inbound);

	/* Unknown peers are refused and counted too. */
	nh_sample(&s, RAFT_MSG_VOTE, a->id, 9);
	assert_int_equal(rnet_send(a->t, &s.m), -ENOENT);
}

/* One APPEND carrying a single entry of len bytes at index i. */
static void big_append(struct raft_message *m, struct raft_entry *e,
		       const uint8_t *data, size_t len, raft_id from,
		       raft_id to, raft_index i)
{
	memset(m, 0, sizeof(*m));
	memset(e, 0, sizeof(*e));
	m->type = RAFT_MSG_APPEND;
	m->from = from;
	m->to = to;
	m->term = 3;
	m->append.prev_index = i - 1;
	e->term = 3;
	e->index = i;
	e->type = RAFT_ENTRY_NORMAL;
	e->data = data;
	e->len = len;
	m->append.entries = e;
	m->append.n_entries = 1;
}

static void test_queue_limit_drops_when_peer_stalls(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = &f->n[0], *b = start(f, 1);
	struct nh_node *only_a[1] = { a };
	struct rnet_options o;
	static uint8_t data[16384];
	const size_t limit = 64 * 1024;
	unsigned accepted = 0, dropped = 0;
	struct rnet_peer_stats ps;
	size_t max_queued = 0;

	nh_options(&o, a->id, NH_SECRET);
	o.queue_limit_bytes = limit;
	nh_node_start(a, &o);
	set_peer(a, b);
	wait_state(f, a, b->id, RNET_PEER_READY, 1);

	/* B stops reading: only A's loop runs from here on. */
	for (unsigned i = 1; i <= 4000; i++) {
		struct raft_message m;
		struct raft_entry e;
		int rv;

		big_append(&m, &e, data, sizeof(data), a->id, b->id, i);
		rv = rnet_send(a->t, &m);
		if (rv == 0)
			accepted++;
		else if (rv == -ENOBUFS)
			dropped++;
		else
			fail_msg("rnet_send returned %d", rv);
		assert_int_equal(rnet_peer_stats(a->t, b->id, &ps), 0);
		if (ps.queued_bytes > max_queued)
			max_queued = ps.queued_bytes;
		if (i % 16 == 0)
			nh_pump(only_a, 1, 0, NULL, NULL);
	}
	print_message("stalled peer: %u of 4000 accepted, %u dropped, "
		      "queue peaked at %zu bytes\n", accepted, dropped,
		      max_queued);
	assert_true(dropped > 0);
	assert_true(accepted > 0);
	/* The queue never grew past the limit plus one message. */
	assert_true(max_queued <= limit + sizeof(data) + 64);
	assert_int_equal(rnet_peer_stats(a->t, b->id, &ps), 0);
	assert_int_equal(ps.msgs_dropped, dropped);
	assert_int_equal(ps.state, RNET_PEER_READY);

	/* B reads again: everything accepted arrives, then the queue is
	 * empty. */
	wait_recv(f, b, accepted);
	nh_pump(f->all, N_NODES, 20, NULL, NULL);
	assert_int_equal(b->n_recv, accepted);
	assert_int_equal(rnet_peer_stats(a->t, b->id, &ps), 0);
	assert_int_equal(ps.queued_bytes, 0);
	assert_int_equal(ps.msgs_sent, accepted);
}

static void test_frozen_peer_pending_limit(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = &f->n[0], *b = start(f, 1), *d = start(f, 3);
	struct nh_node *live[2] = { a, b };
	struct rnet_options o;
	struct rnet_peer_stats ps;
	static uint8_t data[4096];
	unsigned accepted = 0, dropped = 0;
	struct nh_msg s;

	nh_options(&o, a->id, NH_SECRET);
	o.queue_limit_bytes = 32 * 1024;
	nh_node_start(a, &o);
	set_peer(a, b);
	set_peer(a, d);
	/* D's loop never runs: its kernel accepts, it never answers. */
	{
		struct nh_ready_arg r = { a, d->id, RNET_PEER_HANDSHAKE, 0 };

		assert_true(nh_pump(live, 2, 2000, nh_cond_peer_state, &r));
	}
	for (unsigned i = 1; i <= 100; i++) {
		struct raft_message m;
		struct raft_entry e;
		int rv;

		big_append(&m, &e, data, sizeof(data), a->id, d->id, i);
		rv = rnet_send(a->t, &m);
		if (rv == 0)
			accepted++;
		else if (rv == -ENOBUFS)
			dropped++;
		else
			fail_msg("rnet_send returned %d", rv);
	}
	assert_true(accepted >= 7 && accepted <= 9);
	assert_int_equal(dropped, 100 - accepted);
	assert_int_equal(rnet_peer_stats(a->t, d->id, &ps), 0);
	assert_true(ps.queued_bytes <= 32 * 1024 + sizeof(data) + 64);

	/* Meanwhile B is served as usual. */
	nh_sample(&s, RAFT_MSG_TIMEOUT_NOW, a->id, b->id);
	assert_int_equal(rnet_send(a->t, &s.m), 0);
	{
		struct nh_count_arg c = { b, 1 };

		assert_true(nh_pump(live, 2, 2000, nh_cond_recv, &c));
	}

	/* D wakes up: the handshake completes and the pending queue
	 * arrives. */
	wait_recv(f, d, accepted);
	assert_int_equal(rnet_peer_stats(a->t, d->id, &ps), 0);
	assert_int_equal(ps.state, RNET_PEER_READY);
	assert_int_equal(ps.msgs_sent, accepted);
	assert_int_equal(ps.msgs_dropped, dropped);
}

static void test_set_peer_move_remove_invalid(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = start(f, 0), *b = start(f, 1);
	static const char *const bad[] = {
		"", "nohost", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
		":7000", "bad host:1", "::1:7000", "[::1]7000",
		"127.0.0.1:7000x", "127.0.0.1:-1", "a/b:1",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1",
	};
	struct rnet_peer_stats ps;
	struct rnet_stats st;
	char addr[32];
	struct nh_msg s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rnet_set_peer(a->t, 2, bad[i]) != -EINVAL)
			fail_msg("address \"%s\" accepted", bad[i]);
	assert_int_equal(rnet_set_peer(a->t, 0, "127.0.0.1:1"), -EINVAL);
	assert_int_equal(rnet_set_peer(a->t, a->id, "127.0.0.1:1"), -EINVAL);
	assert_int_equal(rnet_peer_stats(a->t, 2, &ps), -ENOENT);

	/* Wrong port first, then the right one. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", nh_closed_port());
	assert_int_equal(rnet_set_peer(a->t, b->id, addr), 0);
	wait_state(f, a, b->id, RNET_PEER_BACKOFF, 0);
	set_peer(a, b);
	wait_state(f, a, b->id, RNET_PEER_READY, 1);
	assert_int_equal(rnet_peer_stats(a->t, b->id, &ps), 0);
	assert_string_equal(ps.address, nh_addr(b, addr, sizeof(addr)));
	/* The same address again keeps the connection. */
	set_peer(a, b);
	nh_pump(f->all, N_NODES, 50, NULL, NULL);
	assert_int_equal(rnet_peer_stats(a->t, b->id, &ps), 0);
	assert_int_equal(ps.state, RNET_PEER_READY);
	assert_int_equal(ps.connects, 1);
	nh_sample(&s, RAFT_MSG_VOTE_RESP, a->id, b->id);
	assert_int_equal(rnet_send(a->t, &s.m), 0);
	wait_recv(f, b, 1);

	/* Removed: sends are refused; B sees the connection go. */
	assert_int_equal(rnet_remove_peer(a->t, b->id), 0);
	assert_int_equal(rnet_remove_peer(a->t, b->id), -ENOENT);
	assert_int_equal(rnet_send(a->t, &s.m), -ENOENT);
	rnet_stats(a->t, &st);
	assert_int_equal(st.n_peers, 0);
	nh_pump(f->all, N_NODES, 50, NULL, NULL);
	rnet_stats(b->t, &st);
	assert_int_equal(st.inbound_open, 0);

	/* At most RNET_MAX_PEERS peers. */
	for (raft_id id = 100; id < 100 + RNET_MAX_PEERS; id++)
		assert_int_equal(rnet_set_peer(a->t, id, addr), 0);
	assert_int_equal(rnet_set_peer(a->t, 99, addr), -ENOSPC);
}

static void test_send_refuses_bad_messages(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = &f->n[0], *b = start(f, 1);
	struct rnet_options o;
	static uint8_t data[8192];
	struct raft_message m;
	struct raft_entry e;
	struct nh_msg s;

	nh_options(&o, a->id, NH_SECRET);
	o.max_frame_bytes = 4096;
	nh_node_start(a, &o);
	set_peer(a, b);
	wait_state(f, a, b->id, RNET_PEER_READY, 1);

	nh_sample(&s, RAFT_MSG_VOTE, 7, b->id); /* not from us */
	assert_int_equal(rnet_send(a->t, &s.m), -EINVAL);
	nh_sample(&s, RAFT_MSG_SNAPSHOT, a->id, b->id);
	s.m.snapshot.data = NULL; /* chunk not filled in */
	assert_int_equal(rnet_send(a->t, &s.m), -EINVAL);
	big_append(&m, &e, data, sizeof(data), a->id, b->id, 1);
	assert_int_equal(rnet_send(a->t, &m), -EMSGSIZE);
	big_append(&m, &e, data, 1000, a->id, b->id, 1);
	assert_int_equal(rnet_send(a->t, &m), 0);
	wait_recv(f, b, 1);
	nh_pump(f->all, N_NODES, 20, NULL, NULL);
	assert_int_equal(b->n_recv, 1);
}

static void test_host_name_address(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = start(f, 0), *b = start(f, 1);
	struct rnet_peer_stats ps;
	char addr[32];
	struct nh_msg s;

	snprintf(addr, sizeof(addr), "localhost:%u", b->port);
	assert_int_equal(rnet_set_peer(a->t, b->id, addr), 0);
	wait_state(f, a, b->id, RNET_PEER_READY, 1);
	nh_sample(&s, RAFT_MSG_PREVOTE, a->id, b->id);
	assert_int_equal(rnet_send(a->t, &s.m), 0);
	wait_recv(f, b, 1);

	/* A lookup cancelled by removing its peer finishes quietly. */
	assert_int_equal(rnet_set_peer(a->t, 4, "no-such-host-2.invalid:7000"),
			 0);
	assert_int_equal(rnet_remove_peer(a->t, 4), 0);
	nh_pump(f->all, N_NODES, 20, NULL, NULL);

	/* A lookup still in flight when the transport is freed (teardown)
	 * is cancelled, not leaked or called back into freed memory. */
	assert_int_equal(rnet_set_peer(a->t, 3, "no-such-host.invalid:7000"),
			 0);
	assert_int_equal(rnet_peer_stats(a->t, 3, &ps), 0);
	assert_int_equal(ps.state, RNET_PEER_CONNECTING);
}

static void never_recv(void *arg, const struct raft_message *m)
{
	fail_msg("unexpected message");
}

static void test_listen_errors(void **state)
{
	struct fixture *f = *state;
	struct nh_node *a = start(f, 0);
	struct rnet_options o;
	struct rnet *t;

	assert_int_equal(rnet_listen(a->t), -EINVAL); /* already */
	nh_options(&o, 2, NH_SECRET);
	o.listen_port = a->port;
	t = rnet_new(f->n[1].base, &o, never_recv, NULL);
	assert_non_null(t);
	assert_int_equal(rnet_listen(t), -EADDRINUSE);
	assert_int_equal(rnet_listen_port(t), 0);
	rnet_free(t);
	o.listen_host = "no-such-host.invalid";
	o.listen_port = 0;
	t = rnet_new(f->n[1].base, &o, never_recv, NULL);
	assert_non_null(t);
	assert_int_equal(rnet_listen(t), -EINVAL);
	rnet_free(t);
}

static void test_options_refused(void **state)
{
	struct fixture *f = *state;
	struct rnet_options o;

	nh_options(&o, 0, NH_SECRET);
	assert_null(rnet_new(f->n[0].base, &o, NULL, NULL));
	nh_options(&o, 1, NH_SECRET);
	o.secret_len = 0;
	assert_null(rnet_new(f->n[0].base, &o, NULL, NULL));
	nh_options(&o, 1, NH_SECRET);
	o.backoff_max_ms = 1;
	assert_null(rnet_new(f->n[0].base, &o, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	rnet_free(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_two_nodes_both_directions),
		T(test_three_nodes_mesh),
		T(test_send_before_ready_is_delivered),
		T(test_peer_restart_reconnects),
		T(test_closed_port_does_not_block_others),
		T(test_queue_limit_drops_when_peer_stalls),
		T(test_frozen_peer_pending_limit),
		T(test_set_peer_move_remove_invalid),
		T(test_send_refuses_bad_messages),
		T(test_host_name_address),
		T(test_options_refused),
		T(test_listen_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * transport.h -- the Raft peer transport: authenticated one-way TCP
 * connections between lmsd nodes, on the caller's libevent loop.
 *
 * Why this exists
 * ---------------
 * The Raft core (raft/include/raft.h) hands out messages and takes messages
 * in; something has to carry them between five processes without ever
 * letting one slow or dead node hold up the others, and without accepting a
 * single Raft message from anyone who does not know the cluster secret.
 * That is this transport, and nothing more: it does not retry, reorder or
 * acknowledge (Raft tolerates loss, duplication and reordering and retries
 * by itself), and it knows nothing of terms or logs.
 *
 * The wire (raft/raft.proto, top comment)
 * ---------------------------------------
 * Every frame is a u32 big-endian length + one PeerFrame. Connections are
 * one-way: this node sends its messages to peer P on the connection it
 * opened to P (outbound), and receives P's messages on the connection P
 * opened to it (inbound). Each connection starts with the HMAC-SHA256
 * handshake Hello / Challenge / Proof keyed with the cluster secret; the
 * connector checks the acceptor's mac before proving itself, the acceptor
 * takes RaftMessage frames only after a valid proof, and only those whose
 * `from` is the authenticated peer and whose `to` is this node. Any
 * violation (bad mac, wrong cluster, garbage, an oversized frame, a Raft
 * message before the proof, a stalled handshake) closes that one
 * connection with a logged reason:
 *
 *     closing peer connection from 127.0.0.1:5555: bad mac
 *
 * Outbound connections
 * --------------------
 * One per peer, opened when the peer is set (rnet_set_peer), reopened after
 * any failure with exponential backoff and jitter between backoff_min_ms
 * and backoff_max_ms. Connecting, resolving (numeric addresses directly;
 * host names through evdns, /etc/hosts first, at every attempt, the first
 * address returned is used) and writing never block: rnet_send encodes the
 * message and appends it to that peer's queue, or drops it:
 *
 *   - while the connection is being set up (connecting, handshake), messages
 *     wait in a pending queue that is flushed after the proof, or dropped
 *     if the attempt fails;
 *   - while the peer is down (backing off), they are dropped at once
 *     (-ENOTCONN);
 *   - when the peer's queue (pending, or unsent socket output) already holds
 *     queue_limit_bytes, they are dropped (-ENOBUFS). The queue may overshoot
 *     the limit by one message: a message is always taken by an empty queue.
 *
 * Dropped messages are counted per peer. A caller that wants to tell the
 * core calls raft_report_unreachable(r, m->to) when rnet_send returns
 * -ENOTCONN; the `unreachable` callback additionally reports connections
 * that fail or break later, from inside the event loop.
 *
 * Callbacks
 * ---------
 * Both run from libevent callbacks of the caller's base, never from inside
 * an rnet_* call. recv(arg, m): m and every pointer in it (entries, their
 * data, snapshot chunk bytes) are valid only during the call; copy what you
 * keep. unreachable(arg, id): the outbound connection to peer id failed or
 * broke. Both may call rnet_send, rnet_set_peer and rnet_remove_peer;
 * neither may call rnet_free.
 *
 * Ownership
 * ---------
 * The event_base is borrowed and must outlive the transport. Strings and
 * the secret in rnet_options are copied by rnet_new. Messages passed to
 * rnet_send are borrowed for the call (encoded before it returns).
 *
 * Errors
 * ------
 * Functions return 0 or a negative errno value: -EINVAL (bad argument or
 * message), -ENOMEM, -ENOENT (no such peer), -ENOTCONN / -ENOBUFS /
 * -EMSGSIZE (message dropped, see above), -ENOSPC (too many peers), and
 * socket errors from rnet_listen (-EADDRINUSE, ...).
 */
#ifndef RNET_TRANSPORT_H
#define RNET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

struct event_base;
struct rnet;

/* At most this many peers (the configuration's limit). */
#define RNET_MAX_PEERS RAFT_MAX_SERVERS

/* Largest handshake frame accepted before a connection is authenticated. */
#define RNET_HANDSHAKE_MAX_FRAME 1024

typedef void (*rnet_recv_fn)(void *arg, const struct raft_message *m);
typedef void (*rnet_unreachable_fn)(void *arg, raft_id id);

struct rnet_options {
	raft_id self;             /* this node, not 0 */
	const char *cluster;      /* cluster name, not empty; copied */
	const void *secret;       /* cluster secret; copied */
	size_t secret_len;        /* >= 1 */
	const char *listen_host;  /* copied; NULL = every IPv4 interface */
	uint16_t listen_port;     /* 0 = any free port (rnet_listen_port) */
	size_t max_frame_bytes;   /* frame payload limit, both directions */
	size_t max_entries;       /* entries per received APPEND */
	size_t queue_limit_bytes; /* per-peer outbound queue */
	unsigned backoff_min_ms;  /* first reconnect delay */
	unsigned backoff_max_ms;  /* delay cap (>= min) */
	unsigned connect_timeout_ms;
	unsigned handshake_timeout_ms; /* both roles */
	unsigned write_timeout_ms; /* unsent output making no progress this
	                              long closes the connection; 0 = never */
	unsigned max_inbound;     /* simultaneous inbound connections */
	rnet_unreachable_fn unreachable; /* may be NULL; called with arg */
};

/*
 * Defaults: listen on every IPv4 interface, port 0; max_frame_bytes
 * 32 MiB (config limits.max_frame_bytes), max_entries RNET_MAX_ENTRIES,
 * queue 16 MiB, backoff 50 ms .. 2 s, connect and handshake timeouts 2 s,
 * write timeout 10 s, 64 inbound connections, no unreachable callback.
 * self, cluster and secret are left empty: the caller must set them.
 */
void rnet_options_default(struct rnet_options *o);

/*
 * A transport on base, delivering received messages to recv(arg, m).
 * Nothing is opened yet: call rnet_listen and rnet_set_peer. Returns NULL
 * with errno EINVAL (options invalid; the reason is logged) or ENOMEM.
 */
struct rnet *rnet_new(struct event_base *base, const struct rnet_options *o,
		      rnet_recv_fn recv, void *arg);

/*
 * Close every connection, the listener and the resolver, and free t, in
 * the reverse order of their creation. Queued messages are lost. Must not
 * be called from a transport callback. NULL is accepted.
 *
 * Host-name peers: a name lookup still in flight is cancelled, and libevent
 * completes the cancellation from the loop. Run the base once more
 * (event_base_loop(base, EVLOOP_NONBLOCK)) before event_base_free, or a
 * few hundred bytes stay allocated at exit. Numeric addresses never need
 * this.
 */
void rnet_free(struct rnet *t);

/*
 * Start accepting peer connections on listen_host:listen_port. 0, -EINVAL
 * (already listening, unresolvable host), or the bind/listen errno.
 */
int rnet_listen(struct rnet *t) __attribute__((warn_unused_result));

/* The port actually bound (useful with listen_port 0), 0 if not listening. */
uint16_t rnet_listen_port(const struct rnet *t);

/*
 * Add peer id at "host:port" ("10.0.0.2:7001", "node2:7001",
 * "[::1]:7001"), or change its address, and start connecting to it. Setting
 * the same address again does nothing; a new address closes the old
 * connection (its queue is lost). -EINVAL (id 0 or self, malformed
 * address), -ENOSPC (RNET_MAX_PEERS peers already), -ENOMEM.
 */
int rnet_set_peer(struct rnet *t, raft_id id, const char *address)
	__attribute__((warn_unused_result));

/*
 * Forget peer id: close the outbound connection and drop its queue. An
 * inbound connection from id stays open (the core ignores messages from
 * servers outside its configuration). -ENOENT if unknown.
 */
int rnet_remove_peer(struct rnet *t, raft_id id);

/*
 * Queue m for m->to; never blocks. m->from must be this node, m->to a
 * peer, and m must pass rnet_check (codec.h): a SNAPSHOT chunk must carry
 * its data. Returns 0 (queued; delivery is not guaranteed), -EINVAL,
 * -ENOENT (unknown peer), -ENOTCONN (peer down: dropped), -ENOBUFS (queue
 * full: dropped), -EMSGSIZE (larger than max_frame_bytes: dropped), or
 * -ENOMEM.
 */
int rnet_send(struct rnet *t, const struct raft_message *m);

/* Outbound connection state of a peer. */
enum rnet_peer_state {
	RNET_PEER_IDLE = 0,       /* not started */
	RNET_PEER_CONNECTING = 1, /* TCP connect (or name lookup) */
	RNET_PEER_HANDSHAKE = 2,  /* hello sent, waiting for the challenge */
	RNET_PEER_READY = 3,      /* authenticated: messages flow */
	RNET_PEER_BACKOFF = 4,    /* failed; waiting to reconnect */
};

/* "idle", "connecting", "handshake", "ready", "backoff"; "?" otherwise. */
const char *rnet_peer_state_name(int state);

struct rnet_peer_stats {
	raft_id id;
	char address[RAFT_ADDRESS_MAX];
	int state;              /* enum rnet_peer_state, outbound */
	bool inbound;           /* an authenticated connection from id is open */
	uint64_t bytes_sent;    /* written to the socket, handshake included */
	uint64_t bytes_received; /* frames received from id after its proof */
	uint64_t msgs_sent;     /* handed to the socket buffer */
	uint64_t msgs_received;
	uint64_t msgs_dropped;
	uint64_t connects;      /* successful handshakes */
	uint64_t connect_failures; /* attempts that never got ready */
	size_t queued_bytes;    /* pending + unsent output now */
};

struct rnet_stats {
	/* Totals since rnet_new, removed peers included. */
	uint64_t bytes_sent;
	uint64_t bytes_received; /* every byte read, handshakes included */
	uint64_t msgs_sent;
	uint64_t msgs_received;
	uint64_t msgs_dropped;   /* unknown peer included */
	uint64_t inbound_accepted;      /* TCP connections accepted */
	uint64_t inbound_authenticated; /* of which passed the handshake */
	uint64_t inbound_rejected;      /* closed before authenticating:
	                                   bad input, bad mac, timeout, EOF,
	                                   too many connections */
	unsigned inbound_open;
	char last_reject[128];   /* reason of the last rejection, "" if none */
	unsigned n_peers;
	struct rnet_peer_stats peers[RNET_MAX_PEERS];
};

/* Fill *st (caller memory; nothing kept). */
void rnet_stats(const struct rnet *t, struct rnet_stats *st);

/* One peer's counters; -ENOENT if unknown. */
int rnet_peer_stats(const struct rnet *t, raft_id id,
		    struct rnet_peer_stats *ps);

#endif /* RNET_TRANSPORT_H */

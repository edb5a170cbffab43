/*
 * net_internal.h -- the transport's objects, shared by its files.
 *
 * Why this exists
 * ---------------
 * The transport is split by concern: transport.c (the object, peers,
 * rnet_send, stats), outbound.c (the connector side: connect, handshake,
 * backoff), inbound.c (the listener and the acceptor side), handshake.c
 * (nonces and macs) and wire.c (frames on evbuffers). They share the three
 * structs below and nothing else.
 *
 * Ownership and lifetimes
 * -----------------------
 * struct rnet owns its peers (a singly linked list) and its inbound
 * connections (a doubly linked list). A peer owns its outbound
 * bufferevent, its timer and its pending queue; an inbound connection owns
 * its bufferevent and timer. Every bufferevent is created with
 * BEV_OPT_CLOSE_ON_FREE, so freeing it closes the socket. A connection is
 * freed only by its own file's close function (outbound_close,
 * inbound_close), which unlinks it first; callbacks that may have freed
 * their object return at once without touching it again.
 */
#ifndef RNET_NET_INTERNAL_H
#define RNET_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "codec.h"
#include "sha256.h"
#include "transport.h"

#define RNET_NONCE_LEN 32

/* One peer we send to, with its outbound connection. */
struct rnet_peer {
	struct rnet *t;
	struct rnet_peer *next;
	raft_id id;
	char address[RAFT_ADDRESS_MAX]; /* as given to rnet_set_peer */
	char host[RAFT_ADDRESS_MAX];    /* without brackets */
	uint16_t port;
	bool numeric;                   /* sa holds the parsed address */
	struct sockaddr_storage sa;
	int salen;

	int state;                /* enum rnet_peer_state */
	struct bufferevent *bev;  /* NULL unless connecting..ready */
	struct event *timer;      /* connect/handshake deadline, or backoff */
	struct evbuffer *pending; /* messages waiting for the handshake */
	uint64_t pending_msgs;
	unsigned attempts;        /* failures since the last ready */
	bool in_connect;          /* inside bufferevent_socket_connect */
	bool connect_failed;      /* ... which reported an error */
	bool quiet;               /* failure already logged as a warning */
	uint8_t nonce_c[RNET_NONCE_LEN];

	struct rnet_peer_stats st; /* id/address/state/inbound filled on read */
};

enum rnet_inbound_state {
	RNET_IN_HELLO = 1, /* accepted, waiting for the hello */
	RNET_IN_PROOF = 2, /* challenge sent, waiting for the proof */
	RNET_IN_AUTH = 3,  /* authenticated: Raft messages accepted */
};

/* One accepted connection. */
struct rnet_inbound {
	struct rnet *t;
	struct rnet_inbound *prev, *next;
	struct bufferevent *bev;
	struct event *timer; /* handshake deadline */
	int state;           /* enum rnet_inbound_state */
	raft_id peer;        /* from the hello; trusted once RNET_IN_AUTH */
	uint8_t nonce_c[RNET_NONCE_LEN];
	uint8_t nonce_s[RNET_NONCE_LEN];
	char remote[64];     /* "127.0.0.1:5555" */
};

struct rnet {
	struct event_base *base; /* borrowed */
	rnet_recv_fn recv;
	rnet_unreachable_fn unreachable;
	void *arg;

	raft_id self;
	char *cluster;
	uint8_t *secret;
	size_t secret_len;
	char *listen_host;        /* NULL = any */
	uint16_t listen_port;     /* as configured */
	size_t max_frame;
	size_t max_entries;
	size_t queue_limit;
	unsigned backoff_min_ms, backoff_max_ms;
	unsigned connect_timeout_ms, handshake_timeout_ms, write_timeout_ms;
	unsigned max_inbound;

	struct evconnlistener *listener;
	struct event *listen_retry; /* re-enables accept after an error */
	uint16_t bound_port;
	struct evdns_base *dns;   /* created on the first host name */
	struct rnet_peer *peers;
	unsigned n_peers;
	struct rnet_inbound *inbound;
	unsigned n_inbound;
	uint64_t rng;             /* backoff jitter */

	struct rnet_stats st;     /* totals; peers[] filled on read only */
};

/* transport.c */
struct rnet_peer *rnet_find_peer(const struct rnet *t, raft_id id);
uint64_t rnet_random(struct rnet *t);

/* outbound.c */
void outbound_start(struct rnet_peer *p);
void outbound_timer_cb(evutil_socket_t fd, short what, void *arg);
/* Close the socket, stop the timer, drop the pending queue (counted);
 * no log, no callback, state unchanged: the caller sets the next one. */
void outbound_close(struct rnet_peer *p);

/* inbound.c */
int inbound_listen(struct rnet *t);
void inbound_stop(struct rnet *t);
void inbound_close_all(struct rnet *t);

/* handshake.c: HMAC(secret, label | cluster | from | to | nonce_c |
 * nonce_s), ids 8-byte little-endian (raft.proto). */
#define RNET_LABEL_ACCEPTOR "lms-peer-acceptor"
#define RNET_LABEL_CONNECTOR "lms-peer-connector"
int rnet_nonce(uint8_t out[RNET_NONCE_LEN])
	__attribute__((warn_unused_result));
void rnet_mac(const struct rnet *t, const char *label, raft_id from,
	      raft_id to, const uint8_t nonce_c[RNET_NONCE_LEN],
	      const uint8_t nonce_s[RNET_NONCE_LEN],
	      uint8_t out[LMS_SHA256_LEN]);

/* wire.c */
int wire_add(struct evbuffer *out, uint8_t *frame, size_t len)
	__attribute__((warn_unused_result));
int wire_send(struct bufferevent *bev, const Lms__Raft__PeerFrame *f)
	__attribute__((warn_unused_result));

#endif /* RNET_NET_INTERNAL_H */

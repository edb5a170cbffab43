/*
 * net_harness.h -- helpers shared by the raft_net tests.
 *
 * Why this exists
 * ---------------
 * The transport tests run several transports in one process, each on its
 * own event_base (so a test can "freeze" one node by not running its loop),
 * on 127.0.0.1 with ports the kernel picks. Every wait is bounded: nh_pump
 * runs all loops without blocking until a condition holds or a deadline
 * passes, so a broken transport fails a test instead of hanging it.
 *
 * Also here: one deterministic sample message of each type (with entries,
 * a full configuration and a snapshot chunk) and a deep comparison, a raw
 * TCP client that speaks (or abuses) the wire protocol by hand, and capture
 * of stderr so a test can check what was logged.
 *
 * Ownership: an nh_node owns its event_base and transport; everything else
 * lives in caller memory.
 */
#ifndef NH_NET_HARNESS_H
#define NH_NET_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "transport.h"

struct event_base;

#define NH_MAX_ID 16 /* node ids used by the tests: 1..15 */
#define NH_SECRET "correct horse battery staple"
#define NH_CLUSTER "lms-test"

/* ------------------------------------------------------------ messages */

struct nh_msg {
	struct raft_message m;
	struct raft_entry entries[4];
	uint8_t blob[512];
};

/* A deterministic message of `type` from -> to, every field of the type
 * set to a distinctive value (APPEND: 4 entries of all entry types;
 * SNAPSHOT: a 300-byte last chunk and a 16-server configuration). */
void nh_sample(struct nh_msg *s, int type, raft_id from, raft_id to);

/* cmocka-asserts that got equals want field by field (entry data and
 * chunk bytes compared by content). */
void nh_assert_msg_equal(const struct raft_message *want,
			 const struct raft_message *got);

/* True when equal (no assertion). */
bool nh_msg_equal(const struct raft_message *a, const struct raft_message *b);

/* --------------------------------------------------------------- nodes */

struct nh_node {
	struct event_base *base;
	struct rnet *t;
	raft_id id;
	uint16_t port;
	bool check_samples;    /* compare each message with nh_sample */
	unsigned n_recv;
	unsigned n_bad;        /* differed from nh_sample */
	unsigned recv_from[NH_MAX_ID];
	unsigned unreachable[NH_MAX_ID];
};

/* Defaults plus test-friendly values: id, NH_CLUSTER, secret, 127.0.0.1
 * port 0, backoff 20..200 ms, timeouts 1 s. */
void nh_options(struct rnet_options *o, raft_id id, const char *secret);

/* New base; no transport yet. */
void nh_node_init(struct nh_node *n, raft_id id);
/* rnet_new(o, callbacks recording into n) + rnet_listen; n->port set. */
void nh_node_start(struct nh_node *n, const struct rnet_options *o);
/* rnet_free; the base stays. */
void nh_node_stop(struct nh_node *n);
/* nh_node_stop and free the base. */
void nh_node_free(struct nh_node *n);
/* "127.0.0.1:<port>" of n into buf. */
const char *nh_addr(const struct nh_node *n, char *buf, size_t len);

/* Run every node's loop (NULL entries skipped) until cond(arg) or ms pass.
 * cond NULL: run for ms. Returns whether cond held. */
bool nh_pump(struct nh_node **nodes, size_t n, unsigned ms,
	     bool (*cond)(void *arg), void *arg);

/* Condition helpers. */
struct nh_ready_arg {
	struct nh_node *node;
	raft_id peer;
	int state;             /* wanted enum rnet_peer_state */
	uint64_t min_connects; /* and at least this many connects */
};
bool nh_cond_peer_state(void *arg);

struct nh_count_arg {
	struct nh_node *node;
	unsigned want;         /* n_recv >= want */
};
bool nh_cond_recv(void *arg);

/* A port on 127.0.0.1 nobody listens on (bound then closed). */
uint16_t nh_closed_port(void);

/* ---------------------------------------------------------- raw client */

/* Non-blocking TCP socket connected (or connecting) to 127.0.0.1:port. */
int nh_raw_connect(uint16_t port);
/* Write all of buf (pumping nodes while the socket is full). */
void nh_raw_write(int fd, const void *buf, size_t len, struct nh_node **nodes,
		  size_t n);
/* Encode and write one frame. */
void nh_raw_send_frame(int fd, const Lms__Raft__PeerFrame *f,
		       struct nh_node **nodes, size_t n);
/* Read one frame within ms (pumping nodes); NULL on timeout or EOF. */
Lms__Raft__PeerFrame *nh_raw_read_frame(int fd, struct nh_node **nodes,
					size_t n, unsigned ms);
/* True if the other side closes fd within ms (bytes read are ignored). */
bool nh_raw_wait_closed(int fd, struct nh_node **nodes, size_t n,
			unsigned ms);

/* The raft.proto macs, computed independently of the transport. */
void nh_mac(const char *secret, const char *label, const char *cluster,
	    raft_id from, raft_id to, const uint8_t nonce_c[32],
	    const uint8_t nonce_s[32], uint8_t out[32]);

/* Connect to port and complete the handshake as node `from` (which must
 * know `secret`); returns the socket, or -1 if the acceptor refused. */
int nh_raw_handshake(uint16_t port, raft_id from, raft_id to,
		     const char *secret, struct nh_node **nodes, size_t n);

/* ------------------------------------------------------------ log capture */

struct nh_capture {
	int saved_fd;
	int fd;
};

/* Redirect fd 2 to a temporary file. */
void nh_capture_start(struct nh_capture *c);
/* Restore fd 2; returns what was written meanwhile (malloc'd, NUL ended),
 * after echoing it to the real stderr. */
char *nh_capture_stop(struct nh_capture *c);

#endif /* NH_NET_HARNESS_H */

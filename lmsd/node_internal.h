/*
 * node_internal.h -- the structures shared by node.c (Raft driving),
 * rpc.c (client port) and kv.c (the key/value service).
 *
 * A client request in progress is a struct call. It belongs to the
 * connection that received it (rpc.c keeps calls in arrival order and
 * writes answers in that order) and, while it waits for Raft, it is also on
 * one of the node's wait lists:
 *
 *   proposals   waiting for its log index to be applied (in index order)
 *   reads       waiting for a ReadIndex answer (by ctx), then for
 *               applied >= read index, then for the reader thread
 *
 * When the connection closes first, the call is orphaned (conn = NULL) and
 * freed when the wait ends. Every call ends exactly once through
 * call_finish(), which encodes the response.
 */
#ifndef LMSD_NODE_INTERNAL_H
#define LMSD_NODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "lms.pb-c.h"
#include "metrics.h"
#include "pgs.h"
#include "raft.h"

struct conn;
struct call;
struct node;

/* What to do with the state machine's answer to a proposed command. It
 * must end the call with call_finish() on every path, and not touch it
 * afterwards (call_finish may free it). */
typedef void (*call_result_fn)(struct call *c,
                               const struct pgs_apply_result *res);
/* A read, run on the reader thread (blocking) with the reader's handle;
 * fills c->resp. */
typedef void (*call_read_fn)(struct call *c, struct pgs *reader);

/* How long a client request may wait for Raft, the reader or the leader
 * before it is answered DEADLINE_EXCEEDED or UNAVAILABLE. */
#define CALL_TIMEOUT_MS 10000

enum call_wait {
	CALL_NONE = 0,
	CALL_PROPOSAL,   /* on n->proposals */
	CALL_READ_INDEX, /* on n->reads, waiting for the ReadIndex answer */
	CALL_READ_APPLY, /* on n->reads, waiting for applied >= read_index */
	CALL_READ_RUN,   /* submitted to the reader thread */
	CALL_CONFIG,     /* membership change: on n->proposals */
	CALL_TRANSFER,   /* on n->transfers */
	CALL_FORWARD,    /* relayed to the leader (forward.c) */
	CALL_CPU,        /* on the CPU thread (node_cpu) */
};

struct call {
	struct node *node;
	struct conn *conn;       /* NULL once orphaned */
	struct call *conn_next;  /* the connection's FIFO */
	struct call *wait_next;  /* the node wait list it is on */
	enum call_wait wait;
	Lms__Rpc__Request *req;  /* decoded request, owned */
	Lms__Rpc__Response resp; /* filled by the handler */
	ProtobufCMessage *result; /* the response's oneof, owned */
	char message[256];
	bool done;
	uint8_t *out;            /* encoded frame, once done */
	size_t out_len;
	uint64_t deadline_ms;     /* received + CALL_TIMEOUT_MS */

	raft_index index;        /* proposal / config change */
	raft_term term;
	uint64_t read_ctx;
	raft_index read_index;
	raft_id transfer_target;
	call_result_fn on_result;
	call_read_fn on_read;
	/* set: runs on the loop when on_read is done, instead of answering
	 * (a read that continues, e.g. login's password lookup) */
	void (*on_read_done)(struct call *c);
	/* the LMS service's state of the call, freed with it */
	void *svc;
	void (*svc_free)(void *svc);
};

/* ----------------------------------------------------------- node.c */

/* Proposes a NORMAL entry carrying (client_id, seq, payload); on success the
 * call waits on the proposal list and on_result runs when it is applied.
 * Otherwise the call is finished with NOT_LEADER / UNAVAILABLE / ... */
void node_propose(struct call *c, const void *payload, size_t len,
                  call_result_fn on_result);

/* A read: linearizable (ReadIndex on the leader) or stale (at once, on
 * this node), per c->req->consistency; on_read runs on the reader thread. */
void node_read(struct call *c, call_read_fn on_read);

/* Runs run(c) on the node's CPU thread (scrypt, checksums of uploads, PDF
 * extraction: never on the event loop), then done(c) on the loop. If the
 * node stops first, the call is answered UNAVAILABLE instead. */
void node_cpu(struct call *c, void (*run)(struct call *c),
              void (*done)(struct call *c));

bool node_is_leader(const struct node *n);
struct svc_limits;
struct lms_auth_config;
const struct svc_limits *node_limits(const struct node *n);
const struct lms_auth_config *node_auth(const struct node *n);

/* Membership and leadership operations of lms.proto. */
void node_member_add(struct call *c);
void node_member_promote(struct call *c);
void node_member_remove(struct call *c);
void node_transfer(struct call *c);
void node_status(struct call *c);
void node_checksum(struct call *c);

/* Finishes c with NOT_LEADER and the leader's client address if known. */
void node_not_leader(struct call *c);

uint64_t node_id_of(const struct node *n);
raft_index node_applied(const struct node *n);
size_t node_max_frame(const struct node *n);
size_t node_max_text(const struct node *n);
struct lms_metrics;
void node_count_request(struct node *n);

/* ------------------------------------------------------------ rpc.c */

struct rpc_server;
struct event_base;

/* Listens on host:port for clients; requests go to rpc_dispatch. */
struct rpc_server *rpc_server_new(struct event_base *base, struct node *n,
                                  const char *host, uint16_t port,
                                  size_t max_frame, char *err, size_t errlen);
void rpc_server_free(struct rpc_server *s);

/* Ends the call: sets status and message, encodes, writes what can be
 * written on its connection (in order), frees it if orphaned. */
void call_finish(struct call *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Ends the call with an already encoded response frame (ownership of
 * frame passes to the call): a relayed leader's answer. */
void call_finish_frame(struct call *c, uint8_t *frame, size_t len);

/* Frees a call that is on no list and has no connection. */
void call_free(struct call *c);

/* Dispatches a decoded request (rpc.c -> kv.c / node.c). */
void rpc_dispatch(struct call *c);

/* --------------------------------------------------------- forward.c */

struct forwarder;
struct forwarder *forwarder_new(struct event_base *base, size_t max_frame);
void forwarder_free(struct forwarder *f);
/* Relays c to the leader at its client address; 0, or a negative errno
 * and the call is untouched (the caller answers NOT_LEADER). */
int forwarder_send(struct forwarder *f, struct call *c, raft_id leader,
                   const char *address);
/* Node `leader` leads now: calls relayed to another are answered at once,
 * NOT_LEADER with the new leader's address (UNAVAILABLE if leader is
 * self, this node). */
void forwarder_leader_changed(struct forwarder *f, raft_id leader,
                              raft_id self);
/* Fails the relayed calls when the oldest is past its deadline. */
void forwarder_expire(struct forwarder *f, uint64_t now_ms);

/* -------------------------------------------------------- service.c */

/* The LMS operations: false when req names none of them. */
bool svc_dispatch(struct call *c);

/* ------------------------------------------------------------- kv.c */

void kv_put(struct call *c);
void kv_get(struct call *c);
void kv_cas(struct call *c);
void kv_delete(struct call *c);

#endif

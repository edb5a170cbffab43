/*
 * node.h -- one lmsd node: the Raft core driven over PostgreSQL and the
 * network, and the client port in front of it.
 *
 * Why this exists
 * ---------------
 * The core (raft.h) is a pure state machine; something has to feed it ticks
 * and messages and carry out its ready batches. That is this module, layer
 * 4 of DESIGN.md ("raft node: propose, ReadIndex, membership, status"):
 *
 *   tick timer ---------> raft_tick
 *   rnet (peers) -------> raft_step
 *   clients (rpc.c) ----> node_propose / node_read / membership / transfer
 *   ready batch --------> messages_now -> rnet at once
 *                         persist + apply -> writer thread (pgs_persist)
 *                         then messages -> rnet, results -> waiting calls,
 *                         reads -> reader thread, raft_advance
 *
 * Threads: the event loop owns the core and every struct here. PostgreSQL
 * runs on two worker threads with a connection each (worker.h): the writer
 * (persist + apply, in log order) and the reader (linearizable and stale
 * reads, snapshot chunks for followers, snapshots, checksums). The writer's
 * transaction commits before its batch is advanced, so a read submitted to
 * the reader after that sees everything applied up to it.
 *
 * Addresses: a server's address in the Raft configuration is
 * "PEERHOST:PEERPORT|CLIENTHOST:CLIENTPORT", so every node knows where to
 * send Raft messages and where to point clients (NOT_LEADER hints), also
 * for members added after start-up.
 */
#ifndef LMSD_NODE_H
#define LMSD_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct lms_config;
struct node;

/* Opens the node's database, recovers its state and starts listening on
 * the peer, client and HTTP ports. NULL with a message in err on failure. */
struct node *node_new(struct event_base *base, const struct lms_config *cfg,
                      unsigned node_id, char *err, size_t errlen);

/* Stops serving: closes listeners, fails waiting calls, waits for the
 * workers, frees everything. */
void node_free(struct node *n);

/* Non-zero when the node hit a fatal error (e.g. its database failed a
 * persist) and the loop should stop; node_free() then exits cleanly. */
int node_fatal(const struct node *n);

#endif

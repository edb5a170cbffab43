/*
 * client.h -- the cluster client library used by lms, lms-admin, tutord,
 * lms-migrate and lms-bench.
 *
 * Why this exists
 * ---------------
 * Every program that talks to the cluster needs the same things: a list of
 * nodes (config.json, --nodes host:port,... or $LMS_NODES), finding the
 * leader, following NOT_LEADER hints, failing over when a node is down or
 * slow (bounded retries with backoff, then a clear "cluster unavailable"),
 * and exactly-once writes: a session keeps a random client id and numbers
 * its writes, and a retry reuses the number so the cluster applies the write
 * once and answers the retry with the recorded result.
 *
 * Model
 * -----
 * Blocking sockets with deadlines (poll), one cached connection per node.
 * A struct lmsc is not thread-safe; use one per thread.
 *
 * Ownership
 * ---------
 * lmsc_call() borrows the request (it sets client_id/seq/forwarded on it)
 * and hands the caller a response that the caller frees with
 * lmsc_response_free(). Node lists are copied.
 */
#ifndef LMS_CLIENT_H
#define LMS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lms.pb-c.h"

struct lms_config;

#define LMSC_MAX_NODES 16

struct lmsc_node {
	uint64_t id; /* 0 when unknown (--nodes list) */
	char host[64];
	uint16_t port; /* client port */
};

struct lmsc_options {
	unsigned connect_timeout_ms; /* per connection attempt (default 500) */
	unsigned request_timeout_ms; /* per attempt, send to reply (5000) */
	unsigned total_timeout_ms;   /* whole call incl. retries (15000) */
	unsigned backoff_min_ms;     /* first backoff (20) */
	unsigned backoff_max_ms;     /* cap (500) */
	size_t max_frame;            /* largest response accepted (32 MiB) */
};

void lmsc_options_default(struct lmsc_options *o);

/* Node lists. lmsc_nodes_parse: "host:port,host:port" (0 or -EINVAL, with
 * a message naming the bad item in err). lmsc_nodes_from_config: the
 * client ports of config.json's nodes. */
int lmsc_nodes_parse(const char *list, struct lmsc_node *out, size_t *n,
                     char *err, size_t errlen);
int lmsc_nodes_from_config(const struct lms_config *cfg,
                           struct lmsc_node *out, size_t *n);

/* The node list every program uses: `list` (--nodes) if given, else
 * $LMS_NODES, else the client ports of the config file (config_path, or
 * lms_config_default_path()). 0, or -EINVAL with a message in err. */
int lmsc_nodes_resolve(const char *list, const char *config_path,
                       struct lmsc_node *out, size_t *n, char *err,
                       size_t errlen);

struct lmsc;

/* NULL on allocation failure. The client id is drawn from getrandom(2). */
struct lmsc *lmsc_new(const struct lmsc_node *nodes, size_t n,
                      const struct lmsc_options *o);
void lmsc_free(struct lmsc *c);

/* The options in use, and replacing them (copied): e.g. a longer
 * per-attempt timeout for one large upload, restored afterwards. */
void lmsc_get_options(const struct lmsc *c, struct lmsc_options *o);
void lmsc_set_options(struct lmsc *c, const struct lmsc_options *o);

enum lmsc_flags {
	LMSC_WRITE = 1 << 0,  /* assign the next seq; retries reuse it */
	LMSC_ANY_NODE = 1 << 1, /* stale read / status: any node will do,
	                           no leader chase */
};

/* Sends req and waits for the answer, following NOT_LEADER hints and
 * failing over per the options. Returns 0 with *resp set (whatever its
 * status: the caller looks at resp->status), or a negative errno:
 *   -ETIMEDOUT    no node answered within total_timeout_ms
 *   -EHOSTUNREACH every node refused or kept answering UNAVAILABLE
 *   -ENOMEM, -EINVAL (request could not be encoded)
 * and a message in lmsc_errmsg(). */
int lmsc_call(struct lmsc *c, Lms__Rpc__Request *req,
              Lms__Rpc__Response **resp, unsigned flags);

/* Like lmsc_call but to one node only (index into the node list), no
 * failover: lms-admin status, stale reads on a chosen node. */
int lmsc_call_node(struct lmsc *c, size_t node, Lms__Rpc__Request *req,
                   Lms__Rpc__Response **resp);

void lmsc_response_free(Lms__Rpc__Response *resp);

const char *lmsc_errmsg(const struct lmsc *c);
uint64_t lmsc_client_id(const struct lmsc *c);
size_t lmsc_node_count(const struct lmsc *c);
const struct lmsc_node *lmsc_node_at(const struct lmsc *c, size_t i);

/* Human name of a status code ("NOT_LEADER"). */
const char *lmsc_status_name(int status);

#endif

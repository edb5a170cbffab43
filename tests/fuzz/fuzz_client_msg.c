/*
 * fuzz_client_msg.c -- what the client port does with a request: decode a
 * lms.rpc.Request (lmsd/lms.proto) and dispatch it as lmsd/rpc.c does
 * (rpc_dispatch), through the checks of every operation in lmsd/service.c
 * (LMS operations) and lmsd/kv.c (key/value), up to the point where a
 * request would be proposed to Raft or read from PostgreSQL.
 *
 * Input: 1 byte of flags (is this node the leader; what the state machine
 * answers), then the Request's bytes (the payload of one frame: framing
 * itself is fuzz_frame's business).
 *
 * The node
 * --------
 * service.c and kv.c talk to the node through the functions of
 * lmsd/node_internal.h. This file links them (with rpc.c and
 * svc/svc_machine.c) against stand-ins for node.c's, defined below, so no
 * Raft core, event loop, thread or database is needed:
 *   node_propose   the command service.c built must decode again (a 'L'
 *                  tagged lms.rpc.Command, or a key/value command); the call
 *                  then gets an apply result at once (a recorded OK
 *                  Response, or nothing at all, as the flags say)
 *   node_cpu       runs the preparation step (scrypt with N = 2, SHA-256 of
 *                  uploads, text extraction of a TXT material) and its
 *                  continuation at once, on this thread
 *   node_read      skips the SQL (a read that finds nothing) and answers at
 *                  once, or goes on with the continuation of a login or a
 *                  password change (the unknown-user path, scrypt included)
 *   node_not_leader  the request, packed again as forward.c relays it to
 *                  the leader, must decode; then answered at once
 *   membership, status, transfer, checksum: answered at once (their checks
 *                  live in node.c, with the core)
 * PDF uploads stop at ingest_pdf_extract, replaced at link time
 * (-Wl,--wrap) by a refusal: no child process per input (fuzz_ingest_pdf
 * covers PDFs).
 *
 * The call is orphaned (no connection), so call_finish frees it: every
 * path must end the call exactly once -- LeakSanitizer reports a call that
 * was never answered, AddressSanitizer one answered twice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_util.h"
#include "ingest_internal.h"
#include "log.h"
#include "node_internal.h"
#include "svc.h"
#include "svc_machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

enum {
	FLAG_FOLLOWER = 1 << 0,    /* node_is_leader() is false */
	FLAG_NO_RESULT = 1 << 1,   /* the apply step records no answer */
	FLAG_REFUSED = 1 << 2,     /* the recorded answer is a refusal */
};

static unsigned flags;
static const struct svc_limits limits = {
	.max_text_bytes = 1u << 20,
	.max_upload_bytes = 1u << 16,
	.max_page_size = 500,
};
/* The smallest scrypt libscrypt accepts: a hash costs microseconds. */
static const struct lms_auth_config auth = {
	.scrypt_log2_n = 1,
	.scrypt_r = 1,
	.scrypt_p = 1,
	.token_lifetime_s = 86400,
};
static int fake_node; /* c->node points here; only the stand-ins see it */

/* -------------------------------------------- node.c's functions */

static void answer(struct call *c, const struct pgs_apply_result *res,
		   call_result_fn on_result)
{
	c->wait = CALL_NONE;
	on_result(c, res);
}

void node_propose(struct call *c, const void *payload, size_t len,
		  call_result_fn on_result)
{
	const uint8_t *p = payload;
	struct pgs_apply_result res;
	Lms__Rpc__Response r = LMS__RPC__RESPONSE__INIT;
	uint8_t buf[64];

	FUZZ_CHECK(p != NULL && len > 0);
	if (p[0] == SVC_CMD_TAG) {
		Lms__Rpc__Command *cmd =
			lms__rpc__command__unpack(NULL, len - 1, p + 1);

		/* What the service proposes, apply can read. */
		FUZZ_CHECK(cmd != NULL);
		FUZZ_CHECK(cmd->op_case != LMS__RPC__COMMAND__OP__NOT_SET);
		FUZZ_CHECK(cmd->now != NULL && *cmd->now != '\0');
		lms__rpc__command__free_unpacked(cmd, NULL);
	}
	memset(&res, 0, sizeof(res));
	res.index = 7;
	res.term = 2;
	res.type = RAFT_ENTRY_NORMAL;
	res.status = PGS_APPLIED;
	if (!(flags & FLAG_NO_RESULT) && p[0] == SVC_CMD_TAG) {
		r.status = flags & FLAG_REFUSED ?
			LMS__RPC__STATUS__PERMISSION_DENIED :
			LMS__RPC__STATUS__OK;
		r.message = "recorded";
		FUZZ_CHECK(lms__rpc__response__get_packed_size(&r) <=
			   sizeof(buf));
		res.result_len = lms__rpc__response__pack(&r, buf);
		res.result = buf;
	}
	c->wait = CALL_PROPOSAL;
	answer(c, &res, on_result);
}

void node_read(struct call *c, call_read_fn on_read)
{
	void (*cont)(struct call *c) = c->on_read_done;

	/* The read itself (SQL on the reader) is skipped: it found nothing.
	 * A read that continues (login, password change) goes on, as
	 * node.c does for a client still connected. */
	(void)on_read;
	c->on_read_done = NULL;
	if (cont != NULL) {
		cont(c);
		return;
	}
	call_finish(c, LMS__RPC__STATUS__OK, "%s", "");
}

void node_cpu(struct call *c, void (*run)(struct call *c),
	      void (*done)(struct call *c))
{
	c->wait = CALL_CPU;
	run(c);
	c->wait = CALL_NONE;
	done(c);
}

bool node_is_leader(const struct node *n)
{
	return !(flags & FLAG_FOLLOWER);
}

const struct svc_limits *node_limits(const struct node *n)
{
	return &limits;
}

const struct lms_auth_config *node_auth(const struct node *n)
{
	return &auth;
}

/* node.c relays the request to the leader (forward.c packs it again):
 * the leader must be able to decode what it gets. */
void node_not_leader(struct call *c)
{
	size_t n = lms__rpc__request__get_packed_size(c->req);
	uint8_t *p = malloc(n ? n : 1);
	Lms__Rpc__Request *again;

	FUZZ_CHECK(p != NULL);
	lms__rpc__request__pack(c->req, p);
	again = lms__rpc__request__unpack(NULL, n, p);
	FUZZ_CHECK(again != NULL);
	lms__rpc__request__free_unpacked(again, NULL);
	free(p);
	call_finish(c, LMS__RPC__STATUS__NOT_LEADER, "not the leader");
}

static void not_here(struct call *c)
{
	call_finish(c, LMS__RPC__STATUS__UNAVAILABLE,
		    "not in the fuzz harness");
}

void node_member_add(struct call *c) { not_here(c); }
void node_member_promote(struct call *c) { not_here(c); }
void node_member_remove(struct call *c) { not_here(c); }
void node_transfer(struct call *c) { not_here(c); }
void node_status(struct call *c) { not_here(c); }
void node_checksum(struct call *c) { not_here(c); }

uint64_t node_id_of(const struct node *n) { return 1; }
raft_index node_applied(const struct node *n) { return 7; }
size_t node_max_frame(const struct node *n) { return 1u << 20; }
size_t node_max_text(const struct node *n) { return limits.max_text_bytes; }
void node_count_request(struct node *n) {}

/* lmsd/ingest/sandbox.c's, in place of the child process. */
int __wrap_ingest_pdf_extract(const void *data, size_t len,
			      const struct ingest_limits *lim,
			      struct ingest_result *out, char *msg,
			      size_t msglen);
int __wrap_ingest_pdf_extract(const void *data, size_t len,
			      const struct ingest_limits *lim,
			      struct ingest_result *out, char *msg,
			      size_t msglen)
{
	snprintf(msg, msglen, "PDFs are not extracted in this harness");
	return INGEST_ERR_CORRUPT;
}

/* ---------------------------------------------------------- target */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	lms_log_init("fuzz_client_msg", 1, LMS_LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	Lms__Rpc__Request *req;
	struct call *c;

	flags = fz_u8(&f);
	req = lms__rpc__request__unpack(NULL, f.n, f.p);
	if (req == NULL)
		return 0;
	/* As rpc.c's conn_on_read builds a call, minus the connection. */
	c = calloc(1, sizeof(*c));
	FUZZ_CHECK(c != NULL);
	c->node = (struct node *)&fake_node;
	c->req = req;
	lms__rpc__response__init(&c->resp);
	c->resp.message = NULL;
	c->resp.leader_address = NULL;
	rpc_dispatch(c); /* ends the call; call_finish frees it */
	return 0;
}

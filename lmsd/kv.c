/*
 * kv.c -- the key/value service on the client port (put, get, cas,
 * delete), on top of the replicated key/value state machine of the storage
 * driver (pgs_kv_state_machine). Used by lms-admin, the cluster tests, the
 * linearizability checker and the benchmark.
 *
 * Validation that does not depend on state happens here, before anything
 * is proposed (DESIGN.md): keys are 1..PGS_KV_KEY_MAX bytes of UTF-8
 * without NUL; values are bounded by the frame limit. What depends on state
 * (a CAS mismatch, deleting an absent key) is decided by apply and comes
 * back as the recorded result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "util.h"

static bool kv_key_ok(struct call *c, const char *key)
{
	size_t len = key ? strlen(key) : 0;
	if (len == 0 || len > PGS_KV_KEY_MAX) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "key must be 1..%d bytes", PGS_KV_KEY_MAX);
		return false;
	}
	if (!lms_utf8_valid(key, len)) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "key is not valid UTF-8");
		return false;
	}
	return true;
}

/* Decodes the state machine's answer, or finishes the call with an error. */
static bool kv_result(struct call *c, const struct pgs_apply_result *res,
                      struct pgs_kv_result *kr)
{
	if (pgs_kv_decode_result(res->result, res->result_len, kr) != 0) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL,
		            "malformed result at index %llu",
		            (unsigned long long)res->index);
		return false;
	}
	if (kr->code == PGS_KV_BAD_COMMAND) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "command refused: %.*s", (int)kr->value_len,
		            (const char *)kr->value);
		return false;
	}
	return true;
}

static bool kv_copy(ProtobufCBinaryData *dst, const void *src, size_t len)
{
	dst->len = len;
	dst->data = malloc(len ? len : 1);
	if (!dst->data)
		return false;
	if (len)
		memcpy(dst->data, src, len);
	return true;
}

/* -------------------------------------------------------------- put */

static void kv_put_result(struct call *c, const struct pgs_apply_result *res)
{
	struct pgs_kv_result kr;
	if (!kv_result(c, res, &kr))
		return;
	Lms__Rpc__KvPutResponse *r = malloc(sizeof *r);
	if (!r) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return;
	}
	lms__rpc__kv_put_response__init(r);
	r->version = kr.version;
	c->resp.result_case = LMS__RPC__RESPONSE__RESULT_KV_PUT;
	c->resp.kv_put = r;
	c->result = &r->base;
	call_finish(c, LMS__RPC__STATUS__OK, "%s", "");
}

void kv_put(struct call *c)
{
	const Lms__Rpc__KvPutRequest *p = c->req->kv_put;
	if (!kv_key_ok(c, p->key))
		return;
	struct pgs_buf cmd = PGS_BUF_INIT;
	if (pgs_kv_encode_put(&cmd, p->key, p->value.data, p->value.len) != 0) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "could not encode the command");
		return;
	}
	node_propose(c, cmd.data, cmd.len, kv_put_result);
	pgs_buf_free(&cmd);
}

/* -------------------------------------------------------------- cas */

static void kv_cas_result(struct call *c, const struct pgs_apply_result *res)
{
	struct pgs_kv_result kr;
	if (!kv_result(c, res, &kr))
		return;
	Lms__Rpc__KvCasResponse *r = malloc(sizeof *r);
	if (!r) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return;
	}
	lms__rpc__kv_cas_response__init(r);
	c->resp.result_case = LMS__RPC__RESPONSE__RESULT_KV_CAS;
	c->resp.kv_cas = r;
	c->result = &r->base;
	r->version = kr.version;
	if (kr.code == PGS_KV_OK) {
		r->swapped = 1;
		r->found = 1;
	} else {
		r->found = kr.has_value;
		if (kr.has_value && !kv_copy(&r->current, kr.value, kr.value_len)) {
			call_finish(c, LMS__RPC__STATUS__INTERNAL,
			            "out of memory");
			return;
		}
	}
	call_finish(c, LMS__RPC__STATUS__OK, "%s",
	            r->swapped ? "" : "current value differs");
}

void kv_cas(struct call *c)
{
	const Lms__Rpc__KvCasRequest *p = c->req->kv_cas;
	if (!kv_key_ok(c, p->key))
		return;
	struct pgs_buf cmd = PGS_BUF_INIT;
	/* a non-NULL pointer for an empty expected value: NULL means absent */
	static const uint8_t empty[1];
	const void *expected = p->expect_absent
	                               ? NULL
	                               : (p->expected.len ? p->expected.data
	                                                  : empty);
	if (pgs_kv_encode_cas(&cmd, p->key, expected, p->expected.len,
	                      p->value.data, p->value.len) != 0) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "could not encode the command");
		return;
	}
	node_propose(c, cmd.data, cmd.len, kv_cas_result);
	pgs_buf_free(&cmd);
}

/* ----------------------------------------------------------- delete */

static void kv_delete_result(struct call *c,
                             const struct pgs_apply_result *res)
{
	struct pgs_kv_result kr;
	if (!kv_result(c, res, &kr))
		return;
	Lms__Rpc__KvDeleteResponse *r = malloc(sizeof *r);
	if (!r) {
		call_finish(c, LMS__RPC__STATUS__INTERNAL, "out of memory");
		return;
	}
	lms__rpc__kv_delete_response__init(r);
	r->found = kr.code == PGS_KV_OK;
	c->resp.result_case = LMS__RPC__RESPONSE__RESULT_KV_DELETE;
	c->resp.kv_delete = r;
	c->result = &r->base;
	call_finish(c, LMS__RPC__STATUS__OK, "%s", "");
}

void kv_delete(struct call *c)
{
	const Lms__Rpc__KvDeleteRequest *p = c->req->kv_delete;
	if (!kv_key_ok(c, p->key))
		return;
	struct pgs_buf cmd = PGS_BUF_INIT;
	if (pgs_kv_encode_delete(&cmd, p->key) != 0) {
		call_finish(c, LMS__RPC__STATUS__INVALID_ARGUMENT,
		            "could not encode the command");
		return;
	}
	node_propose(c, cmd.data, cmd.len, kv_delete_result);
	pgs_buf_free(&cmd);
}

/* -------------------------------------------------------------- get */

/* Runs on the reader thread: touches only this call and the handle. */
static void kv_get_run(struct call *c, struct pgs *reader)
{
	struct pgs_buf value = PGS_BUF_INIT;
	bool found = false;
	raft_index version = 0, applied = 0;
	int rv = pgs_kv_get(reader, c->req->kv_get->key, &value, &found,
	                    &version, &applied);
	if (rv != 0) {
		c->resp.status = LMS__RPC__STATUS__UNAVAILABLE;
		snprintf(c->message, sizeof c->message, "could not read: %s",
		         pgs_errmsg(reader));
		pgs_buf_free(&value);
		return;
	}
	Lms__Rpc__KvGetResponse *r = malloc(sizeof *r);
	if (!r) {
		c->resp.status = LMS__RPC__STATUS__INTERNAL;
		snprintf(c->message, sizeof c->message, "out of memory");
		pgs_buf_free(&value);
		return;
	}
	lms__rpc__kv_get_response__init(r);
	c->resp.result_case = LMS__RPC__RESPONSE__RESULT_KV_GET;
	c->resp.kv_get = r;
	c->result = &r->base;
	c->resp.applied_index = applied;
	r->found = found;
	r->version = version;
	if (found && !kv_copy(&r->value, value.data, value.len)) {
		c->resp.status = LMS__RPC__STATUS__INTERNAL;
		snprintf(c->message, sizeof c->message, "out of memory");
	} else {
		c->resp.status = LMS__RPC__STATUS__OK;
	}
	pgs_buf_free(&value);
}

void kv_get(struct call *c)
{
	if (!kv_key_ok(c, c->req->kv_get->key))
		return;
	node_read(c, kv_get_run);
}

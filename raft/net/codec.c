/*
 * codec.c -- struct raft_message <-> PeerFrame, with validation on decode.
 *
 * See codec.h for what is checked and who owns what. Encoding builds the
 * protobuf-c structs on the stack (the config's 16 servers) or in one
 * malloc'd block (an APPEND's entries), pointing at the caller's bytes
 * without copying them, packs once into a buffer that already has room for
 * the frame header, and frees the temporary structs. Decoding lets
 * protobuf-c unpack (it copies bytes fields into its own allocations), then
 * walks the result once, checking every field the core will trust.
 */
#include "codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

__attribute__((format(printf, 3, 4)))
static void codec_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *codec_type_name(unsigned type)
{
	static const char *const names[] = {
		"?", "PREVOTE", "PREVOTE_RESP", "VOTE", "VOTE_RESP", "APPEND",
		"APPEND_RESP", "SNAPSHOT", "SNAPSHOT_RESP", "TIMEOUT_NOW",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

const char *rnet_frame_body_name(const Lms__Raft__PeerFrame *f)
{
	switch (f->body_case) {
	case LMS__RAFT__PEER_FRAME__BODY_HELLO:
		return "hello";
	case LMS__RAFT__PEER_FRAME__BODY_CHALLENGE:
		return "challenge";
	case LMS__RAFT__PEER_FRAME__BODY_PROOF:
		return "proof";
	case LMS__RAFT__PEER_FRAME__BODY_RAFT:
		return "raft message";
	default:
		return "empty frame";
	}
}

/* ------------------------------------------------------------- encoding */

int rnet_frame_encode(const Lms__Raft__PeerFrame *f, uint8_t **buf,
		      size_t *len)
{
	size_t n = lms__raft__peer_frame__get_packed_size(f);
	uint8_t *out;

	*buf = NULL;
	*len = 0;
	if (n > UINT32_MAX)
		return -EMSGSIZE;
	out = malloc(LMS_FRAME_HEADER_BYTES + n);
	if (out == NULL)
		return -ENOMEM;
	lms_frame_put_header(out, (uint32_t)n);
	if (lms__raft__peer_frame__pack(f, out + LMS_FRAME_HEADER_BYTES) != n) {
		free(out);
		return -EINVAL; /* cannot happen: protobuf-c is consistent */
	}
	*buf = out;
	*len = LMS_FRAME_HEADER_BYTES + n;
	return 0;
}

/* Called after rnet_check: counts and addresses are known to be sane. */
static void encode_config(const struct raft_config *c, Lms__Raft__Config *pc,
			  Lms__Raft__Server *sv, Lms__Raft__Server **psv)
{
	for (unsigned i = 0; i < c->n; i++) {
		const struct raft_server *s = &c->servers[i];

		lms__raft__server__init(&sv[i]);
		sv[i].id = s->id;
		sv[i].role = (uint32_t)s->role;
		/* protobuf-c only reads it while packing. */
		sv[i].address = (char *)s->address;
		psv[i] = &sv[i];
	}
	pc->n_servers = c->n;
	pc->servers = c->n > 0 ? psv : NULL;
}

int rnet_encode(const struct raft_message *m, uint8_t **buf, size_t *len)
{
	Lms__Raft__PeerFrame f = LMS__RAFT__PEER_FRAME__INIT;
	Lms__Raft__RaftMessage pb = LMS__RAFT__RAFT_MESSAGE__INIT;
	Lms__Raft__Config pc = LMS__RAFT__CONFIG__INIT;
	Lms__Raft__Server sv[RAFT_MAX_SERVERS];
	Lms__Raft__Server *psv[RAFT_MAX_SERVERS];
	Lms__Raft__Entry *ents = NULL;
	Lms__Raft__Entry **pents = NULL;
	int rv;

	*buf = NULL;
	*len = 0;
	rv = rnet_check(m, SIZE_MAX, NULL, 0);
	if (rv != 0)
		return rv;
	pb.type = (uint32_t)m->type;
	pb.from = m->from;
	pb.to = m->to;
	pb.term = m->term;

	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		pb.last_log_index = m->vote.last_log_index;
		pb.last_log_term = m->vote.last_log_term;
		pb.transfer = m->vote.transfer;
		break;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		pb.granted = m->vote_resp.granted;
		break;
	case RAFT_MSG_APPEND: {
		size_t n = m->append.n_entries;

		pb.prev_index = m->append.prev_index;
		pb.prev_term = m->append.prev_term;
		pb.commit = m->append.commit;
		pb.read_ctx = m->append.read_ctx;
		if (n == 0)
			break;
		if (n > SIZE_MAX / (sizeof(*ents) + sizeof(*pents)))
			return -ENOMEM;
		/* One block: n structs, then n pointers to them. */
		ents = malloc(n * (sizeof(*ents) + sizeof(*pents)));
		if (ents == NULL)
			return -ENOMEM;
		pents = (Lms__Raft__Entry **)(ents + n);
		for (size_t i = 0; i < n; i++) {
			const struct raft_entry *e = &m->append.entries[i];

			lms__raft__entry__init(&ents[i]);
			ents[i].term = e->term;
			ents[i].index = e->index;
			ents[i].type = (uint32_t)e->type;
			ents[i].data.data = (uint8_t *)e->data;
			ents[i].data.len = e->len;
			pents[i] = &ents[i];
		}
		pb.n_entries = n;
		pb.entries = pents;
		break;
	}
	case RAFT_MSG_APPEND_RESP:
		pb.success = m->append_resp.success;
		pb.index = m->append_resp.index;
		pb.conflict_term = m->append_resp.conflict_term;
		pb.conflict_index = m->append_resp.conflict_index;
		pb.last_index = m->append_resp.last_index;
		pb.read_ctx = m->append_resp.read_ctx;
		break;
	case RAFT_MSG_SNAPSHOT:
		encode_config(&m->snapshot.config, &pc, sv, psv);
		pb.snap_index = m->snapshot.index;
		pb.snap_term = m->snapshot.snap_term;
		pb.config = &pc;
		pb.offset = m->snapshot.offset;
		pb.total = m->snapshot.total;
		pb.data.data = (uint8_t *)m->snapshot.data;
		pb.data.len = m->snapshot.len;
		pb.done = m->snapshot.done;
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		pb.snap_index = m->snapshot_resp.index;
		pb.next_offset = m->snapshot_resp.next_offset;
		pb.rejected = m->snapshot_resp.rejected;
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	}

	f.body_case = LMS__RAFT__PEER_FRAME__BODY_RAFT;
	f.raft = &pb;
	rv = rnet_frame_encode(&f, buf, len);
	free(ents);
	return rv;
}

/* -------------------------------------------------------------- checks */

static int check_config(const struct raft_config *c, char *err,
			size_t errlen)
{
	if (c->n > RAFT_MAX_SERVERS) {
		codec_err(err, errlen, "config has %u servers, limit %d", c->n,
			  RAFT_MAX_SERVERS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->n; i++) {
		const struct raft_server *s = &c->servers[i];

		if (s->id == 0) {
			codec_err(err, errlen, "config server %u has id 0", i);
			return -EINVAL;
		}
		if (s->role != RAFT_VOTER && s->role != RAFT_NONVOTER) {
			codec_err(err, errlen, "config server %u has role %d",
				  i, s->role);
			return -EINVAL;
		}
		if (memchr(s->address, '\0', RAFT_ADDRESS_MAX) == NULL) {
			codec_err(err, errlen,
				  "config server %u address too long", i);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++) {
			if (c->servers[j].id == s->id) {
				codec_err(err, errlen,
					  "config lists server %llu twice",
					  (unsigned long long)s->id);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int check_entries(const struct raft_message *m, size_t max_entries,
			 char *err, size_t errlen)
{
	size_t n = m->append.n_entries;

	if (n == 0)
		return 0;
	if (n > max_entries) {
		codec_err(err, errlen, "%zu entries, limit %zu", n,
			  max_entries);
		return -EINVAL;
	}
	if (m->append.entries == NULL) {
		codec_err(err, errlen, "%zu entries without an array", n);
		return -EINVAL;
	}
	if (m->append.prev_index > UINT64_MAX - n) {
		codec_err(err, errlen, "entry index overflows");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct raft_entry *e = &m->append.entries[i];

		/* Section 5.3: the entries follow prev_index directly. */
		if (e->index != m->append.prev_index + 1 + i) {
			codec_err(err, errlen,
				  "entry %zu has index %llu, expected %llu", i,
				  (unsigned long long)e->index,
				  (unsigned long long)(m->append.prev_index +
						       1 + i));
			return -EINVAL;
		}
		if (e->type < RAFT_ENTRY_NORMAL || e->type > RAFT_ENTRY_CONFIG) {
			codec_err(err, errlen, "entry %zu has type %d", i,
				  e->type);
			return -EINVAL;
		}
		if (e->data == NULL && e->len > 0) {
			codec_err(err, errlen, "entry %zu has no data", i);
			return -EINVAL;
		}
	}
	return 0;
}

int rnet_check(const struct raft_message *m, size_t max_entries, char *err,
	       size_t errlen)
{
	if (m->type < RAFT_MSG_PREVOTE || m->type > RAFT_MSG_TIMEOUT_NOW) {
		codec_err(err, errlen, "message type %d out of range",
			  m->type);
		return -EINVAL;
	}
	if (m->from == 0 || m->to == 0) {
		codec_err(err, errlen, "%s with %s id 0",
			  codec_type_name((unsigned)m->type),
			  m->from == 0 ? "sender" : "receiver");
		return -EINVAL;
	}
	if (m->type == RAFT_MSG_APPEND)
		return check_entries(m, max_entries, err, errlen);
	if (m->type == RAFT_MSG_SNAPSHOT) {
		uint64_t off = m->snapshot.offset, total = m->snapshot.total;
		size_t len = m->snapshot.len;

		if (m->snapshot.data == NULL && len > 0) {
			codec_err(err, errlen,
				  "snapshot chunk of %zu bytes without data",
				  len);
			return -EINVAL;
		}
		if (off > total || len > total - off) {
			codec_err(err, errlen,
				  "snapshot chunk [%llu, +%zu) beyond total %llu",
				  (unsigned long long)off, len,
				  (unsigned long long)total);
			return -EINVAL;
		}
		if (m->snapshot.done && off + len != total) {
			codec_err(err, errlen,
				  "last snapshot chunk ends before total");
			return -EINVAL;
		}
		return check_config(&m->snapshot.config, err, errlen);
	}
	return 0;
}

/* ------------------------------------------------------------- decoding */

int rnet_frame_decode(const void *payload, size_t len,
		      Lms__Raft__PeerFrame **out, char *err, size_t errlen)
{
	Lms__Raft__PeerFrame *f;

	*out = NULL;
	f = lms__raft__peer_frame__unpack(NULL, len, payload);
	if (f == NULL) {
		codec_err(err, errlen, "%zu bytes do not decode as a frame",
			  len);
		return -EINVAL;
	}
	switch (f->body_case) {
	case LMS__RAFT__PEER_FRAME__BODY_HELLO:
	case LMS__RAFT__PEER_FRAME__BODY_CHALLENGE:
	case LMS__RAFT__PEER_FRAME__BODY_PROOF:
	case LMS__RAFT__PEER_FRAME__BODY_RAFT:
		if (f->hello != NULL) /* any member: they share storage */
			break;
		/* fall through */
	default:
		lms__raft__peer_frame__free_unpacked(f, NULL);
		codec_err(err, errlen, "frame without a body");
		return -EINVAL;
	}
	*out = f;
	return 0;
}

/* Copy what struct raft_config can hold; check_config judges the rest. */
static int decode_config(const Lms__Raft__Config *pc, struct raft_config *c,
			 char *err, size_t errlen)
{
	if (pc == NULL)
		return 0;
	if (pc->n_servers > RAFT_MAX_SERVERS) {
		codec_err(err, errlen, "config has %zu servers, limit %d",
			  pc->n_servers, RAFT_MAX_SERVERS);
		return -EINVAL;
	}
	for (size_t i = 0; i < pc->n_servers; i++) {
		const Lms__Raft__Server *s = pc->servers[i];
		size_t alen;

		if (s == NULL)
			return -EINVAL;
		alen = s->address != NULL ?
			strnlen(s->address, RAFT_ADDRESS_MAX) : 0;
		if (alen >= RAFT_ADDRESS_MAX) {
			codec_err(err, errlen,
				  "config server %zu address too long", i);
			return -EINVAL;
		}
		if (s->role > RAFT_NONVOTER) {
			codec_err(err, errlen, "config server %zu has role %u",
				  i, s->role);
			return -EINVAL;
		}
		c->servers[i].id = s->id;
		c->servers[i].role = (int)s->role;
		if (alen > 0)
			memcpy(c->servers[i].address, s->address, alen);
		c->servers[i].address[alen] = '\0';
	}
	c->n = (unsigned)pc->n_servers;
	return 0;
}

static int decode_entries(const Lms__Raft__RaftMessage *pb,
			  size_t max_entries, struct raft_message *m,
			  struct raft_entry **entries, char *err,
			  size_t errlen)
{
	size_t n = pb->n_entries;
	struct raft_entry *es;

	if (n == 0)
		return 0;
	/* Before allocating: the bound is what keeps this cheap. */
	if (n > max_entries) {
		codec_err(err, errlen, "%zu entries, limit %zu", n,
			  max_entries);
		return -EINVAL;
	}
	es = calloc(n, sizeof(*es));
	if (es == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const Lms__Raft__Entry *e = pb->entries[i];

		if (e == NULL) {
			free(es);
			return -EINVAL;
		}
		if (e->type > RAFT_ENTRY_CONFIG) { /* keep the int cast sane */
			codec_err(err, errlen, "entry %zu has type %u", i,
				  e->type);
			free(es);
			return -EINVAL;
		}
		es[i].term = e->term;
		es[i].index = e->index;
		es[i].type = (int)e->type;
		es[i].data = e->data.len > 0 ? e->data.data : NULL;
		es[i].len = e->data.len;
	}
	*entries = es;
	m->append.entries = es;
	m->append.n_entries = n;
	return 0;
}

int rnet_raft_from_pb(const Lms__Raft__RaftMessage *pb, size_t max_entries,
		      struct raft_message *m, struct raft_entry **entries,
		      char *err, size_t errlen)
{
	int rv = 0;

	memset(m, 0, sizeof(*m));
	*entries = NULL;
	if (pb->type < RAFT_MSG_PREVOTE || pb->type > RAFT_MSG_TIMEOUT_NOW) {
		codec_err(err, errlen, "message type %u out of range",
			  pb->type);
		return -EINVAL;
	}
	/* Fields the type does not use stay at their defaults (raft.proto). */
	if (pb->type != RAFT_MSG_APPEND && pb->n_entries > 0) {
		codec_err(err, errlen, "%s carries entries",
			  codec_type_name(pb->type));
		return -EINVAL;
	}
	if (pb->type != RAFT_MSG_SNAPSHOT &&
	    (pb->config != NULL || pb->data.len > 0)) {
		codec_err(err, errlen, "%s carries snapshot data",
			  codec_type_name(pb->type));
		return -EINVAL;
	}

	m->type = (int)pb->type;
	m->from = pb->from;
	m->to = pb->to;
	m->term = pb->term;
	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		m->vote.last_log_index = pb->last_log_index;
		m->vote.last_log_term = pb->last_log_term;
		m->vote.transfer = pb->transfer != 0;
		break;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		m->vote_resp.granted = pb->granted != 0;
		break;
	case RAFT_MSG_APPEND:
		m->append.prev_index = pb->prev_index;
		m->append.prev_term = pb->prev_term;
		m->append.commit = pb->commit;
		m->append.read_ctx = pb->read_ctx;
		rv = decode_entries(pb, max_entries, m, entries, err, errlen);
		break;
	case RAFT_MSG_APPEND_RESP:
		m->append_resp.success = pb->success != 0;
		m->append_resp.index = pb->index;
		m->append_resp.conflict_term = pb->conflict_term;
		m->append_resp.conflict_index = pb->conflict_index;
		m->append_resp.last_index = pb->last_index;
		m->append_resp.read_ctx = pb->read_ctx;
		break;
	case RAFT_MSG_SNAPSHOT:
		m->snapshot.index = pb->snap_index;
		m->snapshot.snap_term = pb->snap_term;
		m->snapshot.offset = pb->offset;
		m->snapshot.total = pb->total;
		m->snapshot.data = pb->data.len > 0 ? pb->data.data : NULL;
		m->snapshot.len = pb->data.len;
		m->snapshot.done = pb->done != 0;
		rv = decode_config(pb->config, &m->snapshot.config, err,
				   errlen);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		m->snapshot_resp.index = pb->snap_index;
		m->snapshot_resp.next_offset = pb->next_offset;
		m->snapshot_resp.rejected = pb->rejected != 0;
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	}
	if (rv == 0)
		rv = rnet_check(m, max_entries, err, errlen);
	if (rv != 0) {
		free(*entries);
		*entries = NULL;
		memset(m, 0, sizeof(*m));
	}
	return rv;
}

int rnet_decode(const void *payload, size_t len, struct rnet_decoded *out,
		char *err, size_t errlen)
{
	int rv;

	memset(out, 0, sizeof(*out));
	rv = rnet_frame_decode(payload, len, &out->frame, err, errlen);
	if (rv != 0)
		return rv;
	if (out->frame->body_case != LMS__RAFT__PEER_FRAME__BODY_RAFT) {
		codec_err(err, errlen, "expected a raft message, got %s",
			  rnet_frame_body_name(out->frame));
		rv = -EINVAL;
		goto err_after_frame;
	}
	rv = rnet_raft_from_pb(out->frame->raft, RNET_MAX_ENTRIES, &out->msg,
			       &out->entries, err, errlen);
	if (rv != 0)
		goto err_after_frame;
	return 0;

err_after_frame:
	lms__raft__peer_frame__free_unpacked(out->frame, NULL);
	memset(out, 0, sizeof(*out));
	return rv;
}

void rnet_decoded_free(struct rnet_decoded *d)
{
	if (d->frame != NULL)
		lms__raft__peer_frame__free_unpacked(d->frame, NULL);
	free(d->entries);
	memset(d, 0, sizeof(*d));
}

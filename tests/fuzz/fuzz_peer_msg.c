/*
 * fuzz_peer_msg.c -- what the peer port does with the frames a peer sends:
 * raft/net/codec.c's decoding and validation of every PeerFrame body, then
 * the step into the Raft core (raft_step) of each RaftMessage that passes.
 *
 * Input: 1 byte choosing the state of the core that receives, 8 bytes
 * seeding the ticks between messages, then a stream of frames (4-byte
 * big-endian length, PeerFrame payload) as a peer would write them.
 *
 * For every frame payload:
 *   - rnet_frame_decode (any body: hello, challenge, proof, raft message)
 *     and rnet_decode (a raft message) must agree with each other and with
 *     rnet_raft_from_pb on the frame's RaftMessage (the path of
 *     raft/net/inbound.c after the handshake);
 *   - what decodes must pass rnet_check, encode again (rnet_encode) and
 *     decode to the same message: "what one side encodes the other
 *     accepts" (codec.h);
 *   - the message is stepped into a core, as inbound.c hands it to lmsd's
 *     node_on_message, then the core's ready batches are drained as lmsd
 *     does (persisted, sent, applied: here, checked and dropped). inbound.c
 *     only delivers messages addressed to this node from the authenticated
 *     peer, so `to` is set to the core's id and a message "from" itself is
 *     taken as from node 2: the fuzzer does not have to guess ids.
 *
 * Checked on the core's output: every message it wants sent passes
 * rnet_check and encodes (the transport could carry it), log entries and
 * committed entries are contiguous, the persisted term never goes down.
 * The core's own assert()s are on (LMS_FUZZ builds with -UNDEBUG).
 *
 * The core: server 1 of {1, 2, 3}, in one of four states (first byte):
 * a follower just bootstrapped, a leader just elected (in term 1, with
 * server 2's votes and acknowledgements; 3 never answered), the same
 * leader with committed entries up to 5 and a snapshot there (3 gets
 * SNAPSHOT chunks of 64 bytes), or a server that joins and has nothing
 * yet.
 *
 * Not covered here: the handshake handlers of inbound.c (hello, proof),
 * which are static and run on a socket; tests/raft_net/test_hostile.c
 * drives them over TCP.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "fuzz_util.h"
#include "raft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SELF 1
#define MAX_FRAMES_PER_INPUT 256
#define SETUP_STEPS 400

enum core_mode {
	MODE_FOLLOWER = 0,
	MODE_LEADER = 1,
	MODE_LEADER_SNAPSHOT = 2,
	MODE_JOINING = 3,
};

struct harness {
	struct raft *r;
	raft_term persisted_term;
	raft_index last_committed;
	bool auto_respond;        /* setup: play peer 2 */
	struct raft_message replies[64];
	size_t n_replies;
};

/* ------------------------------------------------------------ compare */

static bool entries_equal(const struct raft_entry *a,
			  const struct raft_entry *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].term != b[i].term || a[i].index != b[i].index ||
		    a[i].type != b[i].type || a[i].len != b[i].len)
			return false;
		if (a[i].len > 0 && memcmp(a[i].data, b[i].data, a[i].len) != 0)
			return false;
	}
	return true;
}

static bool config_equal(const struct raft_config *a,
			 const struct raft_config *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (a->servers[i].id != b->servers[i].id ||
		    a->servers[i].role != b->servers[i].role ||
		    strcmp(a->servers[i].address, b->servers[i].address) != 0)
			return false;
	return true;
}

static bool msg_equal(const struct raft_message *a,
		      const struct raft_message *b)
{
	if (a->type != b->type || a->from != b->from || a->to != b->to ||
	    a->term != b->term)
		return false;
	switch (a->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		return a->vote.last_log_index == b->vote.last_log_index &&
		       a->vote.last_log_term == b->vote.last_log_term &&
		       a->vote.transfer == b->vote.transfer;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		return a->vote_resp.granted == b->vote_resp.granted;
	case RAFT_MSG_APPEND:
		return a->append.prev_index == b->append.prev_index &&
		       a->append.prev_term == b->append.prev_term &&
		       a->append.commit == b->append.commit &&
		       a->append.read_ctx == b->append.read_ctx &&
		       a->append.n_entries == b->append.n_entries &&
		       entries_equal(a->append.entries, b->append.entries,
				     a->append.n_entries);
	case RAFT_MSG_APPEND_RESP:
		return a->append_resp.success == b->append_resp.success &&
		       a->append_resp.index == b->append_resp.index &&
		       a->append_resp.conflict_term ==
			       b->append_resp.conflict_term &&
		       a->append_resp.conflict_index ==
			       b->append_resp.conflict_index &&
		       a->append_resp.last_index == b->append_resp.last_index &&
		       a->append_resp.read_ctx == b->append_resp.read_ctx;
	case RAFT_MSG_SNAPSHOT:
		return a->snapshot.index == b->snapshot.index &&
		       a->snapshot.snap_term == b->snapshot.snap_term &&
		       config_equal(&a->snapshot.config, &b->snapshot.config) &&
		       a->snapshot.offset == b->snapshot.offset &&
		       a->snapshot.total == b->snapshot.total &&
		       a->snapshot.len == b->snapshot.len &&
		       a->snapshot.done == b->snapshot.done &&
		       (a->snapshot.len == 0 ||
			memcmp(a->snapshot.data, b->snapshot.data,
			       a->snapshot.len) == 0);
	case RAFT_MSG_SNAPSHOT_RESP:
		return a->snapshot_resp.index == b->snapshot_resp.index &&
		       a->snapshot_resp.next_offset ==
			       b->snapshot_resp.next_offset &&
		       a->snapshot_resp.rejected == b->snapshot_resp.rejected;
	default:
		return true;
	}
}

/* --------------------------------------------------------- the core */

/* A message the core wants sent: the transport must be able to carry it
 * (it fills a SNAPSHOT chunk's bytes first, as raft.h says). */
static void check_outgoing(const struct raft_message *m)
{
	static uint8_t chunk[1 << 16];
	struct raft_message c = *m;
	uint8_t *buf;
	size_t len;

	FUZZ_CHECK(m->from == SELF);
	FUZZ_CHECK(m->to != 0 && m->to != SELF);
	if (c.type == RAFT_MSG_SNAPSHOT && c.snapshot.data == NULL &&
	    c.snapshot.len > 0) {
		FUZZ_CHECK(c.snapshot.len <= sizeof(chunk));
		c.snapshot.data = chunk;
	}
	FUZZ_CHECK(rnet_check(&c, SIZE_MAX, NULL, 0) == 0);
	FUZZ_CHECK(rnet_encode(&c, &buf, &len) == 0);
	free(buf);
}

/* Setup only: peer 2 grants every vote and accepts every append; peer 3
 * stays silent, so a leader has a follower to catch up (with a snapshot
 * once its log is compacted). */
static void auto_reply(struct harness *h, const struct raft_message *m)
{
	struct raft_message *r;

	if (!h->auto_respond || m->to != 2 ||
	    h->n_replies == sizeof(h->replies) / sizeof(h->replies[0]))
		return;
	r = &h->replies[h->n_replies];
	memset(r, 0, sizeof(*r));
	r->from = m->to;
	r->to = m->from;
	r->term = m->term;
	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		r->type = m->type == RAFT_MSG_PREVOTE ? RAFT_MSG_PREVOTE_RESP :
							RAFT_MSG_VOTE_RESP;
		r->vote_resp.granted = true;
		break;
	case RAFT_MSG_APPEND:
		r->type = RAFT_MSG_APPEND_RESP;
		r->append_resp.success = true;
		r->append_resp.index =
			m->append.prev_index + m->append.n_entries;
		r->append_resp.last_index = r->append_resp.index;
		r->append_resp.read_ctx = m->append.read_ctx;
		break;
	default:
		return;
	}
	h->n_replies++;
}

static void drain(struct harness *h)
{
	while (raft_has_ready(h->r)) {
		struct raft_ready rd;

		raft_ready(h->r, &rd);
		if (rd.has_hard_state) {
			FUZZ_CHECK(rd.hard_state.term >= h->persisted_term);
			h->persisted_term = rd.hard_state.term;
		}
		for (size_t i = 1; i < rd.n_entries; i++)
			FUZZ_CHECK(rd.entries[i].index ==
				   rd.entries[i - 1].index + 1);
		if (rd.has_install_snapshot)
			h->last_committed = rd.install_snapshot.index;
		for (size_t i = 0; i < rd.n_committed; i++) {
			FUZZ_CHECK(h->last_committed == 0 ||
				   rd.committed[i].index ==
					   h->last_committed + 1);
			h->last_committed = rd.committed[i].index;
		}
		for (size_t i = 0; i < rd.n_messages_now; i++) {
			check_outgoing(&rd.messages_now[i]);
			auto_reply(h, &rd.messages_now[i]);
		}
		for (size_t i = 0; i < rd.n_messages; i++) {
			check_outgoing(&rd.messages[i]);
			auto_reply(h, &rd.messages[i]);
		}
		raft_advance(h->r, &rd);
	}
}

static void step_replies(struct harness *h)
{
	while (h->n_replies > 0) {
		struct raft_message batch[64];
		size_t n = h->n_replies;

		memcpy(batch, h->replies, n * sizeof(batch[0]));
		h->n_replies = 0;
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(raft_step(h->r, &batch[i]) == 0);
			drain(h);
		}
	}
}

static struct raft_config three(void)
{
	struct raft_config c;

	memset(&c, 0, sizeof(c));
	c.n = 3;
	for (unsigned k = 0; k < 3; k++) {
		c.servers[k].id = k + 1;
		c.servers[k].role = RAFT_VOTER;
		snprintf(c.servers[k].address, RAFT_ADDRESS_MAX,
			 "127.0.1.%u:710%u|127.0.1.%u:720%u", k + 1, k + 1,
			 k + 1, k + 1);
	}
	return c;
}

static bool setup(struct harness *h, enum core_mode mode)
{
	struct raft_options o;
	struct raft_initial_state s;
	char err[256];

	memset(h, 0, sizeof(*h));
	raft_options_default(&o);
	o.id = SELF;
	o.seed = 7;
	o.max_inflight = 4;
	o.snapshot_trailing = 0;
	o.snapshot_chunk_bytes = 64;
	o.max_entries_per_msg = 8;
	memset(&s, 0, sizeof(s));
	if (mode != MODE_JOINING)
		s.bootstrap = three();
	h->r = raft_new(&o, &s, err, sizeof(err));
	if (h->r == NULL) {
		fprintf(stderr, "raft_new: %s\n", err);
		abort();
	}
	drain(h);
	if (mode != MODE_LEADER && mode != MODE_LEADER_SNAPSHOT)
		return true;

	h->auto_respond = true;
	for (int i = 0; i < SETUP_STEPS && raft_role(h->r) != RAFT_LEADER;
	     i++) {
		raft_tick(h->r);
		drain(h);
		step_replies(h);
	}
	FUZZ_CHECK(raft_role(h->r) == RAFT_LEADER);
	if (mode == MODE_LEADER_SNAPSHOT) {
		struct raft_status st;

		for (int i = 0; i < 3; i++)
			FUZZ_CHECK(raft_propose(h->r, "entry", 5, NULL,
						NULL) == 0);
		for (int i = 0; i < 4; i++) {
			drain(h);
			step_replies(h);
			raft_tick(h->r);
		}
		drain(h);
		raft_status(h->r, &st);
		FUZZ_CHECK(st.applied_index >= 4);
		FUZZ_CHECK(raft_snapshot_taken(h->r, st.applied_index, 1000,
					       NULL) == 0);
		drain(h);
	}
	h->auto_respond = false;
	h->n_replies = 0;
	return true;
}

/* ------------------------------------------------------------ frames */

static void one_frame(struct harness *h, const uint8_t *p, size_t len,
		      struct fz_cuts *ticks)
{
	Lms__Raft__PeerFrame *f;
	struct rnet_decoded d, d2;
	struct raft_message m;
	struct raft_entry *entries;
	char err[128];
	uint8_t *buf;
	size_t blen;
	uint64_t r;
	int rv_frame, rv_dec, rv_pb;

	rv_frame = rnet_frame_decode(p, len, &f, err, sizeof(err));
	rv_dec = rnet_decode(p, len, &d, err, sizeof(err));
	if (rv_frame != 0) {
		FUZZ_CHECK(f == NULL && rv_dec != 0);
		return;
	}
	FUZZ_CHECK(rnet_frame_body_name(f) != NULL);
	if (f->body_case != LMS__RAFT__PEER_FRAME__BODY_RAFT) {
		/* Handshake bodies: what inbound.c reads of them. */
		FUZZ_CHECK(rv_dec != 0);
		if (f->body_case == LMS__RAFT__PEER_FRAME__BODY_HELLO &&
		    f->hello->cluster != NULL)
			(void)strlen(f->hello->cluster);
		lms__raft__peer_frame__free_unpacked(f, NULL);
		return;
	}
	rv_pb = rnet_raft_from_pb(f->raft, RNET_MAX_ENTRIES, &m, &entries,
				  err, sizeof(err));
	FUZZ_CHECK((rv_pb == 0) == (rv_dec == 0));
	if (rv_pb != 0) {
		FUZZ_CHECK(entries == NULL);
		lms__raft__peer_frame__free_unpacked(f, NULL);
		return;
	}
	FUZZ_CHECK(msg_equal(&m, &d.msg));
	FUZZ_CHECK(rnet_check(&m, RNET_MAX_ENTRIES, NULL, 0) == 0);

	/* Round trip through the encoder. */
	FUZZ_CHECK(rnet_encode(&m, &buf, &blen) == 0);
	FUZZ_CHECK(blen >= LMS_FRAME_HEADER_BYTES);
	FUZZ_CHECK(rnet_decode(buf + LMS_FRAME_HEADER_BYTES,
			       blen - LMS_FRAME_HEADER_BYTES, &d2, err,
			       sizeof(err)) == 0);
	FUZZ_CHECK(msg_equal(&m, &d2.msg));
	rnet_decoded_free(&d2);
	free(buf);

	/* Into the core, as inbound.c delivers it. */
	m.to = SELF;
	if (m.from == SELF)
		m.from = 2;
	FUZZ_CHECK(raft_step(h->r, &m) == 0);
	drain(h);
	/* Now and then some time passes (up to an election timeout). */
	r = fz_cuts_next(ticks);
	for (unsigned t = (r & 3) == 3 ? (unsigned)(r >> 2) % 12 : 0; t > 0;
	     t--) {
		raft_tick(h->r);
		drain(h);
	}

	free(entries);
	rnet_decoded_free(&d);
	lms__raft__peer_frame__free_unpacked(f, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	enum core_mode mode = (enum core_mode)(fz_u8(&f) % 4);
	struct fz_cuts ticks = fz_cuts_init(fz_u64(&f));
	struct lms_frame_reader rd;
	struct harness h;
	const uint8_t *payload;
	size_t len;
	int n = 0;

	if (!setup(&h, mode))
		return 0;
	lms_frame_reader_init(&rd, 1u << 20);
	if (lms_frame_reader_feed(&rd, f.p, f.n) == 0) {
		lms_frame_reader_eof(&rd);
		while (n++ < MAX_FRAMES_PER_INPUT &&
		       lms_frame_reader_next(&rd, &payload, &len) == 1)
			one_frame(&h, payload, len, &ticks);
	}
	lms_frame_reader_free(&rd);
	raft_free(h.r);
	return 0;
}

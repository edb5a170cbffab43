/*
 * test_codec.c -- raft/net/codec.c: struct raft_message <-> PeerFrame.
 *
 * Why: every Raft message between nodes goes through this conversion, and
 * it is the first code that touches bytes from the network. The cases:
 * a round trip of each of the 9 message types (APPEND with entries of all
 * three entry types, heartbeats without entries, snapshot chunks first /
 * middle / last / empty with a full 16-server configuration, extreme
 * values); encode refusing messages the receiver would reject; decode
 * refusing each invalid field with a reason; and a loop of random and
 * mutated inputs that must never crash (run it under ASan/UBSan) and may
 * only produce messages that pass rnet_check and re-encode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "net_harness.h"

/* Encode, check the frame header, decode, compare. */
static void round_trip(const struct raft_message *m)
{
	struct rnet_decoded d;
	uint8_t *buf;
	size_t len, plen = 0;
	char err[128] = "";

	assert_int_equal(rnet_encode(m, &buf, &len), 0);
	assert_true(len >= LMS_FRAME_HEADER_BYTES);
	assert_int_equal(lms_frame_peek(buf, len, len, &plen), 1);
	assert_int_equal(plen + LMS_FRAME_HEADER_BYTES, len);
	assert_int_equal(rnet_decode(buf + 4, plen, &d, err, sizeof(err)), 0);
	nh_assert_msg_equal(m, &d.msg);
	rnet_decoded_free(&d);
	free(buf);
}

static void test_round_trip_all_types(void **state)
{
	for (int type = RAFT_MSG_PREVOTE; type <= RAFT_MSG_TIMEOUT_NOW;
	     type++) {
		struct nh_msg s;

		nh_sample(&s, type, 3, 5);
		round_trip(&s.m);
	}
}

static void test_round_trip_append_variants(void **state)
{
	struct nh_msg s;
	struct raft_entry many[300];

	/* Heartbeat: no entries. */
	nh_sample(&s, RAFT_MSG_APPEND, 1, 2);
	s.m.append.entries = NULL;
	s.m.append.n_entries = 0;
	round_trip(&s.m);

	/* A batch; entry data pointers must be preserved by content. */
	for (size_t i = 0; i < 300; i++) {
		many[i].term = 1 + i / 100;
		many[i].index = 1 + i;
		many[i].type = (int)(i % 3) + 1;
		many[i].data = i % 3 == 1 ? NULL : s.blob + i % 200;
		many[i].len = i % 3 == 1 ? 0 : i % 300;
		if (many[i].len > sizeof(s.blob) - i % 200)
			many[i].len = sizeof(s.blob) - i % 200;
	}
	s.m.append.prev_index = 0;
	s.m.append.entries = many;
	s.m.append.n_entries = 300;
	round_trip(&s.m);
}

static void test_round_trip_snapshot_chunks(void **state)
{
	struct nh_msg s;

	nh_sample(&s, RAFT_MSG_SNAPSHOT, 1, 2);
	/* First chunk of three. */
	s.m.snapshot.offset = 0;
	s.m.snapshot.total = 900;
	s.m.snapshot.len = 300;
	s.m.snapshot.done = false;
	round_trip(&s.m);
	/* Middle chunk. */
	s.m.snapshot.offset = 300;
	round_trip(&s.m);
	/* Last chunk. */
	s.m.snapshot.offset = 600;
	s.m.snapshot.done = true;
	round_trip(&s.m);
	/* An empty snapshot: one empty, final chunk; empty config too. */
	s.m.snapshot.offset = 0;
	s.m.snapshot.total = 0;
	s.m.snapshot.data = NULL;
	s.m.snapshot.len = 0;
	s.m.snapshot.config.n = 0;
	round_trip(&s.m);
}

static void test_round_trip_extremes(void **state)
{
	struct nh_msg s;

	nh_sample(&s, RAFT_MSG_APPEND_RESP, UINT64_MAX, UINT64_MAX - 1);
	s.m.term = UINT64_MAX;
	s.m.append_resp.success = true;
	s.m.append_resp.index = UINT64_MAX;
	round_trip(&s.m);

	nh_sample(&s, RAFT_MSG_VOTE, 1, 2);
	s.m.term = 0;
	s.m.vote.last_log_index = 0;
	s.m.vote.last_log_term = 0;
	s.m.vote.transfer = false;
	round_trip(&s.m);

	/* Entries ending exactly at UINT64_MAX. */
	nh_sample(&s, RAFT_MSG_APPEND, 1, 2);
	s.m.append.prev_index = UINT64_MAX - 4;
	for (int i = 0; i < 4; i++)
		s.entries[i].index = UINT64_MAX - 3 + (raft_index)i;
	round_trip(&s.m);
}

static void expect_encode_einval(const struct raft_message *m)
{
	uint8_t *buf = (uint8_t *)1;
	size_t len = 1;

	assert_int_equal(rnet_encode(m, &buf, &len), -EINVAL);
	assert_null(buf);
	assert_int_equal(len, 0);
}

static void test_encode_rejects_invalid(void **state)
{
	struct nh_msg s;

	nh_sample(&s, RAFT_MSG_VOTE, 1, 2);
	s.m.type = 0;
	expect_encode_einval(&s.m);
	s.m.type = 10;
	expect_encode_einval(&s.m);

	nh_sample(&s, RAFT_MSG_VOTE, 0, 2);
	expect_encode_einval(&s.m);
	nh_sample(&s, RAFT_MSG_VOTE, 1, 0);
	expect_encode_einval(&s.m);

	nh_sample(&s, RAFT_MSG_APPEND, 1, 2);
	s.entries[1].type = 4;
	expect_encode_einval(&s.m);
	nh_sample(&s, RAFT_MSG_APPEND, 1, 2);
	s.entries[2].index = 99; /* not prev_index + 3 */
	expect_encode_einval(&s.m);
	nh_sample(&s, RAFT_MSG_APPEND, 1, 2);
	s.entries[0].data = NULL;
	expect_encode_einval(&s.m);
	nh_sample(&s, RAFT_MSG_APPEND, 1, 2);
	s.m.append.entries = NULL;
	expect_encode_einval(&s.m);

	/* A chunk the transport's caller forgot to fill (raft.h). */
	nh_sample(&s, RAFT_MSG_SNAPSHOT, 1, 2);
	s.m.snapshot.data = NULL;
	expect_encode_einval(&s.m);
	nh_sample(&s, RAFT_MSG_SNAPSHOT, 1, 2);
	s.m.snapshot.total = 1299;
	expect_encode_einval(&s.m);
	nh_sample(&s, RAFT_MSG_SNAPSHOT, 1, 2);
	s.m.snapshot.done = true;
	s.m.snapshot.total = 5000;
	expect_encode_einval(&s.m);
	nh_sample(&s, RAFT_MSG_SNAPSHOT, 1, 2);
	s.m.snapshot.config.n = RAFT_MAX_SERVERS + 1;
	expect_encode_einval(&s.m);
	nh_sample(&s, RAFT_MSG_SNAPSHOT, 1, 2);
	memset(s.m.snapshot.config.servers[3].address, 'x', RAFT_ADDRESS_MAX);
	expect_encode_einval(&s.m);
	nh_sample(&s, RAFT_MSG_SNAPSHOT, 1, 2);
	s.m.snapshot.config.servers[3].role = 0;
	expect_encode_einval(&s.m);
	nh_sample(&s, RAFT_MSG_SNAPSHOT, 1, 2);
	s.m.snapshot.config.servers[3].id = s.m.snapshot.config.servers[4].id;
	expect_encode_einval(&s.m);
}

/* ------------------------------------------------------------- decoding */

/* Pack a hand-built RaftMessage into a PeerFrame payload and expect
 * rnet_decode to refuse it with a reason containing `why`. */
static void expect_decode_einval(Lms__Raft__RaftMessage *pb, const char *why)
{
	Lms__Raft__PeerFrame f = LMS__RAFT__PEER_FRAME__INIT;
	struct rnet_decoded d;
	char err[128] = "";
	size_t n;
	uint8_t *buf;

	f.body_case = LMS__RAFT__PEER_FRAME__BODY_RAFT;
	f.raft = pb;
	n = lms__raft__peer_frame__get_packed_size(&f);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(lms__raft__peer_frame__pack(&f, buf), n);
	assert_int_equal(rnet_decode(buf, n, &d, err, sizeof(err)), -EINVAL);
	assert_null(d.frame);
	assert_null(d.entries);
	if (strstr(err, why) == NULL)
		fail_msg("reason \"%s\" does not mention \"%s\"", err, why);
	rnet_decoded_free(&d); /* harmless on failure */
	free(buf);
}

static void test_decode_rejects_invalid_fields(void **state)
{
	Lms__Raft__RaftMessage pb;
	Lms__Raft__Entry e[3], *pe[3];
	Lms__Raft__Config cfg;
	Lms__Raft__Server sv[RAFT_MAX_SERVERS + 1], *psv[RAFT_MAX_SERVERS + 1];
	char longaddr[RAFT_ADDRESS_MAX + 1];
	uint8_t bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

#define FRESH(t)                                            \
	do {                                                \
		lms__raft__raft_message__init(&pb);         \
		pb.type = (t);                              \
		pb.from = 1;                                \
		pb.to = 2;                                  \
	} while (0)

	FRESH(0);
	expect_decode_einval(&pb, "type 0 out of range");
	FRESH(10);
	expect_decode_einval(&pb, "type 10 out of range");
	FRESH(RAFT_MSG_VOTE);
	pb.from = 0;
	expect_decode_einval(&pb, "sender id 0");
	FRESH(RAFT_MSG_VOTE);
	pb.to = 0;
	expect_decode_einval(&pb, "receiver id 0");

	for (int i = 0; i < 3; i++) {
		lms__raft__entry__init(&e[i]);
		e[i].term = 1;
		e[i].index = 11 + (uint64_t)i;
		e[i].type = RAFT_ENTRY_NORMAL;
		pe[i] = &e[i];
	}
	FRESH(RAFT_MSG_APPEND);
	pb.prev_index = 10;
	pb.n_entries = 3;
	pb.entries = pe;
	e[1].type = 0;
	expect_decode_einval(&pb, "entry 1 has type 0");
	e[1].type = 7;
	expect_decode_einval(&pb, "entry 1 has type 7");
	e[1].type = 0xffffffffu;
	expect_decode_einval(&pb, "entry 1 has type");
	e[1].type = RAFT_ENTRY_NOOP;
	e[2].index = 20;
	expect_decode_einval(&pb, "entry 2 has index 20, expected 13");
	e[2].index = 13;
	pb.prev_index = UINT64_MAX - 1;
	expect_decode_einval(&pb, "overflows");
	pb.prev_index = 10;

	/* Entries, config or chunk bytes on a type that does not use them. */
	FRESH(RAFT_MSG_VOTE);
	pb.n_entries = 3;
	pb.entries = pe;
	expect_decode_einval(&pb, "VOTE carries entries");
	FRESH(RAFT_MSG_APPEND_RESP);
	pb.data.data = bytes;
	pb.data.len = sizeof(bytes);
	expect_decode_einval(&pb, "APPEND_RESP carries snapshot data");
	lms__raft__config__init(&cfg);
	FRESH(RAFT_MSG_TIMEOUT_NOW);
	pb.config = &cfg;
	expect_decode_einval(&pb, "TIMEOUT_NOW carries snapshot data");

	/* Snapshot chunks. */
	FRESH(RAFT_MSG_SNAPSHOT);
	pb.offset = 5;
	pb.total = 10;
	pb.data.data = bytes;
	pb.data.len = 8;
	expect_decode_einval(&pb, "beyond total");
	pb.offset = UINT64_MAX;
	pb.total = UINT64_MAX;
	expect_decode_einval(&pb, "beyond total");
	pb.offset = 0;
	pb.total = 10;
	pb.done = 1;
	expect_decode_einval(&pb, "ends before total");
	pb.done = 0;

	/* Configurations. */
	for (int i = 0; i <= RAFT_MAX_SERVERS; i++) {
		lms__raft__server__init(&sv[i]);
		sv[i].id = (uint64_t)i + 1;
		sv[i].role = RAFT_VOTER;
		sv[i].address = (char *)"127.0.0.1:7000";
		psv[i] = &sv[i];
	}
	cfg.servers = psv;
	cfg.n_servers = RAFT_MAX_SERVERS + 1;
	pb.config = &cfg;
	expect_decode_einval(&pb, "17 servers");
	cfg.n_servers = 3;
	sv[1].role = 3;
	expect_decode_einval(&pb, "server 1 has role 3");
	sv[1].role = 0;
	expect_decode_einval(&pb, "server 1 has role 0");
	sv[1].role = RAFT_NONVOTER;
	sv[2].id = 0;
	expect_decode_einval(&pb, "server 2 has id 0");
	sv[2].id = 1;
	expect_decode_einval(&pb, "lists server 1 twice");
	sv[2].id = 3;
	memset(longaddr, 'a', RAFT_ADDRESS_MAX);
	longaddr[RAFT_ADDRESS_MAX] = '\0';
	sv[0].address = longaddr;
	expect_decode_einval(&pb, "address too long");
	longaddr[RAFT_ADDRESS_MAX - 1] = '\0'; /* 63 bytes: fits */
	{
		Lms__Raft__PeerFrame f = LMS__RAFT__PEER_FRAME__INIT;
		struct rnet_decoded d;
		uint8_t buf[4096];
		size_t n;

		f.body_case = LMS__RAFT__PEER_FRAME__BODY_RAFT;
		f.raft = &pb;
		n = lms__raft__peer_frame__pack(&f, buf);
		assert_true(n < sizeof(buf));
		assert_int_equal(rnet_decode(buf, n, &d, NULL, 0), 0);
		assert_int_equal(d.msg.snapshot.config.n, 3);
		assert_string_equal(d.msg.snapshot.config.servers[0].address,
				    longaddr);
		assert_int_equal(d.msg.snapshot.len, 8);
		assert_memory_equal(d.msg.snapshot.data, bytes, 8);
		rnet_decoded_free(&d);
	}
#undef FRESH
}

static void test_decode_entry_bound(void **state)
{
	struct nh_msg s;
	struct rnet_decoded d;
	struct raft_message m;
	struct raft_entry *entries = (struct raft_entry *)1;
	char err[128] = "";
	uint8_t *buf;
	size_t len;

	nh_sample(&s, RAFT_MSG_APPEND, 1, 2); /* 4 entries */
	assert_int_equal(rnet_encode(&s.m, &buf, &len), 0);
	assert_int_equal(rnet_decode(buf + 4, len - 4, &d, NULL, 0), 0);
	assert_int_equal(rnet_raft_from_pb(d.frame->raft, 3, &m, &entries,
					   err, sizeof(err)), -EINVAL);
	assert_null(entries);
	assert_non_null(strstr(err, "4 entries, limit 3"));
	assert_int_equal(rnet_raft_from_pb(d.frame->raft, 4, &m, &entries,
					   NULL, 0), 0);
	assert_int_equal(m.append.n_entries, 4);
	assert_ptr_equal(m.append.entries, entries);
	nh_assert_msg_equal(&s.m, &m);
	free(entries);
	rnet_decoded_free(&d);
	free(buf);

	/* rnet_check applies the same bound on the sending side. */
	assert_int_equal(rnet_check(&s.m, 3, NULL, 0), -EINVAL);
	assert_int_equal(rnet_check(&s.m, 4, NULL, 0), 0);
}

static void test_decode_rejects_other_frames(void **state)
{
	Lms__Raft__PeerFrame f = LMS__RAFT__PEER_FRAME__INIT;
	Lms__Raft__Hello hello = LMS__RAFT__HELLO__INIT;
	struct rnet_decoded d;
	char err[128] = "";
	uint8_t buf[256] = { 0 };
	size_t n;

	/* Empty payload: a PeerFrame without a body. */
	assert_int_equal(rnet_decode(buf, 0, &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "without a body"));

	hello.from = 1;
	hello.to = 2;
	hello.cluster = (char *)"x";
	f.body_case = LMS__RAFT__PEER_FRAME__BODY_HELLO;
	f.hello = &hello;
	n = lms__raft__peer_frame__pack(&f, buf);
	assert_int_equal(rnet_decode(buf, n, &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "expected a raft message, got hello"));

	memset(buf, 0xff, 16);
	assert_int_equal(rnet_decode(buf, 16, &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "do not decode"));
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Whatever decodes must be a valid message that encodes again. */
static void decode_any(const uint8_t *buf, size_t len, unsigned *accepted)
{
	struct rnet_decoded d;
	char err[128];

	if (rnet_decode(buf, len, &d, err, sizeof(err)) == 0) {
		uint8_t *again;
		size_t alen;

		(*accepted)++;
		assert_int_equal(rnet_check(&d.msg, RNET_MAX_ENTRIES, NULL, 0),
				 0);
		assert_int_equal(rnet_encode(&d.msg, &again, &alen), 0);
		free(again);
		rnet_decoded_free(&d);
	} else {
		assert_null(d.frame);
		assert_null(d.entries);
	}
}

static void test_fuzz_random_and_mutated(void **state)
{
	uint64_t seed = 0x5eed1234abcdull;
	uint8_t *valid[RAFT_MSG_TIMEOUT_NOW + 1];
	size_t valid_len[RAFT_MSG_TIMEOUT_NOW + 1];
	uint8_t buf[8192];
	unsigned accepted = 0;

	for (int type = RAFT_MSG_PREVOTE; type <= RAFT_MSG_TIMEOUT_NOW;
	     type++) {
		struct nh_msg s;

		nh_sample(&s, type, 2, 3);
		assert_int_equal(rnet_encode(&s.m, &valid[type],
					     &valid_len[type]), 0);
		assert_true(valid_len[type] - 4 <= sizeof(buf));
	}

	/* Random bytes, some starting like a RaftMessage frame body. */
	for (int i = 0; i < 20000; i++) {
		size_t len = rng_next(&seed) % 300;

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rng_next(&seed);
		if (len > 2 && i % 2 == 0) {
			buf[0] = 0x22; /* field 4 (raft), length-delimited */
			buf[1] = (uint8_t)((len - 2) & 0x7f);
		}
		decode_any(buf, len, &accepted);
	}

	/* Mutations of valid encodings: flips, overwrites, cuts, inserts. */
	for (int i = 0; i < 40000; i++) {
		int type = 1 + (int)(rng_next(&seed) % 9);
		size_t len = valid_len[type] - 4;
		unsigned edits = 1 + (unsigned)(rng_next(&seed) % 4);

		memcpy(buf, valid[type] + 4, len);
		for (unsigned k = 0; k < edits && len > 0; k++) {
			size_t at = rng_next(&seed) % len;

			switch (rng_next(&seed) % 5) {
			case 0:
				buf[at] ^= (uint8_t)(1u << (rng_next(&seed) % 8));
				break;
			case 1:
				buf[at] = (uint8_t)rng_next(&seed);
				break;
			case 2:
				len = at; /* truncate */
				break;
			case 3:
				if (len < sizeof(buf)) {
					memmove(buf + at + 1, buf + at,
						len - at);
					buf[at] = (uint8_t)rng_next(&seed);
					len++;
				}
				break;
			default:
				buf[at] = (uint8_t)(0x80 | rng_next(&seed));
				break;
			}
		}
		decode_any(buf, len, &accepted);
	}
	/* Some mutations keep the message valid; most do not. */
	assert_true(accepted > 0);
	for (int type = RAFT_MSG_PREVOTE; type <= RAFT_MSG_TIMEOUT_NOW; type++)
		free(valid[type]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_all_types),
		cmocka_unit_test(test_round_trip_append_variants),
		cmocka_unit_test(test_round_trip_snapshot_chunks),
		cmocka_unit_test(test_round_trip_extremes),
		cmocka_unit_test(test_encode_rejects_invalid),
		cmocka_unit_test(test_decode_rejects_invalid_fields),
		cmocka_unit_test(test_decode_entry_bound),
		cmocka_unit_test(test_decode_rejects_other_frames),
		cmocka_unit_test(test_fuzz_random_and_mutated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

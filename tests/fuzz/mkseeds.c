/*
 * mkseeds.c -- writes the binary seed inputs of the fuzz targets.
 *
 *     build-fuzz/bin/fuzz_mkseeds tests/fuzz/corpus
 *
 * Why this exists
 * ---------------
 * A fuzzer learns a format much faster from valid examples than from
 * nothing, above all a protobuf one: libprotobuf-c is not instrumented, so
 * the fuzzer gets no coverage signal until its bytes decode. The seeds of
 * fuzz_frame, fuzz_peer_msg, fuzz_client_msg and fuzz_ingest_pdf are
 * binary; this program shows what is in them and rewrites them (the
 * committed files are its output; the text seeds of the other targets are
 * written by hand). Files are named <target>/<what>; existing files are
 * overwritten, others are left alone.
 *
 * Inputs follow each target's layout (see the top of each fuzz_*.c):
 *   fuzz_frame       limit byte, 8 seed bytes, a stream of frames
 *   fuzz_peer_msg    core state byte, 8 seed bytes, frames of PeerFrames
 *                    sent by node 2 (or 3) to node 1
 *   fuzz_client_msg  flags byte, one Request of each operation
 *   fuzz_ingest_pdf  a PDF (cairo's, hand-written objects, empty)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"
#include "fixtures.h"
#include "frame.h"
#include "lms.pb-c.h"
#include "raft.h"

static const char *root;

static void put_file(const char *target, const char *name, const void *p,
		     size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, target);
	if (mkdir(path, 0777) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* ------------------------------------------------------- a byte buffer */

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			abort();
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void buf_u8(struct buf *b, uint8_t v)
{
	buf_add(b, &v, 1);
}

/* The 8 seed bytes of the cut points. */
static void buf_seed(struct buf *b, uint64_t seed)
{
	for (int i = 0; i < 8; i++)
		buf_u8(b, (uint8_t)(seed >> (8 * i)));
}

static void buf_reset(struct buf *b)
{
	b->n = 0;
}

/* A raft message as one frame (header included). */
static void buf_raft(struct buf *b, const struct raft_message *m)
{
	uint8_t *p;
	size_t n;

	if (rnet_encode(m, &p, &n) != 0) {
		fprintf(stderr, "could not encode a message of type %d\n",
			m->type);
		exit(1);
	}
	buf_add(b, p, n);
	free(p);
}

static void buf_peer_frame(struct buf *b, const Lms__Raft__PeerFrame *f)
{
	uint8_t *p;
	size_t n;

	if (rnet_frame_encode(f, &p, &n) != 0)
		abort();
	buf_add(b, p, n);
	free(p);
}

/* ------------------------------------------------------- raft messages */

static struct raft_message msg(int type, raft_id from, raft_term term)
{
	struct raft_message m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.from = from;
	m.to = 1;
	m.term = term;
	return m;
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

static void peer_seeds(void)
{
	static const char *const names[] = {
		"follower", "leader", "snapshotted", "joining",
	};
	static uint8_t blob[256];
	struct raft_entry ents[3];
	struct raft_config cfg = three();
	uint8_t cfgbuf[1024];
	size_t cfglen = raft_config_encode(&cfg, cfgbuf, sizeof(cfgbuf));
	struct buf b = { 0 };
	char name[64];

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 13);
	memset(ents, 0, sizeof(ents));
	ents[0].term = 2;
	ents[0].index = 2;
	ents[0].type = RAFT_ENTRY_NOOP;
	ents[1].term = 2;
	ents[1].index = 3;
	ents[1].type = RAFT_ENTRY_NORMAL;
	ents[1].data = "Lhello";
	ents[1].len = 6;
	ents[2].term = 2;
	ents[2].index = 4;
	ents[2].type = RAFT_ENTRY_CONFIG;
	ents[2].data = cfgbuf;
	ents[2].len = cfglen;

	for (int mode = 0; mode < 4; mode++) {
		struct raft_message m;

		/* Elections: a candidate 2 asking; answers to our own. */
		buf_reset(&b);
		buf_u8(&b, (uint8_t)mode);
		buf_seed(&b, 1);
		m = msg(RAFT_MSG_PREVOTE, 2, 3);
		m.vote.last_log_index = 1;
		m.vote.last_log_term = 1;
		buf_raft(&b, &m);
		m = msg(RAFT_MSG_VOTE, 2, 3);
		m.vote.last_log_index = 1;
		m.vote.last_log_term = 1;
		buf_raft(&b, &m);
		m = msg(RAFT_MSG_PREVOTE_RESP, 3, 3);
		m.vote_resp.granted = true;
		buf_raft(&b, &m);
		m = msg(RAFT_MSG_VOTE_RESP, 3, 3);
		m.vote_resp.granted = true;
		buf_raft(&b, &m);
		m = msg(RAFT_MSG_TIMEOUT_NOW, 2, 3);
		buf_raft(&b, &m);
		snprintf(name, sizeof(name), "%s-votes", names[mode]);
		put_file("fuzz_peer_msg", name, b.p, b.n);

		/* A leader 2 replicating, with a heartbeat after. */
		buf_reset(&b);
		buf_u8(&b, (uint8_t)mode);
		buf_seed(&b, 2);
		m = msg(RAFT_MSG_APPEND, 2, 2);
		m.append.prev_index = 1;
		m.append.prev_term = 1;
		m.append.commit = 2;
		m.append.entries = ents;
		m.append.n_entries = 3;
		m.append.read_ctx = 5;
		buf_raft(&b, &m);
		m = msg(RAFT_MSG_APPEND, 2, 2);
		m.append.prev_index = 4;
		m.append.prev_term = 2;
		m.append.commit = 4;
		m.append.read_ctx = 6;
		buf_raft(&b, &m);
		snprintf(name, sizeof(name), "%s-append", names[mode]);
		put_file("fuzz_peer_msg", name, b.p, b.n);

		/* A leader 2 sending a snapshot in two chunks. */
		buf_reset(&b);
		buf_u8(&b, (uint8_t)mode);
		buf_seed(&b, 3);
		m = msg(RAFT_MSG_SNAPSHOT, 2, 2);
		m.snapshot.index = 10;
		m.snapshot.snap_term = 2;
		m.snapshot.config = cfg;
		m.snapshot.offset = 0;
		m.snapshot.total = 100;
		m.snapshot.data = blob;
		m.snapshot.len = 64;
		buf_raft(&b, &m);
		m.snapshot.offset = 64;
		m.snapshot.data = blob + 64;
		m.snapshot.len = 36;
		m.snapshot.done = true;
		buf_raft(&b, &m);
		snprintf(name, sizeof(name), "%s-snapshot", names[mode]);
		put_file("fuzz_peer_msg", name, b.p, b.n);

		/* Followers 2 and 3 answering a leader: the leader states
		 * (1, 2) lead in term 1 with their log at 2 (1: the bootstrap
		 * entry and the leader's no-op) or at 5 with a snapshot there
		 * (2: server 3, which never answered, gets SNAPSHOT chunks of
		 * 64 bytes out of 1000). */
		buf_reset(&b);
		buf_u8(&b, (uint8_t)mode);
		buf_seed(&b, 4);
		{
			raft_term t = mode == 1 || mode == 2 ? 1 : 2;
			raft_index last = mode == 2 ? 5 : 2;

			m = msg(RAFT_MSG_SNAPSHOT_RESP, 3, t);
			m.snapshot_resp.index = last;
			m.snapshot_resp.next_offset = 64;
			buf_raft(&b, &m);
			m.snapshot_resp.next_offset = 128;
			buf_raft(&b, &m);
			m = msg(RAFT_MSG_APPEND_RESP, 3, t);
			m.append_resp.success = false;
			m.append_resp.index = last;
			m.append_resp.conflict_term = 0;
			m.append_resp.conflict_index = 1;
			m.append_resp.last_index = 0;
			buf_raft(&b, &m);
			m = msg(RAFT_MSG_APPEND_RESP, 2, t);
			m.append_resp.success = true;
			m.append_resp.index = last;
			m.append_resp.last_index = last;
			m.append_resp.read_ctx = 1;
			buf_raft(&b, &m);
			m = msg(RAFT_MSG_SNAPSHOT_RESP, 3, t);
			m.snapshot_resp.index = last;
			m.snapshot_resp.rejected = true;
			buf_raft(&b, &m);
			m = msg(RAFT_MSG_APPEND_RESP, 3, t);
			m.append_resp.success = true;
			m.append_resp.index = last;
			m.append_resp.last_index = last;
			buf_raft(&b, &m);
		}
		snprintf(name, sizeof(name), "%s-responses", names[mode]);
		put_file("fuzz_peer_msg", name, b.p, b.n);
	}

	/* The handshake frames (inbound.c's other bodies). */
	{
		Lms__Raft__PeerFrame f = LMS__RAFT__PEER_FRAME__INIT;
		Lms__Raft__Hello h = LMS__RAFT__HELLO__INIT;
		Lms__Raft__Challenge ch = LMS__RAFT__CHALLENGE__INIT;
		Lms__Raft__Proof pr = LMS__RAFT__PROOF__INIT;

		buf_reset(&b);
		buf_u8(&b, 0);
		buf_seed(&b, 5);
		h.from = 2;
		h.to = 1;
		h.cluster = "lms";
		h.nonce.data = blob;
		h.nonce.len = 32;
		f.body_case = LMS__RAFT__PEER_FRAME__BODY_HELLO;
		f.hello = &h;
		buf_peer_frame(&b, &f);
		ch.nonce.data = blob + 32;
		ch.nonce.len = 32;
		ch.mac.data = blob + 64;
		ch.mac.len = 32;
		f.body_case = LMS__RAFT__PEER_FRAME__BODY_CHALLENGE;
		f.challenge = &ch;
		buf_peer_frame(&b, &f);
		pr.mac.data = blob + 96;
		pr.mac.len = 32;
		f.body_case = LMS__RAFT__PEER_FRAME__BODY_PROOF;
		f.proof = &pr;
		buf_peer_frame(&b, &f);
		put_file("fuzz_peer_msg", "handshake", b.p, b.n);
	}

	/* fuzz_frame: the same messages as plain frames, and the edges. */
	{
		struct raft_message m = msg(RAFT_MSG_APPEND, 2, 2);
		static const uint8_t toobig[] = { 0, 0, 0, 17 };
		static const uint8_t trunc[] = { 0, 0, 0, 10, 1, 2, 3, 4, 5 };
		static const uint8_t empty[] = { 0, 0, 0, 0 };

		m.append.prev_index = 1;
		m.append.prev_term = 1;
		m.append.entries = ents;
		m.append.n_entries = 3;
		buf_reset(&b);
		buf_u8(&b, 7); /* 1 MiB */
		buf_seed(&b, 6);
		buf_raft(&b, &m);
		buf_add(&b, empty, sizeof(empty));
		m = msg(RAFT_MSG_VOTE, 2, 3);
		buf_raft(&b, &m);
		put_file("fuzz_frame", "three-frames", b.p, b.n);

		buf_reset(&b);
		buf_u8(&b, 3); /* 16 bytes */
		buf_seed(&b, 7);
		buf_add(&b, empty, sizeof(empty));
		buf_add(&b, toobig, sizeof(toobig));
		put_file("fuzz_frame", "too-big", b.p, b.n);

		buf_reset(&b);
		buf_u8(&b, 6); /* 4096 bytes */
		buf_seed(&b, 8);
		buf_add(&b, trunc, sizeof(trunc));
		put_file("fuzz_frame", "truncated", b.p, b.n);
	}
	free(b.p);
}

/* ------------------------------------------------------ client requests */

static void put_request(const char *name, uint8_t flags,
			Lms__Rpc__Request *r)
{
	size_t n = lms__rpc__request__get_packed_size(r);
	uint8_t *p = malloc(n + 1);

	if (p == NULL)
		abort();
	p[0] = flags;
	lms__rpc__request__pack(r, p + 1);
	put_file("fuzz_client_msg", name, p, n + 1);
	free(p);
}

#define TOKEN "00112233445566778899aabbccddeeff" \
	      "00112233445566778899aabbccddeeff"

static void client_seeds(void)
{
	Lms__Rpc__Request r;
	static const char text[] = "Raft elects a leader by majority vote.\n";

#define REQ(field, Type, INIT, ...)                                          \
	do {                                                                 \
		Lms__Rpc__##Type m = INIT;                                   \
		__VA_ARGS__;                                                 \
		lms__rpc__request__init(&r);                                 \
		r.client_id = 42;                                            \
		r.seq = 1;                                                   \
		r.token = TOKEN;                                             \
		r.field = &m;                                                \
		r.op_case = op_of_##field;                                   \
		put_request(#field, 0, &r);                                  \
	} while (0)
	/* Every operation once, with plausible fields. */
	enum {
		op_of_kv_put = LMS__RPC__REQUEST__OP_KV_PUT,
		op_of_kv_get = LMS__RPC__REQUEST__OP_KV_GET,
		op_of_kv_cas = LMS__RPC__REQUEST__OP_KV_CAS,
		op_of_kv_delete = LMS__RPC__REQUEST__OP_KV_DELETE,
		op_of_status = LMS__RPC__REQUEST__OP_STATUS,
		op_of_member_add = LMS__RPC__REQUEST__OP_MEMBER_ADD,
		op_of_member_promote = LMS__RPC__REQUEST__OP_MEMBER_PROMOTE,
		op_of_member_remove = LMS__RPC__REQUEST__OP_MEMBER_REMOVE,
		op_of_transfer_leader = LMS__RPC__REQUEST__OP_TRANSFER_LEADER,
		op_of_checksum = LMS__RPC__REQUEST__OP_CHECKSUM,
		op_of_bootstrap = LMS__RPC__REQUEST__OP_BOOTSTRAP,
		op_of_login = LMS__RPC__REQUEST__OP_LOGIN,
		op_of_logout = LMS__RPC__REQUEST__OP_LOGOUT,
		op_of_whoami = LMS__RPC__REQUEST__OP_WHOAMI,
		op_of_user_create = LMS__RPC__REQUEST__OP_USER_CREATE,
		op_of_user_list = LMS__RPC__REQUEST__OP_USER_LIST,
		op_of_password_change = LMS__RPC__REQUEST__OP_PASSWORD_CHANGE,
		op_of_course_create = LMS__RPC__REQUEST__OP_COURSE_CREATE,
		op_of_course_list = LMS__RPC__REQUEST__OP_COURSE_LIST,
		op_of_enroll = LMS__RPC__REQUEST__OP_ENROLL,
		op_of_course_members = LMS__RPC__REQUEST__OP_COURSE_MEMBERS,
		op_of_assignment_create =
			LMS__RPC__REQUEST__OP_ASSIGNMENT_CREATE,
		op_of_assignment_list = LMS__RPC__REQUEST__OP_ASSIGNMENT_LIST,
		op_of_extension = LMS__RPC__REQUEST__OP_EXTENSION,
		op_of_submit = LMS__RPC__REQUEST__OP_SUBMIT,
		op_of_grade = LMS__RPC__REQUEST__OP_GRADE,
		op_of_gradebook = LMS__RPC__REQUEST__OP_GRADEBOOK,
		op_of_material_upload = LMS__RPC__REQUEST__OP_MATERIAL_UPLOAD,
		op_of_material_search = LMS__RPC__REQUEST__OP_MATERIAL_SEARCH,
		op_of_query_post = LMS__RPC__REQUEST__OP_QUERY_POST,
		op_of_query_answer = LMS__RPC__REQUEST__OP_QUERY_ANSWER,
		op_of_query_claim = LMS__RPC__REQUEST__OP_QUERY_CLAIM,
		op_of_progress = LMS__RPC__REQUEST__OP_PROGRESS,
		op_of_migrate = LMS__RPC__REQUEST__OP_MIGRATE,
		op_of_schema_status = LMS__RPC__REQUEST__OP_SCHEMA_STATUS,
	};

	REQ(kv_put, KvPutRequest, LMS__RPC__KV_PUT_REQUEST__INIT,
	    m.key = "k1"; m.value.data = (uint8_t *)"v1"; m.value.len = 2);
	REQ(kv_get, KvGetRequest, LMS__RPC__KV_GET_REQUEST__INIT,
	    m.key = "k1");
	REQ(kv_cas, KvCasRequest, LMS__RPC__KV_CAS_REQUEST__INIT,
	    m.key = "k1"; m.expected.data = (uint8_t *)"v1";
	    m.expected.len = 2; m.value.data = (uint8_t *)"v2";
	    m.value.len = 2);
	REQ(kv_delete, KvDeleteRequest, LMS__RPC__KV_DELETE_REQUEST__INIT,
	    m.key = "k1");
	REQ(status, StatusRequest, LMS__RPC__STATUS_REQUEST__INIT, (void)m);
	REQ(member_add, MemberAddRequest, LMS__RPC__MEMBER_ADD_REQUEST__INIT,
	    m.id = 6; m.peer_address = "127.0.1.6:7106";
	    m.client_address = "127.0.1.6:7206");
	REQ(member_promote, MemberPromoteRequest,
	    LMS__RPC__MEMBER_PROMOTE_REQUEST__INIT, m.id = 6);
	REQ(member_remove, MemberRemoveRequest,
	    LMS__RPC__MEMBER_REMOVE_REQUEST__INIT, m.id = 6);
	REQ(transfer_leader, TransferLeaderRequest,
	    LMS__RPC__TRANSFER_LEADER_REQUEST__INIT, m.target = 2);
	REQ(checksum, ChecksumRequest, LMS__RPC__CHECKSUM_REQUEST__INIT,
	    (void)m);
	REQ(bootstrap, BootstrapRequest, LMS__RPC__BOOTSTRAP_REQUEST__INIT,
	    m.username = "admin"; m.password = "pass1234";
	    m.display_name = "The Admin");
	REQ(login, LoginRequest, LMS__RPC__LOGIN_REQUEST__INIT,
	    m.username = "student1"; m.password = "pass123");
	REQ(logout, LogoutRequest, LMS__RPC__LOGOUT_REQUEST__INIT, (void)m);
	REQ(whoami, WhoAmIRequest, LMS__RPC__WHO_AM_IREQUEST__INIT, (void)m);
	REQ(user_create, UserCreateRequest,
	    LMS__RPC__USER_CREATE_REQUEST__INIT,
	    m.username = "student9"; m.password = "pass123";
	    m.display_name = "Student Nine";
	    m.role = LMS__RPC__ROLE__ROLE_STUDENT);
	REQ(user_list, UserListRequest, LMS__RPC__USER_LIST_REQUEST__INIT,
	    (void)m);
	REQ(password_change, PasswordChangeRequest,
	    LMS__RPC__PASSWORD_CHANGE_REQUEST__INIT,
	    m.username = "student9"; m.new_password = "better-pass");
	REQ(course_create, CourseCreateRequest,
	    LMS__RPC__COURSE_CREATE_REQUEST__INIT,
	    m.code = "DEMO101"; m.title = "Distributed systems");
	REQ(course_list, CourseListRequest,
	    LMS__RPC__COURSE_LIST_REQUEST__INIT, (void)m);
	REQ(enroll, EnrollRequest, LMS__RPC__ENROLL_REQUEST__INIT,
	    m.course = "DEMO101"; m.username = "student1";
	    m.role = LMS__RPC__COURSE_ROLE__COURSE_TA);
	REQ(course_members, CourseMembersRequest,
	    LMS__RPC__COURSE_MEMBERS_REQUEST__INIT, m.course = "DEMO101");
	{
		Lms__Rpc__File file = LMS__RPC__FILE__INIT;
		static char *topics[] = { "raft", "consensus" };

		file.name = "brief.txt";
		file.data.data = (uint8_t *)text;
		file.data.len = sizeof(text) - 1;
		REQ(assignment_create, AssignmentCreateRequest,
		    LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT,
		    m.course = "DEMO101"; m.title = "Leader election";
		    m.description = "Explain it.\nIn 200 words.";
		    m.opens_at = "2026-01-05T09:00:00+01:00";
		    m.due_at = "2026-01-12T17:00:00Z";
		    m.cutoff_at = "2026-01-14T17:00:00Z"; m.max_points = 20;
		    m.late_penalty_pct = 10.5; m.penalty_floor_pct = 50;
		    m.max_attempts = 3; m.n_topics = 2; m.topics = topics;
		    m.attachment = &file);
		REQ(submit, SubmitRequest, LMS__RPC__SUBMIT_REQUEST__INIT,
		    m.assignment_id = 16; m.text = "My answer.";
		    m.file = &file);
		file.name = "notes.txt";
		file.media_type = "text/plain";
		REQ(material_upload, MaterialUploadRequest,
		    LMS__RPC__MATERIAL_UPLOAD_REQUEST__INIT,
		    m.course = "DEMO101"; m.title = "Lecture 1";
		    m.topic = "raft"; m.file = &file);
	}
	REQ(assignment_list, AssignmentListRequest,
	    LMS__RPC__ASSIGNMENT_LIST_REQUEST__INIT, m.course = "DEMO101");
	REQ(extension, ExtensionRequest, LMS__RPC__EXTENSION_REQUEST__INIT,
	    m.assignment_id = 16; m.username = "student1";
	    m.due_at = "2026-01-13T17:00:00Z"; m.cutoff_at = "");
	REQ(grade, GradeRequest, LMS__RPC__GRADE_REQUEST__INIT,
	    m.submission_id = 20; m.score = 92.5; m.feedback = "Clear.");
	REQ(gradebook, GradebookRequest, LMS__RPC__GRADEBOOK_REQUEST__INIT,
	    m.course = "DEMO101");
	REQ(material_search, MaterialSearchRequest,
	    LMS__RPC__MATERIAL_SEARCH_REQUEST__INIT,
	    m.course = "DEMO101"; m.query = "leader election"; m.limit = 5);
	REQ(query_post, QueryPostRequest, LMS__RPC__QUERY_POST_REQUEST__INIT,
	    m.course = "DEMO101"; m.body = "What is a term?";
	    m.to = LMS__RPC__QUERY_TARGET__TO_TUTOR);
	{
		Lms__Rpc__Source src = LMS__RPC__SOURCE__INIT;
		Lms__Rpc__Source *srcs[] = { &src };

		src.label = "S1";
		src.material_id = 3;
		src.title = "Lecture 1";
		REQ(query_answer, QueryAnswerRequest,
		    LMS__RPC__QUERY_ANSWER_REQUEST__INIT,
		    m.id = 5; m.body = "A term is an epoch [S1].";
		    m.worker = "tutord@n1"; m.n_sources = 1; m.sources = srcs);
	}
	REQ(query_claim, QueryClaimRequest,
	    LMS__RPC__QUERY_CLAIM_REQUEST__INIT,
	    m.course = "DEMO101"; m.worker = "tutord@n1"; m.lease_ms = 60000);
	REQ(progress, ProgressRequest, LMS__RPC__PROGRESS_REQUEST__INIT,
	    m.course = "DEMO101");
	{
		Lms__Rpc__Migration mig = LMS__RPC__MIGRATION__INIT;

		mig.version = 2;
		mig.name = "add_index";
		mig.sql = "CREATE INDEX ON lms.query (course_id);";
		REQ(migrate, MigrateRequest, LMS__RPC__MIGRATE_REQUEST__INIT,
		    m.migration = &mig);
	}
	REQ(schema_status, SchemaStatusRequest,
	    LMS__RPC__SCHEMA_STATUS_REQUEST__INIT, (void)m);
#undef REQ
}

/* ---------------------------------------------------------------- PDFs */

static void pdf_seeds(void)
{
	static const char *const pages[] = {
		"Lecture 1: leader election.\nA term is an epoch.",
		"Page two: log replication.\n\nCommitted entries survive.",
	};
	static const char content[] =
		"BT /F1 12 Tf 72 720 Td (Hello from a hand-made PDF) Tj "
		"0 -14 Td (Second line) Tj ET";
	char contents[256];
	const char *objs[] = {
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
		"/Contents 5 0 R /Resources << /Font << /F1 4 0 R >> >> >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		contents,
	};
	const char *empty[] = {
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [] /Count 0 >>",
	};
	unsigned char *pdf;
	size_t len;

	pdf = fx_text_pdf(pages, 2, &len);
	put_file("fuzz_ingest_pdf", "cairo-two-pages.pdf", pdf, len);
	free(pdf);
	pdf = fx_blank_pdf(1, &len);
	put_file("fuzz_ingest_pdf", "cairo-blank.pdf", pdf, len);
	free(pdf);
	snprintf(contents, sizeof(contents),
		 "<< /Length %zu >>\nstream\n%s\nendstream", strlen(content),
		 content);
	pdf = fx_hand_pdf(objs, 5, &len);
	put_file("fuzz_ingest_pdf", "hand-one-page.pdf", pdf, len);
	free(pdf);
	pdf = fx_hand_pdf(empty, 2, &len);
	put_file("fuzz_ingest_pdf", "hand-no-pages.pdf", pdf, len);
	free(pdf);
	fx_cleanup();
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_mkseeds CORPUS_DIR\n");
		return 2;
	}
	root = argv[1];
	peer_seeds();
	client_seeds();
	pdf_seeds();
	return 0;
}

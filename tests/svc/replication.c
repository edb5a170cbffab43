/*
 * replication.c -- the LMS tables across the five nodes:
 *
 *   svc_five_nodes    coursework written by several users through one
 *                     follower (every write relayed to the leader), while
 *                     another follower is down (it catches up by a
 *                     snapshot: snapshots every 20 entries here), reads
 *                     back byte-identical on every node: stale reads on
 *                     each node once it applied the last write, and
 *                     linearizable reads relayed by each follower; a write
 *                     is visible at once to a linearizable read through
 *                     another follower; the state checksums (Checksum op
 *                     and lms-admin checksum) are equal.
 *   svc_exactly_once  a write with a fixed (client_id, seq) whose leader is
 *                     SIGKILLed after it answered, or right after the
 *                     request was sent, retried on the new leader: applied
 *                     once (one submission, attempt 1), and the retry gets
 *                     the recorded result (the same id and leader-stamped
 *                     time, which a second apply would have changed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "isotime.h"
#include "svc_util.h"
#include "util.h"

/* A running member other than `not` (the highest id). */
static unsigned other_node(struct cluster *cl, unsigned not)
{
	unsigned ids[CL_MAX_NODES];
	size_t n = cl_live_members(cl, ids);
	for (size_t i = n; i-- > 0;)
		if (ids[i] != not)
			return ids[i];
	fail_msg("no running member besides node %u", not);
	return 0;
}

/* ====================================================== five nodes */

struct read_case {
	const char *name;
	const char *token;
	Lms__Rpc__Request req;
};

/* Every node, stale, after it applied `index`: the same bytes as node 1;
 * then every follower, linearizable (relayed to the leader): the same
 * bytes again. */
static void same_everywhere(struct cluster *cl, struct read_case *rc,
                            uint64_t index, unsigned leader)
{
	uint8_t *ref = NULL;
	size_t ref_len = 0;
	unsigned ref_node = 0;
	for (unsigned id = 1; id <= 5; id++) {
		for (int lin = 0; lin < 2; lin++) {
			if (lin && id == leader)
				continue;
			rc->req.consistency = lin ? LMS__RPC__CONSISTENCY__LINEARIZABLE
			                          : LMS__RPC__CONSISTENCY__STALE;
			int rv = 0;
			Lms__Rpc__Response *r =
				sv_call_node(cl, id, rc->token, &rc->req, &rv);
			if (!r)
				fail_msg("%s (%s) on node %u: no answer: %s",
				         rc->name, lin ? "linearizable" : "stale",
				         id, strerror(-rv));
			sv_expect(r, LMS__RPC__STATUS__OK, "%s (%s) on node %u",
			          rc->name, lin ? "linearizable" : "stale", id);
			if (!lin && r->applied_index < index &&
			    rc->req.op_case != LMS__RPC__REQUEST__OP_SCHEMA_STATUS)
				fail_msg("%s (stale) on node %u reflects applied "
				         "index %" PRIu64 ", below %" PRIu64
				         " which it had applied", rc->name, id,
				         r->applied_index, index);
			size_t len;
			uint8_t *got = sv_result_pack(r, &len);
			if (!got)
				fail_msg("%s on node %u: OK without a result",
				         rc->name, id);
			if (!ref) {
				ref = got;
				ref_len = len;
				ref_node = id;
			} else {
				if (len != ref_len || memcmp(got, ref, len) != 0)
					fail_msg("%s: the %s answer of node %u (%zu "
					         "bytes) differs from node %u's "
					         "stale answer (%zu bytes)",
					         rc->name,
					         lin ? "linearizable" : "stale", id,
					         len, ref_node, ref_len);
				free(got);
			}
			lmsc_response_free(r);
		}
	}
	free(ref);
}

void svc_five_nodes(void **state)
{
	struct cluster *cl = *state;
	/* snapshots every 20 entries: the node stopped below catches up by
	 * installing one, which rebuilds the LMS schema and tables */
	struct cl_options o = {.snapshot_threshold = 20,
	                       .snapshot_trailing = 5};
	cl_boot(cl, &o);
	unsigned leader = cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	struct lmsc *all = cl_client(cl, NULL, 0);
	assert_non_null(all);
	sv_install_schema(cl, all);

	/* every write of this part enters through one follower */
	unsigned via = other_node(cl, leader);
	struct lmsc *c = cl_client(cl, &via, 1);
	assert_non_null(c);
	/* and one more follower misses them all */
	unsigned late = 0;
	for (unsigned id = 1; id <= 5; id++)
		if (id != via && id != leader)
			late = id;
	struct cl_status ls;
	assert_int_equal(cl_status(cl, late, &ls), 0);
	assert_int_equal(cl_stop(cl, late, 5000, NULL), 0);
	long late_log = cl_log_size(cl, late);
	char adm[65], ins[65], s1[65], s2[65], s3[65];
	sv_bootstrap(c, "root", "root-password");
	sv_login(c, "root", "root-password", adm);
	sv_user(c, adm, "prof", "prof-password",
	        LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	sv_user(c, adm, "ann", "ann-password", LMS__RPC__ROLE__ROLE_STUDENT);
	sv_user(c, adm, "ben", "ben-password", LMS__RPC__ROLE__ROLE_STUDENT);
	sv_user(c, adm, "cat", "cat-password", LMS__RPC__ROLE__ROLE_STUDENT);
	sv_login(c, "prof", "prof-password", ins);
	sv_login(c, "ann", "ann-password", s1);
	sv_login(c, "ben", "ben-password", s2);
	sv_login(c, "cat", "cat-password", s3);
	sv_course(c, ins, "PHY110", "Thermodynamics");
	sv_enroll(c, ins, "PHY110", "ann", LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	sv_enroll(c, ins, "PHY110", "ben", LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	sv_enroll(c, ins, "PHY110", "cat", LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	uint64_t a1 = sv_assignment(c, ins, "PHY110", "Heat engines");
	uint64_t a2 = sv_assignment(c, ins, "PHY110", "Entropy");
	uint64_t mat = sv_material_txt(c, ins, "PHY110", "lecture1",
		"The second law says entropy never decreases in an isolated "
		"system.\n\nA Carnot engine is the most efficient heat engine "
		"between two temperatures.\n");

	/* a submission with a file, to compare bytes of files too */
	Lms__Rpc__File f = LMS__RPC__FILE__INIT;
	f.name = "engine.txt";
	f.data.data = (uint8_t *)"W = Q1 - Q2\n";
	f.data.len = strlen("W = Q1 - Q2\n");
	Lms__Rpc__SubmitRequest sr = LMS__RPC__SUBMIT_REQUEST__INIT;
	sr.assignment_id = a1;
	sr.text = "see the file";
	sr.file = &f;
	Lms__Rpc__Response *r = SV_CALL(c, s1, submit, SUBMIT, &sr);
	sv_expect(r, LMS__RPC__STATUS__OK, "ann submits a file");
	uint64_t sub1 = r->submit->submission->id;
	sv_expect_recent(r->submit->submission->submitted_at, 120,
	                 "submitted_at");
	lmsc_response_free(r);
	uint32_t attempt = 0;
	uint64_t sub1b = sv_submit(c, s1, a1, "second thoughts", &attempt);
	if (attempt != 2)
		fail_msg("ann's second submission is attempt %u, not 2", attempt);
	uint64_t sub2 = sv_submit(c, s2, a1, "ben's engine", NULL);
	sv_submit(c, s3, a2, "cat on entropy", NULL);
	sv_grade(c, ins, sub1b, 91.5, "very good");
	sv_grade(c, ins, sub2, 64, "incomplete");

	char due[LMS_ISO_MAX];
	Lms__Rpc__ExtensionRequest ext = LMS__RPC__EXTENSION_REQUEST__INIT;
	ext.assignment_id = a1;
	ext.username = "cat";
	ext.due_at = sv_iso_in(10 * 86400, due);
	r = SV_CALL(c, ins, extension, EXTENSION, &ext);
	sv_expect(r, LMS__RPC__STATUS__OK, "extension for cat");
	lmsc_response_free(r);

	uint64_t q1 = sv_query_post(c, s1, "PHY110", "Why can't an engine be "
	                            "100% efficient?",
	                            LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR);
	sv_query_post(c, s2, "PHY110", "What is entropy?",
	              LMS__RPC__QUERY_TARGET__TO_TUTOR);
	Lms__Rpc__QueryAnswerRequest qa = LMS__RPC__QUERY_ANSWER_REQUEST__INIT;
	qa.id = q1;
	qa.body = "Because of the second law.";
	r = SV_CALL(c, ins, query_answer, QUERY_ANSWER, &qa);
	sv_expect(r, LMS__RPC__STATUS__OK, "prof answers");
	lmsc_response_free(r);

	uint64_t last = sv_max_applied(cl);
	cl_start(cl, late);
	cl_wait_applied_all(cl, last, SV_CONVERGE_MS);
	bool installed = cl_log_contains(cl, late, late_log,
	                                 "installed snapshot");
	print_message("[svc] five nodes: coursework written through follower "
	              "%u (leader %u); node %u, stopped at index %" PRIu64
	              " meanwhile, caught up %s; every node at applied index %"
	              PRIu64 "\n", via, leader, late, ls.last_index,
	              installed ? "by installing a snapshot"
	                        : "from the log (no snapshot installed)",
	              last);

	/* the reads, each compared across the nodes */
	Lms__Rpc__WhoAmIRequest q_who = LMS__RPC__WHO_AM_IREQUEST__INIT;
	Lms__Rpc__UserListRequest q_users = LMS__RPC__USER_LIST_REQUEST__INIT;
	Lms__Rpc__CourseListRequest q_courses =
		LMS__RPC__COURSE_LIST_REQUEST__INIT;
	Lms__Rpc__CourseMembersRequest q_members =
		LMS__RPC__COURSE_MEMBERS_REQUEST__INIT;
	q_members.course = "PHY110";
	Lms__Rpc__AssignmentListRequest q_alist =
		LMS__RPC__ASSIGNMENT_LIST_REQUEST__INIT;
	q_alist.course = "PHY110";
	Lms__Rpc__AssignmentGetRequest q_aget =
		LMS__RPC__ASSIGNMENT_GET_REQUEST__INIT;
	q_aget.id = a1;
	Lms__Rpc__SubmissionListRequest q_slist =
		LMS__RPC__SUBMISSION_LIST_REQUEST__INIT;
	q_slist.assignment_id = a1;
	Lms__Rpc__SubmissionGetRequest q_sget =
		LMS__RPC__SUBMISSION_GET_REQUEST__INIT;
	q_sget.id = sub1;
	q_sget.with_file = 1;
	Lms__Rpc__GradesRequest q_grades = LMS__RPC__GRADES_REQUEST__INIT;
	Lms__Rpc__GradebookRequest q_book = LMS__RPC__GRADEBOOK_REQUEST__INIT;
	q_book.course = "PHY110";
	Lms__Rpc__MaterialListRequest q_mlist =
		LMS__RPC__MATERIAL_LIST_REQUEST__INIT;
	q_mlist.course = "PHY110";
	Lms__Rpc__MaterialGetRequest q_mget = LMS__RPC__MATERIAL_GET_REQUEST__INIT;
	q_mget.id = mat;
	q_mget.with_file = 1;
	Lms__Rpc__MaterialSearchRequest q_search =
		LMS__RPC__MATERIAL_SEARCH_REQUEST__INIT;
	q_search.course = "PHY110";
	q_search.query = "entropy";
	Lms__Rpc__QueryListRequest q_qlist = LMS__RPC__QUERY_LIST_REQUEST__INIT;
	q_qlist.course = "PHY110";
	Lms__Rpc__QueryGetRequest q_qget = LMS__RPC__QUERY_GET_REQUEST__INIT;
	q_qget.id = q1;
	Lms__Rpc__ProgressRequest q_prog = LMS__RPC__PROGRESS_REQUEST__INIT;
	Lms__Rpc__StatsRequest q_stats = LMS__RPC__STATS_REQUEST__INIT;
	q_stats.course = "PHY110";
	Lms__Rpc__SchemaStatusRequest q_schema =
		LMS__RPC__SCHEMA_STATUS_REQUEST__INIT;

	struct read_case cases[17];
	size_t n = 0;
#define CASE(label, tk, field, OPCASE, msg)                                  \
	do {                                                                 \
		cases[n].name = (label);                                     \
		cases[n].token = (tk);                                       \
		lms__rpc__request__init(&cases[n].req);                      \
		SV_SET(&cases[n].req, field, OPCASE, (msg));                 \
		n++;                                                         \
	} while (0)
	CASE("whoami(admin)", adm, whoami, WHOAMI, &q_who);
	CASE("user_list", adm, user_list, USER_LIST, &q_users);
	CASE("course_list(admin)", adm, course_list, COURSE_LIST, &q_courses);
	CASE("course_members", ins, course_members, COURSE_MEMBERS, &q_members);
	CASE("assignment_list(ann)", s1, assignment_list, ASSIGNMENT_LIST,
	     &q_alist);
	CASE("assignment_get(cat, extension)", s3, assignment_get,
	     ASSIGNMENT_GET, &q_aget);
	CASE("submission_list(prof)", ins, submission_list, SUBMISSION_LIST,
	     &q_slist);
	CASE("submission_get(ann, file)", s1, submission_get, SUBMISSION_GET,
	     &q_sget);
	CASE("grades(ann)", s1, grades, GRADES, &q_grades);
	CASE("gradebook", ins, gradebook, GRADEBOOK, &q_book);
	CASE("material_list(ben)", s2, material_list, MATERIAL_LIST, &q_mlist);
	CASE("material_get(ben, file)", s2, material_get, MATERIAL_GET,
	     &q_mget);
	CASE("material_search(ann)", s1, material_search, MATERIAL_SEARCH,
	     &q_search);
	CASE("query_list(prof)", ins, query_list, QUERY_LIST, &q_qlist);
	CASE("query_get(ann)", s1, query_get, QUERY_GET, &q_qget);
	CASE("progress(ann)", s1, progress, PROGRESS, &q_prog);
	CASE("stats", ins, stats, STATS, &q_stats);
#undef CASE
	assert_true(n <= sizeof cases / sizeof cases[0]);
	for (size_t i = 0; i < n; i++)
		same_everywhere(cl, &cases[i], last, leader);
	struct read_case schema = {"schema_status", NULL,
	                           LMS__RPC__REQUEST__INIT};
	SV_SET(&schema.req, schema_status, SCHEMA_STATUS, &q_schema);
	same_everywhere(cl, &schema, last, leader);
	print_message("[svc] five nodes: %zu reads byte-identical on all 5 "
	              "nodes (stale) and through every follower "
	              "(linearizable)\n", n + 1);

	/* a few figures the reads must show, checked once */
	r = SV_CALL(all, ins, gradebook, GRADEBOOK, &q_book);
	sv_expect(r, LMS__RPC__STATUS__OK, "gradebook");
	if (r->gradebook->students != 3 || r->gradebook->assignments != 2 ||
	    !strstr(r->gradebook->csv, "91.50") ||
	    !strstr(r->gradebook->csv, "64.00"))
		fail_msg("gradebook: %u students, %u assignments:\n%s",
		         r->gradebook->students, r->gradebook->assignments,
		         r->gradebook->csv);
	lmsc_response_free(r);
	r = SV_CALL(all, s3, assignment_get, ASSIGNMENT_GET, &q_aget);
	sv_expect(r, LMS__RPC__STATUS__OK, "assignment_get as cat");
	if (sv_iso_ms(r->assignment_get->assignment->my_due_at) !=
	    sv_iso_ms(due))
		fail_msg("cat's own due time is %s, the extension said %s",
		         r->assignment_get->assignment->my_due_at, due);
	lmsc_response_free(r);

	/* read your write: posted through one follower, listed at once by a
	 * linearizable read through another */
	uint64_t q3 = sv_query_post(c, s3, "PHY110", "Is heat a form of "
	                            "energy?",
	                            LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR);
	unsigned other = via;
	for (unsigned id = 1; id <= 5; id++)
		if (id != via && id != leader)
			other = id;
	Lms__Rpc__Request lr = LMS__RPC__REQUEST__INIT;
	SV_SET(&lr, query_list, QUERY_LIST, &q_qlist);
	int rv = 0;
	r = sv_call_node(cl, other, ins, &lr, &rv);
	if (!r)
		fail_msg("query_list through node %u: %s", other, strerror(-rv));
	sv_expect(r, LMS__RPC__STATUS__OK, "query_list through node %u", other);
	bool seen = false;
	for (size_t i = 0; i < r->query_list->n_queries; i++)
		seen |= r->query_list->queries[i]->id == q3;
	if (!seen)
		fail_msg("question %" PRIu64 " posted through node %u is "
		         "missing from a linearizable read through node %u",
		         q3, via, other);
	lmsc_response_free(r);

	/* checksums: the Checksum op of every node, and lms-admin */
	cl_assert_converged(cl, SV_CONVERGE_MS);
	char sum[65];
	uint64_t at;
	assert_int_equal(cl_checksum(cl, 1, sum, &at), 0);
	char nodes[512], out[8192];
	cl_nodes_arg(cl, nodes, sizeof nodes);
	const char *argv[] = {LMS_ADMIN_PATH, "--nodes", nodes, "checksum",
	                      NULL};
	int code = cl_run(argv, out, sizeof out, 30000);
	if (code != 0)
		fail_msg("lms-admin checksum exited %d:\n%s", code, out);
	unsigned times = 0;
	for (const char *p = out; (p = strstr(p, sum)); p += 64)
		times++;
	if (times != 5)
		fail_msg("lms-admin checksum shows checksum %s %u times, not "
		         "once per node:\n%s", sum, times, out);
	print_message("[svc] five nodes: lms-admin checksum: the same %.16s... "
	              "on all 5 nodes\n", sum);
	lmsc_free(c);
	lmsc_free(all);
	cl_stop_all(cl);
	cl_pass(cl);
}

/* ===================================================== exactly once */

/* Sends req as one frame to node id and returns at once: no answer is
 * read. */
static void send_only(struct cluster *cl, unsigned id,
                      const Lms__Rpc__Request *req)
{
	size_t len = lms__rpc__request__get_packed_size(req);
	uint8_t *buf = malloc(len + 4);
	assert_non_null(buf);
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	lms__rpc__request__pack(req, buf + 4);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)cl->nodes[id].client_port);
	inet_pton(AF_INET, cl->nodes[id].host, &sin.sin_addr);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
		fail_msg("connect to node %u: %s", id, strerror(errno));
	size_t off = 0;
	while (off < len + 4) {
		ssize_t w = send(fd, buf + off, len + 4 - off, MSG_NOSIGNAL);
		if (w <= 0)
			fail_msg("send to node %u: %s", id, strerror(errno));
		off += (size_t)w;
	}
	/* the node has the bytes once they are in its socket buffer; give
	 * its event loop a moment to read them, not to answer */
	cl_sleep_ms(2);
	close(fd);
	free(buf);
}

/* Every submission of user (token) to assignment a, read on node id
 * (stale). */
static size_t submissions_on(struct cluster *cl, unsigned id,
                             const char *token, uint64_t a,
                             uint64_t *first_id, uint32_t *first_attempt)
{
	Lms__Rpc__SubmissionListRequest q =
		LMS__RPC__SUBMISSION_LIST_REQUEST__INIT;
	q.assignment_id = a;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SV_SET(&req, submission_list, SUBMISSION_LIST, &q);
	req.consistency = LMS__RPC__CONSISTENCY__STALE;
	int rv = 0;
	Lms__Rpc__Response *r = sv_call_node(cl, id, token, &req, &rv);
	if (!r)
		fail_msg("submission_list on node %u: %s", id, strerror(-rv));
	sv_expect(r, LMS__RPC__STATUS__OK, "submission_list on node %u", id);
	size_t n = r->submission_list->n_submissions;
	if (n && first_id)
		*first_id = r->submission_list->submissions[0]->id;
	if (n && first_attempt)
		*first_attempt = r->submission_list->submissions[0]->attempt;
	lmsc_response_free(r);
	return n;
}

/* The answer of a retried submit must be the recorded one. */
static void expect_same_submission(const Lms__Rpc__Response *first,
                                   const Lms__Rpc__Response *retry,
                                   const char *what)
{
	sv_expect(retry, LMS__RPC__STATUS__OK, "%s", what);
	const Lms__Rpc__Submission *a = first->submit->submission;
	const Lms__Rpc__Submission *b = retry->submit->submission;
	if (a->id != b->id || a->attempt != b->attempt ||
	    strcmp(a->submitted_at, b->submitted_at) != 0)
		fail_msg("%s: answered submission %" PRIu64 " attempt %u at %s; "
		         "the first answer was %" PRIu64 " attempt %u at %s "
		         "(a retry must get the recorded result)", what, b->id,
		         b->attempt, b->submitted_at, a->id, a->attempt,
		         a->submitted_at);
	size_t la, lb;
	uint8_t *pa = sv_result_pack(first, &la), *pb = sv_result_pack(retry, &lb);
	if (la != lb || memcmp(pa, pb, la) != 0)
		fail_msg("%s: the retry's result differs from the recorded one "
		         "(%zu vs %zu bytes)", what, lb, la);
	free(pa);
	free(pb);
}

void svc_exactly_once(void **state)
{
	struct cluster *cl = *state;
	cl_boot(cl, NULL);
	cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	struct lmsc *all = cl_client(cl, NULL, 0);
	assert_non_null(all);
	sv_install_schema(cl, all);
	char adm[65], ins[65], stu[65];
	sv_bootstrap(all, "root", "root-password");
	sv_login(all, "root", "root-password", adm);
	sv_user(all, adm, "prof", "prof-password",
	        LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	sv_user(all, adm, "sam", "sam-password", LMS__RPC__ROLE__ROLE_STUDENT);
	sv_login(all, "prof", "prof-password", ins);
	sv_login(all, "sam", "sam-password", stu);
	sv_course(all, ins, "CHEM1", "Chemistry");
	sv_enroll(all, ins, "CHEM1", "sam", LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	uint64_t a1 = sv_assignment(all, ins, "CHEM1", "Titration");
	uint64_t a2 = sv_assignment(all, ins, "CHEM1", "Buffers");

	/* the client whose (client_id, seq) the writes below carry; its node
	 * list is every node in id order (index = id - 1) */
	struct lmsc *ec = cl_client(cl, NULL, 0);
	assert_non_null(ec);
	uint64_t cid = lmsc_client_id(ec);

	/* ---- 1. SIGKILL of the leader after it answered */
	unsigned leader = cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	Lms__Rpc__SubmitRequest s1 = LMS__RPC__SUBMIT_REQUEST__INIT;
	s1.assignment_id = a1;
	s1.text = "pH 7 at the end point";
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SV_SET(&req, submit, SUBMIT, &s1);
	req.token = stu;
	req.seq = 7;
	Lms__Rpc__Response *first = NULL;
	int rv = lmsc_call_node(ec, leader - 1, &req, &first);
	if (rv != 0)
		fail_msg("submit to leader %u: %s", leader, lmsc_errmsg(ec));
	sv_expect(first, LMS__RPC__STATUS__OK, "submit (client %" PRIx64
	          ", seq 7) to leader %u", cid, leader);
	if (first->submit->submission->attempt != 1)
		fail_msg("first submission is attempt %u",
		         first->submit->submission->attempt);
	cl_kill(cl, leader);
	unsigned next = cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	req.seq = 7; /* lmsc_call without LMSC_WRITE keeps it */
	Lms__Rpc__Response *retry = NULL;
	rv = lmsc_call(ec, &req, &retry, 0);
	if (rv != 0)
		fail_msg("retry of seq 7: %s", lmsc_errmsg(ec));
	expect_same_submission(first, retry, "retry of seq 7 after the "
	                       "leader was killed");
	print_message("[svc] exactly once: leader %u killed after answering "
	              "seq 7; node %" PRIu64 " answered the retry with the "
	              "recorded submission %" PRIu64 " (attempt 1, %s)\n",
	              leader, retry->node_id, retry->submit->submission->id,
	              retry->submit->submission->submitted_at);
	lmsc_response_free(retry);
	/* and once more through a follower of the new leader (relayed) */
	unsigned f = other_node(cl, next);
	retry = NULL;
	req.seq = 7;
	rv = lmsc_call_node(ec, f - 1, &req, &retry);
	if (rv != 0)
		fail_msg("retry of seq 7 through node %u: %s", f, lmsc_errmsg(ec));
	expect_same_submission(first, retry, "second retry of seq 7, relayed");
	lmsc_response_free(retry);
	cl_start(cl, leader);
	cl_wait_applied_all(cl, sv_max_applied(cl), SV_CONVERGE_MS);
	for (unsigned id = 1; id <= 5; id++) {
		uint64_t sid = 0;
		uint32_t att = 0;
		size_t n = submissions_on(cl, id, stu, a1, &sid, &att);
		if (n != 1 || sid != first->submit->submission->id || att != 1)
			fail_msg("node %u has %zu submission(s) to assignment %"
			         PRIu64 " (first: %" PRIu64 " attempt %u); "
			         "expected exactly submission %" PRIu64
			         " attempt 1", id, n, a1, sid, att,
			         first->submit->submission->id);
	}
	lmsc_response_free(first);

	/* ---- 2. SIGKILL of the leader right after the request was sent */
	leader = cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	Lms__Rpc__SubmitRequest s2 = LMS__RPC__SUBMIT_REQUEST__INIT;
	s2.assignment_id = a2;
	s2.text = "acetate buffer";
	lms__rpc__request__init(&req);
	SV_SET(&req, submit, SUBMIT, &s2);
	req.token = stu;
	req.client_id = cid;
	req.seq = 8;
	send_only(cl, leader, &req);
	cl_kill(cl, leader);
	int64_t killed_ms = lms_wall_ms();
	next = cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	req.seq = 8;
	retry = NULL;
	rv = lmsc_call(ec, &req, &retry, 0);
	if (rv != 0)
		fail_msg("retry of seq 8: %s", lmsc_errmsg(ec));
	sv_expect(retry, LMS__RPC__STATUS__OK, "retry of seq 8 after the "
	          "leader was killed before answering");
	const Lms__Rpc__Submission *sb = retry->submit->submission;
	if (sb->attempt != 1)
		fail_msg("the retried submission is attempt %u, not 1",
		         sb->attempt);
	bool recorded = sv_iso_ms(sb->submitted_at) <= killed_ms;
	print_message("[svc] exactly once: leader %u killed right after seq 8 "
	              "was sent; node %u answered the retry: submission %"
	              PRIu64 " attempt 1 stamped %s (%s)\n", leader, next,
	              sb->id, sb->submitted_at,
	              recorded ? "probably the first request's entry"
	                       : "applied from the retry");
	Lms__Rpc__Response *again = NULL;
	req.seq = 8;
	rv = lmsc_call(ec, &req, &again, 0);
	if (rv != 0)
		fail_msg("second retry of seq 8: %s", lmsc_errmsg(ec));
	expect_same_submission(retry, again, "second retry of seq 8");
	lmsc_response_free(again);
	cl_start(cl, leader);
	cl_wait_applied_all(cl, sv_max_applied(cl), SV_CONVERGE_MS);
	for (unsigned id = 1; id <= 5; id++) {
		uint64_t sid = 0;
		uint32_t att = 0;
		size_t n = submissions_on(cl, id, stu, a2, &sid, &att);
		if (n != 1 || sid != sb->id || att != 1)
			fail_msg("node %u has %zu submission(s) to assignment %"
			         PRIu64 " (first: %" PRIu64 " attempt %u); "
			         "expected exactly submission %" PRIu64
			         " attempt 1", id, n, a2, sid, att, sb->id);
	}
	uint64_t sub2 = sb->id;
	lmsc_response_free(retry);

	/* ---- 3. a grade: graded_at is stamped per apply, so an equal one
	 * in the retry's answer shows it was not applied again */
	leader = cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	Lms__Rpc__GradeRequest g = LMS__RPC__GRADE_REQUEST__INIT;
	g.submission_id = sub2;
	g.score = 77.25;
	g.feedback = "fine";
	lms__rpc__request__init(&req);
	SV_SET(&req, grade, GRADE, &g);
	req.token = ins;
	req.seq = 9;
	first = NULL;
	rv = lmsc_call_node(ec, leader - 1, &req, &first);
	if (rv != 0)
		fail_msg("grade to leader %u: %s", leader, lmsc_errmsg(ec));
	sv_expect(first, LMS__RPC__STATUS__OK, "grade (seq 9)");
	cl_sleep_ms(1100); /* a second apply would stamp a later graded_at */
	cl_kill(cl, leader);
	cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	req.seq = 9;
	retry = NULL;
	rv = lmsc_call(ec, &req, &retry, 0);
	if (rv != 0)
		fail_msg("retry of seq 9: %s", lmsc_errmsg(ec));
	sv_expect(retry, LMS__RPC__STATUS__OK, "retry of grade seq 9");
	if (strcmp(first->grade->grade->graded_at,
	           retry->grade->grade->graded_at) != 0)
		fail_msg("the retried grade says graded_at %s, the first "
		         "answer %s: the grade was applied twice",
		         retry->grade->grade->graded_at,
		         first->grade->grade->graded_at);
	lmsc_response_free(first);
	lmsc_response_free(retry);
	cl_start(cl, leader);

	cl_assert_converged(cl, SV_CONVERGE_MS);
	lmsc_free(ec);
	lmsc_free(all);
	cl_stop_all(cl);
	cl_pass(cl);
}

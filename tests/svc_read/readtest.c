/*
 * readtest.c -- see readtest.h: the database, the fixture, and the calls.
 */
#include "readtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "pgtest.h"

/* ------------------------------------------------------------ fixture */

static const char fixture_sql[] =
	"INSERT INTO lms.app_user VALUES "
	" (1, 'admin', 'Ada Admin', 'admin', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),"
	" (2, 'ins1', 'Ina Instructor', 'instructor', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),"
	" (3, 'ins2', 'Ivan Second', 'instructor', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),"
	" (4, 'ta1', 'Tara Assistant', 'student', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),"
	" (5, 'alice', 'Alice Anders', 'student', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),"
	" (6, 'bob', '@bob', 'student', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),"
	" (7, 'carol', 'Carol, C.', 'student', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),"
	" (8, 'dave', 'Dave Dee', 'student', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),"
	" (9, 'tutor', 'Tutor Bot', 'tutor', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');"

	"INSERT INTO lms.course VALUES "
	" (100, 'A101', 'Algorithms', 1, '2026-01-01T01:00:00Z'),"
	" (200, 'B202', 'Biology', 1, '2026-01-01T02:00:00Z'),"
	" (300, 'C303', 'Chemistry', 1, '2026-01-01T03:00:00Z');"

	"INSERT INTO lms.enrollment VALUES "
	" (100, 2, 'instructor', '2026-01-02T00:00:00Z'),"
	" (100, 4, 'ta', '2026-01-02T00:00:00Z'),"
	" (100, 5, 'student', '2026-01-02T00:00:00Z'),"
	" (100, 6, 'student', '2026-01-02T00:00:00Z'),"
	" (100, 7, 'student', '2026-01-02T00:00:00Z'),"
	" (200, 3, 'instructor', '2026-01-02T00:00:00Z'),"
	" (200, 5, 'student', '2026-01-02T00:00:00Z'),"
	" (200, 8, 'student', '2026-01-02T00:00:00Z');"

	"INSERT INTO lms.file (id, name, media_type, size, sha256, data) "
	"SELECT id, name, mt, octet_length(convert_to(d, 'UTF8')), "
	"  encode(sha256(convert_to(d, 'UTF8')), 'hex'), convert_to(d, 'UTF8') "
	"FROM (VALUES "
	" (900, 'essay-prompt.txt', 'text/plain', 'Write 500 words.'),"
	" (901, 'report.txt', 'text/plain', 'hello report'),"
	" (902, 'sorting.pdf', 'application/pdf', '%PDF-1.4 sorting'),"
	" (903, 'graphs.txt', 'text/plain', 'graphs'),"
	" (904, 'dp.pdf', 'application/pdf', '%PDF-1.4 dp'),"
	" (905, 'hashing.txt', 'text/plain', 'hashing'),"
	" (906, 'paths.pdf', 'application/pdf', '%PDF-1.4 paths'),"
	" (907, 'trees.pdf', 'application/pdf', '%PDF-1.4 trees'),"
	" (908, 'cells.txt', 'text/plain', 'cells'),"
	" (909, 'atoms.txt', 'text/plain', 'atoms')) v(id, name, mt, d);"

	"INSERT INTO lms.assignment VALUES "
	" (10, 100, 'Intro essay', 'Write an essay', '2026-01-01T00:00:00Z', '2026-01-10T23:59:00Z', NULL,"
	"  100, 0, 0, 0, '{writing}', 900, 2, '2026-01-01T00:00:00Z'),"
	" (11, 100, 'Sorting', 'Sort things', '2026-01-05T00:00:00Z', '2026-01-20T23:59:00Z', '2026-01-25T23:59:00Z',"
	"  50, 10, 50, 3, '{sorting,arrays}', NULL, 2, '2026-01-05T00:00:00Z'),"
	" (12, 100, 'Graphs, \"BFS\" & DFS', 'Traverse', '2026-02-01T00:00:00Z', '2026-02-10T23:59:00Z', NULL,"
	"  20, 0, 0, 0, '{graphs}', NULL, 2, '2026-02-01T00:00:00Z'),"
	" (13, 100, 'Dynamic programming', 'Tables', '2026-02-15T00:00:00Z', '2026-03-01T23:59:00Z', '2026-03-05T23:59:00Z',"
	"  100, 10, 0, 0, '{dp}', NULL, 2, '2026-02-15T00:00:00Z'),"
	" (14, 100, 'Final project', 'Build it', '2026-03-01T00:00:00Z', '2026-03-20T23:59:00Z', NULL,"
	"  12.5, 0, 0, 1, '{}', NULL, 2, '2026-03-01T00:00:00Z'),"
	" (15, 100, '=SUM(A1,A2)', 'Spreadsheet', '2026-04-01T00:00:00Z', '2026-04-10T23:59:00Z', NULL,"
	"  10, 0, 0, 0, '{}', NULL, 2, '2026-03-01T00:00:00Z'),"
	" (20, 200, 'Cells', '', '2026-01-01T00:00:00Z', '2026-01-10T23:59:00Z', NULL, 100, 0, 0, 0, '{}', NULL, 3, '2026-01-01T00:00:00Z'),"
	" (21, 200, 'Membranes', '', '2026-01-05T00:00:00Z', '2026-01-20T23:59:00Z', NULL, 50, 0, 0, 0, '{}', NULL, 3, '2026-01-01T00:00:00Z'),"
	" (22, 200, 'Enzymes', '', '2026-01-20T00:00:00Z', '2026-02-01T23:59:00Z', NULL, 100, 0, 0, 0, '{}', NULL, 3, '2026-01-01T00:00:00Z'),"
	" (23, 200, 'Genetics', '', '2026-02-01T00:00:00Z', '2026-02-10T23:59:00Z', NULL, 100, 0, 0, 0, '{}', NULL, 3, '2026-01-01T00:00:00Z'),"
	" (24, 200, 'Evolution', '', '2026-02-15T00:00:00Z', '2026-03-01T23:59:00Z', NULL, 100, 0, 0, 0, '{}', NULL, 3, '2026-01-01T00:00:00Z'),"
	" (25, 200, 'Ecology', '', '2026-03-01T00:00:00Z', '2026-03-25T23:59:00Z', NULL, 100, 0, 0, 0, '{}', NULL, 3, '2026-01-01T00:00:00Z');"

	"INSERT INTO lms.extension VALUES "
	" (13, 7, '2026-03-20T23:59:00Z', '2026-03-25T23:59:00Z', 2, '2026-03-01T00:00:00Z');"

	"INSERT INTO lms.submission VALUES "
	" (101, 10, 5, 1, '2026-01-09T10:00:00Z', 'my essay', NULL, false, 0),"
	" (102, 11, 5, 1, '2026-01-19T10:00:00Z', 'sort v1', NULL, false, 0),"
	" (103, 11, 5, 2, '2026-01-22T12:00:00Z', 'sort v2', NULL, true, 2),"
	" (104, 12, 5, 1, '2026-02-09T10:00:00Z', 'graphs', NULL, false, 0),"
	" (105, 13, 5, 1, '2026-02-28T10:00:00Z', 'dp', NULL, false, 0),"
	" (106, 14, 5, 1, '2026-03-14T10:00:00Z', '', 901, false, 0),"
	" (111, 10, 6, 1, '2026-01-10T20:00:00Z', 'bob essay', NULL, false, 0),"
	" (112, 11, 6, 1, '2026-01-20T20:00:00Z', 'bob sort', NULL, false, 0),"
	" (113, 12, 6, 1, '2026-02-10T20:00:00Z', 'bob graphs', NULL, false, 0),"
	" (114, 13, 6, 1, '2026-03-02T10:00:00Z', 'bob dp', NULL, true, 1),"
	" (121, 10, 7, 1, '2026-01-08T10:00:00Z', 'carol essay', NULL, false, 0),"
	" (122, 12, 7, 1, '2026-02-01T10:00:00Z', 'carol graphs', NULL, false, 0),"
	" (201, 20, 8, 1, '2026-01-09T10:00:00Z', 'd1', NULL, false, 0),"
	" (202, 21, 8, 1, '2026-01-19T10:00:00Z', 'd2', NULL, false, 0),"
	" (203, 22, 8, 1, '2026-01-30T10:00:00Z', 'd3', NULL, false, 0),"
	" (204, 23, 8, 1, '2026-02-09T10:00:00Z', 'd4', NULL, false, 0),"
	" (205, 24, 8, 1, '2026-02-27T10:00:00Z', 'd5', NULL, false, 0),"
	" (206, 25, 8, 1, '2026-03-10T10:00:00Z', 'd6', NULL, false, 0);"

	"INSERT INTO lms.grade VALUES "
	" (101, 80, 0, 80, 'Good', 2, '2026-01-12T10:00:00Z'),"
	" (102, 30, 0, 30, 'Try again', 4, '2026-01-21T10:00:00Z'),"
	" (104, 19, 0, 19, 'Great', 4, '2026-02-12T10:00:00Z'),"
	" (105, 90, 0, 90, 'Very good', 2, '2026-03-03T10:00:00Z'),"
	" (111, 95, 0, 95, 'Excellent', 2, '2026-01-12T10:00:00Z'),"
	" (112, 44, 0, 44, 'Fine', 4, '2026-01-22T10:00:00Z'),"
	" (113, 14, 0, 14, 'Ok', 4, '2026-02-12T10:00:00Z'),"
	" (114, 70, 10, 63, 'Late', 2, '2026-03-05T10:00:00Z'),"
	" (121, 50, 0, 50, 'Weak', 2, '2026-01-12T10:00:00Z'),"
	" (122, 11, 0, 11, 'Meh', 4, '2026-02-12T10:00:00Z'),"
	" (201, 60, 0, 60, '', 3, '2026-01-12T10:00:00Z'),"
	" (202, 35, 0, 35, '', 3, '2026-01-22T10:00:00Z'),"
	" (203, 74, 0, 74, '', 3, '2026-02-03T10:00:00Z'),"
	" (204, 73, 0, 73, '', 3, '2026-02-12T10:00:00Z'),"
	" (205, 75, 0, 75, '', 3, '2026-03-03T10:00:00Z'),"
	" (206, 72, 0, 72, '', 3, '2026-03-12T10:00:00Z');"

	"INSERT INTO lms.material VALUES "
	" (301, 100, 'Sorting algorithms', 'sorting', 'pdf', 3, '', 902, 2, '2026-01-03T09:00:00Z'),"
	" (302, 100, 'Graph traversal', 'graphs', 'txt', 0, '', 903, 2, '2026-01-03T09:01:00Z'),"
	" (303, 100, 'Dynamic programming', 'dp', 'pdf', 2, '', 904, 2, '2026-01-03T09:02:00Z'),"
	" (304, 100, 'Hash tables', 'hashing', 'txt', 0, '', 905, 2, '2026-01-03T09:03:00Z'),"
	" (305, 100, 'Shortest paths', 'graphs', 'pdf', 2, '', 906, 2, '2026-01-03T09:04:00Z'),"
	" (306, 100, 'Binary search trees', 'trees', 'pdf', 1, 'page 2 had no text', 907, 2, '2026-01-03T09:05:00Z'),"
	" (401, 200, 'Cell biology', 'cells', 'txt', 0, '', 908, 3, '2026-01-03T09:06:00Z'),"
	" (501, 300, 'Atoms', 'atoms', 'txt', 0, '', 909, 1, '2026-01-03T09:07:00Z');"

	"INSERT INTO lms.query VALUES "
	" (601, 100, 5, 'instructor', 'When is the final project due?', 'open', '2026-03-10T10:00:00Z', NULL, NULL, NULL),"
	" (602, 100, 5, 'tutor', 'How does quicksort pick its pivot?', 'answered', '2026-03-10T11:00:00Z', NULL, NULL, '2026-03-10T11:01:00Z'),"
	" (603, 100, 6, 'tutor', 'What is a hash collision?', 'claimed', '2026-03-15T11:58:00Z', 'tutord-1', '2026-03-15T12:05:00Z', NULL),"
	" (604, 100, 6, 'instructor', 'Can I get an extension for DP?', 'answered', '2026-03-02T08:00:00Z', NULL, NULL, '2026-03-02T09:00:00Z'),"
	" (605, 100, 7, 'tutor', 'Explain Bellman-Ford', 'open', '2026-03-14T20:00:00Z', NULL, NULL, NULL),"
	" (606, 200, 8, 'tutor', 'What do mitochondria do?', 'open', '2026-03-13T10:00:00Z', NULL, NULL, NULL),"
	" (607, 200, 8, 'instructor', 'Is the ecology report graded?', 'open', '2026-03-13T11:00:00Z', NULL, NULL, NULL);"

	"INSERT INTO lms.answer VALUES "
	" (701, 602, 9, 'Quicksort picks a pivot element [S1].', '2026-03-10T11:01:00Z'),"
	" (702, 604, 2, 'No, sorry.', '2026-03-02T09:00:00Z');"

	"INSERT INTO lms.answer_source VALUES "
	" (701, 1, 'S1', 301, 1, 2, 'Sorting algorithms');";

const struct rt_chunk rt_chunks[] = {
	{301, 0, 1, "Merge sort divides the array into two halves, sorts each "
	            "half recursively and merges the sorted halves in linear "
	            "time, so its running time is O(n log n) in every case."},
	{301, 1, 2, "Quicksort picks a pivot element and partitions the array "
	            "around the pivot so that smaller elements come before it. "
	            "Its average running time is O(n log n) but the worst case "
	            "is quadratic."},
	{301, 2, 3, "Heapsort builds a binary max-heap from the input and "
	            "repeatedly extracts the largest element to the end of the "
	            "array."},
	{302, 0, 0, "Breadth-first search explores a graph level by level with "
	            "a queue, and it finds shortest paths in unweighted graphs."},
	{302, 1, 0, "Depth-first search follows each branch as deep as "
	            "possible using a stack or recursion; it detects cycles and "
	            "yields a topological order."},
	{303, 0, 1, "Dynamic programming solves problems with overlapping "
	            "subproblems by memoization or tabulation, storing the "
	            "answer of each subproblem once."},
	{303, 1, 2, "The knapsack problem chooses items with weights and values "
	            "to maximize the total value within a capacity; the table "
	            "has one row per item and one column per capacity."},
	{304, 0, 0, "A hash table maps keys to buckets with a hash function. "
	            "Collisions are resolved by chaining or by open addressing, "
	            "which gives expected constant-time lookups."},
	{305, 0, 1, "Dijkstra's algorithm computes shortest paths from a source "
	            "in graphs with non-negative edge weights, using a priority "
	            "queue."},
	{305, 1, 2, "Bellman-Ford handles negative edge weights and detects "
	            "negative cycles by relaxing every edge V-1 times."},
	{306, 0, 1, "A binary search tree keeps its keys ordered: smaller keys "
	            "in the left subtree, larger in the right. Balanced trees "
	            "such as AVL and red-black trees keep a logarithmic height "
	            "through rotations."},
	{401, 0, 0, "Mitochondria produce ATP through cellular respiration; the "
	            "cell membrane is a phospholipid bilayer."},
	{401, 1, 0, "Protein sorting in the Golgi apparatus sends each protein "
	            "to its destination."},
	{0, 0, 0, NULL},
};

const char *rt_chunk_body(int64_t material_id, int chunk_no)
{
	for (const struct rt_chunk *c = rt_chunks; c->body; c++)
		if (c->material_id == material_id && c->chunk_no == chunk_no)
			return c->body;
	fail_msg("no chunk %lld/%d in the fixture", (long long)material_id,
	         chunk_no);
	return NULL;
}

static void insert_chunk(PGconn *conn, int64_t mid, int no, int page,
                         const char *body)
{
	char m[24], n[24], p[24];
	snprintf(m, sizeof m, "%lld", (long long)mid);
	snprintf(n, sizeof n, "%d", no);
	snprintf(p, sizeof p, "%d", page);
	const char *v[] = {m, n, p, body};
	PGresult *res = PQexecParams(conn,
		"INSERT INTO lms.material_chunk (material_id, chunk_no, page, "
		"body) VALUES ($1, $2, $3, $4)", 4, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
		PQclear(res);
		fail_msg("chunk insert failed: %s", msg);
	}
	PQclear(res);
}

/* ------------------------------------------------------------- group */

int rt_setup(void **state)
{
	struct rt *t = calloc(1, sizeof *t);
	assert_non_null(t);
	*state = t; /* for the teardown, also when a step below fails */
	t->conn = pgtest_create_db("svc_read", t->db, sizeof t->db);
	pgtest_exec(t->conn, "SET client_min_messages = warning");
	char *schema = pgtest_read_source("migrations/001_lms_schema.sql");
	pgtest_exec(t->conn, schema);
	free(schema);
	pgtest_exec(t->conn, fixture_sql);
	for (const struct rt_chunk *c = rt_chunks; c->body; c++)
		insert_chunk(t->conn, c->material_id, c->chunk_no, c->page,
		             c->body);
	for (int i = 0; i < 25; i++) {
		char body[128];
		snprintf(body, sizeof body, "Atom number %d: electrons occupy "
		         "orbitals around the nucleus.", i + 1);
		insert_chunk(t->conn, 501, i, 0, body);
	}
	assert_int_equal(lms_iso_parse(RT_NOW, &t->now_ms), 0);
	t->limits.max_text_bytes = 65536;
	t->limits.max_upload_bytes = 1 << 20;
	t->limits.max_page_size = 100;
	return 0;
}

static void free_resp(struct rt *t)
{
	if (t->resp)
		protobuf_c_message_free_unpacked(&t->resp->base, NULL);
	t->resp = NULL;
}

int rt_teardown(void **state)
{
	struct rt *t = *state;
	if (!t)
		return 0;
	free_resp(t);
	if (t->conn) /* else the setup failed before it had a database */
		pgtest_drop_db(t->conn, t->db);
	free(t);
	return 0;
}

/* ------------------------------------------------------------- calls */

struct svc_ctx *rt_as(struct rt *t, const char *who)
{
	free_resp(t);
	const char *v[] = {who};
	PGresult *res = PQexecParams(t->conn,
		"SELECT id, role FROM lms.app_user WHERE username = $1", 1,
		NULL, v, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	if (PQntuples(res) != 1) {
		PQclear(res);
		fail_msg("no user \"%s\" in the fixture", who);
	}
	memset(&t->actor, 0, sizeof t->actor);
	t->actor.id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(t->actor.username, sizeof t->actor.username, "%s", who);
	t->actor.role = svc_role_parse(PQgetvalue(res, 0, 1));
	PQclear(res);

	t->resp = malloc(sizeof *t->resp);
	assert_non_null(t->resp);
	lms__rpc__response__init(t->resp);
	memset(&t->x, 0, sizeof t->x);
	t->x.conn = t->conn;
	t->x.now = RT_NOW;
	t->x.now_ms = t->now_ms;
	t->x.actor = &t->actor;
	t->x.limits = &t->limits;
	t->x.resp = t->resp;
	return &t->x;
}

Lms__Rpc__Response *rt_ok(struct rt *t, int rv,
                          Lms__Rpc__Response__ResultCase rc)
{
	if (rv != 0)
		fail_msg("read failed: %s", t->x.err);
	if (t->resp->status != LMS__RPC__STATUS__OK)
		fail_msg("refused (%d): %s", t->resp->status, t->resp->message);
	assert_int_equal(t->resp->result_case, rc);
	assert_non_null(t->resp->kv_put); /* the result (a union member) */
	return t->resp;
}

void rt_refused(struct rt *t, int rv, Lms__Rpc__Status status,
                const char *msg)
{
	if (rv != 0)
		fail_msg("read failed: %s", t->x.err);
	if (t->resp->status != status)
		fail_msg("expected status %d, got %d (%s)", status,
		         t->resp->status, t->resp->message);
	assert_int_equal(t->resp->result_case,
	                 LMS__RPC__RESPONSE__RESULT__NOT_SET);
	assert_non_null(t->resp->message);
	assert_true(t->resp->message[0] != '\0');
	if (msg && !strstr(t->resp->message, msg))
		fail_msg("message \"%s\" does not contain \"%s\"",
		         t->resp->message, msg);
}

void rt_failed(struct rt *t, int rv)
{
	assert_int_equal(rv, -1);
	assert_true(t->x.err[0] != '\0');
	assert_int_equal(t->resp->result_case,
	                 LMS__RPC__RESPONSE__RESULT__NOT_SET);
}

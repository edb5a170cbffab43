/*
 * readtest.h -- the fixture of the svc_read tests: the read_* functions of
 * lmsd/svc/svc.h called directly against a real PostgreSQL, the way
 * svc_machine.c calls them (an authenticated actor, the local time, the
 * limits), on tables filled by plain SQL.
 *
 * Each test file is one cmocka group with one fresh database: the LMS
 * schema (migrations/001_lms_schema.sql) and the fixture below, inserted
 * once in the group setup (reads change nothing). Time of every read:
 * RT_NOW.
 *
 * The fixture (ids fixed; "A" = course A101, "B" = B202):
 *
 *   users   1 admin (admin)  2 ins1, 3 ins2 (instructors)  4 ta1 (student
 *           account, TA of A)  5 alice  6 bob ("@bob")  7 carol
 *           ("Carol, C.")  8 dave  9 tutor (tutor account)
 *   courses 100 A101: ins1 instructor, ta1 TA, alice, bob, carol students
 *           200 B202: ins2 instructor, alice, dave students
 *           300 C303: nobody enrolled; 25 chunks of one material (search
 *           limit cap)
 *   A assignments (due at 23:59Z; opens; max points):
 *      10 Intro essay        due 01-10  100  attachment file 900
 *      11 Sorting            due 01-20   50  cut-off 01-25, 10 %/day
 *      12 Graphs, "BFS" & DFS due 02-10  20
 *      13 Dynamic programming due 03-01 100  10 %/day; carol's extension
 *                                            to 03-20 (cut-off 03-25)
 *      14 Final project      due 03-20  12.5
 *      15 =SUM(A1,A2)        opens 04-01 (not open at RT_NOW), due 04-10, 10
 *   B assignments 20..25 (Cells, Membranes (50 points), Enzymes,
 *      Genetics, Evolution, Ecology; 25 due 03-25), all open.
 *   submissions / counted grades (normalized):
 *      alice  10: 80 | 11: att 1 graded 30/50 (60), att 2 late 2 days,
 *             not graded | 12: 19/20 (95) | 13: 90 | 14: submitted
 *             with file 901, not graded
 *      bob    10: 95 | 11: 44/50 (88) | 12: 14/20 (70) | 13: 1 day
 *             late, raw 70 -> 63
 *      carol  10: 50 | 12: 11/20 (55)
 *      dave   20..25: 60, 35/50 (70), 74, 73, 75, 72
 *   materials of A (uploaded by ins1): 301 Sorting algorithms, 302 Graph
 *      traversal, 303 Dynamic programming, 304 Hash tables, 305 Shortest
 *      paths, 306 Binary search trees; of B: 401 Cell biology (mentions
 *      "sorting" too); of C: 501 Atoms (25 chunks)
 *   questions 601 alice A instructor open | 602 alice A tutor answered
 *      (tutor's answer 701 citing 301 chunk 1) | 603 bob A tutor claimed
 *      | 604 bob A instructor answered (ins1's answer 702) | 605 carol A
 *      tutor open | 606 dave B tutor open | 607 dave B instructor open
 */
#ifndef LMS_TESTS_SVC_READ_READTEST_H
#define LMS_TESTS_SVC_READ_READTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "svc.h"

#define RT_NOW "2026-03-15T12:00:00Z"
#define RT_EXPIRES "2026-03-16T12:00:00Z"

struct rt {
	PGconn *conn;
	char db[64];
	int64_t now_ms;
	struct svc_limits limits;
	struct svc_actor actor;
	struct svc_ctx x;
	Lms__Rpc__Response *resp; /* of the last call, freed by the next */
};

/* The chunks of the fixture's materials (for expectations on text). */
struct rt_chunk {
	int64_t material_id;
	int chunk_no;
	int page;
	const char *body;
};
extern const struct rt_chunk rt_chunks[];
/* The body of chunk_no of material_id (fails the test when absent). */
const char *rt_chunk_body(int64_t material_id, int chunk_no);

/* cmocka group setup / teardown: *state = struct rt *. */
int rt_setup(void **state);
int rt_teardown(void **state);

/* Starts a call as username who: frees the previous Response, makes a
 * fresh one; returns the ctx to pass to the read function. */
struct svc_ctx *rt_as(struct rt *t, const char *who);

/* The read returned rv: must be 0 with status OK and result rc. */
Lms__Rpc__Response *rt_ok(struct rt *t, int rv,
                          Lms__Rpc__Response__ResultCase rc);
/* The read returned rv: must be 0, refused with status, no result, and a
 * message containing msg (NULL: any non-empty message). */
void rt_refused(struct rt *t, int rv, Lms__Rpc__Status status,
                const char *msg);

/* The read returned rv: must be -1 (a database failure) with x.err set,
 * and no result hung on the Response. */
void rt_failed(struct rt *t, int rv);

/* Runs fn(ctx, req) as who and checks it succeeded: evaluates to the
 * Response. */
/* Short names of the refusals. */
#define DENIED LMS__RPC__STATUS__PERMISSION_DENIED
#define NOTFOUND LMS__RPC__STATUS__NOT_FOUND
#define INVALID LMS__RPC__STATUS__INVALID_ARGUMENT
#define PRECONDITION LMS__RPC__STATUS__FAILED_PRECONDITION

#define RT_OK(t, who, fn, req, rc) rt_ok((t), fn(rt_as((t), (who)), (req)), (rc))
#define RT_REFUSED(t, who, fn, req, status, msg)                             \
	rt_refused((t), fn(rt_as((t), (who)), (req)), (status), (msg))

#endif

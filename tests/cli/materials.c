/*
 * materials.c -- cli_materials_queries: course materials, questions,
 * the tutor's `ask`, progress, statistics and stale reads through lms:
 *
 *   - material upload (a text file, and one of 2 MiB: no progress bar
 *     when the output is not a terminal), list, get (byte-identical to
 *     the upload, -o and the file's own name), search;
 *   - query post / list / show / answer between a student and the
 *     instructor, and who may see what (5 for another student);
 *   - ask: posted to the tutor, the matching excerpts shown while it
 *     waits, no answer within --wait (exit 0, answered false), and an
 *     answer arriving while it polls;
 *   - progress (a student's own, every student of the course for the
 *     instructor, one student), stats, their refusals;
 *   - --stale reads served by any node.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_util.h"
#include "isotime.h"

static const char *u64(uint64_t v)
{
	static char ring[8][24];
	static unsigned n;
	char *p = ring[n++ % 8];
	snprintf(p, sizeof ring[0], "%llu", (unsigned long long)v);
	return p;
}

static const char notes[] =
	"Raft divides time into terms. Each term begins with an election. "
	"A follower that hears nothing from a leader becomes a candidate and "
	"asks the others for votes; a candidate with a majority becomes "
	"leader.\n";

static void materials(struct ct *t, uint64_t *small, uint64_t *big)
{
	char path[300], bigpath[300];
	snprintf(path, sizeof path, "%s/raft-notes.txt",
	         ct_home(t, "instructor1"));
	ct_write_file(path, notes, strlen(notes));
	struct ct_res *r = CT_LMS(t, "instructor1", "--json", "material",
	                          "upload", "CS101", path, "--title",
	                          "Raft notes", "--topic", "raft");
	ct_ok(r);
	*small = (uint64_t)ct_int(r->json, "material.id");
	assert_string_equal(ct_str(r->json, "material.kind"), "txt");
	assert_string_equal(ct_str(r->json, "material.title"), "Raft notes");
	assert_string_equal(ct_str(r->json, "material.topic"), "raft");
	assert_string_equal(ct_str(r->json, "material.file.name"),
	                    "raft-notes.txt");
	assert_true(ct_int(r->json, "material.chunks") >= 1);
	assert_string_equal(ct_str(r->json, "material.uploaded_by"),
	                    "instructor1");

	/* 2 MiB of text: over the progress threshold, but no terminal */
	size_t len = 2u << 20;
	char *text = malloc(len);
	for (size_t i = 0; i < len; i++)
		text[i] = (i % 64 == 63) ? '\n' : (char)('a' + (i * 7 + i / 64) % 26);
	snprintf(bigpath, sizeof bigpath, "%s/big.txt",
	         ct_home(t, "instructor1"));
	ct_write_file(bigpath, text, len);
	free(text);
	r = CT_LMS(t, "instructor1", "material", "upload", "CS101", bigpath);
	ct_ok(r);
	ct_has(r, "Uploaded material");
	assert_null(strchr(r->err, '\r'));
	assert_null(strstr(r->err, "[#"));
	r = CT_LMS(t, "instructor1", "--json", "material", "list", "CS101");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "materials"), 2);
	json_t *m = ct_find(r->json, "materials", "title", "big.txt");
	*big = (uint64_t)json_integer_value(json_object_get(m, "id"));
	assert_int_equal(json_integer_value(json_object_get(
		                 json_object_get(m, "file"), "size")),
	                 (json_int_t)len);

	ct_code(CT_LMS(t, "student1", "material", "upload", "CS101", path), 4);
	ct_code(CT_LMS(t, "instructor1", "material", "upload", "CS101",
	               "/nonexistent/file.txt"), 1);
	ct_code(CT_LMS(t, "instructor1", "material", "upload", "NOPE", path),
	        5);

	/* a student downloads both, byte-identical */
	r = CT_LMS(t, "student1", "material", "list", "CS101");
	ct_ok(r);
	ct_has(r, "Raft notes");
	r = CT_LMS(t, "student1", "--json", "material", "get", u64(*big), "-o",
	           "big-copy.txt");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "saved_to"), "big-copy.txt");
	assert_null(strchr(r->err, '\r'));
	char copy[300];
	snprintf(copy, sizeof copy, "%s/big-copy.txt", ct_home(t, "student1"));
	ct_same_file(bigpath, copy);
	r = CT_LMS(t, "student1", "material", "get", u64(*small));
	ct_ok(r);
	ct_has(r, "raft-notes.txt");
	snprintf(copy, sizeof copy, "%s/raft-notes.txt", ct_home(t, "student1"));
	ct_same_file(path, copy);
	ct_code(CT_LMS(t, "student1", "material", "get", u64(*small)), 6);
	r = CT_LMS(t, "student1", "material", "get", u64(*small), "-o", "-");
	ct_ok(r);
	assert_string_equal(r->out, notes);
	ct_code(CT_LMS(t, "student1", "--json", "material", "get", u64(*small),
	               "-o", "-"), 2);
	ct_code(CT_LMS(t, "outsider", "material", "get", u64(*small)), 5);
	ct_code(CT_LMS(t, "student1", "material", "get", "999999"), 5);

	r = CT_LMS(t, "student1", "--json", "material", "search", "CS101",
	           "leader election", "--limit", "3");
	ct_ok(r);
	assert_true(ct_len(r->json, "chunks") >= 1);
	assert_int_equal(ct_int(r->json, "chunks[0].material_id"),
	                 (int64_t)*small);
	ct_code(CT_LMS(t, "outsider", "material", "search", "CS101", "raft"), 4);
}

static void questions(struct ct *t)
{
	struct ct_res *r = CT_LMS(t, "student1", "--json", "query", "post",
	                          "CS101", "What is a term?");
	ct_ok(r);
	uint64_t q = (uint64_t)ct_int(r->json, "query.id");
	assert_string_equal(ct_str(r->json, "query.to"), "instructor");
	assert_string_equal(ct_str(r->json, "query.status"), "open");
	assert_string_equal(ct_str(r->json, "query.student"), "student1");
	ct_code(CT_LMS(t, "student1", "query", "post", "CS101", "x", "--to",
	               "god"), 2);
	ct_code(CT_LMS(t, "outsider", "query", "post", "CS101", "Hello?"), 4);

	r = CT_LMS(t, "instructor1", "--json", "query", "list", "CS101",
	           "--open");
	ct_ok(r);
	json_t *e = ct_find(r->json, "queries", "body", "What is a term?");
	assert_int_equal(json_integer_value(json_object_get(e, "id")),
	                 (json_int_t)q);
	r = CT_LMS(t, "student2", "--json", "query", "list");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "queries"), 0);
	ct_code(CT_LMS(t, "student2", "query", "show", u64(q)), 5);
	/* a refusal either way: the write side says 4 (permission), the
	 * read side's rule would say 5 (reported to the service's owners) */
	r = CT_LMS(t, "student2", "query", "answer", u64(q), "x");
	assert_true(r->code == 4 || r->code == 5);

	r = CT_LMS(t, "instructor1", "--json", "query", "answer", u64(q),
	           "A term is a period with at most one leader.");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "query.status"), "answered");
	assert_string_equal(ct_str(r->json, "query.answers[0].author"),
	                    "instructor1");
	r = CT_LMS(t, "student1", "--json", "query", "show", u64(q));
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "query.answers[0].body"),
	                    "A term is a period with at most one leader.");
	assert_false(ct_bool(r->json, "query.answers[0].by_tutor"));
	r = CT_LMS(t, "student1", "query", "show", u64(q));
	ct_ok(r);
	ct_has(r, "Answer by instructor1");
	r = CT_LMS(t, "instructor1", "--json", "query", "list", "CS101",
	           "--open");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "queries"), 0);
	r = CT_LMS(t, "student1", "query", "list");
	ct_ok(r);
	ct_has(r, "What is a term?");
	ct_has(r, "answered");
}

static void ask(struct ct *t)
{
	/* no tutor runs: the question is posted, excerpts shown, no answer */
	struct ct_res *r = CT_LMS(t, "student1", "ask", "CS101",
	                          "How is a leader elected?", "--wait", "1");
	ct_ok(r);
	ct_has(r, "Waiting for the tutor");
	ct_has(r, "Meanwhile, from the course materials");
	ct_has(r, "Raft notes");
	ct_has(r, "No answer yet");
	r = CT_LMS(t, "student1", "--json", "ask", "CS101",
	           "Who becomes leader?", "--wait", "0");
	ct_ok(r);
	assert_false(ct_bool(r->json, "answered"));
	assert_string_equal(ct_str(r->json, "query.to"), "tutor");
	assert_string_equal(ct_str(r->json, "query.body"),
	                    "Who becomes leader?");
	assert_true(ct_len(r->json, "excerpts") >= 1);
	assert_string_equal(ct_str(r->json, "excerpts[0].title"),
	                    "Raft notes");

	/* an answer that arrives while ask polls */
	char tag[300];
	const char *args[] = {"--json", "ask", "CS101", "What is a quorum?",
	                      "--wait", "60", NULL};
	pid_t pid = ct_start(t, "student1", args, tag, sizeof tag);
	uint64_t qid = 0;
	for (int i = 0; i < 100 && !qid; i++) {
		r = CT_LMS(t, "instructor1", "--json", "query", "list", "CS101",
		           "--open", "--to", "tutor");
		ct_ok(r);
		size_t k;
		json_t *e;
		json_array_foreach(ct_get(r->json, "queries"), k, e)
		{
			const char *b =
				json_string_value(json_object_get(e, "body"));
			if (b && strcmp(b, "What is a quorum?") == 0)
				qid = (uint64_t)json_integer_value(
					json_object_get(e, "id"));
		}
		if (!qid)
			cl_sleep_ms(200);
	}
	assert_true(qid != 0);
	ct_ok(CT_LMS(t, "instructor1", "query", "answer", u64(qid),
	             "A majority of the servers."));
	r = ct_finish(t, pid, tag, 60000);
	ct_ok(r);
	assert_true(ct_bool(r->json, "answered"));
	assert_int_equal(ct_int(r->json, "query.id"), (int64_t)qid);
	assert_string_equal(ct_str(r->json, "query.answers[0].body"),
	                    "A majority of the servers.");
}

static void reports(struct ct *t)
{
	char due[LMS_ISO_MAX];
	ct_iso_in(86400, due);
	struct ct_res *r = CT_LMS(t, "instructor1", "--json", "assignment",
	                          "create", "CS101", "--title", "Terms",
	                          "--due", due);
	ct_ok(r);
	uint64_t a = (uint64_t)ct_int(r->json, "assignment.id");
	r = CT_LMS(t, "student1", "--json", "submit", u64(a), "--text", "t");
	ct_ok(r);
	uint64_t s = (uint64_t)ct_int(r->json, "submission.id");
	ct_ok(CT_LMS(t, "instructor1", "grade", u64(s), "90"));

	r = CT_LMS(t, "student1", "--json", "progress");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "progress"), 1);
	assert_string_equal(ct_str(r->json, "progress[0].course"), "CS101");
	assert_string_equal(ct_str(r->json, "progress[0].student"), "student1");
	assert_int_equal(ct_int(r->json, "progress[0].done"), 1);
	assert_int_equal(ct_int(r->json, "progress[0].graded"), 1);
	assert_true(ct_num(r->json, "progress[0].average") == 90);
	assert_string_equal(ct_str(r->json, "progress[0].level"), "advanced");
	r = CT_LMS(t, "instructor1", "--json", "progress", "CS101");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "progress"), 2); /* both students */
	json_t *p2 = ct_find(r->json, "progress", "student", "student2");
	assert_int_equal(json_integer_value(json_object_get(p2, "due")), 1);
	r = CT_LMS(t, "instructor1", "--json", "progress", "CS101",
	           "--student", "student2");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "progress"), 1);
	r = CT_LMS(t, "instructor1", "progress", "CS101");
	ct_ok(r);
	ct_has(r, "advanced");
	ct_code(CT_LMS(t, "student1", "progress", "CS101", "--student",
	               "student2"), 4);

	r = CT_LMS(t, "instructor1", "--json", "stats", "CS101");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "course"), "CS101");
	assert_int_equal(ct_int(r->json, "students"), 2);
	assert_int_equal(ct_int(r->json, "graded_students"), 1);
	assert_int_equal(ct_int(r->json, "grade_a"), 1);
	assert_int_equal(ct_len(r->json, "assignments"), 1);
	assert_true(ct_num(r->json, "assignments[0].submission_rate") == 50);
	r = CT_LMS(t, "instructor1", "stats", "CS101");
	ct_ok(r);
	ct_has(r, "Class statistics of CS101");
	ct_json_error(CT_LMS(t, "student1", "--json", "stats", "CS101"), 4,
	              "PERMISSION_DENIED");
	ct_code(CT_LMS(t, "instructor1", "stats", "NOPE"), 5);

	/* stale reads: any node, same answer once it caught up */
	cl_wait_applied_all(t->cl, 1, 1000);
	for (int i = 0; i < 3; i++) {
		r = CT_LMS(t, "student1", "--stale", "--json", "course", "list");
		ct_ok(r);
		if (ct_len(r->json, "courses") == 1)
			break;
		cl_sleep_ms(500);
	}
	assert_string_equal(ct_str(r->json, "courses[0].code"), "CS101");
	r = CT_LMS(t, "student1", "--stale", "course", "list");
	ct_ok(r);
	assert_non_null(strstr(r->err, "stale read"));
}

void cli_materials_queries(void **state)
{
	struct ct *t = ct_begin(*state);
	ct_user(t, "instructor1", "instructor");
	ct_user(t, "student1", "student");
	ct_user(t, "student2", "student");
	ct_user(t, "outsider", "student");
	ct_ok(CT_LMS(t, "instructor1", "course", "create", "CS101", "--title",
	             "Distributed Systems"));
	ct_ok(CT_LMS(t, "instructor1", "course", "enroll", "CS101",
	             "student1"));
	ct_ok(CT_LMS(t, "instructor1", "course", "enroll", "CS101",
	             "student2"));
	uint64_t small, big;
	materials(t, &small, &big);
	questions(t);
	ask(t);
	reports(t);
	ct_end(t);
}

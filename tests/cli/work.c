/*
 * work.c -- cli_courses_work: courses, assignments, submissions, grades
 * through lms, as the instructor and two students would use them:
 *
 *   - course create / list / enroll / members, with their refusals;
 *   - assignment create with every option (an attachment, topics, a due
 *     time typed in local time under another TZ), list, show (the
 *     attachment downloaded byte-identical), extend;
 *   - submit: a file and a text, attempt numbers, the attempt limit, a
 *     late submission (days late in the message and the JSON), a refused
 *     one after the cut-off, and the same for a student with an extension;
 *   - submission list / get: the file downloaded byte-identical, never
 *     over an existing file without --force, a hostile file name from the
 *     server saved under its safe basename only;
 *   - grade (late penalty arithmetic, not the latest attempt, over the
 *     maximum), grades, gradebook (--csv, --json);
 *   - not found (5), permission denied (4), invalid (6), usage (2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_util.h"
#include "isotime.h"

/* A submission sent straight through the client library with a file
 * name lms itself would never send (it sends basenames). */
static uint64_t raw_submit(struct ct *t, const char *who, uint64_t asg,
                           const char *name, const char *data)
{
	size_t len;
	char *tok = (char *)ct_read_file(ct_session(t, who), &len);
	assert_non_null(tok);
	tok[64] = '\0';
	struct lmsc_node nodes[LMSC_MAX_NODES];
	size_t n;
	char err[256];
	assert_int_equal(lmsc_nodes_parse(t->nodes, nodes, &n, err, sizeof err),
	                 0);
	struct lmsc *c = lmsc_new(nodes, n, NULL);
	Lms__Rpc__File f = LMS__RPC__FILE__INIT;
	f.name = (char *)name;
	f.data.data = (uint8_t *)data;
	f.data.len = strlen(data);
	Lms__Rpc__SubmitRequest s = LMS__RPC__SUBMIT_REQUEST__INIT;
	s.assignment_id = asg;
	s.file = &f;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_SUBMIT;
	req.submit = &s;
	req.token = tok;
	Lms__Rpc__Response *r = NULL;
	assert_int_equal(lmsc_call(c, &req, &r, LMSC_WRITE), 0);
	if (r->status != LMS__RPC__STATUS__OK)
		fail_msg("raw submit of \"%s\": %s", name, r->message);
	uint64_t id = r->submit->submission->id;
	lmsc_response_free(r);
	lmsc_free(c);
	free(tok);
	return id;
}

static uint64_t id_of(struct ct_res *r, const char *path)
{
	ct_ok(r);
	return (uint64_t)ct_int(r->json, path);
}

static const char *u64(uint64_t v)
{
	static char ring[8][24];
	static unsigned n;
	char *p = ring[n++ % 8];
	snprintf(p, sizeof ring[0], "%llu", (unsigned long long)v);
	return p;
}

static void courses(struct ct *t)
{
	struct ct_res *r = CT_LMS(t, "instructor1", "--json", "course",
	                          "create", "CS101", "--title",
	                          "Distributed Systems");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "course.code"), "CS101");
	assert_string_equal(ct_str(r->json, "course.title"),
	                    "Distributed Systems");
	r = CT_LMS(t, "instructor1", "-q", "course", "create", "CS102",
	           "--title", "Other");
	ct_ok(r);
	assert_string_equal(r->out, "CS102\n");
	ct_json_error(CT_LMS(t, "instructor1", "--json", "course", "create",
	                     "CS101", "--title", "Again"),
	              6, "CONFLICT");
	ct_json_error(CT_LMS(t, "student1", "--json", "course", "create",
	                     "ST1", "--title", "Mine"),
	              4, "PERMISSION_DENIED");
	ct_code(CT_LMS(t, "instructor1", "course", "create", "CS103"), 2);

	r = CT_LMS(t, "instructor1", "--json", "course", "enroll", "CS101",
	           "student1");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "member.user.username"),
	                    "student1");
	assert_string_equal(ct_str(r->json, "member.role"), "student");
	ct_ok(CT_LMS(t, "instructor1", "course", "enroll", "CS101", "student2",
	             "--role", "student"));
	ct_json_error(CT_LMS(t, "instructor1", "--json", "course", "enroll",
	                     "CS101", "nobody"),
	              5, "NOT_FOUND");
	ct_json_error(CT_LMS(t, "student1", "--json", "course", "enroll",
	                     "CS101", "student3"),
	              4, "PERMISSION_DENIED");
	ct_code(CT_LMS(t, "instructor1", "course", "enroll", "CS101",
	               "student3", "--role", "king"), 2);

	r = CT_LMS(t, "instructor1", "--json", "course", "list");
	ct_ok(r);
	json_t *c = ct_find(r->json, "courses", "code", "CS101");
	assert_string_equal(json_string_value(json_object_get(c, "my_role")),
	                    "instructor");
	assert_int_equal(json_integer_value(json_object_get(c, "students")), 2);
	r = CT_LMS(t, "student1", "--json", "course", "list");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "courses"), 1);
	assert_string_equal(ct_str(r->json, "courses[0].my_role"), "student");
	r = CT_LMS(t, "student1", "course", "list");
	ct_ok(r);
	ct_has(r, "CODE");
	ct_has(r, "Distributed Systems");

	r = CT_LMS(t, "instructor1", "--json", "course", "members", "CS101");
	ct_ok(r);
	json_t *m = ct_find(r->json, "members", "role", "instructor");
	assert_string_equal(json_string_value(json_object_get(
		                    json_object_get(m, "user"), "username")),
	                    "instructor1");
	assert_int_equal(ct_len(r->json, "members"), 3);
	ct_code(CT_LMS(t, "instructor1", "course", "members", "NOPE"), 5);
}

void cli_courses_work(void **state)
{
	struct ct *t = ct_begin(*state);
	ct_user(t, "instructor1", "instructor");
	ct_user(t, "student1", "student");
	ct_user(t, "student2", "student");
	ct_user(t, "student3", "student");
	courses(t);

	/* ---- assignments */
	char spec[300], due[LMS_ISO_MAX], past3[LMS_ISO_MAX],
		past25h[LMS_ISO_MAX], past2[LMS_ISO_MAX], past1[LMS_ISO_MAX];
	snprintf(spec, sizeof spec, "%s/spec.txt", ct_home(t, "instructor1"));
	ct_write_file(spec, "Explain leader election.\n", 25);
	ct_iso_in(7 * 86400, due);
	struct ct_res *r = CT_LMS(t, "instructor1", "--json", "assignment",
	                          "create", "CS101", "--title",
	                          "Raft leader election", "--due", due,
	                          "--points", "50", "--late-penalty", "10",
	                          "--penalty-floor", "50", "--attempts", "2",
	                          "--topic", "raft", "--topic", "consensus",
	                          "--description", "In your own words.",
	                          "--attach", spec);
	uint64_t a1 = id_of(r, "assignment.id");
	assert_string_equal(ct_str(r->json, "assignment.course"), "CS101");
	assert_string_equal(ct_str(r->json, "assignment.due_at"), due);
	assert_true(ct_num(r->json, "assignment.max_points") == 50);
	assert_true(ct_num(r->json, "assignment.late_penalty_pct") == 10);
	assert_int_equal(ct_int(r->json, "assignment.max_attempts"), 2);
	assert_int_equal(ct_len(r->json, "assignment.topics"), 2);
	assert_string_equal(ct_str(r->json, "assignment.topics[1]"),
	                    "consensus");
	assert_string_equal(ct_str(r->json, "assignment.attachment.name"),
	                    "spec.txt");
	assert_int_equal(ct_int(r->json, "assignment.attachment.size"), 25);

	/* local time input: TZ XST-2 is UTC+2 */
	t->tz = "XST-2";
	r = CT_LMS(t, "instructor1", "--json", "assignment", "create", "CS101",
	           "--title", "Far away", "--due", "2031-01-15 12:00",
	           "--opens", "2030-12-01T08:00");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "assignment.due_at"),
	                    "2031-01-15T10:00:00Z");
	assert_string_equal(ct_str(r->json, "assignment.opens_at"),
	                    "2030-12-01T06:00:00Z");
	r = CT_LMS(t, "instructor1", "assignment", "list", "CS101");
	ct_ok(r);
	ct_has(r, "2031-01-15 12:00"); /* shown local */
	t->tz = NULL;
	ct_code(CT_LMS(t, "instructor1", "assignment", "create", "CS101",
	               "--title", "x", "--due", "tomorrow"), 2);
	ct_code(CT_LMS(t, "instructor1", "assignment", "create", "CS101",
	               "--title", "x", "--due", "2031-02-30 10:00"), 2);
	ct_code(CT_LMS(t, "instructor1", "assignment", "create", "CS101",
	               "--title", "x"), 2);
	ct_json_error(CT_LMS(t, "student1", "--json", "assignment", "create",
	                     "CS101", "--title", "x", "--due", due),
	              4, "PERMISSION_DENIED");

	ct_iso_in(-3 * 86400, past3);
	ct_iso_in(-25 * 3600, past25h);
	ct_iso_in(-2 * 86400, past2);
	ct_iso_in(-86400, past1);
	r = CT_LMS(t, "instructor1", "--json", "assignment", "create", "CS101",
	           "--title", "Late work", "--opens", past3, "--due", past25h,
	           "--late-penalty", "10", "--penalty-floor", "50");
	uint64_t late = id_of(r, "assignment.id");
	r = CT_LMS(t, "instructor1", "--json", "assignment", "create", "CS101",
	           "--title", "Closed", "--opens", past3, "--due", past2,
	           "--cutoff", past1);
	uint64_t closed = id_of(r, "assignment.id");

	r = CT_LMS(t, "student1", "--json", "assignment", "list", "CS101");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "assignments"), 4);
	json_t *x = ct_find(r->json, "assignments", "title", "Late work");
	assert_int_equal(json_integer_value(json_object_get(x, "id")),
	                 (json_int_t)late);
	r = CT_LMS(t, "student1", "assignment", "list", "CS101");
	ct_ok(r);
	ct_has(r, "TITLE");
	ct_has(r, "closed");
	ct_has(r, "late");

	/* the attachment, downloaded by a student */
	r = CT_LMS(t, "student1", "--json", "assignment", "show", u64(a1), "-o",
	           "spec-copy.txt");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "saved_to"), "spec-copy.txt");
	assert_string_equal(ct_str(r->json, "assignment.title"),
	                    "Raft leader election");
	char copy[300];
	snprintf(copy, sizeof copy, "%s/spec-copy.txt", ct_home(t, "student1"));
	ct_same_file(spec, copy);
	r = CT_LMS(t, "student1", "assignment", "show", u64(a1));
	ct_ok(r);
	ct_has(r, "Raft leader election");
	ct_has(r, "0 of 2 used");
	ct_json_error(CT_LMS(t, "student1", "--json", "assignment", "show",
	                     "999999"),
	              5, "NOT_FOUND");
	ct_code(CT_LMS(t, "student3", "assignment", "show", u64(a1)), 5);

	/* ---- submissions */
	char bin[300];
	snprintf(bin, sizeof bin, "%s/answer.bin", ct_home(t, "student1"));
	ct_random_file(bin, 200000, 7);
	r = CT_LMS(t, "student1", "--json", "submit", u64(a1), bin);
	uint64_t s1 = id_of(r, "submission.id");
	assert_int_equal(ct_int(r->json, "submission.attempt"), 1);
	assert_false(ct_bool(r->json, "submission.late"));
	assert_string_equal(ct_str(r->json, "submission.file.name"),
	                    "answer.bin");
	assert_int_equal(ct_int(r->json, "submission.file.size"), 200000);
	assert_string_equal(ct_str(r->json, "submission.student"), "student1");
	r = CT_LMS(t, "student1", "submit", u64(a1), "--text", "Second try");
	ct_ok(r);
	ct_has(r, "Submitted attempt 2 of 2 for "
	                               "\"Raft leader election\" (on time)");
	ct_json_error(CT_LMS(t, "student1", "--json", "submit", u64(a1),
	                     "--text", "Third"),
	              6, NULL);
	ct_code(CT_LMS(t, "student1", "submit", u64(a1)), 2);
	ct_code(CT_LMS(t, "student3", "submit", u64(a1), "--text", "x"), 5);

	r = CT_LMS(t, "student1", "submit", u64(late), "--text", "Sorry");
	ct_ok(r);
	ct_has(r, "Submitted attempt 1 for \"Late work\" "
	                               "(late by 2 days)");
	r = CT_LMS(t, "student1", "--json", "submission", "list", u64(late));
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "submissions"), 1);
	assert_true(ct_bool(r->json, "submissions[0].late"));
	assert_int_equal(ct_int(r->json, "submissions[0].days_late"), 2);
	uint64_t sl = (uint64_t)ct_int(r->json, "submissions[0].id");

	ct_json_error(CT_LMS(t, "student1", "--json", "submit", u64(closed),
	                     "--text", "Too late"),
	              6, NULL);
	/* an extension opens it again for student2 */
	char ext[LMS_ISO_MAX];
	ct_iso_in(2 * 86400, ext);
	r = CT_LMS(t, "instructor1", "--json", "assignment", "extend",
	           u64(closed), "student2", "--due", ext);
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "due_at"), ext);
	assert_string_equal(ct_str(r->json, "username"), "student2");
	r = CT_LMS(t, "student2", "--json", "assignment", "show", u64(closed));
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "assignment.my_due_at"), ext);
	r = CT_LMS(t, "student2", "--json", "submit", u64(closed), "--text",
	           "With my extension");
	ct_ok(r);
	assert_false(ct_bool(r->json, "submission.late"));
	ct_code(CT_LMS(t, "student1", "assignment", "extend", u64(closed),
	               "student1", "--due", ext), 4);

	/* lists: the instructor sees all, a student their own */
	r = CT_LMS(t, "instructor1", "--json", "submission", "list", u64(a1));
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "submissions"), 2);
	r = CT_LMS(t, "instructor1", "--json", "submission", "list", u64(a1),
	           "--student", "student1");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "submissions"), 2);
	r = CT_LMS(t, "student2", "--json", "submission", "list", u64(a1));
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "submissions"), 0);
	r = CT_LMS(t, "instructor1", "submission", "list", u64(a1));
	ct_ok(r);
	ct_has(r, "answer.bin");

	/* downloads: byte-identical, no silent overwrite */
	r = CT_LMS(t, "instructor1", "--json", "submission", "get", u64(s1),
	           "-o", "got.bin");
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "saved_to"), "got.bin");
	assert_int_equal(ct_int(r->json, "submission.attempt"), 1);
	char got[300];
	snprintf(got, sizeof got, "%s/got.bin", ct_home(t, "instructor1"));
	ct_same_file(bin, got);
	ct_json_error(CT_LMS(t, "instructor1", "--json", "submission", "get",
	                     u64(s1), "-o", "got.bin"),
	              6, "CONFLICT");
	ct_ok(CT_LMS(t, "instructor1", "submission", "get", u64(s1), "-o",
	             "got.bin", "--force"));
	ct_same_file(bin, got);
	/* without -o: the file's own name in the current directory */
	ct_ok(CT_LMS(t, "instructor1", "-q", "submission", "get", u64(s1)));
	snprintf(got, sizeof got, "%s/answer.bin", ct_home(t, "instructor1"));
	ct_same_file(bin, got);
	ct_code(CT_LMS(t, "instructor1", "submission", "get", u64(s1)), 6);
	ct_code(CT_LMS(t, "student2", "submission", "get", u64(s1), "-o",
	               "x.bin"), 5);
	ct_code(CT_LMS(t, "instructor1", "submission", "get", "999999"), 5);
	r = CT_LMS(t, "instructor1", "submission", "get", u64(sl), "-o", "-");
	ct_ok(r);
	assert_string_equal(r->out, "Sorry");

	/* a name from the server is never a path */
	ct_ok(CT_LMS(t, "instructor1", "course", "enroll", "CS101",
	             "student3"));
	uint64_t evil = raw_submit(t, "student3", late, "../escape.txt",
	                           "hostile");
	(void)evil;
	r = CT_LMS(t, "student3", "--json", "submission", "list", u64(late));
	ct_ok(r);
	uint64_t ev = (uint64_t)ct_int(r->json, "submissions[0].id");
	r = CT_LMS(t, "instructor1", "--json", "submission", "get", u64(ev));
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "saved_to"), "escape.txt");
	char esc[300];
	snprintf(esc, sizeof esc, "%s/escape.txt", t->dir);
	assert_int_not_equal(access(esc, F_OK), 0);
	snprintf(esc, sizeof esc, "%s/escape.txt", ct_home(t, "instructor1"));
	assert_int_equal(access(esc, F_OK), 0);
	raw_submit(t, "student3", late, ".profile", "dotfile");
	r = CT_LMS(t, "instructor1", "--json", "submission", "list", u64(late),
	           "--student", "student3");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "submissions"), 2);
	uint64_t dot = 0;
	for (size_t i = 0; i < 2; i++) {
		char p[48];
		snprintf(p, sizeof p, "submissions[%zu].attempt", i);
		if (ct_int(r->json, p) == 2) {
			snprintf(p, sizeof p, "submissions[%zu].id", i);
			dot = (uint64_t)ct_int(r->json, p);
		}
	}
	r = CT_LMS(t, "instructor1", "--json", "submission", "get", u64(dot));
	ct_ok(r);
	assert_string_equal(ct_str(r->json, "saved_to"), "_profile");

	/* ---- grades */
	r = CT_LMS(t, "student1", "--json", "submission", "list", u64(a1));
	ct_ok(r);
	uint64_t latest = 0;
	for (size_t i = 0; i < 2; i++) {
		char p[48];
		snprintf(p, sizeof p, "submissions[%zu].latest", i);
		if (ct_bool(r->json, p)) {
			snprintf(p, sizeof p, "submissions[%zu].id", i);
			latest = (uint64_t)ct_int(r->json, p);
		}
	}
	assert_true(latest != 0 && latest != s1);
	r = CT_LMS(t, "instructor1", "--json", "grade", u64(latest), "45",
	           "--feedback", "Good work");
	ct_ok(r);
	assert_true(ct_num(r->json, "grade.raw_score") == 45);
	assert_true(ct_num(r->json, "grade.final_score") == 45);
	assert_true(ct_num(r->json, "grade.max_points") == 50);
	assert_string_equal(ct_str(r->json, "grade.feedback"), "Good work");
	assert_string_equal(ct_str(r->json, "grade.grader"), "instructor1");
	ct_code(CT_LMS(t, "instructor1", "grade", u64(s1), "40"), 6);
	ct_code(CT_LMS(t, "instructor1", "grade", u64(latest), "51"), 6);
	ct_code(CT_LMS(t, "instructor1", "grade", u64(latest), "4.567"), 2);
	ct_code(CT_LMS(t, "student1", "grade", u64(latest), "50"), 4);
	/* late by 2 days at 10 %/day: 80 % of the raw score is kept */
	r = CT_LMS(t, "instructor1", "grade", u64(sl), "80");
	ct_ok(r);
	ct_has(r, "late penalty 20% -> 64/100");

	r = CT_LMS(t, "student1", "--json", "grades");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "grades"), 2);
	json_t *g = ct_find(r->json, "grades", "assignment_title", "Late work");
	assert_true(json_number_value(json_object_get(g, "final_score")) == 64);
	assert_true(json_number_value(json_object_get(g, "penalty_pct")) == 20);
	r = CT_LMS(t, "student1", "grades", "CS101");
	ct_ok(r);
	ct_has(r, "Good work");
	ct_has(r, "45/50");
	r = CT_LMS(t, "instructor1", "--json", "grades", "CS101", "--student",
	           "student1");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "grades"), 2);

	r = CT_LMS(t, "instructor1", "gradebook", "CS101", "--csv");
	ct_ok(r);
	ct_has(r, "student1");
	ct_has(r, "student2");
	assert_non_null(strchr(r->out, ','));
	r = CT_LMS(t, "instructor1", "--json", "gradebook", "CS101");
	ct_ok(r);
	assert_int_equal(ct_int(r->json, "students"), 3);
	assert_int_equal(ct_int(r->json, "assignments"), 4);
	assert_non_null(strstr(ct_str(r->json, "csv"), "student1"));
	r = CT_LMS(t, "instructor1", "gradebook", "CS101");
	ct_ok(r);
	ct_has(r, "Gradebook of CS101");
	ct_code(CT_LMS(t, "student1", "gradebook", "CS101"), 4);
	ct_end(t);
}

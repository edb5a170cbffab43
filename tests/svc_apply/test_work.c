/*
 * test_work.c -- assignment_create, submit and extension on the apply
 * side: who may do what, the submission window (opening, due, cut-off),
 * attempts, and extensions that move a student's window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define S(x) LMS__RPC__STATUS__##x

static void setup_cast(struct env *e)
{
	mk_people(e);
	mk_courses(e);
}

/* ------------------------------------------------- assignment_create */

static void assignment_create(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	char opens[LMS_ISO_MAX], due[LMS_ISO_MAX], cutoff[LMS_ISO_MAX];
	char *topics[] = {"graphs", "a \"quoted\", {braced} \\ topic", "NULL",
	                  ""};
	static uint8_t pdf[] = {'%', 'P', 'D', 'F', 0, 1, 2, 0xff};
	Lms__Rpc__File att = LMS__RPC__FILE__INIT;
	att.name = "sheet.pdf";
	att.media_type = "application/pdf";
	att.size = sizeof pdf;
	att.sha256 = "abc123";
	att.data.data = pdf;
	att.data.len = sizeof pdf;
	Lms__Rpc__AssignmentCreateRequest c =
		LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT;
	c.course = "CS101";
	c.title = "Shortest paths";
	c.description = "Implement Dijkstra.";
	c.opens_at = (char *)env_time(e, HOUR, opens);
	c.due_at = (char *)env_time(e, 7 * DAY, due);
	c.cutoff_at = (char *)env_time(e, 9 * DAY, cutoff);
	c.max_points = 87.5;
	c.late_penalty_pct = 12.5;
	c.penalty_floor_pct = 40;
	c.max_attempts = 3;
	c.n_topics = 4;
	c.topics = topics;
	c.attachment = &att;
	Lms__Rpc__Response *r = OK(e, "ins", apply_assignment_create, &c);
	assert_int_equal(r->result_case,
	                 LMS__RPC__RESPONSE__RESULT_ASSIGNMENT_CREATE);
	Lms__Rpc__Assignment *a = r->assignment_create->assignment;
	assert_int_equal(a->id, e->index);
	assert_string_equal(a->course, "CS101");
	assert_string_equal(a->title, "Shortest paths");
	assert_string_equal(a->description, "Implement Dijkstra.");
	assert_string_equal(a->opens_at, "2026-03-02T10:00:00Z");
	assert_string_equal(a->due_at, "2026-03-09T09:00:00Z");
	assert_string_equal(a->cutoff_at, "2026-03-11T09:00:00Z");
	assert_true(a->max_points == 87.5);
	assert_true(a->late_penalty_pct == 12.5);
	assert_true(a->penalty_floor_pct == 40);
	assert_int_equal(a->max_attempts, 3);
	assert_int_equal(a->n_topics, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(a->topics[i], topics[i]);
	assert_non_null(a->attachment);
	assert_string_equal(a->attachment->name, "sheet.pdf");
	assert_string_equal(a->attachment->media_type, "application/pdf");
	assert_string_equal(a->attachment->sha256, "abc123");
	assert_int_equal(a->attachment->size, sizeof pdf);
	assert_int_equal(a->attachment->data.len, 0); /* not asked for */
	assert_string_equal(a->created_at, "2026-03-02T09:00:00Z");
	assert_string_equal(a->my_due_at, ""); /* no student view */
	/* the bytes are stored as given, under the entry's index */
	char *hex = env_value(e, "SELECT encode(f.data, 'hex') FROM lms.file f "
	                         "JOIN lms.assignment a ON a.attachment_id = "
	                         "f.id", 0);
	assert_string_equal(hex, "25504446000102ff");
	free(hex);
	/* and the loader gives them back when asked */
	Lms__Rpc__Assignment *full = NULL;
	struct svc_ctx *x = env_call(e, "ins");
	assert_int_equal(svc_load_assignment(x, (int64_t)e->index - 1, true, 0,
	                                     &full), 1);
	env_end(e);
	assert_int_equal(full->attachment->data.len, sizeof pdf);
	assert_memory_equal(full->attachment->data.data, pdf, sizeof pdf);
	protobuf_c_message_free_unpacked(&full->base, NULL);

	/* defaults: opens "" = now, max_points 0 = 100, no cut-off, no
	 * topics, no attachment; an admin who is not a member may create */
	Lms__Rpc__AssignmentCreateRequest d =
		LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT;
	d.course = "CS101";
	d.title = "Quiz";
	d.due_at = due;
	r = OK(e, "root", apply_assignment_create, &d);
	a = r->assignment_create->assignment;
	assert_string_equal(a->opens_at, "2026-03-02T09:00:00Z");
	assert_true(a->max_points == 100);
	assert_string_equal(a->cutoff_at, "");
	assert_int_equal(a->n_topics, 0);
	assert_null(a->attachment);
	assert_int_equal(a->max_attempts, 0);

	/* who may not */
	REFUSED(e, "ta", apply_assignment_create, &d, S(PERMISSION_DENIED),
	        NULL);
	REFUSED(e, "stu1", apply_assignment_create, &d, S(PERMISSION_DENIED),
	        NULL);
	REFUSED(e, "ins2", apply_assignment_create, &d, S(PERMISSION_DENIED),
	        NULL);
	REFUSED(e, "tutor", apply_assignment_create, &d, S(PERMISSION_DENIED),
	        NULL);
	d.course = "NOPE";
	REFUSED(e, "root", apply_assignment_create, &d, S(NOT_FOUND),
	        "no course \"NOPE\"");
	d.course = "CS101";

	/* times re-checked */
	d.opens_at = due;
	d.due_at = opens;
	REFUSED(e, "ins", apply_assignment_create, &d, S(INVALID_ARGUMENT),
	        "before the opening time");
	d.opens_at = opens;
	d.due_at = due;
	d.cutoff_at = opens;
	REFUSED(e, "ins", apply_assignment_create, &d, S(INVALID_ARGUMENT),
	        "before the due time");
	d.cutoff_at = due; /* cut-off == due is fine */
	OK(e, "ins", apply_assignment_create, &d);
	d.due_at = "next tuesday";
	d.cutoff_at = "";
	REFUSED(e, "ins", apply_assignment_create, &d, S(INVALID_ARGUMENT),
	        NULL);
	d.due_at = due;
	d.late_penalty_pct = 100.01;
	REFUSED(e, "ins", apply_assignment_create, &d, S(INVALID_ARGUMENT),
	        NULL);
	d.late_penalty_pct = 0;
	d.max_points = -5;
	REFUSED(e, "ins", apply_assignment_create, &d, S(INVALID_ARGUMENT),
	        NULL);
	assert_int_equal(env_int(e, "SELECT count(*) FROM lms.assignment", 0),
	                 3);
}

/* ------------------------------------------------------------- submit */

static Lms__Rpc__SubmitRequest submit_cmd(int64_t assignment)
{
	Lms__Rpc__SubmitRequest c = LMS__RPC__SUBMIT_REQUEST__INIT;
	c.assignment_id = (uint64_t)assignment;
	c.text = "my answer";
	return c;
}

static void submit_window(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	/* opens in 1 h, due in 1 day, cut-off in 3 days */
	struct asg_spec s = {.opens = HOUR, .due = DAY, .cutoff = 3 * DAY};
	int64_t a = mk_assignment(e, "ins", "CS101", &s);
	Lms__Rpc__SubmitRequest c = submit_cmd(a);

	REFUSED(e, "stu1", apply_submit, &c, S(FAILED_PRECONDITION),
	        "the assignment opens at 2026-03-02T10:00:00Z");
	env_advance(e, HOUR); /* exactly at opening: accepted */
	Lms__Rpc__Response *r = OK(e, "stu1", apply_submit, &c);
	assert_int_equal(r->result_case, LMS__RPC__RESPONSE__RESULT_SUBMIT);
	Lms__Rpc__Submission *sub = r->submit->submission;
	assert_int_equal(sub->id, e->index);
	assert_int_equal(sub->assignment_id, a);
	assert_string_equal(sub->student, "stu1");
	assert_int_equal(sub->attempt, 1);
	assert_string_equal(sub->submitted_at, "2026-03-02T10:00:00Z");
	assert_string_equal(sub->text, "my answer");
	assert_false(sub->late);
	assert_int_equal(sub->days_late, 0);
	assert_true(sub->latest);
	assert_null(sub->grade);
	assert_null(sub->file);

	/* exactly at the due time: on time */
	env_at(e, "2026-03-03T09:00:00Z");
	r = OK(e, "stu2", apply_submit, &c);
	assert_false(r->submit->submission->late);
	/* a millisecond after: late by one (started) day */
	env_at(e, "2026-03-03T09:00:00.001Z");
	r = OK(e, "stu2", apply_submit, &c);
	sub = r->submit->submission;
	assert_true(sub->late);
	assert_int_equal(sub->days_late, 1);
	assert_int_equal(sub->attempt, 2);
	assert_string_equal(sub->submitted_at, "2026-03-03T09:00:00.001Z");
	/* the earlier attempt is no longer the latest */
	Lms__Rpc__Submission *first = NULL;
	env_call(e, "ins");
	assert_int_equal(svc_load_submission(&e->x, (int64_t)e->index - 2,
	                                     false, &first), 1);
	env_end(e);
	assert_false(first->latest);
	assert_int_equal(first->attempt, 1);
	protobuf_c_message_free_unpacked(&first->base, NULL);

	/* exactly at the cut-off: still accepted, 2 days late */
	env_at(e, "2026-03-05T09:00:00Z");
	r = OK(e, "stu1", apply_submit, &c);
	assert_int_equal(r->submit->submission->days_late, 2);
	assert_int_equal(r->submit->submission->attempt, 2);
	env_advance(e, 1);
	REFUSED(e, "stu1", apply_submit, &c, S(FAILED_PRECONDITION),
	        "the cut-off (2026-03-05T09:00:00Z) has passed: submissions "
	        "are closed");

	/* no cut-off: accepted long after, late by the started days */
	struct asg_spec open_ended = {.opens = -DAY, .due = -DAY,
	                              .cutoff = -1};
	int64_t b = mk_assignment(e, "ins", "CS101", &open_ended);
	env_advance(e, 30 * DAY + 5);
	c = submit_cmd(b);
	r = OK(e, "stu1", apply_submit, &c);
	assert_int_equal(r->submit->submission->days_late, 32);
	assert_true(r->submit->submission->late);
}

static void submit_roles(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	struct asg_spec s = {.opens = 0, .due = DAY, .cutoff = -1};
	int64_t a = mk_assignment(e, "ins", "CS101", &s);
	Lms__Rpc__SubmitRequest c = submit_cmd(a);
	/* not a member of CS101: the assignment is not theirs to see */
	REFUSED(e, "stu3", apply_submit, &c, S(NOT_FOUND), "no assignment");
	REFUSED(e, "ta", apply_submit, &c, S(PERMISSION_DENIED),
	        "only students of CS101 submit");
	REFUSED(e, "ins", apply_submit, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "root", apply_submit, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "tutor", apply_submit, &c, S(NOT_FOUND), NULL);
	c = submit_cmd(a + 1000);
	REFUSED(e, "stu1", apply_submit, &c, S(NOT_FOUND), NULL);
	assert_int_equal(env_int(e, "SELECT count(*) FROM lms.submission", 0),
	                 0);
}

static void attempts(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	struct asg_spec two = {.opens = 0, .due = DAY, .cutoff = -1,
	                       .max_attempts = 2};
	int64_t a = mk_assignment(e, "ins", "CS101", &two);
	Lms__Rpc__SubmitRequest c = submit_cmd(a);
	int64_t first = mk_submit(e, "stu1", a, "one");
	assert_int_equal(first, e->index);
	mk_submit(e, "stu1", a, "two");
	REFUSED(e, "stu1", apply_submit, &c, S(FAILED_PRECONDITION),
	        "all 2 attempts are used");
	/* attempts are counted per student */
	mk_submit(e, "stu2", a, "one");
	assert_int_equal(env_int(e, "SELECT max(attempt) FROM lms.submission "
	                            "s JOIN lms.app_user u ON u.id = "
	                            "s.student_id WHERE u.username = 'stu2'",
	                         0), 1);

	struct asg_spec unlimited = {.opens = 0, .due = DAY, .cutoff = -1};
	int64_t b = mk_assignment(e, "ins", "CS101", &unlimited);
	for (int i = 1; i <= 6; i++) {
		c = submit_cmd(b);
		Lms__Rpc__Response *r = OK(e, "stu1", apply_submit, &c);
		assert_int_equal(r->submit->submission->attempt, i);
	}
}

static void submit_with_file(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	struct asg_spec s = {.opens = 0, .due = DAY, .cutoff = -1};
	int64_t a = mk_assignment(e, "ins", "CS101", &s);
	Lms__Rpc__File f = LMS__RPC__FILE__INIT;
	f.name = "../../etc/passwd";
	f.media_type = "text/plain";
	f.data.data = (uint8_t *)"hello\n";
	f.data.len = 6;
	f.size = 6;
	f.sha256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e"
	           "846f6be03";
	Lms__Rpc__SubmitRequest c = submit_cmd(a);
	c.text = "";
	c.file = &f;
	Lms__Rpc__Response *r = OK(e, "stu1", apply_submit, &c);
	Lms__Rpc__Submission *sub = r->submit->submission;
	assert_string_equal(sub->text, "");
	assert_non_null(sub->file);
	assert_string_equal(sub->file->name, "../../etc/passwd");
	assert_int_equal(sub->file->size, 6);
	assert_string_equal(sub->file->sha256, f.sha256);
	assert_int_equal(sub->file->data.len, 0);
	/* file and submission share the entry's index as their ids */
	assert_int_equal(env_int(e, "SELECT file_id FROM lms.submission", 0),
	                 e->index);
	char *body = env_value(e, "SELECT convert_from(data, 'UTF8') FROM "
	                          "lms.file WHERE id = (SELECT file_id FROM "
	                          "lms.submission)", 0);
	assert_string_equal(body, "hello\n");
	free(body);
	int64_t sub_id = (int64_t)sub->id; /* sub goes with the next call */
	Lms__Rpc__Submission *full = NULL;
	env_call(e, "stu1");
	assert_int_equal(svc_load_submission(&e->x, sub_id, true, &full), 1);
	env_end(e);
	assert_int_equal(full->file->data.len, 6);
	assert_memory_equal(full->file->data.data, "hello\n", 6);
	protobuf_c_message_free_unpacked(&full->base, NULL);
}

/* ---------------------------------------------------------- extension */

static Lms__Rpc__ExtensionRequest ext_cmd(int64_t a, const char *user,
                                          const char *due,
                                          const char *cutoff)
{
	Lms__Rpc__ExtensionRequest c = LMS__RPC__EXTENSION_REQUEST__INIT;
	c.assignment_id = (uint64_t)a;
	c.username = (char *)user;
	c.due_at = (char *)due;
	c.cutoff_at = (char *)cutoff;
	return c;
}

static void extension_lets_a_student_submit_late(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	/* opens now (09:00 on 03-02), due in 1 day, cut-off in 2 days */
	struct asg_spec s = {.opens = 0, .due = DAY, .cutoff = 2 * DAY};
	int64_t a = mk_assignment(e, "ins", "CS101", &s);

	/* stu1 gets until 03-06 09:00, cut-off 03-07 09:00 */
	Lms__Rpc__ExtensionRequest c = ext_cmd(a, "stu1", "2026-03-06T09:00:00Z",
	                                       "2026-03-07T09:00:00Z");
	Lms__Rpc__Response *r = OK(e, "ins", apply_extension, &c);
	assert_int_equal(r->result_case, LMS__RPC__RESPONSE__RESULT_EXTENSION);
	assert_int_equal(r->extension->assignment_id, a);
	assert_string_equal(r->extension->username, "stu1");
	assert_string_equal(r->extension->due_at, "2026-03-06T09:00:00Z");
	assert_string_equal(r->extension->cutoff_at, "2026-03-07T09:00:00Z");

	/* after the assignment's cut-off: stu2 is refused, stu1 is on time */
	env_at(e, "2026-03-05T09:00:00Z");
	Lms__Rpc__SubmitRequest sc = submit_cmd(a);
	REFUSED(e, "stu2", apply_submit, &sc, S(FAILED_PRECONDITION),
	        "the cut-off (2026-03-04T09:00:00Z) has passed");
	r = OK(e, "stu1", apply_submit, &sc);
	assert_false(r->submit->submission->late);
	assert_int_equal(r->submit->submission->days_late, 0);
	/* late against the extended due time */
	env_at(e, "2026-03-06T10:00:00Z");
	r = OK(e, "stu1", apply_submit, &sc);
	assert_true(r->submit->submission->late);
	assert_int_equal(r->submit->submission->days_late, 1);
	/* and closed after the extended cut-off */
	env_at(e, "2026-03-07T09:00:01Z");
	REFUSED(e, "stu1", apply_submit, &sc, S(FAILED_PRECONDITION),
	        "the cut-off (2026-03-07T09:00:00Z) has passed");

	/* the loader's student view shows the extension */
	Lms__Rpc__Assignment *view = NULL;
	int64_t stu1 = env_int(e, "SELECT id FROM lms.app_user WHERE "
	                          "username = 'stu1'", 0);
	env_call(e, "stu1");
	assert_int_equal(svc_load_assignment(&e->x, a, false, stu1, &view), 1);
	env_end(e);
	assert_string_equal(view->my_due_at, "2026-03-06T09:00:00Z");
	assert_string_equal(view->my_cutoff_at, "2026-03-07T09:00:00Z");
	assert_int_equal(view->my_attempts, 2);
	assert_string_equal(view->due_at, "2026-03-03T09:00:00Z");
	protobuf_c_message_free_unpacked(&view->base, NULL);
}

static void extension_rules(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	/* opens 09:00 03-03, due 03-04, cut-off 03-06 */
	struct asg_spec s = {.opens = DAY, .due = 2 * DAY, .cutoff = 4 * DAY};
	int64_t a = mk_assignment(e, "ins", "CS101", &s);
	struct asg_spec no_cut = {.opens = 0, .due = DAY, .cutoff = -1};
	int64_t b = mk_assignment(e, "ins", "CS101", &no_cut);

	/* cut-off "" = the later of the assignment's and the new due */
	Lms__Rpc__ExtensionRequest c =
		ext_cmd(a, "stu1", "2026-03-05T09:00:00Z", "");
	Lms__Rpc__Response *r = OK(e, "ins", apply_extension, &c);
	assert_string_equal(r->extension->cutoff_at, "2026-03-06T09:00:00Z");
	c = ext_cmd(a, "stu2", "2026-03-08T12:00:00Z", "");
	r = OK(e, "root", apply_extension, &c); /* an admin may grant */
	assert_string_equal(r->extension->cutoff_at, "2026-03-08T12:00:00Z");
	c = ext_cmd(b, "stu1", "2026-03-09T09:00:00Z", "");
	r = OK(e, "ins", apply_extension, &c);
	assert_string_equal(r->extension->cutoff_at, ""); /* none */
	assert_int_equal(env_int(e, "SELECT count(*) FROM lms.extension "
	                            "WHERE cutoff_at IS NULL", 0), 1);

	/* a second extension replaces the first */
	env_advance(e, HOUR);
	c = ext_cmd(a, "stu1", "2026-03-04T10:00:00Z", "2026-03-04T11:00:00Z");
	r = OK(e, "ins", apply_extension, &c);
	assert_string_equal(r->extension->due_at, "2026-03-04T10:00:00Z");
	char aid[24];
	snprintf(aid, sizeof aid, "%lld", (long long)a);
	char *row = env_value(e,
		"SELECT count(*) || ' ' || string_agg(lms.iso(x.due_at) || ' ' "
		"  || lms.iso(x.cutoff_at) || ' ' || lms.iso(x.granted_at) || "
		"  ' ' || g.username, ',') "
		"FROM lms.extension x JOIN lms.app_user u ON u.id = x.user_id "
		"JOIN lms.app_user g ON g.id = x.granted_by "
		"WHERE x.assignment_id = $1 AND u.username = 'stu1'", 1, aid);
	assert_string_equal(row, "1 2026-03-04T10:00:00Z 2026-03-04T11:00:00Z "
	                         "2026-03-02T10:00:00Z ins");
	free(row);

	/* refusals */
	c = ext_cmd(a + 1000, "stu1", "2026-03-05T09:00:00Z", "");
	REFUSED(e, "ins", apply_extension, &c, S(NOT_FOUND), NULL);
	c = ext_cmd(a, "stu1", "2026-03-05T09:00:00Z", "");
	REFUSED(e, "ta", apply_extension, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "stu1", apply_extension, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "ins2", apply_extension, &c, S(NOT_FOUND), "no assignment");
	c = ext_cmd(a, "ghost", "2026-03-05T09:00:00Z", "");
	REFUSED(e, "ins", apply_extension, &c, S(NOT_FOUND), "no user \"ghost\"");
	c = ext_cmd(a, "stu3", "2026-03-05T09:00:00Z", "");
	REFUSED(e, "ins", apply_extension, &c, S(FAILED_PRECONDITION),
	        "stu3 is not a student of CS101");
	c = ext_cmd(a, "ta", "2026-03-05T09:00:00Z", "");
	REFUSED(e, "ins", apply_extension, &c, S(FAILED_PRECONDITION),
	        "ta is not a student of CS101");
	c = ext_cmd(a, "stu1", "2026-03-03T08:59:59Z", ""); /* before opening */
	REFUSED(e, "ins", apply_extension, &c, S(INVALID_ARGUMENT),
	        "before the assignment opens");
	c = ext_cmd(a, "stu1", "2026-03-05T09:00:00Z", "2026-03-05T08:00:00Z");
	REFUSED(e, "ins", apply_extension, &c, S(INVALID_ARGUMENT),
	        "before the extended due time");
	/* an extension may also shorten: due at the opening is allowed */
	c = ext_cmd(a, "stu2", "2026-03-03T09:00:00Z", "");
	r = OK(e, "root", apply_extension, &c);
	assert_string_equal(r->extension->cutoff_at, "2026-03-06T09:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(assignment_create, env_reset),
		cmocka_unit_test_setup(submit_window, env_reset),
		cmocka_unit_test_setup(submit_roles, env_reset),
		cmocka_unit_test_setup(attempts, env_reset),
		cmocka_unit_test_setup(submit_with_file, env_reset),
		cmocka_unit_test_setup(extension_lets_a_student_submit_late,
		                       env_reset),
		cmocka_unit_test_setup(extension_rules, env_reset),
	};
	return cmocka_run_group_tests(tests, env_group_setup,
	                              env_group_teardown);
}

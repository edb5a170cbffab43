/*
 * test_work.c -- assignment_list / assignment_get, submission_list /
 * submission_get, grades and the gradebook CSV: contents, a student's own
 * view, paging, and who may see what.
 */
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "readtest.h"

#define OK_ALIST LMS__RPC__RESPONSE__RESULT_ASSIGNMENT_LIST
#define OK_AGET LMS__RPC__RESPONSE__RESULT_ASSIGNMENT_GET
#define OK_SLIST LMS__RPC__RESPONSE__RESULT_SUBMISSION_LIST
#define OK_SGET LMS__RPC__RESPONSE__RESULT_SUBMISSION_GET
#define OK_GRADES LMS__RPC__RESPONSE__RESULT_GRADES
#define OK_BOOK LMS__RPC__RESPONSE__RESULT_GRADEBOOK

/* ------------------------------------------------------- assignments */

static Lms__Rpc__AssignmentListResponse *
alist(struct rt *t, const char *who, const char *course, unsigned limit,
      const char *after)
{
	Lms__Rpc__Page page = LMS__RPC__PAGE__INIT;
	page.limit = limit;
	page.after = (char *)after;
	Lms__Rpc__AssignmentListRequest q =
		LMS__RPC__ASSIGNMENT_LIST_REQUEST__INIT;
	q.course = (char *)course;
	q.page = &page;
	return RT_OK(t, who, read_assignment_list, &q, OK_ALIST)
		->assignment_list;
}

static void test_assignment_list(void **state)
{
	struct rt *t = *state;
	/* alice: three pages of two, ids ascending, her own view */
	Lms__Rpc__AssignmentListResponse *l = alist(t, "alice", "A101", 2, "");
	assert_int_equal(l->n_assignments, 2);
	assert_string_equal(l->next, "11");
	Lms__Rpc__Assignment *a = l->assignments[0];
	assert_int_equal(a->id, 10);
	assert_string_equal(a->course, "A101");
	assert_string_equal(a->title, "Intro essay");
	assert_string_equal(a->opens_at, "2026-01-01T00:00:00Z");
	assert_string_equal(a->due_at, "2026-01-10T23:59:00Z");
	assert_string_equal(a->cutoff_at, "");
	assert_true(a->max_points == 100.0);
	assert_int_equal(a->n_topics, 1);
	assert_string_equal(a->topics[0], "writing");
	assert_non_null(a->attachment);
	assert_string_equal(a->attachment->name, "essay-prompt.txt");
	assert_int_equal(a->attachment->size, 16);
	assert_int_equal(a->attachment->data.len, 0); /* lists: no bytes */
	assert_string_equal(a->my_due_at, "2026-01-10T23:59:00Z");
	assert_int_equal(a->my_attempts, 1);
	a = l->assignments[1];
	assert_int_equal(a->id, 11);
	assert_null(a->attachment);
	assert_string_equal(a->cutoff_at, "2026-01-25T23:59:00Z");
	assert_string_equal(a->my_cutoff_at, "2026-01-25T23:59:00Z");
	assert_true(a->late_penalty_pct == 10.0);
	assert_true(a->penalty_floor_pct == 50.0);
	assert_int_equal(a->max_attempts, 3);
	assert_int_equal(a->my_attempts, 2);
	assert_int_equal(a->n_topics, 2);
	assert_string_equal(a->topics[1], "arrays");

	l = alist(t, "alice", "A101", 2, "11");
	assert_int_equal(l->n_assignments, 2);
	assert_int_equal(l->assignments[0]->id, 12);
	assert_string_equal(l->assignments[0]->title, "Graphs, \"BFS\" & DFS");
	assert_int_equal(l->assignments[1]->id, 13);
	assert_string_equal(l->next, "13");
	l = alist(t, "alice", "A101", 2, "13");
	assert_int_equal(l->n_assignments, 2);
	assert_int_equal(l->assignments[0]->id, 14);
	assert_true(l->assignments[0]->max_points == 12.5);
	/* not open yet: listed with its opening time */
	assert_int_equal(l->assignments[1]->id, 15);
	assert_string_equal(l->assignments[1]->opens_at,
	                    "2026-04-01T00:00:00Z");
	assert_string_equal(l->next, "");

	/* carol's view of 13 carries her extension */
	l = alist(t, "carol", "A101", 0, "");
	assert_int_equal(l->n_assignments, 6);
	a = l->assignments[3];
	assert_int_equal(a->id, 13);
	assert_string_equal(a->due_at, "2026-03-01T23:59:00Z");
	assert_string_equal(a->my_due_at, "2026-03-20T23:59:00Z");
	assert_string_equal(a->my_cutoff_at, "2026-03-25T23:59:00Z");
	assert_int_equal(a->my_attempts, 0);

	/* staff and admins: the assignment's own times, no "my" view */
	const char *staff[] = {"ins1", "ta1", "admin"};
	for (int i = 0; i < 3; i++) {
		l = alist(t, staff[i], "A101", 0, "");
		assert_int_equal(l->n_assignments, 6);
		assert_string_equal(l->assignments[3]->my_due_at, "");
		assert_int_equal(l->assignments[1]->my_attempts, 0);
	}
	l = alist(t, "dave", "B202", 0, "");
	assert_int_equal(l->n_assignments, 6);
	assert_int_equal(l->assignments[0]->id, 20);

	Lms__Rpc__AssignmentListRequest q =
		LMS__RPC__ASSIGNMENT_LIST_REQUEST__INIT;
	q.course = "A101";
	RT_REFUSED(t, "dave", read_assignment_list, &q, DENIED, NULL);
	RT_REFUSED(t, "ins2", read_assignment_list, &q, DENIED, NULL);
	RT_REFUSED(t, "tutor", read_assignment_list, &q, DENIED, NULL);
	q.course = "Z999";
	RT_REFUSED(t, "admin", read_assignment_list, &q, NOTFOUND, "Z999");
	/* cursors that are not ids */
	q.course = "A101";
	Lms__Rpc__Page page = LMS__RPC__PAGE__INIT;
	q.page = &page;
	const char *bad[] = {"abc", "-5", "0", "12x", "99999999999999999999"};
	for (int i = 0; i < 5; i++) {
		page.after = (char *)bad[i];
		RT_REFUSED(t, "alice", read_assignment_list, &q, INVALID,
		           "cursor");
	}
}

static Lms__Rpc__Assignment *aget(struct rt *t, const char *who, uint64_t id,
                                  bool with_attachment)
{
	Lms__Rpc__AssignmentGetRequest q = LMS__RPC__ASSIGNMENT_GET_REQUEST__INIT;
	q.id = id;
	q.with_attachment = with_attachment;
	return RT_OK(t, who, read_assignment_get, &q, OK_AGET)
		->assignment_get->assignment;
}

static void test_assignment_get(void **state)
{
	struct rt *t = *state;
	Lms__Rpc__Assignment *a = aget(t, "alice", 10, true);
	assert_string_equal(a->description, "Write an essay");
	assert_string_equal(a->created_at, "2026-01-01T00:00:00Z");
	assert_int_equal(a->attachment->data.len, 16);
	assert_memory_equal(a->attachment->data.data, "Write 500 words.", 16);
	assert_string_equal(a->attachment->media_type, "text/plain");
	assert_int_equal(strlen(a->attachment->sha256), 64);
	a = aget(t, "alice", 10, false);
	assert_int_equal(a->attachment->data.len, 0);
	assert_string_equal(a->attachment->name, "essay-prompt.txt");

	a = aget(t, "carol", 13, false);
	assert_string_equal(a->my_due_at, "2026-03-20T23:59:00Z");
	a = aget(t, "bob", 13, false);
	assert_string_equal(a->my_due_at, "2026-03-01T23:59:00Z");
	assert_string_equal(a->my_cutoff_at, "2026-03-05T23:59:00Z");
	assert_int_equal(a->my_attempts, 1);
	a = aget(t, "ta1", 13, true);
	assert_string_equal(a->my_due_at, "");
	a = aget(t, "admin", 20, false);
	assert_string_equal(a->course, "B202");
	a = aget(t, "alice", 20, false); /* alice is in B too */
	assert_string_equal(a->title, "Cells");
	a = aget(t, "alice", 15, false);
	assert_string_equal(a->title, "=SUM(A1,A2)");

	/* not a member: as if it did not exist */
	Lms__Rpc__AssignmentGetRequest q = LMS__RPC__ASSIGNMENT_GET_REQUEST__INIT;
	q.id = 10;
	RT_REFUSED(t, "dave", read_assignment_get, &q, NOTFOUND,
	           "no assignment 10");
	RT_REFUSED(t, "tutor", read_assignment_get, &q, NOTFOUND,
	           "no assignment 10");
	q.id = 20;
	RT_REFUSED(t, "bob", read_assignment_get, &q, NOTFOUND,
	           "no assignment 20");
	q.id = 999;
	RT_REFUSED(t, "alice", read_assignment_get, &q, NOTFOUND,
	           "no assignment 999");
	q.id = 0;
	RT_REFUSED(t, "admin", read_assignment_get, &q, NOTFOUND, NULL);
	q.id = UINT64_MAX;
	RT_REFUSED(t, "admin", read_assignment_get, &q, NOTFOUND, NULL);
}

/* ------------------------------------------------------- submissions */

static Lms__Rpc__SubmissionListResponse *
slist(struct rt *t, const char *who, uint64_t assignment, const char *student,
      unsigned limit, const char *after)
{
	Lms__Rpc__Page page = LMS__RPC__PAGE__INIT;
	page.limit = limit;
	page.after = (char *)after;
	Lms__Rpc__SubmissionListRequest q =
		LMS__RPC__SUBMISSION_LIST_REQUEST__INIT;
	q.assignment_id = assignment;
	q.student = (char *)student;
	q.page = &page;
	return RT_OK(t, who, read_submission_list, &q, OK_SLIST)
		->submission_list;
}

static void expect_subs(Lms__Rpc__SubmissionListResponse *l, const char *next,
                        size_t n, const uint64_t *ids)
{
	assert_int_equal(l->n_submissions, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(l->submissions[i]->id, ids[i]);
	assert_string_equal(l->next, next);
}

static void test_submission_list(void **state)
{
	struct rt *t = *state;
	/* staff: every student's, paged */
	Lms__Rpc__SubmissionListResponse *l = slist(t, "ins1", 11, "", 0, "");
	expect_subs(l, "", 3, (uint64_t[]){102, 103, 112});
	Lms__Rpc__Submission *s = l->submissions[0];
	assert_string_equal(s->student, "alice");
	assert_int_equal(s->assignment_id, 11);
	assert_int_equal(s->attempt, 1);
	assert_false(s->latest);
	assert_false(s->late);
	assert_string_equal(s->text, "sort v1");
	assert_string_equal(s->submitted_at, "2026-01-19T10:00:00Z");
	assert_non_null(s->grade);
	assert_true(s->grade->final_score == 30.0);
	assert_string_equal(s->grade->grader, "ta1");
	s = l->submissions[1];
	assert_true(s->latest);
	assert_true(s->late);
	assert_int_equal(s->days_late, 2);
	assert_null(s->grade);
	assert_string_equal(l->submissions[2]->student, "bob");

	l = slist(t, "ins1", 11, "", 2, "");
	expect_subs(l, "103", 2, (uint64_t[]){102, 103});
	l = slist(t, "ins1", 11, "", 2, "103");
	expect_subs(l, "", 1, (uint64_t[]){112});
	l = slist(t, "ta1", 10, "", 1, "");
	expect_subs(l, "101", 1, (uint64_t[]){101});
	l = slist(t, "ta1", 10, "", 1, "101");
	expect_subs(l, "111", 1, (uint64_t[]){111});
	l = slist(t, "ta1", 10, "", 1, "111");
	expect_subs(l, "", 1, (uint64_t[]){121});

	/* staff may filter by student */
	expect_subs(slist(t, "ins1", 11, "alice", 0, ""), "", 2,
	            (uint64_t[]){102, 103});
	expect_subs(slist(t, "ta1", 11, "bob", 0, ""), "", 1,
	            (uint64_t[]){112});
	expect_subs(slist(t, "ins1", 11, "carol", 0, ""), "", 0, NULL);
	expect_subs(slist(t, "admin", 11, "", 0, ""), "", 3,
	            (uint64_t[]){102, 103, 112});
	expect_subs(slist(t, "ins2", 25, "", 0, ""), "", 1, (uint64_t[]){206});

	/* a student: only their own */
	expect_subs(slist(t, "alice", 11, "", 0, ""), "", 2,
	            (uint64_t[]){102, 103});
	expect_subs(slist(t, "alice", 11, "alice", 0, ""), "", 2,
	            (uint64_t[]){102, 103});
	expect_subs(slist(t, "alice", 11, "", 1, ""), "102", 1,
	            (uint64_t[]){102});
	expect_subs(slist(t, "alice", 11, "", 1, "102"), "", 1,
	            (uint64_t[]){103});
	expect_subs(slist(t, "bob", 11, "", 0, ""), "", 1, (uint64_t[]){112});
	expect_subs(slist(t, "carol", 11, "", 0, ""), "", 0, NULL);
	l = slist(t, "alice", 14, "", 0, "");
	expect_subs(l, "", 1, (uint64_t[]){106});
	assert_string_equal(l->submissions[0]->file->name, "report.txt");
	assert_int_equal(l->submissions[0]->file->data.len, 0);

	Lms__Rpc__SubmissionListRequest q =
		LMS__RPC__SUBMISSION_LIST_REQUEST__INIT;
	q.assignment_id = 11;
	q.student = "bob";
	RT_REFUSED(t, "alice", read_submission_list, &q, DENIED, "your own");
	q.student = "zed"; /* no probing for usernames either */
	RT_REFUSED(t, "alice", read_submission_list, &q, DENIED, "your own");
	RT_REFUSED(t, "ins1", read_submission_list, &q, NOTFOUND, "zed");
	q.student = "";
	RT_REFUSED(t, "dave", read_submission_list, &q, NOTFOUND,
	           "no assignment 11");
	RT_REFUSED(t, "ins2", read_submission_list, &q, NOTFOUND,
	           "no assignment 11");
	RT_REFUSED(t, "tutor", read_submission_list, &q, NOTFOUND,
	           "no assignment 11");
	q.assignment_id = 12345;
	RT_REFUSED(t, "admin", read_submission_list, &q, NOTFOUND,
	           "no assignment 12345");
}

static Lms__Rpc__Submission *sget(struct rt *t, const char *who, uint64_t id,
                                  bool with_file)
{
	Lms__Rpc__SubmissionGetRequest q = LMS__RPC__SUBMISSION_GET_REQUEST__INIT;
	q.id = id;
	q.with_file = with_file;
	return RT_OK(t, who, read_submission_get, &q, OK_SGET)
		->submission_get->submission;
}

static void test_submission_get(void **state)
{
	struct rt *t = *state;
	Lms__Rpc__Submission *s = sget(t, "alice", 106, true);
	assert_string_equal(s->file->name, "report.txt");
	assert_int_equal(s->file->data.len, 12);
	assert_memory_equal(s->file->data.data, "hello report", 12);
	assert_string_equal(s->text, "");
	assert_true(s->latest);
	assert_null(s->grade);
	s = sget(t, "alice", 106, false);
	assert_int_equal(s->file->data.len, 0);
	assert_int_equal(s->file->size, 12);

	s = sget(t, "ins1", 114, false);
	assert_string_equal(s->student, "bob");
	assert_true(s->late);
	assert_int_equal(s->days_late, 1);
	assert_true(s->grade->raw_score == 70.0);
	assert_true(s->grade->penalty_pct == 10.0);
	assert_true(s->grade->final_score == 63.0);
	assert_string_equal(s->grade->feedback, "Late");
	assert_string_equal(s->grade->graded_at, "2026-03-05T10:00:00Z");
	s = sget(t, "ta1", 111, false);
	assert_true(s->grade->raw_score == 95.0);
	s = sget(t, "admin", 206, false);
	assert_string_equal(s->student, "dave");
	s = sget(t, "dave", 206, true);
	assert_null(s->file);

	Lms__Rpc__SubmissionGetRequest q = LMS__RPC__SUBMISSION_GET_REQUEST__INIT;
	q.id = 111; /* bob's */
	RT_REFUSED(t, "alice", read_submission_get, &q, NOTFOUND,
	           "no submission 111");
	RT_REFUSED(t, "carol", read_submission_get, &q, NOTFOUND,
	           "no submission 111");
	RT_REFUSED(t, "dave", read_submission_get, &q, NOTFOUND, NULL);
	RT_REFUSED(t, "ins2", read_submission_get, &q, NOTFOUND, NULL);
	RT_REFUSED(t, "tutor", read_submission_get, &q, NOTFOUND, NULL);
	q.id = 206; /* dave's, in B: alice is a student there */
	RT_REFUSED(t, "alice", read_submission_get, &q, NOTFOUND, NULL);
	RT_REFUSED(t, "ins1", read_submission_get, &q, NOTFOUND, NULL);
	q.id = 9999;
	RT_REFUSED(t, "admin", read_submission_get, &q, NOTFOUND,
	           "no submission 9999");
}

/* ------------------------------------------------------------ grades */

static Lms__Rpc__GradesResponse *grades(struct rt *t, const char *who,
                                        const char *course,
                                        const char *student)
{
	Lms__Rpc__GradesRequest q = LMS__RPC__GRADES_REQUEST__INIT;
	q.course = (char *)course;
	q.student = (char *)student;
	return RT_OK(t, who, read_grades, &q, OK_GRADES)->grades;
}

static void expect_grades(Lms__Rpc__GradesResponse *g, const char *student,
                          size_t n, const uint64_t *subs,
                          const double *finals)
{
	assert_int_equal(g->n_grades, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(g->grades[i]->submission_id, subs[i]);
		assert_true(g->grades[i]->final_score == finals[i]);
		assert_string_equal(g->grades[i]->student, student);
	}
}

static void test_grades(void **state)
{
	struct rt *t = *state;
	/* alice, every course: her counted grades (11: attempt 1, the
	 * latest graded one; attempt 2 is not graded) */
	Lms__Rpc__GradesResponse *g = grades(t, "alice", "", "");
	expect_grades(g, "alice", 4, (uint64_t[]){101, 102, 104, 105},
	              (double[]){80, 30, 19, 90});
	assert_string_equal(g->grades[1]->assignment_title, "Sorting");
	assert_string_equal(g->grades[1]->course, "A101");
	assert_int_equal(g->grades[1]->assignment_id, 11);
	assert_int_equal(g->grades[1]->attempt, 1);
	assert_true(g->grades[1]->max_points == 50.0);
	assert_string_equal(g->grades[1]->feedback, "Try again");
	expect_grades(grades(t, "alice", "A101", ""), "alice", 4,
	              (uint64_t[]){101, 102, 104, 105},
	              (double[]){80, 30, 19, 90});
	expect_grades(grades(t, "alice", "B202", "alice"), "alice", 0, NULL,
	              NULL);
	g = grades(t, "dave", "", "");
	expect_grades(g, "dave", 6,
	              (uint64_t[]){201, 202, 203, 204, 205, 206},
	              (double[]){60, 35, 74, 73, 75, 72});
	assert_string_equal(g->grades[5]->course, "B202");

	/* staff of the course, with the course named */
	g = grades(t, "ins1", "A101", "bob");
	expect_grades(g, "bob", 4, (uint64_t[]){111, 112, 113, 114},
	              (double[]){95, 44, 14, 63});
	assert_true(g->grades[3]->raw_score == 70.0);
	assert_true(g->grades[3]->penalty_pct == 10.0);
	expect_grades(grades(t, "ta1", "A101", "carol"), "carol", 2,
	              (uint64_t[]){121, 122}, (double[]){50, 11});
	expect_grades(grades(t, "admin", "", "bob"), "bob", 4,
	              (uint64_t[]){111, 112, 113, 114},
	              (double[]){95, 44, 14, 63});
	expect_grades(grades(t, "admin", "B202", "alice"), "alice", 0, NULL,
	              NULL);
	expect_grades(grades(t, "ins2", "B202", "dave"), "dave", 6,
	              (uint64_t[]){201, 202, 203, 204, 205, 206},
	              (double[]){60, 35, 74, 73, 75, 72});

	Lms__Rpc__GradesRequest q = LMS__RPC__GRADES_REQUEST__INIT;
	q.course = "A101";
	q.student = "bob";
	RT_REFUSED(t, "alice", read_grades, &q, DENIED, NULL);
	RT_REFUSED(t, "carol", read_grades, &q, DENIED, NULL);
	RT_REFUSED(t, "ins2", read_grades, &q, DENIED, NULL);
	RT_REFUSED(t, "dave", read_grades, &q, DENIED, NULL);
	RT_REFUSED(t, "tutor", read_grades, &q, DENIED, NULL);
	q.course = "";
	RT_REFUSED(t, "ins1", read_grades, &q, DENIED, "course");
	RT_REFUSED(t, "alice", read_grades, &q, DENIED, NULL);
	q.course = "B202";
	q.student = "alice";
	RT_REFUSED(t, "bob", read_grades, &q, DENIED, NULL);
	RT_REFUSED(t, "dave", read_grades, &q, DENIED, NULL);
	q.course = "A101";
	q.student = "dave";
	RT_REFUSED(t, "ins1", read_grades, &q, NOTFOUND, "not a student");
	q.student = "zed";
	RT_REFUSED(t, "ins1", read_grades, &q, NOTFOUND, "zed");
	q.student = "";
	RT_REFUSED(t, "ins1", read_grades, &q, PRECONDITION, "not a student");
	RT_REFUSED(t, "admin", read_grades, &q, PRECONDITION, NULL);
	RT_REFUSED(t, "dave", read_grades, &q, DENIED, "not enrolled");
	q.course = "Z999";
	RT_REFUSED(t, "alice", read_grades, &q, NOTFOUND, "Z999");
}

/* --------------------------------------------------------- gradebook */

static Lms__Rpc__GradebookResponse *book(struct rt *t, const char *who,
                                         const char *course)
{
	Lms__Rpc__GradebookRequest q = LMS__RPC__GRADEBOOK_REQUEST__INIT;
	q.course = (char *)course;
	return RT_OK(t, who, read_gradebook, &q, OK_BOOK)->gradebook;
}

static void test_gradebook(void **state)
{
	struct rt *t = *state;
	/* columns by due time; the title with a comma and quotes is quoted,
	 * the formula-like title and display name get a leading quote, the
	 * display name with a comma is quoted; alice's 11 is her graded
	 * attempt 1; 14 (12.5 points) is submitted but not graded, 15 not
	 * open: empty cells */
	static const char want_a[] =
		"student,display_name,Intro essay (100),Sorting (50),"
		"\"Graphs, \"\"BFS\"\" & DFS (20)\",Dynamic programming (100),"
		"Final project (12.5),\"'=SUM(A1,A2) (10)\",average\r\n"
		"alice,Alice Anders,80.00,30.00,19.00,90.00,,,81.25\r\n"
		"bob,'@bob,95.00,44.00,14.00,63.00,,,79.00\r\n"
		"carol,\"Carol, C.\",50.00,,11.00,,,,52.50\r\n";
	const char *staff[] = {"ins1", "ta1", "admin"};
	for (int i = 0; i < 3; i++) {
		Lms__Rpc__GradebookResponse *b = book(t, staff[i], "A101");
		assert_string_equal(b->csv, want_a);
		assert_int_equal(b->students, 3);
		assert_int_equal(b->assignments, 6);
	}

	/* B: alice has nothing (every cell and the average empty); dave's
	 * average (60 + 70 + 74 + 73 + 75 + 72) / 6 = 70.666.. -> 70.67 */
	static const char want_b[] =
		"student,display_name,Cells (100),Membranes (50),Enzymes (100),"
		"Genetics (100),Evolution (100),Ecology (100),average\r\n"
		"alice,Alice Anders,,,,,,,\r\n"
		"dave,Dave Dee,60.00,35.00,74.00,73.00,75.00,72.00,70.67\r\n";
	Lms__Rpc__GradebookResponse *b = book(t, "ins2", "B202");
	assert_string_equal(b->csv, want_b);
	assert_int_equal(b->students, 2);
	assert_int_equal(b->assignments, 6);

	/* no students, no assignments: the header only */
	b = book(t, "admin", "C303");
	assert_string_equal(b->csv, "student,display_name,average\r\n");
	assert_int_equal(b->students, 0);
	assert_int_equal(b->assignments, 0);

	Lms__Rpc__GradebookRequest q = LMS__RPC__GRADEBOOK_REQUEST__INIT;
	q.course = "A101";
	RT_REFUSED(t, "alice", read_gradebook, &q, DENIED, NULL);
	RT_REFUSED(t, "ins2", read_gradebook, &q, DENIED, NULL);
	RT_REFUSED(t, "dave", read_gradebook, &q, DENIED, NULL);
	RT_REFUSED(t, "tutor", read_gradebook, &q, DENIED, NULL);
	q.course = "B202";
	RT_REFUSED(t, "alice", read_gradebook, &q, DENIED, NULL);
	RT_REFUSED(t, "ins1", read_gradebook, &q, DENIED, NULL);
	q.course = "Z999";
	RT_REFUSED(t, "admin", read_gradebook, &q, NOTFOUND, "Z999");
}

/* Database failures after part of the answer is built: -1 and nothing
 * hung on the Response. */
static void test_database_failure(void **state)
{
	struct rt *t = *state;
	/* the gradebook's header is built before the cells fail */
	pgtest_exec(t->conn, "BEGIN; ALTER TABLE lms.grade RENAME TO gone");
	Lms__Rpc__GradebookRequest b = LMS__RPC__GRADEBOOK_REQUEST__INIT;
	b.course = "A101";
	rt_failed(t, read_gradebook(rt_as(t, "ins1"), &b));
	/* a page of submissions whose grades cannot be loaded */
	pgtest_exec(t->conn, "ROLLBACK");
	pgtest_exec(t->conn, "BEGIN; ALTER TABLE lms.grade RENAME TO gone");
	Lms__Rpc__SubmissionListRequest q =
		LMS__RPC__SUBMISSION_LIST_REQUEST__INIT;
	q.assignment_id = 10;
	rt_failed(t, read_submission_list(rt_as(t, "ins1"), &q));
	pgtest_exec(t->conn, "ROLLBACK");
	assert_int_equal(RT_OK(t, "ins1", read_gradebook, &b, OK_BOOK)
	                         ->gradebook->students, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assignment_list),
		cmocka_unit_test(test_assignment_get),
		cmocka_unit_test(test_submission_list),
		cmocka_unit_test(test_submission_get),
		cmocka_unit_test(test_grades),
		cmocka_unit_test(test_gradebook),
		cmocka_unit_test(test_database_failure),
	};
	return cmocka_run_group_tests(tests, rt_setup, rt_teardown);
}

/*
 * menu.c -- cli_menu: `lms menu` driven by a script on stdin, as a user
 * without a terminal would (no echo, lines read with getline):
 *
 *   - the instructor logs in inside the menu, makes mistakes (invalid
 *     choices are refused and asked again), creates a course, enrolls a
 *     student, creates an assignment (defaults taken with empty answers);
 *   - the student logs in, lists the assignments, submits a text and a
 *     file, lists their submissions; input ends without "q": exit 0;
 *   - the instructor (session kept) lists and grades the submission,
 *     downloads it, looks at progress and statistics, logs out with "0";
 *   - the student sees the grade in "my grades" and "my progress";
 *   - end of input in the middle of an action, three wrong passwords.
 * Everything the menu did is checked again through the JSON commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_util.h"

static const char *u64(uint64_t v)
{
	static char ring[8][24];
	static unsigned n;
	char *p = ring[n++ % 8];
	snprintf(p, sizeof ring[0], "%llu", (unsigned long long)v);
	return p;
}

static struct ct_res *menu(struct ct *t, const char *who, const char *input)
{
	return CT_LMS_IN(t, who, input, "menu");
}

void cli_menu(void **state)
{
	struct ct *t = ct_begin(*state);
	ct_user(t, "instructor1", "instructor");
	ct_user(t, "student1", "student");

	/* a local due time two days ahead (the runner's TZ is UTC) */
	time_t when = time(NULL) + 2 * 86400;
	struct tm tm;
	gmtime_r(&when, &tm);
	char due[32];
	strftime(due, sizeof due, "%Y-%m-%d %H:%M", &tm);

	/* ---- instructor: login, mistakes, course, enroll, assignment */
	char in[2048];
	snprintf(in, sizeof in,
	         "instructor1\n" CT_PW "\n"
	         "99\nabc\n\n"
	         "2\nMENU1\nMenu Course\n"
	         "3\n\nstudent1\n\n"
	         "6\n\nMenu work\nAnswer the menu.\n%s\n\n\n\n\n2\nmenus, cli\n\n"
	         "q\n",
	         due);
	struct ct_res *r = menu(t, "mi", in);
	ct_ok(r);
	ct_has(r, "Instructor menu (instructor1)");
	ct_has(r, "Invalid choice \"99\"");
	ct_has(r, "Invalid choice \"abc\"");
	ct_has(r, "Created course MENU1 \"Menu Course\"");
	ct_has(r, "Enrolled student1 in MENU1 as student");
	ct_has(r, "Created assignment");
	struct stat st;
	assert_int_equal(stat(ct_session(t, "mi"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	r = CT_LMS(t, "instructor1", "--json", "assignment", "list", "MENU1");
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "assignments"), 1);
	assert_string_equal(ct_str(r->json, "assignments[0].title"),
	                    "Menu work");
	assert_string_equal(ct_str(r->json, "assignments[0].description"),
	                    "Answer the menu.");
	assert_int_equal(ct_int(r->json, "assignments[0].max_attempts"), 2);
	assert_true(ct_num(r->json, "assignments[0].max_points") == 100);
	assert_int_equal(ct_len(r->json, "assignments[0].topics"), 2);
	assert_string_equal(ct_str(r->json, "assignments[0].topics[1]"), "cli");
	char want_due[32];
	strftime(want_due, sizeof want_due, "%Y-%m-%dT%H:%M:00Z", &tm);
	assert_string_equal(ct_str(r->json, "assignments[0].due_at"), want_due);
	uint64_t a = (uint64_t)ct_int(r->json, "assignments[0].id");

	/* ---- student: login, view, submit twice, my submissions; EOF */
	char essay[300];
	snprintf(essay, sizeof essay, "%s/essay.txt", ct_home(t, "ms"));
	ct_write_file(essay, "An essay.\n", 10);
	snprintf(in, sizeof in,
	         "student1\n" CT_PW "\n"
	         "2\n\n"
	         "4\n%s\n\nMy menu answer\n"
	         "4\n%s\n\n\n"          /* neither file nor text: asked again */
	         "essay.txt\n\n"
	         "5\n%s\n",
	         u64(a), u64(a), u64(a));
	r = menu(t, "ms", in);
	ct_ok(r);
	ct_has(r, "Student menu (student1)");
	ct_has(r, "Menu work");
	ct_has(r, "Submitted attempt 1 of 2 for \"Menu "
	                               "work\" (on time)");
	ct_has(r, "Give a file, a text, or both.");
	ct_has(r, "Submitted attempt 2 of 2");
	ct_has(r, "essay.txt");

	r = CT_LMS(t, "student1", "--json", "submission", "list", u64(a));
	ct_ok(r);
	assert_int_equal(ct_len(r->json, "submissions"), 2);
	uint64_t latest = 0;
	for (size_t i = 0; i < 2; i++) {
		char p[48];
		snprintf(p, sizeof p, "submissions[%zu].latest", i);
		if (ct_bool(r->json, p)) {
			snprintf(p, sizeof p, "submissions[%zu].id", i);
			latest = (uint64_t)ct_int(r->json, p);
		}
	}
	assert_true(latest != 0);

	/* ---- instructor again (session kept): grade, download, reports */
	snprintf(in, sizeof in,
	         "8\n%s\n\n"
	         "10\n%s\n88\nWell done\n"
	         "9\n%s\n\n"
	         "16\n\n\n"
	         "17\n\n"
	         "0\n",
	         u64(a), u64(latest), u64(latest));
	r = menu(t, "mi", in);
	ct_ok(r);
	ct_has(r, "Logged in as instructor1");
	ct_has_not(r, "Please log in");
	ct_has(r, "Graded submission");
	ct_has(r, "88/100");
	ct_has(r, "Class statistics of MENU1");
	ct_has(r, "Logged out.");
	char got[300];
	snprintf(got, sizeof got, "%s/essay.txt", ct_home(t, "mi"));
	ct_same_file(essay, got);
	assert_int_not_equal(stat(ct_session(t, "mi"), &st), 0);

	r = CT_LMS(t, "student1", "--json", "grades", "MENU1");
	ct_ok(r);
	assert_true(ct_num(r->json, "grades[0].raw_score") == 88);
	assert_string_equal(ct_str(r->json, "grades[0].feedback"), "Well done");

	/* ---- student: my grades, my progress */
	r = menu(t, "ms", "6\n\n13\n\nq\n");
	ct_ok(r);
	ct_has(r, "88/100");
	ct_has(r, "Well done");
	ct_has(r, "advanced");

	/* end of input inside an action, and at the first prompt */
	ct_ok(menu(t, "ms", "9\n\n"));
	ct_ok(menu(t, "ms", ""));
	ct_ok(menu(t, "nobody", ""));
	/* three wrong passwords */
	r = menu(t, "nobody",
	         "student1\nwrong1\nstudent1\nwrong2\nstudent1\nwrong3\n");
	ct_code(r, 3);
	/* the menu is for people */
	ct_code(CT_LMS(t, "ms", "--json", "menu"), 2);
	ct_end(t);
}

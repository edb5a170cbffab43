/*
 * test_psql.c -- every ready query of sql/reports/ through psql (a
 * subprocess, as README shows it), connected as a throw-away role that
 * holds no privilege of its own, like ops/cluster's lms_report: each file
 * parses, runs, prints the node's freshness first and then its rows.
 * Also the psql variables: gradebook.sql without a course says how to
 * call it and queries nothing; the others without one cover every
 * course; progress.sql narrows to -v student=NAME.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "pgtest.h"
#include "reporttest.h"

/* What a file's output (-A -t: unaligned, rows only) must hold with
 * -v course=R101. */
static const struct {
	const char *file;
	const char *lines[4];
} expect[] = {
	{"freshness.sql", {"3|testcluster|4242|2|"}},
	{"gradebook.sql",
	 {"alice|80.00|30.00|19.00|90.00|||81.25\n",
	  "carol|50.00||11.00||||52.50\n", "erin|||||||\n"}},
	{"late_missing.sql",
	 {"R101|alice|Alice|11|Sorting|late|", "R101|erin|Erin|13|"
	  "Dynamic programming|missing|"}},
	{"progress.sql",
	 {"R101|alice|Alice|5|5|0|0|1|4|81.25|intermediate|"
	  "{80.00,60.00,95.00,90.00}|improving\n",
	  "R101|erin|Erin|5|0|1|4|0|0|||{}|\n"}},
	{"class_stats.sql",
	 {"R101|Algorithms|4|3|70.92|79.00|81.25|52.50|0|1|1|0|1|6|2\n",
	  "R101|13|Dynamic programming|"}},
	{"tutor_vs_instructors.sql",
	 {"R101|tutor|3|3|0|00:02:00|00:02:00|00:01:00|00:03:00|\n",
	  "R101|instructor|2|1|1|01:30:00|01:30:00|01:00:00|02:00:00|\n",
	  "R101|unanswered|2|1|1|||||1 day\n"}},
	{"tutor_sources.sql",
	 {"R101|301|Sorting algorithms|sorting|txt|3|2|3|",
	  "R101|305|Shortest paths|graphs|txt|0|0|0||0\n"}},
};

/* Runs psql on sql/reports/file as the role with extra psql arguments;
 * returns its output (stdout and stderr), malloc'd; *status = exit. */
static char *run_psql(struct rpt *t, const char *file, const char *args,
                      int *status)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
	         "psql -X -A -t -v ON_ERROR_STOP=1 -h '%s' -p '%s' -U '%s' "
	         "-d '%s' %s -f '%s/sql/reports/%s' 2>&1 </dev/null",
	         getenv("LMS_TEST_PGHOST"), getenv("LMS_TEST_PGPORT"), t->role,
	         t->db, args, LMS_SOURCE_DIR, file);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	size_t got;
	while ((got = fread(out + n, 1, cap - 1 - n, p)) > 0) {
		n += got;
		if (n == cap - 1)
			fail_msg("%s: too much output", file);
	}
	out[n] = '\0';
	int st = pclose(p);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_every_report(void **state)
{
	struct rpt *t = *state;
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/sql/reports", LMS_SOURCE_DIR);
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("could not open \"%s\"", dir);
	char *files[64];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 64) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0)
			files[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(files, n, sizeof *files, cmp_str);
	assert_true(n >= sizeof expect / sizeof expect[0]);

	size_t checked = 0;
	for (size_t i = 0; i < n; i++) {
		int status;
		char *out = run_psql(t, files[i], "-v course=R101", &status);
		print_message("[reports] %s:\n%s", files[i], out);
		if (status != 0)
			fail_msg("%s: psql exit %d:\n%s", files[i], status, out);
		if (strstr(out, "ERROR") || strstr(out, "WARNING") ||
		    strstr(out, "warning"))
			fail_msg("%s: messages in the output:\n%s", files[i], out);
		/* the freshness first, then at least one row */
		char *nl = strchr(out, '\n');
		if (!nl || !strstr(out, "4242") ||
		    (size_t)(strstr(out, "4242") - out) > (size_t)(nl - out))
			fail_msg("%s: does not start with the node's freshness:\n%s",
			         files[i], out);
		if (strcmp(files[i], "freshness.sql") != 0 && !nl[1])
			fail_msg("%s: no rows after the freshness:\n%s", files[i],
			         out);
		for (size_t k = 0; k < sizeof expect / sizeof expect[0]; k++) {
			if (strcmp(expect[k].file, files[i]) != 0)
				continue;
			checked++;
			for (int j = 0; j < 4 && expect[k].lines[j]; j++)
				if (!strstr(out, expect[k].lines[j]))
					fail_msg("%s: no \"%s\" in:\n%s", files[i],
					         expect[k].lines[j], out);
		}
		free(out);
		free(files[i]);
	}
	assert_int_equal(checked, sizeof expect / sizeof expect[0]);
}

static void test_variables(void **state)
{
	struct rpt *t = *state;
	int status;
	char *out = run_psql(t, "gradebook.sql", "", &status);
	assert_int_equal(status, 0);
	if (!strstr(out, "needs a course") || strstr(out, "4242"))
		fail_msg("gradebook.sql without a course:\n%s", out);
	free(out);

	out = run_psql(t, "gradebook.sql", "-v course=D404", &status);
	assert_int_equal(status, 0);
	if (!strstr(out, "gina|70.00|75.00|75.02|||73.34\n") ||
	    strstr(out, "alice"))
		fail_msg("gradebook.sql of D404:\n%s", out);
	free(out);

	/* no course: every course */
	out = run_psql(t, "progress.sql", "", &status);
	assert_int_equal(status, 0);
	if (!strstr(out, "\nD404|eve|") || !strstr(out, "\nF606|alice|") ||
	    !strstr(out, "\nG707|gus|") || !strstr(out, "\nR101|bob|"))
		fail_msg("progress.sql without a course:\n%s", out);
	free(out);

	out = run_psql(t, "progress.sql", "-v student=alice", &status);
	assert_int_equal(status, 0);
	if (!strstr(out, "\nF606|alice|") || !strstr(out, "\nR101|alice|") ||
	    strstr(out, "bob"))
		fail_msg("progress.sql -v student=alice:\n%s", out);
	free(out);

	/* a quote in the course is data, not SQL */
	out = run_psql(t, "late_missing.sql", "-v \"course=R101' OR true --\"",
	               &status);
	assert_int_equal(status, 0);
	if (strstr(out, "R101|"))
		fail_msg("late_missing.sql with a quoted course:\n%s", out);
	free(out);
}

static int setup(void **state)
{
	int rv = rpt_setup(state);
	if (rv == 0)
		rpt_role_create(*state);
	return rv;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_report),
		cmocka_unit_test(test_variables),
	};
	return cmocka_run_group_tests(tests, setup, rpt_teardown);
}

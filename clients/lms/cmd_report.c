/*
 * cmd_report.c -- progress, class statistics and the cluster's state:
 *
 *   progress [CODE] [--student USER]    done / due / missing / late,
 *                                       average, level, trend
 *   stats CODE                          mean, median, A-F, per assignment
 *   cluster status                      every node's role, term, indexes
 *
 * The numbers are computed by the cluster (read_progress.c); lms lays
 * them out. `cluster status` asks each node for itself (no failover: a
 * node that does not answer is shown as down) and fails with 7 only when
 * none answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lms.h"

/* One ProgressRequest; its entries appended to arr (pb_json). */
static int progress_one(struct cli *cli, const char *course,
                        const char *student, json_t *arr)
{
	Lms__Rpc__ProgressRequest pq = LMS__RPC__PROGRESS_REQUEST__INIT;
	pq.course = (char *)course;
	pq.student = (char *)student;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, progress, PROGRESS, &pq);
	Lms__Rpc__Response *r;
	int rc = cli_call(cli, &req, CALL_READ, RESULT(PROGRESS), &r, NULL);
	if (rc)
		return rc;
	for (size_t i = 0; i < r->progress->n_progress; i++)
		json_array_append_new(arr, pb_json(&r->progress->progress[i]->base));
	lmsc_response_free(r);
	return 0;
}

/* Whether the caller teaches course (instructor or TA in it, or admin). */
static bool teaches(struct cli *cli, const char *course)
{
	int rc;
	Lms__Rpc__Response *w = whoami_fetch(cli, &rc, false);
	if (!w)
		return false;
	bool staff = w->whoami->user &&
	             w->whoami->user->role == LMS__RPC__ROLE__ROLE_ADMIN;
	for (size_t i = 0; i < w->whoami->n_courses; i++) {
		const Lms__Rpc__Course *c = w->whoami->courses[i];
		if (strcmp(c->code, course) == 0 &&
		    (c->my_role == LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR ||
		     c->my_role == LMS__RPC__COURSE_ROLE__COURSE_TA))
			staff = true;
	}
	lmsc_response_free(w);
	return staff;
}

/*
 * The cluster answers progress for one student at a time (the caller, or
 * a named student of a course the caller teaches). "lms progress CODE"
 * by the course's staff means every student: the students of the course
 * (course_members, all pages) one by one.
 */
static int progress_all_students(struct cli *cli, const char *course,
                                 json_t *arr)
{
	int rc = 0;
	struct pager pg;
	pager_init(&pg, 0);
	Lms__Rpc__Page *page;
	size_t cap = 16, n = 0;
	char **names = malloc(cap * sizeof *names);
	if (!names)
		return cli_error(cli, EXIT_FAIL, "ERROR", "out of memory");
	while ((page = pager_next(&pg))) {
		Lms__Rpc__CourseMembersRequest cm =
			LMS__RPC__COURSE_MEMBERS_REQUEST__INIT;
		cm.course = (char *)course;
		cm.page = page;
		Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
		SET_OP(&req, course_members, COURSE_MEMBERS, &cm);
		Lms__Rpc__Response *r;
		rc = cli_call(cli, &req, CALL_READ, RESULT(COURSE_MEMBERS), &r,
		              NULL);
		if (rc)
			break;
		const Lms__Rpc__CourseMembersResponse *l = r->course_members;
		size_t k = pager_took(&pg, l->n_members, l->next);
		for (size_t i = 0; i < k; i++) {
			const Lms__Rpc__Member *m = l->members[i];
			if (m->role != LMS__RPC__COURSE_ROLE__COURSE_STUDENT ||
			    !m->user)
				continue;
			if (n == cap) {
				char **nn = realloc(names, 2 * cap * sizeof *nn);
				if (!nn)
					break;
				names = nn;
				cap *= 2;
			}
			names[n] = strdup(m->user->username);
			if (names[n])
				n++;
		}
		lmsc_response_free(r);
	}
	pager_free(&pg);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = progress_one(cli, course, names[i], arr);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* The scores of a "recent" JSON array, blank-separated, into buf. */
static const char *recent_text(json_t *rv, char *buf, size_t len)
{
	buf[0] = '\0';
	size_t k;
	json_t *v;
	json_array_foreach(rv, k, v)
	{
		char sc[32];
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", k ? " " : "",
		         fmt_score(json_number_value(v), sc, sizeof sc));
	}
	return buf;
}

/* Per-topic figures of the progress rows that have some, as a table. */
static void print_topics(json_t *arr, bool headers)
{
	struct table *t = table_new(7, "COURSE", "STUDENT", "TOPIC", "GRADED",
	                            "AVERAGE", "LEVEL", "RECENT");
	size_t i, k;
	json_t *p, *tp;
	json_array_foreach(arr, i, p)
	{
		json_array_foreach(json_object_get(p, "topics"), k, tp)
		{
			char avg[32], recent[128];
			table_row(t, json_string_value(json_object_get(p, "course")),
			          json_string_value(json_object_get(p, "student")),
			          json_string_value(json_object_get(tp, "topic")),
			          fmt("%lld", (long long)json_integer_value(
			                  json_object_get(tp, "graded"))),
			          fmt_score(json_number_value(json_object_get(
			                            tp, "average")),
			                    avg, sizeof avg),
			          json_string_value(json_object_get(tp, "level")),
			          recent_text(json_object_get(tp, "recent"), recent,
			                      sizeof recent));
		}
	}
	if (table_rows(t) == 0) {
		table_free(t);
		return;
	}
	table_right(t, 3);
	table_right(t, 4);
	printf("\nBy topic:\n");
	table_print(t, stdout, headers);
}

static int cmd_progress(struct cli *cli, const struct args *a)
{
	const char *course = a->npos ? a->pos[0] : "";
	const char *student = arg_get(a, "student") ? arg_get(a, "student")
	                                            : "";
	json_t *arr = json_array();
	int rc;
	if (*course && !*student && teaches(cli, course))
		rc = progress_all_students(cli, course, arr);
	else
		rc = progress_one(cli, course, student, arr);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	if (cli->json) {
		out_json(json_pack("{s:O}", "progress", arr));
	} else if (json_array_size(arr) == 0 && !cli->quiet) {
		printf("No progress to show.\n");
	} else {
		struct table *t = table_new(12, "COURSE", "STUDENT", "OPEN", "DONE",
		                            "DUE", "MISSING", "LATE", "GRADED",
		                            "AVERAGE", "LEVEL", "TREND",
		                            "RECENT");
		size_t i;
		json_t *p;
		json_array_foreach(arr, i, p)
		{
			char avg[32], recent[128];
			recent_text(json_object_get(p, "recent"), recent,
			            sizeof recent);
#define U(key) fmt("%lld", (long long)json_integer_value(json_object_get(p, key)))
#define S(key) json_string_value(json_object_get(p, key))
			bool graded = json_integer_value(json_object_get(p, "graded"));
			table_row(t, S("course"), S("student"), U("assignments"),
			          U("done"), U("due"), U("missing"), U("late"),
			          U("graded"),
			          graded ? fmt_score(json_number_value(json_object_get(
			                                     p, "average")),
			                             avg, sizeof avg)
			                 : "-",
			          S("level"), S("trend"), recent);
#undef U
#undef S
		}
		for (int c = 2; c <= 8; c++)
			table_right(t, c);
		table_print(t, stdout, !cli->quiet);
		if (!cli->quiet)
			print_topics(arr, true);
	}
	json_decref(arr);
	return 0;
}

static int cmd_stats(struct cli *cli, const struct args *a)
{
	Lms__Rpc__StatsRequest sq = LMS__RPC__STATS_REQUEST__INIT;
	sq.course = a->pos[0];
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, stats, STATS, &sq);
	Lms__Rpc__Response *r;
	int rc = cli_call(cli, &req, CALL_READ, RESULT(STATS), &r, NULL);
	if (rc)
		return rc;
	const Lms__Rpc__StatsResponse *s = r->stats;
	if (cli->json) {
		out_json(pb_json(&s->base));
		lmsc_response_free(r);
		return 0;
	}
	char m1[32], m2[32], m3[32], m4[32];
	if (!cli->quiet) {
		printf("Class statistics of %s\n", s->course);
		printf("  students:        %u (%u with grades)\n", s->students,
		       s->graded_students);
		if (s->graded_students)
			printf("  averages:        mean %s, median %s, high %s, "
			       "low %s (out of 100)\n",
			       fmt_score(s->mean, m1, sizeof m1),
			       fmt_score(s->median, m2, sizeof m2),
			       fmt_score(s->high, m3, sizeof m3),
			       fmt_score(s->low, m4, sizeof m4));
		printf("  distribution:    A %u  B %u  C %u  D %u  F %u\n",
		       s->grade_a, s->grade_b, s->grade_c, s->grade_d, s->grade_f);
		printf("  open questions:  %u\n\n", s->open_questions);
	}
	if (s->n_assignments) {
		struct table *t = table_new(6, "ID", "ASSIGNMENT", "SUBMITTED",
		                            "RATE", "GRADED", "MEAN");
		for (size_t i = 0; i < s->n_assignments; i++) {
			const Lms__Rpc__AssignmentStats *x = s->assignments[i];
			table_row(t, fmt("%llu", (unsigned long long)x->assignment_id),
			          x->title, fmt("%u/%u", x->submitted, x->students),
			          fmt("%s%%", fmt_score(x->submission_rate, m1,
			                                sizeof m1)),
			          fmt("%u", x->graded),
			          x->graded ? fmt_score(x->mean, m2, sizeof m2) : "-");
		}
		table_right(t, 0);
		table_right(t, 2);
		table_right(t, 3);
		table_right(t, 4);
		table_right(t, 5);
		table_max(t, 1, 40);
		table_print(t, stdout, !cli->quiet);
	} else if (!cli->quiet) {
		printf("No assignments yet.\n");
	}
	lmsc_response_free(r);
	return 0;
}

static int cmd_cluster_status(struct cli *cli, const struct args *a)
{
	int rc = 0;
	struct lmsc *c = cli_client(cli, &rc);
	if (!c)
		return rc;
	Lms__Rpc__StatusRequest sr = LMS__RPC__STATUS_REQUEST__INIT;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, status, STATUS, &sr);
	json_t *arr = json_array();
	struct table *t = table_new(8, "NODE", "ADDRESS", "ROLE", "TERM",
	                            "LEADER", "COMMIT", "APPLIED", "NOTE");
	unsigned up = 0;
	size_t n = lmsc_node_count(c);
	for (size_t i = 0; i < n; i++) {
		const struct lmsc_node *nd = lmsc_node_at(c, i);
		char addr[96];
		snprintf(addr, sizeof addr, "%s:%u", nd->host, nd->port);
		Lms__Rpc__Response *r = NULL;
		int rv = lmsc_call_node(c, i, &req, &r);
		if (rv == 0 && r->status == LMS__RPC__STATUS__OK &&
		    r->result_case == RESULT(STATUS_INFO)) {
			const Lms__Rpc__StatusResponse *s = r->status_info;
			up++;
			json_t *j = pb_json(&s->base);
			json_object_set_new(j, "address", json_string(addr));
			json_object_set_new(j, "up", json_true());
			json_array_append_new(arr, j);
			table_row(t, fmt("%llu", (unsigned long long)s->node_id),
			          addr, s->role, fmt("%llu", (unsigned long long)s->term),
			          fmt("%llu", (unsigned long long)s->leader_id),
			          fmt("%llu", (unsigned long long)s->commit_index),
			          fmt("%llu", (unsigned long long)s->applied_index),
			          "");
		} else {
			const char *why = rv != 0 ? lmsc_errmsg(c)
			                  : r->message && *r->message
			                          ? r->message
			                          : lmsc_status_name(r->status);
			json_array_append_new(arr, json_pack(
				"{s:s,s:b,s:s}", "address", addr, "up", 0, "error",
				why));
			table_row(t, nd->id ? fmt("%llu", (unsigned long long)nd->id)
			                    : "?",
			          addr, "down", "", "", "", "", why);
		}
		lmsc_response_free(r);
	}
	if (cli->json) {
		out_json(json_pack("{s:O,s:i}", "nodes", arr, "up", (int)up));
		table_free(t);
	} else {
		table_right(t, 3);
		table_right(t, 5);
		table_right(t, 6);
		table_print(t, stdout, !cli->quiet);
	}
	json_decref(arr);
	if (up == 0)
		return cli_error(cli, EXIT_UNAVAILABLE, "UNAVAILABLE",
		                 "cluster unavailable: no node answered");
	return 0;
}

static const struct opt_spec progress_opts[] = {
	{"student", 0, OPT_VALUE, "USER", "a student's progress (staff)"},
	{NULL, 0, 0, NULL, NULL},
};

const struct command cmds_report[] = {
	{"progress", "[CODE]", 0, 1, progress_opts,
	 "progress per course: done, due, missing, late, average, level "
	 "(also per topic)",
	 "Students see their own. The staff of CODE see every student of it, "
	 "or one\nwith --student.\nLevel: beginner below 70, intermediate below 85, "
	 "advanced from 85.\n",
	 cmd_progress},
	{"stats", "CODE", 1, 1, NULL, "class statistics of a course (staff)",
	 NULL, cmd_stats},
	{"cluster status", "", 0, 0, NULL,
	 "every node's role, term, leader and indexes", NULL,
	 cmd_cluster_status},
	{NULL, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

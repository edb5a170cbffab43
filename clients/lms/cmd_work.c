/*
 * cmd_work.c -- assignments, submissions and grades:
 *
 *   assignment create CODE --title S --due TIME [...]
 *   assignment list CODE            assignment show ID [-o FILE]
 *   assignment extend ID USER --due TIME [--cutoff TIME]
 *   submit ID (FILE | --text S)     submission list ID [--student USER]
 *   submission get ID [-o FILE]     grade SUBMISSION SCORE [--feedback S]
 *   grades [CODE]                   gradebook CODE [--csv]
 *
 * Times are typed in local time or ISO-8601 (input.c) and shown in local
 * time; the late rules (README "Who can do what") are the cluster's: lms
 * only shows what it was told (late, days late, penalty, final score).
 *
 * Downloads (an attachment, a submitted file) go to -o FILE, or to the
 * file's own name made safe (safe_basename) in the current directory;
 * an existing file is only replaced with --force.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "lms.h"
#include "util.h"

/* ------------------------------------------------------------ helpers */

static int time_opt(struct cli *cli, const struct args *a, const char *name,
                    const char *path, char *out)
{
	const char *s = arg_get(a, name);
	out[0] = '\0';
	if (!s)
		return 0;
	char err[256];
	if (parse_time(s, out, err, sizeof err) != 0)
		return cli_usage(cli, path, "--%s: %s", name, err);
	return 0;
}

static int64_t iso_ms(const char *iso)
{
	int64_t ms = 0;
	if (iso && *iso && lms_iso_parse(iso, &ms) == 0)
		return ms;
	return 0;
}

static const char *days(uint32_t d)
{
	return fmt("%u day%s", d, d == 1 ? "" : "s");
}

/* Where an assignment stands for the caller now. */
static const char *assignment_state(const Lms__Rpc__Assignment *a)
{
	int64_t now = lms_wall_ms();
	const char *due = *a->my_due_at ? a->my_due_at : a->due_at;
	const char *cut = *a->my_cutoff_at || *a->my_due_at ? a->my_cutoff_at
	                                                     : a->cutoff_at;
	char d[64];
	if (*a->opens_at && now < iso_ms(a->opens_at))
		return fmt("opens in %s",
		           fmt_duration(iso_ms(a->opens_at) - now, d, sizeof d));
	if (now <= iso_ms(due))
		return fmt("due in %s",
		           fmt_duration(iso_ms(due) - now, d, sizeof d));
	if (!*cut || now <= iso_ms(cut))
		return "late";
	return "closed";
}

static const char *attempts_str(const Lms__Rpc__Assignment *a)
{
	if (a->max_attempts)
		return fmt("%u/%u", a->my_attempts, a->max_attempts);
	return fmt("%u/-", a->my_attempts);
}

/* ------------------------------------------------------------ assignments */

static int cmd_assignment_create(struct cli *cli, const struct args *a)
{
	const char *path = "assignment create";
	const char *title = arg_get(a, "title");
	if (!title)
		return cli_usage(cli, path, "--title is required");
	if (!arg_get(a, "due"))
		return cli_usage(cli, path, "--due is required");
	char due[LMS_ISO_MAX], opens[LMS_ISO_MAX], cutoff[LMS_ISO_MAX];
	int rc;
	if ((rc = time_opt(cli, a, "due", path, due)) ||
	    (rc = time_opt(cli, a, "opens", path, opens)) ||
	    (rc = time_opt(cli, a, "cutoff", path, cutoff)))
		return rc;
	Lms__Rpc__AssignmentCreateRequest ac =
		LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT;
	ac.course = a->pos[0];
	ac.title = (char *)title;
	ac.description = (char *)(arg_get(a, "description")
	                                  ? arg_get(a, "description")
	                                  : "");
	ac.due_at = due;
	ac.opens_at = opens;
	ac.cutoff_at = cutoff;
	const char *s;
	if ((s = arg_get(a, "points")) &&
	    (parse_points(s, 100000, &ac.max_points) != 0 || ac.max_points == 0))
		return cli_usage(cli, path, "--points must be a number above 0 "
		                 "(at most 100000, two decimals)");
	if ((s = arg_get(a, "late-penalty")) &&
	    parse_points(s, 100, &ac.late_penalty_pct) != 0)
		return cli_usage(cli, path, "--late-penalty must be a percentage "
		                 "0..100");
	if ((s = arg_get(a, "penalty-floor")) &&
	    parse_points(s, 100, &ac.penalty_floor_pct) != 0)
		return cli_usage(cli, path, "--penalty-floor must be a "
		                 "percentage 0..100");
	uint64_t n;
	if ((s = arg_get(a, "attempts"))) {
		if (lms_parse_u64(s, 0, UINT32_MAX, &n) != 0)
			return cli_usage(cli, path, "--attempts must be a number "
			                 "(0 = unlimited)");
		ac.max_attempts = (uint32_t)n;
	}
	const char *topics[32];
	size_t nt = arg_list(a, "topic", topics, 32);
	ac.topics = (char **)topics;
	ac.n_topics = nt;
	Lms__Rpc__File file = LMS__RPC__FILE__INIT;
	uint8_t *data = NULL;
	size_t len = 0;
	char base[256];
	const char *attach = arg_get(a, "attach");
	if (attach) {
		if (!(data = file_read(cli, attach, &len, &rc)))
			return rc;
		safe_basename(attach, base, sizeof base);
		file.name = base;
		file.data.data = data;
		file.data.len = len;
		ac.attachment = &file;
	}
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, assignment_create, ASSIGNMENT_CREATE, &ac);
	Lms__Rpc__Response *r;
	rc = cli_call(cli, &req, CALL_WRITE, RESULT(ASSIGNMENT_CREATE), &r,
	              len > CLI_PROGRESS_MIN ? "uploading" : NULL);
	free(data);
	if (rc)
		return rc;
	const Lms__Rpc__Assignment *as = r->assignment_create->assignment;
	char t[LMS_TIME_MAX];
	if (cli->json)
		out_json(pb_json(&r->assignment_create->base));
	else if (cli->quiet)
		printf("%llu\n", as ? (unsigned long long)as->id : 0ULL);
	else if (as)
		printf("Created assignment %llu \"%s\" in %s, due %s.\n",
		       (unsigned long long)as->id, as->title, as->course,
		       fmt_time(as->due_at, t, sizeof t));
	lmsc_response_free(r);
	return 0;
}

static int cmd_assignment_list(struct cli *cli, const struct args *a)
{
	int rc = 0;
	long limit = arg_limit(cli, a, "assignment list", &rc);
	if (limit < 0)
		return rc;
	json_t *arr = json_array();
	struct table *t = table_new(7, "ID", "TITLE", "OPENS", "DUE", "CUT-OFF",
	                            "ATTEMPTS", "STATUS");
	struct pager pg;
	pager_init(&pg, limit);
	Lms__Rpc__Page *page;
	while ((page = pager_next(&pg))) {
		Lms__Rpc__AssignmentListRequest al =
			LMS__RPC__ASSIGNMENT_LIST_REQUEST__INIT;
		al.course = a->pos[0];
		al.page = page;
		Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
		SET_OP(&req, assignment_list, ASSIGNMENT_LIST, &al);
		Lms__Rpc__Response *r;
		rc = cli_call(cli, &req, CALL_READ, RESULT(ASSIGNMENT_LIST), &r,
		              NULL);
		if (rc)
			break;
		const Lms__Rpc__AssignmentListResponse *l = r->assignment_list;
		size_t k = pager_took(&pg, l->n_assignments, l->next);
		for (size_t i = 0; i < k; i++) {
			const Lms__Rpc__Assignment *as = l->assignments[i];
			char o[LMS_TIME_MAX], d[LMS_TIME_MAX], c[LMS_TIME_MAX];
			json_array_append_new(arr, pb_json(&as->base));
			const char *due = *as->my_due_at ? as->my_due_at
			                                 : as->due_at;
			bool ext = *as->my_due_at &&
			           strcmp(as->my_due_at, as->due_at) != 0;
			table_row(t, fmt("%llu", (unsigned long long)as->id),
			          as->title, fmt_time(as->opens_at, o, sizeof o),
			          fmt("%s%s", fmt_time(due, d, sizeof d),
			              ext ? " (ext.)" : ""),
			          fmt_time(*as->my_due_at ? as->my_cutoff_at
			                                  : as->cutoff_at,
			                   c, sizeof c),
			          attempts_str(as), assignment_state(as));
		}
		lmsc_response_free(r);
	}
	pager_free(&pg);
	if (rc == 0) {
		if (cli->json) {
			out_json(json_pack("{s:s,s:O}", "course", a->pos[0],
			                   "assignments", arr));
		} else if (table_rows(t) == 0 && !cli->quiet) {
			printf("No assignments in %s.\n", a->pos[0]);
		} else {
			table_right(t, 0);
			table_max(t, 1, 40);
			table_print(t, stdout, !cli->quiet);
			t = NULL;
		}
	}
	table_free(t);
	json_decref(arr);
	return rc;
}

static void print_field(const char *label, const char *value)
{
	printf("%-12s %s\n", label, value);
}

static void print_block(const char *text)
{
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		printf("  %.*s\n", len, p);
		p += len;
		if (*p == '\n')
			p++;
	}
}

static int cmd_assignment_show(struct cli *cli, const struct args *a)
{
	uint64_t id;
	if (parse_id(a->pos[0], &id) != 0)
		return cli_usage(cli, "assignment show", "ID must be a positive "
		                 "number");
	const char *out = arg_get(a, "output");
	bool force = arg_has(a, "force");
	if (out && cli->json && strcmp(out, "-") == 0)
		return cli_usage(cli, "assignment show", "-o - and --json "
		                 "both want standard output");
	int rc;
	if (out && (rc = file_check_target(cli, out, force)))
		return rc;
	Lms__Rpc__AssignmentGetRequest g = LMS__RPC__ASSIGNMENT_GET_REQUEST__INIT;
	g.id = id;
	g.with_attachment = out != NULL;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, assignment_get, ASSIGNMENT_GET, &g);
	Lms__Rpc__Response *r;
	rc = cli_call(cli, &req, CALL_READ, RESULT(ASSIGNMENT_GET), &r,
	              out ? "downloading" : NULL);
	if (rc)
		return rc;
	const Lms__Rpc__Assignment *as = r->assignment_get->assignment;
	char saved[4096] = "";
	if (out && as && as->attachment) {
		rc = file_save_download(cli, as->attachment, out, force, saved,
		                        sizeof saved);
		if (rc) {
			lmsc_response_free(r);
			return rc;
		}
	} else if (out) {
		cli_note(cli, "assignment %llu has no attachment; nothing "
		         "saved\n", (unsigned long long)id);
	}
	if (cli->json) {
		json_t *j = pb_json(&r->assignment_get->base);
		json_object_set_new(j, "saved_to",
		                    *saved ? json_string(saved) : json_null());
		out_json(j);
	} else if (!(out && strcmp(out, "-") == 0) && as) {
		char t1[LMS_TIME_MAX], t2[LMS_TIME_MAX], sz[32];
		printf("Assignment %llu: %s (%s)\n", (unsigned long long)as->id,
		       as->title, as->course);
		print_field("opens:", fmt_time(as->opens_at, t1, sizeof t1));
		print_field("due:", fmt_time(as->due_at, t1, sizeof t1));
		print_field("cut-off:", *as->cutoff_at
		                                ? fmt_time(as->cutoff_at, t1,
		                                           sizeof t1)
		                                : "none");
		if (*as->my_due_at && (strcmp(as->my_due_at, as->due_at) != 0 ||
		                       strcmp(as->my_cutoff_at, as->cutoff_at)))
			print_field("extension:",
			            fmt("due %s, cut-off %s",
			                fmt_time(as->my_due_at, t1, sizeof t1),
			                *as->my_cutoff_at
			                        ? fmt_time(as->my_cutoff_at, t2,
			                                   sizeof t2)
			                        : "none"));
		print_field("status:", assignment_state(as));
		print_field("points:", fmt_score(as->max_points, t1, sizeof t1));
		if (as->late_penalty_pct > 0)
			print_field("late:",
			            fmt("-%s%% per day late, keeping at least %s%%",
			                fmt_score(as->late_penalty_pct, t1, sizeof t1),
			                fmt_score(as->penalty_floor_pct, t2,
			                          sizeof t2)));
		else
			print_field("late:", "no penalty");
		print_field("attempts:",
		            as->max_attempts
		                    ? fmt("%u of %u used", as->my_attempts,
		                          as->max_attempts)
		                    : fmt("%u used, unlimited", as->my_attempts));
		if (as->n_topics) {
			char buf[512] = "";
			for (size_t i = 0; i < as->n_topics; i++)
				snprintf(buf + strlen(buf), sizeof buf - strlen(buf),
				         "%s%s", i ? ", " : "", as->topics[i]);
			print_field("topics:", buf);
		}
		if (as->attachment)
			print_field("attachment:",
			            fmt("%s (%s)%s%s", as->attachment->name,
			                fmt_size(as->attachment->size, sz,
			                         sizeof sz),
			                *saved ? ", saved to " : "", saved));
		if (*as->description) {
			printf("description:\n");
			print_block(as->description);
		}
	}
	lmsc_response_free(r);
	return 0;
}

static int cmd_assignment_extend(struct cli *cli, const struct args *a)
{
	const char *path = "assignment extend";
	uint64_t id;
	if (parse_id(a->pos[0], &id) != 0)
		return cli_usage(cli, path, "ID must be a positive number");
	if (!arg_get(a, "due"))
		return cli_usage(cli, path, "--due is required");
	char due[LMS_ISO_MAX], cutoff[LMS_ISO_MAX];
	int rc;
	if ((rc = time_opt(cli, a, "due", path, due)) ||
	    (rc = time_opt(cli, a, "cutoff", path, cutoff)))
		return rc;
	Lms__Rpc__ExtensionRequest e = LMS__RPC__EXTENSION_REQUEST__INIT;
	e.assignment_id = id;
	e.username = a->pos[1];
	e.due_at = due;
	e.cutoff_at = cutoff;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, extension, EXTENSION, &e);
	Lms__Rpc__Response *r;
	rc = cli_call(cli, &req, CALL_WRITE, RESULT(EXTENSION), &r, NULL);
	if (rc)
		return rc;
	const Lms__Rpc__ExtensionResponse *x = r->extension;
	char t1[LMS_TIME_MAX], t2[LMS_TIME_MAX];
	if (cli->json)
		out_json(pb_json(&x->base));
	else if (!cli->quiet)
		printf("Extended assignment %llu for %s: due %s, cut-off %s.\n",
		       (unsigned long long)x->assignment_id, x->username,
		       fmt_time(x->due_at, t1, sizeof t1),
		       *x->cutoff_at ? fmt_time(x->cutoff_at, t2, sizeof t2)
		                     : "none");
	lmsc_response_free(r);
	return 0;
}

/* ------------------------------------------------------------ submissions */

static int cmd_submit(struct cli *cli, const struct args *a)
{
	uint64_t id;
	if (parse_id(a->pos[0], &id) != 0)
		return cli_usage(cli, "submit", "ID must be a positive number");
	const char *text = arg_get(a, "text");
	const char *file = a->npos > 1 ? a->pos[1] : NULL;
	if (!text && !file)
		return cli_usage(cli, "submit", "give a FILE or --text S");
	Lms__Rpc__SubmitRequest s = LMS__RPC__SUBMIT_REQUEST__INIT;
	s.assignment_id = id;
	s.text = (char *)(text ? text : "");
	Lms__Rpc__File f = LMS__RPC__FILE__INIT;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;
	char base[256];
	if (file) {
		if (!(data = file_read(cli, file, &len, &rc)))
			return rc;
		safe_basename(file, base, sizeof base);
		f.name = base;
		f.data.data = data;
		f.data.len = len;
		s.file = &f;
	}
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, submit, SUBMIT, &s);
	Lms__Rpc__Response *r;
	rc = cli_call(cli, &req, CALL_WRITE, RESULT(SUBMIT), &r,
	              len > CLI_PROGRESS_MIN ? "uploading" : NULL);
	free(data);
	if (rc)
		return rc;
	const Lms__Rpc__Submission *sub = r->submit->submission;
	if (cli->json) {
		out_json(pb_json(&r->submit->base));
	} else if (cli->quiet) {
		printf("%llu\n", sub ? (unsigned long long)sub->id : 0ULL);
	} else if (sub) {
		/* the title and the attempt limit for the message: a read of
		 * the assignment (the submission is in, whatever it says) */
		Lms__Rpc__AssignmentGetRequest g =
			LMS__RPC__ASSIGNMENT_GET_REQUEST__INIT;
		g.id = id;
		Lms__Rpc__Request gq = LMS__RPC__REQUEST__INIT;
		SET_OP(&gq, assignment_get, ASSIGNMENT_GET, &g);
		Lms__Rpc__Response *gr = NULL;
		cli->mute = true;
		int grc = cli_call(cli, &gq, CALL_READ, RESULT(ASSIGNMENT_GET),
		                   &gr, NULL);
		cli->mute = false;
		const Lms__Rpc__Assignment *as =
			grc == 0 ? gr->assignment_get->assignment : NULL;
		char of[32] = "";
		if (as && as->max_attempts)
			snprintf(of, sizeof of, " of %u", as->max_attempts);
		printf("Submitted attempt %u%s for %s (%s).\n", sub->attempt, of,
		       as ? fmt("\"%s\"", as->title)
		          : fmt("assignment %llu", (unsigned long long)id),
		       sub->late ? fmt("late by %s", days(sub->days_late))
		                 : "on time");
		printf("Submission id %llu.\n", (unsigned long long)sub->id);
		lmsc_response_free(gr);
	}
	lmsc_response_free(r);
	return 0;
}

static const char *grade_str(const Lms__Rpc__Grade *g)
{
	char a[32], b[32];
	if (!g)
		return "-";
	return fmt("%s/%s", fmt_score(g->final_score, a, sizeof a),
	           fmt_score(g->max_points, b, sizeof b));
}

static int cmd_submission_list(struct cli *cli, const struct args *a)
{
	uint64_t id;
	if (parse_id(a->pos[0], &id) != 0)
		return cli_usage(cli, "submission list", "ID must be a positive "
		                 "number");
	int rc = 0;
	long limit = arg_limit(cli, a, "submission list", &rc);
	if (limit < 0)
		return rc;
	json_t *arr = json_array();
	struct table *t = table_new(8, "ID", "STUDENT", "ATTEMPT", "SUBMITTED",
	                            "LATE", "FILE", "GRADE", "LATEST");
	struct pager pg;
	pager_init(&pg, limit);
	Lms__Rpc__Page *page;
	while ((page = pager_next(&pg))) {
		Lms__Rpc__SubmissionListRequest sl =
			LMS__RPC__SUBMISSION_LIST_REQUEST__INIT;
		sl.assignment_id = id;
		sl.student = (char *)(arg_get(a, "student") ? arg_get(a, "student")
		                                            : "");
		sl.page = page;
		Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
		SET_OP(&req, submission_list, SUBMISSION_LIST, &sl);
		Lms__Rpc__Response *r;
		rc = cli_call(cli, &req, CALL_READ, RESULT(SUBMISSION_LIST), &r,
		              NULL);
		if (rc)
			break;
		const Lms__Rpc__SubmissionListResponse *l = r->submission_list;
		size_t k = pager_took(&pg, l->n_submissions, l->next);
		for (size_t i = 0; i < k; i++) {
			const Lms__Rpc__Submission *s = l->submissions[i];
			char tm[LMS_TIME_MAX];
			json_array_append_new(arr, pb_json(&s->base));
			table_row(t, fmt("%llu", (unsigned long long)s->id),
			          s->student, fmt("%u", s->attempt),
			          fmt_time(s->submitted_at, tm, sizeof tm),
			          s->late ? days(s->days_late) : "-",
			          s->file ? s->file->name : "-", grade_str(s->grade),
			          s->latest ? "yes" : "");
		}
		lmsc_response_free(r);
	}
	pager_free(&pg);
	if (rc == 0) {
		if (cli->json) {
			out_json(json_pack("{s:I,s:O}", "assignment_id",
			                   (json_int_t)id, "submissions", arr));
		} else if (table_rows(t) == 0 && !cli->quiet) {
			printf("No submissions.\n");
		} else {
			table_right(t, 0);
			table_right(t, 2);
			table_max(t, 5, 30);
			table_print(t, stdout, !cli->quiet);
			t = NULL;
		}
	}
	table_free(t);
	json_decref(arr);
	return rc;
}

static void print_grade(const Lms__Rpc__Grade *g)
{
	char a[32], b[32], c[32], tm[LMS_TIME_MAX];
	if (!g) {
		print_field("grade:", "not graded yet");
		return;
	}
	if (g->penalty_pct > 0)
		print_field("grade:",
		            fmt("%s/%s (raw %s, late penalty %s%%)",
		                fmt_score(g->final_score, a, sizeof a),
		                fmt_score(g->max_points, b, sizeof b),
		                fmt_score(g->raw_score, c, sizeof c),
		                fmt_score(g->penalty_pct, tm, sizeof tm)));
	else
		print_field("grade:", fmt("%s/%s",
		                          fmt_score(g->final_score, a, sizeof a),
		                          fmt_score(g->max_points, b, sizeof b)));
	print_field("graded:", fmt("%s by %s",
	                           fmt_time(g->graded_at, tm, sizeof tm),
	                           g->grader));
	if (*g->feedback) {
		printf("feedback:\n");
		print_block(g->feedback);
	}
}

static int cmd_submission_get(struct cli *cli, const struct args *a)
{
	uint64_t id;
	if (parse_id(a->pos[0], &id) != 0)
		return cli_usage(cli, "submission get", "ID must be a positive "
		                 "number");
	const char *out = arg_get(a, "output");
	bool force = arg_has(a, "force");
	if (out && cli->json && strcmp(out, "-") == 0)
		return cli_usage(cli, "submission get", "-o - and --json both "
		                 "want standard output");
	int rc;
	if (out && (rc = file_check_target(cli, out, force)))
		return rc;
	Lms__Rpc__SubmissionGetRequest g =
		LMS__RPC__SUBMISSION_GET_REQUEST__INIT;
	g.id = id;
	g.with_file = true;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, submission_get, SUBMISSION_GET, &g);
	Lms__Rpc__Response *r;
	rc = cli_call(cli, &req, CALL_READ, RESULT(SUBMISSION_GET), &r,
	              "downloading");
	if (rc)
		return rc;
	const Lms__Rpc__Submission *s = r->submission_get->submission;
	char saved[4096] = "";
	if (s && s->file) {
		rc = file_save_download(cli, s->file, out, force, saved,
		                        sizeof saved);
		if (rc) {
			lmsc_response_free(r);
			return rc;
		}
	} else if (out && strcmp(out, "-") == 0 && s) {
		/* no file: the text is the submission */
		fputs(s->text, stdout);
	} else if (out) {
		cli_note(cli, "submission %llu has no file; nothing saved\n",
		         (unsigned long long)id);
	}
	if (cli->json) {
		json_t *j = pb_json(&r->submission_get->base);
		json_object_set_new(j, "saved_to",
		                    *saved ? json_string(saved) : json_null());
		out_json(j);
	} else if (!(out && strcmp(out, "-") == 0) && s && !cli->quiet) {
		char tm[LMS_TIME_MAX], sz[32];
		printf("Submission %llu: attempt %u by %s for assignment "
		       "%llu\n", (unsigned long long)s->id, s->attempt,
		       s->student, (unsigned long long)s->assignment_id);
		print_field("submitted:",
		            fmt("%s (%s)", fmt_time(s->submitted_at, tm, sizeof tm),
		                s->late ? fmt("late by %s", days(s->days_late))
		                        : "on time"));
		print_field("latest:", s->latest ? "yes (the attempt graded)"
		                                 : "no");
		if (s->file)
			print_field("file:", fmt("%s (%s, %s), saved to %s",
			                         s->file->name, s->file->media_type,
			                         fmt_size(s->file->size, sz, sizeof sz),
			                         saved));
		print_grade(s->grade);
		if (*s->text) {
			printf("text:\n");
			print_block(s->text);
		}
	} else if (cli->quiet && *saved && strcmp(saved, "-") != 0) {
		printf("%s\n", saved);
	}
	lmsc_response_free(r);
	return 0;
}

/* ------------------------------------------------------------ grades */

static int cmd_grade(struct cli *cli, const struct args *a)
{
	uint64_t id;
	if (parse_id(a->pos[0], &id) != 0)
		return cli_usage(cli, "grade", "SUBMISSION must be a positive "
		                 "number");
	double score;
	if (parse_points(a->pos[1], 100000, &score) != 0)
		return cli_usage(cli, "grade", "SCORE must be a number >= 0 with "
		                 "at most two decimals");
	Lms__Rpc__GradeRequest g = LMS__RPC__GRADE_REQUEST__INIT;
	g.submission_id = id;
	g.score = score;
	g.feedback = (char *)(arg_get(a, "feedback") ? arg_get(a, "feedback")
	                                             : "");
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, grade, GRADE, &g);
	Lms__Rpc__Response *r;
	int rc = cli_call(cli, &req, CALL_WRITE, RESULT(GRADE), &r, NULL);
	if (rc)
		return rc;
	const Lms__Rpc__Grade *gr = r->grade->grade;
	if (cli->json) {
		out_json(pb_json(&r->grade->base));
	} else if (!cli->quiet && gr) {
		char x[32], y[32], z[32], p[32];
		printf("Graded submission %llu (%s, attempt %u, \"%s\"): %s/%s",
		       (unsigned long long)gr->submission_id, gr->student,
		       gr->attempt, gr->assignment_title,
		       fmt_score(gr->raw_score, x, sizeof x),
		       fmt_score(gr->max_points, y, sizeof y));
		if (gr->penalty_pct > 0)
			printf(", late penalty %s%% -> %s/%s",
			       fmt_score(gr->penalty_pct, p, sizeof p),
			       fmt_score(gr->final_score, z, sizeof z), y);
		printf(".\n");
	}
	lmsc_response_free(r);
	return 0;
}

static int cmd_grades(struct cli *cli, const struct args *a)
{
	Lms__Rpc__GradesRequest g = LMS__RPC__GRADES_REQUEST__INIT;
	g.course = a->npos ? a->pos[0] : "";
	g.student = (char *)(arg_get(a, "student") ? arg_get(a, "student") : "");
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, grades, GRADES, &g);
	Lms__Rpc__Response *r;
	int rc = cli_call(cli, &req, CALL_READ, RESULT(GRADES), &r, NULL);
	if (rc)
		return rc;
	const Lms__Rpc__GradesResponse *gs = r->grades;
	if (cli->json) {
		out_json(pb_json(&gs->base));
	} else if (gs->n_grades == 0 && !cli->quiet) {
		printf("No grades yet.\n");
	} else {
		struct table *t = table_new(9, "COURSE", "ASSIGNMENT", "ATTEMPT",
		                            "RAW", "PENALTY", "FINAL", "GRADED",
		                            "BY", "FEEDBACK");
		for (size_t i = 0; i < gs->n_grades; i++) {
			const Lms__Rpc__Grade *x = gs->grades[i];
			char s1[32], s2[32], s3[32], s4[32], tm[LMS_TIME_MAX];
			table_row(t, x->course,
			          fmt("%llu %s", (unsigned long long)x->assignment_id,
			              x->assignment_title),
			          fmt("%u", x->attempt),
			          fmt_score(x->raw_score, s1, sizeof s1),
			          x->penalty_pct > 0
			                  ? fmt("%s%%", fmt_score(x->penalty_pct, s2,
			                                          sizeof s2))
			                  : "-",
			          fmt("%s/%s", fmt_score(x->final_score, s3, sizeof s3),
			              fmt_score(x->max_points, s4, sizeof s4)),
			          fmt_time(x->graded_at, tm, sizeof tm), x->grader,
			          x->feedback);
		}
		table_max(t, 1, 36);
		table_max(t, 8, 40);
		table_right(t, 2);
		table_right(t, 3);
		table_right(t, 5);
		table_print(t, stdout, !cli->quiet);
	}
	lmsc_response_free(r);
	return 0;
}

/* Splits CSV text (RFC 4180: quotes, "" inside quotes) into rows of at
 * most 64 cells; calls row() for each. Cells are NUL-terminated in buf. */
static void csv_rows(const char *csv, void (*row)(void *, char **, int),
                     void *ctx)
{
	size_t len = strlen(csv);
	char *buf = malloc(len + 1);
	if (!buf)
		return;
	char *cells[64];
	int n = 0;
	size_t o = 0;
	const char *p = csv;
	while (*p) {
		char *cell = buf + o;
		if (*p == '"') {
			p++;
			while (*p) {
				if (*p == '"' && p[1] == '"') {
					buf[o++] = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					buf[o++] = *p++;
				}
			}
		}
		while (*p && *p != ',' && *p != '\n' && *p != '\r')
			buf[o++] = *p++;
		buf[o++] = '\0';
		if (n < 64)
			cells[n++] = cell;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '\r')
			p++;
		if (*p == '\n')
			p++;
		row(ctx, cells, n);
		n = 0;
	}
	free(buf);
}

struct gb_ctx {
	struct table *t;
	int ncols;
};

static void gb_row(void *ctx, char **cells, int n)
{
	struct gb_ctx *g = ctx;
	if (!g->t) {
		g->ncols = n;
		g->t = table_new_v(n, (const char *const *)cells);
		return;
	}
	const char *row[64];
	for (int i = 0; i < g->ncols; i++)
		row[i] = i < n ? cells[i] : "";
	table_row_v(g->t, row);
}

static int cmd_gradebook(struct cli *cli, const struct args *a)
{
	Lms__Rpc__GradebookRequest g = LMS__RPC__GRADEBOOK_REQUEST__INIT;
	g.course = a->pos[0];
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, gradebook, GRADEBOOK, &g);
	Lms__Rpc__Response *r;
	int rc = cli_call(cli, &req, CALL_READ, RESULT(GRADEBOOK), &r, NULL);
	if (rc)
		return rc;
	const Lms__Rpc__GradebookResponse *gb = r->gradebook;
	if (cli->json) {
		json_t *j = pb_json(&gb->base);
		json_object_set_new(j, "course", json_string(a->pos[0]));
		out_json(j);
	} else if (arg_has(a, "csv")) {
		size_t n = strlen(gb->csv);
		fputs(gb->csv, stdout);
		if (n && gb->csv[n - 1] != '\n')
			putchar('\n');
	} else {
		struct gb_ctx ctx = {NULL, 0};
		csv_rows(gb->csv, gb_row, &ctx);
		if (!cli->quiet)
			printf("Gradebook of %s: %u student%s, %u assignment%s "
			       "(final scores)\n\n", a->pos[0], gb->students,
			       gb->students == 1 ? "" : "s", gb->assignments,
			       gb->assignments == 1 ? "" : "s");
		if (ctx.t) {
			for (int i = 0; i < ctx.ncols; i++)
				table_max(ctx.t, i, 24);
			table_print(ctx.t, stdout, true);
		}
	}
	lmsc_response_free(r);
	return 0;
}

/* ------------------------------------------------------------ table */

static const struct opt_spec create_opts[] = {
	{"title", 0, OPT_VALUE, "S", "the title (required)"},
	{"due", 0, OPT_VALUE, "TIME", "due time (required)"},
	{"opens", 0, OPT_VALUE, "TIME", "opening time (default: now)"},
	{"cutoff", 0, OPT_VALUE, "TIME",
	 "no submissions after this (default: none)"},
	{"description", 0, OPT_VALUE, "S", "what to do"},
	{"attach", 0, OPT_VALUE, "FILE", "a file for the students"},
	{"points", 0, OPT_VALUE, "N", "maximum points (default 100)"},
	{"late-penalty", 0, OPT_VALUE, "PCT", "percent off per day late"},
	{"penalty-floor", 0, OPT_VALUE, "PCT",
	 "a late score keeps at least PCT percent"},
	{"attempts", 0, OPT_VALUE, "N", "attempts allowed (0 = unlimited)"},
	{"topic", 0, OPT_LIST, "T", "a topic"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec list_opts[] = {
	LIST_OPTS,
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec get_opts[] = {
	{"output", 'o', OPT_VALUE, "FILE",
	 "save the file here (\"-\": standard output)"},
	{"force", 0, OPT_FLAG, NULL, "replace an existing file"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec extend_opts[] = {
	{"due", 0, OPT_VALUE, "TIME", "the student's due time (required)"},
	{"cutoff", 0, OPT_VALUE, "TIME", "the student's cut-off"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec submit_opts[] = {
	{"text", 0, OPT_VALUE, "S", "the answer as text"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec sublist_opts[] = {
	{"student", 0, OPT_VALUE, "USER", "only this student's attempts"},
	LIST_OPTS,
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec grade_opts[] = {
	{"feedback", 0, OPT_VALUE, "S", "comments for the student"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec grades_opts[] = {
	{"student", 0, OPT_VALUE, "USER", "a student's grades (staff)"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec gradebook_opts[] = {
	{"csv", 0, OPT_FLAG, NULL, "print the CSV as the cluster made it"},
	{NULL, 0, 0, NULL, NULL},
};

#define TIME_HELP                                                            \
	"TIME: \"YYYY-MM-DD HH:MM\" in local time, or ISO-8601 with a zone "  \
	"(2026-11-23T10:00:00Z).\n"

const struct command cmds_work[] = {
	{"assignment create", "CODE", 1, 1, create_opts,
	 "create an assignment (the course's instructors)",
	 TIME_HELP "A submission after the due time is late: it keeps "
	 "max(floor, 100 - penalty x days)\npercent of its score.\n",
	 cmd_assignment_create},
	{"assignment list", "CODE", 1, 1, list_opts,
	 "the assignments of a course", "Students see their own due time "
	 "(extensions) and attempts used.\n", cmd_assignment_list},
	{"assignment show", "ID", 1, 1, get_opts,
	 "one assignment; -o FILE saves its attachment", NULL,
	 cmd_assignment_show},
	{"assignment extend", "ID USER", 2, 2, extend_opts,
	 "give a student a later due time (instructors)", TIME_HELP,
	 cmd_assignment_extend},
	{"submit", "ID [FILE]", 1, 2, submit_opts,
	 "submit a file and/or text to assignment ID",
	 "Give FILE, --text S, or both. The cluster stamps the time; after "
	 "the due time the\nsubmission is late, after the cut-off it is "
	 "refused.\n",
	 cmd_submit},
	{"submission list", "ID", 1, 1, sublist_opts,
	 "submissions to assignment ID (a student: their own)", NULL,
	 cmd_submission_list},
	{"submission get", "ID", 1, 1, get_opts,
	 "one submission, its grade, and its file saved",
	 "The file goes to -o FILE, or to its own name in the current "
	 "directory;\nan existing file is replaced only with --force.\n",
	 cmd_submission_get},
	{"grade", "SUBMISSION SCORE", 2, 2, grade_opts,
	 "grade the latest attempt (instructors, TAs)",
	 "Regrading replaces the grade. The late penalty is applied by the "
	 "cluster.\n",
	 cmd_grade},
	{"grades", "[CODE]", 0, 1, grades_opts,
	 "your grades (in one course, or all)", NULL, cmd_grades},
	{"gradebook", "CODE", 1, 1, gradebook_opts,
	 "every student's final scores in a course (staff)", NULL,
	 cmd_gradebook},
	{NULL, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

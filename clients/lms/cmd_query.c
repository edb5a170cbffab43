/*
 * cmd_query.c -- questions: to the AI tutor or to the instructors.
 *
 *   ask CODE "question" [--wait S]      the tutor, waiting for its answer
 *   query post CODE "question" [--to tutor|instructor]
 *   query list [CODE] [--open] [--to T] query show ID
 *   query answer ID "answer"
 *
 * `lms ask` prints the tutor's answer as the model produces it: tutord
 * serves the answer it is generating on its status port, and the claim
 * stored with the question names that stream (tutord/live.h, stream.c).
 * Without an answer in time the question stays posted and `ask` exits 0,
 * pointing at `lms query show ID`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lms.h"
#include "util.h"

#define ASK_WAIT_DEFAULT_S 120
#define ASK_POLL_MS 300
#define ASK_NOTICE_MS 3000
#define CURL_ERR_MAX 512
#define ASK_EXCERPTS 3
#define ASK_EXCERPT_CHARS 300

static const char *target_name(int to)
{
	return enum_name(&lms__rpc__query_target__descriptor, to);
}

static const char *qstatus_name(int st)
{
	return enum_name(&lms__rpc__query_status__descriptor, st);
}

static int parse_target(const char *s, Lms__Rpc__QueryTarget *to)
{
	if (strcmp(s, "tutor") == 0)
		*to = LMS__RPC__QUERY_TARGET__TO_TUTOR;
	else if (strcmp(s, "instructor") == 0 || strcmp(s, "instructors") == 0)
		*to = LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR;
	else
		return -1;
	return 0;
}

static void print_text(const char *indent, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		printf("%s%.*s\n", indent, len, p);
		p += len;
		if (*p == '\n')
			p++;
	}
}

static void print_sources(const Lms__Rpc__Answer *an)
{
	if (an->n_sources)
		printf("\nSources:\n");
	for (size_t k = 0; k < an->n_sources; k++) {
		const Lms__Rpc__Source *s = an->sources[k];
		printf("  [%s] %s (material %llu%s)\n",
		       *s->label ? s->label : fmt("%zu", k + 1), s->title,
		       (unsigned long long)s->material_id,
		       s->page ? fmt(", page %u", s->page) : "");
	}
}

static void print_answers(const Lms__Rpc__Query *q)
{
	for (size_t i = 0; i < q->n_answers; i++) {
		const Lms__Rpc__Answer *an = q->answers[i];
		char tm[LMS_TIME_MAX];
		printf("\nAnswer by %s%s, %s:\n", an->author,
		       an->by_tutor ? " (AI tutor)" : "",
		       fmt_time(an->answered_at, tm, sizeof tm));
		print_text("  ", an->body);
		print_sources(an);
	}
}

static void print_query(const Lms__Rpc__Query *q)
{
	char tm[LMS_TIME_MAX];
	printf("Question %llu in %s by %s, to the %s, %s (%s)\n",
	       (unsigned long long)q->id, q->course, q->student,
	       q->to == LMS__RPC__QUERY_TARGET__TO_TUTOR ? "tutor"
	                                                 : "instructors",
	       fmt_time(q->asked_at, tm, sizeof tm), qstatus_name(q->status));
	print_text("  ", q->body);
	if (q->n_answers == 0)
		printf("\nNo answer yet.\n");
	else
		print_answers(q);
}

static Lms__Rpc__Response *query_post(struct cli *cli, const char *course,
                                      const char *body,
                                      Lms__Rpc__QueryTarget to, int *rc)
{
	Lms__Rpc__QueryPostRequest qp = LMS__RPC__QUERY_POST_REQUEST__INIT;
	qp.course = (char *)course;
	qp.body = (char *)body;
	qp.to = to;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, query_post, QUERY_POST, &qp);
	Lms__Rpc__Response *r;
	*rc = cli_call(cli, &req, CALL_WRITE, RESULT(QUERY_POST), &r, NULL);
	return *rc ? NULL : r;
}

static Lms__Rpc__Response *query_get(struct cli *cli, uint64_t id, int *rc)
{
	Lms__Rpc__QueryGetRequest g = LMS__RPC__QUERY_GET_REQUEST__INIT;
	g.id = id;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, query_get, QUERY_GET, &g);
	Lms__Rpc__Response *r;
	*rc = cli_call(cli, &req, CALL_READ, RESULT(QUERY_GET), &r, NULL);
	return *rc ? NULL : r;
}

/* ------------------------------------------------------------ ask */

/* The course-material excerpts that match the question (what the tutor
 * reads too); NULL when the search failed (best effort: it does not fail
 * the question). */
static Lms__Rpc__Response *ask_excerpts(struct cli *cli, const char *course,
                                        const char *question)
{
	Lms__Rpc__MaterialSearchRequest ms =
		LMS__RPC__MATERIAL_SEARCH_REQUEST__INIT;
	ms.course = (char *)course;
	ms.query = (char *)question;
	ms.limit = ASK_EXCERPTS;
	ms.max_chars = ASK_EXCERPTS * ASK_EXCERPT_CHARS;
	Lms__Rpc__Request sq = LMS__RPC__REQUEST__INIT;
	SET_OP(&sq, material_search, MATERIAL_SEARCH, &ms);
	Lms__Rpc__Response *sr = NULL;
	cli->mute = true;
	int rc = cli_call(cli, &sq, CALL_READ, RESULT(MATERIAL_SEARCH), &sr,
	                  NULL);
	cli->mute = false;
	return rc == 0 ? sr : NULL;
}

static void print_excerpts(const Lms__Rpc__Response *sr)
{
	const Lms__Rpc__MaterialSearchResponse *s =
		sr ? sr->material_search : NULL;
	if (!s || !s->n_chunks) {
		printf("No course material matches the question.\n");
		return;
	}
	printf("Meanwhile, from the course materials:\n");
	for (size_t i = 0; i < s->n_chunks; i++) {
		const Lms__Rpc__MaterialChunk *c = s->chunks[i];
		printf("  [%zu] %s%s\n", i + 1, c->title,
		       c->page ? fmt(", page %u", c->page) : "");
		char ex[4 * ASK_EXCERPT_CHARS];
		printf("      %s\n", fmt_excerpt(c->text, ASK_EXCERPT_CHARS, ex,
		                                 sizeof ex));
	}
	fflush(stdout);
}

/* The excerpts shown at most once while waiting for the tutor. */
struct ask_excerpts {
	struct cli *cli;
	const char *course, *question;
	Lms__Rpc__Response *found; /* NULL until fetched (or failed) */
	bool fetched, shown;
};

static void excerpts_fetch(struct ask_excerpts *e)
{
	if (!e->fetched)
		e->found = ask_excerpts(e->cli, e->course, e->question);
	e->fetched = true;
}

static void excerpts_show(void *arg)
{
	struct ask_excerpts *e = arg;
	if (e->shown)
		return;
	excerpts_fetch(e);
	putchar('\n');
	print_excerpts(e->found);
	e->shown = true;
}

static void ask_wait_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/*
 * lms ask: post the question to the tutor, then until it is answered or
 * --wait runs out: poll the question; once a tutor claims it, follow the
 * answer stream named in the claim and print the text as it comes (the
 * stream ends when the answer is stored, or when that tutor gives the
 * question up: then poll again). When no tutor has started within
 * ASK_NOTICE_MS, or the tutor reports its model down, say so and show the
 * matching material excerpts. At the end the stored answer is what
 * counts: its sources are printed, and the whole answer again if the
 * stream showed something else.
 */
static int cmd_ask(struct cli *cli, const struct args *a)
{
	uint64_t wait_s = ASK_WAIT_DEFAULT_S;
	const char *ws = arg_get(a, "wait");
	if (ws && lms_parse_u64(ws, 0, 3600, &wait_s) != 0)
		return cli_usage(cli, "ask", "--wait must be 0..3600 seconds");
	int rc;
	Lms__Rpc__Response *pr = query_post(cli, a->pos[0], a->pos[1],
	                                    LMS__RPC__QUERY_TARGET__TO_TUTOR,
	                                    &rc);
	if (!pr)
		return rc;
	uint64_t id = pr->query_post->query ? pr->query_post->query->id : 0;
	lmsc_response_free(pr);
	bool people = !cli->json && !cli->quiet;
	if (people) {
		printf("Asked the tutor (question %llu).\n",
		       (unsigned long long)id);
		fflush(stdout);
	}
	struct ask_stream st;
	if (ask_stream_init(&st, people) != 0)
		return cli_error(cli, EXIT_FAIL, "internal", "out of memory");

	struct ask_excerpts ex = {.cli = cli, .course = a->pos[0],
	                          .question = a->pos[1]};
	st.on_waiting = excerpts_show;
	st.arg = &ex;
	bool notice_shown = false;
	uint64_t start = lms_now_ms(); /* of the wait the notice is about */
	uint64_t deadline = start + wait_s * 1000;
	char tried[256] = ""; /* the last stream followed */
	Lms__Rpc__Response *qr = NULL;
	bool answered = false;
	for (;;) {
		lmsc_response_free(qr);
		qr = query_get(cli, id, &rc);
		if (!qr)
			goto out;
		const Lms__Rpc__Query *q = qr->query_get->query;
		answered = q && q->status == LMS__RPC__QUERY_STATUS__QUERY_ANSWERED;
		uint64_t now = lms_now_ms();
		if (answered)
			break;
		if (people && !notice_shown &&
		    (now - start >= ASK_NOTICE_MS || now >= deadline)) {
			notice_shown = true;
			printf("\nWaiting for the tutor: no tutor has started on "
			       "the question yet (it may be busy, or its model "
			       "server down). The question stays posted.\n");
			excerpts_show(&ex);
		}
		if (now >= deadline)
			break;
		const char *url = q && q->status ==
		                  LMS__RPC__QUERY_STATUS__QUERY_CLAIMED
		                  ? ask_stream_url(q->claimed_by) : NULL;
		if (people && url && strcmp(url, tried) != 0) {
			snprintf(tried, sizeof tried, "%s", url);
			char err[CURL_ERR_MAX];
			if (ask_stream_follow(&st, url, deadline, err,
			                      sizeof err) != 0)
				printf("\n(%s; waiting for the stored "
				       "answer)\n", err);
			else if (!st.stored && *st.reason)
				printf("\n(%s)\n", st.reason);
			fflush(stdout);
			/* given back: the notice again if no tutor takes it */
			notice_shown = st.stored;
			start = lms_now_ms();
			continue;
		}
		ask_wait_ms(ASK_POLL_MS);
	}
	const Lms__Rpc__Query *q = qr->query_get->query;
	const Lms__Rpc__Answer *an =
		answered && q && q->n_answers ? q->answers[q->n_answers - 1]
		                              : NULL;
	if (cli->json) {
		excerpts_fetch(&ex);
		const Lms__Rpc__Response *sr = ex.found;
		json_t *xs = json_array();
		for (size_t i = 0; sr && i < sr->material_search->n_chunks; i++)
			json_array_append_new(
				xs, pb_json(&sr->material_search->chunks[i]->base));
		json_t *j = json_object();
		json_object_set_new(j, "query", pb_json(q ? &q->base : NULL));
		json_object_set_new(j, "answered", json_boolean(answered));
		json_object_set_new(j, "excerpts", xs);
		out_json(j);
	} else if (cli->quiet) {
		if (an)
			printf("%s\n", an->body);
		else
			printf("%llu\n", (unsigned long long)id);
	} else if (an && st.shown_any && strcmp(st.text, an->body) == 0) {
		/* the stream showed exactly the stored answer */
		if (!st.at_line_start)
			putchar('\n');
		print_sources(an);
	} else if (an) {
		if (st.shown_any)
			printf("\n\nThe answer as stored:\n");
		print_answers(q);
	} else {
		printf("\nNo answer yet; the question stays posted. See it "
		       "later with \"lms query show %llu\".\n",
		       (unsigned long long)id);
	}
	rc = 0;
out:
	lmsc_response_free(ex.found);
	lmsc_response_free(qr);
	ask_stream_free(&st);
	return rc;
}

/* ------------------------------------------------------------ query */

static int cmd_query_post(struct cli *cli, const struct args *a)
{
	Lms__Rpc__QueryTarget to = LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR;
	const char *ts = arg_get(a, "to");
	if (ts && parse_target(ts, &to) != 0)
		return cli_usage(cli, "query post", "--to must be tutor or "
		                 "instructor");
	int rc;
	Lms__Rpc__Response *r = query_post(cli, a->pos[0], a->pos[1], to, &rc);
	if (!r)
		return rc;
	const Lms__Rpc__Query *q = r->query_post->query;
	if (cli->json)
		out_json(pb_json(&r->query_post->base));
	else if (cli->quiet)
		printf("%llu\n", q ? (unsigned long long)q->id : 0ULL);
	else if (q)
		printf("Posted question %llu to the %s of %s.\n",
		       (unsigned long long)q->id,
		       q->to == LMS__RPC__QUERY_TARGET__TO_TUTOR ? "tutor"
		                                                 : "instructors",
		       q->course);
	lmsc_response_free(r);
	return 0;
}

static int cmd_query_list(struct cli *cli, const struct args *a)
{
	int rc = 0;
	long limit = arg_limit(cli, a, "query list", &rc);
	if (limit < 0)
		return rc;
	Lms__Rpc__QueryTarget to = LMS__RPC__QUERY_TARGET__TO_UNSPECIFIED;
	const char *ts = arg_get(a, "to");
	if (ts && parse_target(ts, &to) != 0)
		return cli_usage(cli, "query list", "--to must be tutor or "
		                 "instructor");
	json_t *arr = json_array();
	struct table *t = table_new(8, "ID", "COURSE", "STUDENT", "TO",
	                            "STATUS", "ASKED", "ANSWERS", "QUESTION");
	struct pager pg;
	pager_init(&pg, limit);
	Lms__Rpc__Page *page;
	while ((page = pager_next(&pg))) {
		Lms__Rpc__QueryListRequest ql = LMS__RPC__QUERY_LIST_REQUEST__INIT;
		ql.course = a->npos ? a->pos[0] : "";
		ql.open_only = arg_has(a, "open");
		ql.to = to;
		ql.page = page;
		Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
		SET_OP(&req, query_list, QUERY_LIST, &ql);
		Lms__Rpc__Response *r;
		rc = cli_call(cli, &req, CALL_READ, RESULT(QUERY_LIST), &r, NULL);
		if (rc)
			break;
		const Lms__Rpc__QueryListResponse *l = r->query_list;
		size_t k = pager_took(&pg, l->n_queries, l->next);
		for (size_t i = 0; i < k; i++) {
			const Lms__Rpc__Query *q = l->queries[i];
			char tm[LMS_TIME_MAX];
			json_array_append_new(arr, pb_json(&q->base));
			table_row(t, fmt("%llu", (unsigned long long)q->id),
			          q->course, q->student, target_name(q->to),
			          qstatus_name(q->status),
			          fmt_time(q->asked_at, tm, sizeof tm),
			          fmt("%zu", q->n_answers), q->body);
		}
		lmsc_response_free(r);
	}
	pager_free(&pg);
	if (rc == 0) {
		if (cli->json) {
			out_json(json_pack("{s:O}", "queries", arr));
		} else if (table_rows(t) == 0 && !cli->quiet) {
			printf("No questions.\n");
		} else {
			table_right(t, 0);
			table_right(t, 6);
			table_max(t, 7, 50);
			table_print(t, stdout, !cli->quiet);
			t = NULL;
		}
	}
	table_free(t);
	json_decref(arr);
	return rc;
}

static int cmd_query_show(struct cli *cli, const struct args *a)
{
	uint64_t id;
	if (parse_id(a->pos[0], &id) != 0)
		return cli_usage(cli, "query show", "ID must be a positive "
		                 "number");
	int rc;
	Lms__Rpc__Response *r = query_get(cli, id, &rc);
	if (!r)
		return rc;
	const Lms__Rpc__Query *q = r->query_get->query;
	if (cli->json)
		out_json(pb_json(&r->query_get->base));
	else if (q)
		print_query(q);
	lmsc_response_free(r);
	return 0;
}

static int cmd_query_answer(struct cli *cli, const struct args *a)
{
	uint64_t id;
	if (parse_id(a->pos[0], &id) != 0)
		return cli_usage(cli, "query answer", "ID must be a positive "
		                 "number");
	Lms__Rpc__QueryAnswerRequest qa = LMS__RPC__QUERY_ANSWER_REQUEST__INIT;
	qa.id = id;
	qa.body = a->pos[1];
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, query_answer, QUERY_ANSWER, &qa);
	Lms__Rpc__Response *r;
	int rc = cli_call(cli, &req, CALL_WRITE, RESULT(QUERY_ANSWER), &r,
	                  NULL);
	if (rc)
		return rc;
	const Lms__Rpc__Query *q = r->query_answer->query;
	if (cli->json)
		out_json(pb_json(&r->query_answer->base));
	else if (!cli->quiet && q)
		printf("Answered question %llu of %s (%s).\n",
		       (unsigned long long)q->id, q->student, q->course);
	lmsc_response_free(r);
	return 0;
}

static const struct opt_spec ask_opts[] = {
	{"wait", 0, OPT_VALUE, "S",
	 "wait at most S seconds for the answer (default 120, 0: do not "
	 "wait)"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec post_opts[] = {
	{"to", 0, OPT_VALUE, "WHO", "tutor or instructor (default)"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec list_opts[] = {
	{"open", 0, OPT_FLAG, NULL, "only questions without an answer"},
	{"to", 0, OPT_VALUE, "WHO", "only those to the tutor / instructor"},
	LIST_OPTS,
	{NULL, 0, 0, NULL, NULL},
};

const struct command cmds_query[] = {
	{"ask", "CODE QUESTION", 2, 2, ask_opts,
	 "ask the AI tutor and wait for its answer",
	 "The answer appears as the tutor's model writes it, then its "
	 "sources. When no\ntutor has started within a few seconds, or its "
	 "model server is down, lms says\nso and shows the matching "
	 "course-material excerpts meanwhile. Without an\nanswer in time the "
	 "question stays posted: lms query show ID shows it later.\nWith "
	 "--json or -q nothing is streamed: the result comes at the end.\n",
	 cmd_ask},
	{"query post", "CODE QUESTION", 2, 2, post_opts,
	 "ask a question in a course", NULL, cmd_query_post},
	{"query list", "[CODE]", 0, 1, list_opts,
	 "questions you may see (a student: their own)", NULL,
	 cmd_query_list},
	{"query show", "ID", 1, 1, NULL, "a question with its answers", NULL,
	 cmd_query_show},
	{"query answer", "ID ANSWER", 2, 2, NULL,
	 "answer a question (instructors, TAs)", NULL, cmd_query_answer},
	{NULL, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

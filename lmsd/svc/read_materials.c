/*
 * read_materials.c -- material_list, material_get (an admin or anyone
 * enrolled in the course; a material id the caller may not see is
 * NOT_FOUND) and material_search, the tutor's retrieval.
 *
 * material_search: full-text search over the chunks of the course's
 * materials, for anyone enrolled in the course, an admin, and the tutor
 * service account (global role tutor) in any course:
 *   - the query is parsed by websearch_to_tsquery('english', ...) (quoted
 *     phrases, "or", -word) and matched against lms.material_chunk.tsv.
 *     websearch_to_tsquery ANDs the words, so a question in plain English
 *     ("how does quicksort choose a pivot?") rarely matches a chunk as a
 *     whole (the chunk says "picks a pivot"). So chunks that match the
 *     strict query come first, and then chunks that match any of its
 *     words (the same text with its words joined by "or", negated -words
 *     left out): a strict match always ranks above a partial one. Within
 *     each group the order is ts_rank_cd (against the query the chunk
 *     matched), then material id and chunk number, so it is stable;
 *   - limit: 0 -> 5, at most 20 chunks;
 *   - max_chars: 0 -> 6000, a budget on the total text in characters
 *     (UTF-8 code points): chunks are taken best first while the next one
 *     still fits; the first one that does not fit ends the list (lower
 *     ranked chunks are never taken in its place, the tutor gets the best
 *     ones in order). Only when the best chunk alone is over the budget is
 *     it cut to max_chars characters, so a small budget still gets text;
 *   - each chunk carries its material's title and topic (lms.material:
 *     the topic as uploaded, "" when none was given), which the tutor can
 *     set beside the student's per-topic progress (read_progress.c);
 *   - an empty query, or one of stop words only, finds nothing: an empty
 *     answer, not an error (PostgreSQL raises a NOTICE for such a query,
 *     which the node's connections do not show: raft/pg/pg_open.c sets
 *     client_min_messages = warning).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "read_util.h"
#include "util.h"

#define SEARCH_LIMIT_DEFAULT 5
#define SEARCH_LIMIT_MAX 20
#define SEARCH_CHARS_DEFAULT 6000

int read_material_list(struct svc_ctx *x,
                       const Lms__Rpc__MaterialListRequest *q)
{
	int64_t course_id;
	int rv = svc_need_course_member(x, q->course, &course_id, NULL);
	if (rv <= 0)
		return rv;
	int64_t after;
	if (!rdu_after_id(x, q->page, &after))
		return 0;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	svc_p_i64(&p, after);
	struct rdu_page pg;
	if (rdu_page(x,
	             "SELECT id FROM lms.material "
	             "WHERE course_id = $1 AND id > $2 ORDER BY id LIMIT $3",
	             &p, svc_page_limit(x, q->page), 0, &pg) < 0)
		return -1;

	Lms__Rpc__MaterialListResponse *out = malloc(sizeof *out);
	if (!out) {
		rdu_page_done(&pg);
		rdu_free_str(pg.next);
		return rdu_oom(x);
	}
	lms__rpc__material_list_response__init(out);
	out->next = pg.next;
	bool oom = false;
	out->materials = rdu_array((size_t)pg.n, &oom);
	for (int r = 0; r < pg.n && !oom; r++) {
		rv = svc_load_material(x, svc_i64(pg.res, r, 0), false,
		                       &out->materials[out->n_materials]);
		if (rv < 0) {
			rdu_page_done(&pg);
			return rdu_fail(x, &out->base, false);
		}
		if (rv == 1)
			out->n_materials++;
	}
	rdu_page_done(&pg);
	if (oom)
		return rdu_fail(x, &out->base, true);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_MATERIAL_LIST;
	x->resp->material_list = out;
	return 0;
}

int read_material_get(struct svc_ctx *x, const Lms__Rpc__MaterialGetRequest *q)
{
	bool visible = false;
	if (q->id > 0 && q->id <= (uint64_t)INT64_MAX) {
		struct svc_params p;
		svc_params_init(&p);
		svc_p_i64(&p, (int64_t)q->id);
		svc_p_i64(&p, x->actor->id);
		PGresult *res = svc_query(x,
			"SELECT e.role IS NOT NULL FROM lms.material m "
			"LEFT JOIN lms.enrollment e ON e.course_id = m.course_id "
			"  AND e.user_id = $2 "
			"WHERE m.id = $1", &p);
		if (!res)
			return -1;
		visible = PQntuples(res) == 1 &&
		          (svc_bool(res, 0, 0) || rdu_is_admin(x));
		PQclear(res);
	}
	if (!visible)
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                  "no material %llu", (unsigned long long)q->id);

	Lms__Rpc__MaterialGetResponse *out = malloc(sizeof *out);
	if (!out)
		return rdu_oom(x);
	lms__rpc__material_get_response__init(out);
	int rv = svc_load_material(x, (int64_t)q->id, q->with_file,
	                           &out->material);
	if (rv <= 0) {
		rdu_fail(x, &out->base, false);
		return rv < 0 ? -1
		              : svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                           "no material %llu",
		                           (unsigned long long)q->id);
	}
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_MATERIAL_GET;
	x->resp->material_get = out;
	return 0;
}

/* ------------------------------------------------------------- search */

/* Characters (code points) of UTF-8 text s. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Cuts UTF-8 text s (in place) after its first max characters. */
static void utf8_cut(char *s, size_t max)
{
	size_t n = 0;
	for (char *p = s; *p; p++) {
		if (((unsigned char)*p & 0xC0) != 0x80 && n++ == max) {
			*p = '\0';
			return;
		}
	}
}

/*
 * The words of search text s joined by " or ", for websearch_to_tsquery:
 * a match of any of them. Words negated with a leading '-' are left out;
 * ASCII punctuation separates words (so no quote or '-' operator remains);
 * a word "or" (the operator) is dropped. malloc'd, NULL when out of
 * memory.
 */
static char *loose_query(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(5 * len + 1), *o = out;
	if (!out)
		return NULL;
	while (*s) {
		while (*s && strchr(" \t\r\n\f\v", *s))
			s++;
		const char *tok = s;
		while (*s && !strchr(" \t\r\n\f\v", *s))
			s++;
		if (s == tok || *tok == '-')
			continue;
		/* the token's words: runs of ASCII alphanumerics and non-ASCII
		 * bytes (UTF-8 letters) */
		for (const char *w = tok; w < s;) {
			while (w < s && (unsigned char)*w < 0x80 &&
			       !isalnum((unsigned char)*w))
				w++;
			const char *start = w;
			while (w < s && ((unsigned char)*w >= 0x80 ||
			                 isalnum((unsigned char)*w)))
				w++;
			size_t n = (size_t)(w - start);
			if (n == 0 || (n == 2 && strncasecmp(start, "or", 2) == 0))
				continue;
			if (o > out) {
				memcpy(o, " or ", 4);
				o += 4;
			}
			memcpy(o, start, n);
			o += n;
		}
	}
	*o = '\0';
	return out;
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (!strchr(" \t\r\n\f\v", *s))
			return false;
	return true;
}

int read_material_search(struct svc_ctx *x,
                         const Lms__Rpc__MaterialSearchRequest *q)
{
	int64_t course_id;
	int rv = svc_course_id(x, q->course, &course_id);
	if (rv <= 0)
		return rv < 0 ? -1
		              : svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                           "no course \"%s\"", q->course);
	if (!rdu_is_tutor(x)) {
		rv = svc_need_member_of(x, course_id, NULL);
		if (rv <= 0)
			return rv;
	}
	size_t qlen = strlen(q->query);
	if (!lms_utf8_valid(q->query, qlen) ||
	    (x->limits && x->limits->max_text_bytes &&
	     qlen > x->limits->max_text_bytes))
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the search text is too long or not valid "
		                  "UTF-8");
	unsigned limit = q->limit == 0 ? SEARCH_LIMIT_DEFAULT
	                 : q->limit > SEARCH_LIMIT_MAX ? SEARCH_LIMIT_MAX
	                                               : q->limit;
	size_t budget = q->max_chars ? q->max_chars : SEARCH_CHARS_DEFAULT;

	Lms__Rpc__MaterialSearchResponse *out = malloc(sizeof *out);
	if (!out)
		return rdu_oom(x);
	lms__rpc__material_search_response__init(out);
	if (blank(q->query)) {
		x->resp->result_case =
			LMS__RPC__RESPONSE__RESULT_MATERIAL_SEARCH;
		x->resp->material_search = out;
		return 0;
	}

	char *loose = loose_query(q->query);
	if (!loose)
		return rdu_fail(x, &out->base, true);
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	svc_p_text(&p, q->query);
	svc_p_i64(&p, limit);
	svc_p_text(&p, loose);
	PGresult *res = svc_query(x,
		"WITH q AS (SELECT websearch_to_tsquery('english', $2) AS s, "
		"    websearch_to_tsquery('english', $4) AS l), "
		"hit AS ( "
		"  SELECT c.material_id, c.chunk_no, c.page, m.title, c.body, "
		"    m.topic, numnode(q.s) > 0 AND c.tsv @@ q.s AS strict, "
		"    c.tsv, q.s, q.l "
		"  FROM q, lms.material_chunk c "
		"  JOIN lms.material m ON m.id = c.material_id "
		"  WHERE m.course_id = $1 "
		"    AND ((numnode(q.s) > 0 AND c.tsv @@ q.s) "
		"      OR (numnode(q.l) > 0 AND c.tsv @@ q.l))) "
		"SELECT material_id, chunk_no, page, title, body, "
		"  ts_rank_cd(tsv, CASE WHEN strict THEN s ELSE l END) "
		"    AS rank, topic "
		"FROM hit "
		"ORDER BY strict DESC, rank DESC, material_id, chunk_no "
		"LIMIT $3", &p);
	free(loose);
	if (!res)
		return rdu_fail(x, &out->base, false);
	int n = PQntuples(res);
	bool oom = false;
	out->chunks = rdu_array((size_t)n, &oom);
	size_t used = 0;
	for (int r = 0; r < n && !oom; r++) {
		const char *body = PQgetvalue(res, r, 4);
		size_t chars = utf8_chars(body);
		if (r > 0 && used + chars > budget)
			break;
		Lms__Rpc__MaterialChunk *c = malloc(sizeof *c);
		if (!c) {
			oom = true;
			break;
		}
		lms__rpc__material_chunk__init(c);
		out->chunks[out->n_chunks++] = c;
		c->material_id = (uint64_t)svc_i64(res, r, 0);
		c->chunk = (uint32_t)svc_i64(res, r, 1);
		c->page = (uint32_t)svc_i64(res, r, 2);
		c->title = rdu_dup(PQgetvalue(res, r, 3), &oom);
		c->text = rdu_dup(body, &oom);
		c->rank = svc_f64(res, r, 5);
		c->topic = rdu_dup(PQgetvalue(res, r, 6), &oom);
		if (chars > budget) { /* the best chunk alone is over */
			if (c->text != protobuf_c_empty_string)
				utf8_cut(c->text, budget);
			chars = budget;
		}
		used += chars;
	}
	PQclear(res);
	if (oom)
		return rdu_fail(x, &out->base, true);
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_MATERIAL_SEARCH;
	x->resp->material_search = out;
	return 0;
}

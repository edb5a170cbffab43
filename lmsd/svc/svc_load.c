/*
 * svc_load.c -- the loaders of svc.h: one LMS object from the tables into
 * a new protobuf message, for the apply side (to answer with what it
 * created or changed) and the read side.
 *
 * Conventions, the same in every loader:
 *   - times are read as lms.iso(col), the canonical wire text, so the
 *     answer does not depend on the session's time zone or DateStyle;
 *   - scores and points come from numeric(.., 2) columns as text ("87.55")
 *     and become doubles with strtod: at most two decimals, the same
 *     digits on every node;
 *   - every string hung on a message is malloc'd (protobuf-c frees the
 *     whole tree with protobuf_c_message_free_unpacked); a cell that could
 *     not be copied (out of memory) marks the load failed, the partial
 *     message is freed and -1 returned;
 *   - a file's bytes are read only when asked (with_file / with_attachment),
 *     in binary format so a large file is not doubled by hex escaping.
 * No access checks here: callers check first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"

/* ------------------------------------------------------------ helpers */

static int load_oom(struct svc_ctx *x)
{
	snprintf(x->err, sizeof x->err, "out of memory");
	return -1;
}

/* Frees a partly built message and reports the failure. */
static int load_fail(struct svc_ctx *x, ProtobufCMessage *m, bool oom)
{
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return oom ? load_oom(x) : -1;
}

/* A malloc'd copy of cell (r, c) ("" for NULL); on out of memory sets
 * *oom and returns the shared empty string (never freed by protobuf-c). */
static char *cell(const PGresult *res, int r, int c, bool *oom)
{
	if (PQgetisnull(res, r, c) || PQgetlength(res, r, c) == 0)
		return (char *)protobuf_c_empty_string;
	char *s = strdup(PQgetvalue(res, r, c));
	if (!s) {
		*oom = true;
		return (char *)protobuf_c_empty_string;
	}
	return s;
}

static uint64_t cell_u64(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? 0 : (uint64_t)svc_i64(res, r, c);
}

static double cell_f64(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? 0.0 : svc_f64(res, r, c);
}

/* Loads file id (metadata, and its bytes when with_data) into a new File.
 * 1, 0 (no such file), -1. */
static int load_file(struct svc_ctx *x, int64_t id, bool with_data,
                     Lms__Rpc__File **out)
{
	*out = NULL;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, id);
	PGresult *res = svc_query(x,
		"SELECT name, media_type, size, sha256 FROM lms.file "
		"WHERE id = $1", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	Lms__Rpc__File *f = malloc(sizeof *f);
	if (!f) {
		PQclear(res);
		return load_oom(x);
	}
	lms__rpc__file__init(f);
	bool oom = false;
	f->name = cell(res, 0, 0, &oom);
	f->media_type = cell(res, 0, 1, &oom);
	f->size = cell_u64(res, 0, 2);
	f->sha256 = cell(res, 0, 3, &oom);
	PQclear(res);
	if (oom)
		return load_fail(x, &f->base, true);
	if (!with_data) {
		*out = f;
		return 1;
	}
	/* the bytes, in binary result format */
	res = PQexecParams(x->conn, "SELECT data FROM lms.file WHERE id = $1",
	                   p.n, NULL, p.values, p.lengths, p.formats, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		svc_dberr(x, res, "could not read file");
		return load_fail(x, &f->base, false);
	}
	int len = PQgetlength(res, 0, 0);
	if (len > 0) {
		f->data.data = malloc((size_t)len);
		if (!f->data.data) {
			PQclear(res);
			return load_fail(x, &f->base, true);
		}
		memcpy(f->data.data, PQgetvalue(res, 0, 0), (size_t)len);
		f->data.len = (size_t)len;
	}
	PQclear(res);
	*out = f;
	return 1;
}

/* ------------------------------------------------------------- users */

int svc_load_user(struct svc_ctx *x, int64_t id, Lms__Rpc__User **out)
{
	*out = NULL;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, id);
	PGresult *res = svc_query(x,
		"SELECT id, username, display_name, role, lms.iso(created_at) "
		"FROM lms.app_user WHERE id = $1", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	Lms__Rpc__User *u = malloc(sizeof *u);
	if (!u) {
		PQclear(res);
		return load_oom(x);
	}
	lms__rpc__user__init(u);
	bool oom = false;
	u->id = cell_u64(res, 0, 0);
	u->username = cell(res, 0, 1, &oom);
	u->display_name = cell(res, 0, 2, &oom);
	u->role = svc_role_parse(PQgetvalue(res, 0, 3));
	u->created_at = cell(res, 0, 4, &oom);
	PQclear(res);
	if (oom)
		return load_fail(x, &u->base, true);
	*out = u;
	return 1;
}

/* ----------------------------------------------------------- courses */

int svc_load_course(struct svc_ctx *x, int64_t id, Lms__Rpc__Course **out)
{
	*out = NULL;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, id);
	if (x->actor)
		svc_p_i64(&p, x->actor->id);
	else
		svc_p_null(&p);
	PGresult *res = svc_query(x,
		"SELECT c.id, c.code, c.title, lms.iso(c.created_at), "
		"  (SELECT role FROM lms.enrollment e "
		"    WHERE e.course_id = c.id AND e.user_id = $2), "
		"  (SELECT count(*) FROM lms.enrollment e "
		"    WHERE e.course_id = c.id AND e.role = 'student'), "
		"  (SELECT count(*) FROM lms.enrollment e "
		"    WHERE e.course_id = c.id AND e.role IN ('instructor', 'ta')) "
		"FROM lms.course c WHERE c.id = $1", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	Lms__Rpc__Course *c = malloc(sizeof *c);
	if (!c) {
		PQclear(res);
		return load_oom(x);
	}
	lms__rpc__course__init(c);
	bool oom = false;
	c->id = cell_u64(res, 0, 0);
	c->code = cell(res, 0, 1, &oom);
	c->title = cell(res, 0, 2, &oom);
	c->created_at = cell(res, 0, 3, &oom);
	c->my_role = PQgetisnull(res, 0, 4)
		             ? LMS__RPC__COURSE_ROLE__COURSE_ROLE_NONE
		             : svc_course_role_parse(PQgetvalue(res, 0, 4));
	c->students = (uint32_t)cell_u64(res, 0, 5);
	c->staff = (uint32_t)cell_u64(res, 0, 6);
	PQclear(res);
	if (oom)
		return load_fail(x, &c->base, true);
	*out = c;
	return 1;
}

int svc_load_member(struct svc_ctx *x, int64_t course_id, int64_t user_id,
                    Lms__Rpc__Member **out)
{
	*out = NULL;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, course_id);
	svc_p_i64(&p, user_id);
	PGresult *res = svc_query(x,
		"SELECT role, lms.iso(enrolled_at) FROM lms.enrollment "
		"WHERE course_id = $1 AND user_id = $2", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	Lms__Rpc__Member *m = malloc(sizeof *m);
	if (!m) {
		PQclear(res);
		return load_oom(x);
	}
	lms__rpc__member__init(m);
	bool oom = false;
	m->role = svc_course_role_parse(PQgetvalue(res, 0, 0));
	m->enrolled_at = cell(res, 0, 1, &oom);
	PQclear(res);
	if (oom)
		return load_fail(x, &m->base, true);
	int rv = svc_load_user(x, user_id, &m->user);
	if (rv != 1) { /* 0 cannot happen: a foreign key */
		protobuf_c_message_free_unpacked(&m->base, NULL);
		return rv;
	}
	*out = m;
	return 1;
}

/* ------------------------------------------------------- assignments */

/* The assignment's topics, in their order. 0 or -1. */
static int load_topics(struct svc_ctx *x, int64_t id, Lms__Rpc__Assignment *a)
{
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, id);
	PGresult *res = svc_query(x,
		"SELECT t.topic FROM lms.assignment a, "
		"  unnest(a.topics) WITH ORDINALITY AS t(topic, n) "
		"WHERE a.id = $1 ORDER BY t.n", &p);
	if (!res)
		return -1;
	int n = PQntuples(res);
	if (n > 0) {
		a->topics = calloc((size_t)n, sizeof *a->topics);
		if (!a->topics) {
			PQclear(res);
			return load_oom(x);
		}
		/* elements of a repeated string are always freed: no shared
		 * empty string here */
		for (int i = 0; i < n; i++) {
			char *t = svc_text(res, i, 0);
			if (!t) {
				PQclear(res);
				return load_oom(x);
			}
			a->topics[a->n_topics++] = t;
		}
	}
	PQclear(res);
	return 0;
}

int svc_load_assignment(struct svc_ctx *x, int64_t id, bool with_attachment,
                        int64_t for_student, Lms__Rpc__Assignment **out)
{
	*out = NULL;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, id);
	svc_p_i64(&p, for_student);
	PGresult *res = svc_query(x,
		"SELECT a.id, c.code, a.title, a.description, lms.iso(a.opens_at), "
		"  lms.iso(a.due_at), lms.iso(a.cutoff_at), a.max_points, "
		"  a.late_penalty_pct, a.penalty_floor_pct, a.max_attempts, "
		"  a.attachment_id, lms.iso(a.created_at), "
		"  lms.iso(COALESCE(e.due_at, a.due_at)), "
		"  lms.iso(CASE WHEN e.assignment_id IS NULL THEN a.cutoff_at "
		"               ELSE e.cutoff_at END), "
		"  (SELECT count(*) FROM lms.submission s "
		"    WHERE s.assignment_id = a.id AND s.student_id = $2) "
		"FROM lms.assignment a JOIN lms.course c ON c.id = a.course_id "
		"LEFT JOIN lms.extension e ON e.assignment_id = a.id "
		"  AND e.user_id = $2 "
		"WHERE a.id = $1", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	Lms__Rpc__Assignment *a = malloc(sizeof *a);
	if (!a) {
		PQclear(res);
		return load_oom(x);
	}
	lms__rpc__assignment__init(a);
	bool oom = false;
	a->id = cell_u64(res, 0, 0);
	a->course = cell(res, 0, 1, &oom);
	a->title = cell(res, 0, 2, &oom);
	a->description = cell(res, 0, 3, &oom);
	a->opens_at = cell(res, 0, 4, &oom);
	a->due_at = cell(res, 0, 5, &oom);
	a->cutoff_at = cell(res, 0, 6, &oom);
	a->max_points = cell_f64(res, 0, 7);
	a->late_penalty_pct = cell_f64(res, 0, 8);
	a->penalty_floor_pct = cell_f64(res, 0, 9);
	a->max_attempts = (uint32_t)cell_u64(res, 0, 10);
	bool has_attachment = !PQgetisnull(res, 0, 11);
	int64_t attachment_id = has_attachment ? svc_i64(res, 0, 11) : 0;
	a->created_at = cell(res, 0, 12, &oom);
	if (for_student) {
		a->my_due_at = cell(res, 0, 13, &oom);
		a->my_cutoff_at = cell(res, 0, 14, &oom);
		a->my_attempts = (uint32_t)cell_u64(res, 0, 15);
	}
	PQclear(res);
	if (oom)
		return load_fail(x, &a->base, true);
	if (load_topics(x, id, a) != 0)
		return load_fail(x, &a->base, false);
	if (has_attachment &&
	    load_file(x, attachment_id, with_attachment, &a->attachment) < 0)
		return load_fail(x, &a->base, false);
	*out = a;
	return 1;
}

/* ------------------------------------------------ submissions, grades */

int svc_load_grade(struct svc_ctx *x, int64_t submission_id,
                   Lms__Rpc__Grade **out)
{
	*out = NULL;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, submission_id);
	PGresult *res = svc_query(x,
		"SELECT g.submission_id, g.raw_score, g.final_score, "
		"  g.penalty_pct, g.feedback, gr.username, lms.iso(g.graded_at), "
		"  a.max_points, a.id, a.title, c.code, st.username, s.attempt "
		"FROM lms.grade g "
		"JOIN lms.submission s ON s.id = g.submission_id "
		"JOIN lms.assignment a ON a.id = s.assignment_id "
		"JOIN lms.course c ON c.id = a.course_id "
		"JOIN lms.app_user gr ON gr.id = g.grader_id "
		"JOIN lms.app_user st ON st.id = s.student_id "
		"WHERE g.submission_id = $1", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	Lms__Rpc__Grade *g = malloc(sizeof *g);
	if (!g) {
		PQclear(res);
		return load_oom(x);
	}
	lms__rpc__grade__init(g);
	bool oom = false;
	g->submission_id = cell_u64(res, 0, 0);
	g->raw_score = cell_f64(res, 0, 1);
	g->final_score = cell_f64(res, 0, 2);
	g->penalty_pct = cell_f64(res, 0, 3);
	g->feedback = cell(res, 0, 4, &oom);
	g->grader = cell(res, 0, 5, &oom);
	g->graded_at = cell(res, 0, 6, &oom);
	g->max_points = cell_f64(res, 0, 7);
	g->assignment_id = cell_u64(res, 0, 8);
	g->assignment_title = cell(res, 0, 9, &oom);
	g->course = cell(res, 0, 10, &oom);
	g->student = cell(res, 0, 11, &oom);
	g->attempt = (uint32_t)cell_u64(res, 0, 12);
	PQclear(res);
	if (oom)
		return load_fail(x, &g->base, true);
	*out = g;
	return 1;
}

int svc_load_submission(struct svc_ctx *x, int64_t id, bool with_file,
                        Lms__Rpc__Submission **out)
{
	*out = NULL;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, id);
	PGresult *res = svc_query(x,
		"SELECT s.id, s.assignment_id, u.username, s.attempt, "
		"  lms.iso(s.submitted_at), s.body, s.file_id, s.late, "
		"  s.days_late, "
		"  s.attempt = (SELECT max(o.attempt) FROM lms.submission o "
		"    WHERE o.assignment_id = s.assignment_id "
		"      AND o.student_id = s.student_id), "
		"  EXISTS (SELECT 1 FROM lms.grade g WHERE g.submission_id = s.id) "
		"FROM lms.submission s JOIN lms.app_user u ON u.id = s.student_id "
		"WHERE s.id = $1", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	Lms__Rpc__Submission *s = malloc(sizeof *s);
	if (!s) {
		PQclear(res);
		return load_oom(x);
	}
	lms__rpc__submission__init(s);
	bool oom = false;
	s->id = cell_u64(res, 0, 0);
	s->assignment_id = cell_u64(res, 0, 1);
	s->student = cell(res, 0, 2, &oom);
	s->attempt = (uint32_t)cell_u64(res, 0, 3);
	s->submitted_at = cell(res, 0, 4, &oom);
	s->text = cell(res, 0, 5, &oom);
	bool has_file = !PQgetisnull(res, 0, 6);
	int64_t file_id = has_file ? svc_i64(res, 0, 6) : 0;
	s->late = svc_bool(res, 0, 7);
	s->days_late = (uint32_t)cell_u64(res, 0, 8);
	s->latest = svc_bool(res, 0, 9);
	bool graded = svc_bool(res, 0, 10);
	PQclear(res);
	if (oom)
		return load_fail(x, &s->base, true);
	if (has_file && load_file(x, file_id, with_file, &s->file) < 0)
		return load_fail(x, &s->base, false);
	if (graded && svc_load_grade(x, id, &s->grade) < 0)
		return load_fail(x, &s->base, false);
	*out = s;
	return 1;
}

/* --------------------------------------------------------- materials */

int svc_load_material(struct svc_ctx *x, int64_t id, bool with_file,
                      Lms__Rpc__Material **out)
{
	*out = NULL;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, id);
	PGresult *res = svc_query(x,
		"SELECT m.id, c.code, m.title, m.topic, m.kind, m.pages, "
		"  (SELECT count(*) FROM lms.material_chunk k "
		"    WHERE k.material_id = m.id), "
		"  m.warning, m.file_id, u.username, lms.iso(m.uploaded_at) "
		"FROM lms.material m JOIN lms.course c ON c.id = m.course_id "
		"JOIN lms.app_user u ON u.id = m.uploaded_by "
		"WHERE m.id = $1", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	Lms__Rpc__Material *m = malloc(sizeof *m);
	if (!m) {
		PQclear(res);
		return load_oom(x);
	}
	lms__rpc__material__init(m);
	bool oom = false;
	m->id = cell_u64(res, 0, 0);
	m->course = cell(res, 0, 1, &oom);
	m->title = cell(res, 0, 2, &oom);
	m->topic = cell(res, 0, 3, &oom);
	m->kind = cell(res, 0, 4, &oom);
	m->pages = (uint32_t)cell_u64(res, 0, 5);
	m->chunks = (uint32_t)cell_u64(res, 0, 6);
	m->warning = cell(res, 0, 7, &oom);
	int64_t file_id = svc_i64(res, 0, 8);
	m->uploaded_by = cell(res, 0, 9, &oom);
	m->uploaded_at = cell(res, 0, 10, &oom);
	PQclear(res);
	if (oom)
		return load_fail(x, &m->base, true);
	if (load_file(x, file_id, with_file, &m->file) < 0)
		return load_fail(x, &m->base, false);
	*out = m;
	return 1;
}

/* ----------------------------------------------------------- queries */

static Lms__Rpc__QueryStatus query_status(const char *s)
{
	if (strcmp(s, "open") == 0)
		return LMS__RPC__QUERY_STATUS__QUERY_OPEN;
	if (strcmp(s, "claimed") == 0)
		return LMS__RPC__QUERY_STATUS__QUERY_CLAIMED;
	if (strcmp(s, "answered") == 0)
		return LMS__RPC__QUERY_STATUS__QUERY_ANSWERED;
	return LMS__RPC__QUERY_STATUS__QUERY_STATUS_UNSPECIFIED;
}

/* The sources of every answer of q (answers already loaded, ordered by
 * id), in citation order. 0 or -1. */
static int load_sources(struct svc_ctx *x, int64_t query_id,
                        Lms__Rpc__Query *q)
{
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, query_id);
	PGresult *res = svc_query(x,
		"SELECT s.answer_id, s.label, s.material_id, s.chunk_no, s.page, "
		"  s.title "
		"FROM lms.answer_source s JOIN lms.answer a ON a.id = s.answer_id "
		"WHERE a.query_id = $1 ORDER BY s.answer_id, s.n", &p);
	if (!res)
		return -1;
	int n = PQntuples(res);
	size_t ai = 0;
	bool oom = false;
	for (int r = 0; r < n && !oom; r++) {
		uint64_t answer_id = cell_u64(res, r, 0);
		while (ai < q->n_answers && q->answers[ai]->id != answer_id)
			ai++;
		if (ai == q->n_answers)
			break; /* cannot happen: both ordered by answer id */
		Lms__Rpc__Answer *a = q->answers[ai];
		Lms__Rpc__Source **grown =
			realloc(a->sources, (a->n_sources + 1) * sizeof *grown);
		Lms__Rpc__Source *s = grown ? malloc(sizeof *s) : NULL;
		if (grown)
			a->sources = grown;
		if (!s) {
			oom = true;
			break;
		}
		lms__rpc__source__init(s);
		a->sources[a->n_sources++] = s;
		s->label = cell(res, r, 1, &oom);
		s->material_id = cell_u64(res, r, 2);
		s->chunk = (uint32_t)cell_u64(res, r, 3);
		s->page = (uint32_t)cell_u64(res, r, 4);
		s->title = cell(res, r, 5, &oom);
	}
	PQclear(res);
	return oom ? load_oom(x) : 0;
}

/* The answers of the query, oldest first, with their sources. 0 or -1. */
static int load_answers(struct svc_ctx *x, int64_t query_id,
                        Lms__Rpc__Query *q)
{
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, query_id);
	PGresult *res = svc_query(x,
		"SELECT a.id, u.username, a.body, lms.iso(a.answered_at), "
		"  u.role = 'tutor' "
		"FROM lms.answer a JOIN lms.app_user u ON u.id = a.author_id "
		"WHERE a.query_id = $1 ORDER BY a.id", &p);
	if (!res)
		return -1;
	int n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return 0;
	}
	q->answers = calloc((size_t)n, sizeof *q->answers);
	if (!q->answers) {
		PQclear(res);
		return load_oom(x);
	}
	bool oom = false;
	for (int r = 0; r < n && !oom; r++) {
		Lms__Rpc__Answer *a = malloc(sizeof *a);
		if (!a) {
			oom = true;
			break;
		}
		lms__rpc__answer__init(a);
		q->answers[q->n_answers++] = a;
		a->id = cell_u64(res, r, 0);
		a->author = cell(res, r, 1, &oom);
		a->body = cell(res, r, 2, &oom);
		a->answered_at = cell(res, r, 3, &oom);
		a->by_tutor = svc_bool(res, r, 4);
	}
	PQclear(res);
	if (oom)
		return load_oom(x);
	return load_sources(x, query_id, q);
}

int svc_load_query(struct svc_ctx *x, int64_t id, Lms__Rpc__Query **out)
{
	*out = NULL;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, id);
	PGresult *res = svc_query(x,
		"SELECT q.id, c.code, u.username, q.addressed_to, q.body, "
		"  q.status, lms.iso(q.asked_at), q.claimed_by, "
		"  lms.iso(q.claim_expires_at) "
		"FROM lms.query q JOIN lms.course c ON c.id = q.course_id "
		"JOIN lms.app_user u ON u.id = q.student_id "
		"WHERE q.id = $1", &p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	Lms__Rpc__Query *q = malloc(sizeof *q);
	if (!q) {
		PQclear(res);
		return load_oom(x);
	}
	lms__rpc__query__init(q);
	bool oom = false;
	q->id = cell_u64(res, 0, 0);
	q->course = cell(res, 0, 1, &oom);
	q->student = cell(res, 0, 2, &oom);
	q->to = strcmp(PQgetvalue(res, 0, 3), "tutor") == 0
		        ? LMS__RPC__QUERY_TARGET__TO_TUTOR
		        : LMS__RPC__QUERY_TARGET__TO_INSTRUCTOR;
	q->body = cell(res, 0, 4, &oom);
	q->status = query_status(PQgetvalue(res, 0, 5));
	q->asked_at = cell(res, 0, 6, &oom);
	q->claimed_by = cell(res, 0, 7, &oom);
	q->claim_expires_at = cell(res, 0, 8, &oom);
	PQclear(res);
	if (oom)
		return load_fail(x, &q->base, true);
	if (load_answers(x, id, q) != 0)
		return load_fail(x, &q->base, false);
	*out = q;
	return 1;
}

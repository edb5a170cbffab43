/*
 * test_queries.c -- material_upload, query_post, query_answer and
 * query_claim on the apply side: who may do what, chunks, the tutor's
 * claim and lease, answer-once for the tutor and follow-ups for humans.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define S(x) LMS__RPC__STATUS__##x
#define TO(x) LMS__RPC__QUERY_TARGET__TO_##x
#define QS(x) LMS__RPC__QUERY_STATUS__QUERY_##x

static void setup_cast(struct env *e)
{
	mk_people(e);
	mk_courses(e);
}

/* ---------------------------------------------------- material_upload */

static void material_upload(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	static uint8_t pdf[] = {'%', 'P', 'D', 'F', '-', '1', '.', '7', 0};
	Lms__Rpc__File f = LMS__RPC__FILE__INIT;
	f.name = "week1.pdf";
	f.media_type = "application/pdf";
	f.size = sizeof pdf;
	f.sha256 = "feed";
	f.data.data = pdf;
	f.data.len = sizeof pdf;
	Lms__Rpc__MaterialUploadRequest u =
		LMS__RPC__MATERIAL_UPLOAD_REQUEST__INIT;
	u.course = "CS101";
	u.title = "Week 1";
	u.topic = "graphs";
	u.file = &f;
	/* 7 chunks: more than one batch of inserts */
	Lms__Rpc__ChunkText ks[7], *kp[7];
	char bodies[7][64];
	for (int i = 0; i < 7; i++) {
		lms__rpc__chunk_text__init(&ks[i]);
		ks[i].page = (uint32_t)(1 + i / 3);
		snprintf(bodies[i], sizeof bodies[i],
		         "Dijkstra's algorithm, part %d: 'quoted' $1 text", i);
		ks[i].text = bodies[i];
		kp[i] = &ks[i];
	}
	Lms__Rpc__MaterialUploadCmd c = LMS__RPC__MATERIAL_UPLOAD_CMD__INIT;
	c.upload = &u;
	c.kind = "pdf";
	c.pages = 3;
	c.n_chunks = 7;
	c.chunks = kp;

	Lms__Rpc__Response *r = OK(e, "ins", apply_material_upload, &c);
	assert_int_equal(r->result_case,
	                 LMS__RPC__RESPONSE__RESULT_MATERIAL_UPLOAD);
	Lms__Rpc__Material *m = r->material_upload->material;
	assert_int_equal(m->id, e->index);
	assert_string_equal(m->course, "CS101");
	assert_string_equal(m->title, "Week 1");
	assert_string_equal(m->topic, "graphs");
	assert_string_equal(m->kind, "pdf");
	assert_int_equal(m->pages, 3);
	assert_int_equal(m->chunks, 7);
	assert_string_equal(m->warning, "");
	assert_string_equal(m->uploaded_by, "ins");
	assert_string_equal(m->uploaded_at, "2026-03-02T09:00:00Z");
	assert_non_null(m->file);
	assert_string_equal(m->file->name, "week1.pdf");
	assert_int_equal(m->file->size, sizeof pdf);
	assert_int_equal(m->file->data.len, 0);
	/* the file shares the index; chunks numbered from 0 in order */
	assert_int_equal(env_int(e, "SELECT file_id FROM lms.material", 0),
	                 e->index);
	char *rows = env_value(e,
		"SELECT string_agg(chunk_no || ':' || page || ':' || "
		"  (body = 'Dijkstra''s algorithm, part ' || chunk_no || "
		"   ': ''quoted'' $1 text')::text, ',' ORDER BY chunk_no) "
		"FROM lms.material_chunk", 0);
	assert_string_equal(rows, "0:1:true,1:1:true,2:1:true,3:2:true,"
	                          "4:2:true,5:2:true,6:3:true");
	free(rows);
	/* searchable: the generated tsvector */
	assert_int_equal(env_int(e, "SELECT count(*) FROM lms.material_chunk "
	                            "WHERE tsv @@ to_tsquery('english', "
	                            "'dijkstra')", 0), 7);

	/* an admin uploads a text file without extractable text */
	c.kind = "txt";
	c.pages = 0;
	c.n_chunks = 0;
	c.warning = "no extractable text";
	r = OK(e, "root", apply_material_upload, &c);
	assert_int_equal(r->material_upload->material->chunks, 0);
	assert_string_equal(r->material_upload->material->warning,
	                    "no extractable text");
	assert_string_equal(r->material_upload->material->kind, "txt");

	/* refusals */
	REFUSED(e, "ta", apply_material_upload, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "stu1", apply_material_upload, &c, S(PERMISSION_DENIED),
	        NULL);
	REFUSED(e, "ins2", apply_material_upload, &c, S(PERMISSION_DENIED),
	        NULL);
	REFUSED(e, "tutor", apply_material_upload, &c, S(PERMISSION_DENIED),
	        NULL);
	u.course = "NOPE";
	REFUSED(e, "root", apply_material_upload, &c, S(NOT_FOUND), NULL);
	u.course = "CS101";
	c.kind = "docx";
	REFUSED(e, "ins", apply_material_upload, &c, S(INVALID_ARGUMENT),
	        "docx");
	c.kind = "txt";
	u.file = NULL;
	REFUSED(e, "ins", apply_material_upload, &c, S(INVALID_ARGUMENT), NULL);
	assert_int_equal(env_int(e, "SELECT count(*) FROM lms.material", 0), 2);
}

/* --------------------------------------------------------- query_post */

static Lms__Rpc__QueryPostRequest post_cmd(const char *course,
                                           Lms__Rpc__QueryTarget to)
{
	Lms__Rpc__QueryPostRequest c = LMS__RPC__QUERY_POST_REQUEST__INIT;
	c.course = (char *)course;
	c.body = "What is a heap?";
	c.to = to;
	return c;
}

static void query_post(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	Lms__Rpc__QueryPostRequest c = post_cmd("CS101", TO(UNSPECIFIED));
	Lms__Rpc__Response *r = OK(e, "stu1", apply_query_post, &c);
	assert_int_equal(r->result_case, LMS__RPC__RESPONSE__RESULT_QUERY_POST);
	Lms__Rpc__Query *q = r->query_post->query;
	assert_int_equal(q->id, e->index);
	assert_string_equal(q->course, "CS101");
	assert_string_equal(q->student, "stu1");
	assert_int_equal(q->to, TO(INSTRUCTOR));
	assert_string_equal(q->body, "What is a heap?");
	assert_int_equal(q->status, QS(OPEN));
	assert_string_equal(q->asked_at, "2026-03-02T09:00:00Z");
	assert_string_equal(q->claimed_by, "");
	assert_int_equal(q->n_answers, 0);
	c = post_cmd("CS101", TO(TUTOR));
	r = OK(e, "stu2", apply_query_post, &c);
	assert_int_equal(r->query_post->query->to, TO(TUTOR));
	c = post_cmd("CS101", TO(INSTRUCTOR));
	r = OK(e, "stu2", apply_query_post, &c);
	assert_int_equal(r->query_post->query->to, TO(INSTRUCTOR));

	REFUSED(e, "ta", apply_query_post, &c, S(PERMISSION_DENIED),
	        "only students of CS101 ask questions");
	REFUSED(e, "ins", apply_query_post, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "stu3", apply_query_post, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "root", apply_query_post, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "tutor", apply_query_post, &c, S(PERMISSION_DENIED), NULL);
	c = post_cmd("NOPE", TO(TUTOR));
	REFUSED(e, "stu1", apply_query_post, &c, S(NOT_FOUND), NULL);
}

/* ------------------------------------------------------- query_answer */

static Lms__Rpc__QueryAnswerRequest answer_cmd(int64_t q, const char *body,
                                               const char *worker)
{
	Lms__Rpc__QueryAnswerRequest c = LMS__RPC__QUERY_ANSWER_REQUEST__INIT;
	c.id = (uint64_t)q;
	c.body = (char *)body;
	c.worker = (char *)worker;
	return c;
}

static void human_answers(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	int64_t mat = mk_material(e, "ins", "CS101", "Heaps", 3);
	int64_t other_mat = mk_material(e, "ins2", "MA201", "Limits", 1);
	int64_t q = mk_query(e, "stu1", "CS101", TO(INSTRUCTOR), "heap?");

	Lms__Rpc__Source s1 = LMS__RPC__SOURCE__INIT, s2 = LMS__RPC__SOURCE__INIT;
	s1.label = "S1";
	s1.material_id = (uint64_t)mat;
	s1.chunk = 2;
	s1.page = 0;
	s1.title = "Heaps";
	s2.label = "S2";
	s2.title = "the lecture";
	Lms__Rpc__Source *sources[] = {&s1, &s2};

	Lms__Rpc__QueryAnswerRequest c = answer_cmd(q, "A binary tree.", "");
	c.n_sources = 2;
	c.sources = sources;
	REFUSED(e, "stu1", apply_query_answer, &c, S(PERMISSION_DENIED), NULL);
	/* another student's question: not theirs to see */
	REFUSED(e, "stu2", apply_query_answer, &c, S(NOT_FOUND), "no question");
	REFUSED(e, "stu1", apply_query_answer, &c, S(PERMISSION_DENIED),
	        "only the staff of CS101 and the tutor");
	/* not a member of CS101: the question is not theirs to see */
	REFUSED(e, "ins2", apply_query_answer, &c, S(NOT_FOUND),
	        "no question");
	c.id = (uint64_t)q + 1000;
	REFUSED(e, "ins", apply_query_answer, &c, S(NOT_FOUND), NULL);
	c.id = (uint64_t)q;
	s1.material_id = (uint64_t)other_mat;
	REFUSED(e, "ins", apply_query_answer, &c, S(INVALID_ARGUMENT),
	        "is not a material of CS101");
	s1.material_id = (uint64_t)mat;

	env_advance(e, HOUR);
	Lms__Rpc__Response *r = OK(e, "ins", apply_query_answer, &c);
	assert_int_equal(r->result_case,
	                 LMS__RPC__RESPONSE__RESULT_QUERY_ANSWER);
	Lms__Rpc__Query *lq = r->query_answer->query;
	assert_int_equal(lq->status, QS(ANSWERED));
	assert_int_equal(lq->n_answers, 1);
	Lms__Rpc__Answer *a = lq->answers[0];
	assert_int_equal(a->id, e->index);
	assert_string_equal(a->author, "ins");
	assert_string_equal(a->body, "A binary tree.");
	assert_string_equal(a->answered_at, "2026-03-02T10:00:00Z");
	assert_false(a->by_tutor);
	assert_int_equal(a->n_sources, 2);
	assert_string_equal(a->sources[0]->label, "S1");
	assert_int_equal(a->sources[0]->material_id, mat);
	assert_int_equal(a->sources[0]->chunk, 2);
	assert_string_equal(a->sources[0]->title, "Heaps");
	assert_string_equal(a->sources[1]->label, "S2");
	assert_int_equal(a->sources[1]->material_id, 0);
	assert_string_equal(a->sources[1]->title, "the lecture");
	char *row = env_value(e, "SELECT n || ' ' || COALESCE(material_id::text, "
	                         "'null') || ' ' || COALESCE(chunk_no::text, "
	                         "'null') FROM lms.answer_source WHERE n = 2",
	                      0);
	assert_string_equal(row, "2 null null");
	free(row);

	/* follow-ups from a TA and an admin; answered_at stays the first */
	env_advance(e, HOUR);
	Lms__Rpc__QueryAnswerRequest f = answer_cmd(q, "Also: a heap.", "");
	OK(e, "ta", apply_query_answer, &f);
	env_advance(e, HOUR);
	r = OK(e, "root", apply_query_answer, &f);
	lq = r->query_answer->query;
	assert_int_equal(lq->n_answers, 3);
	assert_string_equal(lq->answers[1]->author, "ta");
	assert_string_equal(lq->answers[2]->author, "root");
	assert_int_equal(lq->answers[2]->n_sources, 0);
	assert_true(lq->answers[0]->id < lq->answers[1]->id);
	char id[24];
	snprintf(id, sizeof id, "%lld", (long long)q);
	row = env_value(e, "SELECT lms.iso(answered_at) FROM lms.query "
	                   "WHERE id = $1", 1, id);
	assert_string_equal(row, "2026-03-02T10:00:00Z");
	free(row);

	/* a human may also answer a question addressed to the tutor */
	int64_t tq = mk_query(e, "stu2", "CS101", TO(TUTOR), "tutor?");
	f = answer_cmd(tq, "I'll take this one.", "");
	r = OK(e, "ins", apply_query_answer, &f);
	assert_int_equal(r->query_answer->query->status, QS(ANSWERED));
}

/* ----------------------------------------------- the tutor: claim/lease */

static Lms__Rpc__QueryClaimRequest claim_cmd(const char *course,
                                             const char *worker,
                                             uint32_t lease_ms)
{
	Lms__Rpc__QueryClaimRequest c = LMS__RPC__QUERY_CLAIM_REQUEST__INIT;
	c.course = (char *)course;
	c.worker = (char *)worker;
	c.lease_ms = lease_ms;
	return c;
}

/* Claims as the tutor: the id found, or 0. */
static int64_t claim(struct env *e, const char *course, const char *worker,
                     uint32_t lease_ms)
{
	Lms__Rpc__QueryClaimRequest c = claim_cmd(course, worker, lease_ms);
	Lms__Rpc__Response *r = OK(e, "tutor", apply_query_claim, &c);
	assert_int_equal(r->result_case,
	                 LMS__RPC__RESPONSE__RESULT_QUERY_CLAIM);
	if (!r->query_claim->found) {
		assert_null(r->query_claim->query);
		return 0;
	}
	Lms__Rpc__Query *q = r->query_claim->query;
	assert_int_equal(q->status, QS(CLAIMED));
	assert_string_equal(q->claimed_by, worker);
	char until[LMS_ISO_MAX];
	assert_string_equal(q->claim_expires_at, env_time(e, lease_ms, until));
	return (int64_t)q->id;
}

static void tutor_claims(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	mk_enroll(e, "ins2", "MA201", "stu1",
	          LMS__RPC__COURSE_ROLE__COURSE_STUDENT);

	Lms__Rpc__QueryClaimRequest c = claim_cmd("", "w1", 60000);
	REFUSED(e, "ins", apply_query_claim, &c, S(PERMISSION_DENIED),
	        "only the tutor account claims questions");
	REFUSED(e, "root", apply_query_claim, &c, S(PERMISSION_DENIED), NULL);
	REFUSED(e, "stu1", apply_query_claim, &c, S(PERMISSION_DENIED), NULL);
	c = claim_cmd("NOPE", "w1", 60000);
	REFUSED(e, "tutor", apply_query_claim, &c, S(NOT_FOUND), NULL);
	assert_int_equal(claim(e, "", "w1", 60000), 0); /* nothing yet */

	int64_t q1 = mk_query(e, "stu1", "CS101", TO(INSTRUCTOR), "q1");
	int64_t q2 = mk_query(e, "stu1", "CS101", TO(TUTOR), "q2");
	int64_t q3 = mk_query(e, "stu1", "MA201", TO(TUTOR), "q3");
	int64_t q4 = mk_query(e, "stu2", "CS101", TO(TUTOR), "q4");

	/* the oldest first; never one addressed to the instructors */
	assert_int_equal(claim(e, "", "w1", 60000), q2);
	assert_int_equal(claim(e, "CS101", "w2", 60000), q4);
	assert_int_equal(claim(e, "CS101", "w3", 60000), 0);
	assert_int_equal(claim(e, "", "w3", 60000), q3);
	assert_int_equal(claim(e, "", "w4", 60000), 0);

	/* the tutor answers only what is addressed to it, and not what
	 * another worker holds */
	Lms__Rpc__QueryAnswerRequest a = answer_cmd(q1, "no", "w1");
	REFUSED(e, "tutor", apply_query_answer, &a, S(FAILED_PRECONDITION),
	        "addressed to the instructors");
	a = answer_cmd(q2, "from w2", "w2");
	REFUSED(e, "tutor", apply_query_answer, &a, S(CONFLICT),
	        "claimed by w1 until 2026-03-02T09:01:00Z");

	/* the lease runs out at exactly its expiry: q2 is taken again */
	env_advance(e, 60000);
	assert_int_equal(claim(e, "", "w5", 1000), q2);
	a = answer_cmd(q2, "from w1", "w1");
	REFUSED(e, "tutor", apply_query_answer, &a, S(CONFLICT),
	        "claimed by w5");
	a = answer_cmd(q2, "A heap is a tree [S1].", "w5");
	Lms__Rpc__Source s = LMS__RPC__SOURCE__INIT;
	s.label = "S1";
	s.title = "notes";
	Lms__Rpc__Source *sp[] = {&s};
	a.n_sources = 1;
	a.sources = sp;
	Lms__Rpc__Response *r = OK(e, "tutor", apply_query_answer, &a);
	Lms__Rpc__Query *q = r->query_answer->query;
	assert_int_equal(q->status, QS(ANSWERED));
	assert_string_equal(q->claimed_by, "");
	assert_string_equal(q->claim_expires_at, "");
	assert_int_equal(q->n_answers, 1);
	assert_true(q->answers[0]->by_tutor);
	assert_string_equal(q->answers[0]->author, "tutor");
	/* answered once: the tutor cannot answer again, nor claim it (the
	 * next in CS101 is q4, whose lease held by w2 ran out) */
	REFUSED(e, "tutor", apply_query_answer, &a, S(CONFLICT),
	        "already answered");
	assert_int_equal(claim(e, "CS101", "w5", 1000), q4);
	/* a human follow-up is still fine */
	a = answer_cmd(q2, "Indeed.", "");
	r = OK(e, "ins", apply_query_answer, &a);
	assert_int_equal(r->query_answer->query->n_answers, 2);
	assert_false(r->query_answer->query->answers[1]->by_tutor);

	/* a claim whose lease ran out blocks nobody: w2 answers q4 that w5
	 * holds no more; an unclaimed open question may be answered too */
	env_advance(e, 60000); /* q4 (w5) and q3 (w3) expired */
	a = answer_cmd(q4, "late but fine", "w2");
	OK(e, "tutor", apply_query_answer, &a);
	int64_t q5 = mk_query(e, "stu2", "CS101", TO(TUTOR), "q5");
	a = answer_cmd(q5, "without a claim", "w9");
	OK(e, "tutor", apply_query_answer, &a);
	/* the expired claim of q3 is the only one left to take */
	assert_int_equal(claim(e, "", "w6", 30000), q3);
	assert_int_equal(claim(e, "", "w7", 30000), 0);
	char id[24];
	snprintf(id, sizeof id, "%lld", (long long)q3);
	char *row = env_value(e, "SELECT status || ' ' || claimed_by || ' ' || "
	                         "lms.iso(claim_expires_at) FROM lms.query "
	                         "WHERE id = $1", 1, id);
	assert_string_equal(row, "claimed w6 2026-03-02T09:02:30Z");
	free(row);
}

static Lms__Rpc__QueryReleaseRequest release_cmd(int64_t id,
                                                 const char *worker)
{
	Lms__Rpc__QueryReleaseRequest c = LMS__RPC__QUERY_RELEASE_REQUEST__INIT;
	c.id = (uint64_t)id;
	c.worker = (char *)worker;
	return c;
}

static void tutor_releases(void **state)
{
	struct env *e = *state;
	setup_cast(e);
	int64_t q1 = mk_query(e, "stu1", "CS101", TO(TUTOR), "q1");
	int64_t q2 = mk_query(e, "stu1", "CS101", TO(INSTRUCTOR), "q2");
	assert_int_equal(claim(e, "", "w1", 60000), q1);

	/* only the tutor account, only for the worker holding it */
	Lms__Rpc__QueryReleaseRequest c = release_cmd(q1, "w1");
	REFUSED(e, "ins", apply_query_release, &c, S(PERMISSION_DENIED),
	        "only the tutor account releases questions");
	REFUSED(e, "stu1", apply_query_release, &c, S(PERMISSION_DENIED),
	        NULL);
	c = release_cmd(q1, "w2");
	REFUSED(e, "tutor", apply_query_release, &c, S(CONFLICT),
	        "not claimed by this worker");
	c = release_cmd(q2, "w1");
	REFUSED(e, "tutor", apply_query_release, &c, S(NOT_FOUND), NULL);
	c = release_cmd(999999, "w1");
	REFUSED(e, "tutor", apply_query_release, &c, S(NOT_FOUND), NULL);

	/* released: open again at once, claimable by another worker
	 * before the lease would have run out */
	c = release_cmd(q1, "w1");
	Lms__Rpc__Response *r = OK(e, "tutor", apply_query_release, &c);
	assert_int_equal(r->result_case,
	                 LMS__RPC__RESPONSE__RESULT_QUERY_RELEASE);
	Lms__Rpc__Query *q = r->query_release->query;
	assert_int_equal(q->status, QS(OPEN));
	assert_string_equal(q->claimed_by, "");
	assert_string_equal(q->claim_expires_at, "");
	/* not twice, and w1 cannot answer it any more once w2 holds it */
	REFUSED(e, "tutor", apply_query_release, &c, S(CONFLICT), NULL);
	assert_int_equal(claim(e, "", "w2", 60000), q1);
	Lms__Rpc__QueryAnswerRequest a = answer_cmd(q1, "late", "w1");
	REFUSED(e, "tutor", apply_query_answer, &a, S(CONFLICT),
	        "claimed by w2");
	/* an expired claim may still be released by its worker; an
	 * answered question may not */
	env_advance(e, 60000);
	c = release_cmd(q1, "w2");
	OK(e, "tutor", apply_query_release, &c);
	a = answer_cmd(q1, "done", "w3");
	OK(e, "tutor", apply_query_answer, &a);
	c = release_cmd(q1, "w3");
	REFUSED(e, "tutor", apply_query_release, &c, S(CONFLICT), NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(material_upload, env_reset),
		cmocka_unit_test_setup(query_post, env_reset),
		cmocka_unit_test_setup(human_answers, env_reset),
		cmocka_unit_test_setup(tutor_claims, env_reset),
		cmocka_unit_test_setup(tutor_releases, env_reset),
	};
	return cmocka_run_group_tests(tests, env_group_setup,
	                              env_group_teardown);
}

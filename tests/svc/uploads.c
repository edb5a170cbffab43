/*
 * uploads.c -- svc_uploads: course materials and submitted files through a
 * follower and through the leader, with limits.max_upload_bytes set to
 * 1 MiB in the test config:
 *
 *   text file        stored, kind txt, chunks, found by material_search
 *   3-page PDF       stored, 3 pages, each page's word found in a chunk
 *                    that names that page; downloaded back byte-identical
 *   encrypted PDF    refused, the message names the encryption (qpdf
 *                    makes it; skipped with a note when qpdf is missing)
 *   truncated PDF, text named .pdf
 *                    refused with the reason
 *   image-only PDF   stored with a warning, no chunks
 *   over the limit   TOO_LARGE (material and submission), checked by the
 *                    follower itself and by the leader
 *   submitted file   downloaded back byte-identical, SHA-256 as computed
 *                    here
 *
 * After every refusal nothing is stored (the material list is unchanged)
 * and the node that refused answers the next request; at the end the
 * nodes converge.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <cmocka.h>

#include "fixtures.h"
#include "svc_util.h"

#define LIMIT (1u << 20)
#define COURSE "GEO200"

struct up {
	struct cluster *cl;
	unsigned leader, follower;
	struct lmsc *via[2]; /* [0] the follower only, [1] the leader only */
	char ins[65], stu[65];
};

static const char *const via_name[2] = {"follower", "leader"};

static Lms__Rpc__Response *upload(struct up *u, int via, const char *name,
                                  const void *data, size_t len,
                                  const char *title)
{
	Lms__Rpc__File f = LMS__RPC__FILE__INIT;
	f.name = (char *)name;
	f.data.data = (uint8_t *)data;
	f.data.len = len;
	Lms__Rpc__MaterialUploadRequest m =
		LMS__RPC__MATERIAL_UPLOAD_REQUEST__INIT;
	m.course = COURSE;
	m.title = (char *)title;
	m.topic = "maps";
	m.file = &f;
	return SV_CALL(u->via[via], u->ins, material_upload, MATERIAL_UPLOAD,
	               &m);
}

static size_t material_count(struct up *u)
{
	Lms__Rpc__MaterialListRequest q = LMS__RPC__MATERIAL_LIST_REQUEST__INIT;
	q.course = COURSE;
	Lms__Rpc__Response *r = SV_CALL(u->via[1], u->ins, material_list,
	                                MATERIAL_LIST, &q);
	sv_expect(r, LMS__RPC__STATUS__OK, "material_list");
	size_t n = r->material_list->n_materials;
	lmsc_response_free(r);
	return n;
}

/* The node that refused keeps serving, nothing was stored. */
static void still_serving(struct up *u, int via, size_t materials,
                          const char *after)
{
	cl_check_alive(u->cl);
	Lms__Rpc__WhoAmIRequest q = LMS__RPC__WHO_AM_IREQUEST__INIT;
	Lms__Rpc__Response *r = SV_CALL(u->via[via], u->ins, whoami, WHOAMI,
	                                &q);
	sv_expect(r, LMS__RPC__STATUS__OK, "whoami through the %s after %s",
	          via_name[via], after);
	lmsc_response_free(r);
	size_t n = material_count(u);
	if (n != materials)
		fail_msg("after %s the course has %zu materials, expected %zu",
		         after, n, materials);
}

static void refused(struct up *u, int via, const char *what,
                    const char *name, const void *data, size_t len,
                    int want, const char *needle)
{
	size_t before = material_count(u);
	Lms__Rpc__Response *r = upload(u, via, name, data, len, what);
	sv_expect(r, want, "%s through the %s", what, via_name[via]);
	if (needle && !strstr(r->message, needle))
		fail_msg("%s: the refusal \"%s\" does not say \"%s\"", what,
		         r->message, needle);
	print_message("[svc] uploads: %s through the %s: %s\n", what,
	              via_name[via], sv_describe(r));
	lmsc_response_free(r);
	still_serving(u, via, before, what);
}

/* The chunk of material id that material_search finds for word. */
static const Lms__Rpc__MaterialChunk *find_chunk(
	const Lms__Rpc__Response *r, uint64_t id)
{
	for (size_t i = 0; i < r->material_search->n_chunks; i++)
		if (r->material_search->chunks[i]->material_id == id)
			return r->material_search->chunks[i];
	return NULL;
}

static Lms__Rpc__Response *search(struct up *u, const char *word)
{
	Lms__Rpc__MaterialSearchRequest q =
		LMS__RPC__MATERIAL_SEARCH_REQUEST__INIT;
	q.course = COURSE;
	q.query = (char *)word;
	q.limit = 20;
	Lms__Rpc__Response *r = SV_CALL(u->via[0], u->stu, material_search,
	                                MATERIAL_SEARCH, &q);
	sv_expect(r, LMS__RPC__STATUS__OK, "material_search %s", word);
	return r;
}

/* Downloads material id and compares it with data. */
static void download_same(struct up *u, uint64_t id, const void *data,
                          size_t len)
{
	Lms__Rpc__MaterialGetRequest q = LMS__RPC__MATERIAL_GET_REQUEST__INIT;
	q.id = id;
	q.with_file = 1;
	Lms__Rpc__Response *r = SV_CALL(u->via[0], u->stu, material_get,
	                                MATERIAL_GET, &q);
	sv_expect(r, LMS__RPC__STATUS__OK, "material_get %" PRIu64, id);
	const Lms__Rpc__File *f = r->material_get->material->file;
	char hex[65];
	sv_sha256_hex(data, len, hex);
	if (!f || f->data.len != len || memcmp(f->data.data, data, len) != 0 ||
	    f->size != len || strcmp(f->sha256, hex) != 0)
		fail_msg("material %" PRIu64 " downloaded as %zu bytes (size %"
		         PRIu64 ", sha256 %s), uploaded %zu bytes (sha256 %s)",
		         id, f ? f->data.len : 0, f ? f->size : 0,
		         f ? f->sha256 : "-", len, hex);
	lmsc_response_free(r);
}

/* A page of about 2.4 KB of text whose last line holds `word`. */
static char *page_text(const char *word, int page)
{
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	for (int line = 0; line < 34; line++)
		len += (size_t)snprintf(s + len, cap - len,
		                        "Page %d line %02d: rivers carve valleys "
		                        "and deltas over time.\n", page, line);
	snprintf(s + len, cap - len, "The key word of this page is %s.",
	         word);
	return s;
}

void svc_uploads(void **state)
{
	struct cluster *cl = *state;
	struct cl_options o = {0};
	o.max_upload_bytes = LIMIT;
	cl_boot(cl, &o);
	struct up u = {.cl = cl};
	u.leader = cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	struct lmsc *all = cl_client(cl, NULL, 0);
	assert_non_null(all);
	sv_install_schema(cl, all);
	char adm[65];
	sv_bootstrap(all, "root", "root-password");
	sv_login(all, "root", "root-password", adm);
	sv_user(all, adm, "prof", "prof-password",
	        LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	sv_user(all, adm, "stu", "stu-password", LMS__RPC__ROLE__ROLE_STUDENT);
	sv_login(all, "prof", "prof-password", u.ins);
	sv_login(all, "stu", "stu-password", u.stu);
	sv_course(all, u.ins, COURSE, "Geography");
	sv_enroll(all, u.ins, COURSE, "stu", LMS__RPC__COURSE_ROLE__COURSE_STUDENT);
	uint64_t asg = sv_assignment(all, u.ins, COURSE, "Field trip");

	u.leader = cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	u.follower = u.leader % 5 + 1;
	u.via[0] = cl_client(cl, &u.follower, 1);
	u.via[1] = cl_client(cl, &u.leader, 1);
	assert_non_null(u.via[0]);
	assert_non_null(u.via[1]);
	size_t materials = 0;

	/* ---- a text file through the follower */
	size_t tcap = 8192, tlen = 0;
	char *txt = malloc(tcap);
	assert_non_null(txt);
	for (int p = 0; p < 20; p++)
		tlen += (size_t)snprintf(txt + tlen, tcap - tlen,
		                         "Paragraph %d. Glaciers shape the land "
		                         "through erosion and deposition; "
		                         "moraines mark where the ice stood. "
		                         "The sediment is sorted by meltwater "
		                         "streams into outwash plains.%s\n\n", p,
		                         p == 17 ? " Drumlins are streamlined "
		                                   "hills." : "");
	Lms__Rpc__Response *r = upload(&u, 0, "glaciers.txt", txt, tlen,
	                               "Glaciers");
	sv_expect(r, LMS__RPC__STATUS__OK, "text upload through the follower");
	const Lms__Rpc__Material *m = r->material_upload->material;
	uint64_t txt_id = m->id;
	if (strcmp(m->kind, "txt") != 0 || m->chunks < 2 || m->pages != 0 ||
	    *m->warning)
		fail_msg("text material: kind \"%s\", %u chunks, %u pages, "
		         "warning \"%s\"", m->kind, m->chunks, m->pages,
		         m->warning);
	print_message("[svc] uploads: glaciers.txt (%zu bytes) through the "
	              "follower: material %" PRIu64 ", %u chunks\n", tlen,
	              txt_id, m->chunks);
	lmsc_response_free(r);
	materials++;
	r = search(&u, "drumlins");
	const Lms__Rpc__MaterialChunk *ch = find_chunk(r, txt_id);
	if (!ch || ch->page != 0 || !strstr(ch->text, "Drumlins"))
		fail_msg("material_search \"drumlins\" did not find the text "
		         "file's chunk (page 0)");
	lmsc_response_free(r);
	download_same(&u, txt_id, txt, tlen);
	free(txt);

	/* ---- a real three-page PDF through the leader */
	static const char *const words[3] = {"alphamarker", "betamarker",
	                                     "gammamarker"};
	char *pages[3];
	for (int p = 0; p < 3; p++)
		pages[p] = page_text(words[p], p + 1);
	size_t pdf_len;
	unsigned char *pdf = fx_text_pdf((const char *const *)pages, 3,
	                                 &pdf_len);
	for (int p = 0; p < 3; p++)
		free(pages[p]);
	r = upload(&u, 1, "rivers.pdf", pdf, pdf_len, "Rivers");
	sv_expect(r, LMS__RPC__STATUS__OK, "PDF upload through the leader");
	m = r->material_upload->material;
	uint64_t pdf_id = m->id;
	if (strcmp(m->kind, "pdf") != 0 || m->pages != 3 || m->chunks < 3 ||
	    *m->warning)
		fail_msg("PDF material: kind \"%s\", %u pages, %u chunks, "
		         "warning \"%s\" (expected pdf, 3 pages, >= 3 chunks)",
		         m->kind, m->pages, m->chunks, m->warning);
	print_message("[svc] uploads: rivers.pdf (%zu bytes, 3 pages) through "
	              "the leader: material %" PRIu64 ", %u chunks\n", pdf_len,
	              pdf_id, m->chunks);
	lmsc_response_free(r);
	materials++;
	for (int p = 0; p < 3; p++) {
		r = search(&u, words[p]);
		ch = find_chunk(r, pdf_id);
		if (!ch)
			fail_msg("material_search \"%s\" found no chunk of the "
			         "PDF", words[p]);
		if (ch->page != (uint32_t)p + 1)
			fail_msg("the chunk holding \"%s\" (the end of page %d) "
			         "says page %u", words[p], p + 1, ch->page);
		lmsc_response_free(r);
	}
	download_same(&u, pdf_id, pdf, pdf_len);

	/* ---- refusals */
	if (fx_have_qpdf()) {
		size_t elen;
		unsigned char *enc = fx_encrypt_pdf(pdf, pdf_len, "user-pw",
		                                    &elen);
		assert_non_null(enc);
		refused(&u, 0, "encrypted PDF", "secret.pdf", enc, elen,
		        LMS__RPC__STATUS__INVALID_ARGUMENT, "encrypted");
		free(enc);
	} else {
		print_message("[svc] uploads: qpdf is not installed (ops/deps): "
		              "the encrypted PDF is not tried\n");
	}
	refused(&u, 1, "truncated PDF", "half.pdf", pdf, pdf_len / 2,
	        LMS__RPC__STATUS__INVALID_ARGUMENT, "not a valid PDF");
	static const char fake[] = "This is plain text, not a PDF at all.\n";
	refused(&u, 0, "text named .pdf", "fake.pdf", fake, sizeof fake - 1,
	        LMS__RPC__STATUS__INVALID_ARGUMENT, "fake.pdf");
	char *big = malloc(LIMIT + 1);
	assert_non_null(big);
	memset(big, 'a', LIMIT + 1);
	for (size_t i = 80; i < LIMIT + 1; i += 81)
		big[i] = '\n';
	for (int via = 0; via < 2; via++)
		refused(&u, via, "upload of limit + 1 bytes", "big.txt", big,
		        LIMIT + 1, LMS__RPC__STATUS__TOO_LARGE,
		        "max_upload_bytes");
	free(pdf);

	/* ---- a scan: stored, with a warning */
	size_t img_len;
	unsigned char *img = fx_image_pdf(&img_len);
	r = upload(&u, 0, "scan.pdf", img, img_len, "Scanned map");
	sv_expect(r, LMS__RPC__STATUS__OK, "image-only PDF");
	m = r->material_upload->material;
	if (!*m->warning || m->chunks != 0 || m->pages != 1)
		fail_msg("image-only PDF: warning \"%s\", %u chunks, %u pages "
		         "(expected a warning, no chunk, 1 page)", m->warning,
		         m->chunks, m->pages);
	print_message("[svc] uploads: scan.pdf stored with the warning \"%s\"\n",
	              m->warning);
	lmsc_response_free(r);
	materials++;
	free(img);
	still_serving(&u, 0, materials, "the image-only PDF");

	/* ---- a submission with a file, downloaded back */
	size_t flen = 300 * 1024;
	uint8_t *data = malloc(flen);
	assert_non_null(data);
	assert_int_equal(getrandom(data, flen, 0), (ssize_t)flen);
	Lms__Rpc__File f = LMS__RPC__FILE__INIT;
	f.name = "measurements.bin";
	f.data.data = data;
	f.data.len = flen;
	Lms__Rpc__SubmitRequest s = LMS__RPC__SUBMIT_REQUEST__INIT;
	s.assignment_id = asg;
	s.file = &f;
	r = SV_CALL(u.via[0], u.stu, submit, SUBMIT, &s);
	sv_expect(r, LMS__RPC__STATUS__OK, "submission with a %zu-byte file",
	          flen);
	uint64_t sub = r->submit->submission->id;
	char hex[65];
	sv_sha256_hex(data, flen, hex);
	const Lms__Rpc__File *sf = r->submit->submission->file;
	if (!sf || strcmp(sf->sha256, hex) != 0 || sf->size != flen ||
	    strcmp(sf->name, "measurements.bin") != 0)
		fail_msg("the submission's file: %s, %" PRIu64 " bytes, sha256 "
		         "%s; sent %zu bytes, sha256 %s",
		         sf ? sf->name : "(none)", sf ? sf->size : 0,
		         sf ? sf->sha256 : "-", flen, hex);
	lmsc_response_free(r);
	for (int k = 0; k < 2; k++) {
		const char *who = k ? u.ins : u.stu;
		Lms__Rpc__SubmissionGetRequest q =
			LMS__RPC__SUBMISSION_GET_REQUEST__INIT;
		q.id = sub;
		q.with_file = 1;
		r = SV_CALL(u.via[k], who, submission_get, SUBMISSION_GET, &q);
		sv_expect(r, LMS__RPC__STATUS__OK, "submission_get with_file "
		          "as the %s", k ? "instructor" : "student");
		sf = r->submission_get->submission->file;
		char got[65] = "";
		if (sf)
			sv_sha256_hex(sf->data.data, sf->data.len, got);
		if (!sf || sf->data.len != flen ||
		    memcmp(sf->data.data, data, flen) != 0 ||
		    strcmp(sf->sha256, hex) != 0 || strcmp(got, hex) != 0)
			fail_msg("the submitted file came back as %zu bytes "
			         "(sha256 of the bytes %s, field %s); sent %zu "
			         "bytes, sha256 %s", sf ? sf->data.len : 0, got,
			         sf ? sf->sha256 : "-", flen, hex);
		lmsc_response_free(r);
	}
	/* a list carries the file without its bytes */
	Lms__Rpc__SubmissionListRequest sl =
		LMS__RPC__SUBMISSION_LIST_REQUEST__INIT;
	sl.assignment_id = asg;
	r = SV_CALL(all, u.stu, submission_list, SUBMISSION_LIST, &sl);
	sv_expect(r, LMS__RPC__STATUS__OK, "submission_list");
	if (r->submission_list->n_submissions != 1 ||
	    !r->submission_list->submissions[0]->file ||
	    r->submission_list->submissions[0]->file->data.len != 0)
		fail_msg("submission_list: %zu submissions; a listed file must "
		         "come without its bytes",
		         r->submission_list->n_submissions);
	lmsc_response_free(r);
	print_message("[svc] uploads: submission %" PRIu64 " with a %zu-byte "
	              "file came back byte-identical (sha256 %.16s...)\n", sub,
	              flen, hex);

	/* a submitted file over the limit */
	f.data.data = (uint8_t *)big;
	f.data.len = LIMIT + 1;
	for (int via = 0; via < 2; via++) {
		r = SV_CALL(u.via[via], u.stu, submit, SUBMIT, &s);
		sv_expect(r, LMS__RPC__STATUS__TOO_LARGE, "submission of limit + "
		          "1 bytes through the %s", via_name[via]);
		lmsc_response_free(r);
		still_serving(&u, via, materials, "a submission over the limit");
	}
	r = SV_CALL(all, u.stu, submission_list, SUBMISSION_LIST, &sl);
	sv_expect(r, LMS__RPC__STATUS__OK, "submission_list");
	if (r->submission_list->n_submissions != 1)
		fail_msg("%zu submissions after the refused ones, expected 1",
		         r->submission_list->n_submissions);
	lmsc_response_free(r);
	free(big);
	free(data);

	cl_assert_converged(cl, SV_CONVERGE_MS);
	lmsc_free(u.via[0]);
	lmsc_free(u.via[1]);
	lmsc_free(all);
	cl_stop_all(cl);
	cl_pass(cl);
}

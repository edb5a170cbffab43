/*
 * apply_materials.c -- course materials on the apply side (svc.h):
 * material_upload.
 *
 * The node that received the upload extracted the text (lmsd/ingest, a
 * sandboxed poppler for PDFs) and cut it into chunks before proposing: the
 * command carries the file, its kind, page count, any warning ("no
 * extractable text") and the chunks. Apply stores the file, the material
 * and the chunks (chunk_no from 0 in command order); the full-text vector
 * of each chunk is a generated column, so every node computes the same
 * one. The file and the material share the entry's index as their id
 * (different tables).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_util.h"

/* Chunks per INSERT: $1 is the material, then 3 parameters a chunk, within
 * the 16 of svc_params. */
#define CHUNKS_PER_INSERT 5

/* Inserts chunks [from, from + n) of c for material id. 0 or -1. */
static int materials_insert_chunks(struct svc_ctx *x, int64_t id,
                                   const Lms__Rpc__MaterialUploadCmd *c,
                                   size_t from, size_t n)
{
	char sql[512];
	size_t len = (size_t)snprintf(sql, sizeof sql,
		"INSERT INTO lms.material_chunk (material_id, chunk_no, page, "
		"body) VALUES ");
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, id);
	for (size_t i = 0; i < n; i++) {
		const Lms__Rpc__ChunkText *k = c->chunks[from + i];
		int b = p.n + 1;
		len += (size_t)snprintf(sql + len, sizeof sql - len,
		                        "%s($1, $%d, $%d, $%d)", i ? ", " : "",
		                        b, b + 1, b + 2);
		svc_p_i64(&p, (int64_t)(from + i));
		svc_p_i64(&p, (int64_t)k->page);
		svc_p_text(&p, k->text);
	}
	return svc_exec(x, sql, &p, NULL);
}

int apply_material_upload(struct svc_ctx *x,
                          const Lms__Rpc__MaterialUploadCmd *c)
{
	if (!apu_need_actor(x))
		return 0;
	const Lms__Rpc__MaterialUploadRequest *u = c->upload;
	if (!u)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the upload is missing");
	int64_t course_id;
	int rv = svc_need_course_staff(x, u->course, true, &course_id, NULL);
	if (rv != 1)
		return rv;
	if (!u->file)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "a material needs a file");
	if (!apu_check_file(x, u->file))
		return 0;
	if (!c->kind || (strcmp(c->kind, "pdf") != 0 &&
	                 strcmp(c->kind, "txt") != 0))
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "a material is a pdf or a txt file, not \"%s\"",
		                  c->kind ? c->kind : "");
	if (c->pages > INT32_MAX || c->n_chunks > INT32_MAX)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "too many pages");
	for (size_t i = 0; i < c->n_chunks; i++)
		if (c->chunks[i]->page > INT32_MAX)
			return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
			                  "chunk %zu: page out of range", i);

	APU_NEW(x, r, material_upload_response, MaterialUploadResponse);
	int64_t id = (int64_t)x->index;
	if (apu_store_file(x, id, u->file))
		goto err;
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, id);
	svc_p_i64(&p, course_id);
	svc_p_text(&p, u->title);
	svc_p_text(&p, u->topic);
	svc_p_text(&p, c->kind);
	svc_p_i64(&p, (int64_t)c->pages);
	svc_p_text(&p, c->warning);
	svc_p_i64(&p, x->actor->id);
	svc_p_text(&p, x->now);
	if (svc_exec(x,
		"INSERT INTO lms.material (id, course_id, title, topic, kind, "
		"  pages, warning, file_id, uploaded_by, uploaded_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $1, $8, $9)", &p, NULL))
		goto err;
	for (size_t i = 0; i < c->n_chunks; i += CHUNKS_PER_INSERT) {
		size_t n = c->n_chunks - i;
		if (n > CHUNKS_PER_INSERT)
			n = CHUNKS_PER_INSERT;
		if (materials_insert_chunks(x, id, c, i, n))
			goto err;
	}
	if (apu_loaded(x, svc_load_material(x, id, false, &r->material),
	               "material"))
		goto err;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_MATERIAL_UPLOAD;
	x->resp->material_upload = r;
	return 0;
err:
	free(r);
	return -1;
}

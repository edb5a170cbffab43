/*
 * cmd_material.c -- course materials:
 *
 *   material upload CODE FILE [--title S] [--topic T]
 *   material list CODE          material get ID [-o FILE]
 *   material search CODE WORDS  (the excerpts the tutor would read)
 *
 * An upload is one RPC frame: the file is read whole (progress bar on a
 * terminal for files over 1 MiB, see input.c for what it measures), sent,
 * and the node extracts and indexes the text (PDF or TXT) before the
 * upload goes through the log. A PDF without extractable text is stored
 * with a warning that is shown here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lms.h"
#include "util.h"

static const char *pages_str(const Lms__Rpc__Material *m)
{
	if (strcmp(m->kind, "pdf") == 0)
		return fmt("%u page%s", m->pages, m->pages == 1 ? "" : "s");
	return "-";
}

static int cmd_material_upload(struct cli *cli, const struct args *a)
{
	int rc;
	size_t len;
	uint8_t *data = file_read(cli, a->pos[1], &len, &rc);
	if (!data)
		return rc;
	char base[256];
	safe_basename(a->pos[1], base, sizeof base);
	Lms__Rpc__File f = LMS__RPC__FILE__INIT;
	f.name = base;
	f.data.data = data;
	f.data.len = len;
	Lms__Rpc__MaterialUploadRequest mu =
		LMS__RPC__MATERIAL_UPLOAD_REQUEST__INIT;
	mu.course = a->pos[0];
	mu.title = (char *)(arg_get(a, "title") ? arg_get(a, "title") : "");
	mu.topic = (char *)(arg_get(a, "topic") ? arg_get(a, "topic") : "");
	mu.file = &f;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, material_upload, MATERIAL_UPLOAD, &mu);
	Lms__Rpc__Response *r;
	rc = cli_call(cli, &req, CALL_WRITE, RESULT(MATERIAL_UPLOAD), &r,
	              "uploading");
	free(data);
	if (rc)
		return rc;
	const Lms__Rpc__Material *m = r->material_upload->material;
	if (cli->json) {
		out_json(pb_json(&r->material_upload->base));
	} else if (cli->quiet) {
		printf("%llu\n", m ? (unsigned long long)m->id : 0ULL);
	} else if (m) {
		char sz[32];
		printf("Uploaded material %llu \"%s\" to %s (%s, %s%s%u text "
		       "chunk%s).\n", (unsigned long long)m->id, m->title,
		       m->course, m->kind,
		       fmt_size(m->file ? m->file->size : len, sz, sizeof sz),
		       strcmp(m->kind, "pdf") == 0
		               ? fmt(", %u page%s, ", m->pages,
		                     m->pages == 1 ? "" : "s")
		               : ", ",
		       m->chunks, m->chunks == 1 ? "" : "s");
	}
	if (m && *m->warning && !cli->json) /* JSON: material.warning */
		fprintf(stderr, "lms: warning: %s\n", m->warning);
	lmsc_response_free(r);
	return 0;
}

static int cmd_material_list(struct cli *cli, const struct args *a)
{
	int rc = 0;
	long limit = arg_limit(cli, a, "material list", &rc);
	if (limit < 0)
		return rc;
	json_t *arr = json_array();
	struct table *t = table_new(8, "ID", "TITLE", "TOPIC", "KIND", "PAGES",
	                            "SIZE", "UPLOADED", "FILE");
	struct pager pg;
	pager_init(&pg, limit);
	Lms__Rpc__Page *page;
	while ((page = pager_next(&pg))) {
		Lms__Rpc__MaterialListRequest ml =
			LMS__RPC__MATERIAL_LIST_REQUEST__INIT;
		ml.course = a->pos[0];
		ml.page = page;
		Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
		SET_OP(&req, material_list, MATERIAL_LIST, &ml);
		Lms__Rpc__Response *r;
		rc = cli_call(cli, &req, CALL_READ, RESULT(MATERIAL_LIST), &r,
		              NULL);
		if (rc)
			break;
		const Lms__Rpc__MaterialListResponse *l = r->material_list;
		size_t k = pager_took(&pg, l->n_materials, l->next);
		for (size_t i = 0; i < k; i++) {
			const Lms__Rpc__Material *m = l->materials[i];
			char tm[LMS_TIME_MAX], sz[32];
			json_array_append_new(arr, pb_json(&m->base));
			table_row(t, fmt("%llu", (unsigned long long)m->id),
			          m->title, m->topic, m->kind, pages_str(m),
			          m->file ? fmt_size(m->file->size, sz, sizeof sz)
			                  : "-",
			          fmt_time(m->uploaded_at, tm, sizeof tm),
			          m->file ? m->file->name : "-");
		}
		lmsc_response_free(r);
	}
	pager_free(&pg);
	if (rc == 0) {
		if (cli->json) {
			out_json(json_pack("{s:s,s:O}", "course", a->pos[0],
			                   "materials", arr));
		} else if (table_rows(t) == 0 && !cli->quiet) {
			printf("No materials in %s.\n", a->pos[0]);
		} else {
			table_right(t, 0);
			table_right(t, 5);
			table_max(t, 1, 40);
			table_max(t, 7, 30);
			table_print(t, stdout, !cli->quiet);
			t = NULL;
		}
	}
	table_free(t);
	json_decref(arr);
	return rc;
}

static int cmd_material_get(struct cli *cli, const struct args *a)
{
	uint64_t id;
	if (parse_id(a->pos[0], &id) != 0)
		return cli_usage(cli, "material get", "ID must be a positive "
		                 "number");
	const char *out = arg_get(a, "output");
	bool force = arg_has(a, "force");
	if (out && cli->json && strcmp(out, "-") == 0)
		return cli_usage(cli, "material get", "-o - and --json both want "
		                 "standard output");
	int rc;
	if (out && (rc = file_check_target(cli, out, force)))
		return rc;
	Lms__Rpc__MaterialGetRequest g = LMS__RPC__MATERIAL_GET_REQUEST__INIT;
	g.id = id;
	g.with_file = true;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, material_get, MATERIAL_GET, &g);
	Lms__Rpc__Response *r;
	rc = cli_call(cli, &req, CALL_READ, RESULT(MATERIAL_GET), &r,
	              "downloading");
	if (rc)
		return rc;
	const Lms__Rpc__Material *m = r->material_get->material;
	char saved[4096] = "";
	if (m && m->file) {
		rc = file_save_download(cli, m->file, out, force, saved,
		                        sizeof saved);
		if (rc) {
			lmsc_response_free(r);
			return rc;
		}
	}
	if (cli->json) {
		json_t *j = pb_json(&r->material_get->base);
		json_object_set_new(j, "saved_to",
		                    *saved ? json_string(saved) : json_null());
		out_json(j);
	} else if (cli->quiet) {
		if (*saved && strcmp(saved, "-") != 0)
			printf("%s\n", saved);
	} else if (!(out && strcmp(out, "-") == 0) && m) {
		char sz[32];
		printf("Saved material %llu \"%s\" (%s, %s) to %s.\n",
		       (unsigned long long)m->id, m->title, m->kind,
		       fmt_size(m->file ? m->file->size : 0, sz, sizeof sz),
		       *saved ? saved : "nowhere (no file)");
	}
	lmsc_response_free(r);
	return 0;
}

/* The excerpts of a course's materials that match words (what lms ask
 * shows while it waits): one line each, cut to 400 characters. */
static int cmd_material_search(struct cli *cli, const struct args *a)
{
	uint64_t limit = 5;
	const char *s = arg_get(a, "limit");
	if (s && lms_parse_u64(s, 1, 20, &limit) != 0)
		return cli_usage(cli, "material search", "--limit must be 1..20");
	Lms__Rpc__MaterialSearchRequest q =
		LMS__RPC__MATERIAL_SEARCH_REQUEST__INIT;
	q.course = a->pos[0];
	q.query = a->pos[1];
	q.limit = (uint32_t)limit;
	q.max_chars = 3000;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, material_search, MATERIAL_SEARCH, &q);
	Lms__Rpc__Response *r;
	int rc = cli_call(cli, &req, CALL_READ, RESULT(MATERIAL_SEARCH), &r,
	                  NULL);
	if (rc)
		return rc;
	const Lms__Rpc__MaterialSearchResponse *sr = r->material_search;
	if (cli->json) {
		out_json(pb_json(&sr->base));
	} else if (sr->n_chunks == 0) {
		if (!cli->quiet)
			printf("Nothing in the materials of %s matches.\n",
			       a->pos[0]);
	} else {
		for (size_t i = 0; i < sr->n_chunks; i++) {
			const Lms__Rpc__MaterialChunk *c = sr->chunks[i];
			char ex[2048];
			printf("[%zu] %s (material %llu%s)\n", i + 1, c->title,
			       (unsigned long long)c->material_id,
			       c->page ? fmt(", page %u", c->page) : "");
			printf("    %s\n", fmt_excerpt(c->text, 400, ex, sizeof ex));
		}
	}
	lmsc_response_free(r);
	return 0;
}

static const struct opt_spec upload_opts[] = {
	{"title", 0, OPT_VALUE, "S", "title (default: the file name)"},
	{"topic", 0, OPT_VALUE, "T", "a topic"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec list_opts[] = {
	LIST_OPTS,
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec get_opts[] = {
	{"output", 'o', OPT_VALUE, "FILE",
	 "save here (\"-\": standard output)"},
	{"force", 0, OPT_FLAG, NULL, "replace an existing file"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec search_opts[] = {
	{"limit", 0, OPT_VALUE, "N", "at most N excerpts (default 5)"},
	{NULL, 0, 0, NULL, NULL},
};

const struct command cmds_material[] = {
	{"material upload", "CODE FILE", 2, 2, upload_opts,
	 "upload a PDF or text file to a course (instructors)", NULL,
	 cmd_material_upload},
	{"material list", "CODE", 1, 1, list_opts, "a course's materials",
	 NULL, cmd_material_list},
	{"material get", "ID", 1, 1, get_opts, "download a material",
	 "The file goes to -o FILE, or to its own name in the current "
	 "directory;\nan existing file is replaced only with --force.\n",
	 cmd_material_get},
	{"material search", "CODE WORDS", 2, 2, search_opts,
	 "search the text of a course's materials", NULL,
	 cmd_material_search},
	{NULL, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

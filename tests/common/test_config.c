/*
 * test_config.c -- unit tests of common/config.c.
 *
 * Why: a config mistake must be caught at start-up with a message that
 * names the file, the key and the problem. These tests load the shipped
 * config.json, then break it in one way at a time and check the message.
 *
 * Fixture: setup makes a fresh temporary directory and parses the shipped
 * config.json (LMS_SOURCE_DIR/config.json) into a jansson tree; a test
 * edits a deep copy of that tree, writes it to <tmpdir>/config.json and
 * loads it. Teardown frees the loaded struct and the tree and removes the
 * directory. The environment variables a test sets are unset again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define SHIPPED LMS_SOURCE_DIR "/config.json"

struct fixture {
	char dir[64];
	char path[128];         /* <dir>/config.json */
	json_t *shipped;
	struct lms_config cfg;
	char err[512];
};

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	json_error_t jerr;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/lms_test_config.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		goto err;
	snprintf(f->path, sizeof(f->path), "%s/config.json", f->dir);
	f->shipped = json_load_file(SHIPPED, 0, &jerr);
	if (f->shipped == NULL) {
		fprintf(stderr, "%s: %s\n", SHIPPED, jerr.text);
		rmdir(f->dir);
		goto err;
	}
	*state = f;
	return 0;
err:
	free(f);
	return -1;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	lms_config_free(&f->cfg);
	json_decref(f->shipped);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	unsetenv("LMS_CONFIG");
	unsetenv("LMS_NODE_ID");
	return 0;
}

/* ---- editing a JSON tree by key path ("nodes[2].pg.port") -------------- */

/*
 * Find the container holding the last component of path, and that
 * component (a name, or an index when *is_index).
 */
static json_t *json_parent(json_t *root, const char *path, char *last,
			   size_t *index, bool *is_index)
{
	char buf[128];
	char *p = buf;
	json_t *cur = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		size_t n = strcspn(p, ".[");
		char sep = p[n];

		/* p[0..n) is a name (empty right after "]"). */
		if (n > 0) {
			if (sep == '\0') {
				memcpy(last, p, n + 1);
				*is_index = false;
				return cur;
			}
			p[n] = '\0';
			cur = json_object_get(cur, p);
			assert_non_null(cur);
		}
		p += n + 1; /* past the separator */
		if (sep == '.')
			continue;
		if (sep == '[') {
			size_t i = strtoul(p, &p, 10);

			assert_true(*p == ']');
			p++;
			if (*p == '\0') {
				*index = i;
				*is_index = true;
				return cur;
			}
			cur = json_array_get(cur, i);
			assert_non_null(cur);
			if (*p == '.')
				p++;
			continue;
		}
		fail_msg("bad test path \"%s\"", path);
	}
}

/* Set the value at path to the JSON text `value`, or delete it if NULL. */
static void json_edit(json_t *root, const char *path, const char *value)
{
	char last[128];
	size_t index = 0;
	bool is_index = false;
	json_t *parent = json_parent(root, path, last, &index, &is_index);
	json_t *v = NULL;

	if (value != NULL) {
		json_error_t jerr;

		v = json_loads(value, JSON_DECODE_ANY, &jerr);
		if (v == NULL)
			fail_msg("bad test value %s: %s", value, jerr.text);
	}
	if (is_index) {
		assert_int_equal(v != NULL ? json_array_set_new(parent, index, v)
					   : json_array_remove(parent, index),
				 0);
	} else {
		assert_int_equal(v != NULL ? json_object_set_new(parent, last, v)
					   : json_object_del(parent, last),
				 0);
	}
}

static void write_json(struct fixture *f, json_t *root)
{
	assert_int_equal(json_dump_file(root, f->path, JSON_INDENT(2)), 0);
}

static void write_text(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Load f->path into f->cfg (freeing any earlier load). */
static int load(struct fixture *f)
{
	lms_config_free(&f->cfg);
	return lms_config_load(f->path, &f->cfg, f->err, sizeof(f->err));
}

/* Load a copy of the shipped tree with up to three edits applied. */
struct edit {
	const char *path;
	const char *value; /* JSON text, NULL = delete */
};

static int load_edited(struct fixture *f, const struct edit *edits, size_t n)
{
	json_t *root = json_deep_copy(f->shipped);

	assert_non_null(root);
	for (size_t i = 0; i < n; i++)
		if (edits[i].path != NULL)
			json_edit(root, edits[i].path, edits[i].value);
	write_json(f, root);
	json_decref(root);
	return load(f);
}

/* ---- the shipped file -------------------------------------------------- */

static void check_shipped_values(const struct lms_config *c)
{
	assert_string_equal(c->cluster.name, "lms");
	assert_string_equal(c->cluster.secret, "CHANGE-ME");
	assert_string_equal(c->cluster.data_dir, "data");
	assert_string_equal(c->cluster.pg_user, "lms");
	assert_int_equal(c->n_nodes, 5);
	for (unsigned i = 0; i < 5; i++) {
		const struct lms_node_config *n = &c->nodes[i];
		char db[32], dd[32];

		assert_int_equal(n->id, i + 1);
		char host[32];
		snprintf(host, sizeof(host), "127.0.1.%u", i + 1);
		assert_string_equal(n->host, host);
		assert_int_equal(n->peer_port, 7101 + i);
		assert_int_equal(n->client_port, 7201 + i);
		assert_int_equal(n->http_port, 7301 + i);
		assert_string_equal(n->pg.host, "127.0.0.1");
		assert_int_equal(n->pg.port, 15431 + i);
		snprintf(db, sizeof(db), "lms_node%u", i + 1);
		snprintf(dd, sizeof(dd), "data/pg%u", i + 1);
		assert_string_equal(n->pg.database, db);
		assert_string_equal(n->pg.data_dir, dd);
	}
	assert_int_equal(c->raft.tick_ms, 10);
	assert_int_equal(c->raft.election_timeout_min_ms, 300);
	assert_int_equal(c->raft.election_timeout_max_ms, 600);
	assert_int_equal(c->raft.heartbeat_ms, 50);
	assert_int_equal(c->raft.max_entries_per_msg, 256);
	assert_int_equal(c->raft.max_bytes_per_msg, 1048576);
	assert_int_equal(c->raft.max_inflight, 64);
	assert_int_equal(c->raft.snapshot_threshold_entries, 10000);
	assert_int_equal(c->raft.snapshot_trailing_entries, 1000);
	assert_int_equal(c->raft.snapshot_chunk_bytes, 262144);
	assert_int_equal(c->limits.max_frame_bytes, 33554432);
	assert_int_equal(c->limits.max_upload_bytes, 16777216);
	assert_int_equal(c->limits.max_text_bytes, 65536);
	assert_int_equal(c->limits.max_page_size, 100);
	assert_int_equal(c->auth.scrypt_log2_n, 15);
	assert_int_equal(c->auth.scrypt_r, 8);
	assert_int_equal(c->auth.scrypt_p, 1);
	assert_int_equal(c->auth.token_lifetime_s, 86400);
	assert_string_equal(c->tutor.ollama_url, "http://127.0.0.1:11434");
	assert_string_equal(c->tutor.model, "deepseek-r1:1.5b");
	assert_int_equal(c->tutor.connect_timeout_ms, 2000);
	assert_int_equal(c->tutor.request_timeout_ms, 180000);
	assert_int_equal(c->tutor.num_ctx, 4096);
	assert_int_equal(c->tutor.num_predict, 1024);
	assert_true(c->tutor.temperature > 0.29 && c->tutor.temperature < 0.31);
	assert_string_equal(c->tutor.keep_alive, "5m");
	assert_int_equal(c->tutor.http_port, 7400);
	assert_string_equal(c->tutor.username, "tutor");
	assert_int_equal(c->log.level, LMS_LOG_INFO);
}

static void test_shipped_config_loads(void **state)
{
	struct fixture *f = *state;
	char *src = realpath(SHIPPED, NULL); /* then cut to its directory */
	char want[PATH_MAX + 32];

	assert_non_null(src);
	*strrchr(src, '/') = '\0';
	assert_int_equal(lms_config_load(SHIPPED, &f->cfg, f->err,
					 sizeof(f->err)), 0);
	assert_string_equal(f->err, "");
	check_shipped_values(&f->cfg);

	/* Relative data dirs resolve against the file's directory. */
	assert_string_equal(f->cfg.path, SHIPPED);
	assert_string_equal(f->cfg.dir, src);
	snprintf(want, sizeof(want), "%s/data", src);
	assert_string_equal(f->cfg.cluster.data_dir_abs, want);
	snprintf(want, sizeof(want), "%s/data/pg3", src);
	assert_string_equal(f->cfg.nodes[2].pg.data_dir_abs, want);
	free(src);
}

/* Without the optional sections, the defaults equal the shipped values. */
static void test_optional_sections_default(void **state)
{
	struct fixture *f = *state;
	const struct edit edits[] = {
		{ "raft", NULL }, { "limits", NULL }, { "auth", NULL },
	};
	const struct edit more[] = { { "tutor", NULL }, { "log", NULL } };
	json_t *root = json_deep_copy(f->shipped);

	for (size_t i = 0; i < 3; i++)
		json_edit(root, edits[i].path, NULL);
	for (size_t i = 0; i < 2; i++)
		json_edit(root, more[i].path, NULL);
	assert_int_equal(json_object_size(root), 2); /* cluster, nodes */
	write_json(f, root);
	json_decref(root);
	assert_int_equal(load(f), 0);
	check_shipped_values(&f->cfg);
}

/* nodes[].join is optional: false unless given. */
static void test_node_join_flag(void **state)
{
	struct fixture *f = *state;
	const struct edit edits[] = { { "nodes[4].join", "true" } };

	assert_int_equal(load_edited(f, edits, 0), 0);
	for (unsigned i = 0; i < f->cfg.n_nodes; i++)
		assert_false(f->cfg.nodes[i].join);
	assert_int_equal(load_edited(f, edits, 1), 0);
	assert_false(f->cfg.nodes[3].join);
	assert_true(f->cfg.nodes[4].join);
}

/* A partial optional section: given keys are used, the rest default. */
static void test_partial_section(void **state)
{
	struct fixture *f = *state;
	const struct edit edits[] = {
		{ "raft", "{\"tick_ms\": 5}" },
		{ "tutor", "{\"temperature\": 1, \"num_predict\": -1}" },
		{ "log", "{\"level\": \"debug\"}" },
	};

	assert_int_equal(load_edited(f, edits, 3), 0);
	assert_int_equal(f->cfg.raft.tick_ms, 5);
	assert_int_equal(f->cfg.raft.heartbeat_ms, 50);
	assert_int_equal(f->cfg.raft.snapshot_chunk_bytes, 262144);
	assert_true(f->cfg.tutor.temperature == 1.0); /* integer accepted */
	assert_int_equal(f->cfg.tutor.num_predict, -1);
	assert_string_equal(f->cfg.tutor.model, "deepseek-r1:1.5b");
	assert_int_equal(f->cfg.log.level, LMS_LOG_DEBUG);
}

static void test_paths_resolved(void **state)
{
	struct fixture *f = *state;
	const struct edit edits[] = {
		{ "cluster.data_dir", "\"/var/lib/lms\"" },
		{ "nodes[0].pg.data_dir", "\"./x/pg1\"" },
		{ "nodes[1].pg.data_dir", "\"y\"" },
	};
	char *dir = realpath(f->dir, NULL);
	char want[PATH_MAX + 32];
	char cwd[PATH_MAX];

	assert_non_null(dir);
	assert_int_equal(load_edited(f, edits, 3), 0);
	assert_string_equal(f->cfg.dir, dir);
	assert_string_equal(f->cfg.cluster.data_dir_abs, "/var/lib/lms");
	snprintf(want, sizeof(want), "%s/x/pg1", dir);
	assert_string_equal(f->cfg.nodes[0].pg.data_dir_abs, want);
	assert_string_equal(f->cfg.nodes[0].pg.data_dir, "./x/pg1");
	snprintf(want, sizeof(want), "%s/y", dir);
	assert_string_equal(f->cfg.nodes[1].pg.data_dir_abs, want);

	/* A relative config path: still resolved against the file, not cwd. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/"), 0);
	lms_config_free(&f->cfg);
	assert_int_equal(lms_config_load(f->path + 1, &f->cfg, f->err,
					 sizeof(f->err)), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(f->cfg.nodes[0].pg.data_dir_abs,
			    strcat(strcpy(want, dir), "/x/pg1"));
	free(dir);
}

static void test_node_lookup_and_conninfo(void **state)
{
	struct fixture *f = *state;
	const struct lms_node_config *n;
	char buf[256];

	assert_int_equal(load_edited(f, NULL, 0), 0);
	n = lms_config_node(&f->cfg, 4);
	assert_non_null(n);
	assert_int_equal(n->id, 4);
	assert_int_equal(n->peer_port, 7104);
	assert_null(lms_config_node(&f->cfg, 6));
	assert_null(lms_config_node(&f->cfg, 0));

	assert_int_equal(lms_config_pg_conninfo(&f->cfg, n, buf, sizeof(buf)),
			 0);
	assert_string_equal(buf,
			    "host=127.0.0.1 port=15434 dbname=lms_node4 user=lms");
	/* Too small: -ENOSPC and a terminated prefix. */
	assert_int_equal(lms_config_pg_conninfo(&f->cfg, n, buf, 10), -ENOSPC);
	assert_int_equal(strlen(buf), 9);

	/* Values libpq would misread are quoted and escaped. */
	{
		const struct edit edits[] = {
			{ "cluster.pg_user", "\"o'brien x\"" },
			{ "nodes[0].pg.database", "\"a\\\\b\"" },
		};

		assert_int_equal(load_edited(f, edits, 2), 0);
		assert_int_equal(lms_config_pg_conninfo(&f->cfg,
			lms_config_node(&f->cfg, 1), buf, sizeof(buf)), 0);
		assert_string_equal(buf, "host=127.0.0.1 port=15431 "
				    "dbname='a\\\\b' user='o\\'brien x'");
	}
}

/* Legal setups the port checks must not refuse. */
static void test_legal_port_sharing(void **state)
{
	struct fixture *f = *state;
	/* One PostgreSQL server for all nodes, a database each. */
	json_t *root = json_deep_copy(f->shipped);
	const struct edit other_host[] = {
		{ "nodes[1].host", "\"10.0.0.2\"" },
		{ "nodes[1].peer_port", "7101" },
	};

	for (size_t i = 0; i < 5; i++) {
		char key[64];

		snprintf(key, sizeof(key), "nodes[%zu].pg.port", i);
		json_edit(root, key, "15431");
		snprintf(key, sizeof(key), "nodes[%zu].pg.data_dir", i);
		json_edit(root, key, "\"data/pg\"");
	}
	write_json(f, root);
	json_decref(root);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->cfg.nodes[4].pg.port, 15431);

	/* The same port on two different hosts. */
	assert_int_equal(load_edited(f, other_host, 2), 0);
	assert_int_equal(f->cfg.nodes[1].peer_port, 7101);
}

/* ---- broken files ------------------------------------------------------ */

struct bad_case {
	struct edit edits[3];
	const char *expect; /* substring of the message */
};

static const struct bad_case bad_cases[] = {
	/* unknown keys, at every level */
	{ { { "extra", "1" } }, "unknown key \"extra\"" },
	{ { { "cluster.nmae", "\"x\"" } }, "unknown key \"cluster.nmae\"" },
	{ { { "nodes[2].hostname", "\"h\"" } },
	  "unknown key \"nodes[2].hostname\"" },
	{ { { "nodes[0].pg.user", "\"u\"" } },
	  "unknown key \"nodes[0].pg.user\"" },
	{ { { "raft.tick", "10" } }, "unknown key \"raft.tick\"" },
	{ { { "limits.max_frame", "10" } }, "unknown key \"limits.max_frame\"" },
	{ { { "auth.salt", "\"s\"" } }, "unknown key \"auth.salt\"" },
	{ { { "tutor.url", "\"u\"" } }, "unknown key \"tutor.url\"" },
	{ { { "log.file", "\"/tmp/x\"" } }, "unknown key \"log.file\"" },
	/* wrong types */
	{ { { "nodes[2].peer_port", "\"7103\"" } },
	  "key \"nodes[2].peer_port\": expected integer, got string" },
	{ { { "raft.tick_ms", "10.5" } },
	  "key \"raft.tick_ms\": expected integer, got real" },
	{ { { "tutor.num_ctx", "true" } },
	  "key \"tutor.num_ctx\": expected integer, got boolean" },
	{ { { "cluster.name", "5" } },
	  "key \"cluster.name\": expected string, got integer" },
	{ { { "tutor.temperature", "\"hot\"" } },
	  "key \"tutor.temperature\": expected number, got string" },
	{ { { "nodes", "{}" } }, "key \"nodes\": expected array, got object" },
	{ { { "nodes[1]", "5" } }, "key \"nodes[1]\": expected object, got integer" },
	{ { { "raft", "[]" } }, "key \"raft\": expected object, got array" },
	{ { { "nodes[0].pg", "null" } },
	  "key \"nodes[0].pg\": expected object, got null" },
	/* missing required keys */
	{ { { "cluster", NULL } }, "missing required key \"cluster\"" },
	{ { { "nodes", NULL } }, "missing required key \"nodes\"" },
	{ { { "cluster.secret", NULL } },
	  "missing required key \"cluster.secret\"" },
	{ { { "nodes[3].host", NULL } }, "missing required key \"nodes[3].host\"" },
	{ { { "nodes[3].pg.database", NULL } },
	  "missing required key \"nodes[3].pg.database\"" },
	{ { { "cluster.secret", "\"\"" } },
	  "key \"cluster.secret\": must not be empty" },
	/* nodes */
	{ { { "nodes", "[]" } }, "key \"nodes\": at least one node is required" },
	{ { { "nodes[3].id", "2" } },
	  "key \"nodes[3].id\": duplicate node id 2 (also nodes[1].id)" },
	{ { { "nodes[0].id", "0" } },
	  "key \"nodes[0].id\": value 0 is out of range 1..4294967295" },
	{ { { "nodes[0].id", "-3" } }, "value -3 is out of range" },
	{ { { "nodes[0].id", "4294967296" } }, "value 4294967296 is out of range" },
	/* ports */
	{ { { "nodes[1].peer_port", "70000" } },
	  "key \"nodes[1].peer_port\": value 70000 is out of range 1..65535" },
	{ { { "nodes[1].http_port", "0" } },
	  "key \"nodes[1].http_port\": value 0 is out of range 1..65535" },
	{ { { "nodes[0].client_port", "7101" } },
	  "key \"nodes[0].client_port\": port 7101 on host \"127.0.1.1\" is "
	  "already used by nodes[0].peer_port" },
	{ { { "nodes[4].http_port", "7102" },
	    { "nodes[4].host", "\"127.0.1.2\"" } },
	  "key \"nodes[4].http_port\": port 7102 on host \"127.0.1.2\" is "
	  "already used by nodes[1].peer_port" },
	{ { { "nodes[2].pg.port", "7301" },
	    { "nodes[2].pg.host", "\"127.0.1.1\"" } },
	  "key \"nodes[2].pg.port\": port 7301 on host \"127.0.1.1\" is "
	  "already used by nodes[0].http_port" },
	{ { { "tutor.http_port", "7203" } },
	  "key \"tutor.http_port\": port 7203 is already used by "
	  "nodes[2].client_port" },
	{ { { "tutor.http_port", "15435" } },
	  "key \"tutor.http_port\": port 15435 is already used by "
	  "nodes[4].pg.port" },
	{ { { "nodes[1].pg.port", "15431" },
	    { "nodes[1].pg.data_dir", "\"data/pg1\"" },
	    { "nodes[1].pg.database", "\"lms_node1\"" } },
	  "key \"nodes[1].pg.database\": database \"lms_node1\" on "
	  "127.0.0.1:15431 is already used by nodes[0]" },
	{ { { "nodes[1].pg.port", "15431" } },
	  "key \"nodes[1].pg.data_dir\": \"data/pg2\" differs from "
	  "nodes[0].pg.data_dir" },
	{ { { "nodes[3].pg.data_dir", "\"./data/pg1\"" } },
	  "key \"nodes[3].pg.data_dir\": \"./data/pg1\" is already the data "
	  "directory of the PostgreSQL server of nodes[0] (127.0.0.1:15431)" },
	/* raft timing */
	{ { { "raft.election_timeout_min_ms", "600" } },
	  "key \"raft.election_timeout_min_ms\": 600 must be less than "
	  "raft.election_timeout_max_ms (600)" },
	{ { { "raft.election_timeout_max_ms", "200" } },
	  "key \"raft.election_timeout_min_ms\": 300 must be less than "
	  "raft.election_timeout_max_ms (200)" },
	{ { { "raft.heartbeat_ms", "300" } },
	  "key \"raft.heartbeat_ms\": 300 must be less than "
	  "raft.election_timeout_min_ms (300)" },
	{ { { "raft.tick_ms", "51" } },
	  "key \"raft.tick_ms\": 51 must not exceed raft.heartbeat_ms (50)" },
	{ { { "raft.tick_ms", "0" } },
	  "key \"raft.tick_ms\": value 0 is out of range 1..60000" },
	{ { { "raft.max_inflight", "0" } },
	  "key \"raft.max_inflight\": value 0 is out of range" },
	{ { { "raft.max_bytes_per_msg", "33554433" } },
	  "key \"raft.max_bytes_per_msg\": 33554433 must not exceed "
	  "limits.max_frame_bytes (33554432)" },
	/* limits */
	{ { { "limits.max_text_bytes", "0" } },
	  "key \"limits.max_text_bytes\": value 0 is out of range" },
	{ { { "limits.max_frame_bytes", "4294967296" } },
	  "key \"limits.max_frame_bytes\": value 4294967296 is out of range "
	  "1..4294967295" },
	{ { { "limits.max_upload_bytes", "33554432" } },
	  "key \"limits.max_upload_bytes\": 33554432 must be less than "
	  "limits.max_frame_bytes (33554432)" },
	/* auth */
	{ { { "auth.scrypt_log2_n", "14" } },
	  "key \"auth.scrypt_log2_n\": value 14 is out of range 15..24" },
	{ { { "auth.scrypt_log2_n", "25" } },
	  "key \"auth.scrypt_log2_n\": value 25 is out of range 15..24" },
	{ { { "auth.scrypt_r", "256" } },
	  "key \"auth.scrypt_r\": value 256 is out of range 1..255" },
	{ { { "auth.scrypt_r", "0" } }, "key \"auth.scrypt_r\": value 0" },
	{ { { "auth.scrypt_p", "0" } }, "key \"auth.scrypt_p\": value 0" },
	/* tutor */
	{ { { "tutor.temperature", "2.5" } },
	  "key \"tutor.temperature\": value 2.5 is out of range 0..2" },
	{ { { "tutor.temperature", "-0.1" } },
	  "key \"tutor.temperature\": value -0.1 is out of range 0..2" },
	{ { { "tutor.ollama_url", "\"ftp://x\"" } },
	  "key \"tutor.ollama_url\": \"ftp://x\" is not an http:// or "
	  "https:// URL" },
	/* log */
	{ { { "log.level", "\"verbose\"" } },
	  "key \"log.level\": unknown log level \"verbose\" (expected debug, "
	  "info, warn or error)" },
	{ { { "log.level", "\"INFO\"" } }, "unknown log level \"INFO\"" },
	/* nodes[].join */
	{ { { "nodes[4].join", "1" } },
	  "key \"nodes[4].join\": expected boolean, got integer" },
};

static void test_broken_configs(void **state)
{
	struct fixture *f = *state;
	char prefix[256];

	snprintf(prefix, sizeof(prefix), "config \"%s\": ", f->path);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		int rv = load_edited(f, bc->edits, 3);

		if (rv != -EINVAL)
			fail_msg("case %zu (%s): expected -EINVAL, got %d", i,
				 bc->edits[0].path, rv);
		if (strncmp(f->err, prefix, strlen(prefix)) != 0 ||
		    strstr(f->err, bc->expect) == NULL)
			fail_msg("case %zu (%s): message\n  %s\ndoes not "
				 "contain\n  %s", i, bc->edits[0].path, f->err,
				 bc->expect);
		/* Nothing is left to free after a failure. */
		assert_null(f->cfg.path);
		assert_null(f->cfg.cluster.name);
		assert_int_equal(f->cfg.n_nodes, 0);
	}
}

/* The whole message, once, exactly as the user sees it. */
static void test_message_format(void **state)
{
	struct fixture *f = *state;
	const struct edit edits[] = { { "nodes[2].peer_port", "\"7103\"" } };
	char want[512];

	assert_int_equal(load_edited(f, edits, 1), -EINVAL);
	snprintf(want, sizeof(want),
		 "config \"%s\": key \"nodes[2].peer_port\": expected integer, "
		 "got string", f->path);
	assert_string_equal(f->err, want);

	/* A short buffer gets a cut, terminated message; NULL is allowed. */
	assert_int_equal(lms_config_load(f->path, &f->cfg, f->err, 12),
			 -EINVAL);
	assert_string_equal(f->err, "config \"/tm");
	assert_int_equal(lms_config_load(f->path, &f->cfg, NULL, 0), -EINVAL);
}

static void test_too_many_nodes(void **state)
{
	struct fixture *f = *state;
	json_t *root = json_deep_copy(f->shipped);
	json_t *nodes = json_object_get(root, "nodes");

	for (int id = 6; id <= LMS_CONFIG_MAX_NODES + 1; id++) {
		json_t *n = json_deep_copy(json_array_get(nodes, 0));
		json_t *pg = json_object_get(n, "pg");
		char db[32];

		json_object_set_new(n, "id", json_integer(id));
		json_object_set_new(n, "peer_port", json_integer(8100 + id));
		json_object_set_new(n, "client_port", json_integer(8200 + id));
		json_object_set_new(n, "http_port", json_integer(8300 + id));
		json_object_set_new(pg, "port", json_integer(16400 + id));
		snprintf(db, sizeof(db), "data/pg%d", id);
		json_object_set_new(pg, "data_dir", json_string(db));
		json_array_append_new(nodes, n);
	}
	/* Exactly the maximum loads... */
	json_array_remove(nodes, LMS_CONFIG_MAX_NODES);
	write_json(f, root);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->cfg.n_nodes, LMS_CONFIG_MAX_NODES);
	assert_non_null(lms_config_node(&f->cfg, LMS_CONFIG_MAX_NODES));
	/* ...one more does not. */
	json_array_append_new(nodes, json_deep_copy(json_array_get(nodes, 0)));
	write_json(f, root);
	json_decref(root);
	assert_int_equal(load(f), -EINVAL);
	assert_non_null(strstr(f->err, "key \"nodes\": 17 nodes given, at most "
				       "16 are supported"));
}

struct raw_case {
	const char *text;
	const char *expect;
};

static const struct raw_case raw_cases[] = {
	{ "{\n  \"cluster\": {\n    \"name\": \"lms\",\n  }\n}\n",
	  "invalid JSON at line 4, column" },
	{ "{\"cluster\": {}, \"cluster\": {}}",
	  "invalid JSON at line 1, column" },
	{ "", "invalid JSON at line" },
	{ "{} trailing", "invalid JSON at line 1, column" },
	{ "[1, 2]", "expected an object at the top level, got array" },
	{ "\"just a string\"", "invalid JSON at line 1" },
};

static void test_bad_json(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(raw_cases) / sizeof(raw_cases[0]); i++) {
		write_text(f, raw_cases[i].text);
		assert_int_equal(load(f), -EINVAL);
		if (strstr(f->err, raw_cases[i].expect) == NULL)
			fail_msg("raw case %zu: \"%s\" does not contain \"%s\"",
				 i, f->err, raw_cases[i].expect);
	}
	/* jansson's own words on a duplicate key are kept. */
	write_text(f, "{\"cluster\": {}, \"cluster\": {}}");
	assert_int_equal(load(f), -EINVAL);
	assert_non_null(strstr(f->err, "duplicate"));
}

static void test_unreadable_file(void **state)
{
	struct fixture *f = *state;
	char want[256];

	/* f->path was never written. */
	assert_int_equal(load(f), -ENOENT);
	snprintf(want, sizeof(want),
		 "config \"%s\": could not open file: No such file or directory",
		 f->path);
	assert_string_equal(f->err, want);

	assert_int_equal(lms_config_load(f->dir, &f->cfg, f->err,
					 sizeof(f->err)), -EISDIR);
	assert_non_null(strstr(f->err, "could not read file: Is a directory"));
}

/* ---- environment ------------------------------------------------------- */

static void test_env_config_path(void **state)
{
	struct fixture *f = *state;

	unsetenv("LMS_CONFIG");
	assert_string_equal(lms_config_default_path(), "config.json");
	setenv("LMS_CONFIG", "", 1);
	assert_string_equal(lms_config_default_path(), "config.json");
	setenv("LMS_CONFIG", SHIPPED, 1);
	assert_string_equal(lms_config_default_path(), SHIPPED);
	assert_int_equal(lms_config_load(lms_config_default_path(), &f->cfg,
					 f->err, sizeof(f->err)), 0);
	assert_int_equal(f->cfg.n_nodes, 5);
}

static void test_env_node_id(void **state)
{
	static const struct {
		const char *value;
		int rv;
	} bad[] = {
		{ "", -ENOENT }, { "abc", -EINVAL }, { "-1", -EINVAL },
		{ " 3", -EINVAL }, { "3 ", -EINVAL }, { "3x", -EINVAL },
		{ "0", -ERANGE }, { "4294967296", -ERANGE },
		{ "99999999999999999999999", -ERANGE },
	};
	unsigned id = 77;

	unsetenv("LMS_NODE_ID");
	assert_int_equal(lms_config_node_id_from_env(&id), -ENOENT);
	setenv("LMS_NODE_ID", "3", 1);
	assert_int_equal(lms_config_node_id_from_env(&id), 0);
	assert_int_equal(id, 3);
	setenv("LMS_NODE_ID", "4294967295", 1);
	assert_int_equal(lms_config_node_id_from_env(&id), 0);
	assert_true(id == 4294967295u);

	id = 77;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("LMS_NODE_ID", bad[i].value, 1);
		if (lms_config_node_id_from_env(&id) != bad[i].rv)
			fail_msg("LMS_NODE_ID=\"%s\" did not give %d",
				 bad[i].value, bad[i].rv);
	}
	assert_int_equal(id, 77);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define FT(t) cmocka_unit_test_setup_teardown(t, fixture_setup, fixture_teardown)
		FT(test_shipped_config_loads),
		FT(test_optional_sections_default),
		FT(test_partial_section),
		FT(test_node_join_flag),
		FT(test_paths_resolved),
		FT(test_node_lookup_and_conninfo),
		FT(test_legal_port_sharing),
		FT(test_broken_configs),
		FT(test_message_format),
		FT(test_too_many_nodes),
		FT(test_bad_json),
		FT(test_unreadable_file),
		FT(test_env_config_path),
		FT(test_env_node_id),
#undef FT
	};

	return cmocka_run_group_tests_name("common_config", tests, NULL, NULL);
}

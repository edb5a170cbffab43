/*
 * fuzz_config.c -- common/config.c's loader on arbitrary text.
 *
 * Input: the whole content of a config.json. lms_config_load reads only
 * files, so each input is written to one file in a private directory under
 * /dev/shm (or $TMPDIR) made at start-up and removed at exit; relative
 * data_dir paths resolve against that directory.
 *
 * Checked: a load that fails leaves *out zeroed and says why (a non-empty
 * message naming the file); one that succeeds gives a configuration whose
 * promises hold (config.h): 1..16 nodes with distinct non-zero ids, each
 * found by lms_config_node, absolute data directories, a connection
 * string for every node, the raft timing order, the limits' order, an
 * http(s) Ollama URL; lms_config_free releases everything (LSan).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[256];
static char path[300];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
			  getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

	snprintf(dir, sizeof(dir), "%s/lms-fuzz-config.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/config.json", dir);
	atexit(cleanup);
	return 0;
}

static void check_loaded(const struct lms_config *cfg)
{
	char conninfo[1024];

	FUZZ_CHECK(cfg->path != NULL && strcmp(cfg->path, path) == 0);
	FUZZ_CHECK(cfg->n_nodes >= 1 && cfg->n_nodes <= 16);
	FUZZ_CHECK(cfg->cluster.data_dir_abs != NULL &&
		   cfg->cluster.data_dir_abs[0] == '/');
	for (unsigned i = 0; i < cfg->n_nodes; i++) {
		const struct lms_node_config *n = &cfg->nodes[i];

		FUZZ_CHECK(n->id != 0);
		FUZZ_CHECK(lms_config_node(cfg, n->id) == n);
		FUZZ_CHECK(n->pg.data_dir_abs != NULL &&
			   n->pg.data_dir_abs[0] == '/');
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(cfg->nodes[j].id != n->id);
		/* -ENOSPC is allowed: host names can be long. */
		int rv = lms_config_pg_conninfo(cfg, n, conninfo,
						sizeof(conninfo));
		FUZZ_CHECK(rv == 0 || rv == -ENOSPC);
		FUZZ_CHECK(strlen(conninfo) < sizeof(conninfo));
	}
	FUZZ_CHECK(lms_config_node(cfg, 0) == NULL);
	/* The checks across keys of config.h. */
	FUZZ_CHECK(cfg->raft.tick_ms <= cfg->raft.heartbeat_ms);
	FUZZ_CHECK(cfg->raft.heartbeat_ms < cfg->raft.election_timeout_min_ms);
	FUZZ_CHECK(cfg->raft.election_timeout_min_ms <
		   cfg->raft.election_timeout_max_ms);
	FUZZ_CHECK(cfg->limits.max_upload_bytes < cfg->limits.max_frame_bytes);
	FUZZ_CHECK(cfg->limits.max_text_bytes <= cfg->limits.max_frame_bytes);
	FUZZ_CHECK(cfg->tutor.ollama_url != NULL &&
		   (strncmp(cfg->tutor.ollama_url, "http://", 7) == 0 ||
		    strncmp(cfg->tutor.ollama_url, "https://", 8) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct lms_config zero;
	struct lms_config cfg;
	char err[512];
	FILE *f;
	int rv;

	f = fopen(path, "wb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fwrite(data, 1, size, f) == size);
	FUZZ_CHECK(fclose(f) == 0);

	rv = lms_config_load(path, &cfg, err, sizeof(err));
	if (rv != 0) {
		FUZZ_CHECK(rv < 0);
		FUZZ_CHECK(memcmp(&cfg, &zero, sizeof(cfg)) == 0);
		FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof(err));
		FUZZ_CHECK(strstr(err, path) != NULL);
		lms_config_free(&cfg); /* harmless, config.h says */
		return 0;
	}
	check_loaded(&cfg);
	lms_config_free(&cfg);
	FUZZ_CHECK(memcmp(&cfg, &zero, sizeof(cfg)) == 0);
	return 0;
}

/*
 * lms_migrate.c -- lms-migrate, the LMS schema migrations tool.
 *
 *   lms-migrate [--config FILE] [--nodes LIST] [--dir DIR] COMMAND
 *     status        per node: applied and pending migrations (version, name,
 *                   checksum); an applied migration whose file changed
 *                   since is reported as EDITED
 *     up            proposes the pending migrations in order, through the
 *                   Raft log: every node changes its schema at the same
 *                   log index
 *     new NAME      creates the next migrations/NNN_NAME.sql
 *
 * Migrations are the files DIR/NNN_name.sql (NNN = 001, 002, ...; no gaps).
 * DIR is --dir, else $LMS_MIGRATIONS, else "migrations" next to the config
 * file, else ./migrations.
 *
 * `up` proposes nothing when a pending migration is newer than the
 * lmsd of a reachable node knows (that node would stop on applying it):
 * upgrade lmsd everywhere first.
 *
 * `up` needs an admin's session token ($LMS_TOKEN or the lms session file,
 * $XDG_CONFIG_HOME/lms/session) once the cluster has users; before the
 * first user exists (a new cluster) it needs none.
 *
 * Exit status: 0 ok, 1 a migration failed, 2 usage, 3 not allowed, 6 an
 * applied migration was edited (up refuses to continue), 7 cluster
 * unavailable.
 */
#include <dirent.h>
#include <stdint.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"
#include "config.h"
#include "sha256.h"
#include "util.h"

enum {
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_DENIED = 3,
	EXIT_EDITED = 6,
	EXIT_UNAVAILABLE = 7,
};

#define MAX_MIGRATIONS 999
#define MAX_SQL_BYTES (8u << 20)

struct mfile {
	unsigned version;
	char name[128];
	char path[4096 + 256];
	char checksum[65];
	char *sql;
};

struct migs {
	struct mfile *v;
	size_t n;
	char dir[4096];
};

static void usage(FILE *f)
{
	fputs("usage: lms-migrate [--config FILE] [--nodes LIST] [--dir DIR] "
	      "status | up | new NAME\n"
	      "  status     applied and pending migrations on every node\n"
	      "  up         apply the pending migrations through the Raft log\n"
	      "  new NAME   create the next migration file (NAME: a-z, 0-9, _)\n",
	      f);
}

static int fail_usage(const char *msg)
{
	fprintf(stderr, "lms-migrate: %s\nTry \"lms-migrate --help\".\n", msg);
	return EXIT_USAGE;
}

/* ------------------------------------------------------------- files */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(MAX_SQL_BYTES + 1);
	size_t n = buf ? fread(buf, 1, MAX_SQL_BYTES + 1, f) : 0;
	fclose(f);
	if (!buf || n > MAX_SQL_BYTES) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int mfile_cmp(const void *a, const void *b)
{
	const struct mfile *x = a, *y = b;
	return x->version < y->version ? -1 : x->version > y->version;
}

static void migs_free(struct migs *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].sql);
	free(m->v);
}

/* Reads DIR/NNN_name.sql; versions must be 1..n without gaps. */
static int migs_load(struct migs *m, bool with_sql)
{
	DIR *d = opendir(m->dir);
	if (!d) {
		fprintf(stderr, "lms-migrate: cannot open migrations directory "
		        "\"%s\": %s\n", m->dir, strerror(errno));
		return -1;
	}
	struct dirent *e;
	int rv = 0;
	while ((e = readdir(d)) && !rv) {
		const char *s = e->d_name;
		size_t len = strlen(s);
		if (len < 9 || strcmp(s + len - 4, ".sql") != 0 || s[3] != '_' ||
		    s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
		    s[2] < '0' || s[2] > '9')
			continue;
		if (m->n == MAX_MIGRATIONS)
			break;
		struct mfile *v = realloc(m->v, (m->n + 1) * sizeof *v);
		if (!v) {
			rv = -1;
			break;
		}
		m->v = v;
		struct mfile *f = &m->v[m->n++];
		memset(f, 0, sizeof *f);
		f->version = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 +
		                        (s[2] - '0'));
		snprintf(f->name, sizeof f->name, "%.*s", (int)(len - 8), s + 4);
		snprintf(f->path, sizeof f->path, "%s/%s", m->dir, s);
		size_t n;
		char *sql = read_file(f->path, &n);
		if (!sql) {
			fprintf(stderr, "lms-migrate: cannot read \"%s\": %s\n",
			        f->path, strerror(errno));
			rv = -1;
			break;
		}
		uint8_t sum[LMS_SHA256_LEN];
		lms_sha256(sql, n, sum);
		lms_hex_encode(sum, sizeof sum, f->checksum);
		if (with_sql && strlen(sql) == n)
			f->sql = sql;
		else if (with_sql) {
			fprintf(stderr, "lms-migrate: \"%s\" holds a NUL byte\n",
			        f->path);
			free(sql);
			rv = -1;
		} else
			free(sql);
	}
	closedir(d);
	if (rv)
		return rv;
	qsort(m->v, m->n, sizeof *m->v, mfile_cmp);
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].version != i + 1) {
			fprintf(stderr, "lms-migrate: migrations must be numbered "
			        "001, 002, ... without gaps; found %03u_%s.sql where "
			        "%03zu was expected\n", m->v[i].version,
			        m->v[i].name, i + 1);
			return -1;
		}
	return 0;
}

static const struct mfile *migs_find(const struct migs *m, unsigned version)
{
	return version >= 1 && version <= m->n ? &m->v[version - 1] : NULL;
}

/* ------------------------------------------------------------ token */

static char *load_token(void)
{
	const char *env = getenv("LMS_TOKEN");
	if (env && *env)
		return strdup(env);
	char path[4096];
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(path, sizeof path, "%s/lms/session", xdg);
	else if (home && *home)
		snprintf(path, sizeof path, "%s/.config/lms/session", home);
	else
		return NULL;
	size_t n;
	char *t = read_file(path, &n);
	if (!t)
		return NULL;
	while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
		t[--n] = '\0';
	return t;
}

/* ----------------------------------------------------------- status */

static int report(const struct lmsc *c, int rv, const Lms__Rpc__Response *r)
{
	if (rv != 0) {
		fprintf(stderr, "lms-migrate: %s\n", lmsc_errmsg(c));
		return EXIT_UNAVAILABLE;
	}
	fprintf(stderr, "lms-migrate: %s: %s\n", lmsc_status_name(r->status),
	        r->message && *r->message ? r->message : "(no detail)");
	switch (r->status) {
	case LMS__RPC__STATUS__UNAUTHENTICATED:
	case LMS__RPC__STATUS__PERMISSION_DENIED:
		return EXIT_DENIED;
	case LMS__RPC__STATUS__UNAVAILABLE:
		return EXIT_UNAVAILABLE;
	default:
		return EXIT_FAIL;
	}
}

/* Compares one node's applied migrations with the files; prints. Returns
 * the number of edited ones. */
static int compare(const struct migs *m, const Lms__Rpc__SchemaStatusResponse *s,
                   bool print)
{
	int edited = 0;
	for (size_t i = 0; i < s->n_applied; i++) {
		const Lms__Rpc__Migration *a = s->applied[i];
		const struct mfile *f = migs_find(m, a->version);
		const char *state = !f ? "APPLIED (no file)"
		                    : strcmp(f->checksum, a->checksum) ? "EDITED"
		                                                       : "applied";
		if (f && strcmp(f->checksum, a->checksum) != 0)
			edited++;
		if (print)
			printf("  %03u %-28s %.12s  %-8s index %llu at %s\n",
			       a->version, a->name, a->checksum, state,
			       (unsigned long long)a->applied_index, a->applied_at);
		if (print && f && strcmp(f->checksum, a->checksum) != 0)
			printf("      file %s now has checksum %.12s: an applied "
			       "migration must not change; add a new one\n",
			       f->path, f->checksum);
	}
	for (size_t i = s->n_applied; i < m->n && print; i++) {
		const struct mfile *f = &m->v[i];
		printf("  %03u %-28s %.12s  %s%s\n", f->version, f->name,
		       f->checksum, "pending",
		       f->version > s->known ? " (newer than this node's lmsd "
		                               "knows: upgrade it first)"
		                             : "");
	}
	return edited;
}

static int cmd_status(struct lmsc *c, const struct migs *m)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__SchemaStatusRequest ss = LMS__RPC__SCHEMA_STATUS_REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_SCHEMA_STATUS;
	req.schema_status = &ss;
	int edited = 0, down = 0;
	printf("migrations in %s: %zu\n", m->dir, m->n);
	for (size_t i = 0; i < lmsc_node_count(c); i++) {
		const struct lmsc_node *nd = lmsc_node_at(c, i);
		Lms__Rpc__Response *r = NULL;
		int rv = lmsc_call_node(c, i, &req, &r);
		if (rv != 0 || r->status != LMS__RPC__STATUS__OK ||
		    r->result_case != LMS__RPC__RESPONSE__RESULT_SCHEMA_STATUS) {
			printf("node %s:%u: unreachable (%s)\n", nd->host,
			       nd->port,
			       rv ? lmsc_errmsg(c)
			          : (r->message ? r->message : "?"));
			down++;
			lmsc_response_free(r);
			continue;
		}
		const Lms__Rpc__SchemaStatusResponse *s = r->schema_status;
		printf("node %llu (%s:%u): schema version %u, lmsd knows up to "
		       "%u, applied index %llu\n",
		       (unsigned long long)r->node_id, nd->host, nd->port,
		       s->version, s->known,
		       (unsigned long long)r->applied_index);
		edited += compare(m, s, true);
		lmsc_response_free(r);
	}
	if (edited)
		return EXIT_EDITED;
	return down == (int)lmsc_node_count(c) ? EXIT_UNAVAILABLE : 0;
}

/* --------------------------------------------------------------- up */

/* The lowest schema version the reachable nodes' lmsd know (UINT32_MAX
 * when none answers); *who = that node's id. */
static unsigned min_known(struct lmsc *c, uint64_t *who)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__SchemaStatusRequest ss = LMS__RPC__SCHEMA_STATUS_REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_SCHEMA_STATUS;
	req.schema_status = &ss;
	unsigned low = UINT32_MAX;
	for (size_t i = 0; i < lmsc_node_count(c); i++) {
		Lms__Rpc__Response *r = NULL;
		const struct lmsc_node *nd = lmsc_node_at(c, i);
		if (lmsc_call_node(c, i, &req, &r) == 0 &&
		    r->status == LMS__RPC__STATUS__OK &&
		    r->result_case == LMS__RPC__RESPONSE__RESULT_SCHEMA_STATUS) {
			if (r->schema_status->known < low) {
				low = r->schema_status->known;
				*who = r->node_id;
			}
		} else {
			fprintf(stderr, "lms-migrate: warning: node %s:%u did "
			        "not answer; it must know the new migrations "
			        "too\n", nd->host, nd->port);
		}
		lmsc_response_free(r);
	}
	return low;
}

static int cmd_up(struct lmsc *c, const struct migs *m)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__SchemaStatusRequest ss = LMS__RPC__SCHEMA_STATUS_REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_SCHEMA_STATUS;
	req.schema_status = &ss;
	Lms__Rpc__Response *r = NULL;
	int rv = lmsc_call(c, &req, &r, LMSC_ANY_NODE);
	if (rv != 0 || r->status != LMS__RPC__STATUS__OK) {
		int code = report(c, rv, r);
		lmsc_response_free(r);
		return code;
	}
	unsigned applied = r->schema_status->version;
	if (compare(m, r->schema_status, false) > 0) {
		compare(m, r->schema_status, true);
		lmsc_response_free(r);
		fprintf(stderr, "lms-migrate: an applied migration was edited; "
		        "nothing done\n");
		return EXIT_EDITED;
	}
	lmsc_response_free(r);
	/* A node whose lmsd does not know a migration stops when it applies
	 * it (rather than diverge): never propose one that a node does not
	 * know. */
	uint64_t who = 0;
	unsigned known = min_known(c, &who);
	if (m->n > applied && m->n > known) {
		fprintf(stderr, "lms-migrate: migration %03zu is newer than node "
		        "%llu's lmsd knows (up to %03u): upgrade lmsd on every "
		        "node first; nothing done\n", m->n,
		        (unsigned long long)who, known);
		return EXIT_FAIL;
	}
	char *token = load_token();
	int code = 0, done = 0;
	for (size_t i = applied; i < m->n && code == 0; i++) {
		const struct mfile *f = &m->v[i];
		Lms__Rpc__Migration mg = LMS__RPC__MIGRATION__INIT;
		Lms__Rpc__MigrateRequest mr = LMS__RPC__MIGRATE_REQUEST__INIT;
		Lms__Rpc__Request w = LMS__RPC__REQUEST__INIT;
		mg.version = f->version;
		mg.name = (char *)f->name;
		mg.checksum = (char *)f->checksum;
		mg.sql = f->sql;
		mr.migration = &mg;
		w.op_case = LMS__RPC__REQUEST__OP_MIGRATE;
		w.migrate = &mr;
		if (token)
			w.token = token;
		r = NULL;
		rv = lmsc_call(c, &w, &r, LMSC_WRITE);
		if (rv == 0 && r->status == LMS__RPC__STATUS__CONFLICT) {
			printf("%03u_%s: already applied\n", f->version, f->name);
		} else if (rv != 0 || r->status != LMS__RPC__STATUS__OK ||
		           r->result_case != LMS__RPC__RESPONSE__RESULT_MIGRATE ||
		           !r->migrate->migration) {
			fprintf(stderr, "lms-migrate: %03u_%s not applied\n",
			        f->version, f->name);
			code = report(c, rv, r);
		} else {
			printf("%03u_%s: applied at index %llu\n", f->version,
			       f->name,
			       (unsigned long long)r->migrate->migration->applied_index);
			done++;
		}
		lmsc_response_free(r);
	}
	free(token);
	if (code == 0)
		printf("schema is at version %zu (%d applied now)\n", m->n, done);
	return code;
}

/* -------------------------------------------------------------- new */

static int cmd_new(const struct migs *m, const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > 60)
		return fail_usage("NAME must be 1..60 characters");
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return fail_usage("NAME may hold a-z, 0-9 and _ only");
	char path[4096 + 128];
	snprintf(path, sizeof path, "%s/%03zu_%s.sql", m->dir, m->n + 1, name);
	FILE *f = fopen(path, "wx");
	if (!f) {
		fprintf(stderr, "lms-migrate: cannot create \"%s\": %s\n", path,
		        strerror(errno));
		return EXIT_FAIL;
	}
	fprintf(f,
	        "-- %03zu_%s.sql\n"
	        "--\n"
	        "-- Applied through the Raft log by `lms-migrate up`, inside the\n"
	        "-- apply transaction, at the same log index on every node. Keep\n"
	        "-- it deterministic: no now(), random() or sequences; every new\n"
	        "-- table gets a primary key and lives in schema lms. Once\n"
	        "-- applied, never edit this file: add another migration.\n\n",
	        m->n + 1, name);
	fclose(f);
	printf("%s\n", path);
	return 0;
}

/* ------------------------------------------------------------- main */

static void pick_dir(struct migs *m, const char *opt, const char *config)
{
	const char *env = getenv("LMS_MIGRATIONS");
	struct stat st;
	if (opt) {
		snprintf(m->dir, sizeof m->dir, "%s", opt);
		return;
	}
	if (env && *env) {
		snprintf(m->dir, sizeof m->dir, "%s", env);
		return;
	}
	const char *cfg = config ? config : lms_config_default_path();
	const char *slash = strrchr(cfg, '/');
	if (slash)
		snprintf(m->dir, sizeof m->dir, "%.*s/migrations",
		         (int)(slash - cfg), cfg);
	else
		snprintf(m->dir, sizeof m->dir, "migrations");
	if (stat(m->dir, &st) != 0 || !S_ISDIR(st.st_mode))
		snprintf(m->dir, sizeof m->dir, "migrations");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"nodes", required_argument, NULL, 'n'},
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *nodes = NULL, *dir = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "c:n:d:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'n': nodes = optarg; break;
		case 'd': dir = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("lms-migrate %s\n", LMS_VERSION); return 0;
		default: return fail_usage("bad option");
		}
	}
	if (optind >= argc)
		return fail_usage("a command is required");
	const char *cmd = argv[optind];
	struct migs m = {0};
	pick_dir(&m, dir, config);
	bool is_new = strcmp(cmd, "new") == 0;
	if (is_new && optind + 2 != argc)
		return fail_usage("usage: lms-migrate new NAME");
	if (!is_new && optind + 1 != argc)
		return fail_usage("too many arguments");
	if (!is_new && strcmp(cmd, "status") != 0 && strcmp(cmd, "up") != 0)
		return fail_usage("unknown command");
	if (migs_load(&m, strcmp(cmd, "up") == 0) != 0) {
		migs_free(&m);
		return EXIT_FAIL;
	}
	if (is_new) {
		int rc = cmd_new(&m, argv[optind + 1]);
		migs_free(&m);
		return rc;
	}
	struct lmsc_node list[LMSC_MAX_NODES];
	size_t n = 0;
	char err[512];
	if (lmsc_nodes_resolve(nodes, config, list, &n, err, sizeof err) != 0) {
		fprintf(stderr, "lms-migrate: %s\n", err);
		migs_free(&m);
		return EXIT_USAGE;
	}
	struct lmsc_options o;
	lmsc_options_default(&o);
	o.total_timeout_ms = 30000;
	struct lmsc *c = lmsc_new(list, n, &o);
	if (!c) {
		migs_free(&m);
		return EXIT_FAIL;
	}
	int rc = strcmp(cmd, "up") == 0 ? cmd_up(c, &m) : cmd_status(c, &m);
	lmsc_free(c);
	migs_free(&m);
	return rc;
}
